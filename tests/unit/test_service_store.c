/* test_service_store.c - the SQLite store: CRUD, validation, pagination,
 * secrets at rest, relations, inventories, job transitions, events with their
 * derived fields, host summaries and stdout assembly. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "store_backend.h"

typedef struct fixture {
	char dir[64];
	char url[512]; /* RUNNELD_STORE=pg: the test's database */
	store *st;
} fixture;

/* A fresh store in a new temp dir. */
static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_store_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	store_settings ss = {.state_dir = f->dir, .backend = test_backend(f->dir, f->url)};
	runnel_error err = {0};
	f->st = store_open(&ss, &err);
	if (!f->st)
		fail_msg("open: %s", err.message);
	*state = f;
	return 0;
}

/* Close and remove the store. */
static int teardown(void **state)
{
	fixture *f = *state;
	store_close(f->st);
	test_backend_drop(f->dir);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Create from JSON text, failing the test on error; returns the new id. */
static long mk(store *st, store_kind kind, const char *json, unsigned flags)
{
	json_error_t je;
	json_t *in = json_loads(json, 0, &je);
	if (!in)
		fail_msg("bad test json: %s", je.text);
	runnel_error err = {0};
	json_t *o = store_create(st, kind, in, flags, &err);
	json_decref(in);
	if (!o)
		fail_msg("create %s: %s", store_kind_type(kind), err.message);
	long id = (long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	return id;
}

/* The built-in credential types exist and are managed. */
static void test_builtin_credential_types(void **state)
{
	fixture *f = *state;
	runnel_error err;
	json_t *m = store_get(f->st, STORE_CREDENTIAL_TYPE, STORE_CREDENTIAL_TYPE_MACHINE, &err);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "name")), "Machine");
	assert_string_equal(json_string_value(json_object_get(m, "kind")), "ssh");
	assert_true(json_is_true(json_object_get(m, "managed")));
	json_decref(m);
	json_t *v = store_get(f->st, STORE_CREDENTIAL_TYPE, STORE_CREDENTIAL_TYPE_VAULT, &err);
	assert_string_equal(json_string_value(json_object_get(v, "kind")), "vault");
	json_decref(v);
}

/* Create / get / update / delete, with the AWX shape. */
static void test_crud_shape(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long org = mk(f->st, STORE_ORGANIZATION, "{\"name\":\"Default\"}", 0);
	char js[256];
	snprintf(js, sizeof js, "{\"name\":\"inv\",\"organization\":%ld,\"variables\":\"a: 1\"}",
	         org);
	long inv = mk(f->st, STORE_INVENTORY, js, 0);
	json_t *o = store_get(f->st, STORE_INVENTORY, inv, &err);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "type")), "inventory");
	char url[64];
	snprintf(url, sizeof url, "/api/v2/inventories/%ld/", inv);
	assert_string_equal(json_string_value(json_object_get(o, "url")), url);
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_object_get(json_object_get(o, "summary_fields"), "organization"), "name")),
	    "Default");
	assert_non_null(json_object_get(o, "created"));
	assert_int_equal(json_integer_value(json_object_get(o, "total_hosts")), 0);
	json_decref(o);

	json_t *patch = json_pack("{s:s}", "description", "d");
	o = store_update(f->st, STORE_INVENTORY, inv, patch, 0, &err);
	json_decref(patch);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "description")), "d");
	assert_string_equal(json_string_value(json_object_get(o, "name")), "inv");
	json_decref(o);

	assert_int_equal(store_remove(f->st, STORE_INVENTORY, inv, &err), 0);
	assert_null(store_get(f->st, STORE_INVENTORY, inv, &err));
	assert_int_equal(err.code, ENOENT);
	assert_int_equal(store_remove(f->st, STORE_INVENTORY, inv, &err), -1);
	assert_int_equal(err.code, ENOENT);
}

/* Bad input is EINVAL naming the field. */
static void test_validation(void **state)
{
	fixture *f = *state;
	runnel_error err;
	json_t *in = json_pack("{s:s}", "description", "no name");
	assert_null(store_create(f->st, STORE_ORGANIZATION, in, 0, &err));
	assert_int_equal(err.code, EINVAL);
	assert_string_equal(err.message, "name: This field is required.");
	json_decref(in);
	in = json_pack("{s:s,s:s}", "name", "x", "bogus", "y");
	assert_null(store_create(f->st, STORE_ORGANIZATION, in, 0, &err));
	assert_string_equal(err.message, "bogus: Unknown field.");
	json_decref(in);
	in = json_pack("{s:s,s:s}", "name", "x", "max_hosts", "many");
	assert_null(store_create(f->st, STORE_ORGANIZATION, in, 0, &err));
	assert_int_equal(strncmp(err.message, "max_hosts:", 10), 0);
	json_decref(in);
	in = json_pack("{s:s,s:i}", "name", "h", "inventory", 999);
	assert_null(store_create(f->st, STORE_HOST, in, 0, &err));
	assert_int_equal(err.code, EINVAL);
	assert_int_equal(strncmp(err.message, "inventory: Invalid pk", 21), 0);
	json_decref(in);
	mk(f->st, STORE_ORGANIZATION, "{\"name\":\"dup\"}", 0);
	in = json_pack("{s:s}", "name", "dup");
	assert_null(store_create(f->st, STORE_ORGANIZATION, in, 0, &err));
	assert_int_equal(err.code, EEXIST);
	json_decref(in);
	/* read-only fields are ignored from the API, written by the system */
	long p = mk(f->st, STORE_PROJECT, "{\"name\":\"p\",\"scm_revision\":\"abc\"}", 0);
	json_t *o = store_get(f->st, STORE_PROJECT, p, &err);
	assert_string_equal(json_string_value(json_object_get(o, "scm_revision")), "");
	json_decref(o);
	in = json_pack("{s:s}", "scm_revision", "abc");
	o = store_update(f->st, STORE_PROJECT, p, in, STORE_SYSTEM, &err);
	assert_string_equal(json_string_value(json_object_get(o, "scm_revision")), "abc");
	json_decref(o);
	json_decref(in);
}

