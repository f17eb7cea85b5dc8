/*
 * The store's DPoP table (migration 0028; issue 15, RFC 9449 §11.1): the
 * replay cache of proof jtis. Included from store.h; the proof checks
 * live in src/oauth/dpop.c.
 */
#ifndef PC_STORE_DPOP_H
#define PC_STORE_DPOP_H

#include <stdint.h>

#include "store/db.h"

/* ---- DPoP replay cache (store/dpop.c; RT-06, TX-06, DS-04) ---- */

/*
 * Remembers jti_hash (the SHA-256 hex of a proof's key thumbprint and
 * jti) until expires_at: 0 when it was unseen (or only an expired,
 * unpurged entry had it), PC_ERR_CONFLICT when it is a replay. One
 * atomic statement: of two requests racing with one proof, one wins.
 */
int store_dpop_jti_use(struct db *db, const char *jti_hash, int64_t expires_at,
    int64_t now) PC_WUR;
/* The same inside a write transaction of the caller's. */
int store_dpop_jti_use_tx(struct db_conn *c, const char *jti_hash,
    int64_t expires_at, int64_t now) PC_WUR;
/* DS-04: deletes entries whose expires_at <= now. */
int store_dpop_jtis_purge(struct db *db, int64_t now, int64_t *deleted) PC_WUR;

/* ---- end DPoP replay cache ---- */

#endif
