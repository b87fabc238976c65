/*
 * pg.h - the PostgreSQL backend's insides, shared by its files:
 *   pg.c         connections (a small pool per handle), statements, errors,
 *                schema and migrations, open/close, the vtable
 *   pg_crud.c    resources: create/get/update/remove/list, relations, users,
 *                tokens, credentials, inventories, unified job status
 *   pg_events.c  events (COPY into a partitioned table), host summaries,
 *                stdout by counter ranges
 *
 * Layout as the SQLite backend's, so that both give the same answers: one
 * table per kind with id, created, modified, name, data (jsonb: the validated
 * fields), secret; unified jobs in one table (one id space) with type,
 * status, started_ts, finished_ts, events_stored as real columns; events,
 * event_parent_flags and host_summaries as real tables. Text columns that
 * are ordered or compared use the "C" collation (byte order, as SQLite).
 */
#ifndef RUNNELD_STORE_PG_H
#define RUNNELD_STORE_PG_H

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "query.h"
#include "seal.h"
#include "secrets.h"
#include "store.h"
#include "util.h"

/* A prepared statement of one connection. */
typedef struct pg_stmt {
	char *sql;
	char name[16];
} pg_stmt;

/* One connection and what it has prepared. */
typedef struct pgc {
	PGconn *conn;
	pg_stmt *stmts;
	size_t nstmts, cap;
	unsigned serial;  /* names of prepared statements */
	bool events_temp; /* the COPY target (a temp table) exists on it */
} pgc;

/* A handle: the server's URL, the state dir's key, idle connections. */
typedef struct pg {
	char *url;
	store_key key;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pgc **idle;
	size_t nidle;
	size_t open, max; /* connections open / at most (1: calls serialized) */
} pg;

/* The handle of a store. */
static inline pg *pg_of(store *st)
{
	return st->impl;
}

/* A connection of p for one call (waits while max are in use; reconnects a
 * broken one), or NULL with err. Hand it back with pg_release. */
pgc *pg_acquire(pg *p, runnel_error *err);
void pg_release(pg *p, pgc *c);

/* Run sql (a fixed text: prepared once per connection, then executed) with
 * n text parameters (NULL: SQL NULL). The result (tuples or command ok), or
 * NULL with err (see pg_fail). */
PGresult *pg_q(pgc *c, const char *sql, int n, const char *const *vals, runnel_error *err);
/* The same for a text made per call (filters): not prepared. */
PGresult *pg_qd(pgc *c, const char *sql, int n, const char *const *vals, runnel_error *err);
/* Run sql with no parameters and no result (BEGIN, COMMIT, DDL). 0 or -1. */
int pg_exec(pgc *c, const char *sql, runnel_error *err);
/* ROLLBACK, errors ignored. */
void pg_rollback(pgc *c);
/* A single-integer result of sql with one integer parameter (dflt when no row / error). */
long long pg_int(pgc *c, const char *sql, long long param, long long dflt);

/* Fill err from a failed result (or the connection, res NULL): EEXIST for a
 * unique violation, EINVAL for a value PostgreSQL cannot hold, EAGAIN for a
 * failure that may pass (connection lost, disk full, deadlock, serialization,
 * shutdown), else EIO. Message "__all__: <what>: <server's message>". -1. */
int pg_fail(pgc *c, PGresult *res, runnel_error *err, const char *what);
/* True if err is what pg_fail says for a failure that may pass. */
static inline bool pg_err_transient(const runnel_error *err)
{
	return err && err->code == EAGAIN;
}

