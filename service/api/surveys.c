/*
 * surveys.c - job_templates/N/survey_spec/ (AWX's JobTemplateSurveySpec):
 * GET shows the spec with password defaults "$encrypted$", POST checks and
 * stores one (survey.h: AWX's rules and messages, password defaults
 * sealed), DELETE empties it. Also what the launch path asks of a survey
 * (api_survey_*), and the hiding of a job's sealed survey answers.
 */
#include "api.h"

#include "survey.h"

#include <stdio.h>
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

/* ---- labels ---- */

/* The labels of parents[0..n) by rel: a new array of n arrays of {id,
 * name}, in one store call whatever n (a list page's rows would otherwise
 * cost a call or more each). A failed call is logged and shows no labels:
 * the objects are still answered (as they were when one call per row
 * failed). */
static json_t *labels_many(api_request *rq, store_rel rel, const long *parents, size_t n)
{
	runnel_error err = {0};
	json_t *all = store_related_names(rq->st, rel, parents, n, &err);
	if (!all) {
		api_logf(rq, "labels: %s", err.message);
		all = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(all, json_array());
	}
	return all;
}

json_t *api_labels_brief(api_request *rq, long job_template_id)
{
	json_t *all = labels_many(rq, STORE_REL_JOB_TEMPLATE_LABELS, &job_template_id, 1);
	json_t *res = json_incref(json_array_get(all, 0));
	json_decref(all);
	if (json_array_size(res))
		return res;
	json_decref(res);
	return NULL;
}

void api_labels_attach(api_request *rq, store_rel rel, const char *type, json_t *objs)
{
	size_t n = json_array_size(objs), k = 0, i;
	long *ids = rn_xmalloc((n ? n : 1) * sizeof *ids);
	json_t *o;
	/* the objects that show labels, in the order their ids are asked */
	json_array_foreach(objs, i, o) {
		const char *t = json_string_value(json_object_get(o, "type"));
		if (t && !strcmp(t, type) && json_is_object(json_object_get(o, "summary_fields")))
			ids[k++] = (long)json_integer_value(json_object_get(o, "id"));
	}
	json_t *all = labels_many(rq, rel, ids, k);
	free(ids);
	k = 0;
	json_array_foreach(objs, i, o) {
		const char *t = json_string_value(json_object_get(o, "type"));
		json_t *sf = json_object_get(o, "summary_fields");
		if (!t || strcmp(t, type) || !json_is_object(sf))
			continue;
		json_t *res = json_array_get(all, k++);
		/* AWX's summary_fields.labels */
		json_object_set_new(sf, "labels",
		                    json_pack("{s:I,s:O}", "count",
		                              (json_int_t)json_array_size(res), "results", res));
	}
	json_decref(all);
}

void api_survey_decorate_jobs(api_request *rq, json_t *jobs)
{
	size_t i;
	json_t *job;
	json_array_foreach(jobs, i, job) {
		if (!json_is_object(job))
			continue;
		json_object_del(job, "survey_passwords");
		const char *type = json_string_value(json_object_get(job, "type"));
		json_t *rel = json_object_get(job, "related");
		if (type && !strcmp(type, "job") &&
		    json_is_object(json_object_get(job, "summary_fields")) && json_is_object(rel))
			json_object_set_new(rel, "labels",
			                    json_sprintf("/api/v2/jobs/%lld/labels/",
			                                 (long long)json_integer_value(
			                                     json_object_get(job, "id"))));
	}
	api_labels_attach(rq, STORE_REL_JOB_LABELS, "job", jobs);
}

json_t *api_survey_decorate_job(api_request *rq, json_t *job)
{
	if (!json_is_object(job))
		return job;
	json_t *one = json_pack("[O]", job);
	api_survey_decorate_jobs(rq, one);
	json_decref(one);
	return job;
}

/* True when label is attached to nothing (AWX's Label.is_detached). */
static bool label_detached(api_request *rq, long label)
{
	static const store_rel rels[] = {STORE_REL_JOB_TEMPLATE_LABELS, STORE_REL_JOB_LABELS};
	for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
		runnel_error err = {0};
		json_t *p = store_related_ids(rq->st, rels[i], label, true, &err);
		bool none = p && json_array_size(p) == 0;
		json_decref(p);
		if (!none)
			return false;
	}
	return true;
}

