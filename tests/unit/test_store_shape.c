/* test_store_shape.c - service/store/shape.c without a database: rows and a
 * fake shape_source in, AWX's shapes out (secrets hidden, summaries of fk
 * targets, counts, a unified job shown as its type, events and host
 * summaries). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inventory_plan.h"
#include "inventory_render.h"
#include "shape.h"

/* The fake backend: objects 1..9 exist (named "obj-<id>"), credential
 * types have kind "ssh", project 4 is in organization 3; counts are 10 * (what + 1) + id; job 5 has
 * host summaries (2 ok, 1 failed), other jobs none. Calls are counted. */
typedef struct fake {
	int lookups, counts, statuses, lookup_manys, status_manys;
	store_kind last_kind;
	bool asked_data;
} fake;

static bool fake_lookup(void *ctx, store_kind kind, long id, char **name, json_t **data)
{
	fake *f = ctx;
	f->lookups++;
	f->last_kind = kind;
	f->asked_data = data != NULL;
	if (id < 1 || id > 9)
		return false;
	char buf[32];
	snprintf(buf, sizeof buf, "obj-%ld", id);
	*name = strdup(buf);
	if (data)
		*data = kind == STORE_PROJECT && id == 4
		            ? json_pack("{s:s,s:i}", "kind", "ssh", "organization", 3)
		            : json_pack("{s:s}", "kind", "ssh");
	return true;
}

static long fake_count(void *ctx, shape_count what, long id)
{
	fake *f = ctx;
	f->counts++;
	return what == SHAPE_INVENTORY_SOURCES ? 0 : 10 * ((long)what + 1) + id;
}

static bool fake_status(void *ctx, long job_id, long n[SHAPE_HOST_STATUSES])
{
	fake *f = ctx;
	f->statuses++;
	if (job_id != 5)
		return false;
	memset(n, 0, sizeof(long) * SHAPE_HOST_STATUSES);
	n[SHAPE_OK] = 2;
	n[SHAPE_FAILURES] = 1;
	return true;
}

/* lookup_many over fake_lookup: one call, each ref answered as the one-by-one
 * lookup would (not counted as lookups). */
static int fake_lookup_many(void *ctx, const shape_ref *refs, size_t n, shape_found_fn found,
                            void *ud)
{
	fake *f = ctx;
	f->lookup_manys++;
	int before = f->lookups;
	for (size_t i = 0; i < n; i++) {
		char *name = NULL;
		json_t *data = NULL;
		if (fake_lookup(ctx, refs[i].kind, refs[i].id, &name, &data)) {
			char *text = json_dumps(data, JSON_COMPACT);
			found(ud, refs[i].kind, refs[i].id, name, text);
			free(text);
		}
		free(name);
		json_decref(data);
	}
	f->lookups = before;
	return 0;
}

static int fake_status_many(void *ctx, const long *ids, size_t n, shape_status_fn got, void *ud)
{
	fake *f = ctx;
	f->status_manys++;
	int before = f->statuses;
	for (size_t i = 0; i < n; i++) {
		long counts[SHAPE_HOST_STATUSES];
		if (fake_status(ctx, ids[i], counts))
			got(ud, ids[i], counts);
	}
	f->statuses = before;
	return 0;
}

static shape_source source(fake *f)
{
	memset(f, 0, sizeof *f);
	return (shape_source){
	    .ctx = f, .lookup = fake_lookup, .count = fake_count, .host_status = fake_status};
}

static json_t *shape(const shape_source *src, store_kind kind, long id, const char *data,
                     const char *secret, long events)
{
	json_t *d = json_loads(data, 0, NULL);
	assert_non_null(d);
	shape_row row = {.kind = kind,
	                 .id = id,
	                 .created = "2024-01-01T00:00:00.000000Z",
	                 .modified = "2024-01-02T00:00:00.000000Z",
	                 .name = "n",
	                 .data = d,
	                 .secret = secret,
	                 .events_stored = events};
	json_t *o = shape_object(src, &row);
	/* the row is the caller's: shaping leaves it as it was */
	json_t *again = json_loads(data, 0, NULL);
	assert_true(json_equal(d, again));
	json_decref(again);
	json_decref(d);
	return o;
}

static const char *str(const json_t *o, const char *path)
{
	/* "a.b.c": nested keys */
	char buf[128];
	snprintf(buf, sizeof buf, "%s", path);
	const json_t *v = o;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	return json_string_value(v);
}

