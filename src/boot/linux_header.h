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
	uint64_t setup_size;      /* real-mode part: (setup_sects + 1) * 512 */
	uint64_t kernel_offset;   /* the protected-mode kernel in the file */
	uint64_t kernel_size;
	uint64_t load_addr;       /* pref_address when relocatable, else 1 MiB */
	uint64_t mem_needed;      /* bytes from load_addr: init_size or the image, whichever is more */
};

/* True when f carries a setup header ("HdrS" at 0x202, boot flag 0xAA55). */
int linux_is_bzimage(const struct boot_file *f);
/* Parses and checks the header (protocol >= 2.12, 64-bit entry, sizes
 * inside the file); -1 with a message naming the file. */
int linux_parse_header(const struct boot_file *f, struct linux_image *img, char *err, size_t n);
/* Length of cmdline against the header's cmdline_size; -1 with a message. */
int linux_check_cmdline(const struct setup_header *h, const char *cmdline, char *err, size_t n);

#endif
