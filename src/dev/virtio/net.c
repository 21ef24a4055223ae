/* virtio-net (virtio 1.2, 5.1), with --net: one device, one queue pair
 * (0 receiveq, 1 transmitq), the MAC and link status in its configuration
 * space, mergeable receive buffers. No checksum or segmentation offload is
 * offered, so every frame is a plain Ethernet frame of at most 1514 bytes
 * behind the 12-byte struct virtio_net_hdr (VERSION_1 always carries
 * num_buffers).
 *
 * Two backends:
 *   user  libslirp: the guest is 10.0.2.15 behind a NAT at 10.0.2.2, with
 *         DHCP and DNS at 10.0.2.3, as QEMU's -netdev user; hostfwd= forwards
 *         host ports into the guest.
 *   tap   an existing tap interface, frames as they are (no vnet header).
 *
 * Transmit runs to completion on the notifying vCPU. Receive comes from a
 * backend thread: frames go into a small ring (struct rx_ring) and are
 * copied into the guest's receive buffers under the device lock, so a guest
 * that offers no buffers never stalls the backend; a full ring drops.
 *
 * Locks, always taken in this order, never the other way:
 *   device lock (struct virtio_dev.lock)  ->  slirp_lock  ->  ring.lock
 * The vCPU holds the device lock when it transmits and takes slirp_lock
 * around slirp_input; slirp answers (send_packet) under slirp_lock into the
 * ring, a leaf lock. The slirp thread drops slirp_lock before it takes the
 * device lock to empty the ring, so no thread holds slirp_lock while it
 * waits for the device lock. */
#include "dev/virtio/net.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <slirp/libslirp.h>

#include "dev/device.h"
#include "dev/virtio/virtio.h"
#include "vm.h"

/* feature bits (5.1.3) */
#define NET_F_MTU        3
#define NET_F_MAC        5
#define NET_F_MRG_RXBUF  15
#define NET_F_STATUS     16
#define NET_S_LINK_UP    1

#define RECEIVEQ   0
#define TRANSMITQ  1

#define HDR_BYTES   12      /* struct virtio_net_hdr, num_buffers included (5.1.6) */
#define MTU         1500
#define ETH_HLEN_   14
#define FRAME_MAX   1518    /* an MTU-sized frame with a VLAN tag */
#define TX_MAX      65536   /* a transmitted frame: no offloads, so this is plenty */
#define RING_FRAMES 64      /* frames waiting for the guest's receive buffers */
#define MAX_MERGE   8       /* receive buffers one frame may span (MRG_RXBUF) */
#define GUEST_ERRORS_SHOWN 10

static const uint8_t default_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* ---- --net parsing ---- */

/* A decimal port, 1-65535. */
static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	if (!*s || strlen(s) > 5)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Six colon-separated pairs of hex digits. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = *s++;
			unsigned d;
			if (c >= '0' && c <= '9')
				d = (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				d = (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				d = (unsigned)(c - 'A' + 10);
			else
				return -1;
			v = v * 16 + d;
		}
		mac[i] = (uint8_t)v;
		if (*s != (i == 5 ? '\0' : ':'))
			return -1;
		s++;
	}
	return 0;
}

/* "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT", QEMU's syntax. The
 * guest end is always 10.0.2.15, the address DHCP hands out. Writes its
 * complaint to why. */
static int parse_hostfwd(char *v, struct vm_hostfwd *f, char *why, size_t n)
{
	memset(f, 0, sizeof(*f));
	char *colon = strchr(v, ':');
	char *dash = strchr(v, '-');
	if (!colon || !dash || dash < colon) {
		snprintf(why, n, "not tcp:HOSTADDR:HOSTPORT-:GUESTPORT");
		return -1;
	}
	*colon = '\0';
	*dash = '\0';
	char *host = colon + 1, *guest = dash + 1;
	if (strcmp(v, "udp") == 0)
		f->udp = true;
	else if (*v && strcmp(v, "tcp") != 0) {
		snprintf(why, n, "protocol '%s' is neither tcp nor udp", v);
		return -1;
	}
	char *hport = strrchr(host, ':'), *gport = strrchr(guest, ':');
	if (!hport || !gport) {
		snprintf(why, n, "not tcp:HOSTADDR:HOSTPORT-:GUESTPORT");
		return -1;
	}
	*hport++ = '\0';
	*gport++ = '\0';
	struct in_addr a;
	if (*host && inet_pton(AF_INET, host, &a) != 1) {
		snprintf(why, n, "host address '%s' is not an IPv4 address", host);
		return -1;
	}
	f->host_addr = *host ? a.s_addr : 0;
	if (*guest && strcmp(guest, "10.0.2.15") != 0) {
		snprintf(why, n, "the guest address must be empty or 10.0.2.15, not '%s'", guest);
		return -1;
	}
	if (parse_port(hport, &f->host_port) != 0) {
		snprintf(why, n, "host port '%s' is not a number from 1 to 65535", hport);
		return -1;
	}
	if (parse_port(gport, &f->guest_port) != 0) {
		snprintf(why, n, "guest port '%s' is not a number from 1 to 65535", gport);
		return -1;
	}
	return 0;
}

