/* datafile.c - env/ data files: JSON first, then YAML with PyYAML's
 * safe_load semantics (YAML 1.1 types), and Python's str() of the values. */
#include "datafile.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "util.h"

#define TAG_PREFIX "tag:yaml.org,2002:"
#define TAG_STR    TAG_PREFIX "str"
#define TAG_NULL   TAG_PREFIX "null"
#define TAG_BOOL   TAG_PREFIX "bool"
#define TAG_INT    TAG_PREFIX "int"
#define TAG_FLOAT  TAG_PREFIX "float"
#define TAG_TS     TAG_PREFIX "timestamp"
#define TAG_MERGE  TAG_PREFIX "merge"
#define TAG_VALUE  TAG_PREFIX "value"
#define TAG_BINARY TAG_PREFIX "binary"
#define TAG_SEQ    TAG_PREFIX "seq"
#define TAG_MAP    TAG_PREFIX "map"
#define TAG_SET    TAG_PREFIX "set"
#define TAG_OMAP   TAG_PREFIX "omap"
#define TAG_PAIRS  TAG_PREFIX "pairs"
#define MAX_DEPTH  512

/* ---------------------------------------------------------------- nodes */

/* A composed YAML node (PyYAML's Node): aliases share nodes. */
typedef struct ynode ynode;
struct ynode {
	yaml_node_type_t kind;
	char *tag; /* resolved tag; owned */
	char *value;
	size_t len;   /* scalar */
	ynode **kids; /* sequence items, or key, value, key, value... */
	size_t n;     /* number of kids */
	size_t cap;
	yaml_mark_t mark;
	json_t *built; /* constructed value, once done */
	bool building; /* being constructed (recursion guard) */
	bool flattening;
	bool counting;   /* being counted (an alias cycle guard) */
	size_t expanded; /* nodes of the tree with aliases expanded; 0: not yet */
	size_t height;   /* levels of that tree */
};

/* An anchor name and the node it names. */
typedef struct anchor {
	char *name;
	ynode *node;
} anchor;

/* Everything one YAML load owns. */
typedef struct yloader {
	const char *path;
	yaml_parser_t parser;
	ynode **nodes; /* every node, for freeing */
	size_t nnodes, capnodes;
	anchor *anchors;
	size_t nanchors, capanchors;
	runnel_error *err;
} yloader;

