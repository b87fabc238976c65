/*
 * stdout.c - a unified job's output: /stdout/?format=txt|ansi|json|
 * txt_download|ansi_download. The text is the job's events' stdout joined in
 * start_line order (the store assembles it). txt and ansi (and their
 * downloads) stream any size in flat memory, a thousand lines at a time,
 * where AWX refuses above 1 MiB; json answers a line range:
 * {"range": {"start", "end", "absolute_end"}, "content"}.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util.h"

/* Lines read from the store per chunk of a stream. */
#define STREAM_LINES 1000

/* Remove ANSI escape sequences from s in place; returns the new length. */
static size_t strip_ansi(char *s, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\x1b') {
			s[o++] = s[i];
			continue;
		}
		if (i + 1 >= len)
			break;
		if (s[i + 1] == '[') { /* CSI: parameters, then a final byte @..~ */
			i += 2;
			while (i < len &&
			       !((unsigned char)s[i] >= 0x40 && (unsigned char)s[i] <= 0x7e))
				i++;
		} else if (s[i + 1] == ']') { /* OSC: up to BEL or ESC \ */
			i += 2;
			while (i < len && s[i] != '\a' &&
			       !(s[i] == '\x1b' && i + 1 < len && s[i + 1] == '\\'))
				i++;
			if (i < len && s[i] == '\x1b')
				i++;
		} else {
			i++; /* a two-byte escape */
		}
	}
	return o;
}

/* A stdout stream in progress. */
typedef struct stdout_stream {
	store *st;
	long job_id;
	long next_line;
	bool strip;
	bool done;
	rn_buf buf;
	size_t off;
} stdout_stream;

/* store_stdout_fn: append an event's text to a buffer. */
static int append_text(const char *text, size_t len, void *userdata)
{
	rn_buf_append(userdata, text, len);
	return 0;
}

/* Fill buf with the next chunk of the stream; -1 at the end, -2 on error. */
static ssize_t stream_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	stdout_stream *s = ctx;
	while (s->off >= s->buf.len) {
		if (s->done)
			return -1;
		rn_buf_reset(&s->buf);
		s->off = 0;
		long abs_end = 0;
		runnel_error err = {0};
		if (store_stdout_read(s->st, s->job_id, s->next_line, s->next_line + STREAM_LINES,
		                      append_text, &s->buf, &abs_end, &err) < 0)
			return -2;
		s->next_line += STREAM_LINES;
		if (s->next_line >= abs_end)
			s->done = true;
		if (s->strip)
			s->buf.len = strip_ansi(s->buf.data, s->buf.len);
	}
	size_t n = s->buf.len - s->off;
	if (n > max)
		n = max;
	memcpy(buf, s->buf.data + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

/* Free a stream. */
static void stream_free(void *ctx)
{
	stdout_stream *s = ctx;
	rn_buf_free(&s->buf);
	free(s);
}

/* store_stdout_fn that keeps nothing (to learn absolute_end). */
static int ignore_text(const char *text, size_t len, void *userdata)
{
	(void)text, (void)len, (void)userdata;
	return 0;
}

/* format=json: one range of lines. */
static int stdout_json(api_request *rq, api_response *rs, long job_id)
{
	bool ok;
	long start = api_arg_long(rq, rs, "start_line", 0, &ok);
	if (!ok)
		return 0;
	long end = api_arg_long(rq, rs, "end_line", -1, &ok);
	if (!ok)
		return 0;
	runnel_error err = {0};
	long abs_end = 0;
	if (start < 0) {
		if (store_stdout_read(rq->st, job_id, 0, 0, ignore_text, NULL, &abs_end, &err) < 0)
			return api_error(rs, &err);
		start = abs_end + start > 0 ? abs_end + start : 0;
	}
	if (end >= 0 && end < start)
		end = start;
	rn_buf b;
	rn_buf_init(&b);
	if (store_stdout_read(rq->st, job_id, start, end, append_text, &b, &abs_end, &err) < 0) {
		rn_buf_free(&b);
		return api_error(rs, &err);
	}
	long end_actual = end >= 0 && end < abs_end ? end : abs_end;
	if (end_actual < start)
		end_actual = start;
	json_t *content;
	const char *enc = api_arg(rq, "content_encoding");
	if (enc && !strcmp(enc, "base64")) {
		size_t n = sodium_base64_ENCODED_LEN(b.len, sodium_base64_VARIANT_ORIGINAL);
		char *out = rn_xmalloc(n);
		sodium_bin2base64(out, n, (const unsigned char *)b.data, b.len,
		                  sodium_base64_VARIANT_ORIGINAL);
		content = json_string(out);
		free(out);
	} else {
		content = json_stringn_nocheck(b.data, b.len);
	}
	rn_buf_free(&b);
	return api_json(rs, 200,
	                json_pack("{s:{s:I,s:I,s:I},s:o}", "range", "start", (json_int_t)start,
	                          "end", (json_int_t)end_actual, "absolute_end",
	                          (json_int_t)abs_end, "content", content));
}

/* GET <unified job>/stdout/ of a job of kind. */
int api_stdout(api_request *rq, api_response *rs, store_kind kind)
{
	runnel_error err = {0};
	json_t *job = store_get(rq->st, kind, rq->ids[0], &err);
	if (!job)
		return api_error(rs, &err);
	const char *type = json_string_value(json_object_get(job, "type"));
	char name[96];
	snprintf(name, sizeof name, "%s_%ld", type ? type : "job", rq->ids[0]);
	json_decref(job);
	const char *format = api_arg(rq, "format");
	if (!format || !*format || !strcmp(format, "json") || !strcmp(format, "api"))
		return stdout_json(rq, rs, rq->ids[0]);
	bool txt = !strcmp(format, "txt") || !strcmp(format, "txt_download");
	bool ansi = !strcmp(format, "ansi") || !strcmp(format, "ansi_download");
	if (!txt && !ansi)
		return api_detail(rs, 404, "Not found.");
	stdout_stream *s = rn_xmalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	s->st = rq->st;
	s->job_id = rq->ids[0];
	s->strip = txt;
	rn_buf_init(&s->buf);
	rs->status = 200;
	rs->stream = (api_stream){.read = stream_read, .free = stream_free, .ctx = s};
	rs->content_type = "text/plain; charset=utf-8";
	if (strstr(format, "_download"))
		rs->disposition = rn_xasprintf("attachment; filename=\"%s.txt\"", name);
	return 0;
}
