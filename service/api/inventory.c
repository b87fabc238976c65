/*
 * inventory.c - inventories, their hosts and groups (and the group/host
 * associations), variable_data, inventory sources and their updates.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

/* Answer an object that must exist first (404 otherwise); returns false
 * when answered. */
static bool must_exist(api_request *rq, api_response *rs, store_kind kind, long id)
{
	runnel_error err = {0};
	json_t *o = store_get(rq->st, kind, id, &err);
	if (!o) {
		api_error(rs, &err);
		return false;
	}
	json_decref(o);
	return true;
}

/* List objects of kind whose field is id. */
static int list_by(api_request *rq, api_response *rs, store_kind kind, const char *field, long id)
{
	json_t *f = json_pack("{s:I}", field, (json_int_t)id);
	api_list_opts o = {.filters = f};
	api_list(rq, rs, kind, &o);
	json_decref(f);
	return 0;
}

/* GET/POST a list, GET/PUT/PATCH/DELETE one: the plain parts. */
static int plain_list(api_request *rq, api_response *rs, store_kind kind)
{
	if (!strcmp(rq->method, "GET"))
		return api_list(rq, rs, kind, NULL);
	return api_create(rq, rs, kind, NULL, NULL);
}

/* GET/PUT/PATCH/DELETE one object. */
static int plain_one(api_request *rq, api_response *rs, store_kind kind)
{
	if (!strcmp(rq->method, "GET"))
		return api_get(rq, rs, kind, rq->ids[0], NULL);
	if (!strcmp(rq->method, "DELETE"))
		return api_delete(rq, rs, kind, rq->ids[0]);
	return api_update(rq, rs, kind, rq->ids[0]);
}

/* /api/v2/inventories/ */
static int inventories(api_request *rq, api_response *rs)
{
	return plain_list(rq, rs, STORE_INVENTORY);
}
/* /api/v2/inventories/N/ */
static int inventory_one(api_request *rq, api_response *rs)
{
	return plain_one(rq, rs, STORE_INVENTORY);
}
/* /api/v2/hosts/ */
static int hosts(api_request *rq, api_response *rs)
{
	return plain_list(rq, rs, STORE_HOST);
}
/* /api/v2/hosts/N/ */
static int host_one(api_request *rq, api_response *rs)
{
	return plain_one(rq, rs, STORE_HOST);
}
/* /api/v2/groups/ */
static int groups(api_request *rq, api_response *rs)
{
	return plain_list(rq, rs, STORE_GROUP);
}
/* /api/v2/groups/N/ */
static int group_one(api_request *rq, api_response *rs)
{
	return plain_one(rq, rs, STORE_GROUP);
}
/* /api/v2/inventory_sources/ */
static int sources(api_request *rq, api_response *rs)
{
	return plain_list(rq, rs, STORE_INVENTORY_SOURCE);
}
/* /api/v2/inventory_sources/N/ */
static int source_one(api_request *rq, api_response *rs)
{
	return plain_one(rq, rs, STORE_INVENTORY_SOURCE);
}

/* GET/POST /api/v2/inventories/N/<kind>/: the inventory's hosts, groups or
 * sources; a POST creates one in this inventory. */
static int inventory_children(api_request *rq, api_response *rs, store_kind kind)
{
	if (!must_exist(rq, rs, STORE_INVENTORY, rq->ids[0]))
		return 0;
	if (!strcmp(rq->method, "GET"))
		return list_by(rq, rs, kind, "inventory", rq->ids[0]);
	json_t *forced = json_pack("{s:I}", "inventory", (json_int_t)rq->ids[0]);
	api_create(rq, rs, kind, forced, NULL);
	json_decref(forced);
	return 0;
}

/* /api/v2/inventories/N/hosts/ */
static int inventory_hosts(api_request *rq, api_response *rs)
{
	return inventory_children(rq, rs, STORE_HOST);
}
/* /api/v2/inventories/N/groups/ */
static int inventory_groups(api_request *rq, api_response *rs)
{
	return inventory_children(rq, rs, STORE_GROUP);
}
/* /api/v2/inventories/N/inventory_sources/ */
static int inventory_sources(api_request *rq, api_response *rs)
{
	return inventory_children(rq, rs, STORE_INVENTORY_SOURCE);
}

