/* Port I/O of every width, string I/O with REP in both directions, and
 * MMIO of 1/2/4/8 bytes, unaligned and across a page boundary.
 *
 * Ports: COM1's scratch register 0x3ff reads back what was written (16550
 * data sheet), so OUTS/INS can be checked against it; 0x51c-0x51f are
 * claimed by nothing on QEMU's pc machine nor on popek, and an unclaimed
 * port reads all ones (the ISA bus floats high).
 * MMIO: needs a device at MMIO_TEST that remembers what is written: popek's
 * test-ram device (src/dev/test_ram.c). Where there is none (QEMU's pc
 * machine) the checks print SKIP. */
#include "conf.h"

#define SCRATCH  0x3ff
#define UNCLAIMED 0x51c
#define MMIO_TEST 0xd1000000u

static void section_port_widths(void)
{
	section("port_widths");
	check_eq("inb_unclaimed_all_ones", inb(UNCLAIMED), 0xff);
	check_eq("inw_unclaimed_all_ones", inw(UNCLAIMED), 0xffff);
	check_eq("inl_unclaimed_all_ones", inl(UNCLAIMED), 0xffffffff);
	TRY("outb %%al, %%dx; outw %%ax, %%dx; outl %%eax, %%dx", : : "a"(0x12345678), "d"(UNCLAIMED));
	check_no_fault("out_all_widths_unclaimed");
	outb(SCRATCH, 0xa5);
	check_eq("scratch_roundtrip_a5", inb(SCRATCH), 0xa5);
	outb(SCRATCH, 0x5a);
	check_eq("scratch_roundtrip_5a", inb(SCRATCH), 0x5a);
	/* IN to AL leaves the rest of EAX alone. */
	uint32_t v = 0x11223344;
	__asm__ volatile("inb %%dx, %%al" : "+a"(v) : "d"(SCRATCH));
	check_eq("inb_keeps_upper_eax", v, 0x1122335a);
	v = 0x11223344;
	__asm__ volatile("inw %%dx, %%ax" : "+a"(v) : "d"(UNCLAIMED));
	check_eq("inw_keeps_upper_eax", v, 0x1122ffff);
}

static void section_string_io(void)
{
	static uint8_t buf[16];
	uint32_t si, di, cx;
	section("string_io");
	static const uint8_t src[4] = { 1, 2, 3, 4 };
	__asm__ volatile("cld; rep outsb" : "=S"(si), "=c"(cx) : "0"(src), "1"(4), "d"(SCRATCH) : "memory");
	check_eq("rep_outsb_last_byte", inb(SCRATCH), 4);
	check_eq("rep_outsb_esi_advanced", si, (uint32_t)(uintptr_t)src + 4);
	check_eq("rep_outsb_ecx_zero", cx, 0);

	memset(buf, 0, sizeof(buf));
	outb(SCRATCH, 0x77);
	__asm__ volatile("cld; rep insb" : "=D"(di), "=c"(cx) : "0"(buf), "1"(3), "d"(SCRATCH) : "memory");
	check_eq("rep_insb_bytes", buf[0] | buf[1] << 8 | buf[2] << 16, 0x777777);
	check_eq("rep_insb_stops_at_count", buf[3], 0);
	check_eq("rep_insb_edi_advanced", di, (uint32_t)(uintptr_t)buf + 3);

	memset(buf, 0, sizeof(buf));
	outb(SCRATCH, 0x66);
	__asm__ volatile("std; rep insb; cld" : "=D"(di), "=c"(cx) : "0"(buf + 5), "1"(2), "d"(SCRATCH) : "memory");
	check_eq("rep_insb_backward_bytes", buf[4] << 8 | buf[5], 0x6666);
	check_eq("rep_insb_backward_untouched", buf[3] | buf[6], 0);
	check_eq("rep_insb_backward_edi", di, (uint32_t)(uintptr_t)buf + 3);

	__asm__ volatile("std; rep outsb; cld" : "=S"(si), "=c"(cx) : "0"(src + 2), "1"(3), "d"(SCRATCH) : "memory");
	check_eq("rep_outsb_backward_last_is_lowest", inb(SCRATCH), 1);
	check_eq("rep_outsb_backward_esi", si, (uint32_t)(uintptr_t)src - 1);

	memset(buf, 0, sizeof(buf));
	__asm__ volatile("cld; insw" : "=D"(di) : "0"(buf), "d"(UNCLAIMED) : "memory");
	check_eq("insw_unclaimed", buf[0] | buf[1] << 8, 0xffff);
	check_eq("insw_edi_plus_2", di, (uint32_t)(uintptr_t)buf + 2);
	__asm__ volatile("cld; insl" : "=D"(di) : "0"(buf + 4), "d"(UNCLAIMED) : "memory");
	check_eq("insd_unclaimed", *(uint32_t *)(buf + 4), 0xffffffff);
	check_eq("insd_edi_plus_4", di, (uint32_t)(uintptr_t)buf + 8);
	memset(buf, 0, sizeof(buf));
	__asm__ volatile("cld; rep insw" : "=D"(di), "=c"(cx) : "0"(buf), "1"(3), "d"(UNCLAIMED) : "memory");
	check_eq("rep_insw_count3", buf[5] << 8 | buf[0], 0xffff);
	check_eq("rep_insw_stops", buf[6], 0);
	__asm__ volatile("cld; outsw" : "=S"(si) : "0"(buf), "d"(UNCLAIMED));
	check_eq("outsw_esi_plus_2", si, (uint32_t)(uintptr_t)buf + 2);
	__asm__ volatile("cld; outsl" : "=S"(si) : "0"(buf), "d"(UNCLAIMED));
	check_eq("outsd_esi_plus_4", si, (uint32_t)(uintptr_t)buf + 4);
	memset(buf, 0, sizeof(buf));
	__asm__ volatile("cld; rep insb" : "=D"(di), "=c"(cx) : "0"(buf), "1"(0), "d"(SCRATCH) : "memory");
	check_eq("rep_insb_count0_no_iteration", di, (uint32_t)(uintptr_t)buf);
	check_eq("rep_insb_count0_buffer_untouched", buf[0], 0);
}

