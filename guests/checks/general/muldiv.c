/* MUL, IMUL (one, two and three operands), DIV, IDIV and #DE.
 *
 * SDM: MUL sets CF = OF = 1 when the upper half of the product is non-zero;
 * IMUL sets CF = OF = 1 when the product does not fit (sign-extended) in
 * the destination (the lower half for the one-operand form); SF ZF AF PF
 * are undefined after both, so only CF and OF are checked. DIV and IDIV
 * leave every arithmetic flag undefined, so only quotient and remainder
 * are checked; the remainder of IDIV has the sign of the dividend. #DE
 * (vector 0) is raised for a zero divisor and for a quotient that does not
 * fit the destination, including IDIV of the most negative dividend by -1. */
#include "general.h"
#include "fault.h"

#define M_MUL (F_CF | F_OF)

typedef ulong (*mul_fn)(ulong a, ulong b, ulong *hi, ulong *fl);

/* One operand: the accumulator times the source into (E/R)DX:(E/R)AX, or AX for bytes. */
#define MUL1_8(fname, insn)                                                   \
	static ulong fname(ulong a, ulong b, ulong *hi, ulong *fl)            \
	{                                                                     \
		ulong f = FLAGS_LOAD(0);                                      \
		__asm__ volatile(FLAGS_IN insn " %b[b]" FLAGS_OUT             \
				 : "+a"(a), [fl] "+r"(f)                      \
				 : [b] "q"(b)                                 \
				 : "cc");                                     \
		*fl = f;                                                      \
		*hi = (a >> 8) & 0xff;                                        \
		return a & 0xff;                                              \
	}
#define MUL1(fname, insn, mod)                                                \
	static ulong fname(ulong a, ulong b, ulong *hi, ulong *fl)            \
	{                                                                     \
		ulong f = FLAGS_LOAD(0), d;                                   \
		__asm__ volatile(FLAGS_IN insn " %" mod "[b]" FLAGS_OUT       \
				 : "+a"(a), "=&d"(d), [fl] "+r"(f)            \
				 : [b] "r"(b)                                 \
				 : "cc");                                     \
		*fl = f;                                                      \
		*hi = d;                                                      \
		return a;                                                     \
	}
#define IMUL2(fname, insn, mod)                                               \
	static ulong fname(ulong a, ulong b, ulong *hi, ulong *fl)            \
	{                                                                     \
		ulong f = FLAGS_LOAD(0);                                      \
		__asm__ volatile(FLAGS_IN insn " %" mod "[b], %" mod "[a]" FLAGS_OUT \
				 : [a] "+r"(a), [fl] "+r"(f)                  \
				 : [b] "r"(b)                                 \
				 : "cc");                                     \
		*fl = f;                                                      \
		*hi = 0;                                                      \
		return a;                                                     \
	}
/* Three operands: register source times an immediate into another register. */
#define IMUL3(fname, insn, mod, imm)                                          \
	static ulong fname(ulong a, ulong b, ulong *hi, ulong *fl)            \
	{                                                                     \
		ulong f = FLAGS_LOAD(0), r;                                   \
		(void)b;                                                      \
		__asm__ volatile(FLAGS_IN insn " $" #imm ", %" mod "[a], %" mod "[r]" FLAGS_OUT \
				 : [r] "=&r"(r), [fl] "+r"(f)                 \
				 : [a] "r"(a)                                 \
				 : "cc");                                     \
		*fl = f;                                                      \
		*hi = 0;                                                      \
		return r;                                                     \
	}

MUL1_8(mul8, "mulb") MUL1_8(imul8, "imulb")
MUL1(mul16, "mulw", "w") MUL1(mul32, "mull", "k") MUL1(imul16, "imulw", "w") MUL1(imul32, "imull", "k")
IMUL2(imul2_16, "imulw", "w") IMUL2(imul2_32, "imull", "k")
IMUL3(imul3_32_imm8, "imull", "k", 0x10) IMUL3(imul3_16_neg, "imulw", "w", -2)
IMUL3(imul3_32_imm32, "imull", "k", 1000)
#ifdef __x86_64__
MUL1(mul64, "mulq", "q") MUL1(imul64, "imulq", "q") IMUL2(imul2_64, "imulq", "q")
IMUL3(imul3_64, "imulq", "q", 0x7fffffff)
#endif

struct mul_case {
	const char *name;
	mul_fn fn;
	unsigned width;
	uint64_t a, b, lo, hi;
	ulong fout;
};

