/* Real mode and 16-bit protected mode, through a trampoline copied below
 * 1 MiB (RM_BASE). rm_run() goes 32-bit protected mode -> 16-bit protected
 * mode -> real mode -> back, running the fixed probes of realmode.S on the
 * way and leaving their results in the copied block. Paging must be off.
 * Real-mode exceptions go through a real-mode IVT of the trampoline's own
 * (vector 13 records and skips the unreal-mode probe). */
#ifndef GUEST_REALMODE_H
#define GUEST_REALMODE_H
#include <stdint.h>

#define RM_BASE 0x8000u
extern char rm_block[];
/* The results, as symbols inside the block; read them through RM_AT. */
extern char res_pm16_push[], res_msw[], res_cs[], res_seg[], res_unreal[], res_unreal_gp[],
	res_int[], res_op32[], res_cpuid_ebx[], res_rm_flags[];
#define RM_AT(sym) ((volatile void *)(uintptr_t)((uint32_t)(uintptr_t)(sym) - (uint32_t)(uintptr_t)rm_block + RM_BASE))
void rm_run(void);
#endif
