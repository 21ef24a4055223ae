/* Exceptions with their vector, error code, saved EIP and frame (Intel
 * SDM vol. 3A 6.15 "Exception and interrupt reference"), in legacy 32-bit
 * protected mode. #PF is in conf_paging; the triple fault is triple.elf. */
#include "conf.h"

#define T_RO0     0x98	/* data, DPL 0, read-only */
#define T_LIM0    0xa0	/* data, DPL 0, writable, limit 0xfff */
#define T_SS3_LIM 0xa8	/* data, DPL 3, writable, limit 0xfff: a stack too small */
#define T_TSS16   0xb0	/* 16-bit TSS (type 1) */
#define T_CODE_T  0xb8	/* 32-bit code based at the 64 KiB holding task16_entry */

static volatile uint32_t insn_addr;

static void check_eip_at_insn(const char *name)
{
	check_eq(name, trap_last.eip, trap_insn);
}
static void check_eip_after(const char *name)
{
	check_eq(name, trap_last.eip, trap_resume);
}

static void section_arith(void)
{
	section("de_ud");
	TRY("divl %0", : : "r"(0), "a"(1), "d"(0));
	check_fault("de_divide_by_zero", VEC_DE, 0);
	check_eip_at_insn("de_eip_is_faulting_insn");
	check_eq("de_pushed_cs", trap_last.cs, SEL_KCODE32);
	TRY("idivl %0", : : "r"(-1), "a"(0x80000000), "d"(0xffffffff));
	check_fault("de_idiv_overflow", VEC_DE, 0);
	TRY("divb %0", : : "q"((uint8_t)2), "a"(0x200));
	check_fault("de_div8_quotient_too_big", VEC_DE, 0);
	TRY("ud2");
	check_fault("ud_ud2", VEC_UD, 0);
	check_eip_at_insn("ud_eip_is_faulting_insn");
	TRY("lock; nop");
	check_fault("ud_lock_prefix_on_nop", VEC_UD, 0);
	/* 0F 0B is UD2; 0F FF is UD0 (reserved, #UD). */
	TRY(".byte 0x0f, 0xff, 0xc0");
	check_fault("ud_ud0", VEC_UD, 0);
	/* LEA with a register operand is invalid. */
	TRY(".byte 0x8d, 0xc0");
	check_fault("ud_lea_register_operand", VEC_UD, 0);
	/* SALC (D6) is no #UD outside 64-bit mode: AL = CF ? 0xff : 0. */
	uint32_t al = 0x1234;
	TRY("stc; .byte 0xd6", : "+a"(al));
	check_no_fault("salc_runs_in_32bit_mode");
	check_eq("salc_cf1_sets_al", al, 0x12ff);
	TRY("clc; .byte 0xd6", : "+a"(al));
	check_eq("salc_cf0_clears_al", al, 0x1200);
	/* SYSCALL with EFER.SCE = 0 (and outside 64-bit mode on Intel). */
	TRY("syscall");
	check_fault("ud_syscall_sce_off", VEC_UD, 0);
}

/* INT3, INTO and BOUND come late: this host's kvm-pvm cannot run them, and
 * everything before still gets reported there. */
static void section_bp_of_br(void)
{
	section("bp_of_br");
	TRY("int3");
	check_fault("bp_int3", VEC_BP, 0);
	check_eip_after("bp_eip_is_next_insn");
	TRY("movl $0x7fffffff, %%eax; addl $1, %%eax; into", : : : "eax", "cc");
	check_fault("of_into_overflow", VEC_OF, 0);
	check_eip_after("of_eip_is_next_insn");
	TRY("xorl %%eax, %%eax; into", : : : "eax", "cc");
	check_no_fault("of_into_no_overflow");
	static const int32_t bounds[2] = { 10, 20 };
	TRY("boundl %0, %1", : : "r"(21), "m"(bounds));
	check_fault("br_bound_above", VEC_BR, 0);
	check_eip_at_insn("br_eip_is_faulting_insn");
	TRY("boundl %0, %1", : : "r"(9), "m"(bounds));
	check_fault("br_bound_below", VEC_BR, 0);
	TRY("boundl %0, %1", : : "r"(20), "m"(bounds));
	check_no_fault("br_bound_inside");
}

