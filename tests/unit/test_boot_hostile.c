/* Hostile input: every kind of image popek knows, with bytes of its
 * headers and tables overwritten at random (a fixed seed, so a failure
 * repeats). boot_load must answer each with success or one line of
 * error, never a crash (the sanitizers watch every access). Then each
 * bzImage setup-header field popek reads, one hostile value at a time,
 * with the exact outcome: what loads where, or the message naming the
 * field and what is wrong with it. */
#include <elf.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/boot_layout.h"
#include "boot/initrd.h"
#include "boot/linux_header.h"
#include "boot/linux_params.h"
#include "boot/multiboot_header.h"
#include "check.h"
#include "scratch_dir.h"

#define IMAGE 0x3000
#define ROUNDS 600

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void bzimage(uint8_t *b)
{
	b[0x1f1] = 4;
	put32(b + 0x1f4, (IMAGE - 5 * 512) / 16);
	put16(b + 0x1fe, 0xaa55);
	b[0x201] = 0x6a;
	memcpy(b + 0x202, "HdrS", 4);
	put16(b + 0x206, 0x020f);
	b[0x211] = 1;
	put32(b + 0x22c, 0x7fffffff);
	put32(b + 0x230, 0x200000);
	b[0x234] = 1;
	put16(b + 0x236, 1);
	put32(b + 0x238, 2047);
	put64(b + 0x258, 0x1000000);
	put32(b + 0x260, 0x100000);
}

static void elf_ident(uint8_t *b, int cls, int machine)
{
	memcpy(b, ELFMAG, SELFMAG);
	b[EI_CLASS] = (uint8_t)cls;
	b[EI_DATA] = ELFDATA2LSB;
	put16(b + 18, (uint16_t)machine);
}

static void vmlinux(uint8_t *b)
{
	elf_ident(b, ELFCLASS64, EM_X86_64);
	put64(b + 24, 0x1000000);
	put64(b + 32, 64);
	put16(b + 54, 56);
	put16(b + 56, 2);
	put32(b + 64, PT_LOAD);
	put64(b + 72, 0x1000);
	put64(b + 88, 0x1000000);
	put64(b + 96, 0x1000);
	put64(b + 104, 0x2000);
	put32(b + 120, PT_NOTE);
	put64(b + 128, 0x400);
	put64(b + 152, 0x40);
}

static void mb_header(uint8_t *p, uint32_t flags)
{
	put32(p, MB_HEADER_MAGIC);
	put32(p + 4, flags);
	put32(p + 8, 0 - MB_HEADER_MAGIC - flags);
}

static void mb_elf(uint8_t *b)
{
	elf_ident(b, ELFCLASS32, EM_386);
	put32(b + 24, 0x100000);
	put32(b + 28, 52);
	put16(b + 42, 32);
	put16(b + 44, 1);
	put32(b + 52, PT_LOAD);
	put32(b + 56, 0x1000);
	put32(b + 64, 0x100000);
	put32(b + 68, 0x1000);
	put32(b + 72, 0x3000);
	mb_header(b + 0x1000, 3);
}

static void mb_aout(uint8_t *b)
{
	mb_header(b + 0x20, 0x10003);
	put32(b + 0x2c, 0x100020);
	put32(b + 0x30, 0x100000);
	put32(b + 0x34, 0x100000 + IMAGE);
	put32(b + 0x38, 0x100000 + IMAGE + 0x1000);
	put32(b + 0x3c, 0x100040);
}

/* Overwrites a few bytes where the parsers look, keeping the magic
 * numbers most of the time so the deeper checks get exercised. */
static void mutate(uint8_t *b, int kind, size_t *len)
{
	static const unsigned hot[][2] = { { 0x1f0, 0x270 }, { 0, 0xa0 }, { 0x1000, 0x1010 },
					   { 0x20, 0x40 } };
	int edits = 1 + (int)(next() % 4);
	for (int i = 0; i < edits; i++) {
		unsigned lo = hot[kind][0], hi = hot[kind][1];
		unsigned at = lo + next() % (hi - lo);
		int width = 1 << (next() % 4);
		uint64_t v = next() % 3 == 0 ? 0xffffffffffffffffull : ((uint64_t)next() << 32 | next());
		if (next() % 4 == 0)
			v &= 0xffff;
		for (int k = 0; k < width && at + k < IMAGE; k++)
			b[at + k] = (uint8_t)(v >> (8 * k));
	}
	if (kind == 3)          /* keep the multiboot checksum right half the time */
		if (next() % 2)
			mb_header(b + 0x20, (uint32_t)b[0x24] | (uint32_t)b[0x26] << 16);
	if (next() % 5 == 0)
		*len = 1 + next() % IMAGE;
}

