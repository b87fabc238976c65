/*
 * inventory_update.c - import an inventory source (AWX's RunInventoryUpdate):
 * `ansible-inventory -i <file in the project> --list` through
 * runnel_tool_run(), its JSON imported into the inventory (hosts, groups,
 * children, variables; overwrite drops what this source imported before and
 * no longer has, hosts added by hand stay; overwrite_vars replaces the
 * variables, else they are merged). Its
 * stderr becomes the update's stdout, one verbose event per chunk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "artifacts.h"
#include "datafile.h"
#include "isolation.h"
#include "sandbox.h"
#include "shlex.h"
#include "task.h"
#include "util.h"

/* Run ansible-inventory and import what it prints. */
static int run_inventory(task *t, runnel_run_result *res, runnel_error *err)
{
	json_t *src =
	    store_get(t->st, STORE_INVENTORY_SOURCE, task_int(t, "inventory_source"), err);
	if (!src)
		return -1;
	const char *path = t->cfg.inventory;
	/* --export, as AWX: group vars stay on their groups instead of being
	 * flattened into every host */
	const char *argv[] = {"ansible-inventory", "-i", path, "--list", "--export", NULL};
	json_t *env = json_deep_copy(t->envvars);
	json_object_set_new(env, "ANSIBLE_INVENTORY_UNPARSED_FAILED", json_string("True"));
	json_object_set_new(env, "ANSIBLE_FORCE_COLOR", json_string("False"));
	/* in the job's sandbox (sandbox.h): the source may be a script */
	char **wrapped = NULL, *iso_tmp = NULL;
	if (sandbox_on(t->settings) &&
	    rn_isolation_wrap_argv(t->settings, t->pdd, env, argv, &wrapped, &iso_tmp, err) < 0) {
		json_decref(env);
		json_decref(src);
		return -1;
	}
	runnel_tool tool = {.argv = wrapped ? (const char *const *)wrapped : argv,
	                    .cwd = t->cfg.project_dir,
	                    .envvars = env,
	                    .timeout = t->cfg.timeout,
	                    .canceler = t->cfg.canceler,
	                    .cancel_grace_period = t->cfg.cancel_grace_period,
	                    .clean_environment = true};
	json_t *args = json_array(); /* what runs: the sandbox's command line too */
	for (size_t i = 0; tool.argv[i]; i++)
		json_array_append_new(args, json_string(tool.argv[i]));
	char *args_text = json_dumps(args, JSON_COMPACT);
	json_t *f = json_pack("{s:s,s:s}", "job_args", args_text, "job_cwd", t->cfg.project_dir);
	json_decref(store_update(t->st, STORE_INVENTORY_UPDATE, t->job_id, f,
	                         STORE_SYSTEM | STORE_NO_RESULT, err));
	json_decref(f), json_decref(args), free(args_text);
	char *line = rn_xasprintf("ansible-inventory -i %s --list --export", path);
	task_emit(t, line);
	free(line);
	runnel_tool_result tr = {0};
	int rc = runnel_tool_run(&tool, &tr, err);
	json_decref(env);
	rn_argv_free(wrapped);
	if (iso_tmp) {
		rn_remove_tree(iso_tmp);
		free(iso_tmp);
	}
	if (rc < 0) {
		json_decref(src);
		return -1;
	}
	if (tr.err_len) {
		/* trailing newline off: an event's stdout has none */
		size_t n = tr.err_len;
		while (n && tr.err[n - 1] == '\n')
			n--;
		char *text = rn_xstrndup(tr.err, n);
		if (*text)
			task_emit(t, text);
		free(text);
	}
	res->rc = tr.rc;
	if (tr.canceled) {
		res->status = RUNNEL_CANCELED;
	} else if (tr.timed_out) {
		res->status = RUNNEL_TIMEOUT;
	} else if (tr.rc != 0) {
		res->status = RUNNEL_FAILED;
		char *why = rn_xasprintf(
		    "ansible-inventory failed (rc %d): the inventory source did not parse", tr.rc);
		store_job_append(t->st, t->job_id, "job_explanation", why, err);
		free(why);
	} else {
		json_error_t je;
		json_t *data = json_loadb(tr.out, tr.out_len, 0, &je);
		long nh = 0, ng = 0;
		if (!data) {
			res->status = RUNNEL_FAILED;
			char *why = rn_xasprintf("ansible-inventory printed no JSON: %s", je.text);
			store_job_append(t->st, t->job_id, "job_explanation", why, err);
			free(why);
		} else if (store_inventory_import(
		               t->st, task_int(t, "inventory"), data,
		               task_int(t, "inventory_source"),
		               json_is_true(json_object_get(src, "overwrite")),
		               json_is_true(json_object_get(src, "overwrite_vars")), &nh, &ng,
		               err) < 0) {
			res->status = RUNNEL_FAILED;
			store_job_append(t->st, t->job_id, "job_explanation", err->message, err);
		} else {
			res->status = RUNNEL_SUCCESSFUL;
			char *msg = rn_xasprintf("Imported %ld hosts and %ld groups.", nh, ng);
			task_emit(t, msg);
			free(msg);
		}
		json_decref(data);
	}
	runnel_tool_result_clear(&tr);
	json_decref(src);
	return 0;
}

