/* Integer arithmetic and logic with exact flags.
 *
 * The common operations (ADD/ADC/SUB/SBB/CMP/AND/OR/XOR/TEST/INC/DEC/NEG)
 * set flags lazily: they record their operands and result, and CF/PF/AF/
 * ZF/SF/OF are computed only when something reads them. Most results are
 * overwritten before any flag is read, and Jcc after CMP compares the
 * recorded operands directly. Rarer instructions compute flags eagerly. */
#include "engine/emu/emu.h"

#define ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

static inline uint64_t sign_bit(int size)
{
	return 1ull << (size * 8 - 1);
}

static inline bool parity_even(uint64_t v)
{
	return !__builtin_parity((unsigned)(v & 0xff));
}

static uint64_t szp(uint64_t res, int size)
{
	uint64_t f = 0;
	res &= size_mask(size);
	if (!res)
		f |= RFLAGS_ZF;
	if (res & sign_bit(size))
		f |= RFLAGS_SF;
	if (parity_even(res))
		f |= RFLAGS_PF;
	return f;
}

static uint64_t lazy_eval(const struct emu_cpu *c)
{
	int size = c->lf_size;
	uint64_t m = size_mask(size), sb = sign_bit(size);
	uint64_t a = c->lf_a & m, b = c->lf_b & m, r = c->lf_res & m;
	bool cf = false;
	uint64_t of = 0, af = (a ^ b ^ r) & 0x10;
	switch (c->lf_kind) {
	case LF_ADD: cf = r < a; of = (a ^ r) & (b ^ r) & sb; break;
	case LF_ADC: cf = c->lf_cf ? r <= a : r < a; of = (a ^ r) & (b ^ r) & sb; break;
	case LF_SUB: cf = a < b; of = (a ^ b) & (a ^ r) & sb; break;
	case LF_SBB: cf = c->lf_cf ? a <= b : a < b; of = (a ^ b) & (a ^ r) & sb; break;
	case LF_LOGIC: af = 0; break;
	case LF_INC: cf = c->lf_cf; of = r == sb; break;
	case LF_DEC: cf = c->lf_cf; of = a == sb; break;
	case LF_RESULT: cf = c->lf_cf & 1; of = c->lf_cf & 2; af = 0; break;
	default: break;
	}
	return szp(r, size) | (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0) | (af ? RFLAGS_AF : 0);
}

uint64_t get_flags(struct emu_cpu *c)
{
	if (c->lf_kind != LF_NONE) {
		c->s.rflags = (c->s.rflags & ~(uint64_t)ARITH) | lazy_eval(c);
		c->lf_kind = LF_NONE;
	}
	return c->s.rflags;
}

void set_flags(struct emu_cpu *c, uint64_t f)
{
	c->lf_kind = LF_NONE;
	c->s.rflags = f | RFLAGS_FIXED;
}

void set_flags_masked(struct emu_cpu *c, uint64_t f, uint64_t mask)
{
	uint64_t cur = get_flags(c);
	c->s.rflags = (cur & ~mask) | (f & mask) | RFLAGS_FIXED;
}

bool get_cf(struct emu_cpu *c)
{
	uint64_t m = size_mask(c->lf_size);
	uint64_t a = c->lf_a & m, b = c->lf_b & m, r = c->lf_res & m;
	switch (c->lf_kind) {
	case LF_NONE: return c->s.rflags & RFLAGS_CF;
	case LF_ADD: return r < a;
	case LF_ADC: return c->lf_cf ? r <= a : r < a;
	case LF_SUB: return a < b;
	case LF_SBB: return c->lf_cf ? a <= b : a < b;
	case LF_LOGIC: return false;
	case LF_INC: case LF_DEC: return c->lf_cf;
	case LF_RESULT: return c->lf_cf & 1;
	default: return get_flags(c) & RFLAGS_CF;
	}
}

bool cond_true(struct emu_cpu *c, int cc)
{
	if (c->lf_kind == LF_SUB) {
		/* compare the recorded operands directly: the Jcc after CMP */
		uint64_t m = size_mask(c->lf_size);
		uint64_t a = c->lf_a & m, b = c->lf_b & m;
		int64_t sa = (int64_t)sext(a, c->lf_size), sbv = (int64_t)sext(b, c->lf_size);
		switch (cc) {
		case 2: return a < b;
		case 3: return a >= b;
		case 4: return a == b;
		case 5: return a != b;
		case 6: return a <= b;
		case 7: return a > b;
		case 0xc: return sa < sbv;
		case 0xd: return sa >= sbv;
		case 0xe: return sa <= sbv;
		case 0xf: return sa > sbv;
		default: break;
		}
	}
	if (c->lf_kind == LF_LOGIC || c->lf_kind == LF_RESULT) {
		/* CF and OF are known bits: no need to evaluate the rest */
		uint64_t r = c->lf_res & size_mask(c->lf_size);
		bool cf = c->lf_kind == LF_RESULT && (c->lf_cf & 1);
		bool of = c->lf_kind == LF_RESULT && (c->lf_cf & 2);
		bool zf = r == 0, sf = (r >> (c->lf_size * 8 - 1)) & 1, v;
		switch (cc >> 1) {
		case 0: v = of; break;
		case 1: v = cf; break;
		case 2: v = zf; break;
		case 3: v = cf || zf; break;
		case 4: v = sf; break;
		case 5: v = parity_even(r); break;
		case 6: v = sf != of; break;
		default: v = zf || sf != of; break;
		}
		return (cc & 1) ? !v : v;
	}
	if (c->lf_kind != LF_NONE && (cc >> 1) == 2)  /* ZF straight from the result */
		return ((c->lf_res & size_mask(c->lf_size)) == 0) != (cc & 1);
	if (c->lf_kind != LF_NONE && (cc >> 1) == 4)  /* SF likewise */
		return ((c->lf_res >> (c->lf_size * 8 - 1)) & 1) != (cc & 1);
	uint64_t f = get_flags(c);
	bool r;
	switch (cc >> 1) {
	case 0: r = f & RFLAGS_OF; break;
	case 1: r = f & RFLAGS_CF; break;
	case 2: r = f & RFLAGS_ZF; break;
	case 3: r = f & (RFLAGS_CF | RFLAGS_ZF); break;
	case 4: r = f & RFLAGS_SF; break;
	case 5: r = f & RFLAGS_PF; break;
	case 6: r = !(f & RFLAGS_SF) != !(f & RFLAGS_OF); break;
	default: r = (f & RFLAGS_ZF) || (!(f & RFLAGS_SF) != !(f & RFLAGS_OF)); break;
	}
	return (cc & 1) ? !r : r;
}