static void test_credential_secrets_hidden(void **state)
{
	(void)state;
	fake f;
	shape_source src = source(&f);
	json_t *o = shape(&src, STORE_CREDENTIAL, 7,
	                  "{\"credential_type\": 1, \"organization\": 12, \"kind\": \"ssh\","
	                  " \"inputs\": {\"username\": \"root\"}}",
	                  "{\"password\": \"c2VhbGVk\", \"ssh_key_data\": \"c2VhbGVk\"}", 0);
	assert_string_equal(str(o, "type"), "credential");
	assert_string_equal(str(o, "url"), "/api/v2/credentials/7/");
	assert_string_equal(str(o, "name"), "n");
	assert_string_equal(str(o, "inputs.username"), "root");
	assert_string_equal(str(o, "inputs.password"), "$encrypted$");
	assert_string_equal(str(o, "inputs.ssh_key_data"), "$encrypted$");
	/* nothing of the sealed text anywhere */
	char *text = json_dumps(o, JSON_COMPACT);
	assert_null(strstr(text, "c2VhbGVk"));
	free(text);
	/* the credential type's summary carries its kind; a gone fk none */
	assert_string_equal(str(o, "summary_fields.credential_type.name"), "obj-1");
	assert_string_equal(str(o, "summary_fields.credential_type.kind"), "ssh");
	assert_string_equal(str(o, "related.credential_type"), "/api/v2/credential_types/1/");
	assert_null(json_object_get(json_object_get(o, "summary_fields"), "organization"));
	assert_null(json_object_get(json_object_get(o, "related"), "organization"));
	assert_true(json_is_integer(json_object_get(o, "organization")));
	json_decref(o);
}

static void test_users_and_tokens(void **state)
{
	(void)state;
	fake f;
	shape_source src = source(&f);
	json_t *o = shape(&src, STORE_USER, 3, "{\"username\": \"alice\"}", "$argon2id$hash", 0);
	assert_string_equal(str(o, "password"), "$encrypted$");
	assert_string_equal(str(o, "username"), "alice");
	assert_null(json_object_get(o, "name"));
	json_decref(o);
	o = shape(&src, STORE_TOKEN, 4, "{\"user\": 3, \"scope\": \"read\"}", "abcdef", 0);
	assert_string_equal(str(o, "token"), "************");
	assert_true(json_is_null(json_object_get(o, "refresh_token")));
	assert_string_equal(str(o, "summary_fields.user.name"), "obj-3");
	assert_false(f.asked_data); /* only credentials' summaries read data */
	json_decref(o);
}

static void test_inventory_counts(void **state)
{
	(void)state;
	fake f;
	shape_source src = source(&f);
	json_t *o = shape(&src, STORE_INVENTORY, 2, "{\"organization\": 1}", NULL, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "total_hosts")), 12);
	assert_int_equal(json_integer_value(json_object_get(o, "total_groups")), 22);
	assert_true(json_is_false(json_object_get(o, "has_inventory_sources")));
	assert_true(json_is_false(json_object_get(o, "pending_deletion")));
	assert_string_equal(str(o, "related.hosts"), "/api/v2/inventories/2/hosts/");
	assert_string_equal(str(o, "related.job_templates"),
	                    "/api/v2/inventories/2/job_templates/");
	assert_int_equal(f.counts, 3);
	json_decref(o);
}

