#!/usr/bin/env bash
# The machine core end to end (issue 2): command line, exit statuses, loaders
# and exit accounting, with the small guests from guests/simple and guests/flat.
. "$(dirname "$0")/../lib.sh"
G=$GUESTS
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Needs no engine.
out=$("$POPEK" --version); st=$?
[ $st = 0 ] && [[ $out =~ ^popek\ [0-9]+\.[0-9]+\.[0-9]+$ ]] && pass "cli/version" || fail "cli/version: status $st, '$out'"
"$POPEK" --help | grep -q -- "--kernel" && pass "cli/help-lists-options" || fail "cli/help-lists-options"
expect_status "cli/no-arguments" 2 "$POPEK"
expect_status "cli/unknown-command" 2 "$POPEK" frobnicate
expect_status "cli/missing-kernel-file" 2 "$POPEK" run -k "$tmp/none"
expect_status "cli/memory-zero" 2 "$POPEK" run -k "$G/hello.elf" -m 0
expect_status "cli/unknown-engine" 2 "$POPEK" run -k "$G/hello.elf" --engine vmware
expect_status "cli/memory-beyond-host" 2 "$POPEK" run -k "$G/hello.elf" -m 100T
"$POPEK" run -k "$tmp/none" 2>&1 | grep -q "cannot read '$tmp/none'" && pass "cli/missing-kernel-says-which" ||
	fail "cli/missing-kernel-says-which"

# Hostile bzImage header fields (issue 15): a setup header with nothing
# behind it (protocol 2.15, 64-bit entry, relocatable, kernel_alignment
# 2 MiB, pref_address 16 MiB, init_size 1 MiB, a 9728-byte kernel), one
# field made bad at a time. The loader refuses each before any guest code
# runs: status 2 and the line naming the field.
bz=$tmp/bzImage
poke() { printf "$2" | dd of="$bz" bs=1 seek=$(($1)) conv=notrunc status=none; }
make_bz() {
	head -c 12288 /dev/zero >"$bz"
	poke 0x1f1 '\x04'; poke 0x1f4 '\x60\x02\x00\x00'; poke 0x1fe '\x55\xaa'
	poke 0x201 '\x6a'; poke 0x202 'HdrS'; poke 0x206 '\x0f\x02'; poke 0x211 '\x01'
	poke 0x22c '\xff\xff\xff\x7f'; poke 0x230 '\x00\x00\x20\x00'; poke 0x234 '\x01'
	poke 0x236 '\x01\x00'; poke 0x238 '\xff\x07\x00\x00'
	poke 0x258 '\x00\x00\x00\x01\x00\x00\x00\x00'; poke 0x260 '\x00\x00\x10\x00'
}
# bad_bz NAME WANT [popek run options]: status 2 and WANT in what it printed.
bad_bz() {
	local name=$1 want=$2; shift 2
	local out st
	out=$(timeout 60 "$POPEK" run --engine emu -k "$bz" "$@" 2>&1 </dev/null); st=$?
	[ $st = 2 ] && grep -qF -- "$want" <<<"$out" && ! grep -q "needs .* MiB" <<<"$out" &&
		pass "$name" || fail "$name: status $st: $out"
}
make_bz; poke 0x230 '\x00\x00\x30\x00'
bad_bz "bzimage/kernel-alignment-not-power-of-two" "kernel_alignment 0x300000 is not a power of two: corrupt"
make_bz; poke 0x258 '\x00\x00\xe0\xff\xff\xff\xff\xff'
bad_bz "bzimage/pref-address-beyond-any-ram" "pref_address 0xffffffffffe00000, kernel_alignment 0x200000 and init_size 0x100000 put the kernel's end at 0xfffffffffff00000, past 3 GiB"
make_bz; poke 0x22c '\x00\x00\x00\x00'; printf 'not really a cpio' >"$tmp/initrd"
bad_bz "bzimage/initrd-addr-max-zero" "the kernel's initrd_addr_max is 0, below its own end at 0x1100000: this kernel cannot take an initrd" -i "$tmp/initrd"

# A multiboot kernel at 0x8000, as test kernels built for QEMU load (a.out
# kludge: header at 0x8000, entry 0x8020): it runs, and finds the
# information structure (EBX, its flags word readable) outside its image.
# The code writes the low byte of the flags' MEM bit + 0x20 to debug-exit.
{
	printf '\x02\xb0\xad\x1b\x00\x00\x01\x00\xfe\x4f\x51\xe4'   # magic, flags (a.out), checksum
	printf '\x00\x80\x00\x00\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x20\x80\x00\x00'
	printf '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'   # pad to 0x20
	printf '\x8b\x03\x83\xe0\x01\x83\xc0\x20\xe6\xf4\xf4'          # mov (%ebx),%eax; and $1; add $0x20; out %al,$0xf4; hlt
} >"$tmp/low.bin"
timeout 60 "$POPEK" run --engine emu -k "$tmp/low.bin" >"$tmp/out" 2>&1; st=$?
[ $st = 67 ] && pass "multiboot/kernel-at-0x8000-runs" ||
	fail "multiboot/kernel-at-0x8000-runs: status $st (want 67): $(head -n 2 "$tmp/out")"

# No permission on /dev/kvm: one clear line and the engine-unavailable status.
if [ "$(id -u)" = 0 ] && [ -e /dev/kvm ] && command -v runuser >/dev/null &&
	! runuser -u nobody -- test -r /dev/kvm -a -w /dev/kvm 2>/dev/null &&
	runuser -u nobody -- test -x "$POPEK" 2>/dev/null; then
	out=$(runuser -u nobody -- "$POPEK" run --engine kvm -k "$G/hello.elf" 2>&1); st=$?
	[ $st = 10 ] && grep -q "cannot open /dev/kvm: Permission denied" <<<"$out" &&
		pass "cli/kvm-permission-denied" || fail "cli/kvm-permission-denied: status $st: $out"
