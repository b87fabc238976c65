/*
 * activity_entry.c - AWX's activity stream entries, built from shaped
 * objects and written with store_create (activity_entry.h).
 */
#include "activity_entry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "util.h"

/* The fields of a shaped object that are not its own values. */
static bool meta_key(const char *k)
{
	static const char *const keys[] = {
	    "id",      "type",     "url",        "related",     "summary_fields",
	    "created", "modified", "created_by", "modified_by", NULL};
	for (int i = 0; keys[i]; i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

/* True for the fields whose values are secrets whatever the object. */
static bool secret_key(const char *k)
{
	return !strcmp(k, "password") || !strcmp(k, "token") || !strcmp(k, "refresh_token") ||
	       !strcmp(k, "secret");
}

/* A value of a shaped object as the changes show it: secrets as
 * "$encrypted$" (the store already answers them so; this is the belt). */
static json_t *shown(const char *key, json_t *v)
{
	if (secret_key(key) && !json_is_null(v))
		return json_string("$encrypted$");
	return json_deep_copy(v);
}

json_t *activity_changes_of_object(const json_t *o)
{
	json_t *c = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
		if (!meta_key(k))
			json_object_set_new(c, k, shown(k, v));
	return c;
}

json_t *activity_changes_of_update(const json_t *before, const json_t *after, const json_t *sent)
{
	json_t *c = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)after, k, v) {
		if (meta_key(k))
			continue;
		json_t *old = json_object_get(before, k);
		if (old && json_equal(old, v))
			continue;
		json_object_set_new(
		    c, k, json_pack("[oo]", old ? shown(k, old) : json_null(), shown(k, v)));
	}
	json_object_foreach((json_t *)sent, k, v) {
		if (json_object_get(c, k))
			continue;
		if (secret_key(k)) {
			json_object_set_new(c, k, json_pack("[ss]", "$encrypted$", "$encrypted$"));
			continue;
		}
		/* a secret input (shown "$encrypted$" before and after) set anew */
		json_t *masked = json_object_get(after, k);
		const char *ik;
		json_t *iv;
		if (!json_is_object(v) || !json_is_object(masked))
			continue;
		json_object_foreach(v, ik, iv) {
			json_t *m = json_object_get(masked, ik);
			if (json_is_string(m) && !strcmp(json_string_value(m), "$encrypted$") &&
			    !(json_is_string(iv) &&
			      !strcmp(json_string_value(iv), "$encrypted$"))) {
				json_object_set_new(
				    c, k, json_pack("[OO]", json_object_get(before, k), masked));
				break;
			}
		}
	}
	return c;
}

/* The name of a shaped object (a user's username), or NULL. */
static const char *name_of(const json_t *o)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	return name ? name : json_string_value(json_object_get(o, "username"));
}

bool activity_stream_enabled(store *st)
{
	runnel_error err = {0};
	json_t *f = json_pack("{s:s}", "name", "ACTIVITY_STREAM_ENABLED");
	store_query q = {.filters = f, .page = 1, .page_size = 1};
	store_page p = {0};
	bool on = true;
	if (store_list(st, STORE_SETTING, &q, &p, &err) == 0 && p.count > 0) {
		const char *v =
		    json_string_value(json_object_get(json_array_get(p.results, 0), "value"));
		on = !v || strcmp(v, "false");
	}
	store_page_clear(&p);
	json_decref(f);
	return on;
}

int activity_entry_write(store *st, long actor, const char *operation, store_kind kind, long id,
                         const json_t *obj, json_t *changes, store_kind kind2, long id2,
                         const char *association, runnel_error *err)
{
	/* AWX names the object in changes too */
	if (obj && json_object_get(obj, "id") && !json_object_get(changes, "id") &&
	    strcmp(operation, "update") && strcmp(operation, "associate") &&
	    strcmp(operation, "disassociate"))
		json_object_set(changes, "id", json_object_get(obj, "id"));
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) < 0)
		host[0] = '\0';
	bool pair = kind2 < STORE_KIND_COUNT;
	json_t *f =
	    json_pack("{s:s,s:o,s:s,s:I,s:s,s:o,s:s,s:s}", "operation", operation, "changes",
	              changes, "object1", store_kind_type(kind), "object1_id", (json_int_t)id,
	              "object2", pair ? store_kind_type(kind2) : "", "object2_id",
	              pair ? json_integer(id2) : json_null(), "object_association",
	              association ? association : "", "action_node", host);
	if (actor > 0)
		json_object_set_new(f, "actor", json_integer(actor));
	/* object1's name as it was, for when it is gone */
	json_t *cur = NULL;
	const char *name = name_of(obj);
	if (!name) {
		cur = store_get(st, kind, id, NULL);
		name = name_of(cur);
	}
	if (name)
		json_object_set_new(f, "name", json_string(name));
	json_decref(cur);
	json_t *o = store_create(st, STORE_ACTIVITY_STREAM, f, STORE_SYSTEM, err);
	json_decref(f);
	if (!o)
		return -1;
	json_decref(o);
	return 0;
}

