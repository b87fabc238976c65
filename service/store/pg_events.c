/*
 * pg_events.c - events in PostgreSQL: batches COPYed into a temp table of
 * the connection, then moved into the partitioned events table with INSERT
 * ... ON CONFLICT DO NOTHING (unique per job and counter: a batch sent
 * again stores nothing twice), host summaries and parent flags from
 * playbook_on_stats, lists of events and summaries, stdout read by counter
 * ranges.
 */
#include "pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_derive.h"
#include "model.h"
#include "shape.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* the hot path: COPY                                                   */

/* The connection's COPY target: rows of one batch, gone at commit. */
static const char temp_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS events_in(job_id bigint, counter bigint, event text,"
    " event_data text, failed boolean, changed boolean, uuid text, parent_uuid text,"
    " host_id bigint, host_name text, playbook text, play text, role text, task text,"
    " stdout text, start_line bigint, end_line bigint, verbosity bigint, created text,"
    " job_created text) ON COMMIT DELETE ROWS";

/* Rows go from events_in to events; the job's own created is the partition
 * key (the job's events all land in its hour), the event's when the job is
 * unknown. In the same statement the jobs' stored counts go up by what was
 * stored, and the parents the stored rows flag are marked (as mark_parents
 * marks them, from the rows this statement stored). It answers a row (-1,
 * events stored) and a row (job, counter) per playbook_on_stats stored. */
static const char move_sql[] =
    "WITH ins AS (INSERT INTO events(job_id, counter, event, event_data, failed, changed, uuid,"
    " parent_uuid, host_id, host_name, playbook, play, role, task, stdout, start_line,"
    " end_line, verbosity, created, modified, job_created)"
    " SELECT t.job_id, t.counter, t.event, t.event_data, t.failed, t.changed, t.uuid,"
    " t.parent_uuid, t.host_id, t.host_name, t.playbook, t.play, t.role, t.task, t.stdout,"
    " t.start_line, t.end_line, t.verbosity, t.created, $1, coalesce(j.created, t.job_created)"
    " FROM events_in t LEFT JOIN unified_jobs j ON j.id = t.job_id"
    " ON CONFLICT DO NOTHING RETURNING job_id, counter, event, failed, changed, parent_uuid),"
    " marks AS (INSERT INTO event_parent_pending(job_id, uuid, failed, changed)"
    " SELECT job_id, parent_uuid, bool_or(failed), bool_or(changed) FROM ins"
    " WHERE (failed OR changed) AND parent_uuid <> '' GROUP BY job_id, parent_uuid"
    " ON CONFLICT(job_id, uuid) DO UPDATE SET"
    " failed = event_parent_pending.failed OR excluded.failed,"
    " changed = event_parent_pending.changed OR excluded.changed),"
    " per AS (SELECT job_id, count(*) AS n FROM ins GROUP BY job_id),"
    " up AS (UPDATE unified_jobs j SET events_stored = j.events_stored + per.n FROM per"
    " WHERE j.id = per.job_id RETURNING j.id)"
    " SELECT -1::bigint, (SELECT count(*) FROM ins) UNION ALL"
    " SELECT job_id, counter FROM ins WHERE event = 'playbook_on_stats'";

/* Append v to a COPY text row, escaped (tab, newline, CR, backslash), NUL
 * bytes left out (PostgreSQL's text holds none; AWX strips them too). */
static void copy_str(rn_buf *b, const char *p, size_t n)
{
	rn_buf_reserve(b, n + 8);
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		switch (ch) {
		case 0:
			break;
		case '\\':
			rn_buf_append(b, "\\\\", 2);
			break;
		case '\t':
			rn_buf_append(b, "\\t", 2);
			break;
		case '\n':
			rn_buf_append(b, "\\n", 2);
			break;
		case '\r':
			rn_buf_append(b, "\\r", 2);
			break;
		default:
			rn_buf_appendc(b, ch);
		}
	}
}

static void copy_sv(rn_buf *b, store_str v)
{
	copy_str(b, v.p ? v.p : "", v.n);
	rn_buf_appendc(b, '\t');
}

static void copy_ll(rn_buf *b, long long v)
{
	char t[24];
	int n = snprintf(t, sizeof t, "%lld\t", v);
	rn_buf_append(b, t, (size_t)n);
}

/* One row as a COPY text line (events_in's columns). direct: the columns
 * of events (modified = now, job_created = job_created, the job's own). */
static void copy_row(rn_buf *b, const store_event_row *r, const char *now, bool direct,
                     const char *job_created)
{
	copy_ll(b, r->job_id);
	copy_ll(b, r->counter);
	copy_sv(b, r->event);
	copy_sv(b, r->event_data.n ? r->event_data : (store_str){"{}", 2});
	rn_buf_append(b, r->failed ? "t\t" : "f\t", 2);
	rn_buf_append(b, r->changed ? "t\t" : "f\t", 2);
	copy_sv(b, r->uuid);
	copy_sv(b, r->parent_uuid);
	if (r->host_id)
		copy_ll(b, r->host_id);
	else
		rn_buf_append(b, "\\N\t", 3);
	copy_sv(b, r->host_name);
	copy_sv(b, r->playbook);
	copy_sv(b, r->play);
	copy_sv(b, r->role);
	copy_sv(b, r->task);
	copy_sv(b, r->stdout);
	copy_ll(b, r->start_line);
	copy_ll(b, r->end_line);
	copy_ll(b, r->verbosity);
	copy_sv(b, r->created.n ? r->created : (store_str){now, strlen(now)});
	if (direct) {
		copy_str(b, now, strlen(now));
		rn_buf_appendc(b, '\t');
		copy_str(b, job_created, strlen(job_created));
	} else {
		copy_str(b, r->job_created.p ? r->job_created.p : "", r->job_created.n);
	}
	rn_buf_appendc(b, '\n');
}

