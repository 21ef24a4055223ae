/* The multiboot loader: an ELF32 kernel and an a.out-kludge kernel built
 * here, the information structure they get, the entry state the spec
 * promises, and the header checks. */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/boot_layout.h"
#include "boot/e820.h"
#include "boot/multiboot_header.h"
#include "boot/multiboot_info.h"
#include "check.h"
#include "scratch_dir.h"


static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void put_header(uint8_t *p, uint32_t flags)
{
	put32(p, MB_HEADER_MAGIC);
	put32(p + 4, flags);
	put32(p + 8, (uint32_t)(0 - MB_HEADER_MAGIC - flags));
}

#define KSIZE 0x3000

/* ELF32, header inside the text; linked higher half (vaddr 0xc0100000,
 * paddr 1 MiB) with e_entry virtual, as many hobby kernels are. */
static size_t make_elf32(uint8_t *b)
{
	memset(b, 0, KSIZE);
	memcpy(b, ELFMAG, SELFMAG);
	b[EI_CLASS] = ELFCLASS32;
	b[EI_DATA] = ELFDATA2LSB;
	b[EI_VERSION] = EV_CURRENT;
	put16(b + 16, ET_EXEC);
	put16(b + 18, EM_386);
	put32(b + 24, 0xc0100010);
	put32(b + 28, 52);
	put16(b + 42, 32);
	put16(b + 44, 1);
	uint8_t *ph = b + 52;
	put32(ph, PT_LOAD);
	put32(ph + 4, 0x1000);
	put32(ph + 8, 0xc0100000);
	put32(ph + 12, 0x100000);
	put32(ph + 16, 0x2000);
	put32(ph + 20, 0x5000);
	put_header(b + 0x1000, MB_PAGE_ALIGN | MB_MEMORY_INFO);
	for (int i = 0x100c; i < KSIZE; i++)
		b[i] = (uint8_t)i;
	return KSIZE;
}

/* a.out kludge: the header at file offset 0x40 maps to 0x200040; text
 * starts at file offset 0 = load_addr 0x200000; 0x2000 of BSS. */
static size_t make_aout(uint8_t *b)
{
	memset(b, 0, KSIZE);
	for (int i = 0; i < KSIZE; i++)
		b[i] = (uint8_t)(i * 3);
	uint8_t *h = b + 0x40;
	put_header(h, MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_AOUT_KLUDGE);
	put32(h + 12, 0x200040);
	put32(h + 16, 0x200000);
	put32(h + 20, 0x200000 + KSIZE);
	put32(h + 24, 0x200000 + KSIZE + 0x2000);
	put32(h + 28, 0x200080);
	return KSIZE;
}

static struct guest_mem m;
static struct cpu_state s;
static char err[256];

static int load(const char *name, const uint8_t *b, size_t len, const char *initrd,
		const char *cmdline)
{
	struct boot_config c = { .kernel = scratch_file(name, b, len), .initrd = initrd,
				 .cmdline = cmdline, .ncpus = 1 };
	err[0] = 0;
	return boot_load(&m, &c, &s, err, sizeof(err));
}

static void check_entry(uint32_t eip, const char *what)
{
	CHECK_EQ(s.gpr[RAX], 0x2badb002, "%s: EAX magic", what);
	CHECK_EQ(s.gpr[RBX], BOOT_MB_INFO, "%s: EBX is the information structure", what);
	CHECK_EQ(s.rip, eip, "%s: EIP", what);
	CHECK_EQ(s.cr0, CR0_PE | CR0_ET, "%s: CR0 PE|ET, paging off", what);
	CHECK_EQ(s.rflags, 2, "%s: EFLAGS 2", what);
	CHECK(s.seg[SEG_CS].selector == 8 && s.seg[SEG_CS].db && s.seg[SEG_CS].limit == 0xffffffff &&
	      s.seg[SEG_CS].base == 0 && s.seg[SEG_CS].type == 0xb, "%s: CS flat 32-bit code", what);
	int data_ok = 1;
	for (int r = 0; r < SEG_COUNT; r++)
		if (r != SEG_CS && r != SEG_LDT && r != SEG_TR)
			data_ok &= s.seg[r].selector == 0x10 && s.seg[r].db && s.seg[r].base == 0 &&
				   s.seg[r].limit == 0xffffffff && s.seg[r].type == 3;
	CHECK(data_ok, "%s: DS/ES/FS/GS/SS flat 32-bit data", what);
	CHECK(s.msr.efer == 0 && s.cr4 == 0 && s.idt.limit == 0, "%s: no EFER, CR4, IDT", what);
	uint64_t gdt[3];
	gpa_read(&m, BOOT_GDT, gdt, sizeof(gdt));
	CHECK(gdt[0] == 0 && gdt[1] == 0x00cf9b000000ffffull && gdt[2] == 0x00cf93000000ffffull &&
	      s.gdt.base == BOOT_GDT && s.gdt.limit == 23, "%s: GDT backs the caches", what);
}

