/* The 8259A pair core: the programming Linux does (arch/x86 i8259 init and
 * its mask/EOI sequence) and the datasheet's corner cases. */
#include "check.h"
#include "dev/pic.h"

/* ICW1..ICW4 as Linux's init_8259A writes them: edge, cascade, ICW4,
 * vectors 0x30/0x38, slave on IR2, 8086 mode. */
static void linux_init(struct pic *p, uint8_t icw4)
{
	pic_init(p);
	pic_write(p, 0, 1, 0xff);
	pic_write(p, 1, 1, 0xff);
	pic_write(p, 0, 0, 0x11);
	pic_write(p, 0, 1, 0x30);
	pic_write(p, 0, 1, 1u << 2);
	pic_write(p, 0, 1, icw4);
	pic_write(p, 1, 0, 0x11);
	pic_write(p, 1, 1, 0x38);
	pic_write(p, 1, 1, 2);
	pic_write(p, 1, 1, icw4);
	pic_write(p, 0, 1, 0x00);
	pic_write(p, 1, 1, 0x00);
}

static uint8_t read_isr(struct pic *p, unsigned chip)
{
	pic_write(p, chip, 0, 0x0b);
	uint8_t v = pic_read(p, chip, 0);
	pic_write(p, chip, 0, 0x0a);
	return v;
}

static void test_init_and_mask(void)
{
	struct pic p;
	linux_init(&p, 0x01);
	CHECK_EQ(pic_read(&p, 0, 1), 0x00, "pic init: IMR after OCW1 0 reads 0");
	pic_write(&p, 0, 1, 0xfa);
	CHECK_EQ(pic_read(&p, 0, 1), 0xfa, "pic mask: OCW1 reads back through port 0x21");
	CHECK(!pic_output(&p), "pic init: no interrupt after init");
	pic_set_irq(&p, 3, 1);
	CHECK(!pic_output(&p), "pic mask: a masked IRQ 3 raises no INT");
	pic_write(&p, 0, 0, 0x0a);
	CHECK_EQ(pic_read(&p, 0, 0) & 0x08, 0x08, "pic mask: IRR (OCW3 0x0a) shows the masked request");
	pic_write(&p, 0, 1, 0xf2);
	CHECK(pic_output(&p), "pic mask: unmasking IRQ 3 raises INT");
	CHECK_EQ(pic_peek(&p), 0x33, "pic init: IRQ 3 is vector base 0x30 + 3");
	CHECK_EQ(pic_ack(&p), 0x33, "pic ack: INTA returns 0x33");
	CHECK_EQ(read_isr(&p, 0), 0x08, "pic ack: INTA moved IRQ 3 into the ISR");
	pic_write(&p, 0, 0, 0x0a);
	CHECK_EQ(pic_read(&p, 0, 0) & 0x08, 0, "pic ack: and out of the IRR");
	pic_write(&p, 0, 0, 0x20);
	CHECK_EQ(read_isr(&p, 0), 0, "pic EOI: non-specific EOI clears it");
	/* ICW1 clears the IMR, as the datasheet says. */
	pic_write(&p, 0, 1, 0xff);
	pic_write(&p, 0, 0, 0x11);
	pic_write(&p, 0, 1, 0x08);
	pic_write(&p, 0, 1, 0x04);
	pic_write(&p, 0, 1, 0x01);
	CHECK_EQ(pic_read(&p, 0, 1), 0, "pic init: ICW1 clears the mask");
	CHECK_EQ(pic_peek(&p), -1, "pic init: a line still high needs a new edge after ICW1");
}