/* Linux's rule for interface names (dev_valid_name). */
static bool valid_ifname(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' || (*s >= '\t' && *s <= '\r'))
			return false;
	return true;
}

static int add_hostfwd(struct vm_net *out, char *opt, char *err, size_t n)
{
	char shown[96], why[128];
	snprintf(shown, sizeof(shown), "%s", opt);   /* parsing cuts opt up */
	if (!out->user) {
		snprintf(err, n, "--net %s: hostfwd= is for --net user only", shown);
		return -1;
	}
	if (out->nfwd == VM_MAX_HOSTFWD) {
		snprintf(err, n, "--net %s: at most %d hostfwd= forwards", shown, VM_MAX_HOSTFWD);
		return -1;
	}
	struct vm_hostfwd *f = &out->fwd[out->nfwd];
	if (parse_hostfwd(opt + strlen("hostfwd="), f, why, sizeof(why)) != 0) {
		snprintf(err, n, "--net %s: %s", shown, why);
		return -1;
	}
	for (int i = 0; i < out->nfwd; i++)
		if (out->fwd[i].udp == f->udp && out->fwd[i].host_port == f->host_port &&
		    out->fwd[i].host_addr == f->host_addr) {
			snprintf(err, n, "--net %s: host %s port %u is forwarded twice", shown,
				 f->udp ? "udp" : "tcp", f->host_port);
			return -1;
		}
	out->nfwd++;
	return 0;
}

static int set_mac(struct vm_net *out, const char *opt, bool *seen, char *err, size_t n)
{
	const char *v = opt + strlen("mac=");
	if (*seen) {
		snprintf(err, n, "--net %s: mac= given twice", opt);
		return -1;
	}
	*seen = true;
	if (parse_mac(v, out->mac) != 0) {
		snprintf(err, n, "--net %s: a MAC address is six hex pairs, as 52:54:00:12:34:56", opt);
		return -1;
	}
	/* bit 0 of the first byte marks a group address: no card has one */
	if (out->mac[0] & 1) {
		snprintf(err, n, "--net %s: a multicast MAC address (the first byte is odd); "
			 "a card needs a unicast one", opt);
		return -1;
	}
	static const uint8_t zero[6];
	if (memcmp(out->mac, zero, 6) == 0) {
		snprintf(err, n, "--net %s: the all-zero MAC address is not a card's", opt);
		return -1;
	}
	return 0;
}

/* The first item: the backend. */
static int parse_backend(struct vm_net *out, const char *item, char *err, size_t n)
{
	if (strcmp(item, "user") == 0) {
		out->user = true;
		return 0;
	}
	if (strncmp(item, "tap=", 4) == 0) {
		if (!valid_ifname(item + 4)) {
			snprintf(err, n, "--net %s: a tap name is 1-%d characters, without '/', ':' or spaces",
				 item, IFNAMSIZ - 1);
			return -1;
		}
		snprintf(out->tap, sizeof(out->tap), "%s", item + 4);
		return 0;
	}
	snprintf(err, n, "--net %s: the backend is user or tap=NAME", item);
	return -1;
}

int net_parse(char *spec, struct vm_net *out, char *err, size_t n)
{
	if (out->enabled) {
		snprintf(err, n, "--net %s: --net given twice; popek has one network card", spec);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->mac, default_mac, 6);
	bool mac_seen = false;
	char *item = spec;
	for (int i = 0; item; i++) {
		char *next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		int rc;
		if (i == 0)
			rc = parse_backend(out, item, err, n);
		else if (strncmp(item, "hostfwd=", 8) == 0)
			rc = add_hostfwd(out, item, err, n);
		else if (strncmp(item, "mac=", 4) == 0)
			rc = set_mac(out, item, &mac_seen, err, n);
		else {
			snprintf(err, n, "--net %s: unknown option (the options are hostfwd= and mac=)", item);
			rc = -1;
		}
		if (rc != 0) {
			memset(out, 0, sizeof(*out));
			return -1;
		}
		item = next;
	}
	out->enabled = true;
	return 0;
}

