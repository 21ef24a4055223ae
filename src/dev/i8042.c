/* See i8042.h. The controller answers commands at once, so the input buffer
 * is never full; answers queue in the output buffer and are read one by one
 * through port 0x60, each announced by IRQ 1 (or 12) when the command byte
 * enables it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/device_state.h"
#include "dev/i8042.h"
#include "dev/platform.h"
#include "vm.h"

#define NAK 0xfe

/* The lines are edge-triggered at the PIC: every byte needs a fresh edge, so
 * a line still high from the previous byte is dropped and raised again. */
static void set_line(struct i8042 *c, int *cur, unsigned line, int level)
{
	if (*cur == level)
		return;
	*cur = level;
	if (c->irq)
		c->irq(c->opaque, line, level);
}

static void update_irq(struct i8042 *c)
{
	bool full = c->count > 0;
	bool aux = full && c->queue[c->head].aux;
	set_line(c, &c->kbd_level, IRQ_KEYBOARD, full && !aux && (c->ctr & I8042_CTR_KBDINT));
	set_line(c, &c->aux_level, IRQ_MOUSE, aux && (c->ctr & I8042_CTR_AUXINT));
}

static void push(struct i8042 *c, uint8_t value, bool aux, bool timeout)
{
	if (c->count == I8042_QUEUE)
		return;  /* answers nobody reads: the oldest ones win */
	c->queue[(c->head + c->count) % I8042_QUEUE] = (struct i8042_byte){ value, aux, timeout };
	c->count++;
	update_irq(c);
}

static void request_reset(struct i8042 *c)
{
	if (c->reset)
		c->reset(c->opaque);
}

void i8042_init(struct i8042 *c, void (*irq)(void *opaque, unsigned line, int level),
		void (*reset)(void *opaque), void *opaque)
{
	memset(c, 0, sizeof(*c));
	/* As a BIOS leaves it: keyboard interrupt on, translation on, POST done. */
	c->ctr = I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_XLATE;
	c->outport = I8042_OUT_RESET | I8042_OUT_A20;
	c->irq = irq;
	c->reset = reset;
	c->opaque = opaque;
}

uint8_t i8042_read_status(struct i8042 *c)
{
	uint8_t s = I8042_STR_UNLOCKED;
	if (c->ctr & I8042_CTR_SYS)
		s |= I8042_STR_SYS;
	if (c->last_cmd)
		s |= I8042_STR_CMD;
	if (c->count) {
		const struct i8042_byte *b = &c->queue[c->head];
		s |= I8042_STR_OBF;
		if (b->aux)
			s |= I8042_STR_AUXDATA;
		if (b->timeout)
			s |= I8042_STR_TIMEOUT;
	}
	return s;
}

uint8_t i8042_read_data(struct i8042 *c)
{
	if (!c->count)
		return c->last;
	c->last = c->queue[c->head].value;
	c->head = (c->head + 1) % I8042_QUEUE;
	c->count--;
	set_line(c, &c->kbd_level, IRQ_KEYBOARD, 0);
	set_line(c, &c->aux_level, IRQ_MOUSE, 0);
	update_irq(c);
	return c->last;
}

/* Output port as command 0xD0 reports it: bits 4/5 mirror the buffer. */
static uint8_t output_port(const struct i8042 *c)
{
	uint8_t v = c->outport & ~0x30;
	if (c->count)
		v |= c->queue[c->head].aux ? 0x20 : 0x10;
	return v;
}

/* Commands 0xF0-0xFF pulse the output port's low bits for 6 us: a clear bit
 * in the low nibble pulses that line, and bit 0 is the CPU's reset. */
static bool pulses_reset(uint8_t cmd)
{
	return (cmd & 0xf0) == 0xf0 && !(cmd & 0x01);
}

