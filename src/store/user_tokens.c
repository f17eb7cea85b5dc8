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

/* DB_DONE from a statement that changes rows is success. */
static int
done_ok(int r)
{
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

/* Columns: token_hash, user_id, purpose, email, created_at, expires_at. */
static void
read_token(struct db_stmt *s, struct store_user_token *out)
{
	size_t len;
	const char *p = db_col_text(s, 0, &len);

	memset(out, 0, sizeof(*out));
	if (p != NULL && len == PC_SHA256_HEX_LEN)
		memcpy(out->token_hash, p, len);
	out->user_id = db_col_dup(s, 1);
	p = db_col_text(s, 2, &len);
	out->purpose = p != NULL && len == 5 && memcmp(p, "reset", 5) == 0
	    ? STORE_USER_TOKEN_RESET
	    : STORE_USER_TOKEN_VERIFY;
	out->email = db_col_dup(s, 3);
	out->created_at = db_col_int64(s, 4);
	out->expires_at = db_col_int64(s, 5);
}

int
store_user_tokens_delete_user_tx(struct db_conn *c, const char *user_id,
    const char *purpose, int64_t *deleted)
{
	struct db_stmt *s;
	int64_t n = 0;
	int r;

	if (purpose != NULL)
		r = db_prepare(c,
		    "DELETE FROM user_tokens WHERE user_id = ? AND purpose = ?"
		    " RETURNING token_hash",
		    &s);
	else
		r = db_prepare(c,
		    "DELETE FROM user_tokens WHERE user_id = ?"
		    " RETURNING token_hash",
		    &s);
	if (r != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, user_id)) == 0 && purpose != NULL)
		r = db_bind_cstr(s, 2, purpose);
	if (r == 0)
		while ((r = db_step(s)) == DB_ROW)
			n++;
	db_done(s);
	if (deleted != NULL)
		*deleted = n;
	return done_ok(r);
}

int
store_user_token_issue(struct db *db, const struct store_user_token *t)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if (!hash_ok(t->token_hash) || !purpose_ok(t->purpose) ||
	    t->user_id == NULL || t->email == NULL)
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	/* RS-03: a newer token invalidates the older ones. */
	if ((r = store_user_tokens_delete_user_tx(
		 c, t->user_id, t->purpose, NULL)) != 0)
		goto fail;
	if ((r = db_prepare(c,
		 "INSERT INTO user_tokens (token_hash, user_id, purpose, email,"
		 " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)"
		 " ON CONFLICT (token_hash) DO NOTHING RETURNING token_hash",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, t->token_hash)) == 0 &&
	    (r = db_bind_cstr(s, 2, t->user_id)) == 0 &&
	    (r = db_bind_cstr(s, 3, t->purpose)) == 0 &&
	    (r = db_bind_cstr(s, 4, t->email)) == 0 &&
	    (r = db_bind_int64(s, 5, t->created_at)) == 0 &&
	    (r = db_bind_int64(s, 6, t->expires_at)) == 0)
		r = db_step(s);
	db_done(s);
	/* No row back: the hash was taken (a 2^-256 event, or a bug). */
	if (r != DB_ROW) {
		r = r == DB_DONE ? PC_ERR_CONFLICT : r < 0 ? r : PC_ERR_STORE;
		goto fail;
	}
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}

int
store_user_token_get(struct db *db, const char *token_hash, const char *purpose,
    struct store_user_token *out)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	memset(out, 0, sizeof(*out));
	if (!hash_ok(token_hash) || !purpose_ok(purpose))
		return PC_ERR_NOT_FOUND;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT token_hash, user_id, purpose, email, created_at,"
		 " expires_at FROM user_tokens"
		 " WHERE token_hash = ? AND purpose = ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, token_hash)) == 0 &&
	    (r = db_bind_cstr(s, 2, purpose)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		read_token(s, out);
	db_done(s);
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

int
store_user_token_take(struct db *db, const char *token_hash,
    const char *purpose, int64_t now, struct store_user_token *out)
{
	struct store_user_token t;
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	if (!hash_ok(token_hash) || !purpose_ok(purpose))
		return PC_ERR_NOT_FOUND;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "DELETE FROM user_tokens WHERE token_hash = ? AND purpose = ?"
		 " RETURNING token_hash, user_id, purpose, email, created_at,"
		 " expires_at",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, token_hash)) == 0 &&
	    (r = db_bind_cstr(s, 2, purpose)) == 0)
		r = db_step(s);
	if (r == DB_ROW) {
		read_token(s, &t);
		/* Drain: RETURNING rows are produced by stepping to the end. */
		r = db_step(s);
	} else if (r == DB_DONE)
		r = PC_ERR_NOT_FOUND;
	db_done(s);
	if (r != DB_DONE)
		goto fail;
	/* RS-04: live only while now < expires_at; an expired row goes. */
	if (now >= t.expires_at) {
		if ((r = db_commit(c)) != 0)
			goto out;
		r = PC_ERR_NOT_FOUND;
		goto out;
	}
	/* RS-03: using one reset token invalidates the user's others. */
	if (strcmp(purpose, STORE_USER_TOKEN_RESET) == 0 &&
	    (r = store_user_tokens_delete_user_tx(
		 c, t.user_id, STORE_USER_TOKEN_RESET, NULL)) != 0)
		goto fail;
	if ((r = db_commit(c)) != 0)
		goto out;
	*out = t;
	memset(&t, 0, sizeof(t));
	r = 0;
	goto out;
fail:
	db_rollback(c);
	if (r > 0)
		r = PC_ERR_STORE;
out:
	store_user_token_clear(&t);
	return r;
}

int
store_user_tokens_delete_user(
    struct db *db, const char *user_id, const char *purpose, int64_t *deleted)
{
	struct db_conn *c;
	int r;

	if (deleted != NULL)
		*deleted = 0;
	if (purpose != NULL && !purpose_ok(purpose))
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = store_user_tokens_delete_user_tx(
		 c, user_id, purpose, deleted)) != 0) {
		db_rollback(c);
		return r;
	}
	return db_commit(c);
}

int
store_user_tokens_purge(struct db *db, int64_t now, int64_t *deleted)
{
	struct db_conn *c;
	struct db_stmt *s;
	int64_t n = 0;
	int r;

	if (deleted != NULL)
		*deleted = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "DELETE FROM user_tokens WHERE expires_at <= ?"
		 " RETURNING token_hash",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_int64(s, 1, now)) == 0)
		while ((r = db_step(s)) == DB_ROW)
			n++;
	db_done(s);
	if ((r = done_ok(r)) != 0)
		goto fail;
	if ((r = db_commit(c)) != 0)
		return r;
	if (deleted != NULL)
		*deleted = n;
	return 0;
fail:
	db_rollback(c);
	return r;
}
