/*
 * Browser sessions. Rows are keyed by the hex SHA-256 of the session id
 * (SS-03); the id itself never reaches this file. Replacement at login
 * (SS-01) and disable-with-revocation (SS-08) each run in one write
 * transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

#define SESSION_COLS \
	"id_hash, user_id, created_at, last_seen_at, auth_time," \
	" expires_at, ip, user_agent, amr, mfa_user_id, mfa_amr," \
	" mfa_expires_at"

void
store_session_clear(struct store_session *s)
{
	free(s->user_id);
	free(s->ip);
	free(s->user_agent);
	free(s->amr);
	free(s->mfa_user_id);
	free(s->mfa_amr);
	memset(s, 0, sizeof(*s));
}

void
store_sessions_free(struct store_session *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_session_clear(&v[i]);
	free(v);
}

/* The columns of SESSION_COLS into out (amr: SQL NULL gives ""). */
#define SESSION_READ(out) \
	Q_COLS(QC_EXACT((out)->id_hash), QC_DUP_NULL(&(out)->user_id), \
	    QC_INT(&(out)->created_at), QC_INT(&(out)->last_seen_at), \
	    QC_INT(&(out)->auth_time), QC_INT(&(out)->expires_at), \
	    QC_DUP_NULL(&(out)->ip), QC_DUP_NULL(&(out)->user_agent), \
	    QC_DUP(&(out)->amr), QC_DUP_NULL(&(out)->mfa_user_id), \
	    QC_DUP_NULL(&(out)->mfa_amr), QC_INT(&(out)->mfa_expires_at))

static bool
hash_ok(const char *h)
{
	return h != NULL &&
	    strnlen(h, PC_SHA256_HEX_LEN + 1) == PC_SHA256_HEX_LEN;
}

static int
insert(struct db_conn *c, const struct store_session *ss)
{
	int r;

	if (!hash_ok(ss->id_hash))
		return PC_ERR_INVALID;
	r = q_one(c,
	    "INSERT INTO sessions (" SESSION_COLS ")"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (id_hash) DO NOTHING RETURNING id_hash",
	    Q_ARGS(QA_TEXT(ss->id_hash), QA_TEXT(ss->user_id),
		QA_INT(ss->created_at), QA_INT(ss->last_seen_at),
		QA_INT(ss->auth_time), QA_INT(ss->expires_at), QA_TEXT(ss->ip),
		QA_TEXT(ss->user_agent),
		QA_TEXT(ss->amr != NULL ? ss->amr : ""),
		QA_TEXT(ss->mfa_user_id), QA_TEXT(ss->mfa_amr),
		QA_INT(ss->mfa_expires_at)),
	    Q_NOCOLS);
	/* No row back: the id_hash was taken (a 2^-256 event, or a bug). */
	return r == PC_ERR_NOT_FOUND ? PC_ERR_CONFLICT : r;
}

static int
delete_one(struct db_conn *c, const char *id_hash)
{
	return q_one(c,
	    "DELETE FROM sessions WHERE id_hash = ? RETURNING id_hash",
	    Q_ARGS(QA_TEXT(id_hash)), Q_NOCOLS);
}

int
store_sessions_delete_user_tx(struct db_conn *c, const char *user_id,
    const char *except_hash, int64_t *deleted)
{
	int64_t pending = 0;
	int r;

	if (deleted != NULL)
		*deleted = 0;
	/* MF-04: the user's pending second-factor steps end too (a step
	 * begun with the old password, or before the account was disabled,
	 * cannot complete); migration 0033 indexes mfa_user_id. */
	if ((r = q_exec(c,
		 "DELETE FROM sessions WHERE mfa_user_id = ? RETURNING id_hash",
		 Q_ARGS(QA_TEXT(user_id)), &pending)) != 0)
		return r;
	if (except_hash != NULL)
		r = q_exec(c,
		    "DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?"
		    " RETURNING id_hash",
		    Q_ARGS(QA_TEXT(user_id), QA_TEXT(except_hash)), deleted);
	else
		r = q_exec(c,
		    "DELETE FROM sessions WHERE user_id = ? RETURNING id_hash",
		    Q_ARGS(QA_TEXT(user_id)), deleted);
	if (r == 0 && deleted != NULL)
		*deleted += pending;
	return r;
}

static int
insert_tx(struct db_conn *c, void *arg)
{
	return insert(c, arg);
}

int
store_session_insert(struct db *db, const struct store_session *ss)
{
	return store_tx(db, insert_tx, (void *)ss);
}

int
store_session_get(struct db *db, const char *id_hash, struct store_session *out)
{
	memset(out, 0, sizeof(*out));
	if (!hash_ok(id_hash))
		return PC_ERR_NOT_FOUND;
	return store_one(db,
	    "SELECT " SESSION_COLS " FROM sessions WHERE id_hash = ?",
	    Q_ARGS(QA_TEXT(id_hash)), SESSION_READ(out));
}

