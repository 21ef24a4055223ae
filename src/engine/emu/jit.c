/* The block translator: a decoded 64-bit block becomes host code.
 *
 * Why: the interpreter pays an unpredictable indirect call, the RIP and
 * instruction-count bookkeeping and the loop's checks for every guest
 * instruction. Translated, the common integer forms (MOV, MOVZX/MOVSX,
 * LEA, the ALU operations, TEST, INC/DEC, PUSH/POP, Jcc/JMP/CALL/RET) run
 * as a few host instructions on the register file in struct emu_cpu, and
 * every other instruction is a direct call of its interpreter handler, so
 * the semantics live in one place.
 *
 * The contract with the interpreter, which keeps the canonical state:
 * - rbx holds the vCPU, r12 the block's first RIP (a block is cached per
 *   physical page and may run at several linear addresses). RIP and the
 *   instruction count are written only when a handler is called and when
 *   the block ends; in between, instruction k of the block is implied by
 *   the position in the host code, and c->icount lags by k.
 * - Memory operands go through an inline probe of the software TLB that
 *   gives the host address when the entry allows the access (RAM, one
 *   page, no alignment or debug hooks: the c->jit_need_* bytes are 0 then).
 *   Anything else -- TLB miss, MMIO, a code page (never writable in the
 *   TLB), a page crossing -- runs the whole instruction through its
 *   handler instead, before the native path changed anything. So faults,
 *   MMIO exits and self-modifying code are the interpreter's business.
 * - Flags stay lazy exactly as the interpreter records them (lf_kind,
 *   lf_a, lf_b, lf_res, lf_size); a Jcc whose flag producer is in the same
 *   block rebuilds the host flags from that record with one CMP/ADD/TEST
 *   and branches on them.
 * - After a handler: the block ends when it asked to stop, when it moved
 *   RIP elsewhere, or when it was a control transfer; MMIO replay state is
 *   reset after the instruction retires, as in the interpreter's loop.
 * Single-step, debug registers and interrupt shadows run through the
 * interpreter (run_block), as do 16- and 32-bit blocks. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/emu/emu.h"
#include "engine/emu/jit_x86.h"

#define JIT_CODE_SIZE (24u << 20)
#define JIT_BLOCK_MAX (24u << 10)   /* room kept free for one block */

#define OFF(f) ((int32_t)offsetof(struct emu_cpu, f))
#define GPR(r) (OFF(s.gpr) + 8 * (int32_t)(r))

_Static_assert(sizeof(struct tlb_entry) == 64, "the TLB probe indexes entries by << 6");
_Static_assert(offsetof(struct emu_cpu, lf_size) == offsetof(struct emu_cpu, lf_kind) + 1,
	       "lf_kind and lf_size are written as one word");

static bool emit_glue(struct emu_vm *v);

int jit_init(struct emu_vm *v)
{
	v->jbuf = malloc(sizeof(*v->jbuf));
	if (!v->jbuf)
		return -1;
	/* POPEK_EMU_JIT=off: the interpreter alone; =eager: translate a block
	 * the first time it runs (tests use both to cover each path) */
	const char *mode = getenv("POPEK_EMU_JIT");
	v->jit_after = mode && !strcmp(mode, "eager") ? 1 : JIT_AFTER_RUNS;
	if (mode && !strcmp(mode, "off"))
		return 0;
	void *p = mmap(NULL, JIT_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return 0;  /* no executable memory (a hardened host): interpret */
	v->jit_code = p;
	v->jit_cap = JIT_CODE_SIZE;
	if (!emit_glue(v)) {
		munmap(p, JIT_CODE_SIZE);
		v->jit_code = NULL;  /* cannot happen with a sane buffer; interpret */
	}
	return 0;
}

void jit_free(struct emu_vm *v)
{
	if (v->jit_code)
		munmap(v->jit_code, v->jit_cap);
	v->jit_code = NULL;
	free(v->jbuf);
	v->jbuf = NULL;
}

bool jit_needs_flush(const struct emu_vm *v)
{
	return v->jit_code && v->jit_used + JIT_BLOCK_MAX > v->jit_cap;
}

/* What the translator knows about the lazy flags at a point of the block:
 * the kind and size of the last producer, or unknown. */
#define FK_UNKNOWN 0xff

struct tx {
	struct jbuf *j;
	struct emu_vm *v;
	struct block *b;
	int k;               /* instruction index */
	int64_t off;         /* its offset from the block's first RIP */
	const struct insn *i;
	int l_next;          /* label of the next instruction */
	int l_slow;          /* this instruction through its handler */
	int l_epi;           /* restore and return */
	uint8_t fk, fsize;
	bool slow_used;
	bool m32;            /* a 32-bit block: flat DS/ES/SS assumed, checked on entry */
	uint8_t hf;          /* host flags still hold the guest's: HF_ALL, HF_NO_CF, 0 */
	bool hf_set;         /* this instruction set hf */
	uint8_t segs;        /* segments the native forms use (32-bit blocks) */
	/* rax still holds guest register cache_reg (zero-extended, as stored)
	 * while the code ends at cache_pos: a store then a load of the same
	 * register, the common case between dependent instructions, then
	 * need no round trip through memory */
	int cache_reg, cache_size;
	uint8_t *cache_pos;
};

/* ---- pieces */

/* h = guest register r (size bytes, zero-extended). */
static void load_reg(struct tx *t, int h, int r, int size, bool rex)
{
	struct jbuf *j = t->j;
	bool high = size == 1 && !rex && r >= 4 && r < 8;  /* AH CH DH BH */
	if (size < 4 && !high && r == t->cache_reg && j->p == t->cache_pos) {
		jop_r(j, 4, size == 1 ? 0x0fb6 : 0x0fb7, h, HAX);  /* movzx h, al/ax */
		if (h == HAX)
			t->cache_reg = -1;
		t->cache_pos = j->p;
		return;
	}
	if (size >= 4 && r == t->cache_reg && j->p == t->cache_pos) {
		if (h != HAX) {
			jop_r(j, size, 0x89, HAX, h);        /* mov h, rax (eax: zero-extends) */
			t->cache_pos = j->p;
		} else if (size < t->cache_size) {
			jop_r(j, 4, 0x89, HAX, HAX);         /* the low half only: rax is r no more */
			t->cache_reg = -1;
		}
		return;
	}
	int32_t d = GPR(r);
	if (size == 1 && !rex && r >= 4 && r < 8)
		d = GPR(r - 4) + 1;  /* AH, CH, DH, BH */
	switch (size) {
	case 8: jop_m(j, 8, 0x8b, h, HBX, d); break;
	case 4: jop_m(j, 4, 0x8b, h, HBX, d); break;
	case 2: jop_m(j, 4, 0x0fb7, h, HBX, d); break;
	default: jop_m(j, 4, 0x0fb6, h, HBX, d); break;
	}
}

/* guest register r = h (size bytes, 32-bit writes zero-extend). */
static void store_reg(struct tx *t, int h, int r, int size, bool rex)
{
	struct jbuf *j = t->j;
	int32_t d = GPR(r);
	if (size == 1 && !rex && r >= 4 && r < 8)
		d = GPR(r - 4) + 1;
	switch (size) {
	case 8: jop_m(j, 8, 0x89, h, HBX, d); break;
	case 4: jop_r(j, 4, 0x89, h, h); jop_m(j, 8, 0x89, h, HBX, d); break;
	case 2: jop_m(j, 2, 0x89, h, HBX, d); break;
	default: jop_m(j, 1, 0x88, h, HBX, d); break;
	}
	t->cache_reg = (h == HAX && size >= 4) ? r : -1;
	t->cache_size = size;
	t->cache_pos = j->p;
}

/* h = [rdx] (size bytes, zero-extended). */
static void load_mem(struct jbuf *j, int h, int size)
{
	switch (size) {
	case 8: jop_m(j, 8, 0x8b, h, HDX, 0); break;
	case 4: jop_m(j, 4, 0x8b, h, HDX, 0); break;
	case 2: jop_m(j, 4, 0x0fb7, h, HDX, 0); break;
	default: jop_m(j, 4, 0x0fb6, h, HDX, 0); break;
	}
}

static void store_mem(struct jbuf *j, int h, int size)
{
	if (size == 1)
		jop_m(j, 1, 0x88, h, HDX, 0);
	else
		jop_m(j, size, 0x89, h, HDX, 0);
}

/* The r/m operand = h: memory at rdx (probed) or the register. */
static void store_rm(struct tx *t, int h, int size, bool mem)
{
	if (mem)
		store_mem(t->j, h, size);
	else
		store_reg(t, h, t->i->rm, size, t->i->rex);
}

/* rax = the instruction's effective address (no segment base). */
static void emit_ea(struct tx *t)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	if (i->rip_rel) {
		int64_t d = t->off + i->len + i->disp;
		jlea_sib(j, HAX, H12, HSP, 0, (int32_t)d);  /* index RSP encodes "none" */
	} else {
		if (i->base != NOREG)
			jop_m(j, 8, 0x8b, HAX, HBX, GPR(i->base));
		else
			jmov_ri(j, HAX, 0);  /* not XOR: LEA must keep the host flags */
		if (i->index != NOREG) {
			jop_m(j, 8, 0x8b, HCX, HBX, GPR(i->index));
			jlea_sib(j, HAX, HAX, HCX, i->scale, i->disp);
		} else if (i->disp) {
			jlea_sib(j, HAX, HAX, HSP, 0, i->disp);
		}
	}
	if (i->asize == 4)
		jop_r(j, 4, 0x89, HAX, HAX);  /* mov eax, eax */
}

