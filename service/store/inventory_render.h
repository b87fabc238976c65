/*
 * inventory_render.h - an inventory as `ansible-inventory --list` prints it,
 * from plain rows a backend read (store_ops.inventory_script):
 *
 *   {"_meta": {"hostvars": {"<host>": {...}}},
 *    "all": {"children": [<groups without a parent>..., "ungrouped"], "vars": {...}},
 *    "<group>": {"hosts": [...], "children": [...], "vars": {...}},
 *    "ungrouped": {"hosts": [<hosts in no group>]},      (when there are any)
 *    "__host_ids": {"<host>": id}}
 *
 * Variables are kept as text (JSON or YAML); a text that is not a JSON object
 * is handed on as {"__yaml": text} so nothing is lost (the worker writes it
 * as YAML).
 */
#ifndef RUNNELD_STORE_INVENTORY_RENDER_H
#define RUNNELD_STORE_INVENTORY_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* A host or a group: id, name, variables text. */
typedef struct inventory_member {
	long id;
	char *name;
	char *variables;
} inventory_member;

/* A group's host (GROUP_HOSTS) or child group (GROUP_CHILDREN). */
typedef struct inventory_edge {
	long parent, child;
} inventory_edge;

/* What the rendering reads. Zero-initialize; the _add calls copy strings. */
typedef struct inventory_rows {
	inventory_member *groups, *hosts;
	size_t ngroups, nhosts;
	inventory_edge *group_hosts, *group_children;
	size_t ngroup_hosts, ngroup_children;
} inventory_rows;

/* Add a group / an enabled host (in name order: the output keeps the order). */
void inventory_rows_add_group(inventory_rows *r, long id, const char *name, const char *vars);
void inventory_rows_add_host(inventory_rows *r, long id, const char *name, const char *vars);
/* Add an edge (in child id order within each parent). children: a child
 * group; else a host. Edges to hosts or groups not added are ignored. */
void inventory_rows_add_edge(inventory_rows *r, bool children, long parent, long child);
void inventory_rows_free(inventory_rows *r);

/* The inventory (its own variables text inventory_vars, may be NULL) as
 * `ansible-inventory --list` prints it. A new object. */
json_t *inventory_render(const char *inventory_vars, const inventory_rows *r);

/* Variables text as an object (a new one): {} for none, the object of a
 * JSON object text, else {"__yaml": text}. */
json_t *inventory_vars_object(const char *text);

#endif
