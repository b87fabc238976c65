/*
 * survey.c - a job template's survey (survey.h): AWX 21.14.0's spec rules
 * (JobTemplateSurveySpec._validate_spec_data), answer rules
 * (SurveyJobTemplateMixin._survey_element_validation) and merge
 * (_accept_or_ignore_variables, _update_unified_job_kwargs), in AWX's words.
 */
#include "datafile.h"
#include "survey.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- Python's str() and repr() of a JSON value, for AWX's messages ---- */

/* Python's str(v) (lib/datafile.h; NULL prints None), a new string. */
static char *py_str(const json_t *v)
{
	return rn_py_str(v ? v : json_null());
}

/* Append a message printed from fmt to the array errors. */
static void add_error(json_t *errors, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_error(json_t *errors, const char *fmt, ...)
{
	char *m = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m)
		json_array_append_new(errors, json_string(m));
	free(m);
}

/* ---- the spec ---- */

static const char *const question_types[] = {
    "text", "textarea", "password", "multiplechoice", "multiselect", "integer", "float", NULL};

/* True if v has the Python type AWX's SURVEY_TYPE_MAPPING gives qtype. */
static bool default_type_ok(const char *qtype, const json_t *v)
{
	if (!strcmp(qtype, "integer"))
		return json_is_integer(v) || json_is_boolean(v); /* isinstance(True, int) */
	if (!strcmp(qtype, "float"))
		return json_is_number(v) || json_is_boolean(v);
	return json_is_string(v);
}

/* The lines of text that are not blank, joined by "\n" (AWX's cleaning of
 * choices and defaults given as text). A new string. */
static char *clean_lines(const char *text)
{
	rn_buf b;
	rn_buf_init(&b);
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, "\r\n");
		bool blank = true;
		for (size_t i = 0; i < n; i++)
			if (p[i] != ' ' && p[i] != '\t' && p[i] != '\f' && p[i] != '\v')
				blank = false;
		if (!blank) {
			if (b.len)
				rn_buf_appendc(&b, '\n');
			rn_buf_append(&b, p, n);
		}
		p += n;
		if (*p == '\r' && p[1] == '\n')
			p++;
		if (*p)
			p++;
	}
	rn_buf_appendc(&b, 0);
	return b.data;
}

/* The lines of text as an array of strings (text already cleaned). */
static json_t *split_lines(const char *text)
{
	json_t *a = json_array();
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, "\n");
		json_array_append_new(a, json_stringn(p, n));
		p += n;
		if (*p)
			p++;
	}
	return a;
}

/* "item in choices" as Python reads it: a substring of a text, a member of a list. */
static bool in_choices(const json_t *item, const json_t *choices)
{
	if (json_is_string(choices))
		return json_is_string(item) &&
		       strstr(json_string_value(choices), json_string_value(item)) != NULL;
	size_t i;
	json_t *c;
	json_array_foreach((json_t *)choices, i, c)
		if (json_equal(c, (json_t *)item))
			return true;
	return false;
}

/* The question of old with variable name, or NULL. */
static json_t *old_question(const json_t *old, const char *name)
{
	size_t i;
	json_t *q;
	json_array_foreach(json_object_get(old, "spec"), i, q) {
		const char *v = json_string_value(json_object_get(q, "variable"));
		if (v && !strcmp(v, name))
			return q;
	}
	return NULL;
}

/* Python's type name of a JSON value. */
static const char *py_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return "str";
	case JSON_INTEGER:
		return "int";
	case JSON_REAL:
		return "float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_NULL:
		return "NoneType";
	case JSON_ARRAY:
		return "list";
	default:
		return "dict";
	}
}

