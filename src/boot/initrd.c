#include "boot/initrd.h"

#include <string.h>
#include <unistd.h>

#include "boot/boot_error.h"
#include "boot/boot_file.h"
#include "boot/boot_layout.h"

static uint64_t page_up(uint64_t a)
{
	return (a + BOOT_PAGE - 1) & ~(BOOT_PAGE - 1);
}

uint64_t initrd_place_high(uint64_t size, uint64_t floor, uint64_t top)
{
	if (size == 0 || size > top)
		return 0;
	uint64_t addr = (top - size) & ~(BOOT_PAGE - 1);
	if (addr < floor || addr < page_up(floor))  /* page_up wraps to 0 near 2^64 */
		return 0;
	return addr;
}

/* Whether size bytes go into [floor, limit) the way the caller asked. */
static int fits(uint64_t size, uint64_t floor, uint64_t limit, int high)
{
	if (high)
		return initrd_place_high(size, floor, limit) != 0;
	uint64_t addr = page_up(floor);
	return addr <= limit && size <= limit - addr;
}

/* Says what keeps the initrd out: the kernel's own limit (top, named
 * top_name), or guest memory, when more of it would help. */
static int no_room(const char *path, uint64_t size, uint64_t floor, uint64_t top,
		   const char *top_name, uint64_t low_end, int high, char *err, size_t n)
{
	unsigned long long kib = (size + 1023) / 1024;
	if (top_name != NULL && top <= floor)
		return boot_fail(err, n, "initrd '%s': the kernel's %s is %#llx, below its own end at "
				 "%#llx: this kernel cannot take an initrd", path, top_name,
				 (unsigned long long)(top - 1), (unsigned long long)floor);
	uint64_t most = top < MEM_LOW_LIMIT ? top : MEM_LOW_LIMIT;
	if (fits(size, floor, most, high))
		return boot_fail(err, n, "initrd '%s': %llu KiB does not fit in guest memory between "
				 "%#llx and %#llx (give the guest more memory)", path, kib,
				 (unsigned long long)floor,
				 (unsigned long long)(low_end < top ? low_end : top));
	if (top_name != NULL && top <= MEM_LOW_LIMIT)
		return boot_fail(err, n, "initrd '%s': %llu KiB does not fit between the kernel's end "
				 "at %#llx and its %s %#llx: this kernel cannot take an initrd that "
				 "large", path, kib, (unsigned long long)floor, top_name,
				 (unsigned long long)(top - 1));
	return boot_fail(err, n, "initrd '%s': %llu KiB does not fit between %#llx and %#llx (3 GiB), "
			 "where RAM below the PCI hole ends at any memory size", path, kib,
			 (unsigned long long)floor, MEM_LOW_LIMIT);
}

/* Opens the file, lets place() choose where it goes, reads it there. */
static int load(const struct guest_mem *m, const char *path, uint64_t floor, uint64_t top,
		const char *top_name, int high, struct initrd *rd, char *err, size_t n)
{
	memset(rd, 0, sizeof(*rd));
	if (path == NULL)
		return 0;
	uint64_t low_end = guest_mem_low_end(m);
	uint64_t limit = top < low_end ? top : low_end;
	int fd;
	uint64_t size;
	if (boot_file_open("initrd", path, m->ram_size, &fd, &size, err, n) < 0)
		return -1;
	uint64_t addr = high ? initrd_place_high(size, floor, limit) : page_up(floor);
	void *dst = addr == 0 || !fits(size, floor, limit, high) ? NULL : gpa_ptr(m, addr, size);
	if (dst == NULL) {
		close(fd);
		return no_room(path, size, floor, top, top_name, low_end, high, err, n);
	}
	int r = boot_file_read_fd("initrd", path, fd, dst, size, err, n);
	close(fd);
	if (r < 0)
		return -1;
	rd->addr = addr;
	rd->size = size;
	return 0;
}

int initrd_load_high(const struct guest_mem *m, const char *path, uint64_t floor, uint64_t top,
		     const char *top_name, struct initrd *rd, char *err, size_t n)
{
	return load(m, path, floor, top, top_name, 1, rd, err, n);
}

int initrd_load_at_floor(const struct guest_mem *m, const char *path, uint64_t floor,
			 struct initrd *rd, char *err, size_t n)
{
	return load(m, path, floor, UINT64_MAX, NULL, 0, rd, err, n);
}
