/* Privileged instructions at CPL 1 and 3 (#GP(0), Intel SDM vol. 3A 5.9),
 * CLI/STI/IN/OUT against IOPL and the TSS I/O permission bitmap (vol. 1
 * 18.5), and CPUID, RDTSC/RDTSCP and the MSRs a VMM must virtualize. */
#include "conf.h"

#define SCRATCH 0x3ff	/* COM1's scratch register: reads back what was written */

/* ---- privileged instructions ---- */
static struct dtr32 dtr_buf;
static volatile uint32_t pv_vec[32], pv_err[32];
static volatile unsigned pv_n;

#define PRIV(insn, ...)                                              \
	do {                                                         \
		TRY(insn, __VA_ARGS__);                              \
		pv_vec[pv_n] = trap_last.vector;                     \
		pv_err[pv_n] = trap_last.error;                      \
		pv_n++;                                              \
	} while (0)

static const char *const priv_names[] = {
	"hlt", "lgdt", "lidt", "lldt", "ltr", "mov_from_cr0", "mov_to_cr0", "mov_from_cr2",
	"mov_from_cr3", "mov_to_cr3", "mov_from_cr4", "mov_from_dr7", "mov_to_dr7", "clts",
	"lmsw", "invd", "wbinvd", "invlpg", "rdmsr", "wrmsr", "rdpmc", "cli_iopl0", "sti_iopl0",
	"in_iopl0", "out_iopl0", "insb_iopl0", "outsb_iopl0",
};
#define PRIV_COUNT (sizeof(priv_names) / sizeof(priv_names[0]))

static void privileged_probe(void)
{
	uint32_t v = 0;
	static uint8_t buf[4];
	pv_n = 0;
	PRIV("hlt");
	PRIV("lgdt %0", : : "m"(dtr_buf));
	PRIV("lidt %0", : : "m"(dtr_buf));
	PRIV("lldt %w0", : : "r"(0));
	PRIV("ltr %w0", : : "r"(SEL_TSS));
	PRIV("mov %%cr0, %0", : "=r"(v));
	PRIV("mov %0, %%cr0", : : "r"(v));
	PRIV("mov %%cr2, %0", : "=r"(v));
	PRIV("mov %%cr3, %0", : "=r"(v));
	PRIV("mov %0, %%cr3", : : "r"(v));
	PRIV("mov %%cr4, %0", : "=r"(v));
	PRIV("mov %%dr7, %0", : "=r"(v));
	PRIV("mov %0, %%dr7", : : "r"(0x400));
	PRIV("clts");
	PRIV("lmsw %w0", : : "r"(1));
	PRIV("invd");
	PRIV("wbinvd");
	PRIV("invlpg (%0)", : : "r"(buf));
	PRIV("rdmsr", : : "c"(0x10) : "eax", "edx");
	PRIV("wrmsr", : : "c"(0x174), "a"(0), "d"(0));
	/* RDPMC with CR4.PCE = 0 at CPL > 0. */
	PRIV("rdpmc", : : "c"(0) : "eax", "edx");
	PRIV("cli");
	PRIV("sti");
	PRIV("inb %w0, %%al", : : "d"(SCRATCH) : "eax");
	PRIV("outb %%al, %w0", : : "d"(SCRATCH), "a"(0));
	PRIV("rep insb", : : "d"(SCRATCH), "D"(buf), "c"(1) : "memory");
	PRIV("rep outsb", : : "d"(SCRATCH), "S"(buf), "c"(1));
}

static void section_privileged(unsigned cpl)
{
	section(cpl == 3 ? "privileged_cpl3" : "privileged_cpl1");
	ring_run(cpl, privileged_probe);
	for (unsigned i = 0; i < PRIV_COUNT; i++) {
		trap_last.vector = pv_vec[i];
		trap_last.error = pv_err[i];
		check_fault(nm("%s_cpl%u_gp", priv_names[i], cpl), VEC_GP, 0);
	}
}

/* ---- IOPL and the I/O permission bitmap ---- */
static volatile uint32_t io_vec[12], io_val[12];

static void io_probe_iopl3(void)
{
	uint32_t f;
	TRY("cli; pushfl; popl %0", : "=r"(f));
	io_vec[0] = trap_last.vector; io_val[0] = f;
	TRY("sti; pushfl; popl %0; cli", : "=r"(f));
	io_vec[1] = trap_last.vector; io_val[1] = f;
	TRY("inw %w0, %%ax", : : "d"(SCRATCH - 1) : "eax");
	io_vec[2] = trap_last.vector;
}

