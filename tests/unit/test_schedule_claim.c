/* test_schedule_claim.c - store_schedule_claim, the compare-and-set that
 * makes a schedule's run launch once: two store handles (as two runnelds on
 * one database) race for the same run, many times over; exactly one wins
 * each. A claim with a stale expected value, or of a disabled schedule, or
 * of a schedule that is gone, never wins. Runs on SQLite, and on PostgreSQL
 * with RUNNELD_STORE=pg. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"
#include "store_backend.h"

#define ROUNDS 40

typedef struct fixture {
	char dir[64];
	char url[512];
} fixture;

/* A fresh temp dir. */
static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_schedule_claim_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	test_backend(f->dir, f->url);
	*state = f;
	return 0;
}

/* Remove the dir and what the store left in it. */
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

/* Open another handle on f's store. */
static store *open_store(fixture *f)
{
	store_settings ss = {
	    .state_dir = f->dir, .backend = test_on_pg() ? f->url : NULL, .busy_timeout_ms = 10000};
	runnel_error err = {0};
	store *st = store_open(&ss, &err);
	if (!st)
		fail_msg("open: %s", err.message);
	return st;
}

/* The run time of round i. */
static void run_time(int i, char out[32])
{
	snprintf(out, 32, "2030-01-01T00:%02d:00Z", i);
}

typedef struct racer {
	store *st;
	long id;
	pthread_barrier_t *go;
	int won[ROUNDS];
} racer;

/* Claim every round's run once, in step with the other racer. */
static void *race(void *arg)
{
	racer *r = arg;
	for (int i = 0; i < ROUNDS; i++) {
		char cur[32], next[32];
		run_time(i, cur);
		run_time(i + 1, next);
		pthread_barrier_wait(r->go);
		runnel_error err = {0};
		r->won[i] = store_schedule_claim(r->st, r->id, cur, next, &err);
		pthread_barrier_wait(r->go);
	}
	return NULL;
}

static void test_two_handles_race_one_wins(void **state)
{
	fixture *f = *state;
	store *a = open_store(f), *b = open_store(f);
	char first[32];
	run_time(0, first);
	json_t *fields =
	    json_pack("{s:s,s:i,s:s,s:s,s:b}", "name", "race", "unified_job_template", 2, "rrule",
	              "DTSTART:20300101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=1", "next_run", first,
	              "enabled", 1);
	runnel_error err = {0};
	json_t *s = store_create(a, STORE_SCHEDULE, fields, STORE_SYSTEM, &err);
	json_decref(fields);
	assert_non_null(s);
	long id = (long)json_integer_value(json_object_get(s, "id"));
	json_decref(s);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 2);
	racer ra = {.st = a, .id = id, .go = &go}, rb = {.st = b, .id = id, .go = &go};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, race, &ra);
	pthread_create(&tb, NULL, race, &rb);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < ROUNDS; i++) {
		assert_true(ra.won[i] >= 0 && rb.won[i] >= 0);
		assert_int_equal(ra.won[i] + rb.won[i], 1); /* exactly one launches the run */
	}
	char last[32];
	run_time(ROUNDS, last);
	s = store_get(a, STORE_SCHEDULE, id, &err);
	assert_string_equal(json_string_value(json_object_get(s, "next_run")), last);
	json_decref(s);
	/* a stale claim (the run already taken) changes nothing */
	assert_int_equal(store_schedule_claim(b, id, first, "2031-01-01T00:00:00Z", &err), 0);
	/* a disabled schedule launches nothing */
	json_t *off = json_pack("{s:b}", "enabled", 0);
	json_decref(store_update(a, STORE_SCHEDULE, id, off, STORE_SYSTEM, &err));
	json_decref(off);
	assert_int_equal(store_schedule_claim(b, id, last, NULL, &err), 0);
	/* a schedule that is gone: an error, never a win */
	assert_int_equal(store_remove(a, STORE_SCHEDULE, id, &err), 0);
	assert_true(store_schedule_claim(b, id, last, NULL, &err) < 0);
	store_close(a);
	store_close(b);
}

static void test_templates_share_one_id_space(void **state)
{
	fixture *f = *state;
	store *st = open_store(f);
	runnel_error err = {0};
	json_t *org_fields = json_pack("{s:s}", "name", "o");
	json_t *org = store_create(st, STORE_ORGANIZATION, org_fields, 0, &err);
	json_decref(org_fields);
	assert_non_null(org);
	long ids[6];
	for (int i = 0; i < 6; i++) {
		store_kind k = i % 3 == 0   ? STORE_PROJECT
		               : i % 3 == 1 ? STORE_JOB_TEMPLATE
		                            : STORE_INVENTORY_SOURCE;
		json_t *fields = json_pack("{s:s+}", "name", "t", i % 3 == 0 ? "p" : "x");
		if (k == STORE_INVENTORY_SOURCE) {
			json_t *inv_fields = json_pack("{s:s,s:O}", "name", "inv", "organization",
			                               json_object_get(org, "id"));
			json_t *inv = store_create(st, STORE_INVENTORY, inv_fields, 0, &err);
			json_decref(inv_fields);
			if (!inv) /* made once */
				inv = store_get(st, STORE_INVENTORY, 1, &err);
			assert_non_null(inv);
			json_object_set(fields, "inventory", json_object_get(inv, "id"));
			json_decref(inv);
		}
		char nm[16];
		snprintf(nm, sizeof nm, "t%d", i);
		json_object_set_new(fields, "name", json_string(nm));
		json_t *o = store_create(st, k, fields, STORE_SYSTEM, &err);
		json_decref(fields);
		if (!o)
			fail_msg("create: %s", err.message);
		ids[i] = (long)json_integer_value(json_object_get(o, "id"));
		json_decref(o);
	}
	/* the system job template is 1; every other id names one template */
	for (int i = 0; i < 6; i++) {
		assert_true(ids[i] >= 2);
		for (int j = 0; j < i; j++)
			assert_true(ids[i] > ids[j]);
	}
	json_decref(org);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_two_handles_race_one_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_templates_share_one_id_space, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
