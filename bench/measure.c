/*
 * Measures VMM processes for bench/run, so every VMM is timed and sized the
 * same way and without a shell in between (a shell's fork and exec would add
 * about a millisecond of noise to a number whose goal is 5 ms).
 *
 *   measure time RUNS CMD...
 *       runs CMD RUNS times, output discarded; prints
 *       "median_us min_us max_us status" where status is the exit status
 *       every run had, or -1 when the runs disagreed.
 *   measure rss DELAY_MS GUEST_MIB CMD...
 *       starts CMD, waits DELAY_MS, reads its VmRSS and the resident part of
 *       its guest-memory mapping (mappings of GUEST_MIB up to GUEST_MIB+4
 *       MiB, which covers VMMs that pad the mapping for alignment), kills
 *       it; prints "vmrss_kib guest_rss_kib alive" (alive 0 means CMD had
 *       already exited, so the numbers describe nothing).
 *   measure run TIMEOUT_S STALL_S MARKER OUT CMD...
 *       runs CMD once with its stdout and stderr through a pipe into file
 *       OUT. MARKER "" waits for CMD to exit; otherwise CMD is stopped
 *       (SIGTERM, then SIGKILL) as soon as a line beginning with MARKER
 *       appears. TIMEOUT_S stops it in any case, and STALL_S when it has
 *       printed nothing for that long (0: no limit). Prints
 *       "wall_us marker_us status maxrss_kib end": wall time to the exit,
 *       time to the marker line (-1 if none), the exit status (128 + N
 *       for signal N), the peak RSS from wait4 (KiB) and what ended the
 *       run: exit, marker, timeout or stall.
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>

extern char **environ;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Starts argv with stdin, stdout and stderr on /dev/null. */
static pid_t spawn_quiet(char **argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "measure: cannot start %s: %s\n", argv[0], strerror(err));
		exit(2);
	}
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int cmd_time(int runs, char **argv)
{
	double *t = calloc((size_t)runs, sizeof(*t));
	if (!t)
		return 2;
	int status = 0;
	for (int i = 0; i < runs; i++) {
		double start = now_us();
		int st = wait_status(spawn_quiet(argv));
		t[i] = now_us() - start;
		if (i == 0)
			status = st;
		else if (st != status)
			status = -1;
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	double median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
	printf("%.0f %.0f %.0f %d\n", median, t[0], t[runs - 1], status);
	free(t);
	return 0;
}

static long status_field_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* Sums Rss over the mappings sized like guest memory. */
static long guest_rss_kib(pid_t pid, long guest_kib)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	FILE *f = fopen(path, "r");
	long total = 0;
	int in_guest = 0;
	while (f && fgets(line, sizeof(line), f)) {
		long v;
		if (sscanf(line, "Size: %ld kB", &v) == 1)
			in_guest = v >= guest_kib && v <= guest_kib + 4096;
		else if (in_guest && sscanf(line, "Rss: %ld kB", &v) == 1)
			total += v;
	}
	if (f)
		fclose(f);
	return total;
}

static int cmd_rss(long delay_ms, long guest_mib, char **argv)
{
	pid_t pid = spawn_quiet(argv);
	usleep((useconds_t)delay_ms * 1000);
	int alive = waitpid(pid, NULL, WNOHANG) == 0;
	long rss = status_field_kib(pid, "VmRSS");
	long guest = guest_rss_kib(pid, guest_mib * 1024);
	kill(pid, SIGKILL);
	if (alive)
		waitpid(pid, NULL, 0);
	printf("%ld %ld %d\n", rss, guest, alive);
	return 0;
}

/* Stops PID: SIGTERM (popek and QEMU print their statistics and exit), and
 * SIGKILL if it is still there after two seconds. Returns the wait4 status. */
static int stop_child(pid_t pid, struct rusage *ru)
{
	int st;
	kill(pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (wait4(pid, &st, WNOHANG, ru) == pid)
			return st;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	wait4(pid, &st, 0, ru);
	return st;
}

/* Looks for a line beginning with MARKER in the bytes just appended to LINE
 * (the current, unfinished line of output, kept across reads). */
static int scan_marker(const char *buf, ssize_t n, const char *marker, char *line, size_t *len, size_t cap)
{
	int found = 0;
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || buf[i] == '\r') {
			*len = 0;
			continue;
		}
		if (*len < cap - 1)
			line[(*len)++] = buf[i];
		line[*len] = 0;
		if (*len == strlen(marker) && !strcmp(line, marker))
			found = 1;
	}
	return found;
}

static int cmd_run(double timeout_s, double stall_s, const char *marker, const char *out_path, char **argv)
{
	int fds[2], out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || pipe(fds) < 0) {
		fprintf(stderr, "measure: cannot open %s or a pipe\n", out_path);
		return 2;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	pid_t pid;
	double start = now_us(), last_output = start, marker_us = -1;
	int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (err) {
		fprintf(stderr, "measure: cannot start %s: %s\n", argv[0], strerror(err));
		return 2;
	}
	char buf[4096], line[256];
	size_t len = 0;
	const char *end = "exit";
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		double now = now_us();
		if (timeout_s > 0 && now - start > timeout_s * 1e6) {
			end = "timeout";
			break;
		}
		if (stall_s > 0 && now - last_output > stall_s * 1e6) {
			end = "stall";
			break;
		}
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(fds[0], buf, sizeof(buf));
		if (n <= 0)
			break;	/* EOF: CMD (and anything it started) closed its output */
		last_output = now_us();
		if (write(out, buf, (size_t)n) != n)
			break;
		if (*marker && marker_us < 0 && scan_marker(buf, n, marker, line, &len, sizeof(line))) {
			marker_us = now_us() - start;
			end = "marker";
			break;
		}
	}
	struct rusage ru = { 0 };
	int st;
	if (strcmp(end, "exit"))
		st = stop_child(pid, &ru);
	else
		wait4(pid, &st, 0, &ru);
	double wall = now_us() - start;
	close(fds[0]);
	close(out);
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("%.0f %.0f %d %ld %s\n", wall, marker_us, status, ru.ru_maxrss, end);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "time"))
		return cmd_time(atoi(argv[2]) > 0 ? atoi(argv[2]) : 1, argv + 3);
	if (argc >= 5 && !strcmp(argv[1], "rss"))
		return cmd_rss(atol(argv[2]), atol(argv[3]), argv + 4);
	if (argc >= 7 && !strcmp(argv[1], "run"))
		return cmd_run(atof(argv[2]), atof(argv[3]), argv[4], argv[5], argv + 6);
	fprintf(stderr, "usage: measure time RUNS CMD... | measure rss DELAY_MS GUEST_MIB CMD...\n"
			"       measure run TIMEOUT_S STALL_S MARKER OUT CMD...\n");
	return 2;
}
