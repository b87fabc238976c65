/*
 * secrets.h - what the store keeps secret, the same for every backend:
 * credential inputs sealed with the state dir's key (seal.h), password hashes
 * (Argon2id), token hashes and the password stamps of
 * store_ops.user_secret_stamp.
 *
 * A credential keeps its plain inputs with its other fields and its secret
 * ones in a separate JSON object of name -> sealed text (the "secret" of
 * its row), which no answer shows (shape.c masks them as "$encrypted$").
 *
 * Nothing here logs or puts a secret in an error message.
 */
#ifndef RUNNELD_STORE_SECRETS_H
#define RUNNELD_STORE_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <sodium.h>

#include "runnel.h"
#include "seal.h"

/* An Argon2id hash of password into out. 0, or -1 (out of memory). */
int secrets_password_hash(const char *password, size_t len, char out[crypto_pwhash_STRBYTES]);
/* True if password matches hash (NULL: never). */
bool secrets_password_check(const char *hash, const char *password);
/* The stamp of a stored hash (BLAKE2b-256 of it). */
void secrets_stamp(const char *hash, unsigned char stamp[32]);

/* A new random bearer token (48 hex digits) and the hash stored for it. */
void secrets_token_new(char token[49]);
/* The stored hash of a token (64 hex digits). */
void secrets_token_hash(const char *token, char out[65]);
/* The fields of a new token of user_id (store_ops.token_create): the
 * caller's (description, scope) without the read-only ones, the user, and
 * "expires" now + expire_seconds (<= 0: AWX's default). A new object, or
 * NULL with EINVAL when fields is not an object. */
json_t *secrets_token_fields(long user_id, const json_t *fields, long long expire_seconds,
                             runnel_error *err);

/*
 * Split the "inputs" of validated credential fields v by the fields of the
 * credential type's inputs (type_inputs: {"fields": [{"id": ...,
 * "secret": true}, ...]}): plain inputs stay in v, secret ones are sealed
 * into secret (name -> sealed text). An input "$encrypted$" keeps what
 * secret holds for it; an empty secret input removes it. v's "kind" is set
 * to kind. Inputs the type does not name (when it names any): EINVAL.
 * 0 or -1 with err.
 */
int secrets_split_inputs(const store_key *key, json_t *v, const json_t *type_inputs,
                         const json_t *kind, json_t *secret, runnel_error *err);

/* The secret inputs an update keeps: those given as "$encrypted$" that
 * secret_text (the stored object of sealed inputs, may be NULL) holds. A new
 * object. */
json_t *secrets_inputs_kept(const json_t *inputs, const char *secret_text);

/* A credential's inputs with its secret ones opened: plain (its data's
 * "inputs") merged with secret_text opened, plus "__kind". NULL with EIO
 * when a secret does not open with key. */
json_t *secrets_open_inputs(const store_key *key, const json_t *data, const char *secret_text,
                            runnel_error *err);

#endif
