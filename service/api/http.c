/*
 * http.c - the HTTP server of runneld (libmicrohttpd, one thread per
 * connection, a capped number of connections; each thread reads and writes
 * through its own SQLite connection of the server's store handle, so that a
 * request never queues behind the dispatcher's or another request's wait for
 * the database's write lock). It reads the request body
 * (at most max_body bytes: beyond, 413), parses it as JSON (malformed: 400;
 * login.c's routes read HTML forms), authenticates as AWX does, in its
 * order (a Bearer token, the awx_sessionid cookie of a login with the CSRF
 * token on unsafe methods, HTTP Basic against the store's users), answers
 * OPTIONS from the field tables (options.c),
 * finds the route in the routing tables of the resource files and sends the
 * handler's answer with AWX's product headers. The web page's files are
 * served from web_dir at /.
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "access.h"
#include "util.h"

/* A Basic credential checked recently: argon2 costs ~0.1 s, and clients
 * such as `requests` send Basic on every call. Keyed hash of user:password,
 * and the stamp of the user's stored password when it was checked: an entry
 * whose stamp no longer matches (the password was changed, the user deleted
 * or re-created) is dropped, so an old password stops working at once. */
typedef struct auth_entry {
	unsigned char hash[32];
	unsigned char stamp[32];
	long user_id;
	double expires;
} auth_entry;

#define AUTH_CACHE 16
#define AUTH_TTL   60.0

struct api_server {
	struct MHD_Daemon *daemon;
	engine *eng;
	store *st; /* the API's own handle: one connection per thread */
	api_settings settings;
	char *web_dir;
	int port;
	atomic_bool stopping; /* ends the event streams (they wait on their threads) */
	pthread_mutex_t auth_mu;
	unsigned char auth_key[32];
	auth_entry auth_cache[AUTH_CACHE];
	api_sessions *sessions;   /* session logins (session.c) */
	pthread_mutex_t write_mu; /* uniqueness checks and their writes (util.c) */
};

/* The state of one request while its body arrives. */
typedef struct request_ctx {
	rn_buf body;
	bool too_big;
	/* sysinfo: the request's log line (log_request) */
	struct timespec start; /* when its first byte was read */
	int status;            /* what it was answered */
	char user[160];        /* who asked ("-": nobody) */
} request_ctx;

/* The routing tables, in the order they are searched. */
static const api_route *const route_tables[] = {
    api_routes_root,
    api_routes_login,
    api_routes_resources,
    api_routes_inventory,
    api_routes_projects,
    api_routes_templates,
    api_routes_jobs,
    api_routes_events_stream,
    api_routes_rbac,
    api_routes_notifications,
    api_routes_surveys,
    api_routes_schedules,
    api_routes_activity,
    api_routes_system,
    api_routes_settings,
    /* workflows.c */
    api_routes_workflows,
    api_routes_absent,
    NULL,
};

