/*
 * sqlite_conn.c - the SQLite backend's handle: opening the file (WAL) and
 * closing it, the statement cache and the helpers every sqlite_*.c file
 * runs its SQL with, the per-thread connections of thread_connections, the
 * checkpointer thread, and the vtable.
 */
#include "sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The table holding a kind. */
const char *sq_table_of(store_kind kind)
{
	return model_is_job_kind(kind) ? "unified_jobs" : store_kind_plural(kind);
}

/* Fill err from the connection's last error. */
int sq_db_fail(sq *s, runnel_error *err, const char *what)
{
	return rn_fail(err, EIO, "__all__: %s: %s", what, sqlite3_errmsg(s->db));
}

/* A prepared statement for sql from the cache (reset, bindings cleared), or NULL with err. */
sqlite3_stmt *sq_prep(sq *s, const char *sql, runnel_error *err)
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
		sq_db_fail(s, err, "prepare");
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
int sq_exec_sql(sq *s, const char *sql, runnel_error *err)
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
void sq_bind_json(sqlite3_stmt *st, int i, const json_t *v)
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
const char *sq_col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t ? t : "";
}

/* Count rows of sql with one integer parameter. */
long sq_count_where(sq *s, const char *sql, long p)
{
	runnel_error e;
	sqlite3_stmt *st = sq_prep(s, sql, &e);
	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, p);
	long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return n;
}

void sq_lock(sq *s)
{
	pthread_mutex_lock(&s->mu);
}

void sq_unlock(sq *s)
{
	pthread_mutex_unlock(&s->mu);
}

bool sq_snapshot_begin(sq *s)
{
	runnel_error e = {0};
	/* on failure the reads still run, each in its own snapshot */
	return sqlite3_get_autocommit(s->db) && sq_exec_sql(s, "BEGIN", &e) == 0;
}

void sq_snapshot_end(sq *s, bool began)
{
	runnel_error e = {0};
	if (began && sq_exec_sql(s, "COMMIT", &e) < 0)
		sq_exec_sql(s, "ROLLBACK", &e); /* a read: nothing to lose */
}

/* Current UTC time as epoch seconds. */
double sq_epoch_now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/* Run sql with one integer parameter; lock held. */
int sq_exec_id(sq *s, const char *sql, long id, runnel_error *err)
{
	sqlite3_stmt *st = sq_prep(s, sql, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_db_fail(s, err, "delete");
}

/* WAL pages after which the checkpointer is woken: 4000 pages of 16 KiB,
 * a WAL of up to 64 MiB. SQLite's own default autocheckpoint is 1000; with
 * 4000 the index pages a batch rewrites are copied back once per checkpoint
 * instead of four times (receiver alone, 1M events on tmpfs: 98k/s at 1000,
 * 112k/s at 4000; bench/RESULTS.md section 1e). */
#define CKPT_PAGES 4000

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
					sq_lock(s);
					sqlite3_wal_checkpoint_v2(
					    db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
					sq_unlock(s);
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
void sq_start_checkpointer(sq *s)
{
	if (s->ckpt_started || !s->path)
		return;
	if (pthread_create(&s->ckpt_thread, NULL, checkpointer, s) != 0)
		return;
	s->ckpt_started = true;
	sqlite3_wal_hook(s->db, wal_hook, s);
	/* the writer keeps the tops of its B-trees (events and their indexes) */
	sq_exec_sql(s, "PRAGMA cache_size=-8192", NULL);
}

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
	sodium_memzero(&t->key, sizeof t->key);
	pthread_mutex_destroy(&t->mu);
	pthread_mutex_destroy(&t->ckpt_mu);
	pthread_cond_destroy(&t->ckpt_cv);
	free(t);
}

/* The busy handler: wait for another connection's write lock in steps of
 * 0.2 ms for the first 10 ms, then of 1 ms, up to busy_timeout_ms. SQLite's
 * own (sqlite3_busy_timeout) sleeps 1, 2, 5, 10, ... up to 100 ms per try,
 * so that an API write queued behind the receiver's back-to-back batches
 * could sleep up to 100 ms past the commit it waited for, and often found
 * the lock taken again by the next batch. */
static int busy_wait(void *arg, int count)
{
	const sq *s = arg;
	long waited_us = count < 50 ? count * 200L : 10000L + (count - 50) * 1000L;
	if (waited_us >= s->busy_timeout_ms * 1000L)
		return 0;
	struct timespec ts = {0, (count < 50 ? 200L : 1000L) * 1000L};
	nanosleep(&ts, NULL);
	return 1;
}

/* Wait for other connections' locks up to s->busy_timeout_ms. */
static int set_busy_wait(sq *s)
{
	return sqlite3_busy_handler(s->db, busy_wait, s);
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
	    set_busy_wait(t) != SQLITE_OK || sq_add_functions(t->db) != SQLITE_OK ||
	    sq_exec_sql(
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
sq *sq_of(store *st)
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
	sodium_memzero(&s->key, sizeof s->key);
	pthread_mutex_destroy(&s->mu);
	free(s);
	free(st);
}

/* The vtable: each entry in the sqlite_*.c file of its concern. */
static const store_ops sqlite_ops = {
    .close = sq_close,
    .create = sq_create,
    .get = sq_get,
    .exists = sq_exists_as,
    .update = sq_update,
    .remove = sq_remove,
    .list = sq_list,
    .associate = sq_associate,
    .disassociate = sq_disassociate,
    .related_ids = sq_related_ids,
    .related_names = sq_related_names,
    .user_authenticate = sq_user_authenticate,
    .user_secret_stamp = sq_user_secret_stamp,
    .token_create = sq_token_create,
    .token_authenticate = sq_token_authenticate,
    .credential_inputs = sq_credential_inputs,
    .notification_configuration = sq_notification_configuration,
    .inventory_script = sq_inventory_script,
    .inventory_import = sq_inventory_import,
    .job_transition = sq_job_transition,
    .job_append = sq_job_append,
    .job_set_cancel_flag = sq_job_set_cancel_flag,
    .job_progress = sq_job_progress,
    .jobs_cleanup = sq_jobs_cleanup,
    .events_insert = sq_events_insert,
    .events_insert_rows = sq_events_insert_rows,
    .events_list = sq_events_list,
    .stdout_read = sq_stdout_read,
    .host_summaries_list = sq_host_summaries_list,
    .schedule_claim = sq_schedule_claim,
    .events_slim = sq_events_slim,
};

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
	set_busy_wait(s);
	sq_add_functions(s->db);
	store *st = calloc(1, sizeof *st);
	st->ops = &sqlite_ops;
	st->impl = s;
	snprintf(st->backend, sizeof st->backend, "sqlite");
	st->event_writers = 1;
	if (sq_exec_sql(
	        s,
	        "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	        " PRAGMA foreign_keys=OFF;",
	        err) < 0 ||
	    store_key_load(&s->key, settings->state_dir, err) < 0 || sq_migrate(s, err) < 0 ||
	    (settings->thread_connections && conns_start(s, err) < 0)) {
		sq_close(st);
		return NULL;
	}
	return st;
}