static const struct mul_case mul_cases[] = {
	{ "muldiv/mul8_cf_of", mul8, 8, 0x80, 0x02, 0x00, 0x01, F_CF | F_OF },
	{ "muldiv/mul8_fits", mul8, 8, 0x0f, 0x0f, 0xe1, 0x00, 0 },
	{ "muldiv/mul16_max", mul16, 16, 0xffff, 0xffff, 0x0001, 0xfffe, F_CF | F_OF },
	{ "muldiv/mul32_carry_to_edx", mul32, 32, 0x10000, 0x10000, 0, 1, F_CF | F_OF },
	{ "muldiv/mul32_fits", mul32, 32, 0x1234, 0x10, 0x12340, 0, 0 },
	{ "muldiv/imul8_overflow", imul8, 8, 0x80, 0x02, 0x00, 0xff, F_CF | F_OF },
	{ "muldiv/imul8_negative_fits", imul8, 8, 0xff, 0x02, 0xfe, 0xff, 0 },
	{ "muldiv/imul16_min_times_minus1", imul16, 16, 0x8000, 0xffff, 0x8000, 0x0000, F_CF | F_OF },
	{ "muldiv/imul32_minus1_squared", imul32, 32, 0xffffffff, 0xffffffff, 1, 0, 0 },
	{ "muldiv/imul2_16_truncated", imul2_16, 16, 0x0100, 0x0100, 0, 0, F_CF | F_OF },
	{ "muldiv/imul2_32_negative_fits", imul2_32, 32, 0xfffffffb, 7, 0xffffffdd, 0, 0 },
	{ "muldiv/imul2_32_overflow", imul2_32, 32, 0x40000000, 2, 0x80000000, 0, F_CF | F_OF },
	{ "muldiv/imul3_32_imm8_overflow", imul3_32_imm8, 32, 0x12345678, 0, 0x23456780, 0, F_CF | F_OF },
	{ "muldiv/imul3_16_negative_imm", imul3_16_neg, 16, 3, 0, 0xfffa, 0, 0 },
	{ "muldiv/imul3_32_imm32", imul3_32_imm32, 32, 0xfffffffd, 0, 0xfffff448, 0, 0 },
#ifdef __x86_64__
	{ "muldiv/mul64_carry_to_rdx", mul64, 64, 0xffffffffffffffff, 2, 0xfffffffffffffffe, 1, F_CF | F_OF },
	{ "muldiv/imul64_overflow", imul64, 64, 0x4000000000000000, 2, 0x8000000000000000, 0, F_CF | F_OF },
	{ "muldiv/imul2_64_min_times_minus1", imul2_64, 64, 0xffffffffffffffff, 0x8000000000000000, 0x8000000000000000, 0, F_CF | F_OF },
	{ "muldiv/imul2_64_fits", imul2_64, 64, 0x100000000, 0x100, 0x10000000000, 0, 0 },
	{ "muldiv/imul3_64_imm32_overflow", imul3_64, 64, 0x7fffffffffffffff, 0, 0x7fffffff80000001, 0, F_CF | F_OF },
#endif
};

/* Dividend hi:lo (AX for bytes: hi unused, lo = AX) by d; returns the quotient. */
typedef ulong (*div_fn)(ulong lo, ulong hi, ulong d, ulong *rem);

#define DIV8(fname, insn)                                                   \
	static ulong fname(ulong lo, ulong hi, ulong d, ulong *rem)         \
	{                                                                   \
		(void)hi;                                                   \
		__asm__ volatile(insn " %b[d]" : "+a"(lo) : [d] "q"(d) : "cc"); \
		*rem = (lo >> 8) & 0xff;                                    \
		return lo & 0xff;                                           \
	}
#define DIVN(fname, insn, mod)                                                          \
	static ulong fname(ulong lo, ulong hi, ulong d, ulong *rem)                     \
	{                                                                               \
		__asm__ volatile(insn " %" mod "[d]" : "+a"(lo), "+d"(hi) : [d] "r"(d) : "cc"); \
		*rem = hi;                                                              \
		return lo;                                                              \
	}
DIV8(div8, "divb") DIV8(idiv8, "idivb")
DIVN(div16, "divw", "w") DIVN(div32, "divl", "k") DIVN(idiv16, "idivw", "w") DIVN(idiv32, "idivl", "k")
#ifdef __x86_64__
DIVN(div64, "divq", "q") DIVN(idiv64, "idivq", "q")
#endif

struct div_case {
	const char *name;
	div_fn fn;
	unsigned width;
	uint64_t lo, hi, d, quot, rem;
};

