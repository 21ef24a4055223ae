/* Putting an initrd (or a multiboot module) into guest memory. */
#ifndef POPEK_INITRD_H
#define POPEK_INITRD_H

#include <stddef.h>
#include <stdint.h>

#include "mem/guest_mem.h"

struct initrd {
	uint64_t addr;   /* guest-physical, page aligned; 0 when there is none */
	uint64_t size;
};

/* Highest page-aligned address at which size bytes fit below top and at
 * or above floor; 0 when they do not. */
uint64_t initrd_place_high(uint64_t size, uint64_t floor, uint64_t top);

/* Loads path (NULL: no initrd, rd zeroed) as high as possible in
 * [floor, min(top, end of low RAM)); -1 with a message when it does not fit,
 * which blames the kernel's limit (top - 1 is the highest byte it takes,
 * named top_name in the message: "initrd_addr_max") when that is what keeps
 * it out, and asks for more memory only when more would help. */
int initrd_load_high(const struct guest_mem *m, const char *path, uint64_t floor, uint64_t top,
		     const char *top_name, struct initrd *rd, char *err, size_t n);
/* Loads path at the first page boundary at or above floor. */
int initrd_load_at_floor(const struct guest_mem *m, const char *path, uint64_t floor,
			 struct initrd *rd, char *err, size_t n);

#endif
