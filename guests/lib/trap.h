/* Exception capture and ring switching for 32-bit protected mode.
 *
 * TRY(insns, operands...) runs a few instructions with capture armed: if
 * one of them raises an exception (or executes INT n through a gate with no
 * handler) the CPU's view of it lands in trap_last and execution continues
 * right after the instructions, with the registers as the exception left
 * them. A vector with a handler (trap_set_handler, e.g. a timer) goes to
 * that handler instead; any other exception ends the guest with a FAIL.
 * trap_insn holds the address of the first instruction, so a fault's EIP can
 * be compared with it; trap_resume the address just past the last one. */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H
#include <stdint.h>

struct trap_frame {
	uint32_t edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax;
	uint32_t es, ds;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
	uint32_t esp, ss;	/* pushed only on a change of privilege level */
};

struct trap_info {
	uint32_t vector;	/* TRAP_NONE when nothing was raised */
	uint32_t error;		/* 0 for vectors that push none */
	uint32_t eip, cs, eflags;
	uint32_t esp, ss;	/* only when the exception came from an outer ring */
	uint32_t cr2;		/* read in the handler for #PF */
	uint32_t count;		/* exceptions captured since boot */
};

#define TRAP_NONE 0xffffffffu
extern volatile struct trap_info trap_last;
extern volatile uint32_t trap_armed, trap_resume, trap_insn;

/* The barriers around the asm matter: the instructions under test read
 * memory the check prepared (a TSS, a descriptor) and the handler writes
 * trap_last, neither of which the asm's operand lists name. Without them
 * the compiler may sink or drop those stores. */
#define TRY(insns, ...)                                          \
	do {                                                     \
		__asm__ volatile("" ::: "memory");               \
		__asm__ volatile("movl $-1, trap_last\n\t"        \
				 "movl $3f, trap_insn\n\t"        \
				 "movl $4f, trap_resume\n\t"      \
				 "movl $1, trap_armed\n\t"        \
				 "3:\n\t" insns "\n4:\n\t"        \
				 "movl $0, trap_armed" __VA_ARGS__); \
		__asm__ volatile("" ::: "memory");               \
	} while (0)

typedef void (*trap_handler)(struct trap_frame *f);

extern uint64_t idt[256];
void trap_init(void);	/* GDT already loaded; builds IDT and TSS */
void trap_set_handler(unsigned vector, trap_handler h);
void idt_set(unsigned vector, uint64_t gate);
/* The default gate of VECTOR: a 32-bit interrupt gate to its stub. */
uint64_t idt_default_gate(unsigned vector, unsigned dpl);
uint32_t trap_stub_address(unsigned vector);

/* Runs FN at privilege level CPL (1 or 3; 0 just calls it) with flat
 * segments of that ring and its own stack, then returns to ring 0 via
 * INT 0x81. EFLAGS (IF, IOPL) are the caller's. */
void ring_run(unsigned cpl, void (*fn)(void));
#define RING_EXIT_VECTOR 0x81

static inline void set_iopl(unsigned iopl)
{
	uint32_t f;
	__asm__ volatile("pushfl; popl %0" : "=r"(f));
	f = (f & ~0x3000u) | (iopl << 12);
	__asm__ volatile("pushl %0; popfl" : : "r"(f) : "memory", "cc");
}

/* Legacy interrupt hardware present on a PC (8259 PIC, 8254 PIT). */
void pic_remap(unsigned master_base, unsigned slave_base);
void pit_periodic(unsigned hz);
#endif
