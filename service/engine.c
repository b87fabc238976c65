/*
 * engine.c - the engine API (engine.h): open/close, launches, cancel,
 * relaunch. The work itself happens in dispatch.c (workers) and receiver.c
 * (events); this file turns requests into unified job rows.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "activity_entry.h"
#include "config.h"
#include "engine_internal.h"
#include "job_states.h"
#include "project_files.h"
#include "scheduler.h"
#include "workflow.h"
#include "jobproc.h"
#include "statelock.h"
#include "survey.h"
#include "util.h"
#include "worker_settings.h"

/* Log a line through settings->log or to stderr. */
void engine_log(engine *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rn_log_vline(e->s.log, e->s.log_userdata, "runneld: ", fmt, ap);
	va_end(ap);
}

/* Own a copy of s (NULL stays NULL). */
static const char *own(engine *e, int slot, const char *s)
{
	free(e->owned[slot]);
	e->owned[slot] = s ? rn_xstrdup(s) : NULL;
	return e->owned[slot];
}

/* The worker binary: settings, $RUNNELD_WORKER, next to this program, PATH. */
static char *find_worker(const char *configured)
{
	if (configured && *configured)
		return rn_xstrdup(configured);
	const char *env = getenv("RUNNELD_WORKER");
	if (env && *env)
		return rn_xstrdup(env);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			char *p = rn_path_join(self, "runneld-worker");
			if (access(p, X_OK) == 0)
				return p;
			free(p);
		}
	}
	return rn_xstrdup("runneld-worker");
}

/* The workers' settings, serialized once (worker_settings.h): each worker
 * gets this text on its stdin. */
static char *worker_settings_of(const engine *e)
{
	json_t *task_env = e->s.task_env ? json_loads(e->s.task_env, 0, NULL) : NULL;
	/* the path lists were checked by isolation_settings */
	json_t *show = e->s.job_isolation_show_paths
	                   ? json_loads(e->s.job_isolation_show_paths, 0, NULL)
	                   : NULL;
	json_t *hide = e->s.job_isolation_hide_paths
	                   ? json_loads(e->s.job_isolation_hide_paths, 0, NULL)
	                   : NULL;
	worker_settings ws = {
	    .store = (char *)e->s.store_backend,
	    .bus = (char *)e->s.bus_backend,
	    .bus_socket = (char *)e->bus_socket,
	    .redis_url = (char *)e->s.redis_url,
	    .redis_queue = (char *)e->s.redis_queue,
	    .isolation_base_path = (char *)e->s.isolation_base_path,
	    .projects_root = (char *)e->s.projects_root,
	    .cleanup_paths = e->cleanup,
	    .job_timeout = e->s.default_job_timeout,
	    .idle_timeout = e->s.default_idle_timeout,
	    .cancel_grace_period = e->s.cancel_grace_period,
	    .event_stall_timeout = e->s.event_stall_timeout,
	    .task_env = task_env,
	    .job_isolation = e->isolation,
	    .job_isolation_executable = (char *)e->s.job_isolation_executable,
	    .job_isolation_show_paths = show,
	    .job_isolation_hide_paths = hide,
	};
	char *text = worker_settings_dump(&ws);
	json_decref(task_env);
	json_decref(show);
	json_decref(hide);
	return text;
}

/* Where the jobs' cgroups go (jobproc.h); without one, a dead worker's
 * processes are found by its private data dir. */
static void open_job_cgroups(engine *e)
{
	runnel_error cgerr;
	e->cgroup_base = jobproc_cgroup_base(&cgerr);
	if (e->cgroup_base) {
		engine_log(e, "jobs run in cgroups of their own below %s", e->cgroup_base);
		size_t swept = jobproc_sweep_cgroups(e->cgroup_base);
		if (swept)
			engine_log(e,
			           "removed %zu empty job cgroup%s of runnelds no longer running",
			           swept, swept == 1 ? "" : "s");
	} else
		engine_log(
		    e,
		    "jobs run without cgroups (%s): a dead worker's processes are found by its "
		    "private data dir",
		    cgerr.message);
}

/* A JSON array of absolute paths (or NULL). 0, or -1 with err naming key. */
static int check_path_list(const char *key, const char *text, runnel_error *err)
{
	if (!text)
		return 0;
	json_t *a = json_loads(text, 0, NULL);
	bool ok = json_is_array(a);
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
		ok = ok && json_is_string(v) && json_string_value(v)[0] == '/';
	json_decref(a);
	if (!ok)
		return rn_fail(err, EINVAL, "%s: must be a JSON list of absolute paths, not %s",
		               key, text);
	return 0;
}

/* The job isolation settings (sandbox.h), checked and owned. */
static int isolation_settings(engine *e, const engine_settings *settings, runnel_error *err)
{
	const char *on = settings->job_isolation;
	if (!on || !strcasecmp(on, "true") || !strcmp(on, "1") || !strcasecmp(on, "yes") ||
	    !strcasecmp(on, "on"))
		e->isolation = true;
	else if (!strcasecmp(on, "false") || !strcmp(on, "0") || !strcasecmp(on, "no") ||
	         !strcasecmp(on, "off"))
		e->isolation = false;
	else
		return rn_fail(err, EINVAL, "job_isolation: \"%s\" is not true or false", on);
	e->s.job_isolation = e->isolation ? "true" : "false";
	const char *exe = settings->job_isolation_executable;
	if (exe && (!*exe || *exe == '-'))
		return rn_fail(err, EINVAL, "job_isolation_executable: \"%s\" is not a program",
		               exe);
	e->s.job_isolation_executable = own(e, 9, exe ? exe : "bwrap");
	if (check_path_list("job_isolation_show_paths", settings->job_isolation_show_paths, err) <
	        0 ||
	    check_path_list("job_isolation_hide_paths", settings->job_isolation_hide_paths, err) <
	        0)
		return -1;
	e->s.job_isolation_show_paths = own(e, 10, settings->job_isolation_show_paths);
	e->s.job_isolation_hide_paths = own(e, 11, settings->job_isolation_hide_paths);
	return 0;
}