/* ---- the device ---- */

struct frame {
	uint16_t len;
	uint8_t data[FRAME_MAX];
};

/* Received frames on their way to the guest. Backends add at tail under
 * lock; the device empties it from head, holding the device lock, and
 * copies a frame out without lock: a slot is not reused before head passes
 * it. */
struct rx_ring {
	pthread_mutex_t lock;
	unsigned head, tail;       /* free-running; tail - head frames wait */
	struct frame f[RING_FRAMES];
};

/* A slirp timer (only IPv6 router advertisements use one): slirp_lock. */
struct slirp_timer {
	SlirpTimerCb cb;
	void *opaque;
	int64_t expire_ms;         /* -1: not armed */
	struct slirp_timer *next;
};

struct net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));

struct net {
	struct virtio_dev dev;
	const struct vm_net *cfg;
	struct net_config config;
	struct rx_ring ring;
	struct virtio_chain rx[MAX_MERGE];   /* device lock */
	struct virtio_chain tx;              /* device lock */
	uint8_t tx_buf[TX_MAX];              /* device lock */
	uint16_t waiting_at;                 /* the receive queue's available index when it ran out */
	/* the backend thread */
	pthread_t thread;
	bool thread_running;
	atomic_bool stop;
	int64_t clock_skew;                  /* added to slirp's clock (dns_warm_up) */
	int wake_fd;                         /* eventfd: stop, slirp's notify, a timer moved */
	int tap_fd;
	/* user: everything below is slirp_lock's */
	Slirp *slirp;
	pthread_mutex_t slirp_lock;
	struct slirp_timer *timers;
	struct pollfd *pfd;                  /* the slirp thread's own */
	unsigned npfd, pfd_cap;
	unsigned guest_errors;
	/* --stats: rx and tx under the device lock, drops from any thread */
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes, tx_errors;
	atomic_ullong rx_dropped;
};

static void wake(struct net *t)
{
	uint64_t one = 1;
	ssize_t r = write(t->wake_fd, &one, sizeof(one));
	(void)r;   /* EAGAIN: the counter is full, which wakes the thread as well */
}

static void drain_wake(struct net *t)
{
	uint64_t v;
	ssize_t r = read(t->wake_fd, &v, sizeof(v));
	(void)r;   /* EAGAIN: nothing was there */
}

