/* The sensitive-but-unprivileged instructions (Robin & Irvine) and the
 * protection checks around segments, gates and privilege changes, in
 * legacy 32-bit protected mode. Expected values: Intel SDM vol. 2 (the
 * instructions' pseudocode) and vol. 3A chapters 3, 5 and 6. */
#include "conf.h"

/* Test descriptors in the GDT's free slots. */
#define T_DATA3    0x98	/* data, DPL 3, writable, 4 GiB */
#define T_DATA0B   0xa0	/* data, DPL 0, writable, byte-granular limit 0x1234 */
#define T_CONF0    0xa8	/* code, conforming, readable, DPL 0 */
#define T_XONLY3   0xb0	/* code, execute-only, DPL 3 */
#define T_NP3      0xb8	/* data, DPL 3, not present */
#define T_RO3      0xc0	/* data, DPL 3, read-only */
#define T_GATE3_R0 0xc8	/* call gate, DPL 3, to ring-0 code */
#define T_GATE0    0xd0	/* call gate, DPL 0, to ring-0 code */
#define T_GATE3_R1 0xd8	/* call gate, DPL 3, to ring-1 code */
#define T_GATE3_P2 0xe0	/* call gate, DPL 3, two parameters, to ring 0 */
#define T_LDT      0xe8	/* an LDT */
#define T_INTG     0xf0	/* an interrupt gate, which has no place in the GDT */
#define T_CODE0    0xf8	/* code, non-conforming, DPL 0 */
#define T_NP0      0x100	/* data, DPL 0, writable, not present */
#define T_BASED    0x108	/* data, DPL 0, writable, base moved after the load */

static uint64_t ldt[2] __attribute__((aligned(8)));

/* ---- gate targets (assembly: they run with the caller's DS) ---- */
volatile uint32_t g_cs, g_ss, g_ret_eip, g_ret_cs, g_user_esp, g_user_ss, g_p1, g_p2, g_conf_cs;
extern char gate_r0[], gate_r0_p2[], gate_r1[], conf_target[];
__asm__(".text\n"
	"gate_r0:\n"
	"	movw %cs, g_cs\n	movw %ss, g_ss\n"
	"	movl (%esp), %eax\n	movl %eax, g_ret_eip\n"
	"	movl 4(%esp), %eax\n	movl %eax, g_ret_cs\n"
	"	movl 8(%esp), %eax\n	movl %eax, g_user_esp\n"
	"	movl 12(%esp), %eax\n	movl %eax, g_user_ss\n"
	"	lret\n"
	"gate_r0_p2:\n"
	"	movw %cs, g_cs\n"
	/* The parameters are copied so the new stack mirrors the old: the
	 * last one pushed is nearest the return address. */
	"	movl 8(%esp), %eax\n	movl %eax, g_p2\n"
	"	movl 12(%esp), %eax\n	movl %eax, g_p1\n"
	"	movl 16(%esp), %eax\n	movl %eax, g_user_esp\n"
	"	lret $8\n"
	"gate_r1:\n"
	"	movw %cs, g_cs\n	movw %ss, g_ss\n"
	"	movl 4(%esp), %eax\n	movl %eax, g_ret_cs\n"
	"	lret\n"
	"conf_target:\n"
	"	movw %cs, g_conf_cs\n"
	"	lret\n");

static void setup_descriptors(void)
{
	gdt_set(T_DATA3, SEG_DESC(0, 0xfffff, ACC_P | ACC_DPL(3) | ACC_DATA | ACC_W | ACC_A, FL_G | FL_D));
	gdt_set(T_DATA0B, SEG_DESC(0, 0x1234, ACC_P | ACC_DATA | ACC_W | ACC_A, FL_D));
	gdt_set(T_CONF0, SEG_DESC(0, 0xfffff, ACC_P | ACC_CODE | ACC_C | ACC_R | ACC_A, FL_G | FL_D));
	gdt_set(T_XONLY3, SEG_DESC(0, 0xfffff, ACC_P | ACC_DPL(3) | ACC_CODE | ACC_A, FL_G | FL_D));
	gdt_set(T_NP3, SEG_DESC(0, 0xfffff, ACC_DPL(3) | ACC_DATA | ACC_W | ACC_A, FL_G | FL_D));
	gdt_set(T_RO3, SEG_DESC(0, 0xfffff, ACC_P | ACC_DPL(3) | ACC_DATA | ACC_A, FL_G | FL_D));
	gdt_set(T_GATE3_R0, gate_desc(SEL_KCODE32, (uint32_t)(uintptr_t)gate_r0, SYS_CALLGATE32, 3, 0));
	gdt_set(T_GATE0, gate_desc(SEL_KCODE32, (uint32_t)(uintptr_t)gate_r0, SYS_CALLGATE32, 0, 0));
	gdt_set(T_GATE3_R1, gate_desc(SEL_R1CODE32, (uint32_t)(uintptr_t)gate_r1, SYS_CALLGATE32, 3, 0));
	gdt_set(T_GATE3_P2, gate_desc(SEL_KCODE32, (uint32_t)(uintptr_t)gate_r0_p2, SYS_CALLGATE32, 3, 2));
	gdt_set(T_LDT, SEG_DESC((uint32_t)(uintptr_t)ldt, sizeof(ldt) - 1, ACC_P | SYS_LDT, 0));
	gdt_set(T_INTG, gate_desc(SEL_KCODE32, 0, SYS_INTGATE32, 0, 0));
	gdt_set(T_CODE0, SEG_DESC(0, 0xfffff, ACC_P | ACC_CODE | ACC_R | ACC_A, FL_G | FL_D));
	gdt_set(T_NP0, SEG_DESC(0, 0xfffff, ACC_DATA | ACC_W | ACC_A, FL_G | FL_D));
	ldt[1] = SEG_DESC(0, 0xfffff, ACC_P | ACC_DPL(3) | ACC_DATA | ACC_W | ACC_A, FL_G | FL_D);
}

