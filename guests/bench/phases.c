/* The compute benchmark's phases (see phases.h). Sizes are per unit of
 * SCALE and were chosen so that one pass of all phases in both modes of the
 * guest takes QEMU TCG about 1.4 s on the project's machine when it is quiet. */
#include "phases.h"

/* FNV-1a step over a 32-bit value: folds a result into a checksum. */
static uint32_t mix(uint32_t h, uint32_t v)
{
	return (h ^ v) * 0x01000193u;
}

static uint32_t xorshift32(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static void fill_random(uint32_t *p, uint32_t words, uint32_t seed)
{
	for (uint32_t i = 0; i < words; i++)
		p[i] = xorshift32(&seed);
}

/* --- int: multiply, add, shift, rotate, 64-bit arithmetic, division ------- */
#define INT_ITERATIONS 12000000u

static uint32_t phase_int(uint8_t *work, uint32_t scale)
{
	(void)work;
	uint32_t x = 0x12345678u, acc = 0;
	uint64_t z = 0x9e3779b97f4a7c15ull;
	uint32_t n = INT_ITERATIONS * scale;
	for (uint32_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		uint32_t y = x ^ (x >> 13);
		acc += y * (i | 1);
		acc = (acc << 7) | (acc >> 25);
		z = z * 6364136223846793005ull + 1442695040888963407ull;
		acc ^= (uint32_t)(z >> 33);
		if ((i & 63) == 0)
			acc += x / ((i & 0xff) | 1);
	}
	return mix(mix(acc, x), (uint32_t)z);
}

/* --- memcpy: REP MOVSB at odd offsets, word-sized REP MOVS, a C loop ------ */
#define COPY_BYTES (256u << 10)
#define COPY_ROUNDS 6u

static void copy_movsb(void *d, const void *s, unsigned long n)
{
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

/* N bytes, a multiple of the word size, with MOVSL or MOVSQ. */
static void copy_movs_word(void *d, const void *s, unsigned long n)
{
#if defined(__x86_64__)
	n /= 8;
	__asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
#else
	n /= 4;
	__asm__ volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
#endif
}

static uint32_t sum_words(const uint32_t *p, uint32_t words, uint32_t h)
{
	for (uint32_t i = 0; i < words; i++)
		h = mix(h, p[i]);
	return h;
}

static uint32_t phase_memcpy(uint8_t *work, uint32_t scale)
{
	uint8_t *src = work, *dst = work + (1u << 20);
	uint32_t *s32 = (uint32_t *)src, *d32 = (uint32_t *)dst;
	uint32_t h = 0x811c9dc5u, rounds = COPY_ROUNDS * scale;
	fill_random(s32, COPY_BYTES / 4, 0xc0ffee11u);
	for (uint32_t r = 0; r < rounds; r++) {
		uint32_t n = COPY_BYTES - 64 - (r & 63);
		copy_movsb(dst + (r & 15), src + ((r * 7) & 31), n);
		h = mix(h, d32[(r * 997) % (COPY_BYTES / 4 - 32)]);
		copy_movs_word(dst, src, COPY_BYTES);
		h = mix(h, d32[(r * 4093) % (COPY_BYTES / 4)]);
		/* Not a plain copy, so the compiler keeps it a loop. */
		for (uint32_t i = 0; i < COPY_BYTES / 4; i++)
			d32[i] = s32[i] ^ (r + i);
		h = mix(h, d32[(r * 65521) % (COPY_BYTES / 4)]);
		copy_movs_word(src, dst, COPY_BYTES);
	}
	return sum_words(d32, COPY_BYTES / 4, h);
}

/* --- branch: Collatz trajectories (data-dependent branches, 64-bit values) */
#define COLLATZ_LIMIT 150000u

static uint32_t phase_branch(uint8_t *work, uint32_t scale)
{
	(void)work;
	uint32_t h = 0x811c9dc5u, longest = 0, longest_at = 0, odd_steps = 0;
	uint32_t limit = COLLATZ_LIMIT * scale;
	for (uint32_t start = 1; start <= limit; start++) {
		uint64_t v = start;
		uint32_t steps = 0;
		while (v != 1) {
			if (v & 1) {
				v = 3 * v + 1;
				odd_steps++;
			} else {
				v >>= 1;
			}
			steps++;
		}
		if (steps > longest) {
			longest = steps;
			longest_at = start;
		}
		h = mix(h, steps);
	}
	return mix(mix(mix(h, longest), longest_at), odd_steps);
}

/* --- interp: a register-machine interpreter (switch dispatch: indirect jumps) */
enum { OP_LI, OP_ADD, OP_MUL, OP_XOR, OP_SHR, OP_ANDI, OP_ADDI, OP_DEC, OP_JZ, OP_JNZ, OP_HALT };
struct insn {
	uint8_t op, a, b, c;
	uint32_t imm;
};
#define INTERP_LOOPS 500000u

static uint32_t interpret(const struct insn *prog, uint32_t *r)
{
	uint32_t pc = 0, executed = 0;
	for (;;) {
		const struct insn *i = &prog[pc++];
		executed++;
		switch (i->op) {
		case OP_LI: r[i->a] = i->imm; break;
		case OP_ADD: r[i->a] = r[i->b] + r[i->c]; break;
		case OP_MUL: r[i->a] = r[i->b] * r[i->c]; break;
		case OP_XOR: r[i->a] = r[i->b] ^ r[i->c]; break;
		case OP_SHR: r[i->a] = r[i->b] >> i->imm; break;
		case OP_ANDI: r[i->a] = r[i->b] & i->imm; break;
		case OP_ADDI: r[i->a] = r[i->b] + i->imm; break;
		case OP_DEC: r[i->a]--; break;
		case OP_JZ: if (!r[i->a]) pc = i->imm; break;
		case OP_JNZ: if (r[i->a]) pc = i->imm; break;
		default: return executed;
		}
	}
}

static uint32_t phase_interp(uint8_t *work, uint32_t scale)
{
	(void)work;
	const struct insn prog[] = {
		{ OP_LI, 0, 0, 0, INTERP_LOOPS * scale },	/* r0: loop counter */
		{ OP_LI, 1, 0, 0, 1 },				/* r1: accumulator */
		{ OP_LI, 2, 0, 0, 31 },
		{ OP_MUL, 1, 1, 2, 0 },				/* 3: loop */
		{ OP_ADD, 1, 1, 0, 0 },
		{ OP_SHR, 3, 1, 0, 3 },
		{ OP_XOR, 1, 1, 3, 0 },
		{ OP_ANDI, 4, 0, 0, 7 },
		{ OP_JZ, 4, 0, 0, 10 },
		{ OP_ADDI, 1, 1, 0, 0x9e37 },
		{ OP_DEC, 0, 0, 0, 0 },				/* 10 */
		{ OP_JNZ, 0, 0, 0, 3 },
		{ OP_HALT, 0, 0, 0, 0 },
	};
	uint32_t r[8] = { 0 };
	uint32_t executed = interpret(prog, r);
	return mix(mix(r[1], r[3]), executed);
}

/* --- sieve: Eratosthenes below LIMIT, for a range of limits ---------------- */
#define SIEVE_LIMIT 1000000u
#define SIEVE_ROUNDS 8u

/* Counts the primes below LIMIT with WORK as the flag array; *SUM gets their
 * sum modulo 2^32. */
static uint32_t sieve(uint8_t *flag, uint32_t limit, uint32_t *sum)
{
	uint32_t count = 0;
	for (uint32_t i = 0; i < limit; i++)
		flag[i] = 0;
	for (uint32_t i = 2; i * i < limit; i++)
		if (!flag[i])
			for (uint32_t j = i * i; j < limit; j += i)
				flag[j] = 1;
	*sum = 0;
	for (uint32_t i = 2; i < limit; i++)
		if (!flag[i]) {
			count++;
			*sum += i;
		}
	return count;
}

uint32_t primes_below_1m(uint8_t *work)
{
	uint32_t sum;
	return sieve(work, SIEVE_LIMIT, &sum);
}

static uint32_t phase_sieve(uint8_t *work, uint32_t scale)
{
	uint32_t h = 0x811c9dc5u, rounds = SIEVE_ROUNDS * scale;
	for (uint32_t r = 0; r < rounds; r++) {
		uint32_t sum, count = sieve(work, SIEVE_LIMIT - (r % 100) * 997, &sum);
		h = mix(mix(h, count), sum);
	}
	return h;
}

/* --- crc32: table-driven CRC-32 (IEEE 802.3, reflected) over 1 MiB -------- */
#define CRC_BYTES (1u << 20)
#define CRC_ROUNDS 16u

static void crc32_table(uint32_t *t)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		t[i] = c;
	}
}

