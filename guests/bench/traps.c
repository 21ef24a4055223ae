/* The trap benchmark guest (bench/run-raw): N round trips of one kind of
 * trap, timed with the TSC (popek's engines run it at 1 GHz, so ticks are
 * nanoseconds), printed as "TRAPS kind n N ticks T". Kinds, from the
 * command line ("kind=... n=..."):
 *   cpuid  an instruction the engine answers itself (under raw: a patched
 *          sensitive instruction, a trap into the monitor and back)
 *   out    a write to port 0x80, which the machine's POST-code device takes
 *          (a trap that reaches a device model)
 *   none   the empty loop, for subtraction. */
#include "guest.h"
#include "io.h"
#include "multiboot.h"
#include "serial.h"

void guest_main(void)
{
	const char *cmd = multiboot_cmdline();
	const char *nopt = strstr(cmd, "n=");
	uint32_t n = nopt ? (uint32_t)strtoul(nopt + 2, 0, 0) : 10000;
	int kind = strstr(cmd, "kind=out") ? 1 : strstr(cmd, "kind=none") ? 2 : 0;
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		if (kind == 0) {
			uint32_t a = 0, b, c = 0, d;
			__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		} else if (kind == 1) {
			outb(0x80, (uint8_t)i);
		} else {
			__asm__ volatile("" ::: "memory");
		}
	}
	uint64_t t1 = rdtsc();
	kprintf("TRAPS %s n %u ticks %u\n", kind == 0 ? "cpuid" : kind == 1 ? "out" : "none", n,
		(uint32_t)(t1 - t0));
	debug_exit(0);
}
