/*
 * root.c - the API's entry points and the people: /api/, /api/v2/, ping,
 * config, me, tokens (what the awx.awx collection logs in with) and users.
 */
#include "api.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "project_files.h"
#include "util.h"

/* GET /api/: where the versions are; sets the csrftoken cookie a session
 * login posts back (AWX's ApiRootView is ensure_csrf_cookie). */
static int get_api(api_request *rq, api_response *rs)
{
	api_csrf_cookie_ensure(rq, rs, NULL);
	return api_json(rs, 200,
	                json_pack("{s:s,s:s,s:{s:s},s:s,s:s,s:s,s:s}", "description",
	                          "AWX REST API", "current_version", "/api/v2/",
	                          "available_versions", "v2", "/api/v2/", "oauth2", "/api/o/",
	                          "custom_logo", "", "custom_login_info", "",
	                          "login_redirect_override", ""));
}

/* GET /api/v2/: the resources. */
static int get_v2(api_request *rq, api_response *rs)
{
	(void)rq;
	static const char *const names[] = {"ping",
	                                    "config",
	                                    "me",
	                                    "users",
	                                    "tokens",
	                                    "organizations",
	                                    "credential_types",
	                                    "credentials",
	                                    "inventory",
	                                    "hosts",
	                                    "groups",
	                                    "inventory_sources",
	                                    "inventory_updates",
	                                    "projects",
	                                    "project_updates",
	                                    "job_templates",
	                                    "jobs",
	                                    "ad_hoc_commands",
	                                    "system_job_templates",
	                                    "system_jobs",
	                                    "unified_jobs",
	                                    "teams",
	                                    "roles",
	                                    "labels",
	                                    "notification_templates",
	                                    "notifications",
	                                    "schedules",
	                                    "unified_job_templates",
	                                    "workflow_job_templates", /* workflows.c */
	                                    "workflow_job_template_nodes",
	                                    "workflow_jobs",
	                                    "workflow_job_nodes",
	                                    NULL};
	/* sysinfo: settings.c, system.c, activity.c */
	static const char *const more[] = {"settings",        "instances", "instance_groups",
	                                   "activity_stream", "metrics",   NULL};
	(void)rq;
	json_t *o = json_object();
	for (int i = 0; names[i]; i++) {
		const char *path = !strcmp(names[i], "inventory") ? "inventories" : names[i];
		json_object_set_new(o, names[i], json_sprintf("/api/v2/%s/", path));
	}
	for (int i = 0; api_absent_names[i]; i++) /* absent.c: lists runneld has none of */
		if (!json_object_get(o, api_absent_names[i]))
			json_object_set_new(o, api_absent_names[i],
			                    json_sprintf("/api/v2/%s/", api_absent_names[i]));
	for (int i = 0; more[i]; i++)
		json_object_set_new(o, more[i], json_sprintf("/api/v2/%s/", more[i]));
	return api_json(rs, 200, o);
}

/* This node's name. */
static void node_name(char *out, size_t n)
{
	if (gethostname(out, n) != 0 || !*out)
		snprintf(out, n, "localhost");
	out[n - 1] = '\0';
}

/* GET /api/v2/ping/: alive, and what this node is. */
static int get_ping(api_request *rq, api_response *rs)
{
	char host[256];
	node_name(host, sizeof host);
	const engine_settings *es = engine_get_settings(rq->eng);
	char now[32];
	rn_utc_isoformat(now);
	json_t *inst =
	    json_pack("{s:s,s:s,s:s,s:i,s:s}", "node", host, "node_type", "hybrid", "heartbeat",
	              now, "capacity", es ? es->capacity : 0, "version", API_PRODUCT_VERSION);
	return api_json(rs, 200,
	                json_pack("{s:b,s:s,s:s,s:s,s:[o],s:[{s:s,s:i,s:[s]}]}", "ha", 0, "version",
	                          API_PRODUCT_VERSION, "active_node", host, "install_uuid",
	                          "00000000-0000-4000-8000-000000000000", "instances", inst,
	                          "instance_groups", "name", "default", "capacity",
	                          es ? es->capacity : 0, "instances", host));
}

