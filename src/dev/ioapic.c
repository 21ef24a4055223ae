/* 82093AA core. See ioapic.h; register layout and entry semantics are the
 * Intel 82093AA datasheet's. */
#include <string.h>

#include "dev/ioapic.h"

#define REG_ID      0x00
#define REG_VERSION 0x01
#define REG_ARB     0x02
#define REG_REDIR   0x10
#define READ_ONLY   (IOAPIC_PENDING | IOAPIC_REMOTE_IRR)

void ioapic_init(struct ioapic *io, uint8_t id,
		 void (*deliver)(void *opaque, const struct apic_msg *m), void *opaque)
{
	memset(io, 0, sizeof(*io));
	io->id = id & 0x0f;  /* the 82093AA keeps four ID bits */
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		io->redir[i] = IOAPIC_MASKED;
	io->deliver = deliver;
	io->opaque = opaque;
}

/* Polarity applies before the trigger logic: an active-low pin is
 * asserted while its line is low. */
static bool asserted(const struct ioapic *io, unsigned pin)
{
	bool high = io->lines >> pin & 1;
	return high != !!(io->redir[pin] & IOAPIC_ACTIVE_LOW);
}

static void send(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->redir[pin];
	struct apic_msg m = {
		.dest = (uint32_t)(e >> IOAPIC_DEST_SHIFT),
		.logical = e & IOAPIC_LOGICAL,
		.mode = (enum apic_delivery)(e >> IOAPIC_DM_SHIFT & 7),
		.vector = (uint8_t)(e & IOAPIC_VECTOR),
		.level = e & IOAPIC_LEVEL,
		.assert = true,
		.shorthand = APIC_SH_NONE,
		.source = -1,
	};
	if (io->deliver)
		io->deliver(io->opaque, &m);
}

/* A level-triggered pin delivers once, then waits with remote IRR set for
 * the EOI before it can deliver again. */
static void service_level(struct ioapic *io, unsigned pin)
{
	uint64_t *e = &io->redir[pin];
	if ((*e & IOAPIC_MASKED) || (*e & IOAPIC_REMOTE_IRR) || !asserted(io, pin))
		return;
	*e |= IOAPIC_REMOTE_IRR;
	send(io, pin);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level)
{
	if (pin >= IOAPIC_PINS)
		return;
	bool was = asserted(io, pin);
	if (level)
		io->lines |= 1u << pin;
	else
		io->lines &= ~(1u << pin);
	uint64_t e = io->redir[pin];
	if (e & IOAPIC_LEVEL)
		service_level(io, pin);
	else if (!was && asserted(io, pin) && !(e & IOAPIC_MASKED))
		send(io, pin);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t *e = &io->redir[pin];
		if (!(*e & IOAPIC_LEVEL) || (*e & IOAPIC_VECTOR) != vector)
			continue;
		*e &= ~IOAPIC_REMOTE_IRR;
		service_level(io, pin);
	}
}

static uint32_t read_register(const struct ioapic *io, unsigned reg)
{
	switch (reg) {
	case REG_ID:
	case REG_ARB:
		return (uint32_t)io->id << 24;
	case REG_VERSION:
		return (IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION;
	}
	if (reg >= REG_REDIR && reg < REG_REDIR + 2 * IOAPIC_PINS) {
		uint64_t e = io->redir[(reg - REG_REDIR) / 2];
		return reg & 1 ? (uint32_t)(e >> 32) : (uint32_t)e;
	}
	return 0;
}

static void write_redir(struct ioapic *io, unsigned reg, uint32_t val)
{
	unsigned pin = (reg - REG_REDIR) / 2;
	uint64_t *e = &io->redir[pin];
	uint64_t v = reg & 1 ? (uint64_t)val << 32 | (uint32_t)*e
			     : (*e & 0xffffffff00000000ull) | val;
	v = (v & ~READ_ONLY) | (*e & READ_ONLY);
	if (!(v & IOAPIC_LEVEL))
		v &= ~IOAPIC_REMOTE_IRR;  /* remote IRR means nothing for edge */
	*e = v;
	/* Unmasking or switching to level while the pin is held asserted
	 * delivers now, as the pin is sampled continuously. */
	if (v & IOAPIC_LEVEL)
		service_level(io, pin);
}

static void write_register(struct ioapic *io, unsigned reg, uint32_t val)
{
	if (reg == REG_ID)
		io->id = val >> 24 & 0x0f;
	else if (reg >= REG_REDIR && reg < REG_REDIR + 2 * IOAPIC_PINS)
		write_redir(io, reg, val);
}

uint32_t ioapic_read(struct ioapic *io, uint64_t off)
{
	if (off == IOAPIC_REGSEL)
		return io->regsel;
	if (off == IOAPIC_WINDOW)
		return read_register(io, io->regsel);
	return 0;
}

void ioapic_write(struct ioapic *io, uint64_t off, uint32_t val)
{
	if (off == IOAPIC_REGSEL)
		io->regsel = (uint8_t)val;
	else if (off == IOAPIC_WINDOW)
		write_register(io, io->regsel, val);
}