/* ---- The setup header, field by field ----
 * bzimage() above is the good image: protocol 2.15, setup_sects 4, a
 * 9728-byte protected-mode kernel (syssize 0x260) that is relocatable
 * with kernel_alignment 2 MiB, pref_address 16 MiB, init_size 1 MiB,
 * cmdline_size 2047, initrd_addr_max 0x7fffffff. */
#define SETUP (5 * 512)
#define KSIZE (IMAGE - SETUP)
#define PREF 0x1000000ull

static char kernel_path[128], initrd_path[128];

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

/* The image b (len bytes) through linux_parse_header. */
static int parse(const uint8_t *b, size_t len, struct linux_image *img, char *err)
{
	struct boot_file f = { .what = "kernel", .path = kernel_path, .data = (uint8_t *)b,
			       .size = len };
	err[0] = 0;
	return linux_parse_header(&f, img, err, 512);
}

/* The image b through boot_load into m, with an initrd of rd_len bytes
 * when rd_len is not 0. */
static int boot(struct guest_mem *m, const uint8_t *b, size_t len, size_t rd_len,
		const char *cmdline, struct cpu_state *s, char *err)
{
	static uint8_t rd[64 * 1024];
	write_file(kernel_path, b, len);
	memset(rd, 0x5a, sizeof(rd));
	if (rd_len)
		write_file(initrd_path, rd, rd_len);
	struct boot_config c = { .kernel = kernel_path, .initrd = rd_len ? initrd_path : NULL,
				 .cmdline = cmdline, .ncpus = 1 };
	err[0] = 0;
	return boot_load(m, &c, s, err, 512);
}

/* r must be a refusal (what ends popek with status 2) with exactly the
 * message want. */
static void refused(const char *name, int r, const char *err, const char *want)
{
	CHECK(r < 0, "%s: refused", name);
	if (strcmp(err, want) == 0)
		CHECK(1, "%s: message", name);
	else
		CHECK(0, "%s: message is \"%s\", want \"%s\"", name, err, want);
}

/* The kernel's message prefix and the rest. */
static const char *kmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *kmsg(const char *fmt, ...)
{
	static char out[512];
	int k = snprintf(out, sizeof(out), "kernel '%s': ", kernel_path);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out + k, sizeof(out) - (size_t)k, fmt, ap);
	va_end(ap);
	return out;
}

static uint8_t img_b[IMAGE];

static uint8_t *fresh(void)
{
	memset(img_b, 0, sizeof(img_b));
	bzimage(img_b);
	for (size_t i = SETUP; i < IMAGE; i++)
		img_b[i] = (uint8_t)(i * 13 + 7);
	return img_b;
}

static void test_setup_sects(struct guest_mem *m)
{
	struct linux_image img;
	struct cpu_state s;
	char err[512];
	uint8_t *b = fresh();
	b[0x1f1] = 0;   /* boot.rst: 0 means 4 */
	CHECK(parse(b, IMAGE, &img, err) == 0 && img.setup_size == SETUP && img.kernel_size == KSIZE,
	      "field setup_sects 0: 4 sectors of setup (%s)", err);
	int r = boot(m, b, IMAGE, 0, "console=ttyS0", &s, err);
	CHECK(r == 0 && memcmp(gpa_ptr(m, PREF, KSIZE), b + SETUP, KSIZE) == 0,
	      "field setup_sects 0: the kernel loaded from file offset 0xa00 (%s)", err);
	b[0x1f1] = 255;
	refused("field setup_sects 255", parse(b, IMAGE, &img, err), err,
		kmsg("setup_sects 255 puts 131072 bytes of real-mode setup before the kernel, the "
		     "file holds 12288: truncated or corrupt"));
	b[0x1f1] = 0;
	refused("field setup_sects 0, nothing after 4 sectors", parse(b, SETUP, &img, err), err,
		kmsg("setup_sects 0 (meaning 4) puts 2560 bytes of real-mode setup before the "
		     "kernel, the file holds 2560: truncated or corrupt"));
}