/* rax = the linear address of the memory operand. */
static void emit_lin(struct tx *t)
{
	emit_ea(t);
	if (t->m32)
		t->segs |= (uint8_t)(1u << t->i->seg);
	else if (t->i->seg == SEG_FS || t->i->seg == SEG_GS) {
		t->hf = 0;
		jop_m(t->j, 8, 0x03, HAX, HBX, OFF(s.seg[0].base) + (int32_t)(t->i->seg * sizeof(struct segment)));
	}
}

/* With rax the linear address: rdx = its host address when the TLB allows
 * the access, else to the instruction's slow path. Keeps rax. */
static void emit_probe(struct tx *t, int size, bool write)
{
	struct jbuf *j = t->j;
	t->slow_used = true;
	t->hf = 0;                                   /* the probe's compares */
	jop_r(j, 4, 0x89, HAX, HCX);                 /* mov ecx, eax */
	jrex(j, 4, 0, 0, HCX);
	jb(j, 0xc1);
	jb(j, 0xe8 | HCX);                           /* shr ecx, 6 */
	jb(j, 6);
	jgrp1_ri(j, 4, 4, HCX, (TLB_SIZE - 1) << 6); /* the entry's offset: index << 6 */
	jlea_sib(j, HCX, HBX, HCX, 0, OFF(tlb));     /* rcx = &c->tlb[n] */
	/* this access's tag at this CPL; of the last byte: a page crossing
	 * cannot match */
	jop_m(j, 4, 0x0fb6, HDX, HBX, write ? OFF(jit_toff_w) : OFF(jit_toff_r));
	jlea_sib(j, HSI, HAX, HSP, 0, size - 1);
	jgrp1_ri(j, 8, 4, HSI, -4096);               /* and rsi, ~0xfff */
	jgrp1_ri(j, 8, 1, HSI, 1);                   /* or rsi, 1 */
	jop_sib(j, 8, 0x3b, HSI, HCX, HDX, 0, 0);    /* cmp rsi, [rcx + rdx] */
	jjcc(j, CC_NZ, t->l_slow);
	jop_r(j, 4, 0x89, HAX, HDX);                 /* mov edx, eax */
	jgrp1_ri(j, 4, 4, HDX, 0xfff);
	jop_m(j, 8, 0x03, HDX, HCX, (int32_t)offsetof(struct tlb_entry, host));  /* add rdx, host */
}

/* The r/m operand into h (zero-extended); memory through the probe. */
static void load_rm(struct tx *t, int h, int size, bool write)
{
	if (t->i->mod == 3) {
		load_reg(t, h, t->i->rm, size, t->i->rex);
	} else {
		emit_lin(t);
		emit_probe(t, size, write);
		load_mem(t->j, h, size);
	}
}

/* rax = t->off + delta + block RIP. */
static void emit_rip_to(struct tx *t, int h, int64_t delta)
{
	jlea_sib(t->j, h, H12, HSP, 0, (int32_t)(t->off + delta));
	if (t->m32)
		jop_r(t->j, 4, 0x89, h, h);              /* EIP wraps at 4 GiB */
}

static void emit_rip(struct tx *t, int64_t delta)
{
	emit_rip_to(t, HAX, delta);
}

/* Jumps to l_slow unless h is a valid near-branch target: canonical, or
 * within the CS limit outside 64-bit mode. */
static void emit_canonical(struct tx *t, int h)
{
	struct jbuf *j = t->j;
	t->slow_used = true;
	t->hf = 0;
	if (t->m32) {
		jop_m(j, 4, 0x3b, h, HBX, OFF(s.seg[SEG_CS].limit));
		jjcc(j, CC_A, t->l_slow);
		return;
	}
	jop_r(j, 8, 0x89, h, HCX);
	jshift_ri(j, 4, HCX, 16);
	jshift_ri(j, 7, HCX, 16);
	jop_r(j, 8, 0x39, h, HCX);                   /* cmp rcx, h */
	jjcc(j, CC_NZ, t->l_slow);
}

/* The block ends here with RIP = rax, k + 1 instructions retired.
 * link >= 0: a branch whose target the translation knows; the glue enters
 * the next block directly when the slot names it (see emit_glue). link
 * LINK_DYNAMIC: a return or indirect branch; the glue looks the target up
 * in the linear-RIP cache. Otherwise back to the run loop. */
#define LINK_NONE (-1)
#define LINK_DYNAMIC (-2)

/* A near link's fast path, patched by jit_patch_link() once the run loop
 * has found the target: the block pointer and the jump into its body are
 * immediates in the code, so entering the next block costs no call and no
 * indirect jump. Until then (and whenever the target has been
 * invalidated) it falls through to the glue below it. */
static void emit_near_link(struct tx *t, struct jit_link *l)
{
	struct jbuf *j = t->j;
	int l_glue = jlabel(j);
	jrex(j, 8, 0, 0, HDX);
	jb(j, 0xb8 + HDX);                           /* mov rdx, imm64: the target block */
	l->patch_imm = j->p;
	j64(j, 0);
	jop_r(j, 8, 0x85, HDX, HDX);
	jjcc(j, CC_Z, l_glue);
	jop_m(j, 1, 0x80, 7, HDX, (int32_t)offsetof(struct block, valid));
	jb(j, 0);
	jjcc(j, CC_Z, l_glue);
	jop_m(j, 4, 0x83, 7, HBX, OFF(countdown));
	jb(j, 1);
	jjcc(j, CC_BE, l_glue);                      /* the glue goes back to the loop */
	jop_m(j, 4, 0xff, 1, HBX, OFF(countdown));   /* dec dword [countdown] */
	jop_r(j, 8, 0x89, HAX, H12);
	if (t->m32)
		jmov_ri(j, H13, 1);                      /* a 32-bit target may decline */
	jb(j, 0xe9);                                 /* jmp rel32: the target's body */
	l->patch_rel = j->p;
	j32(j, 0);
	jbind(j, l_glue);
}

void jit_patch_link(struct jit_link *l)
{
	if (!l->near || !l->patch_imm || !l->to || !l->to->jit_body)
		return;
	uint64_t to = (uint64_t)(uintptr_t)l->to;
	memcpy(l->patch_imm, &to, 8);
	int32_t rel = (int32_t)((uint8_t *)l->to->jit_body - (l->patch_rel + 4));
	memcpy(l->patch_rel, &rel, 4);
}

static void emit_exit_rax(struct tx *t, int link)
{
	struct jbuf *j = t->j;
	struct emu_vm *v = t->v;
	jop_m(j, 8, 0x89, HAX, HBX, OFF(s.rip));
	jgrp1_mi64(j, 0, HBX, OFF(icount), t->k + 1);
	if (link == LINK_NONE) {
		jjmp(j, t->l_epi);
		return;
	}
	if (link == LINK_DYNAMIC) {
		jcall_rel(j, t->m32 ? v->glue_dyn32 : v->glue_dyn64);
	} else {
		struct jit_link *l = &t->b->link[link];
		if (l->near)
			emit_near_link(t, l);
		jmov_ri(j, HCX, (uint64_t)(uintptr_t)l);
		jcall_rel(j, l->near ? v->glue_near : v->glue_far);
	}
	/* the glue answers where to go on; the jump stays here, one per exit,
	 * so the host predicts each exit's successor on its own */
	jop_r(j, 8, 0x85, HDX, HDX);
	jjcc(j, CC_Z, t->l_epi);
	jb(j, 0xff);
	jb(j, 0xe2);                                 /* jmp rdx */
}

