/* Differential test: random streams of general-purpose instructions, run
 * at CPL 3 in 64-bit mode on the emu engine and on unicorn (loaded with
 * dlopen, so the test SKIPs where libunicorn is absent), comparing all 16
 * GPRs, RIP, the defined flags and the data and stack memory afterwards.
 *
 * Flags the SDM leaves undefined are made deterministic inside the stream:
 * after an instruction that leaves some undefined, a PUSHFQ / AND [RSP] /
 * POPFQ triple clears exactly those bits on both engines, so later
 * instructions consume the same flags and the final comparison is exact.
 * Memory operands are [R15 + disp8]; R15 and RSP are never destinations.
 *
 * The KVM engine, where /dev/kvm can be used, is a second oracle for the
 * 64-bit and 32-bit streams (no SSE floating point in either): same memory
 * image, same state, run to the final OUT. A stream KVM cannot run there
 * is counted as not comparable, not failed. On kvm_pvm (a nested software
 * hypervisor) 32-bit code goes through KVM's instruction emulator, which
 * lacks SSE, so the 32-bit mode adds a campaign of GP-only streams; and
 * kvm_pvm's PUSHF shows IOPL 0 at CPL 3, which is tolerated in the stack.
 *
 * Where unicorn (QEMU 5 era) disagrees with the hardware the form is
 * narrowed, checked against this host's CPU: 32-bit CMPXCHG with a register
 * destination keeps the destination's upper half when the comparison fails,
 * 32-bit BSF/BSR of zero leaves the destination whole, and unicorn 2.0.1
 * rejects POPCNT whatever CPU model is set, so POPCNT is left out. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>

#include "check.h"
#include "engine/emu/emu.h"
#include "engine/emu/emu_test.h"

#if __has_include(<unicorn/unicorn.h>)
#include <unicorn/unicorn.h>
#define HAVE_UC_HEADERS 1
#else
#define HAVE_UC_HEADERS 0
#endif

void emu_invalidate_gpa(struct vm *vm, uint64_t gpa, uint64_t len);

#define CODE  0x10000ull
#define DATA  0x200000ull
#define STACK 0x300000ull
#define DATA_SIZE 0x1000
#define STACK_SIZE 0x1000

#define STREAMS 600
#define STREAM_LEN 24
#define SEED 0x5eed1234u

enum kind {
	K_RM_R,     /* op r/m, r */
	K_R_RM,     /* op r, r/m */
	K_RM_I8,    /* op r/m, imm8 (/digit) */
	K_RM_IZ,    /* op r/m, imm16/32 (/digit) */
	K_RM,       /* op r/m (/digit) */
	K_SHIFT_I8, /* shift r/m, imm8 count below the operand width */
	K_SHIFT_1,
	K_SHIFT_CL,
	K_R_RM_I8,  /* imul r, r/m, imm8 */
	K_R_RM_IZ,
	K_SHXD_I8,  /* shld/shrd r/m, r, imm8 */
	K_BT_I8,    /* 0F BA /digit ib */
	K_BT_R,     /* bt r, r (register only: a register offset may leave the data page) */
	K_NONE,     /* fixed bytes */
	K_OPREG,    /* opcode + register */
	K_MOV_RI,   /* B8+r imm */
	K_DIV,      /* div r with a preamble that rules out #DE */
	K_PUSHPOP,
	K_JCC,
	K_XMM,      /* [prefix] 0F op xmm, xmm/m128 (aligned memory) */
	K_XMM_I8,   /* the same with an imm8 */
	K_XMM_SH,   /* 66 0F 71/72/73 /digit xmm, imm8 */
	K_XMM_REG,  /* register operands only (MOVHLPS, MOVLHPS) */
};

#define B 1
#define W 2
#define D 4
#define Q 8
#define WDQ (W | D | Q)
#define ALL (B | W | D | Q)

#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_OF 0x800u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
#define UNDEF_OF_IF_NOT_1 0x10000u  /* OF undefined unless the count is 1 */

struct form {
	const char *name;
	uint8_t op[3];
	int oplen;
	enum kind kind;
	int sizes;
	int digit;          /* ModRM.reg for group forms */
	bool byteop;        /* the byte form is op, the others op | 1 */
	uint32_t undef;
	uint8_t prefix;     /* mandatory prefix (F3 for POPCNT) */
	bool fp;            /* SSE floating point: checked against the host CPU */
};

