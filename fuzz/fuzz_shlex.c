/*
 * fuzz_shlex.c - Python's shlex.split()/quote() (lib/shlex.c), which reads
 * env/cmdline, --cmdline and the args file.
 *
 * Input: a string (cut at its first NUL, as a C string it is). Checks: a
 * failed split gives no argv and a message; a successful one gives argc
 * words, NULL-terminated; rn_shlex_quote() of every word splits back to
 * exactly that one word, and joining the quoted words splits back to the
 * same argv.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shlex.h"
#include "util.h"

static void die(const char *why)
{
	fprintf(stderr, "fuzz_shlex: %s\n", why);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = rn_xstrndup((const char *)data, size);
	char **argv = NULL;
	size_t argc = 0;
	runnel_error err = {0};
	if (rn_shlex_split(s, "fuzz", &argv, &argc, &err) != 0) {
		if (argv || err.code == 0 || strncmp(err.message, "fuzz", 4) != 0)
			die("a failed split without its error");
		free(s);
		return 0;
	}
	if (!argv || argv[argc])
		die("argv is not NULL-terminated at argc");
	rn_buf joined;
	rn_buf_init(&joined);
	for (size_t i = 0; i < argc; i++) {
		char *q = rn_shlex_quote(argv[i]);
		char **back = NULL;
		size_t n = 0;
		runnel_error e2 = {0};
		if (rn_shlex_split(q, "quoted", &back, &n, &e2) != 0 || n != 1 ||
		    strcmp(back[0], argv[i]) != 0)
			die("a quoted word does not split back to itself");
		rn_argv_free(back);
		if (i)
			rn_buf_appendc(&joined, ' ');
		rn_buf_append(&joined, q, strlen(q));
		free(q);
	}
	rn_buf_appendc(&joined, '\0');
	char **again = NULL;
	size_t n2 = 0;
	runnel_error e3 = {0};
	if (rn_shlex_split(joined.data, "joined", &again, &n2, &e3) != 0 || n2 != argc)
		die("the joined quoted words do not split back");
	for (size_t i = 0; i < argc; i++)
		if (strcmp(again[i], argv[i]) != 0)
			die("the joined quoted words split into other words");
	rn_argv_free(again);
	rn_buf_free(&joined);
	rn_argv_free(argv);
	free(s);
	return 0;
}
