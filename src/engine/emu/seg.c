/* Segmentation: linear addresses from segment caches with the limit and
 * type checks, segment loads from descriptor tables, and the far control
 * transfers that load CS (JMP/CALL/RET far, IRET).
 *
 * CPL is SS.DPL in protected mode, as VT-x defines it, so the cached state
 * alone says which privilege the vCPU runs at, even right after CR0.PE was
 * set and before the far jump that reloads CS. */
#include "engine/emu/emu.h"

void emu_update_mode(struct emu_cpu *c)
{
	c->pe = c->s.cr0 & CR0_PE;
	c->long_mode = c->s.msr.efer & EFER_LMA;
	c->v86 = c->pe && (c->s.rflags & RFLAGS_VM) && !c->long_mode;
	c->code64 = c->long_mode && c->s.seg[SEG_CS].l;
	if (!c->pe)
		c->cpl = 0;
	else if (c->v86)
		c->cpl = 3;
	else
		c->cpl = c->s.seg[SEG_SS].dpl;
	c->stop |= STOP_BLOCK;
	update_mem_hooks(c);
}

static void __attribute__((noreturn)) seg_fault(struct emu_cpu *c, int seg, uint32_t err)
{
	raise_fault(c, seg == SEG_SS ? 12 : 13, true, err);
}

uint64_t seg_lin(struct emu_cpu *c, int seg, uint64_t off, int size, bool write)
{
	const struct segment *s = &c->s.seg[seg];
	if (c->code64) {
		uint64_t lin = off + ((seg == SEG_FS || seg == SEG_GS) ? s->base : 0);
		/* canonical check on the first byte: 48-bit linear addresses */
		if (!is_canonical(lin))
			seg_fault(c, seg, 0);
		return lin;
	}
	if (c->pe && !c->v86) {
		if (s->unusable)
			seg_fault(c, seg, 0);
		if (s->s) {
			bool code = s->type & 8;
			if (write && (code || !(s->type & 2)))
				seg_fault(c, seg, 0);
			if (!write && code && !(s->type & 2))
				seg_fault(c, seg, 0);
		}
	}
	uint64_t last = (off & 0xffffffffull) + size - 1;
	if (s->s && !(s->type & 8) && (s->type & 4)) {
		/* expand-down: valid offsets are above the limit */
		uint64_t upper = s->db ? 0xffffffffull : 0xffff;
		if ((off & 0xffffffffull) <= s->limit || last > upper)
			seg_fault(c, seg, 0);
	} else if (last > s->limit) {
		seg_fault(c, seg, 0);
	}
	return (s->base + off) & 0xffffffffull;
}

/* DR0-DR3 data breakpoints: note which ones this access touches; the
 * trap is taken when the instruction has completed. */
static void watch(struct emu_cpu *c, uint64_t lin, int size, bool write)
{
	static const int len_of[4] = { 1, 2, 8, 4 };
	uint64_t dr7 = c->s.dr[7];
	for (int n = 0; n < 4; n++) {
		if (!((dr7 >> (2 * n)) & 3))
			continue;
		int rw = (dr7 >> (16 + 4 * n)) & 3;
		if (rw == 0 || rw == 2 || (rw == 1 && !write))
			continue;
		uint64_t len = len_of[(dr7 >> (18 + 4 * n)) & 3];
		uint64_t start = c->s.dr[n] & ~(len - 1);
		if (lin < start + len && start < lin + size)
			c->dbg_hits |= 1u << n;
	}
}

/* The rare per-access checks: data breakpoints and alignment checking. */
static void mem_hooks(struct emu_cpu *c, uint64_t lin, int size, bool write)
{
	if (c->ac_active && (lin & (size - 1)))
		raise_fault(c, 17, true, 0);
	if (c->dbg_active)
		watch(c, lin, size, write);
}

void update_mem_hooks(struct emu_cpu *c)
{
	c->ac_active = (c->s.cr0 & CR0_AM) && (c->s.rflags & RFLAGS_AC) && c->cpl == 3;
	c->dbg_active = (c->s.dr[7] & 0xff) != 0;
	c->mem_hooks = c->ac_active || c->dbg_active;
	int user = c->cpl == 3;
	uint8_t never = offsetof(struct tlb_entry, gpa);
	c->jit_toff_r = c->mem_hooks ? never : (uint8_t)offsetof(struct tlb_entry, jtag[JTAG_READ_S + user]);
	c->jit_toff_w = c->mem_hooks ? never : (uint8_t)offsetof(struct tlb_entry, jtag[JTAG_WRITE_S + user]);
}

