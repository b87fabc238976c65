/*
 * shape.h - the AWX shape of every resource the store returns, from rows a
 * backend read: id, type, url, related, summary_fields, created, modified,
 * the kind's fields, and what AWX adds (`$encrypted$` for secrets, can_cancel,
 * event_processing_finished, host_status_counts, an inventory's totals, an
 * event's event_display and event_level, ...).
 *
 * No SQL here: what a shape needs beyond its row (the name of an fk target,
 * a count, a job's host status counts) comes through a shape_source, a small
 * table of callbacks the backend fills. Every backend returns the same
 * objects for the same rows.
 */
#ifndef RUNNELD_STORE_SHAPE_H
#define RUNNELD_STORE_SHAPE_H

#include <stdbool.h>
#include <jansson.h>

#include "event_derive.h"
#include "store.h"

/* The counts an object's shape shows. */
typedef enum shape_count {
	SHAPE_INVENTORY_HOSTS = 0, /* the hosts of inventory id */
	SHAPE_INVENTORY_GROUPS,    /* its groups */
	SHAPE_INVENTORY_SOURCES,   /* its inventory sources */
} shape_count;

/* AWX's host_status_counts: each host of a job in the first of these it is
 * in (a host with dark > 0 is "dark", else with failures > 0 "failures",
 * else changed > 0 "changed", else ok > 0 "ok", else skipped > 0 "skipped"). */
enum { SHAPE_DARK, SHAPE_FAILURES, SHAPE_CHANGED, SHAPE_OK, SHAPE_SKIPPED, SHAPE_HOST_STATUSES };

/* One lookup of a shape: an object by kind and id. */
typedef struct shape_ref {
	store_kind kind;
	long id;
} shape_ref;

/* lookup_many's answer for one ref that exists: its name and its stored
 * fields as JSON text. */
typedef void (*shape_found_fn)(void *ud, store_kind kind, long id, const char *name,
                               const char *data);
/* host_status_many's answer for one job that has host summaries. */
typedef void (*shape_status_fn)(void *ud, long job_id, const long counts[SHAPE_HOST_STATUSES]);

/* What a backend gives shape.c (the backend's connection in ctx). */
typedef struct shape_source {
	void *ctx;
	/* Object kind/id: true and *name (malloc()ed) when it exists, and
	 * when data is not NULL its stored fields in *data (a new object);
	 * false when it is gone. */
	bool (*lookup)(void *ctx, store_kind kind, long id, char **name, json_t **data);
	/* How many of what there are for id (0 when it cannot tell). */
	long (*count)(void *ctx, shape_count what, long id);
	/* The job's hosts counted by status (SHAPE_DARK...), as its host
	 * summaries say: true, false when it has none. */
	bool (*host_status)(void *ctx, long job_id, long counts[SHAPE_HOST_STATUSES]);
	/* Optional, for a backend whose every lookup is a round trip (NULL:
	 * one at a time is as cheap): lookup of refs[0..n) at once, found() for
	 * each that exists; 0, or -1 when the backend failed (the lookups are
	 * then made one at a time). */
	int (*lookup_many)(void *ctx, const shape_ref *refs, size_t n, shape_found_fn found,
	                   void *ud);
	/* Optional: host_status of jobs ids[0..n) at once, got() for each that
	 * has summaries; 0 or -1 as lookup_many. */
	int (*host_status_many)(void *ctx, const long *ids, size_t n, shape_status_fn got,
	                        void *ud);
} shape_source;

/* A shape_source that answers each lookup of one read once: the rows of a
 * list page share their templates, projects, inventories and users, and a
 * backend whose lookups are round trips (PostgreSQL) asks for each once per
 * page. The rows must come from one snapshot (a lookup's answer is kept). */
typedef struct shape_memo {
	const shape_source *inner;
	struct shape_memo_entry *entries;
	size_t n, cap;
	struct shape_memo_status *statuses;
	size_t n_statuses, cap_statuses;
	/* while prefetching: unknown lookups are noted here, not made */
	bool noting;
	shape_ref *noted;
	size_t n_noted, cap_noted;
	long *noted_jobs;
	size_t n_noted_jobs, cap_noted_jobs;
} shape_memo;

/* A source (returned) that asks m, which asks inner; m and inner outlive it. */
shape_source shape_memo_source(shape_memo *m, const shape_source *inner);
void shape_memo_clear(shape_memo *m);

/* One row of an object: the columns every kind has and the stored fields. */
typedef struct shape_row {
	store_kind kind; /* the kind asked for (STORE_UNIFIED_JOB shows each job as its type) */
	long id;
	const char *created, *modified, *name;
	const json_t *data; /* the validated fields as stored (may be NULL) */
	const char *secret; /* credentials: the JSON object of sealed inputs; else NULL */
	long events_stored; /* unified jobs: events stored so far */
} shape_row;

/* The AWX shape of an object row (a new object). */
json_t *shape_object(const shape_source *src, const shape_row *row);

/* store.h's job_progress of a unified job from its stored fields (data; may
 * be NULL) and its events_stored: the values shape_object shows. */
void shape_job_progress(const json_t *data, long events_stored, store_progress *out);

/* Fill m with what shaping rows[0..n) through it looks up, in one
 * lookup_many and one host_status_many of its inner source (nothing when
 * that has none): the rows are shaped once with the unknown lookups noted,
 * then those are asked all at once. A lookup that only a found one leads to
 * (a template's project's organization) is made when the rows are shaped. */
void shape_memo_prefetch(shape_memo *m, const shape_row *rows, size_t n);

/* One row of a job's events. Strings are never NULL ("" for none). */
typedef struct shape_event_row {
	long id;
	long job_id;
	const char *job_type; /* the job's type ("job", "project_update", ...; "" as "job") */
	long long counter;
	const char *event;
	const char *event_data; /* JSON text */
	bool failed, changed;   /* as derived (event_derive.h), parents' included */
	const char *uuid, *parent_uuid;
	bool has_host;
	long long host_id;
	const char *host_name, *playbook, *play, *role, *task, *stdout;
	long long start_line, end_line, verbosity;
	const char *created, *modified, *job_created;
} shape_event_row;

/* The AWX shape of an event row ("job_event", "project_update_event", ...). */
json_t *shape_event(const shape_event_row *row);

/* AWX's event_display of an event name ("runner_on_ok" -> "Host OK"); the
 * name itself for one it does not name. */
const char *shape_event_display(const char *event);

/* One row of a job's host summaries. */
typedef struct shape_host_summary_row {
	long id;
	long job_id;
	bool has_host;
	long long host_id;
	const char *host_name, *created, *modified;
	long long counts[EVENT_STATS_COUNTS]; /* as event_stats_names: changed, dark, ... */
	bool failed;
} shape_host_summary_row;

/* The AWX shape of a host summary row ("job_host_summary"). */
json_t *shape_host_summary(const shape_host_summary_row *row);

#endif
