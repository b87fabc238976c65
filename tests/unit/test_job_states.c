/* test_job_states.c - the table of job states (service/store/job_states.h):
 * every move between AWX's eight statuses allowed or refused as written
 * down here independently of the table, the sources agree with the moves,
 * the effects of each status; then the same 64 moves through the SQLite
 * store's job_transition (the compare-and-set and the effects applied to
 * the record: started once, finished, elapsed, failed, canceled_on, and
 * cancel_flag / job_explanation kept). */
#include <errno.h>
#include <ftw.h>
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

#include "job_states.h"
#include "store.h"
#include "store_backend.h"

static const char *const all[] = {"new",        "pending", "waiting", "running",
                                  "successful", "failed",  "error",   "canceled"};
#define NSTATUS 8

/* The moves AWX's job life allows, written out by hand (from, to). */
static const char *const allowed[][2] = {
    {"new", "pending"},        {"new", "canceled"},    {"new", "failed"},
    {"new", "error"},          {"pending", "waiting"}, {"pending", "canceled"},
    {"pending", "failed"},     {"pending", "error"},   {"waiting", "running"},
    {"waiting", "canceled"},   {"waiting", "failed"},  {"waiting", "error"},
    {"running", "successful"}, {"running", "failed"},  {"running", "error"},
    {"running", "canceled"},
};

/* Is (from, to) in the hand-written list? */
static bool expected(const char *from, const char *to)
{
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		if (!strcmp(allowed[i][0], from) && !strcmp(allowed[i][1], to))
			return true;
	return false;
}

/* Every pair of statuses: allowed exactly when the list says so. */
static void test_every_move(void **state)
{
	(void)state;
	int n_allowed = 0;
	for (int f = 0; f < NSTATUS; f++)
		for (int t = 0; t < NSTATUS; t++) {
			bool want = expected(all[f], all[t]);
			if (job_state_can(all[f], all[t]) != want)
				fail_msg("%s -> %s: expected %s", all[f], all[t],
				         want ? "allowed" : "refused");
			n_allowed += want;
		}
	assert_int_equal(n_allowed, 16);
	/* nothing leaves a final status, nothing goes back to new */
	for (int f = 4; f < NSTATUS; f++)
		for (int t = 0; t < NSTATUS; t++)
			assert_false(job_state_can(all[f], all[t]));
	for (int f = 0; f < NSTATUS; f++)
		assert_false(job_state_can(all[f], "new"));
	/* unknown names and NULL are refused, not crashed on */
	assert_false(job_state_can("runing", "failed"));
	assert_false(job_state_can("running", "done"));
	assert_false(job_state_can(NULL, "failed"));
	assert_false(job_state_can("running", NULL));
}

/* job_state_sources(to) lists exactly the from of every allowed move. */
static void test_sources_agree_with_moves(void **state)
{
	(void)state;
	for (int t = 0; t < NSTATUS; t++) {
		const char *const *src = job_state_sources(all[t]);
		assert_non_null(src);
		int listed = 0;
		for (; src[listed]; listed++)
			assert_true(job_state_can(src[listed], all[t]));
		int want = 0;
		for (int f = 0; f < NSTATUS; f++)
			want += job_state_can(all[f], all[t]);
		assert_int_equal(listed, want);
	}
	assert_null(job_state_sources("bogus")[0]);
	assert_null(job_state_sources("new")[0]);
}

/* Names round-trip; the classes of statuses. */
static void test_names_and_classes(void **state)
{
	(void)state;
	for (int s = 0; s < NSTATUS; s++) {
		assert_string_equal(job_status_name((job_status)s), all[s]);
		assert_int_equal(job_status_of(all[s]), s);
		bool active = s <= 3;
		assert_int_equal(job_state_is_active(all[s]), active);
		assert_int_equal(job_state_is_final(all[s]), !active);
		assert_int_equal(job_state_is_queued(all[s]), s <= 1);
	}
	assert_null(job_status_name(JOB_STATUS_COUNT));
	assert_int_equal(job_status_of("Running"), -1);
	assert_int_equal(job_status_of(NULL), -1);
	assert_false(job_state_is_active(NULL));
	assert_false(job_state_is_final("unknown"));
	int n = 0;
	for (; job_states_active[n]; n++)
		assert_true(job_state_is_active(job_states_active[n]));
	assert_int_equal(n, 4);
	for (n = 0; job_states_queued[n]; n++)
		assert_true(job_state_is_queued(job_states_queued[n]));
	assert_int_equal(n, 2);
}

