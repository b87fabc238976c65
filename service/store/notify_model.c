/*
 * notify_model.c - notification templates' rules, the same for every
 * backend (notify_model.h).
 */
#include "notify_model.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* One parameter of a notification backend (AWX's init_parameters). */
typedef struct nparam {
	const char *name;
	const char *type; /* string, int, bool, list, password, object */
	const char *def;  /* JSON text of the default, NULL: required */
} nparam;

/* AWX's CustomEmailBackend, SlackBackend and WebhookBackend parameters. */
static const nparam email_params[] = {
    {"host", "string", NULL},     {"port", "int", NULL},
    {"username", "string", NULL}, {"password", "password", NULL},
    {"use_tls", "bool", NULL},    {"use_ssl", "bool", NULL},
    {"sender", "string", NULL},   {"recipients", "list", NULL},
    {"timeout", "int", "30"},     {NULL, NULL, NULL},
};
static const nparam slack_params[] = {
    {"token", "password", NULL},
    {"channels", "list", NULL},
    {NULL, NULL, NULL},
};
static const nparam webhook_params[] = {
    {"url", "string", NULL},
    {"http_method", "string", "\"POST\""},
    {"disable_ssl_verification", "bool", "false"},
    {"username", "string", "\"\""},
    {"password", "password", "\"\""},
    {"headers", "object", NULL},
    {NULL, NULL, NULL},
};

/* The parameters of a notification type, or NULL. */
static const nparam *params_of(const char *type)
{
	if (!type)
		return NULL;
	if (!strcmp(type, "email"))
		return email_params;
	if (!strcmp(type, "slack"))
		return slack_params;
	if (!strcmp(type, "webhook"))
		return webhook_params;
	return NULL;
}

/* True if v has the JSON type a parameter type names. */
static bool type_ok(const char *type, const json_t *v)
{
	if (!strcmp(type, "string") || !strcmp(type, "password"))
		return json_is_string(v);
	if (!strcmp(type, "int"))
		return json_is_integer(v);
	if (!strcmp(type, "bool"))
		return json_is_boolean(v);
	if (!strcmp(type, "list"))
		return json_is_array(v);
	return json_is_object(v);
}

/* Check conf (given for type) as AWX's validate(): defaults filled, missing
 * fields, types, empty lists, the webhook's method; password fields sealed
 * (or, as "$encrypted$", taken from old_conf). */
static int prepare_configuration(const store_key *key, const char *type, json_t *conf,
                                 const json_t *old_conf, runnel_error *err)
{
	const nparam *ps = params_of(type);
	if (!ps)
		return rn_fail(err, EINVAL, "notification_type: \"%s\" is not a valid choice.",
		               type ? type : "");
	if (!json_is_object(conf))
		return rn_fail(err, EINVAL, "notification_configuration: Must be a JSON object.");
	rn_buf missing;
	rn_buf_init(&missing);
	for (const nparam *p = ps; p->name; p++) {
		json_t *v = json_object_get(conf, p->name);
		if (!v && p->def) {
			json_object_set_new(conf, p->name,
			                    json_loads(p->def, JSON_DECODE_ANY, NULL));
			continue;
		}
		if (!v) {
			char *s = rn_xasprintf("%s'%s'", missing.len ? ", " : "", p->name);
			rn_buf_append(&missing, s, strlen(s));
			free(s);
		}
	}
	if (missing.len) {
		rn_fail(err, EINVAL,
		        "notification_configuration: Missing required fields for Notification "
		        "Configuration: [%s].",
		        missing.data);
		rn_buf_free(&missing);
		return -1;
	}
	rn_buf_free(&missing);
	for (const nparam *p = ps; p->name; p++) {
		json_t *v = json_object_get(conf, p->name);
		if (!type_ok(p->type, v))
			return rn_fail(err, EINVAL,
			               "notification_configuration: Configuration field '%s' "
			               "incorrect type, expected %s.",
			               p->name, p->type);
		if (!strcmp(p->type, "list") && !json_array_size(v))
			return rn_fail(err, EINVAL,
			               "notification_configuration: No values specified for field "
			               "'%s'",
			               p->name);
		if (!strcmp(p->name, "http_method") && strcasecmp(json_string_value(v), "post") &&
		    strcasecmp(json_string_value(v), "put"))
			return rn_fail(err, EINVAL,
			               "notification_configuration: HTTP method must be either "
			               "'POST' or 'PUT'.");
	}
	for (const nparam *p = ps; p->name; p++) {
		if (strcmp(p->type, "password"))
			continue;
		const char *val = json_string_value(json_object_get(conf, p->name));
		if (!strncmp(val, NOTIFY_ENCRYPTED, strlen(NOTIFY_ENCRYPTED))) {
			/* keep what is stored: never a "$encrypted$..." a client made */
			const char *was = json_string_value(json_object_get(old_conf, p->name));
			json_object_set_new(conf, p->name, json_string(was ? was : ""));
			continue;
		}
		if (!*val)
			continue;
		char *sealed = store_seal(key, val);
		char *text = rn_xasprintf("%s%s", NOTIFY_ENCRYPTED, sealed);
		json_object_set_new(conf, p->name, json_string(text));
		free(text);
		free(sealed);
	}
	return 0;
}

