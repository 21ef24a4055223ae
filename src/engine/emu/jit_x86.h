/* A small x86-64 encoder for the block translator (jit.c): the handful of
 * instruction shapes it emits, with forward labels resolved when a block is
 * finished. Encodings from the SDM, volume 2 (ModRM/SIB, REX, opcode maps).
 * Writing past the buffer sets `full` and the translation is dropped. */
#ifndef POPEK_EMU_JIT_X86_H
#define POPEK_EMU_JIT_X86_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum { HAX, HCX, HDX, HBX, HSP, HBP, HSI, HDI, H8, H9, H10, H11, H12, H13, H14, H15 };

/* Host condition codes, the low nibble of Jcc/SETcc (same as the guest's). */
enum { CC_B = 2, CC_NB = 3, CC_Z = 4, CC_NZ = 5, CC_BE = 6, CC_A = 7 };

#define JIT_LABELS 512
#define JIT_FIXUPS 1024

struct jbuf {
	uint8_t *start, *p, *end;
	bool full;
	int nlabels, nfix;
	int32_t label_at[JIT_LABELS];    /* offset, -1 while unbound */
	struct { int32_t at; int label; } fix[JIT_FIXUPS];
};

static inline void jb(struct jbuf *j, unsigned v)
{
	if (j->p < j->end)
		*j->p++ = (uint8_t)v;
	else
		j->full = true;
}

static inline void j32(struct jbuf *j, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		jb(j, (v >> (8 * k)) & 0xff);
}

static inline void j64(struct jbuf *j, uint64_t v)
{
	j32(j, (uint32_t)v);
	j32(j, (uint32_t)(v >> 32));
}

static inline bool fits8(int64_t v) { return v >= -128 && v <= 127; }

/* An immediate of an operation of sz bytes (a qword one takes 32 bits). */
static inline void jimm(struct jbuf *j, int sz, int32_t imm)
{
	if (sz == 1) {
		jb(j, (uint8_t)imm);
	} else if (sz == 2) {
		jb(j, imm & 0xff);
		jb(j, (imm >> 8) & 0xff);
	} else {
		j32(j, (uint32_t)imm);
	}
}
static inline bool fits32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* Operand-size prefix and REX for an operation of sz bytes; r is the
 * ModRM.reg register, x the SIB index, b the ModRM.rm or base register. */
static inline void jrex(struct jbuf *j, int sz, int r, int x, int b)
{
	if (sz == 2)
		jb(j, 0x66);
	unsigned rex = (sz == 8 ? 8u : 0u) | ((r & 8) ? 4u : 0u) | ((x & 8) ? 2u : 0u) | ((b & 8) ? 1u : 0u);
	if (rex)
		jb(j, 0x40 | rex);
}

/* Opcodes are given as 0xXX or 0x0FXX. */
static inline void jopc(struct jbuf *j, unsigned opc)
{
	if (opc > 0xff)
		jb(j, opc >> 8);
	jb(j, opc & 0xff);
}

/* ModRM (+SIB, disp) for [base + disp]. */
static inline void jmodrm_mem(struct jbuf *j, int r, int base, int32_t disp)
{
	int mod = (disp == 0 && (base & 7) != HBP) ? 0 : fits8(disp) ? 1 : 2;
	jb(j, (unsigned)(mod << 6 | (r & 7) << 3 | (base & 7)));
	if ((base & 7) == HSP)
		jb(j, 0x24);
	if (mod == 1)
		jb(j, (uint8_t)disp);
	else if (mod == 2)
		j32(j, (uint32_t)disp);
}

/* op r, [base + disp] (or op [base + disp], r: the opcode decides). */
static inline void jop_m(struct jbuf *j, int sz, unsigned opc, int r, int base, int32_t disp)
{
	jrex(j, sz, r, 0, base);
	jopc(j, opc);
	jmodrm_mem(j, r, base, disp);
}

/* op r, rm (register forms). */
static inline void jop_r(struct jbuf *j, int sz, unsigned opc, int r, int rm)
{
	jrex(j, sz, r, 0, rm);
	jopc(j, opc);
	jb(j, 0xc0 | (unsigned)(r & 7) << 3 | (unsigned)(rm & 7));
}

/* op r, [base + index * 2^scale + disp] at size sz; index not RSP. */
static inline void jop_sib(struct jbuf *j, int sz, unsigned opc, int r, int base, int index, int scale,
			   int32_t disp)
{
	jrex(j, sz, r, index, base);
	jopc(j, opc);
	int mod = (disp == 0 && (base & 7) != HBP) ? 0 : fits8(disp) ? 1 : 2;
	jb(j, (unsigned)(mod << 6 | (r & 7) << 3 | 4));
	jb(j, (unsigned)(scale << 6 | (index & 7) << 3 | (base & 7)));
	if (mod == 1)
		jb(j, (uint8_t)disp);
	else if (mod == 2)
		j32(j, (uint32_t)disp);
}

/* lea r64, [base + index * 2^scale + disp] (index RSP: none). */
static inline void jlea_sib(struct jbuf *j, int r, int base, int index, int scale, int32_t disp)
{
	jop_sib(j, 8, 0x8d, r, base, index, scale, disp);
}

