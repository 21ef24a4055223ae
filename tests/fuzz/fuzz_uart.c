/* libFuzzer target: the 16550A's register interface (dev/uart.c), fed a
 * sequence of operations decoded from the input, one opcode byte each:
 *   op % 5 == 0  read register (next byte & 7)
 *   op % 5 == 1  write register (next byte & 7) with the byte after it
 *   op % 5 == 2  host input: (next byte % 64) bytes from the input
 *   op % 5 == 3  a character on the serial line (next byte)
 *   op % 5 == 4  look at the room in the host queue
 * After each the UART's queues must be within their sizes, its interrupt
 * output 0 or 1 and equal to the last level it reported. */
#include "fuzz.h"

#include "dev/uart.h"

struct probe {
	size_t ntx;
	int level;
};

static void on_tx(void *opaque, uint8_t byte)
{
	struct probe *p = opaque;
	(void)byte;
	p->ntx++;
}

static void on_irq(void *opaque, int level)
{
	struct probe *p = opaque;
	FUZZ_CHECK(level == 0 || level == 1);
	p->level = level;
}

static void check(const struct uart *u, const struct probe *p)
{
	FUZZ_CHECK(u->rx_count <= UART_FIFO_SIZE);
	FUZZ_CHECK(u->rx_head < UART_FIFO_SIZE);
	FUZZ_CHECK(u->host_count <= UART_HOST_QUEUE);
	FUZZ_CHECK(u->host_head < UART_HOST_QUEUE);
	FUZZ_CHECK(u->irq_level == p->level);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct uart u;
	struct probe p = { 0, 0 };
	uart_init(&u, on_tx, on_irq, &p);
	while (in.n > 0) {
		uint8_t op = fuzz_u8(&in);
		switch (op % 5) {
		case 0:
			(void)uart_read(&u, fuzz_u8(&in) & 7);
			break;
		case 1: {
			unsigned reg = fuzz_u8(&in) & 7;
			uart_write(&u, reg, fuzz_u8(&in));
			break;
		}
		case 2: {
			size_t want = fuzz_u8(&in) % 64, len = want < in.n ? want : in.n;
			size_t room = uart_input_room(&u);
			size_t took = uart_input(&u, in.p, len);
			FUZZ_CHECK(took <= len && took <= room);
			in.p += len;
			in.n -= len;
			break;
		}
		case 3:
			uart_receive(&u, fuzz_u8(&in));
			break;
		default:
			FUZZ_CHECK(uart_input_room(&u) + u.host_count == UART_HOST_QUEUE);
			break;
		}
		check(&u, &p);
	}
	uart_fini(&u);
	return 0;
}
