/* Trap sites: every trap is counted at the guest linear address of the
 * instruction that trapped, with what that instruction is and whether it
 * traps because the scanner patched it (a sensitive instruction that would
 * not trap at ring 3) or by itself (a privileged one, a page fault). This
 * is what tells which instructions an in-stub answer or an inline patch
 * would pay for (issue 11: "every trap site is counted"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/raw/raw.h"

static const char *group7_name(const struct insn *i)
{
	static const char *const mem[8] = { "SGDT", "SIDT", "LGDT", "LIDT", "SMSW", "0F 01 /5", "LMSW", "INVLPG" };
	if (i->mod != 3 || (i->reg & 7) == 4 || (i->reg & 7) == 6)
		return mem[i->reg & 7];
	return (i->reg & 7) == 7 && (i->rm & 7) == 1 ? "RDTSCP" : "0F 01 (register form)";
}

/* A name for the instruction, as a trap-site table reads best. */
const char *raw_insn_name(const struct insn *i)
{
	static const char *const grp6[8] = { "SLDT", "STR", "LLDT", "LTR", "VERR", "VERW", "0F 00 /6", "0F 00 /7" };
	static const char *const grpff[8] = { "INC", "DEC", "CALL indirect", "CALL far indirect",
					      "JMP indirect", "JMP far indirect", "PUSH", "FF /7" };
	switch (i->op) {
	case 0x06: case 0x0e: case 0x16: case 0x1e: case 0x1a0: case 0x1a8: return "PUSH Sreg";
	case 0x07: case 0x17: case 0x1f: case 0x1a1: case 0x1a9: return "POP Sreg";
	case 0x8c: return "MOV from Sreg";
	case 0x8e: return "MOV to Sreg";
	case 0xc4: case 0xc5: case 0x1b2: case 0x1b4: case 0x1b5: return "LES/LDS/LSS/LFS/LGS";
	case 0x9a: return "CALL far";
	case 0xea: return "JMP far";
	case 0xca: case 0xcb: return "RET far";
	case 0xc2: return "RET imm16";
	case 0xcf: return "IRET";
	case 0x9c: return "PUSHF";
	case 0x9d: return "POPF";
	case 0xfa: return "CLI";
	case 0xfb: return "STI";
	case 0xf4: return "HLT";
	case 0xcc: return "INT3";
	case 0xcd: return "INT n";
	case 0xce: return "INTO";
	case 0xe4: case 0xe5: case 0xec: case 0xed: return "IN";
	case 0xe6: case 0xe7: case 0xee: case 0xef: return "OUT";
	case 0x6c: case 0x6d: return "INS";
	case 0x6e: case 0x6f: return "OUTS";
	case 0xff: return grpff[i->reg & 7];
	case 0x100: return grp6[i->reg & 7];
	case 0x101: return group7_name(i);
	case 0x102: return "LAR";
	case 0x103: return "LSL";
	case 0x105: return "SYSCALL";
	case 0x106: return "CLTS";
	case 0x107: return "SYSRET";
	case 0x108: return "INVD";
	case 0x109: return "WBINVD";
	case 0x120: case 0x122: return "MOV CR";
	case 0x121: case 0x123: return "MOV DR";
	case 0x130: return "WRMSR";
	case 0x131: return "RDTSC";
	case 0x132: return "RDMSR";
	case 0x133: return "RDPMC";
	case 0x134: return "SYSENTER";
	case 0x135: return "SYSEXIT";
	case 0x1a2: return "CPUID";
	default: return NULL;   /* an ordinary instruction (a page fault's) */
	}
}

void raw_count_site(struct raw_cpu *r, uint32_t lin, int kind)
{
	const unsigned size = RAW_SITES;
	unsigned h = (lin * 2654435761u) % size;
	for (unsigned k = 0; k < 32; k++) {
		struct raw_site *s = &r->st.sites[(h + k) % size];
		if (s->count && (s->lin != lin || s->kind != kind))
			continue;
		if (!s->count) {
			/* a new site: what is there now (a later write to the page
			 * may change it; the first sight is what is reported) */
			s->lin = lin;
			s->kind = (uint8_t)kind;
			struct insn i;
			s->what = raw_decode_at(r, lin, &i) > 0 ? raw_insn_name(&i) : "(undecodable)";
			s->patched = raw_patched_at(r, lin);
		}
		s->count++;
		return;
	}
	r->st.sites_lost++;
}

static int site_cmp(const void *a, const void *b)
{
	const struct raw_site *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* Traps summed by instruction over the table, hottest first. */
struct by_what { const char *what; int kind; bool patched; uint64_t count; };

static int what_cmp(const void *a, const void *b)
{
	const struct by_what *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

void raw_print_sites(const struct raw_cpu *r, const char *const *kind_name, int fd)
{
	const struct raw_stats *t = &r->st;
	struct raw_site *sorted = malloc(sizeof(t->sites));
	struct by_what *by = calloc(RAW_SITES, sizeof(*by));
	if (!sorted || !by) {
		free(sorted);
		free(by);
		return;
	}
	memcpy(sorted, t->sites, sizeof(t->sites));
	qsort(sorted, RAW_SITES, sizeof(sorted[0]), site_cmp);
	unsigned nby = 0;
	for (unsigned k = 0; k < RAW_SITES && sorted[k].count; k++) {
		const struct raw_site *s = &sorted[k];
		unsigned j = 0;
		while (j < nby && !(by[j].kind == s->kind && by[j].patched == s->patched &&
				    (by[j].what == s->what || (by[j].what && s->what && !strcmp(by[j].what, s->what)))))
			j++;
		if (j == nby)
			by[nby++] = (struct by_what){ s->what, s->kind, s->patched, 0 };
		by[j].count += s->count;
	}
	qsort(by, nby, sizeof(by[0]), what_cmp);
	if (nby)
		dprintf(fd, "  traps by instruction    (trapping byte: the scanner's patch; else it traps by itself)\n");
	for (unsigned j = 0; j < nby && j < 16; j++)
		dprintf(fd, "    %-22s %-26s %10llu%s\n", by[j].what ? by[j].what : "-", kind_name[by[j].kind],
			(unsigned long long)by[j].count, by[j].patched ? "  trapping byte" : "");
	if (sorted[0].count)
		dprintf(fd, "  top trap sites (linear address, instruction, reason, count)\n");
	for (unsigned k = 0; k < RAW_TOP_SHOWN && sorted[k].count; k++)
		dprintf(fd, "    %#010x  %-22s %-26s %llu%s\n", sorted[k].lin,
			sorted[k].what ? sorted[k].what : "-", kind_name[sorted[k].kind],
			(unsigned long long)sorted[k].count, sorted[k].patched ? "  trapping byte" : "");
	if (t->sites_lost)
		dprintf(fd, "    (%llu traps at sites the table had no room for)\n",
			(unsigned long long)t->sites_lost);
	free(sorted);
	free(by);
}
