/*
 * task.h - what a job type (tasks/<type>.c) gets from the worker and fills
 * in. The worker (worker.c) owns the life of the job: it moves the status,
 * makes the private data dir, calls the type's prepare(), runs runnel_run()
 * (or the type's own run()), then after(), and saves the outcome.
 */
#ifndef RUNNELD_TASK_H
#define RUNNELD_TASK_H

#include <stdbool.h>
#include <jansson.h>

#include "runnel.h"
#include "bus.h"
#include "sandbox.h"
#include "store.h"

typedef struct task task;

struct task {
	/* ---- given by the worker ---- */
	store *st;
	long job_id;
	json_t *job;      /* the job as the store shapes it (borrowed) */
	const char *type; /* "job", "project_update", ... */
	const char *pdd;  /* the private data dir (0700, with env/ and inventory/) */
	const char *projects_root;
	const char *state_dir; /* holds secret.key (sealed survey passwords, survey.h) */
	int default_job_timeout;
	int default_idle_timeout;
	const sandbox_policy *sandbox; /* runneld's isolation settings (sandbox.h) */

	/* ---- filled by prepare(); the worker frees them ---- */
	runnel_config cfg; /* what/how to run; the worker sets pdd, callbacks, canceler */
	json_t *extravars; /* object: written to env/extravars */
	json_t *envvars;   /* object: passed as cfg.envvars */
	json_t *passwords; /* object: prompt regex -> secret (in memory, cfg.passwords) */
	json_t *settings;  /* object: written to env/settings */
	json_t *args;      /* array of extra command line words (cfg.cmdline) */
	json_t *host_ids;  /* host name -> id of the job's inventory */
	json_t *secrets;   /* array of secret strings: never in job_env */
	json_t *artifacts; /* set_stats artifact_data gathered from events */
	char *ssh_key;     /* private key text for runner's ssh-agent */
	char *strings[16]; /* strings cfg points at, freed at the end */
	int nstrings;
	char scm_revision[128];
	json_t *last_ok_res; /* the res of the last runner_on_ok (project update: the git result) */

	/* A type whose run() starts ansible itself sets this: the worker checks
	 * that the sandbox starts first (sandbox.h), as it does before runnel_run. */
	bool run_sandboxed;
	/* A type that does not run ansible through runnel_run sets run: it does
	 * its work, emits its output with task_emit(), fills *result (status, rc). */
	int (*run)(task *t, runnel_run_result *result, runnel_error *err);
	/* After the run, whatever its status: import, record the revision, ...
	 * -1 with err makes the job fail with err as the explanation. */
	int (*after)(task *t, runnel_run_result *result, runnel_error *err);

	/* ---- worker state (read-only for types) ---- */
	void *worker;
};

/* Keep s until the task ends and return it (for cfg's borrowed strings). */
const char *task_keep(task *t, char *s);

/* Emit a synthetic "verbose" event (one line or more of output) through the
 * same path as ansible's events: counter, uuid, stdout, start/end line. */
void task_emit(task *t, const char *text);

/* Write inventory/hosts from a stored inventory: an executable script
 * printing its JSON, as AWX's (inventory_script.c); fill t->host_ids.
 * 0 or -1 with err. */
int task_write_inventory(task *t, long inventory_id, runnel_error *err);

/* Apply a credential: machine (user, key, passwords, become), vault,
 * source control. Adds args, passwords, ssh_key, secrets. 0 or -1. */
int task_add_credential(task *t, long credential_id, bool become_enabled, runnel_error *err);

/* Parse a variables string (JSON or YAML) into an object; "" gives {}.
 * NULL with err (EINVAL "<field>: ...") when it is neither or not a mapping. */
json_t *task_parse_vars(task *t, const char *field, const char *text, runnel_error *err);

/* The directory of a project: projects_root/local_path. Caller frees. With
 * project not NULL, *project gets the project read for it (a new reference,
 * set only when the directory is returned): a caller that reads more of the
 * project does not read it again. */
char *task_project_dir(task *t, long project_id, json_t **project, runnel_error *err);

/* Check that rel is a path inside dir (no absolute path, no "..", no
 * symlink leading out) and exists. 0 or -1 with EINVAL "<field>: ...". */
int task_path_inside(const char *dir, const char *rel, const char *field, runnel_error *err);

/* Copy the project at dir into <pdd>/project (AWX's make_local_copy: the
 * job runs its own copy, the projects root stays hidden from it) and
 * return that path (kept by the task). NULL with err. */
const char *task_copy_project(task *t, const char *dir, runnel_error *err);

/* The job's field as a string / integer / bool. */
const char *task_str(task *t, const char *field);
long task_int(task *t, const char *field);
bool task_bool(task *t, const char *field);
/* A string of the job's summary_fields: summary_fields[fk][key] (the name
 * of its inventory, the username of its creator) as read with the job, or
 * NULL when the job shows none (no such fk, its object gone). */
const char *task_summary(task *t, const char *fk, const char *key);

/* The job types. */
int task_job_prepare(task *t, runnel_error *err);
int task_adhoc_prepare(task *t, runnel_error *err);
int task_project_update_prepare(task *t, runnel_error *err);
int task_inventory_update_prepare(task *t, runnel_error *err);
int task_system_job_prepare(task *t, runnel_error *err);

#endif
