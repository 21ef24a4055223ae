/* x87 basics and FXSAVE/FXRSTOR.
 *
 * Values are IEEE-754 bit patterns written out by hand (README.md); results
 * leave the FPU through FSTP m64 / FISTP m32 / FNSTSW / FNSTCW, so nothing
 * here compares floating-point values in C. SDM facts used: FNINIT sets
 * FCW = 037FH (all exceptions masked, 64-bit precision, round to nearest),
 * FSW = 0, FTW = FFFFH (all empty); FCOM reports > / < / = / unordered as
 * C3 C2 C0 = 000 / 001 / 100 / 111; FCOMI/FUCOMI as ZF PF CF in the same
 * way; FISTP rounds by FCW.RC (00 nearest even, 01 down, 10 up, 11 toward
 * zero) and stores the integer indefinite 80000000H for an out-of-range
 * value with IE masked; a masked divide by zero gives infinity and sets ZE;
 * FSQRT of a negative number gives the real indefinite FFF8...0 and sets IE.
 * FXSAVE image (SDM vol. 1, table 10-2): FCW at 0, FSW at 2, abridged FTW
 * (one bit per physical register, 1 = valid) at 4, MXCSR at 24, ST0 at 32,
 * ST1 at 48, XMMn at 160 + 16n. */
#include "general.h"

#define D_ONE 0x3ff0000000000000ULL
#define D_TWO 0x4000000000000000ULL
#define D_THREE 0x4008000000000000ULL
#define D_PI 0x400921fb54442d18ULL
#define D_NAN 0x7ff8000000000000ULL
#define D_INDEF 0xfff8000000000000ULL
#define D_INF 0x7ff0000000000000ULL

static uint64_t fpu_binop(int op, uint64_t a, uint64_t b)
{
	uint64_t r;
	switch (op) {
	case 0:
		__asm__ volatile("fninit\n\tfldl %1\n\tfaddl %2\n\tfstpl %0" : "=m"(r) : "m"(a), "m"(b));
		break;
	case 1:
		__asm__ volatile("fninit\n\tfldl %1\n\tfsubl %2\n\tfstpl %0" : "=m"(r) : "m"(a), "m"(b));
		break;
	case 2:
		__asm__ volatile("fninit\n\tfldl %1\n\tfmull %2\n\tfstpl %0" : "=m"(r) : "m"(a), "m"(b));
		break;
	default:
		__asm__ volatile("fninit\n\tfldl %1\n\tfdivl %2\n\tfstpl %0" : "=m"(r) : "m"(a), "m"(b));
		break;
	}
	return r;
}

struct fpu_case {
	const char *name;
	int op;
	uint64_t a, b, want;
};
static const struct fpu_case fpu_cases[] = {
	{ "x87/fadd", 0, 0x3ff8000000000000, 0x4002000000000000, 0x400e000000000000 },	/* 1.5 + 2.25 = 3.75 */
	{ "x87/fsub_negative", 1, D_ONE, D_THREE, 0xc000000000000000 },			/* 1 - 3 = -2 */
	{ "x87/fmul", 2, D_THREE, 0xbfe0000000000000, 0xbff8000000000000 },		/* 3 * -0.5 = -1.5 */
	{ "x87/fdiv_exact", 3, D_ONE, 0x4010000000000000, 0x3fd0000000000000 },		/* 1 / 4 = 0.25 */
	{ "x87/fdiv_rounded", 3, D_ONE, D_THREE, 0x3fd5555555555555 },			/* 1 / 3 */
};

static uint16_t fcom_cc(uint64_t a, uint64_t b)
{
	uint16_t sw;
	__asm__ volatile("fninit\n\tfldl %1\n\tfcoml %2\n\tfnstsw %0\n\tfstp %%st(0)"
			 : "=a"(sw) : "m"(a), "m"(b));
	return sw & 0x4500;	/* C3 C2 C0 */
}

static ulong fucomi_flags(uint64_t a, uint64_t b)
{
	ulong f = FLAGS_LOAD(F_OF | F_SF);
	__asm__ volatile("fninit\n\tfldl %[b]\n\tfldl %[a]\n\t" FLAGS_IN
			 "fucomi %%st(1), %%st" FLAGS_OUT "\n\tfstp %%st(0)\n\tfstp %%st(0)"
			 : [fl] "+r"(f) : [a] "m"(a), [b] "m"(b) : "cc");
	return f & (F_ZF | F_PF | F_CF);
}

static ulong fcomi_flags(uint64_t a, uint64_t b)
{
	ulong f = FLAGS_LOAD(0);
	__asm__ volatile("fninit\n\tfldl %[b]\n\tfldl %[a]\n\t" FLAGS_IN
			 "fcomi %%st(1), %%st" FLAGS_OUT "\n\tfstp %%st(0)\n\tfstp %%st(0)"
			 : [fl] "+r"(f) : [a] "m"(a), [b] "m"(b) : "cc");
	return f & (F_ZF | F_PF | F_CF);
}

