/* The loaders boot_load chooses between; each loads its kind of image
 * from a file already read, writes its boot structures and fills the
 * entry state. 0, or -1 with one line in err. */
#ifndef POPEK_LOADERS_H
#define POPEK_LOADERS_H

#include <stddef.h>

#include "boot/boot.h"
#include "boot/boot_file.h"

/* The vCPU count the platform tables describe (0 in the config means 1). */
static inline int boot_ncpus(const struct boot_config *c)
{
	return c->ncpus > 0 ? c->ncpus : 1;
}

int load_flat(struct guest_mem *m, const struct boot_config *c, const struct boot_file *f,
	      struct cpu_state *bsp, char *err, size_t n);
int load_multiboot(struct guest_mem *m, const struct boot_config *c, const struct boot_file *f,
		   struct cpu_state *bsp, char *err, size_t n);
int load_bzimage(struct guest_mem *m, const struct boot_config *c, const struct boot_file *f,
		 struct cpu_state *bsp, char *err, size_t n);
int load_vmlinux(struct guest_mem *m, const struct boot_config *c, const struct boot_file *f,
		 struct cpu_state *bsp, char *err, size_t n);

#endif
