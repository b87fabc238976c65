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
 * Processes: runnel_run() makes the calling process a child subreaper
 * (PR_SET_CHILD_SUBREAPER) so that what a job daemonizes (ssh-agent, ssh
 * ControlPersist masters, async tasks) comes back to it and is ended with
 * the job. A child that the process forks on another thread while a run goes
 * on cannot be told from the job's and is ended too: run jobs in a process
 * that forks nothing else meanwhile (runneld runs one job per worker process).
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
 * An event, as the event_handler sees it. The runner keeps events as JSON
 * text and parses one only when asked (runnel_event_object): parsing every
 * event would cost more than everything else the runner does.
 * Everything returned is borrowed and valid during the callback only.
 */
typedef struct runnel_event runnel_event;

/* The event as JSON text (what its job_events file holds); *len if not NULL. */
const char *runnel_event_json(runnel_event *ev, size_t *len);
/* The event as an object, parsed on first use. Changes made to it are kept:
 * they are written to the job_events file and seen by runnel_event_json(). */
json_t *runnel_event_object(runnel_event *ev);
/* Set a top-level key (takes the reference to value); cheap when the event
 * has not been parsed. */
void runnel_event_set(runnel_event *ev, const char *key, json_t *value);
/* The counter (1, 2, ...), uuid and type ("runner_on_ok", "verbose", ...;
 * NULL when it has none) of the event. */
long runnel_event_counter(const runnel_event *ev);
const char *runnel_event_uuid(const runnel_event *ev);
const char *runnel_event_type(runnel_event *ev);

/*
 * Callbacks, with the semantics of ansible-runner's interface.run().
 *
 * event_handler: called once per event, in counter order, with the complete
 *   event (uuid, counter, stdout, start_line, end_line, runner_ident, event,
 *   created, event_data, ...). The handler may add or change keys (they are
 *   written to the job_events file). Return true to write the job_events
 *   file, false to drop it (the event is still counted). NULL: every event
 *   is written.
 * cancel_callback: return true to cancel the run. Called whenever the run
 *   wakes up (output, a signal, runnel_cancel(), or at most every 100 ms).
 * status_handler: called with {"status", "runner_ident"} and, on "starting",
 *   also "command", "env" and "cwd". Borrowed.
 * artifacts_handler: called with the artifact dir once status and rc are written.
 * finished_callback: called last, with the result of the run.
 */
typedef bool (*runnel_event_fn)(runnel_event *event, void *userdata);
typedef bool (*runnel_cancel_fn)(void *userdata);
typedef void (*runnel_status_fn)(json_t *status_data, void *userdata);
typedef void (*runnel_artifacts_fn)(const char *artifact_dir, void *userdata);
typedef void (*runnel_finished_fn)(const runnel_run_result *result, void *userdata);
/* Debug log lines (no newline), when config->debug is set. Secrets are
 * redacted from them. NULL: lines go to stderr. */
typedef void (*runnel_log_fn)(const char *line, void *userdata);

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

	/* The job's environment. false (ansible-runner's semantics, what
	 * `runnel run` does): this process's environment, then envvars, then
	 * env/envvars, then what the runner adds (ANSIBLE_STDOUT_CALLBACK, ...).
	 * true: nothing of this process's environment, only envvars, env/envvars
	 * and what the runner adds; PATH is /usr/local/bin:/usr/bin:/bin unless
	 * they set it. A service running jobs for others sets it and starts
	 * envvars from runnel_env_basic(), so that none of its own variables
	 * (secrets, settings) reach a job. The status_handler's "env" is the
	 * environment the job got, in both cases. */
	bool clean_environment;

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

	int timeout;                /* job_timeout in seconds, overriding settings; 0: none */
	double cancel_grace_period; /* seconds between SIGTERM and SIGKILL; default 2 */

	runnel_event_fn event_handler;
	runnel_cancel_fn cancel_callback;
	runnel_status_fn status_handler;
	runnel_artifacts_fn artifacts_handler;
	runnel_finished_fn finished_callback;
	void *userdata; /* passed to every callback */

	runnel_canceler *canceler; /* optional, from runnel_canceler_new() */

	bool debug;                /* log what the run does (--debug) */
	runnel_log_fn log_handler; /* where debug lines go; NULL: stderr */
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
 * The strings in *result are the caller's: free them with runnel_result_clear().
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