/* A number as a parameter (buf: 24 bytes). */
const char *pg_num(char *buf, long long v);
/* A value of a column: "" for NULL. */
static inline const char *pg_val(PGresult *r, int row, int col)
{
	return PQgetvalue(r, row, col);
}
static inline long long pg_ll(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}
static inline bool pg_bool(PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

/* The quoted table of a kind ("unified_jobs" for unified job kinds). */
const char *pg_table(store_kind kind);
/* Make sure the events partition of the hour of created (a job's "created")
 * exists; in its own transaction, serialized between processes. 0 or -1. */
int pg_events_partition(pgc *c, const char *created, runnel_error *err);

/* pg_query.c: query.h's parsed form as SQL. Parameters are texts (NULL:
 * SQL NULL), numbered from 1 in the order added. */
typedef struct pg_params {
	char **v;
	int n, cap;
} pg_params;
/* Add a parameter (copied); its number. */
int pg_params_add(pg_params *p, const char *text);
void pg_params_free(pg_params *p);
/* " AND <cond>" for each condition of qy appended to where. */
void pg_where(const query *qy, rn_buf *where, pg_params *p);
/* " LIMIT $i OFFSET $j" (a new string), limit and offset added to p as
 * parameters: a page's text is then the same for every page and filter
 * value, prepared once per connection. */
char *pg_limit(pg_params *p, long limit, long offset);
/* " ORDER BY <keys>, <id_col>" of qy (a new string). */
char *pg_order(const query *qy, const char *id_col);

/* pg_crud.c */
json_t *pg_create_locked(pg *p, pgc *c, store_kind kind, const json_t *fields, unsigned flags,
                         runnel_error *err);
json_t *pg_get_locked(pg *p, pgc *c, store_kind kind, long id, runnel_error *err);
json_t *pg_create(store *st, store_kind kind, const json_t *fields, unsigned flags,
                  runnel_error *err);
json_t *pg_get(store *st, store_kind kind, long id, runnel_error *err);
int pg_exists(store *st, store_kind kind, long id, runnel_error *err);
json_t *pg_update(store *st, store_kind kind, long id, const json_t *fields, unsigned flags,
                  runnel_error *err);
int pg_remove(store *st, store_kind kind, long id, runnel_error *err);
int pg_list(store *st, store_kind kind, const store_query *q, store_page *out, runnel_error *err);
int pg_associate(store *st, store_rel rel, long parent, long child, runnel_error *err);
int pg_disassociate(store *st, store_rel rel, long parent, long child, runnel_error *err);
json_t *pg_related_ids(store *st, store_rel rel, long id, bool reverse, runnel_error *err);
json_t *pg_related_names(store *st, store_rel rel, const long *parents, size_t n,
                         runnel_error *err);
json_t *pg_user_authenticate(store *st, const char *username, const char *password,
                             unsigned char *stamp, runnel_error *err);
int pg_user_secret_stamp(store *st, long user_id, unsigned char stamp[32], runnel_error *err);
json_t *pg_token_create(store *st, long user_id, const json_t *fields, long long expire_seconds,
                        runnel_error *err);
json_t *pg_token_authenticate(store *st, const char *token, json_t **token_out, runnel_error *err);
json_t *pg_credential_inputs(store *st, long id, runnel_error *err);
json_t *pg_notification_configuration(store *st, long id, runnel_error *err);
json_t *pg_inventory_script(store *st, long inv, runnel_error *err);
int pg_inventory_import(store *st, long inv, const json_t *data, long source, bool overwrite,
                        bool overwrite_vars, long *nhosts, long *ngroups, runnel_error *err);
int pg_job_transition(store *st, long id, const char *const *from, const char *status,
                      char *current, runnel_error *err);
int pg_job_append(store *st, long id, const char *field, const char *text, runnel_error *err);
int pg_job_set_cancel_flag(store *st, long id, runnel_error *err);
int pg_job_progress(store *st, long id, store_progress *out, runnel_error *err);
int pg_schedule_claim(store *st, long id, const char *expected, const char *next,
                      runnel_error *err);
int pg_jobs_cleanup(store *st, double days, long *deleted, runnel_error *err);
/* Delete one unified job and what hangs off it (transaction held). */
int pg_delete_job(pgc *c, long id, runnel_error *err);

/* pg_events.c */
int pg_events_insert(store *st, const json_t *events, long *stored, long *dropped,
                     runnel_error *err);
int pg_events_insert_rows(store *st, const store_event_row *rows, size_t n, long *stored,
                          long *dropped, runnel_error *err);
int pg_events_list(store *st, long job_id, const store_query *q, store_page *out,
                   runnel_error *err);
int pg_host_summaries_list(store *st, long job_id, const store_query *q, store_page *out,
                           runnel_error *err);
int pg_stdout_read(store *st, long job_id, long start_line, long end_line, store_stdout_fn fn,
                   void *userdata, long *absolute_end, runnel_error *err);
int pg_events_slim(store *st, long job_id, long after, long limit, json_t **out, runnel_error *err);

#endif
