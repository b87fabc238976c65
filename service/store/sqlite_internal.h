/*
 * sqlite_internal.h - what the SQLite backend's files (sqlite_*.c) share: the
 * handle's state and the helpers they run SQL with. Private to them.
 *
 * The layout: one table per resource kind with the columns every kind has
 * (id, created, modified, name) and the rest of the validated fields as a
 * JSON text in `data` (filters and ordering reach into it with
 * json_extract); `secret` holds what is never shown (password hash, token
 * hash, sealed credential inputs). Unified jobs share one table (one id
 * space, as AWX) with type/status/timestamps as real columns. Events and host
 * summaries are real tables: they are the hot path.
 *
 * One connection per handle, serialized by a mutex; several processes may
 * open the same file (WAL, busy timeout). A handle opened with
 * thread_connections gives each calling thread a connection of its own
 * instead (see sq_of): WAL lets its readers run beside the writers, and no
 * thread waits on another's mutex while that one waits for SQLite's write lock.
 *
 * Functions named *_locked run with the connection's lock held (sq_lock).
 */
#ifndef RUNNELD_STORE_SQLITE_INTERNAL_H
#define RUNNELD_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "query.h"
#include "secrets.h"
#include "util.h"

#define STMT_CACHE 64

typedef struct stmt_slot {
	char *sql;
	sqlite3_stmt *stmt;
} stmt_slot;

