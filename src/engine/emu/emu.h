/* The software CPU's private state and the interfaces between its files.
 *
 * Design. A hand-written, table-driven decoder (decode.c) turns bytes into
 * struct insn records: prefixes, opcode, ModRM/SIB/displacement, immediate,
 * operand and address size, and the handler to run (common 32/64-bit
 * register forms get specialized handlers). Records are kept in blocks of
 * straight-line code (block.c), cached per guest-physical page and decode
 * mode, found through a per-vCPU linear-RIP cache and chained to the block
 * that followed last time; a write to a page holding code (through any
 * mapping, by any CPU access, or announced by the machine) drops the
 * page's blocks, so self-modifying code stays correct. Arithmetic flags are
 * lazy (alu.c): the last operation's kind, operands and result stand in for
 * CF/PF/AF/ZF/SF/OF until something reads them. Memory goes through a
 * software TLB (mmu.c) holding host pointers for RAM; anything else is an
 * MMIO exit. Faults unwind with longjmp to the run loop (emu.c), which
 * delivers them (except.c); RIP moves only when an instruction retires.
 *
 * Translation (jit.c). A block that runs a second time (JIT_AFTER_RUNS)
 * in 64-bit or flat 32-bit code becomes host code: the common integer
 * forms run natively on the register file below, with an inline probe of
 * the TLB, and every other instruction is a direct call of its handler,
 * so each instruction's semantics exist once, in the handlers. Faults,
 * MMIO and self-modifying code take the handler path. Translated blocks
 * enter one another directly (links patched into the code, or a probe of
 * the linear-RIP cache for returns and indirect branches) until a
 * controller poll is due, so the run loop below sees a fraction of the
 * blocks. Single-stepping, debug registers, interrupt shadows and 16-bit
 * code stay with the interpreter. POPEK_EMU_JIT=off interprets only,
 * =eager translates at the first run; the tests run both.
 *
 * The vCPU keeps the canonical struct cpu_state as its register file, so
 * get_state/set_state are copies.
 *
 * Time. The TSC counts the machine's 1 GHz clock (vm_now_ns), and CPUID
 * says so (leaves 0x15/0x16: a 1 GHz crystal that is also the local APIC
 * timer's clock; invariant TSC with TSC_ADJUST), so Linux neither
 * calibrates it against the PIT nor checks it against jiffies. With
 * --deterministic that clock is the instruction count (one nanosecond
 * each, summed over the vCPUs) plus the time skipped while every vCPU was
 * halted (intr_wait), so a run depends on nothing but its inputs.
 *
 * The CPU model claims none of the speculative-execution flaws
 * (IA32_ARCH_CAPABILITIES): there is no speculation here, and the guest's
 * mitigations (page-table isolation, return thunks) cost it instructions.
 *
 * --stats: counters in struct emu_stats, and a guest-RIP sample every
 * POLL_BLOCKS blocks, printed by the engine's print_stats. */
#ifndef POPEK_EMU_H
#define POPEK_EMU_H

#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cpu_state.h"
#include "exit.h"

struct vm;
struct vcpu;
struct emu_cpu;
struct insn;

typedef void (*insn_fn)(struct emu_cpu *c, const struct insn *i);

/* One decoded instruction: everything the handler needs without touching
 * the instruction bytes again. */
struct insn {
	insn_fn fn;
	uint64_t imm;       /* immediate, sign- or zero-extended as the form wants */
	int32_t disp;
	uint16_t op;        /* 0x0xx one byte, 0x1xx 0F xx, 0x2xx 0F 38 xx, 0x3xx 0F 3A xx */
	uint16_t imm2;      /* second immediate: ENTER level, far pointer selector */
	uint8_t len;
	uint8_t osize;      /* operand size in bytes: 2, 4, 8 */
	uint8_t asize;      /* address size in bytes: 2, 4, 8 */
	uint8_t seg;        /* effective segment for the memory operand */
	uint8_t rep;        /* 0, 0xf2 or 0xf3 */
	uint8_t lock;
	uint8_t rex;        /* the REX byte, 0 if none */
	uint8_t mod, reg, rm;  /* reg and rm include REX.R / REX.B */
	uint8_t base, index;   /* NOREG when absent */
	uint8_t scale;
	uint8_t rip_rel;
	uint8_t opsel;      /* 66/F2/F3 prefix for SSE forms: 0, 0x66, 0xf2, 0xf3 */
};