/* Fail with a message naming the file and a 1-based line and column. */
static int fail_at(yloader *l, const yaml_mark_t *mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(yloader *l, const yaml_mark_t *mark, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return rn_fail(l->err, EINVAL, "%s: line %zu, column %zu: %s", l->path, mark->line + 1,
	               mark->column + 1, msg);
}

/* A new node of the given kind, owned by the loader. */
static ynode *node_new(yloader *l, yaml_node_type_t kind, const yaml_mark_t *mark)
{
	ynode *n = calloc(1, sizeof *n);
	if (!n)
		n = rn_xmalloc(sizeof *n); /* aborts */
	n->kind = kind;
	n->mark = *mark;
	if (l->nnodes == l->capnodes) {
		l->capnodes = l->capnodes ? l->capnodes * 2 : 32;
		l->nodes = rn_xrealloc(l->nodes, l->capnodes * sizeof *l->nodes);
	}
	l->nodes[l->nnodes++] = n;
	return n;
}

/* Append a child to a collection node. */
static void node_add(ynode *n, ynode *kid)
{
	if (n->n == n->cap) {
		n->cap = n->cap ? n->cap * 2 : 8;
		n->kids = rn_xrealloc(n->kids, n->cap * sizeof *n->kids);
	}
	n->kids[n->n++] = kid;
}

/* Free every node and anchor of a loader. */
static void loader_free(yloader *l)
{
	for (size_t i = 0; i < l->nnodes; i++) {
		ynode *n = l->nodes[i];
		free(n->tag);
		free(n->value);
		free(n->kids);
		json_decref(n->built);
		free(n);
	}
	free(l->nodes);
	for (size_t i = 0; i < l->nanchors; i++)
		free(l->anchors[i].name);
	free(l->anchors);
}

/* Register an anchor; PyYAML refuses a duplicate. 0 or -1. */
static int anchor_add(yloader *l, const char *name, ynode *node, const yaml_mark_t *mark)
{
	if (!name)
		return 0;
	for (size_t i = 0; i < l->nanchors; i++)
		if (!strcmp(l->anchors[i].name, name))
			return fail_at(l, mark,
			               "found duplicate anchor '%s'; first occurrence at line %zu, "
			               "column %zu",
			               name, l->anchors[i].node->mark.line + 1,
			               l->anchors[i].node->mark.column + 1);
	if (l->nanchors == l->capanchors) {
		l->capanchors = l->capanchors ? l->capanchors * 2 : 8;
		l->anchors = rn_xrealloc(l->anchors, l->capanchors * sizeof *l->anchors);
	}
	l->anchors[l->nanchors].name = rn_xstrdup(name);
	l->anchors[l->nanchors++].node = node;
	return 0;
}

/* ------------------------------------------------- implicit resolution */

/* True if s[*i] is in [lo, hi]; advances *i when it is. */
static bool take_range(const char *s, size_t *i, char lo, char hi)
{
	if (s[*i] >= lo && s[*i] <= hi) {
		(*i)++;
		return true;
	}
	return false;
}

/* Skip characters of the class [lo-hi_] (digits with underscores). */
static void skip_digits_(const char *s, size_t *i, char lo, char hi)
{
	while ((s[*i] >= lo && s[*i] <= hi) || s[*i] == '_')
		(*i)++;
}

/* Hex digit or underscore. */
static bool is_hex_(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       c == '_';
}

/* Match (:[0-5]?[0-9])+ at s[*i]; true if at least one group matched. */
static bool match_sexagesimal(const char *s, size_t *i)
{
	bool any = false;
	while (s[*i] == ':') {
		size_t j = *i + 1;
		if (s[j] >= '0' && s[j] <= '5' && s[j + 1] >= '0' && s[j + 1] <= '9')
			j += 2;
		else if (s[j] >= '0' && s[j] <= '9')
			j += 1;
		else
			break;
		*i = j;
		any = true;
	}
	return any;
}

/* Match an optional exponent ([eE][-+][0-9]+)? at s[*i]. */
static void match_exponent(const char *s, size_t *i)
{
	size_t j = *i;
	if ((s[j] == 'e' || s[j] == 'E') && (s[j + 1] == '-' || s[j + 1] == '+') &&
	    s[j + 2] >= '0' && s[j + 2] <= '9') {
		j += 2;
		while (s[j] >= '0' && s[j] <= '9')
			j++;
		*i = j;
	}
}

/* PyYAML's bool resolver regex. */
static bool match_bool(const char *s)
{
	static const char *const words[] = {"yes",  "Yes",  "YES",  "no",    "No",    "NO",
	                                    "true", "True", "TRUE", "false", "False", "FALSE",
	                                    "on",   "On",   "ON",   "off",   "Off",   "OFF"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (!strcmp(s, words[i]))
			return true;
	return false;
}

/* PyYAML's float resolver regex. */
static bool match_float(const char *s)
{
	size_t i = 0;
	bool sign = s[0] == '-' || s[0] == '+';
	if (sign)
		i++;
	if (s[i] == '.') {
		/* [-+]?\.(inf|Inf|INF) or \.(nan|NaN|NAN) or \.[0-9][0-9_]*(exp)? */
		const char *r = s + i + 1;
		if (!strcmp(r, "inf") || !strcmp(r, "Inf") || !strcmp(r, "INF"))
			return true;
		if (sign)
			return false;
		if (!strcmp(r, "nan") || !strcmp(r, "NaN") || !strcmp(r, "NAN"))
			return true;
		i++;
		if (!take_range(s, &i, '0', '9'))
			return false;
		skip_digits_(s, &i, '0', '9');
		match_exponent(s, &i);
		return s[i] == '\0';
	}
	if (!take_range(s, &i, '0', '9'))
		return false;
	skip_digits_(s, &i, '0', '9');
	size_t k = i;
	if (s[i] == '.') {
		i++;
		skip_digits_(s, &i, '0', '9');
		match_exponent(s, &i);
		return s[i] == '\0';
	}
	/* sexagesimal: [0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* */
	i = k;
	if (!match_sexagesimal(s, &i) || s[i] != '.')
		return false;
	i++;
	skip_digits_(s, &i, '0', '9');
	return s[i] == '\0';
}

/* PyYAML's int resolver regex. */
static bool match_int(const char *s)
{
	size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
	const char *r = s + i;
	if (r[0] == '0' && r[1] == 'b') {
		i += 2;
		size_t k = i;
		skip_digits_(s, &i, '0', '1');
		return i > k && !s[i];
	}
	if (r[0] == '0' && r[1] == 'x') {
		i += 2;
		size_t k = i;
		while (is_hex_(s[i]))
			i++;
		return i > k && !s[i];
	}
	if (r[0] == '0') {
		if (!r[1])
			return true;
		i++;
		skip_digits_(s, &i, '0', '7');
		return !s[i];
	}
	if (!take_range(s, &i, '1', '9'))
		return false;
	skip_digits_(s, &i, '0', '9');
	if (!s[i])
		return true;
	return match_sexagesimal(s, &i) && !s[i];
}

/* PyYAML's null resolver regex. */
static bool match_null(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

/* Parsed fields of a timestamp. */
typedef struct timestamp {
	int year, month, day;
	bool has_time;
	int hour, minute, second, usec;
	bool has_tz;
	int tz_minutes; /* signed offset */
} timestamp;

/* Read 1..max digits at s[*i] into *out. */
static bool take_num(const char *s, size_t *i, int min, int max, int *out)
{
	int v = 0, k = 0;
	while (k < max && s[*i] >= '0' && s[*i] <= '9') {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		k++;
	}
	*out = v;
	return k >= min;
}

/* Parse a timestamp with PyYAML's constructor regex. With strict, apply the
 * resolver regex (a date-only form needs two-digit month and day). */
static bool parse_timestamp(const char *s, bool strict, timestamp *t)
{
	size_t i = 0, k;
	memset(t, 0, sizeof *t);
	if (!take_num(s, &i, 4, 4, &t->year) || s[i++] != '-')
		return false;
	k = i;
	if (!take_num(s, &i, 1, 2, &t->month) || s[i++] != '-')
		return false;
	bool two = i - k == 3;
	k = i;
	if (!take_num(s, &i, 1, 2, &t->day))
		return false;
	two = two && i - k == 2;
	if (!s[i])
		return two || !strict;
	if (s[i] == 'T' || s[i] == 't')
		i++;
	else if (s[i] == ' ' || s[i] == '\t')
		while (s[i] == ' ' || s[i] == '\t')
			i++;
	else
		return false;
	t->has_time = true;
	if (!take_num(s, &i, 1, 2, &t->hour) || s[i++] != ':' ||
	    !take_num(s, &i, 2, 2, &t->minute) || s[i++] != ':' ||
	    !take_num(s, &i, 2, 2, &t->second))
		return false;
	if (s[i] == '.') {
		i++;
		int digits = 0;
		while (s[i] >= '0' && s[i] <= '9') {
			if (digits < 6)
				t->usec = t->usec * 10 + (s[i] - '0');
			digits++;
			i++;
		}
		for (; digits < 6; digits++)
			t->usec *= 10;
	}
	while (s[i] == ' ' || s[i] == '\t')
		i++;
	if (s[i] == 'Z') {
		t->has_tz = true;
		i++;
	} else if (s[i] == '-' || s[i] == '+') {
		int sign = s[i++] == '-' ? -1 : 1, h, m = 0;
		if (!take_num(s, &i, 1, 2, &h))
			return false;
		if (s[i] == ':') {
			i++;
			if (!take_num(s, &i, 2, 2, &m))
				return false;
		}
		t->has_tz = true;
		t->tz_minutes = sign * (h * 60 + m);
	} else if (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t')) {
		return false; /* blanks must be followed by a zone */
	}
	return s[i] == '\0';
}

/* The implicit tag PyYAML's resolver gives a plain scalar. */
static const char *resolve_plain(const char *s)
{
	timestamp t;
	if (match_bool(s))
		return TAG_BOOL;
	if (match_float(s))
		return TAG_FLOAT;
	if (match_int(s))
		return TAG_INT;
	if (!strcmp(s, "<<"))
		return TAG_MERGE;
	if (match_null(s))
		return TAG_NULL;
	if (s[0] >= '0' && s[0] <= '9' && parse_timestamp(s, true, &t))
		return TAG_TS;
	if (!strcmp(s, "="))
		return TAG_VALUE;
	return TAG_STR;
}

/* ------------------------------------------------------------- compose */

/* Fail with libyaml's parser error, naming the file. */
static int fail_parser(yloader *l)
{
	yaml_parser_t *p = &l->parser;
	const char *problem = p->problem ? p->problem : "invalid YAML";
	if (p->error == YAML_READER_ERROR) {
		if (p->problem_value != -1)
			return rn_fail(l->err, EINVAL, "%s: byte %zu: %s (#x%X)", l->path,
			               p->problem_offset, problem, (unsigned)p->problem_value);
		return rn_fail(l->err, EINVAL, "%s: byte %zu: %s", l->path, p->problem_offset,
		               problem);
	}
	if (p->context)
		return fail_at(l, &p->problem_mark, "%s (%s at line %zu, column %zu)", problem,
		               p->context, p->context_mark.line + 1, p->context_mark.column + 1);
	return fail_at(l, &p->problem_mark, "%s", problem);
}

/* Next parser event into ev. 0 or -1 with err. */
static int next_event(yloader *l, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&l->parser, ev))
		return fail_parser(l);
	return 0;
}

static int compose(yloader *l, yaml_event_t *ev, int depth, ynode **out);

/* Compose the children of a collection until its end event. */
static int compose_children(yloader *l, ynode *n, yaml_event_type_t end, int depth)
{
	for (;;) {
		yaml_event_t ev;
		if (next_event(l, &ev) < 0)
			return -1;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return 0;
		}
		ynode *kid;
		int rc = compose(l, &ev, depth + 1, &kid);
		yaml_event_delete(&ev);
		if (rc < 0)
			return -1;
		node_add(n, kid);
	}
}

