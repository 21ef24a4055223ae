/* Shadow page tables. The stub's host mappings below 4 GiB are the guest's
 * TLB: filled one page at a time when native code faults on a page the
 * stub does not map yet, from a walk of the guest's own page tables (emu's
 * walker, which sets the Accessed and Dirty bits as the hardware would),
 * and emptied when the guest's paging changes in ways a TLB would forget:
 * a CR3, CR0 or CR4 write, an INVLPG, an EFER change. With paging off the
 * walk is the identity.
 *
 * Protections follow the guest's: a page is mapped writable only after a
 * write (so Dirty is set before the guest can write), executable only
 * after the scanner has looked at it, and never both (a write to code
 * drops its scan, see scan.c). The guest kernel runs at ring 3 like its
 * users, so pages mapped for the kernel that CPL 3 may not touch are
 * unmapped when the guest enters user mode (ring compression). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/raw/raw.h"
#include "vm.h"

uint64_t raw_guest_npfn(const struct guest_mem *m)
{
	uint64_t npfn = 0;
	for (int k = 0; k < m->nregions; k++) {
		const struct mem_region *g = &m->region[k];
		if ((g->gpa + g->size) >> 12 > npfn)
			npfn = (g->gpa + g->size) >> 12;
	}
	return npfn;
}

uint64_t raw_tables_size(uint64_t npfn)
{
	return (RAW_T_CODE + npfn * sizeof(struct raw_code_info) + 4095) & ~4095ull;
}

int raw_shadow_init(struct raw_cpu *r, char *err, size_t n)
{
	r->npfn = raw_guest_npfn(&r->vm->mem);
	r->tables_size = raw_tables_size(r->npfn);
	/* sparse: only the pages of linear space and of code that are used
	 * are ever touched */
	void *t = r->tables_off ? mmap(NULL, r->tables_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				       r->vm->mem.fd, (off_t)r->tables_off)
				: mmap(NULL, r->tables_size, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t == MAP_FAILED) {
		snprintf(err, n, "cannot map the monitor tables: %s", strerror(errno));
		return -1;
	}
	r->tables = t;
	r->pst = r->tables + RAW_T_PST;
	r->ppfn = (uint32_t *)(void *)(r->tables + RAW_T_PPFN);
	r->cinfo = (struct raw_code_info *)(void *)(r->tables + RAW_T_CODE);
	r->list = calloc(RAW_PAGES, sizeof(*r->list));
	r->wmapped = calloc(r->npfn ? r->npfn : 1, 1);
	if (!r->list || !r->wmapped) {
		snprintf(err, n, "out of memory for the shadow page tables");
		return -1;
	}
	r->need_flush = true;
	return 0;
}

void raw_shadow_free(struct raw_cpu *r)
{
	if (r->tables)
		munmap(r->tables, r->tables_size);
	free(r->list);
	free(r->wmapped);
	r->tables = NULL;
	r->pst = NULL;
	r->ppfn = NULL;
	r->cinfo = NULL;
	r->list = NULL;
	r->wmapped = NULL;
}

/* Queues an op for the stub's next command, sending a batch first when
 * the queue is full. */
int raw_queue_op(struct raw_cpu *r, uint32_t kind, uint32_t lin, uint64_t len, uint32_t prot,
		 uint64_t offset)
{
	struct raw_ctrl *k = r->ctrl;
	if (k->nops == RAW_MAX_OPS) {
		if (raw_stub_exchange(r, false) != 0)
			return -1;
		if (k->stop != RAW_STOP_NONE) {
			snprintf(r->why, sizeof(r->why), "the stub failed a mapping (op %d: %s)",
				 k->op_index, strerror(k->op_errno));
			return -1;
		}
	}
	struct raw_op *o = &k->ops[k->nops++];
	o->kind = kind;
	o->lin = lin;
	o->len = len;
	o->prot = prot;
	o->offset = offset;
	return 0;
}

/* A code record's reverse map may still name an unmapped page: a drop
 * just unmaps it again. */
void raw_shadow_unmap(struct raw_cpu *r, uint32_t lp)
{
	if (!(r->pst[lp] & SP_MAPPED))
		return;
	r->pst[lp] &= SP_LISTED;
	raw_queue_op(r, RAW_OP_UNMAP, lp << 12, 4096, 0, 0);
}