/* Send buf through sql (a COPY ... FROM STDIN). 0 or -1 with err. */
static int copy_in(pgc *c, const char *sql, const rn_buf *buf, runnel_error *err)
{
	PGresult *r = PQexec(c->conn, sql);
	if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
		pg_fail(c, r, err, "copy events");
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if (PQputCopyData(c->conn, buf->data ? buf->data : "", (int)buf->len) != 1 ||
	    PQputCopyEnd(c->conn, NULL) != 1)
		return pg_fail(c, NULL, err, "copy events");
	int rc = 0;
	while ((r = PQgetResult(c->conn))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0)
			rc = pg_fail(c, r, err, "copy events");
		PQclear(r);
	}
	return rc;
}

/* A batch being stored: its rows, and for each playbook_on_stats row its
 * event_data (the host counts; NULL for other rows). */
typedef struct ev_batch {
	const store_event_row *rows;
	json_t **stats;
	size_t n;
} ev_batch;

/* Host summaries from a playbook_on_stats event (stats: its event_data),
 * then the parents' failed/changed flags; transaction held. */
static int store_stats(pgc *c, long long job_id, const json_t *stats, const char *created,
                       runnel_error *err)
{
	char jb[24];
	pg_num(jb, job_id);
	event_host_stats *hosts = NULL;
	size_t n = event_stats_hosts(stats, &hosts);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char v[EVENT_STATS_COUNTS][24];
		for (int k = 0; k < EVENT_STATS_COUNTS; k++)
			pg_num(v[k], hosts[i].counts[k]);
		const char *failed = hosts[i].failed ? "t" : "f";
		const char *vals[] = {jb,   hosts[i].host, created, v[0], v[1], v[2],
		                      v[3], v[4],          v[5],    v[6], v[7], failed};
		/* the host of the job's inventory with that name, if any */
		PGresult *r = pg_q(
		    c,
		    "INSERT INTO host_summaries(job_id, host_id, host_name, created, modified, "
		    "changed,"
		    " dark, failures, ignored, ok, processed, rescued, skipped, failed)"
		    " VALUES($1, (SELECT h.id FROM \"hosts\" h, unified_jobs j WHERE j.id=$1 AND"
		    " (h.data->>'inventory')::bigint = (j.data->>'inventory')::bigint AND h.name=$2"
		    " LIMIT 1), $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
		    " ON CONFLICT(job_id, host_name) DO UPDATE SET changed=excluded.changed,"
		    " dark=excluded.dark, failures=excluded.failures, ignored=excluded.ignored,"
		    " ok=excluded.ok, processed=excluded.processed, rescued=excluded.rescued,"
		    " skipped=excluded.skipped, failed=excluded.failed, modified=excluded.modified"
		    " RETURNING host_id",
		    12, vals, err);
		if (!r) {
			rc = -1;
			break;
		}
		if (PQntuples(r) && !PQgetisnull(r, 0, 0)) {
			const char *up[] = {pg_val(r, 0, 0), jb,
			                    hosts[i].failed ? "true" : "false"};
			PGresult *u =
			    pg_q(c,
			         "UPDATE \"hosts\" SET data = data || jsonb_build_object("
			         "'last_job', $2::bigint, 'has_active_failures', $3::boolean)"
			         " WHERE id=$1",
			         3, up, err);
			if (!u)
				rc = -1;
			PQclear(u);
		}
		PQclear(r);
	}
	free(hosts);
	if (rc < 0)
		return -1;
	/* Parents (playbook_on_*: tasks, plays) are failed / changed when a
	 * child is: first the parents of flagged events (gathered as the
	 * batches came, event_parent_pending), then theirs (the parent's own
	 * parent as its batch saw it, else from its event row). The flags go
	 * to event_parent_flags, not into the parents' rows. */
	static const char *const prop[] = {
	    "INSERT INTO event_parent_flags(job_id, uuid, failed, changed)"
	    " SELECT job_id, uuid, failed, changed FROM event_parent_pending WHERE job_id=$1"
	    " ON CONFLICT(job_id, uuid) DO UPDATE SET"
	    " failed = event_parent_flags.failed OR excluded.failed,"
	    " changed = event_parent_flags.changed OR excluded.changed",
	    "INSERT INTO event_parent_flags(job_id, uuid, failed, changed)"
	    " SELECT $1::bigint, up, bool_or(failed), bool_or(changed) FROM ("
	    " SELECT p.up, f.failed, f.changed FROM event_parent_flags f"
	    " JOIN event_parent_pending p ON p.job_id=$1 AND p.uuid=f.uuid AND p.up IS NOT NULL"
	    " WHERE f.job_id=$1"
	    " UNION ALL SELECT e.parent_uuid, f.failed, f.changed FROM event_parent_flags f"
	    " CROSS JOIN LATERAL (SELECT parent_uuid FROM events e WHERE e.job_id=$1"
	    " AND e.uuid=f.uuid AND e.event LIKE 'playbook\\_on%' OFFSET 0) e"
	    " WHERE f.job_id=$1 AND NOT EXISTS (SELECT 1 FROM event_parent_pending p"
	    " WHERE p.job_id=$1 AND p.uuid=f.uuid AND p.up IS NOT NULL)) x"
	    " WHERE up<>'' GROUP BY up ON CONFLICT(job_id, uuid) DO UPDATE SET"
	    " failed = event_parent_flags.failed OR excluded.failed,"
	    " changed = event_parent_flags.changed OR excluded.changed",
	    NULL};
	const char *v1[] = {jb};
	for (int i = 0; prop[i]; i++) {
		PGresult *r = pg_q(c, prop[i], 1, v1, err);
		if (!r)
			return -1;
		PQclear(r);
	}
	return 0;
}

