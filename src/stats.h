/* Exit statistics for --stats: per exit reason, how often and how long
 * popek took to answer it, and which guest addresses cause the most I/O. */
#ifndef POPEK_STATS_H
#define POPEK_STATS_H

#include <stdint.h>

#include "exit.h"

#define STATS_SITES 256   /* open-addressed table of guest RIPs doing I/O */

struct io_site {
	uint64_t rip;
	uint64_t port;        /* port or MMIO address of the first hit */
	uint64_t count;
	uint8_t kind;         /* EXIT_IO or EXIT_MMIO */
};

struct vcpu_stats {
	uint64_t count[EXIT_REASON_COUNT];
	uint64_t ns[EXIT_REASON_COUNT];       /* time popek spent answering */
	struct io_site site[STATS_SITES];
	uint64_t site_overflow;
};

void stats_count(struct vcpu_stats *s, enum exit_reason r, uint64_t ns);
void stats_io_site(struct vcpu_stats *s, enum exit_reason kind, uint64_t rip, uint64_t addr);
/* Sums the per-vCPU tables and prints them; top_sites I/O sites at most. */
void stats_print(const struct vcpu_stats *per_cpu, int ncpus, int fd, int top_sites);

#endif
