/* The platform devices as the guest reaches them: through the buses of a
 * hand-made machine with no engine behind it. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "dev/device_state.h"
#include "dev/platform.h"
#include "test_vm.h"
#include "vm.h"

static int irq_level[32];
static int irq_raises[32];

static int record_irq(struct vm *vm, unsigned line, int level)
{
	(void)vm;
	if (line < 32) {
		irq_level[line] = level;
		irq_raises[line] += level != 0;
	}
	return 0;
}

/* Just enough engine for vm_irq_line to reach a recorder. */
static const struct engine test_engine = { .name = "test", .irq_line = record_irq };

static struct vm *new_vm(uint64_t ram)
{
	struct vm *vm = test_vm_new(&test_engine, 0, ram);
	memset(irq_level, 0, sizeof(irq_level));
	memset(irq_raises, 0, sizeof(irq_raises));
	return vm;
}

static void attach(struct vm *vm, struct device_desc *d)
{
	char err[256] = "";
	int rc = d->create(vm, err, sizeof(err));
	CHECK(rc == 0, "%s: attaches to a machine (%s)", d->name, err);
}

static void free_vm(struct vm *vm, struct device_desc *d)
{
	if (d->destroy)
		d->destroy(vm);
	free(vm);
}

static void test_pci_config(void)
{
	struct vm *vm = new_vm(64 << 20);
	attach(vm, &pci_config_device);
	pio_out(vm, PORT_PCI_ADDRESS, 0x80000000, 4);
	CHECK_EQ(pio_in(vm, PORT_PCI_ADDRESS, 4), 0x80000000, "pci: address register reads back 0x80000000");
	pio_out(vm, PORT_PCI_ADDRESS, 0x8000f80c, 4);
	CHECK_EQ(pio_in(vm, PORT_PCI_ADDRESS, 4), 0x8000f80c, "pci: address register reads back any value");
	static const unsigned widths[] = { 1, 2, 4 };
	for (unsigned w = 0; w < 3; w++)
		for (unsigned off = 0; off + widths[w] <= 4; off++)
			CHECK_EQ(pio_in(vm, PORT_PCI_DATA + off, widths[w]),
				 widths[w] == 4 ? 0xffffffffu : (1u << (8 * widths[w])) - 1,
				 "pci: data read width %u at 0xcfc+%u is all ones (slot 31: no device)", widths[w], off);
	pio_out(vm, PORT_PCI_ADDRESS, 0x8000f800, 4);
	pio_out(vm, PORT_PCI_DATA, 0x12345678, 4);
	CHECK_EQ(pio_in(vm, PORT_PCI_DATA, 4), 0xffffffff, "pci: data writes to an empty slot go nowhere");
	/* 00:00.0 is the host bridge Linux's type-1 probe looks for */
	pio_out(vm, PORT_PCI_ADDRESS, 0x80000000, 4);
	CHECK_EQ(pio_in(vm, PORT_PCI_DATA, 4), 0x00081b36, "pci: 00:00.0 is a host bridge (1b36:0008)");
	CHECK_EQ(pio_in(vm, PORT_PCI_DATA + 2, 2), 0x0008, "pci: a word read at 0xcfe is the device ID");
	pio_out(vm, PORT_PCI_ADDRESS, 0x80000008, 4);
	CHECK_EQ(pio_in(vm, PORT_PCI_DATA, 4) >> 8, 0x060000, "pci: the host bridge's class is 06:00:00");
	pio_out(vm, PORT_PCI_ADDRESS, 0x80000000, 4);
	pio_out(vm, PORT_PCI_DATA, 0x12345678, 4);
	CHECK_EQ(pio_in(vm, PORT_PCI_DATA, 4), 0x00081b36, "pci: the IDs are read-only");
	pio_out(vm, PORT_PCI_ADDRESS, 0x80000100, 4);
	CHECK_EQ(pio_in(vm, PORT_PCI_DATA, 4), 0xffffffff, "pci: function 1 of slot 0 is absent");
	pio_out(vm, PORT_PCI_ADDRESS, 0x80010000, 4);
	CHECK_EQ(pio_in(vm, PORT_PCI_DATA, 4), 0xffffffff, "pci: bus 1 is absent");
	pio_out(vm, PORT_PCI_ADDRESS, 0x00000000, 4);
	CHECK_EQ(pio_in(vm, PORT_PCI_DATA, 4), 0xffffffff, "pci: without the enable bit nothing is selected");
	pio_out(vm, PORT_PCI_ADDRESS, 0x80000000, 4);
	CHECK_EQ(pio_in(vm, PORT_PCI_ADDRESS, 4), 0x80000000, "pci: data accesses leave the address alone");
	CHECK_EQ(pio_in(vm, PORT_PCI_ADDRESS + 2, 1), 0xff, "pci: byte reads inside 0xcf8 do not show the address");
	pio_out(vm, PORT_PCI_ADDRESS + 3, 0x01, 1);
	CHECK_EQ(pio_in(vm, PORT_PCI_ADDRESS, 4), 0x80000000, "pci: byte writes do not touch the address");
	CHECK_EQ(vm->pio.unhandled, 0, "pci: every access was claimed");
	CHECK(!atomic_load(&vm->stopping), "pci: nothing so far resets the machine");
	pio_out(vm, PORT_PCI_ADDRESS + 1, 0x02, 1);
	CHECK(!atomic_load(&vm->stopping), "pci: 0xcf9 SYS_RST alone does not reset");
	pio_out(vm, PORT_PCI_ADDRESS + 1, 0x06, 1);
	CHECK(atomic_load(&vm->stopping) && vm->status == 0, "pci: 0xcf9 RST_CPU resets (status 0)");
	free_vm(vm, &pci_config_device);
}