static inline void lazy(struct emu_cpu *c, int kind, uint64_t a, uint64_t b, uint64_t r, int size)
{
	c->lf_kind = kind;
	c->lf_a = a;
	c->lf_b = b;
	c->lf_res = r;
	c->lf_size = size;
}

/* The eight ALU operations in their opcode order: ADD OR ADC SBB AND SUB XOR CMP. */
static uint64_t alu(struct emu_cpu *c, int op, uint64_t a, uint64_t b, int size)
{
	uint64_t r, cin;
	switch (op) {
	case 0: r = a + b; lazy(c, LF_ADD, a, b, r, size); break;
	case 1: r = a | b; lazy(c, LF_LOGIC, a, b, r, size); break;
	case 2: cin = get_cf(c); r = a + b + cin; lazy(c, LF_ADC, a, b, r, size); c->lf_cf = cin; break;
	case 3: cin = get_cf(c); r = a - b - cin; lazy(c, LF_SBB, a, b, r, size); c->lf_cf = cin; break;
	case 4: r = a & b; lazy(c, LF_LOGIC, a, b, r, size); break;
	case 6: r = a ^ b; lazy(c, LF_LOGIC, a, b, r, size); break;
	default: r = a - b; lazy(c, LF_SUB, a, b, r, size); break;
	}
	return r & size_mask(size);
}

/* Applies op to the r/m operand with b, writing back unless op is CMP. */
static void alu_to_rm(struct emu_cpu *c, const struct insn *i, int op, int size, uint64_t b)
{
	if (i->mod == 3) {
		uint64_t r = alu(c, op, reg_read(c, i->rm, size, i->rex), b, size);
		if (op != 7)
			reg_write(c, i->rm, size, i->rex, r);
		return;
	}
	uint64_t ea = insn_ea(c, i);
	uint64_t r = alu(c, op, mem_read(c, i->seg, ea, size), b, size);
	if (op != 7)
		mem_write(c, i->seg, ea, size, r);
}

static void op_alu(struct emu_cpu *c, const struct insn *i)
{
	int op = (i->op >> 3) & 7;
	int size = (i->op & 1) ? i->osize : 1;
	switch (i->op & 7) {
	case 0: case 1:
		alu_to_rm(c, i, op, size, reg_read(c, i->reg, size, i->rex));
		break;
	case 2: case 3: {
		uint64_t r = alu(c, op, reg_read(c, i->reg, size, i->rex), rm_read(c, i, size), size);
		if (op != 7)
			reg_write(c, i->reg, size, i->rex, r);
		break;
	}
	default: {
		size = (i->op & 1) ? i->osize : 1;
		uint64_t r = alu(c, op, reg_read(c, RAX, size, false), i->imm & size_mask(size), size);
		if (op != 7)
			reg_write(c, RAX, size, false, r);
		break;
	}
	}
}

static void op_grp1(struct emu_cpu *c, const struct insn *i)
{
	int size = (i->op == 0x80 || i->op == 0x82) ? 1 : i->osize;
	if (i->op == 0x82 && c->code64)
		raise_ud(c);
	alu_to_rm(c, i, i->reg & 7, size, i->imm & size_mask(size));
}

static void op_test(struct emu_cpu *c, const struct insn *i)
{
	int size = byte_or_osize(i);
	uint64_t a, b;
	if (i->op == 0xa8 || i->op == 0xa9) {
		a = reg_read(c, RAX, size, false);
		b = i->imm;
	} else {
		a = rm_read(c, i, size);
		b = reg_read(c, i->reg, size, i->rex);
	}
	uint64_t r = a & b & size_mask(size);
	lazy(c, LF_LOGIC, a, b, r, size);
}

static uint64_t inc_dec(struct emu_cpu *c, uint64_t a, bool dec, int size)
{
	bool cf = get_cf(c);
	uint64_t r = (dec ? a - 1 : a + 1) & size_mask(size);
	lazy(c, dec ? LF_DEC : LF_INC, a, 1, r, size);
	c->lf_cf = cf;
	return r;
}

static void op_incdec_reg(struct emu_cpu *c, const struct insn *i)
{
	int r = i->op & 7;
	reg_write(c, r, i->osize, true, inc_dec(c, reg_read(c, r, i->osize, true), i->op >= 0x48, i->osize));
}

