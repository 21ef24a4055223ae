# Shared by the guest tests that boot the reference Linux guest
# (scripts/reference-guest). Source it after lib.sh; do not run it.
#
# Stock Linux needs an engine that boots it in reasonable time: KVM on a CPU
# showing vmx or svm, else the emulator. A /dev/kvm without either flag
# underneath is a nested software hypervisor that stalls stock Linux, so KVM
# is not used there.

# linux_engines: sets LINUX_ENGINES, the engines that boot the guest here:
# emu whenever popek has it, kvm where the CPU has VT-x/AMD-V and /dev/kvm
# opens (LINUX_KVM_WHY says why not); LINUX_ENGINE is the first of them.
# Returns 1 with the reason in LINUX_WHY when there is none.
linux_engines() {
	local engines
	engines=$("$POPEK" engines 2>/dev/null)
	LINUX_ENGINES=""
	grep -qx emu <<<"$engines" && LINUX_ENGINES="emu"
	if ! grep -qx kvm <<<"$engines" || ! have_kvm; then
		LINUX_KVM_WHY=${KVM_WHY:-popek lists no kvm engine}
	elif ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
		LINUX_KVM_WHY="/dev/kvm here has no VT-x/AMD-V underneath (no vmx/svm CPU flag: a nested software hypervisor that stalls stock Linux)"
	else
		LINUX_ENGINES="$LINUX_ENGINES kvm"
		LINUX_KVM_WHY=""
	fi
	LINUX_ENGINES=${LINUX_ENGINES# }
	if [ -z "$LINUX_ENGINES" ]; then
		LINUX_WHY="$LINUX_KVM_WHY, and popek has no emu engine"
		return 1
	fi
	linux_use "${LINUX_ENGINES%% *}"
}

# linux_use ENGINE: LINUX_ENGINE, LINUX_LIMIT (seconds one boot may take,
# generous for a slow or busy host) and LINUX_OPTS (--deterministic on emu,
# so a boot prints the same thing whatever the host's speed).
linux_use() {
	LINUX_ENGINE=$1
	if [ "$1" = emu ]; then
		LINUX_LIMIT=400 LINUX_OPTS=(--deterministic)
	else
		LINUX_LIMIT=120 LINUX_OPTS=()
	fi
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
	if ! linux_engines; then
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

# guest_lines FILE: the guest's console with popek's boot-timer line taken
# out. popek prints it when the guest pokes the timer, which can be while
# the guest's serial driver is still draining the line before (echo returns
# before the UART has sent it all), so it may land mid-line.
guest_lines() { perl -0pe 's/popek: guest boot done in [0-9.]+ ms \(since popek started\)\n?//g' "$1"; }
