/*
 * event.c - complete, hand out and store each decoded event (see event.h).
 */
#include "event.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datafile.h"
#include "jscan.h"
#include "writer.h"

/* jansson dump callback appending to an rn_buf. */
static int dump_to_buf(const char *p, size_t n, void *data)
{
	rn_buf_append(data, p, n);
	return 0;
}

int rn_sink_open(rn_sink *s, const runnel_config *cfg, const rn_plan *plan, runnel_error *err)
{
	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	s->plan = plan;
	s->stdout_fd = -1;
	s->events_dir = rn_path_join(plan->artifact_dir, "job_events");
	s->events_fd = open(s->events_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->events_fd < 0) {
		rn_fail(err, errno, "cannot open %s: %s", s->events_dir, strerror(errno));
		free(s->events_dir);
		s->events_dir = NULL;
		return -1;
	}
	s->last_event = rn_now();
	s->writer = rn_writer_start(s->events_fd, s->events_dir);
	if (plan->suppress_output_file)
		return 0;
	char *out = rn_path_join(plan->artifact_dir, "stdout");
	char *errp = rn_path_join(plan->artifact_dir, "stderr");
	s->stdout_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int efd = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int e = errno;
	if (efd >= 0)
		close(efd);
	int rc = 0;
	if (s->stdout_fd < 0 || efd < 0)
		rc = rn_fail(err, e, "cannot create %s: %s", s->stdout_fd < 0 ? out : errp,
		             strerror(e));
	free(out);
	free(errp);
	return rc;
}

/* Merge upstream's partial file for events whose begin marker carried only a
 * uuid (ansible-runner's own plugin); runnel's plugin sends events in-band. */
static void merge_partial(rn_sink *s, json_t *event, const char *uuid)
{
	char *path = rn_xasprintf("%s/%s-partial.json", s->events_dir, uuid);
	json_error_t je;
	json_t *partial = json_load_file(path, 0, &je);
	if (partial) {
		if (json_is_object(partial))
			json_object_update(event, partial);
		json_decref(partial);
		unlink(path);
	}
	free(path);
}

/* Format "<counter>-<uuid>.json" into name without printf: this runs once
 * per event. Returns the length, or 0 if too long. */
static size_t event_file_name(char *name, size_t size, long counter, const char *uuid)
{
	char digits[24];
	size_t nd = 0;
	unsigned long c = counter < 0 ? 0 : (unsigned long)counter;
	do
		digits[nd++] = (char)('0' + c % 10);
	while ((c /= 10) != 0);
	size_t ul = strlen(uuid), need = nd + 1 + ul + 5;
	if (need + 1 > size)
		return 0;
	size_t o = 0;
	while (nd)
		name[o++] = digits[--nd];
	name[o++] = '-';
	memcpy(name + o, uuid, ul);
	o += ul;
	memcpy(name + o, ".json", 6);
	return need;
}

/* Write job_events/<counter>-<uuid>.json: through the writer thread when
 * there is one, else now (tmp + rename, mode 0600, names relative to the
 * open job_events dir). */
static void write_event_file(rn_sink *s, const char *text, size_t len, const char *uuid,
                             long counter)
{
	char name[512];
	if (strchr(uuid, '/') || !event_file_name(name, sizeof name, counter, uuid))
		return;
	if (s->writer)
		rn_writer_put(s->writer, name, text, len);
	else
		rn_write_event_file(s->events_fd, s->events_dir, name, text, len);
}

/* Queue text for the console and the stdout artifact. */
static void emit_text(rn_sink *s, const char *text, size_t len)
{
	if (!s->plan->suppress_ansible_output)
		rn_buf_append(&s->console, text, len);
	if (s->stdout_fd >= 0)
		rn_buf_append(&s->file, text, len);
	if (s->console.len + s->file.len > (1u << 20))
		rn_sink_flush(s);
}

/* Append `, "key": ` to an event text being built. */
static void add_key(rn_buf *b, const char *key)
{
	rn_buf_append(b, ", \"", 3);
	rn_buf_append(b, key, strlen(key));
	rn_buf_append(b, "\": ", 3);
}

