/* The machine: guest memory, the two buses, interrupt routing, the vCPUs and
 * their run loop. It owns the engine and the devices and keeps them apart. */
#ifndef POPEK_VM_H
#define POPEK_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "cpu_state.h"
#include "engine.h"
#include "exit.h"
#include "intr.h"
#include "mem/guest_mem.h"
#include "stats.h"

#define VM_MAX_VCPUS 64

/* popek's exit statuses. Odd values belong to the debug-exit port
 * ((N << 1) | 1, as QEMU's isa-debug-exit), so popek's own are even. */
enum popek_status {
	STATUS_OK = 0,             /* guest powered off or reset */
	STATUS_BAD_INPUT = 2,      /* usage, files, sizes: nothing ran */
	STATUS_TRIPLE_FAULT = 4,
	STATUS_ENTRY_FAILED = 6,
	STATUS_INTERNAL = 8,       /* engine or host failure while running */
	STATUS_HOST_ERROR = 10,    /* the engine could not be set up */
	STATUS_GUEST_PANICKED = 12, /* the guest reported a panic through pvpanic */
	STATUS_QUIT = 14,          /* the user quit with Ctrl-A x */
	STATUS_SIGNAL_BASE = 128,  /* + signal number: popek was told to stop */
};

struct vm;

struct vcpu {
	struct vm *vm;
	int index;
	pthread_t thread;
	void *engine_priv;
	struct cpu_state boot_state;   /* what the loader wants at entry */
	struct vcpu_stats stats;
};

#define VM_MAX_DISKS 8

/* A virtio-blk image (--disk), opened and locked by disk_open. */
struct vm_disk {
	const char *path;
	bool read_only;
	int fd;
};

#define VM_MAX_HOSTFWD 8

/* A virtio-net backend (--net), parsed by net_parse (dev/virtio/net.h). */
struct vm_net {
	bool enabled;
	bool user;                /* libslirp user-mode networking; else tap */
	char tap[16];             /* --net tap=NAME */
	uint8_t mac[6];
	struct vm_hostfwd {
		bool udp;
		uint32_t host_addr;   /* network byte order; 0: 127.0.0.1 */
		uint16_t host_port, guest_port;
	} fwd[VM_MAX_HOSTFWD];
	int nfwd;
};

struct vm_config {
	uint64_t ram_size;
	int ncpus;
	bool stats;
	bool deterministic;
	bool seccomp;         /* confine the run to its system calls (vmm_filter.c) */
	const char *cmdline;  /* the kernel command line, for fw_cfg; may be NULL */
	bool debugcon;        /* QEMU's debug console at 0x402, writing to debugcon_fd */
	int debugcon_fd;
	bool post_codes;      /* print POST codes as they are written */
	bool pc_testdev;      /* QEMU's pc-testdev (--device pc-testdev) */
	const uint8_t *bios;  /* --bios: the ROM image, mapped below 4 GiB; NULL: none */
	uint64_t bios_size;
	struct vm_disk disk[VM_MAX_DISKS];  /* --disk: /dev/vda, /dev/vdb ... */
	int ndisks;
	struct vm_net net;    /* --net */
	bool virtio_rng;      /* --device virtio-rng */
	bool virtio_console;  /* --device virtio-console[,path=FILE] */
	int virtio_console_fd; /* ... where hvc0 writes */
	int virtio_console_in_fd; /* ... and what it reads; -1: no input */
	int console_in_fd;    /* -1: no input */
	int console_out_fd;
};

struct vm {
	const struct engine *engine;
	void *engine_priv;
	struct vm_config cfg;
	struct guest_mem mem;
	struct bus pio, mmio;
	struct vcpu vcpu[VM_MAX_VCPUS];
	int ncpus;
	atomic_int stopping;        /* set once; every vCPU leaves its loop */
	int status;                 /* popek_status or debug-exit value */
	char stop_reason[160];
	uint64_t start_ns;          /* when popek started, for the boot timer */
	uint64_t first_exit_ns;     /* since start_ns: the guest has run by then */
	atomic_int running;         /* vCPU threads still in their loop */
	pthread_t main_thread;      /* waits in vm_run for the end or a signal */
	pthread_mutex_t stop_lock;
	struct cpu_state dump_state; /* the state at a fatal exit */
	int dump_valid;
	/* popek's own interrupt controllers, for engines without in-kernel ones */
	const struct intr_platform *intr;
	void *intr_opaque;
	pthread_mutex_t intr_lock;
	pthread_cond_t intr_wake;
	uint64_t intr_generation;   /* bumped by intr_kick; halted vCPUs wait for a change */
	/* --deterministic: the clock is the engine's retired instructions (one
	 * nanosecond each) plus the time skipped while every vCPU was halted */
	atomic_uint_least64_t skipped_ns;
	atomic_int halted;          /* vCPUs waiting in intr_wait */
};

int vm_create(struct vm *vm, const struct engine *engine, const struct vm_config *cfg,
	      char *err, size_t n);
/* The part of vm_create that needs no host resources: the locks, the
 * buses, the vCPUs' back pointers, the start time. vm_create begins with
 * it; tests that attach devices to a machine without an engine use it alone. */
void vm_init_machine(struct vm *vm, const struct engine *engine, const struct vm_config *cfg);
/* Until vm_run, SIGINT/SIGTERM/SIGHUP end popek at once with status
 * 128 + N: vm_setup_stop_signals installs that, vm_create blocks them while
 * it starts threads (which keep them blocked), vm_allow_stop_signals takes
 * them again in the calling thread, and vm_run blocks them for its
 * sigwait. */
void vm_setup_stop_signals(void);
void vm_allow_stop_signals(void);
/* Runs every vCPU to the end and returns the exit status. */
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* For devices. */
/* Raises or lowers an ISA/GSI interrupt line wherever the machine routes it. */
void vm_irq_line(struct vm *vm, unsigned line, int level);
/* A message-signalled interrupt: the device writes data to addr (MSI-X). */
void vm_msi(struct vm *vm, uint64_t addr, uint32_t data);
/* A device's DMA into or out of guest RAM: 0, or -1 when the range is not
 * RAM. Writes tell the engine, which may keep decoded code of the pages. */
int vm_dma_write(struct vm *vm, uint64_t gpa, const void *src, uint64_t len);
int vm_dma_read(struct vm *vm, uint64_t gpa, void *dst, uint64_t len);
/* A device wrote guest RAM through a host pointer (gpa_ptr): tells the
 * engine, as vm_dma_write does. */
void vm_ram_written(struct vm *vm, uint64_t gpa, uint64_t len);
/* Ends the run with this status (first caller wins); safe from any thread. */
void vm_request_stop(struct vm *vm, int status, const char *why);
/* The machine's clock runs at 1 GHz: vm_now_ns() counts its ticks, and
 * engines without hardware of their own run the TSC and the local APIC's
 * bus clock at this rate (and advertise it in CPUID). */
#define VM_CLOCK_HZ 1000000000ull
/* Monotonic nanoseconds (real time, or derived from instructions when deterministic). */
uint64_t vm_now_ns(const struct vm *vm);

uint64_t host_now_ns(void);

/* The vCPU the calling thread runs, NULL outside vCPU threads. */
struct vcpu *vm_current_vcpu(void);

#endif
