#!/usr/bin/env bash
# popek's virtio devices as stock Linux drives them (the reference guest's
# popek.test= modes; scripts/reference-guest): a disk image built without
# root (scripts/mkdisk) read and hashed by the guest, written by it, synced,
# and still there when popek is killed -9 right after the guest's sync
# returned; a read-only disk the guest cannot write; two disks; the entropy
# source and hvc0 (to a file, and both ways through a UNIX socket); user-mode networking both ways (the guest fetches a page
# from the host's loopback, a host client reaches the guest through
# hostfwd); and the bad inputs around --disk, --net and --device.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/linux_guest.sh"
linux_ready "virtio" || finish
[ -n "$LINUX_KVM_WHY" ] && skip "virtio (kvm): $LINUX_KVM_WHY"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/out
debugfs=$(PATH=$PATH:/sbin:/usr/sbin command -v debugfs || true)
e2fsck=$(PATH=$PATH:/sbin:/usr/sbin command -v e2fsck || true)

mkdir -p "$work/files"
echo "popek disk test $$" >"$work/files/first.txt"
head -c 100000 /dev/urandom >"$work/files/random.bin"
mkdir "$work/files/subdir"   # not a regular file: the guest skips it

# disk_sums: the POPEK-DISK lines the guest must print for $work/files.
disk_sums() {
	local f
	for f in $(cd "$work/files" && LC_ALL=C ls -A | sort); do
		[ -f "$work/files/$f" ] && echo "POPEK-DISK $(sha256sum <"$work/files/$f" | cut -d' ' -f1) $f"
	done
}

# image_file IMAGE NAME: the file NAME of the ext4 image, after a journal
# replay on a copy (a kill -9 leaves the journal unreplayed).
image_file() {
	cp --sparse=always "$1" "$work/replay.img"
	"$e2fsck" -fy "$work/replay.img" >/dev/null 2>&1
	"$debugfs" -R "cat /$2" "$work/replay.img" 2>/dev/null
}

# wait_line PID FILE PATTERN: until FILE has a line matching PATTERN, PID
# has ended, or LINUX_LIMIT seconds have passed.
wait_line() {
	for _ in $(seq 1 "$LINUX_LIMIT"); do
		grep -q "$3" "$2" && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 1
	done
	return 1
}

