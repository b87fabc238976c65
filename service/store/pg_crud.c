/*
 * pg_crud.c - resources in PostgreSQL (pg.h): create, get, update, remove,
 * list, relations, users and tokens, credentials, inventories, and the
 * status of unified jobs. A read-modify-write of a row locks it (SELECT ...
 * FOR UPDATE) for its transaction: another process (a worker, the receiver)
 * may write the same row meanwhile.
 */
#include "job_states.h"
#include "pg.h"

#include "backend_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "inventory_plan.h"
#include "inventory_render.h"
#include "model.h"
#include "notify_model.h"
#include "secrets.h"
#include "shape.h"
#include "util.h"

/* shapes and lists (below) */
static shape_source source_of(pgc *c);
static json_t *shape_pg_one(const shape_source *src, store_kind kind, PGresult *r, int i, int col);

/* ------------------------------------------------------------------ */
/* rows                                                                 */

/* Current UTC time as epoch seconds. */
static double epoch_now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/* True if an object of kind with id exists. */
static bool exists(pgc *c, store_kind kind, long id)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id=$1", pg_table(kind));
	return pg_int(c, sql, id, 0) == 1;
}

/* Check that every fk in v (validated fields) points at an existing object. */
static int check_fks(pgc *c, store_kind kind, const json_t *v, runnel_error *err)
{
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)v, k, x) {
		const model_field *f = model_field_find(kind, k);
		if (f && f->type == MT_FK && json_is_integer(x) &&
		    !exists(c, f->fk, (long)json_integer_value(x)))
			return rn_fail(err, EINVAL,
			               "%s: Invalid pk \"%lld\" - object does not exist.", k,
			               (long long)json_integer_value(x));
	}
	return 0;
}

/* The message of a unique name taken. */
static int name_taken(store_kind kind, runnel_error *err)
{
	const char *f = kind == STORE_USER ? "username" : "name";
	return rn_fail(err, EEXIST, "%s: %s with this %s already exists.", f, store_kind_type(kind),
	               f);
}

/* Read the raw data/secret of a row, locked for the transaction when lock.
 * Frees: *data (json), *secret. 0 or -1 (ENOENT). */
static int read_raw(pgc *c, store_kind kind, long id, bool lock, json_t **data, char **secret,
                    runnel_error *err)
{
	char sql[160], ib[24];
	snprintf(sql, sizeof sql, "SELECT data::text, secret, %s FROM %s WHERE id=$1%s",
	         model_is_job_kind(kind) ? "type" : "''", pg_table(kind),
	         lock ? " FOR UPDATE" : "");
	const char *v[1] = {pg_num(ib, id)};
	PGresult *r = pg_q(c, sql, 1, v, err);
	if (!r)
		return -1;
	if (!PQntuples(r) || (model_is_job_kind(kind) && kind != STORE_UNIFIED_JOB &&
	                      strcmp(pg_val(r, 0, 2), store_kind_type(kind)))) {
		PQclear(r);
		return rn_fail(err, ENOENT, "__all__: Not found.");
	}
	*data = json_loads(pg_val(r, 0, 0), 0, NULL);
	if (!*data)
		*data = json_object();
	if (secret)
		*secret = PQgetisnull(r, 0, 1) ? NULL : rn_xstrdup(pg_val(r, 0, 1));
	PQclear(r);
	return 0;
}

/* Write data (and secret, when not NULL) of a row back, with the real
 * columns (name, status) it carries. 0 or -1. */
static int write_raw(pgc *c, store_kind kind, long id, json_t *data, const char *secret,
                     runnel_error *err)
{
	char now[32], ib[24];
	model_now(now);
	const char *name =
	    json_string_value(json_object_get(data, kind == STORE_USER ? "username" : "name"));
	char *text = json_dumps(data, JSON_COMPACT);
	const char *status = json_string_value(json_object_get(data, "status"));
	char sql[256];
	bool job = model_is_job_kind(kind);
	if (job)
		snprintf(sql, sizeof sql,
		         "UPDATE unified_jobs SET modified=$1, name=coalesce($2, name),"
		         " data=$3::jsonb, secret=coalesce($4, secret), status=coalesce($6, status)"
		         " WHERE id=$5");
	else
		snprintf(sql, sizeof sql,
		         "UPDATE %s SET modified=$1, name=coalesce($2, name), data=$3::jsonb,"
		         " secret=coalesce($4, secret) WHERE id=$5",
		         pg_table(kind));
	const char *v[6] = {now, name, text, secret, pg_num(ib, id), status};
	runnel_error e = {0};
	PGresult *r = pg_q(c, sql, job ? 6 : 5, v, &e);
	free(text);
	if (!r) {
		if (e.code == EEXIST)
			return name_taken(kind, err);
		if (err)
			*err = e;
		return -1;
	}
	PQclear(r);
	return 0;
}

/* Split a credential's inputs into plain (kept in data) and sealed secrets
 * (merged into secret) by its type's inputs (secrets.h). */
static int split_inputs(pg *p, pgc *c, json_t *v, long type_id, json_t *secret, runnel_error *err)
{
	json_t *in = json_object_get(v, "inputs");
	if (!in)
		return 0;
	if (!json_is_object(in))
		return rn_fail(err, EINVAL, "inputs: Must be an object.");
	json_t *ct = pg_get_locked(p, c, STORE_CREDENTIAL_TYPE, type_id, err);
	if (!ct)
		return -1;
	int rc = secrets_split_inputs(&p->key, v, json_object_get(ct, "inputs"),
	                              json_object_get(ct, "kind"), secret, err);
	json_decref(ct);
	return rc;
}

/* A password hashed for storage, or NULL with err. */
static char *hash_password(const json_t *pw, runnel_error *err)
{
	char h[crypto_pwhash_STRBYTES];
	if (secrets_password_hash(json_string_value(pw), json_string_length(pw), h) < 0) {
		rn_fail(err, ENOMEM, "password: could not hash");
		return NULL;
	}
	return rn_xstrdup(h);
}

