/* A guest that does what no sane guest does, one mode per run (the
 * command line's first word), each ending with "hostile: MODE done ..."
 * and debug-exit 0x21 (status 67) when the machine survived it as
 * hardware would:
 *   ports    IN and OUT of byte, word and dword at every port (OUT writes
 *            0; the debug-exit port is left out, it would end the run)
 *   pages    a read of every 64 KiB of the 4 GiB physical space
 *   opcodes  every one-byte opcode x86 reserves, and 0F xx holes: #UD each
 *   tables   page tables whose entries point far beyond RAM
 *   storm    the PIT at its fastest and the local APIC timer periodic at
 *            its shortest, with IF set: as on hardware the guest then
 *            gets next to no instruction in between; only a signal ends it
 *   slowstorm the same with the APIC timer at 10 kHz, until 5000 came
 * (tests/guest/hostile_guest.sh). */
#include "desc.h"
#include "guest.h"
#include "io.h"
#include "multiboot.h"
#include "serial.h"
#include "trap.h"

#define DONE_CODE 0x21
#define LAPIC 0xfee00000u

static volatile uint32_t faults, ticks, storm_count = 1;

static int mode_is(const char *cmd, const char *m)
{
	while (*cmd && *cmd != ' ')
		cmd++;                  /* the kernel's path comes first */
	while (*cmd == ' ')
		cmd++;
	while (*m && *cmd == *m)
		cmd++, m++;
	return !*m && (!*cmd || *cmd == ' ');
}

static void ports(void)
{
	uint32_t sum = 0;
	for (uint32_t p = 0; p <= 0xffff; p++) {
		if (p >= 0xf4 && p <= 0xf7)
			continue;
		sum += inb((uint16_t)p) + inw((uint16_t)p) + inl((uint16_t)p);
		outb((uint16_t)p, 0);
		outw((uint16_t)p, 0);
		outl((uint16_t)p, 0);
	}
	serial_init();      /* the zeros went to COM1's registers too */
	kprintf("hostile: ports done (sum %x)\n", sum);
}

static void pages(void)
{
	uint32_t ones = 0;
	for (uint64_t a = 0; a < (1ull << 32); a += 0x10000) {
		uint32_t v = *(volatile uint32_t *)(uintptr_t)(uint32_t)a;
		ones += v == 0xffffffffu;
	}
	kprintf("hostile: pages done (%u reads gave all ones)\n", ones);
}

static volatile uint32_t resume_at, esp_save;
static void on_fault(struct trap_frame *f)
{
	faults++;
	f->eip = resume_at;
}

/* Each candidate sits alone, followed by a jump back to the loop: #UD
 * resumes there too. */
static void opcodes(void)
{
	static const uint8_t invalid[][3] = {
		{ 0x0f, 0x0b }, { 0x0f, 0xff, 0xc0 }, { 0x0f, 0xb9, 0xc0 }, { 0x0f, 0x04 },
		{ 0x0f, 0x0a }, { 0x0f, 0x0c }, { 0x0f, 0x24 }, { 0x0f, 0x25 }, { 0x0f, 0x26 },
		{ 0x0f, 0x27 }, { 0x0f, 0x36 }, { 0x0f, 0x39 }, { 0x0f, 0x3b }, { 0x0f, 0x3c },
		{ 0x0f, 0x3e }, { 0x0f, 0x3f }, { 0x0f, 0x7a }, { 0x0f, 0x7b },
		{ 0xfe, 0xd0 }, { 0xfe, 0xf8 }, { 0xff, 0xf8 }, { 0xff, 0xd8 }, { 0x8d, 0xc0 },
		{ 0xc4, 0xc0 }, { 0xc5, 0xc0 }, { 0x8c, 0xf8 }, { 0x8e, 0xf8 }, { 0x8f, 0xc8 },
	};
	static uint8_t code[8];
	trap_set_handler(6, on_fault);
	unsigned n = sizeof(invalid) / sizeof(invalid[0]);
	for (unsigned k = 0; k < n; k++) {
		for (unsigned b = 0; b < 3; b++)
			code[b] = invalid[k][b];
		code[3] = 0xc3;     /* ret, should an opcode be valid after all */
		/* a #UD inside the CALL leaves its return address pushed:
		 * ESP comes back from esp_save */
		__asm__ volatile("movl $1f, resume_at\n\t"
				 "movl %%esp, esp_save\n\t"
				 "call *%0\n\t"
				 "jmp 2f\n"
				 "1:\tmovl esp_save, %%esp\n"
				 "2:" : : "r"(code) : "memory", "eax", "ecx", "edx");
	}
	kprintf("hostile: opcodes done (%u of %u raised #UD)\n", faults, n);
}

