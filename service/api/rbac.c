/*
 * rbac.c - roles and teams: roles/, roles/N/, roles/N/users|teams/,
 * users/N/roles|teams/, teams/, teams/N/, teams/N/users|roles/,
 * organizations/N/users|admins|teams/ (AWX 21.14.0's awx/api/views). Who
 * may give a role is access.c's (access_can_attach); roles themselves are
 * store/roles.h's.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "roles.h"

/* The shape of a role (AWX's RoleSerializer), or NULL if id is no role
 * or its object is gone. */
static json_t *role_object(api_request *rq, long id)
{
	store_kind kind;
	long obj;
	const char *field;
	if (!roles_decode(id, &kind, &obj, &field))
		return NULL;
	char url[96], desc[160];
	snprintf(url, sizeof url, "/api/v2/roles/%ld/", id);
	roles_description(kind, field, desc, sizeof desc);
	json_t *related = json_object();
	json_object_set_new(related, "users", json_sprintf("%susers/", url));
	json_object_set_new(related, "teams", json_sprintf("%steams/", url));
	json_t *sf = json_object();
	if (kind != STORE_KIND_COUNT) {
		runnel_error err = {0};
		json_t *o = store_get(rq->st, kind, obj, &err);
		if (!o) {
			json_decref(related);
			json_decref(sf);
			return NULL;
		}
		char title[64];
		snprintf(title, sizeof title, "%s", store_kind_type(kind));
		for (char *c = title; *c; c++) {
			if (*c == '_')
				*c = ' ';
			if (c == title || c[-1] == ' ')
				*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
		}
		json_object_set_new(related, store_kind_type(kind),
		                    json_sprintf("/api/v2/%s/%ld/", store_kind_plural(kind), obj));
		json_t *name = json_object_get(o, kind == STORE_USER ? "username" : "name");
		json_object_set_new(sf, "resource_name",
		                    json_incref(name ? name : json_string("")));
		json_object_set_new(sf, "resource_type", json_string(store_kind_type(kind)));
		json_object_set_new(sf, "resource_type_display_name", json_string(title));
		json_object_set_new(sf, "resource_id", json_integer(obj));
		json_decref(o);
	}
	return json_pack("{s:I,s:s,s:s,s:o,s:o,s:s,s:s}", "id", (json_int_t)id, "type", "role",
	                 "url", url, "related", related, "summary_fields", sf, "name",
	                 roles_name(field), "description", desc);
}

/* True if the caller may see role id (Role.visible_roles: its object is
 * one the caller reads; system roles: everyone). */
static bool role_visible(api_request *rq, long id)
{
	store_kind kind;
	long obj;
	const char *field;
	if (!roles_decode(id, &kind, &obj, &field))
		return false;
	if (kind == STORE_KIND_COUNT)
		return true;
	runnel_error err = {0};
	json_t *o = store_get(rq->st, kind, obj, &err);
	bool ok = o && access_can(rq, kind, o, ACCESS_READ, NULL);
	json_decref(o);
	return ok;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

/* Answer a page of the roles ids (n of them, sorted here). */
static int roles_page(api_request *rq, api_response *rs, long *ids, size_t n)
{
	bool ok;
	long page = api_arg_long(rq, rs, "page", 1, &ok);
	if (!ok)
		return 0;
	long size = api_arg_long(rq, rs, "page_size", 25, &ok);
	if (!ok)
		return 0;
	if (size < 1)
		size = 25;
	if (size > 200)
		size = 200;
	if (page < 1 || (page > 1 && (size_t)((page - 1) * size) >= n))
		return api_detail(rs, 404, "Invalid page.");
	qsort(ids, n, sizeof *ids, cmp_long);
	const char *field = api_arg(rq, "role_field");
	json_t *results = json_array();
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		store_kind k;
		long o;
		const char *f;
		if (field && roles_decode(ids[i], &k, &o, &f) && strcmp(f, field))
			continue;
		if (count >= (size_t)((page - 1) * size) && count < (size_t)(page * size)) {
			json_t *r = role_object(rq, ids[i]);
			if (r)
				json_array_append_new(results, r);
		}
		count++;
	}
	char base[256];
	snprintf(base, sizeof base, "%s?page=", rq->path);
	return api_json(
	    rs, 200,
	    json_pack("{s:I,s:o,s:o,s:o}", "count", (json_int_t)count, "next",
	              (size_t)(page * size) < count ? json_sprintf("%s%ld", base, page + 1)
	                                            : json_null(),
	              "previous", page > 1 ? json_sprintf("%s%ld", base, page - 1) : json_null(),
	              "results", results));
}

