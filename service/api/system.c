/*
 * system.c - what a client reads of the node itself: instances/ and
 * instance_groups/ (this one runneld: node_type "hybrid", its capacity the
 * jobs it runs at once, in the group "default"), and metrics/ with AWX's
 * metric names (awx/main/analytics/metrics.py, subsystem_metrics.py), as
 * Prometheus text or, with ?format=json, AWX's JSON.
 */
#include "api.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "util.h"

/* The one instance and the one group. */
#define INSTANCE_ID       1
#define INSTANCE_GROUP_ID 1

/* This node's name, as the workers write it in execution_node. */
static void node_name(char *out, size_t n)
{
	if (gethostname(out, n) != 0 || !*out)
		snprintf(out, n, "localhost");
	out[n - 1] = '\0';
}

/* A stable uuid for this node (from its name: FNV-1a, shaped as a v4 uuid). */
static void node_uuid(const char *host, char out[37])
{
	uint64_t h1 = 1469598103934665603ULL, h2 = 1099511628211ULL * 31;
	for (const char *p = host; *p; p++) {
		h1 = (h1 ^ (unsigned char)*p) * 1099511628211ULL;
		h2 = (h2 ^ (unsigned char)*p) * 14029467366897019727ULL;
	}
	snprintf(out, 37, "%08x-%04x-4%03x-8%03x-%012llx", (unsigned)(h1 >> 32),
	         (unsigned)(h1 >> 16) & 0xffff, (unsigned)h1 & 0xfff, (unsigned)(h2 >> 48) & 0xfff,
	         (unsigned long long)(h2 & 0xffffffffffffULL));
}

/* How many objects of kind match filters (stolen, may be NULL); -1 on error. */
static long count_of(api_request *rq, store_kind kind, json_t *filters)
{
	store_query q = {.filters = filters, .page = 1, .page_size = 1};
	store_page p = {0};
	runnel_error err = {0};
	long n = store_list(rq->st, kind, &q, &p, &err) == 0 ? p.count : -1;
	store_page_clear(&p);
	json_decref(filters);
	return n;
}

/* Who may read instances, groups and metrics. AWX: InstanceList and
 * InstanceGroupList are readable by any user (InstanceAccess,
 * InstanceGroupAccess: org members see their groups; the default group is
 * everyone's); MetricsView answers superusers and system auditors only
 * (unless ALLOW_METRICS_FOR_ANONYMOUS_USERS). */
static bool system_may_read(const api_request *rq, bool metrics)
{
	if (!metrics)
		return rq->user != NULL;
	return json_is_true(json_object_get(rq->user, "is_superuser")) ||
	       json_is_true(json_object_get(rq->user, "is_system_auditor"));
}

/* The figures of this node: capacity (jobs at once), consumed (jobs
 * waiting or running), jobs_running, jobs_total (ever run here). */
typedef struct node_figures {
	char host[256];
	char uuid[37];
	long capacity, consumed, running, total;
} node_figures;

static void node_figures_of(api_request *rq, node_figures *nf)
{
	node_name(nf->host, sizeof nf->host);
	node_uuid(nf->host, nf->uuid);
	const engine_settings *es = engine_get_settings(rq->eng);
	nf->capacity = es ? es->capacity : 0;
	nf->running =
	    count_of(rq, STORE_UNIFIED_JOB, json_pack("{s:s}", "status__in", "waiting,running"));
	nf->consumed = nf->running < 0 ? 0 : nf->running;
	nf->total = count_of(rq, STORE_UNIFIED_JOB, json_pack("{s:s}", "execution_node", nf->host));
}

/* Remaining capacity in percent, as AWX rounds it. */
static double percent_remaining(const node_figures *nf)
{
	if (nf->capacity <= 0)
		return 0.0;
	long left = nf->capacity - nf->consumed;
	return left <= 0 ? 0.0 : 100.0 * (double)left / (double)nf->capacity;
}

