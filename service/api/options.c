/*
 * options.c - OPTIONS on every endpoint, as AWX's awx/api/metadata.py
 * answers it: name, description, renders, parses, and actions: for each
 * method the caller may use (GET, POST, PUT), the fields with their type,
 * label, help_text, required, default, max_length, choices, filterable.
 *
 * Everything comes from the field tables that validate requests
 * (store/model.c: model_fields, model_launch_fields, model_ad_hoc_fields),
 * so what OPTIONS offers is what a request may send. The awx CLI builds its
 * command line from this (actions.POST gives `create` and `launch` their
 * options, actions.GET the filters of `list`).
 *
 * The endpoint is read from the route's pattern: "/api/v2/<plural>/" is a
 * list, ".../{id}/" a detail, ".../{id}/<plural>/" a sub-list, and
 * launch/, update/, relaunch/, cancel/ the actions.
 */
#include "api.h"
#include "access.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* What an endpoint is. */
typedef enum endpoint_shape {
	EP_OTHER,  /* /api/, ping, config, login, stdout, ...: no fields */
	EP_LIST,   /* /api/v2/<plural>/ */
	EP_DETAIL, /* /api/v2/<plural>/{id}/ */
	EP_SUB,    /* /api/v2/<plural>/{id}/<plural>/ */
	EP_ACTION, /* /api/v2/<plural>/{id}/<action>/ */
} endpoint_shape;

typedef struct endpoint {
	endpoint_shape shape;
	int kind;         /* the parent's kind, or -1 */
	int child;        /* EP_SUB: the listed kind, or -1 */
	char parent[256]; /* the first segment ("job_templates") */
	char last[256];   /* the last segment ("launch", "hosts") */
} endpoint;

/* Sub-list names that are not a kind's plural. */
static int sub_kind(const char *name)
{
	static const struct {
		const char *name;
		store_kind kind;
	} alias[] = {
	    {"children", STORE_GROUP},
	    {"all_hosts", STORE_HOST},
	    {"all_groups", STORE_GROUP},
	    {"personal_tokens", STORE_TOKEN},
	    {"inventory", STORE_INVENTORY},
	    {"notification_templates_started", STORE_NOTIFICATION_TEMPLATE},
	    {"notification_templates_success", STORE_NOTIFICATION_TEMPLATE},
	    {"notification_templates_error", STORE_NOTIFICATION_TEMPLATE},
	    /* workflows.c */
	    {"workflow_nodes", STORE_WORKFLOW_JOB_TEMPLATE_NODE},
	    {"success_nodes", STORE_WORKFLOW_JOB_TEMPLATE_NODE},
	    {"failure_nodes", STORE_WORKFLOW_JOB_TEMPLATE_NODE},
	    {"always_nodes", STORE_WORKFLOW_JOB_TEMPLATE_NODE},
	    {NULL, STORE_KIND_COUNT},
	};
	for (int i = 0; alias[i].name; i++)
		if (!strcmp(alias[i].name, name))
			return (int)alias[i].kind;
	return store_kind_from_name(name);
}

/* Read an endpoint from a route pattern. */
static void endpoint_of(const char *pattern, endpoint *ep)
{
	memset(ep, 0, sizeof *ep);
	ep->kind = ep->child = -1;
	const char *p = pattern;
	if (strncmp(p, "/api/v2/", 8))
		return;
	p += 8;
	char seg[4][200];
	int n = 0;
	while (*p && n < 4) {
		size_t len = strcspn(p, "/");
		snprintf(seg[n++], sizeof seg[0], "%.*s", (int)len, p);
		p += len;
		if (*p == '/')
			p++;
	}
	if (!n)
		return;
	snprintf(ep->parent, sizeof ep->parent, "%.200s", seg[0]);
	snprintf(ep->last, sizeof ep->last, "%.200s", seg[n - 1]);
	ep->kind = !strcmp(seg[0], "me") ? (int)STORE_USER : store_kind_from_name(seg[0]);
	if (ep->kind < 0)
		return;
	if (n == 1)
		ep->shape = EP_LIST;
	else if (n == 2 && !strcmp(seg[1], "{id}"))
		ep->shape = EP_DETAIL;
	else if (n == 3 && !strcmp(seg[1], "{id}")) {
		ep->child = sub_kind(seg[2]);
		ep->shape = ep->child >= 0 ? EP_SUB : EP_ACTION;
	}
}

