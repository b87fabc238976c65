/*
 * main.c - runneld, the job service: settings (config.h), the engine
 * (engine.h: store, dispatcher, receiver; it reaps the jobs a previous run
 * left active), the superuser "admin" on first start, and the HTTP API
 * (api/api.h). Logs to stderr, one line per event of note, never a secret.
 * SIGTERM or SIGINT: stop taking work, cancel the running jobs with the
 * shutdown explanation, exit.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "config.h"
#include "engine.h"
#include "notify.h"
#include "util.h"

static int signal_pipe[2] = {-1, -1};
static volatile sig_atomic_t signal_seen;

/* Note a signal for the main loop (async-signal-safe). */
static void on_signal(int sig)
{
	signal_seen = sig;
	int saved = errno;
	char c = (char)sig;
	if (write(signal_pipe[1], &c, 1) < 0) {
		/* the pipe is full: the main loop is already waking */
	}
	errno = saved;
}

/* One log line to stderr with a UTC timestamp, written at once. */
static void log_line(const char *line, void *userdata)
{
	(void)userdata;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char buf[2300];
	int n = snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ runneld: %s\n",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, (long)tv.tv_usec / 1000, line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf) {
		n = sizeof buf - 1;
		buf[n - 1] = '\n';
	}
	rn_write_all(STDERR_FILENO, buf, (size_t)n);
}

/* printf-style log_line. */
static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_line(line, NULL);
}

extern char **environ;

/* Take RUNNEL_ADMIN_PASSWORD out of the environment before anything runs:
 * a copy for ensure_admin() (caller frees), the original bytes wiped (the
 * kernel shows the environment runneld started with in /proc/PID/environ,
 * whatever unsetenv does to the list) and the variable unset, so that no
 * worker, job or child of runneld can read it. NULL when it is not set. */
static char *take_admin_password(void)
{
	static const char name[] = "RUNNEL_ADMIN_PASSWORD=";
	char *copy = NULL, *found[8];
	size_t n = 0;
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, name, sizeof name - 1))
			continue;
		if (!copy)
			copy = rn_xstrdup(*e + sizeof name - 1);
		if (n < sizeof found / sizeof found[0])
			found[n++] = *e;
		else
			sodium_memzero(*e + sizeof name - 1, strlen(*e + sizeof name - 1));
	}
	/* out of environ first (unsetenv matches the name), then the bytes */
	unsetenv("RUNNEL_ADMIN_PASSWORD");
	for (size_t i = 0; i < n; i++)
		sodium_memzero(found[i], strlen(found[i]));
	return copy;
}

