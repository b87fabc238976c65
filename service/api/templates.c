/*
 * templates.c - job templates (their launch, credentials and jobs) and the
 * system job templates (cleanup). A template's playbook must be a file
 * inside its project (no "..", no absolute path, no symlink out): 400.
 */
#include "api.h"

#include "model.h"
#include "survey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Check the playbook of a template-to-be (fields merged over current). */
static bool playbook_ok(api_request *rq, api_response *rs, const json_t *current,
                        const json_t *body)
{
	json_t *pb = json_object_get(body, "playbook");
	json_t *pj = json_object_get(body, "project");
	if (!pb && !pj)
		return true;
	if (!pb)
		pb = json_object_get(current, "playbook");
	if (!pj)
		pj = json_object_get(current, "project");
	if (pb && !json_is_string(pb)) {
		api_field_error(rs, "playbook", "Not a valid string.");
		return false;
	}
	if (!json_is_integer(pj) || !json_string_length(pb))
		return true; /* the store says what is missing or wrong */
	runnel_error err = {0};
	if (engine_check_playbook(rq->eng, (long)json_integer_value(pj), json_string_value(pb),
	                          &err) < 0) {
		api_error(rs, &err);
		return false;
	}
	return true;
}

/* Add what AWX shows on a template and the store does not keep, but its
 * labels (templates_labels). */
static json_t *template_fields(api_request *rq, json_t *o)
{
	(void)rq;
	if (!json_object_get(o, "survey_enabled"))
		json_object_set_new(o, "survey_enabled", json_false());
	/* as AWX: the spec is read at survey_spec/ (its password defaults sealed) */
	json_object_del(o, "survey_spec");
	if (json_is_object(json_object_get(o, "related"))) {
		char url[128];
		snprintf(url, sizeof url, "/api/v2/job_templates/%lld/survey_spec/",
		         (long long)json_integer_value(json_object_get(o, "id")));
		json_object_set_new(json_object_get(o, "related"), "survey_spec", json_string(url));
		snprintf(url, sizeof url, "/api/v2/job_templates/%lld/labels/",
		         (long long)json_integer_value(json_object_get(o, "id")));
		json_object_set_new(json_object_get(o, "related"), "labels", json_string(url));
	}
	return o;
}

/* The labels of a page of templates (summary_fields.labels), asked at once. */
static void templates_labels(api_request *rq, json_t *templates)
{
	api_labels_attach(rq, STORE_REL_JOB_TEMPLATE_LABELS, "job_template", templates);
}

/* Add what AWX shows on a template and the store does not keep. */
static json_t *decorate_template(api_request *rq, json_t *o)
{
	template_fields(rq, o);
	json_t *one = json_pack("[O]", o);
	templates_labels(rq, one);
	json_decref(one);
	return o;
}

/* GET/POST /api/v2/job_templates/. */
static int templates(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET")) {
		api_list_opts o = {.decorate = template_fields, .decorate_page = templates_labels};
		return api_list(rq, rs, STORE_JOB_TEMPLATE, &o);
	}
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	bool ok = playbook_ok(rq, rs, NULL, body);
	json_decref(body);
	if (!ok)
		return 0;
	api_create(rq, rs, STORE_JOB_TEMPLATE, NULL, NULL);
	if (rs->status == 201)
		rs->json = decorate_template(rq, rs->json);
	return 0;
}

/* GET/PUT/PATCH/DELETE /api/v2/job_templates/N/. */
static int template_one(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_get(rq, rs, STORE_JOB_TEMPLATE, rq->ids[0], decorate_template);
	if (!strcmp(rq->method, "DELETE"))
		return api_delete(rq, rs, STORE_JOB_TEMPLATE, rq->ids[0]);
	runnel_error err = {0};
	json_t *cur = store_get(rq->st, STORE_JOB_TEMPLATE, rq->ids[0], &err);
	if (!cur)
		return api_error(rs, &err);
	json_t *body = api_body_object(rq, rs);
	bool ok = body && playbook_ok(rq, rs, cur, body);
	json_decref(body);
	json_decref(cur);
	if (!ok)
		return 0;
	api_update(rq, rs, STORE_JOB_TEMPLATE, rq->ids[0]);
	if (rs->status == 200)
		rs->json = decorate_template(rq, rs->json);
	return 0;
}