/* Check one event's {"message": ..., "body": ...} as AWX's check_messages;
 * each template rendered against the stub (webhook bodies must give a
 * JSON dictionary). */
static int check_event(const char *type, const char *event, const json_t *m, const json_t *stub,
                       runnel_error *err)
{
	if (json_is_null(m))
		return 0;
	if (!json_is_object(m))
		return rn_fail(err, EINVAL, "messages: Expected dict for event '%s', found %s",
		               event, json_is_array(m) ? "<class 'list'>" : "<class 'str'>");
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)m, k, x) {
		if (strcmp(k, "message") && strcmp(k, "body"))
			return rn_fail(err, EINVAL,
			               "messages: Message type '%s' invalid, must be either "
			               "'message' or 'body'",
			               k);
		if (json_is_null(x))
			continue;
		if (!json_is_string(x))
			return rn_fail(err, EINVAL, "messages: Expected string for '%s'", k);
		const char *t = json_string_value(x);
		if (!strcmp(k, "message") && strchr(t, '\n'))
			return rn_fail(
			    err, EINVAL,
			    "messages: Messages cannot contain newlines (found newline in "
			    "%s event)",
			    event);
		char *out = NULL;
		runnel_error e = {0};
		if (notify_render(t, stub, true, &out, &e) < 0)
			return rn_fail(err, EINVAL, "messages: %s", e.message);
		if (!strcmp(k, "body") && !strcmp(type, "webhook") && *t) {
			json_error_t je;
			json_t *b = json_loads(out, JSON_DECODE_ANY, &je);
			if (!b) {
				rn_fail(err, EINVAL,
				        "messages: Webhook body for '%s' is not a valid json "
				        "dictionary "
				        "(%s).",
				        event, je.text);
				free(out);
				return -1;
			}
			if (!json_is_object(b)) {
				json_decref(b);
				free(out);
				return rn_fail(err, EINVAL,
				               "messages: Webhook body for '%s' should be a json "
				               "dictionary.",
				               event);
			}
			json_decref(b);
		}
		free(out);
	}
	return 0;
}

/* Check messages as AWX's validate_messages (workflow approvals accepted
 * as AWX takes them, though runneld runs no workflows). */
static int check_messages(const char *type, const json_t *msgs, runnel_error *err)
{
	if (json_is_null(msgs))
		return 0;
	if (!json_is_object(msgs))
		return rn_fail(err, EINVAL, "messages: Expected dict for 'messages' field");
	json_t *stub = notify_context_stub();
	const char *ev;
	json_t *m;
	int rc = 0;
	json_object_foreach((json_t *)msgs, ev, m) {
		if (!strcmp(ev, "workflow_approval")) {
			if (!json_is_object(m) && !json_is_null(m)) {
				rc = rn_fail(
				    err, EINVAL,
				    "messages: Expected dict for event 'workflow_approval'");
				break;
			}
			const char *sub;
			json_t *sm;
			json_object_foreach(m, sub, sm) {
				if (strcmp(sub, "running") && strcmp(sub, "approved") &&
				    strcmp(sub, "timed_out") && strcmp(sub, "denied")) {
					rc = rn_fail(
					    err, EINVAL,
					    "messages: Workflow Approval event '%s' invalid, "
					    "must be one of 'running', 'approved', "
					    "'timed_out', or 'denied'",
					    sub);
					break;
				}
				if ((rc = check_event("", sub, sm, stub, err)) < 0)
					break;
			}
			if (rc < 0)
				break;
			continue;
		}
		if (strcmp(ev, "started") && strcmp(ev, "success") && strcmp(ev, "error")) {
			rc = rn_fail(err, EINVAL,
			             "messages: Event '%s' invalid, must be one of 'started', "
			             "'success', 'error', or 'workflow_approval'",
			             ev);
			break;
		}
		if ((rc = check_event(type, ev, m, stub, err)) < 0)
			break;
	}
	json_decref(stub);
	return rc;
}