/* This node as AWX's InstanceSerializer shows an instance. */
static json_t *instance_object(api_request *rq, const node_figures *nf)
{
	char now[32];
	model_now(now);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long long mem = (long long)sysconf(_SC_PHYS_PAGES) * (long long)sysconf(_SC_PAGESIZE);
	(void)rq;
	json_t *o = json_pack("{s:i,s:s,s:s}", "id", INSTANCE_ID, "type", "instance", "url",
	                      "/api/v2/instances/1/");
	json_object_set_new(o, "related",
	                    json_pack("{s:s,s:s}", "jobs", "/api/v2/instances/1/jobs/",
	                              "instance_groups", "/api/v2/instances/1/instance_groups/"));
	json_object_set_new(
	    o, "summary_fields",
	    json_pack("{s:{s:b,s:b}}", "user_capabilities", "edit", 0, "delete", 0));
	json_object_set_new(o, "uuid", json_string(nf->uuid));
	json_object_set_new(o, "hostname", json_string(nf->host));
	json_object_set_new(o, "created", json_string(now));
	json_object_set_new(o, "modified", json_string(now));
	json_object_set_new(o, "last_seen", json_string(now));
	json_object_set_new(o, "heartbeat", json_string(now));
	json_object_set_new(o, "last_health_check", json_string(now));
	json_object_set_new(o, "errors", json_string(""));
	json_object_set_new(o, "capacity_adjustment", json_string("1.00"));
	json_object_set_new(o, "version", json_string(API_PRODUCT_VERSION));
	json_object_set_new(o, "capacity", json_integer(nf->capacity));
	json_object_set_new(o, "consumed_capacity", json_integer(nf->consumed));
	json_object_set_new(o, "percent_capacity_remaining", json_real(percent_remaining(nf)));
	json_object_set_new(o, "jobs_running", json_integer(nf->running < 0 ? 0 : nf->running));
	json_object_set_new(o, "jobs_total", json_integer(nf->total < 0 ? 0 : nf->total));
	json_object_set_new(o, "cpu", json_integer(cpus > 0 ? cpus : 0));
	json_object_set_new(o, "memory", json_integer(mem > 0 ? mem : 0));
	json_object_set_new(o, "cpu_capacity", json_integer(nf->capacity));
	json_object_set_new(o, "mem_capacity", json_integer(nf->capacity));
	json_object_set_new(o, "enabled", json_true());
	json_object_set_new(o, "managed_by_policy", json_true());
	json_object_set_new(o, "node_type", json_string("hybrid"));
	json_object_set_new(o, "node_state", json_string("ready"));
	json_object_set_new(o, "ip_address", json_string(""));
	json_object_set_new(o, "listener_port", json_null());
	return o;
}

/* The group "default" as AWX's InstanceGroupSerializer shows it. */
static json_t *group_object(const node_figures *nf)
{
	char now[32];
	model_now(now);
	json_t *o = json_pack("{s:i,s:s,s:s}", "id", INSTANCE_GROUP_ID, "type", "instance_group",
	                      "url", "/api/v2/instance_groups/1/");
	json_object_set_new(o, "related",
	                    json_pack("{s:s,s:s}", "jobs", "/api/v2/instance_groups/1/jobs/",
	                              "instances", "/api/v2/instance_groups/1/instances/"));
	json_object_set_new(
	    o, "summary_fields",
	    json_pack("{s:{s:b,s:b}}", "user_capabilities", "edit", 0, "delete", 0));
	json_object_set_new(o, "name", json_string("default"));
	json_object_set_new(o, "created", json_string(now));
	json_object_set_new(o, "modified", json_string(now));
	json_object_set_new(o, "capacity", json_integer(nf->capacity));
	json_object_set_new(o, "consumed_capacity", json_integer(nf->consumed));
	json_object_set_new(o, "percent_capacity_remaining", json_real(percent_remaining(nf)));
	json_object_set_new(o, "jobs_running", json_integer(nf->running < 0 ? 0 : nf->running));
	json_object_set_new(o, "jobs_total", json_integer(nf->total < 0 ? 0 : nf->total));
	json_object_set_new(o, "instances", json_integer(1));
	json_object_set_new(o, "is_container_group", json_false());
	json_object_set_new(o, "credential", json_null());
	json_object_set_new(o, "policy_instance_percentage", json_integer(100));
	json_object_set_new(o, "policy_instance_minimum", json_integer(0));
	json_object_set_new(o, "policy_instance_list", json_array());
	json_object_set_new(o, "pod_spec_override", json_string(""));
	return o;
}

