/* The guests' report protocol: one line per check on the serial port,
 *   PASS name
 *   FAIL name: expected X got Y
 * then "SUMMARY n passed, n failed" and the debug-exit status
 * (0 when every check passed, 1 otherwise: popek/QEMU exit 1 or 3). */
#ifndef GUEST_REPORT_H
#define GUEST_REPORT_H

#include <stdint.h>

void report_pass(const char *name);
void report_fail(const char *name, const char *fmt, ...);
/* PASS when got == want, else FAIL with both in hex. */
void check_eq(const char *name, uint64_t got, uint64_t want);
/* Sends the summary and ends the guest through the debug-exit port. */
void report_finish(void) __attribute__((noreturn));

#endif
