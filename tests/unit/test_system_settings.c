/* test_system_settings.c - the settings a superuser changes at
 * /api/v2/settings/ (system_settings.h): values of the wrong type are
 * refused naming the key, and the paths shown to jobs never reach
 * runneld's state dir or projects root (nor a directory above them). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "system_settings.h"

#define STATE    "/var/lib/runneld"
#define PROJECTS "/srv/projects"

/* Check key = JSON text; the result of sys_setting_check, err filled. */
static int check(const char *key, const char *text, runnel_error *err)
{
	const sys_setting *s = sys_setting_find(key);
	assert_non_null(s);
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	assert_non_null(v);
	memset(err, 0, sizeof *err);
	int rc = sys_setting_check(s, v, STATE, PROJECTS, err);
	json_decref(v);
	return rc;
}

/* The paths a job may be shown. */
static void test_show_paths(void **state)
{
	(void)state;
	runnel_error err;
	assert_int_equal(
	    check("AWX_ISOLATION_SHOW_PATHS", "[\"/opt/tools\", \"/var/lib/runneld2\"]", &err), 0);
	assert_int_equal(check("AWX_ISOLATION_SHOW_PATHS", "[]", &err), 0);
	static const char *const refused[] = {
	    "[\"/\"]",
	    "[\"" STATE "\"]",
	    "[\"" STATE "/\"]",
	    "[\"" STATE "/secret.key\"]",
	    "[\"/var/lib\"]",
	    "[\"/var\"]",
	    "[\"" PROJECTS "/x\"]",
	    "[\"/srv\"]",
	    "[\"relative/path\"]",
	    "[\"/opt/../var/lib/runneld\"]",
	    "[3]",
	    "\"/opt\"",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		assert_int_equal(check("AWX_ISOLATION_SHOW_PATHS", refused[i], &err), -1);
		assert_int_equal(err.code, EINVAL);
		assert_non_null(strstr(err.message, "AWX_ISOLATION_SHOW_PATHS: "));
	}
}

/* Types, named in the error. */
static void test_types(void **state)
{
	(void)state;
	runnel_error err;
	assert_int_equal(check("DEFAULT_JOB_TIMEOUT", "30", &err), 0);
	assert_int_equal(check("DEFAULT_JOB_TIMEOUT", "-1", &err), -1);
	assert_int_equal(check("DEFAULT_JOB_TIMEOUT", "\"30\"", &err), -1);
	assert_non_null(strstr(err.message, "DEFAULT_JOB_TIMEOUT: "));
	assert_int_equal(check("AWX_CLEANUP_PATHS", "false", &err), 0);
	assert_int_equal(check("AWX_CLEANUP_PATHS", "\"false\"", &err), -1);
	assert_int_equal(check("AWX_TASK_ENV", "{\"A\": \"b\"}", &err), 0);
	assert_int_equal(check("AWX_TASK_ENV", "{\"A\": 1}", &err), -1);
	assert_int_equal(check("AWX_TASK_ENV", "{\"A=B\": \"c\"}", &err), -1);
	assert_int_equal(check("AWX_TASK_ENV", "[]", &err), -1);
}

/* The table: every key has a category of AWX's, and the writable ones are
 * those a worker applies. */
static void test_table(void **state)
{
	(void)state;
	int writable = 0;
	for (const sys_setting *s = sys_settings(); s->key; s++) {
		assert_true(!strcmp(s->category, "system") || !strcmp(s->category, "jobs") ||
		            !strcmp(s->category, "authentication"));
		writable += s->writable;
	}
	assert_int_equal(writable, 5);
	assert_null(sys_setting_find("NO_SUCH_SETTING"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_show_paths),
	    cmocka_unit_test(test_types),
	    cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
