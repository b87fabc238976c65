/*
 * worker.c - runneld-worker: runs ONE unified job in its own process, as
 * AWX's BaseTask.run() does (spec/service.md §1, §2):
 *
 *   1. refuse a job that is not active; canceled if its cancel flag is set
 *   2. running; the private data dir: mkdtemp <base>/<type>_<id>_XXXXXX, 0700
 *   3. cancel check; the type's prepare(): credentials, passwords,
 *      env/extravars (with awx_* vars), args, env, inventory, env/settings
 *   4. runnel_run() with event_handler / status_handler / cancel_callback /
 *      finished_callback (or the type's own run())
 *   5. map the result: timeout/error → failed with explanation; canceled
 *      without the cancel flag → failed (shutdown); prepare errors → error
 *   6. final status + emitted_events; remove the dir unless cleanup is off
 *
 * Cancel is a signal: SIGTERM/SIGINT set a flag and cancel the runner at once
 * (runnel_cancel is async-signal-safe). The engine's dispatcher sends it; if
 * the engine dies, PR_SET_PDEATHSIG sends it too.
 *
 * Usage: runneld-worker --state-dir D --job ID [--bus local|redis]
 *        [--bus-socket P] [--redis-url U] [--redis-queue Q] [--store sqlite]
 *        [--isolation-base P] [--cleanup 0|1] [--projects-root P]
 *        [--job-timeout S] [--idle-timeout S] [--cancel-grace S]
 *        [--event-stall-timeout S] [--isolation 0|1] [--isolation-executable P]
 *        [--isolation-show-paths JSON] [--isolation-hide-paths JSON]
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
#include "jobproc.h"
#include "jscan.h"
#include "field_rules.h"
#include "model.h"
#include "project_files.h"
#include "sandbox.h"
#include "tasks/task.h"
#include "util.h"

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

/* The options of the worker, as data. */
typedef struct wopts {
	const char *state_dir, *bus, *bus_socket, *redis_url, *redis_queue, *store_backend;
	const char *isolation_base, *projects_root;
	const char *isolation_executable;        /* job_isolation_executable */
	json_t *isolation_show, *isolation_hide; /* arrays, or NULL */
	int isolation;                           /* job_isolation (1: on) */
	long job;
	int cleanup, job_timeout, idle_timeout, event_stall_timeout;
	double cancel_grace;
} wopts;

static const struct option long_opts[] = {
    {"state-dir", required_argument, NULL, 's'},
    {"job", required_argument, NULL, 'j'},
    {"bus", required_argument, NULL, 'b'},
    {"bus-socket", required_argument, NULL, 'S'},
    {"redis-url", required_argument, NULL, 'r'},
    {"redis-queue", required_argument, NULL, 'q'},
    {"store", required_argument, NULL, 'd'},
    {"isolation-base", required_argument, NULL, 'i'},
    {"cleanup", required_argument, NULL, 'c'},
    {"projects-root", required_argument, NULL, 'p'},
    {"job-timeout", required_argument, NULL, 't'},
    {"idle-timeout", required_argument, NULL, 'I'},
    {"cancel-grace", required_argument, NULL, 'g'},
    {"event-stall-timeout", required_argument, NULL, 'E'},
    {"isolation", required_argument, NULL, 'Z'},
    {"isolation-executable", required_argument, NULL, 'X'},
    {"isolation-show-paths", required_argument, NULL, 'W'},
    {"isolation-hide-paths", required_argument, NULL, 'H'},
    {NULL, 0, NULL, 0},
};

/* ------------------------------------------------------------------ */
/* helpers for the task types                                           */

/* Keep s until the end of the task. */
const char *task_keep(task *t, char *s)
{
	if (t->nstrings < (int)(sizeof t->strings / sizeof t->strings[0]))
		t->strings[t->nstrings++] = s;
	return s;
}

/* A string field of the job ("" if absent). */
const char *task_str(task *t, const char *field)
{
	const char *s = json_string_value(json_object_get(t->job, field));
	return s ? s : "";
}

/* An integer field of the job (0 if absent). */
long task_int(task *t, const char *field)
{
	return (long)json_integer_value(json_object_get(t->job, field));
}

/* A boolean field of the job. */
bool task_bool(task *t, const char *field)
{
	return json_is_true(json_object_get(t->job, field));
}

/* Parse variables text (JSON first, then YAML, as ansible-runner's loader),
 * within the loader's bounds (datafile.h: an alias bomb is an error). */