static void test_syssize(void)
{
	struct linux_image img;
	char err[512];
	uint8_t *b = fresh();
	put32(b + 0x1f4, 0);
	refused("field syssize 0", parse(b, IMAGE, &img, err), err,
		kmsg("syssize is 0, the header declares no protected-mode kernel: corrupt"));
	put32(b + 0x1f4, 0xffffffff);
	refused("field syssize 0xffffffff", parse(b, IMAGE, &img, err), err,
		kmsg("syssize declares 68719476720 bytes of protected-mode kernel, the file holds "
		     "9728 after the setup: truncated or corrupt"));
	b = fresh();
	refused("field syssize, one byte of kernel missing", parse(b, IMAGE - 1, &img, err), err,
		kmsg("syssize declares 9728 bytes of protected-mode kernel, the file holds 9727 "
		     "after the setup: truncated or corrupt"));
}

static void test_header_frame(struct guest_mem *m)
{
	struct linux_image img;
	struct cpu_state s;
	char err[512];
	uint8_t *b = fresh();
	b[0x201] = 0;   /* the jump's offset: the header is 0 bytes long */
	refused("field header length (byte 0x201) 0", parse(b, IMAGE, &img, err), err,
		kmsg("the setup header ends at 0x202 (its jump's offset byte at 0x201 is 0), before "
		     "init_size at 0x260, which every protocol 2.12 header has: corrupt"));
	b = fresh();
	refused("field header cut by the end of the file", parse(b, 0x240, &img, err), err,
		kmsg("the file ends at 0x240, inside its setup header (which runs to 0x26c): "
		     "truncated"));
	put16(b + 0x206, 0);
	refused("field version 0", parse(b, IMAGE, &img, err), err,
		kmsg("Linux boot protocol 0.00 is too old (popek needs 2.12 or later)"));
	put16(b + 0x206, 0x020b);
	refused("field version 2.11", parse(b, IMAGE, &img, err), err,
		kmsg("Linux boot protocol 2.11 is too old (popek needs 2.12 or later)"));
	b = fresh();
	put16(b + 0x1fe, 0);
	refused("field boot_flag 0", parse(b, IMAGE, &img, err), err,
		kmsg("no Linux setup header (\"HdrS\" at 0x202, boot flag 0xAA55)"));
	refused("field boot_flag 0 through boot_load", boot(m, b, IMAGE, 0, NULL, &s, err), err,
		kmsg("not a kernel popek knows (no multiboot header, no Linux setup header, not an "
		     "ELF64)"));
	b = fresh();
	memcpy(b + 0x202, "HdrZ", 4);
	refused("field header magic HdrZ", parse(b, IMAGE, &img, err), err,
		kmsg("no Linux setup header (\"HdrS\" at 0x202, boot flag 0xAA55)"));
	b = fresh();
	b[0x211] = (uint8_t)~LOADED_HIGH;
	refused("field loadflags without LOADED_HIGH", parse(b, IMAGE, &img, err), err,
		kmsg("a zImage (loadflags without LOADED_HIGH: loaded low, at 0x10000) is not "
		     "supported"));
}

