/* The Linux loaders: a bzImage built here byte by byte (its setup header
 * good and broken in each way the loader must catch), the zero page it
 * gets, an ELF64 vmlinux, and a real Debian kernel when one is around. */
#include <elf.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/boot_file.h"
#include "boot/boot_layout.h"
#include "boot/linux_header.h"
#include "boot/linux_params.h"
#include "boot/linux_vmlinux.h"
#include "check.h"
#include "test_mem.h"
#include "scratch_dir.h"


static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

#define PAYLOAD 8192
#define INIT_SIZE (8 * MiB)
#define PREF 0x1000000ull

/* A bzImage of protocol 2.15 with setup_sects 4 and an 8 KiB payload. */
static size_t make_bzimage(uint8_t *b, uint8_t setup_sects)
{
	unsigned sects = setup_sects ? setup_sects : 4;
	size_t setup = (sects + 1) * 512;
	memset(b, 0, setup + PAYLOAD);
	b[0x1f1] = setup_sects;
	put32(b + 0x1f4, PAYLOAD / 16);
	put16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x26c - 0x202;
	memcpy(b + 0x202, "HdrS", 4);
	put16(b + 0x206, 0x020f);
	b[0x211] = LOADED_HIGH | KEEP_SEGMENTS;
	put32(b + 0x22c, 0x7fffffff);
	put32(b + 0x230, 0x200000);
	b[0x234] = 1;
	put16(b + 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put32(b + 0x238, 255);
	put64(b + 0x258, PREF);
	put32(b + 0x260, INIT_SIZE);
	put64(b + 0x250, 0xdeadbeef000ull);   /* setup_data: only a loader may set it */
	for (size_t i = 0; i < PAYLOAD; i++)
		b[setup + i] = (uint8_t)(i * 7 + 1);
	return setup + PAYLOAD;
}

static int parse(uint8_t *b, size_t len, struct linux_image *img, char *err)
{
	struct boot_file f = { .what = "kernel", .path = "synthetic", .data = b, .size = len };
	err[0] = 0;
	return linux_parse_header(&f, img, err, 256);
}

static void test_header(void)
{
	static uint8_t b[5 * 512 + PAYLOAD];
	struct linux_image img;
	char err[256];
	size_t len = make_bzimage(b, 4);
	CHECK(parse(b, len, &img, err) == 0, "header: good bzImage parses");
	CHECK_EQ(img.setup_size, 5 * 512, "header: setup size from setup_sects");
	CHECK_EQ(img.kernel_size, PAYLOAD, "header: protected-mode size");
	CHECK_EQ(img.load_addr, PREF, "header: relocatable kernel loads at pref_address");
	CHECK_EQ(img.mem_needed, INIT_SIZE, "header: init_size is what it needs");
	CHECK_EQ(img.hdr.version, 0x020f, "header: version read");
	CHECK_EQ(img.hdr_end, 0x26c, "header: ends at 0x202 + byte 0x201");

	make_bzimage(b, 0);
	CHECK(parse(b, len, &img, err) == 0 && img.setup_size == 5 * 512, "header: setup_sects 0 means 4");

	make_bzimage(b, 4);
	b[0x234] = 0;
	CHECK(parse(b, len, &img, err) == 0 && img.load_addr == MiB, "header: non-relocatable loads at 1 MiB");

	make_bzimage(b, 4);
	CHECK(parse(b, len - 1, &img, err) < 0, "header: truncated payload rejected");
	CHECK_STR_CONTAINS(err, "truncated", "header: truncated message");
	CHECK(parse(b, 0x300, &img, err) < 0, "header: truncated setup rejected");
	CHECK_STR_CONTAINS(err, "truncated", "header: truncated setup message");
	CHECK(parse(b, 0x100, &img, err) < 0, "header: file shorter than the header rejected");

	make_bzimage(b, 4);
	memcpy(b + 0x202, "HdrX", 4);
	CHECK(parse(b, len, &img, err) < 0, "header: bad magic rejected");
	CHECK_STR_CONTAINS(err, "HdrS", "header: bad magic message");
	make_bzimage(b, 4);
	put16(b + 0x1fe, 0x1234);
	CHECK(parse(b, len, &img, err) < 0, "header: bad boot flag rejected");

	make_bzimage(b, 4);
	put16(b + 0x206, 0x020a);
	CHECK(parse(b, len, &img, err) < 0, "header: protocol 2.10 rejected");
	CHECK_STR_CONTAINS(err, "2.10 is too old", "header: old protocol message");

	/* an i386 kernel: no 64-bit entry, booted through the 32-bit protocol */
	make_bzimage(b, 4);
	put16(b + 0x236, 0);
	CHECK(parse(b, len, &img, err) == 0 && !(img.hdr.xloadflags & XLF_KERNEL_64),
	      "header: no XLF_KERNEL_64 parses (32-bit protocol)");

	make_bzimage(b, 4);
	b[0x211] = 0;
	CHECK(parse(b, len, &img, err) < 0, "header: zImage rejected");

	make_bzimage(b, 4);
	put32(b + 0x1f4, 0);
	CHECK(parse(b, len, &img, err) < 0, "header: syssize 0 rejected");
	make_bzimage(b, 4);
	b[0x1f1] = 255;
	CHECK(parse(b, len, &img, err) < 0, "header: setup_sects beyond the file rejected");
	make_bzimage(b, 4);
	b[0x201] = 0x10;
	CHECK(parse(b, len, &img, err) < 0, "header: header too short for 2.12 rejected");

	make_bzimage(b, 4);
	parse(b, len, &img, err);
	char line[300];
	memset(line, 'x', 255);
	line[255] = 0;
	CHECK(linux_check_cmdline(&img.hdr, line, err, 256) == 0, "header: cmdline of cmdline_size accepted");
	line[255] = 'x';
	line[256] = 0;
	CHECK(linux_check_cmdline(&img.hdr, line, err, 256) < 0, "header: cmdline too long rejected");
	CHECK_STR_CONTAINS(err, "at most 255", "header: cmdline too long message");
	CHECK(linux_check_cmdline(&img.hdr, NULL, err, 256) == 0, "header: no cmdline accepted");
}

static void check_zero_page(struct guest_mem *m, const uint8_t *image, const char *initrd_data,
			    size_t initrd_len)
{
	struct boot_params *bp = gpa_ptr(m, BOOT_ZERO_PAGE, sizeof(*bp));
	const struct setup_header *h = &bp->hdr;
	CHECK(memcmp(&h->header, "HdrS", 4) == 0 && h->boot_flag == 0xaa55, "bzImage: zero page header magic");
	CHECK(h->setup_sects == image[0x1f1] && h->syssize == PAYLOAD / 16 && h->pref_address == PREF &&
	      h->init_size == INIT_SIZE, "bzImage: setup header copied from the image");
	CHECK_EQ(h->type_of_loader, 0xff, "bzImage: type_of_loader 0xff");
	CHECK((h->loadflags & CAN_USE_HEAP) && !(h->loadflags & KEEP_SEGMENTS) &&
	      (h->loadflags & LOADED_HIGH), "bzImage: loadflags CAN_USE_HEAP, not KEEP_SEGMENTS");
	CHECK_EQ(h->heap_end_ptr, 0xde00, "bzImage: heap_end_ptr");
	CHECK_EQ(h->vid_mode, 0xffff, "bzImage: vid_mode normal");
	CHECK_EQ(h->cmd_line_ptr, BOOT_CMDLINE, "bzImage: cmd_line_ptr");
	CHECK_STR_CONTAINS((char *)gpa_ptr(m, BOOT_CMDLINE, 1), "console=ttyS0 quiet", "bzImage: command line written");
	CHECK_EQ(bp->sentinel, 0, "bzImage: sentinel clear");
	CHECK_EQ(h->setup_data, 0, "bzImage: setup_data from the image not passed on");
	CHECK_EQ(h->ramdisk_size, initrd_len, "bzImage: ramdisk_size");
	CHECK_EQ(h->ramdisk_image & 0xfff, 0, "bzImage: initrd page aligned");
	CHECK(h->ramdisk_image >= PREF + INIT_SIZE, "bzImage: initrd above the kernel's init_size");
	CHECK(guest_mem_low_end(m) - (h->ramdisk_image + h->ramdisk_size) < 0x1000,
	      "bzImage: initrd as high as possible");
	const void *rd = gpa_ptr(m, h->ramdisk_image, initrd_len);
	CHECK(rd && memcmp(rd, initrd_data, initrd_len) == 0, "bzImage: initrd contents");
	CHECK_EQ(bp->e820_entries, 4, "bzImage: four e820 entries");
	CHECK(bp->e820_table[3].addr == MiB && bp->e820_table[3].type == 1, "bzImage: e820 table at 0x2d0");
}

static void check_long_entry(const struct cpu_state *s, uint64_t rip, const char *what)
{
	CHECK_EQ(s->rip, rip, "%s: RIP at the 64-bit entry", what);
	CHECK_EQ(s->gpr[RSI], BOOT_ZERO_PAGE, "%s: RSI is the zero page", what);
	CHECK(s->cr0 & CR0_PG && s->msr.efer & EFER_LMA && s->seg[SEG_CS].l, "%s: long mode", what);
	CHECK(!(s->rflags & RFLAGS_IF), "%s: interrupts off", what);
	CHECK_EQ(s->cr3, BOOT_PML4, "%s: CR3", what);
}

static void test_bzimage_load(void)
{
	static uint8_t b[5 * 512 + PAYLOAD];
	size_t len = make_bzimage(b, 4);
	static const char rd[] = "\x1f\x8b\x08\x00 pretend gzip cpio 070701";
	struct boot_config c = { .kernel = scratch_file("bzImage", b, len),
				 .initrd = scratch_file("initrd.gz", rd, sizeof(rd)),
				 .cmdline = "console=ttyS0 quiet", .ncpus = 2 };
	struct guest_mem m;
	struct cpu_state s;
	char err[256] = "";
	if (!mem_or_skip(&m, 64 * MiB, "guest memory of 64 MiB"))
		return;
	int r = boot_load(&m, &c, &s, err, sizeof(err));
	CHECK(r == 0, "bzImage: loads with an initrd (%s)", err);
	if (r == 0) {
		CHECK(memcmp(gpa_ptr(&m, PREF, PAYLOAD), b + 5 * 512, PAYLOAD) == 0,
		      "bzImage: protected-mode kernel at pref_address");
		check_zero_page(&m, b, rd, sizeof(rd));
		check_long_entry(&s, PREF + 0x200, "bzImage");
	}
	/* the same image without a 64-bit entry: the 32-bit protocol */
	put16(b + 0x236, 0);
	struct boot_config c32 = c;
	c32.kernel = scratch_file("bzImage32", b, len);
	r = boot_load(&m, &c32, &s, err, sizeof(err));
	CHECK(r == 0, "bzImage32: loads (%s)", err);
	if (r == 0) {
		CHECK_EQ(s.rip, PREF, "bzImage32: EIP at the protected-mode kernel's start");
		CHECK_EQ(s.gpr[RSI], BOOT_ZERO_PAGE, "bzImage32: ESI is the zero page");
		CHECK((s.cr0 & CR0_PE) && !(s.cr0 & CR0_PG) && !(s.msr.efer & EFER_LMA) &&
		      s.seg[SEG_CS].db && !s.seg[SEG_CS].l, "bzImage32: 32-bit protected mode, paging off");
		CHECK(s.seg[SEG_CS].selector == 0x10 && s.seg[SEG_DS].selector == 0x18,
		      "bzImage32: __BOOT_CS and __BOOT_DS");
		CHECK(!(s.rflags & RFLAGS_IF), "bzImage32: interrupts off");
	}
	put16(b + 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	guest_mem_free(&m);

	if (!mem_or_skip(&m, 20 * MiB, "guest memory of 20 MiB"))
		return;
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "bzImage: too little memory rejected");
	CHECK_STR_CONTAINS(err, "needs 24 MiB", "bzImage: too little memory message");
	guest_mem_free(&m);

	/* 26 MiB: the kernel fits (16 + 8 MiB), a 3 MiB initrd does not. */
	static uint8_t big[3 * MiB];
	c.initrd = scratch_file("big.initrd", big, sizeof(big));
	if (!mem_or_skip(&m, 26 * MiB, "guest memory of 26 MiB"))
		return;
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "bzImage: initrd that does not fit rejected");
	CHECK_STR_CONTAINS(err, "does not fit", "bzImage: initrd does not fit message");
	c.initrd = NULL;
	char line[300];
	memset(line, 'y', 256);
	line[256] = 0;
	c.cmdline = line;
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "bzImage: cmdline too long rejected by boot_load");
	guest_mem_free(&m);
}

