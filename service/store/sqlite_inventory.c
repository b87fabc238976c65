/*
 * sqlite_inventory.c - an inventory read for ansible (inventory_render.c shapes
 * it) and `ansible-inventory --list` output imported into one.
 */
#include "sqlite_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_common.h"
#include "inventory_plan.h"
#include "inventory_render.h"

/* The inventory as ansible-inventory --list prints it (inventory_render.h). */
json_t *sq_inventory_script(store *st, long inv, runnel_error *err)
{
	sq *s = SQ(st);
	json_t *out = NULL;
	inventory_rows rows = {0};
	json_t *invdata = NULL;
	sq_lock(s);
	if (sq_read_raw(s, STORE_INVENTORY, inv, &invdata, NULL, err) < 0)
		goto out;
	static const char *const members[] = {
	    "SELECT id, name, json_extract(data,'$.variables') FROM groups"
	    " WHERE json_extract(data,'$.inventory')=? ORDER BY name",
	    "SELECT id, name, json_extract(data,'$.variables') FROM hosts"
	    " WHERE json_extract(data,'$.inventory')=? AND json_extract(data,'$.enabled')"
	    " ORDER BY name",
	};
	for (int m = 0; m < 2; m++) {
		sqlite3_stmt *stm = sq_prep(s, members[m], err);
		if (!stm)
			goto out;
		sqlite3_bind_int64(stm, 1, inv);
		while (sqlite3_step(stm) == SQLITE_ROW)
			(m ? inventory_rows_add_host
			   : inventory_rows_add_group)(&rows, (long)sqlite3_column_int64(stm, 0),
			                               sq_col_text(stm, 1), sq_col_text(stm, 2));
		sqlite3_reset(stm);
	}
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SELECT rel, parent, child FROM relations WHERE rel IN (%d,%d) AND parent IN"
	         " (SELECT id FROM groups WHERE json_extract(data,'$.inventory')=?)"
	         " ORDER BY rel, parent, child",
	         STORE_REL_GROUP_HOSTS, STORE_REL_GROUP_CHILDREN);
	sqlite3_stmt *stm = sq_prep(s, sql, err);
	if (!stm)
		goto out;
	sqlite3_bind_int64(stm, 1, inv);
	while (sqlite3_step(stm) == SQLITE_ROW)
		inventory_rows_add_edge(
		    &rows, sqlite3_column_int(stm, 0) == STORE_REL_GROUP_CHILDREN,
		    (long)sqlite3_column_int64(stm, 1), (long)sqlite3_column_int64(stm, 2));
	sqlite3_reset(stm);
	out = inventory_render(json_string_value(json_object_get(invdata, "variables")), &rows);
out:
	sq_unlock(s);
	json_decref(invdata);
	inventory_rows_free(&rows);
	return out;
}

/* Set the inventory's variables to vars (merged unless overwrite_vars); lock held. */
static int set_inventory_vars(sq *s, long inv, const json_t *vars, bool overwrite_vars,
                              runnel_error *err)
{
	json_t *d;
	if (sq_read_raw(s, STORE_INVENTORY, inv, &d, NULL, err) < 0)
		return -1;
	char *t = inventory_plan_vars_text(json_string_value(json_object_get(d, "variables")), vars,
	                                   overwrite_vars);
	json_object_set_new(d, "variables", json_string(t));
	free(t);
	int rc = sq_write_raw(s, STORE_INVENTORY, inv, d, NULL, err);
	json_decref(d);
	return rc;
}

/* Give group gid the hosts and children of the plan's group g: replacing
 * its others on overwrite, else added to them; lock held. */
static int set_members(sq *s, long gid, const json_t *g, const json_t *hostids,
                       const json_t *groupids, bool overwrite, runnel_error *err)
{
	if (overwrite &&
	    sq_exec_id(s, "DELETE FROM relations WHERE rel IN (3,4) AND parent=?", gid, err) < 0)
		return -1;
	sqlite3_stmt *ins =
	    sq_prep(s, "INSERT OR IGNORE INTO relations(rel, parent, child) VALUES(?,?,?)", err);
	if (!ins)
		return -1;
	const struct {
		const char *key;
		const json_t *ids;
		store_rel rel;
	} members[] = {{"hosts", hostids, STORE_REL_GROUP_HOSTS},
	               {"children", groupids, STORE_REL_GROUP_CHILDREN}};
	for (int m = 0; m < 2; m++) {
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(g, members[m].key), i, x) {
			sqlite3_reset(ins);
			sqlite3_bind_int(ins, 1, members[m].rel);
			sqlite3_bind_int64(ins, 2, gid);
			sqlite3_bind_int64(ins, 3,
			                   json_integer_value(json_object_get(
			                       members[m].ids, json_string_value(x))));
			sqlite3_step(ins);
		}
	}
	sqlite3_reset(ins);
	return 0;
}

