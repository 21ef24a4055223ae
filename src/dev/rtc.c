/* See rtc.h. The register meanings and the CMOS layout are those of the
 * MC146818 datasheet and of the PC/AT BIOS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/device_state.h"
#include "dev/platform.h"
#include "dev/rtc.h"
#include "mem/guest_mem.h"
#include "vm.h"

/* CMOS bytes a BIOS fills in. */
#define CMOS_BASE_MEM_LO    0x15   /* KiB below 1 MiB */
#define CMOS_EXT_MEM_LO     0x17   /* KiB from 1 MiB, at most 0xffff */
#define CMOS_CHECKSUM_HI    0x2e   /* sum of 0x10-0x2d */
#define CMOS_EXT_MEM2_LO    0x30   /* copy of 0x17/0x18 */
#define CMOS_MEM_16M_LO     0x34   /* 64 KiB units from 16 MiB to the hole */
#define CMOS_MEM_4G         0x5b   /* 64 KiB units from 4 GiB, 3 bytes */

static bool binary_mode(const struct rtc *r)
{
	return r->cmos[RTC_REG_B] & RTC_B_DM_BINARY;
}

/* BCD holds two digits: a year before 1900 (tm_year < 0, which the guest
 * can set) or a century past 99 shows its last two. */
static uint8_t encode(const struct rtc *r, int v)
{
	if (binary_mode(r))
		return (uint8_t)v;
	int d = (v % 100 + 100) % 100;
	return (uint8_t)((d / 10) << 4 | d % 10);
}

static int decode(const struct rtc *r, uint8_t v)
{
	return binary_mode(r) ? v : (v >> 4) * 10 + (v & 0x0f);
}

/* 12-hour mode counts 12, 1, ..., 11 with bit 7 for PM. */
static uint8_t encode_hour(const struct rtc *r, int hour)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return encode(r, hour);
	int h12 = hour % 12 ? hour % 12 : 12;
	return (uint8_t)(encode(r, h12) | (hour >= 12 ? 0x80 : 0));
}

static int decode_hour(const struct rtc *r, uint8_t v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return decode(r, v);
	return decode(r, v & 0x7f) % 12 + (v & 0x80 ? 12 : 0);
}

/* While SET holds the clock, the time registers are the fields as last
 * written, and time does not advance. */
static void guest_time(const struct rtc *r, struct tm *tm, long *nsec)
{
	if (r->held) {
		*tm = r->held_tm;
		if (nsec)
			*nsec = 0;
		return;
	}
	struct timespec now;
	r->clock(r->clock_opaque, &now);
	time_t t = (time_t)(now.tv_sec + r->offset);
	gmtime_r(&t, tm);
	if (nsec)
		*nsec = now.tv_nsec;
}

/* The guest set one field: keep the rest of the date as it is now. */
static void set_guest_time(struct rtc *r, const struct tm *tm)
{
	struct tm copy = *tm;
	struct timespec now;
	r->clock(r->clock_opaque, &now);
	r->offset = (int64_t)timegm(&copy) - (int64_t)now.tv_sec;
}

