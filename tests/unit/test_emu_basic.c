/* The emulation engine on small snippets: arithmetic and flags, stack,
 * strings, exceptions through the IDT, I/O and MMIO exit round trips, a
 * page fault, self-modifying code, interrupts, the triple fault and the
 * real -> protected -> long mode switch. Snippets are assembled with nasm
 * at test time; without nasm the checks SKIP. */
#include "check.h"
#include "engine/emu/emu_test.h"

int emu_interrupt(struct vcpu *cpu, uint8_t vector);

#define RAM (32ull << 20)

static int start(struct emu_test *t, const char *mode, const char *src)
{
	if (et_init(t, RAM) < 0) {
		printf("FAIL emu %s: machine setup\n", mode);
		check_failures++;
		return -1;
	}
	et_gdt(t);
	if (et_load_asm(t, ET_CODE, src) < 0) {
		printf("FAIL emu %s: nasm rejected the snippet\n", mode);
		check_failures++;
		et_free(t);
		return -1;
	}
	return 0;
}

static void gate32(struct emu_test *t, int vec, uint32_t handler)
{
	uint64_t g = (handler & 0xffff) | ((uint64_t)ET_CS32 << 16) | (0x8eull << 40) |
		     ((uint64_t)(handler >> 16) << 48);
	et_w64(t, ET_IDT + vec * 8, g);
}

static void gate64(struct emu_test *t, int vec, uint64_t handler, int dpl)
{
	uint64_t lo = (handler & 0xffff) | ((uint64_t)ET_CS64 << 16) | ((0x8eull | (dpl << 5)) << 40) |
		      (((handler >> 16) & 0xffff) << 48);
	et_w64(t, ET_IDT + vec * 16, lo);
	et_w64(t, ET_IDT + vec * 16 + 8, handler >> 32);
}

static void test_arith(void)
{
	struct emu_test t;
	if (start(&t, "arith", "bits 32\norg 0x2000\n"
		  "mov eax, 5\nadd eax, 7\nmov ebx, 0xffffffff\nadd ebx, 1\npushfd\npop ecx\n"
		  "mov edx, 0x7fffffff\ninc edx\npushfd\npop esi\n"
		  "mov edi, 100\nxor ebp, ebp\nl: add ebp, edi\ndec edi\njnz l\n"
		  "hlt\n") < 0)
		return;
	et_state_pm32(&t.st);
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu arith: stops at HLT");
	CHECK_EQ(t.st.gpr[RAX], 12, "emu arith: 5 + 7");
	CHECK_EQ(t.st.gpr[RBX], 0, "emu arith: wrap to 0");
	CHECK_EQ(t.st.gpr[RCX] & 0x8d5, RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF,
		 "emu arith: CF PF AF ZF after 0xffffffff + 1");
	CHECK_EQ(t.st.gpr[RSI] & 0x8d5, RFLAGS_OF | RFLAGS_SF | RFLAGS_AF | RFLAGS_PF | RFLAGS_CF,
		 "emu arith: INC overflows into OF SF, keeps CF");
	CHECK_EQ(t.st.gpr[RBP], 5050, "emu arith: loop sums 1..100");
	CHECK_EQ(t.st.rip, ET_CODE + 39, "emu arith: RIP after HLT");
	et_free(&t);
}

