/* virtio-rng (virtio 1.2, 5.4), with --device virtio-rng: every buffer the
 * driver offers comes back filled from the host's getrandom. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "dev/device.h"
#include "dev/virtio/virtio.h"
#include "vm.h"

struct rng {
	struct virtio_dev dev;
	struct virtio_chain chain;
	uint64_t bytes;
};

static size_t fill(struct iovec *iov)
{
	size_t done = 0;
	while (done < iov->iov_len) {
		ssize_t r = getrandom((uint8_t *)iov->iov_base + done, iov->iov_len - done, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	return done;
}

static void notify(struct virtio_dev *d, unsigned q)
{
	struct rng *r = d->priv;
	bool done = false;
	while (virtq_pop(d, q, &r->chain) == 1) {
		uint32_t written = 0;
		for (unsigned i = 0; i < r->chain.n_in; i++) {
			size_t k = fill(&r->chain.in[i]);
			written += (uint32_t)k;
			if (k < r->chain.in[i].iov_len)
				break;
		}
		r->bytes += written;
		virtq_push(d, q, &r->chain, written);
		done = true;
	}
	if (done)
		virtq_notify_driver(d, q);
}

static const struct virtio_device_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.pci_class = 0x00ff00,       /* unclassified, as QEMU's */
	.nqueues = 1,
	.notify = notify,
};

static int rng_create(struct vm *vm, char *err, size_t n)
{
	if (!vm->cfg.virtio_rng)
		return 0;
	struct rng *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, n, "virtio-rng: out of memory");
		return -1;
	}
	if (virtio_pci_add(vm, &r->dev, &rng_ops, r, err, n) != 0) {
		free(r);
		return -1;
	}
	return 0;
}

static void rng_destroy(struct vm *vm)
{
	struct virtio_dev *d = virtio_pci_find(vm, VIRTIO_ID_RNG, 0);
	if (!d)
		return;
	struct rng *r = d->priv;
	virtio_pci_remove(d);
	free(r);
}

static void rng_stats(struct vm *vm, int fd)
{
	struct virtio_dev *d = virtio_pci_find(vm, VIRTIO_ID_RNG, 0);
	if (d)
		dprintf(fd, "virtio-rng: %llu bytes given, %llu bad chains\n",
			(unsigned long long)((struct rng *)d->priv)->bytes, (unsigned long long)d->bad_chains);
}

struct device_desc virtio_rng_device = { .name = "virtio-rng", .create = rng_create,
						.destroy = rng_destroy, .print_stats = rng_stats };
DEVICE(virtio_rng_device)
