/* The Intel 8254 programmable interval timer, as the datasheet describes
 * it, with no tie to a machine: three 16-bit down counters clocked at the
 * PC's 1.193182 MHz, read and written by port offset (0..2 the counters, 3
 * the control word), counting from a time source the caller provides.
 *
 * Nothing ticks: a counter's value and output are computed from the time
 * since it was loaded, so reading the clock is all "advancing" takes.
 * pit_poll_out reports the rising edges of an output since the last poll,
 * which is how channel 0 becomes IRQ 0. No locking: the caller serializes.
 *
 * The PC wires GATE0 and GATE1 high; GATE2 and OUT2 are bits 0 and 5 of
 * port 0x61 (pit_port61_*). */
#ifndef POPEK_DEV_PIT_H
#define POPEK_DEV_PIT_H

#include <stdbool.h>
#include <stdint.h>

#define PIT_PORT       0x40
#define PIT_NPORTS     4
#define PIT_PORT61     0x61
#define PIT_HZ         1193182ull
#define PIT_IRQ        0

struct pit_channel {
	uint8_t mode;           /* 0..5 */
	uint8_t access;         /* 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	uint32_t reload;        /* the count register, 1..65536 (10000 in BCD) */
	bool loaded;            /* a count was written since the control word */
	bool triggered;         /* modes 1 and 5: a gate edge started counting */
	bool gate;
	bool paused;            /* gate low stopped counting at paused_ticks */
	uint64_t start_tick;    /* tick at which counting last (re)started */
	uint64_t paused_ticks;
	bool write_msb;         /* LSB/MSB access: next write is the MSB */
	uint8_t write_lsb;
	bool read_msb;          /* LSB/MSB access: next read is the MSB */
	bool count_latched, status_latched;
	uint16_t latch;
	uint8_t status;
	uint64_t seen_ticks;    /* ticks counted at the last pit_poll_out */
	bool seen_out;
};

struct pit {
	struct pit_channel ch[3];
	uint64_t (*now_ns)(void *clock);
	void *clock;
	uint8_t port61;         /* the writable low bits of port 0x61 */
};

/* Power-on state; the time source is read on every access. */
void pit_init(struct pit *p, uint64_t (*now_ns)(void *clock), void *clock);

uint8_t pit_read(struct pit *p, unsigned port);
void pit_write(struct pit *p, unsigned port, uint8_t val);

void pit_set_gate(struct pit *p, unsigned ch, bool gate);
bool pit_out(struct pit *p, unsigned ch);
/* The counter's value now, as an unlatched read would assemble it. */
uint16_t pit_count(struct pit *p, unsigned ch);
/* True when the output rose since the last call (coalescing several rises
 * into one); *level gets the output now. */
bool pit_poll_out(struct pit *p, unsigned ch, bool *level);
/* When the output rises next, in the clock's nanoseconds; UINT64_MAX if
 * it will not without a new count or a gate edge. */
uint64_t pit_next_edge_ns(struct pit *p, unsigned ch);

/* Port 0x61 (system control port B): bit 0 GATE2, bit 1 speaker data,
 * bits 2-3 check enables (read back as written), bit 4 the refresh
 * toggle, bit 5 OUT2. */
uint8_t pit_port61_read(struct pit *p);
void pit_port61_write(struct pit *p, uint8_t val);

#endif
