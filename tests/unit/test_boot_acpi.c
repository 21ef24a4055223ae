/* The ACPI tables as a kernel finds them: the RSDP by a BIOS-area scan and
 * through the zero page, every table's signature, length and checksum, the
 * FADT's fixed hardware against dev/acpi_pm.h, the DSDT's AML (\_S5 and
 * the pvpanic device), and the MADT against the MP table for 1, 2, 8 and 64
 * vCPUs. */
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/boot_area.h"
#include "boot/boot_layout.h"
#include "boot/linux_zero_page.h"
#include "boot/mptable.h"
#include "check.h"
#include "test_mem.h"
#include "dev/acpi_pm.h"

static uint8_t sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + b[i]);
	return s;
}

/* What an OS does without a boot loader's hint: the first 16-byte aligned
 * "RSD PTR " with a valid ACPI 1.0 checksum in 0xe0000-0xfffff. */
static uint64_t scan_rsdp(struct guest_mem *m)
{
	uint8_t *p = gpa_ptr(m, 0xe0000, 0x20000);
	for (uint64_t off = 0; p && off + 36 <= 0x20000; off += 16)
		if (memcmp(p + off, "RSD PTR ", 8) == 0 && sum(p + off, 20) == 0)
			return 0xe0000 + off;
	return 0;
}

/* A table's header at gpa, if the whole table is in memory and sums to 0. */
static const struct acpi_header *table_at(struct guest_mem *m, uint64_t gpa, const char *sig,
					  int ncpus)
{
	const struct acpi_header *h = gpa_ptr(m, gpa, sizeof(*h));
	CHECK(h != NULL && memcmp(h->signature, sig, 4) == 0, "acpi %d: %s signature at %#llx",
	      ncpus, sig, (unsigned long long)gpa);
	if (h == NULL || memcmp(h->signature, sig, 4) != 0)
		return NULL;
	const uint8_t *all = gpa_ptr(m, gpa, h->length);
	CHECK(all != NULL && sum(all, h->length) == 0, "acpi %d: %s checksum", ncpus, sig);
	CHECK(memcmp(h->oem_id, "POPEK ", 6) == 0, "acpi %d: %s OEM id", ncpus, sig);
	return all ? h : NULL;
}

static uint64_t check_rsdp(struct guest_mem *m, int ncpus, uint64_t *rsdt)
{
	uint64_t at = scan_rsdp(m);
	CHECK_EQ(at, BOOT_ACPI_RSDP, "acpi %d: a BIOS-area scan finds the RSDP at 0xf2000", ncpus);
	const struct acpi_rsdp *r = gpa_ptr(m, BOOT_ACPI_RSDP, sizeof(*r));
	if (r == NULL)
		return 0;
	CHECK_EQ(sum(r, 20), 0, "acpi %d: RSDP checksum (first 20 bytes)", ncpus);
	CHECK_EQ(sum(r, 36), 0, "acpi %d: RSDP extended checksum", ncpus);
	CHECK(r->revision == 2 && r->length == 36, "acpi %d: RSDP revision 2, 36 bytes", ncpus);
	CHECK_EQ(r->rsdt, BOOT_ACPI_RSDT, "acpi %d: RSDP -> RSDT", ncpus);
	*rsdt = r->rsdt;
	return r->xsdt;
}

static void check_root_tables(struct guest_mem *m, int ncpus, uint64_t rsdt, uint64_t xsdt)
{
	CHECK_EQ(xsdt, BOOT_ACPI_XSDT, "acpi %d: RSDP -> XSDT", ncpus);
	const struct acpi_header *r = table_at(m, rsdt, "RSDT", ncpus);
	const struct acpi_header *x = table_at(m, xsdt, "XSDT", ncpus);
	if (r == NULL || x == NULL)
		return;
	CHECK_EQ(r->length, 36 + 2 * 4, "acpi %d: RSDT lists two tables", ncpus);
	CHECK_EQ(x->length, 36 + 2 * 8, "acpi %d: XSDT lists two tables", ncpus);
	uint32_t r32[2];
	uint64_t x64[2];
	memcpy(r32, (const uint8_t *)r + 36, sizeof(r32));
	memcpy(x64, (const uint8_t *)x + 36, sizeof(x64));
	CHECK(r32[0] == BOOT_ACPI_FADT && r32[1] == BOOT_ACPI_MADT, "acpi %d: RSDT -> FADT, MADT", ncpus);
	CHECK(x64[0] == BOOT_ACPI_FADT && x64[1] == BOOT_ACPI_MADT, "acpi %d: XSDT -> FADT, MADT", ncpus);
}

