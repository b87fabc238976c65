/* event_rows.c - events' JSON texts read into store rows (event_rows.h). */
#include "event_rows.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event_derive.h"
#include "evscan.h"
#include "jscan.h"
#include "model.h"

/* A block of the batch's memory; texts and decoded strings are carved from
 * it and never move. */
struct batch_block {
	batch_block *next;
	size_t used, cap;
	char data[];
};

#define BLOCK_BYTES (512 * 1024)

void store_event_batch_init(store_event_batch *b)
{
	memset(b, 0, sizeof *b);
	rn_buf_init(&b->scratch);
}

void store_event_batch_reset(store_event_batch *b)
{
	/* keep one ordinary block for the next batch, free the rest */
	batch_block *keep = NULL;
	for (batch_block *k = b->blocks, *next; k; k = next) {
		next = k->next;
		if (!keep && k->cap == BLOCK_BYTES) {
			keep = k;
			continue;
		}
		free(k);
	}
	if (keep) {
		keep->used = 0;
		keep->next = NULL;
	}
	b->blocks = keep;
	b->n = 0;
	b->bytes = 0;
}

void store_event_batch_free(store_event_batch *b)
{
	store_event_batch_reset(b);
	free(b->blocks);
	free(b->rows);
	rn_buf_free(&b->scratch);
	memset(b, 0, sizeof *b);
}

/* n bytes of the batch's memory. */
static char *batch_alloc(store_event_batch *b, size_t n)
{
	batch_block *k = b->blocks;
	if (!k || k->cap - k->used < n) {
		size_t cap = n > BLOCK_BYTES ? n : BLOCK_BYTES;
		k = rn_xmalloc(sizeof *k + cap);
		k->cap = cap;
		k->used = 0;
		k->next = b->blocks;
		b->blocks = k;
	}
	char *p = k->data + k->used;
	k->used += n;
	return p;
}

/* The fields a row takes: top-level keys, then event_data's. */
enum {
	TK_EVENT,
	TK_COUNTER,
	TK_UUID,
	TK_PARENT_UUID,
	TK_HOST_ID,
	TK_HOST_NAME,
	TK_PLAYBOOK,
	TK_PLAY,
	TK_ROLE,
	TK_TASK,
	TK_STDOUT,
	TK_START_LINE,
	TK_END_LINE,
	TK_VERBOSITY,
	TK_CREATED,
	TK_JOB_CREATED,
	TK_EVENT_DATA,
	TK_JOB_ID,
	TK_PROJECT_UPDATE_ID,
	TK_INVENTORY_UPDATE_ID,
	TK_AD_HOC_COMMAND_ID,
	TK_SYSTEM_JOB_ID,
	TK_COUNT
};
static const char *const top_keys[TK_COUNT] = {"event",
                                               "counter",
                                               "uuid",
                                               "parent_uuid",
                                               "host_id",
                                               "host_name",
                                               "playbook",
                                               "play",
                                               "role",
                                               "task",
                                               "stdout",
                                               "start_line",
                                               "end_line",
                                               "verbosity",
                                               "created",
                                               "job_created",
                                               "event_data",
                                               "job_id",
                                               "project_update_id",
                                               "inventory_update_id",
                                               "ad_hoc_command_id",
                                               "system_job_id"};
enum {
	DK_PARENT_UUID,
	DK_HOST_NAME,
	DK_HOST,
	DK_PLAYBOOK,
	DK_PLAY,
	DK_ROLE,
	DK_TASK,
	DK_IGNORE_ERRORS,
	DK_RES,
	DK_COUNT
};
static const char *const data_keys[DK_COUNT] = {
    "parent_uuid", "host_name", "host", "playbook", "play", "role", "task", "ignore_errors", "res"};

/* What the walk over one text found. */
typedef struct found {
	evs_span top[TK_COUNT], data[DK_COUNT];
	bool top_escaped[TK_COUNT], data_escaped[DK_COUNT];
	bool data_done; /* an event_data member was complete (a later one replaces it) */
} found;

/* The index of key in keys (plain keys only), or -1. */
static int key_index(const char *const *keys, int nkeys, const rn_jmember *m)
{
	if (m->key_escaped || !m->key_len)
		return -1;
	for (int i = 0; i < nkeys; i++)
		if (keys[i][0] == m->key[0] && strlen(keys[i]) == m->key_len &&
		    !memcmp(keys[i], m->key, m->key_len))
			return i;
	return -1;
}

/* rn_jscan_walk's visitor: note the members a row needs (the last of a
 * repeated key wins, as jansson keeps). */
