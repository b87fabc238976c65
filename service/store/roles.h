/*
 * roles.h - AWX's roles (awx/main/models/rbac.py and the ImplicitRoleField
 * parents of each model, AWX 21.14.0), backend-neutral.
 *
 * A role is no row: its id encodes its object, kind and field
 * (obj * 256 + kind code * 16 + field index), so every object has its roles
 * from its creation on, and the implicit parents follow from the object's
 * organization alone. What is stored is membership: the relations
 * STORE_REL_ROLE_USERS (role -> user) and STORE_REL_ROLE_TEAMS (role ->
 * team: AWX's team.member_role.children). The singletons
 * system_administrator and system_auditor are the users' is_superuser and
 * is_system_auditor flags.
 */
#ifndef RUNNELD_STORE_ROLES_H
#define RUNNELD_STORE_ROLES_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "store.h"

/* The singletons (their "object" is 0, their kind STORE_KIND_COUNT). */
#define ROLES_SYSTEM_ADMINISTRATOR 1L
#define ROLES_SYSTEM_AUDITOR       2L

/* The role fields of kind (NULL-terminated; NULL when kind has no roles):
 * organization, team, inventory, project, credential, job_template. */
const char *const *roles_fields(store_kind kind);
/* The id of kind's role field on object obj; 0 if kind has no such role. */
long roles_id(store_kind kind, long obj, const char *field);
/* Decode a role id: its kind (STORE_KIND_COUNT for a singleton), object and
 * field name (static). false if id is no role. */
bool roles_decode(long id, store_kind *kind, long *obj, const char **field);
/* AWX's role_names ("Admin") and role_descriptions ("Can manage all
 * aspects of the job template") of a field. */
const char *roles_name(const char *field);
void roles_description(store_kind kind, const char *field, char *out, size_t n);

/*
 * The parents of a role (ImplicitRoleField parent_role): kind's field on
 * obj whose organization is org (0: none; for an organization, itself)
 * into out (at most max ids; the number written). A parent on another
 * object is that organization's role, or a singleton.
 */
int roles_parents(store_kind kind, long obj, long org, const char *field, long *out, int max);

/* The roles a user holds: their own, those their teams hold (a team's
 * roles are held by whoever holds the team's member_role), and the
 * singletons of their flags. Build once per request. */
typedef struct roles_holder roles_holder;
/* NULL with err on a store error. user: the user object (borrowed). */
roles_holder *roles_holder_new(store *st, const json_t *user, runnel_error *err);
void roles_holder_free(roles_holder *h);
bool roles_holder_superuser(const roles_holder *h);
bool roles_holder_auditor(const roles_holder *h);
/* True if the holder has field on kind's object obj (organization org), by
 * itself or through an implicit parent. */
bool roles_holder_has(const roles_holder *h, store_kind kind, long obj, long org,
                      const char *field);
/* True if the holder holds role id directly (a member of it, or through a team). */
bool roles_holder_direct(const roles_holder *h, long role_id);

/* Forget the memberships of an object's roles (it was deleted) and, for a
 * user or a team, the roles it was given. 0 or -1 with err. */
int roles_forget(store *st, store_kind kind, long obj, runnel_error *err);

#endif
