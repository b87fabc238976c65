/* engine_internal.h - the engine's state, shared by engine.c, dispatch.c and
 * receiver.c (not part of the API). */
#ifndef RUNNELD_ENGINE_INTERNAL_H
#define RUNNELD_ENGINE_INTERNAL_H

#include <pthread.h>
#include <sys/types.h>

#include "bus.h"
#include "engine.h"

/* A job this engine's dispatcher started: its worker process. */
typedef struct engine_worker {
	long job_id;
	pid_t pid;
	double started; /* monotonic */
	bool signaled;  /* SIGTERM sent at least once */
} engine_worker;

/* A job whose worker died before it recorded an outcome: its processes are
 * ended; its final record waits (a little) for the events the worker had
 * sent to be stored, so that it can say how many were (dispatch.c). */
typedef struct engine_reaped {
	long job_id;
	long emitted;       /* events the worker had sent to the bus; -1: not known */
	long produced;      /* events the job had made (sent + held by the worker); -1: not known */
	double deadline;    /* monotonic: write the record by then, stored or not */
	char *why;          /* the explanation, without the event figures (owned) */
	const char *status; /* the final status (unless the job was canceled) */
	char *kept_pdd;     /* the private data dir kept on purpose, or NULL (owned) */
	bool restarted;     /* found by a new runneld: the old one's receiver is gone */
} engine_reaped;

struct engine {
	engine_settings s; /* defaults filled; strings point into owned copies below */
	char *owned[12];   /* the strings of s we own */
	char bus_socket[108];
	bool cleanup;          /* remove private data dirs (AWX_CLEANUP_PATHS) */
	bool isolation;        /* jobs run sandboxed (job_isolation) */
	char *worker_settings; /* the workers' settings, JSON (worker_settings.h) */
	store *st;
	/* the callback receiver's own handle: its batch transactions do not
	 * hold up the API's reads (which go on beside them: WAL) */
	store *events_st;
	bus *consumer;

	pthread_mutex_t mu;  /* guards everything below */
	pthread_cond_t wake; /* the dispatcher waits on it */
	engine_worker *workers;
	size_t nworkers;
	bool stopping; /* no new work */
	bool dispatcher_stop;
	bool receiver_stop;
	bool shut_down;
	pthread_t dispatcher;
	pthread_t receiver;
	bool dispatcher_started, receiver_started;

	int lock_fd;           /* the state dir's lock (statelock.h), -1 if not held */
	char *cgroup_base;     /* where jobs' cgroups are made (jobproc.h), or NULL */
	engine_reaped *reaped; /* the dispatcher thread's own (no lock) */
	size_t nreaped;

	/* the scheduler thread (scheduler.h); flags under mu */
	pthread_t scheduler;
	pthread_cond_t scheduler_wake;
	bool scheduler_started, scheduler_stop;
	/* the workflow manager thread (workflow.h); flags under mu */
	pthread_t workflow;
	pthread_cond_t workflow_wake;
	bool workflow_started, workflow_stop;
	/* the receiver's commits (engine_events_stored / engine_events_wait) */
	pthread_mutex_t events_mu;
	pthread_cond_t events_cv; /* on CLOCK_MONOTONIC */
	unsigned long events_seq;
};

/* Log one line of note. */
void engine_log(engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The dispatcher thread (dispatch.c): reap workers, claim pending jobs. */
void *dispatch_main(void *arg);
/* Wake the dispatcher now. */
void dispatch_wake(engine *e);
/* SIGTERM the worker of job_id if this engine runs it; true if it does. */
bool dispatch_signal(engine *e, long job_id, int sig);
/* Reap jobs a previous run left waiting/running (engine_open). */
void dispatch_reap_orphans(engine *e);

/* The receiver thread (receiver.c): bus → batches → store. */
void *receiver_main(void *arg);

#endif
