/* virtio over PCI as a driver sees it: config space through 0xcf8/0xcfc,
 * the BAR through the MMIO bus, rings in guest RAM. A well-behaved driver
 * gets its requests done (rng, blk); a hostile one (loops, buffers outside
 * RAM or in MMIO, nested indirect tables, a runaway index, rings outside
 * RAM) gets NEEDS_RESET and a configuration interrupt, never a crash, and
 * a reset makes the device usable again. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dev/pci.h"
#include "dev/platform.h"
#include "dev/virtio/blk.h"
#include "dev/virtio/virtio.h"
#include "test_vm.h"
#include "vm.h"

#define RAM      (16u << 20)
#define QSIZE    8
#define DESC     0x10000u
#define AVAIL    0x11000u
#define USED     0x12000u
#define BUF      0x20000u
#define TABLE    0x30000u
#define SLOT     1
#define GSI      PCI_GSI(SLOT, 0)

static int irq_level[32];
static int record_irq(struct vm *vm, unsigned line, int level)
{
	(void)vm;
	if (line < 32)
		irq_level[line] = level;
	return 0;
}
static uint64_t msi_addr;
static uint32_t msi_data;
static int msi_count;
static int record_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	(void)vm;
	msi_addr = addr;
	msi_data = data;
	msi_count++;
	return 0;
}
static const struct engine test_engine = { .name = "test", .irq_line = record_irq, .msi = record_msi };

static struct vm *vm;
static uint64_t bar;
static uint16_t avail_idx;
static uint16_t queue_vector = 0xffff;   /* what driver_init gives queue 0 (MSI-X) */

static void attach(struct device_desc *d)
{
	char err[256] = "";
	CHECK(d->create(vm, err, sizeof(err)) == 0, "%s: attaches (%s)", d->name, err);
}

static struct vm *machine(struct vm_config *extra)
{
	vm = test_vm_new(&test_engine, 0, RAM);
	char err[256];
	if (guest_mem_init(&vm->mem, RAM, err, sizeof(err)) != 0) {
		printf("FAIL guest memory: %s\n", err);
		exit(1);
	}
	if (extra) {
		memcpy(vm->cfg.disk, extra->disk, sizeof(extra->disk));
		vm->cfg.ndisks = extra->ndisks;
		vm->cfg.virtio_rng = extra->virtio_rng;
	}
	memset(irq_level, 0, sizeof(irq_level));
	attach(&pci_config_device);
	return vm;
}

static void teardown(struct device_desc *d)
{
	d->destroy(vm);
	pci_config_device.destroy(vm);
	guest_mem_free(&vm->mem);
	free(vm);
}

static uint32_t cfg_read(unsigned reg, unsigned size)
{
	pio_out(vm, PORT_PCI_ADDRESS, 0x80000000u | SLOT << 11 | (reg & 0xfc), 4);
	return pio_in(vm, PORT_PCI_DATA + (reg & 3), size);
}

