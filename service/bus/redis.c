/*
 * redis.c - the Redis bus: producers RPUSH the event JSON to the list
 * "callback_tasks", exactly as AWX's; the receiver takes it as a reliable
 * queue, so that a runneld killed between taking events and storing them
 * loses none:
 *
 *   take     BLMOVE callback_tasks -> its processing list (blocking up to the
 *            timeout), then LMOVE as many as the queue holds, up to the
 *            batch size, in one pipeline (LLEN goes with each take: while
 *            the queue holds more, the next take does not block);
 *   ack      once the batch holding them is stored: LTRIM the oldest n off
 *            the processing list (sent with the next take: no round trip
 *            of its own);
 *   connect  before taking anything, put whatever the processing list holds
 *            back at the head of the queue, in order (a script): what a
 *            killed predecessor had taken, or what this consumer had taken
 *            on a connection that broke. It is handed out again; the store
 *            skips the events it already has (unique job and counter).
 *
 * The processing list is "<queue>:processing:<host>:<consumer_id>" (runneld
 * passes its state dir, resolved: one runneld per state dir holds it).
 * Redis older than 6.2 has no (B)LMOVE: the receiver then takes with a
 * script (LRANGE + LTRIM + RPUSH, atomic), polling every 5..50 ms while the
 * queue is empty.
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
 * whose command failed reconnects on a later receive(), after a backoff that
 * doubles from 50 ms to BUS_RECONNECT_MAX_MS, and puts back what its
 * processing list still holds. What Redis held when it died is gone (it
 * keeps the lists in memory; what the receiver had taken is in its memory
 * and still stored): the job's accounting says so, not the bus (see
 * worker.c).
 */
#include "bus.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

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
	/* consumer: the queue's length as last seen (LLEN goes with every take):
	 * while it is > 0, take that many without blocking */
	long long remaining;
	char *processing; /* consumer: its processing list */
	bool requeue;     /* consumer: put the processing list back before taking */
	bool no_blmove;   /* consumer: Redis < 6.2, poll */
	long cur;         /* consumer: handed out on this connection and not acked: the
	                     processing list, in order */
	long old;         /* consumer: handed out on an earlier connection and not acked
	                     (put back on the queue: their acks are ignored) */
	long trim;        /* consumer: acked, to LTRIM off the processing list with the
	                     next command (one round trip for both) */
} rbus;

/* Close the connection. */
static void trim_now(rbus *r);
static void redis_close(bus *b)
{
	rbus *r = b->impl;
	if (r->nq && r->c) {
		runnel_error e;
		(void)b->ops->flush(b, &e);
	}
	trim_now(r);
	if (r->c)
		redisFree(r->c);
	rn_buf_free(&r->out);
	free(r->lens);
	free(r->processing);
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

/* Drop the connection (it is broken, or a reply did not come in time). A
 * consumer's messages not acked yet are put back on the queue by the next
 * connection (if Redis still has them): acks of them are then ignored. */
static void disconnect(rbus *r)
{
	if (r->c)
		redisFree(r->c);
	r->c = NULL;
	r->old += r->cur;
	r->cur = 0;
	r->trim = 0; /* acked: if Redis kept them they come again, stored once */
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

/* Connect to r->url (a consumer waits for replies as long as its BLMOVE
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
	r->requeue = r->consumer;
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
	r->remaining = 0; /* the put-back after connecting says */
	return 0;
}

/* Redis < 6.2 (no LMOVE): move up to ARGV[1] messages from the head of the
 * queue (KEYS[1]) to the tail of the processing list (KEYS[2]) and return
 * them, atomically. RPUSH in chunks: Lua's unpack() has a bounded stack.
 * (With LMOVE, pipelined LMOVEs cost Redis half the CPU of this.) */
static const char MOVE_SCRIPT[] =
    "local v = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)\n"
    "local n = #v\n"
    "if n > 0 then\n"
    "  redis.call('LTRIM', KEYS[1], n, -1)\n"
    "  for i = 1, n, 1000 do\n"
    "    redis.call('RPUSH', KEYS[2], unpack(v, i, math.min(i + 999, n)))\n"
    "  end\n"
    "end\n"
    "return v\n";

/* Put the processing list (KEYS[2]) back at the head of the queue (KEYS[1]),
 * in its order, atomically; how many, and the queue's length then. */
static const char REQUEUE_SCRIPT[] = "local v = redis.call('LRANGE', KEYS[2], 0, -1)\n"
                                     "for i = #v, 1, -1 do\n"
                                     "  redis.call('LPUSH', KEYS[1], v[i])\n"
                                     "end\n"
                                     "redis.call('DEL', KEYS[2])\n"
                                     "return {#v, redis.call('LLEN', KEYS[1])}\n";

/* Consumer: after a (re)connect, put back what the processing list holds
 * (see the top of the file). 0, or -1 with err. */
static int requeue(bus *b, rbus *r, runnel_error *err)
{
	const char *argv[5] = {"EVAL", REQUEUE_SCRIPT, "2", r->queue, r->processing};
	size_t lens[5] = {4, sizeof REQUEUE_SCRIPT - 1, 1, strlen(r->queue), strlen(r->processing)};
	redisReply *rep = redisCommandArgv(r->c, 5, argv, lens);
	if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER)
		return redis_fail(r, rep, err, "EVAL (put back the processing list)");
	b->requeued += (long)rep->element[0]->integer;
	r->remaining = rep->element[1]->integer;
	freeReplyObject(rep);
	r->requeue = false;
	return 0;
}

