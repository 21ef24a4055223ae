#!/usr/bin/env bash
# The ports firmware talks to (issue 13, item 8): POST codes at 0x80, shown
# as they come with --post-codes and summed up by --stats, and QEMU's debug
# console at 0x402, there only with --debugcon (a read gives 0xe9, as
# QEMU's does, before firmware writes its log), on the sanitizer build.
. "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
P=$POPEK_SAN
[ -x "$P" ] || P=$POPEK
# real mode at 0x7c00: POST 0x11, 0x22, 0x33; if 0x402 reads 0xe9 write
# "HI\n" there and exit with debug-exit 0x15 (status 43), else 0x16 (45)
printf '\xb0\x11\xe6\x80\xb0\x22\xe6\x80\xb0\x33\xe6\x80' >"$tmp/fw.bin"
printf '\xba\x02\x04\xec\x3c\xe9\x75\x0e' >>"$tmp/fw.bin"
printf '\xb0\x48\xee\xb0\x49\xee\xb0\x0a\xee\xb0\x15\xe6\xf4\xf4' >>"$tmp/fw.bin"
printf '\xb0\x16\xe6\xf4\xf4' >>"$tmp/fw.bin"
RUN=("$P" run --engine emu -k "$tmp/fw.bin" --load 0x7c00)

timeout 60 "${RUN[@]}" --debugcon "$tmp/log" >"$tmp/out" 2>&1; st=$?
[ $st = 43 ] && [ "$(cat "$tmp/log")" = "HI" ] && pass "debugcon/written-to-the-file" ||
	fail "debugcon/written-to-the-file: status $st, log '$(cat "$tmp/log" 2>/dev/null)'"
timeout 60 "${RUN[@]}" >"$tmp/out" 2>&1; st=$?
[ $st = 45 ] && pass "debugcon/absent-without-the-option" || fail "debugcon/absent-without-the-option: status $st"
timeout 60 "${RUN[@]}" --debugcon /nonexistent/dir/log >"$tmp/out" 2>&1; st=$?
[ $st = 2 ] && grep -q -- "--debugcon /nonexistent/dir/log" "$tmp/out" && pass "debugcon/unwritable-file-is-bad-input" ||
	fail "debugcon/unwritable-file-is-bad-input: status $st"
timeout 60 "${RUN[@]}" --post-codes >"$tmp/out" 2>&1
[ "$(grep -o 'POST code 0x[0-9a-f]*' "$tmp/out" | tr '\n' ' ')" = "POST code 0x11 POST code 0x22 POST code 0x33 " ] &&
	pass "post-codes/printed-as-they-come" || fail "post-codes/printed-as-they-come: $(grep POST "$tmp/out" | tr '\n' ' ')"
timeout 60 "${RUN[@]}" --stats >"$tmp/out" 2>&1
grep -q "POST codes: 3 written, last 0x33; the last 3 in order: 11 22 33" "$tmp/out" &&
	pass "post-codes/in-stats" || fail "post-codes/in-stats: $(grep POST "$tmp/out")"

# --bios: a ROM at the reset vector (emu). Debian's SeaBIOS, the package
# QEMU uses, runs to its banner on the debug console, finds fw_cfg and its
# e820 map, and looks for a boot device (there is none: it keeps trying).
BIOS=/usr/share/seabios/bios.bin
head -c 65536 /dev/zero >"$tmp/rom64k"
timeout 60 "$P" run --bios "$tmp/rom64k" -k "$tmp/fw.bin" >"$tmp/out" 2>&1; st=$?
[ $st = 2 ] && grep -q -- "--bios starts the firmware" "$tmp/out" && pass "bios/with-a-kernel-is-bad-input" ||
	fail "bios/with-a-kernel-is-bad-input: status $st"
head -c 1000 /dev/zero >"$tmp/rom-odd"
timeout 60 "$P" run --bios "$tmp/rom-odd" >"$tmp/out" 2>&1; st=$?
[ $st = 2 ] && grep -q "is not a ROM image" "$tmp/out" && pass "bios/odd-size-is-bad-input" ||
	fail "bios/odd-size-is-bad-input: status $st"
timeout 60 "$P" run --engine kvm --bios "$tmp/rom64k" >"$tmp/out" 2>&1; st=$?
[ $st = 2 ] && grep -q "runs on the emu engine" "$tmp/out" && pass "bios/other-engines-refused-clearly" ||
	fail "bios/other-engines-refused-clearly: status $st"
# A ROM drops writes: 64 KiB whose reset vector jumps to code that writes
# 0x55 over the ROM's first byte (0xaa) through CS and reads it back:
# debug-exit 0x10 (status 33) when it still reads 0xaa, 0x11 (35) if not.
python3 - "$tmp/rom-write" <<'PY'
import sys
rom = bytearray(65536)
rom[0] = 0xaa
code = bytes([0x2e, 0xc6, 0x06, 0x00, 0x00, 0x55, 0x2e, 0xa0, 0x00, 0x00, 0x3c, 0xaa, 0x75, 0x05,
              0xb0, 0x10, 0xe6, 0xf4, 0xf4, 0xb0, 0x11, 0xe6, 0xf4, 0xf4])
rom[0x100:0x100 + len(code)] = code
rom[0xfff0:0xfff3] = bytes([0xe9, 0x0d, 0x01])   # jmp 0x100 (IP wraps at 64 KiB)
open(sys.argv[1], "wb").write(rom)
PY
timeout 60 "$P" run --bios "$tmp/rom-write" >"$tmp/out" 2>&1; st=$?
[ $st = 33 ] && pass "bios/rom-drops-writes" || fail "bios/rom-drops-writes: status $st (35: the write landed)"
if [ -r "$BIOS" ]; then
	# it never ends by itself: stop it once it looks for a boot device
	"$P" run --bios "$BIOS" --debugcon "$tmp/seabios" </dev/null >"$tmp/out" 2>&1 &
	pid=$!
	for n in $(seq 120); do grep -qF "Booting from" "$tmp/seabios" 2>/dev/null && break; sleep 0.5; done
	kill -TERM $pid 2>/dev/null
	wait $pid
	for want in "SeaBIOS (version" "Found QEMU fw_cfg" "QEMU fw_cfg DMA interface supported" \
		"qemu/e820: addr 0x0000000000100000" "Booting from"; do
		grep -qF "$want" "$tmp/seabios" && pass "bios/seabios: $want" ||
			fail "bios/seabios: no '$want' on the debug console: $(head -n 3 "$tmp/seabios" | tr '\n' ' ')"
	done
else
	skip "bios/seabios: no $BIOS (Debian's seabios package)"
fi
finish
