/*
 * pg_query.c - query.h's neutral form as PostgreSQL's SQL: fields mapped to
 * columns (the stored fields read out of data, cast to their model type),
 * lookups to operators, values bound as parameters. Written to give the
 * answers the SQLite backend gives: NULL sorts first (SQLite's NULL is the
 * smallest value), LIKE's wildcards in a value are escaped, the i* lookups fold ASCII
 * letters only ("C" collation), a negated condition holds for a NULL field.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void pg_params_free(pg_params *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = p->cap = 0;
}

int pg_params_add(pg_params *p, const char *text)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->v = rn_xrealloc(p->v, (size_t)p->cap * sizeof *p->v);
	}
	p->v[p->n++] = text ? rn_xstrdup(text) : NULL;
	return p->n;
}

char *pg_limit(pg_params *p, long limit, long offset)
{
	char lb[24], ob[24];
	snprintf(lb, sizeof lb, "%ld", limit);
	snprintf(ob, sizeof ob, "%ld", offset);
	int li = pg_params_add(p, lb);
	return rn_xasprintf(" LIMIT $%d OFFSET $%d", li, pg_params_add(p, ob));
}

/* The SQL type of a model type's values. */
static const char *sql_type(model_type t)
{
	switch (t) {
	case MT_INT:
	case MT_FK:
		return "bigint";
	case MT_FLOAT:
		return "double precision";
	case MT_BOOL:
		return "boolean";
	default:
		return "text";
	}
}

/* Add a JSON scalar for a field of type t; its number ("$n") and the SQL
 * type it is cast to. */
static int add_json(pg_params *p, const json_t *v, model_type t, const char **cast)
{
	char b[40];
	if (!v || json_is_null(v)) {
		*cast = sql_type(t);
		return pg_params_add(p, NULL);
	}
	if (json_is_integer(v)) {
		*cast = "bigint";
		snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
		return pg_params_add(p, b);
	}
	if (json_is_real(v)) {
		*cast = "double precision";
		snprintf(b, sizeof b, "%.17g", json_real_value(v));
		return pg_params_add(p, b);
	}
	if (json_is_boolean(v)) {
		*cast = "boolean";
		return pg_params_add(p, json_is_true(v) ? "true" : "false");
	}
	*cast = "text";
	if (json_is_string(v))
		return pg_params_add(p, json_string_value(v));
	char *d = json_dumps(v, JSON_COMPACT);
	int n = pg_params_add(p, d);
	free(d);
	return n;
}

/* An event's failed / changed (printf with the column twice): its own flag,
 * or for a parent (playbook_on_*) the flag its children gave it
 * (event_parent_flags). */
#define PARENT_FLAG_EXPR                                                                           \
	"(events.%s OR (left(events.event, 11) = 'playbook_on' AND coalesce((SELECT p.%s FROM"     \
	" event_parent_flags p WHERE p.job_id=events.job_id AND p.uuid=events.uuid), false)))"

/* The SQL expression of a field query.c resolved (a plain identifier) of the
 * list's rows (top) or of an object; as text when as_text (the text
 * lookups); qual: the table (alias) to qualify with, or NULL. */
static char *column_of(const query *qy, bool top, const query_field *f, bool as_text,
                       const char *qual)
{
	const char *n = f->name;
	const char *q = qual ? qual : "", *dot = qual ? "." : "";
	char *e;
	switch (top ? qy->target : QUERY_OBJECTS) {
	case QUERY_EVENTS:
		if (!strcmp(n, "host"))
			e = rn_xstrdup("events.host_id");
		else if (!strcmp(n, "failed") || !strcmp(n, "changed"))
			e = rn_xasprintf(PARENT_FLAG_EXPR, n, n);
		else
			e = rn_xasprintf("events.%s", n);
		break;
	case QUERY_HOST_SUMMARIES:
		e = rn_xstrdup(!strcmp(n, "host") ? "host_id" : n);
		break;
	case QUERY_OBJECTS:
	default:
		if (f->cls == QF_DERIVED) { /* a job template's organization: its project's */
			e = rn_xasprintf(
			    "(SELECT (rn_p.data->>'organization')::bigint FROM projects "
			    "rn_p WHERE rn_p.id = (%s.data->>'project')::bigint)",
			    qual ? qual : "job_templates");
			break;
		}
		if (f->cls == QF_DATA) {
			if (as_text)
				return rn_xasprintf("(%s%sdata->>'%s')", q, dot, n);
			switch (f->type) {
			case MT_INT:
			case MT_FK:
				return rn_xasprintf("(%s%sdata->>'%s')::bigint", q, dot, n);
			case MT_FLOAT:
				return rn_xasprintf("(%s%sdata->>'%s')::double precision", q, dot,
				                    n);
			case MT_BOOL:
				return rn_xasprintf("(%s%sdata->>'%s')::boolean", q, dot, n);
			default:
				return rn_xasprintf("(%s%sdata->>'%s') COLLATE \"C\"", q, dot, n);
			}
		}
		e = rn_xasprintf("%s%s%s", q, dot, !strcmp(n, "username") ? "name" : n);
		break;
	}
	if (as_text && f->type != MT_STR) {
		char *t = rn_xasprintf("(%s)::text", e);
		free(e);
		return t;
	}
	return e;
}