static void test_placement(struct guest_mem *m)
{
	struct linux_image img;
	struct cpu_state s;
	char err[512];
	uint8_t *b = fresh();
	b[0x234] = 0xff;   /* any nonzero value: relocatable */
	CHECK(parse(b, IMAGE, &img, err) == 0 && img.load_addr == PREF && img.run_addr == PREF,
	      "field relocatable_kernel 0xff: relocatable, at pref_address (%s)", err);
	b[0x234] = 0;
	put32(b + 0x230, 0);   /* unused by a kernel that is not relocatable */
	CHECK(parse(b, IMAGE, &img, err) == 0 && img.load_addr == MiB && img.run_addr == PREF &&
	      img.mem_needed == PREF + MiB - MiB,
	      "field relocatable_kernel 0: loaded at 1 MiB, runs at pref_address with init_size (%s)",
	      err);
	put64(b + 0x258, 0x2000000);
	CHECK(parse(b, IMAGE, &img, err) == 0 && img.run_addr == 0x2000000 &&
	      img.mem_needed == 0x2000000 + MiB - MiB,
	      "field pref_address 32 MiB, not relocatable: the kernel runs there (%s)", err);
	static struct guest_mem small;
	if (guest_mem_init(&small, 32 * MiB, err, sizeof(err)) == 0) {
		refused("field pref_address 32 MiB, not relocatable, 32 MiB guest",
			boot(&small, b, IMAGE, 0, NULL, &s, err), err,
			kmsg("needs 33 MiB of memory (loaded at 0x100000, init_size 1 MiB from "
			     "0x2000000), the guest has 32 MiB below the PCI hole"));
		guest_mem_free(&small);
	}
	put64(b + 0x258, 0);
	CHECK(parse(b, IMAGE, &img, err) == 0 && img.load_addr == MiB && img.run_addr == MiB,
	      "field pref_address 0, not relocatable: runs where it is loaded (%s)", err);

	b = fresh();
	put32(b + 0x230, 0);
	refused("field kernel_alignment 0", parse(b, IMAGE, &img, err), err,
		kmsg("relocatable, but kernel_alignment is 0 (it must be a power of two): corrupt"));
	put32(b + 0x230, 0x300000);
	refused("field kernel_alignment 0x300000", parse(b, IMAGE, &img, err), err,
		kmsg("kernel_alignment 0x300000 is not a power of two: corrupt"));
	put32(b + 0x230, 0xffffffff);
	refused("field kernel_alignment 0xffffffff", parse(b, IMAGE, &img, err), err,
		kmsg("kernel_alignment 0xffffffff is not a power of two: corrupt"));
	put32(b + 0x230, 0x80000000);
	CHECK(parse(b, IMAGE, &img, err) == 0 && img.load_addr == PREF && img.run_addr == 0x80000000,
	      "field kernel_alignment 2 GiB: runs at pref_address aligned up (%s)", err);
	refused("field kernel_alignment 2 GiB, 64 MiB guest", boot(m, b, IMAGE, 0, NULL, &s, err), err,
		kmsg("needs 2049 MiB of memory (loaded at 0x1000000, init_size 1 MiB from "
		     "0x80000000), the guest has 64 MiB below the PCI hole"));

	b = fresh();
	put64(b + 0x258, 0x1100000);   /* not 2 MiB aligned: the kernel realigns itself */
	CHECK(parse(b, IMAGE, &img, err) == 0 && img.load_addr == 0x1100000 &&
	      img.run_addr == 0x1200000 && img.mem_needed == 0x200000,
	      "field pref_address misaligned: init_size counted from the aligned address (%s)", err);
	put64(b + 0x258, 0);   /* no preference: the lowest aligned address above 1 MiB */
	int r = boot(m, b, IMAGE, 0, NULL, &s, err);
	CHECK(r == 0 && memcmp(gpa_ptr(m, 2 * MiB, KSIZE), b + SETUP, KSIZE) == 0 &&
	      s.rip == 2 * MiB + 0x200, "field pref_address 0, relocatable: loaded at 2 MiB (%s)", err);
	put64(b + 0x258, 0x10000);
	refused("field pref_address 0x10000", parse(b, IMAGE, &img, err), err,
		kmsg("pref_address 0x10000 lies below 1 MiB, where popek keeps the zero page, page "
		     "tables and BIOS tables"));
	/* This one used to read "needs 0 MiB ... the guest has 64 MiB". */
	put64(b + 0x258, 0xffffffffffe00000ull);
	refused("field pref_address 0xffffffffffe00000", boot(m, b, IMAGE, 0, NULL, &s, err), err,
		kmsg("pref_address 0xffffffffffe00000, kernel_alignment 0x200000 and init_size "
		     "0x100000 put the kernel's end at 0xfffffffffff00000, past 3 GiB, where RAM "
		     "below the PCI hole ends at any memory size"));
	put64(b + 0x258, 0xfffffffffff00000ull);   /* aligning it up wraps */
	refused("field pref_address 0xfffffffffff00000", parse(b, IMAGE, &img, err), err,
		kmsg("pref_address 0xfffffffffff00000 with kernel_alignment 0x200000 and init_size "
		     "0x100000 runs past the top of the 64-bit address space: corrupt"));
	b[0x234] = 0;   /* not relocatable: pref_address + init_size wraps */
	put64(b + 0x258, 0xffffffffffff0000ull);
	refused("field pref_address 0xffffffffffff0000, not relocatable", parse(b, IMAGE, &img, err),
		err, kmsg("pref_address 0xffffffffffff0000 with kernel_alignment 0x200000 and "
			  "init_size 0x100000 runs past the top of the 64-bit address space: corrupt"));
	b = fresh();
	put64(b + 0x258, 0xc0000000);
	refused("field pref_address 3 GiB", boot(m, b, IMAGE, 0, NULL, &s, err), err,
		kmsg("pref_address 0xc0000000, kernel_alignment 0x200000 and init_size 0x100000 put "
		     "the kernel's end at 0xc0100000, past 3 GiB, where RAM below the PCI hole ends at "
		     "any memory size"));
	put64(b + 0x258, 0x40000000);
	refused("field pref_address 1 GiB, 64 MiB guest", boot(m, b, IMAGE, 0, NULL, &s, err), err,
		kmsg("needs 1025 MiB of memory (loaded at 0x40000000, init_size 1 MiB from "
		     "0x40000000), the guest has 64 MiB below the PCI hole"));

	b = fresh();
	put32(b + 0x260, 0);
	refused("field init_size 0", parse(b, IMAGE, &img, err), err,
		kmsg("init_size 0 is less than the 9728 bytes of kernel syssize declares: corrupt"));
	put32(b + 0x260, 0xffffffff);
	refused("field init_size 0xffffffff", boot(m, b, IMAGE, 0, NULL, &s, err), err,
		kmsg("pref_address 0x1000000, kernel_alignment 0x200000 and init_size 0xffffffff put "
		     "the kernel's end at 0x100ffffff, past 3 GiB, where RAM below the PCI hole ends at "
		     "any memory size"));
}

