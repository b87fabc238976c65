/* decode.h - streaming decoder of the playbook's pty output into job events.
 *
 * The callback plugin brackets each event's text with markers:
 *
 *     ESC[K  <base64 chunk> ESC[<n>D  ...more chunks...  ESC[K
 *
 * (upstream regex `\x1b\[K((?:[A-Za-z0-9+/=]+\x1b\[\d+D)+)\x1b\[K`). The decoder
 * is the C counterpart of ansible_runner.utils.OutputEventFilter: it turns the
 * raw byte stream (split into reads in any way) into an ordered series of
 * events, each reported to a callback together with the text that belongs on
 * the console and in the stdout artifact.
 *
 * Markers. The base64 chunks are concatenated and decoded the way Python's
 * base64.b64decode() does (non-strict: data after a complete pad sequence is
 * ignored, a dangling 1 or 2-3 char quad is an error); the bytes must be
 * strict UTF-8 and parse (jansson) as a JSON object, otherwise the marker is
 * `{}`. A marker whose object has a non-empty string "uuid" is a begin marker:
 * it becomes the *current event*. Any other marker (the end marker `{}`) ends
 * the current event. Before a marker is handled, the text received before it
 * is emitted (see below). A candidate that turns out not to be a marker
 * (e.g. ESC[K followed by a space, or a truncated marker at the end of the
 * stream) is ordinary text.
 *
 * Text. With a current event, all the text up to the next marker is that
 * event's stdout: ONE event (the begin marker's object) is emitted at the
 * marker, even when the text is empty. Without a current event the text is
 * split into lines exactly like Python's str.splitlines(keepends=True) -
 * i.e. after "\n", "\r\n", a lone "\r", "\v", "\f", "\x1c", "\x1d", "\x1e",
 * U+0085, U+2028 and U+2029 - and each piece becomes a "verbose" event. As
 * upstream does, pieces are emitted when a "\n" arrives (all pieces up to and
 * including the one ending in that "\n"); the rest (a partial line, which may
 * hold several "\r"-terminated pieces) is held until its "\n", a marker, or
 * rn_decoder_finish().
 *
 * Per emitted event the decoder reports: "counter" (1, 2, ...), "stdout"
 * (the chunk without its trailing "\r"/"\n" characters, Python's
 * rstrip('\n\r')), "start_line" (lines so far) and "end_line" (start_line +
 * the number of "\n" in the chunk), and the begin marker's JSON text, checked
 * but not parsed (parsing every event into a tree would cost more than
 * everything else the runner does); verbose events get a fresh uuid4.
 *
 * Console text per event: a verbose piece emitted on its "\n" gives the raw
 * piece ("foo\r\n"; console_is_raw = 1). Everything else (marked events, text
 * flushed by a marker or by finish) gives stdout + "\n", or nothing when
 * stdout is empty.
 *
 * Text encoding. Invalid UTF-8 is replaced like Python's
 * bytes.decode('utf-8', 'replace') through an incremental decoder (as
 * pexpect does): each maximal invalid subpart becomes one U+FFFD, a character
 * split across reads is kept whole, an incomplete character at a marker or at
 * the end of the stream becomes U+FFFD. NUL and other control bytes are kept.
 *
 * Deliberate differences from upstream 2.3.1 (the event series is the same
 * as upstream's when it is handed the whole stream in one write()):
 *  - Upstream only looks for markers when "ESC[K" occurs in the last two
 *    writes, so a marker whose ESC[K is split over three small reads can be
 *    missed (or found late). runnel finds every marker whatever the split.
 *  - When one read holds several complete unmarked lines plus an ESC[K,
 *    upstream emits them all as verbose events only at the next marker and
 *    prints only the last one. runnel emits each line on its "\n" and prints
 *    each (raw). Likewise when a marker flushes a partial line holding several
 *    "\r"-separated pieces, runnel prints every piece, upstream only the last.
 *  - At the end of the stream upstream emits the leftover text but writes
 *    nothing to the console; runnel writes stdout + "\n" (never lose output).
 *  - Upstream does not print an event whose stdout is exactly "{}" (a
 *    leftover of its JSON mode); runnel prints it.
 *  - Upstream treats any truthy "uuid" as a begin marker; runnel requires a
 *    non-empty string. Marker JSON that Python accepts but jansson does not
 *    (NaN/Infinity, numbers out of range such as 1e400 or integers beyond
 *    64 bits, lone surrogate escapes) is `{}`. The check is rn_jscan_object().
 *  - Marker digits are ASCII only (Python's str regex \d also takes other
 *    Unicode digits, e.g. U+0663, in "ESC[<n>D").
 *  - As upstream: a begin marker followed by the end of the stream with no
 *    text at all emits nothing.
 */
#ifndef RUNNEL_DECODE_H
#define RUNNEL_DECODE_H

#include <stddef.h>
#include "jscan.h"

typedef struct rn_decoder rn_decoder;

/* One emitted event. Everything is borrowed, valid during the callback only. */
typedef struct rn_chunk {
	/* The begin marker's JSON object, as text (valid JSON), and what its top
	 * level holds; NULL for a verbose event. */
	const char *payload;
	size_t payload_len;
	const rn_jscan *scan;
	/* The event's uuid: the payload's, or a new one for a verbose event. */
	const char *uuid;
	/* 1 if this is a verbose event made from unmarked text. */
	int verbose;
	long counter, start_line, end_line;
	/* stdout: valid UTF-8 (may hold NULs), not NUL-terminated */
	const char *stdout_text;
	size_t stdout_len;
	/* What goes to the console and the stdout artifact for this event
	 * (may be empty); NUL-terminated, console_len bytes (may hold NULs). */
	const char *console;
	size_t console_len;
	/* 1: console is the raw piece (an unmarked line emitted on its "\n");
	 * 0: it is stdout + "\n" (or empty). */
	int console_is_raw;
} rn_chunk;

/* Called once per emitted event, in order. Return 0 to go on, -1 to stop:
 * the feed()/finish() call then returns -1 and the decoder is dead (every
 * later call returns -1). */
typedef int (*rn_chunk_fn)(void *userdata, const rn_chunk *chunk);

/* A new decoder reporting events to fn(userdata, ...). Free with
 * rn_decoder_free(). */
rn_decoder *rn_decoder_new(rn_chunk_fn fn, void *userdata);
/* Free the decoder (and the current event it holds). NULL is fine. */
void rn_decoder_free(rn_decoder *d);
/* Feed the next len bytes of the stream (any split of it). 0, or -1 when the
 * callback stopped the decoder (or after finish). */
int rn_decoder_feed(rn_decoder *d, const char *buf, size_t len);
/* End of stream: flush what is left (an unfinished marker is text). 0 or -1
 * (callback stopped). Later feed() calls return -1, a second finish() returns 0. */
int rn_decoder_finish(rn_decoder *d);
/* Events emitted so far (the counter of the last one). */
long rn_decoder_counter(const rn_decoder *d);
/* Lines so far (the start_line of the next event). */
long rn_decoder_lines(const rn_decoder *d);

#endif
