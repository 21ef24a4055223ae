/* Hostile input: every kind of image popek knows, with bytes of its
 * headers and tables overwritten at random (a fixed seed, so a failure
 * repeats). boot_load must answer each with success or one line of
 * error, never a crash (the sanitizers watch every access). */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/boot_layout.h"
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

int main(void)
{
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
		int ok = 0, refused = 0, bad_msg = 0;
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
			} else {
				refused++;
				bad_msg += err[0] == 0 || strchr(err, '\n') != NULL;
			}
		}
		CHECK(ok > 0, "hostile %s: the unmutated image loads", names[kind]);
		CHECK(refused > 0, "hostile %s: mutated images refused (%d of %d)", names[kind], refused, ROUNDS);
		CHECK_EQ(bad_msg, 0, "hostile %s: every refusal has a one-line message", names[kind]);
	}
	guest_mem_free(&m);
	scratch_remove();
	return CHECK_DONE();
}