/* The fields of a job and of an ad hoc command that AWX's JobSerializer
 * and AdHocCommandSerializer take (model_to_dict keeps the writable ones). */
static const char *const job_fields[] = {"name",
                                         "description",
                                         "job_type",
                                         "inventory",
                                         "project",
                                         "playbook",
                                         "scm_branch",
                                         "forks",
                                         "limit",
                                         "verbosity",
                                         "extra_vars",
                                         "job_tags",
                                         "force_handlers",
                                         "skip_tags",
                                         "start_at_task",
                                         "timeout",
                                         "use_fact_cache",
                                         "organization",
                                         "job_template",
                                         "allow_simultaneous",
                                         "diff_mode",
                                         "job_slice_number",
                                         "job_slice_count",
                                         "unified_job_template",
                                         "execution_environment",
                                         NULL};
static const char *const ad_hoc_fields[] = {
    "job_type", "inventory", "limit",      "credential",     "module_name", "module_args",
    "forks",    "verbosity", "extra_vars", "become_enabled", "diff_mode",   "execution_environment",
    NULL};

/* The names of the objects of kind whose ids are in ids, each as
 * "name (id)" when with_id (AWX's credentials of a job) or "name". */
static json_t *names_of(store *st, store_kind kind, const json_t *ids, bool with_id)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)ids, i, v) {
		json_t *o = store_get(st, kind, (long)json_integer_value(v), NULL);
		const char *name = name_of(o);
		if (name && with_id) {
			char *s = rn_xasprintf("%s (%lld)", name, (long long)json_integer_value(v));
			json_array_append_new(out, json_string(s));
			free(s);
		} else if (name) {
			json_array_append_new(out, json_string(name));
		}
		json_decref(o);
	}
	return out;
}

int activity_record_launch(store *st, long job_id, runnel_error *err)
{
	json_t *job = store_get(st, STORE_UNIFIED_JOB, job_id, err);
	if (!job)
		return -1;
	const char *type = json_string_value(json_object_get(job, "type"));
	int kind = store_kind_from_job_type(type);
	if ((kind != STORE_JOB && kind != STORE_AD_HOC_COMMAND) || !activity_stream_enabled(st)) {
		json_decref(job);
		return 0;
	}
	json_t *changes = json_object();
	const char *const *fields = kind == STORE_JOB ? job_fields : ad_hoc_fields;
	for (int i = 0; fields[i]; i++) {
		json_t *v = json_object_get(job, fields[i]);
		if (v)
			json_object_set_new(changes, fields[i], shown(fields[i], v));
	}
	if (kind == STORE_JOB) {
		json_t *ids = store_related_ids(st, STORE_REL_JOB_CREDENTIALS, job_id, false, NULL);
		json_object_set_new(changes, "credentials",
		                    names_of(st, STORE_CREDENTIAL, ids, true));
		json_decref(ids);
		ids = store_related_ids(st, STORE_REL_JOB_LABELS, job_id, false, NULL);
		json_object_set_new(changes, "labels", names_of(st, STORE_LABEL, ids, false));
		json_decref(ids);
	}
	json_t *by = json_object_get(job, "created_by");
	int rc = activity_entry_write(st, json_is_integer(by) ? (long)json_integer_value(by) : 0,
	                              "create", (store_kind)kind, job_id, job, changes,
	                              STORE_KIND_COUNT, 0, NULL, err);
	json_decref(job);
	return rc;
}
