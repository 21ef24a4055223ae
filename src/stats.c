/* Exit statistics. Each vCPU counts into its own table (no locks on the exit
 * path); the tables are summed once, at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

void stats_count(struct vcpu_stats *s, enum exit_reason r, uint64_t ns)
{
	s->count[r]++;
	s->ns[r] += ns;
}

void stats_io_site(struct vcpu_stats *s, enum exit_reason kind, uint64_t rip, uint64_t addr)
{
	unsigned h = (unsigned)((rip * 0x9e3779b97f4a7c15ull) >> 56) % STATS_SITES;
	for (unsigned probe = 0; probe < STATS_SITES; probe++) {
		struct io_site *site = &s->site[(h + probe) % STATS_SITES];
		if (site->count == 0) {
			site->rip = rip;
			site->port = addr;
			site->kind = (uint8_t)kind;
		}
		if (site->rip == rip && site->kind == kind) {
			site->count++;
			return;
		}
	}
	s->site_overflow++;
}

static int by_count_desc(const void *a, const void *b)
{
	const struct io_site *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static void merge_sites(struct vcpu_stats *sum, const struct vcpu_stats *one)
{
	for (int i = 0; i < STATS_SITES; i++) {
		const struct io_site *site = &one->site[i];
		if (!site->count)
			continue;
		/* Re-inserting count times would be slow; insert once then add. */
		stats_io_site(sum, (enum exit_reason)site->kind, site->rip, site->port);
		for (int j = 0; j < STATS_SITES; j++)
			if (sum->site[j].rip == site->rip && sum->site[j].kind == site->kind) {
				sum->site[j].count += site->count - 1;
				break;
			}
	}
	sum->site_overflow += one->site_overflow;
}

void stats_print(const struct vcpu_stats *per_cpu, int ncpus, int fd, int top_sites)
{
	struct vcpu_stats *sum = calloc(1, sizeof(*sum));
	if (!sum)
		return;
	for (int c = 0; c < ncpus; c++) {
		for (int r = 0; r < EXIT_REASON_COUNT; r++) {
			sum->count[r] += per_cpu[c].count[r];
			sum->ns[r] += per_cpu[c].ns[r];
		}
		merge_sites(sum, &per_cpu[c]);
	}
	FILE *f = fdopen(dup(fd), "w");
	if (!f) {
		free(sum);
		return;
	}
	fprintf(f, "popek: exits handled by popek\n");
	fprintf(f, "  %-16s %12s %14s %10s\n", "reason", "count", "total-us", "mean-ns");
	for (int r = 0; r < EXIT_REASON_COUNT; r++) {
		if (!sum->count[r])
			continue;
		fprintf(f, "  %-16s %12llu %14.1f %10llu\n", exit_reason_name((enum exit_reason)r),
			(unsigned long long)sum->count[r], sum->ns[r] / 1000.0,
			(unsigned long long)(sum->ns[r] / sum->count[r]));
	}
	qsort(sum->site, STATS_SITES, sizeof(sum->site[0]), by_count_desc);
	if (sum->site[0].count) {
		fprintf(f, "popek: guest addresses causing the most I/O exits\n");
		fprintf(f, "  %-18s %-5s %-18s %12s\n", "rip", "kind", "port/address", "count");
	}
	for (int i = 0; i < top_sites && i < STATS_SITES && sum->site[i].count; i++) {
		const struct io_site *s = &sum->site[i];
		fprintf(f, "  %#018llx %-5s %#-18llx %12llu\n", (unsigned long long)s->rip,
			s->kind == EXIT_IO ? "io" : "mmio", (unsigned long long)s->port,
			(unsigned long long)s->count);
	}
	if (sum->site_overflow)
		fprintf(f, "  (%llu exits from further addresses not listed)\n",
			(unsigned long long)sum->site_overflow);
	fclose(f);
	free(sum);
}