static void test_priority(void)
{
	struct pic p;
	linux_init(&p, 0x01);
	pic_set_irq(&p, 5, 1);
	pic_set_irq(&p, 1, 1);
	CHECK_EQ(pic_ack(&p), 0x31, "pic priority: IRQ 1 before IRQ 5");
	CHECK(!pic_output(&p), "pic priority: IRQ 5 waits while IRQ 1 is in service");
	pic_set_irq(&p, 0, 1);
	CHECK_EQ(pic_peek(&p), 0x30, "pic priority: IRQ 0 preempts IRQ 1 in service");
	CHECK_EQ(pic_ack(&p), 0x30, "pic priority: INTA takes IRQ 0");
	CHECK_EQ(read_isr(&p, 0), 0x03, "pic priority: IRQ 0 and 1 both in service");
	pic_write(&p, 0, 0, 0x20);
	CHECK_EQ(read_isr(&p, 0), 0x02, "pic EOI: non-specific ends the highest (IRQ 0)");
	pic_write(&p, 0, 0, 0x61);
	CHECK_EQ(read_isr(&p, 0), 0x00, "pic EOI: specific EOI 0x61 ends IRQ 1");
	CHECK_EQ(pic_ack(&p), 0x35, "pic priority: IRQ 5 gets its turn");
	pic_write(&p, 0, 0, 0x65);

	/* Set priority (OCW2 0xc0 | L): IR L becomes the lowest. */
	pic_set_irq(&p, 1, 0);
	pic_set_irq(&p, 1, 1);
	pic_set_irq(&p, 6, 1);
	pic_write(&p, 0, 0, 0xc0 | 3);
	CHECK_EQ(pic_ack(&p), 0x36, "pic rotate: with IR3 lowest, IR6 outranks IR1");
	pic_write(&p, 0, 0, 0xa0);  /* rotate on non-specific EOI: IR6 becomes lowest */
	CHECK_EQ(read_isr(&p, 0), 0, "pic rotate: rotate-on-EOI ends IR6");
	pic_set_irq(&p, 6, 0);
	pic_set_irq(&p, 6, 1);
	CHECK_EQ(pic_ack(&p), 0x31, "pic rotate: IR6 is now lowest, IR1 goes first");
}

static void test_cascade(void)
{
	struct pic p;
	linux_init(&p, 0x01);
	pic_set_irq(&p, 12, 1);
	CHECK(pic_output(&p), "pic cascade: IRQ 12 reaches the master through IR2");
	CHECK_EQ(pic_ack(&p), 0x3c, "pic cascade: INTA returns the slave's vector 0x3c");
	CHECK_EQ(read_isr(&p, 0), 0x04, "pic cascade: master ISR holds IR2");
	CHECK_EQ(read_isr(&p, 1), 0x10, "pic cascade: slave ISR holds IR4");
	pic_set_irq(&p, 3, 1);
	CHECK(!pic_output(&p), "pic cascade: IRQ 3 waits behind IRQ 12 (IR2) in service");
	pic_set_irq(&p, 8, 1);
	CHECK(!pic_output(&p), "pic cascade: IRQ 8 waits too without special fully nested mode");
	pic_write(&p, 1, 0, 0x64);
	pic_write(&p, 0, 0, 0x62);
	CHECK_EQ(pic_ack(&p), 0x38, "pic cascade: after both EOIs IRQ 8 comes (IR2 outranks IR3)");
	pic_write(&p, 1, 1, 0x01);
	pic_write(&p, 1, 0, 0x60);
	pic_write(&p, 0, 0, 0x62);
	CHECK_EQ(pic_ack(&p), 0x33, "pic cascade: IRQ 3 next");
	pic_write(&p, 0, 1, 0x04);
	pic_write(&p, 0, 0, 0x20);
	pic_set_irq(&p, 9, 1);
	CHECK(!pic_output(&p), "pic cascade: masking IR2 on the master hides the slave");
}

static void test_spurious(void)
{
	struct pic p;
	linux_init(&p, 0x01);
	pic_elcr_write(&p, 0, 0x20);
	pic_elcr_write(&p, 1, 0x04);
	pic_set_irq(&p, 5, 1);
	CHECK_EQ(pic_peek(&p), 0x35, "pic spurious: level IRQ 5 requests");
	pic_set_irq(&p, 5, 0);
	CHECK_EQ(pic_ack(&p), 0x37, "pic spurious: the line fell before INTA: IRQ 7 (0x37)");
	CHECK_EQ(read_isr(&p, 0), 0, "pic spurious: the spurious IRQ 7 sets no ISR bit");
	pic_set_irq(&p, 10, 1);
	CHECK_EQ(pic_peek(&p), 0x3a, "pic spurious: level IRQ 10 requests through the cascade");
	pic_set_irq(&p, 10, 0);
	CHECK_EQ(pic_ack(&p), 0x37, "pic spurious: with the slave's line gone the master has nothing");
	/* popek's INTA is one step, so the master never commits to IR2 for a
	 * slave request that is gone: the spurious answer is the master's. */
	pic_set_irq(&p, 10, 1);
	pic_write(&p, 1, 1, 0x04);
	CHECK(!pic_output(&p), "pic cascade: a masked slave line does not reach the master");
	pic_write(&p, 1, 1, 0x00);
	CHECK_EQ(pic_ack(&p), 0x3a, "pic cascade: unmasked, level IRQ 10 is taken");
	CHECK_EQ(read_isr(&p, 0), 0x04, "pic cascade: master ISR IR2 for the slave's level IRQ");
	CHECK_EQ(pic_elcr_read(&p, 1), 0x04, "pic ELCR: slave ELCR reads back");
}