static void on_member(const rn_jmember *m, void *ud)
{
	found *f = ud;
	if (!m->parent) {
		int i = key_index(top_keys, TK_COUNT, m);
		if (i < 0)
			return;
		f->top[i] = (evs_span){m->value, m->value_len};
		f->top_escaped[i] = m->value_escaped;
		if (i == TK_EVENT_DATA)
			f->data_done = true;
		return;
	}
	const rn_jmember *p = m->parent;
	if (p->key_escaped || p->key_len != 10 || memcmp(p->key, "event_data", 10))
		return;
	if (f->data_done) {
		/* a second event_data: its members replace the first's */
		memset(f->data, 0, sizeof f->data);
		f->data_done = false;
	}
	int i = key_index(data_keys, DK_COUNT, m);
	if (i >= 0) {
		f->data[i] = (evs_span){m->value, m->value_len};
		f->data_escaped[i] = m->value_escaped;
	}
}

/* A string value's bytes: in place when plain, else decoded into the batch. */
static store_str str_of(store_event_batch *b, evs_span v, bool escaped)
{
	if (!evs_is_string(v))
		return (store_str){"", 0};
	if (!escaped)
		return (store_str){v.p + 1, v.n - 2};
	rn_buf_reset(&b->scratch);
	rn_json_unquote(&b->scratch, v.p, v.n);
	char *p = batch_alloc(b, b->scratch.len + 1);
	memcpy(p, b->scratch.data, b->scratch.len);
	p[b->scratch.len] = 0;
	return (store_str){p, b->scratch.len};
}

/* The top-level string, else event_data's. */
static store_str field(store_event_batch *b, const found *f, int tk, int dk)
{
	if (evs_is_string(f->top[tk]) || dk < 0)
		return str_of(b, f->top[tk], f->top_escaped[tk]);
	return str_of(b, f->data[dk], f->data_escaped[dk]);
}

/* True if the text holds a \u0000 escape (a backslash that is itself escaped
 * does not start one). */
static bool has_nul_escape(const char *p, size_t n)
{
	const char *end = p + n;
	while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL) {
		if (end - p >= 6 && !memcmp(p + 1, "u0000", 5))
			return true;
		p += 2;
		if (p >= end)
			break;
	}
	return false;
}

static long long int_or_zero(evs_span v)
{
	long long x;
	return evs_integer(v, &x) ? x : 0;
}

bool store_event_batch_add(store_event_batch *b, const char *text, size_t len, runnel_error *err)
{
	char *copy = batch_alloc(b, len + 1);
	memcpy(copy, text, len);
	copy[len] = 0;
	found f;
	memset(&f, 0, sizeof f);
	if (!rn_jscan_walk(copy, len, on_member, &f))
		return rn_fail(err, EINVAL, "event: not a JSON object"), false;
	if (!evs_is_object(f.top[TK_EVENT_DATA]))
		memset(f.data, 0, sizeof f.data);
	store_event_row r;
	memset(&r, 0, sizeof r);
	for (int k = TK_JOB_ID; k <= TK_SYSTEM_JOB_ID && !r.job_id; k++)
		if (!evs_integer(f.top[k], &r.job_id))
			r.job_id = 0;
	if (!r.job_id || !evs_integer(f.top[TK_COUNTER], &r.counter))
		return rn_fail(err, EINVAL, "event: no job id or counter"), false;
	r.text = (store_str){copy, len};
	r.event = field(b, &f, TK_EVENT, -1);
	r.needs_tree = event_is_stats(r.event.p, r.event.n) || has_nul_escape(copy, len);
	evs_span data = f.top[TK_EVENT_DATA];
	r.event_data = evs_is_object(data) ? (store_str){data.p, data.n} : (store_str){"{}", 2};
	/* event names are plain short strings; model_event_is_failure takes a C string */
	char name[64];
	snprintf(name, sizeof name, "%.*s", (int)(r.event.n < 63 ? r.event.n : 63), r.event.p);
	r.failed = event_derive_failed(name, evs_is_true(f.data[DK_IGNORE_ERRORS]));
	r.changed = evs_is_true(evs_get(f.data[DK_RES], "changed"));
	r.uuid = field(b, &f, TK_UUID, -1);
	r.parent_uuid = field(b, &f, TK_PARENT_UUID, DK_PARENT_UUID);
	r.host_id = int_or_zero(f.top[TK_HOST_ID]);
	r.host_name = field(b, &f, TK_HOST_NAME, DK_HOST_NAME);
	if (!r.host_name.n)
		r.host_name = str_of(b, f.data[DK_HOST], f.data_escaped[DK_HOST]);
	r.playbook = field(b, &f, TK_PLAYBOOK, DK_PLAYBOOK);
	r.play = field(b, &f, TK_PLAY, DK_PLAY);
	r.role = field(b, &f, TK_ROLE, DK_ROLE);
	r.task = field(b, &f, TK_TASK, DK_TASK);
	r.stdout = field(b, &f, TK_STDOUT, -1);
	r.start_line = int_or_zero(f.top[TK_START_LINE]);
	r.end_line = int_or_zero(f.top[TK_END_LINE]);
	r.verbosity = int_or_zero(f.top[TK_VERBOSITY]);
	store_str c = field(b, &f, TK_CREATED, -1);
	bool zoned = memchr(c.p, 'Z', c.n) || (c.n > 10 && memchr(c.p + 10, '+', c.n - 10));
	if (c.n && c.n < 40 && !zoned) {
		char *z = batch_alloc(b, c.n + 2);
		memcpy(z, c.p, c.n);
		z[c.n] = 'Z';
		z[c.n + 1] = 0;
		c = (store_str){z, c.n + 1};
	}
	r.created = c;
	r.job_created = field(b, &f, TK_JOB_CREATED, -1);
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->rows = rn_xrealloc(b->rows, sizeof *b->rows * b->cap);
	}
	b->rows[b->n++] = r;
	b->bytes += len;
	return true;
}

