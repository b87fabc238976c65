/*
 * access.h - who may do what, in one place: AWX 21.14.0's
 * awx/main/access.py over the roles of store/roles.h.
 *
 * http.c asks access_route() before every handler (the route's object, the
 * method, the body): a refusal is AWX's answer (403, or 404 where AWX
 * hides the object). api_list() narrows every list to what the caller may
 * read (access_list_narrow: the counts too), and every object answered
 * carries summary_fields.object_roles and user_capabilities for the caller
 * (access_decorate). The handlers of roles and teams (rbac.c) ask
 * access_can_attach. Superusers pass everything here; the handlers keep
 * the rules that bind even them (a managed credential type, oneself).
 */
#ifndef RUNNELD_API_ACCESS_H
#define RUNNELD_API_ACCESS_H

#include <stdbool.h>
#include <jansson.h>

#include "api.h"

/* What one may do to an object (AWX's can_read, can_change, ...). */
typedef enum access_action {
	ACCESS_READ = 0,
	ACCESS_CHANGE, /* PUT/PATCH (data: the body) */
	ACCESS_DELETE,
	ACCESS_START, /* launch, update, relaunch */
	ACCESS_CANCEL,
	ACCESS_ADHOC, /* an inventory's ad hoc commands */
	ACCESS_USE,   /* put in a template (use_role) */
	ACCESS_ADMIN, /* the object's admin_role (attach roles of it) */
} access_action;

/* Gate the request to route before its handler: true to go on; false with
 * the refusal in rs. */
bool access_route(api_request *rq, api_response *rs, const api_route *route);
/* True if the caller may do action to obj of kind (data: the body of a
 * change, may be NULL). */
bool access_can(api_request *rq, store_kind kind, const json_t *obj, access_action action,
                const json_t *data);
/* True if the caller may create an object of kind from data. */
bool access_can_add(api_request *rq, store_kind kind, const json_t *data);
/* Narrow a list's filters to what the caller may read (id__in and
 * friends, intersected with the query's own). 0, or -1 with err. */
int access_list_narrow(api_request *rq, store_kind kind, json_t *filters, runnel_error *err);
/* Append the ids of the objects of kind the caller may read to out. 0 or -1. */
int access_readable_ids(api_request *rq, store_kind kind, json_t *out, runnel_error *err);
/* Add summary_fields.object_roles and .user_capabilities to obj (stolen,
 * returned). */
json_t *access_decorate(api_request *rq, store_kind kind, json_t *obj);
/* True for superusers; for superusers or system auditors. */
bool access_superuser(const api_request *rq);
bool access_auditor(const api_request *rq);
/* True if the caller holds role id (directly or by an implicit parent). */
bool access_has_role_id(api_request *rq, long role_id);
/* RoleAccess.can_attach: may the caller give (or take) role id to a user
 * (team false) or a team (the sub object, loaded). false with the answer
 * (400 or 403, AWX's words) in rs. */
bool access_can_attach(api_request *rq, api_response *rs, long role_id, bool team,
                       const json_t *sub, bool detach);
/* The organization of obj of kind (0: none). */
long access_org_of(api_request *rq, store_kind kind, const json_t *obj);
/* Release what the request cached (http.c, once answered). */
void access_request_done(api_request *rq);

#endif