/* Check one question (index idx) and make it what is stored (q is a copy). 0 or -1. */
static int prepare_question(json_t *q, size_t idx, const json_t *old, json_t *seen,
                            const store_key *key, runnel_error *err)
{
	if (!json_is_object(q))
		return rn_fail(err, EINVAL, "Survey question %zu is not a json object.", idx);
	static const char *const must[] = {"type", "question_name", "variable", "required", NULL};
	for (int i = 0; must[i]; i++) {
		json_t *v = json_object_get(q, must[i]);
		if (!v)
			return rn_fail(err, EINVAL, "'%s' missing from survey question %zu",
			               must[i], idx);
		bool req = !strcmp(must[i], "required");
		if (req ? !json_is_boolean(v) : !json_is_string(v))
			return rn_fail(err, EINVAL,
			               "'%s' in survey question %zu expected to be %s.", must[i],
			               idx, req ? "boolean" : "string");
	}
	const char *var = json_string_value(json_object_get(q, "variable"));
	if (json_object_get(seen, var))
		return rn_fail(err, EINVAL, "'variable' '%s' duplicated in survey question %zu.",
		               var, idx);
	json_object_set_new(seen, var, json_true());
	const char *qtype = json_string_value(json_object_get(q, "type"));
	int t;
	for (t = 0; question_types[t]; t++)
		if (!strcmp(qtype, question_types[t]))
			break;
	if (!question_types[t])
		return rn_fail(
		    err, EINVAL,
		    "'%s' in survey question %zu is not one of 'text, textarea, password, "
		    "multiplechoice, multiselect, integer, float' allowed question types.",
		    qtype, idx);
	json_t *def = json_object_get(q, "default");
	if (def && !(json_is_string(def) && !json_string_length(def)) &&
	    !default_type_ok(qtype, def)) {
		char *s = py_str(def);
		rn_fail(err, EINVAL, "Default value %s in survey question %zu expected to be %s.",
		        s, idx,
		        !strcmp(qtype, "integer") || !strcmp(qtype, "float") ? qtype : "string");
		free(s);
		return -1;
	}
	static const char *const limits[] = {"min", "max", NULL};
	for (int i = 0; limits[i]; i++) {
		json_t *v = json_object_get(q, limits[i]);
		if (v && !json_is_null(v) && !json_is_integer(v) && !json_is_boolean(v))
			return rn_fail(
			    err, EINVAL,
			    "The %s limit in survey question %zu expected to be integer.",
			    limits[i], idx);
	}
	if (!strcmp(qtype, "multiselect") || !strcmp(qtype, "multiplechoice")) {
		json_t *ch = json_object_get(q, "choices");
		if (!ch)
			return rn_fail(err, EINVAL,
			               "Survey question %zu of type %s must specify choices.", idx,
			               qtype);
		if (json_is_string(ch)) {
			char *c = clean_lines(json_string_value(ch));
			json_object_set_new(q, "choices", json_string(c));
			free(c);
			ch = json_object_get(q, "choices");
		}
		if (def) {
			json_t *defaults;
			if (json_is_string(def)) {
				char *c = clean_lines(json_string_value(def));
				json_object_set_new(q, "default", json_string(c));
				defaults = split_lines(c);
				free(c);
			} else if (json_is_array(def))
				defaults = json_incref(def);
			else
				defaults = json_pack("[O]", def);
			if (!strcmp(qtype, "multiplechoice") && json_array_size(defaults) > 1) {
				json_decref(defaults);
				return rn_fail(err, EINVAL,
				               "Multiple Choice (Single Select) can only have one "
				               "default value.");
			}
			size_t i;
			json_t *d;
			json_array_foreach(defaults, i, d)
				if (!in_choices(d, ch)) {
					json_decref(defaults);
					return rn_fail(err, EINVAL,
					               "Default choice must be answered from the "
					               "choices listed.");
				}
			json_decref(defaults);
		}
	}
	def = json_object_get(q, "default");
	if (json_is_string(def) &&
	    !strncmp(json_string_value(def), SURVEY_ENCRYPTED, strlen(SURVEY_ENCRYPTED))) {
		if (strcmp(qtype, "password"))
			return rn_fail(err, EINVAL,
			               "$encrypted$ is a reserved keyword for password question "
			               "defaults, survey question %zu is type %s.",
			               idx, qtype);
		json_t *oq = old_question(old, var);
		json_t *od = json_object_get(oq, "default");
		const char *os = json_string_value(od);
		if (!os || (strncmp(os, SURVEY_ENCRYPTED, strlen(SURVEY_ENCRYPTED)) && *os))
			return rn_fail(err, EINVAL,
			               "$encrypted$ is a reserved keyword, may not be used for new "
			               "default in position %zu.",
			               idx);
		json_object_set(q, "default", od);
	} else if (!strcmp(qtype, "password") && def) {
		/* AWX's encrypt_value: a text (an empty one too) is sealed */
		if (json_is_string(def) && json_string_length(def)) {
			char *sealed = store_seal(key, json_string_value(def));
			char *v = rn_xasprintf("%s%s", SURVEY_ENCRYPTED, sealed);
			json_object_set_new(q, "default", json_string(v));
			free(v), free(sealed);
		}
	}
	return 0;
}

