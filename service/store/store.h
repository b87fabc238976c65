/*
 * store.h - the store seam of runneld: the data model AWX users know, behind
 * one struct of function pointers. A backend holds only its SQL: the AWX
 * shapes (shape.h), the list grammar (query.h), the event derivations
 * (event_derive.h), inventory rendering (inventory_render.h) and secrets
 * (seal.h, secrets.h) are backend-neutral modules beside this seam. SQLite
 * is sqlite_*.c; store_open (store.c) picks the backend.
 *
 * Everything goes in and out as jansson objects shaped as AWX's /api/v2
 * returns them: id, type, url, related, summary_fields (cheap ones), created,
 * modified, then the resource's own fields with AWX's names. The HTTP layer
 * can hand a returned object to the client as is.
 *
 * Errors are values: every call that can fail takes a runnel_error *err and
 * fills it. Codes:
 *   ENOENT  no such object (the API's 404)
 *   EINVAL  bad input; message is "<field>: <reason>" so the API can answer
 *           400 {"<field>": ["<reason>"]} (field "__all__" when none fits)
 *   EEXIST  a unique constraint (a name already taken): "<field>: <reason>"
 *   EACCES  bad user name / password / token
 *   EIO     the backend failed (message from the backend)
 *
 * Ownership: json_t arguments are borrowed; every json_t returned is a new
 * reference the caller json_decref()s. Strings returned are malloc()ed.
 *
 * Threads and processes: one store handle may be used from several threads
 * (calls are serialized inside, or each thread has its own connection: see
 * store_settings.thread_connections). Several processes may open the same state
 * dir at once (the engine, its workers, a CLI); writes are transactions.
 */