/* Open the engine. */
engine *engine_open(const engine_settings *settings, runnel_error *err)
{
	if (!settings || !settings->state_dir || !*settings->state_dir)
		return rn_fail(err, EINVAL, "state_dir: required"), NULL;
	engine *e = calloc(1, sizeof *e);
	e->s = *settings;
	e->lock_fd = -1;
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->wake, NULL);
	pthread_mutex_init(&e->events_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->events_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (config_engine_defaults(&e->s, err) < 0)
		goto fail;
	char *abs = rn_path_abs(settings->state_dir);
	e->s.state_dir = own(e, 0, abs);
	free(abs);
	e->s.store_backend = own(e, 1, e->s.store_backend);
	e->s.bus_backend = own(e, 2, e->s.bus_backend);
	e->s.redis_url = own(e, 3, e->s.redis_url);
	e->s.redis_queue = own(e, 4, e->s.redis_queue);
	e->s.isolation_base_path = own(e, 5, e->s.isolation_base_path);
	char *pr = e->s.projects_root ? rn_xstrdup(e->s.projects_root)
	                              : rn_path_join(e->s.state_dir, "projects");
	e->s.projects_root = own(e, 6, pr);
	free(pr);
	char *wp = find_worker(e->s.worker_path);
	e->s.worker_path = own(e, 7, wp);
	free(wp);
	e->s.task_env = own(e, 8, e->s.task_env);
	if (isolation_settings(e, &e->s, err) < 0)
		goto fail;
	const char *cp =
	    settings->cleanup_paths ? settings->cleanup_paths : getenv("AWX_CLEANUP_PATHS");
	e->cleanup =
	    !(cp && (!strcasecmp(cp, "false") || !strcmp(cp, "0") || !strcasecmp(cp, "no")));
	e->s.cleanup_paths = e->cleanup ? "true" : "false";
	snprintf(e->bus_socket, sizeof e->bus_socket, "%s/bus.sock", e->s.state_dir);
	e->worker_settings = worker_settings_of(e);
	if (strlen(e->s.state_dir) + 10 > sizeof e->bus_socket &&
	    !strcmp(e->s.bus_backend, "local")) {
		rn_fail(err, ENAMETOOLONG, "state_dir: too long for the bus socket path (max %zu)",
		        sizeof e->bus_socket - 10);
		goto fail;
	}
	if (rn_mkdirs(e->s.state_dir, 0700, err) < 0)
		goto fail;
	/* one runneld per state dir: before anything in it is touched */
	e->lock_fd = statelock_take(e->s.state_dir, err);
	if (e->lock_fd < 0)
		goto fail;
	if (rn_mkdirs(e->s.projects_root, 0700, err) < 0)
		goto fail;
	open_job_cgroups(e);
	store_settings ss = {.backend = e->s.store_backend, .state_dir = e->s.state_dir};
	e->st = store_open(&ss, err);
	if (!e->st)
		goto fail;
	/* the receiver's handle: a connection per storing thread where the
	 * backend stores event batches side by side */
	store_settings es = ss;
	es.thread_connections = e->st->event_writers > 1;
	e->events_st = store_open(&es, err);
	if (!e->events_st)
		goto fail;
	dispatch_reap_orphans(e);
	bus_settings bs = {.backend = e->s.bus_backend,
	                   .socket_path = e->bus_socket,
	                   .redis_url = e->s.redis_url,
	                   .queue = e->s.redis_queue,
	                   .consumer_id = e->s.state_dir}; /* one runneld per state dir */
	e->consumer = bus_open_consumer(&bs, err);
	if (!e->consumer)
		goto fail;
	if (pthread_create(&e->receiver, NULL, receiver_main, e)) {
		rn_fail(err, EAGAIN, "__all__: cannot start the receiver thread");
		goto fail;
	}
	e->receiver_started = true;
	if (pthread_create(&e->dispatcher, NULL, dispatch_main, e)) {
		rn_fail(err, EAGAIN, "__all__: cannot start the dispatcher thread");
		goto fail;
	}
	e->dispatcher_started = true;
	if (scheduler_start(e, err) < 0)
		goto fail;
	if (workflow_start(e, err) < 0)
		goto fail;
	engine_log(e, "engine open: state dir %s, store %s, bus %s, capacity %d", e->s.state_dir,
	           e->s.store_backend, e->s.bus_backend, e->s.capacity);
	return e;
fail:
	engine_close(e);
	return NULL;
}

/* Stop taking work, cancel running jobs (shutdown), drain, stop threads. */
void engine_shutdown(engine *e, double grace)
{
	pthread_mutex_lock(&e->mu);
	if (e->shut_down) {
		pthread_mutex_unlock(&e->mu);
		return;
	}
	e->shut_down = true;
	e->stopping = true;
	pthread_mutex_unlock(&e->mu);
	scheduler_stop(e); /* no run launches once shutdown began */
	workflow_stop(e);  /* nor a workflow's node */
	pthread_mutex_lock(&e->mu);
	for (size_t i = 0; i < e->nworkers; i++) {
		kill(e->workers[i].pid, SIGTERM);
		engine_log(e, "job %ld: shutdown: SIGTERM to worker pid %d", e->workers[i].job_id,
		           (int)e->workers[i].pid);
	}
	pthread_mutex_unlock(&e->mu);
	double deadline = rn_now() + (grace > 0 ? grace : 0);
	for (;;) {
		pthread_mutex_lock(&e->mu);
		size_t n = e->nworkers;
		if (n && rn_now() >= deadline)
			for (size_t i = 0; i < e->nworkers; i++)
				kill(e->workers[i].pid, SIGKILL);
		pthread_mutex_unlock(&e->mu);
		if (!n || !e->dispatcher_started)
			break;
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&e->mu);
	e->dispatcher_stop = true;
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->mu);
	if (e->dispatcher_started)
		pthread_join(e->dispatcher, NULL);
	e->dispatcher_started = false;
	pthread_mutex_lock(&e->mu);
	e->receiver_stop = true;
	pthread_mutex_unlock(&e->mu);
	if (e->receiver_started)
		pthread_join(e->receiver, NULL);
	e->receiver_started = false;
	engine_log(e, "engine stopped");
}