static uint32_t crc32_update(const uint32_t *t, uint32_t crc, const uint8_t *p, uint32_t n)
{
	crc = ~crc;
	while (n--)
		crc = t[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t crc32_of(const uint8_t *p, uint32_t n)
{
	uint32_t t[256];
	crc32_table(t);
	return crc32_update(t, 0, p, n);
}

static uint32_t phase_crc32(uint8_t *work, uint32_t scale)
{
	uint32_t *t = (uint32_t *)work;
	uint8_t *data = work + 4096;
	uint32_t crc = 0, rounds = CRC_ROUNDS * scale;
	crc32_table(t);
	fill_random((uint32_t *)data, CRC_BYTES / 4, 0x5eed5eedu);
	for (uint32_t r = 0; r < rounds; r++)
		crc = crc32_update(t, crc, data + (r & 255), CRC_BYTES - 256);
	return crc;
}

/* --- string: REP STOS, REPE CMPS and REPNE SCAS over 256 KiB buffers ------ */
#define STRING_BYTES (256u << 10)
#define STRING_ROUNDS 24u

static void fill_stosl(void *d, uint32_t v, unsigned long words)
{
	__asm__ volatile("rep stosl" : "+D"(d), "+c"(words) : "a"(v) : "memory");
}

static void fill_stosb(void *d, uint8_t v, unsigned long n)
{
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(v) : "memory");
}

/* Bytes REPE CMPSB compared before the first difference (N if none). */
static unsigned long compare_cmpsb(const void *a, const void *b, unsigned long n)
{
	unsigned long left = n;
	__asm__ volatile("cld\n\trepe cmpsb" : "+S"(a), "+D"(b), "+c"(left) : : "memory", "cc");
	/* a difference stops it one byte past the differing pair */
	return left || ((const uint8_t *)a)[-1] != ((const uint8_t *)b)[-1] ? n - left - 1 : n;
}

/* Bytes REPNE SCASB scanned before the first V (N if none). */
static unsigned long scan_scasb(const void *p, uint8_t v, unsigned long n)
{
	unsigned long left = n;
	__asm__ volatile("repne scasb" : "+D"(p), "+c"(left) : "a"(v) : "memory", "cc");
	return left || ((const uint8_t *)p)[-1] == v ? n - left - 1 : n;
}

static uint32_t phase_string(uint8_t *work, uint32_t scale)
{
	uint8_t *a = work, *b = work + (1u << 20);
	uint32_t h = 0x811c9dc5u, rounds = STRING_ROUNDS * scale;
	for (uint32_t r = 0; r < rounds; r++) {
		uint32_t v = 0x01010101u * (r & 0x7f);
		fill_stosl(a, v, STRING_BYTES / 4);
		fill_stosl(b, v, STRING_BYTES / 4);
		/* an odd-length, odd-offset byte fill, then one differing byte */
		fill_stosb(b + 3 + r, (uint8_t)v, STRING_BYTES - 64 - 2 * r);
		uint32_t at = STRING_BYTES - 1 - r * 4099u % (STRING_BYTES / 2);
		b[at] = (uint8_t)(v + 1);
		a[STRING_BYTES - 1 - r] = 0xff;
		h = mix(h, (uint32_t)compare_cmpsb(a, b, STRING_BYTES));
		h = mix(h, (uint32_t)scan_scasb(a, 0xff, STRING_BYTES));
		h = mix(h, (uint32_t)scan_scasb(b, (uint8_t)(v + 1), STRING_BYTES));
	}
	return h;
}

/* --- tlb: read-modify-write of random words over 16 MiB: 4096 pages, more
 * than a software TLB holds, so most accesses miss in it ----------------- */
#define TLB_WORK_BYTES (16u << 20)
#define TLB_ACCESSES 3000000u

static uint32_t phase_tlb(uint8_t *work, uint32_t scale)
{
	uint32_t *w = (uint32_t *)work, seed = 0x2545f491u, h = 0x811c9dc5u;
	uint32_t n = TLB_ACCESSES * scale, mask = TLB_WORK_BYTES / 4 - 1;
	/* the same start in every run and mode (earlier phases and the other
	 * mode leave their data here), and every page touched once */
	fill_stosl(w, 0x5a5a5a5au, TLB_WORK_BYTES / 4);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = xorshift32(&seed) & mask;
		w[k] += i;
		h = mix(h, w[k ^ 1]);
	}
	return h;
}

const struct phase phases[PHASE_COUNT] = {
	{ "int", phase_int },
	{ "memcpy", phase_memcpy },
	{ "branch", phase_branch },
	{ "interp", phase_interp },
	{ "sieve", phase_sieve },
	{ "crc32", phase_crc32 },
	{ "string", phase_string },
	{ "tlb", phase_tlb },
	{ "fp", phase_fp },
};