/* Filters, ordering, pagination. */
static void test_list_pagination(void **state)
{
	fixture *f = *state;
	runnel_error err;
	for (int i = 0; i < 30; i++) {
		char js[64];
		snprintf(js, sizeof js, "{\"name\":\"org%02d\",\"max_hosts\":%d}", i, i % 3);
		mk(f->st, STORE_ORGANIZATION, js, 0);
	}
	store_page pg = {0};
	store_query q = {.page = 2, .page_size = 10, .order_by = "-name"};
	assert_int_equal(store_list(f->st, STORE_ORGANIZATION, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 30);
	assert_int_equal(json_array_size(pg.results), 10);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(pg.results, 0), "name")), "org19");
	store_page_clear(&pg);

	q = (store_query){.filters = json_pack("{s:s}", "max_hosts", "2")};
	assert_int_equal(store_list(f->st, STORE_ORGANIZATION, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 10);
	store_page_clear(&pg);
	json_decref(q.filters);

	q = (store_query){
	    .filters = json_pack("{s:s,s:s}", "name__icontains", "ORG1", "id__in", "1,2,3,11,12")};
	assert_int_equal(store_list(f->st, STORE_ORGANIZATION, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 2); /* org10 (id 11), org11 (id 12) */
	store_page_clear(&pg);
	json_decref(q.filters);

	q = (store_query){.filters = json_pack("{s:s}", "nope", "1")};
	assert_int_equal(store_list(f->st, STORE_ORGANIZATION, &q, &pg, &err), -1);
	assert_int_equal(err.code, EINVAL);
	json_decref(q.filters);
	q = (store_query){.order_by = "nope"};
	assert_int_equal(store_list(f->st, STORE_ORGANIZATION, &q, &pg, &err), -1);
	assert_int_equal(err.code, EINVAL);
	/* page size is capped at 200 */
	q = (store_query){.page_size = 1000};
	assert_int_equal(store_list(f->st, STORE_ORGANIZATION, &q, &pg, &err), 0);
	assert_int_equal(json_array_size(pg.results), 30);
	store_page_clear(&pg);
}

/* Users: hashed password, authentication, tokens. */
static void test_users_tokens(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long uid = mk(f->st, STORE_USER,
	              "{\"username\":\"admin\",\"password\":\"s3cret\",\"is_superuser\":true}", 0);
	json_t *u = store_get(f->st, STORE_USER, uid, &err);
	assert_string_equal(json_string_value(json_object_get(u, "password")), "$encrypted$");
	assert_string_equal(json_string_value(json_object_get(u, "username")), "admin");
	json_decref(u);
	u = store_user_authenticate(f->st, "admin", "s3cret", &err);
	assert_non_null(u);
	json_decref(u);
	assert_null(store_user_authenticate(f->st, "admin", "wrong", &err));
	assert_int_equal(err.code, EACCES);
	assert_null(store_user_authenticate(f->st, "nobody", "s3cret", &err));
	json_t *t = store_token_create(f->st, uid, NULL, 0, &err);
	assert_non_null(t);
	const char *tok = json_string_value(json_object_get(t, "token"));
	assert_non_null(tok);
	json_t *tok_obj = NULL;
	u = store_token_authenticate(f->st, tok, &tok_obj, &err);
	assert_non_null(u);
	assert_int_equal(json_integer_value(json_object_get(u, "id")), uid);
	/* the user and the token as get shows them */
	json_t *want = store_get(f->st, STORE_USER, uid, &err);
	assert_true(json_equal(u, want));
	json_decref(want);
	want =
	    store_get(f->st, STORE_TOKEN, (long)json_integer_value(json_object_get(t, "id")), &err);
	assert_true(json_equal(tok_obj, want));
	json_decref(want);
	json_decref(tok_obj);
	json_decref(u);
	json_decref(t);
	assert_null(store_token_authenticate(f->st, "deadbeef", NULL, &err));
}

/* Tokens (AWX's rules) and the password stamp the API's Basic cache relies on. */
static void test_token_rules_and_password_stamp(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long uid = mk(f->st, STORE_USER, "{\"username\":\"u\",\"password\":\"pw1\"}", 0);
	long other = mk(f->st, STORE_USER, "{\"username\":\"o\",\"password\":\"pw\"}", 0);
	/* the stamp of a check is the stamp of the stored hash; a new password changes it */
	unsigned char s1[32], s2[32], s3[32];
	json_t *u = store_user_authenticate_stamp(f->st, "u", "pw1", s1, &err);
	assert_non_null(u);
	json_decref(u);
	assert_int_equal(store_user_secret_stamp(f->st, uid, s2, &err), 0);
	assert_memory_equal(s1, s2, 32);
	json_t *in = json_pack("{s:s}", "password", "pw2");
	json_decref(store_update(f->st, STORE_USER, uid, in, 0, &err));
	json_decref(in);
	assert_int_equal(store_user_secret_stamp(f->st, uid, s3, &err), 0);
	assert_memory_not_equal(s1, s3, 32);
	/* the same password set again still gives a new stamp (a new salt) */
	in = json_pack("{s:s}", "password", "pw2");
	json_decref(store_update(f->st, STORE_USER, uid, in, 0, &err));
	json_decref(in);
	assert_int_equal(store_user_secret_stamp(f->st, uid, s2, &err), 0);
	assert_memory_not_equal(s2, s3, 32);
	/* scope: AWX's words only */
	const char *bad[] = {"admin", "read read", "", "read,write"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		in = json_pack("{s:s}", "scope", bad[i]);
		assert_null(store_token_create(f->st, uid, in, 0, &err));
		assert_int_equal(err.code, EINVAL);
		assert_int_equal(strncmp(err.message, "scope:", 6), 0);
		json_decref(in);
	}
	/* read-only fields from the caller are ignored; expires is set */
	in = json_pack("{s:s,s:I,s:s}", "scope", "read", "user", (json_int_t)other, "expires",
	               "2000-01-01T00:00:00Z");
	json_t *t = store_token_create(f->st, uid, in, 0, &err);
	json_decref(in);
	assert_non_null(t);
	assert_int_equal(json_integer_value(json_object_get(t, "user")), uid);
	const char *exp = json_string_value(json_object_get(t, "expires"));
	assert_non_null(exp);
	assert_true(strcmp(exp, "2900") > 0); /* about 1000 years ahead */
	json_t *tok = NULL;
	u = store_token_authenticate(f->st, json_string_value(json_object_get(t, "token")), &tok,
	                             &err);
	assert_non_null(u);
	assert_string_equal(json_string_value(json_object_get(tok, "scope")), "read");
	json_decref(u);
	json_decref(tok);
	/* shown once: a read gives the censored value */
	json_t *again =
	    store_get(f->st, STORE_TOKEN, (long)json_integer_value(json_object_get(t, "id")), &err);
	assert_string_equal(json_string_value(json_object_get(again, "token")), "************");
	json_decref(again);
	/* an expired token is refused */
	json_t *t1 = store_token_create(f->st, uid, NULL, 1, &err);
	assert_non_null(t1);
	sleep(2);
	assert_null(store_token_authenticate(f->st, json_string_value(json_object_get(t1, "token")),
	                                     &tok, &err));
	assert_int_equal(err.code, EACCES);
	assert_null(tok);
	json_decref(t1);
	/* a deleted user's tokens go with it */
	assert_int_equal(store_remove(f->st, STORE_USER, uid, &err), 0);
	assert_null(store_token_authenticate(f->st, json_string_value(json_object_get(t, "token")),
	                                     NULL, &err));
	assert_int_equal(
	    store_get(f->st, STORE_TOKEN, (long)json_integer_value(json_object_get(t, "id")), &err),
	    NULL);
	assert_int_equal(store_user_secret_stamp(f->st, uid, s1, &err), -1);
	json_decref(t);
}

/* Variables are checked on save: blank, or a JSON/YAML mapping. */
static void test_variables_validated(void **state)
{
	fixture *f = *state;
	runnel_error err;
	const char *bad[] = {"a: [1", "- a\n- b\n", "just text", "[1, 2]", "{\"a\": 1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *in = json_pack("{s:s,s:s}", "name", "inv", "variables", bad[i]);
		assert_null(store_create(f->st, STORE_INVENTORY, in, 0, &err));
		assert_int_equal(err.code, EINVAL);
		assert_int_equal(strncmp(err.message, "variables: ", 11), 0);
		json_decref(in);
	}
	const char *good[] = {"", "a: 1\nb: [x]\n", "{\"a\": 1}", "---\n", "null", "# c\n"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char name[16];
		snprintf(name, sizeof name, "inv%zu", i);
		json_t *in = json_pack("{s:s,s:s}", "name", name, "variables", good[i]);
		json_t *o = store_create(f->st, STORE_INVENTORY, in, 0, &err);
		if (!o)
			fail_msg("%s: %s", good[i], err.message);
		json_decref(o);
		json_decref(in);
	}
}

/* Credential secrets: encrypted at rest, "$encrypted$" out, decrypted for workers. */
static void test_credential_secrets(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long c = mk(f->st, STORE_CREDENTIAL,
	            "{\"name\":\"m\",\"credential_type\":1,\"inputs\":{\"username\":\"bob\","
	            "\"password\":\"PLANTED-SECRET-42\"}}",
	            0);
	json_t *o = store_get(f->st, STORE_CREDENTIAL, c, &err);
	json_t *in = json_object_get(o, "inputs");
	assert_string_equal(json_string_value(json_object_get(in, "username")), "bob");
	assert_string_equal(json_string_value(json_object_get(in, "password")), "$encrypted$");
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "ssh");
	json_decref(o);
	/* a PATCH that sends "$encrypted$" back keeps the secret */
	json_t *p =
	    json_pack("{s:{s:s,s:s}}", "inputs", "username", "alice", "password", "$encrypted$");
	o = store_update(f->st, STORE_CREDENTIAL, c, p, 0, &err);
	assert_non_null(o);
	json_decref(o);
	json_decref(p);
	json_t *plain = store_credential_inputs(f->st, c, &err);
	assert_non_null(plain);
	assert_string_equal(json_string_value(json_object_get(plain, "password")),
	                    "PLANTED-SECRET-42");
	assert_string_equal(json_string_value(json_object_get(plain, "username")), "alice");
	assert_string_equal(json_string_value(json_object_get(plain, "__kind")), "ssh");
	json_decref(plain);
	/* not in the database in clear */
	if (test_on_pg()) {
		char db[64];
		test_db_name(f->dir, db);
		const char *n = test_pg_sql(db, "SELECT count(*) FROM credentials WHERE data::text"
		                                " LIKE '%PLANTED-SECRET%' OR secret LIKE "
		                                "'%PLANTED-SECRET%'");
		assert_non_null(n);
		assert_string_equal(n, "0");
		n = test_pg_sql(db, "SELECT count(*) FROM credentials WHERE secret <> ''");
		assert_non_null(n);
		assert_string_not_equal(n, "0");
	} else {
		char cmd[256];
		snprintf(cmd, sizeof cmd,
		         "grep -qa PLANTED-SECRET-42 %s/runneld.db %s/runneld.db-wal 2>/dev/null",
		         f->dir, f->dir);
		assert_int_not_equal(system(cmd), 0);
	}
	/* the key file is 0600 */
	char path[128];
	snprintf(path, sizeof path, "%s/secret.key", f->dir);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, 32);
	/* unknown inputs are refused */
	json_t *bad = json_pack("{s:s,s:i,s:{s:s}}", "name", "x", "credential_type", 1, "inputs",
	                        "nope", "1");
	assert_null(store_create(f->st, STORE_CREDENTIAL, bad, 0, &err));
	assert_int_equal(err.code, EINVAL);
	json_decref(bad);
}