/* Shut down and free. */
void engine_close(engine *e)
{
	if (!e)
		return;
	if (e->dispatcher_started || e->receiver_started || e->scheduler_started ||
	    e->workflow_started)
		engine_shutdown(e, 5);
	bus_close(e->consumer);
	store_close(e->events_st);
	store_close(e->st);
	statelock_release(e->lock_fd);
	free(e->cgroup_base);
	free(e->worker_settings);
	free(e->workers);
	for (size_t i = 0; i < e->nreaped; i++) {
		free(e->reaped[i].why);
		free(e->reaped[i].kept_pdd);
	}
	free(e->reaped);
	for (size_t i = 0; i < sizeof e->owned / sizeof e->owned[0]; i++)
		free(e->owned[i]);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->wake);
	pthread_mutex_destroy(&e->events_mu);
	pthread_cond_destroy(&e->events_cv);
	free(e);
}

/* A batch of events was committed: wake the readers waiting for one. */
void engine_events_stored(engine *e)
{
	pthread_mutex_lock(&e->events_mu);
	e->events_seq++;
	pthread_cond_broadcast(&e->events_cv);
	pthread_mutex_unlock(&e->events_mu);
}

/* Wait until a commit after seen, or ms milliseconds; the commits' count. */
unsigned long engine_events_wait(engine *e, unsigned long seen, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&e->events_mu);
	while (e->events_seq == seen) {
		int rc = pthread_cond_timedwait(&e->events_cv, &e->events_mu, &ts);
		if (rc == ETIMEDOUT)
			break;
	}
	unsigned long seq = e->events_seq;
	pthread_mutex_unlock(&e->events_mu);
	return seq;
}

/* The store. */
store *engine_store(engine *e)
{
	return e->st;
}

/* The settings in effect. */
const engine_settings *engine_get_settings(engine *e)
{
	return &e->s;
}

/* A project's directory. */
char *engine_project_path(engine *e, long project_id, runnel_error *err)
{
	json_t *p = store_get(e->st, STORE_PROJECT, project_id, err);
	if (!p)
		return NULL;
	char *dir = project_dir(e->s.projects_root, p, err);
	json_decref(p);
	return dir;
}

/* Check a playbook path against a project. */
int engine_check_playbook(engine *e, long project_id, const char *playbook, runnel_error *err)
{
	if (!playbook || !*playbook)
		return rn_fail(err, EINVAL, "playbook: This field is required.");
	char *dir = engine_project_path(e, project_id, err);
	if (!dir)
		return -1;
	int rc = project_file_inside(dir, playbook, "playbook", err);
	free(dir);
	return rc;
}

/* Create a unified job of kind from fields (status new), relate credentials,
 * make it pending and wake the dispatcher. Returns the job. */
static json_t *enqueue(engine *e, store_kind kind, json_t *fields, json_t *credentials,
                       runnel_error *err)
{
	/* its id alone: the job is read once it is pending, below */
	json_t *job = store_create(e->st, kind, fields, STORE_SYSTEM | STORE_NO_RESULT, err);
	if (!job)
		return NULL;
	long id = (long)json_integer_value(json_object_get(job, "id"));
	size_t i;
	json_t *c;
	json_array_foreach(credentials, i, c) {
		if (store_associate(e->st, STORE_REL_JOB_CREDENTIALS, id,
		                    (long)json_integer_value(c), err) < 0) {
			store_remove(e->st, STORE_UNIFIED_JOB, id, NULL);
			json_decref(job);
			return NULL;
		}
	}
	if (store_job_transition(e->st, id, NULL, "pending", NULL, err) < 0) {
		json_decref(job);
		return NULL;
	}
	json_decref(job);
	engine_log(e, "job %ld: %s pending", id, store_kind_type(kind));
	/* read it back before the dispatcher can move it: the caller sees "pending" */
	job = store_get(e->st, STORE_UNIFIED_JOB, id, err);
	dispatch_wake(e);
	return job;
}

/* AWX's activity stream entry of a new job or ad hoc command, written once
 * its credentials and labels are attached (activity_entry.h); a failure to
 * record is logged and never fails the launch. */
static void record_launch(engine *e, const json_t *job)
{
	long id = (long)json_integer_value(json_object_get(job, "id"));
	runnel_error err = {0};
	if (activity_record_launch(e->st, id, &err) < 0)
		engine_log(e, "job %ld: activity stream entry not recorded: %s", id, err.message);
}

/* Launch-time overrides and the template flag that allows each. */
static const struct {
	const char *field;
	const char *ask;
} prompts[] = {
    {"extra_vars", "ask_variables_on_launch"}, {"limit", "ask_limit_on_launch"},
    {"job_tags", "ask_tags_on_launch"},        {"skip_tags", "ask_skip_tags_on_launch"},
    {"inventory", "ask_inventory_on_launch"},  {"credentials", "ask_credential_on_launch"},
    {"verbosity", "ask_verbosity_on_launch"},  {"diff_mode", "ask_diff_mode_on_launch"},
    {"job_type", "ask_job_type_on_launch"},    {"forks", "ask_forks_on_launch"},
    {"timeout", "ask_timeout_on_launch"},      {"scm_branch", "ask_scm_branch_on_launch"},
    {"labels", "ask_labels_on_launch"},        {NULL, NULL},
};

/* Merge two extra_vars texts/objects (b wins) into a JSON text. NULL with err. */
static char *merge_vars(const char *a, const json_t *b, runnel_error *err)
{
	json_t *base = a && *a ? json_loads(a, 0, NULL) : json_object();
	if (!json_is_object(base)) {
		/* YAML on the template: keep it when nothing is added */
		json_decref(base);
		if (!b || (json_is_object(b) && !json_object_size(b)))
			return rn_xstrdup(a);
		if (json_is_string(b) && !*json_string_value(b))
			return rn_xstrdup(a);
		return rn_fail(err, EINVAL,
		               "extra_vars: cannot merge launch extra_vars into YAML template "
		               "extra_vars; "
		               "use JSON"),
		       NULL;
	}
	json_t *add = NULL;
	if (json_is_object(b))
		add = json_incref((json_t *)b);
	else if (json_is_string(b) && *json_string_value(b)) {
		add = json_loads(json_string_value(b), 0, NULL);
		if (!json_is_object(add)) {
			json_decref(add);
			json_decref(base);
			return rn_fail(err, EINVAL,
			               "extra_vars: must be a JSON object (or a JSON object as a "
			               "string)"),
			       NULL;
		}
	} else if (b && !json_is_null(b) && !(json_is_string(b))) {
		json_decref(base);
		return rn_fail(err, EINVAL, "extra_vars: must be an object"), NULL;
	}
	if (add)
		json_object_update(base, add);
	json_decref(add);
	char *t = json_dumps(base, JSON_COMPACT);
	json_decref(base);
	return t;
}

