/* The raw engine's parts that need no stub process: selector translation
 * (descriptors.c), the code scanner (scan.c) on byte streams, and the
 * shadow page tables' answer to faults and to a guest PTE change followed
 * by INVLPG (shadow.c), on emu's test machine. */
#include <stdlib.h>

#include "check.h"
#include "engine/emu/emu_test.h"
#include "engine/raw/raw.h"

#define RAM (4u << 20)

static void test_descriptors(void)
{
	struct segment s;
	struct raw_desc d;
	et_seg(&s, 0x08, 0xb, 0, 0, 1);
	raw_desc_of(&s, SEG_CS, &d);
	CHECK_EQ(d.entry, SEG_CS + 1, "desc/slot-is-register-plus-one");
	CHECK_EQ(d.limit, 0xfffff, "desc/flat-code-limit-in-pages");
	CHECK_EQ(d.flags, 1u | (2u << 1) | 16u, "desc/flat-code-32bit-code-pages-readable");
	CHECK_EQ(raw_host_selector(SEG_CS), 0x17, "desc/host-selector-ldt-rpl3");
	CHECK(raw_segment_ok(&s, SEG_CS), "desc/flat-code-runs-natively");
	s.type = 0x8;   /* execute-only */
	raw_desc_of(&s, SEG_CS, &d);
	CHECK(d.flags & 8, "desc/execute-only-code-kept");
	s.type = 0xf;   /* conforming: the host takes no conforming LDT code */
	raw_desc_of(&s, SEG_CS, &d);
	CHECK_EQ((d.flags >> 1) & 3, 2, "desc/conforming-becomes-non-conforming");
	s.db = 0;
	CHECK(!raw_segment_ok(&s, SEG_CS), "desc/16-bit-code-goes-to-rem");
	et_seg(&s, 0x10, 0x1, 0, 0, 1);   /* read-only data */
	s.base = 0x12345000;
	s.limit = 0x1234;
	s.g = 0;
	raw_desc_of(&s, SEG_DS, &d);
	CHECK_EQ(d.base, 0x12345000, "desc/base-from-cache");
	CHECK_EQ(d.limit, 0x1234, "desc/byte-limit");
	CHECK_EQ(d.flags & (8 | 16), 8, "desc/read-only-byte-granular");
	CHECK(!raw_segment_ok(&s, SEG_SS), "desc/read-only-stack-goes-to-rem");
	s.limit = 0x12345abc;   /* not expressible: rounded down, never up */
	raw_desc_of(&s, SEG_DS, &d);
	CHECK_EQ(d.limit, 0x12345, "desc/page-limit-rounded-down");
	s.type = 0x7;   /* expand-down: its limit is a floor, rounded up */
	raw_desc_of(&s, SEG_DS, &d);
	CHECK_EQ((d.flags >> 1) & 3, 1, "desc/expand-down");
	CHECK_EQ(d.limit, 0x12346, "desc/expand-down-limit-rounded-up");
}

/* A raw vCPU around emu's test machine, without a stub: ops only queue. */
struct rig {
	struct emu_test t;
	struct emu_cpu *c;
	struct raw_cpu r;
	struct raw_ctrl ctrl;
};

static int rig_init(struct rig *g)
{
	memset(g, 0, sizeof(*g));
	if (et_init(&g->t, RAM) < 0)
		return -1;
	g->c = g->t.cpu->engine_priv;
	struct raw_cpu *r = &g->r;
	r->c = g->c;
	r->vm = g->t.vm;
	r->ctrl = &g->ctrl;
	char err[128];
	if (raw_shadow_init(r, err, sizeof(err)) != 0)
		return -1;
	r->code = calloc(r->npfn, sizeof(*r->code));
	r->patch_free = calloc(RAW_PATCH_PAGES, sizeof(*r->patch_free));
	r->patch_mem = calloc(16, 4096);   /* the scans below need few copies */
	r->scanq.pool = calloc(RAW_PENDING, sizeof(*r->scanq.pool));
	r->scanq.head = calloc(r->npfn, sizeof(*r->scanq.head));
	r->scanq.gen = calloc(r->npfn, sizeof(*r->scanq.gen));
	g->c->evm->watch = calloc(g->c->evm->npages, 1);
	g->c->outer = r;
	struct cpu_state *s = &g->t.st;
	et_state_common(s);
	et_state_pm32(s);
	engine_emu.set_state(g->t.cpu, s);
	return r->code && r->patch_mem && r->scanq.pool && r->scanq.head && r->scanq.gen &&
	       g->c->evm->watch ? 0 : -1;
}

