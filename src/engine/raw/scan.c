/* Code scanning and patching (VirtualBox's CSAM, here with trapping
 * patches). Before a guest page runs natively, the scanner follows its
 * control flow from the entry (branch targets, both sides of conditional
 * branches, call continuations, within the page and into pages already
 * scanned) with emu's decoder and finds the instructions that are
 * sensitive but would not trap at ring 3: PUSHF/POPF, segment register
 * moves and pushes, far transfers, IRET, SGDT/SIDT/SLDT/SMSW/STR (this
 * host's UMIP emulation would answer them with dummies), LAR/LSL/VERR/
 * VERW, CPUID, SYSENTER/SYSCALL; and every indirect CALL and JMP, so
 * that control never reaches code no scan has seen without passing
 * through popek (a near RET returns behind a scanned CALL). Their first
 * byte becomes INT3 (0xcc) in a private copy of the page (patch memory),
 * which the stub maps instead of the page: the stub answers the ones its
 * tables mark (proto.h, enum raw_patch_kind) and sends the rest to REM,
 * which reads the original bytes from guest RAM and runs the instruction
 * on the virtual CPU.
 *
 * Guest RAM itself is never changed: popek, emu and DMA see the original
 * bytes. A write to a scanned page (a native write fault, a write by REM
 * through emu's watch, or DMA) drops its record and copy; the page is
 * scanned again when it next runs. Each later entry into a scanned page
 * that passes through popek (after REM, an interrupt, a fault) is scanned
 * from that entry before the guest runs again. What is left uncovered:
 * a RET to an address no CALL pushed, and a native read of a patched
 * page, which sees the trapping bytes (as under VirtualBox's CSAM/PATM;
 * without protection keys x86 has no execute-only pages). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/raw/raw.h"
#include "vm.h"

#define TRAP_BYTE 0xcc

bool raw_sensitive(const struct insn *i)
{
	unsigned reg = i->reg & 7;
	switch (i->op) {
	case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17: case 0x1e: case 0x1f:
	case 0x8c: case 0x8e:            /* MOV from/to a segment register */
	case 0x9a: case 0xea:            /* far CALL/JMP */
	case 0x9c: case 0x9d:            /* PUSHF, POPF */
	case 0xc4: case 0xc5:            /* LES, LDS */
	case 0xca: case 0xcb: case 0xcf: /* far RET, IRET */
	case 0xc2:   /* RET imm16: an exception handler's way back to a planted
		      * address (compilers do not emit it for C): REM scans there */
	case 0x1a0: case 0x1a1: case 0x1a8: case 0x1a9:   /* PUSH/POP FS/GS */
	case 0x1b2: case 0x1b4: case 0x1b5:               /* LSS, LFS, LGS */
	case 0x102: case 0x103:          /* LAR, LSL */
	case 0x1a2:                      /* CPUID */
	case 0x105: case 0x107: case 0x134: case 0x135:   /* SYSCALL, SYSRET, SYSENTER, SYSEXIT */
	case 0x101:   /* SGDT, SIDT, SMSW, XGETBV, ...: all of group 7 but RDTSCP,
		       * which traps by itself (PR_SET_TSC) and which the stub answers */
		return !(i->mod == 3 && (i->reg & 7) == 7 && (i->rm & 7) == 1);
	case 0x100:                      /* SLDT, STR, LLDT, LTR, VERR, VERW */
		return reg <= 5;
	case 0xff:   /* CALL/JMP through a register or memory, near and far */
		return reg >= 2 && reg <= 5;
	default:
		return false;
	}
}

/* Does the instruction end the path (nothing runs after it in sequence)? */
static bool ends_path(const struct insn *i)
{
	switch (i->op) {
	case 0xc2: case 0xc3: case 0xe9: case 0xeb: case 0xea: case 0xca: case 0xcb: case 0xcf:
	case 0x10b:   /* UD2 */
		return true;
	case 0xff:
		return (i->reg & 7) == 4 || (i->reg & 7) == 5;
	default:
		return false;
	}
}

static bool has_rel_target(const struct insn *i)
{
	uint16_t op = i->op;
	return (op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f) ||
	       (op >= 0xe0 && op <= 0xe3) || op == 0xe8 || op == 0xe9 || op == 0xeb;
}

/* JMP *table(,%reg,4): a compiler's switch through a table of code
 * addresses (in read-only data). */
