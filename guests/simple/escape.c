/* A hostile guest for the raw engine's sandbox (tests/guest/raw.sh). It
 * reaches a far jump to selector 0x33 (the host's 64-bit user code
 * segment under raw) by a RET to a computed address, the one path into
 * code that raw's scanner does not see before it runs, and from 64-bit
 * mode tries what the process that runs it could do:
 *   cmdline "syscall": a host system call (getpid);
 *   cmdline "spin":    nothing, for ever (popek must still stop it);
 *   otherwise:         UD2 in 64-bit mode.
 * Under raw, popek must report a sandbox violation and end the run with
 * status 8; under an engine that runs the guest's own descriptors, 0x33 is
 * past the end of this guest's GDT and the far jump raises #GP, which the
 * guest reports before debug-exit 0. */
#include "guest.h"
#include "io.h"
#include "multiboot.h"
#include "serial.h"
#include "trap.h"

extern char escape_target[], code64_syscall[], code64_ud2[], code64_spin[];
volatile uint32_t code64_entry;

__asm__(".text\n"
	".code64\n"
	"code64_syscall: movl $39, %eax\n syscall\n ud2\n"
	"code64_spin: jmp code64_spin\n"
	"code64_ud2: ud2\n"
	".code32\n"
	/* after a RET nothing falls through: no scan reaches this */
	"escape_target: ljmp *escape_ptr\n"
	".data\n"
	"escape_ptr: .long 0\n .word 0x33\n"
	".text\n");

extern volatile uint32_t escape_ptr;

static void on_gp(struct trap_frame *f)
{
	kprintf("escape: the far jump to 0x33 raised #GP (error %#x): no host selector here\n",
		f->error);
	debug_exit(0);
}

void guest_main(void)
{
	const char *cmd = multiboot_cmdline();
	trap_init();
	trap_set_handler(13, on_gp);
	escape_ptr = strstr(cmd, "syscall") ? (uint32_t)(uintptr_t)code64_syscall
		   : strstr(cmd, "spin") ? (uint32_t)(uintptr_t)code64_spin
					 : (uint32_t)(uintptr_t)code64_ud2;
	kprintf("escape: jumping to 0x33:%#x\n", escape_ptr);
	/* the address is computed, so no scan takes it for an entry */
	__asm__ volatile("movl $escape_target - 7, %%eax\n\t"
			 "addl $7, %%eax\n\t"
			 "pushl %%eax\n\t"
			 "ret" ::: "eax", "memory");
	kprintf("escape: still here\n");
	debug_exit(1);
}
