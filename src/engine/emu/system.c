/* System instructions: control and debug registers, descriptor tables,
 * MSRs, CPUID, the TSC, SYSCALL/SYSRET, SYSENTER/SYSEXIT, CLI/STI/HLT and
 * the descriptor queries (LAR/LSL/VERR/VERW). */
#include <string.h>

#include "engine/emu/emu.h"
#include "intr.h"
#include "vm.h"

static void need_cpl0(struct emu_cpu *c)
{
	if (c->cpl != 0)
		raise_gp(c, 0);
}

static void need_pm(struct emu_cpu *c)
{
	if (!c->pe || c->v86)
		raise_ud(c);
}

/* ---- CPUID: advertises exactly what this engine implements */

/* the hypervisor leaf's signature, shared with the KVM engine */
static const char hv_signature[12] = { 'P', 'o', 'p', 'e', 'k', 'P', 'o', 'p', 'e', 'k', 'V', 'M' };

void cpuid_query(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	memset(out, 0, 16);
	switch (leaf) {
	case 0:
		out[0] = 0x16;
		memcpy(&out[1], "Genu", 4);
		memcpy(&out[3], "ineI", 4);
		memcpy(&out[2], "ntel", 4);
		break;
	case 1:
		out[0] = 0x000606a0 | 0x0;   /* family 6 */
		out[1] = (8 << 8) | (1 << 16);
		/* ECX: CX16, POPCNT, hypervisor */
		out[2] = (1u << 13) | (1u << 23) | (1u << 31);
		/* EDX: FPU DE PSE TSC MSR PAE MCE CX8 SEP PGE MCA CMOV PAT PSE36 CLFSH MMX
		 * FXSR SSE SSE2 */
		out[3] = (1u << 0) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) |
			 (1u << 7) | (1u << 8) | (1u << 11) | (1u << 13) | (1u << 14) | (1u << 15) |
			 (1u << 16) | (1u << 17) |
			 (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);
		break;
	case 7:
		if (sub != 0)
			break;
		/* EBX: TSC_ADJUST; ERMS (REP MOVSB/STOSB are the fast way to
		 * copy: the string unit copies whole spans on the host) */
		out[1] = (1u << 1) | (1u << 9);
		/* EDX: FSRM, IBRS/IBPB (SPEC_CTRL, PRED_CMD), IA32_ARCH_CAPABILITIES */
		out[3] = (1u << 4) | (1u << 26) | (1u << 29);
		break;
	case 0x15:
		/* TSC and core crystal clock: the TSC ticks at the crystal's rate,
		 * which is also the local APIC timer's bus clock, so the guest
		 * knows both without calibrating them against the PIT */
		out[0] = 1;
		out[1] = 1;
		out[2] = (uint32_t)VM_CLOCK_HZ;
		break;
	case 0x16:
		out[0] = out[1] = (uint32_t)(VM_CLOCK_HZ / 1000000);  /* base and max MHz */
		out[2] = (uint32_t)(VM_CLOCK_HZ / 1000000);          /* bus MHz */
		break;
	case 0x40000000:
		out[0] = 0x40000000;
		memcpy(&out[1], hv_signature, 4);
		memcpy(&out[2], hv_signature + 4, 4);
		memcpy(&out[3], hv_signature + 8, 4);
		break;
	case 0x80000000:
		out[0] = 0x80000008;
		break;
	case 0x80000001:
		out[2] = 1;   /* LAHF/SAHF in 64-bit mode */
		/* SYSCALL, NX, 1 GiB pages, RDTSCP, long mode */
		out[3] = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29);
		break;
	case 0x80000002: case 0x80000003: case 0x80000004: {
		static const char brand[48] = "popek emulated x86-64 CPU";
		memcpy(out, brand + 16 * (leaf - 0x80000002), 16);
		break;
	}
	case 0x80000007:
		/* invariant TSC: it counts the machine's 1 GHz clock in every
		 * state (with TSC_ADJUST this lets Linux trust it without
		 * checking it against a slower clock) */
		out[3] = 1u << 8;
		break;
	case 0x80000008:
		out[0] = 40 | (48 << 8);
		break;
	default:
		break;
	}
}

#define APIC_BASE_EN   (1ull << 11)   /* IA32_APIC_BASE: the APIC is enabled */

