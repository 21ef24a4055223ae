/* The local APIC core on a fake clock and TSC: reset values, priorities,
 * EOI, the timer's three modes, IPIs as messages, INIT/SIPI, x2APIC MSRs. */
#include "check.h"
#include "dev/lapic.h"

static uint64_t fake_ns, fake_tsc;
static struct apic_msg sent[8];
static int nsent;
static int eoi_vector = -1;

static uint64_t clock_ns(void *o) { (void)o; return fake_ns; }
static uint64_t clock_tsc(void *o) { (void)o; return fake_tsc; }

static void record_send(void *o, const struct apic_msg *m)
{
	(void)o;
	if (nsent < 8)
		sent[nsent] = *m;
	nsent++;
}

static void record_eoi(void *o, uint8_t vector)
{
	(void)o;
	eoi_vector = vector;
}

static const struct lapic_env env = { clock_ns, clock_tsc, record_send, record_eoi, NULL };

static void fresh(struct lapic *l, int index, bool bsp)
{
	fake_ns = 1000000;
	fake_tsc = 5000000;
	nsent = 0;
	eoi_vector = -1;
	lapic_init(l, index, (uint32_t)index, bsp, &env);
}

static void enabled(struct lapic *l)
{
	fresh(l, 0, true);
	lapic_write(l, LAPIC_SVR, 0x1ff);
}

static void give(struct lapic *l, uint8_t vector, bool level)
{
	struct apic_msg m = { .mode = APIC_DM_FIXED, .vector = vector, .level = level, .assert = true };
	lapic_accept(l, &m);
}

static void test_reset_values(void)
{
	struct lapic l;
	fresh(&l, 3, false);
	CHECK_EQ(lapic_read(&l, LAPIC_ID), 3u << 24, "lapic reset: xAPIC ID in bits 31-24");
	CHECK_EQ(lapic_read(&l, LAPIC_VER), 0x50014, "lapic reset: version 0x50014 (max LVT 5)");
	CHECK_EQ(lapic_read(&l, LAPIC_TPR), 0, "lapic reset: TPR 0");
	CHECK_EQ(lapic_read(&l, LAPIC_PPR), 0, "lapic reset: PPR 0");
	CHECK_EQ(lapic_read(&l, LAPIC_LDR), 0, "lapic reset: LDR 0");
	CHECK_EQ(lapic_read(&l, LAPIC_DFR), 0xffffffff, "lapic reset: DFR all ones (flat)");
	CHECK_EQ(lapic_read(&l, LAPIC_SVR), 0xff, "lapic reset: SVR 0xff, software-disabled");
	CHECK_EQ(lapic_read(&l, LAPIC_LVT_TIMER), 0x10000, "lapic reset: LVT timer masked");
	CHECK_EQ(lapic_read(&l, LAPIC_LVT_LINT0), 0x10000, "lapic reset: an AP's LINT0 masked");
	CHECK_EQ(lapic_read(&l, LAPIC_LVT_ERROR), 0x10000, "lapic reset: LVT error masked");
	CHECK_EQ(lapic_read(&l, LAPIC_TIMER_INIT) | lapic_read(&l, LAPIC_TIMER_CUR) |
		 lapic_read(&l, LAPIC_TIMER_DIV), 0, "lapic reset: timer registers 0");
	CHECK_EQ(lapic_read(&l, LAPIC_ICR_LO) | lapic_read(&l, LAPIC_ICR_HI), 0, "lapic reset: ICR 0");
	CHECK_EQ(lapic_read(&l, 0x2f0), 0, "lapic: no CMCI register with max LVT 5");
	uint64_t base;
	CHECK(lapic_rdmsr(&l, MSR_APIC_BASE, &base) == 0 && base == 0xfee00800,
	      "lapic reset: AP's IA32_APIC_BASE 0xfee00800");
	CHECK(l.wait_sipi && !lapic_accepts_pic(&l), "lapic reset: an AP waits for SIPI, LINT0 masked");
	fresh(&l, 0, true);
	CHECK(lapic_rdmsr(&l, MSR_APIC_BASE, &base) == 0 && base == 0xfee00900,
	      "lapic reset: BSP's IA32_APIC_BASE 0xfee00900 (BSP flag)");
	CHECK_EQ(lapic_read(&l, LAPIC_LVT_LINT0), 0x700, "lapic reset: BSP LINT0 ExtINT (virtual wire)");
	CHECK_EQ(lapic_read(&l, LAPIC_LVT_LINT1), 0x400, "lapic reset: BSP LINT1 NMI");
	CHECK(lapic_accepts_pic(&l) && !l.wait_sipi, "lapic reset: the PIC reaches the BSP");
	give(&l, 0x40, false);
	CHECK_EQ(lapic_pending(&l), -1, "lapic: software-disabled APIC takes no fixed interrupts");
	lapic_write(&l, LAPIC_SVR, 0x1ff);
	lapic_write(&l, LAPIC_LVT_LINT0, 0x10700);
	CHECK(!lapic_accepts_pic(&l), "lapic: a masked LINT0 keeps the PIC out");
	lapic_write(&l, LAPIC_SVR, 0x0ff);
	lapic_write(&l, LAPIC_LVT_LINT0, 0x700);
	CHECK_EQ(lapic_read(&l, LAPIC_LVT_LINT0), 0x10700, "lapic: LVT masks stick while software-disabled");
}

