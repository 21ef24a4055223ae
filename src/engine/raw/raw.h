/* The raw engine: 32-bit guest code runs natively on the host CPU, the
 * guest kernel deprivileged to ring 3 (the 0/3/3 model: host ring 0 is
 * Linux's), in a sandboxed stub process whose host mappings are the
 * shadow page tables. Every trap is a signal in the stub; popek answers
 * it here: a shadow-page fault by mapping the page, anything else by
 * running the software CPU (emu, this engine's REM) from the trapping
 * instruction until the guest can run natively again. Code pages are
 * scanned before they run (scan.c, VirtualBox's CSAM): the sensitive
 * instructions that would not trap at ring 3 get a trapping byte in a
 * private copy of the page, so they reach REM too, which reads the
 * original bytes from guest RAM.
 *
 * The canonical CPU state is emu's (struct emu_cpu.s): native runs take
 * the registers from it and put them back. Segment registers never change
 * in native code (every instruction that loads one traps or is patched),
 * so their hidden caches stay right; the stub runs with LDT descriptors
 * built from those caches (descriptors.c), never with the guest's
 * selectors. See docs/raw.md. */
#ifndef POPEK_RAW_H
#define POPEK_RAW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine/emu/emu.h"
#include "engine/raw/proto.h"

#define RAW_PAGES        (RAW_LINEAR_END >> 12)
/* Ring compression by segment limits: in guest user mode every host
 * segment ends below this address, so the guest kernel's pages above it
 * (Linux's 3 GiB split) can stay mapped; user code that reaches up there
 * takes #GP and REM decides as the guest's page tables say. */
#define RAW_RING_SPLIT   0xc0000000u
#define RAW_PATCH_PAGES  4096      /* patch memory: 16 MiB of page copies */

/* A guest-physical page that has run as code: what the scanner saw. */
#define CODE_XLIN 16
struct code_page {
	uint32_t pfn;
	int32_t copy;               /* patch slot, -1 while nothing is patched */
	uint16_t npatch;
	uint16_t nxlin;             /* > CODE_XLIN: lost track, flush all on drop */
	bool norun;                 /* a patch did not fit: the page runs in REM only */
	uint32_t xlin[CODE_XLIN];   /* linear pages mapping it executable */
	uint8_t *scanned;           /* bitmap: instruction starts already followed (tables) */
	uint8_t *kind;              /* nibbles: RAW_K_* of patched instructions (tables) */
	uint8_t covered[512];       /* bitmap: bytes inside those instructions, after the first */
	uint8_t patched[512];       /* bitmap: offsets holding a trapping byte */
};

enum raw_trap_kind {
	RT_PF_SHADOW,    /* host page fault the shadow tables answered */
	RT_PF_GUEST,     /* a page fault REM delivers to the guest, or an MMIO access */
	RT_GP,           /* #GP: privileged or patched instruction */
	RT_UD,
	RT_SYSCALL,      /* INT 0x80 (seccomp trap) */
	RT_INT3,
	RT_OTHER,        /* #DE, #AC, #NP, #SS, ... */
	RT_KICK,
	RT_KINDS
};

/* Entries the scanner still has to follow: a queue for one scan, and,
 * per guest page that has not run yet, the branch targets seen into it. */
struct raw_entry { uint32_t pfn, lin; };
#define RAW_SCANQ   4096
#define RAW_PENDING 65536
/* A branch into a page, kept with that page for when it first runs. It
 * holds only while the record of the page it was seen in lives: once
 * that page is dropped, its code may be gone, and a branch from the
 * boot's identity-mapped era followed into the busybox page that later
 * reused the frame decoded `add $0x10,%esp` from its second byte (0xc4,
 * LES) and patched it into `xor $0x10,%esp`. */
struct raw_pending {
	struct raw_entry e;
	uint32_t next;               /* pool index + 1 of the next for the page */
	uint32_t src, src_gen;       /* the page it was seen in, and its generation */
};
struct raw_scanq {
	struct raw_entry item[RAW_SCANQ];
	uint32_t n;
	struct raw_pending *pool;    /* RAW_PENDING */
	uint32_t npool;
	uint32_t *head;              /* per guest pfn: pool index + 1, 0 none */
	uint32_t *gen;               /* per guest pfn: its records dropped so far */
};

/* A trap site (sites.c): what is there is a name from raw_insn_name. */
#define RAW_SITES 4096
#define RAW_TOP_SHOWN 12
struct raw_site { uint32_t lin, count; const char *what; uint8_t kind; bool patched; };

struct raw_stats {
	uint64_t traps[RT_KINDS];
	uint64_t trap_ns[RT_KINDS];
	uint64_t native_ns, rem_ns, monitor_ns;
	uint64_t native_runs, rem_runs;
	uint64_t scanned_pages, scans, patches, patch_full, code_drops, entries_lost, conflicts;
	uint64_t flushes, nonglobal_flushes, globals_kept, class_switches, cr3_switches, invlpgs, maps;
	uint64_t kicks;
	struct raw_site sites[RAW_SITES];
	uint64_t sites_lost;
};

struct guest_mem;

