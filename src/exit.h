/* The one exit record: why an engine stopped running a vCPU.
 *
 * An engine runs a vCPU until something the machine must handle happens and
 * fills one of these. The machine answers it (devices, power state) and the
 * engine resumes; for an IN or an MMIO read the answer is written into the
 * record's data, which the engine hands back to the guest on resume. */
#ifndef POPEK_EXIT_H
#define POPEK_EXIT_H

#include <stdint.h>

enum exit_reason {
	EXIT_IO,            /* IN/OUT/INS/OUTS to a port */
	EXIT_MMIO,          /* access to guest-physical space that is not RAM */
	EXIT_HLT,           /* HLT with nothing to wake the vCPU inside the engine */
	EXIT_SHUTDOWN,      /* triple fault */
	EXIT_SYSTEM_EVENT,  /* reset or power-off requested through the engine */
	EXIT_IRQ_WINDOW,    /* the guest can take an interrupt now */
	EXIT_DEBUG,         /* breakpoint / single step reported to popek */
	EXIT_FAIL_ENTRY,    /* the engine could not enter the guest */
	EXIT_INTERNAL,      /* the engine cannot go on (emulation failure, ...) */
	EXIT_INTERRUPTED,   /* popek itself asked the vCPU to stop (signal, quit) */
	EXIT_REASON_COUNT
};

enum system_event { SYSTEM_EVENT_POWEROFF, SYSTEM_EVENT_RESET };

struct vm_exit {
	enum exit_reason reason;
	union {
		struct {
			uint16_t port;
			uint8_t size;       /* 1, 2 or 4 */
			uint8_t is_write;
			uint32_t count;     /* >1 for REP INS/OUTS */
			uint8_t *data;      /* count * size bytes, owned by the engine */
		} io;
		struct {
			uint64_t addr;
			uint8_t size;       /* 1..8 */
			uint8_t is_write;
			uint8_t *data;      /* size bytes, owned by the engine */
		} mmio;
		struct {
			enum system_event type;
		} system;
		struct {
			uint64_t code;      /* engine-specific failure code */
			const char *what;
		} fail;
	};
};

const char *exit_reason_name(enum exit_reason r);

#endif
