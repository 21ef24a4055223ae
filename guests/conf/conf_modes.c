/* Mode switches: real mode and 16-bit protected mode through the
 * trampoline (realmode.S), IA-32e mode with 64-bit and compatibility mode
 * and the way back to legacy protected mode (longmode.h). Expected values:
 * Intel SDM vol. 3A chapter 9 ("Processor management and initialization")
 * and 20.1 (real-address mode). */
#include "conf.h"
#include "longmode.h"
#include "realmode.h"

extern char lm_cs64[], lm_wide64[];
__asm__(".code64\n"
	"lm_cs64: movl %cs, %eax\n ret\n"
	/* A 64-bit operation the 32-bit caller cannot do in one register. */
	"lm_wide64: movq %rdi, %rax\n shlq $32, %rax\n orq $0x5a, %rax\n ret\n"
	".code32\n");

static void section_real_mode(void)
{
	section("real_mode");
	rm_run();
	check_eq("pm16_push_is_2_bytes", *(volatile uint16_t *)RM_AT(res_pm16_push), 2);
	check_eq("real_mode_msw_pe_clear", *(volatile uint16_t *)RM_AT(res_msw) & 1, 0);
	check_eq("real_mode_cs", *(volatile uint16_t *)RM_AT(res_cs), 0);
	check_eq("real_mode_flags_if_clear", *(volatile uint16_t *)RM_AT(res_rm_flags) & EFLAGS_IF, 0);
	check_eq("real_mode_segment_times_16", *(volatile uint16_t *)RM_AT(res_seg), 0xbeef);
	check_eq("real_mode_int_through_ivt", *(volatile uint16_t *)RM_AT(res_int), 1);
	check_eq("real_mode_operand_size_prefix", *(volatile uint32_t *)RM_AT(res_op32), 0x89abcdef);
	uint32_t r[4];
	cpuid(0, 0, r);
	check_eq("real_mode_cpuid", *(volatile uint32_t *)RM_AT(res_cpuid_ebx), r[1]);
	check_eq("unreal_mode_no_gp", *(volatile uint16_t *)RM_AT(res_unreal_gp), 0);
	check_eq("unreal_mode_32bit_offset", *(volatile uint32_t *)RM_AT(res_unreal), 0x12345678);
	check_eq("back_in_pm32_cs", read_cs(), SEL_KCODE32);
	check_eq("back_in_pm32_pe", read_cr0() & 1, 1);
	TRY("ud2");
	check_fault("back_in_pm32_exceptions", VEC_UD, 0);
}

#define SEL_LDT_TEST 0x1e0	/* 16 bytes: 0x1e0 and 0x1e8 */

static void section_long_mode(void)
{
	section("long_mode");
	lm_init();
	check_eq("ia32e_efer_lma", rdmsr(0xc0000080) & 0x400, 0x400);
	check_eq("ia32e_cr0_pg", read_cr0() & 0x80000000u, 0x80000000u);
	check_eq("ia32e_cr4_pae", read_cr4() & 0x20, 0x20);
	check_eq("compat_mode_cs", read_cs(), SEL_KCODE32);
	check_eq("long_mode_cs", (uint32_t)lm_call64((uint32_t)(uintptr_t)lm_cs64, 0), SEL_KCODE64);
	check_eq("long_mode_64bit_register", lm_call64((uint32_t)(uintptr_t)lm_wide64, 0x12345678),
		 0x123456780000005aull);
	TRY("ud2");
	check_fault("compat_mode_exception_via_idt64", VEC_UD, 0);
	check_eq("compat_mode_exception_pushed_cs", trap_last.cs, SEL_KCODE32);
	check_eq("compat_mode_exception_eip", trap_last.eip, trap_insn);
	/* INTO and BOUND are valid in compatibility mode, not in 64-bit mode. */
	TRY("movl $0x7fffffff, %%eax; addl $1, %%eax; into", : : : "eax", "cc");
	check_fault("compat_mode_into", VEC_OF, 0);
	/* In IA-32e mode LLDT reads a 16-byte descriptor whose base must be
	 * canonical, else #GP(selector) (SDM vol. 2A, LLDT). */
	gdt[SEL_LDT_TEST / 8] = 0xffull | (0x82ull << 40);	/* LDT, P, limit 0xff */
	gdt[SEL_LDT_TEST / 8 + 1] = 0x00008000ull;		/* base 0x0000800000000000 */
	TRY("lldt %w0", : : "r"(SEL_LDT_TEST));
	check_fault("ia32e_lldt_noncanonical_base_gp", VEC_GP, SEL_LDT_TEST);
	gdt[SEL_LDT_TEST / 8 + 1] = 0xffffffffull;		/* 0xffffffff00000000: canonical */
	gdt[SEL_LDT_TEST / 8] |= 0xffull << 56;
	TRY("lldt %w0", : : "r"(SEL_LDT_TEST));
	check_no_fault("ia32e_lldt_canonical_base");
	__asm__ volatile("lldt %w0" : : "r"(0));
	lm_exit();
	check_eq("legacy_again_efer_lma", rdmsr(0xc0000080) & 0x400, 0);
	check_eq("legacy_again_cr0_pg", read_cr0() & 0x80000000u, 0);
	TRY("ud2");
	check_fault("legacy_again_exception_via_idt32", VEC_UD, 0);
	check_eq("legacy_again_tr", ({ uint16_t t; __asm__ volatile("str %0" : "=r"(t)); t; }), SEL_TSS);
}

void guest_main(void)
{
	conf_init();
	section_real_mode();
	section_long_mode();
}
