/* Canonical state <-> KVM's register ioctls. KVM's segment layout is the
 * hidden descriptor cache, field for field, so the mapping is direct. */
#include <linux/kvm.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "engine/kvm_state.h"

static void seg_to_kvm(const struct segment *s, struct kvm_segment *k)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->selector;
	k->type = s->type;
	k->present = s->present;
	k->dpl = s->dpl;
	k->db = s->db;
	k->s = s->s;
	k->l = s->l;
	k->g = s->g;
	k->avl = s->avl;
	k->unusable = s->unusable;
}

static void seg_from_kvm(const struct kvm_segment *k, struct segment *s)
{
	memset(s, 0, sizeof(*s));
	s->base = k->base;
	s->limit = k->limit;
	s->selector = k->selector;
	s->type = k->type;
	s->present = k->present;
	s->dpl = k->dpl;
	s->db = k->db;
	s->s = k->s;
	s->l = k->l;
	s->g = k->g;
	s->avl = k->avl;
	s->unusable = k->unusable;
}

static struct kvm_segment *sreg_slot(struct kvm_sregs *sr, int i)
{
	struct kvm_segment *slots[SEG_COUNT] = {
		&sr->es, &sr->cs, &sr->ss, &sr->ds, &sr->fs, &sr->gs, &sr->ldt, &sr->tr,
	};
	return slots[i];
}

/* The MSRs of struct msr_state, in one table so get and set cannot drift. */
#define MSR_FIELD(idx, field) { idx, offsetof(struct msr_state, field) }
static const struct { uint32_t index; size_t offset; } msr_map[] = {
	MSR_FIELD(MSR_STAR, star),
	MSR_FIELD(MSR_LSTAR, lstar),
	MSR_FIELD(MSR_CSTAR, cstar),
	MSR_FIELD(MSR_SFMASK, sfmask),
	MSR_FIELD(MSR_KERNEL_GS_BASE, kernel_gs_base),
	MSR_FIELD(MSR_IA32_SYSENTER_CS, sysenter_cs),
	MSR_FIELD(MSR_IA32_SYSENTER_ESP, sysenter_esp),
	MSR_FIELD(MSR_IA32_SYSENTER_EIP, sysenter_eip),
	MSR_FIELD(MSR_IA32_TSC, tsc),
	MSR_FIELD(MSR_TSC_AUX, tsc_aux),
	MSR_FIELD(MSR_IA32_PAT, pat),
	MSR_FIELD(MSR_IA32_MISC_ENABLE, misc_enable),
};
#define NMSRS (sizeof(msr_map) / sizeof(msr_map[0]))

struct msr_block {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[NMSRS];
};

static void msr_block_init(struct msr_block *b)
{
	memset(b, 0, sizeof(*b));
	b->hdr.nmsrs = NMSRS;
	for (size_t i = 0; i < NMSRS; i++)
		b->e[i].index = msr_map[i].index;
}

static uint64_t *msr_slot(struct msr_state *m, size_t i)
{
	return (uint64_t *)((char *)m + msr_map[i].offset);
}

