/* Five HLTs, each woken by the PIT's IRQ 0 through the 8259 PIC, then
 * debug-exit 0. With IF=1 and a timer running every HLT ends, on hardware
 * and on every engine; whether an engine reports the HLT as an exit to user
 * space is the engine's business (KVM with an in-kernel irqchip does not). */
#include "guest.h"
#include "io.h"
#include "serial.h"
#include "trap.h"

static volatile unsigned ticks;

static void on_timer(struct trap_frame *f)
{
	(void)f;
	ticks++;
	outb(0x20, 0x20);	/* non-specific EOI to the master PIC */
}

void guest_main(void)
{
	trap_init();
	pic_remap(0x20, 0x28);
	trap_set_handler(0x20, on_timer);
	pit_periodic(100);
	outb(0x21, 0xfe);	/* unmask IRQ 0 only */
	for (int i = 0; i < 5; i++)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	kprintf("halt: 5 HLTs woken, %u timer ticks\n", ticks);
	debug_exit(0);
}
