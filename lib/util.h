/* util.h - small shared helpers of librunnel: errors, buffers, files. */
#ifndef RUNNEL_UTIL_H
#define RUNNEL_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
#include "runnel.h"

/* Fill *err (if not NULL) with code and a printf-style message; return -1 so
 * callers can write `return rn_fail(err, ENOENT, "...", ...);`. */
int rn_fail(runnel_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* malloc/realloc/strdup that abort on out-of-memory: the runner cannot do
 * anything useful without memory, and every caller checking would hide the
 * real error paths. */
void *rn_xmalloc(size_t n);
void *rn_xrealloc(void *p, size_t n);
char *rn_xstrdup(const char *s);
char *rn_xstrndup(const char *s, size_t n);
/* asprintf that aborts on out-of-memory. */
char *rn_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer; always NUL-terminated after data[len]. */
typedef struct rn_buf {
	char *data;
	size_t len;
	size_t cap;
} rn_buf;

void rn_buf_init(rn_buf *b);
void rn_buf_free(rn_buf *b);
void rn_buf_reserve(rn_buf *b, size_t extra);
void rn_buf_append(rn_buf *b, const void *p, size_t n);
/* Append one byte (inline: it is on the decoder's hot path). */
static inline void rn_buf_appendc(rn_buf *b, char c)
{
	if (b->len + 2 > b->cap)
		rn_buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}
void rn_buf_reset(rn_buf *b);
/* Drop the first n bytes. */
void rn_buf_consume(rn_buf *b, size_t n);

/* Join two path parts with one '/'. Caller frees. */
char *rn_path_join(const char *a, const char *b);
/* Absolute form of path (relative to the cwd), without resolving symlinks.
 * Caller frees. */
char *rn_path_abs(const char *path);
/* mkdir -p with mode for every directory created. 0 or -1 with err. */
int rn_mkdirs(const char *path, mode_t mode, runnel_error *err);
/* True if path exists (any type). */
int rn_exists(const char *path);
int rn_is_dir(const char *path);
int rn_is_file(const char *path);

/* Read a whole file (a regular file or a named pipe). Returns a NUL-terminated
 * buffer the caller frees, sets *len; NULL with err on failure (err->code is
 * errno, ENOENT for a missing file). */
char *rn_read_file(const char *path, size_t *len, runnel_error *err);
/* The same, refusing a file longer than max bytes (E2BIG, "PATH: document
 * exceeds N bytes"). */
char *rn_read_file_max(const char *path, size_t max, size_t *len, runnel_error *err);

/* Write data to path atomically (path.tmp then rename) with the given mode.
 * 0 or -1 with err. */
int rn_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         runnel_error *err);

/* write() all of it, retrying on EINTR and short writes. 0 or -1 (errno). */
int rn_write_all(int fd, const void *data, size_t len);

/* A new random uuid4 in canonical text form into out (37 bytes). */
void rn_uuid4(char out[37]);

/* uuid4s from a buffer of random bytes refilled 4 KiB at a time: a syscall
 * per uuid (libuuid) costs more than the rest of a verbose event. */
typedef struct rn_uuid_pool {
	unsigned char bytes[4096];
	size_t used;
} rn_uuid_pool;
void rn_uuid_pool_init(rn_uuid_pool *p);
void rn_uuid_pool_next(rn_uuid_pool *p, char out[37]);

/* Current UTC time as Python's datetime.utcnow().isoformat() prints it:
 * "2024-01-02T03:04:05.123456" into out (32 bytes). */
void rn_utc_isoformat(char out[32]);

/* True for environment keys whose values are secrets (AWX's rule: the key
 * matches /API|TOKEN|KEY|SECRET|PASS/i). */
int rn_is_secret_key(const char *key);

/* Format one log line (at most 2 KiB) and hand it to fn(line, userdata), or
 * print it to stderr behind `prefix` when fn is NULL. */
void rn_log_vline(void (*fn)(const char *line, void *userdata), void *userdata, const char *prefix,
                  const char *fmt, va_list ap);

/* Write a debug line through config->log_handler or to stderr, if
 * config->debug is set. */
void rn_debug(const runnel_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Monotonic clock in seconds. */
double rn_now(void);

#endif
