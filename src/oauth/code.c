/*
 * Authorization codes (issue 4; SECURITY.md TK-01, TK-02, TK-03): "pca_" +
 * 43 base64url characters of 256 random bits; the store keeps only their
 * SHA-256. A code lives CODE_TTL seconds, is redeemed once (atomically, in
 * the store), and is bound to the client, the redirect URI and the PKCE
 * challenge it was issued with. A redemption that fails a binding still
 * uses the code up: whoever holds a stolen code gets one wrong try.
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/metrics.h"

/* The shape check: prefix, then canonical base64url of 32 bytes. */
static bool
parse_code(const char *code, uint8_t raw[32])
{
	char back[CODE_RANDOM_LEN + 1];
	size_t n = 0;

	if (code == NULL || strnlen(code, CODE_LEN + 1) != CODE_LEN ||
	    memcmp(code, CODE_PREFIX, sizeof(CODE_PREFIX) - 1) != 0)
		return false;
	code += sizeof(CODE_PREFIX) - 1;
	if (b64url_decode(code, CODE_RANDOM_LEN, raw, 32, &n) != 0 || n != 32)
		return false;
	b64url_encode(raw, 32, back);
	return memcmp(back, code, CODE_RANDOM_LEN) == 0;
}

int
code_issue(struct db *db, const struct code_grant *g, int64_t now,
    char out[CODE_LEN + 1])
{
	struct store_auth_code c;
	uint8_t raw[32];
	int r;

	out[0] = '\0';
	if (g->client_id == NULL || g->user_id == NULL ||
	    g->redirect_uri == NULL ||
	    !pkce_challenge_valid(g->code_challenge) || g->scope == NULL)
		return PC_ERR_INVALID;
	memset(&c, 0, sizeof(c));
	random_bytes(raw, sizeof(raw));
	hash_sha256_hex(raw, sizeof(raw), c.code_hash);
	c.client_id = (char *)g->client_id;
	c.user_id = (char *)g->user_id;
	c.redirect_uri = (char *)g->redirect_uri;
	c.code_challenge = (char *)g->code_challenge;
	c.scope = (char *)g->scope;
	c.nonce = (char *)g->nonce;
	c.auth_time = g->auth_time;
	c.amr = (char *)(g->amr != NULL ? g->amr : "");
	c.sid = (char *)g->sid;
	c.resource = (char *)g->resource;
	c.grant_expires_at = g->grant_expires_at;
	c.created_at = now;
	c.expires_at = now + CODE_TTL;
	r = store_auth_code_insert(db, &c);
	if (r == 0) {
		memcpy(out, CODE_PREFIX, sizeof(CODE_PREFIX) - 1);
		b64url_encode(raw, sizeof(raw), out + sizeof(CODE_PREFIX) - 1);
	}
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(c.code_hash, sizeof(c.code_hash));
	return r;
}

int
code_redeem(struct db *db, const char *code, const char *client_id,
    const char *redirect_uri, const char *verifier, int64_t now,
    struct store_auth_code *out)
{
	uint8_t raw[32];
	char hash[PC_SHA256_HEX_LEN + 1];
	int r;

	memset(out, 0, sizeof(*out));
	/* Malformed values never reach the store. */
	if (!parse_code(code, raw))
		return PC_ERR_NOT_FOUND;
	hash_sha256_hex(raw, sizeof(raw), hash);
	sodium_memzero(raw, sizeof(raw));
	r = store_auth_code_redeem(db, hash, now, out);
	sodium_memzero(hash, sizeof(hash));
	if (r == PC_ERR_CONFLICT) /* TK-02: a replay (issue 17 metrics) */
		metrics_alert(METRICS_ALERT_CODE_REPLAY);
	if (r != 0)
		return r;
	/* TK-03 and the bindings: all must hold, in constant time where
	 * secret. The code is used up either way. */
	if (client_id == NULL || strcmp(out->client_id, client_id) != 0 ||
	    redirect_uri == NULL ||
	    strcmp(out->redirect_uri, redirect_uri) != 0 ||
	    !pkce_verify(verifier, out->code_challenge)) {
		store_auth_code_clear(out);
		return PC_ERR_VERIFY;
	}
	return 0;
}
