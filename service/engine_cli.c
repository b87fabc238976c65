/*
 * engine_cli.c - runneld-ctl: drives the engine (engine.h) from JSON lines
 * on stdin, one answer line per command on stdout. It is the engine's test
 * driver and a debugging aid until the HTTP API sits on the same calls.
 *
 *   runneld-ctl --state-dir D [--bus local|redis] [--redis-url U]
 *               [--capacity N] [--isolation-base P] [--cleanup-paths true|false]
 *               [--job-timeout S] [--batch N] [--flush-ms MS] [--grace S]
 *               [--redis-queue NAME] [--worker PATH] [--store sqlite|postgresql://...]
 *
 * Commands ({"cmd": NAME, ...}) → {"ok": true, "result": ...} or
 * {"ok": false, "code": errno, "error": "field: reason"}:
 *   create {kind, fields}          update {kind, id, fields}     get {kind, id}
 *   delete {kind, id}              list {kind, filters, order_by, page, page_size}
 *   associate {rel, parent, child} launch {job_template, overrides}
 *   ad_hoc {fields}                project_update {project}      inventory_update
 * {inventory_source} system_job {job_type, extra_vars}  relaunch {id, hosts}      cancel {id}
 *   events {id, filters, order_by, page, page_size}   summaries {id}
 *   stdout {id, start, end}  → {content, absolute_end}
 *   wait {id, timeout, until: "finished" (default, = event_processing_finished) | "running" |
 * "status"} pid  → this process id           shutdown {grace}  (answers, then exits) SIGTERM:
 * engine_shutdown (running jobs end with the shutdown explanation), exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "job_states.h"
#include "util.h"

static engine *the_engine;
static double grace = -1; /* shutdown grace; -1: config.c's default */

/* Print one answer line. */
static void answer(json_t *a)
{
	char *t = json_dumps(a, JSON_COMPACT);
	fprintf(stdout, "%s\n", t);
	fflush(stdout);
	free(t);
	json_decref(a);
}

/* An error answer. */
static json_t *fail(const runnel_error *err)
{
	return json_pack("{s:b,s:i,s:s}", "ok", 0, "code", err->code, "error", err->message);
}

/* A result answer (steals r; NULL means the error in err). */
static json_t *ok(json_t *r, const runnel_error *err)
{
	if (!r)
		return fail(err);
	return json_pack("{s:b,s:o}", "ok", 1, "result", r);
}

/* A kind from a command's "kind" (plural or singular). */
static int kind_of(json_t *cmd, runnel_error *err)
{
	const char *k = json_string_value(json_object_get(cmd, "kind"));
	int kind = k ? store_kind_from_name(k) : -1;
	if (kind < 0)
		rn_fail(err, EINVAL, "kind: unknown kind '%s'", k ? k : "");
	return kind;
}

/* A store_query from a command. */
static store_query query_of(json_t *cmd)
{
	store_query q = {.filters = json_object_get(cmd, "filters"),
	                 .order_by = json_string_value(json_object_get(cmd, "order_by")),
	                 .page = (long)json_integer_value(json_object_get(cmd, "page")),
	                 .page_size = (long)json_integer_value(json_object_get(cmd, "page_size"))};
	return q;
}

/* A page as {count, results}. */
static json_t *page_json(store_page *pg)
{
	json_t *r = json_pack("{s:I,s:O}", "count", (json_int_t)pg->count, "results", pg->results);
	store_page_clear(pg);
	return r;
}

/* Collects stdout into an rn_buf. */
static int collect(const char *text, size_t len, void *ud)
{
	rn_buf_append(ud, text, len);
	return 0;
}

/* Relation names. */
static store_rel rel_of(const char *name)
{
	if (!name)
		return STORE_REL_NONE;
	if (!strcmp(name, "job_template_credentials"))
		return STORE_REL_JOB_TEMPLATE_CREDENTIALS;
	if (!strcmp(name, "job_credentials"))
		return STORE_REL_JOB_CREDENTIALS;
	if (!strcmp(name, "group_hosts"))
		return STORE_REL_GROUP_HOSTS;
	if (!strcmp(name, "group_children"))
		return STORE_REL_GROUP_CHILDREN;
	return STORE_REL_NONE;
}

