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
 *
 * Faults (jobproc.h keeps what they need: each job's cgroup and a record in
 * the state dir that outlives the worker and runneld):
 *
 *   a worker dies (SIGKILL, a crash)  every process of its job is killed
 *       (its cgroup; else whatever holds its private data dir), the private
 *       data dir is removed (unless kept on purpose), and, once the events
 *       the worker had sent are stored (or after a few seconds), the job
 *       ends "error" saying so and how many of them were stored;
 *   runneld dies (kill -9)  the next runneld on the state dir finds the
 *       records of the jobs it left: it lets their workers finish (they got
 *       SIGTERM) or kills them, ends what is left of the jobs the same way,
 *       and fails those still active with what happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine_internal.h"
#include "job_states.h"
#include "shlex.h"
#include "jobproc.h"
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
	store_progress job; /* its status and counts: the job is not shaped */
	if (store_job_progress(e->st, job_id, &job, &err) < 0)
		return;
	if (job_state_is_active(job.status)) {
		store_job_append(e->st, job_id, "job_explanation", why, &err);
		/* the EOF never came: the worker's count is all we know; never
		 * lower it to what was stored (that would hide a loss) */
		long emitted = job.emitted_events, stored = job.stored_events;
		json_t *f = json_pack("{s:I}", "emitted_events",
		                      (json_int_t)(emitted > stored ? emitted : stored));
		json_decref(store_update(e->st, STORE_UNIFIED_JOB, job_id, f,
		                         STORE_SYSTEM | STORE_NO_RESULT, &err));
		json_decref(f);
		store_job_transition(e->st, job_id, NULL, job.cancel_flag ? "canceled" : "failed",
		                     NULL, &err);
		engine_log(e, "job %ld: reaped: %s", job_id, why);
	}
}

/* ------------------------------------------------------------------ */
/* faults: a worker that died, a runneld that died                      */

/* "signal 9 (SIGKILL)" */
static void signal_words(int sig, char *buf, size_t size)
{
	const char *abbrev = sigabbrev_np(sig);
	if (abbrev)
		snprintf(buf, size, "signal %d (SIG%s)", sig, abbrev);
	else
		snprintf(buf, size, "signal %d", sig);
}

/* What runneld did about the job's processes and its private data dir, as
 * sentences appended to buf. */
static void describe_cleanup(engine *e, const jobproc *rec, const jobproc_ended *ended,
                             bool removed, rn_buf *buf)
{
	char line[PATH_MAX + 256];
	int n;
	if (ended->killed)
		n = snprintf(line, sizeof line,
		             " runneld ended the job's %zu remaining process%s%s.", ended->killed,
		             ended->killed == 1 ? "" : "es",
		             ended->left ? " (some could not be ended in time)" : "");
	else
		n = snprintf(line, sizeof line, " No process of the job was left.");
	rn_buf_append(buf, line, (size_t)n);
	if (rec && rec->pdd && removed)
		n = snprintf(line, sizeof line, " runneld removed its private data dir %s.",
		             rec->pdd);
	else if (rec && rec->pdd && !e->cleanup)
		n = snprintf(line, sizeof line,
		             " runneld kept its private data dir %s (AWX_CLEANUP_PATHS=false).",
		             rec->pdd);
	else if (rec && rec->pdd)
		n = snprintf(line, sizeof line, " Its private data dir %s was already gone.",
		             rec->pdd);
	else
		n = snprintf(line, sizeof line, " The worker had not made a private data dir yet.");
	rn_buf_append(buf, line, (size_t)n);
}

/* Write the final record of a job whose worker died: the explanation with
 * the event figures, emitted_events, the status. */
