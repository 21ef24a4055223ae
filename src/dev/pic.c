/* 8259A pair core. See pic.h; register and command meanings are the Intel
 * 8259A datasheet's. */
#include <string.h>

#include "dev/pic.h"

#define ICW1_IC4   0x01
#define ICW1_SNGL  0x02
#define ICW1_LTIM  0x08
#define ICW1       0x10
#define OCW3       0x08
#define ICW4_AEOI  0x02
#define ICW4_SFNM  0x10

/* Priority 0 is the highest; rotation moves which IR holds it. */
static unsigned priority(const struct pic_chip *c, unsigned ir)
{
	return (ir - c->lowest - 1) & 7;
}

/* The IR with the highest priority among bits, -1 if none. */
static int highest(const struct pic_chip *c, uint8_t bits)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned ir = (c->lowest + 1 + i) & 7;
		if (bits & (1u << ir))
			return (int)ir;
	}
	return -1;
}

static uint8_t level_lines(const struct pic_chip *c)
{
	return c->ltim ? 0xff : c->elcr;
}

static int chip_next(const struct pic *p, const struct pic_chip *c);

/* IRR as the chip sees it: edge requests are latched, level requests follow
 * the line, and the master's cascade input is the slave's INT output. */
static uint8_t requests(const struct pic *p, const struct pic_chip *c)
{
	uint8_t lvl = level_lines(c);
	uint8_t req = (uint8_t)((c->irr & ~lvl) | (c->lines & lvl));
	if (!c->is_slave && !c->single) {
		req &= (uint8_t)~(1u << PIC_CASCADE_IRQ);
		if (chip_next(p, &p->slave) >= 0)
			req |= 1u << PIC_CASCADE_IRQ;
	}
	return req;
}

/* The IR this chip would interrupt for: the highest unmasked request that
 * outranks everything in service. Special mask mode lets masked in-service
 * levels stop blocking; special fully nested mode lets a slave interrupt
 * through while another of the same slave is in service. */
static int chip_next(const struct pic *p, const struct pic_chip *c)
{
	int ir = highest(c, (uint8_t)(requests(p, c) & ~c->imr));
	if (ir < 0)
		return -1;
	uint8_t isr = c->isr;
	if (c->special_mask)
		isr &= (uint8_t)~c->imr;
	int s = highest(c, isr);
	if (s < 0 || priority(c, (unsigned)ir) < priority(c, (unsigned)s))
		return ir;
	if (s == ir && !c->is_slave && c->special_fully_nested && ir == PIC_CASCADE_IRQ)
		return ir;
	return -1;
}

static struct pic_chip *chip_of(struct pic *p, unsigned chip)
{
	return chip ? &p->slave : &p->master;
}

static void chip_reset(struct pic_chip *c, bool is_slave)
{
	uint8_t lines = c->lines, elcr = c->elcr;
	memset(c, 0, sizeof(*c));
	c->is_slave = is_slave;
	c->lines = lines;
	c->elcr = elcr;
	c->lowest = 7;
	/* The PC's ELCR hard-wires IRQ 0, 1, 2, 8 and 13 to edge. */
	c->elcr_writable = is_slave ? 0xde : 0xf8;
}

void pic_init(struct pic *p)
{
	memset(p, 0, sizeof(*p));
	chip_reset(&p->master, false);
	chip_reset(&p->slave, true);
	/* Until ICW1 the chip's state is undefined and its vectors would be
	 * garbage; keeping every line masked is the safe reading of that. */
	p->master.imr = p->slave.imr = 0xff;
}

void pic_set_irq(struct pic *p, unsigned irq, int level)
{
	if (irq >= 16 || irq == PIC_CASCADE_IRQ)
		return;
	struct pic_chip *c = irq < 8 ? &p->master : &p->slave;
	uint8_t bit = (uint8_t)(1u << (irq & 7));
	/* The 8259A wants an edge request held until INTA; popek's devices
	 * change lines far more coarsely than a bus cycle, so a latched edge
	 * stays requested until acknowledged even if the line falls first. */
	if (level && !(c->lines & bit))
		c->irr |= bit;
	if (level)
		c->lines |= bit;
	else
		c->lines &= (uint8_t)~bit;
}

/* INTA or poll on one chip: the request becomes in-service (or, in
 * auto-EOI mode, is ended at once, rotating if asked to). */
static void take(struct pic_chip *c, unsigned ir)
{
	c->irr &= (uint8_t)~(1u << ir);
	if (!c->auto_eoi)
		c->isr |= (uint8_t)(1u << ir);
	else if (c->rotate_on_aeoi)
		c->lowest = (uint8_t)ir;
}

