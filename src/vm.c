/* The machine's run loop: one host thread per vCPU runs the engine, answers
 * each exit through the buses, and stops every vCPU once any of them ends
 * the run. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "vmm_filter.h"
#include "dev/device.h"
#include "vm.h"

uint64_t host_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t vm_now_ns(const struct vm *vm)
{
	if (vm->cfg.deterministic)
		return vm->engine->instructions(vm) + atomic_load(&vm->skipped_ns);
	return host_now_ns() - vm->start_ns;
}

void vm_irq_line(struct vm *vm, unsigned line, int level)
{
	if (vm->engine->irq_line) {
		vm->engine->irq_line(vm, line, level);
	} else if (vm->intr && vm->intr->line) {
		vm->intr->line(vm, line, level);
		intr_kick(vm);
	}
}

void vm_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	if (vm->engine->msi) {
		vm->engine->msi(vm, addr, data);
	} else if (vm->intr && vm->intr->msi) {
		vm->intr->msi(vm, addr, data);
		intr_kick(vm);
	}
}

int vm_dma_write(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
	if (gpa_write(&vm->mem, gpa, src, len) != 0)
		return -1;
	vm_ram_written(vm, gpa, len);
	return 0;
}

void vm_ram_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (vm->engine && vm->engine->ram_written)
		vm->engine->ram_written(vm, gpa, len);
}

int vm_dma_read(struct vm *vm, uint64_t gpa, void *dst, uint64_t len)
{
	return gpa_read(&vm->mem, gpa, dst, len);
}

void vm_request_stop(struct vm *vm, int status, const char *why)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (!atomic_load(&vm->stopping)) {
		vm->status = status;
		snprintf(vm->stop_reason, sizeof(vm->stop_reason), "%s", why ? why : "");
		atomic_store(&vm->stopping, 1);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	intr_kick(vm);
	for (int i = 0; i < vm->ncpus; i++)
		if (vm->engine->kick && vm->vcpu[i].engine_priv)
			vm->engine->kick(&vm->vcpu[i]);
}

/* Signals that end a run: blocked in every thread popek starts, and taken
 * by vm_run with sigwait, so a stop by signal still prints its report.
 * SIGUSR2 is the last vCPU thread telling vm_run that the run is over. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR2);
}

/* Before the guest runs, a stop signal ends popek at once with the status
 * a stop during the run gives: nothing ran that a report could describe,
 * and no file read or setup step may outlast the user's patience. Only
 * async-signal-safe calls here. */
static void setup_stop_handler(int sig)
{
	console_restore_terminal();
	const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
	char msg[96] = "popek: stopped by signal ";
	size_t len = strlen(msg);
	for (const char *p = name; *p; p++)
		msg[len++] = *p;
	static const char tail[] = " before the guest started\n";
	memcpy(msg + len, tail, sizeof(tail) - 1);
	len += sizeof(tail) - 1;
	ssize_t w = write(STDERR_FILENO, msg, len);
	(void)w;
	_exit(STATUS_SIGNAL_BASE + sig);
}

void vm_setup_stop_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = setup_stop_handler;
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

