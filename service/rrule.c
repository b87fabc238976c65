/*
 * rrule.c - AWX's schedule rules over libical (rrule.h). The checks and
 * their messages are SchedulePreviewSerializer.validate_rrule's; the parse
 * errors are Schedule.rrulestr's, prefixed "rrule parsing failed
 * validation: " as AWX prefixes them; the recurrences are libical's
 * (icalrecur_iterator over the wall-clock DTSTART; each occurrence then
 * placed in its zone with icaltimezone's offsets).
 */
#include "rrule.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libical/ical.h>

#include "util.h"

#define MAX_RULES 16
/* Steps one rule may take in one expansion: a rule that never matches
 * (February 30th) ends here instead of running to libical's last year. */
#define MAX_STEPS 1000000L
#define ZONEINFO  "/usr/share/zoneinfo"

typedef struct rule {
	struct icalrecurrencetype recur; /* UNTIL taken out: until below */
	bool has_until;
	long long until; /* UTC */
	bool exclude;    /* EXRULE */
} rule;

struct rrule_set {
	char **tokens; /* the text's tokens, a naive UNTIL made UTC */
	size_t ntokens;
	char tzid[128];
	icaltimezone *zone;          /* NULL: UTC */
	struct icaltimetype dtstart; /* wall clock, floating */
	rule rules[MAX_RULES];
	size_t nrules;
};

/* ------------------------------------------------------------------ */
/* time arithmetic without the process's TZ                              */

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

/* Seconds since the epoch of a wall-clock time read as if it were UTC. */
static long long wall_secs(const struct icaltimetype *t)
{
	return days_from_civil(t->year, (unsigned)t->month, (unsigned)t->day) * 86400LL +
	       t->hour * 3600LL + t->minute * 60LL + t->second;
}

/* The wall-clock time of secs read as UTC. */
static struct icaltimetype wall_of(long long secs)
{
	time_t tt = (time_t)secs;
	struct tm tm;
	gmtime_r(&tt, &tm);
	struct icaltimetype t = icaltime_null_time();
	t.year = tm.tm_year + 1900;
	t.month = tm.tm_mon + 1;
	t.day = tm.tm_mday;
	t.hour = tm.tm_hour;
	t.minute = tm.tm_min;
	t.second = tm.tm_sec;
	return t;
}

/* The zone's offset (seconds east) at the UTC time utc. */
static int offset_at_utc(const rrule_set *rs, long long utc)
{
	if (!rs->zone)
		return 0;
	struct icaltimetype t = wall_of(utc);
	t.zone = icaltimezone_get_utc_timezone();
	int dst = 0;
	return icaltimezone_get_utc_offset_of_utc_time(rs->zone, &t, &dst);
}

/* The UTC time of a wall-clock time in the set's zone; false if that time
 * does not exist there (skipped by the clocks going forward). */
static bool wall_to_utc(const rrule_set *rs, const struct icaltimetype *wall, long long *utc)
{
	long long w = wall_secs(wall);
	if (!rs->zone) {
		*utc = w;
		return true;
	}
	struct icaltimetype t = *wall;
	t.zone = NULL;
	int dst = 0;
	int off = icaltimezone_get_utc_offset(rs->zone, &t, &dst);
	*utc = w - off;
	return *utc + offset_at_utc(rs, *utc) == w;
}

/* "YYYYMMDDTHHMMSS" (15 digits and a T) into a wall-clock time; Z after it
 * sets *z. false if malformed. */
static bool parse_stamp(const char *s, struct icaltimetype *t, bool *z)
{
	int y, mo, d, h, mi, se;
	char tail[4] = "";
	if (strlen(s) < 15 || s[8] != 'T' ||
	    sscanf(s, "%4d%2d%2dT%2d%2d%2d%3s", &y, &mo, &d, &h, &mi, &se, tail) < 6)
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)s[i]))
			return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return false;
	*z = tail[0] == 'Z' || tail[0] == 'z';
	if (tail[0] && !*z)
		return false;
	*t = icaltime_null_time();
	t->year = y, t->month = mo, t->day = d, t->hour = h, t->minute = mi, t->second = se;
	return true;
}

/* ------------------------------------------------------------------ */
/* the zones                                                            */

/* The target of a link name in the system's tzdata (tzdata.zi "L target
 * link"), into out; false when name is no link. */