static bool jump_table(const struct insn *i)
{
	return i->op == 0xff && (i->reg & 7) == 4 && i->mod == 0 && i->base == NOREG &&
	       i->index != NOREG && i->scale == 2 && i->asize == 4 && i->seg == SEG_DS;
}

/* CMP reg, imm: the bound check a compiler puts before a switch's jump.
 * *reg and *bound get the register and the immediate. */
static bool bound_check(const struct insn *i, unsigned *reg, uint32_t *bound)
{
	if (i->osize != 4)
		return false;
	if ((i->op == 0x83 || i->op == 0x81) && (i->reg & 7) == 7 && i->mod == 3) {
		*reg = i->rm & 7;
		*bound = (uint32_t)i->imm;
		return true;
	}
	if (i->op == 0x3d) {
		*reg = RAX;
		*bound = (uint32_t)i->imm;
		return true;
	}
	return false;
}

#define TABLE_MAX   1024
#define TABLE_REACH 0x100000u   /* a case lies within 1 MiB of its switch */

static void branch_out(struct raw_cpu *r, const struct code_page *from, uint32_t target);

/* The in-page offsets a scan still has to follow: each goes in once, so
 * a page's 4096 offsets always fit. (A bounded stack that dropped targets
 * when full would let native code branch to instructions no scan saw.) */
struct worklist {
	uint16_t off[4096];
	uint8_t queued[512];
	int n;
};

static void work_push(struct worklist *w, uint32_t lin)
{
	unsigned off = lin & 0xfff;
	if (w->queued[off >> 3] & (1u << (off & 7)))
		return;
	w->queued[off >> 3] |= (uint8_t)(1u << (off & 7));
	w->off[w->n++] = (uint16_t)off;
}

/* Follows a switch table's entries: as many as the bound check before the
 * jump allows, each of which must point near the jump. */
static void jump_table_targets(struct raw_cpu *r, const struct code_page *cp, const struct insn *i,
			       uint32_t entries, uint32_t base, struct worklist *work)
{
	const struct segment *ds = &r->c->s.seg[SEG_DS];
	uint32_t lin = (uint32_t)(ds->base + (uint32_t)i->disp);
	for (unsigned k = 0; k < entries; k++, lin += 4) {
		uint64_t gpa;
		if (!paging_translate(r->c, lin, ACC_R | (r->c->cpl == 3 ? ACC_USER : 0), &gpa, false))
			return;
		const uint8_t *p = gpa_ptr(&r->vm->mem, gpa, 4);
		if (!p)
			return;
		uint32_t t;
		memcpy(&t, p, 4);
		t = (uint32_t)(r->c->s.seg[SEG_CS].base + t);
		if (t - base + TABLE_REACH > 2 * TABLE_REACH)
			return;
		if ((t & ~0xfffu) == base) {
			work_push(work, t);
		} else {
			branch_out(r, cp, t);
		}
	}
}

static bool bit(const uint8_t *map, unsigned off)
{
	return map[off >> 3] & (1u << (off & 7));
}

/* Would an instruction at off of len bytes cover a known instruction start? */
static bool overlaps_start(const struct code_page *cp, unsigned off, unsigned len)
{
	for (unsigned k = off + 1; k < off + len && k < 4096; k++)
		if (bit(cp->scanned, k))
			return true;
	return false;
}

static int32_t alloc_slot(struct raw_cpu *r)
{
	if (r->npatch_free)
		return r->patch_free[--r->npatch_free];
	if (r->patch_next < RAW_PATCH_PAGES)
		return r->patch_next++;
	return -1;
}

/* Unmaps the page's executable mappings (they map what it was before). */
static void unmap_exec(struct raw_cpu *r, struct code_page *cp)
{
	if (cp->nxlin > CODE_XLIN) {
		r->need_flush = true;
		return;
	}
	for (unsigned k = 0; k < cp->nxlin; k++) {
		uint32_t lp = cp->xlin[k];
		if ((r->pst[lp] & SP_X) && r->ppfn[lp] == cp->pfn)
			raw_shadow_unmap(r, lp);
	}
	cp->nxlin = 0;
}

/* What the stub may answer itself (proto.h), for an instruction without
 * prefixes; RAW_K_TRAP for the rest. */
