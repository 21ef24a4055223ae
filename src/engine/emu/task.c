/* Hardware task switches (SDM vol. 3A, 7.3): JMP and CALL to a TSS or
 * task gate, interrupts and exceptions through a task gate, and IRET with
 * EFLAGS.NT back to the task in the back link. Both the 32-bit TSS and
 * the 286's 16-bit TSS (SDM vol. 3A 7.7) are handled; the outgoing state
 * is saved in the format of the old TSS, the incoming one read in the
 * format of the new. A 16-bit TSS holds no CR3 (CR3 is left alone), no FS
 * or GS (left alone) and 16-bit registers: the upper halves of the
 * general registers are kept, EIP is zero-extended and the upper half of
 * EFLAGS is cleared (so no virtual-8086 task from a 16-bit TSS). */
#include <string.h>

#include "engine/emu/emu.h"

/* Field offsets of a TSS: 32-bit (types 9/11) or 16-bit (types 1/3).
 * Registers follow in encoding order (AX CX DX BX SP BP SI DI, then ES CS
 * SS DS [FS GS]), each 4 bytes apart in a 32-bit TSS and 2 in a 16-bit one. */
#define TSS_LINK   0x00
struct tss_layout {
	int ip, flags, gpr, seg, ldt, width, nseg;
	uint32_t min_limit;
};
static const struct tss_layout tss32 = { 0x20, 0x24, 0x28, 0x48, 0x60, 4, 6, 0x67 };
static const struct tss_layout tss16 = { 0x0e, 0x10, 0x12, 0x22, 0x2a, 2, 4, 0x2b };
#define TSS32_CR3  0x1c

static uint64_t desc_addr(struct emu_cpu *c, uint16_t sel)
{
	return (c->s.gdt.base + (sel & 0xfff8)) & 0xffffffffull;
}

static void set_busy(struct emu_cpu *c, uint16_t sel, bool busy)
{
	uint64_t a = desc_addr(c, sel) + 5;
	uint8_t b = lin_read(c, a, 1, false);
	lin_write(c, a, 1, busy ? (b | 2) : (b & ~2), false);
}

static void __attribute__((noreturn)) ts_fault(struct emu_cpu *c, uint16_t sel)
{
	raise_fault(c, 10, true, sel & 0xfffc);
}

/* Loads a segment register of the new task, with the checks of a normal
 * load made into #TS faults. */
static void task_load_seg(struct emu_cpu *c, int sreg, uint16_t sel, bool v86)
{
	struct segment *s = &c->s.seg[sreg];
	if (v86) {
		s->selector = sel;
		s->base = (uint64_t)sel << 4;
		s->limit = 0xffff;
		s->type = sreg == SEG_CS ? 0xb : 3;
		s->s = 1;
		s->dpl = 3;
		s->present = 1;
		s->l = s->db = s->g = 0;
		s->unusable = 0;
		return;
	}
	if ((sel & 0xfffc) == 0) {
		if (sreg == SEG_CS || sreg == SEG_SS)
			ts_fault(c, sel);
		memset(s, 0, sizeof(*s));
		s->selector = sel;
		s->unusable = 1;
		return;
	}
	uint64_t lo;
	if (!read_descriptor(c, sel, &lo, NULL, false, 10))
		ts_fault(c, sel);
	struct segment n;
	desc_to_seg(&n, sel, lo, 0);
	int rpl = sel & 3, cpl = c->s.seg[SEG_CS].selector & 3;
	bool ok;
	if (sreg == SEG_CS)
		ok = n.s && (n.type & 8) && ((n.type & 4) ? n.dpl <= rpl : n.dpl == rpl);
	else if (sreg == SEG_SS)
		ok = n.s && !(n.type & 8) && (n.type & 2) && n.dpl == cpl && rpl == cpl;
	else
		ok = n.s && (!(n.type & 8) || (n.type & 2)) &&
		     ((n.type & 0xc) == 0xc || (n.dpl >= cpl && n.dpl >= rpl));
	if (!ok)
		ts_fault(c, sel);
	if (!n.present)
		raise_fault(c, sreg == SEG_SS ? 12 : 11, true, sel & 0xfffc);
	n.type |= 1;
	*s = n;
}