static bool zone_link_target(const char *name, char *out, size_t n)
{
	FILE *f = fopen(ZONEINFO "/tzdata.zi", "re");
	if (!f)
		return false;
	char line[256];
	bool found = false;
	while (!found && fgets(line, sizeof line, f)) {
		char target[128], link[128];
		if (line[0] == 'L' && sscanf(line, "L %127s %127s", target, link) == 2 &&
		    !strcmp(link, name)) {
			snprintf(out, n, "%s", target);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* The libical zone of a TZID (a link followed to its zone); NULL if unknown. */
static icaltimezone *zone_of(const char *tzid)
{
	if (!*tzid || strstr(tzid, "..") || tzid[0] == '/')
		return NULL;
	icaltimezone *z = icaltimezone_get_builtin_timezone(tzid);
	if (z)
		return z;
	char target[128];
	if (zone_link_target(tzid, target, sizeof target))
		return icaltimezone_get_builtin_timezone(target);
	return NULL;
}

/* qsort's comparison of two C strings. */
static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *rrule_zoneinfo(void)
{
	json_t *zones = json_array();
	json_t *links = json_object();
	FILE *f = fopen(ZONEINFO "/tzdata.zi", "re");
	char line[256];
	while (f && fgets(line, sizeof line, f)) {
		char a[128], b[128];
		if (line[0] == 'Z' && sscanf(line, "Z %127s", a) == 1)
			json_array_append_new(zones, json_string(a));
		else if (line[0] == 'L' && sscanf(line, "L %127s %127s", a, b) == 2) {
			/* a link is a zone name too (AWX lists both) */
			json_array_append_new(zones, json_string(b));
			json_object_set_new(links, b, json_string(a));
		}
	}
	if (f)
		fclose(f);
	/* sorted, as AWX's sorted(get_zonefile_instance().zones) */
	size_t n = json_array_size(zones);
	const char **names = calloc(n ? n : 1, sizeof *names);
	for (size_t i = 0; i < n; i++)
		names[i] = json_string_value(json_array_get(zones, i));
	qsort(names, n, sizeof *names, cmp_names);
	json_t *sorted = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(sorted, json_string(names[i]));
	free(names);
	json_decref(zones);
	return json_pack("{s:o,s:o}", "zones", sorted, "links", links);
}

/* ------------------------------------------------------------------ */
/* AWX's checks (SchedulePreviewSerializer.validate_rrule)              */

/* Count AWX's DTSTART matches: "DTSTART" [";" params] ":" digits "T" digits
 * (case as written); *naive counts those "DTSTART:" ones followed by a
 * space (no Z, no zone). */
static int count_dtstart(const char *s, int *naive)
{
	int n = 0;
	*naive = 0;
	for (const char *p = strstr(s, "DTSTART"); p; p = strstr(p + 1, "DTSTART")) {
		const char *q = p + 7;
		bool params = *q == ';';
		if (params) {
			q++;
			if (*q == ':')
				continue;
			while (*q && *q != ':')
				q++;
		}
		if (*q != ':')
			continue;
		q++;
		const char *d = q;
		while (isdigit((unsigned char)*q))
			q++;
		if (q == d || *q != 'T')
			continue;
		q++;
		const char *t = q;
		while (isdigit((unsigned char)*q))
			q++;
		if (q == t)
			continue;
		n++;
		if (!params && *q == ' ')
			(*naive)++;
	}
	return n;
}

/* True if s holds needle, ignoring case. */
static bool has_ci(const char *s, const char *needle)
{
	return strcasestr(s, needle) != NULL;
}

/* AWX's per-rule checks on one "RULE:..." text (up to white space). */
static void check_rule_text(const char *r, json_t *errors)
{
	if (!has_ci(r, "interval"))
		json_array_append_new(errors, json_pack("s+", "INTERVAL required in rrule: ", r));
	else if (has_ci(r, "secondly"))
		json_array_append_new(errors, json_pack("s+", "SECONDLY is not supported: ", r));
	/* BYDAY[:=] digits and two letters: "BYDAY=2MO" (not "BYDAY=-1MO" nor "MO,2TU") */
	for (const char *p = strstr(r, "BYDAY"); p; p = strstr(p + 1, "BYDAY")) {
		const char *q = p + 5;
		if (*q != ':' && *q != '=')
			continue;
		q++;
		const char *d = q;
		while (isdigit((unsigned char)*q))
			q++;
		if (q > d && isalpha((unsigned char)q[0]) && isalpha((unsigned char)q[1])) {
			json_array_append_new(
			    errors,
			    json_pack("s+", "BYDAY with numeric prefix not supported: ", r));
			break;
		}
	}
	if (strstr(r, "COUNT") && strstr(r, "UNTIL"))
		json_array_append_new(
		    errors, json_pack("s+", "RRULE may not contain both COUNT and UNTIL: ", r));
	const char *c = strstr(r, "COUNT=");
	if (c && isdigit((unsigned char)c[6]) && strtol(c + 6, NULL, 10) > 999)
		json_array_append_new(errors, json_pack("s+", "COUNT > 999 is unsupported: ", r));
}

/* ------------------------------------------------------------------ */
/* parsing                                                              */

/* Split text at white space into tokens (new strings). */
static char **split_tokens(const char *text, size_t *n)
{
	char **v = NULL;
	*n = 0;
	const char *p = text;
	for (;;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && !isspace((unsigned char)*e))
			e++;
		v = rn_xrealloc(v, (*n + 1) * sizeof *v);
		v[*n] = rn_xstrndup(p, (size_t)(e - p));
		(*n)++;
		p = e;
	}
	return v;
}

/* Parse DTSTART's name part and value: "DTSTART;TZID=X:20250101T000000" or
 * "DTSTART:20250101T000000Z". false: no usable zone (AWX: "A valid TZID
 * must be provided"). */
static bool parse_dtstart(rrule_set *rs, const char *tok, char *why, size_t nwhy)
{
	const char *colon = strrchr(tok, ':');
	struct icaltimetype t;
	bool z = false;
	if (!colon || !parse_stamp(colon + 1, &t, &z)) {
		snprintf(why, nwhy, "unknown string format: %s", tok);
		return false;
	}
	rs->dtstart = t;
	const char *tzp = strcasestr(tok, ";TZID=");
	if (tzp && tzp < colon) {
		size_t len = (size_t)(colon - (tzp + 6));
		if (len >= sizeof rs->tzid)
			len = sizeof rs->tzid - 1;
		memcpy(rs->tzid, tzp + 6, len);
		rs->tzid[len] = 0;
		/* dateutil's UTCZONE names are UTC */
		if (!strcasecmp(rs->tzid, "UTC") || !strcasecmp(rs->tzid, "GMT") ||
		    !strcasecmp(rs->tzid, "Z")) {
			snprintf(rs->tzid, sizeof rs->tzid, "UTC");
			rs->zone = NULL;
			return true;
		}
		rs->zone = zone_of(rs->tzid);
		if (!rs->zone) {
			snprintf(why, nwhy,
			         "A valid TZID must be provided (e.g., America/New_York)");
			return false;
		}
		return true;
	}
	if (z) {
		snprintf(rs->tzid, sizeof rs->tzid, "UTC");
		return true;
	}
	snprintf(why, nwhy, "A valid TZID must be provided (e.g., America/New_York)");
	return false;
}

/* Parse one RRULE/EXRULE value into r, with UNTIL taken out (a naive UNTIL
 * is in DTSTART's zone). The token is rewritten with a UTC UNTIL. false with
 * why when libical refuses it. */
static bool parse_rule(rrule_set *rs, char **tok, const char *value, rule *r, char *why,
                       size_t nwhy)
{
	char *rest = strdup(value);
	char *u = strcasestr(rest, "UNTIL=");
	r->has_until = false;
	char coerced[32] = "";
	if (u) {
		char *end = strchr(u, ';');
		char stamp[32] = "";
		size_t len = end ? (size_t)(end - (u + 6)) : strlen(u + 6);
		if (len >= sizeof stamp)
			len = sizeof stamp - 1;
		memcpy(stamp, u + 6, len);
		stamp[len] = 0;
		struct icaltimetype t;
		bool z = false;
		if (!parse_stamp(stamp, &t, &z)) {
			snprintf(why, nwhy, "invalid UNTIL value: %s", stamp);
			free(rest);
			return false;
		}
		long long utc;
		if (z)
			utc = wall_secs(&t);
		else if (!wall_to_utc(rs, &t, &utc))
			utc = wall_secs(&t) - offset_at_utc(rs, wall_secs(&t));
		r->has_until = true;
		r->until = utc;
		if (!z) {
			struct icaltimetype w = wall_of(utc);
			snprintf(coerced, sizeof coerced, "%04d%02d%02dT%02d%02d%02dZ", w.year,
			         w.month, w.day, w.hour, w.minute, w.second);
		}
		/* take "UNTIL=...;" (or ";UNTIL=..." at the end) out */
		if (end)
			memmove(u, end + 1, strlen(end + 1) + 1);
		else if (u > rest && u[-1] == ';')
			u[-1] = 0;
		else
			*u = 0;
		if (*coerced) {
			/* the stored token gets the UTC UNTIL in place of the naive one */
			char *tu = strcasestr(*tok, "UNTIL=");
			char *te = tu ? tu + 6 : NULL;
			while (te && isdigit((unsigned char)*te))
				te++;
			if (te && *te == 'T') {
				te++;
				while (isdigit((unsigned char)*te))
					te++;
			}
			if (tu) {
				size_t pre = (size_t)(tu + 6 - *tok);
				size_t total = pre + strlen(coerced) + strlen(te) + 1;
				char *nt = malloc(total);
				snprintf(nt, total, "%.*s%s%s", (int)pre, *tok, coerced, te);
				free(*tok);
				*tok = nt;
			}
		}
	}
	icalerror_clear_errno();
	r->recur = icalrecurrencetype_from_string(rest);
	bool ok = r->recur.freq != ICAL_NO_RECURRENCE && icalerrno == ICAL_NO_ERROR;
	if (!ok)
		snprintf(why, nwhy, "invalid rule: %s", value);
	free(rest);
	return ok;
}

/* AWX's fast-forward (Schedule.rrulestr): see rrule_parse. */
static void fast_forward(rrule_set *rs, long long now)
{
	long long first;
	if (!rrule_first(rs, &first) || now - first <= 7 * 86400LL)
		return;
	bool any = false;
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct icalrecurrencetype *r = &rs->rules[i].recur;
		if ((r->freq == ICAL_MINUTELY_RECURRENCE || r->freq == ICAL_HOURLY_RECURRENCE) &&
		    !r->count)
			any = true;
	}
	if (!any)
		return;
	struct icaltimetype d = wall_of(now - 7 * 86400LL);
	rs->dtstart.year = d.year;
	rs->dtstart.month = d.month;
	rs->dtstart.day = d.day;
}

rrule_set *rrule_parse(const char *text, long long now, json_t **errors)
{
	json_t *errs = json_array();
	*errors = NULL;
	if (!text)
		text = "";
	int naive = 0;
	int ndt = count_dtstart(text, &naive);
	if (!ndt)
		json_array_append_new(errs,
		                      json_string("Valid DTSTART required in rrule. Value "
		                                  "should start with: DTSTART:YYYYMMDDTHHMMSSZ"));
	if (naive)
		json_array_append_new(errs,
		                      json_string("DTSTART cannot be a naive datetime.  Specify "
		                                  ";TZINFO= or YYYYMMDDTHHMMSSZZ."));
	if (ndt > 1)
		json_array_append_new(errs, json_string("Multiple DTSTART is not supported."));
	if (!has_ci(text, "rrule:"))
		json_array_append_new(errs, json_string("One or more rule required in rrule."));
	/* AWX raises these alone */
	if (has_ci(text, "exdate:") || has_ci(text, "rdate:")) {
		json_decref(errs);
		*errors = json_pack("[s]", has_ci(text, "exdate:") ? "EXDATE not allowed in rrule."
		                                                   : "RDATE not allowed in rrule.");
		return NULL;
	}
	for (const char *p = strstr(text, "RULE:"); p; p = strstr(p + 1, "RULE:")) {
		size_t len = strcspn(p, " \t\r\n\f\v");
		char *r = rn_xstrndup(p, len);
		check_rule_text(r, errs);
		free(r);
	}

	icalerror_set_errors_are_fatal(0);
	rrule_set *rs = calloc(1, sizeof *rs);
	rs->tokens = split_tokens(text, &rs->ntokens);
	char why[256] = "";
	bool have_dtstart = false;
	for (size_t i = 0; i < rs->ntokens && !*why; i++) {
		char *tok = rs->tokens[i];
		if (!strncasecmp(tok, "DTSTART", 7)) {
			if (!have_dtstart && !parse_dtstart(rs, tok, why, sizeof why))
				break;
			have_dtstart = true;
		}
	}
	if (!*why && !have_dtstart)
		snprintf(why, sizeof why, "A valid TZID must be provided (e.g., America/New_York)");
	for (size_t i = 0; i < rs->ntokens && !*why; i++) {
		char *tok = rs->tokens[i];
		bool ex = !strncasecmp(tok, "EXRULE:", 7);
		if (strncasecmp(tok, "RRULE:", 6) && !ex)
			continue;
		if (rs->nrules == MAX_RULES) {
			snprintf(why, sizeof why, "more than %d rules", MAX_RULES);
			break;
		}
		rule *r = &rs->rules[rs->nrules];
		r->exclude = ex;
		char *value = strdup(strchr(tok, ':') + 1);
		for (char *c = value; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		bool ok = parse_rule(rs, &rs->tokens[i], value, r, why, sizeof why);
		free(value);
		if (!ok)
			break;
		rs->nrules++;
	}
	for (size_t i = 0; i < rs->ntokens && !*why; i++) {
		const char *tok = rs->tokens[i];
		if (strncasecmp(tok, "DTSTART", 7) && strncasecmp(tok, "RRULE:", 6) &&
		    strncasecmp(tok, "EXRULE:", 7))
			snprintf(why, sizeof why, "unsupported property: %s", tok);
	}
	if (*why)
		json_array_append_new(errs,
		                      json_sprintf("rrule parsing failed validation: %s", why));
	if (json_array_size(errs)) {
		*errors = errs;
		rrule_free(rs);
		return NULL;
	}
	json_decref(errs);
	fast_forward(rs, now);
	return rs;
}

void rrule_free(rrule_set *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->ntokens; i++)
		free(rs->tokens[i]);
	free(rs->tokens);
	free(rs);
}

char *rrule_stored_text(const rrule_set *rs)
{
	size_t n = 1;
	for (size_t i = 0; i < rs->ntokens; i++)
		n += strlen(rs->tokens[i]) + 1;
	char *out = malloc(n);
	out[0] = 0;
	for (size_t i = 0; i < rs->ntokens; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, rs->tokens[i]);
	}
	return out;
}