/* ---- MMIO ---- */
static const char *const mmio_checks[] = {
	"mmio_write32_read32", "mmio_write8_read8", "mmio_write16_read16", "mmio_write64_read64",
	"mmio_write32_read8_little_endian", "mmio_unaligned_write32", "mmio_unaligned_read16",
	"mmio_unaligned_write64", "mmio_cross_page_write32", "mmio_cross_page_read32",
	"mmio_rep_movsb_write", "mmio_rep_movsb_read",
};

/* Through XMM0, which nothing else in this guest uses (-mgeneral-regs-only). */
static void mmio64_write(uint32_t addr, uint64_t v)
{
	__asm__ volatile("movq %0, %%xmm0; movq %%xmm0, (%1)" : : "m"(v), "r"(addr) : "memory");
}
static uint64_t mmio64_read(uint32_t addr)
{
	uint64_t v;
	__asm__ volatile("movq (%1), %%xmm0; movq %%xmm0, %0" : "=m"(v) : "r"(addr) : "memory");
	return v;
}
#define M8(a)  (*(volatile uint8_t *)(uintptr_t)(MMIO_TEST + (a)))
#define M16(a) (*(volatile uint16_t *)(uintptr_t)(MMIO_TEST + (a)))
#define M32(a) (*(volatile uint32_t *)(uintptr_t)(MMIO_TEST + (a)))

