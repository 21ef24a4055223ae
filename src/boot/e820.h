/* The e820 memory map popek reports to every guest (Linux zero page,
 * multiboot mmap): what a PC BIOS would answer to INT 15h/E820h for the
 * machine's guest_mem. */
#ifndef POPEK_E820_H
#define POPEK_E820_H

#include <stdint.h>

#include "mem/guest_mem.h"

#define E820_RAM      1
#define E820_RESERVED 2

/* The layout of one entry in the zero page and in INT 15h/E820h answers. */
struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

_Static_assert(sizeof(struct e820_entry) == 20, "e820 entries are 20 bytes");

/* Most entries e820_build ever produces. */
#define E820_MAX_BUILT (2 * MEM_MAX_REGIONS + 2)

/* Fills out with the map, sorted by address: RAM below the EBDA, the EBDA
 * and the BIOS area reserved, RAM from 1 MiB, RAM above 4 GiB. Returns the
 * number of entries (never more than max). */
int e820_build(const struct guest_mem *m, struct e820_entry *out, int max);

#endif
