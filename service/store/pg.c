/*
 * pg.c - the PostgreSQL backend (pg.h): connections, statements, errors,
 * schema and migrations, open and close.
 *
 * `--store postgresql://USER@HOST:PORT/DB` (libpq's URL; a password is
 * refused there: the URL is on every worker's command line, so it belongs in
 * PGPASSFILE / ~/.pgpass). Each handle keeps a few connections: one when
 * its calls are serialized (the engine's, a worker's), up to PG_CONNS_MAX
 * when many threads call it (store_settings.thread_connections: the HTTP
 * API's). Several processes share the database; read-modify-write of a row
 * locks it (SELECT ... FOR UPDATE), as SQLite's BEGIN IMMEDIATE does.
 */
#include "pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "util.h"

#define PG_CONNS_MAX    8
#define PG_STMTS_MAX    128
#define SCHEMA_LOCK_KEY "7391004215"
#define PARTITION_LOCK  "7391004216"
/* Version 2: what came after version 1 (the kinds added since, the jobs'
 * modified index, the templates' id space, event_parent_pending). Any change
 * to the schema bumps it: an up-to-date database is opened without DDL. */
#define PG_LATEST_SCHEMA 2

static const store_ops pg_ops;

/* Event writers (store.h): one per core, at least 2 (while one waits for
 * its commit to reach the disk the other COPYs), at most 4 (AWX's
 * JOB_EVENT_WORKERS). */
static int event_writers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 2 ? 2 : n > 4 ? 4 : (int)n;
}

/* ------------------------------------------------------------------ */
/* connections                                                          */

/* Notices (CREATE ... IF NOT EXISTS says "already exists") are not errors. */
static void quiet(void *arg, const char *message)
{
	(void)arg, (void)message;
}

/* Open a connection to url, or NULL with err. */
static pgc *conn_open(const char *url, runnel_error *err)
{
	PGconn *conn = PQconnectdb(url);
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		/* libpq's message names host and port, never the password */
		rn_fail(err, EAGAIN, "__all__: store: cannot connect to PostgreSQL: %s",
		        conn ? PQerrorMessage(conn) : "out of memory");
		size_t n = strlen(err->message);
		while (n && (err->message[n - 1] == '\n' || err->message[n - 1] == ' '))
			err->message[--n] = 0;
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, quiet, NULL);
	pgc *c = calloc(1, sizeof *c);
	if (!c) {
		PQfinish(conn);
		rn_fail(err, ENOMEM, "__all__: store: out of memory");
		return NULL;
	}
	c->conn = conn;
	PGresult *r = PQexec(conn, "SET client_min_messages=warning; SET TIME ZONE 'UTC'");
	PQclear(r);
	return c;
}

/* Forget what a connection had prepared (it was reset). */
static void conn_forget(pgc *c)
{
	for (size_t i = 0; i < c->nstmts; i++)
		free(c->stmts[i].sql);
	c->nstmts = 0;
	c->events_temp = false;
}

static void conn_close(pgc *c)
{
	if (!c)
		return;
	conn_forget(c);
	free(c->stmts);
	PQfinish(c->conn);
	free(c);
}

pgc *pg_acquire(pg *p, runnel_error *err)
{
	pgc *c = NULL;
	pthread_mutex_lock(&p->mu);
	while (!p->nidle && p->open >= p->max)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->nidle)
		c = p->idle[--p->nidle];
	else
		p->open++;
	pthread_mutex_unlock(&p->mu);
	if (c && PQstatus(c->conn) != CONNECTION_OK) {
		PQreset(c->conn);
		conn_forget(c);
		if (PQstatus(c->conn) != CONNECTION_OK) {
			rn_fail(err, EAGAIN, "__all__: store: PostgreSQL connection lost: %s",
			        PQerrorMessage(c->conn));
			pg_release(p, c);
			return NULL;
		}
	}
	if (!c) {
		c = conn_open(p->url, err);
		if (!c) {
			pthread_mutex_lock(&p->mu);
			p->open--;
			pthread_cond_signal(&p->cv);
			pthread_mutex_unlock(&p->mu);
		}
	}
	return c;
}