static void test_stack_strings(void)
{
	struct emu_test t;
	if (start(&t, "strings", "bits 32\norg 0x2000\n"
		  "call f\n"
		  "mov esi, src\nmov edi, 0x100000\nmov ecx, 13\ncld\nrep movsb\n"
		  "mov edi, 0x100100\nmov eax, 0x41424344\nmov ecx, 4\nrep stosd\n"
		  "mov edi, src\nmov al, 'w'\nmov ecx, 13\nrepne scasb\nmov esi, ecx\n"
		  "mov eax, 0x12345678\nmov ecx, 0x1000\nmul ecx\nmov ebp, eax\n"
		  "mov eax, 1000003\nxor edx, edx\nmov ecx, 7\ndiv ecx\n"
		  "hlt\n"
		  "f: mov ebx, 0x1234\nret\n"
		  "src: db 'hello, world!'\n") < 0)
		return;
	et_state_pm32(&t.st);
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu strings: stops at HLT");
	CHECK_EQ(t.st.gpr[RBX], 0x1234, "emu stack: call/ret");
	CHECK_EQ(t.st.gpr[RSP], ET_STACK, "emu stack: balanced");
	CHECK(memcmp(t.ram + ET_DATA, "hello, world!", 13) == 0, "emu strings: rep movsb");
	CHECK_EQ(et_r32(&t, ET_DATA + 0x10c), 0x41424344, "emu strings: rep stosd");
	CHECK_EQ(t.st.gpr[RSI], 13 - 8, "emu strings: repne scasb stops after 'w'");
	CHECK_EQ(t.st.gpr[RBP], 0x45678000, "emu alu: mul low half");
	CHECK_EQ(t.st.gpr[RAX], 1000003 / 7, "emu alu: div quotient");
	CHECK_EQ(t.st.gpr[RDX], 1000003 % 7, "emu alu: div remainder");
	et_free(&t);
}

static void test_exceptions32(void)
{
	struct emu_test t;
	if (start(&t, "exc32", "bits 32\norg 0x2000\n"
		  "xor ecx, ecx\nfault: div ecx\nhlt\n"
		  "times 0x100-($-$$) db 0x90\n"
		  "de: mov edi, 0\nmov esi, [esp]\nmov ebp, esp\nhlt\n"
		  "times 0x200-($-$$) db 0x90\n"
		  "ud: mov edi, 6\nmov esi, [esp]\nhlt\n"
		  "times 0x300-($-$$) db 0x90\n"
		  "ud2\n") < 0)
		return;
	et_state_pm32(&t.st);
	gate32(&t, 0, ET_CODE + 0x100);
	gate32(&t, 6, ET_CODE + 0x200);
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu #DE: handler reached");
	CHECK_EQ(t.st.gpr[RSI], ET_CODE + 2, "emu #DE: pushes the faulting EIP");
	CHECK_EQ(t.st.gpr[RBP], ET_STACK - 12, "emu #DE: EFLAGS CS EIP pushed");
	t.st.rip = ET_CODE + 0x300;
	t.st.events.halted = false;
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu #UD: handler reached");
	CHECK_EQ(t.st.gpr[RDI], 6, "emu #UD: vector 6 for UD2");
	CHECK_EQ(t.st.gpr[RSI], ET_CODE + 0x300, "emu #UD: pushes the UD2 address");
	et_free(&t);
}

static void test_io(void)
{
	struct emu_test t;
	if (start(&t, "io", "bits 32\norg 0x2000\n"
		  "mov dx, 0x3f8\nmov al, 'A'\nout dx, al\nin al, dx\nmov ebx, eax\n"
		  "mov edi, 0x100000\nmov ecx, 3\nrep insb\nhlt\n") < 0)
		return;
	et_state_pm32(&t.st);
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_IO, "emu io: OUT exits");
	CHECK(t.exit.io.is_write && t.exit.io.port == 0x3f8 && t.exit.io.size == 1 &&
	      t.exit.io.data[0] == 'A', "emu io: OUT port, size and data");
	CHECK_EQ(et_run(&t), EXIT_IO, "emu io: IN exits");
	CHECK(!t.exit.io.is_write && t.exit.io.port == 0x3f8, "emu io: IN port");
	uint64_t in_rip = t.st.rip;
	t.exit.io.data[0] = 0x5a;
	int ins = 0;
	enum exit_reason r;
	while ((r = et_run(&t)) == EXIT_IO && ins < 10)
		t.exit.io.data[0] = 0x60 + ins++;
	CHECK_EQ(r, EXIT_HLT, "emu io: runs on to HLT");
	CHECK_EQ(t.st.gpr[RBX] & 0xff, 0x5a, "emu io: IN completes with the machine's data");
	CHECK_EQ(in_rip, ET_CODE + 7, "emu io: IN not retired while waiting");
	CHECK_EQ(ins, 3, "emu io: REP INSB exits per element");
	CHECK_EQ(et_r32(&t, ET_DATA) & 0xffffff, 0x626160, "emu io: REP INSB stores each element once");
	et_free(&t);
}

