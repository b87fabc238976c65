/*
 * project_update.c - fetch a project (AWX's RunProjectUpdate): a git
 * project is cloned/updated into the projects root by ansible's git module
 * (as AWX's bundled project_update.yml does), so the update has events and
 * stdout like any job; its revision (the module's "after") is recorded. A
 * manual project (scm_type "") has its local path checked. No shell: the
 * module's arguments are JSON, the old checkout is removed in C
 * (project_remove_tree: no symlink followed), and every value was checked
 * again (store/field_rules.h) before it reaches ansible.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "field_rules.h"
#include "project_files.h"
#include "sandbox.h"
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
	json_t *pf = json_pack("{s:s,s:s,s:b,s:b,s:s}", "status", ok ? "successful" : "failed",
	                       "last_job_run", now, "last_job_failed", !ok, "last_update_failed",
	                       !ok, "last_updated", now);
	if (ok && rev)
		json_object_set_new(pf, "scm_revision", json_string(rev));
	json_t *o = store_update(t->st, STORE_PROJECT, task_int(t, "project"), pf,
	                         STORE_SYSTEM | STORE_NO_RESULT, err);
	json_decref(pf);
	if (!o)
		return -1;
	json_decref(o);
	if (ok && rev) {
		json_t *jf = json_pack("{s:s}", "scm_revision", rev);
		json_decref(store_update(t->st, STORE_PROJECT_UPDATE, t->job_id, jf,
		                         STORE_SYSTEM | STORE_NO_RESULT, err));
		json_decref(jf);
		char *line = rn_xasprintf("Project revision: %s", rev);
		task_emit(t, line);
		free(line);
	}
	return 0;
}

/* The path of a repository on this machine (file:///p, file://localhost/p,
 * or /p: AWX reads a path as file://), or NULL. */
static const char *local_repo(const char *url)
{
	if (url[0] == '/')
		return url;
	if (!strncmp(url, "file://localhost/", 17))
		return url + 16;
	if (!strncmp(url, "file:///", 8))
		return url + 7;
	return NULL;
}

/* Fill the run of a project update. */
int task_project_update_prepare(task *t, runnel_error *err)
{
	json_t *p = NULL; /* the project, read once with its directory */
	char *dir = task_project_dir(t, task_int(t, "project"), &p, err);
	if (!dir)
		return -1;
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
		return rn_fail(
		    err, EINVAL,
		    "scm_type: '%s' is not supported (git, or \"\" for a manual project)",
		    scm_type);
	}
	const char *url = json_string_value(json_object_get(p, "scm_url"));
	const char *branch = json_string_value(json_object_get(p, "scm_branch"));
	const char *refspec = json_string_value(json_object_get(p, "scm_refspec"));
	if (*task_str(t, "scm_branch"))
		branch = task_str(t, "scm_branch");
	if (!url || !*url) {
		json_decref(p);
		return rn_fail(err, EINVAL, "scm_url: A git project needs an scm_url.");
	}
	/* checked when saved, and again here: a value stored before the rules */
	if (rules_scm_url("scm_url", url, err) < 0 ||
	    rules_git_ref("scm_branch", branch ? branch : "", err) < 0 ||
	    rules_git_refspec("scm_refspec", refspec ? refspec : "", err) < 0) {
		json_decref(p);
		return -1;
	}
	if (strchr(dir, '{') || strchr(dir, '}')) {
		json_decref(p);
		return rn_fail(err, EINVAL,
		               "local_path: the project directory %s holds a brace (ansible would "
		               "template it)",
		               dir);
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
		runnel_error rm_err = {0};
		if (project_remove_tree(dir, &rm_err) < 0) {
			char *line =
			    rn_xasprintf("could not delete the old checkout: %s", rm_err.message);
			task_emit(t, line);
			free(line);
		}
	}
	/* the update sees its own project dir (the checkout: made now, so that
	 * it can be shown) and nothing else of the projects root; a file://
	 * repository is read where it is, read-only */
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		json_decref(p);
		return rn_fail(err, e, "local_path: cannot create the project directory %s: %s",
		               dir, strerror(e));
	}
	if (sandbox_on(t->settings)) {
		sandbox_show(t->settings, dir, false);
		const char *local = local_repo(url);
		if (local) {
			if (t->sandbox && sandbox_path_hidden(t->sandbox, local)) {
				rn_fail(err, EACCES,
				        "scm_url: %s is (or holds, or lies in) a directory hidden "
				        "from jobs (runneld's state dir, the projects root, a "
				        "private data dir): a project update cannot read it",
				        url);
				json_decref(p); /* url is p's */
				return -1;
			}
			sandbox_show(t->settings, local, true);
		}
	}
	/* localhost, with the python that runs ansible, as AWX's project update inventory */
	const char *inv =
	    "{\"all\": {\"hosts\": {\"localhost\": {\"ansible_connection\": \"local\","
	    " \"ansible_python_interpreter\": \"{{ ansible_playbook_python }}\"}}}}\n";
	char *path = rn_path_join(t->pdd, "inventory/hosts");
	int rc = rn_write_file_atomic(path, inv, strlen(inv), 0600, err);
	free(path);
	if (rc < 0) {
		json_decref(p);
		return -1;
	}
	/* the git module's arguments as JSON (ansible reads -a {...} as JSON): no
	 * value can add another argument, whatever it holds */
	json_t *margs =
	    json_pack("{s:s,s:s,s:s,s:b,s:b}", "repo", url, "dest", dir, "version",
	              branch && *branch ? branch : "HEAD", "force", clean, "accept_hostkey", 1);
	if (refspec && *refspec)
		json_object_set_new(margs, "refspec", json_string(refspec));
	t->cfg.module = "git";
	t->cfg.module_args = task_keep(t, json_dumps(margs, JSON_COMPACT | JSON_SORT_KEYS));
	json_decref(margs);
	t->cfg.host_pattern = "localhost";
	t->cfg.project_dir = task_keep(t, rn_xstrdup(t->pdd)); /* the checkout may not exist yet */
	t->cfg.timeout = (int)task_int(t, "timeout");
	json_object_set_new(t->envvars, "ANSIBLE_GIT_SSH_COMMAND",
	                    json_string("ssh -o StrictHostKeyChecking=no"));
	json_decref(p);
	return 0;
}
