/* test_worker_settings.c - runneld's settings kept once: the engine's
 * defaults come from config.c's table (config_engine_defaults), the settings
 * reach a worker as one JSON object (worker_settings.h) that reads back as
 * written, and a bad object is refused naming the key at fault, never
 * quoting a value (task_env may hold a password). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "engine.h"
#include "worker_settings.h"

/* A number as the table writes it. */
static double table_number(config_key k)
{
	const char *d = config_default(k);
	assert_non_null(d);
	return strtod(d, NULL);
}

/* Zero fields take the table's defaults; set ones are kept. */
static void test_engine_defaults_from_the_table(void **state)
{
	(void)state;
	runnel_error err = {0};
	engine_settings es = {.state_dir = "/x", .capacity = 3};
	assert_int_equal(config_engine_defaults(&es, &err), 0);
	assert_int_equal(es.capacity, 3);
	assert_true(es.cancel_grace_period == table_number(CFG_CANCEL_GRACE_PERIOD));
	assert_true(es.cancel_grace_period > 0);
	assert_int_equal(es.event_stall_timeout, (int)table_number(CFG_EVENT_STALL_TIMEOUT));
	assert_int_equal(es.receiver_batch, (int)table_number(CFG_RECEIVER_BATCH));
	assert_int_equal(es.receiver_flush_ms, (int)table_number(CFG_RECEIVER_FLUSH_MS));
	assert_string_equal(es.store_backend, config_default(CFG_STORE));
	assert_string_equal(es.bus_backend, "local");
	assert_string_equal(es.isolation_base_path, config_default(CFG_ISOLATION_BASE_PATH));
	assert_string_equal(es.state_dir, "/x");
}

/* runneld's own path: config_load then config_engine_settings gives the
 * same numbers as the defaults, flags win, bus splits into backend + URL. */
static void test_engine_settings_from_a_config(void **state)
{
	(void)state;
	runnel_error err = {0};
	char *argv[] = {"runneld",
	                "--state-dir",
	                "/s",
	                "--cancel-grace-period",
	                "2.5",
	                "--bus",
	                "redis://127.0.0.1:7000",
	                "--task-env",
	                "{\"A\": \"1\"}",
	                NULL};
	config cfg;
	assert_int_equal(config_load(&cfg, 9, argv, &err), 0);
	engine_settings es;
	assert_int_equal(config_engine_settings(&cfg, &es, &err), 0);
	assert_true(es.cancel_grace_period == 2.5);
	assert_string_equal(es.bus_backend, "redis");
	assert_string_equal(es.redis_url, "redis://127.0.0.1:7000");
	assert_int_equal(es.capacity, (int)table_number(CFG_CAPACITY));
	assert_string_equal(es.task_env, "{\"A\": \"1\"}");
	config_free(&cfg);

	/* a task_env that is not an object of strings: named, its value not quoted */
	char *bad[] = {"runneld", "--task-env", "[\"hunter2\"]", NULL};
	assert_int_equal(config_load(&cfg, 3, bad, &err), 0);
	assert_int_equal(config_engine_settings(&cfg, &es, &err), -1);
	assert_non_null(strstr(err.message, "task_env:"));
	assert_null(strstr(err.message, "hunter2"));
	config_free(&cfg);

	char *neg[] = {"runneld", "--capacity", "-4", NULL};
	assert_int_equal(config_load(&cfg, 3, neg, &err), 0);
	assert_int_equal(config_engine_settings(&cfg, &es, &err), -1);
	assert_non_null(strstr(err.message, "capacity:"));
	config_free(&cfg);
}

