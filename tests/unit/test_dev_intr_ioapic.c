/* The 82093AA core: register access through IOREGSEL/IOWIN, redirection
 * entries turned into APIC messages, masking, and level-triggered pins
 * held by remote IRR until the EOI. */
#include "check.h"
#include "dev/ioapic.h"

static struct apic_msg sent[16];
static int nsent;

static void record(void *opaque, const struct apic_msg *m)
{
	(void)opaque;
	if (nsent < 16)
		sent[nsent] = *m;
	nsent++;
}

static uint32_t reg_read(struct ioapic *io, unsigned reg)
{
	ioapic_write(io, IOAPIC_REGSEL, reg);
	return ioapic_read(io, IOAPIC_WINDOW);
}

static void reg_write(struct ioapic *io, unsigned reg, uint32_t v)
{
	ioapic_write(io, IOAPIC_REGSEL, reg);
	ioapic_write(io, IOAPIC_WINDOW, v);
}

static void set_entry(struct ioapic *io, unsigned pin, uint64_t e)
{
	reg_write(io, 0x11 + 2 * pin, (uint32_t)(e >> 32));
	reg_write(io, 0x10 + 2 * pin, (uint32_t)e);
}

static void test_registers(void)
{
	struct ioapic io;
	ioapic_init(&io, 2, record, NULL);
	CHECK_EQ(reg_read(&io, 0x00), 2u << 24, "ioapic: ID register holds the ID in bits 27-24");
	CHECK_EQ(reg_read(&io, 0x01), 0x00170011, "ioapic: version 0x11 with 24 entries (max 0x17)");
	CHECK_EQ(reg_read(&io, 0x02), 2u << 24, "ioapic: arbitration ID follows the ID");
	reg_write(&io, 0x00, 0x0f000000);
	CHECK_EQ(reg_read(&io, 0x00), 0x0f000000, "ioapic: the ID is writable");
	CHECK_EQ(ioapic_read(&io, IOAPIC_REGSEL), 0x00, "ioapic: IOREGSEL reads back");
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin += 23)
		CHECK_EQ(reg_read(&io, 0x10 + 2 * pin), 0x10000, "ioapic: entry %u resets masked", pin);
	set_entry(&io, 5, 0x0300000000000000ull | IOAPIC_MASKED | IOAPIC_LEVEL | IOAPIC_ACTIVE_LOW | 0x800 | 0x41);
	CHECK_EQ(reg_read(&io, 0x1a), 0x0001a841, "ioapic: entry low half reads back");
	CHECK_EQ(reg_read(&io, 0x1b), 0x03000000, "ioapic: entry high half holds the destination");
	reg_write(&io, 0x1a, 0x15041);  /* tries to set delivery status and remote IRR */
	CHECK_EQ(reg_read(&io, 0x1a), 0x00010041, "ioapic: delivery status and remote IRR are read-only");
	CHECK_EQ(reg_read(&io, 0x40), 0, "ioapic: registers past the table read 0");
	CHECK_EQ(nsent, 0, "ioapic: nothing delivered while programming");
}

static void test_edge_delivery(void)
{
	struct ioapic io;
	ioapic_init(&io, 0, record, NULL);
	nsent = 0;
	ioapic_set_irq(&io, 4, 1);
	CHECK_EQ(nsent, 0, "ioapic: a masked pin delivers nothing");
	ioapic_set_irq(&io, 4, 0);
	set_entry(&io, 4, 0x0100000000000000ull | 0x34);
	ioapic_set_irq(&io, 4, 1);
	CHECK_EQ(nsent, 1, "ioapic edge: one message per rising edge");
	CHECK(sent[0].vector == 0x34 && sent[0].dest == 1 && !sent[0].logical &&
	      sent[0].mode == APIC_DM_FIXED && !sent[0].level,
	      "ioapic edge: fixed, physical, vector 0x34 to APIC 1");
	ioapic_set_irq(&io, 4, 1);
	CHECK_EQ(nsent, 1, "ioapic edge: a line held high sends no more");
	ioapic_set_irq(&io, 4, 0);
	ioapic_set_irq(&io, 4, 1);
	CHECK_EQ(nsent, 2, "ioapic edge: a new edge sends again");
	set_entry(&io, 7, 0xff00000000000000ull | IOAPIC_LOGICAL | (1u << 8) | 0x50);
	ioapic_set_irq(&io, 7, 1);
	CHECK(nsent == 3 && sent[2].logical && sent[2].mode == APIC_DM_LOWEST && sent[2].dest == 0xff,
	      "ioapic edge: lowest priority, logical destination 0xff");
	set_entry(&io, 9, (4u << 8));
	ioapic_set_irq(&io, 9, 1);
	CHECK(nsent == 4 && sent[3].mode == APIC_DM_NMI, "ioapic: NMI delivery mode");
	set_entry(&io, 0, (7u << 8));
	ioapic_set_irq(&io, 0, 1);
	CHECK(nsent == 5 && sent[4].mode == APIC_DM_EXTINT, "ioapic: ExtINT delivery mode");
	ioapic_set_irq(&io, 30, 1);
	CHECK_EQ(nsent, 5, "ioapic: pins past 23 are ignored");
}

static void test_level_remote_irr(void)
{
	struct ioapic io;
	ioapic_init(&io, 0, record, NULL);
	nsent = 0;
	set_entry(&io, 10, IOAPIC_LEVEL | IOAPIC_MASKED | 0x61);
	ioapic_set_irq(&io, 10, 1);
	CHECK_EQ(nsent, 0, "ioapic level: masked, nothing yet");
	set_entry(&io, 10, IOAPIC_LEVEL | 0x61);
	CHECK(nsent == 1 && sent[0].level, "ioapic level: unmasking an asserted pin delivers");
	CHECK(reg_read(&io, 0x24) & IOAPIC_REMOTE_IRR, "ioapic level: remote IRR set once delivered");
	ioapic_set_irq(&io, 10, 0);
	ioapic_set_irq(&io, 10, 1);
	CHECK_EQ(nsent, 1, "ioapic level: no new message while remote IRR is set");
	ioapic_eoi(&io, 0x62);
	CHECK_EQ(nsent, 1, "ioapic level: an EOI for another vector changes nothing");
	ioapic_eoi(&io, 0x61);
	CHECK_EQ(nsent, 2, "ioapic level: the EOI redelivers while the pin is still asserted");
	ioapic_set_irq(&io, 10, 0);
	ioapic_eoi(&io, 0x61);
	CHECK(!(reg_read(&io, 0x24) & IOAPIC_REMOTE_IRR), "ioapic level: EOI clears remote IRR");
	CHECK_EQ(nsent, 2, "ioapic level: a deasserted pin is not redelivered");

	set_entry(&io, 11, IOAPIC_LEVEL | IOAPIC_ACTIVE_LOW | 0x62);
	CHECK_EQ(nsent, 3, "ioapic polarity: an active-low pin with its line low is asserted");
	ioapic_set_irq(&io, 11, 1);
	ioapic_eoi(&io, 0x62);
	CHECK_EQ(nsent, 3, "ioapic polarity: a high line deasserts an active-low pin");
}

int main(void)
{
	test_registers();
	test_edge_delivery();
	test_level_remote_irr();
	return CHECK_DONE();
}
