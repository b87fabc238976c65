/*
 * workflows.c - AWX's workflows over the API (awx/api/views WorkflowJobTemplate*,
 * WorkflowJobTemplateNode*, WorkflowJob*, WorkflowJobNode*): workflow job
 * templates, their nodes and the nodes' edges (success_nodes,
 * failure_nodes, always_nodes: an edge closing a cycle is refused), the
 * launch, and the workflow jobs and their nodes. The manager that runs a
 * workflow job is the engine's (service/workflow.h).
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "access.h"
#include "model.h"
#include "workflow.h"

static long int_of(const json_t *o, const char *key)
{
	return (long)json_integer_value(json_object_get(o, key));
}

/* The kind and object of unified job template id (NULL when none). */
static json_t *load_ujt(api_request *rq, long id, store_kind *kind)
{
	static const store_kind kinds[] = {STORE_JOB_TEMPLATE, STORE_PROJECT,
	                                   STORE_INVENTORY_SOURCE, STORE_WORKFLOW_JOB_TEMPLATE};
	for (size_t i = 0; id > 0 && i < sizeof kinds / sizeof kinds[0]; i++) {
		runnel_error err = {0};
		json_t *o = store_get(rq->st, kinds[i], id, &err);
		if (o) {
			*kind = kinds[i];
			return o;
		}
	}
	return NULL;
}

/* What AWX's node serializers show beyond the stored fields: the ids of
 * each edge's children, the unified job template (and the job) summed up
 * and linked. tmpl: a template node. Returns o. */
static json_t *decorate_node(api_request *rq, json_t *o, bool tmpl)
{
	if (!json_is_object(o))
		return o;
	long id = int_of(o, "id");
	static const char *const edges[] = {"success_nodes", "failure_nodes", "always_nodes", NULL};
	for (int i = 0; edges[i]; i++) {
		runnel_error err = {0};
		json_t *ids =
		    store_related_ids(rq->st, workflow_edge_rel(edges[i], tmpl), id, false, &err);
		json_object_set_new(o, edges[i], ids ? ids : json_array());
	}
	json_t *sf = json_object_get(o, "summary_fields");
	json_t *rel = json_object_get(o, "related");
	store_kind k = STORE_KIND_COUNT;
	json_t *ujt = load_ujt(rq, int_of(o, "unified_job_template"), &k);
	if (ujt && json_is_object(sf) && json_is_object(rel)) {
		json_object_set_new(sf, "unified_job_template",
		                    json_pack("{s:O,s:O,s:O,s:s}", "id", json_object_get(ujt, "id"),
		                              "name", json_object_get(ujt, "name"), "description",
		                              json_object_get(ujt, "description"),
		                              "unified_job_type",
		                              k == STORE_JOB_TEMPLATE       ? "job"
		                              : k == STORE_PROJECT          ? "project_update"
		                              : k == STORE_INVENTORY_SOURCE ? "inventory_update"
		                                                            : "workflow_job"));
		json_object_set(rel, "unified_job_template", json_object_get(ujt, "url"));
	}
	json_decref(ujt);
	long job = int_of(o, "job");
	if (!tmpl && job && json_is_object(sf) && json_is_object(rel)) {
		runnel_error err = {0};
		json_t *j = store_get(rq->st, STORE_UNIFIED_JOB, job, &err);
		if (j) {
			json_object_set_new(sf, "job",
			                    json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "id",
			                              json_object_get(j, "id"), "name",
			                              json_object_get(j, "name"), "description",
			                              json_object_get(j, "description"), "status",
			                              json_object_get(j, "status"), "failed",
			                              json_object_get(j, "failed"), "elapsed",
			                              json_object_get(j, "elapsed"), "type",
			                              json_object_get(j, "type")));
			json_object_set(rel, "job", json_object_get(j, "url"));
		}
		json_decref(j);
	}
	return o;
}

static json_t *decorate_tmpl_node(api_request *rq, json_t *o)
{
	return decorate_node(rq, o, true);
}

static json_t *decorate_job_node(api_request *rq, json_t *o)
{
	return decorate_node(rq, o, false);
}

/* Undo node id's edges, both ways (before it goes: a relation's parent
 * must exist to be undone). */
