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
#include "store/q.h"
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

/* The columns of USER_COLS, read into u (disabled_at: SQL NULL gives 0). */
#define USER_READ(u) \
	Q_COLS(QC_DUP(&(u)->id), QC_DUP(&(u)->email), QC_DUP(&(u)->email_key), \
	    QC_BOOL(&(u)->email_verified), QC_DUP(&(u)->name), \
	    QC_INT(&(u)->created_at), QC_INT(&(u)->updated_at), \
	    QC_INT(&(u)->disabled_at))

static int
put_password(
    struct db_conn *c, const char *user_id, const char *phc, int64_t now)
{
	return q_exec(c,
	    "INSERT INTO credentials (user_id, kind, secret,"
	    " created_at, updated_at) VALUES (?, 'password', ?, ?, ?)"
	    " ON CONFLICT (user_id, kind) DO UPDATE SET"
	    " secret = excluded.secret, updated_at = excluded.updated_at",
	    Q_ARGS(QA_TEXT(user_id), QA_TEXT(phc), QA_INT(now), QA_INT(now)),
	    NULL);
}

struct insert_arg {
	const struct store_user *u;
	const char *password_phc;
};

static int
insert_tx(struct db_conn *c, void *arg)
{
	const struct insert_arg *a = arg;
	const struct store_user *u = a->u;
	char *key;
	int r;

	/* OI-07: a deleted user's id never comes back. */
	r = q_one(c, "SELECT 1 FROM deleted_users WHERE id = ?",
	    Q_ARGS(QA_TEXT(u->id)), Q_NOCOLS);
	if (r == 0)
		return PC_ERR_CONFLICT;
	if (r != PC_ERR_NOT_FOUND)
		return r;
	key = store_email_key(u->email);
	r = q_exec(c,
	    "INSERT INTO users (" USER_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(u->id), QA_TEXT(u->email), QA_TEXT(key),
		QA_INT(u->email_verified ? 1 : 0),
		QA_TEXT(u->name != NULL ? u->name : ""), QA_INT(u->created_at),
		QA_INT(u->updated_at),
		QA_INT_IF(u->disabled_at != 0, u->disabled_at)),
	    NULL);
	free(key);
	if (r != 0)
		return r;
	if (a->password_phc != NULL)
		return put_password(c, u->id, a->password_phc, u->created_at);
	return 0;
}

int
store_user_insert(
    struct db *db, const struct store_user *u, const char *password_phc)
{
	struct insert_arg a = { u, password_phc };

	return store_tx(db, insert_tx, &a);
}

int
store_user_get(struct db *db, const char *id, struct store_user *out)
{
	memset(out, 0, sizeof(*out));
	return store_one(db, "SELECT " USER_COLS " FROM users WHERE id = ?",
	    Q_ARGS(QA_TEXT(id)), USER_READ(out));
}

int
store_user_get_by_email(
    struct db *db, const char *email, struct store_user *out)
{
	char *key = store_email_key(email);
	int r;

	memset(out, 0, sizeof(*out));
	r = store_one(db, "SELECT " USER_COLS " FROM users WHERE email_key = ?",
	    Q_ARGS(QA_TEXT(key)), USER_READ(out));
	free(key);
	return r;
}

struct user_list {
	struct store_user *v;
	size_t len, cap;
};

static int
list_row(struct db_stmt *s, void *arg)
{
	struct user_list *l = arg;
	struct store_user *u = Q_GROW(l->v, l->len, l->cap);

	q_read(s, USER_READ(u));
	return 0;
}