static void section_nm(void)
{
	section("nm");
	unsigned long cr0 = read_cr0();
	write_cr0((cr0 & ~0x4u) | 0x8u);	/* EM off, TS on */
	TRY("fninit");
	check_fault("nm_x87_with_ts", VEC_NM, 0);
	check_eip_at_insn("nm_eip_is_faulting_insn");
	write_cr0((cr0 & ~0x8u) | 0x4u);	/* EM on */
	TRY("fninit");
	check_fault("nm_x87_with_em", VEC_NM, 0);
	write_cr0(cr0 | 0x8u);
	__asm__ volatile("clts");
	check_eq("clts_clears_ts", read_cr0() & 0x8, 0);
	write_cr0(cr0 & ~0xcu);
	TRY("fninit");
	check_no_fault("nm_x87_ts_em_clear");
	write_cr0(cr0);
}

/* #MF (SDM vol. 1 8.7, vol. 3A 6.15 interrupt 16): with CR0.NE set, an
 * unmasked x87 exception sets FSW.ES and is reported as #MF by the next
 * waiting x87 instruction: a fault, no error code, EIP at that
 * instruction. The non-waiting FNSTSW/FNCLEX/FNSAVE do not report it, and
 * neither FRSTOR nor FXRSTOR of a status word with ES raises by itself.
 * CR0.NE = 0 (FERR#) is not checked: the CPU then waits for IGNNE# or an
 * external interrupt, which a virtual machine need not model alike. */
static void section_mf(void)
{
	static uint8_t fx[512] __attribute__((aligned(16)));
	static uint8_t env[108];
	static const uint16_t cw_ze = 0x037b;	/* default, ZM clear */
	static const double zero = 0.0;
	extern char mf_fwait[];
	uint16_t sw;
	section("mf");
	unsigned long cr0 = read_cr0();
	write_cr0((cr0 & ~0xcu) | 0x20u);	/* EM, TS off; NE on */
	TRY("fninit; fldcw %0; fld1; fdivl %1; fnstsw %%ax; mf_fwait: fwait; fnclex",
	    : : "m"(cw_ze), "m"(zero) : "eax");
	check_fault("mf_fwait_after_unmasked_zero_divide", VEC_MF, 0);
	check_eq("mf_eip_is_fwait", trap_last.eip, (uint32_t)(uintptr_t)mf_fwait);
	__asm__ volatile("fnstsw %0; fnclex" : "=m"(sw));
	check_eq("mf_status_ze_es", sw & 0x80bf, 0x8084);
	TRY("fwait; fnstsw %%ax", : : : "eax");
	check_no_fault("mf_none_after_fnclex");
	/* Park an ES status word with FNSAVE and FXSAVE, then load it back. */
	__asm__ volatile("fninit; fldcw %2; fld1; fdivl %3; fxsave %0; fnsave %1; fninit"
			 : "=m"(fx), "=m"(env) : "m"(cw_ze), "m"(zero) : "memory");
	TRY("frstor %0", : : "m"(env));
	check_no_fault("mf_frstor_es_no_fault");
	TRY("fwait");
	check_fault("mf_fwait_after_frstor", VEC_MF, 0);
	__asm__ volatile("fninit");
	TRY("fxrstor %0", : : "m"(fx));
	check_no_fault("mf_fxrstor_es_no_fault");
	TRY("fld1");
	check_fault("mf_fld1_after_fxrstor", VEC_MF, 0);
	check_eip_at_insn("mf_eip_is_fld1");
	__asm__ volatile("fninit");
	write_cr0(cr0);
}