static void write_icw1(struct pic_chip *c, uint8_t val)
{
	chip_reset(c, c->is_slave);
	c->ltim = val & ICW1_LTIM;
	c->single = val & ICW1_SNGL;
	c->icw4_needed = val & ICW1_IC4;
	c->init_step = 2;
}

static void end_of_interrupt(struct pic_chip *c, int ir, bool rotate)
{
	if (ir < 0)
		return;
	c->isr &= (uint8_t)~(1u << ir);
	if (rotate)
		c->lowest = (uint8_t)ir;
}

static void write_ocw2(struct pic_chip *c, uint8_t val)
{
	unsigned level = val & 7;
	switch (val >> 5) {
	case 0: c->rotate_on_aeoi = false; break;
	case 1: end_of_interrupt(c, highest(c, c->isr), false); break;
	case 3: end_of_interrupt(c, (int)level, false); break;
	case 4: c->rotate_on_aeoi = true; break;
	case 5: end_of_interrupt(c, highest(c, c->isr), true); break;
	case 6: c->lowest = (uint8_t)level; break;
	case 7: end_of_interrupt(c, (int)level, true); break;
	default: break;  /* 2: no operation */
	}
}

static void write_ocw3(struct pic_chip *c, uint8_t val)
{
	if (val & 0x04)
		c->poll = true;
	if (val & 0x02)
		c->read_isr = val & 0x01;
	if (val & 0x40)
		c->special_mask = val & 0x20;
}

/* ICW2..ICW4 follow ICW1 on the data port, skipping ICW3 in single mode
 * and ICW4 unless ICW1 asked for it. */
static void write_icw(struct pic_chip *c, uint8_t val)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = val & 0xf8;
		c->init_step = !c->single ? 3 : c->icw4_needed ? 4 : 0;
		break;
	case 3:
		c->icw3 = val;
		c->init_step = c->icw4_needed ? 4 : 0;
		break;
	default:
		c->auto_eoi = val & ICW4_AEOI;
		c->special_fully_nested = val & ICW4_SFNM;
		c->init_step = 0;
		break;
	}
}

void pic_write(struct pic *p, unsigned chip, unsigned port, uint8_t val)
{
	struct pic_chip *c = chip_of(p, chip);
	if (port == 0) {
		if (val & ICW1)
			write_icw1(c, val);
		else if (val & OCW3)
			write_ocw3(c, val);
		else
			write_ocw2(c, val);
	} else if (c->init_step) {
		write_icw(c, val);
	} else {
		c->imr = val;
	}
}

/* The poll word: bit 7 set when an interrupt was waiting, its IR in bits
 * 2..0; reading it acknowledges, as an INTA would. */
static uint8_t read_poll(struct pic *p, struct pic_chip *c)
{
	c->poll = false;
	int ir = chip_next(p, c);
	if (ir < 0)
		return 0;
	take(c, (unsigned)ir);
	return (uint8_t)(0x80 | ir);
}

uint8_t pic_read(struct pic *p, unsigned chip, unsigned port)
{
	struct pic_chip *c = chip_of(p, chip);
	if (c->poll)
		return read_poll(p, c);
	if (port == 1)
		return c->imr;
	return c->read_isr ? c->isr : requests(p, c);
}

uint8_t pic_elcr_read(struct pic *p, unsigned which)
{
	return chip_of(p, which)->elcr;
}

void pic_elcr_write(struct pic *p, unsigned which, uint8_t val)
{
	struct pic_chip *c = chip_of(p, which);
	c->elcr = val & c->elcr_writable;
}

bool pic_output(const struct pic *p)
{
	return chip_next(p, &p->master) >= 0;
}

int pic_peek(const struct pic *p)
{
	int m = chip_next(p, &p->master);
	if (m < 0)
		return -1;
	if (m != PIC_CASCADE_IRQ || p->master.single)
		return p->master.vector_base + m;
	int s = chip_next(p, &p->slave);
	return p->slave.vector_base + (s < 0 ? 7 : s);
}

/* With nothing requesting by the time of the INTA (a level line that fell)
 * a chip answers with its IR7 and sets no ISR bit: the spurious IRQ 7 or,
 * through the cascade, IRQ 15 that Linux counts and ignores. */
int pic_ack(struct pic *p)
{
	int m = chip_next(p, &p->master);
	if (m < 0)
		return p->master.vector_base + 7;
	take(&p->master, (unsigned)m);
	if (m != PIC_CASCADE_IRQ || p->master.single)
		return p->master.vector_base + m;
	int s = chip_next(p, &p->slave);
	if (s < 0)
		return p->slave.vector_base + 7;
	take(&p->slave, (unsigned)s);
	return p->slave.vector_base + s;
}
