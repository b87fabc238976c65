/*
 * worker_settings.c - the worker's settings as one JSON object
 * (worker_settings.h): one table of keys, used both ways.
 */
#include "worker_settings.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* How a key is held. */
typedef enum ws_type {
	WS_STRING,   /* char *, required */
	WS_OPTIONAL, /* char *, a string or null */
	WS_BOOL,     /* bool */
	WS_INT,      /* int, >= 0 */
	WS_NUMBER,   /* double, >= 0 */
	WS_OBJECT,   /* json_t *, an object of strings, numbers or booleans */
	WS_PATHS,    /* json_t *, an array of absolute paths (empty: none) */
} ws_type;

/* The keys: name, type, where in worker_settings. */
static const struct {
	const char *name;
	ws_type type;
	size_t offset;
} keys[] = {
    {"store", WS_STRING, offsetof(worker_settings, store)},
    {"bus", WS_STRING, offsetof(worker_settings, bus)},
    {"bus_socket", WS_STRING, offsetof(worker_settings, bus_socket)},
    {"redis_url", WS_OPTIONAL, offsetof(worker_settings, redis_url)},
    {"redis_queue", WS_OPTIONAL, offsetof(worker_settings, redis_queue)},
    {"isolation_base_path", WS_STRING, offsetof(worker_settings, isolation_base_path)},
    {"projects_root", WS_STRING, offsetof(worker_settings, projects_root)},
    {"cleanup_paths", WS_BOOL, offsetof(worker_settings, cleanup_paths)},
    {"job_timeout", WS_INT, offsetof(worker_settings, job_timeout)},
    {"idle_timeout", WS_INT, offsetof(worker_settings, idle_timeout)},
    {"cancel_grace_period", WS_NUMBER, offsetof(worker_settings, cancel_grace_period)},
    {"event_stall_timeout", WS_INT, offsetof(worker_settings, event_stall_timeout)},
    {"task_env", WS_OBJECT, offsetof(worker_settings, task_env)},
    {"job_isolation", WS_BOOL, offsetof(worker_settings, job_isolation)},
    {"job_isolation_executable", WS_STRING, offsetof(worker_settings, job_isolation_executable)},
    {"job_isolation_show_paths", WS_PATHS, offsetof(worker_settings, job_isolation_show_paths)},
    {"job_isolation_hide_paths", WS_PATHS, offsetof(worker_settings, job_isolation_hide_paths)},
};
#define NKEYS (sizeof keys / sizeof keys[0])

/* The field of key k in ws. */
static void *slot(const worker_settings *ws, size_t k)
{
	return (char *)ws + keys[k].offset;
}