/* The inventory of a group, for children created under it. */
static long group_inventory(api_request *rq, api_response *rs, long group)
{
	runnel_error err = {0};
	json_t *g = store_get(rq->st, STORE_GROUP, group, &err);
	if (!g) {
		api_error(rs, &err);
		return 0;
	}
	long inv = (long)json_integer_value(json_object_get(g, "inventory"));
	json_decref(g);
	return inv;
}

/* GET/POST /api/v2/groups/N/hosts/ (or children/): list, associate,
 * disassociate, or create in the group's inventory and associate. */
static int group_members(api_request *rq, api_response *rs, store_kind kind, store_rel rel)
{
	long inv = group_inventory(rq, rs, rq->ids[0]);
	if (!inv)
		return 0;
	json_t *forced = json_pack("{s:I}", "inventory", (json_int_t)inv);
	api_sublist(rq, rs, kind, rel, rq->ids[0], forced);
	json_decref(forced);
	return 0;
}

/* /api/v2/groups/N/hosts/ */
static int group_hosts(api_request *rq, api_response *rs)
{
	return group_members(rq, rs, STORE_HOST, STORE_REL_GROUP_HOSTS);
}
/* /api/v2/groups/N/children/ */
static int group_children(api_request *rq, api_response *rs)
{
	return group_members(rq, rs, STORE_GROUP, STORE_REL_GROUP_CHILDREN);
}

/* GET/POST /api/v2/hosts/N/groups/: the groups of a host; POST {"id": G}
 * puts the host in group G (disassociate: takes it out). */
static int host_groups(api_request *rq, api_response *rs)
{
	if (!must_exist(rq, rs, STORE_HOST, rq->ids[0]))
		return 0;
	if (!strcmp(rq->method, "GET")) {
		api_list_opts o = {
		    .rel = STORE_REL_GROUP_HOSTS, .rel_parent = rq->ids[0], .rel_reverse = true};
		return api_list(rq, rs, STORE_GROUP, &o);
	}
	json_t *body = api_body_object(rq, rs);
	if (!body)
		return 0;
	static const char *const allowed[] = {"id", "disassociate", NULL};
	json_t *id = json_object_get(body, "id");
	if (!api_body_only(body, allowed, rs)) {
		json_decref(body);
		return 0;
	}
	if (!json_is_integer(id)) {
		json_decref(body);
		return api_field_error(
		    rs, "id", id ? "A valid integer is required." : "This field is required.");
	}
	bool detach = json_is_true(json_object_get(body, "disassociate"));
	long group = (long)json_integer_value(id);
	json_decref(body);
	if (!must_exist(rq, rs, STORE_GROUP, group))
		return 0;
	runnel_error err = {0};
	int rc = detach ? store_disassociate(rq->st, STORE_REL_GROUP_HOSTS, group, rq->ids[0], &err)
	                : store_associate(rq->st, STORE_REL_GROUP_HOSTS, group, rq->ids[0], &err);
	if (rc < 0)
		return api_error(rs, &err);
	api_record_association(rq, STORE_REL_GROUP_HOSTS, detach ? "disassociate" : "associate",
	                       group, rq->ids[0]);
	rs->status = 204;
	return 0;
}

/* GET/PUT/PATCH <object>/variable_data/: the variables as an object. */
static int variable_data(api_request *rq, api_response *rs, store_kind kind)
{
	runnel_error err = {0};
	if (strcmp(rq->method, "GET")) {
		json_t *body = api_body_object(rq, rs);
		if (!body)
			return 0;
		char *text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		json_t *f = json_pack("{s:s}", "variables", text);
		free(text);
		json_t *before = store_get(rq->st, kind, rq->ids[0], &err);
		json_t *o = before ? store_update(rq->st, kind, rq->ids[0], f, 0, &err) : NULL;
		if (o)
			api_activity_record(rq, "update", kind, rq->ids[0], before, o, f,
			                    STORE_KIND_COUNT, 0, NULL);
		json_decref(before);
		json_decref(f);
		if (!o)
			return api_error(rs, &err);
		json_decref(o);
	}
	json_t *o = store_get(rq->st, kind, rq->ids[0], &err);
	if (!o)
		return api_error(rs, &err);
	const char *text = json_string_value(json_object_get(o, "variables"));
	json_t *vars = text && *text ? json_loads(text, 0, NULL) : NULL;
	json_decref(o);
	if (!json_is_object(vars)) {
		json_decref(vars);
		vars = json_object();
	}
	return api_json(rs, 200, vars);
}

