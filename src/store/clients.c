/*
 * OAuth clients, their redirect URIs and their hashed secrets. Every
 * change is one transaction; a deleted client's id goes to
 * deleted_clients and is refused by every later insert, so an id never
 * names a different client (issue 4). Only SHA-256 hashes of secrets are
 * stored (TK-08).
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
store_client_clear(struct store_client *c)
{
	free(c->client_id);
	free(c->name);
	free(c->auth_method);
	free(c->grant_types);
	free(c->scopes);
	free(c->id_token_alg);
	free(c->jwks);
	free_strv(c->redirect_uris, c->n_redirect_uris);
	free_strv(c->post_logout_uris, c->n_post_logout_uris);
	memset(c, 0, sizeof(*c));
}

void
store_clients_free(struct store_client *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_client_clear(&v[i]);
	free(v);
}

#define CLIENT_COLS \
	"client_id, name, is_public, token_endpoint_auth_method," \
	" grant_types, scopes, id_token_signed_response_alg, first_party," \
	" jwks, created_at, updated_at"

static void
read_client(struct db_stmt *s, struct store_client *c)
{
	c->client_id = db_col_dup(s, 0);
	c->name = db_col_dup(s, 1);
	c->is_public = db_col_int64(s, 2) != 0;
	c->auth_method = db_col_dup(s, 3);
	c->grant_types = db_col_dup(s, 4);
	c->scopes = db_col_dup(s, 5);
	c->id_token_alg = db_col_dup(s, 6);
	c->first_party = db_col_int64(s, 7) != 0;
	c->jwks = db_col_dup_null(s, 8);
	c->created_at = db_col_int64(s, 9);
	c->updated_at = db_col_int64(s, 10);
}

/* DB_DONE from a statement that changes rows is success. */
static int
done_ok(int r)
{
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

/* DB_ROW means a row matched; DB_DONE means none did. */
static int
row_ok(int r)
{
	return r == DB_ROW ? 0
	    : r == DB_DONE ? PC_ERR_NOT_FOUND
	    : r < 0	   ? r
			   : PC_ERR_STORE;
}

static int
exists(struct db_conn *c, const char *id, bool *out)
{
	struct db_stmt *s;
	int r;

	*out = false;
	if ((r = db_prepare(c,
		 "SELECT 1 FROM deleted_clients WHERE client_id = ?"
		 " UNION ALL SELECT 1 FROM clients WHERE client_id = ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, id)) == 0 &&
	    (r = db_bind_cstr(s, 2, id)) == 0)
		r = db_step(s);
	db_done(s);
	if (r == DB_ROW)
		*out = true;
	return r == DB_ROW || r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

static int
put_uris(
    struct db_conn *c, const char *id, const char *kind, char **v, size_t n)
{
	struct db_stmt *s;
	int r;

	for (size_t i = 0; i < n; i++) {
		if ((r = db_prepare(c,
			 "INSERT INTO client_redirect_uris (client_id, kind,"
			 " uri) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			 &s)) != 0)
			return r;
		if ((r = db_bind_cstr(s, 1, id)) == 0 &&
		    (r = db_bind_cstr(s, 2, kind)) == 0 &&
		    (r = db_bind_cstr(s, 3, v[i])) == 0)
			r = db_step(s);
		db_done(s);
		if ((r = done_ok(r)) != 0)
			return r;
	}
	return 0;
}

static int
put_secret(struct db_conn *c, const char *id, const char *hash, int64_t now)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 "INSERT INTO client_secrets (client_id, secret_hash,"
		 " created_at, expires_at) VALUES (?, ?, ?, NULL)",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, id)) == 0 &&
	    (r = db_bind_cstr(s, 2, hash)) == 0 &&
	    (r = db_bind_int64(s, 3, now)) == 0)
		r = db_step(s);
	db_done(s);
	return done_ok(r);
}

/* Runs sql with the client id as its only parameter. */
static int
exec_id(struct db_conn *c, const char *sql, const char *id)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c, sql, &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, id)) == 0)
		r = db_step(s);
	db_done(s);
	return done_ok(r);
}

static int
bind_meta(struct db_stmt *s, int i, const struct store_client *c)
{
	int r;

	if ((r = db_bind_cstr(s, i++, c->name)) != 0 ||
	    (r = db_bind_cstr(s, i++, c->auth_method)) != 0 ||
	    (r = db_bind_cstr(s, i++, c->grant_types)) != 0 ||
	    (r = db_bind_cstr(s, i++, c->scopes)) != 0 ||
	    (r = db_bind_cstr(s, i++, c->id_token_alg)) != 0 ||
	    (r = db_bind_int64(s, i++, c->first_party ? 1 : 0)) != 0)
		return r;
	r = c->jwks != NULL ? db_bind_cstr(s, i++, c->jwks)
			    : db_bind_null(s, i++);
	if (r == 0)
		r = db_bind_int64(s, i, c->updated_at);
	return r;
}

