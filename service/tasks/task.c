/*
 * task.c - what every job type (tasks/<type>.c) reads of its job: its
 * fields, its variables (parsed within the runner's loader bounds), its
 * project's directory and the files in it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datafile.h"
#include "project_files.h"
#include "task.h"
#include "util.h"

/* Keep s until the end of the task. */
const char *task_keep(task *t, char *s)
{
	if (t->nstrings < (int)(sizeof t->strings / sizeof t->strings[0]))
		t->strings[t->nstrings++] = s;
	return s;
}

/* A string field of the job ("" if absent). */
const char *task_str(task *t, const char *field)
{
	const char *s = json_string_value(json_object_get(t->job, field));
	return s ? s : "";
}

/* An integer field of the job (0 if absent). */
long task_int(task *t, const char *field)
{
	return (long)json_integer_value(json_object_get(t->job, field));
}

/* A boolean field of the job. */
bool task_bool(task *t, const char *field)
{
	return json_is_true(json_object_get(t->job, field));
}

/* A string of the job's summary_fields (task.h). */
const char *task_summary(task *t, const char *fk, const char *key)
{
	json_t *sf = json_object_get(json_object_get(t->job, "summary_fields"), fk);
	return json_string_value(json_object_get(sf, key));
}

/* Parse variables text (JSON first, then YAML, as ansible-runner's loader),
 * within the loader's bounds (datafile.h: an alias bomb is an error). */
json_t *task_parse_vars(task *t, const char *field, const char *text, runnel_error *err)
{
	(void)t;
	if (!text || !*text)
		return json_object();
	runnel_error e2 = {0};
	json_t *o = rn_datafile_parse(field, text, strlen(text), &e2);
	if (!o) {
		if (e2.code == E2BIG)
			return rn_fail(err, EINVAL, "%s", e2.message), NULL;
		return rn_fail(err, EINVAL, "%s: not valid JSON or YAML: %s", field, e2.message),
		       NULL;
	}
	if (json_is_null(o)) {
		json_decref(o);
		return json_object();
	}
	if (!json_is_object(o)) {
		json_decref(o);
		return rn_fail(err, EINVAL, "%s: must be a mapping", field), NULL;
	}
	return o;
}

/* A project's directory (project_files.h: one directory under the projects root). */
char *task_project_dir(task *t, long project_id, json_t **project, runnel_error *err)
{
	json_t *p = store_get(t->st, STORE_PROJECT, project_id, err);
	if (!p)
		return NULL;
	char *dir = project_dir(t->projects_root, p, err);
	if (dir && project)
		*project = p;
	else
		json_decref(p);
	return dir;
}

/* Copy the project into the private data dir (task.h). */
const char *task_copy_project(task *t, const char *dir, runnel_error *err)
{
	char *copy = rn_path_join(t->pdd, "project");
	task_keep(t, copy);
	if (sandbox_copy_project(dir, copy, err) < 0)
		return NULL;
	return copy;
}

/* Check that rel stays inside dir and exists. */
int task_path_inside(const char *dir, const char *rel, const char *field, runnel_error *err)
{
	return project_file_inside(dir, rel, field, err);
}
