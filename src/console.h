/* The host side of the guest's serial console: the user's terminal (or a
 * pipe) feeding a device's input, with a QEMU-style Ctrl-A escape for
 * commands to popek itself.
 *
 * On a terminal the console switches it to raw mode, so keys reach the guest
 * unchanged (Ctrl-C included), and puts it back at console_stop, at exit()
 * and on fatal signals. */
#ifndef POPEK_CONSOLE_H
#define POPEK_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

#define CONSOLE_ESCAPE_CHAR 0x01   /* Ctrl-A */

/* What one input byte means once the escape has been taken into account. */
enum console_action {
	CONSOLE_NONE,   /* swallowed (the escape itself, or an unknown command) */
	CONSOLE_BYTE,   /* *out goes to the guest */
	CONSOLE_QUIT,   /* Ctrl-A x */
	CONSOLE_HELP,   /* Ctrl-A h */
};

struct console_escape {
	bool armed;     /* the previous byte was Ctrl-A */
};

/* Pure: feeds one byte through the escape state machine. */
enum console_action console_escape_feed(struct console_escape *e, uint8_t in, uint8_t *out);

/* The help text Ctrl-A h prints. Plain LF line ends: raw mode keeps output
 * processing, so the terminal still adds the CR. */
extern const char console_help_text[];

/* Takes bytes for the guest; returns how many it accepted (it may be full). */
typedef size_t (*console_sink_fn)(void *opaque, const uint8_t *buf, size_t n);

struct console {
	struct vm *vm;
	int in_fd, out_fd;
	console_sink_fn sink;
	void *opaque;
	struct console_escape esc;
	int stop_pipe[2];      /* a byte here ends the reader thread */
	pthread_t thread;
	bool running;
};

/* Starts reading in_fd (nothing to do when it is -1) into sink. Help text
 * goes to out_fd. 0, or -1 with a message in err. */
int console_start(struct console *c, struct vm *vm, int in_fd, int out_fd, console_sink_fn sink,
		  void *opaque, char *err, size_t n);
/* Ends the reader thread and restores the terminal; safe to call twice. */
void console_stop(struct console *c);

/* Puts the terminal back as it was before raw mode; async-signal-safe, so
 * fatal-error paths and signal handlers may call it too. */
void console_restore_terminal(void);

#endif
