/*
 * sqlite_query.c - query.h's neutral form as SQL (WHERE, ORDER BY, LIMIT) and
 * the list of objects of a kind.
 */
#include "sqlite_internal.h"

#include <errno.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

/* The SQL expression of a field of an object (any kind: the mapping is the
 * same); qual: the table (alias) to qualify with, or NULL. */
static char *object_column(const query_field *f, const char *qual)
{
	const char *q = qual ? qual : "", *dot = qual ? "." : "";
	if (f->cls == QF_DERIVED) /* a job template's organization: its project's */
		return rn_xasprintf(
		    "(SELECT json_extract(rn_p.data,'$.organization') FROM projects "
		    "rn_p WHERE rn_p.id = json_extract(%s.data,'$.project'))",
		    qual ? qual : "job_templates");
	if (f->cls == QF_DATA)
		return rn_xasprintf("json_extract(%s%sdata,'$.%s')", q, dot, f->name);
	if (!strcmp(f->name, "username"))
		return rn_xasprintf("%s%sname", q, dot);
	return rn_xasprintf("%s%s%s", q, dot, f->name);
}

/* The SQL expression of a field of the list's rows (top) or of an object. */
static char *column_of(const query *qy, bool top, const query_field *f, bool as_text,
                       const char *qual)
{
	(void)as_text; /* SQLite compares by its values' own types */
	const char *n = f->name;
	switch (top ? qy->target : QUERY_OBJECTS) {
	case QUERY_EVENTS:
		if (!strcmp(n, "host"))
			return rn_xstrdup("events.host_id");
		if (!strcmp(n, "failed") || !strcmp(n, "changed"))
			return rn_xasprintf(PARENT_FLAG_EXPR, n, n);
		return rn_xasprintf("events.%s", n);
	case QUERY_HOST_SUMMARIES:
		return rn_xasprintf("host_summaries.%s", !strcmp(n, "host") ? "host_id" : n);
	case QUERY_OBJECTS:
	default:
		return object_column(f, qual);
	}
}

/* The SQL of one condition on expr, its values appended to binds. */
static char *cond_sql(void *ctx, const query_cond *c, const char *expr)
{
	json_t *binds = ctx;
	const char *fmt = NULL;
	switch (c->lookup) {
	case QL_ISNULL:
		return rn_xasprintf("%s IS %sNULL", expr, json_is_true(c->value) ? "" : "NOT ");
	case QL_IN: {
		rn_buf b;
		rn_buf_init(&b);
		rn_buf_append(&b, expr, strlen(expr));
		rn_buf_append(&b, " IN (", 5);
		size_t i;
		json_t *v;
		json_array_foreach(c->value, i, v) {
			json_array_append(binds, v);
			rn_buf_append(&b, i ? ",?" : "?", i ? 2 : 1);
		}
		if (!json_array_size(c->value))
			rn_buf_append(&b, "NULL", 4);
		rn_buf_appendc(&b, ')');
		return b.data;
	}
	case QL_EXACT:
		fmt = json_is_null(c->value) ? "%s IS ?" : "%s = ?";
		break;
	case QL_GT:
		fmt = "%s > ?";
		break;
	case QL_GTE:
		fmt = "%s >= ?";
		break;
	case QL_LT:
		fmt = "%s < ?";
		break;
	case QL_LTE:
		fmt = "%s <= ?";
		break;
	case QL_IEXACT:
		fmt = "%s = ? COLLATE NOCASE";
		break;
	case QL_CONTAINS:
		fmt = "instr(%s, ?) > 0";
		break;
	/* LIKE ignores the case of ASCII letters; the value's own % and _ are
	 * escaped (they are text, as in Django's lookups) */
	case QL_ICONTAINS:
		json_array_append_new(binds, query_like_escaped(c->value));
		return rn_xasprintf("%s LIKE '%%' || ? || '%%' ESCAPE '\\'", expr);
	case QL_ISTARTSWITH:
		json_array_append_new(binds, query_like_escaped(c->value));
		return rn_xasprintf("%s LIKE ? || '%%' ESCAPE '\\'", expr);
	case QL_IENDSWITH:
		json_array_append_new(binds, query_like_escaped(c->value));
		return rn_xasprintf("%s LIKE '%%' || ? ESCAPE '\\'", expr);
	/* startswith / endswith: case counts */
	case QL_STARTSWITH:
		fmt = "instr(%s, ?) = 1";
		break;
	case QL_ENDSWITH:
		json_array_append(binds, c->value);
		json_array_append(binds, c->value);
		json_array_append(binds, c->value);
		return rn_xasprintf("(? = '' OR substr(%s, -length(?)) = ?)", expr);
	case QL_REGEX:
		fmt = "rn_regex(%s, ?, 0)";
		break;
	case QL_IREGEX:
		fmt = "rn_regex(%s, ?, 1)";
		break;
	default:
		fmt = "%s = ?";
		break;
	}
	json_array_append(binds, c->value);
	return rn_xasprintf(fmt, expr);
}

/* The list's table, to qualify its columns with. */
static const char *list_table(const query *qy)
{
	return qy->target == QUERY_EVENTS           ? "events"
	       : qy->target == QUERY_HOST_SUMMARIES ? "host_summaries"
	                                            : sq_table_of(qy->kind);
}

/* " AND <clause>" for each clause of qy, appended to where; binds to binds. */
void sq_where_sql(const query *qy, rn_buf *where, json_t *binds)
{
	query_dialect d = {column_of, cond_sql, sq_table_of, "0", binds, NULL};
	query_where_sql(qy, &d, where);
}

