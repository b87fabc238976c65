/*
 * run.c - runnel_run(): one job from start to end.
 *
 * The job is a child on a pty with two ends that close independently: the
 * pty reaches EOF (EIO) and the child is reaped, in either order (tmux's
 * job.c keeps the same two-state machine). The status and rc are written only
 * when both are done, so the last events are never lost to that race
 * (ansible-runner issue #1330).
 *
 * One poll() loop waits on the pty, the event pipe (evpipe.h), a pidfd for
 * the child, and the canceler's eventfd, so output, exit and cancel are all
 * handled the moment they happen; timers (job_timeout, idle_timeout, the
 * SIGTERM grace) set poll's timeout.
 */
#include "runnel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "artifacts.h"
#include "canceler.h"
#include "decode.h"
#include "event.h"
#include "evpipe.h"
#include "expect.h"
#include "isolation.h"
#include "plan.h"
#include "spawn.h"
#include "shlex.h"
#include "util.h"

#define READ_SIZE (256 * 1024)
/* cancel_callback is polled at least this often (seconds) */
#define CANCEL_POLL 0.1
/* after the child exits, how long to wait for the rest of its output when
 * something else (a daemonized grandchild) still holds the pty open */
#define DRAIN_AFTER_EXIT 0.25
/* ... and how long at most, when it goes on writing */
#define DRAIN_LIMIT   2.0
#define DEFAULT_GRACE 2.0

runnel_canceler *runnel_canceler_new(runnel_error *err)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		rn_fail(err, errno, "cannot create an eventfd: %s", strerror(errno));
		return NULL;
	}
	runnel_canceler *c = rn_xmalloc(sizeof *c);
	c->fd = fd;
	return c;
}

