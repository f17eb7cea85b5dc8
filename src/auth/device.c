/*
 * Device cookies (SECURITY.md LG-03; the OWASP "device cookie" defence).
 *
 * A stranger who knows an email may slow that account's sign-in (the
 * per-account delay), but must never make its owner's own, known browser
 * wait. After a successful sign-in the browser gets a device cookie: 32
 * random bytes (base64url, like the session cookie), bound to the user.
 * The store keeps only the hex SHA-256 of the bytes, the user, a failure
 * count and an expiry, so a store read yields no working cookie and every
 * cookie can be revoked. A sign-in attempt that presents a live device
 * cookie of the account it names skips the account's delay (not the lock
 * at login_lock_after, not the IP limits). Its failures count on the
 * account like any other and on the cookie too; after
 * device_cookie_failures of them without a success the cookie no longer
 * helps (src/auth/throttle.c, src/store/throttle.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "jose/jose.h"
#include "store/store.h"

static bool
is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

const char *
device_cookie_name(const struct config *cfg)
{
	return cfg->issuer_https ? "__Host-did" : "did";
}

int
device_cookie_hash(const char *value, char out[PC_SHA256_HEX_LEN + 1])
{
	uint8_t raw[DEVICE_COOKIE_BYTES];
	size_t len;

	out[0] = '\0';
	if (value == NULL ||
	    strnlen(value, DEVICE_COOKIE_LEN + 1) != DEVICE_COOKIE_LEN)
		return PC_ERR_INVALID;
	for (size_t i = 0; i < DEVICE_COOKIE_LEN; i++)
		if (!is_b64url(value[i]))
			return PC_ERR_INVALID;
	/* Canonical only: one cookie, one record. */
	if (b64url_decode(value, DEVICE_COOKIE_LEN, raw, sizeof(raw), &len) !=
		0 ||
	    len != sizeof(raw)) {
		sodium_memzero(raw, sizeof(raw));
		return PC_ERR_INVALID;
	}
	hash_sha256_hex(raw, sizeof(raw), out);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

int
device_cookie_issue(struct db *db, const struct config *cfg,
    const char *user_id, const char *old_hash, int64_t now,
    char value[DEVICE_COOKIE_LEN + 1])
{
	uint8_t raw[DEVICE_COOKIE_BYTES];
	char h[PC_SHA256_HEX_LEN + 1];
	int r;

	value[0] = '\0';
	if (user_id == NULL)
		return PC_ERR_INVALID;
	random_bytes(raw, sizeof(raw));
	b64url_encode(raw, sizeof(raw), value);
	hash_sha256_hex(raw, sizeof(raw), h);
	sodium_memzero(raw, sizeof(raw));
	r = store_device_cookie_add(db, h, user_id, now,
	    now + cfg->device_cookie_lifetime, DEVICE_COOKIES_PER_USER,
	    old_hash);
	if (r != 0)
		sodium_memzero(value, DEVICE_COOKIE_LEN + 1);
	return r;
}

int
device_cookie_header(
    const struct config *cfg, const char *value, char *out, size_t n)
{
	char h[PC_SHA256_HEX_LEN + 1];
	int w;

	if (n > 0)
		out[0] = '\0';
	/* Only a well-formed value goes into a header (no injection). */
	if (device_cookie_hash(value, h) != 0)
		return PC_ERR_INVALID;
	/* __Host-: Secure, Path=/ and no Domain (RFC 6265bis §4.1.3.2); on
	 * loopback http like the session cookie, without both. */
	w = snprintf(out, n,
	    "%s=%s; Path=/; Max-Age=%" PRId64 "; HttpOnly; SameSite=Lax%s",
	    device_cookie_name(cfg), value, cfg->device_cookie_lifetime,
	    cfg->issuer_https ? "; Secure" : "");
	if (w < 0)
		return PC_ERR_INTERNAL;
	if ((size_t)w >= n) {
		if (n > 0)
			out[0] = '\0';
		return PC_ERR_TOO_LARGE;
	}
	return 0;
}

int
device_cookies_revoke(
    struct db *db, const char *user_id, const char *keep_hash, int64_t *n)
{
	return store_device_cookies_revoke(db, user_id, keep_hash, n);
}
