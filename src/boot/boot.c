/* boot_load: read the kernel, tell which kind it is, write the platform
 * tables every guest gets (MP and ACPI), and hand over to that kind's loader. */
#include "boot/boot.h"

#include <elf.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/boot_error.h"
#include "boot/boot_file.h"
#include "boot/elf_segments.h"
#include "boot/linux_header.h"
#include "boot/loaders.h"
#include "boot/mptable.h"
#include "boot/multiboot_header.h"

typedef int (*loader_fn)(struct guest_mem *, const struct boot_config *, const struct boot_file *,
			 struct cpu_state *, char *, size_t);

/* The order matters: a multiboot header wins over anything else the file
 * might also look like, as it does for GRUB and QEMU. */
static loader_fn choose_loader(const struct boot_config *c, const struct boot_file *f)
{
	struct mb_header h;
	if (c->flat)
		return load_flat;
	if (multiboot_find(f, &h))
		return load_multiboot;
	if (linux_is_bzimage(f))
		return load_bzimage;
	if (elf_class_of(f) == ELFCLASS64)
		return load_vmlinux;
	return NULL;
}

int boot_kernel_bits(const struct boot_config *c)
{
	if (c == NULL || c->kernel == NULL)
		return 0;
	if (c->flat)
		return c->flat_mode == FLAT_PROT32 ? 32 : 16;
	/* the kinds are told apart by the file's start (a multiboot header
	 * lies in its first MB_SEARCH_BYTES) */
	static uint8_t head[MB_SEARCH_BYTES];
	char err[256];
	int fd;
	uint64_t size;
	if (boot_file_open("kernel", c->kernel, UINT64_MAX, &fd, &size, err, sizeof(err)) < 0)
		return 0;
	uint64_t want = size < sizeof(head) ? size : sizeof(head);
	int r = boot_file_read_fd("kernel", c->kernel, fd, head, want, err, sizeof(err));
	close(fd);
	if (r < 0)
		return 0;
	struct boot_file f = { .what = "kernel", .path = c->kernel, .data = head, .size = want };
	struct mb_header h;
	if (multiboot_find(&f, &h))
		return 32;
	if (linux_is_bzimage(&f) && boot_file_has(&f, 0x236, 2))
		return boot_le16(f.data + 0x236) & XLF_KERNEL_64 ? 64 : 32;
	if (elf_class_of(&f) == ELFCLASS64)
		return 64;
	return 0;
}

int boot_load(struct guest_mem *m, const struct boot_config *c, struct cpu_state *bsp,
	      char *err, size_t n)
{
	if (c == NULL || c->kernel == NULL)
		return boot_fail(err, n, "no kernel given");
	struct boot_file f;
	if (boot_file_load(&f, "kernel", c->kernel, m->ram_size, err, n) < 0)
		return -1;
	int r = -1;
	loader_fn load = choose_loader(c, &f);
	if (load == NULL)
		boot_fail(err, n, "kernel '%s': not a kernel popek knows (no multiboot header, no Linux "
			  "setup header, not an ELF64)", c->kernel);
	else if (mptable_write(m, boot_ncpus(c), err, n) == 0 &&
		 acpi_write(m, boot_ncpus(c), err, n) == 0)
		r = load(m, c, &f, bsp, err, n);
	boot_file_free(&f);
	return r;
}