void vm_allow_stop_signals(void)
{
	sigset_t set;
	stop_signals(&set);
	sigdelset(&set, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void vm_init_machine(struct vm *vm, const struct engine *engine, const struct vm_config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	vm->start_ns = host_now_ns();
	vm->engine = engine;
	vm->cfg = *cfg;
	vm->ncpus = cfg->ncpus;
	for (int i = 0; i < vm->ncpus; i++) {
		vm->vcpu[i].vm = vm;
		vm->vcpu[i].index = i;
	}
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_mutex_init(&vm->intr_lock, NULL);
	/* intr_wait's deadlines are on the monotonic clock. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->intr_wake, &ca);
	pthread_condattr_destroy(&ca);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
}

int vm_create(struct vm *vm, const struct engine *engine, const struct vm_config *cfg,
	      char *err, size_t n)
{
	memset(vm, 0, sizeof(*vm));
	if (cfg->deterministic && !engine->instructions) {
		snprintf(err, n, "--deterministic needs an engine that counts instructions "
			 "(emu); the %s engine does not", engine->name);
		return -1;
	}
	sigset_t set;
	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);   /* before devices start threads */
	vm_init_machine(vm, engine, cfg);
	vm->main_thread = pthread_self();
	if ((engine->mem_fd_base ? guest_mem_init_fd(&vm->mem, cfg->ram_size, engine->mem_fd_base, err, n)
				 : guest_mem_init(&vm->mem, cfg->ram_size, err, n)) != 0)
		return -1;
	if (engine->small_pages)
		guest_mem_small_pages(&vm->mem);
	/* the firmware ROM ends at 4 GiB, where the reset vector is; it must
	 * exist before the engine sizes its view of guest memory */
	if (cfg->bios && guest_mem_add_rom(&vm->mem, (1ull << 32) - cfg->bios_size, cfg->bios,
					   cfg->bios_size, err, n) != 0) {
		guest_mem_free(&vm->mem);
		return -1;
	}
	char why[256] = "";
	if (engine->vm_create(vm, why, sizeof(why)) != 0) {
		snprintf(err, n, "%s engine: %s", engine->name, why);
		/* An engine may fail half way; its destroy undoes what it left. */
		if (vm->engine_priv && engine->vm_destroy)
			engine->vm_destroy(vm);
		guest_mem_free(&vm->mem);
		return -1;
	}
	for (int i = 0; i < vm->ncpus; i++) {
		struct vcpu *cpu = &vm->vcpu[i];
		cpu_state_reset(&cpu->boot_state);
		if (engine->vcpu_create(cpu, why, sizeof(why)) != 0) {
			snprintf(err, n, "%s engine: vCPU %d: %s", engine->name, i, why);
			vm_destroy(vm);
			return -1;
		}
	}
	if (devices_create(vm, err, n) != 0) {
		vm_destroy(vm);
		return -1;
	}
	return 0;
}

/* A fatal exit: keep the state for the report and end the run. */
static void stop_with_dump(struct vcpu *cpu, int status, const char *why)
{
	struct vm *vm = cpu->vm;
	pthread_mutex_lock(&vm->stop_lock);
	if (!vm->dump_valid && vm->engine->get_state(cpu, &vm->dump_state) == 0)
		vm->dump_valid = 1;
	pthread_mutex_unlock(&vm->stop_lock);
	vm_request_stop(vm, status, why);
}

static void handle_io(struct vcpu *cpu, struct vm_exit *e)
{
	struct bus *b = &cpu->vm->pio;
	for (uint32_t i = 0; i < e->io.count; i++)
		bus_access(b, e->io.port, e->io.data + (size_t)i * e->io.size, e->io.size,
			   e->io.is_write);
}

/* Answers one exit; returns 0 to keep running. */
static int handle_exit(struct vcpu *cpu, struct vm_exit *e)
{
	struct vm *vm = cpu->vm;
	char why[160];
	switch (e->reason) {
	case EXIT_IO:
		handle_io(cpu, e);
		return 0;
	case EXIT_MMIO:
		bus_access(&vm->mmio, e->mmio.addr, e->mmio.data, e->mmio.size, e->mmio.is_write);
		return 0;
	case EXIT_HLT:
		/* Only engines without an in-kernel interrupt controller stop on
		 * HLT: sleep until popek's own controllers may have something, with
		 * a bound so their timers are polled. */
		intr_wait(cpu, 1000000);
		return 0;
	case EXIT_INTERRUPTED:
	case EXIT_IRQ_WINDOW:
	case EXIT_DEBUG:
		return 0;
	case EXIT_SYSTEM_EVENT:
		vm_request_stop(vm, STATUS_OK, e->system.type == SYSTEM_EVENT_RESET ?
			"guest reset" : "guest powered off");
		return 1;
	case EXIT_SHUTDOWN:
		snprintf(why, sizeof(why), "vCPU %d: guest triple fault (shutdown)", cpu->index);
		stop_with_dump(cpu, STATUS_TRIPLE_FAULT, why);
		return 1;
	case EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "vCPU %d: the %s engine could not enter the guest: %s (code %#llx)",
			 cpu->index, vm->engine->name, e->fail.what ? e->fail.what : "?",
			 (unsigned long long)e->fail.code);
		stop_with_dump(cpu, STATUS_ENTRY_FAILED, why);
		return 1;
	case EXIT_INTERNAL:
	default:
		snprintf(why, sizeof(why), "vCPU %d: %s engine internal error: %s (code %#llx)",
			 cpu->index, vm->engine->name, e->fail.what ? e->fail.what : "?",
			 (unsigned long long)e->fail.code);
		stop_with_dump(cpu, STATUS_INTERNAL, why);
		return 1;
	}
}

static void record_stats(struct vcpu *cpu, const struct vm_exit *e, uint64_t ns)
{
	stats_count(&cpu->stats, e->reason, ns);
	if ((e->reason == EXIT_IO || e->reason == EXIT_MMIO) && cpu->vm->engine->exit_rip)
		stats_io_site(&cpu->stats, e->reason, cpu->vm->engine->exit_rip(cpu),
			      e->reason == EXIT_IO ? e->io.port : e->mmio.addr);
}

/* Which vCPU this thread runs: per-vCPU devices (the local APIC) answer
 * accesses at one address differently for each vCPU. */
static _Thread_local struct vcpu *this_vcpu;

struct vcpu *vm_current_vcpu(void)
{
	return this_vcpu;
}

static void *vcpu_loop(void *arg)
{
	struct vcpu *cpu = arg;
	this_vcpu = cpu;
	struct vm *vm = cpu->vm;
	const struct engine *eng = vm->engine;
	const int stats = vm->cfg.stats;
	struct vm_exit e;
	while (!atomic_load_explicit(&vm->stopping, memory_order_relaxed)) {
		if (eng->run(cpu, &e) != 0) {
			char why[160];
			snprintf(why, sizeof(why), "vCPU %d: %s engine failed to run: %s", cpu->index,
				 eng->name, strerror(errno));
			vm_request_stop(vm, STATUS_INTERNAL, why);
			break;
		}
		if (!stats) {
			if (handle_exit(cpu, &e))
				break;
			continue;
		}
		uint64_t t0 = host_now_ns();
		if (cpu->index == 0 && !vm->first_exit_ns)
			vm->first_exit_ns = t0 - vm->start_ns;
		int done = handle_exit(cpu, &e);
		record_stats(cpu, &e, host_now_ns() - t0);
		if (done)
			break;
	}
	if (atomic_fetch_sub(&vm->running, 1) == 1)
		pthread_kill(vm->main_thread, SIGUSR2);
	return NULL;
}

/* Waits for the vCPUs to end the run; a stop signal ends it for them. */
static void wait_for_end(struct vm *vm)
{
	sigset_t set;
	stop_signals(&set);
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0 || sig == SIGUSR2)
			return;
		char why[64];
		snprintf(why, sizeof(why), "stopped by signal %s", sigabbrev_np(sig));
		vm_request_stop(vm, STATUS_SIGNAL_BASE + sig, why);
		if (!vm->dump_valid && vm->engine->get_state(&vm->vcpu[0], &vm->dump_state) == 0)
			vm->dump_valid = 1;
	}
}

