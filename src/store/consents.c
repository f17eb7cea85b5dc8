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
