/*
 * events_stream.c - a unified job's events for the web page's output view:
 *
 *   GET <unified job>/events/stream/?after=COUNTER
 *       Server-Sent Events (text/event-stream): the stored events with a
 *       counter above COUNTER as they arrive, in counter order, in batches
 *       ("event: events", data a JSON array, "id:" the last counter, so a
 *       client that reconnects passes it back as after); the job's status
 *       when it changes ("event: status"); "event: end" once the job is
 *       final and every one of its events is stored, and the stream closes.
 *
 *   GET <unified job>/events/lines/?start_line=A&end_line=B
 *       The events whose output covers lines [A, B) (at most 2,000 lines;
 *       start_line=-N: the last N lines, for a view that opens at the end),
 *       each with its start_line, end_line and stdout: a client places
 *       every line exactly, whatever the size of the job (a million lines
 *       are found by a binary search over the counters, never a scan).
 *
 * Both are authenticated and answered like the events list (404 for an
 * unknown job). Both read slim rows (store_events_slim: what a line of
 * output needs, by counter ranges, event_data neither read nor parsed; the
 * events list gives the whole event, on a click).
 *
 * The stream waits on the connection's own thread (libmicrohttpd runs one
 * per connection), with no store lock held while it waits: it sleeps until
 * this runneld's receiver commits a batch (engine_events_wait) or POLL_MS
 * pass (status changes, another runneld's receiver), so a stream never
 * slows the receiver's writes, and it ends when the server stops
 * (api_request.stopping).
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* The longest an idle stream sleeps before it looks at the store again
 * (it wakes at once on a commit of this runneld's receiver). */
#define POLL_MS 100
/* How often a stream with events flowing still looks at the job's status. */
#define STATUS_EVERY 0.5
/* A comment line this often keeps proxies and idle timeouts away. */
#define HEARTBEAT_SECONDS 15.0
/* Events per read (one step of the counter index each). */
#define PAGE_EVENTS 1000
/* The largest window of lines one lines/ request answers. */
#define MAX_LINES 2000

/* ------------------------------------------------------------------ */
/* GET <job>/events/stream/                                             */

/* A stream in progress. */
typedef struct event_stream {
	store *st;
	engine *eng;       /* whose receiver's commits wake the stream (NULL: poll) */
	unsigned long seq; /* the commits seen before the last read */
	store_kind kind;
	long job_id;
	long after;       /* the last counter sent */
	char status[32];  /* the last status sent */
	double status_at; /* when the status was last read (rn_now) */
	double sent_at;   /* when anything was last sent */
	bool done;        /* "end" is queued: close once it is sent */
	const atomic_bool *stopping;
	rn_buf out;
	size_t off;
} event_stream;

/* Queue one SSE message: optional id, the event name, JSON data. */
static void queue_message(event_stream *s, const char *name, json_t *data, long id)
{
	char *text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
	char head[96];
	int n = id > 0 ? snprintf(head, sizeof head, "id: %ld\nevent: %s\ndata: ", id, name)
	               : snprintf(head, sizeof head, "event: %s\ndata: ", name);
	rn_buf_append(&s->out, head, (size_t)n);
	/* JSON from jansson holds no raw newline (they are escaped), so the
	 * data is one line */
	rn_buf_append(&s->out, text, strlen(text));
	rn_buf_append(&s->out, "\n\n", 2);
	free(text);
}

/* Read the job: queue its status when it changed; true when it is final
 * and all its events are stored. false on a read error too (err set). */
