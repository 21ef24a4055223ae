/* A vmlinux: its PT_LOAD segments at their physical addresses, a zero page
 * with the header fields a bzImage would have carried, and the 64-bit
 * entry at e_entry (startup_64's physical address), as Firecracker does. */
#include "boot/linux_vmlinux.h"

#include <elf.h>
#include <string.h>

#include "boot/boot_error.h"
#include "boot/boot_layout.h"
#include "boot/elf_segments.h"
#include "boot/entry_state.h"
#include "boot/initrd.h"
#include "boot/linux_header.h"
#include "boot/linux_zero_page.h"
#include "boot/loaders.h"

static int check_entry(const struct boot_file *f, const struct elf_image *img, char *err, size_t n)
{
	for (int i = 0; i < img->nseg; i++) {
		const struct load_segment *s = &img->seg[i];
		if (img->entry >= s->paddr && img->entry - s->paddr < s->filesz)
			return 0;
	}
	return boot_fail(err, n, "kernel '%s': ELF entry point %#llx is in none of its segments",
			 f->path, (unsigned long long)img->entry);
}

int load_vmlinux(struct guest_mem *m, const struct boot_config *c, const struct boot_file *f,
		 struct cpu_state *bsp, char *err, size_t n)
{
	struct elf_image img;
	if (elf_read_segments(f, &img, err, n) < 0)
		return -1;
	if (img.elf_class != ELFCLASS64)
		return boot_fail(err, n, "kernel '%s': a 32-bit ELF without a multiboot header is "
				 "not a kernel popek knows", f->path);
	struct setup_header h;
	linux_vmlinux_header(&h);
	if (check_entry(f, &img, err, n) < 0 || linux_check_cmdline(&h, c->cmdline, err, n) < 0 ||
	    load_segments(m, f, img.seg, img.nseg, boot_ncpus(c), BOOT_LOW_USED_END, err, n) < 0)
		return -1;
	struct initrd rd;
	if (initrd_load_high(m, c->initrd, img.high, (uint64_t)h.initrd_addr_max + 1, "initrd_addr_max",
			     &rd, err, n) < 0)
		return -1;
	if (linux_zero_page_write(m, &h, c->cmdline, &rd, err, n) < 0)
		return -1;
	return entry_long64(m, bsp, img.entry, BOOT_ZERO_PAGE, err, n);
}

/* Walks the notes in [off, off + len) of the file for Xen's type 18. */
static int find_pvh_note(const struct boot_file *f, uint64_t off, uint64_t len, uint32_t *entry)
{
	uint64_t end = off + len;
	while (end - off >= 12) {
		const uint8_t *p = f->data + off;
		uint64_t namesz = boot_le32(p), descsz = boot_le32(p + 4);
		uint32_t type = boot_le32(p + 8);
		uint64_t name_off = off + 12;
		uint64_t desc_off = name_off + ((namesz + 3) & ~3ull);
		uint64_t next = desc_off + ((descsz + 3) & ~3ull);
		if (next > end || next <= off)
			return 0;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 && descsz >= 4 &&
		    memcmp(f->data + name_off, "Xen", 4) == 0) {
			*entry = boot_le32(f->data + desc_off);
			return 1;
		}
		off = next;
	}
	return 0;
}

int linux_pvh_entry(const struct boot_file *f, uint32_t *entry)
{
	if (elf_class_of(f) != ELFCLASS64 || !boot_file_has(f, 0, 64))
		return 0;
	uint64_t phoff = boot_le64(f->data + 32);
	uint64_t entsize = boot_le16(f->data + 54), count = boot_le16(f->data + 56);
	if (entsize < 56 || !boot_file_has(f, phoff, entsize * count))
		return 0;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *ph = f->data + phoff + i * entsize;
		uint64_t off = boot_le64(ph + 8), filesz = boot_le64(ph + 32);
		if (boot_le32(ph) == PT_NOTE && boot_file_has(f, off, filesz) &&
		    find_pvh_note(f, off, filesz, entry))
			return 1;
	}
	return 0;
}
