/*
 * access.c - who may do what (access.h): AWX 21.14.0's awx/main/access.py,
 * each rule commented with the class and method it follows.
 */
#include "access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "roles.h"

#define DENIED "You do not have permission to perform this action."

/* What a request caches: the caller's roles, the organizations of projects
 * and inventories it looked up. */
typedef struct access_cache {
	roles_holder *holder;
	bool failed;
	json_t *orgs;                        /* "<kind>:<id>" -> organization id (0: none) */
	int org_admin, org_admin_or_auditor; /* 0 unknown, 1 no, 2 yes */
} access_cache;

static access_cache *cache_of(api_request *rq)
{
	access_cache *c = rq->access;
	if (!c) {
		c = calloc(1, sizeof *c);
		c->orgs = json_object();
		rq->access = c;
	}
	if (!c->holder && !c->failed && rq->user) {
		runnel_error err = {0};
		c->holder = roles_holder_new(rq->st, rq->user, &err);
		if (!c->holder) {
			c->failed = true;
			api_logf(rq, "roles of user %ld unreadable: %s", rq->user_id, err.message);
		}
	}
	return c;
}

void access_request_done(api_request *rq)
{
	access_cache *c = rq->access;
	if (!c)
		return;
	roles_holder_free(c->holder);
	json_decref(c->orgs);
	free(c);
	rq->access = NULL;
}

bool access_superuser(const api_request *rq)
{
	return json_is_true(json_object_get(rq->user, "is_superuser"));
}

bool access_auditor(const api_request *rq)
{
	return access_superuser(rq) || json_is_true(json_object_get(rq->user, "is_system_auditor"));
}

static long id_of(const json_t *o)
{
	return (long)json_integer_value(json_object_get(o, "id"));
}

static long fk_of(const json_t *o, const char *field)
{
	return (long)json_integer_value(json_object_get(o, field));
}

/* An object, or NULL. */
static json_t *load(api_request *rq, store_kind kind, long id)
{
	if (id <= 0)
		return NULL;
	runnel_error err = {0};
	return store_get(rq->st, kind, id, &err);
}

/* The organization of kind's object id, through the cache (0: none). */
static long org_of_id(api_request *rq, store_kind kind, long id)
{
	if (id <= 0)
		return 0;
	access_cache *c = cache_of(rq);
	char key[48];
	snprintf(key, sizeof key, "%d:%ld", (int)kind, id);
	json_t *v = json_object_get(c->orgs, key);
	if (v)
		return (long)json_integer_value(v);
	json_t *o = load(rq, kind, id);
	long org = o ? access_org_of(rq, kind, o) : 0;
	json_decref(o);
	json_object_set_new(c->orgs, key, json_integer(org));
	return org;
}

long access_org_of(api_request *rq, store_kind kind, const json_t *obj)
{
	switch (kind) {
	case STORE_ORGANIZATION:
		return id_of(obj);
	case STORE_TEAM:
	case STORE_INVENTORY:
	case STORE_PROJECT:
	case STORE_CREDENTIAL:
		return fk_of(obj, "organization");
	case STORE_JOB_TEMPLATE: /* AWX 21: a template's organization is its project's */
		return org_of_id(rq, STORE_PROJECT, fk_of(obj, "project"));
	case STORE_HOST:
	case STORE_GROUP:
	case STORE_INVENTORY_SOURCE:
		return org_of_id(rq, STORE_INVENTORY, fk_of(obj, "inventory"));
	/* workflows: a template's own organization; nodes and workflow jobs
	 * have their template's */
	case STORE_WORKFLOW_JOB_TEMPLATE:
		return fk_of(obj, "organization");
	case STORE_WORKFLOW_JOB_TEMPLATE_NODE:
		return org_of_id(rq, STORE_WORKFLOW_JOB_TEMPLATE,
		                 fk_of(obj, "workflow_job_template"));
	case STORE_WORKFLOW_JOB_NODE:
		return org_of_id(rq, STORE_WORKFLOW_JOB, fk_of(obj, "workflow_job"));
	default:
		break;
	}
	if (model_is_job_kind(kind) && fk_of(obj, "workflow_job_template"))
		return org_of_id(rq, STORE_WORKFLOW_JOB_TEMPLATE,
		                 fk_of(obj, "workflow_job_template"));
	if (model_is_job_kind(kind)) {
		/* a job's organization (UnifiedJob.organization): its template's,
		 * its project's, or its inventory's */
		long jt = fk_of(obj, "job_template");
		if (jt)
			return org_of_id(rq, STORE_JOB_TEMPLATE, jt);
		if (fk_of(obj, "project"))
			return org_of_id(rq, STORE_PROJECT, fk_of(obj, "project"));
		return org_of_id(rq, STORE_INVENTORY, fk_of(obj, "inventory"));
	}
	return 0;
}

/* True if the caller holds field on obj of kind. */
static bool has(api_request *rq, store_kind kind, const json_t *obj, const char *field)
{
	if (access_superuser(rq))
		return true;
	if (!obj)
		return false;
	access_cache *c = cache_of(rq);
	return roles_holder_has(c->holder, kind, id_of(obj), access_org_of(rq, kind, obj), field);
}

/* True if the caller holds field on kind's object id (false when it is gone). */
static bool has_id(api_request *rq, store_kind kind, long id, const char *field)
{
	if (access_superuser(rq))
		return true;
	json_t *o = load(rq, kind, id);
	bool ok = has(rq, kind, o, field);
	json_decref(o);
	return ok;
}

bool access_has_role_id(api_request *rq, long role_id)
{
	if (access_superuser(rq))
		return true;
	store_kind kind;
	long obj;
	const char *field;
	if (!roles_decode(role_id, &kind, &obj, &field))
		return false;
	if (kind == STORE_KIND_COUNT)
		return role_id == ROLES_SYSTEM_AUDITOR && access_auditor(rq);
	return has_id(rq, kind, obj, field);
}

/* An fk of data as an id: absent or null 0; -1 when it is no integer. */
static long data_fk(const json_t *data, const char *field)
{
	json_t *v = json_object_get(data, field);
	if (!v || json_is_null(v) || (json_is_string(v) && !*json_string_value(v)))
		return 0;
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_string(v)) {
		char *end;
		long n = strtol(json_string_value(v), &end, 10);
		return *end ? -1 : n;
	}
	return -1;
}

/* BaseAccess.check_related: when data names field (a new value for it,
 * different from obj's), the caller must hold role on what it names.
 * mandatory: a create without it is refused. */
static bool check_related(api_request *rq, const json_t *data, const json_t *obj, const char *field,
                          store_kind kind, const char *role, bool mandatory)
{
	long cur = obj ? fk_of(obj, field) : 0;
	bool given = data && json_object_get(data, field);
	long want = given ? data_fk(data, field) : cur;
	if (want < 0)
		return true; /* not an id: the store answers 400 */
	if (!want)
		return !mandatory || (obj && !given);
	if (obj && want == cur)
		return true;
	return has_id(rq, kind, want, role);
}

/* The organizations the caller is admin or auditor of exist (AWX's
 * user.admin_of_organizations / auditor_of_organizations, which
 * ORG_ADMINS_CAN_SEE_ALL_USERS opens all users and teams to). */
