/*
 * Refresh tokens (issue 4; SECURITY.md RT section): "pcr_" + 43 base64url
 * characters of 256 random bits, stored as SHA-256, rotated on every use.
 * A family is born with an authorization; its absolute end (30 d) is fixed
 * then, and every token in it also dies after 14 d unused. Reuse of a
 * rotated token revokes the family (the store does it in the same
 * transaction); so do a password change, a disable, and sign-out of the
 * session the family came from.
 */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "oauth/oauth.h"
#include "store/store.h"

/* A fresh token: the value to hand out and the hash to store. */
static void
new_token(char token[REFRESH_LEN + 1], char hash[65])
{
	uint8_t raw[32];

	random_bytes(raw, sizeof(raw));
	memcpy(token, REFRESH_PREFIX, sizeof(REFRESH_PREFIX) - 1);
	b64url_encode(raw, sizeof(raw), token + sizeof(REFRESH_PREFIX) - 1);
	hash_sha256_hex(raw, sizeof(raw), hash);
	sodium_memzero(raw, sizeof(raw));
}

/* Shape first, then the hash of the raw bytes; false if malformed. */
static bool
token_hash(const char *token, char hash[65])
{
	uint8_t raw[32];
	char back[REFRESH_RANDOM_LEN + 1];
	size_t n = 0;
	bool ok;

	if (token == NULL || strnlen(token, REFRESH_LEN + 1) != REFRESH_LEN ||
	    memcmp(token, REFRESH_PREFIX, sizeof(REFRESH_PREFIX) - 1) != 0)
		return false;
	token += sizeof(REFRESH_PREFIX) - 1;
	if (b64url_decode(token, REFRESH_RANDOM_LEN, raw, sizeof(raw), &n) !=
		0 ||
	    n != sizeof(raw))
		return false;
	b64url_encode(raw, sizeof(raw), back);
	ok = memcmp(back, token, REFRESH_RANDOM_LEN) == 0;
	if (ok)
		hash_sha256_hex(raw, sizeof(raw), hash);
	sodium_memzero(raw, sizeof(raw));
	return ok;
}

int
refresh_issue(struct db *db, const struct refresh_grant *g, int64_t now,
    char token[REFRESH_LEN + 1], char family_id[48])
{
	struct store_family f;
	char hash[65], jti[TOKEN_JTI_LEN + 1];
	int r;

	if (token != NULL)
		token[0] = '\0';
	family_id[0] = '\0';
	if (g->client_id == NULL || g->user_id == NULL || g->scope == NULL)
		return PC_ERR_INVALID;
	memset(&f, 0, sizeof(f));
	token_jti_new(jti);
	memcpy(f.family_id, "fam_", 4);
	memcpy(f.family_id + 4, jti, TOKEN_JTI_LEN + 1);
	f.client_id = (char *)g->client_id;
	f.user_id = (char *)g->user_id;
	f.scope = (char *)g->scope;
	f.auth_time = g->auth_time;
	f.amr = (char *)g->amr;
	f.sid = (char *)g->sid;
	f.created_at = now;
	f.expires_at = now + REFRESH_ABSOLUTE;
	if (token == NULL) {
		r = store_family_create(db, &f, NULL, 0);
	} else {
		new_token(token, hash);
		r = store_family_create(db, &f, hash,
		    now + REFRESH_IDLE < f.expires_at ? now + REFRESH_IDLE
						      : f.expires_at);
		sodium_memzero(hash, sizeof(hash));
		if (r != 0)
			sodium_memzero(token, REFRESH_LEN + 1);
	}
	if (r != 0)
		return r;
	memcpy(family_id, f.family_id, sizeof(f.family_id));
	return 0;
}

int
refresh_rotate(struct db *db, const char *token, const char *client_id,
    int64_t now, char new_token_out[REFRESH_LEN + 1], struct store_family *out)
{
	char old_hash[65], new_hash[65];
	int r;

	memset(out, 0, sizeof(*out));
	new_token_out[0] = '\0';
	if (client_id == NULL || !token_hash(token, old_hash))
		return PC_ERR_NOT_FOUND;
	new_token(new_token_out, new_hash);
	r = store_refresh_rotate(
	    db, old_hash, new_hash, client_id, now, REFRESH_IDLE, out);
	sodium_memzero(old_hash, sizeof(old_hash));
	sodium_memzero(new_hash, sizeof(new_hash));
	if (r != 0)
		sodium_memzero(new_token_out, REFRESH_LEN + 1);
	return r;
}
