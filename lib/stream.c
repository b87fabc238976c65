/*
 * stream.c - ansible-runner's streaming protocol: runnel_transmit(),
 * runnel_worker() and runnel_process() (documented in include/runnel.h; the
 * byte level - line reader, base64, zips - is in stream_zip.c).
 *
 * Wire compatibility is the point: the kwargs line carries ansible-runner's
 * own option names, the worker writes the status and event dicts exactly as
 * its callbacks receive them, and the error payloads are upstream's words.
 */
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifacts.h"
#include "event.h"
#include "plan.h"
#include "jscan.h"

#define ERR_PARSE_TRANSMIT      "Failed to JSON parse a line from transmit stream."
#define ERR_PARSE_WORKER        "Failed to JSON parse a line from worker stream."
#define ERR_EXTRACT             "Failed to extract private data directory on worker."
#define ERR_ARTIFACTS           "Failed to extract the artifacts from the worker stream."
#define DEFAULT_CONTAINER_IMAGE "quay.io/ansible/ansible-runner:devel"

/* ================================================================ transmit */

static int write_fd(void *ctx, const void *data, size_t len)
{
	return rn_write_all(*(int *)ctx, data, len);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *list_or_null(const char *const *l)
{
	if (!l)
		return json_null();
	json_t *a = json_array();
	for (; *l; l++)
		json_array_append_new(a, json_string(*l));
	return a;
}

/* A path under base made relative to it, as upstream undoes the full paths
 * its dump_artifacts() made ("undo any full paths" in init_runner). */
static const char *relative_to(const char *path, const char *base)
{
	size_t n = strlen(base);
	if (path[0] == '/' && !strncmp(path, base, n) && path[n] == '/')
		return path + n + 1;
	return path;
}

int runnel_transmit(const runnel_config *cfg, int out_fd, runnel_error *err)
{
	if (!cfg->private_data_dir)
		return rn_fail(err, EINVAL, "private_data_dir is required");
	char *pdd = rn_path_abs(cfg->private_data_dir);
	if (!rn_is_dir(pdd)) {
		rn_fail(err, ENOENT,
		        "private_data_dir path is either invalid or does not exist: %s", pdd);
		free(pdd);
		return -1;
	}
	char *project = rn_path_join(pdd, "project");
	json_t *kw = json_object();
	int rc = 0;

	/* the CLI's run options, in the order upstream's CLI sends them */
	if (cfg->ident)
		json_object_set_new(kw, "ident", json_string(cfg->ident));
	json_object_set_new(kw, "binary", str_or_null(cfg->binary));
	json_object_set_new(
	    kw, "playbook",
	    str_or_null(cfg->playbook ? relative_to(cfg->playbook, project) : NULL));
	json_object_set_new(kw, "module", str_or_null(cfg->module));
	json_object_set_new(kw, "module_args", str_or_null(cfg->module_args));
	json_object_set_new(kw, "host_pattern", str_or_null(cfg->host_pattern));
	json_object_set_new(kw, "verbosity",
	                    cfg->verbosity ? json_integer(cfg->verbosity) : json_null());
	json_object_set_new(kw, "quiet", json_boolean(cfg->quiet));
	json_object_set_new(kw, "rotate_artifacts", json_integer(cfg->rotate_artifacts));
	json_object_set_new(kw, "json_mode", json_boolean(cfg->json_mode));
	json_object_set_new(kw, "omit_event_data", json_boolean(cfg->omit_event_data));
	json_object_set_new(kw, "only_failed_event_data",
	                    json_boolean(cfg->only_failed_event_data));

	json_t *inv = json_null();
	if (cfg->inventory && !rn_exists(cfg->inventory)) {
		/* inventory text, not a path: dumped into inventory/hosts */
		char *dir = rn_path_join(pdd, "inventory");
		char *path = rn_path_join(dir, "hosts");
		if (rn_mkdirs(dir, 0700, err) != 0 ||
		    rn_write_file_atomic(path, cfg->inventory, strlen(cfg->inventory), 0400, err) !=
		        0)
			rc = -1;
		free(dir);
		free(path);
		inv = json_string("inventory/hosts");
	} else if (cfg->inventory) {
		char *abs = rn_path_abs(cfg->inventory);
		inv = json_string(relative_to(abs, pdd) != abs ? relative_to(abs, pdd)
		                                               : cfg->inventory);
		free(abs);
	}
	json_object_set_new(kw, "inventory", inv);
	/* upstream's CLI passes --forks through as the string it was given */
	json_t *forks = json_null();
	if (cfg->forks) {
		char n[24];
		snprintf(n, sizeof n, "%d", cfg->forks);
		forks = json_string(n);
	}
	json_object_set_new(kw, "forks", forks);
	json_object_set_new(kw, "project_dir", str_or_null(cfg->project_dir));
	json_object_set_new(kw, "artifact_dir", str_or_null(cfg->artifact_dir));
	json_t *roles = json_null();
	if (cfg->roles_path) {
		roles = json_array();
		json_array_append_new(roles, json_string(cfg->roles_path));
	}
	json_object_set_new(kw, "roles_path", roles);
	json_object_set_new(kw, "process_isolation",
	                    cfg->process_isolation ? json_true() : json_null());
	json_object_set_new(kw, "process_isolation_executable",
	                    str_or_null(cfg->process_isolation_executable));
	json_object_set_new(kw, "process_isolation_path", str_or_null(cfg->process_isolation_path));
	json_object_set_new(kw, "process_isolation_hide_paths",
	                    list_or_null(cfg->process_isolation_hide_paths));
	json_object_set_new(kw, "process_isolation_show_paths",
	                    list_or_null(cfg->process_isolation_show_paths));
	json_object_set_new(kw, "process_isolation_ro_paths",
	                    list_or_null(cfg->process_isolation_ro_paths));
	json_object_set_new(
	    kw, "container_image",
	    json_string(cfg->container_image ? cfg->container_image : DEFAULT_CONTAINER_IMAGE));
	json_object_set_new(kw, "container_volume_mounts",
	                    list_or_null(cfg->container_volume_mounts));
	json_object_set_new(kw, "container_options", list_or_null(cfg->container_options));
	json_object_set_new(kw, "directory_isolation_base_path",
	                    str_or_null(cfg->directory_isolation_base_path));

	/* values upstream's dump_artifacts() persists into env/ (then they
	 * travel in the zip); the ones it does not persist stay in kwargs */
	json_object_set_new(kw, "cmdline", str_or_null(cfg->cmdline));
	if (cfg->cmdline && *cfg->cmdline && !cfg->suppress_env_files && rc == 0) {
		int p = rn_persist_env_file(pdd, "cmdline", cfg->cmdline, err);
		if (p < 0)
			rc = -1;
		else if (p > 0)
			json_object_del(kw, "cmdline"); /* popped, as upstream */
	}
	json_object_set_new(kw, "limit", str_or_null(cfg->limit));
	json_object_set_new(kw, "suppress_env_files", json_boolean(cfg->suppress_env_files));

	/* what only the library API sets, under interface.run()'s names */
	if (cfg->tags)
		json_object_set_new(kw, "tags", json_string(cfg->tags));
	if (cfg->skip_tags)
		json_object_set_new(kw, "skip_tags", json_string(cfg->skip_tags));
	if (cfg->timeout)
		json_object_set_new(kw, "timeout", json_integer(cfg->timeout));
	struct {
		const char *name;
		json_t *obj;
	} maps[] = {{"envvars", cfg->envvars},
	            {"extravars", cfg->extravars},
	            {"passwords", cfg->passwords},
	            {"settings", cfg->settings}};
	rn_buf text;
	rn_buf_init(&text);
	for (size_t i = 0; rc == 0 && i < sizeof maps / sizeof maps[0]; i++) {
		if (!json_is_object(maps[i].obj) || !json_object_size(maps[i].obj))
			continue;
		int p = 0;
		if (!cfg->suppress_env_files) {
			rn_json_py(maps[i].obj, &text);
			p = rn_persist_env_file(pdd, maps[i].name, text.data, err);
		}
		if (p < 0)
			rc = -1;
		else if (p == 0)
			json_object_set(kw, maps[i].name, maps[i].obj);
	}
	if (rc == 0 && cfg->ssh_key && *cfg->ssh_key) {
		int p = cfg->suppress_env_files
		            ? 0
		            : rn_persist_env_file(pdd, "ssh_key", cfg->ssh_key, err);
		if (p < 0)
			rc = -1;
		else if (p == 0)
			json_object_set_new(kw, "ssh_key", json_string(cfg->ssh_key));
	}

	if (rc == 0) {
		json_t *line = json_pack("{s:o}", "kwargs", kw);
		kw = NULL;
		rn_json_py(line, &text);
		json_decref(line);
		rn_buf_appendc(&text, '\n');
		if (rn_write_all(out_fd, text.data, text.len) != 0)
			rc = rn_fail(err, errno, "cannot write the stream: %s", strerror(errno));
	}
	if (rc == 0 && rn_stream_dir(pdd, write_fd, &out_fd, err) != 0)
		rc = -1;
	if (rc == 0 && rn_write_all(out_fd, "{\"eof\": true}\n", 14) != 0)
		rc = rn_fail(err, errno, "cannot write the stream: %s", strerror(errno));
	json_decref(kw);
	rn_buf_free(&text);
	free(project);
	free(pdd);
	return rc;
}

/* ================================================================ worker */

/* The worker's output: whole lines under one lock, so that a keepalive never
 * lands inside another line; the keepalive thread waits on cond until the
 * output has been idle for the interval. */
typedef struct worker_out {
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	double last;     /* rn_now() of the last write */
	double interval; /* keepalive seconds; 0: none */
	bool stop;       /* eof written or the worker is ending: no more keepalives */
	bool broken;     /* a write failed: the reader is gone */
	rn_buf line;
	rn_buf events; /* event lines not written yet (see w_event) */
} worker_out;

/* Event lines are written in batches of this many bytes, or sooner at
 * out_flush() (once per turn of the run's loop): one write() per event was
 * most of the worker's system time. */
#define OUT_BATCH (64 * 1024)

/* Write bytes as part of the current (locked) output, after the event lines
 * still queued. */
static int out_write_locked(void *ctx, const void *data, size_t len)
{
	worker_out *w = ctx;
	if (w->broken)
		return -1;
	if ((w->events.len && rn_write_all(w->fd, w->events.data, w->events.len) != 0) ||
	    (len && rn_write_all(w->fd, data, len) != 0)) {
		w->broken = true;
		return -1;
	}
	rn_buf_reset(&w->events);
	return 0;
}

/* The keepalive thread computes its next wake-up from "last" when its wait
 * ends, so a write needs no signal. */
static void out_done_locked(worker_out *w)
{
	w->last = rn_now();
}

/* Write the queued event lines now. */
static void out_flush(worker_out *w)
{
	pthread_mutex_lock(&w->lock);
	if (w->events.len)
		out_write_locked(w, NULL, 0);
	pthread_mutex_unlock(&w->lock);
}

/* One JSON line. */
static void out_line(worker_out *w, const json_t *v)
{
	pthread_mutex_lock(&w->lock);
	rn_json_py(v, &w->line);
	rn_buf_appendc(&w->line, '\n');
	out_write_locked(w, w->line.data, w->line.len);
	out_done_locked(w);
	pthread_mutex_unlock(&w->lock);
}

static void out_eof(worker_out *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	out_write_locked(w, "{\"eof\": true}\n", 14);
	out_done_locked(w);
	pthread_mutex_unlock(&w->lock);
}

static void *keepalive_main(void *arg)
{
	worker_out *w = arg;
	static const char line[] = "{\"event\": \"keepalive\", \"counter\": 0, \"uuid\": 0}\n";
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		double now = rn_now();
		double due = w->last + w->interval;
		if (now < due) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			double wait = due - now;
			ts.tv_sec += (time_t)wait;
			ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
			continue;
		}
		out_write_locked(w, line, sizeof line - 1);
		w->last = rn_now();
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* The error payload upstream's worker sends, then eof. */
static void out_error(worker_out *w, const char *explanation, const char *detail)
{
	json_t *st = json_pack("{s:s,s:s}", "status", "error", "job_explanation", explanation);
	if (detail)
		json_object_set_new(st, "result_traceback", json_string(detail));
	out_line(w, st);
	json_decref(st);
	out_eof(w);
}

/* ---- kwargs -> runnel_config */

typedef struct worker_job {
	runnel_config cfg;
	json_t *kwargs;   /* owns the strings cfg points to */
	char *inventory;  /* update_paths()' joined inventory */
	char *roles_path; /* roles_path list joined with ':' */
	const char **lists[5];
	json_t *envvars;
	char *playbook_file; /* a playbook given as data, dumped to project/ */
} worker_job;

static const char *kw_str(json_t *kw, const char *key)
{
	return json_string_value(json_object_get(kw, key));
}

static int kw_int(json_t *kw, const char *key)
{
	json_t *v = json_object_get(kw, key);
	if (json_is_integer(v))
		return (int)json_integer_value(v);
	if (json_is_real(v))
		return (int)json_real_value(v);
	if (json_is_string(v))
		return atoi(json_string_value(v));
	return 0;
}

static bool kw_bool(json_t *kw, const char *key)
{
	json_t *v = json_object_get(kw, key);
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	return false;
}

static const char **kw_list(json_t *kw, const char *key)
{
	json_t *v = json_object_get(kw, key);
	if (!json_is_array(v))
		return NULL;
	const char **l = rn_xmalloc((json_array_size(v) + 1) * sizeof *l);
	size_t n = 0, i;
	json_t *x;
	json_array_foreach(v, i, x) {
		if (json_is_string(x))
			l[n++] = json_string_value(x);
	}
	l[n] = NULL;
	return l;
}

/* Build the run from the kwargs line as upstream's Worker does: its
 * update_paths(), then interface.run(**kwargs) with quiet on. */
static int job_from_kwargs(worker_job *j, json_t *kw, const char *pdd, runnel_error *err)
{
	runnel_config *c = &j->cfg;
	j->kwargs = kw;
	c->private_data_dir = pdd;
	c->ident = kw_str(kw, "ident");
	/* an ident may come as a number from other producers */
	if (!c->ident && json_is_integer(json_object_get(kw, "ident"))) {
		char *s = rn_xasprintf("%lld",
		                       (long long)json_integer_value(json_object_get(kw, "ident")));
		json_object_set_new(kw, "ident", json_string(s));
		free(s);
		c->ident = kw_str(kw, "ident");
	}
	c->binary = kw_str(kw, "binary");
	json_t *pb = json_object_get(kw, "playbook");
	if (json_is_string(pb)) {
		c->playbook = json_string_value(pb);
	} else if (json_is_array(pb) || json_is_object(pb)) {
		/* a playbook as data: dumped to project/main.json, as upstream */
		json_t *plays = json_is_object(pb) ? json_pack("[O]", pb) : json_incref(pb);
		char *dir = rn_path_join(pdd, "project");
		j->playbook_file = rn_path_join(dir, "main.json");
		rn_buf text;
		rn_buf_init(&text);
		rn_json_py(plays, &text);
		json_decref(plays);
		int rc = rn_mkdirs(dir, 0700, err) == 0 &&
		                 rn_write_file_atomic(j->playbook_file, text.data, text.len, 0600,
		                                      err) == 0
		             ? 0
		             : -1;
		rn_buf_free(&text);
		free(dir);
		if (rc)
			return -1;
		c->playbook = j->playbook_file;
	}
	c->module = kw_str(kw, "module");
	c->module_args = kw_str(kw, "module_args");
	c->host_pattern = kw_str(kw, "host_pattern");
	c->verbosity = kw_int(kw, "verbosity");
	c->rotate_artifacts = kw_int(kw, "rotate_artifacts");
	c->json_mode = kw_bool(kw, "json_mode");
	c->omit_event_data = kw_bool(kw, "omit_event_data");
	c->only_failed_event_data = kw_bool(kw, "only_failed_event_data");
	c->forks = kw_int(kw, "forks");
	c->project_dir = kw_str(kw, "project_dir");
	c->artifact_dir = kw_str(kw, "artifact_dir");
	c->cmdline = kw_str(kw, "cmdline");
	c->limit = kw_str(kw, "limit");
	c->tags = kw_str(kw, "tags");
	c->skip_tags = kw_str(kw, "skip_tags");
	c->timeout = kw_int(kw, "timeout");
	c->suppress_env_files = kw_bool(kw, "suppress_env_files");
	c->ssh_key = kw_str(kw, "ssh_key");
	c->process_isolation = kw_bool(kw, "process_isolation");
	c->process_isolation_executable = kw_str(kw, "process_isolation_executable");
	c->process_isolation_path = kw_str(kw, "process_isolation_path");
	c->directory_isolation_base_path = kw_str(kw, "directory_isolation_base_path");
	c->container_image = kw_str(kw, "container_image");
	static const char *list_keys[5] = {
	    "process_isolation_hide_paths", "process_isolation_show_paths",
	    "process_isolation_ro_paths", "container_volume_mounts", "container_options"};
	for (int i = 0; i < 5; i++)
		j->lists[i] = kw_list(kw, list_keys[i]);
	c->process_isolation_hide_paths = j->lists[0];
	c->process_isolation_show_paths = j->lists[1];
	c->process_isolation_ro_paths = j->lists[2];
	c->container_volume_mounts = j->lists[3];
	c->container_options = j->lists[4];

	json_t *rp = json_object_get(kw, "roles_path");
	if (json_is_string(rp)) {
		c->roles_path = json_string_value(rp);
	} else if (json_is_array(rp) && json_array_size(rp)) {
		rn_buf b;
		rn_buf_init(&b);
		size_t i;
		json_t *x;
		json_array_foreach(rp, i, x) {
			if (!json_is_string(x))
				continue;
			if (b.len)
				rn_buf_appendc(&b, ':');
			rn_buf_append(&b, json_string_value(x), json_string_length(x));
		}
		j->roles_path = b.data;
		c->roles_path = j->roles_path;
	}

	/* update_paths(): the inventory and ANSIBLE_ROLES_PATH are relative to
	 * the private data dir this side */
	json_t *inv = json_object_get(kw, "inventory");
	if (json_is_string(inv) && json_string_length(inv)) {
		const char *s = json_string_value(inv);
		j->inventory = s[0] == '/' ? rn_xstrdup(s) : rn_path_join(pdd, s);
		c->inventory = j->inventory;
	}
	json_t *ev = json_object_get(kw, "envvars");
	if (json_is_object(ev)) {
		j->envvars = json_deep_copy(ev);
		const char *roles = json_string_value(json_object_get(ev, "ANSIBLE_ROLES_PATH"));
		if (roles) {
			char *dir = rn_path_join(pdd, "roles");
			char *joined =
			    roles[0] == '/' ? rn_xstrdup(roles) : rn_path_join(dir, roles);
			json_object_set_new(j->envvars, "ANSIBLE_ROLES_PATH", json_string(joined));
			free(joined);
			free(dir);
		}
		c->envvars = j->envvars;
	}
	json_t *o;
	if (json_is_object(o = json_object_get(kw, "extravars")))
		c->extravars = o;
	if (json_is_object(o = json_object_get(kw, "passwords")))
		c->passwords = o;
	if (json_is_object(o = json_object_get(kw, "settings")))
		c->settings = o;
	c->quiet = true;
	return 0;
}

static void job_clear(worker_job *j)
{
	for (int i = 0; i < 5; i++)
		free(j->lists[i]);
	free(j->inventory);
	free(j->roles_path);
	free(j->playbook_file);
	json_decref(j->envvars);
	json_decref(j->kwargs);
}

/* ---- the run's callbacks */

typedef struct worker_ctx {
	worker_out *out;
	bool finished;
} worker_ctx;

static void w_status(json_t *status, void *ud)
{
	out_line(((worker_ctx *)ud)->out, status);
}

static bool w_event(runnel_event *event, void *ud)
{
	/* the event's own JSON text is the line: no parse, no re-serialization */
	worker_out *w = ((worker_ctx *)ud)->out;
	size_t len;
	const char *text = runnel_event_json(event, &len);
	pthread_mutex_lock(&w->lock);
	if (!w->broken) {
		rn_buf_append(&w->events, text, len);
		rn_buf_appendc(&w->events, '\n');
		if (w->events.len >= OUT_BATCH)
			out_write_locked(w, NULL, 0);
	}
	out_done_locked(w);
	pthread_mutex_unlock(&w->lock);
	return false; /* as upstream's worker: the events travel in the stream only */
}

static void w_artifacts(const char *dir, void *ud)
{
	worker_out *w = ((worker_ctx *)ud)->out;
	runnel_error e = {0};
	pthread_mutex_lock(&w->lock);
	if (!w->broken && rn_stream_dir(dir, out_write_locked, w, &e) != 0 && !w->broken) {
		/* nothing of the zip can be taken back: the reader will see a
		 * broken zip; say why on stderr */
		fprintf(stderr, "runnel worker: %s\n", e.message);
	}
	out_done_locked(w);
	pthread_mutex_unlock(&w->lock);
}

static void w_finished(const runnel_run_result *r, void *ud)
{
	(void)r;
	worker_ctx *c = ud;
	c->finished = true;
	out_eof(c->out);
}

static bool w_cancel(void *ud)
{
	/* called once per turn of the run's loop: the events read in this
	 * turn go out now; nobody reads the stream any more: stop the job */
	worker_out *w = ((worker_ctx *)ud)->out;
	out_flush(w);
	return w->broken;
}

/* Read the transmit stream up to its eof line. 0 with *kwargs, or -1 after
 * the error payload has been written. */
static int read_job(rn_reader *in, worker_out *out, const char *pdd, json_t **kwargs,
                    runnel_error *err)
{
	rn_buf line;
	rn_buf_init(&line);
	int rc = 0;
	for (;;) {
		json_t *data = NULL;
		int got = rn_reader_line(in, &line, RN_STREAM_MAX_LINE);
		if (got > 0)
			data = json_loadb(line.data, line.len, JSON_DECODE_ANY, NULL);
		if (!json_is_object(data)) {
			json_decref(data);
			out_error(out, ERR_PARSE_TRANSMIT, NULL);
			rc = rn_fail(err, EPROTO, ERR_PARSE_TRANSMIT);
			break;
		}
		if (json_object_get(data, "kwargs")) {
			json_t *k = json_object_get(data, "kwargs");
			json_decref(*kwargs);
			*kwargs = json_is_object(k) ? json_incref(k) : json_object();
		} else if (json_object_get(data, "zipfile")) {
			json_t *z = json_object_get(data, "zipfile");
			runnel_error e = {0};
			if (!json_is_integer(z))
				rn_fail(&e, EINVAL, "zipfile is not a byte count");
			if (e.code ||
			    rn_unstream_dir(in, json_integer_value(z), pdd, NULL, &e) != 0) {
				json_decref(data);
				out_error(out, ERR_EXTRACT, e.message);
				rc = rn_fail(err, e.code ? e.code : EIO, "%s %s", ERR_EXTRACT,
				             e.message);
				break;
			}
		} else if (json_object_get(data, "eof")) {
			json_decref(data);
			break;
		}
		json_decref(data);
	}
	rn_buf_free(&line);
	if (rc == 0 && !*kwargs) {
		out_error(out, "The transmit stream holds no kwargs.", NULL);
		rc = rn_fail(err, EPROTO, "the transmit stream holds no kwargs");
	}
	return rc;
}

int runnel_worker(int in_fd, int out_fd, const runnel_worker_options *opts,
                  runnel_run_result *result, runnel_error *err)
{
	runnel_worker_options none = {0};
	if (!opts)
		opts = &none;
	worker_out out = {.fd = out_fd};
	pthread_mutex_init(&out.lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&out.cond, &ca);
	pthread_condattr_destroy(&ca);
	rn_buf_init(&out.line);
	rn_buf_init(&out.events);
	out.last = rn_now();
	out.interval = opts->keepalive_seconds;
	if (out.interval == 0) {
		const char *env = getenv("ANSIBLE_RUNNER_KEEPALIVE_SECONDS");
		out.interval = env ? strtod(env, NULL) : 0;
	}
	pthread_t ka;
	bool ka_running = out.interval > 0 && pthread_create(&ka, NULL, keepalive_main, &out) == 0;

	/* where the job unpacks */
	char *pdd = NULL;
	bool remove_after = false;
	int rc = 0;
	if (opts->private_data_dir) {
		pdd = rn_path_abs(opts->private_data_dir);
		if (opts->delete_directory) {
			rn_remove_tree(pdd);
			remove_after = true;
		}
	} else {
		const char *tmpdir = getenv("TMPDIR");
		pdd = rn_xasprintf("%s/runnel-worker-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
		if (!mkdtemp(pdd)) {
			rc = rn_fail(err, errno, "cannot create a temp dir: %s", strerror(errno));
			out_error(&out, ERR_EXTRACT, err->message);
			free(pdd);
			pdd = NULL;
		}
		remove_after = true;
	}
	if (rc == 0 && rn_mkdirs(pdd, 0700, err) != 0) {
		out_error(&out, ERR_EXTRACT, err->message);
		rc = -1;
	}

	json_t *kwargs = NULL;
	rn_reader in;
	rn_reader_init(&in, in_fd);
	if (rc == 0)
		rc = read_job(&in, &out, pdd, &kwargs, err);
	rn_reader_free(&in);

	if (rc == 0) {
		worker_job job;
		memset(&job, 0, sizeof job);
		worker_ctx ctx = {.out = &out};
		rc = job_from_kwargs(&job, kwargs, pdd, err);
		kwargs = NULL; /* the job owns it */
		if (rc == 0) {
			job.cfg.status_handler = w_status;
			job.cfg.event_handler = w_event;
			job.cfg.artifacts_handler = w_artifacts;
			job.cfg.finished_callback = w_finished;
			job.cfg.cancel_callback = w_cancel;
			job.cfg.canceler = opts->canceler;
			job.cfg.userdata = &ctx;
			rc = runnel_run(&job.cfg, result, err);
		}
		if (rc != 0 && !ctx.finished)
			out_error(&out, err->message, NULL);
		job_clear(&job);
	}
	json_decref(kwargs);

	pthread_mutex_lock(&out.lock);
	out.stop = true;
	pthread_cond_signal(&out.cond);
	pthread_mutex_unlock(&out.lock);
	if (ka_running)
		pthread_join(ka, NULL);
	pthread_cond_destroy(&out.cond);
	pthread_mutex_destroy(&out.lock);
	rn_buf_free(&out.line);
	rn_buf_free(&out.events);
	if (pdd && remove_after)
		rn_remove_tree(pdd);
	free(pdd);
	return rc;
}

/* ================================================================ process */

typedef struct processor {
	const runnel_config *cfg;
	runnel_process_result *res;
	char *artifact_dir;
	char *events_dir;
	rn_buf console;
	rn_buf scratch;
	runnel_event event; /* the event handed to event_handler (memory reused) */
	char ident[256];
} processor;

static void flush_console(void *ud)
{
	processor *p = ud;
	if (p->console.len) {
		(void)rn_write_all(1, p->console.data, p->console.len);
		rn_buf_reset(&p->console);
	}
}

static void p_status(processor *p, json_t *data)
{
	const char *st = json_string_value(json_object_get(data, "status"));
	snprintf(p->res->status, sizeof p->res->status, "%s", st ? st : "");
	const char *ident = json_string_value(json_object_get(data, "runner_ident"));
	if (ident && !p->ident[0])
		snprintf(p->ident, sizeof p->ident, "%s", ident);
	if (st && !strcmp(st, "error")) {
		const char *why = json_string_value(json_object_get(data, "job_explanation"));
		snprintf(p->res->job_explanation, sizeof p->res->job_explanation, "%s",
		         why ? why : "");
	}
	flush_console(p);
	if (p->cfg->status_handler)
		p->cfg->status_handler(data, p->cfg->userdata);
}

static void p_error(processor *p, const char *why)
{
	json_t *st = json_pack("{s:s,s:s}", "status", "error", "job_explanation", why);
	p_status(p, st);
	json_decref(st);
}

/* The event file from the line as received: the worker wrote it with
 * json.dumps() (or runnel's equivalent), which is what the file would hold
 * after parsing and dumping it again, minus the cost. */
static int write_raw_event(processor *p, json_t *ev, const char *raw, size_t len)
{
	const char *uuid = json_string_value(json_object_get(ev, "uuid"));
	json_t *c = json_object_get(ev, "counter");
	if (!json_is_integer(c) || !uuid || strchr(uuid, '/'))
		return rn_event_write_complete(p->events_dir, ev, &p->scratch);
	char *path =
	    rn_xasprintf("%s/%lld-%s.json", p->events_dir, (long long)json_integer_value(c), uuid);
	runnel_error e;
	int rc = rn_write_file_atomic(path, raw, len, 0600, &e);
	if (rc != 0)
		errno = e.code;
	free(path);
	return rc;
}

static void p_event(processor *p, json_t *ev, const char *raw, size_t len)
{
	json_t *counter = json_object_get(ev, "counter");
	const char *uuid = json_string_value(json_object_get(ev, "uuid"));
	/* as upstream 2.4: an event without counter or uuid is dropped */
	if (!uuid || !*uuid || !counter ||
	    (json_is_integer(counter) && !json_integer_value(counter)))
		return;
	p->res->events++;
	json_t *out = json_object_get(ev, "stdout");
	if (!p->cfg->quiet && json_is_string(out)) {
		rn_buf_append(&p->console, json_string_value(out), json_string_length(out));
		rn_buf_appendc(&p->console, '\n');
		if (p->console.len >= 64 * 1024)
			flush_console(p);
	}
	bool write = true;
	int bad = 0;
	if (p->cfg->event_handler) {
		rn_event_from_object(&p->event, ev, raw, len);
		write = p->cfg->event_handler(&p->event, p->cfg->userdata);
		if (write && p->event.text_stale)
			bad = rn_event_write_complete(p->events_dir, p->event.obj, &p->scratch);
		else if (write)
			bad = write_raw_event(p, ev, raw, len);
	} else {
		bad = write_raw_event(p, ev, raw, len);
	}
	if (bad)
		fprintf(stderr, "runnel: cannot write the event file of %s in %s: %s\n", uuid,
		        p->events_dir, strerror(errno));
}

/* The fast path of p_event for a line the scanner understood: no parse. */
static void p_event_text(processor *p, const rn_jscan *sc, const char *raw, size_t len)
{
	char uuid[64], num[32];
	if (sc->uuid_len == 0 || sc->uuid_len >= sizeof uuid || sc->counter_len >= sizeof num)
		return;
	memcpy(uuid, sc->uuid, sc->uuid_len);
	uuid[sc->uuid_len] = '\0';
	memcpy(num, sc->counter, sc->counter_len);
	num[sc->counter_len] = '\0';
	long counter = strtol(num, NULL, 10);
	/* as upstream 2.4: an event without counter or uuid is dropped */
	if (!counter)
		return;
	p->res->events++;
	if (!p->cfg->quiet && sc->stdout_value && sc->stdout_value[0] == '"') {
		rn_json_unquote(&p->console, sc->stdout_value, sc->stdout_len);
		rn_buf_appendc(&p->console, '\n');
		if (p->console.len >= 64 * 1024)
			flush_console(p);
	}
	bool write = true;
	rn_event_from_text(&p->event, raw, len, counter, uuid);
	if (p->cfg->event_handler)
		write = p->cfg->event_handler(&p->event, p->cfg->userdata);
	if (!write)
		return;
	int bad;
	if (p->event.text_stale) {
		bad = rn_event_write_complete(p->events_dir, p->event.obj, &p->scratch);
	} else {
		char *path = rn_xasprintf("%s/%ld-%s.json", p->events_dir, counter, uuid);
		runnel_error e;
		bad = strchr(uuid, '/') ? -1 : rn_write_file_atomic(path, raw, len, 0600, &e);
		if (bad)
			errno = strchr(uuid, '/') ? EINVAL : e.code;
		free(path);
	}
	if (bad)
		fprintf(stderr, "runnel: cannot write the event file of %s in %s: %s\n", uuid,
		        p->events_dir, strerror(errno));
}

/* True when the scanner says a line is an event we can take as text: an
 * object with a plain uuid and an integer counter, an event that is not a
 * keepalive, and none of the keys of the other kinds of line. */
static bool is_plain_event(const rn_jscan *sc)
{
	if (!(sc->keys & RN_KEY_EVENT) ||
	    (sc->keys & (RN_KEY_STATUS | RN_KEY_ZIPFILE | RN_KEY_EOF)))
		return false;
	if (!sc->uuid || !sc->counter || !sc->event)
		return false;
	for (size_t i = 0; i < sc->counter_len; i++)
		if (sc->counter[i] < '0' || sc->counter[i] > '9')
			return false;
	return !(sc->event_len == 9 && !memcmp(sc->event, "keepalive", 9));
}

static runnel_status status_enum(const char *s)
{
	static const runnel_status all[] = {RUNNEL_UNSTARTED,  RUNNEL_STARTING, RUNNEL_RUNNING,
	                                    RUNNEL_SUCCESSFUL, RUNNEL_FAILED,   RUNNEL_TIMEOUT,
	                                    RUNNEL_CANCELED};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (!strcmp(s, runnel_status_name(all[i])))
			return all[i];
	return RUNNEL_FAILED;
}

int runnel_process(int in_fd, const runnel_config *cfg, runnel_process_result *result,
                   runnel_error *err)
{
	runnel_process_result local;
	runnel_process_result *res = result ? result : &local;
	memset(res, 0, sizeof *res);
	snprintf(res->status, sizeof res->status, "unstarted");
	processor p = {.cfg = cfg, .res = res};
	rn_buf_init(&p.console);
	rn_buf_init(&p.scratch);

	char *pdd = NULL;
	if (cfg->private_data_dir) {
		pdd = rn_path_abs(cfg->private_data_dir);
	} else {
		const char *tmpdir = getenv("TMPDIR");
		pdd = rn_xasprintf("%s/runnel-process-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
		if (!mkdtemp(pdd)) {
			int e = errno;
			free(pdd);
			return rn_fail(err, e, "cannot create a temp dir: %s", strerror(e));
		}
	}
	if (cfg->artifact_dir) {
		p.artifact_dir = rn_path_abs(cfg->artifact_dir);
	} else {
		char *root = rn_path_join(pdd, "artifacts");
		p.artifact_dir = cfg->ident ? rn_path_join(root, cfg->ident) : rn_xstrdup(root);
		free(root);
	}
	if (cfg->ident)
		snprintf(p.ident, sizeof p.ident, "%s", cfg->ident);
	snprintf(res->artifact_dir, sizeof res->artifact_dir, "%s", p.artifact_dir);
	p.events_dir = rn_path_join(p.artifact_dir, "job_events");
	int rc = 0;
	if (rn_mkdirs(p.artifact_dir, 0755, err) != 0 ||
	    (mkdir(p.events_dir, 0700) != 0 && errno != EEXIST &&
	     rn_fail(err, errno, "cannot create %s: %s", p.events_dir, strerror(errno))))
		rc = -1;

	rn_reader in;
	rn_reader_init(&in, in_fd);
	in.before_block = flush_console;
	in.userdata = &p;
	rn_buf line;
	rn_buf_init(&line);
	while (rc == 0) {
		json_t *data = NULL;
		int got = rn_reader_line(&in, &line, RN_STREAM_MAX_LINE);
		rn_jscan sc;
		if (got > 0 && rn_jscan_object(line.data, line.len, &sc) && is_plain_event(&sc)) {
			p_event_text(&p, &sc, line.data, line.len);
			continue;
		}
		if (got > 0)
			data = json_loadb(line.data, line.len, JSON_DECODE_ANY, NULL);
		if (!json_is_object(data)) {
			json_decref(data);
			p_error(&p, ERR_PARSE_WORKER);
			break;
		}
		if (json_object_get(data, "status")) {
			p_status(&p, data);
		} else if (json_object_get(data, "zipfile")) {
			json_t *z = json_object_get(data, "zipfile");
			runnel_error e = {0};
			flush_console(&p);
			if (!json_is_integer(z) || rn_unstream_dir(&in, json_integer_value(z),
			                                           p.artifact_dir, NULL, &e) != 0) {
				fprintf(stderr, "runnel: %s\n",
				        e.code ? e.message : "zipfile is not a byte count");
				p_error(&p, ERR_ARTIFACTS);
				json_decref(data);
				break;
			}
			if (cfg->artifacts_handler)
				cfg->artifacts_handler(p.artifact_dir, cfg->userdata);
		} else if (json_object_get(data, "eof")) {
			res->eof = true;
			json_decref(data);
			break;
		} else if (!strcmp(json_string_value(json_object_get(data, "event")) ?: "",
		                   "keepalive")) {
			/* ignored */
		} else {
			p_event(&p, data, line.data, line.len);
		}
		json_decref(data);
	}
	flush_console(&p);
	rn_buf_free(&line);
	rn_reader_free(&in);

	if (rc == 0 && (!res->eof || !strcmp(res->status, "error")))
		rc = rn_fail(err, EPROTO, "%s",
		             res->job_explanation[0] ? res->job_explanation : ERR_PARSE_WORKER);

	if (cfg->finished_callback) {
		char *rcpath = rn_path_join(p.artifact_dir, "rc");
		char *rctext = rn_read_file(rcpath, NULL, NULL);
		runnel_run_result r = {
		    .status = status_enum(res->status),
		    .rc = rctext && *rctext >= '0' && *rctext <= '9' ? atoi(rctext) : -1,
		    .events = res->events,
		    .ident = p.ident,
		    .artifact_dir = p.artifact_dir,
		};
		cfg->finished_callback(&r, cfg->userdata);
		free(rctext);
		free(rcpath);
	}
	rn_buf_free(&line);
	rn_buf_free(&p.console);
	rn_buf_free(&p.scratch);
	rn_event_clear(&p.event);
	free(p.events_dir);
	free(p.artifact_dir);
	free(pdd);
	return rc;
}