static uint32_t pd[1024] __attribute__((aligned(4096)));
static void on_pf(struct trap_frame *f)
{
	faults++;
	f->eip = resume_at;
}

static void tables(void)
{
	trap_set_handler(14, on_pf);
	/* 4 MiB identity pages for the first 64 MiB; above, entries that
	 * point at tables and pages nothing backs */
	for (unsigned i = 0; i < 1024; i++)
		pd[i] = i < 16 ? (i << 22) | 0x83 : 0;
	pd[0x100] = 0xf0000003;             /* a page table in no RAM: reads all ones */
	pd[0x101] = 0xfffff003;
	pd[0x102] = 0x80000083;             /* a 4 MiB page at 2 GiB */
	pd[0x103] = 0xe0000003;
	write_cr4(read_cr4() | 0x10);
	write_cr3((uint32_t)(uintptr_t)pd);
	write_cr0(read_cr0() | 0x80000000u);
	uint32_t seen = 0;
	for (uint32_t va = 0x40000000; va < 0x41000000; va += 0x1000) {
		__asm__ volatile("movl $1f, resume_at\n\t"
				 "movl (%1), %%eax\n\t"
				 "addl %%eax, %0\n"
				 "1:" : "+r"(seen) : "r"(va) : "eax", "memory");
	}
	write_cr0(read_cr0() & ~0x80000000u);
	kprintf("hostile: tables done (%u page faults, sum %x)\n", faults, seen);
}

/* The storm's handlers are bare: EOI and IRET. The trap library's
 * return path (POPF, then RET) opens IF one instruction early, and under
 * a storm every interrupt would nest into the next until the stack ran
 * out — on hardware as well. */
extern char storm_pit[], storm_lapic[];
__asm__(".text\n"
	"storm_pit:\n\tpushl %eax\n\tincl ticks\n\tmovb $0x20, %al\n\toutb %al, $0x20\n"
	"\tpopl %eax\n\tiret\n"
	"storm_lapic:\n\tincl ticks\n\tmovl $0, 0xfee000b0\n\tiret\n");

static void storm(const char *name)
{
	pic_remap(0x20, 0x28);
	idt_set(0x20, gate_desc(SEL_KCODE32, (uint32_t)(uintptr_t)storm_pit, SYS_INTGATE32, 0, 0));
	idt_set(0x40, gate_desc(SEL_KCODE32, (uint32_t)(uintptr_t)storm_lapic, SYS_INTGATE32, 0, 0));
	outb(0x21, 0xfe);                   /* only IRQ 0 */
	outb(0x43, 0x34);                   /* PIT channel 0, rate generator */
	outb(0x40, 1);
	outb(0x40, 0);                      /* divisor 1: the fastest it goes */
	volatile uint32_t *lapic = (volatile uint32_t *)(uintptr_t)LAPIC;
	lapic[0xf0 / 4] = 0x1ff;            /* software enable */
	lapic[0x3e0 / 4] = 0xb;             /* divide by 1 */
	lapic[0x320 / 4] = 0x40 | (1u << 17);   /* periodic, vector 0x40 */
	lapic[0x380 / 4] = storm_count;
	/* The guest gets about one instruction per interrupt, on hardware as
	 * here: count interrupts, not loop turns. */
	__asm__ volatile("sti");
	uint32_t turns = 0;
	while (ticks < 5000)
		turns++;
	__asm__ volatile("cli");
	lapic[0x320 / 4] = 1u << 16;
	outb(0x21, 0xff);
	kprintf("hostile: %s done (%u interrupts, %u turns)\n", name, ticks, turns);
}

void guest_main(void)
{
	trap_init();
	const char *cmd = multiboot_cmdline();
	if (mode_is(cmd, "ports"))
		ports();
	else if (mode_is(cmd, "pages"))
		pages();
	else if (mode_is(cmd, "opcodes"))
		opcodes();
	else if (mode_is(cmd, "tables"))
		tables();
	else if (mode_is(cmd, "storm"))
		storm("storm");
	else if (mode_is(cmd, "slowstorm")) {
		storm_count = 100000;
		storm("slowstorm");
	}
	else {
		kprintf("hostile: no such mode: %s\n", cmd);
		debug_exit(1);
	}
	debug_exit(DONE_CODE);
}