static void test_mmio(void)
{
	struct emu_test t;
	if (start(&t, "mmio", "bits 32\norg 0x2000\n"
		  "mov eax, [0xd0000000]\nmov ebx, eax\n"
		  "mov dword [0xd0000010], 0x77\n"
		  "add dword [0xd0000020], 5\n"
		  "inc ebp\nhlt\n") < 0)
		return;
	et_state_pm32(&t.st);
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_MMIO, "emu mmio: read exits");
	CHECK(!t.exit.mmio.is_write && t.exit.mmio.addr == 0xd0000000 && t.exit.mmio.size == 4,
	      "emu mmio: read address and size");
	uint32_t v = 0xcafef00d;
	memcpy(t.exit.mmio.data, &v, 4);
	CHECK_EQ(et_run(&t), EXIT_MMIO, "emu mmio: write exits");
	CHECK(t.exit.mmio.is_write && t.exit.mmio.addr == 0xd0000010 && t.exit.mmio.data[0] == 0x77,
	      "emu mmio: write address and data");
	CHECK_EQ(et_run(&t), EXIT_MMIO, "emu mmio: RMW reads");
	CHECK(!t.exit.mmio.is_write && t.exit.mmio.addr == 0xd0000020, "emu mmio: RMW read address");
	v = 10;
	memcpy(t.exit.mmio.data, &v, 4);
	CHECK_EQ(et_run(&t), EXIT_MMIO, "emu mmio: RMW writes");
	memcpy(&v, t.exit.mmio.data, 4);
	CHECK(t.exit.mmio.is_write && v == 15, "emu mmio: RMW writes read value + 5");
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu mmio: runs on to HLT");
	CHECK_EQ(t.st.gpr[RBX], 0xcafef00d, "emu mmio: read completes with the machine's data");
	CHECK_EQ(t.st.gpr[RBP], 1, "emu mmio: nothing retired twice");
	et_free(&t);
}

static void test_page_fault(void)
{
	struct emu_test t;
	if (start(&t, "pf", "bits 32\norg 0x2000\n"
		  "mov eax, cr4\nor eax, 0x10\nmov cr4, eax\n"
		  "mov eax, 0x80000\nmov cr3, eax\nmov eax, cr0\nor eax, 0x80010000\nmov cr0, eax\n"
		  "mov dword [0x300004], 1\nhlt\n"
		  "times 0x100-($-$$) db 0x90\n"
		  "pf: mov eax, cr2\npop ebx\nmov esi, [esp]\nhlt\n") < 0)
		return;
	et_state_pm32(&t.st);
	gate32(&t, 14, ET_CODE + 0x100);
	/* PD: first 4 MiB through a page table with 0x300000 absent, then 4 MiB pages */
	for (uint64_t k = 0; k < 1024; k++) {
		uint32_t pte = (uint32_t)(k << 12) | 3;
		if (k == 0x300)
			pte = 0;
		memcpy(t.ram + ET_PML4 + 0x1000 + k * 4, &pte, 4);
	}
	uint32_t pde0 = (uint32_t)(ET_PML4 + 0x1000) | 3, pde1 = (1u << 22) | 0x83;
	memcpy(t.ram + ET_PML4, &pde0, 4);
	memcpy(t.ram + ET_PML4 + 4, &pde1, 4);
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu #PF: handler reached");
	CHECK_EQ(t.st.gpr[RAX], 0x300004, "emu #PF: CR2 is the faulting address");
	CHECK_EQ(t.st.gpr[RBX], 2, "emu #PF: error code W, not present");
	CHECK_EQ(t.st.gpr[RSI], ET_CODE + 0x1c, "emu #PF: pushes the faulting EIP");
	CHECK(et_r32(&t, ET_PML4) & 0x20, "emu #PF: PDE accessed bit set");
	uint32_t pte2;
	memcpy(&pte2, t.ram + ET_PML4 + 0x1000 + 2 * 4, 4);
	CHECK((pte2 & 0x60) == 0x20, "emu paging: code page accessed, not dirty");
	et_free(&t);
}

