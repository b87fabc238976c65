/*
 * worker.c - runneld-worker: runs ONE unified job in its own process, as
 * AWX's BaseTask.run() does (spec/service.md §1, §2). run_job() reads as
 * its steps, one function each:
 *
 *   1. start_job               refuse a job that is not active; canceled if
 *                              its cancel flag is set; else running
 *   2. make_private_data_dir   mkdtemp <base>/<type>_<id>_XXXXXX, 0700, named
 *                              in the job's process record; connect_bus
 *   3. prepare_task            the type's prepare() (tasks/<type>.c): inventory,
 *                              credentials, passwords, extra vars, what to run;
 *      build_env               awx_* vars and the environment (AWX's build_env);
 *      write_pdd_files         env/extravars, env/settings, env/cmdline
 *   4. run_task                runnel_run() with event_handler / status_handler /
 *                              cancel_callback / finished_callback (or the type's
 *                              own run())
 *   5. map_result              timeout → failed with explanation; canceled
 *                              without the cancel flag → failed (shutdown); the
 *                              type's after(); prepare errors → failed
 *   6. finish_job              EOF, wait for the events to be stored, final
 *                              status + emitted_events; remove the dir unless
 *                              cleanup is off
 *
 * Every event, ansible's and the worker's own, reaches the bus by one path:
 * forward_event() (the text, with the job's keys spliced in, never parsed
 * whole).
 *
 * Cancel is a signal: SIGTERM/SIGINT set a flag and cancel the runner at once
 * (runnel_cancel is async-signal-safe). The engine's dispatcher sends it; if
 * the engine dies, PR_SET_PDEATHSIG sends it too.
 *
 * Usage: runneld-worker --state-dir D --job ID --settings FILE|-
 * The settings are runneld's, as one JSON object (worker_settings.h); the
 * dispatcher hands them over on stdin ("-"). For debugging, a file will do.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "datafile.h"
#include "evscan.h"
#include "job_states.h"
#include "jobproc.h"
#include "jscan.h"
#include "model.h"
#include "sandbox.h"
#include "tasks/task.h"
#include "util.h"
#include "worker_settings.h"
#include "system_settings.h"

static volatile sig_atomic_t got_signal;
static runnel_canceler *the_canceler;
static pid_t the_parent; /* runneld (getppid() changes when it dies) */

/* The signal watcher: remember and stop the runner now. */
static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
	if (the_canceler)
		runnel_cancel(the_canceler);
}

typedef struct worker {
	store *st;
	bus *bus;
	const char *id_key;
	const char *job_created;
	/* the job's events: produced = delivered + pending + undelivered */
	long produced;    /* events the job emitted (its emitted_events) */
	long delivered;   /* taken by the bus */
	long pending;     /* held in the bus handle, not taken yet */
	long undelivered; /* dropped: the bus stayed down past stall_timeout */
	size_t pending_bytes;
	long counter; /* last counter seen (synthetic events continue it) */
	long end_line;
	bool eof_sent;
	bool gave_up;           /* the bus was given up on: nothing more is sent */
	bool gave_up_on_signal; /* ... because the job was canceled / shut down */
	int stall_timeout;      /* seconds without progress before giving up */
	double bus_down_since;  /* rn_now() of the first failure of the current outage, or 0 */
	char bus_error[1024];   /* the last bus error */
	bool want_ok_res;       /* the type reads last_ok_res (project updates) */
	char ident[64];
	char *created_json; /* job_created as a JSON string literal */
	rn_buf msg;         /* the message being built */
	rn_buf scratch;
	jobproc_worker *rec; /* the job's process record (jobproc.h): pdd, emitted */
} worker;

/* What the worker runs: the job (its command line) and runneld's settings
 * (one JSON object: worker_settings.h). */
typedef struct wopts {
	const char *state_dir;
	long job;
	worker_settings ws;
} wopts;

/* ------------------------------------------------------------------ */
/* the callbacks                                                        */

/* Give up on the bus: what the handle holds is dropped and counted, and
 * nothing more is sent (the run is stopped: see on_cancel). */
static void give_up(worker *w, const char *why)
{
	bus_discard(w->bus);
	w->undelivered += w->pending;
	w->pending = 0;
	w->pending_bytes = 0;
	w->gave_up = true;
	w->gave_up_on_signal = got_signal != 0;
	fprintf(stderr,
	        "runneld-worker: giving up on the event bus (%s): %ld events not delivered: %s\n",
	        why, w->undelivered, w->bus_error);
}

/* Send what the bus handle holds. While the bus is down (Redis restarting,
 * runneld's socket gone) or full (the receiver cannot store), try again,
 * backing off: the runner waits here meanwhile (back-pressure: ansible
 * waits on its pty), and nothing is lost. Give up when the bus made no
 * progress for stall_timeout seconds, or at once when a signal came (cancel
 * must not wait for the bus). True once sent. */
static bool deliver(worker *w)
{
	if (w->gave_up)
		return false;
	int pause_ms = 50;
	for (;;) {
		runnel_error err = {0};
		if (bus_flush(w->bus, &err) == 0) {
			w->delivered += w->pending;
			jobproc_worker_note_events(w->rec, w->delivered, w->produced);
			w->pending = 0;
			w->pending_bytes = 0;
			if (w->bus_down_since > 0) {
				fprintf(stderr,
				        "runneld-worker: the event bus is back after %.1f s\n",
				        rn_now() - w->bus_down_since);
				w->bus_down_since = 0;
			}
			return true;
		}
		if (err.code == EINTR && !got_signal)
			continue; /* another signal (a child ended): go on sending */
		snprintf(w->bus_error, sizeof w->bus_error, "%s", err.message);
		if (w->bus_down_since <= 0) {
			w->bus_down_since = rn_now();
			fprintf(stderr,
			        "runneld-worker: event bus: %s (holding %ld events, retrying)\n",
			        err.message, w->pending);
		}
		if (got_signal) {
			give_up(w, "the job was canceled while the bus was blocked");
			return false;
		}
		if (rn_now() - w->bus_down_since >= w->stall_timeout) {
			char why[96];
			snprintf(why, sizeof why, "no progress for %d s", w->stall_timeout);
			give_up(w, why);
			return false;
		}
		/* a send that stalled already waited; an interrupted one goes on */
		if (err.code != ETIMEDOUT && err.code != EINTR) {
			struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
			pause_ms = pause_ms * 2 > 1000 ? 1000 : pause_ms * 2;
		}
	}
}

