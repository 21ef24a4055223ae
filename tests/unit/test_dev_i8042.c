/* The i8042 core: what Linux's probe asks it, its interrupts and its reset
 * line. */
#include "check.h"
#include "dev/i8042.h"
#include "dev/platform.h"

struct probe {
	int level[16];
	int raises[16];
	int resets;
};

static void on_irq(void *opaque, unsigned line, int level)
{
	struct probe *p = opaque;
	p->level[line] = level;
	if (level)
		p->raises[line]++;
}

static void on_reset(void *opaque)
{
	struct probe *p = opaque;
	p->resets++;
}

static void fresh(struct i8042 *c, struct probe *p)
{
	memset(p, 0, sizeof(*p));
	i8042_init(c, on_irq, on_reset, p);
}

/* What a driver does: command, then wait for OBF and read the answer. */
static int command(struct i8042 *c, uint8_t cmd)
{
	i8042_write_command(c, cmd);
	if (!(i8042_read_status(c) & I8042_STR_OBF))
		return -1;
	return i8042_read_data(c);
}

static void test_status(void)
{
	struct i8042 c;
	struct probe p;
	fresh(&c, &p);
	uint8_t s = i8042_read_status(&c);
	CHECK(s != 0xff, "i8042: status is not 0xff (a controller is present)");
	CHECK_EQ(s & I8042_STR_OBF, 0, "i8042: output buffer empty at start");
	CHECK_EQ(s & I8042_STR_IBF, 0, "i8042: input buffer never full");
	CHECK_EQ(s & I8042_STR_SYS, I8042_STR_SYS, "i8042: system flag set (POST passed)");
	CHECK_EQ(s & I8042_STR_UNLOCKED, I8042_STR_UNLOCKED, "i8042: keyboard not inhibited");
}

static void test_commands(void)
{
	struct i8042 c;
	struct probe p;
	fresh(&c, &p);
	CHECK_EQ(command(&c, 0xaa), 0x55, "i8042: self-test 0xAA answers 0x55");
	CHECK_EQ(i8042_read_status(&c) & I8042_STR_CMD, I8042_STR_CMD,
		 "i8042: status A2 set after a command port write");
	CHECK_EQ(command(&c, 0xab), 0x00, "i8042: keyboard interface test 0xAB answers 0");
	CHECK_EQ(command(&c, 0xa9), 0x00, "i8042: mouse interface test 0xA9 answers 0");
	CHECK_EQ(command(&c, 0x20), 0x45, "i8042: command byte reads 0x45 (XLATE SYS KBDINT)");
	i8042_write_command(&c, 0x60);
	i8042_write_data(&c, 0x47);
	CHECK_EQ(i8042_read_status(&c) & (I8042_STR_CMD | I8042_STR_OBF), 0,
		 "i8042: command byte write answers nothing, A2 clear after a data write");
	CHECK_EQ(command(&c, 0x20), 0x47, "i8042: command byte reads back what 0x60 wrote");
	i8042_write_command(&c, 0xad);
	CHECK_EQ(command(&c, 0x20) & I8042_CTR_KBDDIS, I8042_CTR_KBDDIS, "i8042: 0xAD disables the keyboard port");
	i8042_write_command(&c, 0xae);
	CHECK_EQ(command(&c, 0x20) & I8042_CTR_KBDDIS, 0, "i8042: 0xAE enables the keyboard port");
	i8042_write_command(&c, 0xa7);
	CHECK_EQ(command(&c, 0x20) & I8042_CTR_AUXDIS, I8042_CTR_AUXDIS, "i8042: 0xA7 disables the mouse port");
	i8042_write_command(&c, 0xa8);
	CHECK_EQ(command(&c, 0x20) & I8042_CTR_AUXDIS, 0, "i8042: 0xA8 enables the mouse port");
	int out = command(&c, 0xd0);
	CHECK_EQ(out & (I8042_OUT_RESET | I8042_OUT_A20), I8042_OUT_RESET | I8042_OUT_A20,
		 "i8042: output port 0xD0 shows reset inactive and A20 on");
	CHECK_EQ(i8042_read_data(&c), out, "i8042: port 0x60 keeps its last byte once read");
	i8042_write_command(&c, 0xd3);
	i8042_write_data(&c, 0x5a);
	CHECK_EQ(i8042_read_status(&c) & (I8042_STR_OBF | I8042_STR_AUXDATA),
		 I8042_STR_OBF | I8042_STR_AUXDATA, "i8042: 0xD3 loops a byte back as mouse data");
	CHECK_EQ(i8042_read_data(&c), 0x5a, "i8042: 0xD3 byte reads back");
	i8042_write_data(&c, 0xf2);  /* GET ID to the keyboard */
	uint8_t s = i8042_read_status(&c);
	CHECK_EQ(s & (I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXDATA),
		 I8042_STR_OBF | I8042_STR_TIMEOUT, "i8042: a byte for the absent keyboard times out");
	CHECK_EQ(i8042_read_data(&c), 0xfe, "i8042: ... with a NAK");
	i8042_write_command(&c, 0xd4);
	i8042_write_data(&c, 0xf2);
	CHECK_EQ(i8042_read_status(&c) & (I8042_STR_TIMEOUT | I8042_STR_AUXDATA),
		 I8042_STR_TIMEOUT | I8042_STR_AUXDATA, "i8042: a byte for the absent mouse times out on the mouse port");
	i8042_read_data(&c);
	CHECK_EQ(p.resets, 0, "i8042: none of these resets the machine");
}

