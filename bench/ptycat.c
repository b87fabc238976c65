/*
 * ptycat - the pty floor: forkpty() `cat FILE` (same 24x80 pty as the runners)
 * and read the master to EOF, discarding the bytes. Prints "<bytes> <seconds>".
 * With `--`, the command given runs on the pty instead of cat (the producer
 * itself: what the job costs before the runner does anything with its output).
 *
 *   ptycat FILE
 *   ptycat -- CMD [ARG...]
 */
#include <errno.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int cmd = argc > 2 && strcmp(argv[1], "--") == 0;
	if (argc != 2 && !cmd) {
		fprintf(stderr, "usage: ptycat FILE | ptycat -- CMD [ARG...]\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	int master;
	pid_t pid = forkpty(&master, NULL, NULL, &ws);
	if (pid < 0) {
		perror("forkpty");
		return 1;
	}
	if (pid == 0) {
		if (cmd)
			execvp(argv[2], argv + 2);
		else
			execlp("cat", "cat", argv[1], (char *)NULL);
		_exit(127);
	}
	static char buf[1 << 16];
	long long total = 0;
	for (;;) {
		ssize_t n = read(master, buf, sizeof buf);
		if (n > 0) {
			total += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break; /* EIO: the slave side is closed */
	}
	int st;
	waitpid(pid, &st, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lld %.6f\n", total,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