void pg_release(pg *p, pgc *c)
{
	if (!c)
		return;
	/* a connection left inside a transaction (an error path) is rolled back */
	if (PQstatus(c->conn) == CONNECTION_OK && PQtransactionStatus(c->conn) != PQTRANS_IDLE)
		pg_rollback(c);
	pthread_mutex_lock(&p->mu);
	p->idle[p->nidle++] = c;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* ------------------------------------------------------------------ */
/* statements and errors                                                */

const char *pg_num(char *buf, long long v)
{
	snprintf(buf, 24, "%lld", v);
	return buf;
}

/* True if SQLSTATE state (5 chars) is a failure that may pass by itself. */
static bool state_transient(const char *state)
{
	if (!state || strlen(state) != 5)
		return false;
	return !strncmp(state, "08", 2) ||  /* connection exception */
	       !strncmp(state, "53", 2) ||  /* insufficient resources: disk full, memory */
	       !strncmp(state, "57P", 3) || /* admin/crash shutdown, cannot connect now */
	       !strncmp(state, "58", 2) ||  /* system error: I/O */
	       !strcmp(state, "40001") ||   /* serialization failure */
	       !strcmp(state, "40P01") ||   /* deadlock */
	       !strcmp(state, "55P03");     /* lock not available */
}

int pg_fail(pgc *c, PGresult *res, runnel_error *err, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!msg)
		msg = PQerrorMessage(c->conn);
	int code = EIO;
	if (PQstatus(c->conn) != CONNECTION_OK || state_transient(state))
		code = EAGAIN;
	else if (state && !strcmp(state, "23505"))
		code = EEXIST;
	else if (state && (!strncmp(state, "22", 2)))
		code = EINVAL;
	rn_fail(err, code, "__all__: %s: %s", what, msg && *msg ? msg : "PostgreSQL error");
	size_t n = err ? strlen(err->message) : 0;
	while (n && err->message[n - 1] == '\n')
		err->message[--n] = 0;
	return -1;
}

/* A result that is not an error, or NULL with err (the result freed). */
static PGresult *checked(pgc *c, PGresult *r, runnel_error *err, const char *what)
{
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK || s == PGRES_COPY_IN)
		return r;
	pg_fail(c, r, err, what);
	PQclear(r);
	return NULL;
}

PGresult *pg_q(pgc *c, const char *sql, int n, const char *const *vals, runnel_error *err)
{
	pg_stmt *s = NULL;
	for (size_t i = 0; i < c->nstmts; i++)
		if (!strcmp(c->stmts[i].sql, sql)) {
			s = &c->stmts[i];
			break;
		}
	if (!s) {
		if (c->nstmts == PG_STMTS_MAX) /* full: one-off from here on */
			return pg_qd(c, sql, n, vals, err);
		char name[16];
		snprintf(name, sizeof name, "rn%u", ++c->serial);
		PGresult *r = checked(c, PQprepare(c->conn, name, sql, 0, NULL), err, "prepare");
		if (!r)
			return NULL;
		PQclear(r);
		if (c->nstmts == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 16;
			c->stmts = rn_xrealloc(c->stmts, c->cap * sizeof *c->stmts);
		}
		s = &c->stmts[c->nstmts++];
		s->sql = rn_xstrdup(sql);
		snprintf(s->name, sizeof s->name, "%s", name);
	}
	return checked(c, PQexecPrepared(c->conn, s->name, n, vals, NULL, NULL, 0), err, "query");
}

PGresult *pg_qd(pgc *c, const char *sql, int n, const char *const *vals, runnel_error *err)
{
	return checked(c, PQexecParams(c->conn, sql, n, NULL, vals, NULL, NULL, 0), err, "query");
}

