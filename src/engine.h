/* What an engine provides: a way to run vCPUs in the canonical state until
 * something the machine must handle happens. Engines know nothing of the
 * devices; they see guest memory, the exit record and the cpu state. */
#ifndef POPEK_ENGINE_H
#define POPEK_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_state.h"
#include "exit.h"

struct vm;
struct vcpu;

struct engine {
	const char *name;
	/* 0 when the engine can run on this host, else -1 with the reason. */
	int (*available)(char *why, size_t n);
	int (*vm_create)(struct vm *vm, char *err, size_t n);
	void (*vm_destroy)(struct vm *vm);
	int (*vcpu_create)(struct vcpu *cpu, char *err, size_t n);
	void (*vcpu_destroy)(struct vcpu *cpu);
	int (*get_state)(struct vcpu *cpu, struct cpu_state *s);
	int (*set_state)(struct vcpu *cpu, const struct cpu_state *s);
	/* Runs until an exit; 0 with *e filled, -1 on a host-side failure
	 * (errno set). The data of an IN or MMIO read that the machine writes
	 * into *e reaches the guest on the next call. */
	int (*run)(struct vcpu *cpu, struct vm_exit *e);
	/* From any thread: make run() return EXIT_INTERRUPTED soon. */
	void (*kick)(struct vcpu *cpu);
	/* Instruction pointer of the last exit, for statistics (may be slow). */
	uint64_t (*exit_rip)(struct vcpu *cpu);
	/* Sets an interrupt line of an interrupt controller that lives inside
	 * the engine (KVM's in-kernel irqchip). NULL: the machine's own models
	 * take the line. */
	int (*irq_line)(struct vm *vm, unsigned line, int level);
	/* Delivers a message-signalled interrupt (a device's write of data to
	 * addr, 0xfeexxxxx) to that interrupt controller. NULL: the machine's
	 * own models take it. */
	int (*msi)(struct vm *vm, uint64_t addr, uint32_t data);
	/* Optional, for --stats: what the engine handled without popek seeing
	 * it (e.g. HLT and I/O handled inside KVM). */
	void (*print_stats)(struct vm *vm, int fd);
	/* Optional: instructions retired by all vCPUs so far, the clock of a
	 * --deterministic run. NULL: the engine cannot count them. */
	uint64_t (*instructions)(const struct vm *vm);
	/* guest RAM on 4 KiB host pages (guest_mem_small_pages): an engine
	 * without second-level paging gains nothing from huge pages, and
	 * small ones leave what the guest never touches unbacked */
	bool small_pages;
	/* Non-zero: guest RAM lives in a memfd (guest_mem_init_fd) from this
	 * offset on, so that a process the engine starts can map it (raw). */
	uint64_t mem_fd_base;
	/* Non-zero: the most vCPUs the engine runs (raw: one). */
	int max_vcpus;
	/* Optional: a device wrote guest RAM behind the CPU's back (DMA);
	 * an engine that keeps decoded or scanned code of it drops that. */
	void (*ram_written)(struct vm *vm, uint64_t gpa, uint64_t len);
	/* The run lives under popek's seccomp filter (vmm_filter.c): set
	 * only for engines whose run, stop and --stats have been run under
	 * it; the others run unfiltered until they have. */
	bool run_filtered;
};

extern const struct engine engine_raw;

extern const struct engine engine_kvm;

/* The engine named by --engine ("kvm", "emu", "auto"); NULL with a reason. */
const struct engine *engine_select(const char *name, char *why, size_t n);
/* The same for one guest: "auto" picks raw for a guest whose entry is
 * 32-bit code (guest32) on one vCPU when the host has no VT-x/AMD-V (and
 * the run need not count instructions). */
const struct engine *engine_select_guest(const char *name, bool guest32, int ncpus,
					 bool deterministic, char *why, size_t n);
/* The engine of that name whether or not it can run here; NULL if unknown or not built. */
const struct engine *engine_by_name(const char *name);
/* 1 when the host CPU has VT-x or AMD-V. */
int host_has_hw_virt(void);

#endif
