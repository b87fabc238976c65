/*
 * job_states.c - the table of job statuses, moves and effects (job_states.h).
 */
#include "job_states.h"

#include <string.h>

/* The names, by status. */
static const char *const names[JOB_STATUS_COUNT] = {
    [JOB_NEW] = "new",         [JOB_PENDING] = "pending",       [JOB_WAITING] = "waiting",
    [JOB_RUNNING] = "running", [JOB_SUCCESSFUL] = "successful", [JOB_FAILED] = "failed",
    [JOB_ERROR] = "error",     [JOB_CANCELED] = "canceled",
};

/* The moves, as the statuses each status may be reached from (a final
 * status is reached from the others; nothing is reached from a final one). */
static const char *const sources[JOB_STATUS_COUNT][JOB_STATUS_COUNT + 1] = {
    [JOB_NEW] = {NULL},
    [JOB_PENDING] = {"new", NULL},
    [JOB_WAITING] = {"pending", NULL},
    [JOB_RUNNING] = {"waiting", NULL},
    [JOB_SUCCESSFUL] = {"running", NULL},
    [JOB_FAILED] = {"new", "pending", "waiting", "running", NULL},
    [JOB_ERROR] = {"new", "pending", "waiting", "running", NULL},
    [JOB_CANCELED] = {"new", "pending", "waiting", "running", NULL},
};

static const char *const no_sources[] = {NULL};

const char *const job_states_active[] = {"new", "pending", "waiting", "running", NULL};
const char *const job_states_queued[] = {"new", "pending", NULL};

/* The name of a status. */
const char *job_status_name(job_status s)
{
	return s >= 0 && s < JOB_STATUS_COUNT ? names[s] : NULL;
}

/* The status of a name, or -1. */
int job_status_of(const char *name)
{
	for (int s = 0; name && s < JOB_STATUS_COUNT; s++)
		if (!strcmp(name, names[s]))
			return s;
	return -1;
}

/* new, pending, waiting, running. */
bool job_state_is_active(const char *status)
{
	int s = job_status_of(status);
	return s >= JOB_NEW && s <= JOB_RUNNING;
}

/* successful, failed, error, canceled. */
bool job_state_is_final(const char *status)
{
	return job_status_of(status) >= JOB_SUCCESSFUL;
}

/* new, pending. */
bool job_state_is_queued(const char *status)
{
	int s = job_status_of(status);
	return s == JOB_NEW || s == JOB_PENDING;
}

/* May a job move from -> to? */
bool job_state_can(const char *from, const char *to)
{
	int t = job_status_of(to);
	for (int i = 0; from && t >= 0 && sources[t][i]; i++)
		if (!strcmp(from, sources[t][i]))
			return true;
	return false;
}

/* Where a job may come to `to` from. */
const char *const *job_state_sources(const char *to)
{
	int t = job_status_of(to);
	return t >= 0 ? sources[t] : no_sources;
}

/* What a move to `to` does. */
job_state_effects job_state_effects_of(const char *to)
{
	job_state_effects fx = {0};
	int t = job_status_of(to);
	if (t < 0)
		return fx;
	fx.set_started = t == JOB_RUNNING;
	if (t >= JOB_SUCCESSFUL) {
		fx.set_finished = true;
		fx.set_failed = true;
		fx.failed_value = t != JOB_SUCCESSFUL;
	}
	fx.set_canceled_on = t == JOB_CANCELED;
	return fx;
}

bool job_state_may_move(const char *cur, const char *const *from, const char *to)
{
	const char *const *sources = from ? from : job_state_sources(to);
	for (int i = 0; sources[i]; i++)
		if (!strcmp(cur, sources[i]))
			return job_state_can(cur, to);
	return false;
}

unsigned job_state_apply(json_t *data, const char *to, const char *now)
{
	job_state_effects fx = job_state_effects_of(to);
	unsigned set = 0;
	json_object_set_new(data, "status", json_string(to));
	if (fx.set_started && json_is_null(json_object_get(data, "started"))) {
		json_object_set_new(data, "started", json_string(now));
		set |= JOB_STATE_SET_STARTED;
	}
	if (fx.set_canceled_on && json_is_null(json_object_get(data, "canceled_on")))
		json_object_set_new(data, "canceled_on", json_string(now));
	if (fx.set_failed)
		json_object_set_new(data, "failed", json_boolean(fx.failed_value));
	if (fx.set_finished) {
		json_object_set_new(data, "finished", json_string(now));
		set |= JOB_STATE_SET_FINISHED;
	}
	return set;
}
