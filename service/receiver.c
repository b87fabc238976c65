/*
 * receiver.c - the callback receiver (AWX's CallbackBrokerWorker): takes
 * events off the bus and stores them in batches, one transaction per batch.
 *
 * Two threads, so that reading the bus and writing the store overlap:
 *
 *   rn-receiver  reads the bus, checks each message and reads it into a row
 *                (store_event_batch_add: one pass over the text), and hands
 *                the batch over;
 *   rn-store     stores the batch it was handed (the store derives host
 *                summaries and parent flags, skips duplicates, retries a
 *                failed batch one by one), then applies its EOFs.
 *
 * A batch is handed over when it holds receiver_batch events (1000) or
 * receiver_flush_ms (1 s) passed, as AWX flushes — and also as soon as the
 * storing thread is idle: under a light load every event is stored at once,
 * under a heavy one batches grow while the store is busy. There are two
 * batches, one filling and one storing: memory stays bounded.
 *
 * The EOF control event {"event": "EOF", "final_counter": N, "<type>_id": id}
 * hands its batch over at once; once the events before it are stored, N is
 * recorded as the job's emitted_events, so event_processing_finished (job
 * done and stored == emitted) turns true as soon as the last event is stored.
 *
 * Producers are never blocked by the store here for short stalls: the bus
 * buffers (socket buffers, or Redis). If the store is slower than the
 * producers for long, the reading thread waits for the storing one, the
 * local bus then pushes back on the workers (it never drops); Redis keeps
 * the backlog.
 *
 * Acknowledgement: every message a batch took off the bus is acked
 * (bus_ack) once the batch is stored and its EOFs applied: on the Redis bus
 * it waits in the receiver's processing list until then, so a runneld
 * killed between taking events and committing them loses none: the next
 * runneld puts them back on the queue at start and stores them (the store
 * skips those it already has). Batches are stored in order, so acks are a
 * count. The reading thread acks (a bus handle is used by one thread): it
 * acks what the storing thread finished each time round its loop.
 *
 * Faults. A batch is never dropped on the floor: when the store fails in a
 * way that may pass (disk full, I/O error, lock: EAGAIN from the store),
 * the storing thread keeps the batch and tries it again, backing off from
 * 50 ms to 2 s, for as long as it takes (the bus holds what comes
 * meanwhile, and the producers wait); only when runneld stops does it give
 * up after RX_STOP_RETRY_MS, saying so in the log, and acks nothing from
 * then on (on Redis the next runneld stores those events). An event the store
 * refuses for itself is logged; the job's worker counts it missing (it
 * compares what it emitted with what was stored, see worker.c). A bus
 * whose connection broke (Redis restarted) is read again once it is back:
 * the backend reconnects; here the first failure and the recovery are
 * logged, not every retry.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "engine_internal.h"
#include "model.h"
#include "util.h"

/* A batch on its way: rows, then the EOF control events that came after them. */
typedef struct rx_batch {
	store_event_batch rows;
	json_t *eofs;
	long msgs; /* messages it took off the bus (events, EOFs, bad ones): to ack */
} rx_batch;

typedef struct rx {
	engine *e;
	rx_batch slots[2];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	rx_batch *full;         /* handed to the storing thread; NULL once it took and stored it */
	bool storing;           /* the storing thread has a batch in hand */
	bool done;              /* the reading thread stopped: store what is left, then end */
	long long stop_seen_ms; /* the storing thread: when it first saw runneld stopping */
	long bad;               /* messages that were not events */
	long finished;          /* messages of the batches stored so far, in order */
	bool gave_up;           /* a batch was given up on (stopping): ack nothing more */
} rx;

/* How long the storing thread keeps trying a failing batch once runneld is
 * stopping. */
#define RX_STOP_RETRY_MS 5000
#define RX_RETRY_MIN_MS  50
#define RX_RETRY_MAX_MS  2000

/* The EOF control event msg is, or NULL. EOFs are small: anything longer is
 * an event and skips the parse. */
