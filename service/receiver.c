/*
 * receiver.c - the callback receiver (AWX's CallbackBrokerWorker): takes
 * events off the bus and stores them in batches, one transaction per batch.
 *
 * Threads, so that reading the bus and writing the store overlap:
 *
 *   rn-receiver  reads the bus, checks each message and reads it into a row
 *                (store_event_batch_add: one pass over the text), and hands
 *                the batch over;
 *   rn-store     stores a batch it was handed (the store derives host
 *                summaries and parent flags, skips duplicates, retries a
 *                failed batch one by one), then applies its EOFs.
 *
 * There are as many storing threads as the store has event writers
 * (store.h: one for SQLite, whose writes take one lock; more for
 * PostgreSQL, where each batch is COPYed on a connection of its own, as
 * AWX runs several callback receiver workers). Batches are handed over in
 * order and may be stored side by side, with one exception: a barrier
 * batch (one holding EOFs, or an event the store reads whole, such as
 * playbook_on_stats, whose host summaries and parent flags need the job's
 * earlier events stored) waits until every batch before it is stored.
 *
 * A batch is handed over when it holds receiver_batch events (1000) or
 * receiver_flush_ms (1 s) passed, as AWX flushes — and also as soon as a
 * storing thread is idle: under a light load every event is stored at once,
 * under a heavy one batches grow while the store is busy. The batches are
 * a fixed set of slots: one filling and one storing with one storing thread
 * (SQLite), 2 * writers + 1 with more (one queued behind each that is
 * stored, so a thread that finishes finds work): memory stays bounded.
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
 * skips those it already has). Batches finish in the order they were
 * handed over (one stored early waits for those before it), so acks are a
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

/* Where a batch is: the reading thread fills it, hands it over (queued),
 * a storing thread stores it, and once every batch before it is done too
 * it is free again. */
typedef enum rx_state { RX_FREE, RX_FILLING, RX_QUEUED, RX_STORING, RX_STORED } rx_state;

/* A batch on its way: rows, then the EOF control events that came after them. */
typedef struct rx_batch {
	store_event_batch rows;
	json_t *eofs;
	long msgs;    /* messages it took off the bus (events, EOFs, bad ones): to ack */
	long seq;     /* its place in the hand-over order */
	bool barrier; /* stored only after every batch before it (see the top) */
	bool kept;    /* stored (false: given up on, runneld stopping) */
	rx_state state;
} rx_batch;

/* At most this many storing threads, whatever the store says. */
#define RX_WRITERS_MAX 4