static int gas_is(const struct acpi_gas *g, uint64_t port, unsigned bits)
{
	return g->space_id == ACPI_SPACE_IO && g->bit_width == bits && g->bit_offset == 0 &&
	       g->address == port;
}

static void check_fadt(struct guest_mem *m, int ncpus)
{
	const struct acpi_fadt *f = (const void *)table_at(m, BOOT_ACPI_FADT, "FACP", ncpus);
	if (f == NULL)
		return;
	CHECK(f->h.length == 276 && f->h.revision == 6, "acpi %d: FADT revision 6, 276 bytes", ncpus);
	CHECK(f->firmware_ctrl == BOOT_ACPI_FACS && f->x_firmware_ctrl == 0,
	      "acpi %d: FADT -> FACS through FIRMWARE_CTRL only", ncpus);
	CHECK(f->dsdt == BOOT_ACPI_DSDT && f->x_dsdt == BOOT_ACPI_DSDT, "acpi %d: FADT -> DSDT", ncpus);
	CHECK_EQ(f->sci_int, 9, "acpi %d: SCI is IRQ 9", ncpus);
	CHECK(f->smi_cmd == 0 && f->acpi_enable == 0 && f->acpi_disable == 0,
	      "acpi %d: no SMI command port (ACPI always enabled)", ncpus);
	CHECK(f->pm1a_evt_blk == 0x600 && f->pm1_evt_len == 4 && f->pm1b_evt_blk == 0,
	      "acpi %d: PM1a event block 0x600, 4 bytes", ncpus);
	CHECK(f->pm1a_cnt_blk == 0x604 && f->pm1_cnt_len == 2 && f->pm1b_cnt_blk == 0,
	      "acpi %d: PM1a control block 0x604, 2 bytes", ncpus);
	CHECK(f->pm_tmr_blk == 0x608 && f->pm_tmr_len == 4 && !(f->flags & ACPI_FADT_TMR_VAL_EXT),
	      "acpi %d: 24-bit PM timer at 0x608", ncpus);
	CHECK(f->gpe0_blk == 0 && f->gpe0_blk_len == 0 && f->gpe1_blk_len == 0, "acpi %d: no GPE blocks", ncpus);
	CHECK(f->pm1a_evt_blk == PORT_ACPI_PM1A_EVT && f->pm1a_cnt_blk == PORT_ACPI_PM1A_CNT &&
	      f->pm_tmr_blk == PORT_ACPI_PM_TMR, "acpi %d: FADT ports are the device's", ncpus);
	CHECK(gas_is(&f->x_pm1a_evt_blk, 0x600, 32) && gas_is(&f->x_pm1a_cnt_blk, 0x604, 16) &&
	      gas_is(&f->x_pm_tmr_blk, 0x608, 32) && f->x_pm1b_evt_blk.address == 0 &&
	      f->x_gpe0_blk.address == 0, "acpi %d: X_ blocks match the 32-bit ones", ncpus);
	CHECK((f->flags & ACPI_FADT_RESET_REG_SUP) && !(f->flags & ACPI_FADT_HW_REDUCED),
	      "acpi %d: RESET_REG_SUP set, HW_REDUCED_ACPI clear", ncpus);
	CHECK(f->flags & ACPI_FADT_PWR_BUTTON && f->flags & ACPI_FADT_SLP_BUTTON,
	      "acpi %d: no fixed-feature buttons", ncpus);
	CHECK(gas_is(&f->reset_reg, PORT_ACPI_RESET, 8) && f->reset_reg.address == 0x60c &&
	      f->reset_value == 0x06, "acpi %d: reset register: write 0x06 to port 0x60c", ncpus);
	CHECK((f->iapc_boot_arch & 3) == 3 && !(f->iapc_boot_arch & ACPI_IAPC_NO_CMOS_RTC),
	      "acpi %d: legacy devices and an 8042, CMOS RTC present", ncpus);
	CHECK_EQ(f->century, 0x32, "acpi %d: RTC century register 0x32", ncpus);
	CHECK(f->sleep_control_reg.address == 0 && f->sleep_status_reg.address == 0,
	      "acpi %d: no hardware-reduced sleep registers", ncpus);
}

