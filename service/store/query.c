/*
 * query.c - AWX's list grammar parsed into the neutral form of query.h: which
 * fields a list filters and orders on, which lookups exist, how a value from
 * a query string is typed, and the messages of what is refused.
 */
#include "query.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "util.h"

static const char *const lookup_names[QL_COUNT] = {
    [QL_EXACT] = "exact",
    [QL_IEXACT] = "iexact",
    [QL_CONTAINS] = "contains",
    [QL_ICONTAINS] = "icontains",
    [QL_STARTSWITH] = "startswith",
    [QL_ISTARTSWITH] = "istartswith",
    [QL_ENDSWITH] = "endswith",
    [QL_IENDSWITH] = "iendswith",
    [QL_GT] = "gt",
    [QL_GTE] = "gte",
    [QL_LT] = "lt",
    [QL_LTE] = "lte",
    [QL_IN] = "in",
    [QL_ISNULL] = "isnull",
    [QL_REGEX] = "regex",
    [QL_IREGEX] = "iregex",
};

const char *query_lookup_name(query_lookup l)
{
	return l >= 0 && l < QL_COUNT ? lookup_names[l] : "?";
}

/* The lookup named name, or -1. */
static int lookup_of(const char *name)
{
	for (int i = 0; i < QL_COUNT; i++)
		if (!strcmp(lookup_names[i], name))
			return i;
	return -1;
}

/* True for the lookups whose value is a string whatever the field's type. */
static bool lookup_is_text(query_lookup l)
{
	switch (l) {
	case QL_IEXACT:
	case QL_CONTAINS:
	case QL_ICONTAINS:
	case QL_STARTSWITH:
	case QL_ISTARTSWITH:
	case QL_ENDSWITH:
	case QL_IENDSWITH:
	case QL_REGEX:
	case QL_IREGEX:
		return true;
	default:
		return false;
	}
}

/* ------------------------------------------------------------------ */
/* fields                                                               */

static bool set_field(query_field *out, const char *name, model_type type, query_field_class cls)
{
	snprintf(out->name, sizeof out->name, "%s", name);
	out->type = type;
	out->cls = cls;
	out->fk = STORE_KIND_COUNT;
	return true;
}

static bool in_list(const char *const *list, const char *name)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

/* The fields of an object list: the columns every row has, then the kind's
 * model fields (never a write-only one). */
static bool object_field(store_kind kind, const char *name, query_field *out)
{
	if (!strcmp(name, "id"))
		return set_field(out, name, MT_INT, QF_COLUMN);
	if (!strcmp(name, "created") || !strcmp(name, "modified") || !strcmp(name, "name") ||
	    (kind == STORE_USER && !strcmp(name, "username")))
		return set_field(out, name, MT_STR, QF_COLUMN);
	if (model_is_job_kind(kind) && (!strcmp(name, "status") || !strcmp(name, "type")))
		return set_field(out, name, MT_STR, QF_COLUMN);
	if (model_is_job_kind(kind) && !strcmp(name, "unified_job_template"))
		return set_field(out, name, MT_INT, QF_DATA);
	const model_field *f = model_field_find(kind, name);
	if (!f || (f->flags & MF_WO))
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	if (strlen(name) >= sizeof out->name)
		return false;
	set_field(out, name, f->type, QF_DATA);
	if (f->type == MT_FK)
		out->fk = f->fk;
	return true;
}

/* The columns of a job's events. "failed"/"changed" are derived: a parent
 * event's (playbook_on_*) come from its children (event_derive.h). */
static bool event_field(const char *name, query_field *out)
{
	static const char *const ints[] = {"id",       "counter",   "start_line",
	                                   "end_line", "verbosity", NULL};
	static const char *const strs[] = {"event",    "uuid",    "parent_uuid", "host_name",
	                                   "playbook", "play",    "role",        "task",
	                                   "stdout",   "created", "modified",    NULL};
	if (!strcmp(name, "host"))
		return set_field(out, name, MT_INT, QF_COLUMN);
	if (in_list(ints, name))
		return set_field(out, name, MT_INT, QF_COLUMN);
	if (in_list(strs, name))
		return set_field(out, name, MT_STR, QF_COLUMN);
	if (!strcmp(name, "failed") || !strcmp(name, "changed"))
		return set_field(out, name, MT_BOOL, QF_COLUMN);
	return false;
}

/* The columns of a job's host summaries. */
static bool summary_field(const char *name, query_field *out)
{
	static const char *const ints[] = {"id", "changed",   "dark",    "failures", "ignored",
	                                   "ok", "processed", "rescued", "skipped",  NULL};
	static const char *const strs[] = {"host_name", "created", "modified", NULL};
	if (!strcmp(name, "host"))
		return set_field(out, name, MT_INT, QF_COLUMN);
	if (in_list(ints, name))
		return set_field(out, name, MT_INT, QF_COLUMN);
	if (in_list(strs, name))
		return set_field(out, name, MT_STR, QF_COLUMN);
	if (!strcmp(name, "failed"))
		return set_field(out, name, MT_BOOL, QF_COLUMN);
	return false;
}

