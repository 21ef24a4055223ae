/* The SSE/SSE2 instructions compilers emit: moves, logic, compares,
 * PMOVMSKB/MOVMSKPD, scalar and packed double arithmetic, conversions,
 * integer adds/subtracts/compares, shuffles, unpacks and shifts.
 *
 * Every value is a bit pattern (README.md lists the doubles used). SDM facts
 * relied on: legacy-SSE scalar ops (ADDSD, SQRTSD, CVTSI2SD, CVTSD2SS, ...)
 * leave the rest of the destination register unchanged, while MOVSS/MOVSD
 * from memory and MOVD/MOVQ zero it; MINSD/MAXSD return the second (source)
 * operand when either is a NaN or both are zeros; CMPSD/CMPSS/CMPPD
 * predicates 0-7 are EQ LT LE UNORD NEQ NLT NLE ORD, true = all ones;
 * COMISD/UCOMISD set ZF PF CF = 000 (>), 001 (<), 100 (=), 111
 * (unordered) and clear OF SF AF; CVTSD2SI rounds by MXCSR.RC, CVTTSD2SI
 * truncates, and both return the integer indefinite (80000000H, or
 * 8000000000000000H for 64 bits) for NaN or out-of-range values with the
 * invalid exception masked (as it is in MXCSR 1F80H); packed shifts by an
 * immediate above the element width give 0 (logical) or the sign (PSRA);
 * MOVAPS on a misaligned operand raises #GP(0). */
#include "general.h"
#include "fault.h"

typedef struct {
	uint64_t lo, hi;
} __attribute__((aligned(16))) v128;

#define D_ONE 0x3ff0000000000000ULL
#define D_TWO 0x4000000000000000ULL
#define D_THREE 0x4008000000000000ULL
#define D_NAN 0x7ff8000000000000ULL
#define HI 0xdeadbeefcafef00dULL	/* upper lane that scalar ops must keep */

/* r = a op b with xmm0 = a (destination) and xmm1 = b (source). */
#define P2(fname, text)                                                            \
	static void fname(const v128 *a, const v128 *b, v128 *r)                   \
	{                                                                          \
		__asm__ volatile("movdqu %1, %%xmm0\n\tmovdqu %2, %%xmm1\n\t" text \
				 " %%xmm1, %%xmm0\n\tmovdqu %%xmm0, %0"            \
				 : "=m"(*r) : "m"(*a), "m"(*b) : "memory" XC("xmm0") XC("xmm1")); \
	}

P2(andps, "andps") P2(orps, "orps") P2(xorps, "xorps") P2(pand, "pand") P2(por, "por")
P2(pxor, "pxor") P2(pandn, "pandn")
P2(addsd, "addsd") P2(subsd, "subsd") P2(mulsd, "mulsd") P2(divsd, "divsd") P2(sqrtsd, "sqrtsd")
P2(minsd, "minsd") P2(maxsd, "maxsd")
P2(addpd, "addpd") P2(subpd, "subpd") P2(mulpd, "mulpd") P2(divpd, "divpd") P2(sqrtpd, "sqrtpd")
P2(paddb, "paddb") P2(paddw, "paddw") P2(paddd, "paddd") P2(paddq, "paddq")
P2(psubb, "psubb") P2(psubw, "psubw") P2(psubd, "psubd") P2(psubq, "psubq")
P2(pcmpeqb, "pcmpeqb") P2(pcmpeqw, "pcmpeqw") P2(pcmpeqd, "pcmpeqd")
P2(pcmpgtb, "pcmpgtb") P2(pcmpgtw, "pcmpgtw") P2(pcmpgtd, "pcmpgtd")
P2(pshufd_1b, "pshufd $0x1b,") P2(punpcklbw, "punpcklbw") P2(punpcklwd, "punpcklwd")
P2(punpckldq, "punpckldq") P2(punpcklqdq, "punpcklqdq")
P2(movhlps, "movhlps") P2(unpcklpd, "unpcklpd") P2(unpckhpd, "unpckhpd")
P2(shufpd_1, "shufpd $1,") P2(shufpd_2, "shufpd $2,")
P2(movq_xmm, "movq") P2(movss_xmm, "movss") P2(movsd_xmm, "movsd")
P2(cvtsd2ss, "cvtsd2ss") P2(cvtss2sd, "cvtss2sd")

