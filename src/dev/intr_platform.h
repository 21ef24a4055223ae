/* popek's own PC interrupt platform for engines with no interrupt
 * controller of their own: the 8259A pair, the 8254 PIT with port 0x61,
 * the I/O APIC and one local APIC per vCPU, joined as on a PC and
 * registered as the machine's struct intr_platform (intr.h).
 *
 * Wiring: every ISA line reaches both the PIC (IRQ 0-15, 2 being the
 * cascade) and I/O APIC pin i; PIT channel 0 drives IRQ 0 through
 * vm_irq_line; the PIC's INT reaches a CPU whose local APIC is
 * hardware-disabled or has LINT0 as an unmasked ExtINT (the BSP at power-on).
 *
 * Time: vm_now_ns() drives the PIT and the APIC timers (1 GHz bus clock).
 * The TSC that IA32_TSC_DEADLINE compares with is, by default, vm_now_ns()
 * too: a 1 GHz TSC, which the engine's RDTSC must agree with.
 *
 * wait_for_sipi: true while the vCPU must not run (after INIT, until the
 * start-up IPI); once the SIPI came it returns false once with *vector set
 * (the engine starts the CPU at vector << 12, CS = vector << 8, IP = 0),
 * afterwards false with *vector = -1. APs start out waiting. */
#ifndef POPEK_DEV_INTR_PLATFORM_H
#define POPEK_DEV_INTR_PLATFORM_H

#include <stdint.h>

#include "dev/device.h"

struct vm;
struct lapic;

extern struct device_desc intr_platform_device;

/* For tests: replace the clock (nanoseconds) and the TSC source. */
void intr_platform_set_clock(struct vm *vm, uint64_t (*now_ns)(void *opaque),
			     uint64_t (*tsc)(void *opaque), void *opaque);
/* For tests: the local APIC of vCPU cpu, NULL without the platform. */
struct lapic *intr_platform_lapic(struct vm *vm, int cpu);

#endif
