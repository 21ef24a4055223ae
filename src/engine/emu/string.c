/* String instructions (MOVS CMPS STOS LODS SCAS) with REP/REPE/REPNE.
 *
 * Each element commits its registers before the next, so a fault or an
 * MMIO exit in the middle leaves RSI/RDI/RCX describing exactly the work
 * done, and re-executing the instruction finishes it. Long repetitions
 * yield every so often so interrupts and kicks are seen. */
#include "engine/emu/emu.h"

#define REP_SLICE 4096

enum str_kind { S_MOVS, S_CMPS, S_STOS, S_LODS, S_SCAS };

static enum str_kind kind_of(uint16_t op)
{
	switch (op & 0xfe) {
	case 0xa4: return S_MOVS;
	case 0xa6: return S_CMPS;
	case 0xaa: return S_STOS;
	case 0xac: return S_LODS;
	default: return S_SCAS;
	}
}

/* CMPS/SCAS set flags like SUB; reuse CMP through a tiny local copy of
 * the lazy recording so the string file does not reach into alu.c. */
static void cmp_flags(struct emu_cpu *c, uint64_t a, uint64_t b, int size)
{
	c->lf_kind = LF_SUB;
	c->lf_a = a;
	c->lf_b = b;
	c->lf_res = (a - b) & size_mask(size);
	c->lf_size = size;
}

static void step(struct emu_cpu *c, int reg, int asize, int64_t delta)
{
	reg_write(c, reg, asize, false, c->s.gpr[reg] + (uint64_t)delta);
}

static void op_string(struct emu_cpu *c, const struct insn *i)
{
	int size = byte_or_osize(i), as = i->asize;
	enum str_kind k = kind_of(i->op);
	int64_t d = (c->s.rflags & RFLAGS_DF) ? -size : size;
	bool rep = i->rep != 0;
	for (int n = 0;; n++) {
		if (rep && reg_read(c, RCX, as, false) == 0)
			return;
		switch (k) {
		case S_MOVS: {
			uint64_t v = mem_read(c, i->seg, reg_read(c, RSI, as, false), size);
			mem_write(c, SEG_ES, reg_read(c, RDI, as, false), size, v);
			step(c, RSI, as, d);
			step(c, RDI, as, d);
			break;
		}
		case S_CMPS: {
			uint64_t a = mem_read(c, i->seg, reg_read(c, RSI, as, false), size);
			uint64_t b = mem_read(c, SEG_ES, reg_read(c, RDI, as, false), size);
			cmp_flags(c, a, b, size);
			step(c, RSI, as, d);
			step(c, RDI, as, d);
			break;
		}
		case S_STOS:
			mem_write(c, SEG_ES, reg_read(c, RDI, as, false), size, reg_read(c, RAX, size, false));
			step(c, RDI, as, d);
			break;
		case S_LODS:
			reg_write(c, RAX, size, false, mem_read(c, i->seg, reg_read(c, RSI, as, false), size));
			step(c, RSI, as, d);
			break;
		case S_SCAS: {
			uint64_t b = mem_read(c, SEG_ES, reg_read(c, RDI, as, false), size);
			cmp_flags(c, reg_read(c, RAX, size, false), b, size);
			step(c, RDI, as, d);
			break;
		}
		}
		c->mmio_nlog = c->mmio_pos = 0;
		if (!rep)
			return;
		uint64_t cx = (reg_read(c, RCX, as, false) - 1) & size_mask(as);
		reg_write(c, RCX, as, false, cx);
		if (!cx)
			return;
		if (k == S_CMPS || k == S_SCAS) {
			bool zf = cond_true(c, 4);
			if ((i->rep == 0xf3 && !zf) || (i->rep == 0xf2 && zf))
				return;
		}
		if ((c->stop & STOP_EXIT) || n >= REP_SLICE) {
			c->next_rip = c->s.rip;
			c->stop |= STOP_BLOCK;
			return;
		}
	}
}

void string_register(insn_fn *t)
{
	for (int op = 0xa4; op <= 0xaf; op++)
		if (op != 0xa8 && op != 0xa9)
			t[op] = op_string;
}
