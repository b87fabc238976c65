/*
 * shape.c - rows in the shape AWX's /api/v2 gives them (shape.h). The order
 * of the keys is the order the API prints them in.
 */
#include "shape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "notify_model.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* the memo                                                             */

struct shape_memo_entry {
	store_kind kind;
	long id;
	bool found;
	char *name;
	json_t *data;
};

struct shape_memo_status {
	long job_id;
	bool any;
	long counts[SHAPE_HOST_STATUSES];
};

/* Grow an array of elements of size sz to hold one more. */
static void *grow(void *v, size_t n, size_t *cap, size_t sz)
{
	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 16;
	return rn_xrealloc(v, *cap * sz);
}

static struct shape_memo_entry *memo_find(shape_memo *m, store_kind kind, long id)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->entries[i].kind == kind && m->entries[i].id == id)
			return &m->entries[i];
	return NULL;
}

/* A new entry: not found until an answer says so. */
static struct shape_memo_entry *memo_add(shape_memo *m, store_kind kind, long id)
{
	m->entries = grow(m->entries, m->n, &m->cap, sizeof *m->entries);
	struct shape_memo_entry *e = &m->entries[m->n++];
	*e = (struct shape_memo_entry){.kind = kind, .id = id};
	return e;
}

static bool memo_lookup(void *ctx, store_kind kind, long id, char **name, json_t **data)
{
	shape_memo *m = ctx;
	struct shape_memo_entry *e = memo_find(m, kind, id);
	if (!e && m->noting) {
		bool noted = false;
		for (size_t i = 0; i < m->n_noted && !noted; i++)
			noted = m->noted[i].kind == kind && m->noted[i].id == id;
		if (!noted) {
			m->noted = grow(m->noted, m->n_noted, &m->cap_noted, sizeof *m->noted);
			m->noted[m->n_noted++] = (shape_ref){kind, id};
		}
		return false;
	}
	if (!e) {
		e = memo_add(m, kind, id);
		/* with its data always: a later lookup of it may want them */
		e->found = m->inner->lookup(m->inner->ctx, kind, id, &e->name, &e->data);
	}
	if (!e->found)
		return false;
	*name = rn_xstrdup(e->name ? e->name : "");
	if (data)
		*data = e->data ? json_deep_copy(e->data) : json_object();
	return true;
}

static long memo_count(void *ctx, shape_count what, long id)
{
	shape_memo *m = ctx;
	return m->noting ? 0 : m->inner->count(m->inner->ctx, what, id);
}

static struct shape_memo_status *status_find(shape_memo *m, long job_id)
{
	for (size_t i = 0; i < m->n_statuses; i++)
		if (m->statuses[i].job_id == job_id)
			return &m->statuses[i];
	return NULL;
}

static struct shape_memo_status *status_add(shape_memo *m, long job_id)
{
	m->statuses = grow(m->statuses, m->n_statuses, &m->cap_statuses, sizeof *m->statuses);
	struct shape_memo_status *s = &m->statuses[m->n_statuses++];
	*s = (struct shape_memo_status){.job_id = job_id};
	return s;
}

static bool memo_host_status(void *ctx, long job_id, long counts[SHAPE_HOST_STATUSES])
{
	shape_memo *m = ctx;
	struct shape_memo_status *s = status_find(m, job_id);
	if (!s && m->noting) {
		m->noted_jobs =
		    grow(m->noted_jobs, m->n_noted_jobs, &m->cap_noted_jobs, sizeof *m->noted_jobs);
		m->noted_jobs[m->n_noted_jobs++] = job_id;
		return false;
	}
	if (!s) {
		s = status_add(m, job_id);
		s->any = m->inner->host_status(m->inner->ctx, job_id, s->counts);
	}
	if (s->any)
		memcpy(counts, s->counts, sizeof s->counts);
	return s->any;
}

shape_source shape_memo_source(shape_memo *m, const shape_source *inner)
{
	*m = (shape_memo){.inner = inner};
	return (shape_source){
	    .ctx = m, .lookup = memo_lookup, .count = memo_count, .host_status = memo_host_status};
}