static uint64_t rd(uint64_t off, unsigned size)
{
	uint8_t d[8] = { 0 };
	bus_access(&vm->mmio, bar + off, d, size, false);
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

static void wr(uint64_t off, uint64_t v, unsigned size)
{
	uint8_t d[8];
	for (unsigned i = 0; i < 8; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	bus_access(&vm->mmio, bar + off, d, size, true);
}

/* common configuration offsets */
enum { DFSEL = 0x00, DF = 0x04, GFSEL = 0x08, GF = 0x0c, NUMQ = 0x12, STATUS = 0x14, QSEL = 0x16,
       QSZ = 0x18, QEN = 0x1c, QDESC = 0x20, QDRV = 0x28, QDEV = 0x30, ISR = 0x1000, DEVCFG = 0x2000,
       NOTIFY = 0x3000 };

static uint8_t status(void) { return (uint8_t)rd(STATUS, 1); }

/* Walks the vendor capabilities and checks the layout a driver would find. */
static void check_caps(const char *who)
{
	unsigned seen = 0;
	for (unsigned p = cfg_read(PCI_CAP_PTR, 1), n = 0; p && n < 16; p = cfg_read(p + 1, 1), n++)
		if (cfg_read(p, 1) == 0x09)
			seen |= 1u << cfg_read(p + 3, 1);
	CHECK_EQ(seen, 0x1e, "%s: common, notify, ISR and device capabilities are listed", who);
}

/* The driver side of 3.1.1, with the given feature bits. */
static void driver_init(uint64_t features)
{
	avail_idx = 0;
	wr(STATUS, 0, 1);
	wr(STATUS, 1, 1);
	wr(STATUS, 3, 1);
	wr(GFSEL, 0, 4);
	wr(GF, (uint32_t)features, 4);
	wr(GFSEL, 1, 4);
	wr(GF, (uint32_t)(features >> 32), 4);
	wr(STATUS, 0x0b, 1);
	wr(QSEL, 0, 2);
	wr(QSZ, QSIZE, 2);
	wr(QDESC, DESC, 4);
	wr(QDESC + 4, 0, 4);
	wr(QDRV, AVAIL, 8);
	wr(QDEV, USED, 8);
	wr(0x1a, queue_vector, 2);
	wr(QEN, 1, 2);
	wr(STATUS, 0x0f, 1);
	memset(gpa_ptr(&vm->mem, DESC, 0x3000), 0, 0x3000);
}

static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = gpa_ptr(&vm->mem, table + 16 * i, 16);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void offer(uint16_t head)
{
	uint16_t *ring = gpa_ptr(&vm->mem, AVAIL, 4 + 2 * QSIZE);
	ring[2 + avail_idx % QSIZE] = head;
	avail_idx++;
	ring[1] = avail_idx;
	wr(NOTIFY, 0, 2);
}

static uint16_t used_idx(void) { return *(uint16_t *)gpa_ptr(&vm->mem, USED + 2, 2); }
static uint32_t used_len(unsigned i) { return *(uint32_t *)gpa_ptr(&vm->mem, USED + 4 + 8 * i + 4, 4); }

#define F_INDIRECT (1ull << 28)
#define F_EVENT    (1ull << 29)
#define F_V1       (1ull << 32)
#define W 2
#define N 1
#define IND 4

static void test_rng_transport(void)
{
	struct vm_config c = { .virtio_rng = true };
	machine(&c);
	attach(&virtio_rng_device);
	CHECK_EQ(cfg_read(0, 4), 0x10441af4, "virtio-rng: 1af4:1044, a modern-only ID");
	CHECK_EQ(cfg_read(PCI_INT_LINE, 1), GSI, "virtio-rng: interrupt line %d, as the _PRT routes slot 1", GSI);
	CHECK_EQ(cfg_read(PCI_INT_PIN, 1), 1, "virtio-rng: INTA");
	bar = cfg_read(PCI_BAR0, 4) & ~0xfu;
	CHECK(bar >= PCI_MMIO_BASE && bar < PCI_MMIO_BASE + PCI_MMIO_SIZE, "virtio-rng: BAR0 in the PCI window");
	pio_out(vm, PORT_PCI_ADDRESS, 0x80000000u | SLOT << 11 | PCI_BAR0, 4);
	pio_out(vm, PORT_PCI_DATA, 0xffffffff, 4);
	CHECK_EQ(pio_in(vm, PORT_PCI_DATA, 4), 0xffff8000u, "virtio-rng: BAR sizing reads back 32 KiB");
	pio_out(vm, PORT_PCI_DATA, (uint32_t)bar, 4);
	check_caps("virtio-rng");

	CHECK_EQ(rd(DF + 0, 4) & (1u << 28 | 1u << 29), 3u << 28, "virtio-rng: indirect and event index offered");
	wr(DFSEL, 1, 4);
	CHECK_EQ(rd(DF, 4) & 1, 1, "virtio-rng: VERSION_1 offered");
	CHECK_EQ(rd(NUMQ, 2), 1, "virtio-rng: one queue");

	/* FEATURES_OK does not stick without VERSION_1 */
	wr(STATUS, 0, 1);
	wr(STATUS, 3, 1);
	wr(GFSEL, 1, 4);
	wr(GF, 0, 4);
	wr(STATUS, 0x0b, 1);
	CHECK_EQ(status() & 0x08, 0, "virtio-rng: FEATURES_OK refused without VERSION_1");

	driver_init(F_V1 | F_INDIRECT);
	CHECK_EQ(status(), 0x0f, "virtio-rng: the driver is up");
	memset(gpa_ptr(&vm->mem, BUF, 64), 0, 64);
	put_desc(DESC, 0, BUF, 64, W, 0);
	offer(0);
	CHECK_EQ(used_idx(), 1, "virtio-rng: a buffer comes back");
	CHECK_EQ(used_len(0), 64, "virtio-rng: all 64 bytes filled");
	uint8_t zero[64] = { 0 };
	CHECK(memcmp(gpa_ptr(&vm->mem, BUF, 64), zero, 64) != 0, "virtio-rng: with random bytes");
	CHECK_EQ(irq_level[GSI], 1, "virtio-rng: INTA raised on GSI %d", GSI);
	CHECK_EQ(rd(ISR, 1), 1, "virtio-rng: ISR says queue interrupt");
	CHECK_EQ(irq_level[GSI], 0, "virtio-rng: reading the ISR lowers the line");
	CHECK_EQ(rd(ISR, 1), 0, "virtio-rng: ... and clears it");

	/* an indirect table of two buffers */
	put_desc(TABLE, 0, BUF, 16, W | N, 1);
	put_desc(TABLE, 1, BUF + 16, 16, W, 0);
	put_desc(DESC, 1, TABLE, 32, IND, 0);
	offer(1);
	CHECK(used_idx() == 2 && used_len(1) == 32, "virtio-rng: an indirect chain is filled (32 bytes)");

	/* the event index: no interrupt until used passes used_event */
	driver_init(F_V1 | F_EVENT);
	uint16_t *used_event = gpa_ptr(&vm->mem, AVAIL + 4 + 2 * QSIZE, 2);
	*used_event = 5;
	rd(ISR, 1);
	put_desc(DESC, 0, BUF, 8, W, 0);
	offer(0);
	CHECK(used_idx() == 1 && irq_level[GSI] == 1, "virtio-rng: event index: the first completion interrupts");
	rd(ISR, 1);
	offer(0);
	CHECK(used_idx() == 2 && irq_level[GSI] == 0, "virtio-rng: event index: no interrupt before used_event");
	uint16_t avail_event = *(uint16_t *)gpa_ptr(&vm->mem, USED + 4 + 8 * QSIZE, 2);
	CHECK_EQ(avail_event, 2, "virtio-rng: event index: avail_event follows what was taken");
	teardown(&virtio_rng_device);
}

/* MSI-X: the capability, vectors per queue and for the configuration,
 * masking with pending bits, and INTx staying quiet meanwhile. */
static void test_msix(void)
{
	struct vm_config c = { .virtio_rng = true };
	machine(&c);
	attach(&virtio_rng_device);
	bar = cfg_read(PCI_BAR0, 4) & ~0xfu;
	unsigned cap = 0;
	for (unsigned p = cfg_read(PCI_CAP_PTR, 1), n = 0; p && n < 16; p = cfg_read(p + 1, 1), n++)
		if (cfg_read(p, 1) == 0x11)
			cap = p;
	CHECK(cap != 0, "msi-x: the capability is listed");
	CHECK_EQ(cfg_read(cap + 2, 2) & 0x7ff, VIRTIO_MAX_QUEUES, "msi-x: %d vectors", VIRTIO_MAX_QUEUES + 1);
	CHECK_EQ(cfg_read(cap + 4, 4), 0x4000, "msi-x: the table at BAR0 + 0x4000");
	CHECK_EQ(cfg_read(cap + 8, 4), 0x5000, "msi-x: the pending bits at BAR0 + 0x5000");
	CHECK_EQ(rd(0x4000 + 12, 4), 1, "msi-x: vectors start masked");
	/* enable, as Linux does: enable and mask-all, program, clear mask-all */
	pio_out(vm, PORT_PCI_ADDRESS, 0x80000000u | SLOT << 11 | (cap & 0xfc), 4);
	pio_out(vm, PORT_PCI_DATA + 2 + (cap & 3), 0xc000 | (cfg_read(cap + 2, 2) & 0x7ff), 2);
	for (unsigned v = 0; v < 2; v++) {
		wr(0x4000 + 16 * v, 0xfee00000u | v << 12, 4);
		wr(0x4000 + 16 * v + 4, 0, 4);
		wr(0x4000 + 16 * v + 8, 0x40 + v, 4);
		wr(0x4000 + 16 * v + 12, 0, 4);
	}
	pio_out(vm, PORT_PCI_ADDRESS, 0x80000000u | SLOT << 11 | (cap & 0xfc), 4);
	pio_out(vm, PORT_PCI_DATA + 2 + (cap & 3), 0x8000 | (cfg_read(cap + 2, 2) & 0x7ff), 2);
	CHECK_EQ(cfg_read(cap + 2, 2) & 0xc000, 0x8000, "msi-x: enabled, mask-all off");
	queue_vector = 77;
	driver_init(F_V1);
	CHECK_EQ(rd(0x1a, 2), 0xffff, "msi-x: a vector past the table reads back NO_VECTOR");
	queue_vector = 0;      /* queue 0: vector 0 */
	driver_init(F_V1);
	wr(0x10, 1, 2);        /* msix_config: vector 1 */
	CHECK(rd(0x10, 2) == 1 && rd(0x1a, 2) == 0, "msi-x: the vectors read back");
	msi_count = 0;
	put_desc(DESC, 0, BUF, 8, W, 0);
	offer(0);
	CHECK(msi_count == 1 && msi_addr == 0xfee00000u && msi_data == 0x40,
	      "msi-x: a completion sends queue 0's message (%d sent, %#llx <- %#x)", msi_count,
	      (unsigned long long)msi_addr, msi_data);
	CHECK_EQ(irq_level[GSI], 0, "msi-x: INTx stays low");
	wr(0x4000 + 12, 1, 4);  /* mask vector 0 */
	offer(0);
	CHECK(msi_count == 1 && (rd(0x5000, 4) & 1), "msi-x: a masked vector's message waits in the PBA");
	wr(0x4000 + 12, 0, 4);
	CHECK(msi_count == 2 && !(rd(0x5000, 4) & 1), "msi-x: unmasking sends it");
	/* a configuration change (a hostile chain) goes to vector 1 */
	put_desc(DESC, 0, RAM - 4, 8, W, 0);
	offer(0);
	CHECK(msi_count == 3 && msi_addr == 0xfee01000u && msi_data == 0x41,
	      "msi-x: NEEDS_RESET signals the configuration vector");
	queue_vector = 0xffff;
	teardown(&virtio_rng_device);
}

/* A hostile chain: the device must need a reset, raise a configuration
 * interrupt, return nothing, and work again after a reset. */
static void hostile(const char *what, void (*build)(void))
{
	driver_init(F_V1 | F_INDIRECT);
	rd(ISR, 1);
	build();
	offer(0);
	CHECK((status() & VIRTIO_STATUS_NEEDS_RESET) && used_idx() == 0,
	      "virtio hostile: %s: NEEDS_RESET, nothing returned", what);
	CHECK_EQ(rd(ISR, 1) & 2, 2, "virtio hostile: %s: a configuration interrupt", what);
	offer(0);
	CHECK_EQ(used_idx(), 0, "virtio hostile: %s: a broken device takes no more chains", what);
	driver_init(F_V1);
	put_desc(DESC, 0, BUF, 8, W, 0);
	offer(0);
	CHECK(used_idx() == 1 && !(status() & VIRTIO_STATUS_NEEDS_RESET),
	      "virtio hostile: %s: after a reset the device works", what);
}

static void loop(void) { put_desc(DESC, 0, BUF, 8, W | N, 1); put_desc(DESC, 1, BUF, 8, W | N, 0); }
static void self_loop(void) { put_desc(DESC, 0, BUF, 8, W | N, 0); }
static void outside(void) { put_desc(DESC, 0, RAM - 4, 8, W, 0); }
static void mmio(void) { put_desc(DESC, 0, MMIO_IOAPIC, 8, W, 0); }
static void huge(void) { put_desc(DESC, 0, BUF, 0xffffffffu, W, 0); }
static void wrap(void) { put_desc(DESC, 0, UINT64_MAX - 3, 8, W, 0); }
static void next_past(void) { put_desc(DESC, 0, BUF, 8, W | N, QSIZE); }
static void nested(void)
{
	put_desc(TABLE, 0, TABLE, 32, IND, 0);
	put_desc(DESC, 0, TABLE, 16, IND, 0);
}
static void indirect_loop(void)
{
	put_desc(TABLE, 0, BUF, 8, W | N, 1);
	put_desc(TABLE, 1, BUF, 8, W | N, 0);
	put_desc(DESC, 0, TABLE, 32, IND, 0);
}
static void indirect_outside(void) { put_desc(DESC, 0, RAM - 16, 32, IND, 0); }
static void indirect_odd(void) { put_desc(DESC, 0, TABLE, 24, IND, 0); }
static void head_past(void)
{
	uint16_t *ring = gpa_ptr(&vm->mem, AVAIL, 4 + 2 * QSIZE);
	ring[2] = QSIZE + 3;   /* offer() writes entry 0 as head 0: overwrite after */
	put_desc(DESC, 0, BUF, 8, W, 0);
}

static void test_rng_hostile(void)
{
	struct vm_config c = { .virtio_rng = true };
	machine(&c);
	attach(&virtio_rng_device);
	bar = cfg_read(PCI_BAR0, 4) & ~0xfu;
	hostile("a two-descriptor loop", loop);
	hostile("a descriptor that is its own next", self_loop);
	hostile("a buffer past the end of RAM", outside);
	hostile("a buffer in MMIO (the IOAPIC)", mmio);
	hostile("a 4 GiB buffer", huge);
	hostile("a buffer wrapping past 2^64", wrap);
	hostile("a next index past the table", next_past);
	hostile("an indirect table inside an indirect table", nested);
	hostile("a loop inside an indirect table", indirect_loop);
	hostile("an indirect table past the end of RAM", indirect_outside);
	hostile("an indirect table of 24 bytes", indirect_odd);
	/* an indirect descriptor the driver did not negotiate */
	driver_init(F_V1);
	put_desc(TABLE, 0, BUF, 8, W, 0);
	put_desc(DESC, 0, TABLE, 16, IND, 0);
	offer(0);
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET, "virtio hostile: indirect without VIRTIO_F_INDIRECT_DESC: NEEDS_RESET");
	(void)head_past;

	/* the available index running ahead of the queue */
	driver_init(F_V1);
	uint16_t *ring = gpa_ptr(&vm->mem, AVAIL, 4);
	ring[1] = 1000;
	wr(NOTIFY, 0, 2);
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET, "virtio hostile: an available index 1000 ahead: NEEDS_RESET");

	/* a head past the table */
	driver_init(F_V1);
	ring = gpa_ptr(&vm->mem, AVAIL, 4 + 2 * QSIZE);
	ring[2] = QSIZE + 3;
	ring[1] = 1;
	wr(NOTIFY, 0, 2);
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET, "virtio hostile: a head index past the table: NEEDS_RESET");

	/* rings outside RAM: the queue does not enable */
	wr(STATUS, 0, 1);
	wr(STATUS, 3, 1);
	wr(GFSEL, 1, 4);
	wr(GF, 1, 4);
	wr(STATUS, 0x0b, 1);
	wr(QSEL, 0, 2);
	wr(QDESC, RAM - 64, 8);
	wr(QDRV, AVAIL, 8);
	wr(QDEV, USED, 8);
	wr(QEN, 1, 2);
	CHECK(rd(QEN, 2) == 0 && (status() & VIRTIO_STATUS_NEEDS_RESET),
	      "virtio hostile: a descriptor table past RAM: the queue stays off, NEEDS_RESET");
	wr(STATUS, 0, 1);
	wr(QSZ, 3, 2);
	wr(QDESC, DESC, 8);
	wr(QEN, 1, 2);
	CHECK(rd(QEN, 2) == 0, "virtio hostile: a queue size of 3 does not enable");
	wr(QSEL, 7, 2);
	CHECK_EQ(rd(QSZ, 2), 0, "virtio: a queue that does not exist reads size 0");
	wr(NOTIFY + 4 * 7, 0, 2);   /* a notify for it goes nowhere */
	CHECK_EQ(vm->mmio.unhandled, 0, "virtio: every BAR access was claimed");
	teardown(&virtio_rng_device);
}

