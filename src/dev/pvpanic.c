/* QEMU's `-device pvpanic` (ISA, one port at 0x505): the guest kernel's
 * panic notifier writes an event here, so a panicked guest ends the run with
 * a status of its own instead of spinning until a timeout. A read tells the
 * guest which events the device understands; Linux's driver keeps only
 * those. The DSDT declares the device as QEMU0001 (boot/acpi.c), which is
 * how Linux finds it.
 *
 * PANICKED ends the run with STATUS_GUEST_PANICKED. CRASH_LOADED, which
 * Linux writes instead when a kdump kernel is about to take over, is only
 * noted: the guest goes on running its crash kernel. */
#include <stdio.h>

#include "dev/device_state.h"
#include "dev/platform.h"
#include "vm.h"

#define PVPANIC_EVENTS (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

static void pvpanic_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	(void)opaque;
	(void)off;
	/* The register is one byte; a wider read sees open bus above it. */
	data[0] = PVPANIC_EVENTS;
	for (unsigned i = 1; i < size; i++)
		data[i] = 0xff;
}

static void pvpanic_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	(void)off;
	(void)size;
	struct vm *vm = opaque;
	uint8_t event = data[0];
	if (event & PVPANIC_PANICKED) {
		char why[80];
		snprintf(why, sizeof(why), "guest panicked (pvpanic event %#x)", event);
		vm_request_stop(vm, STATUS_GUEST_PANICKED, why);
	} else if (event & PVPANIC_CRASH_LOADED) {
		fprintf(stderr, "popek: the guest panicked and is starting its crash kernel "
			"(pvpanic event %#x)\n", event);
	}
}

static const struct io_handler pvpanic_ops = { pvpanic_read, pvpanic_write };

static int pvpanic_create(struct vm *vm, char *err, size_t n)
{
	if (bus_register(&vm->pio, PORT_PVPANIC, 1, &pvpanic_ops, vm, "pvpanic") != 0) {
		snprintf(err, n, "port %#x is taken", PORT_PVPANIC);
		return -1;
	}
	return 0;
}

struct device_desc pvpanic_device = { .name = "pvpanic", .create = pvpanic_create };
DEVICE(pvpanic_device)
