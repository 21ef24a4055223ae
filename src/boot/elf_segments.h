/* Loadable segments of an ELF file (ELF32 for multiboot, ELF64 for a
 * vmlinux), every offset and size checked against the file before use,
 * and the copy of those segments into guest memory. */
#ifndef POPEK_ELF_SEGMENTS_H
#define POPEK_ELF_SEGMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "boot/boot_file.h"
#include "mem/guest_mem.h"

#define ELF_MAX_SEGMENTS 64

struct load_segment {
	uint64_t paddr, vaddr;
	uint64_t offset, filesz, memsz;
};

struct elf_image {
	int elf_class;          /* ELFCLASS32 or ELFCLASS64 */
	uint64_t entry;
	int nseg;
	struct load_segment seg[ELF_MAX_SEGMENTS];
	uint64_t low, high;     /* physical extent of all segments */
};

/* The ELF class (ELFCLASS32/64) when f starts with an ELF identification
 * for little-endian x86 (EM_386 / EM_X86_64), else 0. */
int elf_class_of(const struct boot_file *f);
/* Reads the PT_LOAD headers; -1 with a message naming f when the header
 * table or a segment lies beyond the file, or a segment is absurd. */
int elf_read_segments(const struct boot_file *f, struct elf_image *img, char *err, size_t n);
/* Copies the segments to their physical addresses and zeroes their BSS;
 * -1 with a message when one is not in RAM or overlaps popek's boot
 * structures (for a machine of ncpus vCPUs; low_end as boot_area_conflict). */
int load_segments(const struct guest_mem *m, const struct boot_file *f,
		  const struct load_segment *seg, int nseg, int ncpus, uint64_t low_end, char *err,
		  size_t n);

#endif
