/*
 * sqlite.c - the embedded default store: one SQLite file (WAL) under the
 * state dir, its schema created and migrated on open.
 *
 * Layout: one table per resource kind with the columns every kind has (id,
 * created, modified, name) and the rest of the validated fields as a JSON
 * text in `data` (filters and ordering reach into it with json_extract);
 * `secret` holds what is never shown (password hash, token hash, encrypted
 * credential inputs). Unified jobs share one table (one id space, as AWX) with
 * type/status/timestamps as real columns. Events and host summaries are real
 * tables: they are the hot path.
 *
 * One connection per handle, serialized by a mutex; several processes may
 * open the same file (WAL, busy timeout). A handle opened with
 * thread_connections gives each calling thread a connection of its own
 * instead (see sq_of): WAL lets its readers run beside the writers, and no
 * thread waits on another's mutex while that one waits for SQLite's write lock.
 */
#include "model.h"
#include "inventory_render.h"
#include "query.h"
#include "secrets.h"
#include "shape.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "evscan.h"
#include "jscan.h"
#include "util.h"

#define SCHEMA_VERSION 1
#define STMT_CACHE     64

typedef struct stmt_slot {
	char *sql;
	sqlite3_stmt *stmt;
} stmt_slot;

typedef struct sq {
	sqlite3 *db;
	pthread_mutex_t mu;
	secrets_key key;
	stmt_slot cache[STMT_CACHE];
	int ncache;
	sqlite3_stmt *insert_event; /* the hot path's statement, outside the cache */
	char *path;                 /* the database file */
	/* the checkpointer: a thread with its own connection that copies the
	 * WAL into the database, so that the events' writer does not (started
	 * by the first event batch; see start_checkpointer) */
	pthread_t ckpt_thread;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	bool ckpt_started, ckpt_want, ckpt_stop;
	int busy_timeout_ms;
	/* thread_connections: the handle's connections by thread (NULL: one
	 * connection for every thread); on a thread's connection, home is the
	 * handle's own sq */
	struct sq_conns *conns;
	struct sq *home;
} sq;

/* The per-thread connections of a handle (thread_connections). */
typedef struct sq_conns {
	pthread_key_t key; /* the calling thread's sq; handed back when it ends */
	pthread_mutex_t mu;
	sq **idle; /* connections of threads that ended, for the next ones */
	size_t nidle;
	sq **all; /* every connection open, closed with the handle */
	size_t nall;
} sq_conns;

static const store_ops sqlite_ops;

static sq *sq_of(store *st);
/* The connection a store call runs on (see sq_of). */
#define SQ(st) sq_of(st)

/* The table holding a kind. */
static const char *table_of(store_kind kind)
{
	return model_is_job_kind(kind) ? "unified_jobs" : store_kind_plural(kind);
}

/* Fill err from the connection's last error. */
static int db_fail(sq *s, runnel_error *err, const char *what)
{
	return rn_fail(err, EIO, "__all__: %s: %s", what, sqlite3_errmsg(s->db));
}

/* A prepared statement for sql from the cache (reset, bindings cleared), or NULL with err. */
static sqlite3_stmt *prep(sq *s, const char *sql, runnel_error *err)
{
	for (int i = 0; i < s->ncache; i++) {
		if (!strcmp(s->cache[i].sql, sql)) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			return s->cache[i].stmt;
		}
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		db_fail(s, err, "prepare");
		return NULL;
	}
	if (s->ncache == STMT_CACHE) { /* full: drop the oldest */
		sqlite3_finalize(s->cache[0].stmt);
		free(s->cache[0].sql);
		memmove(&s->cache[0], &s->cache[1], sizeof(stmt_slot) * (STMT_CACHE - 1));
		s->ncache--;
	}
	s->cache[s->ncache].sql = rn_xstrdup(sql);
	s->cache[s->ncache].stmt = st;
	s->ncache++;
	return st;
}

/* Run one statement with no result. 0 or -1 with err. */
static int exec_sql(sq *s, const char *sql, runnel_error *err)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		rn_fail(err, EIO, "__all__: %s", msg ? msg : "sqlite error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Bind a JSON scalar to parameter i. */
static void bind_json(sqlite3_stmt *st, int i, const json_t *v)
{
	if (!v || json_is_null(v))
		sqlite3_bind_null(st, i);
	else if (json_is_integer(v))
		sqlite3_bind_int64(st, i, json_integer_value(v));
	else if (json_is_real(v))
		sqlite3_bind_double(st, i, json_real_value(v));
	else if (json_is_boolean(v))
		sqlite3_bind_int(st, i, json_is_true(v));
	else if (json_is_string(v))
		sqlite3_bind_text(st, i, json_string_value(v), (int)json_string_length(v),
		                  SQLITE_TRANSIENT);
	else {
		char *d = json_dumps(v, JSON_COMPACT);
		sqlite3_bind_text(st, i, d, -1, SQLITE_TRANSIENT);
		free(d);
	}
}

/* Text of column i, "" when NULL. */
static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t ? t : "";
}

/* ------------------------------------------------------------------ */
/* schema                                                               */

/* Create the tables of schema version 1. */
static int create_schema(sq *s, runnel_error *err)
{
	rn_buf b;
	rn_buf_init(&b);
	const char *head = "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);\n";
	rn_buf_append(&b, head, strlen(head));
	for (int k = 0; k < STORE_UNIFIED_JOB; k++) {
		char *t = rn_xasprintf("CREATE TABLE IF NOT EXISTS %s(id INTEGER PRIMARY KEY "
		                       "AUTOINCREMENT, created TEXT NOT NULL,"
		                       " modified TEXT NOT NULL, name TEXT NOT NULL DEFAULT '', "
		                       "data TEXT NOT NULL DEFAULT '{}',"
		                       " secret TEXT);\n",
		                       store_kind_plural(k));
		rn_buf_append(&b, t, strlen(t));
		free(t);
	}
	const char *rest =
	    "CREATE UNIQUE INDEX IF NOT EXISTS users_username ON users(name);\n"
	    "CREATE UNIQUE INDEX IF NOT EXISTS organizations_name ON organizations(name);\n"
	    "CREATE UNIQUE INDEX IF NOT EXISTS credential_types_name ON credential_types(name);\n"
	    "CREATE UNIQUE INDEX IF NOT EXISTS tokens_hash ON tokens(secret);\n"
	    "CREATE INDEX IF NOT EXISTS hosts_inventory ON hosts(json_extract(data,'$.inventory'), "
	    "name);\n"
	    "CREATE INDEX IF NOT EXISTS groups_inventory ON "
	    "groups(json_extract(data,'$.inventory'), name);\n"
	    "CREATE TABLE IF NOT EXISTS unified_jobs(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " created TEXT NOT NULL, modified TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',"
	    " data TEXT NOT NULL DEFAULT '{}', secret TEXT, type TEXT NOT NULL, status TEXT NOT "
	    "NULL,"
	    " started_ts REAL, finished_ts REAL, events_stored INTEGER NOT NULL DEFAULT 0);\n"
	    "CREATE INDEX IF NOT EXISTS unified_jobs_status ON unified_jobs(status);\n"
	    "CREATE INDEX IF NOT EXISTS unified_jobs_type ON unified_jobs(type, id);\n"
	    "CREATE TABLE IF NOT EXISTS relations(rel INTEGER NOT NULL, parent INTEGER NOT NULL,"
	    " child INTEGER NOT NULL, PRIMARY KEY(rel, parent, child)) WITHOUT ROWID;\n"
	    "CREATE INDEX IF NOT EXISTS relations_child ON relations(rel, child);\n"
	    "CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL,"
	    " counter INTEGER NOT NULL, event TEXT NOT NULL DEFAULT '', event_data TEXT NOT NULL "
	    "DEFAULT '{}',"
	    " failed INTEGER NOT NULL DEFAULT 0, changed INTEGER NOT NULL DEFAULT 0, uuid TEXT NOT "
	    "NULL DEFAULT '',"
	    " parent_uuid TEXT NOT NULL DEFAULT '', host_id INTEGER, host_name TEXT NOT NULL "
	    "DEFAULT '',"
	    " playbook TEXT NOT NULL DEFAULT '', play TEXT NOT NULL DEFAULT '', role TEXT NOT NULL "
	    "DEFAULT '',"
	    " task TEXT NOT NULL DEFAULT '', stdout TEXT NOT NULL DEFAULT '', start_line INTEGER "
	    "NOT NULL DEFAULT 0,"
	    " end_line INTEGER NOT NULL DEFAULT 0, verbosity INTEGER NOT NULL DEFAULT 0, created "
	    "TEXT NOT NULL,"
	    " modified TEXT NOT NULL, job_created TEXT NOT NULL DEFAULT '', UNIQUE(job_id, "
	    "counter));\n"
	    "CREATE INDEX IF NOT EXISTS events_parents ON events(job_id, uuid) WHERE "
	    "substr(event,1,11)='playbook_on';\n"
	    "CREATE INDEX IF NOT EXISTS events_failed ON events(job_id, parent_uuid) WHERE "
	    "failed=1;\n"
	    "CREATE INDEX IF NOT EXISTS events_changed ON events(job_id, parent_uuid) WHERE "
	    "changed=1;\n"
	    "CREATE TABLE IF NOT EXISTS event_parent_flags(job_id INTEGER NOT NULL, uuid TEXT NOT "
	    "NULL,"
	    " failed INTEGER NOT NULL DEFAULT 0, changed INTEGER NOT NULL DEFAULT 0, PRIMARY "
	    "KEY(job_id, uuid))"
	    " WITHOUT ROWID;\n"
	    "CREATE TABLE IF NOT EXISTS host_summaries(id INTEGER PRIMARY KEY, job_id INTEGER NOT "
	    "NULL,"
	    " host_id INTEGER, host_name TEXT NOT NULL, created TEXT NOT NULL, modified TEXT NOT "
	    "NULL,"
	    " changed INTEGER NOT NULL DEFAULT 0, dark INTEGER NOT NULL DEFAULT 0, failures "
	    "INTEGER NOT NULL DEFAULT 0,"
	    " ignored INTEGER NOT NULL DEFAULT 0, ok INTEGER NOT NULL DEFAULT 0, processed INTEGER "
	    "NOT NULL DEFAULT 0,"
	    " rescued INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0, failed "
	    "INTEGER NOT NULL DEFAULT 0,"
	    " UNIQUE(job_id, host_name));\n";
	rn_buf_append(&b, rest, strlen(rest));
	int rc = exec_sql(s, b.data, err);
	rn_buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------------ */
/* shaping: what shape.c asks of the database                          */

/* Count rows of sql with one integer parameter. */
static long count_where(sq *s, const char *sql, long p)
{
	runnel_error e;
	sqlite3_stmt *st = prep(s, sql, &e);
	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, p);
	long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return n;
}

/* shape_source.lookup: the name (and data) of an object. */
static bool src_lookup(void *ctx, store_kind kind, long id, char **name, json_t **data)
{
	sq *s = ctx;
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT name, data FROM %s WHERE id=?", table_of(kind));
	runnel_error e;
	sqlite3_stmt *st = prep(s, sql, &e);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, id);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		*name = rn_xstrdup(col_text(st, 0));
		if (data)
			*data = json_loads(col_text(st, 1), 0, NULL);
	}
	sqlite3_reset(st);
	return found;
}

/* shape_source.count */
static long src_count(void *ctx, shape_count what, long id)
{
	static const char *const sql[] = {
	    [SHAPE_INVENTORY_HOSTS] =
	        "SELECT count(*) FROM hosts WHERE json_extract(data,'$.inventory')=?",
	    [SHAPE_INVENTORY_GROUPS] =
	        "SELECT count(*) FROM groups WHERE json_extract(data,'$.inventory')=?",
	    [SHAPE_INVENTORY_SOURCES] =
	        "SELECT count(*) FROM inventory_sources WHERE json_extract(data,'$.inventory')=?",
	};
	return count_where(ctx, sql[what], id);
}

/* shape_source.host_status: a job's hosts by AWX's status order. */
static bool src_host_status(void *ctx, long job_id, long n[SHAPE_HOST_STATUSES])
{
	sq *s = ctx;
	runnel_error e;
	sqlite3_stmt *st =
	    prep(s,
	         "SELECT sum(CASE WHEN dark>0 THEN 1 ELSE 0 END),"
	         " sum(CASE WHEN dark=0 AND failures>0 THEN 1 ELSE 0 END),"
	         " sum(CASE WHEN dark=0 AND failures=0 AND changed>0 THEN 1 ELSE 0 END),"
	         " sum(CASE WHEN dark=0 AND failures=0 AND changed=0 AND ok>0 THEN 1 ELSE 0 END),"
	         " sum(CASE WHEN dark=0 AND failures=0 AND changed=0 AND ok=0 AND skipped>0"
	         " THEN 1 ELSE 0 END),"
	         " count(*) FROM host_summaries WHERE job_id=?",
	         &e);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, job_id);
	bool any = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 5) > 0;
	if (any)
		for (int i = 0; i < SHAPE_HOST_STATUSES; i++)
			n[i] = (long)sqlite3_column_int64(st, i);
	sqlite3_reset(st);
	return any;
}

/* The shape_source of a connection. */
static shape_source source_of(sq *s)
{
	return (shape_source){
	    .ctx = s, .lookup = src_lookup, .count = src_count, .host_status = src_host_status};
}

