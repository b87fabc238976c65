/*
 * isolation.h - wrap the command for process isolation, as ansible-runner
 * does: bubblewrap (sandbox) or a container engine (podman, docker).
 */
#ifndef RUNNEL_ISOLATION_H
#define RUNNEL_ISOLATION_H

#include "plan.h"
#include "runnel.h"

/* The effective isolation settings: config values overridden by env/settings. */
typedef struct rn_isolation {
	bool enabled;
	bool strict; /* process_isolation_strict (runnel's own): no capabilities, own /dev */
	const char *executable;
	const char *path;
	json_t *hide, *show, *ro; /* arrays of strings (owned) */
	const char *directory_base;
	const char *image;
	json_t *volume_mounts, *options; /* arrays of strings (owned) */
} rn_isolation;

/* Read the isolation settings of a run. Free with rn_isolation_clear(). */
void rn_isolation_load(const runnel_config *cfg, const json_t *settings, rn_isolation *iso);
void rn_isolation_clear(rn_isolation *iso);

/* True for podman and docker. */
bool rn_isolation_is_container(const rn_isolation *iso);

/* Copy the project for directory isolation (sandbox only). 0 or -1 with err. */
int rn_isolation_copy_project(const rn_isolation *iso, rn_plan *plan, runnel_error *err);

/* Wrap plan->argv with bwrap. 0 or -1 with err (a base path that does not
 * exist, a temp dir that cannot be made). */
int rn_isolation_wrap_bwrap(const rn_isolation *iso, rn_plan *plan, runnel_error *err);

/* Wrap a tool's command (ansible-inventory, a probe) in the sandbox that a
 * run with these env/settings gets (the same bwrap line; the private data
 * dir shown): *wrapped is a new NULL-terminated argv (rn_argv_free), and
 * *tmp_dir the directory of the hidden paths' stand-ins, to remove with
 * rn_remove_tree() and free() once the tool ended. 0 or -1 with err. */
int rn_isolation_wrap_argv(const json_t *settings, const char *private_data_dir, const json_t *env,
                           const char *const *argv, char ***wrapped, char **tmp_dir,
                           runnel_error *err);

/* Wrap plan->argv with `podman|docker run ...` as upstream builds it, and
 * write artifacts/<ident>/env.list. 0 or -1 with err. */
int rn_isolation_wrap_container(const rn_isolation *iso, rn_plan *plan, runnel_error *err);

/* Remove the temp dirs of a sandboxed run. */
void rn_isolation_cleanup(rn_plan *plan);

#endif
