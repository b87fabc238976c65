/*
 * sandbox.c - what a runneld job may see (see sandbox.h): the job's
 * env/settings for librunnel's bubblewrap isolation, a probe that the
 * sandbox starts, and the project copy of the private data dir.
 */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts.h"
#include "isolation.h"
#include "plan.h"
#include "shlex.h"
#include "util.h"

/* The array under key in settings, made if missing. Borrowed. */
static json_t *list_of(json_t *settings, const char *key)
{
	json_t *a = json_object_get(settings, key);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(settings, key, a);
	}
	return a;
}

/* Append the strings of src (an array, or NULL) to dst. */
static void add_all(json_t *dst, const json_t *src)
{
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)src, i, v)
		if (json_is_string(v) && *json_string_value(v))
			json_array_append(dst, v);
}

/* Fill the job's isolation settings. */
void sandbox_settings(const sandbox_policy *p, const char *private_data_dir, json_t *settings)
{
	if (!p->enabled) {
		json_object_set_new(settings, "process_isolation", json_false());
		return;
	}
	json_object_set_new(settings, "process_isolation", json_true());
	json_object_set_new(settings, "process_isolation_executable",
	                    json_string(p->executable && *p->executable ? p->executable : "bwrap"));
	json_object_set_new(settings, "process_isolation_strict", json_true());
	/* the stand-ins of hidden paths live in the private data dir: removed
	 * with it, also when the worker was killed */
	json_object_set_new(settings, "process_isolation_path", json_string(private_data_dir));
	json_t *hide = list_of(settings, "process_isolation_hide_paths");
	const char *mine[] = {p->state_dir, p->isolation_base, p->projects_root};
	for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
		if (mine[i] && *mine[i])
			json_array_append_new(hide, json_string(mine[i]));
	add_all(hide, p->hide_paths);
	add_all(list_of(settings, "process_isolation_show_paths"), p->show_paths);
	list_of(settings, "process_isolation_ro_paths");
}

/* True when the job runs sandboxed. */
bool sandbox_on(const json_t *settings)
{
	return json_is_true(json_object_get(settings, "process_isolation"));
}

/* Show a path (rw or ro). */
void sandbox_show(json_t *settings, const char *path, bool ro)
{
	json_array_append_new(
	    list_of(settings, ro ? "process_isolation_ro_paths" : "process_isolation_show_paths"),
	    json_string(path));
}

/* True if a is b or lies inside b (both absolute, resolved). */
static bool inside(const char *a, const char *b)
{
	size_t n = strlen(b);
	while (n > 1 && b[n - 1] == '/')
		n--;
	if (n == 1 && b[0] == '/')
		return true;
	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/');
}

/* realpath, else the path as given. Caller frees. */
static char *resolved(const char *p)
{
	char *r = realpath(p, NULL);
	return r ? r : rn_path_abs(p);
}

/* True if name (the first component of a path below the isolation base)
 * is a private data dir's: <type>_<id>_XXXXXX, as the worker makes them. */
static bool pdd_name(const char *name)
{
	static const char *types[] = {"job_", "ad_hoc_command_", "project_update_",
	                              "inventory_update_", "system_job_"};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		size_t n = strlen(types[i]);
		if (!strncmp(name, types[i], n) && name[n] >= '0' && name[n] <= '9')
			return true;
	}
	return false;
}

/* Whether showing path would show a hidden one. */
bool sandbox_path_hidden(const sandbox_policy *p, const char *path)
{
	char *r = resolved(path);
	bool hit = false;
	const char *hidden[] = {p->state_dir, p->projects_root};
	for (size_t i = 0; i < sizeof hidden / sizeof hidden[0] && !hit; i++) {
		if (!hidden[i])
			continue;
		char *h = resolved(hidden[i]);
		hit = inside(r, h) || inside(h, r);
		free(h);
	}
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)p->hide_paths, i, v) {
		if (hit || !json_string_value(v))
			continue;
		char *h = resolved(json_string_value(v));
		hit = inside(r, h) || inside(h, r);
		free(h);
	}
	if (!hit && p->isolation_base) {
		char *b = resolved(p->isolation_base);
		size_t n = strlen(b);
		if (inside(b, r))
			hit = true; /* the base itself, or a parent of it */
		else if (inside(r, b))
			hit = pdd_name(r + (n == 1 ? 1 : n + 1));
		free(b);
	}
	free(r);
	return hit;
}

