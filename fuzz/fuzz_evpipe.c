/*
 * fuzz_evpipe.c - the event pipe's reader (lib/evpipe.c) against a model.
 *
 * Input: a series of operations, each led by one byte:
 *   even: write the next (byte / 2) bytes to the pipe's child end;
 *   odd:  take the record of the uuid made of the next (byte / 2 % 48) bytes.
 * Between operations the runner's poll step (rn_evpipe_read) runs when the
 * pipe is nearly full, as run.c's loop would.
 *
 * The model keeps everything written. A take must find the first complete
 * line after the last one taken that is a JSON object whose top-level "uuid"
 * is that uuid (rn_jscan_object), return exactly that line, and drop what
 * came before it; or, when there is none, return false and drop nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evpipe.h"
#include "jscan.h"
#include "util.h"

static void die(const char *why)
{
	fprintf(stderr, "fuzz_evpipe: %s\n", why);
	abort();
}

/* The model's take: the line's offset in all[] (or -1); *next: after it. */
static long model_take(const char *all, size_t len, size_t from, const char *uuid, size_t ulen,
                       size_t *next)
{
	size_t at = from;
	while (at < len) {
		const char *nl = memchr(all + at, '\n', len - at);
		if (!nl)
			return -1;
		size_t n = (size_t)(nl - (all + at));
		rn_jscan scan;
		if (ulen && rn_jscan_object(all + at, n, &scan) && scan.uuid &&
		    scan.uuid_len == ulen && !memcmp(scan.uuid, uuid, ulen)) {
			*next = at + n + 1;
			return (long)at;
		}
		at += n + 1;
	}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	runnel_error err;
	rn_evpipe *p = rn_evpipe_new(&err);
	if (!p)
		die(err.message);
	int w = rn_evpipe_child_end(p);
	fcntl(w, F_SETFL, fcntl(w, F_GETFL) | O_NONBLOCK);
	rn_buf all;
	rn_buf_init(&all);
	size_t taken = 0; /* the model's: where the untaken lines start */
	size_t i = 0;
	while (i < size) {
		uint8_t op = data[i++];
		size_t n = op / 2;
		if (!(op & 1)) {
			if (n > size - i)
				n = size - i;
			size_t off = 0;
			while (off < n) {
				ssize_t k = write(w, data + i + off, n - off);
				if (k > 0)
					off += (size_t)k;
				else if (k < 0 && errno == EAGAIN)
					rn_evpipe_read(p); /* the runner's poll step */
				else
					die("write to the pipe failed");
			}
			rn_buf_append(&all, data + i, n);
			i += n;
			continue;
		}
		n %= 48;
		if (n > size - i)
			n = size - i;
		const char *uuid = (const char *)data + i;
		i += n;
		size_t next = taken;
		long want = model_take(all.data, all.len, taken, uuid, n, &next);
		const char *json = NULL;
		size_t len = 0;
		rn_jscan scan;
		bool got = rn_evpipe_take(p, uuid, n, &json, &len, &scan);
		if (got != (want >= 0))
			die(got ? "took a record the model does not have" : "missed a record");
		if (!got)
			continue;
		if (len != next - 1 - (size_t)want || memcmp(json, all.data + want, len) != 0)
			die("took another line than the model");
		if (!scan.uuid || scan.uuid_len != n || memcmp(scan.uuid, uuid, n) != 0)
			die("the scan's uuid is not the one asked for");
		taken = next;
	}
	rn_buf_free(&all);
	rn_evpipe_free(p);
	return 0;
}