/* --- virtio-blk ------------------------------------------------------------ */

#define HDR  0x40000u
#define DATA 0x41000u
#define STAT 0x42000u

static uint8_t blk_request(uint32_t type, uint64_t sector, uint32_t data_len, bool data_writable)
{
	uint8_t *h = gpa_ptr(&vm->mem, HDR, 16);
	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	*(uint8_t *)gpa_ptr(&vm->mem, STAT, 1) = 0xee;
	put_desc(DESC, 0, HDR, 16, N, 1);
	if (data_len) {
		put_desc(DESC, 1, DATA, data_len, (uint16_t)(N | (data_writable ? W : 0)), 2);
		put_desc(DESC, 2, STAT, 1, W, 0);
	} else {
		put_desc(DESC, 1, STAT, 1, W, 0);
	}
	offer(0);
	return *(uint8_t *)gpa_ptr(&vm->mem, STAT, 1);
}

static void test_blk(void)
{
	char path[] = "/tmp/popek-virtio-blk-XXXXXX";
	int fd = mkstemp(path);
	uint8_t sector[512];
	for (int s = 0; s < 64; s++) {
		memset(sector, s, sizeof(sector));
		CHECK_EQ(write(fd, sector, sizeof(sector)), sizeof(sector), "blk: image sector %d written", s);
	}
	close(fd);
	struct vm_config c = { .ndisks = 1 };
	char spec[64], err[256] = "";
	snprintf(spec, sizeof(spec), "%s", path);
	CHECK(disk_parse(spec, &c.disk[0], err, sizeof(err)) == 0 && disk_open(&c.disk[0], err, sizeof(err)) == 0,
	      "blk: the image opens (%s)", err);
	struct vm_disk second = { .path = path, .fd = -1 };
	CHECK(disk_open(&second, err, sizeof(err)) != 0 && strstr(err, "in use"),
	      "blk: a second writer is refused while the image is open (%s)", err);
	machine(&c);
	attach(&virtio_blk_device);
	bar = cfg_read(PCI_BAR0, 4) & ~0xfu;
	CHECK_EQ(cfg_read(0, 4), 0x10421af4, "blk: 1af4:1042");
	CHECK_EQ(rd(DEVCFG, 8), 64, "blk: capacity 64 sectors");
	driver_init(F_V1 | (1ull << 9));
	CHECK_EQ(blk_request(0, 5, 512, true), 0, "blk: read sector 5: OK");
	memset(sector, 5, sizeof(sector));
	CHECK(memcmp(gpa_ptr(&vm->mem, DATA, 512), sector, 512) == 0 && used_len(0) == 513,
	      "blk: ... holds the image's sector 5 (513 bytes written)");
	memset(gpa_ptr(&vm->mem, DATA, 512), 0xab, 512);
	CHECK_EQ(blk_request(1, 7, 512, false), 0, "blk: write sector 7: OK");
	CHECK_EQ(blk_request(4, 0, 0, false), 0, "blk: flush: OK");
	int rfd = open(path, O_RDONLY);
	uint8_t back[512];
	CHECK(pread(rfd, back, 512, 7 * 512) == 512 && back[0] == 0xab && back[511] == 0xab,
	      "blk: the image's sector 7 holds what the guest wrote");
	CHECK_EQ(blk_request(0, 64, 512, true), 1, "blk: reading past the end: IOERR");
	CHECK_EQ(blk_request(0, 3, 100, true), 1, "blk: a read of 100 bytes: IOERR");
	CHECK_EQ(blk_request(8, 0, 20, true), 0, "blk: GET_ID: OK");
	const char *base = strrchr(path, '/') + 1;
	size_t idlen = strlen(base) < 20 ? strlen(base) : 20;   /* 20 bytes, not NUL-terminated when full */
	CHECK(memcmp(gpa_ptr(&vm->mem, DATA, idlen), base, idlen) == 0, "blk: the ID is the image's name");
	CHECK_EQ(blk_request(99, 0, 0, false), 2, "blk: an unknown request: UNSUPP");
	/* write-zeroes over sectors 10-11 */
	uint8_t *range = gpa_ptr(&vm->mem, DATA, 16);
	uint64_t start = 10;
	uint32_t count = 2, flags = 0;
	memcpy(range, &start, 8);
	memcpy(range + 8, &count, 4);
	memcpy(range + 12, &flags, 4);
	CHECK_EQ(blk_request(13, 0, 16, false), 0, "blk: write-zeroes of sectors 10-11: OK");
	CHECK(pread(rfd, back, 512, 11 * 512) == 512 && back[0] == 0 && back[511] == 0, "blk: sector 11 reads zeros");
	CHECK(pread(rfd, back, 512, 12 * 512) == 512 && back[0] == 12, "blk: sector 12 is untouched");
	/* a chain whose status byte is missing */
	put_desc(DESC, 0, HDR, 16, 0, 0);
	offer(0);
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET, "blk: a request without a status byte: NEEDS_RESET");
	driver_init(F_V1);
	put_desc(DESC, 0, HDR, 16, N, 1);
	put_desc(DESC, 1, STAT, 1, W | N, 2);
	put_desc(DESC, 2, DATA, 16, 0, 0);
	offer(0);
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET, "blk: a readable buffer after a writable one: NEEDS_RESET");
	teardown(&virtio_blk_device);
	close(c.disk[0].fd);
	close(rfd);

	/* read-only: writes fail, the file is opened read-only */
	snprintf(spec, sizeof(spec), "%s,ro", path);
	struct vm_config r = { .ndisks = 1 };
	CHECK(disk_parse(spec, &r.disk[0], err, sizeof(err)) == 0 && r.disk[0].read_only &&
	      disk_open(&r.disk[0], err, sizeof(err)) == 0, "blk: ro opens (%s)", err);
	CHECK((fcntl(r.disk[0].fd, F_GETFL) & O_ACCMODE) == O_RDONLY, "blk: ro opens the file read-only");
	machine(&r);
	attach(&virtio_blk_device);
	bar = cfg_read(PCI_BAR0, 4) & ~0xfu;
	wr(DFSEL, 0, 4);
	CHECK(rd(DF, 4) & (1u << 5), "blk: ro offers VIRTIO_BLK_F_RO");
	driver_init(F_V1);
	CHECK_EQ(blk_request(1, 7, 512, false), 1, "blk: ro: a write is IOERR");
	CHECK_EQ(blk_request(0, 7, 512, true), 0, "blk: ro: a read is OK");
	teardown(&virtio_blk_device);
	close(r.disk[0].fd);

	snprintf(spec, sizeof(spec), "%s,rw", path);
	CHECK(disk_parse(spec, &r.disk[0], err, sizeof(err)) != 0 && strstr(err, "only option is ro"),
	      "blk: an unknown option is refused (%s)", err);
	struct vm_disk missing = { .path = "/nonexistent/disk.img", .fd = -1 };
	CHECK(disk_open(&missing, err, sizeof(err)) != 0 && strstr(err, "No such file"),
	      "blk: a missing image is refused (%s)", err);
	struct vm_disk dir = { .path = "/tmp", .fd = -1, .read_only = true };
	CHECK(disk_open(&dir, err, sizeof(err)) != 0 && strstr(err, "not a regular file"),
	      "blk: a directory is refused (%s)", err);
	unlink(path);
}

