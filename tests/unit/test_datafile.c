/* test_datafile.c - rn_datafile_load / rn_datafile_load_mapping / rn_py_str.
 * Expected str() values and types generated with /usr/bin/python3: the
 * ArtifactLoader rule (json.loads, then yaml.safe_load when that fails or is
 * falsy) followed by str(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "datafile.h"

/* A file content, Python's str() of what it loads to, and the json type
 * ('o' object, 'a' array, 's' string, 'i' integer, 'r' real, 't' true,
 * 'f' false, 'n' null). */
typedef struct load_case {
	const char *content;
	const char *str;
	char type;
} load_case;

static const load_case load_cases[] = {
    {"", "None", 'n'},
    {"   \x0a"
     "",
     "None", 'n'},
    {"{}", "{}", 'o'},
    {"[]", "[]", 'a'},
    {"0", "0", 'i'},
    {"\"\"", "", 's'},
    {"null", "None", 'n'},
    {"~", "None", 'n'},
    {"a: 1", "{'a': 1}", 'o'},
    {"{\"a\": 1, \"a\": 2}", "{'a': 2}", 'o'},
    {"{\"a\": 1}", "{'a': 1}", 'o'},
    {"[1, 2.5, \"x\", true, null]", "[1, 2.5, 'x', True, None]", 'a'},
    {"yes", "True", 't'},
    {"No", "False", 'f'},
    {"ON", "True", 't'},
    {"off", "False", 'f'},
    {"y", "y", 's'},
    {"n", "n", 's'},
    {"TRUE", "True", 't'},
    {"tRUE", "tRUE", 's'},
    {"0x1F", "31", 'i'},
    {"-0x1f", "-31", 'i'},
    {"0o17", "0o17", 's'},
    {"017", "15", 'i'},
    {"-017", "-15", 'i'},
    {"08", "08", 's'},
    {"0b101", "5", 'i'},
    {"0_", "0", 'i'},
    {"1_000", "1000", 'i'},
    {"+12", "12", 'i'},
    {"-0", "0", 'i'},
    {"1:30", "90", 'i'},
    {"-1:30:00", "-5400", 'i'},
    {"1:60", "1:60", 's'},
    {"190:20:30.15", "685230.15", 'r'},
    {"1.5", "1.5", 'r'},
    {"1.", "1.0", 'r'},
    {".5", "0.5", 'r'},
    {"+.5", "+.5", 's'},
    {"-.5", "-.5", 's'},
    {"1.0e5", "100000.0", 'r'},
    {"1.0e+5", "100000.0", 'r'},
    {"1e5", "100000.0", 'r'},
    {"1E+5", "100000.0", 'r'},
    {"1.5E-3", "0.0015", 'r'},
    {".inf", "inf", 's'},
    {"-.Inf", "-inf", 's'},
    {"+.INF", "inf", 's'},
    {".nan", "nan", 's'},
    {"-.nan", "-.nan", 's'},
    {"12345678901234567890123", "12345678901234567890123", 's'},
    {"-12345678901234567890", "-12345678901234567890", 's'},
    {"9223372036854775807", "9223372036854775807", 'i'},
    {"9223372036854775808", "9223372036854775808", 's'},
    {"-9223372036854775808", "-9223372036854775808", 'i'},
    {"0xFFFFFFFFFFFFFFFFFF", "4722366482869645213695", 's'},
    {"0.1", "0.1", 'r'},
    {"1e16", "1e+16", 'r'},
    {"1.0e+16", "1e+16", 'r'},
    {"123456789.125", "123456789.125", 'r'},
    {"0.0001", "0.0001", 'r'},
    {"0.00001", "1e-05", 'r'},
    {"1.0e-05", "1e-05", 'r'},
    {"3.14159265358979", "3.14159265358979", 'r'},
    {"100.0", "100.0", 'r'},
    {"1234567890123456.0", "1234567890123456.0", 'r'},
    {"12345678901234567.0", "1.2345678901234568e+16", 'r'},
    {"2001-12-14", "2001-12-14", 's'},
    {"2001-1-4", "2001-1-4", 's'},
    {"2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.100000-05:00", 's'},
    {"2001-12-14 21:59:43.10 Z", "2001-12-14 21:59:43.100000+00:00", 's'},
    {"2001-12-14 21:59:43", "2001-12-14 21:59:43", 's'},
    {"2001-12-14T21:59:43.1234567+5", "2001-12-14 21:59:43.123456+05:00", 's'},
    {"2002-12-14 2:59:43.10", "2002-12-14 02:59:43.100000", 's'},
    {"\"quoted\"", "quoted", 's'},
    {"'single'", "single", 's'},
    {"\"yes\"", "yes", 's'},
    {"!!str yes", "yes", 's'},
    {"!!int \"12\"", "12", 'i'},
    {"!!float \"1\"", "1.0", 'r'},
    {"!!bool \"on\"", "True", 't'},
    {"! 12", "12", 'i'},
    {"! \"12\"", "12", 'i'},
    {"!!str 0x10", "0x10", 's'},
    {"a: &x 1\x0a"
     "b: *x",
     "{'a': 1, 'b': 1}", 'o'},
    {"base: &b {x: 1, y: 2}\x0a"
     "d:\x0a"
     "  <<: *b\x0a"
     "  y: 3",
     "{'base': {'x': 1, 'y': 2}, 'd': {'x': 1, 'y': 3}}", 'o'},
    {"{b: 3, <<: [{a: 1}, {a: 2, c: 4}]}", "{'a': 1, 'c': 4, 'b': 3}", 'o'},
    {"= : 1", "{'=': 1}", 'o'},
    {"k: [1, \"two\", 3.0, null, yes]", "{'k': [1, 'two', 3.0, None, True]}", 'o'},
    {"k: {a: b, \"c d\": [1]}", "{'k': {'a': 'b', 'c d': [1]}}", 'o'},
    {"k: \"it's\"", "{'k': \"it's\"}", 'o'},
    {"k: ['it''s', \"a\\\"b\"]", "{'k': [\"it's\", 'a\"b']}", 'o'},
    {"k: \"tab\\there\"", "{'k': 'tab\\there'}", 'o'},
    {"k: \"\\u00e9\\u00a0x\"",
     "{'k': '\xc3"
     "\xa9"
     "\\xa0x'}",
     'o'},
    {"---\x0a"
     "a: 1\x0a"
     "...\x0a"
     "",
     "{'a': 1}", 'o'},
    {"---\x0a"
     "",
     "None", 'n'},
    {"key: value # comment", "{'key': 'value'}", 'o'},
    {"multi: |\x0a"
     "  line1\x0a"
     "  line2\x0a"
     "",
     "{'multi': 'line1\\nline2\\n'}", 'o'},
    {"folded: >\x0a"
     "  a\x0a"
     "  b\x0a"
     "",
     "{'folded': 'a b\\n'}", 'o'},
    {"\xef"
     "\xbb"
     "\xbf"
     "{\"a\": 1}",
     "{'a': 1}", 'o'},
    {"\xef"
     "\xbb"
     "\xbf"
     "a: 1",
     "{'a': 1}", 'o'},
    {"env: {PATH: /usr/bin, N: 5, F: 1.50, B: no, E: \"\", NN: null}",
     "{'env': {'PATH': '/usr/bin', 'N': 5, 'F': 1.5, 'B': False, 'E': '', 'NN': None}}", 'o'},
    {"x: -1_0.5_", "{'x': -10.5}", 'o'},
    {"x: 0.", "{'x': 0.0}", 'o'},
    {"x: 1__.5", "{'x': 1.5}", 'o'},
    {"x: 0b", "{'x': '0b'}", 'o'},
    {"x: 00", "{'x': 0}", 'o'},
    {"x: 0x", "{'x': '0x'}", 'o'},
    {"x: 1:2:3", "{'x': 3723}", 'o'},
    {"x: 1_2:30", "{'x': 750}", 'o'},
    /* documented differences from Python: non-string keys become their str() */
    {"1: a\n2.5: b\n~: d", "{'1': 'a', '2.5': 'b', 'None': 'd'}", 'o'},
    {"!!set {a, b}", "{'a': None, 'b': None}", 'o'},
    {"!!omap [a: 1, b: 2]", "[['a', 1], ['b', 2]]", 'a'},
    {"!!binary aGVsbG8=", "hello", 's'},
    /* tabs: allowed by PyYAML only in quoted and block scalars and comments */
    {"a: \"x\ty\"", "{'a': 'x\\ty'}", 'o'},
    {"a: |\n  x\ty\n", "{'a': 'x\\ty\\n'}", 'o'},
    {"a: 1 #\tc\n#\td\n", "{'a': 1}", 'o'},
};

