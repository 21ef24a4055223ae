/* virtio-blk (virtio 1.2, 5.2): one per --disk, a raw image file. Requests
 * run to completion when the driver notifies, on the notifying vCPU: reads
 * and writes go straight to the file (preadv/pwritev on the guest's
 * buffers), FLUSH is an fdatasync before the guest sees the completion, so
 * what the guest's fsync returned for is on the host's disk and survives
 * popek being killed. DISCARD punches holes and WRITE_ZEROES zeroes ranges
 * with fallocate; a file system that cannot gets UNSUPP for discard and
 * plain zero writes for write-zeroes. */
#include "dev/virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev/device.h"
#include "dev/virtio/virtio.h"
#include "vm.h"

#define SECTOR 512ull

/* feature bits (5.2.3) */
#define BLK_F_SEG_MAX       2
#define BLK_F_RO            5
#define BLK_F_BLK_SIZE      6
#define BLK_F_FLUSH         9
#define BLK_F_DISCARD       13
#define BLK_F_WRITE_ZEROES  14

/* request types and statuses (5.2.6) */
#define BLK_T_IN            0
#define BLK_T_OUT           1
#define BLK_T_FLUSH         4
#define BLK_T_GET_ID        8
#define BLK_T_DISCARD       11
#define BLK_T_WRITE_ZEROES  13
#define BLK_S_OK            0
#define BLK_S_IOERR         1
#define BLK_S_UNSUPP        2

#define BLK_ID_BYTES        20
#define MAX_RANGE_SECTORS   (1u << 22)     /* 2 GiB per discard/write-zeroes range */
#define MAX_RANGES          16
#define HEADER_BYTES        16

/* the device configuration layout (5.2.4), as far as popek fills it */
struct blk_config {
	uint64_t capacity;           /* in 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));

struct blk {
	struct virtio_dev dev;
	struct virtio_device_ops ops;
	const struct vm_disk *disk;
	uint64_t sectors;
	struct blk_config config;
	char id[BLK_ID_BYTES];
	uint64_t reads, writes, flushes, discards, errors;
	struct virtio_chain chain;   /* one at a time: requests complete in order */
};

int disk_parse(char *spec, struct vm_disk *d, char *err, size_t n)
{
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	char *opt = strchr(spec, ',');
	if (opt) {
		*opt++ = '\0';
		if (strcmp(opt, "ro") != 0) {
			snprintf(err, n, "--disk %s,%s: the only option is ro", spec, opt);
			return -1;
		}
		d->read_only = true;
	}
	if (!*spec) {
		snprintf(err, n, "--disk: no image file given");
		return -1;
	}
	d->path = spec;
	return 0;
}

