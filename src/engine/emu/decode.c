/* The instruction decoder: bytes to a struct insn, once per instruction per
 * cached block. Hand-written and table-driven because a decoded record only
 * needs the operand layout, which two small tables describe; the semantics
 * live in the handlers that op_table points at. */
#include <pthread.h>
#include <string.h>

#include "engine/emu/emu.h"

insn_fn op_table[0x400];

/* Operand layout flags per opcode. */
#define M   0x01  /* has ModRM */
#define IB  0x02  /* imm8 */
#define IW  0x04  /* imm16 */
#define IZ  0x08  /* imm16 or imm32 by operand size (imm32 sign-extended for 64) */
#define IV  0x10  /* imm16/32/64 by operand size (MOV r, imm) */
#define FAR 0x20  /* ptr16:16/32 */
#define MOF 0x40  /* moffs by address size */
#define GRP3 0x80 /* F6/F7: immediate only for /0 and /1 */
#define D64 0x100 /* defaults to 64-bit operand size in long mode */
#define F64 0x200 /* forced 64-bit operand size in long mode */

static uint16_t one_byte[256], two_byte[256];

static void set_range(uint16_t *t, int lo, int hi, uint16_t f)
{
	for (int k = lo; k <= hi; k++)
		t[k] = f;
}

static void init_layout(void)
{
	for (int b = 0; b < 0x40; b += 8) {
		set_range(one_byte, b, b + 3, M);
		one_byte[b + 4] = IB;
		one_byte[b + 5] = IZ;
	}
	set_range(one_byte, 0x50, 0x5f, D64);
	one_byte[0x62] = M;
	one_byte[0x63] = M;
	one_byte[0x68] = IZ | D64;
	one_byte[0x69] = M | IZ;
	one_byte[0x6a] = IB | D64;
	one_byte[0x6b] = M | IB;
	set_range(one_byte, 0x70, 0x7f, IB | F64);
	one_byte[0x80] = M | IB;
	one_byte[0x81] = M | IZ;
	one_byte[0x82] = M | IB;
	one_byte[0x83] = M | IB;
	set_range(one_byte, 0x84, 0x8e, M);
	one_byte[0x8f] = M | D64;
	one_byte[0x9a] = FAR;
	one_byte[0x9c] = D64;
	one_byte[0x9d] = D64;
	set_range(one_byte, 0xa0, 0xa3, MOF);
	one_byte[0xa8] = IB;
	one_byte[0xa9] = IZ;
	set_range(one_byte, 0xb0, 0xb7, IB);
	set_range(one_byte, 0xb8, 0xbf, IV);
	one_byte[0xc0] = M | IB;
	one_byte[0xc1] = M | IB;
	one_byte[0xc2] = IW | F64;
	one_byte[0xc3] = F64;
	one_byte[0xc4] = M;
	one_byte[0xc5] = M;
	one_byte[0xc6] = M | IB;
	one_byte[0xc7] = M | IZ;
	one_byte[0xc8] = IW | IB | D64;
	one_byte[0xc9] = D64;
	one_byte[0xca] = IW;
	one_byte[0xcd] = IB;
	set_range(one_byte, 0xd0, 0xd3, M);
	one_byte[0xd4] = IB;
	one_byte[0xd5] = IB;
	set_range(one_byte, 0xd8, 0xdf, M);
	set_range(one_byte, 0xe0, 0xe7, IB);
	set_range(one_byte, 0xe0, 0xe3, IB | F64);
	one_byte[0xe8] = IZ | F64;
	one_byte[0xe9] = IZ | F64;
	one_byte[0xea] = FAR;
	one_byte[0xeb] = IB | F64;
	one_byte[0xf6] = M | GRP3;
	one_byte[0xf7] = M | GRP3;
	one_byte[0xfe] = M;
	one_byte[0xff] = M;

	set_range(two_byte, 0x00, 0x03, M);
	two_byte[0x0d] = M;
	set_range(two_byte, 0x10, 0x1f, M);
	set_range(two_byte, 0x20, 0x23, M);
	set_range(two_byte, 0x28, 0x2f, M);
	set_range(two_byte, 0x40, 0x6f, M);
	set_range(two_byte, 0x70, 0x73, M | IB);
	set_range(two_byte, 0x74, 0x76, M);
	set_range(two_byte, 0x78, 0x7f, M);
	set_range(two_byte, 0x80, 0x8f, IZ | F64);
	set_range(two_byte, 0x90, 0x9f, M);
	two_byte[0xa0] = D64;
	two_byte[0xa1] = D64;
	two_byte[0xa8] = D64;
	two_byte[0xa9] = D64;
	two_byte[0xa3] = M;
	two_byte[0xa4] = M | IB;
	two_byte[0xa5] = M;
	two_byte[0xab] = M;
	two_byte[0xac] = M | IB;
	two_byte[0xad] = M;
	set_range(two_byte, 0xae, 0xb9, M);
	two_byte[0xba] = M | IB;
	set_range(two_byte, 0xbb, 0xc1, M);
	two_byte[0xc2] = M | IB;
	two_byte[0xc3] = M;
	set_range(two_byte, 0xc4, 0xc6, M | IB);
	two_byte[0xc7] = M;
	set_range(two_byte, 0xd0, 0xff, M);
}


