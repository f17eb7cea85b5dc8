/*
 * SHA-256, raw and in hex: how tokens, codes, session ids and secrets are
 * stored (their hash, never the value) and looked up.
 */
#include <sodium.h>

#include "crypto/crypto.h"

void
hash_sha256(const void *in, size_t n, uint8_t out[PC_SHA256_LEN])
{
	crypto_hash_sha256(out, in, n);
}

void
hash_sha256_hex(const void *in, size_t n, char out[PC_SHA256_HEX_LEN + 1])
{
	uint8_t h[PC_SHA256_LEN];

	hash_sha256(in, n, h);
	hex_encode(h, sizeof(h), out);
}
