/* The PC interrupt platform: the four chip cores of pic.c, pit.c, ioapic.c
 * and lapic.c on the machine's buses, behind struct intr_platform. See
 * intr_platform.h for the wiring.
 *
 * One recursive mutex covers all of it: vCPU threads (port, MMIO, MSR,
 * pending/ack) and device threads (vm_irq_line from the console reader)
 * come in concurrently, and the PIT's IRQ 0 goes out through vm_irq_line,
 * which comes back into line() while the lock is held. */
#include <stdio.h>
#include <stdlib.h>

#include "dev/device_state.h"
#include "dev/intr_platform.h"
#include "dev/ioapic.h"
#include "dev/lapic.h"
#include "dev/pci.h"
#include "dev/pic.h"
#include "dev/pit.h"
#include "vm.h"

#define ISA_LINES 16

struct intr_plat {
	struct vm *vm;
	pthread_mutex_t lock;
	struct pic pic;
	struct pit pit;
	struct ioapic ioapic;
	struct lapic *lapic;
	int ncpus;
	bool irq0_level;        /* what the PIT last put on IRQ 0 */
	uint64_t (*now_ns)(void *opaque);   /* test overrides of the clock */
	uint64_t (*tsc)(void *opaque);
	void *clock;
};

static uint64_t plat_now(void *opaque)
{
	struct intr_plat *p = opaque;
	return p->now_ns ? p->now_ns(p->clock) : vm_now_ns(p->vm);
}

/* A 1 GHz TSC on the machine's clock unless a test supplies one. */
static uint64_t plat_tsc(void *opaque)
{
	struct intr_plat *p = opaque;
	return p->tsc ? p->tsc(p->clock) : plat_now(p);
}

static struct intr_plat *plat_of(struct vm *vm)
{
	return intr_platform_opaque(vm);
}

static struct lapic *lapic_of(struct intr_plat *p, const struct vcpu *cpu)
{
	return cpu->index >= 0 && cpu->index < p->ncpus ? &p->lapic[cpu->index] : NULL;
}

/* --- the APIC bus --- */

static bool addressed(struct intr_plat *p, int i, const struct apic_msg *m)
{
	switch (m->shorthand) {
	case APIC_SH_SELF: return i == m->source;
	case APIC_SH_ALL: return true;
	case APIC_SH_OTHERS: return i != m->source;
	default: return lapic_matches(&p->lapic[i], m->dest, m->logical);
	}
}

/* Lowest priority goes to one of the addressed APICs: the one with the
 * lowest task priority, the first on a tie. */
static int lowest_priority_target(struct intr_plat *p, const struct apic_msg *m)
{
	int best = -1;
	for (int i = 0; i < p->ncpus; i++)
		if (addressed(p, i, m) && (best < 0 || p->lapic[i].tpr < p->lapic[best].tpr))
			best = i;
	return best;
}

static void apic_bus_send(void *opaque, const struct apic_msg *m)
{
	struct intr_plat *p = opaque;
	if (m->mode == APIC_DM_LOWEST) {
		int i = lowest_priority_target(p, m);
		if (i >= 0)
			lapic_accept(&p->lapic[i], m);
	} else {
		for (int i = 0; i < p->ncpus; i++)
			if (addressed(p, i, m))
				lapic_accept(&p->lapic[i], m);
	}
	intr_kick(p->vm);
}

static void apic_bus_eoi(void *opaque, uint8_t vector)
{
	struct intr_plat *p = opaque;
	ioapic_eoi(&p->ioapic, vector);
}

/* --- timers --- */

/* IRQ 0 follows OUT0; a rise since the last poll becomes a fresh edge even
 * when OUT0 is back low (mode 3) or was already high (mode 2's short dip). */
static void poll_pit(struct intr_plat *p)
{
	bool level;
	bool rose = pit_poll_out(&p->pit, 0, &level);
	if (rose) {
		if (p->irq0_level)
			vm_irq_line(p->vm, PIT_IRQ, 0);
		vm_irq_line(p->vm, PIT_IRQ, 1);
		if (!level)
			vm_irq_line(p->vm, PIT_IRQ, 0);
	} else if (level != p->irq0_level) {
		vm_irq_line(p->vm, PIT_IRQ, level);
	}
	p->irq0_level = level;
}