/* Written and read back: every field as it was. */
static void test_round_trip(void **state)
{
	(void)state;
	json_t *env = json_pack("{s:s,s:i}", "HTTP_PROXY", "http://u:pw@p:1", "N", 3);
	json_t *show = json_pack("[s]", "/opt/ansible");
	worker_settings in = {.store = "sqlite",
	                      .bus = "redis",
	                      .bus_socket = "/s/bus.sock",
	                      .redis_url = "redis://127.0.0.1:7000",
	                      .redis_queue = NULL,
	                      .isolation_base_path = "/tmp/iso",
	                      .projects_root = "/s/projects",
	                      .cleanup_paths = false,
	                      .job_timeout = 30,
	                      .idle_timeout = 7,
	                      .cancel_grace_period = 0.25,
	                      .event_stall_timeout = 15,
	                      .task_env = env,
	                      .job_isolation = true,
	                      .job_isolation_executable = "/usr/bin/bwrap",
	                      .job_isolation_show_paths = show,
	                      .job_isolation_hide_paths = NULL};
	char *text = worker_settings_dump(&in);
	assert_non_null(text);
	worker_settings out;
	runnel_error err = {0};
	assert_int_equal(worker_settings_load(&out, text, strlen(text), "test", &err), 0);
	assert_string_equal(out.store, "sqlite");
	assert_string_equal(out.bus, "redis");
	assert_string_equal(out.bus_socket, "/s/bus.sock");
	assert_string_equal(out.redis_url, "redis://127.0.0.1:7000");
	assert_null(out.redis_queue);
	assert_string_equal(out.isolation_base_path, "/tmp/iso");
	assert_string_equal(out.projects_root, "/s/projects");
	assert_false(out.cleanup_paths);
	assert_int_equal(out.job_timeout, 30);
	assert_int_equal(out.idle_timeout, 7);
	assert_true(out.cancel_grace_period == 0.25);
	assert_int_equal(out.event_stall_timeout, 15);
	assert_true(json_equal(out.task_env, env));
	assert_true(out.job_isolation);
	assert_string_equal(out.job_isolation_executable, "/usr/bin/bwrap");
	assert_true(json_equal(out.job_isolation_show_paths, show));
	assert_int_equal(json_array_size(out.job_isolation_hide_paths), 0);
	worker_settings_clear(&out);
	assert_null(out.store);
	free(text);
	json_decref(env);
	json_decref(show);
}

/* Load text that must be refused with a message holding want. */
static void refused(const char *text, const char *want)
{
	worker_settings ws;
	runnel_error err = {0};
	assert_int_equal(worker_settings_load(&ws, text, strlen(text), "stdin", &err), -1);
	if (!strstr(err.message, want))
		fail_msg("expected \"%s\" in \"%s\"", want, err.message);
	assert_non_null(strstr(err.message, "stdin"));
	assert_null(ws.store);
}

/* A missing key, a key of the wrong type, an unknown key, not an object. */
static void test_refused_naming_the_key(void **state)
{
	(void)state;
	worker_settings ok = {.store = "sqlite",
	                      .bus = "local",
	                      .bus_socket = "/s/bus.sock",
	                      .isolation_base_path = "/tmp",
	                      .projects_root = "/s/projects",
	                      .cancel_grace_period = 0.5,
	                      .event_stall_timeout = 120,
	                      .job_isolation_executable = "bwrap"};
	char *text = worker_settings_dump(&ok);
	json_t *o = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(o);
	json_t *m = json_deep_copy(o);
	json_object_del(m, "cancel_grace_period");
	text = json_dumps(m, 0);
	refused(text, "cancel_grace_period: worker settings (stdin): missing");
	free(text);
	json_decref(m);
	m = json_deep_copy(o);
	json_object_set_new(m, "job_timeout", json_string("30"));
	text = json_dumps(m, 0);
	refused(text, "job_timeout:");
	free(text);
	json_decref(m);
	m = json_deep_copy(o);
	json_object_set_new(m, "task_env", json_pack("{s:[s]}", "X", "secret-value-9"));
	text = json_dumps(m, 0);
	refused(text, "task_env:");
	worker_settings ws;
	runnel_error err = {0};
	assert_int_equal(worker_settings_load(&ws, text, strlen(text), "stdin", &err), -1);
	assert_null(strstr(err.message, "secret-value-9"));
	free(text);
	json_decref(m);
	m = json_deep_copy(o);
	json_object_set_new(m, "cancel_grace", json_real(1));
	text = json_dumps(m, 0);
	refused(text, "cancel_grace: worker settings (stdin): unknown key");
	free(text);
	json_decref(m);
	m = json_deep_copy(o);
	json_object_set_new(m, "job_isolation_hide_paths", json_pack("[s]", "relative/dir"));
	text = json_dumps(m, 0);
	refused(text, "job_isolation_hide_paths: worker settings (stdin): expected a list");
	free(text);
	json_decref(m);
	refused("[1,2]", "not a JSON object");
	refused("{\"store\": ", "not a JSON object");
	/* and the intact object loads */
	text = json_dumps(o, 0);
	assert_int_equal(worker_settings_load(&ws, text, strlen(text), "stdin", &err), 0);
	assert_true(ws.cancel_grace_period == 0.5);
	worker_settings_clear(&ws);
	free(text);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_engine_defaults_from_the_table),
	    cmocka_unit_test(test_engine_settings_from_a_config),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refused_naming_the_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
