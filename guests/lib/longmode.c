#include "longmode.h"
#include "desc.h"
#include "guest.h"
#include "io.h"
#include "trap.h"

int lm_active;
uint64_t lm_pml4[512] __attribute__((aligned(4096)));
uint64_t lm_pdpt[512] __attribute__((aligned(4096)));
uint64_t lm_pd[4][512] __attribute__((aligned(4096)));
uint64_t idt64[256][2] __attribute__((aligned(16)));
uint8_t lm_vector_kind[256];
volatile uint32_t lm_vector_count[256];
struct dtr64 idt64_pointer;
extern char trap64_stubs[];

/* The 64-bit TSS (Intel SDM vol. 3A figure 8-11) and its I/O bitmap. */
struct __attribute__((packed)) tss64 {
	uint32_t r0;
	uint64_t rsp[3];
	uint64_t r1;
	uint64_t ist[7];
	uint64_t r2;
	uint16_t r3, iomap_base;
};
struct tss64_block {
	struct tss64 tss;
	uint8_t iomap[8192];
	uint8_t iomap_end;
} __attribute__((packed));
static struct tss64_block tss64_block __attribute__((aligned(4096)));
static uint8_t lm_ring0_stack[16384] __attribute__((aligned(16)));
static uint8_t lm_ring1_stack[8192] __attribute__((aligned(16)));

void lm_switch(uint32_t cr3);
void lm_leave(void);

uint32_t trap64_stub_address(unsigned vector)
{
	return (uint32_t)(uintptr_t)trap64_stubs + 16 * vector;
}

void idt64_set(unsigned vector, uint16_t sel, uint64_t offset, unsigned type, unsigned dpl, unsigned ist)
{
	idt64[vector][0] = (offset & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)(ist & 7) << 32) |
			   ((uint64_t)(0x80 | (dpl << 5) | type) << 40) | (((offset >> 16) & 0xffff) << 48);
	idt64[vector][1] = offset >> 32;
}

static void lm_build(void)
{
	/* Identity map 0-4 GiB with 2 MiB pages, present, writable, user. */
	for (unsigned i = 0; i < 4; i++) {
		for (unsigned j = 0; j < 512; j++)
			lm_pd[i][j] = ((uint64_t)i << 30) + ((uint64_t)j << 21) + 0x87;
		lm_pdpt[i] = (uint32_t)(uintptr_t)lm_pd[i] | 0x7;
	}
	lm_pml4[0] = (uint32_t)(uintptr_t)lm_pdpt | 0x7;
	for (unsigned v = 0; v < 256; v++)
		idt64_set(v, SEL_KCODE64, trap64_stub_address(v), SYS_INTGATE32, v == 3 || v == 4 ? 3 : 0, 0);
	idt64_set(0x81, SEL_KCODE64, trap64_stub_address(0x81), SYS_INTGATE32, 3, 0);
	idt64_pointer.limit = sizeof(idt64) - 1;
	idt64_pointer.base = (uint32_t)(uintptr_t)idt64;
	memset(&tss64_block, 0, sizeof(tss64_block));
	tss64_block.tss.rsp[0] = (uint32_t)(uintptr_t)(lm_ring0_stack + sizeof(lm_ring0_stack));
	tss64_block.tss.rsp[1] = (uint32_t)(uintptr_t)(lm_ring1_stack + sizeof(lm_ring1_stack));
	tss64_block.tss.iomap_base = (uint16_t)__builtin_offsetof(struct tss64_block, iomap);
	/* Keep the ports the 32-bit TSS grants. */
	memcpy(tss64_block.iomap, tss_block.iomap, sizeof(tss64_block.iomap));
	tss64_block.iomap_end = 0xff;
	/* A 16-byte system descriptor: type 9 is the available 64-bit TSS. */
	gdt_set(SEL_TSS, SEG_DESC((uint32_t)(uintptr_t)&tss64_block, sizeof(tss64_block) - 1, ACC_P | SYS_TSS32_AVL, 0));
	gdt[SEL_TSS / 8 + 1] = 0;
}

void lm_iomap_allow(uint16_t port, int allow);
void lm_iomap_allow(uint16_t port, int allow)
{
	if (allow)
		tss64_block.iomap[port / 8] &= (uint8_t)~(1u << (port % 8));
	else
		tss64_block.iomap[port / 8] |= (uint8_t)(1u << (port % 8));
}

void lm_init(void)
{
	if (lm_active)
		return;
	lm_build();
	lm_switch((uint32_t)(uintptr_t)lm_pml4);
	lm_active = 1;
}

void lm_exit(void)
{
	if (!lm_active)
		return;
	lm_leave();
	lm_active = 0;
	trap_init();
}
