/* The PC's MC146818 real-time clock and its CMOS RAM, behind ports 0x70
 * (index, with the NMI mask in bit 7) and 0x71 (data). The time registers
 * are computed from a clock the owner supplies, so a test can pin the time;
 * the guest setting the clock moves an offset, never the host's clock. */
#ifndef POPEK_DEV_RTC_H
#define POPEK_DEV_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

enum rtc_reg {
	RTC_SECONDS = 0x00, RTC_SECONDS_ALARM = 0x01,
	RTC_MINUTES = 0x02, RTC_MINUTES_ALARM = 0x03,
	RTC_HOURS = 0x04, RTC_HOURS_ALARM = 0x05,
	RTC_DAY_OF_WEEK = 0x06, RTC_DAY_OF_MONTH = 0x07, RTC_MONTH = 0x08, RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a, RTC_REG_B = 0x0b, RTC_REG_C = 0x0c, RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32,
	RTC_CMOS_SIZE = 0x80
};

#define RTC_A_UIP      0x80
#define RTC_A_DIVIDER  0x70
#define RTC_A_DV_32K   0x20   /* divider running from a 32.768 kHz crystal */
#define RTC_B_SET      0x80
#define RTC_B_PIE      0x40
#define RTC_B_AIE      0x20
#define RTC_B_UIE      0x10
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H      0x02
#define RTC_C_IRQF     0x80
#define RTC_C_PF       0x40
#define RTC_C_AF       0x20
#define RTC_C_UF       0x10
#define RTC_D_VRT      0x80   /* battery good: RAM and time valid */

#define RTC_UIP_NS     244000 /* UIP rises this long before each second's update */

/* Wall-clock time now (UTC), as CLOCK_REALTIME gives it. */
typedef void (*rtc_clock_fn)(void *opaque, struct timespec *now);

struct rtc {
	uint8_t index;
	bool nmi_masked;        /* kept for a machine that models NMI; unused yet */
	uint8_t cmos[RTC_CMOS_SIZE];  /* registers A-D and the plain CMOS bytes */
	int64_t offset;         /* guest's clock minus the supplied clock, seconds */
	bool held;              /* register B's SET: the clock is being set */
	struct tm held_tm;      /* the fields while held, normalized only at release */
	rtc_clock_fn clock;
	void *clock_opaque;
	/* IRQ 8: alarm, periodic and update-ended interrupts would drive it
	 * through register C; none is generated yet, so it stays low. */
	void (*irq)(void *opaque, int level);
	void *irq_opaque;
	int irq_level;
};

void rtc_init(struct rtc *r, rtc_clock_fn clock, void *clock_opaque);
/* Fills the memory-size bytes as a BIOS does: low is RAM below the 32-bit
 * hole (from 0), high is RAM from 4 GiB up. */
void rtc_set_memory(struct rtc *r, uint64_t low, uint64_t high);

void rtc_write_index(struct rtc *r, uint8_t val);       /* port 0x70 */
uint8_t rtc_read_data(struct rtc *r);                   /* port 0x71 */
void rtc_write_data(struct rtc *r, uint8_t val);

/* Register access by number, as the data port does after an index write. */
uint8_t rtc_read_reg(struct rtc *r, uint8_t reg);
void rtc_write_reg(struct rtc *r, uint8_t reg, uint8_t val);

#endif
