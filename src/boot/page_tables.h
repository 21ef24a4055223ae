/* Identity-mapped page tables for entering a guest in long mode. */
#ifndef POPEK_PAGE_TABLES_H
#define POPEK_PAGE_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "mem/guest_mem.h"

#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)

/* Writes PML4 at BOOT_PML4, one PDPT, and BOOT_IDENTITY_GIB page
 * directories of 2 MiB pages mapping virtual = physical; returns the CR3
 * value, or 0 when guest memory does not cover the tables. 2 MiB pages,
 * not 1 GiB ones, because not every CPU (nor every engine) has 1 GiB pages. */
uint64_t page_tables_identity(const struct guest_mem *m);

#endif
