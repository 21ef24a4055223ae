/* How devices join a machine without main or the machine knowing them: each
 * device file declares a DEVICE() with a create function, which the machine
 * calls once per VM. Device code sees the VM's buses and interrupt lines,
 * never the engine. */
#ifndef POPEK_DEVICE_H
#define POPEK_DEVICE_H

#include <stddef.h>

struct vm;

struct device_desc {
	const char *name;
	/* Attaches the device to vm; 0, or -1 with a message in err. */
	int (*create)(struct vm *vm, char *err, size_t n);
	/* Optional: undoes create (threads, fds, memory). */
	void (*destroy)(struct vm *vm);
	/* Optional: the device's lines of --stats. */
	void (*print_stats)(struct vm *vm, int fd);
	struct device_desc *next;
};

void device_register(struct device_desc *d);
/* Calls every registered device's create, in registration order. */
int devices_create(struct vm *vm, char *err, size_t n);
void devices_destroy(struct vm *vm);
void devices_print_stats(struct vm *vm, int fd);

#define DEVICE(desc) \
	__attribute__((constructor)) static void register_##desc(void) { device_register(&desc); }

/* Well-known platform addresses, shared by devices and the loaders' tables. */
#define PORT_COM1        0x3f8
#define IRQ_COM1         4
#define PORT_DEBUG_EXIT  0xf4
#define PORT_PVPANIC     0x505          /* QEMU's ISA pvpanic; the DSDT declares it */
#define PORT_FW_CFG      0x510          /* QEMU's fw_cfg: selector, data at +1 */
#define PORT_FW_CFG_DMA  0x514          /* ... and its DMA address, 8 bytes */
#define MMIO_BOOT_TIMER  0xd0000000ull
#define BOOT_TIMER_MAGIC 123
#define MMIO_TEST_RAM    0xd1000000ull   /* test device: MMIO that remembers writes */
#define MMIO_TEST_RAM_SIZE 0x2000ull    /* two pages, for accesses across a page boundary */
#define MMIO_IOAPIC      0xfec00000ull
#define MMIO_LAPIC       0xfee00000ull

#endif
