/*
 * fuzz_stream_zip.c - the streaming zip + base64 reader (lib/stream_zip.c):
 * the artifacts and private data dirs that transmit/worker/process streams
 * carry, from a peer that may be anyone.
 *
 * Input: byte 0 picks the mode. Even: the rest is a zip file, extracted with
 * rn_unzip_fd(). Odd: bytes 1-3 are a length (big-endian), the rest base64
 * text read through an rn_reader by rn_unstream_dir() (which decodes and then
 * extracts). Either way the target is <scratch>/a/b/t and nothing may appear
 * beside it (an entry with .., an absolute name, or one through a symlink
 * must be refused, not written elsewhere); a failure must say why.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "stream.h"
#include "util.h"

static void die(const char *why, const char *detail)
{
	fprintf(stderr, "fuzz_stream_zip: %s %s\n", why, detail ? detail : "");
	abort();
}

/* Only `want` in dir. */
static void alone(const char *dir, const char *want)
{
	char first[256];
	int n = fuzz_entries(dir, first, sizeof first);
	if (n != 1 || strcmp(first, want) != 0)
		die("something was written outside the target, in", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *base = fuzz_scratch();
	char a[600], b[600], t[600];
	snprintf(a, sizeof a, "%s/a", base);
	snprintf(b, sizeof b, "%s/a/b", base);
	snprintf(t, sizeof t, "%s/a/b/t", base);
	mkdir(a, 0700);
	mkdir(b, 0700);
	runnel_error err = {0};
	int rc;
	if (data[0] % 2 == 0) {
		int fd = fuzz_memfd(data + 1, size - 1);
		if (fd < 0)
			return 0;
		rc = rn_unzip_fd(fd, t, &err);
	} else {
		if (size < 4)
			return 0;
		int64_t length = (int64_t)data[1] << 16 | (int64_t)data[2] << 8 | data[3];
		int fd = fuzz_memfd(data + 4, size - 4);
		if (fd < 0)
			return 0;
		rn_reader r;
		rn_reader_init(&r, fd);
		bool consumed = false;
		rc = rn_unstream_dir(&r, length, t, &consumed, &err);
		rn_reader_free(&r);
		close(fd);
	}
	if (rc != 0 && (!err.code || !err.message[0]))
		die("a failure without an error", NULL);
	alone(base, "a");
	alone(a, "b");
	if (fuzz_entries(b, NULL, 0) > 1)
		die("something was written outside the target, in", b);
	fuzz_rmtree(a);
	return 0;
}
