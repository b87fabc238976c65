/*
 * stream_zip.c - the byte level of the streaming protocol (see stream.h):
 * a line reader, base64 through fixed buffers, and directories as zips.
 *
 * Memory stays flat whatever the size of the directory: the zip is built in a
 * temp file by libzip (which reads each member from its own file as it
 * compresses it), base64 is encoded from that file 48 KiB at a time, and on
 * the way back the base64 is decoded 64 KiB at a time into an unlinked temp
 * file that libzip then opens.
 *
 * The zip layout is the one of ansible-runner's utils/streaming.py, so either
 * side can read the other's: deflate; names relative to the directory;
 * directories as "name/" entries with (st_mode << 16) | 0x10; files with
 * st_mode << 16; symlinks as entries whose external attributes hold
 * (0777 | S_IFLNK) << 16 and whose content is the link target; FIFOs (and
 * sockets, devices) skipped; DOS mtimes in local time.
 */
#include "stream.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#define READER_SIZE (64 * 1024)
#define B64_IN      (48 * 1024) /* a multiple of 3: whole quads per block */

/* ------------------------------------------------------------------ reader */

void rn_reader_init(rn_reader *r, int fd)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
	r->cap = READER_SIZE;
	r->buf = rn_xmalloc(r->cap);
}

void rn_reader_free(rn_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* Refill the buffer (which the caller has used up). 1 if bytes came, 0 at end
 * of input, -1 on error. */
static int reader_fill(rn_reader *r)
{
	if (r->eof)
		return 0;
	if (r->error)
		return -1;
	r->start = r->end = 0;
	if (r->before_block)
		r->before_block(r->userdata);
	for (;;) {
		ssize_t n = read(r->fd, r->buf, r->cap);
		if (n > 0) {
			r->end = (size_t)n;
			return 1;
		}
		if (n == 0) {
			r->eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		r->error = errno;
		return -1;
	}
}

int rn_reader_line(rn_reader *r, rn_buf *line, size_t max)
{
	rn_buf_reset(line);
	bool got = false;
	for (;;) {
		if (r->start == r->end) {
			int rc = reader_fill(r);
			if (rc < 0)
				return -1;
			if (rc == 0)
				return got ? 1 : 0;
		}
		char *p = r->buf + r->start;
		size_t avail = r->end - r->start;
		char *nl = memchr(p, '\n', avail);
		size_t take = nl ? (size_t)(nl - p) : avail;
		if (line->len + take > max)
			return -1;
		rn_buf_append(line, p, take);
		got = true;
		r->start += take;
		if (nl) {
			r->start++;
			return 1;
		}
	}
}

/* ------------------------------------------------------------------ base64 */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode n bytes (n % 3 == 0 unless it is the last block) into out. */
static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = b64chars[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64chars[v >> 18];
		out[o++] = b64chars[(v >> 12) & 63];
		out[o++] = b64chars[(v >> 6) & 63];
		out[o++] = '=';
	}
	return o;
}

/* Read up to n bytes, retrying short reads; returns bytes read or -1. */
static ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(fd, (char *)buf + got, n - got);
		if (k == 0)
			break;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)k;
	}
	return (ssize_t)got;
}

/* A fresh temp file path under $TMPDIR (or /tmp); the file exists, empty. */
static int make_temp(char **path_out, runnel_error *err)
{
	const char *tmpdir = getenv("TMPDIR");
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	char *path = rn_xasprintf("%s/runnel-stream-XXXXXX", tmpdir);
	int fd = mkstemp(path);
	if (fd < 0) {
		int e = errno;
		rn_fail(err, e, "cannot create a temp file in %s: %s", tmpdir, strerror(e));
		free(path);
		return -1;
	}
	*path_out = path;
	return fd;
}

