/* decode.c - streaming decoder of the pty output into job events (see
 * decode.h for the behaviour; it mirrors ansible_runner's OutputEventFilter).
 *
 * The input is scanned once, byte ranges at a time: in the text state memchr
 * finds the next ESC, the bytes before it go through an incremental UTF-8
 * sanitizer into the pending text; an ESC starts a marker candidate whose raw
 * bytes are kept in `cand` while a small state machine follows the marker
 * grammar. A failed candidate becomes text (it is pure ASCII without line
 * breaks, so it is appended as is) except for a trailing "ESC[", the only
 * place inside a failed candidate where a new marker can start. */
#include "decode.h"

#include "jscan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* States of the marker scanner; the comment is what `cand` holds. */
enum {
	S_TEXT,  /* nothing: plain text */
	S_ESC,   /* ESC */
	S_BR,    /* ESC[ */
	S_K,     /* ESC[K */
	S_B64,   /* ESC[K ... b64+ */
	S_GESC,  /* ESC[K ... b64+ ESC */
	S_GBR,   /* ESC[K ... b64+ ESC[ */
	S_DIG,   /* ESC[K ... b64+ ESC[ digits+ */
	S_GROUP, /* ESC[K (b64+ ESC[ digits+ D)+ */
	S_TESC,  /* ESC[K (b64+ ESC[ digits+ D)+ ESC */
	S_TBR,   /* ESC[K (b64+ ESC[ digits+ D)+ ESC[ */
};

/* Buffers larger than this are released once flushed, so one huge line or
 * marker does not pin its memory for the rest of the run. */
#define RN_DECODE_KEEP_CAP ((size_t)1 << 20)

struct rn_decoder {
	rn_chunk_fn fn;
	void *userdata;
	long counter;             /* events emitted so far */
	long lines;               /* "\n" seen in emitted chunks so far */
	rn_buf current;           /* the current (begun, not yet emitted) event's JSON text */
	int has_current;          /* whether there is a current event */
	rn_jscan current_scan;    /* its top-level keys (pointers into `current`) */
	rn_uuid_pool uuids;       /* verbose events' uuids, without a syscall each */
	int state;                /* S_* */
	int dead;                 /* the callback stopped us */
	int finished;             /* rn_decoder_finish() ran */
	rn_buf text;              /* pending text, valid UTF-8 */
	rn_buf cand;              /* raw bytes of the marker candidate */
	rn_buf bin;               /* scratch: decoded base64 */
	rn_buf con;               /* scratch: console text of one event */
	unsigned char u8[4];      /* bytes of an incomplete UTF-8 character */
	int u8len;                /* how many of them */
	int u8need;               /* continuation bytes still missing */
	unsigned char u8lo, u8hi; /* allowed range of the 2nd byte */
};

/* Base64 alphabet value + 1 of each byte (0: not in the alphabet). '=' is
 * in the marker alphabet too but decodes specially. */
