/* The console: the Ctrl-A escape as a pure function, then the reader thread
 * over pipes and a pseudo-terminal. */
#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "console.h"
#include "dev/uart.h"
#include "test_vm.h"
#include "vm.h"

static void test_escape(void)
{
	struct console_escape e = { 0 };
	uint8_t out = 0;
	CHECK(console_escape_feed(&e, 'a', &out) == CONSOLE_BYTE && out == 'a',
	      "console: a plain byte passes through");
	CHECK_EQ(console_escape_feed(&e, 0x01, &out), CONSOLE_NONE, "console: Ctrl-A alone is held back");
	out = 0;
	CHECK(console_escape_feed(&e, 0x01, &out) == CONSOLE_BYTE && out == 0x01,
	      "console: Ctrl-A Ctrl-A sends one Ctrl-A");
	CHECK(console_escape_feed(&e, 'x', &out) == CONSOLE_BYTE && out == 'x',
	      "console: x after a sent Ctrl-A is a plain byte");
	console_escape_feed(&e, 0x01, &out);
	CHECK_EQ(console_escape_feed(&e, 'x', &out), CONSOLE_QUIT, "console: Ctrl-A x quits");
	console_escape_feed(&e, 0x01, &out);
	CHECK_EQ(console_escape_feed(&e, 'h', &out), CONSOLE_HELP, "console: Ctrl-A h asks for help");
	console_escape_feed(&e, 0x01, &out);
	CHECK_EQ(console_escape_feed(&e, 'q', &out), CONSOLE_NONE, "console: Ctrl-A and an unknown key is dropped");
	CHECK(console_escape_feed(&e, 'q', &out) == CONSOLE_BYTE && out == 'q',
	      "console: ... and the escape is over after it");
	CHECK_STR_CONTAINS(console_help_text, "C-a x", "console: the help names the quit key");
}

/* A sink that collects bytes, accepting at most `limit` per call. */
struct sink {
	pthread_mutex_t lock;
	uint8_t buf[65536];
	size_t n;
	size_t limit;
};