int
store_session_touch(struct db *db, const char *id_hash, int64_t now)
{
	struct store_session cur;
	int r = store_one(db,
	    "UPDATE sessions SET last_seen_at = ?"
	    " WHERE id_hash = ? AND last_seen_at < ? RETURNING id_hash",
	    Q_ARGS(QA_INT(now), QA_TEXT(id_hash), QA_INT(now)), Q_NOCOLS);

	if (r != PC_ERR_NOT_FOUND)
		return r;
	/* Nothing updated: already as fresh (a parallel request), or gone. */
	r = store_session_get(db, id_hash, &cur);
	store_session_clear(&cur);
	return r;
}

static int
delete_tx(struct db_conn *c, void *arg)
{
	return delete_one(c, arg);
}

int
store_session_delete(struct db *db, const char *id_hash)
{
	if (!hash_ok(id_hash))
		return PC_ERR_NOT_FOUND;
	return store_tx(db, delete_tx, (void *)id_hash);
}

struct replace {
	const char *old_hash;
	const struct store_session *ss;
	int64_t max_per_user, max_pre_ip;
};

static int
replace_tx(struct db_conn *c, void *arg)
{
	const struct replace *a = arg;
	const struct store_session *ss = a->ss;
	int r;

	if (a->old_hash != NULL && (r = delete_one(c, a->old_hash)) != 0 &&
	    r != PC_ERR_NOT_FOUND)
		return r;
	if ((r = insert(c, ss)) != 0)
		return r;
	/* DS-04: keeps the user's newest max sessions, deleting older ones;
	 * never the one just made (a burst within one second orders the
	 * others by their random id). */
	if (ss->user_id != NULL && a->max_per_user > 0)
		return q_exec(c,
		    "DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?"
		    " AND id_hash NOT IN (SELECT id_hash FROM sessions"
		    " WHERE user_id = ? AND id_hash <> ?"
		    " ORDER BY created_at DESC, id_hash DESC LIMIT ?)",
		    Q_ARGS(QA_TEXT(ss->user_id), QA_TEXT(ss->id_hash),
			QA_TEXT(ss->user_id), QA_TEXT(ss->id_hash),
			QA_INT(a->max_per_user - 1)),
		    NULL);
	/* DS-04: keeps the newest max pre-sessions of one IP. */
	if (ss->user_id == NULL && ss->ip != NULL && a->max_pre_ip > 0)
		return q_exec(c,
		    "DELETE FROM sessions WHERE user_id IS NULL AND ip = ?"
		    " AND id_hash <> ? AND id_hash NOT IN (SELECT id_hash"
		    " FROM sessions WHERE user_id IS NULL AND ip = ?"
		    " AND id_hash <> ?"
		    " ORDER BY created_at DESC, id_hash DESC LIMIT ?)",
		    Q_ARGS(QA_TEXT(ss->ip), QA_TEXT(ss->id_hash),
			QA_TEXT(ss->ip), QA_TEXT(ss->id_hash),
			QA_INT(a->max_pre_ip - 1)),
		    NULL);
	return 0;
}

int
store_session_replace(struct db *db, const char *old_hash,
    const struct store_session *ss, int64_t max_per_user, int64_t max_pre_ip)
{
	struct replace a = { old_hash, ss, max_per_user, max_pre_ip };

	return store_tx(db, replace_tx, &a);
}

struct delete_user {
	const char *user_id, *except_hash;
	int64_t *deleted;
};

static int
delete_user_tx(struct db_conn *c, void *arg)
{
	const struct delete_user *a = arg;

	return store_sessions_delete_user_tx(
	    c, a->user_id, a->except_hash, a->deleted);
}

int
store_sessions_delete_user(struct db *db, const char *user_id,
    const char *except_hash, int64_t *deleted)
{
	struct delete_user a = { user_id, except_hash, deleted };

	if (deleted != NULL)
		*deleted = 0;
	return store_tx(db, delete_user_tx, &a);
}

struct session_list {
	struct store_session *v;
	size_t len, cap;
};

static int
list_row(struct db_stmt *s, void *arg)
{
	struct session_list *l = arg;
	struct store_session *ss = Q_GROW(l->v, l->len, l->cap);

	q_read(s, SESSION_READ(ss));
	return 0;
}

