/* String instructions (MOVS CMPS STOS LODS SCAS) with REP/REPE/REPNE.
 *
 * Each element commits its registers before the next, so a fault or an
 * MMIO exit in the middle leaves RSI/RDI/RCX describing exactly the work
 * done, and re-executing the instruction finishes it. Long repetitions
 * yield every so often so interrupts and kicks are seen. */
#include <string.h>

#include "engine/emu/emu.h"
#include "mem/guest_mem.h"

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

/* How many of n elements from off stay within the segment's limit. */
static uint64_t span_fit(struct emu_cpu *c, int seg, uint64_t off, int size, uint64_t n)
{
	const struct segment *s = &c->s.seg[seg];
	if (c->code64)
		return n;
	if (s->s && !(s->type & 8) && (s->type & 4))
		return 0;  /* expand-down: leave it to the element loop */
	if (off > s->limit)
		return 0;
	uint64_t fit = (s->limit - off + 1) / size;
	return n < fit ? n : fit;
}

/* REP MOVS/STOS forwards over RAM: a page-bounded span at a time with
 * memmove/stores on the host, registers committed after each span, so a
 * fault or MMIO on a later span sees exactly the work done. Returns false
 * when the slow loop must take over (MMIO, page-crossing element, limits). */
static bool rep_fast(struct emu_cpu *c, const struct insn *i, enum str_kind k, int size)
{
	int as = i->asize;
	bool user = c->cpl == 3;
	for (int spans = 0; spans < 64; spans++) {
		uint64_t cnt = reg_read(c, RCX, as, false);
		if (!cnt)
			return true;
		uint64_t di = reg_read(c, RDI, as, false), si = reg_read(c, RSI, as, false);
		uint64_t n = cnt;
		uint64_t room = (size_mask(as) - di) / size + 1;  /* no address-size wrap */
		if (n > room)
			n = room;
		if (k == S_MOVS && n > (size_mask(as) - si) / size + 1)
			n = (size_mask(as) - si) / size + 1;
		uint64_t dlin = seg_lin(c, SEG_ES, di, size, true);
		uint64_t dn = (4096 - (dlin & 0xfff)) / size;
		if (n > dn)
			n = dn;
		uint64_t slin = 0;
		if (k == S_MOVS) {
			slin = seg_lin(c, i->seg, si, size, false);
			uint64_t sn = (4096 - (slin & 0xfff)) / size;
			if (n > sn)
				n = sn;
		}
		if (!n)
			return false;
		/* stop the span at a segment limit; the slow loop faults there */
		n = span_fit(c, SEG_ES, di, size, n);
		if (k == S_MOVS)
			n = span_fit(c, i->seg, si, size, n);
		if (!n)
			return false;
		uint8_t *src = NULL, *dst;
		if (k == S_MOVS && !(src = lin_host_span(c, slin, n * size, false, user)))
			return false;
		if (!(dst = lin_host_span(c, dlin, n * size, true, user)))
			return false;
		if (k == S_MOVS) {
			/* overlapping forward copies repeat the pattern, as element by element */
			if (dst > src && dst < src + n * size)
				for (uint64_t b = 0; b < n * size; b++)
					dst[b] = src[b];
			else
				memmove(dst, src, n * size);
			reg_write(c, RSI, as, false, si + n * size);
		} else {
			uint64_t v = reg_read(c, RAX, size, false);
			if (v == 0)
				host_zero_fill(dst, n * size);  /* clear_page() and friends */
			else if (size == 1)
				memset(dst, (int)v, n);
			else
				for (uint64_t e = 0; e < n; e++)
					memcpy(dst + e * size, &v, size);
		}
		reg_write(c, RDI, as, false, di + n * size);
		reg_write(c, RCX, as, false, cnt - n);
		if (c->stop & STOP_SMC)
			break;
	}
	if (reg_read(c, RCX, as, false)) {
		c->next_rip = c->s.rip;  /* more to do after a look at events */
		c->stop |= STOP_BLOCK;
	}
	return true;
}

static void op_string(struct emu_cpu *c, const struct insn *i)
{
	int size = byte_or_osize(i), as = i->asize;
	enum str_kind k = kind_of(i->op);
	if (i->rep && (k == S_MOVS || k == S_STOS) && !(c->s.rflags & RFLAGS_DF) && !c->mem_hooks &&
	    rep_fast(c, i, k, size))
		return;
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
