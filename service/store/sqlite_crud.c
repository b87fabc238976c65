/*
 * sqlite_crud.c - objects of every kind: create, get, update, remove, and the
 * many-to-many relations; rows handed to shape.c for their AWX shape.
 */
#include "sqlite_internal.h"

#include "backend_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify_model.h"
#include "shape.h"

/* shape_source.lookup: the name (and data) of an object. */
static bool src_lookup(void *ctx, store_kind kind, long id, char **name, json_t **data)
{
	sq *s = ctx;
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT name, data FROM %s WHERE id=?", sq_table_of(kind));
	runnel_error e;
	sqlite3_stmt *st = sq_prep(s, sql, &e);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, id);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		*name = rn_xstrdup(sq_col_text(st, 0));
		if (data)
			*data = json_loads(sq_col_text(st, 1), 0, NULL);
	}
	sqlite3_reset(st);
	return found;
}

/* shape_source.count */
static long src_count(void *ctx, shape_count what, long id)
{
	static const char *const sql[] = {
	    [SHAPE_INVENTORY_HOSTS] =
	        "SELECT count(*) FROM hosts WHERE json_extract(data,'$.inventory')=?",
	    [SHAPE_INVENTORY_GROUPS] =
	        "SELECT count(*) FROM groups WHERE json_extract(data,'$.inventory')=?",
	    [SHAPE_INVENTORY_SOURCES] =
	        "SELECT count(*) FROM inventory_sources WHERE json_extract(data,'$.inventory')=?",
	};
	return sq_count_where(ctx, sql[what], id);
}

/* shape_source.host_status: a job's hosts by AWX's status order. */
static bool src_host_status(void *ctx, long job_id, long n[SHAPE_HOST_STATUSES])
{
	sq *s = ctx;
	runnel_error e;
	sqlite3_stmt *st = sq_prep(
	    s,
	    "SELECT sum(CASE WHEN dark>0 THEN 1 ELSE 0 END),"
	    " sum(CASE WHEN dark=0 AND failures>0 THEN 1 ELSE 0 END),"
	    " sum(CASE WHEN dark=0 AND failures=0 AND changed>0 THEN 1 ELSE 0 END),"
	    " sum(CASE WHEN dark=0 AND failures=0 AND changed=0 AND ok>0 THEN 1 ELSE 0 END),"
	    " sum(CASE WHEN dark=0 AND failures=0 AND changed=0 AND ok=0 AND skipped>0"
	    " THEN 1 ELSE 0 END),"
	    " count(*) FROM host_summaries WHERE job_id=?",
	    &e);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, job_id);
	bool any = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 5) > 0;
	if (any)
		for (int i = 0; i < SHAPE_HOST_STATUSES; i++)
			n[i] = (long)sqlite3_column_int64(st, i);
	sqlite3_reset(st);
	return any;
}

/* The shape_source of a connection. */
static shape_source source_of(sq *s)
{
	return (shape_source){
	    .ctx = s, .lookup = src_lookup, .count = src_count, .host_status = src_host_status};
}

/* Get one object; the caller holds the lock. */
json_t *sq_get_locked(sq *s, store_kind kind, long id, runnel_error *err)
{
	char sql[200];
	if (model_is_job_kind(kind))
		snprintf(sql, sizeof sql,
		         "SELECT created, modified, name, data, secret, events_stored, type"
		         " FROM unified_jobs WHERE id=?");
	else
		snprintf(sql, sizeof sql,
		         "SELECT created, modified, name, data, secret, 0, '' FROM %s WHERE id=?",
		         sq_table_of(kind));
	sqlite3_stmt *st = sq_prep(s, sql, err);
	if (!st)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			rn_fail(err, ENOENT, "__all__: Not found.");
		else
			sq_db_fail(s, err, "get");
		return NULL;
	}
	if (model_is_job_kind(kind) && kind != STORE_UNIFIED_JOB &&
	    strcmp(sq_col_text(st, 6), store_kind_type(kind))) {
		sqlite3_reset(st);
		rn_fail(err, ENOENT, "__all__: Not found.");
		return NULL;
	}
	char *created = rn_xstrdup(sq_col_text(st, 0)), *modified = rn_xstrdup(sq_col_text(st, 1));
	char *name = rn_xstrdup(sq_col_text(st, 2));
	json_t *data = json_loads(sq_col_text(st, 3), 0, NULL);
	char *secret =
	    sqlite3_column_type(st, 4) == SQLITE_NULL ? NULL : rn_xstrdup(sq_col_text(st, 4));
	long evs = (long)sqlite3_column_int64(st, 5);
	/* shaping reads other rows through the same statement cache */
	sqlite3_reset(st);
	shape_source src = source_of(s);
	shape_row row = {.kind = kind,
	                 .id = id,
	                 .created = created,
	                 .modified = modified,
	                 .name = name,
	                 .data = data,
	                 .secret = secret,
	                 .events_stored = evs};
	json_t *o = shape_object(&src, &row);
	json_decref(data);
	free(created), free(modified), free(name), free(secret);
	return o;
}

