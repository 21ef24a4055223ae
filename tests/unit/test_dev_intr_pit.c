/* The 8254 core on a fake clock: counts and outputs at chosen times in the
 * modes Linux and firmware use, latch and read-back, and channel 2 through
 * port 0x61 the way Linux calibrates the TSC. */
#include "check.h"
#include "dev/pit.h"

static uint64_t fake_ns;

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return fake_ns;
}

/* The first nanosecond at which t PIT ticks have passed since time 0. */
static uint64_t ns_of_ticks(uint64_t t)
{
	return (t * 1000000000ull + PIT_HZ - 1) / PIT_HZ;
}

static void at_tick(uint64_t t)
{
	fake_ns = ns_of_ticks(t);
}

static void start_pit(struct pit *p)
{
	fake_ns = 0;
	pit_init(p, fake_clock, NULL);
}

static void write16(struct pit *p, unsigned ch, uint16_t v)
{
	pit_write(p, ch, (uint8_t)v);
	pit_write(p, ch, (uint8_t)(v >> 8));
}

static uint16_t read16(struct pit *p, unsigned ch)
{
	uint16_t lo = pit_read(p, ch);
	return (uint16_t)(lo | pit_read(p, ch) << 8);
}

static void test_mode0(void)
{
	struct pit p;
	start_pit(&p);
	at_tick(1000);
	pit_write(&p, 3, 0x30);
	CHECK(!pit_out(&p, 0), "pit mode 0: OUT goes low on the control word");
	write16(&p, 0, 1000);
	CHECK_EQ(read16(&p, 0), 1000, "pit mode 0: count 1000 right after loading");
	at_tick(1500);
	CHECK_EQ(read16(&p, 0), 500, "pit mode 0: 500 ticks later the count is 500");
	CHECK(!pit_out(&p, 0), "pit mode 0: OUT low before terminal count");
	bool level;
	CHECK(!pit_poll_out(&p, 0, &level) && !level, "pit mode 0: no rising edge yet");
	at_tick(2000);
	CHECK(pit_out(&p, 0), "pit mode 0: OUT high at terminal count");
	CHECK_EQ(read16(&p, 0), 0, "pit mode 0: count 0 at terminal count");
	CHECK(pit_poll_out(&p, 0, &level) && level, "pit mode 0: the poll sees the rising edge");
	at_tick(2001);
	CHECK_EQ(read16(&p, 0), 0xffff, "pit mode 0: the counter wraps on to 0xffff");
	at_tick(5000);
	CHECK(!pit_poll_out(&p, 0, &level) && level, "pit mode 0: one edge only, OUT stays high");
	pit_write(&p, 0, 0x10);
	CHECK(!pit_out(&p, 0), "pit mode 0: writing the first byte drops OUT");
	pit_write(&p, 0, 0x00);
	at_tick(5000 + 0x10);
	CHECK(pit_out(&p, 0), "pit mode 0: the new count 0x10 expires 16 ticks later");
	pit_write(&p, 3, 0x30);
	write16(&p, 0, 0);
	at_tick(5016 + 65535);
	CHECK_EQ(read16(&p, 0), 1, "pit mode 0: count 0 means 65536");
}

static void test_mode2_mode3(void)
{
	struct pit p;
	start_pit(&p);
	bool level;
	pit_write(&p, 3, 0x34);
	write16(&p, 0, 100);
	pit_poll_out(&p, 0, &level);
	at_tick(50);
	CHECK_EQ(read16(&p, 0), 50, "pit mode 2: count 50 at tick 50");
	CHECK(pit_out(&p, 0), "pit mode 2: OUT high mid-period");
	at_tick(99);
	CHECK_EQ(read16(&p, 0), 1, "pit mode 2: count 1 at tick 99");
	CHECK(!pit_out(&p, 0), "pit mode 2: OUT low for the one tick at count 1");
	at_tick(100);
	CHECK_EQ(read16(&p, 0), 100, "pit mode 2: reloads to 100 at the period's end");
	CHECK(pit_out(&p, 0), "pit mode 2: OUT high again");
	CHECK(pit_poll_out(&p, 0, &level), "pit mode 2: the poll reports the period's edge");
	at_tick(150);
	CHECK(!pit_poll_out(&p, 0, &level), "pit mode 2: no edge within a period");
	at_tick(1000);
	CHECK(pit_poll_out(&p, 0, &level), "pit mode 2: many periods coalesce into one edge");
	CHECK(!pit_poll_out(&p, 0, &level), "pit mode 2: and are not reported twice");

	pit_write(&p, 3, 0x36);
	write16(&p, 0, 100);
	at_tick(1010);
	CHECK(pit_out(&p, 0), "pit mode 3: OUT high in the first half");
	CHECK_EQ(read16(&p, 0), 80, "pit mode 3: counts down by two (80 after 10 ticks)");
	at_tick(1060);
	CHECK(!pit_out(&p, 0), "pit mode 3: OUT low in the second half");
	at_tick(1100);
	CHECK(pit_out(&p, 0), "pit mode 3: OUT high again after a full period");
	pit_write(&p, 3, 0x36);
	write16(&p, 0, 5);
	at_tick(1102);
	CHECK(pit_out(&p, 0), "pit mode 3: odd count: high for (N+1)/2 = 3 ticks");
	at_tick(1103);
	CHECK(!pit_out(&p, 0), "pit mode 3: odd count: then low for 2");
}