/* Content that does not load, and a piece of the error message. */
typedef struct error_case {
	const char *content;
	const char *message;
} error_case;

static const error_case error_cases[] = {
    {"a: 1\n---\nb: 2", "line 2, column 1: expected a single document in the stream"},
    {"a: b: c", "line 1, column 5: mapping values are not allowed in this context"},
    {"a: [1, 2", "line 2, column 1: did not find expected ',' or ']' (while parsing a flow "
                 "sequence at line 1, column 4)"},
    {"\"unterminated", "found unexpected end of stream"},
    {"&a x: &a y", "line 1, column 7: found duplicate anchor 'a'"},
    {"*nope", "line 1, column 1: found undefined alias 'nope'"},
    {"!foo bar", "could not determine a constructor for the tag '!foo'"},
    {"[a, b]: 1", "found unhashable key"},
    {"&a [*a]", "recursive alias"},
    {"a: =", "could not determine a constructor for the tag 'tag:yaml.org,2002:value'"},
    {"2001-02-30", "invalid timestamp '2001-02-30'"},
    {"!!int abc", "invalid integer 'abc'"},
    {"x: 0b_", "invalid integer '0b_'"}, /* matches the int regex; int('', 2) fails */
    {"!!bool maybe", "invalid boolean 'maybe'"},
    {"!!map [1]", "expected a mapping node, but found sequence"},
    {"<<: 1", "expected a mapping or list of mappings for merging"},
    {"key:\tvalue", "line 1, column 5: found character '\\t' that cannot start any token"},
    {"{a: 1,\tb: 2}", "line 1, column 7: found character '\\t'"},
    {"a: 1\t", "line 1, column 5: found character '\\t'"},
    {"a: b\tc", "line 1, column 5: found character '\\t'"},
    {"a: \x07", "byte 3: control characters are not allowed"},
    {"\xff\xfe garbage \x01\x02", "byte 0: invalid leading UTF-8 octet"},
    {"\x00\x01\x02", "control characters are not allowed"},
};

