/*
 * Refresh tokens and their families (migration 0010; SECURITY.md RT
 * section). Rotation consumes the presented token with one conditional
 * UPDATE, so of concurrent uses exactly one rotates; presenting a consumed
 * token again revokes the family in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/store.h"
#include "store/store_internal.h"

void
store_family_clear(struct store_family *f)
{
	free(f->client_id);
	free(f->user_id);
	free(f->scope);
	free(f->amr);
	free(f->sid);
	free(f->revoke_reason);
	memset(f, 0, sizeof(*f));
}

/* A NOT NULL text column into a fixed buffer. */
static void
col_copy(struct db_stmt *s, int col, char *out, size_t n)
{
	const char *t = db_col_text(s, col, NULL);

	snprintf(out, n, "%s", t != NULL ? t : "");
}

static int
insert_token(struct db_conn *c, const char *hash, const char *family_id,
    int64_t now, int64_t expires_at)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 "INSERT INTO refresh_tokens (token_hash, family_id,"
		 " created_at, expires_at) VALUES (?, ?, ?, ?)",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, hash)) == 0 &&
	    (r = db_bind_cstr(s, 2, family_id)) == 0 &&
	    (r = db_bind_int64(s, 3, now)) == 0 &&
	    (r = db_bind_int64(s, 4, expires_at)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r;
}

struct create_arg {
	const struct store_family *f;
	const char *token_hash;
	int64_t token_expires_at;
};

static int
family_create_tx(struct db_conn *c, void *arg)
{
	const struct create_arg *a = arg;
	const struct store_family *f = a->f;
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 "INSERT INTO token_families (family_id, client_id, user_id,"
		 " scope, auth_time, amr, sid, created_at, expires_at)"
		 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, f->family_id)) == 0 &&
	    (r = db_bind_cstr(s, 2, f->client_id)) == 0 &&
	    (r = db_bind_cstr(s, 3, f->user_id)) == 0 &&
	    (r = db_bind_cstr(s, 4, f->scope)) == 0 &&
	    (r = db_bind_int64(s, 5, f->auth_time)) == 0 &&
	    (r = db_bind_cstr(s, 6, f->amr != NULL ? f->amr : "")) == 0 &&
	    (r = f->sid != NULL ? db_bind_cstr(s, 7, f->sid)
				: db_bind_null(s, 7)) == 0 &&
	    (r = db_bind_int64(s, 8, f->created_at)) == 0 &&
	    (r = db_bind_int64(s, 9, f->expires_at)) == 0)
		r = db_step(s);
	db_done(s);
	if (r != DB_DONE)
		return r < 0 ? r : PC_ERR_STORE;
	if (a->token_hash == NULL)
		return 0;
	return insert_token(
	    c, a->token_hash, f->family_id, f->created_at, a->token_expires_at);
}

int
store_family_create(struct db *db, const struct store_family *f,
    const char *token_hash, int64_t token_expires_at)
{
	struct create_arg a = { f, token_hash, token_expires_at };

	return db_batch(db, family_create_tx, &a);
}

static int
load_family(struct db_conn *c, const char *family_id, struct store_family *out)
{
	struct db_stmt *s;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = db_prepare(c,
		 "SELECT client_id, user_id, scope, auth_time, amr, sid,"
		 " created_at, expires_at, revoked_at, revoke_reason"
		 " FROM token_families WHERE family_id = ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, family_id)) == 0)
		r = db_step(s);
	if (r == DB_ROW) {
		snprintf(
		    out->family_id, sizeof(out->family_id), "%s", family_id);
		out->client_id = db_col_dup(s, 0);
		out->user_id = db_col_dup(s, 1);
		out->scope = db_col_dup(s, 2);
		out->auth_time = db_col_int64(s, 3);
		out->amr = db_col_dup(s, 4);
		out->sid = db_col_dup_null(s, 5);
		out->created_at = db_col_int64(s, 6);
		out->expires_at = db_col_int64(s, 7);
		out->revoked_at = db_col_is_null(s, 8) ? 0 : db_col_int64(s, 8);
		out->revoke_reason = db_col_dup_null(s, 9);
	}
	db_done(s);
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

static int
revoke_tx(
    struct db_conn *c, const char *family_id, int64_t now, const char *why)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 "UPDATE token_families SET revoked_at = ?, revoke_reason = ?"
		 " WHERE family_id = ? AND revoked_at IS NULL",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, now)) == 0 &&
	    (r = db_bind_cstr(s, 2, why)) == 0 &&
	    (r = db_bind_cstr(s, 3, family_id)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r;
}

