#include "boot/linux_header.h"

#include <string.h>

#include "boot/boot_error.h"
#include "boot/boot_layout.h"

int linux_is_bzimage(const struct boot_file *f)
{
	return boot_file_has(f, 0, 0x206) && boot_le32(f->data + 0x202) == LINUX_HDRS_MAGIC &&
	       boot_le16(f->data + 0x1fe) == LINUX_BOOT_FLAG;
}

/* Where the header ends by its own account: the jump at 0x200 skips it, so
 * its offset byte at 0x201 gives the length from 0x202. */
static uint64_t header_claimed_end(const struct boot_file *f)
{
	return 0x202 + (uint64_t)f->data[0x201];
}

/* Copies the header as far as the image says it goes (and popek knows). */
static void copy_header(const struct boot_file *f, struct linux_image *img)
{
	uint64_t end = header_claimed_end(f);
	uint64_t known = LINUX_HDR_OFFSET + sizeof(struct setup_header);
	if (end > known)
		end = known;
	if (end > f->size)
		end = f->size;
	memset(&img->hdr, 0, sizeof(img->hdr));
	memcpy(&img->hdr, f->data + LINUX_HDR_OFFSET, end - LINUX_HDR_OFFSET);
	img->hdr_end = end;
}

/* A header that stops before a field popek reads: cut short by the end
 * of the file, or short by its own account. */
static int header_short(const struct boot_file *f, const struct linux_image *img, char *err,
			size_t n)
{
	uint64_t claimed = header_claimed_end(f);
	if (claimed > f->size)
		return boot_fail(err, n, "kernel '%s': the file ends at %#llx, inside its setup header "
				 "(which runs to %#llx): truncated", f->path,
				 (unsigned long long)f->size, (unsigned long long)claimed);
	return boot_fail(err, n, "kernel '%s': the setup header ends at %#llx (its jump's offset "
			 "byte at 0x201 is %#x), before init_size at 0x260, which every protocol "
			 "2.12 header has: corrupt", f->path, (unsigned long long)img->hdr_end,
			 f->data[0x201]);
}

static int check_protocol(const struct boot_file *f, const struct linux_image *img, char *err,
			  size_t n)
{
	const struct setup_header *h = &img->hdr;
	/* An old kernel's header is short: the version decides, when the
	 * header holds it. */
	if (img->hdr_end < LINUX_HDR_OFFSET + offsetof(struct setup_header, version) + 2)
		return header_short(f, img, err, n);
	if (h->version < LINUX_MIN_VERSION)
		return boot_fail(err, n, "kernel '%s': Linux boot protocol %u.%02u is too old (popek "
				 "needs 2.12 or later)", f->path,
				 h->version >> 8, h->version & 0xff);
	if (img->hdr_end < LINUX_HDR_NEEDED_END)
		return header_short(f, img, err, n);
	if (!(h->loadflags & LOADED_HIGH))
		return boot_fail(err, n, "kernel '%s': a zImage (loadflags without LOADED_HIGH: loaded "
				 "low, at 0x10000) is not supported", f->path);
	return 0;
}

static int check_sizes(const struct boot_file *f, struct linux_image *img, char *err, size_t n)
{
	const struct setup_header *h = &img->hdr;
	/* boot.rst: "If this field is 0, the real value is 4". The boot
	 * sector comes on top, so the setup takes at least 2 sectors, past
	 * the furthest a header can end (0x301). */
	unsigned sects = h->setup_sects ? h->setup_sects : LINUX_DEFAULT_SETUP_SECTS;
	img->setup_size = (uint64_t)(sects + 1) * LINUX_SECTOR;
	if (img->setup_size >= f->size)
		return boot_fail(err, n, "kernel '%s': setup_sects %u%s puts %llu bytes of real-mode "
				 "setup before the kernel, the file holds %llu: truncated or corrupt",
				 f->path, h->setup_sects, h->setup_sects ? "" : " (meaning 4)",
				 (unsigned long long)img->setup_size, (unsigned long long)f->size);
	img->kernel_offset = img->setup_size;
	img->kernel_size = f->size - img->setup_size;
	uint64_t declared = (uint64_t)h->syssize * 16;
	if (declared == 0)
		return boot_fail(err, n, "kernel '%s': syssize is 0, the header declares no "
				 "protected-mode kernel: corrupt", f->path);
	if (declared > img->kernel_size)
		return boot_fail(err, n, "kernel '%s': syssize declares %llu bytes of protected-mode "
				 "kernel, the file holds %llu after the setup: truncated or corrupt",
				 f->path, (unsigned long long)declared,
				 (unsigned long long)img->kernel_size);
	/* The kernel copies itself into the init_size bytes it runs in
	 * before it decompresses, so they always hold it. */
	if (h->init_size < declared)
		return boot_fail(err, n, "kernel '%s': init_size %#x is less than the %llu bytes of "
				 "kernel syssize declares: corrupt", f->path, h->init_size,
				 (unsigned long long)declared);
	return 0;
}

