/*
 * backend_common.h - what every store backend does the same way around its
 * SQL: the checks of a relation change, the insert-or-update of an imported
 * host or group, and a unified job's status move (the compare-and-set and
 * the effects of job_states.h). The backends give their primitives (their
 * own SQL) through store_raw_ops; the logic lives here once.
 *
 * Every function runs on the backend's connection as the caller holds it
 * (its lock or its pooled connection): nothing here locks.
 */
#ifndef RUNNELD_BACKEND_COMMON_H
#define RUNNELD_BACKEND_COMMON_H

#include <stdbool.h>
#include <jansson.h>

#include "runnel.h"
#include "store.h"

/* A backend's primitives; ctx is its connection. Each returns 0, or -1 with
 * err, unless said otherwise. */
typedef struct store_raw_ops {
	/* Start / end a write transaction (begin takes the write lock at once,
	 * or locks the rows it reads: read below). */
	int (*begin)(void *ctx, runnel_error *err);
	int (*commit)(void *ctx, runnel_error *err);
	void (*rollback)(void *ctx);
	/* True if object id of kind exists. */
	bool (*exists)(void *ctx, store_kind kind, long id);
	/* The stored fields of object id (*data, a new reference), locked for
	 * this transaction where the backend locks rows; ENOENT when none. */
	int (*read)(void *ctx, store_kind kind, long id, json_t **data, runnel_error *err);
	/* Store data as object id's fields (its secret kept). */
	int (*write)(void *ctx, store_kind kind, long id, json_t *data, runnel_error *err);
	/* Create an object from fields (validated, STORE_SYSTEM); its id, or 0
	 * with err. */
	long (*create)(void *ctx, store_kind kind, const json_t *fields, runnel_error *err);
	/* The id of the host or group (kind) named name in inventory inv: 0
	 * when none, -1 with err. */
	long (*member_id)(void *ctx, store_kind kind, long inv, const char *name,
	                  runnel_error *err);
	/* A unified job's started timestamp (seconds since the epoch) in *t,
	 * < 0 when it never started. */
	int (*job_started)(void *ctx, long id, double *t, runnel_error *err);
	/* Set a unified job's timestamp column ("started_ts", "finished_ts") to t. */
	int (*job_set_ts)(void *ctx, long id, const char *column, double t, runnel_error *err);
} store_raw_ops;

/* May rel between parent and child be added (add) or removed? 0, or -1
 * with err: EINVAL "__all__: Unknown relation.", ENOENT the parent is not
 * there, EINVAL the child is not there (add) or a group would be its own
 * child. */
int store_relation_check(const store_raw_ops *ops, void *ctx, store_rel rel, long parent,
                         long child, bool add, runnel_error *err);

/* store.h's related_names on a backend: the kind of rel's children (whose
 * table the backend joins for their names) in *child, or -1 with EINVAL
 * when rel has none or they are unified jobs (one table of many kinds). */
int store_related_names_kind(store_rel rel, store_kind *child, runnel_error *err);
/* related_names' answer before its rows: a new array of n empty arrays. */
json_t *store_related_names_new(size_t n);
/* One row of related_names' query: child (named name) of parent, appended
 * to the array of every i where parents[i] == parent (a page may name a
 * parent twice). The caller hands the rows over ordered by child id. */
void store_related_names_add(json_t *out, const long *parents, size_t n, long parent, long child,
                             const char *name);

/* The id of the host or group (kind) named name in inventory inv, created
 * with vars (NULL: {}) or its variables set to vars; 0 with err. The
 * caller holds a transaction. */
long store_upsert_member(const store_raw_ops *ops, void *ctx, store_kind kind, long inv,
                         const char *name, const json_t *vars, long source, bool overwrite_vars,
                         runnel_error *err);

/* store.h's job_transition on a backend: in one transaction, read the job,
 * move it to status if job_states.h allows it from its status (and from is
 * NULL or lists it), apply the move's effects (started, finished, elapsed,
 * failed, canceled_on) and write it back. 1 moved, 0 not (current, 32
 * bytes or NULL, says the status it has), -1 with err. */
int store_raw_job_transition(const store_raw_ops *ops, void *ctx, long id, const char *const *from,
                             const char *status, char *current, runnel_error *err);

/* store.h's job_append on a backend: append text as a new line of the
 * job's job_explanation or result_traceback (field; EINVAL for any other),
 * unless the field holds it already. 0, or -1 with err. */
int store_raw_job_append(const store_raw_ops *ops, void *ctx, long id, const char *field,
                         const char *text, runnel_error *err);

#endif
