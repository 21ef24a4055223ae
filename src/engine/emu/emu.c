/* The emulation engine's face to the machine (struct engine) and its run
 * loop: find the decoded block at CS:RIP, run its instructions, stop at an
 * exit, a fault, an interrupt or a kick.
 *
 * Faults and exits that cannot retire an instruction unwind with longjmp
 * to the loop; an instruction changes architectural state only after its
 * last possible fault wherever that matters (pushes, far transfers), so
 * RIP still names the faulting instruction when the exception is taken. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine/emu/emu.h"
#include "intr.h"
#include "vm.h"

#define POLL_BLOCKS 1024

static struct emu_cpu *cpu_of(struct vcpu *v)
{
	return v->engine_priv;
}

void emu_internal(struct emu_cpu *c, const char *why)
{
	c->internal_why = why;
	c->pend.reason = EXIT_INTERNAL;
	c->pend.fail.code = 0;
	c->pend.fail.what = why;
	longjmp(c->jb, JMP_EXIT);
}

static int emu_available(char *why, size_t n)
{
	(void)why;
	(void)n;
	return 0;
}

static uint64_t max_gpa(const struct guest_mem *m)
{
	uint64_t end = 0;
	for (int k = 0; k < m->nregions; k++)
		if (m->region[k].gpa + m->region[k].size > end)
			end = m->region[k].gpa + m->region[k].size;
	return end;
}

static int emu_vm_create(struct vm *vm, char *err, size_t n)
{
	struct emu_vm *v = calloc(1, sizeof(*v));
	if (!v || block_cache_init(v, max_gpa(&vm->mem)) < 0) {
		if (v)
			block_cache_free(v);
		free(v);
		snprintf(err, n, "emu: out of memory for the block cache");
		return -1;
	}
	pthread_mutex_init(&v->big_lock, NULL);
	pthread_mutex_init(&v->deferred_lock, NULL);
	vm->engine_priv = v;
	return 0;
}

static void emu_vm_destroy(struct vm *vm)
{
	struct emu_vm *v = vm->engine_priv;
	if (!v)
		return;
	block_cache_free(v);
	pthread_mutex_destroy(&v->big_lock);
	pthread_mutex_destroy(&v->deferred_lock);
	free(v);
	vm->engine_priv = NULL;
}

static int emu_vcpu_create(struct vcpu *cpu, char *err, size_t n)
{
	struct emu_cpu *c = aligned_alloc(64, (sizeof(struct emu_cpu) + 63) & ~(size_t)63);
	if (!c) {
		snprintf(err, n, "emu: out of memory for a vCPU");
		return -1;
	}
	memset(c, 0, sizeof(*c));
	c->vm = cpu->vm;
	c->vcpu = cpu;
	c->vcpu_index = cpu->index;
	c->evm = cpu->vm->engine_priv;
	if (cpu->index > 0)
		c->evm->smp = true;
	else
		c->evm->first_cpu = c;
	c->delivering = -1;
	c->tlb_gen = 1;  /* no zeroed block-lookup entry can match */
	update_mem_hooks(c);  /* translated code's TLB tag offsets */
	c->countdown = POLL_BLOCKS;
	if (cpu->vm->cfg.stats) {
		c->hot = calloc(HOT_SIZE, sizeof(*c->hot));
		if (!c->hot) {
			free(c);
			snprintf(err, n, "emu: out of memory for statistics");
			return -1;
		}
	}
	cpu->engine_priv = c;
	return 0;
}

static void emu_vcpu_destroy(struct vcpu *cpu)
{
	struct emu_cpu *c = cpu->engine_priv;
	if (c)
		free(c->hot);
	free(cpu->engine_priv);
	cpu->engine_priv = NULL;
}

static int emu_get_state(struct vcpu *cpu, struct cpu_state *s)
{
	struct emu_cpu *c = cpu_of(cpu);
	get_flags(c);
	*s = c->s;
	s->msr.tsc = tsc_now(c);
	int irq = atomic_load(&c->irq);
	if (irq) {
		s->events.interrupt_pending = true;
		s->events.interrupt_vector = irq - 1;
	}
	s->events.nmi_pending = atomic_load(&c->nmi) != 0;
	return 0;
}