static void rm_update_incdec(struct emu_cpu *c, const struct insn *i, int size, bool dec)
{
	if (i->mod == 3) {
		reg_write(c, i->rm, size, i->rex, inc_dec(c, reg_read(c, i->rm, size, i->rex), dec, size));
		return;
	}
	uint64_t ea = insn_ea(c, i);
	uint64_t r = inc_dec(c, mem_read(c, i->seg, ea, size), dec, size);
	mem_write(c, i->seg, ea, size, r);
}

/* FE /0 /1: INC/DEC r/m8; FF /0 /1 live in control.c's dispatcher. */
void alu_incdec_rm(struct emu_cpu *c, const struct insn *i, int size)
{
	rm_update_incdec(c, i, size, i->reg & 1);
}

static void op_grp_fe(struct emu_cpu *c, const struct insn *i)
{
	if ((i->reg & 7) > 1)
		raise_ud(c);
	rm_update_incdec(c, i, 1, i->reg & 1);
}

/* ---- group 3: TEST NOT NEG MUL IMUL DIV IDIV */

static void __attribute__((noreturn)) divide_error(struct emu_cpu *c)
{
	raise_fault(c, 0, false, 0);
}

static void mul_flags(struct emu_cpu *c, bool overflow, uint64_t lo, int size)
{
	lazy(c, LF_RESULT, 0, 0, lo, size);
	c->lf_cf = overflow ? 3 : 0;
}

static void grp3_mul(struct emu_cpu *c, int size, uint64_t b, bool is_signed)
{
	uint64_t a = reg_read(c, RAX, size, false);
	if (size == 8) {
		unsigned __int128 p;
		bool ovf;
		if (is_signed) {
			__int128 sp = (__int128)(int64_t)a * (int64_t)b;
			p = (unsigned __int128)sp;
			ovf = sp != (int64_t)sp;
		} else {
			p = (unsigned __int128)a * b;
			ovf = (p >> 64) != 0;
		}
		c->s.gpr[RAX] = (uint64_t)p;
		c->s.gpr[RDX] = (uint64_t)(p >> 64);
		mul_flags(c, ovf, (uint64_t)p, 8);
		return;
	}
	uint64_t p;
	bool ovf;
	if (is_signed) {
		int64_t sp = (int64_t)sext(a, size) * (int64_t)sext(b, size);
		p = (uint64_t)sp;
		ovf = (int64_t)sext(p, size) != sp;
	} else {
		p = (a & size_mask(size)) * (b & size_mask(size));
		ovf = (p >> (size * 8)) != 0;
	}
	if (size == 1) {
		reg_write(c, RAX, 2, false, p);
	} else {
		reg_write(c, RAX, size, false, p);
		reg_write(c, RDX, size, false, p >> (size * 8));
	}
	mul_flags(c, ovf, p, size);
}

static void grp3_div(struct emu_cpu *c, int size, uint64_t d, bool is_signed)
{
	d &= size_mask(size);
	if (!d)
		divide_error(c);
	if (size == 8) {
		unsigned __int128 n = ((unsigned __int128)c->s.gpr[RDX] << 64) | c->s.gpr[RAX];
		if (is_signed) {
			__int128 sn = (__int128)n, sd = (int64_t)d;
			if (sd == -1 && n == ((unsigned __int128)1 << 127))
				divide_error(c);
			__int128 q = sn / sd, r = sn % sd;
			if (q != (int64_t)q)
				divide_error(c);
			c->s.gpr[RAX] = (uint64_t)q;
			c->s.gpr[RDX] = (uint64_t)r;
		} else {
			unsigned __int128 q = n / d, r = n % d;
			if (q >> 64)
				divide_error(c);
			c->s.gpr[RAX] = (uint64_t)q;
			c->s.gpr[RDX] = (uint64_t)r;
		}
		return;
	}
	int bits = size * 8;
	uint64_t n;
	if (size == 1)
		n = reg_read(c, RAX, 2, false);
	else
		n = (reg_read(c, RDX, size, false) << bits) | reg_read(c, RAX, size, false);
	uint64_t q, r;
	if (is_signed) {
		int64_t sn = (int64_t)sext(n, size * 2), sd = (int64_t)sext(d, size);
		if (sd == -1 && sn == INT64_MIN)
			divide_error(c);  /* the quotient overflows, and would trap the host */
		int64_t sq = sn / sd, sr = sn % sd;
		if ((int64_t)sext(sq, size) != sq)
			divide_error(c);
		q = (uint64_t)sq, r = (uint64_t)sr;
	} else {
		q = n / d, r = n % d;
		if (q >> bits)
			divide_error(c);
	}
	if (size == 1) {
		reg_write(c, RAX, 2, false, (q & 0xff) | ((r & 0xff) << 8));
	} else {
		reg_write(c, RAX, size, false, q);
		reg_write(c, RDX, size, false, r);
	}
}

static void op_grp3(struct emu_cpu *c, const struct insn *i)
{
	int size = byte_or_osize(i);
	int sub = i->reg & 7;
	if (sub <= 1) {
		uint64_t a = rm_read(c, i, size);
		lazy(c, LF_LOGIC, a, i->imm, a & i->imm & size_mask(size), size);
		return;
	}
	if (sub == 2 || sub == 3) {
		uint64_t ea = i->mod == 3 ? 0 : insn_ea(c, i);
		uint64_t a = i->mod == 3 ? reg_read(c, i->rm, size, i->rex) : mem_read(c, i->seg, ea, size);
		uint64_t r = sub == 2 ? ~a : alu(c, 5, 0, a, size);
		r &= size_mask(size);
		if (i->mod == 3)
			reg_write(c, i->rm, size, i->rex, r);
		else
			mem_write(c, i->seg, ea, size, r);
		return;
	}
	uint64_t b = rm_read(c, i, size);
	if (sub <= 5)
		grp3_mul(c, size, b, sub == 5);
	else
		grp3_div(c, size, b, sub == 7);
}

