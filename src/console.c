/* See console.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "vm.h"

const char console_help_text[] =
	"\n"
	"popek console escapes:\n"
	"  C-a x    quit popek\n"
	"  C-a h    print this help\n"
	"  C-a C-a  send C-a to the guest\n";

enum console_action console_escape_feed(struct console_escape *e, uint8_t in, uint8_t *out)
{
	if (!e->armed) {
		if (in == CONSOLE_ESCAPE_CHAR) {
			e->armed = true;
			return CONSOLE_NONE;
		}
		*out = in;
		return CONSOLE_BYTE;
	}
	e->armed = false;
	switch (in) {
	case CONSOLE_ESCAPE_CHAR:
		*out = in;
		return CONSOLE_BYTE;
	case 'x':
	case 'X':
		return CONSOLE_QUIT;
	case 'h':
	case 'H':
	case '?':
		return CONSOLE_HELP;
	default:
		return CONSOLE_NONE;  /* an unknown command is dropped, as QEMU does */
	}
}

/* The terminal's state before raw mode. saved_fd is what a signal handler
 * looks at, so it is set only once saved_termios is complete. */
static struct termios saved_termios;
static volatile sig_atomic_t saved_fd = -1;

void console_restore_terminal(void)
{
	int fd = saved_fd;
	if (fd >= 0)
		tcsetattr(fd, TCSANOW, &saved_termios);
}

/* Dying of a signal skips atexit; restore the terminal first, then die of
 * the same signal as we would have (SA_RESETHAND put the default back). */
static void fatal_signal(int sig)
{
	console_restore_terminal();
	raise(sig);
}

/* Only signals nobody else handles: a handler installed by the machine
 * (or ASan) already knows what it wants and ends through exit(). */
static void install_signal_restore(void)
{
	static const int sigs[] = { SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGBUS, SIGFPE,
				    SIGILL, SIGABRT };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = fatal_signal;
		sa.sa_flags = SA_RESETHAND | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

/* Raw like QEMU's stdio: no echo, no line editing, no signals from keys,
 * 8-bit clean input. Output processing stays, so popek's own messages on
 * the same terminal still begin at column 0. */
static int enter_raw_mode(int fd, char *err, size_t n)
{
	static bool hooks_installed;
	struct termios t;
	if (tcgetattr(fd, &t) != 0) {
		snprintf(err, n, "cannot read the terminal's settings: %s", strerror(errno));
		return -1;
	}
	saved_termios = t;
	saved_fd = fd;
	if (!hooks_installed) {
		atexit(console_restore_terminal);
		install_signal_restore();
		hooks_installed = true;
	}
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSANOW, &t) != 0) {
		snprintf(err, n, "cannot put the terminal in raw mode: %s", strerror(errno));
		saved_fd = -1;
		return -1;
	}
	return 0;
}

static void write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Waits up to ms for a stop request; true when one came. */
static bool stop_requested(struct console *c, int ms)
{
	struct pollfd p = { .fd = c->stop_pipe[0], .events = POLLIN };
	return poll(&p, 1, ms) > 0;
}

/* Hands bytes to the guest, waiting while its queue is full rather than
 * dropping them: a paste larger than the queue arrives whole. */
static bool deliver(struct console *c, const uint8_t *buf, size_t n)
{
	while (n) {
		size_t taken = c->sink(c->opaque, buf, n);
		buf += taken;
		n -= taken;
		if (n && stop_requested(c, 10))
			return false;
	}
	return true;
}

/* The machine does not report a clean stop, so the user learns here why
 * popek ended; the newline first because the guest's line may be open. */
static void quit(struct console *c)
{
	static const char msg[] = "\npopek: quit by Ctrl-A x\n";
	write_all(STDERR_FILENO, msg, sizeof(msg) - 1);
	vm_request_stop(c->vm, STATUS_QUIT, "quit by Ctrl-A x");
}

/* Returns false when the reader should end (quit, or stop requested). */
static bool handle_input(struct console *c, const uint8_t *in, size_t n)
{
	uint8_t out[256];
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t byte;
		switch (console_escape_feed(&c->esc, in[i], &byte)) {
		case CONSOLE_BYTE:
			out[m++] = byte;
			break;
		case CONSOLE_HELP:
			write_all(c->out_fd, console_help_text, strlen(console_help_text));
			break;
		case CONSOLE_QUIT:
			deliver(c, out, m);
			quit(c);
			return false;
		case CONSOLE_NONE:
			break;
		}
	}
	return deliver(c, out, m);
}

static void *reader(void *arg)
{
	struct console *c = arg;
	uint8_t buf[256];
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c->stop_pipe[0], .events = POLLIN },
			{ .fd = c->in_fd, .events = POLLIN },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (!p[1].revents)
			continue;
		ssize_t r = read(c->in_fd, buf, sizeof(buf));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			break;  /* EOF (a pipe or file ran out) or a dead fd: stop reading */
		if (!handle_input(c, buf, (size_t)r))
			break;
	}
	return NULL;
}

/* The reader blocks every signal so that signals meant for the process
 * (and the vCPU kicks) land on threads that handle them. */
static int start_reader(struct console *c)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&c->thread, NULL, reader, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* A background job that touched its terminal would be stopped by SIGTTOU
 * or SIGTTIN; such a run gets no console input instead. */
static bool in_background(int fd)
{
	if (!isatty(fd))
		return false;
	pid_t fg = tcgetpgrp(fd);
	return fg >= 0 && fg != getpgrp();
}

int console_start(struct console *c, struct vm *vm, int in_fd, int out_fd, console_sink_fn sink,
		  void *opaque, char *err, size_t n)
{
	memset(c, 0, sizeof(*c));
	c->vm = vm;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->sink = sink;
	c->opaque = opaque;
	c->stop_pipe[0] = c->stop_pipe[1] = -1;
	if (in_fd < 0 || in_background(in_fd))
		return 0;
	if (pipe(c->stop_pipe) != 0) {
		snprintf(err, n, "console: pipe: %s", strerror(errno));
		return -1;
	}
	if (isatty(in_fd) && enter_raw_mode(in_fd, err, n) != 0) {
		console_stop(c);
		return -1;
	}
	int rc = start_reader(c);
	if (rc != 0) {
		snprintf(err, n, "console: cannot start the reader thread: %s", strerror(rc));
		console_stop(c);
		return -1;
	}
	c->running = true;
	return 0;
}

void console_stop(struct console *c)
{
	if (c->running) {
		write_all(c->stop_pipe[1], "x", 1);
		pthread_join(c->thread, NULL);
		c->running = false;
	}
	for (int i = 0; i < 2; i++) {
		if (c->stop_pipe[i] >= 0)
			close(c->stop_pipe[i]);
		c->stop_pipe[i] = -1;
	}
	if (saved_fd >= 0 && saved_fd == c->in_fd) {
		console_restore_terminal();
		saved_fd = -1;
	}
}