static int emu_set_state(struct vcpu *cpu, const struct cpu_state *s)
{
	struct emu_cpu *c = cpu_of(cpu);
	c->s = *s;
	c->lf_kind = LF_NONE;
	c->s.rflags |= RFLAGS_FIXED;
	c->tsc_base = s->msr.tsc - vm_now_ns(c->vm);
	atomic_store(&c->irq, s->events.interrupt_pending ? s->events.interrupt_vector + 1 : 0);
	atomic_store(&c->nmi, s->events.nmi_pending);
	c->s.events.interrupt_pending = false;
	c->s.events.nmi_pending = false;
	/* an exit in flight belongs to the state being replaced */
	c->io_in_pending = c->io_in_ready = false;
	c->mmio_read_pending = c->mmio_wpending = false;
	c->mmio_nlog = c->mmio_pos = 0;
	c->wq_n = c->wq_pos = 0;
	c->delivering = -1;
	tlb_flush(c, false);
	emu_update_mode(c);
	return 0;
}

int emu_interrupt(struct vcpu *cpu, uint8_t vector)
{
	struct emu_cpu *c = cpu_of(cpu);
	int expected = 0;
	if (!atomic_compare_exchange_strong(&c->irq, &expected, vector + 1))
		return -1;
	atomic_store(&c->attention, 1);
	return 0;
}

int emu_nmi(struct vcpu *cpu)
{
	atomic_store(&cpu_of(cpu)->nmi, 1);
	atomic_store(&cpu_of(cpu)->attention, 1);
	return 0;
}

/* A device thread's write while the only vCPU runs blocks unlocked: queue
 * the pages for that vCPU (drain_deferred) and get its attention. */
static void defer_invalidation(struct emu_vm *v, uint64_t gpa, uint64_t len)
{
	pthread_mutex_lock(&v->deferred_lock);
	for (uint64_t p = gpa >> 12; p <= (gpa + len - 1) >> 12 && !v->deferred_overflow; p++) {
		if (v->ndeferred == sizeof(v->deferred_pfn) / sizeof(v->deferred_pfn[0]))
			v->deferred_overflow = true;
		else
			v->deferred_pfn[v->ndeferred++] = p;
	}
	atomic_store(&v->deferred, true);
	pthread_mutex_unlock(&v->deferred_lock);
	if (v->first_cpu)
		atomic_store(&v->first_cpu->attention, 1);
}

static void drain_deferred(struct emu_vm *v)
{
	pthread_mutex_lock(&v->deferred_lock);
	atomic_store(&v->deferred, false);
	if (v->deferred_overflow) {
		block_flush_all(v);
	} else {
		for (unsigned i = 0; i < v->ndeferred; i++)
			if (page_has_code(v, v->deferred_pfn[i] << 12))
				block_invalidate_page(v, v->deferred_pfn[i], NULL);
	}
	v->ndeferred = 0;
	v->deferred_overflow = false;
	pthread_mutex_unlock(&v->deferred_lock);
}

void emu_invalidate_gpa(struct vm *vm, uint64_t gpa, uint64_t len)
{
	struct emu_vm *v = vm->engine_priv;
	if (!v || !len)
		return;
	if (!v->smp && !vm_current_vcpu()) {
		defer_invalidation(v, gpa, len);
		return;
	}
	/* called from a device, outside emu_run: other vCPUs may be running
	 * blocks, so the block cache needs the big lock */
	if (v->smp)
		pthread_mutex_lock(&v->big_lock);
	for (uint64_t p = gpa >> 12; p <= (gpa + len - 1) >> 12; p++)
		if (page_has_code(v, p << 12))
			block_invalidate_page(v, p, NULL);
	if (v->smp)
		pthread_mutex_unlock(&v->big_lock);
	/* a vCPU may still hold write permission for the page in its TLB; it
	 * only matters for code pages, which never keep write permission */
}

static void emu_kick(struct vcpu *cpu)
{
	atomic_store(&cpu_of(cpu)->kick, 1);
	atomic_store(&cpu_of(cpu)->attention, 1);
}

