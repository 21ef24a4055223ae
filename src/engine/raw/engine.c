/* The raw engine's face to the machine and its run loop: native runs in
 * the stub while the virtual CPU is in a state the host can run at ring 3
 * (32-bit protected mode, no single-stepping, no pending event), REM (emu)
 * for everything else and for the one instruction after each trap. */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "engine/raw/raw.h"
#include "intr.h"
#include "vm.h"

extern const struct engine engine_emu;

/* Arithmetic flags and DF: what native code changes by itself. */
#define NATIVE_FLAGS (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF | RFLAGS_DF)
/* What the guest's flags give native code (IF stays on in the host,
 * IOPL 0 makes CLI/STI/IN/OUT trap; the guest's IF is the virtual one). */
#define ENTRY_FLAGS (NATIVE_FLAGS | RFLAGS_AC | RFLAGS_ID | RFLAGS_NT)

static struct emu_cpu *emu_of(struct vcpu *v)
{
	return v->engine_priv;
}

static struct raw_cpu *raw_of(struct vcpu *v)
{
	return v->engine_priv ? emu_of(v)->outer : NULL;
}

static int raw_available(char *why, size_t n)
{
#ifndef __x86_64__
	snprintf(why, n, "the raw engine needs an x86-64 host");
	return -1;
#else
	uint8_t buf[16];
	if (syscall(SYS_modify_ldt, 0, buf, sizeof(buf)) < 0 && errno == ENOSYS) {
		snprintf(why, n, "this host kernel has no modify_ldt (CONFIG_MODIFY_LDT_SYSCALL), "
			 "which guest code segments need");
		return -1;
	}
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
		snprintf(why, n, "this host kernel has no seccomp, which the stub's sandbox needs");
		return -1;
	}
	return raw_host_runs_compat(why, n);
#endif
}

/* 32-bit protected mode: code raw runs natively, once nothing else is in
 * the way (below). */
static bool native_mode(const struct emu_cpu *c)
{
	return c->pe && !c->v86 && !c->long_mode && c->s.seg[SEG_CS].db;
}

/* Can the virtual CPU's state run natively at ring 3? */
static bool native_ok(const struct emu_cpu *c)
{
	const struct cpu_state *s = &c->s;
	if (!native_mode(c))
		return false;
	if (s->rflags & (RFLAGS_TF | RFLAGS_VM))
		return false;
	if (s->cr0 & (CR0_TS | CR0_EM))   /* FPU instructions must fault */
		return false;
	if (s->dr[7] & 0xff)
		return false;
	if (s->events.halted || s->events.interrupt_shadow || s->events.exception_pending)
		return false;
	if (!raw_segment_ok(&s->seg[SEG_CS], SEG_CS) || !raw_segment_ok(&s->seg[SEG_SS], SEG_SS))
		return false;
	/* an exit emu has not finished */
	if (c->io_in_pending || c->io_in_ready || c->mmio_read_pending || c->mmio_nlog || c->wq_n)
		return false;
	return true;
}

/* An interrupt, NMI or stop that REM must take first, with the guest's
 * IF given. */
static bool events_due_if(struct emu_cpu *c, bool vif)
{
	if (atomic_load(&c->kick) || atomic_load(&c->nmi))
		return true;
	if (!vif)
		return false;
	return atomic_load(&c->irq) || intr_pending(c->vcpu) >= 0;
}

static bool events_due(struct emu_cpu *c)
{
	return events_due_if(c, c->s.rflags & RFLAGS_IF);
}

static bool rem_done(struct emu_cpu *c)
{
	/* one instruction at a time only where native code may follow: REM
	 * that ran into long mode or real mode translates again */
	c->rem_single = native_mode(c);
	return c->rem_single && native_ok(c) && !events_due(c);
}

static void raw_watch_write(void *opaque, uint64_t pfn)
{
	raw_code_drop(opaque, pfn);
}

static void raw_code_added(void *opaque, uint64_t pfn)
{
	if (opaque)
		raw_revoke_write(opaque, pfn);
}