#define NOREG 0xff

/* Lazy flags: the last flag-setting operation, evaluated when read. */
/* LF_RESULT: SF/ZF/PF from the result, CF and OF given in lf_cf (bits 0
 * and 1), AF clear: SHL/SHR/SAR with a non-zero count, MUL and IMUL. */
enum lazy_kind { LF_NONE, LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC, LF_RESULT };

#define TLB_SIZE 1024
/* Permission bits cached in a TLB entry; a missing bit means "take the slow
 * path", not necessarily "fault" (for example a clean page for writes). */
#define TP_READ_S  1
#define TP_READ_U  2
#define TP_WRITE_S 4
#define TP_WRITE_U 8
#define TP_EXEC_S  16
#define TP_EXEC_U  32

struct tlb_entry {
	uint64_t tag;      /* linear page | 1, 0 = empty */
	uint64_t gpa;      /* guest-physical page */
	uint8_t *host;     /* host address of the page, NULL when not RAM */
	uint8_t perm;
	uint8_t global;
	bool rom;          /* firmware ROM: writes are dropped */
	/* for translated code: the tag again, once per kind of access (read
	 * at CPL 0-2, read at CPL 3, write at 0-2, write at 3), 0 where that
	 * access must take the slow path (no permission, not RAM) */
	uint64_t jtag[4];
};
#define JTAG_READ_S 0
#define JTAG_WRITE_S 2   /* +1: the CPL 3 one */

/* Reasons the inner loop leaves a block early. */
#define STOP_BLOCK 1   /* mode, CS or paging changed: look the block up again */
#define STOP_EXIT  2   /* an exit is ready to return after this instruction */
#define STOP_SMC   4   /* the running block was invalidated */

/* What longjmp carries back to the run loop. */
#define JMP_FAULT 1
#define JMP_EXIT  2

/* Pieces of MMIO one instruction may read (replayed) and write (queued).
 * The largest are FXSAVE/FXRSTOR, 64 pieces of 8 bytes, and FSAVE/FRSTOR,
 * 23 pieces; a page crossing adds one. A guest may aim any of them at a
 * device, so the bound is the instruction set's, not a typical guest's. */
#define MMIO_LOG 80
#define MMIO_WQ 80

struct mmio_wq {
	uint64_t addr;
	uint8_t size;
	uint8_t data[8];
};
#define IO_BUF 4096

/* A direct link from a translated block's exit to the next block's
 * translation (jit.c), good for one linear RIP and one TLB generation. */
struct jit_link {
	struct block *to;
	uint64_t rip, tlb_gen;   /* far links: valid for this RIP and TLB generation */
	uint64_t want_gpa;       /* near links (same page): the one block they may name */
	uint32_t mode;           /* the owner's decode mode: links never change it */
	bool near;
	uint8_t *patch_imm, *patch_rel;  /* near links: the code that names the target */
};

struct block {
	uint64_t gpa;
	uint32_t mode;
	uint16_t n;
	bool valid;
	struct block *hnext, *pnext;
	struct insn *insn;
	/* the block that followed last time, reused while nothing that could
	 * change the mapping or the mode happened in between */
	struct block *chain;
	uint64_t chain_rip, chain_tlb_gen, chain_vm_gen;
	/* the translation (jit.c), NULL until made or when it cannot be */
	int (*jit)(struct emu_cpu *c);   /* 0: ran; 1: declined, interpret */
	void *jit_body;                  /* where links enter it */
	struct jit_link link[2];         /* taken branch, fall-through */
	bool jit_tried;
	uint8_t runs;                    /* interpreted runs before translating */
};

/* A per-vCPU direct-mapped cache from linear RIP to block, in front of the
 * physical hash; entries die with any TLB flush or block-cache flush. */
#define BCACHE_SIZE 1024
struct bcache_entry {
	uint64_t lin;
	uint64_t tlb_gen, vm_gen;
	uint32_t key;
	struct block *b;
};

/* What --stats reports about the CPU (per vCPU; the block cache's own
 * counters are per VM). */
