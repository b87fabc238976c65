/*
 * sqlite_auth.c - users' passwords, personal tokens and credentials' secret
 * inputs (the crypto itself is secrets.c's).
 */
#include "sqlite_internal.h"

#include "notify_model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

/* Check a username/password. */
json_t *sq_user_authenticate(store *st, const char *username, const char *password,
                             unsigned char *stamp, runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	json_t *r = NULL;
	sqlite3_stmt *stm = sq_prep(s, "SELECT id, secret FROM users WHERE name=?", err);
	if (!stm)
		goto out;
	sqlite3_bind_text(stm, 1, username, -1, SQLITE_TRANSIENT);
	long id = 0;
	char *hash = NULL;
	if (sqlite3_step(stm) == SQLITE_ROW) {
		id = (long)sqlite3_column_int64(stm, 0);
		if (sqlite3_column_type(stm, 1) != SQLITE_NULL)
			hash = rn_xstrdup(sq_col_text(stm, 1));
	}
	sqlite3_reset(stm);
	bool ok = secrets_password_check(hash, password);
	if (ok && stamp)
		secrets_stamp(hash, stamp);
	free(hash);
	if (!ok) {
		rn_fail(err, EACCES, "__all__: Invalid username/password.");
		goto out;
	}
	r = sq_get_locked(s, STORE_USER, id, err);
out:
	sq_unlock(s);
	return r;
}

/* A stamp of a user's password hash: BLAKE2b of the stored hash. */
int sq_user_secret_stamp(store *st, long user_id, unsigned char stamp[32], runnel_error *err)
{
	sq *s = SQ(st);
	sq_lock(s);
	int rc = -1;
	sqlite3_stmt *stm = sq_prep(s, "SELECT secret FROM users WHERE id=?", err);
	if (stm) {
		sqlite3_bind_int64(stm, 1, user_id);
		if (sqlite3_step(stm) == SQLITE_ROW) {
			secrets_stamp(sq_col_text(stm, 0), stamp);
			rc = 0;
		} else {
			rn_fail(err, ENOENT, "user %ld: not found", user_id);
		}
		sqlite3_reset(stm);
	}
	sq_unlock(s);
	return rc;
}

/* Make a token for a user: the caller's description and scope, the user
 * and the expiry set here (the caller's read-only fields are dropped). */
json_t *sq_token_create(store *st, long user_id, const json_t *fields, long long expire_seconds,
                        runnel_error *err)
{
	sq *s = SQ(st);
	json_t *f = secrets_token_fields(user_id, fields, expire_seconds, err);
	if (!f)
		return NULL;
	char tok[49];
	secrets_token_new(tok);
	char hash[65];
	secrets_token_hash(tok, hash);
	sq_lock(s);
	json_t *o = sq_create_locked(s, STORE_TOKEN, f, STORE_SYSTEM, err);
	json_decref(f);
	if (o) {
		sqlite3_stmt *stm = sq_prep(s, "UPDATE tokens SET secret=? WHERE id=?", err);
		int rc = SQLITE_ERROR;
		if (stm) {
			sqlite3_bind_text(stm, 1, hash, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(stm, 2, json_integer_value(json_object_get(o, "id")));
			rc = sqlite3_step(stm);
			sqlite3_reset(stm);
		}
		if (rc != SQLITE_DONE) {
			/* a token without its hash could never be used: do not hand it out */
			runnel_error e2 = {0};
			sq_exec_id(s, "DELETE FROM tokens WHERE id=?",
			           (long)json_integer_value(json_object_get(o, "id")), &e2);
			json_decref(o);
			o = NULL;
			rn_fail(err, EIO, "token: cannot store its hash: %s",
			        sqlite3_errmsg(s->db));
		} else {
			json_object_set_new(o, "token", json_string(tok));
			json_object_set_new(o, "refresh_token", json_null());
		}
	}
	sq_unlock(s);
	sodium_memzero(tok, sizeof tok);
	return o;
}

/* The user of a token that has not expired (and the token, in *token_out). */
json_t *sq_token_authenticate(store *st, const char *token, json_t **token_out, runnel_error *err)
{
	sq *s = SQ(st);
	if (token_out)
		*token_out = NULL;
	char hash[65];
	secrets_token_hash(token, hash);
	sq_lock(s);
	json_t *r = NULL;
	sqlite3_stmt *stm = sq_prep(s, "SELECT id FROM tokens WHERE secret=?", err);
	if (stm) {
		sqlite3_bind_text(stm, 1, hash, -1, SQLITE_TRANSIENT);
		long tid = sqlite3_step(stm) == SQLITE_ROW ? (long)sqlite3_column_int64(stm, 0) : 0;
		sqlite3_reset(stm);
		runnel_error e2 = {0};
		json_t *tok = tid ? sq_get_locked(s, STORE_TOKEN, tid, &e2) : NULL;
		const char *expires = json_string_value(json_object_get(tok, "expires"));
		long uid = (long)json_integer_value(json_object_get(tok, "user"));
		if (tok && expires && model_time_passed(expires))
			uid = 0;
		if (uid)
			r = sq_get_locked(s, STORE_USER, uid, &e2);
		if (r) {
			if (token_out)
				*token_out = json_incref(tok);
		} else {
			rn_fail(err, EACCES,
			        "__all__: Authentication credentials were not provided.");
		}
		json_decref(tok);
	}
	sq_unlock(s);
	return r;
}

/* A notification template's configuration with its sealed values opened. */
json_t *sq_notification_configuration(store *st, long id, runnel_error *err)
{
	sq *s = SQ(st);
	json_t *data = NULL;
	sq_lock(s);
	int rc = sq_read_raw(s, STORE_NOTIFICATION_TEMPLATE, id, &data, NULL, err);
	sq_unlock(s);
	if (rc < 0)
		return NULL;
	json_t *c =
	    notify_model_open(&s->key, json_object_get(data, "notification_configuration"), err);
	json_decref(data);
	return c;
}

/* A credential's inputs with secrets decrypted. */
json_t *sq_credential_inputs(store *st, long id, runnel_error *err)
{
	sq *s = SQ(st);
	json_t *data = NULL;
	char *secret = NULL;
	sq_lock(s);
	if (sq_read_raw(s, STORE_CREDENTIAL, id, &data, &secret, err) < 0) {
		sq_unlock(s);
		return NULL;
	}
	sq_unlock(s);
	json_t *in = secrets_open_inputs(&s->key, data, secret, err);
	json_decref(data);
	free(secret);
	return in;
}
