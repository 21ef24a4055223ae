/* An 8042 keyboard controller with nothing plugged into it: enough for
 * Linux's i8042 probe, and its reset line (command 0xFE), which is how a PC
 * without ACPI reboots. The core knows no machine; the glue in i8042.c puts
 * it on ports 0x60/0x64. Port 0x61 (system control port B) belongs with the
 * PIT, which KVM's in-kernel PIT implements, so it is not here. */
#ifndef POPEK_DEV_I8042_H
#define POPEK_DEV_I8042_H

#include <stdbool.h>
#include <stdint.h>

#define I8042_STR_OBF      0x01  /* output buffer full */
#define I8042_STR_IBF      0x02
#define I8042_STR_SYS      0x04  /* self-test passed */
#define I8042_STR_CMD      0x08  /* last write went to the command port */
#define I8042_STR_UNLOCKED 0x10  /* keylock open: keyboard not inhibited */
#define I8042_STR_AUXDATA  0x20  /* output buffer holds a mouse byte */
#define I8042_STR_TIMEOUT  0x40  /* the device did not answer */

#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYS    0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE  0x40

#define I8042_OUT_RESET  0x01  /* output port bit 0: low holds the CPU in reset */
#define I8042_OUT_A20    0x02

#define I8042_QUEUE 16

struct i8042_byte {
	uint8_t value;
	bool aux;       /* from the mouse port: raises IRQ 12, not 1 */
	bool timeout;   /* the device never answered; value is a NAK */
};

struct i8042 {
	uint8_t ctr;        /* the command byte ("controller RAM" byte 0) */
	uint8_t outport;
	uint8_t pending;    /* command waiting for its data byte on port 0x60, or 0 */
	bool last_cmd;      /* the last write went to port 0x64 */
	struct i8042_byte queue[I8042_QUEUE];
	unsigned head, count;
	uint8_t last;       /* port 0x60 keeps its last byte once read */
	int kbd_level, aux_level;
	void (*irq)(void *opaque, unsigned line, int level);
	void (*reset)(void *opaque);
	void *opaque;
};

void i8042_init(struct i8042 *c, void (*irq)(void *opaque, unsigned line, int level),
		void (*reset)(void *opaque), void *opaque);
uint8_t i8042_read_status(struct i8042 *c);   /* port 0x64 */
uint8_t i8042_read_data(struct i8042 *c);     /* port 0x60 */
void i8042_write_command(struct i8042 *c, uint8_t cmd);  /* port 0x64 */
void i8042_write_data(struct i8042 *c, uint8_t val);     /* port 0x60 */

#endif
