/*
 * notify.c - notifications of jobs: the watcher, the sender, libcurl's
 * three transports (notify.h).
 */
#include "notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "model.h"
#include "notify_model.h"
#include "util.h"

/* A job the watcher has seen, and what it has recorded for it. */
typedef struct seen_job {
	long id;
	bool started_sent;
	bool finished_sent;
	time_t last_seen;
} seen_job;

struct notify_service {
	notify_settings s;
	char *url_base;
	char start_iso[32]; /* jobs that started or ended before this are not ours */
	pthread_mutex_t mu;
	pthread_cond_t wake;
	bool stop;
	pthread_t watcher, sender;
	bool watcher_started, sender_started;
	seen_job *seen; /* the watcher's own */
	size_t nseen;
};

/* One line to the log. */
static void nlog(notify_service *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void nlog(notify_service *n, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n->s.log)
		n->s.log(line, n->s.log_userdata);
	else
		fprintf(stderr, "%s\n", line);
}

/* Wait up to ms for a wake-up or the stop; true when stopping. */
static bool nap(notify_service *n, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&n->mu);
	if (!n->stop)
		pthread_cond_timedwait(&n->wake, &n->mu, &ts);
	bool stop = n->stop;
	pthread_mutex_unlock(&n->mu);
	return stop;
}

/* ------------------------------------------------------------------ */
/* the job's context (AWX's JobNotificationMixin.context)              */

/* AWX's JOB_FIELDS_ALLOWED_LIST, the fields of a job a message may name. */
static const char *const job_allowed[] = {
    "id",
    "type",
    "url",
    "created",
    "modified",
    "name",
    "description",
    "job_type",
    "playbook",
    "forks",
    "limit",
    "verbosity",
    "job_tags",
    "force_handlers",
    "skip_tags",
    "start_at_task",
    "timeout",
    "use_fact_cache",
    "launch_type",
    "status",
    "failed",
    "started",
    "finished",
    "elapsed",
    "job_explanation",
    "execution_node",
    "controller_node",
    "allow_simultaneous",
    "scm_revision",
    "diff_mode",
    "job_slice_number",
    "job_slice_count",
    "custom_virtualenv",
    "scm_branch",
    "artifacts",
    "host_status_counts",
    NULL,
};
/* The summary fields (and their keys) a message may name. */
static const char *const summary_allowed[][8] = {
    {"inventory", "id", "name", "description", "has_active_failures", "total_hosts", "kind", NULL},
    {"project", "id", "name", "description", "status", "scm_type", NULL},
    {"job_template", "id", "name", "description", NULL},
    {"unified_job_template", "id", "name", "description", "unified_job_type", NULL},
    {"created_by", "id", "username", "first_name", "last_name", NULL},
    {"schedule", "id", "name", "description", "next_run", NULL},
    {NULL},
};

/* AWX's get_notification_friendly_name of a job type. */
static const char *friendly_name(const char *type)
{
	static const char *const names[][2] = {
	    {"job", "Job"},
	    {"project_update", "Project Update"},
	    {"inventory_update", "Inventory Update"},
	    {"ad_hoc_command", "AdHoc Command"},
	    {"system_job", "System Job"},
	};
	for (size_t i = 0; type && i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(type, names[i][0]))
			return names[i][1];
	return "Job";
}

/* The name of an object of kind (a new string, "" when none). */
static char *name_of(store *st, store_kind kind, const json_t *id)
{
	if (!json_is_integer(id))
		return NULL;
	runnel_error e;
	json_t *o = store_get(st, kind, (long)json_integer_value(id), &e);
	const char *nm = json_string_value(json_object_get(o, "name"));
	char *r = nm ? rn_xstrdup(nm) : NULL;
	json_decref(o);
	return r;
}

/* Set key to a string or null. Takes s. */
static void set_str_or_null(json_t *o, const char *key, char *s)
{
	json_object_set_new(o, key, s ? json_string(s) : json_null());
	free(s);
}

