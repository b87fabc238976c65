/*
 * system_settings.c - the table of settings of /api/v2/settings/ and their
 * overrides in the store (system_settings.h).
 */
#include "system_settings.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* AWX's keys (awx/main/conf.py, awx/api/conf.py, awx/settings/defaults.py)
 * that runneld has. Writable ones are the ones a job reads when it starts. */
static const sys_setting table[] = {
    /* system */
    {"ACTIVITY_STREAM_ENABLED", "system", SYS_BOOL, true, false, "Enable Activity Stream",
     "Enable capturing activity for the activity stream."},
    {"ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC", "system", SYS_BOOL, false, false,
     "Enable Activity Stream for Inventory Sync",
     "Enable capturing activity for the activity stream when running inventory sync."},
    {"ORG_ADMINS_CAN_SEE_ALL_USERS", "system", SYS_BOOL, false, false,
     "All Users Visible to Organization Admins",
     "Controls whether any Organization Admin can view all users and teams, even those not "
     "associated with their Organization."},
    {"MANAGE_ORGANIZATION_AUTH", "system", SYS_BOOL, false, false,
     "Organization Admins Can Manage Users and Teams",
     "Controls whether any Organization Admin has the privileges to create and manage users "
     "and teams."},
    {"TOWER_URL_BASE", "system", SYS_STR, false, false, "Base URL of the service",
     "This setting is used by services like notifications to render a valid url to the "
     "service."},
    {"INSTALL_UUID", "system", SYS_STR, false, false, "Unique identifier for an installation",
     NULL},
    {"INSIGHTS_TRACKING_STATE", "system", SYS_BOOL, false, false,
     "Gather data for Automation Analytics", NULL},
    {"PROXY_IP_ALLOWED_LIST", "system", SYS_LIST, false, false, "Proxy IP Allowed List", NULL},
    {"LICENSE", "system", SYS_DICT, false, false, "License", NULL},
    /* jobs */
    {"DEFAULT_JOB_TIMEOUT", "jobs", SYS_INT, true, false, "Default Job Timeout",
     "Maximum time in seconds to allow jobs to run. Use value of 0 to indicate that no timeout "
     "should be imposed. A timeout set on an individual job template will override this."},
    {"DEFAULT_JOB_IDLE_TIMEOUT", "jobs", SYS_INT, false, false, "Default Job Idle Timeout",
     "If no output is detected from ansible in this number of seconds the execution will be "
     "terminated. Use value of 0 to indicate that no idle timeout should be imposed."},
    {"AWX_CLEANUP_PATHS", "jobs", SYS_BOOL, true, false, "Enable detailed resource profiling",
     "Remove the private data directory of a job when it ends."},
    {"AWX_ISOLATION_BASE_PATH", "jobs", SYS_STR, false, false, "Job execution path",
     "The directory in which the service will create new temporary directories for job "
     "execution and isolation (such as credential files)."},
    {"AWX_ISOLATION_SHOW_PATHS", "jobs", SYS_LIST, true, false, "Paths to expose to isolated jobs",
     "List of paths that would otherwise be hidden to expose to isolated jobs. Enter one path "
     "per line."},
    {"AWX_TASK_ENV", "jobs", SYS_DICT, true, false, "Extra Environment Variables",
     "Additional environment variables set for playbook runs, inventory updates, project "
     "updates, and notification sending."},
    {"PROJECTS_ROOT", "jobs", SYS_STR, false, false, "Projects root", NULL},
    {"AD_HOC_COMMANDS", "jobs", SYS_LIST, false, false, "Ansible Modules Allowed for Ad Hoc Jobs",
     "List of modules allowed to be used by ad-hoc jobs."},
    {"MAX_FORKS", "jobs", SYS_INT, false, false, "Maximum number of forks per job",
     "Saving a Job Template with more than this number of forks will result in an error. When "
     "set to 0, no limit is applied."},
    /* authentication */
    {"SESSION_COOKIE_AGE", "authentication", SYS_INT, false, false, "Idle Time Force Log Out",
     "Number of seconds that a user is inactive before they will need to login again."},
    {"SESSIONS_PER_USER", "authentication", SYS_INT, false, false,
     "Maximum number of simultaneous logged in sessions", NULL},
    {"AUTH_BASIC_ENABLED", "authentication", SYS_BOOL, false, false, "Enable HTTP Basic Auth",
     "Enable HTTP Basic Auth for the API Browser."},
    {"OAUTH2_PROVIDER", "authentication", SYS_DICT, false, false, "OAuth 2 Timeout Settings", NULL},
    {"ALLOW_OAUTH2_FOR_EXTERNAL_USERS", "authentication", SYS_BOOL, false, false,
     "Allow External Users to Create OAuth2 Tokens", NULL},
    {NULL, NULL, SYS_STR, false, false, NULL, NULL},
};

