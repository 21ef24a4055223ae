/* The KVM engine's private pieces shared between its files. */
#ifndef POPEK_KVM_STATE_H
#define POPEK_KVM_STATE_H

#include "cpu_state.h"

struct vm;
struct vcpu;

/* Converts between the canonical state and KVM's regs/sregs/fpu/msrs/events. */
int kvm_state_get(int vcpu_fd, struct cpu_state *s);
int kvm_state_set(int vcpu_fd, const struct cpu_state *s);

int kvm_vcpu_stats_fd(struct vcpu *cpu);
/* Prints the exits KVM answered in the kernel (HLT, in-kernel I/O). */
void kvm_stats_print(struct vm *vm, int fd);

#endif