/* Wait for a job to reach a state. */
static json_t *wait_for(store *st, long id, double timeout, const char *until, runnel_error *err)
{
	double end = rn_now() + (timeout > 0 ? timeout : 60);
	for (;;) {
		json_t *j = store_get(st, STORE_UNIFIED_JOB, id, err);
		if (!j)
			return NULL;
		const char *status = json_string_value(json_object_get(j, "status"));
		bool done;
		if (!strcmp(until, "running"))
			done = !strcmp(status, "running") || !job_state_is_active(status);
		else if (!strcmp(until, "status"))
			done = !job_state_is_active(status);
		else
			done = json_is_true(json_object_get(j, "event_processing_finished"));
		if (done)
			return j;
		if (rn_now() > end) {
			json_object_set_new(j, "__timed_out", json_true());
			return j;
		}
		json_decref(j);
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
}

/* Run one command. */
static json_t *run_cmd(json_t *cmd, bool *quit)
{
	engine *e = the_engine;
	store *st = engine_store(e);
	runnel_error err = {0};
	const char *c = json_string_value(json_object_get(cmd, "cmd"));
	long id = (long)json_integer_value(json_object_get(cmd, "id"));
	json_t *fields = json_object_get(cmd, "fields");
	if (!c)
		return rn_fail(&err, EINVAL, "cmd: required"), fail(&err);
	if (!strcmp(c, "create") || !strcmp(c, "update") || !strcmp(c, "get") ||
	    !strcmp(c, "delete") || !strcmp(c, "list")) {
		int k = kind_of(cmd, &err);
		if (k < 0)
			return fail(&err);
		if (!strcmp(c, "create"))
			return ok(store_create(st, k, fields, 0, &err), &err);
		if (!strcmp(c, "update"))
			return ok(store_update(st, k, id, fields, 0, &err), &err);
		if (!strcmp(c, "get"))
			return ok(store_get(st, k, id, &err), &err);
		if (!strcmp(c, "delete"))
			return store_remove(st, k, id, &err) < 0 ? fail(&err)
			                                         : ok(json_true(), &err);
		store_query q = query_of(cmd);
		store_page pg = {0};
		if (store_list(st, k, &q, &pg, &err) < 0)
			return fail(&err);
		return ok(page_json(&pg), &err);
	}
	if (!strcmp(c, "associate")) {
		store_rel r = rel_of(json_string_value(json_object_get(cmd, "rel")));
		if (store_associate(st, r, (long)json_integer_value(json_object_get(cmd, "parent")),
		                    (long)json_integer_value(json_object_get(cmd, "child")),
		                    &err) < 0)
			return fail(&err);
		return ok(json_true(), &err);
	}
	if (!strcmp(c, "launch")) {
		json_t *ign = NULL;
		json_t *j = engine_launch_job_template(
		    e, (long)json_integer_value(json_object_get(cmd, "job_template")),
		    json_object_get(cmd, "overrides"), NULL, 0, &ign, &err);
		if (j && ign)
			json_object_set_new(j, "ignored_fields", ign);
		return ok(j, &err);
	}
	if (!strcmp(c, "ad_hoc"))
		return ok(engine_launch_ad_hoc(e, fields, 0, &err), &err);
	if (!strcmp(c, "project_update"))
		return ok(
		    engine_launch_project_update(
		        e, (long)json_integer_value(json_object_get(cmd, "project")), 0, &err),
		    &err);
	if (!strcmp(c, "inventory_update"))
		return ok(engine_launch_inventory_update(
		              e, (long)json_integer_value(json_object_get(cmd, "inventory_source")),
		              0, &err),
		          &err);
	if (!strcmp(c, "system_job"))
		return ok(
		    engine_launch_system_job(e, json_string_value(json_object_get(cmd, "job_type")),
		                             json_object_get(cmd, "extra_vars"), 0, &err),
		    &err);
	if (!strcmp(c, "relaunch"))
		return ok(engine_relaunch(e, id, json_string_value(json_object_get(cmd, "hosts")),
		                          0, &err),
		          &err);
	if (!strcmp(c, "cancel")) {
		int r = engine_cancel(e, id, &err);
		return r < 0 ? fail(&err) : ok(json_integer(r), &err);
	}
	if (!strcmp(c, "events") || !strcmp(c, "summaries")) {
		store_query q = query_of(cmd);
		store_page pg = {0};
		int r = !strcmp(c, "events") ? store_events_list(st, id, &q, &pg, &err)
		                             : store_host_summaries_list(st, id, &q, &pg, &err);
		return r < 0 ? fail(&err) : ok(page_json(&pg), &err);
	}
	if (!strcmp(c, "stdout")) {
		json_t *s = json_object_get(cmd, "start"), *en = json_object_get(cmd, "end");
		rn_buf b;
		rn_buf_init(&b);
		long abs_end = 0;
		if (store_stdout_read(st, id, s ? (long)json_integer_value(s) : 0,
		                      en ? (long)json_integer_value(en) : -1, collect, &b, &abs_end,
		                      &err) < 0) {
			rn_buf_free(&b);
			return fail(&err);
		}
		json_t *r = json_pack("{s:s%,s:I}", "content", b.data ? b.data : "", b.len,
		                      "absolute_end", (json_int_t)abs_end);
		rn_buf_free(&b);
		return ok(r, &err);
	}
	if (!strcmp(c, "wait")) {
		const char *until = json_string_value(json_object_get(cmd, "until"));
		return ok(wait_for(st, id, json_number_value(json_object_get(cmd, "timeout")),
		                   until ? until : "finished", &err),
		          &err);
	}
	if (!strcmp(c, "pid"))
		return ok(json_integer(getpid()), &err);
	if (!strcmp(c, "shutdown")) {
		json_t *g = json_object_get(cmd, "grace");
		engine_shutdown(e, g ? json_number_value(g) : grace);
		*quit = true;
		return ok(json_true(), &err);
	}
	rn_fail(&err, EINVAL, "cmd: unknown command '%s'", c);
	return fail(&err);
}

/* SIGTERM: shut the engine down as runneld does, then exit. */
static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;
	sigwait(set, &sig);
	fprintf(stderr, "runneld-ctl: signal %d: shutting down\n", sig);
	engine_shutdown(the_engine, grace);
	engine_close(the_engine);
	_exit(0);
	return NULL;
}

