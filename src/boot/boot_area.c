#include "boot/boot_area.h"

#include <stddef.h>

#include "boot/acpi.h"
#include "boot/boot_layout.h"
#include "boot/mptable.h"

struct area {
	uint64_t start, end;
	const char *name;
};

const char *boot_area_conflict(uint64_t start, uint64_t end, int ncpus, uint64_t low_end)
{
	uint64_t config = mptable_config_addr(ncpus);
	/* The BIOS area holds a copy of the floating pointer, and the config
	 * table when the EBDA is too small; the rest of it is free, which
	 * matters: linkers often put an ELF kernel's headers just below 1 MiB. */
	uint64_t bios_end = BOOT_BIOS + sizeof(struct mp_float);
	if (config >= BOOT_BIOS)
		bios_end = config + mptable_config_size(ncpus);
	const struct area areas[] = {
		{ 0, low_end, low_end == BOOT_LOW_USED_END
			? "the BIOS data area, boot GDT, zero page, page tables and command line"
			: "the BIOS data area and the boot GDT" },
		{ BOOT_EBDA, BOOT_EBDA_END, "the EBDA (MP table)" },
		{ BOOT_BIOS, bios_end, "the MP floating pointer in the BIOS area" },
		{ BOOT_ACPI_RSDP, acpi_tables_end(ncpus), "the ACPI tables in the BIOS area" },
	};
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
		if (start < areas[i].end && areas[i].start < end)
			return areas[i].name;
	return NULL;
}
