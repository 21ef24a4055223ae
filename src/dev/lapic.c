/* Local APIC core. See lapic.h; register layout, priorities and reset
 * values are those of the SDM, vol. 3, "Advanced Programmable Interrupt
 * Controller (APIC)". */
#include <string.h>

#include "dev/lapic.h"

#define ICR_VECTOR      0xffu
#define ICR_DM_SHIFT    8
#define ICR_LOGICAL     (1u << 11)
#define ICR_ASSERT      (1u << 14)
#define ICR_LEVEL       (1u << 15)
#define ICR_SH_SHIFT    18
#define ICR_WRITABLE    0x000ccfffu   /* delivery status and reserved bits read 0 */
#define SVR_WRITABLE    0x3ffu        /* vector, enable, focus; no EOI suppression */
#define DFR_FLAT        0xffffffffu
#define BASE_ADDR_MASK  0x000ffffffffff000ull

/* What each LVT keeps of a write: vector, delivery mode, polarity, trigger,
 * mask and (timer) mode, per entry. */
static const uint32_t lvt_writable[LAPIC_NLVT] = {
	[LVT_TIMER] = 0x000700ff, [LVT_THERMAL] = 0x000107ff, [LVT_PERF] = 0x000107ff,
	[LVT_LINT0] = 0x0001a7ff, [LVT_LINT1] = 0x0001a7ff, [LVT_ERROR] = 0x000100ff,
};

bool lapic_hw_enabled(const struct lapic *l)
{
	return l->base & APIC_BASE_ENABLE;
}

bool lapic_x2apic(const struct lapic *l)
{
	return (l->base & APIC_BASE_EXTD) && lapic_hw_enabled(l);
}

static bool sw_enabled(const struct lapic *l)
{
	return lapic_hw_enabled(l) && (l->svr & SVR_ENABLE);
}

/* --- 256-bit vector registers --- */

static void set_bit(uint32_t *reg, unsigned v)
{
	reg[v / 32] |= 1u << (v % 32);
}

static void clear_bit(uint32_t *reg, unsigned v)
{
	reg[v / 32] &= ~(1u << (v % 32));
}

static bool test_bit(const uint32_t *reg, unsigned v)
{
	return reg[v / 32] >> (v % 32) & 1;
}

static int highest_bit(const uint32_t *reg)
{
	for (int i = 7; i >= 0; i--)
		if (reg[i])
			return i * 32 + 31 - __builtin_clz(reg[i]);
	return -1;
}

/* --- priorities --- */

static unsigned priority_class(int vector)
{
	return vector < 0 ? 0 : (unsigned)vector & 0xf0;
}

uint32_t lapic_ppr(const struct lapic *l)
{
	unsigned isrv = priority_class(highest_bit(l->isr));
	return (l->tpr & 0xf0) >= isrv ? l->tpr & 0xff : isrv;
}

static uint32_t apr(const struct lapic *l)
{
	unsigned tpr = l->tpr & 0xf0, isrv = priority_class(highest_bit(l->isr));
	unsigned irrv = priority_class(highest_bit(l->irr));
	if (tpr >= irrv && tpr > isrv)
		return l->tpr & 0xff;
	unsigned m = tpr > isrv ? tpr : isrv;
	return m > irrv ? m : irrv;
}

int lapic_pending(const struct lapic *l)
{
	int v = highest_bit(l->irr);
	if (v < 0 || priority_class(v) <= (lapic_ppr(l) & 0xf0))
		return -1;
	return v;
}

int lapic_ack(struct lapic *l)
{
	int v = lapic_pending(l);
	if (v < 0)
		return (int)(l->svr & 0xff);  /* the spurious-interrupt vector */
	clear_bit(l->irr, (unsigned)v);
	set_bit(l->isr, (unsigned)v);
	return v;
}