/* GET /api/v2/roles/: the roles of every object the caller reads (RoleList). */
static int roles_list(api_request *rq, api_response *rs)
{
	static const store_kind kinds[] = {STORE_ORGANIZATION, STORE_TEAM,
	                                   STORE_INVENTORY,    STORE_PROJECT,
	                                   STORE_CREDENTIAL,   STORE_JOB_TEMPLATE};
	size_t n = 0, cap = 64;
	long *ids = malloc(cap * sizeof *ids);
	ids[n++] = ROLES_SYSTEM_ADMINISTRATOR;
	ids[n++] = ROLES_SYSTEM_AUDITOR;
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		json_t *objs = json_array();
		runnel_error err = {0};
		if (access_readable_ids(rq, kinds[k], objs, &err) < 0) {
			json_decref(objs);
			free(ids);
			return api_error(rs, &err);
		}
		const char *const *fields = roles_fields(kinds[k]);
		size_t i;
		json_t *v;
		json_array_foreach(objs, i, v) {
			for (int f = 0; fields[f]; f++) {
				if (n == cap)
					ids = realloc(ids, (cap *= 2) * sizeof *ids);
				ids[n++] =
				    roles_id(kinds[k], (long)json_integer_value(v), fields[f]);
			}
		}
		json_decref(objs);
	}
	int rc = roles_page(rq, rs, ids, n);
	free(ids);
	return rc;
}

/* GET /api/v2/roles/N/. */
static int role_one(api_request *rq, api_response *rs)
{
	json_t *r = role_object(rq, rq->ids[0]);
	if (!r)
		return api_detail(rs, 404, "Not found.");
	if (!role_visible(rq, rq->ids[0])) {
		json_decref(r);
		return api_detail(rs, 403, "You do not have permission to perform this action.");
	}
	return api_json(rs, 200, r);
}

/* Give or take role to a user (team false) or a team: the body's
 * {"id": N[, "disassociate": true]} names the other side when other is 0. */
static int role_member(api_request *rq, api_response *rs, long role, bool team, long member,
                       bool detach)
{
	store_kind kind = team ? STORE_TEAM : STORE_USER;
	runnel_error err = {0};
	json_t *sub = store_get(rq->st, kind, member, &err);
	if (!sub)
		return api_field_error(rs, "id", "Invalid pk \"%ld\" - object does not exist.",
		                       member);
	bool ok = access_can_attach(rq, rs, role, team, sub, detach);
	json_decref(sub);
	if (!ok)
		return 0;
	store_rel rel = team ? STORE_REL_ROLE_TEAMS : STORE_REL_ROLE_USERS;
	pthread_mutex_lock(rq->write_mu);
	int rc = detach ? store_disassociate(rq->st, rel, role, member, &err)
	                : store_associate(rq->st, rel, role, member, &err);
	pthread_mutex_unlock(rq->write_mu);
	if (rc < 0)
		return api_error(rs, &err);
	api_logf(rq, "role %ld %s %s %ld by user %ld", role, detach ? "taken from" : "given to",
	         team ? "team" : "user", member, rq->user_id);
	rs->status = 204;
	return 0;
}

/* The {"id": N, "disassociate": bool} of an association body; false with
 * the 400 in rs. */
