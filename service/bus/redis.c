/*
 * redis.c - the Redis bus, exactly as AWX uses it: producers RPUSH the event
 * JSON to the list "callback_tasks"; receivers BLPOP it (blocking up to the
 * timeout, AWX's 1 s flush tick) and then LPOP up to the batch size in one
 * round trip.
 *
 * The list is bounded as the local bus's socket buffers bound that one: a
 * producer whose RPUSH leaves more than REDIS_BACKLOG_MAX messages waits
 * while the list stays that long, up to REDIS_WAIT_MAX_MS per push
 * (back-pressure: under a flood events wait in the runner, before they are
 * made, rather than in a list that makes every later event late). When the
 * receiver does not keep up even so (or is down), the list grows past the
 * bound: Redis keeps the backlog (spill), as AWX's does. Nothing is dropped.
 *
 * Faults (Redis restarted, killed, unreachable): either end reconnects.
 * A producer keeps its queue until an RPUSH of it got its reply; a failed
 * one drops the connection and returns -1 (EAGAIN) with the queue intact,
 * and the next flush reconnects and pushes it again (if Redis had taken it
 * before the connection broke, its events arrive twice: the store keeps
 * one per counter). Replies are awaited at most BUS_SEND_STALL_MS, so a
 * hung Redis costs the caller a second per try, not forever. A consumer
 * whose BLPOP failed reconnects on a later receive(), after a backoff that
 * doubles from 50 ms to BUS_RECONNECT_MAX_MS. What Redis held when it died
 * is gone (it keeps the list in memory): the job's accounting says so, not
 * the bus (see worker.c).
 */
#include "bus.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "util.h"

typedef struct rbus {
	redisContext *c; /* NULL while disconnected */
	bool consumer;
	char url[256];
	char queue[128];
	/* reconnecting: no attempt before next_try_ms (monotonic) */
	long long next_try_ms;
	int backoff_ms;
	/* producer: queued messages, back to back */
	rn_buf out;
	size_t *lens;
	size_t nq, capq;
	/* consumer: the last receive found a backlog (LPOP first, no BLPOP) */
	bool backlog;
} rbus;

/* Close the connection. */
static void redis_close(bus *b)
{
	rbus *r = b->impl;
	if (r->nq && r->c) {
		runnel_error e;
		(void)b->ops->flush(b, &e);
	}
	if (r->c)
		redisFree(r->c);
	rn_buf_free(&r->out);
	free(r->lens);
	free(r);
	free(b);
}

/* Monotonic milliseconds. */
static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drop the connection (it is broken, or a reply did not come in time). */
static void disconnect(rbus *r)
{
	if (r->c)
		redisFree(r->c);
	r->c = NULL;
}

/* Fill err from a failed reply or a broken context. A broken connection is
 * dropped (the next call reconnects) and the code is EAGAIN: try again. */
static int redis_fail(rbus *r, redisReply *rep, runnel_error *err, const char *what)
{
	if (rep && rep->type == REDIS_REPLY_ERROR) {
		rn_fail(err, EIO, "bus: redis %s %s: %s", r->url, what, rep->str);
	} else if (!rep || (r->c && r->c->err)) {
		rn_fail(err, EAGAIN, "bus: redis %s %s: %s (reconnecting)", r->url, what,
		        r->c && r->c->err ? r->c->errstr : "no reply");
		disconnect(r);
	} else {
		rn_fail(err, EIO, "bus: redis %s %s: unexpected reply (type %d)", r->url, what,
		        rep->type);
	}
	if (rep)
		freeReplyObject(rep);
	return -1;
}

/* Connect to r->url (a consumer waits for replies as long as its BLPOP
 * blocks and then some; a producer BUS_SEND_STALL_MS). 0, or -1 with err. */
