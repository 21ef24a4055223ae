/* Paging, the TLB and guest-physical accesses (RAM or MMIO exits).
 *
 * The TLB caches, per linear page, the host pointer of the guest-physical
 * page and which kinds of access may skip the page walk. A permission that
 * is absent only sends the access to the slow path, which decides between
 * a fault, setting a dirty bit, or invalidating decoded code on the page. */
#include <string.h>

#include "engine/emu/emu.h"
#include "vm.h"

#define PHYS_BITS 40
#define ADDR_MASK (((1ull << PHYS_BITS) - 1) & ~0xfffull)

#define PTE_P   1ull
#define PTE_RW  2ull
#define PTE_US  4ull
#define PTE_A   0x20ull
#define PTE_D   0x40ull
#define PTE_PS  0x80ull
#define PTE_G   0x100ull
#define PTE_NX  (1ull << 63)

#define PF_P    1u
#define PF_W    2u
#define PF_U    4u
#define PF_RSVD 8u
#define PF_I    16u

uint8_t *phys_host(struct emu_cpu *c, uint64_t gpa, uint64_t len)
{
	const struct guest_mem *m = &c->vm->mem;
	for (int k = 0; k < m->nregions; k++) {
		const struct mem_region *r = &m->region[k];
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

void tlb_flush(struct emu_cpu *c, bool keep_global)
{
	c->st.tlb_flushes++;
	if (!keep_global)
		c->rem_full_flushes++;
	c->tlb_gen++;
	for (int k = 0; k < TLB_SIZE; k++)
		if (!keep_global || !c->tlb[k].global) {
			c->tlb[k].tag = 0;
			memset(c->tlb[k].jtag, 0, sizeof(c->tlb[k].jtag));
		}
}

void tlb_flush_page(struct emu_cpu *c, uint64_t lin)
{
	c->st.tlb_flush_pages++;
	c->tlb_gen++;
	if (c->outer) {
		if (c->rem_ninval < REM_INVAL)
			c->rem_inval[c->rem_ninval] = lin;
		if (c->rem_ninval <= REM_INVAL)
			c->rem_ninval++;
	}
	/* a large page is cached as many 4 KiB entries; drop them all */
	if (c->tlb_has_large) {
		tlb_flush(c, false);
		return;
	}
	struct tlb_entry *e = &c->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	if (e->tag == ((lin & ~0xfffull) | 1)) {
		e->tag = 0;
		memset(e->jtag, 0, sizeof(e->jtag));
	}
}

void tlb_drop_write(struct emu_cpu *c, uint64_t gpa_page)
{
	for (int k = 0; k < TLB_SIZE; k++)
		if (c->tlb[k].tag && c->tlb[k].gpa == gpa_page) {
			c->tlb[k].perm &= ~(TP_WRITE_S | TP_WRITE_U);
			c->tlb[k].jtag[JTAG_WRITE_S] = c->tlb[k].jtag[JTAG_WRITE_S + 1] = 0;
		}
}

/* ---- MMIO: an exit per access; reads are answered by re-executing the
 * instruction with the answers logged, so nothing retires twice. */

static uint64_t mmio_read(struct emu_cpu *c, uint64_t gpa, int size)
{
	if (c->mmio_pos < c->mmio_nlog) {
		int k = c->mmio_pos++;
		if (c->mmio_log[k].addr != gpa || c->mmio_log[k].size != size)
			emu_internal(c, "MMIO replay diverged");
		return c->mmio_log[k].val;
	}
	if (c->mmio_wpending || c->mmio_nlog >= MMIO_LOG || size > 8)
		emu_internal(c, "an MMIO read after an MMIO write in one instruction");
	c->pend.reason = EXIT_MMIO;
	c->pend.mmio.addr = gpa;
	c->pend.mmio.size = size;
	c->pend.mmio.is_write = 0;
	c->pend.mmio.data = c->mmio_buf;
	memset(c->mmio_buf, 0, sizeof(c->mmio_buf));
	c->mmio_read_pending = true;
	longjmp(c->jb, JMP_EXIT);
}

/* MMIO writes queue up (an instruction may make several: a write that
 * crosses pages, PUSH to MMIO...) and leave one exit each after the
 * instruction retires. */
static void mmio_write(struct emu_cpu *c, uint64_t gpa, int size, uint64_t val)
{
	if (c->wq_n >= MMIO_WQ || size > 8)
		emu_internal(c, "too many MMIO writes in one instruction");
	struct mmio_wq *w = &c->wq[c->wq_n++];
	w->addr = gpa;
	w->size = size;
	memcpy(w->data, &val, 8);
	c->mmio_wpending = true;
	c->stop |= STOP_EXIT;
}

/* Physical accesses by the CPU itself (page walks, descriptor tables):
 * writes keep the decoded-code cache honest like any other write. */
uint64_t phys_read(struct emu_cpu *c, uint64_t gpa, int size)
{
	uint8_t *h = phys_host(c, gpa, size);
	if (!h)
		return mmio_read(c, gpa, size);
	uint64_t v = 0;
	memcpy(&v, h, size);
	return v;
}

void phys_write(struct emu_cpu *c, uint64_t gpa, int size, uint64_t val)
{
	uint8_t *h = phys_host(c, gpa, size);
	if (!h) {
		mmio_write(c, gpa, size, val);
		return;
	}
	if (gpa_is_rom(&c->vm->mem, gpa))
		return;
	struct emu_vm *v = emu_vm_of(c);
	if (page_has_code(v, gpa))
		block_invalidate_page(v, gpa >> 12, c);
	if (((gpa + size - 1) >> 12) != (gpa >> 12) && page_has_code(v, gpa + size - 1))
		block_invalidate_page(v, (gpa + size - 1) >> 12, c);
	memcpy(h, &val, size);
}

/* ---- the page walk */

struct walk {
	uint64_t gpa;       /* of the 4 KiB page containing lin */
	bool us, rw, nx, dirty, global, large;
};

static void __attribute__((noreturn)) page_fault(struct emu_cpu *c, uint64_t lin, uint32_t err)
{
	c->s.cr2 = lin;
	raise_fault(c, 14, true, err);
}

static uint64_t rsvd_mask(struct emu_cpu *c)
{
	uint64_t m = ~((1ull << PHYS_BITS) - 1) & ~PTE_NX & 0x000fffffffffffffull;
	if (!(c->s.msr.efer & EFER_NXE))
		m |= PTE_NX;
	return m;
}

/* Reads an entry, checks present/reserved, accumulates rights, sets A. */
static uint64_t walk_entry(struct emu_cpu *c, uint64_t addr, int esize, struct walk *w,
			   uint64_t lin, uint32_t err, bool rights, bool *fail)
{
	uint64_t e = phys_read(c, addr, esize);
	if (!(e & PTE_P)) {
		*fail = true;
		c->fault_err = err;
		return e;
	}
	if (esize == 8 && (e & rsvd_mask(c))) {
		*fail = true;
		c->fault_err = err | PF_P | PF_RSVD;
		return e;
	}
	(void)lin;
	if (rights) {
		w->us &= !!(e & PTE_US);
		w->rw &= !!(e & PTE_RW);
	}
	if (esize == 8 && (e & PTE_NX))
		w->nx = true;
	return e;
}

static void set_accessed(struct emu_cpu *c, uint64_t addr, int esize, uint64_t e, uint64_t bits)
{
	if ((e & bits) != bits)
		phys_write(c, addr, esize, e | bits);
}

/* Walks the tables for lin. On a fault with fault=true raises #PF, else
 * returns false. acc: ACC_R/W/X plus ACC_USER. */
static bool walk(struct emu_cpu *c, uint64_t lin, int acc, struct walk *w, bool fault)
{
	int kind = acc & 3;
	bool user = acc & ACC_USER;
	uint32_t err = (kind == ACC_W ? PF_W : 0) | (user ? PF_U : 0) |
		       (kind == ACC_X && (c->s.msr.efer & EFER_NXE) ? PF_I : 0);
	w->us = w->rw = true;
	w->nx = w->global = w->large = w->dirty = false;
	bool fail = false;
	uint64_t leaf, leaf_addr;
	int esize;
	uint64_t pagemask;  /* offset bits covered by the leaf */

	if (!(c->s.cr4 & CR4_PAE)) {
		esize = 4;
		uint64_t pde_a = (c->s.cr3 & 0xfffff000ull) + ((lin >> 22) & 0x3ff) * 4;
		uint64_t pde = walk_entry(c, pde_a, 4, w, lin, err, true, &fail);
		if (fail)
			goto out_fault;
		if ((pde & PTE_PS) && (c->s.cr4 & CR4_PSE)) {
			leaf = pde, leaf_addr = pde_a;
			pagemask = 0x3fffff;
			w->gpa = ((pde & 0xffc00000ull) | (((pde >> 13) & 0xff) << 32)) | (lin & 0x3ff000);
		} else {
			set_accessed(c, pde_a, 4, pde, PTE_A);
			leaf_addr = (pde & 0xfffff000ull) + ((lin >> 12) & 0x3ff) * 4;
			leaf = walk_entry(c, leaf_addr, 4, w, lin, err, true, &fail);
			if (fail)
				goto out_fault;
			pagemask = 0xfff;
			w->gpa = leaf & 0xfffff000ull;
		}
	} else {
		esize = 8;
		uint64_t table;
		int level;
		if (c->long_mode) {
			table = c->s.cr3 & ADDR_MASK;
			level = 4;
		} else {
			uint64_t a = (c->s.cr3 & 0xffffffe0ull) + ((lin >> 30) & 3) * 8;
			uint64_t pdpte = walk_entry(c, a, 8, w, lin, err, false, &fail);
			if (fail)
				goto out_fault;
			table = pdpte & ADDR_MASK;
			level = 2;
		}
		for (;; level--) {
			int shift = 12 + 9 * (level - 1);
			uint64_t a = table + ((lin >> shift) & 0x1ff) * 8;
			uint64_t e = walk_entry(c, a, 8, w, lin, err, true, &fail);
			if (fail)
				goto out_fault;
			if (level == 1 || ((e & PTE_PS) && level <= 3)) {
				leaf = e, leaf_addr = a;
				pagemask = (1ull << shift) - 1;
				uint64_t base = e & ADDR_MASK & ~pagemask;
				if (level > 1 && (e & ADDR_MASK & pagemask & ~0x1fffull)) {
					/* reserved low address bits of a large page */
					fail = true;
					c->fault_err = err | PF_P | PF_RSVD;
					goto out_fault;
				}
				w->gpa = base | (lin & pagemask & ~0xfffull);
				break;
			}
			set_accessed(c, a, 8, e, PTE_A);
			table = e & ADDR_MASK;
		}
	}
	w->large = pagemask != 0xfff;
	w->global = (leaf & PTE_G) && (c->s.cr4 & CR4_PGE);

	/* rights */
	bool nx = w->nx && (c->s.msr.efer & EFER_NXE);
	bool ok = true;
	if (user && !w->us)
		ok = false;
	if (kind == ACC_W && !w->rw && (user || (c->s.cr0 & CR0_WP)))
		ok = false;
	if (kind == ACC_X && nx)
		ok = false;
	if (!ok) {
		c->fault_err = err | PF_P;
		fail = true;
		goto out_fault;
	}
	uint64_t bits = PTE_A | (kind == ACC_W ? PTE_D : 0);
	set_accessed(c, leaf_addr, esize, leaf, bits);
	w->dirty = (leaf | bits) & PTE_D;
	w->nx = nx;
	return true;

out_fault:
	if (fault)
		page_fault(c, lin, c->fault_err);
	return false;
}

static bool translate(struct emu_cpu *c, uint64_t lin, int acc, uint64_t *gpa, bool fault,
		      bool *global)
{
	*global = false;
	if (!(c->s.cr0 & CR0_PG)) {
		*gpa = lin & 0xffffffffull;
		return true;
	}
	struct walk w;
	if (!walk(c, lin, acc, &w, fault))
		return false;
	*gpa = w.gpa | (lin & 0xfff);
	*global = w.global && (c->s.cr4 & CR4_PGE);
	return true;
}

bool paging_translate(struct emu_cpu *c, uint64_t lin, int acc, uint64_t *gpa, bool fault)
{
	bool global;
	return translate(c, lin, acc, gpa, fault, &global);
}

bool paging_translate_global(struct emu_cpu *c, uint64_t lin, int acc, uint64_t *gpa, bool *global)
{
	return translate(c, lin, acc, gpa, false, global);
}

/* Fills the TLB entry for lin after checking the access; faults raise. */
static struct tlb_entry *tlb_fill(struct emu_cpu *c, uint64_t lin, int acc)
{
	struct tlb_entry *e = &c->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	uint8_t perm;
	uint64_t gpa;
	bool global = false;
	c->st.tlb_fills++;
	if (!(c->s.cr0 & CR0_PG)) {
		gpa = lin & 0xfffff000ull;
		perm = 0x3f;
	} else {
		struct walk w;
		walk(c, lin, acc, &w, true);
		gpa = w.gpa;
		global = w.global;
		if (w.large)
			c->tlb_has_large = true;
		perm = TP_READ_S;
		if (w.us)
			perm |= TP_READ_U;
		if (w.dirty && (w.rw || !(c->s.cr0 & CR0_WP)))
			perm |= TP_WRITE_S;
		if (w.dirty && w.rw && w.us)
			perm |= TP_WRITE_U;
		if (!w.nx)
			perm |= TP_EXEC_S | (w.us ? TP_EXEC_U : 0);
	}
	struct emu_vm *v = emu_vm_of(c);
	if ((acc & 3) == ACC_W && page_has_code(v, gpa))
		block_invalidate_page(v, gpa >> 12, c);
	if (page_has_code(v, gpa))
		perm &= ~(TP_WRITE_S | TP_WRITE_U);
	/* a ROM page is read and run, never written: writes take the slow
	 * path, which drops them, as the bus does for a ROM */
	e->rom = gpa_is_rom(&c->vm->mem, gpa);
	if (e->rom)
		perm &= ~(TP_WRITE_S | TP_WRITE_U);
	e->tag = (lin & ~0xfffull) | 1;
	e->gpa = gpa;
	e->host = phys_host(c, gpa, 4096);
	e->perm = perm;
	e->global = global;
	static const uint8_t jtag_perm[4] = { TP_READ_S, TP_READ_U, TP_WRITE_S, TP_WRITE_U };
	for (int k = 0; k < 4; k++)
		e->jtag[k] = (e->host && (perm & jtag_perm[k])) ? e->tag : 0;
	return e;
}

/* n bytes within one page, RAM or MMIO, as one access. */
static uint64_t read_part(struct emu_cpu *c, uint64_t lin, int n, bool user)
{
	struct tlb_entry *e = tlb_fill(c, lin, ACC_R | (user ? ACC_USER : 0));
	if (!e->host)
		return mmio_read(c, e->gpa | (lin & 0xfff), n);
	uint64_t v = 0;
	memcpy(&v, e->host + (lin & 0xfff), n);
	return v;
}

static uint64_t lin_read_slow(struct emu_cpu *c, uint64_t lin, int size, bool user)
{
	if (((lin & 0xfff) + size) > 4096) {
		/* split at the page boundary, as the hardware splits the access */
		int first = 4096 - (lin & 0xfff);
		uint64_t lo = read_part(c, lin, first, user);
		uint64_t hi = read_part(c, lin + first, size - first, user);
		return lo | (hi << (8 * first));
	}
	struct tlb_entry *e = tlb_fill(c, lin, ACC_R | (user ? ACC_USER : 0));
	if (!e->host)
		return mmio_read(c, e->gpa | (lin & 0xfff), size);
	uint64_t v = 0;
	memcpy(&v, e->host + (lin & 0xfff), size);
	return v;
}

/* Constant-size copies, so the fast paths compile to single moves. */
uint64_t lin_read(struct emu_cpu *c, uint64_t lin, int size, bool user)
{
	struct tlb_entry *e = &c->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	uint8_t need = user ? TP_READ_U : TP_READ_S;
	if (e->tag == ((lin & ~0xfffull) | 1) && (e->perm & need) && e->host &&
	    (lin & 0xfff) + size <= 4096)
		return host_load(e->host + (lin & 0xfff), size);
	return lin_read_slow(c, lin, size, user);
}

static void write_part(struct emu_cpu *c, uint64_t lin, int n, uint64_t val, bool user)
{
	struct tlb_entry *e = tlb_fill(c, lin, ACC_W | (user ? ACC_USER : 0));
	if (!e->host)
		mmio_write(c, e->gpa | (lin & 0xfff), n, val);
	else if (!e->rom)
		memcpy(e->host + (lin & 0xfff), &val, n);
}

static void lin_write_slow(struct emu_cpu *c, uint64_t lin, int size, uint64_t val, bool user)
{
	if (((lin & 0xfff) + size) > 4096) {
		/* check both pages before writing either, so a fault leaves memory as it was */
		int first = 4096 - (lin & 0xfff);
		tlb_fill(c, lin, ACC_W | (user ? ACC_USER : 0));
		tlb_fill(c, lin + first, ACC_W | (user ? ACC_USER : 0));
		write_part(c, lin, first, val, user);
		write_part(c, lin + first, size - first, val >> (8 * first), user);
		return;
	}
	struct tlb_entry *e = tlb_fill(c, lin, ACC_W | (user ? ACC_USER : 0));
	if (!e->host) {
		mmio_write(c, e->gpa | (lin & 0xfff), size, val);
		return;
	}
	if (!e->rom)
		memcpy(e->host + (lin & 0xfff), &val, size);
}

void lin_write(struct emu_cpu *c, uint64_t lin, int size, uint64_t val, bool user)
{
	struct tlb_entry *e = &c->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	uint8_t need = user ? TP_WRITE_U : TP_WRITE_S;
	if (e->tag == ((lin & ~0xfffull) | 1) && (e->perm & need) && e->host &&
	    (lin & 0xfff) + size <= 4096) {
		host_store(e->host + (lin & 0xfff), size, val);
		return;
	}
	lin_write_slow(c, lin, size, val, user);
}

uint8_t *fetch_ptr(struct emu_cpu *c, uint64_t lin, uint64_t *gpa)
{
	struct tlb_entry *e = &c->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	bool user = c->cpl == 3;
	uint8_t need = user ? TP_EXEC_U : TP_EXEC_S;
	if (!(e->tag == ((lin & ~0xfffull) | 1) && (e->perm & need)))
		e = tlb_fill(c, lin, ACC_X | (user ? ACC_USER : 0));
	*gpa = e->gpa | (lin & 0xfff);
	return e->host ? e->host + (lin & 0xfff) : NULL;
}

/* Host address of len bytes at lin within one page of RAM that this access
 * may use, or NULL (MMIO, or the span crosses a page): the string fast
 * paths copy whole spans at once. Faults like the first byte's access. */
uint8_t *lin_host_span(struct emu_cpu *c, uint64_t lin, uint64_t len, bool write, bool user)
{
	if ((lin & 0xfff) + len > 4096)
		return NULL;
	struct tlb_entry *e = &c->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	uint8_t need = write ? (user ? TP_WRITE_U : TP_WRITE_S) : (user ? TP_READ_U : TP_READ_S);
	if (!(e->tag == ((lin & ~0xfffull) | 1) && (e->perm & need)))
		e = tlb_fill(c, lin, (write ? ACC_W : ACC_R) | (user ? ACC_USER : 0));
	return e->host && !(write && e->rom) ? e->host + (lin & 0xfff) : NULL;
}