int pg_exec(pgc *c, const char *sql, runnel_error *err)
{
	PGresult *r = checked(c, PQexec(c->conn, sql), err, "exec");
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

void pg_rollback(pgc *c)
{
	PQclear(PQexec(c->conn, "ROLLBACK"));
}

long long pg_int(pgc *c, const char *sql, long long param, long long dflt)
{
	char b[24];
	const char *v[1] = {pg_num(b, param)};
	runnel_error e;
	PGresult *r = pg_q(c, sql, 1, v, &e);
	long long n = r && PQntuples(r) ? pg_ll(r, 0, 0) : dflt;
	PQclear(r);
	return n;
}

const char *pg_table(store_kind kind)
{
	static const char *const names[STORE_KIND_COUNT] = {
	    [STORE_ORGANIZATION] = "\"organizations\"",
	    [STORE_USER] = "\"users\"",
	    [STORE_TOKEN] = "\"tokens\"",
	    [STORE_CREDENTIAL_TYPE] = "\"credential_types\"",
	    [STORE_CREDENTIAL] = "\"credentials\"",
	    [STORE_INVENTORY] = "\"inventories\"",
	    [STORE_GROUP] = "\"groups\"",
	    [STORE_HOST] = "\"hosts\"",
	    [STORE_INVENTORY_SOURCE] = "\"inventory_sources\"",
	    [STORE_PROJECT] = "\"projects\"",
	    [STORE_JOB_TEMPLATE] = "\"job_templates\"",
	    [STORE_TEAM] = "\"teams\"",
	    [STORE_NOTIFICATION_TEMPLATE] = "\"notification_templates\"",
	    [STORE_NOTIFICATION] = "\"notifications\"",
	    [STORE_LABEL] = "\"labels\"",
	    [STORE_SCHEDULE] = "\"schedules\"",
	    [STORE_ACTIVITY_STREAM] = "\"activity_stream\"", /* sysinfo */
	    [STORE_SETTING] = "\"settings\"",
	    /* workflows */
	    [STORE_WORKFLOW_JOB_TEMPLATE] = "\"workflow_job_templates\"",
	    [STORE_WORKFLOW_JOB_TEMPLATE_NODE] = "\"workflow_job_template_nodes\"",
	    [STORE_WORKFLOW_JOB_NODE] = "\"workflow_job_nodes\"",
	};
	if (model_is_job_kind(kind) || kind < 0 || kind >= STORE_KIND_COUNT || !names[kind])
		return "unified_jobs";
	return names[kind];
}

/* ------------------------------------------------------------------ */
/* schema                                                               */

/*
 * Events are partitioned by the hour their job was created (AWX keeps
 * main_jobevent so): the rows of one job sit together, and old jobs' events
 * can go a partition at a time. The key is job_created as text (the job's
 * "created", "YYYY-MM-DDTHH:MM:SS.ffffffZ", byte-ordered), so every event of
 * a job lands in one partition; (job_id, counter, job_created) is unique, and
 * job_created is the job's own, so (job_id, counter) is. A default partition
 * takes what has no hour of its own.
 */
static const char *const schema_v1[] = {
    "CREATE TABLE IF NOT EXISTS unified_jobs(id bigserial PRIMARY KEY,"
    " created text COLLATE \"C\" NOT NULL, modified text COLLATE \"C\" NOT NULL,"
    " name text COLLATE \"C\" NOT NULL DEFAULT '', data jsonb NOT NULL DEFAULT '{}',"
    " secret text, type text COLLATE \"C\" NOT NULL, status text COLLATE \"C\" NOT NULL,"
    " started_ts double precision, finished_ts double precision,"
    " events_stored bigint NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS unified_jobs_status ON unified_jobs(status)",
    "CREATE INDEX IF NOT EXISTS unified_jobs_type ON unified_jobs(type, id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS users_username ON \"users\"(name)",
    "CREATE UNIQUE INDEX IF NOT EXISTS organizations_name ON \"organizations\"(name)",
    "CREATE UNIQUE INDEX IF NOT EXISTS credential_types_name ON \"credential_types\"(name)",
    "CREATE UNIQUE INDEX IF NOT EXISTS tokens_hash ON \"tokens\"(secret)",
    "CREATE INDEX IF NOT EXISTS hosts_inventory ON \"hosts\"(((data->>'inventory')::bigint), "
    "name)",
    "CREATE INDEX IF NOT EXISTS groups_inventory ON \"groups\"(((data->>'inventory')::bigint), "
    "name)",
    "CREATE TABLE IF NOT EXISTS relations(rel integer NOT NULL, parent bigint NOT NULL,"
    " child bigint NOT NULL, PRIMARY KEY(rel, parent, child))",
    "CREATE INDEX IF NOT EXISTS relations_child ON relations(rel, child)",
    "CREATE SEQUENCE IF NOT EXISTS events_id_seq",
    "CREATE TABLE IF NOT EXISTS events(id bigint NOT NULL DEFAULT nextval('events_id_seq'),"
    " job_id bigint NOT NULL, counter bigint NOT NULL, event text COLLATE \"C\" NOT NULL "
    "DEFAULT '',"
    " event_data text NOT NULL DEFAULT '{}', failed boolean NOT NULL DEFAULT false,"
    " changed boolean NOT NULL DEFAULT false, uuid text COLLATE \"C\" NOT NULL DEFAULT '',"
    " parent_uuid text COLLATE \"C\" NOT NULL DEFAULT '', host_id bigint,"
    " host_name text COLLATE \"C\" NOT NULL DEFAULT '', playbook text COLLATE \"C\" NOT NULL "
    "DEFAULT '',"
    " play text COLLATE \"C\" NOT NULL DEFAULT '', role text COLLATE \"C\" NOT NULL DEFAULT '',"
    " task text COLLATE \"C\" NOT NULL DEFAULT '', stdout text COLLATE \"C\" NOT NULL "
    "DEFAULT '',"
    " start_line bigint NOT NULL DEFAULT 0, end_line bigint NOT NULL DEFAULT 0,"
    " verbosity bigint NOT NULL DEFAULT 0, created text COLLATE \"C\" NOT NULL,"
    " modified text COLLATE \"C\" NOT NULL, job_created text COLLATE \"C\" NOT NULL DEFAULT '',"
    " UNIQUE(job_id, counter, job_created)) PARTITION BY RANGE (job_created)",
    "CREATE TABLE IF NOT EXISTS events_default PARTITION OF events DEFAULT",
    "CREATE INDEX IF NOT EXISTS events_parents ON events(job_id, uuid) WHERE event LIKE "
    "'playbook\\_on%'",
    "CREATE INDEX IF NOT EXISTS events_failed ON events(job_id, parent_uuid) WHERE failed",
    "CREATE INDEX IF NOT EXISTS events_changed ON events(job_id, parent_uuid) WHERE changed",
    "CREATE TABLE IF NOT EXISTS event_parent_flags(job_id bigint NOT NULL, uuid text COLLATE "
    "\"C\" NOT NULL,"
    " failed boolean NOT NULL DEFAULT false, changed boolean NOT NULL DEFAULT false,"
    " PRIMARY KEY(job_id, uuid))",
    "CREATE TABLE IF NOT EXISTS host_summaries(id bigserial PRIMARY KEY, job_id bigint NOT "
    "NULL,"
    " host_id bigint, host_name text COLLATE \"C\" NOT NULL, created text COLLATE \"C\" NOT "
    "NULL,"
    " modified text COLLATE \"C\" NOT NULL, changed bigint NOT NULL DEFAULT 0, dark bigint NOT "
    "NULL DEFAULT 0,"
    " failures bigint NOT NULL DEFAULT 0, ignored bigint NOT NULL DEFAULT 0, ok bigint NOT NULL "
    "DEFAULT 0,"
    " processed bigint NOT NULL DEFAULT 0, rescued bigint NOT NULL DEFAULT 0, skipped bigint "
    "NOT NULL DEFAULT 0,"
    " failed boolean NOT NULL DEFAULT false, UNIQUE(job_id, host_name))",
    NULL};

/* Create the table of every resource kind that has none yet (kinds added
 * after version 1, as notification templates, get theirs in any database). */
static int create_kind_tables(pgc *c, runnel_error *err)
{
	for (int k = 0; k < STORE_KIND_COUNT; k++) {
		if (model_is_job_kind((store_kind)k))
			continue; /* one table for them all: unified_jobs */
		char *t = rn_xasprintf("CREATE TABLE IF NOT EXISTS %s(id bigserial PRIMARY KEY,"
		                       " created text COLLATE \"C\" NOT NULL,"
		                       " modified text COLLATE \"C\" NOT NULL,"
		                       " name text COLLATE \"C\" NOT NULL DEFAULT '',"
		                       " data jsonb NOT NULL DEFAULT '{}', secret text)",
		                       pg_table((store_kind)k));
		int rc = pg_exec(c, t, err);
		free(t);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Create the tables of schema version 1 (the transaction held). */
static int create_v1(pg *p, pgc *c, runnel_error *err)
{
	/* the resources' tables first: the indexes above name some of them */
	if (create_kind_tables(c, err) < 0)
		return -1;
	for (int i = 0; schema_v1[i]; i++)
		if (pg_exec(c, schema_v1[i], err) < 0)
			return -1;
	json_t *types = model_builtin_credential_types();
	size_t i;
	json_t *t;
	json_array_foreach(types, i, t) {
		json_object_set_new(t, "managed", json_true());
		json_t *o = pg_create_locked(p, c, STORE_CREDENTIAL_TYPE, t, STORE_SYSTEM, err);
		if (!o) {
			json_decref(types);
			return -1;
		}
		json_decref(o);
	}
	json_decref(types);
	return 0;
}

/* What came after schema version 1, made when missing (idempotent; the
 * tables of kinds added since are create_kind_tables'): the one id space of the
 * unified job templates (model.h), past every id already used. */
static int create_later_tables(pgc *c, runnel_error *err)
{
	/* The parents' flags the events stored so far ask for, gathered batch
	 * by batch and applied at the job's playbook_on_stats (pg_events.c).
	 * Made with what the events already stored ask for, so that a job
	 * running across the upgrade loses none. */
	PGresult *r = pg_q(c, "SELECT to_regclass('event_parent_pending') IS NULL", 0, NULL, err);
	if (!r)
		return -1;
	bool make = pg_bool(r, 0, 0);
	PQclear(r);
	if (make &&
	    (pg_exec(c,
	             "CREATE TABLE event_parent_pending(job_id bigint NOT NULL, uuid text COLLATE"
	             " \"C\" NOT NULL, failed boolean NOT NULL DEFAULT false, changed boolean"
	             " NOT NULL DEFAULT false, up text COLLATE \"C\", PRIMARY KEY(job_id, uuid))",
	             err) < 0 ||
	     pg_exec(
	         c,
	         "INSERT INTO event_parent_pending(job_id, uuid, failed, changed)"
	         " SELECT job_id, parent_uuid, bool_or(failed), bool_or(changed) FROM events"
	         " WHERE (failed OR changed) AND parent_uuid <> '' GROUP BY job_id, parent_uuid",
	         err) < 0))
		return -1;
	if (pg_exec(c, "CREATE SEQUENCE IF NOT EXISTS unified_job_templates_id_seq START 2", err) <
	    0)
		return -1;
	return pg_exec(
	    c,
	    "SELECT setval('unified_job_templates_id_seq', m) FROM (SELECT max(id) m FROM"
	    " (SELECT id FROM \"job_templates\" UNION ALL SELECT id FROM \"projects\""
	    " UNION ALL SELECT id FROM \"inventory_sources\") u) x WHERE m >= (SELECT"
	    " CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM"
	    " unified_job_templates_id_seq)",
	    err);
}

/* The database's schema version: 0 when it has none yet. -1 with err. */
static long schema_version(pgc *c, runnel_error *err)
{
	PGresult *r = pg_qd(c, "SELECT to_regclass('schema_version') IS NOT NULL", 0, NULL, err);
	if (!r)
		return -1;
	bool has = pg_bool(r, 0, 0);
	PQclear(r);
	if (!has)
		return 0;
	r = pg_qd(c, "SELECT coalesce(max(version), 0) FROM schema_version", 0, NULL, err);
	if (!r)
		return -1;
	long v = (long)pg_ll(r, 0, 0);
	PQclear(r);
	if (v > PG_LATEST_SCHEMA)
		return rn_fail(err, EINVAL,
		               "__all__: store: the database has schema version %ld, newer than "
		               "this runneld's %d",
		               v, PG_LATEST_SCHEMA);
	return v;
}

/* Bring the database to PG_LATEST_SCHEMA, one process at a time (an
 * advisory lock held to the end of the transaction). A database already
 * there is only read: every worker opens the store, and 50 jobs launched
 * at once would otherwise queue on the lock and its DDL. */
static int migrate(pg *p, pgc *c, runnel_error *err)
{
	long v = schema_version(c, err);
	if (v < 0 || v == PG_LATEST_SCHEMA)
		return v < 0 ? -1 : 0;
	if (pg_exec(c, "BEGIN", err) < 0)
		return -1;
	if (pg_exec(c, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")", err) < 0 ||
	    pg_exec(c, "CREATE TABLE IF NOT EXISTS schema_version(version integer NOT NULL)", err) <
	        0 ||
	    (v = schema_version(c, err)) < 0) /* again, under the lock */
		goto fail;
	if (v < 1 && (create_v1(p, c, err) < 0 ||
	              pg_exec(c, "INSERT INTO schema_version(version) VALUES(1)", err) < 0))
		goto fail;
	/* kinds added since (notification templates) and the index the
	 * notifications' watcher reads jobs by (notify.h) */
	if (v < 2 &&
	    (create_kind_tables(c, err) < 0 ||
	     pg_exec(c,
	             "CREATE INDEX IF NOT EXISTS unified_jobs_modified ON unified_jobs(modified)",
	             err) < 0 ||
	     create_later_tables(c, err) < 0 ||
	     pg_exec(c, "INSERT INTO schema_version(version) VALUES(2)", err) < 0))
		goto fail;
	return pg_exec(c, "COMMIT", err);
fail:
	pg_rollback(c);
	return -1;
}

int pg_events_partition(pgc *c, const char *created, runnel_error *err)
{
	struct tm tm = {0};
	if (!created || sscanf(created, "%4d-%2d-%2dT%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	                       &tm.tm_hour) != 4)
		return 0; /* not a time of ours: the default partition takes its events */
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	time_t t2 = t + 3600;
	struct tm a, b;
	gmtime_r(&t, &a);
	gmtime_r(&t2, &b);
	char from[16], to[16], name[40];
	strftime(from, sizeof from, "%Y-%m-%dT%H", &a);
	strftime(to, sizeof to, "%Y-%m-%dT%H", &b);
	strftime(name, sizeof name, "events_%Y%m%d_%H", &a);
	long long have = 0;
	{
		const char *v[1] = {name};
		runnel_error e;
		PGresult *r = pg_q(c, "SELECT count(*) FROM pg_class WHERE relname=$1", 1, v, &e);
		have = r ? pg_ll(r, 0, 0) : 0;
		PQclear(r);
	}
	if (have)
		return 0;
	char *sql = rn_xasprintf("CREATE TABLE IF NOT EXISTS %s PARTITION OF events FOR VALUES "
	                         "FROM ('%s') TO ('%s')",
	                         name, from, to);
	int rc = pg_exec(c, "BEGIN", err);
	if (rc == 0)
		rc = pg_exec(c, "SELECT pg_advisory_xact_lock(" PARTITION_LOCK ")", err);
	if (rc == 0)
		rc = pg_exec(c, sql, err);
	if (rc == 0)
		rc = pg_exec(c, "COMMIT", err);
	else
		pg_rollback(c);
	free(sql);
	return rc;
}

/* ------------------------------------------------------------------ */
/* open / close                                                         */

static void pg_close(store *st)
{
	pg *p = st->impl;
	for (size_t i = 0; i < p->nidle; i++)
		conn_close(p->idle[i]);
	free(p->idle);
	free(p->url);
	sodium_memzero(&p->key, sizeof p->key);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
	free(st);
}

/* EINVAL unless url is a PostgreSQL URL without a password. */
static int check_url(const char *url, runnel_error *err)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &msg);
	if (!opts) {
		rn_fail(err, EINVAL, "store: not a PostgreSQL URL: %s",
		        msg ? msg : "cannot be parsed");
		PQfreemem(msg);
		return -1;
	}
	int rc = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "password") && o->val && *o->val)
			rc = rn_fail(err, EINVAL,
			             "store: the PostgreSQL URL holds a password; it would be on "
			             "every worker's command line: put it in PGPASSFILE or "
			             "~/.pgpass instead");
	PQconninfoFree(opts);
	return rc;
}

store *store_pg_open(const store_settings *settings, runnel_error *err)
{
	if (!settings || !settings->state_dir)
		return rn_fail(err, EINVAL, "__all__: store: no state dir"), NULL;
	if (!settings->backend || check_url(settings->backend, err) < 0)
		return NULL;
	if (sodium_init() < 0)
		return rn_fail(err, EIO, "__all__: libsodium does not initialize"), NULL;
	if (rn_mkdirs(settings->state_dir, 0700, err) < 0)
		return NULL;
	pg *p = calloc(1, sizeof *p);
	store *st = calloc(1, sizeof *st);
	if (!p || !st) {
		free(p);
		free(st);
		return rn_fail(err, ENOMEM, "__all__: store: out of memory"), NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->url = rn_xstrdup(settings->backend);
	p->max = settings->thread_connections ? PG_CONNS_MAX : 1;
	p->idle = calloc(p->max, sizeof *p->idle);
	st->ops = &pg_ops;
	st->impl = p;
	snprintf(st->backend, sizeof st->backend, "postgresql");
	st->event_writers = event_writers();
	if (store_key_load(&p->key, settings->state_dir, err) < 0) {
		pg_close(st);
		return NULL;
	}
	pgc *c = pg_acquire(p, err);
	int rc = c ? migrate(p, c, err) : -1;
	pg_release(p, c);
	if (rc < 0) {
		pg_close(st);
		return NULL;
	}
	return st;
}

static const store_ops pg_ops = {
    .close = pg_close,
    .create = pg_create,
    .get = pg_get,
    .exists = pg_exists,
    .update = pg_update,
    .remove = pg_remove,
    .list = pg_list,
    .associate = pg_associate,
    .disassociate = pg_disassociate,
    .related_ids = pg_related_ids,
    .related_names = pg_related_names,
    .user_authenticate = pg_user_authenticate,
    .user_secret_stamp = pg_user_secret_stamp,
    .token_create = pg_token_create,
    .token_authenticate = pg_token_authenticate,
    .credential_inputs = pg_credential_inputs,
    .notification_configuration = pg_notification_configuration,
    .inventory_script = pg_inventory_script,
    .inventory_import = pg_inventory_import,
    .job_transition = pg_job_transition,
    .job_append = pg_job_append,
    .job_set_cancel_flag = pg_job_set_cancel_flag,
    .job_progress = pg_job_progress,
    .jobs_cleanup = pg_jobs_cleanup,
    .events_insert = pg_events_insert,
    .events_insert_rows = pg_events_insert_rows,
    .events_list = pg_events_list,
    .stdout_read = pg_stdout_read,
    .host_summaries_list = pg_host_summaries_list,
    .schedule_claim = pg_schedule_claim,
    .events_slim = pg_events_slim,
};
