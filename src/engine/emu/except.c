/* Exceptions and interrupts: raising a fault out of an instruction, the
 * double- and triple-fault rules, and delivery through the IVT (real mode)
 * or the IDT (protected mode, long mode). */
#include <string.h>

#include "engine/emu/emu.h"

void raise_fault(struct emu_cpu *c, int vec, bool has_err, uint32_t err)
{
	c->fault_vec = vec;
	c->fault_has_err = has_err;
	c->fault_err = err;
	longjmp(c->jb, JMP_FAULT);
}

static bool contributory(int vec)
{
	return vec == 0 || (vec >= 10 && vec <= 13);
}

/* Called by the run loop after a fault unwound an instruction (or a
 * delivery). Returns with the handler's state loaded, or sets a shutdown. */
void handle_fault(struct emu_cpu *c)
{
	int vec = c->fault_vec;
	bool has_err = c->fault_has_err;
	uint32_t err = c->fault_err;
	int prev = c->delivering;
	c->mmio_nlog = c->mmio_pos = 0;
	if (prev == 8) {
		c->pend.reason = EXIT_SHUTDOWN;
		c->delivering = -1;
		c->stop |= STOP_EXIT;
		return;
	}
	if (prev >= 0 && ((contributory(prev) && contributory(vec)) ||
			  (prev == 14 && (contributory(vec) || vec == 14)))) {
		vec = 8;
		has_err = true;
		err = 0;
	}
	c->delivering = vec;
	/* a fault pushes RF = 1, so IRET back to the faulting instruction
	 * cannot trip an instruction breakpoint on it a second time (SDM vol.
	 * 3A 17.3.1.1); the handler itself runs with RF clear. Traps (#DB
	 * here is data or single-step, #BP, #OF) and the #DF abort push RF as
	 * it is. */
	if (vec != 1 && vec != 3 && vec != 4 && vec != 8)
		c->s.rflags |= RFLAGS_RF;
	deliver_event(c, vec, EV_EXC, has_err, err);
	c->delivering = -1;
}

static uint32_t idt_error(int vec, int kind)
{
	return (uint32_t)vec << 3 | 2 | (kind != EV_SOFT ? 1 : 0);
}

static void deliver_real(struct emu_cpu *c, int vec, uint64_t ret)
{
	if ((uint64_t)vec * 4 + 3 > c->s.idt.limit)
		raise_gp(c, idt_error(vec, EV_EXC));
	uint64_t ent = lin_read(c, (c->s.idt.base + vec * 4) & 0xffffffffull, 4, false);
	uint64_t f = get_flags(c);
	push(c, 2, f);
	push(c, 2, c->s.seg[SEG_CS].selector);
	push(c, 2, ret);
	set_flags(c, f & ~(uint64_t)(RFLAGS_IF | RFLAGS_TF | RFLAGS_AC | RFLAGS_RF));
	c->s.seg[SEG_CS].selector = ent >> 16;
	c->s.seg[SEG_CS].base = (ent >> 16) << 4;
	c->next_rip = ent & 0xffff;
}

/* Reads and checks the gate and the target code descriptor shared by the
 * protected-mode and long-mode paths. */
struct gate {
	uint16_t sel;
	uint64_t off;
	int type, dpl, ist;
	uint64_t code_lo;
	struct segment code;
};

static void read_gate(struct emu_cpu *c, int vec, int kind, struct gate *g)
{
	int esz = c->long_mode ? 16 : 8;
	uint32_t ierr = idt_error(vec, kind);
	if ((uint64_t)vec * esz + esz - 1 > c->s.idt.limit)
		raise_gp(c, ierr);
	uint64_t a = c->s.idt.base + (uint64_t)vec * esz;
	if (!c->long_mode)
		a &= 0xffffffffull;
	uint64_t lo = lin_read(c, a, 8, false);
	uint64_t hi = c->long_mode ? lin_read(c, a + 8, 8, false) : 0;
	g->type = (lo >> 40) & 0x1f;  /* with S, which must be 0 */
	g->dpl = (lo >> 45) & 3;
	g->sel = (lo >> 16) & 0xffff;
	g->off = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ull);
	g->ist = c->long_mode ? (lo >> 32) & 7 : 0;
	if (c->long_mode) {
		g->off |= (hi & 0xffffffffull) << 32;
		if (g->type != 0xe && g->type != 0xf)
			raise_gp(c, ierr);
	} else if (g->type == 5) {
		if (kind == EV_SOFT && g->dpl < c->cpl)
			raise_gp(c, ierr);
		if (!((lo >> 47) & 1))
			raise_fault(c, 11, true, ierr);
		return;  /* the caller switches tasks */
	} else if (g->type != 6 && g->type != 7 && g->type != 0xe && g->type != 0xf) {
		raise_gp(c, ierr);
	}
	if (kind == EV_SOFT && g->dpl < c->cpl)
		raise_gp(c, ierr);
	if (!((lo >> 47) & 1))
		raise_fault(c, 11, true, ierr);
	uint32_t ext = kind != EV_SOFT;
	if ((g->sel & 0xfffc) == 0)
		raise_gp(c, ext);
	read_descriptor(c, g->sel, &g->code_lo, NULL, true, 13);
	desc_to_seg(&g->code, g->sel, g->code_lo, 0);
	if (!g->code.s || !(g->code.type & 8) || g->code.dpl > c->cpl)
		raise_gp(c, (g->sel & 0xfffc) | ext);
	if (c->long_mode && (!g->code.l || g->code.db))
		raise_gp(c, (g->sel & 0xfffc) | ext);
	if (!g->code.present)
		raise_fault(c, 11, true, (g->sel & 0xfffc) | ext);
}