/* GET /api/v2/job_templates/N/launch/: what a launch needs and may override. */
static int launch_info(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *jt = store_get(rq->st, STORE_JOB_TEMPLATE, rq->ids[0], &err);
	if (!jt)
		return api_error(rs, &err);
	json_t *o = json_object();
	static const char *const asks[] = {"ask_variables_on_launch", "ask_limit_on_launch",
	                                   "ask_tags_on_launch",      "ask_skip_tags_on_launch",
	                                   "ask_job_type_on_launch",  "ask_verbosity_on_launch",
	                                   "ask_inventory_on_launch", "ask_credential_on_launch",
	                                   "ask_diff_mode_on_launch", "ask_forks_on_launch",
	                                   "ask_timeout_on_launch",   "ask_scm_branch_on_launch",
	                                   "ask_labels_on_launch",    NULL};
	for (int i = 0; asks[i]; i++)
		json_object_set_new(o, asks[i],
		                    json_boolean(json_is_true(json_object_get(jt, asks[i]))));
	json_t *inv = json_object_get(jt, "inventory");
	bool needs_inv = !json_is_integer(inv);
	json_t *creds =
	    store_related_ids(rq->st, STORE_REL_JOB_TEMPLATE_CREDENTIALS, rq->ids[0], false, &err);
	json_t *cred_list = json_array();
	size_t i;
	json_t *cid;
	json_array_foreach(creds, i, cid) {
		json_t *c =
		    store_get(rq->st, STORE_CREDENTIAL, (long)json_integer_value(cid), &err);
		if (c)
			json_array_append_new(
			    cred_list,
			    json_pack("{s:O,s:O,s:O,s:[]}", "id", json_object_get(c, "id"), "name",
			              json_object_get(c, "name"), "credential_type",
			              json_object_get(c, "credential_type"), "passwords_needed"));
		json_decref(c);
	}
	json_decref(creds);
	json_t *inv_sf = json_object_get(json_object_get(jt, "summary_fields"), "inventory");
	json_t *defaults = json_pack(
	    "{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:o}", "extra_vars",
	    json_object_get(jt, "extra_vars"), "limit", json_object_get(jt, "limit"), "job_tags",
	    json_object_get(jt, "job_tags"), "skip_tags", json_object_get(jt, "skip_tags"),
	    "job_type", json_object_get(jt, "job_type"), "verbosity",
	    json_object_get(jt, "verbosity"), "diff_mode", json_object_get(jt, "diff_mode"),
	    "forks", json_object_get(jt, "forks"), "timeout", json_object_get(jt, "timeout"),
	    "scm_branch", json_object_get(jt, "scm_branch"), "credentials", cred_list);
	json_object_set_new(defaults, "inventory",
	                    inv_sf ? json_incref(inv_sf) : json_pack("{s:n,s:n}", "name", "id"));
	json_object_set_new(o, "defaults", defaults);
	json_object_set_new(defaults, "labels", api_labels_brief(rq, rq->ids[0]));
	json_t *needed = survey_variables_needed(jt);
	/* AWX's can_start_without_user_input: nothing needed and no survey question required */
	json_object_set_new(o, "can_start_without_user_input",
	                    json_boolean(!needs_inv && !json_array_size(needed)));
	json_object_set_new(o, "passwords_needed_to_start", json_array());
	json_object_set_new(o, "variables_needed_to_start", needed);
	json_object_set_new(o, "credential_needed_to_start", json_false());
	json_object_set_new(o, "inventory_needed_to_start", json_boolean(needs_inv));
	json_object_set_new(o, "survey_enabled", json_boolean(survey_active(jt)));
	json_object_set_new(o, "job_template_data",
	                    json_pack("{s:O,s:O,s:O}", "name", json_object_get(jt, "name"), "id",
	                              json_object_get(jt, "id"), "description",
	                              json_object_get(jt, "description")));
	json_decref(jt);
	return api_json(rs, 200, o);
}

