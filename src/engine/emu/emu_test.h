/* Test support for the emulation engine, header-only so it costs the
 * popek binary nothing: a hand-built machine (RAM at 0, no devices), a
 * standard GDT, page tables and register states for each CPU mode, and an
 * assembler wrapper around nasm for writing snippets in the tests. */
#ifndef POPEK_EMU_TEST_H
#define POPEK_EMU_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"
#include "vm.h"

extern const struct engine engine_emu;

/* Guest-physical layout used by the snippets. */
#define ET_GDT   0x0500ull
#define ET_TSS   0x0600ull
#define ET_IDT   0x0800ull    /* 256 16-byte gates fit below 0x1800 */
#define ET_CODE  0x2000ull
#define ET_STACK 0x70000ull
#define ET_PML4  0x80000ull   /* 0x80000..0x85fff: page tables */
#define ET_DATA  0x100000ull

/* Selectors of the standard GDT. */
#define ET_CS32 0x08
#define ET_DS   0x10
#define ET_CS64 0x18
#define ET_UDS  0x23
#define ET_UCS32 0x2b
#define ET_UCS64 0x33
#define ET_TSSSEL 0x38
#define ET_CS16 0x48
#define ET_DS16 0x50

struct emu_test {
	struct vm *vm;
	struct vcpu *cpu;
	uint8_t *ram;
	uint64_t ram_size;
	struct cpu_state st;
	struct vm_exit exit;
};

static inline int et_init(struct emu_test *t, uint64_t ram_size)
{
	char err[256];
	memset(t, 0, sizeof(*t));
	t->vm = calloc(1, sizeof(*t->vm));
	if (!t->vm)
		return -1;
	t->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->ram == MAP_FAILED)
		return -1;
	t->ram_size = ram_size;
	t->vm->mem.nregions = 1;
	t->vm->mem.region[0].gpa = 0;
	t->vm->mem.region[0].size = ram_size;
	t->vm->mem.region[0].host = t->ram;
	t->vm->mem.ram_size = ram_size;
	t->vm->engine = &engine_emu;
	t->vm->ncpus = 1;
	if (engine_emu.vm_create(t->vm, err, sizeof(err)) < 0)
		return -1;
	t->cpu = &t->vm->vcpu[0];
	t->cpu->vm = t->vm;
	t->cpu->index = 0;
	return engine_emu.vcpu_create(t->cpu, err, sizeof(err));
}

static inline void et_free(struct emu_test *t)
{
	engine_emu.vcpu_destroy(t->cpu);
	engine_emu.vm_destroy(t->vm);
	munmap(t->ram, t->ram_size);
	free(t->vm);
}

static inline void et_w64(struct emu_test *t, uint64_t gpa, uint64_t v)
{
	memcpy(t->ram + gpa, &v, 8);
}

static inline uint64_t et_r64(struct emu_test *t, uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, t->ram + gpa, 8);
	return v;
}

static inline uint32_t et_r32(struct emu_test *t, uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, t->ram + gpa, 4);
	return v;
}

static inline void et_seg(struct segment *s, uint16_t sel, uint8_t type, int dpl, int l, int db)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->s = 1;
	s->dpl = dpl;
	s->present = 1;
	s->l = l;
	s->db = db;
	s->g = 1;
}

static inline void et_gdt(struct emu_test *t)
{
	et_w64(t, ET_GDT + 0x00, 0);
	et_w64(t, ET_GDT + 0x08, 0x00cf9b000000ffffull);
	et_w64(t, ET_GDT + 0x10, 0x00cf93000000ffffull);
	et_w64(t, ET_GDT + 0x18, 0x00af9b000000ffffull);
	et_w64(t, ET_GDT + 0x20, 0x00cff3000000ffffull);
	et_w64(t, ET_GDT + 0x28, 0x00cffb000000ffffull);
	et_w64(t, ET_GDT + 0x30, 0x00affb000000ffffull);
	/* 64-bit TSS at ET_TSS, limit 0x67 (16 bytes) */
	uint64_t b = ET_TSS;
	et_w64(t, ET_GDT + 0x38, 0x67 | (b & 0xffffff) << 16 | 0x89ull << 40 | ((b >> 24) & 0xff) << 56);
	et_w64(t, ET_GDT + 0x40, b >> 32);
	et_w64(t, ET_GDT + 0x48, 0x00009b000000ffffull);  /* 16-bit code */
	et_w64(t, ET_GDT + 0x50, 0x000093000000ffffull);  /* 16-bit data */
}