json_t *task_parse_vars(task *t, const char *field, const char *text, runnel_error *err)
{
	(void)t;
	if (!text || !*text)
		return json_object();
	runnel_error e2 = {0};
	json_t *o = rn_datafile_parse(field, text, strlen(text), &e2);
	if (!o) {
		if (e2.code == E2BIG)
			return rn_fail(err, EINVAL, "%s", e2.message), NULL;
		return rn_fail(err, EINVAL, "%s: not valid JSON or YAML: %s", field, e2.message),
		       NULL;
	}
	if (json_is_null(o)) {
		json_decref(o);
		return json_object();
	}
	if (!json_is_object(o)) {
		json_decref(o);
		return rn_fail(err, EINVAL, "%s: must be a mapping", field), NULL;
	}
	return o;
}

/* Turn a stored variables object ({"__yaml": text} for YAML) into a mapping. */
static json_t *vars_resolve(task *t, json_t *v, runnel_error *err)
{
	json_t *y = json_object_get(v, "__yaml");
	if (json_is_string(y) && json_object_size(v) == 1)
		return task_parse_vars(t, "variables", json_string_value(y), err);
	return json_incref(v);
}

/* The inventory script: it prints the inventory's JSON, held as hex digits
 * (nothing in a name or a variable can change the program), for --list and
 * the hostvars of one host for --host (ansible asks --list only: _meta). */
static char *inventory_script(const char *json)
{
	static const char head[] =
	    "#!/usr/bin/python3\n"
	    "# The inventory of a runneld job, as AWX hands it to ansible: a script\n"
	    "# printing its JSON (groups, their hosts, vars and children; _meta.hostvars).\n"
	    "import json, sys\n"
	    "data = bytes.fromhex('";
	static const char tail[] =
	    "').decode('utf-8')\n"
	    "if len(sys.argv) > 2 and sys.argv[1] == '--host':\n"
	    "    data = json.dumps(json.loads(data)['_meta']['hostvars'].get(sys.argv[2], {}))\n"
	    "sys.stdout.write(data)\n";
	static const char hex[] = "0123456789abcdef";
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_append(&b, head, sizeof head - 1);
	for (const unsigned char *p = (const unsigned char *)json; *p; p++) {
		char two[2] = {hex[*p >> 4], hex[*p & 15]};
		rn_buf_append(&b, two, 2);
	}
	rn_buf_append(&b, tail, sizeof tail - 1);
	return b.data;
}

/* Write inventory/hosts from the stored inventory: AWX's script form (the
 * group names as keys, each {hosts: [names], vars, children: [names]},
 * "all", and _meta.hostvars), printed by an executable script, as AWX's
 * build_inventory does. ansible's script plugin adds each name as it is:
 * no INI or YAML parsing, no host pattern ranges, nothing to inject. */
int task_write_inventory(task *t, long inventory_id, runnel_error *err)
{
	json_t *script = store_inventory_script(t->st, inventory_id, err);
	if (!script)
		return -1;
	json_decref(t->host_ids);
	t->host_ids = json_incref(json_object_get(script, "__host_ids"));
	json_object_del(script, "__host_ids");
	const char *name;
	json_t *g;
	int rc = 0;
	json_object_foreach(script, name, g) {
		json_t *vars = json_object_get(g, "vars");
		if (!strcmp(name, "_meta") || !vars)
			continue;
		json_t *rv = vars_resolve(t, vars, err);
		if (!rv) {
			rc = -1;
			break;
		}
		json_object_set_new(g, "vars", rv);
	}
	json_t *hostvars = json_object_get(json_object_get(script, "_meta"), "hostvars");
	json_t *hv;
	json_object_foreach(hostvars, name, hv) {
		json_t *rv = rc ? NULL : vars_resolve(t, hv, err);
		if (!rv) {
			rc = -1;
			break;
		}
		json_object_set_new(hostvars, name, rv);
	}
	if (rc == 0) {
		char *json = json_dumps(script, JSON_COMPACT | JSON_ENSURE_ASCII);
		char *text = json ? inventory_script(json) : NULL;
		char *path = rn_path_join(t->pdd, "inventory/hosts");
		if (!text)
			rc = rn_fail(err, ENOMEM, "inventory: cannot write the inventory of %ld",
			             inventory_id);
		else
			rc = rn_write_file_atomic(path, text, strlen(text), 0700, err);
		free(path);
		free(text);
		free(json);
	}
	json_decref(script);
	return rc;
}

/* Add a word to the command line. */
static void arg(task *t, const char *w)
{
	json_array_append_new(t->args, json_string(w));
}

/* Remember a secret (for redaction) and return it. */
static const char *secret(task *t, const char *s)
{
	if (s && *s)
		json_array_append_new(t->secrets, json_string(s));
	return s;
}

