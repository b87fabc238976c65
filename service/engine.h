/*
 * engine.h - the job engine of runneld: what an HTTP layer (or a test
 * driver) calls. It owns the store, the dispatcher (a thread that claims
 * pending jobs within the capacity and runs each in its own worker process)
 * and the callback receiver (a thread that drains the bus into the store).
 *
 *   engine_open()          store + bus + reaper + dispatcher + receiver
 *   engine_launch_*()      create a unified job (pending) and wake the dispatcher
 *   engine_cancel()        cancel_flag, then SIGTERM to the worker (every call re-sends)
 *   engine_store()         reads: jobs, events, stdout, host summaries, resources
 *   engine_shutdown()      stop taking work, cancel running jobs with the
 *                          shutdown explanation, drain the bus, stop threads
 *   engine_close()         shutdown (if not done) and free
 *
 * The path of one job: engine_launch_job_template() → store (pending) →
 * dispatch.c (waiting, fork+exec runneld-worker) → worker.c + tasks/<type>.c
 * (running, private data dir, runnel_run with callbacks) → bus → receiver.c
 * → store (events, host summaries) → worker saves the final status.
 *
 * Threads: every engine_* call may come from any thread. Returned json_t are
 * new references; errors are values (runnel_error; EINVAL messages are
 * "<field>: <reason>" like the store's, ENOENT for an unknown id).
 */
#ifndef RUNNELD_ENGINE_H
#define RUNNELD_ENGINE_H

#include <stdbool.h>
#include <jansson.h>

#include "runnel.h"
#include "store/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct engine engine;

/* One log line of note (no newline): state transitions, errors. */
typedef void (*engine_log_fn)(const char *line, void *userdata);

/* How the engine runs. Zero-initialize; zero (NULL) fields take the
 * defaults of runneld's settings table (config.c), the one place they are
 * written down. */
typedef struct engine_settings {
	const char *state_dir;           /* required: store, keys, bus socket, projects */
	const char *store_backend;       /* store backend ("sqlite") */
	const char *bus_backend;         /* "local" or "redis" */
	const char *redis_url;           /* redis bus: "redis://127.0.0.1:6379" or "unix:///path" */
	const char *redis_queue;         /* the redis bus's list ("callback_tasks") */
	int capacity;                    /* jobs running at once */
	const char *isolation_base_path; /* parent of private data dirs (AWX_ISOLATION_BASE_PATH) */
	const char *cleanup_paths;       /* AWX_CLEANUP_PATHS: "true" removes each private data dir
	                                    (default), "false"/"0"/"no" keeps it and records its path
	                                    on the job; NULL: $AWX_CLEANUP_PATHS, else "true" */
	const char *projects_root;       /* default <state_dir>/projects (AWX PROJECTS_ROOT) */
	int default_job_timeout;         /* seconds; 0: none (a job/template timeout wins) */
	int default_idle_timeout;        /* seconds without output; 0: none */
	int receiver_batch;              /* flush at this many events */
	int receiver_flush_ms;           /* or this long after the last flush */
	double cancel_grace_period;      /* seconds from SIGTERM to SIGKILL of ansible */
	int event_stall_timeout;         /* seconds a job's events may make no progress (bus down,
	                                    store failing) before the job gives them up and ends
	                                    error saying how many */
	const char *task_env;            /* JSON object: variables every job's environment gets
	                                    (AWX_TASK_ENV); NULL: none */
	const char *job_isolation;       /* "true" (NULL: the default): every job's ansible runs
	                                    under bubblewrap, runneld's state dir, the other
	                                    jobs' private data dirs and the projects root hidden
	                                    (sandbox.h); "false"/"0"/"no"/"off": unsandboxed */
	const char *job_isolation_executable; /* the bubblewrap program; NULL: "bwrap" (PATH) */
	const char *job_isolation_show_paths; /* JSON array of paths jobs also see (read-write),
	                                         AWX_ISOLATION_SHOW_PATHS; NULL: none */
	const char *job_isolation_hide_paths; /* JSON array of paths hidden from jobs besides
	                                         runneld's own (secrets elsewhere); NULL: none */
	const char *worker_path;              /* the runneld-worker binary; default: next to
	                                         /proc/self/exe, else $RUNNELD_WORKER, else PATH */
	engine_log_fn log;                    /* NULL: lines go to stderr */
	void *log_userdata;
} engine_settings;

/* Open the engine: open (create, migrate) the store, reap jobs a previous
 * run left waiting/running (→ failed with an explanation), open the bus,
 * start the receiver and the dispatcher. NULL with err. */
engine *engine_open(const engine_settings *settings, runnel_error *err);

/* Stop taking work; SIGTERM every running worker without the cancel flag
 * (so they end failed, "Task was canceled due to receiving a shutdown
 * signal."); wait up to grace_seconds for them (then SIGKILL and reap);
 * drain and flush the bus; stop the threads. Pending jobs stay pending for
 * the next start. Idempotent. */
void engine_shutdown(engine *e, double grace_seconds);

/* engine_shutdown(e, 5) if not done, then free everything. */
void engine_close(engine *e);

/* The engine's store, for reads and resource CRUD (borrowed: valid until
 * engine_close). */
store *engine_store(engine *e);

