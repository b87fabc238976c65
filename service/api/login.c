/*
 * login.c - AWX's session login (awx/api/generics.py LoggedLoginView,
 * LoggedLogoutView over Django's auth views), as the awx CLI and browsers
 * use it:
 *
 *   GET  /api/ or /api/login/   sets the csrftoken cookie (Django's
 *                               ensure_csrf_cookie); /api/login/ answers
 *                               the login form
 *   POST /api/login/            form fields username, password, next and the
 *                               CSRF token (header X-CSRFToken or field
 *                               csrfmiddlewaretoken, equal to the cookie):
 *                               302 to next with the awx_sessionid cookie
 *                               (HttpOnly), a new csrftoken and the header
 *                               X-API-Session-Cookie-Name; 401 and the form
 *                               again on a bad password (logged)
 *   GET|POST /api/logout/       ends the session, 302 to next (or /api/)
 *
 * The cookies carry no Secure flag: runneld serves plain HTTP (AWX sets it
 * because it sits behind HTTPS); put runneld behind TLS for remote users.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "model.h"
#include "util.h"

/* Django's CSRF_COOKIE_AGE: a year. */
#define CSRF_COOKIE_AGE 31449600

/* Add a cookie to the answer (value may be "" to clear it: max_age 0). */
static void set_cookie(api_response *rs, const char *name, const char *value, long long max_age,
                       bool http_only)
{
	char line[256];
	if (max_age > 0)
		snprintf(line, sizeof line, "%s=%s; Max-Age=%lld; Path=/; SameSite=Lax%s", name,
		         value, max_age, http_only ? "; HttpOnly" : "");
	else
		snprintf(line, sizeof line,
		         "%s=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; "
		         "SameSite=Lax",
		         name);
	api_add_header(rs, "Set-Cookie", line);
}

/* The CSRF cookie of the request if it is one of ours, into out. */
static bool request_csrf_cookie(const api_request *rq, char out[API_TOKEN_HEX])
{
	const char *cookies = rq->header ? rq->header(rq, "Cookie") : NULL;
	return cookies && api_cookie_get(cookies, API_CSRF_COOKIE, out, API_TOKEN_HEX) &&
	       api_csrf_valid_anonymous(rq->sessions, out);
}

/* Give the client a csrftoken cookie (a new one unless it has one of ours),
 * as Django's ensure_csrf_cookie does on GET /api/ and /api/login/. The
 * token is copied into out (may be NULL). */
void api_csrf_cookie_ensure(api_request *rq, api_response *rs, char *out)
{
	char tok[API_TOKEN_HEX];
	if (!rq->sessions)
		return;
	if (!request_csrf_cookie(rq, tok))
		api_csrf_new_anonymous(rq->sessions, tok);
	set_cookie(rs, API_CSRF_COOKIE, tok, CSRF_COOKIE_AGE, false);
	if (out)
		memcpy(out, tok, API_TOKEN_HEX);
}

/* The value of a hex digit, or -1. */
static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode n bytes of a form value (+ is a space, %XX a byte) into a new
 * string; NULL when it holds a NUL. */