static void io_probe_bitmap(void)
{
	uint8_t v = 0;
	TRY("outb %%al, %w1", : : "a"(0x5a), "d"(SCRATCH));
	io_vec[3] = trap_last.vector;
	TRY("inb %w1, %%al", : "=a"(v) : "d"(SCRATCH));
	io_vec[4] = trap_last.vector; io_val[4] = v;
	/* A word at 0x3fe needs the bits of 0x3fe and 0x3ff both clear. */
	TRY("inw %w0, %%ax", : : "d"(SCRATCH - 1) : "eax");
	io_vec[5] = trap_last.vector; io_val[5] = trap_last.error;
	TRY("inb %w0, %%al", : : "d"(SCRATCH - 1) : "eax");
	io_vec[6] = trap_last.vector;
	/* The bitmap does not grant CLI. */
	TRY("cli");
	io_vec[7] = trap_last.vector;
}

static void io_probe_ring1(void)
{
	TRY("cli; sti; cli");
	io_vec[8] = trap_last.vector;
	TRY("inb %w0, %%al", : : "d"(SCRATCH) : "eax");
	io_vec[9] = trap_last.vector;
}

static void section_iopl(void)
{
	section("iopl_io_bitmap");
	set_iopl(3);
	ring_run(3, io_probe_iopl3);
	set_iopl(0);
	__asm__ volatile("cli");
	check_eq("cli_cpl3_iopl3_no_fault", io_vec[0], TRAP_NONE);
	check_eq("cli_cpl3_iopl3_clears_if", io_val[0] & EFLAGS_IF, 0);
	check_eq("sti_cpl3_iopl3_no_fault", io_vec[1], TRAP_NONE);
	check_eq("sti_cpl3_iopl3_sets_if", io_val[1] & EFLAGS_IF, EFLAGS_IF);
	check_eq("in_cpl3_iopl3_ignores_bitmap", io_vec[2], TRAP_NONE);

	iomap_allow(SCRATCH, 1);
	ring_run(3, io_probe_bitmap);
	check_eq("out_cpl3_bitmap_allows", io_vec[3], TRAP_NONE);
	check_eq("in_cpl3_bitmap_allows", io_vec[4], TRAP_NONE);
	check_eq("in_cpl3_bitmap_value", io_val[4], 0x5a);
	check_eq("inw_cpl3_bitmap_partial", io_vec[5], VEC_GP);
	check_eq("inw_cpl3_bitmap_partial_err", io_val[5], 0);
	check_eq("inb_cpl3_bitmap_denies_neighbour", io_vec[6], VEC_GP);
	check_eq("cli_cpl3_bitmap_no_help", io_vec[7], VEC_GP);
	iomap_allow(SCRATCH, 0);

	set_iopl(1);
	ring_run(1, io_probe_ring1);
	set_iopl(0);
	__asm__ volatile("cli");
	check_eq("cli_sti_cpl1_iopl1_no_fault", io_vec[8], TRAP_NONE);
	check_eq("in_cpl1_iopl1_no_fault", io_vec[9], TRAP_NONE);
	/* At CPL 0 with IOPL 0 nothing applies. */
	TRY("inb %w0, %%al; cli", : : "d"(SCRATCH) : "eax");
	check_no_fault("in_cli_cpl0_iopl0");
}

/* ---- CPUID, RDTSC, RDTSCP ---- */
static volatile uint32_t cpuid_user[4], tsc_vec[2];
static volatile uint64_t tsc_user[2];
static void cpuid_cpl3(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	for (int i = 0; i < 4; i++)
		cpuid_user[i] = r[i];
	uint32_t lo, hi;
	TRY("rdtsc", : "=a"(lo), "=d"(hi));
	tsc_vec[0] = trap_last.vector;
	tsc_user[0] = ((uint64_t)hi << 32) | lo;
}
static void rdtsc_cpl3(void)
{
	TRY("rdtsc", : : : "eax", "edx");
	tsc_vec[1] = trap_last.vector;
}

