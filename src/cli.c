/* Parsing of `popek run`'s options, kept apart from main so the tests can
 * feed it every kind of bad input. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dev/virtio/blk.h"
#include "dev/virtio/net.h"
#include "vm.h"

void cli_usage(FILE *f)
{
	fprintf(f,
		"usage: popek run -k KERNEL [options]     boot a guest\n"
		"       popek engines                     list the engines this host can use\n"
		"       popek --version | --help\n"
		"\n"
		"options of run:\n"
		"  -k, --kernel FILE     Linux bzImage or vmlinux, Multiboot kernel, or flat binary (--load)\n"
		"  -i, --initrd FILE     initial ramdisk (Linux) or first module (Multiboot)\n"
		"  -a, --append STRING   kernel command line\n"
		"  -m, --mem SIZE        guest RAM: 256M, 2G, ... (a bare number is MiB; default 256M)\n"
		"  -c, --cpus N          vCPUs (default 1)\n"
		"      --engine NAME     kvm, raw, emu or auto (default auto: kvm with VT-x/AMD-V,\n"
		"                        else raw for one vCPU, else emu)\n"
		"      --load ADDR       KERNEL is a flat binary: load it at ADDR (e.g. 0x7c00)\n"
		"      --mode real|32    how a flat binary is entered (default real)\n"
		"      --stats           print exit statistics at the end\n"
		"      --deterministic   time derived from the instruction count (emu)\n"
		"      --no-seccomp      run without popek's own system-call filter (debugging)\n"
		"      --debugcon FILE   QEMU's debug console (port 0x402) to FILE, - for stderr\n"
		"      --post-codes      print each POST code written to port 0x80 as it comes\n"
		"      --disk FILE[,ro]  a raw disk image as a virtio-blk device (/dev/vda, then vdb...;\n"
		"                        repeatable, up to 8); ro: the guest cannot write it\n"
		"      --net user[,hostfwd=tcp:HOSTADDR:HOSTPORT-:GUESTPORT,...][,mac=XX:XX:XX:XX:XX:XX]\n"
		"                        a virtio-net device on user-mode networking (guest 10.0.2.15 by\n"
		"                        DHCP, host 10.0.2.2, DNS 10.0.2.3); hostfwd forwards a host port\n"
		"      --net tap=NAME[,mac=...]  a virtio-net device on an existing tap device\n"
		"      --device NAME     add a device: pc-testdev (QEMU's test device, ports 0xe0-0xeb,\n"
		"                        0x2000, MMIO 0xff000000), virtio-rng (entropy from the host),\n"
		"                        virtio-console[,path=FILE|,socket=PATH] (hvc0: written to FILE,\n"
		"                        default stdout; or both ways through a UNIX socket popek connects to)\n"
		"      --bios FILE       start in a firmware ROM (e.g. SeaBIOS's bios.bin) at the reset vector (emu)\n"
		"  -h, --help            this text\n"
		"\n"
		"exit status: 0 guest powered off or reset; (N << 1) | 1 when the guest writes N\n"
		"to port 0xf4; 2 bad input; 4 guest triple fault; 6 VM entry failed;\n"
		"8 engine internal error; 10 engine could not be set up;\n"
		"12 the guest panicked (it wrote PANICKED to the pvpanic port 0x505);\n"
		"14 quit with Ctrl-A x; 159 (killed by SIGSYS) a system call the filter forbids;\n"
		"128 + N stopped by signal N (stats and a register dump still printed).\n"
		"console: Ctrl-A x quits, Ctrl-A h helps.\n");
}

int parse_size(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	unsigned shift = 20;   /* a bare number means MiB */
	switch (toupper((unsigned char)*end)) {
	case 0: break;
	case 'B': shift = 0; end++; break;
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: return -1;
	}
	/* Accept the spellings people type: 256M, 256MB, 256MiB. */
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != 0 || v == 0 || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

enum { OPT_ENGINE = 256, OPT_STATS, OPT_LOAD, OPT_MODE, OPT_DETERMINISTIC, OPT_NO_SECCOMP,
       OPT_DEBUGCON, OPT_POST_CODES, OPT_DEVICE, OPT_BIOS, OPT_DISK, OPT_NET };

/* --device NAME[,options] */
static int parse_device(char *spec, struct run_options *o, char *err, size_t n)
{
	if (strcmp(spec, "pc-testdev") == 0) {
		o->pc_testdev = true;
	} else if (strcmp(spec, "virtio-rng") == 0) {
		o->virtio_rng = true;
	} else if (strncmp(spec, "virtio-console", 14) == 0 && (spec[14] == 0 || spec[14] == ',')) {
		o->virtio_console = true;
		if (spec[14] == ',') {
			const char *opt = spec + 15;
			if (strncmp(opt, "path=", 5) == 0 && opt[5]) {
				o->virtio_console_path = opt + 5;
			} else if (strncmp(opt, "socket=", 7) == 0 && opt[7]) {
				o->virtio_console_socket = opt + 7;
			} else {
				snprintf(err, n, "--device %s: virtio-console takes path=FILE or socket=PATH", spec);
				return -1;
			}
		}
	} else {
		snprintf(err, n, "--device %s: unknown device (pc-testdev, virtio-rng, virtio-console)", spec);
		return -1;
	}
	return 0;
}

