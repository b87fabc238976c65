/* test_sandbox.c - what a runneld job may see (service/sandbox.c): the
 * project copy (no link followed, .git left out, modes kept), which paths
 * can be shown to a job without showing a hidden one, the env/settings the
 * worker writes, and a sandbox that cannot start. */
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

#include "artifacts.h"
#include "sandbox.h"
#include "util.h"

/* Write text into dir/name with mode. */
static void put(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *p = rn_path_join(dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

/* The copy is the tree: files with their bits, links as links, no .git. */
static void test_copy_project(void **state)
{
	(void)state;
	char base[] = "/tmp/test_sandbox_XXXXXX";
	assert_non_null(mkdtemp(base));
	char *src = rn_path_join(base, "src"), *dst = rn_path_join(base, "pdd_project");
	assert_int_equal(mkdir(src, 0755), 0);
	put(src, "site.yml", "- hosts: all\n", 0640);
	put(src, "inv.py", "#!/usr/bin/python3\n", 0755);
	char *sub = rn_path_join(src, "roles");
	assert_int_equal(mkdir(sub, 0750), 0);
	put(sub, "main.yml", "x: 1\n", 0600);
	char *git = rn_path_join(src, ".git"), *subgit = rn_path_join(sub, ".git");
	assert_int_equal(mkdir(git, 0755), 0);
	put(git, "config", "[core]\n", 0644);
	put(sub, ".git", "gitdir: elsewhere\n", 0644); /* a submodule's .git file */
	char *link = rn_path_join(src, "secret");
	assert_int_equal(symlink("/etc/shadow", link), 0);
	char *fifo = rn_path_join(src, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);

	runnel_error err = {0};
	assert_int_equal(sandbox_copy_project(src, dst, &err), 0);
	struct stat sb;
	char *p = rn_path_join(dst, "site.yml");
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0640);
	free(p);
	p = rn_path_join(dst, "inv.py");
	assert_int_equal(lstat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0755);
	free(p);
	p = rn_path_join(dst, "roles/main.yml");
	size_t n;
	char *text = rn_read_file(p, &n, &err);
	assert_non_null(text);
	assert_string_equal(text, "x: 1\n");
	free(text);
	free(p);
	/* the link is a link, to where it pointed: never followed */
	p = rn_path_join(dst, "secret");
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	char target[64] = {0};
	assert_int_equal(readlink(p, target, sizeof target - 1), 11);
	assert_string_equal(target, "/etc/shadow");
	free(p);
	/* .git (dir or file, at any depth) and the fifo are not copied */
	const char *gone[] = {".git", "roles/.git", "fifo"};
	for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
		p = rn_path_join(dst, gone[i]);
		assert_int_not_equal(lstat(p, &sb), 0);
		free(p);
	}
	/* a second copy into the same place fails (it never overwrites through a link) */
	assert_int_equal(sandbox_copy_project(src, dst, &err), -1);
	assert_non_null(strstr(err.message, "project copy"));
	/* a missing project: the error names it */
	char *missing = rn_path_join(base, "nope");
	assert_int_equal(sandbox_copy_project(missing, dst, &err), -1);
	assert_non_null(strstr(err.message, missing));
	free(missing);

	rn_remove_tree(base);
	free(src), free(dst), free(sub), free(git), free(subgit), free(link), free(fifo);
}

/* A path shown to a job must not show a hidden one. */
static void test_path_hidden(void **state)
{
	(void)state;
	json_t *hide = json_pack("[s]", "/etc/runneld.conf");
	sandbox_policy p = {.enabled = true,
	                    .state_dir = "/srv/rd/state",
	                    .isolation_base = "/srv/rd/iso",
	                    .projects_root = "/srv/rd/state/projects",
	                    .hide_paths = hide};
	const char *hidden[] = {"/srv/rd/state",
	                        "/srv/rd/state/",
	                        "/srv/rd/state/secret.key",
	                        "/srv/rd/state/projects/_1__p",
	                        "/srv/rd",
	                        "/srv",
	                        "/",
	                        "/srv/rd/iso",
	                        "/srv/rd/iso/job_3_aBcDeF",
	                        "/srv/rd/iso/job_3_aBcDeF/env",
	                        "/srv/rd/iso/project_update_12_x",
	                        "/srv/rd/iso/ad_hoc_command_4_y",
	                        "/srv/rd/iso/inventory_update_5_z/project",
	                        "/etc",
	                        "/etc/runneld.conf",
	                        NULL};
	for (int i = 0; hidden[i]; i++)
		if (!sandbox_path_hidden(&p, hidden[i]))
			fail_msg("%s is shown", hidden[i]);
	const char *shown[] = {"/srv/rd/iso/repo",
	                       "/srv/rd/iso/job_x",
	                       "/srv/rd/iso/jobs/repo",
	                       "/srv/rd/statefile",
	                       "/srv/rd/repo",
	                       "/home/me/repo",
	                       "/etc/ssh",
	                       NULL};
	for (int i = 0; shown[i]; i++)
		if (sandbox_path_hidden(&p, shown[i]))
			fail_msg("%s is refused", shown[i]);
	json_decref(hide);
}

