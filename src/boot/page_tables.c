#include "boot/page_tables.h"

#include <string.h>

#include "boot/boot_layout.h"

#define ENTRIES 512

static int write_table(const struct guest_mem *m, uint64_t gpa, const uint64_t *t)
{
	return gpa_write(m, gpa, t, ENTRIES * sizeof(uint64_t));
}

uint64_t page_tables_identity(const struct guest_mem *m)
{
	uint64_t t[ENTRIES];

	memset(t, 0, sizeof(t));
	t[0] = BOOT_PDPT | PTE_P | PTE_RW;
	if (write_table(m, BOOT_PML4, t) < 0)
		return 0;

	memset(t, 0, sizeof(t));
	for (unsigned g = 0; g < BOOT_IDENTITY_GIB; g++)
		t[g] = (BOOT_PD + g * BOOT_PAGE) | PTE_P | PTE_RW;
	if (write_table(m, BOOT_PDPT, t) < 0)
		return 0;

	for (unsigned g = 0; g < BOOT_IDENTITY_GIB; g++) {
		for (unsigned i = 0; i < ENTRIES; i++)
			t[i] = (g * GiB + i * 2 * MiB) | PTE_P | PTE_RW | PTE_PS;
		if (write_table(m, BOOT_PD + g * BOOT_PAGE, t) < 0)
			return 0;
	}
	return BOOT_PML4;
}
