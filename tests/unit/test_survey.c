/* test_survey.c - service/store/survey.c: AWX's survey rules without a
 * daemon: a password default is sealed and shown "$encrypted$", a stored
 * one is kept for "$encrypted$"; answers are split into accepted and
 * rejected with AWX's messages; a job's password answers leave its
 * extra_vars sealed and open with the same key only; the label rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "survey.h"
#include "util.h"

/* A key of fixed bytes (b: the fill). */
static store_key key_of(unsigned char b)
{
	store_key k;
	memset(k.k, b, sizeof k.k);
	return k;
}

/* A parsed JSON text (asserted). */
static json_t *J(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
	if (!v)
		fail_msg("bad JSON in test: %s: %s", text, e.text);
	return v;
}

/* A password default is sealed at rest, shown as "$encrypted$", kept for
 * "$encrypted$" and refused as "$encrypted$" when there is none. */
static void test_password_default_sealed_and_kept(void **state)
{
	(void)state;
	store_key k = key_of(7);
	runnel_error err = {0};
	json_t *in = J("{\"name\":\"n\",\"description\":\"d\",\"spec\":[{\"type\":\"password\","
	               "\"question_name\":\"p\",\"variable\":\"pw\",\"required\":false,"
	               "\"default\":\"hunter2-secret\"}]}");
	json_t *stored = survey_spec_prepare(in, NULL, &k, &err);
	assert_non_null(stored);
	char *text = json_dumps(stored, 0);
	assert_null(strstr(text, "hunter2-secret"));
	free(text);
	const char *d = json_string_value(
	    json_object_get(json_array_get(json_object_get(stored, "spec"), 0), "default"));
	assert_non_null(d);
	assert_int_equal(strncmp(d, SURVEY_ENCRYPTED, strlen(SURVEY_ENCRYPTED)), 0);
	char *open = survey_open(&k, d);
	assert_string_equal(open, "hunter2-secret");
	free(open);
	store_key other = key_of(8);
	assert_null(survey_open(&other, d)); /* another state dir's key opens nothing */
	json_t *shown = survey_spec_display(stored);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(shown, "spec"), 0), "default")),
	                    "$encrypted$");
	/* "$encrypted$" keeps the stored default */
	json_t *again = survey_spec_prepare(shown, stored, &k, &err);
	assert_non_null(again);
	assert_true(json_equal(again, stored));
	/* ... and is refused when nothing was stored */
	assert_null(survey_spec_prepare(shown, NULL, &k, &err));
	assert_string_equal(
	    err.message,
	    "$encrypted$ is a reserved keyword, may not be used for new default in position 0.");
	json_decref(in), json_decref(stored), json_decref(shown), json_decref(again);
}

/* A template of the given survey questions (a JSON array text), enabled. */
static json_t *template_with(const char *questions, bool ask_vars)
{
	char *t = rn_xasprintf("{\"survey_enabled\":true,\"ask_variables_on_launch\":%s,"
	                       "\"extra_vars\":\"{\\\"same\\\":\\\"t\\\"}\","
	                       "\"survey_spec\":{\"name\":\"s\",\"description\":\"\",\"spec\":%s}}",
	                       ask_vars ? "true" : "false", questions);
	json_t *jt = J(t);
	free(t);
	return jt;
}

