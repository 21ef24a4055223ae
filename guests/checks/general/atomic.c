/* CMPXCHG, CMPXCHG8B, CMPXCHG16B, XADD, XCHG, BSWAP.
 *
 * SDM CMPXCHG: compares the accumulator with the destination; equal: ZF = 1
 * and the source is stored; not equal: ZF = 0 and the destination is loaded
 * into the accumulator. CF PF AF SF OF are those of CMP accumulator, dest.
 * CMPXCHG8B/16B: only ZF is affected; CMPXCHG16B needs a 16-byte aligned
 * operand (#GP(0) otherwise) and CPUID.1:ECX bit 13.
 * XADD: dest = dest + src, src = old dest, flags as ADD.
 * XCHG and BSWAP affect no flag; a 32-bit destination register is
 * zero-extended into 64 bits in long mode. */
#include "general.h"
#include "fault.h"

typedef ulong (*cx_fn)(ulong *acc, ulong dest, ulong src, ulong *fl);

/* Memory destination; returns it, *acc is the accumulator after. */
#define CMPXCHG(fname, type, insn, mod)                                                    \
	static ulong fname(ulong *acc, ulong dest, ulong src, ulong *fl)                   \
	{                                                                                  \
		ulong f = FLAGS_LOAD(*fl), a = *acc;                                       \
		type m = (type)dest;                                                       \
		__asm__ volatile(FLAGS_IN "lock " insn " %" mod "[s], %[m]" FLAGS_OUT      \
				 : [m] "+m"(m), "+a"(a), [fl] "+r"(f)                      \
				 : [s] "q"(src)                                            \
				 : "cc", "memory");                                        \
		*fl = f;                                                                   \
		*acc = a;                                                                  \
		return m;                                                                  \
	}
/* XADD: *acc carries the source register in and out. */
#define XADDM(fname, type, insn, mod)                                                      \
	static ulong fname(ulong *acc, ulong dest, ulong src, ulong *fl)                   \
	{                                                                                  \
		ulong f = FLAGS_LOAD(*fl), s = src;                                        \
		type m = (type)dest;                                                       \
		__asm__ volatile(FLAGS_IN "lock " insn " %" mod "[s], %[m]" FLAGS_OUT      \
				 : [m] "+m"(m), [s] "+q"(s), [fl] "+r"(f)                  \
				 :                                                         \
				 : "cc", "memory");                                        \
		*fl = f;                                                                   \
		*acc = s;                                                                  \
		return m;                                                                  \
	}
/* XADD and XCHG with two registers. */
#define REG2(fname, insn, mod)                                                             \
	static ulong fname(ulong *acc, ulong dest, ulong src, ulong *fl)                   \
	{                                                                                  \
		ulong f = FLAGS_LOAD(*fl), s = src, d = dest;                              \
		__asm__ volatile(FLAGS_IN insn " %" mod "[s], %" mod "[d]" FLAGS_OUT       \
				 : [d] "+q"(d), [s] "+q"(s), [fl] "+r"(f)                  \
				 :                                                         \
				 : "cc");                                                  \
		*fl = f;                                                                   \
		*acc = s;                                                                  \
		return d;                                                                  \
	}
#define XCHGM(fname, type, insn, mod)                                                      \
	static ulong fname(ulong *acc, ulong dest, ulong src, ulong *fl)                   \
	{                                                                                  \
		ulong f = FLAGS_LOAD(*fl), s = src;                                        \
		type m = (type)dest;                                                       \
		__asm__ volatile(FLAGS_IN insn " %" mod "[s], %[m]" FLAGS_OUT              \
				 : [m] "+m"(m), [s] "+q"(s), [fl] "+r"(f)                  \
				 :                                                         \
				 : "cc", "memory");                                        \
		*fl = f;                                                                   \
		*acc = s;                                                                  \
		return m;                                                                  \
	}
CMPXCHG(cmpxchg8, uint8_t, "cmpxchgb", "b") CMPXCHG(cmpxchg16, uint16_t, "cmpxchgw", "w")
CMPXCHG(cmpxchg32, uint32_t, "cmpxchgl", "k")
XADDM(xadd8, uint8_t, "xaddb", "b") XADDM(xadd32, uint32_t, "xaddl", "k")
REG2(xadd16r, "xaddw", "w") REG2(xchg32r, "xchgl", "k")
XCHGM(xchg8, uint8_t, "xchgb", "b") XCHGM(xchg16, uint16_t, "xchgw", "w")
#ifdef __x86_64__
CMPXCHG(cmpxchg64, uint64_t, "cmpxchgq", "q") XADDM(xadd64, uint64_t, "xaddq", "q")
XCHGM(xchg64, uint64_t, "xchgq", "q")
/* A 32-bit exchange with memory: the register's upper half must clear. */
static ulong xchg32_zext(ulong *acc, ulong dest, ulong src, ulong *fl)
{
	uint32_t m = (uint32_t)dest;
	ulong s = src;
	__asm__ volatile("xchgl %k[s], %[m]" : [m] "+m"(m), [s] "+r"(s) : : "memory");
	*acc = s;
	(void)fl;
	return m;
}
#endif

