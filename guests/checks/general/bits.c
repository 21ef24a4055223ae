/* BT BTS BTR BTC, BSF BSR, TZCNT LZCNT POPCNT.
 *
 * SDM BT/BTS/BTR/BTC: CF = the selected bit (before it is changed); ZF is
 * unaffected; OF SF AF PF are undefined. With a register or immediate bit
 * offset into a register, or an immediate offset into memory, the offset is
 * taken modulo the operand size. With a register offset into memory the
 * offset is a signed bit index into the bit string starting at the memory
 * operand, so it may address bytes before it (negative) or far after it.
 * SDM BSF/BSR: ZF = (source == 0); the destination is undefined for a zero
 * source, so only ZF is checked then; CF OF SF AF PF undefined.
 * TZCNT/LZCNT: CF = (source == 0), ZF = (result == 0), result = operand size
 * for a zero source; OF SF AF PF undefined.
 * POPCNT: OF SF AF CF PF cleared, ZF = (source == 0).
 * TZCNT, LZCNT and POPCNT run only when CPUID says they exist (an engine
 * without BMI1 runs F3 0F BC as BSF, so the bit decides, not a trial). */
#include "general.h"

typedef ulong (*bit_fn)(ulong a, ulong b, ulong *fl);

/* op %b, %a with register operands; the value of a comes back. */
#define BITR(fname, insn, mod)                                                      \
	static ulong fname(ulong a, ulong b, ulong *fl)                             \
	{                                                                           \
		ulong f = FLAGS_LOAD(*fl);                                          \
		__asm__ volatile(FLAGS_IN insn " %" mod "[b], %" mod "[a]" FLAGS_OUT \
				 : [a] "+r"(a), [fl] "+r"(f)                        \
				 : [b] "r"(b)                                       \
				 : "cc");                                           \
		*fl = f;                                                            \
		return a;                                                           \
	}
BITR(bt32r, "btl", "k") BITR(bts32r, "btsl", "k") BITR(btr16r, "btrw", "w") BITR(btc32r, "btcl", "k")
BITR(bsf32, "bsfl", "k") BITR(bsr32, "bsrl", "k") BITR(bsf16, "bsfw", "w") BITR(bsr16, "bsrw", "w")
BITR(tzcnt32, "tzcntl", "k") BITR(tzcnt16, "tzcntw", "w") BITR(lzcnt32, "lzcntl", "k")
BITR(lzcnt16, "lzcntw", "w") BITR(popcnt32, "popcntl", "k") BITR(popcnt16, "popcntw", "w")
#ifdef __x86_64__
BITR(btc64r, "btcq", "q") BITR(bt64r, "btq", "q") BITR(bts64r, "btsq", "q")
BITR(bsr64, "bsrq", "q") BITR(bsf64, "bsfq", "q") BITR(tzcnt64, "tzcntq", "q")
BITR(lzcnt64, "lzcntq", "q") BITR(popcnt64, "popcntq", "q")
#endif

/* op %off, (base) with a register bit offset into memory. */
static uint8_t bitbuf[64] __attribute__((aligned(8)));
#define BIT_BASE 32
#define BITM(fname, insn, mod)                                                        \
	static ulong fname(ulong off, ulong unused, ulong *fl)                        \
	{                                                                             \
		ulong f = FLAGS_LOAD(*fl);                                            \
		(void)unused;                                                         \
		__asm__ volatile(FLAGS_IN insn " %" mod "[off], %[m]" FLAGS_OUT       \
				 : [m] "+m"(*(uint64_t *)&bitbuf[BIT_BASE]), [fl] "+r"(f) \
				 : [off] "r"(off)                                     \
				 : "cc", "memory");                                   \
		*fl = f;                                                              \
		return 0;                                                             \
	}
/* op $imm, (base): the immediate is masked to the operand size. */
#define BITMI(fname, insn, imm)                                                       \
	static ulong fname(ulong off, ulong unused, ulong *fl)                        \
	{                                                                             \
		ulong f = FLAGS_LOAD(*fl);                                            \
		(void)off;                                                            \
		(void)unused;                                                         \
		__asm__ volatile(FLAGS_IN insn " $" #imm ", %[m]" FLAGS_OUT           \
				 : [m] "+m"(*(uint64_t *)&bitbuf[BIT_BASE]), [fl] "+r"(f) \
				 :                                                    \
				 : "cc", "memory");                                   \
		*fl = f;                                                              \
		return 0;                                                             \
	}
BITM(bt32m, "btl", "k") BITM(bt16m, "btw", "w") BITM(bts32m, "btsl", "k") BITM(btr16m, "btrw", "w")
BITM(btc32m, "btcl", "k") BITM(btr32m, "btrl", "k")
BITMI(bt32mi, "btl", 35) BITMI(bts16mi, "btsw", 17)
#ifdef __x86_64__
BITM(bts64m, "btsq", "q") BITM(bt64m, "btq", "q")
#endif