static char ansible_version[128];
static pthread_once_t ansible_version_once = PTHREAD_ONCE_INIT;

/* Ask ansible its version, once (an argv run, no shell). */
static void read_ansible_version(void)
{
	static const char *const argv[] = {"ansible", "--version", NULL};
	runnel_tool tool = {.argv = argv, .timeout = 30, .max_output = 65536};
	runnel_tool_result res = {0};
	runnel_error err = {0};
	char line[256] = "";
	if (runnel_tool_run(&tool, &res, &err) == 0 && res.rc == 0 && res.out)
		snprintf(line, sizeof line, "%.*s", (int)strcspn(res.out, "\n"), res.out);
	runnel_tool_result_clear(&res);
	/* "ansible [core 2.14.18]" -> "2.14.18" */
	char *s = strstr(line, "core ");
	s = s ? s + 5 : line;
	size_t n = strcspn(s, "] \n");
	snprintf(ansible_version, sizeof ansible_version, "%.*s", (int)n, s);
}

/* GET /api/v2/config/: versions; for administrators (as AWX) the projects
 * root and the directories a manual project may use. */
static int get_config(api_request *rq, api_response *rs)
{
	pthread_once(&ansible_version_once, read_ansible_version);
	const engine_settings *es = engine_get_settings(rq->eng);
	json_t *o =
	    json_pack("{s:s,s:s,s:s,s:s,s:{},s:b,s:s}", "version", API_PRODUCT_VERSION,
	              "ansible_version", ansible_version, "time_zone", "UTC", "license_type",
	              "open", "license_info", "analytics_status", 0, "eula", "");
	if (json_is_true(json_object_get(rq->user, "is_superuser")) ||
	    json_is_true(json_object_get(rq->user, "is_system_auditor"))) {
		const char *root = es && es->projects_root ? es->projects_root : "";
		json_object_set_new(o, "project_base_dir", json_string(root));
		json_object_set_new(o, "project_local_paths",
		                    project_local_path_choices(rq->st, root, 0));
	}
	return api_json(rs, 200, o);
}

/* GET /api/v2/me/: the caller, as a list of one (as AWX). */
static int get_me(api_request *rq, api_response *rs)
{
	return api_json(
	    rs, 200,
	    json_pack("{s:i,s:n,s:n,s:[O]}", "count", 1, "next", "previous", "results", rq->user));
}

/* True if the caller is a superuser. */
static bool is_superuser(const api_request *rq)
{
	return json_is_true(json_object_get(rq->user, "is_superuser"));
}

/* Create a token for the caller from the body (201). */
static int token_create(api_request *rq, api_response *rs)
{
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	runnel_error err = {0};
	json_t *tok = store_token_create(rq->st, rq->user_id, body, rq->token_expire_seconds, &err);
	json_decref(body);
	if (!tok)
		return api_error(rs, &err);
	api_logf(rq, "token %lld created for user %ld",
	         (long long)json_integer_value(json_object_get(tok, "id")), rq->user_id);
	return api_json(rs, 201, tok);
}

/* GET/POST /api/v2/users/N/personal_tokens/: the caller's own tokens
 * without an application (AWX's UserPersonalTokenList, whose queryset and
 * create are the caller's whatever N is); N must be the caller: another
 * user's list is refused rather than silently answered with the caller's. */
static int personal_tokens(api_request *rq, api_response *rs)
{
	if (rq->ids[0] != rq->user_id) {
		runnel_error err = {0};
		json_t *u = store_get(rq->st, STORE_USER, rq->ids[0], &err);
		if (!u)
			return api_error(rs, &err);
		json_decref(u);
		return api_detail(rs, 403, "You do not have permission to perform this action.");
	}
	if (!strcmp(rq->method, "GET")) {
		json_t *f = json_pack("{s:I,s:b}", "user", (json_int_t)rq->user_id,
		                      "application__isnull", 1);
		api_list_opts o = {.filters = f};
		api_list(rq, rs, STORE_TOKEN, &o);
		json_decref(f);
		return 0;
	}
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	/* the awx CLI's login sends "application": null */
	json_t *app = json_object_get(body, "application");
	bool bad_app = app && !json_is_null(app);
	json_decref(body);
	if (bad_app)
		return api_field_error(rs, "application",
		                       "Personal tokens have no application (use null).");
	if (rq->body && json_is_object(rq->body))
		json_object_del(rq->body, "application");
	return token_create(rq, rs);
}

