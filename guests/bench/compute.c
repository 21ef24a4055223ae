/* The compute benchmark guest (bench/README.md, part d): fixed integer work
 * (and one SSE2 phase) in named phases, first in legacy 32-bit protected mode with paging off,
 * then in 64-bit mode under 4-level paging (the 64-bit half, compute64.c,
 * is the same phases built for x86-64). Every phase prints a checksum;
 * the guest itself checks that both modes agree and two known answers,
 * and ends with debug-exit 0 (all good) or 1.
 * "scale=N" on the command line multiplies the work (default 1). */
#include "compute.h"
#include "guest.h"
#include "io.h"
#include "longmode.h"
#include "multiboot.h"
#include "serial.h"
#include "trap.h"

#define BLOB64 0x400000u

static int known_answers_ok(uint8_t *work)
{
	static const char digits[] = "123456789";
	uint32_t crc = crc32_of((const uint8_t *)digits, 9), primes = primes_below_1m(work);
	int ok = crc == CRC32_CHECK_VALUE && primes == PRIMES_BELOW_1M;
	if (!ok)
		kprintf("FAIL known answers: crc32(\"123456789\") %08x (want %08x), primes below 1e6 %u (want %u)\n",
			crc, CRC32_CHECK_VALUE, primes, PRIMES_BELOW_1M);
	return ok;
}

/* SSE usable, for the fp phase: CR0.EM off, MP on, TS off; CR4.OSFXSR and
 * OSXMMEXCPT on (Intel SDM vol. 3A 13.1.3). The 64-bit half inherits it. */
static void sse_init(void)
{
	write_cr0((read_cr0() & ~0xcu) | 0x2u);
	write_cr4(read_cr4() | 0x600u);
}

void guest_main(void)
{
	static struct compute_shared shared;
	uint32_t sums32[PHASE_COUNT];
	const char *opt = strstr(multiboot_cmdline(), "scale=");
	uint32_t scale = opt ? (uint32_t)strtoul(opt + 6, 0, 0) : 1;
	uint8_t *work = (uint8_t *)(uintptr_t)COMPUTE_WORK;
	if (scale == 0)
		scale = 1;
	sse_init();
	kprintf("compute: scale %u, %u phases in prot32 then long64\n", scale, PHASE_COUNT);

	compute_run("prot32", scale, work, sums32);
	trap_init();
	lm_init();
	shared.scale = scale;
	shared.work = COMPUTE_WORK;
	lm_call64(BLOB64, (uint32_t)(uintptr_t)&shared);

	int ok = known_answers_ok(work);
	for (unsigned i = 0; i < PHASE_COUNT; i++)
		if (sums32[i] != shared.sums[i]) {
			kprintf("FAIL phase %s: prot32 %08x, long64 %08x\n", phases[i].name, sums32[i],
				shared.sums[i]);
			ok = 0;
		}
	kprintf("compute: %s\n", ok ? "done, modes agree" : "FAILED");
	debug_exit(ok ? 0 : 1);
}
