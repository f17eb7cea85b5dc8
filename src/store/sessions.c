/*
 * Browser sessions. Rows are keyed by the hex SHA-256 of the session id
 * (SS-03); the id itself never reaches this file. Replacement at login
 * (SS-01) and disable-with-revocation (SS-08) each run in one write
 * transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_internal.h"

#define SESSION_COLS \
	"id_hash, user_id, created_at, last_seen_at, auth_time," \
	" expires_at, ip, user_agent, amr"

void
store_session_clear(struct store_session *s)
{
	free(s->user_id);
	free(s->ip);
	free(s->user_agent);
	free(s->amr);
	memset(s, 0, sizeof(*s));
}

void
store_sessions_free(struct store_session *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_session_clear(&v[i]);
	free(v);
}

static void
read_session(struct db_stmt *s, struct store_session *out)
{
	size_t len;
	const char *p = db_col_text(s, 0, &len);

	memset(out, 0, sizeof(*out));
	if (p != NULL && len == PC_SHA256_HEX_LEN)
		memcpy(out->id_hash, p, len);
	out->user_id = db_col_dup_null(s, 1);
	out->created_at = db_col_int64(s, 2);
	out->last_seen_at = db_col_int64(s, 3);
	out->auth_time = db_col_int64(s, 4);
	out->expires_at = db_col_int64(s, 5);
	out->ip = db_col_dup_null(s, 6);
	out->user_agent = db_col_dup_null(s, 7);
	out->amr = db_col_dup_null(s, 8);
	if (out->amr == NULL)
		out->amr = xstrdup("");
}

static int
bind_opt(struct db_stmt *s, int idx, const char *v)
{
	return v != NULL ? db_bind_cstr(s, idx, v) : db_bind_null(s, idx);
}

/* DB_DONE from a statement that changes rows is success. */
static int
done_ok(int r)
{
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

static bool
hash_ok(const char *h)
{
	return h != NULL &&
	    strnlen(h, PC_SHA256_HEX_LEN + 1) == PC_SHA256_HEX_LEN;
}

static int
insert(struct db_conn *c, const struct store_session *ss)
{
	struct db_stmt *s;
	int r;

	if (!hash_ok(ss->id_hash))
		return PC_ERR_INVALID;
	if ((r = db_prepare(c,
		 "INSERT INTO sessions (" SESSION_COLS ")"
		 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
		 " ON CONFLICT (id_hash) DO NOTHING RETURNING id_hash",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, ss->id_hash)) == 0 &&
	    (r = bind_opt(s, 2, ss->user_id)) == 0 &&
	    (r = db_bind_int64(s, 3, ss->created_at)) == 0 &&
	    (r = db_bind_int64(s, 4, ss->last_seen_at)) == 0 &&
	    (r = db_bind_int64(s, 5, ss->auth_time)) == 0 &&
	    (r = db_bind_int64(s, 6, ss->expires_at)) == 0 &&
	    (r = bind_opt(s, 7, ss->ip)) == 0 &&
	    (r = bind_opt(s, 8, ss->user_agent)) == 0 &&
	    (r = db_bind_cstr(s, 9, ss->amr != NULL ? ss->amr : "")) == 0)
		r = db_step(s);
	db_done(s);
	/* No row back: the id_hash was taken (a 2^-256 event, or a bug). */
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_CONFLICT : r;
}

static int
delete_one(struct db_conn *c, const char *id_hash)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 "DELETE FROM sessions WHERE id_hash = ? RETURNING id_hash",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, id_hash)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

int
store_sessions_delete_user_tx(struct db_conn *c, const char *user_id,
    const char *except_hash, int64_t *deleted)
{
	struct db_stmt *s;
	int64_t n = 0;
	int r;

	if (except_hash != NULL)
		r = db_prepare(c,
		    "DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?"
		    " RETURNING id_hash",
		    &s);
	else
		r = db_prepare(c,
		    "DELETE FROM sessions WHERE user_id = ? RETURNING id_hash",
		    &s);
	if (r != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, user_id)) == 0 && except_hash != NULL)
		r = db_bind_cstr(s, 2, except_hash);
	if (r == 0)
		while ((r = db_step(s)) == DB_ROW)
			n++;
	db_done(s);
	if (deleted != NULL)
		*deleted = n;
	return done_ok(r);
}

int
store_session_insert(struct db *db, const struct store_session *ss)
{
	struct db_conn *c;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = insert(c, ss)) != 0) {
		db_rollback(c);
		return r;
	}
	return db_commit(c);
}

int
store_session_get(struct db *db, const char *id_hash, struct store_session *out)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	memset(out, 0, sizeof(*out));
	if (!hash_ok(id_hash))
		return PC_ERR_NOT_FOUND;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT " SESSION_COLS " FROM sessions WHERE id_hash = ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, id_hash)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		read_session(s, out);
	db_done(s);
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

int
store_session_touch(struct db *db, const char *id_hash, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "UPDATE sessions SET last_seen_at = ?"
		 " WHERE id_hash = ? AND last_seen_at < ? RETURNING id_hash",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, now)) == 0 &&
	    (r = db_bind_cstr(s, 2, id_hash)) == 0 &&
	    (r = db_bind_int64(s, 3, now)) == 0)
		r = db_step(s);
	db_done(s);
	if (r == DB_ROW)
		return 0;
	if (r != DB_DONE)
		return r < 0 ? r : PC_ERR_STORE;
	/* Nothing updated: already as fresh (a parallel request), or gone. */
	{
		struct store_session cur;

		r = store_session_get(db, id_hash, &cur);
		store_session_clear(&cur);
		return r;
	}
}

