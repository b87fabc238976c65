/*
 * sandbox.h - what a runneld job may see (AWX's process isolation).
 *
 * Every unified job that runs ansible (job, ad hoc command, inventory
 * update, project update) runs it under bubblewrap, through librunnel's own
 * process isolation (the same bwrap line `runnel run --process-isolation`
 * builds, driven by the job's env/settings): runneld's state dir (secret.key,
 * runneld.db, procs/, the bus socket), the isolation base (every other job's
 * private data dir), the projects root and the operator's hide paths are
 * hidden; the job sees the system read-only, a /tmp and a /dev of its own,
 * no process but its own, and its private data dir, holding its copy of the
 * project (AWX's make_local_copy). A project update sees its own project
 * directory (read-write: it is the checkout) and nothing else of the root.
 * As root, the job keeps no capability (it cannot unmount what hides a path).
 */
#ifndef RUNNELD_SANDBOX_H
#define RUNNELD_SANDBOX_H

#include <stdbool.h>
#include <jansson.h>

#include "runnel.h"

/* runneld's isolation settings, as the worker got them. Borrowed strings. */
typedef struct sandbox_policy {
	bool enabled;               /* job_isolation */
	const char *executable;     /* job_isolation_executable; NULL: "bwrap" */
	const char *state_dir;      /* hidden */
	const char *isolation_base; /* hidden (the job's own private data dir is shown) */
	const char *projects_root;  /* hidden */
	const json_t *show_paths;   /* job_isolation_show_paths: array of paths, or NULL */
	const json_t *hide_paths;   /* job_isolation_hide_paths: array of paths, or NULL */
} sandbox_policy;

/* Write the policy into a job's env/settings object: process_isolation,
 * process_isolation_executable, process_isolation_strict,
 * process_isolation_path (the private data dir: the stand-ins of hidden
 * paths go with it), process_isolation_hide_paths / _show_paths /
 * _ro_paths. With the policy off, only "process_isolation": false. */
void sandbox_settings(const sandbox_policy *p, const char *private_data_dir, json_t *settings);

/* True when the settings run the job in the sandbox. */
bool sandbox_on(const json_t *settings);

/* Show one more path to the job: read-write, or read-only with ro. */
void sandbox_show(json_t *settings, const char *path, bool ro);

/* True when showing path (resolved) to a job would show what the policy
 * hides: runneld's state dir, the projects root or a hide path, what lies
 * inside one of them or holds one, the isolation base itself or a private
 * data dir in it (a path beside them in the base is fine: /tmp/repo with
 * the base /tmp). */
bool sandbox_path_hidden(const sandbox_policy *p, const char *path);

/* Check that the sandbox can start, before the job runs in it: `true` in
 * the same sandbox the job gets. 0, or -1 with err saying why (the
 * executable missing, bwrap's own message) and naming job_isolation. */
int sandbox_probe(const json_t *settings, const char *private_data_dir, const json_t *env,
                  runnel_canceler *canceler, runnel_error *err);

/* Copy a project into dst (created, 0700) as AWX's make_local_copy does:
 * files with their permission bits, directories, symlinks kept as links
 * (never followed), every ".git" left out; other file types are skipped.
 * 0, or -1 with err naming the file that could not be copied. */
int sandbox_copy_project(const char *src, const char *dst, runnel_error *err);

#endif
