/* The stub's one trap handler, and with it the whole stub at run time:
 * every signal the guest raises lands here (on the alternate stack, in
 * 64-bit mode, with the guest's data selectors still loaded). It saves the
 * guest's registers into the control page, wakes popek, waits for its
 * command, applies the mapping and descriptor changes, and returns into
 * guest code with the registers popek wrote. */
#include "../proto.h"
#include "sys.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define XSTATE_MAGIC1 0x46505853u
#define SPIN 20000   /* pause loops: some tens of microseconds */

static struct raw_ctrl *const ctrl = (struct raw_ctrl *)RAW_CTRL_ADDR;
static int started;

/* 512 bytes, a word at a time (the frame's image is 64-byte aligned) */
static void copy_fx(void *dst, const void *src)
{
	uint64_t *d = dst;
	const uint64_t *q = src;
	for (int k = 0; k < 64; k++)
		d[k] = q[k];
}

static void save_fpu(const struct k_ucontext *uc)
{
	if (uc->mc.fpstate)
		copy_fx(ctrl->fx, uc->mc.fpstate);
}

static void load_fpu(struct k_ucontext *uc)
{
	uint8_t *fx = uc->mc.fpstate;
	if (!fx)
		return;
	copy_fx(fx, ctrl->fx);
	/* FXSAVE-format reserved bytes 464..511 hold the kernel's XSAVE marker;
	 * keep the ones the kernel wrote */
	/* an XSAVE frame restores x87/SSE from the image only when its
	 * header says they are in it */
	uint32_t magic = *(const uint32_t *)(const void *)(fx + 464);
	if (magic == XSTATE_MAGIC1)
		*(uint64_t *)(void *)(fx + 512) |= 3;
}

static void save_regs(const struct k_ucontext *uc)
{
	const struct k_sigcontext *m = &uc->mc;
	struct raw_regs *r = &ctrl->regs;
	r->gpr[0] = (uint32_t)m->rax;
	r->gpr[1] = (uint32_t)m->rcx;
	r->gpr[2] = (uint32_t)m->rdx;
	r->gpr[3] = (uint32_t)m->rbx;
	r->gpr[4] = (uint32_t)m->rsp;
	r->gpr[5] = (uint32_t)m->rbp;
	r->gpr[6] = (uint32_t)m->rsi;
	r->gpr[7] = (uint32_t)m->rdi;
	r->eip = (uint32_t)m->rip;
	r->eflags = (uint32_t)m->eflags;
	uint16_t s;
	__asm__ volatile("mov %%es, %0" : "=r"(s));
	r->sel[0] = s;
	r->sel[1] = m->cs;
	r->sel[2] = m->ss;
	__asm__ volatile("mov %%ds, %0" : "=r"(s));
	r->sel[3] = s;
	__asm__ volatile("mov %%fs, %0" : "=r"(s));
	r->sel[4] = s;
	__asm__ volatile("mov %%gs, %0" : "=r"(s));
	r->sel[5] = s;
}

static void load_regs(struct k_ucontext *uc)
{
	struct k_sigcontext *m = &uc->mc;
	const struct raw_regs *r = &ctrl->regs;
	m->rax = r->gpr[0];
	m->rcx = r->gpr[1];
	m->rdx = r->gpr[2];
	m->rbx = r->gpr[3];
	m->rsp = r->gpr[4];
	m->rbp = r->gpr[5];
	m->rsi = r->gpr[6];
	m->rdi = r->gpr[7];
	m->r8 = m->r9 = m->r10 = m->r11 = m->r12 = m->r13 = m->r14 = m->r15 = 0;
	m->rip = r->eip;
	m->eflags = r->eflags;
	m->cs = r->sel[1];
	m->ss = r->sel[2];
	uc->flags |= UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	/* the data selectors are not part of a 64-bit signal frame: load them
	 * here, and sigreturn leaves them alone */
	__asm__ volatile("mov %0, %%es" : : "r"(r->sel[0]));
	__asm__ volatile("mov %0, %%ds" : : "r"(r->sel[3]));
	__asm__ volatile("mov %0, %%fs" : : "r"(r->sel[4]));
	__asm__ volatile("mov %0, %%gs" : : "r"(r->sel[5]));
}

