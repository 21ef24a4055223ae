/* COM1: the 16550A core on port 0x3f8, IRQ 4, its transmitter writing to the
 * console output and the console's reader feeding its receiver. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "console.h"
#include "dev/device.h"
#include "dev/device_state.h"
#include "dev/platform.h"
#include "dev/uart.h"
#include "vm.h"

struct com_port {
	struct uart uart;
	struct console console;
	struct vm *vm;
	int out_fd;
};

/* Runs under the UART lock, so bytes leave in the guest's order. A console
 * that went away (closed pipe, full disk) loses output, not the guest. */
static void com_tx(void *opaque, uint8_t byte)
{
	struct com_port *com = opaque;
	if (com->out_fd < 0)
		return;
	ssize_t w;
	do
		w = write(com->out_fd, &byte, 1);
	while (w < 0 && errno == EINTR);
}

static void com_irq(void *opaque, int level)
{
	struct com_port *com = opaque;
	vm_irq_line(com->vm, IRQ_COM1, level);
}

static size_t com_input(void *opaque, const uint8_t *buf, size_t n)
{
	struct com_port *com = opaque;
	return uart_input(&com->uart, buf, n);
}

static uint8_t com_read_byte(void *opaque, uint64_t off)
{
	struct com_port *com = opaque;
	return off < UART_NREGS ? uart_read(&com->uart, (unsigned)off) : 0xff;
}

static void com_write_byte(void *opaque, uint64_t off, uint8_t val)
{
	struct com_port *com = opaque;
	if (off < UART_NREGS)
		uart_write(&com->uart, (unsigned)off, val);
}

static void com_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	bytewise_read(com_read_byte, opaque, off, data, size);
}

static void com_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	bytewise_write(com_write_byte, opaque, off, data, size);
}

static const struct io_handler com_ops = { com_read, com_write };

static int com1_create(struct vm *vm, char *err, size_t n)
{
	struct com_port *com = calloc(1, sizeof(*com));
	if (!com) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	com->vm = vm;
	com->out_fd = vm->cfg.console_out_fd;
	uart_init(&com->uart, com_tx, com_irq, com);
	if (bus_register(&vm->pio, PORT_COM1, UART_NREGS, &com_ops, com, "com1") != 0) {
		snprintf(err, n, "ports %#x-%#x are taken", PORT_COM1, PORT_COM1 + UART_NREGS - 1);
		uart_fini(&com->uart);
		free(com);
		return -1;
	}
	/* The bus now owns com; com1_destroy finds it there again. */
	return console_start(&com->console, vm, vm->cfg.console_in_fd, com->out_fd, com_input,
			     com, err, n);
}

static void com1_destroy(struct vm *vm)
{
	struct com_port *com = device_opaque(&vm->pio, &com_ops);
	if (!com)
		return;
	console_stop(&com->console);
	uart_fini(&com->uart);
	free(com);
}

struct device_desc com1_device = { .name = "com1", .create = com1_create, .destroy = com1_destroy };
DEVICE(com1_device)
