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

/* The monitor tables (proto.h), mapped read-only by stub_main. */
static const uint8_t *const tables = (const uint8_t *)RAW_TABLES_ADDR;
uint32_t stub_npfn;   /* set by stub_main: 0 when there are no tables */

static const struct raw_code_info *code_info(uint32_t lin, uint8_t need)
{
	uint32_t lp = lin >> 12;
	if (!stub_npfn || (tables[RAW_T_PST + lp] & need) != need)
		return 0;
	uint32_t pfn = ((const uint32_t *)(const void *)(tables + RAW_T_PPFN))[lp];
	if (pfn >= stub_npfn)
		return 0;
	return (const struct raw_code_info *)(const void *)(tables + RAW_T_CODE) + pfn;
}

/* The RAW_K_* of the patched instruction at linear lin, in the copy the
 * stub maps there now; RAW_K_NONE when the byte there is the guest's. */
static unsigned kind_at(uint32_t lin)
{
	const struct raw_code_info *ci = code_info(lin, SP_MAPPED | SP_X | SP_COPY);
	unsigned off = lin & 0xfff;
	return ci ? (ci->kind[off >> 1] >> (4 * (off & 1))) & 15 : RAW_K_NONE;
}

/* Is lin an instruction start the scanner followed, in a page mapped
 * executable now? Then native code may go there as a direct branch does. */
static int entry_ok(uint32_t lin)
{
	const struct raw_code_info *ci = code_info(lin, SP_MAPPED | SP_X);
	unsigned off = lin & 0xfff;
	return ci && (ci->scanned[off >> 3] >> (off & 7)) & 1;
}

static uint64_t *gpr_of(struct k_sigcontext *m, unsigned n)
{
	uint64_t *const r[8] = { &m->rax, &m->rcx, &m->rdx, &m->rbx, &m->rsp, &m->rbp, &m->rsi, &m->rdi };
	return r[n & 7];
}

/* The guest's stack, where the stub can touch it without faulting: a
 * 32-bit expand-up SS, the n bytes at ESP + off within its limit and in
 * pages mapped (writable, for a push) now, and no alignment checking.
 * The linear address, or -1. */
static int64_t stack_at(const struct k_sigcontext *m, int32_t off, uint32_t n, int write)
{
	uint64_t esp = (uint32_t)m->rsp;
	if (!ctrl->ss_ok || (m->eflags & (1u << 18)) || (int64_t)esp + off < 0 ||
	    esp + (uint64_t)(int64_t)off + n - 1 > ctrl->ss_limit)
		return -1;
	uint64_t lin = (uint64_t)ctrl->ss_base + esp + (uint64_t)(int64_t)off;
	if (lin + n > RAW_LINEAR_END)
		return -1;
	uint8_t need = write ? SP_MAPPED | SP_W : SP_MAPPED;
	if (!stub_npfn || (tables[RAW_T_PST + (lin >> 12)] & need) != need ||
	    (tables[RAW_T_PST + ((lin + n - 1) >> 12)] & need) != need)
		return -1;
	return (int64_t)lin;
}

static int push32(struct k_sigcontext *m, uint32_t v)
{
	int64_t lin = stack_at(m, -4, 4, 1);
	if (lin < 0)
		return 0;
	*(volatile uint32_t *)(uint64_t)lin = v;
	m->rsp = (uint32_t)m->rsp - 4;
	return 1;
}

#define NATIVE_FLAGS 0xcd5u   /* CF PF AF ZF SF DF OF: what native code holds */
#define EFLAGS_IF    0x200u
#define EFLAGS_RF    0x10000u

/* IRET to the same CS (so the same privilege level) with the flags only
 * changing as native code could, or IF: pops EIP, CS and EFLAGS. The
 * target must be an instruction the scanner has followed, and an IF that
 * comes on with an interrupt waiting goes to popek (as STI does). Reloading
 * CS from the guest's descriptor table is not done: the cached descriptor
 * is kept, which differs only for a guest that rewrote the entry of the
 * CS it runs on. */
