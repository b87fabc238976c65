/*
 * stream.h - the pieces of ansible-runner's streaming protocol (transmit,
 * worker, process): a buffered line reader, base64 of a file in and out
 * through fixed buffers, and a directory as a zip (the layout of upstream's
 * utils/streaming.py) written to and read from temp files, never held whole
 * in memory.
 *
 * The protocol itself (runnel_transmit, runnel_worker, runnel_process) is in
 * include/runnel.h; this header is internal to librunnel.
 */
#ifndef RUNNEL_STREAM_H
#define RUNNEL_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "runnel.h"
#include "util.h"

/* The longest JSON line accepted from a stream: a line that grows past it is
 * treated as unparseable (the stream is garbage) rather than eating memory. */
#define RN_STREAM_MAX_LINE (256u << 20)

/* A reader over a file descriptor with a fixed buffer. */
typedef struct rn_reader {
	int fd;
	char *buf;
	size_t start, end, cap;
	bool eof;
	int error; /* errno of a failed read, 0 if none */
	/* called before a read that may block: a chance to flush output */
	void (*before_block)(void *userdata);
	void *userdata;
} rn_reader;

void rn_reader_init(rn_reader *r, int fd);
void rn_reader_free(rn_reader *r);

/* Read one line (through '\n', which is dropped) into *line, as Python's
 * readline(): at end of input a last line without '\n' is returned as is.
 * Returns 1 with a line, 0 at end of input with nothing read, -1 on a read
 * error or a line longer than max. */
int rn_reader_line(rn_reader *r, rn_buf *line, size_t max);

/* Write `{"zipfile": N}\n` and the base64 (no newlines) of a zip of dir
 * through write_fn(ctx, bytes, len), which returns 0 or -1 (errno). The zip
 * goes through a temp file. 0 or -1 with err. */
typedef int (*rn_write_fn)(void *ctx, const void *data, size_t len);
int rn_stream_dir(const char *dir, rn_write_fn write_fn, void *ctx, runnel_error *err);

/* Read the base64 of a zip of `length` bytes from r (4*ceil(length/3)
 * characters, whitespace ignored, as upstream's Base64IO) and extract it into
 * target (created if missing), restoring modes, mtimes and symlinks. Entries
 * that would land outside target (.., absolute names, paths through a
 * symlink) are refused and nothing is written outside target. 0 or -1 with
 * err. *consumed_ok is set when the whole base64 text was read (a failure
 * after that point is an extraction failure, not a cut stream). */
int rn_unstream_dir(rn_reader *r, int64_t length, const char *target, bool *consumed_ok,
                    runnel_error *err);

/* Zip dir into the file zip_path (created/truncated) as upstream's
 * stream_dir() lays it out. 0 or -1 with err. */
int rn_zip_dir(const char *dir, const char *zip_path, runnel_error *err);

/* Extract the zip open on fd (ownership passes to the call) into target. */
int rn_unzip_fd(int fd, const char *target, runnel_error *err);

/* Serialize as Python's json.dumps() does (", " and ": ", ASCII) into b
 * (reset first). */
void rn_json_py(const json_t *v, rn_buf *b);

#endif