static void rig_free(struct rig *g)
{
	g->r.ctrl = NULL;
	raw_scan_free(&g->r);
	raw_shadow_free(&g->r);
	free(g->r.patch_free);
	free(g->r.patch_mem);
	free(g->r.scanq.pool);
	free(g->r.scanq.head);
	free(g->r.scanq.gen);
	free(g->c->evm->watch);
	g->c->evm->watch = NULL;
	g->c->outer = NULL;
	et_free(&g->t);
}

static bool patched(const struct code_page *cp, unsigned off)
{
	return cp->patched[off >> 3] & (1u << (off & 7));
}

static void test_scanner(void)
{
	struct rig g;
	if (rig_init(&g) != 0) {
		CHECK(0, "scan/setup");
		return;
	}
	struct raw_cpu *r = &g.r;
	/* page 0x10: straight-line code with prefixes, a branch, a dead end */
	uint8_t *p = g.t.ram + 0x10000;
	static const uint8_t code[] = {
		0x90,                   /* 0x00 nop */
		0x9c,                   /* 0x01 pushf */
		0x66, 0x8c, 0xc8,       /* 0x02 mov %cs,%ax (operand-size prefix) */
		0x74, 0x07,             /* 0x05 jz 0x0e */
		0x0f, 0x01, 0x0d, 0x00, /* 0x07 sidt 0 */
		0x00, 0x00, 0x00,
		0xc3,                   /* 0x0e ret */
		0x9d,                   /* 0x0f popf: after RET, reached by nothing */
		0xc3,                   /* 0x10 ret */
	};
	memcpy(p, code, sizeof(code));
	memset(p + sizeof(code), 0xc3, 0x100);
	struct code_page *cp = raw_scan(r, 0x10, 0x10000);
	CHECK(cp != NULL, "scan/page-scanned");
	if (!cp) {
		rig_free(&g);
		return;
	}
	CHECK(!patched(cp, 0x00), "scan/nop-left-alone");
	CHECK(patched(cp, 0x01), "scan/pushf-patched");
	CHECK(patched(cp, 0x02), "scan/mov-from-cs-patched-at-its-prefix");
	CHECK(patched(cp, 0x07), "scan/sidt-patched");
	CHECK(!patched(cp, 0x0f), "scan/unreached-popf-not-patched");
	CHECK_EQ(cp->copy >= 0 ? r->patch_mem[((size_t)cp->copy << 12) + 0x01] : 0, 0xcc,
		 "scan/copy-holds-trapping-byte");
	CHECK_EQ(p[0x01], 0x9c, "scan/guest-ram-keeps-original");
	CHECK_EQ(cp->copy >= 0 ? r->patch_mem[((size_t)cp->copy << 12) + 0x00] : 0, 0x90,
		 "scan/copy-holds-the-rest");
	/* a later entry at the dead end scans it */
	raw_scan(r, 0x10, 0x1000f);
	CHECK(patched(cp, 0x0f), "scan/new-entry-scanned");
	/* an indirect call traps, a switch through a table does not */
	uint8_t *q = g.t.ram + 0x11000;
	static const uint8_t code2[] = {
		0xff, 0xd0,                          /* 0x00 call *%eax */
		0x83, 0xf8, 0x01,                    /* 0x02 cmp $1, %eax: the switch's bound */
		0x77, 0x07,                          /* 0x05 ja 0x0e */
		0xff, 0x24, 0x85, 0x00, 0x30, 0x01, 0x00, /* 0x07 jmp *0x13000(,%eax,4) */
		0xc3,                                /* 0x0e ret */
		0xff, 0x24, 0x85, 0x00, 0x30, 0x01, 0x00, /* 0x0f the same jump, no bound */
	};
	memcpy(q, code2, sizeof(code2));
	uint32_t table[2] = { 0x11100, 0x11200 };
	memcpy(g.t.ram + 0x13000, table, sizeof(table));
	uint32_t beyond = 0x11300;   /* past the bound: not a case */
	memcpy(g.t.ram + 0x13008, &beyond, 4);
	q[0x300] = 0x9c;
	q[0x100] = 0x0f, q[0x101] = 0xa2;   /* case 0: cpuid */
	q[0x102] = 0xc3;
	q[0x200] = 0xfa;                    /* case 1: cli (traps by itself) */
	q[0x201] = 0x1e;                    /* push %ds */
	q[0x202] = 0xc3;
	struct code_page *cp2 = raw_scan(r, 0x11, 0x11000);
	CHECK(cp2 && patched(cp2, 0x00), "scan/indirect-call-patched");
	CHECK(cp2 && !patched(cp2, 0x07), "scan/switch-jump-runs-natively");
	CHECK(cp2 && !patched(cp2, 0x300), "scan/switch-table-read-no-further-than-its-bound");
	raw_scan(r, 0x11, 0x1100f);
	CHECK(cp2 && patched(cp2, 0x0f), "scan/switch-without-bound-check-traps");
	CHECK(cp2 && patched(cp2, 0x100), "scan/switch-case-0-scanned");
	CHECK(cp2 && patched(cp2, 0x201) && !patched(cp2, 0x200), "scan/switch-case-1-scanned");
	/* an instruction across the page end: decoded with the next page */
	uint8_t *e = g.t.ram + 0x14000;
	e[0xffe] = 0x90;
	e[0xfff] = 0x0f;
	e[0x1000] = 0xa2;   /* cpuid, split over pages 0x14 and 0x15 */
	struct code_page *cp3 = raw_scan(r, 0x14, 0x14ffe);
	CHECK(cp3 && patched(cp3, 0xfff), "scan/instruction-across-page-end-patched");
	/* a branch into a page not yet run is kept for it */
	uint8_t *b = g.t.ram + 0x16000;
	b[0] = 0xe9;   /* jmp 0x18010 */
	uint32_t rel = 0x18010 - 0x16005;
	memcpy(b + 1, &rel, 4);
	g.t.ram[0x18010] = 0x9c;   /* pushf there */
	raw_scan(r, 0x16, 0x16000);
	struct code_page *cp4 = raw_scan(r, 0x18, 0x18000);   /* first run, elsewhere */
	CHECK(cp4 && patched(cp4, 0x10), "scan/earlier-branch-target-scanned-on-first-run");
	/* a branch kept for a page holds only while the page it was seen in
	 * keeps its record: dropped, its code may be gone (the frame reused),
	 * and the branch may point into the middle of the page's new code */
	uint8_t *d = g.t.ram + 0x1a000;
	d[0] = 0xe9;   /* jmp 0x1b00f */
	rel = 0x1b00f - 0x1a005;
	memcpy(d + 1, &rel, 4);
	raw_scan(r, 0x1a, 0x1a000);
	raw_code_drop(r, 0x1a);   /* page 0x1a written: that jump is gone */
	static const uint8_t code6[] = {
		0x83, 0xc4, 0x10,   /* 0x0e add $0x10,%esp: 0xc4 (LES) at 0x0f */
		0xc3,               /* 0x11 ret */
	};
	memcpy(g.t.ram + 0x1b00e, code6, sizeof(code6));
	g.t.ram[0x1b000] = 0xc3;   /* the page's first run enters at a RET */
	struct code_page *cp6 = raw_scan(r, 0x1b, 0x1b000);
	CHECK(cp6 && !patched(cp6, 0x0f), "scan/branch-from-dropped-page-not-followed");
	/* ... while one from a page that still holds its record is */
	g.t.ram[0x1c000] = 0xc3;
	g.t.ram[0x1c00f] = 0x9c;   /* pushf */
	rel = 0x1c00f - 0x1a005;
	raw_code_drop(r, 0x1a);
	memcpy(d + 1, &rel, 4);   /* the page rewritten: jmp 0x1c00f */
	raw_scan(r, 0x1a, 0x1a000);
	struct code_page *cp7 = raw_scan(r, 0x1c, 0x1c000);
	CHECK(cp7 && patched(cp7, 0x0f), "scan/branch-from-live-page-followed");
	/* a path that runs into the middle of a known instruction stops there */
	uint8_t *o = g.t.ram + 0x19000;
	static const uint8_t code5[] = {
		0xb8, 0x9c, 0x9c, 0x9c, 0x9c,   /* 0x00 mov $0x9c9c9c9c, %eax */
		0xc3,                           /* 0x05 ret */
	};
	memcpy(o, code5, sizeof(code5));
	struct code_page *cp5 = raw_scan(r, 0x19, 0x19000);
	raw_scan(r, 0x19, 0x19002);   /* an entry inside the immediate */
	CHECK(cp5 && !patched(cp5, 0x02) && !patched(cp5, 0x03), "scan/misaligned-path-patches-nothing (%#x %#x)",
	      cp5 ? cp5->patched[0] : 0, cp5 ? cp5->scanned[0] : 0);
	CHECK(r->st.conflicts > 0, "scan/conflict-counted");
	/* a write drops the page's record and its copy */
	raw_code_drop(r, 0x10);
	CHECK(r->code[0x10] == NULL && !g.c->evm->watch[0x10], "scan/write-drops-record-and-watch");
	CHECK(r->npatch_free == 1, "scan/copy-slot-freed");
	rig_free(&g);
}

