#include "boot/acpi.h"

#include <stdlib.h>
#include <string.h>

#include "boot/boot_error.h"
#include "boot/boot_layout.h"
#include "boot/mptable.h"
#include "dev/acpi_pm.h"
#include "dev/device.h"

/* xAPIC ids go up to 254 and the I/O APIC takes the id after the last
 * processor's, as in the MP table. */
#define ACPI_MAX_CPUS 254

/* The DSDT's AML, encoded by hand (ACPI 6.0, chapter 20; the bytes are what
 * iasl makes of this source):
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
 *               Name (_CRS, ResourceTemplate ()
 *               {
 *                   IO (Decode16, 0x0505, 0x0505, 0x01, 0x01)
 *               })
 *           }
 *       }
 *   }
 *
 * \_S5 gives the SLP_TYP values for PM1a_CNT and PM1b_CNT that put the
 * machine into soft off; the last two elements are reserved. PEVT is the
 * pvpanic port (dev/pvpanic.c) under the name and resource QEMU gives it:
 * Linux binds its pvpanic driver to the _HID and takes the port from _CRS. */
#define LO(x) ((x) & 0xff)
#define HI(x) (((x) >> 8) & 0xff)
const uint8_t acpi_dsdt_aml[] = {
	0x08,                     /* NameOp */
	'_', 'S', '5', '_',       /* NameSeg "_S5_" */
	0x12,                     /* PackageOp */
	0x08,                     /* PkgLength: 8 bytes, itself included */
	0x04,                     /* NumElements */
	0x0a, ACPI_SLP_TYP_S5,    /* BytePrefix 0x05: SLP_TYPa */
	0x0a, ACPI_SLP_TYP_S5,    /* BytePrefix 0x05: SLP_TYPb */
	0x00,                     /* ZeroOp: reserved */
	0x00,                     /* ZeroOp: reserved */

	0x10,                     /* ScopeOp */
	0x35,                     /* PkgLength: 53 bytes, to the end */
	'_', 'S', 'B', '_',       /* \_SB_ (iasl drops the root prefix at the root) */
	0x5b, 0x82,               /* DeviceOp */
	0x2e,                     /* PkgLength: 46 bytes, to the end */
	'P', 'E', 'V', 'T',
	0x08, '_', 'H', 'I', 'D', /* Name (_HID, */
	0x0d, 'Q', 'E', 'M', 'U', '0', '0', '0', '1', 0x00,   /* StringPrefix "QEMU0001" */
	0x08, '_', 'S', 'T', 'A', /* Name (_STA, */
	0x0a, 0x0f,               /* 0x0F: present, enabled, shown, working */
	0x08, '_', 'C', 'R', 'S', /* Name (_CRS, */
	0x11,                     /* BufferOp */
	0x0d,                     /* PkgLength: 13 bytes */
	0x0a, 0x0a,               /* BufferSize: 10 */
	0x47, 0x01,               /* I/O port descriptor, 16-bit decode */
	LO(PORT_PVPANIC), HI(PORT_PVPANIC),   /* minimum base */
	LO(PORT_PVPANIC), HI(PORT_PVPANIC),   /* maximum base */
	0x01,                     /* alignment */
	0x01,                     /* length: one port */
	0x79, 0x00,               /* end tag; checksum 0: not checked */
};
#undef LO
#undef HI
const size_t acpi_dsdt_aml_len = sizeof(acpi_dsdt_aml);

_Static_assert(BOOT_ACPI_MADT + sizeof(struct acpi_madt) +
	       ACPI_MAX_CPUS * sizeof(struct acpi_madt_lapic) + sizeof(struct acpi_madt_ioapic) +
	       sizeof(struct acpi_madt_override) + sizeof(struct acpi_madt_lapic_nmi) <= BOOT_ACPI_END,
	       "the largest MADT fits below BOOT_ACPI_END");
_Static_assert(BOOT_ACPI_RSDP + sizeof(struct acpi_rsdp) <= BOOT_ACPI_RSDT, "RSDP before RSDT");
_Static_assert(BOOT_ACPI_RSDT + sizeof(struct acpi_header) + 2 * 4 <= BOOT_ACPI_XSDT, "RSDT before XSDT");
_Static_assert(BOOT_ACPI_XSDT + sizeof(struct acpi_header) + 2 * 8 <= BOOT_ACPI_FACS, "XSDT before FACS");
_Static_assert(BOOT_ACPI_FACS + sizeof(struct acpi_facs) <= BOOT_ACPI_FADT, "FACS before FADT");
_Static_assert(BOOT_ACPI_FADT + sizeof(struct acpi_fadt) <= BOOT_ACPI_DSDT, "FADT before DSDT");
_Static_assert(BOOT_ACPI_DSDT + sizeof(struct acpi_header) + sizeof(acpi_dsdt_aml) <= BOOT_ACPI_MADT,
	       "DSDT before MADT");
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

static void build_dsdt(uint8_t *buf)
{
	size_t len = sizeof(struct acpi_header) + acpi_dsdt_aml_len;
	/* Revision 2: AML integers are 64 bits wide. */
	header((struct acpi_header *)buf, "DSDT", len, 2);
	memcpy(buf + sizeof(struct acpi_header), acpi_dsdt_aml, acpi_dsdt_aml_len);
	seal(buf);
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
	build_dsdt(AT(BOOT_ACPI_DSDT));
	build_madt(AT(BOOT_ACPI_MADT), ncpus);
#undef AT
	int bad = gpa_write(m, BOOT_ACPI_RSDP, area, size) < 0;
	free(area);
	if (bad)
		return boot_fail(err, n, "ACPI tables: guest memory does not cover the BIOS area "
				 "(popek needs at least 1 MiB of RAM)");
	return 0;
}