static void test_priority_eoi(void)
{
	struct lapic l;
	enabled(&l);
	give(&l, 0x40, false);
	CHECK_EQ(lapic_pending(&l), 0x40, "lapic: vector 0x40 pending");
	CHECK_EQ(lapic_read(&l, LAPIC_IRR + 0x20), 1u << 0, "lapic: IRR bit 0x40 in the third dword");
	lapic_write(&l, LAPIC_TPR, 0x50);
	CHECK_EQ(lapic_pending(&l), -1, "lapic TPR: 0x50 masks class 4");
	lapic_write(&l, LAPIC_TPR, 0x40);
	CHECK_EQ(lapic_pending(&l), -1, "lapic TPR: 0x40 masks its own class");
	lapic_write(&l, LAPIC_TPR, 0x3f);
	CHECK_EQ(lapic_pending(&l), 0x40, "lapic TPR: 0x3f lets class 4 through");
	CHECK_EQ(lapic_read(&l, LAPIC_PPR), 0x3f, "lapic PPR: the TPR when nothing is in service");
	lapic_write(&l, LAPIC_TPR, 0);
	CHECK_EQ(lapic_ack(&l), 0x40, "lapic ack: returns 0x40");
	CHECK_EQ(lapic_read(&l, LAPIC_ISR + 0x20), 1u, "lapic ack: 0x40 is in service");
	CHECK_EQ(lapic_read(&l, LAPIC_IRR + 0x20), 0, "lapic ack: and left the IRR");
	CHECK_EQ(lapic_read(&l, LAPIC_PPR), 0x40, "lapic PPR: the in-service class");
	give(&l, 0x45, false);
	CHECK_EQ(lapic_pending(&l), -1, "lapic: 0x45 waits behind 0x40 in service (same class)");
	give(&l, 0x81, false);
	CHECK_EQ(lapic_pending(&l), 0x81, "lapic: 0x81 outranks the class in service");
	CHECK_EQ(lapic_read(&l, LAPIC_APR), 0x80, "lapic APR: the highest of TPR, ISR and IRR classes");
	CHECK_EQ(lapic_ack(&l), 0x81, "lapic ack: nested 0x81");
	lapic_write(&l, LAPIC_EOI, 0);
	CHECK_EQ(lapic_read(&l, LAPIC_ISR + 0x40), 0, "lapic EOI: ends the highest in service (0x81)");
	CHECK_EQ(lapic_pending(&l), -1, "lapic EOI: 0x45 still waits behind 0x40");
	lapic_write(&l, LAPIC_EOI, 0);
	CHECK_EQ(lapic_pending(&l), 0x45, "lapic EOI: after 0x40 ends, 0x45 comes");
	CHECK_EQ(eoi_vector, -1, "lapic EOI: edge vectors are not broadcast");
	lapic_ack(&l);
	lapic_write(&l, LAPIC_EOI, 0);
	CHECK_EQ(lapic_ack(&l), 0xff, "lapic ack: nothing pending gives the spurious vector");

	give(&l, 0x61, true);
	CHECK_EQ(lapic_read(&l, LAPIC_TMR + 0x30), 2u, "lapic TMR: a level vector sets its TMR bit");
	lapic_ack(&l);
	lapic_write(&l, LAPIC_EOI, 0);
	CHECK_EQ(eoi_vector, 0x61, "lapic EOI: a level vector's EOI goes to the I/O APIC");

	give(&l, 5, false);
	CHECK_EQ(lapic_read(&l, LAPIC_ESR), 0, "lapic ESR: errors show only after an ESR write");
	lapic_write(&l, LAPIC_ESR, 0);
	CHECK_EQ(lapic_read(&l, LAPIC_ESR), ESR_RECV_ILLEGAL, "lapic ESR: receive illegal vector");
	lapic_write(&l, LAPIC_ESR, 0);
	CHECK_EQ(lapic_read(&l, LAPIC_ESR), 0, "lapic ESR: a second write clears it");
	lapic_write(&l, LAPIC_LVT_ERROR, 0xfe);
	give(&l, 3, false);
	CHECK_EQ(lapic_pending(&l), 0xfe, "lapic ESR: a new error raises the error LVT's vector");
}

