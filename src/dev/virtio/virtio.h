/* virtio 1.x devices (the OASIS virtio 1.2 specification), split into the
 * three parts kvmtool keeps apart: the queue walk (queue.c: a descriptor
 * chain becomes a list of host buffers, checked against guest RAM), the
 * transport (pci_transport.c: virtio over PCI, modern only, INTx), and the
 * devices (blk.c, net.c, rng.c, console.c), each a table of small
 * operations. A device knows neither the transport nor the engine.
 *
 * Locking: every call into a device (notify, config access, reset) is made
 * with the device's lock held (struct virtio_dev.lock). A device thread
 * that completes work on its own (net's receive side) takes the same lock
 * around virtq_pop/virtq_push/virtio_notify. */
#ifndef POPEK_DEV_VIRTIO_H
#define POPEK_DEV_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct vm;

/* Device IDs (5 Device Types). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE  0x01
#define VIRTIO_STATUS_DRIVER       0x02
#define VIRTIO_STATUS_DRIVER_OK    0x04
#define VIRTIO_STATUS_FEATURES_OK  0x08
#define VIRTIO_STATUS_NEEDS_RESET  0x40
#define VIRTIO_STATUS_FAILED       0x80

/* Feature bits every popek device offers (6 Reserved Feature Bits). */
#define VIRTIO_F_INDIRECT_DESC  28
#define VIRTIO_F_EVENT_IDX      29
#define VIRTIO_F_VERSION_1      32
#define VIRTIO_F_ACCESS_PLATFORM 33

#define VIRTIO_NO_VECTOR     0xffff
#define VIRTIO_CONFIG_SIGNAL (-1)   /* signal(): the configuration changed */

#define VIRTQ_MAX_SIZE  256     /* the queue size offered; the driver may pick less */
#define VIRTQ_MAX_SEGS  (VIRTQ_MAX_SIZE + 8)  /* buffers one chain may have */
#define VIRTIO_MAX_QUEUES 4

/* One split virtqueue (2.7), as the driver configured it. */
struct virtq {
	uint16_t size;               /* entries; a power of two <= VIRTQ_MAX_SIZE */
	bool enabled;
	uint64_t desc, avail, used;  /* guest-physical addresses of the three parts */
	uint8_t *desc_h, *avail_h, *used_h; /* ... in the host, once checked (virtq_check_rings) */
	uint16_t msix_vector;        /* its MSI-X vector, VIRTIO_NO_VECTOR: none */
	uint16_t last_avail;         /* the next avail ring entry to take */
	uint16_t used_idx;           /* the used ring's idx as popek last wrote it */
	uint16_t signalled_used;     /* used_idx at the last interrupt (event index) */
	bool signalled_valid;
};

/* One request: the chain's device-readable buffers, then its
 * device-writable ones, as host pointers into guest RAM. */
struct virtio_chain {
	uint16_t head;
	unsigned n_out, n_in;
	struct iovec out[VIRTQ_MAX_SEGS];
	struct iovec in[VIRTQ_MAX_SEGS];
	uint64_t in_gpa[VIRTQ_MAX_SEGS];  /* where each writable buffer is, to tell the engine */
	size_t out_len, in_len;
};

struct virtio_dev;

/* What a device is: its table of operations. */
struct virtio_device_ops {
	const char *name;                 /* "virtio-blk": messages, --stats */
	uint16_t device_id;
	uint32_t pci_class;               /* class << 8 | prog-if */
	unsigned nqueues;
	uint64_t features;                /* the device's own bits (the transport adds the common ones) */
	size_t config_size;               /* bytes of device configuration space (virtio_dev.config) */
	/* The driver notified queue q (it is enabled and the device is DRIVER_OK). */
	void (*notify)(struct virtio_dev *d, unsigned q);
	/* The device was reset (status 0): drop whatever is in flight. Optional. */
	void (*reset)(struct virtio_dev *d);
	/* The driver set DRIVER_OK. Optional (net starts receiving). */
	void (*driver_ok)(struct virtio_dev *d);
};

