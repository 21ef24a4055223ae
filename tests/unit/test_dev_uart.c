/* The 16550A core: registers, interrupts and what Linux's 8250 probe reads. */
#include <stdlib.h>

#include "check.h"
#include "dev/uart.h"

struct probe {
	uint8_t tx[8192];
	size_t ntx;
	int level;       /* last level reported */
	int changes;     /* how many times the level was reported */
};

static void on_tx(void *opaque, uint8_t byte)
{
	struct probe *p = opaque;
	if (p->ntx < sizeof(p->tx))
		p->tx[p->ntx++] = byte;
}

static void on_irq(void *opaque, int level)
{
	struct probe *p = opaque;
	p->level = level;
	p->changes++;
}

static void fresh(struct uart *u, struct probe *p)
{
	memset(p, 0, sizeof(*p));
	uart_init(u, on_tx, on_irq, p);
}

static void test_reset_state(void)
{
	struct uart u;
	struct probe p;
	fresh(&u, &p);
	CHECK_EQ(uart_read(&u, UART_IER), 0, "uart: IER is 0 after reset");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_NO_INT, "uart: IIR reads 0x01 after reset");
	CHECK_EQ(uart_read(&u, UART_LCR), 0, "uart: LCR is 0 after reset");
	CHECK_EQ(uart_read(&u, UART_MCR), 0, "uart: MCR is 0 after reset");
	CHECK_EQ(uart_read(&u, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT,
		 "uart: LSR has THRE and TEMT after reset");
	CHECK_EQ(uart_read(&u, UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD,
		 "uart: MSR shows a present, ready host (CTS DSR DCD)");
	CHECK_EQ(p.changes, 0, "uart: reset raises no interrupt");
	uart_fini(&u);
}

static void test_dlab_and_scratch(void)
{
	struct uart u;
	struct probe p;
	fresh(&u, &p);
	uart_write(&u, UART_IER, UART_IER_RDI);
	uart_write(&u, UART_LCR, UART_LCR_DLAB | 0x03);
	CHECK_EQ(uart_read(&u, UART_DLL), 12, "uart: divisor latch low defaults to 12 (9600 baud)");
	CHECK_EQ(uart_read(&u, UART_DLM), 0, "uart: divisor latch high defaults to 0");
	uart_write(&u, UART_DLL, 0x01);
	uart_write(&u, UART_DLM, 0x02);
	CHECK_EQ(uart_read(&u, UART_DLL), 0x01, "uart: DLL reads back with DLAB set");
	CHECK_EQ(uart_read(&u, UART_DLM), 0x02, "uart: DLM reads back with DLAB set");
	CHECK_EQ(u.divisor, 0x0201, "uart: DLL/DLM form the 16-bit divisor");
	CHECK_EQ(p.ntx, 0, "uart: a DLL write with DLAB set transmits nothing");
	uart_write(&u, UART_LCR, 0x03);
	CHECK_EQ(uart_read(&u, UART_IER), UART_IER_RDI, "uart: IER kept while DLAB hid it");
	CHECK_EQ(uart_read(&u, UART_LCR), 0x03, "uart: LCR reads back (8N1)");
	uart_write(&u, UART_SCR, 0xa5);
	CHECK_EQ(uart_read(&u, UART_SCR), 0xa5, "uart: scratch holds 0xa5");
	uart_write(&u, UART_SCR, 0x5a);
	CHECK_EQ(uart_read(&u, UART_SCR), 0x5a, "uart: scratch holds 0x5a");
	uart_write(&u, UART_IER, 0xff);
	CHECK_EQ(uart_read(&u, UART_IER), 0x0f, "uart: IER bits 7..4 read as zero");
	uart_write(&u, UART_MCR, 0xff);
	CHECK_EQ(uart_read(&u, UART_MCR), 0x1f, "uart: MCR bits 7..5 read as zero");
	uart_fini(&u);
}

static void test_transmit(void)
{
	struct uart u;
	struct probe p;
	fresh(&u, &p);
	const char *msg = "hello";
	for (const char *c = msg; *c; c++)
		uart_write(&u, UART_THR, (uint8_t)*c);
	CHECK(p.ntx == 5 && memcmp(p.tx, msg, 5) == 0, "uart: THR bytes reach tx in order");
	CHECK_EQ(uart_read(&u, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
		 UART_LSR_THRE | UART_LSR_TEMT, "uart: THR and transmitter empty right after a write");
	uart_fini(&u);
}

static void test_thre_interrupt(void)
{
	struct uart u;
	struct probe p;
	fresh(&u, &p);
	uart_write(&u, UART_MCR, UART_MCR_OUT2);
	uart_write(&u, UART_IER, UART_IER_THRI);
	CHECK_EQ(p.level, 1, "uart: enabling ETBEI with THR empty raises the line");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_THRI, "uart: IIR names THRE");
	CHECK_EQ(p.level, 0, "uart: reading IIR with THRE as source drops the line");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_NO_INT, "uart: THRE cleared by the IIR read");
	uart_write(&u, UART_THR, 'a');
	CHECK_EQ(p.level, 1, "uart: THRE comes back once the written byte is sent");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_THRI, "uart: IIR names THRE after a THR write");
	uart_write(&u, UART_IER, UART_IER_THRI);
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_NO_INT,
		 "uart: rewriting ETBEI already set does not raise THRE again");
	uart_write(&u, UART_IER, 0);
	uart_write(&u, UART_IER, UART_IER_THRI);
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_THRI,
		 "uart: ETBEI off then on raises THRE again (8250 THRE test)");
	uart_write(&u, UART_IER, UART_IER_THRI | UART_IER_RDI);
	uart_write(&u, UART_THR, 'b');
	uart_write(&u, UART_IER, 0);
	CHECK_EQ(p.level, 0, "uart: clearing IER drops the line");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_NO_INT, "uart: no source with IER clear");
	uart_fini(&u);
}

