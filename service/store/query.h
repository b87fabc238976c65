/*
 * query.h - AWX's list grammar (filters, ordering, paging) parsed once into a
 * neutral form, so that a backend only maps field names to its columns and
 * writes the SQL.
 *
 * A store_query's filters ({"name__icontains": "web", "id__in": "1,2", ...})
 * become a list of conditions, each {field, lookup, value typed by the
 * field's model type, negated}; order_by ("-created,name") a list of
 * {field, descending}; page/page_size a limit and an offset. Every field
 * named is checked here against what the list can filter on (the kind's
 * model fields, or the events' / host summaries' columns): an unknown field,
 * a lookup that does not exist, a value that is not of the field's type is
 * EINVAL "<key>: <reason>", the message the API answers with 400.
 *
 * What a backend must do with a parsed query:
 *   - every condition, ANDed; "negated": the rows where it is not true (a
 *     NULL field included, as Django's exclude);
 *   - a condition with hops (via): through each foreign key in turn, as
 *     query_cond says;
 *   - QL_EXACT with a JSON null value: IS NULL;
 *   - QL_IN with an empty array matches nothing;
 *   - QL_ISNULL: value is true (IS NULL) or false (IS NOT NULL);
 *   - ORDER BY the order list, then id (a stable page);
 *   - LIMIT limit OFFSET offset.
 * Values are bound as parameters, never spliced; field names are checked
 * here to be plain identifiers ([A-Za-z0-9_]) so a backend may splice them.
 */
#ifndef RUNNELD_STORE_QUERY_H
#define RUNNELD_STORE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "model.h"
#include "store.h"
#include "util.h"

/* What a list reads: objects of a kind, a job's events, its host summaries. */
typedef enum query_target {
	QUERY_OBJECTS = 0,
	QUERY_EVENTS,
	QUERY_HOST_SUMMARIES,
} query_target;

/* The lookups (AWX's field__lookup). The i* ones ignore case. */
typedef enum query_lookup {
	QL_EXACT = 0,
	QL_IEXACT,
	QL_CONTAINS,
	QL_ICONTAINS,
	QL_STARTSWITH,
	QL_ISTARTSWITH,
	QL_ENDSWITH,
	QL_IENDSWITH,
	QL_GT,
	QL_GTE,
	QL_LT,
	QL_LTE,
	QL_IN,
	QL_ISNULL,
	QL_REGEX,  /* PCRE-compatible pattern, checked to compile here */
	QL_IREGEX, /* the same, ignoring case */
	QL_COUNT
} query_lookup;

/* A lookup's name as AWX spells it ("icontains"). */
const char *query_lookup_name(query_lookup l);

/* Where a field lives, for the backend's mapping. */
typedef enum query_field_class {
	QF_COLUMN = 0, /* a column every row of the target has (id, created, name, counter, ...) */
	QF_DATA,       /* a model field kept with the object's other validated fields */
	QF_DERIVED,    /* computed from another object: a job template's organization (its
	                * project's) */
} query_field_class;

/* One field a condition or an order names. */
typedef struct query_field {
	char name[64]; /* the API's name ("username", "host", "unified_job_template") */
	model_type type;
	query_field_class cls;
	store_kind fk; /* MT_FK: the kind it points at; else STORE_KIND_COUNT */
} query_field;

/* How many relations a filter may follow ("inventory__organization__name":
 * two). AWX's own bound is that no relation is followed twice (a loop). */
#define QUERY_MAX_HOPS 6

/* How a hop follows a relation from the rows before it. */
typedef enum query_hop_how {
	QH_FK = 0,  /* fk is a foreign key of those rows: fk IN (SELECT id FROM to WHERE ...) */
	QH_REVERSE, /* fk is a foreign key of the to rows pointing back: id IN (SELECT fk FROM to
	               ...) */
	QH_M2M,     /* through the relations table: rel, the rows on the parent side or not */
} query_hop_how;

/* One relation a condition follows, from the list's kind (via[0]) or the
 * kind the hop before reached, to objects of kind to. */
typedef struct query_hop {
	query_hop_how how;
	query_field fk; /* QH_FK: the field of the rows before; QH_REVERSE: the field of to */
	store_kind to;
	store_rel rel;    /* QH_M2M */
	bool rel_parent;  /* QH_M2M: the rows before are the relation's parent side */
	bool multivalued; /* QH_REVERSE, QH_M2M: more than one object may match */
	char name[64];    /* the name the filter used ("groups", "inventory") */
} query_hop;

