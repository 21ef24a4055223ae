/* The interrupt platform end to end: a hand-made machine whose stub engine
 * has no irq_line, reached the way a guest and an engine reach it — ports,
 * MMIO, vm_irq_line and the intr_* calls. */
#include <stdlib.h>

#include "check.h"
#include "dev/intr_platform.h"
#include "dev/lapic.h"
#include "test_vm.h"
#include "vm.h"

static uint64_t fake_ns;

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return fake_ns;
}

static int kvm_like_irq_line(struct vm *vm, unsigned line, int level)
{
	(void)vm, (void)line, (void)level;
	return 0;
}

static const struct engine stub_engine = { .name = "stub" };
static const struct engine kvm_like_engine = { .name = "kvm-like", .irq_line = kvm_like_irq_line };

static struct vm *new_vm(const struct engine *engine, int ncpus)
{
	struct vm *vm = test_vm_new(engine, ncpus, 0);
	char err[256] = "";
	int rc = intr_platform_device.create(vm, err, sizeof(err));
	CHECK(rc == 0, "platform: attaches to a %s machine (%s)", engine->name, err);
	return vm;
}

static void free_vm(struct vm *vm)
{
	intr_platform_device.destroy(vm);
	free(vm);
}

/* The 8259 and 8254 registers are all one byte wide. */
static void out(struct vm *vm, uint16_t port, uint8_t v)
{
	pio_out(vm, port, v, 1);
}

static uint8_t in(struct vm *vm, uint16_t port)
{
	return (uint8_t)pio_in(vm, port, 1);
}

static void mmio_write(struct vm *vm, uint64_t addr, uint32_t v)
{
	uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	bus_access(&vm->mmio, addr, d, 4, true);
}

static uint32_t mmio_read(struct vm *vm, uint64_t addr)
{
	uint8_t d[4] = { 0 };
	bus_access(&vm->mmio, addr, d, 4, false);
	return d[0] | d[1] << 8 | d[2] << 16 | (uint32_t)d[3] << 24;
}

static void ioapic_entry(struct vm *vm, unsigned pin, uint32_t lo, uint32_t hi)
{
	mmio_write(vm, MMIO_IOAPIC, 0x11 + 2 * pin);
	mmio_write(vm, MMIO_IOAPIC + 0x10, hi);
	mmio_write(vm, MMIO_IOAPIC, 0x10 + 2 * pin);
	mmio_write(vm, MMIO_IOAPIC + 0x10, lo);
}

