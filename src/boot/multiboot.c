/* A Multiboot (0.6.96) kernel: ELF32 segments by physical address, or the
 * a.out kludge's address fields; the initrd as its one module; entry in
 * 32-bit protected mode with EAX = 0x2BADB002 and EBX = the information
 * structure, paging off, as section 3.2 of the spec requires. */
#include <elf.h>
#include <stdbool.h>
#include <string.h>

#include "boot/boot_area.h"
#include "boot/boot_error.h"
#include "boot/boot_layout.h"
#include "boot/elf_segments.h"
#include "boot/entry_state.h"
#include "boot/initrd.h"
#include "boot/loaders.h"
#include "boot/multiboot_header.h"
#include "boot/multiboot_info.h"

/* Is the entry inside a segment's physical range?  The first instruction
 * must be one the loader put there: an entry anywhere else would run
 * whatever the guest's memory holds. */
static bool entry_loaded(const struct elf_image *img)
{
	for (int i = 0; i < img->nseg; i++) {
		const struct load_segment *s = &img->seg[i];
		if (img->entry >= s->paddr && img->entry - s->paddr < s->memsz)
			return true;
	}
	return false;
}

/* Paging is off at entry, so an entry given as a virtual address (a
 * higher-half kernel) is reached through the segment's physical address. */
static uint64_t physical_entry(const struct elf_image *img)
{
	if (entry_loaded(img))
		return img->entry;
	for (int i = 0; i < img->nseg; i++) {
		const struct load_segment *s = &img->seg[i];
		if (img->entry >= s->vaddr && img->entry - s->vaddr < s->memsz)
			return img->entry - s->vaddr + s->paddr;
	}
	return img->entry;
}

static int image_from_elf(const struct boot_file *f, struct elf_image *img, char *err, size_t n)
{
	if (elf_class_of(f) == 0)
		return boot_fail(err, n, "kernel '%s': multiboot kernel is not an x86 ELF and does not "
				 "use the a.out kludge (flag 16)", f->path);
	if (elf_read_segments(f, img, err, n) < 0)
		return -1;
	if (img->elf_class != ELFCLASS32)
		return boot_fail(err, n, "kernel '%s': a 64-bit ELF multiboot kernel must use the "
				 "a.out kludge (flag 16)", f->path);
	img->entry = physical_entry(img);
	return 0;
}

static int image_from_aout(const struct boot_file *f, const struct mb_header *h,
			   struct elf_image *img, char *err, size_t n)
{
	memset(img, 0, sizeof(*img));
	if (multiboot_aout_segment(f, h, &img->seg[0], err, n) < 0)
		return -1;
	if (img->seg[0].memsz == 0)
		return boot_fail(err, n, "kernel '%s': multiboot image is empty", f->path);
	img->nseg = 1;
	img->entry = h->entry_addr;
	img->low = img->seg[0].paddr;
	img->high = img->seg[0].paddr + img->seg[0].memsz;
	return 0;
}

static int read_image(const struct boot_file *f, struct elf_image *img, char *err, size_t n)
{
	struct mb_header h;
	if (!multiboot_find(f, &h))
		return boot_fail(err, n, "kernel '%s': no multiboot header", f->path);
	if (multiboot_check(f, &h, err, n) < 0)
		return -1;
	int r = (h.flags & MB_AOUT_KLUDGE) ? image_from_aout(f, &h, img, err, n)
					   : image_from_elf(f, img, err, n);
	if (r == 0 && (img->high > 0x100000000ull || img->entry > 0xffffffffull))
		return boot_fail(err, n, "kernel '%s': multiboot image reaches above 4 GiB", f->path);
	if (r == 0 && !entry_loaded(img))
		return boot_fail(err, n, "kernel '%s': multiboot entry point %#llx is outside the loaded "
				 "image (%#llx-%#llx)", f->path, (unsigned long long)img->entry,
				 (unsigned long long)img->low, (unsigned long long)img->high - 1);
	return r;
}

