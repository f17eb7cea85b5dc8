/*
 * Service accounts and workload-federation trusts read and removed
 * through the domain (issue 17 item 1; src/machine/ops.c): the admin
 * API's routes call these, never the store. A malformed id is
 * PC_ERR_NOT_FOUND before any store access. Kept beside machine.h,
 * which is at its size limit.
 */
#ifndef PC_MACHINE_OPS_H
#define PC_MACHINE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

struct db;
struct store_service_account;
struct store_wif_trust;

/* store_service_account_clear / store_service_accounts_free. */
int service_account_get(
    struct db *db, const char *id, struct store_service_account *out) PC_WUR;
int service_account_list(
    struct db *db, struct store_service_account **out, size_t *n) PC_WUR;
/* The ids of the clients bound to id (store_strv_free). */
int service_account_client_ids(
    struct db *db, const char *id, char ***out, size_t *n) PC_WUR;
/* store_wif_trust_clear / store_wif_trusts_free. */
int wif_trust_get(
    struct db *db, const char *id, struct store_wif_trust *out) PC_WUR;
int
wif_trust_list(struct db *db, struct store_wif_trust **out, size_t *n) PC_WUR;
/* Deletes the trust and its rules, and forgets every cached JWKS. */
int wif_trust_delete(struct db *db, const char *id) PC_WUR;
/* PC_ERR_NOT_FOUND for no such trust or rule. */
int
wif_rule_remove(struct db *db, const char *trust_id, int64_t rule_no) PC_WUR;

#endif
