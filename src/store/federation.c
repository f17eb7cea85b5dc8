/*
 * Workload federation in the store (migration 0025; issue 14 item 5):
 * trusted external issuers, the rules that map their tokens' claims to a
 * service account, and the replay cache of exchanged subject tokens.
 * Deleting a trust removes its rules and replay rows in the same
 * transaction, so nothing of it is left to match.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

static void
rule_clear(struct store_wif_rule *r)
{
	free(r->sub_pattern);
	free(r->claims);
	free(r->service_account_id);
	free(r->scopes);
	memset(r, 0, sizeof(*r));
}

void
store_wif_trust_clear(struct store_wif_trust *t)
{
	if (t == NULL)
		return;
	free(t->trust_id);
	free(t->issuer);
	free(t->jwks);
	free(t->jwks_uri);
	free(t->audience);
	free(t->algs);
	for (size_t i = 0; i < t->n_rules; i++)
		rule_clear(&t->rules[i]);
	free(t->rules);
	memset(t, 0, sizeof(*t));
}

void
store_wif_trusts_free(struct store_wif_trust *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_wif_trust_clear(&v[i]);
	free(v);
}

#define TRUST_COLS \
	"trust_id, issuer, jwks, jwks_uri, audience, algs, max_lifetime," \
	" created_at"

#define TRUST_READ(t) \
	Q_COLS(QC_DUP(&(t)->trust_id), QC_DUP(&(t)->issuer), \
	    QC_DUP_NULL(&(t)->jwks), QC_DUP_NULL(&(t)->jwks_uri), \
	    QC_DUP(&(t)->audience), QC_DUP(&(t)->algs), \
	    QC_INT(&(t)->max_lifetime), QC_INT(&(t)->created_at))

int
store_wif_trust_add(struct db *db, const struct store_wif_trust *t)
{
	if (t == NULL || t->trust_id == NULL || t->issuer == NULL ||
	    t->audience == NULL || t->algs == NULL ||
	    (t->jwks == NULL) == (t->jwks_uri == NULL))
		return PC_ERR_INVALID;
	/* A taken id or issuer is a unique violation: PC_ERR_CONFLICT. */
	return store_exec(db,
	    "INSERT INTO workload_trusts (" TRUST_COLS
	    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(t->trust_id), QA_TEXT(t->issuer), QA_TEXT(t->jwks),
		QA_TEXT(t->jwks_uri), QA_TEXT(t->audience), QA_TEXT(t->algs),
		QA_INT(t->max_lifetime), QA_INT(t->created_at)),
	    NULL);
}

struct rules {
	struct store_wif_trust *t;
	size_t cap;
};

static int
rule_row(struct db_stmt *s, void *arg)
{
	struct rules *l = arg;
	struct store_wif_rule *r = Q_GROW(l->t->rules, l->t->n_rules, l->cap);

	q_read(s,
	    Q_COLS(QC_INT(&r->rule_no), QC_DUP(&r->sub_pattern),
		QC_DUP(&r->claims), QC_DUP(&r->service_account_id),
		QC_DUP_NULL(&r->scopes), QC_INT(&r->created_at)));
	return 0;
}

static int
read_rules(struct db *db, struct store_wif_trust *t)
{
	struct rules l = { t, 0 };

	return store_all(db,
	    "SELECT rule_no, sub_pattern, claims, service_account_id,"
	    " scopes, created_at FROM workload_rules WHERE trust_id = ?"
	    " ORDER BY rule_no",
	    Q_ARGS(QA_TEXT(t->trust_id)), rule_row, &l);
}

/* One trust by a column (trust_id or issuer), with its rules. */
static int
trust_get(struct db *db, const char *sql, const char *key,
    struct store_wif_trust *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (key == NULL)
		return PC_ERR_INVALID;
	if ((r = store_one(db, sql, Q_ARGS(QA_TEXT(key)), TRUST_READ(out))) !=
	    0)
		return r;
	if ((r = read_rules(db, out)) != 0)
		store_wif_trust_clear(out);
	return r;
}

int
store_wif_trust_get(
    struct db *db, const char *trust_id, struct store_wif_trust *out)
{
	return trust_get(db,
	    "SELECT " TRUST_COLS " FROM workload_trusts WHERE trust_id = ?",
	    trust_id, out);
}

int
store_wif_trust_by_issuer(
    struct db *db, const char *issuer, struct store_wif_trust *out)
{
	return trust_get(db,
	    "SELECT " TRUST_COLS " FROM workload_trusts WHERE issuer = ?",
	    issuer, out);
}

int
store_wif_trust_exists(struct db *db, const char *trust_id)
{
	if (trust_id == NULL)
		return PC_ERR_INVALID;
	return store_one(db, "SELECT 1 FROM workload_trusts WHERE trust_id = ?",
	    Q_ARGS(QA_TEXT(trust_id)), Q_NOCOLS);
}

struct trust_list {
	struct store_wif_trust *v;
	size_t len, cap;
};

static int
trust_row(struct db_stmt *s, void *arg)
{
	struct trust_list *l = arg;
	struct store_wif_trust *t = Q_GROW(l->v, l->len, l->cap);

	q_read(s, TRUST_READ(t));
	return 0;
}

