/*
 * Sealing: authenticated encryption (XChaCha20-Poly1305) of small secrets
 * stored in the database, such as private signing keys and refresh
 * successors, as "v1." text bound to its row by the associated data.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"

#define SEAL_PREFIX "v1."
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_MAX (64 * 1024)

int
seal(const uint8_t key[32], const char *aad, const uint8_t *pt, size_t n,
    char **out)
{
	uint8_t *raw;
	unsigned long long clen;
	size_t rlen, tlen;
	char *text;

	*out = NULL;
	if (n > SEAL_MAX)
		return PC_ERR_TOO_LARGE;
	rlen = NONCE_LEN + n + TAG_LEN;
	raw = xmalloc(rlen);
	randombytes_buf(raw, NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(raw + NONCE_LEN, &clen,
		pt, n, (const uint8_t *)aad, strlen(aad), NULL, raw,
		key) != 0) {
		free(raw);
		return PC_ERR_CRYPTO;
	}
	tlen = strlen(SEAL_PREFIX) + b64url_encoded_len(rlen);
	text = xmalloc(tlen + 1);
	memcpy(text, SEAL_PREFIX, strlen(SEAL_PREFIX));
	b64url_encode(raw, rlen, text + strlen(SEAL_PREFIX));
	free(raw);
	*out = text;
	return 0;
}

int
unseal(const uint8_t key[32], const char *aad, const char *text, uint8_t **pt,
    size_t *n)
{
	size_t tlen = strlen(text), rlen = 0;
	uint8_t *raw = NULL, *plain = NULL;
	unsigned long long plen;
	int r = PC_ERR_INVALID;

	*pt = NULL;
	*n = 0;
	if (tlen <= strlen(SEAL_PREFIX) ||
	    strncmp(text, SEAL_PREFIX, strlen(SEAL_PREFIX)) != 0 ||
	    tlen > SEAL_MAX * 2)
		return PC_ERR_INVALID;
	raw = xmalloc(tlen);
	if (b64url_decode(text + strlen(SEAL_PREFIX),
		tlen - strlen(SEAL_PREFIX), raw, tlen, &rlen) != 0 ||
	    rlen < NONCE_LEN + TAG_LEN)
		goto out;
	plain = sodium_malloc(rlen - NONCE_LEN - TAG_LEN + 1);
	if (plain == NULL)
		fatal("sodium_malloc failed");
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL,
		raw + NONCE_LEN, rlen - NONCE_LEN, (const uint8_t *)aad,
		strlen(aad), raw, key) != 0) {
		sodium_free(plain);
		plain = NULL;
		r = PC_ERR_VERIFY;
		goto out;
	}
	*pt = plain;
	*n = (size_t)plen;
	r = 0;
out:
	free(raw);
	return r;
}
