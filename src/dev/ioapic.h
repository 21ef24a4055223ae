/* The Intel 82093AA I/O APIC, as the datasheet describes it, with no tie to
 * a machine: 24 input pins, each with a redirection entry that turns an
 * assertion into an APIC message (apic_bus.h) handed to deliver(). The
 * guest reaches the registers through IOREGSEL (offset 0x00) and IOWIN
 * (offset 0x10); local APICs report level-triggered EOIs through
 * ioapic_eoi. No locking: the caller serializes. */
#ifndef POPEK_DEV_IOAPIC_H
#define POPEK_DEV_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/apic_bus.h"

#define IOAPIC_PINS      24
#define IOAPIC_VERSION   0x11
#define IOAPIC_MMIO_SIZE 0x1000
#define IOAPIC_REGSEL    0x00
#define IOAPIC_WINDOW    0x10

/* Redirection entry bits. */
#define IOAPIC_VECTOR      0xffull
#define IOAPIC_DM_SHIFT    8
#define IOAPIC_LOGICAL     (1ull << 11)
#define IOAPIC_PENDING     (1ull << 12)   /* delivery status, read-only */
#define IOAPIC_ACTIVE_LOW  (1ull << 13)
#define IOAPIC_REMOTE_IRR  (1ull << 14)   /* read-only */
#define IOAPIC_LEVEL       (1ull << 15)
#define IOAPIC_MASKED      (1ull << 16)
#define IOAPIC_DEST_SHIFT  56

struct ioapic {
	uint8_t id;
	uint8_t regsel;
	uint32_t lines;                 /* pin input levels as last set */
	uint64_t redir[IOAPIC_PINS];
	void (*deliver)(void *opaque, const struct apic_msg *m);
	void *opaque;
};

/* Reset state: every entry masked, edge, active high. */
void ioapic_init(struct ioapic *io, uint8_t id,
		 void (*deliver)(void *opaque, const struct apic_msg *m), void *opaque);

/* 32-bit accesses at offset 0x00 or 0x10; anything else reads 0. */
uint32_t ioapic_read(struct ioapic *io, uint64_t off);
void ioapic_write(struct ioapic *io, uint64_t off, uint32_t val);

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level);
/* A local APIC ended a level-triggered vector: clear remote IRR of the
 * entries with that vector and deliver again if their pin is still asserted. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

#endif
