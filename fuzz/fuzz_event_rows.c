/*
 * fuzz_event_rows.c - the callback receiver's event-row reader
 * (service/store/event_rows.c) and the tree-less field reader under it
 * (service/store/evscan.c): each event's JSON text, as the bus carries it
 * from a worker, becomes a row of the store.
 *
 * Input: one event's text. store_event_batch_add() takes it or refuses it
 * with a message; a taken row's strings lie inside the batch and its text is
 * the input. For a taken text without backslashes, evscan's view of the
 * top level must agree with jansson's: every key found, integers and
 * strings equal. The batch is kept across inputs and reset now and then, as
 * the receiver does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event_rows.h"
#include "evscan.h"

static void die(const char *why, const char *detail)
{
	fprintf(stderr, "fuzz_event_rows: %s %s\n", why, detail ? detail : "");
	abort();
}

static store_event_batch batch;
static int batch_ready;

static void str_ok(store_str s, const char *name)
{
	if (s.n && !s.p)
		die("a string of a row without bytes:", name);
	if (s.n)
		(void)memchr(s.p, 0, s.n); /* touch every byte (ASan checks) */
}

static void agree_with_jansson(const char *text, size_t len)
{
	json_t *j = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
	if (!json_is_object(j))
		die("a taken event that jansson does not read as an object", NULL);
	evs_span obj = {text, len};
	/* skip leading whitespace the way the receiver's texts may have it */
	while (obj.n && (*obj.p == ' ' || *obj.p == '\n' || *obj.p == '\r' || *obj.p == '\t'))
		obj.p++, obj.n--;
	while (obj.n && (obj.p[obj.n - 1] == ' ' || obj.p[obj.n - 1] == '\n' ||
	                 obj.p[obj.n - 1] == '\r' || obj.p[obj.n - 1] == '\t'))
		obj.n--;
	rn_buf scratch;
	rn_buf_init(&scratch);
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v) {
		evs_span s = evs_get(obj, key);
		if (!s.p)
			die("evs_get misses a key:", key);
		long long n;
		if (json_is_integer(v) && (!evs_integer(s, &n) || n != json_integer_value(v)))
			die("evs_integer differs from jansson for", key);
		if (json_is_string(v)) {
			size_t sl;
			const char *sv = evs_string(s, &scratch, &sl);
			if (!sv || sl != json_string_length(v) ||
			    memcmp(sv, json_string_value(v), sl))
				die("evs_string differs from jansson for", key);
		}
		if (json_is_object(v)) {
			evs_iter it;
			const char *k;
			size_t kl;
			evs_span m;
			size_t count = 0;
			if (!evs_begin(&it, s))
				die("evs_begin refuses an object:", key);
			while (evs_next(&it, &k, &kl, &m))
				count++;
			if (count < json_object_size(v))
				die("evs_next hands out fewer members than the object has:", key);
		}
	}
	rn_buf_free(&scratch);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!batch_ready) {
		store_event_batch_init(&batch);
		batch_ready = 1;
	}
	size_t before = batch.n;
	runnel_error err = {0};
	if (!store_event_batch_add(&batch, (const char *)data, size, &err)) {
		if (!err.message[0])
			die("a refused event without a message", NULL);
		if (batch.n != before)
			die("a refused event changed the batch", NULL);
	} else {
		if (batch.n != before + 1)
			die("a taken event did not add one row", NULL);
		const store_event_row *r = &batch.rows[batch.n - 1];
		if (r->text.n != size || memcmp(r->text.p, data, size) != 0)
			die("the row's text is not the event's", NULL);
		str_ok(r->event, "event");
		str_ok(r->uuid, "uuid");
		str_ok(r->parent_uuid, "parent_uuid");
		str_ok(r->host_name, "host_name");
		str_ok(r->playbook, "playbook");
		str_ok(r->play, "play");
		str_ok(r->role, "role");
		str_ok(r->task, "task");
		str_ok(r->stdout, "stdout");
		str_ok(r->created, "created");
		str_ok(r->job_created, "job_created");
		str_ok(r->event_data, "event_data");
		if (!r->event_data.n)
			die("a row without event_data text", NULL);
		if (!memchr(data, '\\', size))
			agree_with_jansson((const char *)data, size);
	}
	/* the rows of earlier inputs must still be intact */
	for (size_t i = 0; i < batch.n; i++)
		str_ok(batch.rows[i].stdout, "stdout (earlier row)");
	if (batch.n >= 64)
		store_event_batch_reset(&batch);
	return 0;
}