static const struct form forms[] = {
	{ "add rm,r", { 0x00 }, 1, K_RM_R, ALL, 0, true, 0, 0, false },
	{ "or rm,r", { 0x08 }, 1, K_RM_R, ALL, 0, true, F_AF, 0, false },
	{ "adc rm,r", { 0x10 }, 1, K_RM_R, ALL, 0, true, 0, 0, false },
	{ "sbb rm,r", { 0x18 }, 1, K_RM_R, ALL, 0, true, 0, 0, false },
	{ "and rm,r", { 0x20 }, 1, K_RM_R, ALL, 0, true, F_AF, 0, false },
	{ "sub rm,r", { 0x28 }, 1, K_RM_R, ALL, 0, true, 0, 0, false },
	{ "xor rm,r", { 0x30 }, 1, K_RM_R, ALL, 0, true, F_AF, 0, false },
	{ "cmp rm,r", { 0x38 }, 1, K_RM_R, ALL, 0, true, 0, 0, false },
	{ "add r,rm", { 0x02 }, 1, K_R_RM, ALL, 0, true, 0, 0, false },
	{ "adc r,rm", { 0x12 }, 1, K_R_RM, ALL, 0, true, 0, 0, false },
	{ "sbb r,rm", { 0x1a }, 1, K_R_RM, ALL, 0, true, 0, 0, false },
	{ "sub r,rm", { 0x2a }, 1, K_R_RM, ALL, 0, true, 0, 0, false },
	{ "cmp r,rm", { 0x3a }, 1, K_R_RM, ALL, 0, true, 0, 0, false },
	{ "xor r,rm", { 0x32 }, 1, K_R_RM, ALL, 0, true, F_AF, 0, false },
	{ "add rm,i8", { 0x83 }, 1, K_RM_I8, WDQ, 0, false, 0, 0, false },
	{ "adc rm,i8", { 0x83 }, 1, K_RM_I8, WDQ, 2, false, 0, 0, false },
	{ "sbb rm,i8", { 0x83 }, 1, K_RM_I8, WDQ, 3, false, 0, 0, false },
	{ "sub rm,i8", { 0x83 }, 1, K_RM_I8, WDQ, 5, false, 0, 0, false },
	{ "cmp rm,i8", { 0x83 }, 1, K_RM_I8, WDQ, 7, false, 0, 0, false },
	{ "and rm,i8", { 0x83 }, 1, K_RM_I8, WDQ, 4, false, F_AF, 0, false },
	{ "add rm8,i8", { 0x80 }, 1, K_RM_I8, B, 0, false, 0, 0, false },
	{ "sub rm8,i8", { 0x80 }, 1, K_RM_I8, B, 5, false, 0, 0, false },
	{ "add rm,iz", { 0x81 }, 1, K_RM_IZ, WDQ, 0, false, 0, 0, false },
	{ "sbb rm,iz", { 0x81 }, 1, K_RM_IZ, WDQ, 3, false, 0, 0, false },
	{ "xor rm,iz", { 0x81 }, 1, K_RM_IZ, WDQ, 6, false, F_AF, 0, false },
	{ "cmp rm,iz", { 0x81 }, 1, K_RM_IZ, WDQ, 7, false, 0, 0, false },
	{ "test rm,r", { 0x84 }, 1, K_RM_R, ALL, 0, true, F_AF, 0, false },
	{ "test rm,iz", { 0xf7 }, 1, K_RM_IZ, WDQ, 0, false, F_AF, 0, false },
	{ "not rm", { 0xf6 }, 1, K_RM, ALL, 2, true, 0, 0, false },
	{ "neg rm", { 0xf6 }, 1, K_RM, ALL, 3, true, 0, 0, false },
	{ "mul rm", { 0xf6 }, 1, K_RM, ALL, 4, true, F_SF | F_ZF | F_AF | F_PF, 0, false },
	{ "imul rm", { 0xf6 }, 1, K_RM, ALL, 5, true, F_SF | F_ZF | F_AF | F_PF, 0, false },
	{ "div r", { 0xf6 }, 1, K_DIV, ALL, 6, true, F_ARITH, 0, false },
	{ "inc rm", { 0xfe }, 1, K_RM, ALL, 0, true, 0, 0, false },
	{ "dec rm", { 0xfe }, 1, K_RM, ALL, 1, true, 0, 0, false },
	{ "imul r,rm", { 0x0f, 0xaf }, 2, K_R_RM, WDQ, 0, false, F_SF | F_ZF | F_AF | F_PF, 0, false },
	{ "imul r,rm,i8", { 0x6b }, 1, K_R_RM_I8, WDQ, 0, false, F_SF | F_ZF | F_AF | F_PF, 0, false },
	{ "imul r,rm,iz", { 0x69 }, 1, K_R_RM_IZ, WDQ, 0, false, F_SF | F_ZF | F_AF | F_PF, 0, false },
	{ "rol", { 0xc0 }, 1, K_SHIFT_I8, ALL, 0, true, UNDEF_OF_IF_NOT_1, 0, false },
	{ "ror", { 0xc0 }, 1, K_SHIFT_I8, ALL, 1, true, UNDEF_OF_IF_NOT_1, 0, false },
	{ "rcl", { 0xc0 }, 1, K_SHIFT_I8, ALL, 2, true, UNDEF_OF_IF_NOT_1, 0, false },
	{ "rcr", { 0xc0 }, 1, K_SHIFT_I8, ALL, 3, true, UNDEF_OF_IF_NOT_1, 0, false },
	{ "shl", { 0xc0 }, 1, K_SHIFT_I8, ALL, 4, true, F_AF | UNDEF_OF_IF_NOT_1, 0, false },
	{ "shr", { 0xc0 }, 1, K_SHIFT_I8, ALL, 5, true, F_AF | UNDEF_OF_IF_NOT_1, 0, false },
	{ "sar", { 0xc0 }, 1, K_SHIFT_I8, ALL, 7, true, F_AF | UNDEF_OF_IF_NOT_1, 0, false },
	{ "shl 1", { 0xd0 }, 1, K_SHIFT_1, ALL, 4, true, F_AF, 0, false },
	{ "sar 1", { 0xd0 }, 1, K_SHIFT_1, ALL, 7, true, F_AF, 0, false },
	{ "rcr 1", { 0xd0 }, 1, K_SHIFT_1, ALL, 3, true, 0, 0, false },
	{ "rol 1", { 0xd0 }, 1, K_SHIFT_1, ALL, 0, true, 0, 0, false },
	{ "shr cl", { 0xd2 }, 1, K_SHIFT_CL, ALL, 5, true, F_AF | UNDEF_OF_IF_NOT_1, 0, false },
	{ "rcl cl", { 0xd2 }, 1, K_SHIFT_CL, ALL, 2, true, UNDEF_OF_IF_NOT_1, 0, false },
	{ "shld i8", { 0x0f, 0xa4 }, 2, K_SHXD_I8, WDQ, 0, false, F_AF | UNDEF_OF_IF_NOT_1, 0, false },
	{ "shrd i8", { 0x0f, 0xac }, 2, K_SHXD_I8, WDQ, 0, false, F_AF | UNDEF_OF_IF_NOT_1, 0, false },
	{ "bt r,r", { 0x0f, 0xa3 }, 2, K_BT_R, WDQ, 0, false, F_OF | F_SF | F_AF | F_PF | F_ZF, 0, false },
	{ "bts r,r", { 0x0f, 0xab }, 2, K_BT_R, WDQ, 0, false, F_OF | F_SF | F_AF | F_PF | F_ZF, 0, false },
	{ "btr r,r", { 0x0f, 0xb3 }, 2, K_BT_R, WDQ, 0, false, F_OF | F_SF | F_AF | F_PF | F_ZF, 0, false },
	{ "btc r,r", { 0x0f, 0xbb }, 2, K_BT_R, WDQ, 0, false, F_OF | F_SF | F_AF | F_PF | F_ZF, 0, false },
	{ "bts rm,i8", { 0x0f, 0xba }, 2, K_BT_I8, WDQ, 5, false, F_OF | F_SF | F_AF | F_PF | F_ZF, 0, false },
	{ "bt rm,i8", { 0x0f, 0xba }, 2, K_BT_I8, WDQ, 4, false, F_OF | F_SF | F_AF | F_PF | F_ZF, 0, false },
	{ "bsf", { 0x0f, 0xbc }, 2, K_R_RM, W | Q, 0, false, F_CF | F_OF | F_SF | F_AF | F_PF, 0, false },
	{ "bsr", { 0x0f, 0xbd }, 2, K_R_RM, W | Q, 0, false, F_CF | F_OF | F_SF | F_AF | F_PF, 0, false },
	{ "cmovb", { 0x0f, 0x42 }, 2, K_R_RM, WDQ, 0, false, 0, 0, false },
	{ "cmovle", { 0x0f, 0x4e }, 2, K_R_RM, WDQ, 0, false, 0, 0, false },
	{ "cmovnp", { 0x0f, 0x4b }, 2, K_R_RM, WDQ, 0, false, 0, 0, false },
	{ "seta", { 0x0f, 0x97 }, 2, K_RM, B, 0, false, 0, 0, false },
	{ "setl", { 0x0f, 0x9c }, 2, K_RM, B, 0, false, 0, 0, false },
	{ "seto", { 0x0f, 0x90 }, 2, K_RM, B, 0, false, 0, 0, false },
	{ "xchg", { 0x86 }, 1, K_RM_R, ALL, 0, true, 0, 0, false },
	{ "xadd", { 0x0f, 0xc0 }, 2, K_RM_R, ALL, 0, true, 0, 0, false },
	{ "cmpxchg", { 0x0f, 0xb0 }, 2, K_RM_R, B | W | Q, 0, true, 0, 0, false },
	{ "movzx b", { 0x0f, 0xb6 }, 2, K_R_RM, WDQ, 0, false, 0, 0, false },
	{ "movzx w", { 0x0f, 0xb7 }, 2, K_R_RM, D | Q, 0, false, 0, 0, false },
	{ "movsx b", { 0x0f, 0xbe }, 2, K_R_RM, WDQ, 0, false, 0, 0, false },
	{ "movsx w", { 0x0f, 0xbf }, 2, K_R_RM, D | Q, 0, false, 0, 0, false },
	{ "movsxd", { 0x63 }, 1, K_R_RM, Q, 0, false, 0, 0, false },
	{ "lea", { 0x8d }, 1, K_R_RM, WDQ, 0, false, 0, 0, false },
	{ "mov rm,r", { 0x88 }, 1, K_RM_R, ALL, 0, true, 0, 0, false },
	{ "mov r,rm", { 0x8a }, 1, K_R_RM, ALL, 0, true, 0, 0, false },
	{ "mov rm,iz", { 0xc7 }, 1, K_RM_IZ, WDQ, 0, false, 0, 0, false },
	{ "mov r,imm", { 0xb8 }, 1, K_MOV_RI, WDQ, 0, false, 0, 0, false },
	{ "bswap", { 0x0f, 0xc8 }, 2, K_OPREG, D | Q, 0, false, 0, 0, false },
	{ "cbw/cwde/cdqe", { 0x98 }, 1, K_NONE, WDQ, 0, false, 0, 0, false },
	{ "cwd/cdq/cqo", { 0x99 }, 1, K_NONE, WDQ, 0, false, 0, 0, false },
	{ "lahf", { 0x9f }, 1, K_NONE, D, 0, false, 0, 0, false },
	{ "sahf", { 0x9e }, 1, K_NONE, D, 0, false, 0, 0, false },
	{ "clc", { 0xf8 }, 1, K_NONE, D, 0, false, 0, 0, false },
	{ "stc", { 0xf9 }, 1, K_NONE, D, 0, false, 0, 0, false },
	{ "cmc", { 0xf5 }, 1, K_NONE, D, 0, false, 0, 0, false },
	{ "push/pop", { 0x50 }, 1, K_PUSHPOP, W | Q, 0, false, 0, 0, false },
	{ "jcc", { 0x70 }, 1, K_JCC, D, 0, false, 0, 0, false },
	{ "paddb", { 0x0f, 0xfc }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "paddw", { 0x0f, 0xfd }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "paddd", { 0x0f, 0xfe }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "paddq", { 0x0f, 0xd4 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "psubb", { 0x0f, 0xf8 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "psubq", { 0x0f, 0xfb }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "paddsb", { 0x0f, 0xec }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "paddsw", { 0x0f, 0xed }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "paddusb", { 0x0f, 0xdc }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "psubusw", { 0x0f, 0xd9 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "psubsw", { 0x0f, 0xe9 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pmullw", { 0x0f, 0xd5 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pmulhw", { 0x0f, 0xe5 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pmulhuw", { 0x0f, 0xe4 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pmuludq", { 0x0f, 0xf4 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pmaddwd", { 0x0f, 0xf5 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pavgb", { 0x0f, 0xe0 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pavgw", { 0x0f, 0xe3 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pminub", { 0x0f, 0xda }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pmaxsw", { 0x0f, 0xee }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "psadbw", { 0x0f, 0xf6 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pcmpeqb", { 0x0f, 0x74 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pcmpeqd", { 0x0f, 0x76 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pcmpgtw", { 0x0f, 0x65 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "punpcklbw", { 0x0f, 0x60 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "punpckhwd", { 0x0f, 0x69 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "punpckldq", { 0x0f, 0x62 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "punpckhqdq", { 0x0f, 0x6d }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "packsswb", { 0x0f, 0x63 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "packuswb", { 0x0f, 0x67 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "packssdw", { 0x0f, 0x6b }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pandn", { 0x0f, 0xdf }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pxor", { 0x0f, 0xef }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "psrlw x", { 0x0f, 0xd1 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "psrad x", { 0x0f, 0xe2 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "psllq x", { 0x0f, 0xf3 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "pshufd", { 0x0f, 0x70 }, 2, K_XMM_I8, D, 0, false, 0, 0x66, false },
	{ "pshufhw", { 0x0f, 0x70 }, 2, K_XMM_I8, D, 0, false, 0, 0xf3, false },
	{ "pshuflw", { 0x0f, 0x70 }, 2, K_XMM_I8, D, 0, false, 0, 0xf2, false },
	{ "shufps", { 0x0f, 0xc6 }, 2, K_XMM_I8, D, 0, false, 0, 0, false },
	{ "shufpd", { 0x0f, 0xc6 }, 2, K_XMM_I8, D, 0, false, 0, 0x66, false },
	{ "psrlw i", { 0x0f, 0x71 }, 2, K_XMM_SH, D, 2, false, 0, 0x66, false },
	{ "psraw i", { 0x0f, 0x71 }, 2, K_XMM_SH, D, 4, false, 0, 0x66, false },
	{ "pslld i", { 0x0f, 0x72 }, 2, K_XMM_SH, D, 6, false, 0, 0x66, false },
	{ "psrlq i", { 0x0f, 0x73 }, 2, K_XMM_SH, D, 2, false, 0, 0x66, false },
	{ "psrldq", { 0x0f, 0x73 }, 2, K_XMM_SH, D, 3, false, 0, 0x66, false },
	{ "pslldq", { 0x0f, 0x73 }, 2, K_XMM_SH, D, 7, false, 0, 0x66, false },
	{ "addps", { 0x0f, 0x58 }, 2, K_XMM, D, 0, false, 0, 0, true },
	{ "addpd", { 0x0f, 0x58 }, 2, K_XMM, D, 0, false, 0, 0x66, true },
	{ "mulps", { 0x0f, 0x59 }, 2, K_XMM, D, 0, false, 0, 0, true },
	{ "subpd", { 0x0f, 0x5c }, 2, K_XMM, D, 0, false, 0, 0x66, true },
	{ "divps", { 0x0f, 0x5e }, 2, K_XMM, D, 0, false, 0, 0, true },
	{ "minps", { 0x0f, 0x5d }, 2, K_XMM, D, 0, false, 0, 0, true },
	{ "maxpd", { 0x0f, 0x5f }, 2, K_XMM, D, 0, false, 0, 0x66, true },
	{ "sqrtps", { 0x0f, 0x51 }, 2, K_XMM, D, 0, false, 0, 0, true },
	{ "addss", { 0x0f, 0x58 }, 2, K_XMM, D, 0, false, 0, 0xf3, true },
	{ "mulsd", { 0x0f, 0x59 }, 2, K_XMM, D, 0, false, 0, 0xf2, true },
	{ "divsd", { 0x0f, 0x5e }, 2, K_XMM, D, 0, false, 0, 0xf2, true },
	{ "sqrtsd", { 0x0f, 0x51 }, 2, K_XMM, D, 0, false, 0, 0xf2, true },
	{ "minss", { 0x0f, 0x5d }, 2, K_XMM, D, 0, false, 0, 0xf3, true },
	{ "andps", { 0x0f, 0x54 }, 2, K_XMM, D, 0, false, 0, 0, false },
	{ "xorpd", { 0x0f, 0x57 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "unpcklps", { 0x0f, 0x14 }, 2, K_XMM, D, 0, false, 0, 0, false },
	{ "unpckhpd", { 0x0f, 0x15 }, 2, K_XMM, D, 0, false, 0, 0x66, false },
	{ "cmpps", { 0x0f, 0xc2 }, 2, K_XMM_I8, D, 0, false, 0, 0, true },
	{ "cmpsd", { 0x0f, 0xc2 }, 2, K_XMM_I8, D, 0, false, 0, 0xf2, true },
	{ "comisd", { 0x0f, 0x2f }, 2, K_XMM, D, 0, false, 0, 0x66, true },
	{ "ucomiss", { 0x0f, 0x2e }, 2, K_XMM, D, 0, false, 0, 0, true },
	{ "cvtdq2ps", { 0x0f, 0x5b }, 2, K_XMM, D, 0, false, 0, 0, true },
	{ "cvttps2dq", { 0x0f, 0x5b }, 2, K_XMM, D, 0, false, 0, 0xf3, true },
	{ "cvtps2pd", { 0x0f, 0x5a }, 2, K_XMM, D, 0, false, 0, 0, true },
	{ "cvtpd2ps", { 0x0f, 0x5a }, 2, K_XMM, D, 0, false, 0, 0x66, true },
	{ "cvtss2sd", { 0x0f, 0x5a }, 2, K_XMM, D, 0, false, 0, 0xf3, true },
	{ "cvtsd2ss", { 0x0f, 0x5a }, 2, K_XMM, D, 0, false, 0, 0xf2, true },
	{ "movdqu", { 0x0f, 0x6f }, 2, K_XMM, D, 0, false, 0, 0xf3, false },
	{ "movss", { 0x0f, 0x10 }, 2, K_XMM, D, 0, false, 0, 0xf3, false },
	{ "movsd", { 0x0f, 0x10 }, 2, K_XMM, D, 0, false, 0, 0xf2, false },
	{ "movhlps", { 0x0f, 0x12 }, 2, K_XMM_REG, D, 0, false, 0, 0, false },
	{ "movlhps", { 0x0f, 0x16 }, 2, K_XMM_REG, D, 0, false, 0, 0, false },
};

#define NFORMS (sizeof(forms) / sizeof(forms[0]))

/* ---- a tiny deterministic generator */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* Register values that hit edge cases more often than uniform ones. */
static uint64_t rnd_value(void)
{
	switch (rnd_below(8)) {
	case 0: return 0;
	case 1: return ~0ull;
	case 2: return 1ull << rnd_below(64);
	case 3: return rnd() & 0xff;
	case 4: return 0x7fffffffffffffffull ^ (rnd() & 0xff);
	case 5: return rnd() & 0xffffffff;
	default: return rnd();
	}
}

/* 32-bit streams: no REX, eight registers, EDI is the data base. */
static bool mode32;
/* Streams of XMM forms only, run natively on the host CPU as the oracle
 * (unicorn's SSE NaN propagation follows the x87 rule, not SSE's). */
static bool native;
/* Streams without XMM forms: the 32-bit streams for KVM, whose instruction
 * emulator (where kvm_pvm runs 32-bit code) lacks SSE. */
static bool gp_only;

/* A register operand: never RSP (4) or the data base (R15, or EDI). */
static int rnd_reg(void)
{
	for (;;) {
		int r = rnd_below(mode32 ? 7 : 15);
		if (r != 4)
			return r;
	}
}


struct buf {
	uint8_t b[4096];
	int n;
};

static void put(struct buf *o, uint8_t v)
{
	o->b[o->n++] = v;
}

static void put_le(struct buf *o, uint64_t v, int n)
{
	for (int k = 0; k < n; k++)
		put(o, (uint8_t)(v >> (8 * k)));
}

/* Emits [prefix][66][REX] op modrm [disp8]: reg field and an r/m that is a
 * register or [R15 + disp8]. */
static void emit_modrm_insn(struct buf *o, const struct form *f, int size, int reg, int rm,
			    bool mem, bool byte_form)
{
	if (f->prefix)
		put(o, f->prefix);
	if (size == 2)
		put(o, 0x66);
	uint8_t rex = 0x40;
	if (size == 8)
		rex |= 8;
	if (reg & 8)
		rex |= 4;
	if (mem || (rm & 8))
		rex |= 1;
	/* byte registers 4..7 mean SPL..DIL with a REX, AH..BH without;
	 * the generator only uses 0-3 and 5-14, so always adding REX is
	 * fine except it hides AH..BH; take both forms at random. */
	bool need = rex != 0x40 || (byte_form && rnd_below(2));
	if (need && !mode32)
		put(o, rex);
	for (int k = 0; k < f->oplen; k++) {
		uint8_t b = f->op[k];
		if (k == f->oplen - 1 && f->byteop && !byte_form)
			b |= 1;
		put(o, b);
	}
	if (mem) {
		put(o, 0x40 | ((reg & 7) << 3) | 7);
		put(o, (uint8_t)(int8_t)(rnd_below(240) - 120));
	} else {
		put(o, 0xc0 | ((reg & 7) << 3) | (rm & 7));
	}
	(void)need;
}

/* Byte forms without a REX turn reg 4..7 into AH..BH; avoid 4 (AH is
 * fine, but SPL with REX is not) by construction of rnd_reg. */
static void put_rex(struct buf *o, uint8_t rex)
{
	if (!mode32)
		put(o, rex);
}

static int pick_size(int sizes)
{
	if (mode32)
		sizes &= ~Q;
	int opts[4], n = 0;
	for (int s = 1; s <= 8; s <<= 1)
		if (sizes & s)
			opts[n++] = s;
	return opts[rnd_below(n)];
}

/* [prefix] [REX] 0F op modrm [disp8]: xmm registers, memory [base + 16k]. */
static void emit_xmm(struct buf *o, const struct form *f, int reg, int rm, bool mem)
{
	if (f->prefix)
		put(o, f->prefix);
	uint8_t rex = 0x40 | ((reg & 8) ? 4 : 0) | ((mem || (rm & 8)) ? 1 : 0);
	if (rex != 0x40)
		put_rex(o, rex);
	put(o, f->op[0]);
	put(o, f->op[1]);
	if (mem) {
		put(o, 0x40 | ((reg & 7) << 3) | 7);
		put(o, (uint8_t)(int8_t)(16 * ((int)rnd_below(15) - 7)));
	} else {
		put(o, 0xc0 | ((reg & 7) << 3) | (rm & 7));
	}
}

static uint32_t emit_form(struct buf *o, const struct form *f)
{
	int size = pick_size(f->sizes);
	bool byte_form = size == 1;
	int reg = rnd_reg(), rm = rnd_reg();
	bool mem = rnd_below(3) == 0;
	uint32_t undef = f->undef & F_ARITH;
	int bits = size * 8;
	switch (f->kind) {
	case K_RM_R: case K_R_RM:
		if (f->op[0] == 0x8d || f->op[0] == 0x63)
			mem = f->op[0] == 0x8d ? true : mem;
		emit_modrm_insn(o, f, size, reg, rm, mem, byte_form);
		break;
	case K_RM_I8:
		emit_modrm_insn(o, f, size, f->digit, rm, mem, byte_form);
		put(o, (uint8_t)rnd());
		break;
	case K_RM_IZ:
		emit_modrm_insn(o, f, size, f->digit, rm, mem, byte_form);
		put_le(o, rnd_value(), size == 2 ? 2 : 4);
		break;
	case K_RM:
		emit_modrm_insn(o, f, size, f->digit, rm, mem, byte_form);
		break;
	case K_SHIFT_I8: case K_SHIFT_1: case K_SHIFT_CL: {
		unsigned cnt = f->kind == K_SHIFT_1 ? 1 : 1 + rnd_below(bits - 1);
		if (f->kind == K_SHIFT_CL) {
			put(o, 0xb1);  /* mov cl, cnt */
			put(o, (uint8_t)cnt);
			if (rm == RCX)
				rm = RDX;
		}
		emit_modrm_insn(o, f, size, f->digit, rm, mem, byte_form);
		if (f->kind == K_SHIFT_I8)
			put(o, (uint8_t)cnt);
		if ((f->undef & UNDEF_OF_IF_NOT_1) && cnt != 1)
			undef |= F_OF;
		break;
	}
	case K_R_RM_I8:
		emit_modrm_insn(o, f, size, reg, rm, mem, false);
		put(o, (uint8_t)rnd());
		break;
	case K_R_RM_IZ:
		emit_modrm_insn(o, f, size, reg, rm, mem, false);
		put_le(o, rnd_value(), size == 2 ? 2 : 4);
		break;
	case K_SHXD_I8: {
		unsigned cnt = 1 + rnd_below(bits - 1);
		emit_modrm_insn(o, f, size, reg, rm, mem, false);
		put(o, (uint8_t)cnt);
		if (cnt != 1)
			undef |= F_OF;
		break;
	}
	case K_BT_I8:
		emit_modrm_insn(o, f, size, f->digit, rm, mem, false);
		put(o, (uint8_t)rnd());
		break;
	case K_BT_R:
		emit_modrm_insn(o, f, size, reg, rm, false, false);
		break;
	case K_NONE:
		if (size == 2)
			put(o, 0x66);
		if (size == 8)
			put_rex(o, 0x48);
		for (int k = 0; k < f->oplen; k++)
			put(o, f->op[k]);
		break;
	case K_OPREG:
		put_rex(o, 0x40 | (size == 8 ? 8 : 0) | (reg >> 3));
		put(o, f->op[0]);
		put(o, f->op[1] + (reg & 7));
		break;
	case K_MOV_RI:
		if (size == 2)
			put(o, 0x66);
		put_rex(o, 0x40 | (size == 8 ? 8 : 0) | (reg >> 3));
		put(o, 0xb8 + (reg & 7));
		put_le(o, rnd_value(), size);
		break;
	case K_DIV:
		/* make the quotient fit and the divisor nonzero */
		if (rm == RAX || rm == RDX || (size == 1 && rm > RBX))
			rm = RBX;
		if (size == 1) {
			put(o, 0x0f), put(o, 0xb6), put(o, 0xc0);   /* movzx eax, al */
		} else {
			put(o, 0x31), put(o, 0xd2);                 /* xor edx, edx */
		}
		put_rex(o, 0x48 | (rm >> 3));
		put(o, 0x83), put(o, 0xc8 | (rm & 7)), put(o, 1);  /* or rm, 1 */
		emit_modrm_insn(o, f, size, f->digit, rm, false, byte_form);
		break;
	case K_PUSHPOP:
		if (size == 2)
			put(o, 0x66);
		put_rex(o, 0x40 | (reg >> 3));
		put(o, 0x50 + (reg & 7));
		if (size == 2)
			put(o, 0x66);
		put_rex(o, 0x40 | (rm >> 3));
		put(o, 0x58 + (rm & 7));
		break;
	case K_XMM: case K_XMM_I8: case K_XMM_REG: {
		int n = mode32 ? 8 : 16;
		reg = rnd_below(n), rm = rnd_below(n);
		emit_xmm(o, f, reg, rm, f->kind != K_XMM_REG && rnd_below(3) == 0);
		if (f->kind == K_XMM_I8)
			put(o, f->op[1] == 0xc2 ? (uint8_t)rnd_below(8) : (uint8_t)rnd());
		break;
	}
	case K_XMM_SH:
		emit_xmm(o, f, f->digit, rnd_below(mode32 ? 8 : 16), false);
		put(o, (uint8_t)rnd_below(f->op[1] == 0x73 && (f->digit & 1) ? 20 : 70));
		break;
	case K_JCC:
		put(o, 0x70 + rnd_below(16));
		put(o, mode32 ? 2 : 3);
		put_rex(o, 0x48);
		put(o, 0xff), put(o, 0xc0 | (rnd_reg() & 7));  /* inc r, skipped or not */
		break;
	}
	return undef;
}

/* PUSHFQ; AND QWORD [RSP], ~undef; POPFQ */
static void emit_flag_sanitizer(struct buf *o, uint32_t undef)
{
	put(o, 0x9c);
	put_rex(o, 0x48);
	put(o, 0x81), put(o, 0x24), put(o, 0x24);
	put_le(o, (uint32_t)~undef, 4);
	put(o, 0x9d);
}

struct stream {
	struct buf code;
	uint8_t xmm[16][16];
	uint64_t gpr[16];
	uint64_t rflags;
	uint8_t data[DATA_SIZE];
	int forms[STREAM_LEN];
	int form_off[STREAM_LEN];
};

static void make_stream(struct stream *s)
{
	s->code.n = 0;
	for (int r = 0; r < 16; r++)
		s->gpr[r] = rnd_value();
	if (mode32)
		for (int r = 0; r < 16; r++)
			s->gpr[r] = r < 8 ? (uint32_t)s->gpr[r] : 0;
	s->gpr[RSP] = STACK + STACK_SIZE - 0x100;
	s->gpr[mode32 ? RDI : R15] = DATA + 0x800;
	s->rflags = 0x202 | 0x3000 | (rnd() & F_ARITH);
	for (int k = 0; k < 16; k++)
		for (int h = 0; h < 16; h += 8) {
			uint64_t v = k < (mode32 ? 8 : 16) ? rnd_value() : 0;
			/* floats worth computing: sometimes small exponents */
			if (rnd_below(2))
				v &= 0x43ff43ff43ff43ffull;
			memcpy(&s->xmm[k][h], &v, 8);
		}
	for (int k = 0; k < DATA_SIZE; k += 8) {
		uint64_t v = rnd_value();
		memcpy(s->data + k, &v, 8);
	}
	for (int k = 0; k < STREAM_LEN; k++) {
		int f;
		do
			f = rnd_below(NFORMS);
		while ((mode32 && !(forms[f].sizes & (B | W | D))) ||
		       (native ? forms[f].kind < K_XMM : forms[f].fp) ||
		       (gp_only && forms[f].kind >= K_XMM));
		s->forms[k] = f;
		s->form_off[k] = s->code.n;
		uint32_t undef = emit_form(&s->code, &forms[f]);
		if (undef)
			emit_flag_sanitizer(&s->code, undef);
	}
}

struct result {
	uint8_t xmm[16][16];
	uint64_t gpr[16];
	uint64_t rip, rflags;
	uint8_t data[DATA_SIZE];
	uint8_t stack[STACK_SIZE];
	int err;
};

/* ---- emu side */

static void build_state(struct emu_test *t, const struct stream *s, struct cpu_state *out);

static void run_emu(struct emu_test *t, const struct stream *s, struct result *r)
{
	memcpy(t->ram + CODE, s->code.b, s->code.n);
	/* the stream ends in OUT, which exits to us at CPL 3 thanks to IOPL 3 */
	t->ram[CODE + s->code.n] = 0xe6;
	t->ram[CODE + s->code.n + 1] = 0x80;
	emu_invalidate_gpa(t->vm, CODE, s->code.n + 2);
	memcpy(t->ram + DATA, s->data, DATA_SIZE);
	memset(t->ram + STACK, 0, STACK_SIZE);
	build_state(t, s, &t->st);
	et_set(t);
	enum exit_reason why = et_run(t);
	r->err = !(why == EXIT_IO && t->exit.io.port == 0x80);
	memcpy(r->gpr, t->st.gpr, sizeof(r->gpr));
	if (mode32)
		for (int k = 0; k < 16; k++)
			r->gpr[k] = k < 8 ? (uint32_t)r->gpr[k] : 0;
	r->rip = t->st.rip - 2;
	memcpy(r->xmm, t->st.fpu.xmm, sizeof(r->xmm));
	r->rflags = t->st.rflags;
	memcpy(r->data, t->ram + DATA, DATA_SIZE);
	memcpy(r->stack, t->ram + STACK, STACK_SIZE);
}

/* The register state a stream starts from, CPL 3 in 64-bit or 32-bit
 * mode; in 64-bit mode this also writes the page tables into t->ram. */
static void build_state(struct emu_test *t, const struct stream *s, struct cpu_state *out)
{
	struct cpu_state st;
	if (mode32) {
		et_state_pm32(&st);
		et_seg(&st.seg[SEG_CS], ET_UCS32, 0xb, 3, 0, 1);
		for (int k = 0; k < SEG_LDT; k++)
			if (k != SEG_CS)
				et_seg(&st.seg[k], ET_UDS, 3, 3, 0, 1);
	} else {
		et_state_long(t, &st, 3);
	}
	memcpy(st.gpr, s->gpr, sizeof(st.gpr));
	memcpy(st.fpu.xmm, s->xmm, sizeof(s->xmm));
	st.cr4 |= CR4_OSFXSR;
	st.fpu.mxcsr = 0x1f80;
	st.rip = CODE;
	st.rflags = s->rflags;
	*out = st;
}


/* ---- the host CPU as oracle for XMM-only streams */

#define NATIVE_CODE 65536

static uint8_t *native_code;

static void put_movdqu(struct buf *o, int k, bool store)
{
	put(o, 0xf3);
	if (k & 8)
		put(o, 0x44);
	put(o, 0x0f);
	put(o, store ? 0x7f : 0x6f);
	put(o, 0x80 | ((k & 7) << 3) | 7);  /* [rdi + disp32] */
	put_le(o, 16 * k, 4);
}

/* push r15; mov r15, rsi; load xmm0-15 from [rdi]; stream; store; pop r15; ret */
static void run_native(const struct stream *s, struct result *r)
{
	static struct buf o;
	static uint8_t xmm[16][16] __attribute__((aligned(16)));
	static uint8_t data[DATA_SIZE] __attribute__((aligned(16)));
	o.n = 0;
	put(&o, 0x41), put(&o, 0x57);
	put(&o, 0x49), put(&o, 0x89), put(&o, 0xf7);
	for (int k = 0; k < 16; k++)
		put_movdqu(&o, k, false);
	memcpy(o.b + o.n, s->code.b, s->code.n);
	o.n += s->code.n;
	for (int k = 0; k < 16; k++)
		put_movdqu(&o, k, true);
	put(&o, 0x41), put(&o, 0x5f);
	put(&o, 0xc3);
	memcpy(native_code, o.b, o.n);
	memcpy(xmm, s->xmm, sizeof(xmm));
	memcpy(data, s->data, DATA_SIZE);
	__builtin___clear_cache((char *)native_code, (char *)native_code + o.n);
	((void (*)(void *, void *))(void *)native_code)(xmm, data + 0x800);
	memset(r, 0, sizeof(*r));
	memcpy(r->xmm, xmm, sizeof(xmm));
	memcpy(r->gpr, s->gpr, sizeof(r->gpr));
	memcpy(r->data, data, DATA_SIZE);
	r->rip = CODE + s->code.n;
	r->rflags = s->rflags;
}

/* ---- the KVM engine as a second oracle for the GP streams
 *
 * A machine of its own with the same memory image as emu's (GDT, TSS, page
 * tables, code, data, stack) and the same starting state. A stream the
 * host's KVM cannot run to the final OUT (an emulation failure or internal
 * error, a shutdown, any other exit) is not comparable, not a failure: on
 * a nested software hypervisor such as kvm_pvm parts of a guest go through
 * KVM's instruction emulator, which lacks instructions the streams use. */

/* kvm_pvm runs the guest's CPL 3 code with the host's IOPL of 0 and
 * emulates IN/OUT against the guest's IOPL, so PUSHF images show IOPL 0
 * where hardware (and emu, and unicorn) push IOPL 3: on such a host, stack
 * slots that differ only there count as equal against kvm. */
static bool kvm_pvm_iopl;
static int iopl_masked;

static struct vm kvm_vm;
static bool kvm_ready;

struct kvm_tally {
	int agree, unrunnable;
	char first_why[256];
};

static void kvm_no_op(int sig)
{
	(void)sig;
}

static int kvm_open(char *why, size_t n)
{
	if (engine_kvm.available(why, n) != 0)
		return -1;
	struct vm_config cfg = { .ram_size = 4ull << 20, .ncpus = 1, .console_in_fd = -1,
				 .console_out_fd = -1 };
	vm_init_machine(&kvm_vm, &engine_kvm, &cfg);
	if (guest_mem_init(&kvm_vm.mem, cfg.ram_size, why, n) != 0)
		return -1;
	if (engine_kvm.vm_create(&kvm_vm, why, n) != 0) {
		guest_mem_free(&kvm_vm.mem);
		return -1;
	}
	if (engine_kvm.vcpu_create(&kvm_vm.vcpu[0], why, n) != 0) {
		engine_kvm.vm_destroy(&kvm_vm);
		guest_mem_free(&kvm_vm.mem);
		return -1;
	}
	/* the kick that completes a pending OUT signals this thread */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kvm_no_op;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	kvm_ready = true;
	return 0;
}

static void kvm_close(void)
{
	if (!kvm_ready)
		return;
	engine_kvm.vcpu_destroy(&kvm_vm.vcpu[0]);
	engine_kvm.vm_destroy(&kvm_vm);
	guest_mem_free(&kvm_vm.mem);
	kvm_ready = false;
}

/* Runs after run_emu on the same stream: emu's RAM then holds the GDT and
 * TSS (below CODE) and the page tables (at ET_PML4) this stream needs. Returns 0 when the stream
 * ran to the OUT, else -1 with the reason in why. */
static int run_kvm(struct emu_test *t, const struct stream *s, struct result *r, char *why, size_t n)
{
	struct vcpu *cpu = &kvm_vm.vcpu[0];
	struct cpu_state st;
	static const uint8_t out80[2] = { 0xe6, 0x80 };
	static const uint8_t zero[STACK_SIZE];
	memset(r, 0, sizeof(*r));
	r->err = 1;
	build_state(t, s, &st);
	if (gpa_write(&kvm_vm.mem, 0, t->ram, CODE) != 0 ||
	    gpa_write(&kvm_vm.mem, ET_PML4, t->ram + ET_PML4, 0x3000) != 0 ||
	    gpa_write(&kvm_vm.mem, CODE, s->code.b, s->code.n) != 0 ||
	    gpa_write(&kvm_vm.mem, CODE + s->code.n, out80, 2) != 0 ||
	    gpa_write(&kvm_vm.mem, DATA, s->data, DATA_SIZE) != 0 ||
	    gpa_write(&kvm_vm.mem, STACK, zero, STACK_SIZE) != 0) {
		snprintf(why, n, "guest memory write failed");
		return -1;
	}
	if (engine_kvm.set_state(cpu, &st) != 0) {
		snprintf(why, n, "set_state: %s", strerror(errno));
		return -1;
	}
	struct vm_exit e;
	int rc;
	do
		rc = engine_kvm.run(cpu, &e);
	while (rc == 0 && e.reason == EXIT_INTERRUPTED);
	if (rc != 0) {
		snprintf(why, n, "KVM_RUN: %s", strerror(errno));
		return -1;
	}
	if (e.reason != EXIT_IO || e.io.port != 0x80 || !e.io.is_write) {
		struct cpu_state now;
		uint64_t rip = engine_kvm.get_state(cpu, &now) == 0 ? now.rip : 0;
		if (e.reason == EXIT_INTERNAL || e.reason == EXIT_FAIL_ENTRY)
			snprintf(why, n, "%s (code %#llx) at rip %#llx", e.fail.what,
				 (unsigned long long)e.fail.code, (unsigned long long)rip);
		else if (e.reason == EXIT_IO)
			snprintf(why, n, "I/O exit on port %#x at rip %#llx", e.io.port,
				 (unsigned long long)rip);
		else
			snprintf(why, n, "%s exit at rip %#llx", exit_reason_name(e.reason),
				 (unsigned long long)rip);
		return -1;
	}
	/* KVM finishes the OUT on the next KVM_RUN: run once with an immediate
	 * exit so that the state read back is consistent and nothing is left
	 * pending for the next stream. */
	engine_kvm.kick(cpu);
	rc = engine_kvm.run(cpu, &e);
	if (rc != 0 || e.reason != EXIT_INTERRUPTED || engine_kvm.get_state(cpu, &st) != 0) {
		snprintf(why, n, "completing the OUT: %s", rc ? strerror(errno) : exit_reason_name(e.reason));
		return -1;
	}
	r->err = 0;
	memcpy(r->gpr, st.gpr, sizeof(r->gpr));
	if (mode32)
		for (int k = 0; k < 16; k++)
			r->gpr[k] = k < 8 ? (uint32_t)r->gpr[k] : 0;
	r->rip = st.rip - 2;
	memcpy(r->xmm, st.fpu.xmm, sizeof(r->xmm));
	r->rflags = st.rflags;
	gpa_read(&kvm_vm.mem, DATA, r->data, DATA_SIZE);
	gpa_read(&kvm_vm.mem, STACK, r->stack, STACK_SIZE);
	return 0;
}

static void kvm_report(const char *mname, int streams, struct kvm_tally *kt)
{
	char iopl[96] = "";
	if (iopl_masked)
		snprintf(iopl, sizeof(iopl), "; in %d the stack differed only in the IOPL of kvm_pvm's PUSHF images",
			 iopl_masked);
	iopl_masked = 0;
	if (!kt->agree)
		printf("SKIP emu differential %s vs kvm: no stream could run on this host's KVM%s (%s)\n",
		       mname, kvm_pvm_iopl ? " (kvm_pvm)" : "", kt->first_why);
	else if (kt->unrunnable)
		printf("PASS emu differential %s vs kvm: %d of %d streams agree, %d not runnable on this host's KVM%s (first: %s)%s\n",
		       mname, kt->agree, streams, kt->unrunnable, kvm_pvm_iopl ? " (kvm_pvm)" : "",
		       kt->first_why, iopl);
	else
		printf("PASS emu differential %s vs kvm: %d of %d streams agree%s\n", mname, kt->agree,
		       streams, iopl);
}

/* A stream of one SSE instruction, run until KVM gives the same answer as
 * emu. A fresh vCPU loses the XMM registers KVM_SET_FPU sets until the
 * guest has used SSE once (seen with kvm_pvm: its first run reads XMM0-15
 * as zero), so the first run only warms up. */
static int kvm_warm_up(struct emu_test *t, char *why, size_t n)
{
	static struct stream w;
	static struct result e, k;
	memset(&w, 0, sizeof(w));
	w.code.b[w.code.n++] = 0x66;   /* movdqa xmm0, xmm1 */
	w.code.b[w.code.n++] = 0x0f;
	w.code.b[w.code.n++] = 0x6f;
	w.code.b[w.code.n++] = 0xc1;
	w.gpr[RSP] = STACK + STACK_SIZE - 0x100;
	w.rflags = 0x3202;
	for (int r = 0; r < 16; r++)
		for (int b = 0; b < 16; b++)
			w.xmm[r][b] = (uint8_t)(r * 16 + b + 1);
	run_emu(t, &w, &e);
	for (int tries = 0; tries < 2; tries++) {
		if (run_kvm(t, &w, &k, why, n) != 0)
			return -1;
		if (!memcmp(e.xmm, k.xmm, sizeof(e.xmm)) && !memcmp(e.gpr, k.gpr, sizeof(e.gpr)) &&
		    e.rip == k.rip)
			return 0;
	}
	snprintf(why, n, "a stream of one MOVDQA gives other registers than emu's");
	return -1;
}

/* ---- unicorn side, through dlopen */

#if HAVE_UC_HEADERS
struct uc_api {
	void *lib;
	uc_err (*open)(uc_arch, uc_mode, uc_engine **);
	uc_err (*close)(uc_engine *);
	uc_err (*mem_map)(uc_engine *, uint64_t, size_t, uint32_t);
	uc_err (*mem_write)(uc_engine *, uint64_t, const void *, size_t);
	uc_err (*mem_read)(uc_engine *, uint64_t, void *, size_t);
	uc_err (*reg_write)(uc_engine *, int, const void *);
	uc_err (*reg_read)(uc_engine *, int, void *);
	uc_err (*emu_start)(uc_engine *, uint64_t, uint64_t, uint64_t, size_t);
	uc_err (*ctl)(uc_engine *, uc_control_type, ...);
};

static int uc_load(struct uc_api *a)
{
	a->lib = dlopen("libunicorn.so.2", RTLD_NOW);
	if (!a->lib)
		return -1;
	a->open = (uc_err (*)(uc_arch, uc_mode, uc_engine **))dlsym(a->lib, "uc_open");
	a->close = (uc_err (*)(uc_engine *))dlsym(a->lib, "uc_close");
	a->mem_map = (uc_err (*)(uc_engine *, uint64_t, size_t, uint32_t))dlsym(a->lib, "uc_mem_map");
	a->mem_write = (uc_err (*)(uc_engine *, uint64_t, const void *, size_t))dlsym(a->lib, "uc_mem_write");
	a->mem_read = (uc_err (*)(uc_engine *, uint64_t, void *, size_t))dlsym(a->lib, "uc_mem_read");
	a->reg_write = (uc_err (*)(uc_engine *, int, const void *))dlsym(a->lib, "uc_reg_write");
	a->reg_read = (uc_err (*)(uc_engine *, int, void *))dlsym(a->lib, "uc_reg_read");
	a->emu_start = (uc_err (*)(uc_engine *, uint64_t, uint64_t, uint64_t, size_t))dlsym(a->lib, "uc_emu_start");
	a->ctl = (uc_err (*)(uc_engine *, uc_control_type, ...))dlsym(a->lib, "uc_ctl");
	return a->open && a->close && a->mem_map && a->mem_write && a->mem_read && a->reg_write &&
	       a->reg_read && a->emu_start && a->ctl ? 0 : -1;
}

static const int uc_gpr[16] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

static const int uc_gpr32[8] = {
	UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
	UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI,
};

static void run_uc(struct uc_api *a, const struct stream *s, struct result *r)
{
	uc_engine *uc;
	r->err = 1;
	if (a->open(UC_ARCH_X86, mode32 ? UC_MODE_32 : UC_MODE_64, &uc) != UC_ERR_OK)
		return;
	/* a CPU model with POPCNT and LAHF/SAHF in 64-bit mode, as emu has */
	a->ctl(uc, UC_CTL_WRITE(UC_CTL_CPU_MODEL, 1), UC_CPU_X86_HASWELL);
	a->mem_map(uc, CODE, 0x10000, UC_PROT_ALL);
	a->mem_map(uc, DATA, DATA_SIZE, UC_PROT_ALL);
	a->mem_map(uc, STACK, STACK_SIZE, UC_PROT_ALL);
	a->mem_write(uc, CODE, s->code.b, s->code.n);
	a->mem_write(uc, DATA, s->data, DATA_SIZE);
	for (int k = 0; k < (mode32 ? 8 : 16); k++) {
		if (mode32) {
			uint32_t v = (uint32_t)s->gpr[k];
			a->reg_write(uc, uc_gpr32[k], &v);
		} else {
			a->reg_write(uc, uc_gpr[k], &s->gpr[k]);
		}
	}
	a->reg_write(uc, UC_X86_REG_EFLAGS, &s->rflags);
	for (int k = 0; k < (mode32 ? 8 : 16); k++)
		a->reg_write(uc, UC_X86_REG_XMM0 + k, s->xmm[k]);
	uc_err e = a->emu_start(uc, CODE, CODE + s->code.n, 0, 0);
	r->err = e != UC_ERR_OK;
	memset(r->gpr, 0, sizeof(r->gpr));
	memset(r->xmm, 0, sizeof(r->xmm));
	for (int k = 0; k < (mode32 ? 8 : 16); k++)
		a->reg_read(uc, UC_X86_REG_XMM0 + k, r->xmm[k]);
	r->rip = 0;
	r->rflags = 0;
	for (int k = 0; k < 16; k++) {
		if (mode32) {
			uint32_t v = 0;
			if (k < 8)
				a->reg_read(uc, uc_gpr32[k], &v);
			r->gpr[k] = v;
		} else {
			a->reg_read(uc, uc_gpr[k], &r->gpr[k]);
		}
	}
	if (mode32) {
		uint32_t v = 0;
		a->reg_read(uc, UC_X86_REG_EIP, &v);
		r->rip = v;
		a->reg_read(uc, UC_X86_REG_EFLAGS, &v);
		r->rflags = v;
	} else {
		a->reg_read(uc, UC_X86_REG_RIP, &r->rip);
		a->reg_read(uc, UC_X86_REG_EFLAGS, &r->rflags);
	}
	a->mem_read(uc, DATA, r->data, DATA_SIZE);
	a->mem_read(uc, STACK, r->stack, STACK_SIZE);
	a->close(uc);
}
#endif

static void show_stream(const struct stream *s)
{
	for (int k = 0; k < STREAM_LEN; k++) {
		int end = k + 1 < STREAM_LEN ? s->form_off[k + 1] : s->code.n;
		printf("    %-14s", forms[s->forms[k]].name);
		for (int b = s->form_off[k]; b < end; b++)
			printf(" %02x", s->code.b[b]);
		printf("\n");
	}
}

static bool is_nan32(uint32_t v)
{
	return (v & 0x7f800000u) == 0x7f800000u && (v & 0x7fffffu);
}

static bool is_nan64(uint64_t v)
{
	return (v & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (v & 0xfffffffffffffull);
}

/* Unicorn (QEMU 5 softfloat) propagates the NaN with the larger
 * significand when both operands are NaNs, the x87 rule; SSE hardware
 * returns the first source (checked on this host's CPU). Lanes where both
 * engines hold some NaN therefore count as equal. */
static bool xmm_agree(const uint8_t *a, const uint8_t *b)
{
	for (int h = 0; h < 2; h++) {
		uint64_t x, y;
		memcpy(&x, a + 8 * h, 8);
		memcpy(&y, b + 8 * h, 8);
		if (x == y || (is_nan64(x) && is_nan64(y)))
			continue;
		for (int l = 0; l < 2; l++) {
			uint32_t p = (uint32_t)(x >> (32 * l)), q = (uint32_t)(y >> (32 * l));
			if (p != q && !(is_nan32(p) && is_nan32(q)))
				return false;
		}
	}
	return true;
}

/* the oracle compare() names: unicorn, host (the CPU) or kvm */
static const char *oracle = "unicorn";


/* The two 8-byte stack slots are the same but for the IOPL field of PUSHF
 * images: bytes where emu has bits 4-5 (flags bits 12-13) set and kvm has
 * them clear. Checked bytewise: a stream may misalign RSP (INC RSP). */
static bool iopl_only(uint64_t e, uint64_t k)
{
	for (int b = 0; b < 8; b++) {
		uint8_t x = (uint8_t)(e >> (8 * b)), y = (uint8_t)(k >> (8 * b));
		if (x != y && !(x == (y | 0x30) && !(y & 0x30)))
			return false;
	}
	return true;
}

static bool compare(const struct stream *s, const struct result *e, const struct result *u, int idx)
{
	char why[256] = "";
	uint64_t fm = F_ARITH | 0x400;
	if (e->err || u->err)
		snprintf(why, sizeof(why), "emu %s, %s %s", e->err ? "faulted" : "ran",
			 oracle, u->err ? "faulted" : "ran");
	for (int k = 0; k < 16 && !why[0] && !native; k++)
		if (e->gpr[k] != u->gpr[k])
			snprintf(why, sizeof(why), "gpr %d: emu %#llx %s %#llx", k,
				 (unsigned long long)e->gpr[k], oracle, (unsigned long long)u->gpr[k]);
	for (int k = 0; k < 16 && !why[0]; k++)
		if (native ? memcmp(e->xmm[k], u->xmm[k], 16) != 0 : !xmm_agree(e->xmm[k], u->xmm[k])) {
			uint64_t ev[2], uv[2];
			memcpy(ev, e->xmm[k], 16);
			memcpy(uv, u->xmm[k], 16);
			snprintf(why, sizeof(why), "xmm%d: emu %016llx%016llx %s %016llx%016llx", k,
				 (unsigned long long)ev[1], (unsigned long long)ev[0], oracle,
				 (unsigned long long)uv[1], (unsigned long long)uv[0]);
		}
	if (!why[0] && e->rip != u->rip)
		snprintf(why, sizeof(why), "rip: emu %#llx %s %#llx", (unsigned long long)e->rip, oracle,
			 (unsigned long long)u->rip);
	if (native)
		fm = 0;  /* the native run does not capture RFLAGS */
	if (!why[0] && (e->rflags & fm) != (u->rflags & fm))
		snprintf(why, sizeof(why), "flags: emu %#llx %s %#llx",
			 (unsigned long long)(e->rflags & fm), oracle, (unsigned long long)(u->rflags & fm));
	if (!why[0] && memcmp(e->data, u->data, DATA_SIZE))
		snprintf(why, sizeof(why), "data memory differs");
	bool masked = false;
	for (int k = 0; k < STACK_SIZE && !why[0] && !native; k += 8)
		if (memcmp(e->stack + k, u->stack + k, 8)) {
			uint64_t a, b;
			memcpy(&a, e->stack + k, 8);
			memcpy(&b, u->stack + k, 8);
			if (kvm_pvm_iopl && !strcmp(oracle, "kvm") && iopl_only(a, b)) {
				masked = true;
				continue;
			}
			snprintf(why, sizeof(why), "stack memory differs at %#llx: emu %#llx %s %#llx",
				 STACK + k, (unsigned long long)a, oracle, (unsigned long long)b);
		}
	if (!why[0]) {
		iopl_masked += masked;
		return true;
	}
	printf("FAIL emu diff %s vs %s stream %d: %s\n", native ? "SSE" : mode32 ? "32-bit" : "64-bit",
	       oracle, idx, why);
	check_failures++;
	show_stream(s);
	return false;
}

#if HAVE_UC_HEADERS
/* Debug aid (EMU_DIFF_BISECT=1): the shortest failing prefix of a stream,
 * with the XMM and GPR state both engines had before its last instruction. */
static void bisect(struct emu_test *t, struct uc_api *uc, const struct stream *s)
{
	static struct stream p;
	static struct result e0, u0, e1, u1;
	for (int k = 1; k <= STREAM_LEN; k++) {
		p = *s;
		p.code.n = k < STREAM_LEN ? s->form_off[k] : s->code.n;
		run_emu(t, &p, &e1);
		run_uc(uc, &p, &u1);
		if (memcmp(e1.xmm, u1.xmm, sizeof(e1.xmm)) || memcmp(e1.gpr, u1.gpr, sizeof(e1.gpr))) {
			printf("  first differs after instruction %d (%s)\n", k - 1, forms[s->forms[k - 1]].name);
			p.code.n = s->form_off[k - 1];
			run_emu(t, &p, &e0);
			run_uc(uc, &p, &u0);
			for (int r = 0; r < 16; r++) {
				uint64_t a[2], b[2], c2[2], d[2];
				memcpy(a, e0.xmm[r], 16), memcpy(b, u0.xmm[r], 16);
				memcpy(c2, e1.xmm[r], 16), memcpy(d, u1.xmm[r], 16);
				printf("  xmm%-2d before %016llx%016llx after emu %016llx%016llx uc %016llx%016llx\n", r,
				       (unsigned long long)a[1], (unsigned long long)a[0],
				       (unsigned long long)c2[1], (unsigned long long)c2[0],
				       (unsigned long long)d[1], (unsigned long long)d[0]);
				(void)b;
			}
			return;
		}
	}
}
#endif

/* Debug aid (EMU_DIFF_BISECT=1): the first instruction after which emu and
 * kvm differ in the GPRs or XMM registers. */
static void kvm_bisect(struct emu_test *t, const struct stream *s)
{
	static struct stream p;
	static struct result e1, k1;
	char why[160];
	for (int k = 1; k <= STREAM_LEN; k++) {
		p = *s;
		p.code.n = k < STREAM_LEN ? s->form_off[k] : s->code.n;
		run_emu(t, &p, &e1);
		if (run_kvm(t, &p, &k1, why, sizeof(why)) != 0) {
			printf("  kvm could not run the prefix of %d instructions: %s\n", k, why);
			return;
		}
		for (int r = 0; r < 16; r++)
			if (memcmp(e1.xmm[r], k1.xmm[r], 16) || e1.gpr[r] != k1.gpr[r]) {
				uint64_t a[2], b[2];
				memcpy(a, e1.xmm[r], 16), memcpy(b, k1.xmm[r], 16);
				printf("  first differs after instruction %d (%s): r%d emu %#llx kvm %#llx, "
				       "xmm%d emu %016llx%016llx kvm %016llx%016llx\n",
				       k - 1, forms[s->forms[k - 1]].name, r, (unsigned long long)e1.gpr[r],
				       (unsigned long long)k1.gpr[r], r, (unsigned long long)a[1],
				       (unsigned long long)a[0], (unsigned long long)b[1], (unsigned long long)b[0]);
				return;
			}
	}
}

int main(void)
{
#if !HAVE_UC_HEADERS
	printf("SKIP emu differential: unicorn headers are not installed\n");
	return 0;
#else
	struct uc_api uc;
	if (uc_load(&uc) < 0) {
		printf("SKIP emu differential: libunicorn.so.2 not found\n");
		return 0;
	}
	struct emu_test t;
	if (et_init(&t, 4ull << 20) < 0) {
		printf("FAIL emu differential: machine setup\n");
		return 1;
	}
	et_gdt(&t);
	/* EMU_DIFF_SEED / EMU_DIFF_N run other or longer campaigns */
	const char *seed_env = getenv("EMU_DIFF_SEED"), *n_env = getenv("EMU_DIFF_N");
	rng_state = seed_env ? strtoull(seed_env, NULL, 0) | 1 : SEED;
	int streams = n_env ? atoi(n_env) : STREAMS;
	static struct stream s;
	static struct result re, ru;
	native_code = mmap(NULL, NATIVE_CODE, PROT_READ | PROT_WRITE | PROT_EXEC,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char kvm_why[256] = "";
	if (kvm_open(kvm_why, sizeof(kvm_why)) != 0)
		printf("SKIP emu differential vs kvm: %s\n", kvm_why);
	kvm_pvm_iopl = access("/sys/module/kvm_pvm", F_OK) == 0;
	static struct result rk;
	for (int m = 0; m < 3; m++) {
		mode32 = m == 1;
		native = m == 2;
		if (native && (native_code == MAP_FAILED || !__builtin_cpu_supports("sse2"))) {
			printf("SKIP emu differential SSE vs host: no executable memory or no SSE2\n");
			continue;
		}
		bool use_kvm = kvm_ready && !native;
		if (use_kvm && kvm_warm_up(&t, kvm_why, sizeof(kvm_why)) != 0) {
			printf("SKIP emu differential %s vs kvm: %s\n", mode32 ? "32-bit" : "64-bit", kvm_why);
			use_kvm = false;
		}
		int shown = 0, kvm_shown = 0;
		struct kvm_tally kt = { 0, 0, "" };
		struct emu_vm *ev = t.vm->engine_priv;
		for (int k = 0; k < streams; k++) {
			make_stream(&s);
			/* each stream through the translator and through the interpreter */
			ev->jit_after = 1;
			run_emu(&t, &s, &re);
			if (native)
				run_native(&s, &ru);
			else
				run_uc(&uc, &s, &ru);
			if (!compare(&s, &re, &ru, k)) {
				if (getenv("EMU_DIFF_BISECT") && !native)
					bisect(&t, &uc, &s);
				if (++shown >= 5)
					break;
			}
			ev->jit_after = 0;
			run_emu(&t, &s, &re);
			if (!compare(&s, &re, &ru, k)) {
				printf("  (the interpreter, without translation)\n");
				if (++shown >= 5)
					break;
			}
			if (!use_kvm || kvm_shown >= 5)
				continue;
			char why[160];
			if (run_kvm(&t, &s, &rk, why, sizeof(why)) != 0) {
				if (!kt.unrunnable++)
					snprintf(kt.first_why, sizeof(kt.first_why), "stream %d: %s", k, why);
				if (getenv("EMU_DIFF_KVM_VERBOSE")) {
					unsigned long long at = 0;
					const char *p = strstr(why, "at rip ");
					if (p)
						at = strtoull(p + 7, NULL, 16) - CODE;
					int f = -1;
					for (int i = 0; i < STREAM_LEN; i++)
						if (s.form_off[i] <= (int)at)
							f = i;
					printf("  kvm could not run stream %d: %s (%s)\n", k, why,
					       f >= 0 && at < (unsigned long long)s.code.n ? forms[s.forms[f]].name : "end");
				}
				continue;
			}
			oracle = "kvm";
			if (compare(&s, &re, &rk, k))
				kt.agree++;
			else {
				kvm_shown++;
				if (getenv("EMU_DIFF_BISECT"))
					kvm_bisect(&t, &s);
			}
			oracle = "unicorn";
		}
		ev->jit_after = JIT_AFTER_RUNS;
		const char *mname = native ? "SSE" : mode32 ? "32-bit" : "64-bit";
		if (!shown)
			printf("PASS emu differential %s: %d streams of %d instructions, translated and interpreted, agree with %s\n",
			       mname, streams, STREAM_LEN, native ? "the host CPU" : "unicorn");
		if (use_kvm && !kvm_shown)
			kvm_report(mname, streams, &kt);
		if (use_kvm && mode32 && !kvm_shown) {
			/* the same again with streams of general-purpose forms only,
			 * from a seed of their own, against kvm and unicorn */
			uint64_t saved = rng_state;
			struct kvm_tally gt = { 0, 0, "" };
			rng_state = (seed_env ? strtoull(seed_env, NULL, 0) : SEED) ^ 0x3232323232ull;
			rng_state |= 1;
			gp_only = true;
			for (int k = 0; k < streams && kvm_shown < 5; k++) {
				make_stream(&s);
				run_emu(&t, &s, &re);
				run_uc(&uc, &s, &ru);
				if (!compare(&s, &re, &ru, k)) {
					printf("  (a GP-only stream)\n");
					shown++;
				}
				char why[160];
				if (run_kvm(&t, &s, &rk, why, sizeof(why)) != 0) {
					if (!gt.unrunnable++)
						snprintf(gt.first_why, sizeof(gt.first_why), "GP-only stream %d: %s", k, why);
					continue;
				}
				oracle = "kvm";
				if (compare(&s, &re, &rk, k))
					gt.agree++;
				else {
					printf("  (a GP-only stream)\n");
					kvm_shown++;
				}
				oracle = "unicorn";
			}
			gp_only = false;
			rng_state = saved;
			if (!kvm_shown)
				kvm_report("32-bit GP-only", streams, &gt);
		}
	}
	kvm_close();
	et_free(&t);
	return CHECK_DONE();
#endif
}
