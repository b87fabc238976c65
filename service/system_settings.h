/*
 * system_settings.h - the settings a superuser may read and change at
 * /api/v2/settings/ (AWX's awx/conf registry, for the keys runneld has):
 * one table of keys, their category, type and whether runneld honours a
 * change. A change is a row of the store (STORE_SETTING: name the key,
 * value its JSON text); the workers read them when a job starts
 * (sys_settings_overlay), so a change takes effect with the next job,
 * without a restart.
 */
#ifndef RUNNELD_SYSTEM_SETTINGS_H
#define RUNNELD_SYSTEM_SETTINGS_H

#include <stdbool.h>
#include <jansson.h>

#include "runnel.h"
#include "store.h"
#include "worker_settings.h"

typedef enum sys_setting_type {
	SYS_INT,  /* integer >= 0 */
	SYS_BOOL, /* boolean */
	SYS_STR,  /* string */
	SYS_LIST, /* JSON array */
	SYS_DICT, /* JSON object */
} sys_setting_type;

/* One key. */
typedef struct sys_setting {
	const char *key;      /* AWX's name: "DEFAULT_JOB_TIMEOUT" */
	const char *category; /* "system", "jobs" or "authentication" */
	sys_setting_type type;
	bool writable; /* runneld honours a change (else read-only: says so) */
	bool secret;   /* shown "$encrypted$" when set */
	const char *label;
	const char *help;
} sys_setting;

/* The table (NULL-key terminated). */
const sys_setting *sys_settings(void);
/* A key, or NULL. */
const sys_setting *sys_setting_find(const char *key);
/* Check a new value of s: its type, and its rules (show paths: absolute,
 * never the state dir, the projects root or a directory holding them).
 * 0, or -1 with EINVAL "<KEY>: <reason>". */
int sys_setting_check(const sys_setting *s, const json_t *value, const char *state_dir,
                      const char *projects_root, runnel_error *err);
/* The values changed through the API: {key: value} (a new object; keys
 * not in the table are left out), or NULL with err. */
json_t *sys_settings_stored(store *st, runnel_error *err);
/* Apply the changed job settings (DEFAULT_JOB_TIMEOUT, AWX_CLEANUP_PATHS,
 * AWX_ISOLATION_SHOW_PATHS, AWX_TASK_ENV) over ws. 0, or -1 with err (ws
 * then unchanged). */
int sys_settings_overlay(store *st, worker_settings *ws, runnel_error *err);

#endif