for engine in $LINUX_ENGINES; do
	linux_use "$engine"
	e=$LINUX_ENGINE
	"$ROOT/scripts/mkdisk" "$work/files" "$work/a.img" >/dev/null || { fail "virtio ($e): mkdisk failed"; continue; }
	truncate -s 8M "$work/b.img"

	# --- a read-write disk, and a second one -----------------------------
	boot_linux "$out" 1 "popek.test=disk" --disk "$work/a.img" --disk "$work/b.img" --stats
	status=$?
	if diff <(disk_sums) <(grep '^POPEK-DISK ' "$out") >/dev/null; then
		pass "virtio-blk ($e): the guest's sha256 of each file matches the host's"
	else
		fail "virtio-blk ($e): POPEK-DISK lines differ: $(grep '^POPEK-DISK' "$out" | tr '\n' ' ') $(grep -m1 FAILED "$out")"
	fi
	if grep -q '^POPEK-DISK-DONE' "$out" && [ "$status" = 0 ]; then
		pass "virtio-blk ($e): written, synced, unmounted; powered off with status 0"
	else
		fail "virtio-blk ($e): status $status, $(grep -m1 'POPEK-DISK-FAILED' "$out"); $(last_lines "$out")"
	fi
	if grep -q '^POPEK-DISK-IRQ PCI-MSI .* virtio0-req.0$' "$out" && grep -q '^POPEK-DISK-IRQ PCI-MSI .* virtio0-config$' "$out"; then
		pass "virtio-blk ($e): the driver takes MSI-X: a vector for the queue, one for configuration changes"
	else
		fail "virtio-blk ($e): interrupts: $(grep 'POPEK-DISK-IRQ' "$out" | tr '\n' ' ')"
	fi
	if grep -q '\[vdb\] 16384 512-byte logical blocks' "$out"; then
		pass "virtio-blk ($e): the second --disk is vdb, 8 MiB"
	else
		fail "virtio-blk ($e): no vdb of 16384 sectors: $(grep -m2 'virtio_blk' "$out" | tr '\n' ' ')"
	fi
	if grep -qE '^virtio-blk vda .* [1-9][0-9]* writes, [1-9][0-9]* flushes' "$out"; then
		pass "virtio-blk ($e): --stats counts the guest's writes and flushes"
	else
		fail "virtio-blk ($e): --stats: $(grep -m1 '^virtio-blk vda' "$out")"
	fi
	if [ -z "$debugfs" ]; then
		skip "virtio-blk ($e): the image's contents: no debugfs (e2fsprogs)"
	elif [ "$("$debugfs" -R 'cat /guest-wrote' "$work/a.img" 2>/dev/null)" = written-by-guest ] &&
		"$e2fsck" -fn "$work/a.img" >/dev/null 2>&1; then
		pass "virtio-blk ($e): the image holds /guest-wrote and is clean (e2fsck -fn)"
	else
		fail "virtio-blk ($e): the image has no guest-wrote or is not clean"
	fi

	# --- kill -9 once the guest's sync has returned ----------------------
	# In real time: a deterministic clock would skip the guest's wait.
	"$ROOT/scripts/mkdisk" "$work/files" "$work/k.img" >/dev/null
	"$POPEK" run --engine "$e" -m 256M -k "$REF/vmlinux" \
		-i "$REF/initramfs.cpio.gz" -a "console=ttyS0 popek.test=disk popek.hold" \
		--disk "$work/k.img" >"$out" 2>&1 &
	pid=$!
	wait_line "$pid" "$out" 'POPEK-DISK-SYNCED\|POPEK-DISK-FAILED'
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	status=$?
	if ! grep -q POPEK-DISK-SYNCED "$out"; then
		fail "virtio-blk ($e): kill -9: the guest never synced: $(grep -m1 FAILED "$out") $(last_lines "$out")"
	elif [ "$status" != 137 ]; then
		fail "virtio-blk ($e): kill -9: popek ended with $status, not by the kill"
	elif [ -z "$debugfs" ]; then
		skip "virtio-blk ($e): kill -9: no debugfs (e2fsprogs)"
	elif [ "$(image_file "$work/k.img" guest-wrote)" = written-by-guest ]; then
		pass "virtio-blk ($e): kill -9 after the guest's sync loses nothing"
	else
		fail "virtio-blk ($e): kill -9 after the guest's sync lost /guest-wrote"
	fi

	# --- read-only -------------------------------------------------------
	before=$(sha256sum <"$work/a.img")
	boot_linux "$out" 1 "popek.test=disk" --disk "$work/a.img,ro"
	status=$?
	if diff <({ disk_sums; echo "POPEK-DISK $(printf 'written-by-guest\n' | sha256sum | cut -d' ' -f1) guest-wrote"; } |
		sort -k3) <(grep '^POPEK-DISK ' "$out" | sort -k3) >/dev/null && grep -q 'POPEK-DISK-FAILED: remount,rw failed' "$out"; then
		pass "virtio-blk ($e): ro: the guest reads the files and cannot remount read-write"
	else
		fail "virtio-blk ($e): ro: $(grep 'POPEK-DISK' "$out" | tr '\n' ' ')"
	fi
	if [ "$(sha256sum <"$work/a.img")" = "$before" ] && [ "$status" = 0 ]; then
		pass "virtio-blk ($e): ro: the image is unchanged"
	else
		fail "virtio-blk ($e): ro: the image changed (status $status)"
	fi

	# --- entropy and hvc0 ------------------------------------------------
	boot_linux "$out" 1 "popek.test=rng" --device virtio-rng
	if grep -q '^POPEK-RNG virtio_rng' "$out" && grep -qE '^POPEK-RNG-BYTES [0-9a-f]{32}$' "$out"; then
		pass "virtio-rng ($e): /dev/hwrng is virtio_rng and gives 16 bytes"
	else
		fail "virtio-rng ($e): $(grep -m2 'POPEK-RNG' "$out" | tr '\n' ' ') $(last_lines "$out")"
	fi
	boot_linux "$out" 1 "popek.test=console" --device "virtio-console,path=$work/hvc.out"
	if grep -q '^POPEK-HVC-SENT' "$out" && grep -q 'POPEK-HVC hello-from-hvc0' "$work/hvc.out"; then
		pass "virtio-console ($e): what the guest writes to hvc0 lands in path="
	else
		fail "virtio-console ($e): $(grep -m1 'POPEK-HVC' "$out"); hvc0 wrote: $(head -c 200 "$work/hvc.out" 2>/dev/null)"
	fi
	# hvc0 both ways through a UNIX socket popek connects to
	if command -v python3 >/dev/null; then
		python3 - "$work/hvc.sock" >"$work/hvc-peer.out" 2>&1 <<'PEER' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); c.settimeout(300); got = b""