static void reaped_write(engine *e, const engine_reaped *r, const store_progress *job)
{
	runnel_error err;
	long stored = job->stored_events;
	long field = job->emitted_events;
	/* an EOF the receiver read may know more than the record */
	long emitted = r->emitted < 0 ? -1 : (field > r->emitted ? field : r->emitted);
	/* events the job made that were still in the worker died with it */
	long held = r->produced > emitted && emitted >= 0 ? r->produced - emitted : 0;
	char figures[320];
	const char *bus = e->s.bus_backend;
	if (emitted < 0) {
		/* not known: what was stored is all there will be */
		emitted = stored;
		snprintf(figures, sizeof figures,
		         " %ld event%s stored; how many the worker had sent is not known.", stored,
		         stored == 1 ? " was" : "s were");
	} else if (stored >= emitted) {
		snprintf(figures, sizeof figures,
		         " %ld of the %ld events the worker had sent were stored.", stored,
		         emitted);
	} else if (!r->restarted) {
		snprintf(figures, sizeof figures,
		         " %ld of the %ld events the worker had sent are stored so far; "
		         "the others are still on the bus.",
		         stored, emitted);
	} else if (!strcmp(bus, "local")) {
		snprintf(
		    figures, sizeof figures,
		    " %ld of the %ld events the worker had sent were stored; the other %ld were "
		    "on runneld's local bus when it stopped and are lost.",
		    stored, emitted, emitted - stored);
	} else {
		snprintf(figures, sizeof figures,
		         " %ld of the %ld events the worker had sent were stored when runneld "
		         "stopped; those still on the bus are stored as they are read.",
		         stored, emitted);
	}
	char lost[160] = "";
	if (held)
		snprintf(
		    lost, sizeof lost,
		    " %ld more event%s the job had made were still in the worker and are lost.",
		    held, held == 1 ? "" : "s");
	char *text = rn_xasprintf("%s%s%s", r->why, figures, lost);
	if (store_job_append(e->st, r->job_id, "job_explanation", text, &err) < 0)
		engine_log(e, "job %ld: job_explanation: %s", r->job_id, err.message);
	/* emitted_events: every event the job made; never lowered to what was
	 * stored (that would hide a loss) */
	json_t *f = json_pack("{s:I}", "emitted_events", (json_int_t)(emitted + held));
	if (r->kept_pdd)
		json_object_set_new(f, "private_data_dir", json_string(r->kept_pdd));
	json_t *o = store_update(e->st, STORE_UNIFIED_JOB, r->job_id, f,
	                         STORE_SYSTEM | STORE_NO_RESULT, &err);
	if (!o)
		engine_log(e, "job %ld: emitted_events: %s", r->job_id, err.message);
	json_decref(o);
	json_decref(f);
	const char *status = job->cancel_flag ? "canceled" : r->status;
	int moved = store_job_transition(e->st, r->job_id, NULL, status, NULL, &err);
	if (moved == 1)
		engine_log(e, "job %ld: %s: %s", r->job_id, status, text);
	else if (moved < 0)
		engine_log(e, "job %ld: status %s: %s", r->job_id, status, err.message);
	free(text);
}

/* Write the records of reaped jobs whose events are stored, or whose wait
 * is over (all of them if now). */
static void reaped_settle(engine *e, bool now)
{
	for (size_t i = 0; i < e->nreaped;) {
		engine_reaped *r = &e->reaped[i];
		runnel_error err;
		/* polled while the job's events are stored: its counts alone, as
		 * the worker's own wait reads them */
		store_progress job;
		bool found = store_job_progress(e->st, r->job_id, &job, &err) == 0;
		bool active = found && job_state_is_active(job.status);
		long stored = found ? job.stored_events : 0;
		if (active && !now && r->emitted > stored && rn_now() < r->deadline) {
			i++;
			continue;
		}
		if (active)
			reaped_write(e, r, &job);
		free(r->why);
		free(r->kept_pdd);
		e->reaped[i] = e->reaped[--e->nreaped];
	}
}

/* Kill what is left of a job whose worker is gone, remove (or keep) its
 * private data dir; a sentence saying so is appended to why. */