int disk_open(struct vm_disk *d, char *err, size_t n)
{
	int fd = open(d->path, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, n, "--disk %s: %m", d->path);
		return -1;
	}
	struct stat st;
	const char *bad = NULL;
	if (fstat(fd, &st) != 0)
		bad = "cannot stat it";
	else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		bad = "not a regular file or block device";
	else if (S_ISREG(st.st_mode) && st.st_size < (off_t)SECTOR)
		bad = "smaller than one 512-byte sector";
	if (bad) {
		snprintf(err, n, "--disk %s: %s", d->path, bad);
		close(fd);
		return -1;
	}
	if (flock(fd, (d->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
		snprintf(err, n, "--disk %s: the image is in use by another program (%s lock: %m)",
			 d->path, d->read_only ? "shared" : "exclusive");
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	d->fd = fd;
	return 0;
}

static uint64_t image_bytes(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return (uint64_t)st.st_size;
	off_t end = lseek(fd, 0, SEEK_END);
	return end > 0 ? (uint64_t)end : 0;
}

/* preadv/pwritev over a chain's buffers, from byte skip of them, for len bytes. */
static int transfer(struct blk *b, bool write, const struct iovec *iov, unsigned niov, size_t skip,
		    size_t len, uint64_t offset)
{
	struct iovec part[VIRTQ_MAX_SEGS];
	unsigned k = 0;
	for (unsigned i = 0; i < niov && len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t l = iov[i].iov_len - skip;
		if (l > len)
			l = len;
		part[k++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, l };
		len -= l;
		skip = 0;
	}
	unsigned at = 0;
	while (at < k) {
		unsigned cnt = k - at < IOV_MAX ? k - at : IOV_MAX;
		ssize_t r = write ? pwritev(b->disk->fd, part + at, (int)cnt, (off_t)offset)
				  : preadv(b->disk->fd, part + at, (int)cnt, (off_t)offset);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		offset += (uint64_t)r;
		/* a short transfer: step over what was done */
		while (r > 0 && at < k) {
			if ((size_t)r >= part[at].iov_len) {
				r -= (ssize_t)part[at].iov_len;
				at++;
			} else {
				part[at].iov_base = (uint8_t *)part[at].iov_base + r;
				part[at].iov_len -= (size_t)r;
				r = 0;
			}
		}
	}
	return 0;
}

static int zero_range(struct blk *b, uint64_t offset, uint64_t len, bool unmap)
{
	int fd = b->disk->fd;
	if (unmap && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len) == 0)
		return 0;
	if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len) == 0)
		return 0;
	static const uint8_t zeros[64 << 10];
	while (len) {
		size_t k = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		ssize_t r = pwrite(fd, zeros, k, (off_t)offset);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		offset += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* DISCARD and WRITE_ZEROES: a list of 16-byte ranges after the header. */
static uint8_t ranges(struct blk *b, const struct virtio_chain *c, bool discard)
{
	size_t bytes = c->out_len - HEADER_BYTES;
	if (bytes == 0 || bytes % 16 || bytes / 16 > MAX_RANGES)
		return BLK_S_IOERR;
	for (size_t i = 0; i < bytes / 16; i++) {
		uint8_t r[16];
		iov_to_buf(c->out, c->n_out, HEADER_BYTES + 16 * i, r, sizeof(r));
		uint64_t sector;
		uint32_t count, flags;
		memcpy(&sector, r, 8);
		memcpy(&count, r + 8, 4);
		memcpy(&flags, r + 12, 4);
		if (count > MAX_RANGE_SECTORS || sector > b->sectors || count > b->sectors - sector)
			return BLK_S_IOERR;
		if (discard) {
			if (flags)
				return BLK_S_UNSUPP;
			/* a hole where the file system can make one; else it is only advice */
			fallocate(b->disk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(sector * SECTOR),
				  (off_t)(count * SECTOR));
		} else if (zero_range(b, sector * SECTOR, count * SECTOR, flags & 1) != 0) {
			return BLK_S_IOERR;
		}
	}
	return BLK_S_OK;
}

/* One request: header, data, a status byte last. Returns the status and
 * sets *written to the bytes written into the guest's buffers. */
static uint8_t request(struct blk *b, const struct virtio_chain *c, uint32_t *written)
{
	uint8_t hdr[HEADER_BYTES];
	if (iov_to_buf(c->out, c->n_out, 0, hdr, sizeof(hdr)) != sizeof(hdr))
		return BLK_S_IOERR;
	uint32_t type;
	uint64_t sector;
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	size_t data_in = c->in_len - 1;          /* the last writable byte is the status */
	size_t data_out = c->out_len - HEADER_BYTES;
	switch (type) {
	case BLK_T_IN:
	case BLK_T_OUT: {
		size_t len = type == BLK_T_IN ? data_in : data_out;
		if (len % SECTOR || sector > b->sectors || len / SECTOR > b->sectors - sector)
			return BLK_S_IOERR;
		if (type == BLK_T_OUT && b->disk->read_only)
			return BLK_S_IOERR;
		int rc = type == BLK_T_IN ? transfer(b, false, c->in, c->n_in, 0, len, sector * SECTOR)
					  : transfer(b, true, c->out, c->n_out, HEADER_BYTES, len, sector * SECTOR);
		if (rc != 0)
			return BLK_S_IOERR;
		if (type == BLK_T_IN) {
			*written = (uint32_t)len;
			b->reads++;
		} else {
			b->writes++;
		}
		return BLK_S_OK;
	}
	case BLK_T_FLUSH:
		b->flushes++;
		if (b->disk->read_only)
			return BLK_S_OK;
		return fdatasync(b->disk->fd) == 0 ? BLK_S_OK : BLK_S_IOERR;
	case BLK_T_GET_ID: {
		size_t k = data_in < BLK_ID_BYTES ? data_in : BLK_ID_BYTES;
		buf_to_iov(c->in, c->n_in, 0, b->id, k);
		*written = (uint32_t)k;
		return BLK_S_OK;
	}
	case BLK_T_DISCARD:
	case BLK_T_WRITE_ZEROES:
		if (b->disk->read_only)
			return BLK_S_IOERR;
		b->discards++;
		return ranges(b, c, type == BLK_T_DISCARD);
	}
	return BLK_S_UNSUPP;
}

static void notify(struct virtio_dev *d, unsigned q)
{
	struct blk *b = d->priv;
	struct virtio_chain *c = &b->chain;
	bool done = false;
	while (virtq_pop(d, q, c) == 1) {
		uint32_t written = 0;
		uint8_t status;
		if (c->out_len < HEADER_BYTES || c->in_len < 1) {
			virtio_fail(d, "a request without its header or status byte");
			return;
		}
		status = request(b, c, &written);
		if (status != BLK_S_OK)
			b->errors++;
		/* the status byte is the last writable byte of the chain */
		buf_to_iov(c->in, c->n_in, c->in_len - 1, &status, 1);
		virtq_push(d, q, c, (uint32_t)c->in_len > written + 1 ? written + 1 : (uint32_t)c->in_len);
		done = true;
	}
	if (done)
		virtq_notify_driver(d, q);
}

static const struct virtio_device_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.pci_class = 0x018000,      /* mass storage, other */
	.nqueues = 1,
	.features = (1ull << BLK_F_SEG_MAX) | (1ull << BLK_F_BLK_SIZE) | (1ull << BLK_F_FLUSH) |
		    (1ull << BLK_F_DISCARD) | (1ull << BLK_F_WRITE_ZEROES),
	.config_size = sizeof(struct blk_config),
	.notify = notify,
};