int
store_wif_trusts_list(struct db *db, struct store_wif_trust **out, size_t *n)
{
	struct trust_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT " TRUST_COLS
	    " FROM workload_trusts ORDER BY created_at, trust_id",
	    Q_NOARGS, trust_row, &l);
	/* After the cursor is closed: one statement at a time. */
	for (size_t i = 0; r == 0 && i < l.len; i++)
		r = read_rules(db, &l.v[i]);
	if (r != 0) {
		store_wif_trusts_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

static int
delete_tx(struct db_conn *c, void *arg)
{
	const char *id = arg;
	int64_t n = 0;
	int r;

	if ((r = q_exec(c, "DELETE FROM workload_jtis WHERE trust_id = ?",
		 Q_ARGS(QA_TEXT(id)), NULL)) != 0 ||
	    (r = q_exec(c, "DELETE FROM workload_rules WHERE trust_id = ?",
		 Q_ARGS(QA_TEXT(id)), NULL)) != 0 ||
	    (r = q_exec(c,
		 "DELETE FROM workload_trusts WHERE trust_id = ?"
		 " RETURNING 1",
		 Q_ARGS(QA_TEXT(id)), &n)) != 0)
		return r;
	return n == 1 ? 0 : PC_ERR_NOT_FOUND;
}

int
store_wif_trust_delete(struct db *db, const char *trust_id)
{
	if (trust_id == NULL)
		return PC_ERR_INVALID;
	return store_tx(db, delete_tx, (void *)(uintptr_t)trust_id);
}

struct rule_add {
	const char *trust_id;
	const struct store_wif_rule *rule;
	int64_t now;
	int64_t *rule_no;
};

static int
rule_add_tx(struct db_conn *c, void *arg)
{
	const struct rule_add *a = arg;
	int64_t next = 0;
	int r;

	if ((r = q_one(c, "SELECT 1 FROM workload_trusts WHERE trust_id = ?",
		 Q_ARGS(QA_TEXT(a->trust_id)), Q_NOCOLS)) != 0)
		return r;
	/* The write lock is held (store_tx): no other rule takes next. */
	if ((r = q_one(c,
		 "SELECT COALESCE(MAX(rule_no), 0) + 1 FROM workload_rules"
		 " WHERE trust_id = ?",
		 Q_ARGS(QA_TEXT(a->trust_id)), Q_COLS(QC_INT(&next)))) != 0)
		return r;
	if ((r = q_exec(c,
		 "INSERT INTO workload_rules (trust_id, rule_no, sub_pattern,"
		 " claims, service_account_id, scopes, created_at)"
		 " VALUES (?, ?, ?, ?, ?, ?, ?)",
		 Q_ARGS(QA_TEXT(a->trust_id), QA_INT(next),
		     QA_TEXT(a->rule->sub_pattern), QA_TEXT(a->rule->claims),
		     QA_TEXT(a->rule->service_account_id),
		     QA_TEXT(a->rule->scopes), QA_INT(a->now)),
		 NULL)) != 0)
		return r;
	*a->rule_no = next;
	return 0;
}

int
store_wif_rule_add(struct db *db, const char *trust_id,
    const struct store_wif_rule *rule, int64_t now, int64_t *rule_no)
{
	int64_t no = 0;
	struct rule_add a = { trust_id, rule, now, &no };
	int r;

	*rule_no = 0;
	if (trust_id == NULL || rule == NULL || rule->sub_pattern == NULL ||
	    rule->claims == NULL || rule->service_account_id == NULL)
		return PC_ERR_INVALID;
	if ((r = store_tx(db, rule_add_tx, &a)) == 0)
		*rule_no = no;
	return r;
}

int
store_wif_rule_remove(struct db *db, const char *trust_id, int64_t rule_no)
{
	int64_t n = 0;
	int r;

	if (trust_id == NULL)
		return PC_ERR_INVALID;
	r = store_exec(db,
	    "DELETE FROM workload_rules WHERE trust_id = ? AND rule_no = ?"
	    " RETURNING 1",
	    Q_ARGS(QA_TEXT(trust_id), QA_INT(rule_no)), &n);
	if (r != 0)
		return r;
	return n == 1 ? 0 : PC_ERR_NOT_FOUND;
}

int
store_wif_jti_use(struct db *db, const char *trust_id, const char *jti_hash,
    int64_t expires_at, int64_t now)
{
	int r;

	if (trust_id == NULL || jti_hash == NULL)
		return PC_ERR_INVALID;
	/*
	 * A row comes back only when this call inserted it, or took over a
	 * row that had already expired but was not purged yet: two
	 * exchanges racing with one token cannot both win.
	 */
	r = store_one(db,
	    "INSERT INTO workload_jtis (trust_id, jti_hash, expires_at)"
	    " VALUES (?, ?, ?) ON CONFLICT (trust_id, jti_hash) DO"
	    " UPDATE SET expires_at = excluded.expires_at"
	    " WHERE workload_jtis.expires_at <= ? RETURNING 1",
	    Q_ARGS(QA_TEXT(trust_id), QA_TEXT(jti_hash), QA_INT(expires_at),
		QA_INT(now)),
	    Q_NOCOLS);
	return r == PC_ERR_NOT_FOUND ? PC_ERR_CONFLICT : r;
}

int
store_wif_jtis_purge(struct db *db, int64_t now, int64_t *deleted)
{
	return store_delete_expired(db,
	    "DELETE FROM workload_jtis WHERE expires_at <= ? RETURNING 1", now,
	    deleted);
}
