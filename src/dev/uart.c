/* 16550A core. Every entry point takes the lock, changes state through the
 * *_locked helpers, and ends with update_irq() so the interrupt output
 * always matches the registers. See uart.h. */
#include <string.h>

#include "dev/uart.h"

static bool fifo_enabled(const struct uart *u)
{
	return u->fcr & UART_FCR_ENABLE;
}

/* In 16450 mode the receiver holds a single character. */
static unsigned rx_capacity(const struct uart *u)
{
	return fifo_enabled(u) ? UART_FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct uart *u)
{
	static const uint8_t level[4] = { 1, 4, 8, 14 };
	return level[(u->fcr & UART_FCR_TRIGGER) >> 6];
}

static bool loopback(const struct uart *u)
{
	return u->mcr & UART_MCR_LOOP;
}

static void rx_clear(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/* A character arrives at the receiver. A full FIFO keeps its contents and
 * loses the new character; a full 16450 holding register is overwritten.
 * Either way the overrun is latched in LSR. */
static void receive_locked(struct uart *u, uint8_t byte)
{
	if (u->rx_count == rx_capacity(u)) {
		u->lsr_errors |= UART_LSR_OE;
		if (!fifo_enabled(u))
			u->rx[u->rx_head] = byte;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
}

static uint8_t rx_pop(struct uart *u)
{
	uint8_t byte = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	u->rx_count--;
	return byte;
}

/* Moves host input into the receiver only while it has room, so host bytes
 * never overrun. Loopback disconnects the serial input, so they wait. */
static void host_feed(struct uart *u)
{
	if (loopback(u))
		return;
	while (u->host_count && u->rx_count < rx_capacity(u)) {
		receive_locked(u, u->host[u->host_head]);
		u->host_head = (u->host_head + 1) % UART_HOST_QUEUE;
		u->host_count--;
	}
}

/* The modem inputs. In loopback the datasheet wires them to the modem
 * outputs (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD); otherwise the host is a
 * modem that is always present and ready. */
static uint8_t modem_lines(const struct uart *u)
{
	if (!loopback(u))
		return UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
	uint8_t v = 0;
	if (u->mcr & UART_MCR_RTS)
		v |= UART_MSR_CTS;
	if (u->mcr & UART_MCR_DTR)
		v |= UART_MSR_DSR;
	if (u->mcr & UART_MCR_OUT1)
		v |= UART_MSR_RI;
	if (u->mcr & UART_MCR_OUT2)
		v |= UART_MSR_DCD;
	return v;
}

/* Latches the delta bits; TERI is set only on RI's trailing edge. */
static void update_msr(struct uart *u)
{
	uint8_t now = modem_lines(u);
	uint8_t changed = now ^ u->msr_lines;
	if (changed & UART_MSR_CTS)
		u->msr_delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		u->msr_delta |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		u->msr_delta |= UART_MSR_DDCD;
	if ((u->msr_lines & UART_MSR_RI) && !(now & UART_MSR_RI))
		u->msr_delta |= UART_MSR_TERI;
	u->msr_lines = now;
}

/* The highest-priority enabled interrupt condition, as IIR bits 3..0.
 * Below the FIFO trigger level data is reported as a character timeout at
 * once: popek has no character clock, and a guest treats both alike. */
static uint8_t pending_source(const struct uart *u)
{
	if ((u->ier & UART_IER_RLSI) && u->lsr_errors)
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count) {
		if (fifo_enabled(u) && u->rx_count < rx_trigger(u))
			return UART_IIR_TIMEOUT;
		return UART_IIR_RDI;
	}
	if ((u->ier & UART_IER_THRI) && u->thri_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && u->msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/* On a PC the INTR pin reaches the interrupt controller only through a
 * buffer enabled by OUT2; loopback forces OUT2 inactive at the pin. */
static void update_irq(struct uart *u)
{
	int level = pending_source(u) != UART_IIR_NO_INT && (u->mcr & UART_MCR_OUT2) &&
		    !loopback(u);
	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->irq)
		u->irq(u->opaque, level);
}

/* The byte leaves at once; THR empties again, which is the THRE event. */
static void transmit(struct uart *u, uint8_t byte)
{
	u->thri_pending = false;
	if (loopback(u))
		receive_locked(u, byte);
	else if (u->tx)
		u->tx(u->opaque, byte);
	u->thri_pending = true;
}

static uint8_t read_iir(struct uart *u)
{
	uint8_t src = pending_source(u);
	/* Reading IIR is what acknowledges a THRE interrupt. */
	if (src == UART_IIR_THRI)
		u->thri_pending = false;
	return src | (fifo_enabled(u) ? UART_IIR_FIFO : 0);
}

static uint8_t read_lsr(struct uart *u)
{
	uint8_t v = u->lsr_errors | UART_LSR_THRE | UART_LSR_TEMT;
	if (u->rx_count)
		v |= UART_LSR_DR;
	u->lsr_errors = 0;
	return v;
}

static uint8_t read_msr(struct uart *u)
{
	uint8_t v = u->msr_lines | u->msr_delta;
	u->msr_delta = 0;
	return v;
}

/* An empty receiver reads as 0: a driver only reads RBR after LSR.DR. */
static uint8_t read_rbr(struct uart *u)
{
	if (!u->rx_count)
		return 0;
	uint8_t byte = rx_pop(u);
	host_feed(u);
	return byte;
}

static uint8_t read_locked(struct uart *u, unsigned off)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	switch (off) {
	case UART_RBR:
		return dlab ? (uint8_t)u->divisor : read_rbr(u);
	case UART_IER:
		return dlab ? (uint8_t)(u->divisor >> 8) : u->ier;
	case UART_IIR:
		return read_iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return read_lsr(u);
	case UART_MSR:
		return read_msr(u);
	case UART_SCR:
		return u->scr;
	}
	return 0xff;
}

/* IER bits 7..4 read as zero on a 16550A; Linux's probe relies on it to tell
 * the chip from an XScale or a 16750. */
static void write_ier(struct uart *u, uint8_t val)
{
	uint8_t old = u->ier;
	u->ier = val & 0x0f;
	/* Enabling ETBEI while THR is empty (it always is here) raises THRE. */
	if (!(old & UART_IER_THRI) && (u->ier & UART_IER_THRI))
		u->thri_pending = true;
}

/* The datasheet: the other FCR bits are only programmed with FCR0 set, and
 * switching FCR0 either way empties both FIFOs. */
static void write_fcr(struct uart *u, uint8_t val)
{
	if ((val ^ u->fcr) & UART_FCR_ENABLE)
		rx_clear(u);
	if (!(val & UART_FCR_ENABLE)) {
		u->fcr = 0;
		return;
	}
	if (val & UART_FCR_CLEAR_RX)
		rx_clear(u);
	/* The transmit FIFO is always empty: nothing to clear. */
	u->fcr = val & (UART_FCR_ENABLE | UART_FCR_TRIGGER);
}

static void write_mcr(struct uart *u, uint8_t val)
{
	u->mcr = val & 0x1f;  /* bits 7..5 are zero on a 16550A */
	update_msr(u);
}

static void write_locked(struct uart *u, unsigned off, uint8_t val)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	switch (off) {
	case UART_THR:
		if (dlab)
			u->divisor = (uint16_t)((u->divisor & 0xff00) | val);
		else
			transmit(u, val);
		break;
	case UART_IER:
		if (dlab)
			u->divisor = (uint16_t)((u->divisor & 0x00ff) | (val << 8));
		else
			write_ier(u, val);
		break;
	case UART_FCR:
		write_fcr(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		write_mcr(u, val);
		break;
	case UART_SCR:
		u->scr = val;
		break;
	default:
		break;  /* LSR and MSR writes are factory test modes: ignored */
	}
	host_feed(u);
}

void uart_init(struct uart *u, void (*tx)(void *opaque, uint8_t byte),
	       void (*irq)(void *opaque, int level), void *opaque)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->divisor = 12;  /* 9600 baud from the PC's 1.8432 MHz clock */
	u->tx = tx;
	u->irq = irq;
	u->opaque = opaque;
	u->msr_lines = modem_lines(u);
}

void uart_fini(struct uart *u)
{
	pthread_mutex_destroy(&u->lock);
}

uint8_t uart_read(struct uart *u, unsigned off)
{
	pthread_mutex_lock(&u->lock);
	uint8_t v = read_locked(u, off);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return v;
}

void uart_write(struct uart *u, unsigned off, uint8_t val)
{
	pthread_mutex_lock(&u->lock);
	write_locked(u, off, val);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

size_t uart_input_room(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	size_t room = UART_HOST_QUEUE - u->host_count;
	pthread_mutex_unlock(&u->lock);
	return room;
}

size_t uart_input(struct uart *u, const uint8_t *buf, size_t n)
{
	pthread_mutex_lock(&u->lock);
	size_t taken = 0;
	while (taken < n) {
		if (u->host_count == UART_HOST_QUEUE) {
			host_feed(u);
			if (u->host_count == UART_HOST_QUEUE)
				break;
		}
		u->host[(u->host_head + u->host_count) % UART_HOST_QUEUE] = buf[taken++];
		u->host_count++;
	}
	host_feed(u);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return taken;
}

void uart_receive(struct uart *u, uint8_t byte)
{
	pthread_mutex_lock(&u->lock);
	receive_locked(u, byte);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}