void runnel_canceler_free(runnel_canceler *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

void runnel_cancel(runnel_canceler *c)
{
	uint64_t one = 1;
	if (c)
		(void)!write(c->fd, &one, sizeof one);
}

const char *runnel_version(void)
{
	return RUNNEL_VERSION;
}

const char *runnel_status_name(runnel_status s)
{
	switch (s) {
	case RUNNEL_UNSTARTED:
		return "unstarted";
	case RUNNEL_STARTING:
		return "starting";
	case RUNNEL_RUNNING:
		return "running";
	case RUNNEL_SUCCESSFUL:
		return "successful";
	case RUNNEL_FAILED:
		return "failed";
	case RUNNEL_TIMEOUT:
		return "timeout";
	case RUNNEL_CANCELED:
		return "canceled";
	}
	return "unknown";
}

/* Everything one run keeps while it goes. */
typedef struct run_state {
	const runnel_config *cfg;
	rn_plan plan;
	rn_sink sink;
	rn_decoder *decoder;
	rn_evpipe *evpipe; /* the plugin's events, beside the pty; NULL: in-band only */
	rn_child child;
	int pidfd;
	bool pty_open;
	bool child_alive;
	int wait_status;
	bool canceled, timed_out;
	double started, term_sent_at, kill_at;
	bool term_sent, kill_sent;
	runnel_status status;
	rn_key_writer *key_writer;
	pid_t *prior; /* our children before the job started */
	size_t n_prior;
} run_state;

/* Tell the status_handler, as ansible-runner's status_callback does. */
static void report_status(run_state *r, runnel_status st)
{
	r->status = st;
	if (!r->cfg->status_handler)
		return;
	json_t *data = json_object();
	json_object_set_new(data, "status", json_string(runnel_status_name(st)));
	json_object_set_new(data, "runner_ident", json_string(r->plan.ident));
	if (st == RUNNEL_STARTING) {
		json_t *cmd = rn_artifacts_command_json(&r->plan);
		json_object_update(data, cmd);
		json_decref(cmd);
	}
	r->cfg->status_handler(data, r->cfg->userdata);
	json_decref(data);
}

/* Debug log of what is about to run; secret values are not written. */
static void log_plan(run_state *r)
{
	if (!r->cfg->debug)
		return;
	rn_buf b;
	rn_buf_init(&b);
	for (size_t i = 0; i < r->plan.argc; i++) {
		char *q = rn_shlex_quote(r->plan.argv[i]);
		if (i)
			rn_buf_appendc(&b, ' ');
		rn_buf_append(&b, q, strlen(q));
		free(q);
	}
	rn_debug(r->cfg, "command: %s", b.data ? b.data : "");
	rn_debug(r->cfg, "cwd: %s", r->plan.cwd);
	rn_debug(r->cfg, "artifact dir: %s", r->plan.artifact_dir);
	const char *k;
	json_t *v;
	json_object_foreach(r->plan.env, k, v) {
		rn_debug(r->cfg, "env: %s=%s", k,
		         rn_is_secret_key(k) ? "**********" : json_string_value(v));
	}
	rn_buf_free(&b);
}

/* Start stopping the job: SIGTERM to its process group now, SIGKILL after
 * the grace period if anything of it is still there. */
static void terminate(run_state *r)
{
	if (r->term_sent)
		return;
	r->term_sent = true;
	r->term_sent_at = rn_now();
	double grace =
	    r->cfg->cancel_grace_period > 0 ? r->cfg->cancel_grace_period : DEFAULT_GRACE;
	json_t *g = json_object_get(r->plan.settings, "cancel_grace_period");
	if (json_is_number(g))
		grace = json_number_value(g);
	r->kill_at = r->term_sent_at + grace;
	if (r->child.pid > 0)
		kill(-r->child.pid, SIGTERM);
	rn_debug(r->cfg, "%s: SIGTERM to process group %d, SIGKILL in %.1fs",
	         r->canceled ? "canceled" : "timed out", (int)r->child.pid, grace);
}

/* Reap the child if it has exited. */
static void reap(run_state *r)
{
	if (!r->child_alive)
		return;
	int st;
	pid_t p = waitpid(r->child.pid, &st, WNOHANG);
	if (p == r->child.pid) {
		r->child_alive = false;
		r->wait_status = st;
		rn_debug(r->cfg, "child %d ended: %s %d", (int)p, WIFEXITED(st) ? "exit" : "signal",
		         WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
}

/* Read what the pty has (bounded per call so timers stay on time). */
static void read_pty(run_state *r, char *buf)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = read(r->child.master_fd, buf, READ_SIZE);
		if (n > 0) {
			rn_decoder_feed(r->decoder, buf, (size_t)n);
			const char *answer = rn_expect_feed(r->plan.expect, buf, (size_t)n);
			while (answer) {
				rn_write_all(r->child.master_fd, answer, strlen(answer));
				rn_write_all(r->child.master_fd, "\n", 1);
				r->sink.last_event = rn_now();
				answer = rn_expect_feed(r->plan.expect, "", 0);
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		/* EOF or EIO: every holder of the pty's other end is gone */
		r->pty_open = false;
		return;
	}
}

/* Milliseconds until the earliest timer, capped at CANCEL_POLL. */
static int next_timeout_ms(run_state *r, double now)
{
	double wait = CANCEL_POLL;
	if (!r->child_alive && r->pty_open)
		wait = DRAIN_AFTER_EXIT;
	if (r->plan.job_timeout > 0 && !r->term_sent)
		wait = wait < r->started + r->plan.job_timeout - now
		           ? wait
		           : r->started + r->plan.job_timeout - now;
	if (r->plan.idle_timeout > 0 && !r->term_sent) {
		double idle = r->sink.last_event + r->plan.idle_timeout - now;
		wait = wait < idle ? wait : idle;
	}
	if (r->term_sent && !r->kill_sent)
		wait = wait < r->kill_at - now ? wait : r->kill_at - now;
	if (wait < 0)
		wait = 0;
	return (int)(wait * 1000) + 1;
}

/* The loop: run until the child is reaped and the pty drained. */
static void run_loop(run_state *r)
{
	char *buf = rn_xmalloc(READ_SIZE);
	int cancel_fd = r->cfg->canceler ? r->cfg->canceler->fd : -1;
	double child_exit_at = 0;
	while (r->pty_open || r->child_alive) {
		double now = rn_now();
		struct pollfd pf[4] = {
		    {.fd = r->pty_open ? r->child.master_fd : -1, .events = POLLIN},
		    {.fd = r->child_alive ? r->pidfd : -1, .events = POLLIN},
		    {.fd = cancel_fd, .events = POLLIN},
		    {.fd = r->evpipe && r->pty_open ? rn_evpipe_poll_fd(r->evpipe) : -1,
		     .events = POLLIN},
		};
		int timeout = next_timeout_ms(r, now);
		if (r->pidfd < 0 && r->child_alive && timeout > 20)
			timeout = 20; /* no pidfd: poll for the exit */
		int n = poll(pf, 4, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (pf[3].revents & (POLLIN | POLLHUP | POLLERR))
			rn_evpipe_read(r->evpipe);
		if (r->pty_open && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			read_pty(r, buf);
		/* waitpid only when the pidfd says the child ended (or without one) */
		if (r->pidfd < 0 || (pf[1].revents & (POLLIN | POLLHUP | POLLERR)))
			reap(r);
		now = rn_now();
		if (!r->child_alive && child_exit_at == 0)
			child_exit_at = now;

		/* a child gone with the pty still held open elsewhere: drain a
		 * little, then stop waiting for it */
		if (!r->child_alive && r->pty_open &&
		    ((n == 0 && now - child_exit_at >= DRAIN_AFTER_EXIT) ||
		     now - child_exit_at >= DRAIN_LIMIT))
			r->pty_open = false;

		if (!r->canceled && pf[2].revents & POLLIN) {
			uint64_t v;
			(void)!read(cancel_fd, &v, sizeof v);
			r->canceled = true;
		}
		if (!r->canceled && !r->timed_out && r->cfg->cancel_callback &&
		    r->cfg->cancel_callback(r->cfg->userdata))
			r->canceled = true;
		if (!r->canceled && !r->term_sent && r->plan.job_timeout > 0 &&
		    now - r->started >= r->plan.job_timeout)
			r->timed_out = true;
		if (!r->canceled && !r->term_sent && r->plan.idle_timeout > 0 &&
		    now - r->sink.last_event >= r->plan.idle_timeout)
			r->timed_out = true;
		if ((r->canceled || r->timed_out) && r->child_alive)
			terminate(r);
		if (r->term_sent && !r->kill_sent && now >= r->kill_at) {
			r->kill_sent = true;
			kill(-r->child.pid, SIGKILL);
		}
		rn_sink_flush(&r->sink);
	}
	/* whatever is left of the job's process group goes with it */
	if (r->canceled || r->timed_out)
		kill(-r->child.pid, SIGKILL);
	free(buf);
}

/* Feed a message through the decoder as unmarked output (a verbose event). */
static void feed_message(run_state *r, const char *msg)
{
	rn_decoder_feed(r->decoder, msg, strlen(msg));
	rn_decoder_feed(r->decoder, "\n", 1);
}

/* Each decoded event: a marker without the event's data (only its uuid)
 * takes its record from the event pipe, when the plugin sent one there. */
static int on_chunk(void *userdata, const rn_chunk *c)
{
	run_state *r = userdata;
	rn_jscan scan;
	rn_chunk full;
	if (r->evpipe && c->payload && !(c->scan->keys & RN_KEY_EVENT) &&
	    rn_evpipe_take(r->evpipe, c->uuid, strlen(c->uuid), &full.payload, &full.payload_len,
	                   &scan)) {
		const char *payload = full.payload;
		size_t payload_len = full.payload_len;
		full = *c;
		full.payload = payload;
		full.payload_len = payload_len;
		full.scan = &scan;
		c = &full;
	}
	return rn_sink_chunk(&r->sink, c);
}

/* The event pipe for the child, unless it runs in a container (the pipe
 * would not reach the plugin there) or cannot be made (in-band then). */
static void open_evpipe(run_state *r, json_t *env)
{
	if (r->plan.containerized)
		return;
	runnel_error e;
	r->evpipe = rn_evpipe_new(&e);
	if (!r->evpipe) {
		rn_debug(r->cfg, "%s: events go in-band", e.message);
		return;
	}
	json_object_set_new(env, RN_EVPIPE_ENV, json_string(rn_evpipe_env_value(r->evpipe)));
}

/* Start the child; on failure the job ends as upstream's does: rc 127 and one
 * verbose event naming the command. */
static int spawn(run_state *r)
{
	runnel_error e = {0};
	/* a container engine runs here with our environment and the job's on
	 * top; the job's cwd is inside the container */
	json_t *env = json_copy(r->plan.env);
	const char *cwd = r->plan.containerized ? NULL : r->plan.cwd;
	if (r->plan.containerized) {
		json_decref(env);
		env = r->cfg->clean_environment ? json_object() : rn_env_from_process();
		json_object_update(env, r->plan.env);
	}
	open_evpipe(r, env);
	char *path = rn_which(r->plan.argv[0], env);
	if (!path) {
		json_decref(env);
		char *msg = rn_xasprintf("The command was not found or was not executable: %s.",
		                         r->plan.argv[0]);
		feed_message(r, msg);
		free(msg);
		return -1;
	}
	json_t *saved = r->plan.env;
	r->plan.env = env;
	char **envp = rn_plan_envp(&r->plan);
	r->plan.env = saved;
	json_decref(env);
	if (r->plan.ssh_key) {
		r->key_writer = rn_key_writer_start(&r->plan, &e);
		if (!r->key_writer) {
			rn_argv_free(envp);
			free(path);
			feed_message(r, e.message);
			return -1;
		}
	}
	int rc = rn_pty_spawn(path, r->plan.argv, envp, cwd,
	                      r->evpipe ? rn_evpipe_child_end(r->evpipe) : -1, RN_EVPIPE_CHILD_FD,
	                      &r->child, &e);
	rn_argv_free(envp);
	free(path);
	if (r->evpipe)
		rn_evpipe_close_child_end(r->evpipe);
	if (rc != 0) {
		feed_message(r, e.code == ENOEXEC || e.code == EACCES || e.code == ENOENT
		                    ? "The command was not found or was not executable."
		                    : e.message);
		return -1;
	}
	r->pidfd = pidfd_open(r->child.pid, 0);
	rn_debug(r->cfg, "started pid %d", (int)r->child.pid);
	r->pty_open = true;
	r->child_alive = true;
	return 0;
}

/* Append the pids listed in /proc/self/task/<tid>/children of every thread
 * of ours. 0, or -1 when the kernel does not offer that file. */
static int children_from_tasks(pid_t **out, size_t *n)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[320];
		snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f) {
			rc = -1;
			break;
		}
		int pid;
		while (fscanf(f, "%d", &pid) == 1) {
			*out = rn_xrealloc(*out, (*n + 1) * sizeof **out);
			(*out)[(*n)++] = (pid_t)pid;
		}
		fclose(f);
	}
	closedir(d);
	return rc;
}

/* Our live children: a new array (free it) of *n pids. */
static pid_t *list_children(size_t *n)
{
	pid_t self = getpid(), *out = NULL;
	*n = 0;
	if (children_from_tasks(&out, n) == 0)
		return out;
	/* no .../children files: look at every process's parent */
	free(out);
	out = NULL;
	*n = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return NULL;
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0)
			continue;
		char path[64], buf[512];
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *paren = strrchr(buf, ')');
		int ppid = 0;
		char state = 0;
		if (!paren || sscanf(paren + 2, "%c %d", &state, &ppid) != 2)
			continue;
		if (ppid != self || state == 'Z')
			continue;
		out = rn_xrealloc(out, (*n + 1) * sizeof *out);
		out[(*n)++] = pid;
	}
	closedir(d);
	return out;
}

