/* virtio-blk's disk images (--disk FILE[,ro]): opened, checked and locked
 * before the machine is made, so a bad image is bad input (status 2) and
 * nothing runs. */
#ifndef POPEK_DEV_VIRTIO_BLK_H
#define POPEK_DEV_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>

struct vm_disk;

/* Parses "FILE" or "FILE,ro" into d (d->path points into spec): 0, or -1. */
int disk_parse(char *spec, struct vm_disk *d, char *err, size_t n);
/* Opens d->path (read-only for ro) and takes its lock: shared for ro,
 * exclusive otherwise, so a second popek cannot write an image in use.
 * 0 with d->fd set, or -1 with a message. */
int disk_open(struct vm_disk *d, char *err, size_t n);

#endif