static void test_other_modes(void)
{
	struct pit p;
	start_pit(&p);
	pit_write(&p, 3, 0x38);  /* channel 0, mode 4 */
	write16(&p, 0, 10);
	at_tick(9);
	CHECK(pit_out(&p, 0), "pit mode 4: OUT high while counting");
	at_tick(10);
	CHECK(!pit_out(&p, 0), "pit mode 4: one tick low at terminal count");
	at_tick(11);
	CHECK(pit_out(&p, 0), "pit mode 4: high again after it");

	pit_write(&p, 3, 0xb2);  /* channel 2, mode 1 */
	write16(&p, 2, 20);
	at_tick(50);
	CHECK(pit_out(&p, 2), "pit mode 1: OUT high until the gate triggers");
	pit_set_gate(&p, 2, true);
	at_tick(51);
	CHECK(!pit_out(&p, 2), "pit mode 1: OUT low after the trigger");
	CHECK_EQ(pit_count(&p, 2), 19, "pit mode 1: counting from the trigger");
	at_tick(70);
	CHECK(pit_out(&p, 2), "pit mode 1: OUT high at terminal count");
	pit_set_gate(&p, 2, false);
	pit_set_gate(&p, 2, true);
	CHECK(!pit_out(&p, 2), "pit mode 1: a new gate edge retriggers");

	pit_set_gate(&p, 2, false);
	pit_write(&p, 3, 0xba);  /* channel 2, mode 5 */
	write16(&p, 2, 5);
	at_tick(100);
	pit_set_gate(&p, 2, true);
	at_tick(105);
	CHECK(!pit_out(&p, 2), "pit mode 5: strobe 5 ticks after the gate edge");
	at_tick(106);
	CHECK(pit_out(&p, 2), "pit mode 5: and only for one tick");

	pit_write(&p, 3, 0x31);  /* channel 0, mode 0, BCD */
	write16(&p, 0, 0x1000);
	at_tick(107);
	CHECK_EQ(read16(&p, 0), 0x0999, "pit BCD: 1000 - 1 reads as BCD 0999");
}

static void test_access_latch_readback(void)
{
	struct pit p;
	start_pit(&p);
	pit_write(&p, 3, 0x10);  /* channel 0, LSB only, mode 0 */
	pit_write(&p, 0, 0x50);
	CHECK_EQ(pit_read(&p, 0), 0x50, "pit access: LSB-only write and read");
	CHECK_EQ(pit_read(&p, 0), 0x50, "pit access: LSB-only reads never toggle");
	pit_write(&p, 3, 0x20);  /* MSB only */
	pit_write(&p, 0, 0x01);
	CHECK_EQ(pit_count(&p, 0), 0x100, "pit access: MSB-only write 1 loads 0x100");
	CHECK_EQ(pit_read(&p, 0), 0x01, "pit access: MSB-only read");

	pit_write(&p, 3, 0x30);
	write16(&p, 0, 1000);
	at_tick(10);
	pit_write(&p, 3, 0x00);  /* counter latch */
	at_tick(300);
	pit_write(&p, 3, 0x00);  /* ignored until the first latch is read */
	CHECK_EQ(read16(&p, 0), 990, "pit latch: the latched count survives time passing");
	CHECK_EQ(read16(&p, 0), 700, "pit latch: after reading it, reads follow the counter");
	pit_read(&p, 0);
	pit_write(&p, 3, 0x00);
	CHECK_EQ(read16(&p, 0), 700, "pit latch: a latch mid-read starts a fresh LSB/MSB pair");

	pit_write(&p, 3, 0xc2);  /* read-back: count and status of channel 0 */
	at_tick(400);
	CHECK_EQ(pit_read(&p, 0), 0x30, "pit read-back: status first: OUT low, LSB/MSB, mode 0");
	CHECK_EQ(read16(&p, 0), 700, "pit read-back: then the count latched at the command");
	pit_write(&p, 3, 0x34);
	pit_write(&p, 3, 0xe2);  /* status only */
	CHECK_EQ(pit_read(&p, 0), 0xf4, "pit read-back: null count and OUT high after a mode 2 control word");
	write16(&p, 0, 50);
	pit_write(&p, 3, 0xe2);
	CHECK_EQ(pit_read(&p, 0) & 0x40, 0, "pit read-back: null count clears once loaded");
	pit_write(&p, 3, 0xdc);  /* count only, channels 1 and 2 */
	CHECK(p.ch[1].count_latched && p.ch[2].count_latched && !p.ch[1].status_latched,
	      "pit read-back: selects channels by bits 1-3");
	CHECK_EQ(pit_read(&p, 3), 0xff, "pit: the control port reads 0xff");
}

