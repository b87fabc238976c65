/*
 * job_states.h - the one table of a unified job's statuses (AWX's), the
 * moves allowed between them and what each move does to the job's record.
 * The dispatcher, the worker and the engine ask it which moves they may make;
 * a store backend's job_transition() does the atomic compare-and-set and
 * applies the effects named here, nothing else.
 *
 *   new ──launch──> pending ──claim──> waiting ──worker──> running ──> successful
 *    │                │                  │                   │     ──> failed
 *    │                │                  │                   │     ──> error
 *    └──> canceled <──┴──────────────────┴───────────────────┘     ──> canceled
 *
 * and error/failed from new, pending and waiting (a launch that cannot go on,
 * a worker that could not start or died, a runneld restarted under it).
 * successful, failed, error and canceled are final: nothing moves out of
 * them.
 *
 * Effects of a move to:
 *   running      started = now, once (a job that ran keeps its first start)
 *   a final one  finished = now; elapsed = finished - started (0 when it never
 *                started); failed = (status != successful)
 *   canceled     canceled_on = now, once
 * A move never clears a field: cancel_flag, job_explanation,
 * result_traceback stay as they are.
 *
 * Everything here is constant data: any thread may call any function.
 */
#ifndef RUNNELD_JOB_STATES_H
#define RUNNELD_JOB_STATES_H

#include <stdbool.h>
#include <jansson.h>

/* The statuses, in the order a job passes them. */
typedef enum job_status {
	JOB_NEW,
	JOB_PENDING,
	JOB_WAITING,
	JOB_RUNNING,
	JOB_SUCCESSFUL,
	JOB_FAILED,
	JOB_ERROR,
	JOB_CANCELED,
	JOB_STATUS_COUNT
} job_status;

/* What a move to a status does to the job's record (see the table above). */
typedef struct job_state_effects {
	bool set_started;     /* started = now, unless already set */
	bool set_finished;    /* finished = now, elapsed = finished - started */
	bool set_failed;      /* failed = failed_value */
	bool failed_value;    /* ... true for every final status but successful */
	bool set_canceled_on; /* canceled_on = now, unless already set */
} job_state_effects;

/* The name of a status ("pending"); NULL for a value out of range. */
const char *job_status_name(job_status s);
/* The status named name, or -1 (NULL or an unknown name). */
int job_status_of(const char *name);

/* True for new, pending, waiting and running (the job can be canceled:
 * AWX's can_cancel). An unknown name is not active. */
bool job_state_is_active(const char *status);
/* True for successful, failed, error and canceled. */
bool job_state_is_final(const char *status);
/* True for new and pending: nothing runs the job yet, a cancel ends it at
 * once (a waiting or running job is ended by its worker). */
bool job_state_is_queued(const char *status);

/* True if a job in status from may move to status to. Unknown names: false. */
bool job_state_can(const char *from, const char *to);
/* The statuses a job may move to `to` from (NULL-terminated, static), for a
 * backend's compare-and-set; an empty list for an unknown name. */
const char *const *job_state_sources(const char *to);
/* What a move to `to` does (all false for an unknown name). */
job_state_effects job_state_effects_of(const char *to);

/* A backend's compare-and-set, its test: may a job now in cur move to `to`,
 * when the caller allows only the statuses in from (NULL-terminated; NULL:
 * whatever the table allows)? A list can narrow the table, never widen it. */
bool job_state_may_move(const char *cur, const char *const *from, const char *to);

/* The timestamps a move set (job_state_apply's answer): the backend keeps
 * them in columns of its own for elapsed and ordering. */
enum { JOB_STATE_SET_STARTED = 1 << 0, JOB_STATE_SET_FINISHED = 1 << 1 };

/* Apply a move to `to` on a job's stored fields (data, an object): status,
 * and the effects job_state_effects_of names (started and canceled_on only
 * when not yet set; finished, failed), with now as the time written. elapsed
 * is the backend's (it needs the start time's column). Returns the
 * JOB_STATE_SET_* bits of what was set. */
unsigned job_state_apply(json_t *data, const char *to, const char *now);

/* The active statuses and the queued ones, NULL-terminated (filters). */
extern const char *const job_states_active[];
extern const char *const job_states_queued[];

#endif