static void end_job_processes(engine *e, jobproc *rec, rn_buf *why)
{
	jobproc_ended ended = {0};
	jobproc_end(rec, true, 2.0, &ended);
	bool removed = e->cleanup && jobproc_remove_pdd(rec, e->s.isolation_base_path);
	engine_log(e, "job %ld: ended %zu process%s (%s%s%s)%s%s", rec->job_id, ended.killed,
	           ended.killed == 1 ? "" : "es", ended.by_cgroup ? "cgroup" : "",
	           ended.by_cgroup && ended.by_pdd ? ", " : "",
	           ended.by_pdd ? "private data dir scan" : "", removed ? ", removed " : "",
	           removed ? rec->pdd : "");
	describe_cleanup(e, rec, &ended, removed, why);
}

/* sysinfo: the log's line of a job that ended with its worker: its final
 * status and explanation (those a reaped job gets are in reaped_write). */
static void log_job_end(engine *e, long job_id, const json_t *job)
{
	const char *status = json_string_value(json_object_get(job, "status"));
	const char *type = json_string_value(json_object_get(job, "type"));
	const char *why = json_string_value(json_object_get(job, "job_explanation"));
	engine_log(e, "job %ld: %s finished: %s%s%s", job_id, type ? type : "job",
	           status ? status : "?", why && *why ? ": " : "", why && *why ? why : "");
}

/* A worker this engine started ended (wstatus from waitpid). If it recorded
 * the job's outcome, only its cgroup is emptied and its record dropped;
 * if it died first, the job is ended and its record will be written once
 * its events are stored (reaped_settle). */
static void worker_ended(engine *e, long job_id, pid_t pid, int wstatus)
{
	runnel_error err;
	jobproc rec;
	int have = jobproc_load(e->s.state_dir, job_id, &rec, &err);
	if (have < 0)
		engine_log(e, "job %ld: process record: %s", job_id, err.message);
	json_t *job = store_get(e->st, STORE_UNIFIED_JOB, job_id, &err);
	bool active = job && job_state_is_active(json_string_value(json_object_get(job, "status")));
	if (job && !active)
		log_job_end(e, job_id, job);
	json_decref(job);
	if (!active) {
		if (have == 1) {
			/* what the job daemonized and the runner did not end */
			jobproc_ended ended = {0};
			jobproc_end(&rec, false, 1.0, &ended);
			if (ended.killed)
				engine_log(e, "job %ld: ended %zu process%s left in its cgroup",
				           job_id, ended.killed, ended.killed == 1 ? "" : "es");
			jobproc_forget(&rec);
			jobproc_clear(&rec);
		}
		return;
	}
	rn_buf why;
	rn_buf_init(&why);
	char words[64], line[256];
	int n;
	pthread_mutex_lock(&e->mu);
	bool shutting_down = e->stopping;
	pthread_mutex_unlock(&e->mu);
	if (WIFSIGNALED(wstatus)) {
		signal_words(WTERMSIG(wstatus), words, sizeof words);
		n = snprintf(line, sizeof line,
		             "The job's worker process (pid %d) was killed by %s%s before it "
		             "recorded an outcome.",
		             (int)pid, words,
		             shutting_down ? " while runneld was shutting down" : "");
	} else {
		n = snprintf(line, sizeof line,
		             "The job's worker process (pid %d) exited (code %d) before it "
		             "recorded an outcome.",
		             (int)pid, WEXITSTATUS(wstatus));
	}
	rn_buf_append(&why, line, (size_t)n);
	/* a shutdown that had to kill the worker fails the job, as the shutdown
	 * signal does; any other death of a worker is an error */
	engine_reaped r = {.job_id = job_id,
	                   .emitted = -1,
	                   .produced = -1,
	                   .deadline = rn_now() + 5,
	                   .status = shutting_down ? "failed" : "error"};
	if (have == 1) {
		end_job_processes(e, &rec, &why);
		r.emitted = rec.emitted;
		r.produced = rec.produced;
		if (!e->cleanup && rec.pdd)
			r.kept_pdd = rn_xstrdup(rec.pdd);
		jobproc_forget(&rec);
		jobproc_clear(&rec);
	}
	rn_buf_appendc(&why, '\0');
	r.why = why.data;
	e->reaped = rn_xrealloc(e->reaped, (e->nreaped + 1) * sizeof *e->reaped);
	e->reaped[e->nreaped++] = r;
	reaped_settle(e, false);
}

