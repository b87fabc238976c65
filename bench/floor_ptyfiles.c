/*
 * floor_ptyfiles - the floor of a runner on this machine: run the job on a pty
 * (same 24x80 pty, no echo) and read it to EOF, and write the same artifacts
 * as a run, with no decoding at all. What a runner cannot avoid: the producer
 * itself, the pty, the job_events files and the stdout artifact.
 *
 * Reads a reference artifact dir (names and sizes of its job_events files, and
 * its stdout artifact) untimed, then, timed: starts CMD on a pty; the main
 * thread reads the master (256 KiB buffer, until EAGAIN, then poll) and after
 * each read makes the files of bytes_read * N / STREAM_BYTES events due and
 * writes their share of the stdout artifact (one write per read); a second
 * thread writes the due job_events files (openat on the dir fd of tmp 0600,
 * one write() of the same size, close, renameat), as runnel's writer thread
 * does. STREAM_BYTES is what the master yields for CMD (ptycat's count; it
 * may differ by a few bytes between runs, the producer's pid is in its text:
 * whatever is not due at EOF is made due then).
 * Prints "<files> <seconds>".
 *
 *   floor_ptyfiles REFDIR OUTDIR STREAM_BYTES CMD [ARG...]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ref_events.h"

/* What the two threads share. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;
	size_t due;  /* files the reader made due */
	size_t done; /* files the writer has written */
	int waiting; /* the writer waits on `more` */
	struct ent *ents;
	const char *filler;
	int dirfd;
} sh = {.lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER};

static size_t n_ents;

static void *writer(void *arg)
{
	(void)arg;
	size_t done = 0;
	char tmp[600];
	while (done < n_ents) {
		pthread_mutex_lock(&sh.lock);
		sh.done = done;
		while (sh.due == done) {
			sh.waiting = 1;
			pthread_cond_wait(&sh.more, &sh.lock);
		}
		sh.waiting = 0;
		size_t due = sh.due;
		pthread_mutex_unlock(&sh.lock);
		for (; done < due; done++) {
			const struct ent *e = &sh.ents[done];
			snprintf(tmp, sizeof tmp, "%s.tmp", e->name);
			int fd =
			    openat(sh.dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (fd < 0 || write(fd, sh.filler, e->size) != (ssize_t)e->size) {
				perror(tmp);
				exit(1);
			}
			close(fd);
			if (renameat(sh.dirfd, tmp, sh.dirfd, e->name) != 0) {
				perror(e->name);
				exit(1);
			}
		}
	}
	return NULL;
}

/* Make files due; an idle writer is woken only for a batch of them (as
 * runnel wakes its writer for 64 KiB) or when the reader is about to wait. */
#define WAKE_FILES 32
static void make_due(size_t due, int wake)
{
	pthread_mutex_lock(&sh.lock);
	sh.due = due;
	if (sh.waiting && sh.due > sh.done && (wake || sh.due - sh.done >= WAKE_FILES))
		pthread_cond_signal(&sh.more);
	pthread_mutex_unlock(&sh.lock);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: floor_ptyfiles REFDIR OUTDIR STREAM_BYTES CMD [ARG...]\n");
		return 2;
	}
	unsigned long long stream_bytes = strtoull(argv[3], NULL, 10);
	if (!stream_bytes) {
		fprintf(stderr, "floor_ptyfiles: STREAM_BYTES must be > 0\n");
		return 2;
	}
	char path[8192];
	size_t n, maxsize;
	struct ent *ents = ref_events_load(argv[1], &n, &maxsize);
	if (!ents)
		return 1;
	if (!n) {
		fprintf(stderr, "floor_ptyfiles: no job_events in %s\n", argv[1]);
		return 1;
	}
	char *filler = malloc(maxsize + 1);
	memset(filler, 'x', maxsize + 1);
	snprintf(path, sizeof path, "%s/stdout", argv[1]);
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	size_t outlen = (size_t)ftell(f);
	rewind(f);
	char *out = malloc(outlen + 1);
	if (fread(out, 1, outlen, f) != outlen)
		return 1;
	fclose(f);
	n_ents = n;
	sh.ents = ents;
	sh.filler = filler;

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	mkdir(argv[2], 0700);
	snprintf(path, sizeof path, "%s/job_events", argv[2]);
	if (mkdir(path, 0700) != 0) {
		perror(path);
		return 1;
	}
	sh.dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof path, "%s/stdout", argv[2]);
	int ofd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (ofd < 0 || sh.dirfd < 0) {
		perror(path);
		return 1;
	}
	pthread_t wt;
	if (pthread_create(&wt, NULL, writer, NULL) != 0)
		return 1;

	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	int master, slave;
	if (openpty(&master, &slave, NULL, NULL, &ws) != 0) {
		perror("openpty");
		return 1;
	}
	struct termios tio;
	if (tcgetattr(slave, &tio) == 0) {
		tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(slave, TCSANOW, &tio);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(master);
		setsid();
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		if (slave > 2)
			close(slave);
		execvp(argv[4], argv + 4);
		_exit(127);
	}
	close(slave);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);

	size_t bufsize = 256 * 1024, share = outlen / n, written_due = 0;
	char *buf = malloc(bufsize);
	unsigned long long total = 0;
	for (;;) {
		ssize_t r = read(master, buf, bufsize);
		if (r > 0) {
			total += (unsigned long long)r;
			size_t due = (size_t)(total * n / stream_bytes);
			if (due > n)
				due = n;
			if (due > written_due) {
				size_t len = (due - written_due) * share;
				if (write(ofd, out + written_due * share, len) != (ssize_t)len)
					return 1;
				written_due = due;
				make_due(due, 0);
			}
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			make_due(written_due, 1);
			struct pollfd pf = {.fd = master, .events = POLLIN};
			poll(&pf, 1, -1);
			continue;
		}
		break; /* EIO: the slave side is closed */
	}
	if (written_due < n && outlen > written_due * share) {
		size_t len = outlen - written_due * share;
		if (write(ofd, out + written_due * share, len) != (ssize_t)len)
			return 1;
	}
	make_due(n, 1);
	pthread_join(wt, NULL);
	close(ofd);
	close(sh.dirfd);
	int st;
	waitpid(pid, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%zu %.6f\n", n, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