static const struct option opts[] = {
    {"state-dir", required_argument, NULL, 's'},
    {"bus", required_argument, NULL, 'b'},
    {"redis-url", required_argument, NULL, 'r'},
    {"capacity", required_argument, NULL, 'c'},
    {"isolation-base", required_argument, NULL, 'i'},
    {"cleanup-paths", required_argument, NULL, 'C'},
    {"job-timeout", required_argument, NULL, 't'},
    {"batch", required_argument, NULL, 'B'},
    {"flush-ms", required_argument, NULL, 'f'},
    {"grace", required_argument, NULL, 'g'},
    {"worker", required_argument, NULL, 'w'},
    {"redis-queue", required_argument, NULL, 'q'},
    {"store", required_argument, NULL, 'S'},
    {NULL, 0, NULL, 0},
};

/* runneld-ctl main. */
int main(int argc, char **argv)
{
	engine_settings s = {0};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			s.state_dir = optarg;
			break;
		case 'b':
			s.bus_backend = optarg;
			break;
		case 'r':
			s.redis_url = optarg;
			break;
		case 'c':
			s.capacity = atoi(optarg);
			break;
		case 'i':
			s.isolation_base_path = optarg;
			break;
		case 'C':
			s.cleanup_paths = optarg;
			break;
		case 't':
			s.default_job_timeout = atoi(optarg);
			break;
		case 'B':
			s.receiver_batch = atoi(optarg);
			break;
		case 'f':
			s.receiver_flush_ms = atoi(optarg);
			break;
		case 'g':
			grace = atof(optarg);
			break;
		case 'w':
			s.worker_path = optarg;
			break;
		case 'q':
			s.redis_queue = optarg;
			break;
		case 'S':
			s.store_backend = optarg;
			break;
		default:
			fprintf(stderr,
			        "usage: runneld-ctl --state-dir D [options] < commands.jsonl\n");
			return 2;
		}
	}
	if (!s.state_dir) {
		fprintf(stderr, "usage: runneld-ctl --state-dir D [options] < commands.jsonl\n");
		return 2;
	}
	/* SIGTERM/SIGINT are taken by one thread (every thread inherits the mask) */
	static sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	runnel_error err = {0};
	if (grace < 0 && config_double(NULL, CFG_SHUTDOWN_GRACE, &grace, &err) < 0) {
		fprintf(stderr, "runneld-ctl: %s\n", err.message);
		return 2;
	}
	the_engine = engine_open(&s, &err);
	if (!the_engine) {
		fprintf(stderr, "runneld-ctl: %s\n", err.message);
		return 1;
	}
	pthread_t th;
	pthread_create(&th, NULL, signal_thread, &set);
	answer(json_pack("{s:b,s:s}", "ok", 1, "result", "ready"));
	char *line = NULL;
	size_t cap = 0;
	bool quit = false;
	while (!quit && getline(&line, &cap, stdin) > 0) {
		json_error_t je;
		json_t *cmd = json_loads(line, 0, &je);
		if (!json_is_object(cmd)) {
			json_decref(cmd);
			answer(json_pack("{s:b,s:i,s:s}", "ok", 0, "code", EINVAL, "error",
			                 "__all__: not a JSON object"));
			continue;
		}
		answer(run_cmd(cmd, &quit));
		json_decref(cmd);
	}
	free(line);
	engine_close(the_engine); /* stdin closed: shut down too */
	return 0;
}