static void check_info(const char *kernel_path, const char *cmdline, const char *initrd_path,
		       const void *initrd, size_t initrd_len, uint64_t kernel_end, const char *what)
{
	struct multiboot_info *mbi = gpa_ptr(&m, BOOT_MB_INFO, sizeof(*mbi));
	uint32_t want = MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME;
	CHECK((mbi->flags & want) == want, "%s: info flags", what);
	CHECK_EQ(mbi->mem_lower, 639, "%s: mem_lower", what);
	CHECK_EQ(mbi->mem_upper, (guest_mem_low_end(&m) - MiB) / 1024, "%s: mem_upper", what);
	char line[256];
	snprintf(line, sizeof(line), "%s %s", kernel_path, cmdline);
	const char *got = gpa_ptr(&m, mbi->cmdline, 1);
	CHECK(got && strcmp(got, line) == 0, "%s: cmdline is path and arguments", what);
	const char *name = gpa_ptr(&m, mbi->boot_loader_name, 1);
	CHECK(name && strcmp(name, "popek") == 0, "%s: boot loader name", what);

	struct e820_entry e[16];
	int count = e820_build(&m, e, 16);
	CHECK_EQ(mbi->mmap_length, count * 24u, "%s: mmap length", what);
	struct multiboot_mmap *mm = gpa_ptr(&m, mbi->mmap_addr, mbi->mmap_length);
	int same = mm != NULL;
	for (int i = 0; same && i < count; i++)
		same = mm[i].size == 20 && mm[i].addr == e[i].addr && mm[i].len == e[i].size &&
		       mm[i].type == e[i].type;
	CHECK(same, "%s: mmap entries (size 20) match e820", what);

	CHECK_EQ(mbi->mods_count, initrd ? 1 : 0, "%s: module count", what);
	if (!initrd)
		return;
	struct multiboot_module *mod = gpa_ptr(&m, mbi->mods_addr, sizeof(*mod));
	CHECK(mod != NULL && (mod->mod_start & 0xfff) == 0, "%s: module page aligned", what);
	if (mod == NULL)
		return;
	CHECK(mod->mod_start >= kernel_end, "%s: module above the kernel and its BSS", what);
	CHECK_EQ(mod->mod_end - mod->mod_start, initrd_len, "%s: module size", what);
	const void *data = gpa_ptr(&m, mod->mod_start, initrd_len);
	CHECK(data && memcmp(data, initrd, initrd_len) == 0, "%s: module contents", what);
	const char *str = gpa_ptr(&m, mod->string, 1);
	CHECK(str && strcmp(str, initrd_path) == 0, "%s: module string", what);
}

static void test_elf32(void)
{
	static uint8_t b[KSIZE];
	size_t len = make_elf32(b);
	static const char rd[] = "module data";
	const char *rdp = scratch_file("mod.bin", rd, sizeof(rd));
	int r = load("elf32.kernel", b, len, rdp, "hello world");
	CHECK(r == 0, "elf32: loads (%s)", err);
	if (r != 0)
		return;
	check_entry(0x100010, "elf32");
	CHECK(memcmp(gpa_ptr(&m, MiB, 0x2000), b + 0x1000, 0x2000) == 0, "elf32: segment at p_paddr");
	const uint8_t *bss = gpa_ptr(&m, MiB + 0x2000, 0x3000);
	CHECK(bss[0] == 0 && bss[0x2fff] == 0, "elf32: BSS zeroed");
	char path[128];
	snprintf(path, sizeof(path), "%s/elf32.kernel", scratch_dir);
	check_info(path, "hello world", rdp, rd, sizeof(rd), MiB + 0x5000, "elf32");
	CHECK(s.gpr[RSP] != 0, "elf32: a usable stack");
}