void shape_memo_clear(shape_memo *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->entries[i].name);
		json_decref(m->entries[i].data);
	}
	free(m->entries);
	free(m->statuses);
	free(m->noted);
	free(m->noted_jobs);
	*m = (shape_memo){0};
}

/* lookup_many's answers, into the memo's entries (noted as not found). */
static void memo_found(void *ud, store_kind kind, long id, const char *name, const char *data)
{
	struct shape_memo_entry *e = memo_find(ud, kind, id);
	if (!e || e->found)
		return;
	e->found = true;
	e->name = rn_xstrdup(name ? name : "");
	e->data = data ? json_loads(data, 0, NULL) : NULL;
	if (!e->data)
		e->data = json_object();
}

static void memo_status(void *ud, long job_id, const long counts[SHAPE_HOST_STATUSES])
{
	struct shape_memo_status *s = status_find(ud, job_id);
	if (!s)
		return;
	s->any = true;
	memcpy(s->counts, counts, sizeof s->counts);
}

void shape_memo_prefetch(shape_memo *m, const shape_row *rows, size_t n)
{
	const shape_source *in = m->inner;
	if (!in->lookup_many || !n)
		return;
	shape_source self = {
	    .ctx = m, .lookup = memo_lookup, .count = memo_count, .host_status = memo_host_status};
	m->noting = true;
	m->n_noted = m->n_noted_jobs = 0;
	for (size_t i = 0; i < n; i++)
		json_decref(shape_object(&self, &rows[i]));
	m->noting = false;
	if (m->n_noted) {
		size_t first = m->n;
		for (size_t i = 0; i < m->n_noted; i++)
			memo_add(m, m->noted[i].kind, m->noted[i].id);
		if (in->lookup_many(in->ctx, m->noted, m->n_noted, memo_found, m) < 0)
			while (m->n > first) { /* asked one at a time then */
				m->n--;
				free(m->entries[m->n].name);
				json_decref(m->entries[m->n].data);
			}
	}
	if (m->n_noted_jobs && in->host_status_many) {
		size_t first = m->n_statuses;
		for (size_t i = 0; i < m->n_noted_jobs; i++)
			status_add(m, m->noted_jobs[i]);
		if (in->host_status_many(in->ctx, m->noted_jobs, m->n_noted_jobs, memo_status, m) <
		    0)
			m->n_statuses = first;
	}
}

/* ------------------------------------------------------------------ */
/* objects                                                              */

/* Set related[name] to "<url><name>/" for each of names. */
static void add_related(json_t *related, const char *url, const char *const *names)
{
	for (; *names; names++)
		json_object_set_new(related, *names, json_sprintf("%s%s/", url, *names));
}

/* {id, name} of an fk target (credentials and their types: and kind), or
 * NULL when it is gone. */
static json_t *summary_of(const shape_source *src, store_kind kind, long id)
{
	bool with_kind = kind == STORE_CREDENTIAL_TYPE || kind == STORE_CREDENTIAL;
	char *name = NULL;
	json_t *data = NULL;
	if (!src->lookup(src->ctx, kind, id, &name, with_kind ? &data : NULL))
		return NULL;
	json_t *r = json_pack("{s:I,s:s}", "id", (json_int_t)id, "name", name ? name : "");
	if (kind == STORE_USER) /* created_by, actor, ...: AWX's summary of a user */
		json_object_set_new(r, "username", json_string(name ? name : ""));
	json_t *k = json_object_get(data, "kind");
	if (k)
		json_object_set(r, "kind", k);
	json_decref(data);
	free(name);
	return r;
}

/* AWX's host_status_counts of a job: the statuses with hosts in them. */
static json_t *host_status_counts(const shape_source *src, long job_id)
{
	static const char *const names[SHAPE_HOST_STATUSES] = {
	    [SHAPE_DARK] = "dark", [SHAPE_FAILURES] = "failures", [SHAPE_CHANGED] = "changed",
	    [SHAPE_OK] = "ok",     [SHAPE_SKIPPED] = "skipped",
	};
	json_t *hsc = json_object();
	long n[SHAPE_HOST_STATUSES] = {0};
	if (src->host_status(src->ctx, job_id, n))
		for (int i = 0; i < SHAPE_HOST_STATUSES; i++)
			if (n[i])
				json_object_set_new(hsc, names[i], json_integer(n[i]));
	return hsc;
}

