/* MOVSX/MOVZX, LEA in every addressing form, SETcc/CMOVcc for all 16
 * conditions, CBW/CWDE/CDQE/CWD/CDQ/CQO, ENTER/LEAVE with nesting levels
 * 0-3, PUSH/POP with a 16-bit operand size.
 *
 * SDM facts used: a 16-bit (or 8-bit) destination register keeps its other
 * bits; a 32-bit destination zero-extends into 64 bits in long mode; LEA
 * computes the effective address in the address size and then truncates or
 * zero-extends it to the operand size; ENTER pushes (E/R)BP, copies
 * level-1 frame pointers from the old frame ([BP - size] downwards), pushes
 * the new frame pointer when level > 0, sets BP to it and subtracts the
 * size from SP; LEAVE is SP = BP, POP BP; PUSH/POP with 66H move SP by 2. */
#include "general.h"

#ifdef __x86_64__
#define SP "%%rsp"
#define BP "%%rbp"
#define W_STR "8"
#else
#define SP "%%esp"
#define BP "%%ebp"
#define W_STR "4"
#endif
#define W ((ulong)sizeof(ulong))

/* ---- MOVSX / MOVZX ---- */
#define EXT(fname, insn, stype, dmod)                                                  \
	static uint64_t fname(uint64_t src, uint64_t dest)                             \
	{                                                                              \
		stype s = (stype)src;                                                  \
		ulong d = (ulong)dest;                                                 \
		__asm__(insn " %[s], %" dmod "[d]" : [d] "+r"(d) : [s] "m"(s));        \
		return d;                                                              \
	}
EXT(movsbl, "movsbl", uint8_t, "k") EXT(movzbl, "movzbl", uint8_t, "k")
EXT(movswl, "movswl", uint16_t, "k") EXT(movzwl, "movzwl", uint16_t, "k")
EXT(movsbw, "movsbw", uint8_t, "w") EXT(movzbw, "movzbw", uint8_t, "w")
#ifdef __x86_64__
EXT(movsbq, "movsbq", uint8_t, "q") EXT(movslq, "movslq", uint32_t, "q") EXT(movswq, "movswq", uint16_t, "q")
#endif

struct ext_case {
	const char *name;
	uint64_t (*fn)(uint64_t, uint64_t);
	uint64_t src, dest, want;
};
static const struct ext_case ext_cases[] = {
	{ "misc/movsx_8_to_32", movsbl, 0x80, 0, 0xffffff80 },
	{ "misc/movzx_8_to_32", movzbl, 0x80, 0xffffffff, 0x80 },
	{ "misc/movsx_16_to_32", movswl, 0x8000, 0, 0xffff8000 },
	{ "misc/movzx_16_to_32", movzwl, 0xffff, 0xffffffff, 0x0000ffff },
	{ "misc/movsx_8_to_16_keeps_upper", movsbw, 0xff, 0x12340000, 0x1234ffff },
	{ "misc/movzx_8_to_16_keeps_upper", movzbw, 0x80, 0xaaaa5555, 0xaaaa0080 },
#ifdef __x86_64__
	{ "misc/movsx_8_to_64", movsbq, 0x80, 0, 0xffffffffffffff80 },
	{ "misc/movsxd_32_to_64", movslq, 0x80000000, 0, 0xffffffff80000000 },
	{ "misc/movsx_16_to_64", movswq, 0x8000, 0, 0xffffffffffff8000 },
	{ "misc/movzx_8_to_32_zero_extends", movzbl, 0x80, 0xffffffffffffffff, 0x80 },
#endif
};

