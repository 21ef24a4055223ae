/* The platform tables every loader writes: the e820 map, the MP table,
 * the identity page tables and the entry states behind them. */
#include <stdlib.h>
#include <string.h>

#include "boot/boot_layout.h"
#include "boot/e820.h"
#include "boot/entry_state.h"
#include "boot/mptable.h"
#include "boot/page_tables.h"
#include "check.h"
#include "test_mem.h"

static void test_e820_small(void)
{
	struct guest_mem m;
	if (!mem_or_skip(&m, 64 * MiB, "e820 64 MiB"))
		return;
	struct e820_entry e[16];
	int count = e820_build(&m, e, 16);
	CHECK_EQ(count, 4, "e820 64 MiB: four entries");
	CHECK(e[0].addr == 0 && e[0].size == 0x9fc00 && e[0].type == E820_RAM,
	      "e820 64 MiB: RAM [0, 0x9fc00)");
	CHECK(e[1].addr == 0x9fc00 && e[1].size == 0x400 && e[1].type == E820_RESERVED,
	      "e820 64 MiB: EBDA reserved");
	CHECK(e[2].addr == 0xf0000 && e[2].size == 0x10000 && e[2].type == E820_RESERVED,
	      "e820 64 MiB: BIOS area reserved");
	CHECK(e[3].addr == MiB && e[3].size == 63 * MiB && e[3].type == E820_RAM,
	      "e820 64 MiB: RAM [1 MiB, 64 MiB)");
	CHECK_EQ(e820_build(&m, e, 2), 2, "e820: never more entries than room");
	guest_mem_free(&m);
}

static void test_e820_sizes(void)
{
	static const uint64_t sizes[] = { 2 * MiB, 512 * MiB, 3 * GiB };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct guest_mem m;
		if (!mem_or_skip(&m, sizes[i], "e820 sizes"))
			continue;
		struct e820_entry e[16];
		int count = e820_build(&m, e, 16);
		uint64_t ram = 0;
		for (int k = 0; k < count; k++)
			ram += e[k].type == E820_RAM ? e[k].size : 0;
		CHECK_EQ(count, 4, "e820 %llu MiB: four entries", (unsigned long long)(sizes[i] / MiB));
		CHECK_EQ(ram, sizes[i] - 0x60400, "e820 %llu MiB: RAM is all but the legacy hole",
			 (unsigned long long)(sizes[i] / MiB));
		CHECK_EQ(e[count - 1].addr + e[count - 1].size, guest_mem_low_end(&m),
			 "e820 %llu MiB: last entry ends at low RAM end",
			 (unsigned long long)(sizes[i] / MiB));
		guest_mem_free(&m);
	}
}

static void test_e820_high(void)
{
	struct guest_mem m;
	if (!mem_or_skip(&m, 4 * GiB + 512 * MiB, "e820 4.5 GiB"))
		return;
	struct e820_entry e[16];
	int count = e820_build(&m, e, 16);
	CHECK_EQ(count, 5, "e820 4.5 GiB: five entries");
	CHECK(e[3].addr == MiB && e[3].addr + e[3].size == MEM_LOW_LIMIT,
	      "e820 4.5 GiB: low RAM ends at the PCI hole (3 GiB)");
	CHECK(e[4].addr == MEM_HIGH_START && e[4].size == 1536 * MiB && e[4].type == E820_RAM,
	      "e820 4.5 GiB: 1.5 GiB of RAM from 4 GiB");
	for (int i = 1; i < count; i++)
		CHECK(e[i - 1].addr + e[i - 1].size <= e[i].addr, "e820 4.5 GiB: entry %d sorted, no overlap", i);
	guest_mem_free(&m);
}

static uint8_t *find_float(struct guest_mem *m, uint64_t start, uint64_t len)
{
	uint8_t *p = gpa_ptr(m, start, len);
	for (uint64_t off = 0; p && off + 16 <= len; off += 16)
		if (memcmp(p + off, "_MP_", 4) == 0)
			return p + off;
	return NULL;
}