/* A vmlinux-like ELF64: one PT_LOAD of 4 KiB (+ 4 KiB BSS) at 16 MiB, a
 * PT_NOTE with Xen's PHYS32_ENTRY. */
static size_t make_vmlinux(uint8_t *b, size_t cap)
{
	memset(b, 0, cap);
	memcpy(b, ELFMAG, SELFMAG);
	b[EI_CLASS] = ELFCLASS64;
	b[EI_DATA] = ELFDATA2LSB;
	b[EI_VERSION] = EV_CURRENT;
	put16(b + 16, ET_EXEC);
	put16(b + 18, EM_X86_64);
	put64(b + 24, PREF);                 /* e_entry */
	put64(b + 32, 64);                   /* e_phoff */
	put16(b + 54, 56);
	put16(b + 56, 2);
	uint8_t *ph = b + 64;
	put32(ph, PT_LOAD);
	put64(ph + 8, 0x1000);
	put64(ph + 16, 0xffffffff81000000ull);
	put64(ph + 24, PREF);
	put64(ph + 32, 0x1000);
	put64(ph + 40, 0x2000);
	ph += 56;
	put32(ph, PT_NOTE);
	put64(ph + 8, 0x200);
	put64(ph + 32, 20);
	uint8_t *note = b + 0x200;
	put32(note, 4);
	put32(note + 4, 4);
	put32(note + 8, 18);
	memcpy(note + 12, "Xen", 4);
	put32(note + 16, 0x1000100);
	for (int i = 0; i < 0x1000; i++)
		b[0x1000 + i] = (uint8_t)(i ^ 0x5a);
	return 0x2000;
}