/* True if an object of kind with id exists. */
bool sq_exists(sq *s, store_kind kind, long id)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id=?", sq_table_of(kind));
	runnel_error e;
	sqlite3_stmt *st = sq_prep(s, sql, &e);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, id);
	bool r = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return r;
}

/* Check that every fk in v (validated fields) points at an existing object. */
static int check_fks(sq *s, store_kind kind, const json_t *v, runnel_error *err)
{
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)v, k, x) {
		const model_field *f = model_field_find(kind, k);
		if (f && f->type == MT_FK && json_is_integer(x) &&
		    !sq_exists(s, f->fk, (long)json_integer_value(x)))
			return rn_fail(err, EINVAL,
			               "%s: Invalid pk \"%lld\" - object does not exist.", k,
			               (long long)json_integer_value(x));
	}
	return 0;
}

/* Split a credential's inputs by its type (secrets_split_inputs); lock held. */
static int split_inputs(sq *s, json_t *v, long type_id, json_t *secret, runnel_error *err)
{
	if (!json_object_get(v, "inputs"))
		return 0;
	json_t *ct = NULL;
	if (sq_read_raw(s, STORE_CREDENTIAL_TYPE, type_id, &ct, NULL, err) < 0)
		return -1;
	int rc = secrets_split_inputs(&s->key, v, json_object_get(ct, "inputs"),
	                              json_object_get(ct, "kind"), secret, err);
	json_decref(ct);
	return rc;
}