/* The ids of array v that are not among template jt_id's credentials (a new array). */
static json_t *credentials_beyond(engine *e, long jt_id, const json_t *v)
{
	json_t *have =
	    store_related_ids(e->st, STORE_REL_JOB_TEMPLATE_CREDENTIALS, jt_id, false, NULL);
	json_t *out = json_array();
	size_t i, j;
	json_t *c, *h;
	json_array_foreach((json_t *)v, i, c) {
		bool found = false;
		json_array_foreach(have, j, h)
			found = found || json_equal(c, h);
		if (!found)
			json_array_append(out, c);
	}
	json_decref(have);
	return out;
}

/* True when a launch value v of field k equals what template jt has (AWX's
 * no-op: neither accepted nor ignored). Credentials: no credential beyond
 * the template's. */
static bool prompt_is_template_value(engine *e, const json_t *jt, long jt_id, const char *k,
                                     const json_t *v)
{
	if (!strcmp(k, "credentials")) {
		if (!json_is_array(v))
			return false;
		json_t *have = store_related_ids(e->st, STORE_REL_JOB_TEMPLATE_CREDENTIALS, jt_id,
		                                 false, NULL);
		bool all = true;
		size_t i, j;
		json_t *c, *h;
		json_array_foreach(v, i, c) {
			bool found = false;
			json_array_foreach(have, j, h)
				found = found || json_equal(c, h);
			all = all && found;
		}
		json_decref(have);
		return all;
	}
	if (!strcmp(k, "labels"))
		return false; /* AWX compares a list with the related manager: never equal */
	json_t *cur = json_object_get(jt, k);
	return cur && json_equal(cur, (json_t *)v);
}

/* Launch extra_vars (an object, a JSON text, absent or null) as a new
 * object; NULL with err (EINVAL) for anything else. */
static json_t *launch_vars_object(const json_t *v, runnel_error *err)
{
	if (!v || json_is_null(v))
		return json_object();
	if (json_is_object(v))
		return json_deep_copy(v);
	if (json_is_string(v)) {
		const char *t = json_string_value(v);
		while (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r')
			t++;
		if (!*t)
			return json_object();
		json_t *o = json_loads(json_string_value(v), 0, NULL);
		if (json_is_object(o))
			return o;
		json_decref(o);
		return rn_fail(err, EINVAL,
		               "extra_vars: must be a JSON object (or a JSON object as a string)"),
		       NULL;
	}
	return rn_fail(err, EINVAL, "extra_vars: must be an object"), NULL;
}

/* A new job's extra_vars text: the template's, the survey's defaults, the
 * accepted launch vars (survey_job_vars); a YAML template's vars are kept as
 * they are when nothing is added. NULL with err. */
static char *launch_job_vars(const json_t *jt, const json_t *accepted, const store_key *key,
                             json_t **passwords, runnel_error *err)
{
	const char *tv = json_string_value(json_object_get(jt, "extra_vars"));
	json_t *base = tv && *tv ? json_loads(tv, 0, NULL) : json_object();
	if (!json_is_object(base)) {
		json_decref(base);
		*passwords = json_object();
		if (!json_object_size(accepted) && !survey_active(jt))
			return rn_xstrdup(tv);
		return rn_fail(err, EINVAL,
		               "extra_vars: cannot merge launch extra_vars into YAML template "
		               "extra_vars; use JSON"),
		       NULL;
	}
	json_t *vars = survey_job_vars(jt, base, accepted, key, passwords, err);
	json_decref(base);
	if (!vars)
		return NULL;
	char *t = json_dumps(vars, JSON_COMPACT);
	json_decref(vars);
	return t;
}

/* The labels of a new job (AWX's copy_m2m_relationships): the prompted
 * ones (an array of label ids, each checked) or the template's. A new
 * array, or NULL with err. */
static json_t *launch_labels(engine *e, long jt_id, const json_t *prompted, runnel_error *err)
{
	if (!prompted)
		return store_related_ids(e->st, STORE_REL_JOB_TEMPLATE_LABELS, jt_id, false, err);
	if (!json_is_array(prompted))
		return rn_fail(err, EINVAL, "labels: Expected a list of items."), NULL;
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)prompted, i, v) {
		json_t *l = json_is_integer(v)
		                ? store_get(e->st, STORE_LABEL, (long)json_integer_value(v), NULL)
		                : NULL;
		if (!l) {
			char *s = json_dumps(v, JSON_ENCODE_ANY);
			rn_fail(err, EINVAL, "labels: Invalid pk \"%s\" - object does not exist.",
			        s ? s : "?");
			free(s);
			return NULL;
		}
		json_decref(l);
	}
	return json_deep_copy(prompted);
}

/* Attach labels (an array of ids) to job job_id; a label gone meanwhile is skipped. */
static void relate_labels(engine *e, long job_id, const json_t *labels)
{
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)labels, i, v)
		store_associate(e->st, STORE_REL_JOB_LABELS, job_id, (long)json_integer_value(v),
		                NULL);
}

static json_t *launch_job_template(engine *e, long jt_id, const json_t *overrides,
                                   const char *launch_type, long created_by, const json_t *stamp,
                                   json_t **ignored, runnel_error *err);

/* Launch a job template. */
json_t *engine_launch_job_template(engine *e, long jt_id, const json_t *overrides,
                                   const char *launch_type, long created_by, json_t **ignored,
                                   runnel_error *err)
{
	return launch_job_template(e, jt_id, overrides, launch_type, created_by, NULL, ignored,
	                           err);
}

/* Launch a job template; stamp (may be NULL): fields set on the new job
 * (a schedule's launch_type and schedule). */
