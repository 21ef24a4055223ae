/* Shared helpers of the general-instruction checks. Every family file is
 * compiled twice, -m32 for the flat 32-bit protected-mode half and -m64 for
 * the long-mode half, so anything with external linkage carries the mode in
 * its name (GEN) and check names carry it as a prefix ("m32/" or "m64/"):
 * one guest run reports both halves and names must stay unique. */
#ifndef GENERAL_H
#define GENERAL_H
#include <stdint.h>
#include <stddef.h>
#include "../../lib/report.h"

/* A general register: 32 bits in the 32-bit half, 64 in the 64-bit one. */
typedef unsigned long ulong;

#ifdef __x86_64__
#define GEN(n) n##_64
#define MODE64 1
#else
#define GEN(n) n##_32
#define MODE64 0
#endif

/* EFLAGS bits (SDM vol. 1, 3.4.3). */
#define F_CF 0x001UL
#define F_PF 0x004UL
#define F_AF 0x010UL
#define F_ZF 0x040UL
#define F_SF 0x080UL
#define F_DF 0x400UL
#define F_OF 0x800UL
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
/* The flags the SDM defines for logic ops and most result-setting ops (AF undefined). */
#define F_SZP (F_SF | F_ZF | F_PF)
#define F_LOGIC (F_CF | F_OF | F_SZP)

/* Loading and reading the flags around the instruction under test. Only
 * the arithmetic flags and DF are ever loaded (plus the always-one bit 1);
 * IF is left clear, which the checks do not mind. These push and pop on
 * the current stack, which is why everything is built -mno-red-zone. */
#define FLAGS_IN "push %[fl]\n\tpopf\n\t"
#define FLAGS_OUT "\n\tpushf\n\tpop %[fl]"
#define FLAGS_LOAD(f) (((f) & (F_ARITH | F_DF)) | 2UL)

/* One check comparing n (got, want) pairs: it reports the first pair that
 * differs, or passes when none does. */
void GEN(gen_check_n)(const char *name, int n, const uint64_t *got, const uint64_t *want);
void GEN(gen_check)(const char *name, uint64_t got, uint64_t want);
#define CHECK(name, got, want) GEN(gen_check)((name), (got), (want))
#define CHECK2(name, g1, w1, g2, w2)                                      \
	do {                                                              \
		uint64_t g_[2] = { (g1), (g2) }, w_[2] = { (w1), (w2) };  \
		GEN(gen_check_n)((name), 2, g_, w_);                      \
	} while (0)
#define CHECK3(name, g1, w1, g2, w2, g3, w3)                                      \
	do {                                                                      \
		uint64_t g_[3] = { (g1), (g2), (g3) }, w_[3] = { (w1), (w2), (w3) }; \
		GEN(gen_check_n)((name), 3, g_, w_);                              \
	} while (0)
#define CHECK4(name, g1, w1, g2, w2, g3, w3, g4, w4)                                          \
	do {                                                                                  \
		uint64_t g_[4] = { (g1), (g2), (g3), (g4) }, w_[4] = { (w1), (w2), (w3), (w4) }; \
		GEN(gen_check_n)((name), 4, g_, w_);                                          \
	} while (0)

/* Clobber of an XMM register, written after another clobber: XC("xmm0"),
 * or as the only one: XC_FIRST("xmm0").
 * A build without SSE code generation (the -m32 half) never keeps a value
 * in an XMM register, and GCC rejects naming one there. */
#ifdef __SSE__
#define XC(r) , r
#define XC_FIRST(r) r
#else
#define XC(r)
#define XC_FIRST(r)
#endif

/* CPUID leaf/subleaf into r[0..3] = EAX EBX ECX EDX. */
void GEN(gen_cpuid)(uint32_t leaf, uint32_t sub, uint32_t r[4]);

/* Mask of an operand of `width` bits. */
static inline uint64_t width_mask(unsigned width)
{
	return width >= 64 ? ~0ULL : (1ULL << width) - 1;
}

/* What the runtime calls: general_checks_32 in flat 32-bit protected mode,
 * general_checks_64 in long mode, both at CPL 0. */
void general_checks_32(void);
void general_checks_64(void);

/* The family entry points, in the order general.c runs them. */
void GEN(alu_checks)(void);
void GEN(shift_checks)(void);
void GEN(muldiv_checks)(void);
void GEN(bcd_checks)(void);
void GEN(bits_checks)(void);
void GEN(atomic_checks)(void);
void GEN(misc_checks)(void);
void GEN(string_checks)(void);
void GEN(x87_checks)(void);
void GEN(sse_checks)(void);

#endif