void raw_shadow_flush(struct raw_cpu *r)
{
	for (uint32_t k = 0; k < r->nlist; k++)
		r->pst[r->list[k]] = 0;
	r->nlist = 0;
	memset(r->wmapped, 0, r->npfn);
	for (uint64_t p = 0; p < r->npfn; p++)
		if (r->code[p])
			r->code[p]->nxlin = 0;
	r->ctrl->nops = 0;   /* whatever was queued is covered by this */
	/* in halves: the sandbox lets no length of 4 GiB or more through */
	raw_queue_op(r, RAW_OP_UNMAP, 0, RAW_LINEAR_END / 2, 0, 0);
	raw_queue_op(r, RAW_OP_UNMAP, (uint32_t)(RAW_LINEAR_END / 2), RAW_LINEAR_END / 2, 0, 0);
	r->st.flushes++;
	r->need_flush = false;
}

void raw_shadow_flush_nonglobal(struct raw_cpu *r)
{
	uint32_t keep = 0;
	for (uint32_t k = 0; k < r->nlist; k++) {
		uint32_t lp = r->list[k];
		if ((r->pst[lp] & (SP_MAPPED | SP_GLOBAL)) == (SP_MAPPED | SP_GLOBAL)) {
			r->list[keep++] = lp;
			r->st.globals_kept++;
			continue;
		}
		raw_shadow_unmap(r, lp);
		r->pst[lp] = 0;
	}
	r->nlist = keep;
	r->st.nonglobal_flushes++;
}

void raw_shadow_drop_konly(struct raw_cpu *r)
{
	uint32_t keep = 0;
	for (uint32_t k = 0; k < r->nlist; k++) {
		uint32_t lp = r->list[k];
		if ((r->pst[lp] & SP_KONLY) && lp < (RAW_RING_SPLIT >> 12))
			raw_shadow_unmap(r, lp);
		if (r->pst[lp] & SP_MAPPED)
			r->list[keep++] = lp;
		else
			r->pst[lp] = 0;
	}
	r->nlist = keep;
}

static int cpl_class(const struct emu_cpu *c)
{
	return c->cpl == 3;
}

void raw_shadow_sync(struct raw_cpu *r)
{
	struct emu_cpu *c = r->c;
	const struct cpu_state *s = &c->s;
	const uint64_t cr0_bits = CR0_PG | CR0_WP | CR0_PE;
	const uint64_t cr4_bits = CR4_PSE | CR4_PAE | CR4_PGE | (1ull << 20) | (1ull << 21);
	if ((s->cr0 & cr0_bits) != (r->cr0 & cr0_bits) || (s->cr4 & cr4_bits) != (r->cr4 & cr4_bits) ||
	    (s->msr.efer & EFER_NXE) != (r->efer & EFER_NXE) || c->rem_full_flushes != r->full_flushes)
		r->need_flush = true;
	/* a CR3 write (or a TLB flush that keeps global pages) */
	bool cr3_flush = s->cr3 != r->cr3 || c->st.tlb_flushes != r->tlb_flushes;
	if (s->cr3 != r->cr3)
		r->st.cr3_switches++;
	if (c->rem_ninval > REM_INVAL)
		r->need_flush = true;
	r->cr0 = s->cr0;
	r->cr3 = s->cr3;
	r->cr4 = s->cr4;
	r->efer = s->msr.efer;
	r->tlb_flushes = c->st.tlb_flushes;
	r->full_flushes = c->rem_full_flushes;
	if (!r->need_flush && cr3_flush)
		raw_shadow_flush_nonglobal(r);
	if (r->need_flush) {
		c->rem_ninval = 0;
		raw_shadow_flush(r);
		r->cls = cpl_class(c);
		return;
	}
	for (unsigned k = 0; k < c->rem_ninval; k++) {
		/* INVLPG: the page, at any CPL class; a large page is flushed
		 * whole by emu, which shows up as a full TLB flush above */
		uint32_t lp = (uint32_t)((c->rem_inval[k] & 0xffffffffull) >> 12);
		raw_shadow_unmap(r, lp);
		r->st.invlpgs++;
	}
	c->rem_ninval = 0;
	int cls = cpl_class(c);
	if (cls == r->cls)
		return;
	r->st.class_switches++;
	if (cls == 1) {
		/* into guest user mode: what only the kernel may touch goes, below
		 * the ring split (above it, segment limits keep user code out) */
		raw_shadow_drop_konly(r);
	} else if (s->cr4 & ((1ull << 20) | (1ull << 21))) {
		/* SMEP/SMAP: user pages are not the kernel's either */
		raw_shadow_flush(r);
	}
	r->cls = cls;
}