json_t *survey_spec_prepare(const json_t *spec, const json_t *old, const store_key *key,
                            runnel_error *err)
{
	if (!json_is_object(spec))
		return rn_fail(err, EINVAL, "Field 'name' is missing from survey spec."), NULL;
	/* as AWX: the last failing check of the three is the one answered */
	const char *msg = NULL;
	char buf[256];
	static const struct {
		const char *field, *label;
	} top[] = {{"name", "string"}, {"description", "string"}, {"spec", "list of items"}};
	for (int i = 0; i < 3; i++) {
		json_t *v = json_object_get(spec, top[i].field);
		bool ok = i < 2 ? json_is_string(v) : json_is_array(v);
		if (!v) {
			snprintf(buf, sizeof buf, "Field '%s' is missing from survey spec.",
			         top[i].field);
			msg = buf;
		} else if (!ok) {
			snprintf(buf, sizeof buf, "Expected %s for field '%s', received %s type.",
			         top[i].label, top[i].field, py_type(v));
			msg = buf;
		}
	}
	json_t *items = json_object_get(spec, "spec");
	if (json_is_array(items) && json_array_size(items) < 1)
		msg = "'spec' doesn't contain any items.";
	if (msg)
		return rn_fail(err, EINVAL, "%s", msg), NULL;
	json_t *out = json_deep_copy(spec);
	json_t *seen = json_object();
	size_t i;
	json_t *q;
	json_array_foreach(json_object_get(out, "spec"), i, q) {
		if (prepare_question(q, i, old, seen, key, err) < 0) {
			json_decref(seen);
			json_decref(out);
			return NULL;
		}
	}
	json_decref(seen);
	return out;
}

json_t *survey_spec_display(const json_t *stored)
{
	if (!json_is_object(stored))
		return json_object();
	json_t *o = json_deep_copy(stored);
	size_t i;
	json_t *q;
	json_array_foreach(json_object_get(o, "spec"), i, q) {
		const char *t = json_string_value(json_object_get(q, "type"));
		json_t *d = json_object_get(q, "default");
		/* AWX: `if 'default' in field and field['default']` */
		bool truthy = d && (json_is_string(d) ? json_string_length(d) > 0
		                                      : !json_is_null(d) && !json_is_false(d));
		if (t && !strcmp(t, "password") && truthy)
			json_object_set_new(q, "default", json_string(SURVEY_ENCRYPTED));
	}
	return o;
}

bool survey_active(const json_t *jt)
{
	json_t *spec = json_object_get(jt, "survey_spec");
	return json_is_true(json_object_get(jt, "survey_enabled")) && json_is_object(spec) &&
	       json_object_get(spec, "spec");
}

json_t *survey_variables_needed(const json_t *jt)
{
	json_t *a = json_array();
	if (!survey_active(jt))
		return a;
	size_t i;
	json_t *q;
	json_array_foreach(json_object_get(json_object_get(jt, "survey_spec"), "spec"), i, q)
		if (json_is_true(json_object_get(q, "required")))
			json_array_append(a, json_object_get(q, "variable"));
	return a;
}

/* ---- answers ---- */

/* The length of a text in characters (Python's len of a str). */
static size_t text_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A limit of q ("min"/"max") as a number, false when absent, null or "". */
static bool limit_of(const json_t *q, const char *name, double *out)
{
	json_t *v = json_object_get(q, name);
	if (!v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)))
		return false;
	if (json_is_string(v))
		*out = strtod(json_string_value(v), NULL);
	else if (json_is_boolean(v))
		*out = json_is_true(v);
	else
		*out = json_number_value(v);
	return true;
}

/* AWX's _survey_element_validation of question q against answers data:
 * messages appended to errors. */
