/* QEMU's pc-testdev (`-device pc-testdev`, which kvm-unit-tests and other
 * peers' test kernels use), with --device pc-testdev: port 0xe0 (and its
 * byte-wide twin at 0xe8) holds a 32-bit register that reads back what
 * was written at any width and offset; 0xe4 takes a guest-physical page to
 * flush, which changes nothing a guest can see here; a write to 0x2000 + n
 * (n < 24) sets interrupt line n to the value's truth; 4 KiB at 0xff000000
 * are memory reached through MMIO. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/device.h"
#include "dev/device_state.h"
#include "vm.h"

#define PORT_TESTDEV_DATA 0xe0
#define PORT_TESTDEV_FLUSH 0xe4
#define PORT_TESTDEV_BYTE 0xe8
#define PORT_TESTDEV_IRQ  0x2000
#define TESTDEV_IRQS      24
#define MMIO_TESTDEV      0xff000000ull
#define TESTDEV_MEM       0x1000

/* no lock of its own: bus_access serializes every handler call on a bus,
 * and the pio and mmio halves touch disjoint fields */
struct testdev {
	struct vm *vm;
	uint32_t data;
	uint8_t mem[TESTDEV_MEM];
};

static void data_read(void *opaque, uint64_t off, uint8_t *d, unsigned size)
{
	struct testdev *t = opaque;
	for (unsigned i = 0; i < size; i++)
		d[i] = off + i < 4 ? (uint8_t)(t->data >> (8 * (off + i))) : 0xff;
}

static void data_write(void *opaque, uint64_t off, const uint8_t *d, unsigned size)
{
	struct testdev *t = opaque;
	for (unsigned i = 0; i < size && off + i < 4; i++) {
		unsigned sh = 8 * (unsigned)(off + i);
		t->data = (t->data & ~(0xffu << sh)) | (uint32_t)d[i] << sh;
	}
}

static void flush_write(void *opaque, uint64_t off, const uint8_t *d, unsigned size)
{
	/* QEMU drops the host mapping of the page so KVM refaults it; guest
	 * memory stays what it was, which is all a guest can observe */
	(void)opaque, (void)off, (void)d, (void)size;
}

static void irq_write(void *opaque, uint64_t off, const uint8_t *d, unsigned size)
{
	struct testdev *t = opaque;
	if (off < TESTDEV_IRQS)
		vm_irq_line(t->vm, (unsigned)off, access_value(d, size) != 0);
}

static void none_read(void *opaque, uint64_t off, uint8_t *d, unsigned size)
{
	(void)opaque, (void)off;
	memset(d, 0xff, size);
}

static void mem_read(void *opaque, uint64_t off, uint8_t *d, unsigned size)
{
	struct testdev *t = opaque;
	memory_read(t->mem, TESTDEV_MEM, off, d, size);
}

static void mem_write(void *opaque, uint64_t off, const uint8_t *d, unsigned size)
{
	struct testdev *t = opaque;
	memory_write(t->mem, TESTDEV_MEM, off, d, size);
}

static const struct io_handler data_ops = { data_read, data_write };
static const struct io_handler flush_ops = { none_read, flush_write };
static const struct io_handler irq_ops = { none_read, irq_write };
static const struct io_handler mem_ops = { mem_read, mem_write };

static int testdev_create(struct vm *vm, char *err, size_t n)
{
	if (!vm->cfg.pc_testdev)
		return 0;
	struct testdev *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	t->vm = vm;
	/* the data range first: destroy finds t through it */
	if (bus_register(&vm->pio, PORT_TESTDEV_DATA, 4, &data_ops, t, "pc-testdev") != 0) {
		free(t);
		snprintf(err, n, "ports %#x-%#x are taken", PORT_TESTDEV_DATA, PORT_TESTDEV_DATA + 3);
		return -1;
	}
	if (bus_register(&vm->pio, PORT_TESTDEV_FLUSH, 4, &flush_ops, t, "pc-testdev-flush") != 0 ||
	    bus_register(&vm->pio, PORT_TESTDEV_BYTE, 4, &data_ops, t, "pc-testdev-byte") != 0 ||
	    bus_register(&vm->pio, PORT_TESTDEV_IRQ, TESTDEV_IRQS, &irq_ops, t, "pc-testdev-irq") != 0 ||
	    bus_register(&vm->mmio, MMIO_TESTDEV, TESTDEV_MEM, &mem_ops, t, "pc-testdev-mem") != 0) {
		snprintf(err, n, "its ports or its memory at %#llx are taken",
			 (unsigned long long)MMIO_TESTDEV);
		return -1;
	}
	return 0;
}

static void testdev_destroy(struct vm *vm)
{
	free(device_opaque(&vm->pio, &data_ops));
}

struct device_desc pc_testdev_device = { .name = "pc-testdev", .create = testdev_create,
					 .destroy = testdev_destroy };
DEVICE(pc_testdev_device)