/* Write a log line through the settings' logger. */
static void server_log(api_server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void server_log(api_server *srv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rn_log_vline(srv->settings.log, srv->settings.log_userdata, "runneld: ", fmt, ap);
	va_end(ap);
}

/* Match path against pattern; fills ids for {id} segments. A trailing
 * slash is optional on the path. */
static bool route_match(const char *pattern, const char *path, long ids[4])
{
	int nid = 0;
	const char *p = pattern, *s = path;
	while (*p) {
		if (!strncmp(p, "{id}", 4)) {
			if (*s < '0' || *s > '9')
				return false;
			char *end;
			long v = strtol(s, &end, 10);
			if (nid < 4)
				ids[nid++] = v;
			s = end;
			p += 4;
			continue;
		}
		if (*p != *s) {
			/* "/api/v2/jobs" matches "/api/v2/jobs/" */
			return *s == '\0' && p[0] == '/' && p[1] == '\0';
		}
		p++;
		s++;
	}
	return *s == '\0';
}

/* Find the route of a path; NULL if none. */
static const api_route *route_find(const char *path, long ids[4])
{
	for (int t = 0; route_tables[t]; t++)
		for (const api_route *r = route_tables[t]; r->pattern; r++) {
			memset(ids, 0, 4 * sizeof ids[0]);
			if (route_match(r->pattern, path, ids))
				return r;
		}
	return NULL;
}

/* The handler of a route for a method; NULL: 405. */
static api_handler route_handler(const api_route *r, const char *method)
{
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
		return r->get;
	if (!strcmp(method, "POST"))
		return r->post;
	if (!strcmp(method, "PUT"))
		return r->put;
	if (!strcmp(method, "PATCH"))
		return r->patch;
	if (!strcmp(method, "DELETE"))
		return r->del;
	return NULL;
}

/* The Allow header of a route (static buffer per call site is not thread
 * safe, so it is built into out). */
static void route_allow(const api_route *r, char *out, size_t n)
{
	snprintf(out, n, "%s%s%s%s%sOPTIONS", r->get ? "GET, HEAD, " : "", r->post ? "POST, " : "",
	         r->put ? "PUT, " : "", r->patch ? "PATCH, " : "", r->del ? "DELETE, " : "");
}

/* The query arguments of a request as they are collected: the first one
 * that cannot be a JSON string (invalid UTF-8, a NUL) is named in bad,
 * never dropped silently (a dropped filter would widen a list). */
typedef struct query_collect {
	json_t *q;
	json_t *list;
	char bad[160];
} query_collect;

/* Collect a query argument into the request's query object. */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	query_collect *qc = cls;
	if (!key || qc->bad[0])
		return MHD_YES;
	if (!api_utf8_valid(key, key_size)) {
		/* the name itself is unusable: show it with its bad bytes escaped */
		size_t o = 0;
		for (size_t i = 0; i < key_size && o + 5 < sizeof qc->bad; i++) {
			unsigned char c = (unsigned char)key[i];
			o += (size_t)snprintf(qc->bad + o, sizeof qc->bad - o,
			                      c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
		}
		if (!o)
			snprintf(qc->bad, sizeof qc->bad, "?");
		return MHD_YES;
	}
	if (value && !api_utf8_valid(value, value_size)) {
		snprintf(qc->bad, sizeof qc->bad, "%s", key);
		return MHD_YES;
	}
	json_object_set_new(qc->q, key, json_string(value ? value : ""));
	json_array_append_new(qc->list, json_pack("[s,s]", key, value ? value : ""));
	return MHD_YES;
}

/* Decode standard base64 into out (at most n-1 bytes, NUL-terminated);
 * false when it does not decode or holds a NUL (user:pass\0junk). */
static bool b64_decode(const char *in, char *out, size_t n)
{
	size_t len = 0;
	if (sodium_base642bin((unsigned char *)out, n - 1, in, strlen(in), " \t", &len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	out[len] = '\0';
	if (memchr(out, '\0', len)) {
		sodium_memzero(out, n);
		return false;
	}
	return true;
}

/* A user id from the Basic cache (with the stamp it was checked against), or 0. */
static long auth_cache_get(api_server *srv, const unsigned char hash[32], unsigned char stamp[32])
{
	long uid = 0;
	double now = rn_now();
	pthread_mutex_lock(&srv->auth_mu);
	for (int i = 0; i < AUTH_CACHE; i++)
		if (srv->auth_cache[i].user_id && srv->auth_cache[i].expires > now &&
		    !sodium_memcmp(srv->auth_cache[i].hash, hash, 32)) {
			uid = srv->auth_cache[i].user_id;
			memcpy(stamp, srv->auth_cache[i].stamp, 32);
		}
	pthread_mutex_unlock(&srv->auth_mu);
	return uid;
}

/* Remember a checked Basic credential. */
static void auth_cache_put(api_server *srv, const unsigned char hash[32],
                           const unsigned char stamp[32], long uid)
{
	double now = rn_now();
	pthread_mutex_lock(&srv->auth_mu);
	int slot = 0;
	for (int i = 0; i < AUTH_CACHE; i++)
		if (srv->auth_cache[i].expires < srv->auth_cache[slot].expires)
			slot = i;
	memcpy(srv->auth_cache[slot].hash, hash, 32);
	memcpy(srv->auth_cache[slot].stamp, stamp, 32);
	srv->auth_cache[slot].user_id = uid;
	srv->auth_cache[slot].expires = now + AUTH_TTL;
	pthread_mutex_unlock(&srv->auth_mu);
}

/* Forget a cached credential (its user's password changed or the user is gone). */
static void auth_cache_drop(api_server *srv, const unsigned char hash[32])
{
	pthread_mutex_lock(&srv->auth_mu);
	for (int i = 0; i < AUTH_CACHE; i++)
		if (!sodium_memcmp(srv->auth_cache[i].hash, hash, 32))
			memset(&srv->auth_cache[i], 0, sizeof srv->auth_cache[i]);
	pthread_mutex_unlock(&srv->auth_mu);
}

/* The user of a cached Basic credential if its password is still the one
 * that was checked, else NULL (and the entry is dropped). */
static json_t *auth_cache_user(api_server *srv, const unsigned char hash[32])
{
	unsigned char cached[32], now[32];
	long uid = auth_cache_get(srv, hash, cached);
	if (!uid)
		return NULL;
	runnel_error err = {0};
	json_t *user = NULL;
	if (store_user_secret_stamp(srv->st, uid, now, &err) == 0 &&
	    !sodium_memcmp(cached, now, 32))
		user = store_get(srv->st, STORE_USER, uid, &err);
	if (!user)
		auth_cache_drop(srv, hash);
	return user;
}

/* The user an Authorization header names, or NULL (then *why says how it
 * failed: 0 no credentials, 1 bad credentials). *write_scope: false for a
 * token whose scope lacks "write" (AWX's check_permissions: such a bearer
 * may only GET, HEAD and OPTIONS). */
static json_t *authenticate(api_server *srv, const char *header, int *why, bool *write_scope)
{
	*why = 0;
	*write_scope = true;
	if (!header || !*header)
		return NULL;
	*why = 1;
	runnel_error err = {0};
	if (!strncasecmp(header, "Bearer ", 7)) {
		const char *tok = header + 7;
		while (*tok == ' ')
			tok++;
		json_t *token = NULL;
		json_t *user = store_token_authenticate(srv->st, tok, &token, &err);
		if (user) {
			const char *scope = json_string_value(json_object_get(token, "scope"));
			bool write = false;
			for (const char *p = scope ? scope : ""; *p;) {
				p += strspn(p, " \t\n");
				size_t n = strcspn(p, " \t\n");
				if (n == 5 && !strncmp(p, "write", 5))
					write = true;
				p += n;
			}
			*write_scope = write;
		}
		json_decref(token);
		return user;
	}
	if (strncasecmp(header, "Basic ", 6))
		return NULL;
	char plain[1024];
	if (!b64_decode(header + 6, plain, sizeof plain))
		return NULL;
	char *colon = strchr(plain, ':');
	if (!colon) {
		sodium_memzero(plain, sizeof plain);
		return NULL;
	}
	unsigned char hash[32];
	crypto_generichash(hash, sizeof hash, (unsigned char *)plain, strlen(plain), srv->auth_key,
	                   sizeof srv->auth_key);
	json_t *user = auth_cache_user(srv, hash);
	if (!user) {
		*colon = '\0';
		unsigned char stamp[32];
		user = store_user_authenticate_stamp(srv->st, plain, colon + 1, stamp, &err);
		if (user) {
			/* the stamp is of the hash this very check used: a password
			 * set since makes the entry stale at its next use */
			auth_cache_put(srv, hash, stamp,
			               (long)json_integer_value(json_object_get(user, "id")));
		} else {
			server_log(srv, "authentication failed for user \"%.64s\"", plain);
		}
	}
	sodium_memzero(plain, sizeof plain);
	return user;
}

/* The value of a request header (api_request.header). */
static const char *request_header(const api_request *rq, const char *name)
{
	return MHD_lookup_connection_value((struct MHD_Connection *)rq->conn, MHD_HEADER_KIND,
	                                   name);
}

/* The user of the session whose cookie the request carries, or NULL. A
 * session whose user's password changed (or whose user is gone) is ended.
 * *csrf_ok: the request's X-CSRFToken header is the session's token and
 * equals its csrftoken cookie (Django's double submit). id gets the
 * session id (API_TOKEN_HEX bytes). */
static json_t *session_user(api_server *srv, struct MHD_Connection *c, bool *csrf_ok, char *id)
{
	*csrf_ok = false;
	const char *cookies = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie");
	if (!cookies || !api_cookie_get(cookies, API_SESSION_COOKIE, id, API_TOKEN_HEX))
		return NULL;
	const char *sent = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-CSRFToken");
	char cookie_token[API_TOKEN_HEX];
	bool cookie_ok =
	    api_cookie_get(cookies, API_CSRF_COOKIE, cookie_token, sizeof cookie_token) && sent &&
	    !strcmp(sent, cookie_token);
	long uid = 0;
	unsigned char stamp[32], now[32];
	bool token_ok = false;
	if (!api_session_find(srv->sessions, id, sent, &uid, stamp, &token_ok))
		return NULL;
	runnel_error err = {0};
	json_t *user = NULL;
	if (store_user_secret_stamp(srv->st, uid, now, &err) == 0 && !sodium_memcmp(stamp, now, 32))
		user = store_get(srv->st, STORE_USER, uid, &err);
	if (!user) {
		server_log(srv,
		           "session of user %ld ended: its password changed or the user is gone",
		           uid);
		api_session_end(srv->sessions, id);
		return NULL;
	}
	*csrf_ok = cookie_ok && token_ok;
	return user;
}

/* True for the methods that change nothing (RFC 7231 safe methods). */
static bool safe_method(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD") || !strcmp(method, "OPTIONS") ||
	       !strcmp(method, "TRACE");
}

/* Add the headers every answer carries. */
static void common_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "X-API-Product-Name", API_PRODUCT_NAME);
	MHD_add_response_header(r, "X-API-Product-Version", API_PRODUCT_VERSION);
	MHD_add_response_header(r, "X-API-Node", "localhost");
	MHD_add_response_header(r, "Cache-Control", "no-cache, no-store, must-revalidate");
}

/* Add a handler's extra headers ([[name, value], ...]) to a response. */
static void extra_headers(struct MHD_Response *r, const json_t *headers)
{
	size_t i;
	json_t *h;
	json_array_foreach((json_t *)headers, i, h)
		MHD_add_response_header(r, json_string_value(json_array_get(h, 0)),
		                        json_string_value(json_array_get(h, 1)));
}

/* Queue a JSON answer (with extra headers, may be NULL). */
static enum MHD_Result send_json_h(struct MHD_Connection *c, int status, json_t *body,
                                   const json_t *headers)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	size_t len = text ? strlen(text) : 0;
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    len, text ? text : (char *)"", text ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	common_headers(r);
	extra_headers(r, headers);
	if (text)
		MHD_add_response_header(r, "Content-Type", "application/json");
	if (status == 401)
		MHD_add_response_header(r, "WWW-Authenticate",
		                        "Bearer realm=api authorization_url=/api/o/authorize/");
	enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
	MHD_destroy_response(r);
	return ok;
}