/* AWX's NotificationTemplate.save(): an update keeps the stored messages
 * of the events (and message/body) it does not give. */
static void merge_messages(json_t *msgs, const json_t *old)
{
	static const char *const events[] = {"started", "success", "error", "workflow_approval",
	                                     NULL};
	if (!json_is_object(msgs) || !json_is_object(old))
		return;
	for (const char *const *e = events; *e; e++) {
		json_t *n = json_object_get(msgs, *e);
		json_t *o = json_object_get(old, *e);
		bool n_empty = !n || json_is_null(n) || (json_is_object(n) && !json_object_size(n));
		bool o_empty = !o || json_is_null(o) || (json_is_object(o) && !json_object_size(o));
		if (n_empty && !o_empty) {
			json_object_set_new(msgs, *e, json_deep_copy(o));
			continue;
		}
		if (!n_empty && !o_empty && json_is_object(n) && json_is_object(o) &&
		    strcmp(*e, "workflow_approval"))
			for (int i = 0; i < 2; i++) {
				const char *k = i ? "body" : "message";
				json_t *ov = json_object_get(o, k);
				if (!json_object_get(n, k) && json_is_string(ov))
					json_object_set(n, k, ov);
			}
		if (!json_object_get(msgs, *e))
			json_object_set_new(msgs, *e, json_null());
	}
}

int notify_model_prepare(const store_key *key, store_kind kind, json_t *v, const json_t *old,
                         runnel_error *err)
{
	if (kind != STORE_NOTIFICATION_TEMPLATE)
		return 0;
	json_t *type = json_object_get(v, "notification_type");
	if (!type)
		type = json_object_get(old, "notification_type");
	const char *t = json_string_value(type);
	json_t *conf = json_object_get(v, "notification_configuration");
	/* as AWX: the configuration is checked when it is given */
	if (conf && prepare_configuration(
	                key, t, conf, json_object_get(old, "notification_configuration"), err) < 0)
		return -1;
	json_t *msgs = json_object_get(v, "messages");
	if (msgs && check_messages(t ? t : "", msgs, err) < 0)
		return -1;
	if (msgs && old)
		merge_messages(msgs, json_object_get(old, "messages"));
	return 0;
}

void notify_model_mask(json_t *configuration)
{
	const char *k;
	json_t *v;
	json_object_foreach(configuration, k, v) {
		if (json_is_string(v) &&
		    !strncmp(json_string_value(v), NOTIFY_ENCRYPTED, strlen(NOTIFY_ENCRYPTED)))
			json_object_set_new(configuration, k, json_string(NOTIFY_ENCRYPTED));
	}
}

json_t *notify_model_open(const store_key *key, const json_t *configuration, runnel_error *err)
{
	json_t *c = json_deep_copy(configuration);
	if (!c)
		c = json_object();
	const char *k;
	json_t *v;
	size_t n = strlen(NOTIFY_ENCRYPTED);
	json_object_foreach(c, k, v) {
		const char *s = json_string_value(v);
		if (!s || strncmp(s, NOTIFY_ENCRYPTED, n))
			continue;
		char *plain = store_unseal(key, s + n);
		if (!plain) {
			rn_fail(
			    err, EIO,
			    "notification_configuration: %s: does not open with this state dir's "
			    "secret.key",
			    k);
			json_decref(c);
			return NULL;
		}
		json_object_set_new(c, k, json_string(plain));
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	return c;
}

json_t *notify_model_secrets(const char *type, const json_t *opened)
{
	json_t *a = json_array();
	const nparam *ps = params_of(type);
	for (const nparam *p = ps; p && p->name; p++) {
		const char *s = json_string_value(json_object_get(opened, p->name));
		if (!strcmp(p->type, "password") && s && *s)
			json_array_append_new(a, json_string(s));
	}
	return a;
}

/* ------------------------------------------------------------------ */
/* rendering                                                            */

/* Print a value as Jinja prints Python's (str()). */
static void print_value(rn_buf *b, const json_t *v)
{
	char *s = NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		rn_buf_append(b, json_string_value(v), json_string_length(v));
		return;
	case JSON_TRUE:
		s = rn_xstrdup("True");
		break;
	case JSON_FALSE:
		s = rn_xstrdup("False");
		break;
	case JSON_NULL:
		s = rn_xstrdup("None");
		break;
	case JSON_INTEGER:
		s = rn_xasprintf("%lld", (long long)json_integer_value(v));
		break;
	default:
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_SORT_KEYS);
		break;
	}
	if (s)
		rn_buf_append(b, s, strlen(s));
	free(s);
}

