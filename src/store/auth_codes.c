/*
 * Authorization codes (migration 0009; SECURITY.md TK-01, TK-02). The
 * redeem step is one UPDATE ... WHERE used_at IS NULL, so exactly one of
 * any number of concurrent redemptions (on one node or many sharing the
 * store) sees its row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
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
	free(c->resource);
	memset(c, 0, sizeof(*c));
}

int
store_auth_code_insert(struct db *db, const struct store_auth_code *c)
{
	return store_exec(db,
	    "INSERT INTO auth_codes (code_hash, client_id, user_id,"
	    " redirect_uri, code_challenge, scope, nonce, auth_time, amr,"
	    " sid, created_at, expires_at, resource, grant_expires_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(c->code_hash), QA_TEXT(c->client_id),
		QA_TEXT(c->user_id), QA_TEXT(c->redirect_uri),
		QA_TEXT(c->code_challenge), QA_TEXT(c->scope),
		QA_TEXT(c->nonce), QA_INT(c->auth_time),
		QA_TEXT(c->amr != NULL ? c->amr : ""), QA_TEXT(c->sid),
		QA_INT(c->created_at), QA_INT(c->expires_at),
		QA_TEXT(c->resource),
		QA_INT_IF(c->grant_expires_at > 0, c->grant_expires_at)),
	    NULL);
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
	struct store_auth_code *out = a->out;
	int r;

	store_auth_code_clear(out);
	a->took = false;
	/* The winner marks it used; everyone else finds used_at set. */
	r = q_one(c,
	    "UPDATE auth_codes SET used_at = ? WHERE code_hash = ?"
	    " AND used_at IS NULL AND expires_at > ? RETURNING code_hash",
	    Q_ARGS(QA_INT(a->now), QA_TEXT(a->code_hash), QA_INT(a->now)),
	    Q_NOCOLS);
	if (r != 0 && r != PC_ERR_NOT_FOUND)
		return r;
	a->took = r == 0;
	/*
	 * A replay marks the code before reading it. A winner that has not
	 * yet recorded its family (family_id NULL below) then learns of the
	 * replay from store_auth_code_set_family() and revokes the family
	 * itself; whichever of the two row writes comes second sees the
	 * other's, on one node or many.
	 */
	if (!a->took &&
	    (r = q_exec(c,
		 "UPDATE auth_codes SET replayed_at = ?"
		 " WHERE code_hash = ? AND used_at IS NOT NULL"
		 " AND replayed_at IS NULL",
		 Q_ARGS(QA_INT(a->now), QA_TEXT(a->code_hash)), NULL)) != 0)
		return r;
	/* used_at NULL (unused) reads as 0. */
	r = q_one(c,
	    "SELECT client_id, user_id, redirect_uri, code_challenge,"
	    " scope, nonce, auth_time, amr, sid, created_at, expires_at,"
	    " used_at, family_id, resource, grant_expires_at"
	    " FROM auth_codes WHERE code_hash = ?",
	    Q_ARGS(QA_TEXT(a->code_hash)),
	    Q_COLS(QC_DUP(&out->client_id), QC_DUP(&out->user_id),
		QC_DUP(&out->redirect_uri), QC_DUP(&out->code_challenge),
		QC_DUP(&out->scope), QC_DUP_NULL(&out->nonce),
		QC_INT(&out->auth_time), QC_DUP(&out->amr),
		QC_DUP_NULL(&out->sid), QC_INT(&out->created_at),
		QC_INT(&out->expires_at), QC_INT(&out->used_at),
		QC_DUP_NULL(&out->family_id), QC_DUP_NULL(&out->resource),
		QC_INT(&out->grant_expires_at)));
	if (r == PC_ERR_NOT_FOUND)
		return 0; /* unknown: out stays empty */
	if (r != 0) {
		store_auth_code_clear(out);
		return r;
	}
	snprintf(out->code_hash, sizeof(out->code_hash), "%s", a->code_hash);
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
	bool unreplayed = false;
	int r;

	r = store_one(db,
	    "UPDATE auth_codes SET family_id = ? WHERE code_hash = ?"
	    " AND family_id IS NULL RETURNING replayed_at",
	    Q_ARGS(QA_TEXT(family_id), QA_TEXT(code_hash)),
	    Q_COLS(QC_ISNULL(&unreplayed)));
	if (r != 0)
		return r;
	return unreplayed ? 0 : PC_ERR_CONFLICT;
}

int
store_auth_codes_purge(struct db *db, int64_t now, int64_t *deleted)
{
	/* Kept a day past expiry, so a late replay still finds the family. */
	return store_delete_expired(db,
	    "DELETE FROM auth_codes WHERE expires_at <= ? RETURNING 1",
	    now - STORE_AUTH_CODE_KEEP, deleted);
}
