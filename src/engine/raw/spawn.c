/* Starting, talking to and stopping the stub process. The stub is a
 * freestanding static executable embedded in popek (stub_image.S); it is
 * run from a memfd, so popek needs no file beside itself. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/raw/raw.h"
#include "intr.h"
#include "vm.h"

extern const uint8_t raw_stub_image[], raw_stub_image_end[];

#define WATCH_SLICES 20   /* of 1 ms */
#define RAW_SPIN 20000   /* pause loops before sleeping: some tens of microseconds */

static long futex(uint32_t *w, int op, uint32_t val, const struct timespec *t)
{
	return syscall(SYS_futex, w, op, val, t, NULL, 0);
}

/* Why the stub is gone, in words. */
static void reap(struct raw_cpu *r)
{
	int st;
	if (r->dead)
		return;
	if (waitpid(r->pid, &st, WNOHANG) != r->pid)
		return;
	r->dead = true;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		snprintf(r->why, sizeof(r->why), "raw: sandbox violation: guest code made a host "
			 "system call; seccomp killed the stub");
	else if (WIFSIGNALED(st))
		snprintf(r->why, sizeof(r->why), "raw: the stub process died of signal %d (%s)",
			 WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(r->why, sizeof(r->why), "raw: the stub process exited with status %d%s",
			 WEXITSTATUS(st), WEXITSTATUS(st) >= 120 ? " (it could not set itself up)" : "");
}

static int wait_report(struct raw_cpu *r, uint32_t done, bool run);

int raw_stub_start(struct raw_cpu *r, int memfd, char *err, size_t n)
{
	int img = memfd_create("popek-raw-stub", MFD_CLOEXEC);
	size_t len = (size_t)(raw_stub_image_end - raw_stub_image);
	if (img < 0 || write(img, raw_stub_image, len) != (ssize_t)len) {
		snprintf(err, n, "cannot stage the stub: %s", strerror(errno));
		if (img >= 0)
			close(img);
		return -1;
	}
	r->ctrl = mmap(NULL, RAW_CTRL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (r->ctrl == MAP_FAILED) {
		r->ctrl = NULL;
		snprintf(err, n, "cannot map the control page: %s", strerror(errno));
		close(img);
		return -1;
	}
	memset(r->ctrl, 0, sizeof(*r->ctrl));
	r->ctrl->tables_off = r->tables_off;
	r->ctrl->tables_size = r->tables_size;
	r->ctrl->npfn = (uint32_t)r->npfn;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, n, "fork: %s", strerror(errno));
		close(img);
		return -1;
	}
	if (pid == 0) {
		/* the child: fd 3 is guest memory, nothing else stays open */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(119);
		setsid();   /* the terminal's ^C is popek's to handle */
		if (dup2(memfd, RAW_FD) != RAW_FD)
			_exit(118);
		fcntl(RAW_FD, F_SETFD, 0);
		int top = (int)sysconf(_SC_OPEN_MAX);
		for (int fd = 0; fd < (top > 0 && top < 65536 ? top : 1024); fd++)
			if (fd != RAW_FD && fd != img)
				close(fd);
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		char *argv[] = { "popek-raw-stub", NULL };
		char *envp[] = { NULL };
		syscall(SYS_execveat, img, "", argv, envp, AT_EMPTY_PATH);
		_exit(117);
	}
	close(img);
	r->pid = pid;
	if (wait_report(r, 0, false) != 0 || r->ctrl->stop != RAW_STOP_READY) {
		snprintf(err, n, "the stub did not start: %s", r->why[0] ? r->why : "no READY report");
		return -1;
	}
	return 0;
}

void raw_stub_kick(struct raw_cpu *r)
{
	if (r->ctrl) {
		/* wakes the vCPU thread waiting for the stub (the value does not
		 * change: it wakes, sees the kick, and sends the signal) */
		futex(&r->ctrl->done_seq, FUTEX_WAKE, 1, NULL);
	}
}

/* True when the running guest should be interrupted: popek stops it, or
 * an interrupt waits that the guest's IF (the stub's vif while native)
 * lets in. irq_waiting is stored before vif is read, as the stub stores
 * vif before it reads irq_waiting (proto.h). */
static bool want_interrupt(struct raw_cpu *r)
{
	struct emu_cpu *c = r->c;
	struct raw_ctrl *k = r->ctrl;
	if (atomic_load(&c->kick) || atomic_load(&c->nmi))
		return true;
	if (!atomic_load(&c->irq) && intr_pending(c->vcpu) < 0)
		return false;
	__atomic_store_n(&k->irq_waiting, 1, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&k->vif, __ATOMIC_SEQ_CST);
}

/* Waits for the stub's next report (done_seq moving on from done); while
 * the guest runs, a due interrupt or a kick sends it SIGUSR1. */
static int wait_report(struct raw_cpu *r, uint32_t done, bool run)
{
	struct raw_ctrl *k = r->ctrl;
	bool signalled = false;
	unsigned slices = 0;
	struct timespec slice = { 0, 1000000 };   /* interrupt latency while native */
	/* most traps come back within microseconds: spin before sleeping */
	for (int n = 0; n < RAW_SPIN; n++) {
		if (__atomic_load_n(&k->done_seq, __ATOMIC_ACQUIRE) != done)
			return 0;
		__builtin_ia32_pause();
	}
	for (;;) {
		__atomic_store_n(&k->popek_sleeps, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&k->done_seq, __ATOMIC_SEQ_CST) != done) {
			k->popek_sleeps = 0;
			return 0;
		}
		long rc = futex(&k->done_seq, FUTEX_WAIT, done, &slice);
		k->popek_sleeps = 0;
		if (rc != 0 && errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
			snprintf(r->why, sizeof(r->why), "futex: %s", strerror(errno));
			return -1;
		}
		if (__atomic_load_n(&k->done_seq, __ATOMIC_ACQUIRE) != done)
			return 0;
		reap(r);
		if (r->dead)
			return -1;
		/* a look every WATCH_SLICES even when nothing is due: guest code
		 * that left compatibility mode and spins would not trap otherwise */
		if (run && !signalled && (want_interrupt(r) || ++slices % WATCH_SLICES == 0)) {
			kill(r->pid, SIGUSR1);
			signalled = true;
			r->st.kicks++;
		}
	}
}

int raw_stub_exchange(struct raw_cpu *r, bool run)
{
	struct raw_ctrl *k = r->ctrl;
	if (r->dead)
		return -1;
	uint32_t done = __atomic_load_n(&k->done_seq, __ATOMIC_ACQUIRE);
	k->run = run;
	k->stop = RAW_STOP_NONE;
	__atomic_add_fetch(&k->cmd_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&k->stub_sleeps, __ATOMIC_SEQ_CST))
		futex(&k->cmd_seq, FUTEX_WAKE, 1, NULL);
	return wait_report(r, done, run);
}

void raw_stub_stop(struct raw_cpu *r)
{
	if (r->pid > 0 && !r->dead) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	r->dead = true;
	if (r->ctrl)
		munmap(r->ctrl, RAW_CTRL_SIZE);
	r->ctrl = NULL;
}
