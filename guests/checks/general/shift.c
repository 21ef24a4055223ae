/* SHL SHR SAR ROL ROR RCL RCR SHLD SHRD by CL.
 *
 * From the SDM (SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD):
 *  - the count is masked to 5 bits (6 with REX.W); a masked count of 0
 *    changes neither the destination nor any flag;
 *  - CF is the last bit shifted out; for SHL/SHR it is undefined once the
 *    count reaches the operand size (8/16-bit operands), so those cases
 *    check only the result and SF ZF PF;
 *  - OF is defined only for a masked count of 1: SHL: MSB(result) XOR CF;
 *    SHR: MSB of the original; SAR: 0; ROL/RCL: MSB(result) XOR CF; ROR:
 *    XOR of the two top bits of the result; RCR: MSB(original) XOR CF(in);
 *    SHLD/SHRD: set when the sign changed;
 *  - rotates touch only CF and OF; ROL/ROR of 8/16 bits rotate by the
 *    masked count modulo the size but still set CF when the masked count
 *    is non-zero; RCL/RCR of 8/16 bits rotate by the masked count modulo
 *    9/17, and a count that reduces to 0 changes nothing;
 *  - AF is undefined after every shift with a non-zero count. */
#include "general.h"

typedef ulong (*shift_fn)(ulong a, ulong b, unsigned count, ulong *fl);

#define SH(fname, insn, mod)                                                        \
	static ulong fname(ulong a, ulong b, unsigned count, ulong *fl)             \
	{                                                                           \
		ulong f = FLAGS_LOAD(*fl);                                          \
		(void)b;                                                            \
		__asm__ volatile(FLAGS_IN insn " %%cl, %" mod "[a]" FLAGS_OUT       \
				 : [a] "+q"(a), [fl] "+r"(f)                        \
				 : "c"(count)                                       \
				 : "cc");                                           \
		*fl = f;                                                            \
		return a;                                                           \
	}
#define SHD(fname, insn, mod)                                                         \
	static ulong fname(ulong a, ulong b, unsigned count, ulong *fl)               \
	{                                                                             \
		ulong f = FLAGS_LOAD(*fl);                                            \
		__asm__ volatile(FLAGS_IN insn " %%cl, %" mod "[b], %" mod "[a]" FLAGS_OUT \
				 : [a] "+r"(a), [fl] "+r"(f)                          \
				 : [b] "r"(b), "c"(count)                             \
				 : "cc");                                             \
		*fl = f;                                                              \
		return a;                                                             \
	}
