/*
 * store: the queries, one function per operation. Callers never see SQL.
 */
#ifndef PC_STORE_H
#define PC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/*
 * Migrations. The store's schema version (0 for an empty store), read
 * under the write lock and changing nothing; the newest this binary knows.
 */
int store_schema_version(struct db *db, int *out) PC_WUR;
int store_schema_latest(void);
/*
 * Applies pending migrations, each in its own transaction together with
 * its schema_version row, under the write lock (nodes migrating at once
 * apply each migration once). On failure the failing migration leaves no
 * trace and err says why. A store newer than this binary is left alone:
 * 0, with *from = *to = its version (> store_schema_latest()).
 */
int store_migrate(
    struct db *db, int *from, int *to, char *err, size_t err_len) PC_WUR;

/* Signing keys. */
struct store_signing_key {
	char *kid;
	char *alg;
	char *public_jwk;
	char *private_sealed;
	int64_t created_at;
	int64_t activate_at;
};

void store_signing_key_clear(struct store_signing_key *k);
void store_signing_keys_free(struct store_signing_key *v, size_t n);
/* All keys, oldest first by activate_at. */
int store_signing_keys_list(
    struct db *db, struct store_signing_key **out, size_t *n) PC_WUR;
int store_signing_key_insert(
    struct db *db, const struct store_signing_key *k) PC_WUR;
/*
 * Inserts k only if no key of its alg exists yet (first start; safe when
 * several nodes start at once). *inserted says whether it did.
 */
int store_signing_key_insert_first(
    struct db *db, const struct store_signing_key *k, bool *inserted) PC_WUR;

/*
 * The master-key check (migration 0016): one value sealed under the master
 * key, so that a store always holds something to prove the key against.
 * get: PC_ERR_NOT_FOUND when there is no row yet. put_first inserts it
 * unless a row is there already (nodes starting at once keep the first);
 * read it back to know which one won.
 */
int store_key_check_get(struct db *db, char **sealed) PC_WUR;
int store_key_check_put_first(
    struct db *db, const char *sealed, int64_t now) PC_WUR;
/* /readyz: one small write (an upsert of one row) to prove writes work. */
int store_health_probe(struct db *db, int64_t now) PC_WUR;

#define STORE_AUDIT_ID_HEX 32 /* a pending row's id: 16 random bytes */

/*
 * Audit log (SECURITY.md AU-05). Rows are only inserted, never updated or
 * deleted. Text members are NULL for an SQL NULL; event and outcome are
 * never NULL. prev_mac and mac are 64 lower-case hex digits.
 */
struct store_audit_row {
	int64_t seq;
	int64_t ts_ms;
	char *event;
	char *outcome;
	char *actor;
	char *target;
	char *ip;
	char *user_agent;
	char *request_id;
	char *session_hash;
	char *details;
	char prev_mac[PC_SHA256_HEX_LEN + 1];
	char mac[PC_SHA256_HEX_LEN + 1];
	/* A pending row (audit_pending): its id; seq 0, prev_mac "", and mac
	 * is the row's own pending mac. "" for a chained row. */
	char id[STORE_AUDIT_ID_HEX + 1];
};

void store_audit_row_clear(struct store_audit_row *row);
void store_audit_rows_free(struct store_audit_row *v, size_t n);
/*
 * Fills row->mac from the rest of row (seq and prev_mac already set).
 * Called inside the append transaction; returns 0 or a PC_ERR_*.
 */
typedef int (*store_audit_mac_fn)(void *arg, struct store_audit_row *row);
/*
 * Appends row as the next link in one write transaction: reads the last
 * (seq, mac), sets row->seq to seq + 1 and row->prev_mac to that mac (64
 * zeros for the first row), lets mac() fill row->mac, inserts. Concurrent
 * appenders serialize on the write lock; a lost race is retried.
 */
int store_audit_append(struct db *db, struct store_audit_row *row,
    store_audit_mac_fn mac, void *arg) PC_WUR;
/* The same link, inside a write transaction the caller holds (c, as given
 * to a db_batch() function): the row is durable with the caller's writes
 * or not at all. Not retried: a lost race fails the caller's transaction. */
int store_audit_append_tx(struct db_conn *c, struct store_audit_row *row,
    store_audit_mac_fn mac, void *arg) PC_WUR;
