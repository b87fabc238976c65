/*
 * session.c - AWX's session login, server side: the sessions a browser or
 * the awx CLI holds after POST /api/login/ (cookie awx_sessionid), and the
 * CSRF tokens (cookie csrftoken, header X-CSRFToken) that unsafe requests
 * under a session must carry.
 *
 * A session is kept as a keyed hash of its id (never the id itself), the
 * hash of its CSRF token, its user and the stamp of that user's password
 * when it logged in: a password set since (or the user deleted) ends the
 * session at its next use. A session unused for idle_seconds (AWX's
 * SESSION_COOKIE_AGE) is over. Sessions live in runneld's memory: a
 * restart ends them all (clients log in again, as after an expiry).
 */
#include "api.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "util.h"

/* Sessions at most; past it the least recently used one is ended. */
#define SESSIONS_MAX 10000

typedef struct session_entry {
	unsigned char id_hash[32];
	unsigned char csrf_hash[32];
	unsigned char stamp[32]; /* of the user's password hash at login */
	long user_id;
	double last_used; /* rn_now() */
} session_entry;

struct api_sessions {
	pthread_mutex_t mu;
	unsigned char key[32];      /* keys the hashes of ids and tokens */
	unsigned char csrf_key[32]; /* signs CSRF tokens handed out before a login */
	double idle_seconds;
	session_entry *v;
	size_t n, cap;
};

/* A new session table; idle_seconds <= 0 means AWX's 1800. */
api_sessions *api_sessions_new(long long idle_seconds)
{
	api_sessions *s = rn_xmalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	randombytes_buf(s->key, sizeof s->key);
	randombytes_buf(s->csrf_key, sizeof s->csrf_key);
	s->idle_seconds = idle_seconds > 0 ? (double)idle_seconds : API_SESSION_COOKIE_AGE;
	return s;
}

/* Free a session table (NULL is fine). */
void api_sessions_free(api_sessions *s)
{
	if (!s)
		return;
	sodium_memzero(s->key, sizeof s->key);
	sodium_memzero(s->csrf_key, sizeof s->csrf_key);
	if (s->v)
		sodium_memzero(s->v, s->cap * sizeof *s->v);
	free(s->v);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Seconds a session lives unused. */
long long api_sessions_idle(const api_sessions *s)
{
	return (long long)s->idle_seconds;
}

/* The keyed hash of a secret text (a session id or a CSRF token). */
static void secret_hash(const api_sessions *s, const char *text, unsigned char out[32])
{
	crypto_generichash(out, 32, (const unsigned char *)text, strlen(text), s->key,
	                   sizeof s->key);
}

/* Lower-case hex of n bytes into out (2n+1 bytes). */
static void to_hex(const unsigned char *b, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, b, n);
}

/* Drop the entry at i (order does not matter). Lock held. */
static void drop_at(api_sessions *s, size_t i)
{
	s->v[i] = s->v[s->n - 1];
	sodium_memzero(&s->v[s->n - 1], sizeof s->v[0]);
	s->n--;
}

/* Drop the sessions unused for too long. Lock held. */
static void sweep(api_sessions *s, double now)
{
	for (size_t i = 0; i < s->n;)
		if (now - s->v[i].last_used > s->idle_seconds)
			drop_at(s, i);
		else
			i++;
}

/* A CSRF token bound to nothing (before a login): 16 random bytes and a
 * 16-byte MAC of them, as 64 hex digits (the length of Django's tokens). */
void api_csrf_new_anonymous(api_sessions *s, char out[API_TOKEN_HEX])
{
	unsigned char raw[32];
	randombytes_buf(raw, 16);
	crypto_generichash(raw + 16, 16, raw, 16, s->csrf_key, sizeof s->csrf_key);
	to_hex(raw, 32, out);
	sodium_memzero(raw, sizeof raw);
}

/* True if token is one api_csrf_new_anonymous made (or a session's: those
 * are checked against the session by api_session_find). */