/* AWX's notification_data (job_metadata) of a job. */
static json_t *notification_data(store *st, const json_t *job, const char *url)
{
	json_t *d = json_object();
	const char *type = json_string_value(json_object_get(job, "type"));
	json_object_set(d, "id", json_object_get(job, "id"));
	json_object_set(d, "name", json_object_get(job, "name"));
	json_object_set_new(d, "url", json_string(url));
	const char *by = json_string_value(json_object_get(
	    json_object_get(json_object_get(job, "summary_fields"), "created_by"), "username"));
	json_object_set_new(d, "created_by", json_string(by ? by : "None"));
	json_t *v = json_object_get(job, "started");
	json_object_set(d, "started", v ? v : json_null());
	v = json_object_get(job, "finished");
	json_object_set(d, "finished", v ? v : json_null());
	json_object_set(d, "status", json_object_get(job, "status"));
	v = json_object_get(job, "result_traceback");
	json_object_set(d, "traceback", v ? v : json_string(""));
	if (type && !strcmp(type, "job")) {
		set_str_or_null(d, "inventory",
		                name_of(st, STORE_INVENTORY, json_object_get(job, "inventory")));
		set_str_or_null(d, "project",
		                name_of(st, STORE_PROJECT, json_object_get(job, "project")));
		json_object_set(d, "playbook", json_object_get(job, "playbook"));
		json_object_set(d, "limit", json_object_get(job, "limit"));
		const char *ev = json_string_value(json_object_get(job, "extra_vars"));
		json_t *x = ev && *ev ? json_loads(ev, 0, NULL) : NULL;
		json_object_set_new(d, "extra_vars", json_is_object(x) ? x : json_object());
		if (!json_is_object(x))
			json_decref(x);
		/* the hosts of the job, from its host summaries */
		json_t *hosts = json_object();
		store_query q = {.page_size = 200};
		store_page pg = {0};
		runnel_error e;
		long jid = (long)json_integer_value(json_object_get(job, "id"));
		if (store_host_summaries_list(st, jid, &q, &pg, &e) == 0) {
			size_t i;
			json_t *h;
			json_array_foreach(pg.results, i, h) {
				json_t *o = json_object();
				static const char *const f[] = {
				    "failed",    "changed", "dark",    "failures", "ok",
				    "processed", "skipped", "rescued", "ignored",  NULL};
				for (const char *const *k = f; *k; k++) {
					json_t *hv = json_object_get(h, *k);
					json_object_set(o, *k, hv ? hv : json_integer(0));
				}
				const char *hn = json_string_value(json_object_get(h, "host_name"));
				json_object_set_new(hosts, hn ? hn : "", o);
			}
		}
		store_page_clear(&pg);
		json_object_set_new(d, "hosts", hosts);
	}
	json_object_set_new(d, "friendly_name", json_string(friendly_name(type)));
	return d;
}

/* The context messages are rendered with (AWX's context()). */
static json_t *job_context(store *st, const json_t *job, const char *url_base)
{
	json_t *j = json_object();
	for (const char *const *f = job_allowed; *f; f++) {
		json_t *v = json_object_get(job, *f);
		if (v)
			json_object_set(j, *f, v);
	}
	json_t *sf = json_object_get(job, "summary_fields");
	json_t *jsf = json_object();
	for (size_t i = 0; summary_allowed[i][0]; i++) {
		json_t *part = json_object_get(sf, summary_allowed[i][0]);
		if (!json_is_object(part))
			continue;
		json_t *o = json_object();
		for (size_t k = 1; summary_allowed[i][k]; k++) {
			json_t *v = json_object_get(part, summary_allowed[i][k]);
			if (v)
				json_object_set(o, summary_allowed[i][k], v);
		}
		json_object_set_new(jsf, summary_allowed[i][0], o);
	}
	json_object_set_new(j, "summary_fields", jsf);
	char *url = rn_xasprintf("%s/#/jobs/%lld", url_base ? url_base : "",
	                         (long long)json_integer_value(json_object_get(job, "id")));
	json_t *meta = notification_data(st, job, url);
	char *meta_text = json_dumps(meta, JSON_INDENT(4));
	json_decref(meta);
	json_t *c = json_pack("{s:o,s:s,s:s,s:s}", "job", j, "job_friendly_name",
	                      friendly_name(json_string_value(json_object_get(job, "type"))), "url",
	                      url, "job_metadata", meta_text ? meta_text : "{}");
	free(meta_text);
	free(url);
	return c;
}

/* ------------------------------------------------------------------ */
/* which templates a job notifies                                       */

/* Add the templates attached to kind/id for event to ids (a JSON array
 * used as a set). */
static void add_attached(store *st, store_kind kind, const json_t *id, int event, json_t *ids)
{
	if (!json_is_integer(id))
		return;
	runnel_error e;
	json_t *a = store_related_ids(st, store_rel_notification(kind, event),
	                              (long)json_integer_value(id), false, &e);
	size_t i;
	json_t *x;
	json_array_foreach(a, i, x) {
		bool have = false;
		size_t k;
		json_t *y;
		json_array_foreach(ids, k, y)
			have |= json_equal(x, y);
		if (!have)
			json_array_append(ids, x);
	}
	json_decref(a);
}