/* True for the lookups that read the field as text. */
static bool text_lookup(query_lookup l)
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

/* Add the LIKE-escaped text of v; its number. */
static int escaped_param(pg_params *p, const json_t *v)
{
	json_t *e = query_like_escaped(v);
	int n = pg_params_add(p, json_string_value(e));
	json_decref(e);
	return n;
}

/* The SQL of one condition on expr, its values added to p. */
static char *cond_sql(void *ctx, const query_cond *c, const char *expr)
{
	pg_params *p = ctx;
	const char *cast;
	switch (c->lookup) {
	case QL_ISNULL:
		return rn_xasprintf("%s IS %sNULL", expr, json_is_true(c->value) ? "" : "NOT ");
	case QL_IN: {
		if (!json_array_size(c->value))
			return rn_xstrdup("false");
		rn_buf b;
		rn_buf_init(&b);
		rn_buf_append(&b, expr, strlen(expr));
		rn_buf_append(&b, " IN (", 5);
		size_t i;
		json_t *v;
		json_array_foreach(c->value, i, v) {
			int n = add_json(p, v, c->field.type, &cast);
			char *t = rn_xasprintf("%s$%d::%s", i ? ", " : "", n, cast);
			rn_buf_append(&b, t, strlen(t));
			free(t);
		}
		rn_buf_appendc(&b, ')');
		return b.data;
	}
	default:
		break;
	}
	if (c->lookup == QL_EXACT && json_is_null(c->value))
		return rn_xasprintf("%s IS NULL", expr);
	/* the i* ones: ILIKE, the value's own % and _ escaped (text, as in
	 * Django's lookups); the others: case counts */
	switch (c->lookup) {
	case QL_ICONTAINS:
		return rn_xasprintf("%s ILIKE '%%' || $%d::text || '%%' ESCAPE '\\'", expr,
		                    escaped_param(p, c->value));
	case QL_ISTARTSWITH:
		return rn_xasprintf("%s ILIKE $%d::text || '%%' ESCAPE '\\'", expr,
		                    escaped_param(p, c->value));
	case QL_IENDSWITH:
		return rn_xasprintf("%s ILIKE '%%' || $%d::text ESCAPE '\\'", expr,
		                    escaped_param(p, c->value));
	default:
		break;
	}
	int n = add_json(p, c->value, text_lookup(c->lookup) ? MT_STR : c->field.type, &cast);
	switch (c->lookup) {
	case QL_GT:
		return rn_xasprintf("%s > $%d::%s", expr, n, cast);
	case QL_GTE:
		return rn_xasprintf("%s >= $%d::%s", expr, n, cast);
	case QL_LT:
		return rn_xasprintf("%s < $%d::%s", expr, n, cast);
	case QL_LTE:
		return rn_xasprintf("%s <= $%d::%s", expr, n, cast);
	case QL_IEXACT:
		return rn_xasprintf("lower(%s) = lower($%d::text)", expr, n);
	case QL_CONTAINS:
		return rn_xasprintf("strpos(%s, $%d::text) > 0", expr, n);
	case QL_STARTSWITH:
		return rn_xasprintf("strpos(%s, $%d::text) = 1", expr, n);
	case QL_ENDSWITH:
		return rn_xasprintf("right(%s, length($%d::text)) = $%d::text", expr, n, n);
	case QL_REGEX:
		return rn_xasprintf("%s ~ $%d::text", expr, n);
	case QL_IREGEX:
		return rn_xasprintf("%s ~* $%d::text", expr, n);
	case QL_EXACT:
	default:
		return rn_xasprintf("%s = $%d::%s", expr, n, cast);
	}
}

/* The list's table, to qualify its columns with. */
static const char *list_table(const query *qy)
{
	return qy->target == QUERY_EVENTS           ? "events"
	       : qy->target == QUERY_HOST_SUMMARIES ? "host_summaries"
	                                            : pg_table(qy->kind);
}

void pg_where(const query *qy, rn_buf *where, pg_params *p)
{
	query_dialect d = {column_of, cond_sql, pg_table, "false", p, NULL};
	query_where_sql(qy, &d, where);
}

/* The events' own columns are NOT NULL (pg.c's schema), but for host_id. */
static bool not_null(const query *qy, const query_field *f)
{
	return qy->target == QUERY_EVENTS && strcmp(f->name, "host") != 0;
}

char *pg_order(const query *qy, const char *id_col)
{
	query_dialect d = {column_of, cond_sql, pg_table, "false", NULL, not_null};
	return query_order_sql(qy, &d, list_table(qy), id_col, true);
}
