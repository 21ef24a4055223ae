#!/usr/bin/env bash
# The reference Linux guest (scripts/reference-guest): Debian's stock kernel,
# booted both as the bzImage and as the uncompressed vmlinux, must reach its
# busybox /init, run its commands, report boot done through the boot timer
# and power off with status 0.
# Runs only where an engine can boot stock Linux: KVM on a CPU showing vmx or
# svm, or the emu engine once popek lists it. A /dev/kvm without either flag
# underneath is a nested software hypervisor that stalls stock Linux, so the
# test is skipped there, with the reason.
source "$(dirname "$0")/../lib.sh"

if [ ! -x "$POPEK" ]; then
	fail "reference guest: $POPEK is not built"
	finish
fi
engines=$("$POPEK" engines 2>/dev/null)
if grep -qwE 'vmx|svm' /proc/cpuinfo && grep -qx kvm <<<"$engines"; then
	engine=kvm limit=120
elif grep -qx emu <<<"$engines"; then
	# A software CPU needs seconds where KVM needs milliseconds.
	engine=emu limit=400
else
	if ! have_kvm; then
		why=$KVM_WHY
	elif ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
		why="/dev/kvm here has no VT-x/AMD-V underneath (no vmx/svm CPU flag: a nested software hypervisor that stalls stock Linux)"
	else
		why="popek lists no kvm engine although the CPU has vmx/svm"
	fi
	skip "reference guest: $why, and popek has no emu engine yet"
	finish
fi

build_log=$(mktemp)
out=$(mktemp)
trap 'rm -f "$build_log" "$out"' EXIT
if ! "$ROOT/scripts/reference-guest" >/dev/null 2>"$build_log"; then
	skip "reference guest: could not be built ($(grep error: "$build_log" | tail -n 1))"
	finish
fi
REF=$ROOT/cache/reference
# linux-image-6.1.0-56-amd64 -> 6.1.0-56-amd64, what uname -r prints.
version=$(sed 's/^linux-image-//' "$REF/kernel.stamp")

for kernel in vmlinuz vmlinux; do
	[ -f "$REF/$kernel" ] || { skip "reference guest ($kernel): not in the cache"; continue; }
	timeout "$limit" "$POPEK" run --engine "$engine" -m 256M -k "$REF/$kernel" \
		-i "$REF/initramfs.cpio.gz" -a "console=ttyS0 earlyprintk=serial" </dev/null >"$out" 2>&1
	status=$?
	name="reference guest ($kernel, $engine)"
	if grep -q '^POPEK-REFERENCE-GUEST-UP' "$out"; then
		pass "$name reaches /init"
	else
		fail "$name never reached /init; last lines: $(tail -n 5 "$out" | tr '\n' ' ')"
		continue
	fi
	if grep -q "^Linux .* $version .*x86_64" "$out"; then pass "$name uname shows $version"
	else fail "$name uname: $(grep -m1 '^Linux ' "$out")"; fi
	if grep -q '^file-roundtrip-ok' "$out"; then pass "$name tmpfs file round trip"
	else fail "$name file round trip did not print file-roundtrip-ok"; fi
	if grep -q 'popek: guest boot done in [0-9][0-9.]* ms' "$out"; then pass "$name boot timer"
	else fail "$name boot timer: no 'guest boot done' line"; fi
	if [ "$status" = 0 ]; then pass "$name powers off with status 0"
	else fail "$name ended with status $status (124 = timeout after $limit s); last lines: $(tail -n 3 "$out" | tr '\n' ' ')"; fi
done
finish
