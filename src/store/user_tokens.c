/*
 * One-time user tokens: password reset and email verification (SECURITY.md
 * RS-02..RS-04, RS-10). Rows are keyed by the hex SHA-256 of the token's
 * 32 random bytes; the token itself never reaches this file (RS-02).
 * Issuing (delete the user's older tokens of the purpose, insert the new
 * one) and consuming (delete and return) each run in one write
 * transaction, so a token is used at most once even under races (RS-03).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

void
store_user_token_clear(struct store_user_token *t)
{
	free(t->user_id);
	free(t->email);
	sodium_memzero(t, sizeof(*t));
}

static bool
hash_ok(const char *h)
{
	return h != NULL &&
	    strnlen(h, PC_SHA256_HEX_LEN + 1) == PC_SHA256_HEX_LEN;
}

static bool
purpose_ok(const char *p)
{
	return p != NULL &&
	    (strcmp(p, STORE_USER_TOKEN_RESET) == 0 ||
		strcmp(p, STORE_USER_TOKEN_VERIFY) == 0);
}

#define TOKEN_COLS "token_hash, user_id, purpose, email, created_at, expires_at"

/* The columns of TOKEN_COLS into out, the purpose read into purpose. */
#define TOKEN_READ(out, purpose) \
	Q_COLS(QC_EXACT((out)->token_hash), QC_DUP(&(out)->user_id), \
	    QC_FIXED(purpose), QC_DUP(&(out)->email), \
	    QC_INT(&(out)->created_at), QC_INT(&(out)->expires_at))

static const char *
purpose_of(const char *p)
{
	return strcmp(p, "reset") == 0 ? STORE_USER_TOKEN_RESET
				       : STORE_USER_TOKEN_VERIFY;
}

int
store_user_tokens_delete_user_tx(struct db_conn *c, const char *user_id,
    const char *purpose, int64_t *deleted)
{
	if (purpose != NULL)
		return q_exec(c,
		    "DELETE FROM user_tokens WHERE user_id = ? AND purpose = ?"
		    " RETURNING token_hash",
		    Q_ARGS(QA_TEXT(user_id), QA_TEXT(purpose)), deleted);
	return q_exec(c,
	    "DELETE FROM user_tokens WHERE user_id = ? RETURNING token_hash",
	    Q_ARGS(QA_TEXT(user_id)), deleted);
}

static int
issue_tx(struct db_conn *c, void *arg)
{
	const struct store_user_token *t = arg;
	int r;

	/* RS-03: a newer token invalidates the older ones. */
	if ((r = store_user_tokens_delete_user_tx(
		 c, t->user_id, t->purpose, NULL)) != 0)
		return r;
	r = q_one(c,
	    "INSERT INTO user_tokens (" TOKEN_COLS ") VALUES (?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (token_hash) DO NOTHING RETURNING token_hash",
	    Q_ARGS(QA_TEXT(t->token_hash), QA_TEXT(t->user_id),
		QA_TEXT(t->purpose), QA_TEXT(t->email), QA_INT(t->created_at),
		QA_INT(t->expires_at)),
	    Q_NOCOLS);
	/* No row back: the hash was taken (a 2^-256 event, or a bug). */
	return r == PC_ERR_NOT_FOUND ? PC_ERR_CONFLICT : r;
}

int
store_user_token_issue(struct db *db, const struct store_user_token *t)
{
	if (!hash_ok(t->token_hash) || !purpose_ok(t->purpose) ||
	    t->user_id == NULL || t->email == NULL)
		return PC_ERR_INVALID;
	return store_tx(db, issue_tx, (void *)t);
}

int
store_user_token_get(struct db *db, const char *token_hash, const char *purpose,
    struct store_user_token *out)
{
	char p[8] = "";
	int r;

	memset(out, 0, sizeof(*out));
	if (!hash_ok(token_hash) || !purpose_ok(purpose))
		return PC_ERR_NOT_FOUND;
	r = store_one(db,
	    "SELECT " TOKEN_COLS " FROM user_tokens"
	    " WHERE token_hash = ? AND purpose = ?",
	    Q_ARGS(QA_TEXT(token_hash), QA_TEXT(purpose)), TOKEN_READ(out, p));
	if (r == 0)
		out->purpose = purpose_of(p);
	return r;
}

struct take {
	const char *token_hash, *purpose;
	int64_t now;
	struct store_user_token t;
};

/* 0: taken; 1: the row was there but expired (deleted all the same). */
static int
take_tx(struct db_conn *c, void *arg)
{
	struct take *a = arg;
	char p[8] = "";
	int r;

	if ((r = q_one(c,
		 "DELETE FROM user_tokens WHERE token_hash = ? AND purpose = ?"
		 " RETURNING " TOKEN_COLS,
		 Q_ARGS(QA_TEXT(a->token_hash), QA_TEXT(a->purpose)),
		 TOKEN_READ(&a->t, p))) != 0)
		return r;
	a->t.purpose = purpose_of(p);
	/* RS-04: live only while now < expires_at; an expired row goes. */
	if (a->now >= a->t.expires_at)
		return 1;
	/* RS-03: using one reset token invalidates the user's others. */
	if (strcmp(a->purpose, STORE_USER_TOKEN_RESET) == 0)
		return store_user_tokens_delete_user_tx(
		    c, a->t.user_id, STORE_USER_TOKEN_RESET, NULL);
	return 0;
}

int
store_user_token_take(struct db *db, const char *token_hash,
    const char *purpose, int64_t now, struct store_user_token *out)
{
	struct take a = {
		.token_hash = token_hash, .purpose = purpose, .now = now
	};
	int r;

	memset(out, 0, sizeof(*out));
	if (!hash_ok(token_hash) || !purpose_ok(purpose))
		return PC_ERR_NOT_FOUND;
	r = store_tx(db, take_tx, &a);
	if (r == 0) {
		*out = a.t;
		memset(&a.t, 0, sizeof(a.t));
	} else if (r == 1) {
		r = PC_ERR_NOT_FOUND;
	}
	store_user_token_clear(&a.t);
	return r;
}

struct delete_user {
	const char *user_id, *purpose;
	int64_t *deleted;
};

static int
delete_user_tx(struct db_conn *c, void *arg)
{
	const struct delete_user *a = arg;

	return store_user_tokens_delete_user_tx(
	    c, a->user_id, a->purpose, a->deleted);
}

int
store_user_tokens_delete_user(
    struct db *db, const char *user_id, const char *purpose, int64_t *deleted)
{
	struct delete_user a = { user_id, purpose, deleted };

	if (deleted != NULL)
		*deleted = 0;
	if (purpose != NULL && !purpose_ok(purpose))
		return PC_ERR_INVALID;
	return store_tx(db, delete_user_tx, &a);
}

struct purge {
	int64_t now, n;
};

static int
purge_tx(struct db_conn *c, void *arg)
{
	struct purge *a = arg;

	return q_exec(
	    c, "DELETE FROM user_tokens WHERE expires_at <= ? RETURNING token_hash",
	    Q_ARGS(QA_INT(a->now)), &a->n);
}

int
store_user_tokens_purge(struct db *db, int64_t now, int64_t *deleted)
{
	struct purge a = { now, 0 };
	int r;

	if (deleted != NULL)
		*deleted = 0;
	if ((r = store_tx(db, purge_tx, &a)) != 0)
		return r;
	if (deleted != NULL)
		*deleted = a.n;
	return 0;
}