/* Up to limit rows with seq >= from_seq, in seq order. */
int store_audit_list(struct db *db, int64_t from_seq, size_t limit,
    struct store_audit_row **out, size_t *n) PC_WUR;
/* The last limit rows: chained ones in seq order, then pending ones (seq
 * 0, id set) in the order the chainer will link them, from one snapshot. */
int store_audit_tail(struct db *db, size_t limit, struct store_audit_row **out,
    size_t *n) PC_WUR;
int store_audit_count(struct db *db, int64_t *out) PC_WUR;

/*
 * Pending audit rows (decision 0051). Where writers are not serialized
 * anyway (PostgreSQL), an audit row is first inserted unchained into
 * audit_pending, under row->id with row->mac its own pending mac, in a
 * write transaction that takes no global lock (DB_WRITE_UNLOCKED); the
 * chainer later moves it into the chain. true where an append chains in
 * its own transaction instead (SQLite: one writer at a time, so the chain
 * costs no extra wait there).
 */
bool store_audit_chains_inline(struct db *db);
/* The same for the db of c (a connection a db_batch() function holds). */
bool store_audit_tx_chains_inline(struct db_conn *c);
/* Inserts a pending row (id and mac set by the caller); durable on 0. */
int store_audit_append_pending(
    struct db *db, const struct store_audit_row *row) PC_WUR;
/* The same inside the caller's write transaction: durable with it. */
int store_audit_append_pending_tx(
    struct db_conn *c, const struct store_audit_row *row) PC_WUR;
/*
 * The chainer's check and link for one pending row: seq and prev_mac are
 * set; returns 0 with row->mac the chain mac to chain it, 1 to leave it
 * pending (its pending mac does not verify), or a negative PC_ERR_*.
 */
typedef int (*store_audit_link_fn)(void *arg, struct store_audit_row *row);
/*
 * One chainer step, in one DB_WRITE_SINGLETON transaction: up to limit
 * pending rows after the cursor (*after_ts, after_id; start with
 * INT64_MIN and ""), in (ts_ms, id) order, each for which link() returns
 * 0 inserted into audit_log as the next link and deleted from
 * audit_pending. *read gets the rows read, *chained those chained, and the
 * cursor moves past the last row read. PC_ERR_BUSY at once when another
 * chainer runs (on any node); a conflict (a writer of an older version
 * took the same seq) rolls the step back and is returned.
 */
int store_audit_chain(struct db *db, int64_t *after_ts,
    char after_id[STORE_AUDIT_ID_HEX + 1], size_t limit,
    store_audit_link_fn link, void *arg, size_t *read, size_t *chained) PC_WUR;
/* Up to limit pending rows after the cursor, in (ts_ms, id) order. */
int
store_audit_pending_list(struct db *db, int64_t after_ts, const char *after_id,
    size_t limit, struct store_audit_row **out, size_t *n) PC_WUR;
/* Whether any row is pending (one cheap read). */
int store_audit_pending_any(struct db *db, bool *out) PC_WUR;

/*
 * Users (src/store/users.c). id is the OIDC sub: opaque, immutable, never
 * reused (deleted ids are kept in deleted_users and refused on insert).
 * email_key is the email with ASCII letters lower-cased; lookups by email
 * go through it, so they are case-insensitive.
 */
struct store_user {
	char *id;
	char *email; /* as entered */
	char *email_key;
	bool email_verified;
	char *name;
	int64_t created_at;
	int64_t updated_at;
	int64_t disabled_at; /* 0: not disabled */
};

void store_user_clear(struct store_user *u);
void store_users_free(struct store_user *v, size_t n);
/* The lookup key of an email: ASCII lower-cased copy (caller frees). */
char *store_email_key(const char *email);
/*
 * Inserts u (its email_key is computed from email) and, when password_phc
 * is not NULL, its password credential, in one transaction.
 * PC_ERR_CONFLICT: the email_key or id is taken, or the id was deleted.
 */
int store_user_insert(
    struct db *db, const struct store_user *u, const char *password_phc) PC_WUR;
/* PC_ERR_NOT_FOUND when absent. */
int
store_user_get(struct db *db, const char *id, struct store_user *out) PC_WUR;
int store_user_get_by_email(
    struct db *db, const char *email, struct store_user *out) PC_WUR;
