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
 * The backend upserts the hosts and groups by name (variables as the JSON
 * text of vars, "{}" when absent), replaces each group's memberships with
 * these, and on overwrite deletes the inventory's hosts and groups not named.
 */
#ifndef RUNNELD_STORE_INVENTORY_PLAN_H
#define RUNNELD_STORE_INVENTORY_PLAN_H

#include <jansson.h>

#include "runnel.h"

typedef struct inventory_plan {
	json_t *hosts;
	json_t *groups;
	json_t *all_vars; /* NULL: none */
} inventory_plan;

/* Read data into *p (zeroed first). 0, or -1 with EINVAL when data is not an object. */
int inventory_plan_read(const json_t *data, inventory_plan *p, runnel_error *err);
void inventory_plan_free(inventory_plan *p);

#endif