/* Append a decimal number (no printf: three of these run per event). */
static void add_long(rn_buf *b, long v)
{
	char num[24];
	size_t i = sizeof num;
	unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
	do
		num[--i] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		num[--i] = '-';
	rn_buf_append(b, num + i, sizeof num - i);
}

/* Copy a NUL-terminated uuid into an event's fixed buffer, cut to fit. */
static void set_uuid(runnel_event *ev, const char *uuid)
{
	size_t n = strlen(uuid);
	if (n > sizeof ev->uuid - 1)
		n = sizeof ev->uuid - 1;
	memcpy(ev->uuid, uuid, n);
	ev->uuid[n] = '\0';
}

/* The fields the runner adds to every event, in upstream's order. */
static void add_runner_fields(rn_sink *s, rn_buf *b, const rn_chunk *c, bool created)
{
	add_key(b, "counter");
	add_long(b, c->counter);
	add_key(b, "stdout");
	rn_json_quote(b, c->stdout_text, c->stdout_len);
	add_key(b, "start_line");
	add_long(b, c->start_line);
	add_key(b, "end_line");
	add_long(b, c->end_line);
	add_key(b, "runner_ident");
	rn_json_quote(b, s->plan->ident, strlen(s->plan->ident));
	if (created) {
		rn_utc_isoformat(s->created);
		add_key(b, "created");
		rn_json_quote(b, s->created, strlen(s->created));
	}
}

/* The slow path: the event as an object (upstream's uuid-only markers, or a
 * payload holding keys the runner sets). */
static void build_parsed(rn_sink *s, runnel_event *ev, const rn_chunk *c)
{
	json_t *obj = json_loadb(c->payload, c->payload_len, JSON_ALLOW_NUL, NULL);
	if (!json_is_object(obj)) { /* cannot happen: jscan checked it */
		json_decref(obj);
		obj = json_object();
	}
	json_object_set_new(obj, "counter", json_integer(c->counter));
	json_object_set_new(obj, "stdout", json_stringn_nocheck(c->stdout_text, c->stdout_len));
	json_object_set_new(obj, "start_line", json_integer(c->start_line));
	json_object_set_new(obj, "end_line", json_integer(c->end_line));
	json_object_set_new(obj, "runner_ident", json_string(s->plan->ident));
	if (!json_object_get(obj, "event"))
		merge_partial(s, obj, c->uuid);
	if (!json_object_get(obj, "created")) {
		rn_utc_isoformat(s->created);
		json_object_set_new(obj, "created", json_string(s->created));
	}
	rn_event_from_object(ev, obj, NULL, 0);
	json_decref(obj);
	const char *uuid = json_string_value(json_object_get(obj, "uuid"));
	set_uuid(ev, uuid ? uuid : c->uuid);
	ev->counter = c->counter;
}

/* Make the event of a decoded chunk, as text where possible (built in the
 * event's own buffer: rn_event_from_text does not copy it then). */
static void build_event(rn_sink *s, const rn_chunk *c)
{
	runnel_event *ev = &s->event;
	rn_buf *b = &ev->text;
	rn_buf_reset(b);
	if (c->verbose) {
		static const char head[] = "{\"event\": \"verbose\", \"uuid\": ";
		rn_buf_append(b, head, sizeof head - 1);
		rn_json_quote(b, c->uuid, strlen(c->uuid));
		add_runner_fields(s, b, c, true);
		rn_buf_appendc(b, '}');
		rn_event_from_text(ev, b->data, b->len, c->counter, c->uuid);
		return;
	}
	const unsigned runner_keys = RN_KEY_COUNTER | RN_KEY_STDOUT | RN_KEY_START_LINE |
	                             RN_KEY_END_LINE | RN_KEY_RUNNER_IDENT | RN_KEY_OTHER_ESCAPED;
	if (!(c->scan->keys & RN_KEY_EVENT) || (c->scan->keys & runner_keys)) {
		build_parsed(s, ev, c);
		return;
	}
	/* the payload without its closing brace, then the runner's fields */
	size_t n = c->payload_len;
	while (n && c->payload[n - 1] != '}')
		n--;
	rn_buf_append(b, c->payload, n - 1);
	add_runner_fields(s, b, c, !(c->scan->keys & RN_KEY_CREATED));
	rn_buf_appendc(b, '}');
	rn_event_from_text(ev, b->data, b->len, c->counter, c->uuid);
}

