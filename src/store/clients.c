/*
 * OAuth clients, their redirect URIs and their hashed secrets. Every
 * change is one transaction; a deleted client's id goes to
 * deleted_clients and is refused by every later insert, so an id never
 * names a different client (issue 4). Only SHA-256 hashes of secrets are
 * stored (TK-08). Every write bumps the 'clients' cache version in its
 * transaction (store_versions_clients_tx; decision 0049), so the client
 * caches of every node see it at their next request.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

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
	free(c->service_account_id);
	free(c->kind);
	free(c->owner_id);
	free(c->resources);
	free(c->cors_origins);
	free(c->registration);
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
	" jwks, created_at, updated_at, id_token_on_refresh," \
	" service_account_id, kind, owner_id, resources," \
	" max_delegation_depth, may_delegate, allow_impersonation," \
	" dpop_required, par_required, cors_origins, registration," \
	" disabled_at, require_mfa"

/* The columns of CLIENT_COLS into c. */
#define CLIENT_READ(c) \
	Q_COLS(QC_DUP(&(c)->client_id), QC_DUP(&(c)->name), \
	    QC_BOOL(&(c)->is_public), QC_DUP(&(c)->auth_method), \
	    QC_DUP(&(c)->grant_types), QC_DUP(&(c)->scopes), \
	    QC_DUP(&(c)->id_token_alg), QC_BOOL(&(c)->first_party), \
	    QC_DUP_NULL(&(c)->jwks), QC_INT(&(c)->created_at), \
	    QC_INT(&(c)->updated_at), QC_BOOL(&(c)->id_token_on_refresh), \
	    QC_DUP_NULL(&(c)->service_account_id), QC_DUP(&(c)->kind), \
	    QC_DUP_NULL(&(c)->owner_id), QC_DUP(&(c)->resources), \
	    QC_INT(&(c)->max_delegation_depth), QC_BOOL(&(c)->may_delegate), \
	    QC_BOOL(&(c)->allow_impersonation), QC_BOOL(&(c)->dpop_required), \
	    QC_BOOL(&(c)->par_required), QC_DUP(&(c)->cors_origins), \
	    QC_DUP(&(c)->registration), QC_INT(&(c)->disabled_at), \
	    QC_BOOL(&(c)->require_mfa))

/* The values bound for name .. require_mfa, in this order (kind and
 * registration NULL: their defaults). */
#define CLIENT_META(c) \
	QA_TEXT((c)->name), QA_TEXT((c)->auth_method), \
	    QA_TEXT((c)->grant_types), QA_TEXT((c)->scopes), \
	    QA_TEXT((c)->id_token_alg), QA_INT((c)->first_party ? 1 : 0), \
	    QA_TEXT((c)->jwks), QA_INT((c)->updated_at), \
	    QA_INT((c)->id_token_on_refresh ? 1 : 0), \
	    QA_TEXT((c)->service_account_id), \
	    QA_TEXT((c)->kind != NULL ? (c)->kind : "client"), \
	    QA_TEXT((c)->owner_id), \
	    QA_TEXT((c)->resources != NULL ? (c)->resources : ""), \
	    QA_INT((c)->max_delegation_depth), \
	    QA_INT((c)->may_delegate ? 1 : 0), \
	    QA_INT((c)->allow_impersonation ? 1 : 0), \
	    QA_INT((c)->dpop_required ? 1 : 0), \
	    QA_INT((c)->par_required ? 1 : 0), \
	    QA_TEXT((c)->cors_origins != NULL ? (c)->cors_origins : ""), \
	    QA_TEXT( \
		(c)->registration != NULL ? (c)->registration : "operator"), \
	    QA_INT_IF((c)->disabled_at != 0, (c)->disabled_at), \
	    QA_INT((c)->require_mfa ? 1 : 0)

static int
put_uris(
    struct db_conn *c, const char *id, const char *kind, char **v, size_t n)
{
	int r;