/* Queue a JSON answer. */
static enum MHD_Result send_json(struct MHD_Connection *c, int status, json_t *body)
{
	return send_json_h(c, status, body, NULL);
}

/* Send {"detail": msg}. */
static enum MHD_Result send_detail(struct MHD_Connection *c, int status, const char *msg)
{
	json_t *b = json_pack("{s:s}", "detail", msg);
	enum MHD_Result ok = send_json(c, status, b);
	json_decref(b);
	return ok;
}

/* Adapt an api_stream to libmicrohttpd's reader. */
static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	api_stream *s = cls;
	ssize_t n = s->read(s->ctx, pos, buf, max);
	if (n == -1)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

/* Free an adapted api_stream. */
static void stream_free(void *cls)
{
	api_stream *s = cls;
	if (s->free)
		s->free(s->ctx);
	free(s);
}

/* Send what a handler answered. */
static enum MHD_Result send_response(struct MHD_Connection *c, api_response *rs)
{
	struct MHD_Response *r;
	if (rs->stream.read) {
		api_stream *s = rn_xmalloc(sizeof *s);
		*s = rs->stream;
		rs->stream.read = NULL;
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_reader, s,
		                                      stream_free);
	} else if (rs->text) {
		r = MHD_create_response_from_buffer(rs->text_len, rs->text, MHD_RESPMEM_MUST_FREE);
		rs->text = NULL;
	} else if (rs->json) {
		return send_json_h(c, rs->status ? rs->status : 200, rs->json, rs->headers);
	} else {
		r = MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
	}
	common_headers(r);
	extra_headers(r, rs->headers);
	MHD_add_response_header(r, "Content-Type",
	                        rs->content_type ? rs->content_type : "text/plain; charset=utf-8");
	if (rs->disposition)
		MHD_add_response_header(r, "Content-Disposition", rs->disposition);
	enum MHD_Result ok = MHD_queue_response(c, (unsigned)(rs->status ? rs->status : 200), r);
	MHD_destroy_response(r);
	return ok;
}

