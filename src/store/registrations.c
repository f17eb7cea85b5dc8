/*
 * Clients that register themselves, in the store (migration 0030; issue
 * 15 item 6; decision 0063): initial access tokens and their caps,
 * registration access tokens (RFC 7592), metadata-document clients and
 * the purge of unused self-registered clients (SECURITY.md CR-01, CR-03,
 * CR-07).
 *
 * Every write that touches a client goes through clients.c's transaction
 * bodies (store_client_*_tx), so the 'clients' cache version moves with
 * it (decision 0049). A cap is counted in the transaction that inserts
 * the client ("used + 1 WHERE used < max" on the locked row), so two
 * registrations with one token cannot both take its last use; a
 * registration access token is replaced only while the old one is still
 * current, so two updates with one token succeed once.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

/* What a transaction returns to roll back a refusal (not a failure). */
#define REFUSED PC_ERR_PERM

void
store_initial_tokens_free(struct store_initial_token *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].token_id);
		free(v[i].label);
	}
	free(v);
}

int
store_initial_token_insert(
    struct db *db, const struct store_initial_token *t, const char *token_hash)
{
	int r = store_exec(db,
	    "INSERT INTO client_initial_tokens (token_id, token_hash, label,"
	    " max_clients, used_clients, created_at, expires_at)"
	    " VALUES (?, ?, ?, ?, 0, ?, ?)",
	    Q_ARGS(QA_TEXT(t->token_id), QA_TEXT(token_hash), QA_TEXT(t->label),
		QA_INT(t->max_clients), QA_INT(t->created_at),
		QA_INT(t->expires_at)),
	    NULL);

	return r;
}

struct token_list {
	struct store_initial_token *v;
	size_t len, cap;
};

static int
token_row(struct db_stmt *s, void *arg)
{
	struct token_list *l = arg;
	struct store_initial_token *t = Q_GROW(l->v, l->len, l->cap);

	q_read(s,
	    Q_COLS(QC_DUP(&t->token_id), QC_DUP(&t->label),
		QC_INT(&t->max_clients), QC_INT(&t->used_clients),
		QC_INT(&t->created_at), QC_INT(&t->expires_at),
		QC_INT(&t->revoked_at)));
	return 0;
}