int cli_parse_run(int argc, char **argv, struct run_options *o, char *err, size_t n)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "append", required_argument, NULL, 'a' },
		{ "mem", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "engine", required_argument, NULL, OPT_ENGINE },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "load", required_argument, NULL, OPT_LOAD },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "deterministic", no_argument, NULL, OPT_DETERMINISTIC },
		{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
		{ "debugcon", required_argument, NULL, OPT_DEBUGCON },
		{ "post-codes", no_argument, NULL, OPT_POST_CODES },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "net", required_argument, NULL, OPT_NET },
		{ "bios", required_argument, NULL, OPT_BIOS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	o->ram_size = 256ull << 20;
	o->ncpus = 1;
	o->engine = "auto";
	o->boot.flat_mode = FLAT_REAL;
	const char *mode = NULL;
	uint64_t v;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":k:i:a:m:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o->boot.kernel = optarg; break;
		case 'i': o->boot.initrd = optarg; break;
		case 'a': o->boot.cmdline = optarg; break;
		case 'm':
			if (parse_size(optarg, &o->ram_size) != 0) {
				snprintf(err, n, "-m %s: not a memory size (try 256M or 2G)", optarg);
				return -1;
			}
			break;
		case 'c':
			if (parse_u64(optarg, &v) != 0 || v == 0 || v > VM_MAX_VCPUS) {
				snprintf(err, n, "-c %s: the number of vCPUs must be 1 to %d", optarg, VM_MAX_VCPUS);
				return -1;
			}
			o->ncpus = (int)v;
			break;
		case OPT_ENGINE: o->engine = optarg; break;
		case OPT_STATS: o->stats = true; break;
		case OPT_DETERMINISTIC: o->deterministic = true; break;
		case OPT_NO_SECCOMP: o->no_seccomp = true; break;
		case OPT_DEBUGCON: o->debugcon = optarg; break;
		case OPT_POST_CODES: o->post_codes = true; break;
		case OPT_BIOS: o->bios = optarg; break;
		case OPT_DEVICE:
			if (parse_device(optarg, o, err, n) != 0)
				return -1;
			break;
		case OPT_NET:
			if (net_parse(optarg, &o->net, err, n) != 0)
				return -1;
			break;
		case OPT_DISK:
			if (o->ndisks == VM_MAX_DISKS) {
				snprintf(err, n, "--disk %s: at most %d disks", optarg, VM_MAX_DISKS);
				return -1;
			}
			if (disk_parse(optarg, &o->disk[o->ndisks], err, n) != 0)
				return -1;
			o->ndisks++;
			break;
		case OPT_LOAD:
			if (parse_u64(optarg, &v) != 0) {
				snprintf(err, n, "--load %s: not an address", optarg);
				return -1;
			}
			o->boot.flat = 1;
			o->boot.load_addr = v;
			break;
		case OPT_MODE: mode = optarg; break;
		case 'h': return 1;
		case ':':
			snprintf(err, n, "option %s needs a value", argv[optind - 1]);
			return -1;
		default:
			snprintf(err, n, "unknown option %s", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, n, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (o->bios && (o->boot.kernel || o->boot.initrd)) {
		snprintf(err, n, "--bios starts the firmware, which boots what it finds: give no -k or -i");
		return -1;
	}
	if (!o->boot.kernel && !o->bios) {
		snprintf(err, n, "no kernel given (-k FILE)");
		return -1;
	}
	if (mode) {
		if (!o->boot.flat) {
			snprintf(err, n, "--mode only applies to flat binaries (--load ADDR)");
			return -1;
		}
		if (strcmp(mode, "real") == 0 || strcmp(mode, "16") == 0)
			o->boot.flat_mode = FLAT_REAL;
		else if (strcmp(mode, "32") == 0 || strcmp(mode, "prot32") == 0)
			o->boot.flat_mode = FLAT_PROT32;
		else {
			snprintf(err, n, "--mode %s: expected real or 32", mode);
			return -1;
		}
	}
	if (strcmp(o->engine, "kvm") != 0 && strcmp(o->engine, "emu") != 0 && strcmp(o->engine, "raw") != 0 &&
	    strcmp(o->engine, "auto") != 0) {
		snprintf(err, n, "--engine %s: unknown engine (kvm, raw, emu or auto)", o->engine);
		return -1;
	}
	if (o->boot.flat && o->boot.initrd) {
		snprintf(err, n, "a flat binary (--load) takes no initrd");
		return -1;
	}
	o->boot.ncpus = o->ncpus;
	return 0;
}