static unsigned patch_kind(const struct insn *i, int len)
{
	switch (i->op) {
	case 0x9c: return len == 1 ? RAW_K_PUSHF : RAW_K_TRAP;
	case 0xcf: return len == 1 ? RAW_K_IRET : RAW_K_TRAP;
	case 0xff: return len == 2 && i->mod == 3 && (i->reg & 7) == 4 ? RAW_K_JMP_REG : RAW_K_TRAP;
	case 0x06: return len == 1 ? RAW_K_PUSH_SREG + SEG_ES : RAW_K_TRAP;
	case 0x0e: return len == 1 ? RAW_K_PUSH_SREG + SEG_CS : RAW_K_TRAP;
	case 0x16: return len == 1 ? RAW_K_PUSH_SREG + SEG_SS : RAW_K_TRAP;
	case 0x1e: return len == 1 ? RAW_K_PUSH_SREG + SEG_DS : RAW_K_TRAP;
	case 0x1a0: return len == 2 ? RAW_K_PUSH_SREG + SEG_FS : RAW_K_TRAP;
	case 0x1a8: return len == 2 ? RAW_K_PUSH_SREG + SEG_GS : RAW_K_TRAP;
	default: return RAW_K_TRAP;
	}
}

/* Makes the byte at off trap, as an instruction of the given RAW_K_*
 * kind; false when patch memory is full. */
static bool patch(struct raw_cpu *r, struct code_page *cp, unsigned off, unsigned kind)
{
	if (cp->patched[off >> 3] & (1u << (off & 7)))
		return true;
	if (cp->copy < 0) {
		int32_t slot = alloc_slot(r);
		if (slot < 0) {
			r->st.patch_full++;
			cp->norun = true;
			unmap_exec(r, cp);
			return false;
		}
		const uint8_t *orig = gpa_ptr(&r->vm->mem, (uint64_t)cp->pfn << 12, 4096);
		memcpy(r->patch_mem + ((uint64_t)slot << 12), orig, 4096);
		cp->copy = slot;
		unmap_exec(r, cp);
	}
	r->patch_mem[((uint64_t)cp->copy << 12) + off] = TRAP_BYTE;
	cp->patched[off >> 3] |= (uint8_t)(1u << (off & 7));
	cp->kind[off >> 1] |= (uint8_t)(kind << (4 * (off & 1)));
	cp->npatch++;
	r->st.patches++;
	return true;
}

void raw_revoke_write(struct raw_cpu *r, uint64_t pfn)
{
	if (pfn >= r->npfn || !r->wmapped[pfn])
		return;
	/* writable native mappings of a code page would change code unseen */
	for (uint32_t k = 0; k < r->nlist; k++) {
		uint32_t lp = r->list[k];
		if ((r->pst[lp] & (SP_MAPPED | SP_W)) == (SP_MAPPED | SP_W) && r->ppfn[lp] == pfn)
			raw_shadow_unmap(r, lp);
	}
	r->wmapped[pfn] = 0;
}

static struct code_page *record(struct raw_cpu *r, uint64_t pfn)
{
	struct code_page *cp = r->code[pfn];
	if (cp)
		return cp;
	cp = calloc(1, sizeof(*cp));
	if (!cp)
		return NULL;
	cp->pfn = (uint32_t)pfn;
	cp->copy = -1;
	cp->scanned = r->cinfo[pfn].scanned;   /* clear: a drop clears them */
	cp->kind = r->cinfo[pfn].kind;
	r->code[pfn] = cp;
	r->st.scanned_pages++;
	/* writes by REM or DMA must now reach raw_code_drop */
	struct emu_vm *v = r->c->evm;
	v->watch[pfn] = 1;
	tlb_drop_write(r->c, pfn << 12);
	raw_revoke_write(r, pfn);
	return cp;
}

bool raw_code_gpa(struct emu_cpu *c, uint32_t lin, uint64_t *gpa)
{
	return paging_translate(c, lin, ACC_X | (c->cpl == 3 ? ACC_USER : 0), gpa, false);
}

/* Up to 15 bytes of code at linear lin: from the page's original bytes,
 * and from the next page when the instruction may cross into it. */
static int fetch(struct raw_cpu *r, const uint8_t *page, uint32_t lin, uint8_t *buf)
{
	unsigned off = lin & 0xfff;
	int n = 4096 - (int)off < 15 ? 4096 - (int)off : 15;
	memcpy(buf, page + off, (size_t)n);
	if (n == 15)
		return n;
	uint64_t gpa;
	if (!raw_code_gpa(r->c, (lin & ~0xfffu) + 4096u, &gpa))
		return n;
	const uint8_t *next = gpa_ptr(&r->vm->mem, gpa & ~0xfffull, 4096);
	if (!next)
		return n;
	memcpy(buf + n, next, (size_t)(15 - n));
	return 15;
}