/* Get one object; the caller holds the lock. */
static json_t *get_locked(sq *s, store_kind kind, long id, runnel_error *err)
{
	char sql[200];
	if (model_is_job_kind(kind))
		snprintf(sql, sizeof sql,
		         "SELECT created, modified, name, data, secret, events_stored, type"
		         " FROM unified_jobs WHERE id=?");
	else
		snprintf(sql, sizeof sql,
		         "SELECT created, modified, name, data, secret, 0, '' FROM %s WHERE id=?",
		         table_of(kind));
	sqlite3_stmt *st = prep(s, sql, err);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			rn_fail(err, ENOENT, "__all__: Not found.");
		else
			db_fail(s, err, "get");
		return NULL;
	}
	if (model_is_job_kind(kind) && kind != STORE_UNIFIED_JOB &&
	    strcmp(col_text(st, 6), store_kind_type(kind))) {
		sqlite3_reset(st);
		rn_fail(err, ENOENT, "__all__: Not found.");
		return NULL;
	}
	char *created = rn_xstrdup(col_text(st, 0)), *modified = rn_xstrdup(col_text(st, 1));
	char *name = rn_xstrdup(col_text(st, 2));
	json_t *data = json_loads(col_text(st, 3), 0, NULL);
	char *secret =
	    sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : rn_xstrdup(col_text(st, 4));
	long evs = (long)sqlite3_column_int64(st, 5);
	/* shaping reads other rows through the same statement cache */
	sqlite3_reset(st);
	shape_source src = source_of(s);
	shape_row row = {.kind = kind,
	                 .id = id,
	                 .created = created,
	                 .modified = modified,
	                 .name = name,
	                 .data = data,
	                 .secret = secret,
	                 .events_stored = evs};
	json_t *o = shape_object(&src, &row);
	json_decref(data);
	free(created), free(modified), free(name), free(secret);
	return o;
}

/* ------------------------------------------------------------------ */
/* generic CRUD                                                         */

static void lock(sq *s)
{
	pthread_mutex_lock(&s->mu);
}
static void unlock(sq *s)
{
	pthread_mutex_unlock(&s->mu);
}

/* True if an object of kind with id exists. */
static bool exists(sq *s, store_kind kind, long id)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id=?", table_of(kind));
	runnel_error e;
	sqlite3_stmt *st = prep(s, sql, &e);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, id);
	bool r = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return r;
}

/* Check that every fk in v (validated fields) points at an existing object. */
static int check_fks(sq *s, store_kind kind, const json_t *v, runnel_error *err)
{
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)v, k, x) {
		const model_field *f = model_field_find(kind, k);
		if (f && f->type == MT_FK && json_is_integer(x) &&
		    !exists(s, f->fk, (long)json_integer_value(x)))
			return rn_fail(err, EINVAL,
			               "%s: Invalid pk \"%lld\" - object does not exist.", k,
			               (long long)json_integer_value(x));
	}
	return 0;
}

static int read_raw(sq *s, store_kind kind, long id, json_t **data, char **secret,
                    runnel_error *err);

/* Split a credential's inputs by its type (secrets_split_inputs); lock held. */
static int split_inputs(sq *s, json_t *v, long type_id, json_t *secret, runnel_error *err)
{
	if (!json_object_get(v, "inputs"))
		return 0;
	json_t *ct = NULL;
	if (read_raw(s, STORE_CREDENTIAL_TYPE, type_id, &ct, NULL, err) < 0)
		return -1;
	int rc = secrets_split_inputs(&s->key, v, json_object_get(ct, "inputs"),
	                              json_object_get(ct, "kind"), secret, err);
	json_decref(ct);
	return rc;
}

/* Current UTC time as epoch seconds. */
static double epoch_now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/* Write a new row for kind. The caller holds the lock. */
static json_t *create_locked(sq *s, store_kind kind, const json_t *fields, unsigned flags,
                             runnel_error *err)
{
	if (kind == STORE_UNIFIED_JOB)
		return rn_fail(err, EINVAL, "type: Create a job of a concrete type."), NULL;
	json_t *v;
	if (model_validate(kind, fields, flags, true, &v, err) < 0)
		return NULL;
	if (check_fks(s, kind, v, err) < 0) {
		json_decref(v);
		return NULL;
	}
	char *secret = NULL;
	const char *name = json_string_value(json_object_get(v, "name"));
	if (kind == STORE_USER) {
		name = json_string_value(json_object_get(v, "username"));
		json_t *pw = json_object_get(v, "password");
		if (json_is_string(pw) && *json_string_value(pw)) {
			char h[crypto_pwhash_STRBYTES];
			if (secrets_password_hash(json_string_value(pw), json_string_length(pw),
			                          h) < 0) {
				json_decref(v);
				return rn_fail(err, ENOMEM, "password: could not hash"), NULL;
			}
			secret = rn_xstrdup(h);
		}
		json_object_del(v, "password");
	}
	if (kind == STORE_CREDENTIAL) {
		json_t *sec = json_object();
		if (split_inputs(s, v,
		                 (long)json_integer_value(json_object_get(v, "credential_type")),
		                 sec, err) < 0) {
			json_decref(sec);
			json_decref(v);
			return NULL;
		}
		secret = json_dumps(sec, JSON_COMPACT);
		json_decref(sec);
	}
	if (model_is_job_kind(kind) && !json_object_get(fields, "type"))
		json_object_set_new(v, "type", json_string(store_kind_type(kind)));
	if (!name)
		name = "";
	char now[32];
	model_now(now);
	char *data = json_dumps(v, JSON_COMPACT);
	char sql[256];
	if (model_is_job_kind(kind))
		snprintf(
		    sql, sizeof sql,
		    "INSERT INTO unified_jobs(created, modified, name, data, secret, type, status)"
		    " VALUES(?,?,?,?,?,?,?)");
	else
		snprintf(sql, sizeof sql,
		         "INSERT INTO %s(created, modified, name, data, secret) VALUES(?,?,?,?,?)",
		         table_of(kind));
	sqlite3_stmt *st = prep(s, sql, err);
	if (!st) {
		free(data), free(secret), json_decref(v);
		return NULL;
	}
	sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, data, -1, SQLITE_TRANSIENT);
	if (secret)
		sqlite3_bind_text(st, 5, secret, -1, SQLITE_TRANSIENT);
	if (model_is_job_kind(kind)) {
		sqlite3_bind_text(st, 6, json_string_value(json_object_get(v, "type")), -1,
		                  SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 7, json_string_value(json_object_get(v, "status")), -1,
		                  SQLITE_TRANSIENT);
	}
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(data), free(secret), json_decref(v);
	if (rc == SQLITE_CONSTRAINT) {
		const char *f = kind == STORE_USER ? "username" : "name";
		return rn_fail(err, EEXIST, "%s: %s with this %s already exists.", f,
		               store_kind_type(kind), f),
		       NULL;
	}
	if (rc != SQLITE_DONE)
		return db_fail(s, err, "insert"), NULL;
	return get_locked(s, kind, (long)sqlite3_last_insert_rowid(s->db), err);
}

/* Create an object. */
static json_t *sq_create(store *st, store_kind kind, const json_t *fields, unsigned flags,
                         runnel_error *err)
{
	sq *s = SQ(st);
	lock(s);
	json_t *r = create_locked(s, kind, fields, flags, err);
	unlock(s);
	return r;
}

/* Get an object. */
static json_t *sq_get(store *st, store_kind kind, long id, runnel_error *err)
{
	sq *s = SQ(st);
	lock(s);
	json_t *r = get_locked(s, kind, id, err);
	unlock(s);
	return r;
}

/* Read the raw data/secret of a row. The caller holds the lock; frees *data, *secret. */
static int read_raw(sq *s, store_kind kind, long id, json_t **data, char **secret,
                    runnel_error *err)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT data, secret%s FROM %s WHERE id=?",
	         model_is_job_kind(kind) ? ", type" : ", ''", table_of(kind));
	sqlite3_stmt *st = prep(s, sql, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW ||
	    (model_is_job_kind(kind) && kind != STORE_UNIFIED_JOB &&
	     strcmp(col_text(st, 2), store_kind_type(kind)))) {
		sqlite3_reset(st);
		return rn_fail(err, ENOENT, "__all__: Not found.");
	}
	*data = json_loads(col_text(st, 0), 0, NULL);
	if (!*data)
		*data = json_object();
	if (secret)
		*secret =
		    sqlite3_column_type(st, 1) == SQLITE_NULL ? NULL : rn_xstrdup(col_text(st, 1));
	sqlite3_reset(st);
	return 0;
}

/* Write data (and secret, when not NULL) of a row back; syncs the real columns. Lock held. */
static int write_raw(sq *s, store_kind kind, long id, json_t *data, const char *secret,
                     runnel_error *err)
{
	char now[32];
	model_now(now);
	const char *name =
	    json_string_value(json_object_get(data, kind == STORE_USER ? "username" : "name"));
	char *text = json_dumps(data, JSON_COMPACT);
	char sql[256];
	if (model_is_job_kind(kind))
		snprintf(sql, sizeof sql,
		         "UPDATE unified_jobs SET modified=?, name=coalesce(?, name), data=?,"
		         " secret=coalesce(?, secret), status=coalesce(?, status) WHERE id=?");
	else
		snprintf(sql, sizeof sql,
		         "UPDATE %s SET modified=?1, name=coalesce(?2, name), data=?3,"
		         " secret=coalesce(?4, secret) WHERE id=?6",
		         table_of(kind));
	sqlite3_stmt *st = prep(s, sql, err);
	if (!st) {
		free(text);
		return -1;
	}
	sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
	if (name)
		sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
	if (secret)
		sqlite3_bind_text(st, 4, secret, -1, SQLITE_TRANSIENT);
	const char *status = json_string_value(json_object_get(data, "status"));
	if (status && model_is_job_kind(kind))
		sqlite3_bind_text(st, 5, status, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, id);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(text);
	if (rc == SQLITE_CONSTRAINT)
		return rn_fail(err, EEXIST, "%s: %s with this name already exists.",
		               kind == STORE_USER ? "username" : "name", store_kind_type(kind));
	if (rc != SQLITE_DONE)
		return db_fail(s, err, "update");
	return 0;
}

/* Update an object (PATCH). */
static json_t *sq_update(store *st, store_kind kind, long id, const json_t *fields, unsigned flags,
                         runnel_error *err)
{
	sq *s = SQ(st);
	json_t *v = NULL, *data = NULL, *r = NULL;
	char *secret = NULL, *newsecret = NULL;
	bool in_tx = false;
	lock(s);
	if (model_validate(kind, fields, flags, false, &v, err) < 0 ||
	    check_fks(s, kind, v, err) < 0)
		goto out;
	/* read-modify-write of the row in one transaction: another process (a
	 * worker, the receiver) may write the same row meanwhile */
	if (exec_sql(s, "BEGIN IMMEDIATE", err) < 0)
		goto out;
	in_tx = true;
	if (read_raw(s, kind, id, &data, &secret, err) < 0)
		goto out;
	if (kind == STORE_USER) {
		json_t *pw = json_object_get(v, "password");
		if (json_is_string(pw) && *json_string_value(pw) &&
		    strcmp(json_string_value(pw), "$encrypted$")) {
			char h[crypto_pwhash_STRBYTES];
			if (secrets_password_hash(json_string_value(pw), json_string_length(pw),
			                          h) < 0) {
				rn_fail(err, ENOMEM, "password: could not hash");
				goto out;
			}
			newsecret = rn_xstrdup(h);
		}
		json_object_del(v, "password");
	}
	if (kind == STORE_CREDENTIAL && json_object_get(v, "inputs")) {
		json_t *ct = json_object_get(v, "credential_type");
		if (!ct)
			ct = json_object_get(data, "credential_type");
		/* A PUT/PATCH of inputs replaces them: secrets not named are dropped
		 * unless given as "$encrypted$". */
		json_t *keep = secrets_inputs_kept(json_object_get(v, "inputs"), secret);
		if (split_inputs(s, v, (long)json_integer_value(ct), keep, err) < 0) {
			json_decref(keep);
			goto out;
		}
		newsecret = json_dumps(keep, JSON_COMPACT);
		json_decref(keep);
	}
	json_object_update(data, v);
	if (write_raw(s, kind, id, data, newsecret, err) < 0)
		goto out;
	if (exec_sql(s, "COMMIT", err) < 0)
		goto out;
	in_tx = false;
	r = get_locked(s, kind, id, err);
out:
	if (in_tx)
		exec_sql(s, "ROLLBACK", NULL);
	unlock(s);
	json_decref(v);
	json_decref(data);
	free(secret);
	free(newsecret);
	return r;
}