/* A task switch to a 286 TSS (SDM vol. 3A 7.7, figure 7-11: link 0,
 * SP0/SS0..SP2/SS2 2-12, IP 14, FLAGS 16, AX CX DX BX SP BP SI DI 18-32,
 * ES CS SS DS 34-40, LDT 42; type 1 available, 3 busy). CALL to it saves
 * the caller in the 32-bit TSS, links back and sets NT; the task sets AX
 * and SI and IRETs (NT: back through the link), which saves it in the
 * 16-bit format: IP just past the IRET, FLAGS with NT clear, and marks
 * its TSS available again. IP is 16 bits, so the task's code segment is
 * based at the 64 KiB block holding its code. */
struct __attribute__((packed)) tss16 {
	uint16_t link, sp0, ss0, sp1, ss1, sp2, ss2, ip, flags;
	uint16_t ax, cx, dx, bx, sp, bp, si, di, es, cs, ss, ds, ldt;
};
static struct tss16 task16;
extern char task16_entry[], task16_after_iret[];
__asm__(".text\n"
	"task16_entry: movw $0x1234, %ax\n\t"
	"movw $0x5678, %si\n\t"
	"iret\n"
	"task16_after_iret: jmp task16_entry\n");

static void section_task16(void)
{
	uint32_t entry = (uint32_t)(uintptr_t)task16_entry, bx;
	section("task16");
	gdt_set(T_CODE_T, SEG_DESC(entry & ~0xffffu, 0xfffff, ACC_P | ACC_CODE | ACC_R | ACC_A, FL_D));
	gdt_set(T_TSS16, SEG_DESC((uint32_t)(uintptr_t)&task16, sizeof(task16) - 1, ACC_P | 0x1, 0));
	task16.ip = entry & 0xffff;
	task16.flags = 0x0002;
	task16.cs = T_CODE_T;
	task16.ss = task16.ds = task16.es = SEL_KDATA;
	task16.sp = 0xfff0;
	task16.ax = task16.si = 0;
	task16.link = 0;
	TRY("lcall %2, $0", : "=b"(bx) : "0"(0xcafef00du), "i"(T_TSS16) : "eax", "ecx", "edx", "esi", "edi", "memory");
	check_no_fault("task16_call_and_iret_back");
	check_eq("task16_back_restores_ebx", bx, 0xcafef00du);
	check_eq("task16_saved_ax", task16.ax, 0x1234);
	check_eq("task16_saved_si", task16.si, 0x5678);
	check_eq("task16_saved_ip_after_iret", task16.ip, (uint32_t)(uintptr_t)task16_after_iret & 0xffff);
	check_eq("task16_saved_flags_nt_clear", task16.flags & 0x4000, 0);
	check_eq("task16_back_link", task16.link, SEL_TSS);
	check_eq("task16_available_after_iret", (gdt[T_TSS16 / 8] >> 40) & 0xf, 1);
	check_eq("task16_cr0_ts_set", read_cr0() & 0x8, 0x8);
	__asm__ volatile("clts");
}

/* RF (SDM vol. 3A 17.3.1.1): a #DB handler that sets RF in the saved
 * EFLAGS and returns with IRET lets the breakpointed instruction run once
 * without a new #DB; RF is then cleared, so the next time it runs the
 * breakpoint fires again. The handler is bare (IRET), unlike the trap
 * library's return path, which does not restore RF. */
static volatile uint32_t db_rf_count, bp_fn_runs;
extern char db_rf_handler[], bp_fn[];
__asm__(".text\n"
	"db_rf_handler:\n\tincl db_rf_count\n"
	"\tcmpl $10, db_rf_count\n\tjb 1f\n"
	"\tmovl $0x400, %eax\n\tmovl %eax, %dr7\n"      /* a runaway: disarm */
	"1:\torl $0x10000, 8(%esp)\n\tiret\n"
	"bp_fn:\n\tincl bp_fn_runs\n\tret\n");