/* The field of an object (a new reference, or NULL). */
static json_t *field_of(store *st, store_kind kind, const json_t *id, const char *field)
{
	if (!json_is_integer(id))
		return NULL;
	runnel_error e;
	json_t *o = store_get(st, kind, (long)json_integer_value(id), &e);
	json_t *v = json_incref(json_object_get(o, field));
	json_decref(o);
	return v;
}

/* The ids of the templates a job notifies for event (0 started, 1
 * success, 2 error), as AWX's get_notification_templates: the job
 * template's and its project's, a project update's project, an inventory
 * update's source, and the organization of each (a new array). */
static json_t *templates_of(store *st, const json_t *job, int event)
{
	json_t *ids = json_array();
	const char *type = json_string_value(json_object_get(job, "type"));
	json_t *org = NULL;
	if (!type)
		return ids;
	if (!strcmp(type, "job")) {
		add_attached(st, STORE_JOB_TEMPLATE, json_object_get(job, "job_template"), event,
		             ids);
		add_attached(st, STORE_PROJECT, json_object_get(job, "project"), event, ids);
		org = field_of(st, STORE_PROJECT, json_object_get(job, "project"), "organization");
	} else if (!strcmp(type, "project_update")) {
		add_attached(st, STORE_PROJECT, json_object_get(job, "project"), event, ids);
		org = field_of(st, STORE_PROJECT, json_object_get(job, "project"), "organization");
	} else if (!strcmp(type, "inventory_update")) {
		add_attached(st, STORE_INVENTORY_SOURCE, json_object_get(job, "inventory_source"),
		             event, ids);
		org = field_of(st, STORE_INVENTORY, json_object_get(job, "inventory"),
		               "organization");
	} else if (!strcmp(type, "ad_hoc_command")) {
		org = field_of(st, STORE_INVENTORY, json_object_get(job, "inventory"),
		               "organization");
	}
	add_attached(st, STORE_ORGANIZATION, org, event, ids);
	json_decref(org);
	return ids;
}

/* The recipients of a configuration as AWX shows them (smart_str of the
 * recipient parameter: a list as Python prints it). */
static char *recipients_text(const char *type, const json_t *conf)
{
	const char *param = !strcmp(type, "email")   ? "recipients"
	                    : !strcmp(type, "slack") ? "channels"
	                                             : "url";
	json_t *r = json_object_get(conf, param);
	if (json_is_string(r))
		return rn_xstrdup(json_string_value(r));
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_appendc(&b, '[');
	size_t i;
	json_t *x;
	json_array_foreach(r, i, x) {
		const char *s = json_string_value(x);
		if (i)
			rn_buf_append(&b, ", ", 2);
		rn_buf_appendc(&b, '\'');
		if (s)
			rn_buf_append(&b, s, strlen(s));
		rn_buf_appendc(&b, '\'');
	}
	rn_buf_appendc(&b, ']');
	return b.data;
}

/* Record a pending notification of template nt with subject and body; the
 * new object, or NULL with err. */
static json_t *record(store *st, const json_t *nt, const char *subject, const char *body,
                      runnel_error *err)
{
	const char *type = json_string_value(json_object_get(nt, "notification_type"));
	if (!type)
		type = "";
	char *rcpt = recipients_text(type, json_object_get(nt, "notification_configuration"));
	json_t *f = json_pack("{s:O,s:s,s:s,s:s,s:s,s:s}", "notification_template",
	                      json_object_get(nt, "id"), "notification_type", type, "recipients",
	                      rcpt, "subject", subject ? subject : "", "body", body ? body : "",
	                      "status", "pending");
	free(rcpt);
	json_t *o = store_create(st, STORE_NOTIFICATION, f, STORE_SYSTEM, err);
	json_decref(f);
	return o;
}

/* AWX's build_notification_message: the template's own message and body
 * for event, else its type's defaults; one that does not render is empty. */
static void build_message(const json_t *nt, const char *event, const json_t *ctx, char **subject,
                          char **body)
{
	const char *type = json_string_value(json_object_get(nt, "notification_type"));
	json_t *m = json_object_get(json_object_get(nt, "messages"), event);
	const char *msg_t = json_string_value(json_object_get(m, "message"));
	const char *body_t = json_string_value(json_object_get(m, "body"));
	const char *dmsg, *dbody;
	notify_default_messages(type, &dmsg, &dbody);
	if (!msg_t || !*msg_t)
		msg_t = dmsg;
	if (!body_t || !*body_t)
		body_t = dbody;
	runnel_error e;
	*subject = NULL;
	*body = NULL;
	if (msg_t && notify_render(msg_t, ctx, false, subject, &e) < 0)
		*subject = NULL;
	if (body_t && notify_render(body_t, ctx, false, body, &e) < 0)
		*body = NULL;
	if (!*subject)
		*subject = rn_xstrdup("");
	if (!*body)
		*body = rn_xstrdup("");
}

