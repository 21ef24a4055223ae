/* The split virtqueue (virtio 1.2, 2.7): where a driver's descriptor chains
 * become host buffers and completed ones go back. Everything the driver
 * wrote is untrusted: a descriptor is copied once before it is used, every
 * buffer must lie wholly in guest RAM (never MMIO, never the ROM for a
 * writable one), a chain may not be longer than the buffers a request can
 * hold nor loop, an indirect table may not nest, and the available index
 * may not run ahead by more than the queue size. Any of these marks the
 * device NEEDS_RESET (virtio_fail) instead of being guessed around. */
#include <stdio.h>
#include <string.h>

#include "dev/virtio/virtio.h"
#include "vm.h"

#define DESC_F_NEXT      1
#define DESC_F_WRITE     2
#define DESC_F_INDIRECT  4
#define AVAIL_F_NO_INTERRUPT 1
#define DESC_SIZE        16
#define INDIRECT_MAX     VIRTQ_MAX_SEGS   /* entries an indirect table may hold */
#define CHAIN_BYTES_MAX  (1ull << 30)     /* a request's buffers together */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED);
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, v, __ATOMIC_RELAXED);
}

bool virtio_has(const struct virtio_dev *d, unsigned bit)
{
	return (d->driver_features >> bit) & 1;
}

void virtio_fail(struct virtio_dev *d, const char *why)
{
	d->bad_chains++;
	if (d->broken)
		return;
	d->broken = why;
	fprintf(stderr, "popek: %s: %s; the device needs a reset\n", d->ops->name, why);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->status & VIRTIO_STATUS_DRIVER_OK) {
		d->config_generation++;
		d->signal(d, VIRTIO_CONFIG_SIGNAL);
	}
}

void virtio_reset(struct virtio_dev *d)
{
	d->status = 0;
	d->driver_features = 0;
	d->broken = NULL;
	memset(d->vq, 0, sizeof(d->vq));
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		d->vq[q].size = VIRTQ_MAX_SIZE;
		d->vq[q].msix_vector = VIRTIO_NO_VECTOR;
	}
	d->lower(d);
	if (d->ops->reset)
		d->ops->reset(d);
}

static uint8_t *ram(struct virtio_dev *d, uint64_t gpa, uint64_t len)
{
	if (len == 0 || gpa + len < gpa)
		return NULL;
	return gpa_ptr(&d->vm->mem, gpa, len);
}

int virtq_check_rings(struct virtio_dev *d, unsigned q)
{
	struct virtq *v = &d->vq[q];
	uint64_t n = v->size;
	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1))) {
		virtio_fail(d, "queue size is not a power of two up to 256");
		return -1;
	}
	/* 2.7: alignment 16 (descriptors), 2 (available), 4 (used) */
	if ((v->desc & 15) || (v->avail & 1) || (v->used & 3)) {
		virtio_fail(d, "a ring is misaligned");
		return -1;
	}
	v->desc_h = ram(d, v->desc, DESC_SIZE * n);
	v->avail_h = ram(d, v->avail, 6 + 2 * n);
	v->used_h = ram(d, v->used, 6 + 8 * n);
	if (!v->desc_h || !v->avail_h || !v->used_h || gpa_is_rom(&d->vm->mem, v->used)) {
		virtio_fail(d, "a ring lies outside guest RAM");
		return -1;
	}
	return 0;
}

static void read_desc(const uint8_t *table, unsigned i, struct desc *out)
{
	uint8_t raw[DESC_SIZE];
	/* one copy: a driver changing the table meanwhile cannot split a check from its use */
	memcpy(raw, table + (size_t)i * DESC_SIZE, DESC_SIZE);
	memcpy(&out->addr, raw, 8);
	memcpy(&out->len, raw + 8, 4);
	memcpy(&out->flags, raw + 12, 2);
	memcpy(&out->next, raw + 14, 2);
}

/* Adds one buffer to the chain: 0, or the reason it cannot be. */
static const char *add_buffer(struct virtio_dev *d, struct virtio_chain *c, const struct desc *e)
{
	if (e->len == 0)
		return NULL;  /* nothing to read or write */
	if (c->n_out + c->n_in >= VIRTQ_MAX_SEGS)
		return "a chain has more buffers than a request can";
	if (c->out_len + c->in_len + e->len > CHAIN_BYTES_MAX)
		return "a chain's buffers add up to more than 1 GiB";
	uint8_t *p = ram(d, e->addr, e->len);
	if (!p)
		return "a buffer lies outside guest RAM";
	if (e->flags & DESC_F_WRITE) {
		if (gpa_is_rom(&d->vm->mem, e->addr) || gpa_is_rom(&d->vm->mem, e->addr + e->len - 1))
			return "a writable buffer lies in ROM";
		c->in[c->n_in] = (struct iovec){ p, e->len };
		c->in_gpa[c->n_in++] = e->addr;
		c->in_len += e->len;
	} else {
		if (c->n_in)
			return "a readable buffer follows a writable one";
		c->out[c->n_out++] = (struct iovec){ p, e->len };
		c->out_len += e->len;
	}
	return NULL;
}