static void section_debug_rf(void)
{
	idt_set(VEC_DB, gate_desc(SEL_KCODE32, (uint32_t)(uintptr_t)db_rf_handler, SYS_INTGATE32, 0, 0));
	__asm__ volatile("mov %0, %%dr0" : : "r"(bp_fn));
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x401u));
	__asm__ volatile("call bp_fn" ::: "memory", "cc");
	check_eq("db_rf_breakpoint_fires_once", db_rf_count, 1);
	check_eq("db_rf_instruction_runs_after_iret", bp_fn_runs, 1);
	__asm__ volatile("call bp_fn" ::: "memory", "cc");
	check_eq("db_rf_cleared_breakpoint_fires_again", db_rf_count, 2);
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x400u));
	idt_set(VEC_DB, idt_default_gate(VEC_DB, 0));
	/* a fault pushes RF = 1; a trap (#BP) pushes it as it was, 0 */
	TRY("ud2");
	check_eq("fault_pushes_rf", trap_last.eflags & EFLAGS_RF, EFLAGS_RF);
	TRY("int3");
	check_eq("trap_pushes_rf_clear", trap_last.eflags & EFLAGS_RF, 0);
}

static void section_debug(void)
{
	static volatile uint32_t watched;
	uint32_t dr6;
	section("db");
	/* Instruction breakpoint: a fault, EIP at the instruction, DR6.B0. */
	extern char bp_target[];
	__asm__ volatile("mov %0, %%dr6" : : "r"(0u));
	__asm__ volatile("mov %0, %%dr0" : : "r"(bp_target));
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x401u));	/* L0, execute, length 1 */
	TRY("nop\nbp_target: nop\nnop");
	__asm__ volatile("mov %0, %%dr7; mov %%dr6, %1" : "=r"(dr6) : "0"(0x400u));
	check_eq("db_exec_breakpoint", trap_last.vector, VEC_DB);
	check_eq("db_exec_breakpoint_eip", trap_last.eip, (uint32_t)(uintptr_t)bp_target);
	check_eq("db_exec_breakpoint_dr6_b0", dr6 & 0xf, 1);
	check_eq("db_exec_breakpoint_rf_in_frame", trap_last.eflags & EFLAGS_RF, 0);
	/* Data write breakpoint: a trap after the write, DR6.B1. */
	__asm__ volatile("mov %0, %%dr6" : : "r"(0u));
	__asm__ volatile("mov %0, %%dr1" : : "r"(&watched));
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x00d00404u));	/* L1, R/W1=01 write, LEN1=11 4 bytes */
	static volatile uint32_t after_write;
	TRY("movl $5f, %1; movl $5, %0\n5: nop", : "=m"(watched), "=m"(after_write));
	__asm__ volatile("mov %0, %%dr7; mov %%dr6, %1" : "=r"(dr6) : "0"(0x400u));
	check_eq("db_write_watchpoint", trap_last.vector, VEC_DB);
	check_eq("db_write_watchpoint_dr6_b1", dr6 & 0xf, 2);
	check_eq("db_write_watchpoint_value_written", watched, 5);
	check_eq("db_write_watchpoint_eip_after_write", trap_last.eip, after_write);
	/* A read does not trigger a write-only watchpoint. */
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x00d00404u));
	uint32_t v;
	TRY("movl %1, %0", : "=r"(v) : "m"(watched));
	__asm__ volatile("mov %0, %%dr7" : : "r"(0x400u));
	check_no_fault("db_write_watchpoint_ignores_read");
	/* Single step through a plain instruction. */
	__asm__ volatile("mov %0, %%dr6" : : "r"(0u));
	static volatile uint32_t after_nop;
	TRY("movl $5f, %0; pushfl; orl $0x100, (%%esp); popfl; nop\n5: nop", : "=m"(after_nop) : : "cc");
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	check_eq("db_single_step", trap_last.vector, VEC_DB);
	check_eq("db_single_step_dr6_bs", (dr6 >> 14) & 1, 1);
	/* TF set by POPF: the trap follows the instruction after POPF. */
	check_eq("db_single_step_eip_after_first_insn", trap_last.eip, after_nop);
	section_debug_rf();
}

