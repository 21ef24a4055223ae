/* Helpers over the canonical vCPU state that loaders, engines and the
 * machine share. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cpu_state.h"

void segment_flat(struct segment *s, uint16_t sel, uint8_t type, int code64, int db)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = 0;
	s->limit = 0xffffffff;
	s->type = type;
	s->s = 1;
	s->present = 1;
	s->dpl = sel & 3;
	s->l = code64 ? 1 : 0;
	s->db = (code64 || !db) ? 0 : 1;
	s->g = 1;
}

void segment_real(struct segment *s, uint16_t sel, int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->limit = 0xffff;
	s->type = code ? 0xb : 0x3;   /* accessed execute/read code, accessed read/write data */
	s->s = 1;
	s->present = 1;
}

/* SDM Vol. 3, table 9-1: processor state following power-up/reset. */
void cpu_state_reset(struct cpu_state *s)
{
	memset(s, 0, sizeof(*s));
	s->rip = 0xfff0;
	s->rflags = RFLAGS_FIXED;
	s->gpr[RDX] = 0x600;   /* family 6 stepping signature, as after reset */
	s->cr0 = CR0_ET | CR0_NW | CR0_CD;
	for (int i = 0; i < SEG_COUNT; i++)
		segment_real(&s->seg[i], 0, 0);
	s->seg[SEG_CS].selector = 0xf000;
	s->seg[SEG_CS].base = 0xffff0000;
	s->seg[SEG_CS].type = 0xb;
	s->seg[SEG_LDT].s = 0;
	s->seg[SEG_LDT].type = 2;
	s->seg[SEG_TR].s = 0;
	s->seg[SEG_TR].type = 3;   /* busy 16-bit TSS */
	s->gdt.limit = 0xffff;
	s->idt.limit = 0xffff;
	s->dr[6] = 0xffff0ff0;
	s->dr[7] = 0x400;
	s->xcr0 = 1;
	s->msr.apic_base = 0xfee00000 | (1 << 11) | (1 << 8);   /* enabled, BSP */
	s->msr.pat = 0x0007040600070406ull;
	s->fpu.fcw = 0x37f;
	s->fpu.mxcsr = 0x1f80;
}

static void dump_segment(FILE *f, const char *name, const struct segment *g)
{
	fprintf(f, "  %-3s sel=%04x base=%016llx limit=%08x type=%x s=%u dpl=%u p=%u l=%u db=%u g=%u\n",
		name, g->selector, (unsigned long long)g->base, g->limit, g->type, g->s, g->dpl,
		g->present, g->l, g->db, g->g);
}

void cpu_state_dump(const struct cpu_state *s, int fd)
{
	static const char *gpr_names[GPR_COUNT] = {
		"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
		"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
	};
	static const char *seg_names[SEG_COUNT] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDT", "TR" };
	char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	if (!f)
		return;
	fprintf(f, "  RIP=%016llx RSP=%016llx RFLAGS=%016llx\n", (unsigned long long)s->rip,
		(unsigned long long)s->gpr[RSP], (unsigned long long)s->rflags);
	for (int i = 0; i < GPR_COUNT; i++)
		fprintf(f, "  %-3s=%016llx%s", gpr_names[i], (unsigned long long)s->gpr[i],
			i % 4 == 3 ? "\n" : "");
	fprintf(f, "  CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx\n",
		(unsigned long long)s->cr0, (unsigned long long)s->cr2,
		(unsigned long long)s->cr3, (unsigned long long)s->cr4);
	fprintf(f, "  EFER=%016llx GDT=%016llx/%04x IDT=%016llx/%04x\n",
		(unsigned long long)s->msr.efer, (unsigned long long)s->gdt.base, s->gdt.limit,
		(unsigned long long)s->idt.base, s->idt.limit);
	for (int i = 0; i < SEG_COUNT; i++)
		dump_segment(f, seg_names[i], &s->seg[i]);
	fclose(f);
	buf[sizeof(buf) - 1] = 0;
	size_t len = strlen(buf), off = 0;
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}