static bool poll_status(event_stream *s, bool *gone)
{
	runnel_error err = {0};
	json_t *job = store_get(s->st, s->kind, s->job_id, &err);
	s->status_at = rn_now();
	if (!job) {
		*gone = err.code == ENOENT;
		return false;
	}
	const char *status = json_string_value(json_object_get(job, "status"));
	bool final = status && !store_status_is_active(status) &&
	             json_is_true(json_object_get(job, "event_processing_finished"));
	if (status && strcmp(status, s->status)) {
		snprintf(s->status, sizeof s->status, "%s", status);
		json_t *d = json_object();
		static const char *const keys[] = {
		    "status",  "failed",          "started",      "finished",
		    "elapsed", "job_explanation", "scm_revision", "host_status_counts",
		    NULL};
		for (int i = 0; keys[i]; i++) {
			json_t *v = json_object_get(job, keys[i]);
			if (v)
				json_object_set(d, keys[i], v);
		}
		queue_message(s, "status", d, 0);
		json_decref(d);
	} else if (final && !*s->status) {
		snprintf(s->status, sizeof s->status, "%s", status);
	}
	json_decref(job);
	return final;
}

/* True if an event after the last one sent is stored (or on a read
 * error: the next round reports it). */
static bool more_after(event_stream *s)
{
	runnel_error err = {0};
	json_t *rows = NULL;
	if (store_events_slim(s->st, s->job_id, s->after, 1, &rows, &err) < 0)
		return true;
	bool more = json_array_size(rows) > 0;
	json_decref(rows);
	return more;
}

/* Sleep ms milliseconds (no lock is held). */
static void nap(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Fill s->out with what there is to send, waiting for it if need be.
 * false when the stream is over (nothing queued). */
static bool stream_fill(event_stream *s)
{
	rn_buf_reset(&s->out);
	s->off = 0;
	for (;;) {
		if (s->done || (s->stopping && atomic_load(s->stopping)))
			return false;
		runnel_error err = {0};
		json_t *rows = NULL;
		if (store_events_slim(s->st, s->job_id, s->after, PAGE_EVENTS, &rows, &err) < 0) {
			/* the job was deleted, or the store failed: say so, end */
			json_t *d = json_pack("{s:s}", "detail", err.message);
			queue_message(s, "error", d, 0);
			json_decref(d);
			s->done = true;
			return true;
		}
		size_t n = json_array_size(rows);
		if (n > 0) {
			s->after = (long)json_integer_value(
			    json_object_get(json_array_get(rows, n - 1), "counter"));
			queue_message(s, "events", rows, s->after);
		}
		json_decref(rows);
		bool idle = n == 0;
		if (idle || rn_now() - s->status_at >= STATUS_EVERY) {
			bool gone = false;
			bool final = poll_status(s, &gone);
			if (gone) {
				json_t *d = json_pack("{s:s}", "detail", "Not found.");
				queue_message(s, "error", d, 0);
				json_decref(d);
				s->done = true;
				return true;
			}
			/* final with every event stored, and none left unread: the
			 * last events may have been stored between the read above
			 * and the status, so look once more (the next round sends
			 * them) */
			if (final && idle && !more_after(s)) {
				json_t *d = json_pack("{s:s,s:I}", "status", s->status, "counter",
				                      (json_int_t)s->after);
				queue_message(s, "end", d, 0);
				json_decref(d);
				s->done = true;
				return true;
			}
		}
		if (s->out.len > 0)
			return true;
		if (rn_now() - s->sent_at >= HEARTBEAT_SECONDS) {
			rn_buf_append(&s->out, ": ping\n\n", 8);
			return true;
		}
		/* nothing new: sleep until the receiver commits (a commit since
		 * the read above returns at once) or POLL_MS pass */
		if (s->eng)
			s->seq = engine_events_wait(s->eng, s->seq, POLL_MS);
		else
			nap(POLL_MS);
	}
}

/* api_stream.read: the next bytes of the stream, waiting for events. */
static ssize_t stream_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	event_stream *s = ctx;
	if (s->off >= s->out.len && !stream_fill(s))
		return -1;
	size_t n = s->out.len - s->off;
	if (n > max)
		n = max;
	memcpy(buf, s->out.data + s->off, n);
	s->off += n;
	s->sent_at = rn_now();
	return (ssize_t)n;
}

