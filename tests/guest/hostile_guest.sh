#!/usr/bin/env bash
# A guest that does what no sane guest does gets what hardware gives it,
# never an engine internal error or a host crash (issue 15, items 2 and 9),
# on the sanitizer build: code fetched from physical addresses nothing
# backs (beyond RAM, in the PCI hole, at the top of the 4 GiB space, on a
# device's MMIO page) takes #UD at the target, as the bus's all-ones bytes
# do; hostile.elf pokes every port, reads every 64 KiB up to 4 GiB, runs
# reserved opcodes, walks page tables that point beyond RAM and raises
# interrupt storms; triple.elf triple-faults.
. "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
P=$POPEK_SAN
[ -x "$P" ] || P=$POPEK
G=$GUESTS
engines=$("$POPEK" engines 2>/dev/null)

for engine in emu raw; do
	grep -qx $engine <<<"$engines" || { skip "nowhere ($engine): popek lists no $engine engine here"; continue; }
	for target in 0x20000000 0xe0000000 0xfffffff0 0xd1000000; do
		timeout 60 "$P" run --engine $engine -m 256M -k "$G/nowhere.elf" -a "$target" >"$tmp/out" 2>&1; st=$?
		want="nowhere: #UD at ${target#0x}"
		[ $st = 43 ] && grep -q "$want" "$tmp/out" && pass "nowhere ($engine): fetch at $target takes #UD" ||
			fail "nowhere ($engine): fetch at $target: status $st: $(grep -v '^  ' "$tmp/out" | tail -n 2 | tr '\n' ' ')"
	done
done
for engine in emu raw kvm; do
	grep -qx $engine <<<"$engines" || { skip "hostile ($engine): popek lists no $engine engine here"; continue; }
	[ $engine = kvm ] && ! have_kvm && { skip "hostile (kvm): $KVM_WHY"; continue; }
	# mode, then what its last line must say
	while read -r mode want; do
		timeout 120 "$P" run --engine $engine -m 256M -k "$G/hostile.elf" -a "$mode" </dev/null >"$tmp/out" 2>&1; st=$?
		tr -d '\000' <"$tmp/out" >"$tmp/text"    # the port sweep writes NULs to COM1
		[ $st = 67 ] && grep -aq "hostile: $mode done $want" "$tmp/text" && ! grep -aq "Sanitizer" "$tmp/text" &&
			pass "hostile ($engine): $mode" ||
			fail "hostile ($engine): $mode: status $st: $(grep -av '^  ' "$tmp/text" | tail -n 2 | tr '\n' ' ')"
	done <<'MODES'
ports (sum
pages (
opcodes (28 of 28 raised #UD)
tables (0 page faults
slowstorm (5000 interrupts
MODES
	# The APIC timer every nanosecond: the guest live-locks as hardware
	# would; popek stays responsive and stops at SIGTERM.
	"$P" run --engine $engine -k "$G/hostile.elf" -a storm >"$tmp/out" 2>&1 &
	pid=$!
	sleep 2
	kill -TERM $pid
	for n in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	if kill -0 $pid 2>/dev/null; then
		kill -9 $pid; wait $pid 2>/dev/null
		fail "hostile ($engine): storm: still running 10 s after SIGTERM"
	else
		wait $pid; st=$?
		[ $st = 143 ] && grep -q "stopped by signal TERM" "$tmp/out" && ! grep -aq "Sanitizer" "$tmp/out" &&
			pass "hostile ($engine): an interrupt storm is stopped by SIGTERM" ||
			fail "hostile ($engine): storm: status $st: $(grep -av '^  ' "$tmp/out" | tail -n 2 | tr '\n' ' ')"
	fi
	timeout 60 "$P" run --engine $engine -k "$G/triple.elf" >"$tmp/out" 2>&1; st=$?
	[ $st = 4 ] && grep -q "triple fault" "$tmp/out" && pass "hostile ($engine): a triple fault ends the run with status 4" ||
		fail "hostile ($engine): triple fault: status $st: $(grep -v '^  ' "$tmp/out" | tail -n 2 | tr '\n' ' ')"
done
grep -qx kvm <<<"$engines" &&
	skip "nowhere (kvm): KVM reports a fetch from an address no memslot backs as an emulation failure; popek does not back the holes with all-ones pages yet"
finish
