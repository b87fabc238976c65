/* test_shlex.c - rn_shlex_split / rn_shlex_quote against Python's shlex.
 * Expectations generated with /usr/bin/python3 (shlex.split, shlex.quote). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <cmocka.h>

#include "shlex.h"

/* One shlex.split() case: input, Python's error (or NULL) and the words. */
typedef struct split_case {
	const char *in;
	const char *error;
	const char *words[8];
	size_t count;
} split_case;

static const split_case split_cases[] = {
    {"", NULL, {NULL}, 0},
    {"   ", NULL, {NULL}, 0},
    {"a", NULL, {"a", NULL}, 1},
    {"a b  c", NULL, {"a", "b", "c", NULL}, 3},
    {" \x09"
     "\x0d"
     "\x0a"
     "a\x0a"
     "",
     NULL,
     {"a", NULL},
     1},
    {"a\"b c\"d", NULL, {"ab cd", NULL}, 1},
    {"''", NULL, {"", NULL}, 1},
    {"'' ''", NULL, {"", "", NULL}, 2},
    {"a''", NULL, {"a", NULL}, 1},
    {"\"\"", NULL, {"", NULL}, 1},
    {"\"a\\\"b\"", NULL, {"a\"b", NULL}, 1},
    {"\"a\\\\b\"", NULL, {"a\\b", NULL}, 1},
    {"\"a\\$b\"", NULL, {"a\\$b", NULL}, 1},
    {"\"a\\nb\"", NULL, {"a\\nb", NULL}, 1},
    {"a\\ b", NULL, {"a b", NULL}, 1},
    {"a\\\\b", NULL, {"a\\b", NULL}, 1},
    {"\\\"", NULL, {"\"", NULL}, 1},
    {"\\'", NULL, {"'", NULL}, 1},
    {"a\\\x0a"
     "b",
     NULL,
     {"a\x0a"
      "b",
      NULL},
     1},
    {"'a\\b'", NULL, {"a\\b", NULL}, 1},
    {"'it'\"'\"'s'", NULL, {"it's", NULL}, 1},
    {"\"it's\"", NULL, {"it's", NULL}, 1},
    {"x'y'\"z\"", NULL, {"xyz", NULL}, 1},
    {"-e \"x=1 y=2\" --limit all", NULL, {"-e", "x=1 y=2", "--limit", "all", NULL}, 4},
    {"h\xc3"
     "\xa9"
     "llo w\xc3"
     "\xb6"
     "rld \"\xc3"
     "\xbc"
     "n\xc3"
     "\xaf"
     " c\xc3"
     "\xb4"
     "d\xc3"
     "\xa9"
     "\"",
     NULL,
     {"h\xc3"
      "\xa9"
      "llo",
      "w\xc3"
      "\xb6"
      "rld",
      "\xc3"
      "\xbc"
      "n\xc3"
      "\xaf"
      " c\xc3"
      "\xb4"
      "d\xc3"
      "\xa9"
      "",
      NULL},
     3},
    {"#not comment", NULL, {"#not", "comment", NULL}, 2},
    {"a#b", NULL, {"a#b", NULL}, 1},
    {"\"unterminated", "No closing quotation", {NULL}, 0},
    {"'unterminated", "No closing quotation", {NULL}, 0},
    {"trailing\\", "No escaped character", {NULL}, 0},
    {"\"esc\\", "No escaped character", {NULL}, 0},
    {"a\\\"b", NULL, {"a\"b", NULL}, 1},
    {"$HOME ${X} `cmd` $(x)", NULL, {"$HOME", "${X}", "`cmd`", "$(x)", NULL}, 4},
    {"\"\\\\\\\"\"", NULL, {"\\\"", NULL}, 1},
    {"a\x0b"
     "b\x0c"
     "c",
     NULL,
     {"a\x0b"
      "b\x0c"
      "c",
      NULL},
     1},
    {"\"\\\x0a"
     "\"",
     NULL,
     {"\\\x0a"
      "",
      NULL},
     1},
    {"\"\"a", NULL, {"a", NULL}, 1},
    {"a'' b", NULL, {"a", "b", NULL}, 2},
};

/* One shlex.quote() case. */
typedef struct quote_case {
	const char *in;
	const char *out;
} quote_case;

static const quote_case quote_cases[] = {
    {"", "''"},
    {"abc", "abc"},
    {"a b", "'a b'"},
    {"it's", "'it'\"'\"'s'"},
    {"a-b_c@d%e+f=g:h,i.j/k", "a-b_c@d%e+f=g:h,i.j/k"},
    {"x$y", "'x$y'"},
    {"h\xc3"
     "\xa9"
     "llo",
     "'h\xc3"
     "\xa9"
     "llo'"},
    {"*", "'*'"},
    {"\x09"
     "",
     "'\x09"
     "'"},
    {"''", "''\"'\"''\"'\"''"},
};

/* Every split case gives Python's words or Python's error. */
static void test_split_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++) {
		const split_case *c = &split_cases[i];
		char **argv = (char **)1;
		size_t argc = 99;
		runnel_error err = {0};
		int rc = rn_shlex_split(c->in, "env/cmdline", &argv, &argc, &err);
		if (c->error) {
			assert_int_equal(rc, -1);
			assert_null(argv);
			assert_int_equal(err.code, EINVAL);
			char want[256];
			snprintf(want, sizeof want, "env/cmdline: %s", c->error);
			assert_string_equal(err.message, want);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(argc, c->count);
		for (size_t j = 0; j < c->count; j++)
			assert_string_equal(argv[j], c->words[j]);
		assert_null(argv[argc]);
		rn_argv_free(argv);
	}
}

/* argc may be NULL and an empty input gives an empty, NULL-terminated argv. */
static void test_split_null_argc(void **state)
{
	(void)state;
	char **argv = NULL;
	assert_int_equal(rn_shlex_split("", NULL, &argv, NULL, NULL), 0);
	assert_non_null(argv);
	assert_null(argv[0]);
	rn_argv_free(argv);
	rn_argv_free(NULL);
}

/* Every quote case gives Python's shlex.quote() output. */
static void test_quote_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof quote_cases / sizeof quote_cases[0]; i++) {
		char *q = rn_shlex_quote(quote_cases[i].in);
		assert_string_equal(q, quote_cases[i].out);
		free(q);
	}
}

/* quote() output splits back into the original word. */
static void test_quote_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof quote_cases / sizeof quote_cases[0]; i++) {
		char *q = rn_shlex_quote(quote_cases[i].in);
		char **argv;
		size_t argc;
		assert_int_equal(rn_shlex_split(q, "q", &argv, &argc, NULL), 0);
		assert_int_equal(argc, 1);
		assert_string_equal(argv[0], quote_cases[i].in);
		rn_argv_free(argv);
		free(q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_table),
	    cmocka_unit_test(test_split_null_argc),
	    cmocka_unit_test(test_quote_table),
	    cmocka_unit_test(test_quote_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
