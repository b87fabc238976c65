/*
 * evpipe.c - the event side channel from the plugin (see evpipe.h).
 */
#include "evpipe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct rn_evpipe {
	int rfd, wfd;
	bool eof;
	rn_buf q;           /* records read, one per line; q.data[off..] not taken yet */
	size_t off;         /* where the untaken records start */
	char env_value[48]; /* "<fd>:<inode>" */
};

rn_evpipe *rn_evpipe_new(runnel_error *err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return rn_fail(err, errno, "cannot make the event pipe: %s", strerror(errno)), NULL;
	struct stat st;
	if (fstat(fds[1], &st) != 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		return rn_fail(err, e, "cannot stat the event pipe: %s", strerror(e)), NULL;
	}
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	rn_evpipe *p = rn_xmalloc(sizeof *p);
	p->rfd = fds[0];
	p->wfd = fds[1];
	p->eof = false;
	rn_buf_init(&p->q);
	rn_buf_reserve(&p->q, 64u << 10); /* never NULL from here on */
	p->off = 0;
	snprintf(p->env_value, sizeof p->env_value, "%d:%llu", RN_EVPIPE_CHILD_FD,
	         (unsigned long long)st.st_ino);
	return p;
}

void rn_evpipe_free(rn_evpipe *p)
{
	if (!p)
		return;
	close(p->rfd);
	rn_evpipe_close_child_end(p);
	rn_buf_free(&p->q);
	free(p);
}

int rn_evpipe_child_end(const rn_evpipe *p)
{
	return p->wfd;
}

const char *rn_evpipe_env_value(const rn_evpipe *p)
{
	return p->env_value;
}

void rn_evpipe_close_child_end(rn_evpipe *p)
{
	if (p->wfd >= 0)
		close(p->wfd);
	p->wfd = -1;
}

/* Drop the taken records from the front of the queue (the text handed out
 * last is no longer needed: the next call has come). */
static void compact(rn_evpipe *p)
{
	if (p->off == p->q.len) {
		rn_buf_reset(&p->q);
		p->off = 0;
	} else if (p->off >= (64u << 10)) {
		rn_buf_consume(&p->q, p->off);
		p->off = 0;
	}
}

/* Read once; bytes read (0 at EAGAIN or EOF). */
static size_t read_some(rn_evpipe *p)
{
	if (p->eof)
		return 0;
	rn_buf_reserve(&p->q, 64u << 10);
	ssize_t n;
	do
		n = read(p->rfd, p->q.data + p->q.len, p->q.cap - p->q.len - 1);
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno != EAGAIN))
		p->eof = true; /* every writer gone (or the pipe broke): in-band from now */
	if (n <= 0)
		return 0;
	p->q.len += (size_t)n;
	p->q.data[p->q.len] = '\0';
	return (size_t)n;
}

/* Enough waits ahead of the markers: whole records only (a record being
 * written is always read to its end, or its writer would wait forever for
 * room in the pipe, before the marker that would take it). */
static bool full(const rn_evpipe *p)
{
	return p->q.len - p->off >= RN_EVPIPE_AHEAD_MAX && p->q.data[p->q.len - 1] == '\n';
}

int rn_evpipe_poll_fd(const rn_evpipe *p)
{
	return p->eof || full(p) ? -1 : p->rfd;
}

void rn_evpipe_read(rn_evpipe *p)
{
	compact(p);
	while (!full(p) && read_some(p) > 0)
		;
}

/* The first complete line at or after from holding the record of uuid:
 * its start, or NULL. *end: where it ends (its '\n'). */
static const char *find_record(rn_evpipe *p, size_t from, const char *uuid, size_t uuid_len,
                               const char **end, rn_jscan *scan)
{
	const char *base = p->q.data + p->off, *limit = p->q.data + p->q.len;
	const char *at = p->q.data + from;
	while ((at = memmem(at, (size_t)(limit - at), uuid, uuid_len))) {
		const char *nl = memchr(at, '\n', (size_t)(limit - at));
		if (!nl)
			return NULL; /* its line is not complete yet */
		const char *start = at;
		while (start > base && start[-1] != '\n')
			start--;
		if (rn_jscan_object(start, (size_t)(nl - start), scan) && scan->uuid &&
		    scan->uuid_len == uuid_len && !memcmp(scan->uuid, uuid, uuid_len)) {
			*end = nl;
			return start;
		}
		at = nl + 1; /* the uuid was elsewhere in that line (a parent_uuid) */
	}
	return NULL;
}

bool rn_evpipe_take(rn_evpipe *p, const char *uuid, size_t uuid_len, const char **json, size_t *len,
                    rn_jscan *scan)
{
	if (!uuid_len)
		return false;
	compact(p);
	size_t from = p->off;
	for (;;) {
		const char *end;
		const char *start = find_record(p, from, uuid, uuid_len, &end, scan);
		if (start) {
			*json = start;
			*len = (size_t)(end - start);
			p->off = (size_t)(end + 1 - p->q.data);
			return true;
		}
		/* the record is written before its marker: if it is not queued, it
		 * is in the pipe now or never comes. Search again from the last
		 * complete line: the uuid may straddle what was there before. */
		const char *base = p->q.data + p->off;
		const char *last_nl = memrchr(base, '\n', p->q.len - p->off);
		from = last_nl ? (size_t)(last_nl + 1 - p->q.data) : p->off;
		if (full(p) || !read_some(p))
			return false;
	}
}