static bool association(api_request *rq, api_response *rs, long *id, bool *detach)
{
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return false;
	static const char *const allowed[] = {"id", "disassociate", NULL};
	json_t *v = json_object_get(body, "id");
	json_t *dis = json_object_get(body, "disassociate");
	bool ok = api_body_only(body, allowed, rs);
	if (ok && !json_is_integer(v)) {
		api_field_error(rs, "id", "A valid integer is required.");
		ok = false;
	}
	if (ok && dis && !json_is_boolean(dis) && !json_is_integer(dis)) {
		api_field_error(rs, "disassociate", "Must be a valid boolean.");
		ok = false;
	}
	*id = (long)json_integer_value(v);
	*detach = dis && (json_is_true(dis) || (json_is_integer(dis) && json_integer_value(dis)));
	json_decref(body);
	return ok;
}

/* List the users (team false) or teams who hold role directly. */
static int role_holders(api_request *rq, api_response *rs, long role, bool team)
{
	runnel_error err = {0};
	json_t *ids = store_related_ids(rq->st, team ? STORE_REL_ROLE_TEAMS : STORE_REL_ROLE_USERS,
	                                role, false, &err);
	if (!ids)
		return api_error(rs, &err);
	if (role == ROLES_SYSTEM_ADMINISTRATOR || role == ROLES_SYSTEM_AUDITOR) {
		json_decref(ids);
		json_t *f = json_pack(
		    "{s:b}",
		    role == ROLES_SYSTEM_ADMINISTRATOR ? "is_superuser" : "is_system_auditor", 1);
		api_list_opts o = {.filters = f};
		int rc = team ? api_json(rs, 200,
		                         json_pack("{s:i,s:n,s:n,s:[]}", "count", 0, "next",
		                                   "previous", "results"))
		              : api_list(rq, rs, STORE_USER, &o);
		json_decref(f);
		return rc;
	}
	json_t *f = json_pack("{s:o}", "id__in", ids);
	api_list_opts o = {.filters = f};
	api_list(rq, rs, team ? STORE_TEAM : STORE_USER, &o);
	json_decref(f);
	return 0;
}

/* The role of the route (roles/N/...): 404 when it is none, 403 when the
 * caller may not see it. */
static bool route_role(api_request *rq, api_response *rs)
{
	json_t *r = role_object(rq, rq->ids[0]);
	if (!r) {
		api_detail(rs, 404, "Not found.");
		return false;
	}
	json_decref(r);
	if (!role_visible(rq, rq->ids[0])) {
		api_detail(rs, 403, "You do not have permission to perform this action.");
		return false;
	}
	return true;
}

/* GET/POST /api/v2/roles/N/users/ (RoleUsersList). */
static int role_users(api_request *rq, api_response *rs)
{
	if (!route_role(rq, rs))
		return 0;
	if (!strcmp(rq->method, "GET"))
		return role_holders(rq, rs, rq->ids[0], false);
	long id;
	bool detach;
	if (!association(rq, rs, &id, &detach))
		return 0;
	return role_member(rq, rs, rq->ids[0], false, id, detach);
}

/* GET/POST /api/v2/roles/N/teams/ (RoleTeamsList). */
static int role_teams(api_request *rq, api_response *rs)
{
	if (!route_role(rq, rs))
		return 0;
	if (!strcmp(rq->method, "GET"))
		return role_holders(rq, rs, rq->ids[0], true);
	long id;
	bool detach;
	if (!association(rq, rs, &id, &detach))
		return 0;
	return role_member(rq, rs, rq->ids[0], true, id, detach);
}

/* The object of the route (kind, ids[0]): 404 or 403 when the caller may
 * not read it. */