/* A list of one object, as AWX pages it; filters on id/hostname/name that
 * leave it out give an empty page. */
static int list_of_one(api_request *rq, api_response *rs, json_t *o, const char *name_key)
{
	bool keep = true;
	const char *id = api_arg(rq, "id");
	const char *name = api_arg(rq, name_key);
	if (id && strtol(id, NULL, 10) != json_integer_value(json_object_get(o, "id")))
		keep = false;
	if (name && strcmp(name, json_string_value(json_object_get(o, name_key))))
		keep = false;
	json_t *results = json_array();
	if (keep)
		json_array_append(results, o);
	json_decref(o);
	return api_json(rs, 200,
	                json_pack("{s:I,s:n,s:n,s:o}", "count",
	                          (json_int_t)json_array_size(results), "next", "previous",
	                          "results", results));
}

/* GET /api/v2/instances/ */
static int instances_list(api_request *rq, api_response *rs)
{
	if (!system_may_read(rq, false))
		return api_detail(rs, 403, "You do not have permission to perform this action.");
	node_figures nf;
	node_figures_of(rq, &nf);
	return list_of_one(rq, rs, instance_object(rq, &nf), "hostname");
}

/* GET /api/v2/instances/1/ */
static int instances_one(api_request *rq, api_response *rs)
{
	if (rq->ids[0] != INSTANCE_ID)
		return api_detail(rs, 404, "Not found.");
	node_figures nf;
	node_figures_of(rq, &nf);
	return api_json(rs, 200, instance_object(rq, &nf));
}

/* GET /api/v2/instance_groups/ and /api/v2/instances/1/instance_groups/ */
static int groups_list(api_request *rq, api_response *rs)
{
	if (strstr(rq->path, "/instances/") && rq->ids[0] != INSTANCE_ID)
		return api_detail(rs, 404, "Not found.");
	node_figures nf;
	node_figures_of(rq, &nf);
	return list_of_one(rq, rs, group_object(&nf), "name");
}

/* GET /api/v2/instance_groups/1/ */
static int groups_one(api_request *rq, api_response *rs)
{
	if (rq->ids[0] != INSTANCE_GROUP_ID)
		return api_detail(rs, 404, "Not found.");
	node_figures nf;
	node_figures_of(rq, &nf);
	return api_json(rs, 200, group_object(&nf));
}

/* GET /api/v2/instance_groups/1/instances/ */
static int group_instances(api_request *rq, api_response *rs)
{
	if (rq->ids[0] != INSTANCE_GROUP_ID)
		return api_detail(rs, 404, "Not found.");
	return instances_list(rq, rs);
}

/* GET /api/v2/instances/1/jobs/ and /api/v2/instance_groups/1/jobs/: the
 * jobs run here (all of them: there is one node). */
static int node_jobs(api_request *rq, api_response *rs)
{
	if (rq->ids[0] != 1)
		return api_detail(rs, 404, "Not found.");
	return api_list(rq, rs, STORE_UNIFIED_JOB, NULL);
}

/* ------------------------------------------------------------------ */
/* metrics                                                              */

/* The metrics being built: {name: {help_text, type, samples: [{labels, value}]}}. */
static void metric(json_t *m, const char *name, const char *help, json_t *labels, double value)
{
	json_t *e = json_object_get(m, name);
	if (!e) {
		e = json_pack("{s:s,s:s,s:[]}", "help_text", help, "type", "gauge", "samples");
		json_object_set_new(m, name, e);
	}
	json_array_append_new(
	    json_object_get(e, "samples"),
	    json_pack("{s:o,s:f}", "labels", labels ? labels : json_object(), "value", value));
}