/* "job_template" -> "job template" (Django's verbose_name). */
static void verbose_name(store_kind kind, char *out, size_t n)
{
	const char *t = kind == STORE_TOKEN ? "access_token" : store_kind_type(kind);
	snprintf(out, n, "%s", t);
	for (char *c = out; *c; c++)
		if (*c == '_')
			*c = ' ';
}

/* "job_type" -> "Job type" (Django's default label). */
static json_t *default_label(const char *name)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", name);
	for (char *c = buf; *c; c++)
		if (*c == '_')
			*c = ' ';
	buf[0] = (char)toupper((unsigned char)buf[0]);
	return json_string(buf);
}

/* The type word AWX's metadata gives a field. */
static const char *type_word(const model_field *f)
{
	if (f->choices)
		return "choice";
	if (!strcmp(f->name, "credentials"))
		return "list_of_ids"; /* launch-time credentials: ids, comma-separated in the CLI */
	switch (f->type) {
	case MT_INT:
		return "integer";
	case MT_FLOAT:
		return "float";
	case MT_BOOL:
		return "boolean";
	case MT_FK:
		return "id";
	case MT_JSON:
		return "json";
	default:
		return "string";
	}
}

/* The default of a field as AWX shows it (a new reference), or NULL. */
static json_t *field_default(const model_field *f)
{
	if (f->flags & MF_REQUIRED)
		return NULL;
	if (f->def)
		return json_loads(f->def, JSON_DECODE_ANY, NULL);
	if (f->flags & MF_NULL)
		return json_null();
	switch (f->type) {
	case MT_STR:
	case MT_VARS:
		return json_string("");
	case MT_INT:
		return json_integer(0);
	case MT_FLOAT:
		return json_real(0);
	case MT_BOOL:
		return json_false();
	case MT_JSON:
		return !strcmp(f->name, "credentials") ? json_array() : json_object();
	default:
		return json_null();
	}
}

/* The metadata of one field for method ("GET", "POST", "PUT"), as
 * metadata.py's get_field_info and determine_actions leave it. */
static json_t *field_info(const model_field *f, store_kind kind, const char *method, bool launch)
{
	bool get = !strcmp(method, "GET");
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(type_word(f)));
	if (!get)
		json_object_set_new(o, "required", json_boolean((f->flags & MF_REQUIRED) != 0));
	json_object_set_new(o, "label", f->label ? json_string(f->label) : default_label(f->name));
	char vn[64], help[160];
	verbose_name(kind, vn, sizeof vn);
	if (f->help)
		json_object_set_new(o, "help_text", json_string(f->help));
	else if (!strcmp(f->name, "name") || !strcmp(f->name, "description")) {
		snprintf(help, sizeof help, "%s of this %s.",
		         f->name[0] == 'n' ? "Name" : "Optional description", vn);
		json_object_set_new(o, "help_text", json_string(help));
	}
	if (!get && f->max_length > 0)
		json_object_set_new(o, "max_length", json_integer(f->max_length));
	if (!get) {
		json_t *d = field_default(f);
		if (d)
			json_object_set_new(o, "default", d);
	}
	if (get)
		json_object_set_new(o, "filterable", json_boolean(!launch));
	if (f->choices)
		json_object_set_new(o, "choices", json_loads(f->choices, 0, NULL));
	if (!get && (f->flags & MF_WO))
		json_object_set_new(o, "write_only", json_true());
	return o;
}

