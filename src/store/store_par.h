/*
 * The store's pushed authorization requests (migration 0029; issue 15
 * item 5, RFC 9126): a validated authorization request a client pushed to
 * /par, named by the SHA-256 of the request_uri it got, taken once at
 * /authorize. Included at the end of store.h. The rules live in
 * src/oauth/par.c.
 */
#ifndef PC_STORE_PAR_H
#define PC_STORE_PAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* ---- Pushed authorization requests (store/par.c) ---- */

struct store_par {
	char uri_hash[PC_SHA256_HEX_LEN + 1]; /* hex SHA-256 of request_uri */
	char *client_id;
	char *params;	    /* form-urlencoded, no client credentials */
	bool public_client; /* pushed without a credential: capped per IP */
	int64_t created_ms; /* orders the DS-04 caps */
	int64_t expires_at;
};

void store_par_clear(struct store_par *p);
/*
 * Stores p, pushed from ip. In the same transaction (DS-04): for a public
 * client, that IP's oldest public pushes beyond max_per_ip are deleted;
 * then the client's oldest beyond max_per_client.
 */
int store_par_put(struct db *db, const struct store_par *p, const char *ip,
    int64_t max_per_ip, int64_t max_per_client) PC_WUR;
/*
 * Deletes and returns the live push (now < expires_at) of client_id named
 * by uri_hash: exactly one caller gets it. Another client's push is
 * PC_ERR_NOT_FOUND and stays (it is not consumed by the wrong client).
 */
int store_par_take(struct db *db, const char *uri_hash, const char *client_id,
    int64_t now, struct store_par *out) PC_WUR;
/* DS-04: deletes the expired ones. */
int store_par_purge(struct db *db, int64_t now, int64_t *deleted) PC_WUR;

/* ---- end Pushed authorization requests ---- */

#endif
