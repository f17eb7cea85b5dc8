/*
 * The private_key_jwt replay cache (migration 0013; RFC 7523 §3 item 7,
 * SECURITY.md TK-09): one atomic statement decides whether a (client, jti)
 * is new, so two requests racing with the same assertion cannot both win.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

int
store_assertion_jti_use(struct db *db, const char *client_id,
    const char *jti_hash, int64_t expires_at, int64_t now)
{
	int r;

	if (client_id == NULL || jti_hash == NULL)
		return PC_ERR_INVALID;
	/*
	 * A row comes back only when this call inserted it, or took over a
	 * row that had already expired but was not purged yet.
	 */
	r = store_one(db,
	    "INSERT INTO assertion_jtis (client_id, jti_hash, expires_at)"
	    " VALUES (?, ?, ?) ON CONFLICT (client_id, jti_hash) DO"
	    " UPDATE SET expires_at = excluded.expires_at"
	    " WHERE assertion_jtis.expires_at <= ? RETURNING 1",
	    Q_ARGS(QA_TEXT(client_id), QA_TEXT(jti_hash), QA_INT(expires_at),
		QA_INT(now)),
	    Q_NOCOLS);
	return r == PC_ERR_NOT_FOUND ? PC_ERR_CONFLICT : r;
}

int
store_assertion_jtis_purge(struct db *db, int64_t now, int64_t *deleted)
{
	return store_delete_expired(db,
	    "DELETE FROM assertion_jtis WHERE expires_at <= ? RETURNING 1", now,
	    deleted);
}
