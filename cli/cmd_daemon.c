/*
 * cmd_daemon.c - `runnel start | stop | is-alive PDD`: a job in the
 * background, with the pidfile PDD/pid and PDD/daemon.log, as ansible-runner.
 *
 * The daemon holds an exclusive lock on its pidfile for as long as it runs,
 * so a pidfile whose lock can be taken is stale (the daemon died without
 * removing it) whatever process may have reused its pid since.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "run_options.h"
#include "../lib/util.h"

typedef enum pid_state { PID_NONE, PID_STALE, PID_ALIVE } pid_state;

/* Look at PDD/pid: is the daemon there? Sets *pid when a pidfile exists. */
static pid_state read_pidfile(const char *pidfile, pid_t *pid)
{
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return PID_NONE;
	char buf[32] = {0};
	ssize_t n = read(fd, buf, sizeof buf - 1);
	*pid = n > 0 ? (pid_t)atoi(buf) : 0;
	pid_state st = PID_ALIVE;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		st = PID_STALE; /* nobody holds the daemon's lock */
	close(fd);
	if (*pid <= 0)
		st = PID_STALE;
	return st;
}

/* Say that a pidfile is stale and remove it. */
static void report_stale(const char *pidfile, pid_t pid)
{
	fprintf(stderr,
	        "runnel: stale pidfile %s: process %d is not a running runnel daemon; removed\n",
	        pidfile, (int)pid);
	unlink(pidfile);
}

int cmd_start(cli_args *a)
{
	run_options o;
	int rc = run_options_build(a, &o);
	if (rc != 0) {
		run_options_clear(&o);
		return rc;
	}
	/* the daemon runs from /: relative paths are the caller's */
	run_options_pin_paths(&o);
	char *pidfile = rn_path_join(o.private_data_dir, "pid");
	char *log = rn_path_join(o.private_data_dir, "daemon.log");
	pid_t old;
	pid_state st = read_pidfile(pidfile, &old);
	if (st == PID_ALIVE) {
		fprintf(stderr, "runnel: a job is already running in %s (pid %d)\n",
		        o.private_data_dir, (int)old);
		free(pidfile);
		free(log);
		run_options_clear(&o);
		return 1;
	}
	if (st == PID_STALE)
		report_stale(pidfile, old);

	/* the pidfile is created and locked before the parent returns, so that
	 * `is-alive` right after `start` is already true */
	int pfd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (pfd < 0 || lfd < 0 || flock(pfd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "runnel: cannot create %s: %s\n", pfd < 0 ? pidfile : log,
		        strerror(errno));
		return 1;
	}
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) != 0)
		return 1;
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid > 0) {
		/* the parent: wait until the daemon has written its pid */
		close(ready[1]);
		close(pfd);
		char c;
		ssize_t n = read(ready[0], &c, 1);
		close(ready[0]);
		free(pidfile);
		free(log);
		run_options_clear(&o);
		return n == 1 ? 0 : 1;
	}
	close(ready[0]);
	setsid();
	if (fork() > 0)
		_exit(0); /* the daemon is not a session leader: no controlling tty again */
	umask(077);
	if (chdir("/") != 0)
		_exit(1);
	int devnull = open("/dev/null", O_RDWR);
	dup2(devnull, 0);
	dup2(devnull, 1);
	dup2(lfd, 2);
	if (devnull > 2)
		close(devnull);
	close(lfd);
	/* the lock was taken by the first child's fd; flock locks belong to the
	 * open file description, which this process shares, so it is held */
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	(void)!write(pfd, buf, (size_t)len);
	(void)!write(ready[1], "x", 1);
	close(ready[1]);

	runnel_error err = {0};
	runnel_canceler *canceler = cli_cancel_on_signals();
	if (!canceler)
		_exit(1);
	o.cfg.canceler = canceler;
	o.cfg.quiet = true;
	signal(SIGHUP, SIG_IGN);

	runnel_run_result res = {0};
	rc = 1;
	if (runnel_run(&o.cfg, &res, &err) != 0) {
		time_t now = time(NULL);
		fprintf(stderr, "%.24s runnel: %s\n", ctime(&now), err.message);
	} else {
		rc = res.rc >= 0 ? res.rc : 1;
		runnel_result_clear(&res);
	}
	unlink(pidfile);
	close(pfd);
	cli_cancel_on_signals_end(canceler);
	free(pidfile);
	free(log);
	run_options_clear(&o);
	_exit(rc);
}

/* True if pid is gone or a zombie (its parent may be slow to reap it). */
static int is_gone(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *paren = strrchr(buf, ')');
	return paren && paren[1] && paren[2] == 'Z';
}

/* Wait up to `seconds` for a process to be gone. */
static int wait_gone(pid_t pid, double seconds)
{
	double end = rn_now() + seconds;
	while (rn_now() < end) {
		if (is_gone(pid))
			return 1;
		usleep(5000);
	}
	return 0;
}

int cmd_stop(cli_args *a)
{
	if (!a->private_data_dir) {
		cli_usage();
		return 2;
	}
	char *pdd = rn_path_abs(a->private_data_dir);
	char *pidfile = rn_path_join(pdd, "pid");
	pid_t pid;
	pid_state st = read_pidfile(pidfile, &pid);
	int rc = 0;
	if (st == PID_NONE) {
		rc = 1;
	} else if (st == PID_STALE) {
		report_stale(pidfile, pid);
		rc = 1;
	} else {
		/* the daemon cancels its job: SIGTERM to the job's group, a grace,
		 * SIGKILL; then writes the status and removes the pidfile */
		kill(pid, SIGTERM);
		if (!wait_gone(pid, 30)) {
			kill(pid, SIGKILL);
			wait_gone(pid, 5);
			unlink(pidfile);
		}
	}
	free(pidfile);
	free(pdd);
	return rc;
}

int daemon_is_running(const char *private_data_dir)
{
	char *pidfile = rn_path_join(private_data_dir, "pid");
	pid_t pid;
	pid_state st = read_pidfile(pidfile, &pid);
	free(pidfile);
	return st == PID_ALIVE;
}

int cmd_is_alive(cli_args *a)
{
	if (!a->private_data_dir) {
		cli_usage();
		return 2;
	}
	char *pdd = rn_path_abs(a->private_data_dir);
	char *pidfile = rn_path_join(pdd, "pid");
	pid_t pid;
	pid_state st = read_pidfile(pidfile, &pid);
	if (st == PID_STALE)
		fprintf(stderr, "runnel: stale pidfile %s: process %d is not running\n", pidfile,
		        (int)pid);
	free(pidfile);
	free(pdd);
	return st == PID_ALIVE ? 0 : 1;
}
