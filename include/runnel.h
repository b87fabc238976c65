/*
 * runnel.h - the runner library: run ansible (or any command) on a pty, decode
 * its event stream, write ansible-runner compatible artifacts and call back.
 *
 * This header is the reference documentation of librunnel. It is the C
 * equivalent of ansible_runner.interface.run(): same private data dir in,
 * same artifacts and event JSON out, same callbacks.
 *
 * Threading: one runnel_run() per thread at most per config; every callback is
 * called on the thread that called runnel_run(). runnel_cancel() may be called
 * from any thread and from a signal handler.
 *
 * Ownership: strings and JSON values in a runnel_config are borrowed: the
 * caller keeps them alive until runnel_run() returns. Objects returned by a
 * *_new() function are freed with the matching *_free().
 */
#ifndef RUNNEL_H
#define RUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An error as a value: a code (an errno value, or -1 when none fits) and a
 * message that names the file, field or request at fault. */
typedef struct runnel_error {
	int code;
	char message[1024];
} runnel_error;

/* The life of a run, in the order a run goes through it. */
typedef enum runnel_status {
	RUNNEL_UNSTARTED = 0,
	RUNNEL_STARTING,
	RUNNEL_RUNNING,
	RUNNEL_SUCCESSFUL,
	RUNNEL_FAILED,
	RUNNEL_TIMEOUT,
	RUNNEL_CANCELED,
} runnel_status;

/* The name ansible-runner uses for a status: "starting", "successful", ... */
const char *runnel_status_name(runnel_status status);

typedef struct runnel_run_result runnel_run_result;

/*
 * Callbacks, with the semantics of ansible-runner's interface.run().
 *
 * event_handler: called once per event, in counter order, with the complete
 *   event (uuid, counter, stdout, start_line, end_line, runner_ident, event,
 *   created, event_data, ...). The event is borrowed; the handler may add or
 *   change keys (they are written to the job_events file). Return true to
 *   write the job_events file, false to drop it (the event is still counted).
 *   NULL: every event is written.
 * cancel_callback: return true to cancel the run. Called whenever the run
 *   wakes up (output, a signal, runnel_cancel(), or at most every 100 ms).
 * status_handler: called with {"status", "runner_ident"} and, on "starting",
 *   also "command", "env" and "cwd". Borrowed.
 * artifacts_handler: called with the artifact dir once status and rc are written.
 * finished_callback: called last, with the result of the run.
 */
typedef bool (*runnel_event_fn)(json_t *event, void *userdata);
typedef bool (*runnel_cancel_fn)(void *userdata);
typedef void (*runnel_status_fn)(json_t *status_data, void *userdata);
typedef void (*runnel_artifacts_fn)(const char *artifact_dir, void *userdata);
typedef void (*runnel_finished_fn)(const runnel_run_result *result, void *userdata);

/* A handle that cancels a run from another thread or a signal handler. */
typedef struct runnel_canceler runnel_canceler;

/*
 * What to run and how. Zero-initialize, then set what you need; every field
 * left zero takes ansible-runner's default.
 */
typedef struct runnel_config {
	const char *private_data_dir; /* required */

	/* What to run: a playbook (ansible-playbook), or a module (ansible -m),
	 * or `binary` instead of either. `args` in the private data dir (raw
	 * mode) overrides all three. */
	const char *playbook;
	const char *module;
	const char *module_args;
	const char *host_pattern;
	const char *binary;

	const char *ident;     /* artifact ident; default: a new uuid4 */
	const char *inventory; /* -i; default: <pdd>/inventory if it exists */
	const char *limit;
	int forks;
	int verbosity; /* number of -v */
	const char *tags;
	const char *skip_tags;
	const char *cmdline; /* replaces env/cmdline */

	json_t *extravars; /* object: passed as -e '{...}' after -e @env/extravars */
	json_t *envvars;   /* object: merged under env/envvars (the file wins) */
	json_t *settings;  /* object: env/settings keys win over these */
	json_t *passwords; /* object: prompt regex -> answer, env/passwords wins */

	const char *artifact_dir; /* default: <pdd>/artifacts */
	const char *project_dir;  /* default: <pdd>/project */
	int rotate_artifacts;     /* keep this many newest artifact dirs; 0: all */

	bool json_mode;              /* print event JSON instead of stdout text */
	bool quiet;                  /* print nothing */
	bool omit_event_data;        /* RUNNER_OMIT_EVENTS */
	bool only_failed_event_data; /* RUNNER_ONLY_FAILED_EVENTS */
	bool suppress_env_files;     /* do not persist CLI values into env/ */

	const char *ssh_key;    /* private key text; default: env/ssh_key. Loaded into an
				   ssh-agent through a FIFO, never written as a file */
	const char *roles_path; /* sets ANSIBLE_ROLES_PATH */

	/* Process isolation (env/settings keys of the same names win):
	 * bubblewrap ("bwrap") sandboxes the job; "podman"/"docker" run it in a
	 * container. NULL-terminated path lists. */
	bool process_isolation;
	const char *process_isolation_executable; /* default "podman", as upstream */
	const char *process_isolation_path;       /* default "/tmp" */
	const char *const *process_isolation_hide_paths;
	const char *const *process_isolation_show_paths;
	const char *const *process_isolation_ro_paths;
	const char *directory_isolation_base_path; /* run a copy of the project made here */
	const char *container_image; /* default quay.io/ansible/ansible-runner:devel */
	const char *const *container_volume_mounts; /* "src:dst[:labels]" */
	const char *const *container_options;

	int timeout;               /* job_timeout in seconds, overriding settings; 0: none */
	double cancel_grace_period; /* seconds between SIGTERM and SIGKILL; default 2 */

	runnel_event_fn event_handler;
	runnel_cancel_fn cancel_callback;
	runnel_status_fn status_handler;
	runnel_artifacts_fn artifacts_handler;
	runnel_finished_fn finished_callback;
	void *userdata; /* passed to every callback */

	runnel_canceler *canceler; /* optional, from runnel_canceler_new() */
} runnel_config;

/* The outcome of a run. */
struct runnel_run_result {
	runnel_status status; /* successful, failed, timeout or canceled */
	int rc;               /* the job's exit code; 254 on timeout/cancel, 127 if not found;
	                        -1 when killed by a signal runnel did not send (upstream: None) */
	long events;          /* events emitted */
	const char *ident;
	const char *artifact_dir;
};

/*
 * Run a job to its end. Returns 0 and fills *result (may be NULL) when the job
 * ran, whatever its status; returns -1 and fills *err when the run could not
 * be prepared (bad input: the message names the file or field at fault).
 * The strings in *result stay valid until the next runnel_run() on this thread
 * or runnel_result_clear().
 */
int runnel_run(const runnel_config *config, runnel_run_result *result, runnel_error *err);

/* Release what runnel_run() left in *result. */
void runnel_result_clear(runnel_run_result *result);

/* A canceler: create it before the run, put it in config->canceler, and call
 * runnel_cancel() from any thread or signal handler to stop the run at once. */
runnel_canceler *runnel_canceler_new(runnel_error *err);
void runnel_canceler_free(runnel_canceler *c);
/* Async-signal-safe. */
void runnel_cancel(runnel_canceler *c);

/* Version of librunnel, e.g. "0.1.0". */
const char *runnel_version(void);

#ifdef __cplusplus
}
#endif
#endif