#define SH_ALL(op)                          \
	SH(op##8, #op "b", "b")             \
	SH(op##16, #op "w", "w")            \
	SH(op##32, #op "l", "k")

SH_ALL(shl) SH_ALL(shr) SH_ALL(sar) SH_ALL(rol) SH_ALL(ror) SH_ALL(rcl) SH_ALL(rcr)
SHD(shld16, "shldw", "w") SHD(shld32, "shldl", "k") SHD(shrd16, "shrdw", "w") SHD(shrd32, "shrdl", "k")
#ifdef __x86_64__
SH(shl64, "shlq", "q") SH(shr64, "shrq", "q") SH(sar64, "sarq", "q") SH(rol64, "rolq", "q")
SH(ror64, "rorq", "q") SH(rcl64, "rclq", "q") SH(rcr64, "rcrq", "q")
SHD(shld64, "shldq", "q") SHD(shrd64, "shrdq", "q")
#endif

#define M_C1 (F_CF | F_OF | F_SZP)	/* shift by 1: everything but AF */
#define M_CN (F_CF | F_SZP)		/* shift by more: OF undefined */
#define M_BIG F_SZP			/* SHL/SHR count >= size: CF undefined too */
#define M_ALL F_ARITH			/* count 0: nothing may change */
#define M_ROT1 (F_CF | F_OF)
#define M_ROT F_CF

struct shift_case {
	const char *name;
	shift_fn fn;
	unsigned width;
	uint64_t a, b;
	unsigned count;
	ulong fin;
	uint64_t res;
	ulong fout;
	ulong mask;
};

static const struct shift_case shift_cases[] = {
	{ "shift/shl8_c1_cf_of", shl8, 8, 0x81, 0, 1, 0, 0x02, F_CF | F_OF, M_C1 },
	{ "shift/shl8_c1_of_sf", shl8, 8, 0x40, 0, 1, 0, 0x80, F_OF | F_SF, M_C1 },
	{ "shift/shl32_c0_keeps_flags", shl32, 32, 0x80000001, 0, 0, F_CF | F_OF | F_ZF, 0x80000001, F_CF | F_OF | F_ZF, M_ALL },
	{ "shift/shl32_c31_cf0", shl32, 32, 1, 0, 31, F_CF, 0x80000000, F_SF | F_PF, M_CN },
	{ "shift/shl32_c31_cf1", shl32, 32, 3, 0, 31, 0, 0x80000000, F_CF | F_SF | F_PF, M_CN },
	{ "shift/shl32_c33_masked_to_1", shl32, 32, 1, 0, 33, F_CF | F_OF, 2, 0, M_C1 },
	{ "shift/shl8_c8_all_out", shl8, 8, 0xff, 0, 8, 0, 0, F_ZF | F_PF, M_BIG },
	{ "shift/shl16_c32_masked_to_0", shl16, 16, 0x1234, 0, 32, F_CF, 0x1234, F_CF, M_ALL },
	{ "shift/shr8_c1_of_is_old_msb", shr8, 8, 0x81, 0, 1, 0, 0x40, F_CF | F_OF, M_C1 },
	{ "shift/shr32_c31_cf0", shr32, 32, 0x80000000, 0, 31, F_CF, 1, 0, M_CN },
	{ "shift/shr32_c31_cf1", shr32, 32, 0xc0000000, 0, 31, 0, 1, F_CF, M_CN },
	{ "shift/shr16_c16_all_out", shr16, 16, 0x8000, 0, 16, 0, 0, F_ZF | F_PF, M_BIG },
	{ "shift/sar8_c1_of0", sar8, 8, 0x80, 0, 1, F_OF | F_CF, 0xc0, F_SF | F_PF, M_C1 },
	{ "shift/sar32_c31_sign_fill", sar32, 32, 0x80000000, 0, 31, F_CF, 0xffffffff, F_SF | F_PF, M_CN },
	{ "shift/sar16_c16_sign_fill", sar16, 16, 0x8001, 0, 16, 0, 0xffff, F_SF | F_PF, M_BIG },
	{ "shift/rol8_c1", rol8, 8, 0x81, 0, 1, 0, 0x03, F_CF | F_OF, M_ROT1 },
	{ "shift/rol8_c8_sets_cf", rol8, 8, 0x81, 0, 8, 0, 0x81, F_CF, M_ROT },
	{ "shift/rol16_c4", rol16, 16, 0x8000, 0, 4, F_CF, 0x0008, 0, M_ROT },
	{ "shift/rol32_c33_masked_to_1", rol32, 32, 0x80000000, 0, 33, 0, 1, F_CF | F_OF, M_ROT1 },
	{ "shift/rol32_c0_keeps_flags", rol32, 32, 0x12345678, 0, 0, F_ARITH, 0x12345678, F_ARITH, M_ALL },
	{ "shift/rol8_keeps_szp", rol8, 8, 0x01, 0, 1, F_ZF | F_PF | F_SF, 0x02, F_ZF | F_PF | F_SF, F_SZP },
	{ "shift/ror8_c1", ror8, 8, 0x01, 0, 1, 0, 0x80, F_CF | F_OF, M_ROT1 },
	{ "shift/ror32_c4", ror32, 32, 1, 0, 4, F_CF, 0x10000000, 0, M_ROT },
	{ "shift/ror16_c16_sets_cf_from_msb", ror16, 16, 0x0001, 0, 16, F_CF, 0x0001, 0, M_ROT },
	{ "shift/rcl8_c1", rcl8, 8, 0x80, 0, 1, 0, 0x00, F_CF | F_OF, M_ROT1 },
	{ "shift/rcl8_c9_is_identity", rcl8, 8, 0x01, 0, 9, F_CF, 0x01, F_CF, M_ROT },
	{ "shift/rcl8_c8", rcl8, 8, 0x80, 0, 8, F_CF, 0xc0, 0, M_ROT },
	{ "shift/rcl16_c17_is_identity", rcl16, 16, 0x8000, 0, 17, F_CF, 0x8000, F_CF, M_ROT },
	{ "shift/rcl16_c1_carry_in", rcl16, 16, 0x8000, 0, 1, F_CF, 0x0001, F_CF | F_OF, M_ROT1 },
	{ "shift/rcl32_c1", rcl32, 32, 0x80000000, 0, 1, 0, 0, F_CF | F_OF, M_ROT1 },
	{ "shift/rcl32_c32_masked_to_0", rcl32, 32, 1, 0, 32, F_CF | F_OF, 1, F_CF | F_OF, M_ROT1 },
	{ "shift/rcr8_c1_carry_in", rcr8, 8, 0x01, 0, 1, F_CF, 0x80, F_CF | F_OF, M_ROT1 },
	{ "shift/rcr16_c2_carry_in", rcr16, 16, 0x0001, 0, 2, F_CF, 0xc000, 0, M_ROT },
	{ "shift/rcr32_c1", rcr32, 32, 1, 0, 1, 0, 0, F_CF, M_ROT1 },
	{ "shift/rcr8_c10_mod9", rcr8, 8, 0x00, 0, 10, F_CF, 0x80, 0, M_ROT },
	{ "shift/shld32_c8", shld32, 32, 0x12345678, 0x9abcdef0, 8, 0, 0x3456789a, F_PF, M_CN },
	{ "shift/shld32_c1_of", shld32, 32, 0x40000000, 0x80000000, 1, 0, 0x80000001, F_OF | F_SF, M_C1 },
	{ "shift/shld32_c0_keeps_flags", shld32, 32, 0x12345678, 0x9abcdef0, 0, F_ARITH, 0x12345678, F_ARITH, M_ALL },
	{ "shift/shld32_c40_masked_to_8", shld32, 32, 0x12345678, 0x9abcdef0, 40, 0, 0x3456789a, F_PF, M_CN },
	{ "shift/shld16_c4", shld16, 16, 0x1234, 0xabcd, 4, 0, 0x234a, F_CF, M_CN },
	{ "shift/shrd32_c8", shrd32, 32, 0x12345678, 0x9abcdef0, 8, 0, 0xf0123456, F_SF | F_PF, M_CN },
	{ "shift/shrd32_c1_zero", shrd32, 32, 1, 0, 1, F_OF, 0, F_CF | F_ZF | F_PF, M_C1 },
	{ "shift/shrd16_c4", shrd16, 16, 0x00f1, 0x0003, 4, F_CF, 0x300f, F_PF, M_CN },
#ifdef __x86_64__
	{ "shift/shl64_c65_masked_to_1", shl64, 64, 1, 0, 65, F_CF, 2, 0, M_C1 },
	{ "shift/shl64_c1_msb_out", shl64, 64, 0x8000000000000000, 0, 1, 0, 0, F_CF | F_OF | F_ZF | F_PF, M_C1 },
	{ "shift/shr64_c63", shr64, 64, 0x8000000000000000, 0, 63, F_CF, 1, 0, M_CN },
	{ "shift/sar64_c1", sar64, 64, 0x4000000000000000, 0, 1, F_OF, 0x2000000000000000, F_PF, M_C1 },
	{ "shift/rol64_c4", rol64, 64, 0x8000000000000001, 0, 4, F_CF, 0x18, 0, M_ROT },
	{ "shift/ror64_c1", ror64, 64, 1, 0, 1, 0, 0x8000000000000000, F_CF | F_OF, M_ROT1 },
	{ "shift/rcl64_c2_carry_in", rcl64, 64, 0x8000000000000000, 0, 2, F_CF, 3, 0, M_ROT },
	{ "shift/rcr64_c2_carry_in", rcr64, 64, 2, 0, 2, F_CF, 0x4000000000000000, F_CF, M_ROT },
	{ "shift/shld64_c4", shld64, 64, 0x8000000000000001, 0xf000000000000000, 4, F_CF, 0x1f, 0, M_CN },
	{ "shift/shrd64_c1_of", shrd64, 64, 1, 1, 1, 0, 0x8000000000000000, F_CF | F_OF | F_SF | F_PF, M_C1 },
	{ "shift/shrd64_c64_masked_to_0", shrd64, 64, 0x1234, 0xffff, 64, F_ZF | F_CF, 0x1234, F_ZF | F_CF, M_ALL },
#endif
};

void GEN(shift_checks)(void)
{
	size_t i;
	for (i = 0; i < sizeof(shift_cases) / sizeof(shift_cases[0]); i++) {
		const struct shift_case *c = &shift_cases[i];
		ulong fl = c->fin;
		uint64_t r = c->fn((ulong)c->a, (ulong)c->b, c->count, &fl) & width_mask(c->width);
		CHECK2(c->name, r, c->res, fl & c->mask, c->fout & c->mask);
	}
}
