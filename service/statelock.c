/*
 * statelock.c - one runneld per state dir (see statelock.h).
 */
#include "statelock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util.h"

/* <state>/runneld.lock */
static char *lock_path(const char *state_dir)
{
	return rn_path_join(state_dir, "runneld.lock");
}

/* The pid written in the lock file open as fd; 0 if none is written yet. */
static pid_t read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	long v = strtol(buf, NULL, 10);
	return v > 0 ? (pid_t)v : 0;
}

int statelock_take(const char *state_dir, runnel_error *err)
{
	char *path = lock_path(state_dir);
	/* no O_TRUNC: a second runneld must not touch the holder's file */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rn_fail(err, errno, "state_dir: cannot open the lock %s: %s", path,
		        strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e == EWOULDBLOCK) {
			/* the holder writes its pid right after it took the lock */
			pid_t holder = 0;
			for (int i = 0; i < 50 && !(holder = read_pid(fd)); i++)
				usleep(2000);
			if (holder)
				rn_fail(err, EBUSY,
				        "state_dir: %s is in use by runneld pid %d (lock %s)",
				        state_dir, (int)holder, path);
			else
				rn_fail(err, EBUSY,
				        "state_dir: %s is in use by another runneld (lock %s)",
				        state_dir, path);
		} else {
			rn_fail(err, e, "state_dir: cannot lock %s: %s", path, strerror(e));
		}
		close(fd);
		free(path);
		return -1;
	}
	char line[32];
	int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n) {
		rn_fail(err, errno, "state_dir: cannot write the lock %s: %s", path,
		        strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	return fd;
}

void statelock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