json_t *pg_create_locked(pg *p, pgc *c, store_kind kind, const json_t *fields, unsigned flags,
                         runnel_error *err)
{
	if (kind == STORE_UNIFIED_JOB)
		return rn_fail(err, EINVAL, "type: Create a job of a concrete type."), NULL;
	json_t *v = NULL;
	char *secret = NULL, *data = NULL;
	json_t *out = NULL;
	if (model_validate(kind, fields, flags, true, &v, err) < 0)
		return NULL;
	if (check_fks(c, kind, v, err) < 0 || notify_model_prepare(&p->key, kind, v, NULL, err) < 0)
		goto done;
	const char *name = json_string_value(json_object_get(v, "name"));
	if (kind == STORE_USER) {
		name = json_string_value(json_object_get(v, "username"));
		json_t *pw = json_object_get(v, "password");
		if (json_is_string(pw) && *json_string_value(pw) &&
		    !(secret = hash_password(pw, err)))
			goto done;
		json_object_del(v, "password");
	}
	if (kind == STORE_CREDENTIAL) {
		json_t *sec = json_object();
		int rc = split_inputs(
		    p, c, v, (long)json_integer_value(json_object_get(v, "credential_type")), sec,
		    err);
		if (rc == 0)
			secret = json_dumps(sec, JSON_COMPACT);
		json_decref(sec);
		if (rc < 0)
			goto done;
	}
	if (model_is_job_kind(kind) && !json_object_get(fields, "type"))
		json_object_set_new(v, "type", json_string(store_kind_type(kind)));
	char now[32];
	model_now(now);
	data = json_dumps(v, JSON_COMPACT);
	PGresult *r;
	runnel_error e = {0};
	if (model_is_job_kind(kind)) {
		/* the hour's events partition, before any event of the job can come */
		if (pg_events_partition(c, now, err) < 0)
			goto done;
		const char *vals[7] = {now,
		                       now,
		                       name ? name : "",
		                       data,
		                       secret,
		                       json_string_value(json_object_get(v, "type")),
		                       json_string_value(json_object_get(v, "status"))};
		r = pg_q(
		    c,
		    "INSERT INTO unified_jobs(created, modified, name, data, secret, type, status)"
		    " VALUES($1, $2, $3, $4::jsonb, $5, $6, coalesce($7, 'new')) RETURNING id",
		    7, vals, &e);
	} else {
		char sql[256];
		/* one id space for the unified job templates (model.h) */
		snprintf(sql, sizeof sql,
		         "INSERT INTO %s(%screated, modified, name, data, secret)"
		         " VALUES(%s$1, $2, $3, $4::jsonb, $5) RETURNING id",
		         pg_table(kind), model_is_template_kind(kind) ? "id, " : "",
		         model_is_template_kind(kind) ? "nextval('unified_job_templates_id_seq'), "
		                                      : "");
		const char *vals[5] = {now, now, name ? name : "", data, secret};
		r = pg_q(c, sql, 5, vals, &e);
	}
	if (!r) {
		if (e.code == EEXIST)
			name_taken(kind, err);
		else if (err)
			*err = e;
		goto done;
	}
	long id = (long)pg_ll(r, 0, 0);
	PQclear(r);
	out = flags & STORE_NO_RESULT ? json_pack("{s:I}", "id", (json_int_t)id)
	                              : pg_get_locked(p, c, kind, id, err);
done:
	free(data);
	free(secret);
	json_decref(v);
	return out;
}

json_t *pg_create(store *st, store_kind kind, const json_t *fields, unsigned flags,
                  runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return NULL;
	json_t *o = pg_create_locked(p, c, kind, fields, flags, err);
	pg_release(p, c);
	return o;
}

json_t *pg_get(store *st, store_kind kind, long id, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return NULL;
	json_t *o = pg_get_locked(p, c, kind, id, err);
	pg_release(p, c);
	return o;
}

int pg_exists(store *st, store_kind kind, long id, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return -1;
	bool typed = model_is_job_kind(kind) && kind != STORE_UNIFIED_JOB;
	char sql[128], ib[24];
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id=$1%s", pg_table(kind),
	         typed ? " AND type=$2" : "");
	const char *v[2] = {pg_num(ib, id), typed ? store_kind_type(kind) : NULL};
	PGresult *r = pg_q(c, sql, typed ? 2 : 1, v, err);
	int rc = -1;
	if (r && PQntuples(r))
		rc = 0;
	else if (r)
		rn_fail(err, ENOENT, "__all__: Not found.");
	PQclear(r);
	pg_release(p, c);
	return rc;
}

json_t *pg_update(store *st, store_kind kind, long id, const json_t *fields, unsigned flags,
                  runnel_error *err)
{
	pg *p = pg_of(st);
	json_t *v = NULL, *data = NULL, *r = NULL;
	char *secret = NULL, *newsecret = NULL;
	pgc *c = pg_acquire(p, err);
	if (!c)
		return NULL;
	if (model_validate(kind, fields, flags, false, &v, err) < 0 ||
	    check_fks(c, kind, v, err) < 0)
		goto out;
	if (pg_exec(c, "BEGIN", err) < 0)
		goto out;
	if (read_raw(c, kind, id, true, &data, &secret, err) < 0 ||
	    notify_model_prepare(&p->key, kind, v, data, err) < 0)
		goto out;
	if (kind == STORE_USER) {
		json_t *pw = json_object_get(v, "password");
		if (json_is_string(pw) && *json_string_value(pw) &&
		    strcmp(json_string_value(pw), "$encrypted$") &&
		    !(newsecret = hash_password(pw, err)))
			goto out;
		json_object_del(v, "password");
	}
	if (kind == STORE_CREDENTIAL && json_object_get(v, "inputs")) {
		json_t *ct = json_object_get(v, "credential_type");
		if (!ct)
			ct = json_object_get(data, "credential_type");
		/* a PUT/PATCH of inputs replaces them: secrets not named are
		 * dropped unless given as "$encrypted$" */
		json_t *keep = secrets_inputs_kept(json_object_get(v, "inputs"), secret);
		int rc = split_inputs(p, c, v, (long)json_integer_value(ct), keep, err);
		if (rc == 0)
			newsecret = json_dumps(keep, JSON_COMPACT);
		json_decref(keep);
		if (rc < 0)
			goto out;
	}
	json_object_update(data, v);
	if (write_raw(c, kind, id, data, newsecret, err) < 0 || pg_exec(c, "COMMIT", err) < 0)
		goto out;
	r = flags & STORE_NO_RESULT ? json_object() : pg_get_locked(p, c, kind, id, err);
out:
	pg_release(p, c); /* rolls back an open transaction */
	json_decref(v);
	json_decref(data);
	free(secret);
	free(newsecret);
	return r;
}

