/* test_roles.c - store/roles.c: AWX's role ids, implicit parents and who
 * holds what (a user's own roles, a team's, an organization admin's reach),
 * over a real store on either backend (store_backend.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "roles.h"
#include "store_backend.h"

/* Every role of every kind decodes to itself; nothing else decodes. */
static void test_ids_round_trip(void **state)
{
	(void)state;
	store_kind kinds[] = {STORE_ORGANIZATION,
	                      STORE_TEAM,
	                      STORE_INVENTORY,
	                      STORE_PROJECT,
	                      STORE_CREDENTIAL,
	                      STORE_JOB_TEMPLATE,
	                      STORE_WORKFLOW_JOB_TEMPLATE};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		const char *const *f = roles_fields(kinds[k]);
		assert_non_null(f);
		for (int i = 0; f[i]; i++)
			for (long obj = 1; obj < 5000; obj += 997) {
				long id = roles_id(kinds[k], obj, f[i]);
				assert_true(id > 2);
				store_kind dk;
				long dobj;
				const char *df;
				assert_true(roles_decode(id, &dk, &dobj, &df));
				assert_int_equal(dk, kinds[k]);
				assert_int_equal(dobj, obj);
				assert_string_equal(df, f[i]);
			}
	}
	assert_null(roles_fields(STORE_HOST));
	assert_int_equal(roles_id(STORE_HOST, 1, "admin_role"), 0);
	assert_int_equal(roles_id(STORE_JOB_TEMPLATE, 1, "use_role"), 0);
	store_kind k;
	long o;
	const char *f;
	assert_false(roles_decode(0, &k, &o, &f));
	assert_false(roles_decode(256 + 8 * 16, &k, &o, &f));     /* no kind 8 */
	assert_false(roles_decode(256 + 7 * 16 + 4, &k, &o, &f)); /* a workflow has 4 roles */
	assert_false(roles_decode(256 + 6 * 16 + 3, &k, &o, &f)); /* a template has 3 roles */
	assert_true(roles_decode(ROLES_SYSTEM_AUDITOR, &k, &o, &f));
	assert_string_equal(f, "system_auditor");
	char desc[160];
	roles_description(STORE_JOB_TEMPLATE, "admin_role", desc, sizeof desc);
	assert_string_equal(desc, "Can manage all aspects of the job template");
	assert_string_equal(roles_name("adhoc_role"), "Ad Hoc");
}

static char dir[] = "/tmp/test_roles_XXXXXX";

static long make(store *st, store_kind kind, json_t *fields)
{
	runnel_error err = {0};
	json_t *o = store_create(st, kind, fields, 0, &err);
	json_decref(fields);
	assert_non_null(o);
	long id = (long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	return id;
}

static roles_holder *holder(store *st, long uid)
{
	json_t *u = json_pack("{s:I}", "id", (json_int_t)uid);
	runnel_error err = {0};
	roles_holder *h = roles_holder_new(st, u, &err);
	json_decref(u);
	assert_non_null(h);
	return h;
}

/* An organization admin holds every role of its inventories, a team's
 * member holds the team's roles, nobody holds another organization's. */
static void test_holders(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	char url[512];
	store_settings ss = {.state_dir = dir, .backend = test_backend(dir, url)};
	runnel_error err = {0};
	store *st = store_open(&ss, &err);
	assert_non_null(st);
	long org = make(st, STORE_ORGANIZATION, json_pack("{s:s}", "name", "A"));
	long other = make(st, STORE_ORGANIZATION, json_pack("{s:s}", "name", "B"));
	long inv = make(st, STORE_INVENTORY,
	                json_pack("{s:s,s:I}", "name", "i", "organization", (json_int_t)org));
	long inv2 = make(st, STORE_INVENTORY,
	                 json_pack("{s:s,s:I}", "name", "j", "organization", (json_int_t)other));
	long team = make(st, STORE_TEAM,
	                 json_pack("{s:s,s:I}", "name", "t", "organization", (json_int_t)org));
	long admin = make(st, STORE_USER, json_pack("{s:s}", "username", "a"));
	long tm = make(st, STORE_USER, json_pack("{s:s}", "username", "b"));
	assert_int_equal(store_associate(st, STORE_REL_ROLE_USERS,
	                                 roles_id(STORE_ORGANIZATION, org, "admin_role"), admin,
	                                 &err),
	                 0);
	assert_int_equal(store_associate(st, STORE_REL_ROLE_USERS,
	                                 roles_id(STORE_TEAM, team, "member_role"), tm, &err),
	                 0);
	assert_int_equal(store_associate(st, STORE_REL_ROLE_TEAMS,
	                                 roles_id(STORE_INVENTORY, inv, "use_role"), team, &err),
	                 0);
	roles_holder *a = holder(st, admin), *b = holder(st, tm);
	const char *inv_roles[] = {"admin_role", "update_role", "adhoc_role", "use_role",
	                           "read_role"};
	for (int i = 0; i < 5; i++) {
		assert_true(roles_holder_has(a, STORE_INVENTORY, inv, org, inv_roles[i]));
		assert_false(roles_holder_has(a, STORE_INVENTORY, inv2, other, inv_roles[i]));
	}
	assert_true(roles_holder_has(a, STORE_TEAM, team, org, "member_role"));
	assert_true(roles_holder_has(b, STORE_INVENTORY, inv, org, "use_role"));
	assert_true(roles_holder_has(b, STORE_INVENTORY, inv, org, "read_role"));
	assert_false(roles_holder_has(b, STORE_INVENTORY, inv, org, "adhoc_role"));
	assert_false(roles_holder_has(b, STORE_INVENTORY, inv, org, "admin_role"));
	assert_false(roles_holder_has(b, STORE_ORGANIZATION, org, org, "read_role"));
	roles_holder_free(b);
	/* the team gone, its member holds nothing of it */
	assert_int_equal(store_remove(st, STORE_TEAM, team, &err), 0);
	assert_int_equal(roles_forget(st, STORE_TEAM, team, &err), 0);
	b = holder(st, tm);
	assert_false(roles_holder_has(b, STORE_INVENTORY, inv, org, "read_role"));
	json_t *left = store_related_ids(st, STORE_REL_ROLE_USERS, tm, true, &err);
	assert_int_equal(json_array_size(left), 0);
	json_decref(left);
	roles_holder_free(a);
	roles_holder_free(b);
	store_close(st);
	test_backend_drop(dir);
	const char *names[] = {"runneld.db", "runneld.db-wal", "runneld.db-shm", "secret.key"};
	char path[128];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_ids_round_trip),
	                                   cmocka_unit_test(test_holders)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
