#include "desc.h"
#include "guest.h"

uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16))) = {
	[SEL_KCODE32 / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_CODE | ACC_R, FL_G | FL_D),
	[SEL_KDATA / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_DATA | ACC_W, FL_G | FL_D),
	[SEL_UCODE32 / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_DPL(3) | ACC_CODE | ACC_R, FL_G | FL_D),
	[SEL_UDATA / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_DPL(3) | ACC_DATA | ACC_W, FL_G | FL_D),
	[SEL_UCODE64 / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_DPL(3) | ACC_CODE | ACC_R, FL_G | FL_L),
	[SEL_UDATA64 / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_DPL(3) | ACC_DATA | ACC_W, FL_G | FL_D),
	[SEL_KCODE64 / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_CODE | ACC_R, FL_G | FL_L),
	[SEL_R1CODE32 / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_DPL(1) | ACC_CODE | ACC_R, FL_G | FL_D),
	[SEL_R1DATA / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_DPL(1) | ACC_DATA | ACC_W, FL_G | FL_D),
	[SEL_CODE16 / 8] = SEG_DESC(0, 0xffff, ACC_P | ACC_A | ACC_CODE | ACC_R, 0),
	[SEL_DATA16 / 8] = SEG_DESC(0, 0xffff, ACC_P | ACC_A | ACC_DATA | ACC_W, 0),
	[SEL_SC_KCODE / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_CODE | ACC_R, FL_G | FL_L),
	[SEL_SC_KDATA / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_DATA | ACC_W, FL_G | FL_D),
	[SEL_SR_UCODE32 / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_DPL(3) | ACC_CODE | ACC_R, FL_G | FL_D),
	[SEL_SR_UDATA / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_DPL(3) | ACC_DATA | ACC_W, FL_G | FL_D),
	[SEL_SR_UCODE64 / 8] = SEG_DESC(0, 0xfffff, ACC_P | ACC_A | ACC_DPL(3) | ACC_CODE | ACC_R, FL_G | FL_L),
};

struct dtr32 gdt_pointer = { sizeof(gdt) - 1, (uint32_t)(uintptr_t)gdt };

struct tss_block tss_block __attribute__((aligned(4096)));
static uint8_t ring0_stack[16384] __attribute__((aligned(16)));
static uint8_t ring1_stack[8192] __attribute__((aligned(16)));
static uint8_t ring2_stack[4096] __attribute__((aligned(16)));

void gdt_set(unsigned sel, uint64_t desc)
{
	gdt[sel / 8] = desc;
}

/* Call, interrupt and trap gates (Intel SDM vol. 3A figures 5-8, 6-2). */
uint64_t gate_desc(uint16_t sel, uint32_t offset, unsigned type, unsigned dpl, unsigned params)
{
	return (offset & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)(params & 0x1f) << 32) |
	       ((uint64_t)(0x80 | (dpl << 5) | type) << 40) | ((uint64_t)(offset >> 16) << 48);
}

/* Loads TR with a TSS whose stacks serve exceptions and inward calls from
 * rings 1-3 and whose I/O bitmap starts out denying every port. */
void tss_init(void)
{
	struct tss32 *t = &tss_block.tss;
	memset(&tss_block, 0, sizeof(tss_block));
	t->esp0 = (uint32_t)(uintptr_t)(ring0_stack + sizeof(ring0_stack));
	t->ss0 = SEL_KDATA;
	t->esp1 = (uint32_t)(uintptr_t)(ring1_stack + sizeof(ring1_stack));
	t->ss1 = SEL_R1DATA | 1;
	t->esp2 = (uint32_t)(uintptr_t)(ring2_stack + sizeof(ring2_stack));
	t->ss2 = 0;
	t->iomap_base = (uint16_t)__builtin_offsetof(struct tss_block, iomap);
	memset(tss_block.iomap, 0xff, sizeof(tss_block.iomap));
	tss_block.iomap_end = 0xff;
	gdt_set(SEL_TSS, SEG_DESC((uint32_t)(uintptr_t)&tss_block, sizeof(tss_block) - 1,
				  ACC_P | SYS_TSS32_AVL, 0));
	gdt[SEL_TSS / 8 + 1] = 0;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS) : "memory");
}

void lm_iomap_allow(uint16_t port, int allow);
void iomap_allow(uint16_t port, int allow)
{
	lm_iomap_allow(port, allow);
	if (allow)
		tss_block.iomap[port / 8] &= (uint8_t)~(1u << (port % 8));
	else
		tss_block.iomap[port / 8] |= (uint8_t)(1u << (port % 8));
}
