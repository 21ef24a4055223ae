/* The device list: device files register themselves before main runs, so
 * adding a device touches no other file. */
#include <stdio.h>

#include "dev/device.h"

static struct device_desc *devices;

void device_register(struct device_desc *d)
{
	/* Append, so devices are created in link order, deterministically. */
	struct device_desc **p = &devices;
	while (*p)
		p = &(*p)->next;
	d->next = NULL;
	*p = d;
}

int devices_create(struct vm *vm, char *err, size_t n)
{
	for (struct device_desc *d = devices; d; d = d->next) {
		char why[256] = "";
		if (d->create(vm, why, sizeof(why)) != 0) {
			snprintf(err, n, "device %s: %s", d->name, why);
			return -1;
		}
	}
	return 0;
}

/* Reverse creation order: a device that feeds another (the console reader
 * thread raising interrupts into the platform) is gone before what it feeds. */
static void destroy_from(struct device_desc *d, struct vm *vm)
{
	if (!d)
		return;
	destroy_from(d->next, vm);
	if (d->destroy)
		d->destroy(vm);
}

void devices_destroy(struct vm *vm)
{
	destroy_from(devices, vm);
}

void devices_print_stats(struct vm *vm, int fd)
{
	for (struct device_desc *d = devices; d; d = d->next)
		if (d->print_stats)
			d->print_stats(vm, fd);
}