/* Compose the node that starts with ev (PyYAML's compose_node). */
static int compose(yloader *l, yaml_event_t *ev, int depth, ynode **out)
{
	ynode *n;
	const char *tag = NULL;
	if (depth > MAX_DEPTH)
		return fail_at(l, &ev->start_mark, "nesting deeper than %d levels", MAX_DEPTH);
	switch (ev->type) {
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		for (size_t i = 0; i < l->nanchors; i++)
			if (!strcmp(l->anchors[i].name, name)) {
				*out = l->anchors[i].node;
				return 0;
			}
		return fail_at(l, &ev->start_mark, "found undefined alias '%s'", name);
	}
	case YAML_SCALAR_EVENT:
		n = node_new(l, YAML_SCALAR_NODE, &ev->start_mark);
		n->len = ev->data.scalar.length;
		n->value = rn_xmalloc(n->len + 1);
		memcpy(n->value, ev->data.scalar.value, n->len);
		n->value[n->len] = '\0';
		tag = (const char *)ev->data.scalar.tag;
		if (!tag || !strcmp(tag, "!")) {
			/* A NUL inside the value keeps it a string (no regex matches). */
			bool implicit =
			    ev->data.scalar.plain_implicit && strlen(n->value) == n->len;
			tag = implicit ? resolve_plain(n->value) : TAG_STR;
		}
		n->tag = rn_xstrdup(tag);
		return anchor_add(l, (const char *)ev->data.scalar.anchor, n, &ev->start_mark) < 0
		           ? -1
		           : (*out = n, 0);
	case YAML_SEQUENCE_START_EVENT:
		n = node_new(l, YAML_SEQUENCE_NODE, &ev->start_mark);
		tag = (const char *)ev->data.sequence_start.tag;
		n->tag = rn_xstrdup(!tag || !strcmp(tag, "!") ? TAG_SEQ : tag);
		if (anchor_add(l, (const char *)ev->data.sequence_start.anchor, n,
		               &ev->start_mark) < 0)
			return -1;
		*out = n;
		return compose_children(l, n, YAML_SEQUENCE_END_EVENT, depth);
	case YAML_MAPPING_START_EVENT:
		n = node_new(l, YAML_MAPPING_NODE, &ev->start_mark);
		tag = (const char *)ev->data.mapping_start.tag;
		n->tag = rn_xstrdup(!tag || !strcmp(tag, "!") ? TAG_MAP : tag);
		if (anchor_add(l, (const char *)ev->data.mapping_start.anchor, n, &ev->start_mark) <
		    0)
			return -1;
		*out = n;
		return compose_children(l, n, YAML_MAPPING_END_EVENT, depth);
	default:
		return fail_at(l, &ev->start_mark, "unexpected YAML event %d", (int)ev->type);
	}
}

/* Compose the single document of the stream; *root NULL for an empty stream. */
static int compose_stream(yloader *l, ynode **root)
{
	yaml_event_t ev;
	*root = NULL;
	if (next_event(l, &ev) < 0)
		return -1;
	yaml_event_delete(&ev); /* STREAM-START */
	if (next_event(l, &ev) < 0)
		return -1;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return 0;
	}
	yaml_mark_t doc_mark = ev.start_mark;
	yaml_event_delete(&ev); /* DOCUMENT-START */
	if (next_event(l, &ev) < 0)
		return -1;
	int rc = compose(l, &ev, 0, root);
	yaml_event_delete(&ev);
	if (rc < 0 || next_event(l, &ev) < 0)
		return -1;
	yaml_event_delete(&ev); /* DOCUMENT-END */
	if (next_event(l, &ev) < 0)
		return -1;
	if (ev.type != YAML_STREAM_END_EVENT) {
		yaml_mark_t m = ev.start_mark;
		yaml_event_delete(&ev);
		return fail_at(l, &m,
		               "expected a single document in the stream (first at line %zu, "
		               "column %zu), but found another document",
		               doc_mark.line + 1, doc_mark.column + 1);
	}
	yaml_event_delete(&ev);
	return 0;
}

/* ----------------------------------------------------------- construct */

/* A decimal big number, least significant digit first. */
typedef struct bignum {
	unsigned char *d;
	size_t n;
} bignum;

/* big = big * mul + add. */
static void big_muladd(bignum *b, unsigned mul, unsigned add)
{
	unsigned carry = add;
	for (size_t i = 0; i < b->n; i++) {
		unsigned v = b->d[i] * mul + carry;
		b->d[i] = (unsigned char)(v % 10);
		carry = v / 10;
	}
	while (carry) {
		b->d = rn_xrealloc(b->d, b->n + 1);
		b->d[b->n++] = (unsigned char)(carry % 10);
		carry /= 10;
	}
}

/* The json value of a big number with a sign: an integer, or its decimal
 * string when it does not fit in 64 bits. */