static void op_cpuid(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	uint32_t out[4];
	cpuid_query((uint32_t)c->s.gpr[RAX], (uint32_t)c->s.gpr[RCX], out);
	if ((uint32_t)c->s.gpr[RAX] == 1) {
		out[1] |= (uint32_t)c->vcpu_index << 24;
		/* the local APIC is the machine's; advertise it when the machine
		 * has registered its interrupt controllers, and while
		 * IA32_APIC_BASE has it enabled (SDM vol. 3A 11.4.3: a
		 * disabled APIC clears CPUID.1:EDX.APIC); it can be an x2APIC */
		uint64_t base;
		if (c->vm->intr && intr_rdmsr(c->vcpu, MSR_IA32_APIC_BASE, &base) == 0) {
			if (base & APIC_BASE_EN)
				out[3] |= 1u << 9;
			out[2] |= 1u << 21;
		}
	}
	c->s.gpr[RAX] = out[0];
	c->s.gpr[RBX] = out[1];
	c->s.gpr[RCX] = out[2];
	c->s.gpr[RDX] = out[3];
}

/* ---- MSRs */

#define MSR_BIOS_SIGN_ID 0x8b   /* microcode revision */
#define MSR_TSC_ADJUST 0x3b
#define MSR_SPEC_CTRL 0x48
/* Machine check (SDM vol. 3B 16.3), as CPUID's MCE and MCA promise:
 * MCG_CAP names the banks and MCG_CTL; each bank is CTL, STATUS, ADDR,
 * MISC from 0x400. Nothing ever goes wrong here, so STATUS, ADDR and MISC
 * read 0 and take only 0 (other values #GP, as the SDM says for STATUS). */
#define MSR_MCG_CAP    0x179
#define MSR_MCG_STATUS 0x17a
#define MSR_MCG_CTL    0x17b
#define MSR_MC0_CTL    0x400
#define MCG_CTL_P      (1ull << 8)
#define MSR_PRED_CMD 0x49
#define MSR_ARCH_CAPABILITIES 0x10a
#define SPEC_CTRL_BITS 0x7      /* IBRS, STIBP, SSBD */
#define MISC_ENABLE_FAST_STRING 1ull  /* always on: no BIOS here to turn it on */

/* This CPU does not speculate, so it has none of the speculative-execution
 * flaws; saying so lets a guest skip their costly mitigations (page-table
 * isolation, retpolines, return thunks, buffer clearing): RDCL_NO,
 * IBRS_ALL, SSB_NO, MDS_NO, IF_PSCHANGE_MC_NO, TAA_NO, SBDR_SSDP_NO,
 * FBSDP_NO, PSDP_NO, BHI_NO, PBRSB_NO, GDS_NO, RFDS_NO, ITS_NO. */
static const uint64_t arch_capabilities =
	(1ull << 0) | (1ull << 1) | (1ull << 4) | (1ull << 5) | (1ull << 6) | (1ull << 8) |
	(1ull << 13) | (1ull << 14) | (1ull << 15) | (1ull << 20) | (1ull << 24) |
	(1ull << 26) | (1ull << 27) | (1ull << 62);

/* The TSC runs at 1 GHz on the machine's clock, which the interrupt
 * platform's TSC-deadline timer compares with. */
uint64_t tsc_now(struct emu_cpu *c)
{
	return c->tsc_base + vm_now_ns(c->vm);
}

uint64_t msr_read(struct emu_cpu *c, uint32_t idx, bool *ok)
{
	const struct msr_state *m = &c->s.msr;
	*ok = true;
	switch (idx) {
	case MSR_EFER: return m->efer;
	case MSR_STAR: return m->star;
	case MSR_LSTAR: return m->lstar;
	case MSR_CSTAR: return m->cstar;
	case MSR_SFMASK: return m->sfmask;
	case MSR_KERNEL_GS_BASE: return m->kernel_gs_base;
	case MSR_FS_BASE: return c->s.seg[SEG_FS].base;
	case MSR_GS_BASE: return c->s.seg[SEG_GS].base;
	case MSR_IA32_SYSENTER_CS: return m->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP: return m->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP: return m->sysenter_eip;
	case MSR_IA32_TSC: return tsc_now(c);
	case MSR_TSC_ADJUST: return c->tsc_adjust;
	case MSR_TSC_AUX: return m->tsc_aux;
	case MSR_IA32_PAT: return m->pat;
	case MSR_IA32_APIC_BASE: return m->apic_base;
	case MSR_IA32_MISC_ENABLE: return m->misc_enable | MISC_ENABLE_FAST_STRING;
	case MSR_IA32_TSC_DEADLINE: return m->tsc_deadline;
	case MSR_BIOS_SIGN_ID: return 0;  /* no microcode update loaded */
	case MSR_SPEC_CTRL: return c->spec_ctrl;
	case MSR_ARCH_CAPABILITIES: return arch_capabilities;
	case MSR_MCG_CAP: return MCG_CTL_P | MCE_BANKS;
	case MSR_MCG_STATUS: return c->mcg_status;
	case MSR_MCG_CTL: return c->mcg_ctl;
	default:
		if (idx >= MSR_MC0_CTL && idx < MSR_MC0_CTL + 4 * MCE_BANKS)
			return (idx & 3) == 0 ? c->mc_ctl[(idx - MSR_MC0_CTL) / 4] : 0;
		*ok = false;
		return 0;
	}
}