static void test_smc(void)
{
	struct emu_test t;
	if (start(&t, "smc", "bits 32\norg 0x2000\n"
		  "mov ecx, 3\n"
		  "again: mov byte [patch+1], cl\n"
		  "patch: mov al, 0\n"
		  "add bl, al\nloop again\nhlt\n") < 0)
		return;
	et_state_pm32(&t.st);
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu smc: stops at HLT");
	CHECK_EQ(t.st.gpr[RBX] & 0xff, 3 + 2 + 1, "emu smc: each patched immediate executes");
	et_free(&t);
}

static void test_interrupts(void)
{
	struct emu_test t;
	if (start(&t, "irq", "bits 32\norg 0x2000\n"
		  "sti\nnop\nspin: inc ecx\njmp spin\n"
		  "times 0x100-($-$$) db 0x90\n"
		  "isr: mov ebx, ecx\nmov esi, [esp]\nhlt\n") < 0)
		return;
	et_state_pm32(&t.st);
	gate32(&t, 0x20, ET_CODE + 0x100);
	t.st.rflags = 2;
	et_set(&t);
	emu_interrupt(t.cpu, 0x20);
	engine_emu.kick(t.cpu);
	CHECK_EQ(et_run(&t), EXIT_INTERRUPTED, "emu kick: run returns EXIT_INTERRUPTED");
	CHECK_EQ(t.st.rip, ET_CODE, "emu irq: held while IF=0");
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu irq: taken once IF=1");
	CHECK_EQ(t.st.gpr[RSI], ET_CODE + 2, "emu irq: STI shadow lets the NOP run first");
	CHECK_EQ(t.st.gpr[RBX], 0, "emu irq: before the loop");
	et_free(&t);
}

static void test_triple_fault(void)
{
	struct emu_test t;
	if (start(&t, "triple", "bits 32\norg 0x2000\nud2\n") < 0)
		return;
	et_state_pm32(&t.st);
	t.st.idt.limit = 0;
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_SHUTDOWN, "emu triple fault: EXIT_SHUTDOWN");
	et_free(&t);
}

static void test_mode_switch(void)
{
	struct emu_test t;
	if (start(&t, "modes", "bits 16\norg 0x2000\n"
		  "cli\nint 0x10\nlgdt [gdtr]\nmov eax, cr0\nor eax, 1\nmov cr0, eax\njmp 0x08:pm\n"
		  "bits 32\npm: mov ax, 0x10\nmov ds, ax\nmov es, ax\nmov ss, ax\nmov esp, 0x70000\n"
		  "mov eax, cr4\nor eax, 0x20\nmov cr4, eax\nmov eax, 0x80000\nmov cr3, eax\n"
		  "mov ecx, 0xc0000080\nrdmsr\nor eax, 0x100\nwrmsr\n"
		  "mov eax, cr0\nor eax, 0x80000000\nmov cr0, eax\njmp 0x18:lm\n"
		  "bits 64\nlm: mov rax, 0x1122334455667788\npush rax\npop rdx\n"
		  "lea rdi, [rel gdtr]\nhlt\n"
		  "gdtr: dw 0x57\ndd 0x500\n"
		  "bits 16\nrm_isr: mov bp, 0x55\niret\n") < 0)
		return;
	et_state_real(&t.st);
	t.st.rip = ET_CODE;
	et_page_tables64(&t);
	/* IVT entry 0x10 -> rm_isr, found by scanning for its bytes */
	uint8_t pat[] = { 0xbd, 0x55, 0x00, 0xcf };
	uint64_t isr = 0;
	for (uint64_t a = ET_CODE; a < ET_CODE + 0x200; a++)
		if (!memcmp(t.ram + a, pat, 4))
			isr = a;
	uint32_t ivt = (uint32_t)isr;
	memcpy(t.ram + 0x10 * 4, &ivt, 4);
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu modes: reaches HLT in 64-bit mode");
	CHECK_EQ(t.st.gpr[RBP] & 0xffff, 0x55, "emu modes: real-mode INT/IRET");
	CHECK_EQ(t.st.gpr[RDX], 0x1122334455667788ull, "emu modes: 64-bit registers");
	CHECK(t.st.msr.efer & EFER_LMA, "emu modes: EFER.LMA set");
	CHECK(t.st.seg[SEG_CS].selector == 0x18 && t.st.seg[SEG_CS].l, "emu modes: CS is 64-bit code");
	CHECK_EQ(t.st.gpr[RDI], isr - 6, "emu modes: RIP-relative LEA");
	et_free(&t);
}

