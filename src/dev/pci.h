/* PCI bus 0 as the guest sees it through configuration mechanism #1
 * (ports 0xcf8/0xcfc): a host bridge at 00:00.0 and the functions devices
 * add. popek plays the firmware: it assigns each function's memory BARs in
 * the PCI window below the boot timer and routes INTA of slot s to GSI
 * PCI_GSI(s), the swizzle the DSDT's _PRT describes. A BAR the guest moves
 * keeps working anywhere in the window, because the window is one MMIO
 * range that finds the BAR at access time.
 *
 * Device code sees only this header: config space bytes, BAR handlers and
 * an interrupt line. */
#ifndef POPEK_DEV_PCI_H
#define POPEK_DEV_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"

struct vm;
struct pci_host;

#define PCI_SLOTS         32
#define PCI_BARS          6
#define PCI_CONFIG_SIZE   256

/* The window BARs are placed in: past RAM below 4 GiB (MEM_LOW_LIMIT),
 * before the boot timer's page at 0xd0000000. */
#define PCI_MMIO_BASE     0xc0000000ull
#define PCI_MMIO_SIZE     0x10000000ull

/* INTx routing: pin p (0 = INTA) of slot s reaches IOAPIC pin PCI_GSI.
 * GSIs 16-23 are the IOAPIC pins no ISA line uses; the rotation spreads
 * slots over them as a PCI-to-PCI bridge's swizzle would. */
#define PCI_GSI_BASE      16
#define PCI_GSI_COUNT     8
#define PCI_GSI(slot, pin) (PCI_GSI_BASE + (((slot) + (pin)) % PCI_GSI_COUNT))

/* Configuration header offsets (type 0) and bits popek uses. */
#define PCI_VENDOR_ID     0x00
#define PCI_DEVICE_ID     0x02
#define PCI_COMMAND       0x04
#define PCI_STATUS        0x06
#define PCI_REVISION      0x08
#define PCI_CLASS_PROG    0x09
#define PCI_HEADER_TYPE   0x0e
#define PCI_BAR0          0x10
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_SUBSYS_ID     0x2e
#define PCI_CAP_PTR       0x34
#define PCI_INT_LINE      0x3c
#define PCI_INT_PIN       0x3d
#define PCI_CAP_START     0x40

#define PCI_CMD_IO        0x0001
#define PCI_CMD_MEM       0x0002
#define PCI_CMD_MASTER    0x0004
#define PCI_CMD_INTX_OFF  0x0400
#define PCI_STATUS_INTX   0x0008
#define PCI_STATUS_CAPS   0x0010

/* One function (popek's devices are single-function). The device fills
 * config (IDs, class) and bar_size/bar_ops before pci_add; the bus owns
 * the rest. */
struct pci_function {
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];       /* bits the guest may write */
	uint32_t bar_size[PCI_BARS];          /* memory BARs, powers of two >= 4 KiB; 0: none */
	const struct io_handler *bar_ops[PCI_BARS];
	void *opaque;                         /* passed to bar_ops */
	/* Optional: the guest wrote config bytes [off, off + size), called
	 * with no bus lock held (MSI-X's mask bits). */
	void (*config_written)(struct pci_function *f, unsigned off, unsigned size);
	const char *name;
	/* set by pci_add */
	struct vm *vm;
	struct pci_host *host;
	unsigned slot, gsi;
	int intx_level;
	uint8_t cap_end;                      /* where the next capability goes */
};

/* Sets IDs and class (class << 8 | prog-if, e.g. 0x018000) and clears the rest. */
void pci_function_init(struct pci_function *f, const char *name, uint16_t vendor, uint16_t device,
		       uint32_t class_code, uint8_t revision);
/* Appends a capability with the given bytes (data[0] is its ID, data[1]
 * the next pointer, which pci_add_cap fills): its config offset, or 0
 * when it does not fit. */
uint8_t pci_add_cap(struct pci_function *f, const void *data, size_t len);

/* Puts f in the next free slot: assigns its BARs and its interrupt line.
 * 0, or -1 with a message (no PCI bus, bus full, window full). */
int pci_add(struct vm *vm, struct pci_function *f, char *err, size_t n);

/* Takes f off the bus (machine teardown): its slot reads empty again. */
void pci_remove(struct pci_function *f);

/* The nth function (from 0, in slot order) whose BAR0 is served by ops:
 * how a device finds its state again, as device_opaque does on a bus. */
struct pci_function *pci_find(struct vm *vm, const struct io_handler *ops, int nth);

/* Drives the function's INTA (level-triggered, as PCI's is). */
void pci_set_intx(struct pci_function *f, int level);

/* The bytes of config space read back as the guest would (little-endian). */
uint32_t pci_config_read(const struct pci_function *f, unsigned off, unsigned size);

#endif