int rn_stream_dir(const char *dir, rn_write_fn write_fn, void *ctx, runnel_error *err)
{
	char *zpath = NULL;
	int fd = make_temp(&zpath, err);
	if (fd < 0)
		return -1;
	close(fd);
	int rc = rn_zip_dir(dir, zpath, err);
	fd = rc == 0 ? open(zpath, O_RDONLY | O_CLOEXEC) : -1;
	if (rc == 0 && fd < 0)
		rc = rn_fail(err, errno, "cannot open %s: %s", zpath, strerror(errno));
	unlink(zpath);
	free(zpath);
	if (rc != 0)
		return -1;

	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return rn_fail(err, errno, "cannot stat the zip: %s", strerror(errno));
	}
	char head[64];
	int hn = snprintf(head, sizeof head, "{\"zipfile\": %lld}\n", (long long)st.st_size);
	unsigned char *in = rn_xmalloc(B64_IN);
	char *out = rn_xmalloc(B64_IN / 3 * 4 + 4);
	if (write_fn(ctx, head, (size_t)hn) != 0) {
		rc = rn_fail(err, errno, "cannot write the stream: %s", strerror(errno));
		goto done;
	}
	for (;;) {
		ssize_t n = read_full(fd, in, B64_IN);
		if (n < 0) {
			rc = rn_fail(err, errno, "cannot read the zip: %s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		size_t o = b64_encode(in, (size_t)n, out);
		if (write_fn(ctx, out, o) != 0) {
			rc = rn_fail(err, errno, "cannot write the stream: %s", strerror(errno));
			break;
		}
		if ((size_t)n < B64_IN)
			break;
	}
done:
	free(in);
	free(out);
	close(fd);
	return rc;
}

/* Decode table: 0..63, 64 for '=', 65 for whitespace, 255 for anything else. */
static unsigned char b64dec[256];

static void b64_table(void)
{
	if (b64dec['A'] == 0 && b64dec['/'] == 63)
		return;
	memset(b64dec, 255, sizeof b64dec);
	for (int i = 0; i < 64; i++)
		b64dec[(unsigned char)b64chars[i]] = (unsigned char)i;
	b64dec['='] = 64;
	b64dec[' '] = b64dec['\t'] = b64dec['\n'] = b64dec['\r'] = b64dec['\v'] = b64dec['\f'] = 65;
}

int rn_unstream_dir(rn_reader *r, int64_t length, const char *target, bool *consumed_ok,
                    runnel_error *err)
{
	if (consumed_ok)
		*consumed_ok = false;
	if (length <= 0)
		return rn_fail(err, EINVAL, "bad zipfile length %lld", (long long)length);
	b64_table();
	char *zpath = NULL;
	int fd = make_temp(&zpath, err);
	if (fd < 0)
		return -1;
	unlink(zpath);
	free(zpath);

	int64_t want = (length + 2) / 3 * 4; /* base64 characters to read */
	unsigned char quad[4];
	int qn = 0, pads = 0;
	int64_t written = 0;
	size_t cap = 64 * 1024, olen = 0;
	unsigned char *out = rn_xmalloc(cap + 3);
	int rc = 0;
	while (want > 0) {
		if (r->start == r->end) {
			int f = reader_fill(r);
			if (f <= 0) {
				rc = rn_fail(err, f < 0 ? r->error : EPIPE,
				             "the stream ended inside the zip (%lld base64 "
				             "characters missing)",
				             (long long)want);
				goto out;
			}
		}
		const unsigned char *p = (const unsigned char *)r->buf + r->start;
		size_t avail = r->end - r->start, i = 0;
		for (; i < avail && want > 0; i++) {
			unsigned char d = b64dec[p[i]];
			if (d == 65)
				continue;
			want--;
			if (d == 255 || (d != 64 && pads)) {
				rc = rn_fail(err, EINVAL, "invalid base64 in the zip data");
				r->start += i + 1;
				goto out;
			}
			if (d == 64) {
				if (qn < 2) {
					rc = rn_fail(err, EINVAL,
					             "invalid base64 padding in the zip data");
					r->start += i + 1;
					goto out;
				}
				pads++;
			}
			quad[qn++] = d == 64 ? 0 : d;
			if (qn == 4) {
				uint32_t v = (uint32_t)quad[0] << 18 | (uint32_t)quad[1] << 12 |
				             (uint32_t)quad[2] << 6 | quad[3];
				out[olen++] = (unsigned char)(v >> 16);
				if (pads < 2)
					out[olen++] = (unsigned char)(v >> 8);
				if (pads < 1)
					out[olen++] = (unsigned char)v;
				qn = 0;
				if (olen >= cap) {
					if (rn_write_all(fd, out, olen) != 0) {
						rc = rn_fail(err, errno,
						             "cannot write a temp file: %s",
						             strerror(errno));
						r->start += i + 1;
						goto out;
					}
					written += (int64_t)olen;
					olen = 0;
				}
			}
		}
		r->start += i;
	}
	if (olen && rn_write_all(fd, out, olen) != 0) {
		rc = rn_fail(err, errno, "cannot write a temp file: %s", strerror(errno));
		goto out;
	}
	written += (int64_t)olen;
	if (consumed_ok)
		*consumed_ok = true;
	if (written != length) {
		rc = rn_fail(err, EINVAL, "the zip data holds %lld bytes, not %lld",
		             (long long)written, (long long)length);
		goto out;
	}
	free(out);
	if (lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return rn_fail(err, errno, "cannot rewind a temp file: %s", strerror(errno));
	}
	return rn_unzip_fd(fd, target, err);
out:
	free(out);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ zip out */

/* DOS dates cannot hold times before 1980 (nor after 2107): clamp as
 * Python's zipfile does with strict_timestamps=False. */
static time_t dos_clamp(time_t t)
{
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return t;
	if (tm.tm_year < 80) {
		struct tm lo = {.tm_year = 80, .tm_mon = 0, .tm_mday = 1, .tm_isdst = -1};
		return mktime(&lo);
	}
	if (tm.tm_year > 207) {
		struct tm hi = {.tm_year = 207,
		                .tm_mon = 11,
		                .tm_mday = 31,
		                .tm_hour = 23,
		                .tm_min = 59,
		                .tm_sec = 58,
		                .tm_isdst = -1};
		return mktime(&hi);
	}
	return t;
}

typedef struct zip_writer {
	zip_t *za;
	const char *root;
	runnel_error *err;
} zip_writer;

static int zip_fail(zip_writer *w, const char *what, const char *name)
{
	return rn_fail(w->err, EIO, "cannot add %s to the zip (%s): %s", name, what,
	               zip_strerror(w->za));
}

static int zip_meta(zip_writer *w, zip_int64_t idx, const char *name, uint32_t attr, time_t mtime,
                    bool deflate)
{
	if (zip_file_set_external_attributes(w->za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX, attr) !=
	        0 ||
	    zip_file_set_mtime(w->za, (zip_uint64_t)idx, dos_clamp(mtime), 0) != 0)
		return zip_fail(w, "attributes", name);
	if (deflate && zip_set_file_compression(w->za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 6) != 0)
		return zip_fail(w, "compression", name);
	return 0;
}

/* One directory level: files (and symlinks) first, then directories, each
 * added before its contents, as os.walk(topdown) lists them. rel is "" at the
 * top, else "a/b/". */
static int zip_walk(zip_writer *w, const char *abs, const char *rel)
{
	DIR *d = opendir(abs);
	if (!d)
		return rn_fail(w->err, errno, "cannot read %s: %s", abs, strerror(errno));
	char **subdirs = NULL;
	size_t nsub = 0;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *full = rn_xasprintf("%s/%s", abs, de->d_name);
		char *name = rn_xasprintf("%s%s", rel, de->d_name);
		struct stat st;
		if (lstat(full, &st) != 0) {
			/* vanished while we walked: upstream would fail; skip */
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(full, target, sizeof target);
			if (n < 0) {
				rc = rn_fail(w->err, errno, "cannot read link %s: %s", full,
				             strerror(errno));
			} else {
				char *copy = rn_xmalloc((size_t)n + 1);
				memcpy(copy, target, (size_t)n);
				zip_source_t *src =
				    zip_source_buffer(w->za, copy, (zip_uint64_t)n, 1);
				zip_int64_t idx =
				    src ? zip_file_add(w->za, name, src, ZIP_FL_ENC_GUESS) : -1;
				if (idx < 0) {
					if (src)
						zip_source_free(src);
					else
						free(copy);
					rc = zip_fail(w, "symlink", name);
				} else {
					rc =
					    zip_meta(w, idx, name, (uint32_t)(0777 | S_IFLNK) << 16,
					             st.st_mtime, true);
				}
			}
		} else if (S_ISDIR(st.st_mode)) {
			subdirs = rn_xrealloc(subdirs, (nsub + 1) * sizeof *subdirs);
			subdirs[nsub++] = rn_xstrdup(de->d_name);
		} else if (S_ISREG(st.st_mode)) {
			zip_source_t *src = zip_source_file(w->za, full, 0, -1);
			zip_int64_t idx =
			    src ? zip_file_add(w->za, name, src, ZIP_FL_ENC_GUESS) : -1;
			if (idx < 0) {
				if (src)
					zip_source_free(src);
				rc = zip_fail(w, "file", name);
			} else {
				rc = zip_meta(w, idx, name, (uint32_t)(st.st_mode & 0xFFFF) << 16,
				              st.st_mtime, true);
			}
		}
		/* FIFOs (a leftover ssh_key_data), sockets and devices: skipped */
		free(full);
		free(name);
	}
	closedir(d);
	/* directory entries, then their contents */
	for (size_t i = 0; rc == 0 && i < nsub; i++) {
		char *full = rn_xasprintf("%s/%s", abs, subdirs[i]);
		char *name = rn_xasprintf("%s%s", rel, subdirs[i]);
		struct stat st;
		if (lstat(full, &st) == 0) {
			zip_int64_t idx = zip_dir_add(w->za, name, ZIP_FL_ENC_GUESS);
			if (idx < 0)
				rc = zip_fail(w, "directory", name);
			else
				rc = zip_meta(w, idx, name,
				              (uint32_t)(st.st_mode & 0xFFFF) << 16 | 0x10,
				              st.st_mtime, false);
		}
		free(full);
		free(name);
	}
	for (size_t i = 0; rc == 0 && i < nsub; i++) {
		char *full = rn_xasprintf("%s/%s", abs, subdirs[i]);
		char *sub = rn_xasprintf("%s%s/", rel, subdirs[i]);
		rc = zip_walk(w, full, sub);
		free(full);
		free(sub);
	}
	for (size_t i = 0; i < nsub; i++)
		free(subdirs[i]);
	free(subdirs);
	return rc;
}

int rn_zip_dir(const char *dir, const char *zip_path, runnel_error *err)
{
	int zerr = 0;
	zip_t *za = zip_open(zip_path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
	if (!za) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, zerr);
		rn_fail(err, EIO, "cannot create %s: %s", zip_path, zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return -1;
	}
	zip_writer w = {.za = za, .root = dir, .err = err};
	int rc = dir && *dir ? zip_walk(&w, dir, "") : 0;
	if (rc != 0) {
		zip_discard(za);
		return -1;
	}
	if (zip_get_num_entries(za, 0) == 0) {
		/* libzip writes nothing for an empty archive: write the bare
		 * end-of-central-directory record, as Python does */
		zip_discard(za);
		static const unsigned char eocd[22] = {0x50, 0x4b, 0x05, 0x06};
		return rn_write_file_atomic(zip_path, eocd, sizeof eocd, 0600, err);
	}
	if (zip_close(za) != 0) {
		rn_fail(err, EIO, "cannot write %s: %s", zip_path, zip_strerror(za));
		zip_discard(za);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ zip in */

/* A directory made by the extraction: its mode and mtime are applied last,
 * once nothing more is created in it. */
typedef struct made_dir {
	char *name; /* normalized, relative to the target */
	mode_t mode;
	time_t mtime;
} made_dir;

typedef struct unzipper {
	zip_t *za;
	int root; /* dirfd of the target */
	runnel_error *err;
	made_dir *dirs;
	size_t ndirs;
} unzipper;

/* Split and check an entry name: no absolute names, no "..", "." and empty
 * parts dropped. Returns the normalized name (caller frees) or NULL. */
static char *normalize_name(const char *name)
{
	if (name[0] == '/')
		return NULL;
	rn_buf b;
	rn_buf_init(&b);
	const char *p = name;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			rn_buf_free(&b);
			return NULL;
		}
		if (n && !(n == 1 && p[0] == '.')) {
			if (b.len)
				rn_buf_appendc(&b, '/');
			rn_buf_append(&b, p, n);
		}
		p += n;
		if (*p == '/')
			p++;
	}
	if (!b.len) {
		rn_buf_free(&b);
		return rn_xstrdup("");
	}
	return b.data;
}

/* Open (creating as needed) the directory that holds the last part of name,
 * never following a symlink. Returns a dirfd and points *leaf into name; -1
 * with err if a part is a symlink or not a directory. */
static int open_parent(unzipper *u, char *name, const char **leaf)
{
	int dfd = dup(u->root);
	if (dfd < 0)
		return rn_fail(u->err, errno, "dup: %s", strerror(errno));
	char *p = name;
	for (;;) {
		char *slash = strchr(p, '/');
		if (!slash) {
			*leaf = p;
			return dfd;
		}
		*slash = 0;
		if (mkdirat(dfd, p, 0777) != 0 && errno != EEXIST) {
			int e = errno;
			*slash = '/';
			close(dfd);
			return rn_fail(u->err, e, "cannot create the directory of %s: %s", name,
			               strerror(e));
		}
		int nfd = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		*slash = '/';
		close(dfd);
		if (nfd < 0)
			return rn_fail(u->err, e, "refusing %s: a part of it is %s", name,
			               e == ELOOP || e == ENOTDIR ? "a symlink or not a directory"
			                                          : strerror(e));
		dfd = nfd;
		p = slash + 1;
	}
}

static int copy_entry(unzipper *u, zip_uint64_t i, int fd, const char *name)
{
	zip_file_t *zf = zip_fopen_index(u->za, i, 0);
	if (!zf)
		return rn_fail(u->err, EIO, "cannot read %s from the zip: %s", name,
		               zip_strerror(u->za));
	char *buf = rn_xmalloc(64 * 1024);
	int rc = 0;
	for (;;) {
		zip_int64_t n = zip_fread(zf, buf, 64 * 1024);
		if (n < 0) {
			rc = rn_fail(u->err, EIO, "cannot read %s from the zip: %s", name,
			             zip_file_strerror(zf));
			break;
		}
		if (n == 0)
			break;
		if (rn_write_all(fd, buf, (size_t)n) != 0) {
			rc = rn_fail(u->err, errno, "cannot write %s: %s", name, strerror(errno));
			break;
		}
	}
	free(buf);
	zip_fclose(zf);
	return rc;
}

/* Read a small entry (a symlink target) whole. */
static char *read_small(unzipper *u, zip_uint64_t i, zip_uint64_t size, const char *name)
{
	if (size >= PATH_MAX) {
		rn_fail(u->err, EINVAL, "symlink %s: target too long", name);
		return NULL;
	}
	zip_file_t *zf = zip_fopen_index(u->za, i, 0);
	if (!zf) {
		rn_fail(u->err, EIO, "cannot read %s from the zip: %s", name, zip_strerror(u->za));
		return NULL;
	}
	char *buf = rn_xmalloc(PATH_MAX + 1);
	zip_int64_t got = 0;
	for (;;) {
		zip_int64_t n = zip_fread(zf, buf + got, (zip_uint64_t)(PATH_MAX - got));
		if (n < 0) {
			rn_fail(u->err, EIO, "cannot read %s from the zip: %s", name,
			        zip_file_strerror(zf));
			zip_fclose(zf);
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		got += n;
		if (got >= PATH_MAX)
			break;
	}
	zip_fclose(zf);
	buf[got] = 0;
	if (got == 0 || (zip_uint64_t)got >= PATH_MAX || memchr(buf, 0, (size_t)got)) {
		rn_fail(u->err, EINVAL, "symlink %s: bad target", name);
		free(buf);
		return NULL;
	}
	return buf;
}

static int extract_one(unzipper *u, zip_uint64_t i)
{
	zip_stat_t zs;
	if (zip_stat_index(u->za, i, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_NAME))
		return rn_fail(u->err, EIO, "bad zip entry %llu: %s", (unsigned long long)i,
		               zip_strerror(u->za));
	const char *raw = zs.name;
	zip_uint8_t opsys = 0;
	zip_uint32_t attr = 0;
	zip_file_get_external_attributes(u->za, i, 0, &opsys, &attr);
	mode_t mode = (mode_t)(attr >> 16);
	bool is_link = S_ISLNK(mode);
	bool is_dir = !is_link && (S_ISDIR(mode) || (*raw && raw[strlen(raw) - 1] == '/'));
	time_t mtime = (zs.valid & ZIP_STAT_MTIME) ? zs.mtime : time(NULL);
	/* set-id bits are not restored from a stream; no mode at all (a zip
	 * made elsewhere): the usual defaults */
	mode_t perm = mode & 01777;
	if ((mode & 07777) == 0)
		perm = is_dir ? 0755 : 0644;

	char *name = normalize_name(raw);
	if (!name)
		return rn_fail(u->err, EPERM, "refusing zip entry %s: outside the target", raw);
	if (!*name) {
		free(name);
		return 0; /* "./": the target itself */
	}
	const char *leaf;
	int dfd = open_parent(u, name, &leaf);
	if (dfd < 0) {
		free(name);
		return -1;
	}
	int rc = 0;
	struct stat st;
	bool exists = fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (exists && S_ISFIFO(st.st_mode) && !is_link) {
		/* as upstream: a leftover pipe (ssh_key_data) is removed and the
		 * entry skipped */
		unlinkat(dfd, leaf, 0);
		goto done;
	}
	if (is_dir) {
		if (exists && (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)))
			goto done; /* pre-existing dirs keep their mode, as upstream */
		if (exists) {
			rc = rn_fail(u->err, EEXIST, "cannot create directory %s: a file is there",
			             name);
			goto done;
		}
		if (mkdirat(dfd, leaf, 0700) != 0) {
			rc = rn_fail(u->err, errno, "cannot create directory %s: %s", name,
			             strerror(errno));
			goto done;
		}
		u->dirs = rn_xrealloc(u->dirs, (u->ndirs + 1) * sizeof *u->dirs);
		u->dirs[u->ndirs++] = (made_dir){rn_xstrdup(name), perm, mtime};
		goto done;
	}
	if (exists && S_ISDIR(st.st_mode)) {
		rc = rn_fail(u->err, EISDIR, "cannot extract %s: a directory is there", name);
		goto done;
	}
	/* never write through an existing symlink or file: replace it */
	if (exists && unlinkat(dfd, leaf, 0) != 0) {
		rc = rn_fail(u->err, errno, "cannot replace %s: %s", name, strerror(errno));
		goto done;
	}
	struct timespec ts[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
	if (is_link) {
		char *target = read_small(u, i, (zs.valid & ZIP_STAT_SIZE) ? zs.size : 0, name);
		if (!target) {
			rc = -1;
			goto done;
		}
		if (symlinkat(target, dfd, leaf) != 0)
			rc = rn_fail(u->err, errno, "cannot create symlink %s: %s", name,
			             strerror(errno));
		else
			utimensat(dfd, leaf, ts, AT_SYMLINK_NOFOLLOW);
		free(target);
		goto done;
	}
	int fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = rn_fail(u->err, errno, "cannot create %s: %s", name, strerror(errno));
		goto done;
	}
	rc = copy_entry(u, i, fd, name);
	if (rc == 0 && (fchmod(fd, perm) != 0 || futimens(fd, ts) != 0))
		rc = rn_fail(u->err, errno, "cannot set the mode of %s: %s", name, strerror(errno));
	close(fd);
done:
	close(dfd);
	free(name);
	return rc;
}

/* Apply the modes and mtimes of the directories the extraction made. */
static void finish_dirs(unzipper *u)
{
	for (size_t k = u->ndirs; k-- > 0;) {
		made_dir *m = &u->dirs[k];
		const char *leaf;
		runnel_error ignored;
		int dfd =
		    open_parent(&(unzipper){.root = u->root, .err = &ignored}, m->name, &leaf);
		if (dfd >= 0) {
			int fd = openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0) {
				struct timespec ts[2] = {{.tv_sec = m->mtime},
				                         {.tv_sec = m->mtime}};
				(void)fchmod(fd, m->mode);
				(void)futimens(fd, ts);
				close(fd);
			}
			close(dfd);
		}
	}
}