/* The effects of a move to each status. */
static void test_effects(void **state)
{
	(void)state;
	for (int s = 0; s < NSTATUS; s++) {
		job_state_effects fx = job_state_effects_of(all[s]);
		bool final = s >= 4;
		assert_int_equal(fx.set_started, !strcmp(all[s], "running"));
		assert_int_equal(fx.set_finished, final);
		assert_int_equal(fx.set_failed, final);
		assert_int_equal(fx.failed_value, final && strcmp(all[s], "successful"));
		assert_int_equal(fx.set_canceled_on, !strcmp(all[s], "canceled"));
	}
	job_state_effects none = job_state_effects_of("bogus");
	assert_false(none.set_started || none.set_finished || none.set_failed ||
	             none.set_canceled_on);
}

/* ---- the same moves through the store ---- */

typedef struct fixture {
	char dir[64];
	char url[512];
	store *st;
} fixture;

/* Open a store in a temp dir. */
static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_job_states_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* SQLite, or PostgreSQL with RUNNELD_STORE=pg (store_backend.h) */
	store_settings ss = {.state_dir = f->dir, .backend = test_backend(f->dir, f->url)};
	runnel_error err = {0};
	f->st = store_open(&ss, &err);
	if (!f->st)
		fail_msg("open: %s", err.message);
	*state = f;
	return 0;
}

