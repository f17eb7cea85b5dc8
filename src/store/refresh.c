/*
 * Refresh tokens and their families (migration 0010; SECURITY.md RT
 * section). Rotation consumes the presented token with one conditional
 * UPDATE, so of concurrent uses exactly one rotates; presenting a consumed
 * token again revokes the family in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

#define ROTATE_TRIES 3

void
store_family_clear(struct store_family *f)
{
	free(f->client_id);
	free(f->user_id);
	free(f->scope);
	free(f->amr);
	free(f->sid);
	free(f->revoke_reason);
	free(f->resource);
	free(f->dpop_jkt);
	memset(f, 0, sizeof(*f));
}

static int
insert_token(struct db_conn *c, const char *hash, const char *family_id,
    int64_t now, int64_t expires_at)
{
	return q_exec(c,
	    "INSERT INTO refresh_tokens (token_hash, family_id,"
	    " created_at, expires_at) VALUES (?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(hash), QA_TEXT(family_id), QA_INT(now),
		QA_INT(expires_at)),
	    NULL);
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
	int r;

	if ((r = q_exec(c,
		 "INSERT INTO token_families (family_id, client_id, user_id,"
		 " scope, auth_time, amr, sid, created_at, expires_at,"
		 " resource, dpop_jkt)"
		 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		 Q_ARGS(QA_TEXT(f->family_id), QA_TEXT(f->client_id),
		     QA_TEXT(f->user_id), QA_TEXT(f->scope),
		     QA_INT(f->auth_time),
		     QA_TEXT(f->amr != NULL ? f->amr : ""), QA_TEXT(f->sid),
		     QA_INT(f->created_at), QA_INT(f->expires_at),
		     QA_TEXT(f->resource), QA_TEXT(f->dpop_jkt)),
		 NULL)) != 0)
		return r;
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

/* One family by id, for q_one() or store_one(); revoked_at NULL reads 0. */
#define FAMILY_SQL \
	"SELECT client_id, user_id, scope, auth_time, amr, sid," \
	" created_at, expires_at, revoked_at, revoke_reason," \
	" resource, dpop_jkt, last_used_at" \
	" FROM token_families WHERE family_id = ?"
#define FAMILY_COLS(o) \
	Q_COLS(QC_DUP(&(o)->client_id), QC_DUP(&(o)->user_id), \
	    QC_DUP(&(o)->scope), QC_INT(&(o)->auth_time), QC_DUP(&(o)->amr), \
	    QC_DUP_NULL(&(o)->sid), QC_INT(&(o)->created_at), \
	    QC_INT(&(o)->expires_at), QC_INT(&(o)->revoked_at), \
	    QC_DUP_NULL(&(o)->revoke_reason), QC_DUP_NULL(&(o)->resource), \
	    QC_DUP_NULL(&(o)->dpop_jkt), QC_INT(&(o)->last_used_at))

/* The family's id into out, once its row was read. */
static int
family_found(int r, const char *family_id, struct store_family *out)
{
	if (r == 0)
		snprintf(
		    out->family_id, sizeof(out->family_id), "%s", family_id);
	return r;
}

static int
load_family(struct db_conn *c, const char *family_id, struct store_family *out)
{
	memset(out, 0, sizeof(*out));
	return family_found(
	    q_one(c, FAMILY_SQL, Q_ARGS(QA_TEXT(family_id)), FAMILY_COLS(out)),
	    family_id, out);
}

/* Revokes the live families whose column col is the third argument. */
#define REVOKE_FAMILIES_BY(col) \
	"UPDATE token_families SET revoked_at = ?, revoke_reason = ?" \
	" WHERE " col " = ? AND revoked_at IS NULL"

static int
revoke_tx(
    struct db_conn *c, const char *family_id, int64_t now, const char *why)
{
	return q_exec(c, REVOKE_FAMILIES_BY("family_id"),
	    Q_ARGS(QA_INT(now), QA_TEXT(why), QA_TEXT(family_id)), NULL);
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
	return q_exec(c,
	    by_family ? "UPDATE refresh_tokens SET next_sealed = NULL"
			" WHERE family_id = ? AND next_sealed IS NOT NULL"
		      : "UPDATE refresh_tokens SET next_sealed = NULL"
			" WHERE next_hash = ? AND next_sealed IS NOT NULL",
	    Q_ARGS(QA_TEXT(key)), NULL);
}