/* Run sql with one integer parameter. 0 or -1. */
static int exec_id(pgc *c, const char *sql, long id, runnel_error *err)
{
	char ib[24];
	const char *v[1] = {pg_num(ib, id)};
	PGresult *r = pg_q(c, sql, 1, v, err);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

int pg_delete_job(pgc *c, long id, runnel_error *err)
{
	char sql[96];
	snprintf(sql, sizeof sql, "DELETE FROM relations WHERE rel=%d AND parent=$1",
	         STORE_REL_JOB_CREDENTIALS);
	if (exec_id(c, "DELETE FROM events WHERE job_id=$1", id, err) < 0 ||
	    exec_id(c, "DELETE FROM event_parent_flags WHERE job_id=$1", id, err) < 0 ||
	    exec_id(c, "DELETE FROM event_parent_pending WHERE job_id=$1", id, err) < 0 ||
	    exec_id(c, "DELETE FROM host_summaries WHERE job_id=$1", id, err) < 0 ||
	    exec_id(c, sql, id, err) < 0)
		return -1;
	return exec_id(c, "DELETE FROM unified_jobs WHERE id=$1", id, err);
}

int pg_remove(store *st, store_kind kind, long id, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return -1;
	int rc = -1;
	json_t *data = NULL;
	if (pg_exec(c, "BEGIN", err) < 0)
		goto out;
	if (read_raw(c, kind, id, true, &data, NULL, err) < 0)
		goto out;
	if (model_is_job_kind(kind)) {
		rc = pg_delete_job(c, id, err);
	} else {
		static const char *const inventory[] = {
		    "DELETE FROM relations WHERE rel IN (3,4) AND parent IN (SELECT id FROM "
		    "\"groups\" WHERE (data->>'inventory')::bigint=$1)",
		    "DELETE FROM relations WHERE rel=3 AND child IN (SELECT id FROM \"hosts\" "
		    "WHERE (data->>'inventory')::bigint=$1)",
		    "DELETE FROM \"hosts\" WHERE (data->>'inventory')::bigint=$1",
		    "DELETE FROM \"groups\" WHERE (data->>'inventory')::bigint=$1",
		    "DELETE FROM \"inventory_sources\" WHERE (data->>'inventory')::bigint=$1",
		    NULL};
		static const char *const group[] = {
		    "DELETE FROM relations WHERE rel IN (3,4) AND parent=$1",
		    "DELETE FROM relations WHERE rel=4 AND child=$1", NULL};
		static const char *const host[] = {"DELETE FROM relations WHERE rel=3 AND child=$1",
		                                   NULL};
		static const char *const jt[] = {"DELETE FROM relations WHERE rel=1 AND parent=$1",
		                                 NULL};
		static const char *const cred[] = {
		    "DELETE FROM relations WHERE rel IN (1,2) AND child=$1", NULL};
		/* as AWX (CASCADE): a deleted user's tokens go with it */
		static const char *const user[] = {
		    "DELETE FROM \"tokens\" WHERE (data->>'user')::bigint=$1", NULL};
		const char *const *dep = kind == STORE_INVENTORY      ? inventory
		                         : kind == STORE_GROUP        ? group
		                         : kind == STORE_HOST         ? host
		                         : kind == STORE_JOB_TEMPLATE ? jt
		                         : kind == STORE_CREDENTIAL   ? cred
		                         : kind == STORE_USER         ? user
		                                                      : NULL;
		rc = 0;
		for (int i = 0; dep && dep[i] && rc == 0; i++)
			rc = exec_id(c, dep[i], id, err);
		if (rc == 0) {
			char sql[96];
			snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id=$1", pg_table(kind));
			rc = exec_id(c, sql, id, err);
		}
	}
	if (rc == 0)
		rc = pg_exec(c, "COMMIT", err);
out:
	pg_release(p, c);
	json_decref(data);
	return rc;
}

/* ------------------------------------------------------------------ */
/* the primitives of backend_common.c                                   */

/* A connection of the pool, as backend_common.c's ctx. */
typedef struct pg_raw {
	pg *p;
	pgc *c;
} pg_raw;

static int raw_begin(void *x, runnel_error *err)
{
	return pg_exec(((pg_raw *)x)->c, "BEGIN", err);
}

static int raw_commit(void *x, runnel_error *err)
{
	return pg_exec(((pg_raw *)x)->c, "COMMIT", err);
}

static void raw_rollback(void *x)
{
	pg_rollback(((pg_raw *)x)->c);
}

static bool raw_exists(void *x, store_kind kind, long id)
{
	return exists(((pg_raw *)x)->c, kind, id);
}

static int raw_read(void *x, store_kind kind, long id, json_t **data, runnel_error *err)
{
	return read_raw(((pg_raw *)x)->c, kind, id, true, data, NULL, err);
}

static int raw_write(void *x, store_kind kind, long id, json_t *data, runnel_error *err)
{
	return write_raw(((pg_raw *)x)->c, kind, id, data, NULL, err);
}

static long raw_create(void *x, store_kind kind, const json_t *fields, runnel_error *err)
{
	pg_raw *r = x;
	json_t *o = pg_create_locked(r->p, r->c, kind, fields, STORE_SYSTEM, err);
	long id = o ? (long)json_integer_value(json_object_get(o, "id")) : 0;
	json_decref(o);
	return id;
}

static long raw_member_id(void *x, store_kind kind, long inv, const char *name, runnel_error *err)
{
	char sql[160], ib[24];
	snprintf(sql, sizeof sql,
	         "SELECT id FROM %s WHERE (data->>'inventory')::bigint=$1 AND name=$2",
	         pg_table(kind));
	const char *v[2] = {pg_num(ib, inv), name};
	PGresult *r = pg_q(((pg_raw *)x)->c, sql, 2, v, err);
	if (!r)
		return -1;
	long id = PQntuples(r) ? (long)pg_ll(r, 0, 0) : 0;
	PQclear(r);
	return id;
}

static int raw_job_started(void *x, long id, double *t, runnel_error *err)
{
	char ib[24];
	const char *v[1] = {pg_num(ib, id)};
	PGresult *r =
	    pg_q(((pg_raw *)x)->c, "SELECT started_ts FROM unified_jobs WHERE id=$1", 1, v, err);
	if (!r)
		return -1;
	*t = !PQntuples(r) || PQgetisnull(r, 0, 0) ? -1 : strtod(pg_val(r, 0, 0), NULL);
	PQclear(r);
	return 0;
}

static int raw_job_set_ts(void *x, long id, const char *column, double t, runnel_error *err)
{
	char sql[96], tb[40], ib[24];
	snprintf(sql, sizeof sql, "UPDATE unified_jobs SET %s=$1 WHERE id=$2", column);
	snprintf(tb, sizeof tb, "%.6f", t);
	const char *v[2] = {tb, pg_num(ib, id)};
	PGresult *r = pg_q(((pg_raw *)x)->c, sql, 2, v, err);
	PQclear(r);
	return r ? 0 : -1;
}

static const store_raw_ops pg_raw_ops = {
    .begin = raw_begin,
    .commit = raw_commit,
    .rollback = raw_rollback,
    .exists = raw_exists,
    .read = raw_read,
    .write = raw_write,
    .create = raw_create,
    .member_id = raw_member_id,
    .job_started = raw_job_started,
    .job_set_ts = raw_job_set_ts,
};

/* ------------------------------------------------------------------ */
/* relations                                                            */

/* Insert or delete a relation row. */
static int relate(store *st, store_rel rel, long parent, long child, bool add, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return -1;
	pg_raw x = {p, c};
	int rc = store_relation_check(&pg_raw_ops, &x, rel, parent, child, add, err);
	if (rc == 0) {
		char rb[24], pb[24], cb[24];
		const char *v[3] = {pg_num(rb, rel), pg_num(pb, parent), pg_num(cb, child)};
		PGresult *r =
		    pg_q(c,
		         add ? "INSERT INTO relations(rel, parent, child) VALUES($1,$2,$3)"
		               " ON CONFLICT DO NOTHING"
		             : "DELETE FROM relations WHERE rel=$1 AND parent=$2 AND child=$3",
		         3, v, err);
		rc = r ? 0 : -1;
		PQclear(r);
	}
	pg_release(p, c);
	return rc;
}

int pg_associate(store *st, store_rel rel, long parent, long child, runnel_error *err)
{
	return relate(st, rel, parent, child, true, err);
}

int pg_disassociate(store *st, store_rel rel, long parent, long child, runnel_error *err)
{
	return relate(st, rel, parent, child, false, err);
}

/* "{1,2,3}": ids as a bigint[] parameter. */
static char *id_array(const long *ids, size_t n, size_t stride)
{
	rn_buf b;
	rn_buf_init(&b);
	rn_buf_append(&b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		char ib[24];
		if (i)
			rn_buf_append(&b, ",", 1);
		pg_num(ib, *(const long *)((const char *)ids + i * stride));
		rn_buf_append(&b, ib, strlen(ib));
	}
	rn_buf_append(&b, "}", 1);
	return b.data;
}

/* The ids related to id, as a new array, or NULL with err. */
static json_t *related_on(pgc *c, store_rel rel, long id, bool reverse, runnel_error *err)
{
	char rb[24], ib[24];
	const char *v[2] = {pg_num(rb, rel), pg_num(ib, id)};
	PGresult *r =
	    pg_q(c,
	         reverse ? "SELECT parent FROM relations WHERE rel=$1 AND child=$2 ORDER BY parent"
	                 : "SELECT child FROM relations WHERE rel=$1 AND parent=$2 ORDER BY child",
	         2, v, err);
	if (!r)
		return NULL;
	json_t *a = json_array();
	for (int i = 0; i < PQntuples(r); i++)
		json_array_append_new(a, json_integer(pg_ll(r, i, 0)));
	PQclear(r);
	return a;
}

json_t *pg_related_ids(store *st, store_rel rel, long id, bool reverse, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return NULL;
	json_t *a = related_on(c, rel, id, reverse, err);
	pg_release(p, c);
	return a;
}

json_t *pg_related_names(store *st, store_rel rel, const long *parents, size_t n, runnel_error *err)
{
	store_kind child;
	if (store_related_names_kind(rel, &child, err) < 0)
		return NULL;
	json_t *out = store_related_names_new(n);
	if (!n)
		return out;
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c) {
		json_decref(out);
		return NULL;
	}
	/* one statement for all the parents: a page's rows in one round trip */
	char *sql = rn_xasprintf("SELECT r.parent, r.child, t.name FROM relations r"
	                         " JOIN %s t ON t.id = r.child"
	                         " WHERE r.rel=$1 AND r.parent = ANY($2::bigint[])"
	                         " ORDER BY r.parent, r.child",
	                         pg_table(child));
	char rb[24];
	char *arr = id_array(parents, n, sizeof *parents);
	const char *v[2] = {pg_num(rb, rel), arr};
	PGresult *r = pg_q(c, sql, 2, v, err);
	free(arr);
	free(sql);
	if (r)
		for (int i = 0; i < PQntuples(r); i++)
			store_related_names_add(out, parents, n, (long)pg_ll(r, i, 0),
			                        (long)pg_ll(r, i, 1), pg_val(r, i, 2));
	else
		json_decref(out), out = NULL;
	PQclear(r);
	pg_release(p, c);
	return out;
}

