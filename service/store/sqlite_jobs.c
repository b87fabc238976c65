/*
 * sqlite_jobs.c - unified jobs' status changes, explanations, cancel flag and
 * the cleanup of old jobs.
 */
#include "sqlite_internal.h"

#include "backend_common.h"
#include "job_states.h"
#include "shape.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Delete one unified job and what hangs off it; lock and transaction held. */
int sq_delete_job_locked(sq *s, long id, runnel_error *err)
{
	char sql[128];
	if (sq_exec_id(s, "DELETE FROM events WHERE job_id=?", id, err) < 0 ||
	    sq_exec_id(s, "DELETE FROM event_parent_flags WHERE job_id=?", id, err) < 0 ||
	    sq_exec_id(s, "DELETE FROM host_summaries WHERE job_id=?", id, err) < 0)
		return -1;
	snprintf(sql, sizeof sql, "DELETE FROM relations WHERE rel=%d AND parent=?",
	         STORE_REL_JOB_CREDENTIALS);
	if (sq_exec_id(s, sql, id, err) < 0)
		return -1;
	return sq_exec_id(s, "DELETE FROM unified_jobs WHERE id=?", id, err);
}

/* Move a job's status when it is in one of from (backend_common.c). */
int sq_job_transition(store *st, long id, const char *const *from, const char *status,
                      char *current, runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	int rc = store_raw_job_transition(&sq_raw_ops, s, id, from, status, current, err);
	sq_unlock(s);
	return rc;
}

/* Append a line to job_explanation / result_traceback (backend_common.c). */
int sq_job_append(store *st, long id, const char *field, const char *text, runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	int rc = store_raw_job_append(&sq_raw_ops, s, id, field, text, err);
	sq_unlock(s);
	return rc;
}

/* Set cancel_flag once. */
int sq_job_set_cancel_flag(store *st, long id, runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	json_t *data = NULL;
	int rc = sq_exec_sql(s, "BEGIN IMMEDIATE", err);
	if (rc == 0)
		rc = sq_read_raw(s, STORE_UNIFIED_JOB, id, &data, NULL, err);
	if (rc == 0 && !json_is_true(json_object_get(data, "cancel_flag"))) {
		json_object_set_new(data, "cancel_flag", json_true());
		rc = sq_write_raw(s, STORE_UNIFIED_JOB, id, data, NULL, err) < 0 ? -1 : 1;
	}
	if (rc >= 0 && sq_exec_sql(s, "COMMIT", err) < 0)
		rc = -1;
	if (rc < 0)
		sq_exec_sql(s, "ROLLBACK", NULL);
	json_decref(data);
	sq_unlock(s);
	return rc;
}

/* A job's status, cancel flag and event counts from its one row
 * (store.h job_progress; the values shape.c reads them as). */
int sq_job_progress(store *st, long id, store_progress *out, runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	int rc = -1;
	sqlite3_stmt *stm =
	    sq_prep(s, "SELECT data, events_stored FROM unified_jobs WHERE id=?", err);
	if (stm) {
		sqlite3_bind_int64(stm, 1, id);
		int step = sqlite3_step(stm);
		if (step == SQLITE_ROW) {
			json_t *data = json_loads(sq_col_text(stm, 0), 0, NULL);
			shape_job_progress(data, (long)sqlite3_column_int64(stm, 1), out);
			json_decref(data);
			rc = 0;
		} else if (step == SQLITE_DONE) {
			rn_fail(err, ENOENT, "__all__: Not found.");
		} else {
			sq_db_fail(s, err, "job progress");
		}
		sqlite3_reset(stm);
	}
	sq_unlock(s);
	return rc;
}

/* Delete finished jobs older than days. */
int sq_jobs_cleanup(store *st, double days, long *deleted, runnel_error *err)
{
	sq *s = SQ(st);
	double cutoff = sq_epoch_now() - days * 86400.0;
	sq_lock(s);
	json_t *ids = json_array();
	sqlite3_stmt *stm =
	    sq_prep(s,
	            "SELECT id FROM unified_jobs WHERE finished_ts IS NOT NULL AND finished_ts < ?"
	            " AND status NOT IN ('new','pending','waiting','running')",
	            err);
	if (!stm) {
		sq_unlock(s);
		json_decref(ids);
		return -1;
	}
	sqlite3_bind_double(stm, 1, cutoff);
	while (sqlite3_step(stm) == SQLITE_ROW)
		json_array_append_new(ids, json_integer(sqlite3_column_int64(stm, 0)));
	sqlite3_reset(stm);
	int rc = sq_exec_sql(s, "BEGIN IMMEDIATE", err);
	size_t i;
	json_t *x;
	json_array_foreach(ids, i, x)
		if (rc == 0)
			rc = sq_delete_job_locked(s, (long)json_integer_value(x), err);
	if (rc == 0)
		rc = sq_exec_sql(s, "COMMIT", err);
	else
		sq_exec_sql(s, "ROLLBACK", NULL);
	sq_unlock(s);
	if (deleted)
		*deleted = rc == 0 ? (long)json_array_size(ids) : 0;
	json_decref(ids);
	return rc;
}

/* The compare-and-set of a schedule's next_run (store.h schedule_claim):
 * the read and the write in one IMMEDIATE transaction, so that of two
 * runnelds (or threads) claiming one run, only one sees its expected value. */
int sq_schedule_claim(store *st, long id, const char *expected, const char *next, runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	json_t *data = NULL;
	int rc = sq_exec_sql(s, "BEGIN IMMEDIATE", err);
	if (rc == 0)
		rc = sq_read_raw(s, STORE_SCHEDULE, id, &data, NULL, err);
	if (rc == 0) {
		const char *cur = json_string_value(json_object_get(data, "next_run"));
		bool same = (!cur && !expected) || (cur && expected && !strcmp(cur, expected));
		if (same && json_is_true(json_object_get(data, "enabled"))) {
			json_object_set_new(data, "next_run",
			                    next ? json_string(next) : json_null());
			rc = sq_write_raw(s, STORE_SCHEDULE, id, data, NULL, err) < 0 ? -1 : 1;
		}
	}
	if (rc >= 0 && sq_exec_sql(s, "COMMIT", err) < 0)
		rc = -1;
	if (rc < 0)
		sq_exec_sql(s, "ROLLBACK", NULL);
	json_decref(data);
	sq_unlock(s);
	return rc;
}