/* ---- SGDT, SIDT, SLDT, STR, SMSW ---- */
struct store_results {
	struct dtr32 gdtr, idtr;
	uint16_t ldtr, tr, msw;
	uint32_t cs;
};
static struct store_results sr;

static void store_all(void)
{
	__asm__ volatile("sgdt %0" : "=m"(sr.gdtr));
	__asm__ volatile("sidt %0" : "=m"(sr.idtr));
	__asm__ volatile("sldt %0" : "=m"(sr.ldtr));
	__asm__ volatile("str %0" : "=m"(sr.tr));
	__asm__ volatile("smsw %0" : "=m"(sr.msw));
	sr.cs = read_cs();
}

static void check_stores(const char *where, unsigned cpl)
{
	struct dtr32 idtr;
	__asm__ volatile("sidt %0" : "=m"(idtr));
	memset(&sr, 0x55, sizeof(sr));
	ring_run(cpl, store_all);
	check_eq(nm("sgdt_%s_limit", where), sr.gdtr.limit, sizeof(gdt) - 1);
	check_eq(nm("sgdt_%s_base", where), sr.gdtr.base, (uint32_t)(uintptr_t)gdt);
	check_eq(nm("sidt_%s_limit", where), sr.idtr.limit, 0x7ff);
	check_eq(nm("sidt_%s_base", where), sr.idtr.base, (uint32_t)(uintptr_t)idt);
	check_eq(nm("sldt_%s", where), sr.ldtr, T_LDT);
	check_eq(nm("str_%s", where), sr.tr, SEL_TSS);
	check_eq(nm("smsw_%s", where), sr.msw, read_cr0() & 0xffff);
	check_eq(nm("cpl_%s", where), sr.cs & 3, cpl);
}

static volatile uint32_t umip_vec[5], umip_err[5];
static void umip_stores(void)
{
	static struct dtr32 d;
	static uint16_t s;
	TRY("sgdt %0", : "=m"(d));
	umip_vec[0] = trap_last.vector; umip_err[0] = trap_last.error;
	TRY("sidt %0", : "=m"(d));
	umip_vec[1] = trap_last.vector; umip_err[1] = trap_last.error;
	TRY("sldt %0", : "=m"(s));
	umip_vec[2] = trap_last.vector; umip_err[2] = trap_last.error;
	TRY("str %0", : "=m"(s));
	umip_vec[3] = trap_last.vector; umip_err[3] = trap_last.error;
	TRY("smsw %0", : "=m"(s));
	umip_vec[4] = trap_last.vector; umip_err[4] = trap_last.error;
}

static void section_stores(void)
{
	static const char *const insn[5] = { "sgdt", "sidt", "sldt", "str", "smsw" };
	uint32_t r[4];
	section("stores");
	__asm__ volatile("lldt %w0" : : "r"(T_LDT));
	check_stores("cpl0", 0);
	check_stores("cpl1", 1);
	check_stores("cpl3", 3);
	/* CR4.UMIP (bit 11) makes them #GP(0) at CPL > 0 (SDM vol. 3A 2.5). */
	cpuid(0, 0, r);
	uint32_t umip = 0;
	if (r[0] >= 7) {
		cpuid(7, 0, r);
		umip = r[2] & (1u << 2);
	}
	if (!umip) {
		for (int i = 0; i < 5; i++)
			report_skip(nm("umip_%s_cpl3", insn[i]), "CPUID.7:ECX.UMIP[bit 2] is 0 on this CPU");
		return;
	}
	write_cr4(read_cr4() | (1u << 11));
	ring_run(3, umip_stores);
	for (int i = 0; i < 5; i++) {
		trap_last.vector = umip_vec[i];
		trap_last.error = umip_err[i];
		check_fault(nm("umip_%s_cpl3", insn[i]), VEC_GP, 0);
	}
	store_all();
	check_eq("umip_sgdt_cpl0_works", sr.gdtr.base, (uint32_t)(uintptr_t)gdt);
	write_cr4(read_cr4() & ~(1u << 11));
}

/* ---- PUSHF / POPF ---- */
static volatile uint32_t pf_before, pf_after, pf_vec;
static volatile uint32_t pf_request;

static void popf_probe(void)
{
	uint32_t b, a;
	__asm__ volatile("pushfl; popl %0" : "=r"(b));
	pf_before = b;
	TRY("pushl %1; popfl; pushfl; popl %0", : "=r"(a) : "r"(pf_request) : "cc");
	pf_vec = trap_last.vector;
	pf_after = a;
	/* Leave with interrupts off whatever the probe did. */
	if (a & EFLAGS_IF)
		__asm__ volatile("pushl %0; popfl" : : "r"(a & ~EFLAGS_IF) : "cc");
}

/* Runs POPF of REQUEST at CPL with IOPL set to IOPL beforehand. */
static void popf_at(unsigned cpl, unsigned iopl, uint32_t request)
{
	set_iopl(iopl);
	pf_request = request;
	ring_run(cpl, popf_probe);
	set_iopl(0);
	__asm__ volatile("cli");
}