/* Release what a response holds. */
static void response_clear(api_response *rs)
{
	json_decref(rs->json);
	json_decref(rs->headers);
	free(rs->text);
	free(rs->disposition);
	if (rs->stream.read && rs->stream.free)
		rs->stream.free(rs->stream.ctx);
	memset(rs, 0, sizeof *rs);
}

/* The content type of a web file by its name. */
static const char *web_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (dot && !strcmp(dot, ".html"))
		return "text/html; charset=utf-8";
	if (dot && !strcmp(dot, ".js"))
		return "application/javascript; charset=utf-8";
	if (dot && !strcmp(dot, ".css"))
		return "text/css; charset=utf-8";
	return "application/octet-stream";
}

/* True for the names the page's files have: "app.js", "vendor/ansi_up.js"
 * (at most one directory; letters, digits, "-", "_", "."; no part starting
 * with "."): nothing outside web_dir, no hidden file. */
static bool web_name_ok(const char *name)
{
	int slashes = 0;
	for (const char *p = name; *p; p++) {
		if ((p == name || p[-1] == '/') && (*p == '.' || *p == '/'))
			return false;
		if (*p == '/' && ++slashes > 1)
			return false;
		if (!(*p == '/' || *p == '-' || *p == '_' || *p == '.' ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			return false;
	}
	return *name && name[strlen(name) - 1] != '/';
}

/* Serve a file of the web page (web_name_ok names in web_dir). The page
 * runs only its own scripts and styles (Content-Security-Policy). */
static enum MHD_Result serve_web(api_server *srv, struct MHD_Connection *c, const char *path,
                                 int *status)
{
	*status = 404;
	const char *name = !strcmp(path, "/") ? "index.html" : path + 1;
	if (!srv->web_dir || !web_name_ok(name))
		return send_detail(c, 404, "The requested resource could not be found.");
	char *file = rn_path_join(srv->web_dir, name);
	size_t len = 0;
	runnel_error err = {0};
	char *data = rn_read_file(file, &len, &err);
	free(file);
	if (!data)
		return send_detail(c, 404, "The requested resource could not be found.");
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	common_headers(r);
	MHD_add_response_header(r, "Content-Type", web_type(name));
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Content-Security-Policy",
	                        "default-src 'self'; img-src 'self' data:; style-src 'self' "
	                        "'unsafe-inline'; frame-ancestors 'none'");
	*status = 200;
	enum MHD_Result ok = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ok;
}

/* Answer what a handler (or the server) left in rs, and release it; the
 * status and the user go to the request's log line. */
static enum MHD_Result finish(struct MHD_Connection *c, api_response *rs, api_request *rq,
                              request_ctx *ctx)
{
	ctx->status = rs->status ? rs->status : 200;
	const char *who = json_string_value(json_object_get(rq->user, "username"));
	if (who)
		snprintf(ctx->user, sizeof ctx->user, "%s", who);
	enum MHD_Result ok = send_response(c, rs);
	response_clear(rs);
	json_decref(rq->query);
	json_decref(rq->query_list);
	json_decref(rq->body);
	json_decref(rq->user);
	access_request_done(rq);
	return ok;
}

/* Authenticate a request as AWX's DEFAULT_AUTHENTICATION_CLASSES do, in
 * their order: a Bearer token, the session cookie of a login (unsafe
 * methods then need the CSRF token), HTTP Basic. false with the 401/403
 * in rs. */
static bool authenticate_request(api_server *srv, struct MHD_Connection *c, api_request *rq,
                                 api_response *rs, char *session_id)
{
	const char *hdr =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	int why = 0;
	bool write_scope = true;
	if (hdr && !strncasecmp(hdr, "Bearer ", 7)) {
		rq->user = authenticate(srv, hdr, &why, &write_scope);
		rq->auth = API_AUTH_TOKEN;
	} else {
		bool csrf_ok = false;
		rq->user = session_user(srv, c, &csrf_ok, session_id);
		if (rq->user) {
			rq->auth = API_AUTH_SESSION;
			if (!safe_method(rq->method) && !csrf_ok) {
				const char *cookies =
				    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Cookie");
				char tok[API_TOKEN_HEX];
				bool has_cookie =
				    cookies &&
				    api_cookie_get(cookies, API_CSRF_COOKIE, tok, sizeof tok);
				server_log(
				    srv, "%s %s: refused, CSRF token %s (session of user %lld)",
				    rq->method, rq->path, has_cookie ? "incorrect" : "missing",
				    (long long)json_integer_value(json_object_get(rq->user, "id")));
				api_detail(rs, 403,
				           has_cookie
				               ? "CSRF Failed: CSRF token missing or incorrect."
				               : "CSRF Failed: CSRF cookie not set.");
				return false;
			}
		} else {
			session_id[0] = '\0';
			rq->user = authenticate(srv, hdr, &why, &write_scope);
			rq->auth = API_AUTH_BASIC;
		}
	}
	if (!rq->user) {
		rq->auth = API_AUTH_NONE;
		api_detail(rs, 401,
		           why ? "Invalid username/password."
		               : "Authentication credentials were not provided.");
		return false;
	}
	rq->user_id = (long)json_integer_value(json_object_get(rq->user, "id"));
	rq->read_only = !write_scope;
	if (!write_scope && !safe_method(rq->method)) {
		api_detail(rs, 403, "You do not have permission to perform this action.");
		return false;
	}
	return true;
}

/* Answer code with {"detail": msg}, noted for the request's log line. */
static enum MHD_Result refuse(request_ctx *ctx, struct MHD_Connection *c, int code, const char *msg)
{
	ctx->status = code;
	return send_detail(c, code, msg);
}

/* Handle a complete request. */
static enum MHD_Result handle(api_server *srv, struct MHD_Connection *c, const char *url,
                              const char *method, request_ctx *ctx)
{
	if (strncmp(url, "/api", 4) || (url[4] != '/' && url[4] != '\0')) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return refuse(ctx, c, 405, "Method not allowed.");
		return serve_web(srv, c, url, &ctx->status);
	}
	if (!api_utf8_valid(url, strlen(url)))
		return refuse(ctx, c, 400, "The request path is not valid UTF-8.");
	if (ctx->too_big) {
		char msg[128];
		snprintf(msg, sizeof msg, "Request body is too large (more than %zu bytes).",
		         srv->settings.max_body);
		return refuse(ctx, c, 413, msg);
	}
	long ids[4];
	const api_route *route = route_find(url, ids);
	if (!route)
		return refuse(ctx, c, 404, "The requested resource could not be found.");
	api_request rq = {
	    .eng = srv->eng,
	    .st = srv->st,
	    .method = !strcmp(method, "HEAD") ? "GET" : method,
	    .path = url,
	    .log = srv->settings.log,
	    .log_userdata = srv->settings.log_userdata,
	    .sessions = srv->sessions,
	    .write_mu = &srv->write_mu,
	    .raw_body = ctx->body.data,
	    .raw_len = ctx->body.len,
	    .header = request_header,
	    .conn = c,
	};
	memcpy(rq.ids, ids, sizeof ids);
	rq.token_expire_seconds = srv->settings.token_expire_seconds;
	rq.stopping = &srv->stopping;
	api_response rs = {0};
	char session_id[API_TOKEN_HEX] = "";
	bool options = !strcmp(method, "OPTIONS");
	if (!route->public && !authenticate_request(srv, c, &rq, &rs, session_id))
		return finish(c, &rs, &rq, ctx);
	if (options) {
		api_options(route, &rq, &rs);
		char allow[128];
		route_allow(route, allow, sizeof allow);
		api_add_header(&rs, "Allow", allow);
		return finish(c, &rs, &rq, ctx);
	}
	api_handler h = route_handler(route, rq.method);
	if (!h) {
		char allow[128];
		route_allow(route, allow, sizeof allow);
		api_not_allowed(&rs, method);
		api_add_header(&rs, "Allow", allow);
		return finish(c, &rs, &rq, ctx);
	}
	query_collect qc = {.q = json_object(), .list = json_array()};
	rq.query = qc.q;
	rq.query_list = qc.list;
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect_arg, &qc);
	if (qc.bad[0]) {
		api_field_error(&rs, qc.bad, "Not valid UTF-8 (or holds a NUL character).");
		return finish(c, &rs, &rq, ctx);
	}
	/* login.c's routes read their form themselves; every other body is
	 * JSON whatever its Content-Type says (curl -d sends JSON as a form) */
	if (ctx->body.len > 0 && !api_route_takes_form(route)) {
		json_error_t je;
		rq.body = json_loadb(ctx->body.data, ctx->body.len,
		                     JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
		if (!rq.body) {
			api_detail(&rs, 400, "JSON parse error - %s (line %d column %d)", je.text,
			           je.line, je.column);
			return finish(c, &rs, &rq, ctx);
		}
		/* \u0000 is parsed (to name the field) but never stored: C strings
		 * would cut the value there */
		char field[256], where[512];
		if (api_json_nul_field(rq.body, field, sizeof field, where, sizeof where)) {
			api_field_error(&rs, field, "Null characters are not allowed (in %s).",
			                where);
			return finish(c, &rs, &rq, ctx);
		}
	}
	/* who may do what: access.c, before any handler */
	if (access_route(&rq, &rs, route))
		h(&rq, &rs);
	if (rs.status == 405 && !rs.json)
		api_not_allowed(&rs, method);
	if (rq.auth == API_AUTH_SESSION) {
		/* AWX's SessionTimeoutMiddleware: every request restarts the clock */
		char age[32], cookie[256];
		long long idle = api_sessions_idle(srv->sessions);
		snprintf(age, sizeof age, "%lld", idle);
		snprintf(cookie, sizeof cookie,
		         "%s=%s; Max-Age=%lld; Path=/; SameSite=Lax; HttpOnly", API_SESSION_COOKIE,
		         session_id, idle);
		api_add_header(&rs, "Session-Timeout", age);
		api_add_header(&rs, "Set-Cookie", cookie);
	}
	if (rs.status >= 500)
		server_log(srv, "%s %s: %d", method, url, rs.status);
	sodium_memzero(session_id, sizeof session_id);
	return finish(c, &rs, &rq, ctx);
}

