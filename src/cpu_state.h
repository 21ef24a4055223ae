/* The one canonical form of a vCPU's architectural state.
 *
 * Every engine reads and writes exactly this, so a snapshot taken on one
 * engine resumes on another and two engines can be compared instruction by
 * instruction. The shape follows KVM's regs/sregs/fpu/msrs/events because
 * that is what hardware-assisted virtualization exposes; segment registers
 * carry their hidden descriptor caches, as the hardware keeps them. */
#ifndef POPEK_CPU_STATE_H
#define POPEK_CPU_STATE_H

#include <stdbool.h>
#include <stdint.h>

/* General registers in x86 encoding order, so a ModRM reg field indexes them. */
enum gpr {
	RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
	R8, R9, R10, R11, R12, R13, R14, R15,
	GPR_COUNT
};

/* Segment registers in x86 encoding order (Sreg field), then the two
 * system segments. */
enum seg_reg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDT, SEG_TR, SEG_COUNT };

/* A segment register: the visible selector and the hidden cache loaded from
 * the descriptor. The cache stays as loaded when the descriptor table changes. */
struct segment {
	uint64_t base;
	uint32_t limit;     /* byte granular, already scaled by G */
	uint16_t selector;
	uint8_t type;       /* descriptor type field, 4 bits */
	uint8_t s;          /* 1 = code/data, 0 = system */
	uint8_t dpl;
	uint8_t present;
	uint8_t avl;
	uint8_t l;          /* 64-bit code */
	uint8_t db;         /* default operand size / big */
	uint8_t g;
	uint8_t unusable;   /* null selector loaded (VT-x "unusable") */
};

struct dtable {
	uint64_t base;
	uint16_t limit;
};

/* FXSAVE layout (Intel SDM Vol. 1, 10.5.1): the x87/SSE state in the form
 * the hardware itself saves, so engines can FXSAVE/FXRSTOR straight into it. */
struct fpu_state {
	uint16_t fcw, fsw;
	uint8_t ftw;        /* abridged tag word */
	uint8_t reserved1;
	uint16_t fop;
	uint64_t fip, fdp;
	uint32_t mxcsr, mxcsr_mask;
	uint8_t st[8][16];  /* 80-bit registers in 16-byte slots */
	uint8_t xmm[16][16];
	uint8_t reserved2[96];
} __attribute__((aligned(16)));

_Static_assert(sizeof(struct fpu_state) == 512, "FXSAVE image is 512 bytes");

/* The MSRs popek models for every engine. */
struct msr_state {
	uint64_t efer;
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t tsc;
	uint64_t tsc_aux;
	uint64_t pat;
	uint64_t apic_base;
	uint64_t misc_enable;
	uint64_t tsc_deadline;
};

/* Events in flight at an instruction boundary. */
struct event_state {
	bool exception_pending;
	uint8_t exception_vector;
	bool exception_has_error;
	uint32_t exception_error;
	bool interrupt_pending;   /* external interrupt accepted, not yet delivered */
	uint8_t interrupt_vector;
	bool nmi_pending;
	bool nmi_masked;
	uint8_t interrupt_shadow; /* SHADOW_STI | SHADOW_MOV_SS */
	bool halted;
};

#define SHADOW_STI    1
#define SHADOW_MOV_SS 2

struct cpu_state {
	uint64_t gpr[GPR_COUNT];
	uint64_t rip;
	uint64_t rflags;
	struct segment seg[SEG_COUNT];
	struct dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t xcr0;
	uint64_t dr[8];     /* dr4/dr5 unused, kept for indexing */
	struct msr_state msr;
	struct fpu_state fpu;
	struct event_state events;
};

/* Architectural bits the whole project names. */
#define RFLAGS_CF   (1u << 0)
#define RFLAGS_FIXED (1u << 1)
#define RFLAGS_PF   (1u << 2)
#define RFLAGS_AF   (1u << 4)
#define RFLAGS_ZF   (1u << 6)
#define RFLAGS_SF   (1u << 7)
#define RFLAGS_TF   (1u << 8)
#define RFLAGS_IF   (1u << 9)
#define RFLAGS_DF   (1u << 10)
#define RFLAGS_OF   (1u << 11)
#define RFLAGS_IOPL (3u << 12)
#define RFLAGS_NT   (1u << 14)
#define RFLAGS_RF   (1u << 16)
#define RFLAGS_VM   (1u << 17)
#define RFLAGS_AC   (1u << 18)
#define RFLAGS_VIF  (1u << 19)
#define RFLAGS_VIP  (1u << 20)
#define RFLAGS_ID   (1u << 21)

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)

#define CR4_VME (1ull << 0)
#define CR4_PVI (1ull << 1)
#define CR4_TSD (1ull << 2)
#define CR4_DE  (1ull << 3)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_MCE (1ull << 6)
#define CR4_PGE (1ull << 7)
#define CR4_PCE (1ull << 8)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE (1ull << 18)

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define MSR_IA32_TSC            0x10
#define MSR_IA32_APIC_BASE      0x1b
#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_IA32_PAT            0x277
#define MSR_IA32_TSC_DEADLINE   0x6e0
#define MSR_EFER                0xc0000080
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SFMASK              0xc0000084
#define MSR_FS_BASE             0xc0000100
#define MSR_GS_BASE             0xc0000101
#define MSR_KERNEL_GS_BASE      0xc0000102
#define MSR_TSC_AUX             0xc0000103

/* Fills a segment as a flat descriptor cache would hold it. */
void segment_flat(struct segment *s, uint16_t sel, uint8_t type, int code64, int db);
/* Real-mode segment: base = sel << 4, 64 KiB limit, as after a real-mode load. */
void segment_real(struct segment *s, uint16_t sel, int code);
/* The architectural state after RESET/INIT, as the SDM's table 9-1 gives it. */
void cpu_state_reset(struct cpu_state *s);
/* Prints RIP, RSP, flags, control registers, EFER and segments for a post-mortem. */
void cpu_state_dump(const struct cpu_state *s, int fd);

#endif
