#!/usr/bin/env bash
# Files that are not kernels, and stop signals at any moment (issue 15,
# items 1 and 6), on the sanitizer build and emu: a FIFO or a /proc file is
# refused at once (status 2) instead of hanging or being called empty;
# SIGINT/SIGTERM/SIGHUP end popek promptly with 128 + N whether the guest
# runs or popek is still loading it; Ctrl-A x has a status of its own.
. "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
P=$POPEK_SAN
[ -x "$P" ] || P=$POPEK
G=$GUESTS

mkfifo "$tmp/fifo"
timeout 20 "$P" run --engine emu -k "$tmp/fifo" >"$tmp/out" 2>&1; st=$?
[ $st = 2 ] && grep -q "kernel '.*fifo': is not a regular file" "$tmp/out" && pass "files/fifo-kernel-refused" ||
	fail "files/fifo-kernel-refused: status $st (124: it hung): $(head -n 2 "$tmp/out")"
timeout 20 "$P" run --engine emu -k "$G/hello.elf" -i "$tmp/fifo" >"$tmp/out" 2>&1; st=$?
[ $st = 2 ] && grep -q "initrd '.*fifo': is not a regular file" "$tmp/out" && pass "files/fifo-initrd-refused" ||
	fail "files/fifo-initrd-refused: status $st (124: it hung): $(head -n 2 "$tmp/out")"
timeout 20 "$P" run --engine emu -k /proc/self/status >"$tmp/out" 2>&1; st=$?
[ $st = 2 ] && grep -q "is a /proc or /sys file" "$tmp/out" && pass "files/proc-file-not-called-empty" ||
	fail "files/proc-file-not-called-empty: status $st: $(head -n 2 "$tmp/out")"
: >"$tmp/empty"
timeout 20 "$P" run --engine emu -k "$tmp/empty" >"$tmp/out" 2>&1; st=$?
[ $st = 2 ] && grep -q "is empty" "$tmp/out" && pass "files/empty-kernel-refused" ||
	fail "files/empty-kernel-refused: status $st: $(head -n 2 "$tmp/out")"

# stop_after NAME SIGNAL DELAY CMD...: sends SIGNAL after DELAY seconds and
# wants 128 + N within 10 s of it, with the stop named on stderr.
stop_after() {
	local name=$1 sig=$2 delay=$3; shift 3
	"$@" >"$tmp/out" 2>&1 </dev/null &
	local pid=$! n st
	sleep "$delay"
	kill -s "$sig" "$pid" 2>/dev/null
	for n in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"; wait "$pid" 2>/dev/null
		fail "$name: still running 10 s after SIG$sig"
		return
	fi
	wait "$pid"; st=$?
	local want=$((128 + $(kill -l "$sig")))
	# a signal before main() (the sanitizer runtime starts slowly) kills by
	# default: no line
	[ $st = $want ] && { grep -qE "stopped by signal (SIG)?$sig" "$tmp/out" ||
		{ [ "${delay#0.0}" != "$delay" -o "$delay" = 0 ] && [ ! -s "$tmp/out" ]; }; } && pass "$name" ||
		fail "$name: status $st (want $want): $(tail -n 2 "$tmp/out" | tr '\n' ' ')"
}
printf '\xeb\xfe' >"$tmp/spin.bin"   # jmp $: runs until stopped
SPIN=("$P" run --engine emu -k "$tmp/spin.bin" --load 0x7c00)
for d in 0 0.02 0.3 1; do stop_after "signals/term-after-${d}s" TERM "$d" "${SPIN[@]}"; done
stop_after "signals/int-stops-a-spinning-guest" INT 0.3 "${SPIN[@]}"
stop_after "signals/hup-stops-a-spinning-guest" HUP 0.3 "${SPIN[@]}"
# While popek reads a large initrd (1 GiB of zeros, seconds on the
# sanitizer build), not only once the guest runs.
truncate -s 1G "$tmp/big"
stop_after "signals/term-while-loading-an-initrd" TERM 0.05 \
	"$P" run --engine emu -m 2G -k "$G/halt.elf" -i "$tmp/big"
grep -q "before the guest started" "$tmp/out" && pass "signals/stop-before-the-guest-said-so" ||
	skip "signals/stop-before-the-guest-said-so: the load finished before the signal came"

# Ctrl-A x: status 14, not a power-off's 0.
printf '\001x' | timeout 30 "$P" run --engine emu -k "$tmp/spin.bin" --load 0x7c00 >"$tmp/q" 2>&1; st=$?
[ $st = 14 ] && grep -q "quit by Ctrl-A x" "$tmp/q" && pass "console/ctrl-a-x-status-14" ||
	fail "console/ctrl-a-x-status-14: status $st: $(tail -n 2 "$tmp/q")"
finish