static uint32_t fistp_rc(uint64_t v, uint16_t rc)
{
	uint16_t cw = (uint16_t)(0x037f | (rc << 10));
	uint32_t r;
	__asm__ volatile("fninit\n\tfldcw %2\n\tfldl %1\n\tfistpl %0" : "=m"(r) : "m"(v), "m"(cw));
	return r;
}

static void basic_checks(void)
{
	uint16_t cw, sw, env[14];
	uint64_t r, s;
	uint32_t i32;
	size_t k;

	__asm__ volatile("fninit\n\tfnstcw %0\n\tfnstsw %1\n\tfnstenv %2" : "=m"(cw), "=m"(sw), "=m"(env));
	CHECK("x87/finit_control_word", cw, 0x037f);
	CHECK("x87/finit_status_word", sw, 0);
	CHECK("x87/finit_tag_word_empty", env[4], 0xffff);

	__asm__ volatile("fninit\n\tfld1\n\tfstpl %0" : "=m"(r));
	CHECK("x87/fld1", r, D_ONE);
	__asm__ volatile("fninit\n\tfldz\n\tfstpl %0" : "=m"(r));
	CHECK("x87/fldz", r, 0);
	__asm__ volatile("fninit\n\tfldpi\n\tfstpl %0" : "=m"(r));
	CHECK("x87/fldpi_double", r, D_PI);
	{
		/* 80-bit pi rounded to nearest: significand C90FDAA22168C235, exponent 4000H */
		uint16_t t[5];
		__asm__ volatile("fninit\n\tfldpi\n\tfstpt %0" : "=m"(t));
		CHECK2("x87/fldpi_extended", ((uint64_t)t[3] << 48) | ((uint64_t)t[2] << 32) | ((uint32_t)t[1] << 16) | t[0],
		       0xc90fdaa22168c235, t[4], 0x4000);
	}
	for (k = 0; k < sizeof(fpu_cases) / sizeof(fpu_cases[0]); k++)
		CHECK(fpu_cases[k].name, fpu_binop(fpu_cases[k].op, fpu_cases[k].a, fpu_cases[k].b), fpu_cases[k].want);

	i32 = (uint32_t)-7;
	__asm__ volatile("fninit\n\tfildl %1\n\tfstpl %0" : "=m"(r) : "m"(i32));
	CHECK("x87/fild_negative", r, 0xc01c000000000000);
	r = 0x4062000000000000;	/* 144 */
	__asm__ volatile("fninit\n\tfldl %1\n\tfsqrt\n\tfstpl %0" : "=m"(s) : "m"(r));
	CHECK("x87/fsqrt_perfect_square", s, 0x4028000000000000);
	r = 0xbff0000000000000;	/* -1 */
	__asm__ volatile("fninit\n\tfldl %2\n\tfsqrt\n\tfstpl %0\n\tfnstsw %1" : "=m"(s), "=m"(sw) : "m"(r));
	CHECK2("x87/fsqrt_negative_indefinite", s, D_INDEF, sw & 0x3f, 0x01);
	r = 0;
	s = D_ONE;
	__asm__ volatile("fninit\n\tfldl %2\n\tfdivl %3\n\tfstpl %0\n\tfnstsw %1" : "=m"(s), "=m"(sw) : "m"(s), "m"(r));
	CHECK2("x87/fdiv_by_zero_masked", s, D_INF, sw & 0x3f, 0x04);
	{
		uint64_t two = D_TWO, a, b;
		__asm__ volatile("fninit\n\tfld1\n\tfldl %2\n\tfxch\n\tfstpl %0\n\tfstpl %1" : "=m"(a), "=m"(b) : "m"(two));
		CHECK2("x87/fxch", a, D_ONE, b, D_TWO);
		__asm__ volatile("fninit\n\tfld1\n\tfchs\n\tfstpl %0\n\tfld1\n\tfchs\n\tfabs\n\tfstpl %1" : "=m"(a), "=m"(b));
		CHECK2("x87/fchs_fabs", a, 0xbff0000000000000, b, D_ONE);
	}
	__asm__ volatile("fninit\n\tfld1\n\tfnstsw %0\n\tfstp %%st(0)" : "=m"(sw));
	CHECK("x87/fnstsw_top_after_push", sw, 0x3800);
	cw = 0x0e7f;
	__asm__ volatile("fninit\n\tfldcw %1\n\tfnstcw %0\n\tfninit" : "=m"(sw) : "m"(cw));
	CHECK("x87/fldcw_fnstcw_round_trip", sw, 0x0e7f);

	CHECK("x87/fcom_less", fcom_cc(D_ONE, D_TWO), 0x0100);
	CHECK("x87/fcom_greater", fcom_cc(D_TWO, D_ONE), 0x0000);
	CHECK("x87/fcom_equal", fcom_cc(D_TWO, D_TWO), 0x4000);
	CHECK("x87/fcom_unordered", fcom_cc(D_NAN, D_ONE), 0x4500);
	CHECK("x87/fcomi_less", fcomi_flags(D_ONE, D_TWO), F_CF);
	CHECK("x87/fcomi_greater", fcomi_flags(D_THREE, D_TWO), 0);
	CHECK("x87/fcomi_equal", fcomi_flags(D_ONE, D_ONE), F_ZF);
	CHECK("x87/fucomi_unordered", fucomi_flags(D_NAN, D_ONE), F_ZF | F_PF | F_CF);

	/* FISTP under each rounding control, of 2.5 and -2.5. */
	CHECK("x87/fistp_nearest_even_pos", fistp_rc(0x4004000000000000, 0), 2);
	CHECK("x87/fistp_nearest_even_neg", fistp_rc(0xc004000000000000, 0), (uint32_t)-2);
	CHECK("x87/fistp_down_pos", fistp_rc(0x4004000000000000, 1), 2);
	CHECK("x87/fistp_down_neg", fistp_rc(0xc004000000000000, 1), (uint32_t)-3);
	CHECK("x87/fistp_up_pos", fistp_rc(0x4004000000000000, 2), 3);
	CHECK("x87/fistp_up_neg", fistp_rc(0xc004000000000000, 2), (uint32_t)-2);
	CHECK("x87/fistp_chop_pos", fistp_rc(0x4004000000000000, 3), 2);
	CHECK("x87/fistp_chop_neg", fistp_rc(0xc004000000000000, 3), (uint32_t)-2);
	CHECK("x87/fistp_nearest_3_5_to_even", fistp_rc(0x400c000000000000, 0), 4);
	CHECK("x87/fistp_out_of_range_indefinite", fistp_rc(0x4202a05f20000000, 0), 0x80000000);
	__asm__ volatile("fninit");
}