/* The settings the worker writes into env/settings. */
static void test_settings(void **state)
{
	(void)state;
	json_t *show = json_pack("[s]", "/srv/shared");
	sandbox_policy p = {.enabled = true,
	                    .state_dir = "/s",
	                    .isolation_base = "/i",
	                    .projects_root = "/s/projects",
	                    .show_paths = show};
	json_t *s = json_object();
	sandbox_settings(&p, "/i/job_1_abc", s);
	assert_true(sandbox_on(s));
	assert_string_equal(json_string_value(json_object_get(s, "process_isolation_executable")),
	                    "bwrap");
	assert_true(json_is_true(json_object_get(s, "process_isolation_strict")));
	assert_string_equal(json_string_value(json_object_get(s, "process_isolation_path")),
	                    "/i/job_1_abc");
	json_t *hide = json_object_get(s, "process_isolation_hide_paths");
	assert_int_equal(json_array_size(hide), 3);
	assert_string_equal(json_string_value(json_array_get(hide, 0)), "/s");
	assert_string_equal(json_string_value(json_array_get(hide, 1)), "/i");
	assert_string_equal(json_string_value(json_array_get(hide, 2)), "/s/projects");
	sandbox_show(s, "/s/projects/_1__p", false);
	sandbox_show(s, "/srv/repo", true);
	json_t *shown = json_object_get(s, "process_isolation_show_paths");
	assert_int_equal(json_array_size(shown), 2);
	assert_string_equal(json_string_value(json_array_get(shown, 1)), "/s/projects/_1__p");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(s, "process_isolation_ro_paths"), 0)),
	    "/srv/repo");
	json_decref(s);
	/* off: process_isolation false, nothing else */
	p.enabled = false;
	s = json_object();
	sandbox_settings(&p, "/i/job_1_abc", s);
	assert_false(sandbox_on(s));
	assert_int_equal(json_object_size(s), 1);
	json_decref(s);
	json_decref(show);
}

/* A sandbox that cannot start is an error naming job_isolation. */
static void test_probe_fails_clearly(void **state)
{
	(void)state;
	char base[] = "/tmp/test_sandbox_XXXXXX";
	assert_non_null(mkdtemp(base));
	json_t *env = json_pack("{s:s}", "PATH", "/usr/bin:/bin");
	sandbox_policy p = {
	    .enabled = true, .executable = "/nonexistent/bwrap", .state_dir = "/nonexistent/state"};
	json_t *s = json_object();
	sandbox_settings(&p, base, s);
	runnel_error err = {0};
	assert_int_equal(sandbox_probe(s, base, env, NULL, &err), -1);
	assert_non_null(strstr(err.message, "job_isolation"));
	assert_non_null(strstr(err.message, "\"/nonexistent/bwrap\" was not found"));
	json_decref(s);
	/* a program that runs but fails: its exit code, and no job */
	p.executable = "false";
	s = json_object();
	sandbox_settings(&p, base, s);
	assert_int_equal(sandbox_probe(s, base, env, NULL, &err), -1);
	assert_non_null(strstr(err.message, "cannot start (exit code 1)"));
	json_decref(s);
	json_decref(env);
	rn_remove_tree(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_copy_project),
	    cmocka_unit_test(test_path_hidden),
	    cmocka_unit_test(test_settings),
	    cmocka_unit_test(test_probe_fails_clearly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
