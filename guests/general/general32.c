/* conf_general: the general-instruction checks of guests/checks/general,
 * general_checks_32 in legacy 32-bit protected mode (paging off), then
 * general_checks_64 in 64-bit mode from the blob linked at 0x400000. */
#include "guest.h"
#include "io.h"
#include "longmode.h"
#include "shared64.h"
#include "trap.h"
#include "conf.h"

void general_checks_32(void);

/* x87 and SSE usable: CR0.EM off, MP on, TS off; CR4.OSFXSR and
 * OSXMMEXCPT on (Intel SDM vol. 3A 13.1.3). */
static void fpu_sse_init(void)
{
	write_cr0((read_cr0() & ~0xcu) | 0x2u);
	write_cr4(read_cr4() | 0x600u);
	__asm__ volatile("fninit");
}

void guest_main(void)
{
	static struct lm_shared shared;
	conf_known_kvm_pvm();
	trap_init();
	fpu_sse_init();
	general_checks_32();
	lm_init();
	shared.counts = (uint32_t)(uintptr_t)report_counts;
	shared.trap_last = (uint32_t)(uintptr_t)&trap_last;
	shared.trap_armed = (uint32_t)(uintptr_t)&trap_armed;
	shared.trap_resume = (uint32_t)(uintptr_t)&trap_resume;
	lm_call64(0x400000, (uint32_t)(uintptr_t)&shared);
}
