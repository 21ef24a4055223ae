/* What a guest can see of time: TSC readings around HLTs woken by the
 * PIT, the PIT's own count and the RTC's seconds, printed so that two
 * runs can be compared. Under --deterministic every number is a function
 * of the instructions executed, so two runs print the same lines; in real
 * time they differ, but the TSC still only moves forward. */
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

static unsigned pit_count0(void)
{
	outb(0x43, 0x00);	/* latch channel 0 */
	unsigned lo = inb(0x40);
	return lo | (unsigned)inb(0x40) << 8;
}

static unsigned rtc_seconds(void)
{
	outb(0x70, 0x00);
	return inb(0x71);
}

void guest_main(void)
{
	trap_init();
	pic_remap(0x20, 0x28);
	trap_set_handler(0x20, on_timer);
	pit_periodic(1000);
	outb(0x21, 0xfe);	/* unmask IRQ 0 only */
	uint64_t first = rdtsc(), last = first;
	int backwards = 0;
	for (int i = 0; i < 8; i++) {
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		uint64_t t = rdtsc();
		backwards |= t < last;
		last = t;
		kprintf("timing: hlt %d tsc+%llu ticks %u pit %u\n", i,
			(unsigned long long)(t - first), ticks, pit_count0());
	}
	/* a busy wait for ten ticks, as a calibration loop would do */
	unsigned until = ticks + 10;
	unsigned long long spins = 0;
	__asm__ volatile("sti" ::: "memory");
	while (ticks < until)
		spins++;
	__asm__ volatile("cli" ::: "memory");
	kprintf("timing: busy wait %llu spins tsc+%llu rtc-sec %u\n", spins,
		(unsigned long long)(rdtsc() - first), rtc_seconds());
	kprintf("timing: tsc %s\n", backwards ? "went backwards" : "monotonic");
	debug_exit(0);
}
