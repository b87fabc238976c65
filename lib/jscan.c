/*
 * jscan.c - JSON checking and quoting without a tree (see jscan.h).
 */
#include "jscan.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Skip JSON whitespace. */
static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Length of the UTF-8 sequence starting at p (strict: no overlongs, no
 * surrogates, at most U+10FFFF), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* True if any byte of x is '"', '\\', below 0x20 or above 0x7f (SWAR: the
 * classic has-zero-byte and has-less-than tests on eight bytes at once). */
static inline int swar_special(uint64_t x)
{
	uint64_t quote = x ^ (ONES * '"');
	uint64_t slash = x ^ (ONES * '\\');
	uint64_t t =
	    ((quote - ONES) & ~quote) | ((slash - ONES) & ~slash) | ((x - ONES * 0x20) & ~x) | x;
	return (t & HIGHS) != 0;
}

/* Scan a string starting at the opening quote; return the position after the
 * closing quote or NULL. *escaped tells whether it held a backslash. An
 * object key may not hold \u0000 (jansson refuses it even with
 * JSON_ALLOW_NUL). */
static const char *scan_string(const char *p, const char *end, int *escaped, int is_key)
{
	*escaped = 0;
	p++;
	while (p < end) {
		/* skip 8 plain bytes at a time: none is '"', '\\', a control
		 * character or the start of a multi-byte character */
		while (end - p >= 8) {
			uint64_t x;
			memcpy(&x, p, 8);
			if (swar_special(x))
				break;
			p += 8;
		}
		if (p >= end)
			break;
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c == '\\') {
			*escaped = 1;
			if (p + 1 >= end)
				return NULL;
			char e = p[1];
			if (e == 'u') {
				if (end - p < 6)
					return NULL;
				int v = 0;
				for (int i = 2; i < 6; i++) {
					int h = hexval(p[i]);
					if (h < 0)
						return NULL;
					v = v * 16 + h;
				}
				/* jansson refuses lone surrogates and \u0000 only with
				 * flags; surrogate pairs must be complete */
				if (v >= 0xD800 && v <= 0xDBFF) {
					if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
						return NULL;
					int w = 0;
					for (int i = 8; i < 12; i++) {
						int h = hexval(p[i]);
						if (h < 0)
							return NULL;
						w = w * 16 + h;
					}
					if (w < 0xDC00 || w > 0xDFFF)
						return NULL;
					p += 12;
					continue;
				}
				if ((v >= 0xDC00 && v <= 0xDFFF) || (v == 0 && is_key))
					return NULL;
				p += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", e) || e == '\0')
				return NULL;
			p += 2;
			continue;
		}
		if (c < 0x20)
			return NULL;
		if (c < 0x80) {
			p++;
			continue;
		}
		size_t n = utf8_len((const unsigned char *)p, (const unsigned char *)end);
		if (!n)
			return NULL;
		p += n;
	}
	return NULL;
}

/* A number jansson can hold: an integer within long long, a real that does
 * not overflow a double (underflow is fine, as jansson). */
static bool number_in_range(const char *start, const char *int_digits, size_t ndigits,
                            const char *end, bool real, bool exponent)
{
	if (!real) {
		static const char max[] = "9223372036854775807";
		if (ndigits < 19)
			return true;
		if (ndigits > 19)
			return false;
		int c = memcmp(int_digits, max, 19);
		/* -9223372036854775808 is the one value past max that fits */
		return c <= 0 || (*start == '-' && !memcmp(int_digits, "9223372036854775808", 19));
	}
	if (!exponent && ndigits < 300)
		return true;
	size_t n = (size_t)(end - start);
	char small[64];
	char *copy = n < sizeof small ? small : rn_xmalloc(n + 1);
	memcpy(copy, start, n);
	copy[n] = '\0';
	double d = strtod(copy, NULL);
	if (copy != small)
		free(copy);
	return !isinf(d);
}

/* Scan a number; return the position after it or NULL (also when jansson
 * would refuse it as out of range). */