static const struct raw_op *last_op(struct rig *g)
{
	return g->ctrl.nops ? &g->ctrl.ops[g->ctrl.nops - 1] : NULL;
}

static void test_shadow(void)
{
	struct rig g;
	if (rig_init(&g) != 0) {
		CHECK(0, "shadow/setup");
		return;
	}
	struct raw_cpu *r = &g.r;
	struct emu_cpu *c = g.c;
	/* 2-level paging: PD at 0x20000, PT at 0x21000 maps linear 0x400000+ */
	uint32_t pd = 0x20000, pt = 0x21000;
	uint32_t pde = pt | 0x7;             /* present, writable, user */
	memcpy(g.t.ram + pd + 1 * 4, &pde, 4);
	uint32_t pte = 0x30000 | 0x3;        /* present, writable, supervisor */
	memcpy(g.t.ram + pt + 5 * 4, &pte, 4);  /* linear 0x405000 -> 0x30000 */
	c->s.cr3 = pd;
	c->s.cr0 |= CR0_PG | CR0_PE;
	emu_update_mode(c);
	raw_shadow_sync(r);
	g.ctrl.nops = 0;
	CHECK_EQ(raw_shadow_fault(r, 0x405123, 0x4 /* read, user bit as the host sets it */), 1,
		 "shadow/read-fault-answered");
	const struct raw_op *o = last_op(&g);
	CHECK(o && o->kind == RAW_OP_MAP && o->lin == 0x405000 && o->prot == RAW_PROT_R,
	      "shadow/read-maps-read-only");
	CHECK(o && o->offset == gpa_fd_offset(&r->vm->mem, 0x30000), "shadow/maps-the-guest-physical-page");
	uint32_t now;
	memcpy(&now, g.t.ram + pt + 5 * 4, 4);
	CHECK((now & 0x60) == 0x20, "shadow/read-sets-accessed-not-dirty");
	CHECK_EQ(raw_shadow_fault(r, 0x405123, 0x6 /* write */), 1, "shadow/write-fault-answered");
	o = last_op(&g);
	CHECK(o && o->prot == (RAW_PROT_R | RAW_PROT_W), "shadow/write-maps-writable");
	memcpy(&now, g.t.ram + pt + 5 * 4, 4);
	CHECK(now & 0x40, "shadow/write-sets-dirty");
	/* the guest points the PTE elsewhere and flushes it with INVLPG */
	pte = 0x31000 | 0x3;
	memcpy(g.t.ram + pt + 5 * 4, &pte, 4);
	c->rem_inval[0] = 0x405000;
	c->rem_ninval = 1;
	g.ctrl.nops = 0;
	raw_shadow_sync(r);
	o = last_op(&g);
	CHECK(o && o->kind == RAW_OP_UNMAP && o->lin == 0x405000 && o->len == 4096,
	      "shadow/invlpg-unmaps-the-page");
	raw_shadow_fault(r, 0x405000, 0x4);
	o = last_op(&g);
	CHECK(o && o->offset == gpa_fd_offset(&r->vm->mem, 0x31000), "shadow/new-pte-mapped-after-invlpg");
	/* ring compression: entering guest user mode drops the supervisor page */
	g.ctrl.nops = 0;
	c->cpl = 3;
	raw_shadow_sync(r);
	o = last_op(&g);
	CHECK(o && o->kind == RAW_OP_UNMAP && o->lin == 0x405000, "shadow/user-mode-loses-supervisor-page");
	CHECK_EQ(raw_shadow_fault(r, 0x405000, 0x4), 0, "shadow/user-read-of-supervisor-page-goes-to-rem");
	/* a CR3 switch drops what is not global; a global page stays */
	c->cpl = 0;
	raw_shadow_sync(r);
	c->s.cr4 |= CR4_PGE;
	raw_shadow_sync(r);   /* a CR4.PGE change empties everything */
	uint32_t gpte = 0x32000 | 0x103;   /* present, writable, global */
	memcpy(g.t.ram + pt + 6 * 4, &gpte, 4);   /* linear 0x406000 */
	raw_shadow_fault(r, 0x405000, 0x4);
	raw_shadow_fault(r, 0x406000, 0x4);
	g.ctrl.nops = 0;
	c->s.cr3 = 0x20000 | 0x8;   /* the same tables, another CR3 value */
	raw_shadow_sync(r);
	bool dropped = false, kept = true;
	for (uint32_t k = 0; k < g.ctrl.nops; k++) {
		const struct raw_op *u = &g.ctrl.ops[k];
		if (u->kind == RAW_OP_UNMAP && u->lin <= 0x405000 && u->lin + u->len > 0x405000)
			dropped = true;
		if (u->kind == RAW_OP_UNMAP && u->lin <= 0x406000 && u->lin + u->len > 0x406000)
			kept = false;
	}
	CHECK(dropped, "shadow/cr3-switch-drops-non-global-page");
	CHECK(kept, "shadow/cr3-switch-keeps-global-page");
	CHECK_EQ(r->st.cr3_switches, 2, "shadow/cr3-switches-counted");
	c->s.cr4 &= ~CR4_PGE;
	g.ctrl.nops = 0;
	raw_shadow_sync(r);
	CHECK(g.ctrl.nops == 2 && g.ctrl.ops[0].kind == RAW_OP_UNMAP && g.ctrl.ops[0].lin == 0 &&
	      g.ctrl.ops[1].lin + g.ctrl.ops[1].len == RAW_LINEAR_END, "shadow/pge-off-flushes-all");
	rig_free(&g);
}

