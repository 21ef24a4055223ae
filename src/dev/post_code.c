/* Port 0x80, where firmware writes POST codes and Linux's outb_p() writes to
 * waste a bus cycle. Reads see no device (all ones), as on most boards.
 * The codes are what a POST card would show: --post-codes prints each as
 * it comes, --stats the count, the last one and the last few in order. */
#include <stdio.h>
#include <stdlib.h>

#include "dev/device_state.h"
#include "dev/platform.h"
#include "vm.h"

#define POST_HISTORY 16

/* no lock of its own: bus_access serializes the writes, and the stats are
 * read after the vCPUs have stopped */
struct post_card {
	struct vm *vm;
	uint64_t count;
	uint8_t recent[POST_HISTORY];   /* a ring: recent[count % POST_HISTORY] is next */
};

static void post_code_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	(void)off;
	(void)size;
	struct post_card *p = opaque;
	p->recent[p->count % POST_HISTORY] = data[0];
	p->count++;
	if (p->vm->cfg.post_codes)
		dprintf(2, "popek: POST code %#04x\n", data[0]);
}

static const struct io_handler post_code_ops = { NULL, post_code_write };

static int post_code_create(struct vm *vm, char *err, size_t n)
{
	struct post_card *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	p->vm = vm;
	if (bus_register(&vm->pio, PORT_POST_CODE, 1, &post_code_ops, p, "post-code") != 0) {
		free(p);
		snprintf(err, n, "port %#x is taken", PORT_POST_CODE);
		return -1;
	}
	return 0;
}

static void post_code_destroy(struct vm *vm)
{
	free(device_opaque(&vm->pio, &post_code_ops));
}

static void post_code_stats(struct vm *vm, int fd)
{
	struct post_card *p = device_opaque(&vm->pio, &post_code_ops);
	if (!p || !p->count)
		return;
	uint64_t n = p->count < POST_HISTORY ? p->count : POST_HISTORY;
	dprintf(fd, "popek: POST codes: %llu written, last %#04x; the last %llu in order:",
		(unsigned long long)p->count, p->recent[(p->count - 1) % POST_HISTORY],
		(unsigned long long)n);
	for (uint64_t k = p->count - n; k < p->count; k++)
		dprintf(fd, " %02x", p->recent[k % POST_HISTORY]);
	dprintf(fd, "\n");
}

struct device_desc post_code_device = { .name = "post-code", .create = post_code_create,
					.destroy = post_code_destroy, .print_stats = post_code_stats };
DEVICE(post_code_device)
