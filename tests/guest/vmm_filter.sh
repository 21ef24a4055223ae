#!/usr/bin/env bash
# popek's own seccomp filter (issue 15, item 8): on by default for every
# run — so every other test runs under it — it kills popek at a system call
# the run never makes (the test hook makes an execve after the filter is
# in), and --no-seccomp leaves it off. On the sanitizer and the plain build.
. "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
G=$GUESTS
for P in "$POPEK" "$POPEK_SAN"; do
	b=$([ "$P" = "$POPEK_SAN" ] && echo san || echo plain)
	[ -x "$P" ] || { skip "filter ($b): no $P"; continue; }
	POPEK_TEST_FORBIDDEN_CALL=1 timeout 60 "$P" run --engine emu -k "$G/hello.elf" >"$tmp/out" 2>&1; st=$?
	# 159 = 128 + SIGSYS: the kernel killed the process; the hook never
	# got to say that execve returned
	[ $st = 159 ] && ! grep -q "execve returned" "$tmp/out" && pass "filter ($b): a forbidden system call kills popek" ||
		fail "filter ($b): forbidden execve: status $st: $(tail -n 2 "$tmp/out" | tr '\n' ' ')"
	POPEK_TEST_FORBIDDEN_CALL=1 timeout 60 "$P" run --no-seccomp --engine emu -k "$G/hello.elf" >"$tmp/out" 2>&1; st=$?
	[ $st = 1 ] && grep -q "execve returned -1" "$tmp/out" && grep -q "hello from popek guest" "$tmp/out" &&
		pass "filter ($b): --no-seccomp leaves it off" ||
		fail "filter ($b): --no-seccomp: status $st: $(tail -n 2 "$tmp/out" | tr '\n' ' ')"
	# sockets: only for --net user (libslirp)
	POPEK_TEST_FORBIDDEN_CALL=socket timeout 60 "$P" run --engine emu -k "$G/hello.elf" >"$tmp/out" 2>&1; st=$?
	[ $st = 159 ] && ! grep -q "socket returned" "$tmp/out" && pass "filter ($b): a socket without --net user kills popek" ||
		fail "filter ($b): socket without --net: status $st: $(tail -n 2 "$tmp/out" | tr '\n' ' ')"
	POPEK_TEST_FORBIDDEN_CALL=socket timeout 60 "$P" run --engine emu --net user -k "$G/hello.elf" >"$tmp/out" 2>&1; st=$?
	[ $st = 1 ] && grep -q "socket returned [0-9]" "$tmp/out" && pass "filter ($b): --net user may open sockets" ||
		fail "filter ($b): socket with --net user: status $st: $(tail -n 2 "$tmp/out" | tr '\n' ' ')"
	timeout 60 "$P" run --engine emu -c 2 -k "$G/hello.elf" --stats >"$tmp/out" 2>&1; st=$?
	[ $st = 1 ] && grep -q "hello from popek guest" "$tmp/out" && grep -q "exits by reason" "$tmp/out" &&
		pass "filter ($b): a two-vCPU run with --stats lives under the filter" ||
		fail "filter ($b): two-vCPU run: status $st: $(tail -n 2 "$tmp/out" | tr '\n' ' ')"
done
"$POPEK" --help | grep -q -- "--no-seccomp" && pass "filter: --help names --no-seccomp" ||
	fail "filter: --help does not name --no-seccomp"
finish
