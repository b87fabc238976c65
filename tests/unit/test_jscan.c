/* test_jscan.c - the JSON scanner, quoting and unquoting, checked against jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "util.h"

/* What jansson says of a text: a JSON object or not. */
static int jansson_object(const char *s, size_t n)
{
	json_t *v = json_loadb(s, n, JSON_ALLOW_NUL, NULL);
	int ok = json_is_object(v);
	json_decref(v);
	return ok;
}

static void test_accepts_and_rejects_like_jansson(void **state)
{
	(void)state;
	static const char *cases[] = {
	    "{}",
	    " { } ",
	    "{\"a\":1}",
	    "{\"a\":[1,2,{\"b\":null}],\"c\":true}",
	    "{\"a\":-0.5e+10}",
	    "{\"a\":\"\\u00e9\\ud83d\\ude00\"}",
	    "{\"a\":\"\\ud83d\"}",
	    "{\"a\":\"\\udc00\"}",
	    "{\"a\":01}",
	    "{\"a\":1.}",
	    "{\"a\":.5}",
	    "{\"a\":tru}",
	    "{\"a\":1,}",
	    "{,}",
	    "[]",
	    "\"x\"",
	    "1",
	    "{\"a\" 1}",
	    "{\"a\":1}}",
	    "{\"a\":1} x",
	    "{\"a\":\"\t\"}",
	    "{\"a\":\"\\x\"}",
	    "{\"a\":\"\xc3\x28\"}",
	    "{\"a\":\"\xe2\x82\xac\"}",
	    "{\"a\":\"\xed\xa0\x80\"}",
	    "{\"a\":\"\xf4\x90\x80\x80\"}",
	    "{\"a\":[}",
	    "{\"a\":[1 2]}",
	    "{\"a\":{\"b\":{\"c\":[[[]]]}}}",
	    "{\"a\":-}",
	    "{\"a\":1e}",
	    "{\"a\":\"\\u0000\"}",
	    "",
	    "{",
	    "{\"a\":nul}",
	    "{\"a\":false,\"b\":null,\"c\":[true]}",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rn_jscan sc;
		size_t n = strlen(cases[i]);
		int ours = rn_jscan_object(cases[i], n, &sc);
		if (ours != jansson_object(cases[i], n))
			fail_msg("case %zu (%s): scanner %d, jansson %d", i, cases[i], ours, !ours);
	}
}

static void test_random_mutations_agree_with_jansson(void **state)
{
	(void)state;
	const char *base =
	    "{\"event\": \"runner_on_ok\", \"uuid\": \"1234\", \"counter\": 5, "
	    "\"event_data\": {\"res\": {\"msg\": \"h\\u00e9llo\\n\", \"n\": [1, 2.5, "
	    "-3e2, true, false, null]}}, \"stdout\": \"ok: [x]\"}";
	size_t n = strlen(base);
	char *buf = rn_xmalloc(n + 2);
	srand(42);
	static const char alphabet[] = "{}[]\",:0123456789.-+eE\\u tfnrl\x80\xc3\xa9";
	for (int round = 0; round < 20000; round++) {
		memcpy(buf, base, n + 1);
		int edits = 1 + rand() % 3;
		size_t len = n;
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)rand() % len;
			buf[at] = alphabet[(size_t)rand() % (sizeof alphabet - 1)];
		}
		rn_jscan sc;
		int ours = rn_jscan_object(buf, len, &sc);
		if (ours != jansson_object(buf, len))
			fail_msg("round %d: scanner %d, jansson %d on: %s", round, ours, !ours,
			         buf);
	}
	free(buf);
}

/* What rn_jscan_walk hands out, rebuilt: the top-level members into top,
 * the members of each top-level object value into nested[key]. */
typedef struct walked {
	json_t *top, *nested;
	int bad; /* a member whose text jansson does not read */
} walked;

