/*
 * project_files.c - where a project's files are (see project_files.h).
 * AWX's references: awx/main/models/projects.py (get_local_path_choices,
 * get_project_path, playbooks), awx/api/serializers.py
 * (ProjectOptionsSerializer.validate).
 */
#include "project_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "field_rules.h"
#include "util.h"

char *project_dir(const char *projects_root, const json_t *project, runnel_error *err)
{
	const char *lp = json_string_value(json_object_get(project, "local_path"));
	if (!lp || !*lp) {
		rn_fail(err, EINVAL,
		        "project: The project has no local_path (a git project gets one on its "
		        "first update).");
		return NULL;
	}
	if (rules_local_path("local_path", lp, err) < 0)
		return NULL;
	char *dir = rn_path_join(projects_root, lp);
	struct stat sb;
	if (lstat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
		rn_fail(err, EINVAL, "local_path: %s is not a directory under the projects root.",
		        lp);
		free(dir);
		return NULL;
	}
	return dir;
}

/* True if a project other than except_id uses local_path name. */
static bool path_used(store *st, const char *name, long except_id)
{
	json_t *f = json_pack("{s:s}", "local_path", name);
	store_query q = {.filters = f, .order_by = "id", .page = 1, .page_size = 2};
	store_page page = {0};
	runnel_error err = {0};
	bool used = true; /* when the store cannot say, the path is not free */
	if (store_list(st, STORE_PROJECT, &q, &page, &err) == 0) {
		used = false;
		size_t i;
		json_t *p;
		json_array_foreach(page.results, i, p)
			if (json_integer_value(json_object_get(p, "id")) != except_id)
				used = true;
	}
	store_page_clear(&page);
	json_decref(f);
	return used;
}

/* True if name is a directory (not a symlink) directly under root. */
static bool is_choosable_dir(const char *root, const char *name)
{
	if (name[0] == '.' || name[0] == '_' || rules_local_path("local_path", name, NULL) < 0)
		return false;
	int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return false;
	struct stat sb;
	bool ok = fstatat(rfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
	close(rfd);
	return ok;
}

/* Order strings for qsort. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A new array of the strings of arr, sorted. */
static json_t *sorted_strings(const json_t *arr)
{
	size_t n = json_array_size(arr);
	const char **names = rn_xmalloc((n + 1) * sizeof *names);
	for (size_t i = 0; i < n; i++)
		names[i] = json_string_value(json_array_get(arr, i));
	qsort(names, n, sizeof *names, cmp_str);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, json_string(names[i]));
	free(names);
	return out;
}

json_t *project_local_path_choices(store *st, const char *projects_root, long except_id)
{
	json_t *found = json_array();
	DIR *d = projects_root ? opendir(projects_root) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d)) && json_array_size(found) < 1000)
		if (is_choosable_dir(projects_root, de->d_name) &&
		    !path_used(st, de->d_name, except_id))
			json_array_append_new(found, json_string(de->d_name));
	if (d)
		closedir(d);
	json_t *out = sorted_strings(found);
	json_decref(found);
	return out;
}

int project_check_fields(store *st, const char *projects_root, const json_t *current, json_t *body,
                         runnel_error *err)
{
	json_t *t = json_object_get(body, "scm_type");
	const char *scm_type = json_is_string(t) ? json_string_value(t)
	                       : current ? json_string_value(json_object_get(current, "scm_type"))
	                                 : "";
	json_t *lpv = json_object_get(body, "local_path");
	if (!lpv || json_is_null(lpv))
		return 0;
	if (!json_is_string(lpv))
		return rn_fail(err, EINVAL, "local_path: Not a valid string.");
	const char *lp = json_string_value(lpv);
	if (rules_local_path("local_path", lp, err) < 0)
		return -1;
	const char *cur =
	    current ? json_string_value(json_object_get(current, "local_path")) : NULL;
	long id = current ? (long)json_integer_value(json_object_get(current, "id")) : 0;
	bool same = cur && !strcmp(cur, lp);
	if (scm_type && *scm_type) {
		if (current && !same && cur && *cur)
			return rn_fail(err, EINVAL,
			               "local_path: Cannot change local_path for %s-based projects",
			               scm_type);
		/* AWX: a source control project's directory is named by the server */
		json_object_del(body, "local_path");
		return 0;
	}
	if (!*lp || same)
		return 0;
	if (lp[0] == '_')
		return rn_fail(
		    err, EINVAL,
		    "local_path: directories starting with '_' hold the checkouts of git projects; "
		    "choose another directory under the projects root.");
	if (!is_choosable_dir(projects_root, lp)) {
		json_t *choices = project_local_path_choices(st, projects_root, id);
		char *list = json_dumps(choices, JSON_COMPACT);
		rn_fail(err, EINVAL,
		        "local_path: \"%s\" is not a directory under the projects root (%s); "
		        "choices: %s",
		        lp, projects_root, list ? list : "[]");
		free(list);
		json_decref(choices);
		return -1;
	}
	if (path_used(st, lp, id))
		return rn_fail(
		    err, EINVAL,
		    "local_path: This path is already being used by another manual project.");
	return 0;
}

