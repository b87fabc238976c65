/*
 * local.c - the default bus: a unix stream socket under the state dir.
 *
 * Each job worker connects once and writes its events as JSON lines; the
 * receiver accepts any number of workers and reads whatever is ready. When
 * the receiver is slow the kernel socket buffer fills and the worker's send
 * blocks: back-pressure, never loss (the runner waits; ansible's output then
 * waits on the pty). The buffers are small on purpose (about 200 KiB in
 * flight per job: socket, and what the receiver read but did not take):
 * what they hold is how late an event can be under a flood, 50 jobs times
 * that in all; the store takes about 1 MiB of events in 10 ms.
 */
#include "bus.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define SOCKBUF  (64 * 1024) /* the kernel doubles it */
#define READ_MAX (32 * 1024) /* bytes read from one client at a time */

typedef struct client {
	int fd;
	rn_buf in;
} client;

typedef struct local {
	int fd; /* producer: the connection; consumer: the listener */
	bool consumer;
	client *clients;
	size_t nclients;
	size_t rr; /* consumer: the client drained first next time */
	struct pollfd *pf;
	size_t npf;
	rn_buf out; /* producer: queued messages, newline-terminated */
	size_t nqueued;
	char path[108];
} local;

/* Fill a sockaddr_un for path; -1 with err when too long. */
static int make_addr(struct sockaddr_un *sa, const char *path, runnel_error *err)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (!path || strlen(path) >= sizeof sa->sun_path)
		return rn_fail(err, ENAMETOOLONG, "bus: socket path missing or too long: %s",
		               path ? path : "(none)");
	strcpy(sa->sun_path, path);
	return 0;
}

/* Close the handle and its connections. */
static void local_close(bus *b)
{
	local *l = b->impl;
	for (size_t i = 0; i < l->nclients; i++) {
		close(l->clients[i].fd);
		rn_buf_free(&l->clients[i].in);
	}
	free(l->clients);
	free(l->pf);
	if (!l->consumer && l->out.len)
		(void)rn_write_all(l->fd, l->out.data, l->out.len);
	rn_buf_free(&l->out);
	if (l->fd >= 0)
		close(l->fd);
	if (l->consumer)
		unlink(l->path);
	free(l);
	free(b);
}

/* Write iov[0..n) all of it (blocking: back-pressure). */
static int send_all(local *l, struct iovec *iov, int n, runnel_error *err)
{
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n};
	while (mh.msg_iovlen && !mh.msg_iov[0].iov_len) {
		mh.msg_iov++;
		mh.msg_iovlen--;
	}
	while (mh.msg_iovlen) {
		ssize_t w = sendmsg(l->fd, &mh, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return rn_fail(err, errno, "bus: send: %s", strerror(errno));
		}
		while (mh.msg_iovlen && (size_t)w >= mh.msg_iov[0].iov_len) {
			w -= mh.msg_iov[0].iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov[0].iov_base = (char *)mh.msg_iov[0].iov_base + w;
			mh.msg_iov[0].iov_len -= w;
		}
	}
	return 0;
}

/* Send what is queued. */
static int local_flush(bus *b, runnel_error *err)
{
	local *l = b->impl;
	if (!l->out.len)
		return 0;
	struct iovec iov[1] = {{l->out.data, l->out.len}};
	int rc = send_all(l, iov, 1, err);
	rn_buf_reset(&l->out);
	l->nqueued = 0;
	return rc;
}

/* Queue msg and a newline; send once the queue is big. */
static int local_queue(bus *b, const char *msg, size_t len, runnel_error *err)
{
	local *l = b->impl;
	rn_buf_append(&l->out, msg, len);
	rn_buf_appendc(&l->out, '\n');
	l->nqueued++;
	if (l->out.len >= BUS_QUEUE_BYTES || l->nqueued >= BUS_QUEUE_MESSAGES)
		return local_flush(b, err);
	return 0;
}

/* Send what is queued, then msg and a newline, all of it (blocking: back-pressure). */
static int local_push(bus *b, const char *msg, size_t len, runnel_error *err)
{
	local *l = b->impl;
	struct iovec iov[3] = {{l->out.data, l->out.len}, {(void *)msg, len}, {"\n", 1}};
	int rc = send_all(l, iov, 3, err);
	rn_buf_reset(&l->out);
	l->nqueued = 0;
	return rc;
}

/* Hand complete lines buffered from clients to fn, up to max; the client
 * served first turns round, so that no client waits behind the others. */
static long drain(local *l, bus_message_fn fn, void *ud, long max)
{
	long n = 0;
	size_t nc = l->nclients;
	for (size_t j = 0; j < nc && n < max; j++) {
		rn_buf *in = &l->clients[(l->rr + j) % nc].in;
		size_t off = 0;
		while (n < max && off < in->len) {
			char *nl = memchr(in->data + off, '\n', in->len - off);
			if (!nl)
				break;
			size_t len = nl - (in->data + off);
			if (len)
				fn(in->data + off, len, ud), n++;
			off += len + 1;
		}
		if (off)
			rn_buf_consume(in, off);
	}
	if (nc)
		l->rr = (l->rr + 1) % nc;
	return n;
}