/* IMUL r, r/m (0F AF) and IMUL r, r/m, imm (69, 6B) */
static void op_imul(struct emu_cpu *c, const struct insn *i)
{
	int size = i->osize;
	uint64_t a = rm_read(c, i, size);
	uint64_t b = i->op == 0x1af ? reg_read(c, i->reg, size, i->rex) : i->imm;
	uint64_t lo;
	bool ovf;
	if (size == 8) {
		__int128 p = (__int128)(int64_t)a * (int64_t)b;
		lo = (uint64_t)p;
		ovf = p != (int64_t)p;
	} else {
		int64_t p = (int64_t)sext(a, size) * (int64_t)sext(b, size);
		lo = (uint64_t)p;
		ovf = (int64_t)sext(lo, size) != p;
	}
	reg_write(c, i->reg, size, i->rex, lo);
	mul_flags(c, ovf, lo, size);
}

/* ---- shifts and rotates (group 2), flags computed eagerly */

/* SHL/SAL/SHR/SAR with a non-zero count define every arithmetic flag
 * from the result (AF reads 0, as the eager path leaves it), so they are
 * recorded lazily like ADD. */
static uint64_t shift_lazy(struct emu_cpu *c, int sub, uint64_t a, unsigned cnt, int size)
{
	int bits = size * 8;
	uint64_t m = size_mask(size), sb = sign_bit(size), r;
	bool cf, of;
	switch (sub) {
	case 4: case 6:
		r = cnt >= 64 ? 0 : (a << cnt) & m;
		cf = cnt <= (unsigned)bits ? (a >> (bits - cnt)) & 1 : 0;
		of = !!(r & sb) != cf;
		break;
	case 5:
		r = cnt >= 64 ? 0 : a >> cnt;
		cf = (a >> (cnt - 1)) & 1;
		of = a & sb;
		break;
	default: {
		int64_t sa = (int64_t)sext(a, size);
		r = (uint64_t)(sa >> (cnt > 63 ? 63 : cnt)) & m;
		cf = (sa >> (cnt - 1 > 63 ? 63 : cnt - 1)) & 1;
		of = false;
		break;
	}
	}
	lazy(c, LF_RESULT, a, 0, r, size);
	c->lf_cf = (cf ? 1 : 0) | (of ? 2 : 0);
	return r;
}

static uint64_t shift_op(struct emu_cpu *c, int sub, uint64_t a, unsigned cnt, int size)
{
	int bits = size * 8;
	uint64_t m = size_mask(size), sb = sign_bit(size);
	cnt &= size == 8 ? 0x3f : 0x1f;
	a &= m;
	if (sub == 2 || sub == 3) {   /* RCL/RCR rotate through CF: bits+1 wide */
		if (size == 1)
			cnt %= 9;
		else if (size == 2)
			cnt %= 17;
	}
	if (!cnt)
		return a;
	if (sub >= 4)
		return shift_lazy(c, sub, a, cnt, size);
	uint64_t f = get_flags(c);
	uint64_t r = a;
	bool cf = f & RFLAGS_CF, of = false;
	switch (sub) {   /* the rotates; the shifts went to shift_lazy above */
	case 0: { unsigned k = cnt % bits; r = k ? ((a << k) | (a >> (bits - k))) & m : a;
		cf = r & 1; of = !!(r & sb) != cf; break; }
	case 1: { unsigned k = cnt % bits; r = k ? ((a >> k) | (a << (bits - k))) & m : a;
		cf = r & sb; of = !!(r & sb) != !!(r & (sb >> 1)); break; }
	case 2:
		for (unsigned k = 0; k < cnt; k++) {
			bool out = r & sb;
			r = ((r << 1) | cf) & m;
			cf = out;
		}
		of = !!(r & sb) != cf;
		break;
	case 3:
		of = !!(a & sb) != cf;
		for (unsigned k = 0; k < cnt; k++) {
			bool out = r & 1;
			r = (r >> 1) | (cf ? sb : 0);
			cf = out;
		}
		break;
	}
	/* Rotates change only CF and OF. */
	set_flags_masked(c, (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0), RFLAGS_CF | RFLAGS_OF);
	return r;
}

static void op_grp2(struct emu_cpu *c, const struct insn *i)
{
	int size = (i->op == 0xc0 || i->op == 0xd0 || i->op == 0xd2) ? 1 : i->osize;
	unsigned cnt;
	if (i->op <= 0xc1)
		cnt = i->imm & 0xff;
	else if (i->op <= 0xd1)
		cnt = 1;
	else
		cnt = c->s.gpr[RCX] & 0xff;
	int sub = i->reg & 7;
	if (i->mod == 3) {
		uint64_t a = reg_read(c, i->rm, size, i->rex);
		uint64_t r = shift_op(c, sub, a, cnt, size);
		reg_write(c, i->rm, size, i->rex, r);
		return;
	}
	uint64_t ea = insn_ea(c, i);
	uint64_t a = mem_read(c, i->seg, ea, size);
	uint64_t r = shift_op(c, sub, a, cnt, size);
	mem_write(c, i->seg, ea, size, r);
}