static const unsigned char b64val[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/* Bytes that may end a piece in Python's str.splitlines(): the ASCII line
 * breaks and the lead bytes of U+0085 (C2 85) and U+2028/U+2029 (E2 80 A8/A9). */
static const unsigned char brk_byte[256] = {
    ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [0x1c] = 1,
    [0x1d] = 1, [0x1e] = 1, [0xc2] = 1, [0xe2] = 1,
};

static const char fffd[3] = {(char)0xef, (char)0xbf, (char)0xbd};

/* True for a byte of the marker's chunk alphabet [A-Za-z0-9+/=]. */
static inline int is_b64(unsigned char c)
{
	return b64val[c] != 0 || c == '=';
}

/* 1 for the marker alphabet [A-Za-z0-9+/=], as one table for the run scan. */
static const unsigned char b64alpha[256] = {
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
    ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['+'] = 1, ['/'] = 1,
    ['='] = 1,
};

/* Length of the run of marker alphabet bytes at the start of p[0..n): eight
 * at a time with one branch (runs are 78 bytes long in the plugin's markers). */
static inline size_t b64_run(const unsigned char *p, size_t n)
{
	size_t j = 0;
	while (j + 8 <= n &&
	       (b64alpha[p[j]] & b64alpha[p[j + 1]] & b64alpha[p[j + 2]] & b64alpha[p[j + 3]] &
	        b64alpha[p[j + 4]] & b64alpha[p[j + 5]] & b64alpha[p[j + 6]] & b64alpha[p[j + 7]]))
		j += 8;
	while (j < n && b64alpha[p[j]])
		j++;
	return j;
}

/* Make a decoder that reports to fn(userdata, chunk). */
rn_decoder *rn_decoder_new(rn_chunk_fn fn, void *userdata)
{
	rn_decoder *d = rn_xmalloc(sizeof *d);
	memset(d, 0, sizeof *d);
	d->fn = fn;
	d->userdata = userdata;
	d->state = S_TEXT;
	rn_buf_init(&d->text);
	rn_buf_init(&d->cand);
	rn_buf_init(&d->bin);
	rn_buf_init(&d->con);
	rn_buf_init(&d->current);
	rn_uuid_pool_init(&d->uuids);
	return d;
}

/* Free the decoder, its buffers and the current event. */
void rn_decoder_free(rn_decoder *d)
{
	if (!d)
		return;
	rn_buf_free(&d->current);
	rn_buf_free(&d->text);
	rn_buf_free(&d->cand);
	rn_buf_free(&d->bin);
	rn_buf_free(&d->con);
	free(d);
}

/* Number of events emitted so far. */
long rn_decoder_counter(const rn_decoder *d)
{
	return d->counter;
}

/* Number of lines so far (the next event's start_line). */
long rn_decoder_lines(const rn_decoder *d)
{
	return d->lines;
}

/* Empty a buffer; give its memory back if a huge chunk made it big. */
static void buf_drain(rn_buf *b)
{
	if (b->cap > RN_DECODE_KEEP_CAP)
		rn_buf_free(b);
	else
		rn_buf_reset(b);
}

/* Classify a UTF-8 lead byte: number of continuation bytes (0 for ASCII, -1
 * if invalid as a lead) and the allowed range of the next byte. */
static inline int u8_lead(unsigned char c, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c < 0x80)
		return 0;
	if (c >= 0xc2 && c <= 0xdf)
		return 1;
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0)
			*lo = 0xa0;
		else if (c == 0xed)
			*hi = 0x9f;
		return 2;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0)
			*lo = 0x90;
		else if (c == 0xf4)
			*hi = 0x8f;
		return 3;
	}
	return -1;
}

/* Length of the longest prefix of p[0..n) that holds only ASCII bytes. */
static inline size_t ascii_prefix(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i + 8 <= n) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			break;
		i += 8;
	}
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

/* Resolve an incomplete UTF-8 character held from earlier input: it will
 * never complete, so it becomes one U+FFFD. */
static void u8_flush(rn_decoder *d)
{
	if (d->u8len) {
		rn_buf_append(&d->text, fffd, 3);
		d->u8len = 0;
		d->u8need = 0;
	}
}

/* Append p[0..n) to the pending text, replacing invalid UTF-8 the way
 * Python's incremental 'replace' decoder does; an incomplete character at the
 * end is held in d->u8 until more input (or u8_flush) decides it. */
static void u8_append(rn_decoder *d, const unsigned char *p, size_t n)
{
	rn_buf *b = &d->text;
	size_t i = 0;

	/* Go on with a character split across inputs. */
	while (d->u8len && i < n) {
		unsigned char c = p[i];
		unsigned char lo = d->u8len == 1 ? d->u8lo : 0x80;
		unsigned char hi = d->u8len == 1 ? d->u8hi : 0xbf;
		if (c < lo || c > hi) {
			u8_flush(d); /* c is looked at again below */
			break;
		}
		d->u8[d->u8len++] = c;
		i++;
		if (--d->u8need == 0) {
			rn_buf_append(b, d->u8, (size_t)d->u8len);
			d->u8len = 0;
		}
	}
	if (d->u8len)
		return; /* all of it went into the held character */

	rn_buf_reserve(b, n - i);
	size_t run = i; /* start of the valid bytes not yet appended */
	while (i < n) {
		i += ascii_prefix(p + i, n - i);
		if (i >= n)
			break;
		unsigned char lo, hi;
		int need = u8_lead(p[i], &lo, &hi);
		if (need < 0) {
			rn_buf_append(b, p + run, i - run);
			rn_buf_append(b, fffd, 3);
			run = ++i;
			continue;
		}
		size_t k = 1; /* bytes of the character seen so far */
		while (k <= (size_t)need && i + k < n) {
			unsigned char c = p[i + k];
			if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xbf))
				break;
			k++;
		}
		if (k > (size_t)need) {
			i += k; /* a valid character */
			continue;
		}
		rn_buf_append(b, p + run, i - run);
		if (i + k >= n) {
			/* Input ends inside the character: hold it. */
			memcpy(d->u8, p + i, k);
			d->u8len = (int)k;
			d->u8need = need - (int)(k - 1);
			d->u8lo = lo;
			d->u8hi = hi;
			return;
		}
		rn_buf_append(b, fffd, 3); /* a maximal invalid subpart */
		i += k;
		run = i;
	}
	rn_buf_append(b, p + run, i - run);
}

