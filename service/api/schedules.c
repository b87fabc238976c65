/*
 * schedules.c - AWX's schedules (awx/api/views ScheduleList, ScheduleDetail,
 * SchedulePreview, ScheduleZoneInfo, the templates' schedules/ sublists)
 * and unified_job_templates/ (job templates, projects, inventory sources
 * and the system job template in one list).
 *
 * A schedule's rrule is checked and expanded by rrule.c (libical); its
 * dtstart, dtend, next_run, timezone and until are computed here on every
 * write (scheduler.h schedule_computed), as AWX's Schedule.save. The prompts
 * it carries are checked against its template as AWX's
 * LaunchConfigurationBaseSerializer checks them; the scheduler launches
 * with them through the launch path the API uses.
 */
#include "access.h"
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "rrule.h"
#include "scheduler.h"
#include "util.h"

/* The prompt fields a schedule carries (AWX's LaunchTimeConfig) and the
 * template flag that lets each through (AWX's get_ask_mapping). */
static const struct {
	const char *field;
	const char *ask;
} prompt_asks[] = {
    {"inventory", "ask_inventory_on_launch"},
    {"scm_branch", "ask_scm_branch_on_launch"},
    {"job_type", "ask_job_type_on_launch"},
    {"job_tags", "ask_tags_on_launch"},
    {"skip_tags", "ask_skip_tags_on_launch"},
    {"limit", "ask_limit_on_launch"},
    {"diff_mode", "ask_diff_mode_on_launch"},
    {"verbosity", "ask_verbosity_on_launch"},
    {"forks", "ask_forks_on_launch"},
    {"timeout", "ask_timeout_on_launch"},
    {"job_slice_count", NULL},
    {"execution_environment", NULL},
    {NULL, NULL},
};

/*
 * Who may add, change or delete a schedule: its template's rule. AWX's
 * ScheduleAccess (awx/main/access.py, 21.14.0):
 *   can_add:    superuser, or execute_role on the unified_job_template;
 *   can_change: superuser, or admin of the unified_job_template, or
 *               (created_by == user and execute_role on it);
 *   can_delete: can_change(obj, {});
 *   read:       whoever can see the unified_job_template.
 * runneld has no roles on templates yet: whoever may launch and change a
 * template (every authenticated user with a write scope; a read-only token
 * is refused before this) may do so with its schedules. This is the one
 * place to route to access.c once roles land.
 */
static bool schedule_allowed(const api_request *rq, const char *action, long ujt)
{
	/* access.c checks the schedule itself on its routes (ScheduleAccess);
	 * adding or pointing one at a template needs execute on that one */
	if (!rq->user)
		return false;
	if (!strcmp(action, "delete"))
		return true;
	json_t *d = json_pack("{s:I}", "unified_job_template", (json_int_t)ujt);
	bool ok = access_can_add((api_request *)rq, STORE_SCHEDULE, d);
	json_decref(d);
	return ok;
}

/* Answer 400 with an object of field -> [messages] (stolen). */
static int field_errors(api_response *rs, json_t *errors)
{
	return api_json(rs, 400, errors);
}

/* Add message to errors[field]. */
static void add_error(json_t *errors, const char *field, const char *message)
{
	json_t *l = json_object_get(errors, field);
	if (!l) {
		l = json_array();
		json_object_set_new(errors, field, l);
	}
	json_array_append_new(l, json_string(message));
}

/* The extra_data of a body as an object: a dict, or a JSON/YAML text of
 * one (AWX's parse_yaml_or_json); NULL and an error when neither. */
static json_t *extra_data_object(const json_t *v, json_t *errors)
{
	if (!v || json_is_null(v))
		return json_object();
	if (json_is_object(v))
		return json_incref((json_t *)v);
	if (json_is_string(v)) {
		const char *t = json_string_value(v);
		if (!*t)
			return json_object();
		json_t *o = json_loads(t, 0, NULL);
		if (json_is_object(o))
			return o;
		json_decref(o);
	}
	add_error(errors, "extra_data", "Must be a valid JSON or YAML dictionary.");
	return NULL;
}

