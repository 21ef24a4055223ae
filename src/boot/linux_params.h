/* The Linux x86 boot protocol's structures, as Documentation/arch/x86/
 * boot.rst and zero-page.rst lay them out: the setup header (at 0x1f1 in
 * both the bzImage and the zero page) and struct boot_params. */
#ifndef POPEK_LINUX_PARAMS_H
#define POPEK_LINUX_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "boot/e820.h"

#define LINUX_HDR_OFFSET     0x1f1
#define LINUX_HDRS_MAGIC     0x53726448u   /* "HdrS" */
#define LINUX_BOOT_FLAG      0xaa55
#define LINUX_SECTOR         512
#define LINUX_DEFAULT_SETUP_SECTS 4
#define LINUX_MIN_VERSION    0x020c        /* 2.12: xloadflags, the 64-bit entry */
#define LINUX_VMLINUX_VERSION 0x020c
#define LINUX_ENTRY64_OFFSET 0x200         /* startup_64 from the load address */
#define LINUX_LOADER_UNKNOWN 0xff          /* type_of_loader: not an assigned id */
#define LINUX_HEAP_END       0xde00        /* 0xe000 - 0x200, as boot.rst suggests */
#define LINUX_VID_NORMAL     0xffff
#define LINUX_CMDLINE_SIZE   2048          /* x86 COMMAND_LINE_SIZE, for a vmlinux */
#define LINUX_INITRD_MAX     0x7fffffffu   /* for a vmlinux, which has no header */
#define LINUX_KERNEL_ALIGN   0x1000000u    /* 16 MiB, for a vmlinux */
#define LINUX_E820_MAX       128

/* loadflags */
#define LOADED_HIGH    (1u << 0)
#define KEEP_SEGMENTS  (1u << 6)
#define CAN_USE_HEAP   (1u << 7)
/* xloadflags */
#define XLF_KERNEL_64  (1u << 0)
#define XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)

struct setup_header {
	uint8_t setup_sects;            /* 0x1f1 */
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;              /* 0x1fa */
	uint16_t root_dev;
	uint16_t boot_flag;             /* 0x1fe */
	uint16_t jump;                  /* 0x200 */
	uint32_t header;                /* 0x202 */
	uint16_t version;               /* 0x206 */
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;         /* 0x210 */
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;          /* 0x214 */
	uint32_t ramdisk_image;         /* 0x218 */
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;          /* 0x224 */
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;          /* 0x228 */
	uint32_t initrd_addr_max;       /* 0x22c */
	uint32_t kernel_alignment;      /* 0x230 */
	uint8_t relocatable_kernel;     /* 0x234 */
	uint8_t min_alignment;
	uint16_t xloadflags;            /* 0x236 */
	uint32_t cmdline_size;          /* 0x238 */
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;        /* 0x248 */
	uint32_t payload_length;
	uint64_t setup_data;            /* 0x250 */
	uint64_t pref_address;          /* 0x258 */
	uint32_t init_size;             /* 0x260 */
	uint32_t handover_offset;       /* 0x264 */
	uint32_t kernel_info_offset;    /* 0x268 */
} __attribute__((packed));

/* The header fields popek needs end with init_size (protocol 2.10). */
#define LINUX_HDR_NEEDED_END 0x264

struct boot_params {
	uint8_t screen_info[0x40];      /* 0x000 */
	uint8_t apm_bios_info[0x14];    /* 0x040 */
	uint8_t pad1[4];
	uint64_t tboot_addr;            /* 0x058 */
	uint8_t ist_info[0x10];         /* 0x060 */
	uint64_t acpi_rsdp_addr;        /* 0x070 */
	uint8_t pad2[0x48];
	uint32_t ext_ramdisk_image;     /* 0x0c0 */
	uint32_t ext_ramdisk_size;
	uint32_t ext_cmd_line_ptr;
	uint8_t pad3[0x1e8 - 0xcc];
	uint8_t e820_entries;           /* 0x1e8 */
	uint8_t eddbuf_entries;
	uint8_t edd_mbr_sig_buf_entries;
	uint8_t kbd_status;
	uint8_t secure_boot;
	uint8_t pad4[2];
	uint8_t sentinel;               /* 0x1ef: must stay 0 */
	uint8_t pad5;
	struct setup_header hdr;        /* 0x1f1 */
	uint8_t pad6[0x2d0 - 0x1f1 - sizeof(struct setup_header)];
	struct e820_entry e820_table[LINUX_E820_MAX]; /* 0x2d0 */
	uint8_t pad7[0x1000 - 0x2d0 - LINUX_E820_MAX * sizeof(struct e820_entry)];
} __attribute__((packed));

_Static_assert(offsetof(struct setup_header, vid_mode) == 0x1fa - 0x1f1, "vid_mode");
_Static_assert(offsetof(struct setup_header, header) == 0x202 - 0x1f1, "header");
_Static_assert(offsetof(struct setup_header, type_of_loader) == 0x210 - 0x1f1, "type_of_loader");
_Static_assert(offsetof(struct setup_header, heap_end_ptr) == 0x224 - 0x1f1, "heap_end_ptr");
_Static_assert(offsetof(struct setup_header, cmd_line_ptr) == 0x228 - 0x1f1, "cmd_line_ptr");
_Static_assert(offsetof(struct setup_header, xloadflags) == 0x236 - 0x1f1, "xloadflags");
_Static_assert(offsetof(struct setup_header, pref_address) == 0x258 - 0x1f1, "pref_address");
_Static_assert(offsetof(struct setup_header, init_size) == 0x260 - 0x1f1, "init_size");
_Static_assert(sizeof(struct setup_header) == 0x26c - 0x1f1, "setup header ends at 0x26c");
_Static_assert(offsetof(struct boot_params, acpi_rsdp_addr) == 0x70, "acpi_rsdp_addr");
_Static_assert(offsetof(struct boot_params, ext_ramdisk_image) == 0xc0, "ext_ramdisk_image");
_Static_assert(offsetof(struct boot_params, e820_entries) == 0x1e8, "e820_entries");
_Static_assert(offsetof(struct boot_params, sentinel) == 0x1ef, "sentinel");
_Static_assert(offsetof(struct boot_params, hdr) == 0x1f1, "hdr");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820_table");
_Static_assert(sizeof(struct boot_params) == 0x1000, "the zero page is one page");

#endif
