/* 8254 core. See pit.h; modes, commands and the status byte are the Intel
 * 8254 datasheet's. A counter is modelled by when it started and how many
 * CLK pulses have passed since; the datasheet's one-pulse delay between
 * writing a count and loading it is not modelled (838 ns). */
#include <string.h>

#include "dev/pit.h"

#define CW_SELECT(v)  ((v) >> 6)
#define CW_ACCESS(v)  (((v) >> 4) & 3)
#define CW_MODE(v)    (((v) >> 1) & 7)
#define CW_BCD        0x01
#define SELECT_READBACK 3
#define RB_NO_COUNT   0x20
#define RB_NO_STATUS  0x10
#define STATUS_OUT    0x80
#define STATUS_NULL   0x40
#define REFRESH_NS    15085   /* port 0x61 bit 4 toggles with DRAM refresh */

/* CLK pulses since time 0, split so the product cannot overflow. */
static uint64_t ticks_at(uint64_t ns)
{
	return ns / 1000000000ull * PIT_HZ + ns % 1000000000ull * PIT_HZ / 1000000000ull;
}

static uint64_t now_ticks(const struct pit *p)
{
	return ticks_at(p->now_ns(p->clock));
}

static uint32_t modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000 : 65536;
}

static uint32_t from_bcd(uint32_t v)
{
	return (v >> 12 & 15) * 1000 + (v >> 8 & 15) * 100 + (v >> 4 & 15) * 10 + (v & 15);
}