/* Write a new row for kind. The caller holds the lock. */
json_t *sq_create_locked(sq *s, store_kind kind, const json_t *fields, unsigned flags,
                         runnel_error *err)
{
	if (kind == STORE_UNIFIED_JOB)
		return rn_fail(err, EINVAL, "type: Create a job of a concrete type."), NULL;
	json_t *v;
	if (model_validate(kind, fields, flags, true, &v, err) < 0)
		return NULL;
	if (check_fks(s, kind, v, err) < 0 ||
	    notify_model_prepare(&s->key, kind, v, NULL, err) < 0) {
		json_decref(v);
		return NULL;
	}
	char *secret = NULL;
	const char *name = json_string_value(json_object_get(v, "name"));
	if (kind == STORE_USER) {
		name = json_string_value(json_object_get(v, "username"));
		json_t *pw = json_object_get(v, "password");
		if (json_is_string(pw) && *json_string_value(pw)) {
			char h[crypto_pwhash_STRBYTES];
			if (secrets_password_hash(json_string_value(pw), json_string_length(pw),
			                          h) < 0) {
				json_decref(v);
				return rn_fail(err, ENOMEM, "password: could not hash"), NULL;
			}
			secret = rn_xstrdup(h);
		}
		json_object_del(v, "password");
	}
	if (kind == STORE_CREDENTIAL) {
		json_t *sec = json_object();
		if (split_inputs(s, v,
		                 (long)json_integer_value(json_object_get(v, "credential_type")),
		                 sec, err) < 0) {
			json_decref(sec);
			json_decref(v);
			return NULL;
		}
		secret = json_dumps(sec, JSON_COMPACT);
		json_decref(sec);
	}
	if (model_is_job_kind(kind) && !json_object_get(fields, "type"))
		json_object_set_new(v, "type", json_string(store_kind_type(kind)));
	if (!name)
		name = "";
	char now[32];
	model_now(now);
	char *data = json_dumps(v, JSON_COMPACT);
	char sql[256];
	if (model_is_job_kind(kind))
		snprintf(
		    sql, sizeof sql,
		    "INSERT INTO unified_jobs(created, modified, name, data, secret, type, status)"
		    " VALUES(?,?,?,?,?,?,?)");
	else if (model_is_template_kind(kind))
		/* one id space for the unified job templates (model.h): the next
		 * id after any of the three tables' highest ever (sqlite_sequence) */
		snprintf(sql, sizeof sql,
		         "INSERT INTO %s(id, created, modified, name, data, secret)"
		         " VALUES(1+coalesce((SELECT max(seq) FROM sqlite_sequence WHERE name IN"
		         " ('job_templates','projects','inventory_sources',"
		         "'workflow_job_templates')),1),?,?,?,?,?)",
		         sq_table_of(kind));
	else
		snprintf(sql, sizeof sql,
		         "INSERT INTO %s(created, modified, name, data, secret) VALUES(?,?,?,?,?)",
		         sq_table_of(kind));
	sqlite3_stmt *st = sq_prep(s, sql, err);
	if (!st) {
		free(data), free(secret), json_decref(v);
		return NULL;
	}
	sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, data, -1, SQLITE_TRANSIENT);
	if (secret)
		sqlite3_bind_text(st, 5, secret, -1, SQLITE_TRANSIENT);
	if (model_is_job_kind(kind)) {
		sqlite3_bind_text(st, 6, json_string_value(json_object_get(v, "type")), -1,
		                  SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 7, json_string_value(json_object_get(v, "status")), -1,
		                  SQLITE_TRANSIENT);
	}
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(data), free(secret), json_decref(v);
	if (rc == SQLITE_CONSTRAINT) {
		const char *f = kind == STORE_USER ? "username" : "name";
		return rn_fail(err, EEXIST, "%s: %s with this %s already exists.", f,
		               store_kind_type(kind), f),
		       NULL;
	}
	if (rc != SQLITE_DONE)
		return sq_db_fail(s, err, "insert"), NULL;
	long id = (long)sqlite3_last_insert_rowid(s->db);
	if (flags & STORE_NO_RESULT)
		return json_pack("{s:I}", "id", (json_int_t)id);
	return sq_get_locked(s, kind, id, err);
}

/* Create an object. */
json_t *sq_create(store *st, store_kind kind, const json_t *fields, unsigned flags,
                  runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	json_t *r = sq_create_locked(s, kind, fields, flags, err);
	sq_unlock(s);
	return r;
}

/* Get an object. */
json_t *sq_get(store *st, store_kind kind, long id, runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	json_t *r = sq_get_locked(s, kind, id, err);
	sq_unlock(s);
	return r;
}

int sq_exists_as(store *st, store_kind kind, long id, runnel_error *err)
{
	sq *s = SQ(st);
	bool typed = model_is_job_kind(kind) && kind != STORE_UNIFIED_JOB;
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id=?1%s", sq_table_of(kind),
	         typed ? " AND type=?2" : "");
	sq_lock(s);
	int rc = -1;
	sqlite3_stmt *st2 = sq_prep(s, sql, err);
	if (st2) {
		sqlite3_bind_int64(st2, 1, id);
		if (typed)
			sqlite3_bind_text(st2, 2, store_kind_type(kind), -1, SQLITE_STATIC);
		int step = sqlite3_step(st2);
		if (step == SQLITE_ROW)
			rc = 0;
		else if (step == SQLITE_DONE)
			rn_fail(err, ENOENT, "__all__: Not found.");
		else
			sq_db_fail(s, err, "get");
		sqlite3_reset(st2);
	}
	sq_unlock(s);
	return rc;
}