/* Look up a dotted name (a.b, a['b'], a.0) in ctx; NULL if undefined
 * (*bad set when the name is not of that form). */
static const json_t *lookup(const json_t *ctx, const char *expr, bool *bad)
{
	const json_t *cur = ctx;
	const char *p = expr;
	bool first = true;
	while (*p) {
		char key[256];
		size_t n = 0;
		if (!first && *p == '.') {
			p++;
		} else if (!first && *p == '[') {
			p++;
			char q = *p;
			if (q == '\'' || q == '"') {
				p++;
				while (*p && *p != q && n < sizeof key - 1)
					key[n++] = *p++;
				if (*p != q || p[1] != ']') {
					*bad = true;
					return NULL;
				}
				p += 2;
			} else {
				while (isdigit((unsigned char)*p) && n < sizeof key - 1)
					key[n++] = *p++;
				if (*p != ']' || !n) {
					*bad = true;
					return NULL;
				}
				p++;
			}
			key[n] = '\0';
			goto step;
		} else if (!first) {
			*bad = true;
			return NULL;
		}
		while ((isalnum((unsigned char)*p) || *p == '_') && n < sizeof key - 1)
			key[n++] = *p++;
		key[n] = '\0';
		if (!n || (first && isdigit((unsigned char)key[0]))) {
			*bad = true;
			return NULL;
		}
	step:
		first = false;
		if (json_is_object(cur))
			cur = json_object_get(cur, key);
		else if (json_is_array(cur) && isdigit((unsigned char)key[0]))
			cur = json_array_get(cur, strtoul(key, NULL, 10));
		else
			cur = NULL;
		if (!cur) {
			/* the rest must still be well formed */
			for (; *p; p++)
				if (!(isalnum((unsigned char)*p) || strchr("_.[]'\"", *p))) {
					*bad = true;
					return NULL;
				}
			return NULL;
		}
	}
	return cur;
}

int notify_render(const char *tmpl, const json_t *ctx, bool strict, char **out, runnel_error *err)
{
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_append(&b, "", 0);
	const char *p = tmpl;
	while (*p) {
		if (p[0] == '{' && (p[1] == '%' || p[1] == '#')) {
			rn_buf_free(&b);
			return rn_fail(err, EINVAL,
			               "Unable to render message '%s': runneld renders only "
			               "{{ name.field }} substitutions, not '{%c'",
			               tmpl, p[1]);
		}
		if (!(p[0] == '{' && p[1] == '{')) {
			rn_buf_appendc(&b, *p++);
			continue;
		}
		const char *end = strstr(p + 2, "}}");
		if (!end) {
			rn_buf_free(&b);
			return rn_fail(err, EINVAL,
			               "Unable to render message '%s': unexpected end of template, "
			               "expected 'end of print statement'.",
			               tmpl);
		}
		const char *s = p + 2, *e = end;
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		char *expr = rn_xstrndup(s, (size_t)(e - s));
		bool bad = !*expr;
		const json_t *v = bad ? NULL : lookup(ctx, expr, &bad);
		if (bad) {
			rn_fail(err, EINVAL,
			        "Unable to render message '%s': runneld renders only "
			        "{{ name.field }} substitutions, not '{{ %s }}'",
			        tmpl, expr);
			free(expr);
			rn_buf_free(&b);
			return -1;
		}
		if (!v && strict) {
			/* AWX's DescriptiveUndefined names the last part */
			const char *last = expr + strlen(expr);
			while (last > expr && (isalnum((unsigned char)last[-1]) || last[-1] == '_'))
				last--;
			rn_fail(err, EINVAL, "Field '%s' unavailable", last);
			free(expr);
			rn_buf_free(&b);
			return -1;
		}
		free(expr);
		if (v)
			print_value(&b, v);
		p = end + 2;
	}
	*out = b.data;
	return 0;
}