static void init_tables(void)
{
	init_layout();
	for (int k = 0; k < 0x400; k++)
		op_table[k] = ops_ud;
	alu_register(op_table);
	datamov_register(op_table);
	control_register(op_table);
	string_register(op_table);
	system_register(op_table);
	io_register(op_table);
	fpu_register(op_table);
	sse_register(op_table);
}

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* 16-bit addressing: base and index registers per ModRM.rm. */
static const uint8_t rm16_base[8] = { RBX, RBX, RBP, RBP, NOREG, NOREG, RBP, RBX };
static const uint8_t rm16_index[8] = { RSI, RDI, RSI, RDI, RSI, RDI, NOREG, NOREG };

static int decode_modrm(struct insn *i, const uint8_t *p, int pos, int avail, bool *ss_default,
			bool long64)
{
	if (pos >= avail)
		return -1;
	uint8_t m = p[pos++];
	i->mod = m >> 6;
	i->reg = ((m >> 3) & 7) | ((i->rex & 4) << 1);
	i->rm = (m & 7) | ((i->rex & 1) << 3);
	i->base = i->index = NOREG;
	i->scale = 0;
	i->disp = 0;
	if (i->mod == 3)
		return pos;
	if (i->asize == 2) {
		int rm = m & 7;
		if (i->mod == 0 && rm == 6) {
			if (pos + 2 > avail)
				return -1;
			i->disp = (int16_t)(p[pos] | p[pos + 1] << 8);
			return pos + 2;
		}
		i->base = rm16_base[rm];
		i->index = rm16_index[rm];
		*ss_default = i->base == RBP;
	} else {
		int rm = m & 7;
		if (rm == 4) {
			if (pos >= avail)
				return -1;
			uint8_t sib = p[pos++];
			i->scale = sib >> 6;
			int idx = ((sib >> 3) & 7) | ((i->rex & 2) << 2);
			i->index = idx == RSP ? NOREG : idx;
			int b = sib & 7;
			if (b == 5 && i->mod == 0) {
				i->base = NOREG;
				if (pos + 4 > avail)
					return -1;
				i->disp = (int32_t)(p[pos] | p[pos + 1] << 8 | p[pos + 2] << 16 |
						    (uint32_t)p[pos + 3] << 24);
				pos += 4;
			} else {
				i->base = b | ((i->rex & 1) << 3);
			}
		} else if (rm == 5 && i->mod == 0) {
			/* disp32 alone; RIP-relative in 64-bit mode */
			if (pos + 4 > avail)
				return -1;
			i->disp = (int32_t)(p[pos] | p[pos + 1] << 8 | p[pos + 2] << 16 |
					    (uint32_t)p[pos + 3] << 24);
			pos += 4;
			i->rip_rel = long64;
			return pos;
		} else {
			i->base = i->rm;
		}
		*ss_default = i->base == RBP || i->base == RSP;
	}
	if (i->mod == 1) {
		if (pos >= avail)
			return -1;
		i->disp = (int8_t)p[pos++];
	} else if (i->mod == 2) {
		int n = i->asize == 2 ? 2 : 4;
		if (pos + n > avail)
			return -1;
		i->disp = n == 2 ? (int16_t)(p[pos] | p[pos + 1] << 8)
				 : (int32_t)(p[pos] | p[pos + 1] << 8 | p[pos + 2] << 16 |
					     (uint32_t)p[pos + 3] << 24);
		pos += n;
	}
	return pos;
}