/* Hand one event to the bus handle; send when the handle holds half its
 * bound (so that it never sends behind our back: the counts stay exact),
 * or at once with now. The event counts as emitted whatever happens to it. */
static void send_event(worker *w, const char *text, size_t len, bool now)
{
	w->produced++;
	if (w->gave_up) {
		w->undelivered++;
		jobproc_worker_note_events(w->rec, w->delivered, w->produced);
		return;
	}
	runnel_error err;
	int rc = bus_queue(w->bus, text, len, &err); /* kept even on -1 */
	w->pending++;
	w->pending_bytes += len + 1;
	if (rc < 0 || now || w->pending >= BUS_QUEUE_MESSAGES / 2 ||
	    w->pending_bytes >= BUS_QUEUE_BYTES / 2)
		deliver(w);
	jobproc_worker_note_events(w->rec, w->delivered, w->produced);
}

/* Send the queued events. */
static void flush_msgs(worker *w)
{
	if (w->bus && !w->gave_up && w->pending)
		deliver(w);
}

/* Is the member named k (raw, kl bytes) one the worker adds to events? */
static bool is_added_key(const worker *w, const char *k, size_t kl)
{
	size_t idl = strlen(w->id_key);
	return (kl == idl && !memcmp(k, w->id_key, idl)) ||
	       (kl == 11 && !memcmp(k, "job_created", 11)) ||
	       (kl == 9 && !memcmp(k, "host_name", 9)) || (kl == 7 && !memcmp(k, "host_id", 7));
}

/* Is the string literal v the name n? */
static bool span_is(evs_span v, const char *n)
{
	size_t len = strlen(n);
	return evs_is_string(v) && v.n == len + 2 && !memcmp(v.p + 1, n, len);
}

/* A member of event_data, parsed on its own: a new reference, or NULL. */
static json_t *data_member(evs_span data, const char *key)
{
	evs_span v = evs_get(data, key);
	return v.p ? json_loadb(v.p, v.n, JSON_DECODE_ANY, NULL) : NULL;
}

/*
 * The one path of every event to the bus, ansible's (event_handler) and the
 * worker's own (task_emit). The text (a JSON object) is not parsed: the
 * job's keys (<id key>, job_created, host_name and host_id from
 * event_data.host) are spliced in before its closing brace; a member of the
 * same name already there is left out, so that the worker's value is the
 * only one. Only what the worker itself reads is parsed, on its own: the
 * artifact_data of playbook_on_stats (the job's artifacts) and the res of
 * runner_on_ok for a type that wants it. keepalive events are not sent.
 * With now, the bus handle is flushed at once (events made outside the
 * runner, whose cancel_callback would otherwise send them).
 */
static void forward_event(task *t, const char *text, size_t len, bool now)
{
	worker *w = t->worker;
	evs_span obj = {text, len};
	while (obj.n && obj.p[obj.n - 1] != '}')
		obj.n--;
	evs_iter it;
	if (!evs_begin(&it, obj)) {
		fprintf(stderr, "runneld-worker: job %ld: an event that is not a JSON object\n",
		        t->job_id);
		return;
	}
	const char *k;
	size_t kl;
	evs_span v, name = {0}, data = {0}, counter = {0}, end_line = {0};
	bool taken = false;
	while (evs_next(&it, &k, &kl, &v)) {
		if (kl == 5 && !memcmp(k, "event", 5))
			name = v;
		else if (kl == 10 && !memcmp(k, "event_data", 10))
			data = v;
		else if (kl == 7 && !memcmp(k, "counter", 7))
			counter = v;
		else if (kl == 8 && !memcmp(k, "end_line", 8))
			end_line = v;
		else if (is_added_key(w, k, kl))
			taken = true;
	}
	if (span_is(name, "keepalive"))
		return;
	if (span_is(name, "playbook_on_stats")) {
		json_t *ad = data_member(data, "artifact_data");
		if (json_is_object(ad))
			json_object_update(t->artifacts, ad);
		json_decref(ad);
	} else if (w->want_ok_res && span_is(name, "runner_on_ok")) {
		json_decref(t->last_ok_res);
		t->last_ok_res = data_member(data, "res");
	}
	long long n;
	if (evs_integer(counter, &n) && n > w->counter)
		w->counter = (long)n;
	if (evs_integer(end_line, &n) && n > w->end_line)
		w->end_line = (long)n;
	/* the members, without the closing brace */
	rn_buf *m = &w->msg;
	rn_buf_reset(m);
	bool empty;
	if (!taken) {
		size_t body = obj.n - 1;
		while (body && (obj.p[body - 1] == ' ' || obj.p[body - 1] == '\n' ||
		                obj.p[body - 1] == '\t' || obj.p[body - 1] == '\r'))
			body--;
		empty = body && obj.p[body - 1] == '{';
		rn_buf_append(m, obj.p, body);
	} else {
		rn_buf_appendc(m, '{');
		evs_begin(&it, obj);
		while (evs_next(&it, &k, &kl, &v)) {
			if (is_added_key(w, k, kl))
				continue;
			if (m->len > 1)
				rn_buf_append(m, ", ", 2);
			rn_buf_appendc(m, '"');
			rn_buf_append(m, k, kl);
			rn_buf_append(m, "\": ", 3);
			rn_buf_append(m, v.p, v.n);
		}
		empty = m->len == 1;
	}
	/* then the job's keys, then the brace */
	char num[96];
	int nn = snprintf(num, sizeof num, "%s\"%s\": %ld, \"job_created\": ", empty ? "" : ", ",
	                  w->id_key, t->job_id);
	rn_buf_append(m, num, (size_t)nn);
	rn_buf_append(m, w->created_json, strlen(w->created_json));
	evs_span host = evs_get(data, "host");
	if (evs_is_string(host)) {
		rn_buf_append(m, ", \"host_name\": ", 14);
		rn_buf_append(m, host.p, host.n);
		size_t hl;
		const char *hn = evs_string(host, &w->scratch, &hl);
		json_t *hid = json_object_getn(t->host_ids, hn, hl);
		if (json_is_integer(hid)) {
			nn = snprintf(num, sizeof num, ", \"host_id\": %lld",
			              (long long)json_integer_value(hid));
			rn_buf_append(m, num, (size_t)nn);
		}
	}
	rn_buf_appendc(m, '}');
	/* emitted_events counts every event the job made, delivered or not:
	 * event_processing_finished never turns true over a missing one */
	send_event(w, m->data, m->len, now);
}