struct cx_case {
	const char *name;
	cx_fn fn;
	unsigned width;
	uint64_t acc, dest, src;
	ulong fin;
	uint64_t want_dest, want_acc;
	ulong fout, mask;
};

static const struct cx_case cx_cases[] = {
	{ "atomic/cmpxchg8_equal", cmpxchg8, 8, 0x12, 0x12, 0x34, 0, 0x34, 0x12, F_ZF | F_PF, F_ARITH },
	{ "atomic/cmpxchg8_not_equal", cmpxchg8, 8, 0x10, 0x20, 0x34, 0, 0x20, 0x20, F_CF | F_SF | F_PF, F_ARITH },
	{ "atomic/cmpxchg16_equal", cmpxchg16, 16, 0xbeef, 0xbeef, 0x1234, 0, 0x1234, 0xbeef, F_ZF | F_PF, F_ARITH },
	{ "atomic/cmpxchg16_not_equal_of", cmpxchg16, 16, 0x8000, 0x0001, 0, 0, 0x0001, 0x0001, F_OF | F_AF | F_PF, F_ARITH },
	{ "atomic/cmpxchg32_equal", cmpxchg32, 32, 0xcafebabe, 0xcafebabe, 0x11111111, 0, 0x11111111, 0xcafebabe, F_ZF | F_PF, F_ARITH },
	{ "atomic/cmpxchg32_not_equal", cmpxchg32, 32, 1, 2, 3, F_ZF, 2, 2, F_CF | F_AF | F_SF | F_PF, F_ARITH },
	{ "atomic/xadd8_of", xadd8, 8, 0, 0x7f, 1, 0, 0x80, 0x7f, F_OF | F_SF | F_AF, F_ARITH },
	{ "atomic/xadd32_wrap", xadd32, 32, 0, 0xffffffff, 1, 0, 0, 0xffffffff, F_CF | F_ZF | F_AF | F_PF, F_ARITH },
	{ "atomic/xadd16_reg", xadd16r, 16, 0, 0x1234, 0x1111, F_CF, 0x2345, 0x1234, 0, F_ARITH },
	{ "atomic/xchg8_mem", xchg8, 8, 0, 0xab, 0xcd, F_ARITH, 0xcd, 0xab, F_ARITH, F_ARITH },
	{ "atomic/xchg16_mem", xchg16, 16, 0, 0xabcd, 0x1234, 0, 0x1234, 0xabcd, 0, F_ARITH },
	{ "atomic/xchg32_reg", xchg32r, 32, 0, 0xdeadbeef, 0x01234567, F_CF | F_ZF, 0x01234567, 0xdeadbeef, F_CF | F_ZF, F_ARITH },
#ifdef __x86_64__
	{ "atomic/cmpxchg64_equal", cmpxchg64, 64, 0x123456789abcdef0, 0x123456789abcdef0, 0xffffffffffffffff, 0, 0xffffffffffffffff, 0x123456789abcdef0, F_ZF | F_PF, F_ARITH },
	{ "atomic/cmpxchg64_not_equal_of", cmpxchg64, 64, 0, 0x8000000000000000, 5, 0, 0x8000000000000000, 0x8000000000000000, F_CF | F_OF | F_SF | F_PF, F_ARITH },
	{ "atomic/xadd64_of", xadd64, 64, 0, 0x7fffffffffffffff, 1, 0, 0x8000000000000000, 0x7fffffffffffffff, F_OF | F_SF | F_AF | F_PF, F_ARITH },
	{ "atomic/xchg64_mem", xchg64, 64, 0, 0x1111222233334444, 0x5555666677778888, 0, 0x5555666677778888, 0x1111222233334444, 0, F_ARITH },
	{ "atomic/xchg32_mem_zero_extends", xchg32_zext, 32, 0, 2, 0xffffffff00000001, 0, 1, 2, 0, 0 },
#endif
};

/* CMPXCHG8B: EDX:EAX against m64, ECX:EBX stored when equal. */
static uint64_t cmpxchg8b(uint64_t mem, uint64_t *edx_eax, uint64_t ecx_ebx, ulong *fl)
{
	ulong f = FLAGS_LOAD(*fl);
	ulong lo = (uint32_t)*edx_eax, hi = (uint32_t)(*edx_eax >> 32);
	__asm__ volatile(FLAGS_IN "lock cmpxchg8b %[m]" FLAGS_OUT
			 : [m] "+m"(mem), "+a"(lo), "+d"(hi), [fl] "+r"(f)
			 : "b"((ulong)(uint32_t)ecx_ebx), "c"((ulong)(uint32_t)(ecx_ebx >> 32))
			 : "cc", "memory");
	*fl = f;
	*edx_eax = ((uint64_t)(uint32_t)hi << 32) | (uint32_t)lo;
	return mem;
}