int rn_sink_chunk(void *userdata, const rn_chunk *c)
{
	rn_sink *s = userdata;
	s->last_event = rn_now();
	build_event(s, c);
	runnel_event *ev = &s->event;
	bool write = true;
	if (s->cfg->event_handler)
		write = s->cfg->event_handler(ev, s->cfg->userdata);
	s->emitted++;
	size_t len;
	const char *text = NULL;
	if (write) {
		text = runnel_event_json(ev, &len);
		write_event_file(s, text, len, ev->uuid, ev->counter);
	}
	if (c->console_is_raw || !s->plan->json_mode) {
		emit_text(s, c->console, c->console_len);
	} else {
		if (!text)
			text = runnel_event_json(ev, &len);
		emit_text(s, text, len);
		emit_text(s, "\n", 1);
	}
	return 0;
}

void rn_sink_flush(rn_sink *s)
{
	if (s->console.len) {
		/* a console nobody reads any more (EPIPE) is not an error: the
		 * artifacts still get everything */
		(void)rn_write_all(1, s->console.data, s->console.len);
		rn_buf_reset(&s->console);
	}
	if (s->file.len) {
		if (rn_write_all(s->stdout_fd, s->file.data, s->file.len) != 0)
			fprintf(stderr, "runnel: cannot write the stdout artifact: %s\n",
			        strerror(errno));
		rn_buf_reset(&s->file);
	}
	rn_writer_kick(s->writer);
}

void rn_sink_close(rn_sink *s)
{
	rn_writer_finish(s->writer);
	s->writer = NULL;
	rn_sink_flush(s);
	if (s->stdout_fd >= 0)
		close(s->stdout_fd);
	s->stdout_fd = -1;
	free(s->events_dir);
	if (s->events_fd >= 0)
		close(s->events_fd);
	s->events_fd = -1;
	rn_buf_free(&s->console);
	rn_buf_free(&s->file);
	rn_event_clear(&s->event);
}

void rn_event_from_text(runnel_event *ev, const char *text, size_t len, long counter,
                        const char *uuid)
{
	json_decref(ev->obj);
	ev->obj = NULL;
	ev->text_stale = false;
	if (ev->text.data != text) {
		rn_buf_reset(&ev->text);
		rn_buf_append(&ev->text, text, len);
	}
	ev->counter = counter;
	set_uuid(ev, uuid);
	ev->type = NULL;
	ev->type_known = false;
}

void rn_event_from_object(runnel_event *ev, json_t *obj, const char *text, size_t len)
{
	json_decref(ev->obj);
	ev->obj = json_incref(obj);
	rn_buf_reset(&ev->text);
	ev->text_stale = text == NULL;
	if (text)
		rn_buf_append(&ev->text, text, len);
	json_t *c = json_object_get(obj, "counter");
	ev->counter = json_is_integer(c) ? (long)json_integer_value(c) : 0;
	const char *u = json_string_value(json_object_get(obj, "uuid"));
	set_uuid(ev, u ? u : "");
	ev->type = NULL;
	ev->type_known = false;
}

void rn_event_clear(runnel_event *ev)
{
	json_decref(ev->obj);
	rn_buf_free(&ev->text);
	memset(ev, 0, sizeof *ev);
}

const char *runnel_event_json(runnel_event *ev, size_t *len)
{
	if (ev->text_stale && ev->obj) {
		rn_buf_reset(&ev->text);
		json_dump_callback(ev->obj, dump_to_buf, &ev->text, JSON_ENSURE_ASCII);
		ev->text_stale = false;
	}
	if (!ev->text.data)
		rn_buf_append(&ev->text, "", 0);
	if (len)
		*len = ev->text.len;
	return ev->text.data;
}