/* What `ld -Ttext 0x100000` makes: a first PT_LOAD holding the ELF
 * headers just below 1 MiB. QEMU loads it; so must popek. */
static void test_elf32_headers_below_1mib(void)
{
	static uint8_t b[KSIZE];
	size_t len = make_elf32(b);
	put16(b + 44, 2);
	uint8_t *ph = b + 52 + 32;
	memmove(ph, b + 52, 32);
	ph = b + 52;
	memset(ph, 0, 32);
	put32(ph, PT_LOAD);
	put32(ph + 8, 0xff000);
	put32(ph + 12, 0xff000);
	put32(ph + 16, 0x94);
	put32(ph + 20, 0x94);
	CHECK(load("elf32-low.kernel", b, len, NULL, NULL) == 0, "elf32: header segment at 0xff000 loads (%s)", err);
	CHECK(memcmp(gpa_ptr(&m, 0xff000, 0x40), b, 0x40) == 0, "elf32: header segment in place");
	CHECK(memcmp(gpa_ptr(&m, BOOT_BIOS, 4), "_MP_", 4) == 0, "elf32: MP pointer copy intact");

	put32(ph + 8, 0x9fe00);
	put32(ph + 12, 0x9fe00);
	CHECK(load("elf32-ebda.kernel", b, len, NULL, NULL) < 0, "elf32: segment over the EBDA rejected");
	CHECK_STR_CONTAINS(err, "EBDA", "elf32: segment over the EBDA message");
	/* a segment over the information block's first choice: the block
	 * moves out of its way */
	put32(ph + 12, 0x9000);
	CHECK(load("elf32-mbi.kernel", b, len, NULL, NULL) == 0, "elf32: segment at 0x9000 loads (%s)", err);
	CHECK(s.gpr[RBX] != BOOT_MB_INFO && (s.gpr[RBX] >= 0x9000 + 0x94 || s.gpr[RBX] + MB_BLOCK_SIZE <= 0x9000),
	      "elf32: the information block moved off the segment");
	put32(ph + 12, 0x800);
	CHECK(load("elf32-gdt.kernel", b, len, NULL, NULL) < 0, "elf32: segment over the boot GDT rejected");
	CHECK_STR_CONTAINS(err, "the BIOS data area and the boot GDT", "elf32: the refusal names the GDT");
}

/* Test kernels built for QEMU load at 0x8000 (and run their stack below
 * it): the information block, its strings and the entry stack go where
 * the image is not. */
static void test_low_load_address(void)
{
	static uint8_t b[KSIZE];
	size_t len = make_aout(b);
	put32(b + 0x40 + 12, 0x8040);            /* header_addr */
	put32(b + 0x40 + 16, 0x8000);            /* load_addr */
	put32(b + 0x40 + 20, 0x8000 + KSIZE);    /* load_end_addr */
	put32(b + 0x40 + 24, 0x8000 + KSIZE + 0x10000);   /* 64 KiB of BSS: to 0x1b000 */
	put32(b + 0x40 + 28, 0x8080);            /* entry */
	static const char rd[] = "low module";
	const char *rdp = scratch_file("lowmod.bin", rd, sizeof(rd));
	int r = load("low.kernel", b, len, rdp, "at=0x8000");
	CHECK(r == 0, "low: a kernel at 0x8000 loads (%s)", err);
	if (r != 0)
		return;
	uint64_t mbi = s.gpr[RBX], end = 0x8000 + KSIZE + 0x10000;
	CHECK(mbi + MB_BLOCK_SIZE <= 0x8000 || mbi >= end, "low: the information block is clear of the image");
	CHECK(s.gpr[RSP] > mbi && s.gpr[RSP] <= mbi + MB_BLOCK_SIZE, "low: the stack is in the block");
	CHECK_EQ(s.rip, 0x8080, "low: EIP");
	CHECK(memcmp(gpa_ptr(&m, 0x8000, KSIZE), b, KSIZE) == 0, "low: image at 0x8000");
	struct multiboot_info *info = gpa_ptr(&m, mbi, sizeof(*info));
	char want[128];
	snprintf(want, sizeof(want), "%s/low.kernel at=0x8000", scratch_dir);
	const char *got = info ? gpa_ptr(&m, info->cmdline, 1) : NULL;
	CHECK(got && strcmp(got, want) == 0, "low: command line");
	struct multiboot_module *mod = info ? gpa_ptr(&m, info->mods_addr, sizeof(*mod)) : NULL;
	const char *str = mod ? gpa_ptr(&m, mod->string, 1) : NULL;
	CHECK(mod && mod->mod_start >= MiB && str && strcmp(str, rdp) == 0, "low: module above 1 MiB, named");
}

