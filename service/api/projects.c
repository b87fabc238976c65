/*
 * projects.c - projects, their updates and playbooks. As AWX: creating a
 * git project starts its first update, and a project shows its running
 * update in summary_fields.current_update (the awx.awx collection waits on
 * it) and its latest in summary_fields.last_update. A project lives in one
 * directory under the projects root (project_files.h): a git project's is
 * named by runneld, a manual project chooses one that is there.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "project_files.h"
#include "util.h"

/* The newest project update of a project (active only: active), or NULL. */
static json_t *latest_update(api_request *rq, long project, bool active)
{
	json_t *f = json_pack("{s:I}", "project", (json_int_t)project);
	if (active)
		json_object_set_new(f, "status__in", json_string("new,pending,waiting,running"));
	store_query q = {.filters = f, .order_by = "-id", .page = 1, .page_size = 1};
	store_page page = {0};
	runnel_error err = {0};
	json_t *u = NULL;
	if (store_list(rq->st, STORE_PROJECT_UPDATE, &q, &page, &err) == 0)
		u = json_incref(json_array_get(page.results, 0));
	store_page_clear(&page);
	json_decref(f);
	return u;
}

/* Put an update's summary in a project's summary_fields and related. */
static void link_update(json_t *project, const char *name, const json_t *u)
{
	json_t *sf = json_object_get(project, "summary_fields");
	json_t *rel = json_object_get(project, "related");
	if (!u || !sf || !rel)
		return;
	json_object_set_new(sf, name,
	                    json_pack("{s:O,s:O,s:O,s:O}", "id", json_object_get(u, "id"), "name",
	                              json_object_get(u, "name"), "status",
	                              json_object_get(u, "status"), "failed",
	                              json_object_get(u, "failed")));
	json_object_set(rel, name, json_object_get(u, "url"));
}

/* Add current_update / last_update to a project (takes and returns o). */
static json_t *decorate_project(api_request *rq, json_t *o)
{
	long id = (long)json_integer_value(json_object_get(o, "id"));
	json_t *cur = latest_update(rq, id, true);
	json_t *last = cur ? json_incref(cur) : latest_update(rq, id, false);
	link_update(o, "current_update", cur);
	link_update(o, "last_update", last);
	json_decref(cur);
	json_decref(last);
	return o;
}

/* Start an update of a project; the new update, or NULL with err. */
static json_t *start_update(api_request *rq, long project, runnel_error *err)
{
	json_t *u = engine_launch_project_update(rq->eng, project, rq->user_id, err);
	if (u)
		api_logf(rq, "project_update %lld launched for project %ld by user %ld",
		         (long long)json_integer_value(json_object_get(u, "id")), project,
		         rq->user_id);
	return u;
}

/* True if a project fetches from source control. */
static bool is_scm(const json_t *project)
{
	const char *t = json_string_value(json_object_get(project, "scm_type"));
	return t && *t;
}

/* Check a project's fields against the projects root before they are saved
 * (current: the stored project, NULL on create); the body may lose its
 * local_path (a git project's is runneld's). False with the 400 in rs. */
static bool fields_ok(api_request *rq, api_response *rs, const json_t *current)
{
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return false;
	runnel_error err = {0};
	const engine_settings *es = engine_get_settings(rq->eng);
	int rc = project_check_fields(rq->st, es->projects_root, current, body, &err);
	json_decref(body);
	if (rc < 0) {
		api_error(rs, &err);
		return false;
	}
	return true;
}

/* GET/POST /api/v2/projects/. */
static int projects(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET")) {
		api_list_opts o = {.decorate = decorate_project};
		return api_list(rq, rs, STORE_PROJECT, &o);
	}
	if (!fields_ok(rq, rs, NULL))
		return 0;
	long id = 0;
	api_create(rq, rs, STORE_PROJECT, NULL, &id);
	if (!id || !is_scm(rs->json))
		return 0;
	runnel_error err = {0};
	json_t *u = start_update(rq, id, &err);
	if (!u) {
		api_logf(rq, "project %ld: first update not started: %s", id, err.message);
		return 0;
	}
	json_decref(u);
	json_t *p = store_get(rq->st, STORE_PROJECT, id, &err);
	if (p)
		api_json(rs, 201, decorate_project(rq, p));
	return 0;
}

