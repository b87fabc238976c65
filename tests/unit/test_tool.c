/* test_tool.c - runnel_tool_run() and the fact cache accessors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runnel.h"
#include "util.h"

/* A fresh temp dir for a test. */
static char *temp_dir(void)
{
	char *t = rn_xstrdup("/tmp/runnel-test-tool-XXXXXX");
	assert_non_null(mkdtemp(t));
	return t;
}

static void test_captures_stdout_and_stderr_apart(void **state)
{
	(void)state;
	const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	runnel_tool t = {.argv = argv};
	runnel_tool_result r;
	runnel_error err = {0};
	assert_int_equal(runnel_tool_run(&t, &r, &err), 0);
	assert_int_equal(r.rc, 3);
	assert_string_equal(r.out, "out\n");
	assert_string_equal(r.err, "err\n");
	assert_false(r.timed_out);
	runnel_tool_result_clear(&r);
}

static void test_env_and_cwd(void **state)
{
	(void)state;
	char *dir = temp_dir();
	const char *argv[] = {"sh", "-c", "printf '%s %s' \"$RUNNEL_T\" \"$PWD\"", NULL};
	json_t *env = json_pack("{s:s}", "RUNNEL_T", "value");
	runnel_tool t = {.argv = argv, .cwd = dir, .envvars = env};
	runnel_tool_result r;
	assert_int_equal(runnel_tool_run(&t, &r, NULL), 0);
	char *want = rn_xasprintf("value %s", dir);
	assert_string_equal(r.out, want);
	free(want);
	runnel_tool_result_clear(&r);
	json_decref(env);
	rmdir(dir);
	free(dir);
}

static void test_timeout_ends_the_group(void **state)
{
	(void)state;
	const char *argv[] = {"sh", "-c", "sleep 30 & sleep 30", NULL};
	runnel_tool t = {.argv = argv, .timeout = 0.3, .cancel_grace_period = 0.2};
	runnel_tool_result r;
	double t0 = rn_now();
	assert_int_equal(runnel_tool_run(&t, &r, NULL), 0);
	double took = rn_now() - t0;
	assert_true(r.timed_out);
	assert_int_equal(r.rc, 254);
	assert_true(took < 2.0);
	runnel_tool_result_clear(&r);
}

static void test_cancel(void **state)
{
	(void)state;
	runnel_canceler *c = runnel_canceler_new(NULL);
	runnel_cancel(c); /* canceled before it starts: ends at once */
	const char *argv[] = {"sleep", "30", NULL};
	runnel_tool t = {.argv = argv, .canceler = c};
	runnel_tool_result r;
	double t0 = rn_now();
	assert_int_equal(runnel_tool_run(&t, &r, NULL), 0);
	assert_true(r.canceled);
	assert_int_equal(r.rc, 254);
	assert_true(rn_now() - t0 < 2.0);
	runnel_tool_result_clear(&r);
	runnel_canceler_free(c);
}

static void test_not_found(void **state)
{
	(void)state;
	const char *argv[] = {"/nonexistent/ansible-inventory", "--list", NULL};
	runnel_tool t = {.argv = argv};
	runnel_tool_result r;
	assert_int_equal(runnel_tool_run(&t, &r, NULL), 0);
	assert_int_equal(r.rc, 127);
	assert_non_null(strstr(r.err, "/nonexistent/ansible-inventory"));
	runnel_tool_result_clear(&r);
}

static void test_bad_cwd_is_an_error(void **state)
{
	(void)state;
	const char *argv[] = {"true", NULL};
	runnel_tool t = {.argv = argv, .cwd = "/nonexistent/dir"};
	runnel_tool_result r;
	runnel_error err = {0};
	assert_int_equal(runnel_tool_run(&t, &r, &err), -1);
	assert_non_null(strstr(err.message, "/nonexistent/dir"));
}

static void test_output_cap(void **state)
{
	(void)state;
	const char *argv[] = {"sh", "-c", "head -c 100000 /dev/zero", NULL};
	runnel_tool t = {.argv = argv, .max_output = 1000};
	runnel_tool_result r;
	assert_int_equal(runnel_tool_run(&t, &r, NULL), 0);
	assert_int_equal(r.out_len, 1000);
	assert_true(r.truncated);
	runnel_tool_result_clear(&r);
}

static void test_ansible_inventory(void **state)
{
	(void)state;
	if (access("/usr/bin/ansible-inventory", X_OK) != 0)
		skip();
	char *dir = temp_dir();
	char *inv = rn_path_join(dir, "hosts");
	FILE *f = fopen(inv, "w");
	fputs("[web]\nweb1 x=1\nweb2\n", f);
	fclose(f);
	const char *argv[] = {"ansible-inventory", "-i", inv, "--list", NULL};
	runnel_tool t = {.argv = argv, .timeout = 120};
	runnel_tool_result r;
	assert_int_equal(runnel_tool_run(&t, &r, NULL), 0);
	assert_int_equal(r.rc, 0);
	json_error_t je;
	json_t *doc = json_loads(r.out, 0, &je);
	assert_non_null(doc);
	json_t *hosts = json_object_get(json_object_get(doc, "web"), "hosts");
	assert_int_equal(json_array_size(hosts), 2);
	assert_int_equal(
	    json_integer_value(json_object_get(
	        json_object_get(json_object_get(json_object_get(doc, "_meta"), "hostvars"), "web1"),
	        "x")),
	    1);
	json_decref(doc);
	runnel_tool_result_clear(&r);
	unlink(inv);
	free(inv);
	rmdir(dir);
	free(dir);
}

static void test_fact_cache_roundtrip(void **state)
{
	(void)state;
	char *dir = temp_dir();
	char *fc = rn_path_join(dir, "fact_cache");
	runnel_error err = {0};
	json_t *empty = runnel_fact_cache_get(fc, "web1", &err);
	assert_non_null(empty);
	assert_int_equal(json_object_size(empty), 0);
	json_decref(empty);
	json_t *facts = json_pack("{s:s,s:i}", "color", "blue", "n", 3);
	assert_int_equal(runnel_fact_cache_set(fc, "web1", facts, &err), 0);
	json_t *back = runnel_fact_cache_get(fc, "web1", &err);
	assert_true(json_equal(back, facts));
	char *file = rn_path_join(fc, "web1");
	struct stat st;
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(runnel_fact_cache_set(fc, "../evil", facts, &err), -1);
	assert_non_null(strstr(err.message, "../evil"));
	json_decref(back);
	json_decref(facts);
	unlink(file);
	free(file);
	rmdir(fc);
	free(fc);
	rmdir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_captures_stdout_and_stderr_apart),
	    cmocka_unit_test(test_env_and_cwd),
	    cmocka_unit_test(test_timeout_ends_the_group),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_not_found),
	    cmocka_unit_test(test_bad_cwd_is_an_error),
	    cmocka_unit_test(test_output_cap),
	    cmocka_unit_test(test_ansible_inventory),
	    cmocka_unit_test(test_fact_cache_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