static void test_debug_exit(void)
{
	CHECK_EQ(debug_exit_status(0), 1, "debug-exit: 0 gives status 1");
	CHECK_EQ(debug_exit_status(1), 3, "debug-exit: 1 gives status 3");
	CHECK_EQ(debug_exit_status(0x10), 0x21, "debug-exit: 0x10 gives status 0x21");
	CHECK_EQ(debug_exit_status(0x7f) & 0xff, 0xff, "debug-exit: 0x7f gives exit code 255");
	CHECK_EQ(debug_exit_status(0x80) & 0xff, 1, "debug-exit: 0x80 gives exit code 1 (low 8 bits, as QEMU)");
	CHECK_EQ(debug_exit_status(0x12345678), (int)0x2468acf1, "debug-exit: the full value is kept");

	static const struct { uint16_t port; uint32_t value; unsigned size; } writes[] = {
		{ 0xf4, 0x31, 1 }, { 0xf5, 0x02, 1 }, { 0xf6, 0x1234, 2 }, { 0xf4, 0xabcd, 4 },
	};
	for (unsigned i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		struct vm *vm = new_vm(64 << 20);
		attach(vm, &debug_exit_device);
		CHECK(!atomic_load(&vm->stopping), "debug-exit: the machine runs before the write");
		pio_out(vm, writes[i].port, writes[i].value, writes[i].size);
		CHECK(atomic_load(&vm->stopping), "debug-exit: a %u-byte write to %#x stops the machine",
		      writes[i].size, writes[i].port);
		CHECK_EQ(vm->status, (writes[i].value << 1) | 1,
			 "debug-exit: status of writing %#x is (N << 1) | 1", writes[i].value);
		CHECK_STR_CONTAINS(vm->stop_reason, "debug-exit", "debug-exit: the stop reason names the port");
		free_vm(vm, &debug_exit_device);
	}
}

/* Runs fn with stderr going into a pipe; returns what it wrote. */
static void capture_stderr(void (*fn)(struct vm *), struct vm *vm, char *buf, size_t n)
{
	int p[2];
	if (pipe(p) != 0) {
		buf[0] = 0;
		return;
	}
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	fn(vm);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	ssize_t r = read(p[0], buf, n - 1);
	buf[r > 0 ? r : 0] = 0;
	close(p[0]);
}

