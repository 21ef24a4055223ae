/* QEMU's isa-debug-exit at iobase 0xf4, iosize 4: a test guest ends the run
 * by writing a value, at any width and offset. The status is (N << 1) | 1,
 * always odd so it can never be mistaken for one of popek's own (even)
 * statuses; exit() keeps its low 8 bits, as with QEMU. */
#include <stdio.h>

#include "dev/device_state.h"
#include "dev/platform.h"
#include "vm.h"

int debug_exit_status(uint32_t value)
{
	return (int)((value << 1) | 1u);
}

static void debug_exit_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	(void)off;
	struct vm *vm = opaque;
	uint32_t value = (uint32_t)access_value(data, size);
	char why[80];
	snprintf(why, sizeof(why), "guest wrote %#x to the debug-exit port", value);
	vm_request_stop(vm, debug_exit_status(value), why);
}

/* Reads are not part of the device; they answer 0, as QEMU's do. */
static void debug_exit_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	(void)opaque;
	(void)off;
	for (unsigned i = 0; i < size; i++)
		data[i] = 0;
}

static const struct io_handler debug_exit_ops = { debug_exit_read, debug_exit_write };

static int debug_exit_create(struct vm *vm, char *err, size_t n)
{
	if (bus_register(&vm->pio, PORT_DEBUG_EXIT, DEBUG_EXIT_SIZE, &debug_exit_ops, vm,
			 "debug-exit") != 0) {
		snprintf(err, n, "ports %#x-%#x are taken", PORT_DEBUG_EXIT,
			 PORT_DEBUG_EXIT + DEBUG_EXIT_SIZE - 1);
		return -1;
	}
	return 0;
}

struct device_desc debug_exit_device = { .name = "debug-exit", .create = debug_exit_create };
DEVICE(debug_exit_device)