static void enter_handler(struct emu_cpu *c, struct gate *g, int new_cpl, bool clear_if)
{
	uint64_t f = get_flags(c);
	f &= ~(uint64_t)(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
	if (clear_if)
		f &= ~(uint64_t)RFLAGS_IF;
	set_flags(c, f);
	struct segment *cs = &c->s.seg[SEG_CS];
	*cs = g->code;
	cs->selector = (g->sel & 0xfffc) | new_cpl;
	cs->type |= 1;
	c->next_rip = g->off;
	emu_update_mode(c);
}

/* Loads SS:ESP for privilege level cpl from the 16- or 32-bit TSS, with
 * the checks that make a bad TSS a #TS. Used by interrupts and call gates. */
void load_inner_stack(struct emu_cpu *c, int cpl)
{
	const struct segment *tr = &c->s.seg[SEG_TR];
	uint64_t nsp;
	uint16_t nss;
	if (!(tr->type & 8)) {  /* 16-bit TSS */
		if (4u * cpl + 5 > tr->limit)
			raise_fault(c, 10, true, tr->selector & 0xfffc);
		nsp = lin_read(c, (tr->base + 2 + 4 * cpl) & 0xffffffffull, 2, false);
		nss = lin_read(c, (tr->base + 4 + 4 * cpl) & 0xffffffffull, 2, false);
	} else {
		if (8u * cpl + 11 > tr->limit)
			raise_fault(c, 10, true, tr->selector & 0xfffc);
		nsp = lin_read(c, (tr->base + 4 + 8 * cpl) & 0xffffffffull, 4, false);
		nss = lin_read(c, (tr->base + 8 + 8 * cpl) & 0xffffffffull, 2, false);
	}
	uint64_t lo;
	if ((nss & 0xfffc) == 0)
		raise_fault(c, 10, true, 0);
	read_descriptor(c, nss, &lo, NULL, true, 10);
	struct segment ss;
	desc_to_seg(&ss, nss, lo, 0);
	if ((nss & 3) != cpl || ss.dpl != cpl || !ss.s || (ss.type & 8) || !(ss.type & 2))
		raise_fault(c, 10, true, nss & 0xfffc);
	if (!ss.present)
		raise_fault(c, 12, true, nss & 0xfffc);
	c->s.seg[SEG_SS] = ss;
	c->s.seg[SEG_SS].type |= 1;
	c->s.gpr[RSP] = nsp;
	emu_update_mode(c);
}

static void deliver_protected(struct emu_cpu *c, int vec, int kind, bool has_err, uint32_t err,
			      uint64_t ret)
{
	struct gate g;
	read_gate(c, vec, kind, &g);
	if (g.type == 5) {
		uint64_t tlo;
		if ((g.sel & 4) || !read_descriptor(c, g.sel, &tlo, NULL, false, 13))
			raise_fault(c, 10, true, g.sel & 0xfffc);
		task_switch(c, g.sel, tlo, TASK_INT, ret, has_err, err);
		return;
	}
	int gsize = (g.type & 8) ? 4 : 2;
	bool conforming = g.code.type & 4;
	int new_cpl = conforming ? c->cpl : g.code.dpl;
	uint64_t f = get_flags(c);
	uint16_t old_ss = c->s.seg[SEG_SS].selector, old_cs = c->s.seg[SEG_CS].selector;
	uint64_t old_sp = c->s.gpr[RSP];
	bool from_v86 = c->v86;
	if (from_v86 && (new_cpl != 0 || conforming))
		raise_gp(c, g.sel & 0xfffc);
	if (new_cpl < c->cpl) {
		/* inner privilege: the stack comes from the TSS */
		uint16_t old_seg[4] = { c->s.seg[SEG_GS].selector, c->s.seg[SEG_FS].selector,
					c->s.seg[SEG_DS].selector, c->s.seg[SEG_ES].selector };
		if (from_v86) {
			/* leave VM first so the ring-0 stack loads as protected mode */
			c->s.rflags &= ~(uint64_t)RFLAGS_VM;
			emu_update_mode(c);
		}
		load_inner_stack(c, new_cpl);
		emu_update_mode(c);
		if (from_v86) {
			/* the v86 data segments go on the stack and become null */
			for (int k = 0; k < 4; k++)
				push(c, 4, old_seg[k]);
			static const int segs[4] = { SEG_GS, SEG_FS, SEG_DS, SEG_ES };
			for (int k = 0; k < 4; k++) {
				struct segment *s = &c->s.seg[segs[k]];
				memset(s, 0, sizeof(*s));
				s->unusable = 1;
			}
		}
		push(c, gsize, old_ss);
		push(c, gsize, old_sp);
	}
	push(c, gsize, f);
	push(c, gsize, old_cs);
	push(c, gsize, ret);
	if (has_err)
		push(c, gsize, err);
	enter_handler(c, &g, new_cpl, !(g.type & 1));
}

static void push_long(struct emu_cpu *c, uint64_t *rsp, uint64_t v, bool user)
{
	*rsp -= 8;
	if (!is_canonical(*rsp))
		raise_fault(c, 12, true, 0);
	lin_write(c, *rsp, 8, v, user);
}

static void deliver_long(struct emu_cpu *c, int vec, int kind, bool has_err, uint32_t err,
			 uint64_t ret)
{
	struct gate g;
	read_gate(c, vec, kind, &g);
	bool conforming = g.code.type & 4;
	int new_cpl = conforming ? c->cpl : g.code.dpl;
	uint64_t f = get_flags(c);
	uint64_t rsp = c->s.gpr[RSP];
	uint16_t old_ss = c->s.seg[SEG_SS].selector, old_cs = c->s.seg[SEG_CS].selector;
	uint64_t old_rsp = rsp;
	const struct segment *tr = &c->s.seg[SEG_TR];
	if (g.ist) {
		if (0x24u + 8 * g.ist + 7 > tr->limit)
			raise_fault(c, 10, true, tr->selector & 0xfffc);
		rsp = lin_read(c, tr->base + 0x24 + 8 * (g.ist - 1), 8, false);
	} else if (new_cpl < c->cpl) {
		if (4u + 8 * new_cpl + 7 > tr->limit)
			raise_fault(c, 10, true, tr->selector & 0xfffc);
		rsp = lin_read(c, tr->base + 4 + 8 * new_cpl, 8, false);
	}
	rsp &= ~15ull;
	bool user = new_cpl == 3;
	push_long(c, &rsp, old_ss, user);
	push_long(c, &rsp, old_rsp, user);
	push_long(c, &rsp, f, user);
	push_long(c, &rsp, old_cs, user);
	push_long(c, &rsp, ret, user);
	if (has_err)
		push_long(c, &rsp, err, user);
	if (new_cpl < c->cpl) {
		struct segment *ss = &c->s.seg[SEG_SS];
		ss->selector = new_cpl;
		ss->base = 0;
		ss->limit = 0;
		ss->unusable = 1;
		ss->present = 0;
		ss->dpl = new_cpl;
	}
	c->s.gpr[RSP] = rsp;
	enter_handler(c, &g, new_cpl, !(g.type & 1));
}

/* Delivers vector vec. Exceptions push the RIP of the faulting
 * instruction, INT n the next RIP, external events the current RIP (the
 * instruction boundary they arrive at). */
void deliver_event(struct emu_cpu *c, int vec, int kind, bool has_err, uint32_t err)
{
	uint64_t ret = kind == EV_SOFT ? c->next_rip : c->s.rip;
	c->s.events.halted = false;
	if (!c->pe)
		deliver_real(c, vec, ret);
	else if (c->long_mode)
		deliver_long(c, vec, kind, has_err, err, ret);
	else
		deliver_protected(c, vec, kind, has_err, err, ret);
	c->s.rip = c->next_rip;
	c->s.events.interrupt_shadow = 0;
	c->stop |= STOP_BLOCK;
}
