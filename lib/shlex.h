/* shlex.h - Python's shlex.split() and shlex.quote() (POSIX mode), byte for byte. */
#ifndef RUNNEL_SHLEX_H
#define RUNNEL_SHLEX_H

#include <stddef.h>
#include "runnel.h"

/* Split like Python's shlex.split(s) (posix=True, comments=False): words are
 * separated by space, tab, \r and \n; '...' is literal; in "..." a backslash
 * escapes only '"' and '\'; elsewhere a backslash escapes any byte (even a
 * newline, which is kept); quotes may appear inside a word (a"b c"d -> "ab cd")
 * and an empty quoted string is an empty word. Bytes >= 0x80 pass through.
 * On success returns 0, a NULL-terminated *argv (free with rn_argv_free) and
 * its count in *argc (argc may be NULL). On error returns -1 with err->code
 * EINVAL and a message prefixed by `what` ("env/cmdline: No closing
 * quotation", "...: No escaped character"); *argv is then NULL. */
int rn_shlex_split(const char *s, const char *what, char ***argv, size_t *argc, runnel_error *err);

/* Free a NULL-terminated argv and its strings; NULL is fine. */
void rn_argv_free(char **argv);

/* Python's shlex.quote(s): "''" for an empty string, s itself if it holds only
 * [A-Za-z0-9_@%+=:,./-], else s in single quotes with each ' written as
 * '"'"'. Caller frees. */
char *rn_shlex_quote(const char *s);

#endif