bool api_csrf_valid_anonymous(api_sessions *s, const char *token)
{
	unsigned char raw[32], mac[16];
	if (!token || strlen(token) != 64 ||
	    sodium_hex2bin(raw, sizeof raw, token, 64, NULL, NULL, NULL) != 0)
		return false;
	crypto_generichash(mac, 16, raw, 16, s->csrf_key, sizeof s->csrf_key);
	bool ok = sodium_memcmp(mac, raw + 16, 16) == 0;
	sodium_memzero(raw, sizeof raw);
	return ok;
}

/* Start a session for user_id (whose password has stamp): its id and a new
 * CSRF token (each 64 hex digits) into id_out and csrf_out. */
void api_session_create(api_sessions *s, long user_id, const unsigned char stamp[32],
                        char id_out[API_TOKEN_HEX], char csrf_out[API_TOKEN_HEX])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	to_hex(raw, sizeof raw, id_out);
	api_csrf_new_anonymous(s, csrf_out);
	sodium_memzero(raw, sizeof raw);
	session_entry e = {.user_id = user_id, .last_used = rn_now()};
	secret_hash(s, id_out, e.id_hash);
	secret_hash(s, csrf_out, e.csrf_hash);
	memcpy(e.stamp, stamp, 32);
	pthread_mutex_lock(&s->mu);
	sweep(s, e.last_used);
	if (s->n == SESSIONS_MAX) {
		/* the least recently used one goes, as a cache would */
		size_t old = 0;
		for (size_t i = 1; i < s->n; i++)
			if (s->v[i].last_used < s->v[old].last_used)
				old = i;
		drop_at(s, old);
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		session_entry *v = rn_xmalloc(cap * sizeof *v);
		if (s->n)
			memcpy(v, s->v, s->n * sizeof *v);
		if (s->v)
			sodium_memzero(s->v, s->cap * sizeof *s->v);
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = e;
	pthread_mutex_unlock(&s->mu);
	sodium_memzero(&e, sizeof e);
}

/* The session whose id is id, if it is live: its user, the stamp its login
 * saw and whether csrf (may be NULL) is its CSRF token. The session's idle
 * clock restarts. false when there is no such live session. */
bool api_session_find(api_sessions *s, const char *id, const char *csrf, long *user_id,
                      unsigned char stamp[32], bool *csrf_ok)
{
	if (!id || strlen(id) != 64)
		return false;
	unsigned char h[32], ch[32];
	secret_hash(s, id, h);
	if (csrf)
		secret_hash(s, csrf, ch);
	double now = rn_now();
	bool found = false;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++) {
		if (sodium_memcmp(s->v[i].id_hash, h, 32))
			continue;
		if (now - s->v[i].last_used > s->idle_seconds) {
			drop_at(s, i);
			break;
		}
		s->v[i].last_used = now;
		*user_id = s->v[i].user_id;
		memcpy(stamp, s->v[i].stamp, 32);
		if (csrf_ok)
			*csrf_ok = csrf && !sodium_memcmp(s->v[i].csrf_hash, ch, 32);
		found = true;
		break;
	}
	pthread_mutex_unlock(&s->mu);
	return found;
}

/* End the session whose id is id (logout, or its user's password changed). */
void api_session_end(api_sessions *s, const char *id)
{
	if (!id)
		return;
	unsigned char h[32];
	secret_hash(s, id, h);
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->n; i++)
		if (!sodium_memcmp(s->v[i].id_hash, h, 32)) {
			drop_at(s, i);
			break;
		}
	pthread_mutex_unlock(&s->mu);
}

/* How many sessions are live (for the log and tests of the bound). */
size_t api_sessions_count(api_sessions *s)
{
	pthread_mutex_lock(&s->mu);
	sweep(s, rn_now());
	size_t n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* The value of cookie name in a Cookie header, copied into out (at most n
 * bytes with the NUL); false when absent or too long. */
bool api_cookie_get(const char *header, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	for (const char *p = header; p && *p;) {
		p += strspn(p, " \t;");
		const char *end = p + strcspn(p, ";");
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq && (size_t)(eq - p) == nl && !strncmp(p, name, nl)) {
			const char *v = eq + 1;
			size_t vl = (size_t)(end - v);
			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"')
				v++, vl -= 2;
			if (vl + 1 > n)
				return false;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return true;
		}
		p = end;
	}
	return false;
}