/* ---- LEA ---- */
static void lea_checks(void)
{
	ulong r, b = 0x1000, i;
	__asm__("lea (%[b]), %[r]" : [r] "=r"(r) : [b] "r"(b));
	CHECK("misc/lea_base", r, 0x1000);
	__asm__("lea -0x10(%[b]), %[r]" : [r] "=r"(r) : [b] "r"(b));
	CHECK("misc/lea_base_disp8_negative", r, 0x0ff0);
	__asm__("lea 0x12345(%[b]), %[r]" : [r] "=r"(r) : [b] "r"(b));
	CHECK("misc/lea_base_disp32", r, 0x13345);
	i = 3;
	__asm__("lea 8(%[b],%[i],4), %[r]" : [r] "=r"(r) : [b] "r"(b), [i] "r"(i));
	CHECK("misc/lea_base_index4_disp8", r, 0x1014);
	i = (ulong)-1;
	__asm__("lea (%[b],%[i],8), %[r]" : [r] "=r"(r) : [b] "r"(b), [i] "r"(i));
	CHECK("misc/lea_base_index8_negative", r, 0x0ff8);
	i = 5;
	__asm__("lea 0x100(,%[i],2), %[r]" : [r] "=r"(r) : [i] "r"(i));
	CHECK("misc/lea_index2_no_base", r, 0x10a);
	__asm__("lea 0x12345678, %[r]" : [r] "=r"(r));
	CHECK("misc/lea_absolute_disp32", r, 0x12345678);
	b = (ulong)0xffffffff;
	i = 2;
	__asm__("leal (%[b],%[i]), %k[r]" : [r] "=r"(r) : [b] "r"(b), [i] "r"(i));
	CHECK("misc/lea32_wraps", r, 1);
	r = 0x5a5a5a5a;
	b = 0x1fff8;
	__asm__("leaw 0x10(%[b]), %w[r]" : [r] "+r"(r) : [b] "r"(b));
	CHECK("misc/lea16_operand_truncates", r, 0x5a5a0008);
	__asm__("lea 4(" SP "), %[r]\n\tsub " SP ", %[r]" : [r] "=r"(r));
	CHECK("misc/lea_sp_base_sib", r, 4);
#ifdef __x86_64__
	{
		ulong s;
		register ulong r12 __asm__("r12") = 0x1000;
		register ulong r13 __asm__("r13") = 0x10;
		__asm__("lea 1f(%%rip), %[r]\n1:\n\tmovabs $1b, %[s]" : [r] "=r"(r), [s] "=r"(s));
		CHECK("misc/lea_rip_relative", r - s, 0);
		b = 0xdead0000ffffffff;
		i = 2;
		__asm__("lea (%k[b],%k[i]), %[r]" : [r] "=r"(r) : [b] "r"(b), [i] "r"(i));
		CHECK("misc/lea_addr32_zero_extends", r, 1);
		__asm__("lea (%%r13), %[r]" : [r] "=r"(r) : "r"(r13));
		CHECK("misc/lea_r13_base", r, 0x10);
		__asm__("lea (%%r12,%%r13,2), %[r]" : [r] "=r"(r) : "r"(r12), "r"(r13));
		CHECK("misc/lea_r12_base_sib", r, 0x1020);
	}
#else
	{
		ulong bx = 0xffff, si = 2, di = 0x1234fff8;
		__asm__("leal 4(%%bx,%%si), %[r]" : [r] "=r"(r) : "b"(bx), "S"(si));
		CHECK("misc/lea_addr16_bx_si_wraps", r, 5);
		__asm__("leal 0x10(%%di), %[r]" : [r] "=r"(r) : "D"(di));
		CHECK("misc/lea_addr16_di_ignores_upper", r, 8);
	}
#endif
}

/* ---- SETcc / CMOVcc ----
 * Each condition is evaluated under six flag patterns; bit k of the
 * result is the outcome under pattern k. */
static const ulong cc_patterns[6] = { 0, F_CF | F_ZF, F_SF, F_SF | F_OF | F_PF, F_ZF | F_OF, F_CF };

#define CC(cc)                                                                           \
	static unsigned set_##cc(void)                                                   \
	{                                                                                \
		unsigned k, m = 0;                                                       \
		for (k = 0; k < 6; k++) {                                                \
			ulong f = FLAGS_LOAD(cc_patterns[k]), r = 0xfe;                  \
			__asm__ volatile(FLAGS_IN "set" #cc " %b[r]"                     \
					 : [r] "+q"(r) : [fl] "r"(f) : "cc");           \
			m |= (unsigned)(r & 0xff) << k;                                  \
		}                                                                        \
		return m;                                                                \
	}                                                                                \
	static unsigned cmov_##cc(void)                                                  \
	{                                                                                \
		unsigned k, m = 0;                                                       \
		for (k = 0; k < 6; k++) {                                                \
			ulong f = FLAGS_LOAD(cc_patterns[k]), r = 0, one = 1;            \
			__asm__ volatile(FLAGS_IN "cmov" #cc " %[one], %[r]"             \
					 : [r] "+r"(r) : [fl] "r"(f), [one] "r"(one) : "cc"); \
			m |= (unsigned)r << k;                                           \
		}                                                                        \
		return m;                                                                \
	}
CC(o) CC(no) CC(b) CC(ae) CC(e) CC(ne) CC(be) CC(a) CC(s) CC(ns) CC(p) CC(np) CC(l) CC(ge) CC(le) CC(g)

