/*
 * job.c - a playbook run from a job template (AWX's RunJob): the project's
 * playbook, the inventory, the credentials, the launch-time options.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "survey.h"
#include "task.h"
#include "util.h"

/* The args every playbook-ish run shares: check, diff, become without a
 * machine credential, start-at-task. */
static void common_args(task *t)
{
	if (!strcmp(task_str(t, "job_type"), "check"))
		json_array_append_new(t->args, json_string("--check"));
	if (task_bool(t, "diff_mode"))
		json_array_append_new(t->args, json_string("--diff"));
}

/* Apply the job's credentials (the JOB_CREDENTIALS relation). */
static int apply_credentials(task *t, runnel_error *err)
{
	json_t *ids = store_related_ids(t->st, STORE_REL_JOB_CREDENTIALS, t->job_id, false, err);
	if (!ids)
		return -1;
	bool become = task_bool(t, "become_enabled");
	bool machine = false;
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		json_t *c = store_get(t->st, STORE_CREDENTIAL, (long)json_integer_value(v), err);
		if (!c) {
			json_decref(ids);
			return -1;
		}
		if (!strcmp(json_string_value(json_object_get(c, "kind")) ?: "", "ssh"))
			machine = true;
		json_decref(c);
		if (task_add_credential(t, (long)json_integer_value(v), become, err) < 0) {
			json_decref(ids);
			return -1;
		}
	}
	json_decref(ids);
	if (become && !machine)
		json_array_append_new(t->args, json_string("--become"));
	return 0;
}

/* Put the job's survey password answers (sealed in survey_passwords,
 * "$encrypted$" in its extra_vars) into env/extravars, and among the secrets
 * no job_env shows. 0 or -1 with err (a key that does not open them). */
static int open_survey_passwords(task *t, runnel_error *err)
{
	json_t *pw = json_object_get(t->job, "survey_passwords");
	if (!json_object_size(pw))
		return 0;
	store_key key;
	if (store_key_load(&key, t->state_dir, err) < 0)
		return -1;
	const char *var;
	json_t *v;
	int rc = 0;
	json_object_foreach(pw, var, v) {
		char *plain = survey_open(&key, json_string_value(v));
		if (!plain) {
			rc = rn_fail(err, EIO,
			             "survey_passwords: the answer to '%s' does not open with this "
			             "state dir's key",
			             var);
			break;
		}
		json_object_set_new(t->extravars, var, json_string(plain));
		if (*plain)
			json_array_append_new(t->secrets, json_string(plain));
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	sodium_memzero(&key, sizeof key);
	return rc;
}

/* Fill the run of a job. */
int task_job_prepare(task *t, runnel_error *err)
{
	long inv = task_int(t, "inventory"), proj = task_int(t, "project");
	if (!inv)
		return rn_fail(err, EINVAL, "inventory: Job has no inventory.");
	if (!proj)
		return rn_fail(err, EINVAL, "project: Job has no project.");
	json_t *p = NULL; /* the project, read once: its directory, then its revision */
	char *dir = task_project_dir(t, proj, &p, err);
	if (!dir)
		return -1;
	task_keep(t, dir);
	int rc = -1;
	if (task_path_inside(dir, task_str(t, "playbook"), "playbook", err) == 0 &&
	    task_write_inventory(t, inv, err) == 0 && apply_credentials(t, err) == 0) {
		json_t *ev = task_parse_vars(t, "extra_vars", task_str(t, "extra_vars"), err);
		if (ev) {
			json_object_update(t->extravars, ev);
			json_decref(ev);
			rc = open_survey_passwords(t, err);
		}
	}
	if (rc < 0) {
		json_decref(p);
		return -1;
	}
	const char *rev = json_string_value(json_object_get(p, "scm_revision"));
	json_object_set_new(t->extravars, "awx_project_revision", json_string(rev ? rev : ""));
	json_object_set_new(t->envvars, "PROJECT_REVISION", json_string(rev ? rev : ""));
	json_object_set_new(t->extravars, "awx_project_scm_branch",
	                    json_string(json_string_value(json_object_get(p, "scm_branch")) ?: ""));
	if (rev && *rev) {
		json_t *f = json_pack("{s:s}", "scm_revision", rev);
		json_decref(store_update(t->st, STORE_JOB, t->job_id, f,
		                         STORE_SYSTEM | STORE_NO_RESULT, err));
		json_decref(f);
	}
	json_decref(p);
	json_object_set_new(t->extravars, "awx_job_template_id",
	                    json_integer(task_int(t, "job_template")));
	json_object_set_new(t->extravars, "tower_job_template_id",
	                    json_integer(task_int(t, "job_template")));
	json_object_set_new(t->extravars, "awx_job_template_name",
	                    json_string(task_str(t, "name")));
	json_object_set_new(t->extravars, "awx_inventory_id", json_integer(inv));
	/* its name as the job shows it (summary_fields, read with the job): the
	 * inventory is not shaped again (its counts, organization, users) */
	const char *iname = task_summary(t, "inventory", "name");
	json_object_set_new(t->extravars, "awx_inventory_name", json_string(iname ? iname : ""));
	common_args(t);
	if (*task_str(t, "start_at_task")) {
		json_array_append_new(t->args, json_string("--start-at-task"));
		json_array_append_new(t->args, json_string(task_str(t, "start_at_task")));
	}
	/* the job runs its own copy of the project, in its private data dir */
	const char *copy = task_copy_project(t, dir, err);
	if (!copy)
		return -1;
	t->cfg.playbook = task_str(t, "playbook");
	t->cfg.project_dir = copy;
	if (*task_str(t, "limit"))
		t->cfg.limit = task_str(t, "limit");
	if (*task_str(t, "job_tags"))
		t->cfg.tags = task_str(t, "job_tags");
	if (*task_str(t, "skip_tags"))
		t->cfg.skip_tags = task_str(t, "skip_tags");
	t->cfg.forks = (int)task_int(t, "forks");
	t->cfg.verbosity = (int)task_int(t, "verbosity");
	t->cfg.timeout = (int)task_int(t, "timeout");
	return 0;
}

/* Fill the run of an ad hoc command (AWX's RunAdHocCommand): ansible -m. */
int task_adhoc_prepare(task *t, runnel_error *err)
{
	long inv = task_int(t, "inventory");
	if (!inv)
		return rn_fail(err, EINVAL, "inventory: Ad hoc command has no inventory.");
	if (task_write_inventory(t, inv, err) < 0)
		return -1;
	long cred = task_int(t, "credential");
	if (cred && task_add_credential(t, cred, task_bool(t, "become_enabled"), err) < 0)
		return -1;
	if (!cred && task_bool(t, "become_enabled"))
		json_array_append_new(t->args, json_string("--become"));
	json_t *ev = task_parse_vars(t, "extra_vars", task_str(t, "extra_vars"), err);
	if (!ev)
		return -1;
	json_object_update(t->extravars, ev);
	json_decref(ev);
	json_object_set_new(t->extravars, "awx_inventory_id", json_integer(inv));
	common_args(t);
	t->cfg.module = *task_str(t, "module_name") ? task_str(t, "module_name") : "command";
	if (*task_str(t, "module_args"))
		t->cfg.module_args = task_str(t, "module_args");
	t->cfg.host_pattern = *task_str(t, "limit") ? task_str(t, "limit") : "all";
	t->cfg.forks = (int)task_int(t, "forks");
	t->cfg.verbosity = (int)task_int(t, "verbosity");
	t->cfg.timeout = (int)task_int(t, "timeout");
	return 0;
}
