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
	const char *old_hash, *new_hash, *client_id;
	int64_t now, idle;
	struct store_family *out;
	int outcome; /* 0, PC_ERR_CONFLICT (reuse) or PC_ERR_NOT_FOUND */
};

/*
 * Inside a group commit: rotations are serialised by the one write
 * transaction (and, within a batch, run one after another in it), so of
 * concurrent uses of one token exactly one consumes it. Returns 0 with the
 * outcome in a->outcome whenever its writes must be kept (the reuse
 * revocation too), a negative PC_ERR_* on a store failure.
 */
static int
rotate_tx(struct db_conn *c, void *arg)
{
	struct rotate_arg *a = arg;
	struct store_family *out = a->out;
	struct db_stmt *s;
	char fam[STORE_FAMILY_ID_MAX] = "";
	int64_t used_at = 0, exp;
	int r;

	store_family_clear(out);
	a->outcome = PC_ERR_NOT_FOUND;
	/* Consume: only a live token of a live family of this client. */
	if ((r = db_prepare(c,
		 "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?"
		 " AND used_at IS NULL AND expires_at > ? AND family_id IN"
		 " (SELECT family_id FROM token_families WHERE client_id = ?"
		 " AND revoked_at IS NULL AND expires_at > ?)"
		 " RETURNING family_id",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, a->now)) == 0 &&
	    (r = db_bind_cstr(s, 2, a->old_hash)) == 0 &&
	    (r = db_bind_int64(s, 3, a->now)) == 0 &&
	    (r = db_bind_cstr(s, 4, a->client_id)) == 0 &&
	    (r = db_bind_int64(s, 5, a->now)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		col_copy(s, 0, fam, sizeof(fam));
	db_done(s);
	if (r != DB_ROW && r != DB_DONE)
		return r < 0 ? r : PC_ERR_STORE;
	if (r == DB_ROW) {
		if ((r = load_family(c, fam, out)) != 0)
			return r;
		exp = a->now + a->idle < out->expires_at ? a->now + a->idle
							 : out->expires_at;
		if ((r = insert_token(c, a->new_hash, fam, a->now, exp)) != 0)
			return r;
		a->outcome = 0;
		return 0;
	}
	/* Not consumable. A used token presented again is reuse (RT-02). */
	if ((r = db_prepare(c,
		 "SELECT family_id, used_at FROM refresh_tokens"
		 " WHERE token_hash = ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, a->old_hash)) == 0)
		r = db_step(s);
	if (r == DB_ROW) {
		col_copy(s, 0, fam, sizeof(fam));
		used_at = db_col_is_null(s, 1) ? 0 : db_col_int64(s, 1);
	}
	db_done(s);
	if (r != DB_ROW && r != DB_DONE)
		return r < 0 ? r : PC_ERR_STORE;
	if (r == DB_ROW && used_at != 0) {
		if ((r = revoke_tx(c, fam, a->now, "reuse")) != 0 ||
		    (r = load_family(c, fam, out)) != 0)
			return r;
		a->outcome = PC_ERR_CONFLICT;
	}
	return 0;
}

int
store_refresh_rotate(struct db *db, const char *old_hash, const char *new_hash,
    const char *client_id, int64_t now, int64_t idle, struct store_family *out)
{
	struct rotate_arg a = { old_hash, new_hash, client_id, now, idle, out,
		PC_ERR_NOT_FOUND };
	int r;

	memset(out, 0, sizeof(*out));
	/* out is only good once the batch holding its writes committed. */
	if ((r = db_batch(db, rotate_tx, &a)) != 0 ||
	    a.outcome == PC_ERR_NOT_FOUND) {
		store_family_clear(out);
		return r != 0 ? r : a.outcome;
	}
	return a.outcome;
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
	/* Tokens go with their family (ON DELETE CASCADE). */
	return store_delete_expired(db,
	    "DELETE FROM token_families WHERE expires_at <= ? RETURNING 1", now,
	    deleted);
}
