/*
 * config.c - runneld's settings (see config.h): the table of keys is the
 * single place that names them, for the file, the environment and flags.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"

/* One setting: its name, default and help. */
typedef struct config_def {
	const char *name;
	const char *def;
	const char *help;
} config_def;

static const config_def config_keys[CFG_COUNT] = {
    [CFG_LISTEN] = {"listen", "127.0.0.1:8052",
                    "ADDR:PORT of the HTTP API (port 0: any free port)"},
    [CFG_STATE_DIR] = {"state_dir", "/var/lib/runneld",
                       "where the store, keys, bus socket and projects live"},
    [CFG_ISOLATION_BASE_PATH] = {"isolation_base_path", "/tmp",
                                 "parent of the jobs' private data dirs"},
    [CFG_CLEANUP_PATHS] =
        {"cleanup_paths", NULL,
         "remove private data dirs after each job (true/false; AWX_CLEANUP_PATHS)"},
    [CFG_CAPACITY] = {"capacity", "8", "jobs running at once"},
    [CFG_JOB_TIMEOUT] = {"job_timeout", "0", "default job timeout in seconds (0: none)"},
    [CFG_IDLE_TIMEOUT] = {"idle_timeout", "0",
                          "seconds without output before a job is stopped (0: none)"},
    [CFG_BUS] = {"bus", "local", "event bus: local, or redis://HOST:PORT"},
    [CFG_REDIS_QUEUE] = {"redis_queue", "callback_tasks", "the Redis list of the bus"},
    [CFG_STORE] = {"store", "sqlite", "store backend"},
    [CFG_PROJECTS_ROOT] = {"projects_root", NULL,
                           "where projects are checked out (default STATE_DIR/projects)"},
    [CFG_MAX_BODY] = {"max_body", "1048576", "largest request body in bytes (larger: 413)"},
    [CFG_MAX_CONNECTIONS] = {"max_connections", "64", "HTTP connections at once"},
    [CFG_WEB_DIR] = {"web_dir", RUNNELD_WEB_DIR, "the web page's files"},
    [CFG_RECEIVER_BATCH] = {"receiver_batch", "1000",
                            "events per store batch of the callback receiver"},
    [CFG_RECEIVER_FLUSH_MS] = {"receiver_flush_ms", "1000",
                               "longest wait before the receiver flushes"},
    [CFG_CANCEL_GRACE_PERIOD] = {"cancel_grace_period", "0.5",
                                 "seconds from SIGTERM to SIGKILL of a canceled ansible"},
    [CFG_SHUTDOWN_GRACE] = {"shutdown_grace", "5",
                            "seconds runneld waits for its jobs to end on SIGTERM"},
    [CFG_WORKER_PATH] = {"worker_path", NULL,
                         "the runneld-worker program (default: next to runneld)"},
    [CFG_TOKEN_EXPIRE_SECONDS] =
        {"token_expire_seconds", "31536000000",
         "lifetime of a new API token (AWX's ACCESS_TOKEN_EXPIRE_SECONDS)"},
    [CFG_EVENT_STALL_TIMEOUT] =
        {"event_stall_timeout", "120",
         "seconds a job's events may make no progress (bus down, store failing) "
         "before the job ends error saying how many are missing"},
    [CFG_TASK_ENV] = {"task_env", NULL,
                      "JSON object: variables every job's environment gets (AWX_TASK_ENV)"},
    [CFG_SESSION_COOKIE_AGE] = {"session_cookie_age", "1800",
                                "seconds a login session (POST /api/login/) lives unused "
                                "(AWX's SESSION_COOKIE_AGE)"},
};

/* The key named name (dashes or underscores), or -1. */
static int key_of(const char *name, size_t len)
{
	for (int k = 0; k < CFG_COUNT; k++) {
		const char *n = config_keys[k].name;
		if (strlen(n) != len)
			continue;
		size_t i = 0;
		for (; i < len; i++)
			if (!(n[i] == name[i] || (n[i] == '_' && name[i] == '-')))
				break;
		if (i == len)
			return k;
	}
	return -1;
}

/* Set a value (a copy). */
static void set_value(config *cfg, int key, const char *value)
{
	free(cfg->values[key]);
	cfg->values[key] = value ? rn_xstrdup(value) : NULL;
}

/* Trim spaces at both ends of s in place; returns the start. */
static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Read a config file: a JSON object, or key = value lines (# comments). */
static int load_file(config *cfg, const char *path, runnel_error *err)
{
	size_t len;
	char *text = rn_read_file(path, &len, err);
	if (!text)
		return rn_fail(err, err->code, "config: cannot read %s: %s", path, err->message);
	char *start = trim(text);
	if (*start == '{') {
		json_error_t je;
		json_t *o = json_loads(start, 0, &je);
		if (!json_is_object(o)) {
			json_decref(o);
			free(text);
			return rn_fail(err, EINVAL, "config: %s: %s (line %d)", path, je.text,
			               je.line);
		}
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v) {
			int key = key_of(k, strlen(k));
			if (key < 0) {
				rn_fail(err, EINVAL, "config: %s: unknown setting \"%s\"", path, k);
				json_decref(o);
				free(text);
				return -1;
			}
			if (json_is_string(v)) {
				set_value(cfg, key, json_string_value(v));
			} else {
				char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
				set_value(cfg, key, s);
				free(s);
			}
		}
		json_decref(o);
		free(text);
		return 0;
	}
	int lineno = 0;
	for (char *line = start, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *l = trim(line);
		if (!*l || *l == '#' || *l == ';' || *l == '[')
			continue;
		char *eq = strchr(l, '=');
		if (!eq) {
			rn_fail(err, EINVAL, "config: %s:%d: expected key = value", path, lineno);
			free(text);
			return -1;
		}
		*eq = '\0';
		char *k = trim(l), *v = trim(eq + 1);
		size_t vn = strlen(v);
		if (vn >= 2 &&
		    ((v[0] == '"' && v[vn - 1] == '"') || (v[0] == '\'' && v[vn - 1] == '\''))) {
			v[vn - 1] = '\0';
			v++;
		}
		int key = key_of(k, strlen(k));
		if (key < 0) {
			rn_fail(err, EINVAL, "config: %s:%d: unknown setting \"%s\"", path, lineno,
			        k);
			free(text);
			return -1;
		}
		set_value(cfg, key, v);
	}
	free(text);
	return 0;
}

