/* artifacts.h - the files of artifacts/<ident>/ other than job_events. */
#ifndef RUNNEL_ARTIFACTS_H
#define RUNNEL_ARTIFACTS_H

#include "plan.h"
#include "runnel.h"

/* Create the artifact dir and job_events/ (0700). */
int rn_artifacts_init(const rn_plan *plan, runnel_error *err);

/* Write `command`: {"command": argv, "cwd": ..., "env": {...}}, non-ASCII kept. */
int rn_artifacts_write_command(const rn_plan *plan, runnel_error *err);

/* Write a small text artifact (status, rc) atomically, mode 0600, no newline. */
int rn_artifacts_write_text(const rn_plan *plan, const char *name, const char *text,
                            runnel_error *err);

/* Keep the `keep` newest entries of the artifact root by mtime (0: keep all). */
void rn_artifacts_rotate(const char *artifact_root, int keep);

/* The command, cwd and env as one object (for `command` and status_handler). */
json_t *rn_artifacts_command_json(const rn_plan *plan);

/* rm -rf; errors are ignored (best effort cleanup). */
void rn_remove_tree(const char *path);

#endif