static void section_pushf_popf(void)
{
	section("pushf_popf");
	uint32_t f;
	__asm__ volatile("cli; pushfl; popl %0" : "=r"(f));
	check_eq("pushf_cpl0_if_clear", f & EFLAGS_IF, 0);
	check_eq("pushf_cpl0_bit1_set", f & 2, 2);
	__asm__ volatile("sti; pushfl; popl %0; cli" : "=r"(f));
	check_eq("pushf_cpl0_if_set", f & EFLAGS_IF, EFLAGS_IF);

	popf_at(0, 0, 2 | EFLAGS_IOPL);
	check_eq("popf_cpl0_sets_iopl", pf_after & EFLAGS_IOPL, EFLAGS_IOPL);
	popf_at(0, 0, 2 | EFLAGS_IF);
	check_eq("popf_cpl0_sets_if", pf_after & EFLAGS_IF, EFLAGS_IF);
	popf_at(0, 0, 2 | (1u << 17));
	check_eq("popf_cpl0_vm_unchanged", pf_after & (1u << 17), 0);

	/* CPL 3, IOPL 0: IF and IOPL silently stay, other flags change. */
	popf_at(3, 0, 2 | EFLAGS_IF | EFLAGS_IOPL | EFLAGS_CF);
	check_eq("pushf_cpl3_iopl0", pf_before & EFLAGS_IOPL, 0);
	check_eq("pushf_cpl3_bit1_set", pf_before & 2, 2);
	check_eq("popf_cpl3_iopl0_no_fault", pf_vec, TRAP_NONE);
	check_eq("popf_cpl3_iopl0_if_unchanged", pf_after & EFLAGS_IF, 0);
	check_eq("popf_cpl3_iopl0_iopl_unchanged", pf_after & EFLAGS_IOPL, 0);
	check_eq("popf_cpl3_iopl0_cf_changed", pf_after & EFLAGS_CF, EFLAGS_CF);
	/* CPL 3, IOPL 3: IF changes, IOPL still only at CPL 0. */
	popf_at(3, 3, 2 | EFLAGS_IF);
	check_eq("pushf_cpl3_iopl3", pf_before & EFLAGS_IOPL, EFLAGS_IOPL);
	check_eq("popf_cpl3_iopl3_if_changes", pf_after & EFLAGS_IF, EFLAGS_IF);
	check_eq("popf_cpl3_iopl3_iopl_unchanged", pf_after & EFLAGS_IOPL, EFLAGS_IOPL);
	/* CPL 1: IF changes when CPL <= IOPL only. */
	popf_at(1, 1, 2 | EFLAGS_IF);
	check_eq("popf_cpl1_iopl1_if_changes", pf_after & EFLAGS_IF, EFLAGS_IF);
	check_eq("popf_cpl1_iopl1_iopl_unchanged", pf_after & EFLAGS_IOPL, 0x1000);
	popf_at(1, 0, 2 | EFLAGS_IF);
	check_eq("popf_cpl1_iopl0_if_unchanged", pf_after & EFLAGS_IF, 0);
	check_eq("popf_cpl1_iopl0_no_fault", pf_vec, TRAP_NONE);
}

/* ---- LAR, LSL, VERR, VERW ---- */
struct sel_probe {
	uint32_t lar_zf, lar, lsl_zf, lsl, verr_zf, verw_zf;
};
static struct sel_probe probes[16];
static uint16_t probe_sel[16];
static unsigned probe_n;

static void probe_all(void)
{
	for (unsigned i = 0; i < probe_n; i++) {
		uint32_t v = 0xdeadbeef, l = 0xdeadbeef;
		uint8_t z1, z2, z3, z4;
		__asm__ volatile("lar %2, %0; setz %1" : "+r"(v), "=q"(z1) : "r"((uint32_t)probe_sel[i]) : "cc");
		__asm__ volatile("lsl %2, %0; setz %1" : "+r"(l), "=q"(z2) : "r"((uint32_t)probe_sel[i]) : "cc");
		__asm__ volatile("verr %w1; setz %0" : "=q"(z3) : "r"(probe_sel[i]) : "cc");
		__asm__ volatile("verw %w1; setz %0" : "=q"(z4) : "r"(probe_sel[i]) : "cc");
		probes[i] = (struct sel_probe){ z1, v, z2, l, z3, z4 };
	}
}

struct sel_expect {
	const char *name;
	uint16_t sel;
	uint8_t lar, lsl, verr, verw;
	uint32_t limit;
};

static void run_probes(const char *where, unsigned cpl, const struct sel_expect *e, unsigned n)
{
	probe_n = n;
	for (unsigned i = 0; i < n; i++)
		probe_sel[i] = e[i].sel;
	ring_run(cpl, probe_all);
	for (unsigned i = 0; i < n; i++) {
		const struct sel_probe *p = &probes[i];
		check_eq(nm("lar_%s_%s_zf", where, e[i].name), p->lar_zf, e[i].lar);
		if (e[i].lar)
			/* Access rights: descriptor bits 63:32 masked by 00FxFF00H. */
			check_eq(nm("lar_%s_%s_rights", where, e[i].name), p->lar & 0x00f0ff00,
				 (uint32_t)(((e[i].sel & 4) ? ldt[e[i].sel >> 3] : gdt[e[i].sel >> 3]) >> 32) & 0x00f0ff00);
		else
			check_eq(nm("lar_%s_%s_dest_kept", where, e[i].name), p->lar, 0xdeadbeef);
		check_eq(nm("lsl_%s_%s_zf", where, e[i].name), p->lsl_zf, e[i].lsl);
		if (e[i].lsl)
			check_eq(nm("lsl_%s_%s_limit", where, e[i].name), p->lsl, e[i].limit);
		check_eq(nm("verr_%s_%s_zf", where, e[i].name), p->verr_zf, e[i].verr);
		check_eq(nm("verw_%s_%s_zf", where, e[i].name), p->verw_zf, e[i].verw);
	}
}