while b"hello-from-hvc0" not in got:
    b = c.recv(4096)
    if not b: break
    got += b
c.sendall(b"hello-to-guest\n")
print("peer got:", got.decode(errors="replace").strip(), flush=True)
PEER
		peer=$!
		for _ in $(seq 1 50); do [ -S "$work/hvc.sock" ] && break; sleep 0.1; done
		boot_linux "$out" 1 "popek.test=console popek.hvcread" --device "virtio-console,socket=$work/hvc.sock"
		wait "$peer"
		if grep -q '^POPEK-HVC-GOT hello-to-guest$' "$out" && grep -q 'peer got: POPEK-HVC hello-from-hvc0' "$work/hvc-peer.out"; then
			pass "virtio-console ($e): socket=: the peer reads hvc0's output and its line reaches the guest"
		else
			fail "virtio-console ($e): socket=: $(grep -m2 'POPEK-HVC' "$out" | tr '\n' ' '); peer: $(cat "$work/hvc-peer.out")"
		fi
	fi

	# --- virtio-net: user-mode networking both ways ------------------------
	if ! command -v python3 >/dev/null; then
		skip "virtio-net ($e): no python3 for the host's side"
		continue
	fi
	mkdir -p "$work/www"
	echo "probe-body-$$" >"$work/www/popek-probe"
	port=$((20000 + RANDOM % 20000))
	python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
	server=$!
	sleep 0.5
	boot_linux "$out" 1 "popek.test=net popek.port=$port" --net user --stats
	status=$?
	kill "$server" 2>/dev/null
	wait "$server" 2>/dev/null
	if grep -q '^POPEK-NET-ADDR 10.0.2.15$' "$out"; then pass "virtio-net ($e): DHCP gives the guest 10.0.2.15"
	else fail "virtio-net ($e): no lease: $(grep -m1 'POPEK-NET' "$out") $(last_lines "$out")"; fi
	if grep -q "^POPEK-NET probe-body-$$ *$" "$out" && [ "$status" = 0 ]; then
		pass "virtio-net ($e): the guest fetches a page from the host's loopback through 10.0.2.2"
	else
		fail "virtio-net ($e): status $status: $(grep -m2 'POPEK-NET' "$out" | tr '\n' ' ')"
	fi
	# hostfwd: a host client reaches a server in the guest
	hport=$((20000 + RANDOM % 20000))
	"$POPEK" run --engine "$e" -m 256M -k "$REF/vmlinux" -i "$REF/initramfs.cpio.gz" \
		-a "console=ttyS0 popek.test=netserve" --net "user,hostfwd=tcp:127.0.0.1:$hport-:8080" \
		>"$out" 2>&1 &
	pid=$!
	wait_line "$pid" "$out" 'POPEK-NET-LISTENING\|POPEK-NET-FAILED'
	reply=$(python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"hello-through-hostfwd\n")
