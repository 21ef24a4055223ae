/* Where popek's loaders put things in guest-physical memory. One table, so
 * the loaders, the platform tables and the tests agree on every address.
 *
 * Low memory (below 1 MiB) holds what a firmware and a boot loader would
 * have left behind; kernels go at or above 1 MiB, initrds as high as their
 * protocol allows. */
#ifndef POPEK_BOOT_LAYOUT_H
#define POPEK_BOOT_LAYOUT_H

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

#define BOOT_PAGE 0x1000ull

/* BIOS data area: the word at 0x40e is the EBDA segment, which Linux
 * follows when it looks for the MP floating pointer. */
#define BDA_EBDA_SEGMENT 0x40eull

/* The boot GDT (both the 32-bit and the 64-bit flavour live here). */
#define BOOT_GDT         0x500ull

/* Flat real-mode binaries get their stack here. */
#define BOOT_REAL_SP     0x7000u

/* Linux: struct boot_params ("zero page"), RSI at entry. */
#define BOOT_ZERO_PAGE   0x7000ull
/* Stack top for the Linux and multiboot entries (below the page tables). */
#define BOOT_STACK_TOP   0x8ff0ull

/* Identity page tables for the 64-bit entries: PML4, one PDPT, and one
 * page directory of 2 MiB pages per GiB mapped. */
#define BOOT_PML4        0x9000ull
#define BOOT_PDPT        0xa000ull
#define BOOT_PD          0xb000ull
#define BOOT_IDENTITY_GIB 4

/* Multiboot: one block holds the information structure and all it points
 * to, and the entry's stack. It goes at BOOT_MB_INFO (the multiboot entry
 * uses no page tables, so it shares their space) unless the kernel or its
 * module is there — test kernels load at 0x8000 and the like — and then
 * wherever it fits (multiboot.c). Offsets within the block: */
#define BOOT_MB_INFO     0x9000ull      /* the block's first choice */
#define MB_OFF_INFO      0x0000ull
#define MB_OFF_MMAP      0x0400ull
#define MB_OFF_MODS      0x0800ull
#define MB_OFF_LOADER    0x0900ull
#define BOOT_MB_LOADER_MAX 0x100ull
#define MB_OFF_STACK_TOP 0x1ff0ull      /* a page of stack below the command line */
#define MB_OFF_CMDLINE   0x2000ull
#define MB_OFF_MODSTR    0xa000ull
#define BOOT_MB_MODSTR_MAX 0x8000ull
#define MB_BLOCK_SIZE    0x12000ull
/* What a multiboot kernel may not overlap below the EBDA: the real-mode
 * IVT and BIOS data area, and the boot GDT. */
#define BOOT_MB_FIXED_END 0x1000ull

/* The Linux command line (multiboot's is in its block). */
#define BOOT_CMDLINE     0x20000ull
#define BOOT_CMDLINE_MAX 0x8000ull      /* bytes including the NUL, both protocols */

/* Everything above lies below this; Linux kernels may not be loaded into
 * it (multiboot kernels only not into BOOT_MB_FIXED_END and their block). */
#define BOOT_LOW_USED_END 0x30000ull
/* Where "high" memory begins: kernels conventionally load at or above it,
 * and the e820 map's legacy hole ends here. */
#define BOOT_LOW_AREA_END 0x100000ull   /* 1 MiB */

/* Extended BIOS data area: the last KiB of base memory, reserved in e820;
 * the MP floating pointer and (when it fits) the MP configuration table. */
#define BOOT_EBDA        0x9fc00ull
#define BOOT_EBDA_END    0xa0000ull
/* The BIOS area [0xf0000, 1 MiB): reserved; a copy of the MP floating
 * pointer, and the MP configuration table when the EBDA is too small. */
#define BOOT_BIOS        0xf0000ull
#define BOOT_BIOS_END    0x100000ull

/* ACPI tables (acpi.c), in the BIOS area past the largest MP configuration
 * table (254 vCPUs: 0xf0010-0xf14b4). The RSDP on a 16-byte boundary where a
 * BIOS scan of 0xe0000-0xfffff finds it, the FACS on the 64-byte boundary
 * it needs, the MADT last since its length grows with the vCPUs (2104 bytes
 * for 254). */
#define BOOT_ACPI_RSDP   0xf2000ull
#define BOOT_ACPI_RSDT   0xf2040ull
#define BOOT_ACPI_XSDT   0xf2080ull
#define BOOT_ACPI_FACS   0xf2100ull
#define BOOT_ACPI_FADT   0xf2140ull
#define BOOT_ACPI_DSDT   0xf2280ull
#define BOOT_ACPI_MADT   0xf3000ull     /* the DSDT (PCI0's _PRT) has 3.4 KiB */
#define BOOT_ACPI_END    0xf4000ull

#define BOOT_KERNEL_DEFAULT 0x100000ull /* non-relocatable bzImage, 1 MiB */

#endif