else
	skip "cli/kvm-permission-denied: needs root, runuser and a /dev/kvm that nobody cannot open"
fi

if ! have_kvm; then
	skip "machine/kvm-guests: $KVM_WHY"
	finish
fi
KVM=("$POPEK" run --engine kvm)
run() { timeout 60 "${KVM[@]}" "$@"; }

expect_status "cli/deterministic-needs-counting-engine" 2 "${KVM[@]}" -k "$G/hello.elf" --deterministic

# Multiboot: output, cmdline and memory size from the multiboot info.
out=$(run -k "$G/hello.elf" -a "alpha beta" -m 512M 2>&1); st=$?
[ $st = 1 ] && pass "multiboot/hello-status" || fail "multiboot/hello-status: expected 1 got $st"
grep -q "hello from popek guest" <<<"$out" && pass "multiboot/hello-serial-output" || fail "multiboot/hello-serial-output: $out"
grep -q "cmdline: .*hello.elf alpha beta" <<<"$out" && pass "multiboot/cmdline-passed" || fail "multiboot/cmdline-passed: $out"
grep -q "total 512 MiB" <<<"$out" && pass "multiboot/memory-size-passed" || fail "multiboot/memory-size-passed: $out"
out=$(run -k "$G/hello.elf" -c 4 2>&1); st=$?
[ $st = 1 ] && grep -q "hello from popek guest" <<<"$out" && pass "multiboot/four-vcpus-boot" || fail "multiboot/four-vcpus-boot: status $st"

# Flat binaries in real and 32-bit protected mode.
out=$(run -k "$G/realmode.bin" --load 0x7c00 2>&1); st=$?
[ $st = 1 ] && grep -q "real mode ok" <<<"$out" && pass "flat/real-mode" || fail "flat/real-mode: status $st: $out"
out=$(run -k "$G/prot32.bin" --load 0x100000 --mode 32 2>&1); st=$?
[ $st = 1 ] && grep -q "protected mode ok" <<<"$out" && pass "flat/protected-32" || fail "flat/protected-32: status $st: $out"
expect_status "flat/beyond-real-mode-refused" 2 "${KVM[@]}" -k "$G/realmode.bin" --load 0x200000

# Debug-exit: status (N << 1) | 1, truncated to 8 bits like any exit status.
expect_status "debug-exit/value-0" 1 "${KVM[@]}" -k "$G/debugexit.elf" -a code=0
expect_status "debug-exit/value-42" 85 "${KVM[@]}" -k "$G/debugexit.elf" -a code=42
expect_status "debug-exit/value-127" 255 "${KVM[@]}" -k "$G/debugexit.elf" -a code=127

# Triple fault: its own status and a register dump.
out=$(run -k "$G/triple.elf" 2>&1); st=$?
[ $st = 4 ] && pass "triple-fault/status" || fail "triple-fault/status: expected 4 got $st"
grep -q "triple fault" <<<"$out" && grep -q "RIP=" <<<"$out" && grep -q "CR0=" <<<"$out" &&
	grep -q "EFER=" <<<"$out" && grep -q "^  CS  sel=" <<<"$out" && pass "triple-fault/register-dump" ||
	fail "triple-fault/register-dump: $out"

# Exit accounting: exits.elf does 100 OUT, 50 IN, 30 MMIO writes, 20 MMIO reads.
out=$(run -k "$G/exits.elf" --stats 2>&1); st=$?
[ $st = 1 ] && pass "stats/exits-guest-status" || fail "stats/exits-guest-status: expected 1 got $st"
site() { grep -E "^  0x[0-9a-f]+ $1 +$2 +$3\$" <<<"$out" >/dev/null; }
site io 0x510 100 && pass "stats/out-exits-counted-at-their-rip" || fail "stats/out-exits-counted-at-their-rip: $out"
site io 0x511 50 && pass "stats/in-exits-counted" || fail "stats/in-exits-counted"
site mmio 0xd1000000 30 && site mmio 0xd1000000 20 && pass "stats/mmio-exits-counted" || fail "stats/mmio-exits-counted"
grep -qE "^  mmio +50 " <<<"$out" && pass "stats/mmio-total" || fail "stats/mmio-total"

# HLT: with the interrupt controllers inside KVM, HLT never reaches popek;
# --stats shows KVM's own count. halt.elf sleeps five times, woken by the PIT.
out=$(run -k "$G/halt.elf" --stats 2>&1); st=$?
halts=$(sed -nE 's/^  halt_exits +([0-9]+)$/\1/p' <<<"$out")
if [ $st = 1 ] && [ "${halts:-0}" -ge 5 ]; then pass "stats/hlt-exits-counted-by-kvm"
elif [ $st = 8 ] && grep -q "could not emulate" <<<"$out"; then
	skip "stats/hlt-exits-counted-by-kvm: this host's nested KVM cannot emulate the interrupt handler's IRET (qemu -accel kvm fails the same way)"
else fail "stats/hlt-exits-counted-by-kvm: status $st, halt_exits '${halts}'"; fi

# Quit from the console: Ctrl-A x ends a guest that would run forever.
printf '\xeb\xfe' >"$tmp/spin.bin"   # jmp $
printf '\001x' | timeout 30 "$POPEK" run --engine kvm -k "$tmp/spin.bin" --load 0x7c00 >"$tmp/q" 2>&1; st=$?
[ $st = 14 ] && grep -q "Ctrl-A x" "$tmp/q" && pass "console/ctrl-a-x-quits" || fail "console/ctrl-a-x-quits: status $st: $(cat "$tmp/q")"
finish
