/* libFuzzer target: QEMU's fw_cfg device (dev/fw_cfg.c) on a machine with
 * 16 MiB of RAM, fed operations decoded from the input, one opcode byte
 * each:
 *   op % 4 == 0  select the next 16-bit key
 *   op % 4 == 1  read (next byte % 64) bytes from the data port
 *   op % 4 == 2  a DMA request: a descriptor (control, length, address:
 *                the next 4, 4 and 8 bytes, big-endian as the guest writes
 *                them) at a guest address (next 4 bytes), then its address
 *                written to 0x514/0x518
 *   op % 4 == 3  one access (width 1, 2 or 4, read or write) anywhere in
 *                0x510-0x51b
 * After a DMA whose descriptor is in RAM, its control word must read 0 or
 * carry the error bit; nothing may touch memory outside guest RAM. */
#include "fuzz.h"

#include "dev/device.h"
#include "vm.h"

#define RAM (16ull << 20)

extern struct device_desc fw_cfg_device;

static const struct engine none = { .name = "none" };

static uint32_t be32(uint32_t v) { return __builtin_bswap32(v); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	struct vm_config cfg = { .ram_size = RAM, .ncpus = 2, .cmdline = "console=ttyS0",
				 .console_in_fd = -1, .console_out_fd = -1 };
	vm_init_machine(&vm, &none, &cfg);
	vm.mem = *fuzz_guest_mem(RAM);
	char err[256];
	if (fw_cfg_device.create(&vm, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz: fw_cfg: %s\n", err);
		abort();
	}
	struct fuzz_in in = { data, size };
	while (in.n > 0) {
		uint8_t op = fuzz_u8(&in), d[4] = { 0 };
		switch (op % 4) {
		case 0: {
			uint16_t key = (uint16_t)fuzz_uint(&in, 2);
			d[0] = (uint8_t)key, d[1] = (uint8_t)(key >> 8);
			bus_access(&vm.pio, PORT_FW_CFG, d, 2, true);
			break;
		}
		case 1:
			for (unsigned k = fuzz_u8(&in) % 64; k > 0; k--)
				bus_access(&vm.pio, PORT_FW_CFG + 1, d, 1, false);
			break;
		case 2: {
			uint8_t desc[16];
			for (int k = 0; k < 16; k++)
				desc[k] = fuzz_u8(&in);
			uint32_t at = (uint32_t)fuzz_uint(&in, 4) % (uint32_t)(RAM + 0x1000);
			bool in_ram = gpa_write(&vm.mem, at, desc, sizeof(desc)) == 0;
			uint32_t hi = 0, lo = be32(at);
			bus_access(&vm.pio, PORT_FW_CFG_DMA, (uint8_t *)&hi, 4, true);
			bus_access(&vm.pio, PORT_FW_CFG_DMA + 4, (uint8_t *)&lo, 4, true);
			/* the device's last write is the control word: 0 or the
			 * error bit, whatever the transfer did to memory before */
			uint32_t control;
			if (in_ram && gpa_read(&vm.mem, at, &control, 4) == 0)
				FUZZ_CHECK(be32(control) == 0 || be32(control) == 1);
			break;
		}
		default: {
			unsigned sizes[] = { 1, 2, 4 }, width = sizes[fuzz_u8(&in) % 3];
			unsigned port = PORT_FW_CFG + fuzz_u8(&in) % 12;
			bool write = fuzz_u8(&in) & 1;
			for (unsigned k = 0; k < width; k++)
				d[k] = fuzz_u8(&in);
			bus_access(&vm.pio, port, d, width, write);
			break;
		}
		}
	}
	fw_cfg_device.destroy(&vm);
	return 0;
}
