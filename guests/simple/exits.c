/* A guest that causes a known number of VM exits of each kind, for
 * `popek --stats`: 100 OUTs to port 0x510, 50 INs from port 0x511, 30 MMIO
 * writes and 20 MMIO reads at 0xd1000000 (no RAM there), then one OUT to
 * the debug-exit port 0xf4. It prints nothing, so no serial exits mix in.
 * It does no HLT: with an in-kernel irqchip KVM completes HLT in the kernel
 * and never reports it, and HLT with IF=0 would halt forever on hardware;
 * halt.elf counts HLTs separately. */
#include "guest.h"
#include "io.h"

#define MMIO_BASE 0xd1000000u

void guest_main(void)
{
	volatile uint32_t *mmio = (volatile uint32_t *)(uintptr_t)MMIO_BASE;
	uint32_t sink = 0;
	for (int i = 0; i < 100; i++)
		outb(0x510, (uint8_t)i);
	for (int i = 0; i < 50; i++)
		sink += inb(0x511);
	for (int i = 0; i < 30; i++)
		mmio[i] = (uint32_t)i;
	for (int i = 0; i < 20; i++)
		sink += mmio[i];
	(void)sink;
	debug_exit(0);
}