static void test_aout(void)
{
	static uint8_t b[KSIZE];
	size_t len = make_aout(b);
	int r = load("aout.kernel", b, len, NULL, NULL);
	CHECK(r == 0, "aout: loads (%s)", err);
	if (r != 0)
		return;
	check_entry(0x200080, "aout");
	CHECK(memcmp(gpa_ptr(&m, 0x200000, KSIZE), b, KSIZE) == 0, "aout: image at load_addr");
	const uint8_t *bss = gpa_ptr(&m, 0x200000 + KSIZE, 0x2000);
	CHECK(bss[0] == 0 && bss[0x1fff] == 0, "aout: BSS zeroed to bss_end_addr");
	char path[128];
	snprintf(path, sizeof(path), "%s/aout.kernel", scratch_dir);
	check_info(path, "", NULL, NULL, 0, 0, "aout");

	static const char rd[4097] = "a module of a page and a byte";
	const char *rdp = scratch_file("mod2.bin", rd, sizeof(rd));
	r = load("aout.kernel", b, len, rdp, "x=1");
	CHECK(r == 0, "aout with module: loads (%s)", err);
	if (r == 0)
		check_info(path, "x=1", rdp, rd, sizeof(rd), 0x200000 + KSIZE + 0x2000, "aout with module");

	/* load_end_addr 0: the rest of the file. */
	put32(b + 0x40 + 20, 0);
	put32(b + 0x40 + 24, 0);
	CHECK(load("aout0.kernel", b, len, NULL, NULL) == 0, "aout: load_end_addr 0 loads the whole file");
}

static void test_aout_errors(void)
{
	static uint8_t b[KSIZE];
	size_t len = make_aout(b);
	put32(b + 0x40 + 16, 0x200050);  /* load_addr above header_addr */
	CHECK(load("bad1", b, len, NULL, NULL) < 0, "aout: load_addr > header_addr rejected");
	CHECK_STR_CONTAINS(err, "load_addr", "aout: load_addr > header_addr message");

	make_aout(b);
	put32(b + 0x40 + 20, 0x200000 + KSIZE + 1);
	CHECK(load("bad2", b, len, NULL, NULL) < 0, "aout: load_end_addr beyond the file rejected");
	CHECK_STR_CONTAINS(err, "truncated", "aout: load_end_addr beyond the file message");

	make_aout(b);
	put32(b + 0x40 + 24, 0x200000 + 0x10);
	CHECK(load("bad3", b, len, NULL, NULL) < 0, "aout: bss_end_addr below load end rejected");

	make_aout(b);
	put32(b + 0x40 + 12, 0x300000);  /* text would start before the file */
	CHECK(load("bad4", b, len, NULL, NULL) < 0, "aout: text before the file start rejected");

	make_aout(b);
	put32(b + 0x40 + 20, 0x1ff000);
	CHECK(load("bad5", b, len, NULL, NULL) < 0, "aout: load_end_addr below load_addr rejected");

	make_aout(b);
	CHECK(load("bad6", b, 0x40 + 20, NULL, NULL) < 0, "aout: header cut inside its address fields rejected");
	CHECK_STR_CONTAINS(err, "beyond the end of the file", "aout: cut header message");

	make_aout(b);
	put_header(b + 0x40, MB_AOUT_KLUDGE | (1u << 3));
	CHECK(load("bad7", b, len, NULL, NULL) < 0, "multiboot: unknown required flag rejected");
	CHECK_STR_CONTAINS(err, "requires features", "multiboot: unknown required flag message");

	make_aout(b);
	put32(b + 0x40 + 8, 0);          /* bad checksum: no header at all */
	CHECK(load("bad8", b, len, NULL, NULL) < 0, "multiboot: bad checksum is no header");
	CHECK_STR_CONTAINS(err, "not a kernel popek knows", "multiboot: bad checksum message");

	make_aout(b);
	put32(b + 0x40 + 16, 0x800);
	put32(b + 0x40 + 12, 0x840);
	put32(b + 0x40 + 20, 0x800 + KSIZE);
	put32(b + 0x40 + 24, 0);
	put32(b + 0x40 + 28, 0x880);
	CHECK(load("bad9", b, len, NULL, NULL) < 0, "aout: image over the boot GDT rejected");
	CHECK_STR_CONTAINS(err, "the BIOS data area and the boot GDT", "aout: image over the boot GDT message");

	make_aout(b);
	put32(b + 0x40 + 16, 0x7ff00000);
	put32(b + 0x40 + 12, 0x7ff00040);
	put32(b + 0x40 + 20, 0x7ff00000 + KSIZE);
	put32(b + 0x40 + 24, 0);
	CHECK(load("bad10", b, len, NULL, NULL) < 0, "aout: image beyond RAM rejected");

	make_aout(b);
	put32(b + 0x40 + 28, 0x200000 + KSIZE + 0x2000);   /* entry just past the BSS */
	CHECK(load("bad12", b, len, NULL, NULL) < 0, "aout: entry outside the image rejected");
	CHECK_STR_CONTAINS(err, "entry point 0x205000 is outside the loaded image (0x200000-0x204fff)",
			   "aout: entry outside the image message names the entry and the range");
	make_aout(b);
	put32(b + 0x40 + 28, 0x1000);
	CHECK(load("bad13", b, len, NULL, NULL) < 0, "aout: entry below the image rejected");

	static uint8_t big[KSIZE + 8192];
	memset(big, 0, sizeof(big));
	put_header(big + 8192, 0);       /* header too late in the file */
	CHECK(load("bad11", big, sizeof(big), NULL, NULL) < 0, "multiboot: header past 8192 bytes ignored");
}

