/* The KVM engine on its own, without devices: the exit records it produces
 * for port I/O, MMIO and a triple fault, and the canonical state going in
 * and coming back out. SKIPs where /dev/kvm cannot be used. */
#include <errno.h>

#include "check.h"
#include "vm.h"

static struct vm vm;

static int setup(uint64_t ram, const uint8_t *code, size_t len, uint64_t at)
{
	char err[256];
	struct vm_config cfg = { .ram_size = ram, .ncpus = 1, .console_in_fd = -1, .console_out_fd = -1 };
	vm_init_machine(&vm, &engine_kvm, &cfg);
	if (guest_mem_init(&vm.mem, ram, err, sizeof(err)) != 0 ||
	    engine_kvm.vm_create(&vm, err, sizeof(err)) != 0) {
		printf("FAIL kvm/setup: %s\n", err);
		return -1;
	}
	if (engine_kvm.vcpu_create(&vm.vcpu[0], err, sizeof(err)) != 0) {
		printf("FAIL kvm/vcpu: %s\n", err);
		return -1;
	}
	gpa_write(&vm.mem, at, code, len);
	return 0;
}

static void teardown(void)
{
	engine_kvm.vcpu_destroy(&vm.vcpu[0]);
	engine_kvm.vm_destroy(&vm);
	guest_mem_free(&vm.mem);
}

static struct cpu_state real_mode_at(uint16_t ip)
{
	struct cpu_state s;
	cpu_state_reset(&s);
	for (int i = 0; i < SEG_LDT; i++)
		segment_real(&s.seg[i], 0, i == SEG_CS);
	s.rip = ip;
	s.gpr[RSP] = 0x7000;
	s.cr0 = CR0_ET;
	return s;
}

/* Runs until an exit that is not a signal. */
static int run(struct vm_exit *e)
{
	do {
		if (engine_kvm.run(&vm.vcpu[0], e) != 0)
			return -1;
	} while (e->reason == EXIT_INTERRUPTED);
	return 0;
}

static void io_and_mmio(void)
{
	static const uint8_t code[] = {
		0xb0, 0x42,                   /* mov al, 0x42 */
		0xe6, 0x80,                   /* out 0x80, al */
		0xe4, 0x81,                   /* in al, 0x81 */
		0x88, 0xc3,                   /* mov bl, al */
		0xb8, 0xff, 0xff,             /* mov ax, 0xffff */
		0x8e, 0xc0,                   /* mov es, ax */
		0xb0, 0x5a,                   /* mov al, 0x5a */
		0x26, 0xa2, 0x10, 0x00,       /* mov [es:0x10], al  -> 0x100000 */
		0x26, 0x8a, 0x0e, 0x20, 0x00, /* mov cl, [es:0x20]  -> 0x100010 */
		0xba, 0xf4, 0x00,             /* mov dx, 0xf4 */
		0x66, 0xef,                   /* out dx, eax */
	};
	if (setup(1ull << 20, code, sizeof(code), 0x1000) != 0)
		return;
	struct cpu_state s = real_mode_at(0x1000), got;
	s.gpr[RSI] = 0x1122334455667788ull;
	s.gpr[R15] = 0xfeedfacecafebeefull;
	CHECK(engine_kvm.set_state(&vm.vcpu[0], &s) == 0, "kvm/set-state");
	CHECK(engine_kvm.get_state(&vm.vcpu[0], &got) == 0 && got.gpr[RSI] == s.gpr[RSI] &&
	      got.gpr[R15] == s.gpr[R15] && got.rip == 0x1000 && got.seg[SEG_CS].base == 0 &&
	      got.seg[SEG_SS].limit == 0xffff, "kvm/state-roundtrip");
	struct vm_exit e;
	CHECK(run(&e) == 0 && e.reason == EXIT_IO && e.io.port == 0x80 && e.io.is_write &&
	      e.io.size == 1 && e.io.count == 1 && e.io.data[0] == 0x42, "kvm/exit-out-byte");
	CHECK_EQ(engine_kvm.exit_rip(&vm.vcpu[0]), 0x1004, "kvm/exit-rip-after-out");
	CHECK(run(&e) == 0 && e.reason == EXIT_IO && e.io.port == 0x81 && !e.io.is_write,
	      "kvm/exit-in-byte");
	e.io.data[0] = 0x99;   /* the machine's answer reaches the guest on resume */
	CHECK(run(&e) == 0 && e.reason == EXIT_MMIO && e.mmio.addr == 0x100000 && e.mmio.is_write &&
	      e.mmio.size == 1 && e.mmio.data[0] == 0x5a, "kvm/exit-mmio-write");
	CHECK(run(&e) == 0 && e.reason == EXIT_MMIO && e.mmio.addr == 0x100010 && !e.mmio.is_write &&
	      e.mmio.size == 1, "kvm/exit-mmio-read");
	e.mmio.data[0] = 0x77;
	CHECK(run(&e) == 0 && e.reason == EXIT_IO && e.io.port == 0xf4 && e.io.size == 4,
	      "kvm/exit-out-dword");
	CHECK(engine_kvm.get_state(&vm.vcpu[0], &got) == 0, "kvm/get-state-after-run");
	CHECK_EQ(got.gpr[RBX] & 0xff, 0x99, "kvm/in-answer-reached-guest");
	CHECK_EQ(got.gpr[RCX] & 0xff, 0x77, "kvm/mmio-answer-reached-guest");
	CHECK_EQ(got.seg[SEG_ES].base, 0xffff0, "kvm/segment-cache-after-mov-es");
	teardown();
}

static struct cpu_state prot32_at(uint32_t eip)
{
	struct cpu_state s;
	cpu_state_reset(&s);
	segment_flat(&s.seg[SEG_CS], 0x08, 0xb, 0, 1);
	for (int i = 0; i < SEG_LDT; i++)
		if (i != SEG_CS)
			segment_flat(&s.seg[i], 0x10, 0x3, 0, 1);
	s.seg[SEG_TR].type = 0xb;   /* busy 32-bit TSS, as VT-x requires */
	s.rip = eip;
	s.gpr[RSP] = 0x7000;
	s.cr0 = CR0_PE | CR0_ET;
	s.idt.limit = 0;            /* every vector is beyond the limit */
	return s;
}

static void triple_fault(void)
{
	static const uint8_t code[] = { 0x0f, 0x0b };   /* ud2 -> #GP -> #DF -> shutdown */
	if (setup(1ull << 20, code, sizeof(code), 0x1000) != 0)
		return;
	struct cpu_state s = prot32_at(0x1000);
	engine_kvm.set_state(&vm.vcpu[0], &s);
	struct vm_exit e;
	CHECK(run(&e) == 0, "kvm/run-to-triple-fault");
	CHECK_EQ(e.reason, EXIT_SHUTDOWN, "kvm/triple-fault-is-shutdown");
	teardown();
}

int main(void)
{
	char why[256];
	if (engine_kvm.available(why, sizeof(why)) != 0) {
		printf("SKIP kvm-engine: %s\n", why);
		return 0;
	}
	io_and_mmio();
	triple_fault();
	return CHECK_DONE();
}