/* Sets up link slot n for a branch delta bytes from the block's start:
 * near when the target lies in the same 4 KiB page, where it is the same
 * physical code whatever the TLB holds. */
static int link_slot(struct tx *t, int n, int64_t delta)
{
	struct jit_link *l = &t->b->link[n];
	int64_t in_page = (int64_t)(t->b->gpa & 0xfff) + delta;
	l->near = in_page >= 0 && in_page < 4096;
	l->want_gpa = l->near ? (t->b->gpa & ~0xfffull) + (uint64_t)in_page : 0;
	return n;
}

/* The operands of a flag producer: rax, and rcx or 1. */
static void store_lazy(struct tx *t, bool b_is_one)
{
	struct jbuf *j = t->j;
	jop_m(j, 8, 0x89, HAX, HBX, OFF(lf_a));
	if (b_is_one)
		jmov_mi(j, 8, HBX, OFF(lf_b), 1);
	else
		jop_m(j, 8, 0x89, HCX, HBX, OFF(lf_b));
}

static void store_lazy_result(struct tx *t, int kind, int size)
{
	struct jbuf *j = t->j;
	jop_m(j, 8, 0x89, HAX, HBX, OFF(lf_res));
	jmov_mi(j, 2, HBX, OFF(lf_kind), kind | size << 8);
	t->fk = (uint8_t)kind;
	t->fsize = (uint8_t)size;
}

/* Host flags = the guest's arithmetic flags, from the lazy record of a
 * producer whose kind the translator knows. */
static void emit_host_flags(struct tx *t)
{
	struct jbuf *j = t->j;
	int sz = t->fsize;
	switch (t->fk) {
	case LF_SUB:
		jop_m(j, 8, 0x8b, HAX, HBX, OFF(lf_a));
		jop_m(j, sz, sz == 1 ? 0x3a : 0x3b, HAX, HBX, OFF(lf_b));
		break;
	case LF_ADD:
		jop_m(j, 8, 0x8b, HAX, HBX, OFF(lf_a));
		jop_m(j, sz, sz == 1 ? 0x02 : 0x03, HAX, HBX, OFF(lf_b));
		break;
	case LF_LOGIC:
		jop_m(j, 8, 0x8b, HAX, HBX, OFF(lf_res));
		jop_r(j, sz, sz == 1 ? 0x84 : 0x85, HAX, HAX);
		break;
	default: /* LF_INC, LF_DEC: CF from lf_cf, the rest from a +/- 1 */
		jrex(j, 8, 0, 0, HBX);
		jb(j, 0x0f);
		jb(j, 0xba);
		jmodrm_mem(j, 4, HBX, OFF(lf_cf));    /* bt qword [lf_cf], 0 */
		jb(j, 0);
		jop_m(j, 8, 0x8b, HAX, HBX, OFF(lf_a));
		jop_r(j, sz, sz == 1 ? 0xfe : 0xff, t->fk == LF_DEC ? 1 : 0, HAX);
		break;
	}
}

#define HF_ALL 1
#define HF_NO_CF 2   /* after INC/DEC: all but CF */

/* Register-only instructions the translator runs natively without touching
 * the guest's flags or the host's, and that cannot fault. */
static bool pure_insn(const struct insn *i)
{
	uint16_t op = i->op;
	if (i->lock)
		return false;
	if (op >= 0xb0 && op <= 0xbf)
		return true;
	switch (op) {
	case 0x88: case 0x89: case 0x8a: case 0x8b:
	case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf:
		return i->mod == 3;
	case 0xc6: case 0xc7:
		return i->mod == 3 && (i->reg & 7) == 0;
	case 0x63:
		return i->mod == 3 && i->osize == 8;
	case 0x8d:
		return i->mod != 3;  /* LEA with a register operand is #UD */
	case 0x11f:
		return true;
	case 0x90:
		return i->rm == 0;
	default:
		return false;
	}
}

/* Register-only instructions that set every arithmetic flag without
 * reading any (ADD OR AND SUB XOR CMP TEST), natively. */
static bool full_flag_writer(const struct insn *i)
{
	uint16_t op = i->op;
	if (i->lock)
		return false;
	if (op < 0x40 && (op & 7) <= 5) {
		int aop = (op >> 3) & 7;
		return aop != 2 && aop != 3 && ((op & 7) >= 4 || i->mod == 3);
	}
	switch (op) {
	case 0x80: case 0x81: case 0x83:
		return i->mod == 3 && (i->reg & 7) != 2 && (i->reg & 7) != 3;
	case 0x84: case 0x85:
		return i->mod == 3;
	case 0xa8: case 0xa9:
		return true;
	case 0xf6: case 0xf7:
		return i->mod == 3 && (i->reg & 7) == 0;
	case 0xc1: case 0xd1: {
		/* SHL/SHR/SAR of 4 or 8 bytes by a non-zero constant (gen_shift) */
		int sub = i->reg & 7;
		unsigned cnt = (i->op == 0xd1 ? 1 : (unsigned)i->imm) & (i->osize == 8 ? 63 : 31);
		return i->mod == 3 && (i->osize == 4 || i->osize == 8) && cnt &&
		       (sub == 4 || sub == 5 || sub == 7);
	}
	default:
		return false;
	}
}

/* Register INC/DEC: they write every flag but CF, which they keep. */
static bool incdec_reg(const struct insn *i, bool m32)
{
	if (i->lock)
		return false;
	if (m32 && i->op >= 0x40 && i->op <= 0x4f)
		return true;
	return (i->op == 0xfe || i->op == 0xff) && (i->reg & 7) <= 1 && i->mod == 3;
}

#define FL_CF 1
#define FL_OSZAP 2

/* Which of the flags instruction k leaves may be read later: scanning on,
 * a flag is dead once a later instruction overwrites it before anything
 * could read it (a handler, a fault, a branch, the block's end). */
static int flags_live(const struct tx *t)
{
	int need = FL_CF | FL_OSZAP;
	for (int k = t->k + 1; k < t->b->n; k++) {
		const struct insn *i = &t->b->insn[k];
		if (full_flag_writer(i))
			return 0;
		if (incdec_reg(i, t->m32)) {
			need &= FL_CF;
			if (!need)
				return 0;
			continue;
		}
		if (!pure_insn(i))
			return need;
	}
	return need;
}

/* Dead flags: the lazy record need not be kept. */
static bool flags_dead(const struct tx *t)
{
	return flags_live(t) == 0;
}

static bool flags_known(const struct tx *t)
{
	return t->fk == LF_SUB || t->fk == LF_ADD || t->fk == LF_LOGIC || t->fk == LF_INC || t->fk == LF_DEC;
}

/* ---- the handler call: inline for instructions without a native form,
 * out of line as the slow path of those with one */

