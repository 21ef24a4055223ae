/* Port I/O: IN/OUT/INS/OUTS as EXIT_IO. An OUT retires and then exits; an
 * IN exits without retiring and re-executes on the next run() with the
 * machine's answer in io_buf, so the instruction retires exactly once. */
#include <string.h>

#include "engine/emu/emu.h"

/* CPL > IOPL (or virtual-8086 mode) consults the TSS I/O permission bitmap. */
bool io_allowed(struct emu_cpu *c, uint16_t port, int size)
{
	if (!c->pe)
		return true;
	if (!c->v86 && c->cpl <= (int)((c->s.rflags >> 12) & 3))
		return true;
	const struct segment *tr = &c->s.seg[SEG_TR];
	if (tr->unusable || !tr->present || tr->limit < 0x67)
		return false;
	if ((tr->type & 0xd) != 9)
		return false;
	uint16_t map = lin_read(c, tr->base + 0x66, 2, false);
	uint64_t byte = (uint64_t)map + port / 8;
	if (byte + 1 > tr->limit)
		return false;
	uint16_t bits = lin_read(c, tr->base + byte, 2, false);
	return ((bits >> (port & 7)) & ((1u << size) - 1)) == 0;
}

static void check_io(struct emu_cpu *c, uint16_t port, int size)
{
	if (!io_allowed(c, port, size))
		raise_gp(c, 0);
}

static void exit_io(struct emu_cpu *c, uint16_t port, int size, bool write)
{
	c->pend.reason = EXIT_IO;
	c->pend.io.port = port;
	c->pend.io.size = size;
	c->pend.io.is_write = write;
	c->pend.io.count = 1;
	c->pend.io.data = c->io_buf;
}

/* The answer to this IN, or an exit that asks the machine for it. */
static uint64_t in_value(struct emu_cpu *c, uint16_t port, int size)
{
	if (c->io_in_ready) {
		c->io_in_ready = false;
		uint64_t v = 0;
		memcpy(&v, c->io_buf, size);
		return v;
	}
	exit_io(c, port, size, false);
	memset(c->io_buf, 0xff, size);
	c->io_in_pending = true;
	longjmp(c->jb, JMP_EXIT);
}

static void out_value(struct emu_cpu *c, uint16_t port, int size, uint64_t v)
{
	exit_io(c, port, size, true);
	memcpy(c->io_buf, &v, size);
	c->stop |= STOP_EXIT;
}

static int io_size(const struct insn *i)
{
	return (i->op & 1) ? (i->osize == 2 ? 2 : 4) : 1;
}

static uint16_t io_port(struct emu_cpu *c, const struct insn *i)
{
	return i->op >= 0xec ? (uint16_t)c->s.gpr[RDX] : (uint16_t)(i->imm & 0xff);
}

static void op_in(struct emu_cpu *c, const struct insn *i)
{
	int size = io_size(i);
	uint16_t port = io_port(c, i);
	check_io(c, port, size);
	reg_write(c, RAX, size, false, in_value(c, port, size));
}

static void op_out(struct emu_cpu *c, const struct insn *i)
{
	int size = io_size(i);
	uint16_t port = io_port(c, i);
	check_io(c, port, size);
	out_value(c, port, size, reg_read(c, RAX, size, false));
}

static void advance_index(struct emu_cpu *c, int reg, int asize, int size)
{
	uint64_t step = (c->s.rflags & RFLAGS_DF) ? (uint64_t)-size : (uint64_t)size;
	reg_write(c, reg, asize, false, c->s.gpr[reg] + step);
}

/* INS/OUTS: one element per exit. With REP the instruction stays at its
 * RIP until RCX reaches 0, so every element is an instruction boundary. */
static void op_ins_outs(struct emu_cpu *c, const struct insn *i)
{
	int size = io_size(i);
	uint16_t port = (uint16_t)c->s.gpr[RDX];
	int as = i->asize;
	bool rep = i->rep != 0;
	get_flags(c);  /* DF lives in rflags, never lazy; this keeps the order simple */
	if (rep && reg_read(c, RCX, as, false) == 0)
		return;
	check_io(c, port, size);
	if (i->op <= 0x6d) {
		uint64_t v = in_value(c, port, size);
		mem_write(c, SEG_ES, reg_read(c, RDI, as, false), size, v);
		advance_index(c, RDI, as, size);
	} else {
		uint64_t v = mem_read(c, i->seg, reg_read(c, RSI, as, false), size);
		out_value(c, port, size, v);
		advance_index(c, RSI, as, size);
	}
	if (rep) {
		uint64_t cx = reg_read(c, RCX, as, false) - 1;
		reg_write(c, RCX, as, false, cx);
		if (cx & size_mask(as)) {
			c->next_rip = c->s.rip;  /* more to do: run this instruction again */
			c->stop |= STOP_BLOCK;
		}
	}
}

void io_register(insn_fn *t)
{
	t[0xe4] = t[0xe5] = t[0xec] = t[0xed] = op_in;
	t[0xe6] = t[0xe7] = t[0xee] = t[0xef] = op_out;
	t[0x6c] = t[0x6d] = t[0x6e] = t[0x6f] = op_ins_outs;
}