/* api_stream.free. */
static void stream_free(void *ctx)
{
	event_stream *s = ctx;
	rn_buf_free(&s->out);
	free(s);
}

/* GET <job>/events/stream/?after=N. */
static int events_stream(api_request *rq, api_response *rs, store_kind kind)
{
	bool ok;
	long after = api_arg_long(rq, rs, "after", 0, &ok);
	if (!ok)
		return 0;
	runnel_error err = {0};
	json_t *job = store_get(rq->st, kind, rq->ids[0], &err);
	if (!job)
		return api_error(rs, &err);
	json_decref(job);
	event_stream *s = rn_xmalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	s->st = rq->st;
	s->eng = rq->eng;
	/* the commits so far (a count it is not: returns at once) */
	s->seq = s->eng ? engine_events_wait(s->eng, (unsigned long)-1, 0) : 0;
	s->kind = kind;
	s->job_id = rq->ids[0];
	s->after = after < 0 ? 0 : after;
	s->stopping = rq->stopping;
	s->sent_at = rn_now();
	rn_buf_init(&s->out);
	/* the first bytes go out at once: the client knows it is connected */
	rn_buf_append(&s->out, "retry: 1000\n\n", 13);
	rs->status = 200;
	rs->content_type = "text/event-stream; charset=utf-8";
	rs->stream = (api_stream){.read = stream_read, .free = stream_free, .ctx = s};
	return 0;
}

/* ------------------------------------------------------------------ */
/* GET <job>/events/lines/                                              */

/* The first event with a counter >= c: one step of the counter index.
 * true with *counter and *start_line; false when there is none (or on
 * error: err set). */
static bool probe(store *st, long job_id, long c, long *counter, long *start_line,
                  runnel_error *err)
{
	json_t *rows = NULL;
	if (store_events_slim(st, job_id, c - 1, 1, &rows, err) < 0)
		return false;
	json_t *ev = json_array_get(rows, 0);
	bool found = ev != NULL;
	if (found) {
		*counter = (long)json_integer_value(json_object_get(ev, "counter"));
		*start_line = (long)json_integer_value(json_object_get(ev, "start_line"));
	}
	json_decref(rows);
	return found;
}

/* The counter of the last event starting at or before line (0: none). The
 * runner numbers lines in counter order, so start_line grows with the
 * counter: an exponential search finds the end, a binary one the event. */
static long counter_at_line(store *st, long job_id, long line, runnel_error *err)
{
	long lo = 0, hi = 1, c, sl;
	/* grow hi past the last counter or past the line */
	while (probe(st, job_id, hi, &c, &sl, err) && sl <= line) {
		lo = c;
		hi = c * 2 + 1;
	}
	if (err->code)
		return -1;
	while (lo + 1 < hi) {
		long mid = lo + (hi - lo) / 2;
		if (probe(st, job_id, mid, &c, &sl, err) && sl <= line && c < hi)
			lo = c;
		else if (err->code)
			return -1;
		else
			hi = mid;
	}
	return lo;
}

/* store_stdout_fn that keeps nothing (to learn absolute_end). */
static int ignore_text(const char *text, size_t len, void *userdata)
{
	(void)text, (void)len, (void)userdata;
	return 0;
}