/* Groups, hosts, relations, the inventory script and import. */
static void test_inventory(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long inv = mk(f->st, STORE_INVENTORY, "{\"name\":\"i\"}", 0);
	char js[256];
	snprintf(js, sizeof js,
	         "{\"name\":\"web\",\"inventory\":%ld,\"variables\":\"{\\\"x\\\": 1}\"}", inv);
	long g = mk(f->st, STORE_GROUP, js, 0);
	snprintf(
	    js, sizeof js,
	    "{\"name\":\"h1\",\"inventory\":%ld,\"variables\":{\"ansible_connection\":\"local\"}}",
	    inv);
	long h1 = mk(f->st, STORE_HOST, js, 0);
	snprintf(js, sizeof js, "{\"name\":\"h2\",\"inventory\":%ld}", inv);
	mk(f->st, STORE_HOST, js, 0);
	assert_int_equal(store_associate(f->st, STORE_REL_GROUP_HOSTS, g, h1, &err), 0);
	assert_int_equal(store_associate(f->st, STORE_REL_GROUP_HOSTS, g, h1, &err),
	                 0); /* idempotent */
	store_page pg = {0};
	store_query q = {.rel = STORE_REL_GROUP_HOSTS, .rel_parent = g};
	assert_int_equal(store_list(f->st, STORE_HOST, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 1);
	store_page_clear(&pg);
	q = (store_query){.rel = STORE_REL_GROUP_HOSTS, .rel_parent = h1, .rel_reverse = true};
	assert_int_equal(store_list(f->st, STORE_GROUP, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 1);
	store_page_clear(&pg);

	json_t *s = store_inventory_script(f->st, inv, &err);
	assert_non_null(s);
	assert_string_equal(json_string_value(json_array_get(
	                        json_object_get(json_object_get(s, "web"), "hosts"), 0)),
	                    "h1");
	assert_int_equal(
	    json_integer_value(
	        json_object_get(json_object_get(s, "web"), "vars")
	            ? json_object_get(json_object_get(json_object_get(s, "web"), "vars"), "x")
	            : NULL),
	    1);
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_object_get(json_object_get(json_object_get(s, "_meta"), "hostvars"), "h1"),
	        "ansible_connection")),
	    "local");
	assert_string_equal(json_string_value(json_array_get(
	                        json_object_get(json_object_get(s, "ungrouped"), "hosts"), 0)),
	                    "h2");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(s, "__host_ids"), "h1")), h1);
	json_decref(s);

	/* import with overwrite as source 7: db1 and its group come; h2, added
	 * by hand, stays (before: it was deleted — data loss) */
	json_t *data = json_loads("{\"_meta\":{\"hostvars\":{\"h1\":{\"a\":1},\"db1\":{\"b\":2}}},"
	                          "\"all\":{\"children\":[\"ungrouped\",\"dbs\",\"web\"]},"
	                          "\"dbs\":{\"hosts\":[\"db1\"],\"vars\":{\"port\":5432}},"
	                          "\"web\":{\"hosts\":[\"h1\"],\"children\":[\"dbs\"]}}",
	                          0, NULL);
	long nh = 0, ng = 0;
	assert_int_equal(store_inventory_import(f->st, inv, data, 7, true, false, &nh, &ng, &err),
	                 0);
	json_decref(data);
	assert_int_equal(nh, 2);
	assert_int_equal(ng, 2);
	json_t *io = store_get(f->st, STORE_INVENTORY, inv, &err);
	assert_int_equal(json_integer_value(json_object_get(io, "total_hosts")), 3);
	assert_int_equal(json_integer_value(json_object_get(io, "total_groups")), 2);
	json_decref(io);
	s = store_inventory_script(f->st, inv, &err);
	assert_string_equal(json_string_value(json_array_get(
	                        json_object_get(json_object_get(s, "web"), "children"), 0)),
	                    "dbs");
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(json_object_get(s, "dbs"), "vars"), "port")),
	                 5432);
	/* overwrite_vars false: h1's vars merged (its own ansible_connection kept) */
	json_t *hv =
	    json_object_get(json_object_get(json_object_get(s, "_meta"), "hostvars"), "h1");
	assert_string_equal(json_string_value(json_object_get(hv, "ansible_connection")), "local");
	assert_int_equal(json_integer_value(json_object_get(hv, "a")), 1);
	json_decref(s);
	/* the source no longer has db1 nor dbs: they go (it imported them); h1
	 * stays (named), h2 stays (never the source's); vars replaced */
	data = json_loads("{\"_meta\":{\"hostvars\":{\"h1\":{\"a\":2}}},"
	                  "\"web\":{\"hosts\":[\"h1\"]}}",
	                  0, NULL);
	assert_int_equal(store_inventory_import(f->st, inv, data, 7, true, true, &nh, &ng, &err),
	                 0);
	json_decref(data);
	io = store_get(f->st, STORE_INVENTORY, inv, &err);
	assert_int_equal(json_integer_value(json_object_get(io, "total_hosts")), 2);
	assert_int_equal(json_integer_value(json_object_get(io, "total_groups")), 1);
	json_decref(io);
	s = store_inventory_script(f->st, inv, &err);
	hv = json_object_get(json_object_get(json_object_get(s, "_meta"), "hostvars"), "h1");
	assert_null(json_object_get(hv, "ansible_connection"));
	assert_int_equal(json_integer_value(json_object_get(hv, "a")), 2);
	assert_non_null(
	    json_object_get(json_object_get(json_object_get(s, "_meta"), "hostvars"), "h2"));
	json_decref(s);
	/* another source with overwrite deletes nothing of source 7's */
	data = json_loads("{\"_meta\":{\"hostvars\":{}}}", 0, NULL);
	assert_int_equal(store_inventory_import(f->st, inv, data, 8, true, true, &nh, &ng, &err),
	                 0);
	json_decref(data);
	io = store_get(f->st, STORE_INVENTORY, inv, &err);
	assert_int_equal(json_integer_value(json_object_get(io, "total_hosts")), 2);
	json_decref(io);
	/* deleting the inventory takes its hosts and groups */
	assert_int_equal(store_remove(f->st, STORE_INVENTORY, inv, &err), 0);
	q = (store_query){0};
	assert_int_equal(store_list(f->st, STORE_HOST, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 0);
	store_page_clear(&pg);
}

/* A job row made by the system. */
static long mkjob(store *st, const char *type)
{
	char js[128];
	snprintf(js, sizeof js, "{\"name\":\"j\",\"type\":\"%s\"}", type);
	int k = store_kind_from_job_type(type);
	return mk(st, (store_kind)k, js, STORE_SYSTEM);
}

/* The children of parent by rel as related_ids and get show them, one call
 * each: [{id, name}] (what related_names answers in one). */
static json_t *names_one_by_one(store *st, store_rel rel, long parent)
{
	store_kind pk, ck;
	store_rel_kinds(rel, &pk, &ck);
	runnel_error err = {0};
	json_t *ids = store_related_ids(st, rel, parent, false, &err);
	assert_non_null(ids);
	json_t *out = json_array();
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id) {
		json_t *o = store_get(st, ck, (long)json_integer_value(id), &err);
		if (o)
			json_array_append_new(out,
			                      json_pack("{s:O,s:O}", "id", json_object_get(o, "id"),
			                                "name", json_object_get(o, "name")));
		json_decref(o);
	}
	json_decref(ids);
	return out;
}