/* event_handler: every event of the run, as the runner's text. */
static bool on_event(runnel_event *event, void *ud)
{
	size_t len;
	const char *text = runnel_event_json(event, &len);
	forward_event(ud, text, len, false);
	return false; /* the events live in the store; no job_events files */
}

/* Emit a synthetic verbose event. */
void task_emit(task *t, const char *text)
{
	worker *w = t->worker;
	long lines = 1;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	char uuid[37], created[32];
	rn_uuid4(uuid);
	rn_utc_isoformat(created);
	json_t *ev =
	    json_pack("{s:s,s:I,s:s,s:s,s:I,s:I,s:s,s:s,s:{}}", "event", "verbose", "counter",
	              (json_int_t)(w->counter + 1), "uuid", uuid, "stdout", text, "start_line",
	              (json_int_t)w->end_line, "end_line", (json_int_t)(w->end_line + lines),
	              "runner_ident", w->ident, "created", created, "event_data");
	char *json = json_dumps(ev, JSON_COMPACT);
	forward_event(t, json, strlen(json), true);
	free(json);
	json_decref(ev);
}

/* Mask the password of scheme://user:pass@host in s (in place). */
static void mask_url_password(char *s)
{
	for (char *p = strstr(s, "://"); p; p = strstr(p + 3, "://")) {
		char *start = p + 3;
		char *at = strpbrk(start, "@/ ");
		if (!at || *at != '@')
			continue;
		char *colon = memchr(start, ':', at - start);
		if (!colon)
			continue;
		char *rest = rn_xstrdup(at);
		strcpy(colon + 1, "**********");
		strcat(colon + 1, rest);
		free(rest);
	}
}

/* The environment with secrets redacted (spec §2). A new object. */
static json_t *redact_env(const json_t *env, const json_t *secrets)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)env, k, v) {
		bool ansible = !strncmp(k, "ANSIBLE_", 8) && strncmp(k, "ANSIBLE_NET", 11) &&
		               strncmp(k, "ANSIBLE_GALAXY_SERVER", 21);
		if (!ansible && rn_is_secret_key(k)) {
			json_object_set_new(out, k, json_string("**********"));
			continue;
		}
		char *val = rn_xstrdup(json_is_string(v) ? json_string_value(v) : "");
		mask_url_password(val);
		size_t i;
		json_t *s;
		json_array_foreach((json_t *)secrets, i, s) {
			const char *sv = json_string_value(s);
			char *hit;
			while (sv && *sv && (hit = strstr(val, sv))) {
				char *nv = rn_xasprintf("%.*s**********%s", (int)(hit - val), val,
				                        hit + strlen(sv));
				free(val);
				val = nv;
			}
		}
		json_object_set_new(out, k, json_string(val));
		free(val);
	}
	return out;
}

/* status_handler: on "starting" save job_args, job_cwd and job_env (redacted). */
static void on_status(json_t *status, void *ud)
{
	task *t = ud;
	worker *w = t->worker;
	const char *s = json_string_value(json_object_get(status, "status"));
	if (!s || strcmp(s, "starting"))
		return;
	json_t *cmd = json_object_get(status, "command");
	json_t *cmdcopy = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(cmd, i, c) {
		/* a secret never reaches job_args either */
		json_t *in = json_pack("{s:O}", "x", c);
		json_t *one = redact_env(in, t->secrets);
		json_array_append(cmdcopy, json_object_get(one, "x"));
		json_decref(one);
		json_decref(in);
	}
	char *args = json_dumps(cmdcopy, JSON_COMPACT);
	json_decref(cmdcopy);
	json_t *env = redact_env(json_object_get(status, "env"), t->secrets);
	const char *cwd = json_string_value(json_object_get(status, "cwd"));
	json_t *f =
	    json_pack("{s:s,s:s,s:o}", "job_args", args, "job_cwd", cwd ? cwd : "", "job_env", env);
	free(args);
	runnel_error err;
	json_t *o = store_update(w->st, STORE_UNIFIED_JOB, t->job_id, f,
	                         STORE_SYSTEM | STORE_NO_RESULT, &err);
	if (!o)
		fprintf(stderr, "runneld-worker: job %ld: save job_args: %s\n", t->job_id,
		        err.message);
	json_decref(o);
	json_decref(f);
}

/* cancel_callback: called whenever the runner wakes up (after each read of
 * ansible's output, at least every 100 ms): sends the events queued since
 * the last call; true once a signal came, or once the bus was given up on
 * (the job's record can no longer be kept: it ends error). */
static bool on_cancel(void *ud)
{
	task *t = ud;
	worker *w = t->worker;
	flush_msgs(w);
	return got_signal != 0 || w->gave_up;
}

