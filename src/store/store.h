/*
 * store: the queries, one function per operation. Callers never see SQL.
 * The OAuth tables are declared in store_oauth.h, included at the end.
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
 * Keys that rotate themselves (issue 17, item 6; migration 0034, decision
 * 0076). Each step of a key happens once across nodes: the step's row in
 * signing_key_steps (primary key kid, step) is inserted with ON CONFLICT
 * DO NOTHING, and only the call that inserted it does the step and runs
 * hook->fn (the audit row) in the same transaction; hook->fn failing rolls
 * the whole step back. The store checks each step against its own rows,
 * not the caller's view of them.
 */
enum store_key_step {
	STORE_KEY_SUCCEEDED, /* a successor was added */
	STORE_KEY_RETIRED,   /* a later key of its alg activated */
	STORE_KEY_DROPPED,   /* unpublished for good: the key row is deleted */
};
struct store_key_hook {
	int (*fn)(struct db_conn *c, void *arg, enum store_key_step step,
	    const char *kid, const char *successor);
	void *arg;
};
struct store_key_step_row {
	char *kid;
	enum store_key_step step;
	int64_t done_at;
};
const char *store_key_step_name(enum store_key_step s);
void store_key_steps_free(struct store_key_step_row *v, size_t n);
/* Every recorded step. */
int store_signing_key_steps_list(
    struct db *db, struct store_key_step_row **out, size_t *n) PC_WUR;
/*
 * Inserts k as the successor of pred, if pred is still the newest key of
 * k's alg (no key activates after it) and no successor was added for it
 * yet. *added: whether this call added it (then hook ran).
 */
int store_signing_key_add_successor(struct db *db,
    const struct store_signing_key *k, const char *pred, int64_t now,
    const struct store_key_hook *hook, bool *added) PC_WUR;
/*
 * Records STORE_KEY_RETIRED or STORE_KEY_DROPPED for kid at now, if a
 * later key of its alg activated at or before now - hold (retired: hold 0;
 * dropped: the longest token lifetime plus the margin) and the step is
 * not recorded yet; dropped also deletes the key row. *done: whether this
 * call did it (then hook ran).
 */
int store_signing_key_step(struct db *db, const char *kid,
    enum store_key_step step, int64_t now, int64_t hold,
    const struct store_key_hook *hook, bool *done) PC_WUR;

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
/* At most limit (>= 1) users whose id sorts after after (NULL: from the
 * first), by id (the admin API's pages, issue 17). */
int store_users_page(struct db *db, const char *after, int64_t limit,
    struct store_user **out, size_t *n) PC_WUR;
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
	/* MF-04: a pending second-factor step (user_id NULL), else NULL/0. */
	char *mfa_user_id;
	char *mfa_amr;
	int64_t mfa_expires_at;
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
 * Counts one request for key under scope ("ip:" prefixed by the caller's
 * name, never one of the throttle's own scopes) in the window if its count
 * is below limit (*allowed = true); otherwise counts nothing. One step.
 */
int store_throttle_count_below(struct db *db, const char *scope,
    const char *key, int64_t window_start, int64_t limit, bool *allowed) PC_WUR;
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

/* The OAuth tables. */
#include "store/store_oauth.h"
/* Service accounts and groups (issue 14). */
#include "store/store_sa.h"
/* Resources (issue 14). */
#include "store/store_resources.h"
/* API keys (issue 14). */
#include "store/store_api_keys.h"
/* Workload federation (issue 14). */
#include "store/store_federation.h"
/* The audit log read by principal (TX-07). */
#include "store/store_audit_query.h"
/* Audit retention: prune, anchor, export (issue 17, item 7). */
#include "store/store_audit_prune.h"
/* What the inventory reads that no other module lists. */
#include "store/store_inventory.h"
/* The DPoP proof replay cache (issue 15). */
#include "store/store_dpop.h"
/* Pushed authorization requests (issue 15). */
#include "store/store_par.h"
/* Clients that register themselves (issue 15; store/registrations.c). */
#include "store/store_registration.h"
/* Agents and the delegations people gave them (issue 15). */
#include "store/store_delegations.h"
/* Second factors and passkeys (issue 16). */
#include "store/store_mfa.h"
/* Forward-auth for reverse proxies (issue 17 item 5). */
#include "store/store_fwdauth.h"

#endif
