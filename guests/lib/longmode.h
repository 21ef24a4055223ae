/* Long mode for the 32-bit runtime. lm_init() builds identity-mapped
 * 4-level page tables for the low 4 GiB (2 MiB pages, user-accessible), a
 * 64-bit IDT and TSS, turns on IA-32e mode and comes back to the caller in
 * *compatibility mode*: the same 32-bit C code, TRY() and ring_run() keep
 * working, with exceptions now delivered through the 64-bit IDT to 64-bit
 * handlers (lm_entry.S). lm_exit() returns to legacy protected mode with
 * paging off and the 32-bit IDT/TSS. */
#ifndef GUEST_LONGMODE_H
#define GUEST_LONGMODE_H
#include <stdint.h>

extern int lm_active;
extern uint64_t lm_pml4[512], lm_pdpt[512], lm_pd[4][512];
extern uint64_t idt64[256][2];
void lm_init(void);
void lm_exit(void);
/* Calls a function of the 64-bit half (code linked at 0x400000) in 64-bit
 * mode with one argument; returns its result to compatibility mode. */
uint64_t lm_call64(uint32_t fn, uint32_t arg);
/* How the 64-bit handler treats an interrupt vector with nothing armed. */
enum { LM_VEC_FATAL = 0, LM_VEC_COUNT_PIC = 1, LM_VEC_COUNT_LAPIC = 2, LM_VEC_COUNT = 3 };
extern uint8_t lm_vector_kind[256];
extern volatile uint32_t lm_vector_count[256];
void idt64_set(unsigned vector, uint16_t sel, uint64_t offset, unsigned type, unsigned dpl, unsigned ist);
uint32_t trap64_stub_address(unsigned vector);
#endif
