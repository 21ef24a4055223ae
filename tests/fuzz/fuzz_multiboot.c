/* libFuzzer target: the Multiboot header (multiboot_header.c: the search,
 * the flag check, the a.out kludge's segment) and the Multiboot loader
 * behind it (multiboot.c, multiboot_info.c, the ELF32 path through
 * elf_segments.c). The input is the kernel file. */
#include "fuzz.h"

#include "boot/boot_layout.h"
#include "boot/loaders.h"
#include "boot/multiboot_header.h"

#define RAM (20 * MiB)  /* the seeds load at 1 and 16 MiB; a BSS zeroed costs its size */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem *m = fuzz_guest_mem(RAM);
	struct boot_file f = { .what = "kernel", .path = "fuzz-input", .data = (uint8_t *)data,
			       .size = size };
	char err[256];
	struct mb_header h;
	if (multiboot_find(&f, &h)) {
		FUZZ_CHECK(h.offset % 4 == 0 && h.offset < MB_SEARCH_BYTES);
		FUZZ_CHECK(boot_file_has(&f, h.offset, 12));
		err[0] = 0;
		if (multiboot_check(&f, &h, err, sizeof(err)) < 0) {
			fuzz_check_message(err);
		} else if (h.flags & MB_AOUT_KLUDGE) {
			struct load_segment seg;
			err[0] = 0;
			if (multiboot_aout_segment(&f, &h, &seg, err, sizeof(err)) == 0) {
				FUZZ_CHECK(boot_file_has(&f, seg.offset, seg.filesz));
				FUZZ_CHECK(seg.memsz >= seg.filesz);
				FUZZ_CHECK(seg.paddr == h.load_addr);
			} else {
				fuzz_check_message(err);
			}
		}
	}

	struct boot_config c = { .kernel = "fuzz-input", .cmdline = "console=ttyS0", .ncpus = 1 };
	struct cpu_state s;
	err[0] = 0;
	if (load_multiboot(m, &c, &f, &s, err, sizeof(err)) < 0)
		fuzz_check_message(err);
	return 0;
}
