/* Guest-physical memory: host mappings of the guest's RAM, and the
 * guest-physical memory map every loader and engine agrees on. */
#ifndef POPEK_GUEST_MEM_H
#define POPEK_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_MAX_REGIONS 4

/* RAM above this stays below the 32-bit PCI/MMIO hole. */
#define MEM_LOW_LIMIT  0xc0000000ull     /* 3 GiB */
#define MEM_HIGH_START 0x100000000ull    /* 4 GiB */

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
	uint64_t fd_offset;  /* where the region lives in guest_mem.fd */
	bool rom;            /* firmware ROM: reads and fetches only, writes are dropped */
};

struct guest_mem {
	struct mem_region region[MEM_MAX_REGIONS];
	int nregions;
	uint64_t ram_size;   /* total RAM the user asked for */
	/* with has_fd, a memfd holds the RAM (guest_mem_init_fd), so that
	 * another process can map it too */
	bool has_fd;
	int fd;
};

/* 1 when ram_size is at least 1 MiB and no more than the host could back;
 * else 0 with the reason in err. */
int guest_mem_size_ok(uint64_t ram_size, char *err, size_t n);

/* Maps ram_size bytes of guest RAM: below 3 GiB, the rest from 4 GiB up.
 * Refuses zero and sizes beyond what the host has (message in err). */
int guest_mem_init(struct guest_mem *m, uint64_t ram_size, char *err, size_t n);
/* The same, in a memfd whose first fd_base bytes (and whatever the
 * caller adds after the RAM with ftruncate) are not guest RAM: for an
 * engine that runs guest code in another process (raw). */
int guest_mem_init_fd(struct guest_mem *m, uint64_t ram_size, uint64_t fd_base,
		      char *err, size_t n);
void guest_mem_free(struct guest_mem *m);
/* Adds a ROM of size bytes at gpa holding data (--bios): 0, or -1 with a
 * message. gpa_ptr reaches it like RAM; engines must drop writes to it
 * (gpa_is_rom), and e820 reports it reserved. */
int guest_mem_add_rom(struct guest_mem *m, uint64_t gpa, const void *data, uint64_t size,
		      char *err, size_t n);
bool gpa_is_rom(const struct guest_mem *m, uint64_t gpa);

/* Host pointer to len bytes at gpa, or NULL when any of them is not RAM. */
void *gpa_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Where gpa lives in guest_mem.fd (for RAM in a memfd); UINT64_MAX when
 * it is not RAM. */
uint64_t gpa_fd_offset(const struct guest_mem *m, uint64_t gpa);

/* Copies into / out of guest RAM; -1 when the range is not all RAM. */
int gpa_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);
int gpa_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);

/* Backs guest RAM with 4 KiB host pages instead of transparent huge
 * pages: for an engine that reaches RAM through its own TLB, so that RAM
 * the guest never touches costs the host nothing. */
void guest_mem_small_pages(struct guest_mem *m);

/* memset(dst, 0, len) and memcpy(dst, src, len) into guest RAM that leave
 * pages already reading as zero untouched, so the host never backs them. */
void host_zero_fill(uint8_t *dst, size_t len);
void host_copy_sparse(uint8_t *dst, const uint8_t *src, size_t len);

/* Highest guest-physical address + 1 of RAM below the hole. */
uint64_t guest_mem_low_end(const struct guest_mem *m);

#endif
