/* DAA DAS AAA AAS AAM AAD: 32-bit half only (invalid in 64-bit mode).
 *
 * Expected values follow the SDM's Operation sections:
 *  DAA/DAS: CF AF per the adjustment, SF ZF PF by result, OF undefined.
 *  AAA/AAS: AF = CF = adjustment made, OF SF ZF PF undefined. The current
 *    SDM adds 106H to AX (AAA) and subtracts 6 from AX then 1 from AH (AAS),
 *    so a carry/borrow out of AL reaches AH; older CPUs did AL and AH
 *    separately. The *_ax_carry cases pin the current text.
 *  AAM imm8: AH = AL / imm8, AL = AL mod imm8; SF ZF PF by AL; imm8 = 0 is #DE.
 *  AAD imm8: AL = (AL + AH * imm8) & FFH, AH = 0; SF ZF PF by AL. */
#include "general.h"
#include "fault.h"

#ifndef __x86_64__
/* AX and the flags in, AX and the flags out. */
#define BCD(fname, insn)                                                       \
	static ulong fname(ulong ax, ulong *fl)                                \
	{                                                                      \
		ulong f = FLAGS_LOAD(*fl);                                     \
		__asm__ volatile(FLAGS_IN insn FLAGS_OUT                       \
				 : "+a"(ax), [fl] "+r"(f)                      \
				 :                                             \
				 : "cc");                                      \
		*fl = f;                                                       \
		return ax & 0xffff;                                            \
	}
BCD(daa, "daa") BCD(das, "das") BCD(aaa, "aaa") BCD(aas, "aas")
BCD(aam10, "aam") BCD(aam16, "aam $16") BCD(aad10, "aad") BCD(aad16, "aad $16")

#define M_DAA (F_CF | F_AF | F_SZP)
#define M_AAA (F_CF | F_AF)
#define M_AAM F_SZP

struct bcd_case {
	const char *name;
	ulong (*fn)(ulong, ulong *);
	uint16_t ax;
	ulong fin;
	uint16_t res;
	ulong fout, mask;
};

static const struct bcd_case bcd_cases[] = {
	/* 79 + 35 = AE after ADD; DAA makes it BCD 14 with carry. */
	{ "bcd/daa_both_adjust", daa, 0x00ae, 0, 0x0014, F_CF | F_AF | F_PF, M_DAA },
	{ "bcd/daa_no_adjust", daa, 0x0099, 0, 0x0099, F_SF | F_PF, M_DAA },
	{ "bcd/daa_from_flags", daa, 0x0000, F_CF | F_AF, 0x0066, F_CF | F_AF | F_PF, M_DAA },
	/* 35 - 47 = EE with CF AF after SUB; DAS makes it BCD 88 with borrow. */
	{ "bcd/das_both_adjust", das, 0x00ee, F_CF | F_AF, 0x0088, F_CF | F_AF | F_SF | F_PF, M_DAA },
	{ "bcd/das_no_adjust", das, 0x0010, 0, 0x0010, 0, M_DAA },
	{ "bcd/aaa_adjust", aaa, 0x000f, 0, 0x0105, F_CF | F_AF, M_AAA },
	{ "bcd/aaa_no_adjust", aaa, 0x0505, F_CF, 0x0505, 0, M_AAA },
	{ "bcd/aaa_ax_carry", aaa, 0x00fa, 0, 0x0200, F_CF | F_AF, M_AAA },
	{ "bcd/aas_adjust", aas, 0x020f, 0, 0x0109, F_CF | F_AF, M_AAA },
	{ "bcd/aas_ax_borrow", aas, 0x0100, F_AF, 0xff0a, F_CF | F_AF, M_AAA },
	{ "bcd/aas_no_adjust", aas, 0x0305, F_CF, 0x0305, 0, M_AAA },
	{ "bcd/aam_base10", aam10, 0x004f, 0, 0x0709, F_PF, M_AAM },
	{ "bcd/aam_base16", aam16, 0x00ff, 0, 0x0f0f, F_PF, M_AAM },
	{ "bcd/aad_base10", aad10, 0x0709, 0, 0x004f, 0, M_AAM },
	{ "bcd/aad_base16_sf", aad16, 0x0f0f, 0, 0x00ff, F_SF | F_PF, M_AAM },
	{ "bcd/aad_base10_wraps", aad10, 0x1a05, 0, 0x0009, F_PF, M_AAM },
};

static void aam0(void)
{
	/* GNU as refuses "aam $0"; D4 ib is the encoding (SDM AAM). */
	__asm__ volatile("mov $0x12, %%eax\n\t.byte 0xd4, 0x00" ::: "eax", "cc");
}

void GEN(bcd_checks)(void)
{
	size_t i;
	for (i = 0; i < sizeof(bcd_cases) / sizeof(bcd_cases[0]); i++) {
		const struct bcd_case *c = &bcd_cases[i];
		ulong fl = c->fin;
		/* the upper half of EAX must survive */
		ulong ax = c->fn(0x5a5a0000UL | c->ax, &fl);
		CHECK2(c->name, ax, c->res, fl & c->mask, c->fout & c->mask);
	}
	if (guest_expect_fault) {
		uint8_t vec = 0xff;
		int faulted = guest_expect_fault(aam0, &vec);
		CHECK2("bcd/aam0_de", faulted, 1, vec, VEC_DE);
	}
}
#else
void GEN(bcd_checks)(void)
{
}
#endif
