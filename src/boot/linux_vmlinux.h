/* An uncompressed Linux kernel (vmlinux, ELF64). */
#ifndef POPEK_LINUX_VMLINUX_H
#define POPEK_LINUX_VMLINUX_H

#include <stdint.h>

#include "boot/boot_file.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* The 32-bit PVH entry point from the image's Xen ELF note, when it has
 * one: 1 with *entry set, else 0. popek enters at e_entry in 64-bit mode;
 * this is for a future PVH entry. */
int linux_pvh_entry(const struct boot_file *f, uint32_t *entry);

#endif
