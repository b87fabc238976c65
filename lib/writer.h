/*
 * writer.h - write job_events files on a thread of their own, so that
 * decoding the next events and creating the files of the last ones overlap
 * (on tmpfs, creating one small file per event costs as much as decoding it).
 * Files are written in the order they are put; rn_writer_finish() returns
 * when every file is on disk, so status and rc are still written last.
 */
#ifndef RUNNEL_WRITER_H
#define RUNNEL_WRITER_H

#include <stddef.h>

typedef struct rn_writer rn_writer;

/* Start a writer for the directory open as dirfd (borrowed; dirname is for
 * messages). NULL when no thread can be started: write synchronously then. */
rn_writer *rn_writer_start(int dirfd, const char *dirname);

/* Queue "name" with text (both copied). Blocks while more than a few MiB
 * wait to be written, which bounds memory. */
void rn_writer_put(rn_writer *w, const char *name, const char *text, size_t len);

/* Wake the thread if it sleeps with files queued. rn_writer_put() wakes it
 * only once 64 KiB are queued, so the caller kicks whenever it is about to
 * wait for more input (once per read of output), batching the wake-ups. */
void rn_writer_kick(rn_writer *w);

/* Write "name" now: <name>.tmp then rename, mode 0600 (also what the thread
 * does). 0 or -1 (a message is printed). */
int rn_write_event_file(int dirfd, const char *dirname, const char *name, const char *text,
                        size_t len);

/* Wait for every queued file, stop the thread, free the writer. NULL is fine. */
void rn_writer_finish(rn_writer *w);

#endif
