/* A bzImage, entered at its 64-bit entry (startup_64, load address +
 * 0x200) with the zero page in RSI, as boot.rst's 64-bit boot protocol
 * describes; a kernel without one (xloadflags lacks XLF_KERNEL_64: an i386
 * kernel) through the 32-bit protocol, at the start of its protected-mode
 * code (startup_32, where code32_start points when the kernel is loaded
 * where it prefers) with the zero page in ESI. */
#include <stdio.h>
#include <string.h>

#include "boot/boot_error.h"
#include "boot/boot_layout.h"
#include "boot/entry_state.h"
#include "boot/initrd.h"
#include "boot/linux_header.h"
#include "boot/linux_zero_page.h"
#include "boot/loaders.h"

static uint64_t mib_up(uint64_t bytes)
{
	return (bytes + MiB - 1) / MiB;
}

/* The kernel needs [load_addr, load_addr + mem_needed) of RAM before it
 * has read the memory map; linux_parse_header saw that the sum does not
 * wrap. RAM below the PCI hole never reaches past MEM_LOW_LIMIT (3 GiB),
 * so more memory helps only a kernel that ends below it. */
static int check_fits(const struct guest_mem *m, const struct boot_file *f,
		      const struct linux_image *img, char *err, size_t n)
{
	uint64_t low_end = guest_mem_low_end(m);
	uint64_t end = img->load_addr + img->mem_needed;
	if (end > MEM_LOW_LIMIT) {
		char align[40] = "";
		if (img->hdr.relocatable_kernel)
			snprintf(align, sizeof(align), ", kernel_alignment %#x", img->hdr.kernel_alignment);
		return boot_fail(err, n, "kernel '%s': pref_address %#llx%s and init_size %#x put the "
				 "kernel's end at %#llx, past 3 GiB, where RAM below the PCI hole "
				 "ends at any memory size", f->path,
				 (unsigned long long)img->hdr.pref_address, align, img->hdr.init_size,
				 (unsigned long long)end);
	}
	if (end > low_end)
		return boot_fail(err, n, "kernel '%s': needs %llu MiB of memory (loaded at %#llx, "
				 "init_size %llu MiB from %#llx), the guest has %llu MiB below the "
				 "PCI hole", f->path, (unsigned long long)mib_up(end),
				 (unsigned long long)img->load_addr,
				 (unsigned long long)mib_up(img->hdr.init_size),
				 (unsigned long long)img->run_addr,
				 (unsigned long long)(low_end / MiB));
	return 0;
}

int load_bzimage(struct guest_mem *m, const struct boot_config *c, const struct boot_file *f,
		 struct cpu_state *bsp, char *err, size_t n)
{
	struct linux_image img;
	if (linux_parse_header(f, &img, err, n) < 0 ||
	    linux_check_cmdline(&img.hdr, c->cmdline, err, n) < 0 ||
	    check_fits(m, f, &img, err, n) < 0)
		return -1;
	if (gpa_write(m, img.load_addr, f->data + img.kernel_offset, img.kernel_size) < 0)
		return boot_fail(err, n, "kernel '%s': cannot write the kernel to guest memory", f->path);
	struct initrd rd;
	uint64_t top = (uint64_t)img.hdr.initrd_addr_max + 1;
	if (initrd_load_high(m, c->initrd, img.load_addr + img.mem_needed, top, "initrd_addr_max", &rd,
			     err, n) < 0)
		return -1;
	if (linux_zero_page_write(m, &img.hdr, c->cmdline, &rd, err, n) < 0)
		return -1;
	if (!(img.hdr.xloadflags & XLF_KERNEL_64))
		return entry_linux32(m, bsp, (uint32_t)img.load_addr, BOOT_ZERO_PAGE, err, n);
	return entry_long64(m, bsp, img.load_addr + LINUX_ENTRY64_OFFSET, BOOT_ZERO_PAGE, err, n);
}
