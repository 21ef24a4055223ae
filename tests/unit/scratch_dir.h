/* A scratch directory for unit tests that need files on disk: made at the
 * start, removed with everything in it at the end. Each test is its own
 * program, so the helpers are static and the directory is per program. */
#ifndef POPEK_SCRATCH_DIR_H
#define POPEK_SCRATCH_DIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char scratch_dir[64];

/* 0, or -1 after printing a FAIL line. */
static inline int scratch_make(const char *tag)
{
	snprintf(scratch_dir, sizeof(scratch_dir), "/tmp/popek-%s-XXXXXX", tag);
	if (mkdtemp(scratch_dir) == NULL) {
		printf("FAIL %s: cannot make a scratch directory\n", tag);
		return -1;
	}
	return 0;
}

/* Writes a file into the scratch directory; the returned path stays valid
 * for the next seven calls. */
static inline const char *scratch_file(const char *name, const void *data, size_t len)
{
	static char paths[8][128];
	static int next;
	char *path = paths[next++ % 8];
	snprintf(path, 128, "%s/%s", scratch_dir, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
	return path;
}

static inline int scratch_remove_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static inline void scratch_remove(void)
{
	nftw(scratch_dir, scratch_remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

#endif
