/* test_field_rules.c - the rules of the fields that reach a path or a
 * command line (service/store/field_rules.c): each rule against the values
 * an attacker sends and the values real users have, and project_remove_tree
 * against a symlink out of the tree (service/project_files.c). */
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

#include "field_rules.h"
#include "project_files.h"

typedef int (*rule_fn)(const char *field, const char *value, runnel_error *err);

/* Every value of good passes rule; every value of bad fails, naming field. */
static void check_rule(rule_fn rule, const char *field, const char *const *good,
                       const char *const *bad)
{
	for (int i = 0; good[i]; i++) {
		runnel_error err = {0};
		if (rule(field, good[i], &err) != 0)
			fail_msg("%s: '%s' refused: %s", field, good[i], err.message);
	}
	for (int i = 0; bad[i]; i++) {
		runnel_error err = {0};
		if (rule(field, bad[i], &err) == 0)
			fail_msg("%s: '%s' accepted", field, bad[i]);
		assert_int_equal(err.code, EINVAL);
		assert_int_equal(strncmp(err.message, field, strlen(field)), 0);
		assert_int_equal(err.message[strlen(field)], ':');
	}
}

static void test_local_path(void **state)
{
	(void)state;
	const char *good[] = {"", "myproject", "_12__git_project", "with space", "a.b", NULL};
	const char *bad[] = {"/tmp/victim", "../victim", "..",      ".",    "a/b",
	                     "-rf",         ".hidden",   "{{ x }}", "x\ny", NULL};
	check_rule(rules_local_path, "local_path", good, bad);
	char longname[300];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	assert_int_equal(rules_local_path("local_path", longname, NULL), -1);
}

static void test_scm_url(void **state)
{
	(void)state;
	const char *good[] = {"",
	                      "https://github.com/ansible/awx.git",
	                      "http://host.example:8080/x.git",
	                      "ssh://git@github.com:22/ansible/awx.git",
	                      "git://host.example/repo",
	                      "ftps://host/repo",
	                      "file:///srv/repo",
	                      "file://localhost/srv/repo",
	                      "/srv/repo",
	                      "git@github.com:ansible/awx.git",
	                      "host:repo",
	                      "[fd00::11]:example/foo.git",
	                      "https://user@[fd00::11]:8443/x.git",
	                      "https://h/a=b&c/r%20x.git",
	                      NULL};
	const char *bad[] = {"--upload-pack=touch${IFS}/tmp/pwned",
	                     "-u",
	                     "ext::sh -c touch% /tmp/x",
	                     "ext::sh",
	                     "fd::17",
	                     "ssh://-oProxyCommand=x/repo",
	                     "ssh://git@-oProxyCommand=x/repo",
	                     "-oProxyCommand=x:repo",
	                     "git@-oProxyCommand=x:repo",
	                     "git+ssh://host/repo",
	                     "svn://host/repo",
	                     "file://evil.example/srv/repo",
	                     "file://",
	                     "http:///repo",
	                     "http://host:99999/repo",
	                     "http://host:x/repo",
	                     "relative/repo",
	                     "dir/x:y",
	                     "a:b:c",
	                     "file:///srv/repo dest=/tmp/x",
	                     "file:///srv/repo\ndest=/tmp/x",
	                     "file:///srv/x'y",
	                     "https://h/{{ lookup('pipe','id') }}",
	                     "https://h/\"x\"",
	                     "https://h/x\\y",
	                     "host:",
	                     NULL};
	check_rule(rules_scm_url, "scm_url", good, bad);
}

static void test_git_ref(void **state)
{
	(void)state;
	const char *good[] = {"",
	                      "main",
	                      "feature/x-1",
	                      "v1.2.3",
	                      "0123456789abcdef0123456789abcdef01234567",
	                      "refs/heads/main",
	                      "a@b",
	                      NULL};
	const char *bad[] = {"-b",
	                     "--upload-pack=x",
	                     "main\ndest=/x",
	                     "main dest=/x",
	                     "a..b",
	                     "main.lock",
	                     "x/y.lock/z",
	                     "x@{1}",
	                     "x:y",
	                     "x~1",
	                     "x^",
	                     "x?",
	                     "x*",
	                     "x[",
	                     "a\\b",
	                     "{{x}}",
	                     ".hidden",
	                     "a/.b",
	                     "x/",
	                     "/x",
	                     "x.",
	                     "a//b",
	                     "@",
	                     "a'b",
	                     "a\"b",
	                     "x\x7f",
	                     NULL};
	check_rule(rules_git_ref, "scm_branch", good, bad);
}

