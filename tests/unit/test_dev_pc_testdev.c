/* QEMU's pc-testdev: only with --device pc-testdev; the data register at
 * every width and offset and its byte twin, the IRQ-line ports, the flush
 * port, and its 4 KiB of MMIO memory. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dev/device.h"
#include "test_vm.h"
#include "vm.h"

extern struct device_desc pc_testdev_device;

static int last_line = -1, last_level = -1;
static int note_line(struct vm *vm, unsigned line, int level)
{
	(void)vm;
	last_line = (int)line, last_level = level;
	return 0;
}
static const struct engine line_engine = { .name = "none", .irq_line = note_line };

int main(void)
{
	char err[256] = "";
	struct vm *off = test_vm_new(&line_engine, 1, 0);
	CHECK(pc_testdev_device.create(off, err, sizeof(err)) == 0, "pc-testdev/off: create");
	uint8_t d[4];
	CHECK(!bus_access(&off->pio, 0xe0, d, 1, false), "pc-testdev/absent-without-the-option");
	free(off);

	struct vm *vm = test_vm_new(&line_engine, 1, 0);
	vm->cfg.pc_testdev = true;
	CHECK(pc_testdev_device.create(vm, err, sizeof(err)) == 0, "pc-testdev/create (%s)", err);
	pio_out(vm, 0xe0, 0x12345678, 4);
	CHECK_EQ(pio_in(vm, 0xe0, 4), 0x12345678, "pc-testdev/data-reads-back");
	CHECK_EQ(pio_in(vm, 0xe2, 2), 0x1234, "pc-testdev/data-word-at-offset-2");
	pio_out(vm, 0xe1, 0xab, 1);
	CHECK_EQ(pio_in(vm, 0xe0, 4), 0x1234ab78, "pc-testdev/byte-write-at-offset-1");
	CHECK_EQ(pio_in(vm, 0xe8, 4), 0x1234ab78, "pc-testdev/byte-twin-same-register");
	pio_out(vm, 0xe4, 0x100000, 4);
	CHECK_EQ(pio_in(vm, 0xe0, 4), 0x1234ab78, "pc-testdev/flush-changes-nothing-visible");
	pio_out(vm, 0x2000 + 5, 1, 1);
	CHECK(last_line == 5 && last_level == 1, "pc-testdev/irq-line-raised");
	pio_out(vm, 0x2000 + 5, 0, 1);
	CHECK(last_line == 5 && last_level == 0, "pc-testdev/irq-line-lowered");
	uint8_t w[4] = { 1, 2, 3, 4 }, r[4] = { 0 };
	bus_access(&vm->mmio, 0xff000ffe, w, 4, true);
	CHECK(bus_access(&vm->mmio, 0xff000ffe, r, 2, false) && r[0] == 1 && r[1] == 2,
	      "pc-testdev/memory-reads-back-at-its-end");
	CHECK(!bus_access(&vm->mmio, 0xff001000, r, 1, false), "pc-testdev/memory-is-4-kib");
	pc_testdev_device.destroy(vm);
	free(vm);
	return CHECK_DONE();
}