bool query_field_resolve(query_target target, store_kind kind, const char *name, query_field *out)
{
	query_field f;
	bool ok = target == QUERY_EVENTS           ? event_field(name, &f)
	          : target == QUERY_HOST_SUMMARIES ? summary_field(name, &f)
	                                           : object_field(kind, name, &f);
	if (ok)
		*out = f;
	return ok;
}

/* ------------------------------------------------------------------ */
/* values                                                               */

/* A value from a query string (or a JSON value) as the field's type (a new
 * reference), or NULL when it is not one. */
static json_t *typed_value(model_type type, json_t *v)
{
	if (type == MT_INT || type == MT_FK) {
		if (json_is_integer(v))
			return json_incref(v);
		if (json_is_string(v)) {
			char *end;
			long long n = strtoll(json_string_value(v), &end, 10);
			if (*json_string_value(v) && !*end)
				return json_integer(n);
			if (!strcasecmp(json_string_value(v), "null") ||
			    !strcasecmp(json_string_value(v), "none"))
				return json_null();
		}
		return json_is_null(v) ? json_null() : NULL;
	}
	if (type == MT_BOOL) {
		if (json_is_boolean(v))
			return json_boolean(json_is_true(v));
		if (json_is_integer(v))
			return json_boolean(json_integer_value(v) != 0);
		if (json_is_string(v)) {
			const char *s = json_string_value(v);
			if (!strcasecmp(s, "true") || !strcmp(s, "1"))
				return json_true();
			if (!strcasecmp(s, "false") || !strcmp(s, "0"))
				return json_false();
		}
		return NULL;
	}
	if (type == MT_FLOAT) {
		if (json_is_number(v))
			return json_real(json_number_value(v));
		if (json_is_string(v)) {
			char *end;
			double d = strtod(json_string_value(v), &end);
			return *end ? NULL : json_real(d);
		}
		return NULL;
	}
	/* strings (and the JSON-valued fields, compared as their text) */
	if (json_is_string(v))
		return json_incref(v);
	if (json_is_integer(v))
		return json_sprintf("%lld", (long long)json_integer_value(v));
	if (json_is_boolean(v))
		return json_incref(v);
	return NULL;
}

/* True if pattern compiles as a regular expression. */
static bool regex_compiles(const char *pattern, size_t len)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_UTF, &code, &off, NULL);
	if (!re)
		return false;
	pcre2_code_free(re);
	return true;
}

/* The items of an __in value: an array, or a comma-separated string. */
static json_t *in_items(json_t *v)
{
	json_t *items = json_array();
	if (json_is_array(v)) {
		json_array_extend(items, v);
	} else if (json_is_string(v)) {
		char *dup = rn_xstrdup(json_string_value(v)), *save = NULL;
		for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(items, json_string(t));
		free(dup);
	}
	return items;
}

/* ------------------------------------------------------------------ */
/* filters                                                              */

/* The field AWX's "search" looks in: names; events their stdout; host
 * summaries their host_name. */
static const char *search_field(query_target target)
{
	return target == QUERY_EVENTS           ? "stdout"
	       : target == QUERY_HOST_SUMMARIES ? "host_name"
	                                        : "name";
}

static query_cond *new_cond(query *qy)
{
	qy->conds = rn_xrealloc(qy->conds, sizeof *qy->conds * (qy->nconds + 1));
	query_cond *c = &qy->conds[qy->nconds++];
	memset(c, 0, sizeof *c);
	return c;
}

