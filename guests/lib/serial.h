/* COM1 output and a printf subset: %d %i %u %x %X %p %s %c %%, with flags
 * '0' '-' '#', a width, and the l / ll length modifiers. */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H
#include <stdarg.h>
#include <stdint.h>

#define COM1 0x3f8
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);
int kvsnprintf(char *buf, unsigned size, const char *fmt, va_list ap);
int ksnprintf(char *buf, unsigned size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
