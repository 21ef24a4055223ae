/* SSE and SSE2 (legacy encodings, 128-bit XMM forms; the MMX-register forms
 * are not implemented and raise #UD, and CPUID does not advertise MMX).
 *
 * Floating point runs on the host's own SSE arithmetic, which is IEEE
 * single/double exactly as the guest expects, under the guest's MXCSR
 * rounding mode; the host's exception flags become MXCSR's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emu/emu.h"

typedef union {
	uint8_t b[16];
	int8_t sb[16];
	uint16_t w[8];
	int16_t sw[8];
	uint32_t d[4];
	int32_t sd[4];
	uint64_t q[2];
	int64_t sq[2];
	float f[4];
	double g[2];
} xmm_t;

#define MX_IE 0x01
#define MX_DE 0x02
#define MX_ZE 0x04
#define MX_OE 0x08
#define MX_UE 0x10
#define MX_PE 0x20
#define MX_DAZ 0x40
#define MX_FZ 0x8000

static xmm_t *xreg(struct emu_cpu *c, int r)
{
	return (xmm_t *)c->s.fpu.xmm[r];
}

static void sse_check(struct emu_cpu *c)
{
	if ((c->s.cr0 & CR0_EM) || !(c->s.cr4 & CR4_OSFXSR))
		raise_ud(c);
	if (c->s.cr0 & CR0_TS)
		raise_fault(c, 7, false, 0);
}

/* Reads the r/m operand: a register, or size bytes of memory (16 with an
 * alignment check when aligned is set). */
static xmm_t src_operand(struct emu_cpu *c, const struct insn *i, int size, bool aligned)
{
	xmm_t v;
	memset(&v, 0, sizeof(v));
	if (i->mod == 3)
		return *xreg(c, i->rm);
	uint64_t ea = insn_ea(c, i);
	if (aligned && size == 16) {
		uint64_t lin = seg_lin(c, i->seg, ea, 16, false);
		if (lin & 15)
			raise_gp(c, 0);
	}
	if (size >= 8) {
		v.q[0] = mem_read(c, i->seg, ea, 8);
		if (size == 16)
			v.q[1] = mem_read(c, i->seg, (ea + 8) & size_mask(i->asize), 8);
	} else {
		v.q[0] = mem_read(c, i->seg, ea, size);
	}
	return v;
}

static void store_mem(struct emu_cpu *c, const struct insn *i, const xmm_t *v, int size, bool aligned)
{
	uint64_t ea = insn_ea(c, i);
	if (aligned && size == 16) {
		uint64_t lin = seg_lin(c, i->seg, ea, 16, true);
		if (lin & 15)
			raise_gp(c, 0);
	}
	if (size == 16) {
		/* check both halves before writing either */
		seg_lin(c, i->seg, (ea + 8) & size_mask(i->asize), 8, true);
		mem_write(c, i->seg, ea, 8, v->q[0]);
		mem_write(c, i->seg, (ea + 8) & size_mask(i->asize), 8, v->q[1]);
	} else {
		mem_write(c, i->seg, ea, size, v->q[0]);
	}
}

/* ---- MXCSR-controlled host arithmetic
 *
 * The guest's SSE arithmetic runs as the host's own SSE instructions (C
 * double and float compile to them on x86-64) under the guest's rounding
 * and flush controls, with every host exception masked; the host's sticky
 * flags then become the guest's. This is done on the host's MXCSR
 * directly: glibc's fenv calls also save and reload the x87 environment,
 * which cost more than the arithmetic (a third of an SSE2 loop's time). */
#define HOST_MXCSR 0x1f80u                    /* the ABI's: all masked, nearest */
#define MX_CONTROLS (0x6000u | MX_FZ | MX_DAZ) /* RC, flush to zero, denormals are zero */
#define MX_FLAGS 0x3fu

static uint32_t host_mxcsr(void)
{
	uint32_t m;
	__asm__ volatile("stmxcsr %0" : "=m"(m));
	return m;
}

static void set_host_mxcsr(uint32_t m)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(m));
}

/* A flag the emulation raises itself (a NaN rule, a conversion's range). */
static void mx_raise(uint32_t flags)
{
	set_host_mxcsr(host_mxcsr() | flags);
}

static void mx_clear(void)
{
	set_host_mxcsr(host_mxcsr() & ~MX_FLAGS);
}

static void mx_begin(struct emu_cpu *c)
{
	set_host_mxcsr(HOST_MXCSR | (c->s.fpu.mxcsr & MX_CONTROLS));
}

static void mx_end(struct emu_cpu *c)
{
	/* DE stays out, as before: the emulation's own compares of denormal
	 * values would set it where the guest's instruction does not */
	uint32_t b = host_mxcsr() & MX_FLAGS & ~MX_DE;
	set_host_mxcsr(HOST_MXCSR);
	if (!b)
		return;
	c->s.fpu.mxcsr |= b;
	if (b & ~(c->s.fpu.mxcsr >> 7) & 0x3f) {
		if (c->s.cr4 & CR4_OSXMMEXCPT)
			raise_fault(c, 19, false, 0);
		raise_ud(c);
	}
}

static bool is_snan_d(double v);
static bool is_snan_f(float v);

/* A NaN operand of ADD/SUB/MUL/DIV: the first source if it is a NaN,
 * else the second, made quiet (SDM vol. 1, table 4-7). The host would
 * pick either, since the compiler treats + and * as commutative. */
static double nan_result_d(double x, double y)
{
	if (is_snan_d(x) || is_snan_d(y))
		mx_raise(MX_IE);
	uint64_t u;
	double r = isnan(x) ? x : y;
	memcpy(&u, &r, 8);
	u |= 1ull << 51;
	memcpy(&r, &u, 8);
	return r;
}

static float nan_result_f(float x, float y)
{
	if (is_snan_f(x) || is_snan_f(y))
		mx_raise(MX_IE);
	uint32_t u;
	float r = isnan(x) ? x : y;
	memcpy(&u, &r, 4);
	u |= 1u << 22;
	memcpy(&r, &u, 4);
	return r;
}