struct emu_stats {
	uint64_t chain_hits;     /* next block found through the previous one's chain */
	uint64_t bcache_hits;    /* ... through the linear-RIP cache */
	uint64_t hash_hits;      /* ... through the physical hash */
	uint64_t decoded;        /* blocks decoded */
	uint64_t tlb_fills;      /* TLB misses: page walks (or identity fills) */
	uint64_t tlb_flushes;    /* whole-TLB flushes (CR3, CR0/CR4, EFER writes) */
	uint64_t tlb_flush_pages;/* INVLPG and friends */
	uint64_t interrupts;     /* external interrupts and NMIs delivered */
	uint64_t poll_periods;   /* POLL_BLOCKS blocks each */
	uint64_t exits[EXIT_REASON_COUNT];
};

/* Guest RIPs sampled every POLL_BLOCKS blocks while --stats is on: where
 * the guest spends its instructions. */
#define HOT_SIZE 4096
struct hot_rip {
	uint64_t rip;
	uint64_t count;
};

#define MCE_BANKS 10   /* machine-check banks, as QEMU's default CPU models have */

struct emu_cpu {
	struct cpu_state s;
	struct vm *vm;
	struct vcpu *vcpu;
	struct emu_vm *evm;
	int vcpu_index;

	/* lazy flags */
	uint8_t lf_kind, lf_size;
	uint64_t lf_a, lf_b, lf_res;
	uint64_t lf_cf;    /* carry in (ADC/SBB) or preserved CF (INC/DEC) */

	uint64_t next_rip;
	int cpl;
	bool code64;       /* CS.L in long mode */
	bool long_mode;    /* EFER.LMA */
	bool pe, v86;
	unsigned stop;
	/* with the above, what every instruction's retirement touches: kept
	 * in one cache line */
	int mmio_nlog, mmio_pos;    /* MMIO reads answered for the instruction being re-run */
	uint64_t icount;

	/* exceptions */
	jmp_buf jb;
	int fault_vec;
	bool fault_has_err;
	uint32_t fault_err;
	int delivering;    /* vector being delivered, -1 none */

	struct tlb_entry tlb[TLB_SIZE];
	bool tlb_has_large;         /* a 2/4 MiB or 1 GiB page is cached as 4 KiB entries */
	uint64_t tlb_gen;
	struct bcache_entry bcache[BCACHE_SIZE];

	/* exits */
	struct vm_exit pend;        /* an exit to report after the instruction */
	uint8_t io_buf[IO_BUF];
	bool io_in_ready;           /* the answer to the pending IN is in io_buf */
	bool io_in_pending;
	struct { uint64_t addr; uint8_t size; uint64_t val; } mmio_log[MMIO_LOG];
	bool mmio_read_pending;     /* last exit was an MMIO read awaiting data */
	uint8_t mmio_buf[8];
	bool mmio_wpending;         /* an MMIO write was recorded this instruction */
	struct mmio_wq wq[MMIO_WQ]; /* MMIO writes of the last instruction, one exit each */
	int wq_n, wq_pos;
	uint64_t exit_rip;

	atomic_int kick;
	atomic_int irq;             /* external vector + 1, 0 none */
	atomic_int nmi;
	bool irq_maybe;             /* ask the machine's controllers at the next boundary */
	unsigned countdown;          /* blocks until the next controller poll */
	unsigned slices;
	atomic_int attention;        /* another thread wants the run loop to look */
	bool was_open;
	bool holds_lock;            /* this run() holds the VM's big lock */
	bool dbg_active;            /* DR7 enables a breakpoint: instructions run one by one */
	bool ac_active;             /* CR0.AM, RFLAGS.AC and CPL 3: #AC on misalignment */
	bool mem_hooks;             /* either of the two: mem_read/mem_write look closer */
	/* where in a TLB entry translated code finds the tag for a read or a
	 * write at the current CPL: a jtag[], or the page-aligned gpa (which
	 * never matches) while mem_hooks want every access seen */
	uint8_t jit_toff_r, jit_toff_w;
	uint8_t dbg_hits;           /* data breakpoints hit by this instruction */              /* interrupts were deliverable at the last boundary */

