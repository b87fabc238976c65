/*
 * fuzz_decode.c - the marker-stream decoder (lib/decode.c): what ansible's
 * pty writes, arbitrary bytes split into reads of arbitrary sizes.
 *
 * Input: byte 0 picks the read size (1..64), the rest is the stream. The
 * stream is decoded twice, in one feed and in reads of that size, and the two
 * event series must be the same (decode.h: every marker is found whatever the
 * split); each event must hold its invariants (counter + 1, lines in order,
 * marker JSON valid, stdout valid UTF-8 without trailing CR/LF).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "util.h"

typedef struct seen {
	rn_buf log; /* every event, serialized (verbose uuids left out) */
	long last_counter, last_end;
} seen;

static void die(const char *why)
{
	fprintf(stderr, "fuzz_decode: %s\n", why);
	abort();
}

/* Strict UTF-8 (what the decoder promises for stdout). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			k = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3, min = 0x10000, c &= 0x07;
		} else {
			return 0;
		}
		if (i + k >= n)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i + j] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

static void put(rn_buf *b, const char *tag, const void *p, size_t n)
{
	char head[64];
	snprintf(head, sizeof head, "%s%zu:", tag, n);
	rn_buf_append(b, head, strlen(head));
	rn_buf_append(b, p, n);
}

static int on_chunk(void *userdata, const rn_chunk *c)
{
	seen *s = userdata;
	if (c->counter != s->last_counter + 1)
		die("counter is not the next one");
	if (c->start_line != s->last_end || c->end_line < c->start_line)
		die("lines out of order");
	s->last_counter = c->counter;
	s->last_end = c->end_line;
	if (!utf8_ok((const unsigned char *)c->stdout_text, c->stdout_len))
		die("stdout is not valid UTF-8");
	if (c->stdout_len && (c->stdout_text[c->stdout_len - 1] == '\n' ||
	                      c->stdout_text[c->stdout_len - 1] == '\r'))
		die("stdout ends in a CR or LF");
	if (!c->uuid || !*c->uuid)
		die("an event without a uuid");
	if (c->console[c->console_len] != '\0')
		die("console text is not NUL-terminated");
	if (c->verbose != !c->payload)
		die("verbose and payload disagree");
	if (c->payload) {
		rn_jscan sc;
		if (!rn_jscan_object(c->payload, c->payload_len, &sc))
			die("the marker's payload is not one JSON object");
		if (!(sc.keys & RN_KEY_UUID))
			die("a begin marker without a uuid");
		put(&s->log, "P", c->payload, c->payload_len);
	}
	char nums[96];
	snprintf(nums, sizeof nums, "%d %ld %ld %ld %d", c->verbose, c->counter, c->start_line,
	         c->end_line, c->console_is_raw);
	put(&s->log, "N", nums, strlen(nums));
	put(&s->log, "S", c->stdout_text, c->stdout_len);
	put(&s->log, "C", c->console, c->console_len);
	return 0;
}

static void decode(const uint8_t *data, size_t size, size_t step, seen *s)
{
	memset(s, 0, sizeof *s);
	rn_buf_init(&s->log);
	rn_decoder *d = rn_decoder_new(on_chunk, s);
	for (size_t off = 0; off < size; off += step) {
		size_t n = size - off < step ? size - off : step;
		if (rn_decoder_feed(d, (const char *)data + off, n) != 0)
			die("feed failed");
	}
	if (rn_decoder_finish(d) != 0)
		die("finish failed");
	if (rn_decoder_counter(d) != s->last_counter)
		die("rn_decoder_counter disagrees with the events");
	rn_decoder_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = 1 + data[0] % 64;
	data++, size--;
	seen whole, split;
	decode(data, size, size ? size : 1, &whole);
	decode(data, size, step, &split);
	if (whole.log.len != split.log.len ||
	    (whole.log.len && memcmp(whole.log.data, split.log.data, whole.log.len)))
		die("the event series depends on how the stream is split into reads");
	rn_buf_free(&whole.log);
	rn_buf_free(&split.log);
	return 0;
}