/* Fill cfg from everything, in order of precedence. */
int config_load(config *cfg, int argc, char **argv, runnel_error *err)
{
	memset(cfg, 0, sizeof *cfg);
	for (int k = 0; k < CFG_COUNT; k++)
		set_value(cfg, k, config_keys[k].def);
	/* the config file first: it is the lowest layer but --config names it */
	const char *file = getenv("RUNNELD_CONFIG");
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			file = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			file = argv[i] + 9;
	}
	if (file) {
		cfg->config_file = rn_xstrdup(file);
		if (load_file(cfg, file, err) < 0)
			return -1;
	}
	const char *awx_cleanup = getenv("AWX_CLEANUP_PATHS");
	if (awx_cleanup)
		set_value(cfg, CFG_CLEANUP_PATHS, awx_cleanup);
	const char *awx_iso = getenv("AWX_ISOLATION_BASE_PATH");
	if (awx_iso)
		set_value(cfg, CFG_ISOLATION_BASE_PATH, awx_iso);
	for (int k = 0; k < CFG_COUNT; k++) {
		char env[64] = "RUNNELD_";
		size_t n = strlen(env);
		for (const char *p = config_keys[k].name; *p && n < sizeof env - 1; p++)
			env[n++] = (char)toupper((unsigned char)*p);
		env[n] = '\0';
		const char *v = getenv(env);
		if (v)
			set_value(cfg, k, v);
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cfg->help = true;
			continue;
		}
		if (!strcmp(a, "--version")) {
			cfg->version = true;
			continue;
		}
		if (strncmp(a, "--", 2))
			return rn_fail(err, EINVAL, "unexpected argument \"%s\" (see --help)", a);
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		if (len == 6 && !strncmp(name, "config", 6)) {
			if (!eq)
				i++;
			continue;
		}
		int key = key_of(name, len);
		if (key < 0)
			return rn_fail(err, EINVAL, "unknown option \"%s\" (see --help)", a);
		if (eq) {
			set_value(cfg, key, eq + 1);
		} else {
			if (i + 1 >= argc)
				return rn_fail(err, EINVAL, "option \"%s\" needs a value", a);
			set_value(cfg, key, argv[++i]);
		}
	}
	return 0;
}

/* Free the values. */
void config_free(config *cfg)
{
	for (int k = 0; k < CFG_COUNT; k++)
		free(cfg->values[k]);
	free(cfg->config_file);
	memset(cfg, 0, sizeof *cfg);
}

/* A value. */
const char *config_get(const config *cfg, config_key key)
{
	const char *v = cfg->values[key];
	return v && *v ? v : NULL;
}

/* A value as an integer. */
int config_int(const config *cfg, config_key key, long def, long *out, runnel_error *err)
{
	const char *v = config_get(cfg, key);
	*out = def;
	if (!v)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < 0)
		return rn_fail(err, EINVAL, "%s: \"%s\" is not a non-negative integer",
		               config_keys[key].name, v);
	*out = n;
	return 0;
}

/* A value as a number. */
int config_double(const config *cfg, config_key key, double def, double *out, runnel_error *err)
{
	const char *v = config_get(cfg, key);
	*out = def;
	if (!v)
		return 0;
	char *end;
	double d = strtod(v, &end);
	if (*end || d < 0)
		return rn_fail(err, EINVAL, "%s: \"%s\" is not a non-negative number",
		               config_keys[key].name, v);
	*out = d;
	return 0;
}

/* The name of a key. */
const char *config_name(config_key key)
{
	return config_keys[key].name;
}

/* Print the usage. */
void config_usage(FILE *out)
{
	fprintf(out, "usage: runneld [--config FILE] [--KEY VALUE ...]\n\n"
	             "Settings (lowest precedence first: config file, environment, flags):\n");
	for (int k = 0; k < CFG_COUNT; k++) {
		char flag[64], env[64] = "RUNNELD_";
		size_t n = 0, e = strlen(env);
		for (const char *p = config_keys[k].name; *p && n < sizeof flag - 1; p++) {
			flag[n++] = *p == '_' ? '-' : *p;
			env[e++] = (char)toupper((unsigned char)*p);
		}
		flag[n] = env[e] = '\0';
		fprintf(out, "  --%-22s %-30s %s%s%s%s\n", flag, env, config_keys[k].help,
		        config_keys[k].def ? " [" : "",
		        config_keys[k].def ? config_keys[k].def : "",
		        config_keys[k].def ? "]" : "");
	}
	fprintf(out, "\nRUNNEL_ADMIN_PASSWORD sets the password of the superuser \"admin\" created "
	             "on first start.\n");
}