static int iret_same(struct k_sigcontext *m)
{
	if (ctrl->eflags_rest & 0x4000u)   /* NT: a task return */
		return 0;
	int64_t lin = stack_at(m, 0, 12, 0);
	if (lin < 0)
		return 0;
	const volatile uint32_t *f = (const volatile uint32_t *)(uint64_t)lin;
	uint32_t eip = f[0], cs = f[1], fl = f[2];
	if ((cs & 0xffff) != ctrl->guest_sel[1] || ((fl | 2) & ~(NATIVE_FLAGS | EFLAGS_IF | EFLAGS_RF)) !=
							    (ctrl->eflags_rest & ~EFLAGS_RF))
		return 0;
	if (eip > ctrl->cs_limit || !entry_ok(ctrl->cs_base + eip))
		return 0;
	if (ctrl->if_ok && (fl & EFLAGS_IF)) {   /* CPL <= IOPL: IRET sets IF */
		uint32_t was = ctrl->vif;
		__atomic_store_n(&ctrl->vif, 1, __ATOMIC_SEQ_CST);
		if (!was && __atomic_load_n(&ctrl->irq_waiting, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&ctrl->vif, was, __ATOMIC_SEQ_CST);
			return 0;
		}
	} else if (ctrl->if_ok) {
		__atomic_store_n(&ctrl->vif, 0, __ATOMIC_SEQ_CST);
	}
	m->eflags = (m->eflags & ~(uint64_t)NATIVE_FLAGS) | (fl & NATIVE_FLAGS);
	m->rsp = (uint32_t)m->rsp + 12;
	m->rip = eip;
	return 1;
}

/* One instruction at EIP, if it is one the stub does itself: a patched
 * PUSHF, PUSH Sreg, IRET or JMP reg, and around them what keeps a run of
 * them going (CLI, PUSH/POP of a general register, PUSH imm32: Linux's
 * local_irq_save is PUSHF; POP; CLI, its sync_core PUSHF; PUSH CS; PUSH
 * imm; IRET). 1: done, go on; 2: done, control went elsewhere; 0: not
 * done, the CPU runs it. Only within the page EIP is in, which is mapped
 * executable (the instruction before ran there). */