static json_t *big_json(bignum *b, int sign)
{
	while (b->n && !b->d[b->n - 1])
		b->n--;
	if (b->n <= 18) {
		long long v = 0;
		for (size_t i = b->n; i-- > 0;)
			v = v * 10 + b->d[i];
		return json_integer(sign * v);
	}
	char *s = rn_xmalloc(b->n + 2), *p = s;
	if (sign < 0)
		*p++ = '-';
	for (size_t i = b->n; i-- > 0;)
		*p++ = (char)('0' + b->d[i]);
	*p = '\0';
	/* Values up to 19 digits may still fit. */
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	json_t *j = (!errno && !*end) ? json_integer(v) : json_string(s);
	free(s);
	return j;
}

/* A copy of s without underscores. */
static char *strip_underscores(const char *s)
{
	char *r = rn_xmalloc(strlen(s) + 1), *p = r;
	for (; *s; s++)
		if (*s != '_')
			*p++ = *s;
	*p = '\0';
	return r;
}

/* Value of a digit in base 36, or 99. */
static unsigned digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'z')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'Z')
		return (unsigned)(c - 'A' + 10);
	return 99;
}

/* Feed the digits of s in base into b; false if s is empty or has a bad digit. */
static bool big_feed(bignum *b, const char *s, size_t len, unsigned base)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = digit_value(s[i]);
		if (d >= base)
			return false;
		big_muladd(b, base, d);
	}
	return true;
}

/* PyYAML's construct_yaml_int. NULL if the text is not an int. */
static json_t *construct_int(const char *text)
{
	char *v = strip_underscores(text), *s = v;
	int sign = 1;
	bignum b = {0};
	bool ok;
	json_t *j = NULL;
	if (*s == '-')
		sign = -1;
	if (*s == '-' || *s == '+')
		s++;
	if (!strcmp(s, "0"))
		ok = true;
	else if (!strncmp(s, "0b", 2))
		ok = big_feed(&b, s + 2, strlen(s + 2), 2);
	else if (!strncmp(s, "0x", 2))
		ok = big_feed(&b, s + 2, strlen(s + 2), 16);
	else if (s[0] == '0')
		ok = big_feed(&b, s, strlen(s), 8);
	else if (strchr(s, ':')) {
		/* sexagesimal: the first part in decimal, then base 60 */
		size_t k = strcspn(s, ":");
		ok = big_feed(&b, s, k, 10);
		for (const char *p = s + k; ok && *p == ':';) {
			p++;
			size_t m = strcspn(p, ":");
			unsigned part = 0;
			ok = m > 0 && m <= 2;
			for (size_t i = 0; ok && i < m; i++) {
				ok = p[i] >= '0' && p[i] <= '9';
				part = part * 10 + (unsigned)(p[i] - '0');
			}
			if (ok)
				big_muladd(&b, 60, part);
			p += m;
		}
	} else
		ok = big_feed(&b, s, strlen(s), 10);
	if (ok)
		j = big_json(&b, sign);
	free(b.d);
	free(v);
	return j;
}

/* A double as json: a real, or "inf"/"-inf"/"nan" (jansson has no such reals). */
static json_t *float_json(double d)
{
	if (isnan(d))
		return json_string("nan");
	if (isinf(d))
		return json_string(d < 0 ? "-inf" : "inf");
	return json_real(d);
}

/* Python's float() of a decimal text (no hex, no blanks); false if invalid. */
static bool py_float(const char *s, double *out)
{
	char *end;
	if (!*s || strpbrk(s, "xXpP \t\n"))
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !*end;
}