/* Walks the chain at head into c: NULL, or why it is malformed. */
static const char *walk(struct virtio_dev *d, struct virtq *v, uint16_t head, struct virtio_chain *c)
{
	const uint8_t *table = v->desc_h;
	unsigned table_size = v->size, visited = 0, i = head;
	bool indirect = false;
	for (;;) {
		if (i >= table_size)
			return "a descriptor index is past its table";
		/* a chain can visit each entry of its table at most once */
		if (++visited > table_size)
			return "a descriptor chain loops";
		struct desc e;
		read_desc(table, i, &e);
		if (e.flags & DESC_F_INDIRECT) {
			if (!virtio_has(d, VIRTIO_F_INDIRECT_DESC))
				return "an indirect descriptor without the feature";
			if (indirect)
				return "an indirect table inside an indirect table";
			if (e.flags & DESC_F_NEXT)
				return "an indirect descriptor with a next";
			if (e.len == 0 || e.len % DESC_SIZE || e.len / DESC_SIZE > INDIRECT_MAX)
				return "an indirect table of a bad length";
			table = ram(d, e.addr, e.len);
			if (!table)
				return "an indirect table lies outside guest RAM";
			table_size = e.len / DESC_SIZE;
			indirect = true;
			visited = 0;
			i = 0;
			continue;
		}
		const char *why = add_buffer(d, c, &e);
		if (why)
			return why;
		if (!(e.flags & DESC_F_NEXT))
			return NULL;
		i = e.next;
	}
}

int virtq_pop(struct virtio_dev *d, unsigned q, struct virtio_chain *c)
{
	struct virtq *v = &d->vq[q];
	if (d->broken || !v->enabled || !v->avail_h)
		return d->broken ? -1 : 0;
	uint16_t avail_idx = load16(v->avail_h + 2);
	uint16_t pending = (uint16_t)(avail_idx - v->last_avail);
	if (pending == 0)
		return 0;
	if (pending > v->size) {
		virtio_fail(d, "the available index ran ahead of the queue size");
		return -1;
	}
	/* the ring entry and the descriptors after the index that published them */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	uint16_t head = load16(v->avail_h + 4 + 2 * (v->last_avail % v->size));
	c->head = head;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	const char *why = walk(d, v, head, c);
	if (why) {
		virtio_fail(d, why);
		return -1;
	}
	v->last_avail++;
	if (virtio_has(d, VIRTIO_F_EVENT_IDX))
		store16(v->used_h + 4 + 8 * v->size, v->last_avail);  /* avail_event */
	d->chains++;
	return 1;
}

uint16_t virtq_avail_idx(const struct virtio_dev *d, unsigned q)
{
	return __atomic_load_n((const uint16_t *)(const void *)(d->vq[q].avail_h + 2), __ATOMIC_ACQUIRE);
}

uint16_t virtq_unpop(struct virtio_dev *d, unsigned q, unsigned k)
{
	struct virtq *v = &d->vq[q];
	v->last_avail = (uint16_t)(v->last_avail - k);
	d->chains -= k;
	uint16_t idx = virtq_avail_idx(d, q);
	if (virtio_has(d, VIRTIO_F_EVENT_IDX)) {
		/* virtq_pop asked for a notify only past the chains taken; the
		 * device now waits for more (2.7.10) */
		store16(v->used_h + 4 + 8 * v->size, idx);   /* avail_event */
		/* ... out before the caller reads the index again */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return idx;
}

void virtq_push(struct virtio_dev *d, unsigned q, const struct virtio_chain *c, uint32_t written)
{
	struct virtq *v = &d->vq[q];
	if (!v->used_h)
		return;
	/* the engine may hold decoded code of what the device wrote */
	uint64_t left = written;
	for (unsigned i = 0; i < c->n_in && left; i++) {
		uint64_t len = c->in[i].iov_len < left ? c->in[i].iov_len : left;
		vm_ram_written(d->vm, c->in_gpa[i], len);
		left -= len;
	}
	uint8_t *elem = v->used_h + 4 + 8 * (v->used_idx % v->size);
	uint32_t id = c->head;
	memcpy(elem, &id, 4);
	memcpy(elem + 4, &written, 4);
	/* the element before the index that publishes it */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	v->used_idx++;
	store16(v->used_h + 2, v->used_idx);
}

void virtq_notify_driver(struct virtio_dev *d, unsigned q)
{
	struct virtq *v = &d->vq[q];
	if (!v->used_h)
		return;
	/* the used index out before the driver's suppression is read (2.7.10) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	bool want;
	if (virtio_has(d, VIRTIO_F_EVENT_IDX)) {
		uint16_t event = load16(v->avail_h + 4 + 2 * v->size);  /* used_event */
		uint16_t old = v->signalled_used, now = v->used_idx;
		/* vring_need_event: did used_idx pass used_event since the last interrupt? */
		want = !v->signalled_valid || (uint16_t)(now - event - 1) < (uint16_t)(now - old);
	} else {
		want = !(load16(v->avail_h) & AVAIL_F_NO_INTERRUPT);
	}
	v->signalled_used = v->used_idx;
	v->signalled_valid = true;
	if (want)
		d->signal(d, (int)q);
}

/* The bytes [skip, skip + len) of the buffers iov, copied out to buf
 * (to_iov false) or in from it: how many there were. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t skip, uint8_t *buf, size_t len, bool to_iov)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - skip;
		if (k > len - done)
			k = len - done;
		uint8_t *there = (uint8_t *)iov[i].iov_base + skip;
		if (to_iov)
			memcpy(there, buf + done, k);
		else
			memcpy(buf + done, there, k);
		done += k;
		skip = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

size_t buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len)
{
	return iov_copy(iov, n, skip, (uint8_t *)(uintptr_t)buf, len, true);
}
