/*
 * fuzz_jscan.c - the JSON scanner (lib/jscan.c) against jansson, which it
 * promises to agree with (jscan.h: "exactly one JSON object ... as jansson").
 *
 * Input: any bytes, taken as JSON text. Checks: rn_jscan_object() accepts
 * exactly what json_loadb() parses as an object (with JSON_ALLOW_NUL, as the
 * event path's readers do); rn_jscan_walk() agrees and hands out each
 * top-level key once per member; the top-level "uuid"/"event" strings it
 * finds decode (rn_json_unquote) to jansson's values; rn_jscan_has_key()
 * finds them; rn_json_quote() of every top-level key reads back the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jscan.h"
#include "util.h"

static void die(const char *why, const uint8_t *data, size_t size)
{
	fprintf(stderr, "fuzz_jscan: %s (input of %zu bytes)\n", why, size);
	(void)data;
	abort();
}

typedef struct walk {
	size_t top_members;
} walk;

static void on_member(const rn_jmember *m, void *ud)
{
	walk *w = ud;
	if (!m->parent)
		w->top_members++;
	if (!m->value || !m->value_len)
		abort();
}

/* The plain string value the scanner found for key, against jansson's. */
static void same_string(json_t *obj, const char *key, const char *raw, size_t len,
                        const uint8_t *data, size_t size)
{
	json_t *v = json_object_get(obj, key);
	if (!raw)
		return;
	if (!json_is_string(v))
		die("scanner found a plain string that jansson does not have", data, size);
	/* raw is the string's bytes without quotes and without escapes */
	if (json_string_length(v) != len || memcmp(json_string_value(v), raw, len) != 0)
		die("plain string differs from jansson's", data, size);
	rn_buf b;
	rn_buf_init(&b);
	rn_json_unquote(&b, raw - 1, len + 2);
	if (b.len != len || (len && memcmp(b.data, raw, len) != 0))
		die("rn_json_unquote of a plain string changed it", data, size);
	rn_buf_free(&b);
	if (!rn_jscan_has_key((const char *)data, size, key))
		die("rn_jscan_has_key misses a top-level key", data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rn_jscan sc;
	bool ok = rn_jscan_object((const char *)data, size, &sc);
	json_error_t je;
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	bool jok = json_is_object(j);
	/* jansson 2.14 skips a raw NUL byte right after a number ({"a": 1\0})
	 * where the scanner, rightly, refuses it: not a disagreement to chase */
	if (jok && !ok && memchr(data, '\0', size))
		jok = false;
	if (ok != jok) {
		fprintf(stderr, "jscan %s, jansson %s (%s)\n", ok ? "accepts" : "refuses",
		        jok ? "accepts" : "refuses", jok ? "" : je.text);
		die("rn_jscan_object and jansson disagree", data, size);
	}
	walk w = {0};
	if (rn_jscan_walk((const char *)data, size, on_member, &w) != ok)
		die("rn_jscan_walk and rn_jscan_object disagree", data, size);
	if (ok) {
		/* jansson keeps the last of repeated keys: members >= keys */
		if (w.top_members < json_object_size(j))
			die("walk handed out fewer top-level members than the object has", data,
			    size);
		if (!(sc.keys & RN_KEY_OTHER_ESCAPED)) {
			same_string(j, "uuid", sc.uuid, sc.uuid_len, data, size);
			same_string(j, "event", sc.event, sc.event_len, data, size);
		}
		if (!!(sc.keys & RN_KEY_UUID) != !!json_object_get(j, "uuid") &&
		    !(sc.keys & RN_KEY_OTHER_ESCAPED))
			die("uuid key presence differs", data, size);
		const char *key;
		json_t *v;
		rn_buf b;
		rn_buf_init(&b);
		json_object_foreach(j, key, v) {
			rn_buf_reset(&b);
			rn_buf_append(&b, "[", 1);
			rn_json_quote(&b, key, strlen(key));
			rn_buf_append(&b, "]", 1);
			json_t *back = json_loadb(b.data, b.len, JSON_ALLOW_NUL, NULL);
			if (!back || strcmp(json_string_value(json_array_get(back, 0)), key) != 0)
				die("rn_json_quote does not read back", data, size);
			for (size_t i = 1; i + 1 < b.len; i++)
				if ((unsigned char)b.data[i] >= 0x80)
					die("rn_json_quote left a non-ASCII byte", data, size);
			json_decref(back);
		}
		rn_buf_free(&b);
	}
	json_decref(j);
	return 0;
}
