/* Data movement: MOV in its forms, exchanges, extensions, LEA, the stack
 * (PUSH/POP/PUSHA/POPA/PUSHF/POPF/ENTER/LEAVE) and segment-register moves. */
#include "engine/emu/emu.h"


static void op_mov_rm_r(struct emu_cpu *c, const struct insn *i)
{
	int size = byte_or_osize(i);
	if (i->op & 2)
		reg_write(c, i->reg, size, i->rex, rm_read(c, i, size));
	else
		rm_write(c, i, size, reg_read(c, i->reg, size, i->rex));
}

static void op_mov_rm_imm(struct emu_cpu *c, const struct insn *i)
{
	if ((i->reg & 7) != 0)
		raise_ud(c);
	int size = byte_or_osize(i);
	rm_write(c, i, size, i->imm);
}

static void op_mov_r_imm(struct emu_cpu *c, const struct insn *i)
{
	int r = (i->op & 7) | ((i->rex & 1) << 3);
	if (i->op < 0xb8)
		reg_write(c, r, 1, i->rex, i->imm);
	else
		reg_write(c, r, i->osize, i->rex, i->imm);
}

static void op_mov_moffs(struct emu_cpu *c, const struct insn *i)
{
	int size = byte_or_osize(i);
	uint64_t off = i->imm & size_mask(i->asize);
	if (i->op & 2)
		mem_write(c, i->seg, off, size, reg_read(c, RAX, size, false));
	else
		reg_write(c, RAX, size, false, mem_read(c, i->seg, off, size));
}

static void op_lea(struct emu_cpu *c, const struct insn *i)
{
	if (i->mod == 3)
		raise_ud(c);
	reg_write(c, i->reg, i->osize, i->rex, insn_ea(c, i));
}

static void op_xchg(struct emu_cpu *c, const struct insn *i)
{
	int size = byte_or_osize(i);
	uint64_t r = reg_read(c, i->reg, size, i->rex);
	if (i->mod == 3) {
		uint64_t v = reg_read(c, i->rm, size, i->rex);
		reg_write(c, i->rm, size, i->rex, r);
		reg_write(c, i->reg, size, i->rex, v);
		return;
	}
	uint64_t ea = insn_ea(c, i);
	uint64_t v = mem_read(c, i->seg, ea, size);
	mem_write(c, i->seg, ea, size, r);
	reg_write(c, i->reg, size, i->rex, v);
}

static void op_xchg_ax(struct emu_cpu *c, const struct insn *i)
{
	int r = (i->op & 7) | ((i->rex & 1) << 3);
	if (r == RAX)  /* 90 is NOP, even in 64-bit mode where XCHG EAX,EAX would zero-extend */
		return;
	uint64_t a = reg_read(c, RAX, i->osize, false);
	reg_write(c, RAX, i->osize, false, reg_read(c, r, i->osize, true));
	reg_write(c, r, i->osize, true, a);
}

static void op_nop(struct emu_cpu *c, const struct insn *i)
{
	(void)c;
	(void)i;
}

static void op_movx(struct emu_cpu *c, const struct insn *i)
{
	int src = (i->op & 1) ? 2 : 1;
	uint64_t v = rm_read(c, i, src);
	if (i->op >= 0x1be)
		v = sext(v, src);
	reg_write(c, i->reg, i->osize, i->rex, v);
}

/* 63: MOVSXD in 64-bit mode, ARPL elsewhere */
static void op_63(struct emu_cpu *c, const struct insn *i)
{
	if (c->code64) {
		uint64_t v = rm_read(c, i, 4);
		reg_write(c, i->reg, i->osize, i->rex, i->osize == 8 ? sext(v, 4) : v);
		return;
	}
	if (!c->pe || c->v86)
		raise_ud(c);
	uint64_t dst = rm_read(c, i, 2);
	uint64_t src = reg_read(c, i->reg, 2, false);
	if ((dst & 3) < (src & 3)) {
		rm_write(c, i, 2, (dst & ~3ull) | (src & 3));
		set_flags_masked(c, RFLAGS_ZF, RFLAGS_ZF);
	} else {
		set_flags_masked(c, 0, RFLAGS_ZF);
	}
}

