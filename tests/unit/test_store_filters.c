/* test_store_filters.c - the store's query-string filters (service/store/
 * query.c, sqlite_query.c) with inputs found by
 * fuzz/fuzz_api.c: whatever a client puts in ?key=value, a list answers or
 * refuses with EINVAL naming the key; it never fails in SQL (a 500). */
#include <errno.h>
#include <limits.h>
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

typedef struct fixture {
	char dir[64];
	char url[512]; /* RUNNELD_STORE=pg: the test's database */
	store *st;
	long job;
} fixture;

static json_t *event(long job, int counter, const char *name, const char *data)
{
	return json_pack("{s:I,s:i,s:s,s:s,s:s,s:i,s:i,s:o,s:s}", "job_id", (json_int_t)job,
	                 "counter", counter, "event", name, "uuid", name, "stdout", "PLAY RECAP",
	                 "start_line", counter, "end_line", counter + 1, "event_data",
	                 json_loads(data, 0, NULL), "created", "2024-01-01T00:00:00.000001");
}

/* A store holding one job with two hosts' summaries (web1, db1). */
static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_store_filters_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	store_settings ss = {.state_dir = f->dir, .backend = test_backend(f->dir, f->url)};
	runnel_error err = {0};
	f->st = store_open(&ss, &err);
	if (!f->st)
		fail_msg("open: %s", err.message);
	json_t *in = json_pack("{s:s,s:s}", "name", "j", "type", "job");
	json_t *o = store_create(f->st, STORE_JOB, in, STORE_SYSTEM, &err);
	json_decref(in);
	assert_non_null(o);
	f->job = (long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	json_t *batch = json_array();
	json_array_append_new(batch, event(f->job, 1, "playbook_on_start", "{}"));
	json_array_append_new(batch,
	                      event(f->job, 2, "playbook_on_stats",
	                            "{\"ok\":{\"web1\":2,\"db1\":1},\"failures\":{\"db1\":1},"
	                            "\"processed\":{\"web1\":1,\"db1\":1}}"));
	long stored = 0, dropped = 0;
	assert_int_equal(store_events_insert(f->st, batch, &stored, &dropped, &err), 0);
	json_decref(batch);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	store_close(f->st);
	test_backend_drop(f->dir);
	char path[128];
	const char *names[] = {"runneld.db", "runneld.db-wal", "runneld.db-shm", "secret.key"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Count what a list of the job's host summaries (summaries) or events gives
 * for filters (JSON text); -1 with *code on failure. */
static long count(fixture *f, bool summaries, const char *filters, const char *order, int *code)
{
	store_query q = {.filters = json_loads(filters, 0, NULL), .order_by = order};
	store_page pg = {0};
	runnel_error err = {0};
	int rc = summaries ? store_host_summaries_list(f->st, f->job, &q, &pg, &err)
	                   : store_events_list(f->st, f->job, &q, &pg, &err);
	json_decref(q.filters);
	*code = rc < 0 ? err.code : 0;
	long n = rc < 0 ? -1 : pg.count;
	store_page_clear(&pg);
	return n;
}

/* The input fuzz_api found: ?search= on job_host_summaries asked SQLite for
 * a stdout column the summaries do not have. AWX searches host_name there. */
static void test_search_on_host_summaries(void **state)
{
	fixture *f = *state;
	int code;
	assert_int_equal(count(f, true, "{}", NULL, &code), 2);
	assert_int_equal(count(f, true, "{\"search\": \"web\"}", NULL, &code), 1);
	assert_int_equal(code, 0);
	assert_int_equal(count(f, true, "{\"search\": \"ipage=0\"}", NULL, &code), 0);
	assert_int_equal(code, 0);
	/* events search their stdout */
	assert_int_equal(count(f, false, "{\"search\": \"RECAP\"}", NULL, &code), 2);
}

/* Every lookup on every field of both lists: an answer or EINVAL, nothing else. */
static void test_every_lookup_answers_or_refuses(void **state)
{
	fixture *f = *state;
	static const char *fields[] = {"id",      "host",     "host_name", "counter", "failed",
	                               "changed", "stdout",   "event",     "ok",      "dark",
	                               "created", "modified", "nosuch",    "not",     "or"};
	static const char *ops[] = {"",
	                            "__exact",
	                            "__iexact",
	                            "__gt",
	                            "__gte",
	                            "__lt",
	                            "__lte",
	                            "__in",
	                            "__isnull",
	                            "__contains",
	                            "__icontains",
	                            "__startswith",
	                            "__iendswith",
	                            "__regex",
	                            "__"};
	static const char *values[] = {"\"1\"", "\"x,y\"", "\"true\"", "[1, \"a\"]",
	                               "null",  "2.5",     "\"\"",     "{}"};
	char js[256];
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
			for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
				for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
					snprintf(js, sizeof js, "{\"%s%s\": %s}", fields[i], ops[k],
					         values[v]);
					int code;
					long n = count(f, s, js, NULL, &code);
					if (n < 0 && code != EINVAL)
						fail_msg("%s %s: error %d",
						         s ? "summaries" : "events", js, code);
				}
	static const char *orders[] = {"host_name", "-counter,id", "-", ",", "nosuch", "stdout"};
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++) {
			int code;
			long n = count(f, s, "{}", orders[i], &code);
			if (n < 0 && code != EINVAL)
				fail_msg("order_by %s: error %d", orders[i], code);
		}
}

/* ?page=3333000000336070084 (found by fuzz_api): the offset overflowed a
 * long (UBSan: signed integer overflow); a page past the end is empty. */
static void test_huge_page_is_past_the_end(void **state)
{
	fixture *f = *state;
	static const long pages[] = {3333000000336070084L, LONG_MAX, LONG_MAX / 25 + 2};
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
		for (int s = 0; s < 3; s++) {
			store_query q = {.page = pages[i], .page_size = s == 2 ? 200 : 0};
			store_page pg = {0};
			runnel_error err = {0};
			int rc = s == 0   ? store_events_list(f->st, f->job, &q, &pg, &err)
			         : s == 1 ? store_host_summaries_list(f->st, f->job, &q, &pg, &err)
			                  : store_list(f->st, STORE_JOB, &q, &pg, &err);
			assert_int_equal(rc, 0);
			assert_true(pg.count > 0);
			assert_int_equal(json_array_size(pg.results), 0);
			store_page_clear(&pg);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_search_on_host_summaries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_lookup_answers_or_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_huge_page_is_past_the_end, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