/* A schedule's related links and summary_fields.unified_job_template (AWX's
 * ScheduleSerializer): its template is a job template, project or inventory
 * source (one id space, model.h), else the built-in system job template 1. */
static void schedule_extras(const shape_source *src, json_t *o, json_t *related, json_t *summary,
                            const char *url)
{
	add_related(related, url, (const char *const[]){"unified_jobs", NULL});
	long ujt = (long)json_integer_value(json_object_get(o, "unified_job_template"));
	static const struct {
		store_kind kind;
		const char *type;
	} kinds[] = {{STORE_JOB_TEMPLATE, "job"},
	             {STORE_PROJECT, "project_update"},
	             {STORE_INVENTORY_SOURCE, "inventory_update"}};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		char *name = NULL;
		json_t *data = NULL;
		if (!src->lookup(src->ctx, kinds[i].kind, ujt, &name, &data))
			continue;
		char u[128];
		model_url(kinds[i].kind, ujt, u, sizeof u);
		json_object_set_new(related, "unified_job_template", json_string(u));
		json_t *d = json_object_get(data, "description");
		json_object_set_new(summary, "unified_job_template",
		                    json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)ujt, "name",
		                              name ? name : "", "description",
		                              json_is_string(d) ? json_string_value(d) : "",
		                              "unified_job_type", kinds[i].type));
		json_t *inv = json_object_get(data, "inventory");
		if (kinds[i].kind == STORE_JOB_TEMPLATE && json_is_integer(inv) &&
		    !json_object_get(related, "inventory")) {
			model_url(STORE_INVENTORY, (long)json_integer_value(inv), u, sizeof u);
			json_object_set_new(related, "inventory", json_string(u));
			json_t *sf =
			    summary_of(src, STORE_INVENTORY, (long)json_integer_value(inv));
			if (sf)
				json_object_set_new(summary, "inventory", sf);
		}
		free(name);
		json_decref(data);
		return;
	}
	if (ujt == 1) {
		json_object_set_new(related, "unified_job_template",
		                    json_string("/api/v2/system_job_templates/1/"));
		json_object_set_new(
		    summary, "unified_job_template",
		    json_pack("{s:i,s:s,s:s,s:s,s:s}", "id", 1, "name", "Cleanup Job Details",
		              "description", "Remove jobs older than a certain number of days",
		              "unified_job_type", "system_job", "job_type", "cleanup_jobs"));
	}
}

/* A job template's organization: AWX's JobTemplate keeps its project's
 * (JobTemplate.save, awx/main/models/jobs.py; read-only in
 * JobOptionsSerializer), so runneld shows the project's, with its related
 * link and summary, as query.c filters on it. null without a project or
 * when the project has none. */
static void template_organization(const shape_source *src, json_t *o, json_t *related)
{
	json_t *project = json_object_get(o, "project");
	json_t *data = NULL;
	char *name = NULL;
	long org = 0;
	if (json_is_integer(project) &&
	    src->lookup(src->ctx, STORE_PROJECT, (long)json_integer_value(project), &name, &data) &&
	    json_is_integer(json_object_get(data, "organization")))
		org = (long)json_integer_value(json_object_get(data, "organization"));
	free(name);
	json_decref(data);
	json_object_set_new(o, "organization", org ? json_integer(org) : json_null());
	json_t *summary = json_object_get(o, "summary_fields");
	json_t *sf = org ? summary_of(src, STORE_ORGANIZATION, org) : NULL;
	if (!sf) {
		json_object_del(summary, "organization");
		json_object_del(related, "organization");
		return;
	}
	json_object_set_new(summary, "organization", sf);
	char u[128];
	model_url(STORE_ORGANIZATION, org, u, sizeof u);
	json_object_set_new(related, "organization", json_string(u));
}