/* Check the template a schedule names and the prompts it carries (merged:
 * the schedule as it would be saved; given: the keys of the request), as
 * AWX's ScheduleSerializer.validate_unified_job_template and
 * LaunchConfigurationBaseSerializer.validate. Errors into errors. */
static void check_template_and_prompts(api_request *rq, const json_t *merged, const json_t *given,
                                       json_t *errors)
{
	long ujt = (long)json_integer_value(json_object_get(merged, "unified_job_template"));
	json_t *tpl = NULL;
	int kind = schedule_template_kind(rq->st, ujt, &tpl);
	if (kind < 0) {
		char m[96];
		snprintf(m, sizeof m, "Invalid pk \"%ld\" - object does not exist.", ujt);
		add_error(errors, "unified_job_template", m);
		return;
	}
	if (kind == STORE_PROJECT) {
		const char *scm = json_string_value(json_object_get(tpl, "scm_type"));
		if (!scm || !*scm)
			add_error(errors, "unified_job_template",
			          "Manual Project cannot have a schedule set.");
	} else if (kind == STORE_INVENTORY_SOURCE) {
		const char *src = json_string_value(json_object_get(tpl, "source"));
		if (!src || !*src || !strcmp(src, "file"))
			add_error(errors, "unified_job_template",
			          "Inventory Source must be a cloud resource.");
	}
	/* prompts are checked only when the request gives one (AWX) */
	bool any = json_object_get(given, "extra_data") != NULL;
	for (int i = 0; prompt_asks[i].field; i++)
		any = any || json_object_get(given, prompt_asks[i].field);
	if (!any) {
		json_decref(tpl);
		return;
	}
	json_t *ed = extra_data_object(json_object_get(merged, "extra_data"), errors);
	for (int i = 0; prompt_asks[i].field; i++) {
		json_t *v = json_object_get(merged, prompt_asks[i].field);
		if (!v || json_is_null(v))
			continue;
		if (kind != STORE_JOB_TEMPLATE) {
			add_error(errors, prompt_asks[i].field, "Field is not allowed on launch.");
			continue;
		}
		if (json_equal(v, json_object_get(tpl, prompt_asks[i].field)))
			continue; /* the template's own value: no prompt */
		if (!prompt_asks[i].ask || !json_is_true(json_object_get(tpl, prompt_asks[i].ask)))
			add_error(errors, prompt_asks[i].field,
			          "Field is not configured to prompt on launch.");
	}
	if (json_object_size(ed)) {
		if (kind == STORE_JOB_TEMPLATE &&
		    !json_is_true(json_object_get(tpl, "ask_variables_on_launch"))) {
			/* the variables equal to the template's own are no prompt */
			const char *tv = json_string_value(json_object_get(tpl, "extra_vars"));
			json_t *tvars = tv && *tv ? json_loads(tv, 0, NULL) : NULL;
			rn_buf keys;
			rn_buf_init(&keys);
			const char *k;
			json_t *v;
			json_object_foreach(ed, k, v) {
				if (json_equal(v, json_object_get(tvars, k)))
					continue;
				if (keys.len)
					rn_buf_append(&keys, ", ", 2);
				rn_buf_append(&keys, k, strlen(k));
			}
			if (keys.len) {
				rn_buf_appendc(&keys, '\0');
				char *m = rn_xasprintf(
				    "Variables %s are not allowed on launch. Check the Prompt on "
				    "Launch "
				    "setting on the Job Template to include Extra Variables.",
				    keys.data);
				add_error(errors, "extra_data", m);
				free(m);
			}
			rn_buf_free(&keys);
			json_decref(tvars);
		} else if (kind == STORE_KIND_COUNT) {
			/* the system job template (AWX's SystemJobTemplate) */
			const char *k;
			json_t *v;
			rn_buf bad;
			rn_buf_init(&bad);
			json_object_foreach(ed, k, v) {
				if (!strcmp(k, "days") || !strcmp(k, "older_than") ||
				    !strcmp(k, "granularity"))
					continue;
				if (bad.len)
					rn_buf_append(&bad, ", ", 2);
				rn_buf_append(&bad, k, strlen(k));
			}
			if (bad.len) {
				rn_buf_appendc(&bad, '\0');
				char *m = rn_xasprintf(
				    "Variables %s are not allowed for system jobs.", bad.data);
				add_error(errors, "extra_data", m);
				free(m);
			}
			rn_buf_free(&bad);
			json_t *days = json_object_get(ed, "days");
			if (days && !(json_is_integer(days) && json_integer_value(days) >= 0))
				add_error(errors, "extra_data", "days must be a positive integer.");
		} else if (kind != STORE_JOB_TEMPLATE) {
			add_error(errors, "extra_data", "Field is not allowed on launch.");
		}
	}
	json_decref(ed);
	json_decref(tpl);
}