static bool canonical(uint64_t v)
{
	return is_canonical(v);
}

bool msr_write(struct emu_cpu *c, uint32_t idx, uint64_t v)
{
	struct msr_state *m = &c->s.msr;
	switch (idx) {
	case MSR_EFER: {
		uint64_t allowed = EFER_SCE | EFER_LME | EFER_NXE;
		if (v & ~(allowed | EFER_LMA))
			return false;
		/* LME cannot change while paging is on; LMA is the CPU's to set */
		if ((c->s.cr0 & CR0_PG) && ((v ^ m->efer) & EFER_LME))
			return false;
		m->efer = (v & allowed) | (m->efer & EFER_LMA);
		tlb_flush(c, false);
		emu_update_mode(c);
		return true;
	}
	case MSR_STAR: m->star = v; return true;
	case MSR_LSTAR: if (!canonical(v)) return false; m->lstar = v; return true;
	case MSR_CSTAR: if (!canonical(v)) return false; m->cstar = v; return true;
	case MSR_SFMASK: m->sfmask = v & 0xffffffffull; return true;
	case MSR_KERNEL_GS_BASE: if (!canonical(v)) return false; m->kernel_gs_base = v; return true;
	case MSR_FS_BASE: if (!canonical(v)) return false; c->s.seg[SEG_FS].base = v; return true;
	case MSR_GS_BASE: if (!canonical(v)) return false; c->s.seg[SEG_GS].base = v; return true;
	case MSR_IA32_SYSENTER_CS: m->sysenter_cs = v & 0xffff; return true;
	case MSR_IA32_SYSENTER_ESP: if (!canonical(v)) return false; m->sysenter_esp = v; return true;
	case MSR_IA32_SYSENTER_EIP: if (!canonical(v)) return false; m->sysenter_eip = v; return true;
	case MSR_IA32_TSC:
		/* IA32_TSC_ADJUST follows every write to the TSC */
		c->tsc_adjust += v - tsc_now(c);
		c->tsc_base = v - vm_now_ns(c->vm);
		return true;
	case MSR_TSC_ADJUST:
		c->tsc_base += v - c->tsc_adjust;
		c->tsc_adjust = v;
		return true;
	case MSR_TSC_AUX: m->tsc_aux = v & 0xffffffffull; return true;
	case MSR_IA32_PAT: m->pat = v; return true;
	case MSR_IA32_APIC_BASE: m->apic_base = v; return true;
	case MSR_IA32_MISC_ENABLE: m->misc_enable = v; return true;
	case MSR_IA32_TSC_DEADLINE: m->tsc_deadline = v; return true;
	case MSR_BIOS_SIGN_ID: return true;  /* written before CPUID to read the revision */
	case MSR_SPEC_CTRL:
		if (v & ~(uint64_t)SPEC_CTRL_BITS)
			return false;
		c->spec_ctrl = v;
		return true;
	case MSR_PRED_CMD: return !(v & ~1ull);  /* IBPB: nothing to flush */
	case MSR_MCG_STATUS: c->mcg_status = v & 7; return !(v & ~7ull);   /* RIPV EIPV MCIP */
	case MSR_MCG_CTL: c->mcg_ctl = v; return true;
	default:
		if (idx >= MSR_MC0_CTL && idx < MSR_MC0_CTL + 4 * MCE_BANKS) {
			if ((idx & 3) != 0)
				return v == 0;
			c->mc_ctl[(idx - MSR_MC0_CTL) / 4] = v;
			return true;
		}
		return false;
	}
}

static void op_rdmsr(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	need_cpl0(c);
	bool ok = true;
	uint64_t v;
	/* the interrupt controllers own the APIC MSRs when the machine has them */
	if (intr_rdmsr(c->vcpu, (uint32_t)c->s.gpr[RCX], &v) < 0)
		v = msr_read(c, (uint32_t)c->s.gpr[RCX], &ok);
	if (!ok)
		raise_gp(c, 0);
	c->s.gpr[RAX] = (uint32_t)v;
	c->s.gpr[RDX] = v >> 32;
}

