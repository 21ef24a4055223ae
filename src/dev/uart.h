/* A 16550A UART, as the National Semiconductor datasheet describes it, with
 * no tie to a machine: registers are read and written by offset, transmitted
 * bytes go to a callback, and the interrupt output goes to another. The
 * device glue (serial.c) puts it on a bus and a console behind it.
 *
 * Transmission is instantaneous: a byte written to THR leaves at once, so
 * THR and the transmitter are empty again by the time the guest looks. */
#ifndef POPEK_DEV_UART_H
#define POPEK_DEV_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Register offsets from the base port. */
enum uart_reg {
	UART_RBR = 0, UART_THR = 0, UART_DLL = 0,
	UART_IER = 1, UART_DLM = 1,
	UART_IIR = 2, UART_FCR = 2,
	UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
	UART_NREGS = 8
};

#define UART_IER_RDI   0x01  /* received data available */
#define UART_IER_THRI  0x02  /* THR empty */
#define UART_IER_RLSI  0x04  /* receiver line status */
#define UART_IER_MSI   0x08  /* modem status */

#define UART_IIR_NO_INT  0x01
#define UART_IIR_MSI     0x00
#define UART_IIR_THRI    0x02
#define UART_IIR_RDI     0x04
#define UART_IIR_RLSI    0x06
#define UART_IIR_TIMEOUT 0x0c
#define UART_IIR_FIFO    0xc0  /* both bits set: FIFOs enabled (16550A) */

#define UART_FCR_ENABLE    0x01
#define UART_FCR_CLEAR_RX  0x02
#define UART_FCR_CLEAR_TX  0x04
#define UART_FCR_TRIGGER   0xc0

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_PE   0x04
#define UART_LSR_FE   0x08
#define UART_LSR_BI   0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80
#define UART_MSR_DELTAS 0x0f

#define UART_FIFO_SIZE  16
#define UART_HOST_QUEUE 4096   /* host bytes waiting for room in the FIFO */

struct uart {
	pthread_mutex_t lock;   /* vCPU threads and the console reader both come here */

	uint8_t ier, lcr, mcr, scr, fcr;
	uint8_t lsr_errors;     /* OE/PE/FE/BI latched until LSR is read */
	uint8_t msr_delta;      /* DCTS/DDSR/TERI/DDCD latched until MSR is read */
	uint8_t msr_lines;      /* CTS/DSR/RI/DCD as last seen, for the deltas */
	uint16_t divisor;
	bool thri_pending;      /* THR-empty interrupt condition, see uart.c */

	uint8_t rx[UART_FIFO_SIZE];   /* one byte deep unless FCR enables the FIFO */
	unsigned rx_head, rx_count;

	uint8_t host[UART_HOST_QUEUE];
	unsigned host_head, host_count;

	int irq_level;          /* what was last reported to irq() */
	void (*tx)(void *opaque, uint8_t byte);
	void (*irq)(void *opaque, int level);
	void *opaque;
};

/* Power-on state. tx and irq may be NULL. */
void uart_init(struct uart *u, void (*tx)(void *opaque, uint8_t byte),
	       void (*irq)(void *opaque, int level), void *opaque);
void uart_fini(struct uart *u);

/* A guest access to the register at off (0..7). */
uint8_t uart_read(struct uart *u, unsigned off);
void uart_write(struct uart *u, unsigned off, uint8_t val);

/* Host input: queues up to n bytes in front of the receive FIFO and returns
 * how many were taken (fewer when the host queue is full). */
size_t uart_input(struct uart *u, const uint8_t *buf, size_t n);
/* Free room in the host queue. */
size_t uart_input_room(struct uart *u);

/* The serial line delivers one character straight to the receiver, with no
 * host queue in front: a full receiver overruns, as on the wire. */
void uart_receive(struct uart *u, uint8_t byte);

#endif
