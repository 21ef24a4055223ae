/* Flat binaries (--load ADDR) in real and 32-bit mode, and the one-line
 * errors boot_load gives for files that are missing, empty, a directory
 * or not a kernel at all. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/boot_layout.h"
#include "boot/mptable.h"
#include "check.h"
#include "scratch_dir.h"

static struct guest_mem m;
static struct cpu_state s;
static char err[256];

static int flat(const char *path, uint64_t addr, enum flat_mode mode)
{
	struct boot_config c = { .kernel = path, .ncpus = 1, .flat = 1, .load_addr = addr,
				 .flat_mode = mode };
	err[0] = 0;
	return boot_load(&m, &c, &s, err, sizeof(err));
}

static void check_real(const char *bin, uint64_t addr, uint16_t cs, uint16_t ip)
{
	CHECK(flat(bin, addr, FLAT_REAL) == 0, "real %#llx: loads (%s)", (unsigned long long)addr, err);
	CHECK(s.seg[SEG_CS].selector == cs && s.seg[SEG_CS].base == (uint64_t)cs << 4 && s.rip == ip,
	      "real %#llx: CS:IP %04x:%04x", (unsigned long long)addr, cs, ip);
	CHECK_EQ(s.seg[SEG_CS].base + s.rip, addr, "real %#llx: CS:IP reaches the load address",
		 (unsigned long long)addr);
	CHECK(s.seg[SEG_DS].selector == 0 && s.seg[SEG_SS].selector == 0 && s.seg[SEG_ES].base == 0 &&
	      s.seg[SEG_SS].limit == 0xffff, "real %#llx: other segments 0", (unsigned long long)addr);
	CHECK(s.cr0 == CR0_ET && s.rflags == 2 && s.gpr[RSP] == BOOT_REAL_SP,
	      "real %#llx: CR0 ET, FLAGS 2, SP", (unsigned long long)addr);
	CHECK(memcmp(gpa_ptr(&m, addr, 5), "\xf4\xeb\xfd\x90\xcc", 5) == 0,
	      "real %#llx: binary in memory", (unsigned long long)addr);
}

static void test_flat(void)
{
	const char *bin = scratch_file("flat.bin", "\xf4\xeb\xfd\x90\xcc", 5);
	check_real(bin, 0x7c00, 0, 0x7c00);
	check_real(bin, 0x10000, 0x1000, 0);
	check_real(bin, 0x12345, 0x1234, 5);
	CHECK(flat(bin, 0xffffe, FLAT_REAL) < 0, "real: binary past 1 MiB rejected");
	CHECK_STR_CONTAINS(err, "below 1 MiB", "real: past 1 MiB message");

	CHECK(flat(bin, 0x100000, FLAT_PROT32) == 0, "prot32: loads (%s)", err);
	CHECK(s.rip == 0x100000 && s.cr0 == (CR0_PE | CR0_ET) && s.seg[SEG_CS].selector == 8 &&
	      s.seg[SEG_CS].db == 1 && s.seg[SEG_DS].selector == 0x10, "prot32: flat 32-bit entry");
	int zero = 1;
	for (int i = 0; i < GPR_COUNT; i++)
		zero &= s.gpr[i] == 0;
	CHECK(zero, "prot32: registers zero");
	CHECK(flat(bin, 0x500, FLAT_PROT32) == 0 &&
	      memcmp(gpa_ptr(&m, 0x500, 5), "\xf4\xeb\xfd\x90\xcc", 5) == 0,
	      "prot32: a binary over the boot GDT wins");
	CHECK(flat(bin, 32 * MiB - 2, FLAT_PROT32) < 0, "prot32: binary past RAM rejected");
	CHECK(flat(bin, 0xfffffffeull, FLAT_PROT32) < 0, "prot32: binary past 4 GiB rejected");
	struct boot_config c = { .kernel = bin, .initrd = bin, .ncpus = 1, .flat = 1,
				 .load_addr = 0x7c00, .flat_mode = FLAT_REAL };
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "flat: an initrd is refused");
	CHECK(flat(bin, 0x7c00, (enum flat_mode)7) < 0, "flat: unknown mode refused");

	/* The platform tables come with every loader. */
	CHECK(flat(bin, 0x7c00, FLAT_REAL) == 0 && memcmp(gpa_ptr(&m, BOOT_EBDA, 4), "_MP_", 4) == 0,
	      "flat: MP table written too");
}

static void test_file_errors(void)
{
	struct boot_config c = { .kernel = "/nonexistent/popek-kernel", .ncpus = 1 };
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "file: missing kernel rejected");
	CHECK(strstr(err, "kernel '/nonexistent/popek-kernel'") && strstr(err, "No such file"),
	      "file: missing kernel message (%s)", err);
	CHECK(strchr(err, '\n') == NULL, "file: message is one line");

	c.kernel = scratch_dir;
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "file: directory rejected");
	CHECK_STR_CONTAINS(err, "is a directory", "file: directory message");

	c.kernel = scratch_file("empty", "", 0);
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "file: empty kernel rejected");
	CHECK_STR_CONTAINS(err, "is empty", "file: empty message");

	static char junk[10000];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 13 + 7);
	c.kernel = scratch_file("junk", junk, sizeof(junk));
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "file: garbage rejected");
	CHECK_STR_CONTAINS(err, "not a kernel popek knows (no multiboot header, no Linux setup header, "
			   "not an ELF64)", "file: garbage message");

	c.kernel = scratch_file("tiny", "\x7f" "ELF", 4);
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "file: 4-byte ELF stub rejected");

	if (geteuid() != 0) {
		const char *p = scratch_file("noread", "x", 1);
		chmod(p, 0);
		c.kernel = p;
		CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "file: unreadable kernel rejected");
		CHECK_STR_CONTAINS(err, "Permission denied", "file: unreadable message");
	} else {
		printf("SKIP file: unreadable kernel: root reads everything\n");
	}

	c.kernel = "/dev/null";
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "file: device rejected");
	CHECK_STR_CONTAINS(err, "not a regular file", "file: device message");

	struct guest_mem small;
	char e[256];
	if (guest_mem_init(&small, 1 * MiB, e, sizeof(e)) == 0) {
		static char big[2 * 1024 * 1024];
		c.kernel = scratch_file("big", big, sizeof(big));
		CHECK(boot_load(&small, &c, &s, err, sizeof(err)) < 0, "file: kernel larger than RAM rejected");
		CHECK_STR_CONTAINS(err, "more than guest memory", "file: larger than RAM message");
		guest_mem_free(&small);
	}

	struct boot_config none = { .kernel = NULL };
	CHECK(boot_load(&m, &none, &s, err, sizeof(err)) < 0, "file: no kernel rejected");
}

int main(void)
{
	if (scratch_make("boot-flat") != 0)
		return 1;
	char e[256];
	if (guest_mem_init(&m, 32 * MiB, e, sizeof(e)) != 0) {
		printf("SKIP flat: %s\n", e);
		return 0;
	}
	test_flat();
	test_file_errors();
	guest_mem_free(&m);
	scratch_remove();
	return CHECK_DONE();
}
