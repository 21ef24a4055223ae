#!/usr/bin/env bash
# The raw engine end to end (issue 10), beyond the conformance suite that
# runs every conformance guest on it: the sandbox against a hostile guest,
# the command-line rules (one vCPU, no --deterministic, auto), --stats, and
# a 64-bit guest that raw runs entirely in REM.
. "$(dirname "$0")/../lib.sh"
G=$GUESTS
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# A host that cannot run raw (no modify_ldt, no seccomp, or LDT code
# segments that fault, as under PVM) must say so up front: status 10 with
# the reason, and auto picks another engine for a 32-bit guest (hello.elf
# ends with debug-exit 0: status 1).
if ! "$POPEK" engines | grep -qx raw; then
	timeout 60 "$POPEK" run --engine raw -k "$G/hello.elf" >"$tmp/out" 2>&1; st=$?
	why=$(grep -m1 -- '--engine raw:' "$tmp/out" | sed 's/^popek: --engine raw: //')
	[ $st = 10 ] && [ -n "$why" ] && pass "raw/refused-where-unavailable" ||
		fail "raw/refused-where-unavailable: status $st: $(head -n 2 "$tmp/out")"
	timeout 60 "$POPEK" run -k "$G/hello.elf" >"$tmp/out" 2>&1; st=$?
	[ $st = 1 ] && grep -q "hello from popek guest" "$tmp/out" && pass "raw/auto-runs-32-bit-guest-elsewhere" ||
		fail "raw/auto-runs-32-bit-guest-elsewhere: status $st"
	skip "raw: not available on this host: ${why:-popek engines does not list raw}"
	finish
fi
RAW=("$POPEK" run --engine raw)

stubs() { pgrep -fc '^popek-raw-stub' || true; }
before=$(stubs)

# A guest that reaches 64-bit mode under raw (a RET into a far jump no scan
# saw) and tries a host system call, a trap there, or just spins.
for mode in syscall ud2 spin; do
	timeout 60 "${RAW[@]}" -k "$G/escape.elf" -a "$mode" >"$tmp/out" 2>&1; st=$?
	want="sandbox violation"
	[ "$mode" = syscall ] && want="sandbox violation: guest code made a host system call"
	if [ $st = 8 ] && grep -q "$want" "$tmp/out"; then
		pass "raw/sandbox-escape-$mode-reported"
	else
		fail "raw/sandbox-escape-$mode-reported: status $st: $(grep popek: "$tmp/out" | head -2)"
	fi
done
[ "$(stubs)" = "$before" ] && pass "raw/no-stub-left-behind" ||
	fail "raw/no-stub-left-behind: $(pgrep -fa '^popek-raw-stub')"
# The same guest on emu meets its own descriptor tables: #GP, reported.
timeout 60 "$POPEK" run --engine emu -k "$G/escape.elf" -a syscall >"$tmp/out" 2>&1; st=$?
[ $st = 1 ] && grep -q "raised #GP" "$tmp/out" && pass "raw/escape-guest-on-emu-gets-gp" ||
	fail "raw/escape-guest-on-emu-gets-gp: status $st"

# One vCPU, as VirtualBox's raw mode; no instruction counting.
timeout 60 "${RAW[@]}" -k "$G/hello.elf" -c 2 >"$tmp/out" 2>&1; st=$?
[ $st = 2 ] && grep -q "raw engine runs 1 vCPU" "$tmp/out" && pass "raw/two-vcpus-refused" ||
	fail "raw/two-vcpus-refused: status $st: $(cat "$tmp/out")"
expect_status "raw/deterministic-refused" 2 "${RAW[@]}" -k "$G/hello.elf" --deterministic

# auto: raw for a 32-bit guest on one vCPU on a host without VT-x/AMD-V.
if grep -qwE 'vmx|svm' /proc/cpuinfo; then
	skip "raw/auto-picks-raw: this host has VT-x/AMD-V, auto picks kvm"
else
	timeout 60 "$POPEK" run -k "$G/hello.elf" --stats >"$tmp/out" 2>&1; st=$?
	[ $st = 1 ] && grep -q "^popek: raw engine" "$tmp/out" && pass "raw/auto-picks-raw" ||
		fail "raw/auto-picks-raw: status $st"
	timeout 60 "$POPEK" run -k "$G/hello.elf" -c 2 --stats >"$tmp/out" 2>&1; st=$?
	[ $st = 1 ] && ! grep -q "^popek: raw engine" "$tmp/out" && pass "raw/auto-two-vcpus-is-not-raw" ||
		fail "raw/auto-two-vcpus-is-not-raw: status $st"