int
store_session_delete(struct db *db, const char *id_hash)
{
	struct db_conn *c;
	int r;

	if (!hash_ok(id_hash))
		return PC_ERR_NOT_FOUND;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = delete_one(c, id_hash)) != 0) {
		db_rollback(c);
		return r;
	}
	return db_commit(c);
}

/* DS-04: keeps the user's newest max sessions, deleting older ones. */
static int
cap_user(struct db_conn *c, const char *user_id, int64_t max)
{
	struct db_stmt *st;
	int r;

	if ((r = db_prepare(c,
		 "DELETE FROM sessions WHERE user_id = ? AND id_hash NOT IN"
		 " (SELECT id_hash FROM sessions WHERE user_id = ?"
		 " ORDER BY created_at DESC, id_hash DESC LIMIT ?)",
		 &st)) != 0)
		return r;
	if ((r = db_bind_cstr(st, 1, user_id)) == 0 &&
	    (r = db_bind_cstr(st, 2, user_id)) == 0 &&
	    (r = db_bind_int64(st, 3, max)) == 0)
		r = db_step(st);
	db_done(st);
	return r == DB_DONE ? 0 : r;
}

/* DS-04: keeps the newest max pre-sessions of one IP. */
static int
cap_pre_ip(struct db_conn *c, const char *ip, int64_t max)
{
	struct db_stmt *st;
	int r;

	if ((r = db_prepare(c,
		 "DELETE FROM sessions WHERE user_id IS NULL AND ip = ?"
		 " AND id_hash NOT IN (SELECT id_hash FROM sessions"
		 " WHERE user_id IS NULL AND ip = ?"
		 " ORDER BY created_at DESC, id_hash DESC LIMIT ?)",
		 &st)) != 0)
		return r;
	if ((r = db_bind_cstr(st, 1, ip)) == 0 &&
	    (r = db_bind_cstr(st, 2, ip)) == 0 &&
	    (r = db_bind_int64(st, 3, max)) == 0)
		r = db_step(st);
	db_done(st);
	return r == DB_DONE ? 0 : r;
}

int
store_session_replace(struct db *db, const char *old_hash,
    const struct store_session *ss, int64_t max_per_user, int64_t max_pre_ip)
{
	struct db_conn *c;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if (old_hash != NULL && (r = delete_one(c, old_hash)) != 0 &&
	    r != PC_ERR_NOT_FOUND)
		goto fail;
	if ((r = insert(c, ss)) != 0)
		goto fail;
	if (ss->user_id != NULL && max_per_user > 0 &&
	    (r = cap_user(c, ss->user_id, max_per_user)) != 0)
		goto fail;
	if (ss->user_id == NULL && ss->ip != NULL && max_pre_ip > 0 &&
	    (r = cap_pre_ip(c, ss->ip, max_pre_ip)) != 0)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}

int
store_sessions_delete_user(struct db *db, const char *user_id,
    const char *except_hash, int64_t *deleted)
{
	struct db_conn *c;
	int r;

	if (deleted != NULL)
		*deleted = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = store_sessions_delete_user_tx(
		 c, user_id, except_hash, deleted)) != 0) {
		db_rollback(c);
		return r;
	}
	return db_commit(c);
}

int
store_sessions_list_user(
    struct db *db, const char *user_id, struct store_session **out, size_t *n)
{
	struct db_conn *c;
	struct db_stmt *s;
	struct store_session *v = NULL;
	size_t len = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT " SESSION_COLS " FROM sessions WHERE user_id = ?"
		 " ORDER BY last_seen_at DESC, created_at DESC, id_hash",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, user_id)) == 0)
		while ((r = db_step(s)) == DB_ROW) {
			if (len == cap) {
				cap = cap == 0 ? 8 : cap * 2;
				v = xrealloc(v, cap * sizeof(*v));
			}
			read_session(s, &v[len++]);
		}
	db_done(s);
	if (r != DB_DONE) {
		store_sessions_free(v, len);
		return r < 0 ? r : PC_ERR_STORE;
	}
	*out = v;
	*n = len;
	return 0;
}

int
store_sessions_purge(struct db *db, int64_t now, int64_t idle, int64_t *deleted)
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
		 "DELETE FROM sessions WHERE expires_at <= ?"
		 " OR last_seen_at <= ? RETURNING id_hash",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_int64(s, 1, now)) == 0 &&
	    (r = db_bind_int64(s, 2, now - idle)) == 0)
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

int
store_user_disable_and_revoke(struct db *db, const char *user_id, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "UPDATE users SET disabled_at = ?, updated_at = ?"
		 " WHERE id = ? RETURNING id",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_int64(s, 1, now)) == 0 &&
	    (r = db_bind_int64(s, 2, now)) == 0 &&
	    (r = db_bind_cstr(s, 3, user_id)) == 0)
		r = db_step(s);
	db_done(s);
	if (r != DB_ROW) {
		r = r == DB_DONE ? PC_ERR_NOT_FOUND : r < 0 ? r : PC_ERR_STORE;
		goto fail;
	}
	if ((r = store_sessions_delete_user_tx(c, user_id, NULL, NULL)) != 0 ||
	    (r = store_families_revoke_user_tx(c, user_id, now, "disabled")) !=
		0)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}