static void op_wrmsr(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	need_cpl0(c);
	uint64_t v = (c->s.gpr[RDX] << 32) | (uint32_t)c->s.gpr[RAX];
	uint32_t idx = (uint32_t)c->s.gpr[RCX];
	if (intr_wrmsr(c->vcpu, idx, v) == 0) {
		c->irq_maybe = true;
		return;
	}
	/* IA32_APIC_BASE and the x2APIC MSRs are the machine's APIC's: its
	 * refusal (a forbidden mode change, a read-only register) is #GP */
	if (c->vm->intr && (idx == MSR_IA32_APIC_BASE || (idx >= 0x800 && idx <= 0x8ff)))
		raise_gp(c, 0);
	if (!msr_write(c, (uint32_t)c->s.gpr[RCX], v))
		raise_gp(c, 0);
	c->stop |= STOP_BLOCK;
}

static void op_rdtsc(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	if ((c->s.cr4 & CR4_TSD) && c->cpl != 0)
		raise_gp(c, 0);
	uint64_t t = tsc_now(c);
	c->s.gpr[RAX] = (uint32_t)t;
	c->s.gpr[RDX] = t >> 32;
}

static void op_rdpmc(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	raise_gp(c, 0);
}

/* ---- control and debug registers */

/* PAE paging outside long mode loads the four PDPTEs when CR3 is written
 * or PAE paging is switched on; a present one with reserved bits set
 * (2:1, 8:5, 63:MAXPHYADDR, which is 40 here as CPUID 0x80000008 says)
 * is #GP(0) and the register keeps its old value (Intel SDM vol. 3A
 * 4.4.1). The walk reads them again later; this is only the check. */
#define PDPTE_RSVD (0x1e6ull | ~((1ull << 40) - 1))
static void check_pdptes(struct emu_cpu *c, uint64_t cr3)
{
	for (int i = 0; i < 4; i++) {
		uint64_t e = phys_read(c, (cr3 & 0xffffffe0ull) + (uint64_t)i * 8, 8);
		if ((e & 1) && (e & PDPTE_RSVD))
			raise_gp(c, 0);
	}
}

static bool pae_legacy(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LME);
}

static void write_cr0(struct emu_cpu *c, uint64_t v)
{
	if (v >> 32)
		raise_gp(c, 0);
	if ((v & CR0_PG) && !(v & CR0_PE))
		raise_gp(c, 0);
	if ((v & CR0_NW) && !(v & CR0_CD))
		raise_gp(c, 0);
	uint64_t old = c->s.cr0;
	if ((v & CR0_PG) && !(old & CR0_PG) && (c->s.msr.efer & EFER_LME)) {
		if (!(c->s.cr4 & CR4_PAE))
			raise_gp(c, 0);
		c->s.msr.efer |= EFER_LMA;
	}
	if (!(v & CR0_PG) && (old & CR0_PG) && (c->s.msr.efer & EFER_LMA)) {
		if (c->code64)
			raise_gp(c, 0);
		c->s.msr.efer &= ~EFER_LMA;
	}
	if (pae_legacy(v, c->s.cr4, c->s.msr.efer) && !pae_legacy(old, c->s.cr4, c->s.msr.efer))
		check_pdptes(c, c->s.cr3);
	c->s.cr0 = v | CR0_ET;
	if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE))
		tlb_flush(c, false);
	emu_update_mode(c);
}

static void write_cr4(struct emu_cpu *c, uint64_t v)
{
	uint64_t allowed = CR4_DE | CR4_PSE | CR4_PAE | CR4_PGE | CR4_TSD | CR4_PCE |
			   CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_MCE;
	if (v & ~allowed)
		raise_gp(c, 0);
	if ((c->s.msr.efer & EFER_LMA) && !(v & CR4_PAE))
		raise_gp(c, 0);
	/* a change of PAE, PGE or PSE under PAE paging reloads the PDPTEs */
	if (pae_legacy(c->s.cr0, v, c->s.msr.efer) && ((v ^ c->s.cr4) & (CR4_PAE | CR4_PGE | CR4_PSE)))
		check_pdptes(c, c->s.cr3);
	c->s.cr4 = v;
	tlb_flush(c, false);
	emu_update_mode(c);
}

/* CR8 is the local APIC's TPR[7:4]. The APIC is the machine's: reach its
 * TPR through the x2APIC MSR or the xAPIC page, as the guest itself would;
 * without a machine APIC CR8 is a plain register. */
#define X2APIC_TPR_MSR 0x808
#define APIC_BASE_EXTD (1ull << 10)