static void test_long_mode_exc(void)
{
	struct emu_test t;
	if (start(&t, "long", "bits 64\norg 0x2000\n"
		  "mov rax, 0x8000000000000000\nmov rax, [rax]\nhlt\n"
		  "times 0x100-($-$$) db 0x90\n"
		  "gp: pop rbx\npop rsi\nhlt\n"
		  "times 0x200-($-$$) db 0x90\n"
		  "user: mov rax, cr0\nhlt\n") < 0)
		return;
	et_state_long(&t, &t.st, 0);
	gate64(&t, 13, ET_CODE + 0x100, 0);
	et_w64(&t, ET_TSS + 4, 0x60000);  /* RSP0 */
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu long: #GP handler reached");
	CHECK_EQ(t.st.gpr[RBX], 0, "emu long: non-canonical access is #GP(0)");
	CHECK_EQ(t.st.gpr[RSI], ET_CODE + 10, "emu long: pushes the faulting RIP");
	/* CPL 3 touching CR0: #GP on the RSP0 stack */
	struct cpu_state s;
	et_state_long(&t, &s, 3);
	s.rip = ET_CODE + 0x200;
	s.gpr[RSP] = 0x50000;
	t.st = s;
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu long: CPL 3 MOV CR0 faults");
	CHECK_EQ(t.st.gpr[RSI], ET_CODE + 0x200, "emu long: pushes the user RIP");
	CHECK_EQ(t.st.gpr[RSP], 0x60000 - 32, "emu long: switched to RSP0 (6 pushes, 2 pops)");
	CHECK_EQ(t.st.seg[SEG_CS].selector, ET_CS64, "emu long: handler at CPL 0");
	et_free(&t);
}

static void test_rep_spans(void)
{
	struct emu_test t;
	if (start(&t, "rep", "bits 32\norg 0x2000\n"
		  "mov edi, 0x100ffd\nmov ecx, 5000\nmov eax, 0x04030201\nrep stosd\n"
		  "mov esi, 0x100ffd\nmov edi, 0x110003\nmov ecx, 20000\nrep movsb\n"
		  "mov esi, 0x120000\nmov edi, 0x120001\nmov byte [esi], 0x5a\nmov ecx, 100\nrep movsb\n"
		  "mov edi, patch\nmov al, 0x90\nmov ecx, 3\nrep stosb\n"
		  "patch: inc ebx\ninc ebx\ninc ebx\nhlt\n") < 0)
		return;
	et_state_pm32(&t.st);
	t.st.gpr[RBX] = 0;
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu rep spans: stops at HLT");
	CHECK_EQ(et_r32(&t, 0x100ffd + 4 * 4999), 0x04030201, "emu rep stosd: last element across pages");
	CHECK_EQ(et_r32(&t, 0x110003 + 19996), 0x04030201, "emu rep movsb: 20000 bytes across pages");
	CHECK_EQ(t.st.gpr[RSI], 0x120000 + 100, "emu rep movsb: RSI advanced");
	CHECK_EQ(t.ram[0x120000 + 100], 0x5a, "emu rep movsb: overlapping copy repeats the byte");
	CHECK_EQ(t.st.gpr[RBX], 0, "emu smc: REP STOSB over the next instructions takes effect");
	et_free(&t);
}