	const char *internal_why;
	struct block *cur_block;
	bool in_jit;               /* translated code runs (cur_block: the first block) */
	struct jit_link *jit_link; /* the link slot the last translated block left by */
	struct block tmp_block;    /* an instruction crossing a page, never cached */
	struct insn tmp_insn;
	uint64_t tsc_base;         /* TSC = tsc_base + vm_now_ns(): the platform's 1 GHz clock */
	uint64_t spec_ctrl;        /* IA32_SPEC_CTRL: kept for reads, changes nothing */
	/* machine check: what the guest wrote (no error is ever logged) */
	uint64_t mcg_status, mcg_ctl, mc_ctl[MCE_BANKS];
	uint64_t tsc_adjust;       /* IA32_TSC_ADJUST */
	struct emu_stats st;
	struct hot_rip *hot;       /* HOT_SIZE entries with --stats, else NULL */
	uint64_t hot_lost;
	/* An engine that runs guest code elsewhere and emu only where it
	 * cannot (raw, whose REM this is) sets rem_done: once an instruction
	 * has retired since rem_icount, the loop asks it at every block
	 * boundary and ends the run (EXIT_INTERRUPTED, rem_left) when it says
	 * the guest can go back. INVLPGs are remembered for it in rem_inval. */
	void *outer;
	bool (*rem_done)(struct emu_cpu *c);
	bool rem_left;
	bool rem_single;           /* one instruction per block, no translation */
	uint64_t rem_icount;
	uint64_t rem_full_flushes;  /* TLB flushes that dropped global pages too */
#define REM_INVAL 8
	uint64_t rem_inval[REM_INVAL];
	unsigned rem_ninval;       /* > REM_INVAL: too many, flush everything */
};

/* Per-VM state: the decoded-block cache. */
struct emu_vm {
	struct block **hash;         /* by guest-physical address */
	struct block **page_blocks;  /* blocks per guest-physical page, NULL = no code */
	uint64_t npages;
	uint32_t *code_pfns;         /* pages with code, for a full flush */
	uint64_t ncode, code_cap;
	struct insn *arena;
	uint64_t arena_used, arena_cap;
	struct block *blocks;
	uint64_t nblocks, blocks_cap;
	uint64_t flushes;
	uint64_t inval_pages, inval_blocks;  /* pages of code written, blocks dropped */
	uint64_t gen;                 /* bumped by a full flush */
	/* translated code (jit.c): one executable arena, reset with the blocks */
	uint8_t *jit_code;
	size_t jit_used, jit_cap;
	size_t jit_glue;              /* bytes of shared glue at the start */
	void *glue_near, *glue_far, *glue_dyn64, *glue_dyn32;
	uint64_t jit_blocks;
	struct jbuf *jbuf;
	uint8_t jit_after;            /* runs of a block before it is translated; 0 never */
	/* With more than one vCPU, one runs at a time (a big lock, taken per
	 * slice of blocks): the block cache, the TLBs' view of page tables
	 * and LOCK-prefixed instructions need nothing finer. */
	pthread_mutex_t big_lock;
	bool smp;
	/* Pages another engine (raw) keeps copies or scans of: non-zero
	 * entries make writes take the slow path, which calls watch_write. */
	uint8_t *watch;
	void (*watch_write)(void *opaque, uint64_t pfn);
	/* ... and told when emu starts keeping blocks of a page, whose writes
	 * it must then see */
	void (*code_added)(void *opaque, uint64_t pfn);
	void *watch_opaque;
	/* RAM a device thread wrote while one vCPU runs without the big lock
	 * (virtio-net's receive side): the vCPU drops the pages' blocks at its
	 * next check between blocks, before it can take the interrupt that
	 * tells the guest about the data. */
	pthread_mutex_t deferred_lock;
	uint64_t deferred_pfn[64];
	unsigned ndeferred;
	bool deferred_overflow;       /* more than fit: flush everything */
	atomic_bool deferred;
	struct emu_cpu *first_cpu;    /* whom to tell */
};


/* ---- emu.c: engine glue and the run loop */
void emu_internal(struct emu_cpu *c, const char *why) __attribute__((noreturn));
/* Asserts an external interrupt with this vector; the vCPU takes it once
 * RFLAGS.IF and the interrupt shadow allow. -1 while one is still pending. */