/* The arguments of the LTRIM that forgets r->trim acked messages (from
 * holds the number). */
static void trim_args(rbus *r, const char **argv, size_t *lens, char *from, size_t n)
{
	snprintf(from, n, "%ld", r->trim);
	argv[0] = "LTRIM", lens[0] = 5;
	argv[1] = r->processing, lens[1] = strlen(r->processing);
	argv[2] = from, lens[2] = strlen(from);
	argv[3] = "-1", lens[3] = 2;
}

/* Consumer: append the LTRIM of what was acked since the last command, to
 * go out with the next one (one round trip for both). True if appended:
 * its reply comes first. An LTRIM that fails with an error reply leaves
 * acked messages in the list (later LTRIMs remove no more than was acked:
 * never one not acked); a next consumer hands them again, stored once. */
static bool append_trim(rbus *r)
{
	if (r->trim <= 0)
		return false;
	const char *ta[4];
	size_t tl[4];
	char from[32];
	trim_args(r, ta, tl, from, sizeof from);
	r->trim = 0;
	return redisAppendCommandArgv(r->c, 4, ta, tl) == REDIS_OK;
}

/* The next reply, or NULL (the connection broke). */
static redisReply *next_reply(rbus *r)
{
	redisReply *rep = NULL;
	if (redisGetReply(r->c, (void **)&rep) != REDIS_OK)
		return NULL;
	return rep;
}

/* Consumer: send the pending LTRIM now (closing). */
static void trim_now(rbus *r)
{
	if (!r->consumer || !r->c || !append_trim(r))
		return;
	redisReply *t = next_reply(r);
	if (t)
		freeReplyObject(t);
}

/* True if rep says the command does not exist (Redis < 6.2: no LMOVE). */
static bool unknown_command(const redisReply *rep)
{
	return rep && rep->type == REDIS_REPLY_ERROR &&
	       !strncasecmp(rep->str, "ERR unknown command", 19);
}

/* Send what was appended after the pending LTRIM (if trim): read and drop
 * the LTRIM's reply. 0, or -1 (the connection broke). */
static int skip_trim_reply(rbus *r, bool trim)
{
	if (!trim)
		return 0;
	redisReply *t = next_reply(r);
	if (!t)
		return -1;
	freeReplyObject(t);
	return 0;
}

/* Take up to k messages: k LMOVEs (queue head -> processing list tail) in
 * one pipeline, with the pending LTRIM first and LLEN last; hand the moved
 * ones to fn, in order. How many (0: none, or LMOVE is unknown: then
 * r->no_blmove), or -1 with err (if some were handed before the connection
 * broke, how many: the next call reconnects). */
