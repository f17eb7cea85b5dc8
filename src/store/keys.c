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

/* --- steps of keys that rotate themselves (migration 0034) ----------- */

static const char *const step_names[] = { "succeeded", "retired", "dropped" };

const char *
store_key_step_name(enum store_key_step s)
{
	return (size_t)s < PC_NELEM(step_names) ? step_names[s] : "unknown";
}

void
store_key_steps_free(struct store_key_step_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].kid);
	free(v);
}

struct step_list {
	struct store_key_step_row *v;
	size_t len, cap;
};

static int
step_row(struct db_stmt *s, void *arg)
{
	struct step_list *l = arg;
	struct store_key_step_row *k = Q_GROW(l->v, l->len, l->cap);
	char *name = NULL;

	q_read(s, Q_COLS(QC_DUP(&k->kid), QC_DUP(&name), QC_INT(&k->done_at)));
	k->step = STORE_KEY_SUCCEEDED;
	for (size_t i = 0; name != NULL && i < PC_NELEM(step_names); i++)
		if (strcmp(name, step_names[i]) == 0)
			k->step = (enum store_key_step)i;
	free(name);
	return 0;
}

int
store_signing_key_steps_list(
    struct db *db, struct store_key_step_row **out, size_t *n)
{
	struct step_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT kid, step, done_at FROM signing_key_steps"
	    " ORDER BY done_at, kid, step",
	    Q_NOARGS, step_row, &l);
	if (r != 0) {
		store_key_steps_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

/*
 * The step's row, once (RETURNING: q_exec counts rows returned): 1 when
 * this call inserted it, 0 when it was there
 * (another node did the step, or is doing it: on PostgreSQL the second
 * insert waits for the first transaction and then finds its row).
 */
static int
step_insert(struct db_conn *c, const char *kid, enum store_key_step step,
    int64_t now, const char *successor)
{
	int64_t rows = 0;
	int r = q_exec(c,
	    "INSERT INTO signing_key_steps (kid, step, done_at, successor)"
	    " VALUES (?, ?, ?, ?) ON CONFLICT (kid, step) DO NOTHING"
	    " RETURNING kid",
	    Q_ARGS(QA_TEXT(kid), QA_TEXT(step_names[step]), QA_INT(now),
		QA_TEXT(successor)),
	    &rows);

	return r != 0 ? r : rows == 1;
}

struct successor_tx {
	const struct store_signing_key *k;
	const char *pred;
	int64_t now;
	const struct store_key_hook *hook;
};

/* 1: added; 0: not (pred not the newest of its alg, or succeeded). */
static int
successor_tx(struct db_conn *c, void *arg)
{
	const struct successor_tx *t = arg;
	int64_t newer = 0;
	int r;

	/* pred exists, has k's alg, and no key of that alg comes after it. */
	r = q_one(c,
	    "SELECT (SELECT count(*) FROM signing_keys n"
	    " WHERE n.alg = p.alg AND n.activate_at > p.activate_at)"
	    " FROM signing_keys p WHERE p.kid = ? AND p.alg = ?",
	    Q_ARGS(QA_TEXT(t->pred), QA_TEXT(t->k->alg)),
	    Q_COLS(QC_INT(&newer)));
	if (r == PC_ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	if (newer > 0)
		return 0;
	if ((r = step_insert(
		 c, t->pred, STORE_KEY_SUCCEEDED, t->now, t->k->kid)) != 1)
		return r;
	if ((r = insert(c, t->k)) != 0)
		return r;
	if (t->hook != NULL && t->hook->fn != NULL &&
	    (r = t->hook->fn(c, t->hook->arg, STORE_KEY_SUCCEEDED, t->pred,
		 t->k->kid)) != 0)
		return r < 0 ? r : PC_ERR_INTERNAL;
	return 1;
}

int
store_signing_key_add_successor(struct db *db,
    const struct store_signing_key *k, const char *pred, int64_t now,
    const struct store_key_hook *hook, bool *added)
{
	struct successor_tx t = { k, pred, now, hook };
	int r = store_tx(db, successor_tx, &t);

	*added = r == 1;
	return r < 0 ? r : 0;
}

struct step_tx {
	const char *kid;
	enum store_key_step step;
	int64_t now, hold;
	const struct store_key_hook *hook;
};

/* 1: done; 0: not due by the store's rows, or done already. */
static int
step_tx(struct db_conn *c, void *arg)
{
	const struct step_tx *t = arg;
	int64_t due = 0;
	int r;

	/* A later key of its alg activated at or before now - hold. */
	r = q_one(c,
	    "SELECT count(*) FROM signing_keys p JOIN signing_keys n"
	    " ON n.alg = p.alg AND n.activate_at > p.activate_at"
	    " WHERE p.kid = ? AND n.activate_at <= ?",
	    Q_ARGS(QA_TEXT(t->kid), QA_INT(t->now - t->hold)),
	    Q_COLS(QC_INT(&due)));
	if (r != 0)
		return r == PC_ERR_NOT_FOUND ? PC_ERR_STORE : r;
	if (due == 0)
		return 0;
	if ((r = step_insert(c, t->kid, t->step, t->now, NULL)) != 1)
		return r;
	if (t->step == STORE_KEY_DROPPED &&
	    (r = q_exec(c, "DELETE FROM signing_keys WHERE kid = ?",
		 Q_ARGS(QA_TEXT(t->kid)), NULL)) != 0)
		return r;
	if (t->hook != NULL && t->hook->fn != NULL &&
	    (r = t->hook->fn(c, t->hook->arg, t->step, t->kid, NULL)) != 0)
		return r < 0 ? r : PC_ERR_INTERNAL;
	return 1;
}

int
store_signing_key_step(struct db *db, const char *kid, enum store_key_step step,
    int64_t now, int64_t hold, const struct store_key_hook *hook, bool *done)
{
	struct step_tx t = { kid, step, now, hold, hook };
	int r;

	*done = false;
	if (step != STORE_KEY_RETIRED && step != STORE_KEY_DROPPED)
		return PC_ERR_INVALID;
	r = store_tx(db, step_tx, &t);
	*done = r == 1;
	return r < 0 ? r : 0;
}