/* related_names: the children of many parents in one call, each parent's
 * ordered by id, parents in the order (and as often) asked. */
static void test_related_names(void **state)
{
	fixture *f = *state;
	runnel_error err = {0};
	long org = mk(f->st, STORE_ORGANIZATION, "{\"name\":\"Default\"}", 0);
	char js[128];
	long l[3];
	const char *names[3] = {"b", "a", "\u00e9t\u00e9"};
	for (int i = 0; i < 3; i++) {
		snprintf(js, sizeof js, "{\"name\":\"%s\",\"organization\":%ld}", names[i], org);
		l[i] = mk(f->st, STORE_LABEL, js, 0);
	}
	long j1 = mkjob(f->st, "job"), j2 = mkjob(f->st, "job"), j3 = mkjob(f->st, "job");
	long pu = mkjob(f->st, "project_update");
	/* attached out of id order: the answer is in id order */
	assert_int_equal(store_associate(f->st, STORE_REL_JOB_LABELS, j1, l[2], &err), 0);
	assert_int_equal(store_associate(f->st, STORE_REL_JOB_LABELS, j1, l[0], &err), 0);
	assert_int_equal(store_associate(f->st, STORE_REL_JOB_LABELS, j3, l[1], &err), 0);
	assert_int_equal(store_associate(f->st, STORE_REL_JOB_LABELS, pu, l[1], &err), 0);
	long jt =
	    mk(f->st, STORE_JOB_TEMPLATE, "{\"name\":\"t\",\"playbook\":\"p.yml\"}", STORE_SYSTEM);
	assert_int_equal(store_associate(f->st, STORE_REL_JOB_TEMPLATE_LABELS, jt, l[0], &err), 0);

	long parents[] = {j3, j1, j2, j1, pu, 9999};
	size_t n = sizeof parents / sizeof parents[0];
	json_t *got = store_related_names(f->st, STORE_REL_JOB_LABELS, parents, n, &err);
	if (!got)
		fail_msg("related_names: %s", err.message);
	assert_int_equal(json_array_size(got), n);
	for (size_t i = 0; i < n; i++) {
		json_t *want = names_one_by_one(f->st, STORE_REL_JOB_LABELS, parents[i]);
		if (!json_equal(json_array_get(got, i), want)) {
			char *a = json_dumps(json_array_get(got, i), 0), *b = json_dumps(want, 0);
			fail_msg("parent %ld: %s, not %s", parents[i], a, b);
		}
		json_decref(want);
	}
	/* spelled out once: j1's two labels, by id */
	json_t *j1s = json_array_get(got, 1);
	assert_int_equal(json_array_size(j1s), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j1s, 0), "id")), l[0]);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j1s, 0), "name")),
	                    "b");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j1s, 1), "name")),
	                    "\xc3\xa9t\xc3\xa9");
	assert_int_equal(json_array_size(json_array_get(got, 2)), 0); /* j2: none */
	assert_int_equal(json_array_size(json_array_get(got, 5)), 0); /* no such job */
	json_decref(got);

	/* another relation: the template's labels, not the jobs' */
	got = store_related_names(f->st, STORE_REL_JOB_TEMPLATE_LABELS, (long[]){jt, j1}, 2, &err);
	assert_non_null(got);
	assert_int_equal(json_array_size(json_array_get(got, 0)), 1);
	assert_int_equal(json_array_size(json_array_get(got, 1)), 0);
	json_decref(got);

	/* none asked: an empty answer */
	got = store_related_names(f->st, STORE_REL_JOB_LABELS, NULL, 0, &err);
	assert_non_null(got);
	assert_int_equal(json_array_size(got), 0);
	json_decref(got);

	/* a relation without children of their own */
	err.code = 0;
	assert_null(store_related_names(f->st, STORE_REL_NONE, parents, n, &err));
	assert_int_equal(err.code, EINVAL);
}

/* store_job_progress of job id says what its get shows (status,
 * cancel_flag, emitted_events, stored_events); returns it. */
static store_progress progress_as_get(store *st, long id)
{
	runnel_error err = {0};
	store_progress pr;
	memset(&pr, 0x55, sizeof pr); /* every field must be filled */
	if (store_job_progress(st, id, &pr, &err) < 0)
		fail_msg("progress of %ld: %s", id, err.message);
	json_t *o = store_get(st, STORE_UNIFIED_JOB, id, &err);
	assert_non_null(o);
	const char *status = json_string_value(json_object_get(o, "status"));
	assert_string_equal(pr.status, status ? status : "");
	assert_int_equal(pr.cancel_flag, json_is_true(json_object_get(o, "cancel_flag")));
	assert_int_equal(pr.emitted_events,
	                 json_integer_value(json_object_get(o, "emitted_events")));
	assert_int_equal(pr.stored_events, json_integer_value(json_object_get(o, "stored_events")));
	json_decref(o);
	return pr;
}

/* A create whose caller reads its id alone (STORE_NO_RESULT): {"id"} back,
 * the object stored as a create without the flag stores it. */
static void test_create_no_result(void **state)
{
	fixture *f = *state;
	runnel_error err;
	const char *fields[] = {"{\"name\":\"quiet\",\"type\":\"job\"}", "{\"name\":\"quiet\"}"};
	store_kind kind[] = {STORE_JOB, STORE_ORGANIZATION};
	for (int i = 0; i < 2; i++) {
		json_t *in = json_loads(fields[i], 0, NULL);
		json_t *o = store_create(f->st, kind[i], in, STORE_SYSTEM | STORE_NO_RESULT, &err);
		json_decref(in);
		assert_non_null(o);
		assert_int_equal(json_object_size(o), 1);
		long id = (long)json_integer_value(json_object_get(o, "id"));
		assert_true(id > 0);
		json_decref(o);
		o = store_get(f->st, kind[i], id, &err);
		assert_non_null(o);
		assert_string_equal(json_string_value(json_object_get(o, "name")), "quiet");
		json_decref(o);
	}
}

