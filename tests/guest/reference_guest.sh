#!/usr/bin/env bash
# The reference Linux guest (scripts/reference-guest): Debian's stock kernel,
# booted both as the bzImage and as the uncompressed vmlinux, must reach its
# busybox /init, run its commands, report boot done through the boot timer
# and power off with status 0.
# Runs on every engine that can boot stock Linux here (tests/linux_guest.sh
# says which: emu, and kvm where the CPU has VT-x/AMD-V); a SKIP says why
# kvm does not. Both boots run in real time (no --deterministic), unlike the
# other Linux tests.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/linux_guest.sh"
linux_ready "reference guest" || finish
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# linux-image-6.1.0-56-amd64 -> 6.1.0-56-amd64, what uname -r prints.
version=$(sed 's/^linux-image-//' "$REF/kernel.stamp")

[ -n "$LINUX_KVM_WHY" ] && skip "reference guest (kvm): $LINUX_KVM_WHY"

for engine in $LINUX_ENGINES; do
linux_use "$engine"
for kernel in vmlinuz vmlinux; do
	[ -f "$REF/$kernel" ] || { skip "reference guest ($kernel): not in the cache"; continue; }
	timeout "$LINUX_LIMIT" "$POPEK" run --engine "$LINUX_ENGINE" -m 256M -k "$REF/$kernel" \
		-i "$REF/initramfs.cpio.gz" -a "console=ttyS0 earlyprintk=serial" </dev/null >"$out" 2>&1
	status=$?
	name="reference guest ($kernel, $LINUX_ENGINE)"
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
	else fail "$name ended with status $status (124 = timeout after $LINUX_LIMIT s); last lines: $(tail -n 3 "$out" | tr '\n' ' ')"; fi
done
done
finish