static void test_timer(void)
{
	struct lapic l;
	enabled(&l);
	lapic_write(&l, LAPIC_TIMER_DIV, 0xb);  /* divide by 1 */
	lapic_write(&l, LAPIC_LVT_TIMER, 0xec);
	lapic_write(&l, LAPIC_TIMER_INIT, 1000);
	fake_ns += 400;
	CHECK_EQ(lapic_read(&l, LAPIC_TIMER_CUR), 600, "lapic one-shot: 600 left after 400 ns at 1 GHz");
	CHECK(!lapic_poll_timer(&l), "lapic one-shot: not expired yet");
	fake_ns += 600;
	CHECK(lapic_poll_timer(&l), "lapic one-shot: expires at the initial count");
	CHECK_EQ(lapic_pending(&l), 0xec, "lapic one-shot: its vector is pending");
	CHECK_EQ(lapic_read(&l, LAPIC_TIMER_CUR), 0, "lapic one-shot: current count stays 0");
	fake_ns += 5000;
	CHECK(!lapic_poll_timer(&l), "lapic one-shot: fires once");
	lapic_ack(&l);
	lapic_write(&l, LAPIC_EOI, 0);

	lapic_write(&l, LAPIC_TIMER_DIV, 0x3);  /* divide by 16 */
	lapic_write(&l, LAPIC_TIMER_INIT, 100);
	fake_ns += 1599;
	CHECK(!lapic_poll_timer(&l), "lapic divide: by 16, 100 ticks are not up after 1599 ns");
	fake_ns += 1;
	CHECK(lapic_poll_timer(&l), "lapic divide: by 16, they are at 1600 ns");
	lapic_ack(&l);
	lapic_write(&l, LAPIC_EOI, 0);

	lapic_write(&l, LAPIC_TIMER_DIV, 0xb);
	lapic_write(&l, LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | 0xec);
	lapic_write(&l, LAPIC_TIMER_INIT, 100);
	fake_ns += 250;
	CHECK(lapic_poll_timer(&l), "lapic periodic: fires after two and a half periods");
	CHECK_EQ(lapic_read(&l, LAPIC_TIMER_CUR), 50, "lapic periodic: current count reloads (50)");
	CHECK(!lapic_poll_timer(&l), "lapic periodic: missed periods coalesce");
	lapic_ack(&l);
	lapic_write(&l, LAPIC_EOI, 0);
	fake_ns += 50;
	CHECK(lapic_poll_timer(&l), "lapic periodic: and fires again next period");
	lapic_ack(&l);
	lapic_write(&l, LAPIC_EOI, 0);
	lapic_write(&l, LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | LVT_MASKED | 0xec);
	fake_ns += 100;
	CHECK(!lapic_poll_timer(&l) && lapic_pending(&l) < 0, "lapic LVT: a masked timer raises nothing");
	lapic_write(&l, LAPIC_TIMER_INIT, 0);
	CHECK_EQ(lapic_read(&l, LAPIC_TIMER_CUR), 0, "lapic timer: initial count 0 stops it");

	uint64_t v;
	lapic_write(&l, LAPIC_LVT_TIMER, 0xec);
	CHECK(lapic_wrmsr(&l, MSR_TSC_DEADLINE, fake_tsc + 10) == 0 &&
	      lapic_rdmsr(&l, MSR_TSC_DEADLINE, &v) == 0 && v == 0,
	      "lapic TSC deadline: ignored outside TSC-deadline mode");
	lapic_write(&l, LAPIC_LVT_TIMER, LVT_TIMER_DEADLINE | 0xed);
	lapic_wrmsr(&l, MSR_TSC_DEADLINE, fake_tsc + 500);
	lapic_write(&l, LAPIC_TIMER_INIT, 1);
	CHECK_EQ(lapic_read(&l, LAPIC_TIMER_INIT), 0, "lapic TSC deadline: initial count writes ignored");
	fake_tsc += 499;
	CHECK(!lapic_poll_timer(&l), "lapic TSC deadline: not before the deadline");
	fake_tsc += 1;
	CHECK(lapic_poll_timer(&l) && lapic_pending(&l) == 0xed, "lapic TSC deadline: fires at it");
	CHECK(lapic_rdmsr(&l, MSR_TSC_DEADLINE, &v) == 0 && v == 0,
	      "lapic TSC deadline: the MSR reads 0 once fired");
	lapic_wrmsr(&l, MSR_TSC_DEADLINE, fake_tsc + 10);
	lapic_write(&l, LAPIC_LVT_TIMER, 0xed);
	fake_tsc += 20;
	CHECK(!lapic_poll_timer(&l), "lapic TSC deadline: leaving the mode disarms");
}

