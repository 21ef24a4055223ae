/* The parts of the Multiboot 0.6.96 information structure the guests read. */
#ifndef GUEST_MULTIBOOT_H
#define GUEST_MULTIBOOT_H
#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002
#define MBI_FLAG_MEM     (1u << 0)
#define MBI_FLAG_CMDLINE (1u << 2)
#define MBI_FLAG_MMAP    (1u << 6)

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;	/* KiB below 1 MiB, KiB above 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
};

extern uint32_t multiboot_magic;
extern uint32_t multiboot_info_addr;
/* The command line, or "" when the loader passed none. */
const char *multiboot_cmdline(void);
#endif
