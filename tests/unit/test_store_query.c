/* test_store_query.c - the list grammar of service/store/query.c: every
 * lookup parsed into its neutral form with its value typed by the field,
 * what is refused (unknown field, bad value, bad lookup, bad order) with
 * the message the API answers, the order list and the page; then the same
 * grammar through the SQLite backend (regex, not__, in, isnull). */
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

#include "query.h"

/* Parse filters (JSON text) and order for target/kind; the rc. */
static int parse(query_target t, store_kind kind, const char *filters, const char *order,
                 query *out, runnel_error *err)
{
	store_query q = {.filters = filters ? json_loads(filters, 0, NULL) : NULL,
	                 .order_by = order};
	if (filters)
		assert_non_null(q.filters);
	memset(err, 0, sizeof *err);
	int rc = query_parse(t, kind, &q, out, err);
	json_decref(q.filters);
	return rc;
}

/* The one condition of a single-key filter on kind. */
static query_cond one(store_kind kind, const char *filters, query *qy)
{
	runnel_error err;
	if (parse(QUERY_OBJECTS, kind, filters, NULL, qy, &err) < 0)
		fail_msg("%s: %s", filters, err.message);
	assert_int_equal(qy->nconds, 1);
	return qy->conds[0];
}

/* The message of a refused filter (EINVAL). */
static void refused(query_target t, store_kind kind, const char *filters, const char *order,
                    const char *message)
{
	query qy;
	runnel_error err;
	assert_int_equal(parse(t, kind, filters, order, &qy, &err), -1);
	assert_int_equal(err.code, EINVAL);
	if (strcmp(err.message, message))
		fail_msg("%s / %s: \"%s\", not \"%s\"", filters ? filters : "-",
		         order ? order : "-", err.message, message);
	assert_int_equal(qy.nconds, 0);
	assert_null(qy.conds);
}

static void test_every_lookup(void **state)
{
	(void)state;
	static const struct {
		const char *suffix;
		query_lookup l;
	} cases[] = {
	    {"", QL_EXACT},
	    {"__exact", QL_EXACT},
	    {"__iexact", QL_IEXACT},
	    {"__contains", QL_CONTAINS},
	    {"__icontains", QL_ICONTAINS},
	    {"__startswith", QL_STARTSWITH},
	    {"__istartswith", QL_ISTARTSWITH},
	    {"__endswith", QL_ENDSWITH},
	    {"__iendswith", QL_IENDSWITH},
	    {"__gt", QL_GT},
	    {"__gte", QL_GTE},
	    {"__lt", QL_LT},
	    {"__lte", QL_LTE},
	    {"__regex", QL_REGEX},
	    {"__iregex", QL_IREGEX},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char js[128];
		snprintf(js, sizeof js, "{\"name%s\": \"web\"}", cases[i].suffix);
		query qy;
		query_cond c = one(STORE_HOST, js, &qy);
		assert_string_equal(c.field.name, "name");
		assert_int_equal(c.field.cls, QF_COLUMN);
		assert_int_equal(c.lookup, cases[i].l);
		assert_false(c.negated);
		assert_string_equal(json_string_value(c.value), "web");
		assert_string_equal(query_lookup_name(c.lookup),
		                    *cases[i].suffix ? cases[i].suffix + 2 : "exact");
		query_clear(&qy);
	}
}