/* Shifts by an immediate act on xmm0 alone; b is unused. */
#define PSH(fname, text)                                                           \
	static void fname(const v128 *a, const v128 *b, v128 *r)                   \
	{                                                                          \
		(void)b;                                                           \
		__asm__ volatile("movdqu %1, %%xmm0\n\t" text                      \
				 ", %%xmm0\n\tmovdqu %%xmm0, %0"                   \
				 : "=m"(*r) : "m"(*a) : "memory" XC("xmm0"));      \
	}
PSH(psllw4, "psllw $4") PSH(psrlw15, "psrlw $15") PSH(psraw15, "psraw $15") PSH(psraw16, "psraw $16")
PSH(pslld1, "pslld $1") PSH(psrld31, "psrld $31") PSH(psrad31, "psrad $31") PSH(psllq63, "psllq $63")
PSH(psrlq4, "psrlq $4") PSH(psllq64, "psllq $64")

struct v_case {
	const char *name;
	void (*fn)(const v128 *, const v128 *, v128 *);
	uint64_t a_lo, a_hi, b_lo, b_hi, r_lo, r_hi;
};

static const struct v_case v_cases[] = {
	/* logic */
	{ "sse/andps", andps, 0xffff0000ffff0000, 0x00ff00ff00ff00ff, 0x0f0f0f0f0f0f0f0f, 0xffffffff00000000, 0x0f0f00000f0f0000, 0x00ff00ff00000000 },
	{ "sse/orps", orps, 0xffff0000ffff0000, 0x00ff00ff00ff00ff, 0x0f0f0f0f0f0f0f0f, 0xffffffff00000000, 0xffff0f0fffff0f0f, 0xffffffff00ff00ff },
	{ "sse/xorps", xorps, 0xffff0000ffff0000, 0x00ff00ff00ff00ff, 0x0f0f0f0f0f0f0f0f, 0xffffffff00000000, 0xf0f00f0ff0f00f0f, 0xff00ff0000ff00ff },
	{ "sse/pand", pand, 0xffff0000ffff0000, 0x00ff00ff00ff00ff, 0x0f0f0f0f0f0f0f0f, 0xffffffff00000000, 0x0f0f00000f0f0000, 0x00ff00ff00000000 },
	{ "sse/por", por, 0xffff0000ffff0000, 0x00ff00ff00ff00ff, 0x0f0f0f0f0f0f0f0f, 0xffffffff00000000, 0xffff0f0fffff0f0f, 0xffffffff00ff00ff },
	{ "sse/pxor", pxor, 0xffff0000ffff0000, 0x00ff00ff00ff00ff, 0x0f0f0f0f0f0f0f0f, 0xffffffff00000000, 0xf0f00f0ff0f00f0f, 0xff00ff0000ff00ff },
	{ "sse/pandn", pandn, 0xffff0000ffff0000, 0x00ff00ff00ff00ff, 0x0f0f0f0f0f0f0f0f, 0xffffffff00000000, 0x00000f0f00000f0f, 0xff00ff0000000000 },
	/* scalar double: the upper lane of the destination survives */
	{ "sse/addsd", addsd, 0x3ff8000000000000, HI, 0x4002000000000000, 0x1111, 0x400e000000000000, HI },
	{ "sse/subsd", subsd, D_ONE, HI, D_THREE, 0, 0xc000000000000000, HI },
	{ "sse/mulsd", mulsd, D_THREE, HI, 0xbfe0000000000000, 0, 0xbff8000000000000, HI },
	{ "sse/divsd_rounded", divsd, D_ONE, HI, D_THREE, 0, 0x3fd5555555555555, HI },
	{ "sse/sqrtsd_2", sqrtsd, 0x5555, HI, D_TWO, 0, 0x3ff6a09e667f3bcd, HI },
	{ "sse/sqrtsd_perfect_square", sqrtsd, 0, HI, 0x4062000000000000, 0, 0x4028000000000000, HI },
	{ "sse/minsd", minsd, D_ONE, HI, D_TWO, 0, D_ONE, HI },
	{ "sse/minsd_nan_first_gives_source", minsd, D_NAN, HI, D_ONE, 0, D_ONE, HI },
	{ "sse/minsd_nan_source_gives_nan", minsd, D_ONE, HI, D_NAN, 0, D_NAN, HI },
	{ "sse/maxsd", maxsd, D_TWO, HI, 0x4014000000000000, 0, 0x4014000000000000, HI },
	{ "sse/maxsd_zeros_give_source", maxsd, 0x8000000000000000, HI, 0, 0, 0, HI },
	/* packed double */
	{ "sse/addpd", addpd, D_ONE, D_TWO, D_THREE, 0x4010000000000000, 0x4010000000000000, 0x4018000000000000 },
	{ "sse/subpd", subpd, D_ONE, D_TWO, D_THREE, 0x4010000000000000, 0xc000000000000000, 0xc000000000000000 },
	{ "sse/mulpd", mulpd, 0x3ff8000000000000, 0xc000000000000000, D_TWO, 0x3fe0000000000000, D_THREE, 0xbff0000000000000 },
	{ "sse/divpd", divpd, D_ONE, 0x4022000000000000, D_THREE, D_THREE, 0x3fd5555555555555, D_THREE },
	{ "sse/sqrtpd", sqrtpd, 0, 0, 0x4062000000000000, 0x4010000000000000, 0x4028000000000000, D_TWO },
	/* integer add / subtract wrap per element */
	{ "sse/paddb", paddb, 0x7f800001ff00ff01, 0, 0x0101010101010101, 0xffffffffffffffff, 0x8081010200010002, 0xffffffffffffffff },
	{ "sse/paddw", paddw, 0xffff00017fff8000, 0x1234, 0x0001000100010001, 0, 0x0000000280008001, 0x1234 },
	{ "sse/paddd", paddd, 0xffffffff00000001, 0x7fffffff80000000, 0x0000000100000001, 0x0000000180000000, 0x0000000000000002, 0x8000000000000000 },
	{ "sse/paddq", paddq, 0xffffffffffffffff, 1, 1, 2, 0, 3 },
	{ "sse/psubb", psubb, 0, 0x8080808080808080, 0x0101010101010101, 0x0101010101010101, 0xffffffffffffffff, 0x7f7f7f7f7f7f7f7f },
	{ "sse/psubw", psubw, 0x0000800000010000, 0, 0x0001000100010001, 0, 0xffff7fff0000ffff, 0 },
	{ "sse/psubd", psubd, 0x0000000000000001, 0x8000000000000000, 0x0000000100000002, 1, 0xffffffffffffffff, 0x80000000ffffffff },
	{ "sse/psubq", psubq, 0, 5, 1, 7, 0xffffffffffffffff, 0xfffffffffffffffe },
	/* integer compares */
	{ "sse/pcmpeqb", pcmpeqb, 0x1122334455667788, 0, 0x1100330055007700, 0, 0xff00ff00ff00ff00, 0xffffffffffffffff },
	{ "sse/pcmpeqw", pcmpeqw, 0x0001000200030004, 1, 0x0001ffff00030000, 2, 0xffff0000ffff0000, 0xffffffffffff0000 },
	{ "sse/pcmpeqd", pcmpeqd, 0x0000000100000002, 7, 0x0000000100000003, 7, 0xffffffff00000000, 0xffffffffffffffff },
	{ "sse/pcmpgtb_signed", pcmpgtb, 0x7f80000102030405, 0, 0x00000000020304ff, 0x8080808080808080, 0xff0000ff000000ff, 0xffffffffffffffff },
	{ "sse/pcmpgtw_signed", pcmpgtw, 0x8000000100027fff, 0, 0x0000000000030000, 0, 0x0000ffff0000ffff, 0 },
	{ "sse/pcmpgtd_signed", pcmpgtd, 0x8000000000000001, 0, 0x7fffffff00000000, 0, 0x00000000ffffffff, 0 },
	/* shuffles and unpacks */
	{ "sse/pshufd_reverse", pshufd_1b, 0, 0, 0x0000000100000000, 0x0000000300000002, 0x0000000200000003, 0x0000000000000001 },
	{ "sse/punpcklbw", punpcklbw, 0x0706050403020100, 0xaaaa, 0x1716151413121110, 0xbbbb, 0x1303120211011000, 0x1707160615051404 },
	{ "sse/punpcklwd", punpcklwd, 0x0003000200010000, 0xaaaa, 0x0013001200110010, 0xbbbb, 0x0011000100100000, 0x0013000300120002 },
	{ "sse/punpckldq", punpckldq, 0x0000000100000000, 0xaaaa, 0x0000001100000010, 0xbbbb, 0x0000001000000000, 0x0000001100000001 },
	{ "sse/punpcklqdq", punpcklqdq, 0x1111, 0x2222, 0x3333, 0x4444, 0x1111, 0x3333 },
	{ "sse/movhlps", movhlps, 0x1111, 0x2222, 0x3333, 0x4444, 0x4444, 0x2222 },
	{ "sse/unpcklpd", unpcklpd, 0x1111, 0x2222, 0x3333, 0x4444, 0x1111, 0x3333 },
	{ "sse/unpckhpd", unpckhpd, 0x1111, 0x2222, 0x3333, 0x4444, 0x2222, 0x4444 },
	{ "sse/shufpd_1", shufpd_1, 0x1111, 0x2222, 0x3333, 0x4444, 0x2222, 0x3333 },
	{ "sse/shufpd_2", shufpd_2, 0x1111, 0x2222, 0x3333, 0x4444, 0x1111, 0x4444 },
	/* shifts by immediate */
	{ "sse/psllw_4", psllw4, 0x8001800180018001, 0x000f000f000f000f, 0, 0, 0x0010001000100010, 0x00f000f000f000f0 },
	{ "sse/psrlw_15", psrlw15, 0x8000800080008000, 0x7fff7fff7fff7fff, 0, 0, 0x0001000100010001, 0 },
	{ "sse/psraw_15", psraw15, 0x8000800080008000, 0x7fff7fff7fff7fff, 0, 0, 0xffffffffffffffff, 0 },
	{ "sse/psraw_16_sign_fill", psraw16, 0x8000000100028003, 0x7fff7fff7fff7fff, 0, 0, 0xffff00000000ffff, 0 },
	{ "sse/pslld_1", pslld1, 0x8000000180000001, 0x4000000040000000, 0, 0, 0x0000000200000002, 0x8000000080000000 },
	{ "sse/psrld_31", psrld31, 0x8000000180000001, 0x4000000040000000, 0, 0, 0x0000000100000001, 0 },
	{ "sse/psrad_31", psrad31, 0x8000000000000001, 0x7fffffff80000000, 0, 0, 0xffffffff00000000, 0x00000000ffffffff },
	{ "sse/psllq_63", psllq63, 1, 3, 0, 0, 0x8000000000000000, 0x8000000000000000 },
	{ "sse/psrlq_4", psrlq4, 0x123456789abcdef0, 0x8000000000000000, 0, 0, 0x0123456789abcdef, 0x0800000000000000 },
	{ "sse/psllq_64_zero", psllq64, 1, 1, 0, 0, 0, 0 },
	/* register-to-register moves */
	{ "sse/movq_xmm_zeroes_upper", movq_xmm, 0x1111, 0x2222, 0x3333, 0x4444, 0x3333, 0 },
	{ "sse/movss_xmm_merges", movss_xmm, 0xffffffffffffffff, 0xffffffffffffffff, 0x1111111122222222, 0x3333, 0xffffffff22222222, 0xffffffffffffffff },
	{ "sse/movsd_xmm_merges", movsd_xmm, 0x1111, 0x2222, 0x3333, 0x4444, 0x3333, 0x2222 },
	/* precision conversions keep the rest of the destination */
	{ "sse/cvtsd2ss", cvtsd2ss, 0x1234567800000000, HI, 0x3fd5555555555555, 0, 0x123456783eaaaaab, HI },
	{ "sse/cvtsd2ss_overflow_inf", cvtsd2ss, 0, HI, 0x7e37e43c8800759c, 0, 0x000000007f800000, HI },
	{ "sse/cvtss2sd", cvtss2sd, 0, HI, 0x3fc00000, 0, 0x3ff8000000000000, HI },
};

