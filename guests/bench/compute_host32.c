/* The compute guest's phases as a 32-bit host process, the floor for the
 * raw engine (bench/run-raw): the same 32-bit code the guest's first half
 * runs, natively at ring 3 under Linux, timed per phase. Freestanding
 * (this machine has no 32-bit libc): i386 system calls through INT 0x80.
 * Usage: compute-host32 [SCALE] — prints "PHASE name host32 sum ns N". */
#include "phases.h"

static uint8_t work[PHASE_WORK_BYTES] __attribute__((aligned(64)));

static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

void *memcpy(void *d, const void *s, unsigned n);
void *memset(void *d, int c, unsigned n);
void *memcpy(void *d, const void *s, unsigned n)
{
	char *p = d;
	const char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}
void *memset(void *d, int c, unsigned n)
{
	char *p = d;
	while (n--)
		*p++ = (char)c;
	return d;
}

static uint64_t now_ns(void)
{
	struct { int32_t sec, nsec; } t;
	sys3(265 /* clock_gettime */, 1 /* CLOCK_MONOTONIC */, (long)&t, 0);
	return (uint64_t)t.sec * 1000000000ull + (uint32_t)t.nsec;
}

static char *put(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static char *put_num(char *p, uint64_t v, unsigned base, int width)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n < width)
		tmp[n++] = '0';
	while (n)
		*p++ = tmp[--n];
	return p;
}

static void run(uint32_t scale)
{
	for (unsigned i = 0; i < PHASE_COUNT; i++) {
		uint64_t t0 = now_ns();
		uint32_t sum = phases[i].run(work, scale);
		uint64_t t1 = now_ns();
		char line[96], *p = put(line, "PHASE ");
		p = put(p, phases[i].name);
		p = put(p, " host32 ");
		p = put_num(p, sum, 16, 8);
		p = put(p, " ns ");
		p = put_num(p, t1 - t0, 10, 1);
		*p++ = '\n';
		sys3(4 /* write */, 1, (long)line, p - line);
	}
}

void start_c(uint32_t *sp);
void start_c(uint32_t *sp)
{
	uint32_t scale = 1;
	if (sp[0] > 1) {
		const char *a = (const char *)(uintptr_t)sp[2];
		scale = 0;
		while (*a >= '0' && *a <= '9')
			scale = scale * 10 + (uint32_t)(*a++ - '0');
		if (!scale)
			scale = 1;
	}
	run(scale);
	sys3(1 /* exit */, 0, 0, 0);
}

__asm__(".globl _start\n_start:\n\tmovl %esp, %eax\n\tandl $-16, %esp\n\tsubl $12, %esp\n"
	"\tpushl %eax\n\tcall start_c\n\thlt\n");
