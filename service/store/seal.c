/* seal.c - secrets at rest (seal.h). */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int store_key_load(store_key *key, const char *state_dir, runnel_error *err)
{
	char *path = rn_path_join(state_dir, "secret.key");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		store_key fresh;
		crypto_secretbox_keygen(fresh.k);
		int w = rn_write_all(fd, fresh.k, sizeof fresh.k);
		close(fd);
		sodium_memzero(&fresh, sizeof fresh);
		if (w < 0) {
			int e = errno;
			unlink(path);
			rn_fail(err, e, "__all__: write %s: %s", path, strerror(e));
			free(path);
			return -1;
		}
	} else if (errno != EEXIST) {
		rn_fail(err, errno, "__all__: create %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	/* another process may be between its create and its write */
	char *data = NULL;
	size_t len = 0;
	for (int i = 0; i < 50; i++) {
		runnel_error e2;
		free(data);
		data = rn_read_file_max(path, 4096, &len, &e2);
		if (!data || len == sizeof key->k)
			break;
		usleep(10000);
	}
	if (!data || len != sizeof key->k) {
		rn_fail(err, EIO, "__all__: %s: not a %zu-byte key", path, sizeof key->k);
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

char *store_seal(const store_key *key, const char *text)
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

char *store_unseal(const store_key *key, const char *sealed)
{
	size_t max = strlen(sealed);
	unsigned char *c = rn_xmalloc(max + 1);
	size_t clen = 0;
	if (sodium_base642bin(c, max, sealed, max, NULL, &clen, NULL,
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
