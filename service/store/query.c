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

/* AWX's model class of a list's rows, as its messages name it. */
static const char *model_name(query_target target, store_kind kind)
{
	static const char *const names[STORE_KIND_COUNT] = {
	    [STORE_ORGANIZATION] = "Organization",
	    [STORE_USER] = "User",
	    [STORE_TOKEN] = "OAuth2AccessToken",
	    [STORE_CREDENTIAL_TYPE] = "CredentialType",
	    [STORE_CREDENTIAL] = "Credential",
	    [STORE_INVENTORY] = "Inventory",
	    [STORE_GROUP] = "Group",
	    [STORE_HOST] = "Host",
	    [STORE_INVENTORY_SOURCE] = "InventorySource",
	    [STORE_PROJECT] = "Project",
	    [STORE_JOB_TEMPLATE] = "JobTemplate",
	    [STORE_UNIFIED_JOB] = "UnifiedJob",
	    [STORE_JOB] = "Job",
	    [STORE_PROJECT_UPDATE] = "ProjectUpdate",
	    [STORE_INVENTORY_UPDATE] = "InventoryUpdate",
	    [STORE_AD_HOC_COMMAND] = "AdHocCommand",
	    [STORE_SYSTEM_JOB] = "SystemJob",
	};
	if (target == QUERY_EVENTS)
		return "JobEvent";
	if (target == QUERY_HOST_SUMMARIES)
		return "JobHostSummary";
	return kind >= 0 && kind < STORE_KIND_COUNT && names[kind] ? names[kind] : "Model";
}

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

