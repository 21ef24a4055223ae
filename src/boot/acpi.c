#include "boot/acpi.h"

#include <stdlib.h>
#include <string.h>

#include "boot/aml.h"
#include "boot/boot_error.h"
#include "boot/boot_layout.h"
#include "boot/mptable.h"
#include "dev/acpi_pm.h"
#include "dev/device.h"
#include "dev/pci.h"

/* xAPIC ids go up to 254 and the I/O APIC takes the id after the last
 * processor's, as in the MP table. */
#define ACPI_MAX_CPUS 254

/* The DSDT's definition block (ACPI 6.0; iasl makes the same bytes of
 * tests/unit/dsdt.asl):
 *
 *   DefinitionBlock ("", "DSDT", 2, "POPEK ", "POPEKVM ", 1)
 *   {
 *       Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })
 *       Scope (\_SB)
 *       {
 *           Device (PEVT)
 *           {
 *               Name (_HID, "QEMU0001")
 *               Name (_STA, 0x0F)
 *               Name (_CRS, ResourceTemplate () { IO (Decode16, 0x0505, 0x0505, 0x01, 0x01) })
 *           }
 *           Device (PCI0)
 *           {
 *               Name (_HID, EisaId ("PNP0A03"))
 *               Name (_ADR, Zero)
 *               Name (_UID, Zero)
 *               Name (_CRS, ResourceTemplate () {
 *                   WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0xFF, 0, 0x100)
 *                   IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
 *                   WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
 *                           0, 0x0000, 0x0CF7, 0, 0x0CF8)
 *                   WordIO (..., 0, 0x0D00, 0xFFFF, 0, 0xF300)
 *                   DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable,
 *                                ReadWrite, 0, 0xC0000000, 0xCFFFFFFF, 0, 0x10000000)
 *               })
 *               Name (_PRT, Package (0x80) {
 *                   Package (0x04) { 0xFFFF, Zero, Zero, 0x10 },   // slot 0 INTA -> GSI 16
 *                   ...                                            // slot s pin p -> PCI_GSI(s, p)
 *               })
 *           }
 *       }
 *   }
 *
 * \_S5 gives the SLP_TYP values for PM1a_CNT and PM1b_CNT that put the
 * machine into soft off; the last two elements are reserved. PEVT is the
 * pvpanic port (dev/pvpanic.c) under the name and resource QEMU gives it:
 * Linux binds its pvpanic driver to the _HID and takes the port from _CRS.
 * PCI0 is bus 0 (dev/pci.h): Linux scans a PCI bus only under a PNP0A03
 * device, takes its windows from _CRS (where the BARs popek assigned lie),
 * and routes each slot's INTx by _PRT to the GSI popek drives. */
static void pvpanic_device(struct aml *a)
{
	size_t dev = aml_device_open(a, "PEVT");
	aml_name(a, "_HID");
	aml_string(a, "QEMU0001");
	aml_name(a, "_STA");
	aml_int(a, 0x0f);                 /* present, enabled, shown, working */
	aml_name(a, "_CRS");
	static const uint8_t io[] = {
		0x47, 0x01,                   /* I/O port descriptor, 16-bit decode */
		PORT_PVPANIC & 0xff, PORT_PVPANIC >> 8,   /* minimum base */
		PORT_PVPANIC & 0xff, PORT_PVPANIC >> 8,   /* maximum base */
		0x01, 0x01,                   /* alignment, length: one port */
		0x79, 0x00,                   /* end tag; checksum 0: not checked */
	};
	size_t crs = aml_buffer_open(a, sizeof(io));
	aml_bytes(a, io, sizeof(io));
	aml_close(a, crs);
	aml_close(a, dev);
}

/* Word/DWord address space descriptors (ACPI 6.0, 6.4.3.5): producer,
 * fixed minimum and maximum, positive decode. */
#define ADDR_FIXED 0x0c
static void word_space(struct aml *a, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
	uint16_t len = (uint16_t)(max - min + 1);
	uint8_t d[16] = { 0x88, 13, 0, type, ADDR_FIXED, type_flags, 0, 0, (uint8_t)min, (uint8_t)(min >> 8),
			  (uint8_t)max, (uint8_t)(max >> 8), 0, 0, (uint8_t)len, (uint8_t)(len >> 8) };
	aml_bytes(a, d, sizeof(d));
}

static void dword_memory(struct aml *a, uint32_t min, uint32_t max)
{
	uint32_t v[5] = { 0, min, max, 0, max - min + 1 };  /* granularity, range, translation, length */
	uint8_t d[6] = { 0x87, 23, 0, 0 /* memory */, ADDR_FIXED, 0x01 /* read-write, non-cacheable */ };
	aml_bytes(a, d, sizeof(d));
	aml_bytes(a, v, sizeof(v));
}