static bool scan_orgs(api_request *rq, bool admin_only);
static bool admin_or_auditor_of_any_org(api_request *rq, bool admin_only)
{
	if (access_superuser(rq))
		return true;
	access_cache *c = cache_of(rq);
	int *known = admin_only ? &c->org_admin : &c->org_admin_or_auditor;
	if (!*known)
		*known = scan_orgs(rq, admin_only) ? 2 : 1;
	return *known == 2;
}

/* admin_or_auditor_of_any_org, uncached. */
static bool scan_orgs(api_request *rq, bool admin_only)
{
	for (long page = 1;; page++) {
		store_query q = {.page = page, .page_size = 200};
		store_page out = {0};
		runnel_error err = {0};
		if (store_list(rq->st, STORE_ORGANIZATION, &q, &out, &err) < 0)
			return false;
		size_t i;
		json_t *o;
		bool found = false;
		json_array_foreach(out.results, i, o) {
			if (has(rq, STORE_ORGANIZATION, o, "admin_role") ||
			    (!admin_only && has(rq, STORE_ORGANIZATION, o, "auditor_role")))
				found = true;
		}
		long count = out.count;
		store_page_clear(&out);
		if (found)
			return true;
		if (page * 200 >= count)
			return false;
	}
}

/* The organizations a user is in (a direct member or admin). A new array. */
static json_t *user_orgs(api_request *rq, long uid)
{
	json_t *out = json_array();
	runnel_error err = {0};
	json_t *roles = store_related_ids(rq->st, STORE_REL_ROLE_USERS, uid, true, &err);
	size_t i;
	json_t *v;
	json_array_foreach(roles, i, v) {
		store_kind k;
		long obj;
		const char *f;
		if (roles_decode((long)json_integer_value(v), &k, &obj, &f) &&
		    k == STORE_ORGANIZATION &&
		    (!strcmp(f, "member_role") || !strcmp(f, "admin_role")))
			json_array_append_new(out, json_integer(obj));
	}
	json_decref(roles);
	return out;
}

/* UserAccess.can_admin (allow_orphans): the target has no system role, and
 * the caller is admin of every organization it is in; a user in none may
 * be administered by any organization admin. */
static bool can_admin_user(api_request *rq, const json_t *target)
{
	if (access_superuser(rq))
		return true;
	if (json_is_true(json_object_get(target, "is_superuser")) ||
	    json_is_true(json_object_get(target, "is_system_auditor")))
		return false;
	json_t *orgs = user_orgs(rq, id_of(target));
	bool ok = json_array_size(orgs) > 0;
	size_t i;
	json_t *v;
	json_array_foreach(orgs, i, v) {
		if (!has_id(rq, STORE_ORGANIZATION, (long)json_integer_value(v), "admin_role"))
			ok = false;
	}
	if (!json_array_size(orgs)) {
		/* an orphan: its roles must all be below the caller's */
		runnel_error err = {0};
		json_t *roles =
		    store_related_ids(rq->st, STORE_REL_ROLE_USERS, id_of(target), true, &err);
		ok = admin_or_auditor_of_any_org(rq, true);
		json_array_foreach(roles, i, v) {
			if (!access_has_role_id(rq, (long)json_integer_value(v)))
				ok = false;
		}
		json_decref(roles);
	}
	json_decref(orgs);
	return ok;
}

/* UserAccess.filtered_queryset: with ORG_ADMINS_CAN_SEE_ALL_USERS (on by
 * default) an organization admin or auditor sees all users; otherwise
 * oneself, the system administrators and auditors, and the members of the
 * organizations one may read. */
static bool can_read_user(api_request *rq, const json_t *target)
{
	if (access_auditor(rq) || id_of(target) == rq->user_id ||
	    json_is_true(json_object_get(target, "is_superuser")) ||
	    json_is_true(json_object_get(target, "is_system_auditor")))
		return true;
	if (admin_or_auditor_of_any_org(rq, false))
		return true;
	json_t *orgs = user_orgs(rq, id_of(target));
	bool ok = false;
	size_t i;
	json_t *v;
	json_array_foreach(orgs, i, v) {
		if (has_id(rq, STORE_ORGANIZATION, (long)json_integer_value(v), "read_role"))
			ok = true;
	}
	json_decref(orgs);
	return ok;
}

/* Read access to a unified job (each kind's filtered_queryset). */
static bool can_read_job(api_request *rq, const json_t *job)
{
	if (access_auditor(rq))
		return true;
	const char *type = json_string_value(json_object_get(job, "type"));
	if (!type)
		return false;
	if (!strcmp(type, "job")) {
		/* JobAccess: its template readable, or admin/auditor of its organization */
		if (fk_of(job, "job_template") &&
		    has_id(rq, STORE_JOB_TEMPLATE, fk_of(job, "job_template"), "read_role"))
			return true;
		long org = access_org_of(rq, STORE_JOB, job);
		return org && (has_id(rq, STORE_ORGANIZATION, org, "admin_role") ||
		               has_id(rq, STORE_ORGANIZATION, org, "auditor_role"));
	}
	if (!strcmp(type, "project_update")) /* ProjectUpdateAccess: its project readable */
		return has_id(rq, STORE_PROJECT, fk_of(job, "project"), "read_role");
	if (!strcmp(type, "workflow_job")) { /* WorkflowJobAccess: its template readable,
		                                or admin/auditor of its organization */
		if (has_id(rq, STORE_WORKFLOW_JOB_TEMPLATE, fk_of(job, "workflow_job_template"),
		           "read_role"))
			return true;
		long org = access_org_of(rq, STORE_WORKFLOW_JOB, job);
		return org && (has_id(rq, STORE_ORGANIZATION, org, "admin_role") ||
		               has_id(rq, STORE_ORGANIZATION, org, "auditor_role"));
	}
	if (!strcmp(type, "inventory_update") || !strcmp(type, "ad_hoc_command"))
		/* InventoryUpdateAccess, AdHocCommandAccess: its inventory readable */
		return has_id(rq, STORE_INVENTORY, fk_of(job, "inventory"), "read_role");
	return false; /* SystemJobAccess: superusers (and auditors) only */
}

/* A job's "type" as a kind. */
static store_kind job_kind(const json_t *job)
{
	int k = store_kind_from_job_type(json_string_value(json_object_get(job, "type")));
	return k < 0 ? STORE_UNIFIED_JOB : (store_kind)k;
}

/* Who launched a job (AWX: "users may always cancel their own jobs"). */
static bool own_job(api_request *rq, const json_t *job)
{
	return fk_of(job, "created_by") == rq->user_id && rq->user_id > 0;
}

/* A project or inventory update: cancel by whoever launched it or the
 * parent's admin, start (relaunch) with its update_role, delete by its
 * admin (ProjectUpdateAccess, InventoryUpdateAccess). */
static bool can_update_job(api_request *rq, const json_t *job, store_kind parent, long id,
                           access_action action)
{
	if (action == ACCESS_CANCEL)
		return own_job(rq, job) || has_id(rq, parent, id, "admin_role");
	if (action == ACCESS_START)
		return has_id(rq, parent, id, "update_role");
	if (action == ACCESS_DELETE)
		return has_id(rq, parent, id, "admin_role");
	return false;
}

