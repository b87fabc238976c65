/*
 * store.c - the store factory: store_open() picks the backend its settings
 * name (as bus/bus.c does for buses); and what store.h says of relations.
 */
#include "store.h"

#include <errno.h>
#include <string.h>

/* Open the store named by settings->backend. */
store *store_open(const store_settings *settings, runnel_error *err)
{
	const char *b =
	    settings && settings->backend && *settings->backend ? settings->backend : "sqlite";
	if (!strcmp(b, "sqlite"))
		return store_sqlite_open(settings, err);
	if (!strncmp(b, "sqlite:", 7)) {
		if (b[7] != '/')
			return rn_fail(
			           err, EINVAL,
			           "__all__: store: sqlite:PATH needs an absolute path (workers "
			           "open it from another directory)"),
			       NULL;
		return store_sqlite_open(settings, err);
	}
	if (!strncmp(b, "postgresql://", 13) || !strncmp(b, "postgres://", 11))
		return store_pg_open(settings, err);
	/* only the scheme is named: the rest may hold a password */
	return rn_fail(err, EINVAL,
	               "__all__: store: unknown backend '%.*s' (known: sqlite, sqlite:PATH, "
	               "postgresql://USER@HOST:PORT/DB)",
	               (int)strcspn(b, ":"), b),
	       NULL;
}

/* The kinds a relation joins. */
void store_rel_kinds(store_rel rel, store_kind *parent, store_kind *child)
{
	switch (rel) {
	case STORE_REL_JOB_TEMPLATE_CREDENTIALS:
		*parent = STORE_JOB_TEMPLATE;
		*child = STORE_CREDENTIAL;
		break;
	case STORE_REL_JOB_CREDENTIALS:
		*parent = STORE_UNIFIED_JOB;
		*child = STORE_CREDENTIAL;
		break;
	case STORE_REL_GROUP_HOSTS:
		*parent = STORE_GROUP;
		*child = STORE_HOST;
		break;
	case STORE_REL_GROUP_CHILDREN:
		*parent = STORE_GROUP;
		*child = STORE_GROUP;
		break;
	case STORE_REL_ROLE_USERS: /* the parent is a role id (roles.h) */
		*parent = STORE_KIND_COUNT;
		*child = STORE_USER;
		break;
	case STORE_REL_ROLE_TEAMS:
		*parent = STORE_KIND_COUNT;
		*child = STORE_TEAM;
		break;
	case STORE_REL_JOB_NOTIFICATIONS:
		*parent = STORE_UNIFIED_JOB;
		*child = STORE_NOTIFICATION;
		break;
	case STORE_REL_JOB_TEMPLATE_LABELS:
		*parent = STORE_JOB_TEMPLATE;
		*child = STORE_LABEL;
		break;
	case STORE_REL_JOB_LABELS:
		*parent = STORE_UNIFIED_JOB;
		*child = STORE_LABEL;
		break;
	case STORE_REL_WFJT_NODE_SUCCESS:
	case STORE_REL_WFJT_NODE_FAILURE:
	case STORE_REL_WFJT_NODE_ALWAYS:
		*parent = *child = STORE_WORKFLOW_JOB_TEMPLATE_NODE;
		break;
	case STORE_REL_WFJ_NODE_SUCCESS:
	case STORE_REL_WFJ_NODE_FAILURE:
	case STORE_REL_WFJ_NODE_ALWAYS:
		*parent = *child = STORE_WORKFLOW_JOB_NODE;
		break;
	default:
		*parent = *child = STORE_KIND_COUNT;
		if (rel >= STORE_REL_NT_FIRST && rel <= STORE_REL_NT_LAST) {
			static const store_kind owners[] = {STORE_JOB_TEMPLATE, STORE_PROJECT,
			                                    STORE_INVENTORY_SOURCE,
			                                    STORE_ORGANIZATION};
			*parent = owners[(rel - STORE_REL_NT_FIRST) / 3];
			*child = STORE_NOTIFICATION_TEMPLATE;
		}
		break;
	}
}

/* The relation of notification templates of kind for event. */
store_rel store_rel_notification(store_kind kind, int event)
{
	static const store_kind owners[] = {STORE_JOB_TEMPLATE, STORE_PROJECT,
	                                    STORE_INVENTORY_SOURCE, STORE_ORGANIZATION};
	if (event < 0 || event > 2)
		return STORE_REL_NONE;
	for (int i = 0; i < 4; i++)
		if (owners[i] == kind)
			return (store_rel)(STORE_REL_NT_FIRST + i * 3 + event);
	return STORE_REL_NONE;
}