static const char *scan_number(const char *p, const char *end)
{
	const char *start = p;
	if (p < end && *p == '-')
		p++;
	if (p >= end)
		return NULL;
	const char *digits = p;
	bool real = false, exponent = false;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	size_t ndigits = (size_t)(p - digits);
	if (p < end && *p == '.') {
		real = true;
		p++;
		if (p >= end || *p < '0' || *p > '9')
			return NULL;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = exponent = true;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			return NULL;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	return number_in_range(start, digits, ndigits, p, real, exponent) ? p : NULL;
}

/* Match a literal. */
static const char *scan_literal(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
		return NULL;
	return p + n;
}

#define MAX_DEPTH 2048 /* as jansson */

/* Record a top-level key and, for uuid/event, its plain string value. */
static void note_key(rn_jscan *out, const char *k, size_t kl, int kesc, const char *v,
                     const char *vend, int vesc)
{
	static const struct {
		const char *name;
		size_t len;
		unsigned bit;
	} known[] = {{"uuid", 4, RN_KEY_UUID},
	             {"event", 5, RN_KEY_EVENT},
	             {"created", 7, RN_KEY_CREATED},
	             {"counter", 7, RN_KEY_COUNTER},
	             {"stdout", 6, RN_KEY_STDOUT},
	             {"start_line", 10, RN_KEY_START_LINE},
	             {"end_line", 8, RN_KEY_END_LINE},
	             {"runner_ident", 12, RN_KEY_RUNNER_IDENT},
	             {"status", 6, RN_KEY_STATUS},
	             {"zipfile", 7, RN_KEY_ZIPFILE},
	             {"eof", 3, RN_KEY_EOF}};
	if (kesc) {
		out->keys |= RN_KEY_OTHER_ESCAPED;
		return;
	}
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		if (known[i].len != kl || memcmp(known[i].name, k, kl) != 0)
			continue;
		out->keys |= known[i].bit;
		int is_string = v && *v == '"' && !vesc;
		if (known[i].bit == RN_KEY_UUID) {
			out->uuid = is_string ? v + 1 : NULL;
			out->uuid_len = is_string ? (size_t)(vend - v - 2) : 0;
		} else if (known[i].bit == RN_KEY_EVENT) {
			out->event = is_string ? v + 1 : NULL;
			out->event_len = is_string ? (size_t)(vend - v - 2) : 0;
		} else if (known[i].bit == RN_KEY_COUNTER) {
			out->counter = v;
			out->counter_len = v ? (size_t)(vend - v) : 0;
		} else if (known[i].bit == RN_KEY_STDOUT) {
			out->stdout_value = v;
			out->stdout_len = v ? (size_t)(vend - v) : 0;
		}
	}
}

/* The one checker behind rn_jscan_object() and rn_jscan_walk(): out (may be
 * NULL) gets the top-level keys the event path knows; fn (may be NULL) every
 * member of the top-level object and of the objects that are its values. */
static inline bool scan_object(const char *text, size_t len, rn_jscan *out, rn_jscan_member_fn fn,
                               void *ud)
{
	if (out)
		memset(out, 0, sizeof *out);
	const char *p = text, *end = text + len;
	char stack[MAX_DEPTH]; /* '{' or '[' */
	int depth = 0;
	p = skip_ws(p, end);
	if (p >= end || *p != '{')
		return false;
	/* the state machine: expecting a value, or a key, or , / close */
	enum { VALUE, KEY_OR_CLOSE, KEY, COLON, COMMA_OR_CLOSE, VALUE_OR_CLOSE } st = VALUE;
	/* the key being read at depth 1 and 2, and where a container value at
	 * those depths began (for fn) */
	rn_jmember m[3] = {{0}};
	const char *cstart[3] = {NULL, NULL, NULL};
	int valesc = 0;
	while (1) {
		p = skip_ws(p, end);
		if (p >= end)
			return false;
		char c = *p;
		if (st == KEY_OR_CLOSE || st == KEY) {
			if (c == '}' && st == KEY_OR_CLOSE)
				goto close;
			if (c != '"')
				return false;
			int keyesc;
			const char *q = scan_string(p, end, &keyesc, 1);
			if (!q)
				return false;
			if (depth <= 2) {
				m[depth].key = p + 1;
				m[depth].key_len = (size_t)(q - p - 2);
				m[depth].key_escaped = keyesc;
			}
			p = q;
			st = COLON;
			continue;
		}
		if (st == COLON) {
			if (c != ':')
				return false;
			p++;
			st = VALUE;
			continue;
		}
		if (st == COMMA_OR_CLOSE) {
			if (c == ',') {
				p++;
				st = stack[depth - 1] == '{' ? KEY : VALUE;
				continue;
			}
			if ((c == '}' && stack[depth - 1] == '{') ||
			    (c == ']' && stack[depth - 1] == '['))
				goto close;
			return false;
		}
		/* VALUE or VALUE_OR_CLOSE */
		if (c == ']' && st == VALUE_OR_CLOSE)
			goto close;
		const char *start = p;
		valesc = 0;
		if (c == '{' || c == '[') {
			if (depth == MAX_DEPTH)
				return false;
			if (depth <= 2)
				cstart[depth] = p;
			stack[depth++] = c;
			p++;
			st = c == '{' ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
			continue;
		}
		if (depth == 0)
			return false; /* the top level must be an object */
		if (c == '"')
			p = scan_string(p, end, &valesc, 0);
		else if (c == 't')
			p = scan_literal(p, end, "true");
		else if (c == 'f')
			p = scan_literal(p, end, "false");
		else if (c == 'n')
			p = scan_literal(p, end, "null");
		else
			p = scan_number(p, end);
		if (!p)
			return false;
		if (depth == 1 && out)
			note_key(out, m[1].key, m[1].key_len, m[1].key_escaped, start, p, valesc);
		if (fn && (depth == 1 || (depth == 2 && stack[1] == '{'))) {
			m[depth].value = start;
			m[depth].value_len = (size_t)(p - start);
			m[depth].value_escaped = valesc;
			m[depth].parent = depth == 2 ? &m[1] : NULL;
			fn(&m[depth], ud);
		}
		st = COMMA_OR_CLOSE;
		continue;
	close:
		p++;
		depth--;
		if (depth == 0) {
			p = skip_ws(p, end);
			return p == end;
		}
		if (depth == 1 && out)
			note_key(out, m[1].key, m[1].key_len, m[1].key_escaped, NULL, NULL, 0);
		if (fn && (depth == 1 || (depth == 2 && stack[1] == '{'))) {
			m[depth].value = cstart[depth];
			m[depth].value_len = (size_t)(p - cstart[depth]);
			m[depth].value_escaped = 0;
			m[depth].parent = depth == 2 ? &m[1] : NULL;
			fn(&m[depth], ud);
		}
		st = COMMA_OR_CLOSE;
	}
}

