/* Firecracker's boot timer: the guest's init writes BOOT_TIMER_MAGIC as one
 * byte at offset 0 once boot is done, and popek reports how long that took
 * since it started, so boot time is measured by the monitor itself rather
 * than estimated from the guest's log. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dev/platform.h"
#include "vm.h"

void boot_timer_message(char *buf, size_t n, uint64_t elapsed_ns)
{
	snprintf(buf, n, "popek: guest boot done in %" PRIu64 ".%03" PRIu64
		 " ms (since popek started)\n", elapsed_ns / 1000000, elapsed_ns / 1000 % 1000);
}

static void boot_timer_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct vm *vm = opaque;
	if (off != 0 || size != 1 || data[0] != BOOT_TIMER_MAGIC)
		return;
	char line[128];
	boot_timer_message(line, sizeof(line), host_now_ns() - vm->start_ns);
	/* One write, so the line is not torn by the guest's console output. */
	ssize_t w;
	do
		w = write(STDERR_FILENO, line, strlen(line));
	while (w < 0 && errno == EINTR);
}

static void boot_timer_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	(void)opaque;
	(void)off;
	memset(data, 0, size);
}

static const struct io_handler boot_timer_ops = { boot_timer_read, boot_timer_write };

static int boot_timer_create(struct vm *vm, char *err, size_t n)
{
	if (bus_register(&vm->mmio, MMIO_BOOT_TIMER, BOOT_TIMER_SIZE, &boot_timer_ops, vm,
			 "boot-timer") != 0) {
		snprintf(err, n, "MMIO %#llx-%#llx is taken", MMIO_BOOT_TIMER,
			 MMIO_BOOT_TIMER + BOOT_TIMER_SIZE - 1);
		return -1;
	}
	return 0;
}

struct device_desc boot_timer_device = { .name = "boot-timer", .create = boot_timer_create };
DEVICE(boot_timer_device)
