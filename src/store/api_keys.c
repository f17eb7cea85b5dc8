/*
 * API keys (migration 0024; SECURITY.md AK-01..08): the rows behind
 * src/machine/apikey.c. Only the key id and the SHA-256 of the secret are
 * kept. Revocation and rotation are conditional updates, so two nodes
 * (or two operators) racing on one key change it once; a use is recorded
 * at most once per interval (store_api_key_touch), so a busy key does
 * not cost a store write per request.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

void
store_api_key_clear(struct store_api_key *k)
{
	free(k->owner_id);
	free(k->name);
	free(k->scopes);
	free(k->resource_id);
	free(k->revoke_reason);
	free(k->last_used_ip);
	memset(k, 0, sizeof(*k));
}

void
store_api_keys_free(struct store_api_key *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_api_key_clear(&v[i]);
	free(v);
}

#define KEY_COLS \
	"key_id, kind, owner_id, secret_hash, name, scopes, resource_id," \
	" created_at, expires_at, revoked_at, revoke_reason," \
	" replaced_by, last_used_at, last_used_ip"

/* The columns of KEY_COLS into k (SQL NULL integers read as 0). */
#define KEY_READ(k) \
	Q_COLS(QC_FIXED((k)->key_id), QC_FIXED((k)->kind), \
	    QC_DUP(&(k)->owner_id), QC_FIXED((k)->secret_hash), \
	    QC_DUP(&(k)->name), QC_DUP(&(k)->scopes), \
	    QC_DUP_NULL(&(k)->resource_id), QC_INT(&(k)->created_at), \
	    QC_INT(&(k)->expires_at), QC_INT(&(k)->revoked_at), \
	    QC_DUP_NULL(&(k)->revoke_reason), QC_FIXED((k)->replaced_by), \
	    QC_INT(&(k)->last_used_at), QC_DUP_NULL(&(k)->last_used_ip))

static int
insert_conn(struct db_conn *c, const struct store_api_key *k)
{
	return q_exec(c,
	    "INSERT INTO api_keys (key_id, kind, owner_id, secret_hash,"
	    " name, scopes, resource_id, created_at, expires_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(k->key_id), QA_TEXT(k->kind), QA_TEXT(k->owner_id),
		QA_TEXT(k->secret_hash),
		QA_TEXT(k->name != NULL ? k->name : ""),
		QA_TEXT(k->scopes != NULL ? k->scopes : ""),
		QA_TEXT(k->resource_id), QA_INT(k->created_at),
		QA_INT(k->expires_at)),
	    NULL);
}

struct insert {
	const struct store_api_key *k;
};

static int
insert_tx(struct db_conn *c, void *arg)
{
	const struct store_api_key *k = ((const struct insert *)arg)->k;
	int r;

	r = q_one(c, "SELECT 1 FROM api_keys WHERE key_id = ?",
	    Q_ARGS(QA_TEXT(k->key_id)), Q_NOCOLS);
	if (r == 0)
		return PC_ERR_CONFLICT;
	if (r != PC_ERR_NOT_FOUND)
		return r;
	return insert_conn(c, k);
}

int
store_api_key_insert(struct db *db, const struct store_api_key *k)
{
	struct insert a = { k };

	return store_tx(db, insert_tx, &a);
}

int
store_api_key_get(struct db *db, const char *key_id, struct store_api_key *out)
{
	memset(out, 0, sizeof(*out));
	return store_one(db,
	    "SELECT " KEY_COLS " FROM api_keys WHERE key_id = ?",
	    Q_ARGS(QA_TEXT(key_id)), KEY_READ(out));
}

struct key_list {
	struct store_api_key *v;
	size_t len, cap;
};

static int
list_row(struct db_stmt *s, void *arg)
{
	struct key_list *l = arg;
	struct store_api_key *k = Q_GROW(l->v, l->len, l->cap);

	q_read(s, KEY_READ(k));
	return 0;
}

