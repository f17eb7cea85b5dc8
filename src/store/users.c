/*
 * Users and their credentials. The email rule lives here, in one place:
 * email_key is the address with every ASCII letter lower-cased, and it
 * alone carries the case-insensitive uniqueness. Every state change is one
 * transaction; a deleted user's id goes to deleted_users and is refused by
 * every later insert, so an id (the OIDC sub) never comes back (OI-07).
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_internal.h"

void
store_user_clear(struct store_user *u)
{
	free(u->id);
	free(u->email);
	free(u->email_key);
	free(u->name);
	memset(u, 0, sizeof(*u));
}

void
store_users_free(struct store_user *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_user_clear(&v[i]);
	free(v);
}

char *
store_email_key(const char *email)
{
	char *k = xstrdup(email);

	for (char *p = k; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return k;
}

#define USER_COLS \
	"id, email, email_key, email_verified, name, created_at," \
	" updated_at, disabled_at"

static void
read_user(struct db_stmt *s, struct store_user *u)
{
	u->id = db_col_dup(s, 0);
	u->email = db_col_dup(s, 1);
	u->email_key = db_col_dup(s, 2);
	u->email_verified = db_col_int64(s, 3) != 0;
	u->name = db_col_dup(s, 4);
	u->created_at = db_col_int64(s, 5);
	u->updated_at = db_col_int64(s, 6);
	u->disabled_at = db_col_is_null(s, 7) ? 0 : db_col_int64(s, 7);
}

/* DB_DONE from a statement that changes rows is success. */
static int
done_ok(int r)
{
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

static int
tombstoned(struct db_conn *c, const char *id, bool *out)
{
	struct db_stmt *s;
	int r;

	*out = false;
	if ((r = db_prepare(
		 c, "SELECT 1 FROM deleted_users WHERE id = ?", &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, id)) == 0)
		r = db_step(s);
	db_done(s);
	if (r == DB_ROW)
		*out = true;
	return r == DB_ROW || r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

static int
put_password(
    struct db_conn *c, const char *user_id, const char *phc, int64_t now)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 "INSERT INTO credentials (user_id, kind, secret,"
		 " created_at, updated_at) VALUES (?, 'password', ?, ?, ?)"
		 " ON CONFLICT (user_id, kind) DO UPDATE SET"
		 " secret = excluded.secret, updated_at = excluded.updated_at",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, user_id)) == 0 &&
	    (r = db_bind_cstr(s, 2, phc)) == 0 &&
	    (r = db_bind_int64(s, 3, now)) == 0 &&
	    (r = db_bind_int64(s, 4, now)) == 0)
		r = db_step(s);
	db_done(s);
	return done_ok(r);
}

int
store_user_insert(
    struct db *db, const struct store_user *u, const char *password_phc)
{
	struct db_conn *c;
	struct db_stmt *s;
	char *key = NULL;
	bool dead;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = tombstoned(c, u->id, &dead)) != 0)
		goto fail;
	if (dead) {
		r = PC_ERR_CONFLICT;
		goto fail;
	}
	if ((r = db_prepare(c,
		 "INSERT INTO users (" USER_COLS ")"
		 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		 &s)) != 0)
		goto fail;
	key = store_email_key(u->email);
	if ((r = db_bind_cstr(s, 1, u->id)) == 0 &&
	    (r = db_bind_cstr(s, 2, u->email)) == 0 &&
	    (r = db_bind_cstr(s, 3, key)) == 0 &&
	    (r = db_bind_int64(s, 4, u->email_verified ? 1 : 0)) == 0 &&
	    (r = db_bind_cstr(s, 5, u->name != NULL ? u->name : "")) == 0 &&
	    (r = db_bind_int64(s, 6, u->created_at)) == 0 &&
	    (r = db_bind_int64(s, 7, u->updated_at)) == 0) {
		r = u->disabled_at != 0 ? db_bind_int64(s, 8, u->disabled_at)
					: db_bind_null(s, 8);
		if (r == 0)
			r = db_step(s);
	}
	db_done(s);
	free(key);
	if ((r = done_ok(r)) != 0)
		goto fail;
	if (password_phc != NULL &&
	    (r = put_password(c, u->id, password_phc, u->created_at)) != 0)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}

