/* PCI configuration mechanism #1 and bus 0 (pci.h). The address register at
 * 0xcf8 holds what the guest wrote; a data access at 0xcfc-0xcff reaches the
 * function it selects, or reads all ones when there is none (an empty slot,
 * another bus, a function other than 0). Byte 0xcf9 inside the address
 * range is the chipset's reset control register (PIIX/ICH), which Linux's
 * reboot=pci uses.
 *
 * 00:00.0 is a host bridge (Red Hat's QEMU PCIe host bridge ID, class
 * 06:00): Linux's type-1 probe only trusts a bus that has one, and firmware
 * keyed to the i440FX leaves it alone. */
#include "dev/pci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/device_state.h"
#include "dev/platform.h"
#include "vm.h"

#define RCR_OFFSET  1      /* 0xcf9 */
#define RCR_RST_CPU 0x04   /* a write with this bit resets the machine */

#define ADDR_ENABLE    0x80000000u
#define ADDR_BUS(a)    (((a) >> 16) & 0xff)
#define ADDR_SLOT(a)   (((a) >> 11) & 0x1f)
#define ADDR_FUNC(a)   (((a) >> 8) & 0x7)
#define ADDR_REG(a)    ((a) & 0xfc)

#define HOST_BRIDGE_VENDOR 0x1b36
#define HOST_BRIDGE_DEVICE 0x0008
#define CLASS_HOST_BRIDGE  0x060000

struct pci_host {
	struct vm *vm;
	/* Config space is reached from the port bus, INTx from whatever
	 * thread a device completes work on: one lock for every function. */
	pthread_mutex_t lock;
	uint32_t address;
	uint8_t rcr;
	struct pci_function bridge;
	struct pci_function *slot[PCI_SLOTS];
	uint64_t next_bar;            /* the window's first unassigned byte */
};

static struct pci_host *host_of(struct vm *vm);

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void pci_function_init(struct pci_function *f, const char *name, uint16_t vendor, uint16_t device,
		       uint32_t class_code, uint8_t revision)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	put16(f->config + PCI_VENDOR_ID, vendor);
	put16(f->config + PCI_DEVICE_ID, device);
	f->config[PCI_REVISION] = revision;
	f->config[PCI_CLASS_PROG] = (uint8_t)class_code;
	f->config[PCI_CLASS_PROG + 1] = (uint8_t)(class_code >> 8);
	f->config[PCI_CLASS_PROG + 2] = (uint8_t)(class_code >> 16);
	put16(f->wmask + PCI_COMMAND, PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | 0x0140 | PCI_CMD_INTX_OFF);
	f->wmask[PCI_INT_LINE] = 0xff;
	f->cap_end = PCI_CAP_START;
}

uint8_t pci_add_cap(struct pci_function *f, const void *data, size_t len)
{
	size_t at = (f->cap_end + 3u) & ~3u;
	if (len < 2 || at + len > PCI_CONFIG_SIZE)
		return 0;
	memcpy(f->config + at, data, len);
	/* Link it at the end of the list: the pointer at 0x34, or the last cap's next. */
	uint8_t *link = f->config + PCI_CAP_PTR;
	while (*link)
		link = f->config + *link + 1;
	*link = (uint8_t)at;
	f->config[at + 1] = 0;
	f->config[PCI_STATUS] |= PCI_STATUS_CAPS;
	f->cap_end = (uint8_t)(at + len);
	return (uint8_t)at;
}

uint32_t pci_config_read(const struct pci_function *f, unsigned off, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size && off + i < PCI_CONFIG_SIZE; i++)
		v |= (uint32_t)f->config[off + i] << (8 * i);
	return v;
}

static void config_write(struct pci_function *f, unsigned off, uint32_t v, unsigned size)
{
	uint16_t old_cmd = (uint16_t)pci_config_read(f, PCI_COMMAND, 2);
	for (unsigned i = 0; i < size && off + i < PCI_CONFIG_SIZE; i++) {
		uint8_t m = f->wmask[off + i];
		f->config[off + i] = (uint8_t)((f->config[off + i] & ~m) | ((v >> (8 * i)) & m));
	}
	/* INTx disable gates the line the function is driving. */
	uint16_t cmd = (uint16_t)pci_config_read(f, PCI_COMMAND, 2);
	if (f->vm && f->intx_level && ((old_cmd ^ cmd) & PCI_CMD_INTX_OFF))
		vm_irq_line(f->vm, f->gsi, !(cmd & PCI_CMD_INTX_OFF));
}