/* Run sql with one integer parameter; lock held. */
static int exec_id(sq *s, const char *sql, long id, runnel_error *err)
{
	sqlite3_stmt *st = prep(s, sql, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_fail(s, err, "delete");
}

/* Delete one unified job and what hangs off it; lock and transaction held. */
static int delete_job_locked(sq *s, long id, runnel_error *err)
{
	char sql[128];
	if (exec_id(s, "DELETE FROM events WHERE job_id=?", id, err) < 0 ||
	    exec_id(s, "DELETE FROM event_parent_flags WHERE job_id=?", id, err) < 0 ||
	    exec_id(s, "DELETE FROM host_summaries WHERE job_id=?", id, err) < 0)
		return -1;
	snprintf(sql, sizeof sql, "DELETE FROM relations WHERE rel=%d AND parent=?",
	         STORE_REL_JOB_CREDENTIALS);
	if (exec_id(s, sql, id, err) < 0)
		return -1;
	return exec_id(s, "DELETE FROM unified_jobs WHERE id=?", id, err);
}

/* Delete an object and its dependents. */
static int sq_remove(store *st, store_kind kind, long id, runnel_error *err)
{
	sq *s = SQ(st);
	int rc = -1;
	lock(s);
	json_t *o = get_locked(s, kind, id, err);
	if (!o)
		goto out;
	json_decref(o);
	if (exec_sql(s, "BEGIN IMMEDIATE", err) < 0)
		goto out;
	char sql[256];
	if (model_is_job_kind(kind)) {
		rc = delete_job_locked(s, id, err);
	} else {
		rc = 0;
		if (kind == STORE_INVENTORY) {
			static const char *const dep[] = {
			    "DELETE FROM relations WHERE rel IN (3,4) AND parent IN (SELECT id "
			    "FROM groups WHERE json_extract(data,'$.inventory')=?1)",
			    "DELETE FROM relations WHERE rel=3 AND child IN (SELECT id FROM hosts "
			    "WHERE json_extract(data,'$.inventory')=?1)",
			    "DELETE FROM hosts WHERE json_extract(data,'$.inventory')=?",
			    "DELETE FROM groups WHERE json_extract(data,'$.inventory')=?",
			    "DELETE FROM inventory_sources WHERE "
			    "json_extract(data,'$.inventory')=?",
			    NULL};
			for (int i = 0; dep[i] && rc == 0; i++)
				rc = exec_id(s, dep[i], id, err);
		} else if (kind == STORE_GROUP) {
			rc = exec_id(s, "DELETE FROM relations WHERE rel IN (3,4) AND parent=?", id,
			             err);
			if (!rc)
				rc = exec_id(s, "DELETE FROM relations WHERE rel=4 AND child=?", id,
				             err);
		} else if (kind == STORE_HOST) {
			rc = exec_id(s, "DELETE FROM relations WHERE rel=3 AND child=?", id, err);
		} else if (kind == STORE_JOB_TEMPLATE) {
			rc = exec_id(s, "DELETE FROM relations WHERE rel=1 AND parent=?", id, err);
		} else if (kind == STORE_CREDENTIAL) {
			rc = exec_id(s, "DELETE FROM relations WHERE rel IN (1,2) AND child=?", id,
			             err);
		} else if (kind == STORE_USER) {
			/* as AWX (CASCADE): a deleted user's tokens go with it */
			rc = exec_id(s, "DELETE FROM tokens WHERE json_extract(data,'$.user')=?",
			             id, err);
		}
		if (!rc) {
			snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id=?", table_of(kind));
			rc = exec_id(s, sql, id, err);
		}
	}
	if (rc == 0)
		rc = exec_sql(s, "COMMIT", err);
	else
		exec_sql(s, "ROLLBACK", NULL);
out:
	unlock(s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* queries: query.h's neutral form as SQL                              */

/* An event's failed / changed (printf with the column twice): its own flag,
 * or for a parent (playbook_on_*) the flag its children gave it
 * (event_parent_flags, see store_stats). */
#define PARENT_FLAG_EXPR                                                                           \
	"(CASE WHEN events.%s THEN 1 WHEN substr(events.event,1,11)<>'playbook_on' THEN 0"         \
	" ELSE coalesce((SELECT p.%s FROM event_parent_flags p"                                    \
	" WHERE p.job_id=events.job_id AND p.uuid=events.uuid),0) END)"

/* The SQL expression of a field query.c resolved (its name is a plain identifier). */
static char *column_of(const query *qy, const query_field *f)
{
	const char *n = f->name;
	switch (qy->target) {
	case QUERY_EVENTS:
		if (!strcmp(n, "host"))
			return rn_xstrdup("host_id");
		if (!strcmp(n, "failed") || !strcmp(n, "changed"))
			return rn_xasprintf(PARENT_FLAG_EXPR, n, n);
		return rn_xstrdup(n);
	case QUERY_HOST_SUMMARIES:
		return rn_xstrdup(!strcmp(n, "host") ? "host_id" : n);
	case QUERY_OBJECTS:
	default:
		if (f->cls == QF_DATA)
			return rn_xasprintf("json_extract(data,'$.%s')", n);
		if (!strcmp(n, "username"))
			return rn_xstrdup("name");
		return rn_xstrdup(n);
	}
}

/* The SQL of one condition on expr, its values appended to binds. */
static char *cond_sql(const query_cond *c, const char *expr, json_t *binds)
{
	const char *fmt = NULL;
	switch (c->lookup) {
	case QL_ISNULL:
		return rn_xasprintf("%s IS %sNULL", expr, json_is_true(c->value) ? "" : "NOT ");
	case QL_IN: {
		rn_buf b;
		rn_buf_init(&b);
		rn_buf_append(&b, expr, strlen(expr));
		rn_buf_append(&b, " IN (", 5);
		size_t i;
		json_t *v;
		json_array_foreach(c->value, i, v) {
			json_array_append(binds, v);
			rn_buf_append(&b, i ? ",?" : "?", i ? 2 : 1);
		}
		if (!json_array_size(c->value))
			rn_buf_append(&b, "NULL", 4);
		rn_buf_appendc(&b, ')');
		return b.data;
	}
	case QL_EXACT:
		fmt = json_is_null(c->value) ? "%s IS ?" : "%s = ?";
		break;
	case QL_GT:
		fmt = "%s > ?";
		break;
	case QL_GTE:
		fmt = "%s >= ?";
		break;
	case QL_LT:
		fmt = "%s < ?";
		break;
	case QL_LTE:
		fmt = "%s <= ?";
		break;
	case QL_IEXACT:
		fmt = "%s = ? COLLATE NOCASE";
		break;
	case QL_CONTAINS:
		fmt = "instr(%s, ?) > 0";
		break;
	case QL_ICONTAINS:
		fmt = "%s LIKE '%%' || ? || '%%'";
		break;
	/* SQLite's LIKE ignores the case of ASCII letters: startswith and
	 * endswith have always done so here */
	case QL_STARTSWITH:
	case QL_ISTARTSWITH:
		fmt = "%s LIKE ? || '%%'";
		break;
	case QL_ENDSWITH:
	case QL_IENDSWITH:
		fmt = "%s LIKE '%%' || ?";
		break;
	case QL_REGEX:
		fmt = "rn_regex(%s, ?, 0)";
		break;
	case QL_IREGEX:
		fmt = "rn_regex(%s, ?, 1)";
		break;
	default:
		fmt = "%s = ?";
		break;
	}
	json_array_append(binds, c->value);
	return rn_xasprintf(fmt, expr);
}

/* " AND <cond>" for each condition of qy, appended to where; binds to binds. */
static void where_sql(const query *qy, rn_buf *where, json_t *binds)
{
	for (size_t i = 0; i < qy->nconds; i++) {
		const query_cond *c = &qy->conds[i];
		char *expr = column_of(qy, &c->field);
		char *cond = cond_sql(c, expr, binds);
		/* negated: rows where it is not true (a NULL field too, as Django's exclude) */
		char *clause = c->negated ? rn_xasprintf(" AND NOT coalesce((%s), 0)", cond)
		                          : rn_xasprintf(" AND %s", cond);
		rn_buf_append(where, clause, strlen(clause));
		free(clause);
		free(cond);
		free(expr);
	}
}

/* " ORDER BY ..., id" of qy. Caller frees. */
static char *order_sql(const query *qy)
{
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_append(&b, " ORDER BY ", 10);
	for (size_t i = 0; i < qy->norder; i++) {
		char *expr = column_of(qy, &qy->order[i].field);
		rn_buf_append(&b, expr, strlen(expr));
		if (qy->order[i].descending)
			rn_buf_append(&b, " DESC", 5);
		rn_buf_append(&b, ", ", 2);
		free(expr);
	}
	rn_buf_append(&b, "id", 2);
	return b.data;
}

/* rn_regex(text, pattern, icase): 1 if the PCRE2 pattern matches text (NULL
 * when text is NULL). The compiled pattern is kept with the statement. */
static void regex_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	pcre2_code *re = sqlite3_get_auxdata(ctx, 1);
	if (!re) {
		const char *pat = (const char *)sqlite3_value_text(argv[1]);
		int code;
		PCRE2_SIZE off;
		uint32_t opts = PCRE2_UTF | (sqlite3_value_int(argv[2]) ? PCRE2_CASELESS : 0);
		re = pat ? pcre2_compile((PCRE2_SPTR)pat, (size_t)sqlite3_value_bytes(argv[1]),
		                         opts, &code, &off, NULL)
		         : NULL;
		if (!re) {
			sqlite3_result_error(ctx, "invalid regular expression", -1);
			return;
		}
		sqlite3_set_auxdata(ctx, 1, re, (void (*)(void *))pcre2_code_free);
		re = sqlite3_get_auxdata(ctx, 1);
		if (!re) { /* SQLite could not keep it (out of memory): it freed it */
			sqlite3_result_error_nomem(ctx);
			return;
		}
	}
	const unsigned char *text = sqlite3_value_text(argv[0]);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	if (!md || !text) {
		pcre2_match_data_free(md);
		sqlite3_result_error_nomem(ctx);
		return;
	}
	int rc = pcre2_match(re, text, (size_t)sqlite3_value_bytes(argv[0]), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	sqlite3_result_int(ctx, rc >= 0);
}

/* The functions the queries call, on a new connection. */
static int add_functions(sqlite3 *db)
{
	return sqlite3_create_function_v2(db, "rn_regex", 3,
	                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
	                                  NULL, regex_fn, NULL, NULL, NULL);
}

/* Bind an array of values starting at parameter 1. */
static void bind_all(sqlite3_stmt *st, const json_t *binds)
{
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)binds, i, v)
		bind_json(st, (int)i + 1, v);
}

/* List objects. */
static int sq_list(store *st, store_kind kind, const store_query *q, store_page *out,
                   runnel_error *err)
{
	sq *s = SQ(st);
	out->count = 0;
	out->results = NULL;
	rn_buf where;
	rn_buf_init(&where);
	rn_buf_append(&where, " WHERE 1", 8);
	json_t *binds = json_array();
	if (model_is_job_kind(kind) && kind != STORE_UNIFIED_JOB) {
		rn_buf_append(&where, " AND type = ?", 13);
		json_array_append_new(binds, json_string(store_kind_type(kind)));
	}
	if (q && q->rel != STORE_REL_NONE) {
		const char *c =
		    q->rel_reverse
		        ? " AND id IN (SELECT parent FROM relations WHERE rel=? AND child=?)"
		        : " AND id IN (SELECT child FROM relations WHERE rel=? AND parent=?)";
		rn_buf_append(&where, c, strlen(c));
		json_array_append_new(binds, json_integer(q->rel));
		json_array_append_new(binds, json_integer(q->rel_parent));
	}
	char *order = NULL;
	int rc = -1;
	query qy;
	if (query_parse(QUERY_OBJECTS, kind, q, &qy, err) < 0)
		goto out;
	where_sql(&qy, &where, binds);
	order = order_sql(&qy);
	long limit = qy.limit, offset = qy.offset;
	query_clear(&qy);
	lock(s);
	char *sql = rn_xasprintf("SELECT count(*) FROM %s%s", table_of(kind), where.data);
	sqlite3_stmt *stm = prep(s, sql, err);
	free(sql);
	if (!stm) {
		unlock(s);
		goto out;
	}
	bind_all(stm, binds);
	if (sqlite3_step(stm) != SQLITE_ROW) {
		db_fail(s, err, "count");
		sqlite3_reset(stm);
		unlock(s);
		goto out;
	}
	out->count = (long)sqlite3_column_int64(stm, 0);
	sqlite3_reset(stm);
	sql = rn_xasprintf("SELECT id FROM %s%s%s LIMIT %ld OFFSET %ld", table_of(kind), where.data,
	                   order, limit, offset);
	stm = prep(s, sql, err);
	free(sql);
	if (!stm) {
		unlock(s);
		goto out;
	}
	bind_all(stm, binds);
	json_t *ids = json_array();
	int step;
	while ((step = sqlite3_step(stm)) == SQLITE_ROW)
		json_array_append_new(ids, json_integer(sqlite3_column_int64(stm, 0)));
	sqlite3_reset(stm);
	out->results = json_array();
	size_t i;
	json_t *idv;
	json_array_foreach(ids, i, idv) {
		json_t *o = get_locked(s, kind, (long)json_integer_value(idv), err);
		if (o)
			json_array_append_new(out->results, o);
	}
	json_decref(ids);
	rc = step == SQLITE_DONE ? 0 : db_fail(s, err, "list");
	unlock(s);
	if (rc < 0)
		store_page_clear(out);
out:
	free(order);
	rn_buf_free(&where);
	json_decref(binds);
	return rc;
}

/* ------------------------------------------------------------------ */
/* relations                                                            */

/* The kinds a relation joins. */
static void rel_kinds(store_rel rel, store_kind *parent, store_kind *child)
{
	switch (rel) {
	case STORE_REL_JOB_TEMPLATE_CREDENTIALS:
		*parent = STORE_JOB_TEMPLATE;
		*child = STORE_CREDENTIAL;
		break;
	case STORE_REL_JOB_CREDENTIALS:
		*parent = STORE_UNIFIED_JOB;
		*child = STORE_CREDENTIAL;
		break;
	case STORE_REL_GROUP_HOSTS:
		*parent = STORE_GROUP;
		*child = STORE_HOST;
		break;
	case STORE_REL_GROUP_CHILDREN:
		*parent = STORE_GROUP;
		*child = STORE_GROUP;
		break;
	default:
		*parent = *child = STORE_KIND_COUNT;
		break;
	}
}

/* Insert or delete a relation row. */
static int relate(store *st, store_rel rel, long parent, long child, bool add, runnel_error *err)
{
	sq *s = SQ(st);
	store_kind pk, ck;
	rel_kinds(rel, &pk, &ck);
	if (pk == STORE_KIND_COUNT)
		return rn_fail(err, EINVAL, "__all__: Unknown relation.");
	lock(s);
	int rc = -1;
	if (!exists(s, pk, parent)) {
		rn_fail(err, ENOENT, "__all__: Not found.");
		goto out;
	}
	if (add && !exists(s, ck, child)) {
		rn_fail(err, EINVAL, "id: Invalid pk \"%ld\" - object does not exist.", child);
		goto out;
	}
	if (add && rel == STORE_REL_GROUP_CHILDREN && parent == child) {
		rn_fail(err, EINVAL, "id: Cyclical group association.");
		goto out;
	}
	sqlite3_stmt *stm =
	    prep(s,
	         add ? "INSERT OR IGNORE INTO relations(rel, parent, child) VALUES(?,?,?)"
	             : "DELETE FROM relations WHERE rel=? AND parent=? AND child=?",
	         err);
	if (!stm)
		goto out;
	sqlite3_bind_int(stm, 1, rel);
	sqlite3_bind_int64(stm, 2, parent);
	sqlite3_bind_int64(stm, 3, child);
	rc = sqlite3_step(stm) == SQLITE_DONE ? 0 : db_fail(s, err, "relation");
	sqlite3_reset(stm);
out:
	unlock(s);
	return rc;
}

/* Relate parent and child. */
static int sq_associate(store *st, store_rel rel, long parent, long child, runnel_error *err)
{
	return relate(st, rel, parent, child, true, err);
}

/* Unrelate parent and child. */
static int sq_disassociate(store *st, store_rel rel, long parent, long child, runnel_error *err)
{
	return relate(st, rel, parent, child, false, err);
}

/* The ids related to id; lock held. */
static json_t *related_locked(sq *s, store_rel rel, long id, bool reverse, runnel_error *err)
{
	sqlite3_stmt *stm =
	    prep(s,
	         reverse ? "SELECT parent FROM relations WHERE rel=? AND child=? ORDER BY parent"
	                 : "SELECT child FROM relations WHERE rel=? AND parent=? ORDER BY child",
	         err);
	if (!stm)
		return NULL;
	sqlite3_bind_int(stm, 1, rel);
	sqlite3_bind_int64(stm, 2, id);
	json_t *a = json_array();
	while (sqlite3_step(stm) == SQLITE_ROW)
		json_array_append_new(a, json_integer(sqlite3_column_int64(stm, 0)));
	sqlite3_reset(stm);
	return a;
}

/* The ids related to id. */
static json_t *sq_related_ids(store *st, store_rel rel, long id, bool reverse, runnel_error *err)
{
	sq *s = SQ(st);
	lock(s);
	json_t *a = related_locked(s, rel, id, reverse, err);
	unlock(s);
	return a;
}

/* ------------------------------------------------------------------ */
/* users, tokens, credentials                                           */

/* Check a username/password. */
static json_t *sq_user_authenticate(store *st, const char *username, const char *password,
                                    unsigned char *stamp, runnel_error *err)
{
	sq *s = SQ(st);
	lock(s);
	json_t *r = NULL;
	sqlite3_stmt *stm = prep(s, "SELECT id, secret FROM users WHERE name=?", err);
	if (!stm)
		goto out;
	sqlite3_bind_text(stm, 1, username, -1, SQLITE_TRANSIENT);
	long id = 0;
	char *hash = NULL;
	if (sqlite3_step(stm) == SQLITE_ROW) {
		id = (long)sqlite3_column_int64(stm, 0);
		if (sqlite3_column_type(stm, 1) != SQLITE_NULL)
			hash = rn_xstrdup(col_text(stm, 1));
	}
	sqlite3_reset(stm);
	bool ok = secrets_password_check(hash, password);
	if (ok && stamp)
		secrets_stamp(hash, stamp);
	free(hash);
	if (!ok) {
		rn_fail(err, EACCES, "__all__: Invalid username/password.");
		goto out;
	}
	r = get_locked(s, STORE_USER, id, err);
out:
	unlock(s);
	return r;
}

/* A stamp of a user's password hash: BLAKE2b of the stored hash. */
static int sq_user_secret_stamp(store *st, long user_id, unsigned char stamp[32], runnel_error *err)
{
	sq *s = SQ(st);
	lock(s);
	int rc = -1;
	sqlite3_stmt *stm = prep(s, "SELECT secret FROM users WHERE id=?", err);
	if (stm) {
		sqlite3_bind_int64(stm, 1, user_id);
		if (sqlite3_step(stm) == SQLITE_ROW) {
			secrets_stamp(col_text(stm, 0), stamp);
			rc = 0;
		} else {
			rn_fail(err, ENOENT, "user %ld: not found", user_id);
		}
		sqlite3_reset(stm);
	}
	unlock(s);
	return rc;
}

/* Make a token for a user: the caller's description and scope, the user
 * and the expiry set here (the caller's read-only fields are dropped). */
static json_t *sq_token_create(store *st, long user_id, const json_t *fields,
                               long long expire_seconds, runnel_error *err)
{
	sq *s = SQ(st);
	json_t *f = fields ? json_deep_copy(fields) : json_object();
	if (!json_is_object(f)) {
		json_decref(f);
		return rn_fail(err, EINVAL, "__all__: Invalid data. Expected a dictionary."), NULL;
	}
	for (const model_field *mf = model_fields(STORE_TOKEN); mf->name; mf++)
		if (mf->flags & MF_RO)
			json_object_del(f, mf->name);
	json_object_set_new(f, "user", json_integer(user_id));
	char expires[32];
	model_time_after(expire_seconds > 0 ? expire_seconds : MODEL_TOKEN_EXPIRE_SECONDS, expires);
	json_object_set_new(f, "expires", json_string(expires));
	char tok[49];
	secrets_token_new(tok);
	char hash[65];
	secrets_token_hash(tok, hash);
	lock(s);
	json_t *o = create_locked(s, STORE_TOKEN, f, STORE_SYSTEM, err);
	json_decref(f);
	if (o) {
		sqlite3_stmt *stm = prep(s, "UPDATE tokens SET secret=? WHERE id=?", err);
		int rc = SQLITE_ERROR;
		if (stm) {
			sqlite3_bind_text(stm, 1, hash, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(stm, 2, json_integer_value(json_object_get(o, "id")));
			rc = sqlite3_step(stm);
			sqlite3_reset(stm);
		}
		if (rc != SQLITE_DONE) {
			/* a token without its hash could never be used: do not hand it out */
			runnel_error e2 = {0};
			exec_id(s, "DELETE FROM tokens WHERE id=?",
			        (long)json_integer_value(json_object_get(o, "id")), &e2);
			json_decref(o);
			o = NULL;
			rn_fail(err, EIO, "token: cannot store its hash: %s",
			        sqlite3_errmsg(s->db));
		} else {
			json_object_set_new(o, "token", json_string(tok));
			json_object_set_new(o, "refresh_token", json_null());
		}
	}
	unlock(s);
	sodium_memzero(tok, sizeof tok);
	return o;
}

/* The user of a token that has not expired (and the token, in *token_out). */
static json_t *sq_token_authenticate(store *st, const char *token, json_t **token_out,
                                     runnel_error *err)
{
	sq *s = SQ(st);
	if (token_out)
		*token_out = NULL;
	char hash[65];
	secrets_token_hash(token, hash);
	lock(s);
	json_t *r = NULL;
	sqlite3_stmt *stm = prep(s, "SELECT id FROM tokens WHERE secret=?", err);
	if (stm) {
		sqlite3_bind_text(stm, 1, hash, -1, SQLITE_TRANSIENT);
		long tid = sqlite3_step(stm) == SQLITE_ROW ? (long)sqlite3_column_int64(stm, 0) : 0;
		sqlite3_reset(stm);
		runnel_error e2 = {0};
		json_t *tok = tid ? get_locked(s, STORE_TOKEN, tid, &e2) : NULL;
		const char *expires = json_string_value(json_object_get(tok, "expires"));
		long uid = (long)json_integer_value(json_object_get(tok, "user"));
		if (tok && expires && model_time_passed(expires))
			uid = 0;
		if (uid)
			r = get_locked(s, STORE_USER, uid, &e2);
		if (r) {
			if (token_out)
				*token_out = json_incref(tok);
		} else {
			rn_fail(err, EACCES,
			        "__all__: Authentication credentials were not provided.");
		}
		json_decref(tok);
	}
	unlock(s);
	return r;
}

/* A credential's inputs with secrets decrypted. */
static json_t *sq_credential_inputs(store *st, long id, runnel_error *err)
{
	sq *s = SQ(st);
	json_t *data = NULL;
	char *secret = NULL;
	lock(s);
	if (read_raw(s, STORE_CREDENTIAL, id, &data, &secret, err) < 0) {
		unlock(s);
		return NULL;
	}
	unlock(s);
	json_t *in = secrets_open_inputs(&s->key, data, secret, err);
	json_decref(data);
	free(secret);
	return in;
}

/* ------------------------------------------------------------------ */
/* inventories                                                          */

/* The inventory as ansible-inventory --list prints it (inventory_render.h). */
static json_t *sq_inventory_script(store *st, long inv, runnel_error *err)
{
	sq *s = SQ(st);
	json_t *out = NULL;
	inventory_rows rows = {0};
	json_t *invdata = NULL;
	lock(s);
	if (read_raw(s, STORE_INVENTORY, inv, &invdata, NULL, err) < 0)
		goto out;
	static const char *const members[] = {
	    "SELECT id, name, json_extract(data,'$.variables') FROM groups"
	    " WHERE json_extract(data,'$.inventory')=? ORDER BY name",
	    "SELECT id, name, json_extract(data,'$.variables') FROM hosts"
	    " WHERE json_extract(data,'$.inventory')=? AND json_extract(data,'$.enabled')"
	    " ORDER BY name",
	};
	for (int m = 0; m < 2; m++) {
		sqlite3_stmt *stm = prep(s, members[m], err);
		if (!stm)
			goto out;
		sqlite3_bind_int64(stm, 1, inv);
		while (sqlite3_step(stm) == SQLITE_ROW)
			(m ? inventory_rows_add_host
			   : inventory_rows_add_group)(&rows, (long)sqlite3_column_int64(stm, 0),
			                               col_text(stm, 1), col_text(stm, 2));
		sqlite3_reset(stm);
	}
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SELECT rel, parent, child FROM relations WHERE rel IN (%d,%d) AND parent IN"
	         " (SELECT id FROM groups WHERE json_extract(data,'$.inventory')=?)"
	         " ORDER BY rel, parent, child",
	         STORE_REL_GROUP_HOSTS, STORE_REL_GROUP_CHILDREN);
	sqlite3_stmt *stm = prep(s, sql, err);
	if (!stm)
		goto out;
	sqlite3_bind_int64(stm, 1, inv);
	while (sqlite3_step(stm) == SQLITE_ROW)
		inventory_rows_add_edge(
		    &rows, sqlite3_column_int(stm, 0) == STORE_REL_GROUP_CHILDREN,
		    (long)sqlite3_column_int64(stm, 1), (long)sqlite3_column_int64(stm, 2));
	sqlite3_reset(stm);
	out = inventory_render(json_string_value(json_object_get(invdata, "variables")), &rows);
out:
	unlock(s);
	json_decref(invdata);
	inventory_rows_free(&rows);
	return out;
}

/* The id of a host/group named name in inventory inv (lock held), creating
 * it (with vars) or updating its vars. 0 with err on failure. */
static long upsert_member(sq *s, store_kind kind, long inv, const char *name, json_t *vars,
                          runnel_error *err)
{
	char sql[160];
	snprintf(sql, sizeof sql,
	         "SELECT id FROM %s WHERE json_extract(data,'$.inventory')=? AND name=?",
	         table_of(kind));
	sqlite3_stmt *stm = prep(s, sql, err);
	if (!stm)
		return 0;
	sqlite3_bind_int64(stm, 1, inv);
	sqlite3_bind_text(stm, 2, name, -1, SQLITE_TRANSIENT);
	long id = sqlite3_step(stm) == SQLITE_ROW ? (long)sqlite3_column_int64(stm, 0) : 0;
	sqlite3_reset(stm);
	char *vtext = vars ? json_dumps(vars, JSON_COMPACT) : rn_xstrdup("{}");
	if (id) {
		json_t *data;
		if (read_raw(s, kind, id, &data, NULL, err) < 0) {
			free(vtext);
			return 0;
		}
		json_object_set_new(data, "variables", json_string(vtext));
		int rc = write_raw(s, kind, id, data, NULL, err);
		json_decref(data);
		free(vtext);
		return rc < 0 ? 0 : id;
	}
	json_t *f = json_pack("{s:s,s:I,s:s}", "name", name, "inventory", (json_int_t)inv,
	                      "variables", vtext);
	free(vtext);
	json_t *o = create_locked(s, kind, f, STORE_SYSTEM, err);
	json_decref(f);
	if (!o)
		return 0;
	id = (long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	return id;
}

/* Import ansible-inventory --list output. */
static int sq_inventory_import(store *st, long inv, const json_t *data, bool overwrite,
                               long *nhosts, long *ngroups, runnel_error *err)
{
	sq *s = SQ(st);
	if (!json_is_object(data))
		return rn_fail(err, EINVAL, "__all__: inventory data is not an object");
	lock(s);
	if (!exists(s, STORE_INVENTORY, inv)) {
		unlock(s);
		return rn_fail(err, ENOENT, "__all__: Not found.");
	}
	if (exec_sql(s, "BEGIN IMMEDIATE", err) < 0) {
		unlock(s);
		return -1;
	}
	json_t *hostvars = json_object_get(json_object_get(data, "_meta"), "hostvars");
	json_t *hostids = json_object(), *groupids = json_object();
	long nh = 0, ng = 0;
	int rc = 0;
	/* hosts: every host named anywhere */
	const char *gname;
	json_t *g;
	json_t *hostnames = json_object();
	json_object_foreach((json_t *)data, gname, g) {
		size_t i;
		json_t *h;
		json_array_foreach(json_object_get(g, "hosts"), i, h)
			if (json_is_string(h))
				json_object_set_new(hostnames, json_string_value(h), json_true());
	}
	const char *hn;
	json_t *hv;
	json_object_foreach(hostvars, hn, hv)
		json_object_set_new(hostnames, hn, json_true());
	json_object_foreach(hostnames, hn, hv) {
		long id = upsert_member(s, STORE_HOST, inv, hn, json_object_get(hostvars, hn), err);
		if (!id) {
			rc = -1;
			break;
		}
		json_object_set_new(hostids, hn, json_integer(id));
		nh++;
	}
	/* groups */
	json_object_foreach((json_t *)data, gname, g) {
		if (rc < 0)
			break;
		if (!strcmp(gname, "_meta") || !strcmp(gname, "ungrouped") || !json_is_object(g))
			continue;
		if (!strcmp(gname, "all")) { /* all's vars are the inventory's variables */
			json_t *v = json_object_get(g, "vars");
			if (json_object_size(v)) {
				json_t *d;
				if (read_raw(s, STORE_INVENTORY, inv, &d, NULL, err) == 0) {
					char *t = json_dumps(v, JSON_COMPACT);
					json_object_set_new(d, "variables", json_string(t));
					free(t);
					rc = write_raw(s, STORE_INVENTORY, inv, d, NULL, err);
					json_decref(d);
				}
			}
			continue;
		}
		long id =
		    upsert_member(s, STORE_GROUP, inv, gname, json_object_get(g, "vars"), err);
		if (!id) {
			rc = -1;
			break;
		}
		json_object_set_new(groupids, gname, json_integer(id));
		ng++;
	}
	/* memberships: replace each imported group's hosts and children */
	json_object_foreach(groupids, gname, hv) {
		if (rc < 0)
			break;
		long gid = (long)json_integer_value(hv);
		rc = exec_id(s, "DELETE FROM relations WHERE rel IN (3,4) AND parent=?", gid, err);
		json_t *gd = json_object_get(data, gname);
		size_t i;
		json_t *x;
		sqlite3_stmt *ins =
		    rc ? NULL
		       : prep(s,
		              "INSERT OR IGNORE INTO relations(rel, parent, child) VALUES(?,?,?)",
		              err);
		if (!ins) {
			rc = -1;
			break;
		}
		/* a group's "hosts" name hosts, its "children" groups */
		const struct {
			const char *key;
			json_t *ids;
			store_rel rel;
		} members[] = {{"hosts", hostids, STORE_REL_GROUP_HOSTS},
		               {"children", groupids, STORE_REL_GROUP_CHILDREN}};
		for (int m = 0; m < 2; m++) {
			json_array_foreach(json_object_get(gd, members[m].key), i, x) {
				json_t *id =
				    json_is_string(x)
				        ? json_object_get(members[m].ids, json_string_value(x))
				        : NULL;
				if (!id)
					continue;
				sqlite3_reset(ins);
				sqlite3_bind_int(ins, 1, members[m].rel);
				sqlite3_bind_int64(ins, 2, gid);
				sqlite3_bind_int64(ins, 3, json_integer_value(id));
				sqlite3_step(ins);
			}
		}
		sqlite3_reset(ins);
	}
	if (rc == 0 && overwrite) {
		/* drop what the source no longer has */
		for (int pass = 0; pass < 2 && rc == 0; pass++) {
			store_kind k = pass ? STORE_GROUP : STORE_HOST;
			json_t *keep = pass ? groupids : hostids;
			char sql[160];
			snprintf(sql, sizeof sql,
			         "SELECT id, name FROM %s WHERE json_extract(data,'$.inventory')=?",
			         table_of(k));
			sqlite3_stmt *sel = prep(s, sql, err);
			json_t *gone = json_array();
			if (sel) {
				sqlite3_bind_int64(sel, 1, inv);
				while (sqlite3_step(sel) == SQLITE_ROW)
					if (!json_object_get(keep, col_text(sel, 1)))
						json_array_append_new(
						    gone,
						    json_integer(sqlite3_column_int64(sel, 0)));
				sqlite3_reset(sel);
			}
			size_t i;
			json_t *x;
			json_array_foreach(gone, i, x) {
				long id = (long)json_integer_value(x);
				if (pass) {
					exec_id(
					    s,
					    "DELETE FROM relations WHERE rel IN (3,4) AND parent=?",
					    id, err);
					exec_id(s, "DELETE FROM relations WHERE rel=4 AND child=?",
					        id, err);
					rc = exec_id(s, "DELETE FROM groups WHERE id=?", id, err);
				} else {
					exec_id(s, "DELETE FROM relations WHERE rel=3 AND child=?",
					        id, err);
					rc = exec_id(s, "DELETE FROM hosts WHERE id=?", id, err);
				}
			}
			json_decref(gone);
		}
	}
	if (rc == 0)
		rc = exec_sql(s, "COMMIT", err);
	else
		exec_sql(s, "ROLLBACK", NULL);
	unlock(s);
	json_decref(hostids);
	json_decref(groupids);
	json_decref(hostnames);
	if (nhosts)
		*nhosts = nh;
	if (ngroups)
		*ngroups = ng;
	return rc;
}

/* ------------------------------------------------------------------ */
/* unified jobs                                                         */

/* Move a job's status when it is in one of from. */
static int sq_job_transition(store *st, long id, const char *const *from, const char *status,
                             char *current, runnel_error *err)
{
	sq *s = SQ(st);
	lock(s);
	int rc = -1;
	json_t *data = NULL;
	if (exec_sql(s, "BEGIN IMMEDIATE", err) < 0)
		goto out_unlock;
	if (read_raw(s, STORE_UNIFIED_JOB, id, &data, NULL, err) < 0)
		goto rollback;
	const char *cur = json_string_value(json_object_get(data, "status"));
	if (!cur)
		cur = "new";
	if (current)
		snprintf(current, 32, "%s", cur);
	bool ok = !from;
	for (int i = 0; from && from[i]; i++)
		if (!strcmp(cur, from[i]))
			ok = true;
	if (!ok) {
		rc = 0;
		goto rollback;
	}
	char now[32];
	model_now(now);
	double t = epoch_now();
	json_object_set_new(data, "status", json_string(status));
	const char *tcol = NULL;
	if (!strcmp(status, "running") && json_is_null(json_object_get(data, "started"))) {
		json_object_set_new(data, "started", json_string(now));
		tcol = "started_ts";
	}
	if (!store_status_is_active(status)) {
		json_object_set_new(data, "finished", json_string(now));
		if (!strcmp(status, "canceled") &&
		    json_is_null(json_object_get(data, "canceled_on")))
			json_object_set_new(data, "canceled_on", json_string(now));
		json_object_set_new(data, "failed",
		                    json_boolean(strcmp(status, "successful") != 0));
		tcol = "finished_ts";
	}
	if (write_raw(s, STORE_UNIFIED_JOB, id, data, NULL, err) < 0)
		goto rollback;
	if (tcol) {
		char sql[128];
		snprintf(sql, sizeof sql, "UPDATE unified_jobs SET %s=? WHERE id=?", tcol);
		sqlite3_stmt *stm = prep(s, sql, err);
		if (!stm)
			goto rollback;
		sqlite3_bind_double(stm, 1, t);
		sqlite3_bind_int64(stm, 2, id);
		sqlite3_step(stm);
		sqlite3_reset(stm);
		if (!strcmp(tcol, "finished_ts")) {
			/* elapsed = finished - started (0 when it never started) */
			stm = prep(s,
			           "UPDATE unified_jobs SET data=json_set(data,'$.elapsed',"
			           " round(coalesce(finished_ts - started_ts, 0), 3)) WHERE id=?",
			           err);
			if (!stm)
				goto rollback;
			sqlite3_bind_int64(stm, 1, id);
			sqlite3_step(stm);
			sqlite3_reset(stm);
		}
	}
	if (exec_sql(s, "COMMIT", err) < 0)
		goto rollback;
	rc = 1;
	goto out_unlock;
rollback:
	exec_sql(s, "ROLLBACK", NULL);
out_unlock:
	unlock(s);
	json_decref(data);
	return rc;
}

/* Append a line to job_explanation / result_traceback. */
static int sq_job_append(store *st, long id, const char *field, const char *text, runnel_error *err)
{
	if (strcmp(field, "job_explanation") && strcmp(field, "result_traceback"))
		return rn_fail(err, EINVAL,
		               "%s: Only job_explanation and result_traceback are appended.",
		               field);
	sq *s = SQ(st);
	lock(s);
	json_t *data = NULL;
	int rc = exec_sql(s, "BEGIN IMMEDIATE", err);
	if (rc == 0)
		rc = read_raw(s, STORE_UNIFIED_JOB, id, &data, NULL, err);
	if (rc == 0) {
		const char *old = json_string_value(json_object_get(data, field));
		/* the same reason twice says nothing new */
		if (!(old && strstr(old, text))) {
			char *nv =
			    old && *old ? rn_xasprintf("%s\n%s", old, text) : rn_xstrdup(text);
			json_object_set_new(data, field, json_string(nv));
			free(nv);
			rc = write_raw(s, STORE_UNIFIED_JOB, id, data, NULL, err);
		}
	}
	if (rc == 0)
		rc = exec_sql(s, "COMMIT", err);
	if (rc < 0)
		exec_sql(s, "ROLLBACK", NULL);
	json_decref(data);
	unlock(s);
	return rc;
}

/* Set cancel_flag once. */
static int sq_job_set_cancel_flag(store *st, long id, runnel_error *err)
{
	sq *s = SQ(st);
	lock(s);
	json_t *data = NULL;
	int rc = exec_sql(s, "BEGIN IMMEDIATE", err);
	if (rc == 0)
		rc = read_raw(s, STORE_UNIFIED_JOB, id, &data, NULL, err);
	if (rc == 0 && !json_is_true(json_object_get(data, "cancel_flag"))) {
		json_object_set_new(data, "cancel_flag", json_true());
		rc = write_raw(s, STORE_UNIFIED_JOB, id, data, NULL, err) < 0 ? -1 : 1;
	}
	if (rc >= 0 && exec_sql(s, "COMMIT", err) < 0)
		rc = -1;
	if (rc < 0)
		exec_sql(s, "ROLLBACK", NULL);
	json_decref(data);
	unlock(s);
	return rc;
}

/* Delete finished jobs older than days. */
static int sq_jobs_cleanup(store *st, double days, long *deleted, runnel_error *err)
{
	sq *s = SQ(st);
	double cutoff = epoch_now() - days * 86400.0;
	lock(s);
	json_t *ids = json_array();
	sqlite3_stmt *stm =
	    prep(s,
	         "SELECT id FROM unified_jobs WHERE finished_ts IS NOT NULL AND finished_ts < ?"
	         " AND status NOT IN ('new','pending','waiting','running')",
	         err);
	if (!stm) {
		unlock(s);
		json_decref(ids);
		return -1;
	}
	sqlite3_bind_double(stm, 1, cutoff);
	while (sqlite3_step(stm) == SQLITE_ROW)
		json_array_append_new(ids, json_integer(sqlite3_column_int64(stm, 0)));
	sqlite3_reset(stm);
	int rc = exec_sql(s, "BEGIN IMMEDIATE", err);
	size_t i;
	json_t *x;
	json_array_foreach(ids, i, x)
		if (rc == 0)
			rc = delete_job_locked(s, (long)json_integer_value(x), err);
	if (rc == 0)
		rc = exec_sql(s, "COMMIT", err);
	else
		exec_sql(s, "ROLLBACK", NULL);
	unlock(s);
	if (deleted)
		*deleted = rc == 0 ? (long)json_array_size(ids) : 0;
	json_decref(ids);
	return rc;
}

/* ------------------------------------------------------------------ */
/* events                                                               */

/* The id of host name in the inventory of job_id (0: none); lock held. */
static long job_host_id(sq *s, long job_id, const char *name, runnel_error *err)
{
	sqlite3_stmt *q =
	    prep(s,
	         "SELECT h.id FROM hosts h, unified_jobs j WHERE j.id=?"
	         " AND json_extract(h.data,'$.inventory')=json_extract(j.data,'$.inventory')"
	         " AND h.name=?",
	         err);
	if (!q)
		return 0;
	sqlite3_bind_int64(q, 1, job_id);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_TRANSIENT);
	long id = sqlite3_step(q) == SQLITE_ROW ? (long)sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	return id;
}

/* Write one host summary of a job (and the host's last job); lock held. */
static int store_host_summary(sq *s, long job_id, const event_host_stats *hs, const char *created,
                              runnel_error *err)
{
	long host_id = job_host_id(s, job_id, hs->host, err);
	sqlite3_stmt *ins =
	    prep(s,
	         "INSERT INTO host_summaries(job_id, host_id, host_name, created, modified,"
	         " changed, dark, failures, ignored, ok, processed, rescued, skipped, failed)"
	         " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
	         " ON CONFLICT(job_id, host_name) DO UPDATE SET changed=excluded.changed,"
	         " dark=excluded.dark, failures=excluded.failures, ignored=excluded.ignored,"
	         " ok=excluded.ok, processed=excluded.processed, rescued=excluded.rescued,"
	         " skipped=excluded.skipped, failed=excluded.failed, modified=excluded.modified",
	         err);
	if (!ins)
		return -1;
	sqlite3_bind_int64(ins, 1, job_id);
	if (host_id)
		sqlite3_bind_int64(ins, 2, host_id);
	sqlite3_bind_text(ins, 3, hs->host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 4, created, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(ins, 5, created, -1, SQLITE_TRANSIENT);
	for (int c = 0; c < EVENT_STATS_COUNTS; c++)
		sqlite3_bind_int64(ins, 6 + c, hs->counts[c]);
	sqlite3_bind_int(ins, 14, hs->failed);
	int rc = sqlite3_step(ins) == SQLITE_DONE ? 0 : db_fail(s, err, "host summary");
	sqlite3_reset(ins);
	if (host_id) {
		sqlite3_stmt *up = prep(s,
		                        "UPDATE hosts SET data=json_set(data,'$.last_job',?,"
		                        "'$.has_active_failures',json(?)) WHERE id=?",
		                        err);
		if (up) {
			sqlite3_bind_int64(up, 1, job_id);
			sqlite3_bind_text(up, 2, hs->failed ? "true" : "false", -1, SQLITE_STATIC);
			sqlite3_bind_int64(up, 3, host_id);
			sqlite3_step(up);
			sqlite3_reset(up);
		}
	}
	return rc;
}

/* What a playbook_on_stats event brings (event_derive.h): the host
 * summaries, then the parents' flags; lock and transaction held. */
static int store_stats(sq *s, long job_id, const json_t *data, const char *created,
                       runnel_error *err)
{
	event_host_stats *hosts;
	size_t n = event_stats_hosts(data, &hosts);
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		if (store_host_summary(s, job_id, &hosts[i], created, err) < 0) {
			rc = -1;
			break;
		}
	free(hosts);
	if (rc < 0)
		return -1;
	/* Parents (task, play and playbook events: playbook_on_*, as AWX's
	 * tasks and plays) are failed / changed when a child is. The flags go
	 * to event_parent_flags, a narrow table, not into the parents' rows:
	 * those are spread over the whole job, and rewriting them would write
	 * a page per parent (a 50,000-event job: tens of MB). First the parents
	 * of flagged events (through the partial indexes events_failed and
	 * events_changed), then the parents of those (the plays of the tasks,
	 * through events_parents): the spec's "task, play". */
	static const char *const prop[] = {
	    "INSERT INTO event_parent_flags(job_id, uuid, failed) SELECT DISTINCT ?1, parent_uuid, "
	    "1"
	    " FROM events INDEXED BY events_failed WHERE job_id=?1 AND failed=1 AND "
	    "parent_uuid<>'' ON CONFLICT(job_id, uuid) DO UPDATE SET failed=1",
	    "INSERT INTO event_parent_flags(job_id, uuid, changed) SELECT DISTINCT ?1, "
	    "parent_uuid, 1"
	    " FROM events INDEXED BY events_changed WHERE job_id=?1 AND changed=1 AND "
	    "parent_uuid<>'' ON CONFLICT(job_id, uuid) DO UPDATE SET changed=1",
	    NULL};
	const char *up =
	    "INSERT INTO event_parent_flags(job_id, uuid, failed, changed)"
	    " SELECT ?1, e.parent_uuid, max(f.failed), max(f.changed) FROM event_parent_flags f"
	    " CROSS JOIN events e INDEXED BY events_parents ON e.job_id=?1 AND e.uuid=f.uuid AND "
	    "substr(e.event,1,11)='playbook_on'"
	    " WHERE f.job_id=?1 AND e.parent_uuid<>'' GROUP BY e.parent_uuid"
	    " ON CONFLICT(job_id, uuid) DO UPDATE SET failed=max(failed, excluded.failed),"
	    " changed=max(changed, excluded.changed)";
	for (int i = 0; prop[i] && rc == 0; i++)
		rc = exec_id(s, prop[i], job_id, err);
	if (rc == 0)
		rc = exec_id(s, up, job_id, err);
	return rc;
}

/* The prepared INSERT of the events hot path (made once per handle). */
static sqlite3_stmt *event_stmt(sq *s, runnel_error *err)
{
	if (!s->insert_event &&
	    sqlite3_prepare_v3(
	        s->db,
	        "INSERT OR IGNORE INTO events(job_id, counter, event, event_data, failed, changed, "
	        "uuid, parent_uuid,"
	        " host_id, host_name, playbook, play, role, task, stdout, start_line, end_line, "
	        "verbosity, created,"
	        " modified, job_created) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	        -1, SQLITE_PREPARE_PERSISTENT, &s->insert_event, NULL) != SQLITE_OK) {
		db_fail(s, err, "prepare");
		return NULL;
	}
	return s->insert_event;
}

/* Events newly stored per job in one transaction (a batch names a few jobs). */
typedef struct job_counts {
	struct job_count {
		long job, n;
	} * v;
	size_t len, cap;
} job_counts;

/* One more event stored for job_id. */
static void count_stored(job_counts *c, long job_id)
{
	for (size_t i = c->len; i-- > 0;) {
		if (c->v[i].job == job_id) {
			c->v[i].n++;
			return;
		}
	}
	if (c->len == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = rn_xrealloc(c->v, sizeof *c->v * c->cap);
	}
	c->v[c->len++] = (struct job_count){job_id, 1};
}

/* Bind a row's string (the empty string for none). */
static void bind_str(sqlite3_stmt *st, int col, store_str v)
{
	sqlite3_bind_text(st, col, v.n ? v.p : "", (int)v.n, SQLITE_STATIC);
}

/* Run the events INSERT for row r; lock and transaction held. 1 stored
 * (counted in per_job), 0 a duplicate, -1 error. */
static int step_row(sq *s, const store_event_row *r, job_counts *per_job, const char *now,
                    runnel_error *err)
{
	sqlite3_stmt *st = event_stmt(s, err);
	if (!st)
		return -1;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, r->job_id);
	sqlite3_bind_int64(st, 2, r->counter);
	bind_str(st, 3, r->event);
	bind_str(st, 4, r->event_data);
	sqlite3_bind_int(st, 5, r->failed);
	sqlite3_bind_int(st, 6, r->changed);
	bind_str(st, 7, r->uuid);
	bind_str(st, 8, r->parent_uuid);
	if (r->host_id)
		sqlite3_bind_int64(st, 9, r->host_id);
	else
		sqlite3_bind_null(st, 9);
	bind_str(st, 10, r->host_name);
	bind_str(st, 11, r->playbook);
	bind_str(st, 12, r->play);
	bind_str(st, 13, r->role);
	bind_str(st, 14, r->task);
	bind_str(st, 15, r->stdout);
	sqlite3_bind_int64(st, 16, r->start_line);
	sqlite3_bind_int64(st, 17, r->end_line);
	sqlite3_bind_int64(st, 18, r->verbosity);
	if (r->created.n)
		bind_str(st, 19, r->created);
	else
		sqlite3_bind_text(st, 19, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 20, now, -1, SQLITE_STATIC);
	bind_str(st, 21, r->job_created);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, err, "insert event");
	if (sqlite3_changes(s->db) == 0)
		return 0;
	count_stored(per_job, (long)r->job_id);
	return 1;
}

/* Insert one event from its tree; lock and transaction held. Returns 1
 * stored, 0 duplicate, -1 error. */
static int insert_one(sq *s, const json_t *ev, job_counts *per_job, const char *now,
                      runnel_error *err)
{
	store_tree_row t;
	if (store_tree_row_init(&t, ev, now, err) < 0)
		return -1;
	int rc = step_row(s, &t.row, per_job, now, err);
	if (rc > 0 && t.event_data && event_is_stats(t.row.event.p, t.row.event.n) &&
	    store_stats(s, (long)t.row.job_id, t.event_data, t.created, err) < 0)
		rc = -1;
	store_tree_row_free(&t);
	return rc;
}

/* Insert one row (event_rows.h); lock and transaction held. 1 stored, 0
 * duplicate, -1 error. Rows that need the tree (playbook_on_stats, NUL
 * escapes) go through insert_one. */
static int insert_row(sq *s, const store_event_row *r, job_counts *per_job, const char *now,
                      runnel_error *err)
{
	if (r->needs_tree) {
		json_t *ev = json_loadb(r->text.p, r->text.n, JSON_ALLOW_NUL, NULL);
		if (!json_is_object(ev)) {
			json_decref(ev);
			return rn_fail(err, EINVAL, "event: not a JSON object");
		}
		int rc = insert_one(s, ev, per_job, now, err);
		json_decref(ev);
		return rc;
	}
	return step_row(s, r, per_job, now, err);
}

/* Add the per-job counts of stored events to unified_jobs.events_stored; lock held. */
static int bump_counts(sq *s, const job_counts *per_job, runnel_error *err)
{
	for (size_t i = 0; i < per_job->len; i++) {
		sqlite3_stmt *st = prep(
		    s, "UPDATE unified_jobs SET events_stored=events_stored+? WHERE id=?", err);
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, per_job->v[i].n);
		sqlite3_bind_int64(st, 2, per_job->v[i].job);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_fail(s, err, "count events");
	}
	return 0;
}

