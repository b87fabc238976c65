/*
 * field_rules.c - the rules of the fields that reach a path or a command
 * line (see field_rules.h). AWX's references: awx/main/utils/common.py
 * update_scm_url (URLs), awx/main/models/projects.py (local_path under
 * PROJECTS_ROOT), git's check-ref-format (branches and refspecs).
 */
#include "field_rules.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* True for an ASCII control character (and DEL). */
static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* The first control character or brace of s, or NULL. */
static const char *bad_char(const char *s)
{
	for (const char *p = s; *p; p++)
		if (is_control((unsigned char)*p) || *p == '{' || *p == '}')
			return p;
	return NULL;
}

/* Say what is wrong with the character at p, for an error message. */
static int fail_char(runnel_error *err, const char *field, const char *p)
{
	if (*p == '{' || *p == '}')
		return rn_fail(err, EINVAL,
		               "%s: braces are not allowed (ansible would template them).", field);
	return rn_fail(err, EINVAL, "%s: control characters (newlines, tabs, ...) are not allowed.",
	               field);
}

int rules_local_path(const char *field, const char *v, runnel_error *err)
{
	if (!*v)
		return 0;
	const char *p = bad_char(v);
	if (p)
		return fail_char(err, field, p);
	if (strchr(v, '/'))
		return rn_fail(err, EINVAL,
		               "%s: must be the name of one directory under the projects root "
		               "(PROJECTS_ROOT), "
		               "not a path.",
		               field);
	if (v[0] == '.' || v[0] == '-')
		return rn_fail(err, EINVAL, "%s: a directory name may not start with '%c'.", field,
		               v[0]);
	if (strlen(v) > 255)
		return rn_fail(err, EINVAL, "%s: at most 255 bytes.", field);
	return 0;
}

/* True for the characters a URL may hold (RFC 3986 unreserved, reserved, '%'). */
static bool is_url_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	/* no quote: the git module splits some of its command lines with shlex */
	return c && strchr("-._~:/?#[]@!$&()*+,;=%", c) != NULL;
}

/* Check "[user@]host[:port]" (authority of a URL; port only if with_port).
 * host may be a bracketed IPv6 address. */
static int check_authority(const char *field, const char *a, size_t n, bool with_port,
                           runnel_error *err)
{
	const char *end = a + n;
	const char *at = NULL;
	for (const char *p = a; p < end; p++)
		if (*p == '@')
			at = p;
	if (at) {
		if (at == a || a[0] == '-')
			return rn_fail(err, EINVAL,
			               "%s: Invalid git URL (the user name may not be empty or "
			               "start with '-').",
			               field);
		a = at + 1;
	}
	if (a == end)
		return rn_fail(err, EINVAL, "%s: Host is required for this git URL.", field);
	if (*a == '-')
		return rn_fail(err, EINVAL,
		               "%s: Invalid git URL (the host may not start with '-').", field);
	const char *host_end;
	if (*a == '[') {
		host_end = memchr(a, ']', (size_t)(end - a));
		if (!host_end || host_end == a + 1)
			return rn_fail(err, EINVAL, "%s: Invalid git URL (unclosed IPv6 address).",
			               field);
		for (const char *p = a + 1; p < host_end; p++)
			if (!strchr("0123456789abcdefABCDEF:.", *p))
				return rn_fail(err, EINVAL,
				               "%s: Invalid git URL (bad IPv6 address).", field);
		host_end++;
	} else {
		host_end = memchr(a, ':', (size_t)(end - a));
		if (!host_end)
			host_end = end;
		if (host_end == a)
			return rn_fail(err, EINVAL, "%s: Host is required for this git URL.",
			               field);
		for (const char *p = a; p < host_end; p++)
			if (strchr("[]", *p))
				return rn_fail(err, EINVAL, "%s: Invalid git URL (bad host).",
				               field);
	}
	if (host_end == end)
		return 0;
	if (*host_end != ':' || !with_port)
		return rn_fail(err, EINVAL, "%s: Invalid git URL (bad host).", field);
	const char *port = host_end + 1;
	long value = 0;
	if (port == end)
		return rn_fail(err, EINVAL, "%s: Invalid git URL (empty port).", field);
	for (const char *p = port; p < end; p++) {
		if (*p < '0' || *p > '9' || p - port > 5)
			return rn_fail(err, EINVAL, "%s: Invalid git URL (bad port).", field);
		value = value * 10 + (*p - '0');
	}
	if (value < 1 || value > 65535)
		return rn_fail(err, EINVAL, "%s: Invalid git URL (bad port).", field);
	return 0;
}