static void section_lar_lsl(void)
{
	section("lar_lsl_verr_verw");
	const uint32_t tss_limit = sizeof(tss_block) - 1;
	const struct sel_expect cpl0[] = {
		{ "null", 0, 0, 0, 0, 0, 0 },
		{ "beyond_gdt", 0x200, 0, 0, 0, 0, 0 },
		{ "data_dpl3", T_DATA3, 1, 1, 1, 1, 0xffffffff },
		{ "data_dpl0_bytelimit", T_DATA0B, 1, 1, 1, 1, 0x1234 },
		{ "data_dpl0_rpl3", T_DATA0B | 3, 0, 0, 0, 0, 0 },
		{ "conforming_code", T_CONF0, 1, 1, 1, 0, 0xffffffff },
		{ "exec_only_code", T_XONLY3, 1, 1, 0, 0, 0xffffffff },
		{ "readonly_data", T_RO3, 1, 1, 1, 0, 0xffffffff },
		{ "busy_tss", SEL_TSS, 1, 1, 0, 0, tss_limit },
		{ "ldt", T_LDT, 1, 1, 0, 0, sizeof(ldt) - 1 },
		{ "call_gate", T_GATE3_R0, 1, 0, 0, 0, 0 },
		{ "interrupt_gate", T_INTG, 0, 0, 0, 0, 0 },
		{ "kernel_code", SEL_KCODE32, 1, 1, 1, 0, 0xffffffff },
		{ "ldt_data", 0x0c, 1, 1, 1, 1, 0xffffffff },
	};
	const struct sel_expect cpl3[] = {
		{ "null", 3, 0, 0, 0, 0, 0 },
		{ "data_dpl3", T_DATA3 | 3, 1, 1, 1, 1, 0xffffffff },
		{ "data_dpl0", T_DATA0B | 3, 0, 0, 0, 0, 0 },
		{ "conforming_code_dpl0", T_CONF0 | 3, 1, 1, 1, 0, 0xffffffff },
		{ "exec_only_code", T_XONLY3 | 3, 1, 1, 0, 0, 0xffffffff },
		{ "readonly_data", T_RO3 | 3, 1, 1, 1, 0, 0xffffffff },
		{ "tss_dpl0", SEL_TSS | 3, 0, 0, 0, 0, 0 },
		{ "call_gate_dpl3", T_GATE3_R0 | 3, 1, 0, 0, 0, 0 },
		{ "call_gate_dpl0", T_GATE0 | 3, 0, 0, 0, 0, 0 },
		{ "kernel_code", SEL_KCODE32 | 3, 0, 0, 0, 0, 0 },
		{ "user_code", SEL_UCODE32 | 3, 1, 1, 1, 0, 0xffffffff },
		{ "ldt_data_dpl3", 0x0f, 1, 1, 1, 1, 0xffffffff },
	};
	run_probes("cpl0", 0, cpl0, sizeof(cpl0) / sizeof(cpl0[0]));
	run_probes("cpl3", 3, cpl3, sizeof(cpl3) / sizeof(cpl3[0]));
}

/* ---- segment register loads ---- */
static volatile uint32_t seg_val[8];

static void segs_cpl3(void)
{
	uint32_t v;
	TRY("movw %w0, %%ds", : : "r"(T_DATA0B | 3));
	seg_val[0] = trap_last.vector; seg_val[1] = trap_last.error;
	__asm__ volatile("pushl %%cs; popl %0" : "=r"(v));
	seg_val[2] = v;
	__asm__ volatile("movw %%ss, %w0" : "=r"(v));
	seg_val[3] = v & 0xffff;
	/* A null selector may go into DS at any CPL; using it would fault. */
	v = 0x55;
	TRY("pushl %%ds; movw %w1, %%ds; movw %%ds, %w0; popl %%ds", : "+r"(v) : "r"(0));
	seg_val[4] = trap_last.vector; seg_val[5] = v & 0xffff;
	/* The faulting POP leaves its operand on the stack: put ESP back. */
	static volatile uint32_t esp_before;
	TRY("movl %%esp, %0; pushl %1; popl %%es", : "=m"(esp_before) : "i"(SEL_KDATA));
	__asm__ volatile("movl %0, %%esp" : : "m"(esp_before));
	seg_val[6] = trap_last.vector; seg_val[7] = trap_last.error;
	__asm__ volatile("movw %w0, %%es" : : "r"(SEL_UDATA | 3));
}