static void element_errors(const json_t *q, const json_t *data, bool validate_required,
                           json_t *errors)
{
	const char *type = json_string_value(json_object_get(q, "type"));
	const char *var = json_string_value(json_object_get(q, "variable"));
	if (!type || !var)
		return;
	bool required = json_is_true(json_object_get(q, "required"));
	json_t *val = json_object_get(data, var);
	if (!strcmp(type, "password") && json_is_string(val) &&
	    !strcmp(json_string_value(val), SURVEY_ENCRYPTED)) {
		json_t *d = json_object_get(q, "default");
		if ((!d || json_is_null(d)) && required && validate_required)
			add_error(errors, "'%s' value missing", var);
		return;
	}
	double lo = 0, hi = 0;
	bool has_lo = limit_of(q, "min", &lo), has_hi = limit_of(q, "max", &hi);
	char *s = val ? py_str(val) : NULL;
	if (!val && required) {
		if (validate_required)
			add_error(errors, "'%s' value missing", var);
	} else if (!strcmp(type, "text") || !strcmp(type, "textarea") ||
	           !strcmp(type, "password")) {
		if (val && !json_is_string(val))
			add_error(errors, "Value %s for '%s' expected to be a string.", s, var);
		else if (val) {
			size_t n = text_len(json_string_value(val));
			char *mn = py_str(json_object_get(q, "min"));
			char *mx = py_str(json_object_get(q, "max"));
			if (has_lo && (double)n < (double)(long long)lo)
				add_error(
				    errors,
				    "'%s' value %s is too small (length is %zu must be at least "
				    "%s).",
				    var, s, n, mn);
			if (has_hi && (double)n > (double)(long long)hi)
				add_error(errors,
				          "'%s' value %s is too large (must be no more than %s).",
				          var, s, mx);
			free(mn), free(mx);
		}
	} else if (!strcmp(type, "integer") || !strcmp(type, "float")) {
		bool integer = !strcmp(type, "integer");
		if (val && (integer ? !json_is_integer(val) : !json_is_number(val)))
			add_error(errors,
			          integer ? "Value %s for '%s' expected to be an integer."
			                  : "Value %s for '%s' expected to be a numeric type.",
			          s, var);
		else if (val) {
			double x = json_number_value(val);
			if (integer) {
				lo = (double)(long long)lo;
				hi = (double)(long long)hi;
			}
			char *mn = py_str(json_object_get(q, "min"));
			char *mx = py_str(json_object_get(q, "max"));
			if (has_lo && x < lo)
				add_error(errors,
				          "'%s' value %s is too small (must be at least %s).", var,
				          s, mn);
			if (has_hi && x > hi)
				add_error(errors,
				          "'%s' value %s is too large (must be no more than %s).",
				          var, s, mx);
			free(mn), free(mx);
		}
	} else if (!strcmp(type, "multiselect") || !strcmp(type, "multiplechoice")) {
		json_t *ch = json_object_get(q, "choices");
		json_t *list =
		    json_is_string(ch) ? split_lines(json_string_value(ch)) : json_incref(ch);
		/* the list printed as Python's repr (str() of a list) */
		char *ls = py_str(list);
		if (val && !strcmp(type, "multiselect")) {
			if (!json_is_array(val))
				add_error(errors, "'%s' value is expected to be a list.", var);
			else {
				size_t i;
				json_t *x;
				json_array_foreach(val, i, x)
					if (!list || !in_choices(x, list)) {
						char *xs = py_str(x);
						add_error(
						    errors,
						    "Value %s for '%s' expected to be one of %s.",
						    xs, var, ls);
						free(xs);
					}
			}
		} else if (val && (!list || !in_choices(val, list)))
			add_error(errors, "Value %s for '%s' expected to be one of %s.", s, var,
			          ls);
		free(ls);
		json_decref(list);
	}
	free(s);
}

/* The template's extra_vars as an object (JSON text; YAML or none: {}). */
static json_t *template_vars(const json_t *jt)
{
	json_t *ev = json_object_get(jt, "extra_vars");
	if (json_is_object(ev))
		return json_deep_copy(ev);
	json_t *o = json_is_string(ev) ? json_loads(json_string_value(ev), 0, NULL) : NULL;
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	return o;
}

void survey_accept_vars(const json_t *jt, const json_t *data, const store_key *key,
                        json_t **accepted, json_t **rejected, json_t *errors)
{
	(void)key;
	json_t *rest = json_is_object(data) ? json_deep_copy(data) : json_object();
	*accepted = json_object();
	*rejected = json_object();
	if (survey_active(jt)) {
		size_t i;
		json_t *q;
		json_array_foreach(json_object_get(json_object_get(jt, "survey_spec"), "spec"), i,
		                   q) {
			const char *var = json_string_value(json_object_get(q, "variable"));
			size_t before = json_array_size(errors);
			element_errors(q, data, true, errors);
			if (!var)
				continue;
			json_t *v = json_object_get(rest, var);
			if (!v)
				continue;
			json_object_set(json_array_size(errors) > before ? *rejected : *accepted,
			                var, v);
			json_object_del(rest, var);
		}
	}
	if (json_is_true(json_object_get(jt, "ask_variables_on_launch"))) {
		json_object_update(*accepted, rest);
		json_object_clear(rest);
	}
	json_t *tv = template_vars(jt);
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(rest, tmp, k, v) {
		json_t *same = json_object_get(tv, k);
		if (same && json_equal(same, v))
			json_object_del(rest, k);
	}
	json_decref(tv);
	json_object_update(*rejected, rest);
	json_decref(rest);
}