/* WAL pages after which the checkpointer is woken (SQLite's own default
 * autocheckpoint is 1000). */
#define CKPT_PAGES 1000

/* After each commit of the events' connection: wake the checkpointer once
 * the WAL is long enough. Replaces SQLite's autocheckpoint on this connection. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)db, (void)name;
	sq *s = arg;
	if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&s->ckpt_mu);
		s->ckpt_want = true;
		pthread_cond_signal(&s->ckpt_cv);
		pthread_mutex_unlock(&s->ckpt_mu);
	}
	return SQLITE_OK;
}

/* The checkpointer thread: PASSIVE checkpoints (never waits for readers or
 * the writer) on its own connection, whenever woken. */
static void *checkpointer(void *arg)
{
	sq *s = arg;
	prctl(PR_SET_NAME, "rn-checkpoint");
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		db = NULL;
	} else {
		sqlite3_busy_timeout(db, 1000);
		/* a fresh connection is in WAL mode once it has read the file */
		sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL,
		             NULL);
	}
	pthread_mutex_lock(&s->ckpt_mu);
	for (;;) {
		while (!s->ckpt_want && !s->ckpt_stop)
			pthread_cond_wait(&s->ckpt_cv, &s->ckpt_mu);
		if (s->ckpt_stop)
			break;
		s->ckpt_want = false;
		pthread_mutex_unlock(&s->ckpt_mu);
		if (db) {
			/* copy the bulk while the writer goes on (pass after pass, each
			 * up to where the WAL ended when it began), until a pass finds
			 * few new frames; then, between two of the writer's
			 * transactions (the handle's lock), those few: with every frame
			 * copied, its next transaction starts the WAL over instead of
			 * growing it without end */
			int prev = -1;
			for (int pass = 0; pass < 16; pass++) {
				int nlog = 0, nckpt = 0;
				if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE,
				                              &nlog, &nckpt) != SQLITE_OK)
					break;
				if (prev >= 0 && nlog - prev < CKPT_PAGES / 4) {
					lock(s);
					sqlite3_wal_checkpoint_v2(
					    db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
					unlock(s);
					break;
				}
				prev = nlog;
			}
		}
		pthread_mutex_lock(&s->ckpt_mu);
	}
	pthread_mutex_unlock(&s->ckpt_mu);
	if (db) {
		sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		sqlite3_close(db);
	}
	return NULL;
}

