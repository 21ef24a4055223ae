/* Control transfer: near and far jumps, calls and returns, conditional
 * branches, loops, software interrupts and IRET. */
#include "engine/emu/emu.h"


/* Sets the next RIP of a near transfer, with the CS limit check outside
 * 64-bit mode. */
static void near_target(struct emu_cpu *c, uint64_t target, int osize)
{
	if (!c->code64) {
		target &= size_mask(osize);
		if (target > c->s.seg[SEG_CS].limit)
			raise_gp(c, 0);
	} else if (!is_canonical(target)) {
		raise_gp(c, 0);
	}
	c->next_rip = target;
}

static void op_jcc(struct emu_cpu *c, const struct insn *i)
{
	if (cond_true(c, i->op & 0xf))
		near_target(c, c->next_rip + i->imm, i->osize);
}

static void op_jmp_rel(struct emu_cpu *c, const struct insn *i)
{
	near_target(c, c->next_rip + i->imm, i->osize);
}

static void op_call_rel(struct emu_cpu *c, const struct insn *i)
{
	uint64_t target = c->next_rip + i->imm;
	if (!c->code64 && (target & size_mask(i->osize)) > c->s.seg[SEG_CS].limit)
		raise_gp(c, 0);
	push(c, i->osize, c->next_rip);
	near_target(c, target, i->osize);
}

static void op_ret(struct emu_cpu *c, const struct insn *i)
{
	uint64_t sp = c->s.gpr[RSP];
	uint64_t target = pop(c, i->osize);
	if (!c->code64 && (target & size_mask(i->osize)) > c->s.seg[SEG_CS].limit) {
		c->s.gpr[RSP] = sp;
		raise_gp(c, 0);
	}
	if (i->op == 0xc2) {
		uint64_t m = stack_mask(c);
		c->s.gpr[RSP] = (c->s.gpr[RSP] & ~m) | ((c->s.gpr[RSP] + (i->imm & 0xffff)) & m);
	}
	near_target(c, target, i->osize);
}

static void op_retf(struct emu_cpu *c, const struct insn *i)
{
	far_return(c, i->osize, i->op == 0xca ? (uint16_t)i->imm : 0);
}

static void op_far_ptr(struct emu_cpu *c, const struct insn *i)
{
	if (c->code64)
		raise_ud(c);
	far_jump(c, i->imm2, i->imm, i->op == 0x9a, i->osize);
}

static void op_loop(struct emu_cpu *c, const struct insn *i)
{
	int as = i->asize;
	uint64_t cx = reg_read(c, RCX, as, false);
	bool take;
	if (i->op == 0xe3) {
		take = cx == 0;
	} else {
		cx = (cx - 1) & size_mask(as);
		reg_write(c, RCX, as, false, cx);
		take = cx != 0;
		if (i->op == 0xe0)
			take = take && !cond_true(c, 4);
		else if (i->op == 0xe1)
			take = take && cond_true(c, 4);
	}
	if (take)
		near_target(c, c->next_rip + i->imm, i->osize);
}

static void op_grp5(struct emu_cpu *c, const struct insn *i)
{
	int sub = i->reg & 7;
	switch (sub) {
	case 0: case 1:
		alu_incdec_rm(c, i, i->osize);
		return;
	case 2: case 4: {
		int os = c->code64 ? 8 : i->osize;
		uint64_t t = rm_read(c, i, os);
		if (sub == 2) {
			if (!c->code64 && (t & size_mask(os)) > c->s.seg[SEG_CS].limit)
				raise_gp(c, 0);
			push(c, os, c->next_rip);
		}
		near_target(c, t, os);
		return;
	}
	case 3: case 5: {
		if (i->mod == 3)
			raise_ud(c);
		uint64_t ea = insn_ea(c, i);
		uint64_t off = mem_read(c, i->seg, ea, i->osize);
		uint16_t sel = mem_read(c, i->seg, (ea + i->osize) & size_mask(i->asize), 2);
		far_jump(c, sel, off, sub == 3, i->osize);
		return;
	}
	case 6:
		push(c, i->osize == 4 && c->code64 ? 8 : i->osize, rm_read(c, i, i->osize == 4 && c->code64 ? 8 : i->osize));
		return;
	default:
		raise_ud(c);
	}
}

static void op_int(struct emu_cpu *c, const struct insn *i)
{
	int vec;
	switch (i->op) {
	case 0xcc: vec = 3; break;
	case 0xce:
		if (c->code64)
			raise_ud(c);
		if (!cond_true(c, 0))
			return;
		vec = 4;
		break;
	case 0xf1: vec = 1; break;
	default: vec = i->imm & 0xff; break;
	}
	if (c->v86 && i->op == 0xcd && ((c->s.rflags >> 12) & 3) < 3)
		raise_gp(c, 0);
	get_flags(c);
	deliver_event(c, vec, i->op == 0xf1 ? EV_EXT : EV_SOFT, false, 0);
}

static void op_iret(struct emu_cpu *c, const struct insn *i)
{
	if (c->v86 && ((c->s.rflags >> 12) & 3) < 3)
		raise_gp(c, 0);
	get_flags(c);
	do_iret(c, i->osize);
	c->s.events.nmi_masked = false;
	c->stop |= STOP_BLOCK;
}

static void op_bound(struct emu_cpu *c, const struct insn *i)
{
	if (c->code64 || i->mod == 3)
		raise_ud(c);
	int s = i->osize;
	uint64_t ea = insn_ea(c, i);
	int64_t lo = (int64_t)sext(mem_read(c, i->seg, ea, s), s);
	int64_t hi = (int64_t)sext(mem_read(c, i->seg, (ea + s) & size_mask(i->asize), s), s);
	int64_t v = (int64_t)sext(reg_read(c, i->reg, s, false), s);
	if (v < lo || v > hi)
		raise_fault(c, 5, false, 0);
}

void control_register(insn_fn *t)
{
	for (int k = 0; k < 16; k++) {
		t[0x70 + k] = op_jcc;
		t[0x180 + k] = op_jcc;
	}
	t[0xe9] = t[0xeb] = op_jmp_rel;
	t[0xe8] = op_call_rel;
	t[0xc2] = t[0xc3] = op_ret;
	t[0xca] = t[0xcb] = op_retf;
	t[0x9a] = t[0xea] = op_far_ptr;
	t[0xe0] = t[0xe1] = t[0xe2] = t[0xe3] = op_loop;
	t[0xff] = op_grp5;
	t[0xcc] = t[0xcd] = t[0xce] = t[0xf1] = op_int;
	t[0xcf] = op_iret;
	t[0x62] = op_bound;
}
