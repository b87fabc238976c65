/*
 * notifications.c - notification_templates/ (CRUD, test/, copy/,
 * notifications/), notifications/, the templates attached to job
 * templates, projects, inventory sources and organizations for started,
 * success and error, and the notifications of each unified job
 * (AWX's NotificationTemplate* and *NotificationTemplates*List views).
 * Sending is notify.h's.
 */
#include "access.h"
#include "api.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "notify.h"

/* What a caller wants to do with notification templates. */
typedef enum nt_action { NT_READ, NT_CHANGE } nt_action;

/*
 * The permission rule of notification templates, in one place for
 * access.c. AWX's NotificationTemplateAccess (awx/main/access.py):
 * superusers and system auditors read all; others read the templates of
 * the organizations where they hold notification_admin_role or
 * auditor_role; add / change / delete / test / copy need the
 * notification_admin_role of the template's organization (and of the new
 * one when it moves); attaching one to a job template, project, inventory
 * source or organization also needs admin of that object. runneld has no
 * organization roles yet (the rbac work adds them): until then, that is
 * superusers, and system auditors for reading. org_id: the template's
 * organization (0 when not known yet).
 */
static bool nt_allowed(const api_request *rq, nt_action action, long org_id)
{
	/* reading is access.c's (routes, and lists narrowed in api_list);
	 * changing: the organization's notification_admin_role */
	api_request *r = (api_request *)rq;
	if (access_superuser(r))
		return true;
	if (action == NT_READ)
		return rq->user != NULL;
	if (org_id <= 0)
		return false;
	json_t *d = json_pack("{s:I}", "organization", (json_int_t)org_id);
	bool ok = access_can_add(r, STORE_NOTIFICATION_TEMPLATE, d);
	json_decref(d);
	return ok;
}

/* 403 in AWX's words. */
static int forbidden(api_response *rs)
{
	return api_detail(rs, 403, "You do not have permission to perform this action.");
}

/* The organization of a notification template's body (0 when none). */
static long body_org(const api_request *rq)
{
	json_t *o = json_object_get(rq->body, "organization");
	return json_is_integer(o) ? (long)json_integer_value(o) : 0;
}

/* A list of kind for a caller who may not read every template: nothing
 * (the rule above has no per-organization reading yet). */
static int list_or_none(api_request *rq, api_response *rs, store_kind kind, api_list_opts *o)
{
	json_t *none = NULL;
	api_list_opts mine = {0};
	if (!o)
		o = &mine;
	if (!nt_allowed(rq, NT_READ, 0)) {
		none = json_pack("{s:i}", "id", 0);
		o->filters = none;
	}
	int rc = api_list(rq, rs, kind, o);
	json_decref(none);
	return rc;
}

/* GET/POST /api/v2/notification_templates/. */
static int templates_list(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return list_or_none(rq, rs, STORE_NOTIFICATION_TEMPLATE, NULL);
	if (!nt_allowed(rq, NT_CHANGE, body_org(rq)))
		return forbidden(rs);
	return api_create(rq, rs, STORE_NOTIFICATION_TEMPLATE, NULL, NULL);
}

/* The template of the route's first id, or NULL with the answer in rs. */
static json_t *template_of(api_request *rq, api_response *rs, nt_action action)
{
	runnel_error err = {0};
	json_t *nt = store_get(rq->st, STORE_NOTIFICATION_TEMPLATE, rq->ids[0], &err);
	if (!nt) {
		api_error(rs, &err);
		return NULL;
	}
	long org = (long)json_integer_value(json_object_get(nt, "organization"));
	if (!nt_allowed(rq, NT_READ, org)) {
		json_decref(nt);
		api_detail(rs, 404, "Not found.");
		return NULL;
	}
	if (action == NT_CHANGE && !nt_allowed(rq, NT_CHANGE, org)) {
		json_decref(nt);
		forbidden(rs);
		return NULL;
	}
	return nt;
}