/* All users, oldest first. */
int store_users_list(struct db *db, struct store_user **out, size_t *n) PC_WUR;
int store_user_set_name(
    struct db *db, const char *id, const char *name, int64_t now) PC_WUR;
int store_user_set_verified(
    struct db *db, const char *id, bool verified, int64_t now) PC_WUR;
/*
 * An operator's change, in one transaction: name and email when not NULL,
 * email_verified when verified is 0 or 1 (-1: unchanged). A new email
 * clears email_verified first (verified = 1 then verifies it again) and
 * deletes every one-time token of the user (reset and verification links
 * went to the old address, RS-03). PC_ERR_CONFLICT: the email (any case)
 * belongs to another user; PC_ERR_NOT_FOUND; PC_ERR_INVALID: nothing to
 * change.
 */
int store_user_update(struct db *db, const char *id, const char *name,
    const char *email, int verified, int64_t now) PC_WUR;
/* disabled_at 0 enables the user again. */
int store_user_set_disabled(
    struct db *db, const char *id, int64_t disabled_at, int64_t now) PC_WUR;
/*
 * Sets (inserts or replaces) the Argon2id PHC string of a user and, in the
 * same transaction, deletes every session of the user except the one whose
 * id hash is keep_session_hash (NULL: all of them).
 */
int store_password_set(struct db *db, const char *user_id, const char *phc,
    const char *keep_session_hash, int64_t now) PC_WUR;
/*
 * PW-02 re-hash after a login: replaces the password hash with new_phc only
 * while it is still old_phc (a password set meanwhile wins); sessions are
 * untouched. PC_ERR_NOT_FOUND when the hash changed or is gone.
 */
int store_password_rehash(struct db *db, const char *user_id,
    const char *old_phc, const char *new_phc, int64_t now) PC_WUR;
/* *out (caller frees) or PC_ERR_NOT_FOUND when the user has no password. */
int store_password_get(struct db *db, const char *user_id, char **out) PC_WUR;
/* Deletes the user and its credentials and keeps a tombstone of the id. */
int store_user_delete(struct db *db, const char *id, int64_t now) PC_WUR;

/* ---- Sessions (src/store/sessions.c; SECURITY.md SS-01..SS-10, DS-04) ---- */

/*
 * A browser session row. id_hash is the lower-case hex SHA-256 of the
 * 32-byte session id; the id itself is never stored (SS-03). user_id is
 * NULL for a pre-session. ip and user_agent may be NULL.
 */
struct store_session {
	char id_hash[PC_SHA256_HEX_LEN + 1];
	char *user_id; /* NULL: pre-session */
	int64_t created_at;
	int64_t last_seen_at;
	int64_t auth_time; /* 0 for a pre-session */
	int64_t expires_at;
	char *ip;
	char *user_agent;
	char *amr;
};

void store_session_clear(struct store_session *s);
void store_sessions_free(struct store_session *v, size_t n);
/* PC_ERR_CONFLICT when id_hash exists (never overwritten). */
int store_session_insert(struct db *db, const struct store_session *s) PC_WUR;
/* PC_ERR_NOT_FOUND when absent. */
int store_session_get(
    struct db *db, const char *id_hash, struct store_session *out) PC_WUR;
/*
 * Sets last_seen_at = now when it is older than now (never moves back).
 * PC_ERR_NOT_FOUND when the session is gone.
 */
int store_session_touch(struct db *db, const char *id_hash, int64_t now) PC_WUR;
/* PC_ERR_NOT_FOUND when absent. */
int store_session_delete(struct db *db, const char *id_hash) PC_WUR;
/*
 * In one transaction: deletes old_hash (when not NULL; absent is fine)
 * and inserts s. SS-01: the old id never survives its successor. DS-04:
 * with max_per_user > 0, the user keeps only the newest max_per_user
 * sessions (older ones are deleted in the same transaction); with
 * max_pre_ip > 0, a pre-session (user_id NULL) likewise leaves at most
 * max_pre_ip pre-sessions for its ip.
 */
int store_session_replace(struct db *db, const char *old_hash,
    const struct store_session *s, int64_t max_per_user,
    int64_t max_pre_ip) PC_WUR;
/*
 * Deletes every session of user_id except except_hash (NULL: all).
 * *deleted (may be NULL) gets the count.
 */
