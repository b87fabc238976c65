/*
 * roles.c - AWX's roles and their implicit parents (roles.h): the role
 * graph is a table here, membership is two relations in whichever backend.
 */
#include "roles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* One role field of a kind and its parents (ImplicitRoleField parent_role):
 * "x_role" is the object's own role, "org:x_role" its organization's,
 * "sys:admin" / "sys:auditor" the singletons. */
typedef struct role_def {
	const char *field;
	const char *parents[12];
} role_def;

/* awx/main/models/organization.py Organization */
static const role_def org_roles[] = {
    {"admin_role", {"sys:admin", NULL}},
    {"execute_role", {"admin_role", NULL}},
    {"project_admin_role", {"admin_role", NULL}},
    {"inventory_admin_role", {"admin_role", NULL}},
    {"credential_admin_role", {"admin_role", NULL}},
    {"workflow_admin_role", {"admin_role", NULL}},
    {"notification_admin_role", {"admin_role", NULL}},
    {"job_template_admin_role", {"admin_role", NULL}},
    {"execution_environment_admin_role", {"admin_role", NULL}},
    {"auditor_role", {"sys:auditor", NULL}},
    {"member_role", {"admin_role", NULL}},
    {"read_role",
     {"member_role", "auditor_role", "execute_role", "project_admin_role", "inventory_admin_role",
      "workflow_admin_role", "notification_admin_role", "credential_admin_role",
      "job_template_admin_role", "approval_role", "execution_environment_admin_role", NULL}},
    {"approval_role", {"admin_role", NULL}},
    {NULL, {NULL}},
};
/* organization.py Team */
static const role_def team_roles[] = {
    {"admin_role", {"org:admin_role", NULL}},
    {"member_role", {"admin_role", NULL}},
    {"read_role", {"org:auditor_role", "member_role", NULL}},
    {NULL, {NULL}},
};
/* inventory.py Inventory */
static const role_def inventory_roles[] = {
    {"admin_role", {"org:inventory_admin_role", NULL}},
    {"update_role", {"admin_role", NULL}},
    {"adhoc_role", {"admin_role", NULL}},
    {"use_role", {"adhoc_role", NULL}},
    {"read_role", {"org:auditor_role", "update_role", "use_role", "admin_role", NULL}},
    {NULL, {NULL}},
};
/* projects.py Project */
static const role_def project_roles[] = {
    {"admin_role", {"org:project_admin_role", "sys:admin", NULL}},
    {"use_role", {"admin_role", NULL}},
    {"update_role", {"admin_role", NULL}},
    {"read_role", {"org:auditor_role", "sys:auditor", "use_role", "update_role", NULL}},
    {NULL, {NULL}},
};
/* credential/__init__.py Credential */
static const role_def credential_roles[] = {
    {"admin_role", {"sys:admin", "org:credential_admin_role", NULL}},
    {"use_role", {"admin_role", NULL}},
    {"read_role", {"sys:auditor", "org:auditor_role", "use_role", "admin_role", NULL}},
    {NULL, {NULL}},
};
/* jobs.py JobTemplate (its organization is its project's); the parent
 * inventory.organization.auditor_role ("partial support for old
 * inheritance") is not followed */
static const role_def jt_roles[] = {
    {"admin_role", {"org:job_template_admin_role", NULL}},
    {"execute_role", {"admin_role", "org:execute_role", NULL}},
    {"read_role", {"org:auditor_role", "execute_role", "admin_role", NULL}},
    {NULL, {NULL}},
};

/* workflow.py WorkflowJobTemplate */
static const role_def wfjt_roles[] = {
    {"admin_role", {"sys:admin", "org:workflow_admin_role", NULL}},
    {"execute_role", {"admin_role", "org:execute_role", NULL}},
    {"read_role",
     {"sys:auditor", "org:auditor_role", "execute_role", "admin_role", "approval_role", NULL}},
    {"approval_role", {"org:approval_role", "admin_role", NULL}},
    {NULL, {NULL}},
};

