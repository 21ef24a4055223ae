#!/usr/bin/env bash
# A guest that does what no sane guest does gets what hardware gives it,
# never an engine internal error (issue 15, items 2 and 9), on the
# sanitizer build: code fetched from physical addresses nothing backs
# (beyond RAM, in the PCI hole, at the top of the 4 GiB space, on a device's
# MMIO page) takes #UD at the target, as the bus's all-ones bytes do.
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
grep -qx kvm <<<"$engines" &&
	skip "nowhere (kvm): KVM reports a fetch from an address no memslot backs as an emulation failure; popek does not back the holes with all-ones pages yet"
finish
