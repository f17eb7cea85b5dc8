/*
 * What the resource-side endpoints ask the store (migration 0012;
 * SECURITY.md IR-02, IR-04..06): the deny-list of revoked access-token
 * jtis, each kept until the token's exp, and a read-only look at one
 * refresh token for introspection and revocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_internal.h"

int
store_access_revoke(struct db *db, const char *jti, const char *client_id,
    int64_t expires_at, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	/* Revoking twice is revoking once. */
	if ((r = db_prepare(c,
		 "INSERT INTO revoked_access_tokens (jti, client_id,"
		 " revoked_at, expires_at) VALUES (?, ?, ?, ?)"
		 " ON CONFLICT (jti) DO NOTHING",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, jti)) == 0 &&
	    (r = db_bind_cstr(s, 2, client_id)) == 0 &&
	    (r = db_bind_int64(s, 3, now)) == 0 &&
	    (r = db_bind_int64(s, 4, expires_at)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r;
}

int
store_access_revoked(struct db *db, const char *jti, bool *revoked)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	*revoked = true; /* fail closed */
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT 1 FROM revoked_access_tokens WHERE jti = ?", &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, jti)) == 0)
		r = db_step(s);
	db_done(s);
	if (r != DB_ROW && r != DB_DONE)
		return r;
	*revoked = r == DB_ROW;
	return 0;
}

int
store_access_revoked_purge(struct db *db, int64_t now, int64_t *deleted)
{
	/* A token past its exp is refused by exp alone. */
	return store_delete_expired(db,
	    "DELETE FROM revoked_access_tokens WHERE expires_at <= ?"
	    " RETURNING 1",
	    now, deleted);
}

int
store_refresh_get(
    struct db *db, const char *token_hash, struct store_refresh *out)
{
	struct db_conn *c;
	struct db_stmt *s;
	const char *t;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT family_id, created_at, expires_at, used_at"
		 " FROM refresh_tokens WHERE token_hash = ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, token_hash)) == 0)
		r = db_step(s);
	if (r == DB_ROW) {
		t = db_col_text(s, 0, NULL);
		snprintf(out->family_id, sizeof(out->family_id), "%s",
		    t != NULL ? t : "");
		out->created_at = db_col_int64(s, 1);
		out->expires_at = db_col_int64(s, 2);
		out->used_at = db_col_is_null(s, 3) ? 0 : db_col_int64(s, 3);
	}
	db_done(s);
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}
