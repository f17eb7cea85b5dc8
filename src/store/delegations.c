/*
 * Agents and the delegations people gave them (issue 15; SECURITY.md
 * TX-08; migrations 0027, 0031). A delegation is a token family: every
 * token issued from one authorization carries its id (gid), and every
 * token derived from those by token exchange carries the same root gid,
 * so revoking the family here kills the whole chain at its next use
 * (bearer_verify()). Disabling or deleting a client revokes its families
 * in the same transaction as the client change, so no agent is left
 * disabled with tokens that still work, or the other way round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

#define REVOKE_CLIENT_FAMILIES \
	"UPDATE token_families SET revoked_at = ?, revoke_reason = ?" \
	" WHERE client_id = ? AND revoked_at IS NULL RETURNING 1"

struct client_op {
	const char *client_id;
	int64_t now;
	int64_t families;
};

static int
disable_tx(struct db_conn *c, void *arg)
{
	struct client_op *a = arg;
	int r;

	if ((r = store_versions_clients_tx(c)) != 0)
		return r;
	if ((r = q_one(c,
		 "UPDATE clients SET disabled_at = ?, updated_at = ?"
		 " WHERE client_id = ? AND disabled_at IS NULL"
		 " RETURNING client_id",
		 Q_ARGS(QA_INT(a->now), QA_INT(a->now), QA_TEXT(a->client_id)),
		 Q_NOCOLS)) != 0)
		return r;
	return q_exec(c, REVOKE_CLIENT_FAMILIES,
	    Q_ARGS(QA_INT(a->now), QA_TEXT("client_disabled"),
		QA_TEXT(a->client_id)),
	    &a->families);
}

int
store_client_disable(
    struct db *db, const char *client_id, int64_t now, int64_t *families)
{
	struct client_op a = { client_id, now, 0 };
	int r = store_tx(db, disable_tx, &a);

	if (families != NULL)
		*families = r == 0 ? a.families : 0;
	return r;
}

static int
delete_tx(struct db_conn *c, void *arg)
{
	struct client_op *a = arg;
	int r;

	/* Revoked first, counted for the audit; the delete then takes the
	 * rows with it (ON DELETE CASCADE), in this one transaction. */
	if ((r = q_exec(c, REVOKE_CLIENT_FAMILIES,
		 Q_ARGS(QA_INT(a->now), QA_TEXT("client_deleted"),
		     QA_TEXT(a->client_id)),
		 &a->families)) != 0)
		return r;
	return store_client_delete_tx(c, a->client_id, a->now);
}

int
store_client_delete_revoking(
    struct db *db, const char *client_id, int64_t now, int64_t *families)
{
	struct client_op a = { client_id, now, 0 };
	int r = store_tx(db, delete_tx, &a);

	if (families != NULL)
		*families = r == 0 ? a.families : 0;
	return r;
}

void
store_delegations_free(struct store_delegation *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].client_id);
		free(v[i].client_name);
		free(v[i].client_kind);
		free(v[i].registration);
		free(v[i].resource);
		free(v[i].scope);
	}
	free(v);
}

struct delegation_list {
	struct store_delegation *v;
	size_t len, cap;
};

static int
delegation_row(struct db_stmt *s, void *arg)
{
	struct delegation_list *l = arg;
	struct store_delegation *d = Q_GROW(l->v, l->len, l->cap);

	q_read(s,
	    Q_COLS(QC_FIXED(d->family_id), QC_DUP(&d->client_id),
		QC_DUP(&d->client_name), QC_DUP(&d->client_kind),
		QC_DUP(&d->registration), QC_DUP_NULL(&d->resource),
		QC_DUP(&d->scope), QC_INT(&d->created_at),
		QC_INT(&d->expires_at), QC_INT(&d->last_used_at),
		QC_INT(&d->last_refresh_at)));
	return 0;
}

int
store_delegations_list(struct db *db, const char *user_id, int64_t now,
    size_t max, struct store_delegation **out, size_t *n)
{
	struct delegation_list l = { 0 };
	int r;

	*out = NULL;
	*n = 0;
	r = store_all(db,
	    "SELECT f.family_id, f.client_id, c.name, c.kind,"
	    " c.registration, f.resource, f.scope, f.created_at,"
	    " f.expires_at, f.last_used_at,"
	    " (SELECT max(t.used_at) FROM refresh_tokens t"
	    " WHERE t.family_id = f.family_id)"
	    " FROM token_families f JOIN clients c"
	    " ON c.client_id = f.client_id"
	    " WHERE f.user_id = ? AND f.revoked_at IS NULL"
	    " AND f.expires_at > ?"
	    " AND (c.kind = 'agent' OR f.resource IS NOT NULL)"
	    " ORDER BY f.created_at DESC, f.family_id LIMIT ?",
	    Q_ARGS(QA_TEXT(user_id), QA_INT(now), QA_INT((int64_t)max)),
	    delegation_row, &l);
	if (r != 0) {
		store_delegations_free(l.v, l.len);
		return r;
	}
	*out = l.v;
	*n = l.len;
	return 0;
}

int
store_delegation_revoke(struct db *db, const char *user_id,
    const char *family_id, int64_t now, char **client_id)
{
	*client_id = NULL;
	return store_one(db,
	    "UPDATE token_families SET revoked_at = ?, revoke_reason = ?"
	    " WHERE family_id = ? AND user_id = ? AND revoked_at IS NULL"
	    " RETURNING client_id",
	    Q_ARGS(QA_INT(now), QA_TEXT("user_revoked"), QA_TEXT(family_id),
		QA_TEXT(user_id)),
	    Q_COLS(QC_DUP(client_id)));
}