static void test_values_typed_by_field(void **state)
{
	(void)state;
	query qy;
	/* an integer column from a query string */
	query_cond c = one(STORE_HOST, "{\"id__gt\": \"7\"}", &qy);
	assert_int_equal(c.field.type, MT_INT);
	assert_true(json_is_integer(c.value));
	assert_int_equal(json_integer_value(c.value), 7);
	query_clear(&qy);
	/* an fk kept with the object's data: "null" is null */
	c = one(STORE_HOST, "{\"inventory\": \"null\"}", &qy);
	assert_int_equal(c.field.type, MT_FK);
	assert_int_equal(c.field.cls, QF_DATA);
	assert_true(json_is_null(c.value));
	query_clear(&qy);
	/* booleans from their spellings */
	const char *trues[] = {"\"true\"", "\"True\"", "\"1\"", "true", "1"};
	for (size_t i = 0; i < sizeof trues / sizeof trues[0]; i++) {
		char js[64];
		snprintf(js, sizeof js, "{\"enabled\": %s}", trues[i]);
		c = one(STORE_HOST, js, &qy);
		assert_int_equal(c.field.type, MT_BOOL);
		assert_true(json_is_true(c.value));
		query_clear(&qy);
	}
	c = one(STORE_HOST, "{\"enabled\": \"false\"}", &qy);
	assert_true(json_is_false(c.value));
	query_clear(&qy);
	/* __in: a comma list or an array, each item typed */
	c = one(STORE_HOST, "{\"id__in\": \"1,2,3\"}", &qy);
	assert_int_equal(c.lookup, QL_IN);
	assert_int_equal(json_array_size(c.value), 3);
	assert_int_equal(json_integer_value(json_array_get(c.value, 2)), 3);
	query_clear(&qy);
	c = one(STORE_JOB, "{\"status__in\": [\"failed\", \"error\"]}", &qy);
	assert_int_equal(json_array_size(c.value), 2);
	assert_string_equal(json_string_value(json_array_get(c.value, 1)), "error");
	assert_int_equal(c.field.cls, QF_COLUMN);
	query_clear(&qy);
	c = one(STORE_HOST, "{\"id__in\": []}", &qy);
	assert_int_equal(json_array_size(c.value), 0);
	query_clear(&qy);
	/* __isnull: true or false */
	c = one(STORE_JOB, "{\"unified_job_template__isnull\": \"True\"}", &qy);
	assert_int_equal(c.lookup, QL_ISNULL);
	assert_true(json_is_true(c.value));
	query_clear(&qy);
	/* a string field takes an integer as its text */
	c = one(STORE_HOST, "{\"description\": 5}", &qy);
	assert_string_equal(json_string_value(c.value), "5");
	query_clear(&qy);
	/* a float */
	c = one(STORE_JOB, "{\"elapsed__gte\": \"1.5\"}", &qy);
	assert_int_equal(c.field.type, MT_FLOAT);
	assert_true(json_is_real(c.value));
	query_clear(&qy);
}

static void test_search_and_not(void **state)
{
	(void)state;
	query qy;
	runnel_error err;
	/* AWX's search fields of an organization: name, description; ORed */
	assert_int_equal(
	    parse(QUERY_OBJECTS, STORE_ORGANIZATION, "{\"search\": \"de\"}", NULL, &qy, &err), 0);
	assert_int_equal(qy.nconds, 2);
	assert_string_equal(qy.conds[0].field.name, "name");
	assert_string_equal(qy.conds[1].field.name, "description");
	assert_int_equal(qy.conds[0].lookup, QL_ICONTAINS);
	assert_true(qy.conds[0].group > 0);
	assert_int_equal(qy.conds[0].group, qy.conds[1].group);
	query_clear(&qy);
	/* two terms: two groups (each term somewhere) */
	assert_int_equal(
	    parse(QUERY_OBJECTS, STORE_USER, "{\"search\": \"al, bo\"}", NULL, &qy, &err), 0);
	assert_int_equal(qy.nconds, 8); /* username, first_name, last_name, email */
	assert_int_not_equal(qy.conds[0].group, qy.conds[qy.nconds - 1].group);
	query_clear(&qy);
	assert_int_equal(parse(QUERY_EVENTS, STORE_JOB, "{\"search\": \"RECAP\"}", NULL, &qy, &err),
	                 0);
	assert_string_equal(qy.conds[0].field.name, "stdout");
	query_clear(&qy);
	/* host summaries search their host_name (BaseJobHostSummariesList) */
	assert_int_equal(
	    parse(QUERY_HOST_SUMMARIES, STORE_JOB, "{\"search\": \"web\"}", NULL, &qy, &err), 0);
	assert_int_equal(qy.nconds, 1);
	assert_string_equal(qy.conds[0].field.name, "host_name");
	query_clear(&qy);
	query_cond c;
	c = one(STORE_HOST, "{\"not__name__startswith\": \"db\"}", &qy);
	assert_true(c.negated);
	assert_int_equal(c.lookup, QL_STARTSWITH);
	assert_string_equal(c.field.name, "name");
	query_clear(&qy);
	c = one(STORE_USER, "{\"not__username\": \"admin\"}", &qy);
	assert_true(c.negated);
	assert_int_equal(c.lookup, QL_EXACT);
	query_clear(&qy);
}