/* ------------------------------------------------------------------ */
/* users, tokens, credentials                                           */

json_t *pg_user_authenticate(store *st, const char *username, const char *password,
                             unsigned char *stamp, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return NULL;
	json_t *out = NULL;
	const char *v[1] = {username};
	PGresult *r = pg_q(c, "SELECT id, secret FROM \"users\" WHERE name=$1", 1, v, err);
	if (!r)
		goto done;
	long id = 0;
	char *hash = NULL;
	if (PQntuples(r)) {
		id = (long)pg_ll(r, 0, 0);
		if (!PQgetisnull(r, 0, 1))
			hash = rn_xstrdup(pg_val(r, 0, 1));
	}
	PQclear(r);
	bool ok = secrets_password_check(hash, password);
	if (ok && stamp)
		secrets_stamp(hash, stamp);
	free(hash);
	if (!ok) {
		rn_fail(err, EACCES, "__all__: Invalid username/password.");
		goto done;
	}
	out = pg_get_locked(p, c, STORE_USER, id, err);
done:
	pg_release(p, c);
	return out;
}

int pg_user_secret_stamp(store *st, long user_id, unsigned char stamp[32], runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return -1;
	char ib[24];
	const char *v[1] = {pg_num(ib, user_id)};
	int rc = -1;
	PGresult *r = pg_q(c, "SELECT coalesce(secret, '') FROM \"users\" WHERE id=$1", 1, v, err);
	if (r && PQntuples(r)) {
		secrets_stamp(pg_val(r, 0, 0), stamp);
		rc = 0;
	} else if (r) {
		rn_fail(err, ENOENT, "user %ld: not found", user_id);
	}
	PQclear(r);
	pg_release(p, c);
	return rc;
}

json_t *pg_token_create(store *st, long user_id, const json_t *fields, long long expire_seconds,
                        runnel_error *err)
{
	json_t *f = secrets_token_fields(user_id, fields, expire_seconds, err);
	if (!f)
		return NULL;
	char tok[49], hash[65];
	secrets_token_new(tok);
	secrets_token_hash(tok, hash);
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	json_t *o = NULL;
	if (c && pg_exec(c, "BEGIN", err) == 0) {
		o = pg_create_locked(p, c, STORE_TOKEN, f, STORE_SYSTEM, err);
		if (o) {
			char ib[24];
			const char *v[2] = {hash, pg_num(ib, (long long)json_integer_value(
			                                         json_object_get(o, "id")))};
			/* a token without its hash could never be used: not handed out */
			PGresult *r =
			    pg_q(c, "UPDATE \"tokens\" SET secret=$1 WHERE id=$2", 2, v, err);
			if (!r || pg_exec(c, "COMMIT", err) < 0) {
				json_decref(o);
				o = NULL;
			} else {
				json_object_set_new(o, "token", json_string(tok));
				json_object_set_new(o, "refresh_token", json_null());
			}
			PQclear(r);
		}
	}
	pg_release(p, c);
	json_decref(f);
	sodium_memzero(tok, sizeof tok);
	return o;
}

