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

/* Wrap plan->argv with `podman|docker run ...` as upstream builds it, and
 * write artifacts/<ident>/env.list. 0 or -1 with err. */
int rn_isolation_wrap_container(const rn_isolation *iso, rn_plan *plan, runnel_error *err);

/* Remove the temp dirs of a sandboxed run. */
void rn_isolation_cleanup(rn_plan *plan);

#endif
