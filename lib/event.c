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

/* jansson dump callback appending to an rn_buf. */
static int dump_to_buf(const char *p, size_t n, void *data)
{
	rn_buf_append(data, p, n);
	return 0;
}

/* Serialize like Python's json.dumps(): ", " and ": " separators, ASCII only. */
static void serialize(rn_sink *s, json_t *event)
{
	rn_buf_reset(&s->json);
	json_dump_callback(event, dump_to_buf, &s->json, JSON_ENSURE_ASCII);
}

int rn_sink_open(rn_sink *s, const runnel_config *cfg, const rn_plan *plan, runnel_error *err)
{
	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	s->plan = plan;
	s->stdout_fd = -1;
	s->events_dir = rn_path_join(plan->artifact_dir, "job_events");
	s->last_event = rn_now();
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

/* Write job_events/<counter>-<uuid>.json atomically, mode 0600. */
static void write_event_file(rn_sink *s, json_t *event, const char *uuid, long counter)
{
	char path[4096], tmp[4100];
	int n = snprintf(path, sizeof path, "%s/%ld-%s.json", s->events_dir, counter, uuid);
	if (n < 0 || (size_t)n >= sizeof path || strchr(uuid, '/'))
		return;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	serialize(s, event);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "runnel: cannot write %s: %s\n", tmp, strerror(errno));
		return;
	}
	int bad = rn_write_all(fd, s->json.data, s->json.len);
	close(fd);
	if (bad || rename(tmp, path) != 0) {
		fprintf(stderr, "runnel: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
	}
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

int rn_sink_chunk(void *userdata, const rn_chunk *c)
{
	rn_sink *s = userdata;
	json_t *event = c->event;
	s->last_event = rn_now();
	const char *uuid = json_string_value(json_object_get(event, "uuid"));
	if (uuid) {
		long counter = (long)json_integer_value(json_object_get(event, "counter"));
		json_object_set_new(event, "runner_ident", json_string(s->plan->ident));
		if (!json_object_get(event, "event"))
			merge_partial(s, event, uuid);
		/* merging may have replaced the uuid string */
		uuid = json_string_value(json_object_get(event, "uuid"));
		if (!json_object_get(event, "created")) {
			char now[32];
			rn_utc_isoformat(now);
			json_object_set_new(event, "created", json_string(now));
		}
		bool write = true;
		if (s->cfg->event_handler)
			write = s->cfg->event_handler(event, s->cfg->userdata);
		s->emitted++;
		if (write && uuid)
			write_event_file(s, event, uuid, counter);
	}

	if (c->console_is_raw || !s->plan->json_mode) {
		emit_text(s, c->console, c->console_len);
	} else {
		serialize(s, event);
		if (strcmp(s->json.data, "{}") != 0) {
			rn_buf_appendc(&s->json, '\n');
			emit_text(s, s->json.data, s->json.len);
		}
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
}

void rn_sink_close(rn_sink *s)
{
	rn_sink_flush(s);
	if (s->stdout_fd >= 0)
		close(s->stdout_fd);
	s->stdout_fd = -1;
	free(s->events_dir);
	rn_buf_free(&s->console);
	rn_buf_free(&s->file);
	rn_buf_free(&s->json);
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
