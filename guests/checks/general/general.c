/* Entry points of the general-instruction checks and the helpers every
 * family shares. */
#include "general.h"

#ifdef __x86_64__
#define MODE_PREFIX "m64/"
#else
#define MODE_PREFIX "m32/"
#endif

/* report.h prints the name at once, so one buffer is enough. */
static char name_buf[96];

static const char *mode_name(const char *name)
{
	size_t i = 0, j = 0;
	const char *p = MODE_PREFIX;
	while (p[j] && i < sizeof(name_buf) - 1)
		name_buf[i++] = p[j++];
	for (j = 0; name[j] && i < sizeof(name_buf) - 1; j++)
		name_buf[i++] = name[j];
	name_buf[i] = 0;
	return name_buf;
}

void GEN(gen_check_n)(const char *name, int n, const uint64_t *got, const uint64_t *want)
{
	int i;
	for (i = 0; i < n; i++)
		if (got[i] != want[i]) {
			check_eq(mode_name(name), got[i], want[i]);
			return;
		}
	report_pass(mode_name(name));
}

void GEN(gen_check)(const char *name, uint64_t got, uint64_t want)
{
	check_eq(mode_name(name), got, want);
}

void GEN(gen_cpuid)(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	/* EBX may be the PIC register in some builds, so it is saved by hand. */
	uint32_t a, b, c, d;
	__asm__ volatile("xchg %%ebx, %k1\n\tcpuid\n\txchg %%ebx, %k1"
			 : "=a"(a), "=&r"(b), "=c"(c), "=d"(d)
			 : "a"(leaf), "c"(sub));
	r[0] = a;
	r[1] = b;
	r[2] = c;
	r[3] = d;
}

/* The runtime's stack alignment is not known here; the compiler may keep
 * 16-byte aligned SSE data on the stack, so the entry realigns it. */
__attribute__((force_align_arg_pointer)) static void run_all(void)
{
	GEN(alu_checks)();
	GEN(shift_checks)();
	GEN(muldiv_checks)();
	GEN(bcd_checks)();
	GEN(bits_checks)();
	GEN(atomic_checks)();
	GEN(misc_checks)();
	GEN(string_checks)();
	GEN(x87_checks)();
	GEN(sse_checks)();
}

#ifdef __x86_64__
__attribute__((force_align_arg_pointer)) void general_checks_64(void)
{
	run_all();
}
#else
__attribute__((force_align_arg_pointer)) void general_checks_32(void)
{
	run_all();
}
#endif
