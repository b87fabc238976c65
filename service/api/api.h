/*
 * api.h - the REST API of runneld: AWX's /api/v2 over libmicrohttpd.
 *
 * http.c owns the server: it reads a request (body capped at max_body),
 * authenticates it, finds its route in the routing table (one table per
 * resource family, each in its own file: routes are data), calls the
 * handler and sends what the handler left in the api_response, with the
 * headers AWX sends (X-API-Product-Name: AWX, X-API-Product-Version).
 *
 * Handlers run on the connection's thread; they launch and cancel through
 * the engine and read and write resources through api_request.st (the
 * server's store handle: one SQLite connection per thread, so that reads do
 * not wait on the engine's writers). They never
 * touch libmicrohttpd, except to hand over a streaming body
 * (api_response.stream).
 */
#ifndef RUNNELD_API_H
#define RUNNELD_API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "engine.h"
#include "store.h"

/* The version AWX's clients compare against (the awx.awx collection warns
 * when its major version differs). */
#define API_PRODUCT_NAME    "AWX"
#define API_PRODUCT_VERSION "21.14.0"

typedef struct api_server api_server;

/* How the server runs. Zero-initialize. */
typedef struct api_settings {
	const char *listen;  /* "ADDR:PORT"; port 0 picks a free one; default 127.0.0.1:8052 */
	size_t max_body;     /* bytes of a request body; 0: 1 MiB; larger: 413 */
	int max_connections; /* 0: 64 (one thread each) */
	const char *web_dir; /* the page's files (index.html, app.js, style.css) */
	void (*log)(const char *line, void *userdata); /* one line of note, no newline */
	void *log_userdata;
	long long token_expire_seconds; /* lifetime of a new token; 0: AWX's 31536000000 */
	long long session_cookie_age;   /* seconds a login session lives unused; 0: AWX's 1800 */
} api_settings;

/* Start serving on a thread of libmicrohttpd's. NULL with err. */
api_server *api_server_start(engine *eng, const api_settings *settings, runnel_error *err);
/* The port the server listens on (useful with port 0). */
int api_server_port(const api_server *srv);
/* Stop accepting new connections (the ones open finish). */
void api_server_quiesce(api_server *srv);
/* Stop the server and free it (NULL is fine). */
void api_server_stop(api_server *srv);

/* ------------------------------------------------------------------ */
/* What the resource files see.                                          */

/* A streaming body: read() fills buf with up to max bytes at pos and
 * returns how many, 0 never, -1 at the end, -2 on error; free() releases
 * the context. Memory stays flat whatever the size. */
typedef struct api_stream {
	ssize_t (*read)(void *ctx, uint64_t pos, char *buf, size_t max);
	void (*free)(void *ctx);
	void *ctx;
} api_stream;

/* The login sessions and CSRF tokens (session.c). */
typedef struct api_sessions api_sessions;

/* How a request was authenticated. */
typedef enum api_auth {
	API_AUTH_NONE = 0, /* a public route */
	API_AUTH_TOKEN,    /* Authorization: Bearer */
	API_AUTH_SESSION,  /* the awx_sessionid cookie of a login */
	API_AUTH_BASIC,    /* Authorization: Basic */
} api_auth;

/* One request, as a handler sees it. Everything is borrowed. */
typedef struct api_request {
	engine *eng;
	store *st;
	const char *method; /* "GET", "POST", ... (HEAD is served as GET) */
	const char *path;   /* without the query string */
	json_t *query;      /* query arguments: name -> string */
	json_t *query_list; /* the same in order, repeats kept: [[name, value], ...] */
	json_t *body;       /* the parsed JSON body (an object or any value), NULL if none */
	long ids[4];        /* the {id}s of the route, in order */
	json_t *user;       /* the authenticated user (NULL on public routes) */
	long user_id;
	long long token_expire_seconds; /* lifetime of a new token (api_settings) */
	const atomic_bool *stopping;    /* set when the server stops: a stream ends */
	void (*log)(const char *line, void *userdata);
	void *log_userdata;
	api_auth auth;             /* how user was authenticated */
	bool read_only;            /* a token of scope "read": GET, HEAD and OPTIONS only */
	pthread_mutex_t *write_mu; /* held by api_create/api_update around their checks */
	api_sessions *sessions;    /* the server's login sessions */
	const char *raw_body;      /* the body as sent (form routes read it), may be NULL */
	size_t raw_len;
	/* A request header's value, or NULL (conn: the server's connection). */
	const char *(*header)(const struct api_request *rq, const char *name);
	void *conn;
	void *access; /* access.c's cache of the caller's roles (access_request_done frees) */
} api_request;