/* Apply one credential (AWX's build_args / build_passwords_prompts). */
int task_add_credential(task *t, long id, bool become_enabled, runnel_error *err)
{
	json_t *in = store_credential_inputs(t->st, id, err);
	if (!in)
		return -1;
	const char *kind = json_string_value(json_object_get(in, "__kind"));
	const char *k;
	json_t *v;
	json_object_foreach(in, k, v)
		if (strcmp(k, "__kind") && json_is_string(v) &&
		    (strstr(k, "password") || strstr(k, "ssh_key") || strstr(k, "unlock")))
			secret(t, json_string_value(v));
#define IN(name)                                                                                   \
	(json_string_value(json_object_get(in, name))                                              \
	     ? json_string_value(json_object_get(in, name))                                        \
	     : "")
	if (kind && !strcmp(kind, "ssh")) {
		if (*IN("username")) {
			arg(t, "-u");
			arg(t, IN("username"));
		}
		if (*IN("password")) {
			arg(t, "--ask-pass");
			json_object_set_new(t->passwords, "SSH password:\\s*?$",
			                    json_string(IN("password")));
			json_object_set_new(t->passwords, "Password:\\s*?$",
			                    json_string(IN("password")));
		}
		if (*IN("ssh_key_data")) {
			free(t->ssh_key);
			t->ssh_key = rn_xstrdup(IN("ssh_key_data"));
		}
		if (*IN("ssh_key_unlock")) {
			json_object_set_new(t->passwords, "Enter passphrase for .*:\\s*?$",
			                    json_string(IN("ssh_key_unlock")));
			json_object_set_new(t->passwords, "Bad passphrase, try again for .*:\\s*?$",
			                    json_string(""));
		}
		if (become_enabled) {
			arg(t, "--become");
			if (*IN("become_method")) {
				arg(t, "--become-method");
				arg(t, IN("become_method"));
			}
			if (*IN("become_username")) {
				arg(t, "--become-user");
				arg(t, IN("become_username"));
			}
			if (*IN("become_password")) {
				arg(t, "--ask-become-pass");
				const char *m = *IN("become_method") ? IN("become_method") : "sudo";
				char *re = rn_xasprintf("%s password.*:\\s*?$", m);
				json_object_set_new(t->passwords, re,
				                    json_string(IN("become_password")));
				free(re);
				json_object_set_new(t->passwords, "BECOME password.*:\\s*?$",
				                    json_string(IN("become_password")));
			}
		}
	} else if (kind && !strcmp(kind, "vault")) {
		const char *vid = IN("vault_id");
		if (*vid && rules_vault_id("vault_id", vid, err) < 0) {
			json_decref(in);
			return -1;
		}
		if (*vid) {
			char *w = rn_xasprintf("%s@prompt", vid);
			arg(t, "--vault-id");
			arg(t, w);
			free(w);
			char *re = rn_xasprintf("Vault password \\(%s\\):\\s*?$", vid);
			json_object_set_new(t->passwords, re, json_string(IN("vault_password")));
			free(re);
		} else if (*IN("vault_password")) {
			arg(t, "--ask-vault-pass");
			json_object_set_new(t->passwords, "Vault password:\\s*?$",
			                    json_string(IN("vault_password")));
		}
	} else if (kind && !strcmp(kind, "scm")) {
		if (*IN("ssh_key_data")) {
			free(t->ssh_key);
			t->ssh_key = rn_xstrdup(IN("ssh_key_data"));
		}
		if (*IN("ssh_key_unlock"))
			json_object_set_new(t->passwords, "Enter passphrase for .*:\\s*?$",
			                    json_string(IN("ssh_key_unlock")));
	}
#undef IN
	json_decref(in);
	return 0;
}

/* A project's directory (project_files.h: one directory under the projects root). */
char *task_project_dir(task *t, long project_id, runnel_error *err)
{
	json_t *p = store_get(t->st, STORE_PROJECT, project_id, err);
	if (!p)
		return NULL;
	char *dir = project_dir(t->projects_root, p, err);
	json_decref(p);
	return dir;
}

/* Copy the project into the private data dir (task.h). */
const char *task_copy_project(task *t, const char *dir, runnel_error *err)
{
	char *copy = rn_path_join(t->pdd, "project");
	task_keep(t, copy);
	if (sandbox_copy_project(dir, copy, err) < 0)
		return NULL;
	return copy;
}

/* Check that rel stays inside dir and exists. */
int task_path_inside(const char *dir, const char *rel, const char *field, runnel_error *err)
{
	return project_file_inside(dir, rel, field, err);
}

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

