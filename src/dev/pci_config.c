/* PCI configuration mechanism #1 with an empty bus: the address register at
 * 0xcf8 holds what the guest wrote, so Linux's probe sees a host bridge
 * interface, and every data access answers "no device" (all ones), so the
 * scan finds nothing. Byte 0xcf9 inside the address range is the chipset's
 * reset control register (PIIX/ICH), which Linux's reboot=pci uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/device_state.h"
#include "dev/platform.h"
#include "vm.h"

#define RCR_OFFSET  1      /* 0xcf9 */
#define RCR_RST_CPU 0x04   /* a write with this bit resets the machine */

struct pci_config {
	struct vm *vm;
	uint32_t address;
	uint8_t rcr;
};

/* Only a full 32-bit access at 0xcf8 reaches the address register. */
static void address_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	struct pci_config *p = opaque;
	if (off == 0 && size == 4) {
		for (unsigned i = 0; i < 4; i++)
			data[i] = (uint8_t)(p->address >> (8 * i));
		return;
	}
	memset(data, 0xff, size);
	if (off == RCR_OFFSET && size == 1)
		data[0] = p->rcr;
}

static void address_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct pci_config *p = opaque;
	if (off == 0 && size == 4) {
		p->address = (uint32_t)access_value(data, 4);
		return;
	}
	if (off == RCR_OFFSET && size == 1) {
		p->rcr = data[0] & 0x0e;
		if (data[0] & RCR_RST_CPU)
			vm_request_stop(p->vm, STATUS_OK, "guest reset via port 0xcf9");
	}
}

static void data_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	(void)opaque;
	(void)off;
	memset(data, 0xff, size);
}

static void data_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)data;
	(void)size;
}

static const struct io_handler address_ops = { address_read, address_write };
static const struct io_handler data_ops = { data_read, data_write };

static int pci_config_create(struct vm *vm, char *err, size_t n)
{
	struct pci_config *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	p->vm = vm;
	if (bus_register(&vm->pio, PORT_PCI_ADDRESS, 4, &address_ops, p, "pci-address") != 0) {
		free(p);
		snprintf(err, n, "ports %#x-%#x are taken", PORT_PCI_ADDRESS, PORT_PCI_ADDRESS + 3);
		return -1;
	}
	/* p is on the bus from here; pci_config_destroy finds it there. */
	if (bus_register(&vm->pio, PORT_PCI_DATA, 4, &data_ops, p, "pci-data") != 0) {
		snprintf(err, n, "ports %#x-%#x are taken", PORT_PCI_DATA, PORT_PCI_DATA + 3);
		return -1;
	}
	return 0;
}

static void pci_config_destroy(struct vm *vm)
{
	free(device_opaque(&vm->pio, &address_ops));
}

struct device_desc pci_config_device = { .name = "pci-config", .create = pci_config_create,
					 .destroy = pci_config_destroy };
DEVICE(pci_config_device)
