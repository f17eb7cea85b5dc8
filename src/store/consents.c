/* Consents (migration 0011; SECURITY.md CF-03). */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

void
store_consents_free(struct store_consent *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].client_id);
		free(v[i].scope);
	}
	free(v);
}

int
store_consent_get(
    struct db *db, const char *user_id, const char *client_id, char **scope)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	*scope = NULL;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT scope FROM consents WHERE user_id = ?"
		 " AND client_id = ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, user_id)) == 0 &&
	    (r = db_bind_cstr(s, 2, client_id)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		*scope = db_col_dup(s, 0);
	db_done(s);
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

int
store_consent_put(struct db *db, const char *user_id, const char *client_id,
    const char *scope, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "INSERT INTO consents (user_id, client_id, scope, granted_at)"
		 " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, client_id) DO"
		 " UPDATE SET scope = excluded.scope,"
		 " granted_at = excluded.granted_at",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, user_id)) == 0 &&
	    (r = db_bind_cstr(s, 2, client_id)) == 0 &&
	    (r = db_bind_cstr(s, 3, scope)) == 0 &&
	    (r = db_bind_int64(s, 4, now)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r;
}

int
store_consent_delete(struct db *db, const char *user_id, const char *client_id)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "DELETE FROM consents WHERE user_id = ? AND client_id = ?"
		 " RETURNING client_id",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, user_id)) == 0 &&
	    (r = db_bind_cstr(s, 2, client_id)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

int
store_consents_list(
    struct db *db, const char *user_id, struct store_consent **out, size_t *n)
{
	struct db_conn *c;
	struct db_stmt *s;
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT client_id, scope, granted_at FROM consents"
		 " WHERE user_id = ? ORDER BY granted_at DESC, client_id",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, user_id)) == 0) {
		while ((r = db_step(s)) == DB_ROW) {
			if (*n == cap) {
				cap = cap == 0 ? 8 : cap * 2;
				*out = xrealloc(*out, cap * sizeof(**out));
			}
			(*out)[*n].client_id = db_col_dup(s, 0);
			(*out)[*n].scope = db_col_dup(s, 1);
			(*out)[*n].granted_at = db_col_int64(s, 2);
			(*n)++;
		}
	}
	db_done(s);
	if (r != DB_DONE) {
		store_consents_free(*out, *n);
		*out = NULL;
		*n = 0;
		return r;
	}
	return 0;
}

/*
 * Revocations the account page makes (RT-05): they span consents,
 * sessions and token families, each in one transaction so nothing is
 * left half-ended. A family dies with revoked_at; bearer_verify() then
 * refuses its access tokens through their gid.
 */

int
store_consent_revoke(struct db *db, const char *user_id, const char *client_id,
    int64_t now, int64_t *families)
{
	struct db_conn *c;
	struct db_stmt *s;
	int64_t nf = 0, nc = 0;
	int r;

	if (families != NULL)
		*families = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "DELETE FROM consents WHERE user_id = ? AND client_id = ?"
		 " RETURNING client_id",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, user_id)) == 0 &&
	    (r = db_bind_cstr(s, 2, client_id)) == 0)
		while ((r = db_step(s)) == DB_ROW)
			nc++;
	db_done(s);
	if (r != DB_DONE)
		goto fail;
	if ((r = db_prepare(c,
		 "UPDATE token_families SET revoked_at = ?, revoke_reason = ?"
		 " WHERE user_id = ? AND client_id = ? AND revoked_at IS NULL"
		 " RETURNING family_id",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_int64(s, 1, now)) == 0 &&
	    (r = db_bind_cstr(s, 2, "consent_revoked")) == 0 &&
	    (r = db_bind_cstr(s, 3, user_id)) == 0 &&
	    (r = db_bind_cstr(s, 4, client_id)) == 0)
		while ((r = db_step(s)) == DB_ROW)
			nf++;
	db_done(s);
	if (r != DB_DONE)
		goto fail;
	if ((r = db_commit(c)) != 0)
		return r;
	if (families != NULL)
		*families = nf;
	return nc + nf > 0 ? 0 : PC_ERR_NOT_FOUND;
fail:
	db_rollback(c);
	return r < 0 ? r : PC_ERR_STORE;
}

int
store_sessions_end(struct db *db, const char *user_id, const char *only_hash,
    const char *keep_hash, int64_t now, int64_t *ended, int64_t *families)
{
	struct db_conn *c;
	struct db_stmt *s;
	int64_t ns = 0, nf = 0;
	int r, i = 1;

	if (ended != NULL)
		*ended = 0;
	if (families != NULL)
		*families = 0;
	if (user_id == NULL || keep_hash == NULL)
		return PC_ERR_INVALID;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	/* Families carry sid: the first 16 hex of the session's id hash. */
	r = only_hash != NULL
	    ? db_prepare(c,
		  "UPDATE token_families SET revoked_at = ?,"
		  " revoke_reason = 'session_ended'"
		  " WHERE user_id = ? AND revoked_at IS NULL AND sid IN"
		  " (SELECT substr(id_hash, 1, 16) FROM sessions"
		  " WHERE user_id = ? AND id_hash <> ? AND id_hash = ?)"
		  " RETURNING family_id",
		  &s)
	    : db_prepare(c,
		  "UPDATE token_families SET revoked_at = ?,"
		  " revoke_reason = 'session_ended'"
		  " WHERE user_id = ? AND revoked_at IS NULL AND sid IN"
		  " (SELECT substr(id_hash, 1, 16) FROM sessions"
		  " WHERE user_id = ? AND id_hash <> ?)"
		  " RETURNING family_id",
		  &s);
	if (r != 0)
		goto fail;
	if ((r = db_bind_int64(s, i++, now)) == 0 &&
	    (r = db_bind_cstr(s, i++, user_id)) == 0 &&
	    (r = db_bind_cstr(s, i++, user_id)) == 0 &&
	    (r = db_bind_cstr(s, i++, keep_hash)) == 0 &&
	    (only_hash == NULL || (r = db_bind_cstr(s, i++, only_hash)) == 0))
		while ((r = db_step(s)) == DB_ROW)
			nf++;
	db_done(s);
	if (r != DB_DONE)
		goto fail;
	i = 1;
	r = only_hash != NULL
	    ? db_prepare(c,
		  "DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?"
		  " AND id_hash = ? RETURNING id_hash",
		  &s)
	    : db_prepare(c,
		  "DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?"
		  " RETURNING id_hash",
		  &s);
	if (r != 0)
		goto fail;
	if ((r = db_bind_cstr(s, i++, user_id)) == 0 &&
	    (r = db_bind_cstr(s, i++, keep_hash)) == 0 &&
	    (only_hash == NULL || (r = db_bind_cstr(s, i++, only_hash)) == 0))
		while ((r = db_step(s)) == DB_ROW)
			ns++;
	db_done(s);
	if (r != DB_DONE)
		goto fail;
	if ((r = db_commit(c)) != 0)
		return r;
	if (ended != NULL)
		*ended = ns;
	if (families != NULL)
		*families = nf;
	return only_hash != NULL && ns == 0 ? PC_ERR_NOT_FOUND : 0;
fail:
	db_rollback(c);
	return r < 0 ? r : PC_ERR_STORE;
}