int
store_sessions_list_user(
    struct db *db, const char *user_id, struct store_session **out, size_t *n)
{
	struct session_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT " SESSION_COLS " FROM sessions WHERE user_id = ?"
	    " ORDER BY last_seen_at DESC, created_at DESC, id_hash",
	    Q_ARGS(QA_TEXT(user_id)), list_row, &l);
	if (r != 0) {
		store_sessions_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

struct purge {
	int64_t now, idle, n;
};

static int
purge_tx(struct db_conn *c, void *arg)
{
	struct purge *a = arg;

	return q_exec(c,
	    "DELETE FROM sessions WHERE expires_at <= ?"
	    " OR last_seen_at <= ? RETURNING id_hash",
	    Q_ARGS(QA_INT(a->now), QA_INT(a->now - a->idle)), &a->n);
}

int
store_sessions_purge(struct db *db, int64_t now, int64_t idle, int64_t *deleted)
{
	struct purge a = { now, idle, 0 };
	int r;

	if (deleted != NULL)
		*deleted = 0;
	if ((r = store_tx(db, purge_tx, &a)) != 0)
		return r;
	if (deleted != NULL)
		*deleted = a.n;
	return 0;
}

struct disable {
	const char *user_id;
	int64_t now;
};

static int
disable_tx(struct db_conn *c, void *arg)
{
	const struct disable *a = arg;
	int r;

	if ((r = q_one(c,
		 "UPDATE users SET disabled_at = ?, updated_at = ?"
		 " WHERE id = ? RETURNING id",
		 Q_ARGS(QA_INT(a->now), QA_INT(a->now), QA_TEXT(a->user_id)),
		 Q_NOCOLS)) != 0)
		return r;
	if ((r = store_sessions_delete_user_tx(c, a->user_id, NULL, NULL)) != 0)
		return r;
	/* SS-08: the user's API keys die for good, not only while the
	 * user is disabled: enabling the account does not revive them. */
	if ((r = store_api_keys_revoke_owner_tx(
		 c, a->user_id, a->now, "owner disabled")) != 0)
		return r;
	return store_families_revoke_user_tx(c, a->user_id, a->now, "disabled");
}

int
store_user_disable_and_revoke(struct db *db, const char *user_id, int64_t now)
{
	struct disable a = { user_id, now };

	return store_tx(db, disable_tx, &a);
}

/*
 * Ends sessions of a user from the account page (RT-05), with the token
 * families they started, in one transaction so nothing is left
 * half-ended. A family dies with revoked_at; bearer_verify() then refuses
 * its access tokens through their gid.
 */
struct end {
	const char *user_id, *only_hash, *keep_hash;
	int64_t now, ns, nf;
};

static int
end_tx(struct db_conn *c, void *arg)
{
	struct end *a = arg;
	int r;

	/* Families carry sid: the first 16 hex of the session's id hash. */
	if (a->only_hash != NULL)
		r = q_exec(c,
		    "UPDATE token_families SET revoked_at = ?,"
		    " revoke_reason = 'session_ended'"
		    " WHERE user_id = ? AND revoked_at IS NULL AND sid IN"
		    " (SELECT substr(id_hash, 1, 16) FROM sessions"
		    " WHERE user_id = ? AND id_hash <> ? AND id_hash = ?)"
		    " RETURNING family_id",
		    Q_ARGS(QA_INT(a->now), QA_TEXT(a->user_id),
			QA_TEXT(a->user_id), QA_TEXT(a->keep_hash),
			QA_TEXT(a->only_hash)),
		    &a->nf);
	else
		r = q_exec(c,
		    "UPDATE token_families SET revoked_at = ?,"
		    " revoke_reason = 'session_ended'"
		    " WHERE user_id = ? AND revoked_at IS NULL AND sid IN"
		    " (SELECT substr(id_hash, 1, 16) FROM sessions"
		    " WHERE user_id = ? AND id_hash <> ?)"
		    " RETURNING family_id",
		    Q_ARGS(QA_INT(a->now), QA_TEXT(a->user_id),
			QA_TEXT(a->user_id), QA_TEXT(a->keep_hash)),
		    &a->nf);
	if (r != 0)
		return r;
	if (a->only_hash != NULL)
		return q_exec(c,
		    "DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?"
		    " AND id_hash = ? RETURNING id_hash",
		    Q_ARGS(QA_TEXT(a->user_id), QA_TEXT(a->keep_hash),
			QA_TEXT(a->only_hash)),
		    &a->ns);
	return q_exec(c,
	    "DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?"
	    " RETURNING id_hash",
	    Q_ARGS(QA_TEXT(a->user_id), QA_TEXT(a->keep_hash)), &a->ns);
}

int
store_sessions_end(struct db *db, const char *user_id, const char *only_hash,
    const char *keep_hash, int64_t now, int64_t *ended, int64_t *families)
{
	struct end a = { user_id, only_hash, keep_hash, now, 0, 0 };
	int r;

	if (ended != NULL)
		*ended = 0;
	if (families != NULL)
		*families = 0;
	if (user_id == NULL || keep_hash == NULL)
		return PC_ERR_INVALID;
	if ((r = store_tx(db, end_tx, &a)) != 0)
		return r;
	if (ended != NULL)
		*ended = a.ns;
	if (families != NULL)
		*families = a.nf;
	return only_hash != NULL && a.ns == 0 ? PC_ERR_NOT_FOUND : 0;
}
