/* The report protocol of report.h. The counters live behind a pointer so
 * that a guest's 64-bit half (linked separately, see guests/README.md) keeps
 * counting into the same totals as its 32-bit half. */
#include "report.h"
#include "guest.h"
#include "io.h"
#include "serial.h"

static struct report_counts own_counts;
struct report_counts *report_counts = &own_counts;

void report_pass(const char *name)
{
	report_counts->passed++;
	kprintf("PASS %s\n", name);
}

void report_fail(const char *name, const char *fmt, ...)
{
	va_list ap;
	report_counts->failed++;
	kprintf("FAIL %s: ", name);
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	serial_putc('\n');
}

void report_skip(const char *name, const char *fmt, ...)
{
	va_list ap;
	report_counts->skipped++;
	kprintf("SKIP %s: ", name);
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	serial_putc('\n');
}

void report_known(const char *engine, const char *name, const char *why)
{
	kprintf("KNOWN %s %s: %s\n", engine, name, why);
}

void check_eq(const char *name, uint64_t got, uint64_t want)
{
	if (got == want)
		report_pass(name);
	else
		report_fail(name, "expected %#llx got %#llx", (unsigned long long)want,
			    (unsigned long long)got);
}

void report_finish(void)
{
	kprintf("SUMMARY %u passed, %u failed\n", report_counts->passed, report_counts->failed);
	debug_exit(report_counts->failed ? 1 : 0);
}