static void op_xlat(struct emu_cpu *c, const struct insn *i)
{
	uint64_t a = (c->s.gpr[RBX] + (c->s.gpr[RAX] & 0xff)) & size_mask(i->asize);
	reg_write(c, RAX, 1, false, mem_read(c, i->seg, a, 1));
}

/* ---- stack */

static void op_push_r(struct emu_cpu *c, const struct insn *i)
{
	int r = (i->op & 7) | ((i->rex & 1) << 3);
	push(c, i->osize, reg_read(c, r, i->osize, true));
}

static void op_pop_r(struct emu_cpu *c, const struct insn *i)
{
	int r = (i->op & 7) | ((i->rex & 1) << 3);
	uint64_t v = pop(c, i->osize);
	reg_write(c, r, i->osize, true, v);
}

static void op_push_imm(struct emu_cpu *c, const struct insn *i)
{
	push(c, i->osize, i->imm);
}

static void op_pop_rm(struct emu_cpu *c, const struct insn *i)
{
	if ((i->reg & 7) != 0)
		raise_ud(c);
	/* the address is computed with RSP already incremented */
	uint64_t old = c->s.gpr[RSP];
	uint64_t v = pop(c, i->osize);
	if (i->mod == 3) {
		reg_write(c, i->rm, i->osize, i->rex, v);
		return;
	}
	uint64_t after = c->s.gpr[RSP];
	uint64_t ea = insn_ea(c, i);
	c->s.gpr[RSP] = old;
	mem_write(c, i->seg, ea, i->osize, v);
	c->s.gpr[RSP] = after;
}

static void op_pusha(struct emu_cpu *c, const struct insn *i)
{
	if (c->code64)
		raise_ud(c);
	int s = i->osize;
	uint64_t sp = reg_read(c, RSP, s, false);
	for (int r = RAX; r <= RDI; r++)
		push(c, s, r == RSP ? sp : reg_read(c, r, s, false));
}

static void op_popa(struct emu_cpu *c, const struct insn *i)
{
	if (c->code64)
		raise_ud(c);
	/* All eight reads before any register changes: a fault, or an MMIO
	 * read that leaves to the machine and re-executes the instruction,
	 * must find the registers as the instruction began. */
	int s = i->osize;
	uint64_t m = stack_mask(c), sp = c->s.gpr[RSP] & m, v[8];
	for (int k = 0; k < 8; k++)
		v[k] = mem_read(c, SEG_SS, (sp + (uint64_t)k * s) & m, s);
	for (int k = 0; k < 8; k++)
		if (RDI - k != RSP)
			reg_write(c, RDI - k, s, false, v[k]);
	c->s.gpr[RSP] = (c->s.gpr[RSP] & ~m) | ((sp + 8u * s) & m);
}

static void op_pushf(struct emu_cpu *c, const struct insn *i)
{
	if (c->v86 && ((c->s.rflags >> 12) & 3) < 3)
		raise_gp(c, 0);
	push(c, i->osize, get_flags(c) & ~(uint64_t)(RFLAGS_VM | RFLAGS_RF));
}

static void op_popf(struct emu_cpu *c, const struct insn *i)
{
	if (c->v86 && ((c->s.rflags >> 12) & 3) < 3)
		raise_gp(c, 0);
	uint64_t v = pop(c, i->osize);
	write_flags_popf(c, v, i->osize, false);
	c->stop |= STOP_BLOCK;  /* IF may now let an interrupt in */
}