int emu_interrupt(struct vcpu *cpu, uint8_t vector);
int emu_nmi(struct vcpu *cpu);
/* For the machine: guest RAM at gpa changed behind the CPU's back (DMA). */
void emu_invalidate_gpa(struct vm *vm, uint64_t gpa, uint64_t len);

static inline struct emu_vm *emu_vm_of(struct emu_cpu *c)
{
	return c->evm;
}

/* ---- decode.c */
/* Decodes one instruction from bytes (at most avail of them are readable).
 * Returns its length, or 0 when avail is too short. */
int decode_insn(struct insn *i, const uint8_t *p, int avail, int mode);
#define MODE_16 0
#define MODE_32 1
#define MODE_64 2
bool insn_ends_block(const struct insn *i);

/* ---- block.c */
struct block *block_find(struct emu_cpu *c);
void block_invalidate_page(struct emu_vm *v, uint64_t pfn, struct emu_cpu *c);
void block_flush_all(struct emu_vm *v);
int block_cache_init(struct emu_vm *v, uint64_t max_gpa);
void block_cache_free(struct emu_vm *v);
static inline bool page_has_code(const struct emu_vm *v, uint64_t gpa)
{
	uint64_t pfn = gpa >> 12;
	return pfn < v->npages && (v->page_blocks[pfn] || (v->watch && v->watch[pfn]));
}

/* ---- jit.c */
/* Code that runs once (most of a boot's) is not worth translating. */
#define JIT_AFTER_RUNS 2
int jit_init(struct emu_vm *v);
void jit_free(struct emu_vm *v);
bool jit_needs_flush(const struct emu_vm *v);
void jit_compile(struct emu_cpu *c, struct block *b);
void jit_patch_link(struct jit_link *l);

/* ---- except.c */
void raise_fault(struct emu_cpu *c, int vec, bool has_err, uint32_t err) __attribute__((noreturn));
#define raise_gp(c, e) raise_fault(c, 13, true, (e))
#define raise_ud(c) raise_fault(c, 6, false, 0)
void deliver_event(struct emu_cpu *c, int vec, int kind, bool has_err, uint32_t err);
#define EV_EXC 0     /* exception: pushes RIP of the faulting instruction */
#define EV_SOFT 1    /* INT n / INT3 / INTO: pushes the next RIP, checks DPL */
#define EV_EXT 2     /* external interrupt or NMI */
void handle_fault(struct emu_cpu *c);
void load_inner_stack(struct emu_cpu *c, int cpl);

/* ---- mmu.c */
void tlb_flush(struct emu_cpu *c, bool keep_global);
void tlb_flush_page(struct emu_cpu *c, uint64_t lin);
void tlb_drop_write(struct emu_cpu *c, uint64_t gpa_page);
/* Linear-address accesses; user says whether the access counts as CPL 3
 * (system-structure accesses are supervisor even at CPL 3). */
uint64_t lin_read(struct emu_cpu *c, uint64_t lin, int size, bool user);
void lin_write(struct emu_cpu *c, uint64_t lin, int size, uint64_t val, bool user);
/* Guest-physical page of an instruction fetch, host pointer or NULL. */
uint8_t *fetch_ptr(struct emu_cpu *c, uint64_t lin, uint64_t *gpa);
uint8_t *lin_host_span(struct emu_cpu *c, uint64_t lin, uint64_t len, bool write, bool user);
uint8_t *phys_host(struct emu_cpu *c, uint64_t gpa, uint64_t len);
uint64_t phys_read(struct emu_cpu *c, uint64_t gpa, int size);
void phys_write(struct emu_cpu *c, uint64_t gpa, int size, uint64_t val);
bool paging_translate(struct emu_cpu *c, uint64_t lin, int acc, uint64_t *gpa, bool fault);
/* The same without faulting, telling whether the leaf is a global page
 * (PTE.G with CR4.PGE): for raw's shadow tables, which keep those over a
 * CR3 switch as a TLB does. */
bool paging_translate_global(struct emu_cpu *c, uint64_t lin, int acc, uint64_t *gpa, bool *global);
#define ACC_R 0
#define ACC_W 1
#define ACC_X 2
#define ACC_USER 4

/* ---- seg.c */
uint64_t seg_lin(struct emu_cpu *c, int seg, uint64_t off, int size, bool write);
/* Every check, every mode. */
uint64_t mem_read_full(struct emu_cpu *c, int seg, uint64_t off, int size);
void mem_write_full(struct emu_cpu *c, int seg, uint64_t off, int size, uint64_t val);

