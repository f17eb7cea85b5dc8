/*
 * Authorization codes (migration 0009; SECURITY.md TK-01, TK-02). The
 * redeem step is one UPDATE ... WHERE used_at IS NULL, so exactly one of
 * any number of concurrent redemptions (on one node or many sharing the
 * store) sees its row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/store.h"
#include "store/store_internal.h"

void
store_auth_code_clear(struct store_auth_code *c)
{
	free(c->client_id);
	free(c->user_id);
	free(c->redirect_uri);
	free(c->code_challenge);
	free(c->scope);
	free(c->nonce);
	free(c->amr);
	free(c->sid);
	free(c->family_id);
	memset(c, 0, sizeof(*c));
}

int
store_auth_code_insert(struct db *db, const struct store_auth_code *c)
{
	struct db_conn *conn;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &conn)) != 0)
		return r;
	if ((r = db_prepare(conn,
		 "INSERT INTO auth_codes (code_hash, client_id, user_id,"
		 " redirect_uri, code_challenge, scope, nonce, auth_time, amr,"
		 " sid, created_at, expires_at)"
		 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, c->code_hash)) == 0 &&
	    (r = db_bind_cstr(s, 2, c->client_id)) == 0 &&
	    (r = db_bind_cstr(s, 3, c->user_id)) == 0 &&
	    (r = db_bind_cstr(s, 4, c->redirect_uri)) == 0 &&
	    (r = db_bind_cstr(s, 5, c->code_challenge)) == 0 &&
	    (r = db_bind_cstr(s, 6, c->scope)) == 0 &&
	    (r = c->nonce != NULL ? db_bind_cstr(s, 7, c->nonce)
				  : db_bind_null(s, 7)) == 0 &&
	    (r = db_bind_int64(s, 8, c->auth_time)) == 0 &&
	    (r = db_bind_cstr(s, 9, c->amr != NULL ? c->amr : "")) == 0 &&
	    (r = c->sid != NULL ? db_bind_cstr(s, 10, c->sid)
				: db_bind_null(s, 10)) == 0 &&
	    (r = db_bind_int64(s, 11, c->created_at)) == 0 &&
	    (r = db_bind_int64(s, 12, c->expires_at)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r;
}

static void
from_row(struct db_stmt *s, const char *hash, struct store_auth_code *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->code_hash, sizeof(out->code_hash), "%s", hash);
	out->client_id = db_col_dup(s, 0);
	out->user_id = db_col_dup(s, 1);
	out->redirect_uri = db_col_dup(s, 2);
	out->code_challenge = db_col_dup(s, 3);
	out->scope = db_col_dup(s, 4);
	out->nonce = db_col_dup_null(s, 5);
	out->auth_time = db_col_int64(s, 6);
	out->amr = db_col_dup(s, 7);
	out->sid = db_col_dup_null(s, 8);
	out->created_at = db_col_int64(s, 9);
	out->expires_at = db_col_int64(s, 10);
	out->used_at = db_col_is_null(s, 11) ? 0 : db_col_int64(s, 11);
	out->family_id = db_col_dup_null(s, 12);
}

struct redeem_arg {
	const char *code_hash;
	int64_t now;
	struct store_auth_code *out;
	bool took;
};

/* Inside a group commit; the one write transaction orders redemptions. */
static int
redeem_tx(struct db_conn *c, void *arg)
{
	struct redeem_arg *a = arg;
	struct db_stmt *s;
	int r;

	store_auth_code_clear(a->out);
	a->took = false;
	/* The winner marks it used; everyone else finds used_at set. */
	if ((r = db_prepare(c,
		 "UPDATE auth_codes SET used_at = ? WHERE code_hash = ?"
		 " AND used_at IS NULL AND expires_at > ? RETURNING code_hash",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, a->now)) == 0 &&
	    (r = db_bind_cstr(s, 2, a->code_hash)) == 0 &&
	    (r = db_bind_int64(s, 3, a->now)) == 0)
		r = db_step(s);
	db_done(s);
	if (r != DB_ROW && r != DB_DONE)
		return r < 0 ? r : PC_ERR_STORE;
	a->took = r == DB_ROW;
	/*
	 * A replay marks the code before reading it. A winner that has not
	 * yet recorded its family (family_id NULL below) then learns of the
	 * replay from store_auth_code_set_family() and revokes the family
	 * itself; whichever of the two row writes comes second sees the
	 * other's, on one node or many.
	 */
	if (!a->took) {
		if ((r = db_prepare(c,
			 "UPDATE auth_codes SET replayed_at = ?"
			 " WHERE code_hash = ? AND used_at IS NOT NULL"
			 " AND replayed_at IS NULL",
			 &s)) != 0)
			return r;
		if ((r = db_bind_int64(s, 1, a->now)) == 0 &&
		    (r = db_bind_cstr(s, 2, a->code_hash)) == 0)
			r = db_step(s);
		db_done(s);
		if (r != DB_DONE)
			return r < 0 ? r : PC_ERR_STORE;
	}
	if ((r = db_prepare(c,
		 "SELECT client_id, user_id, redirect_uri, code_challenge,"
		 " scope, nonce, auth_time, amr, sid, created_at, expires_at,"
		 " used_at, family_id FROM auth_codes WHERE code_hash = ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, a->code_hash)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		from_row(s, a->code_hash, a->out);
	db_done(s);
	if (r != DB_ROW && r != DB_DONE) {
		store_auth_code_clear(a->out);
		return r < 0 ? r : PC_ERR_STORE;
	}
	return 0;
}

int
store_auth_code_redeem(struct db *db, const char *code_hash, int64_t now,
    struct store_auth_code *out)
{
	struct redeem_arg a = { code_hash, now, out, false };
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = db_batch(db, redeem_tx, &a)) != 0) {
		/* Not durable: nothing of it may be used. */
		store_auth_code_clear(out);
		return r;
	}
	if (a.took)
		return 0;
	if (out->client_id == NULL || now >= out->expires_at) {
		/* Unknown, or expired unused: nothing to revoke. */
		bool replay = out->used_at != 0;

		if (!replay) {
			store_auth_code_clear(out);
			return PC_ERR_NOT_FOUND;
		}
	}
	/* Redeemed before (or just now by a concurrent request). */
	return PC_ERR_CONFLICT;
}

int
store_auth_code_set_family(
    struct db *db, const char *code_hash, const char *family_id)
{
	struct db_conn *c;
	struct db_stmt *s;
	bool replayed = false;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "UPDATE auth_codes SET family_id = ? WHERE code_hash = ?"
		 " AND family_id IS NULL RETURNING replayed_at",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, family_id)) == 0 &&
	    (r = db_bind_cstr(s, 2, code_hash)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		replayed = !db_col_is_null(s, 0);
	db_done(s);
	if (r == DB_ROW)
		return replayed ? PC_ERR_CONFLICT : 0;
	return r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

int
store_auth_codes_purge(struct db *db, int64_t now, int64_t *deleted)
{
	/* Kept a day past expiry, so a late replay still finds the family. */
	return store_delete_expired(db,
	    "DELETE FROM auth_codes WHERE expires_at <= ? RETURNING 1",
	    now - STORE_AUTH_CODE_KEEP, deleted);
}