/* Whether the token h is in the store, unused and unexpired. */
static int
token_live(struct db_conn *c, const char *h, int64_t now, bool *live)
{
	int r = q_one(c,
	    "SELECT 1 FROM refresh_tokens WHERE token_hash = ?"
	    " AND used_at IS NULL AND expires_at > ?",
	    Q_ARGS(QA_TEXT(h), QA_INT(now)), Q_NOCOLS);

	*live = r == 0;
	return r == PC_ERR_NOT_FOUND ? 0 : r;
}

/*
 * RT-02 grace: whether a repeat of the used token (row: used_at,
 * next_hash, next_sealed) may get the same successor again. Only the
 * immediately previous token qualifies (its successor is still unused:
 * after the successor was rotated it is an older token), only within the
 * interval, only for the family's own client, only while the family
 * and its user live. out is the family. Reads only.
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
	if ((r = token_live(c, next_hash, in->now, &live)) != 0 || !live)
		return r;
	/* RT-05: never for a user who is gone or disabled. */
	r = q_one(c, "SELECT 1 FROM users WHERE id = ? AND disabled_at IS NULL",
	    Q_ARGS(QA_TEXT(out->user_id)), Q_NOCOLS);
	*ok = r == 0;
	return r == PC_ERR_NOT_FOUND ? 0 : r;
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
	char fam[STORE_FAMILY_ID_MAX] = "";
	char *next_hash = NULL, *sealed = NULL;
	int64_t used_at = 0, exp;
	bool grace = in->grace > 0 && in->new_sealed != NULL, ok = false;
	int r;

	store_family_clear(out);
	free(a->resent);
	a->resent = NULL;
	a->outcome = PC_ERR_NOT_FOUND;
	/* Consume: only a live token of a live family of this client, whose
	 * user exists and is not disabled (RT-05; checked here rather than by
	 * a read of its own). Under the grace the successor is kept, sealed,
	 * on the consumed row. */
	r = q_one(c,
	    "UPDATE refresh_tokens SET used_at = ?, next_hash = ?,"
	    " next_sealed = ? WHERE token_hash = ?"
	    " AND used_at IS NULL AND expires_at > ? AND family_id IN"
	    " (SELECT f.family_id FROM token_families f"
	    " JOIN users u ON u.id = f.user_id WHERE f.client_id = ?"
	    " AND f.revoked_at IS NULL AND f.expires_at > ?"
	    " AND u.disabled_at IS NULL)"
	    " RETURNING family_id",
	    Q_ARGS(QA_INT(in->now), QA_TEXT(grace ? in->new_hash : NULL),
		QA_TEXT(grace ? in->new_sealed : NULL), QA_TEXT(in->old_hash),
		QA_INT(in->now), QA_TEXT(in->client_id), QA_INT(in->now)),
	    Q_COLS(QC_FIXED(fam)));
	if (r != 0 && r != PC_ERR_NOT_FOUND)
		return r;
	if (r == 0) {
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
		/* AU-01: its audit row, in this same commit. */
		if (in->audit != NULL &&
		    (r = in->audit(c, in->audit_arg, out, false)) != 0)
			return r;
		a->outcome = 0;
		return 0;
	}
	/* Not consumable. A used token presented again is reuse (RT-02),
	 * unless the grace covers this repeat. used_at NULL reads 0. */
	r = q_one(c,
	    "SELECT family_id, used_at, next_hash, next_sealed"
	    " FROM refresh_tokens WHERE token_hash = ?",
	    Q_ARGS(QA_TEXT(in->old_hash)),
	    Q_COLS(QC_FIXED(fam), QC_INT(&used_at), QC_DUP_NULL(&next_hash),
		QC_DUP_NULL(&sealed)));
	if (r == PC_ERR_NOT_FOUND)
		r = 0;
	if (r != 0 || used_at == 0)
		goto out;
	if ((r = load_family(c, fam, out)) != 0)
		goto out;
	if ((r = grace_ok(c, in, used_at, next_hash, sealed, out, &ok)) != 0)
		goto out;
	if (ok) {
		if (in->audit != NULL &&
		    (r = in->audit(c, in->audit_arg, out, true)) != 0)
			goto out;
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
	pc_freezero_str(sealed);
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
	/* out is only good once the batch holding its writes committed. A
	 * store conflict (never reuse, which is a.outcome) rolled everything
	 * back: the rotation is tried again, then reported as busy. */
	for (int i = 0; i < ROTATE_TRIES; i++) {
		r = db_batch(db, rotate_tx, &a);
		if (r != PC_ERR_CONFLICT)
			break;
		r = PC_ERR_BUSY;
	}
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
	int r;

	a->outcome = PC_ERR_NOT_FOUND;
	r = q_one(c,
	    "DELETE FROM refresh_tokens WHERE token_hash = ?"
	    " AND used_at IS NULL RETURNING 1",
	    Q_ARGS(QA_TEXT(a->new_hash)), Q_NOCOLS);
	if (r != 0)
		return r == PC_ERR_NOT_FOUND ? 0 : r;
	if ((r = q_exec(c,
		 "UPDATE refresh_tokens SET used_at = NULL, next_hash = NULL,"
		 " next_sealed = NULL WHERE token_hash = ?"
		 " AND used_at IS NOT NULL",
		 Q_ARGS(QA_TEXT(a->old_hash)), NULL)) != 0)
		return r;
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
	memset(out, 0, sizeof(*out));
	return family_found(store_one(db, FAMILY_SQL,
				Q_ARGS(QA_TEXT(family_id)), FAMILY_COLS(out)),
	    family_id, out);
}

