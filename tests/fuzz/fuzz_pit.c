/* libFuzzer target: the 8254's register interface (dev/pit.c: ports
 * 0x40-0x43 and the PIT's bits of port 0x61), fed a sequence of operations
 * decoded from the input, one opcode byte each:
 *   op % 8 == 0  read port (next byte & 3)
 *   op % 8 == 1  write port (next byte & 3) with the byte after it
 *   op % 8 == 2  the clock moves on by a u16 of nanoseconds shifted left
 *                by (next byte % 40), while the clock stays below 2^62
 *   op % 8 == 3  set the gate of channel (next byte % 3) to bit 7 of it
 *   op % 8 == 4  read port 0x61; 5 write it (next byte)
 *   op % 8 == 6  poll channel (next byte % 3) for a rising output edge
 *   op % 8 == 7  the next edge of channel (next byte % 3), and its count
 * A channel's next edge must not lie in the past. */
#include "fuzz.h"

#include "dev/pit.h"

#define CLOCK_LIMIT (1ull << 62)

static uint64_t now_ns;

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return now_ns;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	now_ns = 0;
	struct pit p;
	pit_init(&p, fake_clock, NULL);
	while (in.n > 0) {
		uint8_t op = fuzz_u8(&in);
		switch (op % 8) {
		case 0:
			(void)pit_read(&p, fuzz_u8(&in) & 3);
			break;
		case 1: {
			unsigned port = fuzz_u8(&in) & 3;
			pit_write(&p, port, fuzz_u8(&in));
			break;
		}
		case 2: {
			uint64_t d = fuzz_uint(&in, 2) << (fuzz_u8(&in) % 40);
			if (now_ns + d < CLOCK_LIMIT)  /* a host's clock: centuries, no wrap */
				now_ns += d;
			break;
		}
		case 3: {
			uint8_t b = fuzz_u8(&in);
			pit_set_gate(&p, b % 3, b & 0x80);
			break;
		}
		case 4:
			(void)pit_port61_read(&p);
			break;
		case 5:
			pit_port61_write(&p, fuzz_u8(&in));
			break;
		case 6: {
			bool level;
			unsigned ch = fuzz_u8(&in) % 3;
			(void)pit_poll_out(&p, ch, &level);
			FUZZ_CHECK(level == pit_out(&p, ch));
			break;
		}
		default: {
			unsigned ch = fuzz_u8(&in) % 3;
			uint64_t edge = pit_next_edge_ns(&p, ch);
			FUZZ_CHECK(edge == UINT64_MAX || edge >= now_ns);
			(void)pit_count(&p, ch);
			break;
		}
		}
		for (int ch = 0; ch < 3; ch++) {
			FUZZ_CHECK(p.ch[ch].mode <= 5);
			FUZZ_CHECK(p.ch[ch].reload >= 1 && p.ch[ch].reload <= 65536);
		}
	}
	return 0;
}