/* An instruction that starts on one page and ends on the next: when its
 * fetch faults on the second page, the fault address is that page's first
 * byte, which is no instruction start; the scan starts where the
 * instruction ends. */
static void test_straddling_fetch(void)
{
	struct rig g;
	if (rig_init(&g) != 0) {
		CHECK(0, "straddle/setup");
		return;
	}
	struct raw_cpu *r = &g.r;
	struct emu_cpu *c = g.c;
	static const uint8_t code[] = {
		0x83, 0xcf, 0x01,   /* 0x1cfff or $1,%edi: 0xcf (IRET) at 0x1d000 */
		0x9c,               /* 0x1d002 pushf */
		0xc3,               /* 0x1d003 ret */
	};
	memcpy(g.t.ram + 0x1cfff, code, sizeof(code));
	c->s.rip = 0x1cfff;
	raw_shadow_sync(r);
	CHECK_EQ(raw_shadow_fault(r, 0x1cfff, 0x14 /* fetch */), 1, "straddle/first-page-mapped");
	CHECK_EQ(raw_shadow_fault(r, 0x1d000, 0x14), 1, "straddle/second-page-mapped");
	const struct code_page *cp = r->code[0x1d];
	CHECK(cp && !patched(cp, 0x000), "straddle/instruction-tail-not-decoded-as-iret");
	CHECK(cp && patched(cp, 0x002), "straddle/scan-goes-on-after-the-instruction");
	rig_free(&g);
}