int
store_client_insert(
    struct db *db, const struct store_client *c, const char *secret_hash)
{
	struct db_conn *conn;
	struct db_stmt *s;
	bool taken;
	int r;

	if ((r = db_conn(db, &conn)) != 0)
		return r;
	if ((r = db_begin(conn, true)) != 0)
		return r;
	if ((r = exists(conn, c->client_id, &taken)) != 0)
		goto fail;
	if (taken) {
		r = PC_ERR_CONFLICT;
		goto fail;
	}
	if ((r = db_prepare(conn,
		 "INSERT INTO clients (client_id, is_public, created_at,"
		 " name, token_endpoint_auth_method, grant_types, scopes,"
		 " id_token_signed_response_alg, first_party, jwks,"
		 " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, c->client_id)) == 0 &&
	    (r = db_bind_int64(s, 2, c->is_public ? 1 : 0)) == 0 &&
	    (r = db_bind_int64(s, 3, c->created_at)) == 0 &&
	    (r = bind_meta(s, 4, c)) == 0)
		r = db_step(s);
	db_done(s);
	if ((r = done_ok(r)) != 0 ||
	    (r = put_uris(conn, c->client_id, "login", c->redirect_uris,
		 c->n_redirect_uris)) != 0 ||
	    (r = put_uris(conn, c->client_id, "post_logout",
		 c->post_logout_uris, c->n_post_logout_uris)) != 0)
		goto fail;
	if (secret_hash != NULL &&
	    (r = put_secret(conn, c->client_id, secret_hash, c->created_at)) !=
		0)
		goto fail;
	return db_commit(conn);
fail:
	db_rollback(conn);
	return r;
}

static int
read_uris(struct db_conn *conn, struct store_client *c)
{
	struct db_stmt *s;
	size_t cap_l = 0, cap_p = 0;
	int r;

	if ((r = db_prepare(conn,
		 "SELECT kind, uri FROM client_redirect_uris"
		 " WHERE client_id = ? ORDER BY kind, uri",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, c->client_id)) != 0) {
		db_done(s);
		return r;
	}
	while ((r = db_step(s)) == DB_ROW) {
		size_t len;
		const char *kind = db_col_text(s, 0, &len);
		bool login =
		    kind != NULL && len == 5 && memcmp(kind, "login", 5) == 0;
		char ***v = login ? &c->redirect_uris : &c->post_logout_uris;
		size_t *n =
		    login ? &c->n_redirect_uris : &c->n_post_logout_uris;
		size_t *cap = login ? &cap_l : &cap_p;

		if (*n == *cap) {
			*cap = *cap == 0 ? 4 : *cap * 2;
			*v = xrealloc(*v, *cap * sizeof(**v));
		}
		(*v)[(*n)++] = db_col_dup(s, 1);
	}
	db_done(s);
	return done_ok(r);
}

int
store_client_get(struct db *db, const char *client_id, struct store_client *out)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT " CLIENT_COLS " FROM clients WHERE client_id = ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, client_id)) == 0)
		r = db_step(s);
	if (r == DB_ROW)
		read_client(s, out);
	db_done(s);
	if ((r = row_ok(r)) != 0)
		return r;
	if ((r = read_uris(c, out)) != 0)
		store_client_clear(out);
	return r;
}

int
store_clients_list(struct db *db, struct store_client **out, size_t *n)
{
	struct db_conn *c;
	struct db_stmt *s;
	struct store_client *v = NULL;
	size_t len = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT " CLIENT_COLS
		 " FROM clients ORDER BY created_at, client_id",
		 &s)) != 0)
		return r;
	while ((r = db_step(s)) == DB_ROW) {
		if (len == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		memset(&v[len], 0, sizeof(v[len]));
		read_client(s, &v[len++]);
	}
	db_done(s);
	if (r != DB_DONE) {
		store_clients_free(v, len);
		return r < 0 ? r : PC_ERR_STORE;
	}
	/* After the cursor is closed: one statement at a time per address. */
	for (size_t i = 0; i < len; i++)
		if ((r = read_uris(c, &v[i])) != 0) {
			store_clients_free(v, len);
			return r;
		}
	*out = v;
	*n = len;
	return 0;
}

