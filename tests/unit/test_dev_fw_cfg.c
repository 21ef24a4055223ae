/* QEMU's fw_cfg device: the items a guest reads through the data port,
 * DMA into RAM (and the engine told of it), and hostile requests — a DMA
 * descriptor outside RAM, a destination outside RAM, a huge length, an
 * unknown key, writes. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dev/device.h"
#include "test_vm.h"
#include "vm.h"

extern struct device_desc fw_cfg_device;

static uint64_t written_gpa, written_len;
static int written_calls;
static void note_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	(void)vm;
	written_gpa = gpa, written_len = len, written_calls++;
}
static const struct engine dma_engine = { .name = "none", .ram_written = note_written };

static void sel(struct vm *vm, uint16_t key) { pio_out(vm, PORT_FW_CFG, key, 2); }
static uint8_t byte(struct vm *vm) { return (uint8_t)pio_in(vm, PORT_FW_CFG + 1, 1); }

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A DMA request at gpa 0x1000 for control/length/address; returns the
 * control word the device wrote back. */
static uint32_t dma(struct vm *vm, uint32_t control, uint32_t len, uint64_t addr, uint64_t at)
{
	uint8_t *d = gpa_ptr(&vm->mem, 0x1000, 16);
	put_be32(d, control);
	put_be32(d + 4, len);
	put_be32(d + 8, (uint32_t)(addr >> 32));
	put_be32(d + 12, (uint32_t)addr);
	pio_out(vm, PORT_FW_CFG_DMA, __builtin_bswap32((uint32_t)(at >> 32)), 4);
	pio_out(vm, PORT_FW_CFG_DMA + 4, __builtin_bswap32((uint32_t)at), 4);
	return __builtin_bswap32(*(uint32_t *)d);
}

int main(void)
{
	struct vm *vm = test_vm_new(&dma_engine, 2, 64 << 20);
	char err[256] = "";
	vm->cfg.cmdline = "console=ttyS0 quiet";
	if (guest_mem_init(&vm->mem, 64 << 20, err, sizeof(err)) != 0) {
		printf("SKIP fw-cfg: %s\n", err);
		return 0;
	}
	CHECK(fw_cfg_device.create(vm, err, sizeof(err)) == 0, "fw-cfg/create (%s)", err);
	char sig[4];
	sel(vm, 0);
	for (int i = 0; i < 4; i++)
		sig[i] = (char)byte(vm);
	CHECK(memcmp(sig, "QEMU", 4) == 0, "fw-cfg/signature");
	CHECK_EQ(byte(vm), 0, "fw-cfg/past-the-end-reads-zero");
	sel(vm, 0x0003);
	uint64_t ram = 0;
	for (int i = 0; i < 8; i++)
		ram |= (uint64_t)byte(vm) << (8 * i);
	CHECK_EQ(ram, 64u << 20, "fw-cfg/ram-size");
	sel(vm, 0x0005);
	CHECK_EQ(byte(vm), 2, "fw-cfg/cpu-count");
	sel(vm, 0x0015);
	char cl[32] = { 0 };
	for (int i = 0; i < 20; i++)
		cl[i] = (char)byte(vm);
	CHECK(strcmp(cl, "console=ttyS0 quiet") == 0, "fw-cfg/cmdline-data");
	sel(vm, 0x1234);
	CHECK_EQ(byte(vm), 0, "fw-cfg/unknown-key-reads-zero");
	pio_out(vm, PORT_FW_CFG + 1, 0x55, 1);   /* a data write: ignored */
	sel(vm, 0);
	CHECK_EQ(byte(vm), 'Q', "fw-cfg/data-write-ignored");

	/* DMA: select the signature and read it into RAM at 0x2000 */
	written_calls = 0;
	CHECK_EQ(dma(vm, 0x0000u << 16 | 0x08 | 0x02, 4, 0x2000, 0x1000), 0, "fw-cfg/dma-read-ok");
	CHECK(memcmp(gpa_ptr(&vm->mem, 0x2000, 4), "QEMU", 4) == 0, "fw-cfg/dma-read-data");
	CHECK(written_calls >= 1, "fw-cfg/dma-write-tells-the-engine");
	/* a destination outside RAM: error, nothing written anywhere */
	CHECK_EQ(dma(vm, 0x0000u << 16 | 0x08 | 0x02, 4, 0x7f000000, 0x1000) & 1, 1,
		 "fw-cfg/dma-to-outside-ram-is-an-error");
	/* a huge length: the item, then zeros, until RAM ends: an error, in bounded time */
	CHECK_EQ(dma(vm, 0x0019u << 16 | 0x08 | 0x02, 0xffffffffu, 0x3000, 0x1000) & 1, 1,
		 "fw-cfg/dma-huge-length-stops-at-ram-end");
	/* SKIP advances, then READ continues from there */
	dma(vm, 0x0000u << 16 | 0x08 | 0x04, 2, 0, 0x1000);
	CHECK_EQ(dma(vm, 0x02, 2, 0x2100, 0x1000), 0, "fw-cfg/dma-skip-then-read-ok");
	CHECK(memcmp(gpa_ptr(&vm->mem, 0x2100, 2), "MU", 2) == 0, "fw-cfg/dma-skip-advances");
	CHECK_EQ(dma(vm, 0x10, 4, 0x2000, 0x1000) & 1, 1, "fw-cfg/dma-write-refused");
	/* a descriptor outside RAM: nothing happens, nothing crashes */
	pio_out(vm, PORT_FW_CFG_DMA, 0, 4);
	pio_out(vm, PORT_FW_CFG_DMA + 4, __builtin_bswap32(0x7ffff000u), 4);
	sel(vm, 0);
	CHECK_EQ(byte(vm), 'Q', "fw-cfg/answers-after-a-descriptor-outside-ram");
	CHECK_EQ(pio_in(vm, PORT_FW_CFG_DMA, 1), 'Q', "fw-cfg/dma-register-reads-signature");

	fw_cfg_device.destroy(vm);
	guest_mem_free(&vm->mem);
	free(vm);
	return CHECK_DONE();
}
