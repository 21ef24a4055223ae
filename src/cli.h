/* popek's command line: what the user asked for, parsed and checked
 * before anything is created. */
#ifndef POPEK_CLI_H
#define POPEK_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "vm.h"

struct run_options {
	struct boot_config boot;
	uint64_t ram_size;
	int ncpus;
	const char *engine;
	bool stats;
	bool deterministic;
	bool no_seccomp;
	const char *debugcon;   /* --debugcon: a file, or "-" for stderr; NULL: none */
	bool post_codes;        /* --post-codes: print each POST code as it comes */
	bool pc_testdev;        /* --device pc-testdev */
	bool virtio_rng;        /* --device virtio-rng */
	bool virtio_console;    /* --device virtio-console[,path=FILE] */
	const char *virtio_console_path;  /* NULL or "-": popek's standard output */
	const char *virtio_console_socket; /* socket=PATH: a UNIX socket to connect to */
	struct vm_disk disk[VM_MAX_DISKS];  /* --disk FILE[,ro], in order: vda, vdb, ... */
	int ndisks;
	struct vm_net net;      /* --net user[,...] | tap=NAME */
	const char *bios;       /* --bios: a firmware ROM the CPU starts in */
};

/* Parses "256M", "2G", "1048576K", "512" (MiB, as QEMU reads a bare number).
 * -1 on anything else, on zero and on overflow. */
int parse_size(const char *s, uint64_t *out);

/* Parses the options of `popek run` (argv[0] is the command word).
 * Returns 0, 1 when help was asked for, or -1 with a message in err. */
int cli_parse_run(int argc, char **argv, struct run_options *o, char *err, size_t n);

void cli_usage(FILE *f);

#endif