static int connect_url(rbus *r, runnel_error *err)
{
	const char *url = r->url;
	struct timeval tv = {2, 0};
	redisContext *c = NULL;
	if (!strncmp(url, "unix://", 7)) {
		c = redisConnectUnixWithTimeout(url + 7, tv);
	} else {
		const char *hp = !strncmp(url, "redis://", 8) ? url + 8 : url;
		char host[256];
		int port = 6379;
		snprintf(host, sizeof host, "%s", hp);
		char *colon = strrchr(host, ':');
		if (colon) {
			*colon = 0;
			port = atoi(colon + 1);
		}
		char *slash = strchr(colon ? colon + 1 : host, '/');
		if (slash)
			*slash = 0;
		c = redisConnectWithTimeout(host, port, tv);
	}
	if (!c || c->err) {
		rn_fail(err, ECONNREFUSED, "bus: redis %s: %s", url,
		        c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return -1;
	}
	struct timeval reply = r->consumer ? (struct timeval){10, 0}
	                                   : (struct timeval){BUS_SEND_STALL_MS / 1000,
	                                                      (BUS_SEND_STALL_MS % 1000) * 1000};
	redisSetTimeout(c, reply);
	r->c = c;
	return 0;
}

/* Connected, or reconnect now. 0, or -1 with err (EAGAIN: try again later). */
static int ensure_connected(rbus *r, runnel_error *err)
{
	if (r->c)
		return 0;
	if (connect_url(r, err) < 0) {
		err->code = EAGAIN;
		return -1;
	}
	return 0;
}

#define REDIS_BACKLOG_MAX  4000 /* messages in the list */
#define REDIS_WAIT_STEP_MS 10
#define REDIS_WAIT_MAX_MS  500 /* per push: bounds how long one producer can lose the race */

/* LLEN of the list, or -1. */
static long long list_length(rbus *r)
{
	if (!r->c)
		return -1;
	const char *argv[2] = {"LLEN", r->queue};
	size_t lens[2] = {4, strlen(r->queue)};
	redisReply *rep = redisCommandArgv(r->c, 2, argv, lens);
	long long n = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
	if (rep)
		freeReplyObject(rep);
	else
		disconnect(r); /* broken: the next push reconnects */
	return n;
}

/* The list holds len messages: wait while it holds more than
 * REDIS_BACKLOG_MAX, up to REDIS_WAIT_MAX_MS. No low mark: producers waiting
 * together go on one by one as the receiver makes room, and the cap keeps
 * one that keeps losing that race from waiting long (it then spills). */
static void wait_for_receiver(rbus *r, long long len)
{
	for (int waited = 0; len > REDIS_BACKLOG_MAX && waited < REDIS_WAIT_MAX_MS;
	     waited += REDIS_WAIT_STEP_MS) {
		struct timespec ts = {0, REDIS_WAIT_STEP_MS * 1000000L};
		nanosleep(&ts, NULL);
		len = list_length(r);
		if (len < 0)
			return;
	}
}

/* Add one message to the queue. */
static void enqueue(rbus *r, const char *msg, size_t len)
{
	if (r->nq == r->capq) {
		r->capq = r->capq ? r->capq * 2 : 64;
		r->lens = rn_xrealloc(r->lens, sizeof *r->lens * r->capq);
	}
	rn_buf_append(&r->out, msg, len);
	r->lens[r->nq++] = len;
}

/* RPUSH what is queued in one command: each message is one element of the
 * list, in order. The queue is emptied only once Redis replied. */
static int rpush_all(rbus *r, runnel_error *err)
{
	size_t n = r->nq;
	if (!n)
		return 0;
	if (ensure_connected(r, err) < 0)
		return -1;
	const char **argv = rn_xmalloc(sizeof *argv * (n + 2));
	size_t *lens = rn_xmalloc(sizeof *lens * (n + 2));
	argv[0] = "RPUSH", lens[0] = 5;
	argv[1] = r->queue, lens[1] = strlen(r->queue);
	size_t off = 0;
	for (size_t i = 0; i < r->nq; i++) {
		argv[2 + i] = r->out.data + off;
		lens[2 + i] = r->lens[i];
		off += r->lens[i];
	}
	redisReply *rep = redisCommandArgv(r->c, (int)(n + 2), argv, lens);
	free(argv);
	free(lens);
	if (!rep || rep->type != REDIS_REPLY_INTEGER)
		return redis_fail(r, rep, err, "RPUSH");
	r->nq = 0;
	rn_buf_reset(&r->out);
	long long backlog = rep->integer;
	freeReplyObject(rep);
	if (backlog > REDIS_BACKLOG_MAX)
		wait_for_receiver(r, backlog);
	return 0;
}

/* RPUSH what is queued, then msg. */
static int redis_push(bus *b, const char *msg, size_t len, runnel_error *err)
{
	enqueue(b->impl, msg, len);
	return rpush_all(b->impl, err);
}

/* RPUSH what is queued. */
static int redis_flush(bus *b, runnel_error *err)
{
	return rpush_all(b->impl, err);
}

/* Queue one message; RPUSH once the queue is big. */
static int redis_queue(bus *b, const char *msg, size_t len, runnel_error *err)
{
	rbus *r = b->impl;
	enqueue(r, msg, len);
	if (r->out.len >= BUS_QUEUE_BYTES || r->nq >= BUS_QUEUE_MESSAGES)
		return rpush_all(r, err);
	return 0;
}

/* Drop what is queued; how many messages. */
static size_t redis_discard(bus *b)
{
	rbus *r = b->impl;
	size_t n = r->nq;
	r->nq = 0;
	rn_buf_reset(&r->out);
	return n;
}

/* Consumer: connected, or reconnect once the backoff allows (sleeping up to
 * timeout_ms for it). 0, or -1 with err. */
static int consumer_connect(rbus *r, int timeout_ms, runnel_error *err)
{
	if (r->c)
		return 0;
	long long now = mono_ms();
	if (now < r->next_try_ms) {
		long long wait = r->next_try_ms - now;
		if (wait > timeout_ms)
			wait = timeout_ms;
		struct timespec ts = {wait / 1000, (wait % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		if (mono_ms() < r->next_try_ms)
			return rn_fail(err, EAGAIN,
			               "bus: redis %s: not connected (next attempt in %lld ms)",
			               r->url, r->next_try_ms - mono_ms());
	}
	if (connect_url(r, err) < 0) {
		r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : 50;
		if (r->backoff_ms > BUS_RECONNECT_MAX_MS)
			r->backoff_ms = BUS_RECONNECT_MAX_MS;
		r->next_try_ms = mono_ms() + r->backoff_ms;
		err->code = EAGAIN;
		return -1;
	}
	r->backoff_ms = 0;
	r->backlog = true; /* whatever waits in the list: LPOP it at once */
	return 0;
}

/* LPOP up to count messages to fn (one round trip). How many, or -1. */
static long lpop_many(rbus *r, bus_message_fn fn, void *ud, long count, runnel_error *err)
{
	char cnt[32];
	snprintf(cnt, sizeof cnt, "%ld", count);
	const char *a2[3] = {"LPOP", r->queue, cnt};
	size_t l2[3] = {4, strlen(r->queue), strlen(cnt)};
	redisReply *rep = redisCommandArgv(r->c, 3, a2, l2);
	if (!rep)
		return redis_fail(r, NULL, err, "LPOP");
	long n = 0;
	if (rep->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < rep->elements; i++, n++)
			fn(rep->element[i]->str, rep->element[i]->len, ud);
	} else if (rep->type != REDIS_REPLY_NIL) {
		return redis_fail(r, rep, err, "LPOP");
	}
	freeReplyObject(rep);
	return n;
}

/* While there is a backlog, LPOP up to max in one round trip; otherwise
 * BLPOP one (waiting up to timeout_ms), then LPOP the rest in bulk. */
static long redis_receive(bus *b, bus_message_fn fn, void *ud, int timeout_ms, long max,
                          runnel_error *err)
{
	rbus *r = b->impl;
	if (max <= 0)
		max = 1000;
	if (consumer_connect(r, timeout_ms, err) < 0)
		return -1;
	if (r->backlog) {
		long n = lpop_many(r, fn, ud, max, err);
		r->backlog = n == max;
		if (n != 0)
			return n;
	}
	char tmo[32];
	snprintf(tmo, sizeof tmo, "%.3f", timeout_ms > 0 ? timeout_ms / 1000.0 : 0.001);
	const char *argv[3] = {"BLPOP", r->queue, tmo};
	size_t lens[3] = {5, strlen(r->queue), strlen(tmo)};
	redisReply *rep = redisCommandArgv(r->c, 3, argv, lens);
	if (!rep)
		return redis_fail(r, NULL, err, "BLPOP");
	if (rep->type == REDIS_REPLY_NIL) {
		freeReplyObject(rep);
		return 0;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
		return redis_fail(r, rep, err, "BLPOP");
	fn(rep->element[1]->str, rep->element[1]->len, ud);
	freeReplyObject(rep);
	long n = 1;
	if (n >= max)
		return n;
	long more = lpop_many(r, fn, ud, max - n, err);
	if (more < 0)
		return n; /* the one taken is handed over; the next call reconnects */
	r->backlog = more == max - n;
	return n + more;
}

static const bus_ops redis_ops = {redis_close, redis_push,  redis_receive,
                                  redis_queue, redis_flush, redis_discard};

/* Connect to the Redis of settings->redis_url. The first connection must
 * succeed (a wrong URL is an error now, not a retry forever). */
bus *bus_redis_open(const bus_settings *settings, bool consumer, runnel_error *err)
{
	rbus *r = calloc(1, sizeof *r);
	rn_buf_init(&r->out);
	r->consumer = consumer;
	snprintf(r->url, sizeof r->url, "%s",
	         settings && settings->redis_url ? settings->redis_url : "redis://127.0.0.1:6379");
	snprintf(r->queue, sizeof r->queue, "%s",
	         settings && settings->queue ? settings->queue : "callback_tasks");
	if (connect_url(r, err) < 0) {
		rn_buf_free(&r->out);
		free(r);
		return NULL;
	}
	bus *b = calloc(1, sizeof *b);
	b->ops = &redis_ops;
	b->impl = r;
	snprintf(b->backend, sizeof b->backend, "redis");
	return b;
}