/* Drop client i (its partial last line, if any, is lost with the writer). */
static void drop_client(local *l, size_t i)
{
	close(l->clients[i].fd);
	rn_buf_free(&l->clients[i].in);
	l->clients[i] = l->clients[--l->nclients];
}

/* True if the client's undelivered lines fill READ_MAX: it is not read
 * until they are taken. A buffer with no complete line is never full: a
 * message longer than READ_MAX (a megabyte event) must be read to its end. */
static bool client_full(const client *c)
{
	return c->in.len >= READ_MAX && memchr(c->in.data, '\n', c->in.len) != NULL;
}

/* Accept, read and hand over messages. A client whose undelivered lines
 * already fill READ_MAX is not read until they are delivered: its socket
 * fills and its writer waits (back-pressure, never unbounded memory here). */
static long local_receive(bus *b, bus_message_fn fn, void *ud, int timeout_ms, long max,
                          runnel_error *err)
{
	local *l = b->impl;
	if (max <= 0)
		max = 1 << 30;
	long n = drain(l, fn, ud, max);
	if (n >= max)
		return n;
	if (l->npf < l->nclients + 1) {
		l->npf = l->nclients + 16;
		l->pf = rn_xrealloc(l->pf, sizeof *l->pf * l->npf);
	}
	struct pollfd *pf = l->pf;
	pf[0] = (struct pollfd){.fd = l->fd, .events = POLLIN};
	for (size_t i = 0; i < l->nclients; i++)
		pf[i + 1] = (struct pollfd){
		    .fd = client_full(&l->clients[i]) ? -1 : l->clients[i].fd, .events = POLLIN};
	size_t npf = l->nclients + 1;
	int r = poll(pf, npf, n ? 0 : timeout_ms);
	if (r < 0 && errno != EINTR)
		return rn_fail(err, errno, "bus: poll: %s", strerror(errno));
	/* read ready clients (backwards: drop_client moves the last one) */
	for (size_t i = npf - 1; r > 0 && i >= 1; i--) {
		if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		client *c = &l->clients[i - 1];
		rn_buf_reserve(&c->in, READ_MAX);
		ssize_t got = read(c->fd, c->in.data + c->in.len, READ_MAX);
		if (got > 0) {
			c->in.len += got;
			c->in.data[c->in.len] = 0;
		} else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
			/* EOF: deliver every complete line first (all of them, beyond
			 * max: the client goes and its lines must not go with it) */
			rn_buf *in = &c->in;
			size_t off = 0;
			char *nl;
			while ((nl = memchr(in->data + off, '\n', in->len - off))) {
				size_t len = nl - (in->data + off);
				if (len)
					fn(in->data + off, len, ud), n++;
				off += len + 1;
			}
			drop_client(l, i - 1);
			if (l->rr >= l->nclients)
				l->rr = 0;
			continue;
		}
	}
	if (r > 0 && (pf[0].revents & POLLIN)) {
		int fd;
		while ((fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			int sz = SOCKBUF;
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
			l->clients =
			    rn_xrealloc(l->clients, sizeof *l->clients * (l->nclients + 1));
			l->clients[l->nclients].fd = fd;
			rn_buf_init(&l->clients[l->nclients].in);
			l->nclients++;
		}
	}
	return n + drain(l, fn, ud, max - n);
}

static const bus_ops local_ops = {local_close, local_push, local_receive, local_queue, local_flush};

/* Open the local bus: connect (producer) or bind and listen (consumer). */
bus *bus_local_open(const bus_settings *settings, bool consumer, runnel_error *err)
{
	struct sockaddr_un sa;
	if (make_addr(&sa, settings ? settings->socket_path : NULL, err) < 0)
		return NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (consumer ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return rn_fail(err, errno, "bus: socket: %s", strerror(errno)), NULL;
	int sz = SOCKBUF;
	setsockopt(fd, SOL_SOCKET, consumer ? SO_RCVBUF : SO_SNDBUF, &sz, sizeof sz);
	if (consumer) {
		unlink(sa.sun_path); /* a stale socket of a previous run */
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0) {
			rn_fail(err, errno, "bus: listen on %s: %s", sa.sun_path, strerror(errno));
			close(fd);
			return NULL;
		}
		chmod(sa.sun_path, 0600);
	} else if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		rn_fail(err, errno, "bus: connect to %s: %s", sa.sun_path, strerror(errno));
		close(fd);
		return NULL;
	}
	local *l = calloc(1, sizeof *l);
	rn_buf_init(&l->out);
	l->fd = fd;
	l->consumer = consumer;
	snprintf(l->path, sizeof l->path, "%s", sa.sun_path);
	bus *b = calloc(1, sizeof *b);
	b->ops = &local_ops;
	b->impl = l;
	snprintf(b->backend, sizeof b->backend, "local");
	return b;
}