/* The settings as JSON text. */
char *worker_settings_dump(const worker_settings *ws)
{
	json_t *o = json_object();
	for (size_t k = 0; k < NKEYS; k++) {
		void *p = slot(ws, k);
		json_t *v = NULL;
		switch (keys[k].type) {
		case WS_STRING:
		case WS_OPTIONAL:
			v = *(char **)p ? json_string(*(char **)p) : json_null();
			break;
		case WS_BOOL:
			v = json_boolean(*(bool *)p);
			break;
		case WS_INT:
			v = json_integer(*(int *)p);
			break;
		case WS_NUMBER:
			v = json_real(*(double *)p);
			break;
		case WS_OBJECT:
			v = *(json_t **)p ? json_incref(*(json_t **)p) : json_object();
			break;
		case WS_PATHS:
			v = *(json_t **)p ? json_incref(*(json_t **)p) : json_array();
			break;
		}
		json_object_set_new(o, keys[k].name, v);
	}
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* Read one key's value into its field; 0 or -1 with err. */
static int load_key(worker_settings *ws, size_t k, json_t *v, const char *source, runnel_error *err)
{
	void *p = slot(ws, k);
	const char *name = keys[k].name;
	switch (keys[k].type) {
	case WS_STRING:
		if (!json_is_string(v) || !*json_string_value(v))
			return rn_fail(err, EINVAL, "%s: worker settings (%s): expected a string",
			               name, source);
		*(char **)p = rn_xstrdup(json_string_value(v));
		return 0;
	case WS_OPTIONAL:
		if (!json_is_null(v) && !json_is_string(v))
			return rn_fail(err, EINVAL,
			               "%s: worker settings (%s): expected a string or null", name,
			               source);
		*(char **)p = json_is_string(v) && *json_string_value(v)
		                  ? rn_xstrdup(json_string_value(v))
		                  : NULL;
		return 0;
	case WS_BOOL:
		if (!json_is_boolean(v))
			return rn_fail(err, EINVAL,
			               "%s: worker settings (%s): expected true or false", name,
			               source);
		*(bool *)p = json_is_true(v);
		return 0;
	case WS_INT:
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 0x7fffffff)
			return rn_fail(err, EINVAL,
			               "%s: worker settings (%s): expected a non-negative integer",
			               name, source);
		*(int *)p = (int)json_integer_value(v);
		return 0;
	case WS_NUMBER:
		if (!json_is_number(v) || json_number_value(v) < 0)
			return rn_fail(err, EINVAL,
			               "%s: worker settings (%s): expected a non-negative number",
			               name, source);
		*(double *)p = json_number_value(v);
		return 0;
	case WS_OBJECT: {
		const char *ek;
		json_t *ev;
		bool ok = json_is_object(v);
		if (ok)
			json_object_foreach(v, ek, ev)
				ok = ok && (json_is_string(ev) || json_is_number(ev) ||
				            json_is_boolean(ev));
		if (!ok)
			return rn_fail(err, EINVAL,
			               "%s: worker settings (%s): expected an object of strings",
			               name, source);
		*(json_t **)p = json_incref(v);
		return 0;
	}
	case WS_PATHS: {
		size_t i;
		json_t *ev;
		bool ok = json_is_array(v);
		if (ok)
			json_array_foreach(v, i, ev)
				ok = ok && json_is_string(ev) && json_string_value(ev)[0] == '/';
		if (!ok)
			return rn_fail(
			    err, EINVAL,
			    "%s: worker settings (%s): expected a list of absolute paths", name,
			    source);
		*(json_t **)p = json_incref(v);
		return 0;
	}
	}
	return rn_fail(err, EINVAL, "%s: worker settings (%s): unknown type", name, source);
}

/* Read the settings. */
int worker_settings_load(worker_settings *ws, const char *text, size_t len, const char *source,
                         runnel_error *err)
{
	memset(ws, 0, sizeof *ws);
	json_error_t je;
	json_t *o = json_loadb(text, len, 0, &je);
	if (!json_is_object(o)) {
		json_decref(o);
		return rn_fail(err, EINVAL, "worker settings (%s): not a JSON object: %s", source,
		               o ? "another value" : je.text);
	}
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		size_t i = 0;
		while (i < NKEYS && strcmp(k, keys[i].name))
			i++;
		if (i == NKEYS) {
			rn_fail(err, EINVAL, "%s: worker settings (%s): unknown key", k, source);
			json_decref(o);
			return -1;
		}
	}
	for (size_t i = 0; i < NKEYS; i++) {
		json_t *val = json_object_get(o, keys[i].name);
		int rc = val ? load_key(ws, i, val, source, err)
		             : rn_fail(err, EINVAL, "%s: worker settings (%s): missing",
		                       keys[i].name, source);
		if (rc < 0) {
			json_decref(o);
			worker_settings_clear(ws);
			return -1;
		}
	}
	json_decref(o);
	return 0;
}

/* Free what ws holds. */
void worker_settings_clear(worker_settings *ws)
{
	for (size_t k = 0; k < NKEYS; k++) {
		void *p = slot(ws, k);
		if (keys[k].type == WS_STRING || keys[k].type == WS_OPTIONAL)
			free(*(char **)p);
		else if (keys[k].type == WS_OBJECT || keys[k].type == WS_PATHS)
			json_decref(*(json_t **)p);
	}
	memset(ws, 0, sizeof *ws);
}