/* The kinds with roles, by their code in a role id (1..). */
static const struct {
	store_kind kind;
	const role_def *defs;
} role_kinds[] = {
    {STORE_KIND_COUNT, NULL},       {STORE_ORGANIZATION, org_roles},
    {STORE_TEAM, team_roles},       {STORE_INVENTORY, inventory_roles},
    {STORE_PROJECT, project_roles}, {STORE_CREDENTIAL, credential_roles},
    {STORE_JOB_TEMPLATE, jt_roles}, {STORE_WORKFLOW_JOB_TEMPLATE, wfjt_roles},
};
#define ROLE_KINDS ((int)(sizeof role_kinds / sizeof role_kinds[0]))

/* The code of a kind, 0 if it has no roles. */
static int kind_code(store_kind kind)
{
	for (int c = 1; c < ROLE_KINDS; c++)
		if (role_kinds[c].kind == kind)
			return c;
	return 0;
}

const char *const *roles_fields(store_kind kind)
{
	static const char *const lists[ROLE_KINDS][16] = {
	    {NULL},
	    {"admin_role", "execute_role", "project_admin_role", "inventory_admin_role",
	     "credential_admin_role", "workflow_admin_role", "notification_admin_role",
	     "job_template_admin_role", "execution_environment_admin_role", "auditor_role",
	     "member_role", "read_role", "approval_role", NULL},
	    {"admin_role", "member_role", "read_role", NULL},
	    {"admin_role", "update_role", "adhoc_role", "use_role", "read_role", NULL},
	    {"admin_role", "use_role", "update_role", "read_role", NULL},
	    {"admin_role", "use_role", "read_role", NULL},
	    {"admin_role", "execute_role", "read_role", NULL},
	    {"admin_role", "execute_role", "read_role", "approval_role", NULL},
	};
	int c = kind_code(kind);
	return c ? lists[c] : NULL;
}

long roles_id(store_kind kind, long obj, const char *field)
{
	int c = kind_code(kind);
	if (!c || obj <= 0 || !field)
		return 0;
	for (int i = 0; role_kinds[c].defs[i].field; i++)
		if (!strcmp(role_kinds[c].defs[i].field, field))
			return obj * 256 + c * 16 + i;
	return 0;
}

bool roles_decode(long id, store_kind *kind, long *obj, const char **field)
{
	if (id == ROLES_SYSTEM_ADMINISTRATOR || id == ROLES_SYSTEM_AUDITOR) {
		*kind = STORE_KIND_COUNT;
		*obj = 0;
		*field =
		    id == ROLES_SYSTEM_ADMINISTRATOR ? "system_administrator" : "system_auditor";
		return true;
	}
	if (id < 256)
		return false;
	int c = (int)((id / 16) % 16), i = (int)(id % 16);
	if (c < 1 || c >= ROLE_KINDS)
		return false;
	for (int k = 0; k <= i; k++)
		if (!role_kinds[c].defs[k].field)
			return false;
	*kind = role_kinds[c].kind;
	*obj = id / 256;
	*field = role_kinds[c].defs[i].field;
	return true;
}

const char *roles_name(const char *field)
{
	static const char *const names[][2] = {
	    {"system_administrator", "System Administrator"},
	    {"system_auditor", "System Auditor"},
	    {"adhoc_role", "Ad Hoc"},
	    {"admin_role", "Admin"},
	    {"project_admin_role", "Project Admin"},
	    {"inventory_admin_role", "Inventory Admin"},
	    {"credential_admin_role", "Credential Admin"},
	    {"job_template_admin_role", "Job Template Admin"},
	    {"execution_environment_admin_role", "Execution Environment Admin"},
	    {"workflow_admin_role", "Workflow Admin"},
	    {"notification_admin_role", "Notification Admin"},
	    {"auditor_role", "Auditor"},
	    {"execute_role", "Execute"},
	    {"member_role", "Member"},
	    {"read_role", "Read"},
	    {"update_role", "Update"},
	    {"use_role", "Use"},
	    {"approval_role", "Approve"},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(names[i][0], field))
			return names[i][1];
	return field;
}