static long lmove_many(rbus *r, bus_message_fn fn, void *ud, long k, runnel_error *err)
{
	const char *mv[5] = {"LMOVE", r->queue, r->processing, "LEFT", "RIGHT"};
	size_t ml[5] = {5, strlen(r->queue), strlen(r->processing), 4, 5};
	const char *ln[2] = {"LLEN", r->queue};
	size_t ll[2] = {4, strlen(r->queue)};
	bool trim = append_trim(r);
	for (long i = 0; i < k; i++)
		redisAppendCommandArgv(r->c, 5, mv, ml);
	redisAppendCommandArgv(r->c, 2, ln, ll);
	if (skip_trim_reply(r, trim) < 0)
		return redis_fail(r, NULL, err, "LTRIM (ack)");
	long n = 0;
	redisReply *bad = NULL;
	for (long i = 0; i < k; i++) {
		redisReply *rep = next_reply(r);
		if (!rep) {
			freeReplyObject(bad);
			long got = n;
			redis_fail(r, NULL, err, "LMOVE");
			return got ? got : -1;
		}
		if (rep->type == REDIS_REPLY_STRING) {
			fn(rep->str, rep->len, ud);
			n++;
			r->cur++;
		} else if (rep->type != REDIS_REPLY_NIL && !bad) {
			bad = rep; /* the first error; the other replies are read all the same */
			continue;
		}
		freeReplyObject(rep);
	}
	redisReply *len = next_reply(r);
	if (!len) {
		freeReplyObject(bad);
		redis_fail(r, NULL, err, "LLEN");
		return n ? n : -1;
	}
	r->remaining = len->type == REDIS_REPLY_INTEGER ? len->integer : 0;
	freeReplyObject(len);
	if (bad && unknown_command(bad)) {
		freeReplyObject(bad);
		r->no_blmove = true;
		return n;
	}
	if (bad && !n)
		return redis_fail(r, bad, err, "LMOVE");
	freeReplyObject(bad); /* what was moved is handed; the error comes again */
	return n;
}

/* Hand the messages of an array reply to fn; how many. */
static long hand_array(rbus *r, redisReply *rep, bus_message_fn fn, void *ud)
{
	long n = 0;
	for (size_t i = 0; i < rep->elements; i++) {
		redisReply *m = rep->element[i];
		if (m->type != REDIS_REPLY_STRING)
			continue; /* cannot be: the list holds strings */
		fn(m->str, m->len, ud);
		n++;
	}
	r->cur += n;
	return n;
}

/* Redis < 6.2: move up to count messages with the script and hand them to
 * fn (one round trip, with the pending LTRIM). How many, or -1 with err. */
static long move_script(rbus *r, bus_message_fn fn, void *ud, long count, runnel_error *err)
{
	char cnt[32];
	snprintf(cnt, sizeof cnt, "%ld", count);
	const char *argv[6] = {"EVAL", MOVE_SCRIPT, "2", r->queue, r->processing, cnt};
	size_t lens[6] = {
	    4, sizeof MOVE_SCRIPT - 1, 1, strlen(r->queue), strlen(r->processing), strlen(cnt)};
	bool trim = append_trim(r);
	redisAppendCommandArgv(r->c, 6, argv, lens);
	if (skip_trim_reply(r, trim) < 0)
		return redis_fail(r, NULL, err, "LTRIM (ack)");
	redisReply *rep = next_reply(r);
	if (!rep)
		return redis_fail(r, NULL, err, "EVAL (take)");
	long n = 0;
	if (rep->type == REDIS_REPLY_ARRAY)
		n = hand_array(r, rep, fn, ud);
	else if (rep->type != REDIS_REPLY_NIL)
		return redis_fail(r, rep, err, "EVAL (take)");
	freeReplyObject(rep);
	return n;
}

/* Redis < 6.2 (no BLMOVE): take with the script, polling every 5..50 ms
 * while the queue is empty, up to timeout_ms. */