int
store_family_revoke(
    struct db *db, const char *family_id, int64_t now, const char *why)
{
	return store_exec(db, REVOKE_FAMILIES_BY("family_id"),
	    Q_ARGS(QA_INT(now), QA_TEXT(why), QA_TEXT(family_id)), NULL);
}

int
store_family_touch(struct db *db, const char *family_id, int64_t now)
{
	return store_one(db,
	    "UPDATE token_families SET last_used_at = ? WHERE family_id = ?"
	    " RETURNING family_id",
	    Q_ARGS(QA_INT(now), QA_TEXT(family_id)), Q_NOCOLS);
}

int
store_families_revoke_user_tx(
    struct db_conn *c, const char *user_id, int64_t now, const char *why)
{
	return q_exec(c, REVOKE_FAMILIES_BY("user_id"),
	    Q_ARGS(QA_INT(now), QA_TEXT(why), QA_TEXT(user_id)), NULL);
}

int
store_families_revoke_sid(
    struct db *db, const char *sid, int64_t now, const char *why)
{
	return store_exec(db, REVOKE_FAMILIES_BY("sid"),
	    Q_ARGS(QA_INT(now), QA_TEXT(why), QA_TEXT(sid)), NULL);
}

int
store_families_move_sid(struct db *db, const char *old_sid, const char *new_sid,
    const char *user_id)
{
	return store_exec(db,
	    "UPDATE token_families SET sid = ? WHERE sid = ?"
	    " AND user_id = ? AND revoked_at IS NULL",
	    Q_ARGS(QA_TEXT(new_sid), QA_TEXT(old_sid), QA_TEXT(user_id)), NULL);
}

int
store_families_purge(struct db *db, int64_t now, int64_t *deleted)
{
	int r;

	/* Sealed successors past any grace (at most 10 s) are erased, for
	 * the tokens whose successor nobody rotated or repeated since. */
	if ((r = store_exec(db,
		 "UPDATE refresh_tokens SET next_sealed = NULL"
		 " WHERE next_sealed IS NOT NULL AND used_at <= ?",
		 Q_ARGS(QA_INT(now - 10)), NULL)) != 0)
		return r;
	/* Tokens go with their family (ON DELETE CASCADE). */
	return store_delete_expired(db,
	    "DELETE FROM token_families WHERE expires_at <= ? RETURNING 1", now,
	    deleted);
}