/* The fields every object shows in a GET (AWX's BaseSerializer). */
static void common_get_fields(json_t *out, store_kind kind)
{
	char vn[64], help[160];
	verbose_name(kind, vn, sizeof vn);
	static const struct {
		const char *name, *type, *label, *help;
	} common[] = {
	    {"id", "integer", "ID", "Database ID for this %s."},
	    {"type", "choice", "Type", "Data type for this %s."},
	    {"url", "string", "Url", "URL for this %s."},
	    {"related", "object", "Related", "Data structure with URLs of related resources."},
	    {"summary_fields", "object", "Summary fields",
	     "Data structure with name/description for related resources.  The output for some "
	     "objects may be limited for performance reasons."},
	    {"created", "datetime", "Created", "Timestamp when this %s was created."},
	    {"modified", "datetime", "Modified", "Timestamp when this %s was last modified."},
	};
	for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) {
		snprintf(help, sizeof help, common[i].help, vn);
		json_t *o =
		    json_pack("{s:s,s:s,s:s,s:b}", "type", common[i].type, "label", common[i].label,
		              "help_text", help, "filterable",
		              strcmp(common[i].name, "url") && strcmp(common[i].name, "related") &&
		                  strcmp(common[i].name, "summary_fields"));
		if (!strcmp(common[i].name, "type"))
			json_object_set_new(o, "choices",
			                    json_pack("[[s,s]]", store_kind_type(kind), vn));
		json_object_set_new(out, common[i].name, o);
	}
}

/* True if a unified job field belongs to the jobs of kind. */
static bool field_of_kind(const model_field *f, store_kind kind)
{
	if (!model_is_job_kind(kind) || kind == STORE_UNIFIED_JOB || !f->jobs)
		return true;
	return (f->jobs & model_job_bit(store_kind_type(kind))) != 0;
}

/* The fields of kind for method: GET shows what is read (not write-only),
 * POST/PUT what may be written (not read-only), less skip (a parent key a
 * sub-list sets itself). */
static json_t *kind_fields(store_kind kind, const char *method, const char *skip)
{
	json_t *out = json_object();
	bool get = !strcmp(method, "GET");
	if (get)
		common_get_fields(out, kind);
	for (const model_field *f = model_fields(kind); f->name; f++) {
		if (!field_of_kind(f, kind) || (skip && !strcmp(f->name, skip)))
			continue;
		if (get ? (f->flags & MF_WO) != 0 : (f->flags & MF_RO) != 0)
			continue;
		json_object_set_new(out, f->name, field_info(f, kind, method, false));
	}
	return out;
}

/* The fields of a table that is not a stored kind (launch, ad hoc), shown
 * as kind's (for help texts). */
static json_t *table_fields(const model_field *table, store_kind kind, const char *method)
{
	json_t *out = json_object();
	for (const model_field *f = table; f->name; f++)
		json_object_set_new(out, f->name, field_info(f, kind, method, true));
	return out;
}

/* The methods the caller may use on route: the route's handlers, less what
 * the caller's roles (access.c, AWX's access.py) or token scope forbid; a
 * managed credential type is read-only for everyone. */