static void test_receive(void)
{
	struct uart u;
	struct probe p;
	fresh(&u, &p);
	uart_write(&u, UART_MCR, UART_MCR_OUT2);
	uart_write(&u, UART_IER, UART_IER_RDI);
	CHECK_EQ(uart_read(&u, UART_LSR) & UART_LSR_DR, 0, "uart: LSR.DR clear with nothing received");
	CHECK_EQ(uart_input(&u, (const uint8_t *)"a", 1), 1, "uart: host input accepted");
	CHECK_EQ(uart_read(&u, UART_LSR) & UART_LSR_DR, UART_LSR_DR, "uart: LSR.DR set on receive");
	CHECK_EQ(p.level, 1, "uart: received data raises the line");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_RDI, "uart: IIR names received data");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_RDI, "uart: reading IIR does not clear received data");
	CHECK_EQ(uart_read(&u, UART_RBR), 'a', "uart: RBR returns the byte");
	CHECK_EQ(uart_read(&u, UART_LSR) & UART_LSR_DR, 0, "uart: LSR.DR clear once read");
	CHECK_EQ(p.level, 0, "uart: the line drops once the data is read");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_NO_INT, "uart: IIR idle once the data is read");

	uart_input(&u, (const uint8_t *)"xy", 2);
	CHECK_EQ(uart_read(&u, UART_RBR), 'x', "uart: 16450 mode: first byte");
	CHECK_EQ(uart_read(&u, UART_LSR) & (UART_LSR_DR | UART_LSR_OE), UART_LSR_DR,
		 "uart: 16450 mode: host queue refills the holding register, no overrun");
	CHECK_EQ(uart_read(&u, UART_RBR), 'y', "uart: 16450 mode: second byte");
	uart_fini(&u);
}