static void poke_boot_done(struct vm *vm)
{
	uint8_t v = BOOT_TIMER_MAGIC;
	bus_access(&vm->mmio, MMIO_BOOT_TIMER, &v, 1, true);
}

static void poke_wrong(struct vm *vm)
{
	uint8_t v = BOOT_TIMER_MAGIC - 1;
	bus_access(&vm->mmio, MMIO_BOOT_TIMER, &v, 1, true);
	v = BOOT_TIMER_MAGIC;
	bus_access(&vm->mmio, MMIO_BOOT_TIMER + 1, &v, 1, true);
	uint8_t w[4] = { BOOT_TIMER_MAGIC, 0, 0, 0 };
	bus_access(&vm->mmio, MMIO_BOOT_TIMER, w, 4, true);
}

static void test_boot_timer(void)
{
	char line[128];
	boot_timer_message(line, sizeof(line), 1234567);
	CHECK(strcmp(line, "popek: guest boot done in 1.234 ms (since popek started)\n") == 0,
	      "boot-timer: 1234567 ns prints as 1.234 ms");
	boot_timer_message(line, sizeof(line), 2005000999ull);
	CHECK_STR_CONTAINS(line, " 2005.000 ms ", "boot-timer: whole seconds print in ms with 3 decimals");

	struct vm *vm = new_vm(64 << 20);
	attach(vm, &boot_timer_device);
	vm->start_ns -= 5000000;  /* popek started 5 ms ago */
	char out_text[256];
	capture_stderr(poke_boot_done, vm, out_text, sizeof(out_text));
	CHECK_STR_CONTAINS(out_text, "popek: guest boot done in ", "boot-timer: the magic byte prints the line");
	double ms = 0;
	const char *at = strstr(out_text, " in ");
	CHECK(at && sscanf(at, " in %lf ms", &ms) == 1 && ms >= 5.0 && ms < 60000.0,
	      "boot-timer: the time counts from vm->start_ns (%.3f ms)", ms);
	capture_stderr(poke_wrong, vm, out_text, sizeof(out_text));
	CHECK_EQ(strlen(out_text), 0, "boot-timer: other values, offsets or widths print nothing");
	uint8_t d[8];
	memset(d, 0xaa, sizeof(d));
	bus_access(&vm->mmio, MMIO_BOOT_TIMER, d, 8, false);
	CHECK(memcmp(d, "\0\0\0\0\0\0\0\0", 8) == 0, "boot-timer: reads return 0");
	CHECK(!atomic_load(&vm->stopping), "boot-timer: the machine keeps running");
	free_vm(vm, &boot_timer_device);
}

static void test_post_code(void)
{
	struct vm *vm = new_vm(64 << 20);
	attach(vm, &post_code_device);
	uint8_t v = 0x42;
	CHECK(bus_access(&vm->pio, PORT_POST_CODE, &v, 1, true), "post-code: writes to 0x80 are claimed");
	CHECK_EQ(pio_in(vm, PORT_POST_CODE, 1), 0xff, "post-code: reads see no device");
	CHECK_EQ(vm->pio.unhandled, 0, "post-code: nothing counted as unhandled");
	free_vm(vm, &post_code_device);
}

static void pvpanic_crash_loaded(struct vm *vm)
{
	pio_out(vm, PORT_PVPANIC, PVPANIC_CRASH_LOADED, 1);
}

static void pvpanic_nothing(struct vm *vm)
{
	pio_out(vm, PORT_PVPANIC, 0, 1);
	pio_out(vm, PORT_PVPANIC, 0xfc, 1);
}