/* Another schedule of the template with the name (AWX's unique_together)? */
static bool name_taken(api_request *rq, const json_t *merged, long id)
{
	json_t *f =
	    json_pack("{s:O,s:O}", "name", json_object_get(merged, "name"), "unified_job_template",
	              json_object_get(merged, "unified_job_template"));
	store_query q = {.filters = f, .page = 1, .page_size = 200};
	store_page out = {0};
	runnel_error err = {0};
	bool taken = false;
	if (store_list(rq->st, STORE_SCHEDULE, &q, &out, &err) == 0) {
		size_t i;
		json_t *o;
		json_array_foreach(out.results, i, o)
			if ((long)json_integer_value(json_object_get(o, "id")) != id)
				taken = true;
	}
	store_page_clear(&out);
	json_decref(f);
	return taken;
}

/*
 * Create (id 0) or update a schedule from the request's body; forced: fields
 * set over the body (a nested POST's unified_job_template). Answers 201/200
 * with the schedule, or the errors.
 */
static int schedule_write(api_request *rq, api_response *rs, long id, const json_t *forced)
{
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	json_t *given = json_deep_copy(body);
	json_decref(body);
	if (forced)
		json_object_update(given, (json_t *)forced);
	runnel_error err = {0};
	json_t *cur = NULL;
	if (id) {
		cur = store_get(rq->st, STORE_SCHEDULE, id, &err);
		if (!cur) {
			json_decref(given);
			return api_error(rs, &err);
		}
	}
	/* types, unknown and read-only fields, required ones: the field table */
	json_t *clean = NULL;
	if (model_validate(STORE_SCHEDULE, given, 0, !id, &clean, &err) < 0) {
		json_decref(given);
		json_decref(cur);
		return api_error(rs, &err);
	}
	json_t *merged = json_object();
	if (cur)
		json_object_update(merged, cur);
	json_object_update(merged, clean);
	long ujt = (long)json_integer_value(json_object_get(merged, "unified_job_template"));
	if (!schedule_allowed(rq, id ? "change" : "add", ujt)) {
		json_decref(given), json_decref(cur), json_decref(clean), json_decref(merged);
		return api_detail(rs, 403, "You do not have permission to perform this action.");
	}
	json_t *errors = json_object();
	json_t *rrule_errors = NULL;
	json_t *computed = schedule_computed(json_string_value(json_object_get(merged, "rrule")),
	                                     json_is_true(json_object_get(merged, "enabled")),
	                                     scheduler_now(), &rrule_errors);
	if (!computed)
		json_object_set_new(errors, "rrule", rrule_errors);
	/* AWX skips the template's checks when a PATCH only disables */
	bool only_disable =
	    id && json_object_size(given) == 1 && json_is_false(json_object_get(given, "enabled"));
	if (!only_disable)
		check_template_and_prompts(rq, merged, given, errors);
	if (json_object_size(errors)) {
		json_decref(given), json_decref(cur), json_decref(clean), json_decref(merged);
		json_decref(computed);
		return field_errors(rs, errors);
	}
	json_decref(errors);
	json_object_update(clean, computed);
	json_decref(computed);
	pthread_mutex_lock(rq->write_mu);
	json_t *o = NULL;
	if (name_taken(rq, merged, id))
		api_field_error(rs, "__all__",
		                "Schedule with this Unified job template and Name already exists.");
	else if (id)
		o = store_update(rq->st, STORE_SCHEDULE, id, clean, STORE_SYSTEM, &err);
	else
		o = store_create(rq->st, STORE_SCHEDULE, clean, STORE_SYSTEM, &err);
	pthread_mutex_unlock(rq->write_mu);
	json_decref(given), json_decref(cur), json_decref(clean), json_decref(merged);
	if (!o)
		return rs->status == 400 ? 0 : api_error(rs, &err);
	api_logf(rq, "schedule %lld %s for unified_job_template %ld by user %ld: next run %s",
	         (long long)json_integer_value(json_object_get(o, "id")),
	         id ? "changed" : "created", ujt, rq->user_id,
	         json_string_value(json_object_get(o, "next_run"))
	             ? json_string_value(json_object_get(o, "next_run"))
	             : "none");
	return api_json(rs, id ? 200 : 201, o);
}

