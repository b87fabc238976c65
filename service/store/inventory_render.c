/* inventory_render.c - rows of an inventory as ansible-inventory --list
 * output (inventory_render.h). */
#include "inventory_render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

json_t *inventory_vars_object(const char *text)
{
	if (!text || !*text)
		return json_object();
	json_t *o = json_loads(text, 0, NULL);
	if (json_is_object(o))
		return o;
	json_decref(o);
	return json_pack("{s:s}", "__yaml", text);
}

static void add_member(inventory_member **v, size_t *n, long id, const char *name, const char *vars)
{
	*v = rn_xrealloc(*v, sizeof **v * (*n + 1));
	(*v)[(*n)++] =
	    (inventory_member){id, rn_xstrdup(name ? name : ""), vars ? rn_xstrdup(vars) : NULL};
}

void inventory_rows_add_group(inventory_rows *r, long id, const char *name, const char *vars)
{
	add_member(&r->groups, &r->ngroups, id, name, vars);
}

void inventory_rows_add_host(inventory_rows *r, long id, const char *name, const char *vars)
{
	add_member(&r->hosts, &r->nhosts, id, name, vars);
}

void inventory_rows_add_edge(inventory_rows *r, bool children, long parent, long child)
{
	inventory_edge **v = children ? &r->group_children : &r->group_hosts;
	size_t *n = children ? &r->ngroup_children : &r->ngroup_hosts;
	*v = rn_xrealloc(*v, sizeof **v * (*n + 1));
	(*v)[(*n)++] = (inventory_edge){parent, child};
}

static void free_members(inventory_member *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].variables);
	}
	free(v);
}

void inventory_rows_free(inventory_rows *r)
{
	free_members(r->groups, r->ngroups);
	free_members(r->hosts, r->nhosts);
	free(r->group_hosts);
	free(r->group_children);
	memset(r, 0, sizeof *r);
}

/* id -> name of members, as an object keyed by the decimal id. */
static json_t *names_by_id(const inventory_member *v, size_t n)
{
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++) {
		char k[32];
		snprintf(k, sizeof k, "%ld", v[i].id);
		json_object_set_new(o, k, json_string(v[i].name));
	}
	return o;
}

/* Append the names of the edges' children known in names to group[key];
 * mark each in seen. */
static void add_members(json_t *out, const json_t *gnames, const inventory_edge *e, size_t n,
                        const json_t *names, const char *key, json_t *seen)
{
	for (size_t i = 0; i < n; i++) {
		char pk[32], ck[32];
		snprintf(pk, sizeof pk, "%ld", e[i].parent);
		snprintf(ck, sizeof ck, "%ld", e[i].child);
		json_t *gname = json_object_get(gnames, pk);
		json_t *cname = json_object_get(names, ck);
		if (!gname || !cname)
			continue;
		json_array_append(
		    json_object_get(json_object_get(out, json_string_value(gname)), key), cname);
		json_object_set_new(seen, json_string_value(cname), json_true());
	}
}

json_t *inventory_render(const char *inventory_vars, const inventory_rows *r)
{
	json_t *out = json_object();
	json_t *hostvars = json_object();
	json_t *ids = json_object();
	json_t *all =
	    json_pack("{s:[],s:o}", "children", "vars", inventory_vars_object(inventory_vars));
	for (size_t i = 0; i < r->ngroups; i++)
		json_object_set_new(out, r->groups[i].name,
		                    json_pack("{s:[],s:[],s:o}", "hosts", "children", "vars",
		                              inventory_vars_object(r->groups[i].variables)));
	for (size_t i = 0; i < r->nhosts; i++) {
		json_object_set_new(hostvars, r->hosts[i].name,
		                    inventory_vars_object(r->hosts[i].variables));
		json_object_set_new(ids, r->hosts[i].name, json_integer(r->hosts[i].id));
	}
	json_t *gnames = names_by_id(r->groups, r->ngroups);
	json_t *hnames = names_by_id(r->hosts, r->nhosts);
	/* memberships: a group's hosts, its children */
	json_t *grouped = json_object(), *has_parent = json_object();
	add_members(out, gnames, r->group_hosts, r->ngroup_hosts, hnames, "hosts", grouped);
	add_members(out, gnames, r->group_children, r->ngroup_children, gnames, "children",
	            has_parent);
	/* all's children: the groups nobody contains, then "ungrouped" */
	for (size_t i = 0; i < r->ngroups; i++)
		if (!json_object_get(has_parent, r->groups[i].name))
			json_array_append_new(json_object_get(all, "children"),
			                      json_string(r->groups[i].name));
	json_t *ungrouped = json_pack("{s:[]}", "hosts");
	for (size_t i = 0; i < r->nhosts; i++)
		if (!json_object_get(grouped, r->hosts[i].name))
			json_array_append_new(json_object_get(ungrouped, "hosts"),
			                      json_string(r->hosts[i].name));
	if (json_array_size(json_object_get(ungrouped, "hosts"))) {
		json_object_set_new(out, "ungrouped", ungrouped);
		json_array_append_new(json_object_get(all, "children"), json_string("ungrouped"));
	} else {
		json_decref(ungrouped);
	}
	json_object_set_new(out, "all", all);
	json_object_set_new(out, "_meta", json_pack("{s:o}", "hostvars", hostvars));
	json_object_set_new(out, "__host_ids", ids);
	json_decref(gnames);
	json_decref(hnames);
	json_decref(grouped);
	json_decref(has_parent);
	return out;
}