bool lapic_accepts_pic(const struct lapic *l)
{
	uint32_t lint0 = l->lvt[LVT_LINT0];
	if (!lapic_hw_enabled(l))
		return true;
	return !(lint0 & LVT_MASKED) && (lint0 >> LVT_DM_SHIFT & 7) == APIC_DM_EXTINT;
}

/* --- reset --- */

/* The register state after power-up or INIT; the ID and IA32_APIC_BASE
 * survive INIT, so the callers keep them. */
static void reset_registers(struct lapic *l)
{
	l->tpr = 0;
	l->ldr = 0;
	l->dfr = DFR_FLAT;
	l->svr = 0xff;
	l->esr = l->esr_pending = 0;
	l->icr_lo = l->icr_hi = 0;
	for (unsigned i = 0; i < LAPIC_NLVT; i++)
		l->lvt[i] = LVT_MASKED;
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->isr, 0, sizeof(l->isr));
	memset(l->tmr, 0, sizeof(l->tmr));
	l->timer_initial = l->timer_div = 0;
	l->timer_armed = false;
	l->tsc_deadline = 0;
	l->nmi = l->extint = false;
	if (lapic_x2apic(l))
		l->ldr = (l->id >> 4) << 16 | 1u << (l->id & 15);
}

void lapic_init(struct lapic *l, int index, uint32_t id, bool bsp, const struct lapic_env *env)
{
	memset(l, 0, sizeof(*l));
	l->index = index;
	l->id = id;
	l->env = *env;
	l->base = MMIO_LAPIC | APIC_BASE_ENABLE | (bsp ? APIC_BASE_BSP : 0);
	reset_registers(l);
	l->wait_sipi = !bsp;
	l->sipi_vector = -1;
	if (bsp) {
		l->lvt[LVT_LINT0] = APIC_DM_EXTINT << LVT_DM_SHIFT;
		l->lvt[LVT_LINT1] = APIC_DM_NMI << LVT_DM_SHIFT;
	}
}

/* --- errors --- */

static void accept_fixed(struct lapic *l, uint8_t vector, bool level);

/* Errors collect in a hidden register that the next ESR write makes
 * visible; a new one raises the error LVT. */
static void signal_error(struct lapic *l, uint32_t bit)
{
	bool fresh = !(l->esr_pending & bit);
	l->esr_pending |= bit;
	uint32_t lvt = l->lvt[LVT_ERROR];
	if (fresh && !(lvt & LVT_MASKED) && (lvt & 0xff) >= 16)
		accept_fixed(l, (uint8_t)lvt, false);
}

/* --- receiving --- */

static void accept_fixed(struct lapic *l, uint8_t vector, bool level)
{
	if (vector < 16) {
		signal_error(l, ESR_RECV_ILLEGAL);
		return;
	}
	/* A software-disabled APIC still takes NMI, INIT and SIPI but no
	 * vectored interrupts. */
	if (!sw_enabled(l))
		return;
	set_bit(l->irr, vector);
	if (level)
		set_bit(l->tmr, vector);
	else
		clear_bit(l->tmr, vector);
}

/* INIT resets the APIC (keeping its ID) and parks the CPU until a SIPI.
 * The BSP is left alone: popek has no firmware to restart it at. */
static void accept_init(struct lapic *l, const struct apic_msg *m)
{
	if (!m->assert || (l->base & APIC_BASE_BSP))
		return;  /* INIT level de-assert only synchronizes arbitration IDs */
	reset_registers(l);
	l->wait_sipi = true;
	l->sipi_vector = -1;
}

void lapic_accept(struct lapic *l, const struct apic_msg *m)
{
	if (!lapic_hw_enabled(l))
		return;
	switch (m->mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		accept_fixed(l, m->vector, m->level);
		break;
	case APIC_DM_NMI:
		l->nmi = true;
		break;
	case APIC_DM_EXTINT:
		l->extint = true;
		break;
	case APIC_DM_INIT:
		accept_init(l, m);
		break;
	case APIC_DM_SIPI:
		/* Only the first SIPI after INIT counts; later ones are ignored. */
		if (l->wait_sipi && l->sipi_vector < 0)
			l->sipi_vector = m->vector;
		break;
	default:
		break;  /* SMI: popek has no SMM */
	}
}

