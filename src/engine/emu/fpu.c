/* x87/SSE: for now only the state-management forms (FXSAVE/FXRSTOR,
 * LDMXCSR/STMXCSR, FNINIT, FNSTSW, FNSTCW, FLDCW, WAIT), which keep the
 * canonical FXSAVE image in cpu_state consistent. CPUID does not advertise
 * the FPU or SSE until their arithmetic exists; other x87 and SSE opcodes
 * raise #NM when CR0 asks for it, else #UD. */
#include <fenv.h>
#include <math.h>
#include <string.h>

#include "engine/emu/emu.h"

static void check_nm(struct emu_cpu *c, bool wait_form)
{
	uint64_t cr0 = c->s.cr0;
	if (wait_form ? ((cr0 & CR0_TS) && (cr0 & CR0_MP)) : (cr0 & (CR0_EM | CR0_TS)))
		raise_fault(c, 7, false, 0);
}

static void fninit(struct emu_cpu *c)
{
	struct fpu_state *f = &c->s.fpu;
	f->fcw = 0x37f;
	f->fsw = 0;
	f->ftw = 0;
	f->fop = 0;
	f->fip = f->fdp = 0;
}

/* ---- the register stack. fpu.st[] holds ST(0)..ST(7) as FXSAVE does,
 * so a push or pop moves the slots; the abridged tag word is indexed by
 * physical register, TOP + i. */

#define FSW_IE 0x0001
#define FSW_ZE 0x0004
#define FSW_OE 0x0008
#define FSW_UE 0x0010
#define FSW_PE 0x0020
#define FSW_SF 0x0040
#define FSW_ES 0x0080
#define FSW_C0 0x0100
#define FSW_C1 0x0200
#define FSW_C2 0x0400
#define FSW_C3 0x4000
#define FSW_B  0x8000

/* A pending unmasked x87 exception (FSW.ES) is reported when the next
 * waiting x87 instruction starts: with CR0.NE as #MF, a fault with RIP at
 * that instruction (SDM vol. 1 8.7, vol. 3A 6.15 interrupt 16). With
 * CR0.NE clear the PC-style FERR#/IGNNE# path would apply; no interrupt
 * controller input is modelled for it, so the exception is left pending
 * and the instruction runs. FXSAVE/FXRSTOR never check, and loading a
 * status word with ES (FLDENV, FRSTOR, FXRSTOR) raises nothing by itself. */
static void check_mf(struct emu_cpu *c)
{
	if ((c->s.cr0 & CR0_NE) && (c->s.fpu.fsw & FSW_ES))
		raise_fault(c, 16, false, 0);
}

static int fp_top(struct emu_cpu *c)
{
	return (c->s.fpu.fsw >> 11) & 7;
}

static void fp_set_top(struct emu_cpu *c, int t)
{
	c->s.fpu.fsw = (c->s.fpu.fsw & ~0x3800) | ((t & 7) << 11);
}

static bool fp_valid(struct emu_cpu *c, int i)
{
	return (c->s.fpu.ftw >> ((fp_top(c) + i) & 7)) & 1;
}

static void fp_set_valid(struct emu_cpu *c, int i, bool v)
{
	int p = (fp_top(c) + i) & 7;
	c->s.fpu.ftw = v ? (c->s.fpu.ftw | (1 << p)) : (c->s.fpu.ftw & ~(1 << p));
}

static long double fp_indefinite(void)
{
	return -__builtin_nanl("");
}

static void fp_raise(struct emu_cpu *c, uint16_t bits)
{
	c->s.fpu.fsw |= bits;
	if (bits & ~c->s.fpu.fcw & 0x3f)
		c->s.fpu.fsw |= FSW_ES | FSW_B;
}

static long double fp_get(struct emu_cpu *c, int i)
{
	if (!fp_valid(c, i)) {
		c->s.fpu.fsw &= ~FSW_C1;
		fp_raise(c, FSW_IE | FSW_SF);
		return fp_indefinite();
	}
	long double v = 0;
	memcpy(&v, c->s.fpu.st[i], 10);
	return v;
}

static void fp_put(struct emu_cpu *c, int i, long double v)
{
	memset(c->s.fpu.st[i], 0, 16);
	memcpy(c->s.fpu.st[i], &v, 10);
	fp_set_valid(c, i, true);
}