static void test_level_edge_aeoi_poll(void)
{
	struct pic p;
	linux_init(&p, 0x01);
	pic_elcr_write(&p, 0, 0xff);
	CHECK_EQ(pic_elcr_read(&p, 0), 0xf8, "pic ELCR: IRQ 0-2 stay edge on the master");
	pic_elcr_write(&p, 1, 0xff);
	CHECK_EQ(pic_elcr_read(&p, 1), 0xde, "pic ELCR: IRQ 8 and 13 stay edge on the slave");
	pic_elcr_write(&p, 0, 0x08);
	pic_elcr_write(&p, 1, 0x00);
	pic_set_irq(&p, 3, 1);
	CHECK_EQ(pic_ack(&p), 0x33, "pic level: IRQ 3 taken");
	pic_write(&p, 0, 0, 0x63);
	CHECK_EQ(pic_peek(&p), 0x33, "pic level: still high after EOI, IRQ 3 requests again");
	pic_set_irq(&p, 3, 0);
	CHECK_EQ(pic_peek(&p), -1, "pic level: the request goes with the line");
	pic_set_irq(&p, 4, 1);
	CHECK_EQ(pic_ack(&p), 0x34, "pic edge: IRQ 4 taken");
	pic_write(&p, 0, 0, 0x64);
	CHECK_EQ(pic_peek(&p), -1, "pic edge: a line held high does not request again");
	pic_set_irq(&p, 4, 0);
	pic_set_irq(&p, 4, 1);
	pic_set_irq(&p, 4, 0);
	CHECK_EQ(pic_peek(&p), 0x34, "pic edge: a pulse stays latched until INTA");
	pic_ack(&p);
	pic_write(&p, 0, 0, 0x20);

	pic_set_irq(&p, 6, 1);
	pic_write(&p, 0, 0, 0x0c);
	CHECK_EQ(pic_read(&p, 0, 0), 0x86, "pic poll: OCW3 0x0c then a read gives 0x86 (IR6)");
	CHECK_EQ(read_isr(&p, 0), 0x40, "pic poll: the poll acknowledged IR6");
	pic_write(&p, 0, 0, 0x0c);
	CHECK_EQ(pic_read(&p, 0, 0), 0x00, "pic poll: nothing pending polls as 0");
	pic_write(&p, 0, 0, 0x20);

	/* Special mask mode: a masked in-service level stops blocking. */
	pic_set_irq(&p, 1, 1);
	pic_ack(&p);
	pic_set_irq(&p, 5, 1);
	CHECK(!pic_output(&p), "pic SMM: IRQ 5 blocked by IRQ 1 in service");
	pic_write(&p, 0, 0, 0x68);
	pic_write(&p, 0, 1, 0x02);
	CHECK_EQ(pic_peek(&p), 0x35, "pic SMM: with IR1 masked in special mask mode, IRQ 5 comes");
	pic_write(&p, 0, 0, 0x48);
	pic_write(&p, 0, 1, 0x00);
	CHECK(!pic_output(&p), "pic SMM: leaving special mask mode blocks it again");

	struct pic a;
	linux_init(&a, 0x03);
	a.master.elcr = 0;
	pic_set_irq(&a, 1, 1);
	CHECK_EQ(pic_ack(&a), 0x31, "pic AEOI: INTA returns IRQ 1");
	CHECK_EQ(read_isr(&a, 0), 0, "pic AEOI: auto-EOI leaves the ISR empty");
	pic_set_irq(&a, 3, 1);
	CHECK_EQ(pic_ack(&a), 0x33, "pic AEOI: the next IRQ needs no EOI");
	CHECK_EQ(pic_ack(&a), 0x37, "pic AEOI: nothing left: spurious IRQ 7");
}

int main(void)
{
	test_init_and_mask();
	test_priority();
	test_cascade();
	test_spurious();
	test_level_edge_aeoi_poll();
	return CHECK_DONE();
}