static json_t *route_object(api_request *rq, api_response *rs, store_kind kind)
{
	runnel_error err = {0};
	json_t *o = store_get(rq->st, kind, rq->ids[0], &err);
	if (!o) {
		api_error(rs, &err);
		return NULL;
	}
	if (!access_can(rq, kind, o, ACCESS_READ, NULL)) {
		json_decref(o);
		api_detail(rs, 403, "You do not have permission to perform this action.");
		return NULL;
	}
	return o;
}

/* The roles given to a user (team false) or team, as roles_page wants. */
static int member_roles(api_request *rq, api_response *rs, bool team)
{
	json_t *o = route_object(rq, rs, team ? STORE_TEAM : STORE_USER);
	if (!o)
		return 0;
	if (strcmp(rq->method, "GET")) {
		json_decref(o);
		long id;
		bool detach;
		if (!association(rq, rs, &id, &detach))
			return 0;
		/* UserRolesList / TeamRolesList.post: the role is the body's */
		json_t *r = role_object(rq, id);
		if (!r)
			return api_field_error(rs, "id",
			                       "Invalid pk \"%ld\" - object does not exist.", id);
		json_decref(r);
		return role_member(rq, rs, id, team, rq->ids[0], detach);
	}
	runnel_error err = {0};
	json_t *rel = store_related_ids(rq->st, team ? STORE_REL_ROLE_TEAMS : STORE_REL_ROLE_USERS,
	                                rq->ids[0], true, &err);
	if (!rel) {
		json_decref(o);
		return api_error(rs, &err);
	}
	size_t n = 0;
	long *ids = malloc((json_array_size(rel) + 2) * sizeof *ids);
	if (!team && json_is_true(json_object_get(o, "is_superuser")))
		ids[n++] = ROLES_SYSTEM_ADMINISTRATOR;
	if (!team && json_is_true(json_object_get(o, "is_system_auditor")))
		ids[n++] = ROLES_SYSTEM_AUDITOR;
	json_decref(o);
	size_t i;
	json_t *v;
	json_array_foreach(rel, i, v) {
		long id = (long)json_integer_value(v);
		if (role_visible(rq, id))
			ids[n++] = id;
	}
	json_decref(rel);
	int rc = roles_page(rq, rs, ids, n);
	free(ids);
	return rc;
}

static int user_roles(api_request *rq, api_response *rs)
{
	return member_roles(rq, rs, false);
}

static int team_roles(api_request *rq, api_response *rs)
{
	return member_roles(rq, rs, true);
}

/* GET /api/v2/users/N/teams/: the teams the user is a member of. */
static int user_teams(api_request *rq, api_response *rs)
{
	json_t *o = route_object(rq, rs, STORE_USER);
	if (!o)
		return 0;
	json_decref(o);
	runnel_error err = {0};
	json_t *rel = store_related_ids(rq->st, STORE_REL_ROLE_USERS, rq->ids[0], true, &err);
	if (!rel)
		return api_error(rs, &err);
	json_t *teams = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(rel, i, v) {
		store_kind k;
		long obj;
		const char *f;
		if (roles_decode((long)json_integer_value(v), &k, &obj, &f) && k == STORE_TEAM &&
		    !strcmp(f, "member_role"))
			json_array_append_new(teams, json_integer(obj));
	}
	json_decref(rel);
	json_t *f = json_pack("{s:o}", "id__in", teams);
	api_list_opts lo = {.filters = f};
	api_list(rq, rs, STORE_TEAM, &lo);
	json_decref(f);
	return 0;
}

/* GET/POST /api/v2/teams/. */
static int teams(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_list(rq, rs, STORE_TEAM, NULL);
	return api_create(rq, rs, STORE_TEAM, NULL, NULL);
}

/* GET/PUT/PATCH/DELETE /api/v2/teams/N/. */
static int team_one(api_request *rq, api_response *rs)
{
	if (!strcmp(rq->method, "GET"))
		return api_get(rq, rs, STORE_TEAM, rq->ids[0], NULL);
	if (!strcmp(rq->method, "DELETE"))
		return api_delete(rq, rs, STORE_TEAM, rq->ids[0]);
	return api_update(rq, rs, STORE_TEAM, rq->ids[0]);
}