/* Linux's init_8259A through the ports, every line masked afterwards. */
static void init_pics(struct vm *vm)
{
	static const uint8_t seq[][2] = {
		{ 0x21, 0xff }, { 0xa1, 0xff }, { 0x20, 0x11 }, { 0x21, 0x30 }, { 0x21, 0x04 },
		{ 0x21, 0x01 }, { 0xa0, 0x11 }, { 0xa1, 0x38 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
		{ 0x21, 0xff }, { 0xa1, 0xff },
	};
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		out(vm, seq[i][0], seq[i][1]);
}

static void test_kvm_leaves_it_alone(void)
{
	struct vm *vm = new_vm(&kvm_like_engine, 1);
	CHECK(vm->intr == NULL, "platform: with an in-kernel irqchip nothing is registered");
	CHECK_EQ(in(vm, 0x21), 0xff, "platform: with an in-kernel irqchip port 0x21 is not claimed");
	CHECK_EQ(vm->pio.n + vm->mmio.n, 0, "platform: no range attached");
	free_vm(vm);
}

static void test_serial_line_through_pic(void)
{
	struct vm *vm = new_vm(&stub_engine, 2);
	struct vcpu *bsp = &vm->vcpu[0], *ap = &vm->vcpu[1];
	CHECK(vm->intr != NULL, "platform: registered as the machine's interrupt platform");
	init_pics(vm);
	out(vm, 0x21, (uint8_t)~(1u << IRQ_COM1));
	CHECK_EQ(in(vm, 0x21), (uint8_t)~(1u << IRQ_COM1), "platform: PIC mask through port 0x21");
	CHECK_EQ(intr_pending(bsp), -1, "platform: nothing pending at first");
	uint64_t gen = vm->intr_generation;
	vm_irq_line(vm, IRQ_COM1, 1);
	CHECK(vm->intr_generation != gen, "platform: raising a line kicks halted vCPUs");
	CHECK_EQ(intr_pending(bsp), 0x34, "platform: vm_irq_line(4) makes vCPU 0 report vector 0x34");
	CHECK_EQ(intr_pending(ap), -1, "platform: the AP does not see the PIC (LINT0 masked, waiting)");
	CHECK_EQ(intr_ack(bsp), 0x34, "platform: intr_ack runs the PIC's INTA");
	CHECK_EQ(intr_pending(bsp), -1, "platform: IRQ 4 in service blocks itself");
	out(vm, 0x20, 0x0b);
	CHECK_EQ(in(vm, 0x20), 0x10, "platform: ISR through OCW3 on port 0x20");
	gen = vm->intr_generation;
	out(vm, 0x20, 0x20);
	CHECK(vm->intr_generation != gen, "platform: an EOI kicks halted vCPUs");
	vm_irq_line(vm, IRQ_COM1, 0);
	out(vm, 0x4d1, 0xff);
	CHECK_EQ(in(vm, 0x4d1), 0xde, "platform: ELCR through port 0x4d1");
	CHECK(!intr_take_nmi(bsp), "platform: no NMI");
	free_vm(vm);
}

static void test_ioapic_to_lapic(void)
{
	struct vm *vm = new_vm(&stub_engine, 2);
	struct vcpu *bsp = &vm->vcpu[0];
	init_pics(vm);
	mmio_write(vm, MMIO_IOAPIC, 1);
	CHECK_EQ(mmio_read(vm, MMIO_IOAPIC + 0x10), 0x170011, "platform: I/O APIC version at 0xfec00010");
	mmio_write(vm, MMIO_IOAPIC, 0);
	CHECK_EQ(mmio_read(vm, MMIO_IOAPIC + 0x10), 2u << 24, "platform: I/O APIC ID is ncpus, as the MP table says");
	CHECK_EQ(mmio_read(vm, MMIO_LAPIC + LAPIC_VER), 0x50014, "platform: local APIC version at 0xfee00030");
	mmio_write(vm, MMIO_LAPIC + LAPIC_SVR, 0x1ff);
	ioapic_entry(vm, IRQ_COM1, 0x41, 0x00000000);
	vm_irq_line(vm, IRQ_COM1, 1);
	CHECK_EQ(intr_pending(bsp), 0x41, "platform: IRQ 4 through I/O APIC pin 4 to APIC 0 as 0x41");
	CHECK_EQ(intr_ack(bsp), 0x41, "platform: intr_ack takes it into the ISR");
	mmio_write(vm, MMIO_LAPIC + LAPIC_EOI, 0);
	vm_irq_line(vm, IRQ_COM1, 0);
	ioapic_entry(vm, IRQ_COM1, 0x10041, 0);
	vm_irq_line(vm, IRQ_COM1, 1);
	CHECK_EQ(intr_pending(bsp), -1, "platform: a masked pin delivers nothing");
	vm_irq_line(vm, IRQ_COM1, 0);

	ioapic_entry(vm, 9, 0x8049, 0);
	vm_irq_line(vm, 9, 1);
	CHECK_EQ(intr_ack(bsp), 0x49, "platform: level pin 9 delivers 0x49");
	mmio_write(vm, MMIO_IOAPIC, 0x10 + 2 * 9);
	CHECK(mmio_read(vm, MMIO_IOAPIC + 0x10) & (1u << 14), "platform: remote IRR set until the EOI");
	mmio_write(vm, MMIO_LAPIC + LAPIC_EOI, 0);
	CHECK_EQ(intr_pending(bsp), 0x49, "platform: EOI broadcast redelivers the still-asserted pin");
	intr_ack(bsp);
	vm_irq_line(vm, 9, 0);
	mmio_write(vm, MMIO_LAPIC + LAPIC_EOI, 0);
	CHECK(!(mmio_read(vm, MMIO_IOAPIC + 0x10) & (1u << 14)), "platform: the EOI cleared remote IRR");
	CHECK_EQ(intr_pending(bsp), -1, "platform: nothing once the line fell");

	/* Lowest priority to both CPUs: the one with the lower TPR takes it. */
	struct lapic *ap = intr_platform_lapic(vm, 1);
	lapic_write(ap, LAPIC_SVR, 0x1ff);
	lapic_write(ap, LAPIC_LDR, 0x02000000);
	mmio_write(vm, MMIO_LAPIC + LAPIC_LDR, 0x01000000);
	mmio_write(vm, MMIO_LAPIC + LAPIC_TPR, 0x20);
	ioapic_entry(vm, 5, 0x0951, 0x03000000);
	vm_irq_line(vm, 5, 1);
	CHECK(lapic_pending(ap) == 0x51 && intr_pending(bsp) == -1,
	      "platform: lowest priority picks the APIC with the lower TPR");
	free_vm(vm);
}

static void test_ipis(void)
{
	struct vm *vm = new_vm(&stub_engine, 2);
	struct vcpu *bsp = &vm->vcpu[0], *ap = &vm->vcpu[1];
	int vector = 0;
	CHECK(intr_platform_lapic(vm, 1) != NULL, "platform: one local APIC per vCPU");
	CHECK(vm->intr->wait_for_sipi(ap, &vector) && vector == -1, "platform: an AP starts waiting for SIPI");
	CHECK(!vm->intr->wait_for_sipi(bsp, &vector) && vector == -1, "platform: the BSP runs");
	mmio_write(vm, MMIO_LAPIC + LAPIC_SVR, 0x1ff);
	mmio_write(vm, MMIO_LAPIC + LAPIC_ICR_HI, 1u << 24);
	mmio_write(vm, MMIO_LAPIC + LAPIC_ICR_LO, 0x4500);
	mmio_write(vm, MMIO_LAPIC + LAPIC_ICR_LO, 0x8500);
	CHECK(vm->intr->wait_for_sipi(ap, &vector), "platform: INIT keeps the AP waiting");
	uint64_t gen = vm->intr_generation;
	mmio_write(vm, MMIO_LAPIC + LAPIC_ICR_LO, 0x4608);
	CHECK(vm->intr_generation != gen, "platform: the SIPI kicks the waiting AP");
	CHECK(!vm->intr->wait_for_sipi(ap, &vector) && vector == 8, "platform: SIPI vector 8 reaches the AP");
	CHECK(!vm->intr->wait_for_sipi(ap, &vector) && vector == -1, "platform: reported once, then the AP runs");

	lapic_write(intr_platform_lapic(vm, 1), LAPIC_SVR, 0x1ff);
	mmio_write(vm, MMIO_LAPIC + LAPIC_ICR_LO, 0x4050);
	CHECK(intr_pending(ap) == 0x50 && intr_pending(bsp) == -1, "platform: fixed IPI 0x50 to APIC 1 only");
	CHECK_EQ(intr_ack(ap), 0x50, "platform: the AP acks it");
	mmio_write(vm, MMIO_LAPIC + LAPIC_ICR_LO, 0x4400);
	CHECK(intr_take_nmi(ap) && !intr_take_nmi(ap), "platform: NMI IPI, cleared by taking it");
	mmio_write(vm, MMIO_LAPIC + LAPIC_ICR_LO, 0xc4060);
	CHECK(intr_pending(ap) == 0x60 && intr_pending(bsp) == -1, "platform: all-but-self shorthand");
	mmio_write(vm, MMIO_LAPIC + LAPIC_ICR_LO, 0x44061);
	CHECK_EQ(intr_pending(bsp), 0x61, "platform: self shorthand");
	mmio_write(vm, MMIO_LAPIC + LAPIC_ICR_LO, 0x84070);
	CHECK(intr_pending(bsp) == 0x70 && intr_pending(ap) == 0x70, "platform: all-including-self shorthand");

	uint64_t v = 0;
	CHECK(intr_rdmsr(bsp, MSR_APIC_BASE, &v) == 0 && v == 0xfee00900, "platform: IA32_APIC_BASE through intr_rdmsr");
	CHECK(intr_wrmsr(ap, MSR_APIC_BASE, 0xfee00c00) == 0, "platform: the AP switches to x2APIC");
	CHECK(intr_rdmsr(ap, 0x802, &v) == 0 && v == 1, "platform: x2APIC ID MSR of vCPU 1");
	CHECK_EQ(intr_rdmsr(bsp, 0x802, &v), -1, "platform: vCPU 0 is still xAPIC: #GP");
	CHECK_EQ(intr_wrmsr(ap, 0x830, 0x0000000000004071ull), 0, "platform: x2APIC ICR write to APIC 0");
	CHECK_EQ(intr_ack(bsp), 0x71, "platform: the x2APIC IPI reached vCPU 0");
	CHECK_EQ(intr_rdmsr(bsp, 0x10, &v), -1, "platform: MSRs that are not the APIC's return -1");
	free_vm(vm);
}

static void test_timers(void)
{
	struct vm *vm = new_vm(&stub_engine, 1);
	struct vcpu *bsp = &vm->vcpu[0];
	fake_ns = 1000000000;
	intr_platform_set_clock(vm, fake_clock, fake_clock, NULL);
	init_pics(vm);
	out(vm, 0x21, 0xfe);
	out(vm, 0x43, 0x34);
	out(vm, 0x40, 1193 & 0xff);
	out(vm, 0x40, 1193 >> 8);
	fake_ns += 500000;
	CHECK_EQ(intr_pending(bsp), -1, "platform PIT: no tick before 1 ms");
	uint64_t gen = vm->intr_generation;
	fake_ns += 500000;
	CHECK_EQ(intr_pending(bsp), 0x30, "platform PIT: channel 0 raises IRQ 0 (0x30) after 1 ms");
	CHECK(vm->intr_generation != gen, "platform PIT: the tick kicks halted vCPUs");
	CHECK_EQ(intr_ack(bsp), 0x30, "platform PIT: acked");
	out(vm, 0x20, 0x20);
	CHECK_EQ(intr_pending(bsp), -1, "platform PIT: one tick, one interrupt");
	fake_ns += 1000000;
	vm->intr->poll(vm);
	CHECK_EQ(intr_ack(bsp), 0x30, "platform PIT: the next period's tick through poll()");
	out(vm, 0x20, 0x20);

	/* Linux's TSC calibration through the ports. */
	out(vm, 0x61, (uint8_t)((in(vm, 0x61) & ~0x02) | 0x01));
	out(vm, 0x43, 0xb0);
	out(vm, 0x42, 0x0b);
	out(vm, 0x42, 0xe9);  /* 59659 ticks: 50 ms */
	fake_ns += 49000000;
	CHECK_EQ(in(vm, 0x61) & 0x20, 0, "platform port 0x61: OUT2 low before 50 ms");
	fake_ns += 1000000;
	CHECK_EQ(in(vm, 0x61) & 0x20, 0x20, "platform port 0x61: OUT2 high at 50 ms");
	fake_ns += 10000;
	out(vm, 0x43, 0x80);
	uint16_t latched = in(vm, 0x42);
	latched |= (uint16_t)(in(vm, 0x42) << 8);
	CHECK(latched > 0xff00, "platform PIT: latched channel 2 through port 0x42 has wrapped (%#x)", latched);

	out(vm, 0x21, 0xff);
	mmio_write(vm, MMIO_LAPIC + LAPIC_SVR, 0x1ff);
	mmio_write(vm, MMIO_LAPIC + LAPIC_TIMER_DIV, 0xb);
	mmio_write(vm, MMIO_LAPIC + LAPIC_LVT_TIMER, 0xef);
	mmio_write(vm, MMIO_LAPIC + LAPIC_TIMER_INIT, 1000);
	fake_ns += 999;
	CHECK_EQ(intr_pending(bsp), -1, "platform APIC timer: not before 1000 ns");
	CHECK_EQ(mmio_read(vm, MMIO_LAPIC + LAPIC_TIMER_CUR), 1, "platform APIC timer: current count at 0xfee00390");
	fake_ns += 1;
	CHECK_EQ(intr_pending(bsp), 0xef, "platform APIC timer: one-shot fires on the fake clock");
	intr_ack(bsp);
	mmio_write(vm, MMIO_LAPIC + LAPIC_EOI, 0);
	mmio_write(vm, MMIO_LAPIC + LAPIC_LVT_TIMER, LVT_TIMER_DEADLINE | 0xee);
	CHECK_EQ(intr_wrmsr(bsp, MSR_TSC_DEADLINE, fake_ns + 300), 0, "platform: IA32_TSC_DEADLINE through intr_wrmsr");
	fake_ns += 300;
	CHECK_EQ(intr_pending(bsp), 0xee, "platform APIC timer: TSC deadline fires");
	free_vm(vm);
}

static atomic_int toggling_done;

static void *toggle_line(void *arg)
{
	struct vm *vm = arg;
	for (int i = 0; i < 20000; i++)
		vm_irq_line(vm, IRQ_COM1, !(i & 1));
	atomic_store(&toggling_done, 1);
	return NULL;
}

/* Takes what is pending on vCPU 0 as the guest would: INTA, then EOI. */
static int take_one(struct vm *vm)
{
	if (intr_pending(&vm->vcpu[0]) < 0)
		return 0;
	int v = intr_ack(&vm->vcpu[0]);
	out(vm, 0x20, 0x20);
	return v == 0x34;
}

/* The console reader raises IRQ 4 while vCPUs ask and acknowledge. */
static void test_concurrency(void)
{
	struct vm *vm = new_vm(&stub_engine, 1);
	init_pics(vm);
	out(vm, 0x21, (uint8_t)~(1u << IRQ_COM1));
	atomic_store(&toggling_done, 0);
	pthread_t t;
	pthread_create(&t, NULL, toggle_line, vm);
	int taken = 0;
	while (!atomic_load(&toggling_done))
		taken += take_one(vm);
	pthread_join(t, NULL);
	taken += take_one(vm);  /* the last rising edge, if the loop missed it */
	CHECK(taken > 0, "platform: concurrent line changes and acks (%d taken), no deadlock", taken);
	CHECK_EQ(intr_pending(&vm->vcpu[0]), -1, "platform: nothing left pending afterwards");
	free_vm(vm);
}

int main(void)
{
	test_kvm_leaves_it_alone();
	test_serial_line_through_pic();
	test_ioapic_to_lapic();
	test_ipis();
	test_timers();
	test_concurrency();
	return CHECK_DONE();
}
