/* QEMU's debug console (isa-debugcon, `-debugcon`): port 0x402, where
 * SeaBIOS and other firmware write their log a byte at a time. It exists
 * only with --debugcon; its bytes go to that file (or stderr). A read
 * returns 0xe9, the value QEMU's answers with, which is how firmware tells
 * that the port is there before it writes. */
#include <stdio.h>
#include <unistd.h>

#include "dev/device_state.h"
#include "dev/platform.h"
#include "vm.h"

#define PORT_DEBUGCON  0x402
#define DEBUGCON_READBACK 0xe9

static void debugcon_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	(void)off;
	struct vm *vm = opaque;
	/* best effort, as a serial line: a full disk loses log bytes, not the run */
	ssize_t w = write(vm->cfg.debugcon_fd, data, size);
	(void)w;
}

static void debugcon_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	(void)opaque;
	(void)off;
	data[0] = DEBUGCON_READBACK;
	for (unsigned i = 1; i < size; i++)
		data[i] = 0xff;
}

static const struct io_handler debugcon_ops = { debugcon_read, debugcon_write };

static int debugcon_create(struct vm *vm, char *err, size_t n)
{
	if (!vm->cfg.debugcon)
		return 0;
	if (bus_register(&vm->pio, PORT_DEBUGCON, 1, &debugcon_ops, vm, "debugcon") != 0) {
		snprintf(err, n, "port %#x is taken", PORT_DEBUGCON);
		return -1;
	}
	return 0;
}

struct device_desc debugcon_device = { .name = "debugcon", .create = debugcon_create };
DEVICE(debugcon_device)
