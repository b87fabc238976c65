/*
 * spawn.c - start a command on a pty (see spawn.h).
 *
 * The child reports a failed chdir or exec through a close-on-exec pipe, so
 * the parent learns of it before it reads a single byte of output.
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "util.h"

/* The nice value of the caller as text for /proc/self/autogroup ("" when it
 * is 0, the kernel's default there). With autogroups on (Linux's default for
 * desktops and Debian's kernels), setsid() puts the child in a new scheduling
 * group that the kernel weighs at nice 0 against every other group, whatever
 * the process's own nice: a runneld worker's job at nice +5 would then take a
 * full share per job against the whole control plane's one. Giving the new
 * group the caller's nice keeps the priority the caller chose. */
static void autogroup_nice(char out[8])
{
	out[0] = 0;
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	if (errno != 0 || nice == 0)
		return;
	snprintf(out, 8, "%d", nice);
}

/* In the child: become a session leader on the pty and exec. Never returns. */
static void child_exec(int slave, int report_fd, const char *path, char *const argv[],
                       char *const envp[], const char *cwd, const char *group_nice, int pass_fd,
                       int pass_as)
{
	int stage = 0; /* 0: setup/chdir, 1: exec */
	setsid();
	/* out of the way of the numbers the child's fds get (0-2, pass_as);
	 * every fd of ours is close-on-exec, and these copies are too */
	if (pass_fd >= 0)
		pass_fd = fcntl(pass_fd, F_DUPFD_CLOEXEC, pass_as + 1);
	if (pass_fd >= 0 && report_fd <= pass_as)
		report_fd = fcntl(report_fd, F_DUPFD_CLOEXEC, pass_as + 1);
	if (group_nice[0]) {
		/* best effort: without autogroups the file is absent, and the
		 * process's nice is what counts */
		int fd = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			(void)!write(fd, group_nice, strlen(group_nice));
			close(fd);
		}
	}
	ioctl(slave, TIOCSCTTY, 0);
	dup2(slave, 0);
	dup2(slave, 1);
	dup2(slave, 2);
	if (slave > 2)
		close(slave);
	if (pass_fd >= 0)
		dup2(pass_fd, pass_as); /* the copy is not close-on-exec */

	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	signal(SIGHUP, SIG_IGN); /* pexpect's ignore_sighup=True */

	if (cwd && chdir(cwd) != 0)
		goto fail;
	stage = 1;
	execve(path, argv, envp);
fail:;
	int msg[2] = {stage, errno};
	(void)!write(report_fd, msg, sizeof msg);
	_exit(127);
}

int rn_pty_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                 int pass_fd, int pass_as, rn_child *child, runnel_error *err)
{
	int master, slave;
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	if (openpty(&master, &slave, NULL, NULL, &ws) != 0) {
		int e = errno;
		return rn_fail(err, e, "cannot open a pty: %s", strerror(e));
	}
	struct termios tio;
	if (tcgetattr(slave, &tio) == 0) {
		tio.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(slave, TCSANOW, &tio);
	}
	int report[2];
	if (pipe2(report, O_CLOEXEC) != 0) {
		int e = errno;
		close(master);
		close(slave);
		return rn_fail(err, e, "cannot make a pipe: %s", strerror(e));
	}
	fcntl(master, F_SETFD, FD_CLOEXEC);
	char group_nice[8];
	autogroup_nice(group_nice);

	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(master);
		close(slave);
		close(report[0]);
		close(report[1]);
		return rn_fail(err, e, "cannot fork: %s", strerror(e));
	}
	if (pid == 0) {
		close(master);
		close(report[0]);
		child_exec(slave, report[1], path, argv, envp, cwd, group_nice, pass_fd, pass_as);
	}
	close(slave);
	close(report[1]);
	int msg[2];
	ssize_t n;
	do
		n = read(report[0], msg, sizeof msg);
	while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n == (ssize_t)sizeof msg) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		close(master);
		if (msg[0] == 0)
			return rn_fail(err, msg[1], "cannot change directory to %s: %s", cwd,
			               strerror(msg[1]));
		return rn_fail(err, msg[1], "cannot execute %s: %s", path, strerror(msg[1]));
	}
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	child->pid = pid;
	child->master_fd = master;
	return 0;
}
