/* test_store_threads.c - a store handle used by many threads at once: with
 * thread_connections each thread reads on its own connection, so a read
 * never queues behind another thread's write that waits for SQLite's write
 * lock; without it, calls are serialized (the read waits). Bounds are
 * relative to how long the lock is held, never absolute. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "store_backend.h"

/* How long another process-like connection holds the write lock. */
#define HOLD_S 3.0

typedef struct fixture {
	char dir[64];
	char url[512]; /* RUNNELD_STORE=pg: the test's database */
} fixture;

/* A fresh temp dir. */
static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_store_threads_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	test_backend(f->dir, f->url);
	*state = f;
	return 0;
}

/* Remove the dir (runneld.db, its WAL and shm, secret.key). */
static int teardown(void **state)
{
	fixture *f = *state;
	test_backend_drop(f->dir);
	static const char *const names[] = {"runneld.db", "runneld.db-wal", "runneld.db-shm",
	                                    "secret.key"};
	char p[128];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", f->dir, names[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Seconds on the monotonic clock. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Open the store of f, with or without per-thread connections. */
static store *open_store(fixture *f, bool per_thread)
{
	store_settings ss = {.state_dir = f->dir,
	                     .backend = test_on_pg() ? f->url : NULL,
	                     .busy_timeout_ms = 10000,
	                     .thread_connections = per_thread};
	runnel_error err = {0};
	store *st = store_open(&ss, &err);
	if (!st)
		fail_msg("open: %s", err.message);
	return st;
}

/* Create an organization named name; its id, or 0. */
static long mk_org(store *st, const char *name)
{
	json_t *in = json_pack("{s:s}", "name", name);
	runnel_error err = {0};
	json_t *o = store_create(st, STORE_ORGANIZATION, in, 0, &err);
	json_decref(in);
	long id = o ? (long)json_integer_value(json_object_get(o, "id")) : 0;
	json_decref(o);
	return id;
}

typedef struct writer_arg {
	store *st;
	long id;
	double took;
} writer_arg;

/* A write from another thread: waits for the lock the test holds. */
static void *writer(void *p)
{
	writer_arg *a = p;
	double t = now_s();
	a->id = mk_org(a->st, "written while locked");
	a->took = now_s() - t;
	return NULL;
}

typedef struct reader_arg {
	store *st;
	long org;
	double slowest;
	int ok;
} reader_arg;

/* Three reads (an object, a list page) of the handle; the slowest, in seconds. */
static void *reader(void *p)
{
	reader_arg *a = p;
	for (int i = 0; i < 3; i++) {
		runnel_error err = {0};
		double t = now_s();
		json_t *o = store_get(a->st, STORE_ORGANIZATION, a->org, &err);
		store_query q = {0};
		store_page pg = {0};
		int rc = store_list(a->st, STORE_ORGANIZATION, &q, &pg, &err);
		double dt = now_s() - t;
		if (o && rc == 0 && pg.count >= 1)
			a->ok++;
		json_decref(o);
		store_page_clear(&pg);
		if (dt > a->slowest)
			a->slowest = dt;
	}
	return NULL;
}

/* Hold the write lock from a connection of our own for HOLD_S while one
 * thread's write waits for it and another thread reads the handle. Returns
 * the slowest read, in seconds. */
static double read_beside_waiting_writer(fixture *f, store *st, writer_arg *wa)
{
	reader_arg ra = {.st = st, .org = mk_org(st, "before the lock")};
	assert_true(ra.org > 0);
	char path[128];
	snprintf(path, sizeof path, "%s/runneld.db", f->dir);
	sqlite3 *db = NULL;
	PGconn *pgc = NULL;
	if (test_on_pg()) {
		/* PostgreSQL: writes of organizations wait, reads do not */
		char name[64];
		test_db_name(f->dir, name);
		pgc = test_pg_connect(name);
		assert_non_null(pgc);
		PQclear(PQexec(pgc, "BEGIN"));
		PGresult *r = PQexec(pgc, "LOCK TABLE organizations IN EXCLUSIVE MODE");
		assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
	} else {
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	}
	wa->st = st;
	pthread_t wt, rt;
	assert_int_equal(pthread_create(&wt, NULL, writer, wa), 0);
	usleep(300 * 1000); /* the writer now waits for the lock */
	assert_int_equal(pthread_create(&rt, NULL, reader, &ra), 0);
	usleep((useconds_t)((HOLD_S - 0.3) * 1e6));
	if (pgc) {
		PQclear(PQexec(pgc, "ROLLBACK"));
		PQfinish(pgc);
	} else {
		assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	pthread_join(wt, NULL);
	pthread_join(rt, NULL);
	assert_int_equal(ra.ok, 3);
	return ra.slowest;
}

/* thread_connections: reads answer while another thread's write waits. */
static void test_reads_beside_a_waiting_writer(void **state)
{
	fixture *f = *state;
	store *st = open_store(f, true);
	writer_arg wa = {0};
	double slowest = read_beside_waiting_writer(f, st, &wa);
	/* the write did wait for the lock (the condition under test), then went in */
	assert_true(wa.took >= HOLD_S / 2);
	assert_true(wa.id > 0);
	/* and no read waited with it */
	if (slowest >= HOLD_S / 3)
		fail_msg("a read took %.3f s while the lock was held %.1f s", slowest, HOLD_S);
	store_close(st);
}

/* Without thread_connections the handle's calls are serialized: the same
 * read waits for the writer (the contrast the option exists for). */
static void test_shared_connection_serializes(void **state)
{
	fixture *f = *state;
	store *st = open_store(f, false);
	writer_arg wa = {0};
	double slowest = read_beside_waiting_writer(f, st, &wa);
	assert_true(wa.id > 0);
	if (slowest < HOLD_S / 2)
		fail_msg("a read took only %.3f s behind a writer waiting %.1f s", slowest, HOLD_S);
	store_close(st);
}

#define THREADS    8
#define PER_THREAD 25

typedef struct many_arg {
	store *st;
	int n;
	int made, seen_mine;
} many_arg;

/* Create PER_THREAD organizations and read each back, on this thread's
 * connection. */
static void *many(void *p)
{
	many_arg *a = p;
	for (int i = 0; i < PER_THREAD; i++) {
		char name[64];
		snprintf(name, sizeof name, "t%d-%d", a->n, i);
		long id = mk_org(a->st, name);
		if (!id)
			continue;
		a->made++;
		runnel_error err = {0};
		json_t *o = store_get(a->st, STORE_ORGANIZATION, id, &err);
		if (o && !strcmp(json_string_value(json_object_get(o, "name")), name))
			a->seen_mine++;
		json_decref(o);
	}
	return NULL;
}

/* Threads writing and reading at once: every write lands once and is read
 * back at once by its thread (its own connection sees its commits), and
 * another thread's connection sees them all; threads that ended hand their
 * connections back and the handle closes cleanly (ASan: no leak). */
static void test_threads_write_and_read(void **state)
{
	fixture *f = *state;
	store *st = open_store(f, true);
	pthread_t th[THREADS];
	many_arg a[THREADS];
	for (int round = 0; round < 2; round++) { /* the second round reuses connections */
		for (int i = 0; i < THREADS; i++) {
			a[i] = (many_arg){.st = st, .n = round * THREADS + i};
			assert_int_equal(pthread_create(&th[i], NULL, many, &a[i]), 0);
		}
		for (int i = 0; i < THREADS; i++) {
			pthread_join(th[i], NULL);
			assert_int_equal(a[i].made, PER_THREAD);
			assert_int_equal(a[i].seen_mine, PER_THREAD);
		}
	}
	runnel_error err = {0};
	store_query q = {.page_size = 1};
	store_page pg = {0};
	assert_int_equal(store_list(st, STORE_ORGANIZATION, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 2 * THREADS * PER_THREAD);
	store_page_clear(&pg);
	store_close(st);
}

typedef struct grower_arg {
	store *st;
	volatile int stop;
	int made;
} grower_arg;

/* Create organizations until told to stop. */
static void *grower(void *p)
{
	grower_arg *a = p;
	while (!a->stop) {
		char name[64];
		snprintf(name, sizeof name, "grown-%d", a->made);
		if (mk_org(a->st, name))
			a->made++;
	}
	return NULL;
}

/* A list read while another thread adds rows: its count and its page come
 * from one snapshot, so the page never holds more rows than the count says
 * (the last page of a list that grew between the two reads did). */
static void test_list_count_and_page_agree(void **state)
{
	fixture *f = *state;
	store *st = open_store(f, true);
	grower_arg g = {.st = st};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, grower, &g), 0);
	int lists = 0, longer = 0;
	double until = now_s() + 3.0;
	while (now_s() < until || lists < 50) {
		runnel_error err = {0};
		store_query q = {.page_size = 200, .order_by = "-id"};
		store_page pg = {0};
		assert_int_equal(store_list(st, STORE_ORGANIZATION, &q, &pg, &err), 0);
		long n = (long)json_array_size(pg.results);
		if (n > pg.count)
			longer++;
		else if (pg.count <= 200) /* a first page holds them all */
			assert_int_equal(n, pg.count);
		store_page_clear(&pg);
		lists++;
	}
	g.stop = 1;
	pthread_join(th, NULL);
	assert_true(g.made > 0);
	assert_int_equal(longer, 0);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_reads_beside_a_waiting_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shared_connection_serializes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_threads_write_and_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_count_and_page_agree, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
