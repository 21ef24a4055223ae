/* The RTC core on a pinned clock: encodings, registers, CMOS sizes. */
#include "check.h"
#include "dev/rtc.h"

static struct timespec pinned;

static void fixed_clock(void *opaque, struct timespec *now)
{
	(void)opaque;
	*now = pinned;
}

/* Pins the clock at a broken-down UTC time. */
static void pin(int year, int mon, int mday, int hour, int min, int sec, long nsec)
{
	struct tm tm = { .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = mday,
			 .tm_hour = hour, .tm_min = min, .tm_sec = sec };
	pinned.tv_sec = timegm(&tm);
	pinned.tv_nsec = nsec;
}

static uint8_t port_read(struct rtc *r, uint8_t reg)
{
	rtc_write_index(r, reg);
	return rtc_read_data(r);
}

static void port_write(struct rtc *r, uint8_t reg, uint8_t val)
{
	rtc_write_index(r, reg);
	rtc_write_data(r, val);
}

static void test_bcd_24h(void)
{
	struct rtc r;
	rtc_init(&r, fixed_clock, NULL);
	pin(2026, 11, 21, 15, 4, 9, 0);  /* a Saturday */
	CHECK_EQ(port_read(&r, RTC_REG_B), RTC_B_24H, "rtc: register B defaults to BCD, 24-hour");
	CHECK_EQ(port_read(&r, RTC_SECONDS), 0x09, "rtc: BCD seconds");
	CHECK_EQ(port_read(&r, RTC_MINUTES), 0x04, "rtc: BCD minutes");
	CHECK_EQ(port_read(&r, RTC_HOURS), 0x15, "rtc: BCD 24-hour hours");
	CHECK_EQ(port_read(&r, RTC_DAY_OF_WEEK), 0x07, "rtc: day of week, Sunday = 1");
	CHECK_EQ(port_read(&r, RTC_DAY_OF_MONTH), 0x21, "rtc: BCD day of month");
	CHECK_EQ(port_read(&r, RTC_MONTH), 0x11, "rtc: BCD month");
	CHECK_EQ(port_read(&r, RTC_YEAR), 0x26, "rtc: BCD year");
	CHECK_EQ(port_read(&r, RTC_CENTURY), 0x20, "rtc: BCD century at 0x32");
}

static void test_binary_12h(void)
{
	struct rtc r;
	rtc_init(&r, fixed_clock, NULL);
	pin(2026, 11, 21, 15, 4, 9, 0);
	port_write(&r, RTC_REG_B, RTC_B_DM_BINARY | RTC_B_24H);
	CHECK_EQ(port_read(&r, RTC_SECONDS), 9, "rtc: binary seconds");
	CHECK_EQ(port_read(&r, RTC_HOURS), 15, "rtc: binary 24-hour hours");
	CHECK_EQ(port_read(&r, RTC_DAY_OF_MONTH), 21, "rtc: binary day of month");
	CHECK_EQ(port_read(&r, RTC_YEAR), 26, "rtc: binary year");
	CHECK_EQ(port_read(&r, RTC_CENTURY), 20, "rtc: binary century");
	port_write(&r, RTC_REG_B, RTC_B_DM_BINARY);
	CHECK_EQ(port_read(&r, RTC_HOURS), 0x80 | 3, "rtc: binary 12-hour 15:xx is PM 3");
	port_write(&r, RTC_REG_B, 0);
	CHECK_EQ(port_read(&r, RTC_HOURS), 0x83, "rtc: BCD 12-hour 15:xx is 0x83");
	pin(2026, 11, 21, 0, 30, 0, 0);
	CHECK_EQ(port_read(&r, RTC_HOURS), 0x12, "rtc: BCD 12-hour midnight is 12 AM (0x12)");
	pin(2026, 11, 21, 12, 30, 0, 0);
	CHECK_EQ(port_read(&r, RTC_HOURS), 0x92, "rtc: BCD 12-hour noon is 12 PM (0x92)");
	pin(2026, 11, 21, 23, 30, 0, 0);
	CHECK_EQ(port_read(&r, RTC_HOURS), 0x91, "rtc: BCD 12-hour 23:xx is 0x91");
	port_write(&r, RTC_REG_B, RTC_B_DM_BINARY);
	CHECK_EQ(port_read(&r, RTC_HOURS), 0x80 | 11, "rtc: binary 12-hour 23:xx is PM 11");
}