bool lapic_matches(const struct lapic *l, uint32_t dest, bool logical)
{
	if (!lapic_hw_enabled(l))
		return false;
	if (lapic_x2apic(l)) {
		if (!logical)
			return dest == APIC_BROADCAST_X2APIC || dest == l->id;
		return dest >> 16 == l->ldr >> 16 && (dest & l->ldr & 0xffff);
	}
	dest &= 0xff;
	if (!logical)
		return dest == APIC_BROADCAST_XAPIC || dest == (l->id & 0xff);
	uint32_t ldr = l->ldr >> 24;
	if (l->dfr >> 28 == 0xf)
		return dest & ldr;  /* flat model: one bit per APIC */
	/* Cluster model: cluster in the high nibble, members in the low one. */
	return (dest >> 4 == 0xf || dest >> 4 == ldr >> 4) && (dest & ldr & 0xf);
}

/* --- timer --- */

static unsigned timer_divisor(const struct lapic *l)
{
	unsigned v = (l->timer_div & 3) | (l->timer_div >> 1 & 4);
	return v == 7 ? 1 : 2u << v;
}

static unsigned timer_mode(const struct lapic *l)
{
	return l->lvt[LVT_TIMER] & LVT_TIMER_MODE;
}

/* Timer ticks since the count was started. */
static uint64_t timer_ticks(const struct lapic *l)
{
	uint64_t now = l->env.now_ns(l->env.opaque);
	uint64_t ns = now > l->timer_start_ns ? now - l->timer_start_ns : 0;
	uint64_t bus = ns / 1000000000ull * LAPIC_BUS_HZ + ns % 1000000000ull * LAPIC_BUS_HZ / 1000000000ull;
	return bus / timer_divisor(l);
}

static uint32_t timer_current(const struct lapic *l)
{
	if (!l->timer_armed || timer_mode(l) == LVT_TIMER_DEADLINE)
		return 0;
	uint64_t t = timer_ticks(l);
	if (timer_mode(l) == LVT_TIMER_PERIODIC)
		return l->timer_initial - (uint32_t)(t % l->timer_initial);
	return t >= l->timer_initial ? 0 : l->timer_initial - (uint32_t)t;
}

static void timer_start(struct lapic *l, uint32_t initial)
{
	l->timer_initial = initial;
	l->timer_armed = initial != 0;
	l->timer_periods = 0;
	l->timer_start_ns = l->env.now_ns(l->env.opaque);
}

/* Expiry sets the timer's vector in the IRR unless the LVT is masked. */
static bool timer_fire(struct lapic *l)
{
	uint32_t lvt = l->lvt[LVT_TIMER];
	if (lvt & LVT_MASKED)
		return false;
	accept_fixed(l, (uint8_t)lvt, false);
	return lapic_pending(l) >= 0;
}

bool lapic_poll_timer(struct lapic *l)
{
	if (timer_mode(l) == LVT_TIMER_DEADLINE) {
		if (!l->tsc_deadline || l->env.tsc(l->env.opaque) < l->tsc_deadline)
			return false;
		l->tsc_deadline = 0;
		return timer_fire(l);
	}
	if (!l->timer_armed)
		return false;
	uint64_t periods = timer_ticks(l) / l->timer_initial;
	if (periods == 0 || periods == l->timer_periods)
		return false;
	/* Several periods missed while nobody polled make one interrupt. */
	l->timer_periods = periods;
	if (timer_mode(l) != LVT_TIMER_PERIODIC)
		l->timer_armed = false;
	return timer_fire(l);
}