/* Record the notifications of job for event (0 started, 1 success, 2 error). */
static void notify_job(notify_service *n, const json_t *job, int event)
{
	static const char *const events[] = {"started", "success", "error"};
	store *st = n->s.st;
	long jid = (long)json_integer_value(json_object_get(job, "id"));
	json_t *ids = templates_of(st, job, event);
	json_t *ctx = json_array_size(ids) ? job_context(st, job, n->url_base) : NULL;
	size_t i;
	json_t *x;
	json_array_foreach(ids, i, x) {
		runnel_error e = {0};
		json_t *nt =
		    store_get(st, STORE_NOTIFICATION_TEMPLATE, (long)json_integer_value(x), &e);
		if (!nt)
			continue; /* deleted meanwhile */
		char *subject, *body;
		build_message(nt, events[event], ctx, &subject, &body);
		json_t *o = record(st, nt, subject, body, &e);
		free(subject);
		free(body);
		if (!o) {
			nlog(n, "job %ld: notification of template %lld: %s", jid,
			     (long long)json_integer_value(x), e.message);
		} else {
			long nid = (long)json_integer_value(json_object_get(o, "id"));
			if (store_associate(st, STORE_REL_JOB_NOTIFICATIONS, jid, nid, &e) < 0)
				nlog(n, "job %ld: notification %ld: %s", jid, nid, e.message);
			nlog(n, "job %ld: %s notification %ld of template %lld pending", jid,
			     events[event], nid, (long long)json_integer_value(x));
		}
		json_decref(o);
		json_decref(nt);
	}
	if (json_array_size(ids)) {
		pthread_mutex_lock(&n->mu);
		pthread_cond_broadcast(&n->wake);
		pthread_mutex_unlock(&n->mu);
	}
	json_decref(ctx);
	json_decref(ids);
}

json_t *notify_create_test(store *st, const json_t *nt, const char *url_base, runnel_error *err)
{
	long long id = (long long)json_integer_value(json_object_get(nt, "id"));
	const char *type = json_string_value(json_object_get(nt, "notification_type"));
	char *subject = rn_xasprintf("Notification Test %lld %s", id, url_base);
	char *body = type && !strcmp(type, "webhook")
	                 ? rn_xasprintf("{\"body\": \"Test Notification %lld %s\"}", id, url_base)
	                 : rn_xasprintf("Test Notification %lld %s", id, url_base);
	json_t *o = record(st, nt, subject, body, err);
	free(subject);
	free(body);
	return o;
}

/* ------------------------------------------------------------------ */
/* the watcher                                                          */

/* The watcher's record of job id (added when new). */
static seen_job *seen_of(notify_service *n, long id)
{
	for (size_t i = 0; i < n->nseen; i++)
		if (n->seen[i].id == id)
			return &n->seen[i];
	n->seen = rn_xrealloc(n->seen, (n->nseen + 1) * sizeof *n->seen);
	n->seen[n->nseen] = (seen_job){.id = id};
	return &n->seen[n->nseen++];
}

/* Look at one job: record its started / ended notifications once. */
static void watch_job(notify_service *n, const json_t *job)
{
	const char *status = json_string_value(json_object_get(job, "status"));
	if (!status || !strcmp(status, "new") || !strcmp(status, "pending") ||
	    !strcmp(status, "waiting"))
		return;
	seen_job *sj = seen_of(n, (long)json_integer_value(json_object_get(job, "id")));
	sj->last_seen = time(NULL);
	const char *started = json_string_value(json_object_get(job, "started"));
	const char *finished = json_string_value(json_object_get(job, "finished"));
	/* started: it ran (a job canceled before it ran never started) */
	if (!sj->started_sent && started && strcmp(started, n->start_iso) >= 0) {
		sj->started_sent = true;
		notify_job(n, job, 0);
	}
	bool active = store_status_is_active(status);
	if (!active && !sj->finished_sent) {
		sj->finished_sent = true;
		sj->started_sent = true;
		/* as AWX: succeeded for successful, failed for failed, error,
		 * canceled; a job canceled before it ran (never started) sends
		 * nothing, since AWX sends from the run's end */
		if (finished && strcmp(finished, n->start_iso) >= 0 &&
		    (started || !strcmp(status, "error")))
			notify_job(n, job, strcmp(status, "successful") ? 2 : 1);
	}
}

