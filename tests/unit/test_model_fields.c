/* test_model_fields.c - the field tables of service/store/model.c as one
 * source of truth: what they show as choices and max_length is exactly what
 * model_validate accepts; the launch and ad hoc tables validate bodies; a
 * private key is given its last newline (AWX's build_private_data_files);
 * uniqueness rules name AWX's messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"

/* Validate text (a JSON object) as a create of kind; the result or NULL
 * with err. */
static json_t *validate(store_kind kind, const char *text, runnel_error *err)
{
	json_t *in = json_loads(text, 0, NULL);
	assert_non_null(in);
	json_t *out = NULL;
	int rc = model_validate(kind, in, 0, true, &out, err);
	json_decref(in);
	return rc == 0 ? out : NULL;
}

/* Every choice a field shows is accepted, a value outside them is refused
 * naming the field in DRF's words. */
static void test_choices_are_what_is_accepted(void **state)
{
	(void)state;
	const model_field *f = model_field_find(STORE_JOB_TEMPLATE, "job_type");
	assert_non_null(f);
	assert_non_null(f->choices);
	json_t *choices = json_loads(f->choices, 0, NULL);
	size_t i;
	json_t *c;
	json_array_foreach(choices, i, c) {
		runnel_error err = {0};
		assert_int_equal(model_check_choice(f, json_array_get(c, 0), &err), 0);
	}
	json_decref(choices);
	runnel_error err = {0};
	assert_null(validate(STORE_JOB_TEMPLATE, "{\"name\":\"t\",\"job_type\":\"scan\"}", &err));
	assert_int_equal(err.code, EINVAL);
	assert_string_equal(err.message, "job_type: \"scan\" is not a valid choice.");
	runnel_error e2 = {0};
	assert_null(validate(STORE_JOB_TEMPLATE, "{\"name\":\"t\",\"verbosity\":6}", &e2));
	assert_string_equal(e2.message, "verbosity: \"6\" is not a valid choice.");
	runnel_error e3 = {0};
	json_t *ok = validate(STORE_JOB_TEMPLATE, "{\"name\":\"t\",\"verbosity\":\"5\"}", &e3);
	assert_non_null(ok);
	assert_int_equal(json_integer_value(json_object_get(ok, "verbosity")), 5);
	json_decref(ok);
}

/* max_length counts characters, not bytes. */
static void test_max_length_in_characters(void **state)
{
	(void)state;
	char text[2048];
	/* 512 two-byte characters: at the limit */
	int n = snprintf(text, sizeof text, "{\"name\":\"");
	for (int i = 0; i < 512; i++)
		n += snprintf(text + n, sizeof text - (size_t)n, "\xc3\xa9");
	snprintf(text + n, sizeof text - (size_t)n, "\"}");
	runnel_error err = {0};
	json_t *ok = validate(STORE_ORGANIZATION, text, &err);
	assert_non_null(ok);
	json_decref(ok);
	/* one more is refused */
	snprintf(text + n, sizeof text - (size_t)n, "x\"}");
	runnel_error e2 = {0};
	assert_null(validate(STORE_ORGANIZATION, text, &e2));
	assert_string_equal(e2.message, "name: Ensure this field has no more than 512 characters.");
}

/* A private key without its last newline gets one; other inputs, a key
 * that has one, and "$encrypted$" stay as they are; the caller's body is
 * not changed. */
static void test_private_key_newline(void **state)
{
	(void)state;
	const char *key = "-----BEGIN OPENSSH PRIVATE KEY-----\\nAAAA\\n-----END OPENSSH PRIVATE "
	                  "KEY-----";
	char text[512];
	snprintf(text, sizeof text,
	         "{\"name\":\"c\",\"credential_type\":1,\"inputs\":{\"username\":\"u\","
	         "\"ssh_key_data\":\"%s\"}}",
	         key);
	json_t *in = json_loads(text, 0, NULL);
	json_t *out = NULL;
	runnel_error err = {0};
	assert_int_equal(model_validate(STORE_CREDENTIAL, in, 0, true, &out, &err), 0);
	const char *got =
	    json_string_value(json_object_get(json_object_get(out, "inputs"), "ssh_key_data"));
	assert_non_null(got);
	assert_int_equal(got[strlen(got) - 1], '\n');
	assert_int_equal(strncmp(got, "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n", 41), 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(out, "inputs"), "username")), "u");
	/* the borrowed body is untouched */
	const char *orig =
	    json_string_value(json_object_get(json_object_get(in, "inputs"), "ssh_key_data"));
	assert_int_not_equal(orig[strlen(orig) - 1], '\n');
	json_decref(out);
	json_decref(in);
	runnel_error e2 = {0};
	json_t *keep =
	    validate(STORE_CREDENTIAL,
	             "{\"name\":\"c\",\"credential_type\":1,\"inputs\":{\"ssh_key_data\":"
	             "\"$encrypted$\"}}",
	             &e2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(keep, "inputs"), "ssh_key_data")),
	    "$encrypted$");
	json_decref(keep);
}

/* The ad hoc table: module_args may be left out; unknown fields and bad
 * choices are refused. */
static void test_ad_hoc_table(void **state)
{
	(void)state;
	json_t *in = json_pack("{s:i,s:s}", "inventory", 1, "module_name", "ping");
	json_t *out = NULL;
	runnel_error err = {0};
	assert_int_equal(model_validate_table(model_ad_hoc_fields(), STORE_AD_HOC_COMMAND, in, 0,
	                                      false, &out, &err),
	                 0);
	assert_null(json_object_get(out, "module_args"));
	json_decref(out);
	json_decref(in);
	in = json_pack("{s:i,s:s}", "inventory", 1, "module_name", "rm_rf");
	runnel_error e2 = {0};
	assert_int_equal(model_validate_table(model_ad_hoc_fields(), STORE_AD_HOC_COMMAND, in, 0,
	                                      false, &out, &e2),
	                 -1);
	assert_string_equal(e2.message, "module_name: \"rm_rf\" is not a valid choice.");
	json_decref(in);
	in = json_pack("{s:i,s:i}", "inventory", 1, "playbook", 1);
	runnel_error e3 = {0};
	assert_int_equal(model_validate_table(model_ad_hoc_fields(), STORE_AD_HOC_COMMAND, in, 0,
	                                      false, &out, &e3),
	                 -1);
	assert_string_equal(e3.message, "playbook: Unknown field.");
	json_decref(in);
}

/* The uniqueness rules are AWX's. */
static void test_unique_rules(void **state)
{
	(void)state;
	const model_unique *u = model_unique_rule(STORE_INVENTORY);
	assert_non_null(u);
	assert_string_equal(u->fields[0], "name");
	assert_string_equal(u->fields[1], "organization");
	assert_true(u->null_distinct);
	u = model_unique_rule(STORE_JOB_TEMPLATE);
	assert_non_null(u);
	assert_string_equal(u->fields[1], "project.organization");
	assert_false(u->null_distinct);
	assert_null(model_unique_rule(STORE_USER)); /* the store's own unique index */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_choices_are_what_is_accepted),
	    cmocka_unit_test(test_max_length_in_characters),
	    cmocka_unit_test(test_private_key_newline),
	    cmocka_unit_test(test_ad_hoc_table),
	    cmocka_unit_test(test_unique_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