static uint64_t emu_exit_rip(struct vcpu *cpu)
{
	return cpu_of(cpu)->exit_rip;
}

/* Takes the answer the machine wrote into the last exit. */
static void complete_exit(struct emu_cpu *c)
{
	if (c->io_in_pending) {
		c->io_in_pending = false;
		c->io_in_ready = true;
	}
	if (c->mmio_read_pending) {
		c->mmio_read_pending = false;
		int k = c->mmio_nlog++;
		c->mmio_log[k].addr = c->pend.mmio.addr;
		c->mmio_log[k].size = c->pend.mmio.size;
		uint64_t v = 0;
		memcpy(&v, c->mmio_buf, c->pend.mmio.size);
		c->mmio_log[k].val = v;
	}
	c->mmio_wpending = false;
	c->mmio_pos = 0;
}

static bool interrupts_open(struct emu_cpu *c)
{
	return (c->s.rflags & RFLAGS_IF) && !c->s.events.interrupt_shadow;
}

/* Delivers a pending NMI or external interrupt if the CPU can take it. */
static void deliver_external(struct emu_cpu *c, int vec)
{
	c->delivering = -2;
	c->st.interrupts++;
	deliver_event(c, vec, EV_EXT, false, 0);
	c->delivering = -1;
}

/* The machine's interrupt controllers are asked at a block boundary when
 * something may have changed (every exit, every delivery) and otherwise
 * every POLL_BLOCKS blocks, which bounds latency without a call per block. */

static void take_events(struct emu_cpu *c, bool poll_due)
{
	bool open = interrupts_open(c);
	/* the controllers' timers advance when asked, so ask even with IF=0;
	 * and ask at once when interrupts open (STI, POPF, IRET, shadow end) */
	bool poll = c->irq_maybe || poll_due || (open && !c->was_open);
	c->was_open = open;
	if (!c->s.events.interrupt_shadow && !c->s.events.nmi_masked &&
	    ((atomic_load_explicit(&c->nmi, memory_order_relaxed) && atomic_exchange(&c->nmi, 0)) ||
	     (poll && intr_take_nmi(c->vcpu)))) {
		c->s.events.nmi_masked = true;
		deliver_external(c, 2);
		return;
	}
	int irq = atomic_load_explicit(&c->irq, memory_order_relaxed);
	if (irq && open) {
		atomic_store(&c->irq, 0);
		deliver_external(c, irq - 1);
		return;
	}
	if (!poll)
		return;
	c->irq_maybe = false;
	if (intr_pending(c->vcpu) < 0 || !open)
		return;
	int vec = intr_ack(c->vcpu);
	if (vec >= 0) {
		c->irq_maybe = true;  /* another may be queued behind it */
		deliver_external(c, vec);
	}
}

/* RFLAGS.TF: one instruction, then a #DB trap pointing after it. A MOV SS
 * or POP SS defers the trap past the following instruction. */
static bool exec_breakpoint(struct emu_cpu *c)
{
	uint64_t dr7 = c->s.dr[7];
	uint64_t lin = c->s.seg[SEG_CS].base + c->s.rip;
	if (!c->long_mode)
		lin &= 0xffffffffull;
	uint8_t hit = 0;
	for (int n = 0; n < 4; n++)
		if (((dr7 >> (2 * n)) & 3) && !((dr7 >> (16 + 4 * n)) & 3) && c->s.dr[n] == lin)
			hit |= 1u << n;
	if (!hit)
		return false;
	c->s.dr[6] = (c->s.dr[6] & ~0xfull) | hit;
	c->delivering = 1;
	deliver_event(c, 1, EV_EXC, false, 0);  /* a fault: RIP stays at the instruction */
	c->delivering = -1;
	return true;
}

