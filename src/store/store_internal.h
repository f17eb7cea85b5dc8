/*
 * Shared between store modules, not part of the store's public interface.
 * The *_tx functions run on the caller's connection, inside a transaction
 * the caller holds (a store_tx() or db_batch() callback).
 */
#ifndef PC_STORE_INTERNAL_H
#define PC_STORE_INTERNAL_H

#include <stdint.h>

#include "store/db.h"

/*
 * Deletes a user's sessions, except the one whose id hash is except_hash
 * (NULL: all), and the user's pending second-factor steps (MF-04).
 * *deleted, if not NULL, gets the count. (store/sessions.c)
 */
int store_sessions_delete_user_tx(struct db_conn *c, const char *user_id,
    const char *except_hash, int64_t *deleted) PC_WUR;

/*
 * Deletes a user's one-time tokens of purpose (STORE_USER_TOKEN_*; NULL:
 * all). *deleted, if not NULL, gets the count. (store/user_tokens.c)
 */
int store_user_tokens_delete_user_tx(struct db_conn *c, const char *user_id,
    const char *purpose, int64_t *deleted) PC_WUR;

/*
 * Audit rows read by a query-layer callback (store/audit.c, and the audit
 * query in store/audit_query.c): each call appends one row to a
 * struct store_audit_rows. The chained reader wants the columns seq, ts_ms,
 * event, outcome, actor, target, ip, user_agent, request_id, session_hash,
 * details, prev_mac, mac; the pending reader id, ts_ms, event ... details,
 * mac. NULL stays NULL; a malformed mac or id reads as "".
 */
struct store_audit_rows {
	struct store_audit_row *v;
	size_t n, cap;
};
struct db_stmt;
int store_audit_read_chained(struct db_stmt *s, void *arg);
int store_audit_read_pending(struct db_stmt *s, void *arg);

/*
 * RT-05, SS-07, SS-08: revokes every live token family of a user (password
 * change or reset, disable). (store/refresh.c)
 */
/* SS-08: every live API key of owner_id revoked with reason, in the
 * caller's transaction (a disabled user or service account; api_keys.c). */
int store_api_keys_revoke_owner_tx(struct db_conn *c, const char *owner_id,
    int64_t now, const char *reason) PC_WUR;
int store_families_revoke_user_tx(struct db_conn *c, const char *user_id,
    int64_t now, const char *why) PC_WUR;

/*
 * DS-04: runs sql, a "DELETE ... WHERE <time> <= ? RETURNING 1", with
 * cutoff bound and counts the rows. *deleted (may be NULL) gets the count.
 * (store/db.c)
 */
int store_delete_expired(
    struct db *db, const char *sql, int64_t cutoff, int64_t *deleted) PC_WUR;

/*
 * Issue 4, OI-07: an id, once used, never names anything else. sql is
 * "SELECT 1 FROM <tombstones> WHERE id = ? UNION ALL SELECT 1 FROM <live>
 * WHERE id = ?", run with id bound twice in the caller's transaction: 0
 * when the id is fresh, PC_ERR_CONFLICT when it is taken or was ever
 * deleted. (store/db.c)
 */
int
store_id_fresh_tx(struct db_conn *c, const char *sql, const char *id) PC_WUR;

/*
 * Decision 0049: + 1 on the 'clients' version, in the caller's transaction
 * (every client, URI or secret write). (store/versions.c)
 */
int store_versions_clients_tx(struct db_conn *c) PC_WUR;

/*
 * A client's insert (issue 4's tombstone check included), update and
 * delete (tombstoned) as store_client_insert/_update/_delete do them, in
 * the caller's transaction (store/registrations.c). (store/clients.c)
 */
struct store_client;
int store_client_insert_tx(struct db_conn *conn, const struct store_client *c,
    const char *secret_hash) PC_WUR;
int store_client_update_tx(struct db_conn *conn, const struct store_client *c,
    bool drop_secrets) PC_WUR;
int store_client_delete_tx(
    struct db_conn *conn, const char *client_id, int64_t now) PC_WUR;

/*
 * TK-08: raises 'client_auth_failure_window' to window_start, in the
 * transaction that counts a client-auth failure. (store/versions.c)
 */
int store_versions_failure_tx(struct db_conn *c, int64_t window_start) PC_WUR;

#endif
