/*
 * settings.c - /api/v2/settings/: AWX's settings categories (awx/conf/views.py
 * SettingCategoryList, SettingSingletonDetail) over the table of
 * system_settings.h. A value is the one changed through here (a row of the
 * store) or else runneld's own setting (its config file, environment or
 * flags). Only the keys runneld honours may change; the workers read them
 * when a job starts.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "system_settings.h"

/* The categories, as AWX lists them (slug, name). */
static const char *const categories[][2] = {
    {"all", "All"},
    {"changed", "Changed"},
    {"system", "System"},
    {"jobs", "Jobs"},
    {"authentication", "Authentication"},
};
#define NCATEGORIES (sizeof categories / sizeof categories[0])

/* May the caller change settings? AWX's SettingSingletonDetail takes
 * permission_classes (IsSystemAdminOrAuditor,): superusers write, system
 * auditors read; everyone else neither (awx/api/permissions.py). */
static bool settings_may(const api_request *rq, bool write)
{
	if (json_is_true(json_object_get(rq->user, "is_superuser")))
		return true;
	return !write && json_is_true(json_object_get(rq->user, "is_system_auditor"));
}

/* The slug of the category a request's path names ("/api/v2/settings/jobs/"
 * -> "jobs"), or NULL. */
static const char *category_of(const api_request *rq)
{
	const char *p = rq->path + strlen("/api/v2/settings/");
	for (size_t i = 0; i < NCATEGORIES; i++) {
		size_t n = strlen(categories[i][0]);
		if (!strncmp(p, categories[i][0], n) && (p[n] == '\0' || !strcmp(p + n, "/")))
			return categories[i][0];
	}
	return NULL;
}

/* A JSON text of runneld's settings as a value, or fallback (stolen). */
static json_t *parsed(const char *text, json_t *fallback)
{
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	if (!v)
		return fallback;
	json_decref(fallback);
	return v;
}

/* The modules ad hoc commands may run (the choices of module_name). */
static json_t *ad_hoc_modules(void)
{
	json_t *list = json_array();
	for (const model_field *f = model_ad_hoc_fields(); f->name; f++) {
		if (strcmp(f->name, "module_name") || !f->choices)
			continue;
		json_t *c = json_loads(f->choices, 0, NULL);
		size_t i;
		json_t *pair;
		json_array_foreach(c, i, pair)
			json_array_append(list, json_array_get(pair, 0));
		json_decref(c);
	}
	return list;
}