/* The job actions of access.py: delete, start (relaunch), cancel. */
static bool can_job(api_request *rq, const json_t *job, access_action action)
{
	if (access_superuser(rq))
		return true;
	store_kind k = job_kind(job);
	long org = access_org_of(rq, k, job);
	long jt = fk_of(job, "job_template"), inv = fk_of(job, "inventory"),
	     proj = fk_of(job, "project");
	switch (k) {
	case STORE_JOB:
		if (action == ACCESS_DELETE) /* JobAccess.can_delete: organization admin */
			return org && has_id(rq, STORE_ORGANIZATION, org, "admin_role");
		if (action == ACCESS_CANCEL) /* JobAccess.can_cancel */
			return own_job(rq, job) ||
			       (jt && has_id(rq, STORE_JOB_TEMPLATE, jt, "admin_role")) ||
			       (!jt && org &&
			        has_id(rq, STORE_ORGANIZATION, org, "job_template_admin_role"));
		if (action == ACCESS_START) { /* JobAccess.can_start (relaunch) */
			if (jt)
				return has_id(rq, STORE_JOB_TEMPLATE, jt, "execute_role");
			return org && has_id(rq, STORE_ORGANIZATION, org, "execute_role");
		}
		return false;
	case STORE_PROJECT_UPDATE: /* ProjectUpdateAccess */
		return can_update_job(rq, job, STORE_PROJECT, proj, action);
	case STORE_INVENTORY_UPDATE: /* InventoryUpdateAccess */
		return can_update_job(rq, job, STORE_INVENTORY, inv, action);
	case STORE_AD_HOC_COMMAND:
		if (action == ACCESS_CANCEL) /* AdHocCommandAccess.can_cancel */
			return own_job(rq, job) || has_id(rq, STORE_INVENTORY, inv, "admin_role");
		if (action == ACCESS_START) /* can_start: can_add with its inventory, credential */
			return has_id(rq, STORE_INVENTORY, inv, "adhoc_role") &&
			       (!fk_of(job, "credential") ||
			        has_id(rq, STORE_CREDENTIAL, fk_of(job, "credential"), "use_role"));
		if (action == ACCESS_DELETE) /* can_delete: the inventory's organization admin */
			return inv && has_id(rq, STORE_ORGANIZATION,
			                     org_of_id(rq, STORE_INVENTORY, inv), "admin_role");
		return false;
	case STORE_WORKFLOW_JOB: { /* WorkflowJobAccess */
		long wfjt = fk_of(job, "workflow_job_template");
		if (action == ACCESS_CANCEL) /* can_cancel: its launcher, its template's admin */
			return own_job(rq, job) || (wfjt && has_id(rq, STORE_WORKFLOW_JOB_TEMPLATE,
			                                           wfjt, "admin_role"));
		if (action == ACCESS_START) /* can_start (relaunch): execute on its template */
			return wfjt &&
			       has_id(rq, STORE_WORKFLOW_JOB_TEMPLATE, wfjt, "execute_role");
		if (action == ACCESS_DELETE) /* can_delete: its organization's admin */
			return org && has_id(rq, STORE_ORGANIZATION, org, "admin_role");
		return false;
	}
	default: /* SystemJobAccess: superusers only */
		return false;
	}
}

/* The role an action needs on an inventory, project, credential or job
 * template other than admin_role (AWX's access classes); NULL: admin_role. */
static const char *object_role_for(store_kind kind, access_action action)
{
	static const struct {
		store_kind kind;
		access_action action;
		const char *role;
	} roles[] = {
	    {STORE_INVENTORY, ACCESS_READ, "read_role"},
	    {STORE_INVENTORY, ACCESS_ADHOC, "adhoc_role"},
	    {STORE_INVENTORY, ACCESS_USE, "use_role"},
	    {STORE_INVENTORY, ACCESS_START, "update_role"},
	    {STORE_PROJECT, ACCESS_READ, "read_role"},
	    {STORE_PROJECT, ACCESS_START, "update_role"},
	    {STORE_PROJECT, ACCESS_USE, "use_role"},
	    {STORE_CREDENTIAL, ACCESS_READ, "read_role"},
	    {STORE_CREDENTIAL, ACCESS_USE, "use_role"},
	    {STORE_JOB_TEMPLATE, ACCESS_READ, "read_role"},
	    {STORE_JOB_TEMPLATE, ACCESS_START, "execute_role"},
	};
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (roles[i].kind == kind && roles[i].action == action)
			return roles[i].role;
	return NULL;
}

/* A change's new related objects, as each can_change checks them: a new
 * organization's inventory/project/credential admin role, a new
 * credential's, inventory's or project's use_role. */
static bool change_related_ok(api_request *rq, store_kind kind, const json_t *obj,
                              const json_t *data)
{
	switch (kind) {
	case STORE_INVENTORY:
		return check_related(rq, data, obj, "organization", STORE_ORGANIZATION,
		                     "inventory_admin_role", true);
	case STORE_PROJECT:
		return check_related(rq, data, obj, "organization", STORE_ORGANIZATION,
		                     "project_admin_role", true) &&
		       check_related(rq, data, obj, "credential", STORE_CREDENTIAL, "use_role",
		                     false);
	case STORE_CREDENTIAL:
		return check_related(rq, data, obj, "organization", STORE_ORGANIZATION,
		                     "credential_admin_role", false);
	case STORE_JOB_TEMPLATE:
		return check_related(rq, data, obj, "inventory", STORE_INVENTORY, "use_role",
		                     false) &&
		       check_related(rq, data, obj, "project", STORE_PROJECT, "use_role", false);
	default:
		return true;
	}
}

/* The unified job template id (a job template, project or inventory
 * source: one id space) and its kind; NULL when none (the system job
 * template, id 1, is the superusers'). */
static json_t *load_ujt(api_request *rq, long id, store_kind *kind)
{
	static const store_kind kinds[] = {STORE_JOB_TEMPLATE, STORE_PROJECT,
	                                   STORE_INVENTORY_SOURCE};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		json_t *o = load(rq, kinds[i], id);
		if (o) {
			*kind = kinds[i];
			return o;
		}
	}
	return NULL;
}

/* What one may do with the unified job template a schedule names:
 * ScheduleAccess reads with the template's read and adds, changes and
 * deletes with its execute (a job template) or update (a project or an
 * inventory source) role. */
static bool can_ujt(api_request *rq, long ujt, access_action action)
{
	store_kind k;
	json_t *o = load_ujt(rq, ujt, &k);
	if (!o)
		return false;
	bool ok = access_can(rq, k, o, action == ACCESS_READ ? ACCESS_READ : ACCESS_START, NULL);
	json_decref(o);
	return ok;
}