static void test_vmlinux(void)
{
	static uint8_t b[0x2000];
	size_t len = make_vmlinux(b, sizeof(b));
	struct boot_config c = { .kernel = scratch_file("vmlinux", b, len), .cmdline = "root=/dev/vda", .ncpus = 1 };
	struct guest_mem m;
	struct cpu_state s;
	char err[256] = "";
	if (!mem_or_skip(&m, 64 * MiB, "guest memory of 64 MiB"))
		return;
	memset(gpa_ptr(&m, PREF + 0x1000, 0x1000), 0xee, 0x1000);
	int r = boot_load(&m, &c, &s, err, sizeof(err));
	CHECK(r == 0, "vmlinux: loads (%s)", err);
	if (r == 0) {
		check_long_entry(&s, PREF, "vmlinux");
		CHECK(memcmp(gpa_ptr(&m, PREF, 0x1000), b + 0x1000, 0x1000) == 0, "vmlinux: segment at p_paddr");
		uint8_t *bss = gpa_ptr(&m, PREF + 0x1000, 0x1000);
		CHECK(bss[0] == 0 && bss[0xfff] == 0, "vmlinux: BSS zeroed");
		struct boot_params *bp = gpa_ptr(&m, BOOT_ZERO_PAGE, sizeof(*bp));
		CHECK(bp->hdr.boot_flag == 0xaa55 && bp->hdr.header == LINUX_HDRS_MAGIC &&
		      bp->hdr.version == 0x20c, "vmlinux: zero page has a header");
		CHECK(bp->hdr.type_of_loader == 0xff && bp->hdr.kernel_alignment == 0x1000000 &&
		      bp->hdr.cmdline_size == 2048 && bp->hdr.cmd_line_ptr == BOOT_CMDLINE,
		      "vmlinux: loader fields");
		CHECK_EQ(bp->e820_entries, 4, "vmlinux: e820");
	}
	struct boot_file f = { .what = "kernel", .path = "vmlinux", .data = b, .size = len };
	uint32_t pvh = 0;
	CHECK(linux_pvh_entry(&f, &pvh) == 1 && pvh == 0x1000100, "vmlinux: PVH entry note found");

	uint8_t bad[0x2000];
	memcpy(bad, b, len);
	put64(bad + 64 + 8, 0x1800);   /* segment runs past the end */
	c.kernel = scratch_file("vmlinux-badseg", bad, len);
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "vmlinux: segment beyond file end rejected");
	CHECK_STR_CONTAINS(err, "beyond the end of the file", "vmlinux: segment beyond file end message");
	memcpy(bad, b, len);
	put64(bad + 32, 0x1ff0);       /* program headers past the end */
	c.kernel = scratch_file("vmlinux-badph", bad, len);
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "vmlinux: phdr beyond file end rejected");
	CHECK_STR_CONTAINS(err, "program headers", "vmlinux: phdr beyond file end message");
	memcpy(bad, b, len);
	put64(bad + 64 + 24, 0x80000000ull);  /* not RAM in a 64 MiB guest */
	put64(bad + 24, 0x80000000ull);
	c.kernel = scratch_file("vmlinux-high", bad, len);
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "vmlinux: segment outside RAM rejected");
	CHECK_STR_CONTAINS(err, "not in guest RAM", "vmlinux: segment outside RAM message");
	memcpy(bad, b, len);
	put64(bad + 24, 0x5000000);
	c.kernel = scratch_file("vmlinux-entry", bad, len);
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "vmlinux: entry outside segments rejected");
	memcpy(bad, b, len);
	put64(bad + 64 + 24, 0x10000);
	put64(bad + 24, 0x10000);
	c.kernel = scratch_file("vmlinux-low", bad, len);
	CHECK(boot_load(&m, &c, &s, err, sizeof(err)) < 0, "vmlinux: segment below 1 MiB rejected");
	guest_mem_free(&m);
}

