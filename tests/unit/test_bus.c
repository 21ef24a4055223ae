/* Buses: range registration, overlap refusal, dispatch and open-bus reads. */
#include "bus.h"
#include "check.h"
#include "mem/guest_mem.h"
#include "stats.h"

struct rec {
	uint64_t off;
	unsigned size;
	int writes, reads;
	uint8_t last[8];
};

static void rd(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	struct rec *r = opaque;
	r->reads++;
	r->off = off;
	r->size = size;
	for (unsigned i = 0; i < size; i++)
		data[i] = (uint8_t)(0x10 + i);
}

static void wr(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct rec *r = opaque;
	r->writes++;
	r->off = off;
	r->size = size;
	memcpy(r->last, data, size);
}

static const struct io_handler ops = { rd, wr };

static void bus(void)
{
	struct bus b;
	struct rec a = { 0 }, c = { 0 };
	bus_init(&b, "test");
	CHECK(bus_register(&b, 0x3f8, 8, &ops, &a, "a") == 0, "bus/register");
	CHECK(bus_register(&b, 0x3fc, 8, &ops, &c, "c") == -1, "bus/overlap-above-refused");
	CHECK(bus_register(&b, 0x3f0, 9, &ops, &c, "c") == -1, "bus/overlap-below-refused");
	CHECK(bus_register(&b, 0x3f0, 8, &ops, &c, "c") == 0, "bus/adjacent-below-accepted");
	CHECK(bus_register(&b, 0x10, 0, &ops, &c, "z") == -1, "bus/empty-range-refused");
	CHECK(bus_register(&b, UINT64_MAX - 1, 4, &ops, &c, "w") == -1, "bus/wrapping-range-refused");
	uint8_t d[4] = { 0xab, 0, 0, 0 };
	CHECK(bus_access(&b, 0x3f9, d, 1, true) && a.writes == 1 && a.off == 1 && a.last[0] == 0xab,
	      "bus/write-dispatched-with-offset");
	CHECK(bus_access(&b, 0x3f7, d, 2, false) && c.reads == 1 && c.off == 7 && d[0] == 0x10 &&
	      d[1] == 0x11, "bus/read-dispatched");
	memset(d, 0, sizeof(d));
	CHECK(!bus_access(&b, 0x80, d, 4, false) && d[0] == 0xff && d[3] == 0xff && b.unhandled == 1,
	      "bus/unclaimed-read-is-all-ones");
	CHECK(!bus_access(&b, 0x400, d, 1, true) && b.unhandled == 2, "bus/unclaimed-write-counted");
	for (int i = 0; i < BUS_MAX_RANGES; i++)
		bus_register(&b, 0x1000 + (uint64_t)i * 16, 16, &ops, &c, "fill");
	CHECK(bus_register(&b, 0x9000, 1, &ops, &c, "over") == -1, "bus/full-refused");
	CHECK(bus_access(&b, 0x1000 + 20 * 16 + 3, d, 1, true) && c.off == 3, "bus/binary-search-finds-middle");
}

static void memory(void)
{
	struct guest_mem m;
	char err[256];
	CHECK(guest_mem_init(&m, 0, err, sizeof(err)) == -1 && strstr(err, "at least"), "mem/zero-refused");
	CHECK(guest_mem_init(&m, 1ull << 50, err, sizeof(err)) == -1 && strstr(err, "more than this host"),
	      "mem/absurd-size-refused");
	CHECK(guest_mem_init(&m, 64ull << 20, err, sizeof(err)) == 0 && m.nregions == 1, "mem/64M-one-region");
	uint32_t v = 0x12345678, back = 0;
	CHECK(gpa_write(&m, 0x1000, &v, 4) == 0 && gpa_read(&m, 0x1000, &back, 4) == 0 && back == v,
	      "mem/write-read-roundtrip");
	CHECK(gpa_ptr(&m, (64ull << 20) - 4, 4) != NULL, "mem/last-word-mapped");
	CHECK(gpa_ptr(&m, (64ull << 20) - 2, 4) == NULL, "mem/straddling-end-refused");
	CHECK(gpa_ptr(&m, UINT64_MAX - 1, 4) == NULL, "mem/wrapping-address-refused");
	CHECK(guest_mem_low_end(&m) == 64ull << 20, "mem/low-end");
	guest_mem_free(&m);
	CHECK(guest_mem_init(&m, 4ull << 30, err, sizeof(err)) == 0 && m.nregions == 2 &&
	      m.region[0].size == MEM_LOW_LIMIT && m.region[1].gpa == MEM_HIGH_START &&
	      m.region[1].size == (4ull << 30) - MEM_LOW_LIMIT, "mem/4G-split-around-hole");
	CHECK(gpa_ptr(&m, MEM_LOW_LIMIT, 1) == NULL, "mem/hole-not-ram");
	CHECK(gpa_ptr(&m, MEM_HIGH_START + 5, 1) != NULL, "mem/high-ram-mapped");
	guest_mem_free(&m);
}

static void stats(void)
{
	static struct vcpu_stats s[2];
	for (int i = 0; i < 5; i++)
		stats_io_site(&s[0], EXIT_IO, 0x1000, 0x3f8);
	stats_io_site(&s[1], EXIT_IO, 0x1000, 0x3f8);
	stats_io_site(&s[1], EXIT_MMIO, 0x2000, 0xd0000000);
	stats_count(&s[0], EXIT_IO, 100);
	stats_count(&s[1], EXIT_IO, 300);
	char buf[4096] = "";
	FILE *f = tmpfile();
	stats_print(s, 2, fileno(f), 10);
	rewind(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	CHECK(strstr(buf, "io") && strstr(buf, "           2") && strstr(buf, "200"),
	      "stats/io-count-2-mean-200ns");
	CHECK(strstr(buf, "0x0000000000001000 io    0x3f8                         6") != NULL,
	      "stats/site-merged-across-vcpus");
	CHECK(strstr(buf, "mmio  0xd0000000") != NULL, "stats/mmio-site-listed");
}

int main(void)
{
	bus();
	memory();
	stats();
	return CHECK_DONE();
}
