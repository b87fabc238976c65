/*
 * isolation.c - bubblewrap and container command lines (see isolation.h).
 */
#include "isolation.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "artifacts.h"
#include "shlex.h"
#include "util.h"

/* A string list from the config (NULL-terminated) as a JSON array. */
static json_t *list_from_config(const char *const *list)
{
	json_t *a = json_array();
	for (size_t i = 0; list && list[i]; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

/* A settings value that should be a list of strings (a lone string counts). */
static json_t *list_setting(const json_t *settings, const char *key, const char *const *dflt)
{
	json_t *v = json_object_get(settings, key);
	if (json_is_array(v))
		return json_incref(v);
	if (json_is_string(v)) {
		json_t *a = json_array();
		json_array_append(a, v);
		return a;
	}
	return list_from_config(dflt);
}

/* A settings string, else the config's, else a default. */
static const char *str_setting(const json_t *settings, const char *key, const char *cfg,
                               const char *dflt)
{
	const char *v = json_string_value(json_object_get(settings, key));
	return v ? v : cfg ? cfg : dflt;
}

void rn_isolation_load(const runnel_config *cfg, const json_t *settings, rn_isolation *iso)
{
	memset(iso, 0, sizeof *iso);
	json_t *pi = json_object_get(settings, "process_isolation");
	iso->enabled = pi ? json_is_true(pi) : cfg->process_isolation;
	iso->strict = json_is_true(json_object_get(settings, "process_isolation_strict"));
	iso->executable = str_setting(settings, "process_isolation_executable",
	                              cfg->process_isolation_executable, "podman");
	iso->path =
	    str_setting(settings, "process_isolation_path", cfg->process_isolation_path, "/tmp");
	iso->hide = list_setting(settings, "process_isolation_hide_paths",
	                         cfg->process_isolation_hide_paths);
	iso->show = list_setting(settings, "process_isolation_show_paths",
	                         cfg->process_isolation_show_paths);
	iso->ro =
	    list_setting(settings, "process_isolation_ro_paths", cfg->process_isolation_ro_paths);
	iso->directory_base = str_setting(settings, "directory_isolation_base_path",
	                                  cfg->directory_isolation_base_path, NULL);
	iso->image = str_setting(settings, "container_image", cfg->container_image,
	                         "quay.io/ansible/ansible-runner:devel");
	iso->volume_mounts =
	    list_setting(settings, "container_volume_mounts", cfg->container_volume_mounts);
	iso->options = list_setting(settings, "container_options", cfg->container_options);
}

void rn_isolation_clear(rn_isolation *iso)
{
	json_decref(iso->hide);
	json_decref(iso->show);
	json_decref(iso->ro);
	json_decref(iso->volume_mounts);
	json_decref(iso->options);
	memset(iso, 0, sizeof *iso);
}

bool rn_isolation_is_container(const rn_isolation *iso)
{
	return !strcmp(iso->executable, "podman") || !strcmp(iso->executable, "docker");
}

/* Append one argument to plan-style argv. */
static void push(char ***argv, size_t *argc, const char *a)
{
	*argv = rn_xrealloc(*argv, (*argc + 2) * sizeof **argv);
	(*argv)[(*argc)++] = rn_xstrdup(a);
	(*argv)[*argc] = NULL;
}

/* Prepend the wrapper argv to the plan's command. */
static void wrap(rn_plan *plan, char **pre, size_t npre)
{
	for (size_t i = 0; i < plan->argc; i++)
		push(&pre, &npre, plan->argv[i]);
	rn_argv_free(plan->argv);
	plan->argv = pre;
	plan->argc = npre;
}

/* Compare strings for qsort. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sorted(set(list)) of a JSON string array; returns a NULL-terminated array
 * of borrowed strings (free the array only). */
static const char **sorted_unique(const json_t *list, size_t *n)
{
	size_t cap = json_array_size(list), k = 0;
	const char **out = rn_xmalloc((cap + 1) * sizeof *out);
	for (size_t i = 0; i < cap; i++) {
		const char *s = json_string_value(json_array_get(list, i));
		if (s)
			out[k++] = s;
	}
	qsort(out, k, sizeof *out, cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (u == 0 || strcmp(out[u - 1], out[i]) != 0)
			out[u++] = out[i];
	out[u] = NULL;
	*n = u;
	return out;
}

/* realpath() that keeps the path when it cannot be resolved. */
static char *real(const char *p)
{
	char *r = realpath(p, NULL);
	return r ? r : rn_xstrdup(p);
}

/* Copy a tree (files, dirs, symlinks kept as links), keeping modes: cp -a
 * keeps modes, times and symlinks exactly as shutil.copytree(symlinks=True).
 * cp runs from an argv (no shell), "--" before its paths. */
static int copy_tree(const char *src, const char *dst, runnel_error *err)
{
	char *from = rn_path_join(src, ".");
	char *const argv[] = {"cp", "-a", "--", from, (char *)dst, NULL};
	int status = 0;
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	free(from);
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return rn_fail(err, EIO, "cannot copy the project %s to %s for directory isolation",
		               src, dst);
	return 0;
}

int rn_isolation_copy_project(const rn_isolation *iso, rn_plan *plan, runnel_error *err)
{
	if (!iso->directory_base)
		return 0;
	if (!rn_is_dir(iso->directory_base))
		return rn_fail(
		    err, ENOENT,
		    "directory_isolation_base_path: %s does not exist or is not a directory",
		    iso->directory_base);
	char *tmpl = rn_path_join(iso->directory_base, "runner_di_XXXXXX");
	if (!mkdtemp(tmpl)) {
		int e = errno;
		rn_fail(err, e,
		        "directory_isolation_base_path: cannot create a directory in %s: %s",
		        iso->directory_base, strerror(e));
		free(tmpl);
		return -1;
	}
	plan->directory_isolation_path = tmpl;
	if (rn_is_dir(plan->project_dir))
		return copy_tree(plan->project_dir, tmpl, err);
	return 0;
}

int rn_isolation_wrap_bwrap(const rn_isolation *iso, rn_plan *plan, runnel_error *err)
{
	if (!rn_is_dir(iso->path))
		return rn_fail(err, ENOENT,
		               "process_isolation_path: %s does not exist or is not a directory",
		               iso->path);
	char *tmp = rn_path_join(iso->path, "ansible_runner_pi_XXXXXX");
	if (!mkdtemp(tmp)) {
		int e = errno;
		rn_fail(err, e, "process_isolation_path: cannot create a directory in %s: %s",
		        iso->path, strerror(e));
		free(tmp);
		return -1;
	}
	chmod(tmp, 0700);
	plan->isolation_tmp = tmp;

	char **argv = NULL;
	size_t argc = 0;
	push(&argv, &argc, iso->executable ? iso->executable : "bwrap");
	push(&argv, &argc, "--die-with-parent");
	push(&argv, &argc, "--unshare-pid");
	if (iso->strict) {
		/* runnel's process_isolation_strict: a job run as root keeps no
		 * capability (with CAP_SYS_ADMIN it could unmount a hidden path's
		 * stand-in and read what is under it), gets a /dev of its own
		 * (null, zero, random, tty, pts...: no disk to read raw) and no
		 * SysV IPC of the host */
		static const char *strict[] = {"--unshare-ipc", "--cap-drop", "ALL", "--dev",
		                               "/dev"};
		for (size_t i = 0; i < sizeof strict / sizeof strict[0]; i++)
			push(&argv, &argc, strict[i]);
	} else {
		push(&argv, &argc, "--dev-bind");
		push(&argv, &argc, "/dev");
		push(&argv, &argc, "dev");
	}
	static const char *fixed[] = {"--proc", "/proc", "--dir", "/tmp"};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		push(&argv, &argc, fixed[i]);
	/* The system, read-only. Upstream binds /bin /etc /usr /opt and links
	 * /lib64, which cannot start anything on a merged-/usr system (Debian 12:
	 * /bin and /lib are symlinks into /usr, and /lib is missing). Mirror
	 * each top-level entry as it is: a symlink stays a symlink, a directory
	 * is bound read-only, an absent one is left out. */
	static const char *system_dirs[] = {"/bin", "/etc",   "/usr",   "/opt",   "/sbin",
	                                    "/lib", "/lib32", "/lib64", "/libx32"};
	for (size_t i = 0; i < sizeof system_dirs / sizeof system_dirs[0]; i++) {
		const char *d = system_dirs[i];
		char target[4096];
		ssize_t tl = readlink(d, target, sizeof target - 1);
		if (tl > 0) {
			target[tl] = '\0';
			push(&argv, &argc, "--symlink");
			push(&argv, &argc, target);
			push(&argv, &argc, d);
		} else if (rn_is_dir(d)) {
			push(&argv, &argc, "--ro-bind");
			push(&argv, &argc, d);
			push(&argv, &argc, d);
		}
	}

	size_t n;
	const char **hide = sorted_unique(iso->hide, &n);
	for (size_t i = 0; i < n; i++) {
		if (!rn_exists(hide[i])) {
			fprintf(
			    stderr,
			    "runnel: warning: process_isolation_hide_paths: %s does not exist\n",
			    hide[i]);
			continue;
		}
		char *path = real(hide[i]);
		char *stand_in;
		if (rn_is_dir(path)) {
			stand_in = rn_path_join(tmp, "hideXXXXXX");
			if (!mkdtemp(stand_in)) {
				free(stand_in);
				free(path);
				continue;
			}
			chmod(stand_in, 0700);
		} else {
			stand_in = rn_path_join(tmp, "hideXXXXXX");
			int fd = mkstemp(stand_in);
			if (fd < 0) {
				free(stand_in);
				free(path);
				continue;
			}
			close(fd);
			chmod(stand_in, 0600);
		}
		push(&argv, &argc, "--bind");
		push(&argv, &argc, stand_in);
		push(&argv, &argc, path);
		free(stand_in);
		free(path);
	}
	free(hide);

	const char **ro = sorted_unique(iso->ro, &n);
	for (size_t i = 0; i < n; i++) {
		if (!rn_exists(ro[i])) {
			fprintf(stderr,
			        "runnel: warning: process_isolation_ro_paths: %s does not exist\n",
			        ro[i]);
			continue;
		}
		char *path = real(ro[i]);
		push(&argv, &argc, "--ro-bind");
		push(&argv, &argc, path);
		push(&argv, &argc, path);
		free(path);
	}
	free(ro);

	/* the callback plugin must be visible to ansible inside the sandbox
	 * (upstream's lives under /usr; runnel's may not) */
	const char *cb = json_string_value(json_object_get(plan->env, "ANSIBLE_CALLBACK_PLUGINS"));
	char *cbs = rn_xstrdup(cb ? cb : "");
	for (char *save, *d = strtok_r(cbs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (!rn_is_dir(d) || !strncmp(d, "/usr/", 5) || !strncmp(d, "/etc/", 5) ||
		    !strncmp(d, "/opt/", 5))
			continue;
		char *path = real(d);
		push(&argv, &argc, "--ro-bind");
		push(&argv, &argc, path);
		push(&argv, &argc, path);
		free(path);
	}
	free(cbs);

	json_t *show = json_array();
	json_array_append_new(show, json_string(plan->private_data_dir));
	json_array_extend(show, iso->show);
	const char **shown = sorted_unique(show, &n);
	for (size_t i = 0; i < n; i++) {
		if (!rn_exists(shown[i])) {
			fprintf(
			    stderr,
			    "runnel: warning: process_isolation_show_paths: %s does not exist\n",
			    shown[i]);
			continue;
		}
		char *path = real(shown[i]);
		push(&argv, &argc, "--bind");
		push(&argv, &argc, path);
		push(&argv, &argc, path);
		free(path);
	}
	free(shown);
	json_decref(show);

	if (plan->mode == RN_EXEC_PLAYBOOK) {
		char *dir = real(plan->directory_isolation_path ? plan->directory_isolation_path
		                                                : plan->project_dir);
		push(&argv, &argc, "--chdir");
		push(&argv, &argc, dir);
		free(dir);
	} else if (plan->mode == RN_EXEC_ADHOC) {
		char *dir = real(plan->private_data_dir);
		push(&argv, &argc, "--chdir");
		push(&argv, &argc, dir);
		free(dir);
	}
	wrap(plan, argv, argc);
	plan->sandboxed = true;
	return 0;
}

int rn_isolation_wrap_argv(const json_t *settings, const char *private_data_dir, const json_t *env,
                           const char *const *argv, char ***wrapped, char **tmp_dir,
                           runnel_error *err)
{
	*wrapped = NULL;
	*tmp_dir = NULL;
	runnel_config cfg = {0};
	rn_isolation iso;
	rn_isolation_load(&cfg, settings, &iso);
	rn_plan plan = {0};
	plan.private_data_dir = rn_path_abs(private_data_dir);
	plan.mode = RN_EXEC_RAW;
	plan.env = json_incref((json_t *)env);
	for (size_t i = 0; argv[i]; i++)
		push(&plan.argv, &plan.argc, argv[i]);
	int rc = rn_isolation_wrap_bwrap(&iso, &plan, err);
	if (rc == 0) {
		*wrapped = plan.argv;
		*tmp_dir = plan.isolation_tmp;
		plan.argv = NULL;
		plan.isolation_tmp = NULL;
	}
	rn_isolation_cleanup(&plan);
	rn_plan_clear(&plan);
	rn_isolation_clear(&iso);
	return rc;
}

/* Refuse to mount '/', '/home' or '/usr' into a container (upstream's rule). */
static int safe_to_mount(const char *path, runnel_error *err)
{
	char *dir = rn_is_file(path) ? rn_xstrdup(path) : NULL;
	if (dir) {
		char *slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
	}
	const char *p = dir ? dir : path;
	size_t l = strlen(p);
	while (l > 1 && p[l - 1] == '/')
		l--;
	int bad = (l == 1 && p[0] == '/') || (l == 5 && !strncmp(p, "/home", 5)) ||
	          (l == 4 && !strncmp(p, "/usr", 4));
	free(dir);
	if (bad)
		return rn_fail(
		    err, EINVAL,
		    "When using containerized execution, cannot mount '/' or '/home' or '/usr'");
	return 0;
}

/* Add "-v src/:dst/[:labels]" the way upstream's _update_volume_mount_paths does. */
static int add_mount(char ***argv, size_t *argc, const char *src, const char *dst,
                     const char *labels, runnel_error *err)
{
	if (!src || !rn_exists(src))
		return 0;
	char *s = rn_path_abs(src);
	char *d = dst ? rn_path_abs(dst) : rn_xstrdup(s);
	int isdir = rn_is_dir(s);
	if (!isdir) {
		char *slash = strrchr(s, '/');
		if (slash)
			*slash = '\0';
		slash = strrchr(d, '/');
		if (slash)
			*slash = '\0';
	}
	int rc = 0;
	if (safe_to_mount(*s ? s : "/", err) != 0 || safe_to_mount(*d ? d : "/", err) != 0) {
		rc = -1;
	} else {
		char *m = rn_xasprintf("%s/:%s/%s%s", s, d, labels && labels[0] != ':' ? ":" : "",
		                       labels ? labels : "");
		int seen = 0;
		for (size_t i = 0; i < *argc; i++)
			seen |= !strcmp((*argv)[i], m);
		if (!seen) {
			push(argv, argc, "-v");
			push(argv, argc, m);
		}
		free(m);
	}
	free(s);
	free(d);
	return rc;
}

int rn_isolation_wrap_container(const rn_isolation *iso, rn_plan *plan, runnel_error *err)
{
	char **argv = NULL;
	size_t argc = 0;
	push(&argv, &argc, iso->executable);
	push(&argv, &argc, "run");
	push(&argv, &argc, "--rm");
	push(&argv, &argc, "--tty");
	push(&argv, &argc, "--interactive");
	push(&argv, &argc, "--workdir");
	push(&argv, &argc, "/runner/project");
	free(plan->cwd);
	plan->cwd = rn_xstrdup("/runner/project");

	char *arts = rn_path_join(plan->private_data_dir, "artifacts");
	if (rn_mkdirs(arts, 0700, err) != 0) {
		free(arts);
		rn_argv_free(argv);
		return -1;
	}
	free(arts);
	if (add_mount(&argv, &argc, plan->private_data_dir, "/runner", ":Z", err) != 0)
		goto fail;
	for (size_t i = 0; i < json_array_size(iso->volume_mounts); i++) {
		const char *m = json_string_value(json_array_get(iso->volume_mounts, i));
		if (!m)
			continue;
		char *copy = rn_xstrdup(m);
		char *dst = strchr(copy, ':');
		char *labels = NULL;
		if (dst) {
			*dst++ = '\0';
			labels = strchr(dst, ':');
			if (labels)
				*labels++ = '\0';
		}
		char *lab = labels ? rn_xasprintf(":%s", labels) : NULL;
		int rc = safe_to_mount(copy, err) == 0
		             ? add_mount(&argv, &argc, copy, dst, lab, err)
		             : -1;
		free(lab);
		free(copy);
		if (rc != 0)
			goto fail;
	}
	char *env_list = rn_path_join(plan->artifact_dir, "env.list");
	push(&argv, &argc, "--env-file");
	push(&argv, &argc, env_list);
	/* env.list: the job's environment for the engine to pass in */
	rn_buf b;
	rn_buf_init(&b);
	const char *k;
	json_t *v;
	int first = 1;
	json_object_foreach(plan->env, k, v) {
		char *line = rn_xasprintf("%s%s=%s", first ? "" : "\n", k, json_string_value(v));
		rn_buf_append(&b, line, strlen(line));
		free(line);
		first = 0;
	}
	int wrc = rn_write_file_atomic(env_list, b.data ? b.data : "", b.len, 0600, err);
	rn_buf_free(&b);
	free(env_list);
	if (wrc != 0)
		goto fail;
	if (strstr(iso->executable, "podman"))
		push(&argv, &argc, "--quiet");
	if (strstr(iso->executable, "docker")) {
		char user[32];
		snprintf(user, sizeof user, "--user=%u", (unsigned)getuid());
		push(&argv, &argc, user);
	}
	push(&argv, &argc, "--name");
	push(&argv, &argc, plan->container_name);
	for (size_t i = 0; i < json_array_size(iso->options); i++) {
		const char *o = json_string_value(json_array_get(iso->options, i));
		if (o)
			push(&argv, &argc, o);
	}
	push(&argv, &argc, iso->image);
	wrap(plan, argv, argc);
	plan->containerized = true;
	return 0;
fail:
	rn_argv_free(argv);
	return -1;
}

void rn_isolation_cleanup(rn_plan *plan)
{
	if (plan->isolation_tmp)
		rn_remove_tree(plan->isolation_tmp);
	if (plan->directory_isolation_path && plan->directory_isolation_cleanup)
		rn_remove_tree(plan->directory_isolation_path);
}
