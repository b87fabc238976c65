/*
 * util.c - what every resource file of the API shares: error answers in
 * AWX's shapes, query and body helpers, and the generic list / get /
 * create / update / delete / association handlers over the store.
 */
#include "api.h"
#include "access.h"
#include "roles.h"

#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model.h"
#include "util.h"

/* Answer status with body (stolen). */
int api_json(api_response *rs, int status, json_t *body)
{
	json_decref(rs->json);
	rs->status = status;
	rs->json = body;
	return 0;
}

/* Answer {"detail": msg}. */
int api_detail(api_response *rs, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return api_json(rs, status, json_pack("{s:s}", "detail", msg));
}

/* Answer 400 {field: [reason]}. */
int api_field_error(api_response *rs, const char *field, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return api_json(rs, 400, json_pack("{s:[s]}", field, msg));
}

/* Split a store message "<field>: <reason>" into a 400 body. */
static json_t *field_body(const char *message)
{
	const char *colon = strstr(message, ": ");
	const char *p = message;
	bool plain = colon != NULL;
	for (; plain && p < colon; p++)
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.'))
			plain = false;
	if (!plain || colon == message)
		return json_pack("{s:[s]}", "__all__", message);
	char field[256];
	snprintf(field, sizeof field, "%.*s", (int)(colon - message), message);
	return json_pack("{s:[s]}", field, colon + 2);
}

/* Answer an error value as AWX would. */
int api_error(api_response *rs, const runnel_error *err)
{
	switch (err->code) {
	case ENOENT:
		return api_detail(rs, 404, "Not found.");
	case EINVAL:
	case EEXIST:
		return api_json(rs, 400, field_body(err->message));
	case EACCES:
		return api_detail(rs, 403, "You do not have permission to perform this action.");
	default:
		return api_detail(rs, 500, "A server error has occurred: %s", err->message);
	}
}

/* 405 as Django REST framework words it. */
int api_not_allowed(api_response *rs, const char *method)
{
	return api_detail(rs, 405, "Method \"%s\" not allowed.", method);
}

/* Add a header to the answer. */
void api_add_header(api_response *rs, const char *name, const char *value)
{
	if (!rs->headers)
		rs->headers = json_array();
	json_array_append_new(rs->headers, json_pack("[s,s]", name, value));
}

/* A query argument, or NULL. */
const char *api_arg(const api_request *rq, const char *name)
{
	return json_string_value(json_object_get(rq->query, name));
}

/* A query argument as a long. */
long api_arg_long(const api_request *rq, api_response *rs, const char *name, long def, bool *ok)
{
	*ok = true;
	const char *v = api_arg(rq, name);
	if (!v || !*v)
		return def;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (*end || errno) {
		*ok = false;
		api_field_error(rs, name, "A valid integer is required.");
		return -1;
	}
	return n;
}

/* The body as an object (an absent body is an empty object). */
json_t *api_body_object(api_request *rq, api_response *rs)
{
	if (!rq->body)
		return json_object();
	if (!json_is_object(rq->body)) {
		api_field_error(rs, "__all__", "Invalid data. Expected a dictionary, but got %s.",
		                json_is_array(rq->body) ? "list" : "a scalar");
		return NULL;
	}
	return json_incref(rq->body);
}

/* Refuse a body with a key outside allowed. */
bool api_body_only(const json_t *body, const char *const *allowed, api_response *rs)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)body, key, v) {
		bool known = false;
		for (int i = 0; allowed[i] && !known; i++)
			known = !strcmp(key, allowed[i]);
		if (!known) {
			api_field_error(rs, key, "Unknown field.");
			return false;
		}
	}
	return true;
}

bool api_body_acceptable(api_request *rq, api_response *rs, const char *const *allowed)
{
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return false;
	bool ok = api_body_only(body, allowed, rs);
	json_decref(body);
	return ok;
}