	for (size_t i = 0; i < n; i++)
		if ((r = q_exec(c,
			 "INSERT INTO client_redirect_uris (client_id, kind,"
			 " uri) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			 Q_ARGS(QA_TEXT(id), QA_TEXT(kind), QA_TEXT(v[i])),
			 NULL)) != 0)
			return r;
	return 0;
}

/* Both kinds of a client's URIs, as given (replacing what was there). */
static int
put_all_uris(struct db_conn *conn, const struct store_client *c)
{
	int r;

	if ((r = put_uris(conn, c->client_id, "login", c->redirect_uris,
		 c->n_redirect_uris)) != 0)
		return r;
	return put_uris(conn, c->client_id, "post_logout", c->post_logout_uris,
	    c->n_post_logout_uris);
}

static int
put_secret(struct db_conn *c, const char *id, const char *hash, int64_t now)
{
	return q_exec(c,
	    "INSERT INTO client_secrets (client_id, secret_hash,"
	    " created_at, expires_at) VALUES (?, ?, ?, NULL)",
	    Q_ARGS(QA_TEXT(id), QA_TEXT(hash), QA_INT(now)), NULL);
}

struct insert {
	const struct store_client *c;
	const char *secret_hash;
};

static int
insert_tx(struct db_conn *conn, void *arg)
{
	const struct insert *a = arg;
	const struct store_client *c = a->c;
	int r;

	/* Issue 4: a deleted client's id never names another client. */
	if ((r = store_id_fresh_tx(conn,
		 "SELECT 1 FROM deleted_clients WHERE client_id = ?"
		 " UNION ALL SELECT 1 FROM clients WHERE client_id = ?",
		 c->client_id)) != 0)
		return r;
	if ((r = store_versions_clients_tx(conn)) != 0)
		return r;
	if ((r = q_exec(conn,
		 "INSERT INTO clients (client_id, is_public, created_at,"
		 " name, token_endpoint_auth_method, grant_types, scopes,"
		 " id_token_signed_response_alg, first_party, jwks,"
		 " updated_at, id_token_on_refresh, service_account_id,"
		 " kind, owner_id, resources, max_delegation_depth,"
		 " may_delegate, allow_impersonation, dpop_required,"
		 " par_required, cors_origins, registration, disabled_at,"
		 " require_mfa)"
		 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
		 " ?, ?, ?, ?, ?, ?, ?, ?)",
		 Q_ARGS(QA_TEXT(c->client_id), QA_INT(c->is_public ? 1 : 0),
		     QA_INT(c->created_at), CLIENT_META(c)),
		 NULL)) != 0 ||
	    (r = put_all_uris(conn, c)) != 0)
		return r;
	if (a->secret_hash != NULL)
		return put_secret(
		    conn, c->client_id, a->secret_hash, c->created_at);
	return 0;
}

int
store_client_insert(
    struct db *db, const struct store_client *c, const char *secret_hash)
{
	struct insert a = { c, secret_hash };

	return store_tx(db, insert_tx, &a);
}

struct uris {
	struct store_client *c;
	size_t cap_login, cap_post;
};

static int
uri_row(struct db_stmt *s, void *arg)
{
	struct uris *u = arg;
	struct store_client *c = u->c;
	char kind[8];
	char **p;

	q_read(s, Q_COLS(QC_FIXED(kind)));
	if (strcmp(kind, "login") == 0)
		p = Q_GROW(c->redirect_uris, c->n_redirect_uris, u->cap_login);
	else
		p = Q_GROW(
		    c->post_logout_uris, c->n_post_logout_uris, u->cap_post);
	*p = db_col_dup(s, 1);
	return 0;
}

static int
read_uris(struct db *db, struct store_client *c)
{
	struct uris u = { c, 0, 0 };

	return store_all(db,
	    "SELECT kind, uri FROM client_redirect_uris"
	    " WHERE client_id = ? ORDER BY kind, uri",
	    Q_ARGS(QA_TEXT(c->client_id)), uri_row, &u);
}