json_t *pg_token_authenticate(store *st, const char *token, json_t **token_out, runnel_error *err)
{
	if (token_out)
		*token_out = NULL;
	char hash[65];
	secrets_token_hash(token, hash);
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return NULL;
	/* the token and its user in one round trip, shaped together */
	const char *v[1] = {hash};
	PGresult *r = pg_q(c,
	                   "SELECT t.id, t.created, t.modified, t.name, t.data::text, t.secret, 0,"
	                   " u.id, u.created, u.modified, u.name, u.data::text, u.secret, 0"
	                   " FROM \"tokens\" t JOIN \"users\" u"
	                   " ON u.id = (t.data->>'user')::bigint WHERE t.secret=$1",
	                   1, v, err);
	json_t *out = NULL;
	if (r && PQntuples(r)) {
		shape_source src = source_of(c);
		json_t *tok = shape_pg_one(&src, STORE_TOKEN, r, 0, 0);
		const char *expires = json_string_value(json_object_get(tok, "expires"));
		if (!expires || !model_time_passed(expires)) {
			out = shape_pg_one(&src, STORE_USER, r, 0, 7);
			if (token_out)
				*token_out = json_incref(tok);
		}
		json_decref(tok);
	}
	if (r && !out)
		rn_fail(err, EACCES, "__all__: Authentication credentials were not provided.");
	PQclear(r);
	pg_release(p, c);
	return out;
}

json_t *pg_notification_configuration(store *st, long id, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return NULL;
	json_t *data = NULL;
	int rc = read_raw(c, STORE_NOTIFICATION_TEMPLATE, id, false, &data, NULL, err);
	pg_release(p, c);
	if (rc < 0)
		return NULL;
	json_t *conf =
	    notify_model_open(&p->key, json_object_get(data, "notification_configuration"), err);
	json_decref(data);
	return conf;
}

json_t *pg_credential_inputs(store *st, long id, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return NULL;
	json_t *data = NULL;
	char *secret = NULL;
	int rc = read_raw(c, STORE_CREDENTIAL, id, false, &data, &secret, err);
	pg_release(p, c);
	if (rc < 0)
		return NULL;
	json_t *in = secrets_open_inputs(&p->key, data, secret, err);
	json_decref(data);
	if (secret)
		sodium_memzero(secret, strlen(secret));
	free(secret);
	return in;
}

/* ------------------------------------------------------------------ */
/* unified jobs                                                         */

int pg_job_transition(store *st, long id, const char *const *from, const char *status,
                      char *current, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return -1;
	pg_raw x = {p, c};
	int rc = store_raw_job_transition(&pg_raw_ops, &x, id, from, status, current, err);
	pg_release(p, c);
	return rc;
}

int pg_job_append(store *st, long id, const char *field, const char *text, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return -1;
	pg_raw x = {p, c};
	int rc = store_raw_job_append(&pg_raw_ops, &x, id, field, text, err);
	pg_release(p, c);
	return rc;
}

int pg_job_set_cancel_flag(store *st, long id, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return -1;
	json_t *data = NULL;
	int rc = pg_exec(c, "BEGIN", err);
	if (rc == 0)
		rc = read_raw(c, STORE_UNIFIED_JOB, id, true, &data, NULL, err);
	if (rc == 0 && !json_is_true(json_object_get(data, "cancel_flag"))) {
		json_object_set_new(data, "cancel_flag", json_true());
		rc = write_raw(c, STORE_UNIFIED_JOB, id, data, NULL, err) < 0 ? -1 : 1;
	}
	if (rc >= 0 && pg_exec(c, "COMMIT", err) < 0)
		rc = -1;
	pg_release(p, c);
	json_decref(data);
	return rc;
}

/* The members job_progress reads, picked out of the row's data by the
 * server (a job's data holds its env, args and artifacts: not sent whole
 * for three of its values), then read as shape.c reads them. */
int pg_job_progress(store *st, long id, store_progress *out, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return -1;
	char ib[24];
	const char *v[1] = {pg_num(ib, id)};
	PGresult *r = pg_q(c,
	                   "SELECT jsonb_build_object("
	                   "'status', data->'status',"
	                   " 'cancel_flag', data->'cancel_flag',"
	                   " 'emitted_events', data->'emitted_events')::text,"
	                   " events_stored"
	                   " FROM unified_jobs WHERE id=$1",
	                   1, v, err);
	pg_release(p, c);
	if (!r)
		return -1;
	int rc = 0;
	if (PQntuples(r)) {
		json_t *data = json_loads(pg_val(r, 0, 0), 0, NULL);
		shape_job_progress(data, (long)pg_ll(r, 0, 1), out);
		json_decref(data);
	} else {
		rc = rn_fail(err, ENOENT, "__all__: Not found.");
	}
	PQclear(r);
	return rc;
}

int pg_jobs_cleanup(store *st, double days, long *deleted, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (deleted)
		*deleted = 0;
	if (!c)
		return -1;
	char cut[40];
	snprintf(cut, sizeof cut, "%.6f", epoch_now() - days * 86400.0);
	const char *v[1] = {cut};
	int rc = pg_exec(c, "BEGIN", err);
	PGresult *r = rc ? NULL
	                 : pg_q(c,
	                        "SELECT id FROM unified_jobs WHERE finished_ts IS NOT NULL AND "
	                        "finished_ts < $1 AND status NOT IN ('new','pending','waiting',"
	                        "'running') FOR UPDATE",
	                        1, v, err);
	if (!r)
		rc = -1;
	for (int i = 0; r && rc == 0 && i < PQntuples(r); i++)
		rc = pg_delete_job(c, (long)pg_ll(r, i, 0), err);
	if (rc == 0)
		rc = pg_exec(c, "COMMIT", err);
	if (rc == 0 && deleted)
		*deleted = PQntuples(r);
	PQclear(r);
	pg_release(p, c);
	return rc;
}

/* ------------------------------------------------------------------ */
/* shapes and lists                                                     */

/* shape_source over a connection. */
static bool src_lookup(void *ctx, store_kind kind, long id, char **name, json_t **data)
{
	pgc *c = ctx;
	char sql[96], ib[24];
	snprintf(sql, sizeof sql, "SELECT name, data::text FROM %s WHERE id=$1", pg_table(kind));
	const char *v[1] = {pg_num(ib, id)};
	runnel_error e;
	PGresult *r = pg_q(c, sql, 1, v, &e);
	bool found = r && PQntuples(r);
	if (found) {
		*name = rn_xstrdup(pg_val(r, 0, 0));
		if (data) {
			*data = json_loads(pg_val(r, 0, 1), 0, NULL);
			if (!*data)
				*data = json_object();
		}
	}
	PQclear(r);
	return found;
}

static long src_count(void *ctx, shape_count what, long id)
{
	static const char *const sql[] = {
	    [SHAPE_INVENTORY_HOSTS] =
	        "SELECT count(*) FROM \"hosts\" WHERE (data->>'inventory')::bigint=$1",
	    [SHAPE_INVENTORY_GROUPS] =
	        "SELECT count(*) FROM \"groups\" WHERE (data->>'inventory')::bigint=$1",
	    [SHAPE_INVENTORY_SOURCES] =
	        "SELECT count(*) FROM \"inventory_sources\" WHERE (data->>'inventory')::bigint=$1",
	};
	if ((int)what < 0 || (size_t)what >= sizeof sql / sizeof *sql)
		return 0;
	return (long)pg_int(ctx, sql[what], id, 0);
}