static void test_set_time(void)
{
	struct rtc r;
	rtc_init(&r, fixed_clock, NULL);
	pin(2026, 11, 21, 15, 4, 9, 0);
	port_write(&r, RTC_HOURS, 0x08);
	port_write(&r, RTC_YEAR, 0x30);
	CHECK_EQ(port_read(&r, RTC_HOURS), 0x08, "rtc: the guest sets the hour");
	CHECK_EQ(port_read(&r, RTC_YEAR), 0x30, "rtc: the guest sets the year");
	CHECK_EQ(port_read(&r, RTC_MINUTES), 0x04, "rtc: setting fields keeps the others");
	pinned.tv_sec += 61;
	CHECK_EQ(port_read(&r, RTC_MINUTES), 0x05, "rtc: the guest's clock keeps running");
	port_write(&r, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	port_write(&r, RTC_CENTURY, 21);
	CHECK_EQ(port_read(&r, RTC_CENTURY), 21, "rtc: the guest sets the century");
	CHECK_EQ(port_read(&r, RTC_YEAR), 30, "rtc: ... keeping the year in it");
}

/* A year before 1900 in BCD: found by make fuzz (fuzz_rtc: the guest
 * writes century 09, then reads the year), where the BCD encoding of the
 * negative tm_year % 100 shifted a negative value (UBSan stopped it). */
static void test_year_before_1900(void)
{
	struct rtc r;
	rtc_init(&r, fixed_clock, NULL);
	pin(2025, 12, 4, 10, 0, 0, 0);
	port_write(&r, RTC_CENTURY, 0x09);
	CHECK_EQ(port_read(&r, RTC_YEAR), 0x25, "rtc: the year 925 reads as BCD 25");
	CHECK_EQ(port_read(&r, RTC_CENTURY), 0x09, "rtc: ... in century 09");
	port_write(&r, RTC_CENTURY, 0x18);
	port_write(&r, RTC_YEAR, 0x50);
	CHECK_EQ(port_read(&r, RTC_YEAR), 0x50, "rtc: the year 1850 reads as BCD 50");
	CHECK_EQ(port_read(&r, RTC_CENTURY), 0x18, "rtc: ... in century 18");
}

static void test_registers(void)
{
	struct rtc r;
	rtc_init(&r, fixed_clock, NULL);
	pin(2026, 11, 21, 15, 4, 9, 500000000);
	CHECK_EQ(port_read(&r, RTC_REG_A), 0x26, "rtc: register A: 32 kHz divider, 1024 Hz rate, UIP clear mid-second");
	pinned.tv_nsec = 1000000000L - RTC_UIP_NS / 2;
	CHECK_EQ(port_read(&r, RTC_REG_A), 0xa6, "rtc: UIP set just before the second's update");
	port_write(&r, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	CHECK_EQ(port_read(&r, RTC_REG_A) & RTC_A_UIP, 0, "rtc: no UIP while SET holds the clock");
	port_write(&r, RTC_REG_B, RTC_B_24H);
	port_write(&r, RTC_REG_A, 0xff);
	CHECK_EQ(port_read(&r, RTC_REG_A) & 0x7f, 0x7f, "rtc: register A bits 6..0 are writable");
	CHECK_EQ(port_read(&r, RTC_REG_D), RTC_D_VRT, "rtc: register D shows VRT (battery good)");
	port_write(&r, RTC_REG_D, 0);
	CHECK_EQ(port_read(&r, RTC_REG_D), RTC_D_VRT, "rtc: register D is read-only");
	CHECK_EQ(port_read(&r, RTC_REG_C), 0, "rtc: register C has no flags (no interrupts yet)");
	rtc_write_index(&r, 0x80 | RTC_REG_D);
	CHECK(r.nmi_masked, "rtc: index bit 7 masks NMI");
	CHECK_EQ(rtc_read_data(&r), RTC_D_VRT, "rtc: index bit 7 does not change the register chosen");
	rtc_write_index(&r, RTC_REG_D);
	CHECK(!r.nmi_masked, "rtc: index bit 7 clear unmasks NMI");
	port_write(&r, 0x40, 0x5c);
	CHECK_EQ(port_read(&r, 0x40), 0x5c, "rtc: plain CMOS bytes hold what is written");
	CHECK_EQ(port_read(&r, RTC_SECONDS_ALARM), 0, "rtc: alarm registers are plain bytes");
	port_write(&r, RTC_SECONDS_ALARM, 0x30);
	CHECK_EQ(port_read(&r, RTC_SECONDS_ALARM), 0x30, "rtc: alarm seconds hold what is written");
}

static void test_set_with_set_bit(void)
{
	struct rtc r;
	rtc_init(&r, fixed_clock, NULL);
	pin(2026, 1, 31, 10, 0, 0, 0);
	/* As Linux's mc146818_set_time: SET, the fields, then release. */
	port_write(&r, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	port_write(&r, RTC_MONTH, 0x02);
	CHECK_EQ(port_read(&r, RTC_DAY_OF_MONTH), 0x31, "rtc: under SET fields are kept as written (Feb 31)");
	port_write(&r, RTC_DAY_OF_MONTH, 0x28);
	port_write(&r, RTC_SECONDS, 0x00);
	pinned.tv_sec += 5;
	CHECK_EQ(port_read(&r, RTC_SECONDS), 0x00, "rtc: the clock stands still under SET");
	port_write(&r, RTC_REG_B, RTC_B_24H);
	CHECK_EQ(port_read(&r, RTC_MONTH), 0x02, "rtc: released: month as set");
	CHECK_EQ(port_read(&r, RTC_DAY_OF_MONTH), 0x28, "rtc: released: day as set, not normalized from Feb 31");
	pinned.tv_sec += 3;
	CHECK_EQ(port_read(&r, RTC_SECONDS), 0x03, "rtc: released: the clock runs from the set time");
}

static unsigned get16(struct rtc *r, uint8_t at)
{
	return port_read(r, at) | (unsigned)port_read(r, at + 1) << 8;
}

static void test_memory_size(void)
{
	struct rtc r;
	rtc_init(&r, fixed_clock, NULL);
	rtc_set_memory(&r, 512ull << 20, 0);
	CHECK_EQ(get16(&r, 0x15), 640, "rtc: CMOS 0x15/0x16 base memory 640 KiB");
	CHECK_EQ(get16(&r, 0x17), 0xffff, "rtc: CMOS 0x17/0x18 extended memory caps at 0xffff KiB");
	CHECK_EQ(get16(&r, 0x30), 0xffff, "rtc: CMOS 0x30/0x31 copies 0x17/0x18");
	CHECK_EQ(get16(&r, 0x34), (512 - 16) * 16, "rtc: CMOS 0x34/0x35 RAM above 16 MiB in 64 KiB");
	CHECK_EQ(port_read(&r, 0x5b) | port_read(&r, 0x5c) | port_read(&r, 0x5d), 0,
		 "rtc: CMOS 0x5b-0x5d no RAM above 4 GiB");
	unsigned sum = 0;
	for (uint8_t i = 0x10; i < 0x2e; i++)
		sum += port_read(&r, i);
	CHECK_EQ(port_read(&r, 0x2e) << 8 | port_read(&r, 0x2f), sum & 0xffff,
		 "rtc: CMOS checksum at 0x2e/0x2f covers 0x10-0x2d");

	rtc_set_memory(&r, 30ull << 20, 0);
	CHECK_EQ(get16(&r, 0x17), 29 * 1024, "rtc: 30 MiB: 29 MiB of extended memory");
	CHECK_EQ(get16(&r, 0x34), 14 * 16, "rtc: 30 MiB: 14 MiB above 16 MiB");

	rtc_set_memory(&r, 3ull << 30, 2ull << 30);
	CHECK_EQ(get16(&r, 0x34), (3u * 1024 - 16) * 16, "rtc: 5 GiB: 0x34 counts up to the hole");
	CHECK_EQ(port_read(&r, 0x5b) | port_read(&r, 0x5c) << 8 | port_read(&r, 0x5d) << 16,
		 (2u << 30) >> 16, "rtc: 5 GiB: 0x5b-0x5d count 2 GiB above 4 GiB");
}

int main(void)
{
	test_bcd_24h();
	test_binary_12h();
	test_set_time();
	test_year_before_1900();
	test_registers();
	test_set_with_set_bit();
	test_memory_size();
	return CHECK_DONE();
}