static double farith(int op, double a, double b)
{
	volatile double x = a, y = b;
	if ((op == 0x58 || op == 0x59 || op == 0x5c || op == 0x5e) && (isnan(a) || isnan(b)))
		return nan_result_d(a, b);
	if (op == 0x51 && isnan(b))
		return nan_result_d(b, b);
	switch (op) {
	case 0x51: return sqrt(y);
	case 0x58: return x + y;
	case 0x59: return x * y;
	case 0x5c: return x - y;
	case 0x5d: return x < y ? x : y;
	case 0x5e: return x / y;
	default: return x > y ? x : y;
	}
}

static float farithf(int op, float a, float b)
{
	volatile float x = a, y = b;
	if ((op == 0x58 || op == 0x59 || op == 0x5c || op == 0x5e) && (isnan(a) || isnan(b)))
		return nan_result_f(a, b);
	if (op == 0x51 && isnan(b))
		return nan_result_f(b, b);
	switch (op) {
	case 0x51: return sqrtf(y);
	case 0x58: return x + y;
	case 0x59: return x * y;
	case 0x5c: return x - y;
	case 0x5d: return x < y ? x : y;
	case 0x5e: return x / y;
	default: return x > y ? x : y;
	}
}

static bool is_snan_d(double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	return isnan(v) && !(u & (1ull << 51));
}

static bool is_snan_f(float v)
{
	uint32_t u;
	memcpy(&u, &v, 4);
	return isnan(v) && !(u & (1u << 22));
}

/* The eight CMPxx predicates; LT LE NLT NLE signal on any NaN. */
static bool fcmp_pred(struct emu_cpu *c, int pred, double a, double b, bool snan)
{
	bool un = isnan(a) || isnan(b);
	if (un && (snan || ((pred & 3) == 1 || (pred & 3) == 2)))
		c->s.fpu.mxcsr |= MX_IE;
	switch (pred & 7) {
	case 0: return !un && a == b;
	case 1: return !un && a < b;
	case 2: return !un && a <= b;
	case 3: return un;
	case 4: return un || a != b;
	case 5: return un || !(a < b);
	case 6: return un || !(a <= b);
	default: return !un;
	}
}

/* Float-to-integer with MXCSR rounding or truncation; out of range or NaN
 * gives the integer indefinite and IE. */
static int64_t cvt_to_int(struct emu_cpu *c, double v, int size, bool trunc)
{
	double lim = size == 8 ? 9223372036854775808.0 : 2147483648.0;
	mx_begin(c);
	if (trunc)
		set_host_mxcsr(host_mxcsr() | 0x6000u);  /* round toward zero */
	volatile double r = nearbyint(v);
	if (isnan(v) || r >= lim || r < -lim) {
		set_host_mxcsr((host_mxcsr() & ~MX_FLAGS) | MX_IE);  /* IE alone */
		mx_end(c);
		return size == 8 ? INT64_MIN : INT32_MIN;
	}
	if (r != v)
		mx_raise(MX_PE);
	mx_end(c);
	return (int64_t)r;
}

static int gpr_size(const struct insn *i)
{
	return (i->rex & 8) ? 8 : 4;
}

static void mmx_enter(struct emu_cpu *c);
static uint64_t mm_get(struct emu_cpu *c, int n);
static void mm_set(struct emu_cpu *c, int n, uint64_t v);
static uint64_t mm_src(struct emu_cpu *c, const struct insn *i);

/* ---- the families */

static void sse_moves(struct emu_cpu *c, const struct insn *i, int op)
{
	xmm_t *d = xreg(c, i->reg);
	int pf = i->opsel;
	switch (op) {
	case 0x10: case 0x28: case 0x6f: { /* loads */
		if (op == 0x6f && pf != 0x66 && pf != 0xf3)
			raise_ud(c);
		if (op == 0x10 && (pf == 0xf3 || pf == 0xf2)) {
			int sz = pf == 0xf3 ? 4 : 8;
			xmm_t v = src_operand(c, i, sz, false);
			if (i->mod == 3)
				memcpy(d, &v, sz);
			else {
				memset(d, 0, 16);
				memcpy(d, &v, sz);
			}
			return;
		}
		bool aligned = op == 0x28 || (op == 0x6f && pf == 0x66);
		*d = src_operand(c, i, 16, aligned);
		return;
	}
	case 0x11: case 0x29: case 0x7f: case 0x2b: case 0xe7: { /* stores */
		if (op == 0x7f && pf != 0x66 && pf != 0xf3)
			raise_ud(c);
		if ((op == 0x2b || op == 0xe7) && i->mod == 3)
			raise_ud(c);
		if (op == 0xe7 && pf != 0x66)
			raise_ud(c);
		if (op == 0x11 && (pf == 0xf3 || pf == 0xf2)) {
			int sz = pf == 0xf3 ? 4 : 8;
			if (i->mod == 3)
				memcpy(xreg(c, i->rm), d, sz);
			else
				store_mem(c, i, d, sz, false);
			return;
		}
		bool aligned = op == 0x29 || op == 0x2b || op == 0xe7 || (op == 0x7f && pf == 0x66);
		if (i->mod == 3)
			*xreg(c, i->rm) = *d;
		else
			store_mem(c, i, d, 16, aligned);
		return;
	}
	case 0x12: case 0x16: { /* MOVLPS/MOVLPD/MOVHLPS, MOVHPS/MOVHPD/MOVLHPS */
		if (pf == 0xf2 || pf == 0xf3)
			raise_ud(c);
		int half = op == 0x16;
		if (i->mod == 3) {
			if (pf == 0x66)
				raise_ud(c);
			xmm_t s = *xreg(c, i->rm);
			d->q[half] = s.q[half ? 0 : 1];
		} else {
			d->q[half] = src_operand(c, i, 8, false).q[0];
		}
		return;
	}
	case 0x13: case 0x17: {
		if (i->mod == 3 || pf == 0xf2 || pf == 0xf3)
			raise_ud(c);
		xmm_t v;
		v.q[0] = d->q[op == 0x17];
		store_mem(c, i, &v, 8, false);
		return;
	}
	case 0x6e: { /* MOVD/MOVQ xmm, r/m */
		if (pf != 0x66)
			raise_ud(c);
		int sz = gpr_size(i);
		uint64_t v = i->mod == 3 ? reg_read(c, i->rm, sz, true) : mem_read(c, i->seg, insn_ea(c, i), sz);
		memset(d, 0, 16);
		d->q[0] = v;
		return;
	}
	case 0x7e: {
		if (pf == 0xf3) { /* MOVQ xmm, xmm/m64 */
			xmm_t v = src_operand(c, i, 8, false);
			d->q[0] = v.q[0];
			d->q[1] = 0;
			return;
		}
		if (pf != 0x66)
			raise_ud(c);
		int sz = gpr_size(i);
		if (i->mod == 3)
			reg_write(c, i->rm, sz, true, d->q[0] & size_mask(sz));
		else
			mem_write(c, i->seg, insn_ea(c, i), sz, d->q[0]);
		return;
	}
	case 0xd6: { /* MOVQ xmm/m64, xmm; MOVDQ2Q; MOVQ2DQ */
		if ((pf == 0xf2 || pf == 0xf3) && i->mod == 3) {
			mmx_enter(c);
			if (pf == 0xf2) {
				mm_set(c, i->reg, xreg(c, i->rm)->q[0]);
			} else {
				xmm_t *x = xreg(c, i->reg);
				x->q[0] = mm_get(c, i->rm);
				x->q[1] = 0;
			}
			return;
		}
		if (pf != 0x66)
			raise_ud(c);
		if (i->mod == 3) {
			xreg(c, i->rm)->q[0] = d->q[0];
			xreg(c, i->rm)->q[1] = 0;
		} else {
			store_mem(c, i, d, 8, false);
		}
		return;
	}
	default:
		raise_ud(c);
	}
}

