#include <stdlib.h>
#include <string.h>

#include "store/store.h"

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

int
store_signing_keys_list(
    struct db *db, struct store_signing_key **out, size_t *n)
{
	struct db_conn *c;
	struct db_stmt *s;
	struct store_signing_key *v = NULL;
	size_t len = 0, cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT kid, alg, public_jwk, private_sealed,"
		 " created_at, activate_at FROM signing_keys"
		 " ORDER BY activate_at, created_at, kid",
		 &s)) != 0)
		return r;
	while ((r = db_step(s)) == DB_ROW) {
		struct store_signing_key *k;

		if (len == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		k = &v[len++];
		k->kid = db_col_dup(s, 0);
		k->alg = db_col_dup(s, 1);
		k->public_jwk = db_col_dup(s, 2);
		k->private_sealed = db_col_dup(s, 3);
		k->created_at = db_col_int64(s, 4);
		k->activate_at = db_col_int64(s, 5);
	}
	db_done(s);
	if (r != DB_DONE) {
		store_signing_keys_free(v, len);
		return r;
	}
	*out = v;
	*n = len;
	return 0;
}

static int
insert(struct db_conn *c, const struct store_signing_key *k)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 "INSERT INTO signing_keys (kid, alg, "
		 "public_jwk, private_sealed, created_at, activate_at) "
		 "VALUES (?, ?, ?, ?, ?, ?)",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, k->kid)) == 0 &&
	    (r = db_bind_cstr(s, 2, k->alg)) == 0 &&
	    (r = db_bind_cstr(s, 3, k->public_jwk)) == 0 &&
	    (r = db_bind_cstr(s, 4, k->private_sealed)) == 0 &&
	    (r = db_bind_int64(s, 5, k->created_at)) == 0 &&
	    (r = db_bind_int64(s, 6, k->activate_at)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
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

int
store_signing_key_insert_first(
    struct db *db, const struct store_signing_key *k, bool *inserted)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r, exists;

	*inserted = false;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, true)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT count(*) FROM signing_keys WHERE alg = ?", &s)) != 0)
		goto fail;
	if ((r = db_bind_cstr(s, 1, k->alg)) == 0)
		r = db_step(s);
	exists = r == DB_ROW && db_col_int64(s, 0) > 0;
	db_done(s);
	if (r != DB_ROW) {
		r = r < 0 ? r : PC_ERR_STORE;
		goto fail;
	}
	if (!exists) {
		if ((r = insert(c, k)) != 0)
			goto fail;
		*inserted = true;
	}
	if ((r = db_commit(c)) != 0) {
		*inserted = false;
		return r;
	}
	return 0;
fail:
	db_rollback(c);
	return r;
}

/* --- the master-key check row (migration 0016) ----------------------- */

int
store_key_check_get(struct db *db, char **sealed)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	*sealed = NULL;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(
		 c, "SELECT sealed FROM key_check WHERE id = 1", &s)) != 0)
		return r;
	r = db_step(s);
	if (r == DB_ROW)
		*sealed = db_col_dup(s, 0);
	db_done(s);
	if (r == DB_ROW)
		return 0;
	return r == DB_DONE ? PC_ERR_NOT_FOUND : r;
}

int
store_key_check_put_first(struct db *db, const char *sealed, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "INSERT INTO key_check (id, sealed, created_at)"
		 " VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING",
		 &s)) != 0)
		return r;
	if ((r = db_bind_cstr(s, 1, sealed)) == 0 &&
	    (r = db_bind_int64(s, 2, now)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

/* --- the readiness write probe (migration 0016) ---------------------- */

int
store_health_probe(struct db *db, int64_t now)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "INSERT INTO health_probe (id, probed_at) VALUES (1, ?)"
		 " ON CONFLICT (id) DO UPDATE SET probed_at ="
		 " excluded.probed_at",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, now)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}