static void single_step(struct emu_cpu *c, struct block *b, uint8_t shadow)
{
	const struct insn *i = b->insn;
	c->stop |= STOP_BLOCK;  /* every boundary is looked at while stepping */
	if (c->dbg_active && !(c->s.rflags & RFLAGS_RF) && exec_breakpoint(c))
		return;
	bool tf = c->s.rflags & RFLAGS_TF;
	c->dbg_hits = 0;
	c->next_rip = c->s.rip + i->len;
	if (!c->code64)
		c->next_rip &= c->s.seg[SEG_CS].db ? 0xffffffffull : 0xffff;
	i->fn(c, i);
	c->s.rip = c->next_rip;
	c->icount++;
	if (c->mmio_nlog)
		c->mmio_nlog = c->mmio_pos = 0;
	c->s.events.interrupt_shadow &= ~shadow;
	/* RF lasts one instruction: cleared as each completes, except the
	 * IRET that loaded it, whose next instruction it is for */
	if (i->op != 0xcf)
		c->s.rflags &= ~(uint64_t)RFLAGS_RF;
	uint8_t hits = c->dbg_hits;
	if (!tf && !hits)
		return;
	if (c->s.events.interrupt_shadow & SHADOW_MOV_SS)
		return;
	if (c->stop & STOP_EXIT) {
		/* the trap is taken when the exit has been answered */
		return;
	}
	c->s.dr[6] = (c->s.dr[6] & ~0xfull) | hits | (tf ? 1u << 14 : 0);  /* B0-B3, BS */
	c->delivering = 1;
	deliver_event(c, 1, EV_EXC, false, 0);
	c->delivering = -1;
}

/* Runs one block (one instruction while an interrupt shadow is active). */
static void run_block(struct emu_cpu *c, struct block *b)
{
	uint8_t shadow = c->s.events.interrupt_shadow;
	c->cur_block = b;
	if ((c->s.rflags & (RFLAGS_TF | RFLAGS_RF)) || c->dbg_active) {
		single_step(c, b, shadow);
		return;
	}
	if (!shadow && b->valid && !c->rem_single) {
		if (!b->jit_tried && c->evm->jit_after && ++b->runs >= c->evm->jit_after)
			jit_compile(c, b);
		if (b->jit) {
			/* linked blocks run on without telling the loop which one
			 * runs: any code invalidated meanwhile stops them */
			c->in_jit = true;
			int declined = b->jit(c);
			c->in_jit = false;
			if (!declined) {
				c->cur_block = NULL;
				return;
			}
		}
	}
	int n = shadow || c->rem_single ? 1 : b->n;
	const struct insn *i = b->insn;
	/* an instruction that changes the mode or CS ends the block */
	const uint64_t ip_mask = c->code64 ? ~0ull : c->s.seg[SEG_CS].db ? 0xffffffffull : 0xffff;
	for (int k = 0; k < n; k++, i++) {
		c->next_rip = (c->s.rip + i->len) & ip_mask;
		i->fn(c, i);
		c->s.rip = c->next_rip;
		c->icount++;
		if (c->mmio_nlog)
			c->mmio_nlog = c->mmio_pos = 0;
		if (c->stop)
			break;
	}
	if (shadow) {
		c->s.events.interrupt_shadow &= ~shadow;
		c->stop |= STOP_BLOCK;  /* interrupts may be deliverable now */
	}
	c->cur_block = NULL;
}

/* Counts the guest RIP in the hot-spot table (open addressing; once it
 * is full, new RIPs are only counted as lost). */
static void sample_rip(struct emu_cpu *c)
{
	uint64_t rip = c->s.seg[SEG_CS].base + c->s.rip;
	unsigned h = (unsigned)((rip * 0x9e3779b97f4a7c15ull) >> 52) & (HOT_SIZE - 1);
	for (unsigned k = 0; k < 64; k++) {
		struct hot_rip *e = &c->hot[(h + k) & (HOT_SIZE - 1)];
		if (e->count && e->rip != rip)
			continue;
		e->rip = rip;
		e->count++;
		return;
	}
	c->hot_lost++;
}

/* Runs blocks until an exit is ready. Kept out of emu_run so that setjmp
 * there does not force this loop's state through memory. */
#define SLICE_POLLS 16  /* big-lock slices, in controller polls */

/* The checks between blocks that usually find nothing, done when
 * something may have changed: the previous block stopped early (mode, IF,
 * exits), another thread raised attention (kick, interrupt, NMI), or the
 * periodic poll of the machine's interrupt controllers is due. */