static void test_unified_jobs(void **state)
{
	(void)state;
	fake f;
	shape_source src = source(&f);
	/* a project update read as a unified job shows as a project update */
	json_t *o = shape(&src, STORE_UNIFIED_JOB, 8,
	                  "{\"type\": \"project_update\", \"status\": \"running\","
	                  " \"emitted_events\": 0, \"project\": 2}",
	                  NULL, 3);
	assert_string_equal(str(o, "type"), "project_update");
	assert_string_equal(str(o, "url"), "/api/v2/project_updates/8/");
	assert_true(json_is_true(json_object_get(o, "can_cancel")));
	assert_true(json_is_false(json_object_get(o, "event_processing_finished")));
	assert_int_equal(json_integer_value(json_object_get(o, "stored_events")), 3);
	assert_string_equal(str(o, "related.events"), "/api/v2/project_updates/8/events/");
	assert_null(json_object_get(json_object_get(o, "related"), "job_events"));
	assert_null(json_object_get(o, "host_status_counts"));
	assert_int_equal(f.statuses, 0);
	json_decref(o);
	/* a finished job with all its events: finished processing, counts by status */
	o = shape(&src, STORE_JOB, 5,
	          "{\"type\": \"job\", \"status\": \"failed\", \"emitted_events\": 4,"
	          " \"inventory\": 2}",
	          NULL, 4);
	assert_true(json_is_false(json_object_get(o, "can_cancel")));
	assert_true(json_is_true(json_object_get(o, "event_processing_finished")));
	assert_string_equal(str(o, "related.job_events"), "/api/v2/jobs/5/job_events/");
	assert_string_equal(str(o, "related.job_host_summaries"),
	                    "/api/v2/jobs/5/job_host_summaries/");
	json_t *hsc = json_object_get(o, "host_status_counts");
	assert_int_equal(json_object_size(hsc), 2);
	assert_int_equal(json_integer_value(json_object_get(hsc, "ok")), 2);
	assert_int_equal(json_integer_value(json_object_get(hsc, "failures")), 1);
	json_decref(o);
	/* events still arriving: not finished */
	o = shape(&src, STORE_JOB, 6,
	          "{\"type\": \"job\", \"status\": \"successful\","
	          " \"emitted_events\": 9}",
	          NULL, 4);
	assert_true(json_is_false(json_object_get(o, "event_processing_finished")));
	assert_int_equal(json_object_size(json_object_get(o, "host_status_counts")), 0);
	json_decref(o);
}

/* Shaped through a memo, rows that name the same objects ask the source for
 * each once, and show what they show without it; an object that is gone is
 * asked for once too. */
static void test_memo(void **state)
{
	(void)state;
	fake f;
	shape_source plain = source(&f);
	static const char *const rows[] = {
	    "{\"type\": \"job\", \"status\": \"running\", \"project\": 4, \"inventory\": 2,"
	    " \"job_template\": 7, \"created_by\": 1}",
	    "{\"type\": \"job\", \"status\": \"running\", \"project\": 4, \"inventory\": 2,"
	    " \"job_template\": 7, \"created_by\": 1}",
	    "{\"type\": \"job\", \"status\": \"running\", \"project\": 4, \"inventory\": 42,"
	    " \"job_template\": 7, \"created_by\": 1}",
	};
	json_t *want[3];
	for (int i = 0; i < 3; i++)
		want[i] = shape(&plain, STORE_JOB, 10 + i, rows[i], NULL, 0);
	int plain_lookups = f.lookups;
	shape_memo memo;
	shape_source inner = source(&f);
	shape_source src = shape_memo_source(&memo, &inner);
	for (int i = 0; i < 3; i++) {
		json_t *o = shape(&src, STORE_JOB, 10 + i, rows[i], NULL, 0);
		assert_true(json_equal(o, want[i]));
		json_decref(o);
		json_decref(want[i]);
	}
	/* project 4, inventory 2, template 7, user 1, inventory 42 (gone) */
	assert_int_equal(f.lookups, 5);
	assert_int_equal(memo.n, 5);
	assert_int_equal(plain_lookups, 3 * 4); /* without the memo: each row its four */
	shape_memo_clear(&memo);
	assert_int_equal(memo.n, 0);
}

/* Prefetched: every lookup and host status of a page asked in one call
 * each, and the same shapes as one at a time; a lookup only a found object
 * leads to (the template's project's organization) is made when shaping. */
