/*
 * The store's side of clients that register themselves (migration 0030;
 * issue 15 item 6, SECURITY.md CR-01..05, CR-07; decision 0063): initial
 * access tokens, the registration access tokens of dynamically registered
 * clients (RFC 7591, RFC 7592), metadata-document clients written as they
 * are fetched, and the purge of unused ones. Included at the end of
 * store.h. The policy lives in src/oauth/register*.c and
 * src/oauth/client_metadata.c; every token here is a hex SHA-256.
 */
#ifndef PC_STORE_REGISTRATION_H
#define PC_STORE_REGISTRATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

struct store_client;

/* ---- Initial access tokens (store/registrations.c) ---- */

struct store_initial_token {
	char *token_id; /* rit_...: the public handle */
	char *label;
	int64_t max_clients, used_clients;
	int64_t created_at, expires_at;
	int64_t revoked_at; /* 0: not revoked */
};

void store_initial_tokens_free(struct store_initial_token *v, size_t n);
/* Inserts t with the hash of its secret. PC_ERR_CONFLICT on a taken id. */
int store_initial_token_insert(struct db *db,
    const struct store_initial_token *t, const char *token_hash) PC_WUR;
/* Every initial token, newest first. */
int store_initial_tokens_list(
    struct db *db, struct store_initial_token **out, size_t *n) PC_WUR;
/* Revokes it (once). PC_ERR_NOT_FOUND: no such token, or already revoked. */
int store_initial_token_revoke(
    struct db *db, const char *token_id, int64_t now) PC_WUR;
/* 0 when token_hash names a token that is live at now and not used up;
 * PC_ERR_NOT_FOUND otherwise. Reads only: the use is counted at insert. */
int store_initial_token_usable(
    struct db *db, const char *token_hash, int64_t now) PC_WUR;

/* ---- Dynamically registered clients ---- */

/*
 * Inserts c (its registration 'dynamic') with its secret hash (NULL: no
 * secret) and its registration access token hash, and counts one use of
 * the initial token initial_hash (NULL: open registration), all in one
 * transaction. PC_ERR_PERM: the initial token is unknown, revoked,
 * expired or used up (nothing written). PC_ERR_CONFLICT: the id is taken.
 */
int store_client_register(struct db *db, const struct store_client *c,
    const char *secret_hash, const char *initial_hash, const char *access_hash,
    int64_t now) PC_WUR;
/* The registration access token hash of client_id. PC_ERR_NOT_FOUND: not
 * a dynamically registered client. */
int store_registration_hash(struct db *db, const char *client_id,
    char hash[PC_SHA256_HEX_LEN + 1]) PC_WUR;
/*
 * Replaces c's metadata (as store_client_update) and its registration
 * access token hash old_hash by new_hash, in one transaction: only while
 * old_hash is still the current one (a concurrent update with the same
 * token wins once). PC_ERR_NOT_FOUND otherwise, nothing written.
 */
int store_client_register_update(struct db *db, const struct store_client *c,
    bool drop_secrets, const char *old_hash, const char *new_hash,
    int64_t now) PC_WUR;
/* Deletes client_id (tombstoned) while old_hash is its registration access
 * token hash. PC_ERR_NOT_FOUND otherwise. */
int store_client_register_delete(struct db *db, const char *client_id,
    const char *old_hash, int64_t now) PC_WUR;

/* ---- Metadata-document clients ---- */

/*
 * Writes c (client_id its URL, registration 'metadata') as fetched at
 * c->updated_at: inserted when new, updated in place otherwise (its
 * consents and token families stay). PC_ERR_CONFLICT: the id names a
 * client that is not a metadata-document client.
 */
int
store_client_metadata_put(struct db *db, const struct store_client *c) PC_WUR;

/*
 * CR-07: deletes the self-registered clients (dynamic and metadata)
 * created before created_before that have no token family at all; the
 * dynamic ones are tombstoned. *deleted (may be NULL): how many.
 */
int store_registered_clients_purge(struct db *db, int64_t created_before,
    int64_t now, int64_t *deleted) PC_WUR;

#endif
