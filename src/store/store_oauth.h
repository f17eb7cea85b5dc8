/*
 * The store's OAuth tables: clients and their cache versions,
 * authorization codes, refresh-token families, consents, the
 * private_key_jwt replay cache, revoked access tokens and pending
 * authorization requests. Split from store.h (which includes it) along
 * its seam: the account and session tables stay there.
 */
#ifndef PC_STORE_OAUTH_H
#define PC_STORE_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* ---- Clients (store/clients.c) ---- */

/*
 * An OAuth client. grant_types and scopes are space-separated lists;
 * jwks is NULL unless the client uses private_key_jwt. The URI arrays are
 * NULL when empty. Validation lives in src/oauth/client.c.
 */
struct store_client {
	char *client_id;
	char *name;
	bool is_public;
	char *auth_method; /* token_endpoint_auth_method */
	char *grant_types;
	char *scopes;
	char *id_token_alg; /* id_token_signed_response_alg */
	bool first_party;
	/* A refresh of an openid grant re-issues the ID token (OIDC Core
	 * §12.2 makes it optional). The store's default is true; a client
	 * built from zero says false unless it sets it. */
	bool id_token_on_refresh;
	char *jwks;
	/* The service account whose tokens it obtains with
	 * client_credentials (sub = this id; AK-08), or NULL. */
	char *service_account_id;
	/* Issue 15 (migration 0027): "client" or "agent"; the owner
	 * (usr_/grp_, NULL: none); the RFC 8707 resources it may ask for
	 * (space-separated, "" none listed); how many further hops its
	 * tokens may be exchanged through; whether it may hand a token to
	 * another agent, or exchange without "act" (impersonation); whether
	 * it must use DPoP / PAR; extra CORS origins (space-separated); how
	 * it came to be ("operator", "dynamic", "metadata": the last two are
	 * unverified); when it was disabled (0: enabled). */
	char *kind;
	char *owner_id;
	char *resources;
	int64_t max_delegation_depth;
	bool may_delegate;
	bool allow_impersonation;
	bool dpop_required;
	bool par_required;
	char *cors_origins;
	char *registration;
	int64_t disabled_at;
	/* Issue 16 (migration 0032): every sign-in for this client needs a
	 * second factor (amr "mfa"; oauth/authz.c, docs/mfa.md). */
	bool require_mfa;
	int64_t created_at;
	int64_t updated_at;
	char **redirect_uris;
	size_t n_redirect_uris;
	char **post_logout_uris;
	size_t n_post_logout_uris;
};

#define STORE_CLIENT_SECRETS_MAX 2
/* Hex SHA-256 of a client secret's 32 random bytes. */
struct store_client_secret {
	char hash[PC_SHA256_HEX_LEN + 1];
	int64_t created_at;
	int64_t expires_at; /* 0: the current secret */
};

void store_client_clear(struct store_client *c);
void store_clients_free(struct store_client *v, size_t n);
/*
 * Inserts c with its redirect URIs and, if secret_hash is not NULL, its
 * current secret, in one transaction. PC_ERR_CONFLICT when the id exists
 * or was ever deleted.
 */
int store_client_insert(struct db *db, const struct store_client *c,
    const char *secret_hash) PC_WUR;
int store_client_get(
    struct db *db, const char *client_id, struct store_client *out) PC_WUR;
/* All clients, oldest first. */
int
store_clients_list(struct db *db, struct store_client **out, size_t *n) PC_WUR;
/*
 * Replaces every mutable field of client c->client_id (all but is_public
 * and created_at) and both URI lists, in one transaction; with
 * drop_secrets its secrets go too. PC_ERR_NOT_FOUND when no such client.
 */
int store_client_update(
    struct db *db, const struct store_client *c, bool drop_secrets) PC_WUR;
/* Deletes the client, its URIs and secrets, and tombstones its id. */
int
store_client_delete(struct db *db, const char *client_id, int64_t now) PC_WUR;
/*
 * The secrets still accepted at now: the current one and one not yet
 * expired from the previous rotation. *n is 0..STORE_CLIENT_SECRETS_MAX.
 */
int store_client_secrets_get(struct db *db, const char *client_id, int64_t now,
    struct store_client_secret out[STORE_CLIENT_SECRETS_MAX], size_t *n) PC_WUR;
/*
 * In one transaction: drops any previous overlap secret, gives the
 * current secret expires_at = old_expires_at (deleted when that is <=
 * now), inserts new_hash as current. PC_ERR_NOT_FOUND when no such client.
 */
