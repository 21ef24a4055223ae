/* libFuzzer target: virtio over PCI (dev/virtio/) on a machine with 16 MiB
 * of RAM and a virtio-rng device in slot 1, driven by operations decoded
 * from the input, one opcode byte each:
 *   op % 4 == 0  a register write in the device's BAR (offset: next 2
 *                bytes, width 1/2/4 from the next, value from the next 4)
 *   op % 4 == 1  a register read there
 *   op % 4 == 2  16 bytes written into the rings' page or the buffer
 *                area at an offset from the next 2 bytes
 *   op % 4 == 3  a notification of queue 0
 * Before the operations a driver brings the device up with queue 0 at
 * fixed addresses, so inputs reach the queue walk at once. Whatever the
 * input, the host may never touch memory outside guest RAM, and nothing
 * may crash, hang or leak (the sanitizers watch; the input can rewrite
 * the used ring itself, so its contents prove nothing). */
#include "fuzz.h"

#include "dev/device.h"
#include "dev/pci.h"
#include "dev/platform.h"
#include "dev/virtio/virtio.h"
#include "vm.h"

#define RAM   (16ull << 20)
#define RINGS 0x10000u     /* descriptors; available at +0x1000, used at +0x2000 */
#define AREA  0x4000u      /* bytes the input may write from RINGS */

static const struct engine none = { .name = "none" };
static struct vm vm;
static uint64_t bar;

static void out32(uint16_t port, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	bus_access(&vm.pio, port, d, 4, true);
}

static void bar_write(uint64_t off, uint64_t v, unsigned size)
{
	uint8_t d[8];
	for (unsigned i = 0; i < 8; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	bus_access(&vm.mmio, bar + off, d, size, true);
}

static void driver_up(void)
{
	bar_write(0x14, 0, 1);
	bar_write(0x14, 3, 1);
	bar_write(0x08, 0, 4);
	bar_write(0x0c, 3u << 28, 4);       /* indirect, event index */
	bar_write(0x08, 1, 4);
	bar_write(0x0c, 1, 4);              /* VERSION_1 */
	bar_write(0x14, 0x0b, 1);
	bar_write(0x16, 0, 2);
	bar_write(0x18, 16, 2);
	bar_write(0x20, RINGS, 8);
	bar_write(0x28, RINGS + 0x1000, 8);
	bar_write(0x30, RINGS + 0x2000, 8);
	bar_write(0x1c, 1, 2);
	bar_write(0x14, 0x0f, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg = { .ram_size = RAM, .ncpus = 1, .virtio_rng = true,
				 .console_in_fd = -1, .console_out_fd = -1 };
	vm_init_machine(&vm, &none, &cfg);
	vm.mem = *fuzz_guest_mem(RAM);
	memset(gpa_ptr(&vm.mem, RINGS, AREA), 0, AREA);
	char err[256];
	if (pci_config_device.create(&vm, err, sizeof(err)) != 0 ||
	    virtio_rng_device.create(&vm, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz: virtqueue: %s\n", err);
		abort();
	}
	out32(PORT_PCI_ADDRESS, 0x80000000u | 1u << 11 | PCI_BAR0);
	uint8_t d[4];
	bus_access(&vm.pio, PORT_PCI_DATA, d, 4, false);
	bar = (uint32_t)(d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24) & ~0xfu;
	driver_up();
	struct fuzz_in in = { data, size };
	while (in.n > 0) {
		uint8_t op = fuzz_u8(&in);
		switch (op % 4) {
		case 0: {
			uint64_t off = fuzz_uint(&in, 2) % 0x8000;
			unsigned w = 1u << (fuzz_u8(&in) % 3);
			bar_write(off, fuzz_uint(&in, 4), w);
			break;
		}
		case 1: {
			uint8_t r[8];
			bus_access(&vm.mmio, bar + fuzz_uint(&in, 2) % 0x8000, r, 1u << (fuzz_u8(&in) % 3), false);
			break;
		}
		case 2: {
			uint8_t b[16];
			uint32_t at = (uint32_t)fuzz_uint(&in, 2) % (AREA - sizeof(b));
			for (unsigned k = 0; k < sizeof(b); k++)
				b[k] = fuzz_u8(&in);
			gpa_write(&vm.mem, RINGS + at, b, sizeof(b));
			break;
		}
		default:
			bar_write(0x3000, 0, 2);
			break;
		}
	}
	virtio_rng_device.destroy(&vm);
	pci_config_device.destroy(&vm);
	return 0;
}