static char *form_decode(const char *s, size_t n)
{
	char *out = rn_xmalloc(n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		if (c == '\0') {
			sodium_memzero(out, n + 1);
			free(out);
			return NULL;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

/* The fields of an application/x-www-form-urlencoded body, as a new object
 * (the first value of a repeated name wins, as Django's QueryDict.get);
 * NULL when a value is not UTF-8. */
static json_t *form_parse(const char *body, size_t len)
{
	json_t *o = json_object();
	const char *p = body, *end = body + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		const char *kend = eq ? eq : stop;
		char *k = form_decode(p, (size_t)(kend - p));
		char *v = eq ? form_decode(eq + 1, (size_t)(stop - eq - 1)) : rn_xstrdup("");
		bool ok = k && v && api_utf8_valid(k, strlen(k)) && api_utf8_valid(v, strlen(v));
		if (ok && *k && !json_object_get(o, k))
			json_object_set_new(o, k, json_string(v));
		if (v)
			sodium_memzero(v, strlen(v));
		free(k);
		free(v);
		if (!ok) {
			json_decref(o);
			return NULL;
		}
		p = stop + (amp ? 1 : 0);
	}
	return o;
}

/* Where a login or logout sends the client: next when it is a path of this
 * server ("/..." but not "//host"), else /api/ (Django's
 * url_has_allowed_host_and_scheme, for relative URLs only). */
static const char *safe_next(const char *next)
{
	if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\')
		return "/api/";
	for (const char *p = next; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "/api/";
	return next;
}

/* Append text to b with HTML's special characters escaped. */
static void html_escape(rn_buf *b, const char *text)
{
	for (; *text; text++) {
		switch (*text) {
		case '<':
			rn_buf_append(b, "&lt;", 4);
			break;
		case '>':
			rn_buf_append(b, "&gt;", 4);
			break;
		case '&':
			rn_buf_append(b, "&amp;", 5);
			break;
		case '"':
			rn_buf_append(b, "&quot;", 6);
			break;
		case '\'':
			rn_buf_append(b, "&#x27;", 6);
			break;
		default:
			rn_buf_appendc(b, *text);
		}
	}
}

/* Answer the login form (status 200, or 401 after a failed login). */
static int login_form(api_response *rs, int status, const char *csrf, const char *next,
                      const char *username, bool failed)
{
	rn_buf b;
	rn_buf_init(&b);
	const char *head =
	    "<!DOCTYPE html>\n<html><head><title>Log in | AWX REST API</title></head>"
	    "<body>\n<h1>AWX REST API</h1>\n";
	rn_buf_append(&b, head, strlen(head));
	if (failed) {
		const char *msg = "<p class=\"errornote\">Please enter a correct username and "
		                  "password. Note that both fields may be case-sensitive.</p>\n";
		rn_buf_append(&b, msg, strlen(msg));
	}
	const char *parts[] = {
	    "<form action=\"/api/login/\" method=\"post\">\n"
	    "<input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"",
	    csrf,
	    "\">\n<label for=\"id_username\">Username:</label> <input type=\"text\" "
	    "name=\"username\" id=\"id_username\" autofocus value=\"",
	    NULL,
	    "\">\n<label for=\"id_password\">Password:</label> <input type=\"password\" "
	    "name=\"password\" id=\"id_password\">\n<input type=\"hidden\" name=\"next\" value=\"",
	    NULL,
	    "\">\n<input type=\"submit\" value=\"Log in\">\n</form>\n</body></html>\n",
	};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		if (i == 3)
			html_escape(&b, username ? username : "");
		else if (i == 5)
			html_escape(&b, next);
		else
			rn_buf_append(&b, parts[i], strlen(parts[i]));
	}
	rs->status = status;
	rs->text = b.data;
	rs->text_len = b.len;
	rs->content_type = "text/html; charset=utf-8";
	return 0;
}

/* True if the client accepts HTML (no Accept header, or one that allows
 * text/html): else Django's login view answers 406. */
static bool accepts_html(const api_request *rq)
{
	const char *accept = rq->header ? rq->header(rq, "Accept") : NULL;
	return !accept || !*accept || strstr(accept, "text/html") || strstr(accept, "*/*") ||
	       strstr(accept, "text/*");
}

/* GET /api/login/: the form, and the CSRF cookie it is posted with. */
static int login_get(api_request *rq, api_response *rs)
{
	if (!accepts_html(rq))
		return api_detail(rs, 406, "Could not satisfy the request Accept header.");
	char csrf[API_TOKEN_HEX];
	api_csrf_cookie_ensure(rq, rs, csrf);
	return login_form(rs, 200, csrf, safe_next(api_arg(rq, "next")), NULL, false);
}

/* Check the CSRF token of a POST without a session (login, logout): the
 * cookie must be one of ours, and the header (or the form field) equal to
 * it. false with the 403 in rs. */
static bool csrf_ok(api_request *rq, api_response *rs, const json_t *form)
{
	char cookie[API_TOKEN_HEX];
	if (!request_csrf_cookie(rq, cookie)) {
		api_detail(rs, 403, "CSRF Failed: CSRF cookie not set.");
		return false;
	}
	const char *sent = rq->header ? rq->header(rq, "X-CSRFToken") : NULL;
	if (!sent)
		sent = json_string_value(json_object_get(form, "csrfmiddlewaretoken"));
	if (!sent || strlen(sent) != strlen(cookie) ||
	    sodium_memcmp(sent, cookie, strlen(cookie))) {
		api_detail(rs, 403, "CSRF Failed: CSRF token missing or incorrect.");
		return false;
	}
	return true;
}

/* POST /api/login/: start a session. */
static int login_post(api_request *rq, api_response *rs)
{
	const char *ctype = rq->header ? rq->header(rq, "Content-Type") : NULL;
	if (rq->raw_len && (!ctype || strncasecmp(ctype, "application/x-www-form-urlencoded", 33)))
		return api_detail(rs, 415, "Unsupported media type \"%s\" in request.",
		                  ctype ? ctype : "");
	json_t *form = form_parse(rq->raw_body ? rq->raw_body : "", rq->raw_len);
	if (!form)
		return api_detail(rs, 400, "The form is not valid UTF-8 (or holds a NUL).");
	if (!csrf_ok(rq, rs, form)) {
		json_decref(form);
		return 0;
	}
	const char *user = json_string_value(json_object_get(form, "username"));
	const char *pw = json_string_value(json_object_get(form, "password"));
	const char *next = safe_next(json_string_value(json_object_get(form, "next")));
	char csrf[API_TOKEN_HEX];
	request_csrf_cookie(rq, csrf);
	unsigned char stamp[32];
	runnel_error err = {0};
	json_t *u = user && pw && *user && *pw
	                ? store_user_authenticate_stamp(rq->st, user, pw, stamp, &err)
	                : NULL;
	if (!u) {
		api_logf(rq, "Login failed for user \"%.64s\"", user ? user : "");
		login_form(rs, 401, csrf, next, user, true);
		json_decref(form);
		return 0;
	}
	long uid = (long)json_integer_value(json_object_get(u, "id"));
	char id[API_TOKEN_HEX], token[API_TOKEN_HEX];
	api_session_create(rq->sessions, uid, stamp, id, token);
	sodium_memzero(stamp, sizeof stamp);
	set_cookie(rs, API_SESSION_COOKIE, id, api_sessions_idle(rq->sessions), true);
	set_cookie(rs, API_CSRF_COOKIE, token, CSRF_COOKIE_AGE, false);
	api_add_header(rs, "Set-Cookie", "userLoggedIn=true; Path=/; SameSite=Lax");
	api_add_header(rs, "X-API-Session-Cookie-Name", API_SESSION_COOKIE);
	api_add_header(rs, "Location", next);
	sodium_memzero(id, sizeof id);
	rs->status = 302;
	rs->text = rn_xstrdup("");
	rs->text_len = 0;
	char now[32];
	model_now(now);
	json_t *ll = json_pack("{s:s}", "last_login", now);
	json_decref(
	    store_update(rq->st, STORE_USER, uid, ll, STORE_SYSTEM | STORE_NO_RESULT, &err));
	json_decref(ll);
	api_logf(rq, "User %s logged in (user %ld, session login)",
	         json_string_value(json_object_get(u, "username")), uid);
	json_decref(u);
	json_decref(form);
	return 0;
}

/* GET|POST /api/logout/: end the session of the cookie, if any. */
static int logout(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "POST") && !csrf_ok(rq, rs, NULL))
		return 0;
	const char *cookies = rq->header ? rq->header(rq, "Cookie") : NULL;
	char id[API_TOKEN_HEX];
	if (cookies && api_cookie_get(cookies, API_SESSION_COOKIE, id, sizeof id)) {
		long uid = 0;
		unsigned char stamp[32];
		if (api_session_find(rq->sessions, id, NULL, &uid, stamp, NULL))
			api_logf(rq, "User %ld logged out.", uid);
		api_session_end(rq->sessions, id);
		sodium_memzero(id, sizeof id);
	}
	set_cookie(rs, API_SESSION_COOKIE, "", 0, true);
	api_add_header(rs, "Set-Cookie", "userLoggedIn=false; Path=/; SameSite=Lax");
	api_add_header(rs, "Location", safe_next(api_arg(rq, "next")));
	rs->status = 302;
	rs->text = rn_xstrdup("");
	rs->text_len = 0;
	return 0;
}

const api_route api_routes_login[] = {
    {"/api/login/", login_get, login_post, NULL, NULL, NULL, true},
    {"/api/logout/", logout, logout, NULL, NULL, NULL, true},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};

/* True for the routes above. */
bool api_route_takes_form(const api_route *route)
{
	for (const api_route *r = api_routes_login; r->pattern; r++)
		if (r == route)
			return true;
	return false;
}
