/* KVM's binary statistics (KVM_GET_STATS_FD): with the interrupt
 * controllers in the kernel, HLT and some I/O never reach popek, so --stats
 * asks KVM how many it answered itself. */
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/kvm_state.h"
#include "vm.h"

/* The counters worth showing next to popek's own exit table. */
static const char *const wanted[] = {
	"exits", "halt_exits", "io_exits", "mmio_exits", "irq_exits",
	"irq_window_exits", "request_irq_exits", "signal_exits", "irq_injections",
	"nmi_injections",
};
#define NWANTED (sizeof(wanted) / sizeof(wanted[0]))

/* Adds the wanted counters of one vCPU's stats fd into sum[]. */
static int read_vcpu_stats(int fd, uint64_t sum[NWANTED])
{
	struct kvm_stats_header h;
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.num_desc == 0 || h.num_desc > 4096)
		return -1;
	size_t desc_size = sizeof(struct kvm_stats_desc) + h.name_size;
	char *descs = malloc(desc_size * h.num_desc);
	if (!descs)
		return -1;
	if (pread(fd, descs, desc_size * h.num_desc, h.desc_offset) != (ssize_t)(desc_size * h.num_desc)) {
		free(descs);
		return -1;
	}
	for (uint32_t i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (struct kvm_stats_desc *)(descs + i * desc_size);
		d->name[h.name_size - 1] = 0;
		for (size_t w = 0; w < NWANTED; w++) {
			uint64_t v;
			if (strcmp(d->name, wanted[w]) != 0 || d->size != 1)
				continue;
			if (pread(fd, &v, sizeof(v), h.data_offset + d->offset) == (ssize_t)sizeof(v))
				sum[w] += v;
		}
	}
	free(descs);
	return 0;
}

void kvm_stats_print(struct vm *vm, int fd)
{
	uint64_t sum[NWANTED] = { 0 };
	int got = 0;
	for (int i = 0; i < vm->ncpus; i++) {
		int sfd = kvm_vcpu_stats_fd(&vm->vcpu[i]);
		if (sfd >= 0 && read_vcpu_stats(sfd, sum) == 0)
			got = 1;
	}
	if (!got)
		return;
	dprintf(fd, "popek: KVM's own counters (exits it answered in the kernel included)\n");
	for (size_t w = 0; w < NWANTED; w++)
		dprintf(fd, "  %-18s %12llu\n", wanted[w], (unsigned long long)sum[w]);
}