static void tpr_write(struct emu_cpu *c, uint64_t v)
{
	uint64_t base;
	c->s.cr8 = v;
	if (intr_rdmsr(c->vcpu, MSR_IA32_APIC_BASE, &base) < 0)
		return;
	if (base & APIC_BASE_EXTD)
		intr_wrmsr(c->vcpu, X2APIC_TPR_MSR, v << 4);
	else if (base & APIC_BASE_EN)
		phys_write(c, (base & ~0xfffull) + 0x80, 4, v << 4);
}

static uint64_t tpr_read(struct emu_cpu *c)
{
	uint64_t base, tpr;
	if (intr_rdmsr(c->vcpu, MSR_IA32_APIC_BASE, &base) < 0)
		return c->s.cr8;
	if (base & APIC_BASE_EXTD) {
		if (intr_rdmsr(c->vcpu, X2APIC_TPR_MSR, &tpr) < 0)
			return c->s.cr8;
	} else if (base & APIC_BASE_EN) {
		tpr = phys_read(c, (base & ~0xfffull) + 0x80, 4);
	} else {
		return c->s.cr8;
	}
	c->s.cr8 = (tpr >> 4) & 0xf;
	return c->s.cr8;
}

static void op_mov_cr(struct emu_cpu *c, const struct insn *i)
{
	need_cpl0(c);
	int cr = i->reg;
	int size = c->long_mode ? 8 : 4;
	bool to_cr = i->op == 0x122;
	if (to_cr) {
		uint64_t v = reg_read(c, i->rm, size, true);
		switch (cr) {
		case 0: write_cr0(c, v); break;
		case 2: c->s.cr2 = v; break;
		case 3:
			if (c->long_mode && (v >> 40))
				raise_gp(c, 0);
			if (pae_legacy(c->s.cr0, c->s.cr4, c->s.msr.efer))
				check_pdptes(c, v);
			c->s.cr3 = v;
			tlb_flush(c, true);
			c->stop |= STOP_BLOCK;
			break;
		case 4: write_cr4(c, v); break;
		case 8:
			if (v >> 4)
				raise_gp(c, 0);
			tpr_write(c, v);
			c->stop |= STOP_BLOCK;
			c->irq_maybe = true;
			break;
		default: raise_ud(c);
		}
		return;
	}
	uint64_t v;
	switch (cr) {
	case 0: v = c->s.cr0; break;
	case 2: v = c->s.cr2; break;
	case 3: v = c->s.cr3; break;
	case 4: v = c->s.cr4; break;
	case 8: v = tpr_read(c); break;
	default: raise_ud(c);
	}
	reg_write(c, i->rm, size, true, v);
}

static void op_mov_dr(struct emu_cpu *c, const struct insn *i)
{
	need_cpl0(c);
	int dr = i->reg;
	if (dr > 7)
		raise_ud(c);
	if (dr == 4 || dr == 5) {
		if (c->s.cr4 & CR4_DE)
			raise_ud(c);
		dr += 2;
	}
	int size = c->long_mode ? 8 : 4;
	if (i->op == 0x123) {
		uint64_t v = reg_read(c, i->rm, size, true);
		if (dr >= 6 && (v >> 32))
			raise_gp(c, 0);
		if (dr == 6)
			v = (v & 0xe00f) | 0xffff0ff0;
		if (dr == 7)
			v = (v & ~0xd800ull) | 0x400;
		c->s.dr[dr] = v;
		update_mem_hooks(c);
		c->stop |= STOP_BLOCK;
	} else {
		reg_write(c, i->rm, size, true, c->s.dr[dr]);
	}
}

static void op_clts(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	need_cpl0(c);
	c->s.cr0 &= ~CR0_TS;
}

static void op_invd(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	need_cpl0(c);
}

/* ---- interrupt flag and halt */

static void op_cli(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	if (c->pe && c->cpl > (int)((c->s.rflags >> 12) & 3))
		raise_gp(c, 0);
	c->s.rflags &= ~(uint64_t)RFLAGS_IF;
}

static void op_sti(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	if (c->pe && c->cpl > (int)((c->s.rflags >> 12) & 3))
		raise_gp(c, 0);
	if (!(c->s.rflags & RFLAGS_IF))
		c->s.events.interrupt_shadow |= SHADOW_STI;
	c->s.rflags |= RFLAGS_IF;
	c->stop |= STOP_BLOCK;
}

static void op_hlt(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	need_cpl0(c);
	c->s.events.halted = true;
	c->pend.reason = EXIT_HLT;
	c->stop |= STOP_EXIT;
}

/* ---- descriptor tables */