/* What bus 0 decodes: all bus numbers, the ports but the configuration
 * mechanism's own, and the PCI window where popek places BARs. */
static void pci_root_resources(struct aml *a)
{
	uint8_t buf[256];
	struct aml r;
	aml_init(&r, buf, sizeof(buf));
	word_space(&r, 2, 0, 0, 0xff);                  /* bus numbers */
	static const uint8_t cf8[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 };
	aml_bytes(&r, cf8, sizeof(cf8));                /* consumed: 0xcf8-0xcff */
	word_space(&r, 1, 0x03, 0x0000, 0x0cf7);        /* I/O, ISA and non-ISA ranges */
	word_space(&r, 1, 0x03, 0x0d00, 0xffff);
	dword_memory(&r, (uint32_t)PCI_MMIO_BASE, (uint32_t)(PCI_MMIO_BASE + PCI_MMIO_SIZE - 1));
	static const uint8_t end[] = { 0x79, 0x00 };
	aml_bytes(&r, end, sizeof(end));
	aml_name(a, "_CRS");
	size_t crs = aml_buffer_open(a, (unsigned)r.len);
	aml_bytes(a, buf, r.len);
	aml_close(a, crs);
}

static void pci_root(struct aml *a)
{
	size_t dev = aml_device_open(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_ADR");
	aml_int(a, 0);
	aml_name(a, "_UID");
	aml_int(a, 0);
	pci_root_resources(a);
	aml_name(a, "_PRT");
	size_t prt = aml_package_open(a, PCI_SLOTS * 4);
	for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			/* address (slot, any function), pin, source (none: a GSI), GSI */
			size_t e = aml_package_open(a, 4);
			aml_int(a, (uint64_t)slot << 16 | 0xffff);
			aml_int(a, pin);
			aml_int(a, 0);
			aml_int(a, PCI_GSI(slot, pin));
			aml_close(a, e);
		}
	}
	aml_close(a, prt);
	aml_close(a, dev);
}

size_t acpi_dsdt_aml(uint8_t *buf, size_t cap)
{
	struct aml a;
	aml_init(&a, buf, cap);
	aml_name(&a, "_S5");
	size_t s5 = aml_package_open(&a, 4);
	aml_int(&a, ACPI_SLP_TYP_S5);   /* SLP_TYPa */
	aml_int(&a, ACPI_SLP_TYP_S5);   /* SLP_TYPb */
	aml_int(&a, 0);                 /* reserved */
	aml_int(&a, 0);
	aml_close(&a, s5);
	size_t sb = aml_scope_open(&a, "_SB");
	pvpanic_device(&a);
	pci_root(&a);
	aml_close(&a, sb);
	return a.overflow ? 0 : a.len;
}


_Static_assert(BOOT_ACPI_MADT + sizeof(struct acpi_madt) +
	       ACPI_MAX_CPUS * sizeof(struct acpi_madt_lapic) + sizeof(struct acpi_madt_ioapic) +
	       sizeof(struct acpi_madt_override) + sizeof(struct acpi_madt_lapic_nmi) <= BOOT_ACPI_END,
	       "the largest MADT fits below BOOT_ACPI_END");
_Static_assert(BOOT_ACPI_RSDP + sizeof(struct acpi_rsdp) <= BOOT_ACPI_RSDT, "RSDP before RSDT");
_Static_assert(BOOT_ACPI_RSDT + sizeof(struct acpi_header) + 2 * 4 <= BOOT_ACPI_XSDT, "RSDT before XSDT");
_Static_assert(BOOT_ACPI_XSDT + sizeof(struct acpi_header) + 2 * 8 <= BOOT_ACPI_FACS, "XSDT before FACS");
_Static_assert(BOOT_ACPI_FACS + sizeof(struct acpi_facs) <= BOOT_ACPI_FADT, "FACS before FADT");
_Static_assert(BOOT_ACPI_FADT + sizeof(struct acpi_fadt) <= BOOT_ACPI_DSDT, "FADT before DSDT");
_Static_assert(BOOT_ACPI_DSDT < BOOT_ACPI_MADT, "the DSDT before the MADT");
_Static_assert(BOOT_ACPI_FACS % 64 == 0, "the FACS is 64-byte aligned");
_Static_assert(BOOT_ACPI_RSDP % 16 == 0, "the RSDP is on a 16-byte boundary");

/* ACPI's checksums are the MP specification's: all bytes sum to zero. */
static uint8_t checksum(const void *p, size_t len)
{
	return mptable_checksum(p, len);
}