/* SHLD/SHRD */
static void op_shxd(struct emu_cpu *c, const struct insn *i)
{
	int size = i->osize, bits = size * 8;
	bool left = i->op < 0x1a8;
	unsigned cnt = ((i->op & 1) ? c->s.gpr[RCX] : i->imm) & (size == 8 ? 0x3f : 0x1f);
	uint64_t ea = i->mod == 3 ? 0 : insn_ea(c, i);
	uint64_t a = i->mod == 3 ? reg_read(c, i->rm, size, i->rex) : mem_read(c, i->seg, ea, size);
	if (!cnt)
		return;
	uint64_t b = reg_read(c, i->reg, size, i->rex), m = size_mask(size), r;
	bool cf;
	if (size == 2 && cnt > 16) {
		/* undefined result; use a 48-bit composite like common hardware */
		cnt &= 0x1f;
	}
	unsigned __int128 wide;
	if (left) {
		wide = ((unsigned __int128)a << bits) | b;
		if (size == 2)
			wide = ((unsigned __int128)a << 32) | ((unsigned __int128)b << 16) | a;
		int wb = size == 2 ? 48 : 2 * bits;
		r = (uint64_t)(wide >> (wb - bits - cnt)) & m;
		cf = (wide >> (wb - cnt)) & 1;
	} else {
		wide = ((unsigned __int128)b << bits) | a;
		if (size == 2)
			wide = ((unsigned __int128)a << 32) | ((unsigned __int128)b << 16) | a;
		r = (uint64_t)(wide >> cnt) & m;
		cf = (wide >> (cnt - 1)) & 1;
	}
	bool of = ((r ^ a) & sign_bit(size)) != 0;
	set_flags_masked(c, szp(r, size) | (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0), ARITH);
	if (i->mod == 3)
		reg_write(c, i->rm, size, i->rex, r);
	else
		mem_write(c, i->seg, ea, size, r);
}

/* ---- bit tests and scans */

static void op_bt(struct emu_cpu *c, const struct insn *i)
{
	int size = i->osize, bits = size * 8;
	int sub; /* 0 BT, 1 BTS, 2 BTR, 3 BTC */
	int64_t off;
	if (i->op == 0x1ba) {
		if ((i->reg & 7) < 4)
			raise_ud(c);
		sub = (i->reg & 7) - 4;
		off = i->imm & (bits - 1);
	} else {
		sub = (i->op >> 3) & 3;
		off = (int64_t)sext(reg_read(c, i->reg, size, i->rex), size);
	}
	uint64_t ea = 0, a;
	if (i->mod == 3) {
		off &= bits - 1;
		a = reg_read(c, i->rm, size, i->rex);
	} else {
		int64_t word = off >> (size == 8 ? 6 : size == 4 ? 5 : 4);
		ea = (insn_ea(c, i) + (uint64_t)(word * size)) & size_mask(i->asize);
		off &= bits - 1;
		a = mem_read(c, i->seg, ea, size);
	}
	bool bit = (a >> off) & 1;
	set_flags_masked(c, bit ? RFLAGS_CF : 0, RFLAGS_CF);
	if (!sub)
		return;
	uint64_t r = sub == 1 ? a | (1ull << off) : sub == 2 ? a & ~(1ull << off) : a ^ (1ull << off);
	if (i->mod == 3)
		reg_write(c, i->rm, size, i->rex, r);
	else
		mem_write(c, i->seg, ea, size, r);
}

static void op_bsf_bsr(struct emu_cpu *c, const struct insn *i)
{
	int size = i->osize;
	uint64_t v = rm_read(c, i, size) & size_mask(size);
	/* TZCNT/LZCNT are not advertised: F3 0F BC/BD run as BSF/BSR, as on
	 * CPUs without BMI1/ABM */
	if (!v) {
		set_flags_masked(c, RFLAGS_ZF, RFLAGS_ZF);
		return;
	}
	int r = i->op == 0x1bc ? __builtin_ctzll(v) : 63 - __builtin_clzll(v);
	set_flags_masked(c, 0, RFLAGS_ZF);
	reg_write(c, i->reg, size, i->rex, r);
}

static void op_popcnt(struct emu_cpu *c, const struct insn *i)
{
	if (i->rep != 0xf3)
		raise_ud(c);
	int size = i->osize;
	uint64_t v = rm_read(c, i, size) & size_mask(size);
	reg_write(c, i->reg, size, i->rex, __builtin_popcountll(v));
	set_flags_masked(c, v ? 0 : RFLAGS_ZF, ARITH);
}

/* ---- exchange-and-compute */

static void op_cmpxchg(struct emu_cpu *c, const struct insn *i)
{
	int size = i->op == 0x1b0 ? 1 : i->osize;
	uint64_t ea = i->mod == 3 ? 0 : insn_ea(c, i);
	uint64_t d = i->mod == 3 ? reg_read(c, i->rm, size, i->rex) : mem_read(c, i->seg, ea, size);
	uint64_t acc = reg_read(c, RAX, size, false);
	alu(c, 7, acc, d, size);
	uint64_t w;
	if (acc == d) {
		w = reg_read(c, i->reg, size, i->rex);
	} else {
		w = d;
		reg_write(c, RAX, size, false, d);
	}
	if (i->mod == 3) {
		if (acc == d)
			reg_write(c, i->rm, size, i->rex, w);
	} else {
		mem_write(c, i->seg, ea, size, w);
	}
}

