/*
 * workflow.c - workflow jobs: their launch, the graph rules of AWX's
 * dag_workflow.py and the manager thread that runs them (workflow.h).
 */
#include "workflow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>

#include "engine_internal.h"
#include "job_states.h"
#include "model.h"
#include "util.h"

/* The three edges of a node, in AWX's order. */
typedef enum wf_edge { EDGE_SUCCESS = 0, EDGE_FAILURE, EDGE_ALWAYS, EDGES } wf_edge;

static const char *const edge_names[EDGES] = {"success_nodes", "failure_nodes", "always_nodes"};

/* One node of a graph as the rules see it. */
typedef struct wf_node {
	long id;
	long ujt;            /* the unified job template; 0: none (or deleted) */
	long job;            /* the job it spawned; 0: none yet */
	bool dnr;            /* do_not_run */
	bool converge;       /* all_parents_must_converge */
	char status[32];     /* its job's status ("" without a job) */
	json_t *obj;         /* the node as stored */
	json_t *kids[EDGES]; /* child ids by edge (arrays of integers) */
} wf_node;

/* A workflow's nodes and edges. */
typedef struct wf_graph {
	wf_node *n;
	size_t count;
} wf_graph;

store_rel workflow_edge_rel(const char *name, bool tmpl)
{
	static const store_rel rels[2][EDGES] = {
	    {STORE_REL_WFJ_NODE_SUCCESS, STORE_REL_WFJ_NODE_FAILURE, STORE_REL_WFJ_NODE_ALWAYS},
	    {STORE_REL_WFJT_NODE_SUCCESS, STORE_REL_WFJT_NODE_FAILURE, STORE_REL_WFJT_NODE_ALWAYS},
	};
	for (int i = 0; i < EDGES; i++)
		if (name && !strcmp(name, edge_names[i]))
			return rels[tmpl ? 1 : 0][i];
	return STORE_REL_NONE;
}

static long int_of(const json_t *o, const char *key)
{
	return (long)json_integer_value(json_object_get(o, key));
}

/* Every object of kind matching filters (borrowed), in id order: a new
 * array, or NULL with err. */
static json_t *list_all(store *st, store_kind kind, json_t *filters, runnel_error *err)
{
	json_t *all = json_array();
	for (long page = 1;; page++) {
		store_query q = {
		    .filters = filters, .order_by = "id", .page = page, .page_size = 200};
		store_page pg = {0};
		if (store_list(st, kind, &q, &pg, err) < 0) {
			json_decref(all);
			return NULL;
		}
		json_array_extend(all, pg.results);
		long count = pg.count;
		store_page_clear(&pg);
		if (page * 200 >= count)
			return all;
	}
}

/* The kind of unified job template id (job template, project, inventory
 * source), or -1 when there is none. */
static int ujt_kind(store *st, long id)
{
	static const store_kind kinds[] = {STORE_JOB_TEMPLATE, STORE_PROJECT,
	                                   STORE_INVENTORY_SOURCE};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		runnel_error err = {0};
		json_t *o = id > 0 ? store_get(st, kinds[i], id, &err) : NULL;
		if (o) {
			json_decref(o);
			return (int)kinds[i];
		}
	}
	return -1;
}

static void graph_free(wf_graph *g)
{
	for (size_t i = 0; i < g->count; i++) {
		json_decref(g->n[i].obj);
		for (int k = 0; k < EDGES; k++)
			json_decref(g->n[i].kids[k]);
	}
	free(g->n);
	g->n = NULL;
	g->count = 0;
}

/* Load the nodes and edges of a workflow job template (tmpl) or workflow
 * job owner; with_jobs: each node's job status, and a node's template
 * that is gone counts as none (AWX's SET_NULL). 0, or -1 with err. */
static int graph_load(store *st, bool tmpl, long owner, bool with_jobs, wf_graph *g,
                      runnel_error *err)
{
	memset(g, 0, sizeof *g);
	json_t *f =
	    json_pack("{s:I}", tmpl ? "workflow_job_template" : "workflow_job", (json_int_t)owner);
	json_t *nodes =
	    list_all(st, tmpl ? STORE_WORKFLOW_JOB_TEMPLATE_NODE : STORE_WORKFLOW_JOB_NODE, f, err);
	json_decref(f);
	if (!nodes)
		return -1;
	g->n = calloc(json_array_size(nodes) + 1, sizeof *g->n);
	size_t i;
	json_t *o;
	json_array_foreach(nodes, i, o) {
		wf_node *n = &g->n[g->count++];
		n->obj = json_incref(o);
		n->id = int_of(o, "id");
		n->ujt = int_of(o, "unified_job_template");
		n->job = int_of(o, "job");
		n->dnr = json_is_true(json_object_get(o, "do_not_run"));
		n->converge = json_is_true(json_object_get(o, "all_parents_must_converge"));
		for (int k = 0; k < EDGES; k++) {
			n->kids[k] = store_related_ids(st, workflow_edge_rel(edge_names[k], tmpl),
			                               n->id, false, err);
			if (!n->kids[k]) {
				json_decref(nodes);
				graph_free(g);
				return -1;
			}
		}
		if (!with_jobs)
			continue;
		if (n->job) {
			runnel_error e2 = {0};
			json_t *job = store_get(st, STORE_UNIFIED_JOB, n->job, &e2);
			/* a job deleted under a running workflow: it ended, badly */
			snprintf(n->status, sizeof n->status, "%s",
			         job ? json_string_value(json_object_get(job, "status")) : "error");
			json_decref(job);
		} else if (n->ujt && !n->dnr && ujt_kind(st, n->ujt) < 0) {
			n->ujt = 0;
		}
	}
	json_decref(nodes);
	return 0;
}