/* End what the job left behind outside its process group: processes that
 * daemonized (ssh-agent's agent, ssh ControlPersist masters) are reparented
 * to us, the child subreaper, when their parents exit. They are our children
 * now that were not our children before the job started. */
static void sweep_orphans(run_state *r)
{
	size_t n;
	pid_t *left = list_children(&n);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool before = left[i] == r->child.pid;
		for (size_t p = 0; p < r->n_prior && !before; p++)
			before = left[i] == r->prior[p];
		if (!before) {
			kill(left[i], SIGTERM);
			left[k++] = left[i];
		}
	}
	/* reap them as they go, for up to 200 ms; what is still there then is
	 * killed outright */
	double deadline = rn_now() + 0.2;
	while (k > 0) {
		size_t alive = 0;
		for (size_t i = 0; i < k; i++)
			if (waitpid(left[i], NULL, WNOHANG) == 0)
				left[alive++] = left[i];
		k = alive;
		if (k == 0)
			break;
		if (rn_now() >= deadline) {
			for (size_t i = 0; i < k; i++) {
				kill(left[i], SIGKILL);
				waitpid(left[i], NULL, 0);
			}
			break;
		}
		usleep(1000);
	}
	free(left);
}

/* The exit code as ansible-runner reports it. */
static int exit_code(const run_state *r)
{
	if (r->canceled || r->timed_out)
		return 254;
	if (WIFEXITED(r->wait_status))
		return WEXITSTATUS(r->wait_status);
	return -1; /* killed by a signal we did not send: upstream's None */
}