int store_client_secret_rotate(struct db *db, const char *client_id,
    const char *new_hash, int64_t now, int64_t old_expires_at) PC_WUR;

/* ---- end Clients ---- */

/* ---- Cache versions (store/versions.c; migration 0019; TK-07, TK-08) ---- */

struct store_versions {
	int64_t clients; /* + 1 with every client or secret write */
	/* The latest throttle window with a counted client-auth failure
	 * (-1: none); below the current window, TK-08 has nothing to count. */
	int64_t failure_window;
};

/*
 * Both versions in one statement. owner, when not 0, names the caller's
 * cache for one lifetime of db (unique in this process): on SQLite the
 * read is then skipped while PRAGMA data_version on this thread's
 * connection and this process's write generation have not moved since
 * this thread last read for the same owner. Any error: nothing is known.
 */
int store_versions_read(
    struct db *db, uint64_t owner, struct store_versions *out) PC_WUR;

/* ---- end Cache versions ---- */

/* ---- Authorization codes (store/auth_codes.c; TK-01, TK-02) ---- */

#define STORE_AUTH_CODE_KEEP 86400 /* s a used code is kept past expiry */

struct store_auth_code {
	char code_hash[PC_SHA256_HEX_LEN + 1]; /* hex SHA-256 of the code */
	char *client_id;
	char *user_id;
	char *redirect_uri;
	char *code_challenge;
	char *scope;
	char *nonce; /* NULL: none */
	int64_t auth_time;
	char *amr;
	char *sid; /* NULL: none */
	int64_t created_at;
	int64_t expires_at;
	int64_t used_at; /* 0: not redeemed */
	char *family_id; /* tokens issued from it; NULL: none yet */
	char *resource;	 /* RFC 8707 resource (aud); NULL: us */
	/* The delegation's end chosen at consent; 0: the usual lifetime. */
	int64_t grant_expires_at;
};

void store_auth_code_clear(struct store_auth_code *c);
int
store_auth_code_insert(struct db *db, const struct store_auth_code *c) PC_WUR;
/*
 * Redeems a code: in one write transaction, marks it used when it is
 * unused and now < expires_at, then reads it. 0: this caller won; out is
 * the code. PC_ERR_CONFLICT: it had been redeemed before (a replay, or a
 * concurrent redemption that won); out is the row, with family_id when
 * tokens were issued from it (revoke them, TK-02). PC_ERR_NOT_FOUND:
 * unknown, or expired unused; out is empty.
 */
int store_auth_code_redeem(struct db *db, const char *code_hash, int64_t now,
    struct store_auth_code *out) PC_WUR;
/*
 * Records the token family issued from a redeemed code (once). 0: done.
 * PC_ERR_CONFLICT: recorded, but the code was replayed after it was
 * redeemed and before this call (the replay found no family to revoke):
 * revoke family_id now (TK-01). PC_ERR_NOT_FOUND: unknown code, or a
 * family was already recorded.
 */
int store_auth_code_set_family(
    struct db *db, const char *code_hash, const char *family_id) PC_WUR;
/* DS-04: deletes codes STORE_AUTH_CODE_KEEP past their expiry. */
int store_auth_codes_purge(struct db *db, int64_t now, int64_t *deleted) PC_WUR;

/* ---- end Authorization codes ---- */

/* ---- Refresh tokens (store/refresh.c; RT section) ---- */

#define STORE_FAMILY_ID_MAX 48

struct store_family {
	char family_id[STORE_FAMILY_ID_MAX];
	char *client_id;
	char *user_id;
	char *scope;
	int64_t auth_time;
	char *amr;
	char *sid; /* the session it came from; NULL: none */
	int64_t created_at;
	int64_t expires_at; /* absolute end */
	int64_t revoked_at; /* 0: live */
	char *revoke_reason;
	/* Issue 15 (migration 0027): the RFC 8707 resource its access tokens
	 * are for (NULL: the issuer); the DPoP key thumbprint its refresh
	 * tokens are bound to (NULL: none); the last refresh or exchange
	 * (0: none since issued). */
	char *resource;
	char *dpop_jkt;
	int64_t last_used_at;
};

void store_family_clear(struct store_family *f);
/*
 * A new family (the grant: every token issued from one authorization) and
 * its first refresh token (hash; NULL: a grant without refresh tokens,
 * kept so that revoking it kills its access tokens) in one transaction.
 */