/* What a unified job shows beyond its fields. */
static void job_extras(const shape_source *src, long id, json_t *o, json_t *related,
                       const char *url, long events_stored)
{
	const char *type = json_string_value(json_object_get(o, "type"));
	const char *status = json_string_value(json_object_get(o, "status"));
	long emitted = (long)json_integer_value(json_object_get(o, "emitted_events"));
	bool active = store_status_is_active(status);
	bool is_job = type && !strcmp(type, "job");
	json_object_set_new(o, "event_processing_finished",
	                    json_boolean(!active && events_stored >= emitted));
	json_object_set_new(o, "can_cancel", json_boolean(active));
	json_object_set_new(o, "stored_events", json_integer(events_stored));
	if (type && !strcmp(type, "workflow_job")) /* workflows: no output of its own */
		add_related(related, url,
		            (const char *const[]){"cancel", "relaunch", "workflow_nodes", NULL});
	else
		add_related(related, url,
		            (const char *const[]){is_job ? "job_events" : "events", "stdout",
		                                  "cancel", "relaunch", NULL});
	/* sysinfo: the one instance group of runneld ran it (system.c), and
	 * AWX's launched_by: the user who launched it */
	const char *node = json_string_value(json_object_get(o, "execution_node"));
	bool ran = node && *node;
	json_object_set_new(o, "instance_group", ran ? json_integer(1) : json_null());
	json_t *summary = json_object_get(o, "summary_fields");
	if (ran) {
		json_object_set_new(related, "instance_group",
		                    json_string("/api/v2/instance_groups/1/"));
		json_object_set_new(summary, "instance_group",
		                    json_pack("{s:i,s:s,s:b}", "id", 1, "name", "default",
		                              "is_container_group", 0));
	}
	json_t *by = json_object_get(o, "created_by");
	json_t *lb = json_object_get(o, "launched_by");
	json_t *user = json_object_get(summary, "created_by");
	if (json_is_integer(by) && user && (!json_is_object(lb) || !json_object_size(lb))) {
		char uurl[64];
		model_url(STORE_USER, (long)json_integer_value(by), uurl, sizeof uurl);
		json_object_set_new(o, "launched_by",
		                    json_pack("{s:O,s:O,s:s,s:s}", "id", by, "name",
		                              json_object_get(user, "name"), "type", "user", "url",
		                              uurl));
	}
	if (is_job) {
		add_related(related, url,
		            (const char *const[]){"job_host_summaries", "credentials", NULL});
		json_object_set_new(o, "host_status_counts", host_status_counts(src, id));
	}
}

