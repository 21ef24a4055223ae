#include "paging.h"
#include "guest.h"

#define POOL_PAGES 64
static uint8_t pool[POOL_PAGES][4096] __attribute__((aligned(4096)));
static unsigned pool_used;

void *pt_alloc(void)
{
	if (pool_used == POOL_PAGES)
		return 0;
	void *p = pool[pool_used++];
	memset(p, 0, 4096);
	return p;
}

/* The table one level down from ENTRY, made when missing. TABLE_FLAGS are
 * those of a non-leaf entry (PAE PDPTEs allow only P). */
static uint64_t *next_table(uint64_t *entry, uint64_t table_flags)
{
	if (!(*entry & PG_P)) {
		void *t = pt_alloc();
		if (!t)
			return 0;
		*entry = (uint32_t)(uintptr_t)t | table_flags;
	} else if (*entry & PG_PS) {
		return 0;
	}
	return (uint64_t *)(uintptr_t)(uint32_t)(*entry & 0xfffff000u);
}

/* Walks from a table at LEVEL (4 = PML4 ... 1 = PT) down to the level whose
 * entries map SIZE, and writes the leaf. */
static int map_from(uint64_t *table, int level, uint64_t va, uint64_t pa, uint64_t size, uint64_t flags,
		    int pae_root)
{
	int leaf_level = size == PAGE_1G ? 3 : size == PAGE_2M ? 2 : 1;
	for (;;) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t *entry = &table[(va >> shift) & 511];
		if (level == leaf_level) {
			*entry = pa | flags | (level > 1 ? PG_PS : 0);
			return 0;
		}
		table = next_table(entry, pae_root && level == 3 ? PG_P : PG_P | PG_W | PG_U);
		if (!table)
			return -1;
		level--;
	}
}

int pt_map_4level(uint64_t *pml4, uint64_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	return map_from(pml4, 4, va, pa, size, flags, 0);
}

int pt_map_pae(uint64_t *pdpt, uint32_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	if (size == PAGE_1G)
		return -1;	/* PAE paging has no 1 GiB pages */
	/* The PDPT's four entries are indexed by VA bits 31:30, like level 3. */
	return map_from(pdpt, 3, va, pa, size, flags, 1);
}

int pt_map_32(uint32_t *pd, uint32_t va, uint32_t pa, uint32_t size, uint32_t flags)
{
	uint32_t *pde = &pd[va >> 22];
	if (size == PAGE_4M) {
		*pde = pa | flags | (uint32_t)PG_PS;
		return 0;
	}
	if (!(*pde & PG_P)) {
		void *t = pt_alloc();
		if (!t)
			return -1;
		*pde = (uint32_t)(uintptr_t)t | (uint32_t)(PG_P | PG_W | PG_U);
	} else if (*pde & PG_PS) {
		return -1;
	}
	uint32_t *pt = (uint32_t *)(uintptr_t)(*pde & 0xfffff000u);
	pt[(va >> 12) & 1023] = pa | flags;
	return 0;
}

uint64_t *pt_leaf_4level(uint64_t *pml4, uint64_t va)
{
	uint64_t *table = pml4;
	for (int level = 4; level >= 1; level--) {
		uint64_t *entry = &table[(va >> (12 + 9 * (level - 1))) & 511];
		if (level == 1 || (*entry & PG_PS) || !(*entry & PG_P))
			return (*entry & PG_P) ? entry : 0;
		table = (uint64_t *)(uintptr_t)(uint32_t)(*entry & 0xfffff000u);
	}
	return 0;
}