/* Read the raw data/secret of a row. The caller holds the lock; frees *data, *secret. */
int sq_read_raw(sq *s, store_kind kind, long id, json_t **data, char **secret, runnel_error *err)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT data, secret%s FROM %s WHERE id=?",
	         model_is_job_kind(kind) ? ", type" : ", ''", sq_table_of(kind));
	sqlite3_stmt *st = sq_prep(s, sql, err);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW ||
	    (model_is_job_kind(kind) && kind != STORE_UNIFIED_JOB &&
	     strcmp(sq_col_text(st, 2), store_kind_type(kind)))) {
		sqlite3_reset(st);
		return rn_fail(err, ENOENT, "__all__: Not found.");
	}
	*data = json_loads(sq_col_text(st, 0), 0, NULL);
	if (!*data)
		*data = json_object();
	if (secret)
		*secret = sqlite3_column_type(st, 1) == SQLITE_NULL
		              ? NULL
		              : rn_xstrdup(sq_col_text(st, 1));
	sqlite3_reset(st);
	return 0;
}

/* Write data (and secret, when not NULL) of a row back; syncs the real columns. Lock held. */
int sq_write_raw(sq *s, store_kind kind, long id, json_t *data, const char *secret,
                 runnel_error *err)
{
	char now[32];
	model_now(now);
	const char *name =
	    json_string_value(json_object_get(data, kind == STORE_USER ? "username" : "name"));
	char *text = json_dumps(data, JSON_COMPACT);
	char sql[256];
	if (model_is_job_kind(kind))
		snprintf(sql, sizeof sql,
		         "UPDATE unified_jobs SET modified=?, name=coalesce(?, name), data=?,"
		         " secret=coalesce(?, secret), status=coalesce(?, status) WHERE id=?");
	else
		snprintf(sql, sizeof sql,
		         "UPDATE %s SET modified=?1, name=coalesce(?2, name), data=?3,"
		         " secret=coalesce(?4, secret) WHERE id=?6",
		         sq_table_of(kind));
	sqlite3_stmt *st = sq_prep(s, sql, err);
	if (!st) {
		free(text);
		return -1;
	}
	sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
	if (name)
		sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
	if (secret)
		sqlite3_bind_text(st, 4, secret, -1, SQLITE_TRANSIENT);
	const char *status = json_string_value(json_object_get(data, "status"));
	if (status && model_is_job_kind(kind))
		sqlite3_bind_text(st, 5, status, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, id);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(text);
	if (rc == SQLITE_CONSTRAINT)
		return rn_fail(err, EEXIST, "%s: %s with this name already exists.",
		               kind == STORE_USER ? "username" : "name", store_kind_type(kind));
	if (rc != SQLITE_DONE)
		return sq_db_fail(s, err, "update");
	return 0;
}

/* Update an object (PATCH). */
json_t *sq_update(store *st, store_kind kind, long id, const json_t *fields, unsigned flags,
                  runnel_error *err)
{
	sq *s = SQ(st);
	json_t *v = NULL, *data = NULL, *r = NULL;
	char *secret = NULL, *newsecret = NULL;
	bool in_tx = false;
	sq_lock(s);
	if (model_validate(kind, fields, flags, false, &v, err) < 0 ||
	    check_fks(s, kind, v, err) < 0)
		goto out;
	/* read-modify-write of the row in one transaction: another process (a
	 * worker, the receiver) may write the same row meanwhile */
	if (sq_exec_sql(s, "BEGIN IMMEDIATE", err) < 0)
		goto out;
	in_tx = true;
	if (sq_read_raw(s, kind, id, &data, &secret, err) < 0 ||
	    notify_model_prepare(&s->key, kind, v, data, err) < 0)
		goto out;
	if (kind == STORE_USER) {
		json_t *pw = json_object_get(v, "password");
		if (json_is_string(pw) && *json_string_value(pw) &&
		    strcmp(json_string_value(pw), "$encrypted$")) {
			char h[crypto_pwhash_STRBYTES];
			if (secrets_password_hash(json_string_value(pw), json_string_length(pw),
			                          h) < 0) {
				rn_fail(err, ENOMEM, "password: could not hash");
				goto out;
			}
			newsecret = rn_xstrdup(h);
		}
		json_object_del(v, "password");
	}
	if (kind == STORE_CREDENTIAL && json_object_get(v, "inputs")) {
		json_t *ct = json_object_get(v, "credential_type");
		if (!ct)
			ct = json_object_get(data, "credential_type");
		/* A PUT/PATCH of inputs replaces them: secrets not named are dropped
		 * unless given as "$encrypted$". */
		json_t *keep = secrets_inputs_kept(json_object_get(v, "inputs"), secret);
		if (split_inputs(s, v, (long)json_integer_value(ct), keep, err) < 0) {
			json_decref(keep);
			goto out;
		}
		newsecret = json_dumps(keep, JSON_COMPACT);
		json_decref(keep);
	}
	json_object_update(data, v);
	if (sq_write_raw(s, kind, id, data, newsecret, err) < 0)
		goto out;
	if (sq_exec_sql(s, "COMMIT", err) < 0)
		goto out;
	in_tx = false;
	r = flags & STORE_NO_RESULT ? json_object() : sq_get_locked(s, kind, id, err);
out:
	if (in_tx)
		sq_exec_sql(s, "ROLLBACK", NULL);
	sq_unlock(s);
	json_decref(v);
	json_decref(data);
	free(secret);
	free(newsecret);
	return r;
}

