#!/usr/bin/env bash
# ACPI power-off and reset (boot/acpi.c, dev/acpi_pm.c), end to end:
# - on every engine usable here, a flat real-mode guest writes the FADT's
#   registers itself: SLP_TYP(S5)|SLP_EN on PM1a_CNT ends the run with
#   status 0, so does the reset value on the reset register, and SLP_EN with
#   another SLP_TYP leaves the machine running (the guest then ends through
#   debug-exit: status 3);
# - the reference Linux guest finds the tables (RSDP in the BIOS area, FADT,
#   DSDT, MADT), reports no ACPI error or warning, and `reboot -f` (booted
#   with popek.test=reboot; Linux tries the FADT reset register first) ends
#   popek with status 0. Its `poweroff -f` is checked by reference_guest.sh.
source "$(dirname "$0")/../lib.sh"

if [ ! -x "$POPEK" ]; then
	fail "acpi: $POPEK is not built"
	finish
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
engines=$("$POPEK" engines 2>/dev/null)

# The guests, byte by byte (loaded at 0x7c00, 16-bit code):
#   mov dx, PORT; mov ax, VALUE; out dx, ax    (or mov al / out dx, al)
#   mov al, 1; out 0xf4, al                    debug-exit: status 3
#   hlt; jmp $-1
tail_bytes='\xb0\x01\xe6\xf4\xf4\xeb\xfd'
printf "\xba\x04\x06\xb8\x00\x34\xef$tail_bytes" >"$tmp/s5.bin"      # 0x604 <- 5<<10 | SLP_EN
printf "\xba\x04\x06\xb8\x00\x20\xef$tail_bytes" >"$tmp/s0.bin"      # 0x604 <- 0<<10 | SLP_EN
printf "\xba\x0c\x06\xb0\x06\xee$tail_bytes" >"$tmp/reset.bin"       # 0x60c <- 0x06

for engine in kvm emu; do
	grep -qx "$engine" <<<"$engines" || { skip "acpi/$engine: popek lists no $engine engine"; continue; }
	if [ "$engine" = kvm ] && ! have_kvm; then skip "acpi/kvm: $KVM_WHY"; continue; fi
	expect_status "acpi/$engine: SLP_TYP S5 | SLP_EN powers off (status 0)" 0 \
		"$POPEK" run --engine "$engine" -k "$tmp/s5.bin" --load 0x7c00
	expect_status "acpi/$engine: the reset register resets (status 0)" 0 \
		"$POPEK" run --engine "$engine" -k "$tmp/reset.bin" --load 0x7c00
	expect_status "acpi/$engine: SLP_EN with another SLP_TYP keeps running" 3 \
		"$POPEK" run --engine "$engine" -k "$tmp/s0.bin" --load 0x7c00
done

# The Linux part needs an engine that boots stock Linux (tests/linux_guest.sh);
# popek.test=reboot makes the reference /init end in `reboot -f`.
source "$ROOT/tests/linux_guest.sh"
linux_ready "acpi/linux" || finish

out=$tmp/linux.log
boot_linux "$out" 1 popek.test=reboot </dev/null
status=$?
name="acpi/linux ($LINUX_ENGINE)"
expect_line() {
	if grep -qE "$2" "$out"; then pass "$name: $1"; else fail "$name: $1: no line matching '$2'"; fi
}
expect_line "RSDP found in the BIOS area" 'ACPI: RSDP 0x0+F2000 000024 \(v02 POPEK'
expect_line "FADT revision 6" 'ACPI: FACP 0x0+F2140 000114 \(v06'
expect_line "DSDT" 'ACPI: DSDT 0x0+F2280'
expect_line "MADT" 'ACPI: APIC 0x0+F3000'
expect_line "PM timer" 'ACPI: PM-Timer IO Port: 0x608'
expect_line "SCI override" 'ACPI: INT_SRC_OVR \(bus 0 bus_irq 9 global_irq 9 high level\)'
expect_line "CPUs from the MADT" 'ACPI: Using ACPI \(MADT\) for SMP configuration information'
expect_line "I/O APIC from the MADT" 'IOAPIC\[0\]: apic_id 1, version 17, address 0xfec00000, GSI 0-23'
expect_line "AML loaded" 'ACPI: 1 ACPI AML tables successfully acquired and loaded'
expect_line "S5 supported" 'ACPI: PM: \(supports S0 S5\)'
expect_line "reaches /init" '^POPEK-REFERENCE-GUEST-UP'
expect_line "restarts" 'reboot: Restarting system'
problems=$(grep -E 'ACPI (BIOS )?(Error|Warning)|ACPI: .*[Ff]ailed|ACPI: .*[Ii]nvalid' "$out" | head -n 3)
if [ -z "$problems" ]; then pass "$name: no ACPI error or warning"
else fail "$name: ACPI complained: $(tr '\n' ' ' <<<"$problems")"; fi
if [ "$status" = 0 ]; then pass "$name: reboot -f ends popek with status 0"
else fail "$name: reboot -f ended with status $status (124 = timeout after $LINUX_LIMIT s); last lines: $(last_lines "$out")"; fi
finish