/* What a handler answers: a status and either json, text or a stream. */
typedef struct api_response {
	int status;
	json_t *json; /* owned: sent as application/json */
	char *text;   /* owned: sent as content_type */
	size_t text_len;
	const char *content_type; /* for text and stream; default text/plain */
	char *disposition;        /* owned: Content-Disposition, if any */
	api_stream stream;        /* when stream.read is set */
	json_t *headers;          /* owned: more headers, [[name, value], ...] (Set-Cookie...) */
} api_response;

typedef int (*api_handler)(api_request *rq, api_response *rs);

/* One route: a path pattern ("/api/v2/jobs/{id}/cancel/", the trailing
 * slash optional in requests) and a handler per method (NULL: 405).
 * public: no authentication needed. The routes of login.c take HTML
 * forms (application/x-www-form-urlencoded, left unparsed in raw_body);
 * every other body is JSON. OPTIONS on a route is answered from its
 * pattern and the field tables (options.c). */
typedef struct api_route {
	const char *pattern;
	api_handler get, post, put, patch, del;
	bool public;
} api_route;
/* True for the routes whose bodies are HTML forms (login.c's). */
bool api_route_takes_form(const api_route *route);

/* The routing tables of the resource files (each ends with a NULL pattern). */
extern const api_route api_routes_root[]; /* root.c: /api/, ping, config, me, tokens, users */
extern const api_route
    api_routes_resources[]; /* resources.c: orgs, credentials, ... (plain CRUD) */
extern const api_route
    api_routes_inventory[];                   /* inventory.c: inventories, hosts, groups, sources */
extern const api_route api_routes_projects[]; /* projects.c: projects and their updates */
extern const api_route api_routes_templates[]; /* templates.c: job templates, launch */
extern const api_route api_routes_jobs[];      /* jobs.c: unified jobs, stdout, events, cancel */
extern const api_route
    api_routes_events_stream[]; /* events_stream.c: events/stream/ (SSE), events/lines/ */
extern const api_route api_routes_login[]; /* login.c: /api/login/, /api/logout/ */
extern const api_route api_routes_rbac[];  /* rbac.c: roles/, teams/, their sub-lists */
extern const api_route
    api_routes_notifications[]; /* notifications.c: notification templates, notifications */
/* surveys.c: job_templates/N/survey_spec/, labels/, job_templates/N/labels/, jobs/N/labels/ */
extern const api_route api_routes_surveys[];
/* A job as shown: without its sealed survey answers, with its labels
 * (surveys.c; returns job). */
json_t *api_survey_decorate_job(api_request *rq, json_t *job);
/* api_survey_decorate_job of each of jobs (an array), their labels asked in
 * one store call (fits api_list_opts.decorate_page). */
void api_survey_decorate_jobs(api_request *rq, json_t *jobs);
/* A template's labels as launch defaults show them ([{id, name}]; NULL: none). */
json_t *api_labels_brief(api_request *rq, long job_template_id);
/* Set summary_fields.labels ({count, results: [{id, name}]}, AWX's) of each
 * of objs (an array) of type type that has summary_fields, to its labels by
 * rel (JOB_LABELS, JOB_TEMPLATE_LABELS): one store call for them all. */
void api_labels_attach(api_request *rq, store_rel rel, const char *type, json_t *objs);
/* The survey's messages for launch extra_vars of template jt (a new array). */
json_t *api_survey_launch_errors(const json_t *jt, const json_t *extra_vars);
extern const api_route
    api_routes_schedules[]; /* schedules.c: schedules, preview, zoneinfo, unified_job_templates */
/* absent.c: the lists AWX's clients walk that runneld has no objects of
 * (searched last), and their names for /api/v2/ */
extern const api_route api_routes_absent[];
extern const char *const api_absent_names[];
/* sysinfo */
extern const api_route api_routes_activity[]; /* activity.c: activity_stream/ */
extern const api_route api_routes_system[];   /* system.c: instances, instance_groups, metrics */
extern const api_route api_routes_settings[]; /* settings.c: settings/ */
/* workflows.c: workflow job templates, their nodes and launch, workflow jobs */
extern const api_route api_routes_workflows[];