const sys_setting *sys_settings(void)
{
	return table;
}

const sys_setting *sys_setting_find(const char *key)
{
	for (const sys_setting *s = table; key && s->key; s++)
		if (!strcmp(s->key, key))
			return s;
	return NULL;
}

/* True if a is b or a directory above it (by path components). */
static bool covers(const char *a, const char *b)
{
	if (!a || !b || !*b)
		return false;
	size_t n = strlen(a);
	while (n > 1 && a[n - 1] == '/')
		n--;
	if (n == 1 && a[0] == '/')
		return true;
	return !strncmp(a, b, n) && (b[n] == '\0' || b[n] == '/');
}

int sys_setting_check(const sys_setting *s, const json_t *v, const char *state_dir,
                      const char *projects_root, runnel_error *err)
{
	switch (s->type) {
	case SYS_INT:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 2147483647)
			return rn_fail(err, EINVAL, "%s: A valid integer is required.", s->key);
		break;
	case SYS_BOOL:
		if (!json_is_boolean(v))
			return rn_fail(err, EINVAL, "%s: Must be a valid boolean.", s->key);
		break;
	case SYS_STR:
		if (!json_is_string(v))
			return rn_fail(err, EINVAL, "%s: Not a valid string.", s->key);
		break;
	case SYS_LIST:
		if (!json_is_array(v))
			return rn_fail(err, EINVAL,
			               "%s: Expected a list of items but got type \"%s\".", s->key,
			               json_is_object(v) ? "dict" : "str");
		break;
	case SYS_DICT:
		if (!json_is_object(v))
			return rn_fail(err, EINVAL, "%s: Expected a dictionary of items.", s->key);
		break;
	}
	if (!strcmp(s->key, "AWX_ISOLATION_SHOW_PATHS")) {
		size_t i;
		json_t *p;
		json_array_foreach(v, i, p) {
			const char *path = json_string_value(p);
			if (!path || path[0] != '/' || strstr(path, "/.."))
				return rn_fail(err, EINVAL, "%s: %s is not an absolute path.",
				               s->key, path ? path : "an item");
			/* runneld's own files stay hidden from jobs */
			if (covers(path, state_dir) || covers(state_dir, path) ||
			    covers(path, projects_root) || covers(projects_root, path))
				return rn_fail(
				    err, EINVAL,
				    "%s: %s would show runneld's state or projects to jobs.",
				    s->key, path);
		}
	}
	if (!strcmp(s->key, "AWX_TASK_ENV")) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
			if (!json_is_string(x) || !*k || strchr(k, '='))
				return rn_fail(
				    err, EINVAL,
				    "%s: %s: the value must be a string (and the name hold "
				    "no \"=\").",
				    s->key, k);
	}
	return 0;
}

json_t *sys_settings_stored(store *st, runnel_error *err)
{
	json_t *out = json_object();
	for (long page = 1;; page++) {
		store_query q = {.page = page, .page_size = 200, .order_by = "id"};
		store_page p = {0};
		if (store_list(st, STORE_SETTING, &q, &p, err) < 0) {
			json_decref(out);
			return NULL;
		}
		size_t i;
		json_t *o;
		json_array_foreach(p.results, i, o) {
			const char *key = json_string_value(json_object_get(o, "name"));
			const char *text = json_string_value(json_object_get(o, "value"));
			json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
			if (key && v && sys_setting_find(key))
				json_object_set_new(out, key, v);
			else
				json_decref(v);
		}
		long n = p.count;
		store_page_clear(&p);
		if (page * 200 >= n)
			break;
	}
	return out;
}

int sys_settings_overlay(store *st, worker_settings *ws, runnel_error *err)
{
	json_t *set = sys_settings_stored(st, err);
	if (!set)
		return -1;
	json_t *v;
	if ((v = json_object_get(set, "DEFAULT_JOB_TIMEOUT")) && json_is_integer(v))
		ws->job_timeout = (int)json_integer_value(v);
	if ((v = json_object_get(set, "AWX_CLEANUP_PATHS")) && json_is_boolean(v))
		ws->cleanup_paths = json_is_true(v);
	if ((v = json_object_get(set, "AWX_ISOLATION_SHOW_PATHS")) && json_is_array(v)) {
		json_decref(ws->job_isolation_show_paths);
		ws->job_isolation_show_paths = json_incref(v);
	}
	if ((v = json_object_get(set, "AWX_TASK_ENV")) && json_is_object(v)) {
		json_decref(ws->task_env);
		ws->task_env = json_incref(v);
	}
	json_decref(set);
	return 0;
}
