#include "trap.h"
#include "desc.h"
#include "guest.h"
#include "io.h"
#include "serial.h"

volatile struct trap_info trap_last = { .vector = TRAP_NONE };
volatile uint32_t trap_armed, trap_resume, trap_insn;
uint64_t idt[256] __attribute__((aligned(16)));
static trap_handler handlers[256];
extern char trap_stubs[], ring_exit_entry[];

uint32_t trap_stub_address(unsigned vector)
{
	return (uint32_t)(uintptr_t)trap_stubs + 16 * vector;
}

uint64_t idt_default_gate(unsigned vector, unsigned dpl)
{
	return gate_desc(SEL_KCODE32, trap_stub_address(vector), SYS_INTGATE32, dpl, 0);
}

void idt_set(unsigned vector, uint64_t gate)
{
	idt[vector] = gate;
}

void trap_set_handler(unsigned vector, trap_handler h)
{
	handlers[vector] = h;
}

void trap_init(void)
{
	static struct dtr32 idtr;
	for (unsigned v = 0; v < 256; v++)
		/* #BP and #OF reachable from ring 3 as INT3/INTO, as OSes do. */
		idt[v] = idt_default_gate(v, v == 3 || v == 4 ? 3 : 0);
	idt[RING_EXIT_VECTOR] = gate_desc(SEL_KCODE32, (uint32_t)(uintptr_t)ring_exit_entry,
					  SYS_INTGATE32, 3, 0);
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint32_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(idtr));
	tss_init();
}

void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
	uint32_t cr2 = f->vector == 14 ? (uint32_t)read_cr2() : 0;
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	if (trap_armed) {
		trap_last.error = f->error;
		trap_last.eip = f->eip;
		trap_last.cs = f->cs;
		trap_last.eflags = f->eflags;
		trap_last.esp = (f->cs & 3) ? f->esp : 0;
		trap_last.ss = (f->cs & 3) ? f->ss : 0;
		trap_last.cr2 = cr2;
		trap_last.count++;
		trap_last.vector = f->vector;
		trap_armed = 0;
		f->eip = trap_resume;
		/* A trap taken while single-stepping must not step the resume path. */
		f->eflags &= ~0x100u;
		return;
	}
	report_counts->failed++;
	kprintf("FAIL unexpected_exception: vector %u error %#x eip %#x cs %#x eflags %#x cr2 %#x\n",
		f->vector, f->error, f->eip, f->cs, f->eflags, cr2);
	report_finish();
}

void pic_remap(unsigned master_base, unsigned slave_base)
{
	/* ICW1-4 (8259A data sheet): edge triggered, cascade on IRQ 2, 8086 mode. */
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, (uint8_t)master_base);
	outb(0xa1, (uint8_t)slave_base);
	outb(0x21, 0x04);
	outb(0xa1, 0x02);
	outb(0x21, 0x01);
	outb(0xa1, 0x01);
	outb(0x21, 0xff);	/* everything masked until a guest unmasks it */
	outb(0xa1, 0xff);
}

void pit_periodic(unsigned hz)
{
	unsigned div = 1193182 / hz;
	outb(0x43, 0x34);	/* channel 0, lobyte/hibyte, mode 2 (rate generator) */
	outb(0x40, (uint8_t)div);
	outb(0x40, (uint8_t)(div >> 8));
}
