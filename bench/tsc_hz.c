/* Prints the host's TSC rate in Hz, measured against CLOCK_MONOTONIC over
 * 200 ms: QEMU's TCG guests read the host TSC, so their TSC deltas become
 * time with it (bench/run-raw). */
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
	double t0 = now();
	uint64_t c0 = __rdtsc();
	while (now() - t0 < 0.2)
		;
	uint64_t c1 = __rdtsc();
	double t1 = now();
	printf("%.0f\n", (double)(c1 - c0) / (t1 - t0));
	return 0;
}