static void op_grp7(struct emu_cpu *c, const struct insn *i)
{
	int sub = i->reg & 7;
	if (i->mod == 3) {
		int form = sub << 3 | (i->rm & 7);
		switch (form) {
		case 0x3a: /* 0F 01 FA..: none */
			break;
		case 0x38: /* SWAPGS */
			if (!c->code64)
				raise_ud(c);
			need_cpl0(c);
			{
				uint64_t t = c->s.seg[SEG_GS].base;
				c->s.seg[SEG_GS].base = c->s.msr.kernel_gs_base;
				c->s.msr.kernel_gs_base = t;
			}
			return;
		case 0x39: { /* RDTSCP */
			if ((c->s.cr4 & CR4_TSD) && c->cpl != 0)
				raise_gp(c, 0);
			uint64_t t = tsc_now(c);
			c->s.gpr[RAX] = (uint32_t)t;
			c->s.gpr[RDX] = t >> 32;
			c->s.gpr[RCX] = (uint32_t)c->s.msr.tsc_aux;
			return;
		}
		default:
			break;
		}
		if (sub == 4) { /* SMSW r */
			reg_write(c, i->rm, i->osize, i->rex, c->s.cr0);
			return;
		}
		if (sub == 6) { /* LMSW r */
			need_cpl0(c);
			uint64_t v = reg_read(c, i->rm, 2, i->rex);
			write_cr0(c, (c->s.cr0 & ~0xeull) | (v & 0xf) | (c->s.cr0 & CR0_PE));
			return;
		}
		raise_ud(c);
	}
	uint64_t ea = insn_ea(c, i);
	switch (sub) {
	case 0: case 1: { /* SGDT SIDT */
		const struct dtable *t = sub == 0 ? &c->s.gdt : &c->s.idt;
		mem_write(c, i->seg, ea, 2, t->limit);
		if (c->code64)
			mem_write(c, i->seg, ea + 2, 8, t->base);
		else
			mem_write(c, i->seg, (ea + 2) & size_mask(i->asize), 4,
				  i->osize == 2 ? t->base & 0xffffff : t->base & 0xffffffff);
		return;
	}
	case 2: case 3: { /* LGDT LIDT */
		need_cpl0(c);
		uint16_t limit = mem_read(c, i->seg, ea, 2);
		uint64_t base;
		if (c->code64) {
			base = mem_read(c, i->seg, ea + 2, 8);
			if (!canonical(base))
				raise_gp(c, 0);
		} else {
			base = mem_read(c, i->seg, (ea + 2) & size_mask(i->asize), 4);
			if (i->osize == 2)
				base &= 0xffffff;
		}
		struct dtable *t = sub == 2 ? &c->s.gdt : &c->s.idt;
		t->limit = limit;
		t->base = base;
		return;
	}
	case 4: /* SMSW m16 */
		mem_write(c, i->seg, ea, 2, c->s.cr0 & 0xffff);
		return;
	case 6: { /* LMSW m16 */
		need_cpl0(c);
		uint64_t v = mem_read(c, i->seg, ea, 2);
		write_cr0(c, (c->s.cr0 & ~0xeull) | (v & 0xf) | (c->s.cr0 & CR0_PE));
		return;
	}
	case 7: { /* INVLPG */
		need_cpl0(c);
		uint64_t lin = c->code64 ? ea + ((i->seg == SEG_FS || i->seg == SEG_GS) ? c->s.seg[i->seg].base : 0)
					 : (c->s.seg[i->seg].base + ea) & 0xffffffffull;
		tlb_flush_page(c, lin);
		c->stop |= STOP_BLOCK;
		return;
	}
	default:
		raise_ud(c);
	}
}

/* Loads LDTR or TR from a GDT system descriptor of the wanted type(s). */
static void load_system_seg(struct emu_cpu *c, int which, uint16_t sel)
{
	struct segment *s = &c->s.seg[which];
	if ((sel & 0xfffc) == 0) {
		if (which == SEG_TR)
			raise_gp(c, 0);
		memset(s, 0, sizeof(*s));
		s->selector = sel;
		s->unusable = 1;
		return;
	}
	if (sel & 4)
		raise_gp(c, sel & 0xfffc);
	uint64_t lo, hi = 0;
	read_descriptor(c, sel, &lo, c->long_mode ? &hi : NULL, true, 13);
	struct segment n;
	desc_to_seg(&n, sel, lo, hi);
	bool ok = !n.s && (which == SEG_LDT ? n.type == 2 : (n.type == 9 || (!c->long_mode && n.type == 1)));
	/* a 16-byte descriptor's base must be canonical (SDM vol. 2, LLDT/LTR) */
	if (!ok || (c->long_mode && !is_canonical(n.base)))
		raise_gp(c, sel & 0xfffc);
	if (!n.present)
		raise_fault(c, 11, true, sel & 0xfffc);
	if (which == SEG_TR) {
		/* mark the descriptor busy, in memory and in the cache */
		uint64_t a = c->s.gdt.base + (sel & 0xfff8) + 5;
		if (!c->long_mode)
			a &= 0xffffffffull;
		lin_write(c, a, 1, ((lo >> 40) & 0xff) | 2, false);
		n.type |= 2;
	}
	*s = n;
}