static void test_fifo(void)
{
	struct uart u;
	struct probe p;
	fresh(&u, &p);
	uart_write(&u, UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_NO_INT,
		 "uart: IIR bits 7..6 set with FIFOs enabled");
	uart_write(&u, UART_FCR, UART_FCR_ENABLE | 0xc0);  /* trigger at 14 */
	uart_write(&u, UART_IER, UART_IER_RDI);
	uart_input(&u, (const uint8_t *)"0123", 4);
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_TIMEOUT,
		 "uart: below the trigger level data shows as a character timeout");
	uart_input(&u, (const uint8_t *)"456789abcd", 10);
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_RDI,
		 "uart: at the trigger level (14) IIR names received data");
	uart_write(&u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX | 0xc0);
	CHECK_EQ(uart_read(&u, UART_LSR) & UART_LSR_DR, 0, "uart: FCR clear-RX empties the FIFO");
	uart_write(&u, UART_FCR, UART_FCR_ENABLE);
	uart_input(&u, (const uint8_t *)"z", 1);
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_RDI,
		 "uart: trigger level 1 reports received data for one byte");
	uart_write(&u, UART_FCR, 0);
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_NO_INT,
		 "uart: disabling the FIFO clears it and the FIFO bits");

	/* A paste larger than the FIFO arrives whole through the host queue. */
	uart_write(&u, UART_FCR, UART_FCR_ENABLE);
	uint8_t in[1000], out[1000];
	for (int i = 0; i < 1000; i++)
		in[i] = (uint8_t)(i * 7);
	CHECK_EQ(uart_input(&u, in, sizeof(in)), sizeof(in), "uart: host queue takes a 1000-byte paste");
	CHECK_EQ(u.rx_count, UART_FIFO_SIZE, "uart: the receive FIFO holds 16 bytes");
	size_t n = 0;
	while (n < sizeof(out) && (uart_read(&u, UART_LSR) & UART_LSR_DR))
		out[n++] = uart_read(&u, UART_RBR);
	CHECK(n == sizeof(in) && memcmp(in, out, n) == 0, "uart: the whole paste is read back in order");
	CHECK_EQ(uart_read(&u, UART_LSR) & UART_LSR_OE, 0, "uart: host input never overruns");
	size_t room = uart_input_room(&u);
	CHECK_EQ(room, UART_HOST_QUEUE, "uart: host queue empty again");
	uint8_t big[UART_HOST_QUEUE + UART_FIFO_SIZE + 10];
	memset(big, 'q', sizeof(big));
	CHECK_EQ(uart_input(&u, big, sizeof(big)), UART_HOST_QUEUE + UART_FIFO_SIZE,
		 "uart: host queue refuses what does not fit");
	uart_fini(&u);
}

static void test_overrun(void)
{
	struct uart u;
	struct probe p;
	fresh(&u, &p);
	uart_write(&u, UART_FCR, UART_FCR_ENABLE);
	uart_write(&u, UART_MCR, UART_MCR_OUT2);
	uart_write(&u, UART_IER, UART_IER_RLSI | UART_IER_RDI);
	for (int i = 0; i < 17; i++)
		uart_receive(&u, (uint8_t)('A' + i));
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_RLSI,
		 "uart: overrun is a line status interrupt, ahead of received data");
	uint8_t lsr = uart_read(&u, UART_LSR);
	CHECK_EQ(lsr & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR,
		 "uart: LSR shows OE and DR after the 17th byte");
	CHECK_EQ(uart_read(&u, UART_LSR) & UART_LSR_OE, 0, "uart: reading LSR clears OE");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_FIFO | UART_IIR_RDI,
		 "uart: after LSR is read IIR names received data");
	int n = 0;
	uint8_t last = 0;
	while (uart_read(&u, UART_LSR) & UART_LSR_DR) {
		last = uart_read(&u, UART_RBR);
		n++;
	}
	CHECK(n == 16 && last == 'P', "uart: a full FIFO keeps its 16 bytes and drops the 17th");

	uart_write(&u, UART_FCR, 0);
	uart_receive(&u, '1');
	uart_receive(&u, '2');
	CHECK_EQ(uart_read(&u, UART_LSR) & UART_LSR_OE, UART_LSR_OE, "uart: 16450 mode overrun sets OE");
	CHECK_EQ(uart_read(&u, UART_RBR), '2', "uart: 16450 mode overrun overwrites the holding register");
	uart_fini(&u);
}

