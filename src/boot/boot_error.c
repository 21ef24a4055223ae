#include "boot/boot_error.h"

#include <stdarg.h>
#include <stdio.h>

int boot_fail(char *err, size_t n, const char *fmt, ...)
{
	if (err == NULL || n == 0)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}