uint64_t mem_read_full(struct emu_cpu *c, int seg, uint64_t off, int size)
{
	uint64_t lin = seg_lin(c, seg, off, size, false);
	if (__builtin_expect(c->mem_hooks, 0))
		mem_hooks(c, lin, size, false);
	return lin_read(c, lin, size, c->cpl == 3);
}

void mem_write_full(struct emu_cpu *c, int seg, uint64_t off, int size, uint64_t val)
{
	uint64_t lin = seg_lin(c, seg, off, size, true);
	if (__builtin_expect(c->mem_hooks, 0))
		mem_hooks(c, lin, size, true);
	lin_write(c, lin, size, val, c->cpl == 3);
}

/* ---- descriptors */

void desc_to_seg(struct segment *s, uint16_t sel, uint64_t lo, uint64_t hi)
{
	uint32_t limit = (lo & 0xffff) | (((lo >> 48) & 0xf) << 16);
	s->selector = sel;
	s->base = ((lo >> 16) & 0xffffff) | (((lo >> 56) & 0xff) << 24);
	s->type = (lo >> 40) & 0xf;
	s->s = (lo >> 44) & 1;
	s->dpl = (lo >> 45) & 3;
	s->present = (lo >> 47) & 1;
	s->avl = (lo >> 52) & 1;
	s->l = (lo >> 53) & 1;
	s->db = (lo >> 54) & 1;
	s->g = (lo >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
	s->unusable = 0;
	if (!s->s)
		s->base |= (hi & 0xffffffffull) << 32;
}

/* Reads the 8-byte descriptor of sel (and the next 8 bytes when hi is not
 * NULL, for 16-byte system descriptors in long mode). */
bool read_descriptor(struct emu_cpu *c, uint16_t sel, uint64_t *lo, uint64_t *hi, bool fault, int vec)
{
	uint64_t base, limit;
	if (sel & 4) {
		const struct segment *ldt = &c->s.seg[SEG_LDT];
		if (ldt->unusable || !ldt->present) {
			if (fault)
				raise_fault(c, vec, true, sel & 0xfffc);
			return false;
		}
		base = ldt->base, limit = ldt->limit;
	} else {
		base = c->s.gdt.base, limit = c->s.gdt.limit;
	}
	uint32_t idx = sel & 0xfff8;
	if (idx + 7 > limit || (hi && idx + 15 > limit)) {
		if (fault)
			raise_fault(c, vec, true, sel & 0xfffc);
		return false;
	}
	uint64_t a = base + idx;
	if (!c->long_mode)
		a &= 0xffffffffull;
	*lo = lin_read(c, a, 8, false);
	if (hi)
		*hi = lin_read(c, a + 8, 8, false);
	return true;
}

static void set_desc_accessed(struct emu_cpu *c, uint16_t sel, uint64_t lo)
{
	if (lo & (1ull << 40))
		return;
	uint64_t base = (sel & 4) ? c->s.seg[SEG_LDT].base : c->s.gdt.base;
	uint64_t a = base + (sel & 0xfff8) + 5;
	if (!c->long_mode)
		a &= 0xffffffffull;
	lin_write(c, a, 1, ((lo >> 40) & 0xff) | 1, false);
}

static void load_null(struct segment *s, uint16_t sel)
{
	s->selector = sel;
	s->base = 0;
	s->limit = 0;
	s->type = 0;
	s->s = 0;
	s->present = 0;
	s->dpl = 0;
	s->unusable = 1;
}

/* MOV/POP to a data segment register or SS, with the protected-mode checks. */
void load_seg(struct emu_cpu *c, int sreg, uint16_t sel)
{
	struct segment *s = &c->s.seg[sreg];
	if (!c->pe || c->v86) {
		s->selector = sel;
		s->base = (uint64_t)sel << 4;
		s->unusable = 0;
		s->present = 1;
		if (c->v86) {
			s->limit = 0xffff;
			s->dpl = 3;
			s->type = 3;
			s->s = 1;
			s->db = 0;
			s->g = 0;
		}
		return;
	}
	int rpl = sel & 3;
	if ((sel & 0xfffc) == 0) {
		if (sreg == SEG_SS && !(c->code64 && c->cpl != 3 && rpl == c->cpl))
			raise_gp(c, 0);
		load_null(s, sel);
		if (sreg == SEG_SS)
			s->dpl = c->cpl;
		return;
	}
	uint64_t lo;
	read_descriptor(c, sel, &lo, NULL, true, 13);
	struct segment n;
	desc_to_seg(&n, sel, lo, 0);
	if (sreg == SEG_SS) {
		if (rpl != c->cpl || n.dpl != c->cpl || !n.s || (n.type & 8) || !(n.type & 2))
			raise_gp(c, sel & 0xfffc);
		if (!n.present)
			raise_fault(c, 12, true, sel & 0xfffc);
	} else {
		if (!n.s || ((n.type & 8) && !(n.type & 2)))
			raise_gp(c, sel & 0xfffc);
		bool conforming_code = (n.type & 0xc) == 0xc;
		if (!conforming_code && (n.dpl < c->cpl || n.dpl < rpl))
			raise_gp(c, sel & 0xfffc);
		if (!n.present)
			raise_fault(c, 11, true, sel & 0xfffc);
	}
	set_desc_accessed(c, sel, lo);
	n.type |= 1;
	*s = n;
}

/* Loads CS from a code descriptor already checked by the caller. */
static void commit_cs(struct emu_cpu *c, uint16_t sel, uint64_t lo, int cpl)
{
	set_desc_accessed(c, sel, lo);
	desc_to_seg(&c->s.seg[SEG_CS], (sel & 0xfffc) | cpl, lo, 0);
	c->s.seg[SEG_CS].type |= 1;
}

void load_cs(struct emu_cpu *c, uint16_t sel, int cpl_new)
{
	uint64_t lo;
	read_descriptor(c, sel, &lo, NULL, true, 13);
	commit_cs(c, sel, lo, cpl_new);
}

/* Checks a code descriptor as a JMP/CALL target at the current CPL. */
static void check_code_target(struct emu_cpu *c, uint16_t sel, const struct segment *n)
{
	if (!n->s || !(n->type & 8))
		raise_gp(c, sel & 0xfffc);
	if (n->type & 4) {
		if (n->dpl > c->cpl)
			raise_gp(c, sel & 0xfffc);
	} else if ((sel & 3) > c->cpl || n->dpl != c->cpl) {
		raise_gp(c, sel & 0xfffc);
	}
	if (!n->present)
		raise_fault(c, 11, true, sel & 0xfffc);
}

static uint64_t ip_mask(int osize)
{
	return size_mask(osize);
}

/* The segment a far JMP or CALL (or its gate) names, and the low half of
 * its descriptor: #GP(0) for a null selector, the descriptor checks are
 * the caller's. */
static uint64_t far_target(struct emu_cpu *c, uint16_t sel, struct segment *n)
{
	if ((sel & 0xfffc) == 0)
		raise_gp(c, 0);
	uint64_t lo;
	read_descriptor(c, sel, &lo, NULL, true, 13);
	desc_to_seg(n, sel, lo, 0);
	return lo;
}

/* JMP/CALL through a call gate; CALL to a more privileged nonconforming
 * segment switches to the TSS stack and copies the gate's parameters. */
static void through_gate(struct emu_cpu *c, uint16_t gsel, uint64_t glo, bool call)
{
	int type = (glo >> 40) & 0xf, gdpl = (glo >> 45) & 3;
	bool lm = c->long_mode;
	if (!lm && (type == 5 || type == 9 || type == 1)) {
		/* a task: through a task gate or straight to an available TSS */
		if (gdpl < c->cpl || gdpl < (gsel & 3))
			raise_gp(c, gsel & 0xfffc);
		if (!((glo >> 47) & 1))
			raise_fault(c, 11, true, gsel & 0xfffc);
		uint16_t tsel = gsel;
		uint64_t tlo = glo;
		if (type == 5) {
			tsel = (glo >> 16) & 0xffff;
			if ((tsel & 4) || !read_descriptor(c, tsel, &tlo, NULL, false, 13))
				raise_gp(c, tsel & 0xfffc);
		}
		task_switch(c, tsel, tlo, call ? TASK_CALL : TASK_JMP, c->next_rip, false, 0);
		c->stop |= STOP_BLOCK;
		return;
	}
	if (!(type == 0xc || (!lm && type == 4)))
		raise_gp(c, gsel & 0xfffc);
	if (gdpl < c->cpl || gdpl < (gsel & 3))
		raise_gp(c, gsel & 0xfffc);
	if (!((glo >> 47) & 1))
		raise_fault(c, 11, true, gsel & 0xfffc);
	uint64_t ghi = 0;
	if (lm) {
		uint64_t lo2;
		read_descriptor(c, gsel, &lo2, &ghi, true, 13);
	}
	uint16_t sel = (glo >> 16) & 0xffff;
	uint64_t off = (glo & 0xffff) | ((glo >> 32) & 0xffff0000ull);
	if (lm)
		off |= (ghi & 0xffffffffull) << 32;
	else if (type == 4)
		off &= 0xffff;
	int params = (glo >> 32) & 0x1f;
	int gsize = lm ? 8 : type == 0xc ? 4 : 2;
	struct segment n;
	uint64_t lo = far_target(c, sel, &n);
	if (!n.s || !(n.type & 8) || n.dpl > c->cpl || (lm && (!n.l || n.db)))
		raise_gp(c, sel & 0xfffc);
	if (!n.present)
		raise_fault(c, 11, true, sel & 0xfffc);
	bool conforming = n.type & 4;
	if (!call) {
		if (!conforming && n.dpl != c->cpl)
			raise_gp(c, sel & 0xfffc);
		commit_cs(c, sel, lo, c->cpl);
		c->next_rip = off;
		emu_update_mode(c);
		return;
	}
	uint16_t old_cs = c->s.seg[SEG_CS].selector, old_ss = c->s.seg[SEG_SS].selector;
	uint64_t old_sp = c->s.gpr[RSP], ret = c->next_rip;
	if (!conforming && n.dpl < c->cpl) {
		int new_cpl = n.dpl;
		if (lm) {
			const struct segment *tr = &c->s.seg[SEG_TR];
			uint64_t rsp = lin_read(c, tr->base + 4 + 8 * new_cpl, 8, false);
			struct segment *ss = &c->s.seg[SEG_SS];
			load_null(ss, new_cpl);
			ss->dpl = new_cpl;
			commit_cs(c, sel, lo, new_cpl);
			emu_update_mode(c);
			c->s.gpr[RSP] = rsp;
			push(c, 8, old_ss);
			push(c, 8, old_sp);
		} else {
			/* the parameters are read from the caller's stack first */
			uint32_t param[31];
			uint64_t sm = size_mask(c->s.seg[SEG_SS].db ? 4 : 2);
			for (int k = 0; k < params; k++)
				param[k] = mem_read(c, SEG_SS, (old_sp + (uint64_t)k * gsize) & sm, gsize);
			load_inner_stack(c, new_cpl);
			push(c, gsize, old_ss);
			push(c, gsize, old_sp);
			for (int k = params - 1; k >= 0; k--)
				push(c, gsize, param[k]);
			commit_cs(c, sel, lo, new_cpl);
		}
	} else {
		commit_cs(c, sel, lo, c->cpl);
	}
	emu_update_mode(c);
	push(c, gsize, old_cs);
	push(c, gsize, ret);
	c->next_rip = off;
}

void far_jump(struct emu_cpu *c, uint16_t sel, uint64_t off, bool call, int osize)
{
	if (!c->pe || c->v86) {
		if (call) {
			push(c, osize, c->s.seg[SEG_CS].selector);
			push(c, osize, c->next_rip);
		}
		c->s.seg[SEG_CS].selector = sel;
		c->s.seg[SEG_CS].base = (uint64_t)sel << 4;
		c->next_rip = off & ip_mask(osize);
		c->stop |= STOP_BLOCK;
		return;
	}
	struct segment n;
	uint64_t lo = far_target(c, sel, &n);
	if (!n.s) {
		through_gate(c, sel, lo, call);
		return;
	}
	check_code_target(c, sel, &n);
	bool to64 = c->long_mode && n.l;
	if (!to64 && (off & ip_mask(osize)) > n.limit)
		raise_gp(c, 0);
	if (call) {
		/* push before committing so a stack fault leaves CS intact */
		push(c, osize, c->s.seg[SEG_CS].selector);
		push(c, osize, c->next_rip);
	}
	commit_cs(c, sel, lo, c->cpl);
	c->next_rip = off & ip_mask(osize);
	emu_update_mode(c);
}

/* What far RET and IRET check of the code segment they return to (SDM,
 * RET and IRET): a non-null selector with RPL >= CPL, naming a present
 * code segment whose DPL fits the RPL (equal, or <= for conforming code).
 * RSP goes back to sp_before on the selector #GP, so the fault sees the
 * stack as it was before the pops. Returns the descriptor's low quadword. */
static uint64_t check_return_cs(struct emu_cpu *c, uint16_t sel, uint64_t sp_before,
				struct segment *n)
{
	int rpl = sel & 3;
	if ((sel & 0xfffc) == 0 || rpl < c->cpl) {
		c->s.gpr[RSP] = sp_before;
		raise_gp(c, sel & 0xfffc);
	}
	uint64_t lo;
	read_descriptor(c, sel, &lo, NULL, true, 13);
	desc_to_seg(n, sel, lo, 0);
	if (!n->s || !(n->type & 8) || ((n->type & 4) ? n->dpl > rpl : n->dpl != rpl))
		raise_gp(c, sel & 0xfffc);
	if (!n->present)
		raise_fault(c, 11, true, sel & 0xfffc);
	return lo;
}

/* Invalidates data segments the new, less privileged CPL may not use. */
static void drop_privileged_segs(struct emu_cpu *c)
{
	static const int segs[] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };
	for (int k = 0; k < 4; k++) {
		struct segment *s = &c->s.seg[segs[k]];
		bool conforming = s->s && (s->type & 0xc) == 0xc;
		if (!s->unusable && !conforming && s->dpl < c->cpl) {
			/* FS/GS bases survive in 64-bit mode only through their MSRs */
			load_null(s, 0);
		}
	}
}