static void emit_handler_call(struct tx *t)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	int l_post = jlabel(j), l_back = jlabel(j), l_exit = jlabel(j);
	emit_rip(t, 0);
	jop_m(j, 8, 0x89, HAX, HBX, OFF(s.rip));
	emit_rip(t, i->len);
	jop_m(j, 8, 0x89, HAX, HBX, OFF(next_rip));
	if (t->k)
		jgrp1_mi64(j, 0, HBX, OFF(icount), t->k);
	jop_r(j, 8, 0x89, HBX, HDI);                 /* mov rdi, rbx */
	jmov_ri(j, HSI, (uint64_t)(uintptr_t)i);
	jcall_abs(j, (const void *)i->fn);
	jop_m(j, 8, 0x8b, HAX, HBX, OFF(next_rip));
	jop_m(j, 8, 0x89, HAX, HBX, OFF(s.rip));
	jop_m(j, 4, 0x8b, HCX, HBX, OFF(stop));
	jop_m(j, 4, 0x0b, HCX, HBX, OFF(mmio_nlog));
	jjcc(j, CC_NZ, l_post);
	jbind(j, l_back);
	/* a handler that moved RIP elsewhere ends the block */
	emit_rip_to(t, HCX, i->len);
	jop_r(j, 8, 0x39, HCX, HAX);                 /* cmp rax, rcx */
	jjcc(j, CC_NZ, l_exit);
	if (t->k)
		jgrp1_mi64(j, 5, HBX, OFF(icount), t->k);  /* the count lags by k again */
	jjmp(j, t->l_next);
	jbind(j, l_post);
	jmov_mi(j, 4, HBX, OFF(mmio_nlog), 0);
	jmov_mi(j, 4, HBX, OFF(mmio_pos), 0);
	jop_m(j, 4, 0x83, 7, HBX, OFF(stop));        /* cmp dword [stop], 0 */
	jb(j, 0);
	jjcc(j, CC_Z, l_back);
	jbind(j, l_exit);
	jgrp1_mi64(j, 0, HBX, OFF(icount), 1);
	jjmp(j, t->l_epi);
}

/* r8 = the guest's CF (0 or 1), before the instruction changes anything.
 * Clobbers the caller-saved registers and the host flags. */
static void emit_carry(struct tx *t)
{
	struct jbuf *j = t->j;
	if (t->hf == HF_ALL || flags_known(t)) {
		if (t->hf != HF_ALL)
			emit_host_flags(t);
		jop_r(j, 4, 0x0f92, 0, H8);              /* setc r8b */
	} else {
		jop_r(j, 8, 0x89, HBX, HDI);
		jcall_abs(j, (const void *)get_cf);
		jop_r(j, 4, 0x89, HAX, H8);              /* mov r8d, eax */
	}
	jop_r(j, 4, 0x0fb6, H8, H8);                 /* movzx r8d, r8b */
	t->hf = 0;
}

/* Host CF = r8. */
static void emit_bt_r8(struct jbuf *j)
{
	jrex(j, 4, 0, 0, H8);
	jb(j, 0x0f);
	jb(j, 0xba);
	jb(j, 0xe0 | (H8 & 7));                      /* bt r8d, 0 */
	jb(j, 0);
}

/* ---- native forms; each checks that it applies before emitting */

static int alu_kind(int op)
{
	switch (op) {
	case 0: return LF_ADD;
	case 5: case 7: return LF_SUB;
	default: return LF_LOGIC;  /* 1 OR, 4 AND, 6 XOR, 8 TEST */
	}
}

enum { F_RM_R, F_R_RM, F_RM_IMM, F_A_IMM };
#define OP_TEST 8

/* dst op= src for ADD OR AND SUB XOR CMP TEST. */
static bool gen_alu(struct tx *t, int op, int size, int form)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	bool carry = op == 2 || op == 3;  /* ADC, SBB */
	if (carry)
		emit_carry(t);                           /* r8 = CF in */
	bool mem = form != F_A_IMM && i->mod != 3;
	bool writes = op != 7 && op != OP_TEST;
	bool dst_is_rm = form == F_RM_R || form == F_RM_IMM;
	uint64_t imm = i->imm & size_mask(size);
	if (mem) {
		emit_lin(t);
		emit_probe(t, size, writes && dst_is_rm);
	}
	/* rcx = source, rax = destination */
	switch (form) {
	case F_RM_R:
		load_reg(t, HCX, i->reg, size, i->rex);
		if (mem) load_mem(j, HAX, size); else load_reg(t, HAX, i->rm, size, i->rex);
		break;
	case F_R_RM:
		if (mem) load_mem(j, HCX, size); else load_reg(t, HCX, i->rm, size, i->rex);
		load_reg(t, HAX, i->reg, size, i->rex);
		break;
	case F_RM_IMM:
		jmov_ri(j, HCX, imm);
		if (mem) load_mem(j, HAX, size); else load_reg(t, HAX, i->rm, size, i->rex);
		break;
	default:
		jmov_ri(j, HCX, imm);
		load_reg(t, HAX, RAX, size, false);
		break;
	}
	bool dead = flags_dead(t);
	if (!dead)
		store_lazy(t, false);
	if (carry) {
		jop_m(j, 8, 0x89, H8, HBX, OFF(lf_cf));
		emit_bt_r8(j);
	}
	/* the operation at its own size, so the host flags are the guest's */
	static const unsigned host_op[9] = { 0x01, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31, 0x29, 0x21 };
	jop_r(j, size, size == 1 ? host_op[op] - 1 : host_op[op], HCX, HAX);  /* op rax, rcx */
	if (!dead) {
		store_lazy_result(t, carry ? (op == 2 ? LF_ADC : LF_SBB) : alu_kind(op), size);
	} else {
		t->fk = FK_UNKNOWN;  /* the record in memory is an older one's */
	}
	t->hf = HF_ALL;
	t->hf_set = true;
	if (!writes)
		return true;
	if (!dst_is_rm)
		store_reg(t, HAX, form == F_A_IMM ? RAX : i->reg, size, form == F_A_IMM ? false : i->rex);
	else if (mem)
		store_mem(j, HAX, size);
	else
		store_reg(t, HAX, i->rm, size, i->rex);
	return true;
}

/* F6/F7 /2 NOT, /3 NEG (any size), /4 MUL and /6 DIV (32 and 64 bits).
 * DIV takes the slow path, where the handler raises #DE, whenever the
 * quotient would not fit (which covers a zero divisor). */
static bool gen_grp3(struct tx *t)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	int sub = i->reg & 7;
	int size = i->op == 0xf6 ? 1 : i->osize;
	bool mem = i->mod != 3;
	if (sub == 2 || sub == 3) {
		load_rm(t, HCX, size, true);
		if (sub == 2) {
			jop_r(j, size, size == 1 ? 0xf6 : 0xf7, 2, HCX);   /* not */
		} else {
			/* NEG is 0 - a, recorded as that SUB */
			jmov_ri(j, HAX, 0);
			bool dead = flags_dead(t);
			if (!dead)
				store_lazy(t, false);
			jop_r(j, size, size == 1 ? 0x28 : 0x29, HCX, HAX);  /* sub rax, rcx */
			if (!dead)
				store_lazy_result(t, LF_SUB, size);
			else
				t->fk = FK_UNKNOWN;
			t->hf = HF_ALL;
			t->hf_set = true;
			jop_r(j, 8, 0x89, HAX, HCX);
		}
		store_rm(t, HCX, size, mem);
		return true;
	}
	if ((sub != 4 && sub != 6) || (size != 4 && size != 8))
		return false;
	load_rm(t, HCX, size, false);
	load_reg(t, HAX, RAX, size, false);
	if (sub == 4) {
		jop_r(j, size, 0xf7, 4, HCX);            /* mul ecx/rcx: rdx:rax */
		jop_r(j, 4, 0x0f92, 0, H9);              /* setc r9b */
	} else {
		load_reg(t, HDX, RDX, size, false);
		t->slow_used = true;
		jop_r(j, size, 0x39, HCX, HDX);          /* cmp rdx, rcx */
		jjcc(j, CC_NB, t->l_slow);               /* high part >= divisor: #DE */
		jop_r(j, size, 0xf7, 6, HCX);            /* div ecx/rcx */
	}
	store_reg(t, HAX, RAX, size, false);
	store_reg(t, HDX, RDX, size, false);
	if (sub == 4) {
		/* MUL: CF = OF = the high half is not zero; the rest from the low */
		jop_m(j, 8, 0x89, HAX, HBX, OFF(lf_res));
		jop_r(j, 4, 0x0fb6, H9, H9);
		jlea_sib(j, H9, H9, H9, 1, 0);           /* 0 or 3 */
		jop_m(j, 8, 0x89, H9, HBX, OFF(lf_cf));
		jmov_mi(j, 8, HBX, OFF(lf_a), 0);
		jmov_mi(j, 8, HBX, OFF(lf_b), 0);
		jmov_mi(j, 2, HBX, OFF(lf_kind), LF_RESULT | size << 8);
		t->fk = LF_RESULT;
	}
	return true;
}