/* Status transitions, explanations appended, cancel flag once. */
static void test_job_lifecycle(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long j = mkjob(f->st, "job");
	json_t *o = store_get(f->st, STORE_JOB, j, &err);
	assert_string_equal(json_string_value(json_object_get(o, "status")), "new");
	assert_string_equal(json_string_value(json_object_get(o, "url")), "/api/v2/jobs/1/");
	json_decref(o);
	/* a job is not a project update */
	assert_null(store_get(f->st, STORE_PROJECT_UPDATE, j, &err));
	assert_int_equal(err.code, ENOENT);
	/* an update whose caller reads nothing: applied, an empty object back */
	json_t *f2 = json_pack("{s:s}", "execution_node", "node-a");
	o = store_update(f->st, STORE_JOB, j, f2, STORE_SYSTEM | STORE_NO_RESULT, &err);
	json_decref(f2);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
	o = store_get(f->st, STORE_JOB, j, &err);
	assert_string_equal(json_string_value(json_object_get(o, "execution_node")), "node-a");
	json_decref(o);
	/* exists: what get finds, without the shape */
	assert_int_equal(store_exists(f->st, STORE_JOB, j, &err), 0);
	assert_int_equal(store_exists(f->st, STORE_UNIFIED_JOB, j, &err), 0);
	err.code = 0;
	assert_int_equal(store_exists(f->st, STORE_PROJECT_UPDATE, j, &err), -1);
	assert_int_equal(err.code, ENOENT);
	err.code = 0;
	assert_int_equal(store_exists(f->st, STORE_JOB, j + 1000, &err), -1);
	assert_int_equal(err.code, ENOENT);
	const char *from_new[] = {"new", NULL};
	char cur[32];
	assert_int_equal(store_job_transition(f->st, j, from_new, "pending", cur, &err), 1);
	assert_int_equal(store_job_transition(f->st, j, from_new, "waiting", cur, &err), 0);
	assert_string_equal(cur, "pending");
	/* a move the table of job states refuses, whatever from says */
	assert_int_equal(store_job_transition(f->st, j, NULL, "running", cur, &err), 0);
	assert_string_equal(cur, "pending");
	assert_int_equal(store_job_transition(f->st, j, NULL, "waiting", cur, &err), 1);
	assert_int_equal(store_job_transition(f->st, j, NULL, "running", cur, &err), 1);
	/* progress: what get shows, without the shape */
	store_progress pr = progress_as_get(f->st, j);
	assert_string_equal(pr.status, "running");
	assert_false(pr.cancel_flag);
	assert_int_equal(pr.emitted_events, 0);
	assert_int_equal(pr.stored_events, 0);
	err.code = 0;
	assert_int_equal(store_job_progress(f->st, j + 1000, &pr, &err), -1);
	assert_int_equal(err.code, ENOENT);
	assert_int_equal(store_job_set_cancel_flag(f->st, j, &err), 1);
	assert_int_equal(store_job_set_cancel_flag(f->st, j, &err), 0);
	assert_true(progress_as_get(f->st, j).cancel_flag);
	assert_int_equal(store_job_append(f->st, j, "job_explanation", "first", &err), 0);
	assert_int_equal(store_job_append(f->st, j, "job_explanation", "second", &err), 0);
	assert_int_equal(store_job_transition(f->st, j, NULL, "canceled", cur, &err), 1);
	o = store_get(f->st, STORE_JOB, j, &err);
	assert_string_equal(json_string_value(json_object_get(o, "job_explanation")),
	                    "first\nsecond");
	assert_true(json_is_true(json_object_get(o, "failed")));
	assert_true(json_is_string(json_object_get(o, "started")));
	assert_true(json_is_string(json_object_get(o, "finished")));
	assert_true(json_is_true(json_object_get(o, "cancel_flag")));
	assert_false(json_is_true(json_object_get(o, "can_cancel")));
	assert_true(json_is_true(json_object_get(o, "event_processing_finished")));
	json_decref(o);
	assert_string_equal(progress_as_get(f->st, j).status, "canceled");
	/* lists by type */
	long pu = mkjob(f->st, "project_update");
	assert_string_equal(progress_as_get(f->st, pu).status, "new"); /* any unified job */
	store_page pg = {0};
	assert_int_equal(store_list(f->st, STORE_JOB, NULL, &pg, &err), 0);
	assert_int_equal(pg.count, 1);
	store_page_clear(&pg);
	assert_int_equal(store_list(f->st, STORE_UNIFIED_JOB, NULL, &pg, &err), 0);
	assert_int_equal(pg.count, 2);
	store_page_clear(&pg);
	store_query q = {.filters = json_pack("{s:s}", "status", "canceled")};
	assert_int_equal(store_list(f->st, STORE_UNIFIED_JOB, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 1);
	store_page_clear(&pg);
	json_decref(q.filters);
	/* cleanup of jobs finished more than 0 days ago takes the finished one */
	long n = -1;
	usleep(10000);
	assert_int_equal(store_jobs_cleanup(f->st, 0, &n, &err), 0);
	assert_int_equal(n, 1);
}

/* An event as the worker sends it. */
static json_t *ev(long job, int counter, const char *event, const char *uuid, const char *parent,
                  const char *host, const char *stdout_text, int start, int end,
                  const char *extra_data)
{
	json_t *d = extra_data ? json_loads(extra_data, 0, NULL) : json_object();
	if (parent)
		json_object_set_new(d, "parent_uuid", json_string(parent));
	if (host)
		json_object_set_new(d, "host", json_string(host));
	json_object_set_new(d, "task", json_string("t1"));
	return json_pack("{s:I,s:i,s:s,s:s,s:s,s:i,s:i,s:o,s:s}", "job_id", (json_int_t)job,
	                 "counter", counter, "event", event, "uuid", uuid, "stdout", stdout_text,
	                 "start_line", start, "end_line", end, "event_data", d, "created",
	                 "2024-01-01T00:00:00.000001");
}

/* A play of job j: every kind of outcome, a NUL byte, a stats event. */
static json_t *sample_play(long j, long hid)
{
	json_t *batch = json_array();
	json_array_append_new(batch,
	                      ev(j, 1, "playbook_on_start", "u1", NULL, NULL, "", 0, 0, NULL));
	json_array_append_new(
	    batch, ev(j, 2, "playbook_on_play_start", "u2", "u1", NULL, "PLAY [all]", 0, 1, NULL));
	json_array_append_new(
	    batch, ev(j, 3, "playbook_on_task_start", "u3", "u2", NULL, "TASK [t1]", 1, 2, NULL));
	json_array_append_new(batch, ev(j, 4, "runner_on_ok", "u4", "u3", "ok1", "ok: [ok1]", 2, 3,
	                                "{\"res\":{\"changed\":true}}"));
	json_array_append_new(
	    batch, ev(j, 5, "runner_on_failed", "u5", "u3", "bad1", "fatal: [bad1]", 3, 4, NULL));
	/* a NUL byte inside stdout is stripped */
	json_object_set_new(json_array_get(batch, 4), "stdout",
	                    json_stringn("fatal: [bad1]\0!", 15));
	json_array_append_new(batch, ev(j, 6, "runner_on_failed", "u6", "u3", "ign1", "...ignoring",
	                                4, 5, "{\"ignore_errors\":true}"));
	json_array_append_new(batch, ev(j, 7, "runner_on_unreachable", "u7", "u3", "dark1",
	                                "unreachable", 5, 6, NULL));
	json_array_append_new(batch,
	                      ev(j, 8, "playbook_on_stats", "u8", NULL, NULL, "PLAY RECAP", 6, 7,
	                         "{\"ok\":{\"ok1\":1,\"ign1\":1},\"changed\":{\"ok1\":1},"
	                         "\"failures\":{\"bad1\":1},\"dark\":{\"dark1\":1},"
	                         "\"ignored\":{\"ign1\":1},\"processed\":{\"ok1\":1,\"bad1\":1,"
	                         "\"ign1\":1,\"dark1\":1}}"));
	json_object_set_new(json_array_get(batch, 3), "host_id", json_integer(hid));
	return batch;
}

/* Store a play: derived failed/changed, parents marked, summaries, stdout joined. */
static void test_events(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long inv = mk(f->st, STORE_INVENTORY, "{\"name\":\"i\"}", 0);
	char js[128];
	snprintf(js, sizeof js, "{\"name\":\"ok1\",\"inventory\":%ld}", inv);
	long hid = mk(f->st, STORE_HOST, js, 0);
	snprintf(js, sizeof js, "{\"name\":\"j\",\"type\":\"job\",\"inventory\":%ld}", inv);
	long j = mk(f->st, STORE_JOB, js, STORE_SYSTEM);
	json_t *batch = sample_play(j, hid);
	long stored = -1, dropped = -1;
	assert_int_equal(store_events_insert(f->st, batch, &stored, &dropped, &err), 0);
	assert_int_equal(stored, 8);
	assert_int_equal(dropped, 0);
	/* the same batch again stores nothing (unique per job and counter) */
	assert_int_equal(store_events_insert(f->st, batch, &stored, &dropped, &err), 0);
	assert_int_equal(stored, 0);
	json_decref(batch);
	/* progress: the events stored so far, as the job's get counts them */
	store_progress pr = progress_as_get(f->st, j);
	assert_int_equal(pr.stored_events, 8);
	assert_int_equal(pr.emitted_events, 0);

	store_page pg = {0};
	store_query q = {.page_size = 100};
	assert_int_equal(store_events_list(f->st, j, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 8);
	json_t *e4 = json_array_get(pg.results, 3);
	assert_true(json_is_true(json_object_get(e4, "changed")));
	assert_false(json_is_true(json_object_get(e4, "failed")));
	assert_int_equal(json_integer_value(json_object_get(e4, "host")), hid);
	assert_string_equal(json_string_value(json_object_get(e4, "host_name")), "ok1");
	assert_int_equal(json_integer_value(json_object_get(e4, "job")), j);
	assert_string_equal(json_string_value(json_object_get(e4, "type")), "job_event");
	assert_string_equal(json_string_value(json_object_get(e4, "task")), "t1");
	assert_true(json_is_true(json_object_get(json_array_get(pg.results, 4), "failed")));
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(pg.results, 4), "stdout")),
	    "fatal: [bad1]!");
	assert_false(json_is_true(
	    json_object_get(json_array_get(pg.results, 5), "failed"))); /* ignore_errors */
	assert_true(json_is_true(
	    json_object_get(json_array_get(pg.results, 6), "failed"))); /* unreachable */
	/* parents: task and play marked failed and changed */
	assert_true(json_is_true(json_object_get(json_array_get(pg.results, 2), "failed")));
	assert_true(json_is_true(json_object_get(json_array_get(pg.results, 1), "failed")));
	assert_true(json_is_true(json_object_get(json_array_get(pg.results, 1), "changed")));
	assert_true(json_is_true(json_object_get(json_array_get(pg.results, 7), "failed")));
	store_page_clear(&pg);

	/* filters */
	q = (store_query){.filters = json_pack("{s:s}", "failed", "true")};
	assert_int_equal(store_events_list(f->st, j, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 5); /* bad1, dark1, task, play, stats */
	store_page_clear(&pg);
	json_decref(q.filters);
	q = (store_query){
	    .filters = json_pack("{s:s,s:s}", "event", "runner_on_failed", "host_name", "bad1")};
	assert_int_equal(store_events_list(f->st, j, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 1);
	store_page_clear(&pg);
	json_decref(q.filters);
	q = (store_query){.filters = json_pack("{s:s}", "counter__gt", "6")};
	assert_int_equal(store_events_list(f->st, j, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 2);
	store_page_clear(&pg);
	json_decref(q.filters);

	/* host summaries */
	assert_int_equal(store_host_summaries_list(f->st, j, NULL, &pg, &err), 0);
	assert_int_equal(pg.count, 4);
	json_t *bad =
	    json_array_get(pg.results, 0); /* ordered by host_name: bad1, dark1, ign1, ok1 */
	assert_string_equal(json_string_value(json_object_get(bad, "host_name")), "bad1");
	assert_true(json_is_true(json_object_get(bad, "failed")));
	assert_int_equal(json_integer_value(json_object_get(bad, "failures")), 1);
	json_t *dark = json_array_get(pg.results, 1);
	assert_true(json_is_true(json_object_get(dark, "failed")));
	assert_int_equal(json_integer_value(json_object_get(dark, "dark")), 1);
	json_t *okh = json_array_get(pg.results, 3);
	assert_false(json_is_true(json_object_get(okh, "failed")));
	assert_int_equal(json_integer_value(json_object_get(okh, "host")), hid);
	store_page_clear(&pg);

	/* the job: event counts and host_status_counts */
	json_t *patch = json_pack("{s:i}", "emitted_events", 8);
	json_decref(store_update(f->st, STORE_JOB, j, patch, STORE_SYSTEM, &err));
	json_decref(patch);
	const char *any[] = {"new", NULL};
	assert_int_equal(store_job_transition(f->st, j, any, "failed", NULL, &err), 1);
	pr = progress_as_get(f->st, j);
	assert_string_equal(pr.status, "failed");
	assert_int_equal(pr.emitted_events, 8);
	assert_int_equal(pr.stored_events, 8);
	json_t *jo = store_get(f->st, STORE_JOB, j, &err);
	assert_true(json_is_true(json_object_get(jo, "event_processing_finished")));
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(jo, "host_status_counts"), "dark")),
	    1);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(jo, "host_status_counts"), "failures")),
	                 1);
	json_decref(jo);
}

