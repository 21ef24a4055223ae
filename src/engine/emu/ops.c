/* Operand access shared by every instruction family: effective addresses,
 * ModRM register-or-memory operands, and the stack. */
#include "engine/emu/emu.h"

uint64_t insn_ea(struct emu_cpu *c, const struct insn *i)
{
	uint64_t a = (uint64_t)(int64_t)i->disp;
	if (i->rip_rel)
		a += c->next_rip;
	if (i->base != NOREG)
		a += c->s.gpr[i->base];
	if (i->index != NOREG)
		a += c->s.gpr[i->index] << i->scale;
	return a & size_mask(i->asize);
}

uint64_t rm_read(struct emu_cpu *c, const struct insn *i, int size)
{
	if (i->mod == 3)
		return reg_read(c, i->rm, size, i->rex);
	return mem_read(c, i->seg, insn_ea(c, i), size);
}

void rm_write(struct emu_cpu *c, const struct insn *i, int size, uint64_t v)
{
	if (i->mod == 3)
		reg_write(c, i->rm, size, i->rex, v);
	else
		mem_write(c, i->seg, insn_ea(c, i), size, v);
}

int byte_or_osize(const struct insn *i)
{
	return (i->op & 1) ? i->osize : 1;
}

int stack_size(struct emu_cpu *c)
{
	if (c->code64)
		return 8;
	return c->s.seg[SEG_SS].db ? 4 : 2;
}

uint64_t stack_mask(struct emu_cpu *c)
{
	return size_mask(stack_size(c));
}

/* The new RSP is committed only after the write, so a faulting push
 * leaves RSP as it was. */
void push(struct emu_cpu *c, int size, uint64_t v)
{
	uint64_t m = stack_mask(c);
	uint64_t sp = (c->s.gpr[RSP] - size) & m;
	mem_write(c, SEG_SS, sp, size, v);
	c->s.gpr[RSP] = (c->s.gpr[RSP] & ~m) | sp;
}

uint64_t pop(struct emu_cpu *c, int size)
{
	uint64_t m = stack_mask(c);
	uint64_t sp = c->s.gpr[RSP] & m;
	uint64_t v = mem_read(c, SEG_SS, sp, size);
	c->s.gpr[RSP] = (c->s.gpr[RSP] & ~m) | ((sp + size) & m);
	return v;
}

void ops_ud(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	raise_ud(c);
}