static void section_segment_faults(void)
{
	section("gp_np_ss_ts_df");
	gdt_set(T_RO0, SEG_DESC(0, 0xfffff, ACC_P | ACC_DATA | ACC_A, FL_G | FL_D));
	gdt_set(T_LIM0, SEG_DESC(0, 0xfff, ACC_P | ACC_DATA | ACC_W | ACC_A, FL_D));
	gdt_set(T_SS3_LIM, SEG_DESC(0, 0xfff, ACC_P | ACC_DPL(3) | ACC_DATA | ACC_W | ACC_A, FL_D));
	static volatile uint32_t target;
	TRY("movw %w0, %%fs; movl $1, %%fs:(%1)", : : "r"(T_RO0), "r"(&target) : "memory");
	check_fault("gp_write_readonly_segment", VEC_GP, 0);
	TRY("movw %w0, %%fs; movl %%fs:(%1), %%eax", : : "r"(T_LIM0), "r"(0x1000) : "eax");
	check_fault("gp_read_beyond_limit", VEC_GP, 0);
	TRY("movw %w0, %%fs; movl %%fs:(%1), %%eax", : : "r"(T_LIM0), "r"(0xffc) : "eax");
	check_no_fault("read_at_limit_ok");
	TRY("movw %w0, %%fs; movl %%fs:(%1), %%eax", : : "r"(T_LIM0), "r"(0xffd) : "eax");
	check_fault("gp_read_straddling_limit", VEC_GP, 0);
	__asm__ volatile("movw %w0, %%fs" : : "r"(SEL_KDATA));
	TRY("movl %%cr1, %%eax", : : : "eax");
	check_fault("ud_mov_cr1", VEC_UD, 0);
	/* #NP: INT n through a gate whose P bit is 0; error = IDT index, IDT bit. */
	idt_set(0x50, idt_default_gate(0x50, 0) & ~(1ull << 47));
	TRY("int $0x50");
	check_fault("np_not_present_gate", VEC_NP, 0x50 * 8 + 2);
	check_eip_at_insn("np_eip_is_faulting_insn");
	/* #DF: delivering #GP meets a not-present #GP gate (#NP), two
	 * contributory exceptions in a row (SDM vol. 3A table 6-5). */
	uint64_t gp_gate = idt[VEC_GP];
	idt_set(VEC_GP, gp_gate & ~(1ull << 47));
	TRY("movw %w0, %%ss", : : "r"(0));
	idt_set(VEC_GP, gp_gate);
	check_fault("df_gp_then_np", VEC_DF, 0);
	/* #TS: IRET with NT set returns to the task in the TSS back link;
	 * a link beyond the GDT limit is #TS(link). */
	tss_block.tss.link = 0x200;
	TRY("pushfl; orl $0x4000, (%%esp); popfl; iret", : : : "cc");
	__asm__ volatile("pushfl; andl $~0x4000, (%%esp); popfl" ::: "cc");
	tss_block.tss.link = 0;
	check_fault("ts_iret_nt_bad_link", VEC_TS, 0x200);
}

/* #SS from ring 3 so the handler gets a good stack from the TSS. */
static volatile uint32_t ss_vec, ss_err, ss_saved_esp;
static void stack_fault_cpl3(void)
{
	TRY("movl %%esp, %0; movw %w1, %%ss; movl $0x2000, %%esp; pushl $0",
	    : "=m"(ss_saved_esp) : "r"(T_SS3_LIM | 3) : "memory");
	__asm__ volatile("movw %w0, %%ss; movl %1, %%esp" : : "r"(SEL_UDATA | 3), "m"(ss_saved_esp));
	ss_vec = trap_last.vector;
	ss_err = trap_last.error;
}

