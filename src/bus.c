/* Range-decoded buses with a binary search over sorted ranges; a bus has a
 * handful of ranges, so this is cheap next to any exit. */
#include <string.h>

#include "bus.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
	pthread_mutex_init(&b->lock, NULL);
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct io_handler *ops,
		 void *opaque, const char *name)
{
	if (len == 0 || base + len < base || b->n == BUS_MAX_RANGES)
		return -1;
	int i = 0;
	while (i < b->n && b->range[i].base < base)
		i++;
	if (i > 0 && b->range[i - 1].base + b->range[i - 1].len > base)
		return -1;
	if (i < b->n && base + len > b->range[i].base)
		return -1;
	memmove(&b->range[i + 1], &b->range[i], (size_t)(b->n - i) * sizeof(b->range[0]));
	b->range[i] = (struct bus_range){ base, len, ops, opaque, name };
	b->n++;
	return 0;
}

static const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
	int lo = 0, hi = b->n - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		const struct bus_range *r = &b->range[mid];
		if (addr < r->base)
			hi = mid - 1;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, unsigned size, bool is_write)
{
	pthread_mutex_lock(&b->lock);
	const struct bus_range *r = bus_find(b, addr);
	if (!r) {
		b->unhandled++;
		pthread_mutex_unlock(&b->lock);
		if (!is_write)
			memset(data, 0xff, size);
		return false;
	}
	if (is_write) {
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, data, size);
	} else if (r->ops->read) {
		r->ops->read(r->opaque, addr - r->base, data, size);
	} else {
		memset(data, 0xff, size);
	}
	pthread_mutex_unlock(&b->lock);
	return true;
}