/* --- random rings ---------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* An address a hostile or buggy driver might give: in RAM, at its edges,
 * in MMIO, anywhere. */
static uint64_t random_addr(void)
{
	switch (next_rand() % 8) {
	case 0: return RAM - next_rand() % 64;
	case 1: return MMIO_IOAPIC + next_rand() % 0x1000;
	case 2: return PCI_MMIO_BASE + next_rand() % 0x8000;
	case 3: return next_rand();
	case 4: return TABLE + 16 * (next_rand() % 4);
	default: return BUF + next_rand() % 0x8000;
	}
}

static uint32_t random_len(void)
{
	switch (next_rand() % 6) {
	case 0: return 0;
	case 1: return (uint32_t)next_rand();
	case 2: return 16 * (uint32_t)(next_rand() % 6);
	case 3: return 1;
	default: return (uint32_t)(next_rand() % 4096);
	}
}

/* Mostly plausible descriptors (so requests complete and reach the
 * devices' own parsing), some of them wholly random. */
static void random_table(uint64_t table, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (next_rand() % 4)
			put_desc(table, i, BUF + next_rand() % 0x7000, 1 + (uint32_t)(next_rand() % 1024),
				 (uint16_t)(next_rand() % 4), (uint16_t)((i + 1) % n));
		else
			put_desc(table, i, random_addr(), random_len(), (uint16_t)(next_rand() % 8),
				 (uint16_t)(next_rand() % (n + 2)));
	}
}