static void op_xadd(struct emu_cpu *c, const struct insn *i)
{
	int size = i->op == 0x1c0 ? 1 : i->osize;
	uint64_t ea = i->mod == 3 ? 0 : insn_ea(c, i);
	uint64_t d = i->mod == 3 ? reg_read(c, i->rm, size, i->rex) : mem_read(c, i->seg, ea, size);
	uint64_t s = reg_read(c, i->reg, size, i->rex);
	uint64_t r = alu(c, 0, d, s, size);
	reg_write(c, i->reg, size, i->rex, d);
	if (i->mod == 3)
		reg_write(c, i->rm, size, i->rex, r);
	else
		mem_write(c, i->seg, ea, size, r);
}

static void op_cmpxchg8b(struct emu_cpu *c, const struct insn *i)
{
	if ((i->reg & 7) != 1 || i->mod == 3)
		raise_ud(c);
	uint64_t ea = insn_ea(c, i);
	if (i->rex & 8) {
		if (ea & 15)
			raise_gp(c, 0);
		uint64_t lo = mem_read(c, i->seg, ea, 8), hi = mem_read(c, i->seg, ea + 8, 8);
		if (lo == c->s.gpr[RAX] && hi == c->s.gpr[RDX]) {
			mem_write(c, i->seg, ea, 8, c->s.gpr[RBX]);
			mem_write(c, i->seg, ea + 8, 8, c->s.gpr[RCX]);
			set_flags_masked(c, RFLAGS_ZF, RFLAGS_ZF);
		} else {
			mem_write(c, i->seg, ea, 8, lo);
			c->s.gpr[RAX] = lo;
			c->s.gpr[RDX] = hi;
			set_flags_masked(c, 0, RFLAGS_ZF);
		}
		return;
	}
	uint64_t v = mem_read(c, i->seg, ea, 8);
	uint64_t cmp = (c->s.gpr[RDX] << 32) | (uint32_t)c->s.gpr[RAX];
	if (v == cmp) {
		mem_write(c, i->seg, ea, 8, (c->s.gpr[RCX] << 32) | (uint32_t)c->s.gpr[RBX]);
		set_flags_masked(c, RFLAGS_ZF, RFLAGS_ZF);
	} else {
		mem_write(c, i->seg, ea, 8, v);
		reg_write(c, RAX, 4, false, v);
		reg_write(c, RDX, 4, false, v >> 32);
		set_flags_masked(c, 0, RFLAGS_ZF);
	}
}

/* ---- flag instructions, conditional moves and sets */

static void op_flagbit(struct emu_cpu *c, const struct insn *i)
{
	uint64_t f = get_flags(c);
	switch (i->op) {
	case 0xf5: f ^= RFLAGS_CF; break;
	case 0xf8: f &= ~(uint64_t)RFLAGS_CF; break;
	case 0xf9: f |= RFLAGS_CF; break;
	case 0xfc: f &= ~(uint64_t)RFLAGS_DF; break;
	case 0xfd: f |= RFLAGS_DF; break;
	}
	set_flags(c, f);
}

static void op_lahf(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	reg_write(c, 4, 1, false, (get_flags(c) & 0xd5) | 2);
}

static void op_sahf(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	uint64_t ah = (c->s.gpr[RAX] >> 8) & 0xd5;
	set_flags_masked(c, ah, RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF);
}

static void op_setcc(struct emu_cpu *c, const struct insn *i)
{
	rm_write(c, i, 1, cond_true(c, i->op & 0xf));
}

static void op_cmovcc(struct emu_cpu *c, const struct insn *i)
{
	uint64_t v = rm_read(c, i, i->osize);  /* the source is read (and may fault) either way */
	if (cond_true(c, i->op & 0xf))
		reg_write(c, i->reg, i->osize, i->rex, v);
	else if (i->osize == 4)
		reg_write(c, i->reg, 4, i->rex, reg_read(c, i->reg, 4, i->rex));
}

static void op_cbw(struct emu_cpu *c, const struct insn *i)
{
	int s = i->osize;
	reg_write(c, RAX, s, false, sext(reg_read(c, RAX, s / 2, false), s / 2));
}

static void op_cwd(struct emu_cpu *c, const struct insn *i)
{
	int s = i->osize;
	uint64_t a = reg_read(c, RAX, s, false);
	reg_write(c, RDX, s, false, (a & sign_bit(s)) ? ~0ull : 0);
}

static void op_bswap(struct emu_cpu *c, const struct insn *i)
{
	int r = (i->op & 7) | ((i->rex & 1) << 3);
	if (i->osize == 8)
		c->s.gpr[r] = __builtin_bswap64(c->s.gpr[r]);
	else if (i->osize == 4)
		c->s.gpr[r] = __builtin_bswap32((uint32_t)c->s.gpr[r]);
	else
		reg_write(c, r, 2, true, 0);  /* 16-bit BSWAP is undefined; zero as hardware does */
}

/* ---- BCD adjustments (not in 64-bit mode) */