static uint8_t read_time(const struct rtc *r, uint8_t reg)
{
	struct tm tm;
	guest_time(r, &tm, NULL);
	switch (reg) {
	case RTC_SECONDS:
		return encode(r, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case RTC_MINUTES:
		return encode(r, tm.tm_min);
	case RTC_HOURS:
		return encode_hour(r, tm.tm_hour);
	case RTC_DAY_OF_WEEK:
		return encode(r, tm.tm_wday + 1);  /* Sunday is 1 */
	case RTC_DAY_OF_MONTH:
		return encode(r, tm.tm_mday);
	case RTC_MONTH:
		return encode(r, tm.tm_mon + 1);
	case RTC_YEAR:
		return encode(r, tm.tm_year % 100);
	default:  /* RTC_CENTURY */
		return encode(r, (tm.tm_year + 1900) / 100);
	}
}

static void write_time(struct rtc *r, uint8_t reg, uint8_t val)
{
	struct tm tm;
	guest_time(r, &tm, NULL);
	switch (reg) {
	case RTC_SECONDS:
		tm.tm_sec = decode(r, val);
		break;
	case RTC_MINUTES:
		tm.tm_min = decode(r, val);
		break;
	case RTC_HOURS:
		tm.tm_hour = decode_hour(r, val);
		break;
	case RTC_DAY_OF_MONTH:
		tm.tm_mday = decode(r, val);
		break;
	case RTC_MONTH:
		tm.tm_mon = decode(r, val) - 1;
		break;
	case RTC_YEAR:
		tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + decode(r, val) - 1900;
		break;
	case RTC_CENTURY:
		tm.tm_year = decode(r, val) * 100 + (tm.tm_year + 1900) % 100 - 1900;
		break;
	default:
		return;  /* the day of the week follows from the date */
	}
	/* Setting fields one by one can pass through dates that do not exist
	 * (Feb 31); under SET they are kept as written until the release. */
	if (r->held)
		r->held_tm = tm;
	else
		set_guest_time(r, &tm);
}

static bool is_time_reg(uint8_t reg)
{
	return reg == RTC_SECONDS || reg == RTC_MINUTES || reg == RTC_HOURS ||
	       (reg >= RTC_DAY_OF_WEEK && reg <= RTC_YEAR) || reg == RTC_CENTURY;
}

/* UIP is high during the last 244 us of each second, while the divider
 * runs and SET does not hold the clock: brief enough that Linux's "wait
 * while UIP" loop ends, and there, so its "wait for UIP" loop ends too. */
static uint8_t read_reg_a(const struct rtc *r)
{
	uint8_t a = r->cmos[RTC_REG_A];
	if ((a & RTC_A_DIVIDER) != RTC_A_DV_32K || (r->cmos[RTC_REG_B] & RTC_B_SET))
		return a;
	struct tm tm;
	long nsec;
	guest_time(r, &tm, &nsec);
	return nsec >= 1000000000L - RTC_UIP_NS ? (uint8_t)(a | RTC_A_UIP) : a;
}

/* IRQF and the line follow the enabled flags in register C. */
static void update_irq(struct rtc *r)
{
	uint8_t b = r->cmos[RTC_REG_B], c = r->cmos[RTC_REG_C] & ~RTC_C_IRQF;
	bool on = ((c & RTC_C_PF) && (b & RTC_B_PIE)) || ((c & RTC_C_AF) && (b & RTC_B_AIE)) ||
		  ((c & RTC_C_UF) && (b & RTC_B_UIE));
	r->cmos[RTC_REG_C] = (uint8_t)(c | (on ? RTC_C_IRQF : 0));
	if (on != r->irq_level) {
		r->irq_level = on;
		if (r->irq)
			r->irq(r->irq_opaque, on);
	}
}

/* SET rising freezes the clock; falling starts it from the fields. */
static void write_reg_b(struct rtc *r, uint8_t val)
{
	bool set = val & RTC_B_SET;
	if (set && !r->held) {
		guest_time(r, &r->held_tm, NULL);
		r->held = true;
	} else if (!set && r->held) {
		r->held = false;
		set_guest_time(r, &r->held_tm);
	}
	r->cmos[RTC_REG_B] = val;
	update_irq(r);
}

uint8_t rtc_read_reg(struct rtc *r, uint8_t reg)
{
	reg &= 0x7f;
	if (is_time_reg(reg))
		return read_time(r, reg);
	switch (reg) {
	case RTC_REG_A:
		return read_reg_a(r);
	case RTC_REG_C: {
		uint8_t c = r->cmos[RTC_REG_C];
		r->cmos[RTC_REG_C] = 0;  /* reading acknowledges every flag */
		update_irq(r);
		return c;
	}
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		return r->cmos[reg];
	}
}

void rtc_write_reg(struct rtc *r, uint8_t reg, uint8_t val)
{
	reg &= 0x7f;
	if (is_time_reg(reg)) {
		write_time(r, reg, val);
		return;
	}
	switch (reg) {
	case RTC_REG_A:
		r->cmos[RTC_REG_A] = val & ~RTC_A_UIP;
		break;
	case RTC_REG_B:
		write_reg_b(r, val);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;  /* read-only */
	default:
		r->cmos[reg] = val;
		break;
	}
}

void rtc_write_index(struct rtc *r, uint8_t val)
{
	r->nmi_masked = val & 0x80;
	r->index = val & 0x7f;
}

uint8_t rtc_read_data(struct rtc *r)
{
	return rtc_read_reg(r, r->index);
}

void rtc_write_data(struct rtc *r, uint8_t val)
{
	rtc_write_reg(r, r->index, val);
}

void rtc_init(struct rtc *r, rtc_clock_fn clock, void *clock_opaque)
{
	memset(r, 0, sizeof(*r));
	r->clock = clock;
	r->clock_opaque = clock_opaque;
	r->cmos[RTC_REG_A] = RTC_A_DV_32K | 0x06;  /* 1024 Hz periodic rate, as a BIOS sets */
	r->cmos[RTC_REG_B] = RTC_B_24H;            /* BCD, 24-hour */
	r->cmos[RTC_REG_D] = RTC_D_VRT;
}

static void put16(struct rtc *r, uint8_t at, uint64_t v)
{
	r->cmos[at] = (uint8_t)v;
	r->cmos[at + 1] = (uint8_t)(v >> 8);
}

static uint64_t cap(uint64_t v, uint64_t max)
{
	return v > max ? max : v;
}

void rtc_set_memory(struct rtc *r, uint64_t low, uint64_t high)
{
	const uint64_t mib = 1 << 20;
	put16(r, CMOS_BASE_MEM_LO, 640);
	uint64_t ext_kib = low > mib ? cap((low - mib) >> 10, 0xffff) : 0;
	put16(r, CMOS_EXT_MEM_LO, ext_kib);
	put16(r, CMOS_EXT_MEM2_LO, ext_kib);
	put16(r, CMOS_MEM_16M_LO, low > 16 * mib ? cap((low - 16 * mib) >> 16, 0xffff) : 0);
	uint64_t above_4g = cap(high >> 16, 0xffffff);
	r->cmos[CMOS_MEM_4G] = (uint8_t)above_4g;
	r->cmos[CMOS_MEM_4G + 1] = (uint8_t)(above_4g >> 8);
	r->cmos[CMOS_MEM_4G + 2] = (uint8_t)(above_4g >> 16);
	unsigned sum = 0;
	for (int i = 0x10; i < CMOS_CHECKSUM_HI; i++)
		sum += r->cmos[i];
	r->cmos[CMOS_CHECKSUM_HI] = (uint8_t)(sum >> 8);
	r->cmos[CMOS_CHECKSUM_HI + 1] = (uint8_t)sum;
}

/* The glue: ports 0x70-0x71 on the machine's clock. */

/* Where a deterministic run's clock starts: 2026-01-01 00:00:00 UTC. Real
 * time would make two runs of the same guest differ. */
#define DETERMINISTIC_EPOCH 1767225600

struct cmos {
	struct rtc rtc;
	struct vm *vm;
};

static void host_clock(void *opaque, struct timespec *now)
{
	struct cmos *c = opaque;
	if (!c->vm->cfg.deterministic) {
		clock_gettime(CLOCK_REALTIME, now);
		return;
	}
	uint64_t ns = vm_now_ns(c->vm);
	now->tv_sec = DETERMINISTIC_EPOCH + (time_t)(ns / 1000000000u);
	now->tv_nsec = (long)(ns % 1000000000u);
}

static void cmos_irq(void *opaque, int level)
{
	struct cmos *c = opaque;
	vm_irq_line(c->vm, IRQ_RTC, level);
}

/* Port 0x70 is write-only: reading it finds nothing driving the bus. */
static uint8_t cmos_read_byte(void *opaque, uint64_t off)
{
	struct cmos *c = opaque;
	return off == 1 ? rtc_read_data(&c->rtc) : 0xff;
}

static void cmos_write_byte(void *opaque, uint64_t off, uint8_t val)
{
	struct cmos *c = opaque;
	if (off == 0)
		rtc_write_index(&c->rtc, val);
	else if (off == 1)
		rtc_write_data(&c->rtc, val);
}

static void cmos_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	bytewise_read(cmos_read_byte, opaque, off, data, size);
}

static void cmos_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	bytewise_write(cmos_write_byte, opaque, off, data, size);
}

static const struct io_handler cmos_ops = { cmos_read, cmos_write };

static int rtc_create(struct vm *vm, char *err, size_t n)
{
	struct cmos *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	c->vm = vm;
	rtc_init(&c->rtc, host_clock, c);
	c->rtc.irq = cmos_irq;
	c->rtc.irq_opaque = c;
	uint64_t ram = vm->cfg.ram_size;
	uint64_t low = ram < MEM_LOW_LIMIT ? ram : MEM_LOW_LIMIT;
	rtc_set_memory(&c->rtc, low, ram - low);
	if (bus_register(&vm->pio, PORT_RTC_INDEX, 2, &cmos_ops, c, "rtc") != 0) {
		free(c);
		snprintf(err, n, "ports %#x-%#x are taken", PORT_RTC_INDEX, PORT_RTC_DATA);
		return -1;
	}
	return 0;
}

static void rtc_destroy(struct vm *vm)
{
	free(device_opaque(&vm->pio, &cmos_ops));
}

struct device_desc rtc_device = { .name = "rtc", .create = rtc_create, .destroy = rtc_destroy };
DEVICE(rtc_device)
