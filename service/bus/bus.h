/*
 * bus.h - the event bus seam: job workers push events (one JSON object per
 * message), the callback receiver takes them off. One struct of function
 * pointers, one file per backend:
 *
 *   local  (default) a unix stream socket under the state dir: each worker
 *          connects and writes newline-delimited JSON; the receiver accepts
 *          and reads. Nothing to set up.
 *   redis  producers exactly as AWX: RPUSH to the list "callback_tasks"
 *          (one RPUSH may carry several events: each is one list element,
 *          as AWX leaves them). The receiver takes them as a reliable
 *          queue: each message is moved atomically into a processing list
 *          of its own (BLMOVE, then a script moving many at once) and
 *          removed from it only when ack() says it was stored.
 *
 * Back-pressure, not loss: push() returns once the message is handed to the
 * bus (the socket buffer or Redis). When the receiver falls behind, a local
 * push blocks in write() until it reads again; Redis buffers in its own
 * memory. No message is ever dropped by the bus.
 *
 * Faults: a producer whose send fails (the bus is down, the connection
 * broke, a signal came, the bus stayed full for BUS_SEND_STALL_MS) gets -1
 * with err and KEEPS every message it had queued: the next flush()
 * reconnects if need be and sends them again, from the first one not known
 * to be delivered (a message may then arrive twice; the store keeps one per
 * (job, counter)). How long to keep trying is the caller's decision; it
 * drops what it gave up on with discard(). A consumer whose connection
 * broke reconnects by itself on a later receive() (-1 with err meanwhile,
 * with a backoff of up to BUS_RECONNECT_MAX_MS between attempts).
 *
 * Acknowledgement (at least once): a consumer's receive() hands out
 * messages; ack(n) says that the oldest n handed out and not acked yet are
 * done with (stored, or refused for good): the bus may forget them. Acks
 * come in the order the messages were handed (the receiver stores batches
 * in order). A message handed out but never acked (runneld was killed
 * between receive() and the store's commit, or a batch was given up on at
 * stop) is handed out again: Redis keeps it in the consumer's processing
 * list "<queue>:processing:<host>:<consumer_id>", and the next consumer of
 * that name (runneld restarted on the same state dir: one runneld per state
 * dir, so one consumer per list) puts it back at the head of the queue,
 * in order, before it takes anything; a consumer that reconnected does the
 * same with what it had taken on the broken connection (and its later acks
 * of those are ignored). A message may thus be handed twice; the store
 * keeps one per (job, counter). The local bus acks trivially: what is in
 * runneld's socket when it dies is lost there, and the job says so.
 *
 * A bus handle is used by one thread at a time (receive() and ack() from
 * the same thread). Errors are values (runnel_error).
 */
#ifndef RUNNELD_BUS_H
#define RUNNELD_BUS_H

#include <stdbool.h>
#include <stddef.h>

#include "runnel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bus bus;

/* Called by receive() for each message (JSON text, not NUL-terminated in
 * general; len bytes, borrowed until it returns). Return 0 to go on. */
typedef int (*bus_message_fn)(const char *msg, size_t len, void *userdata);