/* GET/POST /api/v2/schedules/. */
static int schedules(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_list(rq, rs, STORE_SCHEDULE, NULL);
	return schedule_write(rq, rs, 0, NULL);
}

/* GET/PUT/PATCH/DELETE /api/v2/schedules/N/. */
static int schedule_one(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_get(rq, rs, STORE_SCHEDULE, rq->ids[0], NULL);
	if (!strcmp(rq->method, "DELETE")) {
		runnel_error err = {0};
		json_t *cur = store_get(rq->st, STORE_SCHEDULE, rq->ids[0], &err);
		if (!cur)
			return api_error(rs, &err);
		long ujt = (long)json_integer_value(json_object_get(cur, "unified_job_template"));
		json_decref(cur);
		if (!schedule_allowed(rq, "delete", ujt))
			return api_detail(rs, 403,
			                  "You do not have permission to perform this action.");
		return api_delete(rq, rs, STORE_SCHEDULE, rq->ids[0]);
	}
	return schedule_write(rq, rs, rq->ids[0], NULL);
}

/* GET /api/v2/schedules/N/unified_jobs/: the jobs it launched. */
static int schedule_jobs(api_request *rq, api_response *rs)
{
	runnel_error err = {0};
	json_t *s = store_get(rq->st, STORE_SCHEDULE, rq->ids[0], &err);
	if (!s)
		return api_error(rs, &err);
	json_decref(s);
	json_t *f = json_pack("{s:I}", "schedule", (json_int_t)rq->ids[0]);
	api_list_opts o = {.filters = f};
	api_list(rq, rs, STORE_UNIFIED_JOB, &o);
	json_decref(f);
	return 0;
}

/* POST /api/v2/schedules/preview/: the next 10 runs of an rrule, in its
 * zone and in UTC (AWX's SchedulePreview). GET describes it. */
static int schedule_preview(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_json(rs, 200, json_object());
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	static const char *const allowed[] = {"rrule", NULL};
	if (!api_body_only(body, allowed, rs)) {
		json_decref(body);
		return 0;
	}
	json_t *r = json_object_get(body, "rrule");
	if (!r || json_is_null(r)) {
		json_decref(body);
		return api_field_error(
		    rs, "rrule", r ? "This field may not be null." : "This field is required.");
	}
	if (!json_is_string(r)) {
		json_decref(body);
		return api_field_error(rs, "rrule", "Not a valid string.");
	}
	json_t *errors = NULL;
	long long now = scheduler_now();
	rrule_set *set = rrule_parse(json_string_value(r), now, &errors);
	json_decref(body);
	if (!set)
		return api_json(rs, 400, json_pack("{s:o}", "rrule", errors));
	long long t[10];
	size_t n = rrule_after(set, now, t, 10);
	json_t *local = json_array(), *utc = json_array();
	for (size_t i = 0; i < n; i++) {
		char a[40], b[32];
		rrule_format_local(set, t[i], a);
		rrule_format_utc(t[i], b);
		json_array_append_new(local, json_string(a));
		json_array_append_new(utc, json_string(b));
	}
	rrule_free(set);
	return api_json(rs, 200, json_pack("{s:o,s:o}", "local", local, "utc", utc));
}

