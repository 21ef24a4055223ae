/* One interrupt message between APICs: what an I/O APIC redirection entry
 * or a local APIC's ICR puts on the (system) bus, and what a local APIC
 * accepts. Field meanings are the SDM's (vol. 3, "Advanced Programmable
 * Interrupt Controller") and the 82093AA datasheet's. */
#ifndef POPEK_DEV_APIC_BUS_H
#define POPEK_DEV_APIC_BUS_H

#include <stdbool.h>
#include <stdint.h>

enum apic_delivery {
	APIC_DM_FIXED = 0,
	APIC_DM_LOWEST = 1,
	APIC_DM_SMI = 2,
	APIC_DM_NMI = 4,
	APIC_DM_INIT = 5,
	APIC_DM_SIPI = 6,   /* the ICR's start-up; 7 is ExtINT in LVTs and the I/O APIC */
	APIC_DM_EXTINT = 7,
};

enum apic_shorthand {
	APIC_SH_NONE = 0,
	APIC_SH_SELF = 1,
	APIC_SH_ALL = 2,
	APIC_SH_OTHERS = 3,
};

struct apic_msg {
	uint32_t dest;          /* APIC ID (physical) or logical mask */
	bool logical;
	enum apic_delivery mode;
	uint8_t vector;
	bool level;             /* level-triggered: the target's EOI is broadcast back */
	bool assert;            /* INIT with level 0 is the INIT de-assert, a no-op */
	enum apic_shorthand shorthand;
	int source;             /* sending vCPU for shorthands, -1 from the I/O APIC */
};

/* The xAPIC broadcast physical ID; x2APIC's is 0xffffffff. */
#define APIC_BROADCAST_XAPIC 0xffu
#define APIC_BROADCAST_X2APIC 0xffffffffu

#endif
