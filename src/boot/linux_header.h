/* Reading and checking a bzImage's setup header. */
#ifndef POPEK_LINUX_HEADER_H
#define POPEK_LINUX_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "boot/boot_file.h"
#include "boot/linux_params.h"

struct linux_image {
	struct setup_header hdr;  /* the image's header, zero past its end */
	uint64_t hdr_end;         /* file offset where the header ends (0x202 + byte 0x201) */
	uint64_t setup_size;      /* real-mode part: (setup_sects + 1) * 512, setup_sects 0 meaning 4 */
	uint64_t kernel_offset;   /* the protected-mode kernel in the file */
	uint64_t kernel_size;
	uint64_t load_addr;       /* where popek puts it: pref_address when relocatable (or, with
				   * none, 1 MiB aligned up to kernel_alignment), else 1 MiB */
	uint64_t run_addr;        /* boot.rst's runtime start, where it decompresses and runs:
				   * load_addr aligned up to kernel_alignment when relocatable,
				   * else pref_address (1 MiB when that is 0) */
	uint64_t mem_needed;      /* bytes from load_addr it needs before it has read the memory
				   * map: to the end of the image or of init_size from run_addr */
};

/* True when f carries a setup header ("HdrS" at 0x202, boot flag 0xAA55). */
int linux_is_bzimage(const struct boot_file *f);
/* Parses and checks the header (protocol >= 2.12, LOADED_HIGH, sizes inside
 * the file, kernel_alignment a power of two when relocatable, placement that
 * does not overflow); -1 with a message naming the file and the field. */
int linux_parse_header(const struct boot_file *f, struct linux_image *img, char *err, size_t n);
/* Length of cmdline against the header's cmdline_size and popek's buffer;
 * -1 with a message. */
int linux_check_cmdline(const struct setup_header *h, const char *cmdline, char *err, size_t n);

#endif