/* Forget jobs ended and not seen for a while (the window has moved on). */
static void prune_seen(notify_service *n)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < n->nseen;) {
		if (n->seen[i].finished_sent && now - n->seen[i].last_seen > 30)
			n->seen[i] = n->seen[--n->nseen];
		else
			i++;
	}
}

/* The watcher thread: every 250 ms, the jobs modified since the last look
 * (with a margin: another process's clock and commit order). */
static void *watcher_main(void *arg)
{
	notify_service *n = arg;
	char since[32];
	snprintf(since, sizeof since, "%s", n->start_iso);
	while (!nap(n, 250)) {
		char next[32];
		model_time_after(-5, next);
		bool ok = true;
		for (long page = 1; ok; page++) {
			store_query q = {.filters = json_pack("{s:s}", "modified__gte", since),
			                 .order_by = "id",
			                 .page = page,
			                 .page_size = 200};
			store_page pg = {0};
			runnel_error e;
			if (store_list(n->s.st, STORE_UNIFIED_JOB, &q, &pg, &e) < 0) {
				nlog(n, "notifications: jobs: %s", e.message);
				ok = false;
			}
			json_decref(q.filters);
			size_t i;
			json_t *job;
			json_array_foreach(pg.results, i, job)
				watch_job(n, job);
			bool more = page * 200 < pg.count;
			store_page_clear(&pg);
			if (!more)
				break;
		}
		if (ok)
			snprintf(since, sizeof since, "%s", next);
		prune_seen(n);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* sending                                                              */

/* What a libcurl transfer read back. */
typedef struct reply {
	rn_buf body;
} reply;

/* libcurl's write callback: keep up to 64 KiB of the answer. */
static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	reply *r = ud;
	size_t n = size * nmemb;
	if (r->body.len < 65536)
		rn_buf_append(&r->body, p, n);
	return n;
}

/* An upload of text (the mail), read by libcurl. */
typedef struct upload {
	const char *data;
	size_t len, pos;
} upload;

/* libcurl's read callback. */
static size_t on_read(char *p, size_t size, size_t nmemb, void *ud)
{
	upload *u = ud;
	size_t room = size * nmemb, left = u->len - u->pos;
	size_t n = left < room ? left : room;
	memcpy(p, u->data + u->pos, n);
	u->pos += n;
	return n;
}

/* A handle with what every transfer has: no signals, a timeout, only the
 * protocols named, errors into errbuf. */
static CURL *easy(long timeout, const char *protocols, char *errbuf)
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout > 0 ? timeout : 30L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	errbuf[0] = '\0';
	return c;
}

/* The error of a failed transfer into err (without the URL's secrets:
 * the caller scrubs). */
static int curl_fail(CURLcode rc, const char *errbuf, const char *what, runnel_error *err)
{
	return rn_fail(err, EIO, "%s: %s", what, *errbuf ? errbuf : curl_easy_strerror(rc));
}

/* True if s holds a CR or LF (a header it would break). */
static bool has_newline(const char *s)
{
	return s && strpbrk(s, "\r\n");
}

/* Send a webhook (AWX's WebhookBackend): the body's JSON object (else
 * {}) by POST or PUT with the configuration's headers and basic auth. */
static int send_webhook(const json_t *conf, const char *body, long *sent, runnel_error *err)
{
	const char *url = json_string_value(json_object_get(conf, "url"));
	const char *method = json_string_value(json_object_get(conf, "http_method"));
	const char *user = json_string_value(json_object_get(conf, "username"));
	const char *pass = json_string_value(json_object_get(conf, "password"));
	if (!url || !*url)
		return rn_fail(err, EINVAL, "webhook: no url");
	if (!method || (strcasecmp(method, "post") && strcasecmp(method, "put")))
		return rn_fail(err, EINVAL, "HTTP method must be either 'POST' or 'PUT'.");
	json_t *b = body && *body ? json_loads(body, 0, NULL) : NULL;
	if (!json_is_object(b)) {
		json_decref(b);
		b = json_object();
	}
	char *data = json_dumps(b, 0);
	json_decref(b);
	char errbuf[CURL_ERROR_SIZE];
	CURL *c = easy(30, "http,https", errbuf);
	if (!c) {
		free(data);
		return rn_fail(err, ENOMEM, "webhook: no curl handle");
	}
	struct curl_slist *hdrs = NULL;
	json_t *h = json_object_get(conf, "headers");
	bool own_type = false, own_agent = false;
	const char *k;
	json_t *v;
	json_object_foreach(h, k, v) {
		if (!json_is_string(v) || has_newline(k) || has_newline(json_string_value(v)))
			continue;
		own_type |= !strcasecmp(k, "Content-Type");
		own_agent |= !strcasecmp(k, "User-Agent");
		char *line = rn_xasprintf("%s: %s", k, json_string_value(v));
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	if (!own_type)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (!own_agent)
		hdrs = curl_slist_append(hdrs, "User-Agent: AWX 21.14.0 (runneld)");
	reply r;
	rn_buf_init(&r.body);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcasecmp(method, "put") ? "POST" : "PUT");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(data));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	/* AWX follows 301/307 up to 5 times, keeping the method */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
	if ((user && *user) || (pass && *pass)) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, user ? user : "");
		curl_easy_setopt(c, CURLOPT_PASSWORD, pass ? pass : "");
	}
	if (json_is_true(json_object_get(conf, "disable_ssl_verification"))) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	int ret = 0;
	if (rc != CURLE_OK)
		ret = curl_fail(rc, errbuf, "Error sending webhook notification", err);
	else if (code >= 400)
		ret = rn_fail(err, EIO, "Error sending webhook notification: %ld", code);
	else if (code >= 200 && code < 300)
		*sent = 1;
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	rn_buf_free(&r.body);
	free(data);
	return ret;
}

