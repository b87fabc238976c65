/*
 * backend_common.c - the logic the store backends share around their SQL
 * (backend_common.h).
 */
#include "backend_common.h"
#include "inventory_plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_states.h"
#include "model.h"
#include "util.h"

int store_relation_check(const store_raw_ops *ops, void *ctx, store_rel rel, long parent,
                         long child, bool add, runnel_error *err)
{
	store_kind pk, ck;
	store_rel_kinds(rel, &pk, &ck);
	if (pk == STORE_KIND_COUNT && ck == STORE_KIND_COUNT)
		return rn_fail(err, EINVAL, "__all__: Unknown relation.");
	if (pk != STORE_KIND_COUNT && !ops->exists(ctx, pk, parent)) /* a role is no row */
		return rn_fail(err, ENOENT, "__all__: Not found.");
	if (add && !ops->exists(ctx, ck, child))
		return rn_fail(err, EINVAL, "id: Invalid pk \"%ld\" - object does not exist.",
		               child);
	if (add && rel == STORE_REL_GROUP_CHILDREN && parent == child)
		return rn_fail(err, EINVAL, "id: Cyclical group association.");
	return 0;
}

int store_related_names_kind(store_rel rel, store_kind *child, runnel_error *err)
{
	store_kind pk;
	store_rel_kinds(rel, &pk, child);
	if (*child == STORE_KIND_COUNT || model_is_job_kind(*child))
		return rn_fail(err, EINVAL, "__all__: Unknown relation.");
	return 0;
}

json_t *store_related_names_new(size_t n)
{
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, json_array());
	return out;
}

void store_related_names_add(json_t *out, const long *parents, size_t n, long parent, long child,
                             const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (parents[i] == parent)
			json_array_append_new(json_array_get(out, i),
			                      json_pack("{s:I,s:s}", "id", (json_int_t)child,
			                                "name", name ? name : ""));
}

long store_upsert_member(const store_raw_ops *ops, void *ctx, store_kind kind, long inv,
                         const char *name, const json_t *vars, long source, bool overwrite_vars,
                         runnel_error *err)
{
	long id = ops->member_id(ctx, kind, inv, name, err);
	if (id < 0)
		return 0;
	if (!id) {
		char *vtext = inventory_plan_vars_text(NULL, (json_t *)vars, true);
		json_t *f = json_pack("{s:s,s:I,s:s}", "name", name, "inventory", (json_int_t)inv,
		                      "variables", vtext);
		free(vtext);
		id = ops->create(ctx, kind, f, err);
		json_decref(f);
		if (id <= 0 || source <= 0)
			return id;
		vars = NULL; /* written already: only the source's mark below */
		overwrite_vars = false;
	}
	json_t *data;
	if (ops->read(ctx, kind, id, &data, err) < 0)
		return 0;
	char *vtext = inventory_plan_vars_text(
	    json_string_value(json_object_get(data, "variables")), (json_t *)vars, overwrite_vars);
	json_object_set_new(data, "variables", json_string(vtext));
	free(vtext);
	inventory_plan_own(data, source);
	int rc = ops->write(ctx, kind, id, data, err);
	json_decref(data);
	return rc < 0 ? 0 : id;
}

/* Seconds since the epoch, to the microsecond. */
static double epoch_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int store_raw_job_transition(const store_raw_ops *ops, void *ctx, long id, const char *const *from,
                             const char *status, char *current, runnel_error *err)
{
	json_t *data = NULL;
	if (ops->begin(ctx, err) < 0)
		return -1;
	int rc = -1;
	if (ops->read(ctx, STORE_UNIFIED_JOB, id, &data, err) < 0)
		goto rollback;
	const char *cur = json_string_value(json_object_get(data, "status"));
	if (!cur)
		cur = "new";
	if (current)
		snprintf(current, 32, "%s", cur);
	/* the compare-and-set: a move the table allows, from a status listed */
	if (!job_state_may_move(cur, from, status)) {
		rc = 0;
		goto rollback;
	}
	char now[32];
	model_now(now);
	double t = epoch_now();
	/* the effects the table names (job_states.h) */
	unsigned set = job_state_apply(data, status, now);
	if (set & JOB_STATE_SET_FINISHED) {
		/* elapsed = finished - started (0 when it never started), to the ms */
		double started;
		if (ops->job_started(ctx, id, &started, err) < 0)
			goto rollback;
		double ms = started < 0 ? 0 : (t - started) * 1000.0;
		ms = ms < 0 ? 0 : (double)(long long)(ms + 0.5);
		json_object_set_new(data, "elapsed", json_real(ms / 1000.0));
	}
	if (ops->write(ctx, STORE_UNIFIED_JOB, id, data, err) < 0)
		goto rollback;
	const char *tcol = set & JOB_STATE_SET_FINISHED  ? "finished_ts"
	                   : set & JOB_STATE_SET_STARTED ? "started_ts"
	                                                 : NULL;
	if (tcol && ops->job_set_ts(ctx, id, tcol, t, err) < 0)
		goto rollback;
	if (ops->commit(ctx, err) < 0)
		goto rollback;
	json_decref(data);
	return 1;
rollback:
	ops->rollback(ctx);
	json_decref(data);
	return rc;
}

int store_raw_job_append(const store_raw_ops *ops, void *ctx, long id, const char *field,
                         const char *text, runnel_error *err)
{
	if (strcmp(field, "job_explanation") && strcmp(field, "result_traceback"))
		return rn_fail(err, EINVAL,
		               "%s: Only job_explanation and result_traceback are appended.",
		               field);
	json_t *data = NULL;
	int rc = ops->begin(ctx, err);
	if (rc < 0)
		return -1;
	rc = ops->read(ctx, STORE_UNIFIED_JOB, id, &data, err);
	if (rc == 0) {
		const char *old = json_string_value(json_object_get(data, field));
		/* the same reason twice says nothing new */
		if (!(old && strstr(old, text))) {
			char *nv =
			    old && *old ? rn_xasprintf("%s\n%s", old, text) : rn_xstrdup(text);
			json_object_set_new(data, field, json_string(nv));
			free(nv);
			rc = ops->write(ctx, STORE_UNIFIED_JOB, id, data, err);
		}
	}
	if (rc == 0)
		rc = ops->commit(ctx, err);
	if (rc < 0)
		ops->rollback(ctx);
	json_decref(data);
	return rc;
}
