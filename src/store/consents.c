/*
 * Consents (migration 0011; SECURITY.md CF-03): what scope a user granted
 * a client, and withdrawing it with the client's token families.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"

void
store_consents_free(struct store_consent *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].client_id);
		free(v[i].scope);
	}
	free(v);
}

int
store_consent_get(
    struct db *db, const char *user_id, const char *client_id, char **scope)
{
	*scope = NULL;
	return store_one(db,
	    "SELECT scope FROM consents WHERE user_id = ? AND client_id = ?",
	    Q_ARGS(QA_TEXT(user_id), QA_TEXT(client_id)),
	    Q_COLS(QC_DUP(scope)));
}

int
store_consent_put(struct db *db, const char *user_id, const char *client_id,
    const char *scope, int64_t now)
{
	return store_exec(db,
	    "INSERT INTO consents (user_id, client_id, scope, granted_at)"
	    " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, client_id) DO"
	    " UPDATE SET scope = excluded.scope,"
	    " granted_at = excluded.granted_at",
	    Q_ARGS(QA_TEXT(user_id), QA_TEXT(client_id), QA_TEXT(scope),
		QA_INT(now)),
	    NULL);
}

int
store_consent_delete(struct db *db, const char *user_id, const char *client_id)
{
	return store_one(db,
	    "DELETE FROM consents WHERE user_id = ? AND client_id = ?"
	    " RETURNING client_id",
	    Q_ARGS(QA_TEXT(user_id), QA_TEXT(client_id)), Q_NOCOLS);
}

struct consent_list {
	struct store_consent *v;
	size_t len, cap;
};

static int
list_row(struct db_stmt *s, void *arg)
{
	struct consent_list *l = arg;
	struct store_consent *sc = Q_GROW(l->v, l->len, l->cap);

	q_read(s,
	    Q_COLS(QC_DUP(&sc->client_id), QC_DUP(&sc->scope),
		QC_INT(&sc->granted_at)));
	return 0;
}

int
store_consents_list(
    struct db *db, const char *user_id, struct store_consent **out, size_t *n)
{
	struct consent_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT client_id, scope, granted_at FROM consents"
	    " WHERE user_id = ? ORDER BY granted_at DESC, client_id",
	    Q_ARGS(QA_TEXT(user_id)), list_row, &l);
	if (r != 0) {
		store_consents_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

/*
 * Withdrawing a consent from the account page (RT-05) ends the token
 * families the client holds for the user in the same transaction, so
 * nothing is left half-ended. A family dies with revoked_at;
 * bearer_verify() then refuses its access tokens through their gid.
 */
struct revoke {
	const char *user_id, *client_id;
	int64_t now, nc, nf;
};

static int
revoke_tx(struct db_conn *c, void *arg)
{
	struct revoke *a = arg;
	int r;

	if ((r = q_exec(c,
		 "DELETE FROM consents WHERE user_id = ? AND client_id = ?"
		 " RETURNING client_id",
		 Q_ARGS(QA_TEXT(a->user_id), QA_TEXT(a->client_id)), &a->nc)) !=
	    0)
		return r;
	return q_exec(c,
	    "UPDATE token_families SET revoked_at = ?, revoke_reason = ?"
	    " WHERE user_id = ? AND client_id = ? AND revoked_at IS NULL"
	    " RETURNING family_id",
	    Q_ARGS(QA_INT(a->now), QA_TEXT("consent_revoked"),
		QA_TEXT(a->user_id), QA_TEXT(a->client_id)),
	    &a->nf);
}

int
store_consent_revoke(struct db *db, const char *user_id, const char *client_id,
    int64_t now, int64_t *families)
{
	struct revoke a = { user_id, client_id, now, 0, 0 };
	int r;

	if (families != NULL)
		*families = 0;
	if ((r = store_tx(db, revoke_tx, &a)) != 0)
		return r;
	if (families != NULL)
		*families = a.nf;
	return a.nc + a.nf > 0 ? 0 : PC_ERR_NOT_FOUND;
}
