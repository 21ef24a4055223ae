/* The trap benchmark guest (bench/run-raw): N round trips of one kind of
 * trap, timed with the TSC (popek's engines run it at 1 GHz, so ticks are
 * nanoseconds), printed as "TRAPS kind n N ticks T". Kinds, from the
 * command line ("kind=... n=..."):
 *   cpuid  an instruction the engine answers itself (under raw: a patched
 *          sensitive instruction, a trap into the monitor and back)
 *   out    a write to port 0x80, which the machine's POST-code device takes
 *          (a trap that reaches a device model)
 *   cli    CLI then STI (two traps under raw, each answered by the monitor)
 *   cr3    a CR3 reload under 32-bit paging (a shadow flush each under raw,
 *          and the page faults that refill what the loop touches)
 *   pte    a write to a page-table entry and INVLPG of its page
 *   rdtsc  RDTSC (under raw: a trap the stub answers without popek)
 *   none   the empty loop, for subtraction. */
#include "guest.h"
#include "io.h"
#include "multiboot.h"
#include "paging.h"
#include "serial.h"

/* Identity-maps the first 8 MiB with 4 KiB pages and turns paging on. */
static uint32_t *paging_on(void)
{
	uint32_t *pd = pt_alloc();
	for (uint32_t a = 0; pd && a < (8u << 20); a += 4096)
		if (pt_map_32(pd, a, a, 4096, PG_P | PG_W) != 0)
			return 0;
	__asm__ volatile("movl %0, %%cr3\n\tmovl %%cr0, %%eax\n\torl $0x80000000, %%eax\n\tmovl %%eax, %%cr0"
			 : : "r"(pd) : "eax", "memory");
	return pd;
}

static const char *const kinds[] = { "cpuid", "out", "none", "cli", "cr3", "pte", "rdtsc" };

void guest_main(void)
{
	const char *cmd = multiboot_cmdline();
	const char *nopt = strstr(cmd, "n=");
	uint32_t n = nopt ? (uint32_t)strtoul(nopt + 2, 0, 0) : 10000;
	const char *kopt = strstr(cmd, "kind=");
	int kind = 0;
	for (int k = 1; kopt && k < 7; k++)
		if (strstr(kopt, kinds[k]) == kopt + 5)
			kind = k;
	uint32_t *pd = kind >= 4 ? paging_on() : 0;
	if (kind >= 4 && !pd) {
		kprintf("traps: cannot build page tables\n");
		debug_exit(1);
	}
	/* the entry for linear 0x700000 (a page the loop does not touch otherwise) */
	volatile uint32_t *pte = pd ? (uint32_t *)(uintptr_t)(pd[0x700000 >> 22] & ~0xfffu) + ((0x700000 >> 12) & 0x3ff) : 0;
	/* one loop per kind, chosen outside: a switch inside would add an
	 * indirect jump of its own to every round */
	uint64_t t0 = rdtsc();
	switch (kind) {
	case 0:
		for (uint32_t i = 0; i < n; i++) {
			uint32_t a = 0, b, c = 0, d;
			__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		}
		break;
	case 1:
		for (uint32_t i = 0; i < n; i++)
			outb(0x80, (uint8_t)i);
		break;
	case 3:
		for (uint32_t i = 0; i < n; i++)
			__asm__ volatile("cli; sti" ::: "memory");
		break;
	case 4:
		for (uint32_t i = 0; i < n; i++)
			__asm__ volatile("movl %0, %%cr3" : : "r"(pd) : "memory");
		break;
	case 6:
		for (uint32_t i = 0; i < n; i++)
			(void)rdtsc();
		break;
	case 5:
		for (uint32_t i = 0; i < n; i++) {
			*pte = (0x700000 + ((i & 1) << 12)) | PG_P | PG_W;
			__asm__ volatile("invlpg (%0)" : : "r"(0x700000) : "memory");
		}
		break;
	default:
		for (uint32_t i = 0; i < n; i++)
			__asm__ volatile("" ::: "memory");
		break;
	}
	uint64_t t1 = rdtsc();
	kprintf("TRAPS %s n %u ticks %u\n", kinds[kind], n, (uint32_t)(t1 - t0));
	debug_exit(0);
}
