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
	if (addr < page_up(floor))
		return 0;
	return addr;
}

static int too_big(const char *path, uint64_t size, uint64_t floor, uint64_t top, char *err,
		   size_t n)
{
	return boot_fail(err, n, "initrd '%s': %llu KiB does not fit in guest memory between "
			 "%#llx and %#llx (give the guest more memory)", path,
			 (unsigned long long)((size + 1023) / 1024), (unsigned long long)floor,
			 (unsigned long long)top);
}

/* Opens the file, lets place() choose where it goes, reads it there. */
static int load(const struct guest_mem *m, const char *path, uint64_t floor, uint64_t top,
		int high, struct initrd *rd, char *err, size_t n)
{
	memset(rd, 0, sizeof(*rd));
	if (path == NULL)
		return 0;
	uint64_t low_end = guest_mem_low_end(m);
	if (top > low_end)
		top = low_end;
	int fd;
	uint64_t size;
	if (boot_file_open("initrd", path, m->ram_size, &fd, &size, err, n) < 0)
		return -1;
	uint64_t addr = high ? initrd_place_high(size, floor, top) : page_up(floor);
	void *dst = addr == 0 || addr + size > top ? NULL : gpa_ptr(m, addr, size);
	if (dst == NULL) {
		close(fd);
		return too_big(path, size, floor, top, err, n);
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
		     struct initrd *rd, char *err, size_t n)
{
	return load(m, path, floor, top, 1, rd, err, n);
}

int initrd_load_at_floor(const struct guest_mem *m, const char *path, uint64_t floor,
			 struct initrd *rd, char *err, size_t n)
{
	return load(m, path, floor, guest_mem_low_end(m), 0, rd, err, n);
}