/* A filter refused with AWX's code (EACCES: 403) and message. */
static void forbidden(store_kind kind, const char *filters, const char *message)
{
	query qy;
	runnel_error err;
	assert_int_equal(parse(QUERY_OBJECTS, kind, filters, NULL, &qy, &err), -1);
	assert_int_equal(err.code, EACCES);
	assert_string_equal(err.message, message);
}

static void test_refusals(void **state)
{
	(void)state;
	/* AWX's messages (awx/api/filters.py, Django's FieldDoesNotExist) */
	refused(QUERY_OBJECTS, STORE_HOST, "{\"nosuch\": 1}", NULL,
	        "Host has no field named 'nosuch'");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"name__nosuch\": \"x\"}", NULL,
	        "No related model for field nosuch.");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"id\": \"abc\"}", NULL,
	        "[\"\u201cabc\u201d value must be an integer.\"]");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"id__in\": \"1,x\"}", NULL,
	        "[\"\u201cx\u201d value must be an integer.\"]");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"id__in\": \"\"}", NULL,
	        "cannot provide empty value for __in");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"inventory\": \"abc\"}", NULL,
	        "Invalid inventory id: abc");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"id__isnull\": \"maybe\"}", NULL,
	        "Unable to convert \"maybe\" to boolean");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"enabled\": \"yes please\"}", NULL,
	        "Unable to convert \"yes please\" to boolean");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"id__iexact\": \"1\"}", NULL,
	        "id is not a text field and cannot be filtered by case-insensitive search");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"__exact\": \"1\"}", NULL,
	        "Query string field name not provided.");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"n\u00e4me\": \"1\"}", NULL,
	        "'n\u00e4me' is not an allowed field name. Must be ascii encodable.");
	refused(QUERY_OBJECTS, STORE_GROUP, "{\"children__children__name\": \"x\"}", NULL,
	        "Loops not allowed in filters, detected on field children.");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"name__search\": \"x\"}", NULL,
	        "name is not searchable");
	query qy;
	runnel_error err;
	assert_int_equal(
	    parse(QUERY_OBJECTS, STORE_HOST, "{\"name__regex\": \"(\"}", NULL, &qy, &err), -1);
	assert_non_null(strstr(err.message, "parenthesis"));
	/* a secret is never filtered on: 403 */
	forbidden(STORE_USER, "{\"password__startswith\": \"$\"}",
	          "Filtering on password is not allowed.");
	forbidden(STORE_CREDENTIAL, "{\"inputs__icontains\": \"secret\"}",
	          "Filtering on password fields is not allowed.");
	forbidden(STORE_JOB, "{\"job_env__icontains\": \"KEY\"}",
	          "Filtering on job_env is not allowed.");
	forbidden(STORE_HOST, "{\"last_job__extra_vars__icontains\": \"pw\"}",
	          "Filtering on extra_vars is not allowed.");
	/* job columns are not other kinds' */
	refused(QUERY_OBJECTS, STORE_ORGANIZATION, "{\"status\": \"x\"}", NULL,
	        "Organization has no field named 'status'");
	/* events have no name; summaries no stdout */
	refused(QUERY_EVENTS, STORE_JOB, "{\"name\": \"x\"}", NULL,
	        "JobEvent has no field named 'name'");
	refused(QUERY_HOST_SUMMARIES, STORE_JOB, "{\"stdout\": \"x\"}", NULL,
	        "JobHostSummary has no field named 'stdout'");
	refused(QUERY_EVENTS, STORE_JOB, "{\"failed\": \"sometimes\"}", NULL,
	        "Unable to convert \"sometimes\" to boolean");
	/* order_by */
	refused(QUERY_OBJECTS, STORE_HOST, NULL, "name,-nosuch",
	        "Host has no field named 'nosuch'");
	refused(QUERY_OBJECTS, STORE_HOST, NULL, "-", "Host has no field named ''");
	refused(QUERY_OBJECTS, STORE_HOST, NULL, "name,", "Host has no field named ''");
	refused(QUERY_OBJECTS, STORE_HOST, NULL, "name__icontains",
	        "No related model for field icontains.");
	refused(QUERY_OBJECTS, STORE_HOST, NULL, "groups__name",
	        "Cannot order by groups__name: it is not a field of one related object.");
	refused(QUERY_HOST_SUMMARIES, STORE_JOB, NULL, "counter",
	        "JobHostSummary has no field named 'counter'");
}