const char *rrule_timezone(const rrule_set *rs)
{
	return rs->tzid;
}

void rrule_until(const rrule_set *rs, char out[32])
{
	out[0] = 0;
	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i].has_until) {
			long long w = rs->rules[i].until + offset_at_utc(rs, rs->rules[i].until);
			struct icaltimetype t = wall_of(w);
			snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d", t.year, t.month, t.day,
			         t.hour, t.minute, t.second);
			return;
		}
}

/* ------------------------------------------------------------------ */
/* expansion                                                            */

/* One rule's occurrences, one at a time. */
typedef struct gen {
	const rule *r;
	icalrecur_iterator *it;
	long long cur;
	long steps;
	bool done;
} gen;

/* Advance g to its next occurrence (UTC); false when it has no more. */
static bool gen_next(const rrule_set *rs, gen *g)
{
	while (!g->done) {
		if (++g->steps > MAX_STEPS)
			break;
		struct icaltimetype t = icalrecur_iterator_next(g->it);
		if (icaltime_is_null_time(t))
			break;
		long long utc;
		if (!wall_to_utc(rs, &t, &utc))
			continue; /* a time the clocks skip */
		if (g->r->has_until && utc > g->r->until)
			break;
		g->cur = utc;
		return true;
	}
	g->done = true;
	return false;
}