struct raw_cpu {
	struct emu_cpu *c;
	struct vm *vm;
	/* the stub */
	pid_t pid;
	struct raw_ctrl *ctrl;       /* popek's mapping of the control page */
	uint8_t *patch_mem;          /* popek's mapping of the patch pages */
	uint64_t patch_off;          /* their offset in the memfd */
	int32_t patch_next, *patch_free;
	int npatch_free;
	bool dead;
	char why[200];
	/* the monitor tables (proto.h), shared with the stub */
	uint8_t *tables;
	uint64_t tables_off, tables_size;   /* in the memfd; off 0: private (tests) */
	struct raw_code_info *cinfo;        /* per guest pfn */
	/* shadow page tables */
	uint8_t *pst;                /* SP_* per linear page (tables) */
	uint32_t *ppfn;              /* guest pfn each maps (tables) */
	uint32_t *list;              /* linear pages with pst != 0 */
	uint32_t nlist;
	uint8_t *wmapped;            /* per guest pfn: mapped writable somewhere */
	bool need_flush;
	int cls;                     /* 0 guest kernel, 1 guest user: of the mappings */
	uint64_t cr0, cr3, cr4, efer, tlb_flushes, full_flushes;
	/* descriptors installed in the host LDT (slot k = segment register k) */
	struct raw_desc ldt[6];
	bool ldt_valid[6];
	/* scanner */
	struct code_page **code;     /* per guest pfn */
	struct raw_scanq scanq;
	uint64_t npfn;
	/* control */
	bool in_rem;                 /* the last exit came from REM: resume there */
	uint64_t last_fault_lin;     /* the last shadow fault, to catch one that repeats */
	uint32_t last_fault_eip;
	struct raw_stats st;
};

/* spawn.c */
/* host_probe.c: 0 when a far jump to an LDT code segment runs 32-bit
 * code here (probed once, in a child), else -1 and why. */
int raw_host_runs_compat(char *why, size_t n);

int raw_stub_start(struct raw_cpu *r, int memfd, char *err, size_t n);
void raw_stub_stop(struct raw_cpu *r);
/* Sends the command in ctrl (run: enter the guest) and waits for the report;
 * -1 when the stub died (r->why says how). */
int raw_stub_exchange(struct raw_cpu *r, bool run);
void raw_stub_kick(struct raw_cpu *r);

/* shadow.c */
/* Guest page frames the tables cover, and the tables' size for them. */
uint64_t raw_guest_npfn(const struct guest_mem *m);
uint64_t raw_tables_size(uint64_t npfn);
/* Maps the tables (from the memfd at r->tables_off, or private when 0)
 * and sets up the shadow page tables in them. */
int raw_shadow_init(struct raw_cpu *r, char *err, size_t n);
void raw_shadow_free(struct raw_cpu *r);
void raw_shadow_flush(struct raw_cpu *r);
/* What a CR3 switch drops: every mapping but those of global pages. */
void raw_shadow_flush_nonglobal(struct raw_cpu *r);
/* Unmaps the pages only the guest kernel may touch below RAW_RING_SPLIT
 * (native code in guest user mode runs with segments that end there). */
void raw_shadow_drop_konly(struct raw_cpu *r);
void raw_shadow_unmap(struct raw_cpu *r, uint32_t lp);
/* Before a native run: drops what the guest's paging changes, its CPL
 * class and its INVLPGs made stale. */
void raw_shadow_sync(struct raw_cpu *r);
/* A host page fault at lin: 1 when the shadow tables now answer it, 0
 * when REM must run the instruction (guest fault, MMIO), -1 on failure. */
int raw_shadow_fault(struct raw_cpu *r, uint32_t lin, uint32_t err);
int raw_queue_op(struct raw_cpu *r, uint32_t kind, uint32_t lin, uint64_t len, uint32_t prot,
		 uint64_t offset);

/* scan.c */
/* Scans the code page at guest pfn from linear entry lin (in the current
 * CS): returns the record, or NULL when the page cannot run natively. */
/* lin: the entry being run, or RAW_NO_ENTRY (only the branches kept for
 * the page are followed) */
#define RAW_NO_ENTRY 0xffffffffu
struct code_page *raw_scan(struct raw_cpu *r, uint64_t pfn, uint32_t lin);
/* Where the instruction at lin, which runs into linear page lp, goes on
 * in sequence; RAW_NO_ENTRY if nowhere in lp. */
uint32_t raw_next_insn(struct raw_cpu *r, uint32_t lin, uint32_t lp);
/* Decodes the guest's instruction at linear lin (its original bytes, from
 * guest RAM): its length, <= 0 when it cannot. */
int raw_decode_at(struct raw_cpu *r, uint32_t lin, struct insn *i);
/* Does the scanner's copy hold a trapping byte at lin? */
bool raw_patched_at(struct raw_cpu *r, uint32_t lin);
void raw_code_drop(struct raw_cpu *r, uint64_t pfn);
/* Unmaps every writable native mapping of guest page pfn: it holds code
 * (scanned, or decoded by REM) whose writes popek must see. */
void raw_revoke_write(struct raw_cpu *r, uint64_t pfn);
void raw_scan_free(struct raw_cpu *r);
/* The guest-physical address of code at linear lin, as an instruction
 * fetch at the current CPL finds it (without faulting). */
bool raw_code_gpa(struct emu_cpu *c, uint32_t lin, uint64_t *gpa);
/* Is this decoded 32-bit instruction one that must not run at ring 3? */
bool raw_sensitive(const struct insn *i);

/* sites.c */
void raw_count_site(struct raw_cpu *r, uint32_t lin, int kind);
/* NULL for an instruction that is neither sensitive nor privileged */
const char *raw_insn_name(const struct insn *i);
void raw_print_sites(const struct raw_cpu *r, const char *const *kind_name, int fd);

/* descriptors.c */
/* The host LDT descriptor standing for a guest segment cache. */
void raw_desc_of(const struct segment *s, unsigned slot, struct raw_desc *d);
/* The same with the segment's end capped below top (ring compression in
 * guest user mode); false when the segment cannot be (it starts above
 * top, or is expand-down). */
bool raw_desc_capped(const struct segment *s, unsigned slot, uint32_t top, struct raw_desc *d);
uint16_t raw_host_selector(unsigned slot);
/* Can this segment cache be run natively in this register? */
bool raw_segment_ok(const struct segment *s, int reg);

#endif