/* What the scanner tells the stub (proto.h): the instruction starts it
 * followed, and a kind per patched instruction, RAW_K_TRAP for those with
 * a prefix or of another kind; a drop clears both. */
static unsigned kind_of(const struct raw_cpu *r, uint64_t pfn, unsigned off)
{
	return (r->cinfo[pfn].kind[off >> 1] >> (4 * (off & 1))) & 15;
}

static void test_stub_tables(void)
{
	struct rig g;
	if (rig_init(&g) != 0) {
		CHECK(0, "tables/setup");
		return;
	}
	struct raw_cpu *r = &g.r;
	static const uint8_t code[] = {
		0x9c,               /* 0x00 pushf */
		0x66, 0x9c,         /* 0x01 pushfw: a prefix */
		0x0e,               /* 0x03 push %cs */
		0x0f, 0xa8,         /* 0x04 push %gs */
		0x0f, 0xa2,         /* 0x06 cpuid */
		0x74, 0x02,         /* 0x08 jz 0x0c */
		0xff, 0xe1,         /* 0x0a jmp *%ecx */
		0xcf,               /* 0x0c iret */
	};
	memcpy(g.t.ram + 0x20000, code, sizeof(code));
	struct code_page *cp = raw_scan(r, 0x20, 0x20000);
	CHECK(cp != NULL, "tables/page-scanned");
	CHECK_EQ(kind_of(r, 0x20, 0x00), RAW_K_PUSHF, "tables/pushf");
	CHECK_EQ(kind_of(r, 0x20, 0x01), RAW_K_TRAP, "tables/prefixed-pushf-traps-to-popek");
	CHECK_EQ(kind_of(r, 0x20, 0x03), RAW_K_PUSH_SREG + SEG_CS, "tables/push-cs");
	CHECK_EQ(kind_of(r, 0x20, 0x04), RAW_K_PUSH_SREG + SEG_GS, "tables/push-gs");
	CHECK_EQ(kind_of(r, 0x20, 0x06), RAW_K_TRAP, "tables/cpuid-traps-to-popek");
	CHECK_EQ(kind_of(r, 0x20, 0x08), RAW_K_NONE, "tables/branch-not-patched");
	CHECK_EQ(kind_of(r, 0x20, 0x0a), RAW_K_JMP_REG, "tables/jmp-register");
	CHECK_EQ(kind_of(r, 0x20, 0x0c), RAW_K_IRET, "tables/iret");
	CHECK(r->cinfo[0x20].scanned[0] & 1, "tables/entry-is-an-instruction-start");
	CHECK(!(r->cinfo[0x20].scanned[0] & 4), "tables/prefix-tail-is-no-start");
	CHECK(r->cinfo[0x20].scanned[1] & 0x10, "tables/branch-target-is-a-start");
	raw_code_drop(r, 0x20);
	CHECK_EQ(kind_of(r, 0x20, 0x00) | r->cinfo[0x20].scanned[0], 0, "tables/drop-clears-them");
	rig_free(&g);
}