/*
 * Start a generator on rule r (first occurrence loaded), near `after`: a
 * rule without COUNT whose periods are fixed in wall-clock time (MINUTELY,
 * HOURLY, DAILY, WEEKLY) starts a whole number of its periods after DTSTART,
 * shortly before `after` (2 hours and a period of margin: a wall-clock hour
 * repeats when DST ends), so that finding the next run of an old schedule
 * is a few steps of libical's, not one per minute since DTSTART. The
 * occurrences are the same (the phase of INTERVAL and the weekday kept).
 */
static void gen_start(const rrule_set *rs, const rule *r, gen *g, long long after)
{
	memset(g, 0, sizeof *g);
	g->r = r;
	struct icaltimetype start = rs->dtstart;
	long long unit = 0;
	switch (r->recur.freq) {
	case ICAL_MINUTELY_RECURRENCE:
		unit = 60;
		break;
	case ICAL_HOURLY_RECURRENCE:
		unit = 3600;
		break;
	case ICAL_DAILY_RECURRENCE:
		unit = 86400;
		break;
	case ICAL_WEEKLY_RECURRENCE:
		unit = 7 * 86400;
		break;
	default:
		break;
	}
	if (after != LLONG_MIN && !r->recur.count && unit) {
		long long period = unit * (r->recur.interval > 0 ? r->recur.interval : 1);
		long long w0 = wall_secs(&rs->dtstart);
		long long wall_after = after + offset_at_utc(rs, after);
		long long k = (wall_after - 7200 - period - w0) / period;
		if (k > 0)
			start = wall_of(w0 + k * period);
	}
	g->it = icalrecur_iterator_new(r->recur, start);
	if (!g->it)
		g->done = true;
	else
		gen_next(rs, g);
}