int
store_users_list(struct db *db, struct store_user **out, size_t *n)
{
	struct user_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT " USER_COLS " FROM users ORDER BY created_at, id", Q_NOARGS,
	    list_row, &l);
	if (r != 0) {
		store_users_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

int
store_users_page(struct db *db, const char *after, int64_t limit,
    struct store_user **out, size_t *n)
{
	struct user_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	if (limit < 1)
		return PC_ERR_INVALID;
	/* Keyset paging by id: stable under inserts, no OFFSET scan. */
	r = store_all(db,
	    "SELECT " USER_COLS " FROM users WHERE id > ? ORDER BY id LIMIT ?",
	    Q_ARGS(QA_TEXT(after != NULL ? after : ""), QA_INT(limit)),
	    list_row, &l);
	if (r != 0) {
		store_users_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

/*
 * The one-column changes, alone (store_user_set_*) or together in
 * store_user_update: one statement each, written once. RETURNING tells
 * whether the user exists.
 */
#define SET_NAME_SQL \
	"UPDATE users SET name = ?, updated_at = ? WHERE id = ? RETURNING id"
#define SET_VERIFIED_SQL \
	"UPDATE users SET email_verified = ?, updated_at = ?" \
	" WHERE id = ? RETURNING id"

struct update_arg {
	const char *sql;
	const struct q_arg *args;
};

static int
update_tx(struct db_conn *c, void *arg)
{
	const struct update_arg *a = arg;

	return q_one(c, a->sql, a->args, Q_NOCOLS);
}

/*
 * One "UPDATE users ... WHERE id = ? RETURNING id" in its own transaction:
 * PC_ERR_NOT_FOUND when no such user (RETURNING tells whether a row
 * matched, on both backends).
 */
static int
update_alone(struct db *db, const char *sql, const struct q_arg *args)
{
	struct update_arg a = { sql, args };

	return store_tx(db, update_tx, &a);
}

int
store_user_set_name(
    struct db *db, const char *id, const char *name, int64_t now)
{
	return update_alone(
	    db, SET_NAME_SQL, Q_ARGS(QA_TEXT(name), QA_INT(now), QA_TEXT(id)));
}

int
store_user_set_verified(
    struct db *db, const char *id, bool verified, int64_t now)
{
	return update_alone(db, SET_VERIFIED_SQL,
	    Q_ARGS(QA_INT(verified ? 1 : 0), QA_INT(now), QA_TEXT(id)));
}

struct user_update {
	const char *id, *name, *email;
	int verified;
	int64_t now;
};

static int
user_update_tx(struct db_conn *c, void *arg)
{
	const struct user_update *a = arg;
	int r;

	if (a->email != NULL) {
		/* The unique email_key makes a taken address a conflict. A
		 * new address is not verified, and the links mailed to the
		 * old one (reset, verification) die with it (RS-03). */
		char *key = store_email_key(a->email);

		r = q_one(c,
		    "UPDATE users SET email = ?, email_key = ?,"
		    " email_verified = 0, updated_at = ? WHERE id = ?"
		    " RETURNING id",
		    Q_ARGS(QA_TEXT(a->email), QA_TEXT(key), QA_INT(a->now),
			QA_TEXT(a->id)),
		    Q_NOCOLS);
		free(key);
		if (r != 0)
			return r;
		if ((r = store_user_tokens_delete_user_tx(
			 c, a->id, NULL, NULL)) != 0)
			return r;
	}
	if (a->name != NULL &&
	    (r = q_one(c, SET_NAME_SQL,
		 Q_ARGS(QA_TEXT(a->name), QA_INT(a->now), QA_TEXT(a->id)),
		 Q_NOCOLS)) != 0)
		return r;
	if (a->verified >= 0 &&
	    (r = q_one(c, SET_VERIFIED_SQL,
		 Q_ARGS(QA_INT(a->verified), QA_INT(a->now), QA_TEXT(a->id)),
		 Q_NOCOLS)) != 0)
		return r;
	if (a->email == NULL && a->name == NULL && a->verified < 0)
		return PC_ERR_INVALID;
	return 0;
}

int
store_user_update(struct db *db, const char *id, const char *name,
    const char *email, int verified, int64_t now)
{
	struct user_update a = { id, name, email, verified, now };

	return store_tx(db, user_update_tx, &a);
}

int
store_user_set_disabled(
    struct db *db, const char *id, int64_t disabled_at, int64_t now)
{
	return update_alone(db,
	    "UPDATE users SET disabled_at = ?, updated_at = ?"
	    " WHERE id = ? RETURNING id",
	    Q_ARGS(QA_INT_IF(disabled_at != 0, disabled_at), QA_INT(now),
		QA_TEXT(id)));
}

struct password_set {
	const char *user_id, *phc, *keep_session_hash;
	int64_t now;
};

static int
password_set_tx(struct db_conn *c, void *arg)
{
	const struct password_set *a = arg;
	int r;

	if ((r = q_one(c,
		 "UPDATE users SET updated_at = ? WHERE id = ? RETURNING id",
		 Q_ARGS(QA_INT(a->now), QA_TEXT(a->user_id)), Q_NOCOLS)) != 0)
		return r;
	if ((r = put_password(c, a->user_id, a->phc, a->now)) != 0)
		return r;
	/* A new password ends the user's other sessions (SS-07, RS-08). */
	if ((r = store_sessions_delete_user_tx(
		 c, a->user_id, a->keep_session_hash, NULL)) != 0)
		return r;
	/* ... and its outstanding reset links (RS-03). */
	if ((r = store_user_tokens_delete_user_tx(
		 c, a->user_id, STORE_USER_TOKEN_RESET, NULL)) != 0)
		return r;
	/* ... and its refresh tokens (RT-05). */
	return store_families_revoke_user_tx(
	    c, a->user_id, a->now, "password_change");
}

int
store_password_set(struct db *db, const char *user_id, const char *phc,
    const char *keep_session_hash, int64_t now)
{
	struct password_set a = { user_id, phc, keep_session_hash, now };

	return store_tx(db, password_set_tx, &a);
}

int
store_password_get(struct db *db, const char *user_id, char **out)
{
	*out = NULL;
	return store_one(db,
	    "SELECT secret FROM credentials"
	    " WHERE user_id = ? AND kind = 'password'",
	    Q_ARGS(QA_TEXT(user_id)), Q_COLS(QC_DUP(out)));
}

int
store_password_rehash(struct db *db, const char *user_id, const char *old_phc,
    const char *new_phc, int64_t now)
{
	/* Compare-and-swap: a password set meanwhile is never overwritten. */
	return store_one(db,
	    "UPDATE credentials SET secret = ?, updated_at = ?"
	    " WHERE user_id = ? AND kind = 'password' AND secret = ?"
	    " RETURNING user_id",
	    Q_ARGS(QA_TEXT(new_phc), QA_INT(now), QA_TEXT(user_id),
		QA_TEXT(old_phc)),
	    Q_NOCOLS);
}

struct user_delete {
	const char *id;
	int64_t now;
};

static int
user_delete_tx(struct db_conn *c, void *arg)
{
	const struct user_delete *a = arg;
	int r;

	/* Credentials go with the row (ON DELETE CASCADE). */
	if ((r = q_one(c, "DELETE FROM users WHERE id = ? RETURNING id",
		 Q_ARGS(QA_TEXT(a->id)), Q_NOCOLS)) != 0)
		return r;
	/* Group memberships (issue 14: member_id has no foreign key). */
	if ((r = q_exec(c, "DELETE FROM group_members WHERE member_id = ?",
		 Q_ARGS(QA_TEXT(a->id)), NULL)) != 0)
		return r;
	return q_exec(c,
	    "INSERT INTO deleted_users (id, deleted_at) VALUES (?, ?)",
	    Q_ARGS(QA_TEXT(a->id), QA_INT(a->now)), NULL);
}

int
store_user_delete(struct db *db, const char *id, int64_t now)
{
	struct user_delete a = { id, now };

	return store_tx(db, user_delete_tx, &a);
}