int project_file_inside(const char *dir, const char *rel, const char *field, runnel_error *err)
{
	if (!rel || !*rel)
		return rn_fail(err, EINVAL, "%s: This field is required.", field);
	if (rules_project_file(field, rel, err) < 0)
		return -1;
	char rdir[PATH_MAX], rfull[PATH_MAX];
	if (!realpath(dir, rdir))
		return rn_fail(err, EINVAL,
		               "project: The project directory does not exist (not updated yet?).");
	char *full = rn_path_join(dir, rel);
	bool found = realpath(full, rfull) != NULL;
	free(full);
	struct stat sb;
	size_t n = strlen(rdir);
	if (found && (strncmp(rfull, rdir, n) || rfull[n] != '/'))
		return rn_fail(err, EINVAL, "%s: %s is outside the project.", field, rel);
	if (!found || stat(rfull, &sb) != 0 || !S_ISREG(sb.st_mode))
		return rn_fail(err, EINVAL, "%s: %s not found in the project.", field, rel);
	return 0;
}

/* True for directories a playbook search skips (as AWX's skip_directory). */
static bool skip_dir(const char *name)
{
	static const char *const skip[] = {"roles",     "group_vars",  "host_vars", "tasks",
	                                   "handlers",  "vars",        "defaults",  "meta",
	                                   "templates", "collections", "files",     NULL};
	if (name[0] == '.')
		return true;
	for (int i = 0; skip[i]; i++)
		if (!strcmp(name, skip[i]))
			return true;
	return false;
}

/* True if name ends in .yml or .yaml. */
static bool yaml_name(const char *name)
{
	size_t n = strlen(name);
	return (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".yaml"));
}

/* True if the file name in dfd is a regular file holding a play. Opened
 * without following a symlink and without blocking (a FIFO swapped in). */
static bool looks_like_playbook(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return false;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return false;
	}
	char line[512];
	bool play = false;
	for (int n = 0; !play && n < 200 && fgets(line, sizeof line, f); n++)
		play = strstr(line, "hosts:") || strstr(line, "import_playbook:");
	fclose(f);
	return play;
}

/* Collect the playbooks of the directory open as dfd (taken: closed here);
 * rel is its path in the project. */
static void find_playbooks(int dfd, const char *rel, int depth, json_t *out)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) && json_array_size(out) < 1000) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		struct stat sb;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		char *r = *rel ? rn_path_join(rel, de->d_name) : rn_xstrdup(de->d_name);
		if (S_ISDIR(sb.st_mode) && depth < 4 && !skip_dir(de->d_name)) {
			int cfd = openat(dirfd(d), de->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0)
				find_playbooks(cfd, r, depth + 1, out);
		} else if (S_ISREG(sb.st_mode) && yaml_name(de->d_name) &&
		           looks_like_playbook(dirfd(d), de->d_name)) {
			json_array_append_new(out, json_string(r));
		}
		free(r);
	}
	closedir(d);
}

json_t *project_playbooks(const char *dir)
{
	json_t *found = json_array();
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)
		find_playbooks(fd, "", 0, found);
	json_t *out = sorted_strings(found);
	json_decref(found);
	return out;
}

/* Remove name in the directory pfd (on filesystem dev); path is for messages. */
static int remove_at(int pfd, const char *name, dev_t dev, const char *path, runnel_error *err)
{
	struct stat sb;
	if (fstatat(pfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT
		           ? 0
		           : rn_fail(err, errno, "cannot remove %s: %s", path, strerror(errno));
	if (!S_ISDIR(sb.st_mode)) {
		if (unlinkat(pfd, name, 0) != 0 && errno != ENOENT)
			return rn_fail(err, errno, "cannot remove %s: %s", path, strerror(errno));
		return 0;
	}
	if (sb.st_dev != dev)
		return rn_fail(err, EXDEV, "cannot remove %s: it holds a mount point", path);
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return rn_fail(err, e, "cannot remove %s: %s", path, strerror(e));
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rc = remove_at(dirfd(d), de->d_name, dev, path, err);
	}
	closedir(d);
	if (rc == 0 && unlinkat(pfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = rn_fail(err, errno, "cannot remove %s: %s", path, strerror(errno));
	return rc;
}

int project_remove_tree(const char *dir, runnel_error *err)
{
	char *parent = rn_xstrdup(dir);
	char *slash = strrchr(parent, '/');
	const char *base = slash ? slash + 1 : dir;
	if (slash == parent)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		strcpy(parent, ".");
	int rc = 0;
	int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat sb;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		rc = rn_fail(err, EINVAL, "cannot remove %s: not a directory name", dir);
	else if (pfd < 0)
		rc = errno == ENOENT
		         ? 0
		         : rn_fail(err, errno, "cannot remove %s: %s", dir, strerror(errno));
	else if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		rc = remove_at(pfd, base, sb.st_dev, dir, err);
	if (pfd >= 0)
		close(pfd);
	free(parent);
	return rc;
}