/* event_handler: add the job's keys and the host id, dispatch to the bus. */
static bool on_event_json(json_t *event, void *ud)
{
	task *t = ud;
	worker *w = t->worker;
	const char *name = json_string_value(json_object_get(event, "event"));
	if (name && !strcmp(name, "keepalive"))
		return false;
	json_object_set_new(event, w->id_key, json_integer(t->job_id));
	json_object_set_new(event, "job_created", json_string(w->job_created));
	json_t *data = json_object_get(event, "event_data");
	const char *host = json_string_value(json_object_get(data, "host"));
	if (host) {
		json_object_set_new(event, "host_name", json_string(host));
		json_t *hid = json_object_get(t->host_ids, host);
		if (hid)
			json_object_set(event, "host_id", hid);
	}
	if (name && !strcmp(name, "playbook_on_stats")) {
		json_t *ad = json_object_get(data, "artifact_data");
		if (json_is_object(ad))
			json_object_update(t->artifacts, ad);
	}
	if (name && !strcmp(name, "runner_on_ok")) {
		json_decref(t->last_ok_res);
		t->last_ok_res = json_incref(json_object_get(data, "res"));
	}
	json_t *c = json_object_get(event, "counter");
	if (json_is_integer(c) && json_integer_value(c) > w->counter)
		w->counter = (long)json_integer_value(c);
	json_t *el = json_object_get(event, "end_line");
	if (json_is_integer(el) && json_integer_value(el) > w->end_line)
		w->end_line = (long)json_integer_value(el);
	/* emitted_events counts every event the job made, delivered or not:
	 * event_processing_finished never turns true over a missing one */
	char *text = json_dumps(event, JSON_COMPACT);
	send_event(w, text, strlen(text), true);
	free(text);
	return false; /* the events live in the store; no job_events files */
}

/* Send the queued events. */
static void flush_msgs(worker *w)
{
	if (w->bus && !w->gave_up && w->pending)
		deliver(w);
}

/* The runner's event_handler, without parsing the event: the text gets the
 * job's keys and the host spliced in before its closing brace, and goes to
 * the bus as it is. Only what needs the tree (playbook_on_stats for the
 * artifacts, runner_on_ok when the type reads its res) takes on_event_json(). */