void i8042_write_command(struct i8042 *c, uint8_t cmd)
{
	c->last_cmd = true;
	c->pending = 0;
	if (pulses_reset(cmd)) {
		request_reset(c);
		return;
	}
	switch (cmd) {
	case 0x20:
		push(c, c->ctr, false, false);
		break;
	case 0x60:
	case 0xd1:  /* write output port */
	case 0xd2:  /* write keyboard output buffer */
	case 0xd3:  /* write mouse output buffer */
	case 0xd4:  /* write to the mouse */
		c->pending = cmd;
		break;
	case 0xa7:
		c->ctr |= I8042_CTR_AUXDIS;
		break;
	case 0xa8:
		c->ctr &= ~I8042_CTR_AUXDIS;
		break;
	case 0xa9:  /* mouse interface test: 0 = no error */
	case 0xab:  /* keyboard interface test */
		push(c, 0x00, false, false);
		break;
	case 0xaa:  /* controller self-test */
		push(c, 0x55, false, false);
		break;
	case 0xad:
		c->ctr |= I8042_CTR_KBDDIS;
		break;
	case 0xae:
		c->ctr &= ~I8042_CTR_KBDDIS;
		break;
	case 0xc0:  /* input port: keylock open */
		push(c, 0x80, false, false);
		break;
	case 0xd0:
		push(c, output_port(c), false, false);
		break;
	default:
		break;  /* other controller RAM and vendor commands: ignored */
	}
	update_irq(c);
}

/* A byte for a device that is not there: the controller gives up waiting
 * for its acknowledge and reports a timeout with a NAK, which Linux's PS/2
 * code takes as "no device" at once rather than after its own timeouts. */
static void send_to_absent_device(struct i8042 *c, bool aux)
{
	push(c, NAK, aux, true);
}

void i8042_write_data(struct i8042 *c, uint8_t val)
{
	uint8_t cmd = c->pending;
	c->pending = 0;
	c->last_cmd = false;
	switch (cmd) {
	case 0x60:
		c->ctr = val;
		break;
	case 0xd1:
		c->outport = val;
		if (!(val & I8042_OUT_RESET))
			request_reset(c);
		break;
	case 0xd2:
		push(c, val, false, false);
		break;
	case 0xd3:
		push(c, val, true, false);
		break;
	case 0xd4:
		send_to_absent_device(c, true);
		break;
	default:
		send_to_absent_device(c, false);
		break;
	}
	update_irq(c);
}

/* The glue: ports 0x60 and 0x64, the lines through the machine, and the
 * reset line ending the run, since popek has no warm reset. */
static void kbc_irq(void *opaque, unsigned line, int level)
{
	vm_irq_line(opaque, line, level);
}

static void kbc_reset(void *opaque)
{
	vm_request_stop(opaque, STATUS_OK, "guest reset via i8042");
}

/* No lock of its own: the bus serializes the vCPUs, and nothing else
 * touches the controller. */
static uint8_t kbc_read_byte(void *opaque, uint64_t off)
{
	struct i8042 *k = opaque;
	if (off != 0)
		return 0xff;
	return i8042_read_data(k);
}

static uint8_t kbc_read_status_byte(void *opaque, uint64_t off)
{
	struct i8042 *k = opaque;
	return off == 0 ? i8042_read_status(k) : 0xff;
}

static void kbc_data_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	bytewise_read(kbc_read_byte, opaque, off, data, size);
}

static void kbc_data_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct i8042 *k = opaque;
	if (off == 0 && size >= 1)
		i8042_write_data(k, data[0]);
}

static void kbc_cmd_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	bytewise_read(kbc_read_status_byte, opaque, off, data, size);
}

static void kbc_cmd_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct i8042 *k = opaque;
	if (off == 0 && size >= 1)
		i8042_write_command(k, data[0]);
}

static const struct io_handler kbc_data_ops = { kbc_data_read, kbc_data_write };
static const struct io_handler kbc_cmd_ops = { kbc_cmd_read, kbc_cmd_write };

static int i8042_create(struct vm *vm, char *err, size_t n)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	i8042_init(k, kbc_irq, kbc_reset, vm);
	if (bus_register(&vm->pio, PORT_I8042_DATA, 1, &kbc_data_ops, k, "i8042-data") != 0) {
		free(k);
		snprintf(err, n, "port %#x is taken", PORT_I8042_DATA);
		return -1;
	}
	/* k is on the bus from here; i8042_destroy finds it there. */
	if (bus_register(&vm->pio, PORT_I8042_CMD, 1, &kbc_cmd_ops, k, "i8042-cmd") != 0) {
		snprintf(err, n, "port %#x is taken", PORT_I8042_CMD);
		return -1;
	}
	return 0;
}

static void i8042_destroy(struct vm *vm)
{
	free(device_opaque(&vm->pio, &kbc_data_ops));
}

struct device_desc i8042_device = { .name = "i8042", .create = i8042_create,
				    .destroy = i8042_destroy };
DEVICE(i8042_device)
