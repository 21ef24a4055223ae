/* virtio-console (virtio 1.2, 5.3), with --device virtio-console: one port,
 * no multiport, so Linux's driver makes it hvc0. What the guest writes to
 * hvc0 goes to the file given by path= (default popek's standard output).
 * The receive queue is left alone: the serial console owns popek's input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev/device.h"
#include "dev/virtio/virtio.h"
#include "vm.h"

#define RECEIVEQ  0
#define TRANSMITQ 1

struct console_config {
	uint16_t cols, rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));

struct hvc {
	struct virtio_dev dev;
	struct virtio_chain chain;
	int fd;
	uint64_t bytes;
};

static void config_read(struct virtio_dev *d, uint64_t off, uint8_t *data, unsigned size)
{
	(void)d;
	struct console_config c = { .cols = 80, .rows = 25, .max_nr_ports = 1 };
	if (off + size <= sizeof(c))
		memcpy(data, (uint8_t *)&c + off, size);
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;  /* a closed output loses the guest's text, not the guest */
		p += w;
		n -= (size_t)w;
	}
}

static void notify(struct virtio_dev *d, unsigned q)
{
	struct hvc *h = d->priv;
	if (q != TRANSMITQ)
		return;
	bool done = false;
	while (virtq_pop(d, q, &h->chain) == 1) {
		for (unsigned i = 0; i < h->chain.n_out; i++)
			write_all(h->fd, h->chain.out[i].iov_base, h->chain.out[i].iov_len);
		h->bytes += h->chain.out_len;
		virtq_push(d, q, &h->chain, 0);
		done = true;
	}
	if (done)
		virtq_notify_driver(d, q);
}

static const struct virtio_device_ops hvc_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.pci_class = 0x078000,      /* simple communication controller, other */
	.nqueues = 2,
	.config_size = sizeof(struct console_config),
	.config_read = config_read,
	.notify = notify,
};

static int hvc_create(struct vm *vm, char *err, size_t n)
{
	if (!vm->cfg.virtio_console)
		return 0;
	struct hvc *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, n, "virtio-console: out of memory");
		return -1;
	}
	h->fd = vm->cfg.virtio_console_fd;
	if (virtio_pci_add(vm, &h->dev, &hvc_ops, h, err, n) != 0) {
		free(h);
		return -1;
	}
	return 0;
}

static void hvc_destroy(struct vm *vm)
{
	struct virtio_dev *d = virtio_pci_find(vm, VIRTIO_ID_CONSOLE, 0);
	if (!d)
		return;
	struct hvc *h = d->priv;
	virtio_pci_remove(d);
	free(h);
}

static void hvc_stats(struct vm *vm, int fd)
{
	struct virtio_dev *d = virtio_pci_find(vm, VIRTIO_ID_CONSOLE, 0);
	if (d)
		dprintf(fd, "virtio-console: %llu bytes written, %llu bad chains\n",
			(unsigned long long)((struct hvc *)d->priv)->bytes, (unsigned long long)d->bad_chains);
}

struct device_desc virtio_console_device = { .name = "virtio-console", .create = hvc_create,
						    .destroy = hvc_destroy, .print_stats = hvc_stats };
DEVICE(virtio_console_device)
