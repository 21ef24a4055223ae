/* The 64-bit half of conf_general: entered from lm_call64 at 0x400000. */
#include "guest.h"
#include "shared64.h"

void general_checks_64(void);
struct lm_shared *lm_shared;
extern char __bss_start[], __bss_end[];

__attribute__((section(".text.blob_entry"), used)) uint64_t blob_entry(struct lm_shared *s);
uint64_t blob_entry(struct lm_shared *s)
{
	/* objcopy -O binary leaves .bss out of the blob: clear it here. */
	for (char *p = __bss_start; p < __bss_end; p++)
		*(volatile char *)p = 0;
	lm_shared = s;
	report_counts = (struct report_counts *)(uintptr_t)s->counts;
	general_checks_64();
	return 0;
}
