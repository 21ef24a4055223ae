/* ADD ADC SUB SBB CMP AND OR XOR NEG NOT INC DEC TEST at every width.
 *
 * Flags checked per the SDM's "Flags Affected" of each instruction:
 *   ADD ADC SUB SBB CMP NEG: OF SF ZF AF CF PF all defined.
 *   AND OR XOR TEST: OF = CF = 0, SF ZF PF by result, AF undefined.
 *   INC DEC: as ADD/SUB but CF is not affected (the input CF must survive).
 *   NOT: no flags affected (the input flags must survive).
 * Every expected result and flag set below was worked out by hand from the
 * operands; see README.md. */
#include "general.h"

typedef ulong (*alu_fn)(ulong a, ulong b, ulong *fl);

/* dst op= src with the given flags in; the flags out come back in *fl. The
 * "q" constraint keeps 8-bit operands in registers that have a byte form. */
#define ALU2(fname, insn, mod)                                                       \
	static ulong fname(ulong a, ulong b, ulong *fl)                              \
	{                                                                            \
		ulong f = FLAGS_LOAD(*fl);                                           \
		__asm__ volatile(FLAGS_IN insn " %" mod "[b], %" mod "[a]" FLAGS_OUT \
				 : [a] "+q"(a), [fl] "+r"(f)                         \
				 : [b] "q"(b)                                        \
				 : "cc");                                            \
		*fl = f;                                                             \
		return a;                                                            \
	}
#define ALU1(fname, insn, mod)                                             \
	static ulong fname(ulong a, ulong b, ulong *fl)                    \
	{                                                                  \
		ulong f = FLAGS_LOAD(*fl);                                 \
		(void)b;                                                   \
		__asm__ volatile(FLAGS_IN insn " %" mod "[a]" FLAGS_OUT    \
				 : [a] "+q"(a), [fl] "+r"(f)               \
				 :                                         \
				 : "cc");                                  \
		*fl = f;                                                   \
		return a;                                                  \
	}