/* Backends: a frame for the guest, or dropped when the ring is full. */
static void ring_add(struct net *t, const void *data, size_t len)
{
	struct rx_ring *r = &t->ring;
	if (len > FRAME_MAX || len < ETH_HLEN_) {
		atomic_fetch_add(&t->rx_dropped, 1);
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (r->tail - r->head == RING_FRAMES) {
		pthread_mutex_unlock(&r->lock);
		atomic_fetch_add(&t->rx_dropped, 1);
		return;
	}
	struct frame *f = &r->f[r->tail % RING_FRAMES];
	f->len = (uint16_t)len;
	memcpy(f->data, data, len);
	r->tail++;
	pthread_mutex_unlock(&r->lock);
}

static struct frame *ring_first(struct rx_ring *r)
{
	pthread_mutex_lock(&r->lock);
	struct frame *f = r->head != r->tail ? &r->f[r->head % RING_FRAMES] : NULL;
	pthread_mutex_unlock(&r->lock);
	return f;
}

static void ring_pop(struct rx_ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->head++;
	pthread_mutex_unlock(&r->lock);
}

static bool ring_empty(struct rx_ring *r)
{
	pthread_mutex_lock(&r->lock);
	bool empty = r->head == r->tail;
	pthread_mutex_unlock(&r->lock);
	return empty;
}

/* Writes bytes [from, from + len) of header-then-frame into chain c. */
static void fill(const struct virtio_chain *c, const uint8_t *hdr, const uint8_t *data, size_t from,
		 size_t len)
{
	size_t at = 0;
	if (from < HDR_BYTES) {
		size_t h = HDR_BYTES - from < len ? HDR_BYTES - from : len;
		at = buf_to_iov(c->in, c->n_in, 0, hdr + from, h);
		from += h;
		len -= h;
	}
	if (len)
		buf_to_iov(c->in, c->n_in, at, data + (from - HDR_BYTES), len);
}

enum rx_result { RX_DONE, RX_NO_BUFFERS, RX_DROPPED };

/* One frame into the receive queue: one chain, or with MRG_RXBUF as many
 * as it takes (up to MAX_MERGE), num_buffers telling the driver how many. */
static enum rx_result deliver(struct net *t, const uint8_t *data, size_t len)
{
	struct virtio_dev *d = &t->dev;
	unsigned most = virtio_has(d, NET_F_MRG_RXBUF) ? MAX_MERGE : 1;
	size_t total = HDR_BYTES + len, placed = 0, take[MAX_MERGE];
	unsigned k = 0;
	while (placed < total) {
		if (k == most) {
			virtq_unpop(d, RECEIVEQ, k);   /* the guest's buffers are too small for it */
			return RX_DROPPED;
		}
		if (k == 0)
			t->waiting_at = virtq_avail_idx(d, RECEIVEQ);
		int r = virtq_pop(d, RECEIVEQ, &t->rx[k]);
		if (r != 1) {
			if (r == 0 && k)
				t->waiting_at = virtq_unpop(d, RECEIVEQ, k);
			return r == 0 ? RX_NO_BUFFERS : RX_DROPPED;
		}
		size_t room = t->rx[k].in_len;
		if (k == 0 && room < HDR_BYTES) {
			/* 5.1.6.3.1: every receive buffer holds at least the header */
			virtio_fail(d, "a receive buffer smaller than the virtio-net header");
			return RX_DROPPED;
		}
		take[k] = room < total - placed ? room : total - placed;
		placed += take[k++];
	}
	uint8_t hdr[HDR_BYTES] = { 0 };
	hdr[10] = (uint8_t)k;   /* num_buffers, le16; 1 without MRG_RXBUF */
	for (unsigned i = 0, from = 0; i < k; from += (unsigned)take[i++])
		fill(&t->rx[i], hdr, data, from, take[i]);
	for (unsigned i = 0; i < k; i++)
		virtq_push(d, RECEIVEQ, &t->rx[i], (uint32_t)take[i]);
	t->rx_frames++;
	t->rx_bytes += len;
	return RX_DONE;
}

/* Moves waiting frames into the guest, as far as its buffers go; with the
 * device lock held. A driver not ready for them loses them. */
static void rx_flush_locked(struct net *t)
{
	struct virtio_dev *d = &t->dev;
	bool ready = (d->status & VIRTIO_STATUS_DRIVER_OK) && !d->broken && d->vq[RECEIVEQ].enabled;
	bool delivered = false;
	struct frame *f;
	while ((f = ring_first(&t->ring))) {
		enum rx_result r = ready ? deliver(t, f->data, f->len) : RX_DROPPED;
		/* it waits for the guest's next buffers, unless the driver
		 * added some as the device gave part of a chain back (the
		 * driver may have missed the new avail_event) */
		if (r == RX_NO_BUFFERS) {
			if (virtq_avail_idx(d, RECEIVEQ) != t->waiting_at)
				continue;
			break;
		}
		if (r == RX_DONE)
			delivered = true;
		else
			atomic_fetch_add(&t->rx_dropped, 1);
		ring_pop(&t->ring);
	}
	if (delivered)
		virtq_notify_driver(d, RECEIVEQ);
}

/* From a backend thread, holding nothing. */
static void rx_flush(struct net *t)
{
	if (ring_empty(&t->ring))
		return;
	pthread_mutex_lock(&t->dev.lock);
	rx_flush_locked(t);
	pthread_mutex_unlock(&t->dev.lock);
}

static void tap_send(struct net *t, const uint8_t *frame, size_t len)
{
	ssize_t w;
	do
		w = write(t->tap_fd, frame, len);
	while (w < 0 && errno == EINTR);
	/* a tap that is down or full drops the frame, as a cable would */
	if (w != (ssize_t)len)
		t->tx_errors++;
}

/* slirp writes to host sockets with plain send(), so a peer that closed
 * raises SIGPIPE in the thread that writes, here the vCPU. While it is in
 * slirp the vCPU holds SIGPIPE blocked, and then takes any it raised: that
 * leaves popek's own SIGPIPE behaviour as it is. */
static void sigpipe_hold(sigset_t *old)
{
	sigset_t pipe_only;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, old);
}

