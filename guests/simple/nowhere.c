/* Code outside RAM: a jump to a physical address nothing backs. On
 * hardware the bus reads all ones there, FF FF is no instruction, and the
 * guest takes #UD at the target; an engine must deliver that, not stop
 * with an internal error. The handler reports the fault and exits with
 * debug-exit 0x15 (status 43). The target is a command-line number
 * ("-a 0x...") so tests can aim below and above RAM. */
#include "guest.h"
#include "io.h"
#include "serial.h"
#include "multiboot.h"
#include "trap.h"

static void on_ud(struct trap_frame *f)
{
	kprintf("nowhere: #UD at %x\n", f->eip);
	debug_exit(0x15);
}

static uint32_t target_from_cmdline(void)
{
	const char *s = multiboot_cmdline();
	uint32_t v = 0;
	const char *p = s;
	while (*p && !(p[0] == '0' && p[1] == 'x'))
		p++;
	if (!*p)
		return 0xe0000000u;
	for (p += 2;; p++) {
		unsigned d = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0')
			     : *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10) : 16u;
		if (d == 16)
			break;
		v = v << 4 | d;
	}
	return v;
}

void guest_main(void)
{
	trap_init();
	trap_set_handler(6, on_ud);
	uint32_t target = target_from_cmdline();
	kprintf("nowhere: jumping to %x\n", target);
	__asm__ volatile("jmp *%0" : : "r"(target));
}