void task_switch(struct emu_cpu *c, uint16_t sel, uint64_t lo, int source, uint64_t ret,
		 bool has_err, uint32_t err)
{
	int type = (lo >> 40) & 0xf;
	uint32_t limit = (lo & 0xffff) | (((lo >> 48) & 0xf) << 16);
	if (sel & 4)
		ts_fault(c, sel);
	bool want_busy = source == TASK_IRET;
	if ((type != 9 && type != 11 && type != 1 && type != 3) || ((type & 2) != 0) != want_busy)
		raise_gp(c, sel & 0xfffc);
	if (!((lo >> 47) & 1))
		raise_fault(c, 11, true, sel & 0xfffc);
	const struct tss_layout *nl = (type & 8) ? &tss32 : &tss16;
	if (limit < nl->min_limit)
		ts_fault(c, sel);
	uint64_t nbase = ((lo >> 16) & 0xffffff) | (((lo >> 56) & 0xff) << 24);

	/* read the whole new state first: a fault here leaves the old task intact */
	int nw = nl->width;
	uint32_t ncr3 = (type & 8) ? lin_read(c, nbase + TSS32_CR3, 4, false) : 0;
	uint32_t neip = lin_read(c, nbase + nl->ip, nw, false);
	uint32_t nfl = lin_read(c, nbase + nl->flags, nw, false);
	uint64_t ngpr[8];
	uint16_t nseg[6], nldt;
	for (int k = 0; k < 8; k++) {
		ngpr[k] = lin_read(c, nbase + nl->gpr + nw * k, nw, false);
		if (nw == 2)
			ngpr[k] |= c->s.gpr[k] & ~0xffffull;
	}
	for (int k = 0; k < 6; k++)
		nseg[k] = k < nl->nseg ? lin_read(c, nbase + nl->seg + nw * k, 2, false) : c->s.seg[k].selector;
	nldt = lin_read(c, nbase + nl->ldt, 2, false);

	/* save the outgoing task in its own TSS format (busy type 11 or 3) */
	struct segment *tr = &c->s.seg[SEG_TR];
	const struct tss_layout *ol = (tr->type & 8) ? &tss32 : &tss16;
	int ow = ol->width;
	uint16_t old_sel = tr->selector;
	uint64_t obase = tr->base;
	uint64_t fl = get_flags(c);
	if (source == TASK_IRET)
		fl &= ~(uint64_t)RFLAGS_NT;
	lin_write(c, obase + ol->ip, ow, ret, false);
	lin_write(c, obase + ol->flags, ow, fl, false);
	for (int k = 0; k < 8; k++)
		lin_write(c, obase + ol->gpr + ow * k, ow, c->s.gpr[k], false);
	for (int k = 0; k < ol->nseg; k++)
		lin_write(c, obase + ol->seg + ow * k, 2, c->s.seg[k].selector, false);
	if (source == TASK_JMP || source == TASK_IRET)
		set_busy(c, old_sel, false);
	if (source == TASK_CALL || source == TASK_INT) {
		lin_write(c, nbase + TSS_LINK, 2, old_sel, false);
		nfl |= RFLAGS_NT;
	}
	if (source != TASK_IRET)
		set_busy(c, sel, true);

	/* commit: TR, CR3, registers, then the segments of the new task */
	desc_to_seg(tr, sel, lo, 0);
	tr->type |= 2;
	c->s.cr0 |= CR0_TS;
	if ((type & 8) && (c->s.cr0 & CR0_PG)) {
		c->s.cr3 = ncr3;
		tlb_flush(c, true);
	}
	set_flags(c, (nfl & 0x3f7fd7) | RFLAGS_FIXED);
	for (int k = 0; k < 8; k++)
		c->s.gpr[k] = ngpr[k];
	c->next_rip = neip;
	c->s.rip = neip;
	bool v86 = nfl & RFLAGS_VM;
	/* the new CPL comes from CS before any segment is checked */
	c->s.seg[SEG_CS].selector = nseg[SEG_CS];
	c->s.seg[SEG_SS].dpl = v86 ? 3 : (nseg[SEG_CS] & 3);
	emu_update_mode(c);
	struct segment *ldt = &c->s.seg[SEG_LDT];
	if ((nldt & 0xfffc) == 0) {
		memset(ldt, 0, sizeof(*ldt));
		ldt->unusable = 1;
	} else {
		uint64_t llo;
		if ((nldt & 4) || !read_descriptor(c, nldt, &llo, NULL, false, 10) ||
		    ((llo >> 40) & 0x1f) != 2)
			ts_fault(c, nldt);
		desc_to_seg(ldt, nldt, llo, 0);
	}
	ldt->selector = nldt;
	task_load_seg(c, SEG_CS, nseg[SEG_CS], v86);
	task_load_seg(c, SEG_SS, nseg[SEG_SS], v86);
	static const int data[4] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };
	for (int k = 0; k < ((type & 8) ? 4 : 2); k++)
		task_load_seg(c, data[k], nseg[data[k]], v86);
	emu_update_mode(c);
	if (has_err)
		push(c, (type & 8) ? 4 : 2, err);
}
