/* virtio-console (virtio 1.2, 5.3), with --device virtio-console: one port,
 * no multiport, so Linux's driver makes it hvc0.
 *   path=FILE    what the guest writes to hvc0 goes to FILE (default
 *                popek's standard output; the serial console owns stdin)
 *   socket=PATH  popek connects to the UNIX stream socket PATH: the guest's
 *                output goes there, and what the peer sends is the guest's
 *                input, through the receive queue */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dev/device.h"
#include "dev/virtio/virtio.h"
#include "vm.h"

#define RECEIVEQ  0
#define TRANSMITQ 1
#define IN_CHUNK  4096

struct console_config {
	uint16_t cols, rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));

struct hvc {
	struct virtio_dev dev;
	struct virtio_chain tx, rx;   /* device lock */
	int out_fd, in_fd;            /* in_fd -1: no input */
	uint64_t bytes_out, bytes_in;
	/* the input thread: reads in_fd while nothing waits for the guest */
	pthread_t thread;
	bool thread_running;
	atomic_bool stop;
	int wake_fd;                  /* the guest offered buffers, or stop */
	uint8_t pending[IN_CHUNK];    /* device lock: read, not yet delivered */
	size_t npending, pending_at;
};

static const struct console_config hvc_config = { .cols = 80, .rows = 25, .max_nr_ports = 1 };

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

/* Hands what is pending to the guest's receive buffers (device lock held). */
static void deliver(struct hvc *h)
{
	struct virtio_dev *d = &h->dev;
	bool done = false;
	while (h->npending > h->pending_at && virtq_pop(d, RECEIVEQ, &h->rx) == 1) {
		size_t k = buf_to_iov(h->rx.in, h->rx.n_in, 0, h->pending + h->pending_at,
				      h->npending - h->pending_at);
		h->pending_at += k;
		h->bytes_in += k;
		virtq_push(d, RECEIVEQ, &h->rx, (uint32_t)k);
		done = true;
	}
	if (h->pending_at == h->npending)
		h->npending = h->pending_at = 0;
	if (done)
		virtq_notify_driver(d, RECEIVEQ);
}

static void *input_thread(void *arg)
{
	struct hvc *h = arg;
	while (!atomic_load(&h->stop)) {
		pthread_mutex_lock(&h->dev.lock);
		bool want_input = h->npending == 0 && h->in_fd >= 0;
		pthread_mutex_unlock(&h->dev.lock);
		struct pollfd p[2] = { { .fd = h->wake_fd, .events = POLLIN },
				       { .fd = want_input ? h->in_fd : -1, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			uint64_t v;
			if (read(h->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
		}
		pthread_mutex_lock(&h->dev.lock);
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(h->in_fd, h->pending, sizeof(h->pending));
			if (r > 0)
				h->npending = (size_t)r;
			else if (r == 0 || errno != EINTR)
				h->in_fd = -1;  /* the peer went away: no more input */
		}
		deliver(h);
		pthread_mutex_unlock(&h->dev.lock);
	}
	return NULL;
}

static void wake(struct hvc *h)
{
	uint64_t one = 1;
	if (write(h->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;  /* the counter is full: the thread is awake already */
}

static void notify(struct virtio_dev *d, unsigned q)
{
	struct hvc *h = d->priv;
	if (q == RECEIVEQ) {
		deliver(h);   /* what was waiting for buffers */
		wake(h);      /* ... and read more once it is out */
		return;
	}
	bool done = false;
	while (virtq_pop(d, q, &h->tx) == 1) {
		for (unsigned i = 0; i < h->tx.n_out; i++)
			write_all(h->out_fd, h->tx.out[i].iov_base, h->tx.out[i].iov_len);
		h->bytes_out += h->tx.out_len;
		virtq_push(d, q, &h->tx, 0);
		done = true;
	}
	if (done)
		virtq_notify_driver(d, q);
}

/* A reset drops input the old driver never took. */
static void reset(struct virtio_dev *d)
{
	struct hvc *h = d->priv;
	h->npending = h->pending_at = 0;
}

static const struct virtio_device_ops hvc_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.pci_class = 0x078000,      /* simple communication controller, other */
	.nqueues = 2,
	.config_size = sizeof(struct console_config),
	.notify = notify,
	.reset = reset,
};

/* The input thread gone: before the device's lock goes with it. */
static void hvc_stop(struct hvc *h)
{
	if (!h->thread_running)
		return;
	atomic_store(&h->stop, true);
	wake(h);
	pthread_join(h->thread, NULL);
	h->thread_running = false;
}

static void hvc_free(struct hvc *h)
{
	hvc_stop(h);
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	free(h);
}

static int hvc_create(struct vm *vm, char *err, size_t n)
{
	if (!vm->cfg.virtio_console)
		return 0;
	struct hvc *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, n, "virtio-console: out of memory");
		return -1;
	}
	h->out_fd = vm->cfg.virtio_console_fd;
	h->in_fd = vm->cfg.virtio_console_in_fd;
	h->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->wake_fd < 0) {
		snprintf(err, n, "virtio-console: eventfd: %s", strerror(errno));
		free(h);
		return -1;
	}
	if (virtio_pci_add(vm, &h->dev, &hvc_ops, h, err, n) != 0) {
		hvc_free(h);
		return -1;
	}
	h->dev.config = &hvc_config;
	if (h->in_fd >= 0) {
		if (pthread_create(&h->thread, NULL, input_thread, h) != 0) {
			snprintf(err, n, "virtio-console: cannot start its input thread");
			virtio_pci_remove(&h->dev);
			hvc_free(h);
			return -1;
		}
		h->thread_running = true;
	}
	return 0;
}

static void hvc_destroy(struct vm *vm)
{
	struct virtio_dev *d = virtio_pci_find(vm, VIRTIO_ID_CONSOLE, 0);
	if (!d)
		return;
	struct hvc *h = d->priv;
	hvc_stop(h);
	virtio_pci_remove(d);
	hvc_free(h);
}

static void hvc_stats(struct vm *vm, int fd)
{
	struct virtio_dev *d = virtio_pci_find(vm, VIRTIO_ID_CONSOLE, 0);
	if (!d)
		return;
	struct hvc *h = d->priv;
	dprintf(fd, "virtio-console: %llu bytes written, %llu bytes read, %llu bad chains\n",
		(unsigned long long)h->bytes_out, (unsigned long long)h->bytes_in,
		(unsigned long long)d->bad_chains);
}

struct device_desc virtio_console_device = { .name = "virtio-console", .create = hvc_create,
					    .destroy = hvc_destroy, .print_stats = hvc_stats };
DEVICE(virtio_console_device)
