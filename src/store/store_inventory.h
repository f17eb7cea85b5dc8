/*
 * What the inventory (src/machine/inventory.c; issue 14) reads that no
 * other store module lists: the age of each user's password. Included by
 * store/store.h. The other credentials are read through their own
 * modules' list functions.
 */
#ifndef PC_STORE_INVENTORY_H
#define PC_STORE_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* ---- Inventory reads (src/store/inventory.c) ---- */

/* A user's password credential: never its hash. */
struct store_password_info {
	char user_id[64];
	int64_t created_at;
	int64_t updated_at; /* the last set or rehash */
};

/* Every password credential, by user id. *out is the caller's to free. */
int store_password_infos(
    struct db *db, struct store_password_info **out, size_t *n) PC_WUR;

/* ---- end Inventory reads ---- */

#endif