int store_sessions_delete_user(struct db *db, const char *user_id,
    const char *except_hash, int64_t *deleted) PC_WUR;
/* A user's sessions, most recently seen first. */
int store_sessions_list_user(struct db *db, const char *user_id,
    struct store_session **out, size_t *n) PC_WUR;
/*
 * DS-04: deletes sessions with now >= expires_at or idle for at least
 * idle seconds (now - last_seen_at >= idle). *deleted may be NULL.
 */
int store_sessions_purge(
    struct db *db, int64_t now, int64_t idle, int64_t *deleted) PC_WUR;
/*
 * SS-08: in one transaction, sets the user's disabled_at = now and
 * deletes all the user's sessions. PC_ERR_NOT_FOUND for an unknown user
 * (nothing changes).
 */
int store_user_disable_and_revoke(
    struct db *db, const char *user_id, int64_t now) PC_WUR;

/* ---- end Sessions ---- */

/* ---- One-time user tokens (store/user_tokens.c) ---- */

/*
 * A password-reset or email-verification token (SECURITY.md RS-02..RS-04,
 * RS-10). token_hash is the lower-case hex SHA-256 of the token's 32
 * random bytes; the token itself is never stored. email is the exact
 * address the token was sent to. purpose points to one of the constants.
 */
#define STORE_USER_TOKEN_RESET "reset"
#define STORE_USER_TOKEN_VERIFY "verify"
struct store_user_token {
	char token_hash[PC_SHA256_HEX_LEN + 1];
	char *user_id;
	const char *purpose; /* STORE_USER_TOKEN_RESET or _VERIFY */
	char *email;
	int64_t created_at;
	int64_t expires_at; /* live while now < expires_at */
};

/* Frees the members and wipes the struct. */
void store_user_token_clear(struct store_user_token *t);
/*
 * In one transaction: deletes every token of t->purpose for t->user_id
 * (RS-03), then inserts t. PC_ERR_CONFLICT when the hash exists or the
 * user does not.
 */
int
store_user_token_issue(struct db *db, const struct store_user_token *t) PC_WUR;
/* The row of (token_hash, purpose), whatever its expiry; PC_ERR_NOT_FOUND. */
int store_user_token_get(struct db *db, const char *token_hash,
    const char *purpose, struct store_user_token *out) PC_WUR;
/*
 * Single use, in one transaction: deletes the row of (token_hash,
 * purpose) and returns it when now < expires_at. An expired row is
 * deleted too, and gives PC_ERR_NOT_FOUND like an unknown one. Taking a
 * reset token also deletes the user's other reset tokens (RS-03).
 */
int store_user_token_take(struct db *db, const char *token_hash,
    const char *purpose, int64_t now, struct store_user_token *out) PC_WUR;
/* Deletes user_id's tokens of purpose (NULL: all). *deleted may be NULL. */
int store_user_tokens_delete_user(struct db *db, const char *user_id,
    const char *purpose, int64_t *deleted) PC_WUR;
/* Deletes every token with expires_at <= now. *deleted may be NULL. */
int
store_user_tokens_purge(struct db *db, int64_t now, int64_t *deleted) PC_WUR;

/* ---- end One-time user tokens ---- */

/* ---- Throttling (store/throttle.c) ---- */

/*
 * Counters behind the login throttle and the mail limits (SECURITY.md
 * LG-03, LG-04, RS-07); the policy is in src/auth/throttle.c. Windowed
 * counts are per fixed window identified by window_start (the caller
 * aligns it). Keys are at most STORE_THROTTLE_KEY_MAX bytes, never empty.
 * Each function is one transaction.
 */
#define STORE_THROTTLE_KEY_MAX 128
#define STORE_THROTTLE_FAILURES_CAP INT64_C(1000000000)

/* What a sign-in attempt found, before its own count. */
struct store_throttle_login {
	int64_t failures;	 /* consecutive; pending attempts included */
	int64_t last_failure_at; /* of the latest counted attempt; 0: none */
	int64_t ip_count;	 /* attempts from ip in the window */
	int64_t subnet_count;	 /* ... from subnet */
	int64_t global_count;	 /* ... from anywhere */
	bool device;		 /* counted on a live device cookie */
};