/* ---- compares ---- */
/* Bit k of the result is predicate k of CMPSD/CMPSS on lane 0 (and of
 * CMPPD on lane 1 in bits 8..15). */
#define CMPK(k, insn, w)                                                                         \
	__asm__ volatile("movdqu %1, %%xmm0\n\tmovdqu %2, %%xmm1\n\t" insn " $" #k ", %%xmm1, %%xmm0\n\t" \
			 "movdqu %%xmm0, %0"                                                     \
			 : "=m"(r) : "m"(*a), "m"(*b) : "memory" XC("xmm0") XC("xmm1"));         \
	m |= (unsigned)((r.lo & w) == w) << k;                                                   \
	m |= (unsigned)(r.hi == ~0ULL) << (k + 8);
#define CMP_ALL(fname, insn, w)                                                 \
	static unsigned fname(const v128 *a, const v128 *b)                     \
	{                                                                       \
		v128 r;                                                         \
		unsigned m = 0;                                                 \
		CMPK(0, insn, w) CMPK(1, insn, w) CMPK(2, insn, w) CMPK(3, insn, w) \
		CMPK(4, insn, w) CMPK(5, insn, w) CMPK(6, insn, w) CMPK(7, insn, w) \
		return m;                                                       \
	}
CMP_ALL(cmpsd_all, "cmpsd", ~0ULL) CMP_ALL(cmpss_all, "cmpss", 0xffffffffULL) CMP_ALL(cmppd_all, "cmppd", ~0ULL)