static int wraps(const struct boot_file *f, const struct setup_header *h, char *err, size_t n)
{
	return boot_fail(err, n, "kernel '%s': pref_address %#llx with kernel_alignment %#x and "
			 "init_size %#x runs past the top of the 64-bit address space: corrupt",
			 f->path, (unsigned long long)h->pref_address, h->kernel_alignment,
			 h->init_size);
}

/* boot.rst, init_size: the runtime start is the load address aligned up
 * to kernel_alignment for a relocatable kernel (which realigns itself,
 * reading kernel_alignment from the zero page), pref_address for one that
 * is not (it moves itself there). kernel_alignment, relocatable_kernel
 * (2.05), pref_address and init_size (2.10) are all there from 2.12 on. */
static int choose_placement(const struct boot_file *f, struct linux_image *img, char *err,
			    size_t n)
{
	const struct setup_header *h = &img->hdr;
	if (h->pref_address != 0 && h->pref_address < BOOT_LOW_AREA_END)
		return boot_fail(err, n, "kernel '%s': pref_address %#llx lies below 1 MiB, where popek "
				 "keeps the zero page, page tables and BIOS tables", f->path,
				 (unsigned long long)h->pref_address);
	if (h->relocatable_kernel) {
		uint32_t align = h->kernel_alignment;
		if (align == 0)
			return boot_fail(err, n, "kernel '%s': relocatable, but kernel_alignment is 0 "
					 "(it must be a power of two): corrupt", f->path);
		if (align & (align - 1))
			return boot_fail(err, n, "kernel '%s': kernel_alignment %#x is not a power of "
					 "two: corrupt", f->path, align);
		/* pref_address 0 is no preference: the lowest aligned place */
		uint64_t from = h->pref_address ? h->pref_address : BOOT_LOW_AREA_END;
		uint64_t up;
		if (__builtin_add_overflow(from, (uint64_t)align - 1, &up))
			return wraps(f, h, err, n);
		img->run_addr = up & ~((uint64_t)align - 1);
		img->load_addr = h->pref_address ? h->pref_address : img->run_addr;
	} else {
		img->load_addr = BOOT_KERNEL_DEFAULT;
		img->run_addr = h->pref_address ? h->pref_address : BOOT_KERNEL_DEFAULT;
	}
	uint64_t run_end, image_end;
	if (__builtin_add_overflow(img->run_addr, (uint64_t)h->init_size, &run_end) ||
	    __builtin_add_overflow(img->load_addr, img->kernel_size, &image_end))
		return wraps(f, h, err, n);
	/* run_addr >= load_addr: aligned up, or pref_address >= 1 MiB */
	img->mem_needed = (run_end > image_end ? run_end : image_end) - img->load_addr;
	return 0;
}

int linux_parse_header(const struct boot_file *f, struct linux_image *img, char *err, size_t n)
{
	memset(img, 0, sizeof(*img));
	if (!linux_is_bzimage(f))
		return boot_fail(err, n, "kernel '%s': no Linux setup header (\"HdrS\" at 0x202, "
				 "boot flag 0xAA55)", f->path);
	copy_header(f, img);
	if (check_protocol(f, img, err, n) < 0 || check_sizes(f, img, err, n) < 0 ||
	    choose_placement(f, img, err, n) < 0)
		return -1;
	return 0;
}

int linux_check_cmdline(const struct setup_header *h, const char *cmdline, char *err, size_t n)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	/* cmdline_size counts the characters without the terminating NUL. */
	if (len > h->cmdline_size)
		return boot_fail(err, n, "command line is %zu bytes, the kernel accepts at most %u "
				 "(its cmdline_size)", len, h->cmdline_size);
	if (len > BOOT_CMDLINE_MAX - 1)
		return boot_fail(err, n, "command line is %zu bytes, popek passes at most %llu",
				 len, BOOT_CMDLINE_MAX - 1);
	return 0;
}
