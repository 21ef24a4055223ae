#include "serial.h"

/* Where formatted characters go: the serial port or a bounded buffer. */
struct sink {
	char *buf;
	unsigned size, len;
};

static void emit(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

/* Division by repeated shifting keeps the 32-bit build free of libgcc's
 * 64-bit helpers. */
static uint64_t divmod(uint64_t n, unsigned base, unsigned *rem)
{
	uint64_t q = 0, r = 0;
	for (int i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= base) {
			r -= base;
			q |= (uint64_t)1 << i;
		}
	}
	*rem = (unsigned)r;
	return q;
}

static void emit_number(struct sink *s, uint64_t v, unsigned base, int neg, int width,
			int zero, int left, const char *prefix, int upper)
{
	char tmp[24];
	int n = 0;
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	do {
		unsigned r;
		v = divmod(v, base, &r);
		tmp[n++] = digits[r];
	} while (v);
	int plen = 0;
	while (prefix[plen])
		plen++;
	int total = n + plen + neg;
	if (!left && !zero)
		for (; width > total; width--)
			emit(s, ' ');
	if (neg)
		emit(s, '-');
	for (int i = 0; i < plen; i++)
		emit(s, prefix[i]);
	if (!left && zero)
		for (; width > total; width--)
			emit(s, '0');
	while (n)
		emit(s, tmp[--n]);
	if (left)
		for (; width > total; width--)
			emit(s, ' ');
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		int zero = 0, left = 0, alt = 0, width = 0, lng = 0;
		for (;; fmt++) {
			if (fmt[1] == '0') zero = 1;
			else if (fmt[1] == '-') left = 1;
			else if (fmt[1] == '#') alt = 1;
			else break;
		}
		while (fmt[1] >= '0' && fmt[1] <= '9')
			width = width * 10 + (*++fmt - '0');
		while (fmt[1] == 'l') {
			lng++;
			fmt++;
		}
		char c = *++fmt;
		uint64_t u;
		int64_t i;
		switch (c) {
		case 'd': case 'i':
			i = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
			emit_number(s, i < 0 ? -(uint64_t)i : (uint64_t)i, 10, i < 0, width, zero, left, "", 0);
			break;
		case 'u': case 'x': case 'X':
			u = lng >= 2 ? va_arg(ap, unsigned long long) : lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			emit_number(s, u, c == 'u' ? 10 : 16, 0, width, zero, left, alt && c != 'u' ? "0x" : "", c == 'X');
			break;
		case 'p':
			emit_number(s, (uintptr_t)va_arg(ap, void *), 16, 0, width, zero, left, "0x", 0);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			int len = 0;
			while (str[len])
				len++;
			if (!left)
				for (; width > len; width--)
					emit(s, ' ');
			while (*str)
				emit(s, *str++);
			for (; width > len; width--)
				emit(s, ' ');
			break;
		}
		case 'c':
			emit(s, (char)va_arg(ap, int));
			break;
		case '\0':
			return;
		default:
			emit(s, c);
		}
	}
}

void kvprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0, 0, 0 };
	format(&s, fmt, ap);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

int kvsnprintf(char *buf, unsigned size, const char *fmt, va_list ap)
{
	struct sink s = { buf, size, 0 };
	format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int ksnprintf(char *buf, unsigned size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