static void test_order_and_page(void **state)
{
	(void)state;
	query qy;
	runnel_error err;
	assert_int_equal(parse(QUERY_OBJECTS, STORE_JOB, NULL, "status,-created", &qy, &err), 0);
	assert_int_equal(qy.norder, 2);
	assert_string_equal(qy.order[0].field.name, "status");
	assert_false(qy.order[0].descending);
	assert_string_equal(qy.order[1].field.name, "created");
	assert_true(qy.order[1].descending);
	assert_int_equal(qy.limit, 25);
	assert_int_equal(qy.offset, 0);
	query_clear(&qy);
	/* defaults: id; events by counter; summaries by host_name */
	const struct {
		query_target t;
		const char *order, *first;
	} defs[] = {{QUERY_OBJECTS, NULL, "id"},
	            {QUERY_EVENTS, "", "counter"},
	            {QUERY_HOST_SUMMARIES, NULL, "host_name"},
	            {QUERY_EVENTS, "-failed", "failed"}};
	for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
		assert_int_equal(parse(defs[i].t, STORE_JOB, NULL, defs[i].order, &qy, &err), 0);
		assert_int_equal(qy.norder, 1);
		assert_string_equal(qy.order[0].field.name, defs[i].first);
		query_clear(&qy);
	}
	/* pages: 1-based, size 25 by default, at most 200, a huge page past the end */
	store_query q = {.page = 3, .page_size = 10};
	assert_int_equal(query_parse(QUERY_OBJECTS, STORE_HOST, &q, &qy, &err), 0);
	assert_int_equal(qy.limit, 10);
	assert_int_equal(qy.offset, 20);
	query_clear(&qy);
	q = (store_query){.page = LONG_MAX, .page_size = 1000};
	assert_int_equal(query_parse(QUERY_OBJECTS, STORE_HOST, &q, &qy, &err), 0);
	assert_int_equal(qy.limit, 200);
	assert_int_equal(qy.offset, LONG_MAX);
	query_clear(&qy);
	assert_int_equal(query_parse(QUERY_OBJECTS, STORE_HOST, NULL, &qy, &err), 0);
	assert_int_equal(qy.nconds, 0);
	assert_int_equal(qy.limit, 25);
	query_clear(&qy);
	query_clear(&qy); /* twice is harmless */
}

/* A dialect for the order SQL alone: a field is its name; "counter" is a
 * column that holds no NULL. */
static char *name_column(const query *qy, bool top, const query_field *f, bool as_text,
                         const char *qual)
{
	(void)qy, (void)top, (void)as_text, (void)qual;
	return strdup(f->name);
}

static bool counter_not_null(const query *qy, const query_field *f)
{
	(void)qy;
	return !strcmp(f->name, "counter");
}

/* PostgreSQL's NULLS FIRST/LAST (SQLite's place for NULLs) only where a NULL
 * can be: by a NOT NULL column the order must match an index's, or a page
 * of one event sorts the job's every event. */
static void test_order_nulls(void **state)
{
	(void)state;
	query qy;
	runnel_error err;
	assert_int_equal(parse(QUERY_EVENTS, STORE_JOB, NULL, "-counter,host,-host", &qy, &err), 0);
	query_dialect d = {name_column, NULL, NULL, "false", NULL, counter_not_null};
	char *sql = query_order_sql(&qy, &d, NULL, "id", true);
	assert_string_equal(sql,
	                    " ORDER BY counter DESC, host NULLS FIRST, host DESC NULLS LAST, id");
	free(sql);
	sql = query_order_sql(&qy, &d, NULL, "id", false); /* SQLite */
	assert_string_equal(sql, " ORDER BY counter DESC, host, host DESC, id");
	free(sql);
	d.not_null = NULL; /* nothing known: every column may hold NULL */
	sql = query_order_sql(&qy, &d, NULL, "id", true);
	assert_string_equal(
	    sql, " ORDER BY counter DESC NULLS LAST, host NULLS FIRST, host DESC NULLS LAST, id");
	free(sql);
	query_clear(&qy);
}

