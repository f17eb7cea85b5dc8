/*
 * The DPoP proof replay cache (migration 0028; RFC 9449 §11.1, SECURITY.md
 * RT-06, TX-06, DS-04): one atomic statement decides whether a proof's
 * (key, jti) is new, so two requests racing with the same proof, on one
 * node or two, cannot both be accepted. Only hashes are stored, each for
 * the proof's acceptance window alone.
 */
#include <stdlib.h>
#include <string.h>

#include "store/q.h"
#include "store/store.h"
#include "store/store_internal.h"

/*
 * A row comes back only when this statement inserted it, or took over a
 * row that had already expired but was not purged yet.
 */
static const char jti_use_sql[] =
    "INSERT INTO dpop_jtis (jti_hash, expires_at) VALUES (?, ?)"
    " ON CONFLICT (jti_hash) DO UPDATE SET expires_at = excluded.expires_at"
    " WHERE dpop_jtis.expires_at <= ? RETURNING 1";

int
store_dpop_jti_use(
    struct db *db, const char *jti_hash, int64_t expires_at, int64_t now)
{
	int r;

	if (jti_hash == NULL)
		return PC_ERR_INVALID;
	r = store_one(db, jti_use_sql,
	    Q_ARGS(QA_TEXT(jti_hash), QA_INT(expires_at), QA_INT(now)),
	    Q_NOCOLS);
	return r == PC_ERR_NOT_FOUND ? PC_ERR_CONFLICT : r;
}

int
store_dpop_jti_use_tx(
    struct db_conn *c, const char *jti_hash, int64_t expires_at, int64_t now)
{
	int r;

	if (jti_hash == NULL)
		return PC_ERR_INVALID;
	r = q_one(c, jti_use_sql,
	    Q_ARGS(QA_TEXT(jti_hash), QA_INT(expires_at), QA_INT(now)),
	    Q_NOCOLS);
	return r == PC_ERR_NOT_FOUND ? PC_ERR_CONFLICT : r;
}

int
store_dpop_jtis_purge(struct db *db, int64_t now, int64_t *deleted)
{
	return store_delete_expired(db,
	    "DELETE FROM dpop_jtis WHERE expires_at <= ? RETURNING 1", now,
	    deleted);
}
