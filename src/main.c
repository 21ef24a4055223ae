/* popek: command words, then one run of a VM from options to exit status. */
#include <fcntl.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/boot_file.h"
#include "cli.h"
#include "dev/virtio/blk.h"
#include "dev/device.h"
#include "vm.h"

static int fail_input(const char *msg)
{
	fprintf(stderr, "popek: %s\n", msg);
	return STATUS_BAD_INPUT;
}

static int is_fatal(int status)
{
	return status == STATUS_TRIPLE_FAULT || status == STATUS_ENTRY_FAILED ||
	       status == STATUS_INTERNAL || status == STATUS_HOST_ERROR;
}

static int cmd_engines(void)
{
	static const char *names[] = { "kvm", "raw", "emu" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char why[256];
		const struct engine *e = engine_by_name(names[i]);
		if (e && (!e->available || e->available(why, sizeof(why)) == 0))
			printf("%s\n", names[i]);
	}
	return 0;
}

/* --device virtio-console,socket=PATH: a connected UNIX stream socket. */
static int connect_unix(const char *path, char *err, size_t n)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, n, "--device virtio-console,socket=%s: the path is too long", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		snprintf(err, n, "--device virtio-console,socket=%s: cannot connect: %m", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int cmd_run(int argc, char **argv)
{
	struct run_options o;
	char err[512] = "";
	int r = cli_parse_run(argc, argv, &o, err, sizeof(err));
	if (r == 1) {
		cli_usage(stdout);
		return 0;
	}
	if (r != 0) {
		fprintf(stderr, "popek: %s\nTry 'popek --help'.\n", err);
		return STATUS_BAD_INPUT;
	}
	vm_setup_stop_signals();
	/* --bios: the firmware is the guest; emu runs it (kvm would need the
	 * ROM as a read-only memslot and real-mode entry through KVM, raw has
	 * no native real mode) */
	struct boot_file bios = { 0 };
	if (o.bios) {
		if (strcmp(o.engine, "auto") != 0 && strcmp(o.engine, "emu") != 0) {
			snprintf(err, sizeof(err), "--bios runs on the emu engine for now, not %s", o.engine);
			return fail_input(err);
		}
		o.engine = "emu";
		if (boot_file_load(&bios, "BIOS", o.bios, 16ull << 20, err, sizeof(err)) != 0)
			return fail_input(err);
		if (bios.size < (64u << 10) || bios.size % (64u << 10) != 0) {
			snprintf(err, sizeof(err), "BIOS '%s': %llu bytes is not a ROM image (a multiple "
				 "of 64 KiB, at most 16 MiB)", o.bios, (unsigned long long)bios.size);
			boot_file_free(&bios);
			return fail_input(err);
		}
	}
	/* Check the files before creating anything, so bad input costs nothing. */
	if (!o.bios && (access(o.boot.kernel, R_OK) != 0 ||
			(o.boot.initrd && access(o.boot.initrd, R_OK) != 0))) {
		const char *f = access(o.boot.kernel, R_OK) != 0 ? o.boot.kernel : o.boot.initrd;
		snprintf(err, sizeof(err), "cannot read '%s': %m", f);
		return fail_input(err);
	}
	if (!guest_mem_size_ok(o.ram_size, err, sizeof(err)))
		return fail_input(err);
	/* a real-mode flat binary counts as 32-bit: raw runs its real-mode
	 * start in REM and whatever protected-mode code follows natively */
	int bits = o.bios ? 16 : boot_kernel_bits(&o.boot);
	const struct engine *engine = engine_select_guest(o.engine, bits == 32 || bits == 16, o.ncpus,
							  o.deterministic, err, sizeof(err));
	if (!engine) {
		fprintf(stderr, "popek: %s\n", err);
		return STATUS_HOST_ERROR;
	}
	if (engine->max_vcpus && o.ncpus > engine->max_vcpus) {
		snprintf(err, sizeof(err), "the %s engine runs %d vCPU%s (asked for %d); "
			 "use --engine emu or kvm for more", engine->name, engine->max_vcpus,
			 engine->max_vcpus == 1 ? "" : "s", o.ncpus);
		return fail_input(err);
	}
	if (o.deterministic && !engine->instructions) {
		snprintf(err, sizeof(err), "--deterministic needs an engine that counts instructions "
			 "(emu); the %s engine does not", engine->name);
		return fail_input(err);
	}
	int debugcon_fd = -1;
	if (o.debugcon) {
		debugcon_fd = strcmp(o.debugcon, "-") == 0 ? STDERR_FILENO
			: open(o.debugcon, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
		if (debugcon_fd < 0) {
			snprintf(err, sizeof(err), "--debugcon %s: %m", o.debugcon);
			return fail_input(err);
		}
	}
	for (int i = 0; i < o.ndisks; i++)
		if (disk_open(&o.disk[i], err, sizeof(err)) != 0)
			return fail_input(err);
	int hvc_fd = STDOUT_FILENO, hvc_in = -1;
	if (o.virtio_console && o.virtio_console_socket) {
		hvc_fd = hvc_in = connect_unix(o.virtio_console_socket, err, sizeof(err));
		if (hvc_fd < 0)
			return fail_input(err);
	} else if (o.virtio_console && o.virtio_console_path && strcmp(o.virtio_console_path, "-") != 0) {
		hvc_fd = open(o.virtio_console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
		if (hvc_fd < 0) {
			snprintf(err, sizeof(err), "--device virtio-console,path=%s: %m", o.virtio_console_path);
			return fail_input(err);
		}
	}
	struct vm_config cfg = {
		.ram_size = o.ram_size,
		.ncpus = o.ncpus,
		.stats = o.stats,
		.deterministic = o.deterministic,
		.seccomp = !o.no_seccomp && engine->run_filtered,
		.cmdline = o.boot.cmdline,
		.debugcon = debugcon_fd >= 0,
		.debugcon_fd = debugcon_fd,
		.post_codes = o.post_codes,
		.pc_testdev = o.pc_testdev,
		.ndisks = o.ndisks,
		.net = o.net,
		.virtio_rng = o.virtio_rng,
		.virtio_console = o.virtio_console,
		.virtio_console_fd = hvc_fd,
		.virtio_console_in_fd = hvc_in,
		.bios = bios.data,
		.bios_size = bios.size,
		.console_in_fd = STDIN_FILENO,
		.console_out_fd = STDOUT_FILENO,
	};
	memcpy(cfg.disk, o.disk, sizeof(cfg.disk));
	static struct vm vm;   /* large (per-vCPU stats tables): not on the stack */
	if (vm_create(&vm, engine, &cfg, err, sizeof(err)) != 0) {
		boot_file_free(&bios);
		fprintf(stderr, "popek: %s\n", err);
		return STATUS_HOST_ERROR;
	}
	vm_allow_stop_signals();
	if (o.bios) {
		/* the ROM's last 128 KiB also answer below 1 MiB, where real-mode
		 * code runs it: a shadow copy in RAM, as a chipset makes; the
		 * vCPU starts at the reset vector, 0xfffffff0 */
		uint64_t low = bios.size < (128u << 10) ? bios.size : (128u << 10);
		gpa_write(&vm.mem, (1u << 20) - low, bios.data + bios.size - low, low);
		boot_file_free(&bios);
	} else if (boot_load(&vm.mem, &o.boot, &vm.vcpu[0].boot_state, err, sizeof(err)) != 0) {
		vm_destroy(&vm);
		return fail_input(err);
	}
	int status = vm_run(&vm);
	if (is_fatal(status) || status == STATUS_GUEST_PANICKED || status >= STATUS_SIGNAL_BASE) {
		fprintf(stderr, "popek: %s\n", vm.stop_reason);
		if (vm.dump_valid)
			cpu_state_dump(&vm.dump_state, STDERR_FILENO);
	}
	if (o.stats) {
		if (!is_fatal(status) && status < STATUS_SIGNAL_BASE && vm.stop_reason[0])
			fprintf(stderr, "popek: stopped: %s\n", vm.stop_reason);
		if (vm.first_exit_ns)
			fprintf(stderr, "popek: first exit %.3f ms after popek started\n",
				vm.first_exit_ns / 1e6);
		stats_print(&vm.vcpu[0].stats, vm.ncpus, STDERR_FILENO, 10);
		devices_print_stats(&vm, STDERR_FILENO);
		if (engine->print_stats)
			engine->print_stats(&vm, STDERR_FILENO);
	}
	vm_destroy(&vm);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_usage(stderr);
		return STATUS_BAD_INPUT;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
		printf("popek %s\n", POPEK_VERSION);
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		cli_usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "engines") == 0)
		return cmd_engines();
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (cmd[0] == '-')   /* `popek -k bzImage ...` reads as run */
		return cmd_run(argc, argv);
	fprintf(stderr, "popek: unknown command '%s'\nTry 'popek --help'.\n", cmd);
	return STATUS_BAD_INPUT;
}