print(s.makefile().readline().strip())' "$hport" 2>&1)
	wait_line "$pid" "$out" '^POPEK-NEVER-PRINTED$'   # until it ends
	kill "$pid" 2>/dev/null
	wait "$pid"
	status=$?
	if [ "$reply" = "POPEK-GUEST-SERVED hello-through-hostfwd" ] && grep -q '^POPEK-NET-SERVED' "$out" &&
		[ "$status" = 0 ]; then
		pass "virtio-net ($e): hostfwd: a host client reaches a server in the guest"
	else
		fail "virtio-net ($e): hostfwd: reply '$reply', status $status: $(grep -m3 'POPEK-NET' "$out" | tr '\n' ' ')"
	fi
done

# --- bad input: status 2 before anything runs ---------------------------------
k=$REF/vmlinux
expect_status "virtio-blk: a missing image is bad input" 2 "$POPEK" run -k "$k" --disk /nonexistent.img
expect_status "virtio-blk: a directory is bad input" 2 "$POPEK" run -k "$k" --disk /tmp
expect_status "virtio-blk: an unknown option is bad input" 2 "$POPEK" run -k "$k" --disk "$work/b.img,rw"
: >"$work/empty.img"
expect_status "virtio-blk: an empty image is bad input" 2 "$POPEK" run -k "$k" --disk "$work/empty.img"
expect_status "virtio: an unknown --device is bad input" 2 "$POPEK" run -k "$k" --device virtio-gpu
expect_status "virtio-net: an unknown backend is bad input" 2 "$POPEK" run -k "$k" --net bridge
expect_status "virtio-net: a hostfwd port out of range is bad input" 2 \
	"$POPEK" run -k "$k" --net user,hostfwd=tcp:127.0.0.1:70000-:80
expect_status "virtio-net: a malformed MAC is bad input" 2 "$POPEK" run -k "$k" --net user,mac=52:54:00:12:34
expect_status "virtio-net: a multicast MAC is bad input" 2 "$POPEK" run -k "$k" --net user,mac=01:00:5e:00:00:01
expect_status "virtio-console: a path= that cannot be written is bad input" 2 \
	"$POPEK" run -k "$k" --device virtio-console,path=/nonexistent/hvc
expect_status "virtio-console: a socket= nobody listens on is bad input" 2 \
	"$POPEK" run -k "$k" --device "virtio-console,socket=$work/nobody.sock"
expect_status "virtio-console: an unknown option is bad input" 2 "$POPEK" run -k "$k" --device virtio-console,tty=1
if command -v flock >/dev/null; then
	# (its output away from ours: the runner waits for whoever holds our stdout)
	flock -x "$work/b.img" sleep 30 >/dev/null 2>&1 &
	holder=$!
	sleep 0.5
	"$POPEK" run -k "$k" --disk "$work/b.img" >"$out" 2>&1
	status=$?
	if [ "$status" = 2 ] && grep -q 'in use by another program' "$out"; then
		pass "virtio-blk: an image another program holds locked is refused (status 2)"
	else
		fail "virtio-blk: a locked image: status $status: $(cat "$out")"
	fi
	"$POPEK" run -k "$k" --disk "$work/b.img,ro" >"$out" 2>&1
	status=$?
	if [ "$status" = 2 ]; then pass "virtio-blk: ro is refused too while another writer holds it"
	else fail "virtio-blk: ro with a writer holding the image: status $status"; fi
	pkill -P "$holder" sleep 2>/dev/null
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
else
	skip "virtio-blk: image locking: no flock(1) here"
fi
finish