/* PyYAML's construct_yaml_float. NULL if the text is not a float. */
static json_t *construct_float(const char *text)
{
	char *v = strip_underscores(text), *s = v;
	json_t *j = NULL;
	for (char *p = v; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	double sign = 1, d = 0;
	if (*s == '-')
		sign = -1;
	if (*s == '-' || *s == '+')
		s++;
	if (!strcmp(s, ".inf"))
		j = float_json(sign * INFINITY);
	else if (!strcmp(s, ".nan"))
		j = float_json(NAN);
	else if (strchr(s, ':')) {
		double base = 1, total = 0;
		bool ok = true;
		char *save = NULL;
		/* parts are summed from the last one, each times 60^k */
		size_t nparts = 1;
		for (char *p = s; *p; p++)
			nparts += *p == ':';
		double *parts = rn_xmalloc(nparts * sizeof *parts);
		size_t k = 0;
		for (char *tok = strtok_r(s, ":", &save); tok && ok;
		     tok = strtok_r(NULL, ":", &save))
			ok = k < nparts && py_float(tok, &parts[k++]);
		ok = ok && k == nparts;
		for (size_t i = k; ok && i-- > 0; base *= 60)
			total += parts[i] * base;
		free(parts);
		if (ok)
			j = float_json(sign * total);
	} else if (py_float(s, &d))
		j = float_json(sign * d);
	free(v);
	return j;
}

/* Days in a month of the Gregorian calendar. */
static int month_days(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		return 29;
	return days[month - 1];
}

/* PyYAML's construct_yaml_timestamp, as the str() of the Python date or
 * datetime. NULL if invalid. */
static json_t *construct_timestamp(const char *text)
{
	timestamp t;
	if (!parse_timestamp(text, false, &t))
		return NULL;
	if (t.year < 1 || t.month < 1 || t.month > 12 || t.day < 1 ||
	    t.day > month_days(t.year, t.month))
		return NULL;
	if (!t.has_time)
		return json_sprintf("%04d-%02d-%02d", t.year, t.month, t.day);
	if (t.hour > 23 || t.minute > 59 || t.second > 59 || t.tz_minutes <= -24 * 60 ||
	    t.tz_minutes >= 24 * 60)
		return NULL;
	char frac[16] = "", tz[16] = "";
	if (t.usec)
		snprintf(frac, sizeof frac, ".%06d", t.usec);
	if (t.has_tz) {
		int m = t.tz_minutes < 0 ? -t.tz_minutes : t.tz_minutes;
		snprintf(tz, sizeof tz, "%c%02d:%02d", t.tz_minutes < 0 ? '-' : '+', m / 60,
		         m % 60);
	}
	return json_sprintf("%04d-%02d-%02d %02d:%02d:%02d%s%s", t.year, t.month, t.day, t.hour,
	                    t.minute, t.second, frac, tz);
}

/* Decode base64 like Python's base64.decodebytes (non-alphabet bytes are
 * skipped). NULL if the padding is wrong or the bytes are not UTF-8 text. */
static json_t *construct_binary(const char *text)
{
	size_t len = strlen(text), n = 0;
	unsigned char *out = rn_xmalloc(len + 1);
	unsigned acc = 0, bits = 0, quads = 0;
	bool pad = false;
	for (const char *p = text; *p; p++) {
		unsigned v;
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			v = (unsigned)(c - 'A');
		else if (c >= 'a' && c <= 'z')
			v = (unsigned)(c - 'a' + 26);
		else if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0' + 52);
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else if (c == '=') {
			pad = true;
			break;
		} else
			continue;
		acc = (acc << 6) | v;
		bits += 6;
		quads++;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	json_t *j = NULL;
	if (quads % 4 != 1 && (quads % 4 == 0 || pad))
		j = json_stringn((const char *)out, n);
	free(out);
	return j;
}

static json_t *construct(yloader *l, ynode *n);

/* Name of a node kind as PyYAML's node.id says it. */
static const char *kind_name(const ynode *n)
{
	return n->kind == YAML_SCALAR_NODE     ? "scalar"
	       : n->kind == YAML_SEQUENCE_NODE ? "sequence"
	                                       : "mapping";
}

/* The key/value pairs of a mapping node with merge keys applied (PyYAML's
 * flatten_mapping): merged pairs first, later ones win. Caller frees. */
static int flatten(yloader *l, ynode *n, ynode ***pairs, size_t *npairs)
{
	ynode **merge = NULL, **rest = NULL;
	size_t nm = 0, nr = 0;
	int rc = 0;
	if (n->flattening) {
		*pairs = NULL;
		*npairs = 0;
		return 0; /* PyYAML has dropped the merge key by then: nothing more */
	}
	n->flattening = true;
	merge = rn_xmalloc((n->n + 1) * sizeof *merge);
	rest = rn_xmalloc((n->n + 1) * sizeof *rest);
	for (size_t i = 0; i + 1 < n->n && rc == 0; i += 2) {
		ynode *k = n->kids[i], *v = n->kids[i + 1];
		if (strcmp(k->tag, TAG_MERGE) != 0) {
			rest[nr++] = k;
			rest[nr++] = v;
			continue;
		}
		ynode **subs = &v;
		size_t nsubs = 1;
		if (v->kind == YAML_SEQUENCE_NODE) {
			subs = v->kids;
			nsubs = v->n;
		} else if (v->kind != YAML_MAPPING_NODE) {
			rc =
			    fail_at(l, &v->mark,
			            "expected a mapping or list of mappings for merging, but found "
			            "%s (while constructing a mapping at line %zu, column %zu)",
			            kind_name(v), n->mark.line + 1, n->mark.column + 1);
			break;
		}
		/* the mappings of a list merge in reverse: earlier ones win */
		for (size_t s = nsubs; s-- > 0 && rc == 0;) {
			ynode **sp;
			size_t sn;
			if (subs[s]->kind != YAML_MAPPING_NODE) {
				rc = fail_at(l, &subs[s]->mark,
				             "expected a mapping for merging, but found %s",
				             kind_name(subs[s]));
				break;
			}
			if (flatten(l, subs[s], &sp, &sn) < 0) {
				rc = -1;
				break;
			}
			merge = rn_xrealloc(merge, (nm + sn + n->n + 1) * sizeof *merge);
			if (sn)
				memcpy(merge + nm, sp, sn * sizeof *sp);
			nm += sn;
			free(sp);
		}
	}
	n->flattening = false;
	if (rc < 0) {
		free(merge);
		free(rest);
		return -1;
	}
	merge = rn_xrealloc(merge, (nm + nr + 1) * sizeof *merge);
	if (nr)
		memcpy(merge + nm, rest, nr * sizeof *rest);
	free(rest);
	*pairs = merge;
	*npairs = nm + nr;
	return 0;
}

/* Construct a key and its value (null for a !!set) and add them to obj. */
static int map_set(yloader *l, ynode *map, json_t *obj, ynode *k, ynode *vnode)
{
	json_t *key, *value;
	if (!strcmp(k->tag, TAG_VALUE))
		key = json_stringn(k->value, k->len);
	else
		key = construct(l, k);
	if (!key)
		return -1;
	if (json_is_array(key) || json_is_object(key)) {
		json_decref(key);
		return fail_at(l, &k->mark,
		               "found unhashable key (while constructing a mapping at line %zu, "
		               "column %zu)",
		               map->mark.line + 1, map->mark.column + 1);
	}
	value = vnode ? construct(l, vnode) : json_null();
	if (!value) {
		json_decref(key);
		return -1;
	}
	int rc;
	if (json_is_string(key)) {
		rc = json_object_setn_new(obj, json_string_value(key), json_string_length(key),
		                          value);
	} else {
		char *s = rn_py_str(key);
		rc = json_object_set_new(obj, s, value);
		free(s);
	}
	json_decref(key);
	if (rc < 0)
		return fail_at(l, &k->mark, "cannot store this mapping key");
	return 0;
}

/* Construct a mapping, or a !!set (values null). */
static json_t *construct_map(yloader *l, ynode *n, bool is_set)
{
	ynode **pairs;
	size_t np;
	if (flatten(l, n, &pairs, &np) < 0)
		return NULL;
	json_t *obj = json_object();
	for (size_t i = 0; i + 1 < np; i += 2) {
		if (map_set(l, n, obj, pairs[i], is_set ? NULL : pairs[i + 1]) < 0) {
			json_decref(obj);
			obj = NULL;
			break;
		}
	}
	free(pairs);
	return obj;
}

/* Construct a !!omap or !!pairs: a list of [key, value] lists. */
static json_t *construct_pairs(yloader *l, ynode *n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n->n; i++) {
		ynode *m = n->kids[i];
		if (m->kind != YAML_MAPPING_NODE || m->n != 2) {
			fail_at(l, &m->mark, "expected a mapping of length 1 (in an ordered map)");
			json_decref(arr);
			return NULL;
		}
		json_t *k = construct(l, m->kids[0]);
		json_t *v = k ? construct(l, m->kids[1]) : NULL;
		if (!v) {
			json_decref(k);
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, json_pack("[oo]", k, v));
	}
	return arr;
}

/* Construct a scalar node by its tag. */
static json_t *construct_scalar(yloader *l, ynode *n)
{
	const char *tag = n->tag;
	json_t *j = NULL;
	const char *what = NULL;
	if (!strcmp(tag, TAG_STR))
		return json_stringn(n->value, n->len);
	if (!strcmp(tag, TAG_NULL))
		return json_null();
	if (!strcmp(tag, TAG_BOOL)) {
		char low[8];
		size_t i;
		for (i = 0; i < sizeof low - 1 && n->value[i]; i++)
			low[i] = (char)(n->value[i] |
			                (n->value[i] >= 'A' && n->value[i] <= 'Z' ? 0x20 : 0));
		low[i] = '\0';
		if (!n->value[i]) {
			if (!strcmp(low, "yes") || !strcmp(low, "true") || !strcmp(low, "on"))
				return json_true();
			if (!strcmp(low, "no") || !strcmp(low, "false") || !strcmp(low, "off"))
				return json_false();
		}
		what = "boolean";
	} else if (!strcmp(tag, TAG_INT)) {
		j = construct_int(n->value);
		what = "integer";
	} else if (!strcmp(tag, TAG_FLOAT)) {
		j = construct_float(n->value);
		what = "float";
	} else if (!strcmp(tag, TAG_TS)) {
		j = construct_timestamp(n->value);
		what = "timestamp";
	} else if (!strcmp(tag, TAG_BINARY)) {
		j = construct_binary(n->value);
		what = "base64 UTF-8 text";
	} else if (!strcmp(tag, TAG_SEQ) || !strcmp(tag, TAG_OMAP) || !strcmp(tag, TAG_PAIRS)) {
		fail_at(l, &n->mark, "expected a sequence node, but found scalar");
		return NULL;
	} else if (!strcmp(tag, TAG_MAP) || !strcmp(tag, TAG_SET)) {
		fail_at(l, &n->mark, "expected a mapping node, but found scalar");
		return NULL;
	} else {
		fail_at(l, &n->mark, "could not determine a constructor for the tag '%s'", tag);
		return NULL;
	}
	if (!j)
		fail_at(l, &n->mark, "invalid %s '%s'", what, n->value);
	return j;
}

/* Construct the json value of a node (PyYAML's construct_object). */
static json_t *construct(yloader *l, ynode *n)
{
	if (n->built)
		return json_incref(n->built);
	if (n->building) {
		fail_at(l, &n->mark, "found recursive alias (a value containing itself)");
		return NULL;
	}
	n->building = true;
	json_t *j = NULL;
	if (n->kind == YAML_SCALAR_NODE) {
		j = construct_scalar(l, n);
	} else if (n->kind == YAML_SEQUENCE_NODE) {
		if (!strcmp(n->tag, TAG_SEQ)) {
			j = json_array();
			for (size_t i = 0; i < n->n; i++) {
				json_t *v = construct(l, n->kids[i]);
				if (!v) {
					json_decref(j);
					j = NULL;
					break;
				}
				json_array_append_new(j, v);
			}
		} else if (!strcmp(n->tag, TAG_OMAP) || !strcmp(n->tag, TAG_PAIRS)) {
			j = construct_pairs(l, n);
		} else if (!strcmp(n->tag, TAG_MAP) || !strcmp(n->tag, TAG_SET)) {
			fail_at(l, &n->mark, "expected a mapping node, but found sequence");
		} else if (!strncmp(n->tag, TAG_PREFIX, strlen(TAG_PREFIX)) &&
		           strcmp(n->tag, TAG_MERGE) && strcmp(n->tag, TAG_VALUE)) {
			fail_at(l, &n->mark, "expected a scalar node, but found sequence");
		} else {
			fail_at(l, &n->mark, "could not determine a constructor for the tag '%s'",
			        n->tag);
		}
	} else {
		if (!strcmp(n->tag, TAG_MAP) || !strcmp(n->tag, TAG_SET)) {
			j = construct_map(l, n, !strcmp(n->tag, TAG_SET));
		} else if (!strcmp(n->tag, TAG_SEQ) || !strcmp(n->tag, TAG_OMAP) ||
		           !strcmp(n->tag, TAG_PAIRS)) {
			fail_at(l, &n->mark, "expected a sequence node, but found mapping");
		} else if (!strncmp(n->tag, TAG_PREFIX, strlen(TAG_PREFIX)) &&
		           strcmp(n->tag, TAG_MERGE) && strcmp(n->tag, TAG_VALUE)) {
			fail_at(l, &n->mark, "expected a scalar node, but found mapping");
		} else {
			fail_at(l, &n->mark, "could not determine a constructor for the tag '%s'",
			        n->tag);
		}
	}
	n->building = false;
	if (j)
		n->built = json_incref(j);
	return j;
}

/* The character span of a scalar token; plain or not. */
typedef struct tok_span {
	yaml_mark_t start, end;
	bool plain;
} tok_span;

/* Whether mark a comes before mark b. */
static bool mark_before(size_t line, size_t col, const yaml_mark_t *b)
{
	return line < b->line || (line == b->line && col < b->column);
}

/*
 * PyYAML's pure-Python scanner (what upstream's safe_load uses) only skips
 * spaces between tokens and ends a plain scalar at a tab, so a tab anywhere
 * but inside a quoted or block scalar or a comment is an error ("found
 * character '\t' that cannot start any token"), e.g. "key:\tvalue" or a
 * trailing tab. libyaml accepts those, so look for such tabs with libyaml's
 * scanner first. 0 or -1 with err; scanner errors are left to the parser.
 */
static int check_tabs(yloader *l, const char *data, size_t len)
{
	yaml_parser_t p;
	yaml_token_t tok;
	tok_span *spans = NULL;
	size_t n = 0, cap = 0;
	yaml_mark_t limit = {0};
	bool done = false;
	if (!yaml_parser_initialize(&p))
		return 0;
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	while (!done && yaml_parser_scan(&p, &tok)) {
		limit = tok.end_mark;
		if (tok.type == YAML_SCALAR_TOKEN) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				spans = rn_xrealloc(spans, cap * sizeof *spans);
			}
			spans[n].start = tok.start_mark;
			spans[n].end = tok.end_mark;
			spans[n++].plain = tok.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		}
		done = tok.type == YAML_STREAM_END_TOKEN;
		yaml_token_delete(&tok);
	}
	if (!done)
		limit = p.problem_mark; /* check up to where the scanner failed */
	yaml_parser_delete(&p);

	size_t line = 0, col = 0, si = 0, i = 0;
	bool comment = false;
	int rc = 0;
	if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
		i = 3;
	for (unsigned char prev = '\n'; i < len && mark_before(line, col, &limit);) {
		unsigned char c = (unsigned char)data[i];
		size_t w = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		bool brk =
		    c == '\n' || c == '\r' ||
		    (c == 0xC2 && i + 1 < len && (unsigned char)data[i + 1] == 0x85) ||
		    (c == 0xE2 && i + 2 < len && (unsigned char)data[i + 1] == 0x80 &&
		     ((unsigned char)data[i + 2] == 0xA8 || (unsigned char)data[i + 2] == 0xA9));
		while (si < n && !mark_before(line, col, &spans[si].end))
			si++;
		bool in_span = si < n && !mark_before(line, col, &spans[si].start);
		if (brk) {
			comment = false;
			if (c == '\r' && i + 1 < len && data[i + 1] == '\n')
				w = 2;
			line++;
			col = 0;
			i += w;
			prev = '\n';
			continue;
		}
		if (c == '#' && !in_span && (prev == ' ' || prev == '\t' || prev == '\n'))
			comment = true;
		if (c == '\t' && !comment && (!in_span || spans[si].plain)) {
			yaml_mark_t m = {.line = line, .column = col};
			rc = fail_at(l, &m,
			             "found character '\\t' that cannot start any token (PyYAML "
			             "allows tabs only in quoted and block scalars and comments)");
			break;
		}
		prev = c;
		col++;
		i += w;
	}
	free(spans);
	return rc;
}

