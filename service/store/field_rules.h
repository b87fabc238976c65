/*
 * field_rules.h - the rules of the fields that reach a path or a command
 * line (project local_path, scm_url, scm_branch/refspec, a playbook or
 * inventory file in a project, limit and tags). They are checked on every
 * write of the store (model_validate) and again where a worker uses them,
 * so a value stored before the rules existed is refused at run time too.
 *
 * Each check is a pure function of its value (no filesystem, no store):
 * 0 when the value is acceptable, else -1 with EINVAL "<field>: <reason>".
 * Values also go into ansible's module arguments, which ansible templates:
 * none of these fields may hold a brace.
 */
#ifndef RUNNELD_FIELD_RULES_H
#define RUNNELD_FIELD_RULES_H

#include <jansson.h>

#include "runnel.h"
#include "store.h"

/* A project's local_path: "" or one directory name under the projects root
 * (no '/', not "." or "..", no leading '.' or '-', no control character,
 * no brace, at most 255 bytes). */
int rules_local_path(const char *field, const char *value, runnel_error *err);

/* A git URL as AWX accepts it (update_scm_url): "" or scheme://... with a
 * scheme of ssh, git, http, https, ftp, ftps, file (file: no host but
 * localhost; others: a host), [user@]host:path, or an absolute path.
 * Never a leading '-' (in the URL, its user or its host), no "::"
 * transport, only URL characters (RFC 3986 and '%', but no quote: the git
 * module splits some command lines with shlex), at most 1024 bytes. */
int rules_scm_url(const char *field, const char *value, runnel_error *err);

/* A branch, tag or commit (git check-ref-format, one level allowed): ""
 * or a name with no control character, space, ~ ^ : ? * [ \ quote or brace, no
 * "..", "@{" or "//", no leading '-' or '/', no component starting with
 * '.' or ending with ".lock", not ending with '/' or '.', not "@", at most
 * 256 bytes. */
int rules_git_ref(const char *field, const char *value, runnel_error *err);

/* A refspec to fetch: "" or [+]<src>[:<dst>], src and dst following the
 * ref rules with at most one '*' each; at most 1024 bytes. */
int rules_git_refspec(const char *field, const char *value, runnel_error *err);

/* A file of a project named by its path in the project (playbook,
 * inventory source_path): "" or a relative path with no "." or ".."
 * component, no leading '-' or '/', no control character or brace. Whether
 * it exists and stays inside the project is checked on the filesystem. */
int rules_project_file(const char *field, const char *value, runnel_error *err);

/* A value handed to ansible as an option's argument or a positional word
 * (job_tags, skip_tags, limit / an ad hoc host pattern): no leading '-', no
 * control character; limit: no pattern of the form "@file" (ansible reads
 * the hosts of such a pattern from a file on the server). */
int rules_cli_value(const char *field, const char *value, runnel_error *err);

/* A project's scm_type: "" (manual) or "git". */
int rules_scm_type(const char *field, const char *value, runnel_error *err);

/* A vault credential's vault_id: no '@' (AWX's format_vault_id: ansible
 * would read "ID@SOURCE" as a password file or script to run), no leading
 * '-', no control character or brace. */
int rules_vault_id(const char *field, const char *value, runnel_error *err);

/* Check field name of kind with its (coerced) value by the rule above that
 * applies to it, if any. 0 or -1 with err. */
int rules_check_field(store_kind kind, const char *name, const json_t *value, runnel_error *err);

#endif
