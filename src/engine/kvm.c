/* The hardware-assisted engine: guest code runs in VMX non-root / SVM guest
 * mode through Linux KVM; popek sees the exits KVM hands to user space.
 * The interrupt controllers and the PIT live inside KVM, so HLT and timer
 * interrupts never leave the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/kvm_state.h"
#include "vm.h"

/* Just below 4 GiB, out of the way of RAM and the MMIO hole's devices:
 * Intel VT-x needs three pages for a real-mode TSS and one for an identity
 * page table when the CPU lacks unrestricted guest. */
#define KVM_TSS_ADDR      0xfffbd000ull
#define KVM_IDENTITY_ADDR 0xfffbc000ull
#define CPUID_MAX_ENTRIES 256
#define HYPERVISOR_SIGNATURE "PopekPopekVM"

struct kvm_vm {
	int kvm_fd;
	int vm_fd;
	int run_size;
	struct kvm_cpuid2 *cpuid;   /* KVM's supported set, patched for popek */
};

struct kvm_vcpu {
	int fd;
	int stats_fd;
	struct kvm_run *run;
	pthread_t thread;
	int thread_known;
};

/* Opens /dev/kvm and checks it is a KVM popek can drive; the fd, or -1 with the reason. */
static int kvm_open(char *why, size_t n)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, n, "cannot open /dev/kvm: %s%s", strerror(errno),
			 errno == EACCES ? " (add yourself to the kvm group)" :
			 errno == ENOENT ? " (no KVM on this host: load kvm_intel or kvm_amd, or use --engine emu)" : "");
		return -1;
	}
	int version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		snprintf(why, n, "/dev/kvm speaks API version %d, popek needs %d", version, KVM_API_VERSION);
		close(fd);
		return -1;
	}
	if (ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0) {
		snprintf(why, n, "this KVM has no in-kernel interrupt controller");
		close(fd);
		return -1;
	}
	return fd;
}

static int kvm_available(char *why, size_t n)
{
	int fd = kvm_open(why, n);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static struct kvm_vm *vm_priv(struct vm *vm) { return vm->engine_priv; }
static struct kvm_vcpu *cpu_priv(struct vcpu *c) { return c->engine_priv; }

/* Writes the 12-byte signature into EBX, ECX, EDX as CPUID returns it. */
static void put_signature(struct kvm_cpuid_entry2 *e, const char *sig)
{
	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
}

/* KVM's supported set with popek's own hypervisor leaf in front. KVM's
 * paravirtual leaves move to 0x40000100, where Linux still finds them (it
 * scans the hypervisor range in steps of 0x100), so guests keep kvmclock. */
static int setup_cpuid(struct kvm_vm *k, char *err, size_t n)
{
	size_t sz = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);
	if (!c) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	c->nent = CPUID_MAX_ENTRIES - 2;
	if (ioctl(k->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		snprintf(err, n, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(c);
		return -1;
	}
	uint32_t kvm_max = 0x40000000;
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if ((e->function & 0xffffff00) == 0x40000000) {
			if (e->function == 0x40000000)
				kvm_max = e->eax;
			e->function += 0x100;
			if (e->function == 0x40000100)
				e->eax = kvm_max + 0x100;
		}
		if (e->function == 1)
			e->ecx |= 1u << 31;   /* "running under a hypervisor" */
	}
	struct kvm_cpuid_entry2 *p = &c->entries[c->nent++];
	memset(p, 0, sizeof(*p));
	p->function = 0x40000000;
	p->eax = 0x40000000;          /* no further popek leaves yet */
	put_signature(p, HYPERVISOR_SIGNATURE);
	k->cpuid = c;
	return 0;
}

static int set_memory(struct vm *vm, struct kvm_vm *k, char *err, size_t n)
{
	for (int i = 0; i < vm->mem.nregions; i++) {
		const struct mem_region *r = &vm->mem.region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = (uint32_t)i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->host,
			.flags = r->rom ? KVM_MEM_READONLY : 0,   /* writes exit as MMIO, dropped */
		};
		if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			snprintf(err, n, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int kvm_vm_create(struct vm *vm, char *err, size_t n)
{
	struct kvm_vm *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	k->vm_fd = -1;
	vm->engine_priv = k;
	k->kvm_fd = kvm_open(err, n);
	if (k->kvm_fd < 0)
		return -1;
	int max_cpus = ioctl(k->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_cpus > 0 && vm->ncpus > max_cpus) {
		snprintf(err, n, "this KVM supports at most %d vCPUs, %d asked", max_cpus, vm->ncpus);
		return -1;
	}
	do
		k->vm_fd = ioctl(k->kvm_fd, KVM_CREATE_VM, 0);
	while (k->vm_fd < 0 && errno == EINTR);
	if (k->vm_fd < 0) {
		snprintf(err, n, "KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	k->run_size = ioctl(k->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (k->run_size <= 0) {
		snprintf(err, n, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	if (set_memory(vm, k, err, n) != 0)
		return -1;
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0 ||
	    ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){ KVM_IDENTITY_ADDR }) < 0) {
		snprintf(err, n, "KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -1;
	}
	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		snprintf(err, n, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -1;
	}
	if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		snprintf(err, n, "KVM_CREATE_PIT2: %s", strerror(errno));
		return -1;
	}
	return setup_cpuid(k, err, n);
}

static void kvm_vm_destroy(struct vm *vm)
{
	struct kvm_vm *k = vm_priv(vm);
	if (!k)
		return;
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->kvm_fd >= 0)
		close(k->kvm_fd);
	free(k->cpuid);
	free(k);
	vm->engine_priv = NULL;
}

/* Gives each vCPU its own APIC id in the leaves that report it. */
static int set_vcpu_cpuid(struct kvm_vm *k, struct vcpu *cpu, int fd)
{
	size_t sz = sizeof(struct kvm_cpuid2) + k->cpuid->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = malloc(sz);
	if (!c)
		return -1;
	memcpy(c, k->cpuid, sz);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1) {
			e->ebx = (e->ebx & 0x0000ffff) | ((uint32_t)cpu->index << 24) |
				 ((uint32_t)cpu->vm->ncpus << 16);
			if (cpu->vm->ncpus > 1)
				e->edx |= 1u << 28;   /* HTT: the logical count above is valid */
		}
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = (uint32_t)cpu->index;   /* x2APIC id */
	}
	int r = ioctl(fd, KVM_SET_CPUID2, c);
	free(c);
	return r;
}

