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
#include "multiboot.h"

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

/* ---- QEMU's fw_cfg (docs/specs/fw_cfg.rst): selector 0x510, data 0x511,
 * DMA address 0x514 (big-endian; the low half at 0x518 starts it) ---- */
#define FW_SEL 0x510
#define FW_DATA 0x511
#define FW_DMA 0x514

static void fw_select(uint16_t key) { outw(FW_SEL, key); }
static void fw_read(void *dst, uint32_t len)
{
	uint8_t *d = dst;
	for (uint32_t i = 0; i < len; i++)
		d[i] = inb(FW_DATA);
}
static uint32_t be32(uint32_t v) { return __builtin_bswap32(v); }

static struct __attribute__((packed, aligned(16))) {
	uint32_t control, length;
	uint64_t address;
} fw_dma;
static uint8_t fw_buf[64];

/* One DMA request; returns the control word the device wrote back. */
static uint32_t fw_dma_run(uint32_t control, uint32_t len, void *to)
{
	fw_dma.control = be32(control);
	fw_dma.length = be32(len);
	fw_dma.address = (uint64_t)be32((uint32_t)(uintptr_t)to) << 32;   /* BE64 of a 32-bit address */
	__asm__ volatile("" ::: "memory");
	outl(FW_DMA, 0);
	outl(FW_DMA + 4, be32((uint32_t)(uintptr_t)&fw_dma));
	__asm__ volatile("" ::: "memory");
	return be32(fw_dma.control);
}

static void section_fw_cfg(void)
{
	section("fw_cfg");
	char sig[5] = { 0 };
	fw_select(0x0000);
	fw_read(sig, 4);
	check_eq("fw_cfg_signature_qemu", memcmp(sig, "QEMU", 4), 0);
	uint32_t id = 0;
	fw_select(0x0001);
	fw_read(&id, 4);
	check_eq("fw_cfg_id_traditional_and_dma", id & 3, 3);
	uint64_t ram = 0;
	fw_select(0x0003);
	fw_read(&ram, 8);
	const struct multiboot_info *mbi = (const void *)(uintptr_t)multiboot_info_addr;
	/* the machine's RAM: at least what the loader reports (QEMU keeps
	 * its firmware's tables at the top out of the multiboot map) */
	uint64_t mb_ram = ((uint64_t)mbi->mem_upper + 1024) * 1024;
	check_eq("fw_cfg_ram_size_covers_multiboot", ram >= mb_ram && ram - mb_ram < (1u << 20), 1);
	uint16_t ncpu = 0, maxcpu = 0;
	fw_select(0x0005);
	fw_read(&ncpu, 2);
	fw_select(0x000f);
	fw_read(&maxcpu, 2);
	check_eq("fw_cfg_cpu_count_nonzero", ncpu != 0, 1);
	check_eq("fw_cfg_max_cpus_covers_count", maxcpu >= ncpu, 1);
	/* the directory: BE32 count, then 64-byte entries: BE32 size, BE16
	 * selector, BE16 reserved, 56-byte name */
	uint32_t count = 0;
	fw_select(0x0019);
	fw_read(&count, 4);
	count = be32(count);
	uint32_t e820_size = 0;
	uint16_t e820_sel = 0;
	for (uint32_t k = 0; k < count && k < 64; k++) {
		struct { uint32_t size; uint16_t sel, res; char name[56]; } e;
		fw_read(&e, sizeof(e));
		if (memcmp(e.name, "etc/e820", 9) == 0) {
			e820_size = be32(e.size);
			e820_sel = (uint16_t)(e.sel >> 8 | e.sel << 8);
		}
	}
	check_eq("fw_cfg_directory_has_etc_e820", e820_size != 0 && e820_size % 20 == 0, 1);
	int ram_at_1m = 0;
	fw_select(e820_sel);
	for (uint32_t k = 0; k < e820_size / 20; k++) {
		struct __attribute__((packed)) { uint64_t addr, size; uint32_t type; } m;
		fw_read(&m, sizeof(m));
		ram_at_1m |= m.type == 1 && m.addr <= 0x100000 && m.addr + m.size > 0x100000;
	}
	check_eq("fw_cfg_e820_ram_at_1mib", ram_at_1m, 1);
	/* the command line, which multiboot's ends with (QEMU hands a
	 * multiboot kernel's to its option ROM elsewhere: size 0 here) */
	uint32_t clen = 0;
	fw_select(0x0014);
	fw_read(&clen, 4);
	char cl[128] = { 0 };
	fw_select(0x0015);
	fw_read(cl, clen < sizeof(cl) ? clen : sizeof(cl) - 1);
	const char *mb = multiboot_cmdline();
	uint32_t mlen = (uint32_t)strlen(mb), flen = (uint32_t)strlen(cl);
	check_eq("fw_cfg_cmdline_is_multiboots_tail", clen == 0 ||
		 (clen == flen + 1 && flen <= mlen && memcmp(mb + mlen - flen, cl, flen) == 0), 1);
	/* DMA: select and read the signature; past an item's end, zeros */
	uint8_t dma_sig[5] = { 0 };
	check_eq("fw_cfg_dma_signature_register", inb(FW_DMA) == 'Q' && inb(FW_DMA + 7) == 'G', 1);
	check_eq("fw_cfg_dma_select_read_ok", fw_dma_run(0x0000u << 16 | 0x08 | 0x02, 4, dma_sig), 0);
	check_eq("fw_cfg_dma_read_signature", memcmp(dma_sig, "QEMU", 4), 0);
	memset(fw_buf, 0xaa, sizeof(fw_buf));
	check_eq("fw_cfg_dma_read_past_end_ok", fw_dma_run(0x0001u << 16 | 0x08 | 0x02, 8, fw_buf), 0);
	check_eq("fw_cfg_dma_past_end_zeros", fw_buf[0] & 3 && fw_buf[4] == 0 && fw_buf[7] == 0 &&
		 fw_buf[8] == 0xaa, 1);
	check_eq("fw_cfg_dma_write_refused", fw_dma_run(0x0000u << 16 | 0x08 | 0x10, 4, fw_buf) & 1, 1);
}

void guest_main(void)
{
	conf_init();
	section_port_widths();
	section_string_io();
	section_mmio();
	section_mmio_many_pieces();
	section_fw_cfg();
}
