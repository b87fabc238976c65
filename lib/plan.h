/*
 * plan.h - a run, prepared: everything runnel_run() needs, resolved from the
 * config and the private data dir before anything is started.
 *
 * rn_plan_prepare() reads the inputs of the private data dir (env/settings,
 * env/envvars, env/passwords, env/cmdline, env/extravars, args, inventory/,
 * project/) the way ansible-runner's RunnerConfig.prepare() does, persists
 * API values into env/ as ansible-runner's dump_artifacts() does, and
 * assembles the command line and the child's environment.
 */
#ifndef RUNNEL_PLAN_H
#define RUNNEL_PLAN_H

#include <stdbool.h>
#include <jansson.h>
#include "runnel.h"

typedef struct rn_expect rn_expect;

typedef enum rn_exec_mode {
	RN_EXEC_PLAYBOOK, /* ansible-playbook */
	RN_EXEC_ADHOC,    /* ansible -m */
	RN_EXEC_RAW,      /* `args` file or config->binary */
} rn_exec_mode;

typedef struct rn_plan {
	char *private_data_dir; /* absolute */
	char *ident;
	char *artifact_root; /* the dir holding every ident's artifacts */
	char *artifact_dir;  /* artifact_root/ident */
	char *project_dir;
	char *cwd;
	char *fact_cache; /* NULL when the cache type is not jsonfile */
	rn_exec_mode mode;

	char **argv; /* NULL-terminated */
	size_t argc;
	json_t *env; /* object of strings: the child's whole environment */

	json_t *settings;    /* merged settings object */
	rn_expect *expect;   /* password prompts; NULL when there are none */
	double job_timeout;  /* seconds; 0: none */
	double idle_timeout; /* seconds; 0: none */
	bool suppress_output_file;
	bool suppress_ansible_output;
	bool json_mode;
	int rotate_artifacts;

	char *ssh_key;      /* key text to load into ssh-agent; wiped when cleared */
	char *ssh_key_path; /* the FIFO artifacts/<ident>/ssh_key_data */

	bool sandboxed;                 /* bubblewrap */
	char *isolation_tmp;            /* bwrap's temp dir, removed after the run */
	char *directory_isolation_path; /* the project copy, or NULL */
	bool directory_isolation_cleanup;
	bool containerized; /* podman / docker */
	char *container_name;
} rn_plan;

/* Prepare a run. 0, or -1 with err naming the input at fault (nothing has
 * been started then). The plan owns everything in it: rn_plan_clear(). */
int rn_plan_prepare(const runnel_config *cfg, rn_plan *plan, runnel_error *err);

/* Free what a plan holds; safe on a zeroed or half-prepared plan. */
void rn_plan_clear(rn_plan *plan);

/* The child's environment as a NULL-terminated "K=V" array; caller frees with
 * rn_argv_free(). */
char **rn_plan_envp(const rn_plan *plan);

/* Persist a value into <pdd>/env/<name> (mode 0400) unless that file
 * exists, as ansible-runner's dump_artifacts() does. 1 if written, 0 if the
 * file was there, -1 with err. */
int rn_persist_env_file(const char *pdd, const char *name, const char *text, runnel_error *err);

/* The process environment as an object of strings (values kept as bytes,
 * even when they are not UTF-8). New reference. */
json_t *rn_env_from_process(void);

/* The PATH of a job started with clean_environment that sets none. */
#define RN_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

/* Resolve a command the way pexpect's which() does: a name with a '/' must be
 * an executable file; otherwise search PATH of the child's environment.
 * Returns a new string or NULL when not found. */
char *rn_which(const char *cmd, const json_t *env);

#endif
