/*
 * expect.h - answer password prompts on the pty, as pexpect does for
 * ansible-runner's env/passwords: each regex (Python re syntax, compiled as
 * PCRE2 with MULTILINE) is tried on the output received since the last answer;
 * the first pattern that matches gets its answer followed by "\n".
 */
#ifndef RUNNEL_EXPECT_H
#define RUNNEL_EXPECT_H

#include <stddef.h>
#include <jansson.h>
#include "runnel.h"

typedef struct rn_expect rn_expect;

/* Compile a passwords mapping (pattern -> answer). Patterns that do not
 * compile are reported on stderr by name and skipped (upstream ignores them
 * silently). Returns NULL when there is nothing to answer. `what` names the
 * source for messages (e.g. "env/passwords"). */
rn_expect *rn_expect_new(const json_t *passwords, const char *what);
void rn_expect_free(rn_expect *x);

/* Feed output text. When a prompt matches, return its answer (borrowed, with
 * no newline) and forget the text up to the match; otherwise NULL. Call again
 * with len 0 to look for a further match in what is held. */
const char *rn_expect_feed(rn_expect *x, const char *text, size_t len);

#endif