static void section_segments(void)
{
	uint32_t v;
	section("segments");
	__asm__ volatile("pushl %%ds; popl %0" : "=r"(v));
	check_eq("push_ds_cpl0", v & 0xffff, SEL_KDATA);
	__asm__ volatile("pushl %1; popl %%es; movw %%es, %w0; pushl %%ds; popl %%es" : "=r"(v) : "i"(T_DATA3 | 3));
	check_eq("pop_es_dpl3_at_cpl0", v & 0xffff, T_DATA3 | 3);
	TRY("movw %w0, %%fs", : : "r"(0));
	check_no_fault("mov_fs_null_cpl0");
	TRY("movw %w0, %%ss", : : "r"(0));
	check_fault("mov_ss_null_cpl0", VEC_GP, 0);
	TRY("movw %w0, %%ss", : : "r"(T_DATA3));
	check_fault("mov_ss_dpl3_at_cpl0", VEC_GP, T_DATA3);
	TRY("movw %w0, %%ss", : : "r"(T_NP0));
	check_fault("mov_ss_not_present", VEC_SS, T_NP0);
	TRY("movw %w0, %%fs", : : "r"(T_NP3));
	check_fault("mov_fs_not_present", VEC_NP, T_NP3);
	TRY("movw %w0, %%fs", : : "r"(T_XONLY3));
	check_fault("mov_fs_exec_only_code", VEC_GP, T_XONLY3);
	TRY("movw %w0, %%fs", : : "r"(SEL_KCODE32));
	check_no_fault("mov_fs_readable_code");
	TRY("movw %w0, %%fs", : : "r"(SEL_TSS));
	check_fault("mov_fs_tss", VEC_GP, SEL_TSS);
	TRY("movw %w0, %%fs", : : "r"(0x200));
	check_fault("mov_fs_beyond_gdt", VEC_GP, 0x200);
	TRY("movw %w0, %%ss", : : "r"(T_RO3 & ~3));
	check_fault("mov_ss_readonly", VEC_GP, T_RO3);
	TRY("movw %w0, %%fs", : : "r"(T_DATA0B | 3));
	check_fault("mov_fs_rpl_above_dpl", VEC_GP, T_DATA0B);
	/* MOV to CS is not an instruction (SDM vol. 2B MOV: #UD). */
	TRY(".byte 0x8e, 0xc8");
	check_fault("mov_cs_ud", VEC_UD, 0);
	__asm__ volatile("movw %w0, %%fs; movw %w0, %%gs" : : "r"(SEL_KDATA));

	/* The hidden cache: a segment keeps the descriptor it was loaded with
	 * when the GDT entry changes afterwards (SDM vol. 3A 3.4.3). */
	static volatile uint32_t cell[2] = { 0x1111, 0x2222 };
	gdt_set(T_BASED, SEG_DESC((uint32_t)(uintptr_t)&cell[0], 0xfff, ACC_P | ACC_DATA | ACC_W | ACC_A, FL_D));
	__asm__ volatile("movw %w0, %%fs" : : "r"(T_BASED));
	gdt_set(T_BASED, SEG_DESC((uint32_t)(uintptr_t)&cell[1], 0xfff, ACC_P | ACC_DATA | ACC_W | ACC_A, FL_D));
	__asm__ volatile("movl %%fs:0, %0" : "=r"(v));
	check_eq("descriptor_change_after_load_keeps_cache", v, 0x1111);
	__asm__ volatile("movw %w1, %%fs; movl %%fs:0, %0" : "=r"(v) : "r"(T_BASED));
	check_eq("descriptor_change_seen_after_reload", v, 0x2222);
	__asm__ volatile("movw %w0, %%fs" : : "r"(SEL_KDATA));

	ring_run(3, segs_cpl3);
	trap_last.vector = seg_val[0]; trap_last.error = seg_val[1];
	check_fault("mov_ds_dpl0_at_cpl3", VEC_GP, T_DATA0B);
	check_eq("push_cs_cpl3", seg_val[2], SEL_UCODE32 | 3);
	check_eq("mov_from_ss_cpl3", seg_val[3], SEL_UDATA | 3);
	check_eq("mov_ds_null_cpl3_no_fault", seg_val[4], TRAP_NONE);
	check_eq("mov_ds_null_cpl3_value", seg_val[5], 0);
	trap_last.vector = seg_val[6]; trap_last.error = seg_val[7];
	check_fault("pop_es_dpl0_at_cpl3", VEC_GP, SEL_KDATA);
}

/* ---- the interrupt shadow of MOV SS / POP SS against single-step ---- */
static void section_shadow(void)
{
	static volatile uint32_t after_first, after_second;
	section("mov_ss_shadow");
	__asm__ volatile("mov %0, %%dr6" : : "r"(0u));
	/* TF set by POPF traps after the next instruction ... */
	TRY("movl $5f, %0; movl $6f, %1; movw %%ss, %%ax; pushfl; orl $0x100, (%%esp); popfl\n"
	    "movw %%ax, %%ds\n5: nop\n6: nop", : "=m"(after_first), "=m"(after_second) : : "eax", "cc");
	check_eq("single_step_vector", trap_last.vector, VEC_DB);
	check_eq("single_step_after_mov_ds", trap_last.eip, after_first);
	uint32_t dr6;
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	check_eq("single_step_dr6_bs", dr6 & (1u << 14), 1u << 14);
	/* ... but not after MOV SS, whose shadow delays it one instruction. */
	TRY("movl $5f, %0; movl $6f, %1; movw %%ss, %%ax; pushfl; orl $0x100, (%%esp); popfl\n"
	    "movw %%ax, %%ss\n5: nop\n6: nop", : "=m"(after_first), "=m"(after_second) : : "eax", "cc");
	check_eq("mov_ss_shadow_vector", trap_last.vector, VEC_DB);
	check_eq("mov_ss_shadow_delays_step", trap_last.eip, after_second);
	TRY("movl $5f, %0; movl $6f, %1; pushl %%ss; pushfl; orl $0x100, (%%esp); popfl\n"
	    "popl %%ss\n5: nop\n6: nop", : "=m"(after_first), "=m"(after_second) : : "cc");
	check_eq("pop_ss_shadow_vector", trap_last.vector, VEC_DB);
	check_eq("pop_ss_shadow_delays_step", trap_last.eip, after_second);
	__asm__ volatile("movw %w0, %%ds" : : "r"(SEL_KDATA));
}

