#include "boot/multiboot_header.h"

#include <string.h>

#include "boot/boot_error.h"

#define MB_HEADER_SIZE 12
#define MB_AOUT_SIZE   32

int multiboot_find(const struct boot_file *f, struct mb_header *h)
{
	memset(h, 0, sizeof(*h));
	for (uint64_t off = 0; off < MB_SEARCH_BYTES && boot_file_has(f, off, MB_HEADER_SIZE); off += 4) {
		const uint8_t *p = f->data + off;
		uint32_t magic = boot_le32(p), flags = boot_le32(p + 4), sum = boot_le32(p + 8);
		if (magic != MB_HEADER_MAGIC || (uint32_t)(magic + flags + sum) != 0)
			continue;
		h->offset = off;
		h->flags = flags;
		if ((flags & MB_AOUT_KLUDGE) && boot_file_has(f, off, MB_AOUT_SIZE)) {
			h->header_addr = boot_le32(p + 12);
			h->load_addr = boot_le32(p + 16);
			h->load_end_addr = boot_le32(p + 20);
			h->bss_end_addr = boot_le32(p + 24);
			h->entry_addr = boot_le32(p + 28);
		}
		return 1;
	}
	return 0;
}

int multiboot_check(const struct boot_file *f, const struct mb_header *h, char *err, size_t n)
{
	uint32_t unknown = h->flags & MB_REQUIRED_MASK & ~MB_KNOWN_REQUIRED;
	if (unknown)
		return boot_fail(err, n, "kernel '%s': multiboot header requires features popek does "
				 "not provide (flags %#x)", f->path, unknown);
	if ((h->flags & MB_AOUT_KLUDGE) && !boot_file_has(f, h->offset, MB_AOUT_SIZE))
		return boot_fail(err, n, "kernel '%s': multiboot header's address fields lie beyond "
				 "the end of the file: truncated", f->path);
	return 0;
}

/* Spec 3.1.3: the text begins header_addr - load_addr bytes before the
 * header in the file; load_end_addr 0 means "to the end of the file";
 * bss_end_addr 0 means no BSS. */
int multiboot_aout_segment(const struct boot_file *f, const struct mb_header *h,
			   struct load_segment *seg, char *err, size_t n)
{
	if (h->load_addr > h->header_addr)
		return boot_fail(err, n, "kernel '%s': multiboot load_addr %#x lies above header_addr "
				 "%#x", f->path, h->load_addr, h->header_addr);
	uint64_t before = (uint64_t)h->header_addr - h->load_addr;
	if (before > h->offset)
		return boot_fail(err, n, "kernel '%s': multiboot header_addr - load_addr (%#llx) "
				 "reaches before the start of the file", f->path,
				 (unsigned long long)before);
	uint64_t text = h->offset - before;
	uint64_t len;
	if (h->load_end_addr == 0) {
		len = f->size - text;
	} else {
		if (h->load_end_addr <= h->load_addr)
			return boot_fail(err, n, "kernel '%s': multiboot load_end_addr %#x is not above "
					 "load_addr %#x", f->path, h->load_end_addr, h->load_addr);
		len = (uint64_t)h->load_end_addr - h->load_addr;
		if (!boot_file_has(f, text, len))
			return boot_fail(err, n, "kernel '%s': multiboot image wants %llu bytes from file "
					 "offset %#llx, the file has %llu: truncated", f->path,
					 (unsigned long long)len, (unsigned long long)text,
					 (unsigned long long)f->size);
	}
	uint64_t load_end = h->load_addr + len;
	if (h->bss_end_addr != 0 && h->bss_end_addr < load_end)
		return boot_fail(err, n, "kernel '%s': multiboot bss_end_addr %#x lies below the end "
				 "of the loaded image %#llx", f->path, h->bss_end_addr,
				 (unsigned long long)load_end);
	*seg = (struct load_segment){
		.paddr = h->load_addr, .vaddr = h->load_addr, .offset = text, .filesz = len,
		.memsz = (h->bss_end_addr ? h->bss_end_addr : load_end) - h->load_addr,
	};
	return 0;
}