/* GET <job>/events/lines/?start_line=A&end_line=B. */
static int events_lines(api_request *rq, api_response *rs, store_kind kind)
{
	bool ok;
	long start = api_arg_long(rq, rs, "start_line", 0, &ok);
	if (!ok)
		return 0;
	bool tail = start < 0; /* the last -start lines */
	long end = api_arg_long(rq, rs, "end_line", tail ? 0 : start + 500, &ok);
	if (!ok)
		return 0;
	if (!tail && end < start)
		return api_field_error(rs, "end_line", "Must not be less than start_line.");
	runnel_error err = {0};
	json_t *job = store_get(rq->st, kind, rq->ids[0], &err);
	if (!job)
		return api_error(rs, &err);
	json_decref(job);
	long abs_end = 0;
	if (store_stdout_read(rq->st, rq->ids[0], 0, 0, ignore_text, NULL, &abs_end, &err) < 0)
		return api_error(rs, &err);
	if (tail) {
		end = abs_end;
		start = abs_end + start > 0 ? abs_end + start : 0;
	}
	if (end - start > MAX_LINES)
		end = start + MAX_LINES;
	json_t *events = json_array();
	long after = start > 0 ? counter_at_line(rq->st, rq->ids[0], start, &err) : 0;
	if (after < 0) {
		json_decref(events);
		return api_error(rs, &err);
	}
	/* from the event holding line start (or the first) on */
	after = after > 0 ? after - 1 : 0;
	for (bool more = true; more;) {
		json_t *rows = NULL;
		/* pages of PAGE_EVENTS / 4: a window of lines is mostly fewer events */
		if (store_events_slim(rq->st, rq->ids[0], after, PAGE_EVENTS / 4, &rows, &err) <
		    0) {
			json_decref(events);
			return api_error(rs, &err);
		}
		size_t n = json_array_size(rows);
		more = n > 0;
		for (size_t i = 0; i < n && more; i++) {
			json_t *ev = json_array_get(rows, i);
			after = (long)json_integer_value(json_object_get(ev, "counter"));
			long sl = (long)json_integer_value(json_object_get(ev, "start_line"));
			long el = (long)json_integer_value(json_object_get(ev, "end_line"));
			if (sl >= end && sl > start) {
				more = false;
				break;
			}
			if (el > start && el > sl) /* lines in the window */
				json_array_append(events, ev);
		}
		json_decref(rows);
	}
	return api_json(rs, 200,
	                json_pack("{s:I,s:I,s:I,s:o}", "start_line", (json_int_t)start, "end_line",
	                          (json_int_t)end, "absolute_end", (json_int_t)abs_end, "events",
	                          events));
}

/* The handlers of one unified job kind. */
#define STREAM_HANDLERS(name, kind)                                                                \
	/* events/stream/ of name. */                                                              \
	static int name##_stream(api_request *rq, api_response *rs)                                \
	{                                                                                          \
		return events_stream(rq, rs, kind);                                                \
	}                                                                                          \
	/* events/lines/ of name. */                                                               \
	static int name##_lines(api_request *rq, api_response *rs)                                 \
	{                                                                                          \
		return events_lines(rq, rs, kind);                                                 \
	}

STREAM_HANDLERS(jobs, STORE_JOB)
STREAM_HANDLERS(project_updates, STORE_PROJECT_UPDATE)
STREAM_HANDLERS(inventory_updates, STORE_INVENTORY_UPDATE)
STREAM_HANDLERS(ad_hoc_commands, STORE_AD_HOC_COMMAND)
STREAM_HANDLERS(system_jobs, STORE_SYSTEM_JOB)
STREAM_HANDLERS(unified_jobs, STORE_UNIFIED_JOB)

/* The routes of one unified job kind. */
#define STREAM_ROUTES(plural, name)                                                                \
	{"/api/v2/" plural "/{id}/events/stream/", name##_stream, NULL, NULL, NULL, NULL, false},  \
	{                                                                                          \
		"/api/v2/" plural "/{id}/events/lines/", name##_lines, NULL, NULL, NULL, NULL,     \
		    false                                                                          \
	}

const api_route api_routes_events_stream[] = {
    STREAM_ROUTES("jobs", jobs),
    STREAM_ROUTES("project_updates", project_updates),
    STREAM_ROUTES("inventory_updates", inventory_updates),
    STREAM_ROUTES("ad_hoc_commands", ad_hoc_commands),
    STREAM_ROUTES("system_jobs", system_jobs),
    STREAM_ROUTES("unified_jobs", unified_jobs),
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