static void test_ipi(void)
{
	struct lapic l;
	enabled(&l);
	lapic_write(&l, LAPIC_ICR_HI, 0x02000000);
	lapic_write(&l, LAPIC_ICR_LO, 0x4031);
	CHECK(nsent == 1 && sent[0].dest == 2 && sent[0].vector == 0x31 && sent[0].mode == APIC_DM_FIXED &&
	      !sent[0].logical && sent[0].shorthand == APIC_SH_NONE && sent[0].source == 0,
	      "lapic ICR: fixed 0x31 to APIC 2 from vCPU 0");
	CHECK_EQ(lapic_read(&l, LAPIC_ICR_LO) & (1u << 12), 0, "lapic ICR: delivery status idle");
	lapic_write(&l, LAPIC_ICR_LO, 0x44032);
	CHECK(nsent == 2 && sent[1].shorthand == APIC_SH_SELF, "lapic ICR: self shorthand");
	lapic_write(&l, LAPIC_ICR_LO, 0xc4500);
	CHECK(nsent == 3 && sent[2].mode == APIC_DM_INIT && sent[2].assert &&
	      sent[2].shorthand == APIC_SH_OTHERS, "lapic ICR: INIT to all but self");
	lapic_write(&l, LAPIC_ICR_LO, 0xc8500);
	CHECK(nsent == 4 && !sent[3].assert && sent[3].level, "lapic ICR: INIT level de-assert");
	lapic_write(&l, LAPIC_ICR_LO, 0xc4608);
	CHECK(nsent == 5 && sent[4].mode == APIC_DM_SIPI && sent[4].vector == 0x08,
	      "lapic ICR: start-up IPI with vector 8");
	lapic_write(&l, LAPIC_ICR_LO, 0x4805);
	CHECK(nsent == 5, "lapic ICR: a fixed vector below 16 is not sent");
	lapic_write(&l, LAPIC_ESR, 0);
	CHECK_EQ(lapic_read(&l, LAPIC_ESR), ESR_SEND_ILLEGAL, "lapic ESR: send illegal vector");

	struct lapic ap;
	fresh(&ap, 1, false);
	struct apic_msg init = { .mode = APIC_DM_INIT, .assert = true };
	struct apic_msg deassert = { .mode = APIC_DM_INIT, .level = true };
	struct apic_msg sipi = { .mode = APIC_DM_SIPI, .vector = 0x9a, .assert = true };
	lapic_write(&ap, LAPIC_SVR, 0x1ff);
	lapic_write(&ap, LAPIC_TPR, 0x20);
	lapic_accept(&ap, &init);
	CHECK(ap.wait_sipi && lapic_read(&ap, LAPIC_SVR) == 0xff && lapic_read(&ap, LAPIC_TPR) == 0 &&
	      lapic_read(&ap, LAPIC_ID) == 1u << 24, "lapic INIT: resets the APIC but its ID, waits for SIPI");
	lapic_accept(&ap, &deassert);
	CHECK(ap.wait_sipi && ap.sipi_vector < 0, "lapic INIT de-assert: no effect");
	lapic_accept(&ap, &sipi);
	CHECK_EQ(ap.sipi_vector, 0x9a, "lapic SIPI: the vector is recorded");
	sipi.vector = 0x11;
	lapic_accept(&ap, &sipi);
	CHECK_EQ(ap.sipi_vector, 0x9a, "lapic SIPI: a second SIPI is ignored");
	struct apic_msg nmi = { .mode = APIC_DM_NMI, .assert = true };
	lapic_accept(&ap, &nmi);
	CHECK(ap.nmi, "lapic NMI: taken even while software-disabled");

	CHECK(lapic_matches(&ap, 1, false) && lapic_matches(&ap, 0xff, false) && !lapic_matches(&ap, 2, false),
	      "lapic destination: physical ID and broadcast");
	lapic_write(&ap, LAPIC_LDR, 0x02000000);
	CHECK(lapic_matches(&ap, 0x03, true) && !lapic_matches(&ap, 0x01, true),
	      "lapic destination: flat logical mask");
	lapic_write(&ap, LAPIC_DFR, 0x0fffffff);
	lapic_write(&ap, LAPIC_LDR, 0x31000000);
	CHECK(lapic_matches(&ap, 0x31, true) && !lapic_matches(&ap, 0x21, true) && !lapic_matches(&ap, 0x32, true),
	      "lapic destination: cluster logical (cluster 3, member bit 0)");
}

