/* test_notify_model.c - notification templates' rules (service/store/
 * notify_model.c): the {{ }} subset of Jinja rendered as Jinja prints it,
 * what it cannot render refused with a message, AWX's checks of a
 * configuration per type, password fields sealed and opened, masked as
 * "$encrypted$", kept on update when given as "$encrypted$". */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "notify_model.h"

/* Render tmpl against JSON context text; the output (caller frees) or NULL
 * with err. */
static char *render(const char *tmpl, const char *ctx_text, bool strict, runnel_error *err)
{
	json_t *ctx = json_loads(ctx_text, 0, NULL);
	assert_non_null(ctx);
	char *out = NULL;
	int rc = notify_render(tmpl, ctx, strict, &out, err);
	json_decref(ctx);
	return rc == 0 ? out : NULL;
}

static void test_render_substitutions(void **state)
{
	(void)state;
	runnel_error err = {0};
	const char *ctx =
	    "{\"job\": {\"id\": 42, \"name\": \"N\", \"failed\": false, \"elapsed\": 1.5,"
	    " \"summary_fields\": {\"inventory\": {\"name\": \"Inv\"}},"
	    " \"limit\": null, \"tags\": [\"a\", \"b\"]}, \"url\": \"http://x/#/jobs/42\"}";
	char *out =
	    render("#{{ job.id }} '{{job.name}}' {{ job['name'] }} {{ url }}", ctx, true, &err);
	assert_non_null(out);
	assert_string_equal(out, "#42 'N' N http://x/#/jobs/42");
	free(out);
	out = render("{{ job.failed }} {{ job.limit }} {{ job.elapsed }} {{ job.tags.1 }}", ctx,
	             true, &err);
	assert_non_null(out);
	assert_string_equal(out, "False None 1.5 b");
	free(out);
	out = render("in {{ job.summary_fields.inventory.name }}!", ctx, true, &err);
	assert_string_equal(out, "in Inv!");
	free(out);
	/* undefined: an error when checking, nothing when sending */
	assert_null(render("{{ job.nope }}", ctx, true, &err));
	assert_string_equal(err.message, "Field 'nope' unavailable");
	out = render("[{{ job.nope.deeper }}]", ctx, false, &err);
	assert_string_equal(out, "[]");
	free(out);
}

static void test_render_refuses_what_it_cannot(void **state)
{
	(void)state;
	runnel_error err = {0};
	assert_null(render("{% for x in y %}{% endfor %}", "{}", false, &err));
	assert_int_equal(err.code, EINVAL);
	assert_non_null(strstr(err.message, "Unable to render message"));
	assert_non_null(strstr(err.message, "{%"));
	assert_null(render("{{ job.id | int }}", "{\"job\": {\"id\": 1}}", false, &err));
	assert_non_null(strstr(err.message, "'{{ job.id | int }}'"));
	assert_null(render("{# note #}", "{}", false, &err));
	assert_null(render("{{ job.id ", "{}", false, &err));
	assert_non_null(strstr(err.message, "unexpected end of template"));
	assert_null(render("{{ }}", "{}", false, &err));
	assert_null(render("{{ 1 + 2 }}", "{}", false, &err));
}

/* Prepare fields text of a template (old: stored fields text or NULL). */
static json_t *prepare(const store_key *key, const char *text, const char *old_text,
                       runnel_error *err)
{
	json_t *v = json_loads(text, 0, NULL);
	json_t *old = old_text ? json_loads(old_text, 0, NULL) : NULL;
	assert_non_null(v);
	int rc = notify_model_prepare(key, STORE_NOTIFICATION_TEMPLATE, v, old, err);
	json_decref(old);
	if (rc < 0) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static void test_configuration_checked_sealed_and_kept(void **state)
{
	(void)state;
	store_key key;
	randombytes_buf(key.k, sizeof key.k);
	runnel_error err = {0};
	assert_null(prepare(&key,
	                    "{\"notification_type\": \"email\", \"notification_configuration\":"
	                    " {\"host\": \"h\"}}",
	                    NULL, &err));
	assert_non_null(strstr(err.message,
	                       "Missing required fields for Notification Configuration: "
	                       "['port', 'username', 'password'"));
	assert_null(prepare(&key,
	                    "{\"notification_type\": \"webhook\", \"notification_configuration\":"
	                    " {\"url\": \"u\", \"headers\": {}, \"http_method\": \"DELETE\"}}",
	                    NULL, &err));
	assert_non_null(strstr(err.message, "HTTP method must be either 'POST' or 'PUT'."));
	json_t *v = prepare(&key,
	                    "{\"notification_type\": \"webhook\", \"notification_configuration\":"
	                    " {\"url\": \"u\", \"headers\": {}, \"password\": \"pw-1\"}}",
	                    NULL, &err);
	assert_non_null(v);
	json_t *conf = json_object_get(v, "notification_configuration");
	/* defaults filled; the password sealed, not in the text */
	assert_string_equal(json_string_value(json_object_get(conf, "http_method")), "POST");
	const char *sealed = json_string_value(json_object_get(conf, "password"));
	assert_true(!strncmp(sealed, NOTIFY_ENCRYPTED, strlen(NOTIFY_ENCRYPTED)));
	assert_null(strstr(sealed, "pw-1"));
	json_t *opened = notify_model_open(&key, conf, &err);
	assert_string_equal(json_string_value(json_object_get(opened, "password")), "pw-1");
	json_t *secrets = notify_model_secrets("webhook", opened);
	assert_int_equal(json_array_size(secrets), 1);
	json_decref(secrets);
	json_decref(opened);
	/* another key does not open it */
	store_key other;
	randombytes_buf(other.k, sizeof other.k);
	assert_null(notify_model_open(&other, conf, &err));
	assert_null(strstr(err.message, "pw-1"));
	/* an update giving "$encrypted$" keeps the stored value */
	char *old = json_dumps(v, 0);
	json_t *u = prepare(&key,
	                    "{\"notification_configuration\": {\"url\": \"u2\", \"headers\": {},"
	                    " \"password\": \"$encrypted$\"}}",
	                    old, &err);
	assert_non_null(u);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(u, "notification_configuration"), "password")),
	                    sealed);
	/* shown masked */
	json_t *shown = json_deep_copy(json_object_get(u, "notification_configuration"));
	notify_model_mask(shown);
	assert_string_equal(json_string_value(json_object_get(shown, "password")), "$encrypted$");
	assert_string_equal(json_string_value(json_object_get(shown, "url")), "u2");
	json_decref(shown);
	json_decref(u);
	free(old);
	json_decref(v);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_substitutions),
	    cmocka_unit_test(test_render_refuses_what_it_cannot),
	    cmocka_unit_test(test_configuration_checked_sealed_and_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
