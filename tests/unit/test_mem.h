/* Guest memory for a unit test, or a SKIP line saying why the host would
 * not give it (the tests ask for up to 512 MiB). */
#ifndef POPEK_TEST_MEM_H
#define POPEK_TEST_MEM_H

#include <stdio.h>

#include "mem/guest_mem.h"

static inline int mem_or_skip(struct guest_mem *m, uint64_t size, const char *name)
{
	char err[256];
	if (guest_mem_init(m, size, err, sizeof(err)) == 0)
		return 1;
	printf("SKIP %s: %s\n", name, err);
	return 0;
}

#endif