/* The occurrences after `after`, in one walk of every rule: up to max into
 * out, or (out NULL) all of them counted, the last into *last. */
static size_t expand(const rrule_set *rs, long long after, long long *out, size_t max,
                     long long *last)
{
	gen gens[MAX_RULES];
	for (size_t i = 0; i < rs->nrules; i++) {
		gen_start(rs, &rs->rules[i], &gens[i], after);
		if (!rs->rules[i].exclude)
			while (!gens[i].done && gens[i].cur <= after)
				gen_next(rs, &gens[i]);
	}
	size_t n = 0;
	while (n < max) {
		/* the earliest of the including rules' next occurrences */
		bool any = false;
		long long t = LLONG_MAX;
		for (size_t i = 0; i < rs->nrules; i++)
			if (!gens[i].r->exclude && !gens[i].done && gens[i].cur < t) {
				t = gens[i].cur;
				any = true;
			}
		if (!any)
			break;
		for (size_t i = 0; i < rs->nrules; i++)
			if (!gens[i].r->exclude)
				while (!gens[i].done && gens[i].cur == t)
					gen_next(rs, &gens[i]);
		bool excluded = false;
		for (size_t i = 0; i < rs->nrules; i++)
			if (gens[i].r->exclude) {
				while (!gens[i].done && gens[i].cur < t)
					gen_next(rs, &gens[i]);
				if (!gens[i].done && gens[i].cur == t)
					excluded = true;
			}
		if (!excluded) {
			if (out)
				out[n] = t;
			n++;
			if (last)
				*last = t;
		}
	}
	for (size_t i = 0; i < rs->nrules; i++)
		if (gens[i].it)
			icalrecur_iterator_free(gens[i].it);
	return n;
}