/* Delete the inventory's hosts (groups: the groups) that source imported
 * and keep does not name, with their relations; lock held. */
static int drop_unnamed(sq *s, long inv, long source, bool groups, const json_t *keep,
                        runnel_error *err)
{
	char sql[160];
	snprintf(sql, sizeof sql,
	         "SELECT id, name, data FROM %s WHERE json_extract(data,'$.inventory')=?",
	         groups ? "groups" : "hosts");
	sqlite3_stmt *sel = sq_prep(s, sql, err);
	json_t *gone = json_array();
	if (sel) {
		sqlite3_bind_int64(sel, 1, inv);
		while (sqlite3_step(sel) == SQLITE_ROW) {
			if (json_object_get(keep, sq_col_text(sel, 1)))
				continue;
			json_t *d = json_loads(sq_col_text(sel, 2), 0, NULL);
			bool mine = inventory_plan_owned(d, source);
			json_decref(d);
			if (mine)
				json_array_append_new(gone,
				                      json_integer(sqlite3_column_int64(sel, 0)));
		}
		sqlite3_reset(sel);
	}
	int rc = 0;
	size_t i;
	json_t *x;
	json_array_foreach(gone, i, x) {
		long id = (long)json_integer_value(x);
		if (groups) {
			sq_exec_id(s, "DELETE FROM relations WHERE rel IN (3,4) AND parent=?", id,
			           err);
			sq_exec_id(s, "DELETE FROM relations WHERE rel=4 AND child=?", id, err);
			rc = sq_exec_id(s, "DELETE FROM groups WHERE id=?", id, err);
		} else {
			sq_exec_id(s, "DELETE FROM relations WHERE rel=3 AND child=?", id, err);
			rc = sq_exec_id(s, "DELETE FROM hosts WHERE id=?", id, err);
		}
	}
	json_decref(gone);
	return rc;
}

/* Import ansible-inventory --list output (inventory_plan.h) in one transaction. */
int sq_inventory_import(store *st, long inv, const json_t *data, long source, bool overwrite,
                        bool overwrite_vars, long *nhosts, long *ngroups, runnel_error *err)
{
	sq *s = SQ(st);
	inventory_plan plan;
	if (inventory_plan_read(data, &plan, err) < 0)
		return -1;
	sq_lock(s);
	if (!sq_exists(s, STORE_INVENTORY, inv)) {
		sq_unlock(s);
		inventory_plan_free(&plan);
		return rn_fail(err, ENOENT, "__all__: Not found.");
	}
	if (sq_exec_sql(s, "BEGIN IMMEDIATE", err) < 0) {
		sq_unlock(s);
		inventory_plan_free(&plan);
		return -1;
	}
	json_t *hostids = json_object(), *groupids = json_object();
	long nh = 0, ng = 0;
	int rc = 0;
	const char *name;
	json_t *m;
	json_object_foreach(plan.hosts, name, m) {
		long id =
		    store_upsert_member(&sq_raw_ops, s, STORE_HOST, inv, name,
		                        json_object_get(m, "vars"), source, overwrite_vars, err);
		if (!id) {
			rc = -1;
			break;
		}
		json_object_set_new(hostids, name, json_integer(id));
		nh++;
	}
	if (rc == 0 && plan.all_vars)
		rc = set_inventory_vars(s, inv, plan.all_vars, overwrite_vars, err);
	json_object_foreach(plan.groups, name, m) {
		if (rc < 0)
			break;
		long id =
		    store_upsert_member(&sq_raw_ops, s, STORE_GROUP, inv, name,
		                        json_object_get(m, "vars"), source, overwrite_vars, err);
		if (!id) {
			rc = -1;
			break;
		}
		json_object_set_new(groupids, name, json_integer(id));
		ng++;
	}
	json_object_foreach(plan.groups, name, m) {
		if (rc < 0)
			break;
		rc = set_members(s, (long)json_integer_value(json_object_get(groupids, name)), m,
		                 hostids, groupids, overwrite, err);
	}
	if (rc == 0 && overwrite) /* drop what the source no longer has */
		rc = drop_unnamed(s, inv, source, false, hostids, err) < 0 ||
		             drop_unnamed(s, inv, source, true, groupids, err) < 0
		         ? -1
		         : 0;
	if (rc == 0)
		rc = sq_exec_sql(s, "COMMIT", err);
	else
		sq_exec_sql(s, "ROLLBACK", NULL);
	sq_unlock(s);
	json_decref(hostids);
	json_decref(groupids);
	inventory_plan_free(&plan);
	if (nhosts)
		*nhosts = nh;
	if (ngroups)
		*ngroups = ng;
	return rc;
}