static void op_enter(struct emu_cpu *c, const struct insn *i)
{
	int s = i->osize;
	unsigned level = i->imm2 & 31;
	uint64_t size = i->imm & 0xffff;
	push(c, s, reg_read(c, RBP, s, false));
	uint64_t frame = c->s.gpr[RSP] & stack_mask(c);
	uint64_t bp = c->s.gpr[RBP];
	for (unsigned k = 1; k < level; k++) {
		bp = (bp - s) & stack_mask(c);
		push(c, s, mem_read(c, SEG_SS, bp, s));
	}
	if (level)
		push(c, s, frame);
	reg_write(c, RBP, s, false, frame);
	uint64_t m = stack_mask(c);
	c->s.gpr[RSP] = (c->s.gpr[RSP] & ~m) | ((c->s.gpr[RSP] - size) & m);
}

static void op_leave(struct emu_cpu *c, const struct insn *i)
{
	/* read first: a faulting LEAVE leaves RSP and RBP as they were */
	uint64_t m = stack_mask(c);
	uint64_t sp = c->s.gpr[RBP] & m;
	uint64_t v = mem_read(c, SEG_SS, sp, i->osize);
	c->s.gpr[RSP] = (c->s.gpr[RSP] & ~m) | ((sp + i->osize) & m);
	reg_write(c, RBP, i->osize, false, v);
}

/* ---- segment registers */

static void set_mov_ss_shadow(struct emu_cpu *c)
{
	c->s.events.interrupt_shadow |= SHADOW_MOV_SS;
	c->stop |= STOP_BLOCK;
}

static void op_mov_from_sreg(struct emu_cpu *c, const struct insn *i)
{
	int sr = i->reg & 7;
	if (sr > SEG_GS)
		raise_ud(c);
	uint16_t v = c->s.seg[sr].selector;
	if (i->mod == 3)
		reg_write(c, i->rm, i->osize, i->rex, v);
	else
		rm_write(c, i, 2, v);
}

static void op_mov_to_sreg(struct emu_cpu *c, const struct insn *i)
{
	int sr = i->reg & 7;
	if (sr > SEG_GS || sr == SEG_CS)
		raise_ud(c);
	load_seg(c, sr, rm_read(c, i, 2));
	if (sr == SEG_SS) {
		emu_update_mode(c);
		set_mov_ss_shadow(c);
	}
}

static int sreg_of_pushpop(uint16_t op)
{
	switch (op) {
	case 0x06: case 0x07: return SEG_ES;
	case 0x0e: return SEG_CS;
	case 0x16: case 0x17: return SEG_SS;
	case 0x1e: case 0x1f: return SEG_DS;
	case 0x1a0: case 0x1a1: return SEG_FS;
	default: return SEG_GS;
	}
}

static void op_push_sreg(struct emu_cpu *c, const struct insn *i)
{
	if (c->code64 && i->op < 0x100)
		raise_ud(c);
	push(c, i->osize, c->s.seg[sreg_of_pushpop(i->op)].selector);
}

static void op_pop_sreg(struct emu_cpu *c, const struct insn *i)
{
	if (c->code64 && i->op < 0x100)
		raise_ud(c);
	int sr = sreg_of_pushpop(i->op);
	uint64_t m = stack_mask(c);
	uint64_t v = mem_read(c, SEG_SS, c->s.gpr[RSP] & m, 2);
	load_seg(c, sr, v);
	c->s.gpr[RSP] = (c->s.gpr[RSP] & ~m) | ((c->s.gpr[RSP] + i->osize) & m);
	if (sr == SEG_SS) {
		emu_update_mode(c);
		set_mov_ss_shadow(c);
	}
}

/* LDS LES LSS LFS LGS: a far pointer from memory */
static void op_load_far(struct emu_cpu *c, const struct insn *i)
{
	if (i->mod == 3 || (c->code64 && i->op < 0x100))
		raise_ud(c);
	int sr;
	switch (i->op) {
	case 0xc4: sr = SEG_ES; break;
	case 0xc5: sr = SEG_DS; break;
	case 0x1b2: sr = SEG_SS; break;
	case 0x1b4: sr = SEG_FS; break;
	default: sr = SEG_GS; break;
	}
	uint64_t ea = insn_ea(c, i);
	uint64_t off = mem_read(c, i->seg, ea, i->osize);
	uint16_t sel = mem_read(c, i->seg, (ea + i->osize) & size_mask(i->asize), 2);
	load_seg(c, sr, sel);
	reg_write(c, i->reg, i->osize, i->rex, off);
	if (sr == SEG_SS)
		emu_update_mode(c);
}