static void check_config(struct guest_mem *m, int ncpus)
{
	struct mp_float *f = (struct mp_float *)find_float(m, BOOT_EBDA, 1024);
	CHECK(f != NULL, "mptable %d: floating pointer in the EBDA", ncpus);
	if (f == NULL)
		return;
	CHECK_EQ(mptable_checksum(f, 16), 0, "mptable %d: floating pointer checksum", ncpus);
	CHECK(f->length == 1 && f->spec_rev == 4, "mptable %d: length 1, revision 1.4", ncpus);
	CHECK_EQ(f->feature[0], 0, "mptable %d: configuration table present (no default config)", ncpus);
	struct mp_float *copy = (struct mp_float *)find_float(m, BOOT_BIOS, 0x10000);
	CHECK(copy != NULL && memcmp(copy, f, 16) == 0, "mptable %d: floating pointer copy in 0xf0000", ncpus);
	uint16_t ebda = 0;
	gpa_read(m, BDA_EBDA_SEGMENT, &ebda, 2);
	CHECK_EQ(ebda, 0x9fc0, "mptable %d: BDA 0x40e points to the EBDA", ncpus);

	struct mp_config *c = gpa_ptr(m, f->config, sizeof(*c));
	CHECK(c != NULL && memcmp(c->signature, "PCMP", 4) == 0, "mptable %d: PCMP signature", ncpus);
	if (c == NULL)
		return;
	CHECK_EQ(c->length, mptable_config_size(ncpus), "mptable %d: base table length", ncpus);
	uint8_t *t = gpa_ptr(m, f->config, c->length);
	CHECK(t != NULL && mptable_checksum(t, c->length) == 0, "mptable %d: config checksum", ncpus);
	CHECK_EQ(c->entries, ncpus + 20, "mptable %d: entry count", ncpus);
	CHECK_EQ(c->lapic, 0xfee00000u, "mptable %d: local APIC address", ncpus);
	if (t == NULL)
		return;

	int cpus = 0, bsps = 0, buses = 0, ioapics = 0, ioints = 0, lints = 0, bad = 0;
	const uint8_t *p = t + sizeof(*c), *end = t + c->length;
	for (int i = 0; i < c->entries && p < end; i++) {
		if (p[0] == MP_PROCESSOR) {
			const struct mp_processor *e = (const void *)p;
			bad += e->apic_id != cpus || !(e->flags & MP_CPU_ENABLED) ||
			       ((e->signature >> 8) & 0xf) != 6;
			bsps += (e->flags & MP_CPU_BSP) != 0;
			cpus++;
			p += sizeof(*e);
			continue;
		}
		if (p[0] == MP_BUS)
			buses += memcmp(((const struct mp_bus *)p)->name, "ISA   ", 6) == 0;
		if (p[0] == MP_IOAPIC) {
			const struct mp_ioapic *e = (const void *)p;
			bad += e->id != ncpus || e->version != 0x11 || e->addr != 0xfec00000u || !(e->flags & 1);
			ioapics++;
		}
		if (p[0] == MP_IOINT) {
			const struct mp_intsrc *e = (const void *)p;
			bad += e->int_type != MP_INT || e->src_irq != ioints || e->dst_pin != ioints ||
			       e->dst_apic != ncpus || e->flags != 0;
			ioints++;
		}
		if (p[0] == MP_LINT) {
			const struct mp_intsrc *e = (const void *)p;
			bad += e->dst_apic != 0xff || e->dst_pin != lints ||
			       e->int_type != (lints == 0 ? MP_EXTINT : MP_NMI);
			lints++;
		}
		p += 8;
	}
	CHECK(p == end, "mptable %d: entries fill the table exactly", ncpus);
	CHECK_EQ(cpus, ncpus, "mptable %d: one processor entry per vCPU", ncpus);
	CHECK_EQ(bsps, 1, "mptable %d: exactly one BSP", ncpus);
	CHECK_EQ(buses, 1, "mptable %d: one ISA bus", ncpus);
	CHECK_EQ(ioapics, 1, "mptable %d: one I/O APIC", ncpus);
	CHECK_EQ(ioints, 16, "mptable %d: 16 ISA interrupt entries", ncpus);
	CHECK_EQ(lints, 2, "mptable %d: ExtINT and NMI local interrupts", ncpus);
	CHECK_EQ(bad, 0, "mptable %d: every entry's fields as specified", ncpus);
}

static void test_mptable(void)
{
	static const int counts[] = { 1, 2, 8, 64 };
	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct guest_mem m;
		if (!mem_or_skip(&m, 16 * MiB, "mptable"))
			return;
		char err[256];
		CHECK(mptable_write(&m, counts[i], err, sizeof(err)) == 0, "mptable %d: written", counts[i]);
		check_config(&m, counts[i]);
		guest_mem_free(&m);
	}
	CHECK_EQ(mptable_config_addr(8), BOOT_EBDA + 16, "mptable 8: config table in the EBDA");
	CHECK(mptable_config_addr(64) >= BOOT_BIOS, "mptable 64: config table moves to the BIOS area");
	struct guest_mem m;
	if (!mem_or_skip(&m, 16 * MiB, "mptable"))
		return;
	char err[256] = "";
	CHECK(mptable_write(&m, 0, err, sizeof(err)) < 0, "mptable: 0 vCPUs rejected");
	CHECK_STR_CONTAINS(err, "vCPUs", "mptable: 0 vCPUs message");
	guest_mem_free(&m);
}

