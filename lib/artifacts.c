/*
 * artifacts.c - command, status, rc and artifact rotation.
 */
#include "artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

int rn_artifacts_init(const rn_plan *plan, runnel_error *err)
{
	if (rn_mkdirs(plan->artifact_dir, 0700, err) != 0)
		return -1;
	char *ev = rn_path_join(plan->artifact_dir, "job_events");
	int rc = rn_mkdirs(ev, 0700, err);
	free(ev);
	return rc;
}

json_t *rn_artifacts_command_json(const rn_plan *plan)
{
	json_t *argv = json_array();
	for (size_t i = 0; i < plan->argc; i++)
		json_array_append_new(argv,
		                      json_stringn_nocheck(plan->argv[i], strlen(plan->argv[i])));
	json_t *o = json_object();
	json_object_set_new(o, "command", argv);
	json_object_set_new(o, "cwd", json_string(plan->cwd));
	json_object_set(o, "env", plan->env);
	return o;
}

int rn_artifacts_write_command(const rn_plan *plan, runnel_error *err)
{
	json_t *o = rn_artifacts_command_json(plan);
	char *text = json_dumps(o, 0);
	json_decref(o);
	char *path = rn_path_join(plan->artifact_dir, "command");
	int rc = rn_write_file_atomic(path, text, strlen(text), 0600, err);
	free(path);
	free(text);
	return rc;
}

int rn_artifacts_write_text(const rn_plan *plan, const char *name, const char *text,
                            runnel_error *err)
{
	char *path = rn_path_join(plan->artifact_dir, name);
	int rc = rn_write_file_atomic(path, text, strlen(text), 0600, err);
	free(path);
	return rc;
}

void rn_remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d))) {
				if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
					continue;
				char *child = rn_path_join(path, e->d_name);
				rn_remove_tree(child);
				free(child);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

typedef struct aged {
	char *path;
	struct timespec mtime;
} aged;

/* Order entries oldest first. */
static int by_mtime(const void *a, const void *b)
{
	const aged *x = a, *y = b;
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return 0;
}

void rn_artifacts_rotate(const char *artifact_root, int keep)
{
	if (keep < 1)
		return;
	DIR *d = opendir(artifact_root);
	if (!d)
		return;
	aged *all = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = rn_path_join(artifact_root, e->d_name);
		struct stat st;
		if (stat(p, &st) != 0) {
			free(p);
			continue;
		}
		all = rn_xrealloc(all, (n + 1) * sizeof *all);
		all[n].path = p;
		all[n].mtime = st.st_mtim;
		n++;
	}
	closedir(d);
	qsort(all, n, sizeof *all, by_mtime);
	for (size_t i = 0; i < n; i++) {
		if (n - i > (size_t)keep)
			rn_remove_tree(all[i].path);
		free(all[i].path);
	}
	free(all);
}
