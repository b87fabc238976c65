/*
 * survey.h - a job template's survey, as AWX 21.14.0 keeps it
 * (awx/main/models/mixins.py SurveyJobTemplateMixin, awx/api/views
 * JobTemplateSurveySpec): the spec's validation, the answers' validation at
 * launch and what a launch takes from them. Backend-neutral: the engine, the
 * API and the worker use it.
 *
 * Password questions: a default is stored sealed ("$encrypted$" + the
 * store_seal text) and shown as "$encrypted$". A job keeps its password
 * answers out of its extra_vars (which show "$encrypted$" for them) in its
 * field survey_passwords: variable -> "$encrypted$" + sealed text; only the
 * worker opens them, into env/extravars, and adds them to its secrets.
 */
#ifndef RUNNELD_STORE_SURVEY_H
#define RUNNELD_STORE_SURVEY_H

#include <stdbool.h>
#include <jansson.h>

#include "runnel.h"
#include "seal.h"

#define SURVEY_ENCRYPTED "$encrypted$"

/*
 * Check a new spec as AWX's survey_spec POST does, against the stored one
 * (old, may be NULL or {}), and return what to store (a new object): choices
 * and defaults of multiple choice questions given as text cleaned of blank
 * lines, password defaults sealed with key, a password default
 * "$encrypted$" replaced by the stored one. NULL with err (EINVAL, the
 * message AWX answers under "error").
 */
json_t *survey_spec_prepare(const json_t *spec, const json_t *old, const store_key *key,
                            runnel_error *err);

/* The stored spec as AWX shows it: password defaults "$encrypted$". A new
 * object ({} for none). */
json_t *survey_spec_display(const json_t *stored);

/* True when the template's survey is on: survey_enabled and a spec with
 * "spec" (AWX's JobLaunchSerializer.get_survey_enabled). */
bool survey_active(const json_t *jt);

/* The variables of required questions when the survey is on (a new array). */
json_t *survey_variables_needed(const json_t *jt);

/*
 * Split launch extra_vars (data, an object) as AWX's
 * _accept_or_ignore_variables does: answers to the survey's questions are
 * validated (their messages appended to errors, an array), the valid ones
 * accepted, the rest accepted only with ask_variables_on_launch, else
 * rejected (those equal to the template's own are dropped). key opens
 * sealed password defaults for their validation. *accepted and *rejected:
 * new objects.
 */
void survey_accept_vars(const json_t *jt, const json_t *data, const store_key *key,
                        json_t **accepted, json_t **rejected, json_t *errors);

/*
 * The extra_vars of a new job as AWX's _update_unified_job_kwargs merges
 * them: the template's (tmpl_vars, an object), the valid survey defaults,
 * the accepted launch vars. Password answers are sealed into *passwords
 * (variable -> "$encrypted$"+sealed; a new object) and shown
 * "$encrypted$" in the result. A new object, or NULL with err.
 */
json_t *survey_job_vars(const json_t *jt, const json_t *tmpl_vars, const json_t *accepted,
                        const store_key *key, json_t **passwords, runnel_error *err);

/* The plain text of a sealed "$encrypted$..." value (a new string), or NULL. */
char *survey_open(const store_key *key, const char *value);

/* The permission rule of labels, as AWX's LabelAccess (awx/main/access.py):
 * anyone who can read the label's organization reads it; a user who is an
 * admin (or member, "change" needs org member_role) of the organization
 * creates and changes it; superusers do anything. is_org_member /
 * is_org_admin say what the caller is in the label's organization. */
bool survey_label_allowed(const char *action, bool is_superuser, bool is_org_member,
                          bool is_org_admin);

#endif
