/*
 * agent.c - the ssh key FIFO and the ssh-agent wrapper (see agent.h).
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shlex.h"
#include "util.h"

struct rn_key_writer {
	pthread_t thread;
	char *path;
	char *key;
	size_t len;
};

/* Quote every argument and join them with spaces (upstream's args2cmdline). */
static char *args2cmdline(char *const *argv)
{
	rn_buf b;
	rn_buf_init(&b);
	for (size_t i = 0; argv[i]; i++) {
		char *q = rn_shlex_quote(argv[i]);
		if (i)
			rn_buf_appendc(&b, ' ');
		rn_buf_append(&b, q, strlen(q));
		free(q);
	}
	if (!b.data)
		rn_buf_append(&b, "", 0);
	return b.data;
}

int rn_agent_wrap(rn_plan *plan, runnel_error *err)
{
	plan->ssh_key_path = rn_path_join(plan->artifact_dir, "ssh_key_data");
	unlink(plan->ssh_key_path); /* a FIFO left by an earlier run of this ident */
	if (mkfifo(plan->ssh_key_path, 0600) != 0)
		return rn_fail(err, errno, "cannot create the ssh key FIFO %s: %s",
		               plan->ssh_key_path, strerror(errno));
	/* ansible-runner's wrapper (ssh-agent sh -c "trap ... && ssh-add ... && CMD"),
	 * with the FIFO's path quoted in the cleanup command too (upstream: not) */
	char *qpath = rn_shlex_quote(plan->ssh_key_path);
	char *rm = rn_xasprintf("rm -f %s", qpath);
	free(qpath);
	char *trap_argv[] = {"trap", rm, "EXIT", NULL};
	char *add_argv[] = {"ssh-add", plan->ssh_key_path, NULL};
	char *trap = args2cmdline(trap_argv);
	char *add = args2cmdline(add_argv);
	char *cmd = args2cmdline(plan->argv);
	char *script = rn_xasprintf("%s && %s && %s && %s", trap, add, rm, cmd);
	free(trap);
	free(add);
	free(cmd);
	free(rm);
	rn_argv_free(plan->argv);
	plan->argv = rn_xmalloc(5 * sizeof *plan->argv);
	plan->argv[0] = rn_xstrdup("ssh-agent");
	plan->argv[1] = rn_xstrdup("sh");
	plan->argv[2] = rn_xstrdup("-c");
	plan->argv[3] = script;
	plan->argv[4] = NULL;
	plan->argc = 4;
	return 0;
}

/* The writer thread: block until ssh-add opens the FIFO, write, close. */
static void *write_key(void *arg)
{
	rn_key_writer *w = arg;
	int fd;
	do
		fd = open(w->path, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd >= 0) {
		(void)rn_write_all(fd, w->key, w->len);
		close(fd);
	}
	return NULL;
}

rn_key_writer *rn_key_writer_start(const rn_plan *plan, runnel_error *err)
{
	rn_key_writer *w = rn_xmalloc(sizeof *w);
	w->path = rn_xstrdup(plan->ssh_key_path);
	w->len = strlen(plan->ssh_key);
	w->key = rn_xstrdup(plan->ssh_key);
	int rc = pthread_create(&w->thread, NULL, write_key, w);
	if (rc != 0) {
		rn_fail(err, rc, "cannot start the ssh key writer: %s", strerror(rc));
		explicit_bzero(w->key, w->len);
		free(w->key);
		free(w->path);
		free(w);
		return NULL;
	}
	return w;
}

void rn_key_writer_finish(rn_key_writer *w)
{
	if (!w)
		return;
	/* if ssh-add never opened the FIFO, opening it for reading ourselves
	 * lets the writer's open() return (what it writes is discarded); if the
	 * FIFO is gone already (the job's trap removed it), cancel the writer:
	 * open() is a cancellation point */
	int fd = open(w->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		pthread_cancel(w->thread);
	pthread_join(w->thread, NULL);
	if (fd >= 0)
		close(fd);
	unlink(w->path);
	explicit_bzero(w->key, w->len);
	free(w->key);
	free(w->path);
	free(w);
}
