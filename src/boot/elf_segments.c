#include "boot/elf_segments.h"

#include <elf.h>
#include <string.h>

#include "boot/boot_area.h"
#include "boot/boot_error.h"
#include "mem/guest_mem.h"

int elf_class_of(const struct boot_file *f)
{
	if (!boot_file_has(f, 0, EI_NIDENT + 4) || memcmp(f->data, ELFMAG, SELFMAG) != 0)
		return 0;
	if (f->data[EI_DATA] != ELFDATA2LSB)
		return 0;
	uint16_t machine = boot_le16(f->data + 18);
	if (f->data[EI_CLASS] == ELFCLASS32 && machine == EM_386)
		return ELFCLASS32;
	if (f->data[EI_CLASS] == ELFCLASS64 && machine == EM_X86_64)
		return ELFCLASS64;
	return 0;
}

/* Reads the fields popek uses from a program header of either class. */
static void read_phdr(const uint8_t *p, int cls, uint32_t *type, struct load_segment *s)
{
	*type = boot_le32(p);
	if (cls == ELFCLASS32) {
		s->offset = boot_le32(p + 4);
		s->vaddr = boot_le32(p + 8);
		s->paddr = boot_le32(p + 12);
		s->filesz = boot_le32(p + 16);
		s->memsz = boot_le32(p + 20);
	} else {
		s->offset = boot_le64(p + 8);
		s->vaddr = boot_le64(p + 16);
		s->paddr = boot_le64(p + 24);
		s->filesz = boot_le64(p + 32);
		s->memsz = boot_le64(p + 40);
	}
}

static int check_segment(const struct boot_file *f, const struct load_segment *s, int i,
			 char *err, size_t n)
{
	if (!boot_file_has(f, s->offset, s->filesz))
		return boot_fail(err, n, "%s '%s': ELF segment %d (offset %#llx, %llu bytes) lies "
				 "beyond the end of the file (%llu bytes): truncated or corrupt",
				 f->what, f->path, i, (unsigned long long)s->offset,
				 (unsigned long long)s->filesz, (unsigned long long)f->size);
	if (s->memsz < s->filesz)
		return boot_fail(err, n, "%s '%s': ELF segment %d is smaller in memory than in the file",
				 f->what, f->path, i);
	if (s->paddr + s->memsz < s->paddr)
		return boot_fail(err, n, "%s '%s': ELF segment %d wraps around the address space",
				 f->what, f->path, i);
	return 0;
}

static void extend(struct elf_image *img, const struct load_segment *s)
{
	if (img->nseg == 0 || s->paddr < img->low)
		img->low = s->paddr;
	if (img->nseg == 0 || s->paddr + s->memsz > img->high)
		img->high = s->paddr + s->memsz;
}

static int header_table(const struct boot_file *f, int cls, uint64_t *off, uint64_t *entsize,
			uint64_t *count, uint64_t *entry, char *err, size_t n)
{
	uint64_t ehsize = cls == ELFCLASS32 ? 52 : 64;
	if (!boot_file_has(f, 0, ehsize))
		return boot_fail(err, n, "%s '%s': ELF header truncated", f->what, f->path);
	const uint8_t *h = f->data;
	*entry = cls == ELFCLASS32 ? boot_le32(h + 24) : boot_le64(h + 24);
	*off = cls == ELFCLASS32 ? boot_le32(h + 28) : boot_le64(h + 32);
	*entsize = boot_le16(h + (cls == ELFCLASS32 ? 42 : 54));
	*count = boot_le16(h + (cls == ELFCLASS32 ? 44 : 56));
	uint64_t want = cls == ELFCLASS32 ? 32 : 56;
	if (*count == 0)
		return boot_fail(err, n, "%s '%s': ELF file has no program headers", f->what, f->path);
	if (*entsize < want)
		return boot_fail(err, n, "%s '%s': ELF program header size %llu is too small",
				 f->what, f->path, (unsigned long long)*entsize);
	if (!boot_file_has(f, *off, *entsize * *count))
		return boot_fail(err, n, "%s '%s': ELF program headers lie beyond the end of the file",
				 f->what, f->path);
	return 0;
}

int elf_read_segments(const struct boot_file *f, struct elf_image *img, char *err, size_t n)
{
	memset(img, 0, sizeof(*img));
	img->elf_class = elf_class_of(f);
	if (img->elf_class == 0)
		return boot_fail(err, n, "%s '%s': not an x86 ELF file", f->what, f->path);
	uint64_t off = 0, entsize = 0, count = 0;
	if (header_table(f, img->elf_class, &off, &entsize, &count, &img->entry, err, n) < 0)
		return -1;
	for (uint64_t i = 0; i < count; i++) {
		uint32_t type;
		struct load_segment s;
		read_phdr(f->data + off + i * entsize, img->elf_class, &type, &s);
		if (type != PT_LOAD || s.memsz == 0)
			continue;
		if (check_segment(f, &s, (int)i, err, n) < 0)
			return -1;
		if (img->nseg == ELF_MAX_SEGMENTS)
			return boot_fail(err, n, "%s '%s': more than %d loadable ELF segments",
					 f->what, f->path, ELF_MAX_SEGMENTS);
		extend(img, &s);
		img->seg[img->nseg++] = s;
	}
	if (img->nseg == 0)
		return boot_fail(err, n, "%s '%s': ELF file has no loadable segment", f->what, f->path);
	return 0;
}

int load_segments(const struct guest_mem *m, const struct boot_file *f,
		  const struct load_segment *seg, int nseg, int ncpus, uint64_t low_end, char *err,
		  size_t n)
{
	for (int i = 0; i < nseg; i++) {
		const struct load_segment *s = &seg[i];
		const char *taken = boot_area_conflict(s->paddr, s->paddr + s->memsz, ncpus, low_end);
		if (taken != NULL)
			return boot_fail(err, n, "%s '%s': segment [%#llx, %#llx) overlaps %s, which popek "
					 "places there", f->what, f->path, (unsigned long long)s->paddr,
					 (unsigned long long)(s->paddr + s->memsz), taken);
		uint8_t *dst = gpa_ptr(m, s->paddr, s->memsz);
		if (dst == NULL)
			return boot_fail(err, n, "%s '%s': segment [%#llx, %#llx) is not in guest RAM "
					 "(too little memory?)", f->what, f->path,
					 (unsigned long long)s->paddr,
					 (unsigned long long)(s->paddr + s->memsz));
		/* zero pages of the image (bss, padding) stay unbacked on the host */
		host_copy_sparse(dst, f->data + s->offset, s->filesz);
		host_zero_fill(dst + s->filesz, s->memsz - s->filesz);
	}
	return 0;
}
