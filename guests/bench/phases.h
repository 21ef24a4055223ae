/* The compute benchmark's phases: fixed work, no I/O, no runtime calls, so
 * the same file builds into the guest's 32-bit half, its 64-bit half and a
 * host program (build/bench/compute-host) that gives the reference
 * checksums. Every phase returns a checksum of everything it computed: a
 * CPU that gets one result wrong prints a different number. */
#ifndef GUEST_BENCH_PHASES_H
#define GUEST_BENCH_PHASES_H
#include <stdint.h>

/* Bytes of scratch memory a phase may use, from the WORK pointer on. */
#define PHASE_WORK_BYTES (16u << 20)

struct phase {
	const char *name;
	uint32_t (*run)(uint8_t *work, uint32_t scale);
};

extern const struct phase phases[];
#define PHASE_COUNT 9

/* Known answers, checked by the guest on top of the checksums: the CRC-32
 * of "123456789" and the number of primes below 1,000,000. */
#define CRC32_CHECK_VALUE 0xcbf43926u
#define PRIMES_BELOW_1M   78498u
uint32_t crc32_of(const uint8_t *p, uint32_t n);
uint32_t primes_below_1m(uint8_t *work);
/* The SSE2 phase, in its own file (phase_fp.c): the rest is built without
 * floating-point registers. */
uint32_t phase_fp(uint8_t *work, uint32_t scale);
#endif