#ifdef __x86_64__
struct m128 {
	uint64_t lo, hi;
} __attribute__((aligned(16)));
static struct m128 cx16_area[2];

/* CMPXCHG16B on the 16 bytes at p: RDX:RAX against them, RCX:RBX stored. */
static void cmpxchg16b(void *p, uint64_t *rax, uint64_t *rdx, uint64_t rbx, uint64_t rcx, ulong *fl)
{
	ulong f = FLAGS_LOAD(*fl);
	__asm__ volatile(FLAGS_IN "lock cmpxchg16b (%[p])" FLAGS_OUT
			 : "+a"(*rax), "+d"(*rdx), [fl] "+r"(f)
			 : [p] "r"(p), "b"(rbx), "c"(rcx)
			 : "cc", "memory");
	*fl = f;
}

static void cx16_misaligned(void)
{
	uint64_t a = 0, d = 0;
	ulong f = 0;
	cmpxchg16b((char *)&cx16_area[0] + 8, &a, &d, 0, 0, &f);
}

static void cmpxchg16b_checks(void)
{
	uint32_t r[4];
	uint64_t a, d;
	ulong fl;
	GEN(gen_cpuid)(1, 0, r);
	if (!((r[2] >> 13) & 1))
		return;	/* CPUID.1:ECX.CX16 clear: the instruction is absent */
	cx16_area[0].lo = 0x0011223344556677;
	cx16_area[0].hi = 0x8899aabbccddeeff;
	a = 0x0011223344556677;
	d = 0x8899aabbccddeeff;
	fl = F_CF | F_SF;
	cmpxchg16b(&cx16_area[0], &a, &d, 0x1111111111111111, 0x2222222222222222, &fl);
	CHECK3("atomic/cmpxchg16b_equal", cx16_area[0].lo, 0x1111111111111111, cx16_area[0].hi,
	       0x2222222222222222, fl & F_ARITH, F_ZF | F_CF | F_SF);
	a = 0x1111111111111111;
	d = 0;
	fl = F_ZF;
	cmpxchg16b(&cx16_area[0], &a, &d, 0x3333333333333333, 0x4444444444444444, &fl);
	CHECK4("atomic/cmpxchg16b_not_equal", a, 0x1111111111111111, d, 0x2222222222222222,
	       cx16_area[0].hi, 0x2222222222222222, fl & F_ARITH, 0);
	if (guest_expect_fault) {
		uint8_t vec = 0xff;
		int faulted = guest_expect_fault(cx16_misaligned, &vec);
		CHECK2("atomic/cmpxchg16b_misaligned_gp", faulted, 1, vec, 13);
	}
}
#endif

static uint64_t bswap32(uint64_t v)
{
	ulong r = (ulong)v;
	__asm__("bswapl %k0" : "+r"(r));
	return r;
}

void GEN(atomic_checks)(void)
{
	size_t i;
	uint64_t edx_eax, mem;
	ulong fl;
	for (i = 0; i < sizeof(cx_cases) / sizeof(cx_cases[0]); i++) {
		const struct cx_case *c = &cx_cases[i];
		ulong acc = (ulong)c->acc, f = c->fin;
		uint64_t d = c->fn(&acc, (ulong)c->dest, (ulong)c->src, &f) & width_mask(c->width);
		CHECK3(c->name, d, c->want_dest, (uint64_t)acc, c->want_acc, f & c->mask, c->fout & c->mask);
	}
	edx_eax = 0x1122334455667788;
	fl = F_CF | F_OF | F_PF;
	mem = cmpxchg8b(0x1122334455667788, &edx_eax, 0xaabbccddeeff0011, &fl);
	CHECK2("atomic/cmpxchg8b_equal", mem, 0xaabbccddeeff0011, fl & F_ARITH, F_CF | F_OF | F_PF | F_ZF);
	edx_eax = 0;
	fl = F_ZF | F_SF;
	mem = cmpxchg8b(0x1122334455667788, &edx_eax, 0xaabbccddeeff0011, &fl);
	CHECK3("atomic/cmpxchg8b_not_equal", edx_eax, 0x1122334455667788, mem, 0x1122334455667788,
	       fl & F_ARITH, F_SF);
	CHECK("atomic/bswap32", bswap32(0x12345678), 0x78563412);
#ifdef __x86_64__
	{
		ulong r = 0x0123456789abcdef;
		__asm__("bswapq %0" : "+r"(r));
		CHECK("atomic/bswap64", r, 0xefcdab8967452301);
		CHECK("atomic/bswap32_zero_extends", bswap32(0xffffffff12345678), 0x78563412);
	}
	cmpxchg16b_checks();
#endif
}