/* ---- decode-time specializations of MOV at 32 and 64 bits */

static void mov_rr64(struct emu_cpu *c, const struct insn *i)
{
	c->s.gpr[i->base] = c->s.gpr[i->index];
}

static void mov_rr32(struct emu_cpu *c, const struct insn *i)
{
	c->s.gpr[i->base] = (uint32_t)c->s.gpr[i->index];
}

static void mov_load64(struct emu_cpu *c, const struct insn *i)
{
	c->s.gpr[i->reg] = mem_read(c, i->seg, insn_ea(c, i), 8);
}

static void mov_load32(struct emu_cpu *c, const struct insn *i)
{
	c->s.gpr[i->reg] = (uint32_t)mem_read(c, i->seg, insn_ea(c, i), 4);
}

static void mov_store64(struct emu_cpu *c, const struct insn *i)
{
	mem_write(c, i->seg, insn_ea(c, i), 8, c->s.gpr[i->reg]);
}

static void mov_store32(struct emu_cpu *c, const struct insn *i)
{
	mem_write(c, i->seg, insn_ea(c, i), 4, c->s.gpr[i->reg]);
}

insn_fn datamov_fast(struct insn *i)
{
	int size = i->osize;
	if ((i->op != 0x89 && i->op != 0x8b) || (size != 8 && size != 4))
		return NULL;
	bool q = size == 8, load = i->op == 0x8b;
	if (i->mod == 3) {
		i->base = load ? i->reg : i->rm;
		i->index = load ? i->rm : i->reg;
		return q ? mov_rr64 : mov_rr32;
	}
	if (load)
		return q ? mov_load64 : mov_load32;
	return q ? mov_store64 : mov_store32;
}

void datamov_register(insn_fn *t)
{
	for (int k = 0x88; k <= 0x8b; k++)
		t[k] = op_mov_rm_r;
	t[0xc6] = t[0xc7] = op_mov_rm_imm;
	for (int k = 0xb0; k <= 0xbf; k++)
		t[k] = op_mov_r_imm;
	for (int k = 0xa0; k <= 0xa3; k++)
		t[k] = op_mov_moffs;
	t[0x8d] = op_lea;
	t[0x86] = t[0x87] = op_xchg;
	for (int k = 0x90; k <= 0x97; k++)
		t[k] = op_xchg_ax;
	t[0x10d] = t[0x118] = t[0x119] = t[0x11a] = t[0x11b] = t[0x11c] = t[0x11d] = t[0x11e] = t[0x11f] = op_nop;
	t[0x1b6] = t[0x1b7] = t[0x1be] = t[0x1bf] = op_movx;
	t[0x63] = op_63;
	t[0xd7] = op_xlat;
	for (int k = 0; k < 8; k++) {
		t[0x50 + k] = op_push_r;
		t[0x58 + k] = op_pop_r;
	}
	t[0x68] = t[0x6a] = op_push_imm;
	t[0x8f] = op_pop_rm;
	t[0x60] = op_pusha;
	t[0x61] = op_popa;
	t[0x9c] = op_pushf;
	t[0x9d] = op_popf;
	t[0xc8] = op_enter;
	t[0xc9] = op_leave;
	t[0x8c] = op_mov_from_sreg;
	t[0x8e] = op_mov_to_sreg;
	t[0x06] = t[0x0e] = t[0x16] = t[0x1e] = t[0x1a0] = t[0x1a8] = op_push_sreg;
	t[0x07] = t[0x17] = t[0x1f] = t[0x1a1] = t[0x1a9] = op_pop_sreg;
	t[0xc4] = t[0xc5] = t[0x1b2] = t[0x1b4] = t[0x1b5] = op_load_far;
}