fi

# --stats: the counters of what ran natively, what trapped, what was scanned.
timeout 120 "${RAW[@]}" -k "$G/conf_paging.elf" --stats >"$tmp/out" 2>&1; st=$?
stat_line() { grep -m1 "$1" "$tmp/out"; }
[ $st = 1 ] && pass "raw/conf-paging-with-stats" || fail "raw/conf-paging-with-stats: status $st"
for what in "native runs" "traps by reason" "code scanner" "shadow paging" "top trap sites" "time  "; do
	stat_line "$what" >/dev/null && pass "raw/stats-shows-${what// /-}" || fail "raw/stats-shows-${what// /-}"
done
patches=$(stat_line "code scanner" | sed -E 's/.*scans\), ([0-9]+) patches.*/\1/')
cr3=$(stat_line "shadow paging" | sed -E 's/.* ([0-9]+) CR3 switches.*/\1/')
[ "${patches:-0}" -gt 0 ] && pass "raw/scanner-patched-sensitive-instructions" ||
	fail "raw/scanner-patched-sensitive-instructions: '$(stat_line "code scanner")'"
[ "${cr3:-0}" -gt 0 ] && pass "raw/shadow-paging-saw-cr3-switches" ||
	fail "raw/shadow-paging-saw-cr3-switches: '$(stat_line "shadow paging")'"

# CLI and STI answered in the stub on the virtual IF: the interrupt guest's
# masking, pending-until-STI and STI-shadow checks pass, and the stub, not
# popek, answered some of its CLI/STI.
timeout 120 "${RAW[@]}" -k "$G/conf_interrupts.elf" --stats >"$tmp/out" 2>&1; st=$?
ifs=$(stat_line "answered in the stub" | sed -E 's/.* ([0-9]+) CLI\/STI.*/\1/')
[ $st = 1 ] && grep -q "^SUMMARY [0-9]* passed, 0 failed" "$tmp/out" && [ "${ifs:-0}" -gt 0 ] &&
	pass "raw/cli-sti-answered-in-stub" ||
	fail "raw/cli-sti-answered-in-stub: status $st, $(grep -m1 ^SUMMARY "$tmp/out"), '$(stat_line "answered in the stub")'"

# Patched instructions answered in the stub from the scanner's tables: the
# sensitive-instruction guest (its repeated Linux-shaped sequences) passes,
# and the stub, not popek, answered PUSHF/PUSH Sreg, JMP reg and IRET.
timeout 120 "${RAW[@]}" -k "$G/conf_sensitive.elf" --stats >"$tmp/out" 2>&1; st=$?
line=$(stat_line "answered in the stub")
count() { sed -E "s/.* ([0-9]+) $1.*/\1/" <<<"$line"; }
if [ $st = 1 ] && grep -q "^SUMMARY [0-9]* passed, 0 failed" "$tmp/out"; then
	pass "raw/sensitive-guest-passes-with-stub-answers"
else
	fail "raw/sensitive-guest-passes-with-stub-answers: status $st, $(grep -m1 ^SUMMARY "$tmp/out")"
fi
for what in "PUSHF\/PUSH Sreg" "JMP reg" "IRET" "instructions run on"; do
	n=$(count "$what")
	[ "${n:-0}" -gt 0 ] 2>/dev/null && pass "raw/stub-answers-${what//[^A-Za-z]/-}" ||
		fail "raw/stub-answers-${what//[^A-Za-z]/-}: '$line'"
done

# A 64-bit guest: raw runs it in REM from start to end.
REF=$ROOT/cache/reference
if [ -s "$REF/vmlinuz" ] && [ -s "$REF/initramfs.cpio.gz" ]; then
	timeout 300 "${RAW[@]}" -k "$REF/vmlinuz" -i "$REF/initramfs.cpio.gz" -m 512M \
		-a "console=ttyS0 popek.test=poweroff" >"$tmp/out" 2>&1; st=$?
	[ $st = 0 ] && grep -q "reboot: Power down" "$tmp/out" && pass "raw/64-bit-linux-in-rem-powers-off" ||
		fail "raw/64-bit-linux-in-rem-powers-off: status $st: $(tail -n 3 "$tmp/out")"
else
	skip "raw/64-bit-linux-in-rem-powers-off: no reference guest in cache/reference (scripts/reference-guest)"
fi
finish