static ulong comisd_flags(uint64_t a, uint64_t b, int unordered_variant)
{
	ulong f = FLAGS_LOAD(F_OF | F_SF | F_AF);
	if (unordered_variant)
		__asm__ volatile("movsd %[a], %%xmm0\n\t" FLAGS_IN "ucomisd %[b], %%xmm0" FLAGS_OUT
				 : [fl] "+r"(f) : [a] "m"(a), [b] "m"(b) : "cc" XC("xmm0"));
	else
		__asm__ volatile("movsd %[a], %%xmm0\n\t" FLAGS_IN "comisd %[b], %%xmm0" FLAGS_OUT
				 : [fl] "+r"(f) : [a] "m"(a), [b] "m"(b) : "cc" XC("xmm0"));
	return f & F_ARITH;
}

/* ---- conversions with MXCSR ---- */
static uint32_t cvtsd2si_rc(uint64_t v, uint32_t rc)
{
	uint32_t mx = 0x1f80 | (rc << 13), def = 0x1f80, r;
	__asm__ volatile("ldmxcsr %2\n\tcvtsd2si %1, %0\n\tldmxcsr %3" : "=r"(r) : "m"(v), "m"(mx), "m"(def));
	return r;
}
static uint32_t cvttsd2si32(uint64_t v)
{
	uint32_t r;
	__asm__ volatile("cvttsd2si %1, %0" : "=r"(r) : "m"(v));
	return r;
}