static json_t *launch_job_template(engine *e, long jt_id, const json_t *overrides,
                                   const char *launch_type, long created_by, const json_t *stamp,
                                   json_t **ignored, runnel_error *err)
{
	if (ignored)
		*ignored = NULL;
	if (overrides && !json_is_object(overrides))
		return rn_fail(err, EINVAL, "__all__: Invalid data. Expected a dictionary."), NULL;
	json_t *jt = store_get(e->st, STORE_JOB_TEMPLATE, jt_id, err);
	if (!jt)
		return NULL;
	json_t *ign = json_object();
	json_t *take = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)overrides, k, v) {
		int i;
		for (i = 0; prompts[i].field; i++)
			if (!strcmp(k, prompts[i].field))
				break;
		if (!prompts[i].field) {
			json_decref(ign), json_decref(take), json_decref(jt);
			return rn_fail(err, EINVAL, "%s: Unknown launch field.", k), NULL;
		}
		if (!strcmp(k, "extra_vars") || json_is_null(v))
			continue; /* the survey's rules below; AWX skips a None prompt */
		if (json_is_true(json_object_get(jt, prompts[i].ask)))
			json_object_set(take, k, v);
		else if (!prompt_is_template_value(e, jt, jt_id, k, v))
			/* AWX: a value equal to the template's is no prompt; of
			 * credentials, those beyond the template's are ignored */
			json_object_set_new(ign, k,
			                    !strcmp(k, "credentials")
			                        ? credentials_beyond(e, jt_id, v)
			                        : json_incref(v));
	}
	store_key key;
	if (store_key_load(&key, e->s.state_dir, err) < 0) {
		json_decref(ign), json_decref(take), json_decref(jt);
		return NULL;
	}
	json_t *accepted = NULL, *rejected = NULL, *survey_errors = json_array();
	json_t *given = launch_vars_object(json_object_get(overrides, "extra_vars"), err);
	if (!given) {
		sodium_memzero(&key, sizeof key);
		json_decref(ign), json_decref(take), json_decref(jt), json_decref(survey_errors);
		return NULL;
	}
	survey_accept_vars(jt, given, &key, &accepted, &rejected, survey_errors);
	json_decref(given);
	if (json_array_size(survey_errors)) {
		rn_buf b;
		rn_buf_init(&b);
		size_t i;
		json_array_foreach(survey_errors, i, v) {
			if (i)
				rn_buf_append(&b, " ", 1);
			rn_buf_append(&b, json_string_value(v), json_string_length(v));
		}
		rn_fail(err, EINVAL, "variables_needed_to_start: %s", b.data);
		rn_buf_free(&b);
		sodium_memzero(&key, sizeof key);
		json_decref(accepted), json_decref(rejected), json_decref(survey_errors);
		json_decref(ign), json_decref(take), json_decref(jt);
		return NULL;
	}
	json_decref(survey_errors);
	if (json_object_size(rejected))
		json_object_set(ign, "extra_vars", rejected);
	json_decref(rejected);
	json_t *f = json_object();
	static const char *const copy[] = {
	    "inventory", "project",    "playbook",       "limit",   "forks",     "verbosity",
	    "job_tags",  "skip_tags",  "start_at_task",  "timeout", "diff_mode", "become_enabled",
	    "job_type",  "scm_branch", "use_fact_cache", NULL};
	for (int i = 0; copy[i]; i++) {
		json_t *x = json_object_get(take, copy[i]);
		json_object_set(f, copy[i], x ? x : json_object_get(jt, copy[i]));
	}
	json_t *credentials = NULL;
	json_t *rc = NULL;
	json_t *survey_passwords = NULL;
	json_t *labels = NULL;
	char *ev = launch_job_vars(jt, accepted, &key, &survey_passwords, err);
	if (!ev)
		goto out;
	json_object_set_new(f, "extra_vars", json_string(ev));
	free(ev);
	if (json_object_size(survey_passwords))
		json_object_set(f, "survey_passwords", survey_passwords);
	json_object_set_new(f, "name", json_incref(json_object_get(jt, "name")));
	json_object_set_new(f, "type", json_string("job"));
	json_object_set_new(f, "job_template", json_integer(jt_id));
	json_object_set_new(f, "unified_job_template", json_integer(jt_id));
	json_object_set_new(f, "launch_type", json_string(launch_type ? launch_type : "manual"));
	if (created_by)
		json_object_set_new(f, "created_by", json_integer(created_by));
	if (json_is_null(json_object_get(f, "inventory"))) {
		rn_fail(err, EINVAL,
		        "inventory: Job Template 'inventory' is missing or undefined.");
		goto out;
	}
	if (json_is_null(json_object_get(f, "project"))) {
		rn_fail(err, EINVAL, "project: Job Template 'project' is missing or undefined.");
		goto out;
	}
	const char *jtype = json_string_value(json_object_get(f, "job_type"));
	if (jtype && strcmp(jtype, "run") && strcmp(jtype, "check")) {
		rn_fail(err, EINVAL, "job_type: \"%s\" is not a valid choice.", jtype);
		goto out;
	}
	if (engine_check_playbook(e, (long)json_integer_value(json_object_get(f, "project")),
	                          json_string_value(json_object_get(f, "playbook")), err) < 0)
		goto out;
	if (json_object_get(take, "credentials")) {
		credentials = json_deep_copy(json_object_get(take, "credentials"));
		if (!json_is_array(credentials)) {
			rn_fail(err, EINVAL, "credentials: Expected a list of ids.");
			goto out;
		}
		size_t i;
		json_array_foreach(credentials, i, v)
			if (!json_is_integer(v)) {
				rn_fail(err, EINVAL, "credentials: Expected a list of ids.");
				goto out;
			}
	} else {
		credentials =
		    store_related_ids(e->st, STORE_REL_JOB_TEMPLATE_CREDENTIALS, jt_id, false, err);
		if (!credentials)
			goto out;
	}
	labels = launch_labels(e, jt_id, json_object_get(take, "labels"), err);
	if (!labels)
		goto out;
	if (stamp) {
		/* workflows: a workflow's variables (an object) go over the job's
		 * own, whatever the template asks (AWX's wj_special_vars) */
		json_t *wv = json_object_get(stamp, "extra_vars");
		char *merged = NULL;
		if (json_is_object(wv)) {
			merged = merge_vars(json_string_value(json_object_get(f, "extra_vars")), wv,
			                    err);
			if (!merged)
				goto out;
		}
		json_object_update(f, (json_t *)stamp);
		if (merged)
			json_object_set_new(f, "extra_vars", json_string(merged));
		free(merged);
	}
	rc = enqueue(e, STORE_JOB, f, credentials, err);
	if (rc) {
		relate_labels(e, (long)json_integer_value(json_object_get(rc, "id")), labels);
		record_launch(e, rc);
		char now[32];
		rn_utc_isoformat(now);
		json_t *u = json_pack("{s:s+}", "last_job_run", now, "Z");
		json_decref(store_update(e->st, STORE_JOB_TEMPLATE, jt_id, u,
		                         STORE_SYSTEM | STORE_NO_RESULT, NULL));
		json_decref(u);
	}