static void op_bcd(struct emu_cpu *c, const struct insn *i)
{
	if (c->code64)
		raise_ud(c);
	uint64_t f = get_flags(c);
	uint8_t al = c->s.gpr[RAX] & 0xff, old_al = al;
	bool cf = f & RFLAGS_CF, af = f & RFLAGS_AF;
	switch (i->op) {
	case 0x27: /* DAA */
	case 0x2f: { /* DAS */
		bool das = i->op == 0x2f;
		bool ncf = false;
		if ((al & 0xf) > 9 || af) {
			ncf = cf || (das ? al < 6 : al > 0xf9);
			al = das ? al - 6 : al + 6;
			af = true;
		} else {
			af = false;
		}
		if (old_al > 0x99 || cf) {
			al = das ? al - 0x60 : al + 0x60;
			ncf = true;
		}
		cf = ncf;
		reg_write(c, RAX, 1, false, al);
		f = (f & ~(uint64_t)ARITH) | szp(al, 1) | (cf ? RFLAGS_CF : 0) | (af ? RFLAGS_AF : 0);
		break;
	}
	case 0x37: /* AAA */
	case 0x3f: { /* AAS */
		uint16_t ax = c->s.gpr[RAX] & 0xffff;
		if ((al & 0xf) > 9 || af) {
			if (i->op == 0x37)
				ax = (uint16_t)(ax + 0x106);
			else
				ax = (uint16_t)(ax - 6 - 0x100);  /* the borrow reaches AH */
			af = cf = true;
		} else {
			af = cf = false;
		}
		ax &= 0xff0f;
		reg_write(c, RAX, 2, false, ax);
		f = (f & ~(uint64_t)ARITH) | szp(ax & 0xff, 1) | (cf ? RFLAGS_CF : 0) | (af ? RFLAGS_AF : 0);
		break;
	}
	case 0xd4: { /* AAM */
		uint8_t base = i->imm & 0xff;
		if (!base)
			raise_fault(c, 0, false, 0);
		uint8_t ah = al / base;
		al = al % base;
		reg_write(c, RAX, 2, false, al | (ah << 8));
		f = (f & ~(uint64_t)ARITH) | szp(al, 1);
		break;
	}
	default: { /* D5 AAD */
		uint8_t ah = (c->s.gpr[RAX] >> 8) & 0xff;
		al = (uint8_t)(al + ah * (uint8_t)i->imm);
		reg_write(c, RAX, 2, false, al);
		f = (f & ~(uint64_t)ARITH) | szp(al, 1);
		break;
	}
	}
	set_flags(c, f);
}

/* SALC (D6, undocumented by Intel, documented by AMD as reserved): AL =
 * CF ? 0xff : 0, flags unchanged; every real CPU runs it outside 64-bit
 * mode, where it is #UD. */
static void op_salc(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	if (c->code64)
		raise_ud(c);
	reg_write(c, 0, 1, false, get_cf(c) ? 0xff : 0);
}

/* ---- decode-time specializations: the commonest register forms at 32 and
 * 64 bits get handlers without size or form dispatch. decode.c asks
 * alu_fast() for one after decoding; operands sit in base (destination)
 * and index (source register), which register forms leave unused. */

#define FAST_RR(name, size, kind, expr, wb)                                     \
	static void name(struct emu_cpu *c, const struct insn *i)               \
	{                                                                       \
		uint64_t m = size_mask(size);                                   \
		uint64_t a = c->s.gpr[i->base] & m, b = c->s.gpr[i->index] & m; \
		uint64_t r = (expr) & m;                                        \
		if (wb)                                                         \
			c->s.gpr[i->base] = r;                                  \
		lazy(c, kind, a, b, r, size);                                   \
	}

#define FAST_RI(name, size, kind, expr, wb)                                     \
	static void name(struct emu_cpu *c, const struct insn *i)               \
	{                                                                       \
		uint64_t m = size_mask(size);                                   \
		uint64_t a = c->s.gpr[i->base] & m, b = i->imm & m;             \
		uint64_t r = (expr) & m;                                        \
		if (wb)                                                         \
			c->s.gpr[i->base] = r;                                  \
		lazy(c, kind, a, b, r, size);                                   \
	}

