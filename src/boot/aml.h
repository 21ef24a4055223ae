/* A small AML encoder (ACPI 6.0, chapter 20) for the DSDT popek writes:
 * names, integers, strings, packages, scopes and devices, with the
 * package lengths worked out when an object is closed. */
#ifndef POPEK_BOOT_AML_H
#define POPEK_BOOT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool overflow;      /* something did not fit: the result is unusable */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* A NameSeg: four characters, '_'-padded. */
void aml_nameseg(struct aml *a, const char *name);
/* The shortest encoding of v: ZeroOp, OneOp, Byte/Word/DWord/QWordConst. */
void aml_int(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0A03") as the DWordConst iasl makes of it. */
void aml_eisaid(struct aml *a, const char *id);
/* Name (NAME, ...): the value follows. */
void aml_name(struct aml *a, const char *name);

/* Objects with a PkgLength: open returns a mark that close needs. */
size_t aml_scope_open(struct aml *a, const char *name);
size_t aml_device_open(struct aml *a, const char *name);
size_t aml_package_open(struct aml *a, unsigned elements);
size_t aml_buffer_open(struct aml *a, unsigned size);
void aml_close(struct aml *a, size_t mark);

#endif