static bool on_event(runnel_event *event, void *ud)
{
	task *t = ud;
	worker *w = t->worker;
	const char *name = runnel_event_type(event);
	if (name && (!strcmp(name, "keepalive") || !strcmp(name, "playbook_on_stats") ||
	             (w->want_ok_res && !strcmp(name, "runner_on_ok"))))
		return on_event_json(runnel_event_object(event), ud);
	size_t len;
	const char *text = runnel_event_json(event, &len);
	evs_span obj = {text, len};
	while (obj.n && obj.p[obj.n - 1] != '}')
		obj.n--;
	evs_iter it;
	const char *k;
	size_t kl;
	evs_span v, data = {0}, end_line = {0};
	bool taken = false; /* a key we add is there already: the tree decides */
	size_t idl = strlen(w->id_key);
	if (!evs_begin(&it, obj))
		return on_event_json(runnel_event_object(event), ud);
	while (evs_next(&it, &k, &kl, &v)) {
		if (kl == 10 && !memcmp(k, "event_data", 10))
			data = v;
		else if (kl == 8 && !memcmp(k, "end_line", 8))
			end_line = v;
		else if ((kl == idl && !memcmp(k, w->id_key, idl)) ||
		         (kl == 11 && !memcmp(k, "job_created", 11)) ||
		         (kl == 9 && !memcmp(k, "host_name", 9)) ||
		         (kl == 7 && !memcmp(k, "host_id", 7)))
			taken = true;
	}
	if (taken)
		return on_event_json(runnel_event_object(event), ud);
	evs_span host = evs_get(data, "host");
	long c = runnel_event_counter(event);
	if (c > w->counter)
		w->counter = c;
	long long el;
	if (evs_integer(end_line, &el) && el > w->end_line)
		w->end_line = (long)el;
	/* text without its closing brace, then the keys, then the brace */
	rn_buf *m = &w->msg;
	rn_buf_reset(m);
	size_t body = obj.n - 1;
	while (body && (obj.p[body - 1] == ' ' || obj.p[body - 1] == '\n' ||
	                obj.p[body - 1] == '\t' || obj.p[body - 1] == '\r'))
		body--;
	bool empty = body && obj.p[body - 1] == '{';
	rn_buf_append(m, obj.p, body);
	char num[96];
	int nn = snprintf(num, sizeof num, "%s\"%s\": %ld, \"job_created\": ", empty ? "" : ", ",
	                  w->id_key, t->job_id);
	rn_buf_append(m, num, (size_t)nn);
	rn_buf_append(m, w->created_json, strlen(w->created_json));
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
	send_event(w, m->data, m->len, false);
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
	on_event_json(ev, t);
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
	json_t *o = store_update(w->st, STORE_UNIFIED_JOB, t->job_id, f, STORE_SYSTEM, &err);
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
		json_t *j = store_get(w->st, STORE_UNIFIED_JOB, id, &err);
		if (j) {
			long now_stored =
			    (long)json_integer_value(json_object_get(j, "stored_events"));
			long row_emitted =
			    (long)json_integer_value(json_object_get(j, "emitted_events"));
			json_decref(j);
			if (now_stored > stored) {
				stored = now_stored;
				last_progress = rn_now();
			}
			if (stored >= emitted)
				return;
			if (w->eof_sent && !w->gave_up && row_emitted == emitted) {
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

/* Add runneld's task_env setting (AWX_TASK_ENV; RUNNELD_TASK_ENV, a JSON
 * object the dispatcher hands over) to a job's environment, values as
 * Python's str() of them, as AWX does. */
static void add_task_env(json_t *env)
{
	const char *text = getenv("RUNNELD_TASK_ENV");
	json_t *o = text && *text ? json_loads(text, 0, NULL) : NULL;
	const char *k;
	json_t *v;
	if (text && *text && !json_is_object(o))
		fprintf(stderr, "runneld-worker: ignoring RUNNELD_TASK_ENV: not a JSON object\n");
	if (json_is_object(o))
		json_object_foreach(o, k, v) {
			char *s = rn_py_str(v);
			json_object_set_new(env, k, json_string(s));
			free(s);
		}
	json_decref(o);
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

/* Run the job; returns the process exit code. */
static int run_job(const wopts *o)
{
	runnel_error err = {0};
	store_settings ss = {.backend = o->store_backend, .state_dir = o->state_dir};
	store *st = store_open(&ss, &err);
	if (!st) {
		fprintf(stderr, "runneld-worker: store: %s\n", err.message);
		return 2;
	}
	json_t *job = store_get(st, STORE_UNIFIED_JOB, o->job, &err);
	if (!job) {
		fprintf(stderr, "runneld-worker: job %ld: %s\n", o->job, err.message);
		store_close(st);
		return 2;
	}
	const char *type = json_string_value(json_object_get(job, "type"));
	long id = o->job;
	/* 1. refuse what is not active; canceled before it started */
	if (!store_status_is_active(json_string_value(json_object_get(job, "status")))) {
		json_decref(job);
		store_close(st);
		return 0;
	}
	if (json_is_true(json_object_get(job, "cancel_flag")) || got_signal) {
		store_job_transition(st, id, store_active_statuses, "canceled", NULL, &err);
		json_decref(job);
		store_close(st);
		return 0;
	}
	/* 2. running */
	const char *from[] = {"new", "pending", "waiting", NULL};
	if (store_job_transition(st, id, from, "running", NULL, &err) != 1) {
		json_decref(job);
		store_close(st);
		return 0;
	}
	char host[256] = "localhost";
	gethostname(host, sizeof host);
	json_t *f = json_pack("{s:i,s:s,s:s}", "worker_pid", (int)getpid(), "execution_node", host,
	                      "controller_node", host);
	json_decref(store_update(st, STORE_UNIFIED_JOB, id, f, STORE_SYSTEM, &err));
	json_decref(f);

	worker w = {.st = st,
	            .id_key = model_event_id_key(type),
	            .job_created = json_string_value(json_object_get(job, "created")),
	            .want_ok_res = !strcmp(type, "project_update"),
	            .stall_timeout = o->event_stall_timeout > 0 ? o->event_stall_timeout : 120};
	rn_buf_init(&w.msg);
	rn_buf_init(&w.scratch);
	{
		rn_buf q;
		rn_buf_init(&q);
		const char *jc = w.job_created ? w.job_created : "";
		rn_json_quote(&q, jc, strlen(jc));
		w.created_json = q.data ? q.data : rn_xstrdup("\"\"");
	}
	snprintf(w.ident, sizeof w.ident, "%ld", id);
	sandbox_policy sandbox = {.enabled = o->isolation != 0,
	                          .executable = o->isolation_executable,
	                          .state_dir = o->state_dir,
	                          .isolation_base = o->isolation_base,
	                          .projects_root = o->projects_root,
	                          .show_paths = o->isolation_show,
	                          .hide_paths = o->isolation_hide};
	task t = {.st = st,
	          .sandbox = &sandbox,
	          .job_id = id,
	          .job = job,
	          .type = type,
	          .projects_root = o->projects_root,
	          .default_job_timeout = o->job_timeout,
	          .default_idle_timeout = o->idle_timeout,
	          .worker = &w};
	t.extravars = json_object();
	/* the job's environment is built from scratch (AWX's build_env): the
	 * account, locale and PATH of this worker (which the dispatcher started
	 * with those only), then what the type and the run add below */
	t.envvars = runnel_env_basic();
	add_task_env(t.envvars);
	t.passwords = json_object();
	t.settings = json_object();
	t.args = json_array();
	t.host_ids = json_object();
	t.secrets = json_array();
	t.artifacts = json_object();

	const char *status = "error";
	bool keep = o->cleanup == 0;
	char *pdd = rn_xasprintf("%s/%s_%ld_XXXXXX", o->isolation_base, type, id);
	runnel_run_result res = {0};
	bool ran = false;
	int prep_rc = -1;

	if (rn_mkdirs(o->isolation_base, 0700, &err) < 0 || !mkdtemp(pdd)) {
		if (!err.message[0])
			rn_fail(&err, errno, "private data dir %s: %s", pdd, strerror(errno));
		explain(st, id, "job_explanation", "Could not create the private data dir.");
		explain(st, id, "result_traceback", err.message);
		free(pdd);
		pdd = NULL;
		goto finish;
	}
	chmod(pdd, 0700);
	t.pdd = pdd;
	/* the sandbox every ansible of the job runs in (sandbox.h): the types
	 * add what they must show (a project update its checkout) */
	sandbox_settings(&sandbox, pdd, t.settings);
	/* before anything runs in it: runneld finds the job's processes and the
	 * dir by it if this worker dies */
	w.rec = jobproc_worker_open(o->state_dir, id);
	jobproc_worker_note_pdd(w.rec, pdd);
	{
		char *d = rn_path_join(pdd, "env");
		mkdir(d, 0700);
		free(d);
		d = rn_path_join(pdd, "inventory");
		mkdir(d, 0700);
		free(d);
	}
	bus_settings bs = {.backend = o->bus,
	                   .socket_path = o->bus_socket,
	                   .redis_url = o->redis_url,
	                   .queue = o->redis_queue};
	w.bus = open_bus(&w, &bs, &err);
	if (!w.bus) {
		explain(st, id, "job_explanation", "Could not reach the event bus.");
		explain(st, id, "result_traceback", err.message);
		goto finish;
	}
	/* 3. cancel check, then the type builds its part of the private data dir */
	if (got_signal)
		goto finish;
	static const struct {
		const char *type;
		int (*prepare)(task *, runnel_error *);
	} types[] = {{"job", task_job_prepare},
	             {"ad_hoc_command", task_adhoc_prepare},
	             {"project_update", task_project_update_prepare},
	             {"inventory_update", task_inventory_update_prepare},
	             {"system_job", task_system_job_prepare},
	             {NULL, NULL}};
	for (int i = 0; types[i].type; i++)
		if (!strcmp(types[i].type, type))
			prep_rc = types[i].prepare(&t, &err);
	if (prep_rc < 0) {
		/* bad input of the job (a playbook outside the project, bad vars):
		 * failed with the reason, as AWX reports launch-time problems */
		status = "failed";
		explain(st, id, "job_explanation", err.message);
		task_emit(&t, err.message);
		goto finish;
	}
	/* awx_* meta vars (AWX's build_extra_vars_file) */
	json_object_set_new(t.extravars, "awx_job_id", json_integer(id));
	json_object_set_new(t.extravars, "tower_job_id", json_integer(id));
	json_object_set_new(t.extravars, "awx_job_launch_type",
	                    json_string(task_str(&t, "launch_type")));
	json_object_set_new(t.extravars, "tower_job_launch_type",
	                    json_string(task_str(&t, "launch_type")));
	json_object_set_new(t.extravars, "awx_execution_node", json_string(host));
	if (task_int(&t, "created_by")) {
		json_object_set_new(t.extravars, "awx_user_id",
		                    json_integer(task_int(&t, "created_by")));
		json_t *u = store_get(st, STORE_USER, task_int(&t, "created_by"), &err);
		if (u)
			json_object_set(t.extravars, "awx_user_name",
			                json_object_get(u, "username"));
		json_decref(u);
	}
	/* env (AWX's build_env) */
	char idbuf[32];
	snprintf(idbuf, sizeof idbuf, "%ld", id);
	json_object_set_new(t.envvars, "JOB_ID", json_string(idbuf));
	json_object_set_new(t.envvars, "AWX_PRIVATE_DATA_DIR", json_string(pdd));
	json_object_set_new(t.envvars, "ANSIBLE_RETRY_FILES_ENABLED", json_string("False"));
	json_object_set_new(t.envvars, "ANSIBLE_HOST_KEY_CHECKING", json_string("False"));
	json_object_set_new(t.envvars, "ANSIBLE_FORCE_COLOR", json_string("True"));
	json_object_set_new(t.envvars, "MAX_EVENT_RES", json_string("700000"));
	json_object_set_new(t.envvars, "PYTHONUNBUFFERED", json_string("1"));
	if (task_int(&t, "inventory")) {
		snprintf(idbuf, sizeof idbuf, "%ld", task_int(&t, "inventory"));
		json_object_set_new(t.envvars, "INVENTORY_ID", json_string(idbuf));
	}
	/* env/settings */
	int timeout = t.cfg.timeout ? t.cfg.timeout : o->job_timeout;
	if (timeout > 0)
		json_object_set_new(t.settings, "job_timeout", json_integer(timeout));
	if (o->idle_timeout > 0)
		json_object_set_new(t.settings, "idle_timeout", json_integer(o->idle_timeout));
	json_object_set_new(t.settings, "suppress_ansible_output", json_true());
	json_object_set_new(t.settings, "cancel_grace_period", json_real(o->cancel_grace));
	if (write_env_file(pdd, "extravars", t.extravars, &err) < 0 ||
	    write_env_file(pdd, "settings", t.settings, &err) < 0) {
		explain(st, id, "result_traceback", err.message);
		goto finish;
	}
	/* env/cmdline: the extra words, shell-quoted */
	rn_buf cmdline;
	rn_buf_init(&cmdline);
	size_t i;
	json_t *a;
	json_array_foreach(t.args, i, a) {
		char *q = shquote(json_string_value(a));
		if (cmdline.len)
			rn_buf_appendc(&cmdline, ' ');
		rn_buf_append(&cmdline, q, strlen(q));
		free(q);
	}
	if (cmdline.len) {
		char *path = rn_path_join(pdd, "env/cmdline");
		rn_write_file_atomic(path, cmdline.data, cmdline.len, 0600, &err);
		free(path);
	}
	rn_buf_free(&cmdline);
	if (got_signal)
		goto finish;

	/* the sandbox must start, or the job does not run: never unsandboxed */
	if ((!t.run || t.run_sandboxed) && sandbox_on(t.settings) &&
	    sandbox_probe(t.settings, pdd, t.envvars, the_canceler, &err) < 0) {
		if (got_signal)
			goto finish;
		explain(st, id, "job_explanation", err.message);
		task_emit(&t, err.message);
		status = "error";
		goto finish;
	}

	/* 4. run */
	t.cfg.private_data_dir = pdd;
	t.cfg.ident = w.ident;
	t.cfg.quiet = true;
	t.cfg.suppress_env_files = true;
	t.cfg.envvars = t.envvars;
	t.cfg.clean_environment = true;
	t.cfg.passwords = json_object_size(t.passwords) ? t.passwords : NULL;
	t.cfg.ssh_key = t.ssh_key;
	t.cfg.timeout = timeout;
	t.cfg.cancel_grace_period = o->cancel_grace;
	t.cfg.event_handler = on_event;
	t.cfg.status_handler = on_status;
	t.cfg.cancel_callback = on_cancel;
	t.cfg.finished_callback = on_finished;
	t.cfg.canceler = the_canceler;
	t.cfg.userdata = &t;
	int rrc;
	if (t.run)
		rrc = t.run(&t, &res, &err);
	else
		rrc = runnel_run(&t.cfg, &res, &err);
	ran = rrc == 0;
	if (!ran) {
		explain(st, id, "job_explanation", "The job could not be started.");
		explain(st, id, "result_traceback", err.message);
		status = "error";
		goto finish;
	}
	/* 5. map the result */
	json_t *now = store_get(st, STORE_UNIFIED_JOB, id, &err);
	bool cancel_flag = now && json_is_true(json_object_get(now, "cancel_flag"));
	json_decref(now);
	switch (res.status) {
	case RUNNEL_SUCCESSFUL:
		status = "successful";
		break;
	case RUNNEL_TIMEOUT:
		status = "failed";
		explain(st, id, "job_explanation", "Job terminated due to timeout");
		break;
	case RUNNEL_CANCELED:
		if (w.gave_up && !w.gave_up_on_signal) {
			status = "error"; /* account_events says why */
		} else if (cancel_flag) {
			status = "canceled";
		} else {
			status = "failed";
			explain(st, id, "job_explanation", shutdown_explanation());
		}
		break;
	default:
		status = "failed";
		if (res.rc != 0) {
			char why[96];
			snprintf(why, sizeof why, "ansible exited with rc %d", res.rc);
			explain(st, id, "result_traceback", why);
		}
		break;
	}
	if (t.after && t.after(&t, &res, &err) < 0) {
		if (!strcmp(status, "successful"))
			status = "failed";
		explain(st, id, "job_explanation", err.message);
		task_emit(&t, err.message);
	}

finish:
	if (got_signal && !strcmp(status, "error")) {
		json_t *now2 = store_get(st, STORE_UNIFIED_JOB, id, &err);
		bool cf = now2 && json_is_true(json_object_get(now2, "cancel_flag"));
		json_decref(now2);
		status = cf ? "canceled" : "failed";
		if (!cf)
			explain(st, id, "job_explanation", shutdown_explanation());
	}
	if (w.bus) {
		send_eof(&t);
		account_events(&w, id, &status);
	}
	/* 6. final status, emitted_events, the private data dir; the writes are
	 * tried again while the store fails (a full disk), up to stall_timeout */
	json_t *fin = json_pack("{s:I,s:O}", "emitted_events", (json_int_t)w.produced, "artifacts",
	                        t.artifacts);
	if (pdd && keep)
		json_object_set_new(fin, "private_data_dir", json_string(pdd));
	double first = rn_now();
	int pause = 50;
	json_t *saved;
	while (!(saved = store_update(st, STORE_UNIFIED_JOB, id, fin, STORE_SYSTEM, &err))) {
		fprintf(stderr, "runneld-worker: job %ld: save emitted_events: %s\n", id,
		        err.message);
		if (!retry_write(&w, first, &pause, &err))
			break;
	}
	json_decref(saved);
	json_decref(fin);
	if (pdd && !keep)
		nftw(pdd, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	first = rn_now();
	pause = 50;
	while (store_job_transition(st, id, store_active_statuses, status, NULL, &err) < 0) {
		fprintf(stderr, "runneld-worker: job %ld: status %s: %s\n", id, status,
		        err.message);
		if (!retry_write(&w, first, &pause, &err))
			break;
	}
	if (ran)
		runnel_result_clear(&res);
	bus_close(w.bus);
	jobproc_worker_close(w.rec);
	rn_buf_free(&w.msg);
	rn_buf_free(&w.scratch);
	free(w.created_json);
	for (int k = 0; k < t.nstrings; k++)
		free(t.strings[k]);
	free(t.ssh_key);
	json_decref(t.extravars), json_decref(t.envvars), json_decref(t.passwords);
	json_decref(t.settings), json_decref(t.args), json_decref(t.host_ids);
	json_decref(t.secrets), json_decref(t.artifacts), json_decref(t.last_ok_res);
	free(pdd);
	json_decref(job);
	store_close(st);
	return 0;
}

/* runneld-worker main: parse the options (a table), watch signals, run. */
int main(int argc, char **argv)
{
	wopts o = {.bus = "local",
	           .store_backend = "sqlite",
	           .isolation_base = "/tmp",
	           .isolation = 1,
	           .isolation_executable = "bwrap",
	           .cleanup = 1,
	           .cancel_grace = 0.5};
	int c;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.state_dir = optarg;
			break;
		case 'j':
			o.job = atol(optarg);
			break;
		case 'b':
			o.bus = optarg;
			break;
		case 'S':
			o.bus_socket = optarg;
			break;
		case 'r':
			o.redis_url = optarg;
			break;
		case 'q':
			o.redis_queue = optarg;
			break;
		case 'd':
			o.store_backend = optarg;
			break;
		case 'i':
			o.isolation_base = optarg;
			break;
		case 'c':
			o.cleanup = atoi(optarg);
			break;
		case 'p':
			o.projects_root = optarg;
			break;
		case 't':
			o.job_timeout = atoi(optarg);
			break;
		case 'I':
			o.idle_timeout = atoi(optarg);
			break;
		case 'g':
			o.cancel_grace = atof(optarg);
			break;
		case 'E':
			o.event_stall_timeout = atoi(optarg);
			break;
		case 'Z':
			o.isolation = atoi(optarg);
			break;
		case 'X':
			o.isolation_executable = optarg;
			break;
		case 'W':
		case 'H': {
			json_t *a = json_loads(optarg, 0, NULL);
			if (!json_is_array(a)) {
				fprintf(stderr, "runneld-worker: --%s: not a JSON array\n",
				        c == 'W' ? "isolation-show-paths" : "isolation-hide-paths");
				json_decref(a);
				return 2;
			}
			json_t **slot = c == 'W' ? &o.isolation_show : &o.isolation_hide;
			json_decref(*slot);
			*slot = a;
			break;
		}
		default:
			fprintf(stderr, "usage: runneld-worker --state-dir D --job ID [options]\n");
			return 2;
		}
	}
	if (!o.state_dir || o.job <= 0) {
		fprintf(stderr, "usage: runneld-worker --state-dir D --job ID [options]\n");
		return 2;
	}
	char *proj = NULL;
	if (!o.projects_root)
		o.projects_root = proj = rn_path_join(o.state_dir, "projects");
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
	free(proj);
	json_decref(o.isolation_show);
	json_decref(o.isolation_hide);
	return rc;
}