bool access_can(api_request *rq, store_kind kind, const json_t *obj, access_action action,
                const json_t *data)
{
	if (!obj)
		return false;
	if (model_is_job_kind(kind))
		return action == ACCESS_READ ? can_read_job(rq, obj) : can_job(rq, obj, action);
	if (access_superuser(rq)) {
		if (kind == STORE_USER && action == ACCESS_DELETE)
			return id_of(obj) != rq->user_id; /* UserAccess.can_delete: not oneself */
		return true;
	}
	if (action == ACCESS_READ && access_auditor(rq))
		return true; /* BaseAccess.get_queryset: system auditors read all */
	switch (kind) {
	case STORE_CREDENTIAL_TYPE: /* CredentialTypeAccess: all read, superusers write */
		return action == ACCESS_READ;
	case STORE_USER:
		if (action == ACCESS_READ)
			return can_read_user(rq, obj);
		if (action == ACCESS_DELETE) /* UserAccess.can_delete */
			return id_of(obj) != rq->user_id && can_admin_user(rq, obj);
		if (action == ACCESS_CHANGE) {
			/* UserAccess.can_change: oneself or one's organizations'
			 * users; only superusers make superusers or auditors */
			if (data && (json_is_true(json_object_get(data, "is_superuser")) ||
			             json_is_true(json_object_get(data, "is_system_auditor"))))
				return false;
			if (data && ((json_object_get(data, "is_superuser") &&
			              !json_equal(json_object_get(data, "is_superuser"),
			                          json_object_get(obj, "is_superuser"))) ||
			             (json_object_get(data, "is_system_auditor") &&
			              !json_equal(json_object_get(data, "is_system_auditor"),
			                          json_object_get(obj, "is_system_auditor")))))
				return false;
			return id_of(obj) == rq->user_id || can_admin_user(rq, obj);
		}
		return false;
	case STORE_TOKEN: /* OAuth2TokenAccess: one's own */
		return fk_of(obj, "user") == rq->user_id;
	case STORE_ORGANIZATION:
		/* OrganizationAccess: read_role; change and delete admin_role */
		if (action == ACCESS_READ)
			return has(rq, kind, obj, "read_role");
		if (action == ACCESS_CHANGE && data && json_object_get(data, "max_hosts") &&
		    !json_equal(json_object_get(data, "max_hosts"),
		                json_object_get(obj, "max_hosts")))
			return false; /* can_change: max_hosts is the superusers' */
		return has(rq, kind, obj, "admin_role");
	case STORE_TEAM:
		/* TeamAccess: organization admins and auditors see all teams
		 * (ORG_ADMINS_CAN_SEE_ALL_USERS), others read_role; change and
		 * delete admin_role (and admin of a new organization) */
		if (action == ACCESS_READ)
			return has(rq, kind, obj, "read_role") ||
			       admin_or_auditor_of_any_org(rq, false);
		if (action == ACCESS_CHANGE &&
		    !check_related(rq, data, obj, "organization", STORE_ORGANIZATION, "admin_role",
		                   true))
			return false;
		return has(rq, kind, obj, "admin_role");
	case STORE_INVENTORY:
	case STORE_PROJECT:
	case STORE_CREDENTIAL:
	case STORE_JOB_TEMPLATE: {
		/* InventoryAccess, ProjectAccess, CredentialAccess,
		 * JobTemplateAccess: each action's role (object_role_for), else
		 * admin_role, and a change's new related objects checked */
		const char *role = object_role_for(kind, action);
		if (role)
			return has(rq, kind, obj, role);
		if (action == ACCESS_CHANGE && !change_related_ok(rq, kind, obj, data))
			return false;
		return has(rq, kind, obj, "admin_role");
	}
	case STORE_HOST:
	case STORE_GROUP:
	case STORE_INVENTORY_SOURCE: {
		/* HostAccess, GroupAccess, InventorySourceAccess: read and
		 * write with their inventory's read_role / admin_role; an
		 * inventory source's update: the inventory's update_role */
		long inv = fk_of(obj, "inventory");
		if (action == ACCESS_READ)
			return has_id(rq, STORE_INVENTORY, inv, "read_role");
		if (action == ACCESS_START)
			return kind == STORE_INVENTORY_SOURCE &&
			       has_id(rq, STORE_INVENTORY, inv, "update_role");
		if (action == ACCESS_CHANGE &&
		    (!check_related(rq, data, obj, "inventory", STORE_INVENTORY, "admin_role",
		                    true) ||
		     (kind == STORE_INVENTORY_SOURCE &&
		      !check_related(rq, data, obj, "source_project", STORE_PROJECT, "use_role",
		                     false))))
			return false;
		return has_id(rq, STORE_INVENTORY, inv, "admin_role");
	}
	case STORE_LABEL:
		/* LabelAccess: read with the organization's read_role; change
		 * and delete with its admin_role */
		if (action == ACCESS_READ)
			return has_id(rq, STORE_ORGANIZATION, fk_of(obj, "organization"),
			              "read_role");
		return has_id(rq, STORE_ORGANIZATION, fk_of(obj, "organization"), "admin_role");
	case STORE_SCHEDULE: /* ScheduleAccess: through its unified job template */
		return can_ujt(rq, fk_of(obj, "unified_job_template"), action);
	case STORE_NOTIFICATION_TEMPLATE:
		/* NotificationTemplateAccess: the organization's
		 * notification_admin_role (auditors of it read) */
		if (action == ACCESS_READ &&
		    has_id(rq, STORE_ORGANIZATION, fk_of(obj, "organization"), "auditor_role"))
			return true;
		return has_id(rq, STORE_ORGANIZATION, fk_of(obj, "organization"),
		              "notification_admin_role");
	case STORE_NOTIFICATION: { /* NotificationAccess: its template's read */
		if (action != ACCESS_READ)
			return false;
		json_t *nt =
		    load(rq, STORE_NOTIFICATION_TEMPLATE, fk_of(obj, "notification_template"));
		bool ok = nt && access_can(rq, STORE_NOTIFICATION_TEMPLATE, nt, ACCESS_READ, NULL);
		json_decref(nt);
		return ok;
	}
	case STORE_WORKFLOW_JOB_TEMPLATE:
		/* WorkflowJobTemplateAccess: read_role, start execute_role;
		 * change (a new organization's workflow_admin_role, a new
		 * inventory's use_role) and delete admin_role */
		if (action == ACCESS_READ)
			return has(rq, kind, obj, "read_role");
		if (action == ACCESS_START)
			return has(rq, kind, obj, "execute_role");
		if (action == ACCESS_CHANGE &&
		    (!check_related(rq, data, obj, "organization", STORE_ORGANIZATION,
		                    "workflow_admin_role", false) ||
		     !check_related(rq, data, obj, "inventory", STORE_INVENTORY, "use_role",
		                    false)))
			return false;
		return has(rq, kind, obj, "admin_role");
	case STORE_WORKFLOW_JOB_TEMPLATE_NODE:
		/* WorkflowJobTemplateNodeAccess: its template's read; change and
		 * delete its template's admin (a new template named: execute) */
		if (action == ACCESS_CHANGE && data &&
		    !check_related(rq, data, obj, "inventory", STORE_INVENTORY, "use_role", false))
			return false;
		if (action == ACCESS_CHANGE && data &&
		    json_object_get(data, "unified_job_template") &&
		    fk_of(data, "unified_job_template") != fk_of(obj, "unified_job_template") &&
		    fk_of(data, "unified_job_template") > 0 &&
		    !can_ujt(rq, fk_of(data, "unified_job_template"), ACCESS_START))
			return false;
		return has_id(rq, STORE_WORKFLOW_JOB_TEMPLATE, fk_of(obj, "workflow_job_template"),
		              action == ACCESS_READ ? "read_role" : "admin_role");
	case STORE_WORKFLOW_JOB_NODE: { /* WorkflowJobNodeAccess: its workflow job's read */
		if (action != ACCESS_READ)
			return false;
		json_t *wj = load(rq, STORE_WORKFLOW_JOB, fk_of(obj, "workflow_job"));
		bool ok = wj && can_read_job(rq, wj);
		json_decref(wj);
		return ok;
	}
	case STORE_ACTIVITY_STREAM:
		/* ActivityStreamAccess: superusers and auditors all (above);
		 * others what they did themselves (runneld's narrowing of AWX's
		 * per-object rule) */
		return action == ACCESS_READ && fk_of(obj, "actor") == rq->user_id;
	default:
		return false;
	}
}