int
store_client_update(
    struct db *db, const struct store_client *c, bool drop_secrets)
{
	struct db_conn *conn;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &conn)) != 0)
		return r;
	if ((r = db_begin(conn, true)) != 0)
		return r;
	if ((r = db_prepare(conn,
		 "UPDATE clients SET name = ?, token_endpoint_auth_method = ?,"
		 " grant_types = ?, scopes = ?,"
		 " id_token_signed_response_alg = ?, first_party = ?,"
		 " jwks = ?, updated_at = ? WHERE client_id = ?"
		 " RETURNING client_id",
		 &s)) != 0)
		goto fail;
	if ((r = bind_meta(s, 1, c)) == 0 &&
	    (r = db_bind_cstr(s, 9, c->client_id)) == 0)
		r = db_step(s);
	db_done(s);
	if ((r = row_ok(r)) != 0)
		goto fail;
	if ((r = exec_id(conn,
		 "DELETE FROM client_redirect_uris WHERE client_id = ?",
		 c->client_id)) != 0 ||
	    (r = put_uris(conn, c->client_id, "login", c->redirect_uris,
		 c->n_redirect_uris)) != 0 ||
	    (r = put_uris(conn, c->client_id, "post_logout",
		 c->post_logout_uris, c->n_post_logout_uris)) != 0)
		goto fail;
	if (drop_secrets &&
	    (r = exec_id(conn, "DELETE FROM client_secrets WHERE client_id = ?",
		 c->client_id)) != 0)
		goto fail;
	return db_commit(conn);
fail:
	db_rollback(conn);
	return r;
}

int
store_client_delete(struct db *db, const char *client_id, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	/* Children first, explicitly: no reliance on ON DELETE CASCADE. */
	if ((r = exec_id(c, "DELETE FROM client_secrets WHERE client_id = ?",
		 client_id)) != 0 ||
	    (r = exec_id(c,
		 "DELETE FROM client_redirect_uris WHERE client_id = ?",
		 client_id)) != 0)
		goto fail;
	if ((r = db_prepare(c,
		 "DELETE FROM clients WHERE client_id = ? RETURNING client_id",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, client_id)) == 0)
		r = db_step(s);
	db_done(s);
	if ((r = row_ok(r)) != 0)
		goto fail;
	if ((r = db_prepare(c,
		 "INSERT INTO deleted_clients (client_id, deleted_at)"
		 " VALUES (?, ?)",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, client_id)) == 0 &&
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

int
store_client_secrets_get(struct db *db, const char *client_id, int64_t now,
    struct store_client_secret out[STORE_CLIENT_SECRETS_MAX], size_t *n)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	*n = 0;
	memset(out, 0, STORE_CLIENT_SECRETS_MAX * sizeof(*out));
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT secret_hash, created_at, expires_at"
		 " FROM client_secrets WHERE client_id = ?"
		 " AND (expires_at IS NULL OR expires_at > ?)"
		 " ORDER BY created_at DESC, secret_hash",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, client_id)) == 0 &&
	    (r = db_bind_int64(s, 2, now)) == 0) {
		while ((r = db_step(s)) == DB_ROW &&
		    *n < STORE_CLIENT_SECRETS_MAX) {
			size_t len;
			const char *h = db_col_text(s, 0, &len);
			struct store_client_secret *o = &out[*n];

			if (h == NULL || len != PC_SHA256_HEX_LEN)
				continue;
			memcpy(o->hash, h, len);
			o->hash[len] = '\0';
			o->created_at = db_col_int64(s, 1);
			o->expires_at =
			    db_col_is_null(s, 2) ? 0 : db_col_int64(s, 2);
			(*n)++;
		}
	}
	db_done(s);
	return r == DB_ROW || r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

int
store_client_secret_rotate(struct db *db, const char *client_id,
    const char *new_hash, int64_t now, int64_t old_expires_at)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "UPDATE clients SET updated_at = ? WHERE client_id = ?"
		 " RETURNING client_id",
		 &s)) != 0)
		goto fail;
	if ((r = db_bind_int64(s, 1, now)) == 0 &&
	    (r = db_bind_cstr(s, 2, client_id)) == 0)
		r = db_step(s);
	db_done(s);
	if ((r = row_ok(r)) != 0)
		goto fail;
	/* At most two rows: the previous overlap secret goes now. */
	if ((r = exec_id(c,
		 "DELETE FROM client_secrets WHERE client_id = ?"
		 " AND expires_at IS NOT NULL",
		 client_id)) != 0)
		goto fail;
	if (old_expires_at <= now)
		r = exec_id(c, "DELETE FROM client_secrets WHERE client_id = ?",
		    client_id);
	else {
		if ((r = db_prepare(c,
			 "UPDATE client_secrets SET expires_at = ?"
			 " WHERE client_id = ? AND expires_at IS NULL",
			 &s)) != 0)
			goto fail;
		if ((r = db_bind_int64(s, 1, old_expires_at)) == 0 &&
		    (r = db_bind_cstr(s, 2, client_id)) == 0)
			r = db_step(s);
		db_done(s);
		r = done_ok(r);
	}
	if (r != 0 || (r = put_secret(c, client_id, new_hash, now)) != 0)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return r;
}