void pci_set_intx(struct pci_function *f, int level)
{
	level = level != 0;
	pthread_mutex_lock(&f->host->lock);
	if (level != f->intx_level) {
		f->intx_level = level;
		if (level)
			f->config[PCI_STATUS] |= PCI_STATUS_INTX;
		else
			f->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTX;
		if (!(pci_config_read(f, PCI_COMMAND, 2) & PCI_CMD_INTX_OFF))
			vm_irq_line(f->vm, f->gsi, level);
	}
	pthread_mutex_unlock(&f->host->lock);
}

/* popek's BARs are 32-bit memory BARs (pci_add). */
static uint64_t bar_base(const struct pci_function *f, int i)
{
	return pci_config_read(f, PCI_BAR0 + 4 * i, 4) & ~0xfull;
}

int pci_add(struct vm *vm, struct pci_function *f, char *err, size_t n)
{
	struct pci_host *h = host_of(vm);
	if (!h) {
		snprintf(err, n, "%s: the machine has no PCI bus", f->name);
		return -1;
	}
	unsigned s = 1;
	while (s < PCI_SLOTS && h->slot[s])
		s++;
	if (s == PCI_SLOTS) {
		snprintf(err, n, "%s: PCI bus 0 is full (%d slots)", f->name, PCI_SLOTS - 1);
		return -1;
	}
	for (int i = 0; i < PCI_BARS; i++) {
		uint32_t size = f->bar_size[i];
		if (!size)
			continue;
		if (size & (size - 1) || size < 4096) {
			snprintf(err, n, "%s: BAR%d size %#x is not a power of two >= 4 KiB", f->name, i, size);
			return -1;
		}
		uint64_t at = (h->next_bar + size - 1) & ~(uint64_t)(size - 1);
		if (at + size > PCI_MMIO_BASE + PCI_MMIO_SIZE) {
			snprintf(err, n, "%s: the PCI window is full", f->name);
			return -1;
		}
		h->next_bar = at + size;
		/* 32-bit memory BAR, not prefetchable: sizing reads back ~(size-1). */
		uint32_t mask = ~(size - 1) & ~0xfu;
		for (int b = 0; b < 4; b++) {
			f->config[PCI_BAR0 + 4 * i + b] = (uint8_t)(at >> (8 * b));
			f->wmask[PCI_BAR0 + 4 * i + b] = (uint8_t)(mask >> (8 * b));
		}
	}
	f->vm = vm;
	f->host = h;
	f->slot = s;
	f->gsi = PCI_GSI(s, 0);
	f->config[PCI_INT_LINE] = (uint8_t)f->gsi;
	f->config[PCI_INT_PIN] = 1;  /* INTA */
	/* As firmware leaves a device it assigned: memory decode and bus mastering on. */
	put16(f->config + PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER);
	h->slot[s] = f;
	return 0;
}

void pci_remove(struct pci_function *f)
{
	struct pci_host *h = f->host;
	if (!h || f->slot == 0 || h->slot[f->slot] != f)
		return;
	pthread_mutex_lock(&h->lock);
	h->slot[f->slot] = NULL;
	pthread_mutex_unlock(&h->lock);
}

struct pci_function *pci_find(struct vm *vm, const struct io_handler *ops, int nth)
{
	struct pci_host *h = host_of(vm);
	for (unsigned s = 1; h && s < PCI_SLOTS; s++)
		if (h->slot[s] && h->slot[s]->bar_ops[0] == ops && nth-- == 0)
			return h->slot[s];
	return NULL;
}

/* The function 0xcf8 selects, or NULL. */
static struct pci_function *selected(struct pci_host *h)
{
	uint32_t a = h->address;
	if (!(a & ADDR_ENABLE) || ADDR_BUS(a) != 0 || ADDR_FUNC(a) != 0)
		return NULL;
	return h->slot[ADDR_SLOT(a)];
}

/* Only a full 32-bit access at 0xcf8 reaches the address register. */
static void address_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	struct pci_host *h = opaque;
	if (off == 0 && size == 4) {
		access_store(data, 4, h->address);
		return;
	}
	memset(data, 0xff, size);
	if (off == RCR_OFFSET && size == 1)
		data[0] = h->rcr;
}

static void address_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct pci_host *h = opaque;
	if (off == 0 && size == 4) {
		h->address = (uint32_t)access_value(data, 4);
		return;
	}
	if (off == RCR_OFFSET && size == 1) {
		h->rcr = data[0] & 0x0e;
		if (data[0] & RCR_RST_CPU)
			vm_request_stop(h->vm, STATUS_OK, "guest reset via port 0xcf9");
	}
}

static void data_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	struct pci_host *h = opaque;
	struct pci_function *f = selected(h);
	memset(data, 0xff, size);
	if (!f)
		return;
	pthread_mutex_lock(&h->lock);
	uint32_t v = pci_config_read(f, ADDR_REG(h->address) + (unsigned)off, size);
	pthread_mutex_unlock(&h->lock);
	access_store(data, size, v);
}