/* Start the checkpointer (once; lock held): the handle that stores events
 * writes most of the database, and copying the WAL back is about as much
 * work as writing it; on another core it is off the receiver's path. If the
 * thread cannot start, SQLite's autocheckpoint stays in place. */
static void start_checkpointer(sq *s)
{
	if (s->ckpt_started || !s->path)
		return;
	if (pthread_create(&s->ckpt_thread, NULL, checkpointer, s) != 0)
		return;
	s->ckpt_started = true;
	sqlite3_wal_hook(s->db, wal_hook, s);
	/* the writer keeps the tops of its B-trees (events and their indexes) */
	exec_sql(s, "PRAGMA cache_size=-8192", NULL);
}

/* Insert the i-th event of a batch; lock and transaction held. 1, 0 or -1 (insert_one). */
typedef int (*insert_fn)(sq *s, size_t i, void *ctx, job_counts *per_job, const char *now,
                         runnel_error *err);

/* True if the last failure on s's connection may pass by itself (the
 * disk is full or failing, another writer holds the lock, memory ran out):
 * the batch is worth keeping and trying again, and no event of it is at
 * fault. */
static bool failure_is_transient(sq *s)
{
	switch (sqlite3_errcode(s->db) & 0xff) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		return true;
	default:
		return false;
	}
}