/* True if the caller holds role on some object of kind (AWX's can_add
 * without data, for OPTIONS: Organization.accessible_objects(user,
 * 'inventory_admin_role').exists() and the like). */
static bool any_with(api_request *rq, store_kind kind, const char *role)
{
	for (long page = 1;; page++) {
		store_query q = {.page = page, .page_size = 200};
		store_page out = {0};
		runnel_error err = {0};
		if (store_list(rq->st, kind, &q, &out, &err) < 0)
			return false;
		bool found = false;
		size_t i;
		json_t *o;
		json_array_foreach(out.results, i, o) {
			if (!found && has(rq, kind, o, role))
				found = true;
		}
		long count = out.count;
		store_page_clear(&out);
		if (found)
			return true;
		if (page * 200 >= count)
			return false;
	}
}

/* can_add(None) of each access class: may the caller create some object
 * of kind at all (OPTIONS shows POST then). */
static bool can_add_some(api_request *rq, store_kind kind)
{
	switch (kind) {
	case STORE_TEAM:
	case STORE_USER:
		return admin_or_auditor_of_any_org(rq, true);
	case STORE_INVENTORY:
		return any_with(rq, STORE_ORGANIZATION, "inventory_admin_role");
	case STORE_PROJECT:
		return any_with(rq, STORE_ORGANIZATION, "project_admin_role");
	case STORE_CREDENTIAL:
		return any_with(rq, STORE_ORGANIZATION, "credential_admin_role");
	case STORE_JOB_TEMPLATE:
		return any_with(rq, STORE_PROJECT, "use_role");
	case STORE_HOST:
	case STORE_GROUP:
	case STORE_INVENTORY_SOURCE:
		return any_with(rq, STORE_INVENTORY, "admin_role");
	case STORE_AD_HOC_COMMAND:
		return true;
	case STORE_WORKFLOW_JOB_TEMPLATE:
		return any_with(rq, STORE_ORGANIZATION, "workflow_admin_role");
	case STORE_WORKFLOW_JOB_TEMPLATE_NODE:
		return any_with(rq, STORE_WORKFLOW_JOB_TEMPLATE, "admin_role");
	default:
		return false;
	}
}

bool access_can_add(api_request *rq, store_kind kind, const json_t *data)
{
	if (access_superuser(rq))
		return true;
	if (!data)
		return can_add_some(rq, kind);
	switch (kind) {
	case STORE_TEAM: /* TeamAccess.can_add: admin of its organization */
		return check_related(rq, data, NULL, "organization", STORE_ORGANIZATION,
		                     "admin_role", true);
	case STORE_USER:
		/* UserAccess.can_add: superusers, or an organization admin
		 * making a user with no system role */
		if (json_is_true(json_object_get(data, "is_superuser")) ||
		    json_is_true(json_object_get(data, "is_system_auditor")))
			return false;
		return admin_or_auditor_of_any_org(rq, true);
	case STORE_INVENTORY: /* InventoryAccess.can_add */
		return check_related(rq, data, NULL, "organization", STORE_ORGANIZATION,
		                     "inventory_admin_role", true);
	case STORE_PROJECT: /* ProjectAccess.can_add */
		return check_related(rq, data, NULL, "organization", STORE_ORGANIZATION,
		                     "project_admin_role", true) &&
		       check_related(rq, data, NULL, "credential", STORE_CREDENTIAL, "use_role",
		                     false);
	case STORE_CREDENTIAL:
		/* CredentialAccess.can_add: the organization's
		 * credential_admin_role (a credential of no organization is
		 * given to a user or team, which runneld does not take) */
		return check_related(rq, data, NULL, "organization", STORE_ORGANIZATION,
		                     "credential_admin_role", true);
	case STORE_JOB_TEMPLATE:
		/* JobTemplateAccess.can_add: use of its inventory and project */
		return check_related(rq, data, NULL, "inventory", STORE_INVENTORY, "use_role",
		                     false) &&
		       check_related(rq, data, NULL, "project", STORE_PROJECT, "use_role", true);
	case STORE_HOST:
	case STORE_GROUP: /* HostAccess / GroupAccess.can_add: inventory admin */
		return check_related(rq, data, NULL, "inventory", STORE_INVENTORY, "admin_role",
		                     true);
	case STORE_INVENTORY_SOURCE: /* InventorySourceAccess.can_add */
		return check_related(rq, data, NULL, "inventory", STORE_INVENTORY, "admin_role",
		                     true) &&
		       check_related(rq, data, NULL, "source_project", STORE_PROJECT, "use_role",
		                     false);
	case STORE_AD_HOC_COMMAND:
		/* AdHocCommandAccess.can_add: the inventory's adhoc_role and the
		 * credential's use_role */
		return check_related(rq, data, NULL, "inventory", STORE_INVENTORY, "adhoc_role",
		                     true) &&
		       check_related(rq, data, NULL, "credential", STORE_CREDENTIAL, "use_role",
		                     false);
	case STORE_LABEL: /* LabelAccess.can_add: a member of its organization */
		return check_related(rq, data, NULL, "organization", STORE_ORGANIZATION,
		                     "member_role", true);
	case STORE_SCHEDULE: /* ScheduleAccess.can_add: execute on the template */
		return can_ujt(rq, fk_of(data, "unified_job_template"), ACCESS_START);
	case STORE_NOTIFICATION_TEMPLATE: /* NotificationTemplateAccess.can_add */
		return check_related(rq, data, NULL, "organization", STORE_ORGANIZATION,
		                     "notification_admin_role", true);
	case STORE_WORKFLOW_JOB_TEMPLATE:
		/* WorkflowJobTemplateAccess.can_add: the organization's
		 * workflow_admin_role, use of its inventory */
		return check_related(rq, data, NULL, "organization", STORE_ORGANIZATION,
		                     "workflow_admin_role", true) &&
		       check_related(rq, data, NULL, "inventory", STORE_INVENTORY, "use_role",
		                     false);
	case STORE_WORKFLOW_JOB_TEMPLATE_NODE:
		/* WorkflowJobTemplateNodeAccess.can_add: its template's admin,
		 * execute on what it runs, use of its inventory */
		return check_related(rq, data, NULL, "workflow_job_template",
		                     STORE_WORKFLOW_JOB_TEMPLATE, "admin_role", true) &&
		       (fk_of(data, "unified_job_template") <= 0 ||
		        can_ujt(rq, fk_of(data, "unified_job_template"), ACCESS_START)) &&
		       check_related(rq, data, NULL, "inventory", STORE_INVENTORY, "use_role",
		                     false);
	default: /* organizations, credential types, system jobs: superusers */
		return false;
	}
}

/* ------------------------------------------------------------------ */
/* lists                                                                */