static void test_page_tables(void)
{
	struct guest_mem m;
	if (!mem_or_skip(&m, 16 * MiB, "page tables"))
		return;
	CHECK_EQ(page_tables_identity(&m), BOOT_PML4, "page tables: CR3 is the PML4");
	uint64_t e = 0;
	gpa_read(&m, BOOT_PML4, &e, 8);
	CHECK_EQ(e, BOOT_PDPT | 3, "page tables: PML4[0] -> PDPT");
	for (int g = 0; g < 4; g++) {
		gpa_read(&m, BOOT_PDPT + 8 * g, &e, 8);
		CHECK_EQ(e, (BOOT_PD + 0x1000 * g) | 3, "page tables: PDPT[%d] -> PD", g);
	}
	gpa_read(&m, BOOT_PD + 0x1000 * 3 + 8 * 511, &e, 8);
	CHECK_EQ(e, (4 * GiB - 2 * MiB) | 0x83, "page tables: last 2 MiB page below 4 GiB identity");
	gpa_read(&m, BOOT_PD + 8, &e, 8);
	CHECK_EQ(e, 2 * MiB | 0x83, "page tables: second 2 MiB page");
	guest_mem_free(&m);
}

static void test_entry_states(void)
{
	struct guest_mem m;
	if (!mem_or_skip(&m, 16 * MiB, "entry states"))
		return;
	struct cpu_state s;
	char err[256];
	CHECK(entry_long64(&m, &s, 0x1000200, 0x7000, err, sizeof(err)) == 0, "long64: built");
	CHECK_EQ(s.cr0, CR0_PE | CR0_ET | CR0_NE | CR0_PG, "long64: CR0 PE|ET|NE|PG");
	CHECK_EQ(s.cr4, CR4_PAE, "long64: CR4 PAE");
	CHECK_EQ(s.msr.efer, EFER_LME | EFER_LMA, "long64: EFER LME|LMA");
	CHECK(s.seg[SEG_CS].l == 1 && s.seg[SEG_CS].db == 0 && s.seg[SEG_CS].selector == 0x10,
	      "long64: CS is __BOOT_CS, 64-bit");
	CHECK(s.seg[SEG_SS].selector == 0x18 && s.seg[SEG_DS].selector == 0x18 &&
	      s.seg[SEG_ES].selector == 0x18, "long64: DS/ES/SS are __BOOT_DS");
	CHECK(s.seg[SEG_TR].type == 11 && s.seg[SEG_TR].present, "long64: TR is a busy TSS");
	uint64_t gdt[4];
	gpa_read(&m, BOOT_GDT, gdt, sizeof(gdt));
	CHECK(gdt[2] == GDT_CODE64 && gdt[3] == GDT_DATA32 && s.gdt.limit == 31,
	      "long64: GDT at 0x500 matches the caches");
	CHECK(s.rip == 0x1000200 && s.gpr[RSI] == 0x7000 && s.gpr[RSP] == BOOT_STACK_TOP &&
	      s.rflags == 2 && s.idt.limit == 0, "long64: RIP, RSI, RSP, RFLAGS, IDT");

	CHECK(entry_prot32(&m, &s, 0x100000, err, sizeof(err)) == 0, "prot32: built");
	CHECK(s.cr0 == (CR0_PE | CR0_ET) && s.cr4 == 0 && s.msr.efer == 0, "prot32: PE|ET, no paging");
	CHECK(s.seg[SEG_CS].selector == 8 && s.seg[SEG_CS].db == 1 && s.seg[SEG_CS].type == 0xb &&
	      s.seg[SEG_CS].limit == 0xffffffff, "prot32: CS flat 32-bit code");
	CHECK(s.seg[SEG_SS].selector == 0x10 && s.seg[SEG_SS].db == 1 && s.seg[SEG_FS].selector == 0x10,
	      "prot32: data segments flat");
	int zero = 1;
	for (int i = 0; i < GPR_COUNT; i++)
		zero &= s.gpr[i] == 0;
	CHECK(zero, "prot32: general registers zero");
	guest_mem_free(&m);
}

int main(void)
{
	test_e820_small();
	test_e820_sizes();
	test_e820_high();
	test_mptable();
	test_page_tables();
	test_entry_states();
	return CHECK_DONE();
}