/*
 * The part of this process's environment that is safe and useful to hand to
 * a job started with clean_environment: PATH, HOME, USER, LOGNAME, LANG,
 * LANGUAGE, LC_*, TZ and TMPDIR (the account, the locale, the time zone).
 * PATH is /usr/local/bin:/usr/bin:/bin when unset. A new object of strings.
 */
json_t *runnel_env_basic(void);

/* Version of librunnel, e.g. "0.1.0". */
const char *runnel_version(void);

/* ==================================================================== *
 * Streaming: transmit / worker / process                               *
 * ==================================================================== *
 *
 * ansible-runner's streaming protocol, wire-compatible with ansible-runner
 * (either side may be the real ansible-runner). A job crosses a pipe (ssh,
 * receptor, ...) as JSON lines:
 *
 *   transmit -> worker:  {"kwargs": {...}}\n  {"zipfile": N}\n<base64 of a zip
 *                        of the private data dir, no newline>{"eof": true}\n
 *   worker -> process:   {"status": "starting", "command", "env", "cwd", ...}\n
 *                        {"status": "running", ...}\n  one line per event
 *                        {"status": "<final>", ...}\n  {"zipfile": N}\n<base64
 *                        of a zip of the artifact dir>{"eof": true}\n
 *
 * with {"event": "keepalive", "counter": 0, "uuid": 0}\n lines from the worker
 * when it has been idle for keepalive_seconds, and, when the worker cannot go
 * on, {"status": "error", "job_explanation": "..."}\n{"eof": true}\n.
 *
 * Memory stays flat: zips are built in and read from temp files ($TMPDIR) and
 * base64 goes through fixed buffers. Zips: deflate, names relative to the
 * directory, modes in the external attributes, mtimes, symlinks as entries
 * with S_IFLNK in the external attributes and the target as content, FIFOs
 * skipped. Extraction restores modes (not set-id bits), mtimes and symlinks,
 * and refuses entries that would land outside the target directory ("..",
 * absolute names, paths through a symlink).
 *
 * The file descriptors are borrowed (never closed). The output descriptor of
 * runnel_worker() must not be 1 if anything may print to stdout during the
 * run (an env/settings suppress_ansible_output: false would): runnel worker
 * moves its stream off fd 1 first.
 */

/*
 * Write config's job as a transmit stream to out_fd: the run options as
 * upstream's Transmitter sends them (ident, playbook, module, inventory, ...
 * with their upstream names), the private data dir as a zip, eof. As
 * upstream's transmit, values that persist into env/ (envvars, extravars,
 * passwords, settings, cmdline, ssh_key) are written there first unless
 * suppress_env_files, and then travel in the zip. Callbacks are not used.
 * 0, or -1 with err.
 */
int runnel_transmit(const runnel_config *config, int out_fd, runnel_error *err);

/* How a worker runs. Zero-initialize. */
typedef struct runnel_worker_options {
	/* where to unpack the job; NULL: a new temp dir, removed at the end */
	const char *private_data_dir;
	/* remove private_data_dir before unpacking and after the run */
	bool delete_directory;
	/* emit a keepalive line after this many idle seconds; 0: the value of
	 * $ANSIBLE_RUNNER_KEEPALIVE_SECONDS, else none; < 0: none */
	double keepalive_seconds;
	/* cancels the job (runnel_cancel()); optional */
	runnel_canceler *canceler;
} runnel_worker_options;

