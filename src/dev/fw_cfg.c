/* QEMU's firmware configuration device (fw_cfg), as QEMU documents it in
 * docs/specs/fw_cfg.rst, at its x86 ports: a 16-bit selector at 0x510, a
 * byte-wide data port at 0x511 that reads the selected item from an
 * offset that each byte advances, and the DMA address register at 0x514
 * (64-bit big-endian; writing its low half at 0x518 starts the transfer,
 * reading it gives the signature "QEMU CFG"). Firmware and test kernels
 * built for QEMU learn the machine from it: the signature ("QEMU"), the
 * interface ID (traditional and DMA), RAM size, CPU counts, the file
 * directory with etc/e820, and the command line; popek loads kernel and
 * initrd itself, so their sizes read 0.
 *
 * Items are read-only: writes through the data port and DMA writes are
 * ignored and flagged as errors, as QEMU does for items it does not let
 * the guest change. DMA copies go through vm_dma_write, so an engine that
 * keeps decoded code sees them. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/e820.h"
#include "dev/device_state.h"
#include "dev/device.h"
#include "vm.h"

#define KEY_SIGNATURE   0x0000
#define KEY_ID          0x0001
#define KEY_UUID        0x0002
#define KEY_RAM_SIZE    0x0003
#define KEY_NOGRAPHIC   0x0004
#define KEY_NB_CPUS     0x0005
#define KEY_KERNEL_SIZE 0x0008
#define KEY_INITRD_SIZE 0x000b
#define KEY_BOOT_MENU   0x000e
#define KEY_MAX_CPUS    0x000f
#define KEY_CMDLINE_SIZE 0x0014
#define KEY_CMDLINE_DATA 0x0015
#define KEY_SETUP_SIZE  0x0017
#define KEY_FILE_DIR    0x0019
#define KEY_FILE_FIRST  0x0020
#define KEY_WRITE       0x4000      /* selector bit: the guest means to write */
#define KEY_INVALID     0xffff

#define ID_TRADITIONAL  1
#define ID_DMA          2

#define DMA_ERROR  0x01
#define DMA_READ   0x02
#define DMA_SKIP   0x04
#define DMA_SELECT 0x08
#define DMA_WRITE  0x10

#define FILE_NAME_MAX 56

struct fw_item {
	uint16_t key;
	uint32_t len;
	uint8_t *data;
	char name[FILE_NAME_MAX];   /* "" for the numbered items */
};

#define MAX_ITEMS 24

/* no lock of its own: all its ranges are on the pio bus, whose lock
 * bus_access holds around every handler call */
struct fw_cfg {
	struct vm *vm;
	struct fw_item item[MAX_ITEMS];
	int nitems;
	uint16_t key;
	uint32_t offset;
	uint8_t dma_addr[8];        /* as the guest wrote it: big-endian */
};

static const struct fw_item *find(const struct fw_cfg *f, uint16_t key)
{
	for (int i = 0; i < f->nitems; i++)
		if (f->item[i].key == key)
			return &f->item[i];
	return NULL;
}

static int add(struct fw_cfg *f, uint16_t key, const char *name, const void *data, uint32_t len)
{
	if (f->nitems == MAX_ITEMS)
		return -1;
	struct fw_item *it = &f->item[f->nitems];
	it->data = malloc(len ? len : 1);
	if (!it->data)
		return -1;
	memcpy(it->data, data, len);
	it->key = key;
	it->len = len;
	snprintf(it->name, sizeof(it->name), "%s", name ? name : "");
	f->nitems++;
	return 0;
}

static int add_le(struct fw_cfg *f, uint16_t key, uint64_t v, unsigned size)
{
	uint8_t b[8];
	access_store(b, size, v);
	return add(f, key, NULL, b, size);
}