/* ---- far calls through call gates, conforming code, privilege changes ---- */
static volatile uint32_t call_cs_after, call_vec[4], call_err[4];
static void calls_cpl3(void)
{
	__asm__ volatile("lcall %0, $0" : : "i"(T_GATE3_R0 | 3) : "eax", "memory");
	call_cs_after = read_cs();
	__asm__ volatile("pushl $0x1111; pushl $0x2222; lcall %0, $0; " : : "i"(T_GATE3_P2 | 3) : "eax", "memory");
	TRY("lcall %0, $0", : : "i"(T_GATE0 | 3) : "eax", "memory");
	call_vec[0] = trap_last.vector; call_err[0] = trap_last.error;
	TRY("lcall %0, $conf_target", : : "i"(T_CODE0 | 3) : "memory");
	call_vec[1] = trap_last.vector; call_err[1] = trap_last.error;
	TRY("lcall %0, $conf_target", : : "i"(T_CONF0 | 3) : "memory");
	call_vec[2] = trap_last.vector;
	TRY("ljmp %0, $0", : : "i"(T_GATE3_R0 | 3) : "memory");
	call_vec[3] = trap_last.vector; call_err[3] = trap_last.error;
}

static volatile uint32_t r1_cs_after;
static void calls_r1(void)
{
	__asm__ volatile("lcall %0, $0" : : "i"(T_GATE3_R1 | 3) : "eax", "memory");
	r1_cs_after = read_cs();
}

static void section_call_gates(void)
{
	section("call_gates");
	g_cs = g_ss = 0;
	ring_run(3, calls_cpl3);
	/* Recorded by the first call (through the DPL-3 gate to ring 0); the
	 * two-parameter call overwrote g_cs, which is ring 0 again. */
	check_eq("callgate_r3_to_r0_cs", g_cs, SEL_KCODE32);
	check_eq("callgate_r3_to_r0_ss_from_tss", g_ss, SEL_KDATA);
	check_eq("callgate_r3_to_r0_pushed_cs", g_ret_cs & 0xffff, SEL_UCODE32 | 3);
	check_eq("callgate_r3_to_r0_pushed_ss", g_user_ss & 0xffff, SEL_UDATA | 3);
	check_eq("callgate_return_to_r3_cs", call_cs_after, SEL_UCODE32 | 3);
	check_eq("callgate_params_first", g_p1, 0x1111);
	check_eq("callgate_params_second", g_p2, 0x2222);
	trap_last.vector = call_vec[0]; trap_last.error = call_err[0];
	check_fault("callgate_dpl0_from_r3", VEC_GP, T_GATE0);
	trap_last.vector = call_vec[1]; trap_last.error = call_err[1];
	check_fault("farcall_nonconforming_dpl0_from_r3", VEC_GP, T_CODE0);
	check_eq("farcall_conforming_no_fault", call_vec[2], TRAP_NONE);
	/* Conforming code runs at the caller's CPL; CS.RPL is that CPL. */
	check_eq("farcall_conforming_keeps_cpl", g_conf_cs, T_CONF0 | 3);
	/* JMP through a call gate cannot change privilege (SDM vol. 2A JMP):
	 * #GP with the code segment's selector. */
	trap_last.vector = call_vec[3]; trap_last.error = call_err[3];
	check_fault("farjmp_callgate_to_inner_ring", VEC_GP, SEL_KCODE32);
	g_cs = g_ss = 0;
	ring_run(3, calls_r1);
	check_eq("callgate_r3_to_r1_cs", g_cs, SEL_R1CODE32 | 1);
	check_eq("callgate_r3_to_r1_ss_from_tss", g_ss, SEL_R1DATA | 1);
	check_eq("callgate_r3_to_r1_pushed_cs", g_ret_cs & 0xffff, SEL_UCODE32 | 3);
	check_eq("callgate_r1_return_cs", r1_cs_after, SEL_UCODE32 | 3);
	uint32_t cs_before = read_cs(), cs_after;
	__asm__ volatile("ljmp %1, $1f\n1: movw %%cs, %w0" : "=r"(cs_after) : "i"(SEL_KCODE32));
	check_eq("farjmp_same_ring", cs_after & 0xffff, cs_before);
}

