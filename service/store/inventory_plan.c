/* inventory_plan.c - ansible-inventory --list output read for an import (inventory_plan.h). */
#include "inventory_plan.h"

#include <errno.h>
#include <string.h>

#include "datafile.h"
#include "util.h"

/* {"vars": v} ({} when v is NULL). */
static json_t *with_vars(json_t *v)
{
	json_t *o = json_object();
	if (v)
		json_object_set(o, "vars", v);
	return o;
}

/* The names of list that are keys of known, as a new array. */
static json_t *known_names(const json_t *list, const json_t *known)
{
	json_t *out = json_array();
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
		if (json_is_string(x) && json_object_get(known, json_string_value(x)))
			json_array_append(out, x);
	return out;
}

int inventory_plan_read(const json_t *data, inventory_plan *p, runnel_error *err)
{
	memset(p, 0, sizeof *p);
	if (!json_is_object(data))
		return rn_fail(err, EINVAL, "__all__: inventory data is not an object");
	json_t *hostvars = json_object_get(json_object_get(data, "_meta"), "hostvars");
	p->hosts = json_object();
	p->groups = json_object();
	/* hosts: every host named anywhere, then those with hostvars only */
	const char *name;
	json_t *g;
	json_object_foreach((json_t *)data, name, g) {
		size_t i;
		json_t *h;
		json_array_foreach(json_object_get(g, "hosts"), i, h)
			if (json_is_string(h) && !json_object_get(p->hosts, json_string_value(h)))
				json_object_set_new(
				    p->hosts, json_string_value(h),
				    with_vars(json_object_get(hostvars, json_string_value(h))));
	}
	json_t *v;
	json_object_foreach(hostvars, name, v)
		if (!json_object_get(p->hosts, name))
			json_object_set_new(p->hosts, name, with_vars(v));
	/* groups, then their members (a child may come after its parent) */
	json_object_foreach((json_t *)data, name, g) {
		if (!strcmp(name, "_meta") || !strcmp(name, "ungrouped") || !json_is_object(g))
			continue;
		if (!strcmp(name, "all")) { /* all's vars are the inventory's variables */
			json_t *av = json_object_get(g, "vars");
			if (json_object_size(av))
				p->all_vars = json_incref(av);
			continue;
		}
		json_object_set_new(p->groups, name, with_vars(json_object_get(g, "vars")));
	}
	json_object_foreach(p->groups, name, g) {
		json_t *src = json_object_get(data, name);
		json_object_set_new(g, "hosts",
		                    known_names(json_object_get(src, "hosts"), p->hosts));
		json_object_set_new(g, "children",
		                    known_names(json_object_get(src, "children"), p->groups));
	}
	return 0;
}

void inventory_plan_free(inventory_plan *p)
{
	json_decref(p->hosts);
	json_decref(p->groups);
	json_decref(p->all_vars);
	memset(p, 0, sizeof *p);
}

char *inventory_plan_vars_text(const char *old_text, const json_t *vars, bool overwrite_vars)
{
	json_t *out = NULL;
	if (!overwrite_vars && old_text && *old_text) {
		runnel_error e = {0};
		json_t *old = rn_datafile_parse("variables", old_text, strlen(old_text), &e);
		if (json_is_object(old))
			out = old;
		else
			json_decref(old);
	}
	if (!out)
		out = json_object();
	if (json_is_object(vars))
		json_object_update(out, (json_t *)vars);
	char *t = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(out);
	return t;
}

bool inventory_plan_owned(const json_t *data, long source)
{
	size_t i;
	json_t *x;
	if (source <= 0)
		return false;
	json_array_foreach(json_object_get(data, INVENTORY_PLAN_SOURCES_KEY), i, x)
		if (json_integer_value(x) == source)
			return true;
	return false;
}

void inventory_plan_own(json_t *data, long source)
{
	if (source <= 0 || inventory_plan_owned(data, source))
		return;
	json_t *a = json_object_get(data, INVENTORY_PLAN_SOURCES_KEY);
	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(data, INVENTORY_PLAN_SOURCES_KEY, a);
	}
	json_array_append_new(a, json_integer(source));
}