typedef struct rx {
	engine *e;
	rx_batch slots[2 * RX_WRITERS_MAX + 1];
	int nslots;  /* 2 * writers + 1 (1 for SQLite: one filling, one storing) */
	int writers; /* storing threads running */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long next_seq;          /* seq of the next batch handed over */
	long done_seq;          /* every batch before this seq is stored (or given up) */
	int storing;            /* batches in a storing thread's hand */
	bool done;              /* the reading thread stopped: store what is left, then end */
	long long stop_seen_ms; /* when a storing thread first saw runneld stopping */
	long bad;               /* messages that were not events (the reading thread's) */
	long finished;          /* messages of the batches done so far, in order */
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
		b->barrier = true;
		return 0;
	}
	runnel_error err;
	if (!store_event_batch_add(&b->rows, msg, len, &err)) {
		r->bad++;
		if ((r->bad & (r->bad - 1)) == 0) /* the 1st, 2nd, 4th, ... */
			engine_log(r->e, "receiver: message %ld not stored (%zu bytes): %s", r->bad,
			           len, err.message);
	} else if (b->rows.rows[b->rows.n - 1].needs_tree) {
		b->barrier = true;
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
	pthread_mutex_lock(&r->e->mu);
	bool stopping = r->e->receiver_stop;
	pthread_mutex_unlock(&r->e->mu);
	pthread_mutex_lock(&r->mu);
	stopping = stopping || r->done;
	if (stopping && !r->stop_seen_ms)
		r->stop_seen_ms = now_ms();
	long long stopping_ms = stopping ? now_ms() - r->stop_seen_ms : 0;
	pthread_mutex_unlock(&r->mu);
	if (stopping_ms >= RX_STOP_RETRY_MS)
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

/* Store a batch, then apply the EOFs it carried (a storing thread). False if
 * it was given up on (runneld is stopping). */
static bool store_batch(rx *r, rx_batch *b)
{
	bool kept = true;
	if (b->rows.n)
		kept = store_rows(r, b);
	size_t i;
	json_t *ev;
	json_array_foreach(b->eofs, i, ev)
		kept = apply_eof(r, ev) && kept;
	json_array_clear(b->eofs);
	store_event_batch_reset(&b->rows);
	return kept;
}

/* The slot holding the batch with seq in state, or NULL (mu held). */
static rx_batch *slot_of(rx *r, long seq, rx_state state)
{
	for (int i = 0; i < r->nslots; i++)
		if (r->slots[i].state == state && r->slots[i].seq == seq)
			return &r->slots[i];
	return NULL;
}

/* b was stored (kept: not given up on): free it and every stored batch
 * after the ones still being stored, in order; count their messages as
 * finished unless one of them (or one before) was given up on (mu held). */
static void batch_stored(rx *r, rx_batch *b, bool kept)
{
	b->state = RX_STORED;
	b->kept = kept;
	for (rx_batch *s; (s = slot_of(r, r->done_seq, RX_STORED)); r->done_seq++) {
		if (!s->kept)
			r->gave_up = true;
		if (!r->gave_up)
			r->finished += s->msgs;
		s->msgs = 0;
		s->state = RX_FREE;
	}
	pthread_cond_broadcast(&r->cv);
}

/* The queued batch a storing thread takes next: the first handed over, once
 * it may go (a barrier waits for every batch before it); NULL if none may
 * (mu held). *queued: whether any batch is queued at all. */
static rx_batch *next_to_store(rx *r, bool *queued)
{
	rx_batch *first = NULL;
	for (int i = 0; i < r->nslots; i++) {
		rx_batch *b = &r->slots[i];
		if (b->state == RX_QUEUED && (!first || b->seq < first->seq))
			first = b;
	}
	*queued = first != NULL;
	if (first && first->barrier && first->seq != r->done_seq)
		return NULL;
	return first;
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

/* A storing thread: until the reading thread is done and nothing is queued. */
static void *storer_main(void *arg)
{
	rx *r = arg;
	prctl(PR_SET_NAME, "rn-store");
	pthread_mutex_lock(&r->mu);
	for (;;) {
		bool queued;
		rx_batch *b = next_to_store(r, &queued);
		if (!b) {
			if (r->done && !queued)
				break;
			pthread_cond_wait(&r->cv, &r->mu);
			continue;
		}
		b->state = RX_STORING;
		r->storing++;
		pthread_mutex_unlock(&r->mu);
		bool kept = store_batch(r, b);
		engine_events_stored(r->e); /* wake the web page's streams */
		pthread_mutex_lock(&r->mu);
		r->storing--;
		batch_stored(r, b, kept);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Hand b over: to the storing threads (waiting while every other batch is
 * queued or being stored), or, with none running, store it here. Returns
 * the batch to fill next. */
static rx_batch *hand_over(rx *r, rx_batch *b)
{
	pthread_mutex_lock(&r->mu);
	b->seq = r->next_seq++;
	if (!r->writers) {
		pthread_mutex_unlock(&r->mu);
		bool kept = store_batch(r, b);
		pthread_mutex_lock(&r->mu);
		batch_stored(r, b, kept);
	} else {
		b->state = RX_QUEUED;
		pthread_cond_broadcast(&r->cv);
	}
	rx_batch *next = NULL;
	while (!next) {
		for (int i = 0; i < r->nslots && !next; i++)
			if (r->slots[i].state == RX_FREE)
				next = &r->slots[i];
		if (!next)
			pthread_cond_wait(&r->cv, &r->mu);
	}
	next->state = RX_FILLING;
	next->barrier = false;
	pthread_mutex_unlock(&r->mu);
	return next;
}

/* True if a storing thread would take a batch now: none is queued and one
 * has nothing in hand (or there are none: the batch is stored at once). */
static bool storer_idle(rx *r)
{
	pthread_mutex_lock(&r->mu);
	bool queued;
	next_to_store(r, &queued);
	bool idle = (!queued && r->storing < r->writers) || !r->writers;
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
	int want = e->events_st->event_writers;
	want = want < 1 ? 1 : want > RX_WRITERS_MAX ? RX_WRITERS_MAX : want;
	r.nslots = want > 1 ? 2 * want + 1 : 2;
	for (int i = 0; i < r.nslots; i++) {
		store_event_batch_init(&r.slots[i].rows);
		r.slots[i].eofs = json_array();
	}
	pthread_t storers[RX_WRITERS_MAX];
	while (r.writers < want && pthread_create(&storers[r.writers], NULL, storer_main, &r) == 0)
		r.writers++;
	if (!r.writers)
		engine_log(e, "receiver: no storing thread (%s): reading and storing in turn",
		           strerror(errno));
	rx_batch *b = &r.slots[0];
	b->state = RX_FILLING;
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
		             t - first >= e->s.receiver_flush_ms || storer_idle(&r)))
			b = hand_over(&r, b);
		if (stop) {
			/* drain: stop after the bus stayed quiet for a few rounds */
			idle_after_stop = n > 0 ? 0 : idle_after_stop + 1;
			if (idle_after_stop >= 3 && !batch_held(b))
				break;
		}
	}
	pthread_mutex_lock(&r.mu);
	r.done = true;
	pthread_cond_broadcast(&r.cv);
	pthread_mutex_unlock(&r.mu);
	for (int i = 0; i < r.writers; i++)
		pthread_join(storers[i], NULL);
	ack_finished(&r, &acked);
	for (int i = 0; i < r.nslots; i++) {
		store_event_batch_free(&r.slots[i].rows);
		json_decref(r.slots[i].eofs);
	}
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.mu);
	return NULL;
}