/* Parse one key=value of the filters into a condition. */
static int parse_filter(query *qy, const char *key, json_t *v, runnel_error *err)
{
	/* not__<field>[__<lookup>]: the condition negated (AWX's exclude) */
	const char *rest = key;
	bool negated = false;
	if (!strncmp(rest, "not__", 5)) {
		negated = true;
		rest += 5;
	}
	if (!strcmp(rest, "search")) {
		if (!json_is_string(v))
			return rn_fail(err, EINVAL, "search: Must be a string.");
		query_cond *c = new_cond(qy);
		query_field_resolve(qy->target, qy->kind, search_field(qy->target), &c->field);
		c->lookup = QL_ICONTAINS;
		c->negated = negated;
		c->value = json_incref(v);
		return 0;
	}
	char field[96];
	snprintf(field, sizeof field, "%s", rest);
	const char *op = "exact";
	char *dd = strstr(field, "__");
	if (dd) {
		*dd = 0;
		op = dd + 2;
	}
	if (!strcmp(field, "not") || !strcmp(field, "or"))
		return rn_fail(err, EINVAL, "%s: Unsupported filter.", key);
	query_field qf;
	if (!query_field_resolve(qy->target, qy->kind, field, &qf))
		return rn_fail(err, EINVAL, "%s: Invalid field name.", key);
	/* through foreign keys: fk__field[__...] where field is no lookup */
	query_hop via[QUERY_MAX_HOPS];
	size_t nvia = 0;
	char next[96];
	while (qf.fk != STORE_KIND_COUNT && dd && lookup_of(op) < 0) {
		snprintf(next, sizeof next, "%s", op);
		char *nd = strstr(next, "__");
		if (nd)
			*nd = 0;
		query_field nf;
		if (nvia == QUERY_MAX_HOPS || !query_field_resolve(QUERY_OBJECTS, qf.fk, next, &nf))
			return rn_fail(err, EINVAL, "%s: Invalid field name.", key);
		via[nvia++] = (query_hop){qf, qf.fk};
		qf = nf;
		if (nd) {
			op += (size_t)(nd - next) + 2;
		} else {
			op = "exact";
			dd = NULL;
		}
	}
	int l = lookup_of(op);
	json_t *cv = NULL;
	if (l == QL_ISNULL) {
		cv = typed_value(MT_BOOL, v);
		if (!cv)
			return rn_fail(err, EINVAL, "%s: Must be true or false.", key);
	} else if (l == QL_IN) {
		json_t *items = in_items(v);
		cv = json_array();
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it) {
			json_t *x = typed_value(qf.type, it);
			if (!x) {
				json_decref(items);
				json_decref(cv);
				return rn_fail(err, EINVAL, "%s: Invalid value.", key);
			}
			json_array_append_new(cv, x);
		}
		json_decref(items);
	} else {
		bool text = l >= 0 && lookup_is_text((query_lookup)l);
		cv = text ? (json_is_string(v) ? json_incref(v) : NULL) : typed_value(qf.type, v);
		if (!cv)
			return rn_fail(err, EINVAL, "%s: Invalid value for this field.", key);
		if (l < 0) {
			json_decref(cv);
			return rn_fail(err, EINVAL, "%s: Unsupported lookup '%s'.", key, op);
		}
		if ((l == QL_REGEX || l == QL_IREGEX) &&
		    !regex_compiles(json_string_value(cv), json_string_length(cv))) {
			json_decref(cv);
			return rn_fail(err, EINVAL, "%s: Invalid regular expression.", key);
		}
	}
	query_cond *c = new_cond(qy);
	memcpy(c->via, via, sizeof via[0] * nvia);
	c->nvia = nvia;
	c->field = qf;
	c->lookup = (query_lookup)l;
	c->negated = negated;
	c->value = cv;
	return 0;
}

/* ------------------------------------------------------------------ */
/* ordering and paging                                                  */

/* The order of a list when none is asked. */
static const char *default_order(query_target target)
{
	return target == QUERY_EVENTS           ? "counter"
	       : target == QUERY_HOST_SUMMARIES ? "host_name"
	                                        : "id";
}

/* Parse "status,-created" into qy's order list. */
static int parse_order(query *qy, const char *order_by, runnel_error *err)
{
	const char *def = default_order(qy->target);
	if (!order_by || !*order_by)
		order_by = def;
	char *dup = rn_xstrdup(order_by), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool desc = *t == '-';
		if (desc)
			t++;
		query_field qf;
		if (!query_field_resolve(qy->target, qy->kind, t, &qf)) {
			rn_fail(err, EINVAL, "order_by: Invalid field name '%s'.", t);
			free(dup);
			return -1;
		}
		qy->order = rn_xrealloc(qy->order, sizeof *qy->order * (qy->norder + 1));
		qy->order[qy->norder++] = (query_order){qf, desc};
	}
	free(dup);
	if (qy->norder == 0) /* only commas ("?order_by=,"): the default order */
		return parse_order(qy, def, err);
	return 0;
}

/* Limit and offset of a page: page 1-based (0: 1), page_size 0: 25, at most 200. */
static void parse_page(query *qy, const store_query *q)
{
	long page = q && q->page > 0 ? q->page : 1;
	long size = q && q->page_size > 0 ? q->page_size : 25;
	if (size > 200)
		size = 200;
	qy->limit = size;
	/* ?page=<huge> is past the end, not an overflow */
	qy->offset = page - 1 > LONG_MAX / size ? LONG_MAX : (page - 1) * size;
}

int query_parse(query_target target, store_kind kind, const store_query *q, query *out,
                runnel_error *err)
{
	memset(out, 0, sizeof *out);
	out->target = target;
	out->kind = kind;
	const char *key;
	json_t *v;
	json_object_foreach(q ? q->filters : NULL, key, v) {
		if (parse_filter(out, key, v, err) < 0) {
			query_clear(out);
			return -1;
		}
	}
	if (parse_order(out, q ? q->order_by : NULL, err) < 0) {
		query_clear(out);
		return -1;
	}
	parse_page(out, q);
	return 0;
}

void query_clear(query *qy)
{
	if (!qy)
		return;
	for (size_t i = 0; i < qy->nconds; i++)
		json_decref(qy->conds[i].value);
	free(qy->conds);
	free(qy->order);
	qy->conds = NULL;
	qy->order = NULL;
	qy->nconds = qy->norder = 0;
}
