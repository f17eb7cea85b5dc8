/*
 * The store's service accounts and groups (migration 0022; issue 14):
 * machine principals, the groups users and service accounts belong to,
 * and their memberships. Validation lives in src/machine/ (service
 * accounts and groups are created only through it).
 */
#ifndef PC_STORE_SA_H
#define PC_STORE_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* ---- Service accounts (store/service_accounts.c) ---- */

/*
 * A service account. scopes and resources are space-separated lists ("":
 * none; for resources, any registered resource within the scopes).
 * owner_id is NULL when it has no owner; the times are 0 when not set.
 */
struct store_service_account {
	char *id;
	char *name;
	char *description;
	char *owner_id;
	char *scopes;
	char *resources;
	int64_t expires_at;
	int64_t disabled_at;
	int64_t tokens_revoked_at; /* the last disable: older tokens stay dead */
	int64_t created_at;
	int64_t updated_at;
};

void store_service_account_clear(struct store_service_account *sa);
void store_service_accounts_free(struct store_service_account *v, size_t n);
/*
 * Inserts sa. PC_ERR_CONFLICT when its id exists or was ever deleted, or
 * its name is taken.
 */
int store_service_account_insert(
    struct db *db, const struct store_service_account *sa) PC_WUR;
int store_service_account_get(
    struct db *db, const char *id, struct store_service_account *out) PC_WUR;
/* All service accounts, oldest first. */
int store_service_accounts_list(
    struct db *db, struct store_service_account **out, size_t *n) PC_WUR;
/*
 * Replaces name, description, owner_id, scopes, resources, expires_at and
 * updated_at of sa->id. PC_ERR_NOT_FOUND: no such account;
 * PC_ERR_CONFLICT: the name is taken.
 */
int store_service_account_update(
    struct db *db, const struct store_service_account *sa) PC_WUR;
/*
 * disabled_at 0 enables it again; disabling also sets tokens_revoked_at
 * (kept when enabling). PC_ERR_NOT_FOUND: no such account.
 */
int store_service_account_set_disabled(
    struct db *db, const char *id, int64_t disabled_at, int64_t now) PC_WUR;
/* What the liveness check reads (src/machine/live.c); 0 when not set. */
struct store_sa_state {
	int64_t expires_at;
	int64_t disabled_at;
	int64_t tokens_revoked_at;
};
/* One indexed row. PC_ERR_NOT_FOUND: no such account. */
int store_service_account_state(
    struct db *db, const char *id, struct store_sa_state *out) PC_WUR;
/*
 * Deletes the account in one transaction: its group memberships, the
 * clients bound to it (with their URIs and secrets, tombstoned like any
 * deleted client, bumping the clients version: a credential of a deleted
 * account must not outlive it), the row itself, and tombstones its id.
 * *clients / *n_clients (may be NULL) get the ids of the clients deleted
 * (free with store_strv_free). PC_ERR_NOT_FOUND: no such account.
 */
int store_service_account_delete(struct db *db, const char *id, int64_t now,
    char ***clients, size_t *n_clients) PC_WUR;
/* The ids of the clients bound to a service account, oldest first. */
int store_service_account_clients(
    struct db *db, const char *id, char ***out, size_t *n) PC_WUR;
void store_strv_free(char **v, size_t n);

/* ---- end Service accounts ---- */

/* ---- Groups (store/groups.c) ---- */

struct store_group {
	char *id;
	char *name;
	char *description;
	char *scopes;
	int64_t created_at;
	int64_t updated_at;
};

void store_group_clear(struct store_group *g);
void store_groups_free(struct store_group *v, size_t n);
/* PC_ERR_CONFLICT when its id exists or was deleted, or its name is taken. */
int store_group_insert(struct db *db, const struct store_group *g) PC_WUR;
int
store_group_get(struct db *db, const char *id, struct store_group *out) PC_WUR;
/* All groups, by name. */
int
store_groups_list(struct db *db, struct store_group **out, size_t *n) PC_WUR;
/*
 * Deletes the group and its memberships and tombstones its id.
 * PC_ERR_NOT_FOUND: no such group; PC_ERR_CONFLICT when it owns a
 * service account (give the accounts another owner first).
 */
int store_group_delete(struct db *db, const char *id, int64_t now) PC_WUR;
/*
 * Adds member_id (a user or service account) to group_id. Both must exist:
 * PC_ERR_NOT_FOUND otherwise. *added (may be NULL) is false when it was a
 * member already (nothing changes).
 */
int store_group_member_add(struct db *db, const char *group_id,
    const char *member_id, int64_t now, bool *added) PC_WUR;
/* PC_ERR_NOT_FOUND when member_id is not a member of group_id. */
int store_group_member_remove(
    struct db *db, const char *group_id, const char *member_id) PC_WUR;
/* The members of a group, by id. */
int store_group_members(
    struct db *db, const char *group_id, char ***out, size_t *n) PC_WUR;
/* The groups member_id belongs to, by name (the "groups" claim, and the
 * scopes granted to a service account through its groups). */
int store_groups_of(struct db *db, const char *member_id,
    struct store_group **out, size_t *n) PC_WUR;

/* ---- end Groups ---- */

#endif