/* Kind-specific extras of a shaped object (counts, related links, secrets hidden). */
static void shape_extras(const shape_source *src, store_kind kind, long id, json_t *o,
                         json_t *related, const char *secret, long events_stored)
{
	char url[128];
	model_url(kind, id, url, sizeof url);
	switch (kind) {
	case STORE_USER:
		json_object_set_new(o, "password", json_string("$encrypted$"));
		break;
	case STORE_TOKEN:
		/* as AWX: the token itself only in the answer to its POST */
		json_object_set_new(o, "token", json_string(MODEL_CENSOR));
		json_object_set_new(o, "refresh_token", json_null());
		break;
	case STORE_INVENTORY:
		json_object_set_new(o, "total_hosts",
		                    json_integer(src->count(src->ctx, SHAPE_INVENTORY_HOSTS, id)));
		json_object_set_new(o, "total_groups",
		                    json_integer(src->count(src->ctx, SHAPE_INVENTORY_GROUPS, id)));
		json_object_set_new(
		    o, "has_inventory_sources",
		    json_boolean(src->count(src->ctx, SHAPE_INVENTORY_SOURCES, id) > 0));
		json_object_set_new(o, "pending_deletion", json_false());
		add_related(related, url,
		            (const char *const[]){"hosts", "groups", "inventory_sources",
		                                  "variable_data", "job_templates", NULL});
		break;
	case STORE_GROUP:
		add_related(related, url,
		            (const char *const[]){"hosts", "children", "variable_data", NULL});
		break;
	case STORE_TEAM: /* rbac.c serves these */
		add_related(related, url, (const char *const[]){"users", "roles", NULL});
		break;
	case STORE_ORGANIZATION:
		add_related(related, url, (const char *const[]){"users", "admins", "teams", NULL});
		break;
	case STORE_HOST:
		add_related(
		    related, url,
		    (const char *const[]){"groups", "variable_data", "job_host_summaries", NULL});
		break;
	case STORE_CREDENTIAL: {
		/* a secret input is never shown, only that it is set */
		json_t *in = json_object_get(o, "inputs");
		json_t *sec = secret ? json_loads(secret, 0, NULL) : NULL;
		const char *k;
		json_t *v;
		json_object_foreach(sec, k, v)
			json_object_set_new(in, k, json_string("$encrypted$"));
		json_decref(sec);
		break;
	}
	case STORE_PROJECT:
		add_related(related, url,
		            (const char *const[]){"update", "project_updates", "playbooks",
		                                  "schedules", NULL});
		break;
	case STORE_INVENTORY_SOURCE:
		add_related(
		    related, url,
		    (const char *const[]){"update", "inventory_updates", "schedules", NULL});
		break;
	case STORE_JOB_TEMPLATE:
		add_related(
		    related, url,
		    (const char *const[]){"launch", "jobs", "credentials", "schedules", NULL});
		template_organization(src, o, related);
		break;
	case STORE_SCHEDULE:
		schedule_extras(src, o, related, json_object_get(o, "summary_fields"), url);
		break;
	case STORE_WORKFLOW_JOB_TEMPLATE: /* workflows */
		add_related(related, url,
		            (const char *const[]){"launch", "workflow_nodes", "workflow_jobs",
		                                  "copy", NULL});
		break;
	case STORE_WORKFLOW_JOB_TEMPLATE_NODE:
	case STORE_WORKFLOW_JOB_NODE:
		add_related(
		    related, url,
		    (const char *const[]){"success_nodes", "failure_nodes", "always_nodes", NULL});
		break;
	case STORE_NOTIFICATION_TEMPLATE:
		notify_model_mask(json_object_get(o, "notification_configuration"));
		add_related(related, url,
		            (const char *const[]){"test", "notifications", "copy", NULL});
		break;
	case STORE_NOTIFICATION: {
		/* a webhook's body is shown as the object it sent */
		const char *body = json_string_value(json_object_get(o, "body"));
		const char *type = json_string_value(json_object_get(o, "notification_type"));
		json_t *b =
		    body && type && !strcmp(type, "webhook") ? json_loads(body, 0, NULL) : NULL;
		if (json_is_object(b))
			json_object_set_new(o, "body", b);
		else
			json_decref(b);
		break;
	}
	default:
		break;
	}
	if (store_rel_notification(kind, 0) != STORE_REL_NONE)
		add_related(related, url,
		            (const char *const[]){"notification_templates_started",
		                                  "notification_templates_success",
		                                  "notification_templates_error", NULL});
	if (model_is_job_kind(kind)) {
		json_object_set_new(related, "notifications",
		                    json_sprintf("%snotifications/", url));
		job_extras(src, id, o, related, url, events_stored);
	}
}

