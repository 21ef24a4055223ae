/* Reading the user's files (kernel, initrd) with one clear line for each
 * way that can go wrong: missing, unreadable, a directory, empty, too big,
 * shorter than it said. */
#ifndef POPEK_BOOT_FILE_H
#define POPEK_BOOT_FILE_H

#include <stddef.h>
#include <stdint.h>

struct boot_file {
	const char *what;   /* "kernel", "initrd": names the file in messages */
	const char *path;
	uint8_t *data;      /* whole file, NULL until read */
	uint64_t size;
};

/* Opens path and returns its size in *size (a regular, non-empty file of
 * at most max bytes); -1 with a message. The fd is returned in *fd. */
int boot_file_open(const char *what, const char *path, uint64_t max, int *fd, uint64_t *size,
		   char *err, size_t n);
/* Reads exactly size bytes from fd into dst; -1 with a message. */
int boot_file_read_fd(const char *what, const char *path, int fd, void *dst, uint64_t size,
		      char *err, size_t n);
/* Reads the whole file into f->data (malloc'd). */
int boot_file_load(struct boot_file *f, const char *what, const char *path, uint64_t max,
		   char *err, size_t n);
void boot_file_free(struct boot_file *f);

/* True when [off, off + len) lies inside the file; overflow-safe. */
int boot_file_has(const struct boot_file *f, uint64_t off, uint64_t len);
/* Little-endian fields at an offset the caller has checked with boot_file_has. */
uint16_t boot_le16(const uint8_t *p);
uint32_t boot_le32(const uint8_t *p);
uint64_t boot_le64(const uint8_t *p);

#endif