/* The first nanosecond after timer_start_ns at which timer_ticks() reaches ticks. */
static uint64_t ns_of_ticks(const struct lapic *l, uint64_t ticks)
{
	uint64_t bus = ticks * timer_divisor(l);
	uint64_t rem = bus % LAPIC_BUS_HZ * 1000000000ull;
	return bus / LAPIC_BUS_HZ * 1000000000ull + (rem + LAPIC_BUS_HZ - 1) / LAPIC_BUS_HZ;
}

uint64_t lapic_next_timer_ns(const struct lapic *l)
{
	if (l->lvt[LVT_TIMER] & LVT_MASKED)
		return UINT64_MAX;
	if (timer_mode(l) == LVT_TIMER_DEADLINE) {
		if (!l->tsc_deadline)
			return UINT64_MAX;
		uint64_t now = l->env.now_ns(l->env.opaque), tsc = l->env.tsc(l->env.opaque);
		/* the TSC counts the same 1 GHz clock */
		return l->tsc_deadline <= tsc ? now : now + (l->tsc_deadline - tsc);
	}
	if (!l->timer_armed)
		return UINT64_MAX;
	return l->timer_start_ns + ns_of_ticks(l, (l->timer_periods + 1) * (uint64_t)l->timer_initial);
}

/* --- registers --- */

static uint32_t id_register(const struct lapic *l)
{
	return lapic_x2apic(l) ? l->id : l->id << 24;
}

static bool read_reg(struct lapic *l, unsigned off, uint32_t *v)
{
	if (off >= LAPIC_ISR && off < LAPIC_ISR + 0x80) {
		*v = l->isr[(off - LAPIC_ISR) / 16];
		return true;
	}
	if (off >= LAPIC_TMR && off < LAPIC_TMR + 0x80) {
		*v = l->tmr[(off - LAPIC_TMR) / 16];
		return true;
	}
	if (off >= LAPIC_IRR && off < LAPIC_IRR + 0x80) {
		*v = l->irr[(off - LAPIC_IRR) / 16];
		return true;
	}
	if (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR) {
		*v = l->lvt[(off - LAPIC_LVT_TIMER) / 16];
		return true;
	}
	switch (off) {
	case LAPIC_ID: *v = id_register(l); return true;
	case LAPIC_VER: *v = LAPIC_VERSION; return true;
	case LAPIC_TPR: *v = l->tpr; return true;
	case LAPIC_APR: *v = apr(l); return true;
	case LAPIC_PPR: *v = lapic_ppr(l); return true;
	case LAPIC_LDR: *v = l->ldr; return true;
	case LAPIC_DFR: *v = l->dfr; return true;
	case LAPIC_SVR: *v = l->svr; return true;
	case LAPIC_ESR: *v = l->esr; return true;
	case LAPIC_ICR_LO: *v = l->icr_lo; return true;
	case LAPIC_ICR_HI: *v = l->icr_hi; return true;
	case LAPIC_TIMER_INIT: *v = l->timer_initial; return true;
	case LAPIC_TIMER_CUR: *v = timer_current(l); return true;
	case LAPIC_TIMER_DIV: *v = l->timer_div; return true;
	default: return false;
	}
}

static void eoi(struct lapic *l)
{
	int v = highest_bit(l->isr);
	if (v < 0)
		return;
	clear_bit(l->isr, (unsigned)v);
	/* Level-triggered vectors tell the I/O APIC, which clears remote IRR. */
	if (test_bit(l->tmr, (unsigned)v) && l->env.eoi)
		l->env.eoi(l->env.opaque, (uint8_t)v);
}

/* Clearing the software enable masks every LVT, as the SDM says, and the
 * masks stay set until the APIC is enabled again. */
static void write_svr(struct lapic *l, uint32_t val)
{
	l->svr = val & SVR_WRITABLE;
	if (!(l->svr & SVR_ENABLE))
		for (unsigned i = 0; i < LAPIC_NLVT; i++)
			l->lvt[i] |= LVT_MASKED;
}

