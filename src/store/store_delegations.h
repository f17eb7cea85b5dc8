/*
 * Agents and the delegations people gave them (issue 15; SECURITY.md
 * TX-08): disabling or deleting a client revokes every token family it
 * holds in the same transaction, and a user's live delegations (the token
 * families of agents, and of any client holding a grant for a resource)
 * are listed and revoked one by one from the account page. Included at
 * the end of store.h. The rules are in src/oauth/client.c (agents) and
 * src/oauth/delegation.c.
 */
#ifndef PC_STORE_DELEGATIONS_H
#define PC_STORE_DELEGATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* ---- Agents and delegations (store/delegations.c) ---- */

/*
 * Disables client_id (disabled_at = now) and revokes every live token
 * family of it (reason "client_disabled"), in one transaction that also
 * bumps the clients cache version. *families (may be NULL): how many.
 * PC_ERR_NOT_FOUND: no such client, or it was disabled already.
 */
int store_client_disable(struct db *db, const char *client_id, int64_t now,
    int64_t *families) PC_WUR;
/*
 * Revokes every live family of client_id (reason "client_deleted"),
 * counting them into *families (may be NULL), and deletes the client
 * (as store_client_delete), in one transaction.
 */
int store_client_delete_revoking(struct db *db, const char *client_id,
    int64_t now, int64_t *families) PC_WUR;

/* A live delegation: a token family of an agent, or one for a resource. */
struct store_delegation {
	char family_id[48];
	char *client_id;
	char *client_name;
	char *client_kind;  /* "agent" or "client" */
	char *registration; /* "operator", "dynamic", "metadata" */
	char *resource;	    /* NULL: tokens for us */
	char *scope;
	int64_t created_at;
	int64_t expires_at;
	int64_t last_used_at;	 /* family.last_used_at; 0: never */
	int64_t last_refresh_at; /* its last refresh (rotation); 0: none */
};

void store_delegations_free(struct store_delegation *v, size_t n);
/*
 * user_id's live delegations (unrevoked, now < expires_at), newest first,
 * at most max of them.
 */
int store_delegations_list(struct db *db, const char *user_id, int64_t now,
    size_t max, struct store_delegation **out, size_t *n) PC_WUR;
/*
 * Revokes the live family family_id of user_id (reason "user_revoked"):
 * 0 with *client_id (malloc'd) the client that held it, or
 * PC_ERR_NOT_FOUND (not the user's, unknown, or revoked already).
 */
int store_delegation_revoke(struct db *db, const char *user_id,
    const char *family_id, int64_t now, char **client_id) PC_WUR;

/* ---- end Agents and delegations ---- */

#endif
