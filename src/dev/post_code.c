/* Port 0x80, where firmware writes POST codes and Linux's outb_p() writes to
 * waste a bus cycle. Claimed so those writes are not counted as accesses to
 * nothing; reads see no device (all ones), as on most boards. */
#include <stdio.h>

#include "dev/platform.h"
#include "vm.h"

static void post_code_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)data;
	(void)size;
}

static const struct io_handler post_code_ops = { NULL, post_code_write };

static int post_code_create(struct vm *vm, char *err, size_t n)
{
	if (bus_register(&vm->pio, PORT_POST_CODE, 1, &post_code_ops, NULL, "post-code") != 0) {
		snprintf(err, n, "port %#x is taken", PORT_POST_CODE);
		return -1;
	}
	return 0;
}

struct device_desc post_code_device = { .name = "post-code", .create = post_code_create };
DEVICE(post_code_device)
