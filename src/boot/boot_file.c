#include "boot/boot_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "boot/boot_error.h"

/* Files of /proc and /sys say size 0 whatever they hold. */
static bool pseudo_file(int fd)
{
	struct statfs fs;
	return fstatfs(fd, &fs) == 0 && (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC ||
					 fs.f_type == DEBUGFS_MAGIC);
}

int boot_file_open(const char *what, const char *path, uint64_t max, int *fd, uint64_t *size,
		   char *err, size_t n)
{
	if (path == NULL || path[0] == '\0')
		return boot_fail(err, n, "%s: no file name given", what);
	/* O_NONBLOCK: opening a FIFO would wait for a writer; the type
	 * check below refuses it before anything reads. */
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (f < 0)
		return boot_fail(err, n, "%s '%s': %s", what, path, strerror(errno));
	struct stat st;
	if (fstat(f, &st) < 0) {
		int e = errno;
		close(f);
		return boot_fail(err, n, "%s '%s': %s", what, path, strerror(e));
	}
	const char *why = NULL;
	if (S_ISDIR(st.st_mode))
		why = "is a directory";
	else if (!S_ISREG(st.st_mode))
		why = "is not a regular file";
	else if (st.st_size == 0)
		why = pseudo_file(f) ? "is a /proc or /sys file, whose size is not known before "
				       "reading it: copy it to a regular file first"
				     : "is empty";
	if (why != NULL) {
		close(f);
		return boot_fail(err, n, "%s '%s': %s", what, path, why);
	}
	if ((uint64_t)st.st_size > max) {
		close(f);
		return boot_fail(err, n, "%s '%s': %llu bytes is more than guest memory can hold (%llu)",
				 what, path, (unsigned long long)st.st_size, (unsigned long long)max);
	}
	int fl = fcntl(f, F_GETFL);
	if (fl >= 0)
		fcntl(f, F_SETFL, fl & ~O_NONBLOCK);
	*fd = f;
	*size = (uint64_t)st.st_size;
	return 0;
}

int boot_file_read_fd(const char *what, const char *path, int fd, void *dst, uint64_t size,
		      char *err, size_t n)
{
	uint8_t *p = dst;
	uint64_t done = 0;
	while (done < size) {
		/* A read from a regular file does not stop for a handled signal:
		 * small chunks keep a stop signal's wait short (vm.h). */
		size_t chunk = size - done > (8u << 20) ? (8u << 20) : (size_t)(size - done);
		ssize_t got = read(fd, p + done, chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return boot_fail(err, n, "%s '%s': read failed: %s", what, path, strerror(errno));
		if (got == 0)
			return boot_fail(err, n, "%s '%s': file shrank while being read", what, path);
		done += (uint64_t)got;
	}
	return 0;
}

int boot_file_load(struct boot_file *f, const char *what, const char *path, uint64_t max,
		   char *err, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->what = what;
	f->path = path;
	int fd;
	uint64_t size;
	if (boot_file_open(what, path, max, &fd, &size, err, n) < 0)
		return -1;
	f->data = malloc(size);
	if (f->data == NULL) {
		close(fd);
		return boot_fail(err, n, "%s '%s': no host memory for %llu bytes", what, path,
				 (unsigned long long)size);
	}
	int r = boot_file_read_fd(what, path, fd, f->data, size, err, n);
	close(fd);
	if (r < 0) {
		boot_file_free(f);
		return -1;
	}
	f->size = size;
	return 0;
}

void boot_file_free(struct boot_file *f)
{
	free(f->data);
	f->data = NULL;
	f->size = 0;
}

int boot_file_has(const struct boot_file *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

uint16_t boot_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t boot_le32(const uint8_t *p)
{
	return (uint32_t)boot_le16(p) | (uint32_t)boot_le16(p + 2) << 16;
}

uint64_t boot_le64(const uint8_t *p)
{
	return (uint64_t)boot_le32(p) | (uint64_t)boot_le32(p + 4) << 32;
}