/* Delete an object and its dependents. */
int sq_remove(store *st, store_kind kind, long id, runnel_error *err)
{
	sq *s = SQ(st);
	int rc = -1;
	sq_lock(s);
	json_t *o = sq_get_locked(s, kind, id, err);
	if (!o)
		goto out;
	json_decref(o);
	if (sq_exec_sql(s, "BEGIN IMMEDIATE", err) < 0)
		goto out;
	char sql[256];
	if (model_is_job_kind(kind)) {
		rc = sq_delete_job_locked(s, id, err);
	} else {
		rc = 0;
		if (kind == STORE_INVENTORY) {
			static const char *const dep[] = {
			    "DELETE FROM relations WHERE rel IN (3,4) AND parent IN"
			    " (SELECT id FROM groups WHERE json_extract(data,'$.inventory')=?1)",
			    "DELETE FROM relations WHERE rel=3 AND child IN"
			    " (SELECT id FROM hosts WHERE json_extract(data,'$.inventory')=?1)",
			    "DELETE FROM hosts WHERE json_extract(data,'$.inventory')=?",
			    "DELETE FROM groups WHERE json_extract(data,'$.inventory')=?",
			    "DELETE FROM inventory_sources"
			    " WHERE json_extract(data,'$.inventory')=?",
			    NULL};
			for (int i = 0; dep[i] && rc == 0; i++)
				rc = sq_exec_id(s, dep[i], id, err);
		} else if (kind == STORE_GROUP) {
			rc = sq_exec_id(s, "DELETE FROM relations WHERE rel IN (3,4) AND parent=?",
			                id, err);
			if (!rc)
				rc = sq_exec_id(s, "DELETE FROM relations WHERE rel=4 AND child=?",
				                id, err);
		} else if (kind == STORE_HOST) {
			rc =
			    sq_exec_id(s, "DELETE FROM relations WHERE rel=3 AND child=?", id, err);
		} else if (kind == STORE_JOB_TEMPLATE) {
			rc = sq_exec_id(s, "DELETE FROM relations WHERE rel=1 AND parent=?", id,
			                err);
		} else if (kind == STORE_CREDENTIAL) {
			rc = sq_exec_id(s, "DELETE FROM relations WHERE rel IN (1,2) AND child=?",
			                id, err);
		} else if (kind == STORE_USER) {
			/* as AWX (CASCADE): a deleted user's tokens go with it */
			rc = sq_exec_id(s, "DELETE FROM tokens WHERE json_extract(data,'$.user')=?",
			                id, err);
		}
		if (!rc) {
			snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id=?", sq_table_of(kind));
			rc = sq_exec_id(s, sql, id, err);
		}
	}
	if (rc == 0)
		rc = sq_exec_sql(s, "COMMIT", err);
	else
		sq_exec_sql(s, "ROLLBACK", NULL);
out:
	sq_unlock(s);
	return rc;
}

