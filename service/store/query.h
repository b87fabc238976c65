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
} query_field_class;

/* One field a condition or an order names. */
typedef struct query_field {
	char name[64]; /* the API's name ("username", "host", "unified_job_template") */
	model_type type;
	query_field_class cls;
	store_kind fk; /* MT_FK: the kind it points at; else STORE_KIND_COUNT */
} query_field;

/* How deep a filter may follow foreign keys ("inventory__organization__name"). */
#define QUERY_MAX_HOPS 3

/* One foreign key a condition follows: fk, a field of the kind before it
 * (the list's kind for via[0]), points at objects of kind to. */
typedef struct query_hop {
	query_field fk;
	store_kind to;
} query_hop;

/* One condition. With hops (objects only), field is a field of the last
 * hop's kind: "inventory__organization=3" on hosts is via[0] = {inventory,
 * to inventories}, field organization; the rows match whose fk points at an
 * object that matches (SQL: inventory IN (SELECT id FROM inventories WHERE
 * organization = 3)). */
typedef struct query_cond {
	query_hop via[QUERY_MAX_HOPS];
	size_t nvia;
	query_field field;
	query_lookup lookup;
	bool negated; /* not__<field>... */
	/* The value typed by the field: integer (MT_INT, MT_FK), real (MT_FLOAT),
	 * true/false (MT_BOOL), string (text lookups always, MT_STR), null
	 * (exact/gt... on a null); QL_IN: an array of such; QL_ISNULL: true/false. */
	json_t *value;
} query_cond;

/* One ordering key. */
typedef struct query_order {
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
} query;

/*
 * Parse q (may be NULL: everything, default order, first page) for target
 * (kind for QUERY_OBJECTS) into *out. 0, or -1 with EINVAL "<key>: <reason>"
 * (out is then empty). The relation fields of q (rel, rel_parent,
 * rel_reverse) are the backend's: they are not copied.
 */
int query_parse(query_target target, store_kind kind, const store_query *q, query *out,
                runnel_error *err);

/* Free what query_parse put in *qy (safe on a zeroed query). */
void query_clear(query *qy);

/* The field a list of target can filter and order on, or false (out untouched
 * then). name is the API's name; the lookup suffix must already be gone. */
bool query_field_resolve(query_target target, store_kind kind, const char *name, query_field *out);

#endif