static void check_facs(struct guest_mem *m, int ncpus)
{
	const struct acpi_facs *f = gpa_ptr(m, BOOT_ACPI_FACS, sizeof(*f));
	CHECK(f != NULL && memcmp(f->signature, "FACS", 4) == 0 && f->length == 64 &&
	      f->version == 2 && BOOT_ACPI_FACS % 64 == 0, "acpi %d: FACS, 64 bytes, 64-aligned", ncpus);
}

/* Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero }) and
 * Scope (\_SB) { Device (PEVT) { Name (_HID, "QEMU0001") Name (_STA, 0x0F)
 * Name (_CRS, ResourceTemplate () { IO (Decode16, 0x0505, 0x0505, 0x01, 0x01) }) } },
 * as iasl 20200925 encodes them. */
#include "dsdt_iasl.h"
#define S5_AML_LEN 14

static const uint8_t *find_bytes(const uint8_t *hay, size_t n, const void *needle, size_t len)
{
	for (size_t i = 0; i + len <= n; i++)
		if (memcmp(hay + i, needle, len) == 0)
			return hay + i;
	return NULL;
}

static void check_dsdt(struct guest_mem *m, int ncpus)
{
	const struct acpi_header *h = table_at(m, BOOT_ACPI_DSDT, "DSDT", ncpus);
	if (h == NULL)
		return;
	const uint8_t *aml = (const uint8_t *)h + 36;
	CHECK_EQ(h->length, 36 + sizeof(dsdt_iasl), "acpi %d: DSDT holds \\_S5, the pvpanic device and PCI0", ncpus);
	CHECK_EQ(h->revision, 2, "acpi %d: DSDT revision 2 (64-bit integers)", ncpus);
	CHECK(memcmp(aml, dsdt_iasl, S5_AML_LEN) == 0, "acpi %d: \\_S5 AML bytes", ncpus);
	CHECK(h->length == 36 + sizeof(dsdt_iasl) && memcmp(aml, dsdt_iasl, sizeof(dsdt_iasl)) == 0,
	      "acpi %d: DSDT AML bytes as iasl makes them of tests/unit/dsdt.asl", ncpus);
	CHECK(aml[9] == ACPI_SLP_TYP_S5,
	      "acpi %d: \\_S5 SLP_TYPa is the device's soft-off value", ncpus);
	CHECK(find_bytes(aml, sizeof(dsdt_iasl), "\x0dQEMU0001", 10) != NULL,
	      "acpi %d: pvpanic _HID is QEMU0001 (Linux's pvpanic-mmio matches it)", ncpus);
	static const uint8_t io[] = { 0x47, 0x01, PORT_PVPANIC & 0xff, PORT_PVPANIC >> 8,
				      PORT_PVPANIC & 0xff, PORT_PVPANIC >> 8, 0x01, 0x01 };
	CHECK(find_bytes(aml, sizeof(dsdt_iasl), io, sizeof(io)) != NULL,
	      "acpi %d: pvpanic _CRS is one port at the device's address (%#x)", ncpus, PORT_PVPANIC);
	CHECK(BOOT_ACPI_DSDT + h->length <= BOOT_ACPI_MADT, "acpi %d: the DSDT ends before the MADT", ncpus);
}