/* Collects stdout chunks. */
static int collect(const char *text, size_t len, void *ud)
{
	char *buf = ud;
	strncat(buf, text, len);
	return 0;
}

/* Stdout is the events' stdout in start_line order, each with a newline, in ranges. */
static void test_stdout(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long j = mkjob(f->st, "ad_hoc_command");
	json_t *batch = json_array();
	/* inserted out of order: the stdout comes back ordered by start_line */
	json_array_append_new(batch, ev(j, 3, "runner_on_ok", "c", NULL, "h", "line3", 2, 3, NULL));
	json_array_append_new(batch,
	                      ev(j, 1, "playbook_on_start", "a", NULL, NULL, "", 0, 0, NULL));
	json_array_append_new(batch,
	                      ev(j, 2, "verbose", "b", NULL, NULL, "line1\nline2", 0, 2, NULL));
	json_array_append_new(batch, ev(j, 4, "verbose", "d", NULL, NULL, "line4", 3, 4, NULL));
	for (size_t i = 0; i < json_array_size(batch); i++) {
		json_t *e = json_array_get(batch, i);
		json_object_set(e, "ad_hoc_command_id", json_object_get(e, "job_id"));
		json_object_del(e, "job_id");
	}
	long stored;
	assert_int_equal(store_events_insert(f->st, batch, &stored, NULL, &err), 0);
	assert_int_equal(stored, 4);
	json_decref(batch);
	char buf[256] = "";
	long end = 0;
	assert_int_equal(store_stdout_read(f->st, j, 0, -1, collect, buf, &end, &err), 0);
	assert_string_equal(buf, "line1\nline2\nline3\nline4\n");
	assert_int_equal(end, 4);
	buf[0] = 0;
	assert_int_equal(store_stdout_read(f->st, j, 2, 3, collect, buf, NULL, &err), 0);
	assert_string_equal(buf, "line3\n");
	store_page pg = {0};
	assert_int_equal(store_events_list(f->st, j, NULL, &pg, &err), 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(pg.results, 0), "type")),
	    "ad_hoc_command_event");
	assert_int_equal(
	    json_integer_value(json_object_get(json_array_get(pg.results, 0), "ad_hoc_command")),
	    j);
	store_page_clear(&pg);
	assert_int_equal(store_stdout_read(f->st, 999, 0, -1, collect, buf, NULL, &err), -1);
	assert_int_equal(err.code, ENOENT);
}

/* The fields of an event the API shows that come from what was stored. */
static const char *const row_fields[] = {
    "counter",  "event",     "failed",  "changed",    "uuid",     "parent_uuid", "host_name",
    "host",     "task",      "play",    "role",       "playbook", "stdout",      "start_line",
    "end_line", "verbosity", "created", "event_data", NULL};

/* Rows read from the texts store what the JSON path stores (escapes, odd
 * spacing, a repeated key, an event_data that is not an object). */
static void test_event_rows_match_json_path(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long inv = mk(f->st, STORE_INVENTORY, "{\"name\":\"i\"}", 0);
	char js[128];
	snprintf(js, sizeof js, "{\"name\":\"ok1\",\"inventory\":%ld}", inv);
	long hid = mk(f->st, STORE_HOST, js, 0);
	snprintf(js, sizeof js, "{\"name\":\"a\",\"type\":\"job\",\"inventory\":%ld}", inv);
	long ja = mk(f->st, STORE_JOB, js, STORE_SYSTEM);
	snprintf(js, sizeof js, "{\"name\":\"b\",\"type\":\"job\",\"inventory\":%ld}", inv);
	long jb = mk(f->st, STORE_JOB, js, STORE_SYSTEM);
	json_t *a = sample_play(ja, hid), *b = sample_play(jb, hid);
	/* escapes in the fields the rows decode */
	json_t *extra[2] = {ev(ja, 9, "runner_on_ok", "u9", "u3", "h\xc3\xa9",
	                       "ok: \x1b[0;32m\r\n\"x\"", 7, 9,
	                       "{\"task\":\"t\\\"1\",\"play\":\"p\\u00e9\",\"role\":\"r/"
	                       "1\",\"res\":{\"changed\":false}}"),
	                    NULL};
	extra[1] = json_deep_copy(extra[0]);
	json_object_set_new(extra[1], "job_id", json_integer(jb));
	json_array_append_new(a, extra[0]);
	json_array_append_new(b, extra[1]);
	long stored = 0;
	assert_int_equal(store_events_insert(f->st, a, &stored, NULL, &err), 0);
	assert_int_equal(stored, 9);

	store_event_batch rows;
	store_event_batch_init(&rows);
	for (size_t i = 0; i < json_array_size(b); i++) {
		char *t = json_dumps(json_array_get(b, i), i % 2 ? JSON_INDENT(2) : JSON_COMPACT);
		assert_true(store_event_batch_add(&rows, t, strlen(t), &err));
		free(t);
	}
	/* not an event: refused, named, the batch as it was */
	assert_false(store_event_batch_add(&rows, "{\"counter\": 1,", 14, &err));
	assert_non_null(strstr(err.message, "not a JSON object"));
	assert_false(store_event_batch_add(&rows, "{\"event\": \"x\", \"counter\": 1}", 28, &err));
	assert_non_null(strstr(err.message, "no job id"));
	assert_int_equal(rows.n, 9);
	/* a repeated key: the last one counts, as in jansson */
	const char *dup =
	    "{\"job_id\": 99, \"job_id\": %ld, \"counter\": 10, \"event\": \"verbose\","
	    " \"event_data\": {\"task\": \"x\"}, \"event_data\": 5, \"stdout\": \"tail\","
	    " \"start_line\": 9, \"end_line\": 10}";
	char dtext[512];
	snprintf(dtext, sizeof dtext, dup, jb);
	assert_true(store_event_batch_add(&rows, dtext, strlen(dtext), &err));
	assert_int_equal(rows.rows[9].job_id, jb);
	assert_int_equal(rows.rows[9].task.n, 0);
	assert_int_equal(store_events_insert_rows(f->st, rows.rows, rows.n, &stored, NULL, &err),
	                 0);
	assert_int_equal(stored, 10);
	store_event_batch_free(&rows);

	store_page pa = {0}, pb = {0};
	store_query q = {.page_size = 100};
	assert_int_equal(store_events_list(f->st, ja, &q, &pa, &err), 0);
	assert_int_equal(store_events_list(f->st, jb, &q, &pb, &err), 0);
	assert_int_equal(pa.count, 9);
	assert_int_equal(pb.count, 10);
	for (size_t i = 0; i < 9; i++) {
		json_t *ea = json_array_get(pa.results, i), *eb = json_array_get(pb.results, i);
		for (int k = 0; row_fields[k]; k++)
			if (!json_equal(json_object_get(ea, row_fields[k]),
			                json_object_get(eb, row_fields[k])))
				fail_msg("event %zu: %s differs", i, row_fields[k]);
	}
	json_t *last = json_array_get(pb.results, 9);
	assert_string_equal(json_string_value(json_object_get(last, "stdout")), "tail");
	assert_int_equal(json_object_size(json_object_get(last, "event_data")), 0);
	store_page_clear(&pa);
	store_page_clear(&pb);
	assert_int_equal(store_host_summaries_list(f->st, ja, NULL, &pa, &err), 0);
	assert_int_equal(store_host_summaries_list(f->st, jb, NULL, &pb, &err), 0);
	assert_int_equal(pa.count, 4);
	assert_int_equal(pb.count, 4);
	store_page_clear(&pa);
	store_page_clear(&pb);
	json_decref(a);
	json_decref(b);
}

