/*
 * PKCE (RFC 7636) with S256 only (SECURITY.md AZ-06, AZ-07, TK-03): the
 * challenge is BASE64URL(SHA-256(verifier)), exactly 43 characters; the
 * verifier is 43..128 unreserved characters. "plain" and every other
 * method are refused. SHA-256 and the constant-time comparison come
 * from libsodium directly (as crypto/hash.c's do), so this pure check
 * links without the store or OpenSSL (oauth/proto.h).
 */
#include <string.h>

#include <sodium.h>

#include "jose/b64url.h"
#include "oauth/proto.h"

static bool
unreserved(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

bool
pkce_method_ok(const char *method)
{
	return method != NULL && strcmp(method, "S256") == 0;
}

bool
pkce_challenge_valid(const char *challenge)
{
	uint8_t raw[PC_SHA256_LEN];
	char back[PKCE_CHALLENGE_LEN + 1];
	size_t n = 0;

	if (challenge == NULL ||
	    strnlen(challenge, PKCE_CHALLENGE_LEN + 1) != PKCE_CHALLENGE_LEN)
		return false;
	/* Canonical base64url of exactly 32 bytes: decode, re-encode. */
	if (b64url_decode(
		challenge, PKCE_CHALLENGE_LEN, raw, sizeof(raw), &n) != 0 ||
	    n != PC_SHA256_LEN)
		return false;
	b64url_encode(raw, n, back);
	return memcmp(back, challenge, PKCE_CHALLENGE_LEN) == 0;
}

bool
pkce_verifier_valid(const char *verifier)
{
	size_t n;

	if (verifier == NULL)
		return false;
	n = strnlen(verifier, PKCE_VERIFIER_MAX + 1);
	if (n < PKCE_VERIFIER_MIN || n > PKCE_VERIFIER_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!unreserved(verifier[i]))
			return false;
	return true;
}

bool
pkce_verify(const char *verifier, const char *challenge)
{
	uint8_t digest[PC_SHA256_LEN];
	char expect[PKCE_CHALLENGE_LEN + 1];
	bool ok;

	if (!pkce_verifier_valid(verifier) || !pkce_challenge_valid(challenge))
		return false;
	crypto_hash_sha256(
	    digest, (const unsigned char *)verifier, strlen(verifier));
	b64url_encode(digest, sizeof(digest), expect);
	ok = sodium_memcmp(expect, challenge, PKCE_CHALLENGE_LEN) == 0;
	sodium_memzero(digest, sizeof(digest));
	sodium_memzero(expect, sizeof(expect));
	return ok;
}
