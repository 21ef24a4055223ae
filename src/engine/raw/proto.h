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

/* The monitor tables, after the patch pages in the memfd, which popek
 * keeps and the stub maps read-only at RAW_TABLES_ADDR: how each linear
 * page is mapped now (the shadow page tables' state, SP_* and the guest
 * pfn), and per guest page that has run as code what the scanner found
 * (the instruction starts it followed, and the kind of each patched
 * instruction). With them the stub answers some patched instructions
 * itself (stub/trap.c); popek writes them only while the guest is not
 * running. The guest can read them too, which tells it nothing it could
 * not learn by timing its own traps. */
#define RAW_TABLES_ADDR  0x6f0100000000ull
#define RAW_T_PST        0ull                          /* uint8_t per linear page */
#define RAW_T_PPFN       (RAW_LINEAR_END >> 12)        /* uint32_t per linear page */
#define RAW_T_CODE       (5 * (RAW_LINEAR_END >> 12))  /* struct raw_code_info per guest pfn */
struct raw_code_info {
	uint8_t scanned[512];   /* bitmap: instruction starts the scanner followed */
	uint8_t kind[2048];     /* a nibble per byte: RAW_K_* of a patched instruction */
};
/* What a patched instruction is, for the stub: the ones it can answer
 * without popek, and RAW_K_TRAP for everything else patched. */
enum raw_patch_kind {
	RAW_K_NONE, RAW_K_TRAP,
	RAW_K_PUSHF,       /* 9C */
	RAW_K_JMP_REG,     /* FF /4, register form: ModRM follows */
	RAW_K_IRET,        /* CF, 32-bit */
	RAW_K_PUSH_SREG,   /* + ES CS SS DS FS GS (06 0E 16 1E, 0F A0, 0F A8) */
	RAW_K_LAST = RAW_K_PUSH_SREG + 5
};

/* Per linear page: how the stub maps it now. */
#define SP_MAPPED 1
#define SP_W      2
#define SP_X      4
#define SP_KONLY  8     /* mapped for the guest kernel; not valid at CPL 3 */
#define SP_COPY   16    /* maps a patch copy, not guest RAM */
#define SP_GLOBAL 32    /* a global page: kept over a CR3 switch */
#define SP_LISTED 128   /* in raw_cpu.list (kept when unmapped, until a flush) */

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
	/* Patched instructions the stub answers from the monitor tables:
	 * where they are (tables_off/size, read once at start; npfn bounds
	 * the code table), the guest state they read (its selectors, the
	 * flags native code does not hold, the limits of CS and of a 32-bit
	 * expand-up SS, 0 when SS is anything else), and counts. */
	uint64_t tables_off, tables_size;
	uint32_t npfn;
	uint32_t cs_limit, ss_base, ss_limit, ss_ok;
	uint32_t eflags_rest;     /* IOPL, NT, AC, ID, bit 1: PUSHF's image but IF and arithmetic */
	uint16_t guest_sel[6];
	uint64_t stub_jmp_answered, stub_push_answered, stub_iret_answered, stub_run_on;
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
