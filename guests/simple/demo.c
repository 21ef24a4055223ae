/* The demo guest `make run` boots: who am I running on (CPUID vendor, brand
 * string, hypervisor leaf), a visible count, then debug-exit 0. */
#include "guest.h"
#include "io.h"
#include "serial.h"

static void print_regs_as_text(const uint32_t *r, int n)
{
	for (int i = 0; i < n; i++)
		for (int b = 0; b < 4; b++) {
			char c = (char)(r[i] >> (8 * b));
			if (c)
				serial_putc(c);
		}
}

void guest_main(void)
{
	uint32_t r[4], v[3];
	kprintf("popek demo guest\n");
	cpuid(0, 0, r);
	/* The vendor string is EBX, EDX, ECX in that order. */
	v[0] = r[1]; v[1] = r[3]; v[2] = r[2];
	kprintf("cpu vendor: ");
	print_regs_as_text(v, 3);
	kprintf(" (max leaf %#x)\n", r[0]);
	cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000004) {
		kprintf("cpu brand:  ");
		for (uint32_t leaf = 0x80000002; leaf <= 0x80000004; leaf++) {
			cpuid(leaf, 0, r);
			print_regs_as_text(r, 4);
		}
		kprintf("\n");
	}
	cpuid(1, 0, r);
	/* CPUID.1:ECX bit 31 says a hypervisor is present; leaf 0x40000000
	 * then names it in EBX, ECX, EDX. */
	if (r[2] & (1u << 31)) {
		cpuid(0x40000000, 0, r);
		v[0] = r[1]; v[1] = r[2]; v[2] = r[3];
		kprintf("hypervisor: ");
		print_regs_as_text(v, 3);
		kprintf(" (max leaf %#x)\n", r[0]);
	} else {
		kprintf("hypervisor: none reported\n");
	}
	kprintf("counting:");
	for (int i = 1; i <= 10; i++)
		kprintf(" %d", i);
	kprintf("\ndemo done\n");
	debug_exit(0);
}
