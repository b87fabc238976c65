/*
 * seal.h - secrets at rest, for every backend: the state dir's secret.key
 * (32 random bytes, 0600, made on first use) and libsodium's secretbox over
 * it. A sealed text is base64(nonce || box). The SQLite and PostgreSQL
 * backends use the same key file, so a state dir's credentials open with
 * either.
 */
#ifndef RUNNELD_STORE_SEAL_H
#define RUNNELD_STORE_SEAL_H

#include <sodium.h>

#include "runnel.h"

typedef struct store_key {
	unsigned char k[crypto_secretbox_KEYBYTES];
} store_key;

/* Load state_dir/secret.key into key, creating it on first use. 0, or -1
 * with err naming the file. */
int store_key_load(store_key *key, const char *state_dir, runnel_error *err);
/* text sealed with key (a new string). */
char *store_seal(const store_key *key, const char *text);
/* What store_seal made, opened (a new string), or NULL when it does not
 * open with key. */
char *store_unseal(const store_key *key, const char *sealed);

#endif
