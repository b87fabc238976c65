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
 *
 * Faults: a producer keeps its queue until every byte of it is written. A
 * send that makes no progress for BUS_SEND_STALL_MS (SO_SNDTIMEO), or that
 * a signal interrupts, returns -1 with the queue and the count of bytes
 * already written kept: the next flush goes on where it stopped, on the
 * same connection, so a line is never cut. A broken connection (runneld
 * restarted) is closed; the next flush connects again and sends the whole
 * queue (the receiver dropped the cut line with the old connection; lines
 * that arrive twice are stored once).
 */
#include "bus.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
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
	rn_buf out;  /* producer: queued messages, newline-terminated */
	size_t sent; /* producer: bytes of out written on this connection */
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
	if (!l->consumer && l->out.len && l->fd >= 0) {
		runnel_error e;
		(void)b->ops->flush(b, &e);
	}
	rn_buf_free(&l->out);
	if (l->fd >= 0)
		close(l->fd);
	if (l->consumer)
		unlink(l->path);
	free(l);
	free(b);
}

/* Connect a producer socket to path. The fd, or -1 with err. */
static int connect_producer(const char *path, runnel_error *err)
{
	struct sockaddr_un sa;
	if (make_addr(&sa, path, err) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rn_fail(err, errno, "bus: socket: %s", strerror(errno));
	int sz = SOCKBUF;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	struct timeval stall = {BUS_SEND_STALL_MS / 1000, (BUS_SEND_STALL_MS % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &stall, sizeof stall);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		rn_fail(err, errno, "bus: connect to %s: %s", sa.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Send what is queued, from where the last send stopped (blocking up to
 * BUS_SEND_STALL_MS without progress: back-pressure). The queue is emptied
 * once all of it is written; on -1 it is kept (see Faults above). */
static int local_flush(bus *b, runnel_error *err)
{
	local *l = b->impl;
	if (!l->out.len)
		return 0;
	if (l->fd < 0) {
		l->fd = connect_producer(l->path, err);
		if (l->fd < 0) {
			err->code = EAGAIN;
			return -1;
		}
		l->sent = 0; /* the whole queue again, on the new connection */
	}
	while (l->sent < l->out.len) {
		ssize_t w = send(l->fd, l->out.data + l->sent, l->out.len - l->sent, MSG_NOSIGNAL);
		if (w > 0) {
			l->sent += (size_t)w;
			continue;
		}
		if (errno == EINTR)
			return rn_fail(err, EINTR, "bus: send to %s: interrupted", l->path);
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return rn_fail(err, ETIMEDOUT,
			               "bus: send to %s: the bus stayed full for %d ms", l->path,
			               BUS_SEND_STALL_MS);
		rn_fail(err, EAGAIN, "bus: send to %s: %s (reconnecting)", l->path,
		        strerror(errno));
		close(l->fd);
		l->fd = -1;
		return -1;
	}
	rn_buf_reset(&l->out);
	l->sent = 0;
	l->nqueued = 0;
	return 0;
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

/* Send what is queued, then msg and a newline. */
static int local_push(bus *b, const char *msg, size_t len, runnel_error *err)
{
	local *l = b->impl;
	rn_buf_append(&l->out, msg, len);
	rn_buf_appendc(&l->out, '\n');
	l->nqueued++;
	return local_flush(b, err);
}

/* Drop what is queued; how many messages. A line cut on the wire would be
 * glued to the next one: the connection goes with it (the receiver drops a
 * cut last line). */
static size_t local_discard(bus *b)
{
	local *l = b->impl;
	size_t n = l->nqueued;
	if (l->sent > 0 && l->sent < l->out.len && l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
	rn_buf_reset(&l->out);
	l->sent = 0;
	l->nqueued = 0;
	return n;
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
		/* out of descriptors (EMFILE): say so, rather than spin on a
		 * listener that stays readable; the clients wait in the backlog */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED) {
			int e = errno;
			long got = n + drain(l, fn, ud, max - n);
			if (got)
				return got;
			return rn_fail(err, e, "bus: accept on %s: %s", l->path, strerror(e));
		}
	}
	return n + drain(l, fn, ud, max - n);
}

/* Consumer: nothing to forget. What runneld read from a worker's socket is
 * in its memory only: a runneld killed before storing it loses it (the
 * restarted runneld's reaper says how many events of the job are lost). */
static int local_ack(bus *b, long n, runnel_error *err)
{
	(void)b, (void)n, (void)err;
	return 0;
}

static const bus_ops local_ops = {local_close, local_push,    local_receive, local_queue,
                                  local_flush, local_discard, local_ack};

/* Open the local bus: connect (producer) or bind and listen (consumer). */
bus *bus_local_open(const bus_settings *settings, bool consumer, runnel_error *err)
{
	struct sockaddr_un sa;
	if (make_addr(&sa, settings ? settings->socket_path : NULL, err) < 0)
		return NULL;
	int fd;
	if (consumer) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return rn_fail(err, errno, "bus: socket: %s", strerror(errno)), NULL;
		int sz = SOCKBUF;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
		unlink(sa.sun_path); /* a stale socket of a previous run */
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0) {
			rn_fail(err, errno, "bus: listen on %s: %s", sa.sun_path, strerror(errno));
			close(fd);
			return NULL;
		}
		chmod(sa.sun_path, 0600);
	} else if ((fd = connect_producer(sa.sun_path, err)) < 0) {
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