/* A key's raw bytes (escapes kept, no quotes), decoded by jansson. */
static json_t *load_key(const char *s, size_t n)
{
	char *k = rn_xmalloc(n + 3);
	k[0] = '"';
	memcpy(k + 1, s, n);
	k[n + 1] = '"';
	json_t *v = json_loadb(k, n + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	free(k);
	return v;
}

static void on_member(const rn_jmember *m, void *ud)
{
	walked *w = ud;
	json_t *key = load_key(m->key, m->key_len);
	json_t *val = json_loadb(m->value, m->value_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (!json_is_string(key) || !val) {
		w->bad++;
		json_decref(key);
		json_decref(val);
		return;
	}
	if (!m->parent) {
		json_object_set_new(w->top, json_string_value(key), val);
	} else {
		json_t *pk = load_key(m->parent->key, m->parent->key_len);
		json_t *obj = json_object_get(w->nested, json_string_value(pk));
		if (!obj) {
			obj = json_object();
			json_object_set_new(w->nested, json_string_value(pk), obj);
		}
		json_object_set_new(obj, json_string_value(key), val);
		json_decref(pk);
	}
	json_decref(key);
}

static void test_walk_hands_out_what_jansson_reads(void **state)
{
	(void)state;
	const char *base =
	    "{\"event\": \"runner_on_ok\", \"uuid\": \"12\\\"34\", \"counter\": 5, "
	    "\"event_data\": {\"res\": {\"msg\": \"h\\u00e9llo\\n\", \"n\": [1, 2.5, "
	    "-3e2, true, false, null]}, \"host\": \"x\", \"e\": {}}, \"list\": [{\"a\": 1}], "
	    "\"stdout\": \"ok: [x]\"}";
	size_t n = strlen(base);
	char *buf = rn_xmalloc(n + 2);
	srand(7);
	static const char alphabet[] = "{}[]\",:0123456789.-+eE\\u tfnrl";
	int checked = 0;
	for (int round = 0; round < 20000; round++) {
		memcpy(buf, base, n + 1);
		int edits = round ? 1 + rand() % 2 : 0;
		for (int e = 0; e < edits; e++)
			buf[(size_t)rand() % n] = alphabet[(size_t)rand() % (sizeof alphabet - 1)];
		json_t *ref = json_loadb(buf, n, JSON_ALLOW_NUL, NULL);
		walked w = {json_object(), json_object(), 0};
		int ok = rn_jscan_walk(buf, n, on_member, &w);
		if (ok != json_is_object(ref))
			fail_msg("round %d: walk %d, jansson %d on: %s", round, ok, !ok, buf);
		if (ok) {
			checked++;
			if (w.bad || !json_equal(w.top, ref))
				fail_msg("round %d: top-level members differ on: %s", round, buf);
			const char *k;
			json_t *v;
			json_object_foreach(ref, k, v) {
				json_t *got = json_object_get(w.nested, k);
				if (json_is_object(v) && json_object_size(v) && !json_equal(got, v))
					fail_msg("round %d: members of '%s' differ on: %s", round,
					         k, buf);
				if (!json_is_object(v) && got)
					fail_msg(
					    "round %d: members handed out for non-object '%s': %s",
					    round, k, buf);
			}
		}
		json_decref(ref);
		json_decref(w.top);
		json_decref(w.nested);
	}
	assert_true(checked > 1000);
	free(buf);
}

static void test_finds_top_level_keys(void **state)
{
	(void)state;
	const char *s =
	    "{\"event_data\": {\"uuid\": \"inner\", \"event\": \"no\"}, \"uuid\": \"u-1\", "
	    "\"event\": \"verbose\", \"counter\": 12, \"stdout\": \"a\\nb\", \"created\": \"t\"}";
	rn_jscan sc;
	assert_true(rn_jscan_object(s, strlen(s), &sc));
	assert_int_equal(sc.uuid_len, 3);
	assert_memory_equal(sc.uuid, "u-1", 3);
	assert_int_equal(sc.event_len, 7);
	assert_memory_equal(sc.event, "verbose", 7);
	assert_int_equal(sc.counter_len, 2);
	assert_memory_equal(sc.counter, "12", 2);
	assert_true(sc.keys & RN_KEY_CREATED);
	assert_false(sc.keys & RN_KEY_RUNNER_IDENT);
	assert_true(rn_jscan_has_key(s, strlen(s), "created"));
	assert_true(rn_jscan_has_key(s, strlen(s), "event_data"));
	assert_false(rn_jscan_has_key(s, strlen(s), "inner"));
	assert_false(rn_jscan_has_key(s, strlen(s), "missing"));
	rn_buf b;
	rn_buf_init(&b);
	rn_json_unquote(&b, sc.stdout_value, sc.stdout_len);
	assert_string_equal(b.data, "a\nb");
	rn_buf_free(&b);
	/* an escaped uuid value is not handed out as plain bytes */
	const char *t = "{\"uuid\": \"a\\u0062\"}";
	assert_true(rn_jscan_object(t, strlen(t), &sc));
	assert_null(sc.uuid);
	assert_true(sc.keys & RN_KEY_UUID);
}

static void test_quote_matches_python_and_round_trips(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"plain", "\"plain\""},
	    {"tab\there \"q\" \\", "\"tab\\there \\\"q\\\" \\\\\""},
	    {"\x01\x1f", "\"\\u0001\\u001f\""},
	    {"caf\xc3\xa9", "\"caf\\u00e9\""},
	    {"\xf0\x9f\x98\x80", "\"\\ud83d\\ude00\""},
	    {"\r\n\b\f", "\"\\r\\n\\b\\f\""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rn_buf b, u;
		rn_buf_init(&b);
		rn_buf_init(&u);
		rn_json_quote(&b, cases[i].in, strlen(cases[i].in));
		assert_string_equal(b.data, cases[i].want);
		rn_json_unquote(&u, b.data, b.len);
		assert_string_equal(u.data, cases[i].in);
		json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
		assert_string_equal(json_string_value(v), cases[i].in);
		json_decref(v);
		rn_buf_free(&b);
		rn_buf_free(&u);
	}
	/* NUL bytes survive */
	rn_buf b, u;
	rn_buf_init(&b);
	rn_buf_init(&u);
	rn_json_quote(&b, "a\0b", 3);
	assert_string_equal(b.data, "\"a\\u0000b\"");
	rn_json_unquote(&u, b.data, b.len);
	assert_int_equal(u.len, 3);
	assert_memory_equal(u.data, "a\0b", 3);
	rn_buf_free(&b);
	rn_buf_free(&u);
}

/* Found by fuzz/fuzz_jscan.c (the inputs are in fuzz/corpus/jscan/): numbers
 * out of jansson's range and a NUL escape in a key were accepted, so a marker
 * or a wire event holding one passed the check and then failed to parse. */
static void test_fuzz_findings_numbers_and_nul_keys(void **state)
{
	(void)state;
	static const char *cases[] = {
	    "{\"a\": 1e400}",
	    "{\"a\": -1e400}",
	    "{\"a\": 1.5E+309}",
	    "{\"n\": 123456789012345678901234567890}",
	    "{\"n\": 9223372036854775808}",
	    "{\"n\": -9223372036854775809}",
	    "{\"k\\u0000\": 1}",
	    "{\"a\": {\"\\u0000\": 1}}",
	    /* and what stays accepted */
	    "{\"n\": 9223372036854775807}",
	    "{\"n\": -9223372036854775808}",
	    "{\"a\": 1e-400}",
	    "{\"a\": 1e308}",
	    "{\"a\": 0.000000000000000000000000000000000001}",
	    "{\"s\": \"\\u0000\"}",
	    "{\"a\": [1e300, -0, 0.5e-3]}",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		rn_jscan sc;
		size_t n = strlen(cases[i]);
		int ours = rn_jscan_object(cases[i], n, &sc);
		if (ours != jansson_object(cases[i], n))
			fail_msg("%s: jscan %d, jansson %d", cases[i], ours, !ours);
		assert_int_equal(rn_jscan_walk(cases[i], n, NULL, NULL), ours);
	}
	/* a raw NUL after a number: jansson 2.14 skips it, the scanner refuses it */
	assert_false(rn_jscan_object("{\"a\": 1\0}", 9, NULL));
	/* a long run of digits, past the limit */
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_append(&b, "{\"a\": 1", 8);
	for (int i = 0; i < 400; i++)
		rn_buf_appendc(&b, '0');
	rn_buf_append(&b, ".5}", 3);
	assert_int_equal(rn_jscan_object(b.data, b.len, NULL), jansson_object(b.data, b.len));
	assert_false(rn_jscan_object(b.data, b.len, NULL));
	rn_buf_free(&b);
}

static void test_deep_nesting_is_refused_not_crashed(void **state)
{
	(void)state;
	size_t depth = 100000;
	char *s = rn_xmalloc(depth * 2 + 16);
	size_t o = 0;
	s[o++] = '{';
	memcpy(s + o, "\"a\":", 4);
	o += 4;
	for (size_t i = 0; i < depth; i++)
		s[o++] = '[';
	for (size_t i = 0; i < depth; i++)
		s[o++] = ']';
	s[o++] = '}';
	rn_jscan sc;
	assert_false(rn_jscan_object(s, o, &sc));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts_and_rejects_like_jansson),
	    cmocka_unit_test(test_random_mutations_agree_with_jansson),
	    cmocka_unit_test(test_walk_hands_out_what_jansson_reads),
	    cmocka_unit_test(test_finds_top_level_keys),
	    cmocka_unit_test(test_quote_matches_python_and_round_trips),
	    cmocka_unit_test(test_deep_nesting_is_refused_not_crashed),
	    cmocka_unit_test(test_fuzz_findings_numbers_and_nul_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
