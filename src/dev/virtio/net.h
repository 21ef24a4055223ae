/* virtio-net's backends (--net): user-mode networking through libslirp,
 * or a tap device. */
#ifndef POPEK_DEV_VIRTIO_NET_H
#define POPEK_DEV_VIRTIO_NET_H

#include <stddef.h>

struct vm_net;

/* Parses "user[,hostfwd=tcp:ADDR:HPORT-:GPORT,...][,mac=..]" or
 * "tap=NAME[,mac=..]" into out (enabled set): 0, or -1 with a message. */
int net_parse(char *spec, struct vm_net *out, char *err, size_t n);

#endif