int runnel_run(const runnel_config *cfg, runnel_run_result *result, runnel_error *err)
{
	run_state r;
	memset(&r, 0, sizeof r);
	r.cfg = cfg;
	r.pidfd = -1;
	r.child.master_fd = -1;
	if (rn_plan_prepare(cfg, &r.plan, err) != 0)
		return -1;

	report_status(&r, RUNNEL_STARTING);
	if (rn_artifacts_init(&r.plan, err) != 0 || rn_artifacts_write_command(&r.plan, err) != 0 ||
	    rn_sink_open(&r.sink, cfg, &r.plan, err) != 0) {
		rn_plan_clear(&r.plan);
		return -1;
	}
	rn_artifacts_rotate(r.plan.artifact_root, r.plan.rotate_artifacts);
	r.decoder = rn_decoder_new(on_chunk, &r);

	log_plan(&r);
	report_status(&r, RUNNEL_RUNNING);
	r.started = rn_now();
	r.sink.last_event = r.started;
	/* become the reaper of whatever the job daemonizes, so that it can be
	 * ended with the job (see sweep_orphans) */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	r.prior = list_children(&r.n_prior);
	int rc;
	if (spawn(&r) == 0) {
		run_loop(&r);
		rc = exit_code(&r);
	} else {
		rc = 127;
	}
	rn_key_writer_finish(r.key_writer);
	sweep_orphans(&r);
	rn_isolation_cleanup(&r.plan);
	rn_decoder_finish(r.decoder);
	rn_sink_close(&r.sink);
	if (r.child.master_fd >= 0)
		close(r.child.master_fd);
	if (r.pidfd >= 0)
		close(r.pidfd);

	runnel_status final = r.canceled                  ? RUNNEL_CANCELED
	                      : (rc == 0 && !r.timed_out) ? RUNNEL_SUCCESSFUL
	                      : r.timed_out               ? RUNNEL_TIMEOUT
	                                                  : RUNNEL_FAILED;
	report_status(&r, final);
	rn_debug(cfg, "status %s, rc %d, %ld events", runnel_status_name(final), rc,
	         rn_decoder_counter(r.decoder));
	char rcbuf[32];
	if (rc == -1)
		snprintf(rcbuf, sizeof rcbuf, "None");
	else
		snprintf(rcbuf, sizeof rcbuf, "%d", rc);
	runnel_error werr = {0};
	if (rn_artifacts_write_text(&r.plan, "status", runnel_status_name(final), &werr) != 0 ||
	    rn_artifacts_write_text(&r.plan, "rc", rcbuf, &werr) != 0)
		fprintf(stderr, "runnel: %s\n", werr.message);

	if (cfg->artifacts_handler)
		cfg->artifacts_handler(r.plan.artifact_dir, cfg->userdata);

	runnel_run_result res = {
	    .status = final,
	    .rc = rc,
	    .events = rn_decoder_counter(r.decoder),
	    .ident = rn_xstrdup(r.plan.ident),
	    .artifact_dir = rn_xstrdup(r.plan.artifact_dir),
	};
	rn_decoder_free(r.decoder);
	rn_evpipe_free(r.evpipe);
	rn_plan_clear(&r.plan);
	free(r.prior);
	if (cfg->finished_callback)
		cfg->finished_callback(&res, cfg->userdata);
	if (result)
		*result = res;
	else
		runnel_result_clear(&res);
	return 0;
}

void runnel_result_clear(runnel_run_result *result)
{
	free((char *)result->ident);
	free((char *)result->artifact_dir);
	result->ident = NULL;
	result->artifact_dir = NULL;
}
