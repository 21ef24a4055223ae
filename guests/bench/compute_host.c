/* The compute guest's phases run natively: the reference checksums the
 * benchmark compares each VMM's output with (bench/run, part d).
 * Usage: compute-host [SCALE] */
#include <stdio.h>
#include <stdlib.h>

#include "phases.h"

int main(int argc, char **argv)
{
	uint32_t scale = argc > 1 ? (uint32_t)strtoul(argv[1], 0, 0) : 1;
	uint8_t *work = malloc(PHASE_WORK_BYTES);
	if (!work) {
		fprintf(stderr, "compute-host: out of memory\n");
		return 1;
	}
	if (scale == 0)
		scale = 1;
	for (unsigned i = 0; i < PHASE_COUNT; i++)
		printf("PHASE %-6s %-6s %08x\n", phases[i].name, "host", phases[i].run(work, scale));
	free(work);
	return 0;
}