/* Delete the notifications of template id (AWX: on_delete CASCADE). */
static int delete_notifications(api_request *rq, long id, runnel_error *err)
{
	for (;;) {
		json_t *f = json_pack("{s:I}", "notification_template", (json_int_t)id);
		store_query q = {.filters = f, .page_size = 200};
		store_page pg = {0};
		int rc = store_list(rq->st, STORE_NOTIFICATION, &q, &pg, err);
		json_decref(f);
		if (rc < 0)
			return -1;
		size_t i, n = json_array_size(pg.results);
		json_t *o;
		json_array_foreach(pg.results, i, o) {
			if (store_remove(rq->st, STORE_NOTIFICATION,
			                 (long)json_integer_value(json_object_get(o, "id")),
			                 err) < 0) {
				store_page_clear(&pg);
				return -1;
			}
		}
		store_page_clear(&pg);
		if (!n)
			return 0;
	}
}

/* GET/PUT/PATCH/DELETE /api/v2/notification_templates/N/. */
static int templates_one(api_request *rq, api_response *rs)
{
	bool get = !strcmp(rq->method, "GET");
	json_t *nt = template_of(rq, rs, get ? NT_READ : NT_CHANGE);
	if (!nt)
		return 0;
	json_decref(nt);
	if (get)
		return api_get(rq, rs, STORE_NOTIFICATION_TEMPLATE, rq->ids[0], NULL);
	if (!strcmp(rq->method, "DELETE")) {
		runnel_error err = {0};
		if (delete_notifications(rq, rq->ids[0], &err) < 0)
			return api_error(rs, &err);
		return api_delete(rq, rs, STORE_NOTIFICATION_TEMPLATE, rq->ids[0]);
	}
	long org = body_org(rq);
	if (org && !nt_allowed(rq, NT_CHANGE, org))
		return forbidden(rs);
	return api_update(rq, rs, STORE_NOTIFICATION_TEMPLATE, rq->ids[0]);
}

/* POST /api/v2/notification_templates/N/test/: a test notification,
 * pending; 202 {"notification": id, ...} (AWX's NotificationTemplateTest). */
static int template_test(api_request *rq, api_response *rs)
{
	if (!api_body_acceptable(rq, rs, (const char *const[]){NULL}))
		return 0;
	json_t *nt = template_of(rq, rs, NT_CHANGE);
	if (!nt)
		return 0;
	/* AWX's TOWER_URL_BASE: where this request came in */
	const char *host = rq->header ? rq->header(rq, "Host") : NULL;
	char base[300];
	snprintf(base, sizeof base, "http://%s",
	         host && !strpbrk(host, " \r\n\"\\") ? host : "127.0.0.1");
	runnel_error err = {0};
	json_t *no = notify_create_test(rq->st, nt, base, &err);
	json_decref(nt);
	if (!no)
		return api_error(rs, &err);
	json_t *out = json_pack("{s:O}", "notification", json_object_get(no, "id"));
	json_object_update(out, no);
	api_add_header(rs, "Location", json_string_value(json_object_get(no, "url")));
	json_decref(no);
	return api_json(rs, 202, out);
}

/* GET/POST /api/v2/notification_templates/N/copy/ (AWX's CopyAPIView):
 * the copy keeps the secrets, sealed again. */
static int template_copy(api_request *rq, api_response *rs)
{
	json_t *nt = template_of(rq, rs, strcmp(rq->method, "GET") ? NT_CHANGE : NT_READ);
	if (!nt)
		return 0;
	if (!strcmp(rq->method, "GET")) {
		json_decref(nt);
		return api_json(
		    rs, 200,
		    json_pack("{s:b,s:b}", "can_copy", 1, "can_copy_without_user_input", 1));
	}
	json_t *body = api_body_object(rq, rs);
	if (!body) {
		json_decref(nt);
		return 0;
	}
	json_t *name = json_object_get(body, "name");
	int rc = 0;
	runnel_error err = {0};
	json_t *conf = NULL;
	if (!json_is_string(name) || !*json_string_value(name)) {
		rc = api_field_error(rs, "name", "This field is required.");
	} else if (!(conf = store_notification_configuration(rq->st, rq->ids[0], &err))) {
		rc = api_error(rs, &err);
	} else {
		json_t *f = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "name", name, "description",
		                      json_object_get(nt, "description"), "organization",
		                      json_object_get(nt, "organization"), "notification_type",
		                      json_object_get(nt, "notification_type"),
		                      "notification_configuration", conf, "messages",
		                      json_object_get(nt, "messages"));
		json_t *o = store_create(rq->st, STORE_NOTIFICATION_TEMPLATE, f, 0, &err);
		json_decref(f);
		rc = o ? api_json(rs, 201, o) : api_error(rs, &err);
	}
	json_decref(conf);
	json_decref(body);
	json_decref(nt);
	return rc;
}