/* ---- INT n through interrupt and trap gates ---- */
static volatile uint32_t int_vec[8], int_err[8], int_cs[2], int_ss[2], int_eip, int_resume;
static void ints_cpl3(void)
{
	TRY("int $0x40");
	int_vec[0] = trap_last.vector; int_err[0] = trap_last.error;
	TRY("int $0x41");
	int_vec[1] = trap_last.vector; int_cs[0] = trap_last.cs; int_ss[0] = trap_last.ss;
	TRY("int3");
	int_vec[2] = trap_last.vector; int_eip = trap_last.eip; int_resume = trap_resume;
	TRY("movl $0x7fffffff, %%eax; addl $1, %%eax; into", : : : "eax", "cc");
	int_vec[3] = trap_last.vector;
	/* INT1 (ICEBP) delivers #DB without the gate DPL check. */
	TRY(".byte 0xf1");
	int_vec[4] = trap_last.vector;
	/* INT 3 written as CD 03 is checked against the gate DPL like INT n. */
	TRY(".byte 0xcd, 0x05");
	int_vec[5] = trap_last.vector; int_err[5] = trap_last.error;
}

static void ints_cpl3_bp_dpl0(void)
{
	TRY("int3");
	int_vec[6] = trap_last.vector; int_err[6] = trap_last.error;
}

static volatile uint32_t handler_flags;
static void flags_handler(struct trap_frame *f)
{
	(void)f;
	handler_flags = (uint32_t)read_flags();
}

static void section_int_gates(void)
{
	section("int_gates");
	idt_set(0x41, idt_default_gate(0x41, 3));
	ring_run(3, ints_cpl3);
	trap_last.vector = int_vec[0]; trap_last.error = int_err[0];
	/* Error code: the IDT entry's index with the IDT bit (bit 1) set. */
	check_fault("int_n_gate_dpl0_from_cpl3", VEC_GP, 0x40 * 8 + 2);
	check_eq("int_n_gate_dpl3_from_cpl3", int_vec[1], 0x41);
	check_eq("int_n_from_cpl3_pushed_cs", int_cs[0] & 0xffff, SEL_UCODE32 | 3);
	check_eq("int_n_from_cpl3_pushed_ss", int_ss[0] & 0xffff, SEL_UDATA | 3);
	check_eq("int3_gate_dpl3_from_cpl3", int_vec[2], VEC_BP);
	check_eq("int3_pushed_eip_is_next", int_eip, int_resume);
	check_eq("into_overflow_from_cpl3", int_vec[3], VEC_OF);
	check_eq("int1_ignores_gate_dpl", int_vec[4], VEC_DB);
	trap_last.vector = int_vec[5]; trap_last.error = int_err[5];
	check_fault("int_5_gate_dpl0_from_cpl3", VEC_GP, 5 * 8 + 2);
	idt_set(3, idt_default_gate(3, 0));
	ring_run(3, ints_cpl3_bp_dpl0);
	trap_last.vector = int_vec[6]; trap_last.error = int_err[6];
	check_fault("int3_gate_dpl0_from_cpl3", VEC_GP, 3 * 8 + 2);
	idt_set(3, idt_default_gate(3, 3));
	/* An interrupt gate clears IF, a trap gate leaves it (SDM vol. 3A 6.12.1.3). */
	idt_set(0x42, gate_desc(SEL_KCODE32, trap_stub_address(0x42), SYS_TRAPGATE32, 0, 0));
	trap_set_handler(0x42, flags_handler);
	trap_set_handler(0x43, flags_handler);
	handler_flags = 0;
	__asm__ volatile("sti; int $0x42; cli" ::: "memory");
	check_eq("trap_gate_keeps_if", handler_flags & EFLAGS_IF, EFLAGS_IF);
	handler_flags = EFLAGS_IF;
	__asm__ volatile("sti; int $0x43; cli" ::: "memory");
	check_eq("interrupt_gate_clears_if", handler_flags & EFLAGS_IF, 0);
	/* TF is back after the IRET, so a step trap follows the next
	 * instruction (the PUSHF, whose push ESP is then put back from). */
	static volatile uint32_t esp_before;
	TRY("movl %%esp, %0; pushfl; orl $0x100, (%%esp); popfl; int $0x42; pushfl; andl $~0x100, (%%esp); popfl",
	    : "=m"(esp_before) : : "memory", "cc");
	__asm__ volatile("movl %0, %%esp" : : "m"(esp_before));
	check_eq("trap_gate_clears_tf", handler_flags & EFLAGS_TF, 0);
	check_eq("tf_restored_by_iret_steps", trap_last.vector, VEC_DB);
	TRY("int $0x44");
	check_eq("int_n_cpl0_dpl0_gate", trap_last.vector, 0x44);
	check_eq("int_n_cpl0_no_stack_switch_ss", trap_last.ss, 0);
}

/* ---- IRET to an outer ring ---- */
volatile uint32_t iret_ds, iret_es, iret_fs, iret_cs, iret_ss;
extern char iret_outer_test[];
static uint8_t iret_stack[4096] __attribute__((aligned(16)));
uint32_t iret_stack_top;
__asm__(".text\n"
	"iret_outer_test:\n"
	"	pushfl\n	pushl %ebp\n	pushl %ebx\n	pushl %esi\n	pushl %edi\n"
	"	movl %esp, ring_saved_esp\n"
	"	movw $0x10, %ax\n	movw %ax, %fs\n"
	"	movw $0x23, %ax\n	movw %ax, %es\n"
	"	pushl $0x23\n	pushl iret_stack_top\n	pushfl\n	pushl $0x1b\n	pushl $1f\n"
	"	iret\n"
	"1:	movw %ds, %ax\n	movzwl %ax, %eax\n	movl %eax, %ss:iret_ds\n"
	"	movw %es, %ax\n	movl %eax, %ss:iret_es\n"
	"	movw %fs, %ax\n	movl %eax, %ss:iret_fs\n"
	"	movw %cs, %ax\n	movl %eax, %ss:iret_cs\n"
	"	movw %ss, %ax\n	movl %eax, %ss:iret_ss\n"
	"	int $0x81\n");

