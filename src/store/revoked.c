/*
 * What the resource-side endpoints ask the store (migration 0012;
 * SECURITY.md IR-02, IR-04..06): the deny-list of revoked access-token
 * jtis, each kept until the token's exp, and a read-only look at one
 * refresh token for introspection and revocation.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

int
store_access_revoke(struct db *db, const char *jti, const char *client_id,
    int64_t expires_at, int64_t now)
{
	/* Revoking twice is revoking once. */
	return store_exec(db,
	    "INSERT INTO revoked_access_tokens (jti, client_id,"
	    " revoked_at, expires_at) VALUES (?, ?, ?, ?)"
	    " ON CONFLICT (jti) DO NOTHING",
	    Q_ARGS(QA_TEXT(jti), QA_TEXT(client_id), QA_INT(now),
		QA_INT(expires_at)),
	    NULL);
}

int
store_access_revoked(struct db *db, const char *jti, bool *revoked)
{
	int r;

	*revoked = true; /* fail closed */
	r = store_one(db, "SELECT 1 FROM revoked_access_tokens WHERE jti = ?",
	    Q_ARGS(QA_TEXT(jti)), Q_NOCOLS);
	if (r != 0 && r != PC_ERR_NOT_FOUND)
		return r;
	*revoked = r == 0;
	return 0;
}

int
store_access_revoked_purge(struct db *db, int64_t now, int64_t *deleted)
{
	/* A token past its exp is refused by exp alone. */
	return store_delete_expired(db,
	    "DELETE FROM revoked_access_tokens WHERE expires_at <= ?"
	    " RETURNING 1",
	    now, deleted);
}

int
store_refresh_get(
    struct db *db, const char *token_hash, struct store_refresh *out)
{
	memset(out, 0, sizeof(*out));
	/* used_at: SQL NULL (unused) reads as 0. */
	return store_one(db,
	    "SELECT family_id, created_at, expires_at, used_at"
	    " FROM refresh_tokens WHERE token_hash = ?",
	    Q_ARGS(QA_TEXT(token_hash)),
	    Q_COLS(QC_FIXED(out->family_id), QC_INT(&out->created_at),
		QC_INT(&out->expires_at), QC_INT(&out->used_at)));
}