static void section_mmio(void)
{
	section("mmio");
	M32(0) = 0x5aa5c33c;
	if (M32(0) != 0x5aa5c33c) {
		for (unsigned i = 0; i < sizeof(mmio_checks) / sizeof(mmio_checks[0]); i++)
			report_skip(mmio_checks[i], "no MMIO device that remembers writes at %#x", MMIO_TEST);
		return;
	}
	write_cr0((read_cr0() & ~0xcu) | 0x2u);
	write_cr4(read_cr4() | 0x600u);
	check_eq("mmio_write32_read32", M32(0), 0x5aa5c33c);
	M8(0x10) = 0x9e;
	check_eq("mmio_write8_read8", M8(0x10), 0x9e);
	M16(0x20) = 0xbeef;
	check_eq("mmio_write16_read16", M16(0x20), 0xbeef);
	mmio64_write(MMIO_TEST + 0x30, 0x0123456789abcdefull);
	check_eq("mmio_write64_read64", mmio64_read(MMIO_TEST + 0x30), 0x0123456789abcdefull);
	M32(0x40) = 0x44332211;
	check_eq("mmio_write32_read8_little_endian", M8(0x40) | M8(0x43) << 8, 0x4411);
	M32(0x51) = 0xddccbbaa;
	check_eq("mmio_unaligned_write32", M8(0x51) | M8(0x52) << 8 | M8(0x53) << 16 | (uint32_t)M8(0x54) << 24, 0xddccbbaa);
	check_eq("mmio_unaligned_read16", M16(0x53), 0xddcc);
	mmio64_write(MMIO_TEST + 0x65, 0x1122334455667788ull);
	check_eq("mmio_unaligned_write64", M32(0x65) | (uint64_t)M32(0x69) << 32, 0x1122334455667788ull);
	M32(0xffe) = 0x87654321;
	check_eq("mmio_cross_page_write32", M16(0xffe) | (uint32_t)M16(0x1000) << 16, 0x87654321);
	check_eq("mmio_cross_page_read32", M32(0xffe), 0x87654321);
	static const char msg[8] = "popek!!";
	char back[8];
	uint32_t si = (uint32_t)(uintptr_t)msg, di = MMIO_TEST + 0x100, cx = 8;
	/* REP MOVSB advances ESI/EDI and counts ECX down: they are outputs too. */
	__asm__ volatile("cld; rep movsb" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
	check_eq("mmio_rep_movsb_write", M32(0x100), 0x65706f70);
	si = MMIO_TEST + 0x100, di = (uint32_t)(uintptr_t)back, cx = 8;
	__asm__ volatile("cld; rep movsb" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
	check_eq("mmio_rep_movsb_read", memcmp(back, msg, 8), 0);
}

/* Instructions that touch MMIO in many pieces: the FXSAVE image (512
 * bytes), FSAVE's 108, PUSHA/POPA with the stack on a device. Each must
 * be carried out in full, as on RAM. */
static const char *const mmio_many_checks[] = {
	"mmio_fxsave_image", "mmio_fxrstor_loads_mxcsr", "mmio_fnsave_frstor_image",
	"mmio_pushal_eax", "mmio_pushal_esp", "mmio_pushal_edi", "mmio_popal_restores",
};
static uint8_t fx_ram[512] __attribute__((aligned(16)));
static uint8_t fs_ram[108];
static volatile uint32_t esp_keep, regs_back[2];

static void section_mmio_many_pieces(void)
{
	section("mmio_many_pieces");
	M32(0) = 0x5aa5c33c;
	if (M32(0) != 0x5aa5c33c) {
		for (unsigned i = 0; i < sizeof(mmio_many_checks) / sizeof(mmio_many_checks[0]); i++)
			report_skip(mmio_many_checks[i], "no MMIO device that remembers writes at %#x", MMIO_TEST);
		return;
	}
	uint32_t fx_mmio = MMIO_TEST + 0x200;
	__asm__ volatile("fninit; fld1; fxsave (%0); fxsave (%1)" : : "r"(fx_ram), "r"(fx_mmio) : "memory");
	unsigned bad = 0;
	for (unsigned k = 0; k < 464; k++)	/* 464-511: the CPU does not write them */
		bad += M8(0x200 + k) != fx_ram[k];
	check_eq("mmio_fxsave_image", bad, 0);
	M32(0x200 + 24) = 0x3f80;		/* MXCSR: round toward zero */
	__asm__ volatile("fxrstor (%0)" : : "r"(fx_mmio) : "memory");
	uint32_t mx = 0;
	__asm__ volatile("stmxcsr %0" : "=m"(mx));
	check_eq("mmio_fxrstor_loads_mxcsr", mx, 0x3f80);
	mx = 0x1f80;
	__asm__ volatile("ldmxcsr %0" : : "m"(mx));

	uint32_t fs_mmio = MMIO_TEST + 0x600;
	__asm__ volatile("fninit; fld1; fldpi; fnsave (%0); frstor (%0); fnsave (%1); fninit"
			 : : "r"(fs_mmio), "r"(fs_ram) : "memory");
	bad = 0;
	for (unsigned k = 0; k < 108; k++)
		bad += M8(0x600 + k) != fs_ram[k];
	check_eq("mmio_fnsave_frstor_image", bad, 0);

	/* The stack on the device: PUSHA writes 8 pieces, POPA reads them. */
	uint32_t top = MMIO_TEST + 0x900;
	__asm__ volatile("movl %%esp, esp_keep\n\t"
			 "movl %2, %%esp\n\t"
			 "movl $0x11111111, %%eax\n\t"
			 "movl $0x77777777, %%edi\n\t"
			 "pushal\n\t"
			 "movl $0, %%eax\n\t"
			 "movl $0, %%edi\n\t"
			 "popal\n\t"
			 "movl %%eax, regs_back\n\t"
			 "movl %%edi, regs_back+4\n\t"
			 "movl esp_keep, %%esp"
			 : "=a"(bad), "=D"(mx) : "r"(top) : "memory");
	check_eq("mmio_pushal_eax", M32(0x900 - 4), 0x11111111);
	check_eq("mmio_pushal_esp", M32(0x900 - 20), top);
	check_eq("mmio_pushal_edi", M32(0x900 - 32), 0x77777777);
	check_eq("mmio_popal_restores", regs_back[0] ^ regs_back[1], 0x11111111 ^ 0x77777777);
}

void guest_main(void)
{
	conf_init();
	section_port_widths();
	section_string_io();
	section_mmio();
	section_mmio_many_pieces();
}
