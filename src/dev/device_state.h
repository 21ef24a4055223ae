/* Small helpers the platform devices share: finding a device's state again
 * at destroy time, and splitting wide port accesses into byte registers.
 * struct vm has no slot per device, but the bus already remembers each
 * device's opaque pointer next to its handler, so the bus is the registry. */
#ifndef POPEK_DEV_DEVICE_STATE_H
#define POPEK_DEV_DEVICE_STATE_H

#include <stdint.h>

#include "bus.h"

/* The opaque pointer of the first range on b served by ops; NULL if none. */
void *device_opaque(const struct bus *b, const struct io_handler *ops);

/* A device whose registers are all one byte wide: a 16- or 32-bit IN or
 * OUT touches consecutive ports, as the ISA bus splits it. */
typedef uint8_t (*byte_read_fn)(void *opaque, uint64_t off);
typedef void (*byte_write_fn)(void *opaque, uint64_t off, uint8_t val);

void bytewise_read(byte_read_fn fn, void *opaque, uint64_t off, uint8_t *data, unsigned size);
void bytewise_write(byte_write_fn fn, void *opaque, uint64_t off, const uint8_t *data,
		    unsigned size);

/* Little-endian value of an access's data, as the guest's register held it. */
uint64_t access_value(const uint8_t *data, unsigned size);
/* The other way: the low size bytes of v into an access's data. */
void access_store(uint8_t *data, unsigned size, uint64_t v);

/* A device that is plain memory of len bytes (test RAM, pc-testdev's
 * page): an access at the last bytes may run past the end, and the part
 * beyond reads as ones and drops writes, as an open bus would. */
void memory_read(const uint8_t *mem, uint64_t len, uint64_t off, uint8_t *data, unsigned size);
void memory_write(uint8_t *mem, uint64_t len, uint64_t off, const uint8_t *data, unsigned size);

#endif