#ifndef RUNNELD_STORE_H
#define RUNNELD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "event_rows.h"
#include "runnel.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The resources. Every kind has a table and an /api/v2/<plural>/ endpoint.
 * The unified job kinds share one id space (as AWX's unified jobs):
 * STORE_UNIFIED_JOB sees all of them, STORE_JOB only those of type "job", ... */
typedef enum store_kind {
	STORE_ORGANIZATION = 0,
	STORE_USER,
	STORE_TOKEN, /* OAuth2-like personal tokens (see store_token_* below) */
	STORE_CREDENTIAL_TYPE,
	STORE_CREDENTIAL,
	STORE_INVENTORY,
	STORE_GROUP,
	STORE_HOST,
	STORE_INVENTORY_SOURCE,
	STORE_PROJECT,
	STORE_JOB_TEMPLATE,
	STORE_SCHEDULE, /* a template's schedule (rrule, prompts; next_run claimed by
	                   schedule_claim) */
	STORE_UNIFIED_JOB,
	STORE_JOB,
	STORE_PROJECT_UPDATE,
	STORE_INVENTORY_UPDATE,
	STORE_AD_HOC_COMMAND,
	STORE_SYSTEM_JOB,
	STORE_WORKFLOW_JOB, /* workflows: a workflow job template's run (workflow.h) */
	STORE_TEAM,         /* rbac: teams of an organization (roles.h) */
	/* notifications (notify.h): a template says where and how; each send is
	 * a notification */
	STORE_NOTIFICATION_TEMPLATE,
	STORE_NOTIFICATION,
	/* kinds added after the unified jobs (their tables made on every start) */
	STORE_LABEL,
	/* sysinfo: after the unified jobs, tables of their own (generic rows) */
	STORE_ACTIVITY_STREAM, /* who did what to which object (api/activity.c) */
	STORE_SETTING,         /* a setting changed through settings/ (name: its key) */
	/* workflows (AWX's models/workflow.py): templates of graphs of unified
	 * job templates, their nodes, and the nodes of a workflow job */
	STORE_WORKFLOW_JOB_TEMPLATE,
	STORE_WORKFLOW_JOB_TEMPLATE_NODE,
	STORE_WORKFLOW_JOB_NODE,
	STORE_KIND_COUNT
} store_kind;

/* The plural of a kind as it appears in URLs: "job_templates", "ad_hoc_commands". */
const char *store_kind_plural(store_kind kind);
/* The singular "type" of a kind: "job_template", "ad_hoc_command", "unified_job". */
const char *store_kind_type(store_kind kind);
/* The kind of a plural ("jobs") or singular ("job") name; -1 if none. */
int store_kind_from_name(const char *name);
/* The unified job kind of a unified job "type" ("project_update" -> STORE_PROJECT_UPDATE); -1 if
 * none. */
int store_kind_from_job_type(const char *type);

/*
 * Many-to-many relations, for store_query.rel and the associate calls.
 *   JOB_TEMPLATE_CREDENTIALS  job_template -> credential
 *   JOB_CREDENTIALS           unified job (job, ad hoc, ...) -> credential
 *   GROUP_HOSTS               group -> host
 *   GROUP_CHILDREN            group -> group (child)
 *   JOB_TEMPLATE_LABELS       job_template -> label
 *   JOB_LABELS                unified job -> label
 * The numbers are stored in the relations table: never renumber one.
 */
typedef enum store_rel {
	STORE_REL_NONE = 0,
	STORE_REL_JOB_TEMPLATE_CREDENTIALS,
	STORE_REL_JOB_CREDENTIALS,
	STORE_REL_GROUP_HOSTS,
	STORE_REL_GROUP_CHILDREN,
	/* rbac (roles.h): role -> user, role -> team. A role is no row: its
	 * id encodes its object (roles_id), so the parent is not checked. */
	STORE_REL_ROLE_USERS,
	STORE_REL_ROLE_TEAMS,
	/* notification templates attached to what sends them (parent -> template),
	 * one relation per object kind and event, in the order
	 * store_rel_notification() computes; and unified job -> notification */
	STORE_REL_NT_FIRST = 100,
	STORE_REL_NT_LAST = STORE_REL_NT_FIRST + 11,
	STORE_REL_JOB_NOTIFICATIONS = 120,
	STORE_REL_JOB_TEMPLATE_LABELS = 60,
	STORE_REL_JOB_LABELS = 61,
	/* workflows: a node -> the nodes run after it on success, failure,
	 * always; template nodes, then workflow job nodes */
	STORE_REL_WFJT_NODE_SUCCESS = 70,
	STORE_REL_WFJT_NODE_FAILURE = 71,
	STORE_REL_WFJT_NODE_ALWAYS = 72,
	STORE_REL_WFJ_NODE_SUCCESS = 73,
	STORE_REL_WFJ_NODE_FAILURE = 74,
	STORE_REL_WFJ_NODE_ALWAYS = 75,
} store_rel;

/* The relation attaching notification templates to an object of kind
 * (job template, project, inventory source, organization) for event (0
 * started, 1 success, 2 error); STORE_REL_NONE for another kind. */
store_rel store_rel_notification(store_kind kind, int event);

/* The kinds rel joins (*parent, *child); STORE_KIND_COUNT for both when rel
 * is none of the above. */
void store_rel_kinds(store_rel rel, store_kind *parent, store_kind *child);

/*
 * What a list call returns. Zero-initialize.
 *
 * filters: object of field -> value, as AWX's query string: "name",
 *   "name__icontains", "id__in" ("1,2,3" or an array), "created__gt",
 *   "status__in", "failed" (true/false/"true"/"1"), "inventory" (an fk id),
 *   "search" (name contains), "<field>__isnull", __gt __gte __lt __lte
 *   __contains __icontains __startswith __iexact __in __exact __regex
 *   __iregex; "not__<key>" excludes; "<fk>__<field>[__<lookup>]" follows
 *   foreign keys. Values may be strings (as from a URL) or JSON values. An
 *   unknown field: EINVAL. The grammar is query.h's.
 * order_by: "name", "-id", "status,-created"; NULL: "id" (events: "counter").
 * page: 1-based; 0 means 1. page_size: 0 means 25; at most 200.
 * rel/rel_parent: list only the objects related to rel_parent by rel
 *   (GROUP_HOSTS + group 5: the hosts of group 5). rel_reverse: the other
 *   way (GROUP_HOSTS + host 9 reversed: the groups of host 9).
 */
struct query;
typedef struct store_query {
	json_t *filters;
	/* The list's query string as AWX reads it: [[key, value], ...] in order,
	 * a key repeated as often as given (or__, chain__, not__, search, type,
	 * role_level, related lookups: query.h). ANDed with filters. May be NULL. */
	json_t *args;
	/* A visibility hook (RBAC): called once the filters are parsed, it adds
	 * the conditions the caller's role imposes with query_add_filter(). */
	int (*visibility)(struct query *qy, void *ctx, runnel_error *err);
	void *visibility_ctx;
	const char *order_by;
	long page;
	long page_size;
	store_rel rel;
	long rel_parent;
	bool rel_reverse;
} store_query;

/* One page of a list: count is the total matching, results the page (a new
 * array the caller json_decref()s). */
typedef struct store_page {
	long count;
	json_t *results;
} store_page;

/* Flags of create/update. */
enum {
	/* Internal callers (engine, dispatcher, workers) may write read-only
	 * fields (status, job_args, scm_revision, ...); the API must not pass it. */
	STORE_SYSTEM = 1 << 0,
	/* The caller reads nothing of the result but its id: an update's is
	 * then an empty object, a create's {"id": N}, instead of the object
	 * shaped (again) */
	STORE_NO_RESULT = 1 << 1,
};

/* One chunk of stdout handed to a store_stdout_fn: the text of one event
 * (its stdout plus a "\n" when non-empty, as AWX joins them). Borrowed. */
typedef int (*store_stdout_fn)(const char *text, size_t len, void *userdata);

typedef struct store store;

/* What store_job_progress reads of a unified job: the values its get shows
 * as status, cancel_flag, emitted_events and stored_events. */
typedef struct store_progress {
	char status[32]; /* "" when it has none */
	bool cancel_flag;
	long emitted_events; /* the events the job made (its worker says at the end) */
	long stored_events;  /* the events stored so far */
} store_progress;

/*
 * The vtable. Call through the store_* inline wrappers below.
 */
typedef struct store_ops {
	/* Close the store and free it. */
	void (*close)(store *st);

	/* ---- generic resources ---- */

	/* Create an object of kind from fields (validated: required fields,
	 * types, fks that exist, unknown fields refused). Returns the new object
	 * as AWX shapes it, or NULL with err. Users: "password" is hashed
	 * (crypto_pwhash_str). Credentials: secret inputs are encrypted. */
	json_t *(*create)(store *st, store_kind kind, const json_t *fields, unsigned flags,
	                  runnel_error *err);
	/* The object of kind with id, or NULL with err (ENOENT). Secrets are
	 * "$encrypted$"; unified jobs include job_args, job_env,
	 * event_processing_finished, host_status_counts, artifacts, ... */
	json_t *(*get)(store *st, store_kind kind, long id, runnel_error *err);
	/* 0 when get would find the object of kind with id, else -1 with err
	 * (ENOENT when there is none): get without the shaping, for a caller
	 * that only asks whether it is there. */
	int (*exists)(store *st, store_kind kind, long id, runnel_error *err);
	/* Update some fields (PATCH semantics); returns the updated object or
	 * NULL with err. A credential input given as "$encrypted$" keeps its
	 * stored value. */
	json_t *(*update)(store *st, store_kind kind, long id, const json_t *fields, unsigned flags,
	                  runnel_error *err);
	/* Delete an object (and what depends on it: a job's events, an
	 * inventory's hosts and groups, relations). 0, or -1 with err. */
	int (*remove)(store *st, store_kind kind, long id, runnel_error *err);
	/* List objects of kind matching q. 0 and *out filled, or -1 with err. */
	int (*list)(store *st, store_kind kind, const store_query *q, store_page *out,
	            runnel_error *err);

	/* Relate / unrelate parent and child by rel (idempotent). 0 or -1. */
	int (*associate)(store *st, store_rel rel, long parent, long child, runnel_error *err);
	int (*disassociate)(store *st, store_rel rel, long parent, long child, runnel_error *err);
	/* The child ids of parent by rel (reverse: the parent ids of a child),
	 * as a new array of integers, or NULL with err. */
	json_t *(*related_ids)(store *st, store_rel rel, long id, bool reverse, runnel_error *err);
	/* The children of many parents by rel at once, with their names (a
	 * page's labels in one statement instead of one per row): a new array
	 * of n arrays, the i-th the children of parents[i] as {"id", "name"}
	 * (name: the child's name; a user's is its username), ordered by id as
	 * related_ids orders them. A child whose row is gone is left out. rel's
	 * child kind must have rows of its own and not be a unified job kind
	 * (EINVAL). n == 0: an empty array, nothing asked. NULL with err. */
	json_t *(*related_names)(store *st, store_rel rel, const long *parents, size_t n,
	                         runnel_error *err);

	/* ---- users and tokens ---- */

	/* The user whose username and password match, or NULL with EACCES.
	 * stamp (may be NULL) receives the stamp of the very password hash the
	 * password was checked against (see user_secret_stamp). */
	json_t *(*user_authenticate)(store *st, const char *username, const char *password,
	                             unsigned char *stamp, runnel_error *err);
	/* A stamp of a user's stored password (a hash of its hash): it changes
	 * whenever the password is set, so a cache of checked passwords can tell
	 * that an entry is stale. 0, or -1 with ENOENT when the user is gone. */
	int (*user_secret_stamp)(store *st, long user_id, unsigned char stamp[32],
	                         runnel_error *err);
	/* A new token for user_id: returns the token object, whose "token" field
	 * holds the secret (shown this once; only a hash is stored). fields may
	 * hold "description" and "scope" (AWX's: "read", "write" or both,
	 * space-separated; default "write"); read-only fields are ignored.
	 * "expires" is now + expire_seconds (<= 0: AWX's default, 31536000000). */
	json_t *(*token_create)(store *st, long user_id, const json_t *fields,
	                        long long expire_seconds, runnel_error *err);
	/* The user a bearer token belongs to, or NULL with EACCES (unknown or
	 * expired token, user gone). When token_out is not NULL it receives the
	 * token object (its "scope" says what the bearer may do; caller frees). */
	json_t *(*token_authenticate)(store *st, const char *token, json_t **token_out,
	                              runnel_error *err);

	/* ---- credentials ---- */

	/* The decrypted inputs of a credential (for workers only; never an API
	 * answer), with "kind" ("ssh", "scm", "vault", ...) added under
	 * "__kind". NULL with err. */
	json_t *(*credential_inputs)(store *st, long credential_id, runnel_error *err);

	/* ---- inventories ---- */

	/* The inventory as `ansible-inventory --list` prints it:
	 * {"_meta": {"hostvars": {...}}, "all": {"children": [...], "vars": {}},
	 *  "<group>": {"hosts": [...], "children": [...], "vars": {...}}, ...}
	 * plus "__host_ids": {"<host name>": id}. NULL with err. */
	json_t *(*inventory_script)(store *st, long inventory_id, runnel_error *err);
	/* Import `ansible-inventory --list` output into an inventory (hosts,
	 * groups, children, variables) in one transaction, as inventory source
	 * source (> 0) imports it (inventory_plan.h): overwrite: the hosts/groups
	 * this source imported before and no longer has are deleted, the
	 * imported groups' memberships replaced (hosts added by hand stay);
	 * overwrite_vars: variables replaced, else merged. Fills *hosts /
	 * *groups (may be NULL) with the counts imported. 0 or -1 with err. */
	int (*inventory_import)(store *st, long inventory_id, const json_t *data, long source,
	                        bool overwrite, bool overwrite_vars, long *hosts, long *groups,
	                        runnel_error *err);

	/* ---- unified jobs ---- */

	/*
	 * Move a unified job to status, atomically, if the table of job states
	 * allows the move from its current status (job_states.h) and, when from
	 * is not NULL, the current status is one of from (a NULL-terminated
	 * list: the caller's narrower condition, e.g. job_states_queued).
	 * Applies the move's effects (job_state_effects_of: started, finished,
	 * elapsed, failed, canceled_on) and clears nothing.
	 * Returns 1 when moved, 0 when the job was in another status (*current,
	 * if not NULL, gets it: 32 bytes), -1 with err.
	 */
	int (*job_transition)(store *st, long job_id, const char *const *from, const char *status,
	                      char *current, runnel_error *err);
	/* Append a line to job_explanation or result_traceback (field), never
	 * overwriting what is there. 0 or -1. */
	int (*job_append)(store *st, long job_id, const char *field, const char *text,
	                  runnel_error *err);
	/* Set cancel_flag if not yet set. 1 when it was set now, 0 when it was
	 * already set, -1 with err. */
	int (*job_set_cancel_flag)(store *st, long job_id, runnel_error *err);
	/* A unified job's status, cancel_flag, emitted_events and stored_events
	 * as get shows them, from its one row without the shaping (no lookups,
	 * no counts): for a caller that polls them (a worker waiting for its
	 * events to be stored, reading its cancel flag). 0 and *out filled, or
	 * -1 with err (ENOENT when there is no such job). */
	int (*job_progress)(store *st, long job_id, store_progress *out, runnel_error *err);
	/* Delete finished unified jobs (and their events and summaries) finished
	 * more than days ago; *deleted gets the count. 0 or -1. */
	int (*jobs_cleanup)(store *st, double days, long *deleted, runnel_error *err);

	/* ---- events (the callback receiver writes, the API reads) ---- */

	/*
	 * Store a batch of events in one transaction. Each event is runner's event
	 * JSON plus the unified job id key ("job_id", "project_update_id",
	 * "inventory_update_id", "ad_hoc_command_id", "system_job_id"), host_name,
	 * host_id, job_created. Derives failed (event in the failed set and not
	 * ignore_errors), changed (res.changed), host summaries from
	 * playbook_on_stats (then marks parent task/play events failed/changed),
	 * strips NUL bytes. An event already stored (same job and counter) is
	 * skipped. *stored (may be NULL) gets the number newly stored. On a
	 * failed batch it retries the events one by one; events that still fail
	 * are counted in *dropped (may be NULL) with their error in err. Returns
	 * 0, or -1 when the backend is unusable. A failure that is not the
	 * events' fault (disk full, I/O error, lock held too long) drops
	 * nothing: -1 with err->code EAGAIN, *stored the events that went in
	 * before it; the caller keeps the batch and tries it again later.
	 */
	int (*events_insert)(store *st, const json_t *events, long *stored, long *dropped,
	                     runnel_error *err);
	/* events_insert for rows read from the events' JSON texts
	 * (event_rows.h: the callback receiver's hot path, no tree per event):
	 * the same duplicates and retries; failed / changed come with the rows;
	 * rows that need_tree get everything events_insert does. */
	int (*events_insert_rows)(store *st, const store_event_row *rows, size_t n, long *stored,
	                          long *dropped, runnel_error *err);
	/* The events of a unified job, filtered (event, host_name, failed,
	 * changed, task, play, counter, counter__gt, start_line__gte,
	 * end_line__lte, uuid, parent_uuid, ...), ordered by counter by default,
	 * paginated. */
	int (*events_list)(store *st, long job_id, const store_query *q, store_page *out,
	                   runnel_error *err);
	/* The job's stdout: the stdout of its events in counter order (the
	 * runner numbers the lines in that order), each
	 * handed to fn as it is read (flat memory), restricted to events with
	 * start_line in [start_line, end_line) (end_line < 0: to the end).
	 * *absolute_end (may be NULL) gets the job's last end_line.
	 * Returns 0, a non-zero value fn returned (which stops the read), or -1
	 * with err. */
	int (*stdout_read)(store *st, long job_id, long start_line, long end_line,
	                   store_stdout_fn fn, void *userdata, long *absolute_end,
	                   runnel_error *err);
	/* The host summaries of a unified job (job_host_summaries): filters host,
	 * host_name, failed, ...; ordered by host_name by default. */
	int (*host_summaries_list)(store *st, long job_id, const store_query *q, store_page *out,
	                           runnel_error *err);

	/* ---- notifications (notify.h) ---- */

	/* The notification_configuration of notification template nt_id with
	 * its sealed values (passwords, tokens) opened: for the sender only,
	 * never an API answer. NULL with err. */
	json_t *(*notification_configuration)(store *st, long nt_id, runnel_error *err);
	/* ---- schedules ---- */

	/* Claim a schedule's due run: atomically, set its next_run to next (NULL:
	 * none) if it still is expected (NULL: none) and the schedule is enabled.
	 * Two schedulers (two runnelds, a restart) racing for one run: exactly one
	 * gets 1; the other gets 0 (the run was taken, or the schedule changed).
	 * -1 with err. */
	int (*schedule_claim)(store *st, long schedule_id, const char *expected, const char *next,
	                      runnel_error *err);
	/* The slim rows of a job's events for an output view (the web page's
	 * stream and lines): counter > after, in counter order, at most limit
	 * (1..1000), each {"counter", "event", "host_name", "task", "failed",
	 * "changed", "stdout", "start_line", "end_line", "created"} straight
	 * from the columns
	 * (event_data neither read nor parsed, nothing counted). *out gets a
	 * new array. 0, or -1 with err (ENOENT: no such job). */
	int (*events_slim)(store *st, long job_id, long after, long limit, json_t **out,
	                   runnel_error *err);
} store_ops;

/* A store: the vtable and the backend's state. */
struct store {
	const store_ops *ops;
	void *impl;
	char backend[16];
	/* How many threads may store event batches at once to good effect (the
	 * callback receiver runs that many, on a handle opened with
	 * thread_connections): 1 where every write takes the one write lock
	 * (SQLite), more where each connection writes on its own (PostgreSQL,
	 * as AWX runs JOB_EVENT_WORKERS callback receiver workers). */
	int event_writers;
};

/* How to open a store. Zero-initialize. */
typedef struct store_settings {
	/* "sqlite" (default: state_dir/runneld.db), "sqlite:/ABS/PATH", or
	 * "postgresql://USER@HOST:PORT/DB" (state_dir still holds secret.key) */
	const char *backend;
	const char *state_dir; /* required: holds runneld.db and secret.key */
	int busy_timeout_ms;   /* sqlite: wait this long for another writer; 0: 10000 */
	/* Each thread calling the handle gets a connection of its own (kept
	 * while the thread lives, then reused by the next one) instead of all
	 * sharing one behind a mutex: for a handle many threads use at once (the
	 * HTTP API's). Reads then never wait on another thread's write. Close
	 * such a handle only once the threads that used it have ended. */
	bool thread_connections;
} store_settings;

/* Open (and create or migrate) the store. NULL with err. */
store *store_open(const store_settings *settings, runnel_error *err);
/* The SQLite backend (what store_open uses for "sqlite"). */
store *store_sqlite_open(const store_settings *settings, runnel_error *err);
/* The PostgreSQL backend (settings->backend: "postgresql://USER@HOST:PORT/DB";
 * state_dir holds secret.key). */
store *store_pg_open(const store_settings *settings, runnel_error *err);

/* The wrappers: call the backend through the vtable. */
static inline void store_close(store *st)
{
	if (st)
		st->ops->close(st);
}
static inline json_t *store_create(store *st, store_kind k, const json_t *f, unsigned fl,
                                   runnel_error *e)
{
	return st->ops->create(st, k, f, fl, e);
}
static inline json_t *store_get(store *st, store_kind k, long id, runnel_error *e)
{
	return st->ops->get(st, k, id, e);
}
static inline int store_exists(store *st, store_kind k, long id, runnel_error *e)
{
	return st->ops->exists(st, k, id, e);
}
static inline json_t *store_update(store *st, store_kind k, long id, const json_t *f, unsigned fl,
                                   runnel_error *e)
{
	return st->ops->update(st, k, id, f, fl, e);
}
static inline int store_remove(store *st, store_kind k, long id, runnel_error *e)
{
	return st->ops->remove(st, k, id, e);
}
static inline int store_list(store *st, store_kind k, const store_query *q, store_page *o,
                             runnel_error *e)
{
	return st->ops->list(st, k, q, o, e);
}
static inline int store_associate(store *st, store_rel r, long p, long c, runnel_error *e)
{
	return st->ops->associate(st, r, p, c, e);
}
static inline int store_disassociate(store *st, store_rel r, long p, long c, runnel_error *e)
{
	return st->ops->disassociate(st, r, p, c, e);
}
static inline json_t *store_related_ids(store *st, store_rel r, long id, bool rev, runnel_error *e)
{
	return st->ops->related_ids(st, r, id, rev, e);
}
static inline json_t *store_related_names(store *st, store_rel r, const long *parents, size_t n,
                                          runnel_error *e)
{
	return st->ops->related_names(st, r, parents, n, e);
}
static inline json_t *store_user_authenticate(store *st, const char *u, const char *p,
                                              runnel_error *e)
{
	return st->ops->user_authenticate(st, u, p, NULL, e);
}
static inline json_t *store_user_authenticate_stamp(store *st, const char *u, const char *p,
                                                    unsigned char stamp[32], runnel_error *e)
{
	return st->ops->user_authenticate(st, u, p, stamp, e);
}
static inline int store_user_secret_stamp(store *st, long uid, unsigned char stamp[32],
                                          runnel_error *e)
{
	return st->ops->user_secret_stamp(st, uid, stamp, e);
}
static inline json_t *store_token_create(store *st, long uid, const json_t *f,
                                         long long expire_seconds, runnel_error *e)
{
	return st->ops->token_create(st, uid, f, expire_seconds, e);
}
static inline json_t *store_token_authenticate(store *st, const char *t, json_t **tok,
                                               runnel_error *e)
{
	return st->ops->token_authenticate(st, t, tok, e);
}
static inline json_t *store_credential_inputs(store *st, long id, runnel_error *e)
{
	return st->ops->credential_inputs(st, id, e);
}
static inline json_t *store_notification_configuration(store *st, long id, runnel_error *e)
{
	return st->ops->notification_configuration(st, id, e);
}
static inline json_t *store_inventory_script(store *st, long id, runnel_error *e)
{
	return st->ops->inventory_script(st, id, e);
}
static inline int store_inventory_import(store *st, long id, const json_t *d, long source, bool ow,
                                         bool ow_vars, long *h, long *g, runnel_error *e)
{
	return st->ops->inventory_import(st, id, d, source, ow, ow_vars, h, g, e);
}
static inline int store_job_transition(store *st, long id, const char *const *from, const char *s,
                                       char *cur, runnel_error *e)
{
	return st->ops->job_transition(st, id, from, s, cur, e);
}
static inline int store_job_append(store *st, long id, const char *f, const char *t,
                                   runnel_error *e)
{
	return st->ops->job_append(st, id, f, t, e);
}
static inline int store_job_set_cancel_flag(store *st, long id, runnel_error *e)
{
	return st->ops->job_set_cancel_flag(st, id, e);
}
static inline int store_job_progress(store *st, long id, store_progress *out, runnel_error *e)
{
	return st->ops->job_progress(st, id, out, e);
}
static inline int store_jobs_cleanup(store *st, double days, long *n, runnel_error *e)
{
	return st->ops->jobs_cleanup(st, days, n, e);
}
static inline int store_events_insert(store *st, const json_t *ev, long *n, long *d,
                                      runnel_error *e)
{
	return st->ops->events_insert(st, ev, n, d, e);
}
static inline int store_events_insert_rows(store *st, const store_event_row *rows, size_t n,
                                           long *stored, long *dropped, runnel_error *e)
{
	return st->ops->events_insert_rows(st, rows, n, stored, dropped, e);
}
static inline int store_events_list(store *st, long id, const store_query *q, store_page *o,
                                    runnel_error *e)
{
	return st->ops->events_list(st, id, q, o, e);
}
static inline int store_stdout_read(store *st, long id, long s, long en, store_stdout_fn fn,
                                    void *ud, long *ae, runnel_error *e)
{
	return st->ops->stdout_read(st, id, s, en, fn, ud, ae, e);
}
static inline int store_events_slim(store *st, long id, long after, long limit, json_t **out,
                                    runnel_error *e)
{
	return st->ops->events_slim(st, id, after, limit, out, e);
}
static inline int store_host_summaries_list(store *st, long id, const store_query *q, store_page *o,
                                            runnel_error *e)
{
	return st->ops->host_summaries_list(st, id, q, o, e);
}
static inline int store_schedule_claim(store *st, long id, const char *expected, const char *next,
                                       runnel_error *e)
{
	return st->ops->schedule_claim(st, id, expected, next, e);
}

/* Free what a list call put in *page (safe on a zeroed page). */
void store_page_clear(store_page *page);

/* True if status is one of new/pending/waiting/running (job_states.h). */
bool store_status_is_active(const char *status);

/* The built-in credential type ids, created on first open. */
enum {
	STORE_CREDENTIAL_TYPE_MACHINE = 1, /* kind "ssh" */
	STORE_CREDENTIAL_TYPE_SCM = 2,     /* kind "scm": Source Control */
	STORE_CREDENTIAL_TYPE_VAULT = 3,   /* kind "vault" */
};

#ifdef __cplusplus
}
#endif
#endif
