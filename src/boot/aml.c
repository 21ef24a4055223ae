#include "boot/aml.h"

#include <string.h>

#define ZERO_OP    0x00
#define ONE_OP     0x01
#define NAME_OP    0x08
#define BYTE_PREFIX 0x0a
#define WORD_PREFIX 0x0b
#define DWORD_PREFIX 0x0c
#define STRING_PREFIX 0x0d
#define QWORD_PREFIX 0x0e
#define SCOPE_OP   0x10
#define BUFFER_OP  0x11
#define PACKAGE_OP 0x12
#define EXT_OP     0x5b
#define DEVICE_OP  0x82

/* A PkgLength takes up to four bytes; open reserves them all, close moves
 * the contents back over what the real length does not need. */
#define PKGLEN_MAX 4

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->len = 0;
	a->cap = cap;
	a->overflow = false;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

void aml_nameseg(struct aml *a, const char *name)
{
	char seg[4] = { '_', '_', '_', '_' };
	memcpy(seg, name, strnlen(name, 4));
	aml_bytes(a, seg, 4);
}

static void le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		byte(a, (uint8_t)(v >> (8 * i)));
}

void aml_int(struct aml *a, uint64_t v)
{
	if (v == 0) {
		byte(a, ZERO_OP);
	} else if (v == 1) {
		byte(a, ONE_OP);
	} else if (v <= 0xff) {
		byte(a, BYTE_PREFIX);
		le(a, v, 1);
	} else if (v <= 0xffff) {
		byte(a, WORD_PREFIX);
		le(a, v, 2);
	} else if (v <= 0xffffffff) {
		byte(a, DWORD_PREFIX);
		le(a, v, 4);
	} else {
		byte(a, QWORD_PREFIX);
		le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	byte(a, STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

/* Three letters in five bits each (A = 1), then four hex digits, stored
 * big-endian. */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = (uint32_t)((id[0] - 0x40) & 0x1f) << 26 | (uint32_t)((id[1] - 0x40) & 0x1f) << 21 |
		     (uint32_t)((id[2] - 0x40) & 0x1f) << 16;
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0') : (uint32_t)((c | 0x20) - 'a' + 10);
		v |= d << (4 * (6 - i));
	}
	byte(a, DWORD_PREFIX);
	byte(a, (uint8_t)(v >> 24));
	byte(a, (uint8_t)(v >> 16));
	byte(a, (uint8_t)(v >> 8));
	byte(a, (uint8_t)v);
}

void aml_name(struct aml *a, const char *name)
{
	byte(a, NAME_OP);
	aml_nameseg(a, name);
}

static size_t open_pkg(struct aml *a)
{
	size_t mark = a->len;
	uint8_t reserve[PKGLEN_MAX] = { 0 };
	aml_bytes(a, reserve, sizeof(reserve));
	return mark;
}

size_t aml_scope_open(struct aml *a, const char *name)
{
	byte(a, SCOPE_OP);
	size_t mark = open_pkg(a);
	aml_nameseg(a, name);
	return mark;
}

size_t aml_device_open(struct aml *a, const char *name)
{
	byte(a, EXT_OP);
	byte(a, DEVICE_OP);
	size_t mark = open_pkg(a);
	aml_nameseg(a, name);
	return mark;
}

size_t aml_package_open(struct aml *a, unsigned elements)
{
	byte(a, PACKAGE_OP);
	size_t mark = open_pkg(a);
	byte(a, (uint8_t)elements);
	return mark;
}

size_t aml_buffer_open(struct aml *a, unsigned size)
{
	byte(a, BUFFER_OP);
	size_t mark = open_pkg(a);
	aml_int(a, size);
	return mark;
}

/* PkgLength (20.2.4): the length counts itself; one byte holds up to 63,
 * longer ones put the low four bits in the lead byte and the rest in up
 * to three more. */
void aml_close(struct aml *a, size_t mark)
{
	if (a->overflow)
		return;
	size_t body = a->len - mark - PKGLEN_MAX;
	size_t n = 1, total = body + 1;
	while (n < PKGLEN_MAX && total >= (n == 1 ? 64u : 1u << (4 + 8 * (n - 1)))) {
		n++;
		total = body + n;
	}
	uint8_t enc[PKGLEN_MAX];
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->buf + mark + n, a->buf + mark + PKGLEN_MAX, body);
	memcpy(a->buf + mark, enc, n);
	a->len -= PKGLEN_MAX - n;
}
