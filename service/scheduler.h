/*
 * scheduler.h - runneld's scheduler: a thread of the engine that launches
 * the runs schedules have due (AWX's awx_periodic_scheduler), and the
 * fields a schedule computes from its rrule (AWX's update_computed_fields).
 *
 * A run is claimed before it is launched: store_schedule_claim moves the
 * schedule's next_run from the due time to the next one after now, as one
 * compare-and-set in the store, and only the claimer launches. So two
 * runnelds on one database, or a runneld restarted across a due time,
 * launch a run once; runs missed while no runneld ran are not replayed: the
 * claim jumps past them all and launches one (AWX launches one as well).
 * A runneld killed between the claim and the launch loses that one run
 * (never launches it twice).
 */
#ifndef RUNNELD_SCHEDULER_H
#define RUNNELD_SCHEDULER_H

#include <stdbool.h>
#include <jansson.h>

#include "engine.h"
#include "store.h"

/* How often the scheduler looks for due runs, in seconds. */
#define SCHEDULER_TICK 1.0

typedef struct engine engine;

/* Start / stop the scheduler thread of e (engine.c calls them). */
int scheduler_start(engine *e, runnel_error *err);
void scheduler_stop(engine *e);

/* One pass at time now (epoch seconds): claim and launch every due run.
 * Returns how many jobs it launched. */
int scheduler_run_due(engine *e, long long now);

/*
 * The fields a schedule computes from rrule at now (AWX's
 * update_computed_fields): rrule (as stored: naive UNTIL made UTC),
 * dtstart, dtend, next_run (null when disabled or over), timezone, until.
 * Returns a new object, or NULL with *errors (a new array of AWX's
 * messages for the "rrule" field).
 */
json_t *schedule_computed(const char *rrule, bool enabled, long long now, json_t **errors);

/* The kind of the unified job template with id (STORE_JOB_TEMPLATE,
 * STORE_PROJECT, STORE_INVENTORY_SOURCE; STORE_KIND_COUNT for the system job
 * template 1); *obj (may be NULL) gets it (NULL for the system one). -1 if
 * there is none. */
int schedule_template_kind(store *st, long id, json_t **obj);

/* Now, as epoch seconds. */
long long scheduler_now(void);

#endif
