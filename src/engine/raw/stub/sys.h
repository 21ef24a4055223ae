/* The stub is freestanding (no libc: nothing of it may live below 4 GiB,
 * and it must not depend on FS for TLS, which belongs to the guest): raw
 * system calls, and the kernel's signal-frame layout as the x86-64 ABI
 * fixes it. */
#ifndef POPEK_RAW_STUB_SYS_H
#define POPEK_RAW_STUB_SYS_H

#include <stdint.h>

#define NR_mmap          9
#define NR_mprotect      10
#define NR_munmap        11
#define NR_rt_sigaction  13
#define NR_rt_sigprocmask 14
#define NR_rt_sigreturn  15
#define NR_exit          60
#define NR_sigaltstack   131
#define NR_modify_ldt    154
#define NR_prctl         157
#define NR_futex         202
#define NR_clock_gettime 228
#define NR_exit_group    231
#define NR_seccomp       317

static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static inline __attribute__((noreturn)) void sys_exit_group(int code)
{
	for (;;)
		sys6(NR_exit_group, code, 0, 0, 0, 0, 0);
}

/* siginfo_t: the fields the stub reads. */
struct k_siginfo {
	int32_t signo, errno_, code, pad;
	union {
		uint64_t addr;                        /* SIGSEGV, SIGBUS, SIGILL, SIGFPE */
		struct { uint64_t call_addr; int32_t syscall; uint32_t arch; } sys;  /* SIGSYS */
	};
	uint8_t rest[128 - 40];
};

/* struct sigcontext of x86-64 */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint8_t *fpstate;   /* FXSAVE/XSAVE image */
	uint64_t reserved[8];
};

struct k_ucontext {
	uint64_t flags;
	struct k_ucontext *link;
	struct { void *sp; int32_t flags; uint64_t size; } stack;
	struct k_sigcontext mc;
	uint64_t sigmask;
};

#define UC_SIGCONTEXT_SS     2
#define UC_STRICT_RESTORE_SS 4

struct k_sigaction {
	void *handler;
	uint64_t flags;
	void *restorer;
	uint64_t mask;
};
#define SA_SIGINFO  4
#define SA_ONSTACK  0x08000000
#define SA_RESTORER 0x04000000

/* The signals a guest raises, and popek's kick. */
#define SIG_ILL  4
#define SIG_TRAP 5
#define SIG_BUS  7
#define SIG_FPE  8
#define SIG_USR1 10
#define SIG_SEGV 11
#define SIG_SYS  31

int stub_seccomp(void);
void stub_trap(int sig, struct k_siginfo *si, struct k_ucontext *uc);

#endif