/* Send a mail (AWX's CustomEmailBackend, Django's SMTP backend): SMTP,
 * SMTPS with use_ssl, STARTTLS required with use_tls. */
static int send_email(const json_t *conf, const char *subject, const char *body, long *sent,
                      runnel_error *err)
{
	const char *host = json_string_value(json_object_get(conf, "host"));
	long port = (long)json_integer_value(json_object_get(conf, "port"));
	const char *user = json_string_value(json_object_get(conf, "username"));
	const char *pass = json_string_value(json_object_get(conf, "password"));
	const char *sender = json_string_value(json_object_get(conf, "sender"));
	json_t *rcpts = json_object_get(conf, "recipients");
	bool ssl = json_is_true(json_object_get(conf, "use_ssl"));
	bool tls = json_is_true(json_object_get(conf, "use_tls"));
	long timeout = (long)json_integer_value(json_object_get(conf, "timeout"));
	if (!host || !*host || strpbrk(host, "/@?# \r\n"))
		return rn_fail(err, EINVAL, "email: host: not a host name");
	if (!sender || has_newline(sender))
		return rn_fail(err, EINVAL, "email: sender: not an address");
	char errbuf[CURL_ERROR_SIZE];
	CURL *c = easy(timeout, ssl ? "smtps" : "smtp", errbuf);
	if (!c)
		return rn_fail(err, ENOMEM, "email: no curl handle");
	char *url = rn_xasprintf("%s://%s:%ld", ssl ? "smtps" : "smtp", host, port ? port : 25);
	char *from = rn_xasprintf("<%s>", sender);
	struct curl_slist *to = NULL;
	rn_buf hdr_to;
	rn_buf_init(&hdr_to);
	size_t i;
	json_t *x;
	int ret = 0;
	json_array_foreach(rcpts, i, x) {
		const char *a = json_string_value(x);
		if (!a || has_newline(a) || strpbrk(a, "<>")) {
			ret = rn_fail(err, EINVAL, "email: recipients: not an address");
			break;
		}
		char *r = rn_xasprintf("<%s>", a);
		to = curl_slist_append(to, r);
		free(r);
		if (i)
			rn_buf_append(&hdr_to, ", ", 2);
		rn_buf_append(&hdr_to, a, strlen(a));
	}
	/* the message: headers, then the body with CRLF line ends */
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	char uuid[37];
	rn_uuid4(uuid);
	rn_buf msg;
	rn_buf_init(&msg);
	char *subj = rn_xstrdup(subject ? subject : "");
	for (char *p = subj; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	char *head = rn_xasprintf("Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n"
	                          "Message-ID: <%s@runneld>\r\nMIME-Version: 1.0\r\n"
	                          "Content-Type: text/plain; charset=\"utf-8\"\r\n"
	                          "Content-Transfer-Encoding: 8bit\r\n\r\n",
	                          date, sender, hdr_to.data ? hdr_to.data : "", subj, uuid);
	free(subj);
	rn_buf_append(&msg, head, strlen(head));
	free(head);
	for (const char *p = body ? body : ""; *p; p++) {
		if (*p == '\n' && (p == body || p[-1] != '\r'))
			rn_buf_appendc(&msg, '\r');
		rn_buf_appendc(&msg, *p);
	}
	rn_buf_append(&msg, "\r\n", 2);
	upload up = {.data = msg.data, .len = msg.len};
	if (ret == 0) {
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, to);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		if (tls)
			curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		if (user && *user) {
			curl_easy_setopt(c, CURLOPT_USERNAME, user);
			curl_easy_setopt(c, CURLOPT_PASSWORD, pass ? pass : "");
		}
		CURLcode rc = curl_easy_perform(c);
		if (rc != CURLE_OK)
			ret = curl_fail(rc, errbuf, "Error sending email notification", err);
		else
			*sent = 1;
	}
	curl_slist_free_all(to);
	curl_easy_cleanup(c);
	rn_buf_free(&msg);
	rn_buf_free(&hdr_to);
	free(url);
	free(from);
	return ret;
}