/* Push the EOF control event (once). */
static void send_eof(task *t)
{
	worker *w = t->worker;
	if (w->eof_sent)
		return;
	w->eof_sent = true;
	if (w->gave_up)
		return;
	json_t *eof = json_pack("{s:s,s:I,s:I}", "event", "EOF", "final_counter",
	                        (json_int_t)w->produced, w->id_key, (json_int_t)t->job_id);
	char *text = json_dumps(eof, JSON_COMPACT);
	runnel_error err;
	(void)bus_queue(w->bus, text, strlen(text), &err); /* kept even on -1 */
	deliver(w);
	free(text);
	json_decref(eof);
}

/* finished_callback: the EOF control event with final_counter. */
static void on_finished(const runnel_run_result *r, void *ud)
{
	(void)r;
	send_eof(ud);
}

/* ------------------------------------------------------------------ */
/* the run                                                              */

/* Remove one file or directory (nftw callback). */
static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* Append a line to the job's job_explanation or result_traceback. */
static void explain(store *st, long id, const char *field, const char *text)
{
	runnel_error err;
	if (store_job_append(st, id, field, text, &err) < 0)
		fprintf(stderr, "runneld-worker: job %ld: %s\n", id, err.message);
}

/* A write of the job's final record failed: pause and say whether to try
 * again (the failure may pass: a full disk freed, a lock released), up to
 * stall_timeout seconds from first. */
static bool retry_write(worker *w, double first, int *pause_ms, const runnel_error *err)
{
	if (err->code == ENOENT || err->code == EINVAL || rn_now() - first >= w->stall_timeout)
		return false;
	struct timespec ts = {*pause_ms / 1000, (*pause_ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
	*pause_ms = *pause_ms * 2 > 2000 ? 2000 : *pause_ms * 2;
	return true;
}

/* explain(), trying again while the store fails. */
static void explain_retry(worker *w, long id, const char *field, const char *text)
{
	double first = rn_now();
	int pause = 50;
	runnel_error err;
	while (store_job_append(w->st, id, field, text, &err) < 0) {
		fprintf(stderr, "runneld-worker: job %ld: %s: %s\n", id, field, err.message);
		if (!retry_write(w, first, &pause, &err))
			return;
	}
}

/* Wait until the callback receiver stored every event the job emitted
 * (normally a few milliseconds). If some are missing, the record says how
 * many and why, and a job that would be successful or failed ends error:
 * a job's record is the truth, it never reports a missing event stored.
 *
 * Missing is known for sure when the receiver applied the job's EOF (it
 * comes after the job's events on the bus: what was not stored by then
 * never came, or the store refused it), or when the bus was given up on;
 * otherwise when the count stored made no progress for stall_timeout (the
 * store or the bus is failing: the events may still be stored later, and
 * event_processing_finished then turns true). A canceled job waits 2 s at
 * most. */
static void account_events(worker *w, long id, const char **status)
{
	long emitted = w->produced, stored = -1;
	double limit = got_signal || w->gave_up ? 2 : w->stall_timeout;
	double started = rn_now(), last_progress = started;
	int pause_ms = 5;
	bool eof_applied = false;
	for (;;) {
		runnel_error err;
		store_progress pr; /* the counts alone: the job is not shaped at each poll */
		if (store_job_progress(w->st, id, &pr, &err) == 0) {
			if (pr.stored_events > stored) {
				stored = pr.stored_events;
				last_progress = rn_now();
			}
			if (stored >= emitted)
				return;
			if (w->eof_sent && !w->gave_up && pr.emitted_events == emitted) {
				eof_applied = true;
				break;
			}
		}
		if (rn_now() - last_progress >= limit || (got_signal && rn_now() - started >= 2))
			break;
		struct timespec ts = {0, pause_ms * 1000000L};
		nanosleep(&ts, NULL);
		pause_ms = pause_ms * 2 > 200 ? 200 : pause_ms * 2;
	}
	if (stored < 0)
		stored = 0;
	long missing = emitted - stored;
	char text[1024];
	if (w->gave_up) {
		const char *why = w->gave_up_on_signal
		                      ? "the job was canceled while the bus was blocked"
		                      : "it stayed down or full too long: see result_traceback";
		int n = snprintf(text, sizeof text,
		                 "%ld of %ld events were lost: %ld could not be delivered to the "
		                 "event bus (%s)",
		                 missing, emitted, w->undelivered, why);
		if (missing > w->undelivered && n > 0 && (size_t)n < sizeof text)
			snprintf(text + n, sizeof text - n,
			         ", %ld delivered were not stored (see runneld's log)",
			         missing - w->undelivered);
		strncat(text, ".", sizeof text - strlen(text) - 1);
	} else if (eof_applied) {
		snprintf(text, sizeof text,
		         "%ld of %ld events were lost: the callback receiver got the job's last "
		         "message but not them (lost on the event bus, e.g. Redis restarted; or "
		         "refused by the store: see runneld's log).",
		         missing, emitted);
	} else {
		snprintf(text, sizeof text,
		         "%ld of %ld events were not stored when the job ended: no progress for "
		         "%.0f s (the event bus or the store is failing: see runneld's log).",
		         missing, emitted, rn_now() - last_progress);
	}
	fprintf(stderr, "runneld-worker: job %ld: %s\n", id, text);
	explain_retry(w, id, "job_explanation", text);
	if (w->gave_up && !w->gave_up_on_signal && w->bus_error[0])
		explain_retry(w, id, "result_traceback", w->bus_error);
	if (strcmp(*status, "canceled"))
		*status = "error";
}

/* Open the producer end of the bus, trying again while it is down (Redis
 * restarting) up to stall_timeout, or until a signal. NULL with err. */
static bus *open_bus(worker *w, const bus_settings *bs, runnel_error *err)
{
	double first = rn_now();
	int pause_ms = 50;
	for (;;) {
		bus *b = bus_open_producer(bs, err);
		if (b || got_signal || rn_now() - first >= w->stall_timeout ||
		    (err->code != ECONNREFUSED && err->code != ENOENT && err->code != EAGAIN))
			return b;
		struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		pause_ms = pause_ms * 2 > 1000 ? 1000 : pause_ms * 2;
	}
}

/* Write a JSON object as a file in the pdd's env/. */
static int write_env_file(const char *pdd, const char *name, json_t *obj, runnel_error *err)
{
	char *text = json_dumps(obj, JSON_INDENT(1));
	char *path = rn_xasprintf("%s/env/%s", pdd, name);
	int rc = rn_write_file_atomic(path, text, strlen(text), 0600, err);
	free(path);
	free(text);
	return rc;
}

/* A shell-quoted word for env/cmdline. Caller frees. */
static char *shquote(const char *s)
{
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_appendc(&b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			rn_buf_append(&b, "'\\''", 4);
		else
			rn_buf_appendc(&b, *s);
	}
	rn_buf_appendc(&b, '\'');
	return b.data;
}

/* Add runneld's task_env setting (AWX_TASK_ENV: an object in the worker's
 * settings) to a job's environment, values as Python's str() of them, as
 * AWX does. */
static void add_task_env(json_t *env, const json_t *task_env)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)task_env, k, v) {
		char *s = rn_py_str(v);
		json_object_set_new(env, k, json_string(s));
		free(s);
	}
}