/* Report one event: counter/stdout/start_line/end_line from the chunk, its
 * console text, and the event's JSON text (payload) or, for a verbose event,
 * its new uuid. 0 or -1 (stopped). */
static int emit(rn_decoder *d, const char *payload, size_t payload_len, const rn_jscan *scan,
                const char *uuid, const char *chunk, size_t n, int raw)
{
	long nl = 0;
	const char *p = chunk, *end = chunk + n;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		nl++;
		p++;
	}
	size_t slen = n;
	while (slen && (chunk[slen - 1] == '\n' || chunk[slen - 1] == '\r'))
		slen--;

	d->counter++;
	long start_line = d->lines;
	d->lines += nl;

	rn_buf_reset(&d->con);
	if (raw) {
		rn_buf_append(&d->con, chunk, n);
	} else if (slen) {
		rn_buf_reserve(&d->con, slen + 1);
		rn_buf_append(&d->con, chunk, slen);
		rn_buf_appendc(&d->con, '\n');
	}
	rn_chunk c = {
	    .payload = payload,
	    .payload_len = payload_len,
	    .scan = scan,
	    .uuid = uuid,
	    .verbose = payload == NULL,
	    .counter = d->counter,
	    .start_line = start_line,
	    .end_line = d->lines,
	    /* the text is valid UTF-8 by construction (u8_append) */
	    .stdout_text = chunk,
	    .stdout_len = slen,
	    .console = d->con.data ? d->con.data : "",
	    .console_len = d->con.len,
	    .console_is_raw = raw,
	};
	if (d->fn && d->fn(d->userdata, &c) != 0) {
		d->dead = 1;
		return -1;
	}
	return 0;
}

/* Emit one verbose event (a fresh uuid) for a piece. */
static int emit_verbose(rn_decoder *d, const char *s, size_t n, int raw)
{
	char uuid[37];
	rn_uuid_pool_next(&d->uuids, uuid);
	return emit(d, NULL, 0, NULL, uuid, s, n, raw);
}

/* Split s[0..n) like Python's str.splitlines(keepends=True) and emit one
 * verbose event per piece. 0 or -1 (stopped). */