/* /api/v2/inventories/N/variable_data/ */
static int inventory_vars(api_request *rq, api_response *rs)
{
	return variable_data(rq, rs, STORE_INVENTORY);
}
/* /api/v2/hosts/N/variable_data/ */
static int host_vars(api_request *rq, api_response *rs)
{
	return variable_data(rq, rs, STORE_HOST);
}
/* /api/v2/groups/N/variable_data/ */
static int group_vars(api_request *rq, api_response *rs)
{
	return variable_data(rq, rs, STORE_GROUP);
}

/* GET /api/v2/inventory_sources/N/update/: can it update. */
static int source_can_update(api_request *rq, api_response *rs)
{
	if (!must_exist(rq, rs, STORE_INVENTORY_SOURCE, rq->ids[0]))
		return 0;
	return api_json(rs, 200, json_pack("{s:b}", "can_update", 1));
}

/* POST /api/v2/inventory_sources/N/update/: start an inventory update (202). */
static int source_update(api_request *rq, api_response *rs)
{
	static const char *const allowed[] = {"extra_vars", NULL};
	if (!api_body_acceptable(rq, rs, allowed))
		return 0;
	runnel_error err = {0};
	json_t *job = engine_launch_inventory_update(rq->eng, rq->ids[0], rq->user_id, &err);
	if (!job)
		return api_error(rs, &err);
	json_object_set(job, "inventory_update", json_object_get(job, "id"));
	api_logf(rq, "inventory_update %lld launched from inventory_source %ld by user %ld",
	         (long long)json_integer_value(json_object_get(job, "id")), rq->ids[0],
	         rq->user_id);
	return api_json(rs, 202, job);
}

/* GET /api/v2/inventory_sources/N/inventory_updates/. */
static int source_updates(api_request *rq, api_response *rs)
{
	if (!must_exist(rq, rs, STORE_INVENTORY_SOURCE, rq->ids[0]))
		return 0;
	return list_by(rq, rs, STORE_INVENTORY_UPDATE, "inventory_source", rq->ids[0]);
}

const api_route api_routes_inventory[] = {
    {"/api/v2/inventories/", inventories, inventories, NULL, NULL, NULL, false},
    {"/api/v2/inventories/{id}/", inventory_one, NULL, inventory_one, inventory_one, inventory_one,
     false},
    {"/api/v2/inventories/{id}/hosts/", inventory_hosts, inventory_hosts, NULL, NULL, NULL, false},
    {"/api/v2/inventories/{id}/groups/", inventory_groups, inventory_groups, NULL, NULL, NULL,
     false},
    {"/api/v2/inventories/{id}/inventory_sources/", inventory_sources, inventory_sources, NULL,
     NULL, NULL, false},
    {"/api/v2/inventories/{id}/variable_data/", inventory_vars, NULL, inventory_vars,
     inventory_vars, NULL, false},
    {"/api/v2/hosts/", hosts, hosts, NULL, NULL, NULL, false},
    {"/api/v2/hosts/{id}/", host_one, NULL, host_one, host_one, host_one, false},
    {"/api/v2/hosts/{id}/groups/", host_groups, host_groups, NULL, NULL, NULL, false},
    {"/api/v2/hosts/{id}/all_groups/", host_groups, NULL, NULL, NULL, NULL, false},
    {"/api/v2/hosts/{id}/variable_data/", host_vars, NULL, host_vars, host_vars, NULL, false},
    {"/api/v2/groups/", groups, groups, NULL, NULL, NULL, false},
    {"/api/v2/groups/{id}/", group_one, NULL, group_one, group_one, group_one, false},
    {"/api/v2/groups/{id}/hosts/", group_hosts, group_hosts, NULL, NULL, NULL, false},
    {"/api/v2/groups/{id}/all_hosts/", group_hosts, NULL, NULL, NULL, NULL, false},
    {"/api/v2/groups/{id}/children/", group_children, group_children, NULL, NULL, NULL, false},
    {"/api/v2/groups/{id}/variable_data/", group_vars, NULL, group_vars, group_vars, NULL, false},
    {"/api/v2/inventory_sources/", sources, sources, NULL, NULL, NULL, false},
    {"/api/v2/inventory_sources/{id}/", source_one, NULL, source_one, source_one, source_one,
     false},
    {"/api/v2/inventory_sources/{id}/update/", source_can_update, source_update, NULL, NULL, NULL,
     false},
    {"/api/v2/inventory_sources/{id}/inventory_updates/", source_updates, NULL, NULL, NULL, NULL,
     false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false},
};