static bool between_blocks(struct emu_cpu *c, bool poll_due)
{
	struct emu_vm *v = c->evm;
	if (poll_due && c->hot)
		sample_rip(c);
	if (poll_due && c->holds_lock && ++c->slices % SLICE_POLLS == 0) {
		/* let the other vCPUs run a slice */
		pthread_mutex_unlock(&v->big_lock);
		sched_yield();
		pthread_mutex_lock(&v->big_lock);
	}
	atomic_store_explicit(&c->attention, 0, memory_order_relaxed);
	if (atomic_load(&v->deferred))
		drain_deferred(v);
	if (atomic_load_explicit(&c->kick, memory_order_relaxed)) {
		atomic_store(&c->kick, 0);
		c->pend.reason = EXIT_INTERRUPTED;
		return false;
	}
	/* an instruction waiting for its IN or MMIO answer is still in
	 * progress: no interrupt may come between it and its retirement */
	if (!c->mmio_nlog && !c->io_in_ready)
		take_events(c, poll_due);
	if (c->s.events.halted) {
		c->pend.reason = EXIT_HLT;
		return false;
	}
	return true;
}

/* The next block: the previous one's successor of last time when the
 * previous block ran to its end (no mode, paging or CS change can have
 * happened), else a lookup. */
static struct block *next_block(struct emu_cpu *c, struct block *prev, unsigned prev_stop)
{
	struct emu_vm *v = c->evm;
	if (!prev_stop && prev) {
		struct block *n = prev->chain;
		if (n && prev->chain_rip == c->s.rip && prev->chain_tlb_gen == c->tlb_gen &&
		    prev->chain_vm_gen == v->gen && n->valid) {
			c->st.chain_hits++;
			return n;
		}
		uint64_t gen = v->gen;
		n = block_find(c);
		if (gen != v->gen)
			return n;  /* the cache was flushed: prev is gone */
		prev->chain = n;
		prev->chain_rip = c->s.rip;
		prev->chain_tlb_gen = c->tlb_gen;
		prev->chain_vm_gen = v->gen;
		return n;
	}
	return block_find(c);
}

static __attribute__((noinline)) void run_loop(struct emu_cpu *c)
{
	unsigned prev_stop = STOP_BLOCK;
	struct block *prev = NULL;
	struct jit_link *link = NULL;
	for (;;) {
		bool poll_due = --c->countdown == 0;
		if (__builtin_expect(prev_stop || poll_due || c->s.events.interrupt_shadow ||
				     atomic_load_explicit(&c->attention, memory_order_relaxed), 0)) {
			if (poll_due) {
				c->countdown = POLL_BLOCKS;
				c->st.poll_periods++;
			}
			link = NULL;  /* an event may have moved RIP: link only plain successions */
			if (!between_blocks(c, poll_due))
				return;
		}
		if (__builtin_expect(c->rem_done != NULL, 0) && c->icount > c->rem_icount &&
		    c->rem_done(c)) {
			c->rem_left = true;
			c->pend.reason = EXIT_INTERRUPTED;
			return;
		}
		c->stop = 0;
		uint64_t gen = c->evm->gen;
		struct block *b = next_block(c, prev, prev_stop);
		if (link && b->jit && b->valid && gen == c->evm->gen && b->mode == link->mode &&
		    (!link->near || b->gpa == link->want_gpa)) {
			/* the translated block that ran last can enter this one directly */
			link->to = b;
			link->rip = c->s.rip;
			link->tlb_gen = c->tlb_gen;
			jit_patch_link(link);
		}
		c->jit_link = NULL;
		run_block(c, b);
		link = c->jit_link;
		if (c->stop & STOP_EXIT)
			return;
		if (c->stop)
			link = NULL;
		prev_stop = c->stop;
		prev = b->valid ? b : NULL;
	}
}

static void write_exit(struct emu_cpu *c, struct vm_exit *e)
{
	struct mmio_wq *w = &c->wq[c->wq_pos++];
	memset(e, 0, sizeof(*e));
	e->reason = EXIT_MMIO;
	e->mmio.addr = w->addr;
	e->mmio.size = w->size;
	e->mmio.is_write = 1;
	e->mmio.data = w->data;
}