static void compare_checks(void)
{
	v128 a = { D_ONE, D_NAN }, b = { D_TWO, D_ONE }, c = { D_TWO, 0 }, n = { D_NAN, 0 }, o = { D_ONE, 0 };
	v128 fa = { 0x3f800000, 0 }, fb = { 0x40000000, 0 }, fn = { 0x7fc00000, 0 }, fo = { 0x3f800000, 0 };
	/* predicates EQ LT LE UNORD NEQ NLT NLE ORD: 1 < 2 -> 96H, NaN vs 1 -> 78H, 2 = 2 -> A5H */
	CHECK("sse/cmpsd_less", cmpsd_all(&a, &b) & 0xff, 0x96);
	CHECK("sse/cmpsd_unordered", cmpsd_all(&n, &o) & 0xff, 0x78);
	CHECK("sse/cmpsd_equal", cmpsd_all(&c, &c) & 0xff, 0xa5);
	CHECK("sse/cmpss_less", cmpss_all(&fa, &fb) & 0xff, 0x96);
	CHECK("sse/cmpss_unordered", cmpss_all(&fn, &fo) & 0xff, 0x78);
	CHECK("sse/cmppd_both_lanes", cmppd_all(&a, &b), 0x7896);

	CHECK("sse/comisd_less", comisd_flags(D_ONE, D_TWO, 0), F_CF);
	CHECK("sse/comisd_greater", comisd_flags(D_TWO, D_ONE, 0), 0);
	CHECK("sse/comisd_equal", comisd_flags(D_ONE, D_ONE, 0), F_ZF);
	CHECK("sse/comisd_zeros_equal", comisd_flags(0x8000000000000000, 0, 0), F_ZF);
	CHECK("sse/comisd_unordered", comisd_flags(D_NAN, D_ONE, 0), F_ZF | F_PF | F_CF);
	CHECK("sse/ucomisd_less", comisd_flags(D_ONE, D_TWO, 1), F_CF);
	CHECK("sse/ucomisd_unordered", comisd_flags(D_ONE, D_NAN, 1), F_ZF | F_PF | F_CF);
}