static void sse_float(struct emu_cpu *c, const struct insn *i, int op)
{
	xmm_t *d = xreg(c, i->reg);
	int pf = i->opsel;
	if ((op == 0x52 || op == 0x53) && (pf == 0x66 || pf == 0xf2))
		raise_ud(c);
	if (pf == 0xf3 || pf == 0xf2) {
		bool dbl = pf == 0xf2;
		xmm_t s = src_operand(c, i, dbl ? 8 : 4, false);
		mx_begin(c);
		if (dbl) {
			d->g[0] = farith(op, d->g[0], s.g[0]);
		} else if (op == 0x52) {
			d->f[0] = 1.0f / sqrtf(s.f[0]);
		} else if (op == 0x53) {
			d->f[0] = 1.0f / s.f[0];
		} else {
			d->f[0] = farithf(op, d->f[0], s.f[0]);
		}
		if (op == 0x52 || op == 0x53)
			mx_clear();  /* approximations raise nothing */
		mx_end(c);
		return;
	}
	xmm_t s = src_operand(c, i, 16, true), r = *d;
	mx_begin(c);
	if (pf == 0x66) {
		for (int k = 0; k < 2; k++)
			r.g[k] = farith(op, d->g[k], s.g[k]);
	} else {
		for (int k = 0; k < 4; k++)
			r.f[k] = op == 0x52 ? 1.0f / sqrtf(s.f[k]) : op == 0x53 ? 1.0f / s.f[k]
										  : farithf(op, d->f[k], s.f[k]);
		if (op == 0x52 || op == 0x53)
			mx_clear();
	}
	mx_end(c);
	*d = r;
}

static void sse_logic(struct emu_cpu *c, const struct insn *i, int op)
{
	if (i->opsel == 0xf2 || i->opsel == 0xf3)
		raise_ud(c);
	if (op >= 0xd0 && i->opsel != 0x66)
		raise_ud(c);
	xmm_t s = src_operand(c, i, 16, true), *d = xreg(c, i->reg);
	for (int k = 0; k < 2; k++) {
		switch (op) {
		case 0x54: case 0xdb: d->q[k] &= s.q[k]; break;
		case 0x55: case 0xdf: d->q[k] = ~d->q[k] & s.q[k]; break;
		case 0x56: case 0xeb: d->q[k] |= s.q[k]; break;
		default: d->q[k] ^= s.q[k]; break;
		}
	}
}

