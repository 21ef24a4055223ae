/* The phase loop shared by both halves of the compute guest. The TSC delta
 * on each line is for people reading the log (which phase is slow on which
 * VMM); the benchmark compares only the checksums. */
#include "compute.h"
#include "io.h"
#include "serial.h"

void compute_run(const char *mode, uint32_t scale, uint8_t *work, uint32_t *sums)
{
	for (unsigned i = 0; i < PHASE_COUNT; i++) {
		uint64_t t0 = rdtsc();
		sums[i] = phases[i].run(work, scale);
		uint64_t t1 = rdtsc();
		kprintf("PHASE %-6s %-6s %08x tsc %llu\n", phases[i].name, mode, sums[i],
			(unsigned long long)(t1 - t0));
	}
}
