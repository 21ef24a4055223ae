/* The raw engine's stub: the process whose address space is the guest's.
 * popek starts it with the guest-memory memfd as fd 3 (see ../proto.h).
 * It maps the control page, installs its trap handler on an alternate
 * stack (guest ESP is nothing the host can push onto), makes RDTSC trap,
 * seals itself with seccomp, and enters the handler once; from then on
 * every guest trap is a signal whose handler reports to popek and returns
 * into guest code as popek says. */
#include "../proto.h"
#include "sys.h"

void *memcpy(void *d, const void *s, unsigned long n);
void *memset(void *d, int c, unsigned long n);

/* The compiler may call these for structure copies. */
void *memcpy(void *d, const void *s, unsigned long n)
{
	uint8_t *p = d;
	const uint8_t *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

void *memset(void *d, int c, unsigned long n)
{
	uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

extern uint32_t stub_npfn;
static struct raw_ctrl *const ctrl = (struct raw_ctrl *)RAW_CTRL_ADDR;

static uint8_t altstack[256 * 1024] __attribute__((aligned(64)));

void stub_restorer(void);
__asm__(".text\n.globl stub_restorer\nstub_restorer:\n\tmov $15, %eax\n\tsyscall\n\tud2\n");

void stub_main(void);
__asm__(".text\n.globl _start\n_start:\n\txor %ebp, %ebp\n\tand $-16, %rsp\n\tcall stub_main\n\tud2\n");

static void die(int code)
{
	sys_exit_group(code);
}

void stub_main(void)
{
	long p = sys6(NR_mmap, (long)RAW_CTRL_ADDR, RAW_CTRL_SIZE, 3 /* RW */,
		      0x11 /* MAP_SHARED|MAP_FIXED */, RAW_FD, 0);
	if (p != (long)RAW_CTRL_ADDR)
		die(120);
	/* the monitor tables, read-only: what the trap handler answers from */
	if (ctrl->tables_size) {
		p = sys6(NR_mmap, (long)RAW_TABLES_ADDR, (long)ctrl->tables_size, 1 /* R */,
			 0x11 /* MAP_SHARED|MAP_FIXED */, RAW_FD, (long)ctrl->tables_off);
		if (p != (long)RAW_TABLES_ADDR)
			die(128);
		stub_npfn = ctrl->npfn;
	}
	struct { void *sp; int32_t flags; uint64_t size; } ss = { altstack, 0, sizeof(altstack) };
	if (sys3(NR_sigaltstack, &ss, 0, 0) != 0)
		die(121);
	struct k_sigaction sa = {
		.handler = (void *)stub_trap,
		.flags = SA_SIGINFO | SA_ONSTACK | SA_RESTORER,
		.restorer = (void *)stub_restorer,
		.mask = ~0ull,   /* a kick arriving while popek answers waits for the guest */
	};
	static const int sigs[] = { SIG_ILL, SIG_TRAP, SIG_BUS, SIG_FPE, SIG_USR1, SIG_SEGV, SIG_SYS };
	for (unsigned k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		if (sys6(NR_rt_sigaction, sigs[k], (long)&sa, 0, 8, 0, 0) != 0)
			die(122);
	/* every other signal stays blocked: the stub has no use for them */
	uint64_t block = ~0ull;
	for (unsigned k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		block &= ~(1ull << (sigs[k] - 1));
	if (sys6(NR_rt_sigprocmask, 0 /* SIG_BLOCK */, (long)&block, 0, 8, 0, 0) != 0)
		die(123);
	if (sys3(NR_prctl, 26 /* PR_SET_TSC */, 2 /* PR_TSC_SIGSEGV */, 0) != 0)
		die(124);
	if (stub_seccomp() != 0)
		die(125);
	/* the first trap comes from here, in 64-bit code: the handler reports
	 * READY and never returns to it */
	__asm__ volatile("ud2");
	die(126);
}
