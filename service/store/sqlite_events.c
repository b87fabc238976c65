/*
 * sqlite_events.c - the events of jobs: batches stored in one transaction
 * (the callback receiver's hot path), host summaries and the parents'
 * flags from playbook_on_stats, the lists of events and host summaries, and
 * the stdout read back in counter order.
 */
#include "sqlite_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "event_derive.h"
#include "event_rows.h"
#include "query.h"
#include "shape.h"

/* The id of host name in the inventory of job_id (0: none); lock held. */
static long job_host_id(sq *s, long job_id, const char *name, runnel_error *err)
{
	sqlite3_stmt *q =
	    sq_prep(s,
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
	    sq_prep(s,
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
	int rc = sqlite3_step(ins) == SQLITE_DONE ? 0 : sq_db_fail(s, err, "host summary");
	sqlite3_reset(ins);
	if (host_id) {
		sqlite3_stmt *up = sq_prep(s,
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
	    "INSERT INTO event_parent_flags(job_id, uuid, failed)"
	    " SELECT DISTINCT ?1, parent_uuid, 1 FROM events INDEXED BY events_failed"
	    " WHERE job_id=?1 AND failed=1 AND parent_uuid<>''"
	    " ON CONFLICT(job_id, uuid) DO UPDATE SET failed=1",
	    "INSERT INTO event_parent_flags(job_id, uuid, changed)"
	    " SELECT DISTINCT ?1, parent_uuid, 1 FROM events INDEXED BY events_changed"
	    " WHERE job_id=?1 AND changed=1 AND parent_uuid<>''"
	    " ON CONFLICT(job_id, uuid) DO UPDATE SET changed=1",
	    NULL};
	const char *up =
	    "INSERT INTO event_parent_flags(job_id, uuid, failed, changed)"
	    " SELECT ?1, e.parent_uuid, max(f.failed), max(f.changed) FROM event_parent_flags f"
	    " CROSS JOIN events e INDEXED BY events_parents"
	    " ON e.job_id=?1 AND e.uuid=f.uuid AND substr(e.event,1,11)='playbook_on'"
	    " WHERE f.job_id=?1 AND e.parent_uuid<>'' GROUP BY e.parent_uuid"
	    " ON CONFLICT(job_id, uuid) DO UPDATE SET failed=max(failed, excluded.failed),"
	    " changed=max(changed, excluded.changed)";
	for (int i = 0; prop[i] && rc == 0; i++)
		rc = sq_exec_id(s, prop[i], job_id, err);
	if (rc == 0)
		rc = sq_exec_id(s, up, job_id, err);
	return rc;
}

/* The prepared INSERT of the events hot path (made once per handle). */
static sqlite3_stmt *event_stmt(sq *s, runnel_error *err)
{
	if (!s->insert_event &&
	    sqlite3_prepare_v3(
	        s->db,
	        "INSERT OR IGNORE INTO events(job_id, counter, event, event_data, failed, changed,"
	        " uuid, parent_uuid, host_id, host_name, playbook, play, role, task, stdout,"
	        " start_line, end_line, verbosity, created, modified, job_created)"
	        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	        -1, SQLITE_PREPARE_PERSISTENT, &s->insert_event, NULL) != SQLITE_OK) {
		sq_db_fail(s, err, "prepare");
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

/* Run the events INSERT (one prepared statement) for row r; lock and
 * transaction held. 1 stored, 0 a duplicate, -1 error. The whole of what the
 * database does per event: bench/floor_sqlite.c times it alone. */
int sq_event_row_step(sq *s, const store_event_row *r, const char *now, runnel_error *err)
{
	sqlite3_stmt *st = event_stmt(s, err);
	if (!st)
		return -1;
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
		return sq_db_fail(s, err, "insert event");
	return sqlite3_changes(s->db) > 0;
}

/* Run the events INSERT for row r, counting it in per_job when stored;
 * lock and transaction held. 1 stored, 0 a duplicate, -1 error. */
static int step_row(sq *s, const store_event_row *r, job_counts *per_job, const char *now,
                    runnel_error *err)
{
	int rc = sq_event_row_step(s, r, now, err);
	if (rc > 0)
		count_stored(per_job, (long)r->job_id);
	return rc;
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
		sqlite3_stmt *st = sq_prep(
		    s, "UPDATE unified_jobs SET events_stored=events_stored+? WHERE id=?", err);
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, per_job->v[i].n);
		sqlite3_bind_int64(st, 2, per_job->v[i].job);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return sq_db_fail(s, err, "count events");
	}
	return 0;
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
	sq_lock(s);
	sq_start_checkpointer(s);
	job_counts per_job_ = {0}, *per_job = &per_job_;
	runnel_error e0 = {0};
	bool transient = false;
	int rc = sq_exec_sql(s, "BEGIN IMMEDIATE", &e0);
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
	if (rc == 0 && bump_counts(s, per_job, &e0) == 0 && sq_exec_sql(s, "COMMIT", &e0) == 0)
		goto out;
	transient = failure_is_transient(s);
	sq_exec_sql(s, "ROLLBACK", NULL);
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
		if (sq_exec_sql(s, "BEGIN IMMEDIATE", &e1) < 0) {
			if (failure_is_transient(s))
				transient_fail(err, &e1);
			else if (err)
				*err = e1;
			rc = -1;
			break;
		}
		int r = fn(s, i, ctx, per_job, now, &e1);
		if (r >= 0 && bump_counts(s, per_job, &e1) == 0 &&
		    sq_exec_sql(s, "COMMIT", &e1) == 0) {
			nst += r;
			continue;
		}
		bool t1 = failure_is_transient(s);
		sq_exec_sql(s, "ROLLBACK", NULL);
		if (t1) {
			rc = transient_fail(err, &e1);
			break;
		}
		if (err)
			*err = e1;
		ndrop++;
	}
out:
	sq_unlock(s);
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
int sq_events_insert(store *st, const json_t *events, long *stored, long *dropped,
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
int sq_events_insert_rows(store *st, const store_event_row *rows, size_t n, long *stored,
                          long *dropped, runnel_error *err)
{
	return insert_batch(st, n, insert_row_at, (void *)rows, stored, dropped, err);
}

/* The type of a unified job (lock held) into out (32 bytes); "" if none. */
static void job_type_of(sq *s, long id, char out[32])
{
	out[0] = 0;
	runnel_error e;
	sqlite3_stmt *st = sq_prep(s, "SELECT type FROM unified_jobs WHERE id=?", &e);
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, 32, "%s", sq_col_text(st, 0));
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
	    .event = sq_col_text(st, 2),
	    .event_data = sq_col_text(st, 3),
	    .failed = sqlite3_column_int(st, 4),
	    .changed = sqlite3_column_int(st, 5),
	    .uuid = sq_col_text(st, 6),
	    .parent_uuid = sq_col_text(st, 7),
	    .has_host = has_host,
	    .host_id = has_host ? sqlite3_column_int64(st, 9) : 0,
	    .host_name = sq_col_text(st, 10),
	    .playbook = sq_col_text(st, 11),
	    .play = sq_col_text(st, 12),
	    .role = sq_col_text(st, 13),
	    .task = sq_col_text(st, 14),
	    .stdout = sq_col_text(st, 15),
	    .start_line = sqlite3_column_int64(st, 16),
	    .end_line = sqlite3_column_int64(st, 17),
	    .verbosity = sqlite3_column_int64(st, 18),
	    .created = sq_col_text(st, 19),
	    .modified = sq_col_text(st, 20),
	    .job_created = sq_col_text(st, 21),
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
	    .host_name = sq_col_text(st, 2),
	    .created = sq_col_text(st, 3),
	    .modified = sq_col_text(st, 4),
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
	sq_where_sql(&qy, &where, binds);
	order = sq_order_sql(&qy);
	long limit = qy.limit, offset = qy.offset;
	query_clear(&qy);
	const char *table = summaries ? "host_summaries" : "events";
	sq_lock(s);
	bool snap = sq_snapshot_begin(s);
	char type[32];
	job_type_of(s, job_id, type);
	if (!*type) {
		sq_snapshot_end(s, snap);
		sq_unlock(s);
		rn_fail(err, ENOENT, "__all__: Not found.");
		goto out;
	}
	char *sql = rn_xasprintf("SELECT count(*) FROM %s%s", table, where.data);
	sqlite3_stmt *stm = sq_prep(s, sql, err);
	free(sql);
	if (!stm) {
		sq_snapshot_end(s, snap);
		sq_unlock(s);
		goto out;
	}
	sq_bind_all(stm, binds);
	out->count = sqlite3_step(stm) == SQLITE_ROW ? (long)sqlite3_column_int64(stm, 0) : 0;
	sqlite3_reset(stm);
	if (summaries)
		sql =
		    rn_xasprintf("SELECT id, host_id, host_name, created, modified, changed, dark,"
		                 " failures, ignored, ok, processed, rescued, skipped, failed"
		                 " FROM host_summaries%s%s LIMIT %ld OFFSET %ld",
		                 where.data, order, limit, offset);
	else
		sql = rn_xasprintf("SELECT id, counter, event, event_data, " PARENT_FLAG_EXPR
		                   ", " PARENT_FLAG_EXPR ","
		                   " uuid, parent_uuid, job_id, host_id, host_name, playbook, play,"
		                   " role, task, stdout, start_line, end_line, verbosity, created,"
		                   " modified, job_created FROM events%s%s LIMIT %ld OFFSET %ld",
		                   "failed", "failed", "changed", "changed", where.data, order,
		                   limit, offset);
	stm = sq_prep(s, sql, err);
	free(sql);
	if (!stm) {
		sq_snapshot_end(s, snap);
		sq_unlock(s);
		goto out;
	}
	sq_bind_all(stm, binds);
	out->results = json_array();
	int step;
	while ((step = sqlite3_step(stm)) == SQLITE_ROW)
		json_array_append_new(out->results, summaries ? summary_of_row(stm, job_id)
		                                              : event_of_row(stm, job_id, type));
	rc = step == SQLITE_DONE ? 0 : sq_db_fail(s, err, "list");
	sqlite3_reset(stm);
	sq_snapshot_end(s, snap);
	sq_unlock(s);
	if (rc < 0)
		store_page_clear(out);
out:
	free(order);
	rn_buf_free(&where);
	json_decref(binds);
	return rc;
}

/* The events of a job. */
int sq_events_list(store *st, long job_id, const store_query *q, store_page *out, runnel_error *err)
{
	return list_job_rows(st, false, job_id, q, out, err);
}

/* The host summaries of a job. */
int sq_host_summaries_list(store *st, long job_id, const store_query *q, store_page *out,
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
	    sq_prep(s,
	            "SELECT counter, start_line FROM events WHERE job_id=?1 AND counter>=?2"
	            " ORDER BY counter LIMIT 1",
	            err);
	if (!st)
		return -2;
	long lo = -1; /* every counter <= lo starts before line */
	long hi = sq_count_where(s, "SELECT coalesce(max(counter),0)+1 FROM events WHERE job_id=?",
	                         job_id);
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
int sq_stdout_read(store *st, long job_id, long start_line, long end_line, store_stdout_fn fn,
                   void *userdata, long *absolute_end, runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	char type[32];
	job_type_of(s, job_id, type);
	if (!*type) {
		sq_unlock(s);
		return rn_fail(err, ENOENT, "__all__: Not found.");
	}
	if (absolute_end)
		*absolute_end =
		    sq_count_where(s,
		                   "SELECT coalesce((SELECT end_line FROM events WHERE job_id=?1"
		                   " ORDER BY counter DESC LIMIT 1),0)",
		                   job_id);
	long after_counter = counter_before_line(s, job_id, start_line, err);
	sq_unlock(s);
	if (after_counter < -1)
		return -1;
	rn_buf chunk;
	rn_buf_init(&chunk);
	for (bool more = true; more;) {
		json_t *page = json_array();
		sq_lock(s);
		sqlite3_stmt *stm = sq_prep(s,
		                            "SELECT stdout, start_line, counter FROM events"
		                            " WHERE job_id=?1 AND counter > ?2"
		                            " ORDER BY counter LIMIT 500",
		                            err);
		if (!stm) {
			sq_unlock(s);
			json_decref(page);
			rn_buf_free(&chunk);
			return -1;
		}
		sqlite3_bind_int64(stm, 1, job_id);
		sqlite3_bind_int64(stm, 2, after_counter);
		while (sqlite3_step(stm) == SQLITE_ROW) {
			json_array_append_new(page,
			                      json_pack("[s,I,I]", sq_col_text(stm, 0),
			                                (json_int_t)sqlite3_column_int64(stm, 1),
			                                (json_int_t)sqlite3_column_int64(stm, 2)));
		}
		sqlite3_reset(stm);
		sq_unlock(s);
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

/* A text value for a slim row ("" if it is not UTF-8: jansson refuses it). */
static json_t *slim_text(const char *s)
{
	json_t *v = json_string(s);
	return v ? v : json_string("");
}

/* The slim rows of a job's events (store.h events_slim): one step of the
 * (job_id, counter) index per row, no event_data, no count. */
int sq_events_slim(store *st, long job_id, long after, long limit, json_t **out, runnel_error *err)
{
	sq *s = SQ(st);
	*out = NULL;
	if (limit < 1 || limit > 1000)
		limit = 1000;
	sq_lock(s);
	char type[32];
	job_type_of(s, job_id, type);
	if (!*type) {
		sq_unlock(s);
		return rn_fail(err, ENOENT, "__all__: Not found.");
	}
	sqlite3_stmt *stm = sq_prep(
	    s,
	    "SELECT counter, event,"
	    " (CASE WHEN events.failed THEN 1 WHEN substr(events.event,1,11)<>'playbook_on' THEN 0"
	    " ELSE coalesce((SELECT p.failed FROM event_parent_flags p"
	    " WHERE p.job_id=events.job_id AND p.uuid=events.uuid),0) END),"
	    " (CASE WHEN events.changed THEN 1 WHEN substr(events.event,1,11)<>'playbook_on' THEN 0"
	    " ELSE coalesce((SELECT p.changed FROM event_parent_flags p"
	    " WHERE p.job_id=events.job_id AND p.uuid=events.uuid),0) END),"
	    " host_name, task, stdout, start_line, end_line, created"
	    " FROM events WHERE job_id=?1 AND counter>?2 ORDER BY counter LIMIT ?3",
	    err);
	if (!stm) {
		sq_unlock(s);
		return -1;
	}
	sqlite3_bind_int64(stm, 1, job_id);
	sqlite3_bind_int64(stm, 2, after);
	sqlite3_bind_int64(stm, 3, limit);
	json_t *rows = json_array();
	int step;
	while ((step = sqlite3_step(stm)) == SQLITE_ROW) {
		json_t *o = json_object();
		json_object_set_new(o, "counter", json_integer(sqlite3_column_int64(stm, 0)));
		json_object_set_new(o, "event", slim_text(sq_col_text(stm, 1)));
		json_object_set_new(o, "failed", json_boolean(sqlite3_column_int(stm, 2)));
		json_object_set_new(o, "changed", json_boolean(sqlite3_column_int(stm, 3)));
		json_object_set_new(o, "host_name", slim_text(sq_col_text(stm, 4)));
		json_object_set_new(o, "task", slim_text(sq_col_text(stm, 5)));
		json_object_set_new(o, "stdout", slim_text(sq_col_text(stm, 6)));
		json_object_set_new(o, "start_line", json_integer(sqlite3_column_int64(stm, 7)));
		json_object_set_new(o, "end_line", json_integer(sqlite3_column_int64(stm, 8)));
		json_object_set_new(o, "created", slim_text(sq_col_text(stm, 9)));
		json_array_append_new(rows, o);
	}
	int rc = step == SQLITE_DONE ? 0 : sq_db_fail(s, err, "events");
	sqlite3_reset(stm);
	sq_unlock(s);
	if (rc < 0) {
		json_decref(rows);
		return -1;
	}
	*out = rows;
	return 0;
}