static void test_cmdline_size(struct guest_mem *m)
{
	struct cpu_state s;
	char err[512];
	uint8_t *b = fresh();
	put32(b + 0x238, 0);
	refused("field cmdline_size 0", boot(m, b, IMAGE, 0, "console=ttyS0", &s, err), err,
		"command line is 13 bytes, the kernel accepts at most 0 (its cmdline_size)");
	CHECK(boot(m, b, IMAGE, 0, NULL, &s, err) == 0, "field cmdline_size 0: no command line loads (%s)",
	      err);
	static char line[40001];
	memset(line, 'a', 40000);
	put32(b + 0x238, 0xffffffff);
	refused("field cmdline_size 0xffffffff", boot(m, b, IMAGE, 0, line, &s, err), err,
		"command line is 40000 bytes, popek passes at most 32767");
	line[BOOT_CMDLINE_MAX - 1] = 0;
	CHECK(boot(m, b, IMAGE, 0, line, &s, err) == 0 &&
	      strlen(gpa_ptr(m, BOOT_CMDLINE, BOOT_CMDLINE_MAX)) == BOOT_CMDLINE_MAX - 1,
	      "field cmdline_size 0xffffffff: 32767 bytes pass (%s)", err);
}

static void test_initrd_addr_max(struct guest_mem *m)
{
	struct cpu_state s;
	char err[512], want[512];
	uint8_t *b = fresh();
	put32(b + 0x22c, 0);
	snprintf(want, sizeof(want), "initrd '%s': the kernel's initrd_addr_max is 0, below its own "
		 "end at 0x1100000: this kernel cannot take an initrd", initrd_path);
	refused("field initrd_addr_max 0, an initrd", boot(m, b, IMAGE, 4096, NULL, &s, err), err, want);
	CHECK(boot(m, b, IMAGE, 0, NULL, &s, err) == 0, "field initrd_addr_max 0, no initrd: loads (%s)",
	      err);
	put32(b + 0x22c, 0x1100fff);   /* room for one page above the kernel */
	snprintf(want, sizeof(want), "initrd '%s': 8 KiB does not fit between the kernel's end at "
		 "0x1100000 and its initrd_addr_max 0x1100fff: this kernel cannot take an initrd "
		 "that large", initrd_path);
	refused("field initrd_addr_max one page above the kernel, 8 KiB initrd",
		boot(m, b, IMAGE, 8192, NULL, &s, err), err, want);
	const struct boot_params *bp = gpa_ptr(m, BOOT_ZERO_PAGE, sizeof(*bp));
	int r = boot(m, b, IMAGE, 4096, NULL, &s, err);
	CHECK(r == 0 && bp->hdr.ramdisk_image == 0x1100000 && bp->hdr.ramdisk_size == 4096,
	      "field initrd_addr_max one page above the kernel, 4 KiB initrd: placed there (%s)", err);
	put32(b + 0x22c, 0xffffffff);
	r = boot(m, b, IMAGE, 4096, NULL, &s, err);
	CHECK(r == 0 && bp->hdr.ramdisk_image == 64 * MiB - 4096,
	      "field initrd_addr_max 0xffffffff: as high as RAM goes (%s)", err);
}