int rules_scm_url(const char *field, const char *v, runnel_error *err)
{
	if (!*v)
		return 0;
	if (strlen(v) > 1024)
		return rn_fail(err, EINVAL, "%s: at most 1024 bytes.", field);
	if (v[0] == '-')
		return rn_fail(err, EINVAL, "%s: Invalid git URL (it may not start with '-').",
		               field);
	for (const char *p = v; *p; p++) {
		if (is_control((unsigned char)*p) || *p == ' ')
			return rn_fail(
			    err, EINVAL,
			    "%s: Invalid git URL: spaces and control characters are not allowed.",
			    field);
		if (!is_url_char((unsigned char)*p))
			return rn_fail(err, EINVAL,
			               "%s: Invalid git URL: the character '%c' is not allowed "
			               "(percent-encode it).",
			               field, *p);
	}
	const char *sep = strstr(v, "://");
	if (sep) {
		static const char *const schemes[] = {"ssh", "git",  "http", "https",
		                                      "ftp", "ftps", "file", NULL};
		size_t sn = (size_t)(sep - v);
		bool known = false;
		for (int i = 0; schemes[i]; i++)
			if (strlen(schemes[i]) == sn && !strncmp(v, schemes[i], sn))
				known = true;
		if (!known)
			return rn_fail(err, EINVAL,
			               "%s: Unsupported git URL (schemes: ssh, git, http, https, "
			               "ftp, ftps, file).",
			               field);
		const char *auth = sep + 3;
		size_t an = strcspn(auth, "/?#");
		const char *path = auth + an;
		if (sn == 4 && !strncmp(v, "file", 4)) {
			if (an && !(an == 9 && !strncmp(auth, "localhost", 9)))
				return rn_fail(err, EINVAL,
				               "%s: Unsupported host \"%.*s\" for file:// URL.",
				               field, (int)an, auth);
			if (*path != '/' || !path[1])
				return rn_fail(err, EINVAL,
				               "%s: A file:// URL needs an absolute path.", field);
			return 0;
		}
		return check_authority(field, auth, an, true, err);
	}
	if (v[0] == '/')
		return 0; /* a local path (AWX reads it as file://) */
	const char *colon = NULL;
	const char *at = strchr(v, '@');
	const char *host = at ? at + 1 : v;
	if (*host != '[' && strstr(v, "::"))
		return rn_fail(
		    err, EINVAL,
		    "%s: Unsupported git URL (transport::address forms are not allowed).", field);
	if (*host == '[') {
		const char *close = strstr(host, "]:");
		if (close)
			colon = close + 1;
	} else {
		colon = strchr(host, ':');
	}
	if (!colon)
		return rn_fail(err, EINVAL,
		               "%s: Invalid git URL (a URL with a scheme, [user@]host:path, or an "
		               "absolute path).",
		               field);
	if (*host != '[' && strchr(colon + 1, ':'))
		return rn_fail(err, EINVAL, "%s: Invalid git URL.", field);
	if (!colon[1])
		return rn_fail(err, EINVAL, "%s: Invalid git URL (no path after the host).", field);
	if (strchr(v, '/') && strchr(v, '/') < colon)
		return rn_fail(err, EINVAL,
		               "%s: Invalid git URL (a URL with a scheme, [user@]host:path, or an "
		               "absolute path).",
		               field);
	return check_authority(field, v, (size_t)(colon - v), false, err);
}

/* Check one ref name (component rules of git check-ref-format, and no
 * quote: the git module splits some of its command lines with shlex); star:
 * one '*' allowed (refspec patterns). what names the part in messages. */
static int check_ref(const char *field, const char *what, const char *v, size_t n, bool star,
                     runnel_error *err)
{
	if (!n)
		return rn_fail(err, EINVAL, "%s: the %s may not be empty.", field, what);
	if (v[0] == '-')
		return rn_fail(err, EINVAL, "%s: the %s may not start with '-'.", field, what);
	if (v[0] == '/' || v[n - 1] == '/' || v[n - 1] == '.')
		return rn_fail(err, EINVAL,
		               "%s: the %s may not start with '/' or end with '/' or '.'.", field,
		               what);
	if (n == 1 && v[0] == '@')
		return rn_fail(err, EINVAL, "%s: the %s may not be \"@\".", field, what);
	int stars = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (is_control(c) || c == ' ')
			return rn_fail(
			    err, EINVAL,
			    "%s: spaces and control characters (newlines, ...) are not allowed.",
			    field);
		if (c == '{' || c == '}')
			return rn_fail(err, EINVAL,
			               "%s: braces are not allowed (ansible would template them).",
			               field);
		if (c == '*' && star && ++stars == 1)
			continue;
		if (strchr("~^:?*[\\'\"", c))
			return rn_fail(err, EINVAL,
			               "%s: the character '%c' is not allowed in a git ref name.",
			               field, c);
		if (c == '.' && i + 1 < n && v[i + 1] == '.')
			return rn_fail(err, EINVAL, "%s: \"..\" is not allowed in a git ref name.",
			               field);
		if (c == '@' && i + 1 < n && v[i + 1] == '{')
			return rn_fail(err, EINVAL, "%s: \"@{\" is not allowed in a git ref name.",
			               field);
		if (c == '/' && i + 1 < n && v[i + 1] == '/')
			return rn_fail(err, EINVAL, "%s: \"//\" is not allowed in a git ref name.",
			               field);
		bool comp_start = i == 0 || v[i - 1] == '/';
		if (comp_start && c == '.')
			return rn_fail(err, EINVAL,
			               "%s: a component of a git ref name may not start with '.'.",
			               field);
		size_t comp_end = i + 1 == n || v[i + 1] == '/' ? i + 1 : 0;
		if (comp_end && comp_end >= 5 && !strncmp(v + comp_end - 5, ".lock", 5))
			return rn_fail(
			    err, EINVAL,
			    "%s: a component of a git ref name may not end with \".lock\".", field);
	}
	return 0;
}