int
store_initial_tokens_list(
    struct db *db, struct store_initial_token **out, size_t *n)
{
	struct token_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT token_id, label, max_clients, used_clients, created_at,"
	    " expires_at, revoked_at FROM client_initial_tokens"
	    " ORDER BY created_at DESC, token_id",
	    Q_NOARGS, token_row, &l);
	if (r != 0) {
		store_initial_tokens_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

int
store_initial_token_revoke(struct db *db, const char *token_id, int64_t now)
{
	int64_t rows = 0;
	int r = store_exec(db,
	    "UPDATE client_initial_tokens SET revoked_at = ?"
	    " WHERE token_id = ? AND revoked_at IS NULL RETURNING 1",
	    Q_ARGS(QA_INT(now), QA_TEXT(token_id)), &rows);

	if (r != 0)
		return r;
	return rows == 1 ? 0 : PC_ERR_NOT_FOUND;
}

int
store_initial_token_usable(struct db *db, const char *token_hash, int64_t now)
{
	return store_one(db,
	    "SELECT 1 FROM client_initial_tokens WHERE token_hash = ?"
	    " AND revoked_at IS NULL AND expires_at > ?"
	    " AND used_clients < max_clients",
	    Q_ARGS(QA_TEXT(token_hash), QA_INT(now)), Q_NOCOLS);
}

struct reg {
	const struct store_client *c;
	const char *secret_hash, *initial_hash, *access_hash, *old_hash;
	bool drop_secrets;
	int64_t now;
	bool refused;
};

static int
register_tx(struct db_conn *conn, void *arg)
{
	struct reg *a = arg;
	char *token_id = NULL;
	int r;

	if (a->initial_hash != NULL) {
		/* CR-07: one use of the token, counted before the insert. */
		r = q_one(conn,
		    "UPDATE client_initial_tokens"
		    " SET used_clients = used_clients + 1"
		    " WHERE token_hash = ? AND revoked_at IS NULL"
		    " AND expires_at > ? AND used_clients < max_clients"
		    " RETURNING token_id",
		    Q_ARGS(QA_TEXT(a->initial_hash), QA_INT(a->now)),
		    Q_COLS(QC_DUP(&token_id)));
		if (r == PC_ERR_NOT_FOUND) {
			a->refused = true;
			return REFUSED;
		}
		if (r != 0)
			return r;
	}
	if ((r = store_client_insert_tx(conn, a->c, a->secret_hash)) == 0)
		r = q_exec(conn,
		    "INSERT INTO client_registrations (client_id,"
		    " access_token_hash, initial_token_id, created_at,"
		    " updated_at) VALUES (?, ?, ?, ?, ?)",
		    Q_ARGS(QA_TEXT(a->c->client_id), QA_TEXT(a->access_hash),
			QA_TEXT(token_id), QA_INT(a->now), QA_INT(a->now)),
		    NULL);
	free(token_id);
	return r;
}

int
store_client_register(struct db *db, const struct store_client *c,
    const char *secret_hash, const char *initial_hash, const char *access_hash,
    int64_t now)
{
	struct reg a = { .c = c,
		.secret_hash = secret_hash,
		.initial_hash = initial_hash,
		.access_hash = access_hash,
		.now = now };
	int r = store_tx(db, register_tx, &a);

	return a.refused ? PC_ERR_PERM : r;
}

int
store_registration_hash(
    struct db *db, const char *client_id, char hash[PC_SHA256_HEX_LEN + 1])
{
	char h[PC_SHA256_HEX_LEN + 1] = "";
	int r;

	hash[0] = '\0';
	r = store_one(db,
	    "SELECT access_token_hash FROM client_registrations"
	    " WHERE client_id = ?",
	    Q_ARGS(QA_TEXT(client_id)), Q_COLS(QC_EXACT(h)));
	if (r == 0 && h[0] == '\0')
		r = PC_ERR_NOT_FOUND; /* not a hash: no token matches it */
	if (r == 0)
		memcpy(hash, h, sizeof(h));
	return r;
}

/* The registration row moves from old_hash to new_hash (NULL: deleted). */
static int
take_token(struct db_conn *conn, struct reg *a)
{
	int r;

	if (a->access_hash != NULL)
		r = q_one(conn,
		    "UPDATE client_registrations SET access_token_hash = ?,"
		    " updated_at = ? WHERE client_id = ?"
		    " AND access_token_hash = ? RETURNING client_id",
		    Q_ARGS(QA_TEXT(a->access_hash), QA_INT(a->now),
			QA_TEXT(a->c->client_id), QA_TEXT(a->old_hash)),
		    Q_NOCOLS);
	else
		r = q_one(conn,
		    "DELETE FROM client_registrations WHERE client_id = ?"
		    " AND access_token_hash = ? RETURNING client_id",
		    Q_ARGS(QA_TEXT(a->c->client_id), QA_TEXT(a->old_hash)),
		    Q_NOCOLS);
	if (r == PC_ERR_NOT_FOUND)
		a->refused = true;
	return r;
}

static int
update_tx(struct db_conn *conn, void *arg)
{
	struct reg *a = arg;
	int r;

	if ((r = take_token(conn, a)) != 0)
		return r;
	return store_client_update_tx(conn, a->c, a->drop_secrets);
}

int
store_client_register_update(struct db *db, const struct store_client *c,
    bool drop_secrets, const char *old_hash, const char *new_hash, int64_t now)
{
	struct reg a = { .c = c,
		.access_hash = new_hash,
		.old_hash = old_hash,
		.drop_secrets = drop_secrets,
		.now = now };
	int r;

	if (new_hash == NULL)
		return PC_ERR_INVALID;
	r = store_tx(db, update_tx, &a);
	return a.refused ? PC_ERR_NOT_FOUND : r;
}

static int
delete_tx(struct db_conn *conn, void *arg)
{
	struct reg *a = arg;
	int r;

	if ((r = take_token(conn, a)) != 0)
		return r;
	return store_client_delete_tx(conn, a->c->client_id, a->now);
}

int
store_client_register_delete(
    struct db *db, const char *client_id, const char *old_hash, int64_t now)
{
	struct store_client c = { .client_id = (char *)client_id };
	struct reg a = { .c = &c, .old_hash = old_hash, .now = now };
	int r = store_tx(db, delete_tx, &a);

	return a.refused ? PC_ERR_NOT_FOUND : r;
}

static int
metadata_tx(struct db_conn *conn, void *arg)
{
	const struct store_client *c = arg;
	char *reg = NULL;
	int r;

	r = q_one(conn, "SELECT registration FROM clients WHERE client_id = ?",
	    Q_ARGS(QA_TEXT(c->client_id)), Q_COLS(QC_DUP(&reg)));
	if (r == PC_ERR_NOT_FOUND)
		return store_client_insert_tx(conn, c, NULL);
	if (r == 0 && strcmp(reg, "metadata") != 0)
		r = PC_ERR_CONFLICT;
	free(reg);
	if (r != 0)
		return r;
	return store_client_update_tx(conn, c, true);
}

int
store_client_metadata_put(struct db *db, const struct store_client *c)
{
	if (c->registration == NULL || strcmp(c->registration, "metadata") != 0)
		return PC_ERR_INVALID;
	return store_tx(db, metadata_tx, (void *)c);
}

struct purge {
	int64_t before, now, n;
};

/* A self-registered client with no token family: never used. */
#define UNUSED \
	" created_at < ? AND NOT EXISTS (SELECT 1 FROM token_families f" \
	" WHERE f.client_id = clients.client_id)"

static int
purge_tx(struct db_conn *conn, void *arg)
{
	struct purge *a = arg;
	int r;

	/* Issue 4: a dynamic client's id never names another client. A
	 * metadata client's id is its URL: it may come back, as itself. */
	if ((r = q_exec(conn,
		 "INSERT INTO deleted_clients (client_id, deleted_at)"
		 " SELECT client_id, ? FROM clients"
		 " WHERE registration = 'dynamic' AND" UNUSED
		 " ON CONFLICT DO NOTHING",
		 Q_ARGS(QA_INT(a->now), QA_INT(a->before)), NULL)) != 0 ||
	    (r = q_exec(conn,
		 "DELETE FROM clients"
		 " WHERE registration IN ('dynamic', 'metadata') AND" UNUSED
		 " RETURNING 1",
		 Q_ARGS(QA_INT(a->before)), &a->n)) != 0)
		return r;
	/* Only a purge that deleted something moves the caches. */
	return a->n > 0 ? store_versions_clients_tx(conn) : 0;
}

int
store_registered_clients_purge(
    struct db *db, int64_t created_before, int64_t now, int64_t *deleted)
{
	struct purge a = { created_before, now, 0 };
	int r = store_tx(db, purge_tx, &a);

	if (deleted != NULL)
		*deleted = r == 0 ? a.n : 0;
	return r;
}