/* True if the n bytes at s are well-formed UTF-8 without NUL. */
bool api_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p;
		if (c == 0)
			return false;
		if (c < 0x80) {
			p++;
			continue;
		}
		int len;
		unsigned cp, min;
		if (c >= 0xC2 && c <= 0xDF)
			len = 2, cp = c & 0x1F, min = 0x80;
		else if (c >= 0xE0 && c <= 0xEF)
			len = 3, cp = c & 0x0F, min = 0x800;
		else if (c >= 0xF0 && c <= 0xF4)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (end - p < len)
			return false;
		for (int i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += len;
	}
	return true;
}

/* Walk v for a string holding a NUL; where gets its path. */
static bool nul_walk(const json_t *v, rn_buf *where)
{
	size_t mark = where->len;
	if (json_is_string(v))
		return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach((json_t *)v, i, e) {
			char idx[32];
			snprintf(idx, sizeof idx, "[%zu]", i);
			rn_buf_append(where, idx, strlen(idx));
			if (nul_walk(e, where))
				return true;
			where->len = mark;
			where->data[mark] = '\0';
		}
		return false;
	}
	if (json_is_object(v)) {
		const char *key;
		size_t klen;
		json_t *e;
		json_object_keylen_foreach((json_t *)v, key, klen, e)
		{
			if (where->len)
				rn_buf_appendc(where, '.');
			rn_buf_append(where, key, strnlen(key, klen));
			if (memchr(key, '\0', klen) || nul_walk(e, where))
				return true;
			where->len = mark;
			where->data[mark] = '\0';
		}
	}
	return false;
}

/* A top-level field whose value (or a key within) holds a NUL. */
bool api_json_nul_field(const json_t *v, char *field, size_t nfield, char *where, size_t nwhere)
{
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_append(&b, "", 0);
	bool found = false;
	if (json_is_object(v)) {
		const char *key;
		size_t klen;
		json_t *e;
		json_object_keylen_foreach((json_t *)v, key, klen, e)
		{
			rn_buf_reset(&b);
			rn_buf_append(&b, key, strnlen(key, klen));
			if (memchr(key, '\0', klen) || nul_walk(e, &b)) {
				snprintf(field, nfield, "%.*s", (int)strnlen(key, klen), key);
				found = true;
				break;
			}
		}
	} else if (nul_walk(v, &b)) {
		snprintf(field, nfield, "__all__");
		found = true;
	}
	if (found) {
		if (!*field)
			snprintf(field, nfield, "__all__");
		snprintf(where, nwhere, "%s", b.data);
	}
	rn_buf_free(&b);
	return found;
}