static void header(struct acpi_header *h, const char *signature, size_t length, uint8_t revision)
{
	memcpy(h->signature, signature, 4);
	h->length = (uint32_t)length;
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

/* The checksum byte of a finished table, whose header starts it. */
static void seal(void *table)
{
	struct acpi_header *h = table;
	h->checksum = 0;
	h->checksum = checksum(table, h->length);
}

static struct acpi_gas io_register(uint16_t port, unsigned bytes, uint8_t access)
{
	return (struct acpi_gas){ .space_id = ACPI_SPACE_IO, .bit_width = (uint8_t)(bytes * 8),
				  .access_size = access, .address = port };
}

static void build_rsdp(struct acpi_rsdp *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->signature, ACPI_RSDP_SIGNATURE, 8);
	memcpy(r->oem_id, ACPI_OEM_ID, 6);
	r->revision = 2;
	r->rsdt = (uint32_t)BOOT_ACPI_RSDT;
	r->length = sizeof(*r);
	r->xsdt = BOOT_ACPI_XSDT;
	r->checksum = checksum(r, 20);
	r->ext_checksum = checksum(r, sizeof(*r));
}

/* RSDT and XSDT list the same tables, with 32- and 64-bit pointers. */
static const uint64_t described[] = { BOOT_ACPI_FADT, BOOT_ACPI_MADT };
#define DESCRIBED (sizeof(described) / sizeof(described[0]))

static void build_rsdt(uint8_t *buf)
{
	size_t len = sizeof(struct acpi_header) + DESCRIBED * 4;
	header((struct acpi_header *)buf, "RSDT", len, 1);
	for (size_t i = 0; i < DESCRIBED; i++) {
		uint32_t a = (uint32_t)described[i];
		memcpy(buf + sizeof(struct acpi_header) + 4 * i, &a, 4);
	}
	seal(buf);
}

static void build_xsdt(uint8_t *buf)
{
	size_t len = sizeof(struct acpi_header) + DESCRIBED * 8;
	header((struct acpi_header *)buf, "XSDT", len, 1);
	for (size_t i = 0; i < DESCRIBED; i++)
		memcpy(buf + sizeof(struct acpi_header) + 8 * i, &described[i], 8);
	seal(buf);
}

static void build_facs(struct acpi_facs *f)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->signature, "FACS", 4);
	f->length = sizeof(*f);
	f->version = 2;
}

/* A PC with the fixed hardware of dev/acpi_pm.h: ACPI always enabled (no
 * SMI command port), the SCI on ISA IRQ 9, no GPE block, no C2/C3, legacy
 * devices and an 8042 present, no VGA. The FACS goes in FIRMWARE_CTRL only:
 * the specification wants X_FIRMWARE_CTRL zero when FIRMWARE_CTRL is set. */
static void build_fadt(struct acpi_fadt *f)
{
	memset(f, 0, sizeof(*f));
	header(&f->h, "FACP", sizeof(*f), ACPI_FADT_REVISION);
	f->firmware_ctrl = (uint32_t)BOOT_ACPI_FACS;
	f->dsdt = (uint32_t)BOOT_ACPI_DSDT;
	f->x_dsdt = BOOT_ACPI_DSDT;
	f->sci_int = IRQ_ACPI_SCI;
	f->pm1a_evt_blk = PORT_ACPI_PM1A_EVT;
	f->pm1a_cnt_blk = PORT_ACPI_PM1A_CNT;
	f->pm_tmr_blk = PORT_ACPI_PM_TMR;
	f->pm1_evt_len = ACPI_PM1_EVT_LEN;
	f->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	f->pm_tmr_len = ACPI_PM_TMR_LEN;
	f->x_pm1a_evt_blk = io_register(PORT_ACPI_PM1A_EVT, ACPI_PM1_EVT_LEN, ACPI_ACCESS_WORD);
	f->x_pm1a_cnt_blk = io_register(PORT_ACPI_PM1A_CNT, ACPI_PM1_CNT_LEN, ACPI_ACCESS_WORD);
	f->x_pm_tmr_blk = io_register(PORT_ACPI_PM_TMR, ACPI_PM_TMR_LEN, ACPI_ACCESS_DWORD);
	f->p_lvl2_lat = 101;    /* > 100: C2 not supported */
	f->p_lvl3_lat = 1001;   /* > 1000: C3 not supported */
	f->century = ACPI_CMOS_CENTURY;
	f->iapc_boot_arch = ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042 | ACPI_IAPC_NO_VGA;
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_PWR_BUTTON |
		   ACPI_FADT_SLP_BUTTON | ACPI_FADT_FIX_RTC | ACPI_FADT_RESET_REG_SUP;
	f->reset_reg = io_register(PORT_ACPI_RESET, 1, ACPI_ACCESS_BYTE);
	f->reset_value = ACPI_RESET_VALUE;
	seal(f);
}