/* Ids of an array or "1,2,3" string into a new array of integers. */
static json_t *ids_of_value(const json_t *v)
{
	json_t *out = json_array();
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) {
			if (json_is_integer(x))
				json_array_append_new(out, json_integer(json_integer_value(x)));
			else if (json_is_string(x))
				json_array_append_new(
				    out, json_integer(strtol(json_string_value(x), NULL, 10)));
		}
	} else if (json_is_string(v)) {
		const char *p = json_string_value(v);
		while (*p) {
			char *end;
			long n = strtol(p, &end, 10);
			if (end == p)
				break;
			json_array_append_new(out, json_integer(n));
			p = end;
			while (*p == ',' || *p == ' ')
				p++;
		}
	} else if (json_is_integer(v)) {
		json_array_append_new(out, json_integer(json_integer_value(v)));
	}
	return out;
}

/* Narrow filters' key (an __in filter) to allowed (stolen): the
 * intersection with what the query already asks. */
static void narrow(json_t *filters, const char *key, json_t *allowed)
{
	json_t *asked = json_object_get(filters, key);
	if (asked && json_is_string(asked) && !*json_string_value(asked))
		asked = NULL;
	if (asked) {
		json_t *want = ids_of_value(asked), *both = json_array();
		size_t i, j;
		json_t *a, *b;
		json_array_foreach(want, i, a) {
			json_array_foreach(allowed, j, b) {
				if (json_integer_value(a) == json_integer_value(b)) {
					json_array_append(both, a);
					break;
				}
			}
		}
		json_decref(want);
		json_decref(allowed);
		allowed = both;
	}
	json_object_set_new(filters, key, allowed);
}

/* The ids of the objects of kind the caller may read (pages through all). */
static int readable_ids(api_request *rq, store_kind kind, const json_t *filters, json_t *out,
                        bool check, runnel_error *err)
{
	for (long page = 1;; page++) {
		store_query q = {.filters = (json_t *)filters, .page = page, .page_size = 200};
		store_page pg = {0};
		if (store_list(rq->st, kind, &q, &pg, err) < 0)
			return -1;
		size_t i;
		json_t *o;
		json_array_foreach(pg.results, i, o) {
			if (!check || access_can(rq, kind, o, ACCESS_READ, NULL))
				json_array_append_new(out, json_integer(id_of(o)));
		}
		long count = pg.count;
		store_page_clear(&pg);
		if (page * 200 >= count)
			return 0;
	}
}

/* The ids of the jobs of kind k (one type) the caller may read, appended
 * to out: AWX's filtered_queryset of each, as filters where it can. */
static int readable_job_ids(api_request *rq, store_kind k, json_t *out, runnel_error *err)
{
	json_t *f = NULL;
	int rc = 0;
	if (k == STORE_JOB) {
		json_t *jts = json_array();
		rc = readable_ids(rq, STORE_JOB_TEMPLATE, NULL, jts, true, err);
		if (rc == 0) {
			f = json_pack("{s:o}", "job_template__in", jts);
			rc = readable_ids(rq, STORE_JOB, f, out, false, err);
			json_decref(f);
			f = NULL;
		} else {
			json_decref(jts);
		}
		/* and those of the organizations one is admin or auditor of */
		if (rc == 0 && admin_or_auditor_of_any_org(rq, false)) {
			json_t *all = json_array();
			rc = readable_ids(rq, STORE_JOB, NULL, all, true, err);
			size_t i;
			json_t *v;
			json_array_foreach(all, i, v) {
				bool dup = false;
				size_t j;
				json_t *w;
				json_array_foreach(out, j, w) {
					if (json_integer_value(w) == json_integer_value(v)) {
						dup = true;
						break;
					}
				}
				if (!dup)
					json_array_append(out, v);
			}
			json_decref(all);
		}
		return rc;
	}
	if (k == STORE_PROJECT_UPDATE) {
		json_t *ps = json_array();
		rc = readable_ids(rq, STORE_PROJECT, NULL, ps, true, err);
		f = json_pack("{s:o}", "project__in", ps);
	} else if (k == STORE_WORKFLOW_JOB) {
		json_t *ws = json_array();
		rc = readable_ids(rq, STORE_WORKFLOW_JOB_TEMPLATE, NULL, ws, true, err);
		f = json_pack("{s:o}", "workflow_job_template__in", ws);
	} else if (k == STORE_INVENTORY_UPDATE || k == STORE_AD_HOC_COMMAND) {
		json_t *is = json_array();
		rc = readable_ids(rq, STORE_INVENTORY, NULL, is, true, err);
		f = json_pack("{s:o}", "inventory__in", is);
	} else {
		return 0; /* system jobs: none */
	}
	if (rc == 0)
		rc = readable_ids(rq, k, f, out, false, err);
	json_decref(f);
	return rc;
}

int access_readable_ids(api_request *rq, store_kind kind, json_t *out, runnel_error *err)
{
	return readable_ids(rq, kind, NULL, out, true, err);
}

int access_list_narrow(api_request *rq, store_kind kind, json_t *filters, runnel_error *err)
{
	/* no user: not a request of a client (http.c authenticates every
	 * route that lists; the unit tests call api_list directly) */
	if (!rq->user || access_auditor(rq) || kind == STORE_CREDENTIAL_TYPE)
		return 0;
	json_t *ids = json_array();
	int rc = 0;
	switch (kind) {
	case STORE_TOKEN:
		json_object_set_new(filters, "user", json_integer(rq->user_id));
		json_decref(ids);
		return 0;
	case STORE_HOST:
	case STORE_GROUP:
	case STORE_INVENTORY_SOURCE:
		rc = readable_ids(rq, STORE_INVENTORY, NULL, ids, true, err);
		if (rc == 0) {
			narrow(filters, "inventory__in", ids);
			return 0;
		}
		break;
	case STORE_JOB:
	case STORE_PROJECT_UPDATE:
	case STORE_INVENTORY_UPDATE:
	case STORE_AD_HOC_COMMAND:
	case STORE_SYSTEM_JOB:
	case STORE_WORKFLOW_JOB:
		rc = readable_job_ids(rq, kind, ids, err);
		break;
	case STORE_UNIFIED_JOB: {
		store_kind ks[] = {STORE_JOB, STORE_PROJECT_UPDATE, STORE_INVENTORY_UPDATE,
		                   STORE_AD_HOC_COMMAND, STORE_WORKFLOW_JOB};
		for (size_t i = 0; i < 5 && rc == 0; i++)
			rc = readable_job_ids(rq, ks[i], ids, err);
		break;
	}
	default:
		rc = readable_ids(rq, kind, NULL, ids, true, err);
		break;
	}
	if (rc < 0) {
		json_decref(ids);
		return -1;
	}
	narrow(filters, "id__in", ids);
	return 0;
}

/* ------------------------------------------------------------------ */
/* summary_fields                                                       */

