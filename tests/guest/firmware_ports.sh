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
finish