void far_return(struct emu_cpu *c, int osize, uint16_t pop_extra)
{
	if (!c->pe || c->v86) {
		uint64_t ip = pop(c, osize);
		uint16_t sel = pop(c, osize);
		c->s.gpr[RSP] = (c->s.gpr[RSP] & ~stack_mask(c)) |
				((c->s.gpr[RSP] + pop_extra) & stack_mask(c));
		c->s.seg[SEG_CS].selector = sel;
		c->s.seg[SEG_CS].base = (uint64_t)sel << 4;
		c->next_rip = ip;
		c->stop |= STOP_BLOCK;
		return;
	}
	uint64_t sp = c->s.gpr[RSP];
	uint64_t ip = pop(c, osize);
	uint16_t sel = pop(c, osize);
	int rpl = sel & 3;
	struct segment n;
	uint64_t lo = check_return_cs(c, sel, sp, &n);
	c->s.gpr[RSP] = (c->s.gpr[RSP] & ~stack_mask(c)) | ((c->s.gpr[RSP] + pop_extra) & stack_mask(c));
	if (rpl > c->cpl) {
		uint64_t nsp = pop(c, osize);
		uint16_t nss = pop(c, osize);
		commit_cs(c, sel, lo, rpl);
		c->s.seg[SEG_SS].dpl = rpl;
		emu_update_mode(c);
		load_seg(c, SEG_SS, nss);
		c->s.gpr[RSP] = nsp + pop_extra;
		drop_privileged_segs(c);
	} else {
		commit_cs(c, sel, lo, rpl);
	}
	c->next_rip = ip;
	emu_update_mode(c);
}