/* MSRs a firmware would have set before handing over to a kernel. */
static int set_boot_msrs(int fd)
{
	static const struct { uint32_t index; uint64_t value; } boot[] = {
		{ MSR_IA32_MISC_ENABLE, 1 },            /* fast strings */
		{ 0x2ff, (1u << 11) | 6 },              /* MTRRdefType: enabled, write-back */
		{ MSR_IA32_TSC, 0 },
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[sizeof(boot) / sizeof(boot[0])];
	} m;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = sizeof(boot) / sizeof(boot[0]);
	for (unsigned i = 0; i < m.hdr.nmsrs; i++) {
		m.e[i].index = boot[i].index;
		m.e[i].data = boot[i].value;
	}
	return ioctl(fd, KVM_SET_MSRS, &m) == (int)m.hdr.nmsrs ? 0 : -1;
}

static int kvm_vcpu_create(struct vcpu *cpu, char *err, size_t n)
{
	struct kvm_vm *k = vm_priv(cpu->vm);
	struct kvm_vcpu *v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	v->stats_fd = -1;
	v->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)cpu->index);
	if (v->fd < 0) {
		snprintf(err, n, "KVM_CREATE_VCPU: %s", strerror(errno));
		free(v);
		return -1;
	}
	v->run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		snprintf(err, n, "mmap of the vCPU run area: %s", strerror(errno));
		close(v->fd);
		free(v);
		return -1;
	}
	cpu->engine_priv = v;
	if (set_vcpu_cpuid(k, cpu, v->fd) < 0) {
		snprintf(err, n, "KVM_SET_CPUID2: %s", strerror(errno));
		return -1;
	}
	if (set_boot_msrs(v->fd) < 0) {
		snprintf(err, n, "KVM_SET_MSRS: cannot set the boot MSRs");
		return -1;
	}
	if (cpu->vm->cfg.stats)
		v->stats_fd = ioctl(v->fd, KVM_GET_STATS_FD, 0);
	return 0;
}

static void kvm_vcpu_destroy(struct vcpu *cpu)
{
	struct kvm_vcpu *v = cpu_priv(cpu);
	struct kvm_vm *k = vm_priv(cpu->vm);
	if (!v)
		return;
	if (v->run && v->run != MAP_FAILED && k)
		munmap(v->run, (size_t)k->run_size);
	if (v->stats_fd >= 0)
		close(v->stats_fd);
	close(v->fd);
	free(v);
	cpu->engine_priv = NULL;
}

static int kvm_get_state(struct vcpu *cpu, struct cpu_state *s)
{
	return kvm_state_get(cpu_priv(cpu)->fd, s);
}

static int kvm_set_state(struct vcpu *cpu, const struct cpu_state *s)
{
	return kvm_state_set(cpu_priv(cpu)->fd, s);
}