static int
get_one(struct db *db, const char *sql, const char *arg, struct store_user *out)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c, sql, &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, arg)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		read_user(s, out);
	db_done(s);
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

int
store_user_get(struct db *db, const char *id, struct store_user *out)
{
	return get_one(
	    db, "SELECT " USER_COLS " FROM users WHERE id = ?", id, out);
}

int
store_user_get_by_email(
    struct db *db, const char *email, struct store_user *out)
{
	char *key = store_email_key(email);
	int r = get_one(db,
	    "SELECT " USER_COLS " FROM users WHERE email_key = ?", key, out);

	free(key);
	return r;
}

int
store_users_list(struct db *db, struct store_user **out, size_t *n)
{
	struct db_conn *c;
	struct db_stmt *s;
	struct store_user *v = NULL;
	size_t len = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT " USER_COLS " FROM users ORDER BY created_at, id",
		 &s)) != 0)
		return r;
	while ((r = db_step(s)) == DB_ROW) {
		if (len == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_user(s, &v[len++]);
	}
	db_done(s);
	if (r != DB_DONE) {
		store_users_free(v, len);
		return r < 0 ? r : PC_ERR_STORE;
	}
	*out = v;
	*n = len;
	return 0;
}

/*
 * Runs one UPDATE of users whose last placeholder is the id, in its own
 * transaction; PC_ERR_NOT_FOUND when no such user. RETURNING tells whether
 * a row matched, on both backends.
 */
static int
update_user(struct db *db, const char *sql, const char *id, const char *text,
    int64_t v, bool v_null, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r, i = 1;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c, sql, &s)) != 0)
		goto fail;
	if (text != NULL)
		r = db_bind_cstr(s, i++, text);
	else if (v_null)
		r = db_bind_null(s, i++);
	else
		r = db_bind_int64(s, i++, v);
	if (r == 0 && (r = db_bind_int64(s, i++, now)) == 0 &&
	    (r = db_bind_cstr(s, i, id)) == 0)
		r = db_step(s);
	db_done(s);
	if (r != DB_ROW) {
		r = r == DB_DONE ? PC_ERR_NOT_FOUND : r < 0 ? r : PC_ERR_STORE;
		goto fail;
	}
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}

int
store_user_set_name(
    struct db *db, const char *id, const char *name, int64_t now)
{
	return update_user(db,
	    "UPDATE users SET name = ?, updated_at = ? WHERE id = ?"
	    " RETURNING id",
	    id, name, 0, false, now);
}

int
store_user_set_verified(
    struct db *db, const char *id, bool verified, int64_t now)
{
	return update_user(db,
	    "UPDATE users SET email_verified = ?, updated_at = ?"
	    " WHERE id = ? RETURNING id",
	    id, NULL, verified ? 1 : 0, false, now);
}

/* One "UPDATE users ... WHERE id = ? RETURNING id" inside c's transaction,
 * with up to two text values bound before updated_at and the id. */
static int
update_in_tx(struct db_conn *c, const char *sql, const char *t1, const char *t2,
    int64_t v, int64_t now, const char *id)
{
	struct db_stmt *s;
	int r, i = 1;

	if ((r = db_prepare(c, sql, &s)) != 0)
		return r;
	if (t1 != NULL)
		r = db_bind_cstr(s, i++, t1);
	else
		r = db_bind_int64(s, i++, v);
	if (r == 0 && t2 != NULL)
		r = db_bind_cstr(s, i++, t2);
	if (r == 0 && (r = db_bind_int64(s, i++, now)) == 0 &&
	    (r = db_bind_cstr(s, i, id)) == 0)
		r = db_step(s);
	db_done(s);
	if (r == DB_ROW)
		return 0;
	return r == DB_DONE ? PC_ERR_NOT_FOUND : r < 0 ? r : PC_ERR_STORE;
}