/* Identity-maps the first 1 GiB with 2 MiB pages, user-accessible. */
static inline void et_page_tables64(struct emu_test *t)
{
	et_w64(t, ET_PML4, (ET_PML4 + 0x1000) | 7);
	et_w64(t, ET_PML4 + 0x1000, (ET_PML4 + 0x2000) | 7);
	for (uint64_t k = 0; k < 512; k++)
		et_w64(t, ET_PML4 + 0x2000 + k * 8, (k << 21) | 0x87);
}

static inline void et_state_common(struct cpu_state *s)
{
	memset(s, 0, sizeof(*s));
	s->rflags = 2;
	s->gdt.base = ET_GDT;
	s->gdt.limit = 0x57;
	s->idt.base = ET_IDT;
	s->idt.limit = 0xfff;
	s->seg[SEG_LDT].unusable = 1;
	s->seg[SEG_TR].selector = ET_TSSSEL;
	s->seg[SEG_TR].base = ET_TSS;
	s->seg[SEG_TR].limit = 0x67;
	s->seg[SEG_TR].type = 11;
	s->seg[SEG_TR].present = 1;
	s->cr0 = CR0_ET | CR0_NE;
	s->fpu.fcw = 0x37f;
	s->fpu.mxcsr = 0x1f80;
	s->gpr[RSP] = ET_STACK;
	s->rip = ET_CODE;
}

/* 32-bit flat protected mode, paging off, CPL 0: where multiboot starts. */
static inline void et_state_pm32(struct cpu_state *s)
{
	et_state_common(s);
	s->cr0 |= CR0_PE;
	et_seg(&s->seg[SEG_CS], ET_CS32, 0xb, 0, 0, 1);
	for (int k = 0; k < SEG_LDT; k++)
		if (k != SEG_CS)
			et_seg(&s->seg[k], ET_DS, 3, 0, 0, 1);
}

/* 64-bit mode with the identity map; cpl 0 or 3. */
static inline void et_state_long(struct emu_test *t, struct cpu_state *s, int cpl)
{
	et_page_tables64(t);
	et_state_common(s);
	s->cr0 |= CR0_PE | CR0_PG | CR0_WP;
	s->cr4 = CR4_PAE | CR4_OSFXSR;
	s->cr3 = ET_PML4;
	s->msr.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
	et_seg(&s->seg[SEG_CS], cpl ? ET_UCS64 : ET_CS64, 0xb, cpl, 1, 0);
	for (int k = 0; k < SEG_LDT; k++)
		if (k != SEG_CS)
			et_seg(&s->seg[k], cpl ? ET_UDS : ET_DS, 3, cpl, 0, 1);
}

static inline void et_state_real(struct cpu_state *s)
{
	et_state_common(s);
	for (int k = 0; k < SEG_LDT; k++) {
		struct segment *g = &s->seg[k];
		memset(g, 0, sizeof(*g));
		g->limit = 0xffff;
		g->type = k == SEG_CS ? 0xb : 3;
		g->s = 1;
		g->present = 1;
	}
	s->idt.base = 0;
	s->idt.limit = 0x3ff;
	s->gpr[RSP] = 0x7000;
}

/* Every vector goes to a HLT at ET_CODE + 0x1000 (32-bit or 64-bit gates;
 * outside long mode the real-mode IVT at 0 points there too): for random
 * code, whose faults must end in a halt rather than run on. */