/* Wipe and free a secret string; *s becomes NULL. */
static void drop_secret(char **s)
{
	if (*s) {
		sodium_memzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* Create the superuser "admin" if the store has no user yet. The password
 * is RUNNEL_ADMIN_PASSWORD's (given, taken at start), or generated and
 * printed once on stdout. */
static int ensure_admin(store *st, const char *given, runnel_error *err)
{
	store_query q = {.page = 1, .page_size = 1};
	store_page page = {0};
	if (store_list(st, STORE_USER, &q, &page, err) < 0)
		return -1;
	long users = page.count;
	store_page_clear(&page);
	if (users > 0)
		return 0;
	char generated[33];
	const char *password = given;
	if (!given || !*given) {
		static const char alphabet[] =
		    "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
		for (size_t i = 0; i < 24; i++)
			generated[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
		generated[24] = '\0';
		password = generated;
	}
	json_t *f = json_pack("{s:s,s:s,s:b,s:s}", "username", "admin", "password", password,
	                      "is_superuser", 1, "email", "admin@localhost");
	json_t *u = store_create(st, STORE_USER, f, 0, err);
	json_decref(f);
	if (!u) {
		sodium_memzero(generated, sizeof generated);
		return -1;
	}
	json_decref(u);
	if (password == generated) {
		printf("runneld: created the superuser \"admin\"; its password (shown this once): "
		       "%s\n",
		       generated);
		fflush(stdout);
		logf_("created the superuser \"admin\" with a generated password (printed on "
		      "stdout)");
	} else {
		logf_("created the superuser \"admin\" with the password of RUNNEL_ADMIN_PASSWORD");
	}
	sodium_memzero(generated, sizeof generated);
	return 0;
}

/* The paths hidden from jobs besides runneld's own: job_isolation_hide_paths
 * and the config file (it may hold what an operator keeps from jobs). A
 * JSON text to free, or NULL; a bad list is passed on for the engine to
 * refuse, naming the setting. */
static char *hidden_from_jobs(const config *cfg)
{
	const char *text = config_get(cfg, CFG_JOB_ISOLATION_HIDE_PATHS);
	json_t *a = text ? json_loads(text, 0, NULL) : json_array();
	if (!json_is_array(a)) {
		json_decref(a);
		return rn_xstrdup(text);
	}
	if (cfg->config_file) {
		char *abs = rn_path_abs(cfg->config_file);
		json_array_append_new(a, json_string(abs));
		free(abs);
	}
	char *out = json_array_size(a) ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return out;
}

/* Wait for SIGTERM/SIGINT. */
static int wait_for_signal(void)
{
	for (;;) {
		struct pollfd p = {.fd = signal_pipe[0], .events = POLLIN};
		int rc = poll(&p, 1, -1);
		if (rc < 0 && errno != EINTR)
			return -1;
		if (signal_seen)
			return signal_seen;
	}
}

/* Install the signal handlers (reset to default in the workers by exec). */
static int install_signals(runnel_error *err)
{
	if (pipe(signal_pipe) < 0)
		return rn_fail(err, errno, "pipe: %s", strerror(errno));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return 0;
}

/* runneld. */
int main(int argc, char **argv)
{
	config cfg;
	runnel_error err = {0};
	char *admin_password = take_admin_password();
	if (config_load(&cfg, argc, argv, &err) < 0) {
		fprintf(stderr, "runneld: %s\n", err.message);
		config_free(&cfg);
		drop_secret(&admin_password);
		return 2;
	}
	if (cfg.help) {
		config_usage(stdout);
		config_free(&cfg);
		drop_secret(&admin_password);
		return 0;
	}
	if (cfg.version) {
		printf("runneld %s (librunnel %s, API as AWX %s)\n", RUNNEL_VERSION,
		       runnel_version(), API_PRODUCT_VERSION);
		config_free(&cfg);
		drop_secret(&admin_password);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "runneld: libsodium failed to initialize\n");
		config_free(&cfg);
		drop_secret(&admin_password);
		return 1;
	}
	int status = 1;
	engine *eng = NULL;
	api_server *srv = NULL;
	notify_service *notifier = NULL;
	engine_settings es;
	char *hidden = NULL;
	long max_body = 0, max_conn = 0, token_expire = 0, session_age = 0;
	double shutdown_grace = 0;
	if (config_engine_settings(&cfg, &es, &err) < 0 ||
	    config_int(&cfg, CFG_MAX_BODY, &max_body, &err) < 0 ||
	    config_int(&cfg, CFG_MAX_CONNECTIONS, &max_conn, &err) < 0 ||
	    config_int(&cfg, CFG_TOKEN_EXPIRE_SECONDS, &token_expire, &err) < 0 ||
	    config_int(&cfg, CFG_SESSION_COOKIE_AGE, &session_age, &err) < 0 ||
	    config_double(&cfg, CFG_SHUTDOWN_GRACE, &shutdown_grace, &err) < 0 ||
	    install_signals(&err) < 0) {
		logf_("%s", err.message);
		goto out;
	}
	es.log = log_line;
	es.job_isolation_hide_paths = hidden = hidden_from_jobs(&cfg);
	logf_("starting (pid %d%s%s)", (int)getpid(), cfg.config_file ? ", config " : "",
	      cfg.config_file ? cfg.config_file : "");
	eng = engine_open(&es, &err);
	if (!eng) {
		logf_("cannot start the engine: %s", err.message);
		goto out;
	}
	int admin_rc = ensure_admin(engine_store(eng), admin_password, &err);
	drop_secret(&admin_password);
	if (admin_rc < 0) {
		logf_("cannot create the superuser: %s", err.message);
		goto out;
	}
	api_settings as = {
	    .listen = config_get(&cfg, CFG_LISTEN),
	    .max_body = (size_t)max_body,
	    .max_connections = (int)max_conn,
	    .web_dir = config_get(&cfg, CFG_WEB_DIR),
	    .log = log_line,
	    .token_expire_seconds = token_expire,
	    .session_cookie_age = session_age,
	};
	srv = api_server_start(eng, &as, &err);
	if (!srv) {
		logf_("cannot serve the API: %s", err.message);
		goto out;
	}
	{
		char host[64];
		const char *listen = as.listen ? as.listen : config_default(CFG_LISTEN);
		const char *colon = strrchr(listen, ':');
		snprintf(host, sizeof host, "%.*s", colon ? (int)(colon - listen) : 0, listen);
		logf_("listening on http://%s:%d/ (API /api/v2/, page /)",
		      *host ? host : "127.0.0.1", api_server_port(srv));
		/* notifications of jobs, their links to this page (notify.h) */
		char base[128];
		snprintf(base, sizeof base, "http://%s:%d", *host ? host : "127.0.0.1",
		         api_server_port(srv));
		notify_settings ns = {.st = engine_store(eng), .url_base = base, .log = log_line};
		notifier = notify_start(&ns, &err);
		if (!notifier)
			logf_("notifications are off: %s", err.message);
	}
	int sig = wait_for_signal();
	logf_("%s: shutting down: no new work, canceling running jobs",
	      sig == SIGINT ? "SIGINT" : "SIGTERM");
	api_server_quiesce(srv);
	engine_shutdown(eng, shutdown_grace);
	status = 0;
out:
	drop_secret(&admin_password);
	api_server_stop(srv);
	notify_stop(notifier);
	engine_close(eng);
	if (status == 0)
		logf_("stopped");
	config_free(&cfg);
	free(hidden);
	return status;
}