static char tmpdir[] = "/tmp/test_datafile.XXXXXX";

/* Write content to a new file in the temp dir; returns its path (static). */
static const char *write_case(const char *name, const char *content, size_t len)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
	return path;
}

/* The type letter of a json value. */
static char type_letter(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return 'o';
	case JSON_ARRAY:
		return 'a';
	case JSON_STRING:
		return 's';
	case JSON_INTEGER:
		return 'i';
	case JSON_REAL:
		return 'r';
	case JSON_TRUE:
		return 't';
	case JSON_FALSE:
		return 'f';
	default:
		return 'n';
	}
}

/* Every table case loads to Python's value (same str(), same type). */
static void test_load_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof load_cases / sizeof load_cases[0]; i++) {
		const load_case *c = &load_cases[i];
		runnel_error err = {0};
		const char *path = write_case("case", c->content, strlen(c->content));
		json_t *v = rn_datafile_load(path, &err);
		if (!v)
			fail_msg("case %zu (%s): %s", i, c->content, err.message);
		char *s = rn_py_str(v);
		if (strcmp(s, c->str) != 0 || type_letter(v) != c->type)
			fail_msg("case %zu (%s): got %s (%c), want %s (%c)", i, c->content, s,
			         type_letter(v), c->str, c->type);
		free(s);
		json_decref(v);
	}
}

/* Files that parse neither as JSON nor as YAML give EINVAL and a message
 * naming the file and the place. */
static void test_load_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
		const error_case *c = &error_cases[i];
		runnel_error err = {0};
		size_t len = c->content[0] ? strlen(c->content) : 3;
		const char *path = write_case("bad", c->content, len);
		json_t *v = rn_datafile_load(path, &err);
		if (v)
			fail_msg("case %zu (%s) loaded", i, c->content);
		assert_int_equal(err.code, EINVAL);
		if (strncmp(err.message, path, strlen(path)) != 0 ||
		    !strstr(err.message, c->message))
			fail_msg("case %zu: message '%s' lacks '%s'", i, err.message, c->message);
	}
}

/* A file that is valid JSON is loaded as JSON: duplicate keys keep the last
 * value, and YAML-only meanings do not apply to JSON strings. */
static void test_json_first(void **state)
{
	(void)state;
	runnel_error err = {0};
	static const char text[] = "{\"a\": \"yes\", \"b\": 1, \"b\": 2, \"c\": [1.5e3]}";
	const char *path = write_case("json", text, sizeof text - 1);
	json_t *v = rn_datafile_load(path, &err);
	assert_non_null(v);
	char *s = rn_py_str(v);
	assert_string_equal(s, "{'a': 'yes', 'b': 2, 'c': [1500.0]}");
	free(s);
	json_decref(v);
}