out:
	sodium_memzero(&key, sizeof key);
	json_decref(labels);
	json_decref(accepted);
	json_decref(survey_passwords);
	json_decref(f);
	json_decref(take);
	json_decref(jt);
	json_decref(credentials);
	if (rc && ignored && json_object_size(ign))
		*ignored = json_incref(ign);
	json_decref(ign);
	return rc;
}

/* Launch an ad hoc command. */
json_t *engine_launch_ad_hoc(engine *e, const json_t *fields, long created_by, runnel_error *err)
{
	if (!json_is_object(fields))
		return rn_fail(err, EINVAL, "__all__: Invalid data. Expected a dictionary."), NULL;
	static const char *const allowed[] = {
	    "inventory", "module_name",    "module_args", "limit",    "credential", "verbosity",
	    "forks",     "become_enabled", "diff_mode",   "job_type", "extra_vars", "timeout",
	    NULL};
	json_t *f = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)fields, k, v) {
		int i;
		for (i = 0; allowed[i]; i++)
			if (!strcmp(k, allowed[i]))
				break;
		if (!allowed[i]) {
			json_decref(f);
			return rn_fail(err, EINVAL, "%s: Unknown field.", k), NULL;
		}
		json_object_set(f, k, v);
	}
	if (!json_object_get(f, "inventory") || json_is_null(json_object_get(f, "inventory"))) {
		json_decref(f);
		return rn_fail(err, EINVAL, "inventory: This field is required."), NULL;
	}
	const char *mod = json_string_value(json_object_get(f, "module_name"));
	if (json_object_get(f, "module_name") && (!mod || !*mod)) {
		json_decref(f);
		return rn_fail(err, EINVAL, "module_name: This field may not be blank."), NULL;
	}
	json_t *evj = json_object_get(f, "extra_vars");
	if (evj && !json_is_string(evj)) {
		char *t = merge_vars("", evj, err);
		if (!t) {
			json_decref(f);
			return NULL;
		}
		json_object_set_new(f, "extra_vars", json_string(t));
		free(t);
	}
	if (!json_object_get(f, "limit"))
		json_object_set_new(f, "limit", json_string("all"));
	json_object_set_new(f, "type", json_string("ad_hoc_command"));
	json_object_set_new(f, "name", json_string(mod ? mod : "command"));
	if (created_by)
		json_object_set_new(f, "created_by", json_integer(created_by));
	json_t *r = enqueue(e, STORE_AD_HOC_COMMAND, f, NULL, err);
	json_decref(f);
	if (r)
		record_launch(e, r);
	return r;
}

/* A file-name-safe form of a name: AWX's slugify for project paths. */
static void slugify(const char *in, char *out, size_t n)
{
	size_t j = 0;
	for (; *in && j + 1 < n; in++) {
		char c = *in;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
			out[j++] = c;
		else if (c >= 'A' && c <= 'Z')
			out[j++] = c - 'A' + 'a';
		else if (j && out[j - 1] != '_')
			out[j++] = '_';
	}
	out[j] = 0;
}

static json_t *launch_project_update(engine *e, long project_id, long created_by,
                                     const json_t *stamp, runnel_error *err);

/* Launch a project update. */
json_t *engine_launch_project_update(engine *e, long project_id, long created_by, runnel_error *err)
{
	return launch_project_update(e, project_id, created_by, NULL, err);
}

/* Launch a project update, stamp (may be NULL) set on it. */
static json_t *launch_project_update(engine *e, long project_id, long created_by,
                                     const json_t *stamp, runnel_error *err)
{
	json_t *p = store_get(e->st, STORE_PROJECT, project_id, err);
	if (!p)
		return NULL;
	const char *lp = json_string_value(json_object_get(p, "local_path"));
	const char *scm_type = json_string_value(json_object_get(p, "scm_type"));
	if (scm_type && *scm_type && (!lp || lp[0] != '_')) {
		/* AWX: an SCM project's checkout lives in _<id>__<slug> under PROJECTS_ROOT
		 * (also once a manual project became a git one: its directory stays as it is) */
		char slug[128], path[160];
		slugify(json_string_value(json_object_get(p, "name")), slug, sizeof slug);
		snprintf(path, sizeof path, "_%ld__%s", project_id, slug);
		json_t *u = json_pack("{s:s}", "local_path", path);
		json_t *np = store_update(e->st, STORE_PROJECT, project_id, u, STORE_SYSTEM, err);
		json_decref(u);
		if (!np) {
			json_decref(p);
			return NULL;
		}
		json_decref(p);
		p = np;
	}
	json_t *f = json_pack(
	    "{s:s,s:s,s:I,s:I,s:O,s:O,s:O,s:O,s:O,s:s,s:s}", "name",
	    json_string_value(json_object_get(p, "name")), "type", "project_update", "project",
	    (json_int_t)project_id, "unified_job_template", (json_int_t)project_id, "scm_type",
	    json_object_get(p, "scm_type"), "scm_url", json_object_get(p, "scm_url"), "scm_branch",
	    json_object_get(p, "scm_branch"), "local_path", json_object_get(p, "local_path"),
	    "scm_clean", json_object_get(p, "scm_clean"), "job_type", "check", "launch_type",
	    "manual");
	json_object_set(f, "timeout", json_object_get(p, "timeout"));
	if (created_by)
		json_object_set_new(f, "created_by", json_integer(created_by));
	if (stamp)
		json_object_update(f, (json_t *)stamp);
	json_t *r = enqueue(e, STORE_PROJECT_UPDATE, f, NULL, err);
	if (r) {
		json_t *u = json_pack("{s:s}", "status", "pending");
		json_decref(store_update(e->st, STORE_PROJECT, project_id, u,
		                         STORE_SYSTEM | STORE_NO_RESULT, NULL));
		json_decref(u);
	}
	json_decref(f);
	json_decref(p);
	return r;
}