static void plat_poll(struct vm *vm)
{
	struct intr_plat *p = plat_of(vm);
	bool fired = false;
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	poll_pit(p);
	for (int i = 0; i < p->ncpus; i++)
		fired |= lapic_poll_timer(&p->lapic[i]);
	pthread_mutex_unlock(&p->lock);
	if (fired)
		intr_kick(vm);
}

static uint64_t plat_next_deadline(struct vm *vm)
{
	struct intr_plat *p = plat_of(vm);
	if (!p)
		return UINT64_MAX;
	pthread_mutex_lock(&p->lock);
	uint64_t next = pit_next_edge_ns(&p->pit, 0);
	for (int i = 0; i < p->ncpus; i++) {
		uint64_t t = lapic_next_timer_ns(&p->lapic[i]);
		if (t < next)
			next = t;
	}
	pthread_mutex_unlock(&p->lock);
	return next;
}

/* --- the CPU side (struct intr_platform) --- */

static bool pic_reaches(struct intr_plat *p, const struct lapic *l)
{
	return (l->extint || lapic_accepts_pic(l)) && pic_output(&p->pic);
}

static int plat_pending(struct vcpu *cpu)
{
	struct intr_plat *p = plat_of(cpu->vm);
	plat_poll(cpu->vm);
	pthread_mutex_lock(&p->lock);
	struct lapic *l = lapic_of(p, cpu);
	int v = -1;
	if (l && !l->wait_sipi) {
		v = lapic_pending(l);
		if (v < 0 && pic_reaches(p, l))
			v = pic_peek(&p->pic);
	}
	pthread_mutex_unlock(&p->lock);
	return v;
}

static int plat_ack(struct vcpu *cpu)
{
	struct intr_plat *p = plat_of(cpu->vm);
	pthread_mutex_lock(&p->lock);
	struct lapic *l = lapic_of(p, cpu);
	int v = -1;
	if (l && lapic_pending(l) < 0 && pic_reaches(p, l)) {
		l->extint = false;
		v = pic_ack(&p->pic);
	} else if (l && lapic_hw_enabled(l)) {
		v = lapic_ack(l);
	} else if (l) {
		v = pic_ack(&p->pic);  /* INTR straight from the PIC */
	}
	pthread_mutex_unlock(&p->lock);
	return v;
}

static bool plat_take_nmi(struct vcpu *cpu)
{
	struct intr_plat *p = plat_of(cpu->vm);
	pthread_mutex_lock(&p->lock);
	struct lapic *l = lapic_of(p, cpu);
	bool nmi = l && l->nmi;
	if (l)
		l->nmi = false;
	pthread_mutex_unlock(&p->lock);
	return nmi;
}