/* RFLAGS bits a POPF/IRET may change at this CPL and IOPL. */
static uint64_t writable_flags(struct emu_cpu *c, int osize, bool iret)
{
	uint64_t m = RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_TF |
		     RFLAGS_DF | RFLAGS_OF | RFLAGS_NT;
	int iopl = (c->s.rflags >> 12) & 3;
	if (osize >= 4)
		m |= RFLAGS_AC | RFLAGS_ID | (iret ? RFLAGS_RF : 0);
	if (!c->pe || c->cpl <= iopl)
		m |= RFLAGS_IF;
	if (!c->pe || c->cpl == 0) {
		m |= RFLAGS_IOPL;
		if (iret && osize >= 4)
			m |= RFLAGS_VIF | RFLAGS_VIP;
	}
	if (osize == 2)
		m &= 0xffff;
	return m;
}

void write_flags_popf(struct emu_cpu *c, uint64_t v, int osize, bool iret)
{
	uint64_t m = writable_flags(c, osize, iret);
	uint64_t f = get_flags(c);
	f = (f & ~m) | (v & m);
	set_flags(c, f | RFLAGS_FIXED);
	update_mem_hooks(c);
}

/* IRET with NT returns to the task named by the TSS back link, checked as
 * the SDM says (#TS for a bad one). */
