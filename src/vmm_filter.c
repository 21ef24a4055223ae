/* The VMM's own seccomp filter, as Firecracker has: once the machine is
 * built and its threads run, popek needs only a few dozen system calls —
 * reading and writing its descriptors, KVM and terminal ioctls, futexes,
 * memory management for malloc and the engines, timers, signals between
 * its own threads and the raw engine's stub, and exit. Anything else (open,
 * execve, socket, ptrace, ...) kills the process: a guest that took over a
 * device model or an engine gets no further than that list.
 *
 * Hand-written BPF (no libseccomp): x86-64 only, the x32 ABI refused, one
 * comparison per allowed number, and ioctl checked by request: KVM's
 * (type 0xAE) and the terminal's. The filter goes in with
 * SECCOMP_FILTER_FLAG_TSYNC so every thread popek has started gets it. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vmm_filter.h"

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000u
#endif

/* What the run loop, the devices and every engine do after setup. */
static const int run_calls[] = {
	SYS_read, SYS_write, SYS_pread64, SYS_pwrite64, SYS_readv, SYS_writev, SYS_close,
	SYS_lseek, SYS_fstat, SYS_newfstatat, SYS_poll, SYS_ppoll,
	SYS_dup, SYS_fcntl,       /* --stats prints through fdopen(dup(2)) and dprintf */
	SYS_sysinfo,              /* glibc qsort (the --stats tables) sizes its buffer by RAM */
	SYS_mmap, SYS_munmap, SYS_mprotect, SYS_madvise, SYS_mremap, SYS_brk,
	SYS_futex, SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep, SYS_gettimeofday,
	SYS_sched_yield, SYS_getpid, SYS_gettid,
	SYS_rt_sigprocmask, SYS_rt_sigtimedwait, SYS_rt_sigreturn, SYS_tgkill, SYS_tkill,
	SYS_kill,                 /* the raw engine's stub: kicks and the final SIGKILL */
	SYS_wait4, SYS_waitid,    /* ... and reaping it */
	SYS_rseq, SYS_set_robust_list, /* a new thread registers both as it starts; rseq goes as it ends */
	SYS_restart_syscall, SYS_exit, SYS_exit_group,
	SYS_preadv, SYS_pwritev, SYS_fdatasync, SYS_fallocate, /* virtio-blk on its image */
	SYS_getrandom,            /* virtio-rng */
};

/* Only with --net user: libslirp opens a host socket for each guest
 * connection or UDP flow and accepts on its hostfwd listeners. */
static const int socket_calls[] = {
	SYS_socket, SYS_connect, SYS_accept, SYS_shutdown,
	SYS_setsockopt, SYS_getsockopt, /* non-blocking setup, SO_ERROR after a connect */
	SYS_getpeername,          /* ... whether a connect went through */
	SYS_sendto, SYS_recvfrom, /* send() and recv() on those sockets */
	SYS_recvmsg,              /* ... and their ICMP errors (MSG_ERRQUEUE) */
};

/* The sanitizer runtime at exit (LeakSanitizer stops the world with a
 * traced clone and reads /proc) and when it reports: only in the ASan
 * build, which tests run; execve, socket and the like stay out. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_CALLS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_CALLS 1
#endif
#endif
#ifdef SANITIZER_CALLS
static const int sanitizer_calls[] = {
	SYS_clone, SYS_ptrace, SYS_prctl, SYS_openat, SYS_open, SYS_getdents, SYS_getdents64, SYS_readlink,
	SYS_readlinkat, SYS_sigaltstack, SYS_rt_sigaction, SYS_sched_getaffinity,
	SYS_prlimit64, SYS_getrlimit, SYS_stat, SYS_lstat, SYS_statx, SYS_access,
	SYS_faccessat, SYS_uname, SYS_getppid, SYS_pipe2, SYS_dup2,
};
#endif

/* Terminal requests the console makes (isatty, raw mode and back). */
static const unsigned tty_ioctls[] = { TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCGPGRP,
	FIONREAD,   /* ... and libslirp's, before it reads a UDP socket */
};

#define MAX_INSNS 256
struct prog {
	struct sock_filter f[MAX_INSNS];
	unsigned n;
};

static void emit(struct prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (p->n < MAX_INSNS)
		p->f[p->n++] = (struct sock_filter){ code, jt, jf, k };
}

#define LD_NR   offsetof(struct seccomp_data, nr)
#define LD_ARCH offsetof(struct seccomp_data, arch)
#define LD_ARG1 offsetof(struct seccomp_data, args[1])   /* low half on x86-64 */

static void allow_list(struct prog *p, const int *nr, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr[i], 0, 1);
		emit(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	}
}

static void build(struct prog *p, bool sockets)
{
	p->n = 0;
	emit(p, BPF_LD | BPF_W | BPF_ABS, LD_ARCH, 0, 0);
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	emit(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	emit(p, BPF_LD | BPF_W | BPF_ABS, LD_NR, 0, 0);
	/* x32 numbers have bit 30 set: not ours */
	emit(p, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
	emit(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	allow_list(p, run_calls, sizeof(run_calls) / sizeof(run_calls[0]));
	if (sockets)
		allow_list(p, socket_calls, sizeof(socket_calls) / sizeof(socket_calls[0]));
#ifdef SANITIZER_CALLS
	allow_list(p, sanitizer_calls, sizeof(sanitizer_calls) / sizeof(sanitizer_calls[0]));
#endif
	/* ioctl: the request decides */
	unsigned ntty = sizeof(tty_ioctls) / sizeof(tty_ioctls[0]);
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, (uint8_t)(4 + 2 * ntty));
	emit(p, BPF_LD | BPF_W | BPF_ABS, LD_ARG1, 0, 0);
	for (unsigned i = 0; i < ntty; i++) {
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, tty_ioctls[i], 0, 1);
		emit(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	}
	emit(p, BPF_ALU | BPF_AND | BPF_K, 0xff00, 0, 0);          /* _IOC_TYPE */
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0xAE00, 0, 1);          /* KVMIO */
	emit(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
	emit(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
}

unsigned vmm_filter_length(bool sockets)
{
	struct prog p;
	build(&p, sockets);
	return p.n;
}

int vmm_filter_install(bool sockets, char *err, size_t n)
{
	/* glibc's time conversions (the RTC's gmtime_r and timegm) load the
	 * time zone on first use, opening /etc/localtime: do it now */
	tzset();
	static struct prog p;
	build(&p, sockets);
	if (p.n >= MAX_INSNS) {
		snprintf(err, n, "the VMM's seccomp filter does not fit its buffer");
		return -1;
	}
	struct sock_fprog prog = { .len = (unsigned short)p.n, .filter = p.f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, n, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
	if (r != 0) {
		snprintf(err, n, "installing the seccomp filter: %s",
			 r > 0 ? "another thread has a different filter" : strerror(errno));
		return -1;
	}
	return 0;
}