/* ---- sessions (session.c) ---- */

/* AWX's SESSION_COOKIE_NAME and SESSION_COOKIE_AGE (awx/settings/defaults.py). */
#define API_SESSION_COOKIE     "awx_sessionid"
#define API_SESSION_COOKIE_AGE 1800
#define API_CSRF_COOKIE        "csrftoken"
/* Room for a session id or CSRF token: 64 hex digits and a NUL. */
#define API_TOKEN_HEX 65

/* A new session table (idle_seconds <= 0: 1800); free with api_sessions_free. */
api_sessions *api_sessions_new(long long idle_seconds);
void api_sessions_free(api_sessions *s);
/* Seconds a session lives unused. */
long long api_sessions_idle(const api_sessions *s);
/* How many sessions are live. */
size_t api_sessions_count(api_sessions *s);
/* Start a session of user_id, whose stored password has stamp: the new
 * session id and its CSRF token are written to id_out and csrf_out. */
void api_session_create(api_sessions *s, long user_id, const unsigned char stamp[32],
                        char id_out[API_TOKEN_HEX], char csrf_out[API_TOKEN_HEX]);
/* The live session of id: its user and password stamp; *csrf_ok (may be
 * NULL) says whether csrf is the session's token. Restarts its idle clock.
 * false: no such session, or it expired. */
bool api_session_find(api_sessions *s, const char *id, const char *csrf, long *user_id,
                      unsigned char stamp[32], bool *csrf_ok);
/* End a session (NULL or unknown id: nothing). */
void api_session_end(api_sessions *s, const char *id);
/* A CSRF token for a client without a session (signed, not stored). */
void api_csrf_new_anonymous(api_sessions *s, char out[API_TOKEN_HEX]);
/* True if token was made by api_csrf_new_anonymous or api_session_create. */
bool api_csrf_valid_anonymous(api_sessions *s, const char *token);
/* The value of cookie name in a Cookie header into out (n bytes); false if absent. */
bool api_cookie_get(const char *header, const char *name, char *out, size_t n);

/* Set the csrftoken cookie (keeping a valid one the client sent), as
 * Django's ensure_csrf_cookie (login.c); the token into out (65 bytes, may
 * be NULL). */
void api_csrf_cookie_ensure(api_request *rq, api_response *rs, char *out);

/* ---- OPTIONS (options.c) ---- */

/* Answer OPTIONS on route for the caller: AWX's metadata (name,
 * description, renders, parses, actions for the methods the caller may
 * use, types, search_fields on lists), built from the field tables. */
int api_options(const api_route *route, api_request *rq, api_response *rs);
/* The methods the caller may use on route (what Allow and actions show). */
void api_route_methods(const api_route *route, const api_request *rq, bool *get, bool *post,
                       bool *put, bool *patch, bool *del);

/* ---- responses (util.c) ---- */