bool rn_jscan_object(const char *text, size_t len, rn_jscan *out)
{
	return scan_object(text, len, out, NULL, NULL);
}

bool rn_jscan_walk(const char *text, size_t len, rn_jscan_member_fn fn, void *userdata)
{
	return scan_object(text, len, NULL, fn, userdata);
}

bool rn_jscan_has_key(const char *text, size_t len, const char *key)
{
	/* re-scan, comparing top-level keys: only used off the hot path */
	const char *p = text, *end = text + len;
	size_t kl = strlen(key);
	int depth = 0, in_key_pos = 0;
	p = skip_ws(p, end);
	while (p < end) {
		char c = *p;
		if (c == '"') {
			int esc;
			const char *q = scan_string(p, end, &esc, 0);
			if (!q)
				return false;
			if (depth == 1 && in_key_pos && !esc && (size_t)(q - p - 2) == kl &&
			    !memcmp(p + 1, key, kl))
				return true;
			in_key_pos = 0;
			p = q;
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
		if ((c == '{' && depth == 1) || (c == ',' && depth == 1))
			in_key_pos = 1;
		p++;
	}
	return false;
}

/* Append code point cp as UTF-8. */
static void put_utf8(rn_buf *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	rn_buf_append(b, u, n);
}

/* Four hex digits as a number (checked by the scanner already). */
static unsigned hex4(const char *p)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++)
		v = v * 16 + (unsigned)hexval(p[i]);
	return v;
}

void rn_json_unquote(rn_buf *b, const char *lit, size_t n)
{
	if (n < 2)
		return;
	const char *p = lit + 1, *end = lit + n - 1;
	while (p < end) {
		const char *run = p;
		while (p < end && *p != '\\')
			p++;
		if (p > run)
			rn_buf_append(b, run, (size_t)(p - run));
		if (p >= end)
			break;
		char e = p[1];
		p += 2;
		switch (e) {
		case 'n':
			rn_buf_appendc(b, '\n');
			break;
		case 'r':
			rn_buf_appendc(b, '\r');
			break;
		case 't':
			rn_buf_appendc(b, '\t');
			break;
		case 'b':
			rn_buf_appendc(b, '\b');
			break;
		case 'f':
			rn_buf_appendc(b, '\f');
			break;
		case 'u': {
			unsigned cp = hex4(p);
			p += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 6 && p[0] == '\\' &&
			    p[1] == 'u') {
				unsigned lo = hex4(p + 2);
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				p += 6;
			}
			put_utf8(b, cp);
			break;
		}
		default:
			rn_buf_appendc(b, e);
			break;
		}
	}
}

void rn_json_quote(rn_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	rn_buf_reserve(b, n + 2);
	rn_buf_appendc(b, '"');
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		/* copy the longest run that needs no escaping in one go */
		const unsigned char *run = p;
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			rn_buf_append(b, run, (size_t)(p - run));
		if (p >= end)
			break;
		unsigned char c = *p;
		char esc[12];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rn_buf_append(b, esc, 2);
			p++;
		} else if (c < 0x20) {
			const char *named = c == '\n'   ? "\\n"
			                    : c == '\r' ? "\\r"
			                    : c == '\t' ? "\\t"
			                    : c == '\b' ? "\\b"
			                    : c == '\f' ? "\\f"
			                                : NULL;
			if (named) {
				rn_buf_append(b, named, 2);
			} else {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				rn_buf_append(b, esc, 6);
			}
			p++;
		} else {
			size_t l = utf8_len(p, end);
			unsigned cp;
			if (!l) { /* not UTF-8: cannot happen for decoder text; be safe */
				cp = 0xFFFD;
				l = 1;
			} else if (l == 2)
				cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
			else if (l == 3)
				cp =
				    ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
			else
				cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) |
				     ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
			p += l;
			unsigned units[2];
			int nu = 0;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[nu++] = 0xD800 + (cp >> 10);
				units[nu++] = 0xDC00 + (cp & 0x3FF);
			} else {
				units[nu++] = cp;
			}
			for (int i = 0; i < nu; i++) {
				esc[0] = '\\';
				esc[1] = 'u';
				esc[2] = hex[(units[i] >> 12) & 15];
				esc[3] = hex[(units[i] >> 8) & 15];
				esc[4] = hex[(units[i] >> 4) & 15];
				esc[5] = hex[units[i] & 15];
				rn_buf_append(b, esc, 6);
			}
		}
	}
	rn_buf_appendc(b, '"');
}
