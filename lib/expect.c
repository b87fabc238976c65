/*
 * expect.c - answer password prompts from env/passwords (see expect.h).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "expect.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* pexpect searches a window of recent output; prompts are short, so holding
 * the last few KB of text since the last answer is plenty. */
#define EXPECT_WINDOW 4096

typedef struct prompt {
	pcre2_code *re;
	char *answer;
} prompt;

struct rn_expect {
	prompt *prompts;
	size_t n;
	rn_buf window; /* output since the last answer, at most EXPECT_WINDOW bytes */
	pcre2_match_data *md;
};

rn_expect *rn_expect_new(const json_t *passwords, const char *what)
{
	if (!json_is_object(passwords) || json_object_size(passwords) == 0)
		return NULL;
	rn_expect *x = rn_xmalloc(sizeof *x);
	memset(x, 0, sizeof *x);
	x->prompts = rn_xmalloc(json_object_size(passwords) * sizeof *x->prompts);
	rn_buf_init(&x->window);
	const char *pattern;
	json_t *answer;
	json_object_foreach((json_t *)passwords, pattern, answer) {
		int code;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile(
		    (PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
		    PCRE2_MULTILINE | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
		if (!re) {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(code, msg, sizeof msg);
			fprintf(stderr,
			        "runnel: warning: %s: pattern '%s' does not compile (%s at offset "
			        "%zu); skipped\n",
			        what, pattern, (char *)msg, (size_t)off);
			continue;
		}
		/* upstream sends None (nothing) for a null answer */
		char *a = json_is_string(answer) ? rn_xstrdup(json_string_value(answer))
		          : json_is_null(answer) ? NULL
		                                 : json_dumps(answer, JSON_ENCODE_ANY);
		x->prompts[x->n].re = re;
		x->prompts[x->n].answer = a;
		x->n++;
	}
	if (x->n == 0) {
		rn_expect_free(x);
		return NULL;
	}
	x->md = pcre2_match_data_create(4, NULL);
	return x;
}

void rn_expect_free(rn_expect *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n; i++) {
		pcre2_code_free(x->prompts[i].re);
		free(x->prompts[i].answer);
	}
	free(x->prompts);
	rn_buf_free(&x->window);
	pcre2_match_data_free(x->md);
	free(x);
}

const char *rn_expect_feed(rn_expect *x, const char *text, size_t len)
{
	if (!x)
		return NULL;
	rn_buf_append(&x->window, text, len);
	if (x->window.len > EXPECT_WINDOW)
		rn_buf_consume(&x->window, x->window.len - EXPECT_WINDOW);
	for (size_t i = 0; i < x->n; i++) {
		int rc = pcre2_match(x->prompts[i].re, (PCRE2_SPTR)x->window.data, x->window.len, 0,
		                     0, x->md, NULL);
		if (rc < 0)
			continue;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->md);
		rn_buf_consume(&x->window, ov[1]);
		return x->prompts[i].answer ? x->prompts[i].answer : "";
	}
	return NULL;
}