static void section_iret(void)
{
	section("iret_outer");
	iret_stack_top = (uint32_t)(uintptr_t)(iret_stack + sizeof(iret_stack));
	iret_ds = iret_es = iret_fs = 0xffff;
	((void (*)(void))iret_outer_test)();
	check_eq("iret_to_r3_cs", iret_cs, SEL_UCODE32 | 3);
	check_eq("iret_to_r3_ss", iret_ss, SEL_UDATA | 3);
	/* Data segment registers whose DPL is below the new CPL are nulled. */
	check_eq("iret_to_r3_nulls_ds_dpl0", iret_ds, 0);
	check_eq("iret_to_r3_nulls_fs_dpl0", iret_fs, 0);
	check_eq("iret_to_r3_keeps_es_dpl3", iret_es, SEL_UDATA | 3);
	__asm__ volatile("movw %w0, %%fs; movw %w0, %%es" : : "r"(SEL_KDATA));
}

/* ---- sensitive sequences, many times over ----
 * Under raw the first runs of a site trap to popek, the later ones are
 * answered by the stub from the scanner's tables (PUSHF, PUSH Sreg, IRET
 * to the same level, JMP through a register, and the CLI/POP/PUSH between
 * them): every run must give the architectural result. The shapes are
 * Linux's: local_irq_save, sync_core, an indirect-branch thunk. */
static volatile uint32_t rep_bad[4];

static void repeated_cpl3(void)
{
	for (unsigned n = 0; n < 100; n++) {
		uint32_t cs, mov_cs, esp0, esp1, fl;
		__asm__ volatile("pushl %%cs; popl %0; movl %%cs, %1" : "=r"(cs), "=r"(mov_cs));
		if (cs != mov_cs || (cs & 3) != 3)
			rep_bad[0]++;
		__asm__ volatile("movl %%esp, %0; stc; pushfl; pushl %%cs; pushl $1f; iretl\n1:\n"
				 "pushfl; popl %1; movl %%esp, %2"
				 : "=&r"(esp0), "=&r"(fl), "=&r"(esp1) : : "cc", "memory");
		if (esp0 != esp1 || !(fl & EFLAGS_CF) || (fl & EFLAGS_IOPL))
			rep_bad[1]++;
	}
}

static void section_repeated(void)
{
	section("repeated_sequences");
	unsigned save = 0, sync = 0, jmp = 0, push_cs = 0, iret_sets_if = 0, iret_clears_if = 0;
	for (unsigned n = 0; n < 300; n++) {
		uint32_t saved, now, esp0, esp1, fl, hit, cs, mov_cs;
		__asm__ volatile("sti; pushfl; popl %0; cli; pushfl; popl %1"
				 : "=r"(saved), "=r"(now) : : "cc", "memory");
		save += !(saved & EFLAGS_IF) || (now & EFLAGS_IF);
		__asm__ volatile("movl %%esp, %0; stc; pushfl; pushl %%cs; pushl $1f; iretl\n1:\n"
				 "pushfl; popl %1; movl %%esp, %2"
				 : "=&r"(esp0), "=&r"(fl), "=&r"(esp1) : : "cc", "memory");
		sync += esp0 != esp1 || !(fl & EFLAGS_CF) || (fl & EFLAGS_IF);
		__asm__ volatile("movl $0, %0; movl $1f, %%ecx; jmp *%%ecx; ud2\n1: movl $1, %0"
				 : "=&r"(hit) : : "ecx");
		jmp += hit != 1;
		__asm__ volatile("pushl %%cs; popl %0; movl %%cs, %1" : "=r"(cs), "=r"(mov_cs));
		push_cs += cs != mov_cs || cs != SEL_KCODE32;
		__asm__ volatile("cli; pushfl; orl $0x200, (%%esp); pushl %%cs; pushl $1f; iretl\n1:\n"
				 "pushfl; popl %0; cli" : "=r"(fl) : : "cc", "memory");
		iret_sets_if += !(fl & EFLAGS_IF);
		__asm__ volatile("sti; pushfl; andl $~0x200, (%%esp); pushl %%cs; pushl $1f; iretl\n1:\n"
				 "pushfl; popl %0; cli" : "=r"(fl) : : "cc", "memory");
		iret_clears_if += !!(fl & EFLAGS_IF);
	}
	check_eq("repeated_irq_save_pushf_pop_cli", save, 0);
	check_eq("repeated_iret_to_self_keeps_stack_and_flags", sync, 0);
	check_eq("repeated_jmp_through_register", jmp, 0);
	check_eq("repeated_push_cs_is_guest_selector", push_cs, 0);
	check_eq("repeated_iret_sets_if", iret_sets_if, 0);
	check_eq("repeated_iret_clears_if", iret_clears_if, 0);
	ring_run(3, repeated_cpl3);
	check_eq("repeated_push_cs_cpl3", rep_bad[0], 0);
	check_eq("repeated_iret_to_self_cpl3", rep_bad[1], 0);
}

void guest_main(void)
{
	conf_init();
	setup_descriptors();
	section_stores();
	section_pushf_popf();
	section_lar_lsl();
	section_segments();
	section_shadow();
	section_call_gates();
	section_int_gates();
	section_iret();
	section_repeated();
}
