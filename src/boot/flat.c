/* A flat binary (--load ADDR): the file's bytes at ADDR, entered there in
 * real mode or in 32-bit flat protected mode. */
#include "boot/boot_error.h"
#include "boot/boot_layout.h"
#include "boot/entry_state.h"
#include "boot/loaders.h"

/* Real mode reaches the first MiB only (no A20 tricks). */
#define REAL_MODE_END 0x100000ull

int load_flat(struct guest_mem *m, const struct boot_config *c, const struct boot_file *f,
	      struct cpu_state *bsp, char *err, size_t n)
{
	uint64_t addr = c->load_addr;
	if (c->flat_mode != FLAT_REAL && c->flat_mode != FLAT_PROT32)
		return boot_fail(err, n, "flat binary: unknown mode %d", (int)c->flat_mode);
	if (c->initrd != NULL)
		return boot_fail(err, n, "initrd '%s': a flat binary takes no initrd", c->initrd);
	if (c->flat_mode == FLAT_REAL && (addr >= REAL_MODE_END || f->size > REAL_MODE_END - addr))
		return boot_fail(err, n, "kernel '%s': %llu bytes at %#llx do not fit below 1 MiB, "
				 "which is all real mode reaches", f->path,
				 (unsigned long long)f->size, (unsigned long long)addr);
	if (c->flat_mode == FLAT_PROT32 && (addr > 0xffffffffull || f->size > 0x100000000ull - addr))
		return boot_fail(err, n, "kernel '%s': %llu bytes at %#llx reach above 4 GiB",
				 f->path, (unsigned long long)f->size, (unsigned long long)addr);
	/* The state first: its GDT must not overwrite a binary loaded over it. */
	if (c->flat_mode == FLAT_REAL)
		entry_real(bsp, addr);
	else if (entry_prot32(m, bsp, (uint32_t)addr, err, n) < 0)
		return -1;
	if (gpa_write(m, addr, f->data, f->size) < 0)
		return boot_fail(err, n, "kernel '%s': [%#llx, %#llx) is not all guest RAM",
				 f->path, (unsigned long long)addr, (unsigned long long)(addr + f->size));
	return 0;
}