/* Send to slack (AWX's SlackBackend): chat.postMessage per channel with
 * the token. runneld posts to the configuration's api_url (default
 * slack.com's), so that a sink of one's own can take it. */
static int send_slack(const json_t *conf, const char *subject, long *sent, runnel_error *err)
{
	const char *token = json_string_value(json_object_get(conf, "token"));
	const char *api = json_string_value(json_object_get(conf, "api_url"));
	const char *color = json_string_value(json_object_get(conf, "hex_color"));
	if (!api || !*api)
		api = "https://slack.com/api/chat.postMessage";
	bool with_color = color && color[0] == '#' && (strlen(color) == 4 || strlen(color) == 7);
	size_t i;
	json_t *ch;
	json_array_foreach(json_object_get(conf, "channels"), i, ch) {
		const char *r = json_string_value(ch);
		if (!r)
			continue;
		if (*r == '#')
			r++;
		char *channel = rn_xstrdup(r), *thread = strchr(channel, ',');
		if (thread)
			*thread++ = '\0';
		json_t *m = json_pack("{s:s,s:b}", "channel", channel, "as_user", 1);
		if (thread)
			json_object_set_new(m, "thread_ts", json_string(thread));
		if (with_color)
			json_object_set_new(m, "attachments",
			                    json_pack("[{s:s,s:s}]", "color", color, "text",
			                              subject ? subject : ""));
		else
			json_object_set_new(m, "text", json_string(subject ? subject : ""));
		char *data = json_dumps(m, JSON_COMPACT);
		json_decref(m);
		char errbuf[CURL_ERROR_SIZE];
		CURL *c = easy(30, "http,https", errbuf);
		struct curl_slist *hdrs =
		    curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
		char *auth = rn_xasprintf("Authorization: Bearer %s", token ? token : "");
		hdrs = curl_slist_append(hdrs, auth);
		sodium_memzero(auth, strlen(auth));
		free(auth);
		reply rp;
		rn_buf_init(&rp.body);
		int ret = 0;
		if (!c) {
			ret = rn_fail(err, ENOMEM, "slack: no curl handle");
		} else {
			curl_easy_setopt(c, CURLOPT_URL, api);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
			curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
			curl_easy_setopt(c, CURLOPT_WRITEDATA, &rp);
			CURLcode rc = curl_easy_perform(c);
			long code = 0;
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
			json_t *ans = rp.body.data ? json_loads(rp.body.data, 0, NULL) : NULL;
			if (rc != CURLE_OK)
				ret = curl_fail(rc, errbuf, "Exception sending messages", err);
			else if (!json_is_true(json_object_get(ans, "ok"))) {
				const char *why = json_string_value(json_object_get(ans, "error"));
				ret = rn_fail(
				    err, EIO, "Slack Notification unable to send %s: %s (%s)", r,
				    subject ? subject : "",
				    why ? why : (code ? "no ok in the answer" : "no answer"));
			} else
				(*sent)++;
			json_decref(ans);
			curl_easy_cleanup(c);
		}
		curl_slist_free_all(hdrs);
		rn_buf_free(&rp.body);
		free(data);
		free(channel);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* Replace each secret in text by "$encrypted$" (an error may quote what
 * it was given). */
static void scrub(char *text, size_t size, const json_t *secrets)
{
	size_t i;
	json_t *s;
	json_array_foreach(secrets, i, s) {
		const char *v = json_string_value(s);
		size_t n = v ? strlen(v) : 0;
		if (n < 1)
			continue;
		char *p;
		while ((p = strstr(text, v))) {
			size_t m = strlen(NOTIFY_ENCRYPTED), tail = strlen(p + n);
			if ((size_t)(p - text) + m + tail + 1 > size)
				m = 0;
			memmove(p + m, p + n, tail + 1);
			memcpy(p, NOTIFY_ENCRYPTED, m);
		}
	}
}

int notify_send(store *st, long id, runnel_error *err)
{
	json_t *no = store_get(st, STORE_NOTIFICATION, id, err);
	if (!no)
		return -1;
	long ntid = (long)json_integer_value(json_object_get(no, "notification_template"));
	const char *type = json_string_value(json_object_get(no, "notification_type"));
	const char *subject = json_string_value(json_object_get(no, "subject"));
	json_t *bodyv = json_object_get(no, "body");
	char *body = json_is_string(bodyv) ? rn_xstrdup(json_string_value(bodyv))
	                                   : json_dumps(bodyv, JSON_ENCODE_ANY);
	runnel_error e = {0};
	long sent = 0;
	json_t *secrets = NULL;
	int rc = -1;
	json_t *conf = store_notification_configuration(st, ntid, &e);
	if (conf) {
		secrets = notify_model_secrets(type ? type : "", conf);
		if (type && !strcmp(type, "webhook"))
			rc = send_webhook(conf, body, &sent, &e);
		else if (type && !strcmp(type, "email"))
			rc = send_email(conf, subject, body, &sent, &e);
		else if (type && !strcmp(type, "slack"))
			rc = send_slack(conf, subject, &sent, &e);
		else
			rn_fail(&e, EINVAL, "notification_type: \"%s\" is not sent by runneld",
			        type ? type : "");
		json_decref(conf);
	}
	free(body);
	scrub(e.message, sizeof e.message, secrets);
	json_decref(secrets);
	json_t *f = rc == 0 ? json_pack("{s:s,s:I}", "status", "successful", "notifications_sent",
	                                (json_int_t)sent)
	                    : json_pack("{s:s,s:s,s:I}", "status", "failed", "error", e.message,
	                                "notifications_sent", (json_int_t)sent);
	json_t *o = store_update(st, STORE_NOTIFICATION, id, f, STORE_SYSTEM, err);
	json_decref(f);
	json_decref(no);
	if (!o)
		return -1;
	json_decref(o);
	return 0;
}

/* The sender thread: sends the pending notifications, oldest first; it
 * looks when the watcher recorded some, and every second (a test/ of the
 * API records them in the store only). */
static void *sender_main(void *arg)
{
	notify_service *n = arg;
	while (!nap(n, 1000)) {
		store_query q = {.filters = json_pack("{s:s}", "status", "pending"),
		                 .order_by = "id",
		                 .page_size = 50};
		store_page pg = {0};
		runnel_error e;
		if (store_list(n->s.st, STORE_NOTIFICATION, &q, &pg, &e) < 0)
			nlog(n, "notifications: pending: %s", e.message);
		json_decref(q.filters);
		size_t i;
		json_t *no;
		json_array_foreach(pg.results, i, no) {
			long id = (long)json_integer_value(json_object_get(no, "id"));
			if (notify_send(n->s.st, id, &e) < 0) {
				nlog(n, "notification %ld: %s", id, e.message);
				continue;
			}
			json_t *o = store_get(n->s.st, STORE_NOTIFICATION, id, &e);
			const char *status = json_string_value(json_object_get(o, "status"));
			const char *error = json_string_value(json_object_get(o, "error"));
			nlog(n, "notification %ld (%s): %s%s%s", id,
			     json_string_value(json_object_get(o, "notification_type")),
			     status ? status : "?", error && *error ? ": " : "",
			     error ? error : "");
			json_decref(o);
			pthread_mutex_lock(&n->mu);
			bool stop = n->stop;
			pthread_mutex_unlock(&n->mu);
			if (stop)
				break;
		}
		store_page_clear(&pg);
	}
	return NULL;
}

notify_service *notify_start(const notify_settings *s, runnel_error *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return rn_fail(err, EIO, "notifications: libcurl did not start"), NULL;
	notify_service *n = calloc(1, sizeof *n);
	if (!n)
		return rn_fail(err, ENOMEM, "notifications: out of memory"), NULL;
	n->s = *s;
	n->url_base = rn_xstrdup(s->url_base ? s->url_base : "");
	model_now(n->start_iso);
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->wake, NULL);
	if (pthread_create(&n->watcher, NULL, watcher_main, n) == 0)
		n->watcher_started = true;
	if (pthread_create(&n->sender, NULL, sender_main, n) == 0)
		n->sender_started = true;
	if (!n->watcher_started || !n->sender_started) {
		notify_stop(n);
		return rn_fail(err, EAGAIN, "notifications: cannot start a thread"), NULL;
	}
	return n;
}

void notify_stop(notify_service *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = true;
	pthread_cond_broadcast(&n->wake);
	pthread_mutex_unlock(&n->mu);
	if (n->watcher_started)
		pthread_join(n->watcher, NULL);
	if (n->sender_started)
		pthread_join(n->sender, NULL);
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->wake);
	free(n->seen);
	free(n->url_base);
	free(n);
	curl_global_cleanup();
}