/* A missing file is ENOENT for both loaders. */
static void test_missing(void **state)
{
	(void)state;
	runnel_error err = {0};
	char path[512];
	snprintf(path, sizeof path, "%s/does-not-exist", tmpdir);
	assert_null(rn_datafile_load(path, &err));
	assert_int_equal(err.code, ENOENT);
	memset(&err, 0, sizeof err);
	assert_null(rn_datafile_load_mapping(path, &err));
	assert_int_equal(err.code, ENOENT);
}

/* Mapping files: a mapping loads; empty, null, a list or a scalar is EINVAL. */
static void test_mapping(void **state)
{
	(void)state;
	static const struct {
		const char *content;
		const char *message; /* NULL: loads */
	} cases[] = {
	    {"A: 1\nB: yes\nC: 1.50\nD: ~\n", NULL},
	    {"{\"A\": \"x\"}", NULL},
	    {"{}", NULL},
	    {"", "expected a mapping, got null or an empty file"},
	    {"\n\n", "expected a mapping, got null or an empty file"},
	    {"~", "expected a mapping, got null or an empty file"},
	    {"- a\n- b\n", "expected a mapping, got a list"},
	    {"[]", "expected a mapping, got a list"},
	    {"just text", "expected a mapping, got a string"},
	    {"42", "expected a mapping, got an integer"},
	    {"4.2", "expected a mapping, got a float"},
	    {"yes", "expected a mapping, got a boolean"},
	    {"a: [", "line 2, column 1"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		runnel_error err = {0};
		const char *path =
		    write_case("envvars", cases[i].content, strlen(cases[i].content));
		json_t *v = rn_datafile_load_mapping(path, &err);
		if (!cases[i].message) {
			assert_non_null(v);
			assert_true(json_is_object(v));
			json_decref(v);
			continue;
		}
		assert_null(v);
		assert_int_equal(err.code, EINVAL);
		if (!strstr(err.message, cases[i].message) ||
		    strncmp(err.message, path, strlen(path)) != 0)
			fail_msg("case %zu: message '%s' lacks '%s'", i, err.message,
			         cases[i].message);
	}
	/* the values of env/envvars stringified the way upstream's str(v) does */
	runnel_error err = {0};
	static const char text[] = "A: 1\nB: yes\nC: 1.50\nD: ~\nE: [a, 1]\n";
	const char *path = write_case("envvars", text, sizeof text - 1);
	json_t *v = rn_datafile_load_mapping(path, &err);
	assert_non_null(v);
	static const char *const want[][2] = {
	    {"A", "1"}, {"B", "True"}, {"C", "1.5"}, {"D", "None"}, {"E", "['a', 1]"}};
	for (size_t i = 0; i < 5; i++) {
		char *s = rn_py_str(json_object_get(v, want[i][0]));
		assert_string_equal(s, want[i][1]);
		free(s);
	}
	json_decref(v);
}

/* A named pipe is read once, to its end. */
static void test_fifo(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof path, "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY);
		static const char text[] = "from: fifo\nn: 0x10\n";
		_exit(fd >= 0 && write(fd, text, sizeof text - 1) == sizeof text - 1 ? 0 : 1);
	}
	runnel_error err = {0};
	json_t *v = rn_datafile_load_mapping(path, &err);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(v);
	char *s = rn_py_str(v);
	assert_string_equal(s, "{'from': 'fifo', 'n': 16}");
	free(s);
	json_decref(v);
	unlink(path);
}

/* Python's repr() of floats, from /usr/bin/python3. */
static void test_py_str_floats(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *repr;
	} cases[] = {
	    {0.0, "0.0"},
	    {-0.0, "-0.0"},
	    {1.0, "1.0"},
	    {0.1, "0.1"},
	    {1e+16, "1e+16"},
	    {1e+20, "1e+20"},
	    {1.5e-07, "1.5e-07"},
	    {123.456, "123.456"},
	    {1e+22, "1e+22"},
	    {2.5e-05, "2.5e-05"},
	    {0.3333333333333333, "0.3333333333333333"},
	    {5e-324, "5e-324"},
	    {1.7976931348623157e+308, "1.7976931348623157e+308"},
	    {100.0, "100.0"},
	    {1000000000000000.0, "1000000000000000.0"},
	    {123456789012345.6, "123456789012345.6"},
	    {-2.5, "-2.5"},
	    {0.0001, "0.0001"},
	    {0.00012345, "0.00012345"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *v = json_real(cases[i].v);
		char *s = rn_py_str(v);
		assert_string_equal(s, cases[i].repr);
		free(s);
		json_decref(v);
	}
}

