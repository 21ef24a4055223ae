/* Page-table builders for the three paging modes (Intel SDM vol. 3A
 * chapter 4). Tables come from a static pool of zeroed pages; an existing
 * large page on the way is not split (the call fails instead). */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H
#include <stdint.h>

#define PG_P   0x1ull
#define PG_W   0x2ull
#define PG_U   0x4ull
#define PG_PWT 0x8ull
#define PG_PCD 0x10ull
#define PG_A   0x20ull
#define PG_D   0x40ull
#define PG_PS  0x80ull
#define PG_G   0x100ull
#define PG_XD  (1ull << 63)

#define PAGE_4K 0x1000ull
#define PAGE_2M 0x200000ull
#define PAGE_4M 0x400000ull
#define PAGE_1G 0x40000000ull

/* A zeroed, 4 KiB aligned page from the pool; 0 when it is used up. */
void *pt_alloc(void);
/* IA-32e (4-level, root = PML4) or PAE (root = the 4-entry PDPT): maps
 * SIZE (4K, 2M or, 4-level only, 1G) at VA to PA with FLAGS on the leaf.
 * Returns 0, or -1 when a large page is in the way or the pool is empty. */
int pt_map_4level(uint64_t *pml4, uint64_t va, uint64_t pa, uint64_t size, uint64_t flags);
int pt_map_pae(uint64_t *pdpt, uint32_t va, uint64_t pa, uint64_t size, uint64_t flags);
/* 32-bit paging (root = page directory): SIZE 4K or 4M (needs CR4.PSE). */
int pt_map_32(uint32_t *pd, uint32_t va, uint32_t pa, uint32_t size, uint32_t flags);
/* The leaf entry mapping VA, or 0 (4-level). */
uint64_t *pt_leaf_4level(uint64_t *pml4, uint64_t va);
#endif
