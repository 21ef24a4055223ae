/* The ACPI PM device as a guest's OSPM reaches it: through the port bus of
 * a hand-made machine with no engine behind it. */
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "dev/acpi_pm.h"
#include "test_vm.h"
#include "vm.h"

static int sci_level;
static int sci_raises;

static int record_irq(struct vm *vm, unsigned line, int level)
{
	(void)vm;
	if (line == IRQ_ACPI_SCI) {
		sci_level = level;
		sci_raises += level != 0;
	}
	return 0;
}

static const struct engine test_engine = { .name = "test", .irq_line = record_irq };

static struct vm *new_vm(void)
{
	struct vm *vm = test_vm_new(&test_engine, 0, 64 << 20);
	sci_level = 0;
	sci_raises = 0;
	char err[256] = "";
	int rc = acpi_pm_device.create(vm, err, sizeof(err));
	CHECK(rc == 0, "acpi-pm: attaches to a machine (%s)", err);
	return vm;
}

static void free_vm(struct vm *vm)
{
	acpi_pm_device.destroy(vm);
	free(vm);
}

static int stopped(struct vm *vm)
{
	return atomic_load(&vm->stopping);
}

static void test_power_off(void)
{
	struct vm *vm = new_vm();
	uint16_t cnt = (uint16_t)pio_in(vm, PORT_ACPI_PM1A_CNT, 2);
	CHECK(cnt & ACPI_PM1_SCI_EN, "acpi-pm: SCI_EN reads 1 (ACPI always enabled)");
	/* What ACPICA does for S5: SLP_TYP first, then SLP_TYP | SLP_EN. */
	uint16_t typ = ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT;
	pio_out(vm, PORT_ACPI_PM1A_CNT, cnt | typ, 2);
	CHECK(!stopped(vm), "acpi-pm: SLP_TYP without SLP_EN keeps the machine running");
	CHECK_EQ(pio_in(vm, PORT_ACPI_PM1A_CNT, 2) & ACPI_PM1_SLP_TYP_MASK, typ, "acpi-pm: SLP_TYP reads back");
	pio_out(vm, PORT_ACPI_PM1A_CNT, cnt | typ | ACPI_PM1_SLP_EN, 2);
	CHECK(stopped(vm) && vm->status == STATUS_OK, "acpi-pm: S5 SLP_TYP | SLP_EN stops the machine, status 0");
	CHECK_STR_CONTAINS(vm->stop_reason, "powered off (ACPI S5)", "acpi-pm: power-off reason");
	free_vm(vm);

	/* The same as two byte writes, the high byte carrying SLP_TYP and SLP_EN. */
	vm = new_vm();
	pio_out(vm, PORT_ACPI_PM1A_CNT, 0x01, 1);
	CHECK(!stopped(vm), "acpi-pm: a low-byte write does not sleep");
	pio_out(vm, PORT_ACPI_PM1A_CNT + 1, (typ | ACPI_PM1_SLP_EN) >> 8, 1);
	CHECK(stopped(vm) && vm->status == STATUS_OK, "acpi-pm: byte-wide SLP_EN write powers off");
	free_vm(vm);

	vm = new_vm();
	for (unsigned t = 0; t < 8; t++)
		if (t != ACPI_SLP_TYP_S5)
			pio_out(vm, PORT_ACPI_PM1A_CNT, (t << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN, 2);
	CHECK(!stopped(vm), "acpi-pm: SLP_EN with another SLP_TYP leaves the machine in S0");
	CHECK_EQ(pio_in(vm, PORT_ACPI_PM1A_CNT, 2) & ACPI_PM1_SLP_EN, 0, "acpi-pm: SLP_EN reads 0");
	free_vm(vm);
}

static void test_reset(void)
{
	struct vm *vm = new_vm();
	pio_out(vm, PORT_ACPI_RESET, 0x01, 1);
	pio_out(vm, PORT_ACPI_RESET + 1, ACPI_RESET_VALUE, 1);
	CHECK(!stopped(vm), "acpi-pm: other values or ports do not reset");
	pio_out(vm, PORT_ACPI_RESET, ACPI_RESET_VALUE, 1);
	CHECK(stopped(vm) && vm->status == STATUS_OK, "acpi-pm: the reset value resets, status 0");
	CHECK_STR_CONTAINS(vm->stop_reason, "guest reset (ACPI)", "acpi-pm: reset reason");
	free_vm(vm);
}

static void test_events(void)
{
	struct vm *vm = new_vm();
	/* ACPICA checks that an enable bit it sets reads back set. */
	pio_out(vm, PORT_ACPI_PM1A_EVT + 2, ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_RTC, 2);
	CHECK_EQ(pio_in(vm, PORT_ACPI_PM1A_EVT + 2, 2), ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_RTC,
		 "acpi-pm: PM1 enable bits read back");
	pio_out(vm, PORT_ACPI_PM1A_EVT + 2, 0xffff, 2);
	CHECK_EQ(pio_in(vm, PORT_ACPI_PM1A_EVT + 2, 2), 0x4721, "acpi-pm: only defined enable bits stick");
	pio_out(vm, PORT_ACPI_PM1A_EVT + 2, 0, 2);
	CHECK_EQ(pio_in(vm, PORT_ACPI_PM1A_EVT, 2), 0, "acpi-pm: no status at power-on");
	CHECK_EQ(sci_raises, 0, "acpi-pm: no SCI at power-on");

	/* 2^23 ticks (2.34 s) have passed: the timer's bit 23 flipped. */
	vm->start_ns -= 2500000000ull;
	CHECK(pio_in(vm, PORT_ACPI_PM1A_EVT, 2) & ACPI_PM1_TMR, "acpi-pm: TMR_STS after bit 23 of the count flips");
	CHECK_EQ(sci_raises, 0, "acpi-pm: no SCI while TMR_EN is clear");
	pio_out(vm, PORT_ACPI_PM1A_EVT + 2, ACPI_PM1_TMR, 2);
	CHECK(sci_level == 1, "acpi-pm: TMR_STS with TMR_EN raises the SCI");
	pio_out(vm, PORT_ACPI_PM1A_EVT, ACPI_PM1_TMR, 2);
	CHECK_EQ(pio_in(vm, PORT_ACPI_PM1A_EVT, 2) & ACPI_PM1_TMR, 0, "acpi-pm: writing 1 clears TMR_STS");
	CHECK(sci_level == 0, "acpi-pm: clearing the status lowers the SCI");
	pio_out(vm, PORT_ACPI_PM1A_EVT, 0, 4);
	CHECK(!stopped(vm), "acpi-pm: event registers never stop the machine");
	free_vm(vm);
}

static void test_timer(void)
{
	CHECK_EQ(acpi_pm_timer_ticks(0), 0, "acpi-pm timer: 0 at start");
	CHECK_EQ(acpi_pm_timer_ticks(1000000000ull), 3579545, "acpi-pm timer: 3579545 ticks a second");
	CHECK_EQ(acpi_pm_timer_ticks(1000ull), 3, "acpi-pm timer: 3 ticks a microsecond (3.58)");
	/* 2^24 ticks take 4.687 s; a second later the count restarted from 0. */
	CHECK_EQ(acpi_pm_timer_ticks(5687000000ull), (uint32_t)((5687000000ull * 3579545ull / 1000000000ull) & 0xffffff),
		 "acpi-pm timer: wraps at 24 bits");
	CHECK_EQ(acpi_pm_timer_ticks(3600ull * 1000000000ull), (3600ull * 3579545) & 0xffffff,
		 "acpi-pm timer: exact after an hour");
	CHECK_EQ(acpi_pm_timer_ticks(100ull * 24 * 3600 * 1000000000ull),
		 (100ull * 24 * 3600 * 3579545) & 0xffffff, "acpi-pm timer: exact after 100 days (no overflow)");

	struct vm *vm = new_vm();
	uint32_t a = pio_in(vm, PORT_ACPI_PM_TMR, 4);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	uint32_t b = pio_in(vm, PORT_ACPI_PM_TMR, 4);
	uint32_t delta = (b - a) & 0xffffff;
	CHECK((a >> 24) == 0 && (b >> 24) == 0, "acpi-pm timer: bits 24-31 read 0");
	CHECK(delta >= 71591 && delta < 71591 * 20, "acpi-pm timer: 20 ms of sleep is about 71591 ticks (%u)",
	      delta);
	CHECK(pio_in(vm, PORT_ACPI_PM_TMR + 2, 2) <= 0xff, "acpi-pm timer: a 16-bit read of the high half");
	free_vm(vm);
}

int main(void)
{
	test_power_off();
	test_reset();
	test_events();
	test_timer();
	return CHECK_DONE();
}
