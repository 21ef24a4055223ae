#!/usr/bin/env bash
# The 32-bit reference Linux guest (scripts/reference-guest --arch i386):
# Debian's stock linux-image-686 with busybox-static:i386, booted through
# the 32-bit boot protocol, on emu and on raw (and on kvm where the CPU has
# VT-x/AMD-V): it must reach /init, show the 686 kernel, round-trip a tmpfs
# file, run the commands, see a segfaulting program killed in the guest,
# and power off with status 0; a guest panic ends with status 12; its
# virtio-blk driver reads and writes a disk; raw boots once more with a
# fixed layout.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/linux_guest.sh"
out=$(mktemp)
log=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$out" "$log" "$work"' EXIT
if ! "$ROOT/scripts/reference-guest" --arch i386 >/dev/null 2>"$log"; then
	skip "reference guest i386: could not be built ($(grep error: "$log" | tail -n 1))"
	finish
fi
REF=$ROOT/cache/reference-i386
version=$(sed 's/^linux-image-//; s/:i386$//' "$REF/kernel.stamp")
# the engines that boot stock Linux here (tests/linux_guest.sh), and raw
linux_engines || true
list=$LINUX_ENGINES
"$POPEK" engines 2>/dev/null | grep -qx raw && list+=" raw"
[ -n "$LINUX_KVM_WHY" ] && skip "reference guest i386 (kvm): $LINUX_KVM_WHY"
[ -n "${list// /}" ] || { skip "reference guest i386: no engine here"; finish; }

for engine in $list; do
	name="reference guest i386 ($engine)"
	timeout 120 "$POPEK" run --engine "$engine" -m 256M -k "$REF/vmlinuz" -i "$REF/initramfs.cpio.gz" \
		-a "console=ttyS0 popek.test=commands" </dev/null >"$out" 2>&1
	status=$?
	if ! grep -q '^POPEK-REFERENCE-GUEST-UP' "$out"; then
		fail "$name never reached /init (status $status); last lines: $(tail -n 5 "$out" | tr '\n' ' ')"
		continue
	fi
	pass "$name reaches /init"
	grep -q "^Linux .* $version .*i686" "$out" && pass "$name uname shows $version i686" ||
		fail "$name uname: $(grep -m1 '^Linux ' "$out")"
	grep -q '^file-roundtrip-ok' "$out" && pass "$name tmpfs file round trip" ||
		fail "$name file round trip did not print file-roundtrip-ok"
	grep -q '^segv-survived status 139' "$out" && pass "$name segfaulting program gets SIGSEGV in the guest" ||
		fail "$name segfault: $(grep -m1 'segv' "$out")"
	[ "$status" = 0 ] && pass "$name powers off with status 0" ||
		fail "$name ended with status $status; last lines: $(tail -n 3 "$out" | tr '\n' ' ')"
	timeout 120 "$POPEK" run --engine "$engine" -m 256M -k "$REF/vmlinuz" -i "$REF/initramfs.cpio.gz" \
		-a "console=ttyS0 popek.test=panic" </dev/null >"$out" 2>&1
	status=$?
	if [ "$status" = 12 ]; then
		pass "$name panic ends with status 12"
	else
		fail "$name panic: status $status; last lines: $(tail -n 3 "$out" | tr '\n' ' ')"
	fi
	# virtio-blk under the 32-bit kernel: the guest hashes a file of the disk and writes one
	mkdir -p "$work/files"
	echo "i386 disk $$" >"$work/files/note.txt"
	if "$ROOT/scripts/mkdisk" "$work/files" "$work/disk.img" >/dev/null 2>&1; then
		timeout 120 "$POPEK" run --engine "$engine" -m 256M -k "$REF/vmlinuz" -i "$REF/initramfs.cpio.gz" \
			-a "console=ttyS0 popek.test=disk" --disk "$work/disk.img" </dev/null >"$out" 2>&1
		status=$?
		sum=$(sha256sum <"$work/files/note.txt" | cut -d' ' -f1)
		grep -q "^POPEK-DISK $sum note.txt" "$out" && grep -q '^POPEK-DISK-DONE' "$out" && [ "$status" = 0 ] &&
			pass "$name virtio-blk: reads the disk's file and writes one" ||
			fail "$name virtio-blk: status $status: $(grep -m3 'POPEK-DISK' "$out" | tr '\n' ' ')"
	else
		fail "$name virtio-blk: scripts/mkdisk failed"
	fi
done

# Without KASLR and ASLR the layout is fixed: before two scanner fixes
# (issue 10's note: a fetch fault on an instruction's tail taken as an
# entry; branches kept from pages since dropped) raw failed this boot every
# time, with init killed by a segfault.
if [[ " $list " == *" raw "* ]]; then
	timeout 120 "$POPEK" run --engine raw -m 256M -k "$REF/vmlinuz" -i "$REF/initramfs.cpio.gz" \
		-a "console=ttyS0 popek.test=commands nokaslr norandmaps" </dev/null >"$out" 2>&1
	status=$?
	[ "$status" = 0 ] && grep -q '^segv-survived status 139' "$out" &&
		pass "reference guest i386 (raw) fixed layout runs to power-off" ||
		fail "reference guest i386 (raw) fixed layout: status $status; $(grep -m1 'segfault at\|BUG:' "$out")"
fi
finish