int store_family_create(struct db *db, const struct store_family *f,
    const char *token_hash, int64_t token_expires_at) PC_WUR;
/* What one rotation is asked to do. */
struct store_rotate {
	const char *old_hash, *new_hash, *client_id;
	int64_t now, idle;
	/* RT-02 grace: 0 off; else seconds, and new_sealed is the new token
	 * sealed for it (kept on old_hash's row as next_sealed). */
	int64_t grace;
	const char *new_sealed;
	/* AU-01: when not NULL, called in the rotation's own transaction
	 * once it rotated (resent: a grace repeat gets the successor again)
	 * to write the audit row there, so the rotation and its row are
	 * durable together, in one commit, or not at all. Nonzero: the
	 * rotation is rolled back and store_refresh_rotate fails with it. */
	int (*audit)(struct db_conn *c, void *arg, const struct store_family *f,
	    bool resent);
	void *audit_arg;
};

/*
 * Rotation, in one write transaction: consumes old_hash when it is
 * unused, unexpired, and of a live, unexpired family of client_id, and
 * inserts new_hash in that family, expiring at min(now + idle, the
 * family's end). 0: rotated; out is the family. PC_ERR_CONFLICT: old_hash
 * had been used before (reuse): the family is revoked and out says which.
 * PC_ERR_NOT_FOUND: unknown, expired, revoked, or another client's.
 * With in->grace: a repeat of a used old_hash by client_id before
 * used_at + grace, whose successor is still unused and whose family is
 * live, is 0 with *resent set to the sealed successor (malloc'd) and
 * nothing written; every other repeat is reuse as above (and erases the
 * sealed successor). resent may be NULL only when in->grace is 0.
 */
int store_refresh_rotate(struct db *db, const struct store_rotate *in,
    struct store_family *out, char **resent) PC_WUR;
/* Undoes a rotation: deletes new_hash while unused and clears old_hash's
 * used_at, in one transaction. PC_ERR_NOT_FOUND: nothing undone. */
int store_refresh_unrotate(
    struct db *db, const char *old_hash, const char *new_hash) PC_WUR;
/* The family, live or not. PC_ERR_NOT_FOUND when it is gone. */
int store_family_get(
    struct db *db, const char *family_id, struct store_family *out) PC_WUR;
int store_family_revoke(
    struct db *db, const char *family_id, int64_t now, const char *why) PC_WUR;
/* Records a use of the family (a refresh or a token exchange) at now.
 * PC_ERR_NOT_FOUND when it is gone. */
int
store_family_touch(struct db *db, const char *family_id, int64_t now) PC_WUR;
/* RT-05: logout ends the families issued from that session. */
int store_families_revoke_sid(
    struct db *db, const char *sid, int64_t now, const char *why) PC_WUR;
/* A signed-in session replaced by a new sign-in of the same user: its
 * live families follow the new session (sign-out then still ends them). */
int store_families_move_sid(struct db *db, const char *old_sid,
    const char *new_sid, const char *user_id) PC_WUR;
/* DS-04: deletes families past their absolute end, with their tokens,
 * and erases sealed successors older than any grace (10 s). */
int store_families_purge(struct db *db, int64_t now, int64_t *deleted) PC_WUR;

/* ---- end Refresh tokens ---- */

/* ---- Consents (store/consents.c; CF-03) ---- */

struct store_consent {
	char *client_id;
	char *scope;
	int64_t granted_at;
};

void store_consents_free(struct store_consent *v, size_t n);
/* *scope (caller frees) or PC_ERR_NOT_FOUND. */
int store_consent_get(struct db *db, const char *user_id, const char *client_id,
    char **scope) PC_WUR;
/* Inserts or replaces the user's consent for the client. */
int store_consent_put(struct db *db, const char *user_id, const char *client_id,
    const char *scope, int64_t now) PC_WUR;
/* PC_ERR_NOT_FOUND when there was none. */
int store_consent_delete(
    struct db *db, const char *user_id, const char *client_id) PC_WUR;
/* A user's consents, newest first. */
int store_consents_list(struct db *db, const char *user_id,
    struct store_consent **out, size_t *n) PC_WUR;
/*
 * The account page's "Revoke access" (RT-05): deletes the user's consent
 * for the client and revokes every token family of that user and client,
 * in one transaction. *families (may be NULL): how many were revoked.
 * PC_ERR_NOT_FOUND when there was neither consent nor live family.
 */