struct rotate_arg {
	const struct store_rotate *in;
	struct store_family *out;
	char *resent; /* the sealed successor, on a grace repeat */
	int outcome;  /* 0, PC_ERR_CONFLICT (reuse) or PC_ERR_NOT_FOUND */
};

/*
 * Erases the sealed successors kept on the tokens that match: by_family
 * false, the one whose next_hash is key (its successor was rotated);
 * true, every one of family key (a revoked family resends nothing).
 */
static int
erase_sealed(struct db_conn *c, bool by_family, const char *key)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 by_family ? "UPDATE refresh_tokens SET next_sealed = NULL"
			     " WHERE family_id = ? AND next_sealed IS NOT NULL"
			   : "UPDATE refresh_tokens SET next_sealed = NULL"
			     " WHERE next_hash = ? AND next_sealed IS NOT NULL",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, key)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

/* Whether the token h is in the store, unused and unexpired. */
static int
token_live(struct db_conn *c, const char *h, int64_t now, bool *live)
{
	struct db_stmt *s;
	int r;

	*live = false;
	if ((r = db_prepare(c,
		 "SELECT 1 FROM refresh_tokens WHERE token_hash = ?"
		 " AND used_at IS NULL AND expires_at > ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, h)) == 0 &&
	    (r = db_bind_int64(s, 2, now)) == 0)
		r = db_step(s);
	*live = r == DB_ROW;
	db_done(s);
	return r == DB_ROW || r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

/*
 * RT-02 grace: whether a repeat of the used token (row: used_at,
 * next_hash, next_sealed) may get the same successor again. Only the
 * immediately previous token qualifies (its successor is still unused:
 * after the successor was rotated it is an older token), only within the
 * interval, only for the family's own client, only while the family
 * lives. out is the family. Reads only.
 */
static int
grace_ok(struct db_conn *c, const struct store_rotate *in, int64_t used_at,
    const char *next_hash, const char *sealed, struct store_family *out,
    bool *ok)
{
	bool live = false;
	int r;

	*ok = false;
	if (in->grace <= 0 || sealed == NULL || next_hash == NULL ||
	    in->now >= used_at + in->grace)
		return 0;
	if (strcmp(out->client_id != NULL ? out->client_id : "",
		in->client_id) != 0 ||
	    out->revoked_at != 0 || out->expires_at <= in->now)
		return 0;
	/* DPoP hook (RT-06, not built yet): once refresh tokens can be bound
	 * to a DPoP key, the repeat must also prove the same key as the
	 * rotation that issued the successor; a different or missing proof
	 * is reuse. Compare the bound jkt here. */
	if ((r = token_live(c, next_hash, in->now, &live)) != 0)
		return r;
	*ok = live;
	return 0;
}

/*
 * Inside a group commit: rotations are serialised by the one write
 * transaction (and, within a batch, run one after another in it), so of
 * concurrent uses of one token exactly one consumes it, and the others
 * see it used (with its sealed successor, under the grace). Returns 0
 * with the outcome in a->outcome whenever its writes must be kept (the
 * reuse revocation too), a negative PC_ERR_* on a store failure.
 */
static int
rotate_tx(struct db_conn *c, void *arg)
{
	struct rotate_arg *a = arg;
	const struct store_rotate *in = a->in;
	struct store_family *out = a->out;
	struct db_stmt *s;
	char fam[STORE_FAMILY_ID_MAX] = "";
	char *next_hash = NULL, *sealed = NULL;
	int64_t used_at = 0, exp;
	bool grace = in->grace > 0 && in->new_sealed != NULL, ok = false;
	int r;

	store_family_clear(out);
	free(a->resent);
	a->resent = NULL;
	a->outcome = PC_ERR_NOT_FOUND;
	/* Consume: only a live token of a live family of this client. Under
	 * the grace the successor is kept, sealed, on the consumed row. */
	if ((r = db_prepare(c,
		 "UPDATE refresh_tokens SET used_at = ?, next_hash = ?,"
		 " next_sealed = ? WHERE token_hash = ?"
		 " AND used_at IS NULL AND expires_at > ? AND family_id IN"
		 " (SELECT family_id FROM token_families WHERE client_id = ?"
		 " AND revoked_at IS NULL AND expires_at > ?)"
		 " RETURNING family_id",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, in->now)) == 0 &&
	    (r = grace ? db_bind_cstr(s, 2, in->new_hash)
		       : db_bind_null(s, 2)) == 0 &&
	    (r = grace ? db_bind_cstr(s, 3, in->new_sealed)
		       : db_bind_null(s, 3)) == 0 &&
	    (r = db_bind_cstr(s, 4, in->old_hash)) == 0 &&
	    (r = db_bind_int64(s, 5, in->now)) == 0 &&
	    (r = db_bind_cstr(s, 6, in->client_id)) == 0 &&
	    (r = db_bind_int64(s, 7, in->now)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		col_copy(s, 0, fam, sizeof(fam));
	db_done(s);
	if (r != DB_ROW && r != DB_DONE)
		return r < 0 ? r : PC_ERR_STORE;
	if (r == DB_ROW) {
		if ((r = load_family(c, fam, out)) != 0)
			return r;
		exp = in->now + in->idle < out->expires_at ? in->now + in->idle
							   : out->expires_at;
		if ((r = insert_token(c, in->new_hash, fam, in->now, exp)) != 0)
			return r;
		/* The token just consumed was its predecessor's successor:
		 * that one can no longer be resent (it is two back now).
		 * Without the grace nothing is resent, so no write is spent:
		 * copies left from when it was on go with the purge. */
		if (grace && (r = erase_sealed(c, false, in->old_hash)) != 0)
			return r;
		a->outcome = 0;
		return 0;
	}
	/* Not consumable. A used token presented again is reuse (RT-02),
	 * unless the grace covers this repeat. */
	if ((r = db_prepare(c,
		 "SELECT family_id, used_at, next_hash, next_sealed"
		 " FROM refresh_tokens WHERE token_hash = ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, in->old_hash)) == 0)
		r = db_step(s);
	if (r == DB_ROW) {
		col_copy(s, 0, fam, sizeof(fam));
		used_at = db_col_is_null(s, 1) ? 0 : db_col_int64(s, 1);
		next_hash = db_col_dup_null(s, 2);
		sealed = db_col_dup_null(s, 3);
	}
	db_done(s);
	if (r != DB_ROW && r != DB_DONE) {
		r = r < 0 ? r : PC_ERR_STORE;
		goto out;
	}
	r = 0;
	if (used_at == 0)
		goto out;
	if ((r = load_family(c, fam, out)) != 0)
		goto out;
	if ((r = grace_ok(c, in, used_at, next_hash, sealed, out, &ok)) != 0)
		goto out;
	if (ok) {
		a->resent = sealed;
		sealed = NULL;
		a->outcome = 0;
		goto out;
	}
	store_family_clear(out);
	if ((r = revoke_tx(c, fam, in->now, "reuse")) != 0 ||
	    (r = erase_sealed(c, true, fam)) != 0 ||
	    (r = load_family(c, fam, out)) != 0)
		goto out;
	a->outcome = PC_ERR_CONFLICT;
out:
	free(next_hash);
	if (sealed != NULL) {
		sodium_memzero(sealed, strlen(sealed));
		free(sealed);
	}
	return r;
}

int
store_refresh_rotate(struct db *db, const struct store_rotate *in,
    struct store_family *out, char **resent)
{
	struct rotate_arg a = { in, out, NULL, PC_ERR_NOT_FOUND };
	int r;

	memset(out, 0, sizeof(*out));
	if (resent != NULL)
		*resent = NULL;
	if (in->grace > 0 && (resent == NULL || in->new_sealed == NULL))
		return PC_ERR_INVALID;
	/* out is only good once the batch holding its writes committed. */
	r = db_batch(db, rotate_tx, &a);
	if (r != 0 || a.outcome == PC_ERR_NOT_FOUND) {
		store_family_clear(out);
		free(a.resent);
		return r != 0 ? r : a.outcome;
	}
	if (resent != NULL)
		*resent = a.resent;
	else
		free(a.resent);
	return a.outcome;
}

struct unrotate_arg {
	const char *old_hash, *new_hash;
	int outcome;
};

static int
unrotate_tx(struct db_conn *c, void *arg)
{
	struct unrotate_arg *a = arg;
	struct db_stmt *s;
	int r;

	a->outcome = PC_ERR_NOT_FOUND;
	if ((r = db_prepare(c,
		 "DELETE FROM refresh_tokens WHERE token_hash = ?"
		 " AND used_at IS NULL RETURNING 1",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, a->new_hash)) == 0)
		r = db_step(s);
	db_done(s);
	if (r == DB_DONE)
		return 0;
	if (r != DB_ROW)
		return r < 0 ? r : PC_ERR_STORE;
	if ((r = db_prepare(c,
		 "UPDATE refresh_tokens SET used_at = NULL, next_hash = NULL,"
		 " next_sealed = NULL WHERE token_hash = ?"
		 " AND used_at IS NOT NULL",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, a->old_hash)) == 0)
		r = db_step(s);
	db_done(s);
	if (r != DB_DONE)
		return r < 0 ? r : PC_ERR_STORE;
	a->outcome = 0;
	return 0;
}

int
store_refresh_unrotate(
    struct db *db, const char *old_hash, const char *new_hash)
{
	struct unrotate_arg a = { old_hash, new_hash, PC_ERR_NOT_FOUND };
	int r = db_batch(db, unrotate_tx, &a);

	return r != 0 ? r : a.outcome;
}

int
store_family_get(struct db *db, const char *family_id, struct store_family *out)
{
	struct db_conn *c;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = db_conn(db, &c)) != 0)
		return r;
	return load_family(c, family_id, out);
}

int
store_family_revoke(
    struct db *db, const char *family_id, int64_t now, const char *why)
{
	struct db_conn *c;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	return revoke_tx(c, family_id, now, why);
}

int
store_families_revoke_user_tx(
    struct db_conn *c, const char *user_id, int64_t now, const char *why)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 "UPDATE token_families SET revoked_at = ?, revoke_reason = ?"
		 " WHERE user_id = ? AND revoked_at IS NULL",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, now)) == 0 &&
	    (r = db_bind_cstr(s, 2, why)) == 0 &&
	    (r = db_bind_cstr(s, 3, user_id)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r;
}

int
store_families_revoke_sid(
    struct db *db, const char *sid, int64_t now, const char *why)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "UPDATE token_families SET revoked_at = ?, revoke_reason = ?"
		 " WHERE sid = ? AND revoked_at IS NULL",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, now)) == 0 &&
	    (r = db_bind_cstr(s, 2, why)) == 0 &&
	    (r = db_bind_cstr(s, 3, sid)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r;
}

int
store_families_move_sid(struct db *db, const char *old_sid, const char *new_sid,
    const char *user_id)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "UPDATE token_families SET sid = ? WHERE sid = ?"
		 " AND user_id = ? AND revoked_at IS NULL",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, new_sid)) == 0 &&
	    (r = db_bind_cstr(s, 2, old_sid)) == 0 &&
	    (r = db_bind_cstr(s, 3, user_id)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r;
}

int
store_families_purge(struct db *db, int64_t now, int64_t *deleted)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	/* Sealed successors past any grace (at most 10 s) are erased, for
	 * the tokens whose successor nobody rotated or repeated since. */
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "UPDATE refresh_tokens SET next_sealed = NULL"
		 " WHERE next_sealed IS NOT NULL AND used_at <= ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, now - 10)) == 0)
		r = db_step(s);
	db_done(s);
	if (r != DB_DONE)
		return r < 0 ? r : PC_ERR_STORE;
	/* Tokens go with their family (ON DELETE CASCADE). */
	return store_delete_expired(db,
	    "DELETE FROM token_families WHERE expires_at <= ? RETURNING 1", now,
	    deleted);
}
