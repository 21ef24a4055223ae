/* Address-decoded buses. Devices attach to the port-I/O bus or the MMIO bus
 * by range; the machine dispatches an exit to whichever device owns the
 * address. A bus knows nothing of engines. */
#ifndef POPEK_BUS_H
#define POPEK_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct io_handler {
	/* off is relative to the range base; size is 1, 2, 4 or 8. */
	void (*read)(void *opaque, uint64_t off, uint8_t *data, unsigned size);
	void (*write)(void *opaque, uint64_t off, const uint8_t *data, unsigned size);
};

struct bus_range {
	uint64_t base, len;
	const struct io_handler *ops;
	void *opaque;
	const char *name;
};

#define BUS_MAX_RANGES 64

struct bus {
	const char *name;
	struct bus_range range[BUS_MAX_RANGES];  /* sorted by base */
	int n;
	pthread_mutex_t lock;                    /* serializes device access across vCPUs */
	uint64_t unhandled;                      /* accesses nobody claimed */
};

void bus_init(struct bus *b, const char *name);
/* -1 when the range overlaps one already attached or the bus is full. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct io_handler *ops,
		 void *opaque, const char *name);
/* Dispatches one access. Unclaimed reads return all ones, as an open bus
 * does; unclaimed writes are dropped. Returns false when unclaimed. */
bool bus_access(struct bus *b, uint64_t addr, uint8_t *data, unsigned size, bool is_write);

#endif
