/* The CPU states popek's loaders start a boot vCPU in, and the small GDT
 * each of them needs in guest memory to back its segment caches. */
#ifndef POPEK_ENTRY_STATE_H
#define POPEK_ENTRY_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_state.h"
#include "mem/guest_mem.h"

/* The 32-bit flat GDT (multiboot, flat protected mode). */
#define SEL_CODE32 0x08
#define SEL_DATA32 0x10
/* The Linux 64-bit boot protocol's __BOOT_CS and __BOOT_DS. */
#define SEL_BOOT_CS 0x10
#define SEL_BOOT_DS 0x18

/* GDT descriptors: 4 GiB flat, accessed bit set so the cache we load
 * agrees with what the guest would read back. */
#define GDT_CODE32 0x00cf9b000000ffffull
#define GDT_DATA32 0x00cf93000000ffffull
#define GDT_CODE64 0x00af9b000000ffffull

#define SEG_TYPE_CODE_RX 0xb   /* execute/read, accessed */
#define SEG_TYPE_DATA_RW 0x3   /* read/write, accessed */
#define SEG_TYPE_TSS_BUSY 0xb

/* 32-bit protected mode, paging off, flat segments from the GDT at
 * BOOT_GDT (written here); EFLAGS 2, IDT limit 0, EIP = entry. */
int entry_prot32(const struct guest_mem *m, struct cpu_state *s, uint32_t entry, char *err,
		 size_t n);
/* 32-bit protected mode as the Linux 32-bit boot protocol wants it: flat
 * __BOOT_CS/__BOOT_DS, paging off, ESI = zero page, EBP = EDI = EBX = 0,
 * interrupts off. */
int entry_linux32(const struct guest_mem *m, struct cpu_state *s, uint32_t entry, uint32_t esi,
		  char *err, size_t n);
/* 64-bit long mode as the Linux 64-bit boot protocol wants it: GDT with
 * __BOOT_CS/__BOOT_DS, identity page tables for the first 4 GiB, RSI =
 * zero page, interrupts off. */
int entry_long64(const struct guest_mem *m, struct cpu_state *s, uint64_t entry, uint64_t rsi,
		 char *err, size_t n);
/* Real mode with CS:IP reaching addr: CS = 0 below 64 KiB, else
 * CS = addr >> 4 and IP = addr & 15; other segments 0, SP BOOT_REAL_SP. */
void entry_real(struct cpu_state *s, uint64_t addr);

#endif