/* Why a job canceled without its cancel flag ended: runneld shut down, or
 * runneld died and the kernel sent the signal (PR_SET_PDEATHSIG). */
static const char *shutdown_explanation(void)
{
	if (the_parent > 1 && getppid() != the_parent)
		return "Task was canceled due to receiving a shutdown signal: runneld, which ran "
		       "it, stopped "
		       "(the worker was signaled when runneld died).";
	return "Task was canceled due to receiving a shutdown signal.";
}

/* One job's run: what its steps share. */
typedef struct job_run {
	const wopts *o;
	store *st;
	json_t *job; /* the job as stored when the worker started */
	long id;
	const char *type;
	char host[256]; /* this machine: execution_node */
	worker w;
	task t;
	sandbox_policy sandbox; /* what the job's ansible may see (sandbox.h) */
	char *pdd;              /* the private data dir, once made */
	int timeout;            /* seconds (the job's, else runneld's default); 0: none */
	const char *status;     /* the final status so far */
	runnel_run_result res;
	bool ran; /* res holds a result */
} job_run;

/* Open the store and read the job. 0, or -1 (said on stderr). */
static int open_job(job_run *r)
{
	runnel_error err = {0};
	store_settings ss = {.backend = r->o->ws.store, .state_dir = r->o->state_dir};
	r->st = store_open(&ss, &err);
	if (!r->st) {
		fprintf(stderr, "runneld-worker: store: %s\n", err.message);
		return -1;
	}
	r->id = r->o->job;
	r->job = store_get(r->st, STORE_UNIFIED_JOB, r->id, &err);
	if (!r->job) {
		fprintf(stderr, "runneld-worker: job %ld: %s\n", r->id, err.message);
		return -1;
	}
	r->type = json_string_value(json_object_get(r->job, "type"));
	if (!r->type)
		r->type = "job";
	return 0;
}

/* Steps 1 and 2: a job that is not active is left alone; one whose cancel
 * flag is set (or a signal came) is canceled before it starts; else it is
 * running, from this worker on this machine. True when it is to run. */
static bool start_job(job_run *r)
{
	runnel_error err;
	if (!job_state_is_active(json_string_value(json_object_get(r->job, "status"))))
		return false;
	if (json_is_true(json_object_get(r->job, "cancel_flag")) || got_signal) {
		store_job_transition(r->st, r->id, NULL, "canceled", NULL, &err);
		return false;
	}
	if (store_job_transition(r->st, r->id, NULL, "running", NULL, &err) != 1)
		return false;
	snprintf(r->host, sizeof r->host, "localhost");
	gethostname(r->host, sizeof r->host);
	json_t *f = json_pack("{s:i,s:s,s:s}", "worker_pid", (int)getpid(), "execution_node",
	                      r->host, "controller_node", r->host);
	json_decref(
	    store_update(r->st, STORE_UNIFIED_JOB, r->id, f, STORE_SYSTEM | STORE_NO_RESULT, &err));
	json_decref(f);
	return true;
}

/* The worker's and the task's state, empty: the job's environment starts
 * from scratch (AWX's build_env): the account, locale and PATH of this
 * worker (which the dispatcher started with those only) and task_env; the
 * type and the run add the rest. */
static void init_run(job_run *r)
{
	const wopts *o = r->o;
	worker *w = &r->w;
	*w = (worker){.st = r->st,
	              .id_key = model_event_id_key(r->type),
	              .job_created = json_string_value(json_object_get(r->job, "created")),
	              .want_ok_res = !strcmp(r->type, "project_update"),
	              .stall_timeout = o->ws.event_stall_timeout};
	rn_buf_init(&w->msg);
	rn_buf_init(&w->scratch);
	rn_buf q;
	rn_buf_init(&q);
	const char *jc = w->job_created ? w->job_created : "";
	rn_json_quote(&q, jc, strlen(jc));
	w->created_json = q.data ? q.data : rn_xstrdup("\"\"");
	snprintf(w->ident, sizeof w->ident, "%ld", r->id);
	r->sandbox = (sandbox_policy){.enabled = o->ws.job_isolation,
	                              .executable = o->ws.job_isolation_executable,
	                              .state_dir = o->state_dir,
	                              .isolation_base = o->ws.isolation_base_path,
	                              .projects_root = o->ws.projects_root,
	                              .show_paths = o->ws.job_isolation_show_paths,
	                              .hide_paths = o->ws.job_isolation_hide_paths};
	r->t = (task){.st = r->st,
	              .sandbox = &r->sandbox,
	              .job_id = r->id,
	              .job = r->job,
	              .type = r->type,
	              .projects_root = o->ws.projects_root,
	              .state_dir = o->state_dir,
	              .default_job_timeout = o->ws.job_timeout,
	              .default_idle_timeout = o->ws.idle_timeout,
	              .worker = w};
	task *t = &r->t;
	t->extravars = json_object();
	t->envvars = runnel_env_basic();
	add_task_env(t->envvars, o->ws.task_env);
	t->passwords = json_object();
	t->settings = json_object();
	t->args = json_array();
	t->host_ids = json_object();
	t->secrets = json_array();
	t->artifacts = json_object();
	r->status = "error";
}