/* GET/PUT/PATCH/DELETE /api/v2/projects/N/. */
static int project_one(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_get(rq, rs, STORE_PROJECT, rq->ids[0], decorate_project);
	if (!strcmp(rq->method, "DELETE"))
		return api_delete(rq, rs, STORE_PROJECT, rq->ids[0]);
	runnel_error err = {0};
	json_t *cur = store_get(rq->st, STORE_PROJECT, rq->ids[0], &err);
	if (!cur)
		return api_error(rs, &err);
	bool ok = fields_ok(rq, rs, cur);
	json_decref(cur);
	if (!ok)
		return 0;
	api_update(rq, rs, STORE_PROJECT, rq->ids[0]);
	if (rs->status == 200)
		rs->json = decorate_project(rq, rs->json);
	return 0;
}

/* GET /api/v2/projects/N/update/: can it update. */
static int project_can_update(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *p = store_get(rq->st, STORE_PROJECT, rq->ids[0], &err);
	if (!p)
		return api_error(rs, &err);
	bool scm = is_scm(p);
	json_decref(p);
	return api_json(rs, 200, json_pack("{s:b}", "can_update", scm));
}

/* POST /api/v2/projects/N/update/: start an update (202; 405 for a manual project). */
static int project_update(api_request *rq, api_response *rs)
{
	static const char *const allowed[] = {"extra_vars", NULL};
	if (!api_body_acceptable(rq, rs, allowed))
		return 0;
	runnel_error err = {0};
	json_t *p = store_get(rq->st, STORE_PROJECT, rq->ids[0], &err);
	if (!p)
		return api_error(rs, &err);
	bool scm = is_scm(p);
	json_decref(p);
	if (!scm)
		return api_not_allowed(rs, "POST");
	json_t *u = start_update(rq, rq->ids[0], &err);
	if (!u)
		return api_error(rs, &err);
	json_object_set(u, "project_update", json_object_get(u, "id"));
	return api_json(rs, 202, u);
}

/* GET /api/v2/projects/N/project_updates/. */
static int project_updates(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *p = store_get(rq->st, STORE_PROJECT, rq->ids[0], &err);
	if (!p)
		return api_error(rs, &err);
	json_decref(p);
	json_t *f = json_pack("{s:I}", "project", (json_int_t)rq->ids[0]);
	api_list_opts o = {.filters = f};
	api_list(rq, rs, STORE_PROJECT_UPDATE, &o);
	json_decref(f);
	return 0;
}

/* GET /api/v2/projects/N/playbooks/: the playbooks in the project, sorted
 * (project_playbooks: nothing outside the project is listed or opened). */
static int get_playbooks(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *p = store_get(rq->st, STORE_PROJECT, rq->ids[0], &err);
	if (!p)
		return api_error(rs, &err);
	json_decref(p);
	char *dir = engine_project_path(rq->eng, rq->ids[0], &err);
	json_t *found = dir ? project_playbooks(dir) : json_array();
	free(dir);
	return api_json(rs, 200, found);
}

const api_route api_routes_projects[] = {
    {"/api/v2/projects/", projects, projects, NULL, NULL, NULL, false},
    {"/api/v2/projects/{id}/", project_one, NULL, project_one, project_one, project_one, false},
    {"/api/v2/projects/{id}/update/", project_can_update, project_update, NULL, NULL, NULL, false},
    {"/api/v2/projects/{id}/project_updates/", project_updates, NULL, NULL, NULL, NULL, false},
    {"/api/v2/projects/{id}/playbooks/", get_playbooks, NULL, NULL, NULL, NULL, false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
