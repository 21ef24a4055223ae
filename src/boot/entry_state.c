#include "boot/entry_state.h"

#include <stdbool.h>
#include <string.h>

#include "boot/boot_error.h"
#include "boot/boot_layout.h"
#include "boot/page_tables.h"

static int write_gdt(const struct guest_mem *m, struct cpu_state *s, const uint64_t *gdt,
		     unsigned entries)
{
	if (gpa_write(m, BOOT_GDT, gdt, entries * sizeof(uint64_t)) < 0)
		return -1;
	s->gdt.base = BOOT_GDT;
	s->gdt.limit = (uint16_t)(entries * sizeof(uint64_t) - 1);
	return 0;
}

/* VM entry wants a usable busy TSS in TR whatever the mode; the reset
 * state's 16-bit one is not valid in long mode. */
static void tr_busy_tss(struct cpu_state *s)
{
	struct segment *tr = &s->seg[SEG_TR];
	tr->base = 0;
	tr->limit = 0xffff;
	tr->selector = 0;
	tr->type = SEG_TYPE_TSS_BUSY;
	tr->s = 0;
	tr->dpl = 0;
	tr->present = 1;
	tr->l = 0;
	tr->db = 0;
	tr->g = 0;
	tr->unusable = 0;
}

/* The reset state with every general register zero (reset leaves the CPU
 * signature in EDX, which no loader promises). */
static void reset_zeroed(struct cpu_state *s)
{
	cpu_state_reset(s);
	memset(s->gpr, 0, sizeof(s->gpr));
}

static void data_segments(struct cpu_state *s, uint16_t sel)
{
	static const enum seg_reg data[] = { SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS };
	for (unsigned i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		segment_flat(&s->seg[data[i]], sel, SEG_TYPE_DATA_RW, 0, 1);
}

/* What both protected-mode entries share: no interrupts, no IDT yet. */
static void common_protected(struct cpu_state *s)
{
	s->rflags = RFLAGS_FIXED;
	s->idt.base = 0;
	s->idt.limit = 0;
	tr_busy_tss(s);
}

int entry_prot32(const struct guest_mem *m, struct cpu_state *s, uint32_t entry, char *err,
		 size_t n)
{
	static const uint64_t gdt[] = { 0, GDT_CODE32, GDT_DATA32 };
	reset_zeroed(s);
	if (write_gdt(m, s, gdt, 3) < 0)
		return boot_fail(err, n, "guest memory does not cover the boot GDT");
	common_protected(s);
	segment_flat(&s->seg[SEG_CS], SEL_CODE32, SEG_TYPE_CODE_RX, 0, 1);
	data_segments(s, SEL_DATA32);
	s->cr0 = CR0_PE | CR0_ET;
	s->cr3 = 0;
	s->cr4 = 0;
	s->msr.efer = 0;
	s->rip = entry;
	return 0;
}

/* What both Linux boot protocols share: a GDT with __BOOT_CS (32- or
 * 64-bit code) and __BOOT_DS, flat segments loaded from it, no interrupts. */
static int linux_segments(const struct guest_mem *m, struct cpu_state *s, bool code64, char *err,
			  size_t n)
{
	const uint64_t gdt[] = { 0, 0, code64 ? GDT_CODE64 : GDT_CODE32, GDT_DATA32 };
	reset_zeroed(s);
	if (write_gdt(m, s, gdt, 4) < 0)
		return boot_fail(err, n, "guest memory does not cover the boot GDT");
	common_protected(s);
	segment_flat(&s->seg[SEG_CS], SEL_BOOT_CS, SEG_TYPE_CODE_RX, code64, !code64);
	data_segments(s, SEL_BOOT_DS);
	return 0;
}

int entry_linux32(const struct guest_mem *m, struct cpu_state *s, uint32_t entry, uint32_t esi,
		  char *err, size_t n)
{
	if (linux_segments(m, s, false, err, n) < 0)
		return -1;
	s->cr0 = CR0_PE | CR0_ET;
	s->rip = entry;
	s->gpr[RSI] = esi;
	return 0;
}

int entry_long64(const struct guest_mem *m, struct cpu_state *s, uint64_t entry, uint64_t rsi,
		 char *err, size_t n)
{
	if (linux_segments(m, s, true, err, n) < 0)
		return -1;
	uint64_t cr3 = page_tables_identity(m);
	if (cr3 == 0)
		return boot_fail(err, n, "guest memory does not cover the boot page tables");
	s->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	s->cr3 = cr3;
	s->cr4 = CR4_PAE;
	s->msr.efer = EFER_LME | EFER_LMA;
	s->rip = entry;
	s->gpr[RSI] = rsi;
	s->gpr[RSP] = BOOT_STACK_TOP;
	return 0;
}

void entry_real(struct cpu_state *s, uint64_t addr)
{
	static const enum seg_reg data[] = { SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS };
	reset_zeroed(s);
	uint16_t cs = addr < 0x10000 ? 0 : (uint16_t)(addr >> 4);
	segment_real(&s->seg[SEG_CS], cs, 1);
	for (unsigned i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		segment_real(&s->seg[data[i]], 0, 0);
	s->rip = addr < 0x10000 ? addr : (addr & 15);
	s->gpr[RSP] = BOOT_REAL_SP;
	s->rflags = RFLAGS_FIXED;
	s->cr0 = CR0_ET;
}