/* GET /api/v2/notification_templates/N/notifications/. */
static int template_notifications(api_request *rq, api_response *rs)
{
	json_t *nt = template_of(rq, rs, NT_READ);
	if (!nt)
		return 0;
	json_decref(nt);
	json_t *f = json_pack("{s:I}", "notification_template", (json_int_t)rq->ids[0]);
	api_list_opts o = {.filters = f};
	api_list(rq, rs, STORE_NOTIFICATION, &o);
	json_decref(f);
	return 0;
}

/* GET /api/v2/notifications/. */
static int notifications_list(api_request *rq, api_response *rs)
{
	return list_or_none(rq, rs, STORE_NOTIFICATION, NULL);
}

/* GET /api/v2/notifications/N/. */
static int notifications_one(api_request *rq, api_response *rs)
{
	if (!nt_allowed(rq, NT_READ, 0))
		return api_detail(rs, 404, "Not found.");
	return api_get(rq, rs, STORE_NOTIFICATION, rq->ids[0], NULL);
}

/* GET/POST <kind>/N/notification_templates_<event>/: list, attach
 * {"id": N}, detach {"id": N, "disassociate": true} (204). */
static int attached(api_request *rq, api_response *rs, store_kind kind, int event)
{
	runnel_error err = {0};
	json_t *parent = store_get(rq->st, kind, rq->ids[0], &err);
	if (!parent)
		return api_error(rs, &err);
	json_decref(parent);
	bool get = !strcmp(rq->method, "GET");
	if (!nt_allowed(rq, get ? NT_READ : NT_CHANGE, 0))
		return forbidden(rs);
	store_rel rel = store_rel_notification(kind, event);
	if (!get && !json_object_get(rq->body, "id"))
		return api_field_error(rs, "id", "This field is required.");
	return api_sublist(rq, rs, STORE_NOTIFICATION_TEMPLATE, rel, rq->ids[0], NULL);
}

/* The three attachment handlers of a kind. */
#define ATTACHED(name, kind)                                                                       \
	/* notification_templates_started/ of name */                                              \
	static int name##_started(api_request *rq, api_response *rs)                               \
	{                                                                                          \
		return attached(rq, rs, kind, 0);                                                  \
	}                                                                                          \
	/* notification_templates_success/ of name */                                              \
	static int name##_success(api_request *rq, api_response *rs)                               \
	{                                                                                          \
		return attached(rq, rs, kind, 1);                                                  \
	}                                                                                          \
	/* notification_templates_error/ of name */                                                \
	static int name##_error(api_request *rq, api_response *rs)                                 \
	{                                                                                          \
		return attached(rq, rs, kind, 2);                                                  \
	}

ATTACHED(jt, STORE_JOB_TEMPLATE)
ATTACHED(project, STORE_PROJECT)
ATTACHED(invsrc, STORE_INVENTORY_SOURCE)
ATTACHED(org, STORE_ORGANIZATION)

/* GET /api/v2/organizations/N/notification_templates/: the templates of
 * the organization; POST creates one in it. */
static int org_templates(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *org = store_get(rq->st, STORE_ORGANIZATION, rq->ids[0], &err);
	if (!org)
		return api_error(rs, &err);
	json_decref(org);
	json_t *f = json_pack("{s:I}", "organization", (json_int_t)rq->ids[0]);
	int rc;
	if (!strcmp(rq->method, "GET")) {
		api_list_opts o = {.filters = f};
		rc = list_or_none(rq, rs, STORE_NOTIFICATION_TEMPLATE, &o);
	} else if (!nt_allowed(rq, NT_CHANGE, rq->ids[0])) {
		rc = forbidden(rs);
	} else {
		rc = api_create(rq, rs, STORE_NOTIFICATION_TEMPLATE, f, NULL);
	}
	json_decref(f);
	return rc;
}