static wf_node *node_by_id(wf_graph *g, long id)
{
	for (size_t i = 0; i < g->count; i++)
		if (g->n[i].id == id)
			return &g->n[i];
	return NULL;
}

/* True if c is p's child by edge. */
static bool child_by(const wf_node *p, wf_edge edge, long c)
{
	size_t i;
	json_t *v;
	json_array_foreach(p->kids[edge], i, v) {
		if (json_integer_value(v) == c)
			return true;
	}
	return false;
}

static bool is_parent(const wf_node *p, long c)
{
	return child_by(p, EDGE_SUCCESS, c) || child_by(p, EDGE_FAILURE, c) ||
	       child_by(p, EDGE_ALWAYS, c);
}

static bool is_root(const wf_graph *g, long c)
{
	for (size_t i = 0; i < g->count; i++)
		if (is_parent(&g->n[i], c))
			return false;
	return true;
}

static bool status_done(const char *s)
{
	return !strcmp(s, "successful") || !strcmp(s, "failed") || !strcmp(s, "error") ||
	       !strcmp(s, "canceled");
}

static bool status_bad(const char *s)
{
	return !strcmp(s, "failed") || !strcmp(s, "error") || !strcmp(s, "canceled");
}

/* _are_relevant_parents_finished: every parent that may still run a job
 * has one, and it is done. */
static bool relevant_parents_finished(const wf_graph *g, long c)
{
	for (size_t i = 0; i < g->count; i++) {
		const wf_node *p = &g->n[i];
		if (!is_parent(p, c) || p->dnr || !p->ujt)
			continue;
		if (!p->job || !status_done(p->status))
			return false;
	}
	return true;
}

/* _all_parents_met_convergence_criteria: each parent whose job succeeded
 * or failed reaches c by that path or an always path. */
static bool parents_met_convergence(const wf_graph *g, long c)
{
	for (size_t i = 0; i < g->count; i++) {
		const wf_node *p = &g->n[i];
		if (!is_parent(p, c) || !p->job)
			continue;
		bool ok = !strcmp(p->status, "successful");
		if (!ok && strcmp(p->status, "failed"))
			continue;
		if (!child_by(p, ok ? EDGE_SUCCESS : EDGE_FAILURE, c) &&
		    !child_by(p, EDGE_ALWAYS, c))
			return false;
	}
	return true;
}

/* bfs_nodes_to_run: the nodes to launch now, from the roots along the
 * paths the finished jobs took. found gets their indexes; returns how many. */
static size_t nodes_to_run(const wf_graph *g, size_t *found)
{
	size_t nfound = 0, head = 0, tail = 0, cap = g->count + 1;
	long *queue = malloc(sizeof *queue * cap);
	bool *seen = calloc(g->count + 1, sizeof *seen);
	for (size_t i = 0; i < g->count; i++)
		if (is_root(g, g->n[i].id))
			queue[tail++] = g->n[i].id;
	while (head < tail) {
		long id = queue[head++];
		const wf_node *n = NULL;
		size_t idx = 0;
		for (; idx < g->count; idx++)
			if (g->n[idx].id == id) {
				n = &g->n[idx];
				break;
			}
		if (!n || seen[idx])
			continue;
		seen[idx] = true;
		int follow[2] = {-1, -1};
		if (n->dnr)
			continue;
		if (n->job) {
			if (status_bad(n->status))
				follow[0] = EDGE_FAILURE, follow[1] = EDGE_ALWAYS;
			else if (!strcmp(n->status, "successful"))
				follow[0] = EDGE_SUCCESS, follow[1] = EDGE_ALWAYS;
		} else if (!n->ujt) {
			follow[0] = EDGE_FAILURE, follow[1] = EDGE_ALWAYS;
		} else if (relevant_parents_finished(g, n->id) &&
		           (!n->converge || parents_met_convergence(g, n->id))) {
			found[nfound++] = idx;
		}
		for (int k = 0; k < 2; k++) {
			if (follow[k] < 0)
				continue;
			size_t j;
			json_t *v;
			json_array_foreach(n->kids[follow[k]], j, v) {
				if (tail == cap) {
					cap *= 2;
					queue = realloc(queue, sizeof *queue * cap);
				}
				queue[tail++] = (long)json_integer_value(v);
			}
		}
	}
	free(queue);
	free(seen);
	return nfound;
}