static void test_priorities(void)
{
	struct uart u;
	struct probe p;
	fresh(&u, &p);
	/* A modem-status delta, made through loopback and kept after it. */
	uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	uart_write(&u, UART_MCR, UART_MCR_OUT2);
	uart_write(&u, UART_IER, 0x0f);
	uart_receive(&u, '1');
	uart_receive(&u, '2');  /* overrun in 16450 mode */
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_RLSI, "uart: priority 1: line status");
	uart_read(&u, UART_LSR);
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_RDI, "uart: priority 2: received data");
	uart_read(&u, UART_RBR);
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_THRI, "uart: priority 3: THR empty");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_MSI, "uart: priority 4: modem status");
	CHECK_EQ(p.level, 1, "uart: line high while modem status pends");
	CHECK(uart_read(&u, UART_MSR) & UART_MSR_DELTAS, "uart: MSR shows the deltas");
	CHECK_EQ(uart_read(&u, UART_MSR) & UART_MSR_DELTAS, 0, "uart: reading MSR clears the deltas");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_NO_INT, "uart: nothing left pending");
	CHECK_EQ(p.level, 0, "uart: line low with nothing pending");
	uart_fini(&u);
}

static void test_loopback(void)
{
	struct uart u;
	struct probe p;
	fresh(&u, &p);
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	uart_write(&u, UART_THR, 'L');
	CHECK_EQ(p.ntx, 0, "uart: loopback keeps transmitted bytes off the line");
	CHECK_EQ(uart_read(&u, UART_LSR) & UART_LSR_DR, UART_LSR_DR, "uart: loopback byte received");
	CHECK_EQ(uart_read(&u, UART_RBR), 'L', "uart: loopback routes TX to RX");
	uart_input(&u, (const uint8_t *)"h", 1);
	CHECK_EQ(uart_read(&u, UART_LSR) & UART_LSR_DR, 0, "uart: host input waits while in loopback");
	uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
	CHECK_EQ(uart_read(&u, UART_MSR) & 0xf0, UART_MSR_CTS | UART_MSR_DCD,
		 "uart: loopback RTS->CTS, OUT2->DCD (Linux expects 0x90)");
	uart_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
	uint8_t msr = uart_read(&u, UART_MSR);
	CHECK_EQ(msr & 0xf0, UART_MSR_DSR | UART_MSR_RI, "uart: loopback DTR->DSR, OUT1->RI");
	CHECK_EQ(msr & UART_MSR_DELTAS, UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD,
		 "uart: loopback line changes latch DCTS DDSR DDCD");
	uart_write(&u, UART_MCR, UART_MCR_LOOP);
	CHECK_EQ(uart_read(&u, UART_MSR) & UART_MSR_TERI, UART_MSR_TERI,
		 "uart: RI falling sets TERI");
	uart_write(&u, UART_MCR, 0);
	CHECK_EQ(uart_read(&u, UART_RBR), 'h', "uart: host input arrives once loopback ends");
	uart_fini(&u);
}