static void drop_edges(api_request *rq, long id, bool tmpl)
{
	static const char *const edges[] = {"success_nodes", "failure_nodes", "always_nodes", NULL};
	for (int k = 0; edges[k]; k++) {
		store_rel rel = workflow_edge_rel(edges[k], tmpl);
		for (int rev = 0; rev < 2; rev++) {
			runnel_error err = {0};
			json_t *ids = store_related_ids(rq->st, rel, id, rev, &err);
			size_t i;
			json_t *v;
			json_array_foreach(ids, i, v) {
				long other = (long)json_integer_value(v);
				store_disassociate(rq->st, rel, rev ? other : id, rev ? id : other,
				                   &err);
			}
			json_decref(ids);
		}
	}
}

/* Delete the nodes of a workflow job template (tmpl) or workflow job. */
static void drop_nodes(api_request *rq, long owner, bool tmpl)
{
	store_kind kind = tmpl ? STORE_WORKFLOW_JOB_TEMPLATE_NODE : STORE_WORKFLOW_JOB_NODE;
	json_t *f =
	    json_pack("{s:I}", tmpl ? "workflow_job_template" : "workflow_job", (json_int_t)owner);
	for (;;) {
		store_query q = {.filters = f, .page = 1, .page_size = 200};
		store_page pg = {0};
		runnel_error err = {0};
		if (store_list(rq->st, kind, &q, &pg, &err) < 0 || !json_array_size(pg.results)) {
			store_page_clear(&pg);
			break;
		}
		size_t i;
		json_t *n;
		bool gone = true;
		json_array_foreach(pg.results, i, n) {
			drop_edges(rq, int_of(n, "id"), tmpl);
			gone = store_remove(rq->st, kind, int_of(n, "id"), &err) == 0 && gone;
		}
		store_page_clear(&pg);
		if (!gone)
			break;
	}
	json_decref(f);
}

/* ------------------------------------------------------------------ */
/* workflow job templates                                               */

/* GET/POST /api/v2/workflow_job_templates/. */
static int wfjts(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_list(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE, NULL);
	return api_create(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE, NULL, NULL);
}

/* GET/PUT/PATCH/DELETE /api/v2/workflow_job_templates/N/: its nodes go with it. */
static int wfjt_one(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_get(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE, rq->ids[0], NULL);
	if (strcmp(rq->method, "DELETE"))
		return api_update(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE, rq->ids[0]);
	api_delete(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE, rq->ids[0]);
	if (rs->status == 204)
		drop_nodes(rq, rq->ids[0], true);
	return 0;
}