/* Kicks interrupt a vCPU blocked in the engine with a signal; the handler
 * only has to exist so the signal interrupts the blocking call. */
static void kick_handler(int sig)
{
	(void)sig;
}

/* For the test that the filter holds: a system call the run never makes
 * (POPEK_TEST_FORBIDDEN_CALL=socket: one only --net user may make). Under
 * the filter it kills popek; with --no-seccomp execve fails (no such
 * file), and the run goes on. */
static void forbidden_call_hook(const char *which)
{
	if (strcmp(which, "socket") == 0) {
		long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		fprintf(stderr, "popek: test hook: socket returned %ld\n", fd);
		if (fd >= 0)
			close((int)fd);
		return;
	}
	char *const argv[] = { NULL };
	long r = syscall(SYS_execve, "/nonexistent/popek-test", argv, argv);
	fprintf(stderr, "popek: test hook: execve returned %ld (no filter stopped it)\n", r);
}

int vm_run(struct vm *vm)
{
	/* From here a stop signal is the run's to take (wait_for_end). */
	sigset_t stop;
	stop_signals(&stop);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigaction(SIGUSR1, &sa, NULL);
	atomic_store(&vm->running, vm->ncpus);
	for (int i = 0; i < vm->ncpus; i++) {
		struct vcpu *cpu = &vm->vcpu[i];
		if (i == 0 && vm->engine->set_state(cpu, &cpu->boot_state) != 0) {
			vm_request_stop(vm, STATUS_HOST_ERROR, "cannot set the boot vCPU's state");
			return vm->status;
		}
		if (pthread_create(&cpu->thread, NULL, vcpu_loop, cpu) != 0) {
			vm_request_stop(vm, STATUS_HOST_ERROR, "cannot start a vCPU thread");
			for (int j = 0; j < i; j++)
				pthread_join(vm->vcpu[j].thread, NULL);
			return vm->status;
		}
	}
	/* Every thread exists now; TSYNC gives them all the filter. */
	if (vm->cfg.seccomp) {
		char err[160];
		if (vmm_filter_install(vm->cfg.net.enabled && vm->cfg.net.user, err, sizeof(err)) != 0)
			vm_request_stop(vm, STATUS_HOST_ERROR, err);
	}
	if (getenv("POPEK_TEST_FORBIDDEN_CALL"))
		forbidden_call_hook(getenv("POPEK_TEST_FORBIDDEN_CALL"));
	wait_for_end(vm);
	for (int i = 0; i < vm->ncpus; i++)
		pthread_join(vm->vcpu[i].thread, NULL);
	return vm->status;
}

void vm_destroy(struct vm *vm)
{
	devices_destroy(vm);
	for (int i = 0; i < vm->ncpus; i++)
		if (vm->vcpu[i].engine_priv && vm->engine->vcpu_destroy)
			vm->engine->vcpu_destroy(&vm->vcpu[i]);
	if (vm->engine_priv && vm->engine->vm_destroy)
		vm->engine->vm_destroy(vm);
	guest_mem_free(&vm->mem);
}