static void iret_to_link(struct emu_cpu *c)
{
	const struct segment *tr = &c->s.seg[SEG_TR];
	uint16_t link = lin_read(c, tr->base & 0xffffffffull, 2, false);
	if (link & 4)
		raise_fault(c, 10, true, link & 0xfffc);
	uint64_t lo;
	read_descriptor(c, link, &lo, NULL, true, 10);
	int type = (lo >> 40) & 0x1f;
	if (type != 0x03 && type != 0x0b)
		raise_fault(c, 10, true, link & 0xfffc);
	if (!((lo >> 47) & 1))
		raise_fault(c, 11, true, link & 0xfffc);
	task_switch(c, link, lo, TASK_IRET, c->next_rip, false, 0);
}

/* Virtual-8086 segment registers: real-mode bases, 64 KiB, DPL 3. */
static void v86_seg(struct segment *s, uint16_t sel, bool code)
{
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->limit = 0xffff;
	s->type = code ? 0xb : 3;
	s->s = 1;
	s->dpl = 3;
	s->present = 1;
	s->l = s->db = s->g = 0;
	s->unusable = 0;
}

/* IRET at CPL 0 with EFLAGS.VM set in the image: into virtual-8086 mode,
 * popping the rest of the frame (ESP, SS, ES, DS, FS, GS). */