/* Step 2: the private data dir, mkdtemp <base>/<type>_<id>_XXXXXX (0700)
 * with env/ and inventory/, named in the job's process record before
 * anything runs in it (runneld finds the job's processes and the dir by it
 * if this worker dies). 0, or -1 with the job's record saying why. */
static int make_private_data_dir(job_run *r)
{
	runnel_error err = {0};
	const char *base = r->o->ws.isolation_base_path;
	char *pdd = rn_xasprintf("%s/%s_%ld_XXXXXX", base, r->type, r->id);
	if (rn_mkdirs(base, 0700, &err) < 0 || !mkdtemp(pdd)) {
		if (!err.message[0])
			rn_fail(&err, errno, "private data dir %s: %s", pdd, strerror(errno));
		explain(r->st, r->id, "job_explanation", "Could not create the private data dir.");
		explain(r->st, r->id, "result_traceback", err.message);
		free(pdd);
		return -1;
	}
	chmod(pdd, 0700);
	r->pdd = pdd;
	r->t.pdd = pdd;
	/* the sandbox every ansible of the job runs in (sandbox.h): the types
	 * add what they must show (a project update its checkout) */
	sandbox_settings(&r->sandbox, pdd, r->t.settings);
	r->w.rec = jobproc_worker_open(r->o->state_dir, r->id);
	jobproc_worker_note_pdd(r->w.rec, pdd);
	static const char *const subdirs[] = {"env", "inventory"};
	for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
		char *d = rn_path_join(pdd, subdirs[i]);
		mkdir(d, 0700);
		free(d);
	}
	return 0;
}

/* The producer end of the event bus (tried again while it is down). 0, or
 * -1 with the job's record saying why. */
static int connect_bus(job_run *r)
{
	runnel_error err = {0};
	bus_settings bs = {.backend = r->o->ws.bus,
	                   .socket_path = r->o->ws.bus_socket,
	                   .redis_url = r->o->ws.redis_url,
	                   .queue = r->o->ws.redis_queue};
	r->w.bus = open_bus(&r->w, &bs, &err);
	if (!r->w.bus) {
		explain(r->st, r->id, "job_explanation", "Could not reach the event bus.");
		explain(r->st, r->id, "result_traceback", err.message);
		return -1;
	}
	return 0;
}

/* Step 3: the type's prepare() builds its part of the private data dir:
 * inventory, credentials (args, passwords, ssh key), extra vars, what to
 * run (tasks/<type>.c). A bad input of the job (a playbook outside the
 * project, bad vars) fails it with the reason, as AWX reports launch-time
 * problems. 0, or -1 with the status and the record set. */
static int prepare_task(job_run *r)
{
	static const struct {
		const char *type;
		int (*prepare)(task *, runnel_error *);
	} types[] = {{"job", task_job_prepare},
	             {"ad_hoc_command", task_adhoc_prepare},
	             {"project_update", task_project_update_prepare},
	             {"inventory_update", task_inventory_update_prepare},
	             {"system_job", task_system_job_prepare}};
	runnel_error err = {0};
	int rc = rn_fail(&err, EINVAL, "type: unknown job type '%s'", r->type);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(types[i].type, r->type))
			rc = types[i].prepare(&r->t, &err);
	if (rc < 0) {
		r->status = "failed";
		explain(r->st, r->id, "job_explanation", err.message);
		task_emit(&r->t, err.message);
	}
	return rc;
}

/* Step 3: the environment and the meta variables every type gets (AWX's
 * build_env and build_extra_vars_file). */
static void build_env(job_run *r)
{
	task *t = &r->t;
	long id = r->id;
	json_object_set_new(t->extravars, "awx_job_id", json_integer(id));
	json_object_set_new(t->extravars, "tower_job_id", json_integer(id));
	json_object_set_new(t->extravars, "awx_job_launch_type",
	                    json_string(task_str(t, "launch_type")));
	json_object_set_new(t->extravars, "tower_job_launch_type",
	                    json_string(task_str(t, "launch_type")));
	json_object_set_new(t->extravars, "awx_execution_node", json_string(r->host));
	if (task_int(t, "created_by")) {
		json_object_set_new(t->extravars, "awx_user_id",
		                    json_integer(task_int(t, "created_by")));
		/* the username as the job shows it (summary_fields, read with
		 * the job): the user is not read again */
		const char *uname = task_summary(t, "created_by", "username");
		if (uname)
			json_object_set_new(t->extravars, "awx_user_name", json_string(uname));
	}
	char idbuf[32];
	snprintf(idbuf, sizeof idbuf, "%ld", id);
	json_object_set_new(t->envvars, "JOB_ID", json_string(idbuf));
	json_object_set_new(t->envvars, "AWX_PRIVATE_DATA_DIR", json_string(r->pdd));
	json_object_set_new(t->envvars, "ANSIBLE_RETRY_FILES_ENABLED", json_string("False"));
	json_object_set_new(t->envvars, "ANSIBLE_HOST_KEY_CHECKING", json_string("False"));
	json_object_set_new(t->envvars, "ANSIBLE_FORCE_COLOR", json_string("True"));
	json_object_set_new(t->envvars, "MAX_EVENT_RES", json_string("700000"));
	json_object_set_new(t->envvars, "PYTHONUNBUFFERED", json_string("1"));
	if (task_int(t, "inventory")) {
		snprintf(idbuf, sizeof idbuf, "%ld", task_int(t, "inventory"));
		json_object_set_new(t->envvars, "INVENTORY_ID", json_string(idbuf));
	}
}

/* Step 3: env/extravars, env/settings (timeouts, cancel grace) and
 * env/cmdline (the extra words, shell-quoted, as ansible-runner reads
 * them). 0, or -1 with the record saying why. */