/* A job's hosts counted by status (shape.h's SHAPE_DARK...: each host in
 * the first it is in), as columns of host_summaries. */
#define HOST_STATUS_COUNTS                                                                         \
	"count(*) FILTER (WHERE dark>0),"                                                          \
	" count(*) FILTER (WHERE dark=0 AND failures>0),"                                          \
	" count(*) FILTER (WHERE dark=0 AND failures=0 AND changed>0),"                            \
	" count(*) FILTER (WHERE dark=0 AND failures=0 AND changed=0 AND ok>0),"                   \
	" count(*) FILTER (WHERE dark=0 AND failures=0 AND changed=0 AND ok=0 AND skipped>0)"

static bool src_host_status(void *ctx, long job_id, long counts[SHAPE_HOST_STATUSES])
{
	char ib[24];
	const char *v[1] = {pg_num(ib, job_id)};
	runnel_error e;
	PGresult *r =
	    pg_q(ctx, "SELECT " HOST_STATUS_COUNTS ", count(*) FROM host_summaries WHERE job_id=$1",
	         1, v, &e);
	bool any = r && pg_ll(r, 0, 5) > 0;
	for (int i = 0; any && i < SHAPE_HOST_STATUSES; i++)
		counts[i] = (long)pg_ll(r, 0, i);
	PQclear(r);
	return any;
}

static int cmp_ref(const void *a, const void *b)
{
	const shape_ref *x = a, *y = b;
	return x->kind != y->kind ? (x->kind > y->kind) - (x->kind < y->kind)
	                          : (x->id > y->id) - (x->id < y->id);
}

/* All the lookups in one query: a SELECT per kind, by UNION ALL (kinds in
 * order, so that the same kinds make the same statement). */
static int src_lookup_many(void *ctx, const shape_ref *refs, size_t n, shape_found_fn found,
                           void *ud)
{
	shape_ref *sorted = rn_xmalloc(n * sizeof *sorted);
	memcpy(sorted, refs, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp_ref);
	rn_buf sql;
	rn_buf_init(&sql);
	pg_params prm = {0};
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && sorted[j].kind == sorted[i].kind)
			j++;
		char *ids = id_array(&sorted[i].id, j - i, sizeof *sorted);
		char *part = rn_xasprintf("%sSELECT %d, id, name, data::text FROM %s"
		                          " WHERE id = ANY($%d::bigint[])",
		                          i ? " UNION ALL " : "", (int)sorted[i].kind,
		                          pg_table(sorted[i].kind), pg_params_add(&prm, ids));
		rn_buf_append(&sql, part, strlen(part));
		free(part);
		free(ids);
		i = j;
	}
	free(sorted);
	runnel_error e;
	PGresult *r = pg_q(ctx, sql.data, prm.n, (const char *const *)prm.v, &e);
	rn_buf_free(&sql);
	pg_params_free(&prm);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++)
		found(ud, (store_kind)pg_ll(r, i, 0), (long)pg_ll(r, i, 1), pg_val(r, i, 2),
		      pg_val(r, i, 3));
	PQclear(r);
	return 0;
}

/* The host status counts (src_host_status) of many jobs in one query. */
static int src_host_status_many(void *ctx, const long *ids, size_t n, shape_status_fn got, void *ud)
{
	char *arr = id_array(ids, n, sizeof *ids);
	const char *v[1] = {arr};
	runnel_error e;
	PGresult *r = pg_q(ctx,
	                   "SELECT job_id, " HOST_STATUS_COUNTS
	                   " FROM host_summaries WHERE job_id = ANY($1::bigint[]) GROUP BY job_id",
	                   1, v, &e);
	free(arr);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		long counts[SHAPE_HOST_STATUSES];
		for (int k = 0; k < SHAPE_HOST_STATUSES; k++)
			counts[k] = (long)pg_ll(r, i, k + 1);
		got(ud, (long)pg_ll(r, i, 0), counts);
	}
	PQclear(r);
	return 0;
}

/* The shape_source of a connection. */
static shape_source source_of(pgc *c)
{
	return (shape_source){.ctx = c,
	                      .lookup = src_lookup,
	                      .count = src_count,
	                      .host_status = src_host_status,
	                      .lookup_many = src_lookup_many,
	                      .host_status_many = src_host_status_many};
}

/* The columns shape_pg_rows reads, of a kind's table (ROW_COLUMNS of them). */
#define ROW_COLUMNS 8
static const char *row_columns(store_kind kind)
{
	return model_is_job_kind(kind) ? "id, created, modified, name, data::text, secret,"
	                                 " events_stored, type"
	                               : "id, created, modified, name, data::text, secret, 0, ''";
}

/* Row i of r as a shape_row, its columns (row_columns') from col on; its
 * data parsed (json_decref it). */
static shape_row pg_shape_row(store_kind kind, PGresult *r, int i, int col)
{
	return (shape_row){.kind = kind,
	                   .id = (long)pg_ll(r, i, col),
	                   .created = pg_val(r, i, col + 1),
	                   .modified = pg_val(r, i, col + 2),
	                   .name = pg_val(r, i, col + 3),
	                   .data = json_loads(pg_val(r, i, col + 4), 0, NULL),
	                   .secret = PQgetisnull(r, i, col + 5) ? NULL : pg_val(r, i, col + 5),
	                   .events_stored = (long)pg_ll(r, i, col + 6)};
}

/* Fewer rows than this are shaped with lookups one at a time: each is a
 * statement prepared and planned once per connection, where a lookup_many
 * (an id array) is planned at every call, which costs PostgreSQL more than
 * a few round trips (bench/pg_requests.py). */
#define PREFETCH_MIN_ROWS 3

/* rows[0..n) in the AWX shape, appended to out (and their data freed): the
 * lookups of them all made at once (shape_memo_prefetch) when they are
 * many. */
static void shape_rows(const shape_source *inner, shape_row *rows, size_t n, json_t *out)
{
	/* a row or two straight from the source: the memo keeps (and so
	 * parses) the data of every object it looks up, which costs more than
	 * asking twice for a user */
	bool many = n >= PREFETCH_MIN_ROWS;
	shape_memo memo;
	shape_source src = many ? shape_memo_source(&memo, inner) : *inner;
	if (many)
		shape_memo_prefetch(&memo, rows, n);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(out, shape_object(&src, &rows[i]));
		json_decref((json_t *)rows[i].data);
	}
	if (many)
		shape_memo_clear(&memo);
}

/* Row i of r in the AWX shape, its columns from col on (a new object). */
static json_t *shape_pg_one(const shape_source *src, store_kind kind, PGresult *r, int i, int col)
{
	shape_row row = pg_shape_row(kind, r, i, col);
	json_t *o = shape_object(src, &row);
	json_decref((json_t *)row.data);
	return o;
}