/* A page with more in-page branch targets than any fixed work stack:
 * 400 JZ rel32 at the start, each to its own PUSHF further down. Every
 * target must be scanned and its PUSHF patched, or native code would
 * reach a PUSHF no scan saw. */
static void test_many_targets(void)
{
	struct rig g;
	if (rig_init(&g) != 0) {
		CHECK(0, "many-targets/setup");
		return;
	}
	struct raw_cpu *r = &g.r;
	uint8_t *p = g.t.ram + 0x21000;
	enum { N = 400, TGT = 6 * N + 1 };
	for (int k = 0; k < N; k++) {
		uint8_t *j = p + 6 * k;
		int32_t rel = (TGT + 4 * k) - (6 * k + 6);
		j[0] = 0x0f, j[1] = 0x84;
		memcpy(j + 2, &rel, 4);
		uint8_t *t = p + TGT + 4 * k;
		t[0] = 0x9c, t[1] = 0x90, t[2] = 0x90, t[3] = 0xc3;   /* pushf; nop; nop; ret */
	}
	p[6 * N] = 0xc3;
	struct code_page *cp = raw_scan(r, 0x21, 0x21000);
	CHECK(cp != NULL, "many-targets/page-scanned");
	int missed = 0;
	for (int k = 0; k < N; k++)
		missed += kind_of(r, 0x21, TGT + 4 * k) != RAW_K_PUSHF;
	CHECK_EQ(missed, 0, "many-targets/every-target-scanned-and-its-pushf-patched");
	rig_free(&g);
}

int main(void)
{
	test_descriptors();
	test_scanner();
	test_shadow();
	test_straddling_fetch();
	test_stub_tables();
	test_many_targets();
	return check_failures != 0;
}