static void test_xloadflags(struct guest_mem *m)
{
	struct cpu_state s;
	char err[512];
	uint8_t *b = fresh();
	put16(b + 0x236, (uint16_t)~XLF_KERNEL_64);
	struct boot_config c = { .kernel = kernel_path };
	int r = boot(m, b, IMAGE, 0, NULL, &s, err);
	CHECK(r == 0 && s.rip == PREF && !(s.msr.efer & EFER_LMA) && boot_kernel_bits(&c) == 32,
	      "field xloadflags 0xfffe: no XLF_KERNEL_64, the 32-bit entry (%s)", err);
	put16(b + 0x236, 0xffff);
	r = boot(m, b, IMAGE, 0, NULL, &s, err);
	CHECK(r == 0 && s.rip == PREF + 0x200 && (s.msr.efer & EFER_LMA) && boot_kernel_bits(&c) == 64,
	      "field xloadflags 0xffff: the 64-bit entry (%s)", err);
}

/* The fields only a loader writes: whatever the image carries there, the
 * zero page holds popek's values. */
static void test_loader_fields(struct guest_mem *m)
{
	struct cpu_state s;
	char err[512];
	uint8_t *b = fresh();
	b[0x210] = 0x42;                        /* type_of_loader */
	b[0x211] = 0xff;                        /* loadflags: KEEP_SEGMENTS and all */
	put32(b + 0x218, 0xcafe0000);           /* ramdisk_image */
	put32(b + 0x21c, 0x10000000);           /* ramdisk_size */
	put16(b + 0x224, 0x1234);               /* heap_end_ptr */
	b[0x226] = 0x77;                        /* ext_loader_ver */
	b[0x227] = 0x66;                        /* ext_loader_type */
	put32(b + 0x228, 0xdeadbeef);           /* cmd_line_ptr */
	put32(b + 0x23c, 2);                    /* hardware_subarch: Xen */
	put64(b + 0x240, 0xfeedface12345678ull); /* hardware_subarch_data */
	put64(b + 0x250, 0xdeadbeef000ull);     /* setup_data */
	put16(b + 0x1fa, 0x0f04);               /* vid_mode */
	int r = boot(m, b, IMAGE, 0, "quiet", &s, err);
	const struct setup_header *h = &((const struct boot_params *)gpa_ptr(m, BOOT_ZERO_PAGE, 4096))->hdr;
	CHECK(r == 0 && h->type_of_loader == 0xff && h->ramdisk_image == 0 && h->ramdisk_size == 0 &&
	      h->heap_end_ptr == 0xde00 && h->ext_loader_ver == 0 && h->ext_loader_type == 0 &&
	      h->cmd_line_ptr == BOOT_CMDLINE && h->hardware_subarch == 0 &&
	      h->hardware_subarch_data == 0 && h->setup_data == 0 && h->vid_mode == 0xffff &&
	      (h->loadflags & (CAN_USE_HEAP | KEEP_SEGMENTS)) == CAN_USE_HEAP,
	      "fields a loader writes: the image's garbage replaced in the zero page (%s)", err);
}