static const char *first_match(const char *const *patterns, unsigned count)
{
	static char path[512];
	for (unsigned i = 0; i < count; i++) {
		glob_t g;
		int found = glob(patterns[i], 0, NULL, &g) == 0 && g.gl_pathc > 0 &&
			    access(g.gl_pathv[0], R_OK) == 0;
		if (found)
			snprintf(path, sizeof(path), "%s", g.gl_pathv[0]);
		globfree(&g);
		if (found)
			return path;
	}
	return NULL;
}

/* A Debian bzImage (64-bit) from the environment, /boot or cache/, if any:
 * the 64-bit reference guest first, ahead of cache/reference-i386/. */
static const char *find_real_kernel(void)
{
	const char *env = getenv("POPEK_TEST_KERNEL");
	if (env && access(env, R_OK) == 0)
		return env;
	static const char *const patterns[] = { "cache/reference/vmlinuz", "cache/vmlinuz*",
						"cache/*/vmlinuz*", "cache/bzImage*", "cache/*/bzImage*",
						"/boot/vmlinuz*" };
	return first_match(patterns, sizeof(patterns) / sizeof(patterns[0]));
}

/* An uncompressed vmlinux (ELF64) from the environment or cache/. */
static const char *find_real_vmlinux(void)
{
	const char *env = getenv("POPEK_TEST_VMLINUX");
	if (env && access(env, R_OK) == 0)
		return env;
	static const char *const patterns[] = { "cache/reference/vmlinux", "cache/vmlinux*",
						"cache/*/vmlinux*" };
	return first_match(patterns, sizeof(patterns) / sizeof(patterns[0]));
}

