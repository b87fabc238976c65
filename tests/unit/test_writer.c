/* test_writer.c - the job_events writer thread (lib/writer.c): every file
 * put is written whole, with its exact bytes and mode 0600, whatever its size
 * against the queue's 64 KiB blocks and however puts and kicks interleave; no
 * reader of the directory ever sees a named file shorter than its text (the
 * tmp + rename guarantee of ansible-runner's event files); nothing is left
 * behind (no .tmp). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "writer.h"

/* A fresh empty directory under /tmp and its fd. */
static int make_dir(char *path, size_t size)
{
	snprintf(path, size, "/tmp/test_writer.XXXXXX");
	assert_non_null(mkdtemp(path));
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void remove_dir(const char *path, int fd)
{
	DIR *d = opendir(path);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(fd, e->d_name, 0);
	closedir(d);
	close(fd);
	rmdir(path);
}

/* The size of file i: small ones mostly, some of exactly a block's worth
 * around 64 KiB, a few much larger than a block, and empty ones. */
static size_t size_of(int i)
{
	if (i % 997 == 5)
		return 200 * 1024 + (size_t)i;
	if (i % 331 == 7)
		return 64 * 1024 - 40 + (size_t)(i % 80);
	if (i % 101 == 3)
		return 0;
	return 1 + (size_t)(i * 7919) % 3000;
}

/* Byte j of file i. */
static char byte_of(int i, size_t j)
{
	return (char)('a' + (i * 31 + (int)j) % 26);
}

static void test_every_file_whole(void **state)
{
	(void)state;
	char dir[64];
	int fd = make_dir(dir, sizeof dir);
	rn_writer *w = rn_writer_start(fd, dir);
	assert_non_null(w);
	enum { N = 2000 };
	char *text = malloc(300 * 1024);
	for (int i = 0; i < N; i++) {
		size_t n = size_of(i);
		for (size_t j = 0; j < n; j++)
			text[j] = byte_of(i, j);
		char name[64];
		snprintf(name, sizeof name, "%d-file.json", i + 1);
		rn_writer_put(w, name, text, n);
		if (i % 37 == 0)
			rn_writer_kick(w);
	}
	rn_writer_finish(w);

	char *got = malloc(300 * 1024 + 1);
	for (int i = 0; i < N; i++) {
		char name[64];
		snprintf(name, sizeof name, "%d-file.json", i + 1);
		int f = openat(fd, name, O_RDONLY | O_CLOEXEC);
		if (f < 0)
			fail_msg("%s was not written", name);
		struct stat st;
		assert_int_equal(fstat(f, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		size_t n = size_of(i);
		assert_int_equal((size_t)st.st_size, n);
		ssize_t r = read(f, got, n + 1);
		assert_int_equal(r, (ssize_t)n);
		for (size_t j = 0; j < n; j++)
			if (got[j] != byte_of(i, j))
				fail_msg("%s: byte %zu differs", name, j);
		close(f);
	}
	/* nothing else in the directory */
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (strstr(e->d_name, ".tmp"))
			fail_msg("left behind: %s", e->d_name);
		files++;
	}
	closedir(d);
	assert_int_equal(files, N);
	free(text);
	free(got);
	remove_dir(dir, fd);
}

/* A reader scanning the directory while the writer writes. */
typedef struct scan_arg {
	const char *dir;
	volatile int stop;
	long seen, short_files;
	char bad[400];
} scan_arg;

static void *scanner(void *p)
{
	scan_arg *a = p;
	while (!a->stop) {
		DIR *d = opendir(a->dir);
		if (!d)
			break;
		struct dirent *e;
		while ((e = readdir(d))) {
			int i;
			size_t want;
			/* "<i>-<size>.json": a complete name says how long it must be */
			if (sscanf(e->d_name, "%d-%zu.json", &i, &want) != 2 ||
			    strstr(e->d_name, ".tmp"))
				continue;
			char path[600];
			snprintf(path, sizeof path, "%s/%s", a->dir, e->d_name);
			struct stat st;
			if (stat(path, &st) != 0)
				continue;
			a->seen++;
			if ((size_t)st.st_size != want) {
				a->short_files++;
				snprintf(a->bad, sizeof a->bad, "%s has %lld bytes", e->d_name,
				         (long long)st.st_size);
			}
		}
		closedir(d);
	}
	return NULL;
}

static void test_readers_never_see_a_partial_file(void **state)
{
	(void)state;
	char dir[64];
	int fd = make_dir(dir, sizeof dir);
	scan_arg a = {.dir = dir};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, scanner, &a), 0);
	rn_writer *w = rn_writer_start(fd, dir);
	assert_non_null(w);
	char *text = malloc(512 * 1024);
	memset(text, 'x', 512 * 1024);
	for (int i = 0; i < 400; i++) {
		size_t n = i % 10 == 0 ? 256 * 1024 + (size_t)i : 2000 + (size_t)i;
		char name[64];
		snprintf(name, sizeof name, "%d-%zu.json", i, n);
		rn_writer_put(w, name, text, n);
		if (i % 5 == 0)
			rn_writer_kick(w);
	}
	rn_writer_finish(w);
	a.stop = 1;
	pthread_join(t, NULL);
	if (a.short_files)
		fail_msg("%ld of %ld files seen were partial, e.g. %s", a.short_files, a.seen,
		         a.bad);
	assert_true(a.seen > 0);
	free(text);
	remove_dir(dir, fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_file_whole),
	    cmocka_unit_test(test_readers_never_see_a_partial_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