/* The unified job statuses AWX reports (STATUS_CHOICES without "new"). */
static const char *const job_statuses[] = {"pending", "waiting", "running",  "successful",
                                           "failed",  "error",   "canceled", NULL};
/* AWX's launch types (UnifiedJob.LAUNCH_TYPE_CHOICES). */
static const char *const launch_types[] = {"manual",     "relaunch", "callback", "scheduled",
                                           "dependency", "workflow", "webhook",  "sync",
                                           "scm",        NULL};

/* The totals of events over every unified job: emitted (what the jobs made),
 * stored, and lost (of jobs whose events are done: made, never stored). */
static void event_totals(api_request *rq, long long *emitted, long long *stored, long long *lost)
{
	*emitted = *stored = *lost = 0;
	for (long page = 1;; page++) {
		store_query q = {.page = page, .page_size = 200, .order_by = "id"};
		store_page p = {0};
		runnel_error err = {0};
		if (store_list(rq->st, STORE_UNIFIED_JOB, &q, &p, &err) < 0)
			break;
		size_t i;
		json_t *j;
		json_array_foreach(p.results, i, j) {
			long long e = json_integer_value(json_object_get(j, "emitted_events"));
			long long s = json_integer_value(json_object_get(j, "stored_events"));
			*emitted += e;
			*stored += s;
			const char *st = json_string_value(json_object_get(j, "status"));
			if (st && !store_status_is_active(st) && e > s)
				*lost += e - s;
		}
		long n = p.count;
		store_page_clear(&p);
		if (page * 200 >= n)
			break;
	}
}

/* AWX's metrics() (the "db" half: counts, jobs, instances). */
static void db_metrics(api_request *rq, json_t *m, const node_figures *nf)
{
	char base[300];
	const char *host = rq->header ? rq->header(rq, "Host") : NULL;
	snprintf(base, sizeof base, "http://%s", host ? host : "127.0.0.1");
	metric(m, "awx_system_info", "AWX System Information",
	       json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "install_uuid",
	                 "00000000-0000-4000-8000-000000000000", "insights_analytics", "False",
	                 "tower_url_base", base, "tower_version", API_PRODUCT_VERSION,
	                 "license_type", "open", "license_expiry", "0", "pendo_tracking", "off",
	                 "external_logger_enabled", "False", "external_logger_type", "None"),
	       1.0);
	static const struct {
		const char *name, *help;
		store_kind kind;
	} counts[] = {
	    {"awx_organizations_total", "Number of organizations", STORE_ORGANIZATION},
	    {"awx_users_total", "Number of users", STORE_USER},
	    {"awx_inventories_total", "Number of inventories", STORE_INVENTORY},
	    {"awx_projects_total", "Number of projects", STORE_PROJECT},
	    {"awx_job_templates_total", "Number of job templates", STORE_JOB_TEMPLATE},
	};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
		metric(m, counts[i].name, counts[i].help, NULL,
		       (double)count_of(rq, counts[i].kind, NULL));
	long hosts = count_of(rq, STORE_HOST, NULL);
	metric(m, "awx_hosts_total", "Number of hosts", json_pack("{s:s}", "type", "all"),
	       (double)hosts);
	metric(m, "awx_hosts_total", "Number of hosts", json_pack("{s:s}", "type", "active"),
	       (double)count_of(rq, STORE_HOST, json_pack("{s:b}", "enabled", 1)));
	long sessions = (long)api_sessions_count(rq->sessions);
	metric(m, "awx_sessions_total", "Number of sessions", json_pack("{s:s}", "type", "all"),
	       (double)sessions);
	metric(m, "awx_sessions_total", "Number of sessions", json_pack("{s:s}", "type", "user"),
	       (double)sessions);
	metric(m, "awx_sessions_total", "Number of sessions",
	       json_pack("{s:s}", "type", "anonymous"), 0.0);
	metric(m, "awx_running_jobs_total", "Number of running jobs on the system", NULL,
	       (double)count_of(rq, STORE_UNIFIED_JOB, json_pack("{s:s}", "status", "running")));
	metric(m, "awx_pending_jobs_total", "Number of pending jobs on the system", NULL,
	       (double)count_of(rq, STORE_UNIFIED_JOB, json_pack("{s:s}", "status", "pending")));
	for (int i = 0; job_statuses[i]; i++)
		metric(m, "awx_status_total", "Status of Job launched",
		       json_pack("{s:s}", "status", job_statuses[i]),
		       (double)count_of(rq, STORE_UNIFIED_JOB,
		                        json_pack("{s:s}", "status", job_statuses[i])));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long long mem = (long long)sysconf(_SC_PHYS_PAGES) * (long long)sysconf(_SC_PAGESIZE);