/* Run `true` in the job's sandbox. */
int sandbox_probe(const json_t *settings, const char *private_data_dir, const json_t *env,
                  runnel_canceler *canceler, runnel_error *err)
{
	const char *exe =
	    json_string_value(json_object_get(settings, "process_isolation_executable"));
	if (!exe)
		exe = "bwrap";
	char *found = rn_which(exe, env);
	if (!found)
		return rn_fail(err, ENOENT,
		               "job_isolation: the sandbox cannot start: the bubblewrap executable "
		               "\"%s\" was not found (job_isolation_executable; install the "
		               "bubblewrap package). The job did not run: runneld never runs a "
		               "job unsandboxed unless job_isolation is false.",
		               exe);
	free(found);
	const char *probe[] = {"true", NULL};
	char **argv = NULL, *tmp = NULL;
	runnel_error e2 = {0};
	if (rn_isolation_wrap_argv(settings, private_data_dir, env, probe, &argv, &tmp, &e2) < 0)
		return rn_fail(err, e2.code, "job_isolation: the sandbox cannot be set up: %s",
		               e2.message);
	runnel_tool tool = {.argv = (const char *const *)argv,
	                    .cwd = private_data_dir,
	                    .envvars = (json_t *)env,
	                    .timeout = 120,
	                    .max_output = 4096,
	                    .canceler = canceler,
	                    .cancel_grace_period = 0.5,
	                    .clean_environment = true};
	runnel_tool_result tr = {0};
	int rc = runnel_tool_run(&tool, &tr, &e2);
	if (tmp) {
		rn_remove_tree(tmp);
		free(tmp);
	}
	rn_argv_free(argv);
	if (rc < 0)
		return rn_fail(err, e2.code, "job_isolation: the sandbox (%s) cannot start: %s",
		               exe, e2.message);
	if (tr.canceled) {
		runnel_tool_result_clear(&tr);
		return rn_fail(err, ECANCELED, "job_isolation: canceled while the sandbox started");
	}
	if (tr.rc != 0) {
		/* bwrap says why on stderr: its first line */
		size_t n = 0;
		while (tr.err && n < tr.err_len && tr.err[n] != '\n')
			n++;
		rn_fail(err, EPERM,
		        "job_isolation: the sandbox (%s) cannot start (exit code %d): %.*s. The "
		        "job did not run: runneld never runs a job unsandboxed unless "
		        "job_isolation is false.",
		        exe, tr.rc, (int)(n ? n : 10), n ? tr.err : "no message");
		runnel_tool_result_clear(&tr);
		return -1;
	}
	runnel_tool_result_clear(&tr);
	return 0;
}

/* Copy one regular file's bytes (fds open), keeping its permission bits. */
static int copy_file(int sfd, int dfd, const char *name, mode_t mode, const char *shown,
                     runnel_error *err)
{
	int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return rn_fail(err, errno, "project copy: cannot read %s: %s", shown,
		               strerror(errno));
	int out =
	    openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
	if (out < 0) {
		int e = errno;
		close(in);
		return rn_fail(err, e, "project copy: cannot create %s: %s", shown, strerror(e));
	}
	char buf[65536];
	int rc = 0;
	for (;;) {
		ssize_t r = read(in, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0)
				rc = rn_fail(err, errno, "project copy: cannot read %s: %s", shown,
				             strerror(errno));
			break;
		}
		if (rn_write_all(out, buf, (size_t)r) < 0) {
			rc = rn_fail(err, errno, "project copy: cannot write %s: %s", shown,
			             strerror(errno));
			break;
		}
	}
	fchmod(out, mode & 0777); /* the umask may have taken bits off */
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = rn_fail(err, errno, "project copy: cannot write %s: %s", shown,
		             strerror(errno));
	return rc;
}

/* Copy the entries of the open directory sfd into dfd; rel names it. */
static int copy_dir(int sfd, int dfd, const char *rel, int depth, runnel_error *err)
{
	if (depth > 64)
		return rn_fail(err, ELOOP, "project copy: %s is nested too deep", rel);
	int lfd = dup(sfd);
	DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
	if (!d) {
		if (lfd >= 0)
			close(lfd);
		return rn_fail(err, errno, "project copy: cannot list %s: %s", rel,
		               strerror(errno));
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		const char *name = de->d_name;
		if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, ".git"))
			continue;
		char *shown = rn_path_join(rel, name);
		struct stat st;
		if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = rn_fail(err, errno, "project copy: %s: %s", shown, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dfd, name, 0700) < 0) {
				rc = rn_fail(err, errno, "project copy: cannot create %s: %s",
				             shown, strerror(errno));
			} else {
				int s2 = openat(sfd, name,
				                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				int d2 = openat(dfd, name,
				                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (s2 < 0 || d2 < 0)
					rc = rn_fail(err, errno, "project copy: cannot open %s: %s",
					             shown, strerror(errno));
				else
					rc = copy_dir(s2, d2, shown, depth + 1, err);
				if (d2 >= 0) {
					fchmod(d2, (st.st_mode & 0777) | 0700);
					close(d2);
				}
				if (s2 >= 0)
					close(s2);
			}
		} else if (S_ISREG(st.st_mode)) {
			rc = copy_file(sfd, dfd, name, st.st_mode, shown, err);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(sfd, name, target, sizeof target - 1);
			if (n < 0) {
				rc =
				    rn_fail(err, errno, "project copy: cannot read the link %s: %s",
				            shown, strerror(errno));
			} else {
				target[n] = '\0';
				if (symlinkat(target, dfd, name) < 0)
					rc = rn_fail(err, errno,
					             "project copy: cannot create the link %s: %s",
					             shown, strerror(errno));
			}
		}
		/* sockets, fifos, devices: not part of a project */
		free(shown);
	}
	closedir(d);
	return rc;
}

/* Copy a project into dst. */
int sandbox_copy_project(const char *src, const char *dst, runnel_error *err)
{
	int sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return rn_fail(err, errno, "project copy: cannot open the project %s: %s", src,
		               strerror(errno));
	if (mkdir(dst, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		close(sfd);
		return rn_fail(err, e, "project copy: cannot create %s: %s", dst, strerror(e));
	}
	int dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		int e = errno;
		close(sfd);
		return rn_fail(err, e, "project copy: cannot open %s: %s", dst, strerror(e));
	}
	int rc = copy_dir(sfd, dfd, src, 0, err);
	close(dfd);
	close(sfd);
	return rc;
}
