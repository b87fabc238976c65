/* secrets.c - sealed credential inputs, password and token hashes (secrets.h). */
#include "secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* passwords and tokens                                                 */

int secrets_password_hash(const char *password, size_t len, char out[crypto_pwhash_STRBYTES])
{
	return crypto_pwhash_str(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                         crypto_pwhash_MEMLIMIT_INTERACTIVE)
	           ? -1
	           : 0;
}

bool secrets_password_check(const char *hash, const char *password)
{
	return hash && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void secrets_stamp(const char *hash, unsigned char stamp[32])
{
	crypto_generichash(stamp, 32, (const unsigned char *)hash, strlen(hash), NULL, 0);
}

void secrets_token_new(char token[49])
{
	unsigned char raw[24];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(token, 49, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
}

void secrets_token_hash(const char *token, char out[65])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof h);
}

json_t *secrets_token_fields(long user_id, const json_t *fields, long long expire_seconds,
                             runnel_error *err)
{
	json_t *f = fields ? json_deep_copy(fields) : json_object();
	if (!json_is_object(f)) {
		json_decref(f);
		return rn_fail(err, EINVAL, "__all__: Invalid data. Expected a dictionary."), NULL;
	}
	for (const model_field *mf = model_fields(STORE_TOKEN); mf->name; mf++)
		if (mf->flags & MF_RO)
			json_object_del(f, mf->name);
	json_object_set_new(f, "user", json_integer(user_id));
	char expires[32];
	model_time_after(expire_seconds > 0 ? expire_seconds : MODEL_TOKEN_EXPIRE_SECONDS, expires);
	json_object_set_new(f, "expires", json_string(expires));
	return f;
}

/* ------------------------------------------------------------------ */
/* credential inputs                                                    */

/* True if the type's input fields name k (or name none). */
static bool input_known(const json_t *fields, const char *k)
{
	if (!json_array_size(fields))
		return true;
	size_t i;
	json_t *f;
	json_array_foreach(fields, i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		if (id && !strcmp(id, k))
			return true;
	}
	return false;
}

int secrets_split_inputs(const store_key *key, json_t *v, const json_t *type_inputs,
                         const json_t *kind, json_t *secret, runnel_error *err)
{
	json_t *in = json_object_get(v, "inputs");
	if (!in)
		return 0;
	if (!json_is_object(in))
		return rn_fail(err, EINVAL, "inputs: Must be an object.");
	json_t *fields = json_object_get(type_inputs, "fields");
	json_t *plain = json_object();
	const char *k;
	json_t *x;
	json_object_foreach(in, k, x) {
		if (!input_known(fields, k)) {
			json_decref(plain);
			return rn_fail(
			    err, EINVAL,
			    "inputs: Additional properties are not allowed ('%s' was unexpected)",
			    k);
		}
		if (!model_input_is_secret(type_inputs, k)) {
			json_object_set(plain, k, x);
			continue;
		}
		if (!json_is_string(x)) {
			json_decref(plain);
			return rn_fail(err, EINVAL, "inputs: %s must be a string", k);
		}
		const char *val = json_string_value(x);
		if (!strcmp(val, "$encrypted$"))
			continue; /* keep the stored value */
		if (!*val) {
			json_object_del(secret, k);
			continue;
		}
		char *sealed = store_seal(key, val);
		json_object_set_new(secret, k, json_string(sealed));
		free(sealed);
	}
	if (kind)
		json_object_set(v, "kind", (json_t *)kind);
	json_object_set_new(v, "inputs", plain);
	return 0;
}

json_t *secrets_inputs_kept(const json_t *inputs, const char *secret_text)
{
	json_t *sec = secret_text ? json_loads(secret_text, 0, NULL) : NULL;
	json_t *keep = json_object();
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)inputs, k, x)
		if (json_is_string(x) && !strcmp(json_string_value(x), "$encrypted$") &&
		    json_object_get(sec, k))
			json_object_set(keep, k, json_object_get(sec, k));
	json_decref(sec);
	return keep;
}

json_t *secrets_open_inputs(const store_key *key, const json_t *data, const char *secret_text,
                            runnel_error *err)
{
	json_t *in = json_deep_copy(json_object_get(data, "inputs"));
	if (!json_is_object(in)) {
		json_decref(in);
		in = json_object();
	}
	json_t *sec = secret_text ? json_loads(secret_text, 0, NULL) : NULL;
	const char *k;
	json_t *v;
	json_object_foreach(sec, k, v) {
		char *plain = store_unseal(key, json_string_value(v) ? json_string_value(v) : "");
		if (!plain) {
			rn_fail(err, EIO,
			        "inputs: %s does not decrypt with this state dir's secret.key", k);
			json_decref(sec);
			json_decref(in);
			return NULL;
		}
		json_object_set_new(in, k, json_string(plain));
		sodium_memzero(plain, strlen(plain));
		free(plain);
	}
	json_object_set(in, "__kind", json_object_get(data, "kind"));
	json_decref(sec);
	return in;
}
