/*
 * fuzz_api.c - what runneld takes from a request: the JSON body and the query
 * arguments, through the API's shared handlers (service/api/util.c: body
 * checks, list filters, paging links, create and update) into the store's
 * validation (model_validate: types, vars as JSON or YAML) and its filter and
 * ordering parser (service/store/query.c, then sqlite_query.c), which turns
 * ?name__icontains=...&id__in=...&order_by=... into SQL.
 *
 * Input: byte 0 picks the kind, byte 1 what to do (list, list events, list
 * host summaries, create, update); then the query string up to the first
 * newline (decoded as libmicrohttpd does: & and =, %XX, + for space); the
 * rest is the body, parsed as http.c parses it. The store is a SQLite store
 * in a scratch state dir holding one object of a few kinds; created objects
 * are removed again. Every answer must be a status with a JSON body; a 4xx
 * must say why; no 5xx.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "fuzz_common.h"
#include "model.h"
#include "store.h"

static store *st;
static long seeded[STORE_KIND_COUNT];

static void die(const char *why, const char *detail)
{
	fprintf(stderr, "fuzz_api: %s %s\n", why, detail ? detail : "");
	abort();
}

static void seed(store_kind kind, const char *fields)
{
	runnel_error err = {0};
	json_t *f = json_loads(fields, 0, NULL);
	json_t *o = store_create(st, kind, f, STORE_SYSTEM, &err);
	if (o)
		seeded[kind] = (long)json_integer_value(json_object_get(o, "id"));
	json_decref(o);
	json_decref(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char dir[600];
	snprintf(dir, sizeof dir, "%s/state", fuzz_scratch());
	mkdir(dir, 0700);
	store_settings s = {.state_dir = dir};
	runnel_error err = {0};
	st = store_open(&s, &err);
	if (!st)
		die("cannot open the store:", err.message);
	seed(STORE_ORGANIZATION, "{\"name\": \"org\"}");
	seed(STORE_INVENTORY, "{\"name\": \"inv\", \"organization\": 1}");
	seed(STORE_HOST, "{\"name\": \"h1\", \"inventory\": 1, \"variables\": \"a: 1\"}");
	seed(STORE_GROUP, "{\"name\": \"g1\", \"inventory\": 1}");
	seed(STORE_JOB, "{\"name\": \"j\", \"status\": \"successful\"}");
	return 0;
}

static int hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a query component in place (as libmicrohttpd's unescaping). */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (*p == '+') {
			*o++ = ' ';
		} else if (*p == '%' && hexv(p[1]) >= 0 && hexv(p[2]) >= 0) {
			*o++ = (char)(hexv(p[1]) * 16 + hexv(p[2]));
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* k=v&k2=v2 into an object of strings (the last of repeated names wins,
 * as http.c's collect_arg keeps) and, in order with repeats, into list. */
static json_t *parse_query(const char *q, size_t n, json_t *list)
{
	json_t *out = json_object();
	char *dup = strndup(q, n);
	char *save = NULL;
	for (char *part = strtok_r(dup, "&", &save); part; part = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(part, '=');
		const char *v = "";
		if (eq) {
			*eq = '\0';
			v = eq + 1;
		}
		char *k = strdup(part), *vv = strdup(v);
		unescape(k);
		unescape(vv);
		json_t *js =
		    json_string(vv); /* NULL when not UTF-8: MHD hands bytes, http.c the same */
		if (js && *k) {
			json_array_append_new(list, json_pack("[s,O]", k, js));
			json_object_set_new(out, k, js);
		} else {
			json_decref(js);
		}
		free(k);
		free(vv);
	}
	free(dup);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	store_kind kind = (store_kind)(data[0] % STORE_KIND_COUNT);
	int what = data[1] % 5;
	const char *text = (const char *)data + 2;
	size_t len = size - 2;
	const char *nl = memchr(text, '\n', len);
	size_t qlen = nl ? (size_t)(nl - text) : len;
	/* the server's lock around the uniqueness checks (http.c holds one) */
	static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;
	api_request rq = {0};
	rq.st = st;
	rq.write_mu = &write_mu;
	rq.method = what >= 3 ? "POST" : "GET";
	rq.path = "/api/v2/things/";
	rq.query_list = json_array(); /* in order, repeats kept: what the filters read */
	rq.query = parse_query(text, qlen, rq.query_list);
	if (nl && (size_t)(nl + 1 - text) < len) {
		json_error_t je;
		rq.body = json_loadb(nl + 1, len - qlen - 1, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
		if (!rq.body) {
			json_decref(rq.query);
			json_decref(rq.query_list);
			return 0; /* http.c answers 400 with jansson's message */
		}
	}
	api_response rs = {0};
	api_list_opts opts = {0};
	long id = 0;
	switch (what) {
	case 0:
		api_list(&rq, &rs, kind, NULL);
		break;
	case 1:
		opts.events = true;
		opts.rel_parent = seeded[STORE_JOB];
		api_list(&rq, &rs, STORE_JOB, &opts);
		break;
	case 2:
		opts.summaries = true;
		opts.rel_parent = seeded[STORE_JOB];
		api_list(&rq, &rs, STORE_JOB, &opts);
		break;
	case 3:
		/* users hash passwords (seconds each) and tokens have their own path */
		if (kind == STORE_USER || kind == STORE_TOKEN)
			break;
		api_create(&rq, &rs, kind, NULL, &id);
		if (id) {
			runnel_error err = {0};
			if (store_remove(st, kind, id, &err) < 0)
				die("cannot remove what was created:", err.message);
		}
		break;
	case 4:
		if (kind == STORE_USER || kind == STORE_TOKEN || !seeded[kind])
			break;
		api_update(&rq, &rs, kind, seeded[kind]);
		break;
	}
	if (rs.status) {
		if (rs.status >= 500) {
			char *b = rs.json ? json_dumps(rs.json, 0) : NULL;
			fprintf(stderr, "fuzz_api: status %d: %s\n", rs.status, b ? b : "");
			free(b);
			abort();
		}
		if (!rs.json)
			die("an answer without a JSON body", NULL);
		if (rs.status >= 400 && json_object_size(rs.json) == 0)
			die("an error answer that does not say why", NULL);
	}
	json_decref(rs.json);
	free(rs.text);
	free(rs.disposition);
	json_decref(rq.query);
	json_decref(rq.query_list);
	json_decref(rq.body);
	return 0;
}