/* ------------------------------------------------------------------ */
/* rows from trees                                                      */

/* A string field of an event (top level, else event_data), "" if none. */
static const char *ev_str(const json_t *ev, const json_t *data, const char *key)
{
	const char *v = json_string_value(json_object_get(ev, key));
	if (!v)
		v = json_string_value(json_object_get(data, key));
	return v ? v : "";
}

/* A copy of s (length n) without NUL bytes. Caller frees. */
static char *strip_nul(const char *s, size_t n)
{
	char *o = rn_xmalloc(n + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (s[i])
			o[j++] = s[i];
	o[j] = 0;
	return o;
}

/* Remove every "\u0000" escape from dumped JSON text in place. */
static void strip_nul_escapes(char *t)
{
	char *w = t;
	for (char *r = t; *r;) {
		if (r[0] == '\\' && r[1] == '\\') {
			*w++ = *r++;
			*w++ = *r++;
		} else if (!strncmp(r, "\\u0000", 6)) {
			r += 6;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
}

/* A C string as a row's string. */
static store_str cstr(const char *p)
{
	return (store_str){p, strlen(p)};
}

int store_tree_row_init(store_tree_row *t, const json_t *ev, const char *now, runnel_error *err)
{
	memset(t, 0, sizeof *t);
	long job_id = model_event_job_id(ev);
	json_t *ctr = json_object_get(ev, "counter");
	if (!job_id || !json_is_integer(ctr))
		return rn_fail(err, EINVAL, "event: no job id or counter");
	const char *event = ev_str(ev, NULL, "event");
	json_t *data = json_object_get(ev, "event_data");
	if (!json_is_object(data))
		data = NULL;
	t->event_data = data;
	bool failed, changed;
	event_derive_flags(event, data, &failed, &changed);
	t->event_data_text = data ? json_dumps(data, JSON_COMPACT) : rn_xstrdup("{}");
	strip_nul_escapes(t->event_data_text);
	json_t *so = json_object_get(ev, "stdout");
	t->stdout_text = json_is_string(so)
	                     ? strip_nul(json_string_value(so), json_string_length(so))
	                     : rn_xstrdup("");
	const char *host_name = ev_str(ev, data, "host_name");
	if (!*host_name)
		host_name = ev_str(NULL, data, "host");
	const char *created = ev_str(ev, NULL, "created");
	if (*created && !strchr(created, 'Z') && !strchr(created + 10, '+'))
		snprintf(t->created, sizeof t->created, "%sZ", created);
	else
		snprintf(t->created, sizeof t->created, "%s", *created ? created : now);
	json_t *hid = json_object_get(ev, "host_id");
	t->row = (store_event_row){
	    .job_id = job_id,
	    .counter = json_integer_value(ctr),
	    .event = cstr(event),
	    .event_data = cstr(t->event_data_text),
	    .failed = failed,
	    .changed = changed,
	    .uuid = cstr(ev_str(ev, NULL, "uuid")),
	    .parent_uuid = cstr(ev_str(ev, data, "parent_uuid")),
	    .host_id = json_is_integer(hid) ? json_integer_value(hid) : 0,
	    .host_name = cstr(host_name),
	    .playbook = cstr(ev_str(ev, data, "playbook")),
	    .play = cstr(ev_str(ev, data, "play")),
	    .role = cstr(ev_str(ev, data, "role")),
	    .task = cstr(ev_str(ev, data, "task")),
	    .stdout = cstr(t->stdout_text),
	    .start_line = json_integer_value(json_object_get(ev, "start_line")),
	    .end_line = json_integer_value(json_object_get(ev, "end_line")),
	    .verbosity = json_integer_value(json_object_get(ev, "verbosity")),
	    .created = cstr(t->created),
	    .job_created = cstr(ev_str(ev, NULL, "job_created")),
	};
	return 0;
}

void store_tree_row_free(store_tree_row *t)
{
	free(t->event_data_text);
	free(t->stdout_text);
	t->event_data_text = t->stdout_text = NULL;
}