static void test_real_vmlinux(void)
{
	const char *k = find_real_vmlinux();
	if (k == NULL) {
		printf("SKIP real vmlinux: none in $POPEK_TEST_VMLINUX or cache/\n");
		return;
	}
	struct boot_config c = { .kernel = k, .cmdline = "console=ttyS0", .ncpus = 1 };
	struct guest_mem m;
	struct cpu_state s;
	char err[256] = "";
	if (!mem_or_skip(&m, 512 * MiB, "guest memory of 512 MiB"))
		return;
	int r = boot_load(&m, &c, &s, err, sizeof(err));
	CHECK(r == 0, "real vmlinux %s: loads (%s)", k, err);
	struct boot_file f;
	if (r == 0 && boot_file_load(&f, "kernel", k, 512 * MiB, err, sizeof(err)) == 0) {
		check_long_entry(&s, boot_le64(f.data + 24), "real vmlinux");
		uint32_t pvh;
		CHECK(linux_pvh_entry(&f, &pvh) == 1 && pvh != 0, "real vmlinux: PVH entry note found");
		boot_file_free(&f);
	}
	guest_mem_free(&m);
}

static void test_real_kernel(void)
{
	const char *k = find_real_kernel();
	if (k == NULL) {
		printf("SKIP real kernel: no vmlinuz in $POPEK_TEST_KERNEL, cache/ or /boot\n");
		return;
	}
	/* The reference initramfs (gzip cpio) when scripts/ made one. */
	static const char rd[] = "\x1f\x8b\x08\x00 pretend initrd";
	const char *initrd = access("cache/reference/initramfs.cpio.gz", R_OK) == 0
				     ? "cache/reference/initramfs.cpio.gz"
				     : scratch_file("real.initrd", rd, sizeof(rd));
	struct boot_config c = { .kernel = k, .initrd = initrd,
				 .cmdline = "console=ttyS0 panic=-1", .ncpus = 2 };
	struct guest_mem m;
	struct cpu_state s;
	char err[256] = "";
	if (!mem_or_skip(&m, 512 * MiB, "guest memory of 512 MiB"))
		return;
	int r = boot_load(&m, &c, &s, err, sizeof(err));
	CHECK(r == 0, "real kernel %s: loads (%s)", k, err);
	if (r == 0) {
		struct boot_params *bp = gpa_ptr(&m, BOOT_ZERO_PAGE, sizeof(*bp));
		CHECK(bp->hdr.version >= 0x20c && (bp->hdr.xloadflags & XLF_KERNEL_64), "real kernel: 64-bit protocol");
		uint64_t load = bp->hdr.relocatable_kernel ? bp->hdr.pref_address : MiB;
		check_long_entry(&s, load + 0x200, "real kernel");
		CHECK(bp->hdr.ramdisk_image >= load + bp->hdr.init_size, "real kernel: initrd above init_size");
		CHECK(bp->hdr.ramdisk_size > 0 && (bp->hdr.ramdisk_image & 0xfff) == 0,
		      "real kernel: initrd %s loaded page aligned", initrd);
	}
	guest_mem_free(&m);
}

int main(void)
{
	if (scratch_make("boot-linux") != 0)
		return 1;
	test_header();
	test_bzimage_load();
	test_vmlinux();
	test_real_kernel();
	test_real_vmlinux();
	scratch_remove();
	return CHECK_DONE();
}