static int write_pdd_files(job_run *r)
{
	task *t = &r->t;
	const worker_settings *ws = &r->o->ws;
	runnel_error err = {0};
	r->timeout = t->cfg.timeout ? t->cfg.timeout : ws->job_timeout;
	if (r->timeout > 0)
		json_object_set_new(t->settings, "job_timeout", json_integer(r->timeout));
	if (ws->idle_timeout > 0)
		json_object_set_new(t->settings, "idle_timeout", json_integer(ws->idle_timeout));
	json_object_set_new(t->settings, "suppress_ansible_output", json_true());
	json_object_set_new(t->settings, "cancel_grace_period", json_real(ws->cancel_grace_period));
	if (write_env_file(r->pdd, "extravars", t->extravars, &err) < 0 ||
	    write_env_file(r->pdd, "settings", t->settings, &err) < 0) {
		explain(r->st, r->id, "result_traceback", err.message);
		return -1;
	}
	rn_buf cmdline;
	rn_buf_init(&cmdline);
	size_t i;
	json_t *a;
	json_array_foreach(t->args, i, a) {
		char *q = shquote(json_string_value(a));
		if (cmdline.len)
			rn_buf_appendc(&cmdline, ' ');
		rn_buf_append(&cmdline, q, strlen(q));
		free(q);
	}
	int rc = 0;
	if (cmdline.len) {
		char *path = rn_path_join(r->pdd, "env/cmdline");
		rc = rn_write_file_atomic(path, cmdline.data, cmdline.len, 0600, &err);
		free(path);
		if (rc < 0)
			explain(r->st, r->id, "result_traceback", err.message);
	}
	rn_buf_free(&cmdline);
	return rc;
}

/* Step 4: run: runnel_run() with the four callbacks (or the type's own
 * run()); secrets go in memory (passwords, ssh_key; no env files). 0, or -1
 * with the record saying why (the job could not be started). */
static int run_task(job_run *r)
{
	task *t = &r->t;
	runnel_error err = {0};
	/* the sandbox must start, or the job does not run: never unsandboxed */
	if ((!t->run || t->run_sandboxed) && sandbox_on(t->settings) &&
	    sandbox_probe(t->settings, r->pdd, t->envvars, the_canceler, &err) < 0) {
		if (!got_signal) {
			explain(r->st, r->id, "job_explanation", err.message);
			task_emit(t, err.message);
			r->status = "error";
		}
		return -1;
	}
	t->cfg.private_data_dir = r->pdd;
	t->cfg.ident = r->w.ident;
	t->cfg.quiet = true;
	t->cfg.suppress_env_files = true;
	t->cfg.envvars = t->envvars;
	t->cfg.clean_environment = true;
	t->cfg.passwords = json_object_size(t->passwords) ? t->passwords : NULL;
	t->cfg.ssh_key = t->ssh_key;
	t->cfg.timeout = r->timeout;
	t->cfg.cancel_grace_period = r->o->ws.cancel_grace_period;
	t->cfg.event_handler = on_event;
	t->cfg.status_handler = on_status;
	t->cfg.cancel_callback = on_cancel;
	t->cfg.finished_callback = on_finished;
	t->cfg.canceler = the_canceler;
	t->cfg.userdata = t;
	int rc = t->run ? t->run(t, &r->res, &err) : runnel_run(&t->cfg, &r->res, &err);
	r->ran = rc == 0;
	if (rc < 0) {
		explain(r->st, r->id, "job_explanation", "The job could not be started.");
		explain(r->st, r->id, "result_traceback", err.message);
		r->status = "error";
	}
	return rc;
}

/* Step 5: the run's result as the job's status: timeout → failed;
 * canceled with the cancel flag → canceled, without it → failed (runneld
 * shut down), after a bus given up on → error; then the type's after()
 * (import, revision), whose failure fails a successful job. */
static void map_result(job_run *r)
{
	runnel_error err;
	store_progress now;
	bool cancel_flag = store_job_progress(r->st, r->id, &now, &err) == 0 && now.cancel_flag;
	switch (r->res.status) {
	case RUNNEL_SUCCESSFUL:
		r->status = "successful";
		break;
	case RUNNEL_TIMEOUT:
		r->status = "failed";
		explain(r->st, r->id, "job_explanation", "Job terminated due to timeout");
		break;
	case RUNNEL_CANCELED:
		if (r->w.gave_up && !r->w.gave_up_on_signal) {
			r->status = "error"; /* account_events says why */
		} else if (cancel_flag) {
			r->status = "canceled";
		} else {
			r->status = "failed";
			explain(r->st, r->id, "job_explanation", shutdown_explanation());
		}
		break;
	default:
		r->status = "failed";
		if (r->res.rc != 0) {
			char why[96];
			snprintf(why, sizeof why, "ansible exited with rc %d", r->res.rc);
			explain(r->st, r->id, "result_traceback", why);
		}
		break;
	}
	if (r->t.after && r->t.after(&r->t, &r->res, &err) < 0) {
		if (!strcmp(r->status, "successful"))
			r->status = "failed";
		explain(r->st, r->id, "job_explanation", err.message);
		task_emit(&r->t, err.message);
	}
}

/* Step 6: finish, whatever happened before: a job stopped by a signal
 * before it ran is canceled (its flag) or failed (shutdown); the EOF goes
 * on the bus and the worker waits for the job's events to be stored (a
 * loss makes the job error, saying how many); emitted_events, artifacts and
 * the kept private data dir are saved, the dir removed unless kept; then
 * the final status. The writes are tried again while the store fails (a
 * full disk), up to event_stall_timeout. */
