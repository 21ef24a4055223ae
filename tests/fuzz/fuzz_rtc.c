/* libFuzzer target: the CMOS RTC's register interface (dev/rtc.c, ports
 * 0x70 and 0x71), fed a sequence of operations decoded from the input, one
 * opcode byte each:
 *   op % 6 == 0  write the index port (next byte, NMI mask in bit 7)
 *   op % 6 == 1  read the data port
 *   op % 6 == 2  write the data port (next byte)
 *   op % 6 == 3  the host clock moves on by a u32 of nanoseconds times
 *                (next byte + 1), so days and years pass too
 *   op % 6 == 4  the memory-size bytes, from two u64s
 *   op % 6 == 5  write an index, then read it back
 * The host's clock stays within years 1970..2500, as a host's does; the
 * guest's writes are unconstrained. */
#include "fuzz.h"

#include "dev/rtc.h"

static struct timespec host_now;

static void fixed_clock(void *opaque, struct timespec *now)
{
	(void)opaque;
	*now = host_now;
}

#define CLOCK_LIMIT 16725225600ll  /* 2500-01-01 */

static void advance(uint64_t ns)
{
	host_now.tv_nsec += (long)(ns % 1000000000ull);
	host_now.tv_sec += (time_t)(ns / 1000000000ull) + host_now.tv_nsec / 1000000000;
	host_now.tv_nsec %= 1000000000;
	if (host_now.tv_sec >= CLOCK_LIMIT)
		host_now.tv_sec %= CLOCK_LIMIT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	host_now.tv_sec = 1764806400;  /* 2025-12-04 */
	host_now.tv_nsec = 0;
	struct rtc r;
	rtc_init(&r, fixed_clock, NULL);
	while (in.n > 0) {
		uint8_t op = fuzz_u8(&in);
		switch (op % 6) {
		case 0:
			rtc_write_index(&r, fuzz_u8(&in));
			break;
		case 1:
			(void)rtc_read_data(&r);
			break;
		case 2:
			rtc_write_data(&r, fuzz_u8(&in));
			break;
		case 3: {
			uint64_t ns = fuzz_uint(&in, 4);
			advance(ns * (fuzz_u8(&in) + 1ull) * 1000);
			break;
		}
		case 4: {
			uint64_t low = fuzz_uint(&in, 8);
			rtc_set_memory(&r, low, fuzz_uint(&in, 8));
			break;
		}
		default:
			rtc_write_index(&r, fuzz_u8(&in));
			(void)rtc_read_data(&r);
			break;
		}
		FUZZ_CHECK(r.index < RTC_CMOS_SIZE);
		FUZZ_CHECK(r.irq_level == 0 || r.irq_level == 1);
	}
	return 0;
}