static void data_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct pci_host *h = opaque;
	struct pci_function *f = selected(h);
	if (!f)
		return;
	unsigned reg = ADDR_REG(h->address) + (unsigned)off;
	pthread_mutex_lock(&h->lock);
	config_write(f, reg, (uint32_t)access_value(data, size), size);
	pthread_mutex_unlock(&h->lock);
	if (f->config_written)
		f->config_written(f, reg, size);
}

/* The PCI window: whichever enabled memory BAR holds the address. */
static struct pci_function *bar_at(struct pci_host *h, uint64_t gpa, int *bar, uint64_t *off)
{
	for (unsigned s = 1; s < PCI_SLOTS; s++) {
		struct pci_function *f = h->slot[s];
		if (!f || !(pci_config_read(f, PCI_COMMAND, 2) & PCI_CMD_MEM))
			continue;
		for (int i = 0; i < PCI_BARS; i++) {
			uint64_t base = bar_base(f, i);
			if (f->bar_size[i] && gpa >= base && gpa - base < f->bar_size[i]) {
				*bar = i;
				*off = gpa - base;
				return f;
			}
		}
	}
	return NULL;
}

/* The handler of the BAR an access of size bytes at window offset off
 * falls wholly in (*at: the offset in the BAR), or NULL. */
static const struct io_handler *window_target(struct pci_host *h, uint64_t off, unsigned size,
					      void **opaque, uint64_t *at)
{
	int bar;
	pthread_mutex_lock(&h->lock);
	struct pci_function *f = bar_at(h, PCI_MMIO_BASE + off, &bar, at);
	pthread_mutex_unlock(&h->lock);
	if (!f || !f->bar_ops[bar] || *at + size > f->bar_size[bar])
		return NULL;
	*opaque = f->opaque;
	return f->bar_ops[bar];
}

static void window_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	void *dev;
	uint64_t at;
	const struct io_handler *ops = window_target(opaque, off, size, &dev, &at);
	if (ops)
		ops->read(dev, at, data, size);
	else
		memset(data, 0xff, size);
}

static void window_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	void *dev;
	uint64_t at;
	const struct io_handler *ops = window_target(opaque, off, size, &dev, &at);
	if (ops)
		ops->write(dev, at, data, size);
}

static const struct io_handler address_ops = { address_read, address_write };
static const struct io_handler data_ops = { data_read, data_write };
static const struct io_handler window_ops = { window_read, window_write };

static struct pci_host *host_of(struct vm *vm)
{
	return device_opaque(&vm->pio, &address_ops);
}

static int pci_config_create(struct vm *vm, char *err, size_t n)
{
	struct pci_host *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	h->vm = vm;
	pthread_mutex_init(&h->lock, NULL);
	h->next_bar = PCI_MMIO_BASE;
	pci_function_init(&h->bridge, "host-bridge", HOST_BRIDGE_VENDOR, HOST_BRIDGE_DEVICE,
			  CLASS_HOST_BRIDGE, 0);
	h->bridge.vm = vm;
	h->bridge.host = h;
	h->slot[0] = &h->bridge;
	if (bus_register(&vm->pio, PORT_PCI_ADDRESS, 4, &address_ops, h, "pci-address") != 0) {
		free(h);
		snprintf(err, n, "ports %#x-%#x are taken", PORT_PCI_ADDRESS, PORT_PCI_ADDRESS + 3);
		return -1;
	}
	/* h is on the bus from here; pci_config_destroy finds it there. */
	if (bus_register(&vm->pio, PORT_PCI_DATA, 4, &data_ops, h, "pci-data") != 0) {
		snprintf(err, n, "ports %#x-%#x are taken", PORT_PCI_DATA, PORT_PCI_DATA + 3);
		return -1;
	}
	if (bus_register(&vm->mmio, PCI_MMIO_BASE, PCI_MMIO_SIZE, &window_ops, h, "pci-window") != 0) {
		snprintf(err, n, "the PCI window %#llx-%#llx is taken", PCI_MMIO_BASE,
			 PCI_MMIO_BASE + PCI_MMIO_SIZE - 1);
		return -1;
	}
	return 0;
}

static void pci_config_destroy(struct vm *vm)
{
	struct pci_host *h = host_of(vm);
	if (h)
		pthread_mutex_destroy(&h->lock);
	free(h);
}

struct device_desc pci_config_device = { .name = "pci-config", .create = pci_config_create,
					 .destroy = pci_config_destroy };
DEVICE(pci_config_device)
