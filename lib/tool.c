/*
 * tool.c - run one ansible tool with captured output (runnel_tool_run), and
 * the fact cache accessors.
 */
#include "runnel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "canceler.h"
#include "plan.h"
#include "shlex.h"
#include "util.h"

/* The environment for the tool: ours (none if clean) with envvars on top,
 * as "K=V" strings. */
static char **tool_envp(const json_t *envvars, bool clean, json_t **env_out)
{
	json_t *env = clean ? json_object() : rn_env_from_process();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)envvars, k, v) {
		if (json_is_string(v))
			json_object_set(env, k, v);
	}
	if (clean && !json_object_get(env, "PATH"))
		json_object_set_new(env, "PATH", json_string(RN_DEFAULT_PATH));
	size_t n = json_object_size(env), i = 0;
	char **envp = rn_xmalloc((n + 1) * sizeof *envp);
	json_object_foreach(env, k, v) {
		envp[i++] = rn_xasprintf("%s=%s", k, json_string_value(v));
	}
	envp[i] = NULL;
	*env_out = env;
	return envp;
}

/* Append what a pipe has to a buffer, up to max bytes kept. 0 at EOF. */
static int drain(int fd, rn_buf *b, size_t max, bool *truncated)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n > 0) {
			size_t room = b->len < max ? max - b->len : 0;
			size_t keep = (size_t)n < room ? (size_t)n : room;
			if (keep < (size_t)n)
				*truncated = true;
			rn_buf_append(b, chunk, keep);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		return 0;
	}
}

int runnel_tool_run(const runnel_tool *t, runnel_tool_result *res, runnel_error *err)
{
	memset(res, 0, sizeof *res);
	if (!t->argv || !t->argv[0])
		return rn_fail(err, EINVAL, "runnel_tool_run: no command given");
	json_t *env;
	char **envp = tool_envp(t->envvars, t->clean_environment, &env);
	char *path = rn_which(t->argv[0], env);
	json_decref(env);
	rn_buf out, errb;
	rn_buf_init(&out);
	rn_buf_init(&errb);
	if (!path) {
		rn_argv_free(envp);
		res->rc = 127;
		char *msg = rn_xasprintf("The command was not found or was not executable: %s.\n",
		                         t->argv[0]);
		res->err = msg;
		res->err_len = strlen(msg);
		res->out = rn_xstrdup("");
		return 0;
	}
	int po[2], pe[2], report[2];
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) || pipe2(report, O_CLOEXEC)) {
		free(path);
		rn_argv_free(envp);
		return rn_fail(err, errno, "cannot make pipes: %s", strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		free(path);
		rn_argv_free(envp);
		return rn_fail(err, errno, "cannot fork: %s", strerror(errno));
	}
	if (pid == 0) {
		setsid();
		int devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (!t->cwd || chdir(t->cwd) == 0)
			execve(path, (char *const *)t->argv, envp);
		int e = errno;
		(void)!write(report[1], &e, sizeof e);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	close(report[1]);
	free(path);
	rn_argv_free(envp);
	int e;
	ssize_t got = read(report[0], &e, sizeof e);
	close(report[0]);
	if (got == (ssize_t)sizeof e) {
		waitpid(pid, NULL, 0);
		close(po[0]);
		close(pe[0]);
		return rn_fail(err, e, "cannot run %s%s%s: %s", t->argv[0], t->cwd ? " in " : "",
		               t->cwd ? t->cwd : "", strerror(e));
	}
	fcntl(po[0], F_SETFL, O_NONBLOCK);
	fcntl(pe[0], F_SETFL, O_NONBLOCK);

	size_t max = t->max_output ? t->max_output : (size_t)64 << 20;
	double start = rn_now(), kill_at = 0;
	double grace = t->cancel_grace_period > 0 ? t->cancel_grace_period : 2.0;
	bool out_open = true, err_open = true, alive = true, term_sent = false, kill_sent = false;
	int status = 0;
	int cancel_fd = t->canceler ? t->canceler->fd : -1;
	double exited_at = 0;
	while (out_open || err_open || alive) {
		struct pollfd pf[3] = {{.fd = out_open ? po[0] : -1, .events = POLLIN},
		                       {.fd = err_open ? pe[0] : -1, .events = POLLIN},
		                       {.fd = cancel_fd, .events = POLLIN}};
		poll(pf, 3, 20);
		if (out_open && pf[0].revents)
			out_open = drain(po[0], &out, max, &res->truncated);
		if (err_open && pf[1].revents)
			err_open = drain(pe[0], &errb, max, &res->truncated);
		double now = rn_now();
		if (alive && waitpid(pid, &status, WNOHANG) == pid) {
			alive = false;
			exited_at = now;
		}
		if (pf[2].revents & POLLIN)
			res->canceled = true;
		if (t->timeout > 0 && now - start >= t->timeout && !res->canceled)
			res->timed_out = true;
		if ((res->canceled || res->timed_out) && alive && !term_sent) {
			term_sent = true;
			kill(-pid, SIGTERM);
			kill_at = now + grace;
		}
		if (term_sent && !kill_sent && now >= kill_at) {
			kill_sent = true;
			kill(-pid, SIGKILL);
		}
		/* the tool is gone but something it left behind holds the
		 * pipes open: give it a second to finish writing, no more */
		if (!alive && now - exited_at > 1.0)
			break;
	}
	if (res->canceled || res->timed_out)
		kill(-pid, SIGKILL);
	close(po[0]);
	close(pe[0]);
	if (res->canceled || res->timed_out)
		res->rc = 254;
	else if (WIFEXITED(status))
		res->rc = WEXITSTATUS(status);
	else
		res->rc = -1;
	if (!out.data)
		rn_buf_append(&out, "", 0);
	if (!errb.data)
		rn_buf_append(&errb, "", 0);
	res->out = out.data;
	res->out_len = out.len;
	res->err = errb.data;
	res->err_len = errb.len;
	return 0;
}

void runnel_tool_result_clear(runnel_tool_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof *r);
}

/* The cache file of a host, or NULL (with err) for a name that is no file name. */
static char *fact_path(const char *dir, const char *host, runnel_error *err)
{
	if (!host || !*host || strchr(host, '/') || !strcmp(host, ".") || !strcmp(host, "..")) {
		rn_fail(err, EINVAL, "fact cache: '%s' is not a valid host name", host ? host : "");
		return NULL;
	}
	return rn_path_join(dir, host);
}

json_t *runnel_fact_cache_get(const char *dir, const char *host, runnel_error *err)
{
	char *path = fact_path(dir, host, err);
	if (!path)
		return NULL;
	if (!rn_exists(path)) {
		free(path);
		return json_object();
	}
	json_error_t je;
	json_t *facts = json_load_file(path, JSON_DECODE_ANY, &je);
	if (!facts)
		rn_fail(err, EINVAL, "fact cache %s: line %d: %s", path, je.line, je.text);
	free(path);
	return facts;
}

int runnel_fact_cache_set(const char *dir, const char *host, const json_t *facts, runnel_error *err)
{
	char *path = fact_path(dir, host, err);
	if (!path)
		return -1;
	int rc = rn_mkdirs(dir, 0700, err);
	if (rc == 0) {
		char *text = json_dumps(facts, JSON_ENCODE_ANY);
		rc = rn_write_file_atomic(path, text, strlen(text), 0600, err);
		free(text);
	}
	free(path);
	return rc;
}
