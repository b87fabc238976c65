/*
 * jobs.c - the unified jobs: jobs, project_updates, inventory_updates,
 * ad_hoc_commands (POST to the list launches one), system_jobs and the
 * unified_jobs list. Each has its detail, cancel (GET {"can_cancel"}, POST
 * 202 or 405; every POST re-sends the SIGTERM), relaunch, stdout and
 * events (job_events for jobs) ordered by counter; jobs add
 * job_host_summaries and credentials.
 */
#include "api.h"

#include "model.h"

#include <string.h>

/* The job of the route, of kind; NULL when answered (404). */
static json_t *the_job(api_request *rq, api_response *rs, store_kind kind)
{
	runnel_error err = {0};
	json_t *job = store_get(rq->st, kind, rq->ids[0], &err);
	if (!job)
		api_error(rs, &err);
	return job;
}

/* GET the list of kind. */
static int job_list(api_request *rq, api_response *rs, store_kind kind)
{
	api_list_opts o = {.decorate_page = api_survey_decorate_jobs};
	return api_list(rq, rs, kind, &o);
}

/* GET/DELETE one job (deleting an active one: 403, as AWX). */
static int job_one(api_request *rq, api_response *rs, store_kind kind)
{
	json_t *job = the_job(rq, rs, kind);
	if (!job)
		return 0;
	if (!strcmp(rq->method, "GET"))
		return api_json(rs, 200, api_survey_decorate_job(rq, job));
	bool active = store_status_is_active(json_string_value(json_object_get(job, "status")));
	json_decref(job);
	if (active)
		return api_detail(rs, 403, "Cannot delete running job resource.");
	return api_delete(rq, rs, kind, rq->ids[0]);
}

/* GET/POST <job>/cancel/. */
static int job_cancel(api_request *rq, api_response *rs, store_kind kind)
{
	json_t *job = the_job(rq, rs, kind);
	if (!job)
		return 0;
	bool active = store_status_is_active(json_string_value(json_object_get(job, "status")));
	json_decref(job);
	if (!strcmp(rq->method, "GET"))
		return api_json(rs, 200, json_pack("{s:b}", "can_cancel", active));
	runnel_error err = {0};
	int rc = engine_cancel(rq->eng, rq->ids[0], &err);
	if (rc < 0)
		return api_error(rs, &err);
	if (rc == 0)
		return api_not_allowed(rs, "POST");
	api_logf(rq, "%s %ld: cancel requested by user %ld", store_kind_type(kind), rq->ids[0],
	         rq->user_id);
	rs->status = 202;
	return 0;
}

/* Count the host summaries of a job (failed only: failed). */
static long summary_count(api_request *rq, long job, bool failed)
{
	store_query q = {.page = 1, .page_size = 1};
	if (failed)
		q.filters = json_pack("{s:b}", "failed", 1);
	store_page p = {0};
	runnel_error err = {0};
	long n = store_host_summaries_list(rq->st, job, &q, &p, &err) == 0 ? p.count : 0;
	store_page_clear(&p);
	json_decref(q.filters);
	return n;
}

/* GET/POST <job>/relaunch/: relaunch on all hosts or the failed ones (201). */
static int job_relaunch(api_request *rq, api_response *rs, store_kind kind)
{
	json_t *job = the_job(rq, rs, kind);
	if (!job)
		return 0;
	const char *type = json_string_value(json_object_get(job, "type"));
	char key[32];
	snprintf(key, sizeof key, "%s", type ? type : "job");
	json_decref(job);
	if (!strcmp(rq->method, "GET"))
		return api_json(
		    rs, 200,
		    json_pack("{s:[],s:{s:I,s:I}}", "passwords_needed_to_start", "retry_counts",
		              "all", (json_int_t)summary_count(rq, rq->ids[0], false), "failed",
		              (json_int_t)summary_count(rq, rq->ids[0], true)));
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	static const char *const allowed[] = {"hosts", "credential_passwords", NULL};
	json_t *hosts = json_object_get(body, "hosts");
	json_t *pw = json_object_get(body, "credential_passwords");
	if (!api_body_only(body, allowed, rs) ||
	    (hosts && !json_is_string(hosts) &&
	     (api_field_error(rs, "hosts", "Not a valid string."), 1)) ||
	    (pw && json_object_size(pw) &&
	     (api_field_error(rs, "credential_passwords", "Passwords at launch are not supported."),
	      1))) {
		json_decref(body);
		return 0;
	}
	runnel_error err = {0};
	json_t *nj =
	    engine_relaunch(rq->eng, rq->ids[0], json_string_value(hosts), rq->user_id, &err);
	json_decref(body);
	if (!nj)
		return api_error(rs, &err);
	json_object_set(nj, key, json_object_get(nj, "id"));
	api_logf(rq, "%s %lld: relaunch of %ld by user %ld", key,
	         (long long)json_integer_value(json_object_get(nj, "id")), rq->ids[0], rq->user_id);
	return api_json(rs, 201, api_survey_decorate_job(rq, nj));
}