/* GET/POST the holders of one role of the route's object (kind): a team's
 * users (member_role), an organization's users (member_role) or admins
 * (admin_role). A POST without "id" creates a user and gives it the role
 * (AWX's SubListCreateAttachDetachAPIView). */
static int object_role_users(api_request *rq, api_response *rs, store_kind kind, const char *field)
{
	json_t *o = route_object(rq, rs, kind);
	if (!o)
		return 0;
	json_decref(o);
	long role = roles_id(kind, rq->ids[0], field);
	if (!strcmp(rq->method, "GET"))
		return role_holders(rq, rs, role, false);
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	bool create = !json_object_get(body, "id");
	json_decref(body);
	if (create) {
		if (!access_can_add(rq, STORE_USER, rq->body))
			return api_detail(rs, 403,
			                  "You do not have permission to perform this action.");
		long uid = 0;
		api_create(rq, rs, STORE_USER, NULL, &uid);
		runnel_error err = {0};
		if (uid && store_associate(rq->st, STORE_REL_ROLE_USERS, role, uid, &err) < 0)
			return api_error(rs, &err);
		return 0;
	}
	long id;
	bool detach;
	if (!association(rq, rs, &id, &detach))
		return 0;
	return role_member(rq, rs, role, false, id, detach);
}

static int team_users(api_request *rq, api_response *rs)
{
	return object_role_users(rq, rs, STORE_TEAM, "member_role");
}

static int org_users(api_request *rq, api_response *rs)
{
	return object_role_users(rq, rs, STORE_ORGANIZATION, "member_role");
}

static int org_admins(api_request *rq, api_response *rs)
{
	return object_role_users(rq, rs, STORE_ORGANIZATION, "admin_role");
}

/* GET/POST /api/v2/organizations/N/teams/: its teams; a POST creates one in it. */
static int org_teams(api_request *rq, api_response *rs)
{
	json_t *o = route_object(rq, rs, STORE_ORGANIZATION);
	if (!o)
		return 0;
	json_decref(o);
	json_t *f = json_pack("{s:I}", "organization", (json_int_t)rq->ids[0]);
	if (!strcmp(rq->method, "GET")) {
		api_list_opts lo = {.filters = f};
		api_list(rq, rs, STORE_TEAM, &lo);
	} else {
		api_create(rq, rs, STORE_TEAM, f, NULL);
	}
	json_decref(f);
	return 0;
}

const api_route api_routes_rbac[] = {
    {"/api/v2/roles/", roles_list, NULL, NULL, NULL, NULL, false},
    {"/api/v2/roles/{id}/", role_one, NULL, NULL, NULL, NULL, false},
    {"/api/v2/roles/{id}/users/", role_users, role_users, NULL, NULL, NULL, false},
    {"/api/v2/roles/{id}/teams/", role_teams, role_teams, NULL, NULL, NULL, false},
    {"/api/v2/users/{id}/roles/", user_roles, user_roles, NULL, NULL, NULL, false},
    {"/api/v2/users/{id}/teams/", user_teams, NULL, NULL, NULL, NULL, false},
    {"/api/v2/teams/", teams, teams, NULL, NULL, NULL, false},
    {"/api/v2/teams/{id}/", team_one, NULL, team_one, team_one, team_one, false},
    {"/api/v2/teams/{id}/users/", team_users, team_users, NULL, NULL, NULL, false},
    {"/api/v2/teams/{id}/roles/", team_roles, team_roles, NULL, NULL, NULL, false},
    {"/api/v2/organizations/{id}/users/", org_users, org_users, NULL, NULL, NULL, false},
    {"/api/v2/organizations/{id}/admins/", org_admins, org_admins, NULL, NULL, NULL, false},
    {"/api/v2/organizations/{id}/teams/", org_teams, org_teams, NULL, NULL, NULL, false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