/* The capabilities AWX's serializers show per kind (show_capabilities). */
static json_t *capabilities(api_request *rq, store_kind kind, const json_t *obj)
{
	json_t *c = json_object();
	bool edit = access_can(rq, kind, obj, ACCESS_CHANGE, NULL);
	bool del = access_can(rq, kind, obj, ACCESS_DELETE, NULL);
	switch (kind) {
	case STORE_ORGANIZATION:
	case STORE_TEAM:
	case STORE_USER:
	case STORE_HOST:
	case STORE_GROUP:
		json_object_set_new(c, "edit", json_boolean(edit));
		json_object_set_new(c, "delete", json_boolean(del));
		break;
	case STORE_INVENTORY:
		json_object_set_new(c, "edit", json_boolean(edit));
		json_object_set_new(c, "delete", json_boolean(del));
		json_object_set_new(c, "adhoc",
		                    json_boolean(access_can(rq, kind, obj, ACCESS_ADHOC, NULL)));
		{
			json_t *d = json_pack("{s:I}", "organization",
			                      (json_int_t)fk_of(obj, "organization"));
			json_object_set_new(c, "copy", json_boolean(access_can_add(rq, kind, d)));
			json_decref(d);
		}
		break;
	case STORE_CREDENTIAL:
		json_object_set_new(c, "edit", json_boolean(edit));
		json_object_set_new(c, "delete", json_boolean(del));
		json_object_set_new(c, "copy", json_boolean(edit));
		json_object_set_new(c, "use",
		                    json_boolean(access_can(rq, kind, obj, ACCESS_USE, NULL)));
		break;
	case STORE_WORKFLOW_JOB_TEMPLATE_NODE:
		json_object_set_new(c, "edit", json_boolean(edit));
		json_object_set_new(c, "delete", json_boolean(del));
		break;
	case STORE_WORKFLOW_JOB_TEMPLATE:
	case STORE_PROJECT:
	case STORE_JOB_TEMPLATE:
	case STORE_INVENTORY_SOURCE: {
		bool start = access_can(rq, kind, obj, ACCESS_START, NULL);
		json_object_set_new(c, "edit", json_boolean(edit));
		json_object_set_new(c, "delete", json_boolean(del));
		json_object_set_new(c, "start", json_boolean(start));
		json_object_set_new(c, "schedule", json_boolean(start));
		if (kind != STORE_INVENTORY_SOURCE) {
			/* copy: can_add of the same related objects */
			json_t *d = kind == STORE_PROJECT || kind == STORE_WORKFLOW_JOB_TEMPLATE
			                ? json_pack("{s:I}", "organization",
			                            (json_int_t)fk_of(obj, "organization"))
			                : json_pack("{s:I,s:I}", "project",
			                            (json_int_t)fk_of(obj, "project"), "inventory",
			                            (json_int_t)fk_of(obj, "inventory"));
			json_object_set_new(c, "copy", json_boolean(access_can_add(rq, kind, d)));
			json_decref(d);
		}
		break;
	}
	default:
		if (model_is_job_kind(kind)) {
			json_object_set_new(c, "delete", json_boolean(del));
			json_object_set_new(
			    c, "start",
			    json_boolean(job_kind(obj) == STORE_JOB ||
			                         job_kind(obj) == STORE_AD_HOC_COMMAND
			                     ? access_can(rq, kind, obj, ACCESS_START, NULL)
			                     : false));
		}
		break;
	}
	return c;
}

json_t *access_decorate(api_request *rq, store_kind kind, json_t *obj)
{
	if (!json_is_object(obj) || !rq->user)
		return obj;
	if (kind == STORE_UNIFIED_JOB)
		kind = job_kind(obj);
	json_t *sf = json_object_get(obj, "summary_fields");
	if (!json_is_object(sf)) {
		sf = json_object();
		json_object_set_new(obj, "summary_fields", sf);
	}
	const char *const *fields = roles_fields(kind);
	if (fields) {
		json_t *roles = json_object();
		long id = id_of(obj);
		for (int i = 0; fields[i]; i++) {
			char desc[160];
			roles_description(kind, fields[i], desc, sizeof desc);
			json_object_set_new(roles, fields[i],
			                    json_pack("{s:s,s:s,s:I}", "description", desc, "name",
			                              roles_name(fields[i]), "id",
			                              (json_int_t)roles_id(kind, id, fields[i])));
		}
		json_object_set_new(sf, "object_roles", roles);
	}
	if (kind != STORE_TOKEN && kind != STORE_CREDENTIAL_TYPE)
		json_object_set_new(sf, "user_capabilities", capabilities(rq, kind, obj));
	return obj;
}

/* ------------------------------------------------------------------ */
/* roles                                                                */

bool access_can_attach(api_request *rq, api_response *rs, long role_id, bool team,
                       const json_t *sub, bool detach)
{
	store_kind kind;
	long obj;
	const char *field;
	if (!roles_decode(role_id, &kind, &obj, &field)) {
		api_detail(rs, 404, "Not found.");
		return false;
	}
	if (kind == STORE_KIND_COUNT) {
		/* RoleTeamsList / RoleUsersList: system roles are the users'
		 * flags (is_superuser, is_system_auditor) */
		api_json(rs, 400,
		         json_pack("{s:s}", "msg",
		                   team ? "You cannot grant system-level permissions to a team."
		                        : "System roles are given with the user's is_superuser "
		                          "or is_system_auditor."));
		return false;
	}
	json_t *o = load(rq, kind, obj);
	if (!o) {
		api_detail(rs, 404, "Not found.");
		return false;
	}
	bool ok = true;
	if (team && kind == STORE_ORGANIZATION &&
	    (!strcmp(field, "member_role") || !strcmp(field, "admin_role"))) {
		/* RoleTeamsList.post */
		api_json(
		    rs, 400,
		    json_pack("{s:s}", "msg",
		              "You cannot assign an Organization participation role as a child "
		              "role for a Team."));
		ok = false;
	} else if (kind == STORE_CREDENTIAL && !detach) {
		/* RoleUsersList / RoleTeamsList.post: a credential's roles stay
		 * in its organization; a private credential's stay private */
		long org = fk_of(o, "organization");
		bool in_org = true;
		if (team) {
			in_org = org && fk_of(sub, "organization") == org;
		} else if (org) {
			runnel_error err = {0};
			json_t *members = store_related_ids(
			    rq->st, STORE_REL_ROLE_USERS,
			    roles_id(STORE_ORGANIZATION, org, "member_role"), false, &err);
			in_org = false;
			size_t i;
			json_t *v;
			json_array_foreach(members, i, v) {
				if (json_integer_value(v) == id_of(sub))
					in_org = true;
			}
			json_decref(members);
			json_t *admins = store_related_ids(
			    rq->st, STORE_REL_ROLE_USERS,
			    roles_id(STORE_ORGANIZATION, org, "admin_role"), false, &err);
			json_array_foreach(admins, i, v) {
				if (json_integer_value(v) == id_of(sub))
					in_org = true;
			}
			json_decref(admins);
		}
		if (!in_org) {
			api_json(
			    rs, 400,
			    json_pack("{s:s}", "msg",
			              team ? "You cannot grant credential access to a team not in "
			                     "the credentials' organization"
			                   : "You cannot grant credential access to a user not in "
			                     "the credentials' organization"));
			ok = false;
		} else if (!org && !access_superuser(rq)) {
			api_json(rs, 400,
			         json_pack("{s:s}", "msg",
			                   "You cannot grant private credential access to another "
			                   "user"));
			ok = false;
		}
	}
	if (ok && !access_superuser(rq)) {
		/* RoleAccess.can_unattach: the caller reads the user or team;
		 * an organization's member or admin role needs UserAccess
		 * can_admin over the user; then the object's admin_role */
		bool can = access_can(rq, team ? STORE_TEAM : STORE_USER, sub, ACCESS_READ, NULL);
		if (can && kind == STORE_ORGANIZATION &&
		    (!strcmp(field, "member_role") || !strcmp(field, "admin_role")))
			can = !team && can_admin_user(rq, sub);
		if (can)
			can = has(rq, kind, o, "admin_role");
		if (!can) {
			api_detail(rs, 403, DENIED);
			ok = false;
		}
	}
	json_decref(o);
	return ok;
}