static int emu_run_locked(struct emu_cpu *c, struct vm_exit *e);

static int emu_run(struct vcpu *cpu, struct vm_exit *e)
{
	struct emu_cpu *c = cpu_of(cpu);
	struct emu_vm *v = c->evm;
	bool locked = v->smp;  /* fixed for this call, even if a vCPU is added meanwhile */
	if (locked)
		pthread_mutex_lock(&v->big_lock);
	c->holds_lock = locked;
	int rc = emu_run_locked(c, e);
	c->holds_lock = false;
	if (locked)
		pthread_mutex_unlock(&v->big_lock);
	return rc;
}

/* An application processor waits for its start-up IPI (the platform
 * tracks INIT/SIPI); once it arrives the CPU starts in real mode at
 * vector << 12. True while it must not run. */
static bool waiting_for_sipi(struct emu_cpu *c)
{
	const struct intr_platform *p = c->vm->intr;
	int vector;
	if (c->vcpu_index == 0 || !p || !p->wait_for_sipi)
		return false;
	if (p->wait_for_sipi(c->vcpu, &vector))
		return true;
	if (vector >= 0) {
		cpu_state_reset(&c->s);
		c->s.seg[SEG_CS].selector = (uint16_t)(vector << 8);
		c->s.seg[SEG_CS].base = (uint64_t)vector << 12;
		c->s.rip = 0;
		c->lf_kind = LF_NONE;
		tlb_flush(c, false);
		emu_update_mode(c);
	}
	return false;
}

static int emu_run_locked(struct emu_cpu *c, struct vm_exit *e)
{
	if (waiting_for_sipi(c)) {
		memset(e, 0, sizeof(*e));
		e->reason = EXIT_HLT;
		return 0;
	}
	if (c->wq_pos < c->wq_n) {
		/* the rest of the last instruction's MMIO writes */
		write_exit(c, e);
		return 0;
	}
	c->wq_n = c->wq_pos = 0;
	complete_exit(c);
	c->irq_maybe = true;
	c->pend.reason = EXIT_REASON_COUNT;
	c->stop = 0;
	int r = setjmp(c->jb);
	c->in_jit = false;  /* a fault or an exit may unwind out of translated code */
	/* a fault unwinds to here; so does a fault while delivering it */
	if (r == JMP_FAULT) {
		c->stop = 0;
		c->cur_block = NULL;
		handle_fault(c);
	}
	if (r != JMP_EXIT && !(c->stop & STOP_EXIT))
		run_loop(c);
	c->stop = 0;
	c->exit_rip = c->s.rip;
	if (c->wq_n && r != JMP_EXIT && c->pend.reason == EXIT_REASON_COUNT) {
		write_exit(c, e);
		c->st.exits[EXIT_MMIO]++;
		return 0;
	}
	*e = c->pend;
	if (e->reason < EXIT_REASON_COUNT)
		c->st.exits[e->reason]++;
	return 0;
}

/* The clock of --deterministic runs. */
static uint64_t emu_instructions(const struct vm *vm)
{
	uint64_t n = 0;
	for (int i = 0; i < vm->ncpus; i++) {
		const struct emu_cpu *c = vm->vcpu[i].engine_priv;
		if (c)
			n += c->icount;
	}
	return n;
}