static int apply_ops(void)
{
	uint32_t n = ctrl->nops;
	if (n > RAW_MAX_OPS)
		n = RAW_MAX_OPS;
	for (uint32_t k = 0; k < n; k++) {
		const struct raw_op *o = &ctrl->ops[k];
		long rc = -22;
		if (o->kind == RAW_OP_MAP)
			rc = sys6(NR_mmap, (long)o->lin, (long)o->len, o->prot & 7,
				  0x11 /* MAP_SHARED|MAP_FIXED */, RAW_FD, (long)o->offset);
		else if (o->kind == RAW_OP_UNMAP)
			rc = sys3(NR_munmap, o->lin, o->len, 0);
		if (rc < 0 || (o->kind == RAW_OP_MAP && (uint64_t)rc != o->lin)) {
			ctrl->op_errno = (int32_t)-rc;
			ctrl->op_index = (int32_t)k;
			return -1;
		}
	}
	n = ctrl->ndescs;
	if (n > RAW_MAX_DESCS)
		n = RAW_MAX_DESCS;
	for (uint32_t k = 0; k < n; k++) {
		struct raw_desc d = ctrl->descs[k];
		long rc = sys3(NR_modify_ldt, 1, &d, sizeof(d));
		if (rc != 0) {
			ctrl->op_errno = (int32_t)-rc;
			ctrl->op_index = (int32_t)(RAW_MAX_OPS + k);
			return -1;
		}
	}
	ctrl->nops = ctrl->ndescs = 0;
	return 0;
}

/* Reports ctrl->stop to popek and waits for its next command. */
static void report_and_wait(void)
{
	uint32_t seen = __atomic_load_n(&ctrl->cmd_seq, __ATOMIC_ACQUIRE);
	__atomic_add_fetch(&ctrl->done_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ctrl->popek_sleeps, __ATOMIC_SEQ_CST))
		sys6(NR_futex, (long)&ctrl->done_seq, FUTEX_WAKE, 1, 0, 0, 0);
	/* popek usually answers within microseconds: spin before sleeping
	 * (a sleep and a cross-CPU wake-up cost tens of them here) */
	for (int k = 0; k < SPIN; k++) {
		if (__atomic_load_n(&ctrl->cmd_seq, __ATOMIC_ACQUIRE) != seen)
			return;
		__builtin_ia32_pause();
	}
	__atomic_store_n(&ctrl->stub_sleeps, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&ctrl->cmd_seq, __ATOMIC_SEQ_CST) == seen)
		sys6(NR_futex, (long)&ctrl->cmd_seq, FUTEX_WAIT, seen, 0, 0, 0);
	__atomic_store_n(&ctrl->stub_sleeps, 0, __ATOMIC_RELAXED);
}

/* RDTSC and RDTSCP (they trap through PR_SET_TSC): answered here from
 * the machine's clock, as emu would answer them, without waking popek.
 * True when done. */
static int answer_tsc(struct k_ucontext *uc)
{
	struct k_sigcontext *m = &uc->mc;
	if (!ctrl->tsc_fast || m->trapno != 13 || m->cs != ctrl->regs.sel[1])
		return 0;
	const uint8_t *ip = (const uint8_t *)(uint64_t)(uint32_t)(ctrl->cs_base + (uint32_t)m->rip);
	unsigned len;
	if (ip[0] == 0x0f && ip[1] == 0x31)
		len = 2;
	else if (ip[0] == 0x0f && ip[1] == 0x01 && ip[2] == 0xf9)
		len = 3;   /* the CPU fetched all three bytes: they are mapped */
	else
		return 0;
	struct { int64_t sec, nsec; } t;
	if (sys3(NR_clock_gettime, 1 /* CLOCK_MONOTONIC */, &t, 0) != 0)
		return 0;
	uint64_t tsc = ctrl->tsc_base + ((uint64_t)t.sec * 1000000000ull + (uint64_t)t.nsec - ctrl->clock_start);
	m->rax = (uint32_t)tsc;
	m->rdx = (uint32_t)(tsc >> 32);
	if (len == 3)
		m->rcx = ctrl->tsc_aux;
	m->rip = (uint32_t)(m->rip + len);
	ctrl->stub_answered++;
	return 1;
}