#define NODE_LABELS                                                                                \
	json_pack("{s:s,s:s,s:s}", "hostname", nf->host, "instance_uuid", nf->uuid, "node_type",   \
	          "hybrid")
	metric(m, "awx_instance_capacity", "Capacity of each node in the system", NODE_LABELS,
	       (double)nf->capacity);
	metric(m, "awx_instance_cpu", "CPU cores on each node in the system",
	       json_pack("{s:s,s:s}", "hostname", nf->host, "instance_uuid", nf->uuid),
	       (double)(cpus > 0 ? cpus : 0));
	metric(m, "awx_instance_memory", "RAM (Kb) on each node in the system",
	       json_pack("{s:s,s:s}", "hostname", nf->host, "instance_uuid", nf->uuid),
	       (double)(mem > 0 ? mem : 0));
	json_t *info = NODE_LABELS;
	json_object_set_new(info, "enabled", json_string("True"));
	json_object_set_new(info, "managed_by_policy", json_string("True"));
	json_object_set_new(info, "version", json_string(API_PRODUCT_VERSION));
	metric(m, "awx_instance_info", "Info about each node in the system", info, 1.0);
	metric(m, "awx_instance_consumed_capacity", "Consumed capacity of each node in the system",
	       NODE_LABELS, (double)nf->consumed);
	metric(m, "awx_instance_remaining_capacity",
	       "Remaining capacity of each node in the system", NODE_LABELS,
	       (double)(nf->capacity > nf->consumed ? nf->capacity - nf->consumed : 0));
#undef NODE_LABELS
	for (int i = 0; launch_types[i]; i++) {
		long n = count_of(rq, STORE_UNIFIED_JOB,
		                  json_pack("{s:s,s:s}", "execution_node", nf->host, "launch_type",
		                            launch_types[i]));
		if (n > 0)
			metric(m, "awx_instance_launch_type_total", "Type of Job launched",
			       json_pack("{s:s,s:s}", "node", nf->host, "launch_type",
			                 launch_types[i]),
			       (double)n);
	}
	for (int i = 0; job_statuses[i]; i++) {
		long n = count_of(
		    rq, STORE_UNIFIED_JOB,
		    json_pack("{s:s,s:s}", "execution_node", nf->host, "status", job_statuses[i]));
		if (n > 0)
			metric(m, "awx_instance_status_total", "Status of Job launched",
			       json_pack("{s:s,s:s}", "node", nf->host, "status", job_statuses[i]),
			       (double)n);
	}
}

/* The callback receiver's half (AWX's subsystem metrics), from the jobs'
 * records: what the jobs emitted, what is stored, what finished jobs lost. */
static void receiver_metrics(api_request *rq, json_t *m)
{
	long long emitted, stored, lost;
	event_totals(rq, &emitted, &stored, &lost);
	json_t *node = json_object();
	char host[256];
	node_name(host, sizeof host);
	json_object_set_new(node, "node", json_string(host));
	metric(m, "callback_receiver_events_insert_db",
	       "Number of events batch inserted into database", json_deep_copy(node),
	       (double)stored);
	metric(m, "runneld_events_emitted_total", "Number of events the jobs emitted",
	       json_deep_copy(node), (double)emitted);
	metric(m, "runneld_events_lost_total",
	       "Number of events of finished jobs that were emitted and never stored",
	       json_deep_copy(node), (double)lost);
	json_decref(node);
}

