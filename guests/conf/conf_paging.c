/* Paging (Intel SDM vol. 3A chapter 4): 32-bit paging with 4 MiB pages,
 * PAE paging with 4 KiB and 2 MiB pages, U/S, R/W with CR0.WP, NX, reserved
 * bits, accessed/dirty bits, INVLPG, CR3 reloads and global pages, 1 GiB
 * pages under IA-32e paging, and self-modifying code, also through a
 * second mapping of the same page (vol. 3A 8.1.3). */
#include "conf.h"
#include "longmode.h"
#include "paging.h"

#define PTE_P   0x1ull
#define PTE_W   0x2ull
#define PTE_U   0x4ull
#define PTE_A   0x20ull
#define PTE_D   0x40ull
#define PTE_PS  0x80ull
#define PTE_G   0x100ull
#define PTE_XD  (1ull << 63)
#define PF_P    0x1
#define PF_W    0x2
#define PF_U    0x4
#define PF_RSVD 0x8
#define PF_I    0x10

#define VA_TEST  0x40000000u	/* 4 KiB pages through pt[] */
#define VA_LARGE 0x80000000u	/* pd[2][0]: a 2 MiB page onto physical 0 */

static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t bad_pdpt[4] __attribute__((aligned(32)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint64_t pt[512] __attribute__((aligned(4096)));
static uint32_t pd32[1024] __attribute__((aligned(4096)));
static uint32_t pt32[1024] __attribute__((aligned(4096)));
static volatile uint32_t page_a[1024] __attribute__((aligned(4096)));
static volatile uint32_t page_b[1024] __attribute__((aligned(4096)));
/* Code written at run time: in .data, which is as executable as the rest. */
static uint8_t page_code[4096] __attribute__((aligned(4096)));

/* Paging-structure entries are written by the CPU (A/D bits): read them
 * from memory, not from what the compiler remembers writing. */
#define ENTRY(e) (*(volatile uint64_t *)&(e))

static inline void invlpg(uint32_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}
static volatile uint32_t *test_va(unsigned page, unsigned off)
{
	return (volatile uint32_t *)(uintptr_t)(VA_TEST + page * 0x1000u + off);
}
static void set_pte(unsigned i, uint64_t v)
{
	pt[i] = v;
	invlpg(VA_TEST + i * 0x1000u);
}
static uint32_t pa(const volatile void *p)
{
	return (uint32_t)(uintptr_t)p;
}
/* A CALL whose target faults has already pushed its return address when
 * the fault is taken at the target: ESP is put back afterwards. */
static volatile uint32_t esp_saved;
#define TRY_CALL(target)                                                            \
	do {                                                                        \
		TRY("movl %%esp, %0; call *%1", : "=m"(esp_saved) : "r"(target) : "memory", "eax", "ecx", "edx"); \
		__asm__ volatile("movl %0, %%esp" : : "m"(esp_saved));              \
	} while (0)

static uint32_t read_at(uint32_t va)
{
	return *(volatile uint32_t *)(uintptr_t)va;
}

/* ---- 32-bit paging with 4 MiB and 4 KiB pages ---- */
static void section_paging32(void)
{
	section("paging32");
	for (unsigned i = 0; i < 1024; i++)
		pd32[i] = (i << 22) | 0x87;	/* identity, 4 MiB, P RW US PS */
	pd32[0x300] = 0x87;	/* VA 0xc0000000 -> PA 0 */
	pd32[0x301] = pa(pt32) | 0x7;
	memset(pt32, 0, sizeof(pt32));
	pt32[5] = pa(page_a) | 0x7;	/* VA 0xc0405000 -> page_a */
	page_a[3] = 0xcafe0001;
	write_cr4(read_cr4() | 0x10);	/* PSE */
	write_cr3(pa(pd32));
	write_cr0(read_cr0() | 0x80000000u);
	check_eq("paging32_4m_page", read_at(0xc0000000u + pa(&page_a[3])), 0xcafe0001);
	check_eq("paging32_4k_page", read_at(0xc0405000u + 12), 0xcafe0001);
	TRY("movl (%0), %%eax", : : "r"(0xc0406010u) : "eax");
	check_fault("paging32_pf_not_present", VEC_PF, 0);
	check_eq("paging32_pf_cr2", trap_last.cr2, 0xc0406010u);
	write_cr0(read_cr0() & ~0x80000000u);
}

/* ---- PAE paging ---- */
static void pae_on(void)
{
	for (unsigned i = 0; i < 4; i++) {
		for (unsigned j = 0; j < 512; j++)
			pd[i][j] = ((uint64_t)i << 30) + ((uint64_t)j << 21) + (PTE_P | PTE_W | PTE_U | PTE_PS);
		/* PAE PDPTEs have no R/W or U/S bits: those are reserved. */
		pdpt[i] = pa(pd[i]) | PTE_P;
	}
	pd[1][0] = pa(pt) | PTE_P | PTE_W | PTE_U;
	pd[2][0] = PTE_P | PTE_W | PTE_U | PTE_PS;	/* VA_LARGE -> PA 0 */
	memset(pt, 0, sizeof(pt));
	write_cr4((read_cr4() & ~0x10u) | 0x20u);	/* PAE */
	write_cr3(pa(pdpt));
	write_cr0(read_cr0() | 0x80000000u);
}

static volatile uint32_t u_vec[4], u_err[4], u_cr2[4], u_val;
static void user_access_probe(void)
{
	uint32_t v;
	TRY("movl (%1), %0", : "=r"(v) : "r"(test_va(2, 8)));
	u_vec[0] = trap_last.vector; u_err[0] = trap_last.error; u_cr2[0] = trap_last.cr2;
	TRY("movl $1, (%0)", : : "r"(test_va(2, 8)) : "memory");
	u_vec[1] = trap_last.vector; u_err[1] = trap_last.error;
	TRY("movl $1, (%0)", : : "r"(test_va(3, 8)) : "memory");
	u_vec[2] = trap_last.vector; u_err[2] = trap_last.error; u_cr2[2] = trap_last.cr2;
	TRY("movl (%1), %0", : "=r"(v) : "r"(test_va(3, 8)));
	u_vec[3] = trap_last.vector;
	u_val = v;
}

static void check_user(const char *name, unsigned i, uint32_t vec, uint32_t err)
{
	trap_last.vector = u_vec[i];
	trap_last.error = u_err[i];
	check_fault(name, vec, err);
}

static void section_pae(void)
{
	section("pae_4k_2m");
	pae_on();
	page_a[0] = 0x11223344;
	page_b[0] = 0x55667788;
	set_pte(0, pa(page_a) | PTE_P | PTE_W | PTE_U);
	check_eq("pae_4k_read_alias", *test_va(0, 0), 0x11223344);
	*test_va(0, 4) = 0xa5a5a5a5;
	check_eq("pae_4k_write_alias", page_a[1], 0xa5a5a5a5);
	check_eq("pae_2m_page_offset", read_at(VA_LARGE + pa(&page_a[0])), 0x11223344);

	section("pae_faults");
	set_pte(1, 0);
	TRY("movl (%0), %%eax", : : "r"(test_va(1, 0x10)) : "eax");
	check_fault("pf_not_present_read", VEC_PF, 0);
	check_eq("pf_not_present_read_cr2", trap_last.cr2, VA_TEST + 0x1010);
	check_eq("pf_eip_is_faulting_insn", trap_last.eip, trap_insn);
	TRY("movl $0, (%0)", : : "r"(test_va(1, 0x20)) : "memory");
	check_fault("pf_not_present_write", VEC_PF, PF_W);
	check_eq("pf_not_present_write_cr2", trap_last.cr2, VA_TEST + 0x1020);

	set_pte(2, pa(page_a) | PTE_P | PTE_W);		/* supervisor only */
	set_pte(3, pa(page_a) | PTE_P | PTE_U);		/* user, read-only */
	ring_run(3, user_access_probe);
	check_user("pf_user_reads_supervisor_page", 0, VEC_PF, PF_P | PF_U);
	check_eq("pf_user_reads_supervisor_page_cr2", u_cr2[0], VA_TEST + 0x2008);
	check_user("pf_user_writes_supervisor_page", 1, VEC_PF, PF_P | PF_W | PF_U);
	check_user("pf_user_writes_readonly_page", 2, VEC_PF, PF_P | PF_W | PF_U);
	check_eq("pf_user_writes_readonly_page_cr2", u_cr2[2], VA_TEST + 0x3008);
	check_eq("user_reads_readonly_page", u_vec[3], TRAP_NONE);
	check_eq("user_reads_readonly_page_value", u_val, page_a[2]);

	/* The PDE's U/S and R/W combine with the PTE's: the stricter wins. */
	pd[1][0] = pa(pt) | PTE_P | PTE_W;
	write_cr3(pa(pdpt));
	set_pte(2, pa(page_a) | PTE_P | PTE_W | PTE_U);
	set_pte(3, pa(page_a) | PTE_P | PTE_W | PTE_U);
	ring_run(3, user_access_probe);
	check_user("pf_pde_supervisor_pte_user", 0, VEC_PF, PF_P | PF_U);
	pd[1][0] = pa(pt) | PTE_P | PTE_U;
	write_cr3(pa(pdpt));
	ring_run(3, user_access_probe);
	check_user("pf_pde_readonly_pte_writable", 2, VEC_PF, PF_P | PF_W | PF_U);
	pd[1][0] = pa(pt) | PTE_P | PTE_W | PTE_U;
	write_cr3(pa(pdpt));

	/* CR0.WP: supervisor writes to read-only pages. */
	set_pte(3, pa(page_a) | PTE_P | PTE_U);
	write_cr0(read_cr0() & ~0x10000u);
	TRY("movl $0x77, (%0)", : : "r"(test_va(3, 12)) : "memory");
	check_no_fault("wp0_supervisor_writes_readonly");
	check_eq("wp0_supervisor_write_landed", page_a[3], 0x77);
	write_cr0(read_cr0() | 0x10000u);
	TRY("movl $0x78, (%0)", : : "r"(test_va(3, 12)) : "memory");
	check_fault("wp1_supervisor_writes_readonly", VEC_PF, PF_P | PF_W);
	write_cr0(read_cr0() & ~0x10000u);

	/* Reserved bits: with EFER.NXE = 0, bit 63 is reserved. */
	set_pte(4, pa(page_a) | PTE_P | PTE_W | PTE_XD);
	TRY("movl (%0), %%eax", : : "r"(test_va(4, 0)) : "eax");
	check_fault("pf_reserved_bit63_without_nxe", VEC_PF, PF_P | PF_RSVD);

	/* NX. */
	wrmsr(0xc0000080, rdmsr(0xc0000080) | 0x800);
	page_code[0] = 0xc3;	/* ret */
	set_pte(4, pa(page_code) | PTE_P | PTE_W | PTE_XD);
	TRY_CALL(test_va(4, 0));
	check_fault("pf_nx_fetch", VEC_PF, PF_P | PF_I);
	check_eq("pf_nx_fetch_cr2", trap_last.cr2, VA_TEST + 0x4000);
	TRY("movl (%0), %%eax", : : "r"(test_va(4, 0)) : "eax");
	check_no_fault("nx_page_readable");
	set_pte(4, pa(page_code) | PTE_P | PTE_W);
	TRY_CALL(test_va(4, 0));
	check_no_fault("nx_clear_fetch_ok");
	TRY_CALL(test_va(1, 0));
	check_fault("pf_fetch_not_present_with_nxe", VEC_PF, PF_I);
	wrmsr(0xc0000080, rdmsr(0xc0000080) & ~0x800ull);

	/* MOV to CR3 loads the PDPTEs: a present one with a reserved bit is
	 * #GP(0) and CR3 keeps its value (SDM vol. 3A 4.4.1); the guest goes
	 * on with the old tables. */
	section("pae_pdpte_load");
	for (int i = 0; i < 4; i++)
		bad_pdpt[i] = pdpt[i];
	bad_pdpt[3] |= 0x2;	/* bit 1: reserved in a PAE PDPTE */
	TRY("movl %0, %%cr3", : : "r"(pa(bad_pdpt)) : "memory");
	check_fault("gp_cr3_pdpte_reserved_bit", VEC_GP, 0);
	check_eq("cr3_unchanged_after_gp", (uint32_t)read_cr3(), pa(pdpt));
	check_eq("old_tables_still_map", *test_va(0, 4), 0xa5a5a5a5);
	bad_pdpt[3] = pdpt[3] & ~1ull;	/* not present: its other bits are free */
	bad_pdpt[3] |= 0x2;
	TRY("movl %0, %%cr3", : : "r"(pa(bad_pdpt)) : "memory");
	check_no_fault("cr3_pdpte_not_present_any_bits");
	write_cr3(pa(pdpt));

	section("accessed_dirty");
	set_pte(5, pa(page_a) | PTE_P | PTE_W);
	(void)*test_va(5, 0);
	check_eq("accessed_set_on_read", ENTRY(pt[5]) & PTE_A, PTE_A);
	check_eq("dirty_clear_after_read", ENTRY(pt[5]) & PTE_D, 0);
	*test_va(5, 0) = 0x11223344;
	check_eq("dirty_set_on_write", ENTRY(pt[5]) & PTE_D, PTE_D);
	pd[2][1] = (2ull << 20) | PTE_P | PTE_W | PTE_PS;	/* VA_LARGE + 2 MiB -> PA 2 MiB */
	invlpg(VA_LARGE + 0x200000);
	(void)read_at(VA_LARGE + 0x200000);
	check_eq("accessed_set_on_2m_pde", ENTRY(pd[2][1]) & PTE_A, PTE_A);
	check_eq("dirty_clear_on_2m_pde_after_read", ENTRY(pd[2][1]) & PTE_D, 0);
	*(volatile uint32_t *)(uintptr_t)(VA_LARGE + 0x200000 + 0x1000) = read_at(0x201000);
	check_eq("dirty_set_on_2m_pde", ENTRY(pd[2][1]) & PTE_D, PTE_D);
	check_eq("accessed_set_on_pde_of_4k", ENTRY(pd[1][0]) & PTE_A, PTE_A);

	section("tlb");
	page_a[0] = 0xaaaa0000;
	page_b[0] = 0xbbbb0000;
	set_pte(6, pa(page_a) | PTE_P | PTE_W);
	(void)*test_va(6, 0);
	pt[6] = pa(page_b) | PTE_P | PTE_W;
	invlpg(VA_TEST + 0x6000);
	check_eq("invlpg_makes_new_mapping_visible", *test_va(6, 0), 0xbbbb0000);
	pt[6] = pa(page_a) | PTE_P | PTE_W;
	write_cr3(pa(pdpt));
	check_eq("cr3_reload_makes_new_mapping_visible", *test_va(6, 0), 0xaaaa0000);
	/* Global pages: a CR3 load may keep them; toggling CR4.PGE flushes
	 * them (SDM vol. 3A 4.10.4.1). Whether the stale one survives a CR3
	 * load is not architectural, so only the flush is checked. */
	write_cr4(read_cr4() | 0x80);
	set_pte(7, pa(page_a) | PTE_P | PTE_W | PTE_G);
	(void)*test_va(7, 0);
	pt[7] = pa(page_b) | PTE_P | PTE_W | PTE_G;
	write_cr4(read_cr4() & ~0x80u);
	write_cr4(read_cr4() | 0x80);
	check_eq("cr4_pge_toggle_flushes_global", *test_va(7, 0), 0xbbbb0000);
	pt[7] = pa(page_a) | PTE_P | PTE_W | PTE_G;
	invlpg(VA_TEST + 0x7000);
	check_eq("invlpg_flushes_global", *test_va(7, 0), 0xaaaa0000);
	write_cr4(read_cr4() & ~0x80u);
}

/* ---- self-modifying code ---- */
static uint32_t run_code(uint32_t at)
{
	uint32_t r;
	__asm__ volatile("call *%1" : "=a"(r) : "r"(at) : "memory", "ecx", "edx");
	return r;
}
static void emit_mov_ret(volatile uint8_t *p, uint32_t imm)
{
	p[0] = 0xb8;	/* mov $imm32, %eax */
	p[1] = (uint8_t)imm; p[2] = (uint8_t)(imm >> 8); p[3] = (uint8_t)(imm >> 16); p[4] = (uint8_t)(imm >> 24);
	p[5] = 0xc3;	/* ret */
}

static void section_smc(void)
{
	uint32_t r[4];
	section("self_modifying_code");
	emit_mov_ret(page_code, 1);
	check_eq("smc_first_version", run_code(pa(page_code)), 1);
	emit_mov_ret(page_code, 2);
	check_eq("smc_rewritten_same_address", run_code(pa(page_code)), 2);
	page_code[1] = 3;
	check_eq("smc_immediate_patched", run_code(pa(page_code)), 3);
	/* The very next instruction rewritten before it runs: UD2 -> NOP NOP. */
	TRY("movb $0x90, 1f; movb $0x90, 1f+1\n1: ud2");
	check_no_fault("smc_next_instruction_rewritten");
	/* Through a second mapping: write at the alias, run at the original,
	 * with the serializing CPUID the SDM asks for between (8.1.3). */
	set_pte(8, pa(page_code) | PTE_P | PTE_W);
	emit_mov_ret((volatile uint8_t *)test_va(8, 0x100), 4);
	cpuid(0, 0, r);
	check_eq("smc_write_alias_run_original", run_code(pa(page_code) + 0x100), 4);
	check_eq("smc_run_alias", run_code(VA_TEST + 0x8100), 4);
	emit_mov_ret(page_code + 0x100, 5);
	cpuid(0, 0, r);
	check_eq("smc_write_original_run_alias", run_code(VA_TEST + 0x8100), 5);
	write_cr0(read_cr0() & ~0x80000000u);
}

/* ---- 1 GiB pages (IA-32e paging), from compatibility mode ---- */
static void section_1g(void)
{
	uint32_t e[4];
	section("ia32e_paging");
	cpuid(0x80000001, 0, e);
	lm_init();
	if (!(e[3] & (1u << 26))) {
		report_skip("page_1g_maps", "CPUID.80000001:EDX.Page1GB[bit 26] is 0");
		report_skip("page_1g_accessed", "CPUID.80000001:EDX.Page1GB[bit 26] is 0");
		report_skip("page_1g_offset", "CPUID.80000001:EDX.Page1GB[bit 26] is 0");
	} else {
		page_b[5] = 0x1a1a1a1a;
		lm_pdpt[2] = PTE_P | PTE_W | PTE_U | PTE_PS;	/* VA 2 GiB -> PA 0, one 1 GiB page */
		write_cr3(read_cr3());
		check_eq("page_1g_maps", read_at(0x80000000u + pa(&page_b[5])), 0x1a1a1a1a);
		check_eq("page_1g_accessed", ENTRY(lm_pdpt[2]) & PTE_A, PTE_A);
		check_eq("page_1g_offset", read_at(0x80000000u + 0x3fc00000u), read_at(0x3fc00000u));
	}
	TRY("movl (%0), %%eax", : : "r"(0xc0000010u) : "eax");
	check_no_fault("ia32e_2m_identity_above_3g");
	lm_pdpt[3] = 0;
	write_cr3(read_cr3());
	TRY("movl (%0), %%eax", : : "r"(0xc0000010u) : "eax");
	check_fault("ia32e_pf_not_present_pdpte", VEC_PF, 0);
	check_eq("ia32e_pf_cr2", trap_last.cr2, 0xc0000010u);
	/* New 4 KiB and 2 MiB mappings under that PDPTE through lib/paging.c. */
	page_a[7] = 0x4444aaaa;
	check_eq("ia32e_builder_map_4k", pt_map_4level(lm_pml4, 0xc0001000u, pa(page_a), PAGE_4K, PG_P | PG_W), 0);
	check_eq("ia32e_builder_map_2m", pt_map_4level(lm_pml4, 0xc0200000u, 0x200000, PAGE_2M, PG_P | PG_W), 0);
	write_cr3(read_cr3());
	check_eq("ia32e_4k_page_maps", read_at(0xc0001000u + 28), 0x4444aaaa);
	check_eq("ia32e_2m_page_maps", read_at(0xc0200000u + 0x1230), read_at(0x200000u + 0x1230));
	uint64_t *leaf = pt_leaf_4level(lm_pml4, 0xc0001000u);
	check_true("ia32e_4k_leaf_accessed", leaf && (ENTRY(*leaf) & PTE_A));
	check_eq("ia32e_4k_leaf_dirty_clear", leaf ? ENTRY(*leaf) & PTE_D : 1, 0);
	TRY("movl (%0), %%eax", : : "r"(0xc0002000u) : "eax");
	check_fault("ia32e_pf_not_present_pte", VEC_PF, 0);
}

void guest_main(void)
{
	conf_init();
	section_paging32();
	section_pae();
	section_smc();
	section_1g();
}