static int emit_pieces(rn_decoder *d, const char *s, size_t n, int raw)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t start = 0, i = 0;
	while (i < n) {
		unsigned char c = u[i];
		if (!brk_byte[c]) {
			i++;
			continue;
		}
		size_t end = 0;
		if (c == '\r')
			end = (i + 1 < n && u[i + 1] == '\n') ? i + 2 : i + 1;
		else if (c == 0xc2)
			end = (i + 1 < n && u[i + 1] == 0x85) ? i + 2 : 0;
		else if (c == 0xe2)
			end = (i + 2 < n && u[i + 1] == 0x80 &&
			       (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
			          ? i + 3
			          : 0;
		else
			end = i + 1;
		if (!end) {
			i++;
			continue;
		}
		if (emit_verbose(d, s + start, end - start, raw) < 0)
			return -1;
		start = i = end;
	}
	if (start < n && emit_verbose(d, s + start, n - start, raw) < 0)
		return -1;
	return 0;
}

/* Emit the pending text before a marker (at_end = 0) or at the end of the
 * stream (at_end = 1): as the current event's stdout, or as verbose pieces.
 * The current event is released. 0 or -1 (stopped). */
static int flush_text(rn_decoder *d, int at_end)
{
	int rc = 0;
	if (d->has_current) {
		if (!at_end || d->text.len) {
			char uuid[256];
			size_t ul = d->current_scan.uuid_len < sizeof uuid - 1
			                ? d->current_scan.uuid_len
			                : sizeof uuid - 1;
			memcpy(uuid, d->current_scan.uuid, ul);
			uuid[ul] = '\0';
			rc = emit(d, d->current.data, d->current.len, &d->current_scan, uuid,
			          d->text.data ? d->text.data : "", d->text.len, 0);
		}
		d->has_current = 0;
		buf_drain(&d->current);
	} else if (d->text.len) {
		rc = emit_pieces(d, d->text.data, d->text.len, 0);
	}
	buf_drain(&d->text);
	return rc;
}

/* Take in text bytes (no ESC among them). Without a current event every
 * completed line is emitted as verbose pieces with the raw console text. */
static int text_in(rn_decoder *d, const unsigned char *p, size_t n)
{
	if (d->has_current) {
		u8_append(d, p, n);
		return 0;
	}
	while (n) {
		const unsigned char *nl = memchr(p, '\n', n);
		if (!nl) {
			u8_append(d, p, n);
			return 0;
		}
		size_t k = (size_t)(nl - p) + 1;
		u8_append(d, p, k);
		int rc = emit_pieces(d, d->text.data, d->text.len, 1);
		buf_drain(&d->text);
		if (rc < 0)
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}

/* Decode the base64 chunks of a complete marker in `cand` the way Python's
 * base64.b64decode (binascii.a2b_base64, non-strict) does, into d->bin.
 * 0, or -1 for input Python rejects. */
static int marker_b64(rn_decoder *d)
{
	const unsigned char *p = (const unsigned char *)d->cand.data;
	size_t n = d->cand.len - 3; /* without the closing ESC[K */
	rn_buf *o = &d->bin;
	rn_buf_reset(o);
	rn_buf_reserve(o, (n / 4) * 3 + 3);
	unsigned char *out = (unsigned char *)o->data;
	size_t len = 0;
	int quad = 0, pads = 0;
	unsigned left = 0;

	for (size_t i = 3; i < n; i++) {
		/* Fast path: a whole quad of plain alphabet characters. */
		while (quad == 0 && i + 4 <= n) {
			unsigned a = b64val[p[i]], b = b64val[p[i + 1]];
			unsigned c2 = b64val[p[i + 2]], e = b64val[p[i + 3]];
			if (!a || !b || !c2 || !e)
				break;
			uint32_t v =
			    ((a - 1u) << 18) | ((b - 1u) << 12) | ((c2 - 1u) << 6) | (e - 1u);
			out[len++] = (unsigned char)(v >> 16);
			out[len++] = (unsigned char)(v >> 8);
			out[len++] = (unsigned char)v;
			pads = 0;
			i += 4;
		}
		if (i >= n)
			break;
		unsigned char c = p[i];
		if (c == 0x1b) {
			/* skip ESC[digits D */
			while (p[i] != 'D')
				i++;
			continue;
		}
		if (c == '=') {
			if (quad >= 2 && quad + ++pads >= 4)
				goto done;
			continue;
		}
		unsigned v = b64val[c] - 1u;
		pads = 0;
		switch (quad) {
		case 0:
			left = v;
			quad = 1;
			break;
		case 1:
			out[len++] = (unsigned char)((left << 2) | (v >> 4));
			left = v & 0x0f;
			quad = 2;
			break;
		case 2:
			out[len++] = (unsigned char)((left << 4) | (v >> 2));
			left = v & 0x03;
			quad = 3;
			break;
		default:
			out[len++] = (unsigned char)((left << 6) | v);
			quad = 0;
			break;
		}
	}
	if (quad != 0)
		return -1;
done:
	o->len = len;
	o->data[len] = '\0';
	return 0;
}

/* Decode the complete marker in `cand` into `bin`; true when it is valid
 * base64 of a valid JSON object (then *scan describes it). Anything else
 * counts as `{}` (an end marker). */
static int marker_object(rn_decoder *d, rn_jscan *scan)
{
	return marker_b64(d) == 0 && rn_jscan_object(d->bin.data, d->bin.len, scan);
}

/* A complete marker is in `cand`: emit the text before it, then make its
 * object the current event (begin marker: an object with a non-empty string
 * "uuid") or end the current event. */
static int marker_done(rn_decoder *d)
{
	rn_jscan scan;
	int ok = marker_object(d, &scan);
	buf_drain(&d->cand);
	d->state = S_TEXT;
	int rc = flush_text(d, 0);
	if (rc == 0 && ok && scan.uuid && scan.uuid_len > 0) {
		/* keep the text; the scan's pointers move with it */
		rn_buf tmp = d->current;
		d->current = d->bin;
		d->bin = tmp;
		d->current_scan = scan; /* its pointers are into the same memory */
		d->has_current = 1;
	}
	buf_drain(&d->bin);
	return rc;
}

/* The candidate in `cand` cannot go on with the next byte: it is text, except
 * a trailing "ESC[" (past its first byte) which may begin a marker ("ESC[K")
 * and becomes the new candidate. (A trailing lone ESC never can: the byte
 * that failed it is not '['.) */
static void cand_fail(rn_decoder *d)
{
	size_t keep = 0;
	int next = S_TEXT;
	if (d->state == S_GBR || d->state == S_TBR) {
		keep = 2;
		next = S_BR;
	}
	/* ASCII without line breaks: no UTF-8 or line handling needed. */
	rn_buf_append(&d->text, d->cand.data, d->cand.len - keep);
	if (keep) {
		memmove(d->cand.data, d->cand.data + d->cand.len - keep, keep);
		d->cand.len = keep;
		d->cand.data[keep] = '\0';
	} else {
		buf_drain(&d->cand);
	}
	d->state = next;
}

/* Feed the next piece of the stream. */
int rn_decoder_feed(rn_decoder *d, const char *buf, size_t len)
{
	if (d->dead || d->finished)
		return -1;
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0;
	while (i < len) {
		if (d->state == S_TEXT) {
			const unsigned char *e = memchr(p + i, 0x1b, len - i);
			size_t end = e ? (size_t)(e - p) : len;
			if (end > i && text_in(d, p + i, end - i) < 0)
				return -1;
			if (!e)
				break;
			u8_flush(d);
			rn_buf_appendc(&d->cand, 0x1b);
			d->state = S_ESC;
			i = end + 1;
			continue;
		}
		unsigned char c = p[i];
		int next = -1; /* the state after c, -1: c does not fit */
		switch (d->state) {
		case S_ESC:
			next = c == '[' ? S_BR : -1;
			break;
		case S_BR:
			next = c == 'K' ? S_K : -1;
			break;
		case S_K:
		case S_B64:
		case S_GROUP:
			if (is_b64(c)) {
				size_t j = i + 1 + b64_run(p + i + 1, len - i - 1);
				rn_buf_append(&d->cand, p + i, j - i);
				i = j;
				d->state = S_B64;
				continue;
			}
			if (c == 0x1b && d->state != S_K)
				next = d->state == S_GROUP ? S_TESC : S_GESC;
			break;
		case S_GESC:
			next = c == '[' ? S_GBR : -1;
			break;
		case S_GBR:
			next = (c >= '0' && c <= '9') ? S_DIG : -1;
			break;
		case S_DIG:
			if (c >= '0' && c <= '9')
				next = S_DIG;
			else if (c == 'D')
				next = S_GROUP;
			break;
		case S_TESC:
			next = c == '[' ? S_TBR : -1;
			break;
		case S_TBR:
			if (c == 'K') {
				rn_buf_appendc(&d->cand, (char)c);
				i++;
				if (marker_done(d) < 0)
					return -1;
				continue;
			}
			break;
		}
		if (next < 0) {
			cand_fail(d); /* c is looked at again in the new state */
			continue;
		}
		rn_buf_appendc(&d->cand, (char)c);
		d->state = next;
		i++;
	}
	return 0;
}

/* End of the stream: an unfinished marker is text; flush everything. */
int rn_decoder_finish(rn_decoder *d)
{
	if (d->dead)
		return -1;
	if (d->finished)
		return 0;
	d->finished = 1;
	if (d->state != S_TEXT) {
		rn_buf_append(&d->text, d->cand.data, d->cand.len);
		buf_drain(&d->cand);
		d->state = S_TEXT;
	}
	u8_flush(d);
	return flush_text(d, 1);
}