typedef struct sq {
	sqlite3 *db;
	pthread_mutex_t mu;
	store_key key;
	stmt_slot cache[STMT_CACHE];
	int ncache;
	sqlite3_stmt *insert_event; /* the hot path's statement, outside the cache */
	char *path;                 /* the database file */
	/* the checkpointer: a thread with its own connection that copies the
	 * WAL into the database, so that the events' writer does not (started
	 * by the first event batch; see sq_start_checkpointer) */
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

/* The connection a store call runs on: the handle's own, or with
 * thread_connections the calling thread's. */
sq *sq_of(store *st);
#define SQ(st) sq_of(st)

/* An event's failed / changed (printf with the column twice): its own flag,
 * or for a parent (playbook_on_*) the flag its children gave it
 * (event_parent_flags, see store_stats in sqlite_events.c). */
#define PARENT_FLAG_EXPR                                                                           \
	"(CASE WHEN events.%s THEN 1 WHEN substr(events.event,1,11)<>'playbook_on' THEN 0"         \
	" ELSE coalesce((SELECT p.%s FROM event_parent_flags p"                                    \
	" WHERE p.job_id=events.job_id AND p.uuid=events.uuid),0) END)"

/* ---- the handle and its helpers (sqlite_conn.c) ---- */

/* The table holding a kind. */
const char *sq_table_of(store_kind kind);

/* Fill err from the connection's last error. */
int sq_db_fail(sq *s, runnel_error *err, const char *what);

/* A prepared statement for sql from the cache (reset, bindings cleared), or NULL with err. */
sqlite3_stmt *sq_prep(sq *s, const char *sql, runnel_error *err);

/* Run one statement with no result. 0 or -1 with err. */
int sq_exec_sql(sq *s, const char *sql, runnel_error *err);

/* Bind a JSON scalar to parameter i. */
void sq_bind_json(sqlite3_stmt *st, int i, const json_t *v);

/* Text of column i, "" when NULL. */
const char *sq_col_text(sqlite3_stmt *st, int i);

/* Count rows of sql with one integer parameter. */
long sq_count_where(sq *s, const char *sql, long p);

/* Take / release the connection's lock (every store call holds it while it
 * runs SQL on the connection). */
void sq_lock(sq *s);
void sq_unlock(sq *s);

/* A list's count and its page read in one snapshot (a read transaction), so
 * that a row added between the two cannot make the page longer than the
 * count. True if it began one (not when the connection is already inside a
 * transaction); hand that to sq_snapshot_end. Lock held. */
bool sq_snapshot_begin(sq *s);
void sq_snapshot_end(sq *s, bool began);

/* Current UTC time as epoch seconds. */
double sq_epoch_now(void);

/* Run sql with one integer parameter; lock held. */
int sq_exec_id(sq *s, const char *sql, long id, runnel_error *err);

/* Start the checkpointer (once; lock held): the handle that stores events
 * writes most of the database, and copying the WAL back is about as much
 * work as writing it; on another core it is off the receiver's path. If the
 * thread cannot start, SQLite's autocheckpoint stays in place. */
void sq_start_checkpointer(sq *s);

/* ---- schema (sqlite_schema.c) ---- */

/* Create or migrate the schema and seed the built-in credential types. */
int sq_migrate(sq *s, runnel_error *err);

/* ---- queries (sqlite_query.c) ---- */

/* " AND <cond>" for each condition of qy, appended to where; binds to binds. */
void sq_where_sql(const query *qy, rn_buf *where, json_t *binds);

/* " ORDER BY ..., id" of qy. Caller frees. */
char *sq_order_sql(const query *qy);

/* The functions the queries call, on a new connection. */
int sq_add_functions(sqlite3 *db);

/* Bind an array of values starting at parameter 1. */
void sq_bind_all(sqlite3_stmt *st, const json_t *binds);

/* List objects. */
int sq_list(store *st, store_kind kind, const store_query *q, store_page *out, runnel_error *err);

/* ---- objects (sqlite_crud.c) ---- */

/* Get one object; the caller holds the lock. */
json_t *sq_get_locked(sq *s, store_kind kind, long id, runnel_error *err);

/* True if an object of kind with id exists. */
bool sq_exists(sq *s, store_kind kind, long id);

/* Write a new row for kind. The caller holds the lock. */
json_t *sq_create_locked(sq *s, store_kind kind, const json_t *fields, unsigned flags,
                         runnel_error *err);

/* Create an object. */
json_t *sq_create(store *st, store_kind kind, const json_t *fields, unsigned flags,
                  runnel_error *err);

/* Get an object. */
json_t *sq_get(store *st, store_kind kind, long id, runnel_error *err);
int sq_exists_as(store *st, store_kind kind, long id, runnel_error *err);

/* Read the raw data/secret of a row. The caller holds the lock; frees *data, *secret. */
int sq_read_raw(sq *s, store_kind kind, long id, json_t **data, char **secret, runnel_error *err);

/* Write data (and secret, when not NULL) of a row back; syncs the real columns. Lock held. */
int sq_write_raw(sq *s, store_kind kind, long id, json_t *data, const char *secret,
                 runnel_error *err);

/* Update an object (PATCH). */
json_t *sq_update(store *st, store_kind kind, long id, const json_t *fields, unsigned flags,
                  runnel_error *err);

/* Delete an object and its dependents. */
int sq_remove(store *st, store_kind kind, long id, runnel_error *err);

/* Relate parent and child. */
int sq_associate(store *st, store_rel rel, long parent, long child, runnel_error *err);

/* Unrelate parent and child. */
int sq_disassociate(store *st, store_rel rel, long parent, long child, runnel_error *err);

/* The ids related to id. */
json_t *sq_related_ids(store *st, store_rel rel, long id, bool reverse, runnel_error *err);
json_t *sq_related_names(store *st, store_rel rel, const long *parents, size_t n,
                         runnel_error *err);

/* ---- users, tokens, credentials (sqlite_auth.c) ---- */

/* Check a username/password. */
json_t *sq_user_authenticate(store *st, const char *username, const char *password,
                             unsigned char *stamp, runnel_error *err);

/* A stamp of a user's password hash: BLAKE2b of the stored hash. */
int sq_user_secret_stamp(store *st, long user_id, unsigned char stamp[32], runnel_error *err);

/* Make a token for a user: the caller's description and scope, the user
 * and the expiry set here (the caller's read-only fields are dropped). */
json_t *sq_token_create(store *st, long user_id, const json_t *fields, long long expire_seconds,
                        runnel_error *err);

/* The user of a token that has not expired (and the token, in *token_out). */
json_t *sq_token_authenticate(store *st, const char *token, json_t **token_out, runnel_error *err);

/* A credential's inputs with secrets decrypted. */
json_t *sq_credential_inputs(store *st, long id, runnel_error *err);
json_t *sq_notification_configuration(store *st, long id, runnel_error *err);

/* ---- inventories (sqlite_inventory.c) ---- */

/* The inventory as ansible-inventory --list prints it (inventory_render.h). */
json_t *sq_inventory_script(store *st, long inv, runnel_error *err);

/* Import ansible-inventory --list output. */
int sq_inventory_import(store *st, long inv, const json_t *data, long source, bool overwrite,
                        bool overwrite_vars, long *nhosts, long *ngroups, runnel_error *err);

/* ---- unified jobs (sqlite_jobs.c) ---- */

/* Delete one unified job and what hangs off it; lock and transaction held. */
int sq_delete_job_locked(sq *s, long id, runnel_error *err);

/* Move a job's status when it is in one of from. */
int sq_job_transition(store *st, long id, const char *const *from, const char *status,
                      char *current, runnel_error *err);

/* Append a line to job_explanation / result_traceback. */
int sq_job_append(store *st, long id, const char *field, const char *text, runnel_error *err);

/* Set cancel_flag once. */
int sq_job_set_cancel_flag(store *st, long id, runnel_error *err);
/* A job's status, cancel flag and event counts (store.h job_progress). */
int sq_job_progress(store *st, long id, store_progress *out, runnel_error *err);
/* Claim a schedule's run (store.h schedule_claim). */
int sq_schedule_claim(store *st, long id, const char *expected, const char *next,
                      runnel_error *err);

/* Delete finished jobs older than days. */
int sq_jobs_cleanup(store *st, double days, long *deleted, runnel_error *err);

/* ---- events (sqlite_events.c) ---- */

/* Store a batch of events. */
int sq_events_insert(store *st, const json_t *events, long *stored, long *dropped,
                     runnel_error *err);

/* Store a batch of rows. */
int sq_events_insert_rows(store *st, const store_event_row *rows, size_t n, long *stored,
                          long *dropped, runnel_error *err);

/* The events of a job. */
int sq_events_list(store *st, long job_id, const store_query *q, store_page *out,
                   runnel_error *err);

/* The host summaries of a job. */
int sq_host_summaries_list(store *st, long job_id, const store_query *q, store_page *out,
                           runnel_error *err);

/* The job's stdout (store.h): its events' stdout in counter order, 500
 * rows per read under the lock, handed out with the lock released. */
int sq_stdout_read(store *st, long job_id, long start_line, long end_line, store_stdout_fn fn,
                   void *userdata, long *absolute_end, runnel_error *err);

/* The events INSERT (one prepared statement) for one row; lock and
 * transaction held. 1 stored, 0 a duplicate, -1 error. */
struct store_event_row;
int sq_event_row_step(sq *s, const struct store_event_row *r, const char *now, runnel_error *err);

/* The backend's primitives for backend_common.c (sqlite_raw.c); ctx: the sq. */
struct store_raw_ops;
extern const struct store_raw_ops sq_raw_ops;
/* The slim rows of a job's events (store.h events_slim). */
int sq_events_slim(store *st, long job_id, long after, long limit, json_t **out, runnel_error *err);

#endif