/* The stats of the row of b with job and counter, or NULL. */
static json_t *stats_of(const ev_batch *b, size_t from, size_t to, long long job, long long counter,
                        store_str *created)
{
	for (size_t i = from; i < to; i++)
		if (b->stats && b->stats[i] && b->rows[i].job_id == job &&
		    b->rows[i].counter == counter) {
			*created = b->rows[i].created;
			return b->stats[i];
		}
	return NULL;
}

/* The direct path's COPY: rows straight into events. */
static const char copy_direct_sql[] =
    "COPY events(job_id, counter, event, event_data, failed, changed, uuid, parent_uuid,"
    " host_id, host_name, playbook, play, role, task, stdout, start_line, end_line, verbosity,"
    " created, modified, job_created) FROM STDIN";

/* For each job of a batch (ids, with the lowest and highest counter the
 * batch has of it): its created (NULL: no such job), and whether it has an
 * event stored in that range already. */
static const char probe_sql[] =
    "SELECT v.id, j.created, j.created IS NOT NULL AND EXISTS (SELECT 1 FROM events e"
    " WHERE e.job_id = v.id AND e.job_created = j.created AND e.counter BETWEEN v.lo AND v.hi)"
    " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, lo, hi)"
    " LEFT JOIN unified_jobs j ON j.id = v.id";

/* One job of a batch. */
typedef struct batch_job {
	long long id, lo, hi, last, n;
	bool ordered; /* its counters come strictly increasing: no duplicate among them */
	char created[40];
} batch_job;

/* The jobs of rows [from, to) of b (*n of them, a new array). */
static batch_job *batch_jobs(const ev_batch *b, size_t from, size_t to, size_t *n)
{
	batch_job *v = NULL;
	size_t len = 0, cap = 0;
	for (size_t i = from; i < to; i++) {
		const store_event_row *r = &b->rows[i];
		size_t k = len;
		while (k-- > 0 && v[k].id != r->job_id)
			;
		if (k == (size_t)-1) {
			if (len == cap) {
				cap = cap ? cap * 2 : 8;
				v = rn_xrealloc(v, cap * sizeof *v);
			}
			k = len++;
			v[k] =
			    (batch_job){r->job_id, r->counter, r->counter, r->counter, 1, true, ""};
			continue;
		}
		v[k].ordered = v[k].ordered && r->counter > v[k].last;
		v[k].last = r->counter;
		v[k].n++;
		if (r->counter < v[k].lo)
			v[k].lo = r->counter;
		if (r->counter > v[k].hi)
			v[k].hi = r->counter;
	}
	*n = len;
	return v;
}

/* "{1,2,3}": an array parameter of one field of jobs. */
static char *id_array(const batch_job *v, size_t n, int which)
{
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_appendc(&b, '{');
	for (size_t i = 0; i < n; i++) {
		char t[32];
		long long x = which == 0   ? v[i].id
		              : which == 1 ? v[i].lo
		              : which == 2 ? v[i].hi
		                           : v[i].n;
		int len = snprintf(t, sizeof t, "%s%lld", i ? "," : "", x);
		rn_buf_append(&b, t, (size_t)len);
	}
	rn_buf_appendc(&b, '}');
	return b.data;
}

/* Lock the rows of the batch's jobs (their events_stored goes up) in id
 * order: two batches stored side by side (store.h's event_writers) then
 * wait for each other instead of deadlocking, as an UPDATE ... FROM would
 * (it locks in the join's order). 0 or -1 with err. */