/* A plain identifier that fits a query_field's name. */
static bool plain_name(const char *name)
{
	if (!*name || strlen(name) >= sizeof((query_field *)0)->name)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

/* The job template's organization: AWX 21.14.0 keeps it on the template
 * (set from its project's when created through the API); runneld derives
 * it from the project (model.c's read-only field is never stored), so
 * filtering and ordering read the project's. */
static bool derived_org(store_kind kind, const char *name)
{
	return kind == STORE_JOB_TEMPLATE && !strcmp(name, "organization");
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
	if (derived_org(kind, name)) {
		set_field(out, name, MT_FK, QF_DERIVED);
		out->fk = STORE_ORGANIZATION;
		return true;
	}
	if (model_is_job_kind(kind) && !strcmp(name, "unified_job_node"))
		name = "source_workflow_job_node"; /* workflows: AWX's reverse of node.job */
	const model_field *f = model_field_find(kind, name);
	if (!f || (f->flags & MF_WO) || !plain_name(name))
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
	if (!strcmp(name, "host")) {
		set_field(out, name, MT_FK, QF_COLUMN);
		out->fk = STORE_HOST;
		return true;
	}
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
	if (!strcmp(name, "host")) {
		set_field(out, name, MT_FK, QF_COLUMN);
		out->fk = STORE_HOST;
		return true;
	}
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
	if (!strcmp(name, "pk")) /* Django's alias of the primary key */
		name = "id";
	bool ok = target == QUERY_EVENTS           ? event_field(name, &f)
	          : target == QUERY_HOST_SUMMARIES ? summary_field(name, &f)
	                                           : object_field(kind, name, &f);
	if (ok)
		*out = f;
	return ok;
}

/* The many-to-many relations a list can filter through. */
static const struct m2m_def {
	store_kind kind;
	const char *name;
	store_kind to;
	store_rel rel;
	bool parent;
} m2m_defs[] = {
    {STORE_HOST, "groups", STORE_GROUP, STORE_REL_GROUP_HOSTS, false},
    {STORE_GROUP, "hosts", STORE_HOST, STORE_REL_GROUP_HOSTS, true},
    {STORE_GROUP, "children", STORE_GROUP, STORE_REL_GROUP_CHILDREN, true},
    {STORE_GROUP, "parents", STORE_GROUP, STORE_REL_GROUP_CHILDREN, false},
    {STORE_JOB_TEMPLATE, "credentials", STORE_CREDENTIAL, STORE_REL_JOB_TEMPLATE_CREDENTIALS, true},
    {STORE_JOB, "credentials", STORE_CREDENTIAL, STORE_REL_JOB_CREDENTIALS, true},
};

/* A multi-valued relation of kind named name ("groups" of hosts, "hosts"
 * of inventories: the objects whose foreign key points back) into *hop. */
static bool relation_hop(store_kind kind, const char *name, query_hop *hop)
{
	memset(hop, 0, sizeof *hop);
	snprintf(hop->name, sizeof hop->name, "%s", name);
	hop->multivalued = true;
	for (size_t i = 0; i < sizeof m2m_defs / sizeof m2m_defs[0]; i++)
		if (m2m_defs[i].kind == kind && !strcmp(m2m_defs[i].name, name)) {
			hop->how = QH_M2M;
			hop->to = m2m_defs[i].to;
			hop->rel = m2m_defs[i].rel;
			hop->rel_parent = m2m_defs[i].parent;
			hop->fk.fk = STORE_KIND_COUNT;
			return true;
		}
	/* the reverse of a foreign key: <plural of to>, whose <type of kind> points here */
	int to = store_kind_from_name(name);
	if (to < 0 || to == STORE_UNIFIED_JOB || strcmp(store_kind_plural((store_kind)to), name))
		return false;
	query_field back;
	if (!object_field((store_kind)to, store_kind_type(kind), &back) || back.type != MT_FK ||
	    back.fk != kind)
		return false;
	hop->how = QH_REVERSE;
	hop->to = (store_kind)to;
	hop->fk = back;
	return true;
}

/* Fields no filter may read: AWX's PASSWORD_FIELDS and prevent_search(). The
 * 403 message, or NULL. */
static const char *forbidden_field(query_target target, store_kind kind, const char *name)
{
	if (target != QUERY_OBJECTS)
		return NULL;
	if ((kind == STORE_CREDENTIAL && !strcmp(name, "inputs")) ||
	    (model_is_job_kind(kind) && !strcmp(name, "start_args")))
		return "Filtering on password fields is not allowed.";
	static const char *const prevented[] = {
	    "password",         "extra_vars",      "job_env",     "job_args", "survey_spec",
	    "survey_passwords", "host_config_key", "webhook_key", "token",    NULL};
	if (in_list(prevented, name) &&
	    (model_field_find(kind, name) || (kind == STORE_USER && !strcmp(name, "password"))))
		return "";
	return NULL;
}

/* ------------------------------------------------------------------ */
/* values                                                               */

/* A value's text ("" for null), a new string. */
static char *value_text(const json_t *v)
{
	if (json_is_string(v))
		return rn_xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return rn_xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return rn_xasprintf("%.17g", json_real_value(v));
	if (json_is_boolean(v))
		return rn_xstrdup(json_is_true(v) ? "True" : "False");
	if (json_is_null(v))
		return rn_xstrdup("None");
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Python's int(): optional blanks around an optional sign and digits. */
static bool python_int(const char *s, long long *out)
{
	while (isspace((unsigned char)*s))
		s++;
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	errno = 0;
	char *end;
	long long n = strtoll(s, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (*end || errno)
		return false;
	*out = n;
	return true;
}

/* AWX's to_python_boolean(): 1/0 if text is one, else -1. */
static int python_bool(const char *t)
{
	if (!strcasecmp(t, "true") || !strcmp(t, "1") || !strcasecmp(t, "t"))
		return 1;
	if (!strcasecmp(t, "false") || !strcmp(t, "0") || !strcasecmp(t, "f"))
		return 0;
	return -1;
}

/* A value from a query string (or a JSON value) as the field's type, as
 * AWX's value_to_python_for_field() reads it: a new reference, or NULL with
 * AWX's message. */
static json_t *typed_value(const query_field *f, const char *name, json_t *v, runnel_error *err)
{
	char *t = value_text(v);
	json_t *out = NULL;
	long long n;
	switch (f->type) {
	case MT_FK:
		if (json_is_null(v) || !strcasecmp(t, "none") || !strcasecmp(t, "null"))
			out = json_null();
		else if (json_is_integer(v))
			out = json_incref(v);
		else if (python_int(t, &n))
			out = json_integer(n);
		else
			rn_fail(err, EINVAL, "Invalid %s id: %s", name, t);
		break;
	case MT_INT:
		if (json_is_integer(v))
			out = json_incref(v);
		else if (python_int(t, &n))
			out = json_integer(n);
		else
			rn_fail(err, EINVAL, "[\"\u201c%s\u201d value must be an integer.\"]", t);
		break;
	case MT_BOOL: {
		int b = json_is_boolean(v) ? json_is_true(v) : python_bool(t);
		if (b < 0)
			rn_fail(err, EINVAL, "Unable to convert \"%s\" to boolean", t);
		else
			out = json_boolean(b);
		break;
	}
	case MT_FLOAT: {
		char *end;
		double d = strtod(t, &end);
		if (json_is_number(v))
			out = json_real(json_number_value(v));
		else if (*t && !*end)
			out = json_real(d);
		else
			rn_fail(err, EINVAL, "[\"\u201c%s\u201d value must be a float.\"]", t);
		break;
	}
	default: /* strings, and the JSON-valued fields compared as their text */
		out = json_string(t);
		break;
	}
	free(t);
	return out;
}

/* The compile error of pattern, or NULL when it compiles (a new string). */
static char *regex_error(const char *pattern, size_t len)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_UTF, &code, &off, NULL);
	if (re) {
		pcre2_code_free(re);
		return NULL;
	}
	PCRE2_UCHAR buf[160];
	if (pcre2_get_error_message(code, buf, sizeof buf) < 0)
		snprintf((char *)buf, sizeof buf, "invalid regular expression");
	return rn_xasprintf("%s at position %zu", (const char *)buf, (size_t)off);
}

/* True for the text fields (iexact's only fields). */
static bool text_field(const query_field *f)
{
	return f->type == MT_STR || f->type == MT_VARS;
}

/* ------------------------------------------------------------------ */
/* paths                                                                */

/* One filter's path resolved: the hops, the last field, the lookup. */
typedef struct path {
	query_hop via[QUERY_MAX_HOPS];
	size_t nvia;
	query_field field;
	bool has_field;
	bool rel_end;       /* it ends on a multi-valued relation: field is the related id */
	char suffix[16];    /* the lookup's name ("exact" when none) */
	char last_name[64]; /* the last name of the path ("groups", "inventory") */
} path;

/* Resolve lookup ("inventory__organization__name__icontains") on the rows
 * of target/kind into *p, as AWX's get_fields_from_lookup(): 0, or -1 with
 * AWX's message (EINVAL; EACCES for a field no one may filter on). */
static int resolve_path(query_target target, store_kind kind, const char *lookup, path *p,
                        runnel_error *err)
{
	memset(p, 0, sizeof *p);
	for (const char *c = lookup; *c; c++)
		if ((unsigned char)*c >= 0x80)
			return rn_fail(
			    err, EINVAL,
			    "'%s' is not an allowed field name. Must be ascii encodable.", lookup);
	char *dup = rn_xstrdup(lookup);
	snprintf(p->suffix, sizeof p->suffix, "exact");
	char *last = NULL;
	for (char *s = strstr(dup, "__"); s; s = strstr(s + 2, "__"))
		last = s;
	if (last && lookup_of(last + 2) >= 0) {
		snprintf(p->suffix, sizeof p->suffix, "%s", last + 2);
		*last = 0;
	} else if (last && !strcmp(last + 2, "search")) {
		snprintf(p->suffix, sizeof p->suffix, "search");
		*last = 0;
	}
	if (!*dup) {
		free(dup);
		return rn_fail(err, EINVAL, "Query string field name not provided.");
	}
	/* walk the names: the rows (or the kind a hop reached) have each */
	bool have_model = true;
	query_target t = target;
	store_kind k = kind;
	char seen[QUERY_MAX_HOPS + 1][96];
	size_t nseen = 0;
	int rc = 0;
	char *save = dup, *name;
	while ((name = save)) {
		char *dd = strstr(save, "__");
		if (dd) {
			*dd = 0;
			save = dd + 2;
		} else {
			save = NULL;
		}
		if (!have_model) {
			rc = rn_fail(err, EINVAL, "No related model for field %s.", name);
			break;
		}
		const char *why = forbidden_field(t, k, name);
		if (why) {
			rc = *why ? rn_fail(err, EACCES, "%s", why)
			          : rn_fail(err, EACCES, "Filtering on %s is not allowed.", name);
			break;
		}
		/* a relation followed twice: AWX refuses the loop */
		char key[96];
		snprintf(key, sizeof key, "%d.%d.%s", (int)t, (int)k, name);
		for (size_t i = 0; i < nseen && rc == 0; i++)
			if (!strcmp(seen[i], key))
				rc = rn_fail(err, EINVAL,
				             "Loops not allowed in filters, detected on field %s.",
				             name);
		if (rc < 0)
			break;
		query_field f;
		query_hop hop;
		snprintf(p->last_name, sizeof p->last_name, "%s", name);
		if (query_field_resolve(t, k, name, &f)) {
			if (f.fk != STORE_KIND_COUNT && save) { /* followed further */
				if (p->nvia == QUERY_MAX_HOPS) {
					rc = rn_fail(err, EINVAL,
					             "%s: too many relations followed.", lookup);
					break;
				}
				memset(&hop, 0, sizeof hop);
				hop.how = QH_FK;
				hop.fk = f;
				hop.to = f.fk;
				snprintf(hop.name, sizeof hop.name, "%s", name);
				p->via[p->nvia++] = hop;
				t = QUERY_OBJECTS;
				k = f.fk;
			} else {
				p->field = f;
				p->has_field = true;
				have_model = f.fk != STORE_KIND_COUNT;
			}
		} else if (t == QUERY_OBJECTS && plain_name(name) && relation_hop(k, name, &hop)) {
			if (p->nvia == QUERY_MAX_HOPS) {
				rc = rn_fail(err, EINVAL, "%s: too many relations followed.",
				             lookup);
				break;
			}
			p->via[p->nvia++] = hop;
			k = hop.to;
			if (!save) { /* "groups=5": the related object's id */
				query_field_resolve(QUERY_OBJECTS, k, "id", &p->field);
				p->field.type = MT_FK;
				p->field.fk = k;
				p->has_field = true;
				p->rel_end = true;
			}
		} else {
			rc = rn_fail(err, EINVAL, "%s has no field named '%s'", model_name(t, k),
			             name);
			break;
		}
		if (nseen <= QUERY_MAX_HOPS)
			snprintf(seen[nseen++], sizeof seen[0], "%s", key);
	}
	free(dup);
	return rc;
}

/* ------------------------------------------------------------------ */
/* filters                                                              */

static query_cond *new_cond(query *qy)
{
	qy->conds = rn_xrealloc(qy->conds, sizeof *qy->conds * (qy->nconds + 1));
	query_cond *c = &qy->conds[qy->nconds++];
	memset(c, 0, sizeof *c);
	return c;
}

/* The fields DRF's SearchFilter looks in (AWX's get_search_fields(): those
 * of username, first_name, last_name, email, name, description the model
 * has; a job's events: stdout; its host summaries: host_name). Into out[8]. */
static size_t search_fields(query_target target, store_kind kind, bool related, query_field out[8])
{
	static const char *const names[] = {"username", "first_name",  "last_name", "email",
	                                    "name",     "description", "playbook",  NULL};
	size_t n = 0;
	if (target == QUERY_EVENTS) {
		event_field("stdout", &out[n++]);
		return n;
	}
	if (target == QUERY_HOST_SUMMARIES) { /* BaseJobHostSummariesList.search_fields */
		summary_field("host_name", &out[n++]);
		return n;
	}
	for (int i = 0; names[i]; i++) {
		if (!related && !strcmp(names[i], "playbook"))
			continue; /* only the related search (__search) reads it */
		if (!strcmp(names[i], "name") && kind == STORE_USER)
			continue; /* a user's name is its username */
		query_field f;
		if (object_field(kind, names[i], &f))
			out[n++] = f;
	}
	return n;
}

/* The terms of a search: split at blanks and commas (DRF's get_search_terms). */
static json_t *search_terms(const char *s)
{
	json_t *terms = json_array();
	char *dup = rn_xstrdup(s), *save = NULL;
	for (char *p = dup; *p; p++)
		if (*p == ',')
			*p = ' ';
	for (char *t = strtok_r(dup, " \t\n\r\f\v", &save); t;
	     t = strtok_r(NULL, " \t\n\r\f\v", &save))
		json_array_append_new(terms, json_string(t));
	free(dup);
	return terms;
}

/* ?search=: each term in one of the list's search fields. */
static void add_search(query *qy, const char *value)
{
	query_field fields[8];
	size_t nf = search_fields(qy->target, qy->kind, false, fields);
	json_t *terms = search_terms(value);
	size_t i;
	json_t *term;
	json_array_foreach(terms, i, term) {
		if (!nf)
			break;
		unsigned g = ++qy->ngroups;
		for (size_t f = 0; f < nf; f++) {
			query_cond *c = new_cond(qy);
			c->field = fields[f];
			c->lookup = QL_ICONTAINS;
			c->group = g;
			c->value = json_incref(term);
		}
	}
	json_decref(terms);
}

/* <relation>__search=: the related objects' search fields contain the value
 * (a comma: each of its terms). search_group: the OR group every such filter
 * shares, 0 before the first. */
static int add_related_search(query *qy, const char *key, json_t *v, unsigned *search_group,
                              runnel_error *err)
{
	path p;
	if (resolve_path(qy->target, qy->kind, key, &p, err) < 0)
		return -1;
	/* the related objects: those of the relation the path ends on, or of
	 * its last foreign key (one more hop) */
	bool fk_end = !p.rel_end && p.has_field && p.field.fk != STORE_KIND_COUNT;
	if (!p.rel_end && !fk_end) {
		char *name = rn_xstrndup(key, strlen(key) - 8);
		rn_fail(err, EINVAL, "%s is not searchable", name);
		free(name);
		return -1;
	}
	if (fk_end && p.nvia == QUERY_MAX_HOPS)
		return rn_fail(err, EINVAL, "%s: too many relations followed.", key);
	if (fk_end) {
		query_hop *h = &p.via[p.nvia++];
		memset(h, 0, sizeof *h);
		h->how = QH_FK;
		h->fk = p.field;
		h->to = p.field.fk;
		snprintf(h->name, sizeof h->name, "%s", p.field.name);
	}
	store_kind to = p.via[p.nvia - 1].to;
	char *text = value_text(v);
	json_t *terms;
	bool and = strchr(text, ',') != NULL;
	if (and)
		terms = search_terms(text);
	else
		terms = json_pack("[s]", text);
	free(text);
	query_field fields[8];
	size_t nf = search_fields(QUERY_OBJECTS, to, true, fields);
	size_t i;
	json_t *term;
	json_array_foreach(terms, i, term) {
		unsigned g;
		if (and) {
			g = ++qy->ngroups;
		} else {
			if (!*search_group)
				*search_group = ++qy->ngroups;
			g = *search_group;
		}
		for (size_t f = 0; f < nf; f++) {
			query_cond *c = new_cond(qy);
			memcpy(c->via, p.via, sizeof p.via[0] * p.nvia);
			c->nvia = p.nvia;
			c->field = fields[f];
			c->lookup = QL_ICONTAINS;
			c->group = g;
			c->value = json_incref(term);
		}
	}
	json_decref(terms);
	return 0;
}

/* Parse one filter (key without its or__/chain__/not__ prefixes) and its
 * value into a condition of qy. */
static int add_cond(query *qy, const char *key, json_t *v, bool negated, unsigned group, bool chain,
                    runnel_error *err)
{
	path p;
	if (resolve_path(qy->target, qy->kind, key, &p, err) < 0)
		return -1;
	if (!strcmp(p.suffix, "search"))
		return rn_fail(err, EINVAL, "%s: search is not a lookup here.", key);
	query_lookup l = (query_lookup)lookup_of(p.suffix);
	json_t *cv = NULL;
	char *text = value_text(v);
	if (l == QL_ISNULL) {
		int b = json_is_boolean(v) ? json_is_true(v) : python_bool(text);
		if (b < 0)
			rn_fail(err, EINVAL, "Unable to convert \"%s\" to boolean", text);
		else
			cv = json_boolean(b);
	} else if (l == QL_IN) {
		if (!*text && !json_is_array(v)) {
			rn_fail(err, EINVAL, "cannot provide empty value for __in");
		} else {
			cv = json_array();
			json_t *items = json_array();
			if (json_is_array(v)) {
				json_array_extend(items, v);
			} else {
				char *save = text;
				for (;;) { /* Python's split(","): empty items kept */
					char *comma = strchr(save, ',');
					if (comma)
						*comma = 0;
					json_array_append_new(items, json_string(save));
					if (!comma)
						break;
					save = comma + 1;
				}
			}
			size_t i;
			json_t *it;
			json_array_foreach(items, i, it) {
				json_t *x = typed_value(&p.field, p.last_name, it, err);
				if (!x) {
					json_decref(cv);
					cv = NULL;
					break;
				}
				json_array_append_new(cv, x);
			}
			json_decref(items);
		}
	} else if (l == QL_REGEX || l == QL_IREGEX) {
		char *why = regex_error(text, strlen(text));
		if (why)
			rn_fail(err, EINVAL, "%s", why);
		else
			cv = json_string(text);
		free(why);
	} else if (l == QL_IEXACT && !text_field(&p.field)) {
		rn_fail(err, EINVAL,
		        "%s is not a text field and cannot be filtered by case-insensitive search",
		        p.field.name);
	} else {
		cv = typed_value(&p.field, p.last_name, v, err);
		if (cv && lookup_is_text(l) && !json_is_string(cv)) {
			char *t = json_is_boolean(cv) ? rn_xstrdup(json_is_true(cv) ? "1" : "0")
			                              : value_text(cv);
			json_decref(cv);
			cv = json_string(t);
			free(t);
		}
	}
	free(text);
	if (!cv)
		return -1;
	query_cond *c = new_cond(qy);
	memcpy(c->via, p.via, sizeof p.via[0] * p.nvia);
	c->nvia = p.nvia;
	c->field = p.field;
	c->lookup = l;
	c->negated = negated;
	c->group = group;
	c->value = cv;
	/* plain ANDed conditions through the same first multi-valued relation
	 * share it (one related object meets them all) */
	if (!chain && !negated && !group && c->nvia && c->via[0].multivalued) {
		for (size_t i = 0; i + 1 < qy->nconds; i++) {
			query_cond *o = &qy->conds[i];
			if (o->join && !strcmp(o->via[0].name, c->via[0].name)) {
				c->join = o->join;
				return 0;
			}
		}
		c->join = ++qy->njoins;
	}
	return 0;
}

/* ?type=a,b: AWX's TypeFilterBackend. */
static void add_type(query *qy, const char *value)
{
	json_t *types = json_array();
	char *dup = rn_xstrdup(value), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(types, json_string(t));
	free(dup);
	query_cond *c = new_cond(qy);
	c->lookup = QL_IN;
	if (qy->target == QUERY_OBJECTS && model_is_job_kind(qy->kind)) {
		object_field(qy->kind, "type", &c->field); /* polymorphic: by type */
		c->value = types;
		return;
	}
	/* one type: all of them when it is named, else none */
	object_field(qy->kind, "id", &c->field);
	const char *mine = qy->target == QUERY_EVENTS           ? "job_event"
	                   : qy->target == QUERY_HOST_SUMMARIES ? "job_host_summary"
	                                                        : store_kind_type(qy->kind);
	size_t i;
	json_t *t;
	bool named = false;
	json_array_foreach(types, i, t)
		named |= !strcmp(json_string_value(t), mine);
	json_decref(types);
	if (named) { /* nothing to filter */
		qy->nconds--;
		return;
	}
	c->value = json_array();
}

/* Parse one key=value as AWX's filter backends do (reserved names skipped;
 * or__ / chain__ then not__ prefixes; __search; __int). or_group: the group
 * the or__ filters share (0 before the first). */
static int parse_arg(query *qy, const char *key, json_t *v, unsigned *or_group,
                     unsigned *search_group, runnel_error *err)
{
	static const char *const reserved[] = {
	    "page",        "page_size",      "format",      "order", "order_by",
	    "host_filter", "count_disabled", "no_truncate", "limit", NULL};
	if (in_list(reserved, key))
		return 0;
	if (!strcmp(key, "search")) {
		char *t = value_text(v);
		add_search(qy, t);
		free(t);
		return 0;
	}
	if (!strcmp(key, "type")) {
		char *t = value_text(v);
		add_type(qy, t);
		free(t);
		return 0;
	}
	if (!strcmp(key, "role_level")) {
		free(qy->role_level);
		qy->role_level = value_text(v);
		return 0;
	}
	size_t kl = strlen(key);
	char *k = rn_xstrdup(key);
	json_t *val = json_incref(v);
	int rc = 0;
	if (kl > 5 && !strcmp(k + kl - 5, "__int")) { /* internal: the value as an integer */
		k[kl - 5] = 0;
		char *t = value_text(v);
		long long n;
		if (!python_int(t, &n))
			rc =
			    rn_fail(err, EINVAL, "invalid literal for int() with base 10: '%s'", t);
		else
			json_decref(val), val = json_integer(n);
		free(t);
	}
	kl = strlen(k);
	if (rc == 0 && kl > 8 && !strcmp(k + kl - 8, "__search")) {
		rc = add_related_search(qy, k, val, search_group, err);
	} else if (rc == 0) {
		const char *rest = k;
		bool chain = false, or = false, negated = false;
		if (!strncmp(rest, "chain__", 7)) {
			chain = true;
			rest += 7;
		} else if (!strncmp(rest, "or__", 4)) {
			or = true;
			rest += 4;
		}
		if (!strncmp(rest, "not__", 5)) {
			negated = true;
			rest += 5;
		}
		unsigned group = 0;
		if (or) {
			if (!*or_group)
				*or_group = ++qy->ngroups;
			group = *or_group;
		}
		rc = add_cond(qy, rest, val, negated, group, chain, err);
	}
	json_decref(val);
	free(k);
	return rc;
}

int query_add_filter(query *qy, const char *key, json_t *value, runnel_error *err)
{
	unsigned og = 0, sg = 0;
	/* the hook's filter stands alone: its or__ group is its own */
	return parse_arg(qy, key, value, &og, &sg, err);
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

/* Parse "status,-created,inventory__name" into qy's order list. */
static int parse_order(query *qy, const char *order_by, runnel_error *err)
{
	const char *def = default_order(qy->target);
	if (!order_by || !*order_by)
		order_by = def;
	/* split at commas: an empty key is a field named "" (refused) */
	char *dup = rn_xstrdup(order_by);
	int rc = 0;
	for (char *t = dup; t;) {
		char *comma = strchr(t, ',');
		if (comma)
			*comma = 0;
		bool desc = *t == '-';
		const char *name = desc ? t + 1 : t;
		path p;
		if (!*name) {
			rc = rn_fail(err, EINVAL, "%s has no field named ''",
			             model_name(qy->target, qy->kind));
			break;
		}
		if (resolve_path(qy->target, qy->kind, name, &p, err) < 0) {
			rc = -1;
			break;
		}
		bool fk_only = true;
		for (size_t i = 0; i < p.nvia; i++)
			fk_only &= p.via[i].how == QH_FK;
		if (strcmp(p.suffix, "exact") && !strstr(name, "__exact")) {
			/* a lookup is no field to order on (Django's words) */
			rc = rn_fail(err, EINVAL, "No related model for field %s.", p.suffix);
			break;
		}
		if (!p.has_field || !fk_only) { /* Django would join (and repeat rows) */
			rc = rn_fail(err, EINVAL,
			             "Cannot order by %s: it is not a field of one related object.",
			             name);
			break;
		}
		/* type: by type on the unified jobs, else ignored (AWX drops it) */
		if (strcmp(name, "type") ||
		    (qy->target == QUERY_OBJECTS && model_is_job_kind(qy->kind))) {
			qy->order = rn_xrealloc(qy->order, sizeof *qy->order * (qy->norder + 1));
			query_order *o = &qy->order[qy->norder++];
			memset(o, 0, sizeof *o);
			memcpy(o->via, p.via, sizeof p.via[0] * p.nvia);
			o->nvia = p.nvia;
			o->field = p.field;
			o->descending = desc;
		}
		t = comma ? comma + 1 : NULL;
	}
	free(dup);
	if (rc < 0)
		return -1;
	if (qy->norder == 0 && strcmp(order_by, def))
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
	unsigned og = 0, sg = 0;
	json_object_foreach(q ? q->filters : NULL, key, v) {
		unsigned og1 = 0, sg1 = 0; /* the caller's own filters: each alone */
		if (parse_arg(out, key, v, &og1, &sg1, err) < 0)
			goto fail;
	}
	size_t i;
	json_t *pair;
	json_array_foreach(q ? q->args : NULL, i, pair) {
		const char *k = json_string_value(json_array_get(pair, 0));
		if (k && parse_arg(out, k, json_array_get(pair, 1), &og, &sg, err) < 0)
			goto fail;
	}
	if (parse_order(out, q ? q->order_by : NULL, err) < 0)
		goto fail;
	if (q && q->visibility && q->visibility(out, q->visibility_ctx, err) < 0)
		goto fail;
	parse_page(out, q);
	return 0;
fail:
	query_clear(out);
	return -1;
}

void query_clear(query *qy)
{
	if (!qy)
		return;
	for (size_t i = 0; i < qy->nconds; i++)
		json_decref(qy->conds[i].value);
	free(qy->conds);
	free(qy->order);
	free(qy->role_level);
	qy->conds = NULL;
	qy->order = NULL;
	qy->role_level = NULL;
	qy->nconds = qy->norder = 0;
}

/* ------------------------------------------------------------------ */
/* SQL                                                                  */

/* inner (a condition on the objects hop reached) as a condition on the
 * rows before it (the list's when top). Takes inner. */
static char *wrap_hop(const query *qy, const query_dialect *d, const query_hop *hop, bool top,
                      char *inner)
{
	char *out, *col;
	switch (hop->how) {
	case QH_REVERSE:
		col = d->column(qy, false, &hop->fk, false, NULL);
		out = rn_xasprintf("id IN (SELECT %s FROM %s WHERE %s)", col, d->table(hop->to),
		                   inner);
		break;
	case QH_M2M:
		col = NULL;
		out = rn_xasprintf("id IN (SELECT %s FROM relations WHERE rel = %d AND %s IN "
		                   "(SELECT id FROM %s WHERE %s))",
		                   hop->rel_parent ? "parent" : "child", (int)hop->rel,
		                   hop->rel_parent ? "child" : "parent", d->table(hop->to), inner);
		break;
	case QH_FK:
	default:
		col = d->column(qy, top, &hop->fk, false, NULL);
		out = rn_xasprintf("%s IN (SELECT id FROM %s WHERE %s)", col, d->table(hop->to),
		                   inner);
		break;
	}
	free(col);
	free(inner);
	return out;
}

/* The SQL of c's condition from hop from on (from 0: on the list's rows). */
static char *cond_from(const query *qy, const query_dialect *d, const query_cond *c, size_t from)
{
	char *expr = d->column(qy, c->nvia == 0, &c->field, lookup_is_text(c->lookup), NULL);
	char *sql = d->cond(d->ctx, c, expr);
	free(expr);
	for (size_t h = c->nvia; h-- > from;)
		sql = wrap_hop(qy, d, &c->via[h], h == 0, sql);
	return sql;
}

/* c as one clause: negated, the rows where it is not true (a NULL field
 * too, as Django's exclude). */
static char *clause_of(const query *qy, const query_dialect *d, const query_cond *c)
{
	char *sql = cond_from(qy, d, c, 0);
	if (!c->negated)
		return sql;
	char *n = rn_xasprintf("NOT coalesce((%s), %s)", sql, d->false_sql);
	free(sql);
	return n;
}

void query_where_sql(const query *qy, const query_dialect *d, rn_buf *where)
{
	bool *done = calloc(qy->nconds ? qy->nconds : 1, sizeof *done);
	if (!done)
		abort();
	for (size_t i = 0; i < qy->nconds; i++) {
		if (done[i])
			continue;
		const query_cond *c = &qy->conds[i];
		rn_buf b;
		rn_buf_init(&b);
		if (c->group) {
			rn_buf_appendc(&b, '(');
			for (size_t j = i; j < qy->nconds; j++) {
				if (qy->conds[j].group != c->group)
					continue;
				done[j] = true;
				if (j != i)
					rn_buf_append(&b, " OR ", 4);
				char *s = clause_of(qy, d, &qy->conds[j]);
				rn_buf_append(&b, s, strlen(s));
				free(s);
			}
			rn_buf_appendc(&b, ')');
		} else if (c->join) {
			/* one related object meets them all: one subquery */
			rn_buf inner;
			rn_buf_init(&inner);
			for (size_t j = i; j < qy->nconds; j++) {
				if (qy->conds[j].join != c->join)
					continue;
				done[j] = true;
				if (j != i)
					rn_buf_append(&inner, " AND ", 5);
				char *s = cond_from(qy, d, &qy->conds[j], 1);
				rn_buf_append(&inner, s, strlen(s));
				free(s);
			}
			char *s = wrap_hop(qy, d, &c->via[0], true, rn_xstrdup(inner.data));
			rn_buf_free(&inner);
			rn_buf_append(&b, s, strlen(s));
			free(s);
		} else {
			done[i] = true;
			char *s = clause_of(qy, d, c);
			rn_buf_append(&b, s, strlen(s));
			free(s);
		}
		rn_buf_append(where, " AND ", 5);
		rn_buf_append(where, b.data, strlen(b.data));
		rn_buf_free(&b);
	}
	free(done);
}

/* The value an order key reads: through its foreign keys, one scalar
 * subquery each (aliases rn_o<hop>). */
static char *order_expr(const query *qy, const query_dialect *d, const query_order *o,
                        const char *qual, size_t h)
{
	if (o->nvia == 0)
		return d->column(qy, true, &o->field, false, NULL);
	char alias[24], before[24];
	snprintf(alias, sizeof alias, "rn_o%zu", h);
	snprintf(before, sizeof before, "rn_o%zu", h - 1);
	char *value = h + 1 == o->nvia ? d->column(qy, false, &o->field, false, alias)
	                               : order_expr(qy, d, o, qual, h + 1);
	char *fk = d->column(qy, h == 0, &o->via[h].fk, false, h == 0 ? qual : before);
	char *e = rn_xasprintf("(SELECT %s FROM %s %s WHERE %s.id = %s)", value,
	                       d->table(o->via[h].to), alias, alias, fk);
	free(value);
	free(fk);
	return e;
}

char *query_order_sql(const query *qy, const query_dialect *d, const char *qual, const char *id_col,
                      bool pg_nulls)
{
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_append(&b, " ORDER BY ", 10);
	for (size_t i = 0; i < qy->norder; i++) {
		char *expr = order_expr(qy, d, &qy->order[i], qual, 0);
		rn_buf_append(&b, expr, strlen(expr));
		free(expr);
		/* PostgreSQL: NULL first going up, last going down, SQLite's order
		 * (nothing to say for a column that holds no NULL) */
		bool nulls = pg_nulls && !(qy->order[i].nvia == 0 && d->not_null &&
		                           d->not_null(qy, &qy->order[i].field));
		const char *dir = qy->order[i].descending
		                      ? (nulls ? " DESC NULLS LAST, " : " DESC, ")
		                      : (nulls ? " NULLS FIRST, " : ", ");
		rn_buf_append(&b, dir, strlen(dir));
	}
	rn_buf_append(&b, id_col, strlen(id_col));
	return b.data;
}

json_t *query_like_escaped(const json_t *v)
{
	const char *s = json_string_value(v) ? json_string_value(v) : "";
	rn_buf b;
	rn_buf_init(&b);
	for (; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			rn_buf_appendc(&b, '\\');
		rn_buf_appendc(&b, *s);
	}
	json_t *out = json_stringn(b.data ? b.data : "", b.len);
	rn_buf_free(&b);
	return out;
}