static size_t collect(void *opaque, const uint8_t *buf, size_t n)
{
	struct sink *s = opaque;
	pthread_mutex_lock(&s->lock);
	if (s->limit && n > s->limit)
		n = s->limit;
	if (n > sizeof(s->buf) - s->n)
		n = sizeof(s->buf) - s->n;
	memcpy(s->buf + s->n, buf, n);
	s->n += n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static size_t collected(struct sink *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* Waits up to 2 s for cond to hold. */
#define WAIT_FOR(cond) do { for (int i_ = 0; i_ < 200 && !(cond); i_++) sleep_ms(10); } while (0)

static const struct engine no_engine = { .name = "none" };

static struct vm *new_vm(void)
{
	return test_vm_new(&no_engine, 0, 0);
}

static void test_pipe_input(void)
{
	struct vm *vm = new_vm();
	struct sink *s = calloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	int in[2], out[2];
	CHECK(pipe(in) == 0 && pipe(out) == 0, "console: pipes for input and output");
	struct console c;
	char err[256] = "";
	CHECK(console_start(&c, vm, in[0], out[1], collect, s, err, sizeof(err)) == 0,
	      "console: starts on a pipe (%s)", err);
	CHECK(c.running, "console: a reader thread runs for a pipe");
	CHECK(write(in[1], "hi\x01\x01!", 5) == 5, "console: input written");
	WAIT_FOR(collected(s) == 4);
	CHECK(collected(s) == 4 && memcmp(s->buf, "hi\x01!", 4) == 0,
	      "console: bytes reach the sink, Ctrl-A Ctrl-A as one Ctrl-A");
	CHECK(write(in[1], "\x01h", 2) == 2, "console: help requested");
	char help[512] = "";
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	ssize_t r = -1;
	for (int i = 0; i < 200 && r <= 0; i++) {
		sleep_ms(10);
		r = read(out[0], help, sizeof(help) - 1);
	}
	help[r > 0 ? r : 0] = 0;
	CHECK_STR_CONTAINS(help, "C-a x", "console: Ctrl-A h prints the help to the console output");
	CHECK(!atomic_load(&vm->stopping), "console: the machine runs");
	CHECK(write(in[1], "z\x01xq", 4) == 4, "console: quit requested");
	WAIT_FOR(atomic_load(&vm->stopping));
	CHECK(atomic_load(&vm->stopping) && vm->status == STATUS_QUIT, "console: Ctrl-A x stops the machine with status 14 (STATUS_QUIT)");
	CHECK_STR_CONTAINS(vm->stop_reason, "quit by Ctrl-A x", "console: the stop reason says Ctrl-A x");
	sleep_ms(20);
	CHECK(collected(s) == 5 && s->buf[4] == 'z', "console: bytes before the quit arrive, none after");
	console_stop(&c);
	CHECK(!c.running, "console: stops after a quit");
	console_stop(&c);
	CHECK(1, "console: stopping twice is harmless");
	close(in[1]);
	close(out[0]);
	close(out[1]);
	free(s);
	free(vm);
}

static void test_eof_and_stop(void)
{
	struct vm *vm = new_vm();
	struct sink *s = calloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	int in[2];
	CHECK(pipe(in) == 0, "console: pipe for input");
	struct console c;
	char err[256] = "";
	console_start(&c, vm, in[0], -1, collect, s, err, sizeof(err));
	CHECK(write(in[1], "end", 3) == 3, "console: last input written");
	close(in[1]);
	WAIT_FOR(collected(s) == 3);
	CHECK_EQ(collected(s), 3, "console: input before EOF arrives");
	CHECK(!atomic_load(&vm->stopping), "console: EOF on input does not stop the machine");
	console_stop(&c);
	CHECK(1, "console: stops after EOF");
	close(in[0]);

	/* A reader blocked with no input ends promptly at stop. */
	CHECK(pipe(in) == 0, "console: another pipe");
	console_start(&c, vm, in[0], -1, collect, s, err, sizeof(err));
	sleep_ms(20);
	uint64_t t0 = host_now_ns();
	console_stop(&c);
	CHECK(host_now_ns() - t0 < 500000000ull, "console: a blocked reader ends promptly at stop");
	close(in[0]);
	close(in[1]);

	CHECK(console_start(&c, vm, -1, -1, collect, s, err, sizeof(err)) == 0 && !c.running,
	      "console: no input fd, no reader");
	console_stop(&c);
	free(s);
	free(vm);
}

static size_t into_uart(void *opaque, const uint8_t *buf, size_t n)
{
	return uart_input(opaque, buf, n);
}

/* More input than the UART's host queue holds: the reader waits for room
 * rather than dropping, so a paste arrives whole. */
static void test_paste_into_uart(void)
{
	struct vm *vm = new_vm();
	struct uart u;
	uart_init(&u, NULL, NULL, NULL);
	int in[2];
	CHECK(pipe(in) == 0, "console: pipe for a paste");
	struct console c;
	char err[256] = "";
	console_start(&c, vm, in[0], -1, into_uart, &u, err, sizeof(err));
	static uint8_t paste[3 * UART_HOST_QUEUE], got[3 * UART_HOST_QUEUE];
	for (size_t i = 0; i < sizeof(paste); i++)
		paste[i] = (uint8_t)('a' + i % 26);
	CHECK(write(in[1], paste, sizeof(paste)) == (ssize_t)sizeof(paste), "console: paste written");
	size_t n = 0;
	for (int idle = 0; n < sizeof(got) && idle < 300;) {
		if (uart_read(&u, UART_LSR) & UART_LSR_DR) {
			got[n++] = uart_read(&u, UART_RBR);
			idle = 0;
		} else {
			sleep_ms(5);
			idle++;
		}
	}
	CHECK(n == sizeof(paste) && memcmp(paste, got, n) == 0,
	      "console: a %zu-byte paste reaches the guest whole and in order (%zu)", sizeof(paste), n);
	console_stop(&c);
	uart_fini(&u);
	close(in[0]);
	close(in[1]);
	free(vm);
}

static void test_raw_terminal(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
		printf("SKIP console: raw mode: no pseudo-terminal here\n");
		return;
	}
	int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	struct termios before, during, after;
	tcgetattr(slave, &before);
	struct vm *vm = new_vm();
	struct sink *s = calloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	struct console c;
	char err[256] = "";
	CHECK(console_start(&c, vm, slave, slave, collect, s, err, sizeof(err)) == 0,
	      "console: starts on a terminal (%s)", err);
	tcgetattr(slave, &during);
	CHECK(!(during.c_lflag & (ICANON | ECHO | ISIG)), "console: the terminal is raw (no ICANON ECHO ISIG)");
	CHECK(!(during.c_iflag & (ICRNL | IXON)), "console: no CR translation or flow control on input");
	CHECK(write(master, "\x03\r", 2) == 2, "console: Ctrl-C typed");
	WAIT_FOR(collected(s) == 2);
	CHECK(collected(s) == 2 && s->buf[0] == 0x03 && s->buf[1] == '\r',
	      "console: Ctrl-C and CR reach the guest unchanged");
	console_stop(&c);
	tcgetattr(slave, &after);
	CHECK(after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag,
	      "console: stop restores the terminal");
	close(slave);
	close(master);
	free(s);
	free(vm);
}

int main(void)
{
	test_escape();
	test_pipe_input();
	test_eof_and_stop();
	test_paste_into_uart();
	test_raw_terminal();
	return CHECK_DONE();
}