static void test_v86(void)
{
	struct emu_test t;
	if (start(&t, "v86", "bits 32\norg 0x2000\n"
		  "push dword 0\npush dword 0\npush dword 0x40\npush dword 0x40\n"  /* GS FS DS ES */
		  "push dword 0x50\npush dword 0x800\n"                              /* SS:ESP */
		  "push dword 0x23002\npush dword 0x200\npush dword 0x200\niretd\n"  /* EFLAGS CS:IP */
		  "times 0x100-($-$$) db 0x90\n"
		  "isr: mov esi, [esp]\nmov edi, [esp+4]\nmov ebp, [esp+8]\nmov ecx, [esp+12]\n"
		  "mov edx, [esp+16]\nhlt\n"
		  "times 0x200-($-$$) db 0x90\n"
		  "bits 16\nv86: mov ax, [0x10]\nmov bx, cs\nint 0x30\n") < 0)
		return;
	et_state_pm32(&t.st);
	t.st.gpr[RSP] = ET_STACK;
	/* v86 code at CS 0x200 (linear 0x2000 + 0x200), data word at DS:0x10 = 0x410 */
	uint16_t w = 0xbeef;
	memcpy(t.ram + 0x410, &w, 2);
	uint64_t h = ET_CODE + 0x100;
	et_w64(&t, ET_IDT + 0x30 * 8, (h & 0xffff) | ((uint64_t)ET_CS32 << 16) | (0xeeull << 40) | ((h >> 16) << 48));
	et_w64(&t, ET_TSS + 4, 0x60000);  /* ESP0 */
	et_w64(&t, ET_TSS + 8, ET_DS);    /* SS0 */
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu v86: INT from v86 reaches the ring-0 handler");
	CHECK_EQ(t.st.gpr[RAX] & 0xffff, 0xbeef, "emu v86: DS base is selector << 4");
	CHECK_EQ(t.st.gpr[RBX] & 0xffff, 0x200, "emu v86: CS selector");
	CHECK_EQ(t.st.gpr[RSI], 0x207, "emu v86: pushed IP after INT");
	CHECK_EQ(t.st.gpr[RDI], 0x200, "emu v86: pushed CS");
	CHECK(t.st.gpr[RBP] & RFLAGS_VM, "emu v86: pushed EFLAGS has VM");
	CHECK_EQ(t.st.gpr[RDX], 0x50, "emu v86: pushed SS");
	CHECK_EQ(t.st.gpr[RCX], 0x800, "emu v86: pushed ESP");
	CHECK_EQ(t.st.gpr[RSP], 0x60000 - 36, "emu v86: ring-0 stack holds the 9-dword frame");
	CHECK(t.st.seg[SEG_DS].unusable, "emu v86: DS null in the handler");
	et_free(&t);
}

static void test_task_switch(void)
{
	struct emu_test t;
	if (start(&t, "task", "bits 32\norg 0x2000\n"
		  "mov esi, 0x1234\ncall 0x58:0\nmov ecx, 0x99\nhlt\n"
		  "times 0x100-($-$$) db 0x90\n"
		  "task2: mov ebx, 0x77\nmov esi, 0x5678\niretd\n") < 0)
		return;
	et_state_pm32(&t.st);
	/* the running task's TSS is busy; a second 32-bit TSS at 0x3000 */
	et_w64(&t, ET_GDT + 0x38, 0x67 | (ET_TSS & 0xffffff) << 16 | 0x8bull << 40);
	et_w64(&t, ET_GDT + 0x58, 0x67 | (0x3000ull << 16) | 0x89ull << 40);
	t.st.gdt.limit = 0x5f;
	uint32_t tss2[26] = { 0 };
	tss2[0x20 / 4] = ET_CODE + 0x100;   /* EIP */
	tss2[0x24 / 4] = 2;                  /* EFLAGS */
	tss2[0x38 / 4] = 0x68000;            /* ESP */
	tss2[0x48 / 4] = ET_DS;
	tss2[0x4c / 4] = ET_CS32;
	tss2[0x50 / 4] = ET_DS;
	tss2[0x54 / 4] = ET_DS;
	tss2[0x58 / 4] = ET_DS;
	tss2[0x5c / 4] = ET_DS;
	memcpy(t.ram + 0x3000, tss2, sizeof(tss2));
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu task: CALL to a TSS and IRET back reach HLT");
	CHECK_EQ(et_r32(&t, 0x3000 + 0x34), 0x77, "emu task: the new task ran (its EBX saved at IRET)");
	CHECK_EQ(t.st.gpr[RSI], 0x1234, "emu task: the caller's registers come back from its TSS");
	CHECK_EQ(t.st.gpr[RCX], 0x99, "emu task: execution resumes after the CALL");
	CHECK_EQ(t.st.seg[SEG_TR].selector, 0x38, "emu task: TR is the caller's again");
	CHECK_EQ(et_r32(&t, 0x3000) & 0xffff, 0x38, "emu task: back link written");
	CHECK_EQ(et_r32(&t, 0x3000 + 0x40), 0x5678, "emu task: the called task's ESI saved");
	CHECK_EQ((et_r64(&t, ET_GDT + 0x58) >> 40) & 0xf, 9, "emu task: IRET marks the called TSS available");
	CHECK(t.st.cr0 & CR0_TS, "emu task: CR0.TS set by the switch");
	et_free(&t);
}