/* The memfd past guest RAM: the patch pages, then the monitor tables. */
static uint64_t patch_offset(const struct guest_mem *m)
{
	return (RAW_RAM_OFFSET + m->ram_size + 4095) & ~4095ull;
}

static uint64_t tables_offset(const struct guest_mem *m)
{
	return patch_offset(m) + (uint64_t)RAW_PATCH_PAGES * 4096;
}

static int raw_vm_create(struct vm *vm, char *err, size_t n)
{
	if (engine_emu.vm_create(vm, err, n) != 0)
		return -1;
	struct emu_vm *v = vm->engine_priv;
	v->watch = calloc(v->npages ? v->npages : 1, 1);
	if (!v->watch) {
		snprintf(err, n, "out of memory for the code-page watch");
		return -1;
	}
	v->watch_write = raw_watch_write;
	v->code_added = raw_code_added;
	if (ftruncate(vm->mem.fd, (off_t)(tables_offset(&vm->mem) +
					  raw_tables_size(raw_guest_npfn(&vm->mem)))) != 0) {
		snprintf(err, n, "cannot size patch memory: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void raw_vm_destroy(struct vm *vm)
{
	struct emu_vm *v = vm->engine_priv;
	if (v) {
		free(v->watch);
		v->watch = NULL;
	}
	engine_emu.vm_destroy(vm);
}

static void raw_vcpu_destroy(struct vcpu *cpu);

static int raw_vcpu_create(struct vcpu *cpu, char *err, size_t n)
{
	if (cpu->index > 0) {
		snprintf(err, n, "the raw engine runs one vCPU");
		return -1;
	}
	if (engine_emu.vcpu_create(cpu, err, n) != 0)
		return -1;
	struct emu_cpu *c = emu_of(cpu);
	struct raw_cpu *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	r->c = c;
	r->vm = cpu->vm;
	c->outer = r;
	c->rem_done = rem_done;
	c->evm->watch_opaque = r;
	const struct guest_mem *m = &cpu->vm->mem;
	r->patch_off = patch_offset(m);
	r->tables_off = tables_offset(m);
	if (raw_shadow_init(r, err, n) != 0)
		goto fail;
	r->code = calloc(r->npfn ? r->npfn : 1, sizeof(*r->code));
	r->patch_free = calloc(RAW_PATCH_PAGES, sizeof(*r->patch_free));
	r->scanq.pool = calloc(RAW_PENDING, sizeof(*r->scanq.pool));
	r->scanq.head = calloc(r->npfn ? r->npfn : 1, sizeof(*r->scanq.head));
	r->scanq.gen = calloc(r->npfn ? r->npfn : 1, sizeof(*r->scanq.gen));
	if (!r->code || !r->patch_free || !r->scanq.pool || !r->scanq.head || !r->scanq.gen) {
		snprintf(err, n, "out of memory for the code scanner");
		goto fail;
	}
	r->patch_mem = mmap(NULL, (size_t)RAW_PATCH_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			    m->fd, (off_t)r->patch_off);
	if (r->patch_mem == MAP_FAILED) {
		r->patch_mem = NULL;
		snprintf(err, n, "cannot map patch memory: %s", strerror(errno));
		goto fail;
	}
	char why[256];
	if (raw_stub_start(r, m->fd, why, sizeof(why)) != 0) {
		snprintf(err, n, "%s", why);
		goto fail;
	}
	return 0;
fail:
	raw_vcpu_destroy(cpu);
	return -1;
}

static void raw_vcpu_destroy(struct vcpu *cpu)
{
	struct raw_cpu *r = raw_of(cpu);
	if (r) {
		if (r->ctrl && !r->dead) {
			r->ctrl->exit_now = 1;
			__atomic_add_fetch(&r->ctrl->cmd_seq, 1, __ATOMIC_RELEASE);
			syscall(SYS_futex, &r->ctrl->cmd_seq, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
		}
		raw_stub_stop(r);
		raw_scan_free(r);
		raw_shadow_free(r);
		if (r->patch_mem)
			munmap(r->patch_mem, (size_t)RAW_PATCH_PAGES * 4096);
		free(r->patch_free);
		free(r->scanq.pool);
		free(r->scanq.head);
		free(r->scanq.gen);
		emu_of(cpu)->outer = NULL;
		emu_of(cpu)->rem_done = NULL;
		free(r);
	}
	if (cpu->engine_priv)
		engine_emu.vcpu_destroy(cpu);
}

static int raw_get_state(struct vcpu *cpu, struct cpu_state *s)
{
	return engine_emu.get_state(cpu, s);
}

static int raw_set_state(struct vcpu *cpu, const struct cpu_state *s)
{
	struct raw_cpu *r = raw_of(cpu);
	r->need_flush = true;
	r->in_rem = false;
	return engine_emu.set_state(cpu, s);
}

static void raw_kick(struct vcpu *cpu)
{
	engine_emu.kick(cpu);
	struct raw_cpu *r = raw_of(cpu);
	if (r)
		raw_stub_kick(r);
}

static uint64_t raw_exit_rip(struct vcpu *cpu)
{
	return engine_emu.exit_rip(cpu);
}

static int internal(struct vm_exit *e, struct raw_cpu *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int internal(struct vm_exit *e, struct raw_cpu *r, const char *fmt, ...)
{
	char msg[sizeof(r->why)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(r->why, msg, sizeof(msg));
	memset(e, 0, sizeof(*e));
	e->reason = EXIT_INTERNAL;
	e->fail.what = r->why;
	return 0;
}

static bool read_lin8(struct emu_cpu *c, uint32_t lin, uint8_t *b)
{
	uint64_t gpa;
	if (!raw_code_gpa(c, lin, &gpa))
		return false;
	const uint8_t *p = gpa_ptr(&c->vm->mem, gpa, 1);
	if (!p)
		return false;
	*b = *p;
	return true;
}

/* The segment's limit as native code meets it: capped so that the
 * segment ends at top (ring compression, raw_desc_capped). */
static uint32_t seg_limit_below(const struct segment *sg, uint32_t top)
{
	if (sg->base > top)
		return 0;
	uint32_t room = top - (uint32_t)sg->base;
	return sg->limit < room ? sg->limit : room;
}

/* One native run. 1: go on (the loop decides native or REM); 0: *e holds
 * an exit for the machine. */
static int run_native(struct raw_cpu *r, struct vm_exit *e)
{
	struct emu_cpu *c = r->c;
	struct cpu_state *s = &c->s;
	struct raw_ctrl *k = r->ctrl;
	uint64_t t0 = host_now_ns();
	raw_shadow_sync(r);   /* ends with need_flush clear */
	uint32_t lin = (uint32_t)(s->seg[SEG_CS].base + s->rip);
	uint32_t lp = lin >> 12;
	if ((r->pst[lp] & (SP_MAPPED | SP_X)) == (SP_MAPPED | SP_X) && !raw_scan(r, r->ppfn[lp], lin)) {
		r->in_rem = true;   /* a page that cannot run natively */
		return 1;
	}
	if (r->need_flush)   /* the scan lost track of a mapping */
		raw_shadow_flush(r);
	uint16_t sel[6];
	k->ndescs = 0;
	bool user = c->cpl == 3;
	for (int g = 0; g < 6; g++) {
		const struct segment *sg = &s->seg[g];
		if (g != SEG_CS && g != SEG_SS && (sg->unusable || !sg->present)) {
			sel[g] = 0;
			continue;
		}
		struct raw_desc d;
		if (!user) {
			raw_desc_of(sg, (unsigned)g, &d);
		} else if (!raw_desc_capped(sg, (unsigned)g, RAW_RING_SPLIT - 1, &d)) {
			if (g == SEG_CS || g == SEG_SS) {
				r->in_rem = true;   /* user code or stack up there: REM */
				return 1;
			}
			sel[g] = 0;   /* a data segment up there: every use traps */
			continue;
		}
		if (!r->ldt_valid[g] || memcmp(&d, &r->ldt[g], sizeof(d)) != 0) {
			k->descs[k->ndescs++] = d;
			r->ldt[g] = d;
			r->ldt_valid[g] = true;
		}
		sel[g] = raw_host_selector((unsigned)g);
	}
	for (int g = 0; g < 8; g++)
		k->regs.gpr[g] = (uint32_t)s->gpr[g];
	k->regs.eip = (uint32_t)s->rip;
	uint64_t fl = get_flags(c);
	k->regs.eflags = (uint32_t)((fl & ENTRY_FLAGS) | RFLAGS_IF | RFLAGS_FIXED);
	/* RF (a fault's IRET may bring it back) only guards instruction
	 * breakpoints, which never run natively: the first native instruction
	 * would clear it, so it goes now */
	s->rflags &= ~(uint64_t)RFLAGS_RF;
	memcpy(k->regs.sel, sel, sizeof(sel));
	memcpy(k->fx, &s->fpu, sizeof(k->fx));
	/* RDTSC in the stub reads the clock emu reads (tsc_now) */
	k->tsc_fast = !(s->cr4 & CR4_TSD) && !r->vm->cfg.deterministic;
	k->tsc_base = c->tsc_base;
	k->clock_start = r->vm->start_ns;
	k->cs_base = (uint32_t)s->seg[SEG_CS].base;
	k->tsc_aux = (uint32_t)s->msr.tsc_aux;
	k->vif = !!(fl & RFLAGS_IF);
	k->if_ok = (uint64_t)c->cpl <= ((fl & RFLAGS_IOPL) >> 12) && !(s->cr4 & CR4_PVI);
	k->irq_waiting = events_due_if(c, true);
	/* what the stub answers patched instructions from */
	const uint32_t top = user ? RAW_RING_SPLIT - 1 : UINT32_MAX;
	k->cs_limit = seg_limit_below(&s->seg[SEG_CS], top);
	const struct segment *ss = &s->seg[SEG_SS];
	k->ss_ok = ss->db && !(ss->type & 4) && ss->base <= top;
	k->ss_base = (uint32_t)ss->base;
	k->ss_limit = k->ss_ok ? seg_limit_below(ss, top) : 0;
	k->eflags_rest = (uint32_t)(fl & ~(uint64_t)(NATIVE_FLAGS | RFLAGS_IF | RFLAGS_VM | RFLAGS_RF));
	for (int g = 0; g < 6; g++)
		k->guest_sel[g] = s->seg[g].selector;
	uint64_t t1 = host_now_ns();
	r->st.monitor_ns += t1 - t0;
	int rc = raw_stub_exchange(r, true);
	uint64_t t2 = host_now_ns();
	r->st.native_ns += t2 - t1;
	r->st.native_runs++;
	if (rc != 0)
		return internal(e, r, "%s", r->why[0] ? r->why : "the stub is gone");
	switch (k->stop) {
	case RAW_STOP_SIGNAL:
	case RAW_STOP_KICKED:
		break;
	case RAW_STOP_ESCAPE:
		return internal(e, r, "raw: sandbox violation: guest code left compatibility mode "
				"(64-bit code at %#llx)", (unsigned long long)k->addr);
	case RAW_STOP_OPFAIL:
		return internal(e, r, "raw: the stub could not apply op %d: %s", k->op_index,
				strerror(k->op_errno));
	default:
		return internal(e, r, "raw: the stub reported %u, which is no stop reason", k->stop);
	}
	for (int g = 0; g < 6; g++)
		if (k->regs.sel[g] != sel[g])
			return internal(e, r, "raw: guest code at %#x changed a segment register natively "
					"(host selector %#x, expected %#x): an instruction the scanner missed",
					k->regs.eip, k->regs.sel[g], sel[g]);
	for (int g = 0; g < 8; g++)
		s->gpr[g] = k->regs.gpr[g];
	s->rip = k->regs.eip;
	set_flags(c, (fl & ~(uint64_t)(NATIVE_FLAGS | RFLAGS_IF)) | (k->regs.eflags & NATIVE_FLAGS) |
			     (__atomic_load_n(&k->vif, __ATOMIC_SEQ_CST) ? RFLAGS_IF : 0));
	memcpy(&s->fpu, k->fx, sizeof(k->fx));

	int kind;
	bool rem = true;
	uint32_t at = (uint32_t)(s->seg[SEG_CS].base + s->rip);
	uint8_t b;
	if (k->stop == RAW_STOP_KICKED) {
		kind = RT_KICK;
		rem = false;
	} else if (k->signo == SIGSEGV && k->trapno == 14) {
		int f = raw_shadow_fault(r, (uint32_t)k->addr, k->err);
		if (f < 0)
			return internal(e, r, "%s", r->why);
		bool again = f > 0 && k->addr == r->last_fault_lin && at == r->last_fault_eip;
		kind = f > 0 ? RT_PF_SHADOW : RT_PF_GUEST;
		rem = f == 0 || again;   /* the same fault twice: the mapping cannot answer it */
		r->last_fault_eip = at;
		r->last_fault_lin = k->addr;
	} else if (k->signo == SIGSEGV && k->trapno == 13) {
		kind = RT_GP;
	} else if (k->signo == SIGSEGV && k->trapno == 4) {
		s->rip -= 1;   /* INTO: #OF is a trap */
		kind = RT_OTHER;
	} else if (k->signo == SIGILL) {
		kind = RT_UD;
	} else if (k->signo == SIGSYS) {
		s->rip -= 2;   /* INT 0x80 (or SYSENTER/SYSCALL on some hosts): a trap */
		kind = RT_SYSCALL;
	} else if (k->signo == SIGTRAP && k->trapno == 3 && raw_patched_at(r, at - 1)) {
		s->rip -= 1;   /* the scanner's trapping byte: the instruction it stands for */
		kind = RT_GP;
	} else if (k->signo == SIGTRAP && (k->trapno == 3 || k->trapno == 1)) {
		/* INT3 / INT 3 / ICEBP: traps, RIP after the instruction */
		if (read_lin8(c, at - 1, &b) && (b == 0xcc || b == 0xf1))
			s->rip -= 1;
		else if (k->trapno == 3)
			s->rip -= 2;
		kind = RT_INT3;
	} else {
		kind = RT_OTHER;
	}
	at = (uint32_t)(s->seg[SEG_CS].base + s->rip);
	r->st.traps[kind]++;
	if (kind != RT_KICK)
		raw_count_site(r, at, kind);
	r->in_rem = rem;
	r->st.trap_ns[kind] += host_now_ns() - t2;
	return 1;
}

static int raw_run(struct vcpu *cpu, struct vm_exit *e)
{
	struct emu_cpu *c = emu_of(cpu);
	struct raw_cpu *r = c->outer;
	for (;;) {
		if (r->in_rem || !native_ok(c) || events_due(c)) {
			r->in_rem = false;
			uint64_t t = host_now_ns();
			c->rem_icount = c->icount;
			c->rem_left = false;
			/* from native-able code, one instruction at a time: a CALL
			 * run by REM must not leave a return address no scan has
			 * seen (its RET runs natively) */
			c->rem_single = native_mode(c);
			int rc = engine_emu.run(cpu, e);
			r->st.rem_ns += host_now_ns() - t;
			r->st.rem_runs++;
			if (rc != 0)
				return rc;
			if (e->reason == EXIT_INTERRUPTED && c->rem_left) {
				c->rem_left = false;
				continue;
			}
			r->in_rem = true;   /* the machine's answer goes back to REM */
			return 0;
		}
		int k = run_native(r, e);
		if (k <= 0)
			return k;
	}
}

static const char *const kind_name[RT_KINDS] = {
	[RT_PF_SHADOW] = "shadow page fault", [RT_PF_GUEST] = "guest #PF / MMIO",
	[RT_GP] = "#GP (privileged, patched)", [RT_UD] = "#UD",
	[RT_SYSCALL] = "INT 0x80", [RT_INT3] = "INT3 / ICEBP", [RT_OTHER] = "other exception",
	[RT_KICK] = "kick (interrupt, stop)",
};

static void raw_print_stats(struct vm *vm, int fd)
{
	struct raw_cpu *r = raw_of(&vm->vcpu[0]);
	if (!r)
		return;
	const struct raw_stats *t = &r->st;
	double total = (double)(t->native_ns + t->rem_ns + t->monitor_ns);
	uint64_t traps = 0;
	for (int k = 0; k < RT_KINDS; k++)
		traps += t->traps[k];
	dprintf(fd, "popek: raw engine\n");
	dprintf(fd, "  time                    native %.1f%% (incl. trap delivery), REM %.1f%%, monitor %.1f%%\n",
		total ? 100.0 * (double)t->native_ns / total : 0.0,
		total ? 100.0 * (double)t->rem_ns / total : 0.0,
		total ? 100.0 * (double)t->monitor_ns / total : 0.0);
	dprintf(fd, "  native runs             %llu (%.2f us each, trap round trip included)\n",
		(unsigned long long)t->native_runs,
		t->native_runs ? (double)t->native_ns / 1e3 / (double)t->native_runs : 0.0);
	dprintf(fd, "  REM runs                %llu\n", (unsigned long long)t->rem_runs);
	dprintf(fd, "  traps by reason         %llu\n", (unsigned long long)traps);
	for (int k = 0; k < RT_KINDS; k++)
		if (t->traps[k])
			dprintf(fd, "    %-26s %10llu  %.2f us each in popek\n", kind_name[k],
				(unsigned long long)t->traps[k],
				(double)t->trap_ns[k] / 1e3 / (double)t->traps[k]);
	dprintf(fd, "  code scanner            %llu pages scanned (%llu scans), %llu patches, %llu drops, "
		"%llu entries not followed, %llu conflicting decodings%s\n",
		(unsigned long long)t->scanned_pages, (unsigned long long)t->scans,
		(unsigned long long)t->patches, (unsigned long long)t->code_drops,
		(unsigned long long)t->entries_lost, (unsigned long long)t->conflicts,
		t->patch_full ? ", patch memory FULL" : "");
	dprintf(fd, "  shadow paging           %llu pages mapped, %llu full flushes, %llu CR3 switches "
		"(%llu flushes keeping %llu global pages), %llu INVLPG, %llu CPL-class switches\n",
		(unsigned long long)t->maps, (unsigned long long)t->flushes,
		(unsigned long long)t->cr3_switches, (unsigned long long)t->nonglobal_flushes,
		(unsigned long long)t->globals_kept, (unsigned long long)t->invlpgs,
		(unsigned long long)t->class_switches);
	dprintf(fd, "  interrupt kicks         %llu\n", (unsigned long long)t->kicks);
	if (r->ctrl)
		dprintf(fd, "  answered in the stub    %llu RDTSC/RDTSCP, %llu CLI/STI, %llu PUSHF/PUSH Sreg, "
			"%llu JMP reg, %llu IRET; %llu instructions run on after a trap\n",
			(unsigned long long)r->ctrl->stub_answered,
			(unsigned long long)r->ctrl->stub_if_answered,
			(unsigned long long)r->ctrl->stub_push_answered,
			(unsigned long long)r->ctrl->stub_jmp_answered,
			(unsigned long long)r->ctrl->stub_iret_answered,
			(unsigned long long)r->ctrl->stub_run_on);
	raw_print_sites(r, kind_name, fd);
	engine_emu.print_stats(vm, fd);
}

const struct engine engine_raw = {
	.name = "raw",
	.available = raw_available,
	.vm_create = raw_vm_create,
	.vm_destroy = raw_vm_destroy,
	.vcpu_create = raw_vcpu_create,
	.vcpu_destroy = raw_vcpu_destroy,
	.get_state = raw_get_state,
	.set_state = raw_set_state,
	.run = raw_run,
	.kick = raw_kick,
	.exit_rip = raw_exit_rip,
	.irq_line = NULL,
	.print_stats = raw_print_stats,
	.instructions = NULL,
	.small_pages = true,
	.ram_written = emu_invalidate_gpa,   /* scanned pages drop through emu's watch */
	.mem_fd_base = RAW_RAM_OFFSET,
	.max_vcpus = 1,
};
