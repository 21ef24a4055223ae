/* Can this host run 32-bit code natively at all? Everything raw does rests
 * on one move: a far jump to a 32-bit code segment in the process's LDT.
 * A kernel can have modify_ldt and still not honour it — seen under the
 * PVM hypervisor, whose guest kernel (with 32-bit emulation switched off)
 * accepts the descriptor and then takes #GP on the jump. The syscalls
 * answer nothing, so the only true test is the jump itself, made once in
 * a throwaway child: compat-mode code there runs INT3, and the SIGTRAP
 * handler checks it came from the LDT selector. */
#include <asm/ldt.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "engine/raw/raw.h"

#define PROBE_SEL 0x7   /* LDT index 0, RPL 3 */

enum { PROBE_OK = 0, PROBE_WRONG_CS = 1, PROBE_FAULT = 2, PROBE_SETUP = 3 };

static void probe_trap(int sig, siginfo_t *si, void *uc_)
{
	(void)si;
	const ucontext_t *uc = uc_;
	unsigned cs = (unsigned)(uc->uc_mcontext.gregs[REG_CSGSFS] & 0xffff);
	_exit(sig == SIGTRAP && cs == PROBE_SEL ? PROBE_OK : sig == SIGTRAP ? PROBE_WRONG_CS : PROBE_FAULT);
}

/* The child: only async-signal-safe calls, popek may have threads. */
static void probe_child(void)
{
	static uint8_t altstack[16384];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = probe_trap;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	if (sigaltstack(&ss, NULL) < 0 || sigaction(SIGTRAP, &sa, NULL) < 0 ||
	    sigaction(SIGSEGV, &sa, NULL) < 0 || sigaction(SIGILL, &sa, NULL) < 0 ||
	    sigaction(SIGBUS, &sa, NULL) < 0)
		_exit(PROBE_SETUP);
	uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (code == MAP_FAILED || (uintptr_t)code >= (1ull << 32))
		_exit(PROBE_SETUP);
	code[0] = 0xcc;
	struct user_desc d;
	memset(&d, 0, sizeof(d));
	d.entry_number = 0;
	d.limit = 0xfffff;
	d.seg_32bit = 1;
	d.contents = MODIFY_LDT_CONTENTS_CODE;
	d.limit_in_pages = 1;
	d.useable = 1;
	if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0)
		_exit(PROBE_SETUP);
	struct __attribute__((packed)) { uint32_t off; uint16_t sel; } far = {
		(uint32_t)(uintptr_t)code, PROBE_SEL };
	__asm__ volatile("ljmp *%0" : : "m"(far) : "memory");
	_exit(PROBE_FAULT);
}

int raw_host_runs_compat(char *why, size_t n)
{
	static int known = -1;     /* 0 yes, 1 no: the answer never changes */
	static char known_why[200];
	if (known < 0) {
		pid_t pid = fork();
		if (pid < 0) {
			snprintf(why, n, "could not fork to probe 32-bit code: %s", strerror(errno));
			return -1;    /* not remembered: may work next time */
		}
		if (pid == 0)
			probe_child();
		int st = 0;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		int code = WIFEXITED(st) ? WEXITSTATUS(st) : PROBE_SETUP;
		known = code != PROBE_OK;
		if (code == PROBE_FAULT)
			snprintf(known_why, sizeof(known_why),
				 "this host cannot run 32-bit code natively: a far jump to a 32-bit code "
				 "segment of the process's LDT faults (the host kernel does not load LDT "
				 "code segments; seen under the PVM hypervisor)");
		else if (code != PROBE_OK)
			snprintf(known_why, sizeof(known_why),
				 "this host cannot run 32-bit code natively: the probe of a 32-bit code "
				 "segment failed (%s %d)", WIFEXITED(st) ? "status" : "signal",
				 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	if (known)
		snprintf(why, n, "%s", known_why);
	return known ? -1 : 0;
}