/* runneld's own value of key (before any change through the API). */
static json_t *own_value(api_request *rq, const char *key)
{
	const engine_settings *es = engine_get_settings(rq->eng);
	if (!strcmp(key, "ACTIVITY_STREAM_ENABLED") ||
	    !strcmp(key, "ORG_ADMINS_CAN_SEE_ALL_USERS") ||
	    !strcmp(key, "MANAGE_ORGANIZATION_AUTH") || !strcmp(key, "AUTH_BASIC_ENABLED"))
		return json_true();
	if (!strcmp(key, "TOWER_URL_BASE")) {
		const char *host = rq->header ? rq->header(rq, "Host") : NULL;
		return json_sprintf("http://%s", host ? host : "127.0.0.1");
	}
	if (!strcmp(key, "INSTALL_UUID"))
		return json_string("00000000-0000-4000-8000-000000000000");
	if (!strcmp(key, "PROXY_IP_ALLOWED_LIST"))
		return json_array();
	if (!strcmp(key, "AWX_ISOLATION_SHOW_PATHS"))
		return parsed(es->job_isolation_show_paths, json_array());
	if (!strcmp(key, "LICENSE"))
		return json_object();
	if (!strcmp(key, "DEFAULT_JOB_TIMEOUT"))
		return json_integer(es->default_job_timeout);
	if (!strcmp(key, "DEFAULT_JOB_IDLE_TIMEOUT"))
		return json_integer(es->default_idle_timeout);
	if (!strcmp(key, "AWX_CLEANUP_PATHS"))
		return json_boolean(!es->cleanup_paths || strcmp(es->cleanup_paths, "false"));
	if (!strcmp(key, "AWX_ISOLATION_BASE_PATH"))
		return json_string(es->isolation_base_path ? es->isolation_base_path : "");
	if (!strcmp(key, "AWX_TASK_ENV"))
		return parsed(es->task_env, json_object());
	if (!strcmp(key, "PROJECTS_ROOT"))
		return json_string(es->projects_root ? es->projects_root : "");
	if (!strcmp(key, "AD_HOC_COMMANDS"))
		return ad_hoc_modules();
	if (!strcmp(key, "MAX_FORKS"))
		return json_integer(200);
	if (!strcmp(key, "SESSION_COOKIE_AGE"))
		return json_integer(api_sessions_idle(rq->sessions));
	if (!strcmp(key, "SESSIONS_PER_USER"))
		return json_integer(-1);
	if (!strcmp(key, "OAUTH2_PROVIDER"))
		return json_pack("{s:I,s:I,s:I}", "ACCESS_TOKEN_EXPIRE_SECONDS",
		                 (json_int_t)(rq->token_expire_seconds > 0
		                                  ? rq->token_expire_seconds
		                                  : MODEL_TOKEN_EXPIRE_SECONDS),
		                 "AUTHORIZATION_CODE_EXPIRE_SECONDS", (json_int_t)600,
		                 "REFRESH_TOKEN_EXPIRE_SECONDS", (json_int_t)2628000);
	return json_false(); /* the other booleans of the table */
}

/* The category's settings as AWX answers them: {KEY: value}; changed: only
 * those changed through the API. NULL with the error in rs. */
static json_t *category_values(api_request *rq, api_response *rs, const char *slug)
{
	runnel_error err = {0};
	json_t *stored = sys_settings_stored(rq->st, &err);
	if (!stored) {
		api_error(rs, &err);
		return NULL;
	}
	json_t *out = json_object();
	for (const sys_setting *s = sys_settings(); s->key; s++) {
		bool all = !strcmp(slug, "all");
		bool changed = !strcmp(slug, "changed");
		if (!all && !changed && strcmp(slug, s->category))
			continue;
		json_t *v = json_object_get(stored, s->key);
		if (changed && !v)
			continue;
		json_t *val = v ? json_incref(v) : own_value(rq, s->key);
		if (s->secret && json_is_string(val) && *json_string_value(val)) {
			json_decref(val);
			val = json_string("$encrypted$");
		}
		json_object_set_new(out, s->key, val);
	}
	json_decref(stored);
	return out;
}

/* GET /api/v2/settings/: the categories. */
static int settings_list(api_request *rq, api_response *rs)
{
	if (!settings_may(rq, false))
		return api_detail(rs, 403, "You do not have permission to perform this action.");
	json_t *results = json_array();
	for (size_t i = 0; i < NCATEGORIES; i++)
		json_array_append_new(results,
		                      json_pack("{s:s+,s:s,s:s}", "url", "/api/v2/settings/",
		                                categories[i][0], "slug", categories[i][0], "name",
		                                categories[i][1]));
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		json_t *u = json_sprintf("%s/", json_string_value(json_object_get(r, "url")));
		json_object_set_new(r, "url", u);
	}
	return api_json(rs, 200,
	                json_pack("{s:I,s:n,s:n,s:o}", "count", (json_int_t)NCATEGORIES, "next",
	                          "previous", "results", results));
}

/* The row of key in the store (its id, 0 if none); -1 on a store error. */
static long setting_row(api_request *rq, const char *key, runnel_error *err)
{
	json_t *f = json_pack("{s:s}", "name", key);
	store_query q = {.filters = f, .page = 1, .page_size = 1};
	store_page p = {0};
	int rc = store_list(rq->st, STORE_SETTING, &q, &p, err);
	json_decref(f);
	long id =
	    rc < 0 ? -1
	           : (long)json_integer_value(json_object_get(json_array_get(p.results, 0), "id"));
	store_page_clear(&p);
	return id;
}