int kvm_state_get(int fd, struct cpu_state *s)
{
	struct kvm_regs r;
	struct kvm_sregs sr;
	struct kvm_fpu fpu;
	struct kvm_vcpu_events ev;
	struct kvm_debugregs dr;
	struct msr_block mb;
	if (ioctl(fd, KVM_GET_REGS, &r) < 0 || ioctl(fd, KVM_GET_SREGS, &sr) < 0 ||
	    ioctl(fd, KVM_GET_FPU, &fpu) < 0 || ioctl(fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -1;
	memset(s, 0, sizeof(*s));
	const uint64_t g[GPR_COUNT] = { r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
					r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15 };
	memcpy(s->gpr, g, sizeof(g));
	s->rip = r.rip;
	s->rflags = r.rflags;
	for (int i = 0; i < SEG_COUNT; i++)
		seg_from_kvm(sreg_slot(&sr, i), &s->seg[i]);
	s->gdt.base = sr.gdt.base;
	s->gdt.limit = sr.gdt.limit;
	s->idt.base = sr.idt.base;
	s->idt.limit = sr.idt.limit;
	s->cr0 = sr.cr0;
	s->cr2 = sr.cr2;
	s->cr3 = sr.cr3;
	s->cr4 = sr.cr4;
	s->cr8 = sr.cr8;
	s->msr.efer = sr.efer;
	s->msr.apic_base = sr.apic_base;
	s->fpu.fcw = fpu.fcw;
	s->fpu.fsw = fpu.fsw;
	s->fpu.ftw = fpu.ftwx;
	s->fpu.fop = fpu.last_opcode;
	s->fpu.fip = fpu.last_ip;
	s->fpu.fdp = fpu.last_dp;
	s->fpu.mxcsr = fpu.mxcsr;
	memcpy(s->fpu.st, fpu.fpr, sizeof(s->fpu.st));
	memcpy(s->fpu.xmm, fpu.xmm, sizeof(s->fpu.xmm));
	msr_block_init(&mb);
	if (ioctl(fd, KVM_GET_MSRS, &mb) == (int)NMSRS)
		for (size_t i = 0; i < NMSRS; i++)
			*msr_slot(&s->msr, i) = mb.e[i].data;
	if (ioctl(fd, KVM_GET_DEBUGREGS, &dr) == 0) {
		memcpy(s->dr, dr.db, sizeof(dr.db));
		s->dr[6] = dr.dr6;
		s->dr[7] = dr.dr7;
	}
	s->events.exception_pending = ev.exception.injected || ev.exception.pending;
	s->events.exception_vector = ev.exception.nr;
	s->events.exception_has_error = ev.exception.has_error_code;
	s->events.exception_error = ev.exception.error_code;
	s->events.interrupt_pending = ev.interrupt.injected;
	s->events.interrupt_vector = ev.interrupt.nr;
	s->events.interrupt_shadow = ev.interrupt.shadow;
	s->events.nmi_pending = ev.nmi.pending || ev.nmi.injected;
	s->events.nmi_masked = ev.nmi.masked;
	struct kvm_mp_state mp;
	if (ioctl(fd, KVM_GET_MP_STATE, &mp) == 0)
		s->events.halted = mp.mp_state == KVM_MP_STATE_HALTED;
	return 0;
}

int kvm_state_set(int fd, const struct cpu_state *s)
{
	struct kvm_regs r;
	struct kvm_sregs sr;
	struct kvm_fpu fpu;
	struct msr_block mb;
	/* Start from KVM's own sregs so the interrupt bitmap stays valid. */
	if (ioctl(fd, KVM_GET_SREGS, &sr) < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.rax = s->gpr[RAX]; r.rcx = s->gpr[RCX]; r.rdx = s->gpr[RDX]; r.rbx = s->gpr[RBX];
	r.rsp = s->gpr[RSP]; r.rbp = s->gpr[RBP]; r.rsi = s->gpr[RSI]; r.rdi = s->gpr[RDI];
	r.r8 = s->gpr[R8]; r.r9 = s->gpr[R9]; r.r10 = s->gpr[R10]; r.r11 = s->gpr[R11];
	r.r12 = s->gpr[R12]; r.r13 = s->gpr[R13]; r.r14 = s->gpr[R14]; r.r15 = s->gpr[R15];
	r.rip = s->rip;
	r.rflags = s->rflags | RFLAGS_FIXED;
	for (int i = 0; i < SEG_COUNT; i++)
		seg_to_kvm(&s->seg[i], sreg_slot(&sr, i));
	sr.gdt.base = s->gdt.base;
	sr.gdt.limit = s->gdt.limit;
	sr.idt.base = s->idt.base;
	sr.idt.limit = s->idt.limit;
	sr.cr0 = s->cr0;
	sr.cr2 = s->cr2;
	sr.cr3 = s->cr3;
	sr.cr4 = s->cr4;
	sr.cr8 = s->cr8;
	sr.efer = s->msr.efer;
	if (s->msr.apic_base)
		sr.apic_base = s->msr.apic_base;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = s->fpu.fcw;
	fpu.fsw = s->fpu.fsw;
	fpu.ftwx = s->fpu.ftw;
	fpu.last_opcode = s->fpu.fop;
	fpu.last_ip = s->fpu.fip;
	fpu.last_dp = s->fpu.fdp;
	fpu.mxcsr = s->fpu.mxcsr;
	memcpy(fpu.fpr, s->fpu.st, sizeof(fpu.fpr));
	memcpy(fpu.xmm, s->fpu.xmm, sizeof(fpu.xmm));
	if (ioctl(fd, KVM_SET_SREGS, &sr) < 0 || ioctl(fd, KVM_SET_REGS, &r) < 0 ||
	    ioctl(fd, KVM_SET_FPU, &fpu) < 0)
		return -1;
	msr_block_init(&mb);
	for (size_t i = 0; i < NMSRS; i++)
		mb.e[i].data = *msr_slot((struct msr_state *)&s->msr, i);
	if (ioctl(fd, KVM_SET_MSRS, &mb) < 0)
		return -1;
	return 0;
}