static void test_elf32_errors(void)
{
	static uint8_t b[KSIZE];
	size_t len = make_elf32(b);
	put32(b + 52 + 4, 0x2000);       /* segment runs past the file */
	CHECK(load("ebad1", b, len, NULL, NULL) < 0, "elf32: segment beyond file end rejected");
	make_elf32(b);
	put32(b + 28, 0xfffff000);
	CHECK(load("ebad2", b, len, NULL, NULL) < 0, "elf32: phdrs beyond file end rejected");
	make_elf32(b);
	put16(b + 44, 0);
	CHECK(load("ebad3", b, len, NULL, NULL) < 0, "elf32: no program headers rejected");
	make_elf32(b);
	put32(b + 52 + 20, 0x100);       /* memsz < filesz */
	CHECK(load("ebad4", b, len, NULL, NULL) < 0, "elf32: memsz below filesz rejected");
	make_elf32(b);
	put_header(b + 0x1000, MB_PAGE_ALIGN);
	memset(b, 0, 4);                 /* multiboot header but neither ELF nor kludge */
	CHECK(load("ebad5", b, len, NULL, NULL) < 0, "multiboot: not ELF without the kludge rejected");
	CHECK_STR_CONTAINS(err, "a.out kludge", "multiboot: not ELF without the kludge message");
	make_elf32(b);
	put32(b + 24, 0xc0200000);       /* e_entry in no segment, virtual or physical */
	CHECK(load("ebad7", b, len, NULL, NULL) < 0, "elf32: entry outside every segment rejected");
	CHECK_STR_CONTAINS(err, "entry point 0xc0200000 is outside the loaded image",
			   "elf32: entry outside the image message");
	make_elf32(b);
	put32(b + 24, 0x104fff);         /* last byte of the BSS: loaded, zeroed, allowed */
	CHECK(load("egood7", b, len, NULL, NULL) == 0, "elf32: entry inside the BSS loads (%s)", err);
	make_elf32(b);
	const char *missing = "/nonexistent/popek-initrd";
	CHECK(load("ebad6", b, len, missing, NULL) < 0, "multiboot: missing module file rejected");
	CHECK_STR_CONTAINS(err, "No such file", "multiboot: missing module message");
}

int main(void)
{
	if (scratch_make("boot-mb") != 0)
		return 1;
	char e[256];
	if (guest_mem_init(&m, 32 * MiB, e, sizeof(e)) != 0) {
		printf("SKIP multiboot: %s\n", e);
		return 0;
	}
	test_elf32();
	test_elf32_headers_below_1mib();
	test_low_load_address();
	test_aout();
	test_aout_errors();
	test_elf32_errors();
	guest_mem_free(&m);
	scratch_remove();
	return CHECK_DONE();
}
