# Shared by the guest tests that boot the reference Linux guest
# (scripts/reference-guest). Source it after lib.sh; do not run it.
#
# Stock Linux needs an engine that boots it in reasonable time: KVM on a CPU
# showing vmx or svm, else the emulator. A /dev/kvm without either flag
# underneath is a nested software hypervisor that stalls stock Linux, so KVM
# is not used there.

# linux_engine: sets LINUX_ENGINE, LINUX_LIMIT (seconds one boot may take,
# generous for a slow or busy host) and LINUX_OPTS (--deterministic on emu,
# so a boot prints the same thing whatever the host's speed); or returns 1
# with the reason in LINUX_WHY.
linux_engine() {
	local engines
	engines=$("$POPEK" engines 2>/dev/null)
	if grep -qwE 'vmx|svm' /proc/cpuinfo && grep -qx kvm <<<"$engines" && have_kvm; then
		LINUX_ENGINE=kvm LINUX_LIMIT=120 LINUX_OPTS=()
		return 0
	fi
	if grep -qx emu <<<"$engines"; then
		LINUX_ENGINE=emu LINUX_LIMIT=400 LINUX_OPTS=(--deterministic)
		return 0
	fi
	if ! have_kvm; then
		LINUX_WHY="$KVM_WHY, and popek has no emu engine"
	else
		LINUX_WHY="/dev/kvm here has no VT-x/AMD-V underneath, and popek has no emu engine"
	fi
	return 1
}

# reference_guest: builds the reference guest (cheap when cached) and sets
# REF to its directory; or returns 1 with the reason in REF_WHY.
reference_guest() {
	local log
	log=$(mktemp)
	if ! "$ROOT/scripts/reference-guest" >/dev/null 2>"$log"; then
		REF_WHY="the reference guest could not be built ($(grep error: "$log" | tail -n 1))"
		rm -f "$log"
		return 1
	fi
	rm -f "$log"
	REF=$ROOT/cache/reference
}

# linux_ready NAME: both of the above, or SKIP NAME with the reason; the
# caller finishes when it returns 1.
linux_ready() {
	if [ ! -x "$POPEK" ]; then
		fail "$1: $POPEK is not built"
		return 1
	fi
	if ! linux_engine; then
		skip "$1: $LINUX_WHY"
		return 1
	fi
	if ! reference_guest; then
		skip "$1: $REF_WHY"
		return 1
	fi
}

# boot_linux OUT CPUS APPEND [POPEK OPTIONS...]: boots the reference vmlinux
# with console=ttyS0 APPEND on CPUS vCPUs; popek's stdin is the caller's,
# everything popek and the guest print goes into OUT, with the serial
# console's CR-LF line ends made plain LF once popek is done. Returns popek's
# status (124 when it ran out of LINUX_LIMIT).
boot_linux() {
	local out=$1 cpus=$2 append=$3 status
	shift 3
	timeout "$LINUX_LIMIT" "$POPEK" run --engine "$LINUX_ENGINE" "${LINUX_OPTS[@]}" -c "$cpus" \
		-m 256M -k "$REF/vmlinux" -i "$REF/initramfs.cpio.gz" -a "console=ttyS0 $append" "$@" \
		>"$out" 2>&1
	status=$?
	sed -i 's/\r$//' "$out"
	return $status
}

# last_lines FILE: its last three lines on one line, for a FAIL message.
last_lines() { tail -n 3 "$1" | tr '\n' ' '; }