/* One condition. With hops, field is a field of the last hop's kind:
 * "inventory__organization=3" on hosts is via[0] = {QH_FK inventory, to
 * inventories}, field organization; the rows match whose fk points at an
 * object that matches (SQL: inventory IN (SELECT id FROM inventories WHERE
 * organization = 3)). Every condition is its own subquery (AWX's chain__:
 * each filter may be met by another related object) except:
 *   group > 0: the conditions of one group are ORed, the group is one
 *     condition (or__ filters; each term of a search);
 *   join > 0: the (plain, ANDed) conditions of one join share their first
 *     multi-valued hop: one related object must meet them all, as Django
 *     does within one filter() ("groups__name=a&groups__name=b": no host;
 *     with chain__: the hosts in both groups). */
typedef struct query_cond {
	query_hop via[QUERY_MAX_HOPS];
	size_t nvia;
	query_field field;
	query_lookup lookup;
	bool negated; /* not__<field>... */
	unsigned group;
	unsigned join;
	/* The value typed by the field: integer (MT_INT, MT_FK), real (MT_FLOAT),
	 * true/false (MT_BOOL), string (MT_STR; the text lookups always), null
	 * (exact on a foreign key given as null/none); QL_IN: an array of such;
	 * QL_ISNULL: true/false. */
	json_t *value;
} query_cond;

/* One ordering key. */
typedef struct query_order {
	query_hop via[QUERY_MAX_HOPS]; /* QH_FK hops only ("inventory__name") */
	size_t nvia;
	query_field field;
	bool descending;
} query_order;

/* A parsed list request. Zero-initialize; query_clear() frees. */
typedef struct query {
	query_target target;
	store_kind kind; /* QUERY_OBJECTS */
	query_cond *conds;
	size_t nconds;
	query_order *order; /* never empty after query_parse: the default order when none */
	size_t norder;
	long limit, offset;
	unsigned ngroups, njoins; /* the group / join numbers given out */
	char *role_level;         /* ?role_level=: RBAC's (the hook reads it); NULL: none */
} query;

/*
 * Parse q (may be NULL: everything, default order, first page) for target
 * (kind for QUERY_OBJECTS) into *out. 0, or -1 with EINVAL "<key>: <reason>"
 * (out is then empty). The relation fields of q (rel, rel_parent,
 * rel_reverse) are the backend's: they are not copied.
 */
int query_parse(query_target target, store_kind kind, const store_query *q, query *out,
                runnel_error *err);

/*
 * Add one filter to a parsed query, ANDed with the others, in AWX's grammar
 * (key "inventory__organization__name__icontains", "not__id__in", ...;
 * value a string or a JSON scalar). This is the hook through which a
 * caller narrows a list beyond what was asked (RBAC: "id__in" of what the
 * user may see): store_query.visibility calls it from query_parse. 0, or -1
 * with err as query_parse's.
 */
int query_add_filter(query *qy, const char *key, json_t *value, runnel_error *err);

/* Free what query_parse put in *qy (safe on a zeroed query). */
void query_clear(query *qy);

/* The field a list of target can filter and order on, or false (out untouched
 * then). name is the API's name; the lookup suffix must already be gone. */
bool query_field_resolve(query_target target, store_kind kind, const char *name, query_field *out);

/*
 * The SQL of a parsed query, written once for both backends: a backend
 * gives its dialect (how a field reads, how one condition binds its value,
 * its table names) and gets the WHERE clauses (hops as subqueries, groups,
 * joins, negations) and the ORDER BY.
 */
typedef struct query_dialect {
	/* The SQL expression of field f of the list's rows (top: qy's target)
	 * or of an object of kind (a hop's rows); as text for the text lookups;
	 * qual: the table name to qualify with, or NULL. A new string. */
	char *(*column)(const query *qy, bool top, const query_field *f, bool as_text,
	                const char *qual);
	/* The SQL of condition c on expr, its values bound (in text order). */
	char *(*cond)(void *ctx, const query_cond *c, const char *expr);
	const char *(*table)(store_kind k);
	const char *false_sql; /* "0" or "false" */
	void *ctx;
	/* True if field f of the list's rows is a column that is never NULL
	 * (or NULL: none is known to be). Ordering by such a column leaves out
	 * PostgreSQL's NULLS FIRST/LAST, which would keep the planner from
	 * reading it in an index's order (a LIMIT 1 by counter would sort the
	 * job's every event). */
	bool (*not_null)(const query *qy, const query_field *f);
} query_dialect;

/* A text value for LIKE ... ESCAPE '\\': its own \\, % and _ escaped (a new string). */
json_t *query_like_escaped(const json_t *v);

/* Append " AND <clause>" for each clause of qy's conditions to where. */
void query_where_sql(const query *qy, const query_dialect *d, rn_buf *where);

/* " ORDER BY <keys>, <id_col>" of qy (a new string); qual: the list's table,
 * to qualify the keys that follow foreign keys. */
char *query_order_sql(const query *qy, const query_dialect *d, const char *qual, const char *id_col,
                      bool pg_nulls);

#endif
