/* One readable line for every way a boot can fail. */
#ifndef POPEK_BOOT_ERROR_H
#define POPEK_BOOT_ERROR_H

#include <stddef.h>

/* Writes the formatted message into err (the caller prefixes "popek: "
 * when it prints it); returns -1 so a loader can `return boot_fail(...)`. */
int boot_fail(char *err, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
