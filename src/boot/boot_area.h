/* The guest memory popek's own boot structures occupy, so a kernel that
 * asks to be loaded over one of them gets a clear error instead of a
 * silently corrupted GDT, information structure or MP table. */
#ifndef POPEK_BOOT_AREA_H
#define POPEK_BOOT_AREA_H

#include <stdint.h>

/* The name of the first boot structure [start, end) overlaps, or NULL.
 * low_end: where the fixed low-memory structures end for this protocol
 * (BOOT_LOW_USED_END for Linux, BOOT_MB_FIXED_END for multiboot). */
const char *boot_area_conflict(uint64_t start, uint64_t end, int ncpus, uint64_t low_end);

#endif
