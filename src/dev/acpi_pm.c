/* See acpi_pm.h. ACPI is "always enabled" (the FADT names no SMI command
 * port), so SCI_EN reads 1 and no mode switch exists. Registers may be read
 * and written at any width and offset inside the block; a read sees one
 * instant of the timer, never bytes of two.
 *
 * Limitation: the timer's overflow status (TMR_STS, set when bit 23 of the
 * count flips) is brought up to date whenever the guest touches the block,
 * not at the moment it happens, so a guest waiting for the overflow SCI
 * without ever reading the block would wait forever. Linux does not use it. */
#include "dev/acpi_pm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/device_state.h"
#include "vm.h"

/* Offsets inside the block. */
#define OFF_STS   0x0
#define OFF_EN    0x2
#define OFF_CNT   0x4
#define OFF_TMR   0x8
#define OFF_RESET 0xc

/* The bits that exist; status-only ones cannot be enabled. */
#define STS_BITS (ACPI_PM1_TMR | ACPI_PM1_BM_STS | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
		  ACPI_PM1_SLPBTN | ACPI_PM1_RTC | ACPI_PM1_WAK_STS)
#define EN_BITS  (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | \
		  ACPI_PM1_RTC | ACPI_PM1_PCIEXP_WAKE)
/* What the control register keeps; SLP_EN and GBL_RLS only act. */
#define CNT_KEPT (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP_MASK)

struct acpi_pm {
	struct vm *vm;
	uint16_t sts, en, cnt;
	uint64_t tmr_half;      /* count >> 23 when TMR_STS was last brought up to date */
	int sci;                /* the level last put on the SCI line */
};

static uint64_t ticks_since_start(uint64_t ns)
{
	const uint64_t second = 1000000000ull;
	return ns / second * ACPI_PM_TIMER_HZ + ns % second * ACPI_PM_TIMER_HZ / second;
}

uint32_t acpi_pm_timer_ticks(uint64_t ns)
{
	return (uint32_t)(ticks_since_start(ns) & ACPI_PM_TIMER_MASK);
}

/* The count now, with TMR_STS set if bit 23 flipped since the last look. */
static uint32_t timer_now(struct acpi_pm *p)
{
	uint64_t count = ticks_since_start(vm_now_ns(p->vm));
	if (count >> 23 != p->tmr_half) {
		p->tmr_half = count >> 23;
		p->sts |= ACPI_PM1_TMR;
	}
	return (uint32_t)(count & ACPI_PM_TIMER_MASK);
}

static void update_sci(struct acpi_pm *p)
{
	int level = (p->sts & p->en & EN_BITS) != 0;
	if (level == p->sci)
		return;
	p->sci = level;
	vm_irq_line(p->vm, IRQ_ACPI_SCI, level);
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static void pm_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	struct acpi_pm *p = opaque;
	uint8_t regs[ACPI_PM_SIZE + 8] = { 0 };
	uint32_t tmr = timer_now(p);
	put16(regs + OFF_STS, p->sts);
	put16(regs + OFF_EN, p->en);
	put16(regs + OFF_CNT, (uint16_t)(p->cnt | ACPI_PM1_SCI_EN));
	put16(regs + OFF_TMR, (uint16_t)tmr);
	put16(regs + OFF_TMR + 2, (uint16_t)(tmr >> 16));
	/* off < ACPI_PM_SIZE and size <= 8: inside regs, past the block reads 0. */
	memcpy(data, regs + off, size);
	update_sci(p);
}

/* SLP_EN: the only sleep state popek defines is soft off; SLP_EN with
 * another SLP_TYP leaves the machine working (S0). */
static void sleep_request(struct acpi_pm *p, unsigned slp_typ)
{
	if (slp_typ == ACPI_SLP_TYP_S5)
		vm_request_stop(p->vm, STATUS_OK, "guest powered off (ACPI S5)");
}

/* One byte of a write; shift is 0 for a register's low byte, 8 for its high. */
static void write_byte(struct acpi_pm *p, unsigned off, uint8_t v)
{
	unsigned shift = (off & 1) * 8;
	uint16_t bits = (uint16_t)(v << shift), keep = (uint16_t)(0xff00u >> shift);
	switch (off & ~1u) {
	case OFF_STS:
		p->sts &= (uint16_t)~(bits & STS_BITS);
		break;
	case OFF_EN:
		p->en = (uint16_t)((p->en & keep) | (bits & EN_BITS));
		break;
	case OFF_CNT:
		p->cnt = (uint16_t)((p->cnt & keep) | (bits & CNT_KEPT));
		if (bits & ACPI_PM1_SLP_EN)
			sleep_request(p, (bits & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT);
		break;
	case OFF_RESET:
		if (off == OFF_RESET && v == ACPI_RESET_VALUE)
			vm_request_stop(p->vm, STATUS_OK, "guest reset (ACPI)");
		break;
	default:
		break;  /* the timer is read-only; the rest is reserved */
	}
}

static void pm_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct acpi_pm *p = opaque;
	timer_now(p);
	for (unsigned i = 0; i < size && off + i < ACPI_PM_SIZE; i++)
		write_byte(p, (unsigned)(off + i), data[i]);
	update_sci(p);
}

static const struct io_handler acpi_pm_ops = { pm_read, pm_write };

static int acpi_pm_create(struct vm *vm, char *err, size_t n)
{
	struct acpi_pm *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	p->vm = vm;
	p->cnt = ACPI_PM1_SCI_EN;
	if (bus_register(&vm->pio, PORT_ACPI_PM, ACPI_PM_SIZE, &acpi_pm_ops, p, "acpi-pm") != 0) {
		free(p);
		snprintf(err, n, "ports %#x-%#x are taken", PORT_ACPI_PM, PORT_ACPI_PM + ACPI_PM_SIZE - 1);
		return -1;
	}
	return 0;
}

static void acpi_pm_destroy(struct vm *vm)
{
	free(device_opaque(&vm->pio, &acpi_pm_ops));
}

struct device_desc acpi_pm_device = { .name = "acpi-pm", .create = acpi_pm_create,
				      .destroy = acpi_pm_destroy };
DEVICE(acpi_pm_device)