void api_route_methods(const api_route *route, const api_request *rq, bool *get, bool *post,
                       bool *put, bool *patch, bool *del)
{
	*get = route->get != NULL;
	*post = route->post != NULL;
	*put = route->put != NULL;
	*patch = route->patch != NULL;
	*del = route->del != NULL;
	if (!rq->user)
		return;
	if (rq->read_only) {
		*post = *put = *patch = *del = false;
		return;
	}
	endpoint ep;
	endpoint_of(route->pattern, &ep);
	api_request *arq = (api_request *)rq; /* access.c caches the caller's roles in it */
	if (ep.kind >= 0 && ep.shape == EP_LIST && *post)
		*post = access_can_add(arq, (store_kind)ep.kind, NULL);
	if (ep.kind >= 0 && ep.shape == EP_DETAIL && ep.kind != STORE_TOKEN) {
		runnel_error err = {0};
		json_t *o = store_get(rq->st, (store_kind)ep.kind, rq->ids[0], &err);
		bool managed =
		    ep.kind == STORE_CREDENTIAL_TYPE && json_is_true(json_object_get(o, "managed"));
		bool change =
		    o && !managed && access_can(arq, (store_kind)ep.kind, o, ACCESS_CHANGE, NULL);
		bool remove =
		    o && !managed && access_can(arq, (store_kind)ep.kind, o, ACCESS_DELETE, NULL);
		if (o && ep.kind == STORE_USER && rq->ids[0] == rq->user_id)
			change = true, remove = false;
		json_decref(o);
		*put = *put && change;
		*patch = *patch && change;
		*del = *del && remove;
	}
}

/* "job_templates" -> "Job Template"; "inventory" stays. */
static void title_of(const char *plural, bool singular, char *out, size_t n)
{
	char buf[96];
	snprintf(buf, sizeof buf, "%s", plural);
	size_t len = strlen(buf);
	if (singular) {
		if (len > 3 && !strcmp(buf + len - 3, "ies"))
			snprintf(buf + len - 3, sizeof buf - (len - 3), "y");
		else if (len > 1 && buf[len - 1] == 's')
			buf[len - 1] = '\0';
	}
	bool up = true;
	size_t o = 0;
	for (char *c = buf; *c && o + 1 < n; c++) {
		if (*c == '_') {
			out[o++] = ' ';
			up = true;
			continue;
		}
		out[o++] = up ? (char)toupper((unsigned char)*c) : *c;
		up = false;
	}
	out[o] = '\0';
}

/* The actions of an action endpoint (launch/, update/, relaunch/, cancel/). */
static json_t *action_fields(const endpoint *ep, bool get, bool post)
{
	json_t *actions = json_object();
	store_kind kind = ep->kind >= 0 ? (store_kind)ep->kind : STORE_JOB;
	if (post) {
		json_t *fields;
		if (!strcmp(ep->last, "launch") && kind == STORE_JOB_TEMPLATE)
			fields = table_fields(model_launch_fields(), STORE_JOB_TEMPLATE, "POST");
		else if (!strcmp(ep->last, "relaunch"))
			fields = json_pack("{s:{s:s,s:b,s:s,s:s,s:[[s,s],[s,s]]},s:{s:s,s:b,s:s}}",
			                   "hosts", "type", "choice", "required", 0, "label",
			                   "Hosts", "default", "all", "choices", "all", "All",
			                   "failed", "Failed", "credential_passwords", "type",
			                   "json", "required", 0, "label", "Credential passwords");
		else if (!strcmp(ep->last, "variable_data"))
			fields = json_object();
		else
			fields = json_object(); /* update/, cancel/, system job launch: no fields */
		if (!strcmp(ep->last, "launch") && kind != STORE_JOB_TEMPLATE)
			json_object_set_new(fields, "extra_vars",
			                    json_pack("{s:s,s:b,s:s}", "type", "json", "required",
			                              0, "label", "Extra vars"));
		json_object_set_new(actions, "POST", fields);
	}
	if (get)
		json_object_set_new(actions, "GET", json_object());
	return actions;
}