/* The request's line in the log: method, path (never the query string,
 * which may carry a token), status, milliseconds, user. The time is to the
 * answer's start (a stream goes on after it). */
static void log_request(api_server *srv, const char *method, const char *url,
                        const request_ctx *ctx)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double ms = (double)(now.tv_sec - ctx->start.tv_sec) * 1e3 +
	            (double)(now.tv_nsec - ctx->start.tv_nsec) / 1e6;
	/* a path is printed as sent, control characters escaped */
	char path[512];
	size_t n = 0;
	for (const char *p = url; *p && n + 5 < sizeof path; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x20 || ch == 0x7f)
			n += (size_t)snprintf(path + n, sizeof path - n, "\\x%02x", ch);
		else
			path[n++] = (char)ch;
	}
	path[n] = '\0';
	server_log(srv, "request: %s %s %d %.1fms user=%s", method, path, ctx->status, ms,
	           ctx->user);
}

/* libmicrohttpd's access handler: gather the body, then handle. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	api_server *srv = cls;
	request_ctx *ctx = *con_cls;
	if (!ctx) {
		ctx = rn_xmalloc(sizeof *ctx);
		memset(ctx, 0, sizeof *ctx);
		rn_buf_init(&ctx->body);
		clock_gettime(CLOCK_MONOTONIC, &ctx->start);
		snprintf(ctx->user, sizeof ctx->user, "-");
		*con_cls = ctx;
		const char *cl =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > srv->settings.max_body)
			ctx->too_big = true;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* Past the cap the rest is read and dropped, so that the client
		 * gets its 413 instead of a reset connection. */
		if (!ctx->too_big && ctx->body.len + *upload_data_size > srv->settings.max_body) {
			ctx->too_big = true;
			rn_buf_free(&ctx->body);
			rn_buf_init(&ctx->body);
		}
		if (!ctx->too_big)
			rn_buf_append(&ctx->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	enum MHD_Result ok = handle(srv, c, url, method, ctx);
	log_request(srv, method, url, ctx);
	return ok;
}

