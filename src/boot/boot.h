/* Loaders: put a kernel and its boot structures into guest memory and say
 * what state the boot vCPU starts in. No BIOS: popek builds what a
 * firmware would have left behind (e820, MP table, GDT, page tables). */
#ifndef POPEK_BOOT_H
#define POPEK_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "cpu_state.h"
#include "mem/guest_mem.h"

enum flat_mode { FLAT_REAL = 16, FLAT_PROT32 = 32 };

struct boot_config {
	const char *kernel;    /* path */
	const char *initrd;    /* path or NULL */
	const char *cmdline;   /* NULL = empty */
	int ncpus;
	int flat;              /* --load given: a flat binary */
	uint64_t load_addr;
	enum flat_mode flat_mode;
};

/* The mode the image's entry runs in, from its first bytes: 32 for a
 * multiboot kernel, an i386 bzImage or a 32-bit flat binary, 64 for a
 * 64-bit bzImage or vmlinux, 16 for a real-mode flat binary, 0 when the
 * file is unreadable or of no kind popek knows (boot_load says why). */
int boot_kernel_bits(const struct boot_config *c);
/* Detects the image kind (multiboot, bzImage, ELF64 vmlinux; flat when asked),
 * loads it and the initrd, writes the platform tables, and fills *bsp with
 * the entry state. 0, or -1 with one readable line in err. */
int boot_load(struct guest_mem *m, const struct boot_config *c, struct cpu_state *bsp,
	      char *err, size_t n);

#endif
