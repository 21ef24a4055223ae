/* The 64-bit half of the compute guest: entered from lm_call64 at 0x400000. */
#include "compute.h"

extern char __bss_start[], __bss_end[];

__attribute__((section(".text.blob_entry"), used)) uint64_t blob_entry(struct compute_shared *s);
uint64_t blob_entry(struct compute_shared *s)
{
	/* objcopy -O binary leaves .bss out of the blob: clear it here. */
	for (char *p = __bss_start; p < __bss_end; p++)
		*(volatile char *)p = 0;
	compute_run("long64", s->scale, (uint8_t *)(uintptr_t)s->work, s->sums);
	return 0;
}
