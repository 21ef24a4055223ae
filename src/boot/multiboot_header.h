/* The Multiboot (0.6.96) header: finding it, checking it, and turning its
 * a.out kludge fields into a load segment. */
#ifndef POPEK_MULTIBOOT_HEADER_H
#define POPEK_MULTIBOOT_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "boot/boot_file.h"
#include "boot/elf_segments.h"

#define MB_HEADER_MAGIC   0x1badb002u
#define MB_BOOT_MAGIC     0x2badb002u   /* EAX at entry */
#define MB_SEARCH_BYTES   8192
#define MB_PAGE_ALIGN     (1u << 0)     /* modules page aligned */
#define MB_MEMORY_INFO    (1u << 1)     /* mem_* and mmap wanted */
#define MB_VIDEO_MODE     (1u << 2)     /* video mode table wanted */
#define MB_AOUT_KLUDGE    (1u << 16)    /* load from the header's address fields */
#define MB_REQUIRED_MASK  0xffffu       /* bits a loader must fail on when it lacks them */
#define MB_KNOWN_REQUIRED (MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_VIDEO_MODE)

struct mb_header {
	uint64_t offset;        /* of the magic in the file */
	uint32_t flags;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* Finds a header with a valid checksum, 4-aligned in the first 8192
 * bytes: 1 with *h filled (address fields only when the kludge bit is
 * set), else 0. */
int multiboot_find(const struct boot_file *f, struct mb_header *h);
/* Checks the flags (no required bit popek lacks) and, with the kludge
 * bit, that the address fields are inside the file. -1 with a message
 * naming the file. Bit 2 (video mode) is accepted without a video table,
 * as QEMU does: popek has no graphics. */
int multiboot_check(const struct boot_file *f, const struct mb_header *h, char *err, size_t n);
/* The one segment the a.out kludge fields describe, with the spec's
 * checks (section 3.1.3); -1 with a message naming the file. */
int multiboot_aout_segment(const struct boot_file *f, const struct mb_header *h,
			   struct load_segment *seg, char *err, size_t n);

#endif