/* ------------------------------------------------------------------ */
/* the gate                                                             */

/* The parts of a route's pattern: "/api/v2/jobs/{id}/cancel/" -> "jobs",
 * true, "cancel", n = 3. */
typedef struct route_parts {
	char seg[4][64];
	int n;
} route_parts;

static void parts_of(const char *pattern, route_parts *p)
{
	memset(p, 0, sizeof *p);
	if (strncmp(pattern, "/api/v2/", 8))
		return;
	const char *s = pattern + 8;
	while (*s && p->n < 4) {
		size_t len = strcspn(s, "/");
		snprintf(p->seg[p->n++], sizeof p->seg[0], "%.*s", (int)len, s);
		s += len;
		if (*s == '/')
			s++;
	}
}

/* Refuse with 403 (AWX's PermissionDenied). */
static bool deny(api_request *rq, api_response *rs, const char *why)
{
	api_logf(rq, "%s %s: refused for user %ld (%s)", rq->method, rq->path, rq->user_id, why);
	api_detail(rs, 403, DENIED);
	return false;
}

/* True for POST, PUT, PATCH, DELETE. */
static bool writes(const api_request *rq)
{
	return strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD") &&
	       strcmp(rq->method, "OPTIONS");
}

/* The use a launch's prompts make of an inventory or credentials
 * (JobLaunchSerializer through JobLaunchConfigAccess: use_role on each). */
static bool prompts_usable(api_request *rq, const json_t *body)
{
	long inv = data_fk(body, "inventory");
	if (inv > 0 && !has_id(rq, STORE_INVENTORY, inv, "use_role"))
		return false;
	json_t *creds = json_object_get(body, "credentials");
	size_t i;
	json_t *c;
	json_array_foreach(creds, i, c) {
		if (json_is_integer(c) &&
		    !has_id(rq, STORE_CREDENTIAL, (long)json_integer_value(c), "use_role"))
			return false;
	}
	long cred = data_fk(body, "credential");
	if (cred > 0 && !has_id(rq, STORE_CREDENTIAL, cred, "use_role"))
		return false;
	return true;
}

bool access_route(api_request *rq, api_response *rs, const api_route *route)
{
	if (!rq->user || access_superuser(rq))
		return true;
	route_parts p;
	parts_of(route->pattern, &p);
	if (p.n == 0)
		return true;
	const char *top = p.seg[0];
	/* SystemJobTemplateAccess, SystemJobAccess: superusers (auditors read) */
	if (!strcmp(top, "system_job_templates") || !strcmp(top, "system_jobs")) {
		if (writes(rq) || !access_auditor(rq))
			return deny(rq, rs, "system jobs are the superusers'");
		return true;
	}
	int k = store_kind_from_name(top);
	if (k < 0 || k == STORE_TOKEN || k == STORE_ACTIVITY_STREAM)
		return true; /* me, config, roles (rbac.c), tokens (root.c: one's own),
		                the activity stream (activity.c: 404 for what one may not read) */
	store_kind kind = (store_kind)k;
	json_t *body = json_is_object(rq->body) ? rq->body : NULL;
	if (p.n == 1) {
		if (strcmp(rq->method, "POST"))
			return true; /* lists are narrowed in api_list */
		if (model_is_job_kind(kind) && kind != STORE_AD_HOC_COMMAND)
			return true; /* no route creates them */
		if (!access_can_add(rq, kind, body))
			return deny(rq, rs, "create");
		return true;
	}
	if (strcmp(p.seg[1], "{id}"))
		return true;
	json_t *obj = load(rq, kind, rq->ids[0]);
	if (!obj)
		return true; /* the handler answers 404 */
	bool ok = true;
	const char *why = "read";
	if (!access_can(rq, kind, obj, ACCESS_READ, NULL)) {
		/* RetrieveAPIView / SubList*: the object exists, the caller may
		 * not read it: 403 (check_object_permissions / check_parent_access) */
		ok = false;
	} else if (p.n == 2) {
		if (!strcmp(rq->method, "DELETE")) {
			why = "delete";
			ok = access_can(rq, kind, obj, ACCESS_DELETE, NULL);
		} else if (writes(rq)) {
			why = "change";
			ok = access_can(rq, kind, obj, ACCESS_CHANGE, body);
		}
	} else if (writes(rq)) {
		const char *sub = p.seg[2];
		if (!strcmp(sub, "launch")) {
			why = "launch";
			ok = access_can(rq, kind, obj, ACCESS_START, NULL) &&
			     prompts_usable(rq, body);
		} else if (!strcmp(sub, "cancel")) {
			why = "cancel";
			ok = access_can(rq, kind, obj, ACCESS_CANCEL, NULL);
		} else if (!strcmp(sub, "relaunch") || !strcmp(sub, "update")) {
			why = sub;
			ok = access_can(rq, kind, obj, ACCESS_START, NULL);
		} else if (!strcmp(sub, "credentials") && kind == STORE_JOB_TEMPLATE) {
			/* UnifiedCredentialsMixin.can_attach: the template's
			 * admin and use of the credential */
			why = "attach credential";
			long cid = data_fk(body, "id");
			ok = access_can(rq, kind, obj, ACCESS_CHANGE, NULL) &&
			     (cid <= 0 || json_is_true(json_object_get(body, "disassociate")) ||
			      has_id(rq, STORE_CREDENTIAL, cid, "use_role"));
		} else if (!strcmp(sub, "users") || !strcmp(sub, "admins") ||
		           !strcmp(sub, "roles") ||
		           (!strcmp(sub, "teams") && kind != STORE_ORGANIZATION)) {
			ok = true; /* rbac.c: RoleAccess per role */
		} else if (!strcmp(sub, "teams") && kind == STORE_ORGANIZATION) {
			why = "create team";
			json_t *d = json_pack("{s:I}", "organization", (json_int_t)rq->ids[0]);
			ok = json_object_get(body, "id") ? has(rq, kind, obj, "admin_role")
			                                 : access_can_add(rq, STORE_TEAM, d);
			json_decref(d);
		} else if (kind == STORE_INVENTORY || kind == STORE_GROUP || kind == STORE_HOST) {
			/* hosts, groups, sources, children, variable_data: the
			 * inventory's admin (Host/Group/InventoryAccess) */
			why = "change inventory";
			long inv = kind == STORE_INVENTORY ? rq->ids[0] : fk_of(obj, "inventory");
			ok = has_id(rq, STORE_INVENTORY, inv, "admin_role");
		} else {
			why = "change";
			ok = access_can(rq, kind, obj, ACCESS_CHANGE, NULL);
		}
	}
	json_decref(obj);
	if (!ok)
		return deny(rq, rs, why);
	return true;
}