static void test_pvpanic(void)
{
	struct vm *vm = new_vm(64 << 20);
	attach(vm, &pvpanic_device);
	CHECK_EQ(pvpanic_device.create(vm, (char[64]){ 0 }, 64), -1, "pvpanic: a second one is refused");
	CHECK_EQ(pio_in(vm, PORT_PVPANIC, 1), 0x03, "pvpanic: a read offers PANICKED and CRASH_LOADED");
	CHECK_EQ(pio_in(vm, PORT_PVPANIC + 1, 1), 0xff, "pvpanic: the device is one port wide");
	char text[256];
	capture_stderr(pvpanic_nothing, vm, text, sizeof(text));
	CHECK(!atomic_load(&vm->stopping) && text[0] == 0, "pvpanic: writes without a known event do nothing");
	capture_stderr(pvpanic_crash_loaded, vm, text, sizeof(text));
	CHECK(!atomic_load(&vm->stopping), "pvpanic: CRASH_LOADED leaves the machine running");
	CHECK_STR_CONTAINS(text, "crash kernel", "pvpanic: CRASH_LOADED is noted on stderr");
	pio_out(vm, PORT_PVPANIC, PVPANIC_PANICKED, 1);
	CHECK(atomic_load(&vm->stopping), "pvpanic: PANICKED stops the machine");
	CHECK_EQ(vm->status, STATUS_GUEST_PANICKED, "pvpanic: PANICKED ends with status 12");
	CHECK_EQ(STATUS_GUEST_PANICKED, 12, "pvpanic: the documented status is 12");
	CHECK_STR_CONTAINS(vm->stop_reason, "guest panicked", "pvpanic: the stop reason says so");
	free_vm(vm, &pvpanic_device);

	vm = new_vm(64 << 20);
	attach(vm, &pvpanic_device);
	pio_out(vm, PORT_PVPANIC, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED, 1);
	CHECK(atomic_load(&vm->stopping) && vm->status == STATUS_GUEST_PANICKED,
	      "pvpanic: both bits at once count as a panic");
	free_vm(vm, &pvpanic_device);
}

static void test_i8042_glue(void)
{
	struct vm *vm = new_vm(64 << 20);
	attach(vm, &i8042_device);
	CHECK_EQ(pio_in(vm, PORT_I8042_CMD, 1) & 0x01, 0, "i8042 port: output buffer empty");
	pio_out(vm, PORT_I8042_CMD, 0xaa, 1);
	CHECK_EQ(irq_level[IRQ_KEYBOARD], 1, "i8042 port: the self-test answer raises IRQ 1");
	CHECK_EQ(pio_in(vm, PORT_I8042_DATA, 1), 0x55, "i8042 port: self-test through ports 0x64/0x60");
	CHECK_EQ(irq_level[IRQ_KEYBOARD], 0, "i8042 port: IRQ 1 drops once read");
	CHECK(!atomic_load(&vm->stopping), "i8042 port: the machine runs");
	pio_out(vm, PORT_I8042_CMD, 0xfe, 1);
	CHECK(atomic_load(&vm->stopping) && vm->status == 0, "i8042 port: 0xFE stops the machine with status 0");
	CHECK(strcmp(vm->stop_reason, "guest reset via i8042") == 0, "i8042 port: stop reason says why");
	free_vm(vm, &i8042_device);
}

static void test_rtc_glue(void)
{
	struct vm *vm = new_vm(512ull << 20);
	attach(vm, &rtc_device);
	pio_out(vm, PORT_RTC_INDEX, 0x35, 1);
	unsigned hi = pio_in(vm, PORT_RTC_DATA, 1);
	pio_out(vm, PORT_RTC_INDEX, 0x34, 1);
	unsigned lo = pio_in(vm, PORT_RTC_DATA, 1);
	CHECK_EQ(hi << 8 | lo, (512 - 16) * 16, "rtc port: CMOS 0x34/0x35 from vm->cfg.ram_size");
	pio_out(vm, PORT_RTC_INDEX, 0x8d, 1);
	CHECK_EQ(pio_in(vm, PORT_RTC_DATA, 1), 0x80, "rtc port: register D through 0x70/0x71 with NMI masked");
	CHECK_EQ(pio_in(vm, PORT_RTC_INDEX, 1), 0xff, "rtc port: the index port is write-only");
	pio_out(vm, PORT_RTC_INDEX, 0x32, 1);
	unsigned century = pio_in(vm, PORT_RTC_DATA, 1);
	CHECK(century == 0x20 || century == 0x21, "rtc port: the host clock's century (%#x)", century);
	free_vm(vm, &rtc_device);
}

