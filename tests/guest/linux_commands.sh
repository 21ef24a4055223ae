#!/usr/bin/env bash
# The reference Linux guest at work (issue 5), booted with popek.test=commands
# on 1 and on 2 vCPUs (with --deterministic on emu): its /init runs `ls /`,
# `date`, `cat /proc/cpuinfo`, `dmesg` and a program that writes to address
# 0, then powers off. Checks, for each boot:
# - /init is reached, uname names the Debian kernel, the pvpanic driver
#   bound to popek's device (DSDT QEMU0001);
# - `ls /` lists the initramfs, `date` shows the year the kernel read from
#   the RTC, /proc/cpuinfo shows one "popek emulated x86-64 CPU" per vCPU;
# - the segfault is reported by the shell ("Segmentation fault", status 139)
#   and the guest goes on to power off with status 0;
# - dmesg holds the boot log, says how many CPUs were brought up, and
#   neither it nor the console shows a WARNING, Oops, BUG, Call Trace or panic.
# The two boots run side by side, on emu and, where the CPU has VT-x/AMD-V,
# on kvm too (a SKIP says why not).
source "$(dirname "$0")/../lib.sh"
source "$ROOT/tests/linux_guest.sh"
linux_ready "linux commands" || finish
[ -n "$LINUX_KVM_WHY" ] && skip "linux commands (kvm): $LINUX_KVM_WHY"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(sed 's/^linux-image-//' "$REF/kernel.stamp")

# section FILE FROM TO: the lines between two marker lines of /init.
section() { sed -n "/^$2\$/,/^$3\$/p" "$1"; }

check_boot() {
	local cpus=$1 out=$tmp/out$1 status name
	status=$(cat "$tmp/status$1")
	name="linux commands ($LINUX_ENGINE, -c $cpus)"
	if ! grep -q '^POPEK-REFERENCE-GUEST-UP' "$out"; then
		fail "$name: never reached /init (status $status); last lines: $(last_lines "$out")"
		return
	fi
	pass "$name: reaches /init"
	grep -q "^Linux .* $version .*x86_64" "$out" && pass "$name: uname shows $version" ||
		fail "$name: uname: $(grep -m1 '^Linux ' "$out")"
	guest_lines "$out" | grep -qx 'pvpanic-bound QEMU0001:00' && pass "$name: pvpanic-mmio bound to QEMU0001:00" ||
		fail "$name: pvpanic driver not bound: $(grep -m2 'pvpanic' "$out" | tr '\n' ' ')"

	local ls_out missing="" f
	ls_out=$(section "$out" '== ls \/' '== date')
	for f in bin dev init lib proc sbin sys tmp usr; do
		grep -qw "$f" <<<"$ls_out" || missing="$missing $f"
	done
	[ -z "$missing" ] && pass "$name: ls / lists the initramfs" || fail "$name: ls / lacks$missing"

	local date_line year rtc_year
	date_line=$(section "$out" '== date' '== cpuinfo' | grep -E '^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} UTC [0-9]{4}$')
	year=${date_line##* }
	rtc_year=$(sed -nE 's/.*rtc_cmos.*setting system clock to ([0-9]{4})-.*/\1/p' "$out" | head -n 1)
	if [ -n "$year" ] && [ "$year" -ge 2024 ] && [ "$year" -le 2100 ] && [ "$year" = "$rtc_year" ]; then
		pass "$name: date shows $year, the year read from the RTC"
	else
		fail "$name: date: '$date_line', RTC year '$rtc_year'"
	fi

	local cpuinfo n
	cpuinfo=$(section "$out" '== cpuinfo' '== dmesg begin')
	# emu's own CPU model; kvm shows the host's model, marked a guest
	local model=$'^model name\t: popek emulated x86-64 CPU$'
	[ "$LINUX_ENGINE" = kvm ] && model=$'^flags\t\t: .* hypervisor( |$)'
	n=$(grep -cE "$model" <<<"$cpuinfo")
	[ "$n" = "$cpus" ] && pass "$name: /proc/cpuinfo shows $cpus CPU(s) of the engine's model" ||
		fail "$name: /proc/cpuinfo has $n lines matching '$model', want $cpus"

	local dmesg bad
	dmesg=$(section "$out" '== dmesg begin' '== dmesg end')
	grep -q "Linux version $version" <<<"$dmesg" && pass "$name: dmesg holds the boot log" ||
		fail "$name: dmesg printed no 'Linux version' line ($(wc -l <<<"$dmesg") lines)"
	local want="smp: Brought up 1 node, $cpus CPU"
	[ "$cpus" -gt 1 ] && want="${want}s"
	grep -q "$want\$" <<<"$dmesg" && pass "$name: dmesg: $want" ||
		fail "$name: dmesg: no '$want': $(grep 'smp: Brought up' <<<"$dmesg")"
	# /init's own pvpanic lines name the driver; they are not a panic.
	bad=$(grep -E 'WARNING:|Oops|BUG:|Call Trace|(^|[^v])panic' "$out" | head -n 3)
	[ -z "$bad" ] && pass "$name: no WARNING, Oops, BUG, Call Trace or panic" ||
		fail "$name: the kernel complained: $(tr '\n' ' ' <<<"$bad")"

	local after
	after=$(sed -n '/^== segv$/,$p' "$out")
	if grep -q '^Segmentation fault$' <<<"$after" && grep -qx 'segv-survived status 139' <<<"$after"; then
		pass "$name: the shell reports the segfault and goes on"
	else
		fail "$name: no 'Segmentation fault' then 'segv-survived status 139': $(head -n 5 <<<"$after" | tr '\n' ' ')"
	fi
	if [ "$status" = 0 ] && grep -q 'reboot: Power down' <<<"$after"; then
		pass "$name: powers off with status 0"
	else
		fail "$name: ended with status $status (124 = timeout after $LINUX_LIMIT s); last lines: $(last_lines "$out")"
	fi
}

for engine in $LINUX_ENGINES; do
	linux_use "$engine"
	for cpus in 1 2; do
		( boot_linux "$tmp/out$cpus" "$cpus" popek.test=commands </dev/null; echo $? >"$tmp/status$cpus" ) &
	done
	wait
	check_boot 1
	check_boot 2
done
finish