void roles_description(store_kind kind, const char *field, char *out, size_t n)
{
	static const char *const descs[][2] = {
	    {"system_administrator", "Can manage all aspects of the system"},
	    {"system_auditor", "Can view all aspects of the system"},
	    {"adhoc_role", "May run ad hoc commands on the %s"},
	    {"admin_role", "Can manage all aspects of the %s"},
	    {"project_admin_role", "Can manage all projects of the %s"},
	    {"inventory_admin_role", "Can manage all inventories of the %s"},
	    {"credential_admin_role", "Can manage all credentials of the %s"},
	    {"job_template_admin_role", "Can manage all job templates of the %s"},
	    {"execution_environment_admin_role", "Can manage all execution environments of the %s"},
	    {"workflow_admin_role", "Can manage all workflows of the %s"},
	    {"notification_admin_role", "Can manage all notifications of the %s"},
	    {"auditor_role", "Can view all aspects of the %s"},
	    {"execute_role", "May run the %s"},
	    {"member_role", "User is a member of the %s"},
	    {"read_role", "May view settings for the %s"},
	    {"update_role", "May update the %s"},
	    {"use_role", "Can use the %s in a job template"},
	    {"approval_role", "Can approve or deny a workflow approval node"},
	};
	char model[64];
	snprintf(model, sizeof model, "%s", kind < STORE_KIND_COUNT ? store_kind_type(kind) : "");
	for (char *c = model; *c; c++)
		if (*c == '_')
			*c = ' ';
	if (kind == STORE_ORGANIZATION && !strcmp(field, "execute_role")) {
		snprintf(out, n, "May run any executable resources in the organization");
		return;
	}
	for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++)
		if (!strcmp(descs[i][0], field)) {
			const char *pct = strstr(descs[i][1], "%s");
			if (pct)
				snprintf(out, n, "%.*s%s%s", (int)(pct - descs[i][1]), descs[i][1],
				         model, pct + 2);
			else
				snprintf(out, n, "%s", descs[i][1]);
			return;
		}
	snprintf(out, n, "%s", field);
}

int roles_parents(store_kind kind, long obj, long org, const char *field, long *out, int max)
{
	int c = kind_code(kind), n = 0;
	if (!c)
		return 0;
	const role_def *d = role_kinds[c].defs;
	for (; d->field && strcmp(d->field, field); d++)
		;
	if (!d->field)
		return 0;
	if (kind == STORE_ORGANIZATION)
		org = obj;
	for (int i = 0; d->parents[i] && n < max; i++) {
		const char *p = d->parents[i];
		long id = 0;
		if (!strcmp(p, "sys:admin"))
			id = ROLES_SYSTEM_ADMINISTRATOR;
		else if (!strcmp(p, "sys:auditor"))
			id = ROLES_SYSTEM_AUDITOR;
		else if (!strncmp(p, "org:", 4))
			id = org > 0 ? roles_id(STORE_ORGANIZATION, org, p + 4) : 0;
		else
			id = roles_id(kind, obj, p);
		if (id)
			out[n++] = id;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* holders                                                              */

struct roles_holder {
	long *ids; /* the roles held directly (own, teams', singletons) */
	size_t n, cap;
	bool super, auditor;
};

static bool holder_in(const roles_holder *h, long id)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->ids[i] == id)
			return true;
	return false;
}

static void holder_add(roles_holder *h, long id)
{
	if (holder_in(h, id))
		return;
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->ids = rn_xrealloc(h->ids, h->cap * sizeof *h->ids);
	}
	h->ids[h->n++] = id;
}

/* Add the ids of an array of integers. */
static void holder_add_all(roles_holder *h, const json_t *ids)
{
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
		holder_add(h, (long)json_integer_value(v));
}

bool roles_holder_superuser(const roles_holder *h)
{
	return h && h->super;
}

bool roles_holder_auditor(const roles_holder *h)
{
	return h && h->auditor;
}

bool roles_holder_direct(const roles_holder *h, long role_id)
{
	return h && holder_in(h, role_id);
}

bool roles_holder_has(const roles_holder *h, store_kind kind, long obj, long org, const char *field)
{
	if (!h)
		return false;
	if (h->super)
		return true;
	/* breadth first up the parents; the graph of one object and its
	 * organization has a few dozen roles at most */
	long queue[128];
	long orgs[128];
	int head = 0, tail = 0;
	long start = roles_id(kind, obj, field);
	if (!start)
		return false;
	queue[tail] = start;
	orgs[tail++] = kind == STORE_ORGANIZATION ? obj : org;
	while (head < tail) {
		long id = queue[head];
		long o = orgs[head++];
		if (holder_in(h, id))
			return true;
		store_kind k;
		long ob;
		const char *f;
		if (!roles_decode(id, &k, &ob, &f) || k == STORE_KIND_COUNT)
			continue;
		long ps[12];
		int np = roles_parents(k, ob, k == STORE_ORGANIZATION ? ob : o, f, ps, 12);
		for (int i = 0; i < np && tail < 128; i++) {
			bool seen = false;
			for (int j = 0; j < tail && !seen; j++)
				seen = queue[j] == ps[i];
			if (seen)
				continue;
			queue[tail] = ps[i];
			store_kind pk;
			long pobj;
			const char *pf;
			roles_decode(ps[i], &pk, &pobj, &pf);
			orgs[tail++] = pk == STORE_ORGANIZATION ? pobj : o;
		}
	}
	return false;
}