/* 0 when the job of the request's kind is there, else -1 and answered. */
static int job_exists(api_request *rq, api_response *rs, store_kind kind)
{
	runnel_error err = {0};
	if (store_exists(rq->st, kind, rq->ids[0], &err) == 0)
		return 0;
	api_error(rs, &err);
	return -1;
}

/* GET <job>/job_events/ (or events/): ordered by counter, filterable. */
static int job_events(api_request *rq, api_response *rs, store_kind kind)
{
	if (job_exists(rq, rs, kind) < 0)
		return 0;
	api_list_opts o = {.events = true, .rel_parent = rq->ids[0]};
	return api_list(rq, rs, kind, &o);
}

/* GET <job>/job_host_summaries/. */
static int job_summaries(api_request *rq, api_response *rs, store_kind kind)
{
	if (job_exists(rq, rs, kind) < 0)
		return 0;
	api_list_opts o = {.summaries = true, .rel_parent = rq->ids[0]};
	return api_list(rq, rs, kind, &o);
}

/* GET <job>/credentials/. */
static int job_credentials(api_request *rq, api_response *rs, store_kind kind)
{
	if (job_exists(rq, rs, kind) < 0)
		return 0;
	api_list_opts o = {.rel = STORE_REL_JOB_CREDENTIALS, .rel_parent = rq->ids[0]};
	return api_list(rq, rs, STORE_CREDENTIAL, &o);
}

/* POST /api/v2/ad_hoc_commands/: launch an ad hoc command (201). The body
 * is checked against model_ad_hoc_fields (what OPTIONS shows); a null is an
 * option left unset (the awx.awx collection sends them); module_args may
 * be left out, except for command and shell, which need it (AWX's
 * AdHocCommand.clean_module_args). */
static int ad_hoc_launch(api_request *rq, api_response *rs)
{
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(body, tmp, key, v) {
		const model_field *f = NULL;
		for (const model_field *t = model_ad_hoc_fields(); t->name && !f; t++)
			if (!strcmp(t->name, key))
				f = t;
		if (json_is_null(v) && f && !(f->flags & MF_NULL))
			json_object_del(body, key);
	}
	json_t *fields = NULL;
	runnel_error err = {0};
	int rc = model_validate_table(model_ad_hoc_fields(), STORE_AD_HOC_COMMAND, body, 0, false,
	                              &fields, &err);
	json_decref(body);
	if (rc < 0)
		return api_error(rs, &err);
	if (!json_is_integer(json_object_get(fields, "inventory"))) {
		json_decref(fields);
		return api_field_error(rs, "inventory", "This field is required.");
	}
	const char *mod = json_string_value(json_object_get(fields, "module_name"));
	const char *margs = json_string_value(json_object_get(fields, "module_args"));
	if (!mod || !*mod)
		mod = "command";
	if ((!strcmp(mod, "command") || !strcmp(mod, "shell")) && (!margs || !*margs)) {
		json_decref(fields);
		return api_field_error(rs, "module_args", "No argument passed to %s module.", mod);
	}
	json_t *job = engine_launch_ad_hoc(rq->eng, fields, rq->user_id, &err);
	json_decref(fields);
	if (!job)
		return api_error(rs, &err);
	api_logf(rq, "ad_hoc_command %lld launched by user %ld",
	         (long long)json_integer_value(json_object_get(job, "id")), rq->user_id);
	return api_json(rs, 201, job);
}