/* LAR/LSL/VERR/VERW: is sel visible at this CPL/RPL for the query? */
static bool query_desc(struct emu_cpu *c, uint16_t sel, int what, uint64_t *lo_out)
{
	if ((sel & 0xfffc) == 0)
		return false;
	uint64_t lo;
	if (!read_descriptor(c, sel, &lo, NULL, false, 13))
		return false;
	struct segment n;
	desc_to_seg(&n, sel, lo, 0);
	bool conforming_code = n.s && (n.type & 0xc) == 0xc;
	if (!conforming_code && (n.dpl < c->cpl || n.dpl < (sel & 3)))
		return false;
	if (!n.s) {
		/* valid system types differ between LAR and LSL, and by mode */
		int t = n.type;
		bool ok;
		if (c->long_mode)
			ok = t == 2 || t == 9 || t == 11 || (what == 0 && t == 12);
		else
			ok = t == 1 || t == 2 || t == 3 || t == 9 || t == 11 ||
			     (what == 0 && (t == 4 || t == 5 || t == 12));
		if (what >= 2 || !ok)
			return false;
	} else if (what == 2) { /* VERR: data, or readable code */
		if ((n.type & 8) && !(n.type & 2))
			return false;
	} else if (what == 3) { /* VERW: writable data */
		if ((n.type & 8) || !(n.type & 2))
			return false;
	}
	*lo_out = lo;
	return true;
}

static void op_grp6(struct emu_cpu *c, const struct insn *i)
{
	int sub = i->reg & 7;
	need_pm(c);
	switch (sub) {
	case 0: case 1: { /* SLDT STR */
		uint16_t v = c->s.seg[sub == 0 ? SEG_LDT : SEG_TR].selector;
		if (i->mod == 3)
			reg_write(c, i->rm, i->osize, i->rex, v);
		else
			rm_write(c, i, 2, v);
		return;
	}
	case 2: case 3: /* LLDT LTR */
		need_cpl0(c);
		load_system_seg(c, sub == 2 ? SEG_LDT : SEG_TR, rm_read(c, i, 2));
		return;
	case 4: case 5: { /* VERR VERW */
		uint64_t lo;
		bool ok = query_desc(c, rm_read(c, i, 2), sub == 4 ? 2 : 3, &lo);
		set_flags_masked(c, ok ? RFLAGS_ZF : 0, RFLAGS_ZF);
		return;
	}
	default:
		raise_ud(c);
	}
}

static void op_lar_lsl(struct emu_cpu *c, const struct insn *i)
{
	need_pm(c);
	uint64_t lo;
	uint16_t sel = rm_read(c, i, 2);
	bool ok = query_desc(c, sel, i->op == 0x102 ? 0 : 1, &lo);
	set_flags_masked(c, ok ? RFLAGS_ZF : 0, RFLAGS_ZF);
	if (!ok)
		return;
	uint64_t v;
	if (i->op == 0x102) {
		v = (lo >> 32) & 0x00f0ff00;
	} else {
		struct segment n;
		desc_to_seg(&n, sel, lo, 0);
		v = n.limit;
	}
	reg_write(c, i->reg, i->osize, i->rex, v);
}

/* ---- fast system calls */

static void flat_code(struct segment *s, uint16_t sel, int dpl, bool l)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = 0xb;
	s->s = 1;
	s->dpl = dpl;
	s->present = 1;
	s->l = l;
	s->db = !l;
	s->g = 1;
}

static void flat_stack(struct segment *s, uint16_t sel, int dpl)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = 3;
	s->s = 1;
	s->dpl = dpl;
	s->present = 1;
	s->db = 1;
	s->g = 1;
}

static void op_syscall(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	if (!c->code64 || !(c->s.msr.efer & EFER_SCE))
		raise_ud(c);
	uint64_t f = get_flags(c);
	c->s.gpr[RCX] = c->next_rip;
	c->s.gpr[R11] = f & ~(uint64_t)RFLAGS_RF;
	uint16_t sel = (c->s.msr.star >> 32) & 0xfffc;
	flat_code(&c->s.seg[SEG_CS], sel, 0, true);
	flat_stack(&c->s.seg[SEG_SS], sel + 8, 0);
	set_flags(c, f & ~(c->s.msr.sfmask | RFLAGS_RF));
	c->next_rip = c->s.msr.lstar;
	emu_update_mode(c);
}

