/*
 * Pending authorization requests (migration 0014; SECURITY.md AZ-03,
 * CF-03): saved while the user signs in or consents, named by the SHA-256
 * of an opaque id, taken once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_internal.h"

void
store_authz_request_clear(struct store_authz_request *a)
{
	free(a->client_id);
	free(a->redirect_uri);
	free(a->state);
	free(a->nonce);
	free(a->code_challenge);
	free(a->scope);
	free(a->login_hint);
	free(a->hint_sub);
	free(a->login_sid);
	memset(a, 0, sizeof(*a));
}

static int
bind_opt(struct db_stmt *s, int idx, const char *v)
{
	return v != NULL ? db_bind_cstr(s, idx, v) : db_bind_null(s, idx);
}

int
store_authz_request_put(struct db *db, const struct store_authz_request *a,
    const char *ip, int64_t max_per_ip)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "INSERT INTO authz_requests (id_hash, client_id,"
		 " redirect_uri, state, nonce, code_challenge, scope, prompt,"
		 " login_sid, login_hint, hint_sub, ip, created_at,"
		 " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
		 " ?)",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, a->id_hash)) == 0 &&
	    (r = db_bind_cstr(s, 2, a->client_id)) == 0 &&
	    (r = db_bind_cstr(s, 3, a->redirect_uri)) == 0 &&
	    (r = bind_opt(s, 4, a->state)) == 0 &&
	    (r = bind_opt(s, 5, a->nonce)) == 0 &&
	    (r = db_bind_cstr(s, 6, a->code_challenge)) == 0 &&
	    (r = db_bind_cstr(s, 7, a->scope)) == 0 &&
	    (r = db_bind_int64(s, 8, a->prompt)) == 0 &&
	    (r = bind_opt(s, 9, a->login_sid)) == 0 &&
	    (r = bind_opt(s, 10, a->login_hint)) == 0 &&
	    (r = bind_opt(s, 11, a->hint_sub)) == 0 &&
	    (r = db_bind_cstr(s, 12, ip != NULL ? ip : "")) == 0 &&
	    (r = db_bind_int64(s, 13, a->created_at)) == 0 &&
	    (r = db_bind_int64(s, 14, a->expires_at)) == 0)
		r = db_step(s);
	db_done(s);
	if (r != DB_DONE)
		goto fail;
	/* DS-04: the IP's newest max_per_ip stay. */
	if ((r = db_prepare(c,
		 "DELETE FROM authz_requests WHERE ip = ? AND id_hash NOT IN"
		 " (SELECT id_hash FROM authz_requests WHERE ip = ?"
		 " ORDER BY created_at DESC, id_hash DESC LIMIT ?)",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, ip != NULL ? ip : "")) == 0 &&
	    (r = db_bind_cstr(s, 2, ip != NULL ? ip : "")) == 0 &&
	    (r = db_bind_int64(s, 3, max_per_ip)) == 0)
		r = db_step(s);
	db_done(s);
	if (r != DB_DONE)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}

#define COLS \
	"client_id, redirect_uri, state, nonce, code_challenge, scope," \
	" prompt, login_sid, login_hint, hint_sub, created_at," \
	" expires_at"

static void
read_row(struct db_stmt *s, const char *id_hash, struct store_authz_request *a)
{
	snprintf(a->id_hash, sizeof(a->id_hash), "%s", id_hash);
	a->client_id = db_col_dup(s, 0);
	a->redirect_uri = db_col_dup(s, 1);
	a->state = db_col_dup_null(s, 2);
	a->nonce = db_col_dup_null(s, 3);
	a->code_challenge = db_col_dup(s, 4);
	a->scope = db_col_dup(s, 5);
	a->prompt = (unsigned)db_col_int64(s, 6);
	a->login_sid = db_col_dup_null(s, 7);
	a->login_hint = db_col_dup_null(s, 8);
	a->hint_sub = db_col_dup_null(s, 9);
	a->created_at = db_col_int64(s, 10);
	a->expires_at = db_col_int64(s, 11);
}

static int
fetch(struct db *db, const char *sql, const char *id_hash, int64_t now,
    struct store_authz_request *out)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c, sql, &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, id_hash)) == 0 &&
	    (r = db_bind_int64(s, 2, now)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		read_row(s, id_hash, out);
	db_done(s);
	return r == DB_ROW ? 0 : r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

int
store_authz_request_get(struct db *db, const char *id_hash, int64_t now,
    struct store_authz_request *out)
{
	return fetch(db,
	    "SELECT " COLS " FROM authz_requests WHERE id_hash = ?"
	    " AND expires_at > ?",
	    id_hash, now, out);
}

int
store_authz_request_take(struct db *db, const char *id_hash, int64_t now,
    struct store_authz_request *out)
{
	return fetch(db,
	    "DELETE FROM authz_requests WHERE id_hash = ? AND expires_at > ?"
	    " RETURNING " COLS,
	    id_hash, now, out);
}

int
store_authz_requests_purge(struct db *db, int64_t now, int64_t *deleted)
{
	return store_delete_expired(db,
	    "DELETE FROM authz_requests WHERE expires_at <= ? RETURNING 1", now,
	    deleted);
}

int
store_authz_request_set_login(
    struct db *db, const char *id_hash, const char *sid, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "UPDATE authz_requests SET login_sid = ? WHERE id_hash = ?"
		 " AND expires_at > ? RETURNING 1",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, sid)) == 0 &&
	    (r = db_bind_cstr(s, 2, id_hash)) == 0 &&
	    (r = db_bind_int64(s, 3, now)) == 0)
		r = db_step(s);
	if (r == DB_ROW) {
		db_done(s);
		return 0;
	}
	db_done(s);
	return r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}
