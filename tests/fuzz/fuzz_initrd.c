/* libFuzzer target: initrd placement (initrd.c). The input is a record:
 *   u8  which: bit 0 the guest (2 MiB or 24 MiB of RAM), bit 1 load at the
 *       floor (multiboot's module) instead of high (Linux's initrd), bit 2 a
 *       small file (< 8 KiB) instead of one of up to 28 MiB
 *   u64 floor, u64 top, u32 size
 * initrd_place_high gets the raw numbers; the loaders get a file of that
 * size (a memfd, reached by its /proc path). Whatever is placed must lie
 * page aligned at or above the floor and end at or below the top and the
 * end of low RAM. */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

#include "boot/boot_layout.h"
#include "boot/initrd.h"

static struct guest_mem small_mem, big_mem;
static int fd = -1;
static char path[64];

static void setup(void)
{
	char err[256];
	if (guest_mem_init(&small_mem, 2 * MiB, err, sizeof(err)) != 0 ||
	    guest_mem_init(&big_mem, 24 * MiB, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz: guest memory: %s\n", err);
		exit(1);
	}
	fd = memfd_create("fuzz-initrd", MFD_CLOEXEC);
	if (fd < 0) {
		perror("fuzz: memfd_create");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
}

static void check_placed(uint64_t addr, uint64_t size, uint64_t floor, uint64_t top)
{
	FUZZ_CHECK(addr % BOOT_PAGE == 0);
	FUZZ_CHECK(addr >= floor);
	FUZZ_CHECK(size <= top && addr <= top - size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fd < 0)
		setup();
	struct fuzz_in in = { data, size };
	uint8_t which = fuzz_u8(&in);
	uint64_t floor = fuzz_uint(&in, 8), top = fuzz_uint(&in, 8);
	uint64_t len = fuzz_uint(&in, 4);

	uint64_t addr = initrd_place_high(len, floor, top);
	if (addr != 0)
		check_placed(addr, len, floor, top);

	struct guest_mem *m = which & 1 ? &big_mem : &small_mem;
	len = which & 4 ? len % 8192 : len % (28 * MiB);
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)len) < 0)
		abort();
	struct initrd rd;
	char err[256];
	err[0] = 0;
	int r = which & 2 ? initrd_load_at_floor(m, path, floor, &rd, err, sizeof(err))
			  : initrd_load_high(m, path, floor, top, "initrd_addr_max", &rd, err, sizeof(err));
	if (r < 0) {
		fuzz_check_message(err);
		return 0;
	}
	uint64_t low_end = guest_mem_low_end(m);
	FUZZ_CHECK(rd.size == len);
	check_placed(rd.addr, rd.size, floor, which & 2 ? low_end : top);
	FUZZ_CHECK(rd.addr + rd.size <= low_end);
	FUZZ_CHECK(gpa_ptr(m, rd.addr, rd.size) != NULL);
	if (which & 2)
		FUZZ_CHECK(rd.addr - floor < BOOT_PAGE);
	return 0;
}