/* Does a kept branch still hold: the page it was seen in keeps the record
 * it had, and the target still translates to the page it is kept with
 * (it is a linear address of the address space it was seen in)? */
static bool pending_valid(struct raw_cpu *r, const struct raw_pending *p)
{
	uint64_t gpa;
	return r->code[p->src] && r->scanq.gen[p->src] == p->src_gen &&
	       raw_code_gpa(r->c, p->e.lin, &gpa) && gpa >> 12 == p->e.pfn;
}

/* A direct branch from page from into another page: scanned there too,
 * now if that page has run before (its mapping will not fault again),
 * else whenever a scan of it starts afresh (the branch is kept with the
 * page). */
static void branch_out(struct raw_cpu *r, const struct code_page *from, uint32_t target)
{
	uint64_t gpa;
	if (!raw_code_gpa(r->c, target, &gpa))
		return;
	uint64_t pfn = gpa >> 12;
	if (pfn >= r->npfn)
		return;
	struct raw_scanq *q = &r->scanq;
	if (r->code[pfn]) {
		if (q->n < RAW_SCANQ)
			q->item[q->n++] = (struct raw_entry){ (uint32_t)pfn, target };
		else
			r->st.entries_lost++;
	}
	struct raw_pending *stale = NULL;
	for (uint32_t k = q->head[pfn]; k; k = q->pool[k - 1].next) {
		struct raw_pending *p = &q->pool[k - 1];
		bool valid = pending_valid(r, p);
		if (valid && p->e.lin == target)
			return;
		if (!valid)
			stale = p;
	}
	if (!stale && q->npool == RAW_PENDING) {
		r->st.entries_lost++;
		return;
	}
	if (!stale) {
		stale = &q->pool[q->npool++];
		stale->next = q->head[pfn];
		q->head[pfn] = q->npool;
	}
	stale->e = (struct raw_entry){ (uint32_t)pfn, target };
	stale->src = from->pfn;
	stale->src_gen = q->gen[from->pfn];
}

/* Scans from entry (a linear address in cp's page). False when a patch
 * did not fit. */
static bool follow(struct raw_cpu *r, struct code_page *cp, uint32_t entry)
{
	const uint8_t *page = gpa_ptr(&r->vm->mem, (uint64_t)cp->pfn << 12, 4096);
	if (!page)
		return false;
	uint32_t base = entry & ~0xfffu;
	static struct worklist work;   /* 9 KiB: off the stack; one scan at a time */
	memset(work.queued, 0, sizeof(work.queued));
	work.n = 0;
	work_push(&work, entry);
	bool ok = true;
	r->st.scans++;
	while (work.n) {
		unsigned off = work.off[--work.n];
		unsigned bound_reg = NOREG;
		uint32_t bound = 0;
		for (;;) {
			if (bit(cp->scanned, off))
				break;
			if (bit(cp->covered, off)) {
				/* inside an instruction another path decoded: one of the
				 * two decodings is wrong, and a patch here could break
				 * the other; this path stops */
				r->st.conflicts++;
				break;
			}
			uint8_t buf[15];
			int avail = fetch(r, page, base + off, buf);
			struct insn i;
			int len = decode_insn(&i, buf, avail, MODE_32);
			if (len > 0 && overlaps_start(cp, off, (unsigned)len)) {
				r->st.conflicts++;
				break;
			}
			if (len <= 0) {
				/* undecodable here (or its bytes run into a page that is
				 * not there yet): let it trap and REM decide */
				cp->scanned[off >> 3] |= (uint8_t)(1u << (off & 7));
				ok &= patch(r, cp, off, RAW_K_TRAP);
				break;
			}
			cp->scanned[off >> 3] |= (uint8_t)(1u << (off & 7));
			for (unsigned k = off + 1; k < off + (unsigned)len && k < 4096; k++)
				cp->covered[k >> 3] |= (uint8_t)(1u << (k & 7));
			unsigned reg;
			uint32_t b;
			if (jump_table(&i) && bound_reg == (i.index & 7) && bound < TABLE_MAX) {
				/* a switch: its targets are entries, and the jump
				 * itself may run natively */
				jump_table_targets(r, cp, &i, bound + 1, base, &work);
			} else if (raw_sensitive(&i)) {
				ok &= patch(r, cp, off, patch_kind(&i, len));
			}
			if (bound_check(&i, &reg, &b)) {
				bound_reg = reg;
				bound = b;
			}
			uint32_t next = base + off + (uint32_t)len;
			if (has_rel_target(&i)) {
				uint32_t t = next + (uint32_t)i.imm;
				if (i.osize == 2)   /* 16-bit operand size truncates EIP */
					t = (uint32_t)(r->c->s.seg[SEG_CS].base +
						       ((t - r->c->s.seg[SEG_CS].base) & 0xffff));
				if ((t & ~0xfffu) == base) {
					work_push(&work, t);
				} else {
					branch_out(r, cp, t);
				}
			}
			if (ends_path(&i))
				break;
			if ((next & ~0xfffu) != base) {
				branch_out(r, cp, next);   /* runs on into the next page */
				break;
			}
			off = next & 0xfff;
		}
	}
	return ok;
}