/* Answer status with a new json body (stolen). Returns 0. */
int api_json(api_response *rs, int status, json_t *body);
/* Answer {"detail": msg}. Returns 0. */
int api_detail(api_response *rs, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answer 400 {field: [reason]}. Returns 0. */
int api_field_error(api_response *rs, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answer an error value as AWX would: ENOENT 404, EINVAL/EEXIST 400 with
 * the field named, EACCES 403, else 500. Returns 0. */
int api_error(api_response *rs, const runnel_error *err);
/* 405 with an Allow header. Returns 0. */
int api_not_allowed(api_response *rs, const char *method);
/* Add a header to the answer (Set-Cookie may repeat). */
void api_add_header(api_response *rs, const char *name, const char *value);

/* ---- requests (util.c) ---- */

/* A query argument, or NULL. */
const char *api_arg(const api_request *rq, const char *name);
/* A query argument as a long; def when missing; -1 and a 400 in rs when it
 * is not an integer (then *ok is false). */
long api_arg_long(const api_request *rq, api_response *rs, const char *name, long def, bool *ok);
/* The body as an object: NULL body gives an empty object (new reference);
 * a body that is not an object answers 400 and returns NULL. */
json_t *api_body_object(api_request *rq, api_response *rs);
/* Check that every key of body is one of allowed (NULL-terminated); else
 * answer 400 naming the first unknown one and return false. */
bool api_body_only(const json_t *body, const char *const *allowed, api_response *rs);
/* For requests that use none of their body: it must be an object (or none)
 * with only keys in allowed; else the 400 is in rs and the result false. */
bool api_body_acceptable(api_request *rq, api_response *rs, const char *const *allowed);

/* True if the n bytes at s are well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF) and hold no NUL. */
bool api_utf8_valid(const char *s, size_t n);
/* If a string anywhere in v (values or keys) holds a NUL character, true,
 * with the top-level key it sits under in field ("__all__" when v is not an
 * object) and its path in where ("extra_vars.a[2]"). */
bool api_json_nul_field(const json_t *v, char *field, size_t nfield, char *where, size_t nwhere);

/* ---- generic resource handling (util.c) ---- */

/* How a list is narrowed beyond the query string. */
typedef struct api_list_opts {
	json_t *filters; /* borrowed: extra filters (e.g. {"inventory": 5}), may be NULL */
	store_rel rel;   /* a relation to list through, or STORE_REL_NONE */
	long rel_parent;
	bool rel_reverse;
	bool events;    /* list the events of job rel_parent */
	bool summaries; /* list the host summaries of job rel_parent */
	json_t *(*decorate)(api_request *rq,
	                    json_t *obj); /* each result through this, may be NULL */
	/* Then the page's results (an array) through this at once, may be
	 * NULL: for what one store call answers for all the rows (their labels)
	 * instead of one per row. */
	void (*decorate_page)(api_request *rq, json_t *results);
} api_list_opts;

/* GET a list of kind: filters (?name=, ?status__in=, ?or__id=, ...),
 * order_by, page, page_size; answers {count, next, previous, results}. */
int api_list(api_request *rq, api_response *rs, store_kind kind, const api_list_opts *opts);
/* GET one object. decorate may be NULL. */
int api_get(api_request *rq, api_response *rs, store_kind kind, long id,
            json_t *(*decorate)(api_request *, json_t *));
/* POST a new object of kind from the body (forced: fields set over the
 * body, may be NULL); 201 with it. Returns the new object's id in *id (may
 * be NULL; 0 on failure). */
int api_create(api_request *rq, api_response *rs, store_kind kind, const json_t *forced, long *id);
/* PUT/PATCH an object from the body. */
int api_update(api_request *rq, api_response *rs, store_kind kind, long id);
/* DELETE an object: 204. */
int api_delete(api_request *rq, api_response *rs, store_kind kind, long id);
/* An association sub-list (AWX's SubListCreateAttachDetachAPIView):
 * GET lists the related objects of kind; POST {"id": N} associates,
 * {"id": N, "disassociate": true} disassociates (204); a POST without
 * "id" creates a child of kind (forced fields) and associates it (201). */
int api_sublist(api_request *rq, api_response *rs, store_kind kind, store_rel rel, long parent,
                const json_t *forced);

/* GET <unified job>/stdout/ of a job of kind (stdout.c). */
int api_stdout(api_request *rq, api_response *rs, store_kind kind);

/* OPTIONS on /api/v2/settings/ and its categories (settings.c): AWX's
 * metadata, every key under GET, the keys runneld honours under PUT. */
int api_settings_options(api_request *rq, api_response *rs);

/* ---- the activity stream (activity.c) ---- */

/* Record that the caller did operation ("create", "update", "delete",
 * "associate", "disassociate") to the object kind/id: changes from before
 * and after (shaped objects, either NULL as the operation has none; sent:
 * the body of an update, may be NULL), secrets "$encrypted$". For
 * associate/disassociate, kind2/id2 is the other object and association
 * the relation's name; else kind2 is STORE_KIND_COUNT. Called by the write
 * path (util.c) only; a failure is logged, never the request's. */
void api_activity_record(api_request *rq, const char *operation, store_kind kind, long id,
                         const json_t *before, const json_t *after, const json_t *sent,
                         store_kind kind2, long id2, const char *association);

/* The activity stream's entry of an association by rel (util.c): op
 * "associate" or "disassociate", object1 the parent, object2 the child. */
void api_record_association(api_request *rq, store_rel rel, const char *op, long parent,
                            long child);

/* One line to the daemon's log (printf-style, never a secret). */
void api_logf(const api_request *rq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