static void test_x2apic(void)
{
	struct lapic l;
	fresh(&l, 5, false);
	l.wait_sipi = false;
	uint64_t v;
	CHECK_EQ(lapic_rdmsr(&l, 0x802, &v), -1, "x2apic: MSRs #GP in xAPIC mode");
	CHECK_EQ(lapic_wrmsr(&l, MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EXTD), -1,
		 "x2apic: EXTD without EN is invalid");
	CHECK_EQ(lapic_wrmsr(&l, MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_EXTD | APIC_BASE_ENABLE), 0,
		 "x2apic: xAPIC to x2APIC through IA32_APIC_BASE");
	CHECK(lapic_rdmsr(&l, 0x802, &v) == 0 && v == 5, "x2apic: ID MSR 0x802 is the 32-bit ID");
	CHECK(lapic_rdmsr(&l, 0x803, &v) == 0 && v == 0x50014, "x2apic: version MSR 0x803");
	CHECK(lapic_rdmsr(&l, 0x80d, &v) == 0 && v == (0u << 16 | 1u << 5), "x2apic: LDR derived from the ID");
	CHECK_EQ(lapic_read(&l, LAPIC_ID), 0, "x2apic: the MMIO page is gone");
	CHECK_EQ(lapic_wrmsr(&l, 0x802, 7), -1, "x2apic: the ID is read-only");
	CHECK_EQ(lapic_rdmsr(&l, 0x80b, &v), -1, "x2apic: EOI is write-only");
	CHECK_EQ(lapic_rdmsr(&l, 0x80e, &v), -1, "x2apic: no DFR");
	CHECK_EQ(lapic_wrmsr(&l, 0x80f, 0x1ff), 0, "x2apic: SVR write");
	CHECK(lapic_wrmsr(&l, 0x808, 0x10) == 0 && lapic_rdmsr(&l, 0x808, &v) == 0 && v == 0x10,
	      "x2apic: TPR through 0x808");
	CHECK_EQ(lapic_wrmsr(&l, 0x83f, 0x55), 0, "x2apic: self IPI MSR");
	CHECK_EQ(lapic_pending(&l), 0x55, "x2apic: the self IPI is pending");
	CHECK_EQ(lapic_ack(&l), 0x55, "x2apic: acked");
	CHECK(lapic_rdmsr(&l, 0x810 + 2, &v) == 0 && v == 1u << (0x55 - 64), "x2apic: ISR through 0x812");
	CHECK_EQ(lapic_wrmsr(&l, 0x80b, 1), -1, "x2apic: a nonzero EOI write is #GP");
	CHECK_EQ(lapic_wrmsr(&l, 0x80b, 0), 0, "x2apic: EOI");
	CHECK(lapic_rdmsr(&l, 0x812, &v) == 0 && v == 0, "x2apic: EOI emptied the ISR");
	nsent = 0;
	CHECK_EQ(lapic_wrmsr(&l, 0x830, 0x0000000700004040ull), 0, "x2apic: 64-bit ICR write");
	CHECK(nsent == 1 && sent[0].dest == 7 && sent[0].vector == 0x40, "x2apic: ICR's destination in bits 63-32");
	CHECK(lapic_rdmsr(&l, 0x830, &v) == 0 && v == 0x0000000700004040ull, "x2apic: ICR reads back 64 bits");
	CHECK(lapic_matches(&l, 5, false) && lapic_matches(&l, 0xffffffff, false) && !lapic_matches(&l, 0xff, false),
	      "x2apic: 32-bit physical destinations");
	CHECK(lapic_matches(&l, 1u << 5, true) && !lapic_matches(&l, 1u << 16 | 1u << 5, true),
	      "x2apic: cluster logical destinations");
	CHECK_EQ(lapic_wrmsr(&l, MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_ENABLE), -1,
		 "x2apic: back to xAPIC directly is invalid");
	CHECK_EQ(lapic_wrmsr(&l, MSR_APIC_BASE, 0xfee00000ull), 0, "x2apic: disabling is allowed");
	CHECK(lapic_accepts_pic(&l), "lapic: a hardware-disabled APIC lets the PIC through");
	CHECK_EQ(lapic_wrmsr(&l, MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_ENABLE), 0, "lapic: re-enabled as xAPIC");
	CHECK_EQ(lapic_read(&l, LAPIC_SVR), 0xff, "lapic: disabling reset the registers");
	CHECK_EQ(lapic_wrmsr(&l, MSR_APIC_BASE, 0xfee00000ull | APIC_BASE_ENABLE | 1), -1,
		 "lapic: reserved IA32_APIC_BASE bits #GP");
	CHECK_EQ(lapic_rdmsr(&l, 0x10, &v), -1, "lapic: other MSRs are not the APIC's");
}