static inline uint64_t host_load(const uint8_t *p, int size)
{
	uint8_t b; uint16_t w; uint32_t d; uint64_t q;
	switch (size) {
	case 1: memcpy(&b, p, 1); return b;
	case 2: memcpy(&w, p, 2); return w;
	case 4: memcpy(&d, p, 4); return d;
	default: memcpy(&q, p, 8); return q;
	}
}

static inline void host_store(uint8_t *p, int size, uint64_t v)
{
	uint8_t b = v; uint16_t w = v; uint32_t d = v;
	switch (size) {
	case 1: memcpy(p, &b, 1); break;
	case 2: memcpy(p, &w, 2); break;
	case 4: memcpy(p, &d, 4); break;
	default: memcpy(p, &v, 8); break;
	}
}

/* The host address of a 64-bit-mode access that the TLB already allows
 * (RAM, within one page, no debug or alignment hooks), else NULL. A
 * non-canonical address never matches a tag, since only canonical pages
 * are ever filled, so the canonical check is the slow path's. */
static inline uint8_t *mem_fast(struct emu_cpu *c, int seg, uint64_t off, int size, uint8_t need_s)
{
	if (!c->code64 || c->mem_hooks)
		return NULL;
	uint64_t lin = off + ((seg == SEG_FS || seg == SEG_GS) ? c->s.seg[seg].base : 0);
	const struct tlb_entry *e = &c->tlb[(lin >> 12) & (TLB_SIZE - 1)];
	/* the _U permission is the _S one shifted left by one */
	uint8_t need = c->cpl == 3 ? (uint8_t)(need_s << 1) : need_s;
	if (e->tag != ((lin & ~0xfffull) | 1) || !(e->perm & need) || !e->host ||
	    (lin & 0xfff) + (unsigned)size > 4096)
		return NULL;
	return e->host + (lin & 0xfff);
}

static inline uint64_t mem_read(struct emu_cpu *c, int seg, uint64_t off, int size)
{
	uint8_t *p = mem_fast(c, seg, off, size, TP_READ_S);
	return __builtin_expect(p != NULL, 1) ? host_load(p, size) : mem_read_full(c, seg, off, size);
}

static inline void mem_write(struct emu_cpu *c, int seg, uint64_t off, int size, uint64_t val)
{
	uint8_t *p = mem_fast(c, seg, off, size, TP_WRITE_S);
	if (__builtin_expect(p != NULL, 1))
		host_store(p, size, val);
	else
		mem_write_full(c, seg, off, size, val);
}
void load_seg(struct emu_cpu *c, int sreg, uint16_t sel);
void load_cs(struct emu_cpu *c, uint16_t sel, int cpl_new);
bool read_descriptor(struct emu_cpu *c, uint16_t sel, uint64_t *lo, uint64_t *hi, bool fault, int vec);
void desc_to_seg(struct segment *s, uint16_t sel, uint64_t lo, uint64_t hi);
void emu_update_mode(struct emu_cpu *c);
void update_mem_hooks(struct emu_cpu *c);
void far_jump(struct emu_cpu *c, uint16_t sel, uint64_t off, bool call, int osize);
void far_return(struct emu_cpu *c, int osize, uint16_t pop_extra);
void do_iret(struct emu_cpu *c, int osize);

/* ---- task.c */
#define TASK_JMP 0
#define TASK_CALL 1
#define TASK_IRET 2
#define TASK_INT 3
/* Switches to the task of TSS descriptor lo (selector sel); ret is the EIP
 * saved for the outgoing task. */
void task_switch(struct emu_cpu *c, uint16_t sel, uint64_t lo, int source, uint64_t ret,
		 bool has_err, uint32_t err);

/* ---- alu.c */
uint64_t get_flags(struct emu_cpu *c);
void set_flags(struct emu_cpu *c, uint64_t f);
void set_flags_masked(struct emu_cpu *c, uint64_t f, uint64_t mask);
bool cond_true(struct emu_cpu *c, int cc);
bool get_cf(struct emu_cpu *c);