/* Check the type of each launch-time field; false when answered 400. */
static bool launch_types_ok(const json_t *body, api_response *rs)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)body, key, v) {
		if (json_is_null(v) && strcmp(key, "extra_vars"))
			continue;
		if (!strcmp(key, "extra_vars")) {
			if (!json_is_object(v) && !json_is_string(v))
				return api_field_error(rs, key,
				                       "Must be a valid JSON or YAML dictionary."),
				       false;
		} else if (!strcmp(key, "limit") || !strcmp(key, "job_tags") ||
		           !strcmp(key, "skip_tags") || !strcmp(key, "scm_branch")) {
			if (!json_is_string(v))
				return api_field_error(rs, key, "Not a valid string."), false;
		} else if (!strcmp(key, "inventory")) {
			if (!json_is_integer(v))
				return api_field_error(
				           rs, key,
				           "Incorrect type. Expected pk value, received %s.",
				           json_is_string(v) ? "str" : "another type"),
				       false;
		} else if (!strcmp(key, "credentials") || !strcmp(key, "labels")) {
			size_t i;
			json_t *c;
			if (!json_is_array(v))
				return api_field_error(rs, key, "Expected a list of items."), false;
			json_array_foreach(v, i, c)
				if (!json_is_integer(c))
					return api_field_error(
					           rs, key, "Incorrect type. Expected pk value."),
					       false;
		} else if (!strcmp(key, "verbosity")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 5)
				return api_field_error(rs, key, "\"%s\" is not a valid choice.",
				                       json_is_integer(v) ? "out of range"
				                                          : "not an integer"),
				       false;
		} else if (!strcmp(key, "forks") || !strcmp(key, "timeout")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				return api_field_error(rs, key,
				                       "A valid non-negative integer is required."),
				       false;
		} else if (!strcmp(key, "diff_mode")) {
			if (!json_is_boolean(v))
				return api_field_error(rs, key, "Must be a valid boolean."), false;
		} else if (!strcmp(key, "job_type")) {
			const char *t = json_string_value(v);
			if (!t || (strcmp(t, "run") && strcmp(t, "check")))
				return api_field_error(rs, key, "\"%s\" is not a valid choice.",
				                       t ? t : "?"),
				       false;
		} else if (!strcmp(key, "credential_passwords")) {
			if (!json_is_object(v))
				return api_field_error(rs, key, "Expected a dictionary of items."),
				       false;
		}
	}
	return true;
}

/* POST /api/v2/job_templates/N/launch/: launch a job (201 {"job": id, ...}). */
static int launch(api_request *rq, api_response *rs)
{
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	/* what a launch takes is the table OPTIONS shows (model_launch_fields) */
	const char *allowed[32];
	int n = 0;
	for (const model_field *f = model_launch_fields(); f->name && n < 31; f++)
		allowed[n++] = f->name;
	allowed[n] = NULL;
	if (!api_body_only(body, allowed, rs) || !launch_types_ok(body, rs)) {
		json_decref(body);
		return 0;
	}
	json_t *pw = json_object_get(body, "credential_passwords");
	if (pw && json_object_size(pw) == 0)
		json_object_del(body, "credential_passwords");
	else if (pw) {
		json_decref(body);
		return api_field_error(
		    rs, "credential_passwords",
		    "Passwords at launch are not supported: store them in the credential.");
	}
	json_t *ignored = NULL;
	runnel_error err = {0};
	/* the survey's answers first: AWX answers all their errors at once */
	json_t *jt = store_get(rq->st, STORE_JOB_TEMPLATE, rq->ids[0], &err);
	if (!jt) {
		json_decref(body);
		return api_error(rs, &err);
	}
	json_t *survey_errors = api_survey_launch_errors(jt, json_object_get(body, "extra_vars"));
	json_decref(jt);
	if (json_array_size(survey_errors)) {
		json_decref(body);
		return api_json(rs, 400,
		                json_pack("{s:o}", "variables_needed_to_start", survey_errors));
	}
	json_decref(survey_errors);
	json_t *job = engine_launch_job_template(rq->eng, rq->ids[0], body, "manual", rq->user_id,
	                                         &ignored, &err);
	json_decref(body);
	if (!job) {
		json_decref(ignored);
		return api_error(rs, &err);
	}
	json_object_set(job, "job", json_object_get(job, "id"));
	json_object_set_new(job, "ignored_fields", ignored ? ignored : json_object());
	api_survey_decorate_job(rq, job);
	api_logf(rq, "job %lld launched from job_template %ld by user %ld",
	         (long long)json_integer_value(json_object_get(job, "id")), rq->ids[0],
	         rq->user_id);
	return api_json(rs, 201, job);
}

/* GET/POST /api/v2/job_templates/N/credentials/. */
static int template_credentials(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *jt = store_get(rq->st, STORE_JOB_TEMPLATE, rq->ids[0], &err);
	if (!jt)
		return api_error(rs, &err);
	json_decref(jt);
	return api_sublist(rq, rs, STORE_CREDENTIAL, STORE_REL_JOB_TEMPLATE_CREDENTIALS, rq->ids[0],
	                   NULL);
}

/* GET /api/v2/job_templates/N/jobs/. */
static int template_jobs(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *jt = store_get(rq->st, STORE_JOB_TEMPLATE, rq->ids[0], &err);
	if (!jt)
		return api_error(rs, &err);
	json_decref(jt);
	json_t *f = json_pack("{s:I}", "job_template", (json_int_t)rq->ids[0]);
	api_list_opts o = {.filters = f, .decorate_page = api_survey_decorate_jobs};
	api_list(rq, rs, STORE_JOB, &o);
	json_decref(f);
	return 0;
}

