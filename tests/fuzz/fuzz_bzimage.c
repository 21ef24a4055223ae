/* libFuzzer target: a bzImage's setup header (linux_header.c) and the
 * bzImage loader behind it (linux_bzimage.c). The input is the kernel
 * file. The header parser must accept or refuse it with one line, and
 * what it accepts must describe the file: the setup code and the kernel
 * inside it, the kernel where the header says it is. */
#include "fuzz.h"

#include "boot/boot_layout.h"
#include "boot/linux_header.h"
#include "boot/loaders.h"

#define RAM (64 * MiB)

static void check_image(const struct boot_file *f, const struct linux_image *img)
{
	FUZZ_CHECK(img->hdr_end > LINUX_HDR_OFFSET && img->hdr_end <= f->size);
	FUZZ_CHECK(img->setup_size >= img->hdr_end && img->setup_size < f->size);
	FUZZ_CHECK(img->kernel_offset == img->setup_size);
	FUZZ_CHECK(img->kernel_offset + img->kernel_size == f->size);
	FUZZ_CHECK((uint64_t)img->hdr.syssize * 16 <= img->kernel_size);
	FUZZ_CHECK(img->mem_needed >= img->kernel_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem *m = fuzz_guest_mem(RAM);
	struct boot_file f = { .what = "kernel", .path = "fuzz-input", .data = (uint8_t *)data,
			       .size = size };
	char err[256];
	struct linux_image img;
	err[0] = 0;
	if (linux_parse_header(&f, &img, err, sizeof(err)) == 0)
		check_image(&f, &img);
	else
		fuzz_check_message(err);

	struct boot_config c = { .kernel = "fuzz-input", .cmdline = "console=ttyS0 root=/dev/vda",
				 .ncpus = 1 };
	struct cpu_state s;
	err[0] = 0;
	if (load_bzimage(m, &c, &f, &s, err, sizeof(err)) < 0)
		fuzz_check_message(err);
	return 0;
}