static void test_irq(void)
{
	struct i8042 c;
	struct probe p;
	fresh(&c, &p);
	i8042_write_command(&c, 0xaa);
	CHECK_EQ(p.level[IRQ_KEYBOARD], 1, "i8042: a queued answer raises IRQ 1 with KBDINT");
	i8042_write_command(&c, 0xab);
	i8042_read_data(&c);
	CHECK(p.level[IRQ_KEYBOARD] == 1 && p.raises[IRQ_KEYBOARD] == 2,
	      "i8042: the next queued byte gets a fresh edge");
	i8042_read_data(&c);
	CHECK_EQ(p.level[IRQ_KEYBOARD], 0, "i8042: IRQ 1 drops once the buffer is read");
	i8042_write_command(&c, 0x60);
	i8042_write_data(&c, I8042_CTR_AUXINT | I8042_CTR_SYS);
	i8042_write_command(&c, 0xaa);
	CHECK_EQ(p.level[IRQ_KEYBOARD], 0, "i8042: no IRQ 1 with KBDINT off");
	i8042_read_data(&c);
	i8042_write_command(&c, 0xd3);
	i8042_write_data(&c, 0x11);
	CHECK_EQ(p.level[IRQ_MOUSE], 1, "i8042: mouse data raises IRQ 12 with AUXINT");
	i8042_read_data(&c);
	CHECK_EQ(p.level[IRQ_MOUSE], 0, "i8042: IRQ 12 drops once read");
}

static void test_reset(void)
{
	struct i8042 c;
	struct probe p;
	fresh(&c, &p);
	i8042_write_command(&c, 0xff);
	CHECK_EQ(p.resets, 0, "i8042: 0xFF pulses no line");
	i8042_write_command(&c, 0xfe);
	CHECK_EQ(p.resets, 1, "i8042: 0xFE pulses the reset line");
	i8042_write_command(&c, 0xd1);
	i8042_write_data(&c, I8042_OUT_RESET | I8042_OUT_A20);
	CHECK_EQ(p.resets, 1, "i8042: output port write with bit 0 set keeps running");
	i8042_write_command(&c, 0xd1);
	i8042_write_data(&c, I8042_OUT_A20);
	CHECK_EQ(p.resets, 2, "i8042: output port write with bit 0 clear resets");
}

int main(void)
{
	test_status();
	test_commands();
	test_irq();
	test_reset();
	return CHECK_DONE();
}