static long poll_many(rbus *r, bus_message_fn fn, void *ud, int timeout_ms, long max,
                      runnel_error *err)
{
	long long end = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	long step = 5;
	for (;;) {
		long n = move_script(r, fn, ud, max, err);
		if (n != 0)
			return n;
		long long left = end - mono_ms();
		if (left <= 0)
			return 0;
		long pause = step < left ? step : (long)left;
		struct timespec ts = {pause / 1000, (pause % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		step = step * 2 > 50 ? 50 : step * 2;
	}
}

/* Take messages: while the queue holds some (as last seen), LMOVE that
 * many, up to max, in one pipeline; otherwise BLMOVE one (waiting up to
 * timeout_ms), then LMOVE what the queue holds beyond it. Everything handed
 * out waits in the processing list for its ack. */
static long redis_receive(bus *b, bus_message_fn fn, void *ud, int timeout_ms, long max,
                          runnel_error *err)
{
	rbus *r = b->impl;
	if (max <= 0)
		max = 1000;
	if (consumer_connect(r, timeout_ms, err) < 0)
		return -1;
	if (r->requeue && requeue(b, r, err) < 0)
		return -1;
	if (!r->no_blmove && r->remaining > 0) {
		long n = lmove_many(r, fn, ud, r->remaining < max ? (long)r->remaining : max, err);
		if (n != 0)
			return n;
	}
	if (r->no_blmove)
		return poll_many(r, fn, ud, timeout_ms, max, err);
	char tmo[32];
	snprintf(tmo, sizeof tmo, "%.3f", timeout_ms > 0 ? timeout_ms / 1000.0 : 0.001);
	const char *argv[6] = {"BLMOVE", r->queue, r->processing, "LEFT", "RIGHT", tmo};
	size_t lens[6] = {6, strlen(r->queue), strlen(r->processing), 4, 5, strlen(tmo)};
	const char *ln[2] = {"LLEN", r->queue};
	size_t ll[2] = {4, strlen(r->queue)};
	bool trim = append_trim(r);
	redisAppendCommandArgv(r->c, 6, argv, lens);
	redisAppendCommandArgv(r->c, 2, ln, ll);
	if (skip_trim_reply(r, trim) < 0)
		return redis_fail(r, NULL, err, "LTRIM (ack)");
	redisReply *rep = next_reply(r);
	if (!rep)
		return redis_fail(r, NULL, err, "BLMOVE");
	redisReply *len = next_reply(r);
	if (!len) {
		freeReplyObject(rep);
		return redis_fail(r, NULL, err, "LLEN");
	}
	r->remaining = len->type == REDIS_REPLY_INTEGER ? len->integer : 0;
	freeReplyObject(len);
	if (unknown_command(rep)) {
		freeReplyObject(rep);
		r->no_blmove = true; /* Redis < 6.2 */
		return poll_many(r, fn, ud, timeout_ms, max, err);
	}
	if (rep->type == REDIS_REPLY_NIL) {
		freeReplyObject(rep);
		return 0;
	}
	if (rep->type != REDIS_REPLY_STRING)
		return redis_fail(r, rep, err, "BLMOVE");
	fn(rep->str, rep->len, ud);
	r->cur++;
	freeReplyObject(rep);
	long n = 1;
	if (n >= max || r->remaining <= 0)
		return n;
	long more =
	    lmove_many(r, fn, ud, r->remaining < max - n ? (long)r->remaining : max - n, err);
	return more < 0 ? n : n + more; /* on -1 the next call reconnects */
}

/* Consumer: forget the oldest n messages handed out: LTRIM them off the
 * processing list with the next command (receive() comes next: no round
 * trip of its own) or at close. Acks of messages handed out on an earlier
 * connection are ignored (they were put back on the queue). */
static int redis_ack(bus *b, long n, runnel_error *err)
{
	rbus *r = b->impl;
	(void)err;
	long k = n < r->old ? n : r->old;
	r->old -= k;
	n -= k;
	if (n > r->cur)
		n = r->cur;
	if (n <= 0)
		return 0;
	r->cur -= n;
	r->trim += n;
	return 0;
}

static const bus_ops redis_ops = {redis_close, redis_push,    redis_receive, redis_queue,
                                  redis_flush, redis_discard, redis_ack};

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
	if (consumer) {
		/* the same name across restarts: the host, the consumer id (a path
		 * resolved, so that "state" and "./state" are one list) */
		const char *id = settings && settings->consumer_id ? settings->consumer_id : "0";
		char host[256] = "";
		if (gethostname(host, sizeof host - 1) != 0)
			snprintf(host, sizeof host, "localhost");
		char *real = realpath(id, NULL);
		r->processing =
		    rn_xasprintf("%s:processing:%s:%s", r->queue, host, real ? real : id);
		free(real);
	}
	if (connect_url(r, err) < 0) {
		rn_buf_free(&r->out);
		free(r->processing);
		free(r);
		return NULL;
	}
	bus *b = calloc(1, sizeof *b);
	b->ops = &redis_ops;
	b->impl = r;
	snprintf(b->backend, sizeof b->backend, "redis");
	return b;
}
