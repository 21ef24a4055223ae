/* The zero page (struct boot_params) and command line a Linux kernel finds
 * at its 64-bit entry, for a bzImage and for a vmlinux alike. */
#ifndef POPEK_LINUX_ZERO_PAGE_H
#define POPEK_LINUX_ZERO_PAGE_H

#include <stddef.h>

#include "boot/initrd.h"
#include "boot/linux_params.h"
#include "mem/guest_mem.h"

/* Fills the header fields a vmlinux has no header for, as a bzImage of
 * protocol 2.12 would carry them. */
void linux_vmlinux_header(struct setup_header *h);

/* Builds the zero page at BOOT_ZERO_PAGE from the kernel's header: the
 * loader's fields (type_of_loader, loadflags, heap, command line at
 * BOOT_CMDLINE, initrd), vid_mode, the e820 table and the ACPI RSDP
 * address (BOOT_ACPI_RSDP, which boot_load has filled). The command line
 * must already be checked against cmdline_size. */
int linux_zero_page_write(const struct guest_mem *m, const struct setup_header *h,
			  const char *cmdline, const struct initrd *rd, char *err, size_t n);

#endif
