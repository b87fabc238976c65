/*
 * scheduler.c - runneld's scheduler thread and a schedule's computed fields
 * (scheduler.h).
 */
#include "scheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>

#include "engine_internal.h"
#include "rrule.h"
#include "util.h"

long long scheduler_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec;
}

json_t *schedule_computed(const char *rrule, bool enabled, long long now, json_t **errors)
{
	rrule_set *rs = rrule_parse(rrule, now, errors);
	if (!rs)
		return NULL;
	char buf[32];
	long long t;
	char *text = rrule_stored_text(rs);
	json_t *o = json_pack("{s:s,s:s}", "rrule", text, "timezone", rrule_timezone(rs));
	free(text);
	rrule_until(rs, buf);
	json_object_set_new(o, "until", json_string(buf));
	if (rrule_first(rs, &t)) {
		rrule_format_utc(t, buf);
		json_object_set_new(o, "dtstart", json_string(buf));
	} else
		json_object_set_new(o, "dtstart", json_null());
	if (rrule_last(rs, &t)) {
		rrule_format_utc(t, buf);
		json_object_set_new(o, "dtend", json_string(buf));
	} else
		json_object_set_new(o, "dtend", json_null());
	if (enabled && rrule_after(rs, now, &t, 1) == 1) {
		rrule_format_utc(t, buf);
		json_object_set_new(o, "next_run", json_string(buf));
	} else
		json_object_set_new(o, "next_run", json_null());
	rrule_free(rs);
	return o;
}

int schedule_template_kind(store *st, long id, json_t **obj)
{
	static const store_kind kinds[] = {STORE_JOB_TEMPLATE, STORE_PROJECT,
	                                   STORE_INVENTORY_SOURCE};
	if (obj)
		*obj = NULL;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		runnel_error err = {0};
		json_t *o = store_get(st, kinds[i], id, &err);
		if (o) {
			if (obj)
				*obj = o;
			else
				json_decref(o);
			return (int)kinds[i];
		}
	}
	return id == 1 ? (int)STORE_KIND_COUNT : -1;
}

/* Claim and launch one schedule's run if it is due at now. 1 if launched. */
static int run_one(engine *e, json_t *s, long long now)
{
	long id = (long)json_integer_value(json_object_get(s, "id"));
	const char *next = json_string_value(json_object_get(s, "next_run"));
	long long due;
	if (!next || !rrule_parse_utc(next, &due) || due > now)
		return 0;
	runnel_error err = {0};
	long ujt = (long)json_integer_value(json_object_get(s, "unified_job_template"));
	if (schedule_template_kind(e->st, ujt, NULL) < 0) {
		/* its template is gone (AWX cascades the delete; ids are never reused) */
		engine_log(e,
		           "schedule %ld: its unified job template %ld is gone: schedule deleted",
		           id, ujt);
		store_remove(e->st, STORE_SCHEDULE, id, &err);
		return 0;
	}
	json_t *errors = NULL;
	json_t *c =
	    schedule_computed(json_string_value(json_object_get(s, "rrule")), true, now, &errors);
	const char *after = c ? json_string_value(json_object_get(c, "next_run")) : NULL;
	int claimed = store_schedule_claim(e->st, id, next, after, &err);
	int launched = 0;
	if (claimed < 0)
		engine_log(e, "schedule %ld: cannot claim its run of %s: %s", id, next,
		           err.message);
	else if (claimed == 0)
		; /* another scheduler took it, or the schedule changed */
	else if (!c) {
		char *t = json_dumps(errors, JSON_COMPACT);
		engine_log(e, "schedule %ld: its rrule no longer expands (%s): no more runs", id,
		           t ? t : "?");
		free(t);
	} else {
		json_t *job = engine_launch_scheduled(e, s, &err);
		if (job) {
			engine_log(
			    e, "schedule %ld: job %lld launched for its run of %s (next run %s)",
			    id, (long long)json_integer_value(json_object_get(job, "id")), next,
			    after ? after : "none");
			launched = 1;
		} else
			engine_log(e, "schedule %ld: its run of %s could not launch: %s", id, next,
			           err.message);
		json_decref(job);
	}
	json_decref(c);
	json_decref(errors);
	return launched;
}

int scheduler_run_due(engine *e, long long now)
{
	int launched = 0;
	json_t *filters = json_pack("{s:b,s:b}", "enabled", 1, "next_run__isnull", 0);
	for (long page = 1;; page++) {
		store_query q = {
		    .filters = filters, .order_by = "id", .page = page, .page_size = 200};
		store_page pg = {0};
		runnel_error err = {0};
		if (store_list(e->st, STORE_SCHEDULE, &q, &pg, &err) < 0) {
			engine_log(e, "scheduler: cannot list schedules: %s", err.message);
			break;
		}
		size_t i;
		json_t *s;
		json_array_foreach(pg.results, i, s)
			launched += run_one(e, s, now);
		bool more = page * 200 < pg.count;
		store_page_clear(&pg);
		if (!more)
			break;
	}
	json_decref(filters);
	return launched;
}

/* The thread: a pass every SCHEDULER_TICK seconds until told to stop. */
static void *scheduler_main(void *arg)
{
	engine *e = arg;
	prctl(PR_SET_NAME, "rn-scheduler");
	pthread_mutex_lock(&e->mu);
	while (!e->scheduler_stop && !e->stopping) {
		pthread_mutex_unlock(&e->mu);
		scheduler_run_due(e, scheduler_now());
		pthread_mutex_lock(&e->mu);
		if (e->scheduler_stop || e->stopping)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		long ns = ts.tv_nsec + (long)(SCHEDULER_TICK * 1e9);
		ts.tv_sec += ns / 1000000000L;
		ts.tv_nsec = ns % 1000000000L;
		pthread_cond_timedwait(&e->scheduler_wake, &e->mu, &ts);
	}
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

int scheduler_start(engine *e, runnel_error *err)
{
	pthread_cond_init(&e->scheduler_wake, NULL);
	if (pthread_create(&e->scheduler, NULL, scheduler_main, e))
		return rn_fail(err, EAGAIN, "__all__: cannot start the scheduler thread");
	e->scheduler_started = true;
	return 0;
}

void scheduler_stop(engine *e)
{
	if (!e->scheduler_started)
		return;
	pthread_mutex_lock(&e->mu);
	e->scheduler_stop = true;
	pthread_cond_signal(&e->scheduler_wake);
	pthread_mutex_unlock(&e->mu);
	pthread_join(e->scheduler, NULL);
	e->scheduler_started = false;
	pthread_cond_destroy(&e->scheduler_wake);
}
