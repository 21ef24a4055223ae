/* Shared by the libFuzzer targets in this directory (one target per file,
 * fuzz_<what>.c, built by tests/fuzz/fuzz.mk): a cursor that reads the fuzz
 * input as a stream of little-endian fields (zeros once it runs out), the
 * check that turns a broken invariant into a crash libFuzzer records, and
 * guest memory made once per process. */
#ifndef POPEK_FUZZ_H
#define POPEK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem/guest_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: say which, then abort so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                    \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "fuzz: check failed: %s (%s:%d)\n", #cond, __FILE__,   \
				__LINE__);                                                  \
			abort();                                                            \
		}                                                                           \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* bytes (1..8) little-endian bytes as one value */
static inline uint64_t fuzz_uint(struct fuzz_in *in, int bytes)
{
	uint64_t v = 0;
	for (int k = 0; k < bytes; k++)
		v |= (uint64_t)fuzz_u8(in) << (8 * k);
	return v;
}

/* A loader's refusal is one non-empty line (what the user reads). */
static inline void fuzz_check_message(const char *err)
{
	FUZZ_CHECK(err[0] != '\0');
	FUZZ_CHECK(strchr(err, '\n') == NULL);
}

/* Guest RAM of the given size, made on the first call and kept for the
 * process (the loaders only write it; what a previous input left there
 * changes no decision they make). */
static inline struct guest_mem *fuzz_guest_mem(uint64_t size)
{
	static struct guest_mem m;
	static int made;
	if (!made) {
		char err[256];
		if (guest_mem_init(&m, size, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz: guest memory: %s\n", err);
			exit(1);
		}
		made = 1;
	}
	return &m;
}

#endif