static uint16_t to_bcd(uint32_t v)
{
	return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

/* Pulses counted since the count was loaded or the trigger came. */
static uint64_t elapsed(const struct pit_channel *c, uint64_t t)
{
	if (c->paused)
		return c->paused_ticks;
	return t > c->start_tick ? t - c->start_tick : 0;
}

static void start(struct pit_channel *c, uint64_t t)
{
	c->start_tick = t;
	c->paused = !c->gate;
	c->paused_ticks = 0;
	c->seen_ticks = 0;
}

static bool periodic(const struct pit_channel *c)
{
	return c->mode == 2 || c->mode == 3;
}

static bool hardware_triggered(const struct pit_channel *c)
{
	return c->mode == 1 || c->mode == 5;
}

static bool out_at(const struct pit_channel *c, uint64_t e)
{
	uint64_t n = c->reload;
	if (!c->loaded)
		return c->mode != 0;
	if (hardware_triggered(c) && !c->triggered)
		return true;
	switch (c->mode) {
	case 0:
	case 1:
		return e >= n;
	case 2:
		/* Gate low forces OUT high in modes 2 and 3. */
		return c->paused || n < 2 || e % n != n - 1;
	case 3:
		return c->paused || e % n < (n + 1) / 2;
	default:
		return e != n;  /* 4, 5: one pulse low at terminal count */
	}
}

static uint32_t count_at(const struct pit_channel *c, uint64_t e)
{
	uint32_t n = c->reload, m = modulus(c);
	if (!c->loaded || (hardware_triggered(c) && !c->triggered))
		return n % m;
	if (c->mode == 2)
		return n - (uint32_t)(e % n);
	if (c->mode == 3) {
		/* Mode 3 counts down by two, once for each half period. */
		uint32_t phase = (uint32_t)(e % n), half = (n + 1) / 2;
		return n - 2 * (phase < half ? phase : phase - half);
	}
	return (n + m - (uint32_t)(e % m)) % m;  /* wraps on after terminal count */
}

static uint16_t visible(const struct pit_channel *c, uint32_t count)
{
	count %= modulus(c);
	return c->bcd ? to_bcd(count) : (uint16_t)count;
}

/* Rising edges of OUT between pulse counts e0 and e1. */
static bool rose_between(const struct pit_channel *c, uint64_t e0, uint64_t e1)
{
	uint64_t n = c->reload;
	if (!c->loaded || c->paused || e1 <= e0 || (hardware_triggered(c) && !c->triggered))
		return false;
	switch (c->mode) {
	case 0:
	case 1:
		return e0 < n && e1 >= n;
	case 2:
	case 3:
		return n >= 2 && e1 / n != e0 / n;
	default:
		return e0 < n + 1 && e1 >= n + 1;
	}
}

void pit_init(struct pit *p, uint64_t (*now_ns)(void *clock), void *clock)
{
	memset(p, 0, sizeof(*p));
	p->now_ns = now_ns;
	p->clock = clock;
	for (unsigned i = 0; i < 3; i++) {
		p->ch[i].gate = i != 2;  /* GATE2 follows port 0x61, which starts at 0 */
		p->ch[i].access = 3;
		p->ch[i].reload = 65536;
		p->ch[i].seen_out = true;
	}
}

static void load(struct pit *p, struct pit_channel *c, uint32_t value)
{
	uint32_t n = c->bcd ? from_bcd(value) : value;
	c->reload = n ? n : modulus(c);
	c->loaded = true;
	if (hardware_triggered(c))
		return;  /* counting begins at the next gate edge */
	/* Modes 0 and 4 restart on every write; 2 and 3 the datasheet
	 * restarts at the end of the current period, popek at once. */
	start(c, now_ticks(p));
}

static void write_count(struct pit *p, struct pit_channel *c, uint8_t val)
{
	switch (c->access) {
	case 1:
		load(p, c, val);
		break;
	case 2:
		load(p, c, (uint32_t)val << 8);
		break;
	default:
		if (!c->write_msb) {
			c->write_lsb = val;
			c->write_msb = true;
			/* Mode 0: the first byte stops the count and drops OUT. */
			if (c->mode == 0)
				c->loaded = false;
			return;
		}
		c->write_msb = false;
		load(p, c, c->write_lsb | (uint32_t)val << 8);
		break;
	}
}

static void latch_count(struct pit *p, struct pit_channel *c)
{
	if (c->count_latched)
		return;  /* later latches wait until the first is read */
	c->latch = visible(c, count_at(c, elapsed(c, now_ticks(p))));
	c->count_latched = true;
	c->read_msb = false;
}

static void latch_status(struct pit *p, struct pit_channel *c)
{
	if (c->status_latched)
		return;
	bool out = out_at(c, elapsed(c, now_ticks(p)));
	c->status = (uint8_t)((out ? STATUS_OUT : 0) | (c->loaded ? 0 : STATUS_NULL) |
			      c->access << 4 | c->mode << 1 | (c->bcd ? CW_BCD : 0));
	c->status_latched = true;
}

static void read_back(struct pit *p, uint8_t val)
{
	for (unsigned i = 0; i < 3; i++) {
		if (!(val & (2u << i)))
			continue;
		if (!(val & RB_NO_STATUS))
			latch_status(p, &p->ch[i]);
		if (!(val & RB_NO_COUNT))
			latch_count(p, &p->ch[i]);
	}
}

static void write_control(struct pit *p, uint8_t val)
{
	if (CW_SELECT(val) == SELECT_READBACK) {
		read_back(p, val);
		return;
	}
	struct pit_channel *c = &p->ch[CW_SELECT(val)];
	if (CW_ACCESS(val) == 0) {
		latch_count(p, c);
		return;
	}
	unsigned mode = CW_MODE(val);
	c->mode = (uint8_t)(mode > 5 ? mode - 4 : mode);  /* 6 and 7 are 2 and 3 */
	c->access = (uint8_t)CW_ACCESS(val);
	c->bcd = val & CW_BCD;
	c->loaded = false;
	c->triggered = false;
	c->paused = false;
	c->write_msb = false;
	c->read_msb = false;
	c->count_latched = false;
	c->status_latched = false;
}

void pit_write(struct pit *p, unsigned port, uint8_t val)
{
	if (port == 3)
		write_control(p, val);
	else if (port < 3)
		write_count(p, &p->ch[port], val);
}

/* LSB/MSB access reads the low byte, then the high one. */
static uint8_t read_byte(struct pit_channel *c, uint16_t v, bool *done)
{
	*done = true;
	if (c->access == 1)
		return (uint8_t)v;
	if (c->access == 2)
		return (uint8_t)(v >> 8);
	c->read_msb = !c->read_msb;
	*done = !c->read_msb;
	return c->read_msb ? (uint8_t)v : (uint8_t)(v >> 8);
}

uint8_t pit_read(struct pit *p, unsigned port)
{
	if (port >= 3)
		return 0xff;  /* the control word register cannot be read */
	struct pit_channel *c = &p->ch[port];
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	bool done;
	if (c->count_latched) {
		uint8_t v = read_byte(c, c->latch, &done);
		if (done)
			c->count_latched = false;
		return v;
	}
	return read_byte(c, pit_count(p, port), &done);
}

uint16_t pit_count(struct pit *p, unsigned ch)
{
	const struct pit_channel *c = &p->ch[ch];
	return visible(c, count_at(c, elapsed(c, now_ticks(p))));
}

bool pit_out(struct pit *p, unsigned ch)
{
	const struct pit_channel *c = &p->ch[ch];
	return out_at(c, elapsed(c, now_ticks(p)));
}

void pit_set_gate(struct pit *p, unsigned ch, bool gate)
{
	struct pit_channel *c = &p->ch[ch];
	if (gate == c->gate)
		return;
	uint64_t t = now_ticks(p);
	if (!gate) {
		/* Modes 0, 2, 3 and 4 stop counting while the gate is low. */
		if (c->loaded && !c->paused && !hardware_triggered(c)) {
			c->paused_ticks = elapsed(c, t);
			c->paused = true;
		}
		c->gate = false;
		return;
	}
	c->gate = true;
	if (!c->loaded)
		return;
	if (hardware_triggered(c)) {
		c->triggered = true;  /* the rising edge (re)starts the count */
		start(c, t);
	} else if (periodic(c)) {
		start(c, t);          /* modes 2 and 3 reload on the rising edge */
	} else if (c->paused) {
		c->start_tick = t - c->paused_ticks;  /* modes 0 and 4 resume */
		c->paused = false;
	}
}

bool pit_poll_out(struct pit *p, unsigned ch, bool *level)
{
	struct pit_channel *c = &p->ch[ch];
	uint64_t e = elapsed(c, now_ticks(p));
	bool out = out_at(c, e);
	uint64_t from = c->seen_ticks <= e ? c->seen_ticks : 0;
	bool rose = rose_between(c, from, e) || (out && !c->seen_out);
	c->seen_ticks = e;
	c->seen_out = out;
	*level = out;
	return rose;
}

/* The first nanosecond at which ticks_at() reaches tick. */
static uint64_t ns_of_tick(uint64_t tick)
{
	uint64_t rem = tick % PIT_HZ * 1000000000ull;
	return tick / PIT_HZ * 1000000000ull + (rem + PIT_HZ - 1) / PIT_HZ;
}

uint64_t pit_next_edge_ns(struct pit *p, unsigned ch)
{
	const struct pit_channel *c = &p->ch[ch];
	uint64_t n = c->reload;
	if (!c->loaded || c->paused || (hardware_triggered(c) && !c->triggered))
		return UINT64_MAX;
	uint64_t e = elapsed(c, now_ticks(p)), at;
	switch (c->mode) {
	case 0:
	case 1:
		if (e >= n)
			return UINT64_MAX;
		at = n;
		break;
	case 2:
	case 3:
		if (n < 2)
			return UINT64_MAX;
		at = (e / n + 1) * n;
		break;
	default:
		if (e >= n + 1)
			return UINT64_MAX;
		at = n + 1;
		break;
	}
	return ns_of_tick(c->start_tick + at);
}

uint8_t pit_port61_read(struct pit *p)
{
	uint64_t ns = p->now_ns(p->clock);
	return (uint8_t)((p->port61 & 0x0f) | (ns / REFRESH_NS & 1) << 4 | (pit_out(p, 2) ? 0x20 : 0));
}

void pit_port61_write(struct pit *p, uint8_t val)
{
	p->port61 = val & 0x0f;
	pit_set_gate(p, 2, val & 1);
}