static void sigpipe_release(const sigset_t *old)
{
	sigset_t pipe_only;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	struct timespec now = { 0, 0 };
	while (sigtimedwait(&pipe_only, NULL, &now) == SIGPIPE)
		;
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void send_frame(struct net *t, const uint8_t *frame, size_t len)
{
	if (t->slirp) {
		pthread_mutex_lock(&t->slirp_lock);
		slirp_input(t->slirp, frame, (int)len);
		pthread_mutex_unlock(&t->slirp_lock);
	} else {
		tap_send(t, frame, len);
	}
}

static void transmit(struct net *t)
{
	struct virtio_dev *d = &t->dev;
	struct virtio_chain *c = &t->tx;
	bool done = false, sent = false;
	sigset_t old;
	if (t->slirp)
		sigpipe_hold(&old);
	while (virtq_pop(d, TRANSMITQ, c) == 1) {
		size_t len = c->out_len > HDR_BYTES ? c->out_len - HDR_BYTES : 0;
		if (len < ETH_HLEN_ || len > TX_MAX) {
			d->bad_chains++;   /* no header, no Ethernet header, or more than any frame */
		} else {
			iov_to_buf(c->out, c->n_out, HDR_BYTES, t->tx_buf, len);
			send_frame(t, t->tx_buf, len);
			t->tx_frames++;
			t->tx_bytes += len;
			sent = true;
		}
		virtq_push(d, TRANSMITQ, c, 0);
		done = true;
	}
	if (t->slirp)
		sigpipe_release(&old);
	if (done)
		virtq_notify_driver(d, TRANSMITQ);
	if (sent && t->slirp) {
		/* slirp may have answered at once (ARP, DHCP) ... */
		rx_flush_locked(t);
		/* ... and may have new sockets for its thread to poll */
		wake(t);
	}
}

static void notify(struct virtio_dev *d, unsigned q)
{
	struct net *t = d->priv;
	if (q == TRANSMITQ)
		transmit(t);
	else
		rx_flush_locked(t);   /* new receive buffers: frames may be waiting for them */
}

/* A reset driver wants none of the frames from before it. */
static void reset(struct virtio_dev *d)
{
	struct net *t = d->priv;
	struct rx_ring *r = &t->ring;
	pthread_mutex_lock(&r->lock);
	atomic_fetch_add(&t->rx_dropped, r->tail - r->head);
	r->head = r->tail;
	pthread_mutex_unlock(&r->lock);
}

static const struct virtio_device_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.pci_class = 0x020000,       /* network controller, Ethernet */
	.nqueues = 2,
	.features = (1ull << NET_F_MTU) | (1ull << NET_F_MAC) | (1ull << NET_F_MRG_RXBUF) |
		    (1ull << NET_F_STATUS),
	.config_size = sizeof(struct net_config),
	.notify = notify,
	.reset = reset,
};

/* ---- user: libslirp ---- */

static int64_t clock_ns(void *opaque)
{
	struct net *t = opaque;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + t->clock_skew;
}

/* Called under slirp_lock, from whichever thread is in slirp. */
static ssize_t send_packet(const void *buf, size_t len, void *opaque)
{
	ring_add(opaque, buf, len);
	return (ssize_t)len;
}

static void guest_error(const char *msg, void *opaque)
{
	struct net *t = opaque;
	/* a guest can make these as fast as it sends: show the first few */
	if (t->guest_errors++ < GUEST_ERRORS_SHOWN)
		fprintf(stderr, "popek: virtio-net: slirp: %s\n", msg);
}

static void *timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct net *t = opaque;
	struct slirp_timer *tm = calloc(1, sizeof(*tm));
	if (!tm)
		return NULL;
	tm->cb = cb;
	tm->opaque = cb_opaque;
	tm->expire_ms = -1;
	tm->next = t->timers;
	t->timers = tm;
	return tm;
}

static void timer_free(void *timer, void *opaque)
{
	struct net *t = opaque;
	for (struct slirp_timer **p = &t->timers; *p; p = &(*p)->next)
		if (*p == timer) {
			*p = ((struct slirp_timer *)timer)->next;
			free(timer);
			return;
		}
}

static void timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	((struct slirp_timer *)timer)->expire_ms = expire_ms;
	wake(opaque);   /* the thread may be sleeping past the new time */
}

static void no_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void slirp_notify(void *opaque)
{
	wake(opaque);
}

static const SlirpCb slirp_callbacks = {
	.send_packet = send_packet,
	.guest_error = guest_error,
	.clock_get_ns = clock_ns,
	.timer_new = timer_new,
	.timer_free = timer_free,
	.timer_mod = timer_mod,
	.register_poll_fd = no_poll_fd,
	.unregister_poll_fd = no_poll_fd,
	.notify = slirp_notify,
};