/*
 * Count the nodes of n's tree with every alias expanded (what a consumer that
 * copies or prints the value builds), and its height, without building it:
 * each node is counted once and shared nodes add their count. Stops as soon
 * as the count passes max or the height MAX_DEPTH. An alias cycle counts as
 * one node (construct() reports it). 0, or -1 with err (E2BIG).
 */
static int count_expanded(yloader *l, ynode *n, size_t depth, size_t max)
{
	if (n->counting) {
		n->expanded = n->expanded ? n->expanded : 1;
		return 0;
	}
	if (n->expanded)
		goto check;
	n->counting = true;
	size_t total = 1, height = 1;
	for (size_t i = 0; i < n->n; i++) {
		ynode *k = n->kids[i];
		if (!k->expanded || k->counting) {
			if (depth + 1 > MAX_DEPTH) {
				n->counting = false;
				return rn_fail(
				    l->err, E2BIG,
				    "%s: line %zu, column %zu: nesting deeper than %d levels "
				    "(with aliases expanded)",
				    l->path, k->mark.line + 1, k->mark.column + 1, MAX_DEPTH);
			}
			if (count_expanded(l, k, depth + 1, max) < 0) {
				n->counting = false;
				return -1;
			}
		}
		total = k->expanded > max ? max + 1 : total + k->expanded;
		if (total > max)
			total = max + 1;
		if (k->height + 1 > height)
			height = k->height + 1;
	}
	n->counting = false;
	n->expanded = total;
	n->height = height;
check:
	if (n->expanded > max)
		return rn_fail(l->err, E2BIG, "%s: YAML alias expansion exceeds %zu nodes", l->path,
		               max);
	if (depth + n->height > MAX_DEPTH + 1)
		return rn_fail(
		    l->err, E2BIG,
		    "%s: line %zu, column %zu: nesting deeper than %d levels (with aliases "
		    "expanded)",
		    l->path, n->mark.line + 1, n->mark.column + 1, MAX_DEPTH);
	return 0;
}

