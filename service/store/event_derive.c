/* event_derive.c - failed / changed / host summaries of events (event_derive.h). */
#include "event_derive.h"

#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

const char *const event_stats_names[EVENT_STATS_COUNTS] = {
    "changed", "dark", "failures", "ignored", "ok", "processed", "rescued", "skipped"};

/* The indexes of the counts the flags read. */
enum { ST_CHANGED = 0, ST_DARK = 1, ST_FAILURES = 2 };

bool event_derive_failed(const char *event, bool ignore_errors)
{
	return model_event_is_failure(event) && !ignore_errors;
}

bool event_is_stats(const char *event, size_t n)
{
	return n == 17 && !memcmp(event, "playbook_on_stats", 17);
}

bool event_is_parent(const char *event, size_t n)
{
	return n >= EVENT_PARENT_PREFIX_LEN &&
	       !memcmp(event, EVENT_PARENT_PREFIX, EVENT_PARENT_PREFIX_LEN);
}

/* True if one host of stats' count named name is above 0. */
static bool any_host_above_zero(const json_t *data, const char *name)
{
	const char *h;
	json_t *n;
	json_object_foreach(json_object_get(data, name), h, n)
		if (json_integer_value(n) > 0)
			return true;
	return false;
}

void event_derive_flags(const char *event, const json_t *data, bool *failed, bool *changed)
{
	if (!json_is_object(data))
		data = NULL;
	*failed = event_derive_failed(event, json_is_true(json_object_get(data, "ignore_errors")));
	*changed = json_is_true(json_object_get(json_object_get(data, "res"), "changed"));
	if (event && event_is_stats(event, strlen(event))) {
		if (any_host_above_zero(data, event_stats_names[ST_FAILURES]) ||
		    any_host_above_zero(data, event_stats_names[ST_DARK]))
			*failed = true;
		if (any_host_above_zero(data, event_stats_names[ST_CHANGED]))
			*changed = true;
	}
}

size_t event_stats_hosts(const json_t *data, event_host_stats **out)
{
	*out = NULL;
	/* every host named under any count, in the order first named */
	json_t *hosts = json_object();
	for (int c = 0; c < EVENT_STATS_COUNTS; c++) {
		const char *h;
		json_t *n;
		json_object_foreach(json_object_get(data, event_stats_names[c]), h, n)
			json_object_set_new(hosts, h, json_true());
	}
	size_t len = json_object_size(hosts);
	if (!len) {
		json_decref(hosts);
		return 0;
	}
	event_host_stats *v = rn_xmalloc(sizeof *v * len);
	size_t i = 0;
	const char *h;
	json_t *unused;
	json_object_foreach(hosts, h, unused) {
		/* the key as event_data holds it: hosts is gone when we return */
		const char *key = NULL;
		for (int c = 0; c < EVENT_STATS_COUNTS && !key; c++) {
			void *it =
			    json_object_iter_at(json_object_get(data, event_stats_names[c]), h);
			if (it)
				key = json_object_iter_key(it);
		}
		v[i].host = key;
		for (int c = 0; c < EVENT_STATS_COUNTS; c++)
			v[i].counts[c] = (long)json_integer_value(
			    json_object_get(json_object_get(data, event_stats_names[c]), h));
		v[i].failed = v[i].counts[ST_DARK] > 0 || v[i].counts[ST_FAILURES] > 0;
		i++;
	}
	json_decref(hosts);
	*out = v;
	return len;
}