/* " ORDER BY ..., id" of qy. Caller frees. */
char *sq_order_sql(const query *qy)
{
	query_dialect d = {column_of, cond_sql, sq_table_of, "0", NULL, NULL};
	return query_order_sql(qy, &d, list_table(qy), "id", false);
}

/* rn_regex(text, pattern, icase): 1 if the PCRE2 pattern matches text (NULL
 * when text is NULL). The compiled pattern is kept with the statement. */
static void regex_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	pcre2_code *re = sqlite3_get_auxdata(ctx, 1);
	if (!re) {
		const char *pat = (const char *)sqlite3_value_text(argv[1]);
		int code;
		PCRE2_SIZE off;
		uint32_t opts = PCRE2_UTF | (sqlite3_value_int(argv[2]) ? PCRE2_CASELESS : 0);
		re = pat ? pcre2_compile((PCRE2_SPTR)pat, (size_t)sqlite3_value_bytes(argv[1]),
		                         opts, &code, &off, NULL)
		         : NULL;
		if (!re) {
			sqlite3_result_error(ctx, "invalid regular expression", -1);
			return;
		}
		sqlite3_set_auxdata(ctx, 1, re, (void (*)(void *))pcre2_code_free);
		re = sqlite3_get_auxdata(ctx, 1);
		if (!re) { /* SQLite could not keep it (out of memory): it freed it */
			sqlite3_result_error_nomem(ctx);
			return;
		}
	}
	const unsigned char *text = sqlite3_value_text(argv[0]);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	if (!md || !text) {
		pcre2_match_data_free(md);
		sqlite3_result_error_nomem(ctx);
		return;
	}
	int rc = pcre2_match(re, text, (size_t)sqlite3_value_bytes(argv[0]), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	sqlite3_result_int(ctx, rc >= 0);
}

/* The functions the queries call, on a new connection. */
int sq_add_functions(sqlite3 *db)
{
	return sqlite3_create_function_v2(db, "rn_regex", 3,
	                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
	                                  NULL, regex_fn, NULL, NULL, NULL);
}

/* Bind an array of values starting at parameter 1. */
void sq_bind_all(sqlite3_stmt *st, const json_t *binds)
{
	size_t i;
	json_t *v;
	json_array_foreach((json_t *)binds, i, v)
		sq_bind_json(st, (int)i + 1, v);
}

/* List objects. */
int sq_list(store *st, store_kind kind, const store_query *q, store_page *out, runnel_error *err)
{
	sq *s = SQ(st);
	out->count = 0;
	out->results = NULL;
	rn_buf where;
	rn_buf_init(&where);
	rn_buf_append(&where, " WHERE 1", 8);
	json_t *binds = json_array();
	if (model_is_job_kind(kind) && kind != STORE_UNIFIED_JOB) {
		rn_buf_append(&where, " AND type = ?", 13);
		json_array_append_new(binds, json_string(store_kind_type(kind)));
	}
	if (q && q->rel != STORE_REL_NONE) {
		const char *c =
		    q->rel_reverse
		        ? " AND id IN (SELECT parent FROM relations WHERE rel=? AND child=?)"
		        : " AND id IN (SELECT child FROM relations WHERE rel=? AND parent=?)";
		rn_buf_append(&where, c, strlen(c));
		json_array_append_new(binds, json_integer(q->rel));
		json_array_append_new(binds, json_integer(q->rel_parent));
	}
	char *order = NULL;
	int rc = -1;
	query qy;
	if (query_parse(QUERY_OBJECTS, kind, q, &qy, err) < 0)
		goto out;
	sq_where_sql(&qy, &where, binds);
	order = sq_order_sql(&qy);
	long limit = qy.limit, offset = qy.offset;
	query_clear(&qy);
	sq_lock(s);
	bool snap = sq_snapshot_begin(s);
	char *sql = rn_xasprintf("SELECT count(*) FROM %s%s", sq_table_of(kind), where.data);
	sqlite3_stmt *stm = sq_prep(s, sql, err);
	free(sql);
	if (!stm) {
		sq_snapshot_end(s, snap);
		sq_unlock(s);
		goto out;
	}
	sq_bind_all(stm, binds);
	if (sqlite3_step(stm) != SQLITE_ROW) {
		sq_db_fail(s, err, "count");
		sqlite3_reset(stm);
		sq_snapshot_end(s, snap);
		sq_unlock(s);
		goto out;
	}
	out->count = (long)sqlite3_column_int64(stm, 0);
	sqlite3_reset(stm);
	sql = rn_xasprintf("SELECT id FROM %s%s%s LIMIT %ld OFFSET %ld", sq_table_of(kind),
	                   where.data, order, limit, offset);
	stm = sq_prep(s, sql, err);
	free(sql);
	if (!stm) {
		sq_snapshot_end(s, snap);
		sq_unlock(s);
		goto out;
	}
	sq_bind_all(stm, binds);
	json_t *ids = json_array();
	int step;
	while ((step = sqlite3_step(stm)) == SQLITE_ROW)
		json_array_append_new(ids, json_integer(sqlite3_column_int64(stm, 0)));
	sqlite3_reset(stm);
	out->results = json_array();
	size_t i;
	json_t *idv;
	json_array_foreach(ids, i, idv) {
		json_t *o = sq_get_locked(s, kind, (long)json_integer_value(idv), err);
		if (o)
			json_array_append_new(out->results, o);
	}
	json_decref(ids);
	rc = step == SQLITE_DONE ? 0 : sq_db_fail(s, err, "list");
	sq_snapshot_end(s, snap);
	sq_unlock(s);
	if (rc < 0)
		store_page_clear(out);
out:
	free(order);
	rn_buf_free(&where);
	json_decref(binds);
	return rc;
}