static void put_be(uint8_t *p, uint64_t v, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * (size - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v = v << 8 | p[i];
	return v;
}

/* The directory lists the named items: a big-endian count, then per file
 * its size (BE32), selector (BE16), a reserved BE16 and a 56-byte name. */
static int add_directory(struct fw_cfg *f)
{
	int nfiles = 0;
	for (int i = 0; i < f->nitems; i++)
		nfiles += f->item[i].name[0] != 0;
	uint32_t len = 4 + 64 * (uint32_t)nfiles;
	uint8_t *dir = calloc(1, len);
	if (!dir)
		return -1;
	put_be(dir, (uint64_t)nfiles, 4);
	uint8_t *e = dir + 4;
	for (int i = 0; i < f->nitems; i++) {
		if (!f->item[i].name[0])
			continue;
		put_be(e, f->item[i].len, 4);
		put_be(e + 4, f->item[i].key, 2);
		memcpy(e + 8, f->item[i].name, strlen(f->item[i].name));
		e += 64;
	}
	int r = add(f, KEY_FILE_DIR, NULL, dir, len);
	free(dir);
	return r;
}

static int fill(struct fw_cfg *f, const struct vm *vm)
{
	static const uint8_t zeros[16];
	struct e820_entry map[E820_MAX_BUILT];
	int nmap = e820_build(&vm->mem, map, E820_MAX_BUILT);
	const char *cmdline = vm->cfg.cmdline ? vm->cfg.cmdline : "";
	uint32_t clen = (uint32_t)strlen(cmdline) + 1;
	uint16_t file = KEY_FILE_FIRST;
	if (add(f, KEY_SIGNATURE, NULL, "QEMU", 4) || add_le(f, KEY_ID, ID_TRADITIONAL | ID_DMA, 4) ||
	    add(f, KEY_UUID, NULL, zeros, 16) || add_le(f, KEY_RAM_SIZE, vm->cfg.ram_size, 8) ||
	    add_le(f, KEY_NOGRAPHIC, 1, 2) || add_le(f, KEY_NB_CPUS, (uint64_t)vm->cfg.ncpus, 2) ||
	    add_le(f, KEY_MAX_CPUS, (uint64_t)vm->cfg.ncpus, 2) || add_le(f, KEY_BOOT_MENU, 0, 2) ||
	    add_le(f, KEY_KERNEL_SIZE, 0, 4) || add_le(f, KEY_INITRD_SIZE, 0, 4) ||
	    add_le(f, KEY_SETUP_SIZE, 0, 4) || add_le(f, KEY_CMDLINE_SIZE, clen, 4) ||
	    add(f, KEY_CMDLINE_DATA, NULL, cmdline, clen) ||
	    add(f, file++, "etc/e820", map, (uint32_t)(nmap * (int)sizeof(map[0]))) ||
	    add(f, file++, "bootorder", "", 0) || add_directory(f))
		return -1;
	return 0;
}

static uint8_t data_byte(struct fw_cfg *f)
{
	const struct fw_item *it = find(f, f->key);
	if (!it || f->offset >= it->len)
		return 0;
	return it->data[f->offset++];
}

/* One FWCfgDmaAccess at gpa: control, length (BE32 each), address
 * (BE64). The device writes the control word back: 0, or DMA_ERROR. */
static void dma_transfer(struct fw_cfg *f, uint64_t gpa)
{
	uint8_t hdr[16];
	if (vm_dma_read(f->vm, gpa, hdr, sizeof(hdr)) != 0)
		return;   /* not in RAM: nothing to answer to */
	uint32_t control = (uint32_t)get_be(hdr, 4), length = (uint32_t)get_be(hdr + 4, 4);
	uint64_t addr = get_be(hdr + 8, 8);
	bool error = false;
	if (control & DMA_SELECT) {
		f->key = (uint16_t)(control >> 16);
		f->offset = 0;
	}
	const struct fw_item *it = find(f, f->key & ~KEY_WRITE);
	if (control & DMA_WRITE) {
		error = true;   /* no item takes writes */
	} else if (control & (DMA_READ | DMA_SKIP)) {
		uint8_t buf[4096];
		while (length && !error) {
			uint32_t chunk = length < sizeof(buf) ? length : (uint32_t)sizeof(buf);
			uint32_t have = it && f->offset < it->len ? it->len - f->offset : 0;
			uint32_t n = chunk < have ? chunk : have;
			if (control & DMA_READ) {
				memset(buf, 0, chunk);   /* past the item: zeros */
				if (n)
					memcpy(buf, it->data + f->offset, n);
				error = vm_dma_write(f->vm, addr, buf, chunk) != 0;
			}
			f->offset += n;
			addr += chunk;
			length -= chunk;
		}
	}
	uint8_t done[4];
	put_be(done, error ? DMA_ERROR : 0, 4);
	vm_dma_write(f->vm, gpa, done, 4);
}

static void ports_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	struct fw_cfg *f = opaque;
	for (unsigned i = 0; i < size; i++)
		data[i] = off + i == 1 ? data_byte(f) : 0;
}

static void ports_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct fw_cfg *f = opaque;
	if (off == 0 && size >= 2) {
		f->key = (uint16_t)(data[0] | data[1] << 8);
		f->offset = 0;
	}
}

static void dma_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	(void)opaque;
	static const char sig[8] = "QEMU CFG";
	for (unsigned i = 0; i < size; i++)
		data[i] = off + i < 8 ? (uint8_t)sig[off + i] : 0xff;
}

static void dma_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct fw_cfg *f = opaque;
	for (unsigned i = 0; i < size && off + i < 8; i++)
		f->dma_addr[off + i] = data[i];
	/* the write that reaches the low half's last byte starts it */
	if (off + size == 8) {
		uint64_t gpa = get_be(f->dma_addr, 8);
		memset(f->dma_addr, 0, sizeof(f->dma_addr));
		dma_transfer(f, gpa);
	}
}

static const struct io_handler fw_cfg_ports_ops = { ports_read, ports_write };
static const struct io_handler fw_cfg_dma_ops = { dma_read, dma_write };

static void free_items(struct fw_cfg *f)
{
	for (int i = 0; i < f->nitems; i++)
		free(f->item[i].data);
	free(f);
}

static int fw_cfg_create(struct vm *vm, char *err, size_t n)
{
	struct fw_cfg *f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	f->vm = vm;
	f->key = KEY_INVALID;
	if (fill(f, vm) != 0) {
		free_items(f);
		snprintf(err, n, "out of memory for its items");
		return -1;
	}
	if (bus_register(&vm->pio, PORT_FW_CFG, 2, &fw_cfg_ports_ops, f, "fw-cfg") != 0) {
		free_items(f);
		snprintf(err, n, "ports %#x-%#x are taken", PORT_FW_CFG, PORT_FW_CFG + 1);
		return -1;
	}
	/* from here destroy finds f through the selector's range */
	if (bus_register(&vm->pio, PORT_FW_CFG_DMA, 8, &fw_cfg_dma_ops, f, "fw-cfg-dma") != 0) {
		snprintf(err, n, "ports %#x-%#x are taken", PORT_FW_CFG_DMA, PORT_FW_CFG_DMA + 7);
		return -1;
	}
	return 0;
}

static void fw_cfg_destroy(struct vm *vm)
{
	struct fw_cfg *f = device_opaque(&vm->pio, &fw_cfg_ports_ops);
	if (f)
		free_items(f);
}

struct device_desc fw_cfg_device = { .name = "fw-cfg", .create = fw_cfg_create,
				     .destroy = fw_cfg_destroy };
DEVICE(fw_cfg_device)