static json_t *launch_inventory_update(engine *e, long source_id, long created_by,
                                       const json_t *stamp, runnel_error *err);

/* Launch an inventory update. */
json_t *engine_launch_inventory_update(engine *e, long source_id, long created_by,
                                       runnel_error *err)
{
	return launch_inventory_update(e, source_id, created_by, NULL, err);
}

/* Launch an inventory update, stamp (may be NULL) set on it. */
static json_t *launch_inventory_update(engine *e, long source_id, long created_by,
                                       const json_t *stamp, runnel_error *err)
{
	json_t *src = store_get(e->st, STORE_INVENTORY_SOURCE, source_id, err);
	if (!src)
		return NULL;
	json_t *f = json_pack(
	    "{s:O,s:s,s:I,s:I,s:O,s:O,s:O,s:O,s:O,s:O,s:s}", "name", json_object_get(src, "name"),
	    "type", "inventory_update", "inventory_source", (json_int_t)source_id,
	    "unified_job_template", (json_int_t)source_id, "inventory",
	    json_object_get(src, "inventory"), "source", json_object_get(src, "source"),
	    "source_path", json_object_get(src, "source_path"), "source_project",
	    json_object_get(src, "source_project"), "overwrite", json_object_get(src, "overwrite"),
	    "verbosity", json_object_get(src, "verbosity"), "launch_type", "manual");
	json_object_set(f, "timeout", json_object_get(src, "timeout"));
	if (created_by)
		json_object_set_new(f, "created_by", json_integer(created_by));
	if (stamp)
		json_object_update(f, (json_t *)stamp);
	json_t *r = enqueue(e, STORE_INVENTORY_UPDATE, f, NULL, err);
	json_decref(f);
	json_decref(src);
	return r;
}

static json_t *launch_system_job(engine *e, const char *job_type, const json_t *extra_vars,
                                 long created_by, const json_t *stamp, runnel_error *err);

/* Launch a system job. */
json_t *engine_launch_system_job(engine *e, const char *job_type, const json_t *extra_vars,
                                 long created_by, runnel_error *err)
{
	return launch_system_job(e, job_type, extra_vars, created_by, NULL, err);
}

/* Launch a system job, stamp (may be NULL) set on it. */
static json_t *launch_system_job(engine *e, const char *job_type, const json_t *extra_vars,
                                 long created_by, const json_t *stamp, runnel_error *err)
{
	if (!job_type || strcmp(job_type, "cleanup_jobs"))
		return rn_fail(err, EINVAL,
		               "job_type: \"%s\" is not a valid choice (cleanup_jobs).",
		               job_type ? job_type : ""),
		       NULL;
	char *ev = merge_vars("", extra_vars, err);
	if (!ev)
		return NULL;
	json_t *f =
	    json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", "Cleanup Job Details", "type", "system_job",
	              "job_type", job_type, "extra_vars", ev, "launch_type", "manual");
	free(ev);
	if (created_by)
		json_object_set_new(f, "created_by", json_integer(created_by));
	if (stamp)
		json_object_update(f, (json_t *)stamp);
	json_t *r = enqueue(e, STORE_SYSTEM_JOB, f, NULL, err);
	json_decref(f);
	return r;
}

/* Relaunch a job with its parameters. */
json_t *engine_relaunch(engine *e, long job_id, const char *hosts, long created_by,
                        runnel_error *err)
{
	json_t *old = store_get(e->st, STORE_UNIFIED_JOB, job_id, err);
	if (!old)
		return NULL;
	const char *type = json_string_value(json_object_get(old, "type"));
	int kind = store_kind_from_job_type(type);
	json_t *f = json_object();
	json_t *r = NULL, *creds = NULL;
	static const char *const skip[] = {"id",
	                                   "type",
	                                   "url",
	                                   "related",
	                                   "summary_fields",
	                                   "created",
	                                   "modified",
	                                   "status",
	                                   "failed",
	                                   "started",
	                                   "finished",
	                                   "canceled_on",
	                                   "elapsed",
	                                   "job_explanation",
	                                   "result_traceback",
	                                   "cancel_flag",
	                                   "job_args",
	                                   "job_cwd",
	                                   "job_env",
	                                   "emitted_events",
	                                   "artifacts",
	                                   "execution_node",
	                                   "controller_node",
	                                   "worker_pid",
	                                   "private_data_dir",
	                                   "launched_by",
	                                   "created_by",
	                                   "event_processing_finished",
	                                   "can_cancel",
	                                   "stored_events",
	                                   "host_status_counts",
	                                   "scm_revision",
	                                   "launch_type",
	                                   "instance_group",
	                                   "modified_by",
	                                   "schedule",
	                                   NULL};
	const char *k;
	json_t *v;
	json_object_foreach(old, k, v) {
		int i;
		for (i = 0; skip[i]; i++)
			if (!strcmp(k, skip[i]))
				break;
		if (!skip[i])
			json_object_set(f, k, v);
	}
	json_object_set_new(f, "type", json_string(type));
	json_object_set_new(f, "launch_type", json_string("relaunch"));
	if (created_by)
		json_object_set_new(f, "created_by", json_integer(created_by));
	if (hosts && !strcmp(hosts, "failed")) {
		store_query q = {.filters = json_pack("{s:b}", "failed", 1), .page_size = 200};
		store_page pg = {0};
		if (store_host_summaries_list(e->st, job_id, &q, &pg, err) < 0) {
			json_decref(q.filters);
			goto out;
		}
		json_decref(q.filters);
		rn_buf lim;
		rn_buf_init(&lim);
		size_t i;
		json_t *h;
		json_array_foreach(pg.results, i, h) {
			const char *n = json_string_value(json_object_get(h, "host_name"));
			if (lim.len)
				rn_buf_appendc(&lim, ',');
			rn_buf_append(&lim, n, strlen(n));
		}
		store_page_clear(&pg);
		if (!lim.len) {
			rn_buf_free(&lim);
			rn_fail(err, EINVAL, "hosts: No failed hosts to relaunch on.");
			goto out;
		}
		json_object_set_new(f, "limit", json_string(lim.data));
		rn_buf_free(&lim);
	} else if (hosts && strcmp(hosts, "all")) {
		rn_fail(err, EINVAL, "hosts: \"%s\" is not a valid choice (all, failed).", hosts);
		goto out;
	}
	creds = store_related_ids(e->st, STORE_REL_JOB_CREDENTIALS, job_id, false, err);
	if (!creds)
		goto out;
	r = enqueue(e, (store_kind)kind, f, creds, err);
	if (r) {
		/* the labels go with the relaunch, as AWX's prompts config keeps them */
		json_t *labels =
		    store_related_ids(e->st, STORE_REL_JOB_LABELS, job_id, false, NULL);
		relate_labels(e, (long)json_integer_value(json_object_get(r, "id")), labels);
		json_decref(labels);
		record_launch(e, r);
	}
out:
	json_decref(creds);
	json_decref(f);
	json_decref(old);
	return r;
}

