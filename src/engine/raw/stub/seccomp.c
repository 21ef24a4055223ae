/* The stub's sandbox. Once guest code can run, anything the process does
 * may be the guest's doing (a far jump to selector 0x33 reaches 64-bit
 * mode), so the filter allows exactly what the trap handler needs, with
 * the arguments checked where BPF can see them:
 *   - i386 system calls (INT 0x80 from guest code): SIGSYS, so popek
 *     gives them to the guest kernel;
 *   - mmap only of the guest-memory fd, fixed, below 4 GiB; munmap and
 *     mprotect only below 4 GiB; modify_ldt writes; futex on the control
 *     page; clock_gettime (RDTSC answered in the stub); rt_sigreturn; exit;
 *   - anything else, and any other ABI: the process dies, and popek reports
 *     a sandbox violation. */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>

#include "../proto.h"
#include "sys.h"

#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#define ARG_HI(n) (ARG_LO(n) + 4)
#define MAP_FIXED_ 0x10

/* The program is built at run time so that no jump offset is counted by
 * hand: a rule's "next rule" jump and every "kill unless" jump are patched
 * once their targets are known. */
static struct sock_filter prog_buf[96];
static int prog_n;
static int kills[32], nkills;

static int emit(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	struct sock_filter *f = &prog_buf[prog_n];
	f->code = code;
	f->k = k;
	f->jt = jt;
	f->jf = jf;
	return prog_n++;
}

static void load(uint32_t off)
{
	emit(BPF_LD | BPF_W | BPF_ABS, off, 0, 0);
}

static void kill_unless_eq(uint32_t k)
{
	kills[nkills++] = emit(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0);
}

/* Opens a rule for system call nr; rule_end() closes it with ALLOW. */
static int rule(uint32_t nr)
{
	load(offsetof(struct seccomp_data, nr));
	return emit(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 0);
}

static void rule_end(int at)
{
	emit(BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	prog_buf[at].jf = (uint8_t)(prog_n - at - 1);
}

int stub_seccomp(void)
{
	load(offsetof(struct seccomp_data, arch));
	emit(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, 1);
	emit(BPF_RET | BPF_K, SECCOMP_RET_TRAP, 0, 0);
	kill_unless_eq(AUDIT_ARCH_X86_64);

	static const uint32_t plain[] = { NR_rt_sigreturn, NR_exit_group, NR_exit, NR_clock_gettime };
	for (unsigned k = 0; k < sizeof(plain) / sizeof(plain[0]); k++)
		rule_end(rule(plain[k]));
	int r = rule(NR_futex);            /* only on the control page */
	load(ARG_HI(0));
	kill_unless_eq((uint32_t)(RAW_CTRL_ADDR >> 32));
	rule_end(r);
	r = rule(NR_modify_ldt);           /* writes only */
	load(ARG_LO(0));
	kill_unless_eq(1);
	rule_end(r);
	static const uint32_t low[] = { NR_munmap, NR_mprotect };
	for (unsigned k = 0; k < 2; k++) {  /* below 4 GiB */
		r = rule(low[k]);
		load(ARG_HI(0));
		kill_unless_eq(0);
		load(ARG_HI(1));
		kill_unless_eq(0);
		rule_end(r);
	}
	r = rule(NR_mmap);   /* of the guest-memory fd, fixed, below 4 GiB */
	load(ARG_HI(0));
	kill_unless_eq(0);
	load(ARG_HI(1));
	kill_unless_eq(0);
	load(ARG_LO(4));
	kill_unless_eq(RAW_FD);
	load(ARG_HI(4));
	kill_unless_eq(0);
	load(ARG_LO(3));
	emit(BPF_ALU | BPF_AND | BPF_K, MAP_FIXED_, 0, 0);
	kill_unless_eq(MAP_FIXED_);
	rule_end(r);
	int kill = emit(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	for (int k = 0; k < nkills; k++)
		prog_buf[kills[k]].jf = (uint8_t)(kill - kills[k] - 1);

	struct sock_fprog prog = { .len = (unsigned short)prog_n, .filter = prog_buf };
	if (sys3(NR_prctl, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0) != 0)
		return -1;
	return (int)sys3(NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}