/* The handlers of one unified job kind, as wrappers of the generic ones. */
#define JOB_HANDLERS(name, kind)                                                                   \
	/* GET the list of name. */                                                                \
	static int name##_list(api_request *rq, api_response *rs)                                  \
	{                                                                                          \
		return job_list(rq, rs, kind);                                                     \
	}                                                                                          \
	/* GET/DELETE one of name. */                                                              \
	static int name##_one(api_request *rq, api_response *rs)                                   \
	{                                                                                          \
		return job_one(rq, rs, kind);                                                      \
	}                                                                                          \
	/* cancel/ of name. */                                                                     \
	static int name##_cancel(api_request *rq, api_response *rs)                                \
	{                                                                                          \
		return job_cancel(rq, rs, kind);                                                   \
	}                                                                                          \
	/* relaunch/ of name. */                                                                   \
	static int name##_relaunch(api_request *rq, api_response *rs)                              \
	{                                                                                          \
		return job_relaunch(rq, rs, kind);                                                 \
	}                                                                                          \
	/* stdout/ of name. */                                                                     \
	static int name##_stdout(api_request *rq, api_response *rs)                                \
	{                                                                                          \
		return api_stdout(rq, rs, kind);                                                   \
	}                                                                                          \
	/* events of name. */                                                                      \
	static int name##_events(api_request *rq, api_response *rs)                                \
	{                                                                                          \
		return job_events(rq, rs, kind);                                                   \
	}

JOB_HANDLERS(jobs, STORE_JOB)
JOB_HANDLERS(project_updates, STORE_PROJECT_UPDATE)
JOB_HANDLERS(inventory_updates, STORE_INVENTORY_UPDATE)
JOB_HANDLERS(ad_hoc_commands, STORE_AD_HOC_COMMAND)
JOB_HANDLERS(system_jobs, STORE_SYSTEM_JOB)
JOB_HANDLERS(unified_jobs, STORE_UNIFIED_JOB)

/* /api/v2/jobs/N/job_host_summaries/ */
static int jobs_summaries(api_request *rq, api_response *rs)
{
	return job_summaries(rq, rs, STORE_JOB);
}
/* /api/v2/jobs/N/credentials/ */
static int jobs_credentials(api_request *rq, api_response *rs)
{
	return job_credentials(rq, rs, STORE_JOB);
}
/* /api/v2/ad_hoc_commands/N/credentials/ */
static int ad_hoc_credentials(api_request *rq, api_response *rs)
{
	return job_credentials(rq, rs, STORE_AD_HOC_COMMAND);
}

/* The routes of one unified job kind (events at evpath). */
#define JOB_ROUTES(plural, name, evpath, list_post, relaunch_post)                                 \
	{"/api/v2/" plural "/", name##_list, list_post, NULL, NULL, NULL, false},                  \
	    {"/api/v2/" plural "/{id}/", name##_one, NULL, NULL, NULL, name##_one, false},         \
	    {"/api/v2/" plural "/{id}/cancel/",                                                    \
	     name##_cancel,                                                                        \
	     name##_cancel,                                                                        \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     false},                                                                               \
	    {"/api/v2/" plural "/{id}/relaunch/",                                                  \
	     name##_relaunch,                                                                      \
	     relaunch_post,                                                                        \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     NULL,                                                                                 \
	     false},                                                                               \
	    {"/api/v2/" plural "/{id}/stdout/", name##_stdout, NULL, NULL, NULL, NULL, false},     \
	{                                                                                          \
		"/api/v2/" plural "/{id}/" evpath "/", name##_events, NULL, NULL, NULL, NULL,      \
		    false                                                                          \
	}

const api_route api_routes_jobs[] = {
    JOB_ROUTES("jobs", jobs, "job_events", NULL, jobs_relaunch),
    {"/api/v2/jobs/{id}/job_host_summaries/", jobs_summaries, NULL, NULL, NULL, NULL, false},
    {"/api/v2/jobs/{id}/credentials/", jobs_credentials, NULL, NULL, NULL, NULL, false},
    JOB_ROUTES("project_updates", project_updates, "events", NULL, NULL),
    JOB_ROUTES("inventory_updates", inventory_updates, "events", NULL, NULL),
    JOB_ROUTES("ad_hoc_commands", ad_hoc_commands, "events", ad_hoc_launch,
               ad_hoc_commands_relaunch),
    {"/api/v2/ad_hoc_commands/{id}/credentials/", ad_hoc_credentials, NULL, NULL, NULL, NULL,
     false},
    JOB_ROUTES("system_jobs", system_jobs, "events", NULL, NULL),
    JOB_ROUTES("unified_jobs", unified_jobs, "events", NULL, NULL),
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
