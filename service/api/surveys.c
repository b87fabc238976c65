/*
 * surveys.c - job_templates/N/survey_spec/ (AWX's JobTemplateSurveySpec):
 * GET shows the spec with password defaults "$encrypted$", POST checks and
 * stores one (survey.h: AWX's rules and messages, password defaults
 * sealed), DELETE empties it. Also what the launch path asks of a survey
 * (api_survey_*), and the hiding of a job's sealed survey answers.
 */
#include "api.h"

#include "survey.h"

#include <string.h>

/* The state dir's key (sealed survey passwords). 0 or -1 with err. */
static int load_key(api_request *rq, store_key *key, runnel_error *err)
{
	return store_key_load(key, engine_get_settings(rq->eng)->state_dir, err);
}

/* GET/POST/DELETE /api/v2/job_templates/N/survey_spec/. */
static int survey_spec(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *jt = store_get(rq->st, STORE_JOB_TEMPLATE, rq->ids[0], &err);
	if (!jt)
		return api_error(rs, &err);
	json_t *stored = json_object_get(jt, "survey_spec");
	if (!strcmp(rq->method, "GET")) {
		json_t *o = survey_spec_display(stored);
		json_decref(jt);
		return api_json(rs, 200, o);
	}
	json_t *fields = NULL;
	if (!strcmp(rq->method, "DELETE")) {
		fields = json_pack("{s:{}}", "survey_spec");
	} else {
		json_t *body = rq->body ? json_incref(rq->body) : json_object();
		store_key key;
		if (load_key(rq, &key, &err) < 0) {
			json_decref(body), json_decref(jt);
			return api_error(rs, &err);
		}
		json_t *spec = survey_spec_prepare(body, stored, &key, &err);
		sodium_memzero(&key, sizeof key);
		json_decref(body);
		if (!spec) {
			json_decref(jt);
			/* AWX answers a bad spec {"error": "..."} */
			return api_json(rs, 400, json_pack("{s:s}", "error", err.message));
		}
		fields = json_pack("{s:o}", "survey_spec", spec);
	}
	json_decref(jt);
	json_t *up =
	    store_update(rq->st, STORE_JOB_TEMPLATE, rq->ids[0], fields, STORE_SYSTEM, &err);
	json_decref(fields);
	if (!up)
		return api_error(rs, &err);
	json_decref(up);
	api_logf(rq, "job_template %ld: survey_spec %s by user %ld", rq->ids[0],
	         strcmp(rq->method, "DELETE") ? "set" : "deleted", rq->user_id);
	/* AWX: an empty 200 answer */
	return api_json(rs, 200, json_object());
}

/* Remove what a job keeps of its survey password answers (sealed): AWX
 * never shows them. Returns job. */
json_t *api_survey_hide_job(json_t *job)
{
	if (json_is_object(job))
		json_object_del(job, "survey_passwords");
	return job;
}

/* api_survey_hide_job as a list decorator. */
json_t *api_survey_decorate_job(api_request *rq, json_t *job)
{
	(void)rq;
	return api_survey_hide_job(job);
}

/* The survey's errors for launch extra_vars (an object, a JSON text or
 * absent), as the messages AWX puts under variables_needed_to_start: a new
 * array, empty when the answers are fine or there is no survey. */
json_t *api_survey_launch_errors(const json_t *jt, const json_t *extra_vars)
{
	json_t *errors = json_array();
	if (!survey_active(jt))
		return errors;
	json_t *data = NULL;
	if (json_is_object(extra_vars))
		data = json_incref((json_t *)extra_vars);
	else if (json_is_string(extra_vars))
		data = json_loads(json_string_value(extra_vars), 0, NULL);
	if (!json_is_object(data)) {
		json_decref(data);
		data = json_object();
	}
	json_t *acc = NULL, *rej = NULL;
	survey_accept_vars(jt, data, NULL, &acc, &rej, errors);
	json_decref(acc), json_decref(rej), json_decref(data);
	return errors;
}

const api_route api_routes_surveys[] = {
    {"/api/v2/job_templates/{id}/survey_spec/", survey_spec, survey_spec, NULL, NULL, survey_spec,
     false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