/* ---- FBLD / FBSTP: m80 packed BCD (SDM vol. 1 4.7, table 4-3): 18
 * digits, two per byte, low digit in the low nibble, byte 0 least
 * significant; bit 7 of byte 9 is the sign. FBSTP rounds by FCW.RC; a NaN
 * stores the packed BCD indefinite FFFF C000 0000 0000 0000H and sets IE. */
static uint64_t bcd_lo(const uint8_t *b)
{
	uint64_t v = 0;
	int k;
	for (k = 7; k >= 0; k--)
		v = (v << 8) | b[k];
	return v;
}
static unsigned bcd_hi(const uint8_t *b)
{
	return b[8] | (unsigned)b[9] << 8;
}

static void bcd_checks(void)
{
	static const uint8_t big[10] = { 0x78, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x00 };
	static const uint8_t neg[10] = { 0x34, 0x12, 0, 0, 0, 0, 0, 0, 0, 0x80 };	/* -1234 */
	uint8_t out[10];
	int64_t q;
	uint64_t d;
	uint16_t sw;

	__asm__ volatile("fninit\n\tfbld %1\n\tfistpll %0" : "=m"(q) : "m"(big));
	CHECK("x87/fbld_18_digits", (uint64_t)q, 123456789012345678ULL);
	__asm__ volatile("fninit\n\tfbld %1\n\tfistpll %0" : "=m"(q) : "m"(neg));
	CHECK("x87/fbld_negative", (uint64_t)q, (uint64_t)-1234);
	__asm__ volatile("fninit\n\tfbld %2\n\tfbstp %0\n\tfnstsw %1" : "=m"(out), "=m"(sw) : "m"(big));
	CHECK2("x87/fbstp_round_trip", bcd_lo(out), bcd_lo(big), bcd_hi(out), bcd_hi(big));
	CHECK("x87/fbstp_pops", sw & 0x3800, 0);
	__asm__ volatile("fninit\n\tfbld %1\n\tfbstp %0" : "=m"(out) : "m"(neg));
	CHECK2("x87/fbstp_negative", bcd_lo(out), 0x1234, bcd_hi(out), 0x8000);
	d = 0x4004000000000000ULL;	/* 2.5 */
	__asm__ volatile("fninit\n\tfldl %2\n\tfbstp %0\n\tfnstsw %1" : "=m"(out), "=m"(sw) : "m"(d));
	CHECK2("x87/fbstp_2_5_nearest_even", bcd_lo(out), 2, bcd_hi(out), 0);
	CHECK("x87/fbstp_inexact", sw & 0x3f, 0x20);
	d = D_NAN;
	__asm__ volatile("fninit\n\tfldl %2\n\tfbstp %0\n\tfnstsw %1" : "=m"(out), "=m"(sw) : "m"(d));
	CHECK2("x87/fbstp_nan_indefinite", bcd_lo(out), 0xc000000000000000ULL, bcd_hi(out), 0xffff);
	CHECK("x87/fbstp_nan_ie", sw & 0x3f, 0x01);
	d = 0x43abc16d674ec800ULL;	/* 1e18: 19 digits */
	__asm__ volatile("fninit\n\tfldl %2\n\tfbstp %0\n\tfnstsw %1" : "=m"(out), "=m"(sw) : "m"(d));
	CHECK2("x87/fbstp_1e18_indefinite", bcd_lo(out), 0xc000000000000000ULL, bcd_hi(out), 0xffff);
	__asm__ volatile("fninit");
}