/* Filters through foreign keys: "inventory__organization__name__icontains"
 * is two hops and a lookup; an fk's own lookups are not hops. */
static void test_through_foreign_keys(void **state)
{
	(void)state;
	query qy;
	query_cond c = one(STORE_HOST, "{\"inventory__organization\": \"3\"}", &qy);
	assert_int_equal(c.nvia, 1);
	assert_string_equal(c.via[0].fk.name, "inventory");
	assert_int_equal(c.via[0].to, STORE_INVENTORY);
	assert_string_equal(c.field.name, "organization");
	assert_int_equal(c.field.type, MT_FK);
	assert_int_equal(c.lookup, QL_EXACT);
	assert_int_equal(json_integer_value(c.value), 3);
	query_clear(&qy);
	c = one(STORE_HOST, "{\"not__inventory__organization__name__icontains\": \"De\"}", &qy);
	assert_int_equal(c.nvia, 2);
	assert_true(c.negated);
	assert_int_equal(c.via[1].to, STORE_ORGANIZATION);
	assert_string_equal(c.field.name, "name");
	assert_int_equal(c.lookup, QL_ICONTAINS);
	query_clear(&qy);
	c = one(STORE_HOST, "{\"inventory__in\": \"1,2\"}", &qy);
	assert_int_equal(c.nvia, 0);
	assert_int_equal(c.lookup, QL_IN);
	query_clear(&qy);
	c = one(STORE_HOST, "{\"last_job__status\": \"failed\"}", &qy);
	assert_int_equal(c.nvia, 1);
	assert_int_equal(c.via[0].to, STORE_JOB);
	query_clear(&qy);
	refused(QUERY_OBJECTS, STORE_HOST, "{\"inventory__nosuch\": 1}", NULL,
	        "Inventory has no field named 'nosuch'");
	refused(QUERY_OBJECTS, STORE_HOST, "{\"inventory__organization__name__nolookup\": 1}", NULL,
	        "No related model for field nolookup.");
	/* a secret is no field at the end of a path either */
	forbidden(STORE_TOKEN, "{\"user__password\": \"x\"}",
	          "Filtering on password is not allowed.");
}

/* ---- the same grammar through the SQLite backend ---- */

