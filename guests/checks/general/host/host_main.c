/* Host harness: runs the general-instruction checks as a plain Linux
 * process on the real CPU, to confirm hand-derived expectations for
 * user-level instructions. It implements report.h and fault.h itself and
 * uses no libc (raw system calls), so the same file builds -m64 and, even
 * without gcc multilib, -m32 (-nostdlib -static needs no 32-bit libc).
 * Not part of any guest. Build: make -f guests/checks/general/host/host.mk */
#include <stdarg.h>
#include "../general.h"
#include "../fault.h"

#ifdef __x86_64__
#define SYS_WRITE 1
#define SYS_RT_SIGACTION 13
#define SYS_EXIT_GROUP 231
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}
static long sys4(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return r;
}
#else
#define SYS_WRITE 4
#define SYS_RT_SIGACTION 174
#define SYS_EXIT_GROUP 252
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}
static long sys4(long n, long a, long b, long c, long d)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
	return r;
}
#endif

static void out(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	sys3(SYS_WRITE, 1, (long)s, (long)n);
}

static void out_hex(uint64_t v)
{
	char b[19];
	int i;
	b[0] = '0';
	b[1] = 'x';
	for (i = 0; i < 16; i++)
		b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
	b[18] = 0;
	out(b);
}

static void out_dec(unsigned v)
{
	char b[12];
	int i = 11;
	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out(b + i);
}

static unsigned passed, failed;

void report_pass(const char *name)
{
	passed++;
	out("PASS ");
	out(name);
	out("\n");
}

void report_fail(const char *name, const char *fmt, ...)
{
	failed++;
	out("FAIL ");
	out(name);
	out(": ");
	out(fmt);
	out("\n");
}

void check_eq(const char *name, uint64_t got, uint64_t want)
{
	if (got == want) {
		report_pass(name);
		return;
	}
	failed++;
	out("FAIL ");
	out(name);
	out(": expected ");
	out_hex(want);
	out(" got ");
	out_hex(got);
	out("\n");
}

void report_finish(void)
{
	out("SUMMARY ");
	out_dec(passed);
	out(" passed, ");
	out_dec(failed);
	out(" failed\n");
	sys3(SYS_EXIT_GROUP, failed ? 1 : 0, 0, 0);
	for (;;)
		;
}

/* guest_expect_fault on Linux: the signal handler rewrites the saved
 * context so that sigreturn lands in fault_recover with the stack pointer
 * guest_expect_fault had after saving its registers; the kernel's trapno
 * is the CPU's exception vector. */
void fault_recover(void);
void *fault_saved_sp;
uint8_t *fault_vector_ptr;

#ifdef __x86_64__
__asm__(".text\n"
	".globl guest_expect_fault\n"
	"guest_expect_fault:\n"
	"  push %rbx\n  push %rbp\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
	"  sub $8, %rsp\n"
	"  mov %rsi, fault_vector_ptr(%rip)\n"
	"  mov %rsp, fault_saved_sp(%rip)\n"
	"  call *%rdi\n"
	"  xor %eax, %eax\n"
	"  jmp 1f\n"
	".globl fault_recover\n"
	"fault_recover:\n"
	"  mov $1, %eax\n"
	"1: add $8, %rsp\n"
	"  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbp\n  pop %rbx\n"
	"  ret\n"
	"sig_restorer:\n"
	"  mov $15, %eax\n  syscall\n");
#define UC_SP 160
#define UC_IP 168
#define UC_TRAPNO 200
#else
__asm__(".text\n"
	".globl guest_expect_fault\n"
	"guest_expect_fault:\n"
	"  push %ebx\n  push %esi\n  push %edi\n  push %ebp\n"
	"  mov 24(%esp), %eax\n  mov %eax, fault_vector_ptr\n"
	"  mov 20(%esp), %eax\n"
	"  sub $12, %esp\n"
	"  mov %esp, fault_saved_sp\n"
	"  call *%eax\n"
	"  xor %eax, %eax\n"
	"  jmp 1f\n"
	".globl fault_recover\n"
	"fault_recover:\n"
	"  mov $1, %eax\n"
	"1: add $12, %esp\n"
	"  pop %ebp\n  pop %edi\n  pop %esi\n  pop %ebx\n"
	"  ret\n"
	"sig_restorer:\n"
	"  mov $173, %eax\n  int $0x80\n");
#define UC_SP 48
#define UC_IP 76
#define UC_TRAPNO 68
#endif
void sig_restorer(void);

static void on_fault(int sig, void *info, void *ucv)
{
	char *uc = ucv;
	(void)sig;
	(void)info;
	*fault_vector_ptr = (uint8_t) * (ulong *)(uc + UC_TRAPNO);
	*(ulong *)(uc + UC_IP) = (ulong)fault_recover;
	*(ulong *)(uc + UC_SP) = (ulong)fault_saved_sp;
}

struct k_sigaction {
	void *handler;
	ulong flags;
	void *restorer;
	uint32_t mask[2];
};

static void catch_faults(void)
{
	static const int sigs[] = { 4 /* SIGILL */, 8 /* SIGFPE */, 11 /* SIGSEGV */, 7 /* SIGBUS */ };
	struct k_sigaction sa = { (void *)on_fault, 0x04000000UL /* SA_RESTORER */ | 4UL /* SA_SIGINFO */,
				  (void *)sig_restorer, { 0, 0 } };
	size_t i;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sys4(SYS_RT_SIGACTION, sigs[i], (long)&sa, 0, 8);
}

void host_main(void);
void host_main(void)
{
	catch_faults();
#ifdef __x86_64__
	general_checks_64();
#else
	general_checks_32();
#endif
	report_finish();
}

#ifdef __x86_64__
__asm__(".text\n.globl _start\n_start:\n  xor %ebp, %ebp\n  and $-16, %rsp\n  call host_main\n  hlt\n");
#else
__asm__(".text\n.globl _start\n_start:\n  xor %ebp, %ebp\n  and $-16, %esp\n  call host_main\n  hlt\n");
#endif
