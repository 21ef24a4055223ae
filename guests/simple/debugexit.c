/* Ends with the debug-exit value given as "code=N" on the multiboot command
 * line (QEMU puts the kernel's file name in front; the option may be
 * anywhere): "code=42" gives status 85. No option: code 0. */
#include "guest.h"
#include "io.h"
#include "multiboot.h"
#include "serial.h"

void guest_main(void)
{
	const char *cmd = multiboot_cmdline();
	const char *p = strstr(cmd, "code=");
	uint32_t code = p ? (uint32_t)strtoul(p + 5, 0, 0) : 0;
	kprintf("debugexit: code %u\n", code);
	debug_exit(code);
}
