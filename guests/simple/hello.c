/* The smallest guest: a greeting, the multiboot command line and memory
 * size, then debug-exit 0 (status 1). */
#include "guest.h"
#include "io.h"
#include "multiboot.h"
#include "serial.h"

void guest_main(void)
{
	const struct multiboot_info *mbi = (const void *)(uintptr_t)multiboot_info_addr;
	kprintf("hello from popek guest\n");
	kprintf("cmdline: %s\n", multiboot_cmdline());
	if (multiboot_magic == MULTIBOOT_BOOTLOADER_MAGIC && (mbi->flags & MBI_FLAG_MEM))
		/* mem_upper counts from 1 MiB, so the total is that plus 1 MiB. */
		kprintf("memory: lower %u KiB, upper %u KiB, total %u MiB\n", mbi->mem_lower,
			mbi->mem_upper, (mbi->mem_upper + 1024) / 1024);
	else
		kprintf("memory: no multiboot memory information (magic %#x)\n", multiboot_magic);
	debug_exit(0);
}