typedef struct bus_ops {
	/* Close and free the handle. */
	void (*close)(bus *b);
	/* Producer: send what is queued, then one message (no newline inside).
	 * Blocks while the bus is full. 0, or -1 with err: msg and the queue
	 * are kept in the handle (see Faults above). */
	int (*push)(bus *b, const char *msg, size_t len, runnel_error *err);
	/* Consumer: wait up to timeout_ms for messages and hand up to max of
	 * them to fn. Returns how many were handed (0 on timeout), or -1 with err. */
	long (*receive)(bus *b, bus_message_fn fn, void *userdata, int timeout_ms, long max,
	                runnel_error *err);
	/* Producer: queue one message in the handle (no system call); it goes
	 * out with the next flush() or push(), or once the handle holds
	 * BUS_QUEUE_BYTES / BUS_QUEUE_MESSAGES (then it blocks as push does).
	 * Order is kept: queued messages go before a later push(). The worker
	 * flushes whenever the runner wakes up (at least every 100 ms), so one
	 * read of ansible's output costs one write (local) or one RPUSH of many
	 * values (redis) instead of one per event. 0, or -1 with err (the
	 * message is queued all the same: a later flush() sends it). */
	int (*queue)(bus *b, const char *msg, size_t len, runnel_error *err);
	/* Producer: send what is queued. 0, or -1 with err (kept queued). */
	int (*flush)(bus *b, runnel_error *err);
	/* Producer: drop what is queued (the caller gave up on it); returns how
	 * many messages were dropped. */
	size_t (*discard)(bus *b);
	/* Consumer: the oldest n messages handed out by receive() and not
	 * acked yet are done with (see Acknowledgement above). The bus may
	 * forget them with its next receive() or at close (Redis: the LTRIM
	 * goes with the next command). 0, or -1 with err. */
	int (*ack)(bus *b, long n, runnel_error *err);
} bus_ops;

#define BUS_QUEUE_BYTES    (256 * 1024)
#define BUS_QUEUE_MESSAGES 1000
/* A producer send that makes no progress this long returns -1 (ETIMEDOUT:
 * it waited already; EAGAIN: the connection broke, try again after a
 * pause; EINTR: a signal), so that its caller can count how long the bus
 * is stuck, and cancel. */
#define BUS_SEND_STALL_MS 1000
/* Longest pause between two reconnect attempts of a consumer. */
#define BUS_RECONNECT_MAX_MS 2000

struct bus {
	const bus_ops *ops;
	void *impl;
	char backend[16];
	/* consumer: messages found un-acked in its processing list at a
	 * (re)connect and put back on the queue so far (the receiver logs it) */
	long requeued;
};

/* How to reach the bus. Zero-initialize. */
typedef struct bus_settings {
	const char *backend;     /* "local" (default) or "redis" */
	const char *socket_path; /* local: the unix socket (required) */
	const char *redis_url;   /* redis: "redis://HOST:PORT" or "unix:///PATH"; default
	                            redis://127.0.0.1:6379 */
	const char *queue;       /* redis: the list; default "callback_tasks" */
	const char *consumer_id; /* redis consumer: names its processing list, the same
	                            across restarts (runneld: its state dir; default "0") */
} bus_settings;

/* A producer handle (a job worker's end). NULL with err. */
bus *bus_open_producer(const bus_settings *settings, runnel_error *err);
/* A consumer handle (the callback receiver's end); local: binds the socket
 * (replacing a stale one). NULL with err. */
bus *bus_open_consumer(const bus_settings *settings, runnel_error *err);

/* The backends. */
bus *bus_local_open(const bus_settings *settings, bool consumer, runnel_error *err);
bus *bus_redis_open(const bus_settings *settings, bool consumer, runnel_error *err);

static inline void bus_close(bus *b)
{
	if (b)
		b->ops->close(b);
}
static inline int bus_push(bus *b, const char *m, size_t n, runnel_error *e)
{
	return b->ops->push(b, m, n, e);
}
static inline int bus_queue(bus *b, const char *m, size_t n, runnel_error *e)
{
	return b->ops->queue(b, m, n, e);
}
static inline int bus_flush(bus *b, runnel_error *e)
{
	return b->ops->flush(b, e);
}
static inline size_t bus_discard(bus *b)
{
	return b->ops->discard(b);
}
static inline int bus_ack(bus *b, long n, runnel_error *e)
{
	return n > 0 ? b->ops->ack(b, n, e) : 0;
}
static inline long bus_receive(bus *b, bus_message_fn fn, void *ud, int t, long max,
                               runnel_error *e)
{
	return b->ops->receive(b, fn, ud, t, max, e);
}

#ifdef __cplusplus
}
#endif
#endif