/* What a halted CPU sleeps (or, deterministic, skips) until. */
static void test_next_timer(void)
{
	struct lapic l;
	enabled(&l);
	CHECK_EQ(lapic_next_timer_ns(&l), UINT64_MAX, "lapic next timer: none while masked at reset");
	uint64_t t0 = fake_ns;
	lapic_write(&l, LAPIC_TIMER_DIV, 0x3);  /* divide by 16 */
	lapic_write(&l, LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | 0xec);
	lapic_write(&l, LAPIC_TIMER_INIT, 100);
	CHECK_EQ(lapic_next_timer_ns(&l), t0 + 1600, "lapic next timer: 100 ticks by 16 at 1 GHz");
	fake_ns = t0 + 1600;
	lapic_poll_timer(&l);
	CHECK_EQ(lapic_next_timer_ns(&l), t0 + 3200, "lapic next timer: periodic, the next period");
	lapic_ack(&l);
	lapic_write(&l, LAPIC_EOI, 0);
	lapic_write(&l, LAPIC_LVT_TIMER, LVT_TIMER_DEADLINE | 0xed);
	lapic_wrmsr(&l, MSR_TSC_DEADLINE, fake_tsc + 700);
	CHECK_EQ(lapic_next_timer_ns(&l), fake_ns + 700, "lapic next timer: TSC deadline, on the same 1 GHz clock");
	lapic_write(&l, LAPIC_LVT_TIMER, LVT_TIMER_DEADLINE | LVT_MASKED | 0xed);
	CHECK_EQ(lapic_next_timer_ns(&l), UINT64_MAX, "lapic next timer: none when masked");
}

int main(void)
{
	test_next_timer();
	test_reset_values();
	test_priority_eoi();
	test_timer();
	test_ipi();
	test_x2apic();
	return CHECK_DONE();
}
