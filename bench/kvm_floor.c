/*
 * The floor for popek's exit benchmarks: the least a KVM user-space VMM can
 * do. One VM, one vCPU in real mode, a flat binary at 0x7c00, and a run loop
 * that counts port-I/O exits and stops when the guest writes to the
 * debug-exit port (0xf4). No devices, no threads, no signals, no output on
 * the hot path, so whatever popek spends above this is popek's own cost.
 *
 * usage: kvm_floor [-m MiB] [-v] FLAT-BINARY
 * Exit status follows isa-debug-exit, like popek and QEMU: (value << 1) | 1.
 * 0 on HLT, 8 on anything unexpected, 10 when /dev/kvm cannot be used.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define LOAD_ADDR 0x7c00u
#define DEBUG_EXIT_PORT 0xf4u
/* Real mode without unrestricted guest needs a TSS area KVM can use; put
 * it where it cannot collide with guest RAM below 4 GiB. */
#define TSS_ADDR 0xfffbd000ul

static int fail(const char *what)
{
	fprintf(stderr, "kvm_floor: %s: %s\n", what, strerror(errno));
	return 8;
}

static int load_file(const char *path, uint8_t *mem, size_t room)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "kvm_floor: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t n = fread(mem, 1, room, f);
	int bad = ferror(f) || n == 0;
	fclose(f);
	if (bad)
		fprintf(stderr, "kvm_floor: %s: empty or unreadable\n", path);
	return bad ? -1 : 0;
}

static int setup_real_mode(int vcpu)
{
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.selector = 0;
	sregs.cs.base = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = LOAD_ADDR, .rflags = 2, .rsp = LOAD_ADDR };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");
	return 0;
}

int main(int argc, char **argv)
{
	size_t mem_mib = 1;
	int verbose = 0, opt;
	while ((opt = getopt(argc, argv, "m:v")) != -1) {
		if (opt == 'm')
			mem_mib = strtoul(optarg, NULL, 0);
		else if (opt == 'v')
			verbose = 1;
		else
			return 2;
	}
	if (optind != argc - 1 || mem_mib == 0) {
		fprintf(stderr, "usage: kvm_floor [-m MiB] [-v] FLAT-BINARY\n");
		return 2;
	}

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "kvm_floor: /dev/kvm: %s\n", strerror(errno));
		return 10;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	if (ioctl(vm, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
		return fail("KVM_SET_TSS_ADDR");

	size_t mem_size = mem_mib << 20;
	uint8_t *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap guest memory");
	if (load_file(argv[optind], mem + LOAD_ADDR, mem_size - LOAD_ADDR) < 0)
		return 2;
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = mem_size,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (setup_real_mode(vcpu))
		return 8;

	unsigned long io_exits = 0;
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return fail("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_IO) {
			if (run->io.port == DEBUG_EXIT_PORT &&
			    run->io.direction == KVM_EXIT_IO_OUT) {
				uint8_t value = *((uint8_t *)run + run->io.data_offset);
				if (verbose)
					fprintf(stderr, "kvm_floor: %lu I/O exits\n", io_exits);
				return (value << 1) | 1;
			}
			io_exits++;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_HLT) {
			if (verbose)
				fprintf(stderr, "kvm_floor: HLT after %lu I/O exits\n", io_exits);
			return 0;
		}
		fprintf(stderr, "kvm_floor: unexpected exit reason %u\n", run->exit_reason);
		return 8;
	}
}