/* INC/DEC r/m: CF is kept, so the current CF is recorded first. */
static bool gen_incdec(struct tx *t, int size, bool dec, int reg)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	if (!(flags_live(t) & FL_CF)) {
		/* the CF this keeps is overwritten before anyone reads it */
	} else if (t->fk == LF_LOGIC) {
		jmov_mi(j, 8, HBX, OFF(lf_cf), 0);
	} else if (t->fk != LF_INC && t->fk != LF_DEC) {  /* after INC/DEC lf_cf holds CF */
		emit_carry(t);
		jop_m(j, 8, 0x89, H8, HBX, OFF(lf_cf));
	}
	bool mem = reg < 0 && i->mod != 3;
	if (reg < 0)
		reg = i->rm;
	if (mem) {
		emit_lin(t);
		emit_probe(t, size, true);
		load_mem(j, HAX, size);
	} else {
		load_reg(t, HAX, reg, size, i->rex);
	}
	store_lazy(t, true);
	jop_r(j, size, size == 1 ? 0xfe : 0xff, dec ? 1 : 0, HAX);  /* inc/dec at its size */
	store_lazy_result(t, dec ? LF_DEC : LF_INC, size);
	t->hf = HF_NO_CF;
	t->hf_set = true;
	if (mem)
		store_mem(j, HAX, size);
	else
		store_reg(t, HAX, reg, size, i->rex);
	return true;
}

static bool gen_mov(struct tx *t)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	uint16_t op = i->op;
	int size;
	switch (op) {
	case 0x88: case 0x89:
		size = op == 0x88 ? 1 : i->osize;
		if (i->mod == 3) {
			load_reg(t, HAX, i->reg, size, i->rex);
			store_reg(t, HAX, i->rm, size, i->rex);
		} else {
			emit_lin(t);
			emit_probe(t, size, true);
			load_reg(t, HCX, i->reg, size, i->rex);
			store_mem(j, HCX, size);
		}
		return true;
	case 0x8a: case 0x8b:
		size = op == 0x8a ? 1 : i->osize;
		load_rm(t, HAX, size, false);
		store_reg(t, HAX, i->reg, size, i->rex);
		return true;
	case 0xc6: case 0xc7:
		if (i->reg & 7)
			return false;
		size = op == 0xc6 ? 1 : i->osize;
		if (i->mod == 3) {
			jmov_ri(j, HAX, i->imm & size_mask(size));
			store_reg(t, HAX, i->rm, size, i->rex);
		} else {
			emit_lin(t);
			emit_probe(t, size, true);
			jmov_ri(j, HCX, i->imm & size_mask(size));
			store_mem(j, HCX, size);
		}
		return true;
	default:
		if (op >= 0xb0 && op <= 0xb7) {
			jmov_ri(j, HAX, i->imm & 0xff);
			store_reg(t, HAX, i->rm, 1, i->rex);
			return true;
		}
		if (op >= 0xb8 && op <= 0xbf) {
			jmov_ri(j, HAX, i->imm & size_mask(i->osize));
			store_reg(t, HAX, i->rm, i->osize, i->rex);
			return true;
		}
		return false;
	}
}

/* MOVZX, MOVSX, MOVSXD. */
static bool gen_movx(struct tx *t)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	int src;
	unsigned ext;
	switch (i->op) {
	case 0x1b6: src = 1; ext = 0; break;
	case 0x1b7: src = 2; ext = 0; break;
	case 0x1be: src = 1; ext = 0x0fbe; break;
	case 0x1bf: src = 2; ext = 0x0fbf; break;
	case 0x63:
		if (i->osize != 8)
			return false;
		src = 4; ext = 0x63; break;
	default: return false;
	}
	load_rm(t, HAX, src, false);
	if (ext)
		jop_r(j, 8, ext, HAX, HAX);
	store_reg(t, HAX, i->reg, i->osize, i->rex);
	return true;
}

/* rax = the stack pointer (ESP for a 32-bit block, whose SS is checked to
 * be a flat 32-bit stack on entry). */
static void load_stack_pointer(struct tx *t)
{
	if (t->m32) {
		t->segs |= 1u << SEG_SS;
		jop_m(t->j, 4, 0x8b, HAX, HBX, GPR(RSP));
	} else {
		jop_m(t->j, 8, 0x8b, HAX, HBX, GPR(RSP));
	}
}

/* IMUL r, r/m (, imm): CF = OF = the signed product overflowed, SF/ZF/PF
 * from the result (LF_RESULT, as the handler records it). */
static bool gen_imul(struct tx *t)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	int size = i->osize;
	if (size != 4 && size != 8)
		return false;
	load_rm(t, HAX, size, false);
	if (i->op == 0x1af)
		load_reg(t, HCX, i->reg, size, i->rex);
	else
		jmov_ri(j, HCX, i->imm & size_mask(size));
	jop_r(j, size, 0x0faf, HAX, HCX);            /* imul eax/rax, ecx/rcx */
	jop_r(j, 4, 0x0f92, 0, HDX);                 /* setc dl */
	jop_r(j, 4, 0x0fb6, HDX, HDX);
	jlea_sib(j, HDX, HDX, HDX, 1, 0);            /* 0 or 3: CF and OF */
	jop_m(j, 8, 0x89, HDX, HBX, OFF(lf_cf));
	if (size == 4)
		jop_r(j, 4, 0x89, HAX, HAX);
	jmov_mi(j, 8, HBX, OFF(lf_a), 0);
	jmov_mi(j, 8, HBX, OFF(lf_b), 0);
	store_lazy_result(t, LF_RESULT, size);
	store_reg(t, HAX, i->reg, size, i->rex);
	return true;
}

/* SHL/SHR/SAR r/m by a constant or by CL (sizes 4 and 8): CF is the
 * last bit out, OF as the handler defines it for any count (SHL: MSB of
 * the result ^ CF; SHR: MSB of the operand; SAR: 0). A count of 0 leaves
 * the flags alone but still writes the operand back, as the handler does. */
static bool gen_shift(struct tx *t)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	int size = i->osize, sub = i->reg & 7;
	bool by_cl = i->op == 0xd3;
	unsigned cnt = i->op == 0xd1 ? 1 : (unsigned)(i->imm & 0xff);
	cnt &= size == 8 ? 63 : 31;
	if ((size != 4 && size != 8) || (!by_cl && cnt == 0) || (sub != 4 && sub != 5 && sub != 7))
		return false;
	bool mem = i->mod != 3;
	int l_write = jlabel(j);
	load_rm(t, HAX, size, true);
	if (by_cl) {
		jop_m(j, 4, 0x0fb6, HCX, HBX, GPR(RCX));
		jgrp1_ri(j, 4, 4, HCX, size == 8 ? 63 : 31);
		jjcc(j, CC_Z, l_write);
	}
	jop_r(j, 8, 0x89, HAX, H8);                  /* r8 = the operand */
	jrex(j, size, 0, 0, HAX);
	if (by_cl) {
		jb(j, 0xd3);
		jb(j, 0xc0 | (unsigned)sub << 3);        /* shl/shr/sar eax/rax, cl */
	} else {
		jb(j, 0xc1);
		jb(j, 0xc0 | (unsigned)sub << 3);        /* shl/shr/sar eax/rax, cnt */
		jb(j, cnt);
	}
	if (!by_cl && flags_dead(t)) {
		/* a later writer replaces every flag this sets: no record */
		t->fk = FK_UNKNOWN;
		if (size == 4)
			jop_r(j, 4, 0x89, HAX, HAX);
		store_rm(t, HAX, size, mem);
		return true;
	}
	jop_r(j, 4, 0x0f92, 0, HCX);                 /* setc cl */
	jop_r(j, 4, 0x0fb6, HCX, HCX);
	if (sub == 7) {
		jop_r(j, 4, 0x31, HSI, HSI);
	} else {
		jop_r(j, 8, 0x89, sub == 4 ? HAX : H8, HSI);
		jshift_ri(j, 5, HSI, size * 8 - 1);
		jgrp1_ri(j, 4, 4, HSI, 1);
		if (sub == 4)
			jop_r(j, 4, 0x31, HCX, HSI);         /* xor esi, ecx */
	}
	jlea_sib(j, HCX, HCX, HSI, 1, 0);            /* CF | OF << 1 */
	jop_m(j, 8, 0x89, HCX, HBX, OFF(lf_cf));
	if (size == 4)
		jop_r(j, 4, 0x89, HAX, HAX);
	jop_m(j, 8, 0x89, H8, HBX, OFF(lf_a));
	jmov_mi(j, 8, HBX, OFF(lf_b), 0);
	store_lazy_result(t, LF_RESULT, size);
	jbind(j, l_write);
	store_rm(t, HAX, size, mem);
	return true;
}