/* The milliseconds to the first armed timer, at most limit. */
static uint32_t timers_timeout(struct net *t, uint32_t limit)
{
	int64_t now = clock_ns(t) / 1000000;
	for (struct slirp_timer *tm = t->timers; tm; tm = tm->next)
		if (tm->expire_ms >= 0) {
			int64_t left = tm->expire_ms > now ? tm->expire_ms - now : 0;
			if (left < (int64_t)limit)
				limit = (uint32_t)left;
		}
	return limit;
}

static void timers_run(struct net *t)
{
	int64_t now = clock_ns(t) / 1000000;
	struct slirp_timer *tm = t->timers;
	while (tm) {
		if (tm->expire_ms >= 0 && tm->expire_ms <= now) {
			tm->expire_ms = -1;
			tm->cb(tm->opaque);
			tm = t->timers;   /* the callback may have freed or added timers */
			continue;
		}
		tm = tm->next;
	}
}

static int add_poll(int fd, int events, void *opaque)
{
	struct net *t = opaque;
	if (t->npfd == t->pfd_cap) {
		unsigned cap = t->pfd_cap ? 2 * t->pfd_cap : 16;
		struct pollfd *p = realloc(t->pfd, cap * sizeof(*p));
		if (!p)
			return -1;   /* slirp skips a socket without an index */
		t->pfd = p;
		t->pfd_cap = cap;
	}
	short ev = 0;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	t->pfd[t->npfd] = (struct pollfd){ .fd = fd, .events = ev };
	return (int)t->npfd++;
}

static int get_revents(int idx, void *opaque)
{
	struct net *t = opaque;
	if (idx < 1 || (unsigned)idx >= t->npfd)
		return 0;
	short re = t->pfd[idx].revents;
	return ((re & POLLIN) ? SLIRP_POLL_IN : 0) | ((re & POLLOUT) ? SLIRP_POLL_OUT : 0) |
	       ((re & POLLPRI) ? SLIRP_POLL_PRI : 0) | ((re & POLLERR) ? SLIRP_POLL_ERR : 0) |
	       ((re & POLLHUP) ? SLIRP_POLL_HUP : 0);
}

/* slirp's loop: its sockets and timers, then the frames it made. The vCPU
 * may call slirp_input between the fill and the poll; slirp gives a socket
 * it opened meanwhile no index, and one it closed is gone from its list, so
 * a stale entry in pfd is never looked at. */
static void *slirp_thread(void *arg)
{
	struct net *t = arg;
	while (!atomic_load(&t->stop)) {
		pthread_mutex_lock(&t->slirp_lock);
		uint32_t timeout = timers_timeout(t, UINT32_MAX);
		t->npfd = 1;   /* pfd[0] is wake_fd */
		slirp_pollfds_fill(t->slirp, &timeout, add_poll, t);
		pthread_mutex_unlock(&t->slirp_lock);
		int r = poll(t->pfd, t->npfd, timeout > INT_MAX ? -1 : (int)timeout);
		bool failed = r < 0 && errno != EINTR;
		if (r > 0 && (t->pfd[0].revents & POLLIN))
			drain_wake(t);
		if (r < 0)
			for (unsigned i = 0; i < t->npfd; i++)
				t->pfd[i].revents = 0;
		pthread_mutex_lock(&t->slirp_lock);
		slirp_pollfds_poll(t->slirp, failed, get_revents, t);
		timers_run(t);
		pthread_mutex_unlock(&t->slirp_lock);
		rx_flush(t);
	}
	return NULL;
}

static struct in_addr ipv4(const char *s)
{
	struct in_addr a;
	inet_pton(AF_INET, s, &a);
	return a;
}

/* slirp's DNS relay finds the host's name server in /etc/resolv.conf when
 * a guest query needs it. libslirp (4.7) caches what it read: within a
 * second it reuses it; after that it stat()s the file and reads it again
 * unless the file is the one it saw, which it learns only at the second
 * read. Reading a file is what popek's seccomp filter forbids, so both
 * reads happen now, before the filter: two empty UDP datagrams from the
 * guest's address to 10.0.2.3:53, a second of slirp's clock apart (the
 * clock is moved on rather than waited for). Each reaches the host's name
 * server as an empty datagram, which a name server ignores. From then on
 * the relay only stat()s the file; a resolv.conf that changes while popek
 * runs makes the relay read it again, which the filter stops. */