static int64_t sat(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Packed integer arithmetic, compares, packs and unpacks on 128 bits;
 * false for an opcode that is none of them. */
/* The packs and the high unpacks over an operand of `width` bytes: 16 for
 * the SSE forms, 8 for the MMX ones, whose results are not simply the low
 * half of the SSE result. */
static bool pack_or_unpack_high(int op, const xmm_t *a, const xmm_t *s, xmm_t *out, int width)
{
	const int bytes = width, words = width / 2, dwords = width / 4;
	xmm_t r;
	int k;
	memset(&r, 0, sizeof(r));
	switch (op) {
	case 0x68:
		for (k = 0; k < bytes / 2; k++) {
			r.b[2 * k] = a->b[bytes / 2 + k];
			r.b[2 * k + 1] = s->b[bytes / 2 + k];
		}
		break;
	case 0x69:
		for (k = 0; k < words / 2; k++) {
			r.w[2 * k] = a->w[words / 2 + k];
			r.w[2 * k + 1] = s->w[words / 2 + k];
		}
		break;
	case 0x6a:
		for (k = 0; k < dwords / 2; k++) {
			r.d[2 * k] = a->d[dwords / 2 + k];
			r.d[2 * k + 1] = s->d[dwords / 2 + k];
		}
		break;
	case 0x63:
		for (k = 0; k < words; k++) {
			r.sb[k] = sat(a->sw[k], -128, 127);
			r.sb[words + k] = sat(s->sw[k], -128, 127);
		}
		break;
	case 0x67:
		for (k = 0; k < words; k++) {
			r.b[k] = sat(a->sw[k], 0, 255);
			r.b[words + k] = sat(s->sw[k], 0, 255);
		}
		break;
	case 0x6b:
		for (k = 0; k < dwords; k++) {
			r.sw[k] = sat(a->sd[k], -32768, 32767);
			r.sw[dwords + k] = sat(s->sd[k], -32768, 32767);
		}
		break;
	default:
		return false;
	}
	*out = r;
	return true;
}

static bool int_op(int op, xmm_t a, xmm_t s, xmm_t *out)
{
	xmm_t r;
	memset(&r, 0, sizeof(r));
	int k;
	switch (op) {
	case 0xfc: for (k = 0; k < 16; k++) r.b[k] = a.b[k] + s.b[k]; break;
	case 0xfd: for (k = 0; k < 8; k++) r.w[k] = a.w[k] + s.w[k]; break;
	case 0xfe: for (k = 0; k < 4; k++) r.d[k] = a.d[k] + s.d[k]; break;
	case 0xd4: for (k = 0; k < 2; k++) r.q[k] = a.q[k] + s.q[k]; break;
	case 0xf8: for (k = 0; k < 16; k++) r.b[k] = a.b[k] - s.b[k]; break;
	case 0xf9: for (k = 0; k < 8; k++) r.w[k] = a.w[k] - s.w[k]; break;
	case 0xfa: for (k = 0; k < 4; k++) r.d[k] = a.d[k] - s.d[k]; break;
	case 0xfb: for (k = 0; k < 2; k++) r.q[k] = a.q[k] - s.q[k]; break;
	case 0xec: for (k = 0; k < 16; k++) r.sb[k] = sat(a.sb[k] + s.sb[k], -128, 127); break;
	case 0xed: for (k = 0; k < 8; k++) r.sw[k] = sat(a.sw[k] + s.sw[k], -32768, 32767); break;
	case 0xdc: for (k = 0; k < 16; k++) r.b[k] = sat(a.b[k] + s.b[k], 0, 255); break;
	case 0xdd: for (k = 0; k < 8; k++) r.w[k] = sat(a.w[k] + s.w[k], 0, 65535); break;
	case 0xe8: for (k = 0; k < 16; k++) r.sb[k] = sat(a.sb[k] - s.sb[k], -128, 127); break;
	case 0xe9: for (k = 0; k < 8; k++) r.sw[k] = sat(a.sw[k] - s.sw[k], -32768, 32767); break;
	case 0xd8: for (k = 0; k < 16; k++) r.b[k] = sat(a.b[k] - s.b[k], 0, 255); break;
	case 0xd9: for (k = 0; k < 8; k++) r.w[k] = sat(a.w[k] - s.w[k], 0, 65535); break;
	case 0x74: for (k = 0; k < 16; k++) r.b[k] = a.b[k] == s.b[k] ? 0xff : 0; break;
	case 0x75: for (k = 0; k < 8; k++) r.w[k] = a.w[k] == s.w[k] ? 0xffff : 0; break;
	case 0x76: for (k = 0; k < 4; k++) r.d[k] = a.d[k] == s.d[k] ? ~0u : 0; break;
	case 0x64: for (k = 0; k < 16; k++) r.b[k] = a.sb[k] > s.sb[k] ? 0xff : 0; break;
	case 0x65: for (k = 0; k < 8; k++) r.w[k] = a.sw[k] > s.sw[k] ? 0xffff : 0; break;
	case 0x66: for (k = 0; k < 4; k++) r.d[k] = a.sd[k] > s.sd[k] ? ~0u : 0; break;
	case 0xd5: for (k = 0; k < 8; k++) r.w[k] = (uint16_t)(a.sw[k] * s.sw[k]); break;
	case 0xe5: for (k = 0; k < 8; k++) r.w[k] = (uint16_t)((a.sw[k] * s.sw[k]) >> 16); break;
	case 0xe4: for (k = 0; k < 8; k++) r.w[k] = (uint16_t)(((uint32_t)a.w[k] * s.w[k]) >> 16); break;
	case 0xf4: for (k = 0; k < 2; k++) r.q[k] = (uint64_t)a.d[2 * k] * s.d[2 * k]; break;
	case 0xf5:
		for (k = 0; k < 4; k++)
			r.d[k] = (uint32_t)((int64_t)a.sw[2 * k] * s.sw[2 * k] +
					    (int64_t)a.sw[2 * k + 1] * s.sw[2 * k + 1]);
		break;
	case 0xe0: for (k = 0; k < 16; k++) r.b[k] = (a.b[k] + s.b[k] + 1) >> 1; break;
	case 0xe3: for (k = 0; k < 8; k++) r.w[k] = (a.w[k] + s.w[k] + 1) >> 1; break;
	case 0xda: for (k = 0; k < 16; k++) r.b[k] = a.b[k] < s.b[k] ? a.b[k] : s.b[k]; break;
	case 0xde: for (k = 0; k < 16; k++) r.b[k] = a.b[k] > s.b[k] ? a.b[k] : s.b[k]; break;
	case 0xea: for (k = 0; k < 8; k++) r.sw[k] = a.sw[k] < s.sw[k] ? a.sw[k] : s.sw[k]; break;
	case 0xee: for (k = 0; k < 8; k++) r.sw[k] = a.sw[k] > s.sw[k] ? a.sw[k] : s.sw[k]; break;
	case 0xf6:
		for (int h = 0; h < 2; h++) {
			unsigned sum = 0;
			for (k = 0; k < 8; k++)
				sum += (unsigned)abs(a.b[8 * h + k] - s.b[8 * h + k]);
			r.q[h] = sum;
		}
		break;
	case 0x60: for (k = 0; k < 8; k++) { r.b[2 * k] = a.b[k]; r.b[2 * k + 1] = s.b[k]; } break;
	case 0x61: for (k = 0; k < 4; k++) { r.w[2 * k] = a.w[k]; r.w[2 * k + 1] = s.w[k]; } break;
	case 0x62: for (k = 0; k < 2; k++) { r.d[2 * k] = a.d[k]; r.d[2 * k + 1] = s.d[k]; } break;
	case 0x6c: r.q[0] = a.q[0]; r.q[1] = s.q[0]; break;
	case 0x6d: r.q[0] = a.q[1]; r.q[1] = s.q[1]; break;
	default:
		return pack_or_unpack_high(op, &a, &s, out, 16);
	}
	*out = r;
	return true;
}

static void sse_int(struct emu_cpu *c, const struct insn *i, int op)
{
	if (i->opsel != 0x66)
		raise_ud(c);
	xmm_t s = src_operand(c, i, 16, true), r;
	if (!int_op(op, *xreg(c, i->reg), s, &r))
		raise_ud(c);
	*xreg(c, i->reg) = r;
}

/* Shifts of each element; count >= width clears it (or fills the sign). */
static void shift_lanes(xmm_t *d, int width, int kind, uint64_t cnt)
{
	int n = 16 / width;
	for (int k = 0; k < n; k++) {
		switch (width) {
		case 2:
			if (kind == 2) d->w[k] = cnt > 15 ? 0 : d->w[k] >> cnt;
			else if (kind == 4) d->sw[k] = (int16_t)(d->sw[k] >> (cnt > 15 ? 15 : cnt));
			else d->w[k] = cnt > 15 ? 0 : (uint16_t)(d->w[k] << cnt);
			break;
		case 4:
			if (kind == 2) d->d[k] = cnt > 31 ? 0 : d->d[k] >> cnt;
			else if (kind == 4) d->sd[k] = d->sd[k] >> (cnt > 31 ? 31 : cnt);
			else d->d[k] = cnt > 31 ? 0 : d->d[k] << cnt;
			break;
		default:
			if (kind == 2) d->q[k] = cnt > 63 ? 0 : d->q[k] >> cnt;
			else d->q[k] = cnt > 63 ? 0 : d->q[k] << cnt;
			break;
		}
	}
}

static void byte_shift(xmm_t *d, unsigned cnt, bool left)
{
	xmm_t r;
	memset(&r, 0, sizeof(r));
	if (cnt > 16)
		cnt = 16;
	for (int k = 0; k < 16; k++) {
		int from = left ? k - (int)cnt : k + (int)cnt;
		if (from >= 0 && from < 16)
			r.b[k] = d->b[from];
	}
	*d = r;
}

static void sse_shift(struct emu_cpu *c, const struct insn *i, int op)
{
	if (i->opsel != 0x66)
		raise_ud(c);
	if (op >= 0x71 && op <= 0x73) {
		if (i->mod != 3)
			raise_ud(c);
		xmm_t *d = xreg(c, i->rm);
		int sub = i->reg & 7;
		unsigned cnt = i->imm & 0xff;
		if (op == 0x73 && (sub == 3 || sub == 7)) {
			byte_shift(d, cnt, sub == 7);
			return;
		}
		if ((op == 0x73 && sub == 4) || (sub != 2 && sub != 4 && sub != 6))
			raise_ud(c);
		shift_lanes(d, op == 0x71 ? 2 : op == 0x72 ? 4 : 8, sub, cnt);
		return;
	}
	xmm_t s = src_operand(c, i, 16, true);
	int width, kind;
	switch (op) {
	case 0xd1: width = 2, kind = 2; break;
	case 0xd2: width = 4, kind = 2; break;
	case 0xd3: width = 8, kind = 2; break;
	case 0xe1: width = 2, kind = 4; break;
	case 0xe2: width = 4, kind = 4; break;
	case 0xf1: width = 2, kind = 6; break;
	case 0xf2: width = 4, kind = 6; break;
	default: width = 8, kind = 6; break;
	}
	shift_lanes(xreg(c, i->reg), width, kind, s.q[0]);
}

static void sse_shuffle(struct emu_cpu *c, const struct insn *i, int op)
{
	int pf = i->opsel;
	xmm_t *d = xreg(c, i->reg), r;
	uint8_t imm = i->imm & 0xff;
	if (op == 0x70) {
		xmm_t s = src_operand(c, i, 16, pf == 0x66);
		r = s;
		if (pf == 0x66)
			for (int k = 0; k < 4; k++) r.d[k] = s.d[(imm >> (2 * k)) & 3];
		else if (pf == 0xf3)
			for (int k = 0; k < 4; k++) r.w[4 + k] = s.w[4 + ((imm >> (2 * k)) & 3)];
		else if (pf == 0xf2)
			for (int k = 0; k < 4; k++) r.w[k] = s.w[(imm >> (2 * k)) & 3];
		else
			raise_ud(c);
		*d = r;
		return;
	}
	if (op == 0xc6) {
		if (pf == 0xf2 || pf == 0xf3)
			raise_ud(c);
		xmm_t s = src_operand(c, i, 16, true);
		if (pf == 0x66) {
			r.q[0] = d->q[imm & 1];
			r.q[1] = s.q[(imm >> 1) & 1];
		} else {
			r.d[0] = d->d[imm & 3];
			r.d[1] = d->d[(imm >> 2) & 3];
			r.d[2] = s.d[(imm >> 4) & 3];
			r.d[3] = s.d[(imm >> 6) & 3];
		}
		*d = r;
		return;
	}
	/* 0x14/0x15 UNPCKL/H PS/PD */
	if (pf == 0xf2 || pf == 0xf3)
		raise_ud(c);
	xmm_t s = src_operand(c, i, 16, true), a = *d;
	bool hi = op == 0x15;
	if (pf == 0x66) {
		r.q[0] = a.q[hi];
		r.q[1] = s.q[hi];
	} else {
		r.d[0] = a.d[2 * hi];
		r.d[1] = s.d[2 * hi];
		r.d[2] = a.d[2 * hi + 1];
		r.d[3] = s.d[2 * hi + 1];
	}
	*d = r;
}

static void sse_cmp(struct emu_cpu *c, const struct insn *i)
{
	int pf = i->opsel;
	int pred = i->imm & 7;
	xmm_t *d = xreg(c, i->reg);
	if (pf == 0xf2 || pf == 0xf3) {
		bool dbl = pf == 0xf2;
		xmm_t s = src_operand(c, i, dbl ? 8 : 4, false);
		uint32_t before = c->s.fpu.mxcsr;
		if (dbl)
			d->q[0] = fcmp_pred(c, pred, d->g[0], s.g[0], is_snan_d(d->g[0]) || is_snan_d(s.g[0])) ? ~0ull : 0;
		else
			d->d[0] = fcmp_pred(c, pred, d->f[0], s.f[0], is_snan_f(d->f[0]) || is_snan_f(s.f[0])) ? ~0u : 0;
		(void)before;
		return;
	}
	xmm_t s = src_operand(c, i, 16, true), r;
	if (pf == 0x66)
		for (int k = 0; k < 2; k++)
			r.q[k] = fcmp_pred(c, pred, d->g[k], s.g[k], is_snan_d(d->g[k]) || is_snan_d(s.g[k])) ? ~0ull : 0;
	else
		for (int k = 0; k < 4; k++)
			r.d[k] = fcmp_pred(c, pred, d->f[k], s.f[k], is_snan_f(d->f[k]) || is_snan_f(s.f[k])) ? ~0u : 0;
	*d = r;
}

static void sse_comis(struct emu_cpu *c, const struct insn *i, int op)
{
	if (i->opsel == 0xf2 || i->opsel == 0xf3)
		raise_ud(c);
	bool dbl = i->opsel == 0x66;
	xmm_t s = src_operand(c, i, dbl ? 8 : 4, false), *d = xreg(c, i->reg);
	double a = dbl ? d->g[0] : d->f[0], b = dbl ? s.g[0] : s.f[0];
	bool snan = dbl ? (is_snan_d(d->g[0]) || is_snan_d(s.g[0])) : (is_snan_f(d->f[0]) || is_snan_f(s.f[0]));
	uint64_t fl;
	if (isnan(a) || isnan(b)) {
		fl = RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF;
		if (snan || op == 0x2f)
			c->s.fpu.mxcsr |= MX_IE;
	} else if (a > b) {
		fl = 0;
	} else if (a < b) {
		fl = RFLAGS_CF;
	} else {
		fl = RFLAGS_ZF;
	}
	set_flags_masked(c, fl, RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF);
}

static void sse_cvt(struct emu_cpu *c, const struct insn *i, int op)
{
	int pf = i->opsel;
	xmm_t *d = xreg(c, i->reg);
	switch (op) {
	case 0x2a: { /* CVTSI2SS/SD; CVTPI2PS/PD from MMX */
		if (!pf || pf == 0x66) {
			uint64_t v = i->mod == 3 ? (mmx_enter(c), mm_get(c, i->rm))
						 : mem_read(c, i->seg, insn_ea(c, i), 8);
			int32_t lo = (int32_t)v, hi = (int32_t)(v >> 32);
			mx_begin(c);
			if (pf == 0x66) {
				d->g[0] = lo;
				d->g[1] = hi;
			} else {
				volatile float a = (float)lo, b = (float)hi;
				d->f[0] = a;
				d->f[1] = b;
			}
			mx_end(c);
			return;
		}
		int sz = gpr_size(i);
		int64_t v = (int64_t)sext(i->mod == 3 ? reg_read(c, i->rm, sz, true)
						     : mem_read(c, i->seg, insn_ea(c, i), sz), sz);
		mx_begin(c);
		if (pf == 0xf2) {
			volatile double r = (double)v;
			d->g[0] = r;
		} else {
			volatile float r = (float)v;
			d->f[0] = r;
		}
		mx_end(c);
		return;
	}
	case 0x2c: case 0x2d: { /* CVT(T)SS2SI / CVT(T)SD2SI; CVT(T)PS2PI / CVT(T)PD2PI */
		if (!pf || pf == 0x66) {
			xmm_t s = src_operand(c, i, pf == 0x66 ? 16 : 8, pf == 0x66);
			double a = pf == 0x66 ? s.g[0] : s.f[0], b = pf == 0x66 ? s.g[1] : s.f[1];
			uint32_t lo = (uint32_t)cvt_to_int(c, a, 4, op == 0x2c);
			uint32_t hi = (uint32_t)cvt_to_int(c, b, 4, op == 0x2c);
			mmx_enter(c);
			mm_set(c, i->reg, (uint64_t)hi << 32 | lo);
			return;
		}
		xmm_t s = src_operand(c, i, pf == 0xf2 ? 8 : 4, false);
		double v = pf == 0xf2 ? s.g[0] : s.f[0];
		int sz = gpr_size(i);
		reg_write(c, i->reg, sz, true, (uint64_t)cvt_to_int(c, v, sz, op == 0x2c));
		return;
	}
	case 0x5a: {
		if (pf == 0xf2 || pf == 0xf3) {
			xmm_t s = src_operand(c, i, pf == 0xf2 ? 8 : 4, false);
			mx_begin(c);
			if (pf == 0xf2) {
				volatile float r = (float)s.g[0];
				d->f[0] = r;
			} else {
				d->g[0] = s.f[0];
			}
			mx_end(c);
			return;
		}
		xmm_t s = src_operand(c, i, pf == 0x66 ? 16 : 8, pf == 0x66), r;
		memset(&r, 0, sizeof(r));
		mx_begin(c);
		if (pf == 0x66) {
			for (int k = 0; k < 2; k++) {
				volatile float f = (float)s.g[k];
				r.f[k] = f;
			}
		} else {
			r.g[0] = s.f[0];
			r.g[1] = s.f[1];
		}
		mx_end(c);
		*d = r;
		return;
	}
	case 0x5b: {
		xmm_t s = src_operand(c, i, 16, true), r;
		if (pf == 0xf2)
			raise_ud(c);
		if (!pf) {
			mx_begin(c);
			for (int k = 0; k < 4; k++) {
				volatile float f = (float)s.sd[k];
				r.f[k] = f;
			}
			mx_end(c);
		} else {
			for (int k = 0; k < 4; k++)
				r.sd[k] = (int32_t)cvt_to_int(c, s.f[k], 4, pf == 0xf3);
		}
		*d = r;
		return;
	}
	default: { /* 0xe6 */
		xmm_t r;
		memset(&r, 0, sizeof(r));
		if (pf == 0xf3) { /* CVTDQ2PD */
			xmm_t s = src_operand(c, i, 8, false);
			r.g[0] = s.sd[0];
			r.g[1] = s.sd[1];
		} else if (pf == 0x66 || pf == 0xf2) { /* CVTTPD2DQ CVTPD2DQ */
			xmm_t s = src_operand(c, i, 16, true);
			for (int k = 0; k < 2; k++)
				r.sd[k] = (int32_t)cvt_to_int(c, s.g[k], 4, pf == 0x66);
		} else {
			raise_ud(c);
		}
		*d = r;
		return;
	}
	}
}

static void sse_misc(struct emu_cpu *c, const struct insn *i, int op)
{
	int pf = i->opsel;
	switch (op) {
	case 0x50: { /* MOVMSKPS/PD */
		if (i->mod != 3 || pf == 0xf2 || pf == 0xf3)
			raise_ud(c);
		xmm_t *s = xreg(c, i->rm);
		unsigned m = 0;
		if (pf == 0x66)
			m = (unsigned)(s->q[0] >> 63) | (unsigned)(s->q[1] >> 63) << 1;
		else
			for (int k = 0; k < 4; k++)
				m |= (s->d[k] >> 31) << k;
		reg_write(c, i->reg, 4, true, m);
		return;
	}
	case 0xd7: { /* PMOVMSKB */
		if (i->mod != 3 || pf != 0x66)
			raise_ud(c);
		xmm_t *s = xreg(c, i->rm);
		unsigned m = 0;
		for (int k = 0; k < 16; k++)
			m |= (unsigned)(s->b[k] >> 7) << k;
		reg_write(c, i->reg, 4, true, m);
		return;
	}
	case 0xc4: { /* PINSRW */
		if (pf != 0x66)
			raise_ud(c);
		uint16_t v = i->mod == 3 ? reg_read(c, i->rm, 2, true) : mem_read(c, i->seg, insn_ea(c, i), 2);
		xreg(c, i->reg)->w[i->imm & 7] = v;
		return;
	}
	case 0xc5: /* PEXTRW */
		if (pf != 0x66 || i->mod != 3)
			raise_ud(c);
		reg_write(c, i->reg, 4, true, xreg(c, i->rm)->w[i->imm & 7]);
		return;
	case 0xc3: /* MOVNTI */
		if (i->mod == 3 || pf)
			raise_ud(c);
		mem_write(c, i->seg, insn_ea(c, i), gpr_size(i), reg_read(c, i->reg, gpr_size(i), true));
		return;
	case 0xf7: { /* MASKMOVDQU to DS:rDI */
		if (pf != 0x66 || i->mod != 3)
			raise_ud(c);
		xmm_t *v = xreg(c, i->reg), *m = xreg(c, i->rm);
		for (int k = 0; k < 16; k++)
			if (m->b[k] & 0x80)
				mem_write(c, i->seg, (c->s.gpr[RDI] + k) & size_mask(i->asize), 1, v->b[k]);
		return;
	}
	default:
		raise_ud(c);
	}
}

/* ---- MMX: the 64-bit forms without a mandatory prefix. MMn aliases the
 * significand of physical x87 register n; any MMX instruction sets TOP to
 * 0 and tags every register valid, so MMn is then ST(n) in fpu.st[]. */

static void mmx_enter(struct emu_cpu *c)
{
	if (c->s.cr0 & CR0_EM)
		raise_ud(c);
	if (c->s.cr0 & CR0_TS)
		raise_fault(c, 7, false, 0);
	struct fpu_state *f = &c->s.fpu;
	int top = (f->fsw >> 11) & 7;
	if (top) {
		/* fpu.st[] is stack-relative: rotate so that slot n holds R(n) */
		uint8_t phys[8][16];
		for (int k = 0; k < 8; k++)
			memcpy(phys[(top + k) & 7], f->st[k], 16);
		memcpy(f->st, phys, sizeof(phys));
		f->fsw &= ~0x3800;
	}
	f->ftw = 0xff;
}

static uint64_t mm_get(struct emu_cpu *c, int n)
{
	uint64_t v;
	memcpy(&v, c->s.fpu.st[n & 7], 8);
	return v;
}

static void mm_set(struct emu_cpu *c, int n, uint64_t v)
{
	uint8_t *p = c->s.fpu.st[n & 7];
	memcpy(p, &v, 8);
	p[8] = p[9] = 0xff;
}

static uint64_t mm_src(struct emu_cpu *c, const struct insn *i)
{
	if (i->mod == 3)
		return mm_get(c, i->rm);
	return mem_read(c, i->seg, insn_ea(c, i), 8);
}

/* The MMX forms whose 64-bit result is not the low half of the 128-bit one. */
static bool mmx_special(int op, uint64_t a64, uint64_t s64, uint64_t *r64)
{
	xmm_t a, s, r;
	a.q[0] = a64, s.q[0] = s64;
	a.q[1] = s.q[1] = 0;
	if (!pack_or_unpack_high(op, &a, &s, &r, 8))
		return false;
	*r64 = r.q[0];
	return true;
}

static void op_mmx(struct emu_cpu *c, const struct insn *i, int op)
{
	mmx_enter(c);
	int d = i->reg & 7;
	switch (op) {
	case 0x6e: { /* MOVD/MOVQ mm, r/m */
		int sz = gpr_size(i);
		mm_set(c, d, i->mod == 3 ? reg_read(c, i->rm, sz, true) : mem_read(c, i->seg, insn_ea(c, i), sz));
		return;
	}
	case 0x7e: {
		int sz = gpr_size(i);
		if (i->mod == 3)
			reg_write(c, i->rm, sz, true, mm_get(c, d) & size_mask(sz));
		else
			mem_write(c, i->seg, insn_ea(c, i), sz, mm_get(c, d));
		return;
	}
	case 0x6f: mm_set(c, d, mm_src(c, i)); return;
	case 0x7f: case 0xe7:
		if (i->mod == 3) {
			if (op == 0xe7)
				raise_ud(c);
			mm_set(c, i->rm, mm_get(c, d));
		} else {
			mem_write(c, i->seg, insn_ea(c, i), 8, mm_get(c, d));
		}
		return;
	case 0x70: { /* PSHUFW */
		xmm_t s, r;
		s.q[0] = mm_src(c, i);
		for (int k = 0; k < 4; k++)
			r.w[k] = s.w[(i->imm >> (2 * k)) & 3];
		mm_set(c, d, r.q[0]);
		return;
	}
	case 0x71: case 0x72: case 0x73: {
		int sub = i->reg & 7;
		if (i->mod != 3 || (sub != 2 && sub != 4 && sub != 6) || (op == 0x73 && sub == 4))
			raise_ud(c);
		xmm_t v;
		v.q[0] = mm_get(c, i->rm);
		v.q[1] = 0;
		shift_lanes(&v, op == 0x71 ? 2 : op == 0x72 ? 4 : 8, sub, i->imm & 0xff);
		mm_set(c, i->rm, v.q[0]);
		return;
	}
	case 0xd1: case 0xd2: case 0xd3: case 0xe1: case 0xe2: case 0xf1: case 0xf2: case 0xf3: {
		static const struct { uint8_t op, width, kind; } sh[] = {
			{ 0xd1, 2, 2 }, { 0xd2, 4, 2 }, { 0xd3, 8, 2 }, { 0xe1, 2, 4 },
			{ 0xe2, 4, 4 }, { 0xf1, 2, 6 }, { 0xf2, 4, 6 }, { 0xf3, 8, 6 },
		};
		uint64_t cnt = mm_src(c, i);
		for (unsigned k = 0; k < sizeof(sh) / sizeof(sh[0]); k++) {
			if (sh[k].op != op)
				continue;
			xmm_t v;
			v.q[0] = mm_get(c, d);
			v.q[1] = 0;
			shift_lanes(&v, sh[k].width, sh[k].kind, cnt);
			mm_set(c, d, v.q[0]);
		}
		return;
	}
	case 0xc4: {
		uint16_t v = i->mod == 3 ? reg_read(c, i->rm, 2, true) : mem_read(c, i->seg, insn_ea(c, i), 2);
		xmm_t r;
		r.q[0] = mm_get(c, d);
		r.w[i->imm & 3] = v;
		mm_set(c, d, r.q[0]);
		return;
	}
	case 0xc5: {
		if (i->mod != 3)
			raise_ud(c);
		xmm_t r;
		r.q[0] = mm_get(c, i->rm);
		reg_write(c, i->reg, 4, true, r.w[i->imm & 3]);
		return;
	}
	case 0xd7: {
		if (i->mod != 3)
			raise_ud(c);
		uint64_t v = mm_get(c, i->rm);
		unsigned m = 0;
		for (int k = 0; k < 8; k++)
			m |= (unsigned)((v >> (8 * k + 7)) & 1) << k;
		reg_write(c, i->reg, 4, true, m);
		return;
	}
	case 0xf7: { /* MASKMOVQ */
		if (i->mod != 3)
			raise_ud(c);
		uint64_t v = mm_get(c, d), m = mm_get(c, i->rm);
		for (int k = 0; k < 8; k++)
			if ((m >> (8 * k + 7)) & 1)
				mem_write(c, i->seg, (c->s.gpr[RDI] + k) & size_mask(i->asize), 1, (v >> (8 * k)) & 0xff);
		return;
	}
	default: {
		uint64_t a = mm_get(c, d), sv = mm_src(c, i), r64;
		if (op == 0xdb || op == 0xdf || op == 0xeb || op == 0xef) {
			r64 = op == 0xdb ? a & sv : op == 0xdf ? ~a & sv : op == 0xeb ? a | sv : a ^ sv;
		} else if (!mmx_special(op, a, sv, &r64)) {
			xmm_t xa, xs, r;
			xa.q[0] = a, xa.q[1] = 0;
			xs.q[0] = sv, xs.q[1] = 0;
			if (op == 0x6c || op == 0x6d || op == 0xd6 || !int_op(op, xa, xs, &r))
				raise_ud(c);
			r64 = r.q[0];
		}
		mm_set(c, d, r64);
		return;
	}
	}
}

static void op_emms(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	if (c->s.cr0 & CR0_EM)
		raise_ud(c);
	if (c->s.cr0 & CR0_TS)
		raise_fault(c, 7, false, 0);
	c->s.fpu.ftw = 0;
}

/* The integer and data-movement opcodes that have an MMX form. */
static bool has_mmx_form(int op)
{
	return (op >= 0x60 && op <= 0x7f && op != 0x6c && op != 0x6d && op != 0x77 && op != 0x7c &&
		op != 0x7d && op != 0x78 && op != 0x79 && op != 0x7a && op != 0x7b) ||
	       (op >= 0xd1 && op <= 0xff && op != 0xd6 && op != 0xe6 && op != 0xff) ||
	       op == 0xc4 || op == 0xc5;
}

static void op_sse(struct emu_cpu *c, const struct insn *i)
{
	int op = i->op & 0xff;
	if (!i->opsel && has_mmx_form(op)) {
		op_mmx(c, i, op);
		return;
	}
	sse_check(c);
	switch (op) {
	case 0x10: case 0x11: case 0x12: case 0x13: case 0x16: case 0x17:
	case 0x28: case 0x29: case 0x2b: case 0x6e: case 0x6f: case 0x7e: case 0x7f:
	case 0xd6: case 0xe7:
		sse_moves(c, i, op);
		return;
	case 0x14: case 0x15: case 0x70: case 0xc6:
		sse_shuffle(c, i, op);
		return;
	case 0x2a: case 0x2c: case 0x2d: case 0x5a: case 0x5b: case 0xe6:
		sse_cvt(c, i, op);
		return;
	case 0x2e: case 0x2f:
		sse_comis(c, i, op);
		return;
	case 0x51: case 0x52: case 0x53: case 0x58: case 0x59: case 0x5c: case 0x5d: case 0x5e: case 0x5f:
		sse_float(c, i, op);
		return;
	case 0x54: case 0x55: case 0x56: case 0x57: case 0xdb: case 0xdf: case 0xeb: case 0xef:
		sse_logic(c, i, op);
		return;
	case 0xc2:
		sse_check(c);
		sse_cmp(c, i);
		return;
	case 0x71: case 0x72: case 0x73: case 0xd1: case 0xd2: case 0xd3: case 0xe1: case 0xe2:
	case 0xf1: case 0xf2: case 0xf3:
		sse_shift(c, i, op);
		return;
	case 0x50: case 0xd7: case 0xc4: case 0xc5: case 0xc3: case 0xf7:
		sse_misc(c, i, op);
		return;
	default:
		sse_int(c, i, op);
		return;
	}
}

void sse_register(insn_fn *t)
{
	static const uint8_t ops[] = {
		0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d,
		0x2e, 0x2f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b,
		0x5c, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
		0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x7e,
		0x7f, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8,
		0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6,
		0xe7, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5,
		0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
	};
	for (unsigned k = 0; k < sizeof(ops); k++)
		t[0x100 | ops[k]] = op_sse;
	t[0x177] = op_emms;
}