static int blk_create(struct vm *vm, char *err, size_t n)
{
	for (int i = 0; i < vm->cfg.ndisks; i++) {
		const struct vm_disk *disk = &vm->cfg.disk[i];
		struct blk *b = calloc(1, sizeof(*b));
		if (!b) {
			snprintf(err, n, "virtio-blk: out of memory");
			return -1;
		}
		b->disk = disk;
		b->sectors = image_bytes(disk->fd) / SECTOR;
		b->ops = blk_ops;
		if (disk->read_only)
			b->ops.features |= 1ull << BLK_F_RO;
		b->config.capacity = b->sectors;
		b->config.seg_max = VIRTQ_MAX_SIZE - 2;   /* the header and status take two */
		b->config.blk_size = SECTOR;
		b->config.num_queues = 1;
		b->config.max_discard_sectors = b->config.max_write_zeroes_sectors = MAX_RANGE_SECTORS;
		b->config.max_discard_seg = b->config.max_write_zeroes_seg = MAX_RANGES;
		b->config.discard_sector_alignment = 1;
		b->config.write_zeroes_may_unmap = 1;
		/* the serial number: the image's name, as QEMU's default is empty */
		const char *base = strrchr(disk->path, '/');
		base = base ? base + 1 : disk->path;
		memcpy(b->id, base, strnlen(base, sizeof(b->id)));  /* NUL-padded, not terminated when 20 long */
		if (virtio_pci_add(vm, &b->dev, &b->ops, b, err, n) != 0) {
			free(b);
			return -1;
		}
		b->dev.config = &b->config;
	}
	return 0;
}

static struct blk *disk_of(struct vm *vm, int i)
{
	struct virtio_dev *d = virtio_pci_find(vm, VIRTIO_ID_BLOCK, i);
	return d ? d->priv : NULL;
}

static void blk_destroy(struct vm *vm)
{
	/* backwards: removing one does not renumber those before it */
	for (int i = vm->cfg.ndisks - 1; i >= 0; i--) {
		struct blk *b = disk_of(vm, i);
		if (!b)
			continue;
		virtio_pci_remove(&b->dev);
		free(b);
	}
}

static void blk_stats(struct vm *vm, int fd)
{
	for (int i = 0; i < vm->cfg.ndisks; i++) {
		struct blk *b = disk_of(vm, i);
		if (b)
			dprintf(fd, "virtio-blk vd%c (%s): %llu reads, %llu writes, %llu flushes, "
				"%llu discards, %llu errors, %llu bad chains\n", 'a' + i, b->disk->path,
				(unsigned long long)b->reads, (unsigned long long)b->writes,
				(unsigned long long)b->flushes, (unsigned long long)b->discards,
				(unsigned long long)b->errors, (unsigned long long)b->dev.bad_chains);
	}
}

struct device_desc virtio_blk_device = { .name = "virtio-blk", .create = blk_create,
						.destroy = blk_destroy, .print_stats = blk_stats };
DEVICE(virtio_blk_device)