/* Refuse a document whose aliases expand past RN_DATAFILE_MAX_NODES nodes or
 * MAX_DEPTH levels. Documents without aliases pass at once: their size is
 * bounded by their text. 0 or -1 with err. */
static int check_expansion(yloader *l, ynode *root)
{
	if (!l->nanchors)
		return 0;
	return count_expanded(l, root, 1, RN_DATAFILE_MAX_NODES);
}

/* Load YAML text with safe_load semantics. NULL with err on failure. */
static json_t *load_yaml(const char *path, const char *data, size_t len, runnel_error *err)
{
	yloader l = {.path = path, .err = err};
	json_t *result = NULL;
	ynode *root;
	if (!yaml_parser_initialize(&l.parser)) {
		rn_fail(err, ENOMEM, "%s: cannot initialize the YAML parser", path);
		return NULL;
	}
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&l.parser, YAML_UTF8_ENCODING);
	if ((!memchr(data, '\t', len) || check_tabs(&l, data, len) == 0) &&
	    compose_stream(&l, &root) == 0 && (!root || check_expansion(&l, root) == 0))
		result = root ? construct(&l, root) : json_null();
	yaml_parser_delete(&l.parser);
	loader_free(&l);
	return result;
}

/* ------------------------------------------------------------ loading */

/* Python's truth value of a json value. */
static bool py_truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0;
	case JSON_TRUE:
		return true;
	default:
		return false;
	}
}

/* Parse data text: JSON first, YAML when JSON fails or gives a falsy value. */
json_t *rn_datafile_parse(const char *what, const char *data, size_t len, runnel_error *err)
{
	if (len > RN_DATAFILE_MAX_BYTES) {
		rn_fail(err, E2BIG, "%s: document exceeds %zu bytes", what,
		        (size_t)RN_DATAFILE_MAX_BYTES);
		return NULL;
	}
	json_error_t jerr;
	json_t *j = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (j && py_truthy(j))
		return j;
	runnel_error yerr = {0};
	json_t *y = load_yaml(what, data, len, &yerr);
	if (!y) {
		if (err)
			*err = yerr;
		if (yerr.code == E2BIG) {
			json_decref(j);
			return NULL; /* a bound, not a syntax problem: never let it through */
		}
		return j; /* upstream would give None; the falsy JSON value is closer */
	}
	json_decref(j);
	return y;
}

/* Load a data file: JSON first, YAML when JSON fails or gives a falsy value. */
json_t *rn_datafile_load(const char *path, runnel_error *err)
{
	size_t len;
	char *data = rn_read_file_max(path, RN_DATAFILE_MAX_BYTES, &len, err);
	if (!data)
		return NULL;
	json_t *v = rn_datafile_parse(path, data, len, err);
	free(data);
	return v;
}