/* GET /api/v2/schedules/zoneinfo/: the zones a TZID may name. */
static int schedule_zoneinfo(api_request *rq, api_response *rs)
{
	(void)rq;
	return api_json(rs, 200, rrule_zoneinfo());
}

/* GET/POST /api/v2/<templates>/N/schedules/ of a template of kind (or the
 * system job template 1: kind STORE_KIND_COUNT). */
static int template_schedules(api_request *rq, api_response *rs, int kind)
{
	long id = rq->ids[0];
	int k = schedule_template_kind(rq->st, id, NULL);
	if (k != kind)
		return api_detail(rs, 404, "Not found.");
	json_t *f = json_pack("{s:I}", "unified_job_template", (json_int_t)id);
	int rc;
	if (!strcmp(rq->method, "GET")) {
		api_list_opts o = {.filters = f};
		rc = api_list(rq, rs, STORE_SCHEDULE, &o);
	} else {
		rc = schedule_write(rq, rs, 0, f);
	}
	json_decref(f);
	return rc;
}

static int jt_schedules(api_request *rq, api_response *rs)
{
	return template_schedules(rq, rs, STORE_JOB_TEMPLATE);
}
static int project_schedules(api_request *rq, api_response *rs)
{
	return template_schedules(rq, rs, STORE_PROJECT);
}
static int source_schedules(api_request *rq, api_response *rs)
{
	return template_schedules(rq, rs, STORE_INVENTORY_SOURCE);
}
static int system_schedules(api_request *rq, api_response *rs)
{
	return template_schedules(rq, rs, STORE_KIND_COUNT);
}

/* ------------------------------------------------------------------ */
/* unified_job_templates/                                               */

/* The next run of a template's enabled schedules (AWX's next_job_run), or null. */
static json_t *next_job_run(api_request *rq, long id)
{
	json_t *f = json_pack("{s:I,s:b,s:b}", "unified_job_template", (json_int_t)id, "enabled", 1,
	                      "next_run__isnull", 0);
	store_query q = {.filters = f, .order_by = "next_run", .page = 1, .page_size = 1};
	store_page out = {0};
	runnel_error err = {0};
	json_t *r = NULL;
	if (store_list(rq->st, STORE_SCHEDULE, &q, &out, &err) == 0 && json_array_size(out.results))
		r = json_incref(json_object_get(json_array_get(out.results, 0), "next_run"));
	store_page_clear(&out);
	json_decref(f);
	return r ? r : json_null();
}

/* The system job template as the unified list shows it. */
static json_t *system_template(void)
{
	return json_pack("{s:i,s:s,s:s,s:{s:s,s:s,s:s},s:{},s:s,s:s,s:s,s:s,s:n,s:b}", "id", 1,
	                 "type", "system_job_template", "url", "/api/v2/system_job_templates/1/",
	                 "related", "launch", "/api/v2/system_job_templates/1/launch/", "jobs",
	                 "/api/v2/system_job_templates/1/jobs/", "schedules",
	                 "/api/v2/system_job_templates/1/schedules/", "summary_fields", "name",
	                 "Cleanup Job Details", "description",
	                 "Remove jobs older than a certain number of days", "job_type",
	                 "cleanup_jobs", "status", "ok", "last_job_run", "last_job_failed", 0);
}

/* Does the system job template pass the filters? Only name, type and id
 * (and their exact/icontains lookups) can say yes. */