/*
 * Read a transmit stream from in_fd, unpack it, run the job quietly with
 * runnel_run() and write the result stream to out_fd. Returns 0 and fills
 * *result (may be NULL; clear it with runnel_result_clear()) when the job
 * ran, whatever its status. Returns -1 with err when it did not (a broken
 * transmit stream, an unpackable zip, a job that could not be prepared): the
 * error status line and eof have been written to out_fd then.
 */
int runnel_worker(int in_fd, int out_fd, const runnel_worker_options *options,
                  runnel_run_result *result, runnel_error *err);

/* What runnel_process() saw. */
typedef struct runnel_process_result {
	char status[32]; /* the last status of the stream: "successful",
	                    "failed", ..., "error"; "unstarted" if none */
	long events;     /* events received */
	bool eof;        /* the stream ended with its eof line */
	char artifact_dir[4096];
	char job_explanation[1024]; /* with status "error" */
} runnel_process_result;

/*
 * Consume a worker's result stream from in_fd, as ansible-runner's process:
 * status lines go to config->status_handler; each event is printed (its
 * stdout and a newline) unless config->quiet, handed to event_handler (true:
 * write job_events/<counter>-<uuid>.json, 0600) ; the artifacts zip is
 * extracted into the artifact dir and artifacts_handler called; at the end
 * finished_callback (status mapped to the enum, "error" as failed; rc from
 * the artifacts' rc file, -1 if none). The artifact dir is
 * config->artifact_dir, else <private_data_dir>/artifacts/<ident>, else
 * <private_data_dir>/artifacts (as upstream). Keepalive lines are ignored.
 * Returns 0 when the stream ended with eof and no error status, else -1 with
 * err (the status_handler has then seen {"status": "error", ...}).
 */
int runnel_process(int in_fd, const runnel_config *config, runnel_process_result *result,
                   runnel_error *err);

/*
 * Fact cache (the jsonfile cache of a run: <artifact dir>/fact_cache/<host>).
 *
 * runnel_fact_cache_get: a new reference to the host's cached facts (an
 *   object; an empty object when the host has none), or NULL with err.
 * runnel_fact_cache_set: replace the host's cached facts (mode 0600, written
 *   atomically). 0 or -1 with err. A host name holding '/' is refused.
 */
json_t *runnel_fact_cache_get(const char *fact_cache_dir, const char *host, runnel_error *err);
int runnel_fact_cache_set(const char *fact_cache_dir, const char *host, const json_t *facts,
                          runnel_error *err);

/*
 * Run one ansible tool (ansible-inventory, ansible-config, ansible-doc,
 * ansible-galaxy, or any command) to completion with its output captured:
 * no pty, stdout and stderr kept apart, as ansible-runner's run_command().
 * The job service's inventory update is built on it.
 */
typedef struct runnel_tool {
	const char *const *argv;    /* NULL-terminated; argv[0] is looked up in PATH */
	const char *cwd;            /* NULL: the current directory */
	json_t *envvars;            /* object added to the environment, or NULL */
	double timeout;             /* seconds; 0: none */
	size_t max_output;          /* bytes kept of each stream; 0: 64 MiB */
	runnel_canceler *canceler;  /* optional */
	double cancel_grace_period; /* seconds between SIGTERM and SIGKILL; default 2 */
	bool clean_environment;     /* only envvars, not this process's environment
	                               (as runnel_config's; PATH defaulted the same) */
} runnel_tool;

typedef struct runnel_tool_result {
	int rc; /* exit code; 127 not found; 254 timeout/cancel; -1 signal */
	bool timed_out;
	bool canceled;
	char *out; /* NUL-terminated, may hold other NULs; free() */
	size_t out_len;
	char *err;
	size_t err_len;
	bool truncated; /* output beyond max_output was dropped */
} runnel_tool_result;

/* 0 when the tool ran (whatever its rc), -1 with err when it could not be
 * started. Free the result with runnel_tool_result_clear(). */
int runnel_tool_run(const runnel_tool *tool, runnel_tool_result *result, runnel_error *err);
void runnel_tool_result_clear(runnel_tool_result *result);

#ifdef __cplusplus
}
#endif
#endif
