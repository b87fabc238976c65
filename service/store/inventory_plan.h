/*
 * inventory_plan.h - `ansible-inventory --list` output read into what a
 * backend writes for store_ops.inventory_import, the same for every backend:
 *
 *   hosts      every host named anywhere (a group's "hosts", _meta.hostvars),
 *              in the order first named: name -> {"vars": <its hostvars>}
 *              ("vars" absent when it has none);
 *   groups     every group but all, ungrouped and _meta, in the order given:
 *              name -> {"vars": <its vars, absent when none>, "hosts": [host
 *              names], "children": [group names]} (members that are not in
 *              hosts / groups left out);
 *   all_vars   all's vars when it has any: the inventory's own variables.
 *
 * The backend upserts the hosts and groups by name and marks each as the
 * importing source's (inventory_plan_own); their variables become
 * inventory_plan_vars_text(). On overwrite it replaces each imported group's
 * memberships with these and deletes the hosts and groups the source
 * imported before (inventory_plan_owned) that it no longer names, and only
 * those: what was added by hand stays (AWX's inventory_source.hosts /
 * .groups). Without overwrite it only adds.
 */
#ifndef RUNNELD_STORE_INVENTORY_PLAN_H
#define RUNNELD_STORE_INVENTORY_PLAN_H

#include <jansson.h>
#include <stdbool.h>

#include "runnel.h"

typedef struct inventory_plan {
	json_t *hosts;
	json_t *groups;
	json_t *all_vars; /* NULL: none */
} inventory_plan;

/* Read data into *p (zeroed first). 0, or -1 with EINVAL when data is not an object. */
int inventory_plan_read(const json_t *data, inventory_plan *p, runnel_error *err);
void inventory_plan_free(inventory_plan *p);

/* The variables text of an imported host/group/inventory: vars ({} when
 * NULL) as JSON; unless overwrite_vars, merged over old_text's (AWX's
 * variables_dict.update()). A new string. */
char *inventory_plan_vars_text(const char *old_text, const json_t *vars, bool overwrite_vars);

/* The hidden key of a host's / group's stored data listing the inventory
 * sources that imported it (never shown: only model fields are). */
#define INVENTORY_PLAN_SOURCES_KEY "_imported_by"

/* True if source (> 0) imported the object whose stored data is data. */
bool inventory_plan_owned(const json_t *data, long source);
/* Mark data as imported by source (> 0; 0: nothing). */
void inventory_plan_own(json_t *data, long source);

#endif