/* One sign-in attempt's keys (all hashed or canonical by the caller). */
struct store_throttle_attempt {
	const char *account_key;
	const char *ip;
	const char *subnet;
	const char *device_hash; /* NULL: no device cookie presented */
	const char *user_id;	 /* the account's user (device cookies) */
	int64_t now;
	int64_t window_start;
	int64_t device_limit; /* failures a device cookie may have */
};

/* The policy: true lets the attempt through (its counts stay). */
typedef bool (*store_throttle_decide_fn)(
    void *arg, const struct store_throttle_login *seen);
/*
 * LG-03, LG-04: counts one attempt before its password is checked, in
 * the transaction that checks the limits: the account's failures and the
 * ip, subnet and global window counts + 1, and, when device_hash names a
 * live device cookie of user_id with failures < device_limit, that
 * cookie's failures + 1 too (*device = true, seen->device). decide() then
 * sees the counts from before this attempt; false rolls everything back
 * (*allowed = false, nothing counted). When allowed, last_failure_at =
 * now (never moved back). The attempt now counts as a failure until
 * store_throttle_login_end.
 */
int store_throttle_login_begin(struct db *db,
    const struct store_throttle_attempt *a, store_throttle_decide_fn decide,
    void *arg, bool *allowed, bool *device) PC_WUR;
/*
 * Settles an allowed attempt that was not a failure. success: the
 * account's row goes (and a device cookie's failures are 0 again);
 * otherwise (the password was never checked) the attempt's own counts
 * are taken back. The window counts go back either way: they count
 * failures. device: what begin said.
 */
int store_throttle_login_end(struct db *db,
    const struct store_throttle_attempt *a, bool device, bool success) PC_WUR;
/* Deletes the account's failure row (absent is fine). */
int store_throttle_account_reset(struct db *db, const char *account_key) PC_WUR;
/*
 * TK-08: failed client authentications in the window from ip and from the
 * (client, ip) pair (pair_key: a hash naming both). One read transaction.
 */
int
store_throttle_client_read(struct db *db, const char *ip, const char *pair_key,
    int64_t window_start, int64_t *ip_count, int64_t *pair_count) PC_WUR;
/* One failed client authentication: + 1 for ip and for the pair. */
int store_throttle_client_failure(struct db *db, const char *ip,
    const char *pair_key, int64_t window_start) PC_WUR;
/* Deletes the pair's counts in every window (absent is fine). */
int store_throttle_client_clear(struct db *db, const char *pair_key) PC_WUR;
/*
 * Counts one mail request from client in the window if its count is below
 * limit (*allowed = true); otherwise counts nothing (*allowed = false).
 * Check and count are one statement.
 */
int store_throttle_mail_ip(struct db *db, const char *client,
    int64_t window_start, int64_t limit, bool *allowed) PC_WUR;
/*
 * Counts one mail against pair_key (account and client) and account_key
 * (the account over all clients) in the window if both counts are below
 * their limits (*allowed = true); otherwise counts nothing (*allowed =
 * false). Check and count are one atomic step.
 */
int store_throttle_mail_account(struct db *db, const char *account_key,
    const char *pair_key, int64_t window_start, int64_t pair_limit,
    int64_t account_limit, bool *allowed) PC_WUR;
/*
 * DS-04: deletes windows with window_start < windows_before, account rows
 * with last_failure_at < idle_before and failures < lock_after (locked
 * rows stay until a reset), and device cookies with expires_at <= now.
 * *deleted (may be NULL) gets the count.
 */
int
store_throttle_purge(struct db *db, int64_t windows_before, int64_t idle_before,
    int64_t lock_after, int64_t now, int64_t *deleted) PC_WUR;

/*
 * Device cookies (LG-03; src/auth/device.c). Adds id_hash for user_id
 * (live until expires_at) and, in the same transaction, deletes old_hash
 * (may be NULL: the cookie the browser held before) and the user's
 * oldest cookies beyond max_per_user.
 */
int store_device_cookie_add(struct db *db, const char *id_hash,
    const char *user_id, int64_t now, int64_t expires_at, int64_t max_per_user,
    const char *old_hash) PC_WUR;
/* Deletes user_id's device cookies except keep_hash (may be NULL). */
int store_device_cookies_revoke(struct db *db, const char *user_id,
    const char *keep_hash, int64_t *n) PC_WUR;

/* ---- end Throttling ---- */

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