/* Cancel a job. */
int engine_cancel(engine *e, long job_id, runnel_error *err)
{
	json_t *job = store_get(e->st, STORE_UNIFIED_JOB, job_id, err);
	if (!job)
		return -1;
	bool active = job_state_is_active(json_string_value(json_object_get(job, "status")));
	pid_t stored_pid = (pid_t)json_integer_value(json_object_get(job, "worker_pid"));
	json_decref(job);
	if (!active)
		return 0;
	if (store_job_set_cancel_flag(e->st, job_id, err) < 0)
		return -1;
	/* nothing runs a queued job yet: it ends now; a waiting or running one
	 * is ended by its worker */
	char cur[32] = "";
	int moved = store_job_transition(e->st, job_id, job_states_queued, "canceled", cur, err);
	if (moved < 0)
		return -1;
	if (moved == 1) {
		engine_log(e, "job %ld: canceled before it started", job_id);
		return 1;
	}
	workflow_wake(e); /* a running workflow job: its manager cancels its nodes' jobs */
	if (!job_state_is_active(cur))
		return 0;
	if (dispatch_signal(e, job_id, SIGTERM)) {
		engine_log(e, "job %ld: cancel: SIGTERM to its worker", job_id);
	} else if (stored_pid > 0) {
		/* not ours (another engine on this state dir): signal the recorded worker */
		kill(stored_pid, SIGTERM);
	}
	/* a waiting job whose worker is not forked yet sees the flag when it starts */
	return 1;
}

/* Launch what a schedule runs (scheduler.c calls it once it claimed the
 * run): its template's job with the schedule's prompts, through the launch
 * path the API uses, as AWX's Schedule.get_job_kwargs: launch_type
 * "scheduled" and the schedule on the job. */
json_t *engine_launch_scheduled(engine *e, const json_t *schedule, runnel_error *err)
{
	long sid = (long)json_integer_value(json_object_get(schedule, "id"));
	long ujt = (long)json_integer_value(json_object_get(schedule, "unified_job_template"));
	json_t *stamp =
	    json_pack("{s:s,s:I}", "launch_type", "scheduled", "schedule", (json_int_t)sid);
	json_t *r = NULL;
	json_t *probe = NULL;
	runnel_error e2 = {0};
	if ((probe = store_get(e->st, STORE_JOB_TEMPLATE, ujt, &e2))) {
		/* the prompts the schedule carries (AWX's prompts_dict) */
		static const char *const prompts_of[] = {
		    "inventory", "scm_branch", "job_type", "job_tags", "skip_tags", "limit",
		    "diff_mode", "verbosity",  "forks",    "timeout",  NULL};
		json_t *ov = json_object();
		for (int i = 0; prompts_of[i]; i++) {
			json_t *v = json_object_get(schedule, prompts_of[i]);
			if (v && !json_is_null(v))
				json_object_set(ov, prompts_of[i], v);
		}
		json_t *ed = json_object_get(schedule, "extra_data");
		if (json_is_object(ed) && json_object_size(ed))
			json_object_set(ov, "extra_vars", ed);
		json_t *ignored = NULL;
		r = launch_job_template(e, ujt, ov, "scheduled", 0, stamp, &ignored, err);
		json_decref(ignored);
		json_decref(ov);
	} else if ((probe = store_get(e->st, STORE_PROJECT, ujt, &e2))) {
		r = launch_project_update(e, ujt, 0, stamp, err);
	} else if ((probe = store_get(e->st, STORE_INVENTORY_SOURCE, ujt, &e2))) {
		r = launch_inventory_update(e, ujt, 0, stamp, err);
	} else if (ujt == 1) {
		json_t *ed = json_object_get(schedule, "extra_data");
		json_t *vars = json_is_object(ed) ? ed : NULL;
		r = launch_system_job(e, "cleanup_jobs", vars, 0, stamp, err);
	} else {
		rn_fail(err, ENOENT, "unified_job_template: %ld does not exist", ujt);
	}
	json_decref(probe);
	json_decref(stamp);
	return r;
}

/* Launch what a workflow node runs (workflow.c): a job template's job with
 * the node's prompts as a launch's overrides (those the template does not
 * ask for ignored), a project or inventory source's update; stamp set on
 * the new job (launch_type, source_workflow_job, ...; an "extra_vars"
 * object merged over the job's variables). */
json_t *engine_launch_for_workflow(engine *e, long ujt, const json_t *overrides,
                                   const json_t *stamp, long created_by, runnel_error *err)
{
	json_t *probe = NULL;
	json_t *r = NULL;
	runnel_error e2 = {0};
	if ((probe = store_get(e->st, STORE_JOB_TEMPLATE, ujt, &e2))) {
		json_t *ignored = NULL;
		r = launch_job_template(e, ujt, overrides, "workflow", created_by, stamp, &ignored,
		                        err);
		json_decref(ignored);
	} else if ((probe = store_get(e->st, STORE_PROJECT, ujt, &e2))) {
		json_t *st = json_deep_copy(stamp);
		json_object_del(st, "extra_vars");
		r = launch_project_update(e, ujt, created_by, st, err);
		json_decref(st);
	} else if ((probe = store_get(e->st, STORE_INVENTORY_SOURCE, ujt, &e2))) {
		json_t *st = json_deep_copy(stamp);
		json_object_del(st, "extra_vars");
		r = launch_inventory_update(e, ujt, created_by, st, err);
		json_decref(st);
	} else {
		rn_fail(err, ENOENT, "unified_job_template: %ld does not exist", ujt);
	}
	json_decref(probe);
	return r;
}
