#include "boot/linux_zero_page.h"

#include <stdlib.h>
#include <string.h>

#include "boot/boot_error.h"
#include "boot/boot_layout.h"

void linux_vmlinux_header(struct setup_header *h)
{
	memset(h, 0, sizeof(*h));
	h->boot_flag = LINUX_BOOT_FLAG;
	h->header = LINUX_HDRS_MAGIC;
	h->version = LINUX_VMLINUX_VERSION;
	h->kernel_alignment = LINUX_KERNEL_ALIGN;
	h->cmdline_size = LINUX_CMDLINE_SIZE;
	h->initrd_addr_max = LINUX_INITRD_MAX;
	h->loadflags = LOADED_HIGH;
	h->xloadflags = XLF_KERNEL_64;
}

/* What a boot loader writes into the header (boot.rst "write" fields). */
static void loader_fields(struct setup_header *h, const struct initrd *rd)
{
	h->type_of_loader = LINUX_LOADER_UNKNOWN;
	h->loadflags = (uint8_t)((h->loadflags | CAN_USE_HEAP) & ~KEEP_SEGMENTS);
	h->heap_end_ptr = LINUX_HEAP_END;
	h->vid_mode = LINUX_VID_NORMAL;
	h->cmd_line_ptr = (uint32_t)BOOT_CMDLINE;
	h->ramdisk_image = (uint32_t)rd->addr;
	h->ramdisk_size = (uint32_t)rd->size;
	/* Fields the image's copy may carry but only a loader may set: a
	 * setup_data pointer left in a corrupt image would send the kernel
	 * chasing garbage. */
	h->setup_data = 0;
	h->ext_loader_ver = 0;
	h->ext_loader_type = 0;
	h->hardware_subarch = 0;
	h->hardware_subarch_data = 0;
}

static int write_cmdline(const struct guest_mem *m, const char *cmdline)
{
	const char *s = cmdline ? cmdline : "";
	return gpa_write(m, BOOT_CMDLINE, s, strlen(s) + 1);
}

int linux_zero_page_write(const struct guest_mem *m, const struct setup_header *h,
			  const char *cmdline, const struct initrd *rd, char *err, size_t n)
{
	struct boot_params *bp = calloc(1, sizeof(*bp));
	if (bp == NULL)
		return boot_fail(err, n, "zero page: out of host memory");
	bp->hdr = *h;
	loader_fields(&bp->hdr, rd);
	/* The initrd lies below 4 GiB, so the ext_ fields (high halves) stay 0. */
	bp->e820_entries = (uint8_t)e820_build(m, bp->e820_table, LINUX_E820_MAX);
	/* Read by kernels from protocol 2.14 on; older ones find the RSDP by
	 * scanning the BIOS area, where it is too. */
	bp->acpi_rsdp_addr = BOOT_ACPI_RSDP;
	int bad = gpa_write(m, BOOT_ZERO_PAGE, bp, sizeof(*bp)) < 0 || write_cmdline(m, cmdline) < 0;
	free(bp);
	if (bad)
		return boot_fail(err, n, "guest memory does not cover the zero page and command line");
	return 0;
}