/* Events are the bulk of what the store writes; a job's record (its
 * status, cancel flag, explanation, counts) is a few pages. Events are not
 * written into the last EVENTS_RESERVE_BYTES of the state dir's
 * filesystem: when the events fill the disk, the record of every job can
 * still be written (a full disk also stops SQLite's checkpoint, and then
 * every write, however small, fails). The reserve holds a whole WAL
 * (CKPT_PAGES pages) and then some. */
#define EVENTS_RESERVE_BYTES (8LL * 1024 * 1024)

/* 0 if the database's filesystem has room for events beyond the reserve;
 * else -1 with err (EAGAIN: the receiver tries again later). */
static int events_room(sq *s, runnel_error *err)
{
	struct statvfs vfs;
	if (!s->path || statvfs(s->path, &vfs) < 0)
		return 0; /* cannot tell: let SQLite say */
	long long avail = (long long)vfs.f_bavail * (long long)vfs.f_frsize;
	if (avail >= EVENTS_RESERVE_BYTES)
		return 0;
	return rn_fail(
	    err, EAGAIN,
	    "__all__: %s: %lld KiB free, below the %lld KiB kept for job records: events "
	    "wait until space is freed",
	    s->path, avail / 1024, EVENTS_RESERVE_BYTES / 1024);
}