json_t *shape_object(const shape_source *src, const shape_row *row)
{
	store_kind kind = row->kind;
	const json_t *d = row->data;
	const char *type = store_kind_type(kind);
	store_kind ukind = kind;
	if (model_is_job_kind(kind)) {
		/* a unified job shows as its own type */
		const char *t = json_string_value(json_object_get(d, "type"));
		int k = store_kind_from_job_type(t);
		if (k >= 0) {
			ukind = (store_kind)k;
			type = t;
		}
	}
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(row->id));
	json_object_set_new(o, "type", json_string(type));
	char url[128];
	model_url(ukind, row->id, url, sizeof url);
	json_object_set_new(o, "url", json_string(url));
	json_t *related = json_object();
	json_t *summary = json_object();
	json_object_set_new(o, "related", related);
	json_object_set_new(o, "summary_fields", summary);
	json_object_set_new(o, "created", json_string(row->created ? row->created : ""));
	json_object_set_new(o, "modified", json_string(row->modified ? row->modified : ""));
	if (kind != STORE_USER && kind != STORE_TOKEN)
		json_object_set_new(o, "name", json_string(row->name ? row->name : ""));
	unsigned bit = model_job_bit(type);
	for (const model_field *f = model_fields(kind); f->name; f++) {
		if (f->flags & MF_WO)
			continue;
		if (model_is_job_kind(kind) && f->jobs && !(f->jobs & bit))
			continue;
		if (!strcmp(f->name, "name") || !strcmp(f->name, "type"))
			continue;
		json_t *v = json_object_get(d, f->name);
		if (!v)
			json_object_set_new(o, f->name, json_null());
		else if (f->type == MT_JSON)
			/* a copy: objects are changed in the answer (a credential's
			 * secret inputs masked), the row stays as it was */
			json_object_set_new(o, f->name, json_deep_copy(v));
		else
			json_object_set(o, f->name, (json_t *)v);
		if (f->type == MT_FK && json_is_integer(v)) {
			long fid = (long)json_integer_value(v);
			json_t *sf = summary_of(src, f->fk, fid);
			if (sf) {
				json_object_set_new(summary, f->name, sf);
				char rurl[128];
				model_url(f->fk, fid, rurl, sizeof rurl);
				json_object_set_new(related, f->name, json_string(rurl));
			}
		}
	}
	shape_extras(src, ukind, row->id, o, related, row->secret, row->events_stored);
	return o;
}

void shape_job_progress(const json_t *data, long events_stored, store_progress *out)
{
	const char *status = json_string_value(json_object_get(data, "status"));
	snprintf(out->status, sizeof out->status, "%s", status ? status : "");
	out->cancel_flag = json_is_true(json_object_get(data, "cancel_flag"));
	out->emitted_events = (long)json_integer_value(json_object_get(data, "emitted_events"));
	out->stored_events = events_stored;
}

/* ------------------------------------------------------------------ */
/* events                                                               */

const char *shape_event_display(const char *event)
{
	static const char *const map[][2] = {
	    {"playbook_on_start", "Playbook Started"},
	    {"playbook_on_play_start", "Play Started"},
	    {"playbook_on_task_start", "Task Started"},
	    {"playbook_on_stats", "Playbook Complete"},
	    {"runner_on_ok", "Host OK"},
	    {"runner_on_failed", "Host Failed"},
	    {"runner_on_unreachable", "Host Unreachable"},
	    {"runner_on_skipped", "Host Skipped"},
	    {"runner_on_start", "Host Started"},
	    {"verbose", "Verbose"},
	    {"playbook_on_include", "Including File"},
	    {"runner_item_on_ok", "Item OK"},
	    {"runner_item_on_failed", "Item Failed"},
	    {"runner_item_on_skipped", "Item Skipped"},
	    {"playbook_on_no_hosts_matched", "No Hosts Matched"},
	    {"playbook_on_no_hosts_remaining", "No Hosts Remaining"},
	    {"debug", "Debug"},
	    {"warning", "Warning"},
	    {"error", "Error"},
	    {"runner_on_async_ok", "Host Async OK"},
	    {"runner_on_async_failed", "Host Async Failure"},
	    {NULL, NULL}};
	for (int i = 0; map[i][0]; i++)
		if (!strcmp(event, map[i][0]))
			return map[i][1];
	return event;
}

/* AWX's event_level: 0 the playbook, 1 a play, 2 a task, 3 a host's result. */
static int event_level(const char *event)
{
	if (!strcmp(event, "playbook_on_start") || !strcmp(event, "playbook_on_stats"))
		return 0;
	if (!strncmp(event, "playbook_on_play", 16))
		return 1;
	if (!strncmp(event, "playbook_on", 11))
		return 2;
	return 3;
}