static int hot_cmp(const void *a, const void *b)
{
	const struct hot_rip *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* The guest addresses the sampler found most often (vCPUs merged by
 * listing each one's table; they rarely share hot spots during boot). */
static void print_hot(struct vm *vm, int fd)
{
	struct hot_rip *all = calloc((size_t)vm->ncpus * HOT_SIZE, sizeof(*all));
	if (!all)
		return;
	size_t n = 0;
	uint64_t total = 0;
	for (int i = 0; i < vm->ncpus; i++) {
		const struct emu_cpu *c = vm->vcpu[i].engine_priv;
		if (!c || !c->hot)
			continue;
		total += c->hot_lost;
		for (int k = 0; k < HOT_SIZE; k++)
			if (c->hot[k].count) {
				all[n++] = c->hot[k];
				total += c->hot[k].count;
			}
	}
	qsort(all, n, sizeof(*all), hot_cmp);
	if (n)
		dprintf(fd, "popek: guest addresses where emu runs most (one sample per %d blocks)\n"
			"  linear-rip          samples  share\n", POLL_BLOCKS);
	for (size_t k = 0; k < n && k < 20; k++)
		dprintf(fd, "  %#-18llx %8llu  %4.1f%%\n", (unsigned long long)all[k].rip,
			(unsigned long long)all[k].count, 100.0 * (double)all[k].count / (double)total);
	free(all);
}

static void emu_print_stats(struct vm *vm, int fd)
{
	struct emu_stats t;
	memset(&t, 0, sizeof(t));
	uint64_t icount = 0;
	for (int i = 0; i < vm->ncpus; i++) {
		const struct emu_cpu *c = vm->vcpu[i].engine_priv;
		if (!c)
			continue;
		icount += c->icount;
		const uint64_t *from = (const uint64_t *)&c->st;
		uint64_t *to = (uint64_t *)&t;
		for (size_t k = 0; k < sizeof(t) / sizeof(uint64_t); k++)
			to[k] += from[k];
	}
	const struct emu_vm *v = vm->engine_priv;
	/* every block, found by the loop or entered by a link, counts down to
	 * the next controller poll */
	uint64_t blocks = 0;
	for (int i = 0; i < vm->ncpus; i++) {
		const struct emu_cpu *c = vm->vcpu[i].engine_priv;
		if (c)
			blocks += c->st.poll_periods * POLL_BLOCKS + (POLL_BLOCKS - c->countdown);
	}
	uint64_t looked_up = t.chain_hits + t.bcache_hits + t.hash_hits + t.decoded;
	uint64_t linked = blocks > looked_up ? blocks - looked_up : 0;
	dprintf(fd, "popek: emu engine\n");
	dprintf(fd, "  instructions executed   %llu (%.1f per block)\n", (unsigned long long)icount,
		blocks ? (double)icount / (double)blocks : 0.0);
	dprintf(fd, "  blocks run              %llu: linked %llu, chained %llu, rip-cache %llu, hash %llu, decoded %llu\n",
		(unsigned long long)blocks, (unsigned long long)linked, (unsigned long long)t.chain_hits,
		(unsigned long long)t.bcache_hits, (unsigned long long)t.hash_hits,
		(unsigned long long)t.decoded);
	if (v)
		dprintf(fd, "  translated blocks       %llu (%zu KiB of host code in use)\n",
			(unsigned long long)v->jit_blocks, v->jit_used >> 10);
	if (v)
		dprintf(fd, "  block invalidations     %llu blocks in %llu page writes, %llu full flushes\n",
			(unsigned long long)v->inval_blocks, (unsigned long long)v->inval_pages,
			(unsigned long long)v->flushes);
	dprintf(fd, "  TLB                     %llu misses, %llu flushes, %llu page flushes\n",
		(unsigned long long)t.tlb_fills, (unsigned long long)t.tlb_flushes,
		(unsigned long long)t.tlb_flush_pages);
	dprintf(fd, "  interrupts delivered    %llu\n", (unsigned long long)t.interrupts);
	dprintf(fd, "  exits by reason        ");
	for (int r = 0; r < EXIT_REASON_COUNT; r++)
		if (t.exits[r])
			dprintf(fd, " %s %llu", exit_reason_name(r), (unsigned long long)t.exits[r]);
	dprintf(fd, "\n");
	print_hot(vm, fd);
}

const struct engine engine_emu = {
	.name = "emu",
	.available = emu_available,
	.vm_create = emu_vm_create,
	.vm_destroy = emu_vm_destroy,
	.vcpu_create = emu_vcpu_create,
	.vcpu_destroy = emu_vcpu_destroy,
	.get_state = emu_get_state,
	.set_state = emu_set_state,
	.run = emu_run,
	.kick = emu_kick,
	.exit_rip = emu_exit_rip,
	.irq_line = NULL,
	.print_stats = emu_print_stats,
	.instructions = emu_instructions,
	.small_pages = true,
	.ram_written = emu_invalidate_gpa,
	.run_filtered = true,
};
