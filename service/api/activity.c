/*
 * activity.c - AWX's activity stream: who (the actor) did what (create,
 * update, delete, associate, disassociate) to which object, with the
 * changes. Entries are written by api_activity_record, which the API's one
 * write path (util.c: api_create, api_update, api_delete, api_sublist)
 * calls; never by a handler of its own. A job's or an ad hoc command's
 * launch is recorded by the engine (store/activity_entry.h, the same
 * builder), as AWX's create_unified_job does. Read at
 * /api/v2/activity_stream/ and at each object's .../activity_stream/
 * (AWX's awx/main/models/activity_stream.py, awx/main/signals.py).
 */
#include "activity_entry.h"
#include "api.h"
#include "model.h"

#include <stdio.h>
#include <string.h>

/* Record one entry (see api.h). */
void api_activity_record(api_request *rq, const char *operation, store_kind kind, long id,
                         const json_t *before, const json_t *after, const json_t *sent,
                         store_kind kind2, long id2, const char *association)
{
	if (!activity_stream_enabled(rq->st))
		return;
	json_t *changes;
	if (!strcmp(operation, "create"))
		changes = activity_changes_of_object(after);
	else if (!strcmp(operation, "delete"))
		changes = activity_changes_of_object(before);
	else if (!strcmp(operation, "update"))
		changes = activity_changes_of_update(before, after, sent);
	else
		changes = json_object();
	if (!strcmp(operation, "update") && json_object_size(changes) == 0) {
		json_decref(changes); /* as AWX: an update that changed nothing is not recorded */
		return;
	}
	runnel_error err = {0};
	if (activity_entry_write(rq->st, rq->user_id, operation, kind, id, after ? after : before,
	                         changes, kind2, id2, association, &err) < 0)
		api_logf(rq, "activity stream: %s of %s %ld not recorded: %s", operation,
		         store_kind_type(kind), id, err.message);
}

/* The filters that narrow the activity stream to what the caller may read,
 * or NULL for all of it. AWX's ActivityStreamAccess.filtered_queryset
 * (awx/main/access.py): superusers and system auditors read every entry;
 * another user reads the entries about objects it may read. Until roles
 * land (access.c), that is the entries the user made itself. */
static json_t *activity_read_filter(const api_request *rq)
{
	if (json_is_true(json_object_get(rq->user, "is_superuser")) ||
	    json_is_true(json_object_get(rq->user, "is_system_auditor")))
		return NULL;
	return json_pack("{s:I}", "actor", (json_int_t)rq->user_id);
}

/* An entry as AWX's ActivityStreamSerializer shows it: timestamp,
 * summary_fields.actor as a user, the objects under their types. */
static json_t *decorate(api_request *rq, json_t *o)
{
	(void)rq;
	json_object_set(o, "timestamp", json_object_get(o, "created"));
	json_object_del(o, "created");
	json_object_del(o, "modified");
	json_t *related = json_object_get(o, "related");
	json_t *summary = json_object_get(o, "summary_fields");
	for (int i = 1; i <= 2; i++) {
		char tk[16], ik[16];
		snprintf(tk, sizeof tk, "object%d", i);
		snprintf(ik, sizeof ik, "object%d_id", i);
		const char *type = json_string_value(json_object_get(o, tk));
		json_t *id = json_object_get(o, ik);
		int kind = type && *type ? store_kind_from_name(type) : -1;
		if (kind < 0 || !json_is_integer(id))
			continue;
		char url[128];
		model_url((store_kind)kind, (long)json_integer_value(id), url, sizeof url);
		json_t *rl = json_object_get(related, type);
		if (!rl) {
			rl = json_array();
			json_object_set_new(related, type, rl);
		}
		json_array_append_new(rl, json_string(url));
		json_t *sl = json_object_get(summary, type);
		if (!sl) {
			sl = json_array();
			json_object_set_new(summary, type, sl);
		}
		json_t *cur =
		    store_get(rq->st, (store_kind)kind, (long)json_integer_value(id), NULL);
		const char *name = json_string_value(json_object_get(cur, "name"));
		if (!name)
			name = json_string_value(json_object_get(cur, "username"));
		if (!name && i == 1) /* gone: the name it had */
			name = json_string_value(json_object_get(o, "name"));
		json_array_append_new(sl,
		                      json_pack("{s:O,s:s}", "id", id, "name", name ? name : ""));
		json_decref(cur);
	}
	json_object_del(o, "name");
	json_t *actor = json_object_get(summary, "actor");
	if (actor) {
		json_object_del(actor, "name");
		json_t *u = store_get(rq->st, STORE_USER,
		                      (long)json_integer_value(json_object_get(actor, "id")), NULL);
		const char *first = json_string_value(json_object_get(u, "first_name"));
		const char *last = json_string_value(json_object_get(u, "last_name"));
		json_object_set_new(actor, "first_name", json_string(first ? first : ""));
		json_object_set_new(actor, "last_name", json_string(last ? last : ""));
		json_decref(u);
	}
	const char *o2 = json_string_value(json_object_get(o, "object2"));
	json_object_set(o, "object_type", json_object_get(o, o2 && *o2 ? "object2" : "object1"));
	return o;
}