/* Turn err into the "try again" form of a transient failure. */
static int transient_fail(runnel_error *err, const runnel_error *why)
{
	return rn_fail(err, EAGAIN, "%s", why->message);
}

/* Store a batch of n events in one transaction; if it fails, roll back and
 * store what can be stored one by one (each in its own transaction). A
 * transient failure (full disk, I/O error, lock) is not the events' fault:
 * nothing is dropped, -1 with err->code EAGAIN, *stored says how many went
 * in before it (the caller keeps the batch and tries again later: the
 * events already stored are skipped then). */
static int insert_batch(store *st, size_t n, insert_fn fn, void *ctx, long *stored, long *dropped,
                        runnel_error *err)
{
	sq *s = SQ(st);
	long nst = 0, ndrop = 0;
	if (events_room(s, err) < 0) {
		if (stored)
			*stored = 0;
		if (dropped)
			*dropped = 0;
		return -1;
	}
	char now[32];
	model_now(now); /* one "modified" for the batch */
	lock(s);
	start_checkpointer(s);
	job_counts per_job_ = {0}, *per_job = &per_job_;
	runnel_error e0 = {0};
	bool transient = false;
	int rc = exec_sql(s, "BEGIN IMMEDIATE", &e0);
	if (rc < 0) {
		transient = failure_is_transient(s);
		goto failed;
	}
	for (size_t i = 0; i < n; i++) {
		int r = fn(s, i, ctx, per_job, now, &e0);
		if (r < 0) {
			rc = -1;
			break;
		}
		nst += r;
	}
	if (rc == 0 && bump_counts(s, per_job, &e0) == 0 && exec_sql(s, "COMMIT", &e0) == 0)
		goto out;
	transient = failure_is_transient(s);
	exec_sql(s, "ROLLBACK", NULL);
failed:
	nst = 0;
	if (transient) {
		rc = transient_fail(err, &e0);
		goto out;
	}
	/* The batch failed: store what can be stored one by one. */
	rc = 0;
	for (size_t i = 0; i < n; i++) {
		per_job->len = 0;
		runnel_error e1;
		if (exec_sql(s, "BEGIN IMMEDIATE", &e1) < 0) {
			if (failure_is_transient(s))
				transient_fail(err, &e1);
			else if (err)
				*err = e1;
			rc = -1;
			break;
		}
		int r = fn(s, i, ctx, per_job, now, &e1);
		if (r >= 0 && bump_counts(s, per_job, &e1) == 0 &&
		    exec_sql(s, "COMMIT", &e1) == 0) {
			nst += r;
			continue;
		}
		bool t1 = failure_is_transient(s);
		exec_sql(s, "ROLLBACK", NULL);
		if (t1) {
			rc = transient_fail(err, &e1);
			break;
		}
		if (err)
			*err = e1;
		ndrop++;
	}
out:
	unlock(s);
	free(per_job->v);
	if (stored)
		*stored = nst;
	if (dropped)
		*dropped = ndrop;
	return rc;
}

/* insert_fn over a JSON array of event objects. */
static int insert_json_at(sq *s, size_t i, void *ctx, job_counts *per_job, const char *now,
                          runnel_error *err)
{
	return insert_one(s, json_array_get(ctx, i), per_job, now, err);
}

/* Store a batch of events. */
static int sq_events_insert(store *st, const json_t *events, long *stored, long *dropped,
                            runnel_error *err)
{
	return insert_batch(st, json_array_size(events), insert_json_at, (void *)events, stored,
	                    dropped, err);
}

/* insert_fn over rows. */
static int insert_row_at(sq *s, size_t i, void *ctx, job_counts *per_job, const char *now,
                         runnel_error *err)
{
	return insert_row(s, (const store_event_row *)ctx + i, per_job, now, err);
}

/* Store a batch of rows. */
static int sq_events_insert_rows(store *st, const store_event_row *rows, size_t n, long *stored,
                                 long *dropped, runnel_error *err)
{
	return insert_batch(st, n, insert_row_at, (void *)rows, stored, dropped, err);
}

/* The type of a unified job (lock held) into out (32 bytes); "" if none. */
static void job_type_of(sq *s, long id, char out[32])
{
	out[0] = 0;
	runnel_error e;
	sqlite3_stmt *st = prep(s, "SELECT type FROM unified_jobs WHERE id=?", &e);
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, 32, "%s", col_text(st, 0));
	sqlite3_reset(st);
}

/* An events row (columns in the SELECT order of list_job_rows) as shape.c takes it. */
static json_t *event_of_row(sqlite3_stmt *st, long job_id, const char *type)
{
	bool has_host = sqlite3_column_type(st, 9) != SQLITE_NULL;
	shape_event_row r = {
	    .id = (long)sqlite3_column_int64(st, 0),
	    .job_id = job_id,
	    .job_type = type,
	    .counter = sqlite3_column_int64(st, 1),
	    .event = col_text(st, 2),
	    .event_data = col_text(st, 3),
	    .failed = sqlite3_column_int(st, 4),
	    .changed = sqlite3_column_int(st, 5),
	    .uuid = col_text(st, 6),
	    .parent_uuid = col_text(st, 7),
	    .has_host = has_host,
	    .host_id = has_host ? sqlite3_column_int64(st, 9) : 0,
	    .host_name = col_text(st, 10),
	    .playbook = col_text(st, 11),
	    .play = col_text(st, 12),
	    .role = col_text(st, 13),
	    .task = col_text(st, 14),
	    .stdout = col_text(st, 15),
	    .start_line = sqlite3_column_int64(st, 16),
	    .end_line = sqlite3_column_int64(st, 17),
	    .verbosity = sqlite3_column_int64(st, 18),
	    .created = col_text(st, 19),
	    .modified = col_text(st, 20),
	    .job_created = col_text(st, 21),
	};
	return shape_event(&r);
}

/* A host_summaries row (columns in the SELECT order of list_job_rows) as shape.c takes it. */
static json_t *summary_of_row(sqlite3_stmt *st, long job_id)
{
	bool has_host = sqlite3_column_type(st, 1) != SQLITE_NULL;
	shape_host_summary_row r = {
	    .id = (long)sqlite3_column_int64(st, 0),
	    .job_id = job_id,
	    .has_host = has_host,
	    .host_id = has_host ? sqlite3_column_int64(st, 1) : 0,
	    .host_name = col_text(st, 2),
	    .created = col_text(st, 3),
	    .modified = col_text(st, 4),
	    .failed = sqlite3_column_int(st, 13),
	};
	for (int c = 0; c < EVENT_STATS_COUNTS; c++)
		r.counts[c] = sqlite3_column_int64(st, 5 + c);
	return shape_host_summary(&r);
}

/* A paginated list of events or host summaries of a job. */
static int list_job_rows(store *st, bool summaries, long job_id, const store_query *q,
                         store_page *out, runnel_error *err)
{
	sq *s = SQ(st);
	out->count = 0;
	out->results = NULL;
	rn_buf where;
	rn_buf_init(&where);
	rn_buf_append(&where, " WHERE job_id = ?", 17);
	json_t *binds = json_pack("[I]", (json_int_t)job_id);
	char *order = NULL;
	int rc = -1;
	query qy;
	if (query_parse(summaries ? QUERY_HOST_SUMMARIES : QUERY_EVENTS, STORE_JOB, q, &qy, err) <
	    0)
		goto out;
	where_sql(&qy, &where, binds);
	order = order_sql(&qy);
	long limit = qy.limit, offset = qy.offset;
	query_clear(&qy);
	const char *table = summaries ? "host_summaries" : "events";
	lock(s);
	char type[32];
	job_type_of(s, job_id, type);
	if (!*type) {
		unlock(s);
		rn_fail(err, ENOENT, "__all__: Not found.");
		goto out;
	}
	char *sql = rn_xasprintf("SELECT count(*) FROM %s%s", table, where.data);
	sqlite3_stmt *stm = prep(s, sql, err);
	free(sql);
	if (!stm) {
		unlock(s);
		goto out;
	}
	bind_all(stm, binds);
	out->count = sqlite3_step(stm) == SQLITE_ROW ? (long)sqlite3_column_int64(stm, 0) : 0;
	sqlite3_reset(stm);
	if (summaries)
		sql = rn_xasprintf("SELECT id, host_id, host_name, created, modified, changed, "
		                   "dark, failures, ignored,"
		                   " ok, processed, rescued, skipped, failed FROM "
		                   "host_summaries%s%s LIMIT %ld OFFSET %ld",
		                   where.data, order, limit, offset);
	else
		sql = rn_xasprintf("SELECT id, counter, event, event_data, " PARENT_FLAG_EXPR
		                   ", " PARENT_FLAG_EXPR ","
		                   " uuid, parent_uuid, job_id, host_id, host_name, playbook, "
		                   "play, role, task, stdout,"
		                   " start_line, end_line, verbosity, created, modified, "
		                   "job_created FROM events%s%s"
		                   " LIMIT %ld OFFSET %ld",
		                   "failed", "failed", "changed", "changed", where.data, order,
		                   limit, offset);
	stm = prep(s, sql, err);
	free(sql);
	if (!stm) {
		unlock(s);
		goto out;
	}
	bind_all(stm, binds);
	out->results = json_array();
	int step;
	while ((step = sqlite3_step(stm)) == SQLITE_ROW)
		json_array_append_new(out->results, summaries ? summary_of_row(stm, job_id)
		                                              : event_of_row(stm, job_id, type));
	rc = step == SQLITE_DONE ? 0 : db_fail(s, err, "list");
	sqlite3_reset(stm);
	unlock(s);
	if (rc < 0)
		store_page_clear(out);
out:
	free(order);
	rn_buf_free(&where);
	json_decref(binds);
	return rc;
}

/* The events of a job. */
static int sq_events_list(store *st, long job_id, const store_query *q, store_page *out,
                          runnel_error *err)
{
	return list_job_rows(st, false, job_id, q, out, err);
}

/* The host summaries of a job. */
static int sq_host_summaries_list(store *st, long job_id, const store_query *q, store_page *out,
                                  runnel_error *err)
{
	return list_job_rows(st, true, job_id, q, out, err);
}

/* Stream a job's stdout. Reads in pages of 500 events so that the lock is
 * never held across a slow consumer for long and memory stays flat. */
/* The counter before the job's first event with start_line >= line (lock
 * held): a binary search over the counters, each probe one step of the
 * (job_id, counter) index, as the runner numbers lines in counter order. */
static long counter_before_line(sq *s, long job_id, long line, runnel_error *err)
{
	if (line <= 0)
		return -1;
	sqlite3_stmt *st =
	    prep(s,
	         "SELECT counter, start_line FROM events WHERE job_id=?1 AND counter>=?2"
	         " ORDER BY counter LIMIT 1",
	         err);
	if (!st)
		return -2;
	long lo = -1; /* every counter <= lo starts before line */
	long hi =
	    count_where(s, "SELECT coalesce(max(counter),0)+1 FROM events WHERE job_id=?", job_id);
	while (lo + 1 < hi) {
		long mid = lo + (hi - lo) / 2;
		sqlite3_bind_int64(st, 1, job_id);
		sqlite3_bind_int64(st, 2, mid);
		bool before = false;
		long c = 0;
		if (sqlite3_step(st) == SQLITE_ROW) {
			c = (long)sqlite3_column_int64(st, 0);
			before = sqlite3_column_int64(st, 1) < line;
		}
		sqlite3_reset(st);
		if (before)
			lo = c;
		else
			hi = mid;
	}
	return lo;
}

/* The job's stdout (store.h): its events' stdout in counter order, 500
 * rows per read under the lock, handed out with the lock released. */