/* Changing to or from TSC-deadline mode disarms the timer. */
static void write_lvt(struct lapic *l, unsigned i, uint32_t val)
{
	val &= lvt_writable[i];
	if (!(l->svr & SVR_ENABLE))
		val |= LVT_MASKED;
	if (i == LVT_TIMER && ((val ^ l->lvt[i]) & LVT_TIMER_MODE) &&
	    ((val & LVT_TIMER_MODE) == LVT_TIMER_DEADLINE || timer_mode(l) == LVT_TIMER_DEADLINE)) {
		l->timer_armed = false;
		l->timer_initial = 0;
		l->tsc_deadline = 0;
	}
	l->lvt[i] = val;
}

static void send_ipi(struct lapic *l, uint32_t lo, uint32_t dest)
{
	struct apic_msg m = {
		.dest = dest,
		.logical = lo & ICR_LOGICAL,
		.mode = (enum apic_delivery)(lo >> ICR_DM_SHIFT & 7),
		.vector = (uint8_t)(lo & ICR_VECTOR),
		.level = lo & ICR_LEVEL,
		.assert = lo & ICR_ASSERT,
		.shorthand = (enum apic_shorthand)(lo >> ICR_SH_SHIFT & 3),
		.source = l->index,
	};
	/* Edge-triggered INIT and every non-INIT message count as asserted. */
	if (!m.level || m.mode != APIC_DM_INIT)
		m.assert = true;
	if ((m.mode == APIC_DM_FIXED || m.mode == APIC_DM_LOWEST) && m.vector < 16) {
		signal_error(l, ESR_SEND_ILLEGAL);
		return;
	}
	if (l->env.send)
		l->env.send(l->env.opaque, &m);
}

static void write_icr(struct lapic *l, uint32_t lo, uint32_t hi)
{
	l->icr_lo = lo & ICR_WRITABLE;
	l->icr_hi = hi;
	send_ipi(l, l->icr_lo, lapic_x2apic(l) ? hi : hi >> 24);
}

static bool write_reg(struct lapic *l, unsigned off, uint32_t val)
{
	if (off >= LAPIC_LVT_TIMER && off <= LAPIC_LVT_ERROR) {
		write_lvt(l, (off - LAPIC_LVT_TIMER) / 16, val);
		return true;
	}
	switch (off) {
	case LAPIC_ID: l->id = val >> 24; return true;  /* xAPIC only */
	case LAPIC_TPR: l->tpr = val & 0xff; return true;
	case LAPIC_EOI: eoi(l); return true;
	case LAPIC_LDR: l->ldr = val & 0xff000000u; return true;
	case LAPIC_DFR: l->dfr = val | 0x0fffffffu; return true;
	case LAPIC_SVR: write_svr(l, val); return true;
	case LAPIC_ESR: l->esr = l->esr_pending; l->esr_pending = 0; return true;
	case LAPIC_ICR_LO: write_icr(l, val, l->icr_hi); return true;
	case LAPIC_ICR_HI: l->icr_hi = val & 0xff000000u; return true;
	case LAPIC_TIMER_INIT:
		if (timer_mode(l) != LVT_TIMER_DEADLINE)
			timer_start(l, val);
		return true;
	case LAPIC_TIMER_DIV: l->timer_div = val & 0xb; return true;
	default: return false;  /* read-only or reserved: ignored */
	}
}

uint32_t lapic_read(struct lapic *l, unsigned off)
{
	uint32_t v = 0;
	if (!lapic_hw_enabled(l) || lapic_x2apic(l) || !read_reg(l, off & 0xff0, &v))
		return 0;
	return v;
}

void lapic_write(struct lapic *l, unsigned off, uint32_t val)
{
	if (lapic_hw_enabled(l) && !lapic_x2apic(l))
		write_reg(l, off & 0xff0, val);
}

/* --- MSRs --- */