static void test_out2_gating(void)
{
	struct uart u;
	struct probe p;
	fresh(&u, &p);
	uart_write(&u, UART_IER, UART_IER_THRI);
	CHECK_EQ(p.changes, 0, "uart: without OUT2 a pending interrupt does not reach the line");
	CHECK_EQ(uart_read(&u, UART_IIR), UART_IIR_THRI, "uart: ... though IIR shows it");
	uart_write(&u, UART_IER, 0);
	uart_write(&u, UART_IER, UART_IER_THRI);
	uart_write(&u, UART_MCR, UART_MCR_OUT2);
	CHECK(p.changes == 1 && p.level == 1, "uart: setting OUT2 raises the pending interrupt");
	uart_write(&u, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	CHECK(p.changes == 2 && p.level == 0, "uart: loopback disconnects OUT2 from the line");
	uart_write(&u, UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(p.level, 1, "uart: leaving loopback reconnects it");
	uart_write(&u, UART_MCR, 0);
	CHECK(p.changes == 4 && p.level == 0, "uart: clearing OUT2 lowers the line");
	uart_fini(&u);
}

/* The register sequence of Linux's 8250 autoconfig(), as its source reads
 * it; each answer decides between chip types, and all must say 16550A. */
static void test_linux_autoconfig(void)
{
	struct uart u;
	struct probe p;
	fresh(&u, &p);
	uart_write(&u, UART_IER, 0);
	uint8_t scratch2 = uart_read(&u, UART_IER) & 0x0f;
	uart_write(&u, UART_IER, 0x0f);
	uint8_t scratch3 = uart_read(&u, UART_IER) & 0x0f;
	uart_write(&u, UART_IER, 0);
	CHECK(scratch2 == 0 && scratch3 == 0x0f, "uart: autoconfig: IER responds (a UART is there)");

	uint8_t save_mcr = uart_read(&u, UART_MCR);
	uart_write(&u, UART_MCR, UART_MCR_LOOP | 0x0a);
	uint8_t status1 = uart_read(&u, UART_MSR) & 0xf0;
	uart_write(&u, UART_MCR, save_mcr);
	CHECK_EQ(status1, 0x90, "uart: autoconfig: loopback test reads MSR 0x90");

	uart_write(&u, UART_LCR, 0xbf);       /* 16650 configuration mode */
	uart_write(&u, UART_FCR, 0);          /* EFR there: FCR here */
	uart_write(&u, UART_LCR, 0);
	uart_write(&u, UART_FCR, UART_FCR_ENABLE);
	CHECK_EQ(uart_read(&u, UART_IIR) >> 6, 3, "uart: autoconfig: IIR FIFO bits say 16550A");

	uart_write(&u, UART_LCR, 0xbf);
	CHECK(uart_read(&u, 2) != 0, "uart: autoconfig: no EFR (not a 16650)");
	uart_write(&u, UART_LCR, 0);
	uint8_t mcr = uart_read(&u, UART_MCR);
	uart_write(&u, UART_LCR, 0xe0);
	uint8_t excr1 = uart_read(&u, 2);
	uart_write(&u, UART_LCR, 0);
	uart_write(&u, UART_MCR, mcr ^ UART_MCR_LOOP);
	uart_write(&u, UART_LCR, 0xe0);
	uint8_t excr2 = uart_read(&u, 2);
	uart_write(&u, UART_LCR, 0);
	uart_write(&u, UART_MCR, mcr);
	CHECK(((excr1 ^ mcr) & UART_MCR_LOOP) == 0 && ((excr2 ^ mcr) & UART_MCR_LOOP) == 0,
	      "uart: autoconfig: no National SuperIO bank switch");

	uint8_t iersave = uart_read(&u, UART_IER);
	uart_write(&u, UART_IER, iersave | 0x40);
	CHECK_EQ(uart_read(&u, UART_IER) & 0x40, 0, "uart: autoconfig: IER UUE does not stick (not XScale)");
	uart_write(&u, UART_IER, iersave);

	uart_write(&u, UART_FCR, UART_FCR_ENABLE | 0x20);  /* 16750 64-byte FIFO */
	CHECK_EQ(uart_read(&u, UART_IIR) & 0xe0, 0xc0, "uart: autoconfig: no 64-byte FIFO (not 16750)");
	uart_write(&u, UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX);
	uart_write(&u, UART_SCR, 0x5a);
	CHECK_EQ(uart_read(&u, UART_SCR), 0x5a, "uart: autoconfig: scratch register present");
	uart_fini(&u);
}

int main(void)
{
	test_reset_state();
	test_dlab_and_scratch();
	test_transmit();
	test_thre_interrupt();
	test_receive();
	test_fifo();
	test_overrun();
	test_priorities();
	test_loopback();
	test_out2_gating();
	test_linux_autoconfig();
	return CHECK_DONE();
}