static uint64_t read_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int k = n - 1; k >= 0; k--)
		v = v << 8 | p[k];
	return v;
}

/* LOCK is allowed only on read-modify-write forms with a memory
 * destination (SDM vol. 2, LOCK); anything else is #UD. */
static bool lockable(const struct insn *i)
{
	uint16_t op = i->op;
	int sub = i->reg & 7;
	if (i->mod == 3)
		return false;
	if (op < 0x40)
		return (op & 7) <= 1 && (op >> 3) != 7;  /* ADD..XOR r/m, r; not CMP */
	switch (op) {
	case 0x80: case 0x81: case 0x83: return sub != 7;
	case 0x86: case 0x87: return true;
	case 0xf6: case 0xf7: return sub == 2 || sub == 3;
	case 0xfe: case 0xff: return sub <= 1;
	case 0x1ab: case 0x1b3: case 0x1bb: case 0x1b0: case 0x1b1: case 0x1c0: case 0x1c1: return true;
	case 0x1ba: return sub >= 5;
	case 0x1c7: return sub == 1;
	default: return false;
	}
}

/* Returns the length, 0 when more bytes are needed than avail, and a
 * length of 16 (too long: #GP) is reported as -1. */
int decode_insn(struct insn *i, const uint8_t *p, int avail, int mode)
{
	pthread_once(&tables_once, init_tables);
	memset(i, 0, sizeof(*i));
	int pos = 0, seg = -1;
	bool opsz = false, adsz = false;
	if (avail > 15)
		avail = 15;
	/* legacy prefixes, then REX immediately before the opcode */
	for (;;) {
		if (pos >= avail)
			return avail == 15 ? -1 : 0;
		uint8_t b = p[pos];
		switch (b) {
		case 0x26: seg = SEG_ES; break;
		case 0x2e: seg = SEG_CS; break;
		case 0x36: seg = SEG_SS; break;
		case 0x3e: seg = SEG_DS; break;
		case 0x64: seg = SEG_FS; break;
		case 0x65: seg = SEG_GS; break;
		case 0x66: opsz = true; if (!i->opsel || i->opsel == 0x66) i->opsel = 0x66; break;
		case 0x67: adsz = true; break;
		case 0xf0: i->lock = 1; break;
		case 0xf2: case 0xf3: i->rep = b; i->opsel = b; break;
		default: goto prefixes_done;
		}
		pos++;
	}
prefixes_done:
	if (mode == MODE_64 && (p[pos] & 0xf0) == 0x40) {
		i->rex = p[pos++];
		if (pos >= avail)
			return avail == 15 ? -1 : 0;
	}
	if (mode == MODE_64) {
		i->asize = adsz ? 4 : 8;
		i->osize = (i->rex & 8) ? 8 : opsz ? 2 : 4;
	} else {
		bool big = mode == MODE_32;
		i->asize = (big ^ adsz) ? 4 : 2;
		i->osize = (big ^ opsz) ? 4 : 2;
	}
	uint16_t op = p[pos++], flags;
	if (op == 0x0f) {
		if (pos >= avail)
			return avail == 15 ? -1 : 0;
		op = 0x100 | p[pos++];
		if (op == 0x138 || op == 0x13a) {
			if (pos >= avail)
				return avail == 15 ? -1 : 0;
			uint16_t third = p[pos++];
			flags = M | (op == 0x13a ? IB : 0);
			op = (op == 0x138 ? 0x200 : 0x300) | third;
		} else {
			flags = two_byte[op & 0xff];
		}
	} else {
		flags = one_byte[op];
	}
	i->op = op;
	if (mode == MODE_64) {
		if ((flags & F64) || ((flags & D64) && !opsz))
			i->osize = 8;
		else if ((flags & D64) && opsz)
			i->osize = 2;
	}
	bool ss_default = false;
	if (flags & M) {
		int r = decode_modrm(i, p, pos, avail, &ss_default, mode == MODE_64);
		if (r < 0)
			return avail == 15 ? -1 : 0;
		pos = r;
	} else {
		i->mod = 3;
		i->rm = (op & 7) | ((i->rex & 1) << 3);
		i->reg = 0;
		i->base = i->index = NOREG;
	}
	int isz = 0;
	if (flags & IB)
		isz = 1;
	if (flags & IW)
		isz = 2;
	if (flags & IZ)
		isz = i->osize == 2 ? 2 : 4;
	if (flags & IV)
		isz = i->osize;
	if (flags & GRP3)
		isz = ((i->reg & 7) < 2) ? (op == 0xf6 ? 1 : (i->osize == 2 ? 2 : 4)) : 0;
	if (flags & MOF)
		isz = i->asize;
	if (flags & FAR)
		isz = i->osize == 2 ? 2 : 4;
	if (pos + isz > avail)
		return avail == 15 ? -1 : 0;
	i->imm = read_le(p + pos, isz);
	if (isz == 1 || (flags & (IZ | GRP3)))
		i->imm = sext(i->imm, isz);
	pos += isz;
	if ((flags & IW) && (flags & IB)) { /* ENTER iw, ib */
		if (pos + 1 > avail)
			return avail == 15 ? -1 : 0;
		i->imm2 = p[pos];
		pos += 1;
	}
	if (flags & FAR) {
		if (pos + 2 > avail)
			return avail == 15 ? -1 : 0;
		i->imm2 = (uint16_t)read_le(p + pos, 2);
		pos += 2;
	}
	if (seg >= 0)
		i->seg = seg;
	else
		i->seg = ss_default ? SEG_SS : SEG_DS;
	i->len = pos;
	i->fn = op_table[op];
	if (i->lock && !lockable(i)) {
		i->fn = ops_ud;
	} else if (!i->lock) {
		insn_fn f = alu_fast(i);
		if (!f)
			f = datamov_fast(i);
		if (f)
			i->fn = f;
	}
	return pos;
}