/* AWX's context_stub, as JSON. */
static const char stub_text[] =
    "{\"job\": {\"allow_simultaneous\": false, \"artifacts\": {}, \"controller_node\": "
    "\"foo_controller\", \"created\": \"2018-11-13T06:04:00Z\", \"custom_virtualenv\": "
    "\"my_venv\", \"description\": \"Sample job description\", \"diff_mode\": false, "
    "\"elapsed\": 0.403018, \"execution_node\": \"awx\", \"failed\": false, \"finished\": "
    "false, \"force_handlers\": false, \"forks\": 0, \"host_status_counts\": {\"skipped\": 1, "
    "\"ok\": 5, \"changed\": 3, \"failures\": 0, \"dark\": 0, \"failed\": false, "
    "\"processed\": 0, \"rescued\": 0}, \"id\": 42, \"job_explanation\": \"Sample job "
    "explanation\", \"job_slice_count\": 1, \"job_slice_number\": 0, \"job_tags\": \"\", "
    "\"job_type\": \"run\", \"launch_type\": \"workflow\", \"limit\": \"bar_limit\", "
    "\"modified\": \"2018-12-13T06:04:00Z\", \"name\": \"Stub JobTemplate\", \"playbook\": "
    "\"ping.yml\", \"scm_branch\": \"\", \"scm_revision\": \"\", \"skip_tags\": \"\", "
    "\"start_at_task\": \"\", \"started\": \"2019-07-29T17:38:14.137461Z\", \"status\": "
    "\"running\", \"summary_fields\": {\"created_by\": {\"first_name\": \"\", \"id\": 1, "
    "\"last_name\": \"\", \"username\": \"admin\"}, \"instance_group\": {\"id\": 1, \"name\": "
    "\"tower\"}, \"inventory\": {\"description\": \"Sample inventory description\", "
    "\"has_active_failures\": false, \"has_inventory_sources\": false, "
    "\"hosts_with_active_failures\": 0, \"id\": 17, \"inventory_sources_with_failures\": 0, "
    "\"kind\": \"\", \"name\": \"Stub Inventory\", \"organization_id\": 121, "
    "\"total_groups\": 0, \"total_hosts\": 1, \"total_inventory_sources\": 0}, "
    "\"job_template\": {\"description\": \"Sample job template description\", \"id\": 39, "
    "\"name\": \"Stub JobTemplate\"}, \"labels\": {\"count\": 0, \"results\": []}, "
    "\"project\": {\"description\": \"Sample project description\", \"id\": 38, \"name\": "
    "\"Stub project\", \"scm_type\": \"git\", \"status\": \"successful\"}, \"schedule\": "
    "{\"description\": \"Sample schedule\", \"id\": 42, \"name\": \"Stub schedule\", "
    "\"next_run\": \"2038-01-01T00:00:00Z\"}, \"unified_job_template\": {\"description\": "
    "\"Sample unified job template description\", \"id\": 39, \"name\": \"Stub Job "
    "Template\", \"unified_job_type\": \"job\"}}, \"timeout\": 0, \"type\": \"job\", \"url\": "
    "\"/api/v2/jobs/13/\", \"use_fact_cache\": false, \"verbosity\": 0}, "
    "\"job_friendly_name\": \"Job\", \"url\": \"https://towerhost/#/jobs/playbook/1010\", "
    "\"approval_status\": \"approved\", \"approval_node_name\": \"Approve Me\", "
    "\"workflow_url\": \"https://towerhost/#/jobs/workflow/1010\", \"job_metadata\": "
    "\"{\\\"url\\\": \\\"https://towerhost/$/jobs/playbook/13\\\", \\\"status\\\": "
    "\\\"running\\\", \\\"id\\\": 42, \\\"name\\\": \\\"Stub Job Template\\\"}\"}";

json_t *notify_context_stub(void)
{
	json_t *c = json_loads(stub_text, 0, NULL);
	return c ? c : json_object();
}

void notify_default_messages(const char *type, const char **message, const char **body)
{
	static const char msg[] =
	    "{{ job_friendly_name }} #{{ job.id }} '{{ job.name }}' {{ job.status }}: {{ url }}";
	static const char email_body[] =
	    "{{ job_friendly_name }} #{{ job.id }} had status {{ job.status }}, view details at "
	    "{{ url }}\n\n{{ job_metadata }}";
	*message = msg;
	*body = NULL;
	if (type && !strcmp(type, "email"))
		*body = email_body;
	else if (type && !strcmp(type, "webhook"))
		*body = "{{ job_metadata }}";
}