static bool system_template_matches(const json_t *filters)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)filters, k, v) {
		const char *s = json_string_value(v);
		if (!s)
			return false;
		if (!strcmp(k, "name") || !strcmp(k, "name__exact")) {
			if (strcmp(s, "Cleanup Job Details"))
				return false;
		} else if (!strcmp(k, "name__icontains") || !strcmp(k, "search")) {
			if (!strcasestr("Cleanup Job Details", s))
				return false;
		} else if (!strcmp(k, "id")) {
			if (strcmp(s, "1"))
				return false;
		} else
			return false;
	}
	return true;
}

/* The order_by fields of the unified list (sorted here, across kinds). */
typedef struct ujt_order {
	char keys[8][64];
	bool desc[8];
	int n;
} ujt_order;

/* Compare two templates by the order (then id). */
static int ujt_cmp(const json_t *a, const json_t *b, const ujt_order *o)
{
	for (int i = 0; i < o->n; i++) {
		json_t *x = json_object_get(a, o->keys[i]), *y = json_object_get(b, o->keys[i]);
		int c = 0;
		if (json_is_number(x) && json_is_number(y)) {
			double dx = json_number_value(x), dy = json_number_value(y);
			c = dx < dy ? -1 : dx > dy;
		} else if (json_is_string(x) && json_is_string(y)) {
			c = strcmp(json_string_value(x), json_string_value(y));
		} else {
			/* nulls first, as the store sorts them */
			c = (x && !json_is_null(x)) - (y && !json_is_null(y));
		}
		if (c)
			return o->desc[i] ? -c : c;
	}
	long ia = (long)json_integer_value(json_object_get(a, "id"));
	long ib = (long)json_integer_value(json_object_get(b, "id"));
	return ia < ib ? -1 : ia > ib;
}

/* Insertion sort (the list is a few hundred templates at most). */
static void ujt_sort(json_t *arr, const ujt_order *o)
{
	size_t n = json_array_size(arr);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			json_t *a = json_array_get(arr, j - 1), *b = json_array_get(arr, j);
			if (ujt_cmp(a, b, o) <= 0)
				break;
			json_incref(a);
			json_incref(b);
			json_array_set_new(arr, j - 1, b);
			json_array_set_new(arr, j, a);
		}
}

/* GET /api/v2/unified_job_templates/: every template of every kind, each
 * as its own endpoint shows it (AWX's sub-serializers) with next_job_run;
 * filtered per kind by the store, ordered and paged here. */