/* The nodes in topological order (Kahn); nodes on a cycle (none: edges
 * that close one are refused) come last. order gets g->count indexes.
 * Returns how many were ordered before a cycle stopped it. */
static size_t topo_order(const wf_graph *g, size_t *order)
{
	long *indeg = calloc(g->count + 1, sizeof *indeg);
	bool *placed = calloc(g->count + 1, sizeof *placed);
	for (size_t i = 0; i < g->count; i++)
		for (int k = 0; k < EDGES; k++) {
			size_t j;
			json_t *v;
			json_array_foreach(g->n[i].kids[k], j, v) {
				for (size_t c = 0; c < g->count; c++)
					if (g->n[c].id == json_integer_value(v))
						indeg[c]++;
			}
		}
	size_t n = 0;
	for (bool moved = true; moved;) {
		moved = false;
		for (size_t i = 0; i < g->count; i++) {
			if (placed[i] || indeg[i])
				continue;
			placed[i] = moved = true;
			order[n++] = i;
			for (int k = 0; k < EDGES; k++) {
				size_t j;
				json_t *v;
				json_array_foreach(g->n[i].kids[k], j, v) {
					for (size_t c = 0; c < g->count; c++)
						if (g->n[c].id == json_integer_value(v))
							indeg[c]--;
				}
			}
		}
	}
	size_t sorted = n;
	for (size_t i = 0; i < g->count; i++)
		if (!placed[i])
			order[n++] = i;
	free(indeg);
	free(placed);
	return sorted;
}

