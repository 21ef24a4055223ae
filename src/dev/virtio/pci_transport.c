/* virtio over PCI, modern only (virtio 1.2, 4.1): device ID 0x1040 + the
 * virtio device ID, so a driver binds it as a virtio 1.x device and never
 * as a legacy one. Everything lives in one 32 KiB memory BAR, announced by
 * vendor capabilities and the MSI-X capability:
 *   0x0000 common configuration   0x1000 ISR status
 *   0x2000 device configuration   0x3000 notifications, 4 bytes per queue
 *   0x4000 MSI-X table            0x5000 MSI-X pending bits
 * With MSI-X enabled, each queue and the configuration change have the
 * vector the driver gave them; otherwise INTx (the ISR read lowers the
 * line). There is no PCI-configuration-access capability (no driver popek
 * knows of needs it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/device_state.h"
#include "dev/pci.h"
#include "dev/virtio/virtio.h"
#include "vm.h"

#define VIRTIO_PCI_VENDOR   0x1af4
#define VIRTIO_PCI_DEVICE   0x1040
#define BAR_SIZE            0x8000
#define COMMON_OFF          0x0000
#define COMMON_LEN          0x0038
#define ISR_OFF             0x1000
#define DEVICE_OFF          0x2000
#define DEVICE_LEN          0x1000
#define NOTIFY_OFF          0x3000
#define NOTIFY_MULTIPLIER   4
#define MSIX_TABLE_OFF      0x4000
#define MSIX_PBA_OFF        0x5000
#define MSIX_VECTORS        (VIRTIO_MAX_QUEUES + 1)   /* a vector per queue and one for the configuration */
#define MSIX_ENTRY          16
#define MSIX_CAP_ID         0x11
#define MSIX_ENABLE         0x8000   /* message control */
#define MSIX_MASKALL        0x4000
#define MSIX_ENTRY_MASKED   1        /* vector control */

/* cfg_type of struct virtio_pci_cap */
#define CAP_COMMON  1
#define CAP_NOTIFY  2
#define CAP_ISR     3
#define CAP_DEVICE  4
#define PCI_CAP_ID_VENDOR 0x09

/* common configuration fields (4.1.4.3) */
enum {
	DEVICE_FEATURE_SELECT = 0x00, DEVICE_FEATURE = 0x04, DRIVER_FEATURE_SELECT = 0x08,
	DRIVER_FEATURE = 0x0c, MSIX_CONFIG = 0x10, NUM_QUEUES = 0x12, DEVICE_STATUS = 0x14,
	CONFIG_GENERATION = 0x15, QUEUE_SELECT = 0x16, QUEUE_SIZE = 0x18, QUEUE_MSIX_VECTOR = 0x1a,
	QUEUE_ENABLE = 0x1c, QUEUE_NOTIFY_OFF = 0x1e, QUEUE_DESC = 0x20, QUEUE_DRIVER = 0x28,
	QUEUE_DEVICE = 0x30,
};

struct virtio_pci {
	struct pci_function fn;
	struct virtio_dev *d;
	uint32_t device_feature_select, driver_feature_select;
	uint16_t queue_select;
	uint16_t config_vector;            /* msix_config */
	uint8_t msix_cap;                  /* its offset in config space */
	uint32_t msix[MSIX_VECTORS][4];    /* address low, high, data, vector control */
	uint32_t msix_pending;             /* PBA: one bit per vector */
	uint64_t msis;                     /* --stats */
};

static uint16_t msix_control(const struct virtio_pci *t)
{
	return (uint16_t)pci_config_read(&t->fn, t->msix_cap + 2, 2);
}

static bool msix_on(const struct virtio_pci *t)
{
	return msix_control(t) & MSIX_ENABLE;
}

/* Sends vector v's message, or leaves it pending while it is masked. */
static void msix_send(struct virtio_pci *t, uint16_t v)
{
	if (v >= MSIX_VECTORS)
		return;   /* VIRTIO_NO_VECTOR: the driver wants no interrupt */
	if ((msix_control(t) & MSIX_MASKALL) || (t->msix[v][3] & MSIX_ENTRY_MASKED)) {
		t->msix_pending |= 1u << v;
		return;
	}
	t->msix_pending &= ~(1u << v);
	t->msis++;
	vm_msi(t->fn.vm, (uint64_t)t->msix[v][1] << 32 | t->msix[v][0], t->msix[v][2]);
}

/* Masked vectors that became unmasked get their message now. */
static void msix_flush(struct virtio_pci *t)
{
	if (!msix_on(t))
		return;
	for (uint16_t v = 0; v < MSIX_VECTORS && t->msix_pending; v++)
		if (t->msix_pending & (1u << v))
			msix_send(t, v);
}