/* A new uuid4, as AWX's default identifier, into out (37 bytes). */
static void uuid4(char out[37])
{
	unsigned char b[16];
	randombytes_buf(b, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

/* The prompts a node may carry and the job template flag that allows each
 * (AWX's JobTemplate.get_ask_mapping). */
static const struct {
	const char *field, *ask;
} node_prompts[] = {
    {"inventory", "ask_inventory_on_launch"},
    {"limit", "ask_limit_on_launch"},
    {"scm_branch", "ask_scm_branch_on_launch"},
    {"job_type", "ask_job_type_on_launch"},
    {"job_tags", "ask_tags_on_launch"},
    {"skip_tags", "ask_skip_tags_on_launch"},
    {"diff_mode", "ask_diff_mode_on_launch"},
    {"verbosity", "ask_verbosity_on_launch"},
    {"forks", "ask_forks_on_launch"},
    {"timeout", "ask_timeout_on_launch"},
    {"job_slice_count", NULL},
    {NULL, NULL},
};

/* AWX's LaunchConfigurationBaseSerializer.validate: the prompts of a node
 * (body over current) must be ones what it runs takes (_accept_or_ignore_
 * job_kwargs: a job template's ask_*_on_launch; a project or inventory
 * source takes none). false when answered 400. */
static bool prompts_ok(api_request *rq, api_response *rs, const json_t *body, const json_t *current)
{
	json_t *m = current ? json_deep_copy(current) : json_object();
	json_object_update(m, (json_t *)body);
	store_kind k = STORE_KIND_COUNT;
	json_t *ujt = load_ujt(rq, int_of(m, "unified_job_template"), &k);
	json_t *errors = json_object();
	if (ujt) {
		for (int i = 0; node_prompts[i].field; i++) {
			json_t *v = json_object_get(m, node_prompts[i].field);
			if (!v || json_is_null(v))
				continue;
			if (k != STORE_JOB_TEMPLATE)
				json_object_set_new(
				    errors, node_prompts[i].field,
				    json_pack("[s]", "Field is not allowed on launch."));
			else if (!node_prompts[i].ask ||
			         !json_is_true(json_object_get(ujt, node_prompts[i].ask)))
				json_object_set_new(
				    errors, node_prompts[i].field,
				    json_pack("[s]",
				              "Field is not configured to prompt on launch."));
		}
		json_t *ed = json_object_get(m, "extra_data");
		if (json_is_object(ed) && json_object_size(ed) &&
		    !(k == STORE_JOB_TEMPLATE &&
		      (json_is_true(json_object_get(ujt, "ask_variables_on_launch")) ||
		       json_is_true(json_object_get(ujt, "survey_enabled"))))) {
			char keys[512] = "";
			const char *key;
			json_t *x;
			json_object_foreach(ed, key, x) {
				size_t n = strlen(keys);
				snprintf(keys + n, sizeof keys - n, "%s%s", n ? ", " : "", key);
			}
			json_object_set_new(errors, "extra_data",
			                    json_pack("[s+++]", "Variables ", keys,
			                              " provided, but this template ",
			                              "cannot accept variables."));
		}
	}
	json_decref(ujt);
	json_decref(m);
	if (json_object_size(errors))
		return api_json(rs, 400, errors), false;
	json_decref(errors);
	return true;
}

/* Check a template node's fields (merged over current, may be NULL): what
 * it runs exists and is no workflow, its identifier is unique within its
 * workflow. false when answered 400. */
static bool node_ok(api_request *rq, api_response *rs, const json_t *body, const json_t *current,
                    long self)
{
	json_t *u = json_object_get(body, "unified_job_template");
	if (u && !json_is_null(u)) {
		if (!json_is_integer(u))
			return api_field_error(rs, "unified_job_template",
			                       "Incorrect type. Expected pk value."),
			       false;
		store_kind k = STORE_KIND_COUNT;
		json_t *o = load_ujt(rq, (long)json_integer_value(u), &k);
		json_decref(o);
		if (!o)
			return api_field_error(rs, "unified_job_template",
			                       "Invalid pk \"%lld\" - object does not exist.",
			                       (long long)json_integer_value(u)),
			       false;
		if (k == STORE_WORKFLOW_JOB_TEMPLATE)
			return api_field_error(
			           rs, "unified_job_template",
			           "runneld does not run a workflow inside a workflow."),
			       false;
	}
	if (!prompts_ok(rq, rs, body, current))
		return false;
	json_t *ident = json_object_get(body, "identifier");
	json_t *wf = json_object_get(body, "workflow_job_template");
	if (!ident && !wf)
		return true;
	if (!ident)
		ident = json_object_get(current, "identifier");
	if (!wf)
		wf = json_object_get(current, "workflow_job_template");
	if (!json_is_string(ident) || !json_is_integer(wf))
		return true; /* the store says what is wrong */
	json_t *f = json_pack("{s:O,s:O}", "identifier", ident, "workflow_job_template", wf);
	store_query q = {.filters = f, .page = 1, .page_size = 2};
	store_page pg = {0};
	runnel_error err = {0};
	bool taken = false;
	if (store_list(rq->st, STORE_WORKFLOW_JOB_TEMPLATE_NODE, &q, &pg, &err) == 0) {
		size_t i;
		json_t *o;
		json_array_foreach(pg.results, i, o)
			taken = taken || int_of(o, "id") != self;
	}
	store_page_clear(&pg);
	json_decref(f);
	if (taken)
		api_field_error(rs, "__all__",
		                "Workflow job template node with this Identifier and Workflow job "
		                "template already exists.");
	return !taken;
}

/* Create a template node from the body, forced fields over it (may be
 * NULL): AWX's default identifier, the checks of node_ok. The new node's
 * id in *id (0 when answered otherwise). */
static int create_node(api_request *rq, api_response *rs, const json_t *forced, long *id)
{
	*id = 0;
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	if (forced)
		json_object_update(body, (json_t *)forced);
	json_t *force = forced ? json_deep_copy(forced) : json_object();
	if (!json_string_length(json_object_get(body, "identifier"))) {
		char u[37];
		uuid4(u);
		json_object_set_new(body, "identifier", json_string(u));
		json_object_set_new(force, "identifier", json_string(u));
	}
	pthread_mutex_lock(rq->write_mu); /* the identifier's check and the write as one */
	if (node_ok(rq, rs, body, NULL, 0))
		api_create(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE_NODE, force, id);
	pthread_mutex_unlock(rq->write_mu);
	json_decref(force);
	json_decref(body);
	if (rs->status == 201)
		rs->json = decorate_tmpl_node(rq, rs->json);
	return 0;
}

/* GET/POST /api/v2/workflow_job_templates/N/workflow_nodes/. */
static int wfjt_nodes(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *wfjt = store_get(rq->st, STORE_WORKFLOW_JOB_TEMPLATE, rq->ids[0], &err);
	if (!wfjt)
		return api_error(rs, &err);
	json_decref(wfjt);
	json_t *f = json_pack("{s:I}", "workflow_job_template", (json_int_t)rq->ids[0]);
	if (!strcmp(rq->method, "GET")) {
		api_list_opts o = {.filters = f, .decorate = decorate_tmpl_node};
		api_list(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE_NODE, &o);
	} else {
		/* WorkflowJobTemplateNodeAccess.can_add, the template given */
		json_t *body = api_body_object(rq, rs);
		if (body)
			json_object_update(body, f);
		bool ok = body && access_can_add(rq, STORE_WORKFLOW_JOB_TEMPLATE_NODE, body);
		json_decref(body);
		long id;
		if (ok)
			create_node(rq, rs, f, &id);
		else if (rs->status == 0)
			api_detail(rs, 403, "You do not have permission to perform this action.");
	}
	json_decref(f);
	return 0;
}

/* GET /api/v2/workflow_job_templates/N/launch/: what a launch takes. */
static int wfjt_launch_info(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *w = store_get(rq->st, STORE_WORKFLOW_JOB_TEMPLATE, rq->ids[0], &err);
	if (!w)
		return api_error(rs, &err);
	json_t *o = json_object();
	static const char *const asks[] = {"ask_inventory_on_launch",  "ask_limit_on_launch",
	                                   "ask_scm_branch_on_launch", "ask_variables_on_launch",
	                                   "ask_labels_on_launch",     "ask_tags_on_launch",
	                                   "ask_skip_tags_on_launch",  NULL};
	for (int i = 0; asks[i]; i++)
		json_object_set_new(o, asks[i],
		                    json_boolean(json_is_true(json_object_get(w, asks[i]))));
	json_t *inv_sf = json_object_get(json_object_get(w, "summary_fields"), "inventory");
	json_t *defaults = json_pack(
	    "{s:O,s:O,s:O,s:O,s:O,s:[]}", "extra_vars", json_object_get(w, "extra_vars"), "limit",
	    json_object_get(w, "limit"), "scm_branch", json_object_get(w, "scm_branch"), "job_tags",
	    json_object_get(w, "job_tags"), "skip_tags", json_object_get(w, "skip_tags"), "labels");
	json_object_set_new(defaults, "inventory",
	                    inv_sf ? json_incref(inv_sf) : json_pack("{s:n,s:n}", "name", "id"));
	json_object_set_new(o, "defaults", defaults);
	json_object_set_new(o, "can_start_without_user_input", json_true());
	json_object_set_new(o, "survey_enabled", json_false());
	json_object_set_new(o, "variables_needed_to_start", json_array());
	json_object_set_new(o, "node_templates_missing", json_array());
	json_object_set_new(o, "node_prompts_rejected", json_array());
	json_object_set_new(o, "workflow_job_template_data",
	                    json_pack("{s:O,s:O,s:O}", "name", json_object_get(w, "name"), "id",
	                              json_object_get(w, "id"), "description",
	                              json_object_get(w, "description")));
	json_decref(w);
	return api_json(rs, 200, o);
}

/* POST /api/v2/workflow_job_templates/N/launch/: 201 {"workflow_job": id,
 * "ignored_fields", ...the workflow job}. */
static int wfjt_launch(api_request *rq, api_response *rs)
{
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	if (json_object_get(body, "inventory_id") && !json_object_get(body, "inventory"))
		json_object_set(body, "inventory", json_object_get(body, "inventory_id"));
	json_object_del(body, "inventory_id");
	json_t *ignored = NULL;
	runnel_error err = {0};
	json_t *wj = engine_launch_workflow(rq->eng, rq->ids[0], body, "manual", rq->user_id,
	                                    &ignored, &err);
	json_decref(body);
	if (!wj)
		return api_error(rs, &err);
	json_object_set(wj, "workflow_job", json_object_get(wj, "id"));
	json_object_set_new(wj, "ignored_fields", ignored ? ignored : json_object());
	api_logf(rq, "workflow_job %ld launched from workflow_job_template %ld by user %ld",
	         int_of(wj, "id"), rq->ids[0], rq->user_id);
	return api_json(rs, 201, access_decorate(rq, STORE_WORKFLOW_JOB, wj));
}

/* GET /api/v2/workflow_job_templates/N/workflow_jobs/. */
static int wfjt_jobs(api_request *rq, api_response *rs)
{
	json_t *f = json_pack("{s:I}", "workflow_job_template", (json_int_t)rq->ids[0]);
	api_list_opts o = {.filters = f};
	api_list(rq, rs, STORE_WORKFLOW_JOB, &o);
	json_decref(f);
	return 0;
}

/* GET/POST /api/v2/workflow_job_templates/N/copy/: a copy named "name",
 * its nodes and edges with it (AWX's CopyAPIView). */
static int wfjt_copy(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *w = store_get(rq->st, STORE_WORKFLOW_JOB_TEMPLATE, rq->ids[0], &err);
	if (!w)
		return api_error(rs, &err);
	if (!strcmp(rq->method, "GET")) {
		json_t *d = json_object();
		json_object_set_new(
		    d, "can_copy",
		    json_boolean(access_can_add(rq, STORE_WORKFLOW_JOB_TEMPLATE, w)));
		json_object_set_new(d, "can_copy_without_user_input", json_true());
		json_object_set_new(d, "templates_unable_to_copy", json_array());
		json_object_set_new(d, "credentials_unable_to_copy", json_array());
		json_object_set_new(d, "inventories_unable_to_copy", json_array());
		json_decref(w);
		return api_json(rs, 200, d);
	}
	json_t *body = api_body_object(rq, rs);
	json_t *name = json_object_get(body, "name");
	if (!body || !json_string_length(name)) {
		json_decref(w);
		json_decref(body);
		return rs->status ? 0 : api_field_error(rs, "name", "This field is required.");
	}
	json_t *f = json_object();
	for (const model_field *mf = model_fields(STORE_WORKFLOW_JOB_TEMPLATE); mf->name; mf++) {
		json_t *v = json_object_get(w, mf->name);
		if (!(mf->flags & MF_RO) && v)
			json_object_set(f, mf->name, v);
	}
	json_object_set(f, "name", name);
	json_decref(body);
	json_decref(w);
	json_t *c = store_create(rq->st, STORE_WORKFLOW_JOB_TEMPLATE, f, 0, &err);
	json_decref(f);
	if (!c)
		return api_error(rs, &err);
	long nid = int_of(c, "id");
	json_decref(c);
	/* the nodes, then the edges between the copies */
	json_t *nf = json_pack("{s:I}", "workflow_job_template", (json_int_t)rq->ids[0]);
	store_query q = {.filters = nf, .order_by = "id", .page = 1, .page_size = 200};
	store_page pg = {0};
	if (store_list(rq->st, STORE_WORKFLOW_JOB_TEMPLATE_NODE, &q, &pg, &err) < 0) {
		json_decref(nf);
		return api_error(rs, &err);
	}
	json_decref(nf);
	size_t n = json_array_size(pg.results);
	long *ids = calloc(n + 1, sizeof *ids);
	size_t i;
	json_t *o;
	json_array_foreach(pg.results, i, o) {
		json_t *cf = json_object();
		for (const model_field *mf = model_fields(STORE_WORKFLOW_JOB_TEMPLATE_NODE);
		     mf->name; mf++) {
			json_t *v = json_object_get(o, mf->name);
			if (v && !json_is_null(v))
				json_object_set(cf, mf->name, v);
		}
		json_object_set_new(cf, "workflow_job_template", json_integer(nid));
		json_t *cn = store_create(rq->st, STORE_WORKFLOW_JOB_TEMPLATE_NODE, cf, 0, &err);
		json_decref(cf);
		ids[i] = cn ? int_of(cn, "id") : 0;
		json_decref(cn);
	}
	static const char *const edges[] = {"success_nodes", "failure_nodes", "always_nodes", NULL};
	json_array_foreach(pg.results, i, o) {
		for (int k = 0; edges[k]; k++) {
			store_rel rel = workflow_edge_rel(edges[k], true);
			json_t *kids = store_related_ids(rq->st, rel, int_of(o, "id"), false, &err);
			size_t j;
			json_t *v;
			json_array_foreach(kids, j, v) {
				for (size_t m = 0; m < n; m++)
					if (int_of(json_array_get(pg.results, m), "id") ==
					        json_integer_value(v) &&
					    ids[i] && ids[m])
						store_associate(rq->st, rel, ids[i], ids[m], &err);
			}
			json_decref(kids);
		}
	}
	free(ids);
	store_page_clear(&pg);
	api_get(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE, nid, NULL);
	if (rs->status == 200)
		rs->status = 201;
	return 0;
}

/* ------------------------------------------------------------------ */
/* template nodes                                                       */

/* GET/POST /api/v2/workflow_job_template_nodes/. */
static int tnodes(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET")) {
		api_list_opts o = {.decorate = decorate_tmpl_node};
		return api_list(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE_NODE, &o);
	}
	long id;
	return create_node(rq, rs, NULL, &id);
}

/* GET/PUT/PATCH/DELETE /api/v2/workflow_job_template_nodes/N/. */
static int tnode_one(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_get(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE_NODE, rq->ids[0],
		               decorate_tmpl_node);
	if (!strcmp(rq->method, "DELETE")) {
		/* its edges go with it, both ways */
		runnel_error e0 = {0};
		json_t *probe =
		    store_get(rq->st, STORE_WORKFLOW_JOB_TEMPLATE_NODE, rq->ids[0], &e0);
		if (!probe)
			return api_error(rs, &e0);
		json_decref(probe);
		drop_edges(rq, rq->ids[0], true);
		return api_delete(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE_NODE, rq->ids[0]);
	}
	runnel_error err = {0};
	json_t *cur = store_get(rq->st, STORE_WORKFLOW_JOB_TEMPLATE_NODE, rq->ids[0], &err);
	if (!cur)
		return api_error(rs, &err);
	json_t *body = api_body_object(rq, rs);
	pthread_mutex_lock(rq->write_mu);
	if (body && node_ok(rq, rs, body, cur, rq->ids[0]))
		api_update(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE_NODE, rq->ids[0]);
	pthread_mutex_unlock(rq->write_mu);
	json_decref(body);
	json_decref(cur);
	if (rs->status == 200)
		rs->json = decorate_tmpl_node(rq, rs->json);
	return 0;
}

/* GET/POST /api/v2/workflow_job_template_nodes/N/<edge>/: the children by
 * edge; POST {"id": M} adds one (a cycle refused: 400 {"Error": ...}),
 * {"id": M, "disassociate": true} removes it, a POST without "id" creates
 * a node of the same workflow and adds it. */
static int tnode_edge(api_request *rq, api_response *rs, const char *edge)
{
	runnel_error err = {0};
	json_t *parent = store_get(rq->st, STORE_WORKFLOW_JOB_TEMPLATE_NODE, rq->ids[0], &err);
	if (!parent)
		return api_error(rs, &err);
	store_rel rel = workflow_edge_rel(edge, true);
	long wfjt = int_of(parent, "workflow_job_template");
	json_decref(parent);
	if (!strcmp(rq->method, "GET")) {
		api_list_opts o = {
		    .rel = rel, .rel_parent = rq->ids[0], .decorate = decorate_tmpl_node};
		return api_list(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE_NODE, &o);
	}
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	json_t *idv = json_object_get(body, "id");
	if (!idv) {
		json_decref(body);
		json_t *forced = json_pack("{s:I}", "workflow_job_template", (json_int_t)wfjt);
		long child = 0;
		create_node(rq, rs, forced, &child);
		json_decref(forced);
		if (child && store_associate(rq->st, rel, rq->ids[0], child, &err) < 0)
			return api_error(rs, &err);
		if (child)
			api_record_association(rq, rel, "associate", rq->ids[0], child);
		return 0;
	}
	bool detach = json_is_true(json_object_get(body, "disassociate"));
	json_decref(body);
	if (detach || !json_is_integer(idv))
		return api_sublist(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE_NODE, rel, rq->ids[0], NULL);
	pthread_mutex_lock(rq->write_mu); /* the check and the edge as one */
	int rc = workflow_check_edge(rq->st, rel, rq->ids[0], (long)json_integer_value(idv), &err);
	if (rc == 0)
		api_sublist(rq, rs, STORE_WORKFLOW_JOB_TEMPLATE_NODE, rel, rq->ids[0], NULL);
	pthread_mutex_unlock(rq->write_mu);
	if (rc < 0 && err.code == EINVAL)
		return api_json(rs, 400, json_pack("{s:s}", "Error", err.message));
	if (rc < 0)
		return api_error(rs, &err);
	return 0;
}

static int tnode_success(api_request *rq, api_response *rs)
{
	return tnode_edge(rq, rs, "success_nodes");
}
static int tnode_failure(api_request *rq, api_response *rs)
{
	return tnode_edge(rq, rs, "failure_nodes");
}
static int tnode_always(api_request *rq, api_response *rs)
{
	return tnode_edge(rq, rs, "always_nodes");
}

/* ------------------------------------------------------------------ */
/* workflow jobs and their nodes                                        */

/* GET /api/v2/workflow_jobs/. */
static int wjobs(api_request *rq, api_response *rs)
{
	return api_list(rq, rs, STORE_WORKFLOW_JOB, NULL);
}

/* GET/DELETE /api/v2/workflow_jobs/N/ (an active one is not deleted). */
static int wjob_one(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_get(rq, rs, STORE_WORKFLOW_JOB, rq->ids[0], NULL);
	runnel_error err = {0};
	json_t *wj = store_get(rq->st, STORE_WORKFLOW_JOB, rq->ids[0], &err);
	if (!wj)
		return api_error(rs, &err);
	bool active = store_status_is_active(json_string_value(json_object_get(wj, "status")));
	json_decref(wj);
	if (active)
		return api_detail(rs, 403, "Cannot delete running job resource.");
	api_delete(rq, rs, STORE_WORKFLOW_JOB, rq->ids[0]);
	if (rs->status == 204)
		drop_nodes(rq, rq->ids[0], false);
	return 0;
}

/* GET/POST /api/v2/workflow_jobs/N/cancel/: the manager cancels its nodes' jobs. */
static int wjob_cancel(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *wj = store_get(rq->st, STORE_WORKFLOW_JOB, rq->ids[0], &err);
	if (!wj)
		return api_error(rs, &err);
	bool active = store_status_is_active(json_string_value(json_object_get(wj, "status")));
	json_decref(wj);
	if (!strcmp(rq->method, "GET"))
		return api_json(rs, 200, json_pack("{s:b}", "can_cancel", active));
	int rc = engine_cancel(rq->eng, rq->ids[0], &err);
	if (rc < 0)
		return api_error(rs, &err);
	if (rc == 0)
		return api_not_allowed(rs, "POST");
	api_logf(rq, "workflow_job %ld: cancel requested by user %ld", rq->ids[0], rq->user_id);
	rs->status = 202;
	return 0;
}

/* GET/POST /api/v2/workflow_jobs/N/relaunch/ (AWX's WorkflowJobRelaunch). */
static int wjob_relaunch(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *wj = store_get(rq->st, STORE_WORKFLOW_JOB, rq->ids[0], &err);
	if (!wj)
		return api_error(rs, &err);
	json_decref(wj);
	if (!strcmp(rq->method, "GET"))
		return api_json(rs, 200, json_object());
	json_t *nj = engine_relaunch_workflow(rq->eng, rq->ids[0], rq->user_id, &err);
	if (!nj)
		return api_error(rs, &err);
	json_object_set(nj, "workflow_job", json_object_get(nj, "id"));
	api_logf(rq, "workflow_job %ld relaunched as %ld by user %ld", rq->ids[0], int_of(nj, "id"),
	         rq->user_id);
	return api_json(rs, 201, access_decorate(rq, STORE_WORKFLOW_JOB, nj));
}

/* GET /api/v2/workflow_jobs/N/workflow_nodes/. */
static int wjob_nodes(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *wj = store_get(rq->st, STORE_WORKFLOW_JOB, rq->ids[0], &err);
	if (!wj)
		return api_error(rs, &err);
	json_decref(wj);
	json_t *f = json_pack("{s:I}", "workflow_job", (json_int_t)rq->ids[0]);
	api_list_opts o = {.filters = f, .decorate = decorate_job_node};
	api_list(rq, rs, STORE_WORKFLOW_JOB_NODE, &o);
	json_decref(f);
	return 0;
}

/* GET /api/v2/workflow_job_nodes/. */
static int jnodes(api_request *rq, api_response *rs)
{
	api_list_opts o = {.decorate = decorate_job_node};
	return api_list(rq, rs, STORE_WORKFLOW_JOB_NODE, &o);
}

/* GET /api/v2/workflow_job_nodes/N/. */
static int jnode_one(api_request *rq, api_response *rs)
{
	return api_get(rq, rs, STORE_WORKFLOW_JOB_NODE, rq->ids[0], decorate_job_node);
}

/* GET /api/v2/workflow_job_nodes/N/<edge>/. */
static int jnode_edge(api_request *rq, api_response *rs, const char *edge)
{
	runnel_error err = {0};
	json_t *n = store_get(rq->st, STORE_WORKFLOW_JOB_NODE, rq->ids[0], &err);
	if (!n)
		return api_error(rs, &err);
	json_decref(n);
	api_list_opts o = {.rel = workflow_edge_rel(edge, false),
	                   .rel_parent = rq->ids[0],
	                   .decorate = decorate_job_node};
	return api_list(rq, rs, STORE_WORKFLOW_JOB_NODE, &o);
}

static int jnode_success(api_request *rq, api_response *rs)
{
	return jnode_edge(rq, rs, "success_nodes");
}
static int jnode_failure(api_request *rq, api_response *rs)
{
	return jnode_edge(rq, rs, "failure_nodes");
}
static int jnode_always(api_request *rq, api_response *rs)
{
	return jnode_edge(rq, rs, "always_nodes");
}

const api_route api_routes_workflows[] = {
    {"/api/v2/workflow_job_templates/", wfjts, wfjts, NULL, NULL, NULL, false},
    {"/api/v2/workflow_job_templates/{id}/", wfjt_one, NULL, wfjt_one, wfjt_one, wfjt_one, false},
    {"/api/v2/workflow_job_templates/{id}/workflow_nodes/", wfjt_nodes, wfjt_nodes, NULL, NULL,
     NULL, false},
    {"/api/v2/workflow_job_templates/{id}/launch/", wfjt_launch_info, wfjt_launch, NULL, NULL, NULL,
     false},
    {"/api/v2/workflow_job_templates/{id}/workflow_jobs/", wfjt_jobs, NULL, NULL, NULL, NULL,
     false},
    {"/api/v2/workflow_job_templates/{id}/copy/", wfjt_copy, wfjt_copy, NULL, NULL, NULL, false},
    {"/api/v2/workflow_job_template_nodes/", tnodes, tnodes, NULL, NULL, NULL, false},
    {"/api/v2/workflow_job_template_nodes/{id}/", tnode_one, NULL, tnode_one, tnode_one, tnode_one,
     false},
    {"/api/v2/workflow_job_template_nodes/{id}/success_nodes/", tnode_success, tnode_success, NULL,
     NULL, NULL, false},
    {"/api/v2/workflow_job_template_nodes/{id}/failure_nodes/", tnode_failure, tnode_failure, NULL,
     NULL, NULL, false},
    {"/api/v2/workflow_job_template_nodes/{id}/always_nodes/", tnode_always, tnode_always, NULL,
     NULL, NULL, false},
    {"/api/v2/workflow_jobs/", wjobs, NULL, NULL, NULL, NULL, false},
    {"/api/v2/workflow_jobs/{id}/", wjob_one, NULL, NULL, NULL, wjob_one, false},
    {"/api/v2/workflow_jobs/{id}/cancel/", wjob_cancel, wjob_cancel, NULL, NULL, NULL, false},
    {"/api/v2/workflow_jobs/{id}/relaunch/", wjob_relaunch, wjob_relaunch, NULL, NULL, NULL, false},
    {"/api/v2/workflow_jobs/{id}/workflow_nodes/", wjob_nodes, NULL, NULL, NULL, NULL, false},
    {"/api/v2/workflow_job_nodes/", jnodes, NULL, NULL, NULL, NULL, false},
    {"/api/v2/workflow_job_nodes/{id}/", jnode_one, NULL, NULL, NULL, NULL, false},
    {"/api/v2/workflow_job_nodes/{id}/success_nodes/", jnode_success, NULL, NULL, NULL, NULL,
     false},
    {"/api/v2/workflow_job_nodes/{id}/failure_nodes/", jnode_failure, NULL, NULL, NULL, NULL,
     false},
    {"/api/v2/workflow_job_nodes/{id}/always_nodes/", jnode_always, NULL, NULL, NULL, NULL, false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
