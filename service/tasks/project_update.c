/*
 * project_update.c - fetch a project (AWX's RunProjectUpdate): a git
 * project is cloned/updated into the projects root by ansible's git module
 * (as AWX's bundled project_update.yml does), so the update has events and
 * stdout like any job; its revision (the module's "after") is recorded. A
 * manual project (scm_type "") has its local path checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "task.h"
#include "util.h"

/* Check a manual project's directory. */
static int run_manual(task *t, runnel_run_result *res, runnel_error *err)
{
	(void)err;
	const char *dir = t->cfg.project_dir;
	char *line;
	if (rn_is_dir(dir)) {
		line = rn_xasprintf("Manual project: using the files in %s", dir);
		res->status = RUNNEL_SUCCESSFUL;
		res->rc = 0;
	} else {
		line = rn_xasprintf("Manual project: %s is not a directory", dir);
		res->status = RUNNEL_FAILED;
		res->rc = 1;
	}
	task_emit(t, line);
	free(line);
	return 0;
}

/* Record the outcome on the project (and the revision on the update). */
static int after_update(task *t, runnel_run_result *res, runnel_error *err)
{
	bool ok = res->status == RUNNEL_SUCCESSFUL;
	const char *rev = json_string_value(json_object_get(t->last_ok_res, "after"));
	char now[32];
	rn_utc_isoformat(now);
	strcat(now, "Z");
	json_t *pf = json_pack("{s:s,s:s,s:b,s:b,s:s}", "status", ok ? "successful" : "failed", "last_job_run", now,
	                       "last_job_failed", !ok, "last_update_failed", !ok, "last_updated", now);
	if (ok && rev)
		json_object_set_new(pf, "scm_revision", json_string(rev));
	json_t *o = store_update(t->st, STORE_PROJECT, task_int(t, "project"), pf, STORE_SYSTEM, err);
	json_decref(pf);
	if (!o)
		return -1;
	json_decref(o);
	if (ok && rev) {
		json_t *jf = json_pack("{s:s}", "scm_revision", rev);
		json_decref(store_update(t->st, STORE_PROJECT_UPDATE, t->job_id, jf, STORE_SYSTEM, err));
		json_decref(jf);
		char *line = rn_xasprintf("Project revision: %s", rev);
		task_emit(t, line);
		free(line);
	}
	return 0;
}

/* Fill the run of a project update. */
int task_project_update_prepare(task *t, runnel_error *err)
{
	long pid = task_int(t, "project");
	json_t *p = store_get(t->st, STORE_PROJECT, pid, err);
	if (!p)
		return -1;
	char *dir = task_project_dir(t, pid, err);
	if (!dir) {
		json_decref(p);
		return -1;
	}
	t->cfg.project_dir = task_keep(t, dir);
	t->after = after_update;
	const char *scm_type = json_string_value(json_object_get(p, "scm_type"));
	if (!scm_type || !*scm_type) {
		t->run = run_manual;
		json_decref(p);
		return 0;
	}
	if (strcmp(scm_type, "git")) {
		json_decref(p);
		return rn_fail(err, EINVAL, "scm_type: '%s' is not supported (git, or \"\" for a manual project)", scm_type);
	}
	const char *url = json_string_value(json_object_get(p, "scm_url"));
	const char *branch = json_string_value(json_object_get(p, "scm_branch"));
	if (*task_str(t, "scm_branch"))
		branch = task_str(t, "scm_branch");
	if (!url || !*url) {
		json_decref(p);
		return rn_fail(err, EINVAL, "scm_url: A git project needs an scm_url.");
	}
	if (strchr(url, ' ') || strchr(url, '\'') || (branch && (strchr(branch, ' ') || strchr(branch, '\'')))) {
		json_decref(p);
		return rn_fail(err, EINVAL, "scm_url: spaces and quotes are not allowed in the URL or branch");
	}
	runnel_error e2;
	if (rn_mkdirs(t->projects_root, 0700, &e2) < 0) {
		json_decref(p);
		*err = e2;
		return -1;
	}
	long cred = json_integer_value(json_object_get(p, "credential"));
	if (cred && task_add_credential(t, cred, false, err) < 0) {
		json_decref(p);
		return -1;
	}
	bool clean = json_is_true(json_object_get(p, "scm_clean"));
	if (json_is_true(json_object_get(p, "scm_delete_on_update"))) {
		char *cmd = rn_xasprintf("rm -rf -- '%s'", dir);
		if (system(cmd) != 0)
			task_emit(t, "could not delete the old checkout");
		free(cmd);
	}
	/* localhost, with the python that runs ansible, as AWX's project update inventory */
	const char *inv = "{\"all\": {\"hosts\": {\"localhost\": {\"ansible_connection\": \"local\","
	                  " \"ansible_python_interpreter\": \"{{ ansible_playbook_python }}\"}}}}\n";
	char *path = rn_path_join(t->pdd, "inventory/hosts");
	int rc = rn_write_file_atomic(path, inv, strlen(inv), 0600, err);
	free(path);
	if (rc < 0) {
		json_decref(p);
		return -1;
	}
	t->cfg.module = "git";
	t->cfg.module_args = task_keep(t, rn_xasprintf("repo=%s dest=%s version=%s force=%s accept_hostkey=yes",
	                                               url, dir, branch && *branch ? branch : "HEAD",
	                                               clean ? "yes" : "no"));
	t->cfg.host_pattern = "localhost";
	t->cfg.project_dir = task_keep(t, rn_xstrdup(t->pdd)); /* the checkout may not exist yet */
	t->cfg.timeout = (int)task_int(t, "timeout");
	json_object_set_new(t->envvars, "ANSIBLE_GIT_SSH_COMMAND", json_string("ssh -o StrictHostKeyChecking=no"));
	json_decref(p);
	return 0;
}
