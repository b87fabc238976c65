/*
 * rrule.h - AWX's schedule rules: "DTSTART;TZID=America/New_York:20250101T090000
 * RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO EXRULE:...", checked as AWX 21.14.0's
 * SchedulePreviewSerializer checks them (awx/api/serializers.py: the same
 * rules refused, with the same messages) and expanded with libical (the
 * recurrences; nothing here is an RRULE engine of its own).
 *
 * A rule set is its DTSTART (a wall-clock time in a zone, or UTC), its RRULEs
 * (occurrences are their union) and EXRULEs (taken out). A naive UNTIL is in
 * DTSTART's zone (AWX's coerce_naive_until). Times are UTC epoch seconds;
 * wall-clock times that do not exist (02:30 when DST starts) are skipped, as
 * AWX skips them for next_run and the preview.
 *
 * Threads: a rrule_set may be read from one thread at a time; distinct sets
 * from any thread.
 */
#ifndef RUNNELD_RRULE_H
#define RUNNELD_RRULE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

typedef struct rrule_set rrule_set;

/*
 * Parse and check text. now (epoch seconds) is AWX's fast-forward point: a
 * MINUTELY/HOURLY rule without COUNT whose first run is over 7 days before
 * now starts from the same time of day 7 days ago. Returns the set, or NULL
 * with *errors a new array of AWX's messages (each a string).
 */
rrule_set *rrule_parse(const char *text, long long now, json_t **errors);
void rrule_free(rrule_set *rs);

/* The rule as AWX stores it: tokens joined by one space, each naive UNTIL
 * made UTC ("UNTIL=...Z"). Caller frees. */
char *rrule_stored_text(const rrule_set *rs);
/* The zone of DTSTART ("UTC" or the TZID as given). Borrowed. */
const char *rrule_timezone(const rrule_set *rs);
/* AWX's `until`: the first rule's UNTIL as a naive wall-clock time in the
 * zone ("2025-01-10T00:00:00"), or "" when no rule has one. */
void rrule_until(const rrule_set *rs, char out[32]);

/* Up to max occurrences strictly after `after`, ascending, into out; the count. */
size_t rrule_after(const rrule_set *rs, long long after, long long *out, size_t max);
/* The first occurrence (false: none). */
bool rrule_first(const rrule_set *rs, long long *t);
/* The last occurrence, when every rule ends (COUNT or UNTIL) (false: none). */
bool rrule_last(const rrule_set *rs, long long *t);

/* t as AWX prints a UTC time: "2025-01-01T14:00:00Z". */
void rrule_format_utc(long long t, char out[32]);
/* t as a wall-clock time in the set's zone with its offset
 * ("2025-01-01T09:00:00-05:00"; UTC: "...+00:00"). */
void rrule_format_local(const rrule_set *rs, long long t, char out[40]);
/* Parse "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" (as model_now prints) into epoch
 * seconds; false if it does not parse. */
bool rrule_parse_utc(const char *iso, long long *t);

/* The zones a TZID may name (AWX's zoneinfo/): {"zones": [...], "links":
 * {"link": "target"}} from the system's tzdata. A new object. */
json_t *rrule_zoneinfo(void);

#endif