static void test_git_refspec(void **state)
{
	(void)state;
	const char *good[] = {"",
	                      "+refs/heads/*:refs/remotes/origin/*",
	                      "refs/pull/*/head:refs/remotes/origin/pull/*",
	                      "refs/heads/main",
	                      "main:",
	                      NULL};
	const char *bad[] = {"--upload-pack=x",
	                     "refs/*/x/*:y",
	                     "a b",
	                     "+refs/x:refs/y\n",
	                     "^refs/x",
	                     ":refs/x",
	                     "+",
	                     "a:b:c",
	                     NULL};
	check_rule(rules_git_refspec, "scm_refspec", good, bad);
}

static void test_project_file(void **state)
{
	(void)state;
	const char *good[] = {"", "site.yml", "playbooks/deep/site.yml", "a..b.yml", NULL};
	const char *bad[] = {"/etc/passwd",  "../x.yml", "a/../../x.yml", "a/..", "./site.yml",
	                     "-i/etc/hosts", "a\nb.yml", "{{x}}.yml",     NULL};
	check_rule(rules_project_file, "playbook", good, bad);
}

static void test_cli_values(void **state)
{
	(void)state;
	const char *good[] = {"", "web", "web:&db:!bad", "~web.*", "all", "x@y", NULL};
	const char *bad[] = {"--become", "-K", "@/etc/passwd", "web,@/etc/passwd", "web: @/x",
	                     "a\nb",     NULL};
	check_rule(rules_cli_value, "limit", good, bad);
	const char *tgood[] = {"", "a,b", "@x", NULL};
	const char *tbad[] = {"--tags=x", "-x", "a\tb", NULL};
	check_rule(rules_cli_value, "job_tags", tgood, tbad);
}

static void test_vault_id_and_scm_type(void **state)
{
	(void)state;
	const char *good[] = {"", "prod", "dev-1", NULL};
	const char *bad[] = {"x@/tmp/script", "a@b", "-x", "a\nb", NULL};
	check_rule(rules_vault_id, "vault_id", good, bad);
	const char *tgood[] = {"", "git", NULL};
	const char *tbad[] = {"svn", "insights", "archive", "Git", NULL};
	check_rule(rules_scm_type, "scm_type", tgood, tbad);
}

/* A field of a kind goes through its rule; others pass untouched. */
static void test_check_field(void **state)
{
	(void)state;
	runnel_error err = {0};
	json_t *v = json_string("/tmp/victim");
	assert_int_equal(rules_check_field(STORE_PROJECT, "local_path", v, &err), -1);
	assert_non_null(strstr(err.message, "local_path:"));
	assert_int_equal(rules_check_field(STORE_PROJECT, "description", v, &err), 0);
	json_decref(v);
	json_t *in = json_pack("{s:s,s:s}", "vault_password", "x", "vault_id", "a@b");
	assert_int_equal(rules_check_field(STORE_CREDENTIAL, "inputs", in, &err), -1);
	assert_non_null(strstr(err.message, "inputs: vault_id:"));
	json_decref(in);
}

/* project_remove_tree removes a link, never what it points to. */
static void test_remove_tree_keeps_link_targets(void **state)
{
	(void)state;
	char base[] = "/tmp/test_field_rules_XXXXXX";
	assert_non_null(mkdtemp(base));
	char victim[128], tree[128], path[256];
	snprintf(victim, sizeof victim, "%s/victim", base);
	snprintf(tree, sizeof tree, "%s/tree", base);
	assert_int_equal(mkdir(victim, 0700), 0);
	snprintf(path, sizeof path, "%s/precious", victim);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("keep", f);
	fclose(f);
	assert_int_equal(mkdir(tree, 0700), 0);
	snprintf(path, sizeof path, "%s/sub", tree);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/sub/out", tree);
	assert_int_equal(symlink(victim, path), 0);
	snprintf(path, sizeof path, "%s/file-link", tree);
	snprintf(victim + strlen(victim), sizeof victim - strlen(victim), "/precious");
	assert_int_equal(symlink(victim, path), 0);
	runnel_error err = {0};
	assert_int_equal(project_remove_tree(tree, &err), 0);
	struct stat sb;
	assert_int_not_equal(lstat(tree, &sb), 0);
	assert_int_equal(stat(victim, &sb), 0);
	assert_int_equal(project_remove_tree(tree, &err), 0); /* gone: nothing to do */
	unlink(victim);
	victim[strlen(victim) - strlen("/precious")] = 0;
	rmdir(victim);
	rmdir(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_local_path),
	    cmocka_unit_test(test_scm_url),
	    cmocka_unit_test(test_git_ref),
	    cmocka_unit_test(test_git_refspec),
	    cmocka_unit_test(test_project_file),
	    cmocka_unit_test(test_cli_values),
	    cmocka_unit_test(test_vault_id_and_scm_type),
	    cmocka_unit_test(test_check_field),
	    cmocka_unit_test(test_remove_tree_keeps_link_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