static int sq_stdout_read(store *st, long job_id, long start_line, long end_line,
                          store_stdout_fn fn, void *userdata, long *absolute_end, runnel_error *err)
{
	sq *s = SQ(st);
	lock(s);
	char type[32];
	job_type_of(s, job_id, type);
	if (!*type) {
		unlock(s);
		return rn_fail(err, ENOENT, "__all__: Not found.");
	}
	if (absolute_end)
		*absolute_end =
		    count_where(s,
		                "SELECT coalesce((SELECT end_line FROM events WHERE job_id=?1"
		                " ORDER BY counter DESC LIMIT 1),0)",
		                job_id);
	long after_counter = counter_before_line(s, job_id, start_line, err);
	unlock(s);
	if (after_counter < -1)
		return -1;
	rn_buf chunk;
	rn_buf_init(&chunk);
	for (bool more = true; more;) {
		json_t *page = json_array();
		lock(s);
		sqlite3_stmt *stm = prep(s,
		                         "SELECT stdout, start_line, counter FROM events WHERE "
		                         "job_id=?1 AND counter > ?2"
		                         " ORDER BY counter LIMIT 500",
		                         err);
		if (!stm) {
			unlock(s);
			json_decref(page);
			rn_buf_free(&chunk);
			return -1;
		}
		sqlite3_bind_int64(stm, 1, job_id);
		sqlite3_bind_int64(stm, 2, after_counter);
		while (sqlite3_step(stm) == SQLITE_ROW) {
			json_array_append_new(page,
			                      json_pack("[s,I,I]", col_text(stm, 0),
			                                (json_int_t)sqlite3_column_int64(stm, 1),
			                                (json_int_t)sqlite3_column_int64(stm, 2)));
		}
		sqlite3_reset(stm);
		unlock(s);
		size_t n = json_array_size(page);
		more = n == 500;
		for (size_t i = 0; i < n; i++) {
			json_t *r = json_array_get(page, i);
			json_t *text = json_array_get(r, 0);
			long line = (long)json_integer_value(json_array_get(r, 1));
			after_counter = (long)json_integer_value(json_array_get(r, 2));
			if (end_line >= 0 && line >= end_line) {
				more = false;
				break;
			}
			if (!json_string_length(text) || line < start_line)
				continue;
			rn_buf_reset(&chunk);
			rn_buf_append(&chunk, json_string_value(text), json_string_length(text));
			rn_buf_appendc(&chunk, '\n');
			int frc = fn(chunk.data, chunk.len, userdata);
			if (frc) {
				json_decref(page);
				rn_buf_free(&chunk);
				return frc;
			}
		}
		json_decref(page);
	}
	rn_buf_free(&chunk);
	return 0;
}

/* ------------------------------------------------------------------ */
/* open / close                                                         */

/* Idle per-thread connections kept for the next threads; beyond, closed. */
#define CONNS_IDLE_MAX 16

/* Free one connection's state (not the handle's: no checkpointer, no key). */
static void conn_free(sq *t)
{
	sqlite3_finalize(t->insert_event);
	for (int i = 0; i < t->ncache; i++) {
		sqlite3_finalize(t->cache[i].stmt);
		free(t->cache[i].sql);
	}
	sqlite3_close(t->db);
	secrets_key_wipe(&t->key);
	pthread_mutex_destroy(&t->mu);
	pthread_mutex_destroy(&t->ckpt_mu);
	pthread_cond_destroy(&t->ckpt_cv);
	free(t);
}

/* Open a thread's connection to home's file, or NULL. It does not copy the
 * WAL back after its commits (wal_autocheckpoint=0): the engine's handles
 * do that, and an API request must not pay for the events' WAL. */
static sq *conn_open(sq *home)
{
	sq *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	pthread_mutex_init(&t->mu, NULL);
	pthread_mutex_init(&t->ckpt_mu, NULL);
	pthread_cond_init(&t->ckpt_cv, NULL);
	t->key = home->key;
	t->home = home;
	t->busy_timeout_ms = home->busy_timeout_ms;
	if (sqlite3_open_v2(home->path, &t->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(t->db, t->busy_timeout_ms) != SQLITE_OK ||
	    add_functions(t->db) != SQLITE_OK ||
	    exec_sql(
	        t,
	        "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF; PRAGMA wal_autocheckpoint=0",
	        NULL) < 0) {
		conn_free(t);
		return NULL;
	}
	return t;
}

/* pthread key destructor: a thread ended; its connection goes idle (or is
 * closed when enough are idle). */
static void conn_release(void *arg)
{
	sq *t = arg;
	sq_conns *c = t->home->conns;
	pthread_mutex_lock(&c->mu);
	if (c->nidle < CONNS_IDLE_MAX) {
		c->idle[c->nidle++] = t;
		t = NULL;
	} else {
		for (size_t i = 0; i < c->nall; i++)
			if (c->all[i] == t) {
				c->all[i] = c->all[--c->nall];
				break;
			}
	}
	pthread_mutex_unlock(&c->mu);
	if (t)
		conn_free(t);
}

/* The connection of the calling thread: the handle's own one, or with
 * thread_connections the thread's (an idle one or a new one; if none can be
 * opened, the handle's own, serialized by its mutex as without the option). */
static sq *sq_of(store *st)
{
	sq *s = st->impl;
	if (!s->conns)
		return s;
	sq_conns *c = s->conns;
	sq *t = pthread_getspecific(c->key);
	if (t)
		return t;
	pthread_mutex_lock(&c->mu);
	if (c->nidle)
		t = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->mu);
	if (!t) {
		t = conn_open(s);
		if (!t)
			return s;
		pthread_mutex_lock(&c->mu);
		sq **all = realloc(c->all, (c->nall + 1) * sizeof *all);
		if (all) {
			c->all = all;
			c->all[c->nall++] = t;
		}
		pthread_mutex_unlock(&c->mu);
		if (!all) {
			conn_free(t);
			return s;
		}
	}
	if (pthread_setspecific(c->key, t) != 0) {
		conn_release(t);
		return s;
	}
	return t;
}

/* Start handing out per-thread connections (thread_connections). 0 or -1. */
static int conns_start(sq *s, runnel_error *err)
{
	sq_conns *c = calloc(1, sizeof *c);
	if (c)
		c->idle = calloc(CONNS_IDLE_MAX, sizeof *c->idle);
	if (!c || !c->idle || pthread_key_create(&c->key, conn_release) != 0) {
		if (c)
			free(c->idle);
		free(c);
		return rn_fail(err, ENOMEM, "__all__: store: cannot set up per-thread connections");
	}
	pthread_mutex_init(&c->mu, NULL);
	s->conns = c;
	return 0;
}

/* Close every per-thread connection (the threads that used them have ended,
 * or will not use the handle again: their destructors no longer run). */
static void conns_stop(sq *s)
{
	sq_conns *c = s->conns;
	if (!c)
		return;
	pthread_key_delete(c->key);
	for (size_t i = 0; i < c->nall; i++)
		conn_free(c->all[i]);
	free(c->all);
	free(c->idle);
	pthread_mutex_destroy(&c->mu);
	free(c);
	s->conns = NULL;
}

/* Close the store. */
static void sq_close(store *st)
{
	sq *s = st->impl; /* the handle itself, whichever thread closes it */
	conns_stop(s);
	if (s->ckpt_started) {
		pthread_mutex_lock(&s->ckpt_mu);
		s->ckpt_stop = true;
		pthread_cond_signal(&s->ckpt_cv);
		pthread_mutex_unlock(&s->ckpt_mu);
		pthread_join(s->ckpt_thread, NULL);
		sqlite3_wal_hook(s->db, NULL, NULL);
	}
	pthread_mutex_destroy(&s->ckpt_mu);
	pthread_cond_destroy(&s->ckpt_cv);
	free(s->path);
	sqlite3_finalize(s->insert_event);
	for (int i = 0; i < s->ncache; i++) {
		sqlite3_finalize(s->cache[i].stmt);
		free(s->cache[i].sql);
	}
	sqlite3_close(s->db);
	secrets_key_wipe(&s->key);
	pthread_mutex_destroy(&s->mu);
	free(s);
	free(st);
}

/* Migrate to SCHEMA_VERSION and seed the built-in credential types. */
static int migrate(sq *s, runnel_error *err)
{
	if (exec_sql(s, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	if (create_schema(s, err) < 0)
		goto fail;
	long v = count_where(
	    s, "SELECT coalesce(max(version),0) FROM schema_version WHERE ?1 IS NOT NULL", 0);
	if (v < 1) {
		json_t *types = model_builtin_credential_types();
		size_t i;
		json_t *t;
		json_array_foreach(types, i, t) {
			json_object_set_new(t, "managed", json_true());
			json_t *o = create_locked(s, STORE_CREDENTIAL_TYPE, t, STORE_SYSTEM, err);
			if (!o) {
				json_decref(types);
				goto fail;
			}
			json_decref(o);
		}
		json_decref(types);
		if (exec_sql(s, "INSERT INTO schema_version(version) VALUES(1)", err) < 0)
			goto fail;
	}
	if (v < 2) {
		/* version 2: stdout is read in counter order (start_line grows
		 * with the counter), so events need one index fewer */
		if (exec_sql(s,
		             "DROP INDEX IF EXISTS events_start_line;"
		             " INSERT INTO schema_version(version) VALUES(2)",
		             err) < 0)
			goto fail;
	}
	return exec_sql(s, "COMMIT", err);
fail:
	exec_sql(s, "ROLLBACK", NULL);
	return -1;
}

/* Open the SQLite store under settings->state_dir. */
store *store_sqlite_open(const store_settings *settings, runnel_error *err)
{
	if (!settings || !settings->state_dir)
		return rn_fail(err, EINVAL, "__all__: store: no state dir"), NULL;
	if (sodium_init() < 0)
		return rn_fail(err, EIO, "__all__: libsodium does not initialize"), NULL;
	if (rn_mkdirs(settings->state_dir, 0700, err) < 0)
		return NULL;
	sq *s = calloc(1, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->ckpt_mu, NULL);
	pthread_cond_init(&s->ckpt_cv, NULL);
	/* SQLite's memory statistics take a global mutex on each allocation and
	 * nothing here reads them. They can only be turned off before SQLite's
	 * first use in the process: later calls fail, harmlessly. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* "sqlite:PATH": that file; else the state dir's runneld.db */
	const char *b = settings->backend;
	char *path = b && !strncmp(b, "sqlite:", 7)
	                 ? rn_xstrdup(b + 7)
	                 : rn_path_join(settings->state_dir, "runneld.db");
	int rc = sqlite3_open_v2(path, &s->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                             SQLITE_OPEN_NOMUTEX /* our mutex serializes */,
	                         NULL);
	if (rc != SQLITE_OK) {
		rn_fail(err, EIO, "__all__: open %s: %s", path,
		        s->db ? sqlite3_errmsg(s->db) : "out of memory");
		free(path);
		sqlite3_close(s->db);
		free(s);
		return NULL;
	}
	chmod(path, 0600);
	s->path = path;
	s->busy_timeout_ms = settings->busy_timeout_ms > 0 ? settings->busy_timeout_ms : 10000;
	sqlite3_busy_timeout(s->db, s->busy_timeout_ms);
	add_functions(s->db);
	store *st = calloc(1, sizeof *st);
	st->ops = &sqlite_ops;
	st->impl = s;
	snprintf(st->backend, sizeof st->backend, "sqlite");
	if (exec_sql(s,
	             "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
	             "PRAGMA foreign_keys=OFF;",
	             err) < 0 ||
	    secrets_key_load(&s->key, settings->state_dir, err) < 0 || migrate(s, err) < 0 ||
	    (settings->thread_connections && conns_start(s, err) < 0)) {
		sq_close(st);
		return NULL;
	}
	return st;
}

/* Open the store named by settings->backend. */
store *store_open(const store_settings *settings, runnel_error *err)
{
	const char *b =
	    settings && settings->backend && *settings->backend ? settings->backend : "sqlite";
	if (!strcmp(b, "sqlite"))
		return store_sqlite_open(settings, err);
	if (!strncmp(b, "sqlite:", 7)) {
		if (b[7] != '/')
			return rn_fail(
			           err, EINVAL,
			           "__all__: store: sqlite:PATH needs an absolute path (workers "
			           "open it from another directory)"),
			       NULL;
		return store_sqlite_open(settings, err);
	}
	if (!strncmp(b, "postgresql://", 13) || !strncmp(b, "postgres://", 11))
		return store_pg_open(settings, err);
	/* only the scheme is named: the rest may hold a password */
	return rn_fail(err, EINVAL,
	               "__all__: store: unknown backend '%.*s' (known: sqlite, sqlite:PATH, "
	               "postgresql://USER@HOST:PORT/DB)",
	               (int)strcspn(b, ":"), b),
	       NULL;
}

static const store_ops sqlite_ops = {
    .close = sq_close,
    .create = sq_create,
    .get = sq_get,
    .update = sq_update,
    .remove = sq_remove,
    .list = sq_list,
    .associate = sq_associate,
    .disassociate = sq_disassociate,
    .related_ids = sq_related_ids,
    .user_authenticate = sq_user_authenticate,
    .user_secret_stamp = sq_user_secret_stamp,
    .token_create = sq_token_create,
    .token_authenticate = sq_token_authenticate,
    .credential_inputs = sq_credential_inputs,
    .inventory_script = sq_inventory_script,
    .inventory_import = sq_inventory_import,
    .job_transition = sq_job_transition,
    .job_append = sq_job_append,
    .job_set_cancel_flag = sq_job_set_cancel_flag,
    .jobs_cleanup = sq_jobs_cleanup,
    .events_insert = sq_events_insert,
    .events_insert_rows = sq_events_insert_rows,
    .events_list = sq_events_list,
    .stdout_read = sq_stdout_read,
    .host_summaries_list = sq_host_summaries_list,
};
