/* The decoded-block cache: straight-line runs of decoded instructions
 * keyed by guest-physical address and decode mode, so code is decoded once
 * however many linear mappings it has. Blocks never cross a 4 KiB page;
 * each page with code lists its blocks, and any write to the page (through
 * any mapping, or by the CPU's own structure updates) drops them. Memory
 * comes from an arena that is reset wholesale when full, only between
 * blocks, so an invalidated block being executed stays readable. */
#include <stdlib.h>
#include <string.h>

#include "engine/emu/emu.h"

#define HASH_SIZE 65536   /* a bucket per block the cache can hold (MAX_BLOCKS) */
#define ARENA_INSNS (1u << 18)
#define MAX_BLOCKS (1u << 16)
#define BLOCK_MAX 64

static unsigned hash_of(uint64_t gpa, uint32_t mode)
{
	uint64_t h = (gpa ^ ((uint64_t)mode << 60)) * 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> 48) & (HASH_SIZE - 1);
}

int block_cache_init(struct emu_vm *v, uint64_t max_gpa)
{
	v->npages = (max_gpa + 4095) >> 12;
	v->hash = calloc(HASH_SIZE, sizeof(*v->hash));
	v->page_blocks = calloc(v->npages ? v->npages : 1, sizeof(*v->page_blocks));
	v->arena = malloc(ARENA_INSNS * sizeof(*v->arena));
	v->blocks = malloc(MAX_BLOCKS * sizeof(*v->blocks));
	v->code_cap = 1024;
	v->code_pfns = malloc(v->code_cap * sizeof(*v->code_pfns));
	v->arena_cap = ARENA_INSNS;
	v->blocks_cap = MAX_BLOCKS;
	if (!v->hash || !v->page_blocks || !v->arena || !v->blocks || !v->code_pfns)
		return -1;
	return jit_init(v);
}

void block_cache_free(struct emu_vm *v)
{
	free(v->hash);
	free(v->page_blocks);
	free(v->arena);
	free(v->blocks);
	free(v->code_pfns);
	jit_free(v);
}

void block_flush_all(struct emu_vm *v)
{
	memset(v->hash, 0, HASH_SIZE * sizeof(*v->hash));
	for (uint64_t k = 0; k < v->ncode; k++)
		v->page_blocks[v->code_pfns[k]] = NULL;
	v->ncode = 0;
	v->arena_used = 0;
	v->nblocks = 0;
	v->jit_used = v->jit_glue;
	v->flushes++;
	v->gen++;
}

static void unlink_hash(struct emu_vm *v, struct block *b)
{
	struct block **pp = &v->hash[hash_of(b->gpa, b->mode)];
	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = b->hnext;
}

void block_invalidate_page(struct emu_vm *v, uint64_t pfn, struct emu_cpu *c)
{
	if (pfn >= v->npages)
		return;
	if (v->watch && v->watch[pfn]) {
		v->watch[pfn] = 0;
		v->watch_write(v->watch_opaque, pfn);
	}
	if (v->page_blocks[pfn])
		v->inval_pages++;
	for (struct block *b = v->page_blocks[pfn]; b; b = b->pnext) {
		v->inval_blocks++;
		b->valid = false;
		unlink_hash(v, b);
		if (c && (c->cur_block == b || c->in_jit))
			c->stop |= STOP_SMC;
	}
	v->page_blocks[pfn] = NULL;
}

static void mark_code_page(struct emu_cpu *c, struct emu_vm *v, uint64_t pfn)
{
	if (v->ncode == v->code_cap) {
		uint32_t *n = realloc(v->code_pfns, 2 * v->code_cap * sizeof(*n));
		if (!n)
			emu_internal(c, "out of memory for the code-page list");
		v->code_pfns = n;
		v->code_cap *= 2;
	}
	v->code_pfns[v->ncode++] = (uint32_t)pfn;
	/* writes to this page must now take the slow path */
	tlb_drop_write(c, pfn << 12);
	if (v->code_added)
		v->code_added(v->watch_opaque, pfn);
}

/* Code outside RAM (unbacked addresses, device MMIO): nothing there
 * answers a fetch as code, the bus reads all ones, and FF FF is no
 * instruction (FF /7) — a guest that jumps there gets #UD, as on
 * hardware, not an engine error. */
static _Noreturn void fetch_outside_ram(struct emu_cpu *c)
{
	raise_ud(c);
}

