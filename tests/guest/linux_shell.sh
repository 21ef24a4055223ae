#!/usr/bin/env bash
# An interactive shell on the reference Linux guest (issue 5): booted with
# popek.shell, /init starts busybox sh on the serial console. popek's stdin
# is a FIFO the test writes to: once the prompt shows, it types
# `echo hello-$((6*7))` and expects the guest's shell to print hello-42 (the
# typed line echoed back shows only the expression), then `poweroff -f`,
# which ends popek with status 0.
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/linux_guest.sh"
linux_ready "linux shell" || finish
tmp=$(mktemp -d)
pid=""
# On an early exit, popek must not outlive the test: $pid is the subshell
# running boot_linux, its child the timeout that runs popek.
trap '[ -n "$pid" ] && { pkill -TERM -P "$pid"; kill "$pid"; } 2>/dev/null; rm -rf "$tmp"' EXIT
out=$tmp/out
mkfifo "$tmp/in"
# Read-write, so neither side blocks opening it and popek never sees EOF
# while the test is still to type.
exec 3<>"$tmp/in"
: >"$out"
boot_linux "$out" 1 popek.shell <&3 &
pid=$!
name="linux shell ($LINUX_ENGINE)"

# wait_for PATTERN SECONDS: true once OUT has a line matching PATTERN (ERE).
wait_for() {
	local deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		grep -qE "$1" "$out" && return 0
		kill -0 "$pid" 2>/dev/null || { grep -qE "$1" "$out"; return; }
		sleep 0.5
	done
	return 1
}

if ! wait_for 'popek.shell: starting a shell' "$LINUX_LIMIT" || ! wait_for '^/ # ' 60; then
	fail "$name: no shell prompt; last lines: $(last_lines "$out")"
	finish
fi
pass "$name: the shell prompts on the console"
printf 'echo hello-$((6*7))\n' >&3
if wait_for '^hello-42' 120; then
	pass "$name: a typed command runs (hello-42)"
else
	fail "$name: no hello-42 after typing; last lines: $(last_lines "$out")"
fi
printf 'poweroff -f\n' >&3
wait "$pid"
status=$?
pid=""
[ "$status" = 0 ] && grep -q 'reboot: Power down' "$out" && pass "$name: poweroff -f from the shell, status 0" ||
	fail "$name: ended with status $status (124 = timeout after $LINUX_LIMIT s); last lines: $(last_lines "$out")"
finish
