#include "boot/e820.h"

#include "boot/boot_layout.h"

static int add(struct e820_entry *out, int count, int max, uint64_t addr, uint64_t end,
	       uint32_t type)
{
	if (end <= addr || count >= max)
		return count;
	out[count] = (struct e820_entry){ .addr = addr, .size = end - addr, .type = type };
	return count + 1;
}

/* A RAM region loses the legacy hole [EBDA, 1 MiB): that is where the
 * EBDA, VGA window and BIOS live on a PC, whether or not popek backs it. */
static int add_ram(struct e820_entry *out, int count, int max, uint64_t start, uint64_t end)
{
	if (start < BOOT_EBDA)
		count = add(out, count, max, start, end < BOOT_EBDA ? end : BOOT_EBDA, E820_RAM);
	if (end > BOOT_LOW_AREA_END)
		count = add(out, count, max, start > BOOT_LOW_AREA_END ? start : BOOT_LOW_AREA_END,
			    end, E820_RAM);
	return count;
}

/* Sorts by address; regions are few, so insertion sort. */
static void sort(struct e820_entry *e, int count)
{
	for (int i = 1; i < count; i++) {
		struct e820_entry x = e[i];
		int j = i;
		for (; j > 0 && e[j - 1].addr > x.addr; j--)
			e[j] = e[j - 1];
		e[j] = x;
	}
}

int e820_build(const struct guest_mem *m, struct e820_entry *out, int max)
{
	int count = 0;
	for (int i = 0; i < m->nregions; i++) {
		const struct mem_region *r = &m->region[i];
		count = r->rom ? add(out, count, max, r->gpa, r->gpa + r->size, E820_RESERVED)
			       : add_ram(out, count, max, r->gpa, r->gpa + r->size);
	}
	count = add(out, count, max, BOOT_EBDA, BOOT_EBDA_END, E820_RESERVED);
	count = add(out, count, max, BOOT_BIOS, BOOT_BIOS_END, E820_RESERVED);
	sort(out, count);
	return count;
}