/* CLI and STI (#GP at ring 3 with IOPL 0), when the guest's CPL and
 * IOPL let them run: they only change the virtual IF. An STI goes to
 * popek when an interrupt waits (REM delivers it after the STI's shadow),
 * and so does an STI before a HLT (the shadow covers the HLT: an interrupt
 * taken between the two would leave the HLT sleeping). True when done. */
static int answer_if(struct k_ucontext *uc)
{
	struct k_sigcontext *m = &uc->mc;
	if (!ctrl->if_ok || m->trapno != 13 || m->cs != ctrl->regs.sel[1])
		return 0;
	const uint8_t *ip = (const uint8_t *)(uint64_t)(uint32_t)(ctrl->cs_base + (uint32_t)m->rip);
	if (ip[0] == 0xfa) {
		__atomic_store_n(&ctrl->vif, 0, __ATOMIC_SEQ_CST);
	} else if (ip[0] == 0xfb) {
		if ((((uint32_t)(uint64_t)ip + 1) & 0xfff) == 0 || ip[1] == 0xf4)
			return 0;   /* the next byte may be on a page not mapped, or a HLT */
		uint32_t was = ctrl->vif;
		__atomic_store_n(&ctrl->vif, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&ctrl->irq_waiting, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&ctrl->vif, was, __ATOMIC_SEQ_CST);
			return 0;
		}
	} else {
		return 0;
	}
	m->rip = (uint32_t)(m->rip + 1);
	ctrl->stub_if_answered++;
	return 1;
}

void stub_trap(int sig, struct k_siginfo *si, struct k_ucontext *uc)
{
	if (sig == SIG_SEGV && uc->mc.cs != 0x33 && (answer_tsc(uc) || answer_if(uc)))
		return;   /* straight back into the guest */
	if (uc->mc.cs == 0x33) {
		/* 64-bit code trapped: the stub's own entry once, else guest
		 * code that left compatibility mode. Never return to it. */
		ctrl->stop = started ? RAW_STOP_ESCAPE : RAW_STOP_READY;
		started = 1;
		ctrl->signo = sig;
		ctrl->addr = uc->mc.rip;
	} else {
		save_regs(uc);
		save_fpu(uc);
		ctrl->stop = sig == SIG_USR1 ? RAW_STOP_KICKED : RAW_STOP_SIGNAL;
		ctrl->signo = sig;
		ctrl->si_code = si->code;
		ctrl->trapno = (uint32_t)uc->mc.trapno;
		ctrl->err = (uint32_t)uc->mc.err;
		ctrl->addr = sig == SIG_SEGV && uc->mc.trapno == 14 ? uc->mc.cr2 : si->addr;
		ctrl->syscall_nr = sig == SIG_SYS ? (uint32_t)si->sys.syscall : 0;
	}
	for (;;) {
		report_and_wait();
		if (ctrl->exit_now)
			sys_exit_group(0);
		if (apply_ops() != 0) {
			ctrl->stop = RAW_STOP_OPFAIL;
			continue;
		}
		if (!ctrl->run) {
			ctrl->stop = RAW_STOP_NONE;
			continue;
		}
		/* never back into 64-bit code: after READY or ESCAPE there is
		 * no guest context but the one popek writes */
		if (ctrl->regs.sel[1] == 0x33 || !(ctrl->regs.sel[1] & 4))
			sys_exit_group(127);
		break;
	}
	load_regs(uc);
	load_fpu(uc);
}