static int build_dsdt(uint8_t *buf)
{
	size_t aml = acpi_dsdt_aml(buf + sizeof(struct acpi_header),
				   BOOT_ACPI_MADT - BOOT_ACPI_DSDT - sizeof(struct acpi_header));
	if (aml == 0)
		return -1;
	/* Revision 2: AML integers are 64 bits wide. */
	header((struct acpi_header *)buf, "DSDT", sizeof(struct acpi_header) + aml, 2);
	seal(buf);
	return 0;
}

size_t acpi_madt_size(int ncpus)
{
	return sizeof(struct acpi_madt) + (size_t)ncpus * sizeof(struct acpi_madt_lapic) +
	       sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_override) +
	       sizeof(struct acpi_madt_lapic_nmi);
}

uint64_t acpi_tables_end(int ncpus)
{
	return BOOT_ACPI_MADT + acpi_madt_size(ncpus);
}

static uint8_t *put(uint8_t *p, const void *entry, size_t len)
{
	memcpy(p, entry, len);
	return p + len;
}

/* The machine of the MP table: local APIC ids 0..ncpus-1, the I/O APIC with
 * the next id and GSIs from 0, ISA IRQ i on pin i (so no override but the
 * SCI's, which is level-triggered and active high unlike an ISA line), and
 * NMI on every local APIC's LINT1. */
static void build_madt(uint8_t *buf, int ncpus)
{
	struct acpi_madt h = { .lapic_addr = (uint32_t)MMIO_LAPIC, .flags = ACPI_MADT_PCAT_COMPAT };
	header(&h.h, "APIC", acpi_madt_size(ncpus), ACPI_MADT_REVISION);
	uint8_t *p = put(buf, &h, sizeof(h));
	for (int i = 0; i < ncpus; i++) {
		struct acpi_madt_lapic e = { .type = ACPI_MADT_LAPIC, .length = sizeof(e),
					     .processor_uid = (uint8_t)i, .apic_id = (uint8_t)i,
					     .flags = ACPI_MADT_ENABLED };
		p = put(p, &e, sizeof(e));
	}
	struct acpi_madt_ioapic io = { .type = ACPI_MADT_IOAPIC, .length = sizeof(io),
				       .id = (uint8_t)ncpus, .addr = (uint32_t)MMIO_IOAPIC };
	p = put(p, &io, sizeof(io));
	struct acpi_madt_override sci = { .type = ACPI_MADT_OVERRIDE, .length = sizeof(sci),
					  .source = IRQ_ACPI_SCI, .gsi = IRQ_ACPI_SCI,
					  .flags = ACPI_INTI_ACTIVE_HIGH | ACPI_INTI_LEVEL };
	p = put(p, &sci, sizeof(sci));
	struct acpi_madt_lapic_nmi nmi = { .type = ACPI_MADT_LAPIC_NMI, .length = sizeof(nmi),
					   .processor_uid = 0xff, .lint = 1 };
	put(p, &nmi, sizeof(nmi));
	seal(buf);
}

/* Everything but the MADT has a fixed size: one staging area of the whole
 * range, written to the guest in one piece. */
int acpi_write(const struct guest_mem *m, int ncpus, char *err, size_t n)
{
	if (ncpus < 1 || ncpus > ACPI_MAX_CPUS)
		return boot_fail(err, n, "ACPI tables: %d vCPUs is out of range (1..%d)", ncpus,
				 ACPI_MAX_CPUS);
	size_t size = (size_t)(acpi_tables_end(ncpus) - BOOT_ACPI_RSDP);
	uint8_t *area = calloc(1, size);
	if (area == NULL)
		return boot_fail(err, n, "ACPI tables: out of host memory");
#define AT(addr) (area + ((addr) - BOOT_ACPI_RSDP))
	build_rsdp((struct acpi_rsdp *)AT(BOOT_ACPI_RSDP));
	build_rsdt(AT(BOOT_ACPI_RSDT));
	build_xsdt(AT(BOOT_ACPI_XSDT));
	build_facs((struct acpi_facs *)AT(BOOT_ACPI_FACS));
	build_fadt((struct acpi_fadt *)AT(BOOT_ACPI_FADT));
	if (build_dsdt(AT(BOOT_ACPI_DSDT)) != 0) {
		free(area);
		return boot_fail(err, n, "ACPI tables: the DSDT does not fit below the MADT");
	}
	build_madt(AT(BOOT_ACPI_MADT), ncpus);
#undef AT
	int bad = gpa_write(m, BOOT_ACPI_RSDP, area, size) < 0;
	free(area);
	if (bad)
		return boot_fail(err, n, "ACPI tables: guest memory does not cover the BIOS area "
				 "(popek needs at least 1 MiB of RAM)");
	return 0;
}
