/*
 * writer.c - the job_events file writer thread (see writer.h).
 */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* Bytes queued at most before the producer waits: keeps RSS flat. */
#define MAX_PENDING (2u << 20)

/* Files are queued in blocks of this size, handed to the thread whole: a
 * full block wakes an idle thread, rn_writer_kick() hands over a partial one.
 * One allocation per block, not per file (a malloc in one thread and a free
 * in the other for every event cost the arena lock twice an event); the
 * thread gives blocks back for reuse. Waking the thread per event cost three
 * futex calls an event. */
#define BLOCK_SIZE (64u << 10)
/* Blocks kept for reuse at most. */
#define SPARE_MAX 4

typedef struct block {
	struct block *next;
	size_t used, cap;
	char data[]; /* records: a rec header, name, NUL, text; each 8-aligned */
} block;

typedef struct rec {
	size_t name_len, len;
} rec;

struct rn_writer {
	int dirfd;
	const char *dirname;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more; /* a block was queued, or stop */
	pthread_cond_t room; /* pending dropped */
	block *head, *tail;  /* queued blocks, in order */
	block *cur;          /* being filled (the producer's own, no lock) */
	block *spare;        /* written blocks kept for reuse */
	size_t n_spare;
	size_t pending; /* bytes queued and not yet written */
	bool idle;      /* the thread waits on "more" */
	bool full;      /* a producer waits on "room" */
	bool stop;
};

int rn_write_event_file(int dirfd, const char *dirname, const char *name, const char *text,
                        size_t len)
{
	char tmp[600];
	size_t n = strlen(name);
	if (n + 5 > sizeof tmp)
		return -1;
	memcpy(tmp, name, n);
	memcpy(tmp + n, ".tmp", 5);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "runnel: cannot write %s/%s: %s\n", dirname, tmp, strerror(errno));
		return -1;
	}
	int bad = rn_write_all(fd, text, len);
	close(fd);
	if (bad || renameat(dirfd, tmp, dirfd, name) != 0) {
		fprintf(stderr, "runnel: cannot write %s/%s: %s\n", dirname, name, strerror(errno));
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

/* Write the files of one block, in order. */
static void write_block(rn_writer *w, const block *b)
{
	size_t off = 0;
	while (off < b->used) {
		rec r;
		memcpy(&r, b->data + off, sizeof r);
		const char *name = b->data + off + sizeof r;
		rn_write_event_file(w->dirfd, w->dirname, name, name + r.name_len + 1, r.len);
		off += (sizeof r + r.name_len + 1 + r.len + 7) & ~(size_t)7;
	}
}

/* The thread: take every queued block at once, write them in order, give
 * them back, and go on until told to stop with nothing left. */
static void *writer_main(void *arg)
{
	rn_writer *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->stop) {
			w->idle = true;
			pthread_cond_wait(&w->more, &w->lock);
		}
		w->idle = false;
		if (!w->head)
			break;
		block *batch = w->head;
		w->head = w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		size_t done = 0;
		for (block *b = batch; b; b = b->next) {
			write_block(w, b);
			done += b->used;
		}
		pthread_mutex_lock(&w->lock);
		while (batch) {
			block *b = batch;
			batch = b->next;
			if (b->cap == BLOCK_SIZE && w->n_spare < SPARE_MAX) {
				b->next = w->spare;
				w->spare = b;
				w->n_spare++;
			} else {
				free(b);
			}
		}
		w->pending -= done;
		if (w->full) {
			w->full = false;
			pthread_cond_broadcast(&w->room);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

rn_writer *rn_writer_start(int dirfd, const char *dirname)
{
	rn_writer *w = rn_xmalloc(sizeof *w);
	memset(w, 0, sizeof *w);
	w->dirfd = dirfd;
	w->dirname = dirname;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->more, NULL);
	pthread_cond_init(&w->room, NULL);
	/* the thread must not take signals meant for the run (SIGTERM, SIGCHLD) */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->more);
		pthread_cond_destroy(&w->room);
		free(w);
		return NULL;
	}
	return w;
}

/* Queue the block being filled (if it holds anything) and wake an idle
 * thread; wait while too much is queued. With need > 0, come back with a
 * block that has room for need bytes. */
static void hand_over(rn_writer *w, size_t need)
{
	block *b = w->cur;
	if (b && b->used == 0 && need && b->cap >= need)
		return;
	pthread_mutex_lock(&w->lock);
	if (b && b->used) {
		b->next = NULL;
		if (w->tail)
			w->tail->next = b;
		else
			w->head = b;
		w->tail = b;
		w->pending += b->used;
		w->cur = b = NULL;
		if (w->idle)
			pthread_cond_signal(&w->more);
	}
	while (w->pending > MAX_PENDING) {
		w->full = true;
		if (w->idle)
			pthread_cond_signal(&w->more);
		pthread_cond_wait(&w->room, &w->lock);
	}
	if (need && !b && need <= BLOCK_SIZE && w->spare) {
		b = w->spare;
		w->spare = b->next;
		w->n_spare--;
	}
	pthread_mutex_unlock(&w->lock);
	if (need && (!b || b->cap < need)) {
		free(b);
		size_t cap = need > BLOCK_SIZE ? need : BLOCK_SIZE;
		b = rn_xmalloc(sizeof *b + cap);
		b->cap = cap;
	}
	if (b) {
		b->used = 0;
		b->next = NULL;
	}
	w->cur = b;
}

void rn_writer_put(rn_writer *w, const char *name, const char *text, size_t len)
{
	size_t nl = strlen(name);
	size_t need = (sizeof(rec) + nl + 1 + len + 7) & ~(size_t)7;
	if (!w->cur || w->cur->cap - w->cur->used < need)
		hand_over(w, need);
	block *b = w->cur;
	rec r = {.name_len = nl, .len = len};
	char *p = b->data + b->used;
	memcpy(p, &r, sizeof r);
	memcpy(p + sizeof r, name, nl + 1);
	memcpy(p + sizeof r + nl + 1, text, len);
	b->used += need;
}

void rn_writer_kick(rn_writer *w)
{
	if (w && w->cur && w->cur->used)
		hand_over(w, 0);
}

void rn_writer_finish(rn_writer *w)
{
	if (!w)
		return;
	rn_writer_kick(w);
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	free(w->cur);
	while (w->spare) {
		block *b = w->spare;
		w->spare = b->next;
		free(b);
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->more);
	pthread_cond_destroy(&w->room);
	free(w);
}
