/*
 * dispatch.c - the dispatcher: a thread that keeps up to `capacity` jobs
 * running, each in its own worker process (runneld-worker, fork+exec), and
 * notices when a worker ends.
 *
 *   pending --claim--> waiting --fork/exec--> (the worker sets running and
 *   the final status) --waitpid--> gone; a worker that ended while its job
 *   was still active died: the job fails with an explanation.
 *
 * Cancel and shutdown are signals to the workers (SIGTERM), sent from
 * engine_cancel / engine_shutdown through dispatch_signal(). The worker
 * asks the kernel for SIGTERM when this thread goes away (PR_SET_PDEATHSIG),
 * so a crashed engine stops its jobs too.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine_internal.h"
#include "shlex.h"
#include "util.h"

/* Wake the dispatcher. */
void dispatch_wake(engine *e)
{
	pthread_mutex_lock(&e->mu);
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->mu);
}

/* Send sig to the worker of job_id, if this engine runs it. */
bool dispatch_signal(engine *e, long job_id, int sig)
{
	bool found = false;
	pthread_mutex_lock(&e->mu);
	for (size_t i = 0; i < e->nworkers; i++) {
		if (e->workers[i].job_id == job_id) {
			kill(e->workers[i].pid, sig);
			e->workers[i].signaled = true;
			found = true;
		}
	}
	pthread_mutex_unlock(&e->mu);
	return found;
}

/* The job left active by a worker that is gone: failed, with why. */
static void fail_orphan(engine *e, long job_id, const char *why)
{
	runnel_error err;
	json_t *job = store_get(e->st, STORE_UNIFIED_JOB, job_id, &err);
	if (!job)
		return;
	if (store_status_is_active(json_string_value(json_object_get(job, "status")))) {
		store_job_append(e->st, job_id, "job_explanation", why, &err);
		/* the EOF never came: the worker's count is all we know; never
		 * lower it to what was stored (that would hide a loss) */
		json_int_t emitted = json_integer_value(json_object_get(job, "emitted_events"));
		json_int_t stored = json_integer_value(json_object_get(job, "stored_events"));
		json_t *f =
		    json_pack("{s:I}", "emitted_events", emitted > stored ? emitted : stored);
		json_decref(store_update(e->st, STORE_UNIFIED_JOB, job_id, f, STORE_SYSTEM, &err));
		json_decref(f);
		bool canceled = json_is_true(json_object_get(job, "cancel_flag"));
		store_job_transition(e->st, job_id, store_active_statuses, canceled ? "canceled" : "failed", NULL, &err);
		engine_log(e, "job %ld: reaped: %s", job_id, why);
	}
	json_decref(job);
}

