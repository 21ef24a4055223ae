/* popek's own seccomp filter for the run (vmm_filter.c). */
#ifndef POPEK_VMM_FILTER_H
#define POPEK_VMM_FILTER_H

#include <stdbool.h>
#include <stddef.h>

/* Confines every thread of the process to the run's system calls (with
 * sockets: also those user-mode networking makes); 0, or -1 with a
 * message in err. Irreversible. */
int vmm_filter_install(bool sockets, char *err, size_t n);
/* The filter's length in BPF instructions (for tests). */
unsigned vmm_filter_length(bool sockets);

#endif
