/*
 * jobproc.h - the processes of one job, findable after its worker is gone.
 *
 * A worker that dies (SIGKILL, a crash) leaves ansible running: ansible is a
 * session leader on a pty of its own (lib/spawn.c), its children may start
 * sessions of their own too, and the worker, their child subreaper, is the
 * one that is gone. So each job the dispatcher starts gets, before its
 * worker is forked:
 *
 *   - a cgroup of its own (cgroup v2, when the machine has one we may
 *     write: a directory below runneld's own cgroup) that the worker enters
 *     before exec, so that everything the job starts is in it, whatever
 *     sessions or process groups it makes; ended at once with cgroup.kill;
 *   - a record in the state dir, <state>/procs/job_<id>, that outlives both
 *     the worker and runneld: the cgroup, the worker's pid, the private data
 *     dir (written by the worker once it made it) and the number of events
 *     the worker had sent to the bus (kept current by the worker through a
 *     shared mapping of the record's first line: no system call per event).
 *
 * Without a cgroup, the job's processes are found by the private data dir:
 * every process of the job has it in its environment (AWX_PRIVATE_DATA_DIR)
 * or its command line.
 *
 * The record's lines (text, "key value"):
 *
 *   emitted 00000000000000000042 00000000000000000043
 *                                    always first, fixed width (the mapping):
 *                                    events sent to the bus, events made
 *                                    (sent + still held by the worker)
 *   cgroup /sys/fs/cgroup/.../runneld.812.job_7   or "cgroup -"
 *   worker_pid 4711
 *   private_data_dir /tmp/job_7_Ab12Cd
 *
 * The dispatcher writes the first three; the worker appends the last one
 * (O_APPEND) and updates the first. Nothing here keeps global state.
 */
#ifndef RUNNELD_JOBPROC_H
#define RUNNELD_JOBPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runnel.h"

/* A job's process record, as read back (dispatcher side). */
typedef struct jobproc {
	long job_id;
	char *path;       /* the record file (owned) */
	char *cgroup;     /* the job's cgroup directory, or NULL (owned) */
	char *pdd;        /* the private data dir, or NULL if the worker never made one (owned) */
	long emitted;     /* events the worker had sent to the bus; -1 if unknown */
	long produced;    /* events the job had made (sent + held by the worker); -1 if unknown */
	pid_t worker_pid; /* 0 if unknown */
} jobproc;

/* What ending a job's processes did. */
typedef struct jobproc_ended {
	size_t killed;  /* processes found and sent SIGKILL */
	size_t left;    /* processes still there when the time was up */
	bool by_cgroup; /* the cgroup was used */
	bool by_pdd;    /* the /proc scan by private data dir was used */
} jobproc_ended;

/* The cgroup v2 directory runneld runs in, if this machine has a cgroup v2
 * hierarchy mounted where runneld may create cgroups (root). A new string,
 * or NULL with err saying why not. */
char *jobproc_cgroup_base(runnel_error *err);

/* Remove the empty job cgroups below cg_base that runnelds no longer
 * running left (one killed and never started again on its state dir);
 * how many were removed. A cgroup that still has processes stays. */
size_t jobproc_sweep_cgroups(const char *cg_base);

/* Create the record of job_id in state_dir (and its cgroup below cg_base,
 * unless cg_base is NULL or the cgroup cannot be made: then the record says
 * "cgroup -"). Fills rec (jobproc_clear frees it). *cgroup_procs_fd is an
 * O_CLOEXEC descriptor of the cgroup's cgroup.procs for the forked child to
 * write "0" into (entering the cgroup), or -1; the caller closes it. */
int jobproc_create(const char *state_dir, const char *cg_base, long job_id, jobproc *rec,
                   int *cgroup_procs_fd, runnel_error *err);

/* Append the worker's pid to the record. */
int jobproc_set_worker(jobproc *rec, pid_t pid, runnel_error *err);

/* Read the record of job_id. 1 if there is one (rec filled), 0 if not, -1
 * on error. */
int jobproc_load(const char *state_dir, long job_id, jobproc *rec, runnel_error *err);

/* The ids of the jobs that have a record in state_dir (the jobs a runneld
 * started and did not finish with). A new array of *n ids; NULL if none. */
long *jobproc_list(const char *state_dir, size_t *n);

/* End every process of the job: SIGKILL to its cgroup (cgroup.kill), then,
 * if the record names a private data dir and scan_pdd is true, to every
 * process whose environment or command line holds that path; again until
 * none is left or timeout seconds passed. Never signals the caller. */
void jobproc_end(const jobproc *rec, bool scan_pdd, double timeout, jobproc_ended *out);

/* Remove the job's private data dir, if the record names one that is a
 * directory made for this job below isolation_base (<base>/<type>_<id>_XXXXXX);
 * true if it was removed. */
bool jobproc_remove_pdd(const jobproc *rec, const char *isolation_base);

/* Remove the record and the (empty) cgroup. */
void jobproc_forget(jobproc *rec);

/* Free what rec holds. */
void jobproc_clear(jobproc *rec);

/* True if pid is alive and is the worker of job_id on state_dir (its
 * command line says so): a pid recorded earlier may have been reused. */
bool jobproc_is_worker(pid_t pid, const char *state_dir, long job_id);

/* ---- the worker's side ---- */

/* The worker's handle on its record. */
typedef struct jobproc_worker jobproc_worker;

/* Open the record of job_id (made by the dispatcher); NULL if there is none
 * (a worker started by hand) or it cannot be mapped. */
jobproc_worker *jobproc_worker_open(const char *state_dir, long job_id);

/* Note the private data dir in the record. */
void jobproc_worker_note_pdd(jobproc_worker *w, const char *pdd);

/* Note how many events the worker sent to the bus and how many the job
 * made (sent + still held); a store to shared memory. */
void jobproc_worker_note_events(jobproc_worker *w, long sent, long produced);

/* Close the handle (the record stays, for the dispatcher). */
void jobproc_worker_close(jobproc_worker *w);

#endif