/* A label value in Prometheus text: \, " and newline escaped. */
static void prom_escape(rn_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			rn_buf_appendc(b, '\\');
		if (*s == '\n') {
			rn_buf_append(b, "\\n", 2);
			continue;
		}
		rn_buf_appendc(b, *s);
	}
}

/* The metrics as Prometheus' text exposition format 0.0.4. */
static char *prom_text(const json_t *m, size_t *len)
{
	rn_buf b;
	rn_buf_init(&b);
	const char *name;
	json_t *e;
	json_object_foreach((json_t *)m, name, e) {
		char line[1024];
		int n = snprintf(line, sizeof line, "# HELP %s %s\n# TYPE %s %s\n", name,
		                 json_string_value(json_object_get(e, "help_text")), name,
		                 json_string_value(json_object_get(e, "type")));
		rn_buf_append(&b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(e, "samples"), i, s) {
			rn_buf_append(&b, name, strlen(name));
			json_t *labels = json_object_get(s, "labels");
			if (json_object_size(labels)) {
				rn_buf_appendc(&b, '{');
				const char *k;
				json_t *v;
				bool first = true;
				json_object_foreach(labels, k, v) {
					if (!first)
						rn_buf_appendc(&b, ',');
					first = false;
					rn_buf_append(&b, k, strlen(k));
					rn_buf_append(&b, "=\"", 2);
					prom_escape(&b, json_string_value(v) ? json_string_value(v)
					                                     : "");
					rn_buf_appendc(&b, '"');
				}
				rn_buf_appendc(&b, '}');
			}
			n = snprintf(line, sizeof line, " %.1f\n",
			             json_real_value(json_object_get(s, "value")));
			rn_buf_append(&b, line, (size_t)n);
		}
	}
	rn_buf_append(&b, "", 0);
	*len = b.len;
	return b.data ? b.data : rn_xstrdup("");
}

/* GET /api/v2/metrics/: text by default (AWX's first renderer), JSON with
 * ?format=json or Accept: application/json; ?subsystemonly=1 only the
 * receiver's, ?dbonly=1 only the counts. */
static int metrics_get(api_request *rq, api_response *rs)
{
	if (!system_may_read(rq, true))
		return api_detail(rs, 403, "You do not have permission to perform this action.");
	const char *fmt = api_arg(rq, "format");
	const char *accept = rq->header ? rq->header(rq, "Accept") : NULL;
	bool as_json =
	    (fmt && !strcmp(fmt, "json")) ||
	    (!fmt && accept && strstr(accept, "application/json") && !strstr(accept, "text/plain"));
	const char *sub = api_arg(rq, "subsystemonly");
	const char *db = api_arg(rq, "dbonly");
	json_t *m = json_object();
	if (!(sub && !strcmp(sub, "1"))) {
		node_figures nf;
		node_figures_of(rq, &nf);
		db_metrics(rq, m, &nf);
	}
	if (!(db && !strcmp(db, "1")))
		receiver_metrics(rq, m);
	if (as_json)
		return api_json(rs, 200, m);
	rs->status = 200;
	rs->text = prom_text(m, &rs->text_len);
	rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
	json_decref(m);
	return 0;
}

const api_route api_routes_system[] = {
    {"/api/v2/instances/", instances_list, NULL, NULL, NULL, NULL, false},
    {"/api/v2/instances/{id}/", instances_one, NULL, NULL, NULL, NULL, false},
    {"/api/v2/instances/{id}/instance_groups/", groups_list, NULL, NULL, NULL, NULL, false},
    {"/api/v2/instances/{id}/jobs/", node_jobs, NULL, NULL, NULL, NULL, false},
    {"/api/v2/instance_groups/", groups_list, NULL, NULL, NULL, NULL, false},
    {"/api/v2/instance_groups/{id}/", groups_one, NULL, NULL, NULL, NULL, false},
    {"/api/v2/instance_groups/{id}/instances/", group_instances, NULL, NULL, NULL, NULL, false},
    {"/api/v2/instance_groups/{id}/jobs/", node_jobs, NULL, NULL, NULL, NULL, false},
    {"/api/v2/metrics/", metrics_get, NULL, NULL, NULL, NULL, false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