int raw_decode_at(struct raw_cpu *r, uint32_t lin, struct insn *i)
{
	uint64_t gpa;
	if (!raw_code_gpa(r->c, lin, &gpa))
		return -1;
	const uint8_t *page = gpa_ptr(&r->vm->mem, gpa & ~0xfffull, 4096);
	if (!page)
		return -1;
	uint8_t buf[15];
	return decode_insn(i, buf, fetch(r, page, lin, buf), MODE_32);
}

bool raw_patched_at(struct raw_cpu *r, uint32_t lin)
{
	uint64_t gpa;
	if (!raw_code_gpa(r->c, lin, &gpa) || gpa >> 12 >= r->npfn)
		return false;
	const struct code_page *cp = r->code[gpa >> 12];
	return cp && bit(cp->patched, (unsigned)(gpa & 0xfff));
}

uint32_t raw_next_insn(struct raw_cpu *r, uint32_t lin, uint32_t lp)
{
	struct insn i;
	int len = raw_decode_at(r, lin, &i);
	uint32_t next = lin + (uint32_t)len;
	if (len <= 0 || ends_path(&i) || next >> 12 != lp)
		return RAW_NO_ENTRY;
	return next;
}

struct code_page *raw_scan(struct raw_cpu *r, uint64_t pfn, uint32_t lin)
{
	if (pfn >= r->npfn)
		return NULL;
	bool fresh = !r->code[pfn];
	struct code_page *cp = record(r, pfn);
	if (!cp)
		return NULL;
	struct raw_scanq *q = &r->scanq;
	q->n = 0;
	if (fresh) {
		/* branches seen earlier into this page, from code that may run
		 * them natively now (kept: the page may be dropped and come back) */
		for (uint32_t k = q->head[pfn]; k && q->n < RAW_SCANQ - 1; k = q->pool[k - 1].next)
			if (pending_valid(r, &q->pool[k - 1]))
				q->item[q->n++] = q->pool[k - 1].e;
	}
	/* the entry that is running now first (the queue pops from the end):
	 * where two decodings of the page disagree, the one that runs wins */
	if (lin != RAW_NO_ENTRY)
		q->item[q->n++] = (struct raw_entry){ (uint32_t)pfn, lin };
	bool ok = true;
	while (q->n) {
		struct raw_entry e = q->item[--q->n];
		struct code_page *t = r->code[e.pfn];
		if (t && !t->norun)
			ok &= follow(r, t, e.lin) || t != cp;
	}
	if (cp->norun || !ok)
		return NULL;   /* no room to patch: the page stays with REM */
	return cp;
}

void raw_code_drop(struct raw_cpu *r, uint64_t pfn)
{
	struct code_page *cp = pfn < r->npfn ? r->code[pfn] : NULL;
	if (!cp)
		return;
	unmap_exec(r, cp);
	if (cp->copy >= 0)
		r->patch_free[r->npatch_free++] = cp->copy;
	r->code[pfn] = NULL;
	memset(&r->cinfo[pfn], 0, sizeof(r->cinfo[pfn]));
	r->scanq.gen[pfn]++;   /* the branches seen in it no longer hold */
	r->c->evm->watch[pfn] = 0;
	free(cp);
	r->st.code_drops++;
}

void raw_scan_free(struct raw_cpu *r)
{
	if (!r->code)
		return;
	for (uint64_t p = 0; p < r->npfn; p++)
		free(r->code[p]);
	free(r->code);
	r->code = NULL;
}