/* Make the record (and the cgroup) of a job about to get a worker. Returns
 * the descriptor the child writes "0" into to enter the cgroup, or -1. */
static int record_begin(engine *e, long job_id, jobproc *rec)
{
	runnel_error err;
	int cgfd = -1;
	if (jobproc_create(e->s.state_dir, e->cgroup_base, job_id, rec, &cgfd, &err) < 0) {
		engine_log(
		    e,
		    "job %ld: process record: %s (a dead worker's processes will be found by its "
		    "private data dir only)",
		    job_id, err.message);
		memset(rec, 0, sizeof *rec);
	}
	return cgfd;
}

/* Wait until pid (not our child) is gone, up to timeout seconds. */
static bool wait_gone(pid_t pid, const char *state_dir, long job_id, double timeout)
{
	double deadline = rn_now() + timeout;
	while (jobproc_is_worker(pid, state_dir, job_id)) {
		if (rn_now() >= deadline)
			return false;
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	return true;
}

/* A job a previous runneld on this state dir started (it has a record):
 * its worker, if still there, got SIGTERM when that runneld died and is
 * ending the job itself; it gets the time to. Then whatever is left of the
 * job is ended, and a job still active is failed saying what happened. */
static void reap_previous(engine *e, long job_id)
{
	runnel_error err;
	jobproc rec;
	if (jobproc_load(e->s.state_dir, job_id, &rec, &err) != 1)
		return;
	json_t *job = store_get(e->st, STORE_UNIFIED_JOB, job_id, &err);
	pid_t pid = rec.worker_pid ? rec.worker_pid
	                           : (pid_t)json_integer_value(json_object_get(job, "worker_pid"));
	json_decref(job);
	const char *fate = "had ended without recording an outcome";
	if (jobproc_is_worker(pid, e->s.state_dir, job_id)) {
		engine_log(e,
		           "job %ld: the worker pid %d of the previous runneld is still running; "
		           "waiting for it",
		           job_id, (int)pid);
		if (!wait_gone(pid, e->s.state_dir, job_id, e->s.cancel_grace_period + 5)) {
			kill(pid, SIGKILL);
			wait_gone(pid, e->s.state_dir, job_id, 2);
			fate = "was still running and was killed";
		}
		/* what it wrote meanwhile (its private data dir, its count) */
		jobproc_clear(&rec);
		if (jobproc_load(e->s.state_dir, job_id, &rec, &err) != 1)
			return;
	}
	store_progress now; /* its status and counts: the job is not shaped */
	if (store_job_progress(e->st, job_id, &now, &err) < 0) {
		jobproc_forget(&rec);
		jobproc_clear(&rec);
		return;
	}
	bool active = job_state_is_active(now.status);
	bool local = !strcmp(e->s.bus_backend, "local");
	if (active) {
		rn_buf why;
		rn_buf_init(&why);
		char line[512];
		char who[48] = "";
		if (pid > 0)
			snprintf(who, sizeof who, " (pid %d)", (int)pid);
		int n = snprintf(
		    line, sizeof line,
		    "runneld stopped while this job ran (it was restarted); its worker%s %s.", who,
		    fate);
		rn_buf_append(&why, line, (size_t)n);
		end_job_processes(e, &rec, &why);
		rn_buf_appendc(&why, '\0');
		/* the receiver is not reading yet: the record is written now; events
		 * still on a Redis bus are stored once it reads them, and
		 * event_processing_finished says when all are */
		engine_reaped r = {.job_id = job_id,
		                   .emitted = rec.emitted,
		                   .produced = rec.produced,
		                   .why = why.data,
		                   .status = "failed",
		                   .kept_pdd = !e->cleanup && rec.pdd ? rec.pdd : NULL,
		                   .restarted = true};
		reaped_write(e, &r, &now);
		rn_buf_free(&why);
	} else {
		jobproc_ended ended = {0};
		jobproc_end(&rec, false, 1.0, &ended);
		long emitted = now.emitted_events, stored = now.stored_events;
		if (local && stored < emitted) {
			/* its worker finished the job, but runneld was not there to store
			 * the last events it sent: the local bus lost them */
			char line[256];
			snprintf(line, sizeof line,
			         "runneld stopped while this job ran: %ld of the %ld events it "
			         "emitted were on runneld's "
			         "local bus and are lost.",
			         emitted - stored, emitted);
			store_job_append(e->st, job_id, "job_explanation", line, &err);
			engine_log(e, "job %ld: %s", job_id, line);
		}
	}
	jobproc_forget(&rec);
	jobproc_clear(&rec);
}

/* Collect workers that ended. */
static void reap_workers(engine *e)
{
	for (;;) {
		long job_id = 0;
		pid_t pid = 0;
		int status = 0;
		pthread_mutex_lock(&e->mu);
		for (size_t i = 0; i < e->nworkers; i++) {
			pid_t r = waitpid(e->workers[i].pid, &status, WNOHANG);
			if (r == e->workers[i].pid || (r < 0 && errno == ECHILD)) {
				job_id = e->workers[i].job_id;
				pid = e->workers[i].pid;
				e->workers[i] = e->workers[--e->nworkers];
				break;
			}
		}
		pthread_mutex_unlock(&e->mu);
		if (!job_id)
			return;
		engine_log(e, "job %ld: worker ended (%s %d)", job_id,
		           WIFSIGNALED(status) ? "signal" : "code",
		           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		worker_ended(e, job_id, pid, status);
	}
}

/* The environment of a worker, as "K=V" strings (free with rn_argv_free):
 * runnel_env_basic() (account, locale, PATH) and the few variables the
 * worker itself reads (where the callback plugin is, sanitizer options);
 * never the rest of runneld's environment (RUNNEL_ADMIN_PASSWORD, settings,
 * whatever its caller had): settings come on stdin (spawn_worker). The job
 * gets what the worker builds. */
static char **worker_envp(void)
{
	static const char *const pass[] = {"RUNNEL_PLUGIN_DIR", "AWX_LIB_DIRECTORY", "ASAN_OPTIONS",
	                                   "UBSAN_OPTIONS",     "LSAN_OPTIONS",      NULL};
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

/* The worker's settings (e->worker_settings) in a sealed memfd at offset 0,
 * to be its stdin; -1 with errno. */
static int settings_fd(engine *e)
{
	int fd = memfd_create("runneld-worker-settings", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -1;
	size_t len = strlen(e->worker_settings);
	if (rn_write_all(fd, e->worker_settings, len) < 0 || lseek(fd, 0, SEEK_SET) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* fork+exec a worker for job_id, in the job's cgroup if cgfd (its
 * cgroup.procs) is open; its pid or -1 with errno. The command line names
 * the job (runneld-worker --state-dir D --job N --settings -); everything
 * else the worker knows of runneld's settings comes as one JSON object on
 * its stdin (worker_settings.h). */
static pid_t spawn_worker(engine *e, long job_id, int cgfd)
{
	char jobarg[32];
	snprintf(jobarg, sizeof jobarg, "%ld", job_id);
	const char *argv[] = {e->s.worker_path,
	                      "--state-dir",
	                      e->s.state_dir,
	                      "--job",
	                      jobarg,
	                      "--settings",
	                      "-",
	                      NULL};
	int sfd = settings_fd(e);
	if (sfd < 0)
		return -1;
	char **envp = worker_envp(); /* built before fork: the child only execs */
	pid_t pid = fork();
	if (pid == 0) {
		/* only async-signal-safe calls between fork and exec */
		sigset_t none;
		sigemptyset(&none);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (dup2(sfd, STDIN_FILENO) < 0)
			_exit(127);
		if (cgfd >= 0 && write(cgfd, "0", 1) != 1) {
			/* not in the cgroup: the job's processes are still found by
			 * its private data dir */
		}
		execve(argv[0], (char *const *)argv, envp);
		execvpe(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	int saved = errno;
	close(sfd);
	rn_argv_free(envp);
	errno = saved;
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
	/* a workflow job runs in no worker: its manager moves it (workflow.h) */
	store_query q = {
	    .filters = json_pack("{s:s,s:s}", "status", "pending", "not__type", "workflow_job"),
	    .order_by = "id",
	    .page_size = room};
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
		if (store_job_transition(e->st, id, NULL, "waiting", NULL, &err) != 1)
			continue; /* canceled meanwhile */
		jobproc rec;
		int cgfd = record_begin(e, id, &rec);
		pthread_mutex_lock(&e->mu);
		pid_t pid = spawn_worker(e, id, cgfd);
		if (pid > 0) {
			e->workers =
			    rn_xrealloc(e->workers, sizeof *e->workers * (e->nworkers + 1));
			e->workers[e->nworkers++] =
			    (engine_worker){.job_id = id, .pid = pid, .started = rn_now()};
		}
		pthread_mutex_unlock(&e->mu);
		if (cgfd >= 0)
			close(cgfd);
		if (rec.path && pid > 0 && jobproc_set_worker(&rec, pid, &err) < 0)
			engine_log(e, "job %ld: process record: %s", id, err.message);
		if (rec.path && pid < 0)
			jobproc_forget(&rec);
		jobproc_clear(&rec);
		if (pid < 0) {
			char why[160];
			snprintf(why, sizeof why, "Could not start a worker process: %s",
			         strerror(errno));
			store_job_append(e->st, id, "job_explanation", why, &err);
			store_job_transition(e->st, id, NULL, "error", NULL, &err);
			continue;
		}
		json_t *f = json_pack("{s:i}", "worker_pid", (int)pid);
		json_decref(store_update(e->st, STORE_UNIFIED_JOB, id, f,
		                         STORE_SYSTEM | STORE_NO_RESULT, &err));
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
		reaped_settle(e, false);
		claim(e);
		pthread_mutex_lock(&e->mu);
		if (e->dispatcher_stop && e->nworkers == 0) {
			pthread_mutex_unlock(&e->mu);
			reaped_settle(e, true);
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

/* Reap what a previous run left: the jobs it started (their records), then
 * jobs left waiting or running without a record (their worker is gone, or
 * is killed now: nobody would receive its events). Runs in engine_open,
 * before the receiver and the dispatcher start. */
void dispatch_reap_orphans(engine *e)
{
	size_t nids;
	long *ids = jobproc_list(e->s.state_dir, &nids);
	for (size_t k = 0; k < nids; k++)
		reap_previous(e, ids[k]);
	free(ids);
	/* workflow jobs have no worker: their manager resumes them (workflow.h) */
	store_query q = {.filters = json_pack("{s:s,s:s}", "status__in", "waiting,running",
	                                      "not__type", "workflow_job"),
	                 .page_size = 200};
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
			if (jobproc_is_worker(pid, e->s.state_dir, id)) {
				kill(pid, SIGKILL);
				engine_log(e, "job %ld: killed orphaned worker pid %d", id,
				           (int)pid);
			}
			fail_orphan(e, id,
			            "Task was marked as running but its worker is gone (runneld "
			            "was restarted); "
			            "the job was reaped.");
		}
		bool more = pg.count > (long)json_array_size(pg.results);
		store_page_clear(&pg);
		if (!more)
			break;
	}
	json_decref(q.filters);
	/* a launch interrupted between new and pending */
	q = (store_query){.filters =
	                      json_pack("{s:s,s:s}", "status", "new", "not__type", "workflow_job"),
	                  .page_size = 200};
	if (store_list(e->st, STORE_UNIFIED_JOB, &q, &pg, &err) == 0) {
		size_t i;
		json_t *job;
		json_array_foreach(pg.results, i, job)
			store_job_transition(e->st,
			                     (long)json_integer_value(json_object_get(job, "id")),
			                     NULL, "pending", NULL, &err);
		store_page_clear(&pg);
	}
	json_decref(q.filters);
}