int raw_shadow_fault(struct raw_cpu *r, uint32_t lin, uint32_t err)
{
	struct emu_cpu *c = r->c;
	bool user = c->cpl == 3;
	bool write = err & 2, fetch = err & 0x10;
	int acc = (fetch ? ACC_X : write ? ACC_W : ACC_R) | (user ? ACC_USER : 0);
	uint64_t gpa;
	uint32_t lp = lin >> 12;
	bool global;
	if (!paging_translate_global(c, lin, acc, &gpa, &global))
		return 0;   /* the guest's own page fault: REM delivers it */
	uint64_t pfn = gpa >> 12;
	uint64_t off = gpa_fd_offset(&r->vm->mem, gpa & ~0xfffull);
	if (off == UINT64_MAX || pfn >= r->npfn)
		return 0;   /* not RAM: REM emulates the access */
	uint8_t st = r->pst[lp];
	if (!(st & SP_MAPPED))
		st &= SP_LISTED;
	uint32_t prot;
	uint8_t flags = SP_MAPPED | (global ? SP_GLOBAL : 0);
	if (fetch) {
		/* The fetch of an instruction that starts in the page before and
		 * runs into this one faults here, at the page's first byte: that
		 * byte is no instruction start (scanning from it once decoded
		 * `or $1,%edi`'s ModRM byte 0xcf as an IRET and patched it, which
		 * made it `xor $1,%esp`); the entry is where that instruction ends. */
		uint32_t eip = (uint32_t)(c->s.seg[SEG_CS].base + c->s.rip);
		struct code_page *cp = raw_scan(r, pfn, eip >> 12 == lp ? eip : raw_next_insn(r, eip, lp));
		if (!cp)
			return 0;
		if (cp->copy >= 0) {
			off = r->patch_off + ((uint64_t)cp->copy << 12);
			flags |= SP_COPY;
		}
		if (cp->nxlin < CODE_XLIN)
			cp->xlin[cp->nxlin] = lp;
		if (cp->nxlin <= CODE_XLIN)
			cp->nxlin++;
		prot = RAW_PROT_R | RAW_PROT_X;
		flags |= SP_X;
	} else if (write) {
		uint32_t ip_lp = (uint32_t)((c->s.seg[SEG_CS].base + c->s.rip) & 0xffffffffu) >> 12;
		if ((r->pst[ip_lp] & SP_X) && r->ppfn[ip_lp] == pfn)
			return 0;   /* code writing its own page: REM, or W and X would take turns forever */
		if (r->code[pfn])
			raw_code_drop(r, pfn);   /* writes drop scans */
		struct emu_vm *v = c->evm;
		if (v->page_blocks[pfn])     /* ... and REM's decoded blocks */
			block_invalidate_page(v, pfn, NULL);
		prot = RAW_PROT_R | RAW_PROT_W;
		flags |= SP_W;
		r->wmapped[pfn] = 1;
	} else {
		prot = RAW_PROT_R;
		if ((st & SP_X) && r->ppfn[lp] == pfn) {
			/* read of a page mapped for execution only cannot fault */
			prot |= RAW_PROT_X;
			flags |= st & (SP_X | SP_COPY);
		}
	}
	/* a mapping for the guest kernel that CPL 3 could not make */
	uint64_t ugpa;
	if (!user && !paging_translate(c, lin, (acc & 3) | ACC_USER, &ugpa, false))
		flags |= SP_KONLY;
	if (!user && write && !(flags & SP_KONLY) && !paging_translate(c, lin, ACC_W | ACC_USER, &ugpa, false))
		flags |= SP_KONLY;
	if (raw_queue_op(r, RAW_OP_MAP, lp << 12, 4096, prot, off) != 0)
		return -1;
	if (!(st & SP_LISTED))
		r->list[r->nlist++] = lp;
	r->pst[lp] = flags | SP_LISTED;
	r->ppfn[lp] = (uint32_t)pfn;
	r->st.maps++;
	return 1;
}