/* Line ranges of a long stdout are found by counter (counters with gaps). */
static void test_stdout_ranges(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long j = mkjob(f->st, "job");
	json_t *batch = json_array();
	int line = 0;
	for (int c = 1; c <= 3000; c += 1 + (c % 7 == 0)) {
		char text[32], uuid[16];
		int n = c % 5 == 0 ? 0 : 1 + c % 2; /* 0, 1 or 2 lines */
		snprintf(text, sizeof text, n == 2 ? "L%d\nL%d" : n ? "L%d" : "", line, line + 1);
		snprintf(uuid, sizeof uuid, "u%d", c);
		json_array_append_new(
		    batch, ev(j, c, "verbose", uuid, NULL, NULL, text, line, line + n, NULL));
		line += n;
	}
	assert_int_equal(store_events_insert(f->st, batch, NULL, NULL, &err), 0);
	json_decref(batch);
	static char buf[65536];
	long end = 0;
	buf[0] = 0;
	assert_int_equal(store_stdout_read(f->st, j, 0, -1, collect, buf, &end, &err), 0);
	assert_int_equal(end, line);
	for (int from = 1; from < line; from += line / 7) {
		buf[0] = 0;
		assert_int_equal(
		    store_stdout_read(f->st, j, from, from + 3, collect, buf, NULL, &err), 0);
		/* whole events whose first line is in [from, from + 3) */
		char want[256] = "";
		int l = 0;
		for (int c = 1; c <= 3000; c += 1 + (c % 7 == 0)) {
			int n = c % 5 == 0 ? 0 : 1 + c % 2;
			if (n && l >= from && l < from + 3) {
				char t[32];
				snprintf(t, sizeof t, n == 2 ? "L%d\nL%d\n" : "L%d\n", l, l + 1);
				strcat(want, t);
			}
			l += n;
		}
		assert_string_equal(buf, want);
	}
}

/* A batch with a bad event stores the good ones (retry one by one). */
static void test_events_bad_batch(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long j = mkjob(f->st, "job");
	json_t *batch = json_array();
	json_array_append_new(batch, ev(j, 1, "verbose", "a", NULL, NULL, "x", 0, 1, NULL));
	json_array_append_new(batch, json_pack("{s:s}", "event", "no job id"));
	json_array_append_new(batch, ev(j, 2, "verbose", "b", NULL, NULL, "y", 1, 2, NULL));
	long stored = 0, dropped = 0;
	assert_int_equal(store_events_insert(f->st, batch, &stored, &dropped, &err), 0);
	assert_int_equal(stored, 2);
	assert_int_equal(dropped, 1);
	json_decref(batch);
	json_t *o = store_get(f->st, STORE_JOB, j, &err);
	assert_int_equal(json_integer_value(json_object_get(o, "stored_events")), 2);
	json_decref(o);
}

/* PostgreSQL: the server ends the store's connections (a restart, an
 * administrator) while a batch is on its way: -1 with EAGAIN, nothing stored
 * or dropped; the same batch stores whole on the next try (reconnected). */