/* IA32_APIC_BASE: enable and x2APIC may only move disabled -> xAPIC ->
 * x2APIC -> disabled; anything else is #GP. Disabling resets the APIC. */
static int write_apic_base(struct lapic *l, uint64_t val)
{
	bool en = val & APIC_BASE_ENABLE, x2 = val & APIC_BASE_EXTD;
	bool was_en = lapic_hw_enabled(l), was_x2 = lapic_x2apic(l);
	if (val & ~(BASE_ADDR_MASK | APIC_BASE_ENABLE | APIC_BASE_EXTD | APIC_BASE_BSP))
		return -1;
	if ((x2 && !en) || (was_x2 && en && !x2) || (!was_en && x2))
		return -1;
	/* The BSP flag is the hardware's to set, not software's. */
	l->base = (val & ~APIC_BASE_BSP) | (l->base & APIC_BASE_BSP);
	if (!en)
		reset_registers(l);
	else if (x2 && !was_x2)
		l->ldr = (l->id >> 4) << 16 | 1u << (l->id & 15);
	return 0;
}

static int read_x2apic(struct lapic *l, unsigned off, uint64_t *val)
{
	uint32_t v;
	switch (off) {
	case LAPIC_ICR_LO:
		*val = (uint64_t)l->icr_hi << 32 | l->icr_lo;
		return 0;
	case LAPIC_EOI: case LAPIC_SELF_IPI: case LAPIC_APR: case LAPIC_RRD:
	case LAPIC_DFR: case LAPIC_ICR_HI:
		return -1;  /* write-only, or gone in x2APIC mode */
	}
	if (!read_reg(l, off, &v))
		return -1;
	*val = v;
	return 0;
}

static int write_x2apic(struct lapic *l, unsigned off, uint64_t val)
{
	switch (off) {
	case LAPIC_ICR_LO:
		write_icr(l, (uint32_t)val, (uint32_t)(val >> 32));
		return 0;
	case LAPIC_SELF_IPI:
		if (val >> 8)
			return -1;
		accept_fixed(l, (uint8_t)val, false);
		return 0;
	case LAPIC_EOI:
	case LAPIC_ESR:
		if (val)
			return -1;  /* x2APIC wants zero written here */
		break;
	case LAPIC_TPR: case LAPIC_SVR: case LAPIC_TIMER_INIT: case LAPIC_TIMER_DIV:
	case LAPIC_LVT_TIMER: case LAPIC_LVT_THERMAL: case LAPIC_LVT_PERF:
	case LAPIC_LVT_LINT0: case LAPIC_LVT_LINT1: case LAPIC_LVT_ERROR:
		if (val >> 32)
			return -1;
		break;
	default:
		return -1;  /* read-only (ID, LDR, ...) or reserved */
	}
	write_reg(l, off, (uint32_t)val);
	return 0;
}

int lapic_rdmsr(struct lapic *l, uint32_t msr, uint64_t *val)
{
	if (msr == MSR_APIC_BASE) {
		*val = l->base;
		return 0;
	}
	if (msr == MSR_TSC_DEADLINE) {
		*val = timer_mode(l) == LVT_TIMER_DEADLINE ? l->tsc_deadline : 0;
		return 0;
	}
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || !lapic_x2apic(l))
		return -1;
	return read_x2apic(l, (msr - MSR_X2APIC_FIRST) << 4, val);
}

int lapic_wrmsr(struct lapic *l, uint32_t msr, uint64_t val)
{
	if (msr == MSR_APIC_BASE)
		return write_apic_base(l, val);
	if (msr == MSR_TSC_DEADLINE) {
		/* Outside TSC-deadline mode the write is ignored, as the SDM says. */
		if (timer_mode(l) == LVT_TIMER_DEADLINE)
			l->tsc_deadline = val;
		return 0;
	}
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || !lapic_x2apic(l))
		return -1;
	return write_x2apic(l, (msr - MSR_X2APIC_FIRST) << 4, val);
}
