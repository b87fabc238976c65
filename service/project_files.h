/*
 * project_files.h - where a project's files are, as AWX keeps them: every
 * project lives in one directory directly under the projects root
 * (PROJECTS_ROOT, --projects-root, default <state>/projects). A git project's
 * directory is named by runneld (_<id>__<slug>); a manual project chooses
 * one of the directories already there that no other project uses (AWX's
 * Project.get_local_path_choices). Nothing here follows a symlink out of
 * the projects root or out of a project.
 *
 * Used by the engine (API side) and the worker; the syntax of the fields is
 * in store/field_rules.h.
 */
#ifndef RUNNELD_PROJECT_FILES_H
#define RUNNELD_PROJECT_FILES_H

#include <jansson.h>

#include "runnel.h"
#include "store.h"

/* The directory of a project: <projects_root>/<local_path>. The local_path
 * must follow rules_local_path and, if the path exists, be a directory (not
 * a symlink). Caller frees. NULL with err (EINVAL "local_path: ...", or
 * "project: ..." when the project has no local_path yet). */
char *project_dir(const char *projects_root, const json_t *project, runnel_error *err);

/* The directories a manual project may choose (AWX's local path choices):
 * directories (not symlinks) directly under projects_root whose name does
 * not start with '.' or '_', not used by a project other than except_id.
 * A new sorted array of names ([] when the root does not exist). */
json_t *project_local_path_choices(store *st, const char *projects_root, long except_id);

/* Check a project create (current NULL) or update (current: the stored
 * project) as AWX's ProjectSerializer does: a git project's local_path is
 * runneld's to choose (dropped from body; changing it is an error); a
 * manual project's local_path is one of the choices above (or its own).
 * May remove "local_path" from body. 0, or -1 with EINVAL "local_path: ...". */
int project_check_fields(store *st, const char *projects_root, const json_t *current, json_t *body,
                         runnel_error *err);

/* Check that rel (a playbook, an inventory file: rules_project_file) is a
 * regular file inside dir once every symlink is resolved. field names the
 * field in messages. 0, or -1 with EINVAL "<field>: ...". */
int project_file_inside(const char *dir, const char *rel, const char *field, runnel_error *err);

/* The playbooks of a project directory, as AWX lists them: .yml/.yaml files
 * holding a play, up to 4 levels deep, skipping hidden and role/vars
 * directories; symlinks are never followed (neither files nor directories).
 * A new array of paths relative to dir, sorted (empty if dir is missing). */
json_t *project_playbooks(const char *dir);

/* Remove dir and everything in it without following a symlink (a link is
 * removed, never what it points to) and without crossing into another
 * filesystem. 0 (also when dir does not exist), or -1 with err. */
int project_remove_tree(const char *dir, runnel_error *err);

#endif
