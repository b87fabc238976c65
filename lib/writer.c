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

/* Bytes queued at most before rn_writer_put() waits: keeps RSS flat. */
#define MAX_PENDING (2u << 20)

/* Bytes queued before an idle thread is woken by rn_writer_put() itself;
 * below that it waits for rn_writer_kick(). Waking the thread per event
 * cost three futex calls an event (a wake, and the lock handed to and fro). */
#define WAKE_BYTES (64u << 10)

typedef struct item {
	struct item *next;
	size_t name_len, len;
	char data[]; /* name, NUL, text */
} item;

struct rn_writer {
	int dirfd;
	const char *dirname;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more; /* an item was queued, or stop */
	pthread_cond_t room; /* pending dropped */
	item *head, *tail;
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

/* The thread: take everything queued at once, write it in order, and go
 * on until told to stop with nothing left. */
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
		item *batch = w->head;
		w->head = w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		size_t done = 0;
		while (batch) {
			item *it = batch;
			batch = it->next;
			rn_write_event_file(w->dirfd, w->dirname, it->data,
			                    it->data + it->name_len + 1, it->len);
			done += it->name_len + it->len;
			free(it);
		}
		pthread_mutex_lock(&w->lock);
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

void rn_writer_put(rn_writer *w, const char *name, const char *text, size_t len)
{
	size_t nl = strlen(name);
	item *it = rn_xmalloc(sizeof *it + nl + 1 + len);
	it->next = NULL;
	it->name_len = nl;
	it->len = len;
	memcpy(it->data, name, nl + 1);
	memcpy(it->data + nl + 1, text, len);
	pthread_mutex_lock(&w->lock);
	while (w->pending > MAX_PENDING) {
		w->full = true;
		if (w->idle)
			pthread_cond_signal(&w->more);
		pthread_cond_wait(&w->room, &w->lock);
	}
	if (w->tail)
		w->tail->next = it;
	else
		w->head = it;
	w->tail = it;
	w->pending += nl + len;
	if (w->idle && w->pending >= WAKE_BYTES)
		pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->lock);
}

void rn_writer_kick(rn_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->idle && w->head)
		pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->lock);
}

void rn_writer_finish(rn_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->more);
	pthread_cond_destroy(&w->room);
	free(w);
}