static void dns_query_stub(struct net *t)
{
	uint8_t f[14 + 20 + 8] = { 0 };
	memset(f, 0xff, 6);                         /* to: broadcast, slirp takes any */
	memcpy(f + 6, t->cfg->mac, 6);
	f[12] = 0x08;                               /* IPv4 */
	uint8_t *ip = f + 14;
	ip[0] = 0x45;                               /* version 4, 20-byte header */
	ip[3] = 28;                                 /* total length */
	ip[8] = 64;                                 /* TTL */
	ip[9] = 17;                                 /* UDP */
	struct in_addr src = ipv4("10.0.2.15"), dst = ipv4("10.0.2.3");
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	uint8_t *udp = ip + 20;
	udp[0] = 0x04;                              /* from port 1024 */
	udp[3] = 53;                                /* to port 53 */
	udp[5] = 8;                                 /* length: the header alone; checksum 0: none */
	/* a poll with nothing ready: slirp reads its clock there */
	uint32_t timeout = UINT32_MAX;
	t->npfd = 1;
	slirp_pollfds_fill(t->slirp, &timeout, add_poll, t);
	for (unsigned i = 0; i < t->npfd; i++)
		t->pfd[i].revents = 0;
	slirp_pollfds_poll(t->slirp, 0, get_revents, t);
	slirp_input(t->slirp, f, (int)sizeof(f));
}

static void dns_warm_up(struct net *t)
{
	pthread_mutex_lock(&t->slirp_lock);
	dns_query_stub(t);
	t->clock_skew += 1100000000;   /* past the relay's one-second cache */
	dns_query_stub(t);
	pthread_mutex_unlock(&t->slirp_lock);
}

static int user_start(struct net *t, char *err, size_t n)
{
	SlirpConfig c = {
		.version = 4,
		.restricted = 0,
		.in_enabled = true,
		.vnetwork = ipv4("10.0.2.0"),
		.vnetmask = ipv4("255.255.255.0"),
		.vhost = ipv4("10.0.2.2"),
		.vdhcp_start = ipv4("10.0.2.15"),
		.vnameserver = ipv4("10.0.2.3"),
		.if_mtu = MTU,
		.if_mru = MTU,
	};
	t->pfd = calloc(16, sizeof(*t->pfd));
	if (!t->pfd) {
		snprintf(err, n, "virtio-net: out of memory");
		return -1;
	}
	t->pfd_cap = 16;
	t->pfd[0] = (struct pollfd){ .fd = t->wake_fd, .events = POLLIN };
	t->slirp = slirp_new(&c, &slirp_callbacks, t);
	if (!t->slirp) {
		snprintf(err, n, "--net user: libslirp would not start");
		return -1;
	}
	dns_warm_up(t);
	for (int i = 0; i < t->cfg->nfwd; i++) {
		const struct vm_hostfwd *f = &t->cfg->fwd[i];
		struct in_addr host = { f->host_addr ? f->host_addr : htonl(INADDR_LOOPBACK) };
		char addr[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &host, addr, sizeof(addr));
		errno = 0;
		if (slirp_add_hostfwd(t->slirp, f->udp, host, f->host_port, ipv4("10.0.2.15"), f->guest_port) != 0) {
			snprintf(err, n, "--net user: hostfwd %s %s:%u: cannot listen there (%s)",
				 f->udp ? "udp" : "tcp", addr, f->host_port,
				 errno ? strerror(errno) : "in use?");
			return -1;
		}
	}
	return 0;
}

/* ---- tap ---- */

static void *tap_thread(void *arg)
{
	struct net *t = arg;
	uint8_t buf[TX_MAX];   /* on the thread's stack: any frame the tap has */
	while (!atomic_load(&t->stop)) {
		struct pollfd p[2] = { { .fd = t->wake_fd, .events = POLLIN }, { .fd = t->tap_fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & POLLIN)
			drain_wake(t);
		if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			fprintf(stderr, "popek: virtio-net: tap %s went away; no more frames from it\n", t->cfg->tap);
			break;
		}
		/* everything there is, but no more than the ring holds before the guest gets it */
		for (int i = 0; i < RING_FRAMES && (p[1].revents & POLLIN); i++) {
			ssize_t r = read(t->tap_fd, buf, sizeof(buf));
			if (r <= 0)
				break;   /* EAGAIN: read it all */
			ring_add(t, buf, (size_t)r);
		}
		rx_flush(t);
	}
	return NULL;
}