/* Rotates (ROL/ROR/RCL-free group 2 forms by a constant or CL) and
 * SHLD/SHRD whose flags nobody reads: the host instruction does the work
 * and the flags are left as they are, dead until the next writer. Only
 * with a non-zero constant count, where the guest writes the operand. */
static bool gen_dead_flags_shift(struct tx *t)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	uint16_t op = i->op;
	int size = (op == 0xc0 || op == 0xd0) ? 1 : i->osize;
	if (!flags_dead(t))
		return false;
	bool shxd = op == 0x1a4 || op == 0x1ac;
	unsigned mask = size == 8 ? 63 : 31;
	unsigned cnt = (op == 0xd0 || op == 0xd1) ? 1 : (unsigned)(i->imm & 0xff) & mask;
	if (cnt == 0 || (size == 2 && shxd))
		return false;
	if (!shxd) {
		int sub = i->reg & 7;
		if (sub > 1 && sub != 4 && sub != 5 && sub != 7)
			return false;  /* RCL/RCR read CF */
		if (size < 4 && sub <= 1 && cnt >= (unsigned)size * 8)
			return false;  /* a narrow rotate by more than its width: the handler's */
		if (size < 4 && sub > 1)
			return false;
	}
	bool mem = i->mod != 3;
	load_rm(t, HAX, size, true);
	if (shxd) {
		load_reg(t, HCX, i->reg, size, i->rex);
		jrex(j, size, HCX, 0, HAX);
		jb(j, 0x0f);
		jb(j, op == 0x1a4 ? 0xa4 : 0xac);
		jb(j, 0xc0 | (HCX << 3) | HAX);          /* shld/shrd eax, ecx, cnt */
		jb(j, cnt);
	} else {
		jrex(j, size, 0, 0, HAX);
		jb(j, size == 1 ? 0xc0 : 0xc1);
		jb(j, 0xc0 | (unsigned)(i->reg & 7) << 3);
		jb(j, cnt);
	}
	t->hf = 0;
	t->fk = FK_UNKNOWN;
	store_rm(t, HAX, size, mem);
	return true;
}

/* Host flags for condition cc: from the lazy record when the producer is
 * known, else from cond_true(). Returns the host condition to test.
 * Clobbers the caller-saved registers. */
static int emit_cond(struct tx *t, int cc)
{
	struct jbuf *j = t->j;
	bool uses_cf = (cc >> 1) == 1 || (cc >> 1) == 3;
	if (t->hf == HF_ALL || (t->hf == HF_NO_CF && !uses_cf))
		return cc;  /* the producer's own host flags are still there */
	if (flags_known(t)) {
		emit_host_flags(t);
		return cc;
	}
	jop_r(j, 8, 0x89, HBX, HDI);
	jmov_ri(j, HSI, (uint64_t)cc);
	jcall_abs(j, (const void *)cond_true);
	jop_r(j, 4, 0x84, HAX, HAX);                 /* test al, al */
	return CC_NZ;
}

/* CMOVcc r, r/m: the source is read (and may fault) either way; a 32-bit
 * destination is written (zero-extended) either way. */
static bool gen_cmov(struct tx *t)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	int size = i->osize;
	/* the condition first, while the host flags may still be the guest's;
	 * r13 is free once the block runs */
	jop_r(j, 4, 0x0f90 | (unsigned)emit_cond(t, i->op & 0xf), 0, H13);  /* setcc r13b */
	load_rm(t, HCX, size, false);
	load_reg(t, HAX, i->reg, size, i->rex);
	jop_r(j, 1, 0x84, H13, H13);                 /* test r13b, r13b */
	jop_r(j, size == 2 ? 2 : 8, 0x0f45, HAX, HCX);  /* cmovnz */
	store_reg(t, HAX, i->reg, size, i->rex);
	return true;
}

/* SETcc r/m8. */
static bool gen_setcc(struct tx *t)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	jop_r(j, 4, 0x0f90 | (unsigned)emit_cond(t, i->op & 0xf), 0, H13);  /* setcc r13b */
	if (i->mod != 3) {
		emit_lin(t);
		emit_probe(t, 1, true);
		jop_m(j, 1, 0x88, H13, HDX, 0);
	} else {
		jop_r(j, 8, 0x89, H13, HCX);
		store_reg(t, HCX, i->rm, 1, i->rex);
	}
	return true;
}

static bool gen_push_pop(struct tx *t, bool push)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	int w = t->m32 ? 4 : 8;
	if (i->osize != w)
		return false;
	load_stack_pointer(t);
	if (push)
		jgrp1_ri(j, w, 5, HAX, w);
	emit_probe(t, w, push);
	if (push) {
		load_reg(t, HCX, i->rm, w, true);
		store_mem(j, HCX, w);
	} else {
		load_mem(j, HCX, w);
		jgrp1_ri(j, w, 0, HAX, w);
	}
	jop_m(j, w, 0x89, HAX, HBX, GPR(RSP));      /* a 32-bit stack keeps RSP[63:32] */
	if (!push)
		store_reg(t, HCX, i->rm, w, true);
	return true;
}

/* A near CALL's push of the return address (w bytes); keeps r8. */
static void emit_push_return(struct tx *t, int w)
{
	struct jbuf *j = t->j;
	load_stack_pointer(t);
	jgrp1_ri(j, w, 5, HAX, w);
	emit_probe(t, w, true);
	emit_rip_to(t, HCX, t->i->len);
	store_mem(j, HCX, w);
	jop_m(j, w, 0x89, HAX, HBX, GPR(RSP));
}

/* Jcc, JMP, CALL (rel) and RET: the block ends here. */
static bool gen_branch(struct tx *t)
{
	struct jbuf *j = t->j;
	const struct insn *i = t->i;
	uint16_t op = i->op;
	int64_t target = t->off + i->len + (int64_t)i->imm;
	int w = t->m32 ? 4 : 8;
	bool rel = (op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f) ||
		   op == 0xe8 || op == 0xe9 || op == 0xeb;
	if (rel && (!fits32(target) || i->osize != w))
		return false;
	if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) {
		int l_taken = jlabel(j);
		jjcc(j, emit_cond(t, op & 0xf), l_taken);
		emit_rip(t, i->len);
		emit_exit_rax(t, link_slot(t, 1, t->off + i->len));
		jbind(j, l_taken);
		emit_rip_to(t, HAX, target - t->off);
		emit_canonical(t, HAX);
		emit_exit_rax(t, link_slot(t, 0, target));
		return true;
	}
	switch (op) {
	case 0xe9: case 0xeb:
		emit_rip_to(t, HAX, target - t->off);
		emit_canonical(t, HAX);
		emit_exit_rax(t, link_slot(t, 0, target));
		return true;
	case 0xe8:
		emit_rip_to(t, H8, target - t->off);
		emit_canonical(t, H8);
		emit_push_return(t, w);
		jop_r(j, 8, 0x89, H8, HAX);             /* mov rax, r8 */
		emit_exit_rax(t, link_slot(t, 0, target));
		return true;
	case 0xc2: case 0xc3:
		if (i->osize != w)
			return false;
		load_stack_pointer(t);
		emit_probe(t, w, false);
		load_mem(j, H8, w);
		emit_canonical(t, H8);
		jgrp1_ri(j, w, 0, HAX, w + (op == 0xc2 ? (int32_t)(i->imm & 0xffff) : 0));
		jop_m(j, w, 0x89, HAX, HBX, GPR(RSP));
		jop_r(j, 8, 0x89, H8, HAX);
		emit_exit_rax(t, LINK_DYNAMIC);
		return true;
	case 0xff: {
		/* CALL/JMP r/m (near, indirect) */
		int sub = i->reg & 7;
		if ((sub != 2 && sub != 4) || i->osize != w)
			return false;
		load_rm(t, H8, w, false);
		emit_canonical(t, H8);
		if (sub == 2)
			emit_push_return(t, w);
		jop_r(j, 8, 0x89, H8, HAX);
		emit_exit_rax(t, LINK_DYNAMIC);
		return true;
	}
	default:
		return false;
	}
}

