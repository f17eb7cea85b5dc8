/*
 * Service accounts (migration 0022; issue 14): principals that are not
 * people. Every change is one transaction; a deleted account's id goes to
 * deleted_service_accounts and is refused by every later insert, so a
 * token's sub never names a different account. Deleting an account takes
 * its group memberships and the clients bound to it along in the same
 * transaction (SS-08 for machines: no credential outlives its principal).
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

void
store_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
store_service_account_clear(struct store_service_account *sa)
{
	free(sa->id);
	free(sa->name);
	free(sa->description);
	free(sa->owner_id);
	free(sa->scopes);
	free(sa->resources);
	memset(sa, 0, sizeof(*sa));
}

void
store_service_accounts_free(struct store_service_account *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_service_account_clear(&v[i]);
	free(v);
}

#define SA_COLS \
	"id, name, description, owner_id, scopes, resources, expires_at," \
	" disabled_at, tokens_revoked_at, created_at, updated_at"

/* The columns of SA_COLS into sa (SQL NULL times read as 0). */
#define SA_READ(sa) \
	Q_COLS(QC_DUP(&(sa)->id), QC_DUP(&(sa)->name), \
	    QC_DUP(&(sa)->description), QC_DUP_NULL(&(sa)->owner_id), \
	    QC_DUP(&(sa)->scopes), QC_DUP(&(sa)->resources), \
	    QC_INT(&(sa)->expires_at), QC_INT(&(sa)->disabled_at), \
	    QC_INT(&(sa)->tokens_revoked_at), QC_INT(&(sa)->created_at), \
	    QC_INT(&(sa)->updated_at))

/* The values bound for name .. updated_at (not id, created_at). */
#define SA_META(sa) \
	QA_TEXT((sa)->name), \
	    QA_TEXT((sa)->description != NULL ? (sa)->description : ""), \
	    QA_TEXT((sa)->owner_id), \
	    QA_TEXT((sa)->scopes != NULL ? (sa)->scopes : ""), \
	    QA_TEXT((sa)->resources != NULL ? (sa)->resources : ""), \
	    QA_INT_IF((sa)->expires_at != 0, (sa)->expires_at), \
	    QA_INT((sa)->updated_at)

static int
insert_tx(struct db_conn *c, void *arg)
{
	const struct store_service_account *sa = arg;
	int r;

	/* An id never comes back, even for the same name. */
	if ((r = store_id_fresh_tx(c,
		 "SELECT 1 FROM deleted_service_accounts WHERE id = ?"
		 " UNION ALL SELECT 1 FROM service_accounts WHERE id = ?",
		 sa->id)) != 0)
		return r;
	return q_exec(c,
	    "INSERT INTO service_accounts (id, created_at, disabled_at, name,"
	    " description, owner_id, scopes, resources, expires_at,"
	    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(sa->id), QA_INT(sa->created_at),
		QA_INT_IF(sa->disabled_at != 0, sa->disabled_at), SA_META(sa)),
	    NULL);
}

int
store_service_account_insert(
    struct db *db, const struct store_service_account *sa)
{
	return store_tx(db, insert_tx, (void *)sa);
}

int
store_service_account_get(
    struct db *db, const char *id, struct store_service_account *out)
{
	memset(out, 0, sizeof(*out));
	return store_one(db,
	    "SELECT " SA_COLS " FROM service_accounts WHERE id = ?",
	    Q_ARGS(QA_TEXT(id)), SA_READ(out));
}

struct sa_list {
	struct store_service_account *v;
	size_t len, cap;
};

static int
list_row(struct db_stmt *s, void *arg)
{
	struct sa_list *l = arg;
	struct store_service_account *sa = Q_GROW(l->v, l->len, l->cap);

	q_read(s, SA_READ(sa));
	return 0;
}