/* The transport-independent state of one device. */
struct virtio_dev {
	const struct virtio_device_ops *ops;
	void *priv;                       /* the device's own state */
	/* the device configuration space, ops->config_size bytes the driver
	 * reads as they are (no popek device takes writes to it) */
	const void *config;
	struct vm *vm;
	pthread_mutex_t lock;
	uint64_t features;                /* offered: ops->features plus the common bits */
	uint64_t driver_features;         /* what the driver accepted */
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;                      /* PCI's ISR: bit 0 queue interrupt, bit 1 configuration change */
	struct virtq vq[VIRTIO_MAX_QUEUES];
	uint64_t chains, bad_chains;      /* --stats */
	const char *broken;               /* why the device needs a reset, NULL while healthy */
	/* set by the transport: interrupt the driver for queue q (or
	 * VIRTIO_CONFIG_SIGNAL), and take back whatever is pending (reset) */
	void (*signal)(struct virtio_dev *d, int q);
	void (*lower)(struct virtio_dev *d);
	void *transport;
};

/* The devices, for tests that attach one to a hand-made machine. */
struct device_desc;
extern struct device_desc virtio_blk_device;      /* blk.c: one per --disk */
extern struct device_desc virtio_rng_device;      /* rng.c: --device virtio-rng */
extern struct device_desc virtio_console_device;  /* console.c: --device virtio-console */

/* queue.c: the split ring. */
/* Takes the next available chain of q: 1 with *c filled, 0 when the ring
 * is empty, -1 when the driver gave a malformed chain or ring (the device
 * is then marked NEEDS_RESET and stops taking chains until reset). */
int virtq_pop(struct virtio_dev *d, unsigned q, struct virtio_chain *c);
/* Returns a chain to the driver with `written` bytes written into its
 * writable buffers, and tells the engine which guest RAM changed. */
void virtq_push(struct virtio_dev *d, unsigned q, const struct virtio_chain *c, uint32_t written);
/* Interrupts the driver for q if it asked for it (VIRTQ_AVAIL_F_NO_INTERRUPT,
 * or the event index when negotiated). */
void virtq_notify_driver(struct virtio_dev *d, unsigned q);
/* The available index of q as the driver last published it. */
uint16_t virtq_avail_idx(const struct virtio_dev *d, unsigned q);
/* Gives back the last k chains taken from q, unused (a receive that did
 * not fit): the next virtq_pop takes them again, and with the event index
 * the driver is asked to notify at its next buffer. Returns the available
 * index then. */
uint16_t virtq_unpop(struct virtio_dev *d, unsigned q, unsigned k);
/* Marks the device broken (NEEDS_RESET, configuration interrupt). */
void virtio_fail(struct virtio_dev *d, const char *why);
/* Whether the driver accepted feature bit `bit`. */
bool virtio_has(const struct virtio_dev *d, unsigned bit);
/* Resets the transport-independent state (status 0 written). */
void virtio_reset(struct virtio_dev *d);
/* Checks that q's rings lie in guest RAM: 0, or -1 (device failed). */
int virtq_check_rings(struct virtio_dev *d, unsigned q);

/* Copies between a chain's buffers and a flat buffer, from byte `skip`:
 * the bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len);

/* pci_transport.c: puts d on the PCI bus. 0, or -1 with a message. */
int virtio_pci_add(struct vm *vm, struct virtio_dev *d, const struct virtio_device_ops *ops,
		   void *priv, char *err, size_t n);
/* The nth device (from 0) on the bus with this device ID, or NULL. */
struct virtio_dev *virtio_pci_find(struct vm *vm, uint16_t device_id, int nth);
/* Undoes virtio_pci_add's allocations (at machine teardown). */
void virtio_pci_remove(struct virtio_dev *d);

#endif