/* A Python-ish name of the type of a loaded value, for messages. */
static const char *type_phrase(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* Load a file that must hold a mapping. */
json_t *rn_datafile_load_mapping(const char *path, runnel_error *err)
{
	json_t *v = rn_datafile_load(path, err);
	if (!v)
		return NULL;
	if (json_is_object(v))
		return v;
	if (json_is_null(v))
		rn_fail(err, EINVAL, "%s: expected a mapping, got null or an empty file", path);
	else
		rn_fail(err, EINVAL, "%s: expected a mapping, got %s", path, type_phrase(v));
	json_decref(v);
	return NULL;
}

/* ------------------------------------------------------------- py str */

/* Append Python's repr() of a float. */
static void append_float_repr(rn_buf *b, double d)
{
	char tmp[64];
	if (isnan(d)) {
		rn_buf_append(b, "nan", 3);
		return;
	}
	if (isinf(d)) {
		rn_buf_append(b, d < 0 ? "-inf" : "inf", d < 0 ? 4 : 3);
		return;
	}
	/* shortest round-tripping digits */
	int prec;
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
	/* split into sign, digits and exponent */
	char digits[32];
	size_t nd = 0;
	const char *p = tmp;
	bool neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	int exp = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	if (neg)
		rn_buf_appendc(b, '-');
	if (exp < -4 || exp >= 16) {
		rn_buf_appendc(b, digits[0]);
		if (nd > 1) {
			rn_buf_appendc(b, '.');
			rn_buf_append(b, digits + 1, nd - 1);
		}
		snprintf(tmp, sizeof tmp, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		rn_buf_append(b, tmp, strlen(tmp));
	} else if (exp < 0) {
		rn_buf_append(b, "0.", 2);
		for (int i = -1; i > exp; i--)
			rn_buf_appendc(b, '0');
		rn_buf_append(b, digits, nd);
	} else {
		size_t intlen = (size_t)exp + 1;
		for (size_t i = 0; i < intlen; i++)
			rn_buf_appendc(b, i < nd ? digits[i] : '0');
		rn_buf_appendc(b, '.');
		if (nd > intlen)
			rn_buf_append(b, digits + intlen, nd - intlen);
		else
			rn_buf_appendc(b, '0');
	}
}

/* Decode one UTF-8 code point at s (valid UTF-8 assumed); returns its length. */
static size_t utf8_decode(const unsigned char *s, size_t left, unsigned *cp)
{
	if (s[0] < 0x80 || left < 2) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0) {
		*cp = ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu);
		return 2;
	}
	if ((s[0] & 0xF0) == 0xE0 && left >= 3) {
		*cp = ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
		return 3;
	}
	if (left >= 4) {
		*cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
		      (s[3] & 0x3Fu);
		return 4;
	}
	*cp = s[0];
	return 1;
}

/* Whether Python's str.isprintable() is false for a non-ASCII code point
 * (the common Zs, Zl, Zp, Cc, Cf and Co code points; not every one). */
static bool py_nonprintable(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || cp == 0x61C || cp == 0x1680 ||
	       cp == 0x180E || (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
	       (cp >= 0x205F && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206F) || cp == 0x3000 ||
	       (cp >= 0xD800 && cp <= 0xF8FF) || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB) ||
	       cp == 0xFFFE || cp == 0xFFFF || (cp >= 0xE0000 && cp <= 0xE0FFF) || cp >= 0xF0000;
}

/* Append Python's repr() of a string. */
static void append_str_repr(rn_buf *b, const char *s, size_t len)
{
	bool has_sq = memchr(s, '\'', len) != NULL, has_dq = memchr(s, '"', len) != NULL;
	char q = (has_sq && !has_dq) ? '"' : '\'';
	char tmp[16];
	rn_buf_appendc(b, q);
	for (size_t i = 0; i < len;) {
		unsigned cp;
		size_t n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
		if (cp == (unsigned char)q || cp == '\\') {
			rn_buf_appendc(b, '\\');
			rn_buf_appendc(b, (char)cp);
		} else if (cp == '\t') {
			rn_buf_append(b, "\\t", 2);
		} else if (cp == '\n') {
			rn_buf_append(b, "\\n", 2);
		} else if (cp == '\r') {
			rn_buf_append(b, "\\r", 2);
		} else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && py_nonprintable(cp))) {
			if (cp <= 0xFF)
				snprintf(tmp, sizeof tmp, "\\x%02x", cp);
			else if (cp <= 0xFFFF)
				snprintf(tmp, sizeof tmp, "\\u%04x", cp);
			else
				snprintf(tmp, sizeof tmp, "\\U%08x", cp);
			rn_buf_append(b, tmp, strlen(tmp));
		} else {
			rn_buf_append(b, s + i, n);
		}
		i += n;
	}
	rn_buf_appendc(b, q);
}

/* Append Python's str() (repr when as_repr) of a value. */
static void append_py(rn_buf *b, const json_t *v, bool as_repr)
{
	char tmp[32];
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (as_repr)
			append_str_repr(b, json_string_value(v), json_string_length(v));
		else
			rn_buf_append(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		rn_buf_append(b, tmp, strlen(tmp));
		break;
	case JSON_REAL:
		append_float_repr(b, json_real_value(v));
		break;
	case JSON_TRUE:
		rn_buf_append(b, "True", 4);
		break;
	case JSON_FALSE:
		rn_buf_append(b, "False", 5);
		break;
	case JSON_NULL:
		rn_buf_append(b, "None", 4);
		break;
	case JSON_ARRAY: {
		size_t i;
		json_t *e;
		rn_buf_appendc(b, '[');
		json_array_foreach(v, i, e) {
			if (i)
				rn_buf_append(b, ", ", 2);
			append_py(b, e, true);
		}
		rn_buf_appendc(b, ']');
		break;
	}
	case JSON_OBJECT: {
		const char *k;
		size_t klen;
		json_t *e;
		bool first = true;
		rn_buf_appendc(b, '{');
		json_object_keylen_foreach((json_t *)v, k, klen, e)
		{
			if (!first)
				rn_buf_append(b, ", ", 2);
			first = false;
			append_str_repr(b, k, klen);
			rn_buf_append(b, ": ", 2);
			append_py(b, e, true);
		}
		rn_buf_appendc(b, '}');
		break;
	}
	}
}

/* Python's str() of a loaded value. */
char *rn_py_str(const json_t *v)
{
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_reserve(&b, 16);
	append_py(&b, v, false);
	return b.data;
}