/* Free a request's state when it is done. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c, (void)toe;
	request_ctx *ctx = *con_cls;
	if (ctx) {
		rn_buf_free(&ctx->body);
		free(ctx);
		*con_cls = NULL;
	}
}

/* libmicrohttpd's own error messages, into the log. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	api_server *srv = cls;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	server_log(srv, "http: %s", line);
}

/* Parse "ADDR:PORT" into an IPv4 socket address. */
static int parse_listen(const char *listen, struct sockaddr_in *sa, runnel_error *err)
{
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	const char *colon = strrchr(listen, ':');
	char host[64];
	const char *port = listen;
	if (colon) {
		snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
		port = colon + 1;
	} else {
		snprintf(host, sizeof host, "127.0.0.1");
	}
	if (!*host || !strcmp(host, "*"))
		snprintf(host, sizeof host, "0.0.0.0");
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof host, "127.0.0.1");
	char *end;
	long p = strtol(port, &end, 10);
	if (*end || p < 0 || p > 65535)
		return rn_fail(err, EINVAL, "listen: bad port in \"%s\"", listen);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return rn_fail(err, EINVAL, "listen: bad IPv4 address in \"%s\"", listen);
	sa->sin_port = htons((uint16_t)p);
	return 0;
}

/* Start serving. */
api_server *api_server_start(engine *eng, const api_settings *settings, runnel_error *err)
{
	if (sodium_init() < 0) {
		rn_fail(err, EIO, "libsodium failed to initialize");
		return NULL;
	}
	api_server *srv = calloc(1, sizeof *srv);
	if (!srv) {
		rn_fail(err, ENOMEM, "out of memory");
		return NULL;
	}
	srv->eng = eng;
	srv->settings = *settings;
	if (!srv->settings.listen)
		srv->settings.listen = "127.0.0.1:8052";
	if (!srv->settings.max_body)
		srv->settings.max_body = 1024 * 1024;
	if (srv->settings.max_connections <= 0)
		srv->settings.max_connections = 64;
	srv->web_dir = settings->web_dir ? rn_xstrdup(settings->web_dir) : NULL;
	pthread_mutex_init(&srv->auth_mu, NULL);
	pthread_mutex_init(&srv->write_mu, NULL);
	randombytes_buf(srv->auth_key, sizeof srv->auth_key);
	srv->sessions = api_sessions_new(srv->settings.session_cookie_age);
	struct sockaddr_in sa;
	if (parse_listen(srv->settings.listen, &sa, err) < 0) {
		api_server_stop(srv);
		return NULL;
	}
	/* Not the engine's handle: that one is shared by the dispatcher and the
	 * engine's calls behind one mutex, held while a write waits for SQLite's
	 * lock (the workers and the receiver write all the time under load). */
	const engine_settings *es = engine_get_settings(eng);
	store_settings ss = {
	    .backend = es->store_backend, .state_dir = es->state_dir, .thread_connections = true};
	srv->st = store_open(&ss, err);
	if (!srv->st) {
		api_server_stop(srv);
		return NULL;
	}
	srv->daemon = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
	        MHD_USE_ITC | MHD_USE_ERROR_LOG,
	    0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)srv->settings.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_END);
	if (!srv->daemon) {
		rn_fail(err, EADDRINUSE, "cannot listen on %s", srv->settings.listen);
		api_server_stop(srv);
		return NULL;
	}
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : ntohs(sa.sin_port);
	return srv;
}

/* The port in use. */
int api_server_port(const api_server *srv)
{
	return srv->port;
}

/* Stop accepting. */
void api_server_quiesce(api_server *srv)
{
	if (srv)
		atomic_store(&srv->stopping, true);
	if (srv && srv->daemon) {
		MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
}

/* Stop and free. */
void api_server_stop(api_server *srv)
{
	if (!srv)
		return;
	atomic_store(&srv->stopping, true);
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon); /* joins the connection threads */
	store_close(srv->st);
	api_sessions_free(srv->sessions);
	pthread_mutex_destroy(&srv->auth_mu);
	pthread_mutex_destroy(&srv->write_mu);
	free(srv->web_dir);
	free(srv);
}
