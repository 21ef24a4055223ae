#include "boot/mptable.h"

#include <stdlib.h>
#include <string.h>

#include "boot/boot_error.h"
#include "boot/boot_layout.h"
#include "dev/device.h"

/* The I/O APIC takes the id after the last processor's. */
#define MP_MAX_CPUS 254

uint8_t mptable_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0 - sum);
}

static int mp_entry_count(int ncpus)
{
	return ncpus + 1 /* bus */ + 1 /* I/O APIC */ + MP_ISA_IRQS + 2 /* LINT0, LINT1 */;
}

size_t mptable_config_size(int ncpus)
{
	return sizeof(struct mp_config) + (size_t)ncpus * sizeof(struct mp_processor) +
	       sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +
	       (MP_ISA_IRQS + 2) * sizeof(struct mp_intsrc);
}

uint64_t mptable_config_addr(int ncpus)
{
	uint64_t in_ebda = BOOT_EBDA + sizeof(struct mp_float);
	if (in_ebda + mptable_config_size(ncpus) <= BOOT_EBDA_END)
		return in_ebda;
	return BOOT_BIOS + sizeof(struct mp_float);
}

static uint8_t *put(uint8_t *p, const void *entry, size_t len)
{
	memcpy(p, entry, len);
	return p + len;
}

static uint8_t *put_processors(uint8_t *p, int ncpus)
{
	for (int i = 0; i < ncpus; i++) {
		struct mp_processor e = {
			.type = MP_PROCESSOR,
			.apic_id = (uint8_t)i,
			.apic_version = MP_LAPIC_VERSION,
			.flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.signature = MP_CPU_SIGNATURE,
			.features = MP_CPU_FEATURES,
		};
		p = put(p, &e, sizeof(e));
	}
	return p;
}

/* ISA IRQ i reaches I/O APIC pin i, as popek's machine wires them; LINT0
 * carries the 8259's ExtINT and LINT1 the NMI, on every local APIC
 * (virtual wire mode). */
static uint8_t *put_interrupts(uint8_t *p, uint8_t ioapic_id)
{
	for (int irq = 0; irq < MP_ISA_IRQS; irq++) {
		struct mp_intsrc e = { .type = MP_IOINT, .int_type = MP_INT, .src_bus = 0,
				       .src_irq = (uint8_t)irq, .dst_apic = ioapic_id,
				       .dst_pin = (uint8_t)irq };
		p = put(p, &e, sizeof(e));
	}
	struct mp_intsrc lint0 = { .type = MP_LINT, .int_type = MP_EXTINT, .dst_apic = 0xff, .dst_pin = 0 };
	struct mp_intsrc lint1 = { .type = MP_LINT, .int_type = MP_NMI, .dst_apic = 0xff, .dst_pin = 1 };
	p = put(p, &lint0, sizeof(lint0));
	return put(p, &lint1, sizeof(lint1));
}

static void build_config(uint8_t *buf, int ncpus)
{
	struct mp_config h = {
		.signature = { 'P', 'C', 'M', 'P' },
		.length = (uint16_t)mptable_config_size(ncpus),
		.spec_rev = MP_SPEC_REV,
		.oem = { 'P', 'O', 'P', 'E', 'K', ' ', ' ', ' ' },
		.product = { 'P', 'O', 'P', 'E', 'K', ' ', 'V', 'M', ' ', ' ', ' ', ' ' },
		.entries = (uint16_t)mp_entry_count(ncpus),
		.lapic = (uint32_t)MMIO_LAPIC,
	};
	uint8_t ioapic_id = (uint8_t)ncpus;
	uint8_t *p = buf + sizeof(h);
	p = put_processors(p, ncpus);
	struct mp_bus isa = { .type = MP_BUS, .id = 0, .name = { 'I', 'S', 'A', ' ', ' ', ' ' } };
	p = put(p, &isa, sizeof(isa));
	struct mp_ioapic io = { .type = MP_IOAPIC, .id = ioapic_id, .version = MP_IOAPIC_VERSION,
				.flags = 1, .addr = (uint32_t)MMIO_IOAPIC };
	p = put(p, &io, sizeof(io));
	put_interrupts(p, ioapic_id);
	memcpy(buf, &h, sizeof(h));
	buf[offsetof(struct mp_config, checksum)] = mptable_checksum(buf, h.length);
}

static void build_float(struct mp_float *f, uint64_t config)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->signature, MP_FLOAT_SIGNATURE, 4);
	f->config = (uint32_t)config;
	f->length = 1;
	f->spec_rev = MP_SPEC_REV;
	f->checksum = mptable_checksum(f, sizeof(*f));
}

int mptable_write(const struct guest_mem *m, int ncpus, char *err, size_t n)
{
	if (ncpus < 1 || ncpus > MP_MAX_CPUS)
		return boot_fail(err, n, "MP table: %d vCPUs is out of range (1..%d)", ncpus, MP_MAX_CPUS);
	size_t size = mptable_config_size(ncpus);
	uint64_t config = mptable_config_addr(ncpus);
	uint8_t *buf = calloc(1, size);
	if (buf == NULL)
		return boot_fail(err, n, "MP table: out of host memory");
	build_config(buf, ncpus);
	struct mp_float f;
	build_float(&f, config);
	uint16_t ebda_segment = (uint16_t)(BOOT_EBDA >> 4);
	int bad = gpa_write(m, config, buf, size) < 0 ||
		  gpa_write(m, BOOT_EBDA, &f, sizeof(f)) < 0 ||
		  gpa_write(m, BOOT_BIOS, &f, sizeof(f)) < 0 ||
		  gpa_write(m, BDA_EBDA_SEGMENT, &ebda_segment, sizeof(ebda_segment)) < 0;
	free(buf);
	if (bad)
		return boot_fail(err, n, "MP table: guest memory does not cover the EBDA and BIOS area "
				 "(popek needs at least 1 MiB of RAM)");
	return 0;
}
