/*
 * jscan.h - check JSON text without building it, and find a few top-level
 * keys of an object. The event path uses it so that an event carried in-band
 * by the plugin can be validated and written out as text, without the cost
 * of parsing it into a tree (which would be most of the runner's CPU time).
 */
#ifndef RUNNEL_JSCAN_H
#define RUNNEL_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Top-level keys the event path cares about (bits of rn_jscan.keys). */
enum {
	RN_KEY_UUID = 1 << 0,
	RN_KEY_EVENT = 1 << 1,
	RN_KEY_CREATED = 1 << 2,
	RN_KEY_COUNTER = 1 << 3,
	RN_KEY_STDOUT = 1 << 4,
	RN_KEY_START_LINE = 1 << 5,
	RN_KEY_END_LINE = 1 << 6,
	RN_KEY_RUNNER_IDENT = 1 << 7,
	RN_KEY_OTHER_ESCAPED = 1 << 8, /* a top-level key with a backslash escape */
	RN_KEY_STATUS = 1 << 9,
	RN_KEY_ZIPFILE = 1 << 10,
	RN_KEY_EOF = 1 << 11,
};

typedef struct rn_jscan {
	unsigned keys;     /* RN_KEY_* seen at the top level */
	const char *uuid;  /* the top-level "uuid" string's bytes, when it is a plain string */
	size_t uuid_len;   /* (no escapes); else NULL */
	const char *event; /* the same for "event" */
	size_t event_len;
	const char *counter; /* the raw text of the top-level "counter" value */
	size_t counter_len;
	const char *stdout_value; /* the raw text of the top-level "stdout" value, quotes */
	size_t stdout_len;        /* included */
} rn_jscan;

/* True if text[0..len) is exactly one JSON object (RFC 8259, strict UTF-8 in
 * strings, nesting at most 2048 deep, as jansson, optional surrounding whitespace); then
 * *out describes its top-level keys. As jansson: integers must fit in 64 bits,
 * reals must not overflow a double, keys may not hold \u0000. Unlike jansson
 * 2.14, which skips a raw NUL byte right after a number, a raw NUL is never
 * accepted. */
bool rn_jscan_object(const char *text, size_t len, rn_jscan *out);

/* A member of an object, as rn_jscan_walk() hands it out: the raw bytes of
 * its key (no quotes, escapes kept) and the raw text of its value (a string
 * with its quotes, an object with its braces, ...). */
typedef struct rn_jmember {
	/* the top-level member whose value holds this one (only its key is
	 * set: its value is still being read); NULL for a top-level member */
	const struct rn_jmember *parent;
	const char *key;
	size_t key_len;
	int key_escaped; /* the key holds a backslash escape */
	const char *value;
	size_t value_len;
	int value_escaped; /* a string value holding a backslash escape */
} rn_jmember;

typedef void (*rn_jscan_member_fn)(const rn_jmember *m, void *userdata);

/* rn_jscan_object()'s check, in the same one pass handing fn every member of
 * the top-level object and of the objects that are its members' values
 * (depth 1 and 2), each once its value is checked (so the members of an
 * object come before the member that holds it). Members are handed out as
 * the scan goes: a false return (not valid JSON) may come after some. */
bool rn_jscan_walk(const char *text, size_t len, rn_jscan_member_fn fn, void *userdata);

/* True if text[0..len) holds a top-level key `key` (plain, unescaped). Only
 * for text that rn_jscan_object() accepted. */
bool rn_jscan_has_key(const char *text, size_t len, const char *key);

/* Append the decoded bytes of a JSON string literal (quotes included, as
 * rn_jscan_object() checked it) to b. */
struct rn_buf;
void rn_json_unquote(struct rn_buf *b, const char *lit, size_t n);

/* Append s[0..n) as a JSON string literal (quotes included) in Python's
 * json.dumps(ensure_ascii=True) form. s must be valid UTF-8. */
struct rn_buf;
void rn_json_quote(struct rn_buf *b, const char *s, size_t n);

#endif
