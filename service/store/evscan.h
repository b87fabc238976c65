/*
 * evscan.h - read a few fields of an event's JSON text without building a
 * tree. The hot path of runneld (the worker's event_handler, the receiver's
 * insert) sees every event; parsing each into jansson objects and dumping it
 * again would cost more than everything else they do.
 *
 * The text must be valid JSON (checked once, with rn_jscan_object(), by
 * whoever took it in): these functions only skip over values.
 */
#ifndef RUNNELD_EVSCAN_H
#define RUNNELD_EVSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* A value's raw text: a string literal with its quotes, an object with its
 * braces, a number's digits, ... p == NULL: absent. */
typedef struct evs_span {
	const char *p;
	size_t n;
} evs_span;

/* A walk over the members of one object. */
typedef struct evs_iter {
	const char *p, *end;
} evs_iter;

/* Start a walk over the object whose text is span (false: not an object). */
bool evs_begin(evs_iter *it, evs_span obj);

/* The next member: *key / *klen are the key's bytes without quotes (raw,
 * escapes kept), *val its value's text. False at the end. */
bool evs_next(evs_iter *it, const char **key, size_t *klen, evs_span *val);

/* The value of a top-level key of the object obj (the last one when the key
 * repeats, as jansson keeps). {NULL, 0} when absent. */
evs_span evs_get(evs_span obj, const char *key);

/* True if the span is a string literal (an object, ...). */
static inline bool evs_is_string(evs_span v)
{
	return v.p && v.n >= 2 && v.p[0] == '"';
}
static inline bool evs_is_object(evs_span v)
{
	return v.p && v.n >= 2 && v.p[0] == '{';
}
static inline bool evs_is_true(evs_span v)
{
	return v.p && v.n == 4 && v.p[0] == 't';
}

/* An integer value as jansson reads one (no fraction, no exponent, fits in
 * long long): true and *out, else false. */
bool evs_integer(evs_span v, long long *out);

/* A string value's bytes, unescaped: plain strings point into the text
 * (no copy); escaped ones are decoded into scratch (reset first). *len gets
 * the length. NULL when v is not a string. The result is NUL-terminated only
 * when decoded; use the length. */
const char *evs_string(evs_span v, rn_buf *scratch, size_t *len);

/* True if the string literal's bytes hold a backslash (escapes). */
bool evs_has_escape(evs_span v);

#endif