static int tap_start(struct net *t, char *err, size_t n)
{
	const char *name = t->cfg->tap;
	/* TUNSETIFF would make a missing tap for a privileged popek: it must exist */
	if (if_nametoindex(name) == 0) {
		snprintf(err, n, "--net tap=%s: no such network interface (make it with: "
			 "ip tuntap add dev %s mode tap user $USER; ip link set %s up)", name, name, name);
		return -1;
	}
	t->tap_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (t->tap_fd < 0) {
		snprintf(err, n, "--net tap=%s: cannot open /dev/net/tun: %s", name, strerror(errno));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(t->tap_fd, TUNSETIFF, &ifr) != 0) {
		int e = errno;
		snprintf(err, n, "--net tap=%s: cannot attach to it: %s%s", name, strerror(e),
			 e == EPERM ? " (is it a tap device owned by this user?)" :
			 e == EINVAL ? " (is it a tap device, not tun or another kind?)" :
			 e == EBUSY ? " (is another program using it?)" : "");
		return -1;
	}
	return 0;
}

/* ---- the device's life ---- */

/* The backend thread gets no signals: those are for popek's own threads. */
static int start_thread(struct net *t, char *err, size_t n)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&t->thread, NULL, t->slirp ? slirp_thread : tap_thread, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, n, "virtio-net: cannot start its thread: %s", strerror(rc));
		return -1;
	}
	t->thread_running = true;
	return 0;
}

static void net_free(struct net *t)
{
	if (t->thread_running) {
		atomic_store(&t->stop, true);
		wake(t);
		pthread_join(t->thread, NULL);
	}
	if (t->slirp)
		slirp_cleanup(t->slirp);
	while (t->timers)
		timer_free(t->timers, t);   /* those slirp left */
	if (t->tap_fd >= 0)
		close(t->tap_fd);
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	free(t->pfd);
	pthread_mutex_destroy(&t->slirp_lock);
	pthread_mutex_destroy(&t->ring.lock);
	free(t);
}

static int net_create(struct vm *vm, char *err, size_t n)
{
	const struct vm_net *cfg = &vm->cfg.net;
	if (!cfg->enabled)
		return 0;
	struct net *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, n, "virtio-net: out of memory");
		return -1;
	}
	t->cfg = cfg;
	t->tap_fd = -1;
	pthread_mutex_init(&t->ring.lock, NULL);
	pthread_mutex_init(&t->slirp_lock, NULL);
	memcpy(t->config.mac, cfg->mac, 6);
	t->config.status = NET_S_LINK_UP;
	t->config.max_virtqueue_pairs = 1;
	t->config.mtu = MTU;
	t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake_fd < 0) {
		snprintf(err, n, "virtio-net: eventfd: %s", strerror(errno));
		net_free(t);
		return -1;
	}
	if (virtio_pci_add(vm, &t->dev, &net_ops, t, err, n) != 0) {
		net_free(t);
		return -1;
	}
	t->dev.config = &t->config;
	if ((cfg->user ? user_start(t, err, n) : tap_start(t, err, n)) != 0 || start_thread(t, err, n) != 0) {
		virtio_pci_remove(&t->dev);
		net_free(t);
		return -1;
	}
	return 0;
}

static void net_destroy(struct vm *vm)
{
	struct virtio_dev *d = virtio_pci_find(vm, VIRTIO_ID_NET, 0);
	if (!d)
		return;
	struct net *t = d->priv;
	/* the thread first: it takes the device lock, which remove destroys */
	if (t->thread_running) {
		atomic_store(&t->stop, true);
		wake(t);
		pthread_join(t->thread, NULL);
		t->thread_running = false;
	}
	virtio_pci_remove(d);
	net_free(t);
}

static void net_stats(struct vm *vm, int fd)
{
	struct virtio_dev *d = virtio_pci_find(vm, VIRTIO_ID_NET, 0);
	if (!d)
		return;
	struct net *t = d->priv;
	char backend[32] = "user";
	if (!t->slirp)
		snprintf(backend, sizeof(backend), "tap %s", t->cfg->tap);
	dprintf(fd, "virtio-net (%s): %llu frames / %llu bytes received, %llu frames / %llu bytes sent, "
		"%llu received frames dropped, %llu send errors, %llu bad chains\n", backend,
		(unsigned long long)t->rx_frames, (unsigned long long)t->rx_bytes,
		(unsigned long long)t->tx_frames, (unsigned long long)t->tx_bytes,
		(unsigned long long)atomic_load(&t->rx_dropped), (unsigned long long)t->tx_errors,
		(unsigned long long)d->bad_chains);
}

static struct device_desc virtio_net_device = { .name = "virtio-net", .create = net_create,
						.destroy = net_destroy, .print_stats = net_stats };
DEVICE(virtio_net_device)