/* _should_mark_node_dnr: no parent reaches c, nor may still. */
static bool should_mark_dnr(const wf_graph *g, long c)
{
	for (size_t i = 0; i < g->count; i++) {
		const wf_node *p = &g->n[i];
		if (!is_parent(p, c) || p->dnr)
			continue;
		if (p->job) {
			if (!strcmp(p->status, "successful")) {
				if (child_by(p, EDGE_SUCCESS, c) || child_by(p, EDGE_ALWAYS, c))
					return false;
			} else if (status_bad(p->status)) {
				if (child_by(p, EDGE_FAILURE, c) || child_by(p, EDGE_ALWAYS, c))
					return false;
			} else {
				return false;
			}
		} else if (!p->ujt) {
			if (child_by(p, EDGE_FAILURE, c) || child_by(p, EDGE_ALWAYS, c))
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* _are_all_nodes_dnr_decided over c's parents. */
static bool parents_decided(const wf_graph *g, long c)
{
	for (size_t i = 0; i < g->count; i++) {
		const wf_node *p = &g->n[i];
		if (is_parent(p, c) && !p->dnr && !p->job && p->ujt)
			return false;
	}
	return true;
}

/* mark_dnr_nodes: set dnr on the nodes that decidedly will not run (in
 * topological order, so a mark counts for the nodes below); marked[i] true
 * for each newly marked. Returns how many. */
static int mark_dnr(wf_graph *g, bool *marked)
{
	size_t *order = malloc(sizeof *order * (g->count + 1));
	topo_order(g, order);
	int n = 0;
	for (size_t k = 0; k < g->count; k++) {
		wf_node *c = &g->n[order[k]];
		if (c->dnr || c->job || is_root(g, c->id))
			continue;
		bool mark = false;
		if (c->converge) {
			bool parent_dnr = false;
			for (size_t i = 0; i < g->count; i++)
				if (is_parent(&g->n[i], c->id) && g->n[i].dnr)
					parent_dnr = true;
			mark = parent_dnr || !parents_met_convergence(g, c->id);
		} else {
			mark = parents_decided(g, c->id) && should_mark_dnr(g, c->id);
		}
		if (mark) {
			c->dnr = true;
			marked[order[k]] = true;
			n++;
		}
	}
	free(order);
	return n;
}

/* is_workflow_done: every node decided and every job done. */
static bool workflow_done(const wf_graph *g)
{
	for (size_t i = 0; i < g->count; i++) {
		const wf_node *n = &g->n[i];
		if (!n->dnr && !n->job && n->ujt)
			return false;
		if (n->job && !status_done(n->status))
			return false;
	}
	return true;
}

/* has_workflow_failed: a failed node (a job failed, errored or canceled,
 * or no template) without a failure or always path. */
static bool workflow_failed(const wf_graph *g)
{
	for (size_t i = 0; i < g->count; i++) {
		const wf_node *n = &g->n[i];
		bool failed = (!n->dnr && !n->ujt) || (n->job && status_bad(n->status));
		if (failed && !json_array_size(n->kids[EDGE_FAILURE]) &&
		    !json_array_size(n->kids[EDGE_ALWAYS]))
			return true;
	}
	return false;
}

int workflow_check_edge(store *st, store_rel rel, long parent, long child, runnel_error *err)
{
	if (parent == child)
		return rn_fail(err, EINVAL, "Cycle detected.");
	json_t *p = store_get(st, STORE_WORKFLOW_JOB_TEMPLATE_NODE, parent, err);
	if (!p)
		return -1;
	json_t *c = store_get(st, STORE_WORKFLOW_JOB_TEMPLATE_NODE, child, err);
	if (!c) {
		json_decref(p);
		return -1;
	}
	long wfjt = int_of(p, "workflow_job_template");
	bool same = wfjt == int_of(c, "workflow_job_template");
	json_decref(p);
	json_decref(c);
	if (!same) /* runneld's: the edges of one workflow join its own nodes */
		return rn_fail(err, EINVAL, "Relationship not allowed.");
	wf_graph g;
	if (graph_load(st, true, wfjt, false, &g, err) < 0)
		return -1;
	wf_node *pn = node_by_id(&g, parent);
	int rc = 0;
	int mine = -1;
	for (int k = 0; k < EDGES; k++)
		if (workflow_edge_rel(edge_names[k], true) == rel)
			mine = k;
	for (int k = 0; pn && k < EDGES; k++)
		if (k != mine && child_by(pn, (wf_edge)k, child))
			rc = rn_fail(err, EINVAL, "Relationship not allowed.");
	if (rc == 0 && pn && mine >= 0 && !child_by(pn, (wf_edge)mine, child)) {
		/* with the edge added, does every node still sort? */
		json_array_append_new(pn->kids[mine], json_integer(child));
		size_t *order = malloc(sizeof *order * (g.count + 1));
		if (topo_order(&g, order) < g.count)
			rc = rn_fail(err, EINVAL, "Cycle detected.");
		free(order);
	}
	graph_free(&g);
	return rc;
}

/* ------------------------------------------------------------------ */
/* launching                                                            */

/* A JSON object of variables text ("" or a JSON object); NULL with err. */
static json_t *vars_object(const char *field, const json_t *v, runnel_error *err)
{
	if (!v || json_is_null(v))
		return json_object();
	if (json_is_object(v))
		return json_deep_copy(v);
	const char *t = json_string_value(v);
	if (!t || !*t)
		return json_object();
	json_t *o = json_loads(t, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return rn_fail(err, EINVAL,
		               "%s: runneld merges a workflow's variables as JSON: must be a JSON "
		               "object",
		               field),
		       NULL;
	}
	return o;
}

/* The prompts a workflow launch takes and the flag that asks for each
 * (AWX's WorkflowJobTemplate.get_ask_mapping). */
static const struct {
	const char *field, *ask;
} wf_prompts[] = {
    {"extra_vars", "ask_variables_on_launch"}, {"inventory", "ask_inventory_on_launch"},
    {"limit", "ask_limit_on_launch"},          {"scm_branch", "ask_scm_branch_on_launch"},
    {"job_tags", "ask_tags_on_launch"},        {"skip_tags", "ask_skip_tags_on_launch"},
    {"labels", "ask_labels_on_launch"},        {NULL, NULL},
};

/* Copy the nodes and edges of a template (tmpl) or of another workflow
 * job (a relaunch) into workflow job wj. 0 or -1. */
static int copy_nodes(store *st, bool tmpl, long from, long wj, runnel_error *err)
{
	wf_graph g;
	if (graph_load(st, tmpl, from, false, &g, err) < 0)
		return -1;
	long *ids = calloc(g.count + 1, sizeof *ids);
	int rc = 0;
	for (size_t i = 0; i < g.count && rc == 0; i++) {
		json_t *f = json_pack("{s:I}", "workflow_job", (json_int_t)wj);
		for (const model_field *mf = model_fields(STORE_WORKFLOW_JOB_NODE); mf->name;
		     mf++) {
			if (!strcmp(mf->name, "workflow_job") || !strcmp(mf->name, "job") ||
			    !strcmp(mf->name, "do_not_run"))
				continue;
			json_t *v = json_object_get(g.n[i].obj, mf->name);
			if (v && !json_is_null(v))
				json_object_set(f, mf->name, v);
		}
		json_t *o = store_create(st, STORE_WORKFLOW_JOB_NODE, f, STORE_SYSTEM, err);
		json_decref(f);
		if (!o)
			rc = -1;
		else
			ids[i] = int_of(o, "id");
		json_decref(o);
	}
	for (size_t i = 0; i < g.count && rc == 0; i++)
		for (int k = 0; k < EDGES && rc == 0; k++) {
			size_t j;
			json_t *v;
			json_array_foreach(g.n[i].kids[k], j, v) {
				for (size_t c = 0; c < g.count; c++)
					if (g.n[c].id == json_integer_value(v) &&
					    store_associate(st,
					                    workflow_edge_rel(edge_names[k], false),
					                    ids[i], ids[c], err) < 0)
						rc = -1;
			}
		}
	free(ids);
	graph_free(&g);
	return rc;
}

/* Create a workflow job from fields f (created_by when non-zero), copy the
 * nodes and edges of template src (tmpl) or of workflow job src into it and
 * make it pending. Its id, or 0 with err; a job whose nodes could not be
 * copied is failed, saying so. */
static long create_with_nodes(engine *e, json_t *f, long created_by, bool tmpl, long src,
                              runnel_error *err)
{
	if (created_by)
		json_object_set_new(f, "created_by", json_integer(created_by));
	json_t *wj = store_create(e->st, STORE_WORKFLOW_JOB, f, STORE_SYSTEM, err);
	if (!wj)
		return 0;
	long id = int_of(wj, "id");
	json_decref(wj);
	if (copy_nodes(e->st, tmpl, src, id, err) < 0 ||
	    store_job_transition(e->st, id, NULL, "pending", NULL, err) < 0) {
		runnel_error e2 = {0};
		store_job_append(
		    e->st, id, "job_explanation",
		    tmpl ? "The workflow job's nodes could not be copied from its template."
		         : "The workflow job's nodes could not be copied from the one "
		           "relaunched.",
		    &e2);
		store_job_transition(e->st, id, NULL, "failed", NULL, &e2);
		return 0;
	}
	return id;
}

json_t *engine_launch_workflow(engine *e, long wfjt_id, const json_t *prompts,
                               const char *launch_type, long created_by, json_t **ignored,
                               runnel_error *err)
{
	if (ignored)
		*ignored = NULL;
	if (prompts && !json_is_object(prompts))
		return rn_fail(err, EINVAL, "__all__: Invalid data. Expected a dictionary."), NULL;
	json_t *wfjt = store_get(e->st, STORE_WORKFLOW_JOB_TEMPLATE, wfjt_id, err);
	if (!wfjt)
		return NULL;
	json_t *take = json_object(), *ign = json_object(), *f = NULL, *vars = NULL, *add = NULL;
	json_t *r = NULL;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)prompts, k, v) {
		int i;
		for (i = 0; wf_prompts[i].field; i++)
			if (!strcmp(k, wf_prompts[i].field))
				break;
		if (!wf_prompts[i].field) {
			rn_fail(err, EINVAL, "%s: Unknown launch field.", k);
			goto out;
		}
		if (json_is_null(v))
			continue;
		bool asked = json_is_true(json_object_get(wfjt, wf_prompts[i].ask)) ||
		             (!strcmp(k, "extra_vars") &&
		              json_is_true(json_object_get(wfjt, "survey_enabled")));
		json_object_set(asked ? take : ign, k, v);
	}
	if (json_object_get(take, "labels")) {
		rn_fail(err, EINVAL, "labels: runneld does not carry labels into workflow jobs.");
		goto out;
	}
	vars = vars_object("extra_vars", json_object_get(wfjt, "extra_vars"), err);
	if (!vars)
		goto out;
	add = vars_object("extra_vars", json_object_get(take, "extra_vars"), err);
	if (!add)
		goto out;
	json_object_update(vars, add);
	char *vt = json_dumps(vars, JSON_COMPACT);
	f = json_pack("{s:O,s:O,s:s,s:I,s:I,s:s,s:s}", "name", json_object_get(wfjt, "name"),
	              "description", json_object_get(wfjt, "description"), "type", "workflow_job",
	              "unified_job_template", (json_int_t)wfjt_id, "workflow_job_template",
	              (json_int_t)wfjt_id, "launch_type", launch_type ? launch_type : "manual",
	              "extra_vars", vt);
	free(vt);
	static const char *const carried[] = {"inventory", "limit",     "scm_branch",
	                                      "job_tags",  "skip_tags", NULL};
	for (int i = 0; carried[i]; i++) {
		json_t *x = json_object_get(take, carried[i]);
		if (!x)
			x = json_object_get(wfjt, carried[i]);
		if (x && !json_is_null(x))
			json_object_set(f, carried[i], x);
	}
	json_object_set(f, "allow_simultaneous", json_object_get(wfjt, "allow_simultaneous"));
	long id = create_with_nodes(e, f, created_by, true, wfjt_id, err);
	if (!id)
		goto out;
	engine_log(e, "workflow job %ld: launched from workflow job template %ld", id, wfjt_id);
	char now[32];
	rn_utc_isoformat(now);
	json_t *u = json_pack("{s:s+}", "last_job_run", now, "Z");
	json_decref(store_update(e->st, STORE_WORKFLOW_JOB_TEMPLATE, wfjt_id, u,
	                         STORE_SYSTEM | STORE_NO_RESULT, NULL));
	json_decref(u);
	r = store_get(e->st, STORE_UNIFIED_JOB, id, err);
	workflow_wake(e);
out:
	if (r && ignored && json_object_size(ign))
		*ignored = json_incref(ign);
	json_decref(ign);
	json_decref(take);
	json_decref(vars);
	json_decref(add);
	json_decref(f);
	json_decref(wfjt);
	return r;
}

/* AWX's WorkflowJob.create_relaunch_workflow_job: a new workflow job with
 * the old one's variables and prompts and a copy of its nodes (not the
 * template's as they are now), launch_type "relaunch". */
json_t *engine_relaunch_workflow(engine *e, long wj_id, long created_by, runnel_error *err)
{
	json_t *old = store_get(e->st, STORE_WORKFLOW_JOB, wj_id, err);
	if (!old)
		return NULL;
	json_t *f = json_pack("{s:s,s:s}", "type", "workflow_job", "launch_type", "relaunch");
	static const char *const same[] = {"name",
	                                   "description",
	                                   "unified_job_template",
	                                   "workflow_job_template",
	                                   "extra_vars",
	                                   "inventory",
	                                   "limit",
	                                   "scm_branch",
	                                   "job_tags",
	                                   "skip_tags",
	                                   "allow_simultaneous",
	                                   NULL};
	for (int i = 0; same[i]; i++) {
		json_t *v = json_object_get(old, same[i]);
		if (v && !json_is_null(v))
			json_object_set(f, same[i], v);
	}
	json_decref(old);
	long id = create_with_nodes(e, f, created_by, false, wj_id, err);
	json_decref(f);
	if (!id)
		return NULL;
	engine_log(e, "workflow job %ld: relaunch of workflow job %ld", id, wj_id);
	workflow_wake(e);
	return store_get(e->st, STORE_UNIFIED_JOB, id, err);
}

/* The launch overrides of node n of workflow job wj (AWX's get_job_kwargs:
 * the node's prompts, the workflow job's over them; variables apart). */
static json_t *node_overrides(const json_t *node, const json_t *wj)
{
	static const char *const node_prompts[] = {
	    "inventory", "limit",     "scm_branch", "job_type", "job_tags", "skip_tags",
	    "diff_mode", "verbosity", "forks",      "timeout",  NULL};
	json_t *o = json_object();
	for (int i = 0; node_prompts[i]; i++) {
		json_t *v = json_object_get(node, node_prompts[i]);
		if (v && !json_is_null(v))
			json_object_set(o, node_prompts[i], v);
	}
	json_t *ed = json_object_get(node, "extra_data");
	if (json_is_object(ed) && json_object_size(ed))
		json_object_set(o, "extra_vars", ed);
	static const char *const wj_prompts[] = {"inventory", "limit",     "scm_branch",
	                                         "job_tags",  "skip_tags", NULL};
	for (int i = 0; wj_prompts[i]; i++) {
		json_t *v = json_object_get(wj, wj_prompts[i]);
		if (v && !json_is_null(v) && !(json_is_string(v) && !json_string_length(v)))
			json_object_set(o, wj_prompts[i], v);
	}
	return o;
}

/* The variables a node's job gets beyond its template's: its parents'
 * jobs' artifacts (set_stats), then the workflow job's variables over them. */
static json_t *node_vars(engine *e, const wf_graph *g, const wf_node *n, const json_t *wj)
{
	json_t *vars = json_object();
	for (size_t i = 0; i < g->count; i++) {
		const wf_node *p = &g->n[i];
		if (!is_parent(p, n->id) || !p->job)
			continue;
		runnel_error err = {0};
		json_t *job = store_get(e->st, STORE_UNIFIED_JOB, p->job, &err);
		json_t *a = json_object_get(job, "artifacts");
		if (json_is_object(a))
			json_object_update(vars, a);
		json_decref(job);
	}
	runnel_error err = {0};
	json_t *w = vars_object("extra_vars", json_object_get(wj, "extra_vars"), &err);
	if (w)
		json_object_update(vars, w);
	json_decref(w);
	return vars;
}

/* A job that could not start (AWX: created, then failed with why). */
static long failed_node_job(engine *e, const wf_node *n, const json_t *wj, const char *why)
{
	int k = ujt_kind(e->st, n->ujt);
	store_kind jk = k == STORE_PROJECT            ? STORE_PROJECT_UPDATE
	                : k == STORE_INVENTORY_SOURCE ? STORE_INVENTORY_UPDATE
	                                              : STORE_JOB;
	const char *link = jk == STORE_PROJECT_UPDATE     ? "project"
	                   : jk == STORE_INVENTORY_UPDATE ? "inventory_source"
	                                                  : "job_template";
	runnel_error err = {0};
	json_t *tmpl = k >= 0 ? store_get(e->st, (store_kind)k, n->ujt, &err) : NULL;
	json_t *f =
	    json_pack("{s:s,s:s,s:I,s:s,s:I,s:I}", "name",
	              tmpl ? json_string_value(json_object_get(tmpl, "name")) : "", "type",
	              store_kind_type(jk), "unified_job_template", (json_int_t)n->ujt,
	              "launch_type", "workflow", "source_workflow_job",
	              (json_int_t)int_of(wj, "id"), "source_workflow_job_node", (json_int_t)n->id);
	if (tmpl)
		json_object_set_new(f, link, json_integer(n->ujt));
	json_decref(tmpl);
	json_t *job = store_create(e->st, jk, f, STORE_SYSTEM, &err);
	json_decref(f);
	if (!job) {
		engine_log(e, "workflow job %ld: node %ld: %s", int_of(wj, "id"), n->id,
		           err.message);
		return 0;
	}
	long id = int_of(job, "id");
	json_decref(job);
	char *text = rn_xasprintf("Job spawned from workflow could not start because it was "
	                          "missing a related resource such as project or inventory (%s)",
	                          why);
	store_job_append(e->st, id, "job_explanation", text, &err);
	free(text);
	store_job_transition(e->st, id, NULL, "failed", NULL, &err);
	return id;
}

/* The job already spawned for node id (a runneld stopped between creating
 * it and recording it on the node), or 0. */
static long spawned_job(engine *e, long node_id)
{
	json_t *f = json_pack("{s:I}", "source_workflow_job_node", (json_int_t)node_id);
	store_query q = {.filters = f, .order_by = "id", .page = 1, .page_size = 1};
	store_page pg = {0};
	runnel_error err = {0};
	long id = 0;
	if (store_list(e->st, STORE_UNIFIED_JOB, &q, &pg, &err) == 0 && json_array_size(pg.results))
		id = int_of(json_array_get(pg.results, 0), "id");
	store_page_clear(&pg);
	json_decref(f);
	return id;
}

/* Launch node n's job and record it on the node. true if a job was made. */
static bool spawn(engine *e, const wf_graph *g, wf_node *n, const json_t *wj)
{
	long wj_id = int_of(wj, "id");
	long job = spawned_job(e, n->id);
	if (!job) {
		json_t *ov = node_overrides(n->obj, wj);
		json_t *vars = node_vars(e, g, n, wj);
		json_t *stamp =
		    json_pack("{s:s,s:I,s:I,s:o}", "launch_type", "workflow", "source_workflow_job",
		              (json_int_t)wj_id, "source_workflow_job_node", (json_int_t)n->id,
		              "extra_vars", vars);
		runnel_error err = {0};
		json_t *r = engine_launch_for_workflow(e, n->ujt, ov, stamp,
		                                       int_of(wj, "created_by"), &err);
		json_decref(ov);
		json_decref(stamp);
		if (r) {
			job = int_of(r, "id");
			json_decref(r);
		} else {
			job = failed_node_job(e, n, wj, err.message);
		}
	}
	if (!job)
		return false;
	json_t *u = json_pack("{s:I}", "job", (json_int_t)job);
	runnel_error err = {0};
	json_t *o = store_update(e->st, STORE_WORKFLOW_JOB_NODE, n->id, u, STORE_SYSTEM, &err);
	json_decref(u);
	if (!o) {
		engine_log(e, "workflow job %ld: node %ld: %s", wj_id, n->id, err.message);
		return false;
	}
	json_decref(o);
	n->job = job;
	engine_log(e, "workflow job %ld: node %ld spawned job %ld", wj_id, n->id, job);
	return true;
}

/* Record the end of workflow job wj on it and its template. */
static void finish(engine *e, const json_t *wj, const char *status, const char *why)
{
	long id = int_of(wj, "id");
	runnel_error err = {0};
	if (why)
		store_job_append(e->st, id, "job_explanation", why, &err);
	static const char *const running[] = {"running", NULL};
	if (store_job_transition(e->st, id, running, status, NULL, &err) != 1)
		return;
	engine_log(e, "workflow job %ld: %s", id, status);
	long wfjt = int_of(wj, "workflow_job_template");
	json_t *u = json_pack("{s:s,s:b}", "status", status, "last_job_failed",
	                      strcmp(status, "successful"));
	json_decref(store_update(e->st, STORE_WORKFLOW_JOB_TEMPLATE, wfjt, u,
	                         STORE_SYSTEM | STORE_NO_RESULT, NULL));
	json_decref(u);
}

/* Set do_not_run on node n (and in the store). */
static void set_dnr(engine *e, wf_node *n)
{
	n->dnr = true;
	json_t *u = json_pack("{s:b}", "do_not_run", 1);
	runnel_error err = {0};
	json_decref(store_update(e->st, STORE_WORKFLOW_JOB_NODE, n->id, u,
	                         STORE_SYSTEM | STORE_NO_RESULT, &err));
	json_decref(u);
}

/* One step of running workflow job wj (spawn_workflow_graph_jobs). Returns
 * how many jobs it launched. */
static int advance(engine *e, const json_t *wj)
{
	long id = int_of(wj, "id");
	wf_graph g;
	runnel_error err = {0};
	if (graph_load(e->st, false, id, true, &g, &err) < 0) {
		engine_log(e, "workflow job %ld: %s", id, err.message);
		return 0;
	}
	int launched = 0;
	if (json_is_true(json_object_get(wj, "cancel_flag"))) {
		bool finished = true;
		for (size_t i = 0; i < g.count; i++) {
			wf_node *n = &g.n[i];
			if (!n->dnr && !n->job)
				set_dnr(e, n);
			if (n->job && !status_done(n->status)) {
				finished = false;
				runnel_error e2 = {0};
				engine_cancel(e, n->job, &e2);
			}
		}
		if (finished)
			finish(e, wj, "canceled", NULL);
		graph_free(&g);
		return 0;
	}
	bool *marked = calloc(g.count + 1, sizeof *marked);
	mark_dnr(&g, marked);
	for (size_t i = 0; i < g.count; i++)
		if (marked[i])
			set_dnr(e, &g.n[i]);
	free(marked);
	if (workflow_done(&g)) {
		bool failed = workflow_failed(&g);
		finish(e, wj, failed ? "failed" : "successful",
		       failed ? "No error handling paths found, marking workflow as failed" : NULL);
	} else {
		size_t *found = malloc(sizeof *found * (g.count + 1));
		size_t nf = nodes_to_run(&g, found);
		for (size_t i = 0; i < nf; i++) {
			pthread_mutex_lock(&e->mu);
			bool stopping = e->stopping;
			pthread_mutex_unlock(&e->mu);
			if (stopping)
				break;
			if (g.n[found[i]].ujt && spawn(e, &g, &g.n[found[i]], wj))
				launched++;
		}
		free(found);
	}
	graph_free(&g);
	return launched;
}

int workflow_pass(engine *e)
{
	json_t *f = json_pack("{s:s}", "status__in", "pending,waiting,running");
	runnel_error err = {0};
	json_t *jobs = list_all(e->st, STORE_WORKFLOW_JOB, f, &err);
	json_decref(f);
	if (!jobs) {
		engine_log(e, "workflow manager: %s", err.message);
		return 0;
	}
	int launched = 0;
	size_t i;
	json_t *wj;
	json_array_foreach(jobs, i, wj) {
		pthread_mutex_lock(&e->mu);
		bool stopping = e->stopping || e->workflow_stop;
		pthread_mutex_unlock(&e->mu);
		if (stopping)
			break;
		long id = int_of(wj, "id");
		const char *status = json_string_value(json_object_get(wj, "status"));
		/* no worker runs a workflow job: the manager starts it (AWX's
		 * TaskManager: pending → waiting → running at once) */
		static const char *const pending[] = {"pending", NULL};
		static const char *const waiting[] = {"waiting", NULL};
		if (!strcmp(status, "pending") &&
		    store_job_transition(e->st, id, pending, "waiting", NULL, &err) != 1)
			continue;
		if (strcmp(status, "running")) {
			if (store_job_transition(e->st, id, waiting, "running", NULL, &err) != 1)
				continue;
			engine_log(e, "workflow job %ld: running", id);
		}
		json_t *cur = store_get(e->st, STORE_UNIFIED_JOB, id, &err);
		if (cur)
			launched += advance(e, cur);
		json_decref(cur);
	}
	json_decref(jobs);
	return launched;
}

/* The thread: a pass every WORKFLOW_TICK seconds, or when woken. */
static void *workflow_main(void *arg)
{
	engine *e = arg;
	prctl(PR_SET_NAME, "rn-workflow");
	pthread_mutex_lock(&e->mu);
	while (!e->workflow_stop && !e->stopping) {
		pthread_mutex_unlock(&e->mu);
		workflow_pass(e);
		pthread_mutex_lock(&e->mu);
		if (e->workflow_stop || e->stopping)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		long ns = ts.tv_nsec + (long)(WORKFLOW_TICK * 1e9);
		ts.tv_sec += ns / 1000000000L;
		ts.tv_nsec = ns % 1000000000L;
		pthread_cond_timedwait(&e->workflow_wake, &e->mu, &ts);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

/* Fail the workflow jobs a stopped runneld left "new": their nodes may be
 * half copied, so they cannot run as launched. */
static void fail_unfinished_launches(engine *e)
{
	json_t *f = json_pack("{s:s}", "status", "new");
	runnel_error err = {0};
	json_t *jobs = list_all(e->st, STORE_WORKFLOW_JOB, f, &err);
	json_decref(f);
	size_t i;
	json_t *wj;
	json_array_foreach(jobs, i, wj) {
		long id = int_of(wj, "id");
		store_job_append(e->st, id, "job_explanation",
		                 "The workflow job was not fully launched (runneld stopped while "
		                 "copying its nodes).",
		                 &err);
		store_job_transition(e->st, id, NULL, "failed", NULL, &err);
		engine_log(e, "workflow job %ld: left new by a previous runneld: failed", id);
	}
	json_decref(jobs);
}

int workflow_start(engine *e, runnel_error *err)
{
	fail_unfinished_launches(e);
	pthread_cond_init(&e->workflow_wake, NULL);
	if (pthread_create(&e->workflow, NULL, workflow_main, e))
		return rn_fail(err, EAGAIN, "__all__: cannot start the workflow manager thread");
	pthread_mutex_lock(&e->mu);
	e->workflow_started = true;
	pthread_mutex_unlock(&e->mu);
	return 0;
}

void workflow_stop(engine *e)
{
	pthread_mutex_lock(&e->mu);
	bool started = e->workflow_started;
	e->workflow_stop = true;
	if (started)
		pthread_cond_signal(&e->workflow_wake);
	pthread_mutex_unlock(&e->mu);
	if (!started)
		return;
	pthread_join(e->workflow, NULL);
	pthread_mutex_lock(&e->mu);
	e->workflow_started = false;
	pthread_mutex_unlock(&e->mu);
}

void workflow_wake(engine *e)
{
	pthread_mutex_lock(&e->mu);
	if (e->workflow_started)
		pthread_cond_signal(&e->workflow_wake);
	pthread_mutex_unlock(&e->mu);
}
