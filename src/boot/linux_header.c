#include "boot/linux_header.h"

#include <string.h>

#include "boot/boot_error.h"
#include "boot/boot_layout.h"

int linux_is_bzimage(const struct boot_file *f)
{
	return boot_file_has(f, 0, 0x206) && boot_le32(f->data + 0x202) == LINUX_HDRS_MAGIC &&
	       boot_le16(f->data + 0x1fe) == LINUX_BOOT_FLAG;
}

/* Copies the header as far as the image says it goes (and popek knows). */
static void copy_header(const struct boot_file *f, struct linux_image *img)
{
	uint64_t end = 0x202 + (uint64_t)f->data[0x201];
	uint64_t known = LINUX_HDR_OFFSET + sizeof(struct setup_header);
	if (end > known)
		end = known;
	if (end > f->size)
		end = f->size;
	memset(&img->hdr, 0, sizeof(img->hdr));
	memcpy(&img->hdr, f->data + LINUX_HDR_OFFSET, end - LINUX_HDR_OFFSET);
	img->hdr_end = end;
}

static int check_protocol(const struct boot_file *f, const struct linux_image *img, char *err,
			  size_t n)
{
	const struct setup_header *h = &img->hdr;
	if (h->version < LINUX_MIN_VERSION)
		return boot_fail(err, n, "kernel '%s': Linux boot protocol %u.%02u is too old (popek "
				 "needs 2.12 or later)", f->path,
				 h->version >> 8, h->version & 0xff);
	if (img->hdr_end < LINUX_HDR_NEEDED_END)
		return boot_fail(err, n, "kernel '%s': setup header ends at %#llx, before the fields of "
				 "protocol 2.12: corrupt", f->path, (unsigned long long)img->hdr_end);
	if (!(h->loadflags & LOADED_HIGH))
		return boot_fail(err, n, "kernel '%s': a zImage (loaded low) is not supported", f->path);
	return 0;
}

static int check_sizes(const struct boot_file *f, struct linux_image *img, char *err, size_t n)
{
	const struct setup_header *h = &img->hdr;
	unsigned sects = h->setup_sects ? h->setup_sects : LINUX_DEFAULT_SETUP_SECTS;
	img->setup_size = (uint64_t)(sects + 1) * LINUX_SECTOR;
	if (img->setup_size < img->hdr_end || img->setup_size >= f->size)
		return boot_fail(err, n, "kernel '%s': %llu bytes of setup code, %llu bytes in the "
				 "file: truncated or corrupt", f->path,
				 (unsigned long long)img->setup_size, (unsigned long long)f->size);
	img->kernel_offset = img->setup_size;
	img->kernel_size = f->size - img->setup_size;
	uint64_t declared = (uint64_t)h->syssize * 16;
	if (declared == 0 || declared > img->kernel_size)
		return boot_fail(err, n, "kernel '%s': the header declares %llu bytes of kernel, the "
				 "file holds %llu: truncated or corrupt", f->path,
				 (unsigned long long)declared, (unsigned long long)img->kernel_size);
	return 0;
}

static void choose_placement(struct linux_image *img)
{
	const struct setup_header *h = &img->hdr;
	img->load_addr = h->relocatable_kernel ? h->pref_address : BOOT_KERNEL_DEFAULT;
	img->mem_needed = h->init_size > img->kernel_size ? h->init_size : img->kernel_size;
}

int linux_parse_header(const struct boot_file *f, struct linux_image *img, char *err, size_t n)
{
	memset(img, 0, sizeof(*img));
	if (!linux_is_bzimage(f))
		return boot_fail(err, n, "kernel '%s': no Linux setup header (\"HdrS\" at 0x202, "
				 "boot flag 0xAA55)", f->path);
	copy_header(f, img);
	if (check_protocol(f, img, err, n) < 0 || check_sizes(f, img, err, n) < 0)
		return -1;
	choose_placement(img);
	return 0;
}

int linux_check_cmdline(const struct setup_header *h, const char *cmdline, char *err, size_t n)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	/* cmdline_size counts the characters without the terminating NUL. */
	uint64_t max = h->cmdline_size;
	if (max >= BOOT_CMDLINE_MAX)
		max = BOOT_CMDLINE_MAX - 1;
	if (len > max)
		return boot_fail(err, n, "command line is %zu bytes, the kernel accepts at most %llu",
				 len, (unsigned long long)max);
	return 0;
}