int
store_service_accounts_list(
    struct db *db, struct store_service_account **out, size_t *n)
{
	struct sa_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT " SA_COLS " FROM service_accounts ORDER BY created_at, id",
	    Q_NOARGS, list_row, &l);
	if (r != 0) {
		store_service_accounts_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

static int
update_tx(struct db_conn *c, void *arg)
{
	const struct store_service_account *sa = arg;

	return q_one(c,
	    "UPDATE service_accounts SET name = ?, description = ?,"
	    " owner_id = ?, scopes = ?, resources = ?, expires_at = ?,"
	    " updated_at = ? WHERE id = ? RETURNING id",
	    Q_ARGS(SA_META(sa), QA_TEXT(sa->id)), Q_NOCOLS);
}

int
store_service_account_update(
    struct db *db, const struct store_service_account *sa)
{
	return store_tx(db, update_tx, (void *)sa);
}

struct disable {
	const char *id;
	int64_t disabled_at, now;
};

static int
disable_tx(struct db_conn *c, void *arg)
{
	const struct disable *a = arg;
	int r;

	if (a->disabled_at == 0)
		return q_one(c,
		    "UPDATE service_accounts SET disabled_at = NULL,"
		    " updated_at = ? WHERE id = ? RETURNING id",
		    Q_ARGS(QA_INT(a->now), QA_TEXT(a->id)), Q_NOCOLS);
	if ((r = q_one(c,
		 "UPDATE service_accounts SET disabled_at = ?,"
		 " tokens_revoked_at = ?, updated_at = ? WHERE id = ?"
		 " RETURNING id",
		 Q_ARGS(QA_INT(a->disabled_at), QA_INT(a->disabled_at),
		     QA_INT(a->now), QA_TEXT(a->id)),
		 Q_NOCOLS)) != 0)
		return r;
	/* Its API keys are revoked, not paused: a leak is the usual reason
	 * to disable, and enabling must not give the keys back. */
	return store_api_keys_revoke_owner_tx(
	    c, a->id, a->disabled_at, "owner disabled");
}

int
store_service_account_set_disabled(
    struct db *db, const char *id, int64_t disabled_at, int64_t now)
{
	struct disable a = { id, disabled_at, now };

	return store_tx(db, disable_tx, &a);
}

int
store_service_account_state(
    struct db *db, const char *id, struct store_sa_state *out)
{
	memset(out, 0, sizeof(*out));
	return store_one(db,
	    "SELECT expires_at, disabled_at, tokens_revoked_at"
	    " FROM service_accounts WHERE id = ?",
	    Q_ARGS(QA_TEXT(id)),
	    Q_COLS(QC_INT(&out->expires_at), QC_INT(&out->disabled_at),
		QC_INT(&out->tokens_revoked_at)));
}

struct strv {
	char **v;
	size_t len, cap;
};

static int
strv_row(struct db_stmt *s, void *arg)
{
	struct strv *l = arg;
	char **p = Q_GROW(l->v, l->len, l->cap);

	*p = db_col_dup(s, 0);
	return 0;
}

static const char bound_clients_sql[] =
    "SELECT client_id FROM clients WHERE service_account_id = ?"
    " ORDER BY created_at, client_id";

int
store_service_account_clients(
    struct db *db, const char *id, char ***out, size_t *n)
{
	struct strv l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db, bound_clients_sql, Q_ARGS(QA_TEXT(id)), strv_row, &l);
	if (r != 0) {
		store_strv_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

struct delete
{
	const char *id;
	int64_t now;
	struct strv clients;
};

/* A bound client goes like `client delete` takes it: tombstoned. */
static int
delete_client_tx(struct db_conn *c, const char *client_id, int64_t now)
{
	int r;

	if ((r = q_exec(c, "DELETE FROM client_secrets WHERE client_id = ?",
		 Q_ARGS(QA_TEXT(client_id)), NULL)) != 0 ||
	    (r = q_exec(c,
		 "DELETE FROM client_redirect_uris WHERE client_id = ?",
		 Q_ARGS(QA_TEXT(client_id)), NULL)) != 0 ||
	    (r = q_exec(c, "DELETE FROM clients WHERE client_id = ?",
		 Q_ARGS(QA_TEXT(client_id)), NULL)) != 0)
		return r;
	return q_exec(c,
	    "INSERT INTO deleted_clients (client_id, deleted_at) VALUES (?, ?)",
	    Q_ARGS(QA_TEXT(client_id), QA_INT(now)), NULL);
}

static int
delete_tx(struct db_conn *c, void *arg)
{
	struct delete *a = arg;
	int r;

	/* A retried transaction starts from nothing. */
	store_strv_free(a->clients.v, a->clients.len);
	memset(&a->clients, 0, sizeof(a->clients));
	if ((r = q_one(c, "SELECT 1 FROM service_accounts WHERE id = ?",
		 Q_ARGS(QA_TEXT(a->id)), Q_NOCOLS)) != 0)
		return r;
	if ((r = q_all(c, bound_clients_sql, Q_ARGS(QA_TEXT(a->id)), strv_row,
		 &a->clients)) != 0)
		return r;
	if (a->clients.len > 0 && (r = store_versions_clients_tx(c)) != 0)
		return r;
	for (size_t i = 0; i < a->clients.len; i++)
		if ((r = delete_client_tx(c, a->clients.v[i], a->now)) != 0)
			return r;
	if ((r = q_exec(c, "DELETE FROM group_members WHERE member_id = ?",
		 Q_ARGS(QA_TEXT(a->id)), NULL)) != 0 ||
	    (r = q_exec(c, "DELETE FROM service_accounts WHERE id = ?",
		 Q_ARGS(QA_TEXT(a->id)), NULL)) != 0)
		return r;
	return q_exec(c,
	    "INSERT INTO deleted_service_accounts (id, deleted_at)"
	    " VALUES (?, ?)",
	    Q_ARGS(QA_TEXT(a->id), QA_INT(a->now)), NULL);
}

int
store_service_account_delete(struct db *db, const char *id, int64_t now,
    char ***clients, size_t *n_clients)
{
	struct delete a = { id, now, { 0 } };
	int r;

	if (clients != NULL)
		*clients = NULL;
	if (n_clients != NULL)
		*n_clients = 0;
	r = store_tx(db, delete_tx, &a);
	if (r != 0 || clients == NULL || n_clients == NULL) {
		store_strv_free(a.clients.v, a.clients.len);
		return r;
	}
	*clients = a.clients.v;
	*n_clients = a.clients.len;
	return 0;
}
