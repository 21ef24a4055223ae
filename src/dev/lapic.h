/* A local APIC (xAPIC and x2APIC), as the SDM's APIC chapter describes it,
 * with no tie to a machine: registers by offset (the xAPIC page) or by MSR,
 * interrupts arrive as APIC messages (apic_bus.h) through lapic_accept, and
 * the CPU side is lapic_pending / lapic_ack / the NMI, ExtINT and
 * INIT/SIPI flags. What the APIC sends (IPIs from the ICR, EOIs of
 * level-triggered vectors) goes to callbacks. No locking: the caller
 * serializes.
 *
 * The timer counts a bus clock of LAPIC_BUS_HZ (1 GHz, so one tick per
 * nanosecond before the divide configuration); TSC-deadline mode compares
 * with the tsc() callback. Both are read from the clock callbacks whenever
 * lapic_poll_timer or the current-count register asks: nothing ticks. */
#ifndef POPEK_DEV_LAPIC_H
#define POPEK_DEV_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/apic_bus.h"
#include "dev/device.h"

#define LAPIC_BUS_HZ      1000000000ull
#define LAPIC_VERSION     0x00050014u   /* integrated APIC, max LVT entry 5 */
#define LAPIC_MMIO_SIZE   0x1000

#define MSR_APIC_BASE     0x1b
#define MSR_TSC_DEADLINE  0x6e0
#define MSR_X2APIC_FIRST  0x800
#define MSR_X2APIC_LAST   0x8ff

#define APIC_BASE_BSP     (1ull << 8)
#define APIC_BASE_EXTD    (1ull << 10)
#define APIC_BASE_ENABLE  (1ull << 11)

/* Register offsets in the xAPIC page (x2APIC MSR = 0x800 + offset / 16). */
enum lapic_reg {
	LAPIC_ID = 0x020, LAPIC_VER = 0x030, LAPIC_TPR = 0x080, LAPIC_APR = 0x090,
	LAPIC_PPR = 0x0a0, LAPIC_EOI = 0x0b0, LAPIC_RRD = 0x0c0, LAPIC_LDR = 0x0d0,
	LAPIC_DFR = 0x0e0, LAPIC_SVR = 0x0f0, LAPIC_ISR = 0x100, LAPIC_TMR = 0x180,
	LAPIC_IRR = 0x200, LAPIC_ESR = 0x280, LAPIC_ICR_LO = 0x300, LAPIC_ICR_HI = 0x310,
	LAPIC_LVT_TIMER = 0x320, LAPIC_LVT_THERMAL = 0x330, LAPIC_LVT_PERF = 0x340,
	LAPIC_LVT_LINT0 = 0x350, LAPIC_LVT_LINT1 = 0x360, LAPIC_LVT_ERROR = 0x370,
	LAPIC_TIMER_INIT = 0x380, LAPIC_TIMER_CUR = 0x390, LAPIC_TIMER_DIV = 0x3e0,
	LAPIC_SELF_IPI = 0x3f0,   /* x2APIC only */
};

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LAPIC_NLVT };

#define LVT_MASKED        (1u << 16)
#define LVT_DM_SHIFT      8
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_TIMER_DEADLINE (2u << 17)
#define LVT_TIMER_MODE    (3u << 17)
#define SVR_ENABLE        (1u << 8)

#define ESR_SEND_ILLEGAL  (1u << 5)
#define ESR_RECV_ILLEGAL  (1u << 6)

struct lapic_env {
	uint64_t (*now_ns)(void *opaque);
	uint64_t (*tsc)(void *opaque);
	void (*send)(void *opaque, const struct apic_msg *m);    /* ICR, self IPI */
	void (*eoi)(void *opaque, uint8_t vector);               /* level EOI broadcast */
	void *opaque;
};

struct lapic {
	int index;              /* the vCPU, the source of its IPIs */
	uint32_t id;            /* initial APIC ID; xAPIC shows bits 7..0 in 31..24 */
	uint64_t base;          /* IA32_APIC_BASE */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending;
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LAPIC_NLVT];
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t timer_initial, timer_div;
	uint64_t timer_start_ns;
	uint64_t timer_periods;  /* periods already signalled */
	bool timer_armed;
	uint64_t tsc_deadline;
	bool nmi;               /* NMI waiting for the CPU */
	bool extint;            /* an ExtINT message: the CPU must INTA the PIC */
	bool wait_sipi;         /* after INIT: the CPU waits for a start-up IPI */
	int sipi_vector;        /* -1 until the start-up IPI arrives */
	struct lapic_env env;
};

/* Power-on state, with what firmware leaves behind: the BSP's LINT0 set to
 * ExtINT and LINT1 to NMI (virtual-wire mode), APs waiting for a SIPI. */
void lapic_init(struct lapic *l, int index, uint32_t id, bool bsp, const struct lapic_env *env);

bool lapic_hw_enabled(const struct lapic *l);
bool lapic_x2apic(const struct lapic *l);

/* The xAPIC page: 32-bit registers at 16-byte offsets. Reserved offsets
 * read 0; while the APIC is in x2APIC mode or disabled the page reads 0. */
uint32_t lapic_read(struct lapic *l, unsigned off);
void lapic_write(struct lapic *l, unsigned off, uint32_t val);
/* IA32_APIC_BASE, IA32_TSC_DEADLINE and x2APIC MSRs: 0, or -1 (#GP). */
int lapic_rdmsr(struct lapic *l, uint32_t msr, uint64_t *val);
int lapic_wrmsr(struct lapic *l, uint32_t msr, uint64_t val);

/* Does a message with this destination address this APIC? (Shorthands are
 * the sender's business.) */
bool lapic_matches(const struct lapic *l, uint32_t dest, bool logical);
/* A message arrives: fixed and lowest-priority go to the IRR, NMI, ExtINT,
 * INIT and SIPI to their flags. */
void lapic_accept(struct lapic *l, const struct apic_msg *m);

/* The highest IRR vector above the processor priority, -1 if none. */
int lapic_pending(const struct lapic *l);
/* INTA: that vector moves to the ISR; with none, the spurious vector. */
int lapic_ack(struct lapic *l);
/* The processor priority (PPR), as the SDM defines it. */
uint32_t lapic_ppr(const struct lapic *l);
/* Whether the PIC's INT reaches this CPU: the APIC is hardware-disabled, or
 * LINT0 is an unmasked ExtINT (virtual-wire mode). */
bool lapic_accepts_pic(const struct lapic *l);

/* Fires the timer if it expired since the last call; true when that put
 * an interrupt in the IRR. */
bool lapic_poll_timer(struct lapic *l);
/* When the timer expires next, in the clock's nanoseconds; UINT64_MAX if
 * it is not armed or masked. */
uint64_t lapic_next_timer_ns(const struct lapic *l);

#endif