static void convert_checks(void)
{
	v128 r;
	uint32_t i32 = (uint32_t)-3;
	r.lo = 0;
	r.hi = HI;
	__asm__ volatile("movdqu %0, %%xmm0\n\tcvtsi2sdl %1, %%xmm0\n\tmovdqu %%xmm0, %0"
			 : "+m"(r) : "m"(i32) : "memory" XC("xmm0"));
	CHECK2("sse/cvtsi2sd_negative", r.lo, 0xc008000000000000, r.hi, HI);
	CHECK("sse/cvttsd2si_truncates_pos", cvttsd2si32(0x400599999999999a), 2);		/* 2.7 */
	CHECK("sse/cvttsd2si_truncates_neg", cvttsd2si32(0xc00599999999999a), 0xfffffffe);	/* -2.7 */
	CHECK("sse/cvttsd2si_out_of_range", cvttsd2si32(0x4202a05f20000000), 0x80000000);	/* 1e10 */
	CHECK("sse/cvttsd2si_nan", cvttsd2si32(D_NAN), 0x80000000);
	CHECK("sse/cvtsd2si_nearest_pos", cvtsd2si_rc(0x4004000000000000, 0), 2);
	CHECK("sse/cvtsd2si_nearest_neg", cvtsd2si_rc(0xc004000000000000, 0), 0xfffffffe);
	CHECK("sse/cvtsd2si_down_pos", cvtsd2si_rc(0x4004000000000000, 1), 2);
	CHECK("sse/cvtsd2si_down_neg", cvtsd2si_rc(0xc004000000000000, 1), 0xfffffffd);
	CHECK("sse/cvtsd2si_up_pos", cvtsd2si_rc(0x4004000000000000, 2), 3);
	CHECK("sse/cvtsd2si_up_neg", cvtsd2si_rc(0xc004000000000000, 2), 0xfffffffe);
	CHECK("sse/cvtsd2si_chop_pos", cvtsd2si_rc(0x4004000000000000, 3), 2);
	CHECK("sse/cvtsd2si_chop_neg", cvtsd2si_rc(0xc004000000000000, 3), 0xfffffffe);
	CHECK("sse/cvtsd2si_out_of_range", cvtsd2si_rc(0xc202a05f20000000, 0), 0x80000000);	/* -1e10 */
#ifdef __x86_64__
	{
		uint64_t big = 0x4415af1d78b58c40, q, d, d_up, mx_up = 0x5f80, mx_def = 0x1f80;	/* 1e20 */
		uint64_t n53 = (1ULL << 53) + 1;
		__asm__ volatile("cvttsd2si %1, %0" : "=r"(q) : "m"(big));
		CHECK("sse/cvttsd2si64_out_of_range", q, 0x8000000000000000);
		__asm__ volatile("cvtsi2sdq %2, %%xmm0\n\tmovq %%xmm0, %0\n\t"
				 "ldmxcsr %3\n\tcvtsi2sdq %2, %%xmm0\n\tmovq %%xmm0, %1\n\tldmxcsr %4"
				 : "=r"(d), "=r"(d_up) : "r"(n53), "m"(mx_up), "m"(mx_def) : "xmm0");
		CHECK("sse/cvtsi2sd64_rounds_nearest_even", d, 0x4340000000000000);
		CHECK("sse/cvtsi2sd64_rounds_up_by_mxcsr", d_up, 0x4340000000000001);
	}
#endif
}