int
store_api_keys_list(
    struct db *db, const char *owner_id, struct store_api_key **out, size_t *n)
{
	struct key_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	if (owner_id != NULL)
		r = store_all(db,
		    "SELECT " KEY_COLS " FROM api_keys WHERE owner_id = ?"
		    " ORDER BY created_at DESC, key_id",
		    Q_ARGS(QA_TEXT(owner_id)), list_row, &l);
	else
		r = store_all(db,
		    "SELECT " KEY_COLS " FROM api_keys"
		    " ORDER BY created_at DESC, key_id",
		    Q_NOARGS, list_row, &l);
	if (r != 0) {
		store_api_keys_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

int
store_api_key_revoke(struct db *db, const char *key_id, int64_t now,
    const char *reason, bool *changed)
{
	int64_t rows = 0;
	int r;

	*changed = false;
	r = store_exec(db,
	    "UPDATE api_keys SET revoked_at = ?, revoke_reason = ?"
	    " WHERE key_id = ? AND revoked_at IS NULL RETURNING 1",
	    Q_ARGS(QA_INT(now), QA_TEXT(reason), QA_TEXT(key_id)), &rows);
	if (r == 0)
		*changed = rows > 0;
	return r;
}

int
store_api_keys_revoke_owner_tx(
    struct db_conn *c, const char *owner_id, int64_t now, const char *reason)
{
	return q_exec(c,
	    "UPDATE api_keys SET revoked_at = ?, revoke_reason = ?"
	    " WHERE owner_id = ? AND revoked_at IS NULL",
	    Q_ARGS(QA_INT(now), QA_TEXT(reason), QA_TEXT(owner_id)), NULL);
}

int
store_api_keys_revoke_owner(struct db *db, const char *owner_id, int64_t now,
    const char *reason, int64_t *n)
{
	return store_exec(db,
	    "UPDATE api_keys SET revoked_at = ?, revoke_reason = ?"
	    " WHERE owner_id = ? AND revoked_at IS NULL RETURNING 1",
	    Q_ARGS(QA_INT(now), QA_TEXT(reason), QA_TEXT(owner_id)), n);
}

struct rotate {
	const char *old_id;
	int64_t old_expires_at;
	const struct store_api_key *successor;
};

static int
rotate_tx(struct db_conn *c, void *arg)
{
	const struct rotate *a = arg;
	struct insert ins;
	int64_t rows = 0;
	int r;

	/* The old key first: the conditional update is the check, so two
	 * rotations of one key cannot both issue a successor. */
	r = q_exec(c,
	    "UPDATE api_keys SET replaced_by = ?,"
	    " expires_at = CASE WHEN expires_at < ? THEN expires_at"
	    " ELSE ? END"
	    " WHERE key_id = ? AND revoked_at IS NULL"
	    " AND replaced_by IS NULL RETURNING 1",
	    Q_ARGS(QA_TEXT(a->successor->key_id), QA_INT(a->old_expires_at),
		QA_INT(a->old_expires_at), QA_TEXT(a->old_id)),
	    &rows);
	if (r != 0)
		return r;
	if (rows == 0)
		return PC_ERR_NOT_FOUND;
	ins.k = a->successor;
	return insert_tx(c, &ins);
}

int
store_api_key_rotate(struct db *db, const char *old_id, int64_t old_expires_at,
    const struct store_api_key *successor)
{
	struct rotate a = { old_id, old_expires_at, successor };

	return store_tx(db, rotate_tx, &a);
}

int
store_api_key_touch(struct db *db, const char *key_id, int64_t now,
    const char *ip, int64_t min_interval, bool *written)
{
	int64_t rows = 0;
	int r;

	*written = false;
	r = store_exec(db,
	    "UPDATE api_keys SET last_used_at = ?, last_used_ip = ?"
	    " WHERE key_id = ?"
	    " AND (last_used_at IS NULL OR last_used_at <= ?) RETURNING 1",
	    Q_ARGS(QA_INT(now), QA_TEXT(ip), QA_TEXT(key_id),
		QA_INT(now - min_interval)),
	    &rows);
	if (r == 0)
		*written = rows > 0;
	return r;
}