int rn_unzip_fd(int fd, const char *target, runnel_error *err)
{
	int zerr = 0;
	zip_t *za = zip_fdopen(fd, 0, &zerr);
	if (!za) {
		zip_error_t ze;
		zip_error_init_with_code(&ze, zerr);
		rn_fail(err, EINVAL, "not a zip: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		close(fd);
		return -1;
	}
	if (rn_mkdirs(target, 0700, err) != 0) {
		zip_discard(za);
		return -1;
	}
	unzipper u = {.za = za, .err = err};
	u.root = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u.root < 0) {
		rn_fail(err, errno, "cannot open %s: %s", target, strerror(errno));
		zip_discard(za);
		return -1;
	}
	int rc = 0;
	zip_int64_t n = zip_get_num_entries(za, 0);
	for (zip_int64_t i = 0; rc == 0 && i < n; i++)
		rc = extract_one(&u, (zip_uint64_t)i);
	finish_dirs(&u);
	for (size_t k = 0; k < u.ndirs; k++)
		free(u.dirs[k].name);
	free(u.dirs);
	close(u.root);
	zip_discard(za);
	return rc;
}

/* ------------------------------------------------------------------ json */

static int dump_to_buf(const char *p, size_t n, void *data)
{
	rn_buf_append(data, p, n);
	return 0;
}

void rn_json_py(const json_t *v, rn_buf *b)
{
	rn_buf_reset(b);
	json_dump_callback(v, dump_to_buf, b, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);
}