/* Record the outcome on the inventory source. */
static int after_inventory(task *t, runnel_run_result *res, runnel_error *err)
{
	bool ok = res->status == RUNNEL_SUCCESSFUL;
	char now[40];
	rn_utc_isoformat(now);
	strcat(now, "Z");
	json_t *f = json_pack("{s:s,s:s,s:b,s:b,s:s}", "status", ok ? "successful" : "failed",
	                      "last_job_run", now, "last_job_failed", !ok, "last_update_failed",
	                      !ok, "last_updated", now);
	json_t *o = store_update(t->st, STORE_INVENTORY_SOURCE, task_int(t, "inventory_source"), f,
	                         STORE_SYSTEM | STORE_NO_RESULT, err);
	json_decref(f);
	json_decref(o);
	return o ? 0 : -1;
}

/* Refuse an inventory file that ansible-inventory would expand past the
 * loader's bounds (a YAML alias bomb: ansible-inventory --list prints it
 * expanded). A script (executable) or a directory is left to ansible. */
static int check_source_bounds(const char *path, runnel_error *err)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0111) ||
	    (size_t)st.st_size > RN_DATAFILE_MAX_BYTES)
		return 0;
	runnel_error e = {0};
	json_t *v = rn_datafile_load(path, &e);
	json_decref(v);
	if (!v && e.code == E2BIG)
		return rn_fail(err, EINVAL, "source_path: %s", e.message);
	return 0;
}

/* Fill the run of an inventory update. */
int task_inventory_update_prepare(task *t, runnel_error *err)
{
	json_t *src =
	    store_get(t->st, STORE_INVENTORY_SOURCE, task_int(t, "inventory_source"), err);
	if (!src)
		return -1;
	long proj = json_integer_value(json_object_get(src, "source_project"));
	const char *rel = json_string_value(json_object_get(src, "source_path"));
	if (!proj) {
		json_decref(src);
		return rn_fail(err, EINVAL, "source_project: The inventory source has no project.");
	}
	char *dir = task_project_dir(t, proj, NULL, err);
	if (!dir || task_path_inside(dir, rel, "source_path", err) < 0) {
		free(dir);
		json_decref(src);
		return -1;
	}
	task_keep(t, dir);
	/* the update reads its own copy of the source project (AWX copies it
	 * into the private data dir too); the projects root stays hidden */
	const char *copy = task_copy_project(t, dir, err);
	if (!copy) {
		json_decref(src);
		return -1;
	}
	t->cfg.project_dir = copy;
	t->cfg.inventory = task_keep(t, rn_path_join(copy, rel));
	if (check_source_bounds(t->cfg.inventory, err) < 0) {
		json_decref(src);
		return -1;
	}
	t->cfg.timeout = (int)json_integer_value(json_object_get(src, "timeout"));
	json_decref(src);
	t->run = run_inventory;
	t->run_sandboxed = true;
	t->after = after_inventory;
	return 0;
}