static void signal_driver(struct virtio_dev *d, int q)
{
	struct virtio_pci *t = d->transport;
	if (msix_on(t)) {
		msix_send(t, q == VIRTIO_CONFIG_SIGNAL ? t->config_vector : d->vq[q].msix_vector);
		return;
	}
	d->isr |= q == VIRTIO_CONFIG_SIGNAL ? 2 : 1;
	pci_set_intx(&t->fn, 1);
}

static void lower(struct virtio_dev *d)
{
	struct virtio_pci *t = d->transport;
	d->isr = 0;
	t->config_vector = VIRTIO_NO_VECTOR;
	pci_set_intx(&t->fn, 0);
}

/* A vector the driver assigns reads back as itself when the device has
 * it, else as NO_VECTOR: how a driver learns it was refused (4.1.5.1.2). */
static uint16_t vector_or_none(uint64_t v)
{
	return v < MSIX_VECTORS ? (uint16_t)v : VIRTIO_NO_VECTOR;
}

static struct virtq *selected_queue(struct virtio_pci *t)
{
	return t->queue_select < t->d->ops->nqueues ? &t->d->vq[t->queue_select] : NULL;
}

static uint64_t common_read(struct virtio_pci *t, uint64_t off)
{
	struct virtio_dev *d = t->d;
	struct virtq *q = selected_queue(t);
	switch (off) {
	case DEVICE_FEATURE_SELECT: return t->device_feature_select;
	case DEVICE_FEATURE:
		return t->device_feature_select < 2 ? (uint32_t)(d->features >> (32 * t->device_feature_select)) : 0;
	case DRIVER_FEATURE_SELECT: return t->driver_feature_select;
	case DRIVER_FEATURE:
		return t->driver_feature_select < 2 ? (uint32_t)(d->driver_features >> (32 * t->driver_feature_select)) : 0;
	case MSIX_CONFIG: return t->config_vector;
	case NUM_QUEUES: return d->ops->nqueues;
	case DEVICE_STATUS: return d->status;
	case CONFIG_GENERATION: return d->config_generation;
	case QUEUE_SELECT: return t->queue_select;
	case QUEUE_SIZE: return q ? q->size : 0;
	case QUEUE_MSIX_VECTOR: return q ? q->msix_vector : VIRTIO_NO_VECTOR;
	case QUEUE_ENABLE: return q ? q->enabled : 0;
	case QUEUE_NOTIFY_OFF: return q ? t->queue_select : 0;
	case QUEUE_DESC: case QUEUE_DESC + 4:
		return q ? q->desc >> (8 * (off - QUEUE_DESC)) : 0;
	case QUEUE_DRIVER: case QUEUE_DRIVER + 4:
		return q ? q->avail >> (8 * (off - QUEUE_DRIVER)) : 0;
	case QUEUE_DEVICE: case QUEUE_DEVICE + 4:
		return q ? q->used >> (8 * (off - QUEUE_DEVICE)) : 0;
	}
	return 0;
}

/* A 64-bit ring address written whole or as two 32-bit halves (the way
 * Linux writes it). */
static void set_address(uint64_t *field, uint64_t off_in_field, uint64_t v, unsigned size)
{
	if (size == 8 && off_in_field == 0)
		*field = v;
	else if (size == 4 && off_in_field == 0)
		*field = (*field & ~0xffffffffull) | (uint32_t)v;
	else if (size == 4 && off_in_field == 4)
		*field = (*field & 0xffffffffull) | (v << 32);
}

static void status_write(struct virtio_pci *t, uint8_t v)
{
	struct virtio_dev *d = t->d;
	if (v == 0) {
		virtio_reset(d);
		return;
	}
	uint8_t old = d->status;
	/* 3.1.1: FEATURES_OK sticks only for a subset of what was offered, with VERSION_1 */
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    ((d->driver_features & ~d->features) || !virtio_has(d, VIRTIO_F_VERSION_1)))
		v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	/* the device's NEEDS_RESET stays until a reset */
	d->status = (uint8_t)(v | (old & VIRTIO_STATUS_NEEDS_RESET));
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) && d->ops->driver_ok)
		d->ops->driver_ok(d);
}

