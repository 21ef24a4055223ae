#!/usr/bin/env bash
# --deterministic (issue 4): the TSC and every timer follow the instruction
# count, so two runs of a guest print the same thing. timing.elf prints TSC
# readings around HLTs woken by the PIT, the PIT count, a busy wait counted
# in timer ticks and the RTC; the reference Linux guest (when
# POPEK_SLOW_TESTS=1 and it is built) prints its dmesg timestamps.
. "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if ! "$POPEK" engines 2>/dev/null | grep -qx emu; then
	skip "deterministic: popek lists no emu engine"
	finish
fi
EMU=("$POPEK" run --engine emu --deterministic)

for n in 1 2; do
	timeout 60 "${EMU[@]}" -k "$GUESTS/timing.elf" >"$tmp/timing$n" 2>&1
	echo $? >"$tmp/status$n"
done
if [ "$(cat "$tmp/status1")" = 1 ] && grep -q "timing: tsc monotonic" "$tmp/timing1"; then
	pass "deterministic/timing-guest-runs"
else
	fail "deterministic/timing-guest-runs: status $(cat "$tmp/status1"): $(tail -n 3 "$tmp/timing1" | tr '\n' ' ')"
fi
if cmp -s "$tmp/timing1" "$tmp/timing2" && [ "$(grep -c '^timing: hlt' "$tmp/timing1")" = 8 ]; then
	pass "deterministic/two-runs-identical"
else
	fail "deterministic/two-runs-identical: $(diff "$tmp/timing1" "$tmp/timing2" | head -n 4 | tr '\n' ' ')"
fi
# One instruction is one nanosecond: the PIT at 1 kHz wakes each HLT one
# millisecond (10^6 TSC ticks) after the last, whatever the host's speed.
d=$(sed -nE 's/^timing: hlt 7 tsc\+([0-9]+) .*/\1/p' "$tmp/timing1")
if [ -n "$d" ] && [ "$d" -gt 6900000 ] && [ "$d" -lt 7100000 ]; then
	pass "deterministic/halted-cpu-skips-to-the-timer"
else
	fail "deterministic/halted-cpu-skips-to-the-timer: TSC after 8 HLTs at 1 kHz is '$d', expected ~7000000"
fi

# The engines that cannot count instructions refuse the option clearly.
if "$POPEK" engines 2>/dev/null | grep -qx kvm && have_kvm; then
	out=$(timeout 30 "$POPEK" run --engine kvm --deterministic -k "$GUESTS/hello.elf" 2>&1); st=$?
	[ $st != 0 ] && grep -q "deterministic" <<<"$out" && pass "deterministic/kvm-refuses" ||
		fail "deterministic/kvm-refuses: status $st: $out"
else
	skip "deterministic/kvm-refuses: no usable KVM here"
fi

# Linux: identical dmesg timestamps in two runs (minutes on emu: opt-in).
ref=$ROOT/cache/reference
if [ "${POPEK_SLOW_TESTS:-0}" != 1 ]; then
	skip "deterministic/reference-guest-identical: set POPEK_SLOW_TESTS=1 (two boots of Linux on emu)"
elif [ ! -f "$ref/vmlinux" ] || [ ! -f "$ref/initramfs.cpio.gz" ]; then
	skip "deterministic/reference-guest-identical: run scripts/reference-guest first"
else
	for n in 1 2; do
		timeout 600 "${EMU[@]}" -m 256M -k "$ref/vmlinux" -i "$ref/initramfs.cpio.gz" \
			-a console=ttyS0 </dev/null 2>/dev/null | grep -v "boot done in" >"$tmp/linux$n"
	done
	if grep -q POPEK-REFERENCE-GUEST-UP "$tmp/linux1" && cmp -s "$tmp/linux1" "$tmp/linux2"; then
		pass "deterministic/reference-guest-identical"
	else
		fail "deterministic/reference-guest-identical: $(diff "$tmp/linux1" "$tmp/linux2" | head -n 4 | tr '\n' ' ')"
	fi
fi
finish