static void test_memo_prefetch(void **state)
{
	(void)state;
	fake f;
	shape_source plain = source(&f);
	static const char *const rows[] = {
	    "{\"type\": \"job\", \"status\": \"successful\", \"project\": 4,"
	    " \"inventory\": 2, \"job_template\": 7, \"created_by\": 1}",
	    "{\"type\": \"job\", \"status\": \"running\", \"project\": 4, \"inventory\": 42,"
	    " \"job_template\": 7, \"created_by\": 1}",
	};
	const long ids[] = {5, 11};
	json_t *want[3];
	for (int i = 0; i < 2; i++)
		want[i] = shape(&plain, STORE_JOB, ids[i], rows[i], NULL, 0);
	want[2] = shape(&plain, STORE_JOB_TEMPLATE, 7, "{\"project\": 4}", NULL, 0);
	shape_source inner = source(&f);
	inner.lookup_many = fake_lookup_many;
	inner.host_status_many = fake_status_many;
	shape_row r[3];
	json_t *data[3];
	for (int i = 0; i < 3; i++) {
		data[i] = json_loads(i < 2 ? rows[i] : "{\"project\": 4}", 0, NULL);
		r[i] = (shape_row){.kind = i < 2 ? STORE_JOB : STORE_JOB_TEMPLATE,
		                   .id = i < 2 ? ids[i] : 7,
		                   .created = "2024-01-01T00:00:00.000000Z",
		                   .modified = "2024-01-02T00:00:00.000000Z",
		                   .name = "n",
		                   .data = data[i]};
	}
	shape_memo memo;
	shape_source src = shape_memo_source(&memo, &inner);
	shape_memo_prefetch(&memo, r, 3);
	assert_int_equal(f.lookup_manys, 1);
	assert_int_equal(f.status_manys, 1);
	assert_int_equal(f.lookups, 0);
	for (int i = 0; i < 3; i++) {
		json_t *o = shape_object(&src, &r[i]);
		assert_true(json_equal(o, want[i]));
		json_decref(o);
		json_decref(want[i]);
		json_decref(data[i]);
	}
	/* only organization 3, which project 4's data names */
	assert_int_equal(f.lookups, 1);
	assert_int_equal(f.last_kind, STORE_ORGANIZATION);
	assert_int_equal(f.statuses, 0);
	shape_memo_clear(&memo);

	/* a source without lookup_many: prefetch asks nothing */
	shape_source one = source(&f);
	src = shape_memo_source(&memo, &one);
	shape_memo_prefetch(&memo, r, 2);
	assert_int_equal(f.lookups + f.statuses + f.lookup_manys, 0);
	shape_memo_clear(&memo);
}

/* A job template shows its project's organization (AWX's read-only
 * JobTemplate.organization), whatever its row holds. */
static void test_job_template_organization(void **state)
{
	(void)state;
	fake f;
	shape_source src = source(&f);
	json_t *o =
	    shape(&src, STORE_JOB_TEMPLATE, 7, "{\"project\": 4, \"inventory\": 2}", NULL, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "organization")), 3);
	assert_string_equal(str(o, "summary_fields.organization.name"), "obj-3");
	assert_string_equal(str(o, "related.organization"), "/api/v2/organizations/3/");
	json_decref(o);
	/* a project in no organization, a row claiming one: null, no summary */
	o = shape(&src, STORE_JOB_TEMPLATE, 7, "{\"project\": 2, \"organization\": 5}", NULL, 0);
	assert_true(json_is_null(json_object_get(o, "organization")));
	assert_null(json_object_get(json_object_get(o, "summary_fields"), "organization"));
	assert_null(json_object_get(json_object_get(o, "related"), "organization"));
	json_decref(o);
	/* no project (or one gone): null */
	o = shape(&src, STORE_JOB_TEMPLATE, 7, "{\"project\": null}", NULL, 0);
	assert_true(json_is_null(json_object_get(o, "organization")));
	json_decref(o);
	o = shape(&src, STORE_JOB_TEMPLATE, 7, "{\"project\": 42}", NULL, 0);
	assert_true(json_is_null(json_object_get(o, "organization")));
	json_decref(o);
}

