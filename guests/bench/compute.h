/* The compute benchmark guest: what its 32-bit half hands the 64-bit half
 * (lm_call64's argument), and the loop both halves run. */
#ifndef GUEST_BENCH_COMPUTE_H
#define GUEST_BENCH_COMPUTE_H
#include <stdint.h>
#include "phases.h"

/* Scratch memory of the phases: 16 MiB up, clear of the image (1 MiB) and
 * the 64-bit half (4 MiB); every VMM here gives the guest 128 MiB or more. */
#define COMPUTE_WORK 0x1000000u

struct compute_shared {
	uint32_t scale;
	uint32_t work;
	uint32_t sums[PHASE_COUNT];
};

/* Runs every phase once, prints one "PHASE name mode checksum" line per
 * phase and stores the checksums in SUMS. */
void compute_run(const char *mode, uint32_t scale, uint8_t *work, uint32_t *sums);
#endif