int
store_user_update(struct db *db, const char *id, const char *name,
    const char *email, int verified, int64_t now)
{
	struct db_conn *c;
	char *key = NULL;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if (email != NULL) {
		/* The unique email_key makes a taken address a conflict. A
		 * new address is not verified, and the links mailed to the
		 * old one (reset, verification) die with it (RS-03). */
		key = store_email_key(email);
		r = update_in_tx(c,
		    "UPDATE users SET email = ?, email_key = ?,"
		    " email_verified = 0, updated_at = ? WHERE id = ?"
		    " RETURNING id",
		    email, key, 0, now, id);
		free(key);
		if (r != 0)
			goto fail;
		if ((r = store_user_tokens_delete_user_tx(c, id, NULL, NULL)) !=
		    0)
			goto fail;
	}
	if (name != NULL &&
	    (r = update_in_tx(c,
		 "UPDATE users SET name = ?, updated_at = ? WHERE id = ?"
		 " RETURNING id",
		 name, NULL, 0, now, id)) != 0)
		goto fail;
	if (verified >= 0 &&
	    (r = update_in_tx(c,
		 "UPDATE users SET email_verified = ?, updated_at = ?"
		 " WHERE id = ? RETURNING id",
		 NULL, NULL, verified, now, id)) != 0)
		goto fail;
	if (email == NULL && name == NULL && verified < 0) {
		r = PC_ERR_INVALID;
		goto fail;
	}
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}

int
store_user_set_disabled(
    struct db *db, const char *id, int64_t disabled_at, int64_t now)
{
	return update_user(db,
	    "UPDATE users SET disabled_at = ?, updated_at = ?"
	    " WHERE id = ? RETURNING id",
	    id, NULL, disabled_at, disabled_at == 0, now);
}

int
store_password_set(struct db *db, const char *user_id, const char *phc,
    const char *keep_session_hash, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "UPDATE users SET updated_at = ? WHERE id = ? RETURNING id",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_int64(s, 1, now)) == 0 &&
	    (r = db_bind_cstr(s, 2, user_id)) == 0)
		r = db_step(s);
	db_done(s);
	if (r != DB_ROW) {
		r = r == DB_DONE ? PC_ERR_NOT_FOUND : r < 0 ? r : PC_ERR_STORE;
		goto fail;
	}
	if ((r = put_password(c, user_id, phc, now)) != 0)
		goto fail;
	/* A new password ends the user's other sessions (SS-07, RS-08). */
	if ((r = store_sessions_delete_user_tx(
		 c, user_id, keep_session_hash, NULL)) != 0)
		goto fail;
	/* ... and its outstanding reset links (RS-03). */
	if ((r = store_user_tokens_delete_user_tx(
		 c, user_id, STORE_USER_TOKEN_RESET, NULL)) != 0)
		goto fail;
	/* ... and its refresh tokens (RT-05). */
	if ((r = store_families_revoke_user_tx(
		 c, user_id, now, "password_change")) != 0)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}

int
store_password_get(struct db *db, const char *user_id, char **out)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	*out = NULL;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT secret FROM credentials"
		 " WHERE user_id = ? AND kind = 'password'",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, user_id)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		*out = db_col_dup(s, 0);
	db_done(s);
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

int
store_password_rehash(struct db *db, const char *user_id, const char *old_phc,
    const char *new_phc, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	/* Compare-and-swap: a password set meanwhile is never overwritten. */
	if ((r = db_prepare(c,
		 "UPDATE credentials SET secret = ?, updated_at = ?"
		 " WHERE user_id = ? AND kind = 'password' AND secret = ?"
		 " RETURNING user_id",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, new_phc)) == 0 &&
	    (r = db_bind_int64(s, 2, now)) == 0 &&
	    (r = db_bind_cstr(s, 3, user_id)) == 0 &&
	    (r = db_bind_cstr(s, 4, old_phc)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

int
store_user_delete(struct db *db, const char *id, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	/* Credentials go with the row (ON DELETE CASCADE). */
	if ((r = db_prepare(
		 c, "DELETE FROM users WHERE id = ? RETURNING id", &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, id)) == 0)
		r = db_step(s);
	db_done(s);
	if (r != DB_ROW) {
		r = r == DB_DONE ? PC_ERR_NOT_FOUND : r < 0 ? r : PC_ERR_STORE;
		goto fail;
	}
	if ((r = db_prepare(c,
		 "INSERT INTO deleted_users (id, deleted_at) VALUES (?, ?)",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, id)) == 0 &&
	    (r = db_bind_int64(s, 2, now)) == 0)
		r = db_step(s);
	db_done(s);
	if ((r = done_ok(r)) != 0)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}