/* Is [at, at + MB_BLOCK_SIZE) free: RAM, clear of the kernel's segments,
 * its module, and popek's fixed structures? */
static bool block_fits(const struct guest_mem *m, const struct elf_image *img,
		       const struct initrd *mod, int ncpus, uint64_t at)
{
	uint64_t end = at + MB_BLOCK_SIZE;
	if (end > 0x100000000ull || !gpa_ptr(m, at, MB_BLOCK_SIZE) ||
	    boot_area_conflict(at, end, ncpus, BOOT_MB_FIXED_END))
		return false;
	for (int i = 0; i < img->nseg; i++)
		if (at < img->seg[i].paddr + img->seg[i].memsz && img->seg[i].paddr < end)
			return false;
	return !(mod->size && at < mod->addr + mod->size && mod->addr < end);
}

/* The information block's place: BOOT_MB_INFO when it is free (every
 * kernel at 1 MiB), else the first free page in base memory, as GRUB
 * does, else the first above the kernel and its module. */
static int place_block(const struct guest_mem *m, const struct elf_image *img,
		       const struct initrd *mod, int ncpus, uint64_t *base)
{
	if (block_fits(m, img, mod, ncpus, BOOT_MB_INFO)) {
		*base = BOOT_MB_INFO;
		return 0;
	}
	for (uint64_t at = BOOT_MB_FIXED_END; at + MB_BLOCK_SIZE <= BOOT_EBDA; at += BOOT_PAGE)
		if (block_fits(m, img, mod, ncpus, at)) {
			*base = at;
			return 0;
		}
	uint64_t high = img->high > BOOT_LOW_AREA_END ? img->high : BOOT_LOW_AREA_END;
	if (mod->size && mod->addr + mod->size > high)
		high = mod->addr + mod->size;
	high = (high + BOOT_PAGE - 1) & ~(BOOT_PAGE - 1);
	for (uint64_t at = high; at + MB_BLOCK_SIZE <= 0x100000000ull; at += BOOT_PAGE) {
		if (block_fits(m, img, mod, ncpus, at)) {
			*base = at;
			return 0;
		}
		if (!gpa_ptr(m, at, 1))
			break;   /* past the end of RAM */
	}
	return -1;
}

int load_multiboot(struct guest_mem *m, const struct boot_config *c, const struct boot_file *f,
		   struct cpu_state *bsp, char *err, size_t n)
{
	struct elf_image img;
	if (read_image(f, &img, err, n) < 0 ||
	    load_segments(m, f, img.seg, img.nseg, boot_ncpus(c), BOOT_MB_FIXED_END, err, n) < 0)
		return -1;
	/* The module goes on the first page after the kernel, where GRUB and
	 * QEMU put theirs; always page aligned, which satisfies flag bit 0. */
	struct mb_boot b = { .kernel_path = c->kernel, .cmdline = c->cmdline, .module_path = c->initrd };
	uint64_t floor = img.high > BOOT_LOW_AREA_END ? img.high : BOOT_LOW_AREA_END;
	if (initrd_load_at_floor(m, c->initrd, floor, &b.module, err, n) < 0)
		return -1;
	uint64_t base;
	if (place_block(m, &img, &b.module, boot_ncpus(c), &base) < 0)
		return boot_fail(err, n, "kernel '%s': no room below 4 GiB for the multiboot "
				 "information (%llu KiB) beside the kernel and its module", f->path,
				 (unsigned long long)(MB_BLOCK_SIZE / KiB));
	if (multiboot_info_write(m, &b, base, err, n) < 0 ||
	    entry_prot32(m, bsp, (uint32_t)img.entry, err, n) < 0)
		return -1;
	bsp->gpr[RAX] = MB_BOOT_MAGIC;
	bsp->gpr[RBX] = base + MB_OFF_INFO;
	/* The spec leaves ESP to the kernel; a usable one spares a sloppy
	 * kernel a fault on its first push. */
	bsp->gpr[RSP] = base + MB_OFF_STACK_TOP;
	return 0;
}