/* The MP table's processor APIC ids, in order. */
static int mp_apic_ids(struct guest_mem *m, int ncpus, uint8_t *ids)
{
	const struct mp_float *f = gpa_ptr(m, BOOT_EBDA, sizeof(*f));
	const struct mp_config *c = f ? gpa_ptr(m, f->config, sizeof(*c)) : NULL;
	if (c == NULL)
		return 0;
	const uint8_t *p = (const uint8_t *)c + sizeof(*c);
	int n = 0;
	for (int i = 0; i < c->entries && n < ncpus; i++) {
		if (p[0] != MP_PROCESSOR)
			break;
		ids[n++] = ((const struct mp_processor *)p)->apic_id;
		p += sizeof(struct mp_processor);
	}
	return n;
}

static void check_madt(struct guest_mem *m, int ncpus)
{
	const struct acpi_madt *t = (const void *)table_at(m, BOOT_ACPI_MADT, "APIC", ncpus);
	if (t == NULL)
		return;
	CHECK_EQ(t->h.length, 44 + 8 * ncpus + 12 + 10 + 6, "acpi %d: MADT length", ncpus);
	CHECK_EQ(t->h.length, acpi_madt_size(ncpus), "acpi %d: acpi_madt_size agrees", ncpus);
	CHECK(t->lapic_addr == 0xfee00000u && (t->flags & 1), "acpi %d: MADT local APIC address, PC-AT 8259s",
	      ncpus);
	uint8_t mp_ids[256];
	int mp_n = mp_apic_ids(m, ncpus, mp_ids);
	int cpus = 0, ioapics = 0, overrides = 0, nmis = 0, bad = 0;
	const uint8_t *p = (const uint8_t *)t + sizeof(*t), *end = (const uint8_t *)t + t->h.length;
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		if (p[0] == ACPI_MADT_LAPIC) {
			const struct acpi_madt_lapic *e = (const void *)p;
			bad += e->length != 8 || e->processor_uid != cpus || !(e->flags & 1) ||
			       cpus >= mp_n || e->apic_id != mp_ids[cpus];
			cpus++;
		} else if (p[0] == ACPI_MADT_IOAPIC) {
			const struct acpi_madt_ioapic *e = (const void *)p;
			bad += e->length != 12 || e->id != ncpus || e->addr != 0xfec00000u || e->gsi_base != 0;
			ioapics++;
		} else if (p[0] == ACPI_MADT_OVERRIDE) {
			const struct acpi_madt_override *e = (const void *)p;
			bad += e->length != 10 || e->bus != 0 || e->source != 9 || e->gsi != 9 || e->flags != 0xd;
			overrides++;
		} else if (p[0] == ACPI_MADT_LAPIC_NMI) {
			const struct acpi_madt_lapic_nmi *e = (const void *)p;
			bad += e->length != 6 || e->processor_uid != 0xff || e->lint != 1;
			nmis++;
		} else {
			bad++;
		}
		p += p[1];
	}
	CHECK(p == end, "acpi %d: MADT entries fill the table exactly", ncpus);
	CHECK_EQ(mp_n, ncpus, "acpi %d: the MP table lists every vCPU too", ncpus);
	CHECK_EQ(cpus, ncpus, "acpi %d: one local APIC per vCPU, ids as in the MP table", ncpus);
	CHECK_EQ(ioapics, 1, "acpi %d: one I/O APIC, id %d, GSI base 0", ncpus, ncpus);
	CHECK_EQ(overrides, 1, "acpi %d: one override (SCI: IRQ 9 level, active high), none for IRQ 0",
		 ncpus);
	CHECK_EQ(nmis, 1, "acpi %d: NMI on LINT1 of every processor", ncpus);
	CHECK_EQ(bad, 0, "acpi %d: every MADT entry's fields as specified", ncpus);
}