static int plat_rdmsr(struct vcpu *cpu, uint32_t msr, uint64_t *value)
{
	struct intr_plat *p = plat_of(cpu->vm);
	pthread_mutex_lock(&p->lock);
	struct lapic *l = lapic_of(p, cpu);
	int rc = l ? lapic_rdmsr(l, msr, value) : -1;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int plat_wrmsr(struct vcpu *cpu, uint32_t msr, uint64_t value)
{
	struct intr_plat *p = plat_of(cpu->vm);
	pthread_mutex_lock(&p->lock);
	struct lapic *l = lapic_of(p, cpu);
	int rc = l ? lapic_wrmsr(l, msr, value) : -1;
	pthread_mutex_unlock(&p->lock);
	if (rc == 0)
		intr_kick(cpu->vm);  /* EOI, TPR, IPIs can all unblock someone */
	return rc;
}

/* vm_irq_line's level says whether the source asserts its interrupt, as
 * KVM_IRQ_LINE's does. The I/O APIC model sees wires: ISA lines are active
 * high, PCI INTx lines (GSIs 16-23) active low, so those are inverted. */
static int wire_level(unsigned line, int asserted)
{
	bool pci = line >= PCI_GSI_BASE && line < PCI_GSI_BASE + PCI_GSI_COUNT;
	return pci ? !asserted : asserted != 0;
}

static void plat_line(struct vm *vm, unsigned line, int level)
{
	struct intr_plat *p = plat_of(vm);
	if (!p)
		return;  /* being destroyed */
	pthread_mutex_lock(&p->lock);
	if (line < ISA_LINES)
		pic_set_irq(&p->pic, line, level);
	ioapic_set_irq(&p->ioapic, line, wire_level(line, level));
	pthread_mutex_unlock(&p->lock);
}

static bool plat_wait_for_sipi(struct vcpu *cpu, int *vector)
{
	struct intr_plat *p = plat_of(cpu->vm);
	pthread_mutex_lock(&p->lock);
	struct lapic *l = lapic_of(p, cpu);
	bool waiting = false;
	*vector = -1;
	if (l && l->wait_sipi) {
		if (l->sipi_vector >= 0) {
			*vector = l->sipi_vector;
			l->wait_sipi = false;
			l->sipi_vector = -1;
		} else {
			waiting = true;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return waiting;
}

/* An MSI is a write to 0xfee00000 | dest << 12 (bit 2: logical) of
 * data = vector | delivery mode << 8 | level << 14 | trigger << 15 (SDM
 * vol. 3, "Message Signalled Interrupts"); a write anywhere else is not
 * one and goes nowhere. */
static void plat_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct intr_plat *p = plat_of(vm);
	if (!p || (addr & 0xfff00000u) != 0xfee00000u)
		return;
	struct apic_msg m = {
		.dest = (uint32_t)(addr >> 12) & 0xff,
		.logical = addr & 4,
		.mode = (enum apic_delivery)((data >> 8) & 7),
		.vector = (uint8_t)data,
		.level = data & (1u << 15),
		.assert = true,
		.shorthand = APIC_SH_NONE,
		.source = -1,
	};
	pthread_mutex_lock(&p->lock);
	apic_bus_send(p, &m);
	pthread_mutex_unlock(&p->lock);
}

static const struct intr_platform platform_ops = {
	.pending = plat_pending,
	.ack = plat_ack,
	.take_nmi = plat_take_nmi,
	.rdmsr = plat_rdmsr,
	.wrmsr = plat_wrmsr,
	.poll = plat_poll,
	.next_deadline = plat_next_deadline,
	.line = plat_line,
	.msi = plat_msi,
	.wait_for_sipi = plat_wait_for_sipi,
};

/* --- the guest side: ports and MMIO --- */

/* Every guest write ends here: masks, EOIs, redirection entries and LVTs
 * can all make something deliverable. */
static void unlock_and_kick(struct intr_plat *p)
{
	pthread_mutex_unlock(&p->lock);
	intr_kick(p->vm);
}

static uint8_t pic_master_byte(void *opaque, uint64_t off)
{
	struct intr_plat *p = opaque;
	pthread_mutex_lock(&p->lock);
	uint8_t v = pic_read(&p->pic, 0, (unsigned)off);
	pthread_mutex_unlock(&p->lock);
	return v;
}

static uint8_t pic_slave_byte(void *opaque, uint64_t off)
{
	struct intr_plat *p = opaque;
	pthread_mutex_lock(&p->lock);
	uint8_t v = pic_read(&p->pic, 1, (unsigned)off);
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void pic_master_set(void *opaque, uint64_t off, uint8_t val)
{
	struct intr_plat *p = opaque;
	pthread_mutex_lock(&p->lock);
	pic_write(&p->pic, 0, (unsigned)off, val);
	unlock_and_kick(p);
}

static void pic_slave_set(void *opaque, uint64_t off, uint8_t val)
{
	struct intr_plat *p = opaque;
	pthread_mutex_lock(&p->lock);
	pic_write(&p->pic, 1, (unsigned)off, val);
	unlock_and_kick(p);
}

static uint8_t elcr_byte(void *opaque, uint64_t off)
{
	struct intr_plat *p = opaque;
	pthread_mutex_lock(&p->lock);
	uint8_t v = pic_elcr_read(&p->pic, (unsigned)off);
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void elcr_set(void *opaque, uint64_t off, uint8_t val)
{
	struct intr_plat *p = opaque;
	pthread_mutex_lock(&p->lock);
	pic_elcr_write(&p->pic, (unsigned)off, val);
	unlock_and_kick(p);
}

static uint8_t pit_byte(void *opaque, uint64_t off)
{
	struct intr_plat *p = opaque;
	pthread_mutex_lock(&p->lock);
	uint8_t v = pit_read(&p->pit, (unsigned)off);
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void pit_set(void *opaque, uint64_t off, uint8_t val)
{
	struct intr_plat *p = opaque;
	pthread_mutex_lock(&p->lock);
	pit_write(&p->pit, (unsigned)off, val);
	poll_pit(p);  /* a control word drops OUT0 at once */
	pthread_mutex_unlock(&p->lock);
}

static uint8_t port61_byte(void *opaque, uint64_t off)
{
	struct intr_plat *p = opaque;
	(void)off;
	pthread_mutex_lock(&p->lock);
	uint8_t v = pit_port61_read(&p->pit);
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void port61_set(void *opaque, uint64_t off, uint8_t val)
{
	struct intr_plat *p = opaque;
	(void)off;
	pthread_mutex_lock(&p->lock);
	pit_port61_write(&p->pit, val);
	pthread_mutex_unlock(&p->lock);
}

#define BYTEWISE_OPS(name, byte_fn, set_fn)                                              \
	static void name##_bus_read(void *o, uint64_t off, uint8_t *d, unsigned n)           \
	{                                                                                \
		bytewise_read(byte_fn, o, off, d, n);                                    \
	}                                                                                \
	static void name##_bus_write(void *o, uint64_t off, const uint8_t *d, unsigned n)    \
	{                                                                                \
		bytewise_write(set_fn, o, off, d, n);                                    \
	}                                                                                \
	static const struct io_handler name##_ops = { name##_bus_read, name##_bus_write };

BYTEWISE_OPS(pic_master, pic_master_byte, pic_master_set)
BYTEWISE_OPS(pic_slave, pic_slave_byte, pic_slave_set)
BYTEWISE_OPS(elcr, elcr_byte, elcr_set)
BYTEWISE_OPS(pit, pit_byte, pit_set)
BYTEWISE_OPS(port61, port61_byte, port61_set)

/* A narrower read of a 32-bit register takes its bytes; the upper half of
 * an 8-byte read is zero. */
static void put_register(uint32_t reg, uint64_t off, uint8_t *data, unsigned size)
{
	access_store(data, size, (uint64_t)reg >> (8 * (off & 3)));
}

static void ioapic_mmio_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	struct intr_plat *p = opaque;
	pthread_mutex_lock(&p->lock);
	uint32_t v = ioapic_read(&p->ioapic, off & ~3ull);
	pthread_mutex_unlock(&p->lock);
	put_register(v, off, data, size);
}

/* IOREGSEL takes a byte write too; the window only whole dwords. */
static void ioapic_mmio_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct intr_plat *p = opaque;
	if ((off & 3) || (size < 4 && off != IOAPIC_REGSEL))
		return;
	pthread_mutex_lock(&p->lock);
	ioapic_write(&p->ioapic, off, (uint32_t)access_value(data, size));
	unlock_and_kick(p);
}

static const struct io_handler ioapic_ops = { ioapic_mmio_read, ioapic_mmio_write };

/* Every vCPU sees its own local APIC at the same address: the access
 * belongs to whichever vCPU this thread runs (vCPU 0 outside vCPU threads). */
static struct lapic *accessing_lapic(struct intr_plat *p)
{
	struct vcpu *cpu = vm_current_vcpu();
	if (!cpu || cpu->vm != p->vm || cpu->index < 0 || cpu->index >= p->ncpus)
		return &p->lapic[0];
	return &p->lapic[cpu->index];
}

static void lapic_mmio_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	struct intr_plat *p = opaque;
	uint32_t v = 0;
	pthread_mutex_lock(&p->lock);
	if ((off & 0xf) < 4)
		v = lapic_read(accessing_lapic(p), (unsigned)(off & 0xff0));
	pthread_mutex_unlock(&p->lock);
	put_register(v, off, data, size);
}

/* The registers take aligned dword writes; anything else is dropped. */
static void lapic_mmio_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct intr_plat *p = opaque;
	if ((off & 0xf) || size < 4)
		return;
	pthread_mutex_lock(&p->lock);
	lapic_write(accessing_lapic(p), (unsigned)off, (uint32_t)access_value(data, 4));
	unlock_and_kick(p);
}

static const struct io_handler lapic_ops = { lapic_mmio_read, lapic_mmio_write };

/* --- the device --- */

static void plat_free(struct intr_plat *p)
{
	pthread_mutex_destroy(&p->lock);
	free(p->lapic);
	free(p);
}

static int attach_all(struct vm *vm, struct intr_plat *p, char *err, size_t n)
{
	static const struct {
		bool mmio;
		uint64_t base, len;
		const struct io_handler *ops;
		const char *name;
	} ranges[] = {
		{ false, PIC_MASTER_PORT, 2, &pic_master_ops, "pic-master" },
		{ false, PIC_SLAVE_PORT, 2, &pic_slave_ops, "pic-slave" },
		{ false, PIC_ELCR_PORT, 2, &elcr_ops, "elcr" },
		{ false, PIT_PORT, PIT_NPORTS, &pit_ops, "pit" },
		{ false, PIT_PORT61, 1, &port61_ops, "port61" },
		{ true, MMIO_IOAPIC, IOAPIC_MMIO_SIZE, &ioapic_ops, "ioapic" },
		{ true, MMIO_LAPIC, LAPIC_MMIO_SIZE, &lapic_ops, "lapic" },
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct bus *b = ranges[i].mmio ? &vm->mmio : &vm->pio;
		if (bus_register(b, ranges[i].base, ranges[i].len, ranges[i].ops, p,
				 ranges[i].name) != 0) {
			snprintf(err, n, "%s: %#llx-%#llx is taken", ranges[i].name,
				 (unsigned long long)ranges[i].base,
				 (unsigned long long)(ranges[i].base + ranges[i].len - 1));
			return -1;
		}
	}
	return 0;
}

static int intr_platform_create(struct vm *vm, char *err, size_t n)
{
	/* KVM's in-kernel irqchip owns these ports and addresses. */
	if (vm->engine->irq_line)
		return 0;
	struct intr_plat *p = calloc(1, sizeof(*p));
	int ncpus = vm->ncpus > 0 ? vm->ncpus : 1;
	if (p)
		p->lapic = calloc((size_t)ncpus, sizeof(*p->lapic));
	if (!p || !p->lapic) {
		free(p);
		snprintf(err, n, "out of memory");
		return -1;
	}
	p->vm = vm;
	p->ncpus = ncpus;
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&p->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pic_init(&p->pic);
	pit_init(&p->pit, plat_now, p);
	/* OUT0 idles high until programmed; IRQ 0 starts there, so the first
	 * tick is a clean rising edge and programming the PIT is not one. */
	pic_set_irq(&p->pic, PIT_IRQ, 1);
	p->irq0_level = true;
	/* The MP table gives the I/O APIC the ID after the last CPU's. */
	ioapic_init(&p->ioapic, (uint8_t)ncpus, apic_bus_send, p);
	/* the PCI INTx wires idle high: pulled up while no function drives them */
	for (unsigned g = PCI_GSI_BASE; g < PCI_GSI_BASE + PCI_GSI_COUNT; g++)
		ioapic_set_irq(&p->ioapic, g, wire_level(g, 0));
	struct lapic_env env = { plat_now, plat_tsc, apic_bus_send, apic_bus_eoi, p };
	for (int i = 0; i < ncpus; i++)
		lapic_init(&p->lapic[i], i, (uint32_t)i, i == 0, &env);
	ioapic_set_irq(&p->ioapic, PIT_IRQ, 1);
	if (attach_all(vm, p, err, n) != 0) {
		/* Ranges already attached point at p; leave p to destroy. */
		intr_platform_register(vm, &platform_ops, p);
		return -1;
	}
	intr_platform_register(vm, &platform_ops, p);
	return 0;
}

static void intr_platform_destroy(struct vm *vm)
{
	if (vm->intr != &platform_ops)
		return;
	struct intr_plat *p = plat_of(vm);
	/* Device threads (the console reader) may still raise lines: after
	 * unregistering, wait out any call already inside before freeing. */
	intr_platform_register(vm, NULL, NULL);
	pthread_mutex_lock(&p->lock);
	pthread_mutex_unlock(&p->lock);
	plat_free(p);
}

void intr_platform_set_clock(struct vm *vm, uint64_t (*now_ns)(void *opaque),
			     uint64_t (*tsc)(void *opaque), void *opaque)
{
	if (vm->intr != &platform_ops)
		return;
	struct intr_plat *p = plat_of(vm);
	pthread_mutex_lock(&p->lock);
	p->now_ns = now_ns;
	p->tsc = tsc;
	p->clock = opaque;
	pthread_mutex_unlock(&p->lock);
}

struct lapic *intr_platform_lapic(struct vm *vm, int cpu)
{
	if (vm->intr != &platform_ops)
		return NULL;
	struct intr_plat *p = plat_of(vm);
	return cpu >= 0 && cpu < p->ncpus ? &p->lapic[cpu] : NULL;
}

struct device_desc intr_platform_device = {
	.name = "intr-platform",
	.create = intr_platform_create,
	.destroy = intr_platform_destroy,
};
DEVICE(intr_platform_device)
