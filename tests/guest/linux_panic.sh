#!/usr/bin/env bash
# A guest kernel panic ends popek with status 12 (issue 5): the reference
# Linux guest, booted with popek.test=panic (--deterministic on emu), loads
# its pvpanic driver and crashes itself through /proc/sysrq-trigger; the
# panic message reaches the console, and the driver's write to popek's
# pvpanic port (0x505) ends the run with status 12 instead of a guest that
# spins until a timeout.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/linux_guest.sh"
linux_ready "linux panic" || finish
out=$(mktemp)
trap 'rm -f "$out"' EXIT

boot_linux "$out" 1 popek.test=panic </dev/null
status=$?
name="linux panic ($LINUX_ENGINE)"
guest_lines "$out" | grep -qx 'pvpanic-bound QEMU0001:00' && pass "$name: pvpanic-mmio bound to QEMU0001:00" ||
	fail "$name: pvpanic driver not bound: $(grep -m2 'pvpanic' "$out" | tr '\n' ' ')"
grep -q 'Kernel panic - not syncing: sysrq triggered crash' "$out" &&
	pass "$name: the panic message reaches the console" ||
	fail "$name: no 'Kernel panic - not syncing: sysrq triggered crash'; last lines: $(last_lines "$out")"
grep -q '^popek: guest panicked (pvpanic event 0x1)' "$out" && pass "$name: popek says the guest panicked" ||
	fail "$name: popek did not report the panic; last lines: $(last_lines "$out")"
[ "$status" = 12 ] && pass "$name: ends with status 12" ||
	fail "$name: ended with status $status, want 12 (124 = timeout after $LINUX_LIMIT s); last lines: $(last_lines "$out")"
finish
