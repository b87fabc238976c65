/* evscan.c - a few fields of an event's JSON text, without a tree (evscan.h). */
#include "evscan.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"

static const char *ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
}

/* Past the string literal starting at p (p[0] == '"'). */
static inline const char *skip_string(const char *p, const char *end)
{
	p++;
	for (;;) {
		const char *q = memchr(p, '"', (size_t)(end - p));
		if (!q)
			return end;
		/* an odd run of backslashes before it escapes it */
		const char *b = q;
		while (b > p && b[-1] == '\\')
			b--;
		if (((q - b) & 1) == 0)
			return q + 1;
		p = q + 1;
	}
}

/* Past the value starting at p. */
static const char *skip_value(const char *p, const char *end)
{
	if (p >= end)
		return end;
	if (*p == '"')
		return skip_string(p, end);
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < end) {
			char c = *p;
			if (c == '"') {
				p = skip_string(p, end);
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if (c == '}' || c == ']') {
				if (--depth == 0)
					return p + 1;
			}
			p++;
		}
		return end;
	}
	while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
	       *p != '\r' && *p != '\t')
		p++;
	return p;
}

bool evs_begin(evs_iter *it, evs_span obj)
{
	if (!evs_is_object(obj))
		return false;
	it->p = obj.p + 1;
	it->end = obj.p + obj.n;
	return true;
}

bool evs_next(evs_iter *it, const char **key, size_t *klen, evs_span *val)
{
	const char *p = ws(it->p, it->end), *end = it->end;
	if (p < end && *p == ',')
		p = ws(p + 1, end);
	if (p >= end || *p != '"')
		return false;
	const char *k = p + 1;
	p = skip_string(p, end);
	*key = k;
	*klen = (size_t)(p - 1 - k);
	p = ws(p, end);
	if (p >= end || *p != ':')
		return false;
	p = ws(p + 1, end);
	const char *v = p;
	p = skip_value(p, end);
	val->p = v;
	val->n = (size_t)(p - v);
	it->p = p;
	return true;
}

evs_span evs_get(evs_span obj, const char *key)
{
	evs_span out = {NULL, 0}, v;
	evs_iter it;
	const char *k;
	size_t kl, n = strlen(key);
	if (!evs_begin(&it, obj))
		return out;
	while (evs_next(&it, &k, &kl, &v))
		if (kl == n && !memcmp(k, key, n))
			out = v;
	return out;
}

bool evs_integer(evs_span v, long long *out)
{
	if (!v.p || !v.n || v.n > 20)
		return false;
	const char *p = v.p, *end = v.p + v.n;
	bool neg = false;
	if (*p == '-') {
		neg = true;
		p++;
	}
	if (p == end)
		return false;
	unsigned long long x = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		unsigned d = (unsigned)(*p - '0');
		if (x > (ULLONG_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	if (neg ? x > (unsigned long long)INT64_MAX + 1 : x > (unsigned long long)INT64_MAX)
		return false;
	*out = neg ? (long long)(0 - x) : (long long)x;
	return true;
}

bool evs_has_escape(evs_span v)
{
	return v.p && memchr(v.p, '\\', v.n) != NULL;
}

const char *evs_string(evs_span v, rn_buf *scratch, size_t *len)
{
	if (!evs_is_string(v))
		return NULL;
	if (!evs_has_escape(v)) {
		*len = v.n - 2;
		return v.p + 1;
	}
	rn_buf_reset(scratch);
	rn_json_unquote(scratch, v.p, v.n);
	rn_buf_appendc(scratch, 0);
	scratch->len--;
	*len = scratch->len;
	return scratch->data;
}