/*
 * Launch a job from a job template. overrides: the launch-time fields AWX
 * takes (extra_vars (object or JSON/YAML string), limit, job_tags,
 * skip_tags, inventory, credentials (array of ids), verbosity, diff_mode,
 * job_type, forks, timeout, scm_branch); one not allowed by the template's
 * ask_*_on_launch is ignored and named in *ignored (a new object, may be
 * NULL). NULL overrides: none. launch_type: "manual" (NULL), "relaunch",
 * "scheduled", ... created_by: a user id or 0.
 * Returns the new job (status pending), or NULL with err (EINVAL naming the
 * field: no inventory/project, a playbook escaping the project, ...).
 */
json_t *engine_launch_job_template(engine *e, long job_template_id, const json_t *overrides,
                                   const char *launch_type, long created_by, json_t **ignored,
                                   runnel_error *err);

/* Launch an ad hoc command: fields inventory (required), module_name
 * (default "command"), module_args, limit (the host pattern; default "all"),
 * credential, verbosity, forks, become_enabled, diff_mode, job_type,
 * extra_vars, timeout. Returns the new job or NULL with err. */
json_t *engine_launch_ad_hoc(engine *e, const json_t *fields, long created_by, runnel_error *err);

/* Launch a project update (git clone/fetch into the projects root, or check
 * a manual project's local path). Returns the new project_update. */
json_t *engine_launch_project_update(engine *e, long project_id, long created_by,
                                     runnel_error *err);

/* Launch an inventory update of an inventory source (ansible-inventory
 * --list over source_path in source_project). Returns the new inventory_update. */
json_t *engine_launch_inventory_update(engine *e, long inventory_source_id, long created_by,
                                       runnel_error *err);

/* Launch a system job. job_type: "cleanup_jobs" (delete jobs and their
 * events finished more than extra_vars.days ago; default 30). */
json_t *engine_launch_system_job(engine *e, const char *job_type, const json_t *extra_vars,
                                 long created_by, runnel_error *err);

/* Launch what schedule (a schedule object as the store returns it) runs:
 * its unified job template (job template, project, inventory source, or the
 * system job template 1) with the schedule's prompts (extra_data, limit,
 * inventory, ...), launch_type "scheduled" and "schedule" set on the job.
 * The caller has claimed the run (store_schedule_claim). The new job, or
 * NULL with err. */
json_t *engine_launch_scheduled(engine *e, const json_t *schedule, runnel_error *err);

/* workflows (workflow.h): launch a workflow job template: a workflow job
 * (status pending) with its nodes copied from the template's; the workflow
 * manager runs it. prompts: extra_vars, inventory, limit, scm_branch,
 * job_tags, skip_tags (each taken when the template asks for it, else named
 * in *ignored, a new object, may be NULL). Returns the workflow job. */
json_t *engine_launch_workflow(engine *e, long wfjt_id, const json_t *prompts,
                               const char *launch_type, long created_by, json_t **ignored,
                               runnel_error *err);
/* Relaunch a workflow job: a new one with its variables, prompts and nodes
 * (launch_type "relaunch"). Returns it, or NULL with err. */
json_t *engine_relaunch_workflow(engine *e, long wj_id, long created_by, runnel_error *err);
/* What a workflow node runs, launched (workflow.c calls it): see engine.c. */
json_t *engine_launch_for_workflow(engine *e, long ujt, const json_t *overrides,
                                   const json_t *stamp, long created_by, runnel_error *err);
/* Relaunch a unified job with the same parameters. hosts: "all" (NULL) or
 * "failed" (limit to the hosts that failed or were unreachable in it;
 * EINVAL when there are none). Returns the new job. */
json_t *engine_relaunch(engine *e, long job_id, const char *hosts, long created_by,
                        runnel_error *err);

/*
 * Cancel a unified job. Returns 1 when the job was active: the cancel flag
 * is set (once), a new/pending job is canceled at once, a waiting/running
 * job's worker gets SIGTERM (again on every call: "keep clicking"). Returns
 * 0 when the job is not active (the API's 405), -1 with err (ENOENT).
 */
int engine_cancel(engine *e, long job_id, runnel_error *err);

/* Check that playbook is a file inside the project's directory (no "..",
 * no absolute path, no symlink out). 0, or -1 with EINVAL "playbook: ...". */
int engine_check_playbook(engine *e, long project_id, const char *playbook, runnel_error *err);

/* The directory of a project's files: <projects_root>/<local_path>. Caller frees. NULL with err. */
char *engine_project_path(engine *e, long project_id, runnel_error *err);

/* The settings in effect (defaults filled). Borrowed. */
const engine_settings *engine_get_settings(engine *e);

/* Events stored: the receiver calls engine_events_stored after each batch
 * it committed (and its EOFs applied); a reader of the store (the web
 * page's stream) calls engine_events_wait(e, seen, ms) to sleep until the
 * count of commits passes seen or ms milliseconds pass, whichever comes
 * first, and gets the count (0 at first). Commits of another runneld's
 * receiver are not seen: a reader still reads the store after ms. */
void engine_events_stored(engine *e);
unsigned long engine_events_wait(engine *e, unsigned long seen, long ms);

#ifdef __cplusplus
}
#endif
#endif
