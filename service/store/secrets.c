/* secrets.c - the store's key, sealed inputs, password and token hashes (secrets.h). */
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
/* the key                                                              */

int secrets_key_load(secrets_key *key, const char *state_dir, runnel_error *err)
{
	char *path = rn_path_join(state_dir, "secret.key");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		unsigned char k[crypto_secretbox_KEYBYTES];
		crypto_secretbox_keygen(k);
		int w = rn_write_all(fd, k, sizeof k);
		close(fd);
		sodium_memzero(k, sizeof k);
		if (w < 0) {
			unlink(path);
			rn_fail(err, errno, "__all__: write %s: %s", path, strerror(errno));
			free(path);
			return -1;
		}
	} else if (errno != EEXIST) {
		rn_fail(err, errno, "__all__: create %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	size_t len = 0;
	runnel_error e2;
	char *data = NULL;
	/* Another process may be between create and write: retry briefly. */
	for (int i = 0; i < 50; i++) {
		free(data);
		data = rn_read_file(path, &len, &e2);
		if (!data || len == sizeof key->k)
			break;
		usleep(10000);
	}
	if (!data || len != sizeof key->k) {
		rn_fail(err, EIO, "__all__: %s: not a %zu-byte key", path, sizeof key->k);
		if (data)
			sodium_memzero(data, len);
		free(data);
		free(path);
		return -1;
	}
	memcpy(key->k, data, sizeof key->k);
	sodium_memzero(data, len);
	free(data);
	free(path);
	return 0;
}

void secrets_key_wipe(secrets_key *key)
{
	sodium_memzero(key->k, sizeof key->k);
}

char *secrets_seal(const secrets_key *key, const char *text)
{
	size_t m = strlen(text);
	size_t clen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + m;
	unsigned char *c = rn_xmalloc(clen);
	randombytes_buf(c, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(c + crypto_secretbox_NONCEBYTES, (const unsigned char *)text, m, c,
	                      key->k);
	size_t blen = sodium_base64_ENCODED_LEN(clen, sodium_base64_VARIANT_ORIGINAL);
	char *b = rn_xmalloc(blen);
	sodium_bin2base64(b, blen, c, clen, sodium_base64_VARIANT_ORIGINAL);
	free(c);
	return b;
}

char *secrets_unseal(const secrets_key *key, const char *b64)
{
	size_t max = strlen(b64);
	unsigned char *c = rn_xmalloc(max + 1);
	size_t clen = 0;
	if (sodium_base642bin(c, max, b64, strlen(b64), NULL, &clen, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) ||
	    clen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
		free(c);
		return NULL;
	}
	size_t m = clen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	char *out = rn_xmalloc(m + 1);
	if (crypto_secretbox_open_easy((unsigned char *)out, c + crypto_secretbox_NONCEBYTES,
	                               clen - crypto_secretbox_NONCEBYTES, c, key->k)) {
		free(c);
		free(out);
		return NULL;
	}
	out[m] = 0;
	free(c);
	return out;
}

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

int secrets_split_inputs(const secrets_key *key, json_t *v, const json_t *type_inputs,
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
		char *sealed = secrets_seal(key, val);
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

json_t *secrets_open_inputs(const secrets_key *key, const json_t *data, const char *secret_text,
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
		char *plain = secrets_unseal(key, json_string_value(v) ? json_string_value(v) : "");
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
