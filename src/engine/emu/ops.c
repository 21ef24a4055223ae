/* Operand access shared by every instruction family: the stack and operand
 * sizes (effective addresses and ModRM operands are inline in emu.h). */
#include "engine/emu/emu.h"

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