int
store_client_get(struct db *db, const char *client_id, struct store_client *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = store_one(db,
		 "SELECT " CLIENT_COLS " FROM clients WHERE client_id = ?",
		 Q_ARGS(QA_TEXT(client_id)), CLIENT_READ(out))) != 0)
		return r;
	if ((r = read_uris(db, out)) != 0)
		store_client_clear(out);
	return r;
}

struct client_list {
	struct store_client *v;
	size_t len, cap;
};

static int
list_row(struct db_stmt *s, void *arg)
{
	struct client_list *l = arg;
	struct store_client *c = Q_GROW(l->v, l->len, l->cap);

	q_read(s, CLIENT_READ(c));
	return 0;
}

int
store_clients_list(struct db *db, struct store_client **out, size_t *n)
{
	struct client_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT " CLIENT_COLS
	    " FROM clients ORDER BY created_at, client_id",
	    Q_NOARGS, list_row, &l);
	/* After the cursor is closed: one statement at a time per address. */
	for (size_t i = 0; r == 0 && i < l.len; i++)
		r = read_uris(db, &l.v[i]);
	if (r != 0) {
		store_clients_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

struct update {
	const struct store_client *c;
	bool drop_secrets;
};

static int
update_tx(struct db_conn *conn, void *arg)
{
	const struct update *a = arg;
	const struct store_client *c = a->c;
	int r;

	if ((r = store_versions_clients_tx(conn)) != 0)
		return r;
	if ((r = q_one(conn,
		 "UPDATE clients SET name = ?, token_endpoint_auth_method = ?,"
		 " grant_types = ?, scopes = ?,"
		 " id_token_signed_response_alg = ?, first_party = ?,"
		 " jwks = ?, updated_at = ?, id_token_on_refresh = ?,"
		 " service_account_id = ?, kind = ?, owner_id = ?,"
		 " resources = ?, max_delegation_depth = ?, may_delegate = ?,"
		 " allow_impersonation = ?, dpop_required = ?,"
		 " par_required = ?, cors_origins = ?, registration = ?,"
		 " disabled_at = ?, require_mfa = ? WHERE client_id = ?"
		 " RETURNING client_id",
		 Q_ARGS(CLIENT_META(c), QA_TEXT(c->client_id)), Q_NOCOLS)) != 0)
		return r;
	if ((r = q_exec(conn,
		 "DELETE FROM client_redirect_uris WHERE client_id = ?",
		 Q_ARGS(QA_TEXT(c->client_id)), NULL)) != 0 ||
	    (r = put_all_uris(conn, c)) != 0)
		return r;
	if (a->drop_secrets)
		return q_exec(conn,
		    "DELETE FROM client_secrets WHERE client_id = ?",
		    Q_ARGS(QA_TEXT(c->client_id)), NULL);
	return 0;
}

int
store_client_update(
    struct db *db, const struct store_client *c, bool drop_secrets)
{
	struct update a = { c, drop_secrets };

	return store_tx(db, update_tx, &a);
}

struct delete
{
	const char *client_id;
	int64_t now;
};

static int
delete_tx(struct db_conn *c, void *arg)
{
	const struct delete *a = arg;
	int r;

	if ((r = store_versions_clients_tx(c)) != 0)
		return r;
	/* Children first, explicitly: no reliance on ON DELETE CASCADE. */
	if ((r = q_exec(c, "DELETE FROM client_secrets WHERE client_id = ?",
		 Q_ARGS(QA_TEXT(a->client_id)), NULL)) != 0 ||
	    (r = q_exec(c,
		 "DELETE FROM client_redirect_uris WHERE client_id = ?",
		 Q_ARGS(QA_TEXT(a->client_id)), NULL)) != 0 ||
	    (r = q_one(c,
		 "DELETE FROM clients WHERE client_id = ? RETURNING client_id",
		 Q_ARGS(QA_TEXT(a->client_id)), Q_NOCOLS)) != 0)
		return r;
	return q_exec(c,
	    "INSERT INTO deleted_clients (client_id, deleted_at) VALUES (?, ?)",
	    Q_ARGS(QA_TEXT(a->client_id), QA_INT(a->now)), NULL);
}

int
store_client_delete(struct db *db, const char *client_id, int64_t now)
{
	struct delete a = { client_id, now };

	return store_tx(db, delete_tx, &a);
}

struct secrets {
	struct store_client_secret *out;
	size_t *n;
};

static int
secret_row(struct db_stmt *s, void *arg)
{
	struct secrets *a = arg;
	struct store_client_secret *o;

	/* Rows past the most the caller takes are not read. */
	if (*a->n >= STORE_CLIENT_SECRETS_MAX)
		return 0;
	o = &a->out[*a->n];
	q_read(s,
	    Q_COLS(QC_EXACT(o->hash), QC_INT(&o->created_at),
		QC_INT(&o->expires_at)));
	/* A hash not of its exact length is no secret to check against. */
	if (o->hash[0] == '\0')
		memset(o, 0, sizeof(*o));
	else
		(*a->n)++;
	return 0;
}

int
store_client_secrets_get(struct db *db, const char *client_id, int64_t now,
    struct store_client_secret out[STORE_CLIENT_SECRETS_MAX], size_t *n)
{
	struct secrets a = { out, n };

	*n = 0;
	memset(out, 0, STORE_CLIENT_SECRETS_MAX * sizeof(*out));
	return store_all(db,
	    "SELECT secret_hash, created_at, expires_at"
	    " FROM client_secrets WHERE client_id = ?"
	    " AND (expires_at IS NULL OR expires_at > ?)"
	    " ORDER BY created_at DESC, secret_hash",
	    Q_ARGS(QA_TEXT(client_id), QA_INT(now)), secret_row, &a);
}

struct rotate {
	const char *client_id, *new_hash;
	int64_t now, old_expires_at;
};

static int
rotate_tx(struct db_conn *c, void *arg)
{
	const struct rotate *a = arg;
	int r;

	if ((r = store_versions_clients_tx(c)) != 0)
		return r;
	if ((r = q_one(c,
		 "UPDATE clients SET updated_at = ? WHERE client_id = ?"
		 " RETURNING client_id",
		 Q_ARGS(QA_INT(a->now), QA_TEXT(a->client_id)), Q_NOCOLS)) != 0)
		return r;
	/* At most two rows: the previous overlap secret goes now. */
	if ((r = q_exec(c,
		 "DELETE FROM client_secrets WHERE client_id = ?"
		 " AND expires_at IS NOT NULL",
		 Q_ARGS(QA_TEXT(a->client_id)), NULL)) != 0)
		return r;
	if (a->old_expires_at <= a->now)
		r = q_exec(c, "DELETE FROM client_secrets WHERE client_id = ?",
		    Q_ARGS(QA_TEXT(a->client_id)), NULL);
	else
		r = q_exec(c,
		    "UPDATE client_secrets SET expires_at = ?"
		    " WHERE client_id = ? AND expires_at IS NULL",
		    Q_ARGS(QA_INT(a->old_expires_at), QA_TEXT(a->client_id)),
		    NULL);
	if (r != 0)
		return r;
	return put_secret(c, a->client_id, a->new_hash, a->now);
}

int
store_client_secret_rotate(struct db *db, const char *client_id,
    const char *new_hash, int64_t now, int64_t old_expires_at)
{
	struct rotate a = { client_id, new_hash, now, old_expires_at };

	return store_tx(db, rotate_tx, &a);
}

/* The bodies above inside a caller's transaction (store/registrations.c). */
int
store_client_insert_tx(
    struct db_conn *conn, const struct store_client *c, const char *secret_hash)
{
	struct insert a = { c, secret_hash };

	return insert_tx(conn, &a);
}

int
store_client_update_tx(
    struct db_conn *conn, const struct store_client *c, bool drop_secrets)
{
	struct update a = { c, drop_secrets };

	return update_tx(conn, &a);
}

int
store_client_delete_tx(struct db_conn *conn, const char *client_id, int64_t now)
{
	struct delete a = { client_id, now };

	return delete_tx(conn, &a);
}