static bool gen_native(struct tx *t)
{
	const struct insn *i = t->i;
	uint16_t op = i->op;
	if (i->lock)
		return false;
	if (i->rip_rel && !fits32(t->off + i->len + (int64_t)i->disp))
		return false;
	if (t->m32 && i->mod != 3 && (i->asize != 4 || i->seg == SEG_FS || i->seg == SEG_GS || i->seg == SEG_CS))
		return false;
	if (op < 0x40 && (op & 7) <= 5) {
		int aop = (op >> 3) & 7;
		int size = (op & 1) ? i->osize : 1;
		static const int form[6] = { F_RM_R, F_RM_R, F_R_RM, F_R_RM, F_A_IMM, F_A_IMM };
		return gen_alu(t, aop, size, form[op & 7]);
	}
	switch (op) {
	case 0x80: case 0x81: case 0x83:
		return gen_alu(t, i->reg & 7, op == 0x80 ? 1 : i->osize, F_RM_IMM);
	case 0x84: case 0x85:
		return gen_alu(t, OP_TEST, op == 0x84 ? 1 : i->osize, F_RM_R);
	case 0xa8: case 0xa9:
		return gen_alu(t, OP_TEST, op == 0xa8 ? 1 : i->osize, F_A_IMM);
	case 0xf6: case 0xf7:
		if ((i->reg & 7) != 0)
			return gen_grp3(t);
		return gen_alu(t, OP_TEST, op == 0xf6 ? 1 : i->osize, F_RM_IMM);
	case 0xfe: case 0xff:
		if ((i->reg & 7) > 1)
			return op == 0xff && gen_branch(t);
		return gen_incdec(t, op == 0xfe ? 1 : i->osize, i->reg & 1, -1);
	case 0x8d:
		if (i->mod == 3)
			return false;
		emit_ea(t);
		store_reg(t, HAX, i->reg, i->osize, i->rex);
		return true;
	case 0x90:
		return i->rm == 0;  /* NOP and PAUSE; with REX.B it is XCHG r8, rax */
	case 0x11f:
		return true;        /* NOP r/m: no memory access */
	case 0x1b6: case 0x1b7: case 0x1be: case 0x1bf: case 0x63:
		return gen_movx(t);
	case 0x1af: case 0x69: case 0x6b:
		return gen_imul(t);
	case 0xc1: case 0xd1: case 0xd3:
		return gen_shift(t) || (op != 0xd3 && gen_dead_flags_shift(t));
	case 0xc0: case 0xd0: case 0x1a4: case 0x1ac:
		return gen_dead_flags_shift(t);
	default:
		break;
	}
	if (op >= 0x140 && op <= 0x14f)
		return gen_cmov(t);
	if (op >= 0x190 && op <= 0x19f)
		return gen_setcc(t);
	if (op >= 0x40 && op <= 0x4f)  /* only outside 64-bit mode, where they are not REX */
		return gen_incdec(t, i->osize, op >= 0x48, op & 7);
	if (op >= 0x50 && op <= 0x5f)
		return gen_push_pop(t, op < 0x58);
	if ((op >= 0x88 && op <= 0x8b) || op == 0xc6 || op == 0xc7 || (op >= 0xb0 && op <= 0xbf))
		return gen_mov(t);
	return gen_branch(t);
}

/* Jumps to l_bail (returning 1: interpret the block) unless segment s is
 * an expand-up writable data segment with base 0 and a 4 GiB limit (and
 * for SS a 32-bit stack), so that offset = linear address and no limit or
 * type check can fail. */
static void emit_flat_check(struct tx *t, int s, int l_bail)
{
	struct jbuf *j = t->j;
	int32_t seg = OFF(s.seg[0]) + (int32_t)(s * sizeof(struct segment));
	jmov_ri(j, HAX, 1);                          /* the return value if bailing */
	jgrp1_mi64(j, 7, HBX, seg + (int32_t)offsetof(struct segment, base), 0);
	jjcc(j, CC_NZ, l_bail);
	jop_m(j, 4, 0x83, 7, HBX, seg + (int32_t)offsetof(struct segment, limit));
	jb(j, 0xff);                                 /* cmp dword [limit], -1 */
	jjcc(j, CC_NZ, l_bail);
	jop_m(j, 4, 0x0fb6, HCX, HBX, seg + (int32_t)offsetof(struct segment, type));
	jgrp1_ri(j, 4, 4, HCX, 0xe);
	jgrp1_ri(j, 4, 7, HCX, 2);                   /* data, writable, expand-up */
	jjcc(j, CC_NZ, l_bail);
	static const size_t nonzero[] = { offsetof(struct segment, s), offsetof(struct segment, present) };
	for (int k = 0; k < 2; k++) {
		jop_m(j, 1, 0x80, 7, HBX, seg + (int32_t)nonzero[k]);
		jb(j, 0);
		jjcc(j, CC_Z, l_bail);
	}
	jop_m(j, 1, 0x80, 7, HBX, seg + (int32_t)offsetof(struct segment, unusable));
	jb(j, 0);
	jjcc(j, CC_NZ, l_bail);
	if (s == SEG_SS) {
		jop_m(j, 1, 0x80, 7, HBX, seg + (int32_t)offsetof(struct segment, db));
		jb(j, 0);
		jjcc(j, CC_Z, l_bail);
	}
}

/* ---- glue shared by every translation, at the start of the code arena
 * (it survives flushes). Each routine is called from a block's exit with
 * rax = the next RIP, already stored with the instruction count, and
 * answers in rdx the translated code to jump to, or 0. */

/* rdx = the next block, rax its RIP: it will be entered unless a
 * controller poll is due (the countdown is kept as the run loop keeps it);
 * another thread's attention is seen by the run loop at that poll at the
 * latest. Returns rdx = where to jump, or 0 for the run loop. */
static void glue_enter(struct jbuf *j, int l_none)
{
	jop_m(j, 4, 0x83, 7, HBX, OFF(countdown));
	jb(j, 1);
	jjcc(j, CC_BE, l_none);
	jop_m(j, 4, 0xff, 1, HBX, OFF(countdown));   /* dec dword [countdown] */
	jmov_mi(j, 8, HBX, OFF(jit_link), 0);
	jop_r(j, 8, 0x89, HAX, H12);                 /* r12 = the new block's RIP */
	jmov_ri(j, H13, 1);                          /* entered by a link */
	jop_m(j, 8, 0x8b, HDX, HDX, (int32_t)offsetof(struct block, jit_body));
	jb(j, 0xc3);
}

/* The linear-RIP cache probe of block_find (key: mode and CPL). */
static void glue_dynamic(struct jbuf *j, int mode, int l_epi, int l_enter)
{
	if (mode == MODE_32) {
		jop_r(j, 4, 0x89, HAX, HCX);
		jop_m(j, 4, 0x03, HCX, HBX, OFF(s.seg[SEG_CS].base));  /* lin = CS.base + EIP, 32 bits */
	} else {
		jop_r(j, 8, 0x89, HAX, HCX);
	}
	jop_r(j, 8, 0x89, HCX, HDX);
	jshift_ri(j, 5, HDX, 10);
	jop_r(j, 8, 0x31, HCX, HDX);                 /* xor rdx, rcx */
	jgrp1_ri(j, 4, 4, HDX, BCACHE_SIZE - 1);
	jlea_sib(j, HDX, HDX, HDX, 2, 0);            /* * 5 */
	jlea_sib(j, HDX, HBX, HDX, 3, OFF(bcache));  /* * 8: 40-byte entries */
	jop_m(j, 8, 0x3b, HCX, HDX, (int32_t)offsetof(struct bcache_entry, lin));
	jjcc(j, CC_NZ, l_epi);
	jop_m(j, 8, 0x8b, HSI, HBX, OFF(tlb_gen));
	jop_m(j, 8, 0x3b, HSI, HDX, (int32_t)offsetof(struct bcache_entry, tlb_gen));
	jjcc(j, CC_NZ, l_epi);
	jop_m(j, 8, 0x8b, HSI, HBX, OFF(evm));
	jop_m(j, 8, 0x8b, HSI, HSI, (int32_t)offsetof(struct emu_vm, gen));
	jop_m(j, 8, 0x3b, HSI, HDX, (int32_t)offsetof(struct bcache_entry, vm_gen));
	jjcc(j, CC_NZ, l_epi);
	jop_m(j, 4, 0x8b, HSI, HBX, OFF(cpl));
	jrex(j, 4, 0, 0, HSI);
	jb(j, 0xc1);
	jb(j, 0xe0 | HSI);                           /* shl esi, 4 */
	jb(j, 4);
	jgrp1_ri(j, 4, 1, HSI, mode);
	jop_m(j, 4, 0x3b, HSI, HDX, (int32_t)offsetof(struct bcache_entry, key));
	jjcc(j, CC_NZ, l_epi);
	jop_m(j, 8, 0x8b, HDX, HDX, (int32_t)offsetof(struct bcache_entry, b));
	jop_r(j, 8, 0x85, HDX, HDX);
	jjcc(j, CC_Z, l_epi);
	jop_m(j, 1, 0x80, 7, HDX, (int32_t)offsetof(struct block, valid));
	jb(j, 0);
	jjcc(j, CC_Z, l_epi);
	jgrp1_mi64(j, 7, HDX, (int32_t)offsetof(struct block, jit_body), 0);
	jjcc(j, CC_Z, l_epi);
	jjmp(j, l_enter);
}

