/* The Multiboot information structure (spec 0.6.96, section 3.3) that
 * EBX points to at a multiboot kernel's entry. */
#ifndef POPEK_MULTIBOOT_INFO_H
#define POPEK_MULTIBOOT_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "boot/initrd.h"
#include "mem/guest_mem.h"

#define MBI_MEMORY      (1u << 0)
#define MBI_BOOT_DEVICE (1u << 1)
#define MBI_CMDLINE     (1u << 2)
#define MBI_MODS        (1u << 3)
#define MBI_MMAP        (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

/* "First hard disk, no partition", what QEMU reports. */
#define MBI_BOOT_DEVICE_HD0 0x8000ffffu
#define MBI_LOADER "popek"

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;      /* KiB below 640 KiB / above 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info, vbe_mode_info;
	uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
} __attribute__((packed));

struct multiboot_module {
	uint32_t mod_start, mod_end;        /* end is exclusive */
	uint32_t string;
	uint32_t reserved;
} __attribute__((packed));

/* An mmap entry; `size` counts the bytes after itself (20). */
struct multiboot_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

_Static_assert(sizeof(struct multiboot_info) == 88, "multiboot info is 88 bytes");
_Static_assert(sizeof(struct multiboot_module) == 16, "multiboot module is 16 bytes");
_Static_assert(sizeof(struct multiboot_mmap) == 24, "multiboot mmap entry is 24 bytes");

struct mb_boot {
	const char *kernel_path;   /* the command line starts with it, as GRUB and QEMU do */
	const char *cmdline;       /* NULL = empty */
	const char *module_path;   /* the initrd's, when rd->size != 0 */
	struct initrd module;
};

/* Writes the information structure with its command line, loader name,
 * module list and memory map into the block at base (boot_layout.h's
 * MB_OFF_*); the structure itself is at base + MB_OFF_INFO. */
int multiboot_info_write(const struct guest_mem *m, const struct mb_boot *b, uint64_t base,
			 char *err, size_t n);

#endif
