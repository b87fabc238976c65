/*
 * receiver.c - the callback receiver (AWX's CallbackBrokerWorker): takes
 * events off the bus, buffers them, and stores them in batches — one
 * transaction per batch, flushed when it holds receiver_batch events (1000)
 * or receiver_flush_ms (1 s) passed since the last flush, as AWX does. The
 * store derives failed/changed, host summaries and parent flags, skips
 * duplicates and retries a failed batch one by one.
 *
 * The EOF control event {"event": "EOF", "final_counter": N, "<type>_id": id}
 * flushes at once and records N as the job's emitted_events, so that
 * event_processing_finished (job done and stored == emitted) turns true as
 * soon as the last event is stored.
 *
 * Producers are never blocked by the store here: the bus buffers (1 MiB
 * socket buffers, or Redis), and the receiver reads while it is not
 * flushing. If the store is slower than the producers for long, the local
 * bus pushes back on them (it never drops); Redis keeps the backlog.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "engine_internal.h"
#include "jscan.h"
#include "util.h"

typedef struct rx {
	engine *e;
	rn_buf text;    /* the batch: event texts, back to back */
	size_t *offs;   /* where each starts in text */
	size_t *lens;
	size_t n, cap;
	json_t *eofs;   /* EOF control events */
	long bad;       /* messages that were not JSON objects */
} rx;

/* Number of events in the batch. */
static size_t batch_size(const rx *r)
{
	return r->n;
}

/* Take one message off the bus into the batch. Events stay text: the one
 * check of the JSON (rn_jscan_object, no tree) also names the event; the
 * store reads the fields it needs from the text; only the rare EOF control
 * event is parsed. */
static int on_message(const char *msg, size_t len, void *ud)
{
	rx *r = ud;
	rn_jscan scan;
	if (!rn_jscan_object(msg, len, &scan)) {
		r->bad++;
		return 0;
	}
	if (scan.event && scan.event_len == 3 && !memcmp(scan.event, "EOF", 3)) {
		json_t *ev = json_loadb(msg, len, JSON_ALLOW_NUL, NULL);
		if (json_is_object(ev)) {
			json_array_append_new(r->eofs, ev);
			return 0;
		}
		json_decref(ev);
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->offs = rn_xrealloc(r->offs, sizeof *r->offs * r->cap);
		r->lens = rn_xrealloc(r->lens, sizeof *r->lens * r->cap);
	}
	r->offs[r->n] = r->text.len;
	r->lens[r->n] = len;
	r->n++;
	rn_buf_append(&r->text, msg, len);
	return 0;
}

/* The unified job id an EOF names. */
static long eof_job(const json_t *ev)
{
	static const char *const keys[] = {"job_id", "project_update_id", "inventory_update_id",
	                                   "ad_hoc_command_id", "system_job_id", NULL};
	for (int i = 0; keys[i]; i++)
		if (json_is_integer(json_object_get(ev, keys[i])))
			return (long)json_integer_value(json_object_get(ev, keys[i]));
	return 0;
}

/* Store the batch, then apply the EOFs it carried. */
static void flush(rx *r)
{
	engine *e = r->e;
	if (r->n) {
		long stored = 0, dropped = 0;
		runnel_error err = {0};
		const char **texts = rn_xmalloc(sizeof *texts * r->n);
		for (size_t k = 0; k < r->n; k++)
			texts[k] = r->text.data + r->offs[k];
		if (store_events_insert_text(e->st, texts, r->lens, r->n, &stored, &dropped, &err) < 0 || dropped)
			engine_log(e, "receiver: %ld of %zu events not stored: %s", dropped, r->n, err.message);
		free(texts);
		pthread_mutex_lock(&e->mu);
		e->received += stored;
		pthread_mutex_unlock(&e->mu);
		r->n = 0;
		rn_buf_reset(&r->text);
	}
	size_t i;
	json_t *ev;
	json_array_foreach(r->eofs, i, ev) {
		long id = eof_job(ev);
		json_t *fc = json_object_get(ev, "final_counter");
		if (!id || !json_is_integer(fc))
			continue;
		json_t *f = json_pack("{s:O}", "emitted_events", fc);
		runnel_error err;
		json_t *o = store_update(e->st, STORE_UNIFIED_JOB, id, f, STORE_SYSTEM, &err);
		if (!o)
			engine_log(e, "receiver: job %ld: EOF: %s", id, err.message);
		else
			engine_log(e, "job %ld: events received (final_counter %lld, stored %lld)", id,
			           (long long)json_integer_value(fc),
			           (long long)json_integer_value(json_object_get(o, "stored_events")));
		json_decref(o);
		json_decref(f);
	}
	json_array_clear(r->eofs);
}

/* Monotonic milliseconds. */
static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The receiver thread. */
void *receiver_main(void *arg)
{
	engine *e = arg;
	prctl(PR_SET_NAME, "rn-receiver"); /* as top -H and perf show it */
	rx r = {.e = e, .eofs = json_array()};
	rn_buf_init(&r.text);
	long long last = now_ms();
	int idle_after_stop = 0;
	for (;;) {
		pthread_mutex_lock(&e->mu);
		bool stop = e->receiver_stop;
		pthread_mutex_unlock(&e->mu);
		long long wait = e->s.receiver_flush_ms - (now_ms() - last);
		if (wait < 0)
			wait = 0;
		if (stop || batch_size(&r) == 0)
			wait = wait > 200 ? 200 : wait; /* look at the stop flag often */
		if (stop && wait < 50)
			wait = 50;
		long room = e->s.receiver_batch - (long)batch_size(&r);
		runnel_error err;
		long n = bus_receive(e->consumer, on_message, &r, (int)wait, room > 0 ? room : 1, &err);
		if (n < 0) {
			engine_log(e, "receiver: %s", err.message);
			struct timespec ts = {0, 200 * 1000000};
			nanosleep(&ts, NULL);
		}
		long long t = now_ms();
		if ((long)batch_size(&r) >= e->s.receiver_batch || json_array_size(r.eofs) ||
		    (batch_size(&r) && t - last >= e->s.receiver_flush_ms)) {
			flush(&r);
			last = now_ms();
		} else if (!batch_size(&r)) {
			last = t;
		}
		if (stop) {
			/* drain: stop after the bus stayed quiet for a few rounds */
			idle_after_stop = n > 0 ? 0 : idle_after_stop + 1;
			if (idle_after_stop >= 3)
				break;
		}
	}
	flush(&r);
	rn_buf_free(&r.text);
	free(r.offs);
	free(r.lens);
	json_decref(r.eofs);
	return NULL;
}