/* ---- system job templates: one, built in ---- */

/* The cleanup template, as AWX shows it. */
static json_t *cleanup_template(void)
{
	return json_pack("{s:i,s:s,s:s,s:{s:s,s:s},s:{},s:s,s:s,s:s,s:s}", "id", 1, "type",
	                 "system_job_template", "url", "/api/v2/system_job_templates/1/", "related",
	                 "launch", "/api/v2/system_job_templates/1/launch/", "jobs",
	                 "/api/v2/system_job_templates/1/jobs/", "summary_fields", "name",
	                 "Cleanup Job Details", "description",
	                 "Remove jobs older than a certain number of days", "job_type",
	                 "cleanup_jobs", "status", "ok");
}

/* GET /api/v2/system_job_templates/. */
static int system_templates(api_request *rq, api_response *rs)
{
	(void)rq;
	return api_json(rs, 200,
	                json_pack("{s:i,s:n,s:n,s:[o]}", "count", 1, "next", "previous", "results",
	                          cleanup_template()));
}

/* GET /api/v2/system_job_templates/1/. */
static int system_template_one(api_request *rq, api_response *rs)
{
	if (rq->ids[0] != 1)
		return api_detail(rs, 404, "Not found.");
	return api_json(rs, 200, cleanup_template());
}

/* GET/POST /api/v2/system_job_templates/1/launch/: run a cleanup (201). */
static int system_launch(api_request *rq, api_response *rs)
{
	if (rq->ids[0] != 1)
		return api_detail(rs, 404, "Not found.");
	if (!strcmp(rq->method, "GET"))
		return api_json(rs, 200,
		                json_pack("{s:b,s:[]}", "ask_variables_on_launch", 1,
		                          "variables_needed_to_start"));
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	static const char *const allowed[] = {"extra_vars", NULL};
	if (!api_body_only(body, allowed, rs)) {
		json_decref(body);
		return 0;
	}
	json_t *ev = json_object_get(body, "extra_vars");
	json_t *vars = NULL;
	if (json_is_string(ev))
		vars = json_loads(json_string_value(ev), 0, NULL);
	else if (json_is_object(ev))
		vars = json_incref(ev);
	json_decref(body);
	if (ev && !json_is_null(ev) && !json_is_object(vars)) {
		json_decref(vars);
		return api_field_error(rs, "extra_vars", "Must be a valid JSON dictionary.");
	}
	json_t *days = json_object_get(vars, "days");
	if (days && !json_is_number(days) &&
	    !(json_is_string(days) && atof(json_string_value(days)) >= 0)) {
		json_decref(vars);
		return api_field_error(rs, "extra_vars", "days: A valid number is required.");
	}
	runnel_error err = {0};
	json_t *job = engine_launch_system_job(rq->eng, "cleanup_jobs", vars, rq->user_id, &err);
	json_decref(vars);
	if (!job)
		return api_error(rs, &err);
	json_object_set(job, "system_job", json_object_get(job, "id"));
	api_logf(rq, "system_job %lld (cleanup_jobs) launched by user %ld",
	         (long long)json_integer_value(json_object_get(job, "id")), rq->user_id);
	return api_json(rs, 201, job);
}

/* GET /api/v2/system_job_templates/1/jobs/. */
static int system_template_jobs(api_request *rq, api_response *rs)
{
	return api_list(rq, rs, STORE_SYSTEM_JOB, NULL);
}

const api_route api_routes_templates[] = {
    {"/api/v2/job_templates/", templates, templates, NULL, NULL, NULL, false},
    {"/api/v2/job_templates/{id}/", template_one, NULL, template_one, template_one, template_one,
     false},
    {"/api/v2/job_templates/{id}/launch/", launch_info, launch, NULL, NULL, NULL, false},
    {"/api/v2/job_templates/{id}/credentials/", template_credentials, template_credentials, NULL,
     NULL, NULL, false},
    {"/api/v2/job_templates/{id}/jobs/", template_jobs, NULL, NULL, NULL, NULL, false},
    {"/api/v2/system_job_templates/", system_templates, NULL, NULL, NULL, NULL, false},
    {"/api/v2/system_job_templates/{id}/", system_template_one, NULL, NULL, NULL, NULL, false},
    {"/api/v2/system_job_templates/{id}/launch/", system_launch, system_launch, NULL, NULL, NULL,
     false},
    {"/api/v2/system_job_templates/{id}/jobs/", system_template_jobs, NULL, NULL, NULL, NULL,
     false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
