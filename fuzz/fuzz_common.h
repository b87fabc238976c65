/*
 * fuzz_common.h - what several harnesses share: a private scratch directory
 * per fuzzing process, emptied between inputs. Header-only, static.
 */
#ifndef RUNNEL_FUZZ_COMMON_H
#define RUNNEL_FUZZ_COMMON_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Remove path and everything under it, making directories writable first
 * (an extracted tree may hold a mode-0 directory). Symlinks are not followed. */
static inline void fuzz_rmtree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		(void)chmod(path, 0700);
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d))) {
				if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
					continue;
				size_t n = strlen(path) + strlen(e->d_name) + 2;
				char *child = malloc(n);
				if (!child)
					abort();
				snprintf(child, n, "%s/%s", path, e->d_name);
				fuzz_rmtree(child);
				free(child);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

static char fuzz_scratch_dir[512];

static inline void fuzz_scratch_remove(void)
{
	if (fuzz_scratch_dir[0])
		fuzz_rmtree(fuzz_scratch_dir);
}

/* A scratch directory of this process (created once, under $TMPDIR, else on
 * tmpfs (/dev/shm) where there is one, else /tmp; removed when the process
 * exits). tmpfs matters: the targets that write a private data dir per input
 * run ~100 times more inputs per second there than on a disk
 * (scripts/fuzz makes the same choice for the TMPDIR it gives them). */
static inline const char *fuzz_scratch(void)
{
	if (!fuzz_scratch_dir[0]) {
		const char *t = getenv("TMPDIR");
		if (!t || !*t)
			t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(fuzz_scratch_dir, sizeof fuzz_scratch_dir, "%s/runnel-fuzz-XXXXXX", t);
		if (!mkdtemp(fuzz_scratch_dir))
			abort();
		atexit(fuzz_scratch_remove);
	}
	return fuzz_scratch_dir;
}

/* The names in dir other than . and .., counted; *only gets the first. */
static inline int fuzz_entries(const char *dir, char *only, size_t n)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!count && only)
			snprintf(only, n, "%s", e->d_name);
		count++;
	}
	closedir(d);
	return count;
}

/* An in-memory file holding data, positioned at its start; -1 on failure. */
static inline int fuzz_memfd(const void *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	const char *p = data;
	while (size) {
		ssize_t w = write(fd, p, size);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		p += w;
		size -= (size_t)w;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

#endif