struct bitreg_case {
	const char *name;
	bit_fn fn;
	unsigned width;
	uint64_t a, b, res;
	ulong fin, fout, mask;
};

#define M_BT (F_CF | F_ZF)

static const struct bitreg_case bitreg_cases[] = {
	{ "bits/bt32_reg", bt32r, 32, 0x100, 8, 0x100, F_ZF, F_CF | F_ZF, M_BT },
	{ "bits/bt32_reg_offset_modulo", bt32r, 32, 0x100, 40, 0x100, 0, F_CF, M_BT },
	{ "bits/bts32_reg", bts32r, 32, 0, 31, 0x80000000, F_CF, 0, M_BT },
	{ "bits/btr16_reg_offset_modulo", btr16r, 16, 0xffff, 17, 0xfffd, 0, F_CF, M_BT },
	{ "bits/btc32_reg", btc32r, 32, 0x0f, 3, 0x07, F_ZF, F_CF | F_ZF, M_BT },
	{ "bits/bsf32", bsf32, 32, 0xdead, 0x100, 8, F_ZF, 0, F_ZF },
	{ "bits/bsr32", bsr32, 32, 0xdead, 0x00f00000, 23, F_ZF, 0, F_ZF },
	{ "bits/bsf16", bsf16, 16, 0xdead, 0x8000, 15, F_ZF, 0, F_ZF },
#ifdef __x86_64__
	{ "bits/btc64_reg_offset_modulo", btc64r, 64, 1, 64, 0, 0, F_CF, M_BT },
	{ "bits/bt64_reg_bit63", bt64r, 64, 0x8000000000000000, 63, 0x8000000000000000, 0, F_CF, M_BT },
	{ "bits/bts64_reg_offset_modulo", bts64r, 64, 0, 127, 0x8000000000000000, F_ZF, F_ZF, M_BT },
	{ "bits/bsr64", bsr64, 64, 0, 0x8000000000000001, 63, F_ZF, 0, F_ZF },
	{ "bits/bsf64", bsf64, 64, 0, 0x100000000, 32, F_ZF, 0, F_ZF },
#endif
};

/* Zero source: only ZF is defined. */
struct zero_case {
	const char *name;
	bit_fn fn;
};
static const struct zero_case bit_zero_cases[] = {
	{ "bits/bsf32_zero_sets_zf", bsf32 },
	{ "bits/bsr16_zero_sets_zf", bsr16 },
	{ "bits/bsr32_zero_sets_zf", bsr32 },
};

struct bitmem_case {
	const char *name;
	bit_fn fn;
	long off;
	int init_at;	/* byte relative to the operand, set to init before */
	uint8_t init;
	int want_at;	/* byte that must hold want after */
	uint8_t want;
	ulong fout;
};

static const struct bitmem_case bitmem_cases[] = {
	{ "bits/bt32_mem_offset_40", bt32m, 40, 5, 0x01, 5, 0x01, F_CF | F_ZF },
	{ "bits/bt16_mem_offset_16", bt16m, 16, 2, 0xfe, 2, 0xfe, F_ZF },
	{ "bits/bts32_mem_offset_minus1", bts32m, -1, -1, 0x00, -1, 0x80, F_ZF },
	{ "bits/btr16_mem_offset_minus9", btr16m, -9, -2, 0xff, -2, 0x7f, F_CF | F_ZF },
	{ "bits/btc32_mem_offset_200", btc32m, 200, 25, 0x00, 25, 0x01, F_ZF },
	{ "bits/btr32_mem_offset_minus100", btr32m, -100, -13, 0xff, -13, 0xef, F_CF | F_ZF },
	{ "bits/bt32_mem_imm_offset_modulo", bt32mi, 0, 0, 0x08, 0, 0x08, F_CF | F_ZF },
	{ "bits/bts16_mem_imm_offset_modulo", bts16mi, 0, 2, 0xff, 0, 0x02, F_ZF },
#ifdef __x86_64__
	{ "bits/bts64_mem_offset_minus65", bts64m, -65, -9, 0x00, -9, 0x80, F_ZF },
	{ "bits/bt64_mem_offset_255", bt64m, 255, 31, 0x80, 31, 0x80, F_CF | F_ZF },
#endif
};

struct feature_case {
	const char *name;
	bit_fn fn;
	int feature;	/* FEAT_* below */
	unsigned width;
	uint64_t src, res;
	ulong fin, fout, mask;
};

enum { FEAT_LZCNT, FEAT_TZCNT, FEAT_POPCNT };
#define M_CNT (F_CF | F_ZF)

