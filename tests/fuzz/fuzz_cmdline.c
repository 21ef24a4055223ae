/* libFuzzer target: the kernel command line on its ways into the guest:
 * the length check against a bzImage header's cmdline_size
 * (linux_check_cmdline), the zero page that carries it
 * (linux_zero_page.c) and the Multiboot information structure that
 * carries it after the kernel's path (multiboot_info.c), with a module.
 * The input is a record:
 *   setup_header (its bytes as an image would carry them)
 *   u8 path length, the kernel path, u8 module path length, the module path
 *   u32 module address, u32 module size, u8: bit 0 the small guest
 *   the command line (to the end; a NUL ends it early)
 * A command line the check accepts must arrive intact in guest memory. */
#include "fuzz.h"

#include "boot/boot_layout.h"
#include "boot/linux_header.h"
#include "boot/linux_zero_page.h"
#include "boot/multiboot_info.h"

static struct guest_mem small_mem, big_mem;
static int made;

/* A NUL-terminated copy of the next len bytes (fewer when the input ends). */
static char *take_string(struct fuzz_in *in, size_t len)
{
	if (len > in->n)
		len = in->n;
	char *s = malloc(len + 1);
	if (s == NULL)
		abort();
	memcpy(s, in->p, len);
	s[len] = 0;
	in->p += len;
	in->n -= len;
	return s;
}

static void check_guest_string(const struct guest_mem *m, uint64_t gpa, const char *want)
{
	size_t len = strlen(want) + 1;
	const char *got = gpa_ptr(m, gpa, len);
	FUZZ_CHECK(got != NULL);
	FUZZ_CHECK(memcmp(got, want, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!made) {
		char err[256];
		if (guest_mem_init(&small_mem, 1 * MiB, err, sizeof(err)) != 0 ||
		    guest_mem_init(&big_mem, 16 * MiB, err, sizeof(err)) != 0) {
			fprintf(stderr, "fuzz: guest memory: %s\n", err);
			exit(1);
		}
		made = 1;
	}
	struct fuzz_in in = { data, size };
	struct setup_header h;
	memset(&h, 0, sizeof(h));
	size_t hn = in.n < sizeof(h) ? in.n : sizeof(h);
	memcpy(&h, in.p, hn);
	in.p += hn;
	in.n -= hn;
	char *kernel = take_string(&in, fuzz_u8(&in));
	char *module = take_string(&in, fuzz_u8(&in));
	struct initrd rd = { .addr = fuzz_uint(&in, 4), .size = fuzz_uint(&in, 4) };
	struct guest_mem *m = fuzz_u8(&in) & 1 ? &small_mem : &big_mem;
	char *cmdline = take_string(&in, in.n);

	char err[256];
	err[0] = 0;
	if (linux_check_cmdline(&h, cmdline, err, sizeof(err)) == 0) {
		FUZZ_CHECK(strlen(cmdline) <= h.cmdline_size);
		FUZZ_CHECK(strlen(cmdline) < BOOT_CMDLINE_MAX);
		err[0] = 0;
		if (linux_zero_page_write(m, &h, cmdline, &rd, err, sizeof(err)) == 0)
			check_guest_string(m, BOOT_CMDLINE, cmdline);
		else
			fuzz_check_message(err);
	} else {
		fuzz_check_message(err);
	}

	struct mb_boot b = { .kernel_path = kernel, .cmdline = cmdline, .module_path = module,
			     .module = rd };
	err[0] = 0;
	if (multiboot_info_write(m, &b, BOOT_MB_INFO, err, sizeof(err)) == 0) {
		size_t len = strlen(kernel) + 1 + strlen(cmdline) + 1;
		char *want = malloc(len);
		if (want == NULL)
			abort();
		snprintf(want, len, "%s %s", kernel, cmdline);
		check_guest_string(m, BOOT_MB_INFO + MB_OFF_CMDLINE, want);
		free(want);
	} else {
		fuzz_check_message(err);
	}
	free(kernel);
	free(module);
	free(cmdline);
	return 0;
}
