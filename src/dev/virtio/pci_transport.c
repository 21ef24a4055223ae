/* virtio over PCI, modern only (virtio 1.2, 4.1): device ID 0x1040 + the
 * virtio device ID, so a driver binds it as a virtio 1.x device and never
 * as a legacy one. Everything lives in one 16 KiB memory BAR, announced by
 * vendor capabilities:
 *   0x0000 common configuration   0x1000 ISR status
 *   0x2000 device configuration   0x3000 notifications, 4 bytes per queue
 * Interrupts are INTx (the ISR read lowers the line). There is no MSI-X
 * capability, so the driver uses INTx, and no PCI-configuration-access
 * capability (no driver popek knows of needs it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/device_state.h"
#include "dev/pci.h"
#include "dev/virtio/virtio.h"
#include "vm.h"

#define VIRTIO_PCI_VENDOR   0x1af4
#define VIRTIO_PCI_DEVICE   0x1040
#define BAR_SIZE            0x4000
#define COMMON_OFF          0x0000
#define COMMON_LEN          0x0038
#define ISR_OFF             0x1000
#define DEVICE_OFF          0x2000
#define DEVICE_LEN          0x1000
#define NOTIFY_OFF          0x3000
#define NOTIFY_MULTIPLIER   4
#define NO_VECTOR           0xffff

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
};

static void set_irq(struct virtio_dev *d, int level)
{
	struct virtio_pci *t = d->transport;
	pci_set_intx(&t->fn, level);
}

static struct virtq *selected_queue(struct virtio_pci *t)
{
	return t->queue_select < t->d->ops->nqueues ? &t->d->vq[t->queue_select] : NULL;
}

static uint64_t common_read(struct virtio_pci *t, uint64_t off, unsigned size)
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
	case MSIX_CONFIG: return NO_VECTOR;
	case NUM_QUEUES: return d->ops->nqueues;
	case DEVICE_STATUS: return d->status;
	case CONFIG_GENERATION: return d->config_generation;
	case QUEUE_SELECT: return t->queue_select;
	case QUEUE_SIZE: return q ? q->size : 0;
	case QUEUE_MSIX_VECTOR: return NO_VECTOR;
	case QUEUE_ENABLE: return q ? q->enabled : 0;
	case QUEUE_NOTIFY_OFF: return q ? t->queue_select : 0;
	case QUEUE_DESC: case QUEUE_DESC + 4:
		return q ? q->desc >> (8 * (off - QUEUE_DESC)) : 0;
	case QUEUE_DRIVER: case QUEUE_DRIVER + 4:
		return q ? q->avail >> (8 * (off - QUEUE_DRIVER)) : 0;
	case QUEUE_DEVICE: case QUEUE_DEVICE + 4:
		return q ? q->used >> (8 * (off - QUEUE_DEVICE)) : 0;
	}
	(void)size;
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
	}
	/* 4.1.4.3.2: the queue's setup is fixed once it is enabled */
	if (!q || q->enabled)
		return;
	switch (off) {
	case QUEUE_SIZE: q->size = (uint16_t)v; return;
	case QUEUE_MSIX_VECTOR: q->msix_vector = (uint16_t)v; return;
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

static void bar_read(void *opaque, uint64_t off, uint8_t *data, unsigned size)
{
	struct virtio_pci *t = opaque;
	struct virtio_dev *d = t->d;
	uint64_t v = 0;
	memset(data, 0, size);
	pthread_mutex_lock(&d->lock);
	if (off < COMMON_OFF + COMMON_LEN) {
		v = common_read(t, off - COMMON_OFF, size);
	} else if (off == ISR_OFF) {
		/* reading the ISR acknowledges it (4.1.4.5) */
		v = d->isr;
		d->isr = 0;
		d->set_irq(d, 0);
	} else if (off >= DEVICE_OFF && off - DEVICE_OFF + size <= d->ops->config_size) {
		if (d->ops->config_read)
			d->ops->config_read(d, off - DEVICE_OFF, data, size);
	}
	pthread_mutex_unlock(&d->lock);
	if (off < DEVICE_OFF || off >= NOTIFY_OFF)
		for (unsigned i = 0; i < size; i++)
			data[i] = (uint8_t)(v >> (8 * i));
}

static void bar_write(void *opaque, uint64_t off, const uint8_t *data, unsigned size)
{
	struct virtio_pci *t = opaque;
	struct virtio_dev *d = t->d;
	uint64_t v = access_value(data, size);
	pthread_mutex_lock(&d->lock);
	if (off < COMMON_OFF + COMMON_LEN) {
		common_write(t, off - COMMON_OFF, v, size);
	} else if (off >= DEVICE_OFF && off - DEVICE_OFF + size <= d->ops->config_size) {
		if (d->ops->config_write)
			d->ops->config_write(d, off - DEVICE_OFF, data, size);
	} else if (off >= NOTIFY_OFF && off < NOTIFY_OFF + NOTIFY_MULTIPLIER * d->ops->nqueues) {
		unsigned q = (unsigned)(off - NOTIFY_OFF) / NOTIFY_MULTIPLIER;
		if (d->vq[q].enabled && (d->status & VIRTIO_STATUS_DRIVER_OK) && !d->broken)
			d->ops->notify(d, q);
	}
	pthread_mutex_unlock(&d->lock);
}

static const struct io_handler bar_ops = { bar_read, bar_write };

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
	d->set_irq = set_irq;
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
