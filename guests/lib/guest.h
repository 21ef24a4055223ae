/* What every guest gets from the runtime beyond report.h. */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H
#include <stdarg.h>
#include <stdint.h>
#include "report.h"

struct report_counts {
	uint32_t passed, failed, skipped;
};
extern struct report_counts *report_counts;

void report_skip(const char *name, const char *fmt, ...);
/* Declares that check NAME is known to break from the manuals on ENGINE
 * (e.g. "kvm": this host's nested KVM); tests/guest/conformance.sh then
 * reports that check's FAIL on that engine as a SKIP with WHY. The check
 * itself still expects the manual's answer. */
void report_known(const char *engine, const char *name, const char *why);
#define check_true(name, cond) check_eq((name), !!(cond), 1)

/* Entry point of a guest, called in 32-bit protected mode with a flat
 * GDT, interrupts off and paging off. Returning ends with report_finish. */
void guest_main(void);

void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
int memcmp(const void *a, const void *b, unsigned long n);
unsigned long strlen(const char *s);
const char *strstr(const char *h, const char *n);
unsigned long strtoul(const char *s, const char **end, int base);
#endif