struct cc_case {
	const char *set_name, *cmov_name;
	unsigned (*set)(void), (*cmov)(void);
	unsigned want;
};
/* Patterns: 0 none, 1 CF+ZF, 2 SF, 3 SF+OF+PF, 4 ZF+OF, 5 CF. */
#define CCE(cc, want) { "misc/set" #cc, "misc/cmov" #cc, set_##cc, cmov_##cc, want }
static const struct cc_case cc_cases[] = {
	CCE(o, 0x18), CCE(no, 0x27), CCE(b, 0x22), CCE(ae, 0x1d), CCE(e, 0x12), CCE(ne, 0x2d),
	CCE(be, 0x32), CCE(a, 0x0d), CCE(s, 0x0c), CCE(ns, 0x33), CCE(p, 0x08), CCE(np, 0x37),
	CCE(l, 0x14), CCE(ge, 0x2b), CCE(le, 0x16), CCE(g, 0x29),
};

/* ---- sign extension of the accumulator ---- */
static void cbw_checks(void)
{
	ulong a, d;
	a = 0x12345680;
	__asm__("cbtw" : "+a"(a));
	CHECK("misc/cbw_negative_keeps_upper", a, 0x1234ff80);
	a = 0x1234567f;
	__asm__("cbtw" : "+a"(a));
	CHECK("misc/cbw_positive", a, 0x1234007f);
	a = 0x12348000;
	__asm__("cwtl" : "+a"(a));
	CHECK("misc/cwde", a, 0xffff8000);
	a = 0x8000;
	d = 0x55550000;
	__asm__("cwtd" : "+a"(a), "+d"(d));
	CHECK("misc/cwd_keeps_upper_dx", d, 0x5555ffff);
	a = 0x7fffffff;
	d = 0x1234;
	__asm__("cltd" : "+a"(a), "+d"(d));
	CHECK("misc/cdq_positive", d, 0);
	a = 0x80000000;
	d = 0;
	__asm__("cltd" : "+a"(a), "+d"(d));
	CHECK("misc/cdq_negative", d, 0xffffffff);
#ifdef __x86_64__
	a = 0x1111111180000000;
	__asm__("cltq" : "+a"(a));
	CHECK("misc/cdqe", a, 0xffffffff80000000);
	a = 0x8000000000000000;
	d = 0;
	__asm__("cqto" : "+a"(a), "+d"(d));
	CHECK("misc/cqo", d, 0xffffffffffffffff);
	a = 0xffffffff00008000;
	__asm__("cwtl" : "+a"(a));
	CHECK("misc/cwde_zero_extends", a, 0x00000000ffff8000);
#endif
}

/* ---- ENTER / LEAVE ----
 * Run on a private stack with a fake caller frame so every slot is known:
 * out[0] saved SP, out[1..2] SP/BP after ENTER, out[3..4] after LEAVE. */
static ulong enter_stack[32] __attribute__((aligned(16)));
static ulong enter_frames[8];

#define ENTER_FN(level)                                                                  \
	static void enter_##level(ulong *out)                                            \
	{                                                                                \
		__asm__ volatile("push " BP "\n\t"                                       \
				 "mov " SP ", (%[out])\n\t"                              \
				 "mov %[top], " SP "\n\t"                                \
				 "mov %[fbp], " BP "\n\t"                                \
				 "enter $0x20, $" #level "\n\t"                          \
				 "mov " SP ", " W_STR "(%[out])\n\t"                     \
				 "mov " BP ", 2*" W_STR "(%[out])\n\t"                   \
				 "leave\n\t"                                             \
				 "mov " SP ", 3*" W_STR "(%[out])\n\t"                   \
				 "mov " BP ", 4*" W_STR "(%[out])\n\t"                   \
				 "mov (%[out]), " SP "\n\t"                              \
				 "pop " BP                                               \
				 :                                                       \
				 : [out] "D"(out), [top] "S"(&enter_stack[32]),          \
				   [fbp] "d"(&enter_frames[4])                           \
				 : "memory");                                            \
	}
ENTER_FN(0) ENTER_FN(1) ENTER_FN(2) ENTER_FN(3)