static void common_write(struct virtio_pci *t, uint64_t off, uint64_t v, unsigned size)
{
	struct virtio_dev *d = t->d;
	struct virtq *q = selected_queue(t);
	bool features_open = !(d->status & VIRTIO_STATUS_FEATURES_OK);
	switch (off) {
	case DEVICE_FEATURE_SELECT: t->device_feature_select = (uint32_t)v; return;
	case DRIVER_FEATURE_SELECT: t->driver_feature_select = (uint32_t)v; return;
	case DRIVER_FEATURE:
		if (features_open && t->driver_feature_select < 2) {
			unsigned shift = 32 * t->driver_feature_select;
			d->driver_features = (d->driver_features & ~(0xffffffffull << shift)) |
					     ((uint64_t)(uint32_t)v << shift);
		}
		return;
	case DEVICE_STATUS: status_write(t, (uint8_t)v); return;
	case QUEUE_SELECT: t->queue_select = (uint16_t)v; return;
	case MSIX_CONFIG: t->config_vector = vector_or_none(v); return;
	}
	/* 4.1.4.3.2: the queue's setup is fixed once it is enabled */
	if (!q || q->enabled)
		return;
	switch (off) {
	case QUEUE_SIZE: q->size = (uint16_t)v; return;
	case QUEUE_MSIX_VECTOR: q->msix_vector = vector_or_none(v); return;
	case QUEUE_ENABLE:
		if (v == 1 && virtq_check_rings(d, t->queue_select) == 0)
			q->enabled = true;
		return;
	}
	if (off >= QUEUE_DESC && off < QUEUE_DESC + 8)
		set_address(&q->desc, off - QUEUE_DESC, v, size);
	else if (off >= QUEUE_DRIVER && off < QUEUE_DRIVER + 8)
		set_address(&q->avail, off - QUEUE_DRIVER, v, size);
	else if (off >= QUEUE_DEVICE && off < QUEUE_DEVICE + 8)
		set_address(&q->used, off - QUEUE_DEVICE, v, size);
}

/* The MSI-X table word an access reaches: aligned 32-bit accesses only
 * (PCI 3.0, 6.8.2), NULL for anything else. */
static uint32_t *msix_word(struct virtio_pci *t, uint64_t off, unsigned size)
{
	if (off < MSIX_TABLE_OFF || off >= MSIX_TABLE_OFF + MSIX_VECTORS * MSIX_ENTRY || size != 4 || off % 4)
		return NULL;
	return &t->msix[(off - MSIX_TABLE_OFF) / MSIX_ENTRY][(off % MSIX_ENTRY) / 4];
}

static void bar_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	struct virtio_pci *t = opaque;
	struct virtio_dev *d = t->d;
	uint32_t *word = msix_word(t, off, size);
	uint64_t v = 0;
	memset(data, 0, size);
	pthread_mutex_lock(&d->lock);
	if (off < COMMON_OFF + COMMON_LEN) {
		v = common_read(t, off - COMMON_OFF);
	} else if (off == ISR_OFF) {
		/* reading the ISR acknowledges it (4.1.4.5) */
		v = d->isr;
		d->isr = 0;
		pci_set_intx(&t->fn, 0);
	} else if (word) {
		v = *word;
	} else if (off == MSIX_PBA_OFF && (size == 4 || size == 8)) {
		v = t->msix_pending;
	} else if (off >= DEVICE_OFF && off - DEVICE_OFF + size <= d->ops->config_size && d->config) {
		memcpy(data, (const uint8_t *)d->config + (off - DEVICE_OFF), size);
	}
	pthread_mutex_unlock(&d->lock);
	if (off < DEVICE_OFF || off >= MSIX_TABLE_OFF)
		access_store(data, size, v);
}

static void bar_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct virtio_pci *t = opaque;
	struct virtio_dev *d = t->d;
	uint32_t *word = msix_word(t, off, size);
	uint64_t v = access_value(data, size);
	pthread_mutex_lock(&d->lock);
	if (off < COMMON_OFF + COMMON_LEN) {
		common_write(t, off - COMMON_OFF, v, size);
	} else if (word) {
		bool control = off % MSIX_ENTRY == 12;   /* vector control: the mask bit alone */
		*word = control ? (uint32_t)v & MSIX_ENTRY_MASKED : (uint32_t)v;
		if (control)
			msix_flush(t);   /* an unmasked vector gets what it missed */
	} else if (off >= NOTIFY_OFF && off < NOTIFY_OFF + NOTIFY_MULTIPLIER * d->ops->nqueues) {
		unsigned q = (unsigned)(off - NOTIFY_OFF) / NOTIFY_MULTIPLIER;
		if (d->vq[q].enabled && (d->status & VIRTIO_STATUS_DRIVER_OK) && !d->broken)
			d->ops->notify(d, q);
	}
	pthread_mutex_unlock(&d->lock);
}