static void test_serial_glue(void)
{
	struct vm *vm = new_vm(64 << 20);
	int p[2];
	CHECK(pipe(p) == 0, "com1: a pipe for the console output");
	vm->cfg.console_out_fd = p[1];
	attach(vm, &com1_device);
	const char *msg = "Linux";
	for (const char *c = msg; *c; c++)
		pio_out(vm, PORT_COM1, (uint8_t)*c, 1);
	char got[16] = "";
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	ssize_t r = read(p[0], got, sizeof(got) - 1);
	CHECK(r == 5 && memcmp(got, msg, 5) == 0, "com1: THR writes reach console_out_fd");
	pio_out(vm, PORT_COM1 + 4, 0x08, 1);  /* OUT2 */
	pio_out(vm, PORT_COM1 + 1, 0x02, 1);  /* ETBEI */
	CHECK_EQ(irq_level[IRQ_COM1], 1, "com1: the THRE interrupt reaches IRQ 4");
	CHECK_EQ(pio_in(vm, PORT_COM1 + 2, 1), 0x02, "com1: IIR at 0x3fa names THRE");
	CHECK_EQ(irq_level[IRQ_COM1], 0, "com1: IRQ 4 drops after the IIR read");
	CHECK_EQ(pio_in(vm, PORT_COM1 + 5, 1) & 0x60, 0x60, "com1: LSR at 0x3fd shows THRE|TEMT");
	CHECK_EQ(pio_in(vm, PORT_COM1 + 6, 2) & 0xff, 0xb0, "com1: a 16-bit read splits into MSR and SCR");
	free_vm(vm, &com1_device);
	close(p[0]);
	close(p[1]);
}

static uint8_t echo_offset(void *opaque, uint64_t off)
{
	(void)opaque;
	return (uint8_t)(0x10 + off);
}

static void store_at_offset(void *opaque, uint64_t off, uint8_t val)
{
	((uint8_t *)opaque)[off] = val;
}

static void test_helpers(void)
{
	uint8_t d[4];
	bytewise_read(echo_offset, NULL, 2, d, 4);
	CHECK(d[0] == 0x12 && d[3] == 0x15, "helpers: a wide read is one byte register after another");
	uint8_t regs[8] = { 0 };
	const uint8_t v[2] = { 0xaa, 0xbb };
	bytewise_write(store_at_offset, regs, 3, v, 2);
	CHECK(regs[3] == 0xaa && regs[4] == 0xbb, "helpers: a wide write lands in consecutive registers");
	const uint8_t le[4] = { 0x78, 0x56, 0x34, 0x12 };
	CHECK_EQ(access_value(le, 4), 0x12345678, "helpers: access data is little-endian");
	CHECK_EQ(access_value(le, 2), 0x5678, "helpers: a 2-byte access takes 2 bytes");
	struct vm *vm = new_vm(64 << 20);
	static const struct io_handler a = { NULL, NULL }, b = { NULL, NULL };
	int x;
	bus_register(&vm->pio, 0x100, 4, &a, &x, "a");
	CHECK(device_opaque(&vm->pio, &a) == &x, "helpers: a device finds its state on the bus");
	CHECK(device_opaque(&vm->pio, &b) == NULL, "helpers: no state for a device not attached");
	free(vm);
}

int main(void)
{
	test_helpers();
	test_pci_config();
	test_debug_exit();
	test_boot_timer();
	test_post_code();
	test_pvpanic();
	test_i8042_glue();
	test_rtc_glue();
	test_serial_glue();
	return CHECK_DONE();
}
