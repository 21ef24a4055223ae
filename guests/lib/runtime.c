/* From the entry stub to guest_main, and the multiboot accessors. */
#include "guest.h"
#include "multiboot.h"
#include "serial.h"

uint32_t multiboot_magic;
uint32_t multiboot_info_addr;

const char *multiboot_cmdline(void)
{
	const struct multiboot_info *mbi = (const void *)(uintptr_t)multiboot_info_addr;
	if (multiboot_magic != MULTIBOOT_BOOTLOADER_MAGIC || !mbi || !(mbi->flags & MBI_FLAG_CMDLINE) ||
	    !mbi->cmdline)
		return "";
	return (const char *)(uintptr_t)mbi->cmdline;
}

void runtime_start(void);
void runtime_start(void)
{
	serial_init();
	guest_main();
	report_finish();
}