static int lock_jobs(pgc *c, batch_job *jobs, size_t n, runnel_error *err)
{
	char *ids = id_array(jobs, n, 0);
	const char *v[1] = {ids};
	PGresult *r = pg_q(c,
	                   "SELECT id FROM unified_jobs WHERE id = ANY($1::bigint[]) ORDER BY id"
	                   " FOR NO KEY UPDATE",
	                   1, v, err);
	free(ids);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

/* One parent that rows of a batch flag: event_derive.h's parents, the first
 * step up, gathered as the batches come (event_parent_pending) so that the
 * job's playbook_on_stats need not read its events back for them. */
typedef struct parent_mark {
	long long job;
	store_str uuid;
	bool failed, changed;
	store_str up; /* a parent row of the batch: its own parent */
} parent_mark;

static int mark_cmp(const void *a, const void *b)
{
	const parent_mark *x = a, *y = b;
	if (x->job != y->job)
		return x->job < y->job ? -1 : 1;
	size_t n = x->uuid.n < y->uuid.n ? x->uuid.n : y->uuid.n;
	int c = memcmp(x->uuid.p, y->uuid.p, n);
	return c ? c : x->uuid.n < y->uuid.n ? -1 : x->uuid.n > y->uuid.n;
}

/* Append v to an array literal as a quoted element ("" escaped, NUL bytes
 * left out as COPY leaves them out of the rows). */
static void array_str(rn_buf *b, store_str v)
{
	rn_buf_appendc(b, '"');
	for (size_t i = 0; i < v.n; i++) {
		char ch = v.p[i];
		if (!ch)
			continue;
		if (ch == '"' || ch == '\\')
			rn_buf_appendc(b, '\\');
		rn_buf_appendc(b, ch);
	}
	rn_buf_appendc(b, '"');
}

/* The parents rows [from, to) of b flag, into event_parent_pending; the
 * batch's jobs locked (no other writer touches their rows). A flagged
 * parent whose own row (a playbook_on_* event) is in the batch too is
 * marked with its parent ("up"), so that the stats need not look it up in
 * the events; the others get theirs then. 0 or -1. */
static int mark_parents(pgc *c, const ev_batch *b, size_t from, size_t to, runnel_error *err)
{
	parent_mark *m = NULL, *rows = NULL;
	size_t n = 0, nrows = 0;
	for (size_t i = from; i < to; i++) {
		const store_event_row *r = &b->rows[i];
		if ((r->failed || r->changed) && r->parent_uuid.n) {
			if (!m)
				m = rn_xmalloc((to - i) * sizeof *m);
			m[n++] = (parent_mark){.job = r->job_id,
			                       .uuid = r->parent_uuid,
			                       .failed = r->failed,
			                       .changed = r->changed};
		}
		if (event_is_parent(r->event.p, r->event.n)) {
			if (!rows)
				rows = rn_xmalloc((to - i) * sizeof *rows);
			rows[nrows++] =
			    (parent_mark){.job = r->job_id, .uuid = r->uuid, .up = r->parent_uuid};
		}
	}
	if (!n) {
		free(rows);
		return 0;
	}
	qsort(m, n, sizeof *m, mark_cmp);
	if (rows)
		qsort(rows, nrows, sizeof *rows, mark_cmp);
	rn_buf a[5];
	for (int k = 0; k < 5; k++) {
		rn_buf_init(&a[k]);
		rn_buf_appendc(&a[k], '{');
	}
	for (size_t i = 0, k; i < n; i = k) {
		bool failed = false, changed = false;
		for (k = i; k < n && mark_cmp(&m[i], &m[k]) == 0; k++)
			failed |= m[k].failed, changed |= m[k].changed;
		const parent_mark *own =
		    rows ? bsearch(&m[i], rows, nrows, sizeof *rows, mark_cmp) : NULL;
		const char *sep = i ? "," : "";
		char t[32];
		rn_buf_append(&a[0], t, (size_t)snprintf(t, sizeof t, "%s%lld", sep, m[i].job));
		rn_buf_append(&a[1], sep, strlen(sep));
		array_str(&a[1], m[i].uuid);
		rn_buf_append(&a[2], t,
		              (size_t)snprintf(t, sizeof t, "%s%c", sep, failed ? 't' : 'f'));
		rn_buf_append(&a[3], t,
		              (size_t)snprintf(t, sizeof t, "%s%c", sep, changed ? 't' : 'f'));
		rn_buf_append(&a[4], sep, strlen(sep));
		if (own)
			array_str(&a[4], own->up);
		else
			rn_buf_append(&a[4], "NULL", 4);
	}
	const char *v[5];
	for (int k = 0; k < 5; k++) {
		rn_buf_appendc(&a[k], '}');
		v[k] = a[k].data;
	}
	PGresult *r =
	    pg_q(c,
	         "INSERT INTO event_parent_pending(job_id, uuid, failed, changed, up) SELECT * FROM"
	         " unnest($1::bigint[], $2::text[], $3::boolean[], $4::boolean[], $5::text[])"
	         " ON CONFLICT(job_id, uuid) DO UPDATE SET"
	         " failed = event_parent_pending.failed OR excluded.failed,"
	         " changed = event_parent_pending.changed OR excluded.changed,"
	         " up = coalesce(event_parent_pending.up, excluded.up)"
	         " WHERE (excluded.failed AND NOT event_parent_pending.failed)"
	         " OR (excluded.changed AND NOT event_parent_pending.changed)"
	         " OR (event_parent_pending.up IS NULL AND excluded.up IS NOT NULL)",
	         5, v, err);
	for (int k = 0; k < 5; k++)
		rn_buf_free(&a[k]);
	free(m);
	free(rows);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

/* True when rows of jobs can go straight into events: every job exists,
 * none has an event stored in the batch's range of its counters, none
 * repeats a counter in the batch (the usual case: a batch is new). Fills
 * each job's created. -1 with err. Transaction held. */
static int direct_ok(pgc *c, batch_job *jobs, size_t n, runnel_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (!jobs[i].ordered)
			return 0;
	char *a[3] = {id_array(jobs, n, 0), id_array(jobs, n, 1), id_array(jobs, n, 2)};
	const char *v[3] = {a[0], a[1], a[2]};
	PGresult *r = pg_q(c, probe_sql, 3, v, err);
	for (int i = 0; i < 3; i++)
		free(a[i]);
	if (!r)
		return -1;
	int ok = PQntuples(r) == (int)n;
	for (int i = 0; ok && i < PQntuples(r); i++) {
		long long id = pg_ll(r, i, 0);
		if (PQgetisnull(r, i, 1) || pg_bool(r, i, 2)) {
			ok = 0;
			break;
		}
		for (size_t k = 0; k < n; k++)
			if (jobs[k].id == id)
				snprintf(jobs[k].created, sizeof jobs[k].created, "%s",
				         pg_val(r, i, 1));
	}
	PQclear(r);
	return ok;
}

/* Host summaries and parent flags of the stats row of b with job and
 * counter (transaction held). 0 or -1. */
static int stats_for(pgc *c, const ev_batch *b, size_t from, size_t to, long long job,
                     long long counter, const char *now, runnel_error *err)
{
	store_str created = {0};
	json_t *stats = stats_of(b, from, to, job, counter, &created);
	char cz[40];
	if (created.n)
		snprintf(cz, sizeof cz, "%.*s", (int)created.n, created.p);
	else
		snprintf(cz, sizeof cz, "%s", now);
	return stats ? store_stats(c, job, stats, cz, err) : 0;
}

/* Rows [from, to) of b straight into events (direct_ok said so); the jobs'
 * stored counts; the stats rows' summaries. The number stored, or -1. */
static long store_direct(pgc *c, const ev_batch *b, size_t from, size_t to, batch_job *jobs,
                         size_t njobs, const char *now, runnel_error *err)
{
	rn_buf buf;
	rn_buf_init(&buf);
	for (size_t i = from; i < to; i++) {
		const store_event_row *r = &b->rows[i];
		const char *jc = "";
		for (size_t k = 0; k < njobs; k++)
			if (jobs[k].id == r->job_id)
				jc = jobs[k].created;
		copy_row(&buf, r, now, true, jc);
	}
	int rc = copy_in(c, copy_direct_sql, &buf, err);
	rn_buf_free(&buf);
	if (rc < 0 || lock_jobs(c, jobs, njobs, err) < 0 || mark_parents(c, b, from, to, err) < 0)
		return -1;
	char *a[2] = {id_array(jobs, njobs, 0), id_array(jobs, njobs, 3)};
	const char *v[2] = {a[0], a[1]};
	PGresult *r = pg_q(c,
	                   "UPDATE unified_jobs j SET events_stored = j.events_stored + v.n FROM"
	                   " unnest($1::bigint[], $2::bigint[]) AS v(id, n) WHERE j.id = v.id",
	                   2, v, err);
	free(a[0]);
	free(a[1]);
	if (!r)
		return -1;
	PQclear(r);
	for (size_t i = from; b->stats && i < to; i++)
		if (b->stats[i] &&
		    stats_for(c, b, from, to, b->rows[i].job_id, b->rows[i].counter, now, err) < 0)
			return -1;
	return (long)(to - from);
}

/* Rows [from, to) of b through events_in: those already stored are skipped.
 * The number stored, or -1. */
static long store_merged(pgc *c, const ev_batch *b, size_t from, size_t to, batch_job *jobs,
                         size_t njobs, const char *now, runnel_error *err)
{
	rn_buf buf;
	rn_buf_init(&buf);
	for (size_t i = from; i < to; i++)
		copy_row(&buf, &b->rows[i], now, false, NULL);
	int rc = copy_in(c, "COPY events_in FROM STDIN", &buf, err);
	rn_buf_free(&buf);
	if (rc < 0 || lock_jobs(c, jobs, njobs, err) < 0)
		return -1;
	const char *v[1] = {now};
	PGresult *r = pg_q(c, move_sql, 1, v, err);
	if (!r)
		return -1;
	long n = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		long long job = pg_ll(r, i, 0);
		if (job < 0)
			n = (long)pg_ll(r, i, 1);
		else if (stats_for(c, b, from, to, job, pg_ll(r, i, 1), now, err) < 0)
			n = -1;
		if (n < 0)
			break;
	}
	PQclear(r);
	return n;
}

/* Store rows [from, to) of b in one transaction: straight into events when
 * the batch is new (the usual case), else through events_in with ON
 * CONFLICT DO NOTHING. The number stored, or -1 with err (rolled back). */
static long store_range(pgc *c, const ev_batch *b, size_t from, size_t to, const char *now,
                        runnel_error *err)
{
	size_t njobs = 0;
	batch_job *jobs = batch_jobs(b, from, to, &njobs);
	long stored = -1;
	if (pg_exec(c, "BEGIN", err) == 0) {
		int direct = direct_ok(c, jobs, njobs, err);
		if (direct > 0)
			stored = store_direct(c, b, from, to, jobs, njobs, now, err);
		else if (direct == 0)
			stored = store_merged(c, b, from, to, jobs, njobs, now, err);
		if (stored >= 0 && pg_exec(c, "COMMIT", err) < 0)
			stored = -1;
		if (stored < 0)
			pg_rollback(c);
	}
	free(jobs);
	return stored;
}

/* Store a batch (store.h's events_insert contract): one transaction; if it
 * fails for a reason that may pass, nothing is dropped (EAGAIN); if it fails
 * for one of its events, they go in one by one and the bad ones are dropped. */
static int insert_batch(store *st, const ev_batch *b, long *stored, long *dropped,
                        runnel_error *err)
{
	pg *p = pg_of(st);
	long nst = 0, ndrop = 0;
	int rc = -1;
	pgc *c = pg_acquire(p, err);
	if (!c)
		goto out;
	if (!c->events_temp) {
		if (pg_exec(c, temp_sql, err) < 0)
			goto out;
		c->events_temp = true;
	}
	char now[32];
	model_now(now);
	runnel_error e0 = {0};
	long n = store_range(c, b, 0, b->n, now, &e0);
	if (n >= 0) {
		nst = n;
		rc = 0;
		goto out;
	}
	if (pg_err_transient(&e0)) {
		if (err)
			*err = e0;
		goto out;
	}
	rc = 0;
	for (size_t i = 0; i < b->n; i++) {
		runnel_error e1 = {0};
		n = store_range(c, b, i, i + 1, now, &e1);
		if (n >= 0) {
			nst += n;
			continue;
		}
		if (err)
			*err = e1;
		if (pg_err_transient(&e1)) {
			rc = -1;
			break;
		}
		ndrop++;
	}
out:
	pg_release(p, c);
	if (stored)
		*stored = nst;
	if (dropped)
		*dropped = ndrop;
	return rc;
}

/* A batch of n rows whose trees are read here: rows that need_tree (from
 * their text) or every event of a JSON array (events). Rows that cannot be
 * read are dropped (err says why); the rest go to insert_batch. */
static int insert_trees(store *st, const store_event_row *rows, const json_t *events, size_t n,
                        long *stored, long *dropped, runnel_error *err)
{
	store_event_row *out = rn_xmalloc((n ? n : 1) * sizeof *out);
	json_t **stats = calloc(n ? n : 1, sizeof *stats);
	store_tree_row *trees = calloc(n ? n : 1, sizeof *trees);
	json_t **docs = calloc(n ? n : 1, sizeof *docs);
	char now[32];
	model_now(now);
	size_t m = 0;
	long bad = 0;
	runnel_error e0 = {0};
	for (size_t i = 0; i < n; i++) {
		const json_t *ev = NULL;
		if (events) {
			ev = json_array_get(events, i);
		} else if (rows[i].needs_tree) {
			docs[i] = json_loadb(rows[i].text.p, rows[i].text.n, JSON_ALLOW_NUL, NULL);
			ev = docs[i];
		} else {
			out[m++] = rows[i];
			continue;
		}
		if (!json_is_object(ev)) {
			rn_fail(&e0, EINVAL, "event: not a JSON object");
			bad++;
			continue;
		}
		if (store_tree_row_init(&trees[i], ev, now, &e0) < 0) {
			bad++;
			continue;
		}
		const store_event_row *r = &trees[i].row;
		if (event_is_stats(r->event.p, r->event.n) && trees[i].event_data)
			stats[m] = (json_t *)trees[i].event_data;
		out[m++] = *r;
	}
	ev_batch b = {.rows = out, .stats = stats, .n = m};
	long nst = 0, ndrop = 0;
	int rc = insert_batch(st, &b, &nst, &ndrop, err);
	if (bad && rc == 0 && err && !ndrop)
		*err = e0;
	for (size_t i = 0; i < n; i++) {
		store_tree_row_free(&trees[i]);
		json_decref(docs[i]);
	}
	free(trees);
	free(docs);
	free(stats);
	free(out);
	if (stored)
		*stored = nst;
	if (dropped)
		*dropped = ndrop + bad;
	return rc;
}

int pg_events_insert(store *st, const json_t *events, long *stored, long *dropped,
                     runnel_error *err)
{
	return insert_trees(st, NULL, events, json_array_size(events), stored, dropped, err);
}

int pg_events_insert_rows(store *st, const store_event_row *rows, size_t n, long *stored,
                          long *dropped, runnel_error *err)
{
	bool trees = false;
	for (size_t i = 0; i < n && !trees; i++)
		trees = rows[i].needs_tree;
	if (trees)
		return insert_trees(st, rows, NULL, n, stored, dropped, err);
	ev_batch b = {.rows = rows, .n = n};
	return insert_batch(st, &b, stored, dropped, err);
}

/* ------------------------------------------------------------------ */
/* stdout                                                               */

/* The type (32 bytes) and created (40 bytes: the events' partition key) of a
 * unified job, and (stored: may be NULL) how many events it has stored. 0, or
 * -1 with ENOENT / err. */
static int job_of(pgc *c, long job_id, char type[32], char created[40], long *stored,
                  runnel_error *err)
{
	char jb[24];
	const char *v[1] = {pg_num(jb, job_id)};
	PGresult *r =
	    pg_q(c, "SELECT type, created, events_stored FROM unified_jobs WHERE id=$1", 1, v, err);
	if (!r)
		return -1;
	if (!PQntuples(r)) {
		PQclear(r);
		return rn_fail(err, ENOENT, "__all__: Not found.");
	}
	snprintf(type, 32, "%s", pg_val(r, 0, 0));
	snprintf(created, 40, "%s", pg_val(r, 0, 1));
	if (stored)
		*stored = (long)pg_ll(r, 0, 2);
	PQclear(r);
	return 0;
}

/* The counter before the job's first event with start_line >= line: the
 * runner numbers lines in counter order, so a binary search over counters,
 * each probe one step of the (job_id, counter, job_created) index. -1 when
 * line is at the start; -2 with err. */
static long counter_before_line(pgc *c, const char *jb, const char *created, long line,
                                runnel_error *err)
{
	if (line <= 0)
		return -1;
	const char *v0[2] = {jb, created};
	PGresult *r = pg_q(c,
	                   "SELECT coalesce(max(counter), 0) + 1 FROM events WHERE job_id=$1 AND "
	                   "job_created=$2",
	                   2, v0, err);
	if (!r)
		return -2;
	long lo = -1, hi = (long)pg_ll(r, 0, 0);
	PQclear(r);
	while (lo + 1 < hi) {
		long mid = lo + (hi - lo) / 2;
		char mb[24];
		const char *v[3] = {jb, created, pg_num(mb, mid)};
		r = pg_q(c,
		         "SELECT counter, start_line FROM events WHERE job_id=$1 AND job_created=$2"
		         " AND counter >= $3 ORDER BY counter LIMIT 1",
		         3, v, err);
		if (!r)
			return -2;
		bool before = PQntuples(r) && pg_ll(r, 0, 1) < line;
		long ctr = PQntuples(r) ? (long)pg_ll(r, 0, 0) : 0;
		PQclear(r);
		if (before)
			lo = ctr;
		else
			hi = mid;
	}
	return lo;
}

/* The job's stdout (store.h): its events' stdout in counter order, read in
 * counter ranges of STDOUT_PAGE events, each handed to fn with no
 * connection held. */
#define STDOUT_PAGE 500

int pg_stdout_read(store *st, long job_id, long start_line, long end_line, store_stdout_fn fn,
                   void *userdata, long *absolute_end, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return -1;
	char type[32], created[40], jb[24];
	pg_num(jb, job_id);
	if (job_of(c, job_id, type, created, NULL, err) < 0) {
		pg_release(p, c);
		return -1;
	}
	if (absolute_end) {
		const char *v[2] = {jb, created};
		runnel_error e;
		PGresult *r = pg_q(c,
		                   "SELECT end_line FROM events WHERE job_id=$1 AND job_created=$2"
		                   " ORDER BY counter DESC LIMIT 1",
		                   2, v, &e);
		*absolute_end = r && PQntuples(r) ? (long)pg_ll(r, 0, 0) : 0;
		PQclear(r);
	}
	long after = counter_before_line(c, jb, created, start_line, err);
	pg_release(p, c);
	if (after < -1)
		return -1;
	rn_buf chunk;
	rn_buf_init(&chunk);
	int rc = 0;
	for (bool more = true; more && rc == 0;) {
		c = pg_acquire(p, err);
		if (!c) {
			rc = -1;
			break;
		}
		char ab[24];
		const char *v[3] = {jb, created, pg_num(ab, after)};
		PGresult *r =
		    pg_q(c,
		         "SELECT stdout, start_line, counter FROM events WHERE job_id=$1"
		         " AND job_created=$2 AND counter > $3 ORDER BY counter LIMIT 500",
		         3, v, err);
		pg_release(p, c);
		if (!r) {
			rc = -1;
			break;
		}
		int n = PQntuples(r);
		more = n == STDOUT_PAGE;
		for (int i = 0; i < n; i++) {
			long line = (long)pg_ll(r, i, 1);
			after = (long)pg_ll(r, i, 2);
			if (end_line >= 0 && line >= end_line) {
				more = false;
				break;
			}
			int len = PQgetlength(r, i, 0);
			if (!len || line < start_line)
				continue;
			rn_buf_reset(&chunk);
			rn_buf_append(&chunk, pg_val(r, i, 0), (size_t)len);
			rn_buf_appendc(&chunk, '\n');
			rc = fn(chunk.data, chunk.len, userdata);
			if (rc)
				break;
		}
		PQclear(r);
	}
	rn_buf_free(&chunk);
	return rc;
}

/* ------------------------------------------------------------------ */
/* lists                                                                */

/* A paginated list of a job's events or host summaries. */
static int list_job_rows(store *st, bool summaries, long job_id, const store_query *q,
                         store_page *out, runnel_error *err)
{
	out->count = 0;
	out->results = NULL;
	query qy;
	if (query_parse(summaries ? QUERY_HOST_SUMMARIES : QUERY_EVENTS, STORE_JOB, q, &qy, err) <
	    0)
		return -1;
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	char type[32], created[40], jb[24];
	if (!c || job_of(c, job_id, type, created, NULL, err) < 0) {
		pg_release(p, c);
		query_clear(&qy);
		return -1;
	}
	pg_params prm = {0};
	pg_params_add(&prm, pg_num(jb, job_id));
	rn_buf where;
	rn_buf_init(&where);
	if (summaries) {
		rn_buf_append(&where, " WHERE job_id = $1", 18);
	} else {
		/* the job's partition only */
		char b[64];
		snprintf(b, sizeof b, " WHERE events.job_id = $1 AND events.job_created = $%d",
		         pg_params_add(&prm, created));
		rn_buf_append(&where, b, strlen(b));
	}
	size_t unfiltered = where.len;
	pg_where(&qy, &where, &prm);
	char *order = pg_order(&qy, summaries ? "id" : "events.id");
	long limit = qy.limit, offset = qy.offset;
	query_clear(&qy);
	int rc = -1;
	/* the page and the count of all it is a page of in one statement (one
	 * snapshot: the page is never longer than the count); of all of the
	 * job's events, the count the batches that stored them kept (count(*)
	 * would visit every row) */
	const char *table = summaries ? "host_summaries" : "events";
	bool all = !summaries && where.len == unfiltered;
	char *count = all ? rn_xstrdup("SELECT events_stored FROM unified_jobs WHERE id = $1")
	                  : rn_xasprintf("SELECT count(*) FROM %s%s", table, where.data);
	int nwhere = all ? 1 : prm.n;
	char *page = pg_limit(&prm, limit, offset);
	char *sql;
	if (summaries)
		sql =
		    rn_xasprintf("SELECT id, host_id, host_name, created, modified, changed, dark,"
		                 " failures, ignored, ok, processed, rescued, skipped, failed,"
		                 " (%s) FROM host_summaries%s%s%s",
		                 count, where.data, order, page);
	else
		sql = rn_xasprintf(
		    "SELECT events.id, counter, event, event_data,"
		    " (events.failed OR (left(events.event, 11) = 'playbook_on' AND"
		    " coalesce(f.failed, false))),"
		    " (events.changed OR (left(events.event, 11) = 'playbook_on' AND"
		    " coalesce(f.changed, false))),"
		    " events.uuid, parent_uuid, host_id, host_name, playbook, play, role, task,"
		    " stdout, start_line, end_line, verbosity, created, modified, job_created,"
		    " (%s) FROM events LEFT JOIN event_parent_flags f"
		    " ON f.job_id = events.job_id AND f.uuid = events.uuid%s%s%s",
		    count, where.data, order, page);
	free(page);
	PGresult *r = pg_q(c, sql, prm.n, (const char *const *)prm.v, err);
	free(sql);
	if (!r) {
		free(count);
		goto out;
	}
	int count_col = summaries ? 14 : 21;
	out->count = PQntuples(r) ? (long)pg_ll(r, 0, count_col) : 0;
	if (!PQntuples(r) && offset > 0) { /* past the end: the count on its own */
		PQclear(r);
		r = pg_qd(c, count, nwhere, (const char *const *)prm.v, err);
		if (!r) {
			free(count);
			goto out;
		}
		out->count = (long)pg_ll(r, 0, 0);
		PQclear(r);
		r = NULL;
	}
	free(count);
	out->results = json_array();
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *o;
		if (summaries) {
			shape_host_summary_row h = {
			    .id = (long)pg_ll(r, i, 0),
			    .job_id = job_id,
			    .has_host = !PQgetisnull(r, i, 1),
			    .host_id = pg_ll(r, i, 1),
			    .host_name = pg_val(r, i, 2),
			    .created = pg_val(r, i, 3),
			    .modified = pg_val(r, i, 4),
			    .failed = pg_bool(r, i, 13),
			};
			for (int k = 0; k < EVENT_STATS_COUNTS; k++)
				h.counts[k] = pg_ll(r, i, 5 + k);
			o = shape_host_summary(&h);
		} else {
			shape_event_row e = {
			    .id = (long)pg_ll(r, i, 0),
			    .job_id = job_id,
			    .job_type = type,
			    .counter = pg_ll(r, i, 1),
			    .event = pg_val(r, i, 2),
			    .event_data = pg_val(r, i, 3),
			    .failed = pg_bool(r, i, 4),
			    .changed = pg_bool(r, i, 5),
			    .uuid = pg_val(r, i, 6),
			    .parent_uuid = pg_val(r, i, 7),
			    .has_host = !PQgetisnull(r, i, 8),
			    .host_id = pg_ll(r, i, 8),
			    .host_name = pg_val(r, i, 9),
			    .playbook = pg_val(r, i, 10),
			    .play = pg_val(r, i, 11),
			    .role = pg_val(r, i, 12),
			    .task = pg_val(r, i, 13),
			    .stdout = pg_val(r, i, 14),
			    .start_line = pg_ll(r, i, 15),
			    .end_line = pg_ll(r, i, 16),
			    .verbosity = pg_ll(r, i, 17),
			    .created = pg_val(r, i, 18),
			    .modified = pg_val(r, i, 19),
			    .job_created = pg_val(r, i, 20),
			};
			o = shape_event(&e);
		}
		json_array_append_new(out->results, o);
	}
	PQclear(r);
	rc = 0;
out:
	if (rc < 0)
		store_page_clear(out);
	pg_release(p, c);
	free(order);
	rn_buf_free(&where);
	pg_params_free(&prm);
	return rc;
}