static const struct io_handler bar_ops = { bar_read, bar_write };

/* The driver wrote config space: clearing mask-all releases pending vectors. */
static void msix_control_written(struct pci_function *f, unsigned off, unsigned size)
{
	struct virtio_pci *t = f->opaque;
	if (off + size <= t->msix_cap + 2u || off > t->msix_cap + 3u)
		return;
	pthread_mutex_lock(&t->d->lock);
	msix_flush(t);
	pthread_mutex_unlock(&t->d->lock);
}

static void add_cap(struct pci_function *f, uint8_t type, uint32_t off, uint32_t len, bool notify)
{
	uint8_t cap[20] = { PCI_CAP_ID_VENDOR, 0, notify ? 20 : 16, type, 0 /* BAR0 */ };
	memcpy(cap + 8, &off, 4);
	memcpy(cap + 12, &len, 4);
	uint32_t mult = NOTIFY_MULTIPLIER;
	if (notify)
		memcpy(cap + 16, &mult, 4);
	pci_add_cap(f, cap, notify ? 20 : 16);
}

int virtio_pci_add(struct vm *vm, struct virtio_dev *d, const struct virtio_device_ops *ops,
		   void *priv, char *err, size_t n)
{
	struct virtio_pci *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, n, "%s: out of memory", ops->name);
		return -1;
	}
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->priv = priv;
	d->vm = vm;
	d->features = ops->features | (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_INDIRECT_DESC) |
		      (1ull << VIRTIO_F_EVENT_IDX);
	d->signal = signal_driver;
	d->lower = lower;
	d->transport = t;
	pthread_mutex_init(&d->lock, NULL);
	t->d = d;
	pci_function_init(&t->fn, ops->name, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE + ops->device_id),
			  ops->pci_class, 1);
	t->fn.config[PCI_SUBSYS_VENDOR] = VIRTIO_PCI_VENDOR & 0xff;
	t->fn.config[PCI_SUBSYS_VENDOR + 1] = VIRTIO_PCI_VENDOR >> 8;
	t->fn.config[PCI_SUBSYS_ID] = (uint8_t)(0x40 + ops->device_id);
	t->fn.bar_size[0] = BAR_SIZE;
	t->fn.bar_ops[0] = &bar_ops;
	t->fn.opaque = t;
	add_cap(&t->fn, CAP_COMMON, COMMON_OFF, COMMON_LEN, false);
	add_cap(&t->fn, CAP_ISR, ISR_OFF, 1, false);
	add_cap(&t->fn, CAP_DEVICE, DEVICE_OFF, (uint32_t)(ops->config_size ? ops->config_size : 1), false);
	add_cap(&t->fn, CAP_NOTIFY, NOTIFY_OFF, NOTIFY_MULTIPLIER * ops->nqueues, true);
	/* MSI-X: table size - 1, table and PBA in BAR0; enable and mask-all writable */
	uint8_t msix[12] = { MSIX_CAP_ID, 0, MSIX_VECTORS - 1, 0 };
	uint32_t table = MSIX_TABLE_OFF, pba = MSIX_PBA_OFF;
	memcpy(msix + 4, &table, 4);
	memcpy(msix + 8, &pba, 4);
	t->msix_cap = pci_add_cap(&t->fn, msix, sizeof(msix));
	t->fn.wmask[t->msix_cap + 3] = (MSIX_ENABLE | MSIX_MASKALL) >> 8;
	t->fn.config_written = msix_control_written;
	for (unsigned v = 0; v < MSIX_VECTORS; v++)
		t->msix[v][3] = MSIX_ENTRY_MASKED;   /* reset state (PCI 3.0, 6.8.2.9) */
	if (pci_add(vm, &t->fn, err, n) != 0) {
		pthread_mutex_destroy(&d->lock);
		free(t);
		return -1;
	}
	virtio_reset(d);
	return 0;
}

struct virtio_dev *virtio_pci_find(struct vm *vm, uint16_t device_id, int nth)
{
	for (int i = 0;; i++) {
		struct pci_function *f = pci_find(vm, &bar_ops, i);
		if (!f)
			return NULL;
		struct virtio_pci *t = f->opaque;
		if (t->d->ops->device_id == device_id && nth-- == 0)
			return t->d;
	}
}

void virtio_pci_remove(struct virtio_dev *d)
{
	struct virtio_pci *t = d->transport;
	if (!t)
		return;
	pci_remove(&t->fn);
	pthread_mutex_destroy(&d->lock);
	free(t);
	d->transport = NULL;
}