/* GET <unified job>/N/notifications/ of a kind. */
static int job_notifications(api_request *rq, api_response *rs, store_kind kind)
{
	runnel_error err = {0};
	json_t *job = store_get(rq->st, kind, rq->ids[0], &err);
	if (!job)
		return api_error(rs, &err);
	json_decref(job);
	api_list_opts o = {.rel = STORE_REL_JOB_NOTIFICATIONS, .rel_parent = rq->ids[0]};
	return list_or_none(rq, rs, STORE_NOTIFICATION, &o);
}

/* The notifications/ handler of a unified job kind. */
#define JOB_NOTIFICATIONS(name, kind)                                                              \
	/* GET name/N/notifications/ */                                                            \
	static int name##_notifications(api_request *rq, api_response *rs)                         \
	{                                                                                          \
		return job_notifications(rq, rs, kind);                                            \
	}

JOB_NOTIFICATIONS(jobs, STORE_JOB)
JOB_NOTIFICATIONS(project_updates, STORE_PROJECT_UPDATE)
JOB_NOTIFICATIONS(inventory_updates, STORE_INVENTORY_UPDATE)
JOB_NOTIFICATIONS(ad_hoc_commands, STORE_AD_HOC_COMMAND)
JOB_NOTIFICATIONS(system_jobs, STORE_SYSTEM_JOB)

/* The three attachment routes of a kind. */
#define ATTACH_ROUTES(plural, name)                                                                \
	{"/api/v2/" plural "/{id}/notification_templates_started/",                                \
	 name##_started,                                                                           \
	 name##_started,                                                                           \
	 NULL,                                                                                     \
	 NULL,                                                                                     \
	 NULL,                                                                                     \
	 false},                                                                                   \
	    {"/api/v2/" plural "/{id}/notification_templates_success/",                            \
	     name##_success,                                                                       \
	     name##_success,                                                                       \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     false},                                                                               \
	{                                                                                          \
		"/api/v2/" plural "/{id}/notification_templates_error/", name##_error,             \
		    name##_error, NULL, NULL, NULL, false                                          \
	}

const api_route api_routes_notifications[] = {
    {"/api/v2/notification_templates/", templates_list, templates_list, NULL, NULL, NULL, false},
    {"/api/v2/notification_templates/{id}/", templates_one, NULL, templates_one, templates_one,
     templates_one, false},
    {"/api/v2/notification_templates/{id}/test/", NULL, template_test, NULL, NULL, NULL, false},
    {"/api/v2/notification_templates/{id}/copy/", template_copy, template_copy, NULL, NULL, NULL,
     false},
    {"/api/v2/notification_templates/{id}/notifications/", template_notifications, NULL, NULL, NULL,
     NULL, false},
    {"/api/v2/notifications/", notifications_list, NULL, NULL, NULL, NULL, false},
    {"/api/v2/notifications/{id}/", notifications_one, NULL, NULL, NULL, NULL, false},
    {"/api/v2/organizations/{id}/notification_templates/", org_templates, org_templates, NULL, NULL,
     NULL, false},
    ATTACH_ROUTES("job_templates", jt),
    ATTACH_ROUTES("projects", project),
    ATTACH_ROUTES("inventory_sources", invsrc),
    ATTACH_ROUTES("organizations", org),
    {"/api/v2/jobs/{id}/notifications/", jobs_notifications, NULL, NULL, NULL, NULL, false},
    {"/api/v2/project_updates/{id}/notifications/", project_updates_notifications, NULL, NULL, NULL,
     NULL, false},
    {"/api/v2/inventory_updates/{id}/notifications/", inventory_updates_notifications, NULL, NULL,
     NULL, NULL, false},
    {"/api/v2/ad_hoc_commands/{id}/notifications/", ad_hoc_commands_notifications, NULL, NULL, NULL,
     NULL, false},
    {"/api/v2/system_jobs/{id}/notifications/", system_jobs_notifications, NULL, NULL, NULL, NULL,
     false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