/* ---- FXSAVE / FXRSTOR ---- */
static uint8_t fx_area[512] __attribute__((aligned(16)));

static uint64_t fx_u64(unsigned off)
{
	uint64_t v = 0;
	int k;
	for (k = 7; k >= 0; k--)
		v = (v << 8) | fx_area[off + (unsigned)k];
	return v;
}
static unsigned fx_u16(unsigned off)
{
	return fx_area[off] | (unsigned)fx_area[off + 1] << 8;
}

static void fxsave_checks(void)
{
	static const uint64_t pat[2] __attribute__((aligned(16))) = { 0x0123456789abcdef, 0xfedcba9876543210 };
	const uint32_t mx_up = 0x5f80, mx_def = 0x1f80;
	uint64_t after[2], pi, one;
	uint16_t cw, sw;
	uint32_t mx;
	size_t k;
	for (k = 0; k < sizeof(fx_area); k++)
		fx_area[k] = 0;
	__asm__ volatile("fninit\n\t"
			 "fld1\n\t"
			 "fldpi\n\t"
			 "ldmxcsr %[mx_up]\n\t"
			 "movdqu %[pat], %%xmm0\n\t"
#ifdef __x86_64__
			 "movdqu %[pat], %%xmm15\n\t"
#endif
			 "fxsave %[area]\n\t"
			 /* scramble everything FXRSTOR must bring back */
			 "fninit\n\t"
			 "ldmxcsr %[mx_def]\n\t"
			 "pxor %%xmm0, %%xmm0\n\t"
#ifdef __x86_64__
			 "pxor %%xmm15, %%xmm15\n\t"
#endif
			 "fxrstor %[area]\n\t"
			 "fnstcw %[cw]\n\t"
			 "fnstsw %[sw]\n\t"
			 "stmxcsr %[mx]\n\t"
			 "movdqu %%xmm0, %[after]\n\t"
			 "fstpl %[pi]\n\t"
			 "fstpl %[one]\n\t"
			 "ldmxcsr %[mx_def]"
			 : [area] "+m"(fx_area), [cw] "=m"(cw), [sw] "=m"(sw), [mx] "=m"(mx), [after] "=m"(after),
			   [pi] "=m"(pi), [one] "=m"(one)
			 : [mx_up] "m"(mx_up), [mx_def] "m"(mx_def), [pat] "m"(pat)
			 : "memory" XC("xmm0")
#ifdef __x86_64__
			 XC("xmm15")
#endif
	);
	CHECK("fxsave/fcw", fx_u16(0), 0x037f);
	CHECK("fxsave/fsw_top6", fx_u16(2), 0x3000);
	CHECK("fxsave/abridged_ftw", fx_area[4], 0xc0);
	CHECK("fxsave/mxcsr", fx_u64(24) & 0xffffffff, mx_up);
	CHECK2("fxsave/st0_pi", fx_u64(32), 0xc90fdaa22168c235, fx_u16(40), 0x4000);
	CHECK2("fxsave/st1_one", fx_u64(48), 0x8000000000000000, fx_u16(56), 0x3fff);
	CHECK2("fxsave/xmm0", fx_u64(160), pat[0], fx_u64(168), pat[1]);
#ifdef __x86_64__
	CHECK2("fxsave/xmm15", fx_u64(160 + 15 * 16), pat[0], fx_u64(168 + 15 * 16), pat[1]);
#endif
	CHECK2("fxrstor/fcw_fsw", cw, 0x037f, sw, 0x3000);
	CHECK("fxrstor/mxcsr", mx, mx_up);
	CHECK2("fxrstor/xmm0", after[0], pat[0], after[1], pat[1]);
	CHECK2("fxrstor/st0_st1", pi, D_PI, one, D_ONE);
}

void GEN(x87_checks)(void)
{
	basic_checks();
	bcd_checks();
	fxsave_checks();
}