/* GET/POST /api/v2/tokens/. */
static int tokens(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET")) {
		json_t *f =
		    is_superuser(rq) ? NULL : json_pack("{s:I}", "user", (json_int_t)rq->user_id);
		api_list_opts o = {.filters = f};
		api_list(rq, rs, STORE_TOKEN, &o);
		json_decref(f);
		return 0;
	}
	return token_create(rq, rs);
}

/* The token of the route, if the caller may touch it. NULL: answered. */
static json_t *own_token(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *tok = store_get(rq->st, STORE_TOKEN, rq->ids[0], &err);
	if (!tok) {
		api_error(rs, &err);
		return NULL;
	}
	if (!is_superuser(rq) && json_integer_value(json_object_get(tok, "user")) != rq->user_id) {
		json_decref(tok);
		api_detail(rs, 404, "Not found.");
		return NULL;
	}
	return tok;
}

/* GET/PATCH/DELETE /api/v2/tokens/N/. */
static int token_one(api_request *rq, api_response *rs)
{
	json_t *tok = own_token(rq, rs);
	if (!tok)
		return 0;
	if (!strcmp(rq->method, "GET"))
		return api_json(rs, 200, tok);
	json_decref(tok);
	if (!strcmp(rq->method, "DELETE"))
		return api_delete(rq, rs, STORE_TOKEN, rq->ids[0]);
	return api_update(rq, rs, STORE_TOKEN, rq->ids[0]);
}

/* GET/POST /api/v2/users/. */
static int users(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_list(rq, rs, STORE_USER, NULL);
	/* who may create users (superusers, organization admins): access.c */
	long id = 0;
	api_create(rq, rs, STORE_USER, NULL, &id);
	if (id)
		api_logf(rq, "user %ld created by user %ld", id, rq->user_id);
	return 0;
}

/* GET/PUT/PATCH/DELETE /api/v2/users/N/. */
static int user_one(api_request *rq, api_response *rs)
{
	/* who may change or delete whom (oneself, one's organizations'
	 * users; no escalation): access.c */
	if (!strcmp(rq->method, "GET"))
		return api_get(rq, rs, STORE_USER, rq->ids[0], NULL);
	if (!strcmp(rq->method, "DELETE")) {
		if (rq->ids[0] == rq->user_id)
			return api_detail(rs, 403, "Cannot delete your own user.");
		return api_delete(rq, rs, STORE_USER, rq->ids[0]);
	}
	return api_update(rq, rs, STORE_USER, rq->ids[0]);
}

const api_route api_routes_root[] = {
    {"/api/", get_api, NULL, NULL, NULL, NULL, true},
    {"/api/v2/", get_v2, NULL, NULL, NULL, NULL, true},
    {"/api/v2/ping/", get_ping, NULL, NULL, NULL, NULL, true},
    {"/api/v2/config/", get_config, NULL, NULL, NULL, NULL, false},
    {"/api/v2/me/", get_me, NULL, NULL, NULL, NULL, false},
    {"/api/v2/tokens/", tokens, tokens, NULL, NULL, NULL, false},
    {"/api/v2/tokens/{id}/", token_one, NULL, token_one, token_one, token_one, false},
    {"/api/v2/users/", users, users, NULL, NULL, NULL, false},
    {"/api/v2/users/{id}/", user_one, NULL, user_one, user_one, user_one, false},
    {"/api/v2/users/{id}/personal_tokens/", personal_tokens, personal_tokens, NULL, NULL, NULL,
     false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