static void finish_job(job_run *r)
{
	runnel_error err;
	long id = r->id;
	if (got_signal && !strcmp(r->status, "error")) {
		store_progress now;
		bool cf = store_job_progress(r->st, id, &now, &err) == 0 && now.cancel_flag;
		r->status = cf ? "canceled" : "failed";
		if (!cf)
			explain(r->st, id, "job_explanation", shutdown_explanation());
	}
	if (r->w.bus) {
		send_eof(&r->t);
		account_events(&r->w, id, &r->status);
	}
	bool keep = !r->o->ws.cleanup_paths;
	json_t *fin = json_pack("{s:I,s:O}", "emitted_events", (json_int_t)r->w.produced,
	                        "artifacts", r->t.artifacts);
	if (r->pdd && keep)
		json_object_set_new(fin, "private_data_dir", json_string(r->pdd));
	double first = rn_now();
	int pause = 50;
	json_t *saved;
	while (!(saved = store_update(r->st, STORE_UNIFIED_JOB, id, fin,
	                              STORE_SYSTEM | STORE_NO_RESULT, &err))) {
		fprintf(stderr, "runneld-worker: job %ld: save emitted_events: %s\n", id,
		        err.message);
		if (!retry_write(&r->w, first, &pause, &err))
			break;
	}
	json_decref(saved);
	json_decref(fin);
	if (r->pdd && !keep)
		nftw(r->pdd, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	first = rn_now();
	pause = 50;
	while (store_job_transition(r->st, id, NULL, r->status, NULL, &err) < 0) {
		fprintf(stderr, "runneld-worker: job %ld: status %s: %s\n", id, r->status,
		        err.message);
		if (!retry_write(&r->w, first, &pause, &err))
			break;
	}
}

/* Free what the run holds. */
static void free_run(job_run *r)
{
	task *t = &r->t;
	if (r->ran)
		runnel_result_clear(&r->res);
	bus_close(r->w.bus);
	jobproc_worker_close(r->w.rec);
	rn_buf_free(&r->w.msg);
	rn_buf_free(&r->w.scratch);
	free(r->w.created_json);
	for (int k = 0; k < t->nstrings; k++)
		free(t->strings[k]);
	free(t->ssh_key);
	json_decref(t->extravars), json_decref(t->envvars), json_decref(t->passwords);
	json_decref(t->settings), json_decref(t->args), json_decref(t->host_ids);
	json_decref(t->secrets), json_decref(t->artifacts), json_decref(t->last_ok_res);
	free(r->pdd);
	json_decref(r->job);
	store_close(r->st);
}

/* Run the job, step by step (see the top of this file); the process exit
 * code. */
static int run_job(wopts *o)
{
	job_run r = {.o = o};
	if (open_job(&r) < 0) {
		json_decref(r.job);
		store_close(r.st);
		return 2;
	}
	/* the job settings changed at /api/v2/settings/ take effect now */
	runnel_error serr = {0};
	if (sys_settings_overlay(r.st, &o->ws, &serr) < 0)
		fprintf(stderr, "runneld-worker: job %ld: settings: %s (runneld's own used)\n",
		        r.id, serr.message);
	if (!start_job(&r)) {
		json_decref(r.job);
		store_close(r.st);
		return 0;
	}
	init_run(&r);
	if (make_private_data_dir(&r) == 0 && connect_bus(&r) == 0 && !got_signal &&
	    prepare_task(&r) == 0) {
		build_env(&r);
		if (write_pdd_files(&r) == 0 && !got_signal && run_task(&r) == 0)
			map_result(&r);
	}
	finish_job(&r);
	free_run(&r);
	return 0;
}

/* Read the settings (worker_settings.h) from path, or stdin for "-"; then
 * stdin is /dev/null (nothing the job runs reads runneld's settings). 0, or
 * -1 with err. */
static int read_settings(const char *path, worker_settings *ws, runnel_error *err)
{
	size_t len = 0;
	char *text;
	if (strcmp(path, "-")) {
		text = rn_read_file(path, &len, err);
		if (!text)
			return -1;
	} else {
		rn_buf b;
		rn_buf_init(&b);
		char chunk[4096];
		for (;;) {
			ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rn_buf_free(&b);
				return rn_fail(err, errno, "settings: cannot read stdin: %s",
				               strerror(errno));
			}
			if (n == 0)
				break;
			rn_buf_append(&b, chunk, (size_t)n);
		}
		len = b.len;
		rn_buf_appendc(&b, '\0');
		text = b.data;
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			close(devnull);
		}
	}
	int rc = worker_settings_load(ws, text, len, strcmp(path, "-") ? path : "stdin", err);
	free(text);
	return rc;
}

/* runneld-worker main: the job, runneld's settings, signals; run. */
int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
	    {"state-dir", required_argument, NULL, 's'},
	    {"job", required_argument, NULL, 'j'},
	    {"settings", required_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	static const char usage[] =
	    "usage: runneld-worker --state-dir D --job ID --settings FILE|- (JSON: "
	    "worker_settings.h)\n";
	wopts o = {0};
	const char *settings = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.state_dir = optarg;
			break;
		case 'j':
			o.job = atol(optarg);
			break;
		case 'S':
			settings = optarg;
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!o.state_dir || o.job <= 0 || !settings || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	runnel_error serr = {0};
	if (read_settings(settings, &o.ws, &serr) < 0) {
		fprintf(stderr, "runneld-worker: job %ld: %s\n", o.job, serr.message);
		return 2;
	}
	runnel_error err;
	the_canceler = runnel_canceler_new(&err);
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* the engine going away is a shutdown signal for its jobs */
	the_parent = getppid();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* the job (this worker, then ansible) runs below the control plane: when
	 * the machine is saturated, runneld's receiver and API keep their pace
	 * and the jobs wait on back-pressure, instead of events piling up in the
	 * bus behind a starved receiver (freshness) */
	if (setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) + 5) < 0) {
		/* not fatal: the job runs at runneld's priority */
	}
	if (getppid() == 1)
		got_signal = 1;
	int rc = run_job(&o);
	/* no signal may reach a freed canceler */
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	runnel_canceler *canceler = the_canceler;
	the_canceler = NULL;
	runnel_canceler_free(canceler);
	worker_settings_clear(&o.ws);
	return rc;
}
