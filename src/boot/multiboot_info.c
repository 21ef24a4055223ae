#include "boot/multiboot_info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot_error.h"
#include "boot/boot_layout.h"
#include "boot/e820.h"

/* mem_lower and mem_upper, in KiB, from the RAM that starts at 0 and at
 * 1 MiB in the e820 map. */
static void memory_sizes(const struct e820_entry *e, int count, struct multiboot_info *mbi)
{
	for (int i = 0; i < count; i++) {
		if (e[i].type != E820_RAM)
			continue;
		if (e[i].addr == 0)
			mbi->mem_lower = (uint32_t)(e[i].size / KiB);
		if (e[i].addr == BOOT_LOW_AREA_END)
			mbi->mem_upper = (uint32_t)(e[i].size / KiB);
	}
}

static int write_mmap(const struct guest_mem *m, uint64_t base, const struct e820_entry *e,
		      int count, struct multiboot_info *mbi)
{
	struct multiboot_mmap mm[E820_MAX_BUILT];
	for (int i = 0; i < count; i++)
		mm[i] = (struct multiboot_mmap){ .size = sizeof(mm[i]) - sizeof(mm[i].size),
						 .addr = e[i].addr, .len = e[i].size, .type = e[i].type };
	mbi->mmap_addr = (uint32_t)(base + MB_OFF_MMAP);
	mbi->mmap_length = (uint32_t)(count * sizeof(mm[0]));
	return gpa_write(m, base + MB_OFF_MMAP, mm, mbi->mmap_length);
}

static int write_string(const struct guest_mem *m, uint64_t gpa, uint64_t max, const char *s)
{
	size_t len = strlen(s) + 1;
	if (len > max)
		return -1;
	return gpa_write(m, gpa, s, len);
}

/* "kernel-path cmdline", the form QEMU's -kernel passes. */
static int write_cmdline(const struct guest_mem *m, const struct mb_boot *b, uint64_t base,
			 char *err, size_t n)
{
	const char *args = b->cmdline ? b->cmdline : "";
	size_t len = strlen(b->kernel_path) + 1 + strlen(args) + 1;
	if (len > BOOT_CMDLINE_MAX)
		return boot_fail(err, n, "command line is %zu bytes, popek passes at most %llu to a "
				 "multiboot kernel", len - 1, (unsigned long long)BOOT_CMDLINE_MAX - 1);
	char *s = malloc(len);
	if (s == NULL)
		return boot_fail(err, n, "multiboot: out of host memory");
	snprintf(s, len, "%s %s", b->kernel_path, args);
	int r = gpa_write(m, base + MB_OFF_CMDLINE, s, len);
	free(s);
	if (r < 0)
		return boot_fail(err, n, "guest memory does not cover the command line");
	return 0;
}

static int write_module(const struct guest_mem *m, const struct mb_boot *b, uint64_t base,
			struct multiboot_info *mbi, char *err, size_t n)
{
	mbi->mods_addr = (uint32_t)(base + MB_OFF_MODS);
	if (b->module.size == 0)
		return 0;
	if (write_string(m, base + MB_OFF_MODSTR, BOOT_MB_MODSTR_MAX, b->module_path) < 0)
		return boot_fail(err, n, "initrd path is too long for the multiboot module string");
	struct multiboot_module mod = {
		.mod_start = (uint32_t)b->module.addr,
		.mod_end = (uint32_t)(b->module.addr + b->module.size),
		.string = (uint32_t)(base + MB_OFF_MODSTR),
	};
	mbi->mods_count = 1;
	if (gpa_write(m, base + MB_OFF_MODS, &mod, sizeof(mod)) < 0)
		return boot_fail(err, n, "guest memory does not cover the multiboot module list");
	return 0;
}

int multiboot_info_write(const struct guest_mem *m, const struct mb_boot *b, uint64_t base,
			 char *err, size_t n)
{
	struct multiboot_info mbi;
	memset(&mbi, 0, sizeof(mbi));
	mbi.flags = MBI_MEMORY | MBI_BOOT_DEVICE | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME;
	mbi.boot_device = MBI_BOOT_DEVICE_HD0;
	mbi.cmdline = (uint32_t)(base + MB_OFF_CMDLINE);
	mbi.boot_loader_name = (uint32_t)(base + MB_OFF_LOADER);

	struct e820_entry e[E820_MAX_BUILT];
	int count = e820_build(m, e, E820_MAX_BUILT);
	memory_sizes(e, count, &mbi);
	if (write_cmdline(m, b, base, err, n) < 0 || write_module(m, b, base, &mbi, err, n) < 0)
		return -1;
	if (write_mmap(m, base, e, count, &mbi) < 0 ||
	    write_string(m, base + MB_OFF_LOADER, BOOT_MB_LOADER_MAX, MBI_LOADER) < 0 ||
	    gpa_write(m, base + MB_OFF_INFO, &mbi, sizeof(mbi)) < 0)
		return boot_fail(err, n, "guest memory does not cover the multiboot information");
	return 0;
}