size_t rrule_after(const rrule_set *rs, long long after, long long *out, size_t max)
{
	return expand(rs, after, out, max, NULL);
}

bool rrule_first(const rrule_set *rs, long long *t)
{
	return rrule_after(rs, LLONG_MIN, t, 1) == 1;
}

bool rrule_last(const rrule_set *rs, long long *t)
{
	bool any = false;
	for (size_t i = 0; i < rs->nrules; i++) {
		if (rs->rules[i].exclude)
			continue;
		if (!rs->rules[i].recur.count && !rs->rules[i].has_until)
			return false;
		any = true;
	}
	if (!any)
		return false;
	long long last = 0, first;
	if (!rrule_first(rs, &first))
		return false;
	/* the latest UNTIL bounds every run; walk back from it in growing
	 * windows (each walk starts near its window: gen_start) */
	long long end = LLONG_MIN;
	for (size_t i = 0; i < rs->nrules; i++)
		if (!rs->rules[i].exclude && rs->rules[i].has_until && rs->rules[i].until > end)
			end = rs->rules[i].until;
	if (end == LLONG_MIN) {
		/* COUNT only: at most 999 runs a rule */
		expand(rs, LLONG_MIN, NULL, SIZE_MAX, &last);
		*t = last;
		return true;
	}
	for (long long w = 86400;; w *= 4) {
		long long from = end - w;
		if (from < first)
			from = LLONG_MIN;
		if (expand(rs, from, NULL, SIZE_MAX, &last)) {
			*t = last;
			return true;
		}
		if (from == LLONG_MIN)
			return false;
	}
}

void rrule_format_utc(long long t, char out[32])
{
	struct icaltimetype w = wall_of(t);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", w.year, w.month, w.day, w.hour,
	         w.minute, w.second);
}

void rrule_format_local(const rrule_set *rs, long long t, char out[40])
{
	int off = offset_at_utc(rs, t);
	struct icaltimetype w = wall_of(t + off);
	int a = off < 0 ? -off : off;
	snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", w.year, w.month, w.day,
	         w.hour, w.minute, w.second, off < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
}

bool rrule_parse_utc(const char *iso, long long *t)
{
	int y, mo, d, h, mi, s;
	if (!iso || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6)
		return false;
	*t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400LL + h * 3600LL + mi * 60LL + s;
	return true;
}
