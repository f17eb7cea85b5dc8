/*
 * The store's API-key table (migration 0024; SECURITY.md AK-01..08).
 * Included at the end of store.h. The domain (src/machine/apikey.c)
 * decides; these functions only read and write rows.
 */
#ifndef PC_STORE_API_KEYS_H
#define PC_STORE_API_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* ---- API keys (store/api_keys.c) ---- */

#define STORE_API_KEY_ID_LEN 16 /* base62, the key id inside the key */

/*
 * One key. kind is "sa" or "usr"; secret_hash the hex SHA-256 of the
 * secret; resource_id, revoke_reason, last_used_ip NULL when unset;
 * revoked_at, last_used_at 0 when unset; replaced_by "" when unset.
 */
struct store_api_key {
	char key_id[STORE_API_KEY_ID_LEN + 1];
	char kind[4];
	char *owner_id;
	char secret_hash[PC_SHA256_HEX_LEN + 1];
	char *name;
	char *scopes;
	char *resource_id;
	int64_t created_at;
	int64_t expires_at;
	int64_t revoked_at;
	char *revoke_reason;
	char replaced_by[STORE_API_KEY_ID_LEN + 1];
	int64_t last_used_at;
	char *last_used_ip;
};

void store_api_key_clear(struct store_api_key *k);
void store_api_keys_free(struct store_api_key *v, size_t n);
/* Inserts k (revoked/used/replaced fields ignored). PC_ERR_CONFLICT when
 * the key id exists. */
int store_api_key_insert(struct db *db, const struct store_api_key *k) PC_WUR;
/* The key with key_id; PC_ERR_NOT_FOUND when there is none. */
int store_api_key_get(
    struct db *db, const char *key_id, struct store_api_key *out) PC_WUR;
/* Every key, or owner_id's (owner_id not NULL), newest first. */
int store_api_keys_list(struct db *db, const char *owner_id,
    struct store_api_key **out, size_t *n) PC_WUR;
/*
 * Revokes key_id unless it is revoked already: *changed says whether this
 * call did (a second revoke keeps the first time and reason).
 */
int store_api_key_revoke(struct db *db, const char *key_id, int64_t now,
    const char *reason, bool *changed) PC_WUR;
/* Revokes every unrevoked key of owner_id; *n gets how many. */
int store_api_keys_revoke_owner(struct db *db, const char *owner_id,
    int64_t now, const char *reason, int64_t *n) PC_WUR;
/*
 * Rotation in one transaction: inserts successor and, if old_id is still
 * unrevoked and not replaced, sets its replaced_by to the successor and
 * its expires_at to min(expires_at, old_expires_at). PC_ERR_NOT_FOUND
 * (and nothing written) when old_id is missing, revoked or already
 * replaced; PC_ERR_CONFLICT when the successor's id exists.
 */
int store_api_key_rotate(struct db *db, const char *old_id,
    int64_t old_expires_at, const struct store_api_key *successor) PC_WUR;
/*
 * Records a use: last_used_at = now and last_used_ip = ip, only when the
 * last recorded use is older than now - min_interval (or none).
 * *written says whether it wrote (so nodes racing write once).
 */
int store_api_key_touch(struct db *db, const char *key_id, int64_t now,
    const char *ip, int64_t min_interval, bool *written) PC_WUR;

/*
 * AK-03 (src/store/throttle.c, next to the other counters): failed
 * API-key authentications from ip (canonical) in the fixed window that
 * starts at window_start. read: one read transaction; failure: + 1.
 */
int store_throttle_apikey_read(
    struct db *db, const char *ip, int64_t window_start, int64_t *count) PC_WUR;
int store_throttle_apikey_failure(
    struct db *db, const char *ip, int64_t window_start) PC_WUR;

/* ---- end API keys ---- */

#endif