static void test_fpu_mmx(void)
{
	struct emu_test t;
	if (start(&t, "fpu", "bits 32\norg 0x2000\n"
		  "fninit\nfld qword [a]\nfadd qword [b]\nfstp qword [0x100000]\n"
		  "fld1\nfldpi\nfcomip st0, st1\nseta bl\nfstp st0\n"
		  "fild dword [c]\nfsqrt\nfistp dword [0x100008]\nfnstsw ax\nmov esi, eax\n"
		  "movq mm0, [m0]\nmovq mm1, [m1]\npaddw mm0, mm1\npunpckhbw mm1, mm0\n"
		  "movq [0x100010], mm0\nmovq [0x100018], mm1\n"
		  "movq mm3, [pi]\ncvtpi2ps xmm0, mm3\naddps xmm0, xmm0\ncvttps2pi mm4, xmm0\nmovq [0x100020], mm4\n"
		  "movq2dq xmm5, mm4\nmovq [0x100028], xmm5\nemms\nhlt\n"
		  "align 8\na: dq 1.5\nb: dq 2.25\nc: dd 144\n"
		  "align 8\nm0: dw 1, 2, 0x7fff, 0xffff\nm1: db 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80\n"
		  "pi: dd 3, -7\n") < 0)
		return;
	et_state_pm32(&t.st);
	t.st.cr4 |= CR4_OSFXSR;
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu x87: stops at HLT");
	CHECK_EQ(et_r64(&t, ET_DATA), 0x400e000000000000ull, "emu x87: 1.5 + 2.25 = 3.75");
	CHECK_EQ(t.st.gpr[RBX] & 0xff, 1, "emu x87: FCOMIP pi > 1 sets no CF/ZF");
	CHECK_EQ(et_r32(&t, ET_DATA + 8), 12, "emu x87: FISTP of sqrt(144)");
	CHECK_EQ((t.st.gpr[RSI] >> 11) & 7, 0, "emu x87: stack empty again (TOP 0)");
	CHECK_EQ(et_r64(&t, ET_DATA + 0x10), 0x806fe04f40322011ull, "emu mmx: PADDW wraps per word");
	CHECK_EQ(et_r64(&t, ET_DATA + 0x18), 0x80806f70e0604f50ull, "emu mmx: PUNPCKHBW takes the high halves");
	CHECK_EQ(et_r64(&t, ET_DATA + 0x20), 0xfffffff200000006ull, "emu sse: CVTPI2PS, ADDPS, CVTTPS2PI");
	CHECK_EQ(et_r64(&t, ET_DATA + 0x28), 0xfffffff200000006ull, "emu sse: MOVQ2DQ");
	CHECK_EQ(t.st.fpu.ftw, 0, "emu mmx: EMMS empties the tags");
	et_free(&t);
}

/* FSCALE by a NaN, an infinity or nothing at all (an empty stack reads as
 * the indefinite NaN), and FPREM/FPREM1 with a NaN or a quotient past
 * 2^63: found by make fuzz (fuzz_emu_decode, inputs 31 d9 fd, FSCALE on an
 * empty stack, and 01 d9 f5, FPREM1 on one), where the scale and the
 * quotient went through integer conversions undefined for those values
 * (UBSan stopped the run). */