static volatile uint32_t ac_vec, ac_err, user_fault_vec, user_fault_cs, user_fault_ss, user_fault_esp, user_esp;
static void align_check_cpl3(void)
{
	static uint32_t buf[2];
	TRY("pushfl; orl $0x40000, (%%esp); popfl; movl 1(%0), %%eax", : : "r"(buf) : "eax", "cc");
	ac_vec = trap_last.vector;
	ac_err = trap_last.error;
	__asm__ volatile("pushfl; andl $~0x40000, (%%esp); popfl" ::: "cc");
	TRY("movl %%esp, %0; ud2", : "=m"(user_esp));
	user_fault_vec = trap_last.vector;
	user_fault_cs = trap_last.cs;
	user_fault_ss = trap_last.ss;
	user_fault_esp = trap_last.esp;
}

static void section_user_faults(void)
{
	section("ss_ac_user_frames");
	ring_run(3, stack_fault_cpl3);
	check_eq("ss_stack_beyond_limit", ss_vec, VEC_SS);
	check_eq("ss_stack_beyond_limit_err", ss_err, 0);
	write_cr0(read_cr0() | (1u << 18));	/* CR0.AM */
	ring_run(3, align_check_cpl3);
	check_eq("ac_unaligned_cpl3", ac_vec, VEC_AC);
	check_eq("ac_unaligned_cpl3_err", ac_err, 0);
	/* Alignment checks apply at CPL 3 only. */
	static uint32_t buf[2];
	TRY("pushfl; orl $0x40000, (%%esp); popfl; movl 1(%0), %%eax; pushfl; andl $~0x40000, (%%esp); popfl",
	    : : "r"(buf) : "eax", "cc");
	check_no_fault("ac_unaligned_cpl0_ignored");
	write_cr0(read_cr0() & ~(1u << 18));
	check_eq("user_fault_vector", user_fault_vec, VEC_UD);
	check_eq("user_fault_pushed_cs", user_fault_cs, SEL_UCODE32 | 3);
	check_eq("user_fault_pushed_ss", user_fault_ss, SEL_UDATA | 3);
	check_eq("user_fault_pushed_esp", user_fault_esp, user_esp);
}

static uint32_t pd4m[1024] __attribute__((aligned(4096)));

/* Last, because an engine that wrongly accepts these writes may leave the
 * guest in a state where little else works. CR3 points at an identity map
 * beforehand so even a wrongly enabled paging keeps the guest running. */
static void section_control_registers(void)
{
	section("control_register_faults");
	for (unsigned i = 0; i < 1024; i++)
		pd4m[i] = (i << 22) | 0x87;	/* 4 MiB pages: P, RW, US, PS */
	write_cr4(read_cr4() | 0x10);	/* PSE */
	write_cr3((uint32_t)(uintptr_t)pd4m);
	unsigned long cr0 = read_cr0(), cr4 = read_cr4();
	/* CR0.NW without CD: #GP(0). CR0.PG without PE and reserved CR4 bits
	 * are left out: QEMU TCG accepts the first (and drops to real mode)
	 * and spins on the second (guests/README.md). */
	TRY("movl %0, %%cr0", : : "r"(((uint32_t)read_cr0() | 0x20000000u) & ~0x40000000u));
	check_fault("gp_cr0_nw_without_cd", VEC_GP, 0);

	write_cr0(cr0);
	write_cr4(cr4);
}

void guest_main(void)
{
	conf_init();
	section_arith();
	section_nm();
	section_mf();
	section_task16();
	section_debug();
	section_segment_faults();
	section_user_faults();
	section_bp_of_br();
	section_control_registers();
}