char *survey_open(const store_key *key, const char *value)
{
	size_t n = strlen(SURVEY_ENCRYPTED);
	if (!value || strncmp(value, SURVEY_ENCRYPTED, n) || !value[n])
		return NULL;
	return store_unseal(key, value + n);
}

/* A plain text sealed as a survey password ("$encrypted$" + sealed). */
static json_t *seal_value(const store_key *key, const char *plain)
{
	char *s = store_seal(key, plain);
	char *v = rn_xasprintf("%s%s", SURVEY_ENCRYPTED, s);
	json_t *r = json_string(v);
	free(s), free(v);
	return r;
}

json_t *survey_job_vars(const json_t *jt, const json_t *tmpl_vars, const json_t *accepted,
                        const store_key *key, json_t **passwords, runnel_error *err)
{
	*passwords = json_object();
	json_t *vars = json_is_object(tmpl_vars) ? json_deep_copy(tmpl_vars) : json_object();
	json_t *runtime = json_is_object(accepted) ? json_deep_copy(accepted) : json_object();
	json_t *defaults = json_object();
	if (survey_active(jt)) {
		size_t i;
		json_t *q;
		json_array_foreach(json_object_get(json_object_get(jt, "survey_spec"), "spec"), i,
		                   q) {
			const char *var = json_string_value(json_object_get(q, "variable"));
			const char *type = json_string_value(json_object_get(q, "type"));
			if (!var || !type)
				continue;
			bool pw = !strcmp(type, "password");
			json_t *rv = json_object_get(runtime, var);
			if (pw && json_is_string(rv) &&
			    !strcmp(json_string_value(rv), SURVEY_ENCRYPTED))
				json_object_del(runtime, var);
			json_t *d = json_object_get(q, "default");
			if (!d || json_is_null(d))
				continue;
			json_t *plain = json_incref(d);
			if (pw && json_is_string(d) &&
			    !strncmp(json_string_value(d), SURVEY_ENCRYPTED,
			             strlen(SURVEY_ENCRYPTED))) {
				char *o = survey_open(key, json_string_value(d));
				json_decref(plain);
				if (!o) {
					json_decref(vars), json_decref(runtime),
					    json_decref(defaults);
					json_decref(*passwords);
					*passwords = NULL;
					return rn_fail(
					           err, EIO,
					           "survey_spec: the default of '%s' does not open "
					           "with this state dir's key",
					           var),
					       NULL;
				}
				plain = json_string(o);
				sodium_memzero(o, strlen(o));
				free(o);
			}
			json_t *one = json_pack("{s:O}", var, plain);
			json_t *errs = json_array();
			element_errors(q, one, true, errs);
			if (!json_array_size(errs))
				json_object_set(defaults, var, d);
			json_decref(errs), json_decref(one), json_decref(plain);
		}
	}
	json_object_update(vars, defaults);
	json_object_update(vars, runtime);
	json_decref(defaults), json_decref(runtime);
	/* password answers leave the vars: sealed aside, "$encrypted$" shown */
	if (survey_active(jt)) {
		size_t i;
		json_t *q;
		json_array_foreach(json_object_get(json_object_get(jt, "survey_spec"), "spec"), i,
		                   q) {
			const char *var = json_string_value(json_object_get(q, "variable"));
			const char *type = json_string_value(json_object_get(q, "type"));
			json_t *v = var ? json_object_get(vars, var) : NULL;
			if (!v || !type || strcmp(type, "password") || !json_is_string(v))
				continue;
			const char *s = json_string_value(v);
			if (!strncmp(s, SURVEY_ENCRYPTED, strlen(SURVEY_ENCRYPTED)) &&
			    s[strlen(SURVEY_ENCRYPTED)])
				json_object_set(*passwords, var, v);
			else
				json_object_set_new(*passwords, var, seal_value(key, s));
			json_object_set_new(vars, var, json_string(SURVEY_ENCRYPTED));
		}
	}
	return vars;
}

bool survey_label_allowed(const char *action, bool is_superuser, bool is_org_member,
                          bool is_org_admin)
{
	if (is_superuser)
		return true;
	if (!strcmp(action, "read"))
		return is_org_member || is_org_admin; /* organization read_role */
	if (!strcmp(action, "add"))
		return is_org_member || is_org_admin; /* organization member_role */
	return is_org_admin;                          /* change, delete: admin_role */
}