/* Rows [0, n) of r (row_columns' columns) in the AWX shape, appended to out. */
static void shape_pg_rows(const shape_source *inner, store_kind kind, PGresult *r, int n,
                          json_t *out)
{
	shape_row *rows = rn_xmalloc((n ? (size_t)n : 1) * sizeof *rows);
	for (int i = 0; i < n; i++)
		rows[i] = pg_shape_row(kind, r, i, 0);
	shape_rows(inner, rows, (size_t)n, out);
	free(rows);
}

json_t *pg_get_locked(pg *p, pgc *c, store_kind kind, long id, runnel_error *err)
{
	(void)p;
	char sql[200], ib[24];
	snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id=$1", row_columns(kind),
	         pg_table(kind));
	const char *v[1] = {pg_num(ib, id)};
	PGresult *r = pg_q(c, sql, 1, v, err);
	if (!r)
		return NULL;
	if (!PQntuples(r) || (model_is_job_kind(kind) && kind != STORE_UNIFIED_JOB &&
	                      strcmp(pg_val(r, 0, 7), store_kind_type(kind)))) {
		PQclear(r);
		return rn_fail(err, ENOENT, "__all__: Not found."), NULL;
	}
	shape_source src = source_of(c);
	json_t *o = shape_pg_one(&src, kind, r, 0, 0);
	PQclear(r);
	return o;
}

int pg_list(store *st, store_kind kind, const store_query *q, store_page *out, runnel_error *err)
{
	out->count = 0;
	out->results = NULL;
	query qy;
	if (query_parse(QUERY_OBJECTS, kind, q, &qy, err) < 0)
		return -1;
	rn_buf where;
	rn_buf_init(&where);
	rn_buf_append(&where, " WHERE true", 11);
	pg_params prm = {0};
	char b[96];
	if (model_is_job_kind(kind) && kind != STORE_UNIFIED_JOB) {
		snprintf(b, sizeof b, " AND type = $%d",
		         pg_params_add(&prm, store_kind_type(kind)));
		rn_buf_append(&where, b, strlen(b));
	}
	if (q && q->rel != STORE_REL_NONE) {
		char x[24], y[24];
		int a = pg_params_add(&prm, pg_num(x, q->rel));
		int c2 = pg_params_add(&prm, pg_num(y, q->rel_parent));
		snprintf(
		    b, sizeof b,
		    q->rel_reverse
		        ? " AND id IN (SELECT parent FROM relations WHERE rel=$%d AND child=$%d)"
		        : " AND id IN (SELECT child FROM relations WHERE rel=$%d AND parent=$%d)",
		    a, c2);
		rn_buf_append(&where, b, strlen(b));
	}
	pg_where(&qy, &where, &prm);
	char *order = pg_order(&qy, "id");
	long limit = qy.limit, offset = qy.offset;
	query_clear(&qy);
	int rc = -1;
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		goto out;
	/* the page and the count of all it is a page of in one statement (one
	 * snapshot: the page is never longer than the count) */
	const char *table = pg_table(kind);
	int nwhere = prm.n;
	char *page = pg_limit(&prm, limit, offset);
	char *sql =
	    rn_xasprintf("SELECT %s, (SELECT count(*) FROM %s%s) FROM %s%s%s%s", row_columns(kind),
	                 table, where.data, table, where.data, order, page);
	free(page);
	PGresult *r = pg_q(c, sql, prm.n, (const char *const *)prm.v, err);
	free(sql);
	if (!r)
		goto out;
	int n = PQntuples(r);
	out->count = n ? (long)pg_ll(r, 0, ROW_COLUMNS) : 0;
	if (!n && offset > 0) { /* past the end: the count on its own */
		PQclear(r);
		sql = rn_xasprintf("SELECT count(*) FROM %s%s", table, where.data);
		r = pg_qd(c, sql, nwhere, (const char *const *)prm.v, err);
		free(sql);
		if (!r)
			goto out;
		out->count = (long)pg_ll(r, 0, 0);
	}
	/* shaped with one lookup per object the rows name */
	shape_source src = source_of(c);
	out->results = json_array();
	shape_pg_rows(&src, kind, r, n, out->results);
	PQclear(r);
	rc = 0;
out:
	if (rc < 0)
		store_page_clear(out);
	pg_release(p, c);
	free(order);
	rn_buf_free(&where);
	pg_params_free(&prm);
	return rc;
}

/* ------------------------------------------------------------------ */
/* inventories                                                          */

/* The inventory as ansible-inventory --list prints it (inventory_render.h),
 * from its groups, enabled hosts and memberships. */
json_t *pg_inventory_script(store *st, long inv, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return NULL;
	json_t *out = NULL, *invdata = NULL;
	inventory_rows rows = {0};
	if (read_raw(c, STORE_INVENTORY, inv, false, &invdata, NULL, err) < 0)
		goto out;
	static const char *const members[] = {
	    "SELECT id, name, data->>'variables' FROM \"groups\""
	    " WHERE (data->>'inventory')::bigint=$1 ORDER BY name",
	    "SELECT id, name, data->>'variables' FROM \"hosts\""
	    " WHERE (data->>'inventory')::bigint=$1 AND (data->>'enabled')::boolean ORDER BY name",
	};
	char ib[24];
	const char *v[1] = {pg_num(ib, inv)};
	for (int m = 0; m < 2; m++) {
		PGresult *r = pg_q(c, members[m], 1, v, err);
		if (!r)
			goto out;
		for (int i = 0; i < PQntuples(r); i++)
			(m ? inventory_rows_add_host : inventory_rows_add_group)(
			    &rows, (long)pg_ll(r, i, 0), pg_val(r, i, 1),
			    PQgetisnull(r, i, 2) ? NULL : pg_val(r, i, 2));
		PQclear(r);
	}
	PGresult *r = pg_q(c,
	                   "SELECT rel, parent, child FROM relations WHERE rel IN (3, 4) AND parent"
	                   " IN (SELECT id FROM \"groups\" WHERE (data->>'inventory')::bigint=$1)"
	                   " ORDER BY rel, parent, child",
	                   1, v, err);
	if (!r)
		goto out;
	for (int i = 0; i < PQntuples(r); i++)
		inventory_rows_add_edge(&rows, pg_ll(r, i, 0) == STORE_REL_GROUP_CHILDREN,
		                        (long)pg_ll(r, i, 1), (long)pg_ll(r, i, 2));
	PQclear(r);
	out = inventory_render(json_string_value(json_object_get(invdata, "variables")), &rows);
out:
	pg_release(p, c);
	inventory_rows_free(&rows);
	json_decref(invdata);
	return out;
}

/* Give group gid the hosts and children data names: replacing its others
 * on overwrite, else added to them. */
