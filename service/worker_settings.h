/*
 * worker_settings.h - what a runneld-worker needs to know of runneld's
 * settings, as ONE serialized object: the engine writes it once (from its
 * settings, whose defaults are config.c's table), the dispatcher hands it to
 * each worker on its stdin (a sealed memfd: never on a command line, since
 * task_env may hold a proxy's password), the worker reads it back. Every key
 * is required: the worker has no defaults of its own.
 *
 *   {"store": "sqlite", "bus": "local", "bus_socket": "/var/lib/runneld/bus.sock",
 *    "redis_url": null, "redis_queue": null, "isolation_base_path": "/tmp",
 *    "projects_root": "/var/lib/runneld/projects", "cleanup_paths": true,
 *    "job_timeout": 0, "idle_timeout": 0, "cancel_grace_period": 0.5,
 *    "event_stall_timeout": 120, "task_env": {}, "job_isolation": true,
 *    "job_isolation_executable": "bwrap", "job_isolation_show_paths": [],
 *    "job_isolation_hide_paths": ["/etc/runneld.conf"]}
 *
 * The names are config.c's where a setting has one.
 */
#ifndef RUNNELD_WORKER_SETTINGS_H
#define RUNNELD_WORKER_SETTINGS_H

#include <stdbool.h>
#include <jansson.h>

#include "runnel.h"

typedef struct worker_settings {
	char *store;                    /* store backend ("sqlite") */
	char *bus;                      /* bus backend: "local" or "redis" */
	char *bus_socket;               /* the local bus's socket */
	char *redis_url;                /* redis bus: its URL, or NULL (the bus's default) */
	char *redis_queue;              /* redis bus: its list, or NULL (the bus's default) */
	char *isolation_base_path;      /* parent of the private data dirs */
	char *projects_root;            /* where projects live */
	bool cleanup_paths;             /* remove the private data dir at the end */
	int job_timeout;                /* seconds; 0: none (a job's own timeout wins) */
	int idle_timeout;               /* seconds without output; 0: none */
	double cancel_grace_period;     /* seconds from SIGTERM to SIGKILL of ansible */
	int event_stall_timeout;        /* seconds events may make no progress */
	json_t *task_env;               /* object: variables every job gets (AWX_TASK_ENV) */
	bool job_isolation;             /* every job's ansible runs under bubblewrap (sandbox.h) */
	char *job_isolation_executable; /* the bubblewrap program */
	json_t *job_isolation_show_paths; /* array: paths jobs also see, read-write */
	json_t *job_isolation_hide_paths; /* array: paths hidden besides runneld's own */
} worker_settings;

/* The settings as one JSON text (compact). Caller frees. */
char *worker_settings_dump(const worker_settings *ws);

/* Read settings from JSON text; source names where it came from in errors.
 * Fills ws (free with worker_settings_clear). 0, or -1 with err naming the
 * key at fault (missing, wrong type) and the source. */
int worker_settings_load(worker_settings *ws, const char *text, size_t len, const char *source,
                         runnel_error *err);

/* Free what ws holds and zero it. */
void worker_settings_clear(worker_settings *ws);

#endif