/* Fetches the bytes of one instruction that crosses into the next page. */
static int decode_crossing(struct emu_cpu *c, struct insn *i, uint64_t lin, int mode)
{
	uint8_t buf[15];
	int first = 4096 - (lin & 0xfff);
	uint64_t gpa;
	uint8_t *h = fetch_ptr(c, lin, &gpa);
	if (!h)
		fetch_outside_ram(c);
	memcpy(buf, h, first);
	int n = decode_insn(i, buf, first, mode);
	if (n > 0)
		return n;
	h = fetch_ptr(c, lin + first, &gpa);
	if (h)
		memcpy(buf + first, h, 15 - first);
	else
		memset(buf + first, 0xff, 15 - first);   /* the bus's all-ones, as below */
	n = decode_insn(i, buf, 15, mode);
	if (n < 0)
		raise_gp(c, 0);
	return n;
}

static int cpu_mode(struct emu_cpu *c)
{
	if (c->code64)
		return MODE_64;
	return c->s.seg[SEG_CS].db ? MODE_32 : MODE_16;
}

static struct block *lookup_or_decode(struct emu_cpu *c, struct emu_vm *v, uint64_t lin);

struct block *block_find(struct emu_cpu *c)
{
	struct emu_vm *v = emu_vm_of(c);
	uint64_t rip = c->s.rip;
	if (!c->code64 && rip > c->s.seg[SEG_CS].limit)
		raise_gp(c, 0);
	uint64_t lin = c->s.seg[SEG_CS].base + rip;
	if (!c->long_mode)
		lin &= 0xffffffffull;
	uint32_t key = (uint32_t)cpu_mode(c) | (uint32_t)c->cpl << 4;
	struct bcache_entry *e = &c->bcache[(lin ^ (lin >> 10)) & (BCACHE_SIZE - 1)];
	if (e->lin == lin && e->key == key && e->tlb_gen == c->tlb_gen && e->vm_gen == v->gen &&
	    e->b && e->b->valid) {
		c->st.bcache_hits++;
		return e->b;
	}
	struct block *b = lookup_or_decode(c, v, lin);
	if (b->valid) {
		e->lin = lin;
		e->key = key;
		e->tlb_gen = c->tlb_gen;
		e->vm_gen = v->gen;
		e->b = b;
	}
	return b;
}

/* The physical hash, and the decoder when the block is new. */
static struct block *lookup_or_decode(struct emu_cpu *c, struct emu_vm *v, uint64_t lin)
{
	uint64_t gpa;
	uint8_t *host = fetch_ptr(c, lin, &gpa);
	if (!host)
		fetch_outside_ram(c);
	int mode = cpu_mode(c);
	for (struct block *b = v->hash[hash_of(gpa, mode)]; b; b = b->hnext)
		if (b->gpa == gpa && b->mode == (uint32_t)mode) {
			c->st.hash_hits++;
			return b;
		}
	c->st.decoded++;

	if (v->arena_used + BLOCK_MAX > v->arena_cap || v->nblocks >= v->blocks_cap || jit_needs_flush(v))
		block_flush_all(v);
	struct insn *ins = v->arena + v->arena_used;
	int avail = 4096 - (gpa & 0xfff), off = 0, n = 0;
	while (n < BLOCK_MAX) {
		int len = decode_insn(&ins[n], host + off, avail - off, mode);
		if (len < 0)
			break;  /* too long: decode_crossing-free #GP happens below */
		if (len == 0)
			break;
		off += len;
		n++;
		if (insn_ends_block(&ins[n - 1]) || off >= avail)
			break;
	}
	if (n == 0) {
		/* the first instruction crosses the page (or is too long): decode
		 * it alone every time rather than cache bytes from two pages */
		struct block *t = &c->tmp_block;
		struct insn *ti = &c->tmp_insn;
		if (avail >= 15) {
			if (decode_insn(ti, host, 15, mode) < 0)
				raise_gp(c, 0);
		} else {
			decode_crossing(c, ti, lin, mode);
		}
		t->gpa = gpa;
		t->mode = mode;
		t->n = 1;
		t->valid = false;
		t->insn = ti;
		t->jit = NULL;
		t->jit_tried = true;
		return t;
	}
	struct block *b = &v->blocks[v->nblocks++];
	v->arena_used += n;
	b->gpa = gpa;
	b->mode = mode;
	b->n = n;
	b->valid = true;
	b->insn = ins;
	b->jit = NULL;
	b->jit_body = NULL;
	b->jit_tried = false;
	b->runs = 0;
	memset(b->link, 0, sizeof(b->link));
	b->link[0].mode = b->link[1].mode = (uint32_t)mode;
	unsigned h = hash_of(gpa, mode);
	b->hnext = v->hash[h];
	v->hash[h] = b;
	uint64_t pfn = gpa >> 12;
	if (pfn < v->npages) {
		if (!v->page_blocks[pfn])
			mark_code_page(c, v, pfn);
		b->pnext = v->page_blocks[pfn];
		v->page_blocks[pfn] = b;
	}
	return b;
}
