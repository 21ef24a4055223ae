/* See device_state.h. */
#include <stddef.h>

#include "dev/device_state.h"

void *device_opaque(const struct bus *b, const struct io_handler *ops)
{
	for (int i = 0; i < b->n; i++)
		if (b->range[i].ops == ops)
			return b->range[i].opaque;
	return NULL;
}

void bytewise_read(byte_read_fn fn, void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		data[i] = fn(opaque, off + i);
}

void bytewise_write(byte_write_fn fn, void *opaque, uint64_t off, const uint8_t *data,
		    unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		fn(opaque, off + i, data[i]);
}

uint64_t access_value(const uint8_t *data, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size && i < 8; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

void memory_read(const uint8_t *mem, uint64_t len, uint64_t off, uint8_t *data, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		data[i] = off + i < len ? mem[off + i] : 0xff;
}

void memory_write(uint8_t *mem, uint64_t len, uint64_t off, const uint8_t *data, unsigned size)
{
	for (unsigned i = 0; i < size && off + i < len; i++)
		mem[off + i] = data[i];
}

void access_store(uint8_t *data, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size; i++)
		data[i] = i < 8 ? (uint8_t)(v >> (8 * i)) : 0;
}
