/* The raw engine's protocol between popek and its stub process.
 *
 * Both sides map one memfd: its first page is this control block, then
 * guest RAM, then the patch pages (copies of guest code pages with their
 * sensitive instructions made to trap). The stub maps the control page at
 * RAW_CTRL_ADDR, above the 4 GiB a 32-bit guest can reach, and guest pages
 * below 4 GiB as popek tells it: its host page tables are the shadow page
 * tables. The stub runs guest code until a signal, writes what happened
 * here, and waits for the next command; popek treats all of it as guest
 * input, since guest code can reach the stub's memory. */
#ifndef POPEK_RAW_PROTO_H
#define POPEK_RAW_PROTO_H

#include <stdint.h>

#define RAW_FD           3                  /* the memfd, in the stub */
#define RAW_CTRL_ADDR    0x6f0000000000ull  /* the control page, in the stub */
#define RAW_CTRL_SIZE    0x2000ull
#define RAW_RAM_OFFSET   RAW_CTRL_SIZE      /* guest RAM in the memfd */
#define RAW_LINEAR_END   0x100000000ull     /* the guest's whole linear space */

/* popek -> stub: what to do before running. */
enum raw_op_kind { RAW_OP_MAP = 1, RAW_OP_UNMAP = 2 };
#define RAW_PROT_R 1
#define RAW_PROT_W 2
#define RAW_PROT_X 4
struct raw_op {
	uint32_t kind;
	uint32_t prot;
	uint64_t lin;      /* page aligned, below 4 GiB */
	uint64_t len;
	uint64_t offset;   /* in the memfd */
};
#define RAW_MAX_OPS 96

/* An LDT descriptor (Linux's struct user_desc, by field). */
struct raw_desc {
	uint32_t entry;
	uint32_t base;
	uint32_t limit;
	uint32_t flags;    /* struct user_desc's bit fields, as the kernel packs them */
};
#define RAW_MAX_DESCS 8

/* stub -> popek: why the guest stopped. */
enum raw_stop {
	RAW_STOP_NONE,
	RAW_STOP_READY,    /* the stub is set up and waits for its first RUN */
	RAW_STOP_SIGNAL,   /* the guest raised a host signal (trap fields below) */
	RAW_STOP_KICKED,   /* popek's SIGUSR1 interrupted the guest */
	RAW_STOP_ESCAPE,   /* a signal with 64-bit code: the guest left compat mode */
	RAW_STOP_OPFAIL,   /* a map/unmap/LDT op failed: op_errno, op_index */
};

struct raw_regs {
	uint32_t gpr[8];   /* x86 encoding order */
	uint32_t eip, eflags;
	uint16_t sel[6];   /* host selectors: ES CS SS DS FS GS */
};

struct raw_ctrl {
	/* futex words: popek bumps cmd_seq, the stub done_seq */
	uint32_t cmd_seq;
	uint32_t done_seq;
	/* each side spins a while before it sleeps on its futex, and says
	 * when it sleeps, so that the other side wakes it only then */
	uint32_t stub_sleeps, popek_sleeps;
	/* command: apply ops and descs, then run the guest (run) or just
	 * report RAW_STOP_NONE; exit_now ends the stub */
	uint32_t run;
	uint32_t exit_now;
	uint32_t nops, ndescs;
	struct raw_op ops[RAW_MAX_OPS];
	struct raw_desc descs[RAW_MAX_DESCS];
	/* guest state, both ways */
	struct raw_regs regs;
	/* What the stub answers itself, without popek (the guest-context part
	 * of the monitor): RDTSC and RDTSCP, from the machine's clock as emu
	 * reads it: tsc_base + (CLOCK_MONOTONIC ns - clock_start). tsc_fast
	 * says the guest's CR4.TSD lets them through; cs_base locates EIP. */
	uint32_t tsc_fast;
	uint32_t tsc_aux;      /* what RDTSCP puts in ECX */
	uint64_t tsc_base, clock_start;
	uint32_t cs_base;
	uint64_t stub_answered;   /* counted by the stub, for --stats */
	/* CLI and STI (they trap at ring 3 with IOPL 0): the guest's IF lives
	 * in vif while native code runs, written by popek before a run and
	 * read back after. if_ok: the guest's CPL <= IOPL, so CLI/STI do not
	 * fault in the guest. irq_waiting: popek has an interrupt that IF
	 * would let in, so an STI goes to popek (REM delivers it after the
	 * STI's shadow). Both sides store before they load (seq_cst): an
	 * interrupt raised as the stub answers an STI is seen by one of them. */
	uint32_t vif, if_ok, irq_waiting;
	uint64_t stub_if_answered;
	/* report */
	uint32_t stop;
	int32_t signo, si_code;
	uint32_t trapno, err;
	uint64_t addr;     /* CR2 / si_addr */
	uint32_t syscall_nr;
	int32_t op_errno, op_index;
	uint8_t fx[512] __attribute__((aligned(64)));  /* FXSAVE image of the guest's FPU/SSE */
};

_Static_assert(sizeof(struct raw_ctrl) <= RAW_CTRL_SIZE, "control block fits its pages");

#endif