static int set_members(pgc *c, long gid, const json_t *gd, json_t *hostids, json_t *groupids,
                       bool overwrite, runnel_error *err)
{
	if (overwrite &&
	    exec_id(c, "DELETE FROM relations WHERE rel IN (3,4) AND parent=$1", gid, err) < 0)
		return -1;
	const struct {
		const char *key;
		json_t *ids;
		store_rel rel;
	} members[] = {{"hosts", hostids, STORE_REL_GROUP_HOSTS},
	               {"children", groupids, STORE_REL_GROUP_CHILDREN}};
	for (int m = 0; m < 2; m++) {
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(gd, members[m].key), i, x) {
			json_t *id = json_is_string(x)
			                 ? json_object_get(members[m].ids, json_string_value(x))
			                 : NULL;
			if (!id)
				continue;
			char rb[24], pb[24], cb[24];
			const char *v[3] = {pg_num(rb, members[m].rel), pg_num(pb, gid),
			                    pg_num(cb, json_integer_value(id))};
			PGresult *r =
			    pg_q(c,
			         "INSERT INTO relations(rel, parent, child) VALUES($1,$2,$3)"
			         " ON CONFLICT DO NOTHING",
			         3, v, err);
			if (!r)
				return -1;
			PQclear(r);
		}
	}
	return 0;
}

/* Delete the hosts (groups: pass 1) of inv that source imported and whose
 * names keep does not hold. */
static int drop_others(pgc *c, long inv, long source, bool groups, json_t *keep, runnel_error *err)
{
	char sql[160], ib[24];
	snprintf(sql, sizeof sql,
	         "SELECT id, name, data::text FROM %s WHERE (data->>'inventory')::bigint=$1",
	         pg_table(groups ? STORE_GROUP : STORE_HOST));
	const char *v[1] = {pg_num(ib, inv)};
	PGresult *r = pg_q(c, sql, 1, v, err);
	if (!r)
		return -1;
	int rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		if (json_object_get(keep, pg_val(r, i, 1)))
			continue;
		json_t *d = json_loads(pg_val(r, i, 2), 0, NULL);
		bool mine = inventory_plan_owned(d, source);
		json_decref(d);
		if (!mine) /* added by hand, or by another source */
			continue;
		long id = (long)pg_ll(r, i, 0);
		if (groups)
			rc =
			    exec_id(c, "DELETE FROM relations WHERE rel IN (3,4) AND parent=$1", id,
			            err) ||
			    exec_id(c, "DELETE FROM relations WHERE rel=4 AND child=$1", id, err) ||
			    exec_id(c, "DELETE FROM \"groups\" WHERE id=$1", id, err);
		else
			rc =
			    exec_id(c, "DELETE FROM relations WHERE rel=3 AND child=$1", id, err) ||
			    exec_id(c, "DELETE FROM \"hosts\" WHERE id=$1", id, err);
	}
	PQclear(r);
	return rc ? -1 : 0;
}

int pg_inventory_import(store *st, long inv, const json_t *data, long source, bool overwrite,
                        bool overwrite_vars, long *nhosts, long *ngroups, runnel_error *err)
{
	inventory_plan plan;
	if (inventory_plan_read(data, &plan, err) < 0)
		return -1;
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	json_t *hostids = json_object(), *groupids = json_object(), *invdata = NULL;
	long nh = 0, ng = 0;
	int rc = -1;
	if (!c || pg_exec(c, "BEGIN", err) < 0 ||
	    read_raw(c, STORE_INVENTORY, inv, true, &invdata, NULL, err) < 0)
		goto out;
	rc = 0;
	const char *name;
	json_t *m;
	json_object_foreach(plan.hosts, name, m) {
		long id =
		    store_upsert_member(&pg_raw_ops, &(pg_raw){p, c}, STORE_HOST, inv, name,
		                        json_object_get(m, "vars"), source, overwrite_vars, err);
		if (!id) {
			rc = -1;
			break;
		}
		json_object_set_new(hostids, name, json_integer(id));
		nh++;
	}
	json_object_foreach(plan.groups, name, m) {
		if (rc < 0)
			break;
		long id =
		    store_upsert_member(&pg_raw_ops, &(pg_raw){p, c}, STORE_GROUP, inv, name,
		                        json_object_get(m, "vars"), source, overwrite_vars, err);
		if (!id) {
			rc = -1;
			break;
		}
		json_object_set_new(groupids, name, json_integer(id));
		ng++;
	}
	if (rc == 0 && plan.all_vars) { /* all's vars are the inventory's variables */
		char *t = inventory_plan_vars_text(
		    json_string_value(json_object_get(invdata, "variables")), plan.all_vars,
		    overwrite_vars);
		json_object_set_new(invdata, "variables", json_string(t));
		free(t);
		rc = write_raw(c, STORE_INVENTORY, inv, invdata, NULL, err);
	}
	json_t *gid;
	json_object_foreach(groupids, name, gid) {
		if (rc < 0)
			break;
		rc = set_members(c, (long)json_integer_value(gid),
		                 json_object_get(plan.groups, name), hostids, groupids, overwrite,
		                 err);
	}
	if (rc == 0 && overwrite)
		rc = drop_others(c, inv, source, false, hostids, err) < 0 ||
		             drop_others(c, inv, source, true, groupids, err) < 0
		         ? -1
		         : 0;
	if (rc == 0)
		rc = pg_exec(c, "COMMIT", err);
out:
	pg_release(p, c);
	inventory_plan_free(&plan);
	json_decref(invdata);
	json_decref(hostids);
	json_decref(groupids);
	if (nhosts)
		*nhosts = nh;
	if (ngroups)
		*ngroups = ng;
	return rc;
}

/* ------------------------------------------------------------------ */
/* schedules                                                            */

/* The compare-and-set of a schedule's next_run (store.h schedule_claim):
 * the row locked (SELECT ... FOR UPDATE) from the read to the commit. */
int pg_schedule_claim(store *st, long id, const char *expected, const char *next, runnel_error *err)
{
	pg *p = pg_of(st);
	pgc *c = pg_acquire(p, err);
	if (!c)
		return -1;
	json_t *data = NULL;
	int rc = pg_exec(c, "BEGIN", err);
	if (rc == 0)
		rc = read_raw(c, STORE_SCHEDULE, id, true, &data, NULL, err);
	if (rc == 0) {
		const char *cur = json_string_value(json_object_get(data, "next_run"));
		bool same = (!cur && !expected) || (cur && expected && !strcmp(cur, expected));
		if (same && json_is_true(json_object_get(data, "enabled"))) {
			json_object_set_new(data, "next_run",
			                    next ? json_string(next) : json_null());
			rc = write_raw(c, STORE_SCHEDULE, id, data, NULL, err) < 0 ? -1 : 1;
		}
	}
	if (rc >= 0 && pg_exec(c, "COMMIT", err) < 0)
		rc = -1;
	pg_release(p, c); /* rolls back an open transaction */
	json_decref(data);
	return rc;
}
