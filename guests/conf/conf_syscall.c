/* System calls: INT 0x80 through a DPL-3 interrupt gate, SYSENTER/SYSEXIT
 * in legacy protected mode, and SYSCALL/SYSRET in IA-32e mode to and from
 * 64-bit and compatibility-mode user code (Intel SDM vol. 2B SYSENTER,
 * SYSEXIT, SYSCALL, SYSRET; AMD APM vol. 2 6.1). */
#include "conf.h"
#include "longmode.h"

#define MSR_SYSENTER_CS  0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_STAR   0xc0000081
#define MSR_LSTAR  0xc0000082
#define MSR_FMASK  0xc0000084

/* ---- INT 0x80 ---- */
static volatile uint32_t k_cs, k_ss, k_flags, k_pushed_cs, k_pushed_ss, k_pushed_esp;
static volatile uint32_t u_result, u_cs_after, u_esp;

static void on_int80(struct trap_frame *f)
{
	k_cs = read_cs();
	k_ss = read_ss();
	k_flags = (uint32_t)read_flags();
	k_pushed_cs = f->cs;
	k_pushed_ss = f->ss;
	k_pushed_esp = f->esp;
	f->eax += 1;	/* the "system call" result */
}

static void user_int80(void)
{
	uint32_t r;
	__asm__ volatile("movl %%esp, %1; int $0x80" : "=a"(r), "=m"(u_esp) : "a"(41) : "memory");
	u_result = r;
	u_cs_after = read_cs();
}

static void section_int80(void)
{
	section("int80");
	idt_set(0x80, idt_default_gate(0x80, 3));
	trap_set_handler(0x80, on_int80);
	__asm__ volatile("sti" ::: "memory");	/* so the gate's IF clearing shows */
	ring_run(3, user_int80);
	__asm__ volatile("cli" ::: "memory");
	check_eq("int80_result_in_eax", u_result, 42);
	check_eq("int80_handler_cs", k_cs, SEL_KCODE32);
	check_eq("int80_handler_ss_from_tss", k_ss, SEL_KDATA);
	check_eq("int80_handler_if_clear", k_flags & EFLAGS_IF, 0);
	check_eq("int80_pushed_cs", k_pushed_cs & 0xffff, SEL_UCODE32 | 3);
	check_eq("int80_pushed_ss", k_pushed_ss & 0xffff, SEL_UDATA | 3);
	check_eq("int80_pushed_esp", k_pushed_esp, u_esp);
	check_eq("int80_returns_to_cpl3", u_cs_after, SEL_UCODE32 | 3);
}

/* ---- SYSENTER / SYSEXIT ---- */
volatile uint32_t se_cs, se_ss, se_esp, se_flags, se_user_cs, se_user_ss, se_reached;
extern char sysenter_entry[];
__asm__(".text\n"
	"sysenter_entry:\n"
	"	movw %cs, se_cs\n	movw %ss, se_ss\n	movl %esp, se_esp\n"
	"	pushfl\n	popl se_flags\n"
	"	sysexit\n");
static uint8_t se_stack[4096] __attribute__((aligned(16)));

static void user_sysenter(void)
{
	__asm__ volatile("movl %%esp, %%ecx; movl $1f, %%edx; sysenter\n"
			 "1: movl $1, se_reached; movw %%cs, se_user_cs; movw %%ss, se_user_ss"
			 : : : "ecx", "edx", "memory");
}
static volatile uint32_t sx_vec, sx_err;
static void user_sysexit(void)
{
	TRY("sysexit", : : : "ecx", "edx");
	sx_vec = trap_last.vector; sx_err = trap_last.error;
}
static void user_sysenter_cs0(void)
{
	TRY("sysenter", : : : "ecx", "edx");
	sx_vec = trap_last.vector; sx_err = trap_last.error;
}

static void section_sysenter(void)
{
	uint32_t r[4];
	section("sysenter_sysexit");
	cpuid(1, 0, r);
	if (!(r[3] & (1u << 11))) {
		static const char *const names[] = { "sysenter_cs", "sysenter_ss", "sysenter_esp", "sysenter_clears_if",
			"sysexit_cs", "sysexit_ss", "sysexit_to_edx", "sysexit_cpl3_gp", "sysexit_cpl3_gp_err",
			"sysenter_cs0_gp", "sysenter_cs0_gp_err" };
		for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			report_skip(names[i], "CPUID.1:EDX.SEP[bit 11] is 0");
		return;
	}
	uint32_t top = (uint32_t)(uintptr_t)(se_stack + sizeof(se_stack));
	wrmsr(MSR_SYSENTER_CS, SEL_KCODE32);
	wrmsr(MSR_SYSENTER_ESP, top);
	wrmsr(MSR_SYSENTER_EIP, (uint32_t)(uintptr_t)sysenter_entry);
	__asm__ volatile("sti" ::: "memory");
	ring_run(3, user_sysenter);
	__asm__ volatile("cli" ::: "memory");
	check_eq("sysenter_cs", se_cs, SEL_KCODE32);
	check_eq("sysenter_ss", se_ss, SEL_KCODE32 + 8);
	check_eq("sysenter_esp", se_esp, top);
	check_eq("sysenter_clears_if", se_flags & EFLAGS_IF, 0);
	check_eq("sysexit_cs", se_user_cs, (SEL_KCODE32 + 16) | 3);
	check_eq("sysexit_ss", se_user_ss, (SEL_KCODE32 + 24) | 3);
	check_eq("sysexit_to_edx", se_reached, 1);
	ring_run(3, user_sysexit);
	check_eq("sysexit_cpl3_gp", sx_vec, VEC_GP);
	check_eq("sysexit_cpl3_gp_err", sx_err, 0);
	wrmsr(MSR_SYSENTER_CS, 0);
	ring_run(3, user_sysenter_cs0);
	check_eq("sysenter_cs0_gp", sx_vec, VEC_GP);
	check_eq("sysenter_cs0_gp_err", sx_err, 0);
}