static void test_fields(void)
{
	snprintf(kernel_path, sizeof(kernel_path), "%s/bzImage", scratch_dir);
	snprintf(initrd_path, sizeof(initrd_path), "%s/initrd", scratch_dir);
	struct guest_mem m;
	char err[256];
	if (guest_mem_init(&m, 64 * MiB, err, sizeof(err)) != 0) {
		printf("SKIP fields: %s\n", err);
		return;
	}
	test_setup_sects(&m);
	test_syssize();
	test_header_frame(&m);
	test_placement(&m);
	test_cmdline_size(&m);
	test_initrd_addr_max(&m);
	test_xloadflags(&m);
	test_loader_fields(&m);
	guest_mem_free(&m);
}

/* Inputs make fuzz found (tests/fuzz), each as small as it goes. */
static void fuzz_findings(void)
{
	/* fuzz_initrd: a floor within a page of 2^64 rounded up to 0, so a
	 * placement below the floor passed */
	CHECK_EQ(initrd_place_high(0xffffffff, UINT64_MAX, UINT64_MAX), 0,
		 "hostile initrd: no placement below a floor near 2^64");
	CHECK_EQ(initrd_place_high(0x1000, 0xfffffffffffff001ull, UINT64_MAX), 0,
		 "hostile initrd: ... nor below one that rounds up past 2^64");
}

/* --write-seeds DIR: the unmutated images as the fuzz targets' seeds
 * (tests/fuzz/corpus/<target>/, make fuzz-seeds), so the fuzzers start
 * from the same images as this test. */
static int write_seeds(const char *dir)
{
	static const struct { const char *target, *name; int kind; } seeds[] = {
		{ "bzimage", "bzImage", 0 }, { "elf", "vmlinux", 1 }, { "elf", "elf32", 2 },
		{ "multiboot", "elf32", 2 }, { "multiboot", "aout", 3 },
	};
	void (*build[])(uint8_t *) = { bzimage, vmlinux, mb_elf, mb_aout };
	for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
		static uint8_t b[IMAGE];
		memset(b, 0, sizeof(b));
		build[seeds[k].kind](b);
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, seeds[k].target);
		mkdir(path, 0777);
		snprintf(path, sizeof(path), "%s/%s/%s", dir, seeds[k].target, seeds[k].name);
		FILE *f = fopen(path, "wb");
		if (f == NULL || fwrite(b, 1, sizeof(b), f) != sizeof(b) || fclose(f) != 0) {
			fprintf(stderr, "cannot write %s\n", path);
			return 1;
		}
		printf("wrote %s\n", path);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		return write_seeds(argv[2]);
	if (scratch_make("boot-hostile") != 0)
		return 1;
	struct guest_mem m;
	char err[256];
	if (guest_mem_init(&m, 64 * MiB, err, sizeof(err)) != 0) {
		printf("SKIP hostile: %s\n", err);
		return 0;
	}
	static const char *names[] = { "bzImage", "vmlinux", "multiboot ELF32", "multiboot a.out" };
	void (*build[])(uint8_t *) = { bzimage, vmlinux, mb_elf, mb_aout };
	char path[128];
	snprintf(path, sizeof(path), "%s/image", scratch_dir);
	for (int kind = 0; kind < 4; kind++) {
		int ok = 0, refused = 0, bad_msg = 0, first_ok = 0;
		for (int round = 0; round < ROUNDS; round++) {
			static uint8_t b[IMAGE];
			memset(b, 0, sizeof(b));
			build[kind](b);
			size_t len = IMAGE;
			if (round > 0)
				mutate(b, kind, &len);
			FILE *f = fopen(path, "wb");
			if (f == NULL)
				break;
			fwrite(b, 1, len, f);
			fclose(f);
			struct boot_config c = { .kernel = path, .cmdline = "console=ttyS0", .ncpus = 1 };
			struct cpu_state s;
			err[0] = 0;
			if (boot_load(&m, &c, &s, err, sizeof(err)) == 0) {
				ok++;
				first_ok |= round == 0;
			} else {
				refused++;
				bad_msg += err[0] == 0 || strchr(err, '\n') != NULL;
			}
		}
		CHECK(first_ok, "hostile %s: the unmutated image loads", names[kind]);
		CHECK(refused > 0, "hostile %s: mutated images refused (%d of %d)", names[kind], refused, ROUNDS);
		CHECK_EQ(bad_msg, 0, "hostile %s: every refusal has a one-line message", names[kind]);
	}
	fuzz_findings();
	guest_mem_free(&m);
	test_fields();
	scratch_remove();
	return CHECK_DONE();
}