/* Remove one file (nftw). */
static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* Close the store, remove the dir. */
static int teardown(void **state)
{
	fixture *f = *state;
	store_close(f->st);
	test_backend_drop(f->dir);
	nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* A new job (status new). */
static long new_job(store *st)
{
	runnel_error err;
	json_t *fields = json_pack("{s:s,s:s}", "name", "j", "type", "job");
	json_t *o = store_create(st, STORE_JOB, fields, STORE_SYSTEM, &err);
	json_decref(fields);
	if (!o)
		fail_msg("create: %s", err.message);
	long id = (long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	return id;
}

/* A string field of a job (copied into buf; "" when null). */
static const char *field(store *st, long id, const char *name, char *buf, size_t n)
{
	runnel_error err;
	json_t *o = store_get(st, STORE_UNIFIED_JOB, id, &err);
	assert_non_null(o);
	const char *v = json_string_value(json_object_get(o, name));
	snprintf(buf, n, "%s", v ? v : "");
	json_decref(o);
	return buf;
}

/* Drive a new job to status along allowed moves: new, pending, waiting,
 * running, then the final status. */
static void drive(store *st, long id, const char *status)
{
	static const char *const path[] = {"pending", "waiting", "running"};
	runnel_error err;
	int s = job_status_of(status);
	for (int i = 0; i < 3 && i < s; i++)
		assert_int_equal(store_job_transition(st, id, NULL, path[i], NULL, &err), 1);
	if (job_state_is_final(status))
		assert_int_equal(store_job_transition(st, id, NULL, status, NULL, &err), 1);
}

/* The backends' two halves: the compare-and-set test and the effects on a
 * job's fields. */
static void test_may_move_and_apply(void **state)
{
	(void)state;
	const char *const only_waiting[] = {"waiting", NULL};
	assert_true(job_state_may_move("waiting", NULL, "running"));
	assert_false(job_state_may_move("pending", NULL, "running"));
	assert_true(job_state_may_move("waiting", only_waiting, "running"));
	/* a list narrows the table, never widens it */
	const char *const wide[] = {"successful", NULL};
	assert_false(job_state_may_move("successful", wide, "running"));
	assert_false(job_state_may_move("running", only_waiting, "successful"));

	json_t *d = json_pack("{s:n,s:n,s:n}", "started", "finished", "canceled_on");
	assert_int_equal(job_state_apply(d, "running", "T1"), JOB_STATE_SET_STARTED);
	assert_string_equal(json_string_value(json_object_get(d, "status")), "running");
	assert_string_equal(json_string_value(json_object_get(d, "started")), "T1");
	/* started is kept; a final status sets finished and failed */
	assert_int_equal(job_state_apply(d, "canceled", "T2"), JOB_STATE_SET_FINISHED);
	assert_string_equal(json_string_value(json_object_get(d, "started")), "T1");
	assert_string_equal(json_string_value(json_object_get(d, "finished")), "T2");
	assert_string_equal(json_string_value(json_object_get(d, "canceled_on")), "T2");
	assert_true(json_is_true(json_object_get(d, "failed")));
	json_decref(d);
	d = json_pack("{s:s,s:n}", "started", "T0", "finished");
	assert_int_equal(job_state_apply(d, "successful", "T3"), JOB_STATE_SET_FINISHED);
	assert_true(json_is_false(json_object_get(d, "failed")));
	assert_null(json_object_get(d, "canceled_on"));
	json_decref(d);
}

/* Every (from, to) through the store: moved exactly when allowed; the record
 * shows the effects; a refused move changes nothing and names the status. */
static void test_store_applies_the_table(void **state)
{
	fixture *f = *state;
	runnel_error err;
	for (int a = 0; a < NSTATUS; a++)
		for (int b = 0; b < NSTATUS; b++) {
			long id = new_job(f->st);
			drive(f->st, id, all[a]);
			assert_int_equal(store_job_set_cancel_flag(f->st, id, &err), 1);
			assert_int_equal(
			    store_job_append(f->st, id, "job_explanation", "kept", &err), 0);
			char before_started[64], before_finished[64], cur[32] = "";
			field(f->st, id, "started", before_started, sizeof before_started);
			field(f->st, id, "finished", before_finished, sizeof before_finished);
			int moved = store_job_transition(f->st, id, NULL, all[b], cur, &err);
			bool want = expected(all[a], all[b]);
			if (moved != (want ? 1 : 0))
				fail_msg("store: %s -> %s moved %d", all[a], all[b], moved);
			assert_string_equal(cur, all[a]);
			json_t *o = store_get(f->st, STORE_UNIFIED_JOB, id, &err);
			assert_non_null(o);
			const char *now_status = json_string_value(json_object_get(o, "status"));
			assert_string_equal(now_status, want ? all[b] : all[a]);
			/* never cleared by a move */
			assert_true(json_is_true(json_object_get(o, "cancel_flag")));
			assert_string_equal(
			    json_string_value(json_object_get(o, "job_explanation")), "kept");
			if (want) {
				job_state_effects fx = job_state_effects_of(all[b]);
				const char *started =
				    json_string_value(json_object_get(o, "started"));
				if (fx.set_started)
					assert_non_null(started);
				else if (!*before_started)
					assert_null(started);
				if (fx.set_finished) {
					assert_non_null(
					    json_string_value(json_object_get(o, "finished")));
					assert_true(json_is_number(json_object_get(o, "elapsed")));
					if (!started)
						assert_true(json_number_value(json_object_get(
						                o, "elapsed")) == 0);
				} else {
					assert_null(
					    json_string_value(json_object_get(o, "finished")));
				}
				if (fx.set_failed)
					assert_int_equal(json_is_true(json_object_get(o, "failed")),
					                 fx.failed_value);
				assert_int_equal(json_is_string(json_object_get(o, "canceled_on")),
				                 fx.set_canceled_on);
			} else {
				/* a refused move leaves the record as it was */
				char s2[64];
				assert_string_equal(field(f->st, id, "finished", s2, sizeof s2),
				                    before_finished);
				assert_string_equal(field(f->st, id, "started", s2, sizeof s2),
				                    before_started);
			}
			json_decref(o);
		}
}

/* A caller's narrower from list: cancel only while queued. */
static void test_store_from_narrows(void **state)
{
	fixture *f = *state;
	runnel_error err;
	char cur[32];
	long queued = new_job(f->st);
	drive(f->st, queued, "pending");
	assert_int_equal(
	    store_job_transition(f->st, queued, job_states_queued, "canceled", cur, &err), 1);
	long running = new_job(f->st);
	drive(f->st, running, "running");
	assert_int_equal(
	    store_job_transition(f->st, running, job_states_queued, "canceled", cur, &err), 0);
	assert_string_equal(cur, "running");
	/* a from list naming a move the table refuses does not make it allowed */
	const char *from_new[] = {"new", NULL};
	long fresh = new_job(f->st);
	assert_int_equal(store_job_transition(f->st, fresh, from_new, "running", cur, &err), 0);
	assert_string_equal(cur, "new");
	/* started is set once: a second running is refused, the first start stays */
	char s1[64], s2[64];
	field(f->st, running, "started", s1, sizeof s1);
	assert_true(*s1);
	assert_int_equal(store_job_transition(f->st, running, NULL, "running", cur, &err), 0);
	assert_string_equal(field(f->st, running, "started", s2, sizeof s2), s1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_move),
	    cmocka_unit_test(test_sources_agree_with_moves),
	    cmocka_unit_test(test_names_and_classes),
	    cmocka_unit_test(test_effects),
	    cmocka_unit_test(test_may_move_and_apply),
	    cmocka_unit_test_setup_teardown(test_store_applies_the_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_from_narrows, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