/* One line to the log. */
void api_logf(const api_request *rq, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rn_log_vline(rq->log, rq->log_userdata, "runneld: ", fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* lists                                                                */

/* Query arguments that are not filters. */
static bool reserved_arg(const char *name)
{
	static const char *const names[] = {
	    "page",     "page_size",        "order_by", "order", "format",      "start_line",
	    "end_line", "content_encoding", "dark",     "_",     "no_truncate", NULL};
	for (int i = 0; names[i]; i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* Append s percent-encoded to b. */
static void url_encode(rn_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || c == ',') {
			rn_buf_appendc(b, (char)c);
		} else {
			rn_buf_appendc(b, '%');
			rn_buf_appendc(b, hex[c >> 4]);
			rn_buf_appendc(b, hex[c & 15]);
		}
	}
}

/* The URL of another page of this list, as AWX links it (a new string). */
static json_t *page_link(const api_request *rq, long page)
{
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_append(&b, rq->path, strlen(rq->path));
	char num[32];
	snprintf(num, sizeof num, "%ld", page);
	rn_buf_append(&b, "?page=", 6);
	rn_buf_append(&b, num, strlen(num));
	const char *key;
	json_t *v;
	json_object_foreach(rq->query, key, v) {
		if (!strcmp(key, "page"))
			continue;
		rn_buf_appendc(&b, '&');
		url_encode(&b, key);
		rn_buf_appendc(&b, '=');
		url_encode(&b, json_string_value(v) ? json_string_value(v) : "");
	}
	json_t *s = json_string(b.data);
	rn_buf_free(&b);
	return s;
}

/* Run one store list call of the kind opts asks for. */
static int list_once(api_request *rq, store_kind kind, const api_list_opts *opts, store_query *q,
                     store_page *out, runnel_error *err)
{
	if (opts && opts->events)
		return store_events_list(rq->st, opts->rel_parent, q, out, err);
	if (opts && opts->summaries)
		return store_host_summaries_list(rq->st, opts->rel_parent, q, out, err);
	return store_list(rq->st, kind, q, out, err);
}

/* GET a list. */
int api_list(api_request *rq, api_response *rs, store_kind kind, const api_list_opts *opts)
{
	bool ok;
	long page = api_arg_long(rq, rs, "page", 1, &ok);
	if (!ok)
		return 0;
	long page_size = api_arg_long(rq, rs, "page_size", 25, &ok);
	if (!ok)
		return 0;
	if (page < 1 || page > LONG_MAX / 200) /* past any list; page * page_size fits */
		return api_detail(rs, 404, "Invalid page.");
	if (page_size < 1)
		page_size = 25;
	if (page_size > 200)
		page_size = 200;
	/* the route's own filters, ANDed with the query string's (which
	 * cannot widen them); the query string as AWX's filter backends read
	 * it (store_query.args: repeats, or__, chain__, not__, search, type).
	 * A caller's visibility narrows with more keys in filters (ANDed). */
	json_t *filters = json_object();
	if (opts && opts->filters)
		json_object_update(filters, opts->filters);
	json_t *args = json_array();
	size_t ai;
	json_t *pair;
	json_array_foreach(rq->query_list, ai, pair) {
		const char *key = json_string_value(json_array_get(pair, 0));
		if (!reserved_arg(key))
			json_array_append(args, pair);
	}
	/* only what the caller may read, counts included (access.c) */
	if (!(opts && (opts->events || opts->summaries))) {
		runnel_error aerr = {0};
		if (access_list_narrow(rq, kind, filters, &aerr) < 0) {
			json_decref(filters);
			json_decref(args);
			return api_error(rs, &aerr);
		}
	}
	const char *order = api_arg(rq, "order_by");
	if (!order)
		order = api_arg(rq, "order");
	store_query q = {
	    .filters = filters,
	    .args = args,
	    .order_by = order && *order ? order : NULL,
	    .page = page,
	    .page_size = page_size,
	    .rel = opts ? opts->rel : STORE_REL_NONE,
	    .rel_parent = opts ? opts->rel_parent : 0,
	    .rel_reverse = opts ? opts->rel_reverse : false,
	};
	runnel_error err = {0};
	store_page out = {0};
	int rc = list_once(rq, kind, opts, &q, &out, &err);
	json_decref(args);
	json_decref(filters);
	if (rc < 0) {
		store_page_clear(&out);
		/* a filter AWX refuses: its ParseError (400) or PermissionDenied (403) */
		if (err.code == EINVAL)
			return api_detail(rs, 400, "%s", err.message);
		if (err.code == EACCES)
			return api_detail(rs, 403, "%s", err.message);
		return api_error(rs, &err);
	}
	if (page > 1 && (page - 1) * page_size >= out.count) {
		store_page_clear(&out);
		return api_detail(rs, 404, "Invalid page.");
	}
	if (opts && opts->decorate) {
		size_t i;
		json_t *o;
		json_array_foreach(out.results, i, o)
			json_array_set_new(out.results, i, opts->decorate(rq, json_incref(o)));
	}
	if (opts && opts->decorate_page)
		opts->decorate_page(rq, out.results);
	if (!(opts && (opts->events || opts->summaries))) {
		size_t i;
		json_t *o;
		json_array_foreach(out.results, i, o)
			access_decorate(rq, kind, o);
	}
	json_t *body = json_object();
	json_object_set_new(body, "count", json_integer(out.count));
	json_object_set_new(body, "next",
	                    page * page_size < out.count ? page_link(rq, page + 1) : json_null());
	json_object_set_new(body, "previous", page > 1 ? page_link(rq, page - 1) : json_null());
	json_object_set_new(body, "results", out.results);
	return api_json(rs, 200, body);
}

/* GET one object. */
int api_get(api_request *rq, api_response *rs, store_kind kind, long id,
            json_t *(*decorate)(api_request *, json_t *))
{
	runnel_error err = {0};
	json_t *o = store_get(rq->st, kind, id, &err);
	if (!o)
		return api_error(rs, &err);
	return api_json(rs, 200, access_decorate(rq, kind, decorate ? decorate(rq, o) : o));
}

/* Drop the nulls the awx.awx collection sends for options left unset
 * ("enabled": null) on fields that take no null: they mean "the default"
 * on create and "unchanged" on update. */
static void drop_unset(store_kind kind, json_t *fields)
{
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(fields, tmp, key, v) {
		const model_field *f = model_field_find(kind, key);
		if (json_is_null(v) && f && !(f->flags & MF_NULL) &&
		    (f->type == MT_BOOL || f->type == MT_INT || f->type == MT_FLOAT))
			json_object_del(fields, key);
	}
}

/* The jobs of kind matching filters that have not finished: [{"id", "type"}]. */
static json_t *active_jobs_matching(api_request *rq, store_kind kind, const json_t *filters)
{
	json_t *found = json_array();
	json_t *f = json_deep_copy(filters);
	json_object_set_new(f, "status__in", json_string("new,pending,waiting,running"));
	store_query q = {.filters = f, .page = 1, .page_size = 200};
	store_page out = {0};
	runnel_error err = {0};
	if (store_list(rq->st, kind, &q, &out, &err) == 0) {
		size_t i;
		json_t *o;
		json_array_foreach(out.results, i, o)
			json_array_append_new(found,
			                      json_pack("{s:O,s:O}", "id", json_object_get(o, "id"),
			                                "type", json_object_get(o, "type")));
	}
	store_page_clear(&out);
	json_decref(f);
	return found;
}

/* The value field will have once fields are applied over current (may be
 * NULL): borrowed, or NULL when neither has it. */
static json_t *final_value(const json_t *fields, const json_t *current, const char *field)
{
	json_t *v = json_object_get(fields, field);
	return v ? v : json_object_get(current, field);
}

/* The organization of a job template to be (AWX's JobTemplate takes its
 * project's): a new reference, null without a project. */
static json_t *template_organization(api_request *rq, const json_t *fields, const json_t *current)
{
	json_t *pj = final_value(fields, current, "project");
	if (!json_is_integer(pj))
		return json_null();
	runnel_error err = {0};
	json_t *p = store_get(rq->st, STORE_PROJECT, (long)json_integer_value(pj), &err);
	json_t *org = json_incref(json_object_get(p, "organization"));
	json_decref(p);
	return org ? org : json_null();
}

/* The value of one field of a uniqueness rule for an object (a new
 * reference; "project.organization": through the project). */
static json_t *unique_value(api_request *rq, const char *field, const json_t *fields,
                            const json_t *current)
{
	if (!strcmp(field, "project.organization"))
		return template_organization(rq, fields, current);
	json_t *v = final_value(fields, current, field);
	if (json_is_string(v) && strcmp(field, "name")) {
		/* an fk given as text ("5"): the store reads it as the id */
		char *end;
		long long n = strtoll(json_string_value(v), &end, 10);
		if (*json_string_value(v) && !*end)
			return json_integer(n);
	}
	return v ? json_incref(v) : json_null();
}

/* Refuse (400, AWX's message under "__all__") an object of kind whose
 * fields, applied over current (NULL on create; id its id, else 0), would
 * repeat another's unique key (model_unique_rule). true when unique (or
 * when the store answers an error: the store's own checks then speak). */
static bool unique_ok(api_request *rq, api_response *rs, store_kind kind, long id,
                      const json_t *fields, const json_t *current)
{
	const model_unique *u = model_unique_rule(kind);
	if (!u)
		return true;
	json_t *want = json_object();
	bool has_null = false, through = false;
	for (int i = 0; u->fields[i]; i++) {
		json_t *v = unique_value(rq, u->fields[i], fields, current);
		has_null = has_null || json_is_null(v);
		through = through || strchr(u->fields[i], '.');
		json_object_set_new(want, u->fields[i], v);
	}
	json_t *name = json_object_get(want, "name");
	if (!json_is_string(name) || (has_null && u->null_distinct)) {
		json_decref(want);
		return true;
	}
	json_t *f = json_pack("{s:O}", "name", name);
	const char *key;
	json_t *v;
	json_object_foreach(want, key, v) {
		if (!strcmp(key, "name") || strchr(key, '.'))
			continue;
		if (json_is_null(v)) {
			char isnull[96];
			snprintf(isnull, sizeof isnull, "%s__isnull", key);
			json_object_set_new(f, isnull, json_true());
		} else {
			json_object_set(f, key, v);
		}
	}
	store_query q = {.filters = f, .page = 1, .page_size = 200};
	store_page out = {0};
	runnel_error err = {0};
	bool taken = false;
	if (store_list(rq->st, kind, &q, &out, &err) == 0) {
		size_t i;
		json_t *o;
		json_array_foreach(out.results, i, o) {
			if ((long)json_integer_value(json_object_get(o, "id")) == id)
				continue;
			if (through) {
				json_t *org = template_organization(rq, NULL, o);
				bool same =
				    json_equal(org, json_object_get(want, "project.organization"));
				json_decref(org);
				if (!same)
					continue;
			}
			taken = true;
			break;
		}
	}
	store_page_clear(&out);
	json_decref(f);
	json_decref(want);
	if (taken)
		api_field_error(rs, "__all__", "%s", u->message);
	return !taken;
}

/* The jobs (not finished) an object's deletion would pull from under them,
 * as AWX's get_active_jobs: [{"id", "type"}], a new array (empty: none). */
static json_t *active_jobs(api_request *rq, store_kind kind, long id)
{
	json_t *found = json_array();
	json_t *f = NULL;
	store_kind list_kind = STORE_UNIFIED_JOB;
	runnel_error err = {0};
	switch (kind) {
	case STORE_HOST:
	case STORE_GROUP: {
		/* a job reads its whole inventory */
		json_t *o = store_get(rq->st, kind, id, &err);
		json_t *inv = json_object_get(o, "inventory");
		if (json_is_integer(inv))
			f = json_pack("{s:O}", "inventory", inv);
		json_decref(o);
		break;
	}
	case STORE_INVENTORY:
		f = json_pack("{s:I}", "inventory", (json_int_t)id);
		break;
	case STORE_PROJECT:
		f = json_pack("{s:I}", "project", (json_int_t)id);
		break;
	case STORE_JOB_TEMPLATE:
		f = json_pack("{s:I}", "job_template", (json_int_t)id);
		list_kind = STORE_JOB;
		break;
	case STORE_INVENTORY_SOURCE:
		f = json_pack("{s:I}", "inventory_source", (json_int_t)id);
		list_kind = STORE_INVENTORY_UPDATE;
		break;
	case STORE_ORGANIZATION: {
		/* the jobs of its inventories and projects */
		rn_buf invs, projs;
		rn_buf_init(&invs);
		rn_buf_init(&projs);
		rn_buf_append(&invs, "", 0);
		rn_buf_append(&projs, "", 0);
		store_kind kinds[2] = {STORE_INVENTORY, STORE_PROJECT};
		rn_buf *lists[2] = {&invs, &projs};
		for (int k = 0; k < 2; k++) {
			json_t *of = json_pack("{s:I}", "organization", (json_int_t)id);
			store_query q = {.filters = of, .page = 1, .page_size = 200};
			store_page out = {0};
			if (store_list(rq->st, kinds[k], &q, &out, &err) == 0) {
				size_t i;
				json_t *o;
				json_array_foreach(out.results, i, o) {
					char num[32];
					snprintf(num, sizeof num, "%s%lld",
					         lists[k]->len ? "," : "",
					         (long long)json_integer_value(
					             json_object_get(o, "id")));
					rn_buf_append(lists[k], num, strlen(num));
				}
			}
			store_page_clear(&out);
			json_decref(of);
		}
		json_t *parts = json_array();
		if (invs.len)
			json_array_append_new(parts,
			                      json_pack("{s:s}", "inventory__in", invs.data));
		if (projs.len)
			json_array_append_new(parts, json_pack("{s:s}", "project__in", projs.data));
		rn_buf_free(&invs);
		rn_buf_free(&projs);
		size_t i;
		json_t *part;
		json_array_foreach(parts, i, part) {
			json_t *sub = active_jobs_matching(rq, STORE_UNIFIED_JOB, part);
			json_array_extend(found, sub);
			json_decref(sub);
		}
		json_decref(parts);
		break;
	}
	case STORE_CREDENTIAL: {
		json_t *ids = store_related_ids(rq->st, STORE_REL_JOB_CREDENTIALS, id, true, &err);
		rn_buf b;
		rn_buf_init(&b);
		rn_buf_append(&b, "", 0);
		size_t i;
		json_t *j;
		json_array_foreach(ids, i, j) {
			char num[32];
			snprintf(num, sizeof num, "%s%lld", b.len ? "," : "",
			         (long long)json_integer_value(j));
			rn_buf_append(&b, num, strlen(num));
		}
		json_decref(ids);
		if (b.len) {
			json_t *part = json_pack("{s:s}", "id__in", b.data);
			json_t *sub = active_jobs_matching(rq, STORE_UNIFIED_JOB, part);
			json_array_extend(found, sub);
			json_decref(sub);
			json_decref(part);
		}
		rn_buf_free(&b);
		f = json_pack("{s:I}", "credential", (json_int_t)id);
		list_kind = STORE_AD_HOC_COMMAND;
		break;
	}
	default:
		break;
	}
	if (f) {
		json_t *sub = active_jobs_matching(rq, list_kind, f);
		json_array_extend(found, sub);
		json_decref(sub);
		json_decref(f);
	}
	/* a job found twice (through an inventory and a project) counts once */
	json_t *seen = json_object(), *unique = json_array();
	size_t i;
	json_t *j;
	json_array_foreach(found, i, j) {
		char key[32];
		snprintf(key, sizeof key, "%lld",
		         (long long)json_integer_value(json_object_get(j, "id")));
		if (json_object_get(seen, key))
			continue;
		json_object_set_new(seen, key, json_true());
		json_array_append(unique, j);
	}
	json_decref(seen);
	json_decref(found);
	found = unique;
	return found;
}

/* sysinfo: set created_by (creating) and modified_by to the caller on an
 * object of a kind that has them (AWX's PrimordialModel.save, which takes
 * the request's user); returns the object as it now is (o, or its
 * replacement: o is consumed). */
static json_t *stamp_author(api_request *rq, store_kind kind, long id, json_t *o, bool creating)
{
	if (rq->user_id <= 0 || !model_field_find(kind, "modified_by"))
		return o;
	json_t *f = json_pack("{s:I}", "modified_by", (json_int_t)rq->user_id);
	if (creating)
		json_object_set_new(f, "created_by", json_integer(rq->user_id));
	runnel_error err = {0};
	json_t *n = store_update(rq->st, kind, id, f, STORE_SYSTEM, &err);
	json_decref(f);
	if (!n) {
		api_logf(rq, "%s %ld: created_by/modified_by not set: %s", store_kind_type(kind),
		         id, err.message);
		return o;
	}
	json_decref(o);
	return n;
}

/* POST a new object. */
int api_create(api_request *rq, api_response *rs, store_kind kind, const json_t *forced, long *id)
{
	if (id)
		*id = 0;
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	json_t *fields = json_deep_copy(body);
	json_decref(body);
	if (forced)
		json_object_update(fields, (json_t *)forced);
	drop_unset(kind, fields);
	runnel_error err = {0};
	/* the check and the write under one lock: two creates of one name at
	 * once cannot both pass (every API write of these kinds goes here) */
	bool locked = model_unique_rule(kind) != NULL; /* only kinds with a rule wait */
	if (locked)
		pthread_mutex_lock(rq->write_mu);
	json_t *o = unique_ok(rq, rs, kind, 0, fields, NULL)
	                ? store_create(rq->st, kind, fields, 0, &err)
	                : NULL;
	if (locked)
		pthread_mutex_unlock(rq->write_mu);
	json_decref(fields);
	if (!o && rs->status == 400)
		return 0;
	if (!o)
		return api_error(rs, &err);
	long new_id = (long)json_integer_value(json_object_get(o, "id"));
	if (id)
		*id = new_id;
	o = stamp_author(rq, kind, new_id, o, true);
	api_activity_record(rq, "create", kind, new_id, NULL, o, NULL, STORE_KIND_COUNT, 0, NULL);
	return api_json(rs, 201, access_decorate(rq, kind, o));
}

/* PUT/PATCH an object. */
int api_update(api_request *rq, api_response *rs, store_kind kind, long id)
{
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	json_t *fields = json_deep_copy(body);
	json_decref(body);
	drop_unset(kind, fields);
	runnel_error err = {0};
	bool locked = model_unique_rule(kind) != NULL;
	if (locked)
		pthread_mutex_lock(rq->write_mu);
	/* the object before, for the activity stream's changes (and the check) */
	json_t *cur = store_get(rq->st, kind, id, &err);
	json_t *o = cur && (!locked || unique_ok(rq, rs, kind, id, fields, cur))
	                ? store_update(rq->st, kind, id, fields, 0, &err)
	                : NULL;
	if (locked)
		pthread_mutex_unlock(rq->write_mu);
	if (o) {
		o = stamp_author(rq, kind, id, o, false);
		api_activity_record(rq, "update", kind, id, cur, o, fields, STORE_KIND_COUNT, 0,
		                    NULL);
	}
	json_decref(cur);
	json_decref(fields);
	if (!o && rs->status == 400)
		return 0;
	if (!o)
		return api_error(rs, &err);
	return api_json(rs, 200, access_decorate(rq, kind, o));
}

/* Delete the schedules of a deleted template (AWX's on_delete CASCADE;
 * template ids are never reused, so one left behind by a failure here only
 * waits for the scheduler, which deletes it when it falls due). */
static void delete_schedules_of(api_request *rq, long template_id)
{
	json_t *f = json_pack("{s:I}", "unified_job_template", (json_int_t)template_id);
	store_query q = {.filters = f, .page = 1, .page_size = 200};
	store_page out = {0};
	runnel_error err = {0};
	if (store_list(rq->st, STORE_SCHEDULE, &q, &out, &err) == 0) {
		size_t i;
		json_t *o;
		json_array_foreach(out.results, i, o)
			store_remove(rq->st, STORE_SCHEDULE,
			             (long)json_integer_value(json_object_get(o, "id")), &err);
	}
	store_page_clear(&out);
	json_decref(f);
}

/* DELETE an object: refused (409, AWX's ActiveJobConflict) while jobs that
 * use it have not finished, so that no job loses its inventory, project,
 * credential or template under it. */
int api_delete(api_request *rq, api_response *rs, store_kind kind, long id)
{
	runnel_error err = {0};
	json_t *probe = store_get(rq->st, kind, id, &err);
	if (!probe)
		return api_error(rs, &err);
	json_t *active = active_jobs(rq, kind, id);
	if (json_array_size(active)) {
		api_logf(rq, "delete of %s %ld refused: used by %zu running job(s)",
		         store_kind_type(kind), id, json_array_size(active));
		json_decref(probe);
		return api_json(rs, 409,
		                json_pack("{s:s,s:o}", "error",
		                          "Resource is being used by running jobs.", "active_jobs",
		                          active));
	}
	json_decref(active);
	if (store_remove(rq->st, kind, id, &err) < 0) {
		json_decref(probe);
		return api_error(rs, &err);
	}
	api_activity_record(rq, "delete", kind, id, probe, NULL, NULL, STORE_KIND_COUNT, 0, NULL);
	json_decref(probe);
	/* its roles go with it (AWX: the roles cascade with their object) */
	if (roles_forget(rq->st, kind, id, &err) < 0)
		api_logf(rq, "roles of %s %ld not all forgotten: %s", store_kind_type(kind), id,
		         err.message);
	if (model_is_template_kind(kind))
		delete_schedules_of(rq, id);
	rs->status = 204;
	return 0;
}

/* sysinfo: the activity stream's entry of an association: object1 the
 * parent, object2 the child, object_association the relation's name. */
void api_record_association(api_request *rq, store_rel rel, const char *op, long parent, long child)
{
	static const char *const names[] = {
	    [STORE_REL_JOB_TEMPLATE_CREDENTIALS] = "credentials",
	    [STORE_REL_JOB_CREDENTIALS] = "credentials",
	    [STORE_REL_GROUP_HOSTS] = "hosts",
	    [STORE_REL_GROUP_CHILDREN] = "children",
	};
	store_kind pk, ck;
	store_rel_kinds(rel, &pk, &ck);
	if (pk == STORE_KIND_COUNT)
		return;
	const char *name =
	    (size_t)rel < sizeof names / sizeof names[0] && names[rel] ? names[rel] : "";
	api_activity_record(rq, op, pk, parent, NULL, NULL, NULL, ck, child, name);
}

/* An association sub-list. */
int api_sublist(api_request *rq, api_response *rs, store_kind kind, store_rel rel, long parent,
                const json_t *forced)
{
	if (!strcmp(rq->method, "GET")) {
		api_list_opts o = {.rel = rel, .rel_parent = parent};
		return api_list(rq, rs, kind, &o);
	}
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	json_t *id = json_object_get(body, "id");
	runnel_error err = {0};
	if (!id) {
		json_decref(body);
		long child = 0;
		api_create(rq, rs, kind, forced, &child);
		if (child && store_associate(rq->st, rel, parent, child, &err) < 0)
			return api_error(rs, &err);
		if (child)
			api_record_association(rq, rel, "associate", parent, child);
		return 0;
	}
	if (!json_is_integer(id)) {
		json_decref(body);
		return api_field_error(rs, "id", "A valid integer is required.");
	}
	static const char *const allowed[] = {"id", "disassociate", NULL};
	if (!api_body_only(body, allowed, rs)) {
		json_decref(body);
		return 0;
	}
	json_t *dis = json_object_get(body, "disassociate");
	if (dis && !json_is_boolean(dis) && !json_is_integer(dis)) {
		json_decref(body);
		return api_field_error(rs, "disassociate", "Must be a valid boolean.");
	}
	bool detach =
	    dis && (json_is_true(dis) || (json_is_integer(dis) && json_integer_value(dis)));
	long child = (long)json_integer_value(id);
	json_decref(body);
	json_t *probe = store_get(rq->st, kind, child, &err);
	if (!probe)
		return api_error(rs, &err);
	json_decref(probe);
	int rc = detach ? store_disassociate(rq->st, rel, parent, child, &err)
	                : store_associate(rq->st, rel, parent, child, &err);
	if (rc < 0)
		return api_error(rs, &err);
	api_record_association(rq, rel, detach ? "disassociate" : "associate", parent, child);
	rs->status = 204;
	return 0;
}