/* Answer OPTIONS on route. */
int api_options(const api_route *route, api_request *rq, api_response *rs)
{
	if (!strncmp(route->pattern, "/api/v2/settings/", 17)) /* sysinfo: not a stored kind */
		return api_settings_options(rq, rs);
	endpoint ep;
	endpoint_of(route->pattern, &ep);
	bool get, post, put, patch, del;
	api_route_methods(route, rq, &get, &post, &put, &patch, &del);
	(void)patch, (void)del;
	char title[128] = "", name[192];
	title_of(ep.parent[0] ? ep.parent : "api", true, title, sizeof title);
	switch (ep.shape) {
	case EP_LIST:
		snprintf(name, sizeof name, "%s List", title);
		break;
	case EP_DETAIL:
		snprintf(name, sizeof name, "%s Detail", title);
		break;
	case EP_SUB: {
		char sub[96];
		title_of(ep.last, false, sub, sizeof sub);
		snprintf(name, sizeof name, "%s %s List", title, sub);
		break;
	}
	case EP_ACTION: {
		char act[96];
		title_of(ep.last, false, act, sizeof act);
		snprintf(name, sizeof name, "%s %s", title, act);
		break;
	}
	default:
		snprintf(name, sizeof name, "%s", rq->path);
	}
	json_t *o = json_pack("{s:s,s:s,s:[s,s],s:[s]}", "name", name, "description", "", "renders",
	                      "application/json", "text/html", "parses", "application/json");
	if (api_route_takes_form(route))
		json_array_append_new(json_object_get(o, "parses"),
		                      json_string("application/x-www-form-urlencoded"));
	json_t *actions = NULL;
	if (!rq->user) {
		/* a public route: nothing to describe */
	} else if (ep.shape == EP_LIST || ep.shape == EP_DETAIL || ep.shape == EP_SUB) {
		store_kind kind = (store_kind)(ep.shape == EP_SUB ? ep.child : ep.kind);
		actions = json_object();
		if (get)
			json_object_set_new(actions, "GET", kind_fields(kind, "GET", NULL));
		const char *skip = NULL;
		if (ep.shape == EP_SUB && ep.kind == STORE_INVENTORY)
			skip = "inventory";
		if (ep.shape == EP_SUB && ep.kind == STORE_CREDENTIAL_TYPE)
			skip = "credential_type";
		if (post && ep.shape != EP_DETAIL) {
			json_t *pf = kind == STORE_AD_HOC_COMMAND
			                 ? table_fields(model_ad_hoc_fields(), kind, "POST")
			                 : kind_fields(kind, "POST", skip);
			if (ep.shape == EP_SUB &&
			    (kind == STORE_CREDENTIAL || kind == STORE_GROUP ||
			     kind == STORE_HOST) &&
			    ep.kind != STORE_INVENTORY)
				json_object_set_new(pf, "id",
				                    json_pack("{s:s,s:b,s:s,s:s}", "type",
				                              "integer", "required", 0, "label",
				                              "ID", "help_text",
				                              "The id of an object to associate."));
			json_object_set_new(actions, "POST", pf);
		}
		if (put && ep.shape == EP_DETAIL)
			json_object_set_new(actions, "PUT", kind_fields(kind, "PUT", NULL));
		if (ep.shape != EP_DETAIL) {
			json_object_set_new(o, "types", json_pack("[s]", store_kind_type(kind)));
			json_t *search = json_array();
			json_t *related = json_array();
			for (const model_field *f = model_fields(kind); f->name; f++) {
				if (!field_of_kind(f, kind))
					continue;
				if (!strcmp(f->name, "name") || !strcmp(f->name, "description") ||
				    !strcmp(f->name, "username") || !strcmp(f->name, "email"))
					json_array_append_new(search, json_string(f->name));
				if (f->type == MT_FK) {
					char rel[96];
					snprintf(rel, sizeof rel, "%s__search", f->name);
					json_array_append_new(related, json_string(rel));
				}
			}
			json_object_set_new(o, "search_fields", search);
			json_object_set_new(o, "related_search_fields", related);
			json_object_set_new(o, "max_page_size", json_integer(200));
		}
	} else if (ep.shape == EP_ACTION) {
		actions = action_fields(&ep, get, post);
	}
	if (actions && json_object_size(actions))
		json_object_set_new(o, "actions", actions);
	else
		json_decref(actions);
	return api_json(rs, 200, o);
}