_Static_assert(sizeof(struct bcache_entry) == 40, "glue_dynamic scales the index by 40");

static bool emit_glue(struct emu_vm *v)
{
	struct jbuf *j = v->jbuf;
	j->start = j->p = v->jit_code;
	j->end = v->jit_code + JIT_BLOCK_MAX;
	j->full = false;
	j->nlabels = j->nfix = 0;
	int l_epi = jlabel(j), l_enter = jlabel(j), l_near = jlabel(j);

	jbind(j, l_epi);                             /* "no": rdx = 0 */
	jop_r(j, 4, 0x31, HDX, HDX);
	jb(j, 0xc3);

	jbind(j, l_enter);
	glue_enter(j, l_epi);

	/* far link, rcx = the slot: for this RIP and this TLB generation only */
	v->glue_far = j->p;
	jop_m(j, 8, 0x89, HCX, HBX, OFF(jit_link));
	jop_m(j, 8, 0x3b, HAX, HCX, (int32_t)offsetof(struct jit_link, rip));
	jjcc(j, CC_NZ, l_epi);
	jop_m(j, 8, 0x8b, HSI, HBX, OFF(tlb_gen));
	jop_m(j, 8, 0x3b, HSI, HCX, (int32_t)offsetof(struct jit_link, tlb_gen));
	jjcc(j, CC_NZ, l_epi);
	jjmp(j, l_near);

	/* near link: valid for its one target block while that is */
	v->glue_near = j->p;
	jop_m(j, 8, 0x89, HCX, HBX, OFF(jit_link));
	jbind(j, l_near);
	jop_m(j, 8, 0x8b, HDX, HCX, (int32_t)offsetof(struct jit_link, to));
	jop_r(j, 8, 0x85, HDX, HDX);
	jjcc(j, CC_Z, l_epi);
	jop_m(j, 1, 0x80, 7, HDX, (int32_t)offsetof(struct block, valid));
	jb(j, 0);
	jjcc(j, CC_NZ, l_enter);
	jjmp(j, l_epi);

	v->glue_dyn64 = j->p;
	glue_dynamic(j, MODE_64, l_epi, l_enter);
	v->glue_dyn32 = j->p;
	glue_dynamic(j, MODE_32, l_epi, l_enter);
	if (j->full || !jresolve(j))
		return false;
	v->jit_glue = ((size_t)(j->p - j->start) + 63) & ~(size_t)63;
	v->jit_used = v->jit_glue;
	return true;
}

/* ---- a block */

struct slow_stub {
	int k, l_slow, l_next;
	int64_t off;
};

void jit_compile(struct emu_cpu *c, struct block *b)
{
	struct emu_vm *v = c->evm;
	b->jit_tried = true;
	if (!v->jit_code || !b->valid || (b->mode != MODE_64 && b->mode != MODE_32) ||
	    jit_needs_flush(v) || b->n > 64)
		return;
	struct jbuf *j = v->jbuf;
	j->start = j->p = v->jit_code + v->jit_used;
	j->end = j->start + JIT_BLOCK_MAX;
	j->full = false;
	j->nlabels = j->nfix = 0;
	int l_insn[65];
	struct slow_stub stubs[64];
	int nstubs = 0;
	for (int k = 0; k <= b->n; k++)
		l_insn[k] = jlabel(j);
	struct tx t = { .j = j, .v = v, .b = b, .l_epi = jlabel(j), .fk = FK_UNKNOWN, .cache_reg = -1,
			.m32 = b->mode == MODE_32 };
	int l_checks = jlabel(j), l_body = jlabel(j), l_bail = jlabel(j);

	jpush(j, HBX);
	jpush(j, H12);
	jpush(j, H13);   /* three pushes: the stack is 16-byte aligned for calls */
	jop_r(j, 8, 0x89, HDI, HBX);                 /* mov rbx, rdi */
	jop_m(j, 8, 0x8b, H12, HBX, OFF(s.rip));
	jop_r(j, 4, 0x31, H13, H13);                 /* not entered by a link */
	uint8_t *body = j->p;                        /* where links enter */
	if (t.m32)
		jjmp(j, l_checks);
	jbind(j, l_body);

	int64_t off = 0;
	for (int k = 0; k < b->n; k++) {
		jbind(j, l_insn[k]);
		t.k = k;
		t.off = off;
		t.i = &b->insn[k];
		t.l_next = l_insn[k + 1];
		t.l_slow = jlabel(j);
		t.slow_used = false;
		t.hf_set = false;
		bool native = gen_native(&t);
		/* a handler on the slow path leaves the host flags and rax anything */
		if ((!t.hf_set && !pure_insn(t.i)) || t.slow_used)
			t.hf = 0;
		if (t.slow_used)
			t.cache_reg = -1;
		if (!native) {
			emit_handler_call(&t);
			t.fk = FK_UNKNOWN;
			t.hf = 0;
		} else if (t.slow_used) {
			stubs[nstubs].k = k;
			stubs[nstubs].l_slow = t.l_slow;
			stubs[nstubs].l_next = t.l_next;
			stubs[nstubs].off = off;
			nstubs++;
		}
		off += b->insn[k].len;
	}
	jbind(j, l_insn[b->n]);
	/* falling off the end: linked unless the last instruction (a handler's)
	 * may have changed what the next block needs (mode, shadow, paging) */
	t.k = b->n - 1;
	t.off = off - b->insn[b->n - 1].len;
	emit_rip(&t, b->insn[b->n - 1].len);
	emit_exit_rax(&t, insn_ends_block(&b->insn[b->n - 1]) ? LINK_NONE : link_slot(&t, 1, off));
	jbind(j, t.l_epi);
	jop_r(j, 4, 0x31, HAX, HAX);                 /* return 0: the block ran */
	int l_ret = jlabel(j);
	jbind(j, l_ret);
	jpop(j, H13);
	jpop(j, H12);
	jpop(j, HBX);
	jb(j, 0xc3);
	if (t.m32) {
		/* the native forms of a 32-bit block assume flat segments */
		jbind(j, l_checks);
		for (int s = 0; s < 6; s++)
			if (t.segs & (1u << s))
				emit_flat_check(&t, s, l_bail);
		jjmp(j, l_body);
		/* a block that declines returns 1 to the run loop, which interprets
		 * it; entered by a link, it returns 0 and the loop looks it up */
		jbind(j, l_bail);
		jop_r(j, 4, 0x29, H13, HAX);             /* sub eax, r13d */
		jjmp(j, l_ret);
	}
	for (int s = 0; s < nstubs; s++) {
		jbind(j, stubs[s].l_slow);
		t.k = stubs[s].k;
		t.off = stubs[s].off;
		t.i = &b->insn[t.k];
		t.l_next = stubs[s].l_next;
		emit_handler_call(&t);
	}
	if (j->full || !jresolve(j))
		return;
	size_t used = (size_t)(j->p - j->start);
	v->jit_used += (used + 15) & ~(size_t)15;
	v->jit_blocks++;
	b->jit = (int (*)(struct emu_cpu *))(void *)j->start;
	b->jit_body = body;
}
