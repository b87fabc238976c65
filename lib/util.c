/* util.c - small shared helpers of librunnel: errors, buffers, files. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <uuid/uuid.h>

/* Fill *err with a code and message; always returns -1. */
int rn_fail(runnel_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Abort with a message when memory runs out. */
static void rn_oom(void)
{
	static const char msg[] = "runnel: out of memory\n";
	(void)!write(2, msg, sizeof msg - 1);
	abort();
}

/* malloc that never returns NULL. */
void *rn_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		rn_oom();
	return p;
}

/* realloc that never returns NULL. */
void *rn_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		rn_oom();
	return p;
}

/* strdup that never returns NULL. */
char *rn_xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		rn_oom();
	return p;
}

/* strndup that never returns NULL. */
char *rn_xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		rn_oom();
	return p;
}

/* asprintf that never returns NULL. */
char *rn_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	int n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		rn_oom();
	return p;
}

/* Start an empty buffer. */
void rn_buf_init(rn_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Release a buffer's memory and leave it empty. */
void rn_buf_free(rn_buf *b)
{
	free(b->data);
	rn_buf_init(b);
}

/* Make room for extra more bytes plus the terminating NUL. */
void rn_buf_reserve(rn_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->data = rn_xrealloc(b->data, cap);
	b->cap = cap;
}

/* Append n bytes. */
void rn_buf_append(rn_buf *b, const void *p, size_t n)
{
	rn_buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Empty the buffer, keeping its memory. */
void rn_buf_reset(rn_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Drop the first n bytes. */
void rn_buf_consume(rn_buf *b, size_t n)
{
	if (n >= b->len) {
		rn_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

/* Join two path parts with exactly one '/'. */
char *rn_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	return rn_xasprintf("%.*s/%s", (int)la, a, b);
}

/* Absolute path without resolving symlinks, with "." and ".." parts folded
 * the way Python's os.path.abspath does. */
char *rn_path_abs(const char *path)
{
	char *full;
	if (path[0] == '/') {
		full = rn_xstrdup(path);
	} else {
		char *cwd = getcwd(NULL, 0);
		if (!cwd)
			return rn_xstrdup(path);
		full = rn_path_join(cwd, path);
		free(cwd);
	}
	/* normalize in place: split on '/', drop "." and "", pop on ".." */
	size_t n = strlen(full);
	char *out = rn_xmalloc(n + 2);
	size_t o = 0;
	const char *p = full;
	while (*p) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t l = (size_t)(p - s);
		if (l == 0 || (l == 1 && s[0] == '.'))
			continue;
		if (l == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, s, l);
		o += l;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(full);
	return out;
}

/* mkdir -p. */
int rn_mkdirs(const char *path, mode_t mode, runnel_error *err)
{
	char *p = rn_xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) != 0 && errno != EEXIST) {
				int e = errno;
				rn_fail(err, e, "cannot create directory %s: %s", p, strerror(e));
				free(p);
				return -1;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	if (!rn_is_dir(path))
		return rn_fail(err, ENOTDIR, "%s exists and is not a directory", path);
	return 0;
}

/* True if something exists at path. */
int rn_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* True if path is a directory. */
int rn_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* True if path is a file we can read data from (regular file or FIFO). */
int rn_is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode));
}

/* Read a whole file, regular or FIFO. */
char *rn_read_file(const char *path, size_t *len, runnel_error *err)
{
	return rn_read_file_max(path, SIZE_MAX - 1, len, err);
}

char *rn_read_file_max(const char *path, size_t max, size_t *len, runnel_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		rn_fail(err, e, "cannot open %s: %s", path, strerror(e));
		return NULL;
	}
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_reserve(&b, 4096);
	for (;;) {
		rn_buf_reserve(&b, 65536);
		ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			rn_fail(err, e, "cannot read %s: %s", path, strerror(e));
			break;
		}
		if (n == 0) {
			close(fd);
			b.data[b.len] = '\0';
			if (len)
				*len = b.len;
			return b.data;
		}
		b.len += (size_t)n;
		if (b.len > max) {
			rn_fail(err, E2BIG, "%s: document exceeds %zu bytes", path, max);
			break;
		}
	}
	close(fd);
	rn_buf_free(&b);
	return NULL;
}

/* write() everything. */
int rn_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write a file via a temporary name and rename, so readers never see half. */
int rn_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         runnel_error *err)
{
	char *tmp = rn_xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		int e = errno;
		rn_fail(err, e, "cannot create %s: %s", tmp, strerror(e));
		free(tmp);
		return -1;
	}
	fchmod(fd, mode);
	if (rn_write_all(fd, data, len) != 0) {
		int e = errno;
		rn_fail(err, e, "cannot write %s: %s", tmp, strerror(e));
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		int e = errno;
		rn_fail(err, e, "cannot rename %s to %s: %s", tmp, path, strerror(e));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

/* A random uuid4 in lower-case canonical form. */
void rn_uuid4(char out[37])
{
	uuid_t u;
	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

/* An empty pool: the first uuid fills it. */
void rn_uuid_pool_init(rn_uuid_pool *p)
{
	p->used = sizeof p->bytes;
}

/* The next uuid4 from the pool, in lower-case canonical form. */
void rn_uuid_pool_next(rn_uuid_pool *p, char out[37])
{
	if (p->used + 16 > sizeof p->bytes) {
		size_t got = 0;
		while (got < sizeof p->bytes) {
			ssize_t n = getrandom(p->bytes + got, sizeof p->bytes - got, 0);
			if (n > 0)
				got += (size_t)n;
			else if (errno != EINTR)
				break;
		}
		if (got < sizeof p->bytes) { /* no getrandom(): libuuid's own source */
			for (size_t i = 0; i + 16 <= sizeof p->bytes; i += 16)
				uuid_generate_random(p->bytes + i);
		}
		p->used = 0;
	}
	unsigned char *u = p->bytes + p->used;
	p->used += 16;
	u[6] = (unsigned char)((u[6] & 0x0F) | 0x40); /* version 4 */
	u[8] = (unsigned char)((u[8] & 0x3F) | 0x80); /* variant 10 */
	static const char hex[] = "0123456789abcdef";
	int o = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
	}
	out[o] = '\0';
}

/* UTC now, formatted like Python's datetime.utcnow().isoformat(). */
void rn_utc_isoformat(char out[32])
{
	char tmp[96];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	long usec = ts.tv_nsec / 1000;
	if (usec)
		snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	else
		snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
		         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	snprintf(out, 32, "%.31s", tmp);
}

/* Seconds on the monotonic clock. */
double rn_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Case-insensitive substring test. */
static int contains_ci(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

int rn_is_secret_key(const char *key)
{
	return contains_ci(key, "API") || contains_ci(key, "TOKEN") || contains_ci(key, "KEY") ||
	       contains_ci(key, "SECRET") || contains_ci(key, "PASS");
}

void rn_log_vline(void (*fn)(const char *line, void *userdata), void *userdata, const char *prefix,
                  const char *fmt, va_list ap)
{
	char line[2048];
	vsnprintf(line, sizeof line, fmt, ap);
	if (fn)
		fn(line, userdata);
	else
		fprintf(stderr, "%s%s\n", prefix, line);
}

void rn_debug(const runnel_config *cfg, const char *fmt, ...)
{
	if (!cfg || !cfg->debug)
		return;
	va_list ap;
	va_start(ap, fmt);
	rn_log_vline(cfg->log_handler, cfg->userdata, "runnel: debug: ", fmt, ap);
	va_end(ap);
}
