#include "exit.h"

const char *exit_reason_name(enum exit_reason r)
{
	static const char *names[EXIT_REASON_COUNT] = {
		[EXIT_IO] = "io",
		[EXIT_MMIO] = "mmio",
		[EXIT_HLT] = "hlt",
		[EXIT_SHUTDOWN] = "shutdown",
		[EXIT_SYSTEM_EVENT] = "system-event",
		[EXIT_IRQ_WINDOW] = "irq-window",
		[EXIT_DEBUG] = "debug",
		[EXIT_FAIL_ENTRY] = "fail-entry",
		[EXIT_INTERNAL] = "internal-error",
		[EXIT_INTERRUPTED] = "interrupted",
	};
	return (unsigned)r < EXIT_REASON_COUNT ? names[r] : "unknown";
}