static const struct feature_case feature_cases[] = {
	{ "bits/tzcnt32_zero", tzcnt32, FEAT_TZCNT, 32, 0, 32, F_ZF, F_CF, M_CNT },
	{ "bits/tzcnt32_bit31", tzcnt32, FEAT_TZCNT, 32, 0x80000000, 31, F_CF | F_ZF, 0, M_CNT },
	{ "bits/tzcnt16_zero", tzcnt16, FEAT_TZCNT, 16, 0, 16, 0, F_CF, M_CNT },
	{ "bits/lzcnt32_zero", lzcnt32, FEAT_LZCNT, 32, 0, 32, F_ZF, F_CF, M_CNT },
	{ "bits/lzcnt32_one", lzcnt32, FEAT_LZCNT, 32, 1, 31, F_CF | F_ZF, 0, M_CNT },
	{ "bits/lzcnt16", lzcnt16, FEAT_LZCNT, 16, 0x00ff, 8, 0, 0, M_CNT },
	{ "bits/popcnt32_all", popcnt32, FEAT_POPCNT, 32, 0xffffffff, 32, F_ARITH, 0, F_ARITH },
	{ "bits/popcnt32_zero", popcnt32, FEAT_POPCNT, 32, 0, 0, F_ARITH & ~F_ZF, F_ZF, F_ARITH },
	{ "bits/popcnt16", popcnt16, FEAT_POPCNT, 16, 0xf0f0, 8, 0, 0, F_ARITH },
#ifdef __x86_64__
	{ "bits/tzcnt64_bit0_zf", tzcnt64, FEAT_TZCNT, 64, 1, 0, F_CF, F_ZF, M_CNT },
	{ "bits/lzcnt64_msb_zf", lzcnt64, FEAT_LZCNT, 64, 0x8000000000000000, 0, 0, F_ZF, M_CNT },
	{ "bits/lzcnt64_zero", lzcnt64, FEAT_LZCNT, 64, 0, 64, 0, F_CF, M_CNT },
	{ "bits/popcnt64", popcnt64, FEAT_POPCNT, 64, 0x8000000000000001, 2, F_CF, 0, F_ARITH },
#endif
};

static int have_feature(int feature)
{
	uint32_t r[4];
	switch (feature) {
	case FEAT_LZCNT:	/* ABM/LZCNT: CPUID 80000001H ECX bit 5 */
		GEN(gen_cpuid)(0x80000000, 0, r);
		if (r[0] < 0x80000001)
			return 0;
		GEN(gen_cpuid)(0x80000001, 0, r);
		return (r[2] >> 5) & 1;
	case FEAT_TZCNT:	/* BMI1: CPUID 7 EBX bit 3 */
		GEN(gen_cpuid)(0, 0, r);
		if (r[0] < 7)
			return 0;
		GEN(gen_cpuid)(7, 0, r);
		return (r[1] >> 3) & 1;
	default:		/* POPCNT: CPUID 1 ECX bit 23 */
		GEN(gen_cpuid)(1, 0, r);
		return (r[2] >> 23) & 1;
	}
}

void GEN(bits_checks)(void)
{
	size_t i;
	for (i = 0; i < sizeof(bitreg_cases) / sizeof(bitreg_cases[0]); i++) {
		const struct bitreg_case *c = &bitreg_cases[i];
		ulong fl = c->fin;
		uint64_t r = c->fn((ulong)c->a, (ulong)c->b, &fl) & width_mask(c->width);
		CHECK2(c->name, r, c->res, fl & c->mask, c->fout & c->mask);
	}
	for (i = 0; i < sizeof(bit_zero_cases) / sizeof(bit_zero_cases[0]); i++) {
		ulong fl = 0;
		bit_zero_cases[i].fn(0x1234, 0, &fl);
		CHECK(bit_zero_cases[i].name, fl & F_ZF, F_ZF);
	}
	for (i = 0; i < sizeof(bitmem_cases) / sizeof(bitmem_cases[0]); i++) {
		const struct bitmem_case *c = &bitmem_cases[i];
		ulong fl = F_ZF;	/* ZF must survive */
		size_t j;
		for (j = 0; j < sizeof(bitbuf); j++)
			bitbuf[j] = 0;
		bitbuf[BIT_BASE + c->init_at] = c->init;
		c->fn((ulong)c->off, 0, &fl);
		CHECK2(c->name, bitbuf[BIT_BASE + c->want_at], c->want, fl & M_BT, c->fout);
	}
	for (i = 0; i < sizeof(feature_cases) / sizeof(feature_cases[0]); i++) {
		const struct feature_case *c = &feature_cases[i];
		ulong fl = c->fin;
		uint64_t r;
		if (!have_feature(c->feature))
			continue;	/* CPUID says the instruction is absent */
		r = c->fn(0x5a5a5a5a, (ulong)c->src, &fl) & width_mask(c->width);
		CHECK2(c->name, r, c->res, fl & c->mask, c->fout & c->mask);
	}
}
