/*
 * sqlite_raw.c - the SQLite backend's primitives for backend_common.c (the
 * logic the backends share: relation checks, imported hosts and groups, job
 * status moves). ctx is the connection (sq), its lock held by the caller.
 */
#include "sqlite_internal.h"

#include <stdio.h>

#include "backend_common.h"

static int raw_begin(void *x, runnel_error *err)
{
	return sq_exec_sql(x, "BEGIN IMMEDIATE", err);
}

static int raw_commit(void *x, runnel_error *err)
{
	return sq_exec_sql(x, "COMMIT", err);
}

static void raw_rollback(void *x)
{
	sq_exec_sql(x, "ROLLBACK", NULL);
}

static bool raw_exists(void *x, store_kind kind, long id)
{
	return sq_exists(x, kind, id);
}

static int raw_read(void *x, store_kind kind, long id, json_t **data, runnel_error *err)
{
	return sq_read_raw(x, kind, id, data, NULL, err);
}

static int raw_write(void *x, store_kind kind, long id, json_t *data, runnel_error *err)
{
	return sq_write_raw(x, kind, id, data, NULL, err);
}

static long raw_create(void *x, store_kind kind, const json_t *fields, runnel_error *err)
{
	json_t *o = sq_create_locked(x, kind, fields, STORE_SYSTEM, err);
	long id = o ? (long)json_integer_value(json_object_get(o, "id")) : 0;
	json_decref(o);
	return id;
}

static long raw_member_id(void *x, store_kind kind, long inv, const char *name, runnel_error *err)
{
	char sql[160];
	snprintf(sql, sizeof sql,
	         "SELECT id FROM %s WHERE json_extract(data,'$.inventory')=? AND name=?",
	         sq_table_of(kind));
	sqlite3_stmt *stm = sq_prep(x, sql, err);
	if (!stm)
		return -1;
	sqlite3_bind_int64(stm, 1, inv);
	sqlite3_bind_text(stm, 2, name, -1, SQLITE_TRANSIENT);
	long id = sqlite3_step(stm) == SQLITE_ROW ? (long)sqlite3_column_int64(stm, 0) : 0;
	sqlite3_reset(stm);
	return id;
}

static int raw_job_started(void *x, long id, double *t, runnel_error *err)
{
	sqlite3_stmt *stm = sq_prep(x, "SELECT started_ts FROM unified_jobs WHERE id=?", err);
	if (!stm)
		return -1;
	sqlite3_bind_int64(stm, 1, id);
	*t = sqlite3_step(stm) == SQLITE_ROW && sqlite3_column_type(stm, 0) != SQLITE_NULL
	         ? sqlite3_column_double(stm, 0)
	         : -1;
	sqlite3_reset(stm);
	return 0;
}

static int raw_job_set_ts(void *x, long id, const char *column, double t, runnel_error *err)
{
	char sql[96];
	snprintf(sql, sizeof sql, "UPDATE unified_jobs SET %s=? WHERE id=?", column);
	sqlite3_stmt *stm = sq_prep(x, sql, err);
	if (!stm)
		return -1;
	sqlite3_bind_double(stm, 1, t);
	sqlite3_bind_int64(stm, 2, id);
	int rc = sqlite3_step(stm) == SQLITE_DONE ? 0 : sq_db_fail(x, err, "job timestamp");
	sqlite3_reset(stm);
	return rc;
}

const store_raw_ops sq_raw_ops = {
    .begin = raw_begin,
    .commit = raw_commit,
    .rollback = raw_rollback,
    .exists = raw_exists,
    .read = raw_read,
    .write = raw_write,
    .create = raw_create,
    .member_id = raw_member_id,
    .job_started = raw_job_started,
    .job_set_ts = raw_job_set_ts,
};