static void section_cpuid_tsc(void)
{
	uint32_t r[4], r1[4], e[4];
	section("cpuid_rdtsc");
	cpuid(0, 0, r);
	check_true("cpuid_max_leaf_ge_1", r[0] >= 1);
	ring_run(3, cpuid_cpl3);
	check_eq("cpuid_cpl3_same_leaf0_eax", cpuid_user[0], r[0]);
	check_eq("cpuid_cpl3_same_vendor_ebx", cpuid_user[1], r[1]);
	check_eq("rdtsc_cpl3_tsd0_no_fault", tsc_vec[0], TRAP_NONE);
	cpuid(1, 0, r1);
	/* The features every engine must offer because the suite relies on
	 * them (CPUID.1:EDX, Intel SDM vol. 2A table 3-11). */
	static const struct { const char *name; unsigned bit; } edx1[] = {
		{ "fpu", 0 }, { "tsc", 4 }, { "msr", 5 }, { "pae", 6 }, { "cx8", 8 }, { "apic", 9 },
		{ "sep", 11 }, { "pge", 13 }, { "cmov", 15 }, { "fxsr", 24 }, { "sse", 25 }, { "sse2", 26 },
	};
	for (unsigned i = 0; i < sizeof(edx1) / sizeof(edx1[0]); i++)
		check_eq(nm("cpuid_1_edx_%s", edx1[i].name), (r1[3] >> edx1[i].bit) & 1, 1);
	/* EBX[31:24] is the initial APIC ID: 0 for the BSP of our one-CPU VMs. */
	check_eq("cpuid_1_apic_id_bsp", r1[1] >> 24, 0);
	cpuid(0x80000000, 0, e);
	check_true("cpuid_ext_max_ge_80000001", e[0] >= 0x80000001);
	cpuid(0x80000001, 0, e);
	check_eq("cpuid_80000001_edx_lm", (e[3] >> 29) & 1, 1);
	check_eq("cpuid_80000001_edx_nx", (e[3] >> 20) & 1, 1);
	check_eq("cpuid_80000001_edx_syscall", (e[3] >> 11) & 1, 1);
	if (r1[2] & (1u << 31)) {
		cpuid(0x40000000, 0, r);
		check_true("cpuid_hypervisor_leaf_max", r[0] >= 0x40000000 && r[0] < 0x40010000);
	} else {
		report_skip("cpuid_hypervisor_leaf_max", "CPUID.1:ECX.hypervisor[bit 31] is 0");
	}

	uint64_t t0 = rdtsc(), t1 = rdtsc(), t2 = rdtsc();
	check_true("rdtsc_monotonic", t0 < t1 && t1 < t2);
	check_true("rdtsc_cpl3_after_cpl0", tsc_user[0] != 0);
	/* CR4.TSD: RDTSC at CPL > 0 raises #GP(0) (SDM vol. 2B RDTSC). */
	write_cr4(read_cr4() | 0x4);
	ring_run(3, rdtsc_cpl3);
	uint64_t t3 = rdtsc();
	write_cr4(read_cr4() & ~0x4u);
	check_eq("rdtsc_cpl3_tsd1_gp", tsc_vec[1], VEC_GP);
	check_true("rdtsc_cpl0_tsd1_works", t3 > t2);
	if (e[3] & (1u << 27)) {
		uint32_t lo, hi, aux;
		wrmsr(0xc0000103, 0x1234);
		__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
		uint64_t t4 = ((uint64_t)hi << 32) | lo;
		check_eq("rdtscp_tsc_aux", aux, 0x1234);
		check_true("rdtscp_monotonic", t4 > t3);
		check_eq("tsc_aux_msr_readback", rdmsr(0xc0000103), 0x1234);
	} else {
		report_skip("rdtscp_tsc_aux", "CPUID.80000001:EDX.RDTSCP[bit 27] is 0");
		report_skip("rdtscp_monotonic", "CPUID.80000001:EDX.RDTSCP[bit 27] is 0");
		report_skip("tsc_aux_msr_readback", "CPUID.80000001:EDX.RDTSCP[bit 27] is 0");
	}
}