/* GET a list of entries narrowed by extra (may be NULL) and the caller's view. */
static int list_entries(api_request *rq, api_response *rs, json_t *extra)
{
	json_t *f = activity_read_filter(rq);
	if (extra) {
		if (!f)
			f = json_object();
		json_object_update(f, extra);
	}
	api_list_opts o = {.filters = f, .decorate = decorate};
	int rc = api_list(rq, rs, STORE_ACTIVITY_STREAM, &o);
	json_decref(f);
	return rc;
}

/* GET /api/v2/activity_stream/ */
static int activity_list(api_request *rq, api_response *rs)
{
	return list_entries(rq, rs, NULL);
}

/* GET /api/v2/activity_stream/N/ */
static int activity_one(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *o = store_get(rq->st, STORE_ACTIVITY_STREAM, rq->ids[0], &err);
	if (!o)
		return api_error(rs, &err);
	json_t *f = activity_read_filter(rq);
	json_t *actor = json_object_get(f, "actor");
	bool hidden = actor && !json_equal(actor, json_object_get(o, "actor"));
	json_decref(f);
	if (hidden) {
		json_decref(o);
		return api_detail(rs, 404, "Not found.");
	}
	return api_json(rs, 200, decorate(rq, o));
}

/* GET <object>/N/activity_stream/: the entries whose object1 is it (the
 * object itself must exist and be readable). */
static int object_activity(api_request *rq, api_response *rs, store_kind kind)
{
	runnel_error err = {0};
	json_t *o = store_get(rq->st, kind, rq->ids[0], &err);
	if (!o)
		return api_error(rs, &err);
	json_decref(o);
	json_t *extra = json_pack("{s:s,s:I}", "object1", store_kind_type(kind), "object1_id",
	                          (json_int_t)rq->ids[0]);
	int rc = list_entries(rq, rs, extra);
	json_decref(extra);
	return rc;
}

#define OBJECT_ACTIVITY(name, kind)                                                                \
	/* GET /api/v2/<name>/N/activity_stream/ */                                                \
	static int name##_activity(api_request *rq, api_response *rs)                              \
	{                                                                                          \
		return object_activity(rq, rs, kind);                                              \
	}
OBJECT_ACTIVITY(organizations, STORE_ORGANIZATION)
OBJECT_ACTIVITY(users, STORE_USER)
OBJECT_ACTIVITY(credential_types, STORE_CREDENTIAL_TYPE)
OBJECT_ACTIVITY(credentials, STORE_CREDENTIAL)
OBJECT_ACTIVITY(inventories, STORE_INVENTORY)
OBJECT_ACTIVITY(groups, STORE_GROUP)
OBJECT_ACTIVITY(hosts, STORE_HOST)
OBJECT_ACTIVITY(inventory_sources, STORE_INVENTORY_SOURCE)
OBJECT_ACTIVITY(projects, STORE_PROJECT)
OBJECT_ACTIVITY(job_templates, STORE_JOB_TEMPLATE)
OBJECT_ACTIVITY(jobs, STORE_JOB)
OBJECT_ACTIVITY(ad_hoc_commands, STORE_AD_HOC_COMMAND)

const api_route api_routes_activity[] = {
    {"/api/v2/activity_stream/", activity_list, NULL, NULL, NULL, NULL, false},
    {"/api/v2/activity_stream/{id}/", activity_one, NULL, NULL, NULL, NULL, false},
    {"/api/v2/organizations/{id}/activity_stream/", organizations_activity, NULL, NULL, NULL, NULL,
     false},
    {"/api/v2/users/{id}/activity_stream/", users_activity, NULL, NULL, NULL, NULL, false},
    {"/api/v2/credential_types/{id}/activity_stream/", credential_types_activity, NULL, NULL, NULL,
     NULL, false},
    {"/api/v2/credentials/{id}/activity_stream/", credentials_activity, NULL, NULL, NULL, NULL,
     false},
    {"/api/v2/inventories/{id}/activity_stream/", inventories_activity, NULL, NULL, NULL, NULL,
     false},
    {"/api/v2/groups/{id}/activity_stream/", groups_activity, NULL, NULL, NULL, NULL, false},
    {"/api/v2/hosts/{id}/activity_stream/", hosts_activity, NULL, NULL, NULL, NULL, false},
    {"/api/v2/inventory_sources/{id}/activity_stream/", inventory_sources_activity, NULL, NULL,
     NULL, NULL, false},
    {"/api/v2/projects/{id}/activity_stream/", projects_activity, NULL, NULL, NULL, NULL, false},
    {"/api/v2/job_templates/{id}/activity_stream/", job_templates_activity, NULL, NULL, NULL, NULL,
     false},
    /* a job's and an ad hoc command's: their launch (activity_entry.h) */
    {"/api/v2/jobs/{id}/activity_stream/", jobs_activity, NULL, NULL, NULL, NULL, false},
    {"/api/v2/ad_hoc_commands/{id}/activity_stream/", ad_hoc_commands_activity, NULL, NULL, NULL,
     NULL, false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