/* Collect workers that ended. */
static void reap_workers(engine *e)
{
	for (;;) {
		long job_id = 0;
		int status = 0;
		pthread_mutex_lock(&e->mu);
		for (size_t i = 0; i < e->nworkers; i++) {
			pid_t r = waitpid(e->workers[i].pid, &status, WNOHANG);
			if (r == e->workers[i].pid || (r < 0 && errno == ECHILD)) {
				job_id = e->workers[i].job_id;
				e->workers[i] = e->workers[--e->nworkers];
				break;
			}
		}
		pthread_mutex_unlock(&e->mu);
		if (!job_id)
			return;
		char why[256];
		if (WIFSIGNALED(status))
			snprintf(why, sizeof why, "The job's worker process was killed by signal %d before it recorded an outcome.",
			         WTERMSIG(status));
		else
			snprintf(why, sizeof why, "The job's worker process exited (code %d) before it recorded an outcome.",
			         WEXITSTATUS(status));
		engine_log(e, "job %ld: worker ended (%s %d)", job_id, WIFSIGNALED(status) ? "signal" : "code",
		           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		fail_orphan(e, job_id, why);
	}
}

/* The environment of a worker, as "K=V" strings (free with rn_argv_free):
 * runnel_env_basic() (account, locale, PATH) and the few variables the
 * worker itself reads (where the callback plugin is, task_env, sanitizer
 * options); never the rest of runneld's environment (RUNNEL_ADMIN_PASSWORD,
 * settings, whatever its caller had). The job gets what the worker builds. */
static char **worker_envp(void)
{
	static const char *const pass[] = {"RUNNEL_PLUGIN_DIR",
	                                   "AWX_LIB_DIRECTORY",
	                                   "RUNNELD_TASK_ENV",
	                                   "ASAN_OPTIONS",
	                                   "UBSAN_OPTIONS",
	                                   "LSAN_OPTIONS",
	                                   NULL};
	json_t *env = runnel_env_basic();
	for (int i = 0; pass[i]; i++) {
		const char *v = getenv(pass[i]);
		if (v)
			json_object_set_new(env, pass[i], json_string(v));
	}
	char **envp = rn_xmalloc((json_object_size(env) + 1) * sizeof *envp);
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(env, k, v)
		envp[n++] = rn_xasprintf("%s=%s", k, json_string_value(v));
	envp[n] = NULL;
	json_decref(env);
	return envp;
}

/* fork+exec a worker for job_id; its pid or -1. */
static pid_t spawn_worker(engine *e, long job_id)
{
	char jobarg[32], cleanup[8], jt[32], it[32], grace[32], stall[32];
	snprintf(jobarg, sizeof jobarg, "%ld", job_id);
	snprintf(cleanup, sizeof cleanup, "%d", e->cleanup ? 1 : 0);
	snprintf(jt, sizeof jt, "%d", e->s.default_job_timeout);
	snprintf(it, sizeof it, "%d", e->s.default_idle_timeout);
	snprintf(grace, sizeof grace, "%g", e->s.cancel_grace_period);
	snprintf(stall, sizeof stall, "%d", e->s.event_stall_timeout);
	const char *argv[32];
	int n = 0;
	argv[n++] = e->s.worker_path;
	argv[n++] = "--state-dir", argv[n++] = e->s.state_dir;
	argv[n++] = "--job", argv[n++] = jobarg;
	argv[n++] = "--store", argv[n++] = e->s.store_backend;
	argv[n++] = "--bus", argv[n++] = e->s.bus_backend;
	argv[n++] = "--bus-socket", argv[n++] = e->bus_socket;
	if (e->s.redis_url)
		argv[n++] = "--redis-url", argv[n++] = e->s.redis_url;
	if (e->s.redis_queue)
		argv[n++] = "--redis-queue", argv[n++] = e->s.redis_queue;
	argv[n++] = "--isolation-base", argv[n++] = e->s.isolation_base_path;
	argv[n++] = "--projects-root", argv[n++] = e->s.projects_root;
	argv[n++] = "--cleanup", argv[n++] = cleanup;
	argv[n++] = "--job-timeout", argv[n++] = jt;
	argv[n++] = "--idle-timeout", argv[n++] = it;
	argv[n++] = "--cancel-grace", argv[n++] = grace;
	argv[n++] = "--event-stall-timeout", argv[n++] = stall;
	argv[n] = NULL;
	char **envp = worker_envp(); /* built before fork: the child only execs */
	pid_t pid = fork();
	if (pid == 0) {
		/* only async-signal-safe calls between fork and exec */
		sigset_t none;
		sigemptyset(&none);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execve(argv[0], (char *const *)argv, envp);
		execvpe(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	rn_argv_free(envp);
	return pid;
}

/* Claim pending jobs while there is capacity, oldest first. */
static void claim(engine *e)
{
	pthread_mutex_lock(&e->mu);
	long room = e->s.capacity - (long)e->nworkers;
	bool stopping = e->stopping;
	pthread_mutex_unlock(&e->mu);
	if (room <= 0 || stopping)
		return;
	store_query q = {.filters = json_pack("{s:s}", "status", "pending"), .order_by = "id", .page_size = room};
	store_page pg = {0};
	runnel_error err;
	if (store_list(e->st, STORE_UNIFIED_JOB, &q, &pg, &err) < 0) {
		engine_log(e, "dispatcher: %s", err.message);
		json_decref(q.filters);
		return;
	}
	json_decref(q.filters);
	size_t i;
	json_t *job;
	json_array_foreach(pg.results, i, job) {
		long id = (long)json_integer_value(json_object_get(job, "id"));
		const char *from[] = {"pending", NULL};
		if (store_job_transition(e->st, id, from, "waiting", NULL, &err) != 1)
			continue; /* canceled meanwhile */
		pthread_mutex_lock(&e->mu);
		pid_t pid = spawn_worker(e, id);
		if (pid > 0) {
			e->workers = rn_xrealloc(e->workers, sizeof *e->workers * (e->nworkers + 1));
			e->workers[e->nworkers++] = (engine_worker){.job_id = id, .pid = pid, .started = rn_now()};
		}
		pthread_mutex_unlock(&e->mu);
		if (pid < 0) {
			char why[160];
			snprintf(why, sizeof why, "Could not start a worker process: %s", strerror(errno));
			store_job_append(e->st, id, "job_explanation", why, &err);
			store_job_transition(e->st, id, store_active_statuses, "error", NULL, &err);
			continue;
		}
		json_t *f = json_pack("{s:i}", "worker_pid", (int)pid);
		json_decref(store_update(e->st, STORE_UNIFIED_JOB, id, f, STORE_SYSTEM, &err));
		json_decref(f);
		engine_log(e, "job %ld: waiting, worker pid %d", id, (int)pid);
	}
	store_page_clear(&pg);
}

/* The dispatcher thread. */
void *dispatch_main(void *arg)
{
	engine *e = arg;
	for (;;) {
		reap_workers(e);
		claim(e);
		pthread_mutex_lock(&e->mu);
		if (e->dispatcher_stop && e->nworkers == 0) {
			pthread_mutex_unlock(&e->mu);
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000; /* workers ending are noticed within 50 ms */
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&e->wake, &e->mu, &ts);
		pthread_mutex_unlock(&e->mu);
	}
	return NULL;
}

/* True if pid is a live runneld-worker process. */
static bool is_worker_process(pid_t pid)
{
	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	runnel_error err;
	size_t len = 0;
	char *cmd = rn_read_file(path, &len, &err);
	bool yes = cmd && len && strstr(cmd, "runneld-worker");
	free(cmd);
	return yes;
}

/* Reap jobs a previous run left waiting or running: their worker is gone
 * (or is killed now: nobody would receive its events). */
void dispatch_reap_orphans(engine *e)
{
	store_query q = {.filters = json_pack("{s:s}", "status__in", "waiting,running"), .page_size = 200};
	store_page pg = {0};
	runnel_error err;
	for (;;) {
		if (store_list(e->st, STORE_UNIFIED_JOB, &q, &pg, &err) < 0) {
			engine_log(e, "reaper: %s", err.message);
			break;
		}
		size_t i;
		json_t *job;
		json_array_foreach(pg.results, i, job) {
			long id = (long)json_integer_value(json_object_get(job, "id"));
			pid_t pid = (pid_t)json_integer_value(json_object_get(job, "worker_pid"));
			if (is_worker_process(pid)) {
				kill(pid, SIGKILL);
				engine_log(e, "job %ld: killed orphaned worker pid %d", id, (int)pid);
			}
			fail_orphan(e, id, "Task was marked as running but its worker is gone (runneld was restarted); "
			                   "the job was reaped.");
		}
		bool more = pg.count > (long)json_array_size(pg.results);
		store_page_clear(&pg);
		if (!more)
			break;
	}
	json_decref(q.filters);
	/* a launch interrupted between new and pending */
	q = (store_query){.filters = json_pack("{s:s}", "status", "new"), .page_size = 200};
	if (store_list(e->st, STORE_UNIFIED_JOB, &q, &pg, &err) == 0) {
		size_t i;
		json_t *job;
		const char *from[] = {"new", NULL};
		json_array_foreach(pg.results, i, job)
			store_job_transition(e->st, (long)json_integer_value(json_object_get(job, "id")), from, "pending",
			                     NULL, &err);
		store_page_clear(&pg);
	}
	json_decref(q.filters);
}