static void op_sysret(struct emu_cpu *c, const struct insn *i)
{
	if (!c->code64 || !(c->s.msr.efer & EFER_SCE))
		raise_ud(c);
	need_cpl0(c);
	bool to64 = i->rex & 8;
	if (to64 && !canonical(c->s.gpr[RCX]))
		raise_gp(c, 0);
	uint16_t base = (c->s.msr.star >> 48) & 0xffff;
	uint16_t cs = (to64 ? base + 16 : base) | 3;
	flat_code(&c->s.seg[SEG_CS], cs, 3, to64);
	/* SS keeps its selector-derived attributes, as the SDM describes */
	flat_stack(&c->s.seg[SEG_SS], (base + 8) | 3, 3);
	c->next_rip = to64 ? c->s.gpr[RCX] : (uint32_t)c->s.gpr[RCX];
	set_flags(c, (c->s.gpr[R11] & 0x3c7fd7) | RFLAGS_FIXED);
	emu_update_mode(c);
}

static void op_sysenter(struct emu_cpu *c, const struct insn *i)
{
	(void)i;
	if (!c->pe || (c->s.msr.sysenter_cs & 0xfffc) == 0)
		raise_gp(c, 0);
	uint16_t sel = c->s.msr.sysenter_cs & 0xfffc;
	uint64_t f = get_flags(c);
	set_flags(c, f & ~(uint64_t)(RFLAGS_VM | RFLAGS_IF | RFLAGS_RF));
	flat_code(&c->s.seg[SEG_CS], sel, 0, c->long_mode);
	flat_stack(&c->s.seg[SEG_SS], sel + 8, 0);
	c->s.gpr[RSP] = c->long_mode ? c->s.msr.sysenter_esp : (uint32_t)c->s.msr.sysenter_esp;
	c->next_rip = c->long_mode ? c->s.msr.sysenter_eip : (uint32_t)c->s.msr.sysenter_eip;
	emu_update_mode(c);
}

static void op_sysexit(struct emu_cpu *c, const struct insn *i)
{
	if (!c->pe || c->v86 || c->cpl != 0 || (c->s.msr.sysenter_cs & 0xfffc) == 0)
		raise_gp(c, 0);
	bool to64 = i->rex & 8;
	uint16_t base = c->s.msr.sysenter_cs & 0xfffc;
	flat_code(&c->s.seg[SEG_CS], (base + (to64 ? 32 : 16)) | 3, 3, to64);
	flat_stack(&c->s.seg[SEG_SS], (base + (to64 ? 40 : 24)) | 3, 3);
	c->s.gpr[RSP] = to64 ? c->s.gpr[RCX] : (uint32_t)c->s.gpr[RCX];
	c->next_rip = to64 ? c->s.gpr[RDX] : (uint32_t)c->s.gpr[RDX];
	emu_update_mode(c);
}

/* 0F AE: fences, CLFLUSH, and the MXCSR/FXSAVE forms (fpu.c) */

static void op_grp15(struct emu_cpu *c, const struct insn *i)
{
	int sub = i->reg & 7;
	if (i->mod == 3) {
		if (sub >= 5 && !i->rep)
			return;  /* LFENCE MFENCE SFENCE: one CPU, in order */
		raise_ud(c);
	}
	if (sub == 7 && !i->rep) { /* CLFLUSH: caches are not modelled, but the address must be valid */
		mem_read(c, i->seg, insn_ea(c, i), 1);
		return;
	}
	fpu_grp15(c, i);
}

void system_register(insn_fn *t)
{
	t[0x1a2] = op_cpuid;
	t[0x132] = op_rdmsr;
	t[0x130] = op_wrmsr;
	t[0x131] = op_rdtsc;
	t[0x133] = op_rdpmc;
	t[0x120] = t[0x122] = op_mov_cr;
	t[0x121] = t[0x123] = op_mov_dr;
	t[0x106] = op_clts;
	t[0x108] = t[0x109] = op_invd;
	t[0xfa] = op_cli;
	t[0xfb] = op_sti;
	t[0xf4] = op_hlt;
	t[0x101] = op_grp7;
	t[0x100] = op_grp6;
	t[0x102] = t[0x103] = op_lar_lsl;
	t[0x105] = op_syscall;
	t[0x107] = op_sysret;
	t[0x134] = op_sysenter;
	t[0x135] = op_sysexit;
	t[0x1ae] = op_grp15;
}