static const struct div_case div_cases[] = {
	{ "muldiv/div8", div8, 8, 0x0123, 0, 0x10, 0x12, 0x03 },
	{ "muldiv/div16_uses_dx", div16, 16, 0x0000, 0x0001, 3, 0x5555, 0x0001 },
	{ "muldiv/div32_uses_edx", div32, 32, 0, 1, 0x10, 0x10000000, 0 },
	{ "muldiv/div32_remainder", div32, 32, 0xffffffff, 0, 0x10000, 0xffff, 0xffff },
	{ "muldiv/idiv8_negative", idiv8, 8, 0xff9c, 0, 7, 0xf2, 0xfe },
	{ "muldiv/idiv16_negative_divisor", idiv16, 16, 0xfc18, 0xffff, 0xfff9, 0x008e, 0xfffa },
	{ "muldiv/idiv32_rounds_toward_zero", idiv32, 32, 0xfffffff9, 0xffffffff, 2, 0xfffffffd, 0xffffffff },
	{ "muldiv/idiv32_remainder_sign_of_dividend", idiv32, 32, 7, 0, 0xfffffffe, 0xfffffffd, 1 },
#ifdef __x86_64__
	{ "muldiv/div64_uses_rdx", div64, 64, 0, 1, 2, 0x8000000000000000, 0 },
	{ "muldiv/idiv64_max_by_minus1", idiv64, 64, 0x7fffffffffffffff, 0, 0xffffffffffffffff, 0x8000000000000001, 0 },
#endif
};

/* #DE: the operands come from globals because the hook takes a plain void(void). */
static volatile ulong de_lo, de_hi, de_d;

#define DE8(fname, insn)                                                               \
	static void fname(void)                                                        \
	{                                                                              \
		ulong a = de_lo, d = de_d;                                             \
		__asm__ volatile(insn " %b[d]" : "+a"(a) : [d] "q"(d) : "cc");         \
		de_lo = a;                                                             \
	}
#define DEN(fname, insn, mod)                                                          \
	static void fname(void)                                                        \
	{                                                                              \
		ulong a = de_lo, h = de_hi, d = de_d;                                  \
		__asm__ volatile(insn " %" mod "[d]" : "+a"(a), "+d"(h) : [d] "r"(d) : "cc"); \
		de_lo = a;                                                             \
	}
DE8(de_div8, "divb") DE8(de_idiv8, "idivb")
DEN(de_div32, "divl", "k") DEN(de_idiv16, "idivw", "w") DEN(de_idiv32, "idivl", "k")
#ifdef __x86_64__
DEN(de_div64, "divq", "q") DEN(de_idiv64, "idivq", "q")
#endif

struct de_case {
	const char *name;
	void (*fn)(void);
	uint64_t lo, hi, d;
	int faults;
};

static const struct de_case de_cases[] = {
	{ "muldiv/no_de_when_it_fits", de_div32, 100, 0, 7, 0 },
	{ "muldiv/de_div32_by_zero", de_div32, 100, 0, 0, 1 },
	{ "muldiv/de_div8_quotient_overflow", de_div8, 0x1000, 0, 0x10, 1 },
	{ "muldiv/de_div32_quotient_overflow", de_div32, 0, 1, 1, 1 },
	{ "muldiv/de_idiv8_min_by_minus1", de_idiv8, 0xff80, 0, 0xff, 1 },
	{ "muldiv/de_idiv8_by_zero", de_idiv8, 5, 0, 0, 1 },
	{ "muldiv/de_idiv16_min_by_minus1", de_idiv16, 0x8000, 0xffff, 0xffff, 1 },
	{ "muldiv/de_idiv32_min_by_minus1", de_idiv32, 0x80000000, 0xffffffff, 0xffffffff, 1 },
#ifdef __x86_64__
	{ "muldiv/de_div64_by_zero", de_div64, 1, 0, 0, 1 },
	{ "muldiv/de_idiv64_min_by_minus1", de_idiv64, 0x8000000000000000, 0xffffffffffffffff, 0xffffffffffffffff, 1 },
#endif
};

void GEN(muldiv_checks)(void)
{
	size_t i;
	for (i = 0; i < sizeof(mul_cases) / sizeof(mul_cases[0]); i++) {
		const struct mul_case *c = &mul_cases[i];
		ulong hi, fl, lo = c->fn((ulong)c->a, (ulong)c->b, &hi, &fl);
		CHECK3(c->name, lo & width_mask(c->width), c->lo, hi & width_mask(c->width), c->hi,
		       fl & M_MUL, c->fout);
	}
	for (i = 0; i < sizeof(div_cases) / sizeof(div_cases[0]); i++) {
		const struct div_case *c = &div_cases[i];
		ulong rem, q = c->fn((ulong)c->lo, (ulong)c->hi, (ulong)c->d, &rem);
		CHECK2(c->name, q & width_mask(c->width), c->quot, rem & width_mask(c->width), c->rem);
	}
	if (!guest_expect_fault)
		return;	/* runtime without the hook: the #DE checks are left out */
	for (i = 0; i < sizeof(de_cases) / sizeof(de_cases[0]); i++) {
		const struct de_case *c = &de_cases[i];
		uint8_t vec = 0xff;
		int faulted;
		de_lo = (ulong)c->lo;
		de_hi = (ulong)c->hi;
		de_d = (ulong)c->d;
		faulted = guest_expect_fault(c->fn, &vec);
		CHECK2(c->name, faulted, c->faults, faulted ? vec : 0, c->faults ? VEC_DE : 0);
	}
}