static inline void et_idt_all_halt(struct emu_test *t, bool long_mode)
{
	uint64_t h = ET_CODE + 0x1000;
	t->ram[h] = 0xf4;
	t->ram[h + 1] = 0xeb;  /* jmp back to the hlt */
	t->ram[h + 2] = 0xfd;
	for (int v = 0; v < 256; v++) {
		if (long_mode) {
			uint64_t lo = (h & 0xffff) | ((uint64_t)ET_CS64 << 16) | (0xeeull << 40) |
				      (((h >> 16) & 0xffff) << 48);
			et_w64(t, ET_IDT + v * 16, lo);
			et_w64(t, ET_IDT + v * 16 + 8, 0);
		} else {
			uint64_t g = (h & 0xffff) | ((uint64_t)ET_CS32 << 16) | (0xeeull << 40) |
				     ((h >> 16) << 48);
			et_w64(t, ET_IDT + v * 8, g);
		}
		uint32_t ivt = (uint32_t)h;
		if (!long_mode)
			memcpy(t->ram + v * 4, &ivt, 4);
	}
}

/* A machine for random code in one of three modes (0 real mode, 1 32-bit
 * protected mode at CPL 0, 2 64-bit mode at CPL 3 with RSP0 in the TSS):
 * the first MiB of RAM cleared, the standard GDT, every vector halting,
 * and the register state in *st (RIP at ET_CODE). */
static inline void et_state_random_code(struct emu_test *t, struct cpu_state *st, int mode)
{
	memset(t->ram, 0, t->ram_size < 0x100000 ? t->ram_size : 0x100000);
	et_gdt(t);
	switch (mode) {
	case 0:
		et_state_real(st);
		et_idt_all_halt(t, false);
		break;
	case 1:
		et_state_pm32(st);
		et_idt_all_halt(t, false);
		break;
	default:
		et_state_long(t, st, 3);
		et_idt_all_halt(t, true);
		et_w64(t, ET_TSS + 4, 0x60000);
		st->gpr[RSP] = 0x50000;
		break;
	}
}

/* Assembles src with nasm into out; returns the length, -1 without nasm. */
static inline int et_asm(const char *src, uint8_t *out, size_t cap)
{
	char dir[] = "/tmp/emu_test_XXXXXX";
	if (!mkdtemp(dir))
		return -1;
	char in[64], bin[64], cmd[256];
	snprintf(in, sizeof(in), "%s/a.asm", dir);
	snprintf(bin, sizeof(bin), "%s/a.bin", dir);
	FILE *f = fopen(in, "w");
	if (!f)
		return -1;
	fputs(src, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "nasm -f bin -o %s %s", bin, in);
	int rc = system(cmd);
	int n = -1;
	if (rc == 0 && (f = fopen(bin, "rb"))) {
		n = (int)fread(out, 1, cap, f);
		fclose(f);
	}
	unlink(in);
	unlink(bin);
	rmdir(dir);
	return n;
}

static inline int et_have_nasm(void)
{
	return system("nasm -v >/dev/null 2>&1") == 0;
}

/* Assembles and places code at gpa; -1 on failure. */
static inline int et_load_asm(struct emu_test *t, uint64_t gpa, const char *src)
{
	uint8_t buf[65536];
	int n = et_asm(src, buf, sizeof(buf));
	if (n < 0)
		return -1;
	memcpy(t->ram + gpa, buf, n);
	return n;
}

static inline void et_set(struct emu_test *t)
{
	engine_emu.set_state(t->cpu, &t->st);
}

/* Runs until an exit; the state afterwards is in t->st. */
static inline enum exit_reason et_run(struct emu_test *t)
{
	engine_emu.run(t->cpu, &t->exit);
	engine_emu.get_state(t->cpu, &t->st);
	return t->exit.reason;
}

#endif