static void translate_exit(struct kvm_run *run, struct vm_exit *e)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		e->reason = EXIT_IO;
		e->io.port = run->io.port;
		e->io.size = run->io.size;
		e->io.is_write = run->io.direction == KVM_EXIT_IO_OUT;
		e->io.count = run->io.count;
		e->io.data = (uint8_t *)run + run->io.data_offset;
		return;
	case KVM_EXIT_MMIO:
		e->reason = EXIT_MMIO;
		e->mmio.addr = run->mmio.phys_addr;
		e->mmio.size = (uint8_t)run->mmio.len;
		e->mmio.is_write = run->mmio.is_write;
		e->mmio.data = run->mmio.data;
		return;
	case KVM_EXIT_HLT:
		e->reason = EXIT_HLT;
		return;
	case KVM_EXIT_SHUTDOWN:
		e->reason = EXIT_SHUTDOWN;
		return;
	case KVM_EXIT_SYSTEM_EVENT:
		e->reason = EXIT_SYSTEM_EVENT;
		e->system.type = run->system_event.type == KVM_SYSTEM_EVENT_RESET ?
			SYSTEM_EVENT_RESET : SYSTEM_EVENT_POWEROFF;
		return;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		e->reason = EXIT_IRQ_WINDOW;
		return;
	case KVM_EXIT_DEBUG:
		e->reason = EXIT_DEBUG;
		return;
	case KVM_EXIT_INTR:
		e->reason = EXIT_INTERRUPTED;
		return;
	case KVM_EXIT_FAIL_ENTRY:
		e->reason = EXIT_FAIL_ENTRY;
		e->fail.code = run->fail_entry.hardware_entry_failure_reason;
		e->fail.what = "VM entry failed (invalid guest state)";
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		e->reason = EXIT_INTERNAL;
		e->fail.code = run->internal.suberror;
		e->fail.what = run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			"KVM could not emulate an instruction" : "KVM internal error";
		return;
	default:
		e->reason = EXIT_INTERNAL;
		e->fail.code = run->exit_reason;
		e->fail.what = "unexpected KVM exit reason";
		return;
	}
}

static int kvm_run(struct vcpu *cpu, struct vm_exit *e)
{
	struct kvm_vcpu *v = cpu_priv(cpu);
	if (!v->thread_known) {
		v->thread = pthread_self();
		__atomic_store_n(&v->thread_known, 1, __ATOMIC_RELEASE);
		if (atomic_load(&cpu->vm->stopping))
			v->run->immediate_exit = 1;
	}
	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			v->run->immediate_exit = 0;
			e->reason = EXIT_INTERRUPTED;
			return 0;
		}
		return -1;
	}
	translate_exit(v->run, e);
	return 0;
}

/* immediate_exit covers a kick that lands before KVM_RUN starts; the signal
 * covers one that lands while the vCPU runs or sleeps in HLT. */
static void kvm_kick(struct vcpu *cpu)
{
	struct kvm_vcpu *v = cpu_priv(cpu);
	v->run->immediate_exit = 1;
	if (__atomic_load_n(&v->thread_known, __ATOMIC_ACQUIRE))
		pthread_kill(v->thread, SIGUSR1);
}

static uint64_t kvm_exit_rip(struct vcpu *cpu)
{
	struct kvm_regs regs;
	if (ioctl(cpu_priv(cpu)->fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

static int kvm_irq_line(struct vm *vm, unsigned line, int level)
{
	struct kvm_irq_level irq = { .irq = line, .level = (uint32_t)level };
	return ioctl(vm_priv(vm)->vm_fd, KVM_IRQ_LINE, &irq);
}

static int kvm_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data };
	return ioctl(vm_priv(vm)->vm_fd, KVM_SIGNAL_MSI, &msi);
}

const struct engine engine_kvm = {
	.name = "kvm",
	.available = kvm_available,
	.vm_create = kvm_vm_create,
	.vm_destroy = kvm_vm_destroy,
	.vcpu_create = kvm_vcpu_create,
	.vcpu_destroy = kvm_vcpu_destroy,
	.get_state = kvm_get_state,
	.set_state = kvm_set_state,
	.run = kvm_run,
	.kick = kvm_kick,
	.exit_rip = kvm_exit_rip,
	.irq_line = kvm_irq_line,
	.msi = kvm_msi,
	.print_stats = kvm_stats_print,
};

/* For kvm_stats.c: the stats fd of a vCPU, or -1. */
int kvm_vcpu_stats_fd(struct vcpu *cpu)
{
	return cpu->engine_priv ? cpu_priv(cpu)->stats_fd : -1;
}
