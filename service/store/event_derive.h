/*
 * event_derive.h - what the store derives from the events it is given, in
 * one place for every path that reads them (event_rows.c's scan of the
 * texts, a backend's tree of one event) and every backend:
 *
 *   failed   an event in AWX's failed set (runner_on_failed, ..., see
 *            model_event_is_failure) whose task does not ignore_errors; a
 *            playbook_on_stats with a host that has failures or is dark.
 *   changed  event_data.res.changed; a playbook_on_stats with a host that
 *            changed something.
 *   host summaries
 *            one per host a playbook_on_stats names, its counts from the
 *            stats, failed when dark or failures > 0 (AWX's JobHostSummary).
 *   parents  a parent event (playbook_on_*: a task, a play, the playbook)
 *            is failed / changed when one of its children is, and so on up
 *            (the tasks' flags reach their plays): the backend keeps these
 *            flags beside the events and applies them when it reads them
 *            (a parent's own flag or its children's), after each
 *            playbook_on_stats, with set operations over the job's events.
 */
#ifndef RUNNELD_STORE_EVENT_DERIVE_H
#define RUNNELD_STORE_EVENT_DERIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* An event's own failed flag. */
bool event_derive_failed(const char *event, bool ignore_errors);

/* failed / changed of one event from its name and event_data (may be NULL):
 * the rules above, playbook_on_stats included. */
void event_derive_flags(const char *event, const json_t *event_data, bool *failed, bool *changed);

/* True for playbook_on_stats (n: the name's length). */
bool event_is_stats(const char *event, size_t n);

/* True for an event that has children (playbook_on_*; n: the name's length).
 * Backends that test it in SQL test the prefix EVENT_PARENT_PREFIX
 * (EVENT_PARENT_PREFIX_LEN bytes). */
bool event_is_parent(const char *event, size_t n);
#define EVENT_PARENT_PREFIX     "playbook_on"
#define EVENT_PARENT_PREFIX_LEN 11

/* The counts of a host summary, in the order event_host_stats.counts keeps them. */
enum { EVENT_STATS_COUNTS = 8 };
extern const char *const event_stats_names[EVENT_STATS_COUNTS];

/* One host of a playbook_on_stats. */
typedef struct event_host_stats {
	const char *host; /* borrowed from the event_data it was read from */
	long counts[EVENT_STATS_COUNTS];
	bool failed; /* dark or failures */
} event_host_stats;

/* The hosts a playbook_on_stats's event_data names, each with its counts:
 * *out a new array (free()) of the returned length (0: *out NULL). */
size_t event_stats_hosts(const json_t *event_data, event_host_stats **out);

#endif
