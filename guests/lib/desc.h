/* The guests' one GDT layout, shared by C and assembly. Selectors are
 * placed so that SYSENTER/SYSEXIT and SYSCALL/SYSRET find the segments at
 * the fixed offsets the manuals give (Intel SDM vol. 2B SYSEXIT, SYSRET). */
#ifndef GUEST_DESC_H
#define GUEST_DESC_H

#define SEL_KCODE32   0x08	/* SYSENTER_CS: SYSENTER uses +0 (CS) and +8 (SS) */
#define SEL_KDATA     0x10
#define SEL_UCODE32   0x18	/* SYSEXIT to 32-bit: SYSENTER_CS + 16 */
#define SEL_UDATA     0x20	/* SYSEXIT SS: SYSENTER_CS + 24 */
#define SEL_UCODE64   0x28	/* SYSEXIT to 64-bit: SYSENTER_CS + 32 */
#define SEL_UDATA64   0x30	/* and SS = SYSENTER_CS + 40 */
#define SEL_KCODE64   0x38
#define SEL_R1CODE32  0x40
#define SEL_R1DATA    0x48
#define SEL_TSS       0x50	/* 16 bytes in long mode: 0x50 and 0x58 */
#define SEL_CODE16    0x60
#define SEL_DATA16    0x68
#define SEL_SC_KCODE  0x70	/* STAR[47:32]: SYSCALL CS, SS = +8 */
#define SEL_SC_KDATA  0x78
#define SEL_SR_BASE   0x80	/* STAR[63:48]: SYSRET CS32 = +0, SS = +8, CS64 = +16 */
#define SEL_SR_UCODE32 0x80
#define SEL_SR_UDATA   0x88
#define SEL_SR_UCODE64 0x90
#define SEL_TEST0     0x98	/* 0x98..0x1f8: free for checks to fill in */
#define GDT_ENTRIES   64

#ifndef __ASSEMBLER__
#include <stdint.h>

struct __attribute__((packed)) dtr32 {
	uint16_t limit;
	uint32_t base;
};
struct __attribute__((packed)) dtr64 {
	uint16_t limit;
	uint64_t base;
};

/* Access byte: P, DPL, S, type (Intel SDM vol. 3A 3.4.5). */
#define ACC_P       0x80
#define ACC_DPL(n)  ((n) << 5)
#define ACC_S       0x10
#define ACC_CODE    0x18	/* S=1, executable */
#define ACC_DATA    0x10
#define ACC_R       0x02	/* readable code */
#define ACC_W       0x02	/* writable data */
#define ACC_C       0x04	/* conforming code */
#define ACC_E       0x04	/* expand-down data */
#define ACC_A       0x01
/* Flags nibble: G, D/B, L, AVL. */
#define FL_G   0x8
#define FL_D   0x4
#define FL_L   0x2

#define SEG_DESC(base, limit, acc, fl)                                         \
	(((uint64_t)(limit) & 0xffff) | (((uint64_t)(base) & 0xffffff) << 16) | \
	 ((uint64_t)(acc) << 40) | ((((uint64_t)(limit) >> 16) & 0xf) << 48) |  \
	 ((uint64_t)(fl) << 52) | ((((uint64_t)(base) >> 24) & 0xff) << 56))

/* System descriptor and gate types (Intel SDM vol. 3A table 3-2). */
#define SYS_LDT        0x2
#define SYS_TSS32_AVL  0x9
#define SYS_TSS32_BUSY 0xb
#define SYS_CALLGATE32 0xc
#define SYS_INTGATE32  0xe
#define SYS_TRAPGATE32 0xf

extern uint64_t gdt[GDT_ENTRIES];
extern struct dtr32 gdt_pointer;

struct __attribute__((packed)) tss32 {
	uint16_t link, r0;
	uint32_t esp0; uint16_t ss0, r1;
	uint32_t esp1; uint16_t ss1, r2;
	uint32_t esp2; uint16_t ss2, r3;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
	uint16_t trap, iomap_base;
};

/* Our TSS: the 32-bit one, followed by the I/O permission bitmap (one bit
 * per port, 1 = not allowed) and the 0xff byte the CPU reads past it. */
struct tss_block {
	struct tss32 tss;
	uint8_t iomap[8192];
	uint8_t iomap_end;
} __attribute__((packed));
extern struct tss_block tss_block;

void gdt_set(unsigned sel, uint64_t desc);
uint64_t gate_desc(uint16_t sel, uint32_t offset, unsigned type, unsigned dpl, unsigned params);
void tss_init(void);
void iomap_allow(uint16_t port, int allow);

static inline uint16_t read_cs(void) { uint16_t v; __asm__ volatile("mov %%cs, %0" : "=r"(v)); return v; }
static inline uint16_t read_ss(void) { uint16_t v; __asm__ volatile("mov %%ss, %0" : "=r"(v)); return v; }
static inline uint16_t read_ds(void) { uint16_t v; __asm__ volatile("mov %%ds, %0" : "=r"(v)); return v; }
#endif
#endif