#define FAST_ALU(sfx, size)                                                      \
	FAST_RR(add_rr##sfx, size, LF_ADD, a + b, 1)                            \
	FAST_RR(or_rr##sfx, size, LF_LOGIC, a | b, 1)                           \
	FAST_RR(and_rr##sfx, size, LF_LOGIC, a & b, 1)                          \
	FAST_RR(sub_rr##sfx, size, LF_SUB, a - b, 1)                            \
	FAST_RR(xor_rr##sfx, size, LF_LOGIC, a ^ b, 1)                          \
	FAST_RR(cmp_rr##sfx, size, LF_SUB, a - b, 0)                            \
	FAST_RR(test_rr##sfx, size, LF_LOGIC, a & b, 0)                         \
	FAST_RI(add_ri##sfx, size, LF_ADD, a + b, 1)                            \
	FAST_RI(or_ri##sfx, size, LF_LOGIC, a | b, 1)                           \
	FAST_RI(and_ri##sfx, size, LF_LOGIC, a & b, 1)                          \
	FAST_RI(sub_ri##sfx, size, LF_SUB, a - b, 1)                            \
	FAST_RI(xor_ri##sfx, size, LF_LOGIC, a ^ b, 1)                          \
	FAST_RI(cmp_ri##sfx, size, LF_SUB, a - b, 0)                            \
	static const insn_fn rr##sfx[8] = { add_rr##sfx, or_rr##sfx, NULL, NULL,   \
					    and_rr##sfx, sub_rr##sfx, xor_rr##sfx,  \
					    cmp_rr##sfx };                          \
	static const insn_fn ri##sfx[8] = { add_ri##sfx, or_ri##sfx, NULL, NULL,   \
					    and_ri##sfx, sub_ri##sfx, xor_ri##sfx,  \
					    cmp_ri##sfx };

FAST_ALU(64, 8)
FAST_ALU(32, 4)

#define FAST_INCDEC(name, size, dec)                                            \
	static void name(struct emu_cpu *c, const struct insn *i)               \
	{                                                                       \
		uint64_t m = size_mask(size);                                   \
		uint64_t a = c->s.gpr[i->base] & m;                             \
		bool cf = get_cf(c);                                            \
		uint64_t r = (dec ? a - 1 : a + 1) & m;                         \
		c->s.gpr[i->base] = r;                                          \
		lazy(c, dec ? LF_DEC : LF_INC, a, 1, r, size);                  \
		c->lf_cf = cf;                                                  \
	}

FAST_INCDEC(inc_r64, 8, 0)
FAST_INCDEC(dec_r64, 8, 1)
FAST_INCDEC(inc_r32, 4, 0)
FAST_INCDEC(dec_r32, 4, 1)

/* SHL/SHR/SAR of a 32/64-bit register by an immediate or CL (group 2,
 * /4-/7): a zero count changes no flag, but a 32-bit destination is still
 * written (zero-extended). */
static void shift_ri64(struct emu_cpu *c, const struct insn *i)
{
	unsigned cnt = i->imm & 0x3f;
	if (cnt)
		c->s.gpr[i->base] = shift_lazy(c, i->reg & 7, c->s.gpr[i->base], cnt, 8);
}

static void shift_ri32(struct emu_cpu *c, const struct insn *i)
{
	unsigned cnt = i->imm & 0x1f;
	uint64_t a = (uint32_t)c->s.gpr[i->base];
	c->s.gpr[i->base] = cnt ? shift_lazy(c, i->reg & 7, a, cnt, 4) : a;
}

static void shift_rcl64(struct emu_cpu *c, const struct insn *i)
{
	unsigned cnt = c->s.gpr[RCX] & 0x3f;
	if (cnt)
		c->s.gpr[i->base] = shift_lazy(c, i->reg & 7, c->s.gpr[i->base], cnt, 8);
}

static void shift_rcl32(struct emu_cpu *c, const struct insn *i)
{
	unsigned cnt = c->s.gpr[RCX] & 0x1f;
	uint64_t a = (uint32_t)c->s.gpr[i->base];
	c->s.gpr[i->base] = cnt ? shift_lazy(c, i->reg & 7, a, cnt, 4) : a;
}

insn_fn alu_fast(struct insn *i)
{
	int size = i->osize;
	if (i->mod != 3 || (size != 8 && size != 4))
		return NULL;
	bool q = size == 8;
	uint16_t op = i->op;
	if (op < 0x40 && (op & 7) <= 3 && (op & 1)) {
		int alu_op = (op >> 3) & 7;
		insn_fn f = q ? rr64[alu_op] : rr32[alu_op];
		if (!f)
			return NULL;
		i->base = (op & 2) ? i->reg : i->rm;
		i->index = (op & 2) ? i->rm : i->reg;
		return f;
	}
	if (op == 0x85) {
		i->base = i->rm;
		i->index = i->reg;
		return q ? test_rr64 : test_rr32;
	}
	if (op == 0x81 || op == 0x83) {
		insn_fn f = q ? ri64[i->reg & 7] : ri32[i->reg & 7];
		if (!f)
			return NULL;
		i->base = i->rm;
		return f;
	}
	if (op == 0xff && (i->reg & 7) <= 1) {
		i->base = i->rm;
		if (i->reg & 1)
			return q ? dec_r64 : dec_r32;
		return q ? inc_r64 : inc_r32;
	}
	if ((op == 0xc1 || op == 0xd3) && (i->reg & 7) >= 4) {
		i->base = i->rm;
		return op == 0xc1 ? (q ? shift_ri64 : shift_ri32) : (q ? shift_rcl64 : shift_rcl32);
	}
	return NULL;
}

void alu_register(insn_fn *t)
{
	for (int b = 0; b < 0x40; b += 8)
		for (int k = 0; k < 6; k++)
			t[b + k] = op_alu;
	for (int k = 0x80; k <= 0x83; k++)
		t[k] = op_grp1;
	t[0x84] = t[0x85] = t[0xa8] = t[0xa9] = op_test;
	for (int k = 0x40; k <= 0x4f; k++)
		t[k] = op_incdec_reg;
	t[0xfe] = op_grp_fe;
	t[0xf6] = t[0xf7] = op_grp3;
	t[0x1af] = t[0x69] = t[0x6b] = op_imul;
	t[0xc0] = t[0xc1] = t[0xd0] = t[0xd1] = t[0xd2] = t[0xd3] = op_grp2;
	t[0x1a4] = t[0x1a5] = t[0x1ac] = t[0x1ad] = op_shxd;
	t[0x1a3] = t[0x1ab] = t[0x1b3] = t[0x1bb] = t[0x1ba] = op_bt;
	t[0x1bc] = t[0x1bd] = op_bsf_bsr;
	t[0x1b8] = op_popcnt;
	t[0x1b0] = t[0x1b1] = op_cmpxchg;
	t[0x1c0] = t[0x1c1] = op_xadd;
	t[0x1c7] = op_cmpxchg8b;
	t[0xf5] = t[0xf8] = t[0xf9] = t[0xfc] = t[0xfd] = op_flagbit;
	t[0x9f] = op_lahf;
	t[0x9e] = op_sahf;
	for (int k = 0; k < 16; k++) {
		t[0x190 + k] = op_setcc;
		t[0x140 + k] = op_cmovcc;
	}
	t[0x98] = op_cbw;
	t[0x99] = op_cwd;
	for (int k = 0x1c8; k <= 0x1cf; k++)
		t[k] = op_bswap;
	t[0x27] = t[0x2f] = t[0x37] = t[0x3f] = t[0xd4] = t[0xd5] = op_bcd;
	t[0xd6] = op_salc;
}