/* ---- SYSCALL / SYSRET in IA-32e mode ---- */
volatile uint32_t sc_user_cs, sc_user_ss, sc_user_flags, sc_after_addr;
volatile uint32_t sc_k_cs, sc_k_ss, sc_k_rcx, sc_k_r11, sc_k_flags, sc_u32_cs, sc_u32_ss;
volatile uint64_t sc_saved_rsp;
static uint8_t sc_user_stack[4096] __attribute__((aligned(16)));
uint32_t sc_user_stack_top;
extern char sc_test64[], sc_entry64[], sysret32_test[];
__asm__(".text\n.code64\n"
	"sc_test64:\n"
	"	pushq %rbx\n pushq %rbp\n pushq %r12\n pushq %r13\n pushq %r14\n pushq %r15\n"
	"	movq %rsp, sc_saved_rsp(%rip)\n"
	"	leaq sc_user64(%rip), %rcx\n"
	"	movl $0x43, %r11d\n"	/* CF, ZF and the always-one bit 1 */
	"	movl sc_user_stack_top(%rip), %esp\n"
	"	sysretq\n"
	"sc_user64:\n"
	"	movl %cs, %eax\n movl %eax, sc_user_cs(%rip)\n"
	"	movl %ss, %eax\n movl %eax, sc_user_ss(%rip)\n"
	"	pushfq\n popq %rax\n movl %eax, sc_user_flags(%rip)\n"
	"	leaq sc_after(%rip), %rax\n movl %eax, sc_after_addr(%rip)\n"
	"	syscall\n"
	"sc_after:\n"
	"	ud2\n"
	"sc_entry64:\n"
	"	movl %cs, %eax\n movl %eax, sc_k_cs(%rip)\n"
	"	movl %ss, %eax\n movl %eax, sc_k_ss(%rip)\n"
	"	movl %ecx, sc_k_rcx(%rip)\n"
	"	movl %r11d, sc_k_r11(%rip)\n"
	"	pushfq\n popq %rax\n movl %eax, sc_k_flags(%rip)\n"
	"	movq sc_saved_rsp(%rip), %rsp\n"
	"	movw $0x10, %ax\n movw %ax, %ss\n"
	"	popq %r15\n popq %r14\n popq %r13\n popq %r12\n popq %rbp\n popq %rbx\n"
	"	ret\n"
	".code32\n"
	/* SYSRET (32-bit operand size) to compatibility-mode user code, which
	 * comes back through ring_run's INT 0x81 path. */
	"sysret32_test:\n"
	"	pushfl\n pushl %ebp\n pushl %ebx\n pushl %esi\n pushl %edi\n"
	"	movl %esp, ring_saved_esp\n"
	"	ljmp $0x38, $1f\n"
	".code64\n"
	"1:	movl %esp, %esp\n"
	"	leaq sc_user32(%rip), %rcx\n"
	"	movl $0x2, %r11d\n"
	"	movl sc_user_stack_top(%rip), %esp\n"
	"	sysretl\n"
	".code32\n"
	"sc_user32:\n"
	"	movw %cs, %ax\n movzwl %ax, %eax\n movl %eax, sc_u32_cs\n"
	"	movw %ss, %ax\n movl %eax, sc_u32_ss\n"
	"	int $0x81\n");

static void section_syscall(void)
{
	section("syscall_sysret");
	lm_init();
	sc_user_stack_top = (uint32_t)(uintptr_t)(sc_user_stack + sizeof(sc_user_stack));
	wrmsr(MSR_STAR, ((uint64_t)SEL_SR_BASE << 48) | ((uint64_t)SEL_SC_KCODE << 32));
	wrmsr(MSR_LSTAR, (uint32_t)(uintptr_t)sc_entry64);
	wrmsr(MSR_FMASK, EFLAGS_CF | EFLAGS_TF | EFLAGS_IF | EFLAGS_DF);
	lm_call64((uint32_t)(uintptr_t)sc_test64, 0);
	check_eq("sysret64_cs", sc_user_cs, SEL_SR_UCODE64 | 3);
	check_eq("sysret64_ss", sc_user_ss, SEL_SR_UDATA | 3);
	check_eq("sysret64_rflags_from_r11", sc_user_flags & 0x3c7fd7, 0x43);
	check_eq("syscall_cs", sc_k_cs, SEL_SC_KCODE);
	check_eq("syscall_ss", sc_k_ss, SEL_SC_KCODE + 8);
	check_eq("syscall_rcx_is_next_rip", sc_k_rcx, sc_after_addr);
	check_eq("syscall_r11_is_rflags", sc_k_r11 & 0x3c7fd7, 0x43);
	check_eq("syscall_fmask_clears_cf", sc_k_flags & EFLAGS_CF, 0);
	check_eq("syscall_keeps_unmasked_zf", sc_k_flags & 0x40, 0x40);
	((void (*)(void))sysret32_test)();
	check_eq("sysret32_cs", sc_u32_cs, SEL_SR_UCODE32 | 3);
	check_eq("sysret32_ss", sc_u32_ss, SEL_SR_UDATA | 3);
}

void guest_main(void)
{
	conf_init();
	section_int80();
	section_sysenter();
	section_syscall();
}