/* Drives the device at slot 1 with random rings and register accesses
 * until the time budget is spent: the sanitizers watch every host access,
 * and the device must stay consistent (completions only for what was
 * offered, ids inside the queue) or say it needs a reset. */
static void random_rings(const char *who, double seconds)
{
	bar = cfg_read(PCI_BAR0, 4) & ~0xfu;
	unsigned long iterations = 0, broken = 0, completed = 0;
	bool consistent = true;
	uint64_t end = host_now_ns() + (uint64_t)(seconds * 1e9);
	while (host_now_ns() < end) {
		iterations++;
		uint64_t f = F_V1 | (next_rand() & 1 ? F_INDIRECT : 0) | (next_rand() & 1 ? F_EVENT : 0);
		driver_init(f);
		random_table(DESC, QSIZE);
		random_table(TABLE, 4);
		for (int round = 0; round < 4; round++) {
			uint16_t *ring = gpa_ptr(&vm->mem, AVAIL, 4 + 2 * QSIZE + 2);
			for (unsigned i = 0; i < QSIZE + 1; i++)
				ring[2 + i] = (uint16_t)(next_rand() % (QSIZE + 2));
			uint16_t before = used_idx();
			uint16_t step = (uint16_t)(next_rand() % 16 == 0 ? next_rand() : next_rand() % (QSIZE + 1));
			avail_idx = (uint16_t)(avail_idx + step);
			ring[1] = avail_idx;
			if (next_rand() % 8 == 0)   /* a stray register write */
				wr(next_rand() % 0x4000, next_rand(), 1u << (next_rand() % 3));
			wr(NOTIFY, 0, 2);
			uint16_t done = (uint16_t)(used_idx() - before);
			if (done > QSIZE)
				consistent = false;
			for (uint16_t k = 0; k < done; k++) {
				uint32_t id = *(uint32_t *)gpa_ptr(&vm->mem, USED + 4 + 8 * ((before + k) % QSIZE), 4);
				if (id >= QSIZE)
					consistent = false;
			}
			completed += done;
			if (status() & VIRTIO_STATUS_NEEDS_RESET) {
				broken++;
				break;
			}
		}
	}
	CHECK(consistent, "%s: %lu random rings (%lu completions, %lu needed a reset): completions consistent",
	      who, iterations, completed, broken);
	CHECK(broken > 0 && completed > 0, "%s: random rings reached both completions and resets", who);
}

static void test_random_rings(void)
{
	struct vm_config c = { .virtio_rng = true };
	machine(&c);
	attach(&virtio_rng_device);
	random_rings("virtio-rng", 1.0);
	teardown(&virtio_rng_device);

	char path[] = "/tmp/popek-virtio-fuzz-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0, "virtio-blk fuzz: a 1 MiB scratch image");
	close(fd);
	struct vm_config b = { .ndisks = 1 };
	char err[256] = "";
	b.disk[0] = (struct vm_disk){ .path = path, .fd = -1 };
	CHECK(disk_open(&b.disk[0], err, sizeof(err)) == 0, "virtio-blk fuzz: the image opens (%s)", err);
	machine(&b);
	attach(&virtio_blk_device);
	random_rings("virtio-blk", 1.5);
	teardown(&virtio_blk_device);
	close(b.disk[0].fd);
	unlink(path);
}

int main(void)
{
	test_rng_transport();
	test_rng_hostile();
	test_msix();
	test_blk();
	/* the hostile chains print why the device needs a reset: thousands of lines here */
	fflush(stdout);
	int saved = dup(2), null = open("/dev/null", O_WRONLY);
	dup2(null, 2);
	test_random_rings();
	dup2(saved, 2);
	return check_failures != 0;
}
