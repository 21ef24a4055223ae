/* The test device: two pages of MMIO that remember what is written, like
 * QEMU's pc-testdev memory. Each access is an exit, so guests can check MMIO
 * emulation of every width, unaligned and across a page boundary, against
 * plain memory semantics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/device.h"
#include "dev/device_state.h"
#include "vm.h"

struct test_ram {
	uint8_t bytes[MMIO_TEST_RAM_SIZE];
};

static void test_ram_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	struct test_ram *t = opaque;
	memory_read(t->bytes, MMIO_TEST_RAM_SIZE, off, data, size);
}

static void test_ram_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct test_ram *t = opaque;
	memory_write(t->bytes, MMIO_TEST_RAM_SIZE, off, data, size);
}

static const struct io_handler test_ram_ops = { test_ram_read, test_ram_write };

static int test_ram_create(struct vm *vm, char *err, size_t n)
{
	struct test_ram *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	if (bus_register(&vm->mmio, MMIO_TEST_RAM, MMIO_TEST_RAM_SIZE, &test_ram_ops, t, "test-ram") != 0) {
		free(t);
		snprintf(err, n, "MMIO range %#llx is taken", MMIO_TEST_RAM);
		return -1;
	}
	return 0;
}

static void test_ram_destroy(struct vm *vm)
{
	free(device_opaque(&vm->mmio, &test_ram_ops));
}

struct device_desc test_ram_device = {
	.name = "test-ram", .create = test_ram_create, .destroy = test_ram_destroy,
};
DEVICE(test_ram_device)