json_t *runnel_event_object(runnel_event *ev)
{
	if (!ev->obj) {
		ev->obj = json_loadb(ev->text.data, ev->text.len, JSON_ALLOW_NUL, NULL);
		if (!ev->obj)
			ev->obj = json_object();
	}
	/* the caller may change it: the text is made again from the object */
	ev->text_stale = true;
	ev->type_known = false;
	return ev->obj;
}

void runnel_event_set(runnel_event *ev, const char *key, json_t *value)
{
	if (!ev->obj && !rn_jscan_has_key(ev->text.data, ev->text.len, key)) {
		/* splice `, "key": value` in before the closing brace */
		char *v = json_dumps(value, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
		json_decref(value);
		if (!v)
			return;
		size_t n = ev->text.len;
		while (n && ev->text.data[n - 1] != '}')
			n--;
		if (!n) {
			free(v);
			return;
		}
		ev->text.len = n - 1;
		bool empty = false;
		for (size_t i = ev->text.len; i > 0; i--) {
			char ch = ev->text.data[i - 1];
			if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r')
				continue;
			empty = ch == '{';
			break;
		}
		rn_buf_append(&ev->text, empty ? "\"" : ", \"", empty ? 1 : 3);
		rn_buf_append(&ev->text, key, strlen(key));
		rn_buf_append(&ev->text, "\": ", 3);
		rn_buf_append(&ev->text, v, strlen(v));
		rn_buf_appendc(&ev->text, '}');
		free(v);
		ev->type_known = false;
		return;
	}
	json_object_set_new(runnel_event_object(ev), key, value);
}

long runnel_event_counter(const runnel_event *ev)
{
	return ev->counter;
}

const char *runnel_event_uuid(const runnel_event *ev)
{
	return ev->uuid;
}

const char *runnel_event_type(runnel_event *ev)
{
	if (ev->type_known)
		return ev->type;
	ev->type_known = true;
	ev->type = NULL;
	if (ev->obj) {
		ev->type = json_string_value(json_object_get(ev->obj, "event"));
		return ev->type;
	}
	rn_jscan scan;
	if (ev->text.data && rn_jscan_object(ev->text.data, ev->text.len, &scan) && scan.event) {
		/* terminate the type in a copy kept with the event */
		size_t n = scan.event_len < sizeof ev->type_buf - 1 ? scan.event_len
		                                                    : sizeof ev->type_buf - 1;
		memcpy(ev->type_buf, scan.event, n);
		ev->type_buf[n] = '\0';
		ev->type = ev->type_buf;
	}
	return ev->type;
}

int rn_event_write_complete(const char *events_dir, json_t *event, rn_buf *scratch)
{
	const char *uuid = json_string_value(json_object_get(event, "uuid"));
	json_t *c = json_object_get(event, "counter");
	char counter[64];
	if (json_is_integer(c))
		snprintf(counter, sizeof counter, "%lld", (long long)json_integer_value(c));
	else if (json_is_string(c) && json_string_length(c) < sizeof counter &&
	         !strchr(json_string_value(c), '/'))
		snprintf(counter, sizeof counter, "%s", json_string_value(c));
	else
		uuid = NULL;
	if (!uuid || !*uuid || strchr(uuid, '/')) {
		errno = EINVAL;
		return -1;
	}
	char *path = rn_xasprintf("%s/%s-%s.json", events_dir, counter, uuid);
	char *tmp = rn_xasprintf("%s.tmp", path);
	rn_buf_reset(scratch);
	json_dump_callback(event, dump_to_buf, scratch, JSON_ENSURE_ASCII);
	int rc = -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		int bad = rn_write_all(fd, scratch->data, scratch->len);
		int e = errno;
		close(fd);
		if (!bad && rename(tmp, path) == 0)
			rc = 0;
		else
			errno = bad ? e : errno;
		if (rc != 0)
			unlink(tmp);
	}
	free(path);
	free(tmp);
	return rc;
}