json_t *shape_event(const shape_event_row *r)
{
	const char *key = r->job_type && *r->job_type ? r->job_type : "job";
	json_t *o = json_object();
	char t[48];
	snprintf(t, sizeof t, "%s_event", key);
	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "type", json_string(t));
	json_object_set_new(o, "url", json_sprintf("/api/v2/%ss/%ld/", t, r->id));
	int kind = store_kind_from_job_type(key);
	char jurl[128];
	model_url(kind < 0 ? STORE_JOB : (store_kind)kind, r->job_id, jurl, sizeof jurl);
	json_t *related = json_pack("{s:s}", key, jurl);
	json_t *summary = json_object();
	json_object_set_new(summary, key, json_pack("{s:I}", "id", (json_int_t)r->job_id));
	if (r->has_host) {
		json_object_set_new(related, "host",
		                    json_sprintf("/api/v2/hosts/%lld/", (long long)r->host_id));
		json_object_set_new(
		    summary, "host",
		    json_pack("{s:I,s:s}", "id", (json_int_t)r->host_id, "name", r->host_name));
	}
	json_object_set_new(o, "related", related);
	json_object_set_new(o, "summary_fields", summary);
	json_object_set_new(o, "created", json_string(r->created));
	json_object_set_new(o, "modified", json_string(r->modified));
	json_object_set_new(o, key, json_integer(r->job_id));
	json_object_set_new(o, "event", json_string(r->event));
	json_object_set_new(o, "counter", json_integer(r->counter));
	json_object_set_new(o, "event_display", json_string(shape_event_display(r->event)));
	json_t *d = json_loads(r->event_data, 0, NULL);
	json_object_set_new(o, "event_data", d ? d : json_object());
	json_object_set_new(o, "event_level", json_integer(event_level(r->event)));
	json_object_set_new(o, "failed", json_boolean(r->failed));
	json_object_set_new(o, "changed", json_boolean(r->changed));
	json_object_set_new(o, "uuid", json_string(r->uuid));
	json_object_set_new(o, "parent_uuid", json_string(r->parent_uuid));
	json_object_set_new(o, "host", r->has_host ? json_integer(r->host_id) : json_null());
	json_object_set_new(o, "host_name", json_string(r->host_name));
	json_object_set_new(o, "playbook", json_string(r->playbook));
	json_object_set_new(o, "play", json_string(r->play));
	json_object_set_new(o, "task", json_string(r->task));
	json_object_set_new(o, "role", json_string(r->role));
	json_object_set_new(o, "stdout", json_string(r->stdout));
	json_object_set_new(o, "start_line", json_integer(r->start_line));
	json_object_set_new(o, "end_line", json_integer(r->end_line));
	json_object_set_new(o, "verbosity", json_integer(r->verbosity));
	json_object_set_new(o, "job_created", json_string(r->job_created));
	return o;
}

/* ------------------------------------------------------------------ */
/* host summaries                                                       */

json_t *shape_host_summary(const shape_host_summary_row *r)
{
	json_t *o = json_pack("{s:I,s:s}", "id", (json_int_t)r->id, "type", "job_host_summary");
	json_object_set_new(o, "url", json_sprintf("/api/v2/job_host_summaries/%ld/", r->id));
	json_t *related = json_object();
	json_object_set_new(related, "job", json_sprintf("/api/v2/jobs/%ld/", r->job_id));
	json_t *summary = json_pack("{s:{s:I}}", "job", "id", (json_int_t)r->job_id);
	if (r->has_host) {
		json_object_set_new(related, "host",
		                    json_sprintf("/api/v2/hosts/%lld/", (long long)r->host_id));
		json_object_set_new(
		    summary, "host",
		    json_pack("{s:I,s:s}", "id", (json_int_t)r->host_id, "name", r->host_name));
	}
	json_object_set_new(o, "related", related);
	json_object_set_new(o, "summary_fields", summary);
	json_object_set_new(o, "created", json_string(r->created));
	json_object_set_new(o, "modified", json_string(r->modified));
	json_object_set_new(o, "job", json_integer(r->job_id));
	json_object_set_new(o, "host", r->has_host ? json_integer(r->host_id) : json_null());
	json_object_set_new(o, "host_name", json_string(r->host_name));
	for (int c = 0; c < EVENT_STATS_COUNTS; c++)
		json_object_set_new(o, event_stats_names[c], json_integer(r->counts[c]));
	json_object_set_new(o, "failed", json_boolean(r->failed));
	return o;
}
