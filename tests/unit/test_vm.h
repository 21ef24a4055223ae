/* A machine for device tests: what vm_init_machine gives (buses, locks,
 * clock), with a stub engine of the test's choosing and no guest memory,
 * plus port access the way a vCPU's IN and OUT reach the bus. */
#ifndef POPEK_TEST_VM_H
#define POPEK_TEST_VM_H

#include <stdlib.h>

#include "vm.h"

static inline struct vm *test_vm_new(const struct engine *engine, int ncpus, uint64_t ram)
{
	struct vm_config cfg = {
		.ram_size = ram, .ncpus = ncpus, .console_in_fd = -1, .console_out_fd = -1,
	};
	struct vm *vm = calloc(1, sizeof(*vm));
	vm_init_machine(vm, engine, &cfg);
	return vm;
}

static inline uint32_t pio_in(struct vm *vm, uint16_t port, unsigned size)
{
	uint8_t d[4] = { 0 };
	bus_access(&vm->pio, port, d, size, false);
	return d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
}

static inline void pio_out(struct vm *vm, uint16_t port, uint32_t v, unsigned size)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	bus_access(&vm->pio, port, d, size, true);
}

#endif