roles_holder *roles_holder_new(store *st, const json_t *user, runnel_error *err)
{
	roles_holder *h = rn_xmalloc(sizeof *h);
	memset(h, 0, sizeof *h);
	long uid = (long)json_integer_value(json_object_get(user, "id"));
	h->super = json_is_true(json_object_get(user, "is_superuser"));
	h->auditor = json_is_true(json_object_get(user, "is_system_auditor"));
	if (h->super)
		holder_add(h, ROLES_SYSTEM_ADMINISTRATOR);
	if (h->auditor)
		holder_add(h, ROLES_SYSTEM_AUDITOR);
	json_t *own = store_related_ids(st, STORE_REL_ROLE_USERS, uid, true, err);
	if (!own) {
		roles_holder_free(h);
		return NULL;
	}
	holder_add_all(h, own);
	json_decref(own);
	/* the teams: a team's roles are its members' (AWX: the team's
	 * member_role is a parent of each role given to the team); a team may
	 * be given another team's member role, so go on until nothing changes */
	json_t *teams = json_array();
	for (long page = 1;; page++) {
		store_query q = {.page = page, .page_size = 200};
		store_page out = {0};
		if (store_list(st, STORE_TEAM, &q, &out, err) < 0) {
			json_decref(teams);
			roles_holder_free(h);
			return NULL;
		}
		json_array_extend(teams, out.results);
		long count = out.count;
		store_page_clear(&out);
		if (page * 200 >= count)
			break;
	}
	size_t nteams = json_array_size(teams);
	bool *done = calloc(nteams ? nteams : 1, sizeof *done);
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < nteams; i++) {
			if (done[i])
				continue;
			json_t *t = json_array_get(teams, i);
			long tid = (long)json_integer_value(json_object_get(t, "id"));
			long org = (long)json_integer_value(json_object_get(t, "organization"));
			if (!roles_holder_has(h, STORE_TEAM, tid, org, "member_role"))
				continue;
			done[i] = changed = true;
			json_t *given = store_related_ids(st, STORE_REL_ROLE_TEAMS, tid, true, err);
			holder_add_all(h, given);
			json_decref(given);
		}
	}
	free(done);
	json_decref(teams);
	return h;
}

void roles_holder_free(roles_holder *h)
{
	if (!h)
		return;
	free(h->ids);
	free(h);
}

/* Drop every row of rel whose parent (reverse: child) is id. */
static int drop_all(store *st, store_rel rel, long id, bool reverse, runnel_error *err)
{
	json_t *ids = store_related_ids(st, rel, id, reverse, err);
	if (!ids)
		return -1;
	size_t i;
	json_t *v;
	int rc = 0;
	json_array_foreach(ids, i, v) {
		long other = (long)json_integer_value(v);
		if (store_disassociate(st, rel, reverse ? other : id, reverse ? id : other, err) <
		    0)
			rc = -1;
	}
	json_decref(ids);
	return rc;
}

int roles_forget(store *st, store_kind kind, long obj, runnel_error *err)
{
	int rc = 0;
	const char *const *fields = roles_fields(kind);
	for (int i = 0; fields && fields[i]; i++) {
		long id = roles_id(kind, obj, fields[i]);
		if (drop_all(st, STORE_REL_ROLE_USERS, id, false, err) < 0 ||
		    drop_all(st, STORE_REL_ROLE_TEAMS, id, false, err) < 0)
			rc = -1;
	}
	if (kind == STORE_USER && drop_all(st, STORE_REL_ROLE_USERS, obj, true, err) < 0)
		rc = -1;
	if (kind == STORE_TEAM && drop_all(st, STORE_REL_ROLE_TEAMS, obj, true, err) < 0)
		rc = -1;
	return rc;
}
