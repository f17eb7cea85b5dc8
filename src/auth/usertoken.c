/*
 * One-time tokens for password reset and email verification (SECURITY.md
 * RS-02, RS-03, RS-04, RS-10).
 *
 * A token is 32 CSPRNG bytes, mailed as 43 base64url characters. The
 * store keeps the hex SHA-256 of the 32 bytes, so a read of the store
 * yields no working link (RS-02). Issue and consume are each one store
 * transaction: a new token deletes the older ones of its purpose, and
 * consuming deletes the row it returns, so a token works once (RS-03).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/auth.h"
#include "crypto/crypto.h"
#include "jose/jose.h"
#include "store/store.h"

_Static_assert(USERTOKEN_LEN == 43, "43 = base64url of 32 bytes");

#define RESET_TTL_DEFAULT 1800
#define VERIFY_TTL_DEFAULT 86400
#define EMAIL_MAX 320

int64_t
usertoken_ttl(const struct config *cfg, enum usertoken_purpose p)
{
	int64_t ttl;

	if (p == USERTOKEN_RESET)
		ttl = cfg != NULL && cfg->reset_token_ttl > 0
		    ? cfg->reset_token_ttl
		    : RESET_TTL_DEFAULT;
	else
		ttl = cfg != NULL && cfg->verify_token_ttl > 0
		    ? cfg->verify_token_ttl
		    : VERIFY_TTL_DEFAULT;
	return ttl > USERTOKEN_TTL_MAX ? USERTOKEN_TTL_MAX : ttl;
}

static const char *
purpose_name(enum usertoken_purpose p)
{
	switch (p) {
	case USERTOKEN_RESET: return STORE_USER_TOKEN_RESET;
	case USERTOKEN_VERIFY: return STORE_USER_TOKEN_VERIFY;
	}
	return NULL;
}

static bool
is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * Exactly 43 base64url characters, canonical: the hex SHA-256 of the 32
 * bytes they carry. Nothing else reaches the store.
 */
static bool
token_hash(const char *v, char out[PC_SHA256_HEX_LEN + 1])
{
	uint8_t raw[USERTOKEN_BYTES];
	size_t len;

	if (v == NULL)
		return false;
	len = strnlen(v, USERTOKEN_LEN + 1);
	if (len != USERTOKEN_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_b64url(v[i]))
			return false;
	if (b64url_decode(v, len, raw, sizeof(raw), &len) != 0 ||
	    len != sizeof(raw)) {
		sodium_memzero(raw, sizeof(raw));
		return false;
	}
	hash_sha256_hex(raw, sizeof(raw), out);
	sodium_memzero(raw, sizeof(raw));
	return true;
}

int
usertoken_issue(struct db *db, const struct config *cfg, const char *user_id,
    enum usertoken_purpose p, const char *email, int64_t now, char token[64])
{
	uint8_t raw[USERTOKEN_BYTES];
	struct store_user_token t;
	const char *purpose = purpose_name(p);
	size_t email_len;
	int r;

	token[0] = '\0';
	if (purpose == NULL || user_id == NULL || user_id[0] == '\0' ||
	    email == NULL)
		return PC_ERR_INVALID;
	email_len = strnlen(email, EMAIL_MAX + 1);
	if (email_len == 0 || email_len > EMAIL_MAX)
		return PC_ERR_INVALID;
	memset(&t, 0, sizeof(t));
	random_bytes(raw, sizeof(raw));
	hash_sha256_hex(raw, sizeof(raw), t.token_hash);
	t.user_id = xstrdup(user_id);
	t.purpose = purpose;
	t.email = xstrdup(email);
	t.created_at = now;
	t.expires_at = now + usertoken_ttl(cfg, p);
	if ((r = store_user_token_issue(db, &t)) == 0)
		b64url_encode(raw, sizeof(raw), token);
	store_user_token_clear(&t);
	sodium_memzero(raw, sizeof(raw));
	return r;
}

/* Hands the row's user_id and email to the caller's pointers. */
static void
hand_over(struct store_user_token *t, char **user_id, char **email)
{
	if (user_id != NULL) {
		*user_id = t->user_id;
		t->user_id = NULL;
	}
	if (email != NULL) {
		*email = t->email;
		t->email = NULL;
	}
}

int
usertoken_peek(struct db *db, const char *token, enum usertoken_purpose p,
    int64_t now, char **user_id, char **email)
{
	char h[PC_SHA256_HEX_LEN + 1];
	struct store_user_token t;
	const char *purpose = purpose_name(p);
	int r;

	if (user_id != NULL)
		*user_id = NULL;
	if (email != NULL)
		*email = NULL;
	memset(&t, 0, sizeof(t));
	if (purpose == NULL || !token_hash(token, h))
		return PC_ERR_NOT_FOUND;
	if ((r = store_user_token_get(db, h, purpose, &t)) != 0)
		goto out;
	/* RS-04: live only while now < expires_at. */
	if (now >= t.expires_at) {
		r = PC_ERR_NOT_FOUND;
		goto out;
	}
	hand_over(&t, user_id, email);
out:
	store_user_token_clear(&t);
	sodium_memzero(h, sizeof(h));
	return r;
}

int
usertoken_consume(struct db *db, const char *token, enum usertoken_purpose p,
    int64_t now, char **user_id, char **email)
{
	char h[PC_SHA256_HEX_LEN + 1];
	struct store_user_token t;
	const char *purpose = purpose_name(p);
	int r;

	if (user_id != NULL)
		*user_id = NULL;
	if (email != NULL)
		*email = NULL;
	memset(&t, 0, sizeof(t));
	if (purpose == NULL || !token_hash(token, h))
		return PC_ERR_NOT_FOUND;
	if ((r = store_user_token_take(db, h, purpose, now, &t)) == 0)
		hand_over(&t, user_id, email);
	store_user_token_clear(&t);
	sodium_memzero(h, sizeof(h));
	return r;
}

int
usertoken_revoke_user(
    struct db *db, const char *user_id, enum usertoken_purpose p)
{
	const char *purpose = purpose_name(p);

	if (purpose == NULL || user_id == NULL)
		return PC_ERR_INVALID;
	return store_user_tokens_delete_user(db, user_id, purpose, NULL);
}

int
usertoken_purge(struct db *db, int64_t now, int64_t *deleted)
{
	return store_user_tokens_purge(db, now, deleted);
}

int
usertoken_verify_email(
    struct db *db, const char *token, int64_t now, char **user_id)
{
	struct store_user u;
	char *uid = NULL, *email = NULL;
	int r;

	*user_id = NULL;
	if ((r = usertoken_consume(
		 db, token, USERTOKEN_VERIFY, now, &uid, &email)) != 0)
		return r;
	memset(&u, 0, sizeof(u));
	r = store_user_get(db, uid, &u);
	/* RS-10: only the exact address the link was sent to. */
	if (r == 0 && strcmp(u.email, email) == 0)
		r = store_user_set_verified(db, uid, true, now);
	else if (r == 0)
		r = PC_ERR_NOT_FOUND;
	store_user_clear(&u);
	free(email);
	if (r != 0) {
		free(uid);
		return r;
	}
	*user_id = uid;
	return 0;
}