static void test_events_and_summaries(void **state)
{
	(void)state;
	shape_event_row r = {.id = 31,
	                     .job_id = 8,
	                     .job_type = "project_update",
	                     .counter = 4,
	                     .event = "runner_on_failed",
	                     .event_data = "{\"res\": {\"msg\": \"boom\"}}",
	                     .failed = true,
	                     .uuid = "u4",
	                     .parent_uuid = "u3",
	                     .has_host = true,
	                     .host_id = 2,
	                     .host_name = "web1",
	                     .playbook = "p.yml",
	                     .play = "all",
	                     .role = "",
	                     .task = "t",
	                     .stdout = "fatal",
	                     .start_line = 7,
	                     .end_line = 9,
	                     .created = "c",
	                     .modified = "m",
	                     .job_created = "jc"};
	json_t *o = shape_event(&r);
	assert_string_equal(str(o, "type"), "project_update_event");
	assert_string_equal(str(o, "url"), "/api/v2/project_update_events/31/");
	assert_string_equal(str(o, "related.project_update"), "/api/v2/project_updates/8/");
	assert_string_equal(str(o, "related.host"), "/api/v2/hosts/2/");
	assert_string_equal(str(o, "summary_fields.host.name"), "web1");
	assert_int_equal(json_integer_value(json_object_get(o, "project_update")), 8);
	assert_string_equal(str(o, "event_display"), "Host Failed");
	assert_int_equal(json_integer_value(json_object_get(o, "event_level")), 3);
	assert_string_equal(str(o, "event_data.res.msg"), "boom");
	assert_true(json_is_true(json_object_get(o, "failed")));
	assert_true(json_is_false(json_object_get(o, "changed")));
	json_decref(o);
	/* a job's task start, no host */
	r.job_type = "";
	r.event = "playbook_on_task_start";
	r.has_host = false;
	r.event_data = "not json";
	o = shape_event(&r);
	assert_string_equal(str(o, "type"), "job_event");
	assert_string_equal(str(o, "related.job"), "/api/v2/jobs/8/");
	assert_int_equal(json_integer_value(json_object_get(o, "event_level")), 2);
	assert_true(json_is_null(json_object_get(o, "host")));
	assert_null(json_object_get(json_object_get(o, "related"), "host"));
	assert_int_equal(json_object_size(json_object_get(o, "event_data")), 0);
	json_decref(o);
	assert_string_equal(shape_event_display("playbook_on_play_start"), "Play Started");
	assert_string_equal(shape_event_display("custom_event"), "custom_event");

	shape_host_summary_row h = {.id = 3,
	                            .job_id = 5,
	                            .has_host = true,
	                            .host_id = 2,
	                            .host_name = "web1",
	                            .created = "c",
	                            .modified = "m",
	                            .counts = {1, 0, 2, 0, 5, 1, 0, 0},
	                            .failed = true};
	o = shape_host_summary(&h);
	assert_string_equal(str(o, "type"), "job_host_summary");
	assert_string_equal(str(o, "url"), "/api/v2/job_host_summaries/3/");
	assert_string_equal(str(o, "related.job"), "/api/v2/jobs/5/");
	assert_string_equal(str(o, "summary_fields.host.name"), "web1");
	assert_int_equal(json_integer_value(json_object_get(o, "failures")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "ok")), 5);
	assert_int_equal(json_integer_value(json_object_get(o, "changed")), 1);
	assert_true(json_is_true(json_object_get(o, "failed")));
	json_decref(o);
}

/* The rendering of an inventory from rows: groups in the order given, each
 * group's hosts and children from the edges, the groups nobody contains
 * under all, the hosts in no group under ungrouped; YAML variables kept. */
static void test_inventory_render(void **state)
{
	(void)state;
	inventory_rows r = {0};
	inventory_rows_add_group(&r, 10, "db", "{\"port\": 5432}");
	inventory_rows_add_group(&r, 11, "prod", "");
	inventory_rows_add_group(&r, 12, "web", "a: 1\n");
	inventory_rows_add_host(&r, 1, "db1", NULL);
	inventory_rows_add_host(&r, 2, "lonely", "{\"x\": true}");
	inventory_rows_add_host(&r, 3, "web1", "");
	inventory_rows_add_edge(&r, false, 10, 1);
	inventory_rows_add_edge(&r, false, 12, 3);
	inventory_rows_add_edge(&r, false, 12, 99); /* a disabled host: not shown */
	inventory_rows_add_edge(&r, true, 11, 10);
	inventory_rows_add_edge(&r, true, 11, 12);
	json_t *o = inventory_render("{\"env\": \"prod\"}", &r);
	inventory_rows_free(&r);
	json_t *want = json_loads(
	    "{\"db\": {\"hosts\": [\"db1\"], \"children\": [], \"vars\": {\"port\": 5432}},"
	    " \"prod\": {\"hosts\": [], \"children\": [\"db\", \"web\"], \"vars\": {}},"
	    " \"web\": {\"hosts\": [\"web1\"], \"children\": [], \"vars\": {\"__yaml\": \"a: "
	    "1\\n\"}},"
	    " \"ungrouped\": {\"hosts\": [\"lonely\"]},"
	    " \"all\": {\"children\": [\"prod\", \"ungrouped\"], \"vars\": {\"env\": \"prod\"}},"
	    " \"_meta\": {\"hostvars\": {\"db1\": {}, \"lonely\": {\"x\": true}, \"web1\": {}}},"
	    " \"__host_ids\": {\"db1\": 1, \"lonely\": 2, \"web1\": 3}}",
	    0, NULL);
	assert_non_null(want);
	if (!json_equal(o, want)) {
		char *got = json_dumps(o, JSON_COMPACT);
		fail_msg("rendered %s", got);
	}
	/* all's children in order: prod, then ungrouped */
	json_t *ch = json_object_get(json_object_get(o, "all"), "children");
	assert_string_equal(json_string_value(json_array_get(ch, 1)), "ungrouped");
	json_decref(want);
	json_decref(o);
	/* no groups, no hosts: all and _meta only */
	inventory_rows empty = {0};
	o = inventory_render(NULL, &empty);
	assert_int_equal(json_object_size(o), 3);
	assert_int_equal(json_array_size(json_object_get(json_object_get(o, "all"), "children")),
	                 0);
	json_decref(o);
}

