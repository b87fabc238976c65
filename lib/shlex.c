/* shlex.c - Python's shlex.split() and shlex.quote() (POSIX mode). */
#include "shlex.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A growing argv under construction. */
typedef struct argv_builder {
	char **v;
	size_t n;
	size_t cap;
} argv_builder;

/* Append a copy of the word in b to the argv under construction. */
static void argv_push(argv_builder *a, const rn_buf *b)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->v = rn_xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = rn_xstrndup(b->len ? b->data : "", b->len);
	a->v[a->n] = NULL;
}

/* True for the bytes Python's shlex treats as whitespace. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Split s into words with Python's POSIX shlex rules. */
int rn_shlex_split(const char *s, const char *what, char ***argv, size_t *argc, runnel_error *err)
{
	argv_builder a = {0};
	rn_buf word;
	bool in_word = false; /* a word has started (possibly empty, from quotes) */
	const char *problem = NULL;

	*argv = NULL;
	if (argc)
		*argc = 0;
	rn_buf_init(&word);
	for (const char *p = s; *p && !problem; p++) {
		char c = *p;
		if (is_space(c)) {
			if (in_word) {
				argv_push(&a, &word);
				rn_buf_reset(&word);
				in_word = false;
			}
		} else if (c == '\\') {
			/* Outside quotes a backslash takes the next byte literally. */
			if (!p[1]) {
				problem = "No escaped character";
				break;
			}
			rn_buf_appendc(&word, *++p);
			in_word = true;
		} else if (c == '\'') {
			const char *end = strchr(p + 1, '\'');
			if (!end) {
				problem = "No closing quotation";
				break;
			}
			rn_buf_append(&word, p + 1, (size_t)(end - p - 1));
			p = end;
			in_word = true;
		} else if (c == '"') {
			for (p++;; p++) {
				if (!*p) {
					problem = "No closing quotation";
					break;
				}
				if (*p == '"')
					break;
				if (*p == '\\') {
					/* Only " and \ are escaped; else the backslash stays. */
					if (!p[1]) {
						problem = "No escaped character";
						break;
					}
					if (p[1] != '"' && p[1] != '\\')
						rn_buf_appendc(&word, '\\');
					rn_buf_appendc(&word, *++p);
					continue;
				}
				rn_buf_appendc(&word, *p);
			}
			if (problem)
				break;
			in_word = true;
		} else {
			rn_buf_appendc(&word, c);
			in_word = true;
		}
	}
	if (!problem && in_word)
		argv_push(&a, &word);
	rn_buf_free(&word);
	if (problem) {
		rn_argv_free(a.v);
		return rn_fail(err, EINVAL, "%s: %s", what ? what : "shlex", problem);
	}
	if (!a.v) {
		a.v = rn_xmalloc(sizeof *a.v);
		a.v[0] = NULL;
	}
	*argv = a.v;
	if (argc)
		*argc = a.n;
	return 0;
}

/* Free a NULL-terminated argv. */
void rn_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

/* True for the bytes shlex.quote() leaves unquoted. */
static bool is_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("_@%+=:,./-", c));
}

/* Quote s for a POSIX shell the way Python's shlex.quote() does. */
char *rn_shlex_quote(const char *s)
{
	if (!*s)
		return rn_xstrdup("''");
	bool safe = true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!is_safe(*p)) {
			safe = false;
			break;
		}
	if (safe)
		return rn_xstrdup(s);
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_appendc(&b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			rn_buf_append(&b, "'\"'\"'", 5);
		else
			rn_buf_appendc(&b, *p);
	}
	rn_buf_appendc(&b, '\'');
	return b.data;
}