static void events_transient_failure_pg(fixture *f, long j)
{
	runnel_error err;
	json_t *batch = json_array();
	for (int i = 1; i <= 5; i++)
		json_array_append_new(batch,
		                      ev(j, i, "verbose", "a", NULL, NULL, "x", i - 1, i, NULL));
	long stored = -1, dropped = -1;
	/* the store's connection exists (made by the job's create): end it */
	char db[64], sql[256];
	test_db_name(f->dir, db);
	snprintf(sql, sizeof sql,
	         "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname='%s'"
	         " AND pid <> pg_backend_pid()",
	         db);
	const char *n = test_pg_sql(NULL, sql);
	assert_non_null(n);
	assert_string_not_equal(n, "0");
	usleep(100000);
	assert_int_equal(store_events_insert(f->st, batch, &stored, &dropped, &err), -1);
	assert_int_equal(err.code, EAGAIN);
	assert_int_equal(stored, 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(store_events_insert(f->st, batch, &stored, &dropped, &err), 0);
	assert_int_equal(stored, 5);
	assert_int_equal(dropped, 0);
	/* sent again: nothing twice */
	assert_int_equal(store_events_insert(f->st, batch, &stored, &dropped, &err), 0);
	assert_int_equal(stored, 0);
	json_decref(batch);
	json_t *o = store_get(f->st, STORE_JOB, j, &err);
	assert_int_equal(json_integer_value(json_object_get(o, "stored_events")), 5);
	json_decref(o);
}

/* Events [from, to] of job j: plain lines. */
static json_t *lines_batch(long j, int from, int to)
{
	json_t *batch = json_array();
	for (int c = from; c <= to; c++)
		json_array_append_new(batch,
		                      ev(j, c, "verbose", "u", NULL, NULL, "line", c - 1, c, NULL));
	return batch;
}

/* A batch that overlaps what is stored (sent again with new events after
 * it, as a receiver's retry after a lost ack can be) stores only the new
 * events and counts them once; the next batch goes in whole. */
static void test_events_overlapping_batch(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long j = mk(f->st, STORE_JOB, "{\"name\":\"j\",\"type\":\"job\"}", STORE_SYSTEM);
	static const struct {
		int from, to;
		long stored;
	} batches[] = {{1, 6, 6}, {4, 10, 4}, {11, 12, 2}};
	for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
		json_t *batch = lines_batch(j, batches[i].from, batches[i].to);
		long stored = -1, dropped = -1;
		assert_int_equal(store_events_insert(f->st, batch, &stored, &dropped, &err), 0);
		assert_int_equal(stored, batches[i].stored);
		assert_int_equal(dropped, 0);
		json_decref(batch);
	}
	json_t *o = store_get(f->st, STORE_JOB, j, &err);
	assert_int_equal(json_integer_value(json_object_get(o, "stored_events")), 12);
	json_decref(o);
	store_page pg = {0};
	store_query q = {.page_size = 100};
	assert_int_equal(store_events_list(f->st, j, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 12);
	store_page_clear(&pg);
}

/* The flags of a job's parents come from children stored in several
 * batches, one of them sent again (the path that skips what is stored), with
 * a parent whose uuid holds quotes and backslashes; they show from the
 * job's playbook_on_stats on, not before. */
static void test_events_parent_flags_across_batches(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long j = mkjob(f->st, "job");
	const char *odd = "t\"2\\x";
	json_t *b1 = json_array();
	json_array_append_new(b1,
	                      ev(j, 1, "playbook_on_play_start", "p1", "pb", NULL, "", 0, 0, NULL));
	json_array_append_new(b1,
	                      ev(j, 2, "playbook_on_task_start", "t1", "p1", NULL, "", 0, 0, NULL));
	json_array_append_new(b1, ev(j, 3, "runner_on_ok", "r1", "t1", "h1", "", 0, 0,
	                             "{\"res\":{\"changed\":true}}"));
	json_t *b2 = json_array(); /* counter 3 again: stored already */
	json_array_append(b2, json_array_get(b1, 2));
	json_array_append_new(b2,
	                      ev(j, 4, "playbook_on_task_start", odd, "p1", NULL, "", 0, 0, NULL));
	json_array_append_new(b2, ev(j, 5, "runner_on_failed", "r2", odd, "h1", "", 0, 0, NULL));
	json_t *b3 = json_array();
	json_array_append_new(b3, ev(j, 6, "runner_on_ok", "r3", odd, "h2", "", 0, 0,
	                             "{\"res\":{\"changed\":true}}"));
	json_t *b4 = json_array();
	json_array_append_new(b4, ev(j, 7, "playbook_on_stats", "s1", "pb", NULL, "", 0, 0,
	                             "{\"ok\":{\"h1\":1},\"failures\":{\"h1\":1}}"));
	json_t *batches[] = {b1, b2, b3, b4};
	long want_stored[] = {3, 2, 1, 1};
	for (int i = 0; i < 4; i++) {
		long stored = -1, dropped = -1;
		assert_int_equal(store_events_insert(f->st, batches[i], &stored, &dropped, &err),
		                 0);
		assert_int_equal(stored, want_stored[i]);
		assert_int_equal(dropped, 0);
		if (i == 2) { /* before the stats: the parents as they came */
			store_page pg = {0};
			store_query q = {.page_size = 100};
			assert_int_equal(store_events_list(f->st, j, &q, &pg, &err), 0);
			for (int k = 0; k < 2; k++) {
				json_t *e = json_array_get(pg.results, k);
				assert_false(json_is_true(json_object_get(e, "changed")));
				assert_false(json_is_true(json_object_get(e, "failed")));
			}
			store_page_clear(&pg);
		}
		json_decref(batches[i]);
	}
	store_page pg = {0};
	store_query q = {.page_size = 100};
	assert_int_equal(store_events_list(f->st, j, &q, &pg, &err), 0);
	assert_int_equal(pg.count, 7);
	static const struct {
		int at;
		bool failed, changed;
	} want[] = {{0, true, true}, {1, false, true}, {3, true, true}};
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		json_t *e = json_array_get(pg.results, want[k].at);
		assert_int_equal(json_is_true(json_object_get(e, "failed")), want[k].failed);
		assert_int_equal(json_is_true(json_object_get(e, "changed")), want[k].changed);
	}
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(pg.results, 3), "uuid")), odd);
	store_page_clear(&pg);
}

/* A store that fails in a way that may pass (here another writer holds the
 * lock past the busy timeout; a full disk is the same case) drops nothing:
 * -1 with EAGAIN, nothing stored, nothing counted dropped; the same batch
 * stores whole once the lock is released. */
static void test_events_transient_failure_keeps_batch(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long j = mkjob(f->st, "job");
	if (test_on_pg()) {
		events_transient_failure_pg(f, j);
		return;
	}
	store_settings ss = {.state_dir = f->dir, .busy_timeout_ms = 50};
	store *st = store_open(&ss, &err);
	assert_non_null(st);
	char path[128];
	snprintf(path, sizeof path, "%s/runneld.db", f->dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	json_t *batch = json_array();
	for (int i = 1; i <= 5; i++)
		json_array_append_new(batch,
		                      ev(j, i, "verbose", "a", NULL, NULL, "x", i - 1, i, NULL));
	long stored = -1, dropped = -1;
	assert_int_equal(store_events_insert(st, batch, &stored, &dropped, &err), -1);
	assert_int_equal(err.code, EAGAIN);
	assert_int_equal(stored, 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_events_insert(st, batch, &stored, &dropped, &err), 0);
	assert_int_equal(stored, 5);
	assert_int_equal(dropped, 0);
	json_decref(batch);
	json_t *o = store_get(f->st, STORE_JOB, j, &err);
	assert_int_equal(json_integer_value(json_object_get(o, "stored_events")), 5);
	json_decref(o);
	store_close(st);
}

/* A store opened on a database of an older schema brings it up to date
 * and loses nothing of a job running across it: on PostgreSQL, a database
 * of version 1 (no event_parent_pending) gets the table, made from the
 * events stored, so the job's stats still flag the parents. A database of a
 * newer version than this runneld's is refused. */
static void test_schema_upgrade(void **state)
{
	fixture *f = *state;
	runnel_error err;
	long j = mkjob(f->st, "job");
	json_t *b = json_array();
	json_array_append_new(b,
	                      ev(j, 1, "playbook_on_task_start", "t1", "p1", NULL, "", 0, 0, NULL));
	json_array_append_new(b, ev(j, 2, "runner_on_ok", "r1", "t1", "h1", "", 0, 0,
	                            "{\"res\":{\"changed\":true}}"));
	long stored = -1, dropped = -1;
	assert_int_equal(store_events_insert(f->st, b, &stored, &dropped, &err), 0);
	json_decref(b);
	char db[64];
	test_db_name(f->dir, db);
	if (test_on_pg())
		assert_non_null(test_pg_sql(db, "DROP TABLE event_parent_pending;"
		                                " DELETE FROM schema_version WHERE version > 1"));
	store_settings ss = {.state_dir = f->dir, .backend = test_on_pg() ? f->url : NULL};
	store *other = store_open(&ss, &err);
	assert_non_null(other);
	store_close(other);
	b = json_array();
	json_array_append_new(b, ev(j, 3, "playbook_on_stats", "s1", NULL, NULL, "", 0, 0,
	                            "{\"ok\":{\"h1\":1},\"changed\":{\"h1\":1}}"));
	assert_int_equal(store_events_insert(f->st, b, &stored, &dropped, &err), 0);
	json_decref(b);
	store_page pg = {0};
	store_query q = {.page_size = 100};
	assert_int_equal(store_events_list(f->st, j, &q, &pg, &err), 0);
	assert_true(json_is_true(json_object_get(json_array_get(pg.results, 0), "changed")));
	store_page_clear(&pg);
	if (test_on_pg()) {
		assert_non_null(test_pg_sql(db, "INSERT INTO schema_version(version) VALUES(99)"));
		assert_null(store_open(&ss, &err));
		assert_non_null(strstr(err.message, "schema version 99"));
	}
}

/* Two handles on one state dir (the engine and a worker) see each other's writes. */
static void test_two_handles(void **state)
{
	fixture *f = *state;
	runnel_error err;
	store_settings ss = {.state_dir = f->dir, .backend = test_on_pg() ? f->url : NULL};
	store *other = store_open(&ss, &err);
	assert_non_null(other);
	long id = mk(f->st, STORE_ORGANIZATION, "{\"name\":\"shared\"}", 0);
	json_t *o = store_get(other, STORE_ORGANIZATION, id, &err);
	assert_non_null(o);
	json_decref(o);
	/* and the secret key is the same: a credential made by one opens in the other */
	long c =
	    mk(f->st, STORE_CREDENTIAL,
	       "{\"name\":\"v\",\"credential_type\":3,\"inputs\":{\"vault_password\":\"vp\"}}", 0);
	json_t *in = store_credential_inputs(other, c, &err);
	assert_non_null(in);
	assert_string_equal(json_string_value(json_object_get(in, "vault_password")), "vp");
	json_decref(in);
	store_close(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_builtin_credential_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crud_shape, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_pagination, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_users_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_rules_and_password_stamp, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_variables_validated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_credential_secrets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inventory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_job_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_related_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_create_no_result, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events_overlapping_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events_parent_flags_across_batches, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_stdout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_rows_match_json_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stdout_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events_bad_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_events_transient_failure_keeps_batch, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_upgrade, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