/* Python's str() of scalars and containers (repr of the items inside). */
static void test_py_str_values(void **state)
{
	(void)state;
	json_t *v = json_loads(
	    "[\"a\",1,2.5,null,true,false,\"it's\",\"a\\\"b\",\"both'\\\"\",\"back\\\\slash\","
	    "\"nl\\n\",\"\\u0001\\u007f\",\"\\u00e9\",\"\\u00a0\",\"\\u200b\","
	    "{\"k\":\"v\",\"n\":[]},{}]",
	    0, NULL);
	assert_non_null(v);
	char *s = rn_py_str(v);
	assert_string_equal(s, "['a', 1, 2.5, None, True, False, \"it's\", 'a\"b', 'both\\'\"', "
	                       "'back\\\\slash', 'nl\\n', '\\x01\\x7f', '\xc3\xa9', '\\xa0', "
	                       "'\\u200b', {'k': 'v', 'n': []}, {}]");
	free(s);
	json_decref(v);
	static const struct {
		const char *json;
		const char *str;
	} cases[] = {
	    {"\"plain 'text'\"", "plain 'text'"},
	    {"true", "True"},
	    {"false", "False"},
	    {"null", "None"},
	    {"-42", "-42"},
	    {"9223372036854775807", "9223372036854775807"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		s = rn_py_str(v);
		assert_string_equal(s, cases[i].str);
		free(s);
		json_decref(v);
	}
}

/* Create the temp dir. */
static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

/* Remove the temp dir and its files. */
static int teardown(void **state)
{
	(void)state;
	static const char *const names[] = {"case", "bad",  "json", "envvars",
	                                    "fifo", "bomb", "big"};
	char path[512];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	return rmdir(tmpdir);
}

/* The 342-byte "billion laughs": nine levels of nine aliases, 9^9 strings. */
static const char laughs[] =
    "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";

/* The same with mappings and merge keys: each level merges the one before
 * under eight keys. */
static const char merge_laughs[] =
    "a: &a {k1: lol, k2: lol, k3: lol, k4: lol, k5: lol, k6: lol, k7: lol, k8: lol}\n"
    "b: &b {<<: *a, m1: *a, m2: *a, m3: *a, m4: *a, m5: *a, m6: *a, m7: *a, m8: *a}\n"
    "c: &c {<<: *b, m1: *b, m2: *b, m3: *b, m4: *b, m5: *b, m6: *b, m7: *b, m8: *b}\n"
    "d: &d {<<: *c, m1: *c, m2: *c, m3: *c, m4: *c, m5: *c, m6: *c, m7: *c, m8: *c}\n"
    "e: &e {<<: *d, m1: *d, m2: *d, m3: *d, m4: *d, m5: *d, m6: *d, m7: *d, m8: *d}\n"
    "f: &f {<<: *e, m1: *e, m2: *e, m3: *e, m4: *e, m5: *e, m6: *e, m7: *e, m8: *e}\n"
    "g: &g {<<: *f, m1: *f, m2: *f, m3: *f, m4: *f, m5: *f, m6: *f, m7: *f, m8: *f}\n"
    "h: &h {<<: *g, m1: *g, m2: *g, m3: *g, m4: *g, m5: *g, m6: *g, m7: *g, m8: *g}\n";

/* Peak resident memory of this process in KiB. */
static long max_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Alias bombs in a file fail with E2BIG and a message naming the file and
 * the bound, from the document alone (memory stays flat), for both loaders. */
static void test_alias_bombs(void **state)
{
	(void)state;
	const char *bombs[] = {laughs, merge_laughs};
	long before = max_rss_kib();
	for (size_t i = 0; i < 2; i++) {
		const char *path = write_case("bomb", bombs[i], strlen(bombs[i]));
		char want[600];
		snprintf(want, sizeof want, "%s: YAML alias expansion exceeds %u nodes", path,
		         RN_DATAFILE_MAX_NODES);
		runnel_error err = {0};
		assert_null(rn_datafile_load(path, &err));
		assert_int_equal(err.code, E2BIG);
		assert_string_equal(err.message, want);
		memset(&err, 0, sizeof err);
		assert_null(rn_datafile_load_mapping(path, &err));
		assert_int_equal(err.code, E2BIG);
		assert_string_equal(err.message, want);
	}
	/* the expanded trees would hold 387 million and 43 million nodes */
	if (max_rss_kib() - before > 32 * 1024)
		fail_msg("loading the bombs grew the peak RSS by %ld KiB", max_rss_kib() - before);
}

/* Text in memory: the message names the field it came from. */
static void test_alias_bomb_parse(void **state)
{
	(void)state;
	runnel_error err = {0};
	assert_null(rn_datafile_parse("variables", laughs, strlen(laughs), &err));
	assert_int_equal(err.code, E2BIG);
	char want[128];
	snprintf(want, sizeof want, "variables: YAML alias expansion exceeds %u nodes",
	         RN_DATAFILE_MAX_NODES);
	assert_string_equal(err.message, want);
	/* the error also comes through when the caller passes no err */
	assert_null(rn_datafile_parse("variables", laughs, strlen(laughs), NULL));
}

/* Aliases that stay within the bound load, expanded: 4 levels of 9 is 9^4
 * strings; a bound of nodes, not of aliases. */
static void test_aliases_within_bounds(void **state)
{
	(void)state;
	static const char text[] = "a: &a [x, x, x, x, x, x, x, x, x]\n"
	                           "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	                           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	                           "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	                           "e: {<<: {k: v}, f: *a}\n";
	runnel_error err = {0};
	json_t *v = rn_datafile_parse("vars", text, sizeof text - 1, &err);
	if (!v)
		fail_msg("%s", err.message);
	char *s = json_dumps(json_object_get(v, "d"), JSON_COMPACT);
	size_t xs = 0;
	for (const char *p = s; (p = strchr(p, 'x')); p++)
		xs++;
	assert_int_equal(xs, 9 * 9 * 9 * 9);
	free(s);
	assert_string_equal(json_string_value(json_object_get(json_object_get(v, "e"), "k")), "v");
	json_decref(v);
}

/* Aliases nested in aliases past 512 levels (each anchor 100 deep, six
 * levels of them) are refused before anything recurses that deep. */
static void test_alias_depth(void **state)
{
	(void)state;
	char text[8192];
	size_t n = 0;
	for (int level = 0; level < 7; level++) {
		n += (size_t)snprintf(text + n, sizeof text - n, "l%d: &l%d ", level, level);
		for (int i = 0; i < 100; i++)
			text[n++] = '[';
		n += (size_t)snprintf(text + n, sizeof text - n, level ? "*l%d" : "x", level - 1);
		for (int i = 0; i < 100; i++)
			text[n++] = ']';
		text[n++] = '\n';
	}
	runnel_error err = {0};
	assert_null(rn_datafile_parse("deep", text, n, &err));
	assert_int_equal(err.code, E2BIG);
	assert_non_null(strstr(err.message, "nesting deeper than 512 levels"));
	assert_int_equal(strncmp(err.message, "deep: ", 6), 0);
}

/* A document past RN_DATAFILE_MAX_BYTES is refused before it is parsed: a
 * (sparse) file, and text in memory. */
static void test_document_size(void **state)
{
	(void)state;
	const char *path = write_case("big", "", 0);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)RN_DATAFILE_MAX_BYTES + 1), 0);
	close(fd);
	runnel_error err = {0};
	assert_null(rn_datafile_load(path, &err));
	assert_int_equal(err.code, E2BIG);
	char want[600];
	snprintf(want, sizeof want, "%s: document exceeds %u bytes", path, RN_DATAFILE_MAX_BYTES);
	assert_string_equal(err.message, want);
	unlink(path);
	/* one byte less is read (and is not a document: NULs) */
	memset(&err, 0, sizeof err);
	path = write_case("big", "", 0);
	fd = open(path, O_WRONLY);
	assert_int_equal(ftruncate(fd, (off_t)RN_DATAFILE_MAX_BYTES), 0);
	close(fd);
	json_t *v = rn_datafile_load(path, &err);
	assert_int_not_equal(err.code, E2BIG);
	json_decref(v);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_table),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_json_first),
	    cmocka_unit_test(test_missing),
	    cmocka_unit_test(test_mapping),
	    cmocka_unit_test(test_fifo),
	    cmocka_unit_test(test_py_str_floats),
	    cmocka_unit_test(test_py_str_values),
	    cmocka_unit_test(test_alias_bombs),
	    cmocka_unit_test(test_alias_bomb_parse),
	    cmocka_unit_test(test_aliases_within_bounds),
	    cmocka_unit_test(test_alias_depth),
	    cmocka_unit_test(test_document_size),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
