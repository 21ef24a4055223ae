/* The Intel MultiProcessor Specification 1.4 table: how a guest without
 * ACPI learns its processors, its I/O APIC and the ISA interrupt routing. */
#ifndef POPEK_MPTABLE_H
#define POPEK_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "mem/guest_mem.h"

#define MP_FLOAT_SIGNATURE  "_MP_"
#define MP_CONFIG_SIGNATURE "PCMP"
#define MP_SPEC_REV         4      /* 1.4 */
#define MP_LAPIC_VERSION    0x14
#define MP_IOAPIC_VERSION   0x11
#define MP_ISA_IRQS         16
/* CPU signature of the processor entries: family 6, model 0, stepping 0;
 * features: FPU and on-chip APIC. */
#define MP_CPU_SIGNATURE    0x600u
#define MP_CPU_FEATURES     ((1u << 0) | (1u << 9))

enum mp_entry_type { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_IOINT = 3, MP_LINT = 4 };
enum mp_int_type { MP_INT = 0, MP_NMI = 1, MP_SMI = 2, MP_EXTINT = 3 };

#define MP_CPU_ENABLED 1
#define MP_CPU_BSP     2

struct mp_float {
	char signature[4];
	uint32_t config;        /* physical address of the configuration table */
	uint8_t length;         /* in 16-byte units */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mp_config {
	char signature[4];
	uint16_t length;        /* base table, header included */
	uint8_t spec_rev;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entries;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mp_processor {
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;
	uint32_t signature;
	uint32_t features;
	uint8_t reserved[8];
} __attribute__((packed));

struct mp_bus {
	uint8_t type;
	uint8_t id;
	char name[6];
} __attribute__((packed));

struct mp_ioapic {
	uint8_t type;
	uint8_t id;
	uint8_t version;
	uint8_t flags;
	uint32_t addr;
} __attribute__((packed));

/* Both I/O and local interrupt assignment entries share this layout. */
struct mp_intsrc {
	uint8_t type;
	uint8_t int_type;
	uint16_t flags;         /* 0: polarity and trigger conform to the bus */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic;       /* 0xff: every local APIC */
	uint8_t dst_pin;
} __attribute__((packed));

_Static_assert(sizeof(struct mp_float) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mp_config) == 44, "MP config header is 44 bytes");
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry is 20 bytes");
_Static_assert(sizeof(struct mp_bus) == 8, "MP bus entry is 8 bytes");
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP I/O APIC entry is 8 bytes");
_Static_assert(sizeof(struct mp_intsrc) == 8, "MP interrupt entry is 8 bytes");

/* Size of the configuration table for ncpus processors. */
size_t mptable_config_size(int ncpus);
/* Where the configuration table goes: right after the floating pointer in
 * the EBDA when it fits there, else in the BIOS area. */
uint64_t mptable_config_addr(int ncpus);
/* Writes the floating pointer (in the EBDA and again at the start of the
 * BIOS area), the configuration table, and the BDA's EBDA pointer.
 * 0, or -1 with a message (memory too small, too many vCPUs). */
int mptable_write(const struct guest_mem *m, int ncpus, char *err, size_t n);
/* Two's-complement byte sum, as both MP checksums use. */
uint8_t mptable_checksum(const void *p, size_t len);

#endif