int pg_events_list(store *st, long job_id, const store_query *q, store_page *out, runnel_error *err)
{
	return list_job_rows(st, false, job_id, q, out, err);
}

int pg_host_summaries_list(store *st, long job_id, const store_query *q, store_page *out,
                           runnel_error *err)
{
	return list_job_rows(st, true, job_id, q, out, err);
}

/* ------------------------------------------------------------------ */
/* slim rows                                                            */

/* A text value for a slim row ("" if it is not UTF-8: jansson refuses it). */
static json_t *slim_text(const char *s)
{
	json_t *v = json_string(s);
	return v ? v : json_string("");
}

/* The slim rows of a job's events (store.h events_slim): a counter range of
 * the (job_id, counter, job_created) index, no event_data, no count. */
int pg_events_slim(store *st, long job_id, long after, long limit, json_t **out, runnel_error *err)
{
	*out = NULL;
	if (limit < 1 || limit > 1000)
		limit = 1000;
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return -1;
	char type[32], created[40], jb[24], ab[24], lb[24];
	if (job_of(c, job_id, type, created, NULL, err) < 0) {
		pg_release(p, c);
		return -1;
	}
	const char *v[4] = {pg_num(jb, job_id), created, pg_num(ab, after), pg_num(lb, limit)};
	PGresult *r = pg_q(c,
	                   "SELECT counter, event,"
	                   " (events.failed OR (left(events.event, 11) = 'playbook_on' AND"
	                   " coalesce(f.failed, false))),"
	                   " (events.changed OR (left(events.event, 11) = 'playbook_on' AND"
	                   " coalesce(f.changed, false))),"
	                   " host_name, task, stdout, start_line, end_line, created"
	                   " FROM events LEFT JOIN event_parent_flags f"
	                   " ON f.job_id = events.job_id AND f.uuid = events.uuid"
	                   " WHERE events.job_id=$1 AND job_created=$2 AND counter > $3"
	                   " ORDER BY counter LIMIT $4",
	                   4, v, err);
	pg_release(p, c);
	if (!r)
		return -1;
	json_t *rows = json_array();
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *o = json_object();
		json_object_set_new(o, "counter", json_integer(pg_ll(r, i, 0)));
		json_object_set_new(o, "event", slim_text(pg_val(r, i, 1)));
		json_object_set_new(o, "failed", json_boolean(pg_bool(r, i, 2)));
		json_object_set_new(o, "changed", json_boolean(pg_bool(r, i, 3)));
		json_object_set_new(o, "host_name", slim_text(pg_val(r, i, 4)));
		json_object_set_new(o, "task", slim_text(pg_val(r, i, 5)));
		json_object_set_new(o, "stdout", slim_text(pg_val(r, i, 6)));
		json_object_set_new(o, "start_line", json_integer(pg_ll(r, i, 7)));
		json_object_set_new(o, "end_line", json_integer(pg_ll(r, i, 8)));
		json_object_set_new(o, "created", slim_text(pg_val(r, i, 9)));
		json_array_append_new(rows, o);
	}
	PQclear(r);
	*out = rows;
	return 0;
}
