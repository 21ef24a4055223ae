# Shared by the shell tests in tests/guest: the test protocol and the
# places where the build leaves things. Source it; do not run it.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
POPEK=${POPEK:-$ROOT/build/popek}
POPEK_SAN=$ROOT/build/san/popek
GUESTS=$ROOT/build/guests
failures=0

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
skip() { echo "SKIP $*"; }

# True when /dev/kvm can be opened read-write by this user; sets KVM_WHY.
have_kvm() {
	if [ ! -e /dev/kvm ]; then KVM_WHY="no /dev/kvm on this host"; return 1; fi
	if ! { exec 9<>/dev/kvm; } 2>/dev/null; then KVM_WHY="/dev/kvm cannot be opened by $(id -un)"; return 1; fi
	exec 9>&-
	return 0
}

# expect_status NAME WANT CMD...: runs CMD (60 s at most) and checks its status.
expect_status() {
	local name=$1 want=$2; shift 2
	local got
	timeout 60 "$@" >/tmp/popek-test.$$ 2>&1; got=$?
	if [ "$got" = "$want" ]; then pass "$name"; else fail "$name: expected status $want got $got: $(tail -n 3 /tmp/popek-test.$$ | tr '\n' ' ')"; fi
	rm -f /tmp/popek-test.$$
}

finish() { exit $((failures > 0)); }