static void iret_to_v86(struct emu_cpu *c, uint64_t ip, uint16_t cs, uint64_t fl)
{
	uint32_t esp = pop(c, 4);
	uint16_t ss = pop(c, 4), es = pop(c, 4), ds = pop(c, 4), fs = pop(c, 4), gs = pop(c, 4);
	set_flags(c, (fl & 0x3f7fd7) | RFLAGS_FIXED | RFLAGS_VM);
	v86_seg(&c->s.seg[SEG_CS], cs, true);
	v86_seg(&c->s.seg[SEG_SS], ss, false);
	v86_seg(&c->s.seg[SEG_ES], es, false);
	v86_seg(&c->s.seg[SEG_DS], ds, false);
	v86_seg(&c->s.seg[SEG_FS], fs, false);
	v86_seg(&c->s.seg[SEG_GS], gs, false);
	c->s.gpr[RSP] = esp;
	c->next_rip = ip & 0xffff;
	emu_update_mode(c);
}

void do_iret(struct emu_cpu *c, int osize)
{
	if (!c->pe || c->v86) {
		/* real mode, or virtual-8086 mode with IOPL 3 (checked by the
		 * caller): VM and IOPL are out of reach of the popped image */
		uint64_t ip = pop(c, osize);
		uint16_t sel = pop(c, osize);
		uint64_t fl = pop(c, osize);
		c->s.seg[SEG_CS].selector = sel;
		c->s.seg[SEG_CS].base = (uint64_t)sel << 4;
		c->next_rip = ip;
		write_flags_popf(c, fl, osize, true);
		c->stop |= STOP_BLOCK;
		return;
	}
	if ((c->s.rflags & RFLAGS_NT) && !c->long_mode) {
		iret_to_link(c);
		c->stop |= STOP_BLOCK;
		return;
	}
	uint64_t sp = c->s.gpr[RSP];
	uint64_t ip = pop(c, osize);
	uint16_t sel = pop(c, osize);
	uint64_t fl = pop(c, osize);
	if ((fl & RFLAGS_VM) && c->cpl == 0 && !c->long_mode && osize == 4) {
		iret_to_v86(c, ip, sel, fl);
		return;
	}
	int rpl = sel & 3;
	struct segment n;
	uint64_t lo = check_return_cs(c, sel, sp, &n);
	bool pop_stack = rpl > c->cpl || c->code64;
	uint64_t nsp = 0;
	uint16_t nss = 0;
	if (pop_stack) {
		nsp = pop(c, osize);
		nss = pop(c, osize);
	}
	/* flags are written with the old CPL's rights */
	write_flags_popf(c, fl, osize, true);
	int old_cpl = c->cpl;
	commit_cs(c, sel, lo, rpl);
	c->next_rip = ip;
	if (pop_stack) {
		c->s.seg[SEG_SS].dpl = rpl;
		emu_update_mode(c);
		bool null_ok = c->long_mode && n.l && rpl != 3;
		if ((nss & 0xfffc) == 0 && null_ok) {
			load_null(&c->s.seg[SEG_SS], nss);
			c->s.seg[SEG_SS].dpl = rpl;
		} else {
			load_seg(c, SEG_SS, nss);
		}
		c->s.gpr[RSP] = nsp;
		if (osize == 4 && !c->long_mode)
			c->s.gpr[RSP] = (uint32_t)nsp;
	}
	emu_update_mode(c);
	if (rpl > old_cpl)
		drop_privileged_segs(c);
}