/* Control transfers and instructions that change how later bytes decode or
 * where they live end a block, so a block is straight-line code. */
bool insn_ends_block(const struct insn *i)
{
	uint16_t op = i->op;
	if (op < 0x100) {
		if ((op >= 0x70 && op <= 0x7f) || (op >= 0xc2 && op <= 0xc3) || (op >= 0xca && op <= 0xcf))
			return true;
		if ((op >= 0xe0 && op <= 0xe3) || (op >= 0xe8 && op <= 0xeb) || op == 0x9a)
			return true;
		if (op == 0xf4 || op == 0xfa || op == 0xfb || op == 0x9d || op == 0x8e || op == 0x17 ||
		    op == 0x07 || op == 0x1f || op == 0x62 || op == 0xce || op == 0xc4 || op == 0xc5)
			return true;
		if (op == 0xff && ((i->reg & 7) >= 2 && (i->reg & 7) <= 5))
			return true;
		if ((op >= 0xe4 && op <= 0xe7) || (op >= 0xec && op <= 0xef) || (op >= 0x6c && op <= 0x6f))
			return true;
		return false;
	}
	if (op >= 0x180 && op <= 0x18f)
		return true;
	if (op < 0x10b || (op >= 0x120 && op <= 0x123) || (op >= 0x130 && op <= 0x137) ||
	    op == 0x1a1 || op == 0x1a9 || op == 0x1a2 || op == 0x1aa || op == 0x1b2 ||
	    op == 0x1b4 || op == 0x1b5 || op == 0x1ae)
		return true;
	return false;
}
