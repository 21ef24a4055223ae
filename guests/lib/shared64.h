/* What the 32-bit half of a guest hands its 64-bit half (lm_call64's
 * argument): where the report counters and the exception-capture state
 * live. Pointers are 32-bit: everything sits below 4 GiB. The field offsets
 * are used by fault64.S. */
#ifndef GUEST_SHARED64_H
#define GUEST_SHARED64_H
#include <stdint.h>

struct lm_shared {
	uint32_t counts;	/* struct report_counts * */
	uint32_t reserved;
	uint32_t trap_last;	/* volatile struct trap_info * */
	uint32_t trap_armed;	/* volatile uint32_t * */
	uint32_t trap_resume;	/* volatile uint32_t * */
};
#endif
