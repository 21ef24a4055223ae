/* Guest RAM is anonymous, lazily backed host memory: a 2 GiB guest costs
 * the host only the pages the guest touches. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "mem/guest_mem.h"

/* Popek refuses RAM the host could never back: more than its RAM and swap.
 * The guest would otherwise be killed by the OOM killer mid-run. */
static uint64_t host_memory_limit(void)
{
	struct sysinfo si;
	if (sysinfo(&si) != 0)
		return UINT64_MAX;
	return ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
}

static int map_region(struct guest_mem *m, uint64_t gpa, uint64_t size, uint64_t off,
		      char *err, size_t n)
{
	void *p = !m->has_fd ? mmap(NULL, size, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
			    : mmap(NULL, size, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_NORESERVE, m->fd, (off_t)off);
	if (p == MAP_FAILED) {
		snprintf(err, n, "cannot map %llu MiB of guest memory: %s",
			 (unsigned long long)(size >> 20), strerror(errno));
		return -1;
	}
	/* Transparent huge pages cut the TLB cost of a large guest. */
	madvise(p, size, MADV_HUGEPAGE);
	struct mem_region *r = &m->region[m->nregions++];
	r->gpa = gpa;
	r->size = size;
	r->host = p;
	r->fd_offset = off;
	return 0;
}

int guest_mem_size_ok(uint64_t ram_size, char *err, size_t n)
{
	if (ram_size < (1ull << 20)) {
		snprintf(err, n, "memory size must be at least 1 MiB (got %llu bytes)",
			 (unsigned long long)ram_size);
		return 0;
	}
	uint64_t limit = host_memory_limit();
	if (ram_size > limit) {
		snprintf(err, n, "memory size %llu MiB is more than this host has (%llu MiB)",
			 (unsigned long long)(ram_size >> 20), (unsigned long long)(limit >> 20));
		return 0;
	}
	return 1;
}

static int map_all(struct guest_mem *m, uint64_t ram_size, uint64_t base, char *err, size_t n)
{
	m->ram_size = ram_size;
	uint64_t low = ram_size < MEM_LOW_LIMIT ? ram_size : MEM_LOW_LIMIT;
	if (map_region(m, 0, low, base, err, n) != 0) {
		guest_mem_free(m);
		return -1;
	}
	if (ram_size > low && map_region(m, MEM_HIGH_START, ram_size - low, base + low, err, n) != 0) {
		guest_mem_free(m);
		return -1;
	}
	return 0;
}

int guest_mem_init(struct guest_mem *m, uint64_t ram_size, char *err, size_t n)
{
	memset(m, 0, sizeof(*m));
	if (!guest_mem_size_ok(ram_size, err, n))
		return -1;
	return map_all(m, ram_size, 0, err, n);
}

int guest_mem_init_fd(struct guest_mem *m, uint64_t ram_size, uint64_t fd_base,
		      char *err, size_t n)
{
	memset(m, 0, sizeof(*m));
	if (!guest_mem_size_ok(ram_size, err, n))
		return -1;
	/* a memfd's pages are shmem: unbacked until touched, like anonymous memory */
	m->fd = memfd_create("popek-guest-ram", MFD_CLOEXEC);
	m->has_fd = m->fd >= 0;
	if (!m->has_fd || ftruncate(m->fd, (off_t)(fd_base + ram_size)) != 0) {
		snprintf(err, n, "cannot create %llu MiB of shared guest memory: %s",
			 (unsigned long long)(ram_size >> 20), strerror(errno));
		guest_mem_free(m);
		return -1;
	}
	return map_all(m, ram_size, fd_base, err, n);
}

int guest_mem_add_rom(struct guest_mem *m, uint64_t gpa, const void *data, uint64_t size,
		      char *err, size_t n)
{
	if (m->nregions == MEM_MAX_REGIONS) {
		snprintf(err, n, "no room for the ROM in the memory map");
		return -1;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(err, n, "cannot map the %llu KiB ROM: %s", (unsigned long long)(size >> 10),
			 strerror(errno));
		return -1;
	}
	memcpy(p, data, size);
	struct mem_region *r = &m->region[m->nregions++];
	*r = (struct mem_region){ .gpa = gpa, .size = size, .host = p, .fd_offset = UINT64_MAX,
				  .rom = true };
	return 0;
}

void guest_mem_free(struct guest_mem *m)
{
	for (int i = 0; i < m->nregions; i++)
		munmap(m->region[i].host, m->region[i].size);
	m->nregions = 0;
	if (m->has_fd)
		close(m->fd);
	m->has_fd = false;
}

static const struct mem_region *region_of(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < m->nregions; i++) {
		const struct mem_region *r = &m->region[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

bool gpa_is_rom(const struct guest_mem *m, uint64_t gpa)
{
	const struct mem_region *r = region_of(m, gpa, 1);
	return r && r->rom;
}

void *gpa_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const struct mem_region *r = region_of(m, gpa, len);
	return r ? r->host + (gpa - r->gpa) : NULL;
}

uint64_t gpa_fd_offset(const struct guest_mem *m, uint64_t gpa)
{
	const struct mem_region *r = region_of(m, gpa, 1);
	return r ? r->fd_offset + (gpa - r->gpa) : UINT64_MAX;
}

int gpa_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gpa_ptr(m, gpa, len);
	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

int gpa_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = gpa_ptr(m, gpa, len);
	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *m)
{
	return m->nregions ? m->region[0].gpa + m->region[0].size : 0;
}

void guest_mem_small_pages(struct guest_mem *m)
{
	for (int k = 0; k < m->nregions; k++)
		madvise(m->region[k].host, m->region[k].size, MADV_NOHUGEPAGE);
}

/* Guest RAM the guest never wrote is anonymous memory the host has not
 * backed yet: it reads as zero, and reading it costs no memory. Writing
 * zeros there would back it for nothing, so these two skip whole pages
 * that already read as zero. Reading (rather than asking mincore()) stays
 * right for pages the host has swapped out. */
static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	for (int k = 0; k < 4096 / 8; k += 4)
		if (w[k] | w[k + 1] | w[k + 2] | w[k + 3])
			return false;
	return true;
}

void host_zero_fill(uint8_t *dst, size_t len)
{
	while (len) {
		size_t chunk = 4096 - ((uintptr_t)dst & 4095);
		if (chunk > len)
			chunk = len;
		if (chunk < 4096 || !page_is_zero(dst))
			memset(dst, 0, chunk);
		dst += chunk;
		len -= chunk;
	}
}

void host_copy_sparse(uint8_t *dst, const uint8_t *src, size_t len)
{
	while (len) {
		size_t chunk = 4096 - ((uintptr_t)dst & 4095);
		if (chunk > len)
			chunk = len;
		/* src need not be aligned: looked at bytewise */
		bool zero = chunk == 4096;
		for (size_t k = 0; zero && k < chunk; k++)
			zero = src[k] == 0;
		if (!zero || !page_is_zero(dst))
			memcpy(dst, src, chunk);
		dst += chunk;
		src += chunk;
		len -= chunk;
	}
}