/* Store value as key's (new row or the row's update), recorded in the
 * activity stream with the value it had. 0, or -1 with err. */
static int setting_save(api_request *rq, const sys_setting *s, json_t *value, runnel_error *err)
{
	long id = setting_row(rq, s->key, err);
	if (id < 0)
		return -1;
	json_t *stored = sys_settings_stored(rq->st, err);
	if (!stored)
		return -1;
	json_t *old = json_object_get(stored, s->key);
	json_t *was = old ? json_incref(old) : own_value(rq, s->key);
	json_t *before = json_pack("{s:o}", s->key, was);
	json_decref(stored);
	char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
	json_t *f = json_pack("{s:s,s:s}", "name", s->key, "value", text);
	free(text);
	json_t *o = id ? store_update(rq->st, STORE_SETTING, id, f, STORE_SYSTEM, err)
	               : store_create(rq->st, STORE_SETTING, f, STORE_SYSTEM, err);
	json_decref(f);
	if (!o) {
		json_decref(before);
		return -1;
	}
	long rid = (long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	json_t *after = json_pack("{s:O}", s->key, value);
	api_activity_record(rq, "update", STORE_SETTING, rid, before, after, NULL, STORE_KIND_COUNT,
	                    0, s->key);
	json_decref(before);
	json_decref(after);
	return 0;
}

/* PUT/PATCH: check every key first (one 400 names the first at fault),
 * then store them. */
static int settings_write(api_request *rq, api_response *rs, const char *slug)
{
	if (!settings_may(rq, true))
		return api_detail(rs, 403, "You do not have permission to perform this action.");
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	const engine_settings *es = engine_get_settings(rq->eng);
	const char *key;
	json_t *v;
	runnel_error err = {0};
	json_object_foreach(body, key, v) {
		const sys_setting *s = sys_setting_find(key);
		bool here = s && (!strcmp(slug, "all") || !strcmp(slug, s->category));
		if (!here) {
			json_decref(body);
			return api_field_error(
			    rs, key, "Not a setting of the %s category in runneld.", slug);
		}
		if (!s->writable) {
			json_t *own = own_value(rq, key);
			bool same = json_equal(own, v);
			json_decref(own);
			if (same)
				continue; /* what it is already: a client sending the whole category
				           */
			json_decref(body);
			return api_field_error(rs, key,
			                       "This setting is read-only in runneld (set by its "
			                       "configuration).");
		}
		if (sys_setting_check(s, v, es->state_dir, es->projects_root, &err) < 0) {
			json_decref(body);
			return api_error(rs, &err);
		}
	}
	pthread_mutex_lock(rq->write_mu);
	int rc = 0;
	json_object_foreach(body, key, v) {
		const sys_setting *s = sys_setting_find(key);
		if (s->writable && (rc = setting_save(rq, s, v, &err)) < 0)
			break;
	}
	pthread_mutex_unlock(rq->write_mu);
	json_decref(body);
	if (rc < 0)
		return api_error(rs, &err);
	api_logf(rq, "settings/%s/ changed by user %ld", slug, rq->user_id);
	json_t *out = category_values(rq, rs, slug);
	return out ? api_json(rs, 200, out) : 0;
}

/* DELETE: the category's changed settings go back to runneld's own. */
static int settings_reset(api_request *rq, api_response *rs, const char *slug)
{
	if (!settings_may(rq, true))
		return api_detail(rs, 403, "You do not have permission to perform this action.");
	runnel_error err = {0};
	int rc = 0;
	pthread_mutex_lock(rq->write_mu);
	for (const sys_setting *s = sys_settings(); s->key && rc == 0; s++) {
		if (strcmp(slug, "all") && strcmp(slug, "changed") && strcmp(slug, s->category))
			continue;
		long id = setting_row(rq, s->key, &err);
		if (id < 0) {
			rc = -1;
		} else if (id > 0) {
			rc = store_remove(rq->st, STORE_SETTING, id, &err);
			if (rc == 0) {
				json_t *before = json_pack("{s:s}", "name", s->key);
				api_activity_record(rq, "delete", STORE_SETTING, id, before, NULL,
				                    NULL, STORE_KIND_COUNT, 0, s->key);
				json_decref(before);
			}
		}
	}
	pthread_mutex_unlock(rq->write_mu);
	if (rc < 0)
		return api_error(rs, &err);
	rs->status = 204;
	return 0;
}

/* GET/PUT/PATCH/DELETE /api/v2/settings/<slug>/ */
static int settings_one(api_request *rq, api_response *rs)
{
	const char *slug = category_of(rq);
	if (!slug)
		return api_detail(rs, 404, "Not found.");
	if (!strcmp(rq->method, "DELETE"))
		return settings_reset(rq, rs, slug);
	if (strcmp(rq->method, "GET")) {
		if (!strcmp(slug, "changed"))
			return api_not_allowed(rs, rq->method);
		return settings_write(rq, rs, slug);
	}
	if (!settings_may(rq, false))
		return api_detail(rs, 403, "You do not have permission to perform this action.");
	json_t *out = category_values(rq, rs, slug);
	return out ? api_json(rs, 200, out) : 0;
}

/* A key as AWX's OPTIONS describes a setting field. */
static json_t *field_meta(api_request *rq, const sys_setting *s, bool with_default)
{
	static const char *const types[] = {[SYS_INT] = "integer",
	                                    [SYS_BOOL] = "boolean",
	                                    [SYS_STR] = "string",
	                                    [SYS_LIST] = "list",
	                                    [SYS_DICT] = "nested object"};
	json_t *m =
	    json_pack("{s:s,s:b,s:s,s:s,s:s}", "type", types[s->type], "required", 0, "label",
	              s->label, "category", s->category, "category_slug", s->category);
	if (s->help)
		json_object_set_new(m, "help_text", json_string(s->help));
	if (!s->writable)
		json_object_set_new(m, "read_only", json_true());
	if (with_default)
		json_object_set_new(m, "default", own_value(rq, s->key));
	return m;
}

int api_settings_options(api_request *rq, api_response *rs)
{
	const char *slug = category_of(rq);
	json_t *o =
	    json_pack("{s:s,s:s,s:[s,s],s:[s]}", "name",
	              slug ? "Setting Detail" : "Setting Categories", "description", "", "renders",
	              "application/json", "text/html", "parses", "application/json");
	if (!slug || !settings_may(rq, false))
		return api_json(rs, 200, o);
	json_t *get = json_object(), *put = json_object();
	bool write = strcmp(slug, "changed") && settings_may(rq, true);
	for (const sys_setting *s = sys_settings(); s->key; s++) {
		if (strcmp(slug, "all") && strcmp(slug, "changed") && strcmp(slug, s->category))
			continue;
		json_object_set_new(get, s->key, field_meta(rq, s, false));
		if (write && s->writable)
			json_object_set_new(put, s->key, field_meta(rq, s, true));
	}
	json_t *actions = json_pack("{s:o}", "GET", get);
	if (write)
		json_object_set_new(actions, "PUT", put);
	else
		json_decref(put);
	json_object_set_new(o, "actions", actions);
	return api_json(rs, 200, o);
}

const api_route api_routes_settings[] = {
    {"/api/v2/settings/", settings_list, NULL, NULL, NULL, NULL, false},
    {"/api/v2/settings/all/", settings_one, NULL, settings_one, settings_one, settings_one, false},
    {"/api/v2/settings/changed/", settings_one, NULL, NULL, NULL, settings_one, false},
    {"/api/v2/settings/system/", settings_one, NULL, settings_one, settings_one, settings_one,
     false},
    {"/api/v2/settings/jobs/", settings_one, NULL, settings_one, settings_one, settings_one, false},
    {"/api/v2/settings/authentication/", settings_one, NULL, settings_one, settings_one,
     settings_one, false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