static void move_checks(void)
{
	static v128 al[3];
	static uint8_t buf[48] __attribute__((aligned(16)));
	v128 r, ones = { ~0ULL, ~0ULL }, src = { 0x1122334455667788, 0x99aabbccddeeff00 };
	uint32_t d32 = 0xdeadbeef, f32 = 0x3f800000, out32;
	uint64_t d64 = 0x0123456789abcdef;
	unsigned k, mask;

	__asm__ volatile("movdqu %1, %%xmm0\n\tmovd %2, %%xmm0\n\tmovdqu %%xmm0, %0"
			 : "=m"(r) : "m"(ones), "r"(d32) : "memory" XC("xmm0"));
	CHECK2("sse/movd_to_xmm_zero_extends", r.lo, 0xdeadbeef, r.hi, 0);
	__asm__ volatile("movdqu %1, %%xmm0\n\tmovd %%xmm0, %0" : "=r"(out32) : "m"(src) : XC_FIRST("xmm0"));
	CHECK("sse/movd_from_xmm", out32, 0x55667788);
	__asm__ volatile("movdqu %1, %%xmm0\n\tmovq %2, %%xmm0\n\tmovdqu %%xmm0, %0"
			 : "=m"(r) : "m"(ones), "m"(d64) : "memory" XC("xmm0"));
	CHECK2("sse/movq_load_zeroes_upper", r.lo, d64, r.hi, 0);
	__asm__ volatile("movdqu %1, %%xmm0\n\tmovss %2, %%xmm0\n\tmovdqu %%xmm0, %0"
			 : "=m"(r) : "m"(ones), "m"(f32) : "memory" XC("xmm0"));
	CHECK2("sse/movss_load_zeroes_upper", r.lo, 0x3f800000, r.hi, 0);
	__asm__ volatile("movdqu %1, %%xmm0\n\tmovsd %2, %%xmm0\n\tmovdqu %%xmm0, %0"
			 : "=m"(r) : "m"(ones), "m"(d64) : "memory" XC("xmm0"));
	CHECK2("sse/movsd_load_zeroes_upper", r.lo, d64, r.hi, 0);
	{
		uint64_t st = 0;
		__asm__ volatile("movdqu %1, %%xmm0\n\tmovq %%xmm0, %0" : "=m"(st) : "m"(src) : "memory" XC("xmm0"));
		CHECK("sse/movq_store", st, 0x1122334455667788);
	}
	al[0] = src;
	__asm__ volatile("movaps %1, %%xmm0\n\tmovaps %%xmm0, %0" : "=m"(al[1]) : "m"(al[0]) : "memory" XC("xmm0"));
	CHECK2("sse/movaps_aligned", al[1].lo, src.lo, al[1].hi, src.hi);
	__asm__ volatile("movdqa %1, %%xmm1\n\tmovdqa %%xmm1, %0" : "=m"(al[2]) : "m"(al[0]) : "memory" XC("xmm1"));
	CHECK2("sse/movdqa_aligned", al[2].lo, src.lo, al[2].hi, src.hi);
	for (k = 0; k < sizeof(buf); k++)
		buf[k] = (uint8_t)k;
	__asm__ volatile("movups 1(%0), %%xmm0\n\tmovups %%xmm0, 19(%0)\n\tmovdqu 3(%0), %%xmm1\n\tmovdqu %%xmm1, 35(%0)"
			 : : "r"(buf) : "memory" XC("xmm0") XC("xmm1"));
	CHECK2("sse/movups_unaligned", buf[19], 1, buf[34], 16);
	CHECK2("sse/movdqu_unaligned", buf[35], 3, buf[47], 15);

	{
		v128 m = { 0x8000ff7f01800000, 0xffffffffffffffff }, pd = { 0x8000000000000000, 1 };
		v128 pd2 = { 0, 0xbff0000000000000 };
		__asm__ volatile("movdqu %1, %%xmm0\n\tpmovmskb %%xmm0, %0" : "=r"(mask) : "m"(m) : XC_FIRST("xmm0"));
		CHECK("sse/pmovmskb", mask, 0xffa4);
		__asm__ volatile("movdqu %1, %%xmm0\n\tmovmskpd %%xmm0, %0" : "=r"(mask) : "m"(pd) : XC_FIRST("xmm0"));
		CHECK("sse/movmskpd_low", mask, 1);
		__asm__ volatile("movdqu %1, %%xmm0\n\tmovmskpd %%xmm0, %0" : "=r"(mask) : "m"(pd2) : XC_FIRST("xmm0"));
		CHECK("sse/movmskpd_high", mask, 2);
	}
	{
		v128 w = { 0x0003000200010000, 0x0007000600050004 };
		ulong v = 0xabcd, e = (ulong)-1;
		r.lo = 0;
		r.hi = 0;
		__asm__ volatile("movdqu %0, %%xmm0\n\tpinsrw $3, %k1, %%xmm0\n\tpinsrw $7, %k1, %%xmm0\n\tmovdqu %%xmm0, %0"
				 : "+m"(r) : "r"(v) : "memory" XC("xmm0"));
		CHECK2("sse/pinsrw", r.lo, 0xabcd000000000000, r.hi, 0xabcd000000000000);
		__asm__ volatile("movdqu %1, %%xmm0\n\tpextrw $5, %%xmm0, %k0" : "+r"(e) : "m"(w) : XC_FIRST("xmm0"));
		CHECK("sse/pextrw_zero_extends", e, 5);
	}
}

static void misaligned_movaps(void)
{
	static uint8_t area[48] __attribute__((aligned(16)));
	__asm__ volatile("movaps 8(%0), %%xmm0" : : "r"(area) : "memory" XC("xmm0"));
}

void GEN(sse_checks)(void)
{
	size_t i;
	for (i = 0; i < sizeof(v_cases) / sizeof(v_cases[0]); i++) {
		const struct v_case *c = &v_cases[i];
		v128 a, b, r;
		a.lo = c->a_lo;
		a.hi = c->a_hi;
		b.lo = c->b_lo;
		b.hi = c->b_hi;
		c->fn(&a, &b, &r);
		CHECK2(c->name, r.lo, c->r_lo, r.hi, c->r_hi);
	}
	compare_checks();
	convert_checks();
	move_checks();
	if (guest_expect_fault) {
		uint8_t vec = 0xff;
		int faulted = guest_expect_fault(misaligned_movaps, &vec);
		CHECK2("sse/movaps_misaligned_gp", faulted, 1, vec, 13);
	}
}