typedef struct fixture {
	char dir[64];
	store *st;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_store_query_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	store_settings ss = {.state_dir = f->dir};
	runnel_error err = {0};
	f->st = store_open(&ss, &err);
	if (!f->st)
		fail_msg("open: %s", err.message);
	const char *names[] = {"Web-1", "web-2", "db-1", "cache"};
	for (size_t i = 0; i < 4; i++) {
		json_t *in =
		    json_pack("{s:s,s:s}", "name", names[i], "description", i == 3 ? "" : "app");
		json_t *o = store_create(f->st, STORE_ORGANIZATION, in, 0, &err);
		json_decref(in);
		if (!o)
			fail_msg("create: %s", err.message);
		json_decref(o);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	store_close(f->st);
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

/* The names a list of organizations gives for filters, comma-joined, in order. */
static char *names(fixture *f, const char *filters, const char *order)
{
	store_query q = {.filters = json_loads(filters, 0, NULL), .order_by = order};
	store_page pg = {0};
	runnel_error err = {0};
	int rc = store_list(f->st, STORE_ORGANIZATION, &q, &pg, &err);
	json_decref(q.filters);
	if (rc < 0)
		fail_msg("%s: %s", filters, err.message);
	rn_buf b;
	rn_buf_init(&b);
	size_t i;
	json_t *o;
	json_array_foreach(pg.results, i, o) {
		if (i)
			rn_buf_appendc(&b, ',');
		const char *n = json_string_value(json_object_get(o, "name"));
		rn_buf_append(&b, n, strlen(n));
	}
	store_page_clear(&pg);
	char *s = rn_xstrdup(b.len ? b.data : "");
	rn_buf_free(&b);
	return s;
}

static void expect(fixture *f, const char *filters, const char *order, const char *want)
{
	char *got = names(f, filters, order);
	if (strcmp(got, want))
		fail_msg("%s order %s: \"%s\", not \"%s\"", filters, order ? order : "-", got,
		         want);
	free(got);
}

static void test_sqlite_lookups(void **state)
{
	fixture *f = *state;
	expect(f, "{\"name__regex\": \"^[a-z]+-[0-9]$\"}", "name", "db-1,web-2");
	expect(f, "{\"name__iregex\": \"^WEB\"}", "name", "Web-1,web-2");
	expect(f, "{\"not__name__icontains\": \"web\"}", "name", "cache,db-1");
	expect(f, "{\"not__description\": \"app\"}", NULL, "cache");
	expect(f, "{\"name__in\": \"cache,db-1,nosuch\"}", "-name", "db-1,cache");
	expect(f, "{\"name__in\": []}", NULL, "");
	expect(f, "{\"name__iexact\": \"WEB-2\"}", NULL, "web-2");
	expect(f, "{\"name__contains\": \"eb\"}", "-id", "web-2,Web-1");
	expect(f, "{\"name__endswith\": \"-1\"}", "name", "Web-1,db-1");
	expect(f, "{\"id__gt\": \"2\", \"id__lte\": 3}", NULL, "db-1");
	expect(f, "{\"search\": \"CACH\"}", NULL, "cache");
	expect(f, "{\"description__isnull\": false}", "name", "Web-1,cache,db-1,web-2");
	expect(f, "{}", "description,-name", "cache,web-2,db-1,Web-1");
}

/* Hosts filtered by their inventory's organization's name. */
static void test_sqlite_foreign_keys(void **state)
{
	fixture *f = *state;
	runnel_error err = {0};
	/* organizations 1 (Web-1) and 3 (db-1) get an inventory each, with a host */
	const long orgs[] = {1, 3};
	for (int i = 0; i < 2; i++) {
		json_t *in = json_pack("{s:s,s:I}", "name", i ? "inv-db" : "inv-web",
		                       "organization", (json_int_t)orgs[i]);
		json_t *inv = store_create(f->st, STORE_INVENTORY, in, 0, &err);
		json_decref(in);
		if (!inv)
			fail_msg("inventory: %s", err.message);
		in = json_pack("{s:s,s:O}", "name", i ? "h-db" : "h-web", "inventory",
		               json_object_get(inv, "id"));
		json_t *h = store_create(f->st, STORE_HOST, in, 0, &err);
		json_decref(in);
		if (!h)
			fail_msg("host: %s", err.message);
		json_decref(h);
		json_decref(inv);
	}
	const struct {
		const char *filters, *want;
	} cases[] = {
	    {"{\"inventory__organization__name__istartswith\": \"web\"}", "h-web"},
	    {"{\"inventory__organization\": 3}", "h-db"},
	    {"{\"not__inventory__name\": \"inv-web\"}", "h-db"},
	    {"{\"inventory__organization__name__regex\": \"^[a-z]\"}", "h-db"},
	    {"{\"inventory__organization__name\": \"cache\"}", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		store_query q = {.filters = json_loads(cases[i].filters, 0, NULL)};
		store_page pg = {0};
		int rc = store_list(f->st, STORE_HOST, &q, &pg, &err);
		json_decref(q.filters);
		if (rc < 0)
			fail_msg("%s: %s", cases[i].filters, err.message);
		const char *got =
		    pg.count == 1
		        ? json_string_value(json_object_get(json_array_get(pg.results, 0), "name"))
		        : "";
		if (pg.count > 1 || strcmp(got, cases[i].want))
			fail_msg("%s: %ld hosts, \"%s\", not \"%s\"", cases[i].filters, pg.count,
			         got, cases[i].want);
		store_page_clear(&pg);
	}
}

/* ---- AWX's query string (store_query.args) through the SQLite backend ---- */

/* Create an object of kind from JSON text; its id. */
static long mk(fixture *f, store_kind kind, const char *js)
{
	runnel_error err = {0};
	json_t *in = json_loads(js, 0, NULL);
	assert_non_null(in);
	json_t *o = store_create(f->st, kind, in, 0, &err);
	json_decref(in);
	if (!o)
		fail_msg("create %s: %s", js, err.message);
	long id = (long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	return id;
}

/* A narrowing hook as RBAC adds one: only ids 1 and 3 are visible. */
static int only_1_3(query *qy, void *ctx, runnel_error *err)
{
	(void)ctx;
	json_t *v = json_string("1,3");
	int rc = query_add_filter(qy, "id__in", v, err);
	json_decref(v);
	return rc;
}

/* The names a list of kind gives for a query string ([[k, v], ...] as
 * JSON), comma-joined in order; hook: a visibility hook or NULL. */
static char *arg_names(fixture *f, store_kind kind, const char *args, const char *order,
                       int (*hook)(query *, void *, runnel_error *), runnel_error *err)
{
	store_query q = {.args = json_loads(args, 0, NULL), .order_by = order, .visibility = hook};
	assert_non_null(q.args);
	store_page pg = {0};
	memset(err, 0, sizeof *err);
	int rc = store_list(f->st, kind, &q, &pg, err);
	json_decref(q.args);
	if (rc < 0)
		return NULL;
	rn_buf b;
	rn_buf_init(&b);
	size_t i;
	json_t *o;
	json_array_foreach(pg.results, i, o) {
		if (i)
			rn_buf_appendc(&b, ',');
		const char *n = json_string_value(json_object_get(o, "name"));
		rn_buf_append(&b, n, strlen(n));
	}
	store_page_clear(&pg);
	char *s = rn_xstrdup(b.len ? b.data : "");
	rn_buf_free(&b);
	return s;
}

static void expect_args(fixture *f, store_kind kind, const char *args, const char *order,
                        const char *want)
{
	runnel_error err;
	char *got = arg_names(f, kind, args, order, NULL, &err);
	if (!got)
		fail_msg("%s: %s", args, err.message);
	if (strcmp(got, want))
		fail_msg("%s order %s: \"%s\", not \"%s\"", args, order ? order : "-", got, want);
	free(got);
}

static void test_sqlite_query_string(void **state)
{
	fixture *f = *state;
	runnel_error err = {0};
	long inv = mk(f, STORE_INVENTORY, "{\"name\": \"inv\", \"organization\": 2}");
	long inv2 = mk(f, STORE_INVENTORY, "{\"name\": \"other\", \"organization\": 1}");
	char js[160];
	long h[3];
	const char *hn[] = {"alpha", "beta", "gamma"};
	for (int i = 0; i < 3; i++) {
		snprintf(js, sizeof js, "{\"name\": \"%s\", \"inventory\": %ld}", hn[i],
		         i == 2 ? inv2 : inv);
		h[i] = mk(f, STORE_HOST, js);
	}
	snprintf(js, sizeof js, "{\"name\": \"ga\", \"inventory\": %ld}", inv);
	long ga = mk(f, STORE_GROUP, js);
	snprintf(js, sizeof js, "{\"name\": \"gb\", \"inventory\": %ld}", inv);
	long gb = mk(f, STORE_GROUP, js);
	/* alpha in ga and gb; beta in ga only; gamma in none */
	assert_int_equal(store_associate(f->st, STORE_REL_GROUP_HOSTS, ga, h[0], &err), 0);
	assert_int_equal(store_associate(f->st, STORE_REL_GROUP_HOSTS, gb, h[0], &err), 0);
	assert_int_equal(store_associate(f->st, STORE_REL_GROUP_HOSTS, ga, h[1], &err), 0);

	/* or__: any of them; repeated keys are all kept */
	expect_args(f, STORE_HOST, "[[\"or__name\", \"alpha\"], [\"or__name\", \"gamma\"]]", "name",
	            "alpha,gamma");
	/* or__ ANDed with a plain filter */
	expect_args(
	    f, STORE_HOST,
	    "[[\"or__name\", \"alpha\"], [\"or__name\", \"gamma\"], [\"inventory\", \"1\"]]", NULL,
	    "alpha");
	/* or__not__ */
	expect_args(f, STORE_HOST, "[[\"or__not__name\", \"alpha\"], [\"or__name\", \"alpha\"]]",
	            "name", "alpha,beta,gamma");
	/* a multi-valued relation: one group must be both (none), chain__: each may be another */
	expect_args(f, STORE_HOST, "[[\"groups__name\", \"ga\"], [\"groups__name\", \"gb\"]]", NULL,
	            "");
	expect_args(f, STORE_HOST,
	            "[[\"chain__groups__name\", \"ga\"], [\"chain__groups__name\", \"gb\"]]", NULL,
	            "alpha");
	expect_args(f, STORE_HOST, "[[\"groups__name__startswith\", \"g\"]]", "-name",
	            "beta,alpha");
	/* not__ through a relation: no group named ga (gamma has none at all) */
	expect_args(f, STORE_HOST, "[[\"not__groups__name\", \"ga\"]]", NULL, "gamma");
	/* a relation's ids, and the relation the other way */
	snprintf(js, sizeof js, "[[\"groups\", \"%ld\"]]", gb);
	expect_args(f, STORE_HOST, js, NULL, "alpha");
	expect_args(f, STORE_GROUP, "[[\"hosts__name\", \"beta\"]]", NULL, "ga");
	expect_args(f, STORE_GROUP, "[[\"hosts__isnull\", \"true\"]]", NULL, "");
	/* the reverse of a foreign key: inventories with a host named gamma */
	expect_args(f, STORE_INVENTORY, "[[\"hosts__name\", \"gamma\"]]", NULL, "other");
	expect_args(f, STORE_ORGANIZATION, "[[\"inventories__hosts__name__in\", \"alpha,gamma\"]]",
	            "name", "Web-1,web-2");
	/* search: each term in name or description */
	expect_args(f, STORE_ORGANIZATION, "[[\"search\", \"app web\"]]", "id", "Web-1,web-2");
	expect_args(f, STORE_ORGANIZATION, "[[\"search\", \"app,db\"]]", NULL, "db-1");
	/* <relation>__search: the related objects' names; a comma: every term */
	expect_args(f, STORE_HOST, "[[\"inventory__search\", \"oth\"]]", NULL, "gamma");
	expect_args(f, STORE_HOST, "[[\"groups__search\", \"gb\"]]", NULL, "alpha");
	expect_args(f, STORE_HOST, "[[\"groups__search\", \"ga,gb\"]]", NULL, "alpha");
	/* type: the list's own type, or nothing */
	expect_args(f, STORE_HOST, "[[\"type\", \"group,host\"]]", "name", "alpha,beta,gamma");
	expect_args(f, STORE_HOST, "[[\"type\", \"group\"]]", NULL, "");
	/* reserved names are no filters */
	expect_args(f, STORE_HOST, "[[\"limit\", \"x\"], [\"format\", \"json\"]]", "name",
	            "alpha,beta,gamma");
	/* order_by: several keys, and through foreign keys */
	expect_args(f, STORE_HOST, "[]", "-inventory__name,name", "gamma,alpha,beta");
	expect_args(f, STORE_HOST, "[]", "inventory__organization__name,-name", "gamma,beta,alpha");
	/* the visibility hook narrows what the query string asked */
	char *got = arg_names(f, STORE_ORGANIZATION, "[[\"or__id\", \"1\"], [\"or__id\", \"2\"]]",
	                      NULL, only_1_3, &err);
	assert_non_null(got);
	assert_string_equal(got, "Web-1");
	free(got);
	/* errors come back as AWX's */
	assert_null(arg_names(f, STORE_HOST, "[[\"groups__nosuch\", \"x\"]]", NULL, NULL, &err));
	assert_string_equal(err.message, "Group has no field named 'nosuch'");
	(void)h;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_lookup),
	    cmocka_unit_test(test_values_typed_by_field),
	    cmocka_unit_test(test_search_and_not),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_order_and_page),
	    cmocka_unit_test(test_order_nulls),
	    cmocka_unit_test(test_through_foreign_keys),
	    cmocka_unit_test_setup_teardown(test_sqlite_lookups, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sqlite_foreign_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sqlite_query_string, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