/* An import read into its plan: every host named anywhere with its hostvars,
 * the groups but all/ungrouped/_meta, members known only, all's vars. */
static void test_inventory_plan(void **state)
{
	(void)state;
	json_t *data = json_loads(
	    "{\"_meta\": {\"hostvars\": {\"web1\": {\"p\": 80}, \"solo\": {}}},"
	    " \"all\": {\"children\": [\"ungrouped\", \"web\"], \"vars\": {\"env\": \"x\"}},"
	    " \"ungrouped\": {\"hosts\": [\"solo\"]},"
	    " \"web\": {\"hosts\": [\"web1\", \"web2\", 7], \"children\": [\"nosuch\", \"edge\"],"
	    "          \"vars\": {\"v\": 1}},"
	    " \"edge\": {\"hosts\": [\"web2\"]},"
	    " \"odd\": \"not a group\"}",
	    0, NULL);
	assert_non_null(data);
	inventory_plan p;
	runnel_error err = {0};
	assert_int_equal(inventory_plan_read(data, &p, &err), 0);
	/* hosts in the order first named: ungrouped's, web's, then hostvars' */
	const char *hosts[] = {"solo", "web1", "web2"};
	assert_int_equal(json_object_size(p.hosts), 3);
	size_t i = 0;
	const char *k;
	json_t *v;
	json_object_foreach(p.hosts, k, v)
		assert_string_equal(k, hosts[i++]);
	json_t *w1 = json_object_get(json_object_get(p.hosts, "web1"), "vars");
	assert_int_equal(json_integer_value(json_object_get(w1, "p")), 80);
	assert_null(json_object_get(json_object_get(p.hosts, "web2"), "vars"));
	/* groups: web and edge; web's unknown child and non-string host left out */
	assert_int_equal(json_object_size(p.groups), 2);
	json_t *web = json_object_get(p.groups, "web");
	assert_int_equal(json_array_size(json_object_get(web, "hosts")), 2);
	assert_int_equal(json_array_size(json_object_get(web, "children")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(web, "children"), 0)),
	                    "edge");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(web, "vars"), "v")), 1);
	assert_null(json_object_get(json_object_get(p.groups, "edge"), "vars"));
	assert_string_equal(json_string_value(json_object_get(p.all_vars, "env")), "x");
	inventory_plan_free(&p);
	json_decref(data);
	/* not an object: EINVAL */
	json_t *arr = json_array();
	assert_int_equal(inventory_plan_read(arr, &p, &err), -1);
	assert_int_equal(err.code, EINVAL);
	json_decref(arr);
	/* all without vars: none */
	data = json_loads("{\"all\": {\"vars\": {}}}", 0, NULL);
	assert_int_equal(inventory_plan_read(data, &p, &err), 0);
	assert_null(p.all_vars);
	assert_int_equal(json_object_size(p.hosts), 0);
	inventory_plan_free(&p);
	json_decref(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_credential_secrets_hidden),
	    cmocka_unit_test(test_users_and_tokens),
	    cmocka_unit_test(test_inventory_counts),
	    cmocka_unit_test(test_memo_prefetch),
	    cmocka_unit_test(test_unified_jobs),
	    cmocka_unit_test(test_memo),
	    cmocka_unit_test(test_job_template_organization),
	    cmocka_unit_test(test_events_and_summaries),
	    cmocka_unit_test(test_inventory_render),
	    cmocka_unit_test(test_inventory_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