/* Answers split as AWX's _accept_or_ignore_variables does, with its messages. */
static void test_accept_and_reject(void **state)
{
	(void)state;
	json_t *jt = template_with(
	    "[{\"type\":\"integer\",\"question_name\":\"n\",\"variable\":\"n\",\"required\":true,"
	    "\"min\":1,\"max\":5},{\"type\":\"multiselect\",\"question_name\":\"m\",\"variable\":"
	    "\"m\",\"required\":false,\"choices\":\"a\\nb\"},{\"type\":\"float\",\"question_name\":"
	    "\"f\",\"variable\":\"f\",\"required\":false}]",
	    false);
	json_t *acc, *rej, *errors = json_array();
	json_t *data = J("{\"n\":9,\"m\":[\"a\",\"c\"],\"f\":true,\"x\":1,\"same\":\"t\"}");
	survey_accept_vars(jt, data, NULL, &acc, &rej, errors);
	/* f: true is refused as AWX does (type(True) is bool, not float or int) */
	json_t *want = J("[\"'n' value 9 is too large (must be no more than 5).\","
	                 "\"Value c for 'm' expected to be one of ['a', 'b'].\","
	                 "\"Value True for 'f' expected to be a numeric type.\"]");
	assert_true(json_equal(errors, want));
	assert_non_null(json_object_get(rej, "n"));
	assert_non_null(json_object_get(rej, "m"));
	assert_non_null(json_object_get(rej, "x")); /* not asked: rejected */
	assert_null(json_object_get(rej, "same"));  /* equal to the template's: dropped */
	assert_null(json_object_get(acc, "x"));
	json_decref(acc), json_decref(rej), json_decref(errors), json_decref(want),
	    json_decref(data);
	json_decref(jt);

	/* asked: everything not a survey answer is accepted */
	jt = template_with("[{\"type\":\"text\",\"question_name\":\"t\",\"variable\":\"t\","
	                   "\"required\":true}]",
	                   true);
	errors = json_array();
	data = J("{\"x\":1}");
	survey_accept_vars(jt, data, NULL, &acc, &rej, errors);
	want = J("[\"'t' value missing\"]");
	assert_true(json_equal(errors, want));
	assert_non_null(json_object_get(acc, "x"));
	assert_int_equal(json_object_size(rej), 0);
	json_decref(acc), json_decref(rej), json_decref(errors), json_decref(want),
	    json_decref(data);
	json_decref(jt);
}

/* A job's vars: template < valid defaults < answers; a password answer is
 * sealed aside and "$encrypted$" in the vars. */
static void test_job_vars_seal_passwords(void **state)
{
	(void)state;
	store_key k = key_of(3);
	json_t *jt = template_with(
	    "[{\"type\":\"password\",\"question_name\":\"p\",\"variable\":\"pw\",\"required\":true}"
	    ","
	    "{\"type\":\"integer\",\"question_name\":\"n\",\"variable\":\"n\",\"required\":false,"
	    "\"default\":50,\"max\":10},{\"type\":\"text\",\"question_name\":\"t\",\"variable\":"
	    "\"t\",\"required\":false,\"default\":\"dflt\"}]",
	    false);
	json_t *tmpl = J("{\"n\":1,\"t\":\"tmpl\",\"keep\":true}");
	json_t *acc = J("{\"pw\":\"answer-secret\"}");
	json_t *pw = NULL;
	runnel_error err = {0};
	json_t *vars = survey_job_vars(jt, tmpl, acc, &k, &pw, &err);
	assert_non_null(vars);
	json_t *want = J("{\"n\":1,\"t\":\"dflt\",\"keep\":true,\"pw\":\"$encrypted$\"}");
	assert_true(json_equal(vars, want));
	char *open = survey_open(&k, json_string_value(json_object_get(pw, "pw")));
	assert_string_equal(open, "answer-secret");
	free(open);
	json_decref(vars), json_decref(want), json_decref(pw), json_decref(acc), json_decref(tmpl);
	json_decref(jt);
}

/* AWX's LabelAccess: org members read and add, org admins change. */
static void test_label_rule(void **state)
{
	(void)state;
	assert_true(survey_label_allowed("read", false, true, false));
	assert_false(survey_label_allowed("read", false, false, false));
	assert_true(survey_label_allowed("add", false, true, false));
	assert_false(survey_label_allowed("change", false, true, false));
	assert_true(survey_label_allowed("change", false, false, true));
	assert_true(survey_label_allowed("delete", true, false, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_password_default_sealed_and_kept),
	    cmocka_unit_test(test_accept_and_reject),
	    cmocka_unit_test(test_job_vars_seal_passwords),
	    cmocka_unit_test(test_label_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
