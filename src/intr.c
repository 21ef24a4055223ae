/* The engine-facing side of popek's interrupt controllers: thin calls into
 * whatever platform registered itself, so engines never name a device. */
#include <errno.h>
#include <time.h>

#include "intr.h"
#include "vm.h"

void intr_platform_register(struct vm *vm, const struct intr_platform *p, void *opaque)
{
	vm->intr = p;
	vm->intr_opaque = opaque;
}

void *intr_platform_opaque(struct vm *vm)
{
	return vm->intr_opaque;
}

int intr_pending(struct vcpu *cpu)
{
	const struct intr_platform *p = cpu->vm->intr;
	return p && p->pending ? p->pending(cpu) : -1;
}

int intr_ack(struct vcpu *cpu)
{
	const struct intr_platform *p = cpu->vm->intr;
	return p && p->ack ? p->ack(cpu) : -1;
}

bool intr_take_nmi(struct vcpu *cpu)
{
	const struct intr_platform *p = cpu->vm->intr;
	return p && p->take_nmi ? p->take_nmi(cpu) : false;
}

int intr_rdmsr(struct vcpu *cpu, uint32_t msr, uint64_t *value)
{
	const struct intr_platform *p = cpu->vm->intr;
	return p && p->rdmsr ? p->rdmsr(cpu, msr, value) : -1;
}

int intr_wrmsr(struct vcpu *cpu, uint32_t msr, uint64_t value)
{
	const struct intr_platform *p = cpu->vm->intr;
	return p && p->wrmsr ? p->wrmsr(cpu, msr, value) : -1;
}

void intr_kick(struct vm *vm)
{
	pthread_mutex_lock(&vm->intr_lock);
	vm->intr_generation++;
	pthread_cond_broadcast(&vm->intr_wake);
	pthread_mutex_unlock(&vm->intr_lock);
}

/* Whether some vCPU has an interrupt waiting: one that arrived after that
 * vCPU looked, as it went to sleep. */
static bool any_pending(struct vm *vm)
{
	for (int i = 0; i < vm->ncpus; i++)
		if (intr_pending(&vm->vcpu[i]) >= 0)
			return true;
	return false;
}

/* Deterministic runs: with every vCPU halted nothing can happen before the
 * next deadline, so the clock jumps there. True when it did (or had no
 * need to); false when no timer is armed and only a device can wake us,
 * or when a halted vCPU has an interrupt it has not seen yet (an IPI sent
 * while it went to sleep): it is about to wake, and the clock must not
 * jump past the time it would run in. */
static bool skip_to(struct vm *vm, uint64_t deadline)
{
	if (deadline == UINT64_MAX || atomic_load(&vm->halted) < vm->ncpus || any_pending(vm))
		return false;
	pthread_mutex_lock(&vm->intr_lock);
	uint64_t now = vm_now_ns(vm);
	if (deadline > now)
		atomic_fetch_add(&vm->skipped_ns, deadline - now);
	pthread_mutex_unlock(&vm->intr_lock);
	if (vm->intr && vm->intr->poll)
		vm->intr->poll(vm);
	return true;
}

void intr_wait(struct vcpu *cpu, uint64_t timeout_ns)
{
	struct vm *vm = cpu->vm;
	const struct intr_platform *p = vm->intr;
	/* the generation before the look: a kick between the look and the
	 * wait below then ends the wait at once instead of being missed */
	pthread_mutex_lock(&vm->intr_lock);
	uint64_t seen = vm->intr_generation;
	pthread_mutex_unlock(&vm->intr_lock);
	if (p && p->poll)
		p->poll(vm);
	if (intr_pending(cpu) >= 0 || atomic_load(&vm->stopping))
		return;
	uint64_t deadline = p && p->next_deadline ? p->next_deadline(vm) : UINT64_MAX;
	atomic_fetch_add(&vm->halted, 1);
	if (vm->cfg.deterministic) {
		if (skip_to(vm, deadline)) {
			atomic_fetch_sub(&vm->halted, 1);
			return;
		}
	} else if (deadline != UINT64_MAX) {
		/* wake for the timer, not a poll interval later */
		uint64_t now = vm_now_ns(vm);
		uint64_t left = deadline > now ? deadline - now : 0;
		if (left < timeout_ns)
			timeout_ns = left;
	}
	if (timeout_ns) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		uint64_t ns = (uint64_t)until.tv_nsec + timeout_ns;
		until.tv_sec += (time_t)(ns / 1000000000ull);
		until.tv_nsec = (long)(ns % 1000000000ull);
		pthread_mutex_lock(&vm->intr_lock);
		while (seen == vm->intr_generation && !atomic_load(&vm->stopping))
			if (pthread_cond_timedwait(&vm->intr_wake, &vm->intr_lock, &until) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&vm->intr_lock);
	}
	atomic_fetch_sub(&vm->halted, 1);
	if (p && p->poll)
		p->poll(vm);
}
