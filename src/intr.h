/* Interrupt delivery for engines that have no interrupt controller of their
 * own (emu, and later raw): popek's PIC/IOAPIC/LAPIC/PIT models answer here.
 * Engines call these; they never see which device produced the vector.
 * With KVM's in-kernel irqchip none of this is used. */
#ifndef POPEK_INTR_H
#define POPEK_INTR_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;

/* The platform that implements the calls below registers itself here
 * (a DEVICE's create does it); NULL members mean "nothing pending". */
struct intr_platform {
	/* Highest-priority external interrupt ready for this vCPU, -1 if none.
	 * Does not look at RFLAGS.IF: the engine decides when it can take one. */
	int (*pending)(struct vcpu *cpu);
	/* The INTA cycle: takes the interrupt pending() reported, returns its vector. */
	int (*ack)(struct vcpu *cpu);
	/* NMI pending for this vCPU (cleared by reading). */
	bool (*take_nmi)(struct vcpu *cpu);
	/* MSRs the interrupt controllers own (APIC base, x2APIC 0x800-0x8ff,
	 * TSC deadline): 0 when handled, -1 when not theirs (the engine raises #GP
	 * or handles the MSR itself). */
	int (*rdmsr)(struct vcpu *cpu, uint32_t msr, uint64_t *value);
	int (*wrmsr)(struct vcpu *cpu, uint32_t msr, uint64_t value);
	/* Called by the machine while a vCPU is halted: advance timers. */
	void (*poll)(struct vm *vm);
	/* When the next timer fires (vm_now_ns() time), UINT64_MAX if none is
	 * armed: a halted vCPU sleeps (or, deterministic, skips) until then. */
	uint64_t (*next_deadline)(struct vm *vm);
	/* Routes an ISA/GSI line (vm_irq_line lands here when the engine has no irq_line). */
	void (*line)(struct vm *vm, unsigned line, int level);
	/* A message-signalled interrupt (vm_msi lands here likewise). */
	void (*msi)(struct vm *vm, uint64_t addr, uint32_t data);
	/* INIT/SIPI state: true while an AP waits for its startup IPI; *vector
	 * gets the SIPI vector once it has arrived. */
	bool (*wait_for_sipi)(struct vcpu *cpu, int *vector);
};

void intr_platform_register(struct vm *vm, const struct intr_platform *p, void *opaque);
void *intr_platform_opaque(struct vm *vm);

/* Engine side. All are safe to call with no platform registered. */
int intr_pending(struct vcpu *cpu);
int intr_ack(struct vcpu *cpu);
bool intr_take_nmi(struct vcpu *cpu);
int intr_rdmsr(struct vcpu *cpu, uint32_t msr, uint64_t *value);
int intr_wrmsr(struct vcpu *cpu, uint32_t msr, uint64_t value);

/* Machine side: a device raised something; wake halted vCPUs. */
void intr_kick(struct vm *vm);
/* Blocks a halted vCPU until an interrupt may be pending, a stop, the
 * next timer deadline, or timeout_ns. In a deterministic run, when every
 * vCPU is halted, the machine's clock jumps to the next deadline instead. */
void intr_wait(struct vcpu *cpu, uint64_t timeout_ns);

#endif
