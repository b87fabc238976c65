/*
 * config.h - runneld's settings: one table of names, each settable from a
 * config file (`key = value` lines, or a JSON object), the environment
 * (RUNNELD_<KEY>, plus AWX's AWX_CLEANUP_PATHS and AWX_ISOLATION_BASE_PATH)
 * and flags (--key VALUE or --key=VALUE, dashes or underscores), in that
 * order of precedence, lowest first.
 */
#ifndef RUNNELD_CONFIG_H
#define RUNNELD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "runnel.h"

/* The settings, by index in the table (config.c: config_keys). */
typedef enum config_key {
	CFG_LISTEN,
	CFG_STATE_DIR,
	CFG_ISOLATION_BASE_PATH,
	CFG_CLEANUP_PATHS,
	CFG_CAPACITY,
	CFG_JOB_TIMEOUT,
	CFG_IDLE_TIMEOUT,
	CFG_BUS,
	CFG_REDIS_QUEUE,
	CFG_STORE,
	CFG_PROJECTS_ROOT,
	CFG_MAX_BODY,
	CFG_MAX_CONNECTIONS,
	CFG_WEB_DIR,
	CFG_RECEIVER_BATCH,
	CFG_RECEIVER_FLUSH_MS,
	CFG_CANCEL_GRACE_PERIOD,
	CFG_SHUTDOWN_GRACE,
	CFG_WORKER_PATH,
	CFG_TOKEN_EXPIRE_SECONDS,
	CFG_EVENT_STALL_TIMEOUT,
	CFG_TASK_ENV,
	CFG_SESSION_COOKIE_AGE,
	CFG_COUNT
} config_key;

/* The values, all as strings (NULL: not set). */
typedef struct config {
	char *values[CFG_COUNT];
	char *config_file;
	bool help;
	bool version;
} config;

/* Fill cfg from defaults, the config file (from --config or
 * RUNNELD_CONFIG), the environment and argv. 0, or -1 with err (an
 * unknown key, a flag without its value, an unreadable file). */
int config_load(config *cfg, int argc, char **argv, runnel_error *err);
/* Free what cfg holds. */
void config_free(config *cfg);
/* A value (NULL if unset). */
const char *config_get(const config *cfg, config_key key);
/* A value as an integer (def when unset); -1 with err when not a number. */
int config_int(const config *cfg, config_key key, long def, long *out, runnel_error *err);
/* A value as a number (def when unset); -1 with err when not a number. */
int config_double(const config *cfg, config_key key, double def, double *out, runnel_error *err);
/* The name of a key ("state_dir"). */
const char *config_name(config_key key);
/* Print the usage (every key, its flag, environment name and help). */
void config_usage(FILE *out);

#endif