static void test_fpu_special(void)
{
	struct emu_test t;
	if (start(&t, "fscale", "bits 32\norg 0x2000\n"
		  "fninit\nfscale\nfstp st0\n"
		  "fld dword [pinf]\nfld1\nfscale\nfstp dword [0x100000]\nfstp st0\n"
		  "fld dword [minf]\nfld1\nfscale\nfstp dword [0x100004]\nfstp st0\n"
		  "fld dword [nan]\nfld1\nfscale\nfstp dword [0x100008]\nfstp st0\n"
		  "fld dword [big]\nfld1\nfscale\nfstp dword [0x10000c]\nfstp st0\n"
		  "fninit\nfprem1\nfprem\nfninit\n"
		  "fld1\nfld dword [big]\nfprem\nfstp st0\nfstp st0\n"
		  "hlt\n"
		  "pinf: dd 0x7f800000\nminf: dd 0xff800000\nnan: dd 0x7fc00000\nbig: dd 0x7f000000\n") < 0)
		return;
	et_state_pm32(&t.st);
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu fscale/fprem: on an empty stack and with specials they run to HLT");
	CHECK_EQ(et_r32(&t, ET_DATA), 0x7f800000, "emu fscale: 1 * 2^+inf is +inf");
	CHECK_EQ(et_r32(&t, ET_DATA + 4), 0, "emu fscale: 1 * 2^-inf is +0");
	CHECK_EQ(et_r32(&t, ET_DATA + 8), 0x7fc00000, "emu fscale: a NaN scale gives the NaN");
	CHECK_EQ(et_r32(&t, ET_DATA + 12), 0x7f800000, "emu fscale: 1 * 2^(2^127) overflows to +inf");
	et_free(&t);
}

/* The MMX packs and high unpacks work on 64-bit operands: their results are
 * not the low half of the SSE forms' (expected values from the SDM's
 * saturation rules, worked by hand). */
static void test_mmx_packs(void)
{
	struct emu_test t;
	if (start(&t, "mmxpack", "bits 32\norg 0x2000\n"
		  "movq mm0, [a]\nmovq mm1, [b]\npacksswb mm0, mm1\nmovq [0x100000], mm0\n"
		  "movq mm0, [a]\npackuswb mm0, mm1\nmovq [0x100008], mm0\n"
		  "movq mm0, [a]\npackssdw mm0, mm1\nmovq [0x100010], mm0\n"
		  "movq mm0, [a]\npunpckhwd mm0, mm1\nmovq [0x100018], mm0\n"
		  "movq mm0, [a]\npunpckhdq mm0, mm1\nmovq [0x100020], mm0\n"
		  "emms\nhlt\n"
		  "align 8\na: dw 0x0100, 0xff80, 0x007f, 0x8000\nb: dw 0x0001, 0x0002, 0xfffe, 0x7fff\n") < 0)
		return;
	et_state_pm32(&t.st);
	et_set(&t);
	CHECK_EQ(et_run(&t), EXIT_HLT, "emu mmx packs: stops at HLT");
	CHECK_EQ(et_r64(&t, ET_DATA), 0x7ffe0201807f807full, "emu mmx: PACKSSWB saturates signed");
	CHECK_EQ(et_r64(&t, ET_DATA + 8), 0xff000201007f00ffull, "emu mmx: PACKUSWB saturates unsigned");
	CHECK_EQ(et_r64(&t, ET_DATA + 0x10), 0x7fff7fff80008000ull, "emu mmx: PACKSSDW saturates dwords");
	CHECK_EQ(et_r64(&t, ET_DATA + 0x18), 0x7fff8000fffe007full, "emu mmx: PUNPCKHWD");
	CHECK_EQ(et_r64(&t, ET_DATA + 0x20), 0x7ffffffe8000007full, "emu mmx: PUNPCKHDQ");
	et_free(&t);
}

int main(void)
{
	if (!et_have_nasm()) {
		printf("SKIP emu snippets: nasm is not installed\n");
		return 0;
	}
	test_arith();
	test_stack_strings();
	test_exceptions32();
	test_io();
	test_mmio();
	test_page_fault();
	test_smc();
	test_interrupts();
	test_triple_fault();
	test_mode_switch();
	test_long_mode_exc();
	test_fpu_mmx();
	test_fpu_special();
	test_mmx_packs();
	test_rep_spans();
	test_v86();
	test_task_switch();
	return CHECK_DONE();
}