int store_consent_revoke(struct db *db, const char *user_id,
    const char *client_id, int64_t now, int64_t *families) PC_WUR;
/*
 * Ends sessions of user_id and revokes the token families issued from
 * them (sid = the first 16 hex of the session's id hash; RT-05), in one
 * transaction: only_hash alone when given, else every session but
 * keep_hash (never ended either way). PC_ERR_NOT_FOUND when only_hash
 * named no other session of the user.
 */
int store_sessions_end(struct db *db, const char *user_id,
    const char *only_hash, const char *keep_hash, int64_t now, int64_t *ended,
    int64_t *families) PC_WUR;

/* ---- end Consents ---- */

/* ---- private_key_jwt replay cache (store/assertions.c; TK-09) ---- */

/*
 * Remembers the hash of an assertion's jti for client_id until
 * expires_at: 0 when it was unseen (or only an expired, unpurged entry
 * had it), PC_ERR_CONFLICT when it is a replay. Atomic.
 */
int store_assertion_jti_use(struct db *db, const char *client_id,
    const char *jti_hash, int64_t expires_at, int64_t now) PC_WUR;
/* Deletes entries whose expires_at <= now. */
int
store_assertion_jtis_purge(struct db *db, int64_t now, int64_t *deleted) PC_WUR;

/* ---- end private_key_jwt replay cache ---- */

/* ---- Resource endpoints (store/revoked.c; IR-02, IR-04..06) ---- */

/*
 * Puts an access token's jti on the deny-list until expires_at (its exp);
 * revoking it again is not an error.
 */
int store_access_revoke(struct db *db, const char *jti, const char *client_id,
    int64_t expires_at, int64_t now) PC_WUR;
/* *revoked: the jti is on the deny-list (true as well on failure). */
int store_access_revoked(struct db *db, const char *jti, bool *revoked) PC_WUR;
/* DS-04: forgets jtis whose tokens have expired. */
int
store_access_revoked_purge(struct db *db, int64_t now, int64_t *deleted) PC_WUR;

/* One refresh token, as stored (read only). */
struct store_refresh {
	char family_id[STORE_FAMILY_ID_MAX];
	int64_t created_at;
	int64_t expires_at;
	int64_t used_at; /* 0: not rotated yet */
};

/* By the hex SHA-256 of its raw bytes; PC_ERR_NOT_FOUND when unknown. */
int store_refresh_get(
    struct db *db, const char *token_hash, struct store_refresh *out) PC_WUR;

/* ---- end Resource endpoints ---- */

/* ---- Pending authorization requests (store/authz_requests.c) ---- */

struct store_authz_request {
	char id_hash[PC_SHA256_HEX_LEN + 1]; /* hex SHA-256 of the opaque id */
	char *client_id;
	char *redirect_uri;
	char *state; /* NULL: none */
	char *nonce; /* NULL: none */
	char *code_challenge;
	char *scope;	  /* as it will be granted */
	unsigned prompt;  /* enum az_prompt bits */
	char *login_sid;  /* the session that signed in for it; NULL */
	char *login_hint; /* NULL: none */
	char *hint_sub;	  /* id_token_hint's sub; NULL: none */
	char *resource;	  /* RFC 8707 resource (registered); NULL: us */
	int64_t created_at;
	int64_t expires_at;
};

void store_authz_request_clear(struct store_authz_request *a);
/* Stores a, started from ip; that IP's oldest requests beyond max_per_ip
 * are deleted in the same transaction (DS-04). */
int store_authz_request_put(struct db *db, const struct store_authz_request *a,
    const char *ip, int64_t max_per_ip) PC_WUR;
/* A live request (now < expires_at), or PC_ERR_NOT_FOUND. */
int store_authz_request_get(struct db *db, const char *id_hash, int64_t now,
    struct store_authz_request *out) PC_WUR;
/* Deletes and returns a live request: exactly one caller gets it. */
int store_authz_request_take(struct db *db, const char *id_hash, int64_t now,
    struct store_authz_request *out) PC_WUR;
/* Records the session (16-hex handle) that signed in for a live request. */
int store_authz_request_set_login(
    struct db *db, const char *id_hash, const char *sid, int64_t now) PC_WUR;
/* DS-04: deletes the expired ones. */
int
store_authz_requests_purge(struct db *db, int64_t now, int64_t *deleted) PC_WUR;

/* ---- end Pending authorization requests ---- */

#endif
