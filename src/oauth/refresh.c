/*
 * Refresh tokens (issue 4; SECURITY.md RT section): "pcr_" + 43 base64url
 * characters of 256 random bits, stored as SHA-256, rotated on every use.
 * A family is born with an authorization; its absolute end
 * (refresh_token_absolute, 30 d by default) is fixed then, and every token
 * in it also dies after refresh_token_idle (14 d) unused. Reuse of a
 * rotated token revokes the family (the store does it in the same
 * transaction); so do a password change, a disable, and sign-out of the
 * session the family came from. With refresh_reuse_interval on (issue 11,
 * RT-02), a repeat of the token just rotated gets the same successor back:
 * the rotation keeps it sealed under a master-key subkey, bound to the
 * consumed token's hash, and the store decides in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto.h"
#include "jose/jose.h"
#include "oauth/oauth.h"
#include "store/store.h"
#include "util/metrics.h"

/* A fresh token: the value to hand out and the hash to store. */
static void
new_token(char token[REFRESH_LEN + 1], char hash[PC_SHA256_HEX_LEN + 1])
{
	uint8_t raw[32];

	random_bytes(raw, sizeof(raw));
	memcpy(token, REFRESH_PREFIX, sizeof(REFRESH_PREFIX) - 1);
	b64url_encode(raw, sizeof(raw), token + sizeof(REFRESH_PREFIX) - 1);
	hash_sha256_hex(raw, sizeof(raw), hash);
	sodium_memzero(raw, sizeof(raw));
}

bool
refresh_token_hash(const char *token, char hash[PC_SHA256_HEX_LEN + 1])
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
	/* Canonical encoding only: one token, one spelling. */
	b64url_encode(raw, sizeof(raw), back);
	ok = memcmp(back, token, REFRESH_RANDOM_LEN) == 0;
	if (ok)
		hash_sha256_hex(raw, sizeof(raw), hash);
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(back, sizeof(back));
	return ok;
}

int
refresh_issue(struct db *db, const struct refresh_grant *g, int64_t now,
    char token[REFRESH_LEN + 1], char family_id[48])
{
	struct store_family f;
	char hash[PC_SHA256_HEX_LEN + 1], jti[TOKEN_JTI_LEN + 1];
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
	f.dpop_jkt = (char *)g->dpop_jkt;
	f.resource = (char *)g->resource;
	f.created_at = now;
	f.expires_at = now + (g->absolute > 0 ? g->absolute : REFRESH_ABSOLUTE);
	if (token == NULL) {
		r = store_family_create(db, &f, NULL, 0);
	} else {
		int64_t idle = g->idle > 0 ? g->idle : REFRESH_IDLE;

		new_token(token, hash);
		r = store_family_create(db, &f, hash,
		    now + idle < f.expires_at ? now + idle : f.expires_at);
		sodium_memzero(hash, sizeof(hash));
		if (r != 0)
			sodium_memzero(token, REFRESH_LEN + 1);
	}
	if (r != 0)
		return r;
	memcpy(family_id, f.family_id, sizeof(f.family_id));
	return 0;
}

void
refresh_seal_key(const struct masterkey *mk, uint8_t out[32])
{
	masterkey_derive(mk, "rtgrace1", 1, out);
}

/* The sealed successor is bound to the hash of the token it succeeds. */
static void
grace_aad(const char old_hash[PC_SHA256_HEX_LEN + 1], char aad[96])
{
	snprintf(aad, 96, "pc-refresh-next-v1:%s", old_hash);
}

int
refresh_rotate_ex(struct db *db, const char *token, const char *client_id,
    int64_t now, const struct refresh_policy *p,
    char new_token_out[REFRESH_LEN + 1], struct store_family *out, bool *resent)
{
	struct store_rotate in;
	char old_hash[PC_SHA256_HEX_LEN + 1], new_hash[PC_SHA256_HEX_LEN + 1],
	    aad[96] = "";
	char *sealed = NULL, *back = NULL;
	const uint8_t *key = NULL;
	uint8_t *pt = NULL;
	size_t n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	new_token_out[0] = '\0';
	if (resent != NULL)
		*resent = false;
	if (client_id == NULL || !refresh_token_hash(token, old_hash))
		return PC_ERR_NOT_FOUND;
	memset(&in, 0, sizeof(in));
	in.old_hash = old_hash;
	in.new_hash = new_hash;
	in.client_id = client_id;
	in.now = now;
	in.idle = p != NULL && p->idle > 0 ? p->idle : REFRESH_IDLE;
	if (p != NULL) {
		in.audit = p->audit;
		in.audit_arg = p->audit_arg;
	}
	new_token(new_token_out, new_hash);
	if (p != NULL && p->reuse_interval > 0) {
		if (p->reuse_interval > REFRESH_GRACE_MAX ||
		    p->seal_key == NULL || resent == NULL) {
			r = PC_ERR_INVALID;
			goto out;
		}
		key = p->seal_key;
		grace_aad(old_hash, aad);
		if ((r = seal(key, aad, (const uint8_t *)new_token_out,
			 REFRESH_LEN, &sealed)) != 0)
			goto out;
		in.grace = p->reuse_interval;
		in.new_sealed = sealed;
	}
	r = store_refresh_rotate(db, &in, out, in.grace > 0 ? &back : NULL);
	if (r == PC_ERR_CONFLICT) /* RT-01: reuse (issue 17 metrics) */
		metrics_alert(METRICS_ALERT_REFRESH_REUSE);
	if (r == 0 && back != NULL && key != NULL) {
		/* RT-02 grace: the successor already issued, never a new one. */
		r = unseal(key, aad, back, &pt, &n);
		if (r == 0 && n == REFRESH_LEN &&
		    memcmp(pt, REFRESH_PREFIX, sizeof(REFRESH_PREFIX) - 1) ==
			0) {
			memcpy(new_token_out, pt, REFRESH_LEN);
			new_token_out[REFRESH_LEN] = '\0';
			*resent = true;
		} else {
			r = PC_ERR_CRYPTO;
		}
		if (pt != NULL)
			sodium_free(pt);
		pc_freezero_str(back);
		if (r != 0)
			store_family_clear(out);
	}
out:
	if (sealed != NULL) {
		pc_freezero_str(sealed);
	}
	sodium_memzero(old_hash, sizeof(old_hash));
	sodium_memzero(new_hash, sizeof(new_hash));
	if (r != 0)
		sodium_memzero(new_token_out, REFRESH_LEN + 1);
	return r;
}

int
refresh_rotate(struct db *db, const char *token, const char *client_id,
    int64_t now, char new_token_out[REFRESH_LEN + 1], struct store_family *out)
{
	return refresh_rotate_ex(
	    db, token, client_id, now, NULL, new_token_out, out, NULL);
}

int
refresh_unrotate(struct db *db, const char *token, const char *new_tok)
{
	char old_hash[PC_SHA256_HEX_LEN + 1], new_hash[PC_SHA256_HEX_LEN + 1];
	int r = PC_ERR_NOT_FOUND;

	if (refresh_token_hash(token, old_hash) &&
	    refresh_token_hash(new_tok, new_hash))
		r = store_refresh_unrotate(db, old_hash, new_hash);
	sodium_memzero(old_hash, sizeof(old_hash));
	sodium_memzero(new_hash, sizeof(new_hash));
	return r;
}