static void test_tables(void)
{
	static const int counts[] = { 1, 2, 8, 64 };
	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		int n = counts[i];
		struct guest_mem m;
		if (!mem_or_skip(&m, 16 * MiB, "acpi tables"))
			return;
		char err[256] = "";
		CHECK(mptable_write(&m, n, err, sizeof(err)) == 0 && acpi_write(&m, n, err, sizeof(err)) == 0,
		      "acpi %d: MP and ACPI tables written (%s)", n, err);
		uint64_t rsdt = 0, xsdt = check_rsdp(&m, n, &rsdt);
		check_root_tables(&m, n, rsdt, xsdt);
		check_fadt(&m, n);
		check_facs(&m, n);
		check_dsdt(&m, n);
		check_madt(&m, n);
		CHECK(acpi_tables_end(n) <= BOOT_ACPI_END && BOOT_ACPI_END <= BOOT_BIOS_END,
		      "acpi %d: the tables end inside the BIOS area", n);
		guest_mem_free(&m);
	}
}

static void test_limits(void)
{
	struct guest_mem m;
	if (!mem_or_skip(&m, 16 * MiB, "acpi limits"))
		return;
	char err[256] = "";
	CHECK(acpi_write(&m, 0, err, sizeof(err)) < 0, "acpi: 0 vCPUs rejected");
	CHECK_STR_CONTAINS(err, "vCPUs", "acpi: 0 vCPUs message");
	CHECK(acpi_write(&m, 255, err, sizeof(err)) < 0, "acpi: 255 vCPUs rejected (the I/O APIC needs an id)");
	CHECK(acpi_write(&m, 254, err, sizeof(err)) == 0, "acpi: 254 vCPUs fit");
	const struct acpi_header *h = gpa_ptr(&m, BOOT_ACPI_MADT, sizeof(*h));
	CHECK(h && h->length == acpi_madt_size(254) && BOOT_ACPI_MADT + h->length <= BOOT_ACPI_END,
	      "acpi: the MADT for 254 vCPUs ends below BOOT_ACPI_END");
	CHECK(BOOT_ACPI_RSDP >= mptable_config_addr(254) + mptable_config_size(254),
	      "acpi: the tables start past the largest MP configuration table");
	guest_mem_free(&m);
}

/* A kernel's segments may not land on the tables, but the rest of the BIOS
 * area stays free for ELF headers just below 1 MiB. */
static void test_boot_area(void)
{
	const char *what = boot_area_conflict(BOOT_ACPI_MADT, BOOT_ACPI_MADT + 1, 1, BOOT_LOW_USED_END);
	CHECK_STR_CONTAINS(what, "ACPI", "acpi: loading over the MADT is refused");
	what = boot_area_conflict(BOOT_ACPI_RSDP - 0x10, BOOT_ACPI_RSDP + 1, 1, BOOT_LOW_USED_END);
	CHECK_STR_CONTAINS(what, "ACPI", "acpi: loading over the RSDP is refused");
	CHECK(boot_area_conflict(acpi_tables_end(1), 0xf4000, 1, BOOT_LOW_USED_END) == NULL,
	      "acpi: the BIOS area past the tables is free");
	CHECK(boot_area_conflict(0xff000, BOOT_BIOS_END, 8, BOOT_LOW_USED_END) == NULL, "acpi: 0xff000-1 MiB is free");
}

static void test_zero_page(void)
{
	struct guest_mem m;
	if (!mem_or_skip(&m, 16 * MiB, "acpi zero page"))
		return;
	struct setup_header h;
	linux_vmlinux_header(&h);
	struct initrd rd = { 0, 0 };
	char err[256] = "";
	CHECK(linux_zero_page_write(&m, &h, "console=ttyS0", &rd, err, sizeof(err)) == 0,
	      "acpi zero page: written (%s)", err);
	uint64_t rsdp = 0;
	gpa_read(&m, BOOT_ZERO_PAGE + 0x70, &rsdp, sizeof(rsdp));
	CHECK_EQ(rsdp, BOOT_ACPI_RSDP, "acpi zero page: boot_params.acpi_rsdp_addr (0x070) is the RSDP");
	guest_mem_free(&m);
}

int main(void)
{
	test_tables();
	test_limits();
	test_boot_area();
	test_zero_page();
	return CHECK_DONE();
}