/* ---- MSRs ---- */
static void section_msrs(void)
{
	section("msrs");
	report_known("kvm-pvm", "lstar_noncanonical_gp", "WRMSR of a non-canonical IA32_LSTAR succeeds instead of #GP(0)");
	report_known("kvm-pvm", "lstar_noncanonical_gp_err", "WRMSR of a non-canonical IA32_LSTAR succeeds instead of #GP(0)");
	report_known("kvm-pvm", "tsc_msr_write_moves_rdtsc", "WRMSR to IA32_TIME_STAMP_COUNTER does not change what RDTSC returns");
	uint64_t efer = rdmsr(0xc0000080);
	check_eq("efer_lme_off_in_legacy_mode", efer & 0x500, 0);
	wrmsr(0xc0000080, efer | 0x800);
	check_eq("efer_nxe_write_read", rdmsr(0xc0000080) & 0x800, 0x800);
	wrmsr(0xc0000080, efer);
	check_eq("efer_nxe_clear_read", rdmsr(0xc0000080) & 0x800, 0);
	TRY("wrmsr", : : "c"(0xc0000080), "a"((uint32_t)efer | 0x4), "d"(0));
	check_fault("efer_reserved_bit_gp", VEC_GP, 0);
	wrmsr(0xc0000081, 0x0023001000080000ull);
	check_eq("star_write_read", rdmsr(0xc0000081), 0x0023001000080000ull);
	wrmsr(0xc0000082, 0xffffffff81234560ull);
	check_eq("lstar_write_read", rdmsr(0xc0000082), 0xffffffff81234560ull);
	/* LSTAR must hold a canonical address (SDM vol. 4, IA32_LSTAR). */
	TRY("wrmsr", : : "c"(0xc0000082), "a"(0), "d"(0x00800000));
	check_fault("lstar_noncanonical_gp", VEC_GP, 0);
	wrmsr(0xc0000083, 0x12345678ull);
	check_eq("cstar_write_read", rdmsr(0xc0000083), 0x12345678ull);
	wrmsr(0xc0000084, 0x47700);
	check_eq("sfmask_write_read", rdmsr(0xc0000084), 0x47700);
	wrmsr(0x174, SEL_KCODE32);
	check_eq("sysenter_cs_write_read", rdmsr(0x174), SEL_KCODE32);
	wrmsr(0x175, 0x12345000);
	check_eq("sysenter_esp_write_read", rdmsr(0x175), 0x12345000);
	wrmsr(0x176, 0x00101000);
	check_eq("sysenter_eip_write_read", rdmsr(0x176), 0x00101000);
	uint64_t apic = rdmsr(0x1b);
	check_eq("apic_base_enabled", apic & 0x800, 0x800);
	check_eq("apic_base_bsp", apic & 0x100, 0x100);
	check_eq("apic_base_address", apic & 0xfffff000, 0xfee00000);
	uint64_t t0 = rdtsc(), m = rdmsr(0x10), t1 = rdtsc();
	if (t0 <= m && m <= t1)
		report_pass("tsc_msr_between_rdtsc");
	else
		report_fail("tsc_msr_between_rdtsc", "expected %#llx <= %#llx <= %#llx", t0, m, t1);
	wrmsr(0x10, 0x100000000000ull);
	uint64_t t2 = rdtsc();
	if (t2 >= 0x100000000000ull && t2 < 0x100000000000ull + (1ull << 40))
		report_pass("tsc_msr_write_moves_rdtsc");
	else
		report_fail("tsc_msr_write_moves_rdtsc", "expected 0x100000000000 <= rdtsc < 0x110000000000 got %#llx", t2);
	/* Machine check, as CPUID's MCE (bit 7) and MCA (bit 14) promise:
	 * MCG_CAP reads, and each bank it counts reads without a fault; a
	 * bank's STATUS takes 0 and refuses anything else (SDM vol. 3B 16.3). */
	uint32_t id[4];
	cpuid(1, 0, id);
	check_eq("cpuid_mce_mca", id[3] & ((1u << 7) | (1u << 14)), (1u << 7) | (1u << 14));
	uint32_t lo = 0, hi = 0;
	TRY("rdmsr", : "=a"(lo), "=d"(hi) : "c"(0x179));
	check_no_fault("mcg_cap_reads");
	unsigned banks = lo & 0xff;
	TRY("rdmsr", : "=a"(lo), "=d"(hi) : "c"(0x17a));
	check_no_fault("mcg_status_reads");
	check_eq("mcg_status_no_machine_check", lo & 7, 0);
	unsigned bad = 0;
	for (unsigned b = 0; b < banks; b++) {
		TRY("rdmsr", : "=a"(lo), "=d"(hi) : "c"(0x401 + 4 * b));
		bad += trap_last.vector != TRAP_NONE || (lo & 0x80000000u) || (hi & 0x80000000u);
	}
	check_eq("mc_banks_read_with_nothing_logged", bad, 0);
	if (banks) {
		TRY("wrmsr", : : "c"(0x401), "a"(0), "d"(0));
		check_no_fault("mc0_status_takes_zero");
		TRY("wrmsr", : : "c"(0x401), "a"(1), "d"(0));
		check_fault("mc0_status_refuses_nonzero", VEC_GP, 0);
	}
	TRY("rdmsr", : : "c"(0x4b564dff) : "eax", "edx");
	check_fault("rdmsr_unimplemented_gp", VEC_GP, 0);
	TRY("wrmsr", : : "c"(0x4b564dff), "a"(0), "d"(0));
	check_fault("wrmsr_unimplemented_gp", VEC_GP, 0);
}

void guest_main(void)
{
	conf_init();
	/* Ring-0-only sections first: an engine that cannot switch rings
	 * still reports them. */
	section_msrs();
	section_cpuid_tsc();
	section_privileged(3);
	section_privileged(1);
	section_iopl();
}