/* Insert or delete a relation row. */
static int relate(store *st, store_rel rel, long parent, long child, bool add, runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	int rc = store_relation_check(&sq_raw_ops, s, rel, parent, child, add, err);
	if (rc == 0) {
		sqlite3_stmt *stm = sq_prep(
		    s,
		    add ? "INSERT OR IGNORE INTO relations(rel, parent, child) VALUES(?,?,?)"
		        : "DELETE FROM relations WHERE rel=? AND parent=? AND child=?",
		    err);
		rc = -1;
		if (stm) {
			sqlite3_bind_int(stm, 1, rel);
			sqlite3_bind_int64(stm, 2, parent);
			sqlite3_bind_int64(stm, 3, child);
			rc = sqlite3_step(stm) == SQLITE_DONE ? 0 : sq_db_fail(s, err, "relation");
			sqlite3_reset(stm);
		}
	}
	sq_unlock(s);
	return rc;
}

/* Relate parent and child. */
int sq_associate(store *st, store_rel rel, long parent, long child, runnel_error *err)
{
	return relate(st, rel, parent, child, true, err);
}

/* Unrelate parent and child. */
int sq_disassociate(store *st, store_rel rel, long parent, long child, runnel_error *err)
{
	return relate(st, rel, parent, child, false, err);
}

/* The ids related to id; lock held. */
static json_t *related_locked(sq *s, store_rel rel, long id, bool reverse, runnel_error *err)
{
	sqlite3_stmt *stm =
	    sq_prep(s,
	            reverse ? "SELECT parent FROM relations WHERE rel=? AND child=? ORDER BY parent"
	                    : "SELECT child FROM relations WHERE rel=? AND parent=? ORDER BY child",
	            err);
	if (!stm)
		return NULL;
	sqlite3_bind_int(stm, 1, rel);
	sqlite3_bind_int64(stm, 2, id);
	json_t *a = json_array();
	while (sqlite3_step(stm) == SQLITE_ROW)
		json_array_append_new(a, json_integer(sqlite3_column_int64(stm, 0)));
	sqlite3_reset(stm);
	return a;
}

/* The children of parents with their names, in one statement: the parent
 * ids go in as one JSON array (json_each), so the text is one whatever n
 * and stays in the statement cache. */
json_t *sq_related_names(store *st, store_rel rel, const long *parents, size_t n, runnel_error *err)
{
	store_kind child;
	if (store_related_names_kind(rel, &child, err) < 0)
		return NULL;
	json_t *out = store_related_names_new(n);
	if (!n)
		return out;
	rn_buf ids;
	rn_buf_init(&ids);
	rn_buf_appendc(&ids, '[');
	for (size_t i = 0; i < n; i++) {
		char b[24];
		int len = snprintf(b, sizeof b, "%s%ld", i ? "," : "", parents[i]);
		rn_buf_append(&ids, b, (size_t)len);
	}
	rn_buf_appendc(&ids, ']');
	char *sql = rn_xasprintf("SELECT r.parent, r.child, t.name FROM relations r"
	                         " JOIN %s t ON t.id = r.child"
	                         " WHERE r.rel=? AND r.parent IN (SELECT value FROM json_each(?))"
	                         " ORDER BY r.parent, r.child",
	                         sq_table_of(child));
	sq *s = SQ(st);
	sq_lock(s);
	sqlite3_stmt *stm = sq_prep(s, sql, err);
	free(sql);
	if (stm) {
		sqlite3_bind_int(stm, 1, rel);
		sqlite3_bind_text(stm, 2, ids.data, (int)ids.len, SQLITE_STATIC);
		int rc;
		while ((rc = sqlite3_step(stm)) == SQLITE_ROW)
			store_related_names_add(out, parents, n, (long)sqlite3_column_int64(stm, 0),
			                        (long)sqlite3_column_int64(stm, 1),
			                        (const char *)sqlite3_column_text(stm, 2));
		if (rc != SQLITE_DONE) {
			sq_db_fail(s, err, "related names");
			json_decref(out);
			out = NULL;
		}
		sqlite3_reset(stm);
		sqlite3_clear_bindings(stm);
	} else {
		json_decref(out);
		out = NULL;
	}
	sq_unlock(s);
	rn_buf_free(&ids);
	return out;
}

/* The ids related to id. */
json_t *sq_related_ids(store *st, store_rel rel, long id, bool reverse, runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	json_t *a = related_locked(s, rel, id, reverse, err);
	sq_unlock(s);
	return a;
}
