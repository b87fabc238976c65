/*
 * ptycat - the pty floor: forkpty() `cat FILE` (same 24x80 pty as the runners)
 * and read the master to EOF, discarding the bytes. Prints "<bytes> <seconds>".
 * With `--`, the command given runs on the pty instead of cat (the producer
 * itself: what the job costs before the runner does anything with its output).
 * With --pipe, the command also gets an event pipe as runnel gives one (fd 3,
 * RUNNEL_EVENT_FD="3:<inode>", see lib/evpipe.h), read to EOF beside the pty
 * (its bytes are counted too).
 *
 *   ptycat FILE
 *   ptycat [--pipe] -- CMD [ARG...]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Read what fd has; false at EOF (or EIO: the pty's slave side is closed). */
static int drain(int fd, long long *total)
{
	static char buf[1 << 16];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n > 0) {
		*total += n;
		return 1;
	}
	return n < 0 && (errno == EINTR || errno == EAGAIN);
}

int main(int argc, char **argv)
{
	int with_pipe = argc > 1 && strcmp(argv[1], "--pipe") == 0;
	char **rest = argv + 1 + with_pipe;
	int nrest = argc - 1 - with_pipe;
	int cmd = nrest > 1 && strcmp(rest[0], "--") == 0;
	if ((nrest != 1 || with_pipe) && !cmd) {
		fprintf(stderr, "usage: ptycat FILE | ptycat [--pipe] -- CMD [ARG...]\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ev[2] = {-1, -1};
	if (with_pipe) {
		struct stat st;
		char spec[64];
		if (pipe(ev) != 0 || fstat(ev[1], &st) != 0) {
			perror("pipe");
			return 1;
		}
		snprintf(spec, sizeof spec, "3:%llu", (unsigned long long)st.st_ino);
		setenv("RUNNEL_EVENT_FD", spec, 1);
	}
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, &ws);
	if (pid < 0) {
		perror("forkpty");
		return 1;
	}
	if (pid == 0) {
		if (with_pipe) {
			int w = fcntl(ev[1], F_DUPFD, 10);
			dup2(w, 3);
		}
		if (cmd)
			execvp(rest[1], rest + 1);
		else
			execlp("cat", "cat", rest[0], (char *)NULL);
		_exit(127);
	}
	if (with_pipe)
		close(ev[1]);
	long long total = 0;
	int pty_open = 1, pipe_open = with_pipe;
	while (pty_open || pipe_open) {
		struct pollfd pf[2] = {{.fd = pty_open ? master : -1, .events = POLLIN},
		                       {.fd = pipe_open ? ev[0] : -1, .events = POLLIN}};
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			pty_open = drain(master, &total);
		if (pf[1].revents)
			pipe_open = drain(ev[0], &total);
	}
	int st;
	waitpid(pid, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lld %.6f\n", total,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
