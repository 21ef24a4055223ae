#include "serial.h"
#include "io.h"

/* 115200 8N1 with FIFOs on; an emulated UART ignores the divisor, a real
 * one needs it, so set it anyway. */
void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* no UART interrupts: the guests poll */
	outb(COM1 + 3, 0x80);	/* DLAB to reach the divisor latch */
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8 bits, no parity, one stop bit */
	outb(COM1 + 2, 0xc7);
	outb(COM1 + 4, 0x03);
}

void serial_putc(char c)
{
	/* Wait for the transmit holding register to empty (LSR bit 5); bound
	 * the wait so a missing UART (reads all ones anyway) cannot hang us. */
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}
