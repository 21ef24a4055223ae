/* The PC's cascaded pair of Intel 8259A programmable interrupt controllers,
 * as the datasheet describes them, with no tie to a machine: ISA lines go in
 * through pic_set_irq, the guest reaches the registers through pic_read and
 * pic_write, and the CPU side is pic_output (the master's INT pin) and
 * pic_ack (the INTA cycle). The slave's INT drives the master's IR2.
 *
 * The trigger mode of each line comes from ICW1.LTIM and the PC's edge/level
 * control registers (ELCR, ports 0x4d0/0x4d1). No locking: the caller
 * serializes. */
#ifndef POPEK_DEV_PIC_H
#define POPEK_DEV_PIC_H

#include <stdbool.h>
#include <stdint.h>

#define PIC_MASTER_PORT   0x20
#define PIC_SLAVE_PORT    0xa0
#define PIC_ELCR_PORT     0x4d0
#define PIC_CASCADE_IRQ   2

struct pic_chip {
	uint8_t irr;            /* requests latched on rising edges (edge mode) */
	uint8_t lines;          /* input levels as last set */
	uint8_t isr, imr;
	uint8_t elcr;           /* 1: level-triggered line */
	uint8_t elcr_writable;  /* bits the PC's ELCR lets software set */
	uint8_t vector_base;    /* ICW2, bits 7..3 */
	uint8_t icw3;
	uint8_t lowest;         /* the IR with lowest priority (rotation) */
	uint8_t init_step;      /* 0: ready; 2..4: next ICW expected */
	bool icw4_needed, single, ltim;
	bool auto_eoi, rotate_on_aeoi, special_fully_nested, special_mask;
	bool read_isr;          /* OCW3 RR/RIS: port 0 reads ISR, else IRR */
	bool poll;              /* OCW3 P: the next port-0 read is a poll */
	bool is_slave;
};

struct pic {
	struct pic_chip master, slave;
};

/* Power-on state: both chips uninitialized with every line masked until
 * the guest's ICW sequence sets them up. */
void pic_init(struct pic *p);

/* ISA IRQ 0..15 at level (0 or 1). IRQ 2 is the cascade and ignored. */
void pic_set_irq(struct pic *p, unsigned irq, int level);

/* chip 0 is the master, 1 the slave; port is 0 (command) or 1 (data). */
uint8_t pic_read(struct pic *p, unsigned chip, unsigned port);
void pic_write(struct pic *p, unsigned chip, unsigned port, uint8_t val);
/* ELCR byte 0 (IRQ 0-7) or 1 (IRQ 8-15). */
uint8_t pic_elcr_read(struct pic *p, unsigned which);
void pic_elcr_write(struct pic *p, unsigned which, uint8_t val);

/* The master's INT output: an interrupt is waiting for an INTA. */
bool pic_output(const struct pic *p);
/* The vector the next INTA would return, without taking it; -1 if none. */
int pic_peek(const struct pic *p);
/* The INTA cycle: the vector, with the request moved to the ISR (unless
 * auto-EOI). With no request left the chip answers its IR7: spurious. */
int pic_ack(struct pic *p);

#endif