static json_t *as_eof(const char *msg, size_t len)
{
	if (len > 512 || !memmem(msg, len, "\"EOF\"", 5))
		return NULL;
	json_t *ev = json_loadb(msg, len, 0, NULL);
	const char *name = json_string_value(json_object_get(ev, "event"));
	if (name && !strcmp(name, "EOF"))
		return ev;
	json_decref(ev);
	return NULL;
}

/* Messages in a batch (events and EOFs). */
static size_t batch_held(const rx_batch *b)
{
	return b->rows.n + json_array_size(b->eofs);
}

/* What on_message fills. */
typedef struct rx_fill {
	rx *r;
	rx_batch *b;
} rx_fill;

/* Take one message off the bus into the batch being filled. */
static int on_message(const char *msg, size_t len, void *ud)
{
	rx_fill *f = ud;
	rx *r = f->r;
	rx_batch *b = f->b;
	b->msgs++;
	json_t *eof = as_eof(msg, len);
	if (eof) {
		json_array_append_new(b->eofs, eof);
		return 0;
	}
	runnel_error err;
	if (!store_event_batch_add(&b->rows, msg, len, &err)) {
		r->bad++;
		if ((r->bad & (r->bad - 1)) == 0) /* the 1st, 2nd, 4th, ... */
			engine_log(r->e, "receiver: message %ld not stored (%zu bytes): %s", r->bad,
			           len, err.message);
	}
	return 0;
}

/* Monotonic milliseconds. */
static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A store call failed in a way that may pass: wait before the next try
 * (*pause_ms doubles up to RX_RETRY_MAX_MS). False once runneld has been
 * stopping for RX_STOP_RETRY_MS (all batches together): give up. */
