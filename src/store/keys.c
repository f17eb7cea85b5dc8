/*
 * Signing keys (sealed private halves, public JWKs, activation times),
 * the master-key check row and the readiness write probe: what the
 * signer and the health endpoint keep in the store.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"

void
store_signing_key_clear(struct store_signing_key *k)
{
	free(k->kid);
	free(k->alg);
	free(k->public_jwk);
	free(k->private_sealed);
	memset(k, 0, sizeof(*k));
}

void
store_signing_keys_free(struct store_signing_key *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_signing_key_clear(&v[i]);
	free(v);
}

struct key_list {
	struct store_signing_key *v;
	size_t len, cap;
};

static int
list_row(struct db_stmt *s, void *arg)
{
	struct key_list *l = arg;
	struct store_signing_key *k = Q_GROW(l->v, l->len, l->cap);

	q_read(s,
	    Q_COLS(QC_DUP(&k->kid), QC_DUP(&k->alg), QC_DUP(&k->public_jwk),
		QC_DUP(&k->private_sealed), QC_INT(&k->created_at),
		QC_INT(&k->activate_at)));
	return 0;
}

int
store_signing_keys_list(
    struct db *db, struct store_signing_key **out, size_t *n)
{
	struct key_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT kid, alg, public_jwk, private_sealed,"
	    " created_at, activate_at FROM signing_keys"
	    " ORDER BY activate_at, created_at, kid",
	    Q_NOARGS, list_row, &l);
	if (r != 0) {
		store_signing_keys_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

static int
insert(struct db_conn *c, const struct store_signing_key *k)
{
	return q_exec(c,
	    "INSERT INTO signing_keys (kid, alg, "
	    "public_jwk, private_sealed, created_at, activate_at) "
	    "VALUES (?, ?, ?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(k->kid), QA_TEXT(k->alg), QA_TEXT(k->public_jwk),
		QA_TEXT(k->private_sealed), QA_INT(k->created_at),
		QA_INT(k->activate_at)),
	    NULL);
}

int
store_signing_key_insert(struct db *db, const struct store_signing_key *k)
{
	struct db_conn *c;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	return insert(c, k);
}

/* 1: inserted; 0: a key of that alg was there already. */
static int
insert_first_tx(struct db_conn *c, void *arg)
{
	const struct store_signing_key *k = arg;
	int64_t exists = 0;
	int r;

	if ((r = q_one(c, "SELECT count(*) FROM signing_keys WHERE alg = ?",
		 Q_ARGS(QA_TEXT(k->alg)), Q_COLS(QC_INT(&exists)))) != 0)
		return r == PC_ERR_NOT_FOUND ? PC_ERR_STORE : r;
	if (exists > 0)
		return 0;
	if ((r = insert(c, k)) != 0)
		return r;
	return 1;
}

int
store_signing_key_insert_first(
    struct db *db, const struct store_signing_key *k, bool *inserted)
{
	int r = store_tx(db, insert_first_tx, (void *)k);

	*inserted = r == 1;
	return r < 0 ? r : 0;
}

/* --- the master-key check row (migration 0016) ----------------------- */

int
store_key_check_get(struct db *db, char **sealed)
{
	*sealed = NULL;
	return store_one(db, "SELECT sealed FROM key_check WHERE id = 1",
	    Q_NOARGS, Q_COLS(QC_DUP(sealed)));
}

int
store_key_check_put_first(struct db *db, const char *sealed, int64_t now)
{
	return store_exec(db,
	    "INSERT INTO key_check (id, sealed, created_at)"
	    " VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING",
	    Q_ARGS(QA_TEXT(sealed), QA_INT(now)), NULL);
}

/* --- the readiness write probe (migration 0016) ---------------------- */

int
store_health_probe(struct db *db, int64_t now)
{
	return store_exec(db,
	    "INSERT INTO health_probe (id, probed_at) VALUES (1, ?)"
	    " ON CONFLICT (id) DO UPDATE SET probed_at ="
	    " excluded.probed_at",
	    Q_ARGS(QA_INT(now)), NULL);
}