/* GET/POST /api/v2/labels/ (AWX's LabelList: list and create). */
static int labels(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_list(rq, rs, STORE_LABEL, NULL);
	return api_create(rq, rs, STORE_LABEL, NULL, NULL);
}

/* GET/PUT/PATCH /api/v2/labels/N/ (AWX's LabelDetail: no DELETE; a label
 * goes when its last attachment does). */
static int label_one(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_get(rq, rs, STORE_LABEL, rq->ids[0], NULL);
	return api_update(rq, rs, STORE_LABEL, rq->ids[0]);
}

/* The most labels one template takes (AWX's LabelSubListCreateAttachDetachView). */
#define MAX_LABELS 100

/* GET/POST /api/v2/job_templates/N/labels/ (AWX's JobTemplateLabelList): a
 * POST naming an existing label (name and organization) attaches it; a
 * label detached from its last object is deleted. */
static int template_labels(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *jt = store_get(rq->st, STORE_JOB_TEMPLATE, rq->ids[0], &err);
	if (!jt)
		return api_error(rs, &err);
	json_decref(jt);
	if (!strcmp(rq->method, "GET"))
		return api_sublist(rq, rs, STORE_LABEL, STORE_REL_JOB_TEMPLATE_LABELS, rq->ids[0],
		                   NULL);
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	json_t *name = json_object_get(body, "name"), *org = json_object_get(body, "organization");
	if (!json_object_get(body, "id") && json_is_string(name) && json_is_integer(org)) {
		store_query q = {.filters =
		                     json_pack("{s:O,s:O}", "name", name, "organization", org),
		                 .page = 1,
		                 .page_size = 1};
		store_page pg = {0};
		if (store_list(rq->st, STORE_LABEL, &q, &pg, &err) == 0 &&
		    json_array_size(pg.results)) {
			json_t *found = json_array_get(pg.results, 0);
			json_object_set(body, "id", json_object_get(found, "id"));
			json_object_del(body, "name");
			json_object_del(body, "organization");
		}
		store_page_clear(&pg);
		json_decref(q.filters);
	}
	json_t *ids =
	    store_related_ids(rq->st, STORE_REL_JOB_TEMPLATE_LABELS, rq->ids[0], false, &err);
	size_t have = json_array_size(ids);
	json_decref(ids);
	if (have > MAX_LABELS) {
		json_decref(body);
		return api_json(rs, 400,
		                json_pack("{s:s}", "msg",
		                          "Maximum number of labels for job template reached."));
	}
	json_t *dis = json_object_get(body, "disassociate");
	bool detach = json_is_true(dis) || (json_is_integer(dis) && json_integer_value(dis));
	long label = (long)json_integer_value(json_object_get(body, "id"));
	/* api_sublist reads the (possibly rewritten) body */
	json_t *saved = rq->body;
	rq->body = body;
	api_sublist(rq, rs, STORE_LABEL, STORE_REL_JOB_TEMPLATE_LABELS, rq->ids[0], NULL);
	rq->body = saved;
	json_decref(body);
	if (detach && label && rs->status == 204 && label_detached(rq, label)) {
		runnel_error e2 = {0};
		if (store_remove(rq->st, STORE_LABEL, label, &e2) == 0)
			api_logf(rq, "label %ld deleted: detached from its last object", label);
	}
	return 0;
}

/* GET /api/v2/jobs/N/labels/ (AWX's JobLabelList: read only). */
static int job_labels(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *job = store_get(rq->st, STORE_JOB, rq->ids[0], &err);
	if (!job)
		return api_error(rs, &err);
	json_decref(job);
	api_list_opts o = {.rel = STORE_REL_JOB_LABELS, .rel_parent = rq->ids[0]};
	return api_list(rq, rs, STORE_LABEL, &o);
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
    {"/api/v2/labels/", labels, labels, NULL, NULL, NULL, false},
    {"/api/v2/labels/{id}/", label_one, NULL, label_one, label_one, NULL, false},
    {"/api/v2/job_templates/{id}/labels/", template_labels, template_labels, NULL, NULL, NULL,
     false},
    {"/api/v2/jobs/{id}/labels/", job_labels, NULL, NULL, NULL, NULL, false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