/* Linux's pit_calibrate_tsc: gate on, speaker off, channel 2 mode 0 with a
 * 50 ms count, spin on port 0x61 bit 5. */
static void test_port61_calibration(void)
{
	struct pit p;
	start_pit(&p);
	at_tick(12345);
	pit_port61_write(&p, (uint8_t)((pit_port61_read(&p) & ~0x02) | 0x01));
	pit_write(&p, 3, 0xb0);
	uint16_t latch = (uint16_t)(PIT_HZ / (1000 / 50));
	write16(&p, 2, latch);
	CHECK_EQ(pit_port61_read(&p) & 0x21, 0x01, "port 0x61: gate 2 reads back, OUT2 low while counting");
	at_tick(12345 + latch - 1);
	CHECK_EQ(pit_port61_read(&p) & 0x20, 0, "port 0x61: OUT2 still low one tick before 50 ms");
	at_tick(12345 + latch);
	CHECK_EQ(pit_port61_read(&p) & 0x20, 0x20, "port 0x61: OUT2 (bit 5) high after 50 ms");
	CHECK(fake_ns >= 49999000 + ns_of_ticks(12345) && fake_ns <= 50001000 + ns_of_ticks(12345),
	      "port 0x61: that is 50 ms of the clock (%llu ns)", (unsigned long long)fake_ns);

	/* quick_pit_calibrate: count from 0xffff and watch the MSB fall. */
	pit_write(&p, 3, 0xb0);
	pit_write(&p, 2, 0xff);
	pit_write(&p, 2, 0xff);
	uint64_t t0 = 12345 + latch;
	at_tick(t0 + 256 * 3 + 10);
	pit_read(&p, 2);
	CHECK_EQ(pit_read(&p, 2), 0xfc, "port 0x61: unlatched MSB reads fall by one per 256 ticks");
	pit_port61_write(&p, 0x00);
	uint16_t frozen = pit_count(&p, 2);
	at_tick(t0 + 5000);
	CHECK_EQ(pit_count(&p, 2), frozen, "port 0x61: gate 2 low stops channel 2 in mode 0");
	pit_port61_write(&p, 0x01);
	at_tick(t0 + 5100);
	CHECK_EQ(pit_count(&p, 2), (uint16_t)(frozen - 100), "port 0x61: gate high resumes counting");
	pit_port61_write(&p, 0xff);
	CHECK_EQ(pit_port61_read(&p) & 0x0f, 0x0f, "port 0x61: bits 0-3 read back as written");
	fake_ns = 0;
	uint8_t a = pit_port61_read(&p) & 0x10;
	fake_ns = 15085;
	uint8_t b = pit_port61_read(&p) & 0x10;
	CHECK(a != b, "port 0x61: bit 4 toggles with refresh (every 15 us)");
}

/* What a halted CPU sleeps (or, deterministic, skips) until. */
static void test_next_edge(void)
{
	struct pit p;
	start_pit(&p);
	bool level;
	CHECK_EQ(pit_next_edge_ns(&p, 0), UINT64_MAX, "pit next edge: none before a count is loaded");
	pit_write(&p, 3, 0x34);  /* mode 2 */
	write16(&p, 0, 100);
	CHECK_EQ(pit_next_edge_ns(&p, 0), ns_of_ticks(100), "pit next edge: mode 2, one period after loading");
	at_tick(150);
	CHECK_EQ(pit_next_edge_ns(&p, 0), ns_of_ticks(200), "pit next edge: mode 2, the end of the current period");
	fake_ns = pit_next_edge_ns(&p, 0);
	pit_poll_out(&p, 0, &level);
	CHECK(pit_next_edge_ns(&p, 0) == ns_of_ticks(300), "pit next edge: a poll at the edge sees it and looks on");
	pit_write(&p, 3, 0x30);  /* mode 0 */
	write16(&p, 0, 50);
	CHECK_EQ(pit_next_edge_ns(&p, 0), ns_of_ticks(250), "pit next edge: mode 0, terminal count");
	at_tick(260);
	CHECK_EQ(pit_next_edge_ns(&p, 0), UINT64_MAX, "pit next edge: mode 0, none after terminal count");
}

int main(void)
{
	test_next_edge();
	test_mode0();
	test_mode2_mode3();
	test_other_modes();
	test_access_latch_readback();
	test_port61_calibration();
	return CHECK_DONE();
}