static int unified_job_templates(api_request *rq, api_response *rs)
{
	json_t *filters = json_object();
	const char *key;
	json_t *v;
	const char *type = NULL;
	json_object_foreach(rq->query, key, v) {
		if (!strcmp(key, "page") || !strcmp(key, "page_size") || !strcmp(key, "order_by") ||
		    !strcmp(key, "format") || !strcmp(key, "_"))
			continue;
		if (!strcmp(key, "type"))
			type = json_string_value(v);
		else
			json_object_set(filters, key, v);
	}
	bool ok = true;
	long page = api_arg_long(rq, rs, "page", 1, &ok);
	long size = ok ? api_arg_long(rq, rs, "page_size", 25, &ok) : 0;
	if (!ok) {
		json_decref(filters);
		return 0;
	}
	if (page < 1) {
		json_decref(filters);
		return api_detail(rs, 404, "Invalid page.");
	}
	size = size < 1 ? 25 : size > 200 ? 200 : size;
	ujt_order ord = {.n = 0};
	const char *ob = api_arg(rq, "order_by");
	for (const char *p = ob ? ob : "name"; *p && ord.n < 8;) {
		size_t len = strcspn(p, ",");
		const char *f = p;
		bool desc = *f == '-';
		if (desc)
			f++, len--;
		snprintf(ord.keys[ord.n], sizeof ord.keys[0], "%.*s", (int)len, f);
		ord.desc[ord.n++] = desc;
		p += len + desc;
		if (*p == ',')
			p++;
	}
	static const struct {
		store_kind kind;
		const char *type;
	} kinds[] = {{STORE_JOB_TEMPLATE, "job_template"},
	             {STORE_PROJECT, "project"},
	             {STORE_INVENTORY_SOURCE, "inventory_source"},
	             {STORE_WORKFLOW_JOB_TEMPLATE, "workflow_job_template"}};
	json_t *all = json_array();
	runnel_error last = {0};
	int failed = 0, tried = 0;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (type && strcmp(type, kinds[i].type))
			continue;
		tried++;
		for (long pg = 1;; pg++) {
			store_query q = {.filters = filters, .page = pg, .page_size = 200};
			store_page out = {0};
			runnel_error err = {0};
			if (store_list(rq->st, kinds[i].kind, &q, &out, &err) < 0) {
				/* a filter this kind has no field for: none of it matches */
				failed++;
				last = err;
				break;
			}
			size_t j;
			json_t *o;
			json_array_foreach(out.results, j, o) {
				json_object_set_new(
				    o, "next_job_run",
				    next_job_run(
				        rq, (long)json_integer_value(json_object_get(o, "id"))));
				json_array_append(all, o);
			}
			bool more = pg * 200 < out.count;
			store_page_clear(&out);
			if (!more)
				break;
		}
	}
	if (tried && failed == tried && last.code == EINVAL) {
		json_decref(all);
		json_decref(filters);
		return api_error(rs, &last);
	}
	if ((!type || !strcmp(type, "system_job_template")) && system_template_matches(filters)) {
		json_t *s = system_template();
		json_object_set_new(s, "next_job_run", next_job_run(rq, 1));
		json_array_append_new(all, s);
	}
	json_decref(filters);
	ujt_sort(all, &ord);
	long count = (long)json_array_size(all);
	if ((page - 1) * size >= count && page > 1) {
		json_decref(all);
		return api_detail(rs, 404, "Invalid page.");
	}
	json_t *results = json_array();
	for (long i = (page - 1) * size; i < count && i < page * size; i++)
		json_array_append(results, json_array_get(all, (size_t)i));
	json_decref(all);
	char link[512];
	json_t *next = json_null(), *prev = json_null();
	if (page * size < count) {
		snprintf(link, sizeof link, "%s?page=%ld&page_size=%ld", rq->path, page + 1, size);
		next = json_string(link);
	}
	if (page > 1) {
		snprintf(link, sizeof link, "%s?page=%ld&page_size=%ld", rq->path, page - 1, size);
		prev = json_string(link);
	}
	return api_json(rs, 200,
	                json_pack("{s:I,s:o,s:o,s:o}", "count", (json_int_t)count, "next", next,
	                          "previous", prev, "results", results));
}

const api_route api_routes_schedules[] = {
    {"/api/v2/schedules/", schedules, schedules, NULL, NULL, NULL, false},
    {"/api/v2/schedules/preview/", schedule_preview, schedule_preview, NULL, NULL, NULL, false},
    {"/api/v2/schedules/zoneinfo/", schedule_zoneinfo, NULL, NULL, NULL, NULL, false},
    {"/api/v2/schedules/{id}/", schedule_one, NULL, schedule_one, schedule_one, schedule_one,
     false},
    {"/api/v2/schedules/{id}/unified_jobs/", schedule_jobs, NULL, NULL, NULL, NULL, false},
    {"/api/v2/job_templates/{id}/schedules/", jt_schedules, jt_schedules, NULL, NULL, NULL, false},
    {"/api/v2/projects/{id}/schedules/", project_schedules, project_schedules, NULL, NULL, NULL,
     false},
    {"/api/v2/inventory_sources/{id}/schedules/", source_schedules, source_schedules, NULL, NULL,
     NULL, false},
    {"/api/v2/system_job_templates/{id}/schedules/", system_schedules, system_schedules, NULL, NULL,
     NULL, false},
    {"/api/v2/unified_job_templates/", unified_job_templates, NULL, NULL, NULL, NULL, false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