/* Group-1 operation (/ext: 0 ADD, 1 OR, 4 AND, 5 SUB, 7 CMP) with an
 * immediate on a register. */
static inline void jgrp1_ri(struct jbuf *j, int sz, int ext, int rm, int32_t imm)
{
	if (fits8(imm) && sz != 1) {
		jrex(j, sz, 0, 0, rm);
		jb(j, 0x83);
		jb(j, 0xc0 | (unsigned)ext << 3 | (unsigned)(rm & 7));
		jb(j, (uint8_t)imm);
		return;
	}
	jrex(j, sz, 0, 0, rm);
	jb(j, sz == 1 ? 0x80 : 0x81);
	jb(j, 0xc0 | (unsigned)ext << 3 | (unsigned)(rm & 7));
	jimm(j, sz, imm);
}

/* The same on a qword in memory: [base + disp] op= imm (64-bit). */
static inline void jgrp1_mi64(struct jbuf *j, int ext, int base, int32_t disp, int32_t imm)
{
	jrex(j, 8, 0, 0, base);
	jb(j, fits8(imm) ? 0x83 : 0x81);
	jmodrm_mem(j, ext, base, disp);
	if (fits8(imm))
		jb(j, (uint8_t)imm);
	else
		j32(j, (uint32_t)imm);
}

/* mov r64, imm (the shortest form that gives the same 64-bit value). */
static inline void jmov_ri(struct jbuf *j, int r, uint64_t v)
{
	if (v <= 0xffffffffull) {
		jrex(j, 4, 0, 0, r);
		jb(j, 0xb8 + (unsigned)(r & 7));
		j32(j, (uint32_t)v);
	} else if (fits32((int64_t)v)) {
		jrex(j, 8, 0, 0, r);
		jb(j, 0xc7);
		jb(j, 0xc0 | (unsigned)(r & 7));
		j32(j, (uint32_t)v);
	} else {
		jrex(j, 8, 0, 0, r);
		jb(j, 0xb8 + (unsigned)(r & 7));
		j64(j, v);
	}
}

/* mov dword/word/byte/qword [base + disp], imm (qword: sign-extended imm32). */
static inline void jmov_mi(struct jbuf *j, int sz, int base, int32_t disp, int32_t imm)
{
	jrex(j, sz, 0, 0, base);
	jb(j, sz == 1 ? 0xc6 : 0xc7);
	jmodrm_mem(j, 0, base, disp);
	jimm(j, sz, imm);
}

/* Shift r64 by an immediate: /4 SHL, /5 SHR, /7 SAR. */
static inline void jshift_ri(struct jbuf *j, int ext, int r, int n)
{
	jrex(j, 8, 0, 0, r);
	jb(j, 0xc1);
	jb(j, 0xc0 | (unsigned)ext << 3 | (unsigned)(r & 7));
	jb(j, (unsigned)n);
}

static inline void jcall_abs(struct jbuf *j, const void *fn)
{
	jmov_ri(j, HAX, (uint64_t)(uintptr_t)fn);
	jb(j, 0xff);
	jb(j, 0xd0);  /* call rax */
}

static inline void jpush(struct jbuf *j, int r)
{
	if (r & 8)
		jb(j, 0x41);
	jb(j, 0x50 + (unsigned)(r & 7));
}

static inline void jpop(struct jbuf *j, int r)
{
	if (r & 8)
		jb(j, 0x41);
	jb(j, 0x58 + (unsigned)(r & 7));
}

/* ---- labels: forward and backward rel32 jumps */

static inline int jlabel(struct jbuf *j)
{
	if (j->nlabels >= JIT_LABELS) {
		j->full = true;
		return 0;
	}
	j->label_at[j->nlabels] = -1;
	return j->nlabels++;
}

static inline void jbind(struct jbuf *j, int l)
{
	j->label_at[l] = (int32_t)(j->p - j->start);
}

static inline void jrel32(struct jbuf *j, int l)
{
	if (j->nfix >= JIT_FIXUPS || j->p + 4 > j->end) {
		j->full = true;
		return;
	}
	j->fix[j->nfix].at = (int32_t)(j->p - j->start);
	j->fix[j->nfix].label = l;
	j->nfix++;
	j32(j, 0);
}

static inline void jjmp(struct jbuf *j, int l)
{
	jb(j, 0xe9);
	jrel32(j, l);
}

/* Jcc to a label, cc the condition nibble. */
static inline void jjcc(struct jbuf *j, int cc, int l)
{
	jb(j, 0x0f);
	jb(j, 0x80 | (unsigned)cc);
	jrel32(j, l);
}

/* call an address outside the buffer being built (the shared glue). */
static inline void jcall_rel(struct jbuf *j, const void *to)
{
	jb(j, 0xe8);
	j32(j, (uint32_t)(int32_t)((const uint8_t *)to - (j->p + 4)));
}

/* Patches every jump; false when a label was never bound. */
static inline bool jresolve(struct jbuf *j)
{
	for (int k = 0; k < j->nfix; k++) {
		int32_t to = j->label_at[j->fix[k].label];
		if (to < 0)
			return false;
		int32_t rel = to - (j->fix[k].at + 4);
		memcpy(j->start + j->fix[k].at, &rel, 4);
	}
	return true;
}

#endif