#define ALU2_ALL(op)                       \
	ALU2(op##8, #op "b", "b")          \
	ALU2(op##16, #op "w", "w")         \
	ALU2(op##32, #op "l", "k")
#define ALU1_ALL(op)                       \
	ALU1(op##8, #op "b", "b")          \
	ALU1(op##16, #op "w", "w")         \
	ALU1(op##32, #op "l", "k")

ALU2_ALL(add) ALU2_ALL(adc) ALU2_ALL(sub) ALU2_ALL(sbb) ALU2_ALL(cmp)
ALU2_ALL(and) ALU2_ALL(or) ALU2_ALL(xor) ALU2_ALL(test)
ALU1_ALL(neg) ALU1_ALL(not) ALU1_ALL(inc) ALU1_ALL(dec)

#ifdef __x86_64__
ALU2(add64, "addq", "q") ALU2(adc64, "adcq", "q") ALU2(sub64, "subq", "q")
ALU2(sbb64, "sbbq", "q") ALU2(cmp64, "cmpq", "q") ALU2(and64, "andq", "q")
ALU2(or64, "orq", "q") ALU2(xor64, "xorq", "q") ALU2(test64, "testq", "q")
ALU1(neg64, "negq", "q") ALU1(not64, "notq", "q") ALU1(inc64, "incq", "q")
ALU1(dec64, "decq", "q")
#endif

/* The flags each op defines (see the header comment). */
#define M_ARITH F_ARITH
#define M_LOGIC F_LOGIC
#define M_NOT F_ARITH

struct alu_case {
	const char *name;
	alu_fn fn;
	unsigned width;
	uint64_t a, b;
	ulong fin;	/* flags loaded before the instruction */
	uint64_t res;	/* destination after it */
	ulong fout;	/* flags after it, compared under mask */
	ulong mask;
};

static const struct alu_case alu_cases[] = {
	/* ADD: OF on signed overflow, CF on unsigned carry, AF on carry out of bit 3. */
	{ "alu/add8_of_sf_af", add8, 8, 0x7f, 0x01, 0, 0x80, F_OF | F_SF | F_AF, M_ARITH },
	{ "alu/add8_cf_zf", add8, 8, 0xff, 0x01, 0, 0x00, F_CF | F_ZF | F_AF | F_PF, M_ARITH },
	{ "alu/add16_of_cf_zf", add16, 16, 0x8000, 0x8000, 0, 0, F_OF | F_CF | F_ZF | F_PF, M_ARITH },
	{ "alu/add32_of", add32, 32, 0x7fffffff, 1, 0, 0x80000000, F_OF | F_SF | F_AF | F_PF, M_ARITH },
	{ "alu/add32_cf_sf", add32, 32, 0xffffffff, 0xffffffff, 0, 0xfffffffe, F_CF | F_SF | F_AF, M_ARITH },
	{ "alu/add32_no_flags", add32, 32, 0x12345678, 0x11111111, F_ARITH, 0x23456789, 0, M_ARITH },
	/* ADC adds the incoming CF. */
	{ "alu/adc8_carry_in", adc8, 8, 0xff, 0x00, F_CF, 0x00, F_CF | F_ZF | F_AF | F_PF, M_ARITH },
	{ "alu/adc32_of", adc32, 32, 0x7fffffff, 0, F_CF, 0x80000000, F_OF | F_SF | F_AF | F_PF, M_ARITH },
	{ "alu/adc16_no_carry", adc16, 16, 0x1234, 0x4321, 0, 0x5555, F_PF, M_ARITH },
	/* SUB: CF is the borrow, AF the borrow from bit 4. */
	{ "alu/sub8_borrow", sub8, 8, 0x00, 0x01, 0, 0xff, F_CF | F_AF | F_SF | F_PF, M_ARITH },
	{ "alu/sub8_of", sub8, 8, 0x80, 0x01, 0, 0x7f, F_OF | F_AF, M_ARITH },
	{ "alu/sub16_of", sub16, 16, 0x8000, 0x0001, 0, 0x7fff, F_OF | F_AF | F_PF, M_ARITH },
	{ "alu/sub32_zero", sub32, 32, 5, 5, 0, 0, F_ZF | F_PF, M_ARITH },
	{ "alu/sub32_of", sub32, 32, 0x80000000, 1, 0, 0x7fffffff, F_OF | F_AF | F_PF, M_ARITH },
	{ "alu/sub32_neg_result", sub32, 32, 3, 5, 0, 0xfffffffe, F_CF | F_AF | F_SF, M_ARITH },
	/* SBB subtracts the incoming CF as well. */
	{ "alu/sbb8_borrow_in", sbb8, 8, 0x00, 0x00, F_CF, 0xff, F_CF | F_AF | F_SF | F_PF, M_ARITH },
	{ "alu/sbb32_of", sbb32, 32, 0x80000000, 0, F_CF, 0x7fffffff, F_OF | F_AF | F_PF, M_ARITH },
	{ "alu/sbb16_no_borrow", sbb16, 16, 5, 3, 0, 2, 0, M_ARITH },
	/* CMP sets the flags of SUB and leaves the destination. */
	{ "alu/cmp8_below", cmp8, 8, 0x01, 0x02, 0, 0x01, F_CF | F_AF | F_SF | F_PF, M_ARITH },
	{ "alu/cmp32_of", cmp32, 32, 0x80000000, 1, 0, 0x80000000, F_OF | F_AF | F_PF, M_ARITH },
	{ "alu/cmp16_equal", cmp16, 16, 0x1234, 0x1234, 0, 0x1234, F_ZF | F_PF, M_ARITH },
	/* Logic ops clear OF and CF whatever came in. */
	{ "alu/and8_clears_cf_of", and8, 8, 0xf0, 0x3c, F_CF | F_OF, 0x30, F_PF, M_LOGIC },
	{ "alu/and32_sf", and32, 32, 0x80000000, 0xffffffff, 0, 0x80000000, F_SF | F_PF, M_LOGIC },
	{ "alu/and16_pf", and16, 16, 0x00ff, 0x0f0f, 0, 0x000f, F_PF, M_LOGIC },
	{ "alu/or8_zero", or8, 8, 0, 0, F_CF | F_OF, 0, F_ZF | F_PF, M_LOGIC },
	{ "alu/or32_sf_odd_parity", or32, 32, 1, 0x80000000, 0, 0x80000001, F_SF, M_LOGIC },
	{ "alu/or16_no_flags", or16, 16, 0x1200, 0x0034, F_CF | F_OF | F_ZF, 0x1234, 0, M_LOGIC },
	{ "alu/xor32_self_zero", xor32, 32, 0xdeadbeef, 0xdeadbeef, F_CF | F_OF, 0, F_ZF | F_PF, M_LOGIC },
	{ "alu/xor8_all_ones", xor8, 8, 0xaa, 0x55, 0, 0xff, F_SF | F_PF, M_LOGIC },
	{ "alu/xor16_sf", xor16, 16, 0x8001, 0x0001, 0, 0x8000, F_SF | F_PF, M_LOGIC },
	/* TEST sets the flags of AND and leaves the destination. */
	{ "alu/test8_sf", test8, 8, 0x80, 0x80, F_CF | F_OF, 0x80, F_SF, M_LOGIC },
	{ "alu/test32_zf", test32, 32, 0x0f, 0xf0, 0, 0x0f, F_ZF | F_PF, M_LOGIC },
	{ "alu/test16_odd", test16, 16, 0x0003, 0x0001, F_ARITH, 0x0003, 0, M_LOGIC },
	/* NEG: CF = (source != 0); NEG of the most negative value overflows. */
	{ "alu/neg8_min", neg8, 8, 0x80, 0, 0, 0x80, F_CF | F_OF | F_SF, M_ARITH },
	{ "alu/neg8_zero", neg8, 8, 0x00, 0, F_CF, 0x00, F_ZF | F_PF, M_ARITH },
	{ "alu/neg32_one", neg32, 32, 1, 0, 0, 0xffffffff, F_CF | F_AF | F_SF | F_PF, M_ARITH },
	{ "alu/neg16_af_clear", neg16, 16, 0x0010, 0, 0, 0xfff0, F_CF | F_SF | F_PF, M_ARITH },
	/* NOT changes no flag. */
	{ "alu/not8_keeps_flags", not8, 8, 0x5a, 0, F_ARITH, 0xa5, F_ARITH, M_NOT },
	{ "alu/not32_keeps_clear", not32, 32, 0, 0, 0, 0xffffffff, 0, M_NOT },
	{ "alu/not16_keeps_zf", not16, 16, 0xffff, 0, F_ZF, 0, F_ZF, M_NOT },
	/* INC/DEC: the input CF comes out untouched. */
	{ "alu/inc8_wrap_cf_kept_clear", inc8, 8, 0xff, 0, 0, 0, F_ZF | F_AF | F_PF, M_ARITH },
	{ "alu/inc8_of_cf_kept_set", inc8, 8, 0x7f, 0, F_CF, 0x80, F_OF | F_SF | F_AF | F_CF, M_ARITH },
	{ "alu/inc16_wrap_cf_kept_set", inc16, 16, 0xffff, 0, F_CF, 0, F_CF | F_ZF | F_AF | F_PF, M_ARITH },
	{ "alu/inc32_of", inc32, 32, 0x7fffffff, 0, 0, 0x80000000, F_OF | F_SF | F_AF | F_PF, M_ARITH },
	{ "alu/inc32_af", inc32, 32, 0x0f, 0, 0, 0x10, F_AF, M_ARITH },
	{ "alu/dec8_wrap_cf_kept_clear", dec8, 8, 0x00, 0, 0, 0xff, F_AF | F_SF | F_PF, M_ARITH },
	{ "alu/dec8_of_cf_kept_set", dec8, 8, 0x80, 0, F_CF, 0x7f, F_OF | F_AF | F_CF, M_ARITH },
	{ "alu/dec16_zero", dec16, 16, 0x0001, 0, 0, 0, F_ZF | F_PF, M_ARITH },
	{ "alu/dec32_of_cf_kept_set", dec32, 32, 0x80000000, 0, F_CF, 0x7fffffff, F_OF | F_AF | F_PF | F_CF, M_ARITH },
#ifdef __x86_64__
	{ "alu/add64_of", add64, 64, 0x7fffffffffffffff, 1, 0, 0x8000000000000000, F_OF | F_SF | F_AF | F_PF, M_ARITH },
	{ "alu/add64_cf_zf", add64, 64, 0xffffffffffffffff, 1, 0, 0, F_CF | F_ZF | F_AF | F_PF, M_ARITH },
	{ "alu/adc64_all_ones", adc64, 64, 0xffffffffffffffff, 0xffffffffffffffff, F_CF, 0xffffffffffffffff, F_CF | F_PF | F_AF | F_SF, M_ARITH },
	{ "alu/sub64_borrow", sub64, 64, 0, 1, 0, 0xffffffffffffffff, F_CF | F_AF | F_SF | F_PF, M_ARITH },
	{ "alu/sbb64_zero", sbb64, 64, 0x10, 0x0f, F_CF, 0, F_ZF | F_PF | F_AF, M_ARITH },
	{ "alu/cmp64_of_cf", cmp64, 64, 0x7fffffffffffffff, 0xffffffffffffffff, 0, 0x7fffffffffffffff, F_OF | F_CF | F_SF | F_PF, M_ARITH },
	{ "alu/and64_zero", and64, 64, 0x5555555555555555, 0xaaaaaaaaaaaaaaaa, F_CF | F_OF, 0, F_ZF | F_PF, M_LOGIC },
	{ "alu/or64_sf", or64, 64, 0x8000000000000000, 3, 0, 0x8000000000000003, F_SF | F_PF, M_LOGIC },
	{ "alu/xor64_mixed", xor64, 64, 0xffffffff00000000, 0x0f0f0f0f0f0f0f0f, 0, 0xf0f0f0f00f0f0f0f, F_SF | F_PF, M_LOGIC },
	{ "alu/test64_sf", test64, 64, 0x8000000000000000, 0x8000000000000000, 0, 0x8000000000000000, F_SF | F_PF, M_LOGIC },
	{ "alu/neg64_min", neg64, 64, 0x8000000000000000, 0, 0, 0x8000000000000000, F_CF | F_OF | F_SF | F_PF, M_ARITH },
	{ "alu/not64", not64, 64, 0x0123456789abcdef, 0, F_OF | F_CF, 0xfedcba9876543210, F_OF | F_CF, M_NOT },
	{ "alu/inc64_wrap_cf_kept_set", inc64, 64, 0xffffffffffffffff, 0, F_CF, 0, F_CF | F_ZF | F_AF | F_PF, M_ARITH },
	{ "alu/dec64_wrap_cf_kept_set", dec64, 64, 0, 0, F_CF, 0xffffffffffffffff, F_CF | F_AF | F_SF | F_PF, M_ARITH },
#endif
};

void GEN(alu_checks)(void)
{
	size_t i;
	for (i = 0; i < sizeof(alu_cases) / sizeof(alu_cases[0]); i++) {
		const struct alu_case *c = &alu_cases[i];
		ulong fl = c->fin;
		uint64_t r = c->fn((ulong)c->a, (ulong)c->b, &fl) & width_mask(c->width);
		CHECK2(c->name, r, c->res, fl & c->mask, c->fout & c->mask);
	}
}
