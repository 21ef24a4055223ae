/* libFuzzer target: ELF32 and ELF64 images (elf_segments.c) and the
 * vmlinux loader (linux_vmlinux.c, with its PVH note walk). The input is
 * the kernel file. Every segment the reader accepts must lie inside the
 * file and fit its memory size; loading must stay inside guest RAM. */
#include <elf.h>

#include "fuzz.h"

#include "boot/boot_layout.h"
#include "boot/elf_segments.h"
#include "boot/linux_vmlinux.h"
#include "boot/loaders.h"

#define RAM (20 * MiB)  /* the seeds load at 1 and 16 MiB; a BSS zeroed costs its size */

static void check_segments(const struct boot_file *f, const struct elf_image *img)
{
	FUZZ_CHECK(img->elf_class == ELFCLASS32 || img->elf_class == ELFCLASS64);
	FUZZ_CHECK(img->nseg > 0 && img->nseg <= ELF_MAX_SEGMENTS);
	for (int i = 0; i < img->nseg; i++) {
		const struct load_segment *s = &img->seg[i];
		FUZZ_CHECK(boot_file_has(f, s->offset, s->filesz));
		FUZZ_CHECK(s->memsz >= s->filesz && s->memsz > 0);
		FUZZ_CHECK(s->paddr + s->memsz >= s->paddr);
		FUZZ_CHECK(s->paddr >= img->low && s->paddr + s->memsz <= img->high);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem *m = fuzz_guest_mem(RAM);
	struct boot_file f = { .what = "kernel", .path = "fuzz-input", .data = (uint8_t *)data,
			       .size = size };
	char err[256];
	struct elf_image img;
	err[0] = 0;
	if (elf_read_segments(&f, &img, err, sizeof(err)) == 0) {
		check_segments(&f, &img);
		err[0] = 0;
		if (load_segments(m, &f, img.seg, img.nseg, 2, BOOT_LOW_USED_END, err, sizeof(err)) < 0)
			fuzz_check_message(err);
	} else {
		fuzz_check_message(err);
	}

	uint32_t entry;
	(void)linux_pvh_entry(&f, &entry);

	struct boot_config c = { .kernel = "fuzz-input", .cmdline = "console=ttyS0", .ncpus = 1 };
	struct cpu_state s;
	err[0] = 0;
	if (load_vmlinux(m, &c, &f, &s, err, sizeof(err)) < 0)
		fuzz_check_message(err);
	return 0;
}