int rules_git_ref(const char *field, const char *v, runnel_error *err)
{
	if (!*v)
		return 0;
	if (strlen(v) > 256)
		return rn_fail(err, EINVAL, "%s: at most 256 bytes.", field);
	return check_ref(field, "branch", v, strlen(v), false, err);
}

int rules_git_refspec(const char *field, const char *v, runnel_error *err)
{
	if (!*v)
		return 0;
	if (strlen(v) > 1024)
		return rn_fail(err, EINVAL, "%s: at most 1024 bytes.", field);
	const char *src = v[0] == '+' ? v + 1 : v;
	const char *colon = strchr(src, ':');
	size_t sn = colon ? (size_t)(colon - src) : strlen(src);
	if (check_ref(field, "source of the refspec", src, sn, true, err) < 0)
		return -1;
	if (colon && colon[1] &&
	    check_ref(field, "destination of the refspec", colon + 1, strlen(colon + 1), true,
	              err) < 0)
		return -1;
	return 0;
}

int rules_project_file(const char *field, const char *v, runnel_error *err)
{
	if (!*v)
		return 0;
	const char *p = bad_char(v);
	if (p)
		return fail_char(err, field, p);
	if (v[0] == '/')
		return rn_fail(err, EINVAL,
		               "%s: must be a path relative to the project, not an absolute path.",
		               field);
	if (v[0] == '-')
		return rn_fail(err, EINVAL, "%s: may not start with '-'.", field);
	if (strlen(v) > 1024)
		return rn_fail(err, EINVAL, "%s: at most 1024 bytes.", field);
	for (const char *c = v; *c;) {
		size_t n = strcspn(c, "/");
		if ((n == 2 && !strncmp(c, "..", 2)))
			return rn_fail(err, EINVAL, "%s: %s is outside the project (\"..\").",
			               field, v);
		if (n == 1 && c[0] == '.')
			return rn_fail(err, EINVAL, "%s: \".\" components are not allowed.", field);
		c += n;
		while (*c == '/')
			c++;
	}
	return 0;
}

int rules_cli_value(const char *field, const char *v, runnel_error *err)
{
	for (const char *p = v; *p; p++)
		if (is_control((unsigned char)*p))
			return fail_char(err, field, p);
	if (v[0] == '-')
		return rn_fail(err, EINVAL,
		               "%s: may not start with '-' (ansible would read it as an option).",
		               field);
	if (strcmp(field, "limit"))
		return 0;
	/* ansible reads the hosts of a pattern "@path" from a file of the server */
	bool start = true;
	for (const char *p = v; *p; p++) {
		if (start && *p == '@')
			return rn_fail(
			    err, EINVAL,
			    "%s: a pattern may not start with '@' (a file of hosts on the server).",
			    field);
		if (*p == ',' || *p == ':')
			start = true;
		else if (*p != ' ')
			start = false;
	}
	return 0;
}

int rules_scm_type(const char *field, const char *v, runnel_error *err)
{
	if (!*v || !strcmp(v, "git"))
		return 0;
	return rn_fail(err, EINVAL,
	               "%s: \"%s\" is not a valid choice (git, or \"\" for a manual project).",
	               field, v);
}

/* Which rule checks which field (by name: a field means the same on every
 * kind that has it). */
static const struct {
	const char *name;
	int (*check)(const char *field, const char *value, runnel_error *err);
} field_rules[] = {
    {"local_path", rules_local_path},
    {"scm_type", rules_scm_type},
    {"scm_url", rules_scm_url},
    {"scm_branch", rules_git_ref},
    {"scm_refspec", rules_git_refspec},
    {"playbook", rules_project_file},
    {"source_path", rules_project_file},
    {"limit", rules_cli_value},
    {"job_tags", rules_cli_value},
    {"skip_tags", rules_cli_value},
    {NULL, NULL},
};

int rules_vault_id(const char *field, const char *v, runnel_error *err)
{
	const char *p = bad_char(v);
	if (p)
		return fail_char(err, field, p);
	if (strchr(v, '@'))
		return rn_fail(err, EINVAL, "%s: Vault IDs cannot contain @.", field);
	if (v[0] == '-')
		return rn_fail(err, EINVAL, "%s: may not start with '-'.", field);
	return 0;
}

int rules_check_field(store_kind kind, const char *name, const json_t *value, runnel_error *err)
{
	if (kind == STORE_CREDENTIAL && !strcmp(name, "inputs")) {
		const char *vid = json_string_value(json_object_get(value, "vault_id"));
		return vid ? rules_vault_id("inputs: vault_id", vid, err) : 0;
	}
	if (!json_is_string(value))
		return 0;
	for (int i = 0; field_rules[i].name; i++)
		if (!strcmp(field_rules[i].name, name))
			return field_rules[i].check(name, json_string_value(value), err);
	return 0;
}