static void enter_checks(void)
{
	static void (*const fns[4])(ulong *) = { enter_0, enter_1, enter_2, enter_3 };
	static const char *const names[4][3] = {
		{ "misc/enter0_sp_bp", "misc/enter0_frame", "misc/enter0_leave" },
		{ "misc/enter1_sp_bp", "misc/enter1_frame", "misc/enter1_leave" },
		{ "misc/enter2_sp_bp", "misc/enter2_frame", "misc/enter2_leave" },
		{ "misc/enter3_sp_bp", "misc/enter3_frame", "misc/enter3_leave" },
	};
	ulong top = (ulong)&enter_stack[32], fbp = (ulong)&enter_frames[4];
	unsigned level, k;
	for (level = 0; level < 4; level++) {
		ulong out[5];
		for (k = 0; k < 32; k++)
			enter_stack[k] = 0xeeee;
		for (k = 0; k < 8; k++)
			enter_frames[k] = 0x1111 * (4 - k);	/* [fbp-W] = 0x1111, [fbp-2W] = 0x2222 */
		fns[level](out);
		/* SP: saved BP, level-1 copies, the new frame pointer when level > 0, 0x20 bytes. */
		CHECK2(names[level][0], top - out[1], W * (1 + level) + 0x20, top - out[2], W);
		switch (level) {
		case 0:
			CHECK(names[0][1], enter_stack[31], fbp);
			break;
		case 1:
			CHECK2(names[1][1], enter_stack[31], fbp, enter_stack[30], top - W);
			break;
		case 2:
			CHECK3(names[2][1], enter_stack[31], fbp, enter_stack[30], 0x1111, enter_stack[29], top - W);
			break;
		default:
			CHECK4(names[3][1], enter_stack[30], 0x1111, enter_stack[29], 0x2222, enter_stack[28],
			       top - W, enter_stack[27], 0xeeee);
			break;
		}
		CHECK2(names[level][2], out[3], top, out[4], fbp);
	}
}

/* ---- PUSH / POP with 66H ---- */
static void push16_checks(void)
{
	ulong delta, top, v = 0xffffbeef, dst = 0x12345678;
	uint16_t mem = 0x5555;
	uint32_t wide = 0xaaaaaaaa;
	__asm__ volatile("mov " SP ", %[d]\n\t"
			 "pushw %w[v]\n\t"
			 "sub " SP ", %[d]\n\t"
			 "movzwl (" SP "), %k[t]\n\t"
			 "popw %w[dst]"
			 : [d] "=&r"(delta), [t] "=&r"(top), [dst] "+r"(dst)
			 : [v] "r"(v)
			 : "memory");
	CHECK2("misc/push16_reg", delta, 2, top, 0xbeef);
	CHECK("misc/pop16_reg_keeps_upper", dst, 0x1234beef);
	__asm__ volatile("mov " SP ", %[d]\n\t"
			 "pushw $-2\n\t"
			 "sub " SP ", %[d]\n\t"
			 "movzwl (" SP "), %k[t]\n\t"
			 "popw %[m]"
			 : [d] "=&r"(delta), [t] "=&r"(top), [m] "+m"(mem)
			 :
			 : "memory");
	CHECK2("misc/push16_imm", delta, 2, top, 0xfffe);
	CHECK("misc/pop16_mem", mem, 0xfffe);
	__asm__ volatile("pushw $0x1234\n\t"
			 "popw (%[p])"
			 :
			 : [p] "r"(&wide)
			 : "memory");
	CHECK("misc/pop16_mem_writes_two_bytes", wide, 0xaaaa1234);
	__asm__ volatile("mov " SP ", %[d]\n\t"
			 "push $-1\n\t"
			 "sub " SP ", %[d]\n\t"
			 "mov (" SP "), %[t]\n\t"
			 "add $" W_STR ", " SP
			 : [d] "=&r"(delta), [t] "=&r"(top)
			 :
			 : "memory");
	CHECK2("misc/push_imm8_default_size", delta, W, top, (ulong)-1);
}

void GEN(misc_checks)(void)
{
	size_t i;
	for (i = 0; i < sizeof(ext_cases) / sizeof(ext_cases[0]); i++)
		CHECK(ext_cases[i].name, ext_cases[i].fn(ext_cases[i].src, ext_cases[i].dest), ext_cases[i].want);
	lea_checks();
	for (i = 0; i < sizeof(cc_cases) / sizeof(cc_cases[0]); i++) {
		CHECK(cc_cases[i].set_name, cc_cases[i].set(), cc_cases[i].want);
		CHECK(cc_cases[i].cmov_name, cc_cases[i].cmov(), cc_cases[i].want);
	}
	cbw_checks();
	enter_checks();
	push16_checks();
}