static void fp_push(struct emu_cpu *c, long double v)
{
	if (fp_valid(c, 7)) {
		c->s.fpu.fsw |= FSW_C1;
		fp_raise(c, FSW_IE | FSW_SF);
		v = fp_indefinite();
	}
	memmove(c->s.fpu.st[1], c->s.fpu.st[0], 7 * 16);
	fp_set_top(c, fp_top(c) - 1);
	fp_put(c, 0, v);
}

static void fp_pop(struct emu_cpu *c)
{
	fp_set_valid(c, 0, false);
	memmove(c->s.fpu.st[0], c->s.fpu.st[1], 7 * 16);
	memset(c->s.fpu.st[7], 0, 16);
	fp_set_top(c, fp_top(c) + 1);
}

/* Host arithmetic under the guest's rounding control; the host's sticky
 * exception flags become the guest's status flags. */
static int fp_begin(struct emu_cpu *c)
{
	static const int rc[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
	feclearexcept(FE_ALL_EXCEPT);
	fesetround(rc[(c->s.fpu.fcw >> 10) & 3]);
	return 0;
}

static void fp_end(struct emu_cpu *c)
{
	int e = fetestexcept(FE_ALL_EXCEPT);
	fesetround(FE_TONEAREST);
	uint16_t b = 0;
	if (e & FE_INVALID) b |= FSW_IE;
	if (e & FE_DIVBYZERO) b |= FSW_ZE;
	if (e & FE_OVERFLOW) b |= FSW_OE;
	if (e & FE_UNDERFLOW) b |= FSW_UE;
	if (e & FE_INEXACT) b |= FSW_PE;
	if (b)
		fp_raise(c, b);
}

/* Precision control narrows results to float or double. */
static long double fp_round_pc(struct emu_cpu *c, long double v)
{
	switch ((c->s.fpu.fcw >> 8) & 3) {
	case 0: return (float)v;
	case 2: return (double)v;
	default: return v;
	}
}

static long double fp_arith(struct emu_cpu *c, int op, long double a, long double b)
{
	/* op: 0 add 1 mul 4 sub 5 subr 6 div 7 divr (the ModRM.reg numbering) */
	volatile long double x = a, y = b, r;
	fp_begin(c);
	switch (op) {
	case 0: r = x + y; break;
	case 1: r = x * y; break;
	case 4: r = x - y; break;
	case 5: r = y - x; break;
	case 6: r = x / y; break;
	default: r = y / x; break;
	}
	r = fp_round_pc(c, r);
	fp_end(c);
	return r;
}

static bool fp_signaling(long double v)
{
	uint64_t mant;
	memcpy(&mant, &v, 8);
	return __builtin_isnan(v) && !(mant & (1ull << 62));
}

static void fp_compare(struct emu_cpu *c, long double a, long double b, bool to_eflags, bool quiet)
{
	uint16_t cc;
	uint64_t fl;
	if (__builtin_isnan(a) || __builtin_isnan(b)) {
		cc = FSW_C3 | FSW_C2 | FSW_C0;
		fl = RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF;
		if (!quiet || fp_signaling(a) || fp_signaling(b))
			fp_raise(c, FSW_IE);
	} else if (a > b) {
		cc = 0, fl = 0;
	} else if (a < b) {
		cc = FSW_C0, fl = RFLAGS_CF;
	} else {
		cc = FSW_C3, fl = RFLAGS_ZF;
	}
	if (to_eflags) {
		set_flags_masked(c, fl, RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF);
		c->s.fpu.fsw &= ~FSW_C1;
	} else {
		c->s.fpu.fsw = (c->s.fpu.fsw & ~(FSW_C3 | FSW_C2 | FSW_C1 | FSW_C0)) | cc;
	}
}

static long double fp_load_mem(struct emu_cpu *c, const struct insn *i, int kind)
{
	uint64_t ea = insn_ea(c, i);
	switch (kind) {
	case 0: { uint32_t v = mem_read(c, i->seg, ea, 4); float f; memcpy(&f, &v, 4); return f; }
	case 1: { uint64_t v = mem_read(c, i->seg, ea, 8); double d; memcpy(&d, &v, 8); return d; }
	case 2: return (int32_t)mem_read(c, i->seg, ea, 4);
	case 3: return (int16_t)mem_read(c, i->seg, ea, 2);
	case 4: return (int64_t)mem_read(c, i->seg, ea, 8);
	default: {
		uint8_t b[16] = { 0 };
		uint64_t lo = mem_read(c, i->seg, ea, 8);
		uint64_t hi = mem_read(c, i->seg, (ea + 8) & size_mask(i->asize), 2);
		memcpy(b, &lo, 8);
		memcpy(b + 8, &hi, 2);
		long double v;
		memcpy(&v, b, sizeof(v));
		return v;
	}
	}
}

/* Stores ST(0) as float (0), double (1) or 80-bit (5). */
static void fp_store_real(struct emu_cpu *c, const struct insn *i, int kind, long double v)
{
	uint64_t ea = insn_ea(c, i);
	if (kind == 5) {
		uint8_t b[16] = { 0 };
		memcpy(b, &v, 10);
		uint64_t lo, hi = 0;
		memcpy(&lo, b, 8);
		memcpy(&hi, b + 8, 2);
		mem_write(c, i->seg, ea, 8, lo);
		mem_write(c, i->seg, (ea + 8) & size_mask(i->asize), 2, hi);
		return;
	}
	fp_begin(c);
	volatile long double x = v;
	if (kind == 0) {
		float f = (float)x;
		fp_end(c);
		uint32_t u;
		memcpy(&u, &f, 4);
		mem_write(c, i->seg, ea, 4, u);
	} else {
		double d = (double)x;
		fp_end(c);
		uint64_t u;
		memcpy(&u, &d, 8);
		mem_write(c, i->seg, ea, 8, u);
	}
}

/* FIST/FISTP/FISTTP: size 2, 4 or 8; out of range gives the indefinite. */
static void fp_store_int(struct emu_cpu *c, const struct insn *i, int size, long double v, bool trunc)
{
	long double lim = size == 2 ? 32768.0L : size == 4 ? 2147483648.0L : 9223372036854775808.0L;
	fp_begin(c);
	if (trunc)
		fesetround(FE_TOWARDZERO);
	volatile long double r = __builtin_nearbyintl(v);
	int64_t out;
	if (__builtin_isnan(v) || r >= lim || r < -lim) {
		fp_end(c);
		fp_raise(c, FSW_IE);
		out = size == 2 ? INT16_MIN : size == 4 ? INT32_MIN : INT64_MIN;
	} else {
		out = (int64_t)r;
		if (r != v)
			feraiseexcept(FE_INEXACT);
		fp_end(c);
	}
	mem_write(c, i->seg, insn_ea(c, i), size, (uint64_t)out);
}

/* FBLD: m80 packed BCD (SDM vol. 1 4.7): bytes 0..8 hold 18 digits, two
 * per byte with the less significant digit in the low nibble; bit 7 of
 * byte 9 is the sign, its other bits are ignored. A nibble above 9 gives
 * an undefined result; it is weighted like a digit here. */
static long double fp_load_bcd(struct emu_cpu *c, const struct insn *i)
{
	uint64_t ea = insn_ea(c, i);
	uint64_t lo = mem_read(c, i->seg, ea, 8);
	uint64_t hi = mem_read(c, i->seg, (ea + 8) & size_mask(i->asize), 2);
	uint64_t v = 0;
	for (int d = 17; d >= 0; d--) {
		unsigned nib = d < 16 ? (lo >> (4 * d)) & 15 : (hi >> (4 * (d - 16))) & 15;
		v = v * 10 + nib;
	}
	long double r = (long double)v;  /* below 2^64: exact */
	return (hi & 0x8000) ? -r : r;
}

/* FBSTP: ST(0) rounded to an integer by FCW.RC and stored as packed BCD.
 * A NaN, an infinity or a value with more than 18 digits is an invalid
 * operation: with IE masked the packed BCD indefinite (FFFF C000 0000 0000
 * 0000H, SDM vol. 1 table 4-3) is stored; unmasked, nothing is stored and
 * the stack is not popped. Returns whether to pop. */
static bool fp_store_bcd(struct emu_cpu *c, const struct insn *i, long double v)
{
	uint64_t ea = insn_ea(c, i);
	uint64_t lo = 0, hi = 0;
	uint16_t flags = 0;
	fp_begin(c);
	volatile long double r = __builtin_nearbyintl(v);
	fesetround(FE_TONEAREST);
	feclearexcept(FE_ALL_EXCEPT);
	if (__builtin_isnan(v) || __builtin_isinf(v) || __builtin_fabsl(r) >= 1e18L) {
		flags = FSW_IE;
		if (!(c->s.fpu.fcw & FSW_IE))
			return false;  /* caller's fp_raise comes below */
		lo = 0xc000000000000000ull;
		hi = 0xffff;
	} else {
		uint64_t u = (uint64_t)__builtin_fabsl(r);
		for (int d = 0; d < 18; d++) {
			uint64_t nib = u % 10;
			u /= 10;
			if (d < 16)
				lo |= nib << (4 * d);
			else
				hi |= nib << (4 * (d - 16));
		}
		if (__builtin_signbit(r))
			hi |= 0x8000;
		if (r != v)
			flags = FSW_PE;
	}
	mem_write(c, i->seg, ea, 8, lo);
	mem_write(c, i->seg, (ea + 8) & size_mask(i->asize), 2, hi);
	c->s.fpu.fsw &= ~FSW_C1;
	if (flags)
		fp_raise(c, flags);
	return true;
}

static uint16_t fp_full_tag(struct emu_cpu *c)
{
	uint16_t tw = 0;
	int top = fp_top(c);
	for (int p = 0; p < 8; p++) {
		int t;
		if (!((c->s.fpu.ftw >> p) & 1)) {
			t = 3;
		} else {
			long double v;
			memcpy(&v, c->s.fpu.st[(p - top) & 7], 10);
			t = v == 0 ? 1 : (__builtin_isnan(v) || __builtin_isinf(v) || !__builtin_isnormal(v)) ? 2 : 0;
		}
		tw |= t << (2 * p);
	}
	return tw;
}

static void fp_stenv(struct emu_cpu *c, const struct insn *i, uint64_t ea)
{
	struct fpu_state *f = &c->s.fpu;
	int w = i->osize == 2 ? 2 : 4;
	uint64_t m = size_mask(i->asize);
	mem_write(c, i->seg, ea, w, f->fcw);
	mem_write(c, i->seg, (ea + w) & m, w, f->fsw);
	mem_write(c, i->seg, (ea + 2 * w) & m, w, fp_full_tag(c));
	/* Protected-mode layout (SDM vol. 1 8.1.10): FIP, then FCS with the
	 * opcode in bits 26:16 (32-bit form only), FDP, FDS. The selectors
	 * ride in bits 47:32 of fip/fdp, as in the 32-bit FXSAVE image. */
	uint32_t fcs = (uint32_t)(f->fip >> 32) & 0xffff, fds = (uint32_t)(f->fdp >> 32) & 0xffff;
	mem_write(c, i->seg, (ea + 3 * w) & m, w, f->fip);
	mem_write(c, i->seg, (ea + 4 * w) & m, w, w == 4 ? fcs | (uint32_t)(f->fop & 0x7ff) << 16 : fcs);
	mem_write(c, i->seg, (ea + 5 * w) & m, w, f->fdp);
	mem_write(c, i->seg, (ea + 6 * w) & m, w, fds);
}

static void fp_ldenv(struct emu_cpu *c, const struct insn *i, uint64_t ea)
{
	struct fpu_state *f = &c->s.fpu;
	int w = i->osize == 2 ? 2 : 4;
	uint64_t m = size_mask(i->asize);
	f->fcw = mem_read(c, i->seg, ea, 2);
	f->fsw = mem_read(c, i->seg, (ea + w) & m, 2);
	uint16_t tw = mem_read(c, i->seg, (ea + 2 * w) & m, 2);
	f->ftw = 0;
	for (int p = 0; p < 8; p++)
		if (((tw >> (2 * p)) & 3) != 3)
			f->ftw |= 1 << p;
	uint64_t fip = mem_read(c, i->seg, (ea + 3 * w) & m, w);
	uint32_t fcs_op = (uint32_t)mem_read(c, i->seg, (ea + 4 * w) & m, w);
	uint64_t fdp = mem_read(c, i->seg, (ea + 5 * w) & m, w);
	uint64_t fds = mem_read(c, i->seg, (ea + 6 * w) & m, 2);
	f->fip = fip | (uint64_t)(fcs_op & 0xffff) << 32;
	f->fdp = fdp | fds << 32;
	if (w == 4)
		f->fop = (fcs_op >> 16) & 0x7ff;
	if (f->fsw & ~f->fcw & 0x3f)
		f->fsw |= FSW_ES | FSW_B;
	else
		f->fsw &= ~(FSW_ES | FSW_B);
}

static void fp_save(struct emu_cpu *c, const struct insn *i, bool restore)
{
	uint64_t ea = insn_ea(c, i);
	int envsz = i->osize == 2 ? 14 : 28;
	uint64_t m = size_mask(i->asize);
	if (restore)
		fp_ldenv(c, i, ea);
	else
		fp_stenv(c, i, ea);
	for (int k = 0; k < 8; k++) {
		uint64_t a = (ea + envsz + 10 * k) & m;
		if (restore) {
			uint64_t lo = mem_read(c, i->seg, a, 8), hi = mem_read(c, i->seg, (a + 8) & m, 2);
			memcpy(c->s.fpu.st[k], &lo, 8);
			memcpy(c->s.fpu.st[k] + 8, &hi, 2);
		} else {
			uint64_t lo, hi = 0;
			memcpy(&lo, c->s.fpu.st[k], 8);
			memcpy(&hi, c->s.fpu.st[k] + 8, 2);
			mem_write(c, i->seg, a, 8, lo);
			mem_write(c, i->seg, (a + 8) & m, 2, hi);
		}
	}
	if (!restore)
		fninit(c);
}

static void fp_constant(struct emu_cpu *c, int k)
{
	static const long double k_val[7] = {
		1.0L, 3.321928094887362347870319429489390175864831393L,
		1.442695040888963407359924681001892137426645954L,
		3.141592653589793238462643383279502884197169399L,
		0.301029995663981195213738894724493026768189881L,
		0.693147180559945309417232121458176568075500134L, 0.0L,
	};
	fp_push(c, k_val[k]);
}

static void fxam(struct emu_cpu *c)
{
	uint16_t cc;
	long double v;
	memcpy(&v, c->s.fpu.st[0], 10);
	if (!fp_valid(c, 0))
		cc = FSW_C3 | FSW_C0;
	else if (__builtin_isnan(v))
		cc = FSW_C0;
	else if (__builtin_isinf(v))
		cc = FSW_C2 | FSW_C0;
	else if (v == 0)
		cc = FSW_C3;
	else if (!__builtin_isnormal(v))
		cc = FSW_C3 | FSW_C2;
	else
		cc = FSW_C2;
	if (__builtin_signbit(v))
		cc |= FSW_C1;
	c->s.fpu.fsw = (c->s.fpu.fsw & ~(FSW_C3 | FSW_C2 | FSW_C1 | FSW_C0)) | cc;
}

/* FSCALE: x * 2^trunc(s). A NaN or infinite s is computed in floating
 * point (the NaN passes through; +inf makes +-inf of x, or an invalid 0 *
 * inf; -inf makes +-0, or an invalid inf / inf), and a finite s is clamped
 * to what still over- or underflows every x, so the int conversion is
 * always defined. */
static long double fp_scale(long double x, long double s)
{
	if (isnan(s))
		return x + s;
	if (isinf(s))
		return s > 0 ? x * s : x / -s;
	long double t = truncl(s);
	if (t > 65536.0L)
		t = 65536.0L;
	if (t < -65536.0L)
		t = -65536.0L;
	return scalbnl(x, (int)t);
}

/* D9 E0..FF: the operand-less forms */
static void fp_d9_special(struct emu_cpu *c, int low)
{
	long double a, b, r;
	switch (low) {
	case 0x10: return; /* FNOP */
	case 0x20: fp_put(c, 0, -fp_get(c, 0)); c->s.fpu.fsw &= ~FSW_C1; return;
	case 0x21: fp_put(c, 0, __builtin_fabsl(fp_get(c, 0))); c->s.fpu.fsw &= ~FSW_C1; return;
	case 0x24: fp_compare(c, fp_get(c, 0), 0.0L, false, false); return;
	case 0x25: fxam(c); return;
	case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e:
		fp_constant(c, low - 0x28);
		return;
	case 0x36: fp_set_top(c, fp_top(c) - 1); memmove(c->s.fpu.st[1], c->s.fpu.st[0], 7 * 16); return;
	case 0x37: fp_set_top(c, fp_top(c) + 1); memmove(c->s.fpu.st[0], c->s.fpu.st[1], 7 * 16); return;
	default: break;
	}
	a = fp_get(c, 0);
	fp_begin(c);
	volatile long double x = a;
	switch (low) {
	case 0x30: r = exp2l(x) - 1; break;                         /* F2XM1 */
	case 0x31: b = fp_get(c, 1); r = b * log2l(x); fp_end(c); fp_pop(c); fp_put(c, 0, r); return;
	case 0x32: r = tanl(x); fp_end(c); fp_put(c, 0, r); fp_push(c, 1.0L); c->s.fpu.fsw &= ~FSW_C2; return;
	case 0x33: b = fp_get(c, 1); r = atan2l(b, x); fp_end(c); fp_pop(c); fp_put(c, 0, r); return;
	case 0x34: { int e; long double m = frexpl(x, &e); fp_end(c);
		fp_put(c, 0, (long double)(e - 1)); fp_push(c, m * 2); return; }
	case 0x35: case 0x38: {                                     /* FPREM1 FPREM */
		b = fp_get(c, 1);
		r = low == 0x35 ? remainderl(x, b) : fmodl(x, b);
		/* the quotient's low three bits; 0 for a NaN or infinite one,
		 * which no integer conversion may see */
		long double q = __builtin_fabsl((x - r) / b);
		int64_t qi = q < 0x1p63L ? (int64_t)q : isfinite(q) ? (int64_t)fmodl(q, 8.0L) : 0;
		fp_end(c);
		fp_put(c, 0, r);
		c->s.fpu.fsw &= ~(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3);
		c->s.fpu.fsw |= ((qi & 4) ? FSW_C0 : 0) | ((qi & 2) ? FSW_C3 : 0) | ((qi & 1) ? FSW_C1 : 0);
		return;
	}
	case 0x39: b = fp_get(c, 1); r = b * log2l(x + 1); fp_end(c); fp_pop(c); fp_put(c, 0, r); return;
	case 0x3a: r = sqrtl(x); break;
	case 0x3b: { long double s = sinl(x), co = cosl(x); fp_end(c); fp_put(c, 0, s); fp_push(c, co);
		c->s.fpu.fsw &= ~FSW_C2; return; }
	case 0x3c: r = __builtin_nearbyintl(x); if (r != x) feraiseexcept(FE_INEXACT); break;
	case 0x3d: b = fp_get(c, 1); r = fp_scale(x, b); break;
	case 0x3e: r = sinl(x); c->s.fpu.fsw &= ~FSW_C2; break;
	case 0x3f: r = cosl(x); c->s.fpu.fsw &= ~FSW_C2; break;
	default: fp_end(c); raise_ud(c);
	}
	fp_end(c);
	fp_put(c, 0, r);
}

static void fp_cmov(struct emu_cpu *c, const struct insn *i)
{
	static const int cc[8] = { 2, 4, 6, 10, 3, 5, 7, 11 };  /* B E BE U, NB NE NBE NU */
	int k = ((i->op == 0xdb) ? 4 : 0) + ((i->reg & 7));
	if (cond_true(c, cc[k]))
		fp_put(c, 0, fp_get(c, i->rm & 7));
}

/* The non-waiting control instructions (SDM vol. 1 8.3.11): FNINIT,
 * FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE, and the 8087/287 leftovers
 * FNENI, FNDISI, FNSETPM, which are no-ops here. */
static bool fp_no_wait(const struct insn *i)
{
	int sub = i->reg & 7;
	if (i->mod == 3)
		return (i->op == 0xdb && sub == 4 && (i->rm & 7) <= 4) ||
		       (i->op == 0xdf && sub == 4 && (i->rm & 7) == 0);
	return (i->op == 0xd9 && sub >= 6) || (i->op == 0xdd && sub >= 6);
}

static void op_x87(struct emu_cpu *c, const struct insn *i)
{
	check_nm(c, false);
	if (!fp_no_wait(i))
		check_mf(c);
	struct fpu_state *f = &c->s.fpu;
	int sub = i->reg & 7, sti = i->rm & 7;
	int op = i->op;
	bool mem = i->mod != 3;
	if (mem) {
		/* The data pointer is the last non-control instruction's operand:
		 * FLDENV/FLDCW/FNSTENV/FNSTCW (D9 /4-7), FRSTOR/FNSAVE/FNSTSW
		 * (DD /4, /6, /7) leave it alone. */
		bool control = (op == 0xd9 && sub >= 4) || (op == 0xdd && sub >= 4 && sub != 5);
		if (!control)
			f->fdp = insn_ea(c, i);
		switch (op) {
		case 0xd8: case 0xdc: case 0xda: case 0xde: {
			int kind = op == 0xd8 ? 0 : op == 0xdc ? 1 : op == 0xda ? 2 : 3;
			long double m = fp_load_mem(c, i, kind);
			long double a = fp_get(c, 0);
			if (sub == 2 || sub == 3) {
				fp_compare(c, a, m, false, false);
				if (sub == 3)
					fp_pop(c);
			} else {
				fp_put(c, 0, fp_arith(c, sub, a, m));
			}
			return;
		}
		case 0xd9:
			switch (sub) {
			case 0: fp_push(c, fp_load_mem(c, i, 0)); return;
			case 2: case 3: fp_store_real(c, i, 0, fp_get(c, 0)); if (sub == 3) fp_pop(c); return;
			case 4: fp_ldenv(c, i, insn_ea(c, i)); return;
			case 5: f->fcw = mem_read(c, i->seg, insn_ea(c, i), 2) | 0x40; return;
			case 6: fp_stenv(c, i, insn_ea(c, i)); f->fcw |= 0x3f; return;
			case 7: mem_write(c, i->seg, insn_ea(c, i), 2, f->fcw); return;
			default: raise_ud(c);
			}
		case 0xdb:
			switch (sub) {
			case 0: fp_push(c, fp_load_mem(c, i, 2)); return;
			case 1: case 2: case 3:
				fp_store_int(c, i, 4, fp_get(c, 0), sub == 1);
				if (sub != 2)
					fp_pop(c);
				return;
			case 5: fp_push(c, fp_load_mem(c, i, 5)); return;
			case 7: fp_store_real(c, i, 5, fp_get(c, 0)); fp_pop(c); return;
			default: raise_ud(c);
			}
		case 0xdd:
			switch (sub) {
			case 0: fp_push(c, fp_load_mem(c, i, 1)); return;
			case 1: fp_store_int(c, i, 8, fp_get(c, 0), true); fp_pop(c); return;
			case 2: case 3: fp_store_real(c, i, 1, fp_get(c, 0)); if (sub == 3) fp_pop(c); return;
			case 4: fp_save(c, i, true); return;
			case 6: fp_save(c, i, false); return;
			case 7: mem_write(c, i->seg, insn_ea(c, i), 2, f->fsw); return;
			default: raise_ud(c);
			}
		default: /* 0xdf */
			switch (sub) {
			case 0: fp_push(c, fp_load_mem(c, i, 3)); return;
			case 1: case 2: case 3:
				fp_store_int(c, i, 2, fp_get(c, 0), sub == 1);
				if (sub != 2)
					fp_pop(c);
				return;
			case 5: fp_push(c, fp_load_mem(c, i, 4)); return;
			case 7: fp_store_int(c, i, 8, fp_get(c, 0), false); fp_pop(c); return;
			case 4: fp_push(c, fp_load_bcd(c, i)); return;
			case 6:
				if (fp_store_bcd(c, i, fp_get(c, 0)))
					fp_pop(c);
				else
					fp_raise(c, FSW_IE);
				return;
			default: raise_ud(c);
			}
		}
	}
	switch (op) {
	case 0xd8:
		if (sub == 2 || sub == 3) {
			fp_compare(c, fp_get(c, 0), fp_get(c, sti), false, false);
			if (sub == 3)
				fp_pop(c);
		} else {
			fp_put(c, 0, fp_arith(c, sub, fp_get(c, 0), fp_get(c, sti)));
		}
		return;
	case 0xdc: case 0xde: {
		if (op == 0xde && sub == 3) {
			if (sti != 1)
				raise_ud(c);
			fp_compare(c, fp_get(c, 0), fp_get(c, 1), false, false);  /* FCOMPP */
			fp_pop(c);
			fp_pop(c);
			return;
		}
		if (sub == 2 || sub == 3) {  /* DC D0/D8 alias FCOM/FCOMP */
			fp_compare(c, fp_get(c, 0), fp_get(c, sti), false, false);
			if (sub == 3 || op == 0xde)
				fp_pop(c);
			return;
		}
		/* register forms with ST(i) as destination swap SUB/SUBR, DIV/DIVR */
		long double a = fp_get(c, sti), b = fp_get(c, 0);
		int o = sub >= 4 ? (sub ^ 1) : sub;
		fp_put(c, sti, fp_arith(c, o, a, b));
		if (op == 0xde)
			fp_pop(c);
		return;
	}
	case 0xd9:
		switch (sub) {
		case 0: fp_push(c, fp_get(c, sti)); return;
		case 1: {  /* FXCH */
			long double a = fp_get(c, 0), b = fp_get(c, sti);
			fp_put(c, 0, b);
			fp_put(c, sti, a);
			f->fsw &= ~FSW_C1;
			return;
		}
		default:
			fp_d9_special(c, sub << 3 | sti);
			return;
		}
	case 0xda:
		if (sub <= 3) {
			fp_cmov(c, i);
			return;
		}
		if (sub == 5 && sti == 1) {  /* FUCOMPP */
			fp_compare(c, fp_get(c, 0), fp_get(c, 1), false, true);
			fp_pop(c);
			fp_pop(c);
			return;
		}
		raise_ud(c);
	case 0xdb:
		if (sub <= 3) {
			fp_cmov(c, i);
			return;
		}
		if (sub == 4) {
			if (sti == 2) { f->fsw &= 0x7f00; return; }  /* FNCLEX */
			if (sti == 3) { fninit(c); return; }
			if (sti == 0 || sti == 1 || sti == 4) return;  /* FENI FDISI FSETPM: no-ops */
			raise_ud(c);
		}
		if (sub == 5 || sub == 6) {  /* FUCOMI FCOMI */
			fp_compare(c, fp_get(c, 0), fp_get(c, sti), true, sub == 5);
			return;
		}
		raise_ud(c);
	case 0xdd:
		switch (sub) {
		case 0: fp_set_valid(c, sti, false); return;  /* FFREE */
		case 2: case 3: fp_put(c, sti, fp_get(c, 0)); if (sub == 3) fp_pop(c); return;
		case 4: case 5:
			fp_compare(c, fp_get(c, 0), fp_get(c, sti), false, true);
			if (sub == 5)
				fp_pop(c);
			return;
		default: raise_ud(c);
		}
	default: /* 0xdf */
		if (sub == 4 && sti == 0) {
			reg_write(c, RAX, 2, false, f->fsw);
			return;
		}
		if (sub == 5 || sub == 6) {  /* FUCOMIP FCOMIP */
			fp_compare(c, fp_get(c, 0), fp_get(c, sti), true, sub == 5);
			fp_pop(c);
			return;
		}
		if (sub == 0) {  /* FFREEP */
			fp_set_valid(c, sti, false);
			fp_pop(c);
			return;
		}
		raise_ud(c);
	}
}

static void op_wait(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	check_nm(c, true);
	check_mf(c);
}

void fpu_grp15(struct emu_cpu *c, const struct insn *i)
{
	int sub = i->reg & 7;
	if (i->rep || i->mod == 3)
		raise_ud(c);
	uint64_t ea = insn_ea(c, i);
	switch (sub) {
	case 0: case 1: { /* FXSAVE FXRSTOR */
		check_nm(c, false);
		if (ea & 15)
			raise_gp(c, 0);
		uint8_t *img = (uint8_t *)&c->s.fpu;
		if (sub == 0) {
			for (int k = 0; k < 512; k += 8) {
				uint64_t v;
				memcpy(&v, img + k, 8);
				mem_write(c, i->seg, (ea + k) & size_mask(i->asize), 8, v);
			}
		} else {
			uint8_t tmp[512];
			for (int k = 0; k < 512; k += 8) {
				uint64_t v = mem_read(c, i->seg, (ea + k) & size_mask(i->asize), 8);
				memcpy(tmp + k, &v, 8);
			}
			uint32_t mx;
			memcpy(&mx, tmp + 24, 4);
			if (mx & 0xffff0000u)
				raise_gp(c, 0);
			memcpy(img, tmp, 512);
			c->s.fpu.mxcsr_mask = 0xffff;
		}
		return;
	}
	case 2: case 3: { /* LDMXCSR STMXCSR */
		if (!(c->s.cr4 & CR4_OSFXSR) || (c->s.cr0 & CR0_EM))
			raise_ud(c);
		check_nm(c, false);
		if (sub == 3) {
			mem_write(c, i->seg, ea, 4, c->s.fpu.mxcsr);
		} else {
			uint32_t v = mem_read(c, i->seg, ea, 4);
			if (v & 0xffff0000u)
				raise_gp(c, 0);
			c->s.fpu.mxcsr = v;
		}
		return;
	}
	default:
		raise_ud(c);
	}
}

void fpu_register(insn_fn *t)
{
	for (int k = 0xd8; k <= 0xdf; k++)
		t[k] = op_x87;
	t[0x9b] = op_wait;
}