static int step(struct k_sigcontext *m)
{
	uint32_t eip = (uint32_t)m->rip;
	uint32_t lin = ctrl->cs_base + eip;
	if ((lin & 0xfff) > 0xffa || eip > ctrl->cs_limit - 4 || ctrl->cs_limit < 4)
		return 0;
	const volatile uint8_t *ip = (const volatile uint8_t *)(uint64_t)lin;
	uint8_t b = ip[0];
	if (b == 0xfa && ctrl->if_ok) {   /* CLI: the copy's bytes are the guest's but 0xcc */
		__atomic_store_n(&ctrl->vif, 0, __ATOMIC_SEQ_CST);
		ctrl->stub_if_answered++;
		m->rip = eip + 1;
		return 1;
	}
	if (b >= 0x50 && b <= 0x57 && b != 0x54) {
		if (!push32(m, (uint32_t)*gpr_of(m, b & 7)))
			return 0;
		m->rip = eip + 1;
		return 1;
	}
	if (b >= 0x58 && b <= 0x5f && b != 0x5c) {
		int64_t at = stack_at(m, 0, 4, 0);
		if (at < 0)
			return 0;
		*gpr_of(m, b & 7) = *(const volatile uint32_t *)(uint64_t)at;
		m->rsp = (uint32_t)m->rsp + 4;
		m->rip = eip + 1;
		return 1;
	}
	if (b == 0x68) {
		uint32_t v = (uint32_t)ip[1] | (uint32_t)ip[2] << 8 | (uint32_t)ip[3] << 16 | (uint32_t)ip[4] << 24;
		if (!push32(m, v))
			return 0;
		m->rip = eip + 5;
		return 1;
	}
	if (b != 0xcc)
		return 0;
	unsigned kind = kind_at(lin);
	if (kind == RAW_K_PUSHF) {
		uint32_t fl = ((uint32_t)m->eflags & NATIVE_FLAGS) | ctrl->eflags_rest |
			      (__atomic_load_n(&ctrl->vif, __ATOMIC_SEQ_CST) ? EFLAGS_IF : 0);
		if (!push32(m, fl))
			return 0;
		m->rip = eip + 1;
		ctrl->stub_push_answered++;
		return 1;
	}
	if (kind >= RAW_K_PUSH_SREG && kind <= RAW_K_LAST) {
		unsigned seg = kind - RAW_K_PUSH_SREG;
		if (!push32(m, ctrl->guest_sel[seg]))
			return 0;
		m->rip = eip + (seg >= 4 ? 2 : 1);   /* FS, GS: 0F A0, 0F A8 */
		ctrl->stub_push_answered++;
		return 1;
	}
	if (kind == RAW_K_IRET) {
		if (!iret_same(m))
			return 0;
		ctrl->stub_iret_answered++;
		return 2;
	}
	if (kind == RAW_K_JMP_REG) {
		uint8_t modrm = ip[1];   /* the copy keeps all but the first byte */
		if ((modrm & 0xf8) != 0xe0)
			return 0;
		uint32_t t = (uint32_t)*gpr_of(m, modrm & 7);
		if (t > ctrl->cs_limit || !entry_ok(ctrl->cs_base + t))
			return 0;
		m->rip = t;
		ctrl->stub_jmp_answered++;
		return 2;
	}
	return 0;
}

/* After an instruction the stub answered: the few that follow, while they
 * are ones it does (each would trap, or sits between two that do). */
static void run_on(struct k_sigcontext *m)
{
	for (int n = 0; n < 8; n++) {
		int r = step(m);
		if (r)
			ctrl->stub_run_on++;
		if (r != 1)
			return;
	}
}

/* A patched instruction (the scanner's INT3; RIP is past it) that the
 * guest's own state answers (RAW_K_*, proto.h), and what follows it.
 * True when done. */
static int answer_patched(struct k_ucontext *uc)
{
	struct k_sigcontext *m = &uc->mc;
	if (m->trapno != 3 || m->cs != ctrl->regs.sel[1])
		return 0;
	uint64_t rip = m->rip;
	m->rip = (uint32_t)(rip - 1);
	int r = kind_at(ctrl->cs_base + (uint32_t)m->rip) > RAW_K_TRAP ? step(m) : 0;
	if (!r) {
		m->rip = rip;   /* popek sees the trap as the CPU reported it */
		return 0;
	}
	if (r == 1)
		run_on(m);
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
		m->rip = (uint32_t)(m->rip + 1);
		ctrl->stub_if_answered++;
		run_on(m);
		return 1;
	}
	if (ip[0] != 0xfb)
		return 0;
	uint32_t next = (uint32_t)(uint64_t)ip + 1;
	if ((next & 0xfff) == 0 || (ip[1] == 0xf4 && kind_at(next) == RAW_K_NONE))
		return 0;   /* the next byte may be on a page not mapped, or a HLT */
	uint32_t was = ctrl->vif;
	__atomic_store_n(&ctrl->vif, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&ctrl->irq_waiting, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&ctrl->vif, was, __ATOMIC_SEQ_CST);
		return 0;
	}
	m->rip = (uint32_t)(m->rip + 1);
	ctrl->stub_if_answered++;
	return 1;
}

void stub_trap(int sig, struct k_siginfo *si, struct k_ucontext *uc)
{
	if (sig == SIG_TRAP && uc->mc.cs != 0x33 && answer_patched(uc))
		return;
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