/* ---- register helpers */
static inline uint64_t size_mask(int size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline uint64_t reg_read(struct emu_cpu *c, int r, int size, bool rex)
{
	if (size == 1) {
		if (!rex && r >= 4 && r < 8)
			return (c->s.gpr[r - 4] >> 8) & 0xff;
		return c->s.gpr[r] & 0xff;
	}
	return c->s.gpr[r] & size_mask(size);
}

static inline void reg_write(struct emu_cpu *c, int r, int size, bool rex, uint64_t v)
{
	switch (size) {
	case 1:
		if (!rex && r >= 4 && r < 8)
			c->s.gpr[r - 4] = (c->s.gpr[r - 4] & ~0xff00ull) | ((v & 0xff) << 8);
		else
			c->s.gpr[r] = (c->s.gpr[r] & ~0xffull) | (v & 0xff);
		break;
	case 2: c->s.gpr[r] = (c->s.gpr[r] & ~0xffffull) | (v & 0xffff); break;
	case 4: c->s.gpr[r] = (uint32_t)v; break; /* 32-bit writes zero-extend */
	default: c->s.gpr[r] = v; break;
	}
}

static inline uint64_t sext(uint64_t v, int size)
{
	switch (size) {
	case 1: return (uint64_t)(int64_t)(int8_t)v;
	case 2: return (uint64_t)(int64_t)(int16_t)v;
	case 4: return (uint64_t)(int64_t)(int32_t)v;
	default: return v;
	}
}

static inline bool is_canonical(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

/* ---- operand helpers (ops.c) */
static inline uint64_t insn_ea(struct emu_cpu *c, const struct insn *i)
{
	uint64_t a = (uint64_t)(int64_t)i->disp;
	if (i->rip_rel)
		a += c->next_rip;
	if (i->base != NOREG)
		a += c->s.gpr[i->base];
	if (i->index != NOREG)
		a += c->s.gpr[i->index] << i->scale;
	return a & size_mask(i->asize);
}

static inline uint64_t rm_read(struct emu_cpu *c, const struct insn *i, int size)
{
	if (i->mod == 3)
		return reg_read(c, i->rm, size, i->rex);
	return mem_read(c, i->seg, insn_ea(c, i), size);
}

static inline void rm_write(struct emu_cpu *c, const struct insn *i, int size, uint64_t v)
{
	if (i->mod == 3)
		reg_write(c, i->rm, size, i->rex, v);
	else
		mem_write(c, i->seg, insn_ea(c, i), size, v);
}
void push(struct emu_cpu *c, int size, uint64_t v);
uint64_t pop(struct emu_cpu *c, int size);
int stack_size(struct emu_cpu *c);
uint64_t stack_mask(struct emu_cpu *c);
int byte_or_osize(const struct insn *i);

/* ---- io.c */
bool io_allowed(struct emu_cpu *c, uint16_t port, int size);

/* ---- system.c */
uint64_t msr_read(struct emu_cpu *c, uint32_t idx, bool *ok);
uint64_t tsc_now(struct emu_cpu *c);
bool msr_write(struct emu_cpu *c, uint32_t idx, uint64_t v);
void cpuid_query(uint32_t leaf, uint32_t sub, uint32_t out[4]);

/* Handler table lookup, filled by decode.c from the families' tables. */
extern insn_fn op_table[0x400];
void ops_ud(struct emu_cpu *c, const struct insn *i);

/* Each family fills its opcodes into the table; the _fast ones return a
 * specialized handler for a decoded form, or NULL. */
void alu_register(insn_fn *t);
void datamov_register(insn_fn *t);
void control_register(insn_fn *t);
void string_register(insn_fn *t);
void system_register(insn_fn *t);
void io_register(insn_fn *t);
void fpu_register(insn_fn *t);
void sse_register(insn_fn *t);
insn_fn alu_fast(struct insn *i);
insn_fn datamov_fast(struct insn *i);

/* Shared between families. */
void alu_incdec_rm(struct emu_cpu *c, const struct insn *i, int size);  /* FF /0 /1 */
void write_flags_popf(struct emu_cpu *c, uint64_t v, int osize, bool iret);
void fpu_grp15(struct emu_cpu *c, const struct insn *i);  /* FXSAVE FXRSTOR LDMXCSR STMXCSR */

#endif
