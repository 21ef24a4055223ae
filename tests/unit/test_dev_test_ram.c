/* The test device: MMIO that remembers writes, at every width and offset. */
#include <stdlib.h>

#include "check.h"
#include "dev/device.h"
#include "test_vm.h"
#include "vm.h"

extern struct device_desc test_ram_device;

static const struct engine no_engine = { .name = "none" };

int main(void)
{
	struct vm *vm = test_vm_new(&no_engine, 0, 0);
	char err[256] = "";
	CHECK(test_ram_device.create(vm, err, sizeof(err)) == 0, "test-ram/create");
	CHECK(test_ram_device.create(vm, err, sizeof(err)) == -1 && strstr(err, "taken"),
	      "test-ram/second-instance-refused");
	uint8_t w[8] = { 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01 }, r[8];
	bus_access(&vm->mmio, MMIO_TEST_RAM + 0x30, w, 8, true);
	CHECK(bus_access(&vm->mmio, MMIO_TEST_RAM + 0x30, r, 8, false) && memcmp(r, w, 8) == 0,
	      "test-ram/write64-read64");
	CHECK(bus_access(&vm->mmio, MMIO_TEST_RAM + 0x33, r, 2, false) && r[0] == 0x89 && r[1] == 0x67,
	      "test-ram/unaligned-read16-little-endian");
	bus_access(&vm->mmio, MMIO_TEST_RAM + 0xffe, w, 4, true);
	CHECK(bus_access(&vm->mmio, MMIO_TEST_RAM + 0x1000, r, 2, false) && r[0] == 0xab && r[1] == 0x89,
	      "test-ram/write-across-page-boundary");
	bus_access(&vm->mmio, MMIO_TEST_RAM + MMIO_TEST_RAM_SIZE - 2, w, 4, true);
	CHECK(bus_access(&vm->mmio, MMIO_TEST_RAM + MMIO_TEST_RAM_SIZE - 2, r, 4, false) &&
	      r[0] == 0xef && r[1] == 0xcd && r[2] == 0xff && r[3] == 0xff,
	      "test-ram/past-the-end-reads-ones");
	CHECK(!bus_access(&vm->mmio, MMIO_TEST_RAM + MMIO_TEST_RAM_SIZE, r, 1, false),
	      "test-ram/ends-after-two-pages");
	test_ram_device.destroy(vm);
	free(vm);
	return CHECK_DONE();
}