static bool retry_after(rx *r, int *pause_ms)
{
	pthread_mutex_lock(&r->mu);
	bool stopping = r->done;
	pthread_mutex_unlock(&r->mu);
	pthread_mutex_lock(&r->e->mu);
	stopping = stopping || r->e->receiver_stop;
	pthread_mutex_unlock(&r->e->mu);
	if (stopping && !r->stop_seen_ms)
		r->stop_seen_ms = now_ms();
	if (stopping && now_ms() - r->stop_seen_ms >= RX_STOP_RETRY_MS)
		return false;
	struct timespec ts = {*pause_ms / 1000, (*pause_ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	*pause_ms = *pause_ms * 2 > RX_RETRY_MAX_MS ? RX_RETRY_MAX_MS : *pause_ms * 2;
	return true;
}

/* Store the rows of b, trying again while the store fails in a way that may
 * pass (the rows stay in hand: nothing is dropped). False if it gave up
 * (runneld is stopping): the rows are not stored. */
static bool store_rows(rx *r, rx_batch *b)
{
	engine *e = r->e;
	int pause = RX_RETRY_MIN_MS;
	long tries = 0;
	for (;;) {
		long stored = 0, dropped = 0;
		runnel_error err = {0};
		int rc = store_events_insert_rows(e->events_st, b->rows.rows, b->rows.n, &stored,
		                                  &dropped, &err);
		if (rc == 0 || err.code != EAGAIN) {
			if (rc < 0 || dropped)
				engine_log(e, "receiver: %ld of %zu events not stored: %s",
				           rc < 0 ? (long)b->rows.n - stored : dropped, b->rows.n,
				           err.message);
			if (tries)
				engine_log(
				    e, "receiver: a batch of %zu events stored after %ld retries",
				    b->rows.n, tries);
			return true;
		}
		/* the store may recover (space freed, lock released): keep the batch */
		tries++;
		if ((tries & (tries - 1)) == 0) /* the 1st, 2nd, 4th, ... */
			engine_log(e, "receiver: storing %zu events failed (try %ld, retrying): %s",
			           b->rows.n, tries, err.message);
		if (!retry_after(r, &pause)) {
			engine_log(e,
			           "receiver: stopping: %zu events not stored after %ld tries: %s "
			           "(not acked: on a Redis bus the next runneld stores them; "
			           "otherwise their jobs' records say they are missing)",
			           b->rows.n, tries, err.message);
			return false;
		}
	}
}

/* Record an EOF: N is the job's emitted_events (tried again while the store
 * fails, as store_rows). False if it gave up (runneld is stopping). */
static bool apply_eof(rx *r, json_t *ev)
{
	engine *e = r->e;
	long id = model_event_job_id(ev);
	json_t *fc = json_object_get(ev, "final_counter");
	if (!id || !json_is_integer(fc))
		return true;
	json_t *f = json_pack("{s:O}", "emitted_events", fc);
	bool done = true;
	int pause = RX_RETRY_MIN_MS;
	for (;;) {
		runnel_error err = {0};
		json_t *o =
		    store_update(e->events_st, STORE_UNIFIED_JOB, id, f, STORE_SYSTEM, &err);
		if (o) {
			engine_log(
			    e, "job %ld: events received (final_counter %lld, stored %lld)", id,
			    (long long)json_integer_value(fc),
			    (long long)json_integer_value(json_object_get(o, "stored_events")));
			json_decref(o);
			break;
		}
		if (err.code == ENOENT || err.code == EINVAL) {
			engine_log(e, "receiver: job %ld: EOF: %s", id, err.message);
			break;
		}
		if (!retry_after(r, &pause)) {
			engine_log(e, "receiver: job %ld: EOF not recorded (stopping): %s", id,
			           err.message);
			done = false;
			break;
		}
	}
	json_decref(f);
	return done;
}

/* Store a batch, then apply the EOFs it carried (the storing thread); count
 * its messages as finished, unless it (or one before it) was given up on. */
static void store_batch(rx *r, rx_batch *b)
{
	bool done = true;
	if (b->rows.n)
		done = store_rows(r, b);
	size_t i;
	json_t *ev;
	json_array_foreach(b->eofs, i, ev)
		done = apply_eof(r, ev) && done;
	json_array_clear(b->eofs);
	store_event_batch_reset(&b->rows);
	pthread_mutex_lock(&r->mu);
	if (!done)
		r->gave_up = true;
	if (!r->gave_up)
		r->finished += b->msgs;
	pthread_mutex_unlock(&r->mu);
	b->msgs = 0;
}

/* Ack what the storing thread finished since the last call (the reading
 * thread: the one that uses the bus handle). */
static void ack_finished(rx *r, long *acked)
{
	pthread_mutex_lock(&r->mu);
	long n = r->finished - *acked;
	pthread_mutex_unlock(&r->mu);
	if (n <= 0)
		return;
	*acked += n;
	runnel_error err;
	if (bus_ack(r->e->consumer, n, &err) < 0)
		engine_log(r->e,
		           "receiver: ack of %ld stored messages: %s (they come again: "
		           "stored once)",
		           n, err.message);
}

/* The storing thread. */
static void *storer_main(void *arg)
{
	rx *r = arg;
	prctl(PR_SET_NAME, "rn-store");
	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->full && !r->done)
			pthread_cond_wait(&r->cv, &r->mu);
		if (!r->full)
			break;
		rx_batch *b = r->full;
		r->storing = true;
		pthread_mutex_unlock(&r->mu);
		store_batch(r, b);
		engine_events_stored(r->e); /* wake the web page's streams */
		pthread_mutex_lock(&r->mu);
		r->full = NULL;
		r->storing = false;
		pthread_cond_broadcast(&r->cv);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Hand b to the storing thread (waiting while it stores the other batch);
 * returns the batch to fill next. */
static rx_batch *hand_over(rx *r, rx_batch *b)
{
	pthread_mutex_lock(&r->mu);
	while (r->full)
		pthread_cond_wait(&r->cv, &r->mu);
	r->full = b;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return b == &r->slots[0] ? &r->slots[1] : &r->slots[0];
}

/* True if the storing thread has nothing in hand. */
static bool storer_idle(rx *r)
{
	pthread_mutex_lock(&r->mu);
	bool idle = !r->full && !r->storing;
	pthread_mutex_unlock(&r->mu);
	return idle;
}

/* The reading thread (the engine starts it; it starts the storing one). */
void *receiver_main(void *arg)
{
	engine *e = arg;
	prctl(PR_SET_NAME, "rn-receiver"); /* as top -H and perf show it */
	rx r = {.e = e};
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	for (int i = 0; i < 2; i++) {
		store_event_batch_init(&r.slots[i].rows);
		r.slots[i].eofs = json_array();
	}
	pthread_t storer;
	bool threaded = pthread_create(&storer, NULL, storer_main, &r) == 0;
	if (!threaded)
		engine_log(e, "receiver: no storing thread (%s): reading and storing in turn",
		           strerror(errno));
	rx_batch *b = &r.slots[0];
	long long first = 0; /* when the oldest event of b came */
	int idle_after_stop = 0;
	long bus_errors = 0;          /* receive() failures in a row */
	long long bus_down_since = 0; /* when the first of them came */
	long acked = 0;               /* messages acked so far */
	long requeued = 0;            /* e->consumer->requeued logged so far */
	for (;;) {
		pthread_mutex_lock(&e->mu);
		bool stop = e->receiver_stop;
		pthread_mutex_unlock(&e->mu);
		ack_finished(&r, &acked);
		size_t held = batch_held(b);
		/* wait for messages: long when there is nothing to hand over, in
		 * short steps while a batch waits for the storing thread */
		int wait = held ? 5 : 200;
		long room = e->s.receiver_batch - (long)b->rows.n;
		rx_fill fill = {&r, b};
		runnel_error err;
		long n =
		    bus_receive(e->consumer, on_message, &fill, wait, room > 0 ? room : 1, &err);
		if (n < 0) {
			/* the bus backend reconnects (backing off) on the next call */
			if (!bus_errors++)
				bus_down_since = now_ms();
			if ((bus_errors & (bus_errors - 1)) == 0)
				engine_log(e, "receiver: bus error %ld (reconnecting): %s",
				           bus_errors, err.message);
			if (err.code != EAGAIN) {
				struct timespec ts = {0, 200 * 1000000};
				nanosleep(&ts, NULL);
			}
		} else if (bus_errors) {
			engine_log(e, "receiver: the bus is back after %.1f s (%ld errors)",
			           (now_ms() - bus_down_since) / 1000.0, bus_errors);
			bus_errors = 0;
		}
		if (e->consumer->requeued != requeued) {
			engine_log(e,
			           "receiver: %ld messages taken off the bus but not acked (by a "
			           "runneld killed before it stored them, or before a reconnect) "
			           "were put back on it: stored now, once each",
			           e->consumer->requeued - requeued);
			requeued = e->consumer->requeued;
		}
		long long t = now_ms();
		if (!held && batch_held(b))
			first = t;
		held = batch_held(b);
		if (held && ((long)b->rows.n >= e->s.receiver_batch || json_array_size(b->eofs) ||
		             t - first >= e->s.receiver_flush_ms || !threaded || storer_idle(&r))) {
			if (threaded) {
				b = hand_over(&r, b);
			} else {
				store_batch(&r, b);
				ack_finished(&r, &acked);
			}
		}
		if (stop) {
			/* drain: stop after the bus stayed quiet for a few rounds */
			idle_after_stop = n > 0 ? 0 : idle_after_stop + 1;
			if (idle_after_stop >= 3 && !batch_held(b))
				break;
		}
	}
	if (threaded) {
		pthread_mutex_lock(&r.mu);
		r.done = true;
		pthread_cond_broadcast(&r.cv);
		pthread_mutex_unlock(&r.mu);
		pthread_join(storer, NULL);
	}
	ack_finished(&r, &acked);
	for (int i = 0; i < 2; i++) {
		store_event_batch_free(&r.slots[i].rows);
		json_decref(r.slots[i].eofs);
	}
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.mu);
	return NULL;
}
