/*
 * audit: the security event trail (SECURITY.md AU-01, AU-02, AU-05).
 *
 * Each event is one row of the audit_log table. Rows form a hash chain:
 * row n stores mac_n = HMAC-SHA-256(K, "pc-audit-v1" || mac_{n-1} ||
 * encode(row n)), where K is a subkey of the master key (audit_key()) and
 * encode() length-prefixes every column, so no field boundary can shift.
 * audit_verify() walks the chain and names the first row that was edited,
 * deleted or moved; exporting the head (last seq and mac) elsewhere lets a
 * later verify also catch rows deleted from the end.
 *
 * On PostgreSQL (decision 0051) audit_append() does not take the chain's
 * global lock: it inserts the row unchained into audit_pending with its
 * own mac, pmac = HMAC-SHA-256(K, "pc-audit-pending-v1" || id ||
 * encode(row)), durable before it returns, and wakes the chainer.
 * audit_chain() (one at a time across every node) links pending rows in
 * (ts_ms, id) order: it checks each pmac, gives the row the next seq and
 * its chain mac, and moves it into audit_log. A pending row cannot be
 * forged or edited without K; it can be deleted (or a copy taken earlier
 * inserted again) by someone who can write the table, which nothing
 * detects until it is chained. SQLite appends chain at once, as before.
 */
#ifndef PC_AUDIT_H
#define PC_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto/crypto.h"
#include "store/db.h"
#include "store/store.h"
#include "util/util.h"

#define AUDIT_FIELD_MAX 512	 /* text columns are cut to this many bytes */
#define AUDIT_USER_AGENT_MAX 256 /* ... and the user agent to this many */
#define AUDIT_DETAILS_MAX 2048	 /* larger details become {"truncated":true} */
#define AUDIT_SESSION_HASH_HEX 16

/*
 * One event. event and outcome ("success", "failure" or "alert") are
 * required; other strings may be NULL. Strings are stored as given (output
 * escapes them) after cutting to the caps above. details is a JSON object
 * with no secrets (AU-03), stored compact; it is not consumed. ts_ms 0
 * means now.
 */
struct audit_event {
	const char *event;
	const char *outcome;
	const char *actor;
	const char *target;
	const char *ip;
	const char *user_agent;
	const char *request_id;
	const char *session_hash; /* audit_session_hash(), never the id */
	json_t *details;
	int64_t ts_ms;
};

/*
 * Security events in the log stream (issue 17 item 3, decision 0073):
 * every row, once durable (never one rolled back), is also written as
 * one JSON log line {"event":"security","type":<event>,"outcome",...,
 * "details":{...}} with the row's fields, at warn for alerts, else info.
 * AUDIT_LOG_PEOPLE leaves out the routine, high-volume machine-token
 * issues (token.issue successes of grants other than authorization_code
 * and refresh_token); their failures and every alert still go. The
 * process's mode starts AUDIT_LOG_OFF (the CLI); serve sets it from
 * log_security_events.
 */
enum audit_log_mode {
	AUDIT_LOG_OFF = 0,
	AUDIT_LOG_PEOPLE,
	AUDIT_LOG_ALL,
};
/* "off", "people", "all"; 0 or PC_ERR_INVALID. */
int audit_log_mode_parse(const char *s, enum audit_log_mode *out) PC_WUR;
void audit_set_log_mode(enum audit_log_mode m);

/* The chain key: masterkey_derive(mk, "auditlog", 1). Wipe it after use. */
void audit_key(const struct masterkey *mk, uint8_t out[32]);
/* The first 16 hex digits of SHA-256 of a session id. */
void audit_session_hash(
    const char *sid, size_t sid_len, char out[AUDIT_SESSION_HASH_HEX + 1]);

int audit_append(
    struct db *db, const uint8_t key[32], const struct audit_event *ev) PC_WUR;
/* The same event, appended inside the caller's write transaction (c, as
 * given to a db_batch() function): durable with the caller's writes, in
 * the same commit, or not at all. Chained there where appends chain
 * inline (SQLite); a pending row for the chainer elsewhere (PostgreSQL). */
int audit_append_tx(struct db_conn *c, const uint8_t key[32],
    const struct audit_event *ev) PC_WUR;

/*
 * The pending half of audit_append() on its own, whatever the backend
 * (PostgreSQL's appends; tests of the pending path on SQLite): the row is
 * durable in audit_pending on 0; wakes no chainer.
 */
int audit_append_pending(
    struct db *db, const uint8_t key[32], const struct audit_event *ev) PC_WUR;

/*
 * The chainer of this process: called after every pending row is durable
 * (it must only signal, never block). With none set, audit_append() runs
 * one audit_chain() itself after a pending row (the CLI). Set it before
 * any append runs and clear it (NULL) after the last.
 */
void audit_set_chainer(void (*wake)(void *arg), void *arg);
/*
 * Links every pending row it can (see above) and returns 0 with *chained
 * (may be NULL) the rows linked, PC_ERR_BUSY when another chainer runs
 * (it links them), or the store's error. A row whose pending mac does not
 * verify stays pending and is logged (audit.pending_forged).
 */
int audit_chain(struct db *db, const uint8_t key[32], int64_t *chained) PC_WUR;
/* Pending rows older than this are a warning of audit verify: the chainer
 * runs after every append and every second on every node. */
#define AUDIT_PENDING_GRACE_MS 60000

/* A chain head, as exported: the last seq and its mac. */
struct audit_head {
	int64_t seq;
	char mac[PC_SHA256_HEX_LEN + 1]; /* hex HMAC-SHA-256 */
};

enum audit_fault {
	AUDIT_FAULT_NONE = 0,
	AUDIT_FAULT_MAC,       /* row edited: its mac does not verify */
	AUDIT_FAULT_GAP,       /* a seq is missing: row deleted */
	AUDIT_FAULT_CHAIN,     /* prev_mac is not the previous row's mac */
	AUDIT_FAULT_TRUNCATED, /* rows up to the expected head are gone */
	AUDIT_FAULT_HEAD,      /* the row at the expected head differs */
	AUDIT_FAULT_EXTRA,     /* a row with seq < 1: inserted */
	AUDIT_FAULT_PENDING,   /* a pending row's own mac does not verify */
	AUDIT_FAULT_ANCHOR,    /* the prune anchor's own mac does not verify */
};

struct audit_verify_result {
	int64_t rows;	 /* rows checked */
	int64_t bad_seq; /* first bad seq; 0 when the chain is intact */
	enum audit_fault fault;
	char reason[192];	   /* for operators; "" when intact */
	struct audit_head head;	   /* last good row: (0, 64 zeros) when empty */
	int64_t pending;	   /* pending rows whose own mac verifies */
	int64_t pending_stale;	   /* ... of them older than the grace */
	int64_t pending_oldest_ms; /* the oldest one's ts_ms; 0: none */
	char bad_pending[STORE_AUDIT_ID_HEX + 1]; /* AUDIT_FAULT_PENDING */
	int64_t anchor_seq; /* the prune anchor the walk began at; 0: none */
};

const char *audit_fault_name(enum audit_fault f);
/*
 * Walks every row in seq order, then every pending row. Returns 0 when the
 * chain is intact (and, with expect, reaches expect->seq with expect->mac)
 * and every pending row's own mac verifies (out->pending counts them,
 * out->pending_stale those older than AUDIT_PENDING_GRACE_MS now),
 * PC_ERR_VERIFY with out saying where and why when not, or another
 * PC_ERR_* when the store fails.
 */
int audit_verify(struct db *db, const uint8_t key[32],
    const struct audit_head *expect, struct audit_verify_result *out) PC_WUR;

/*
 * Retention (issue 17, item 7; decision 0077). The chain may begin after
 * an anchor: the last pruned row's (seq, mac), recorded by `audit prune`
 * with its own mac, amac = HMAC-SHA-256(K, "pc-audit-anchor-v1" || every
 * other column of struct store_audit_anchor). audit_verify() starts from
 * the newest anchor (AUDIT_FAULT_ANCHOR when its amac does not verify; a
 * row at or below it is AUDIT_FAULT_EXTRA; the first row must be
 * anchor.seq + 1 and link to anchor.mac, else GAP or CHAIN).
 */
void audit_anchor_mac(const uint8_t key[32], const struct store_audit_anchor *a,
    char out[PC_SHA256_HEX_LEN + 1]);
bool audit_anchor_ok(const uint8_t key[32], const struct store_audit_anchor *a);
/* The audit key's id for exports: "auditlog/1:" and 16 hex digits of
 * HMAC-SHA-256(K, "pc-audit-key-id-v1"); names the key, reveals nothing. */
#define AUDIT_KEY_ID_MAX 32
void audit_key_id(const uint8_t key[32], char out[AUDIT_KEY_ID_MAX]);

/*
 * The walk of audit_verify() over rows from elsewhere (an export, the
 * rows prune is about to delete): begin at (seq, mac), then each row in
 * seq order; 0 or PC_ERR_VERIFY with out saying why, as audit_verify().
 */
void audit_verify_begin(
    struct audit_verify_result *out, int64_t seq, const char *mac);
int audit_verify_row(const uint8_t key[32], const struct store_audit_row *row,
    struct audit_verify_result *out) PC_WUR;

/* What audit_prune() did. */
struct audit_prune_result {
	int64_t rows;	   /* rows deleted, all transactions */
	int64_t first_seq; /* the first deleted; 0 when none */
	int64_t txs;	   /* transactions (one anchor and audit.prune each) */
	struct store_audit_anchor anchor; /* the newest (pruned 0: none) */
};
#define AUDIT_PRUNE_TX_ROWS 100000 /* rows per transaction, at most */
/*
 * Deletes every row older than cutoff_ms that a whole prefix of the chain
 * allows (store_audit_prune()), in transactions of at most max_rows rows,
 * each of which first verifies the rows it deletes from the current
 * anchor (a broken chain is never pruned: PC_ERR_VERIFY, res->verify
 * says where), records the new anchor and appends an audit.prune row
 * (actor "cli", details: from_seq, to_seq, rows, cutoff_ms) to the chain.
 * On any error nothing of that transaction is kept; earlier ones are.
 */
int audit_prune(struct db *db, const uint8_t key[32], int64_t cutoff_ms,
    int64_t max_rows, struct audit_prune_result *res,
    struct audit_verify_result *verify) PC_WUR;

/* ---- The audit log read by principal (src/audit/query.c) ---- */

#define AUDIT_QUERY_MAX 100000 /* rows in one answer */

/* An id as an actor or target column holds it: printable text of 1 to
 * AUDIT_FIELD_MAX bytes. */
bool audit_principal_ok(const char *p);
/*
 * The rows where f->principal is actor or target, in f's window, oldest
 * first, at most f->limit (1..AUDIT_QUERY_MAX); *more when more match.
 * PC_ERR_INVALID for a principal, limit or window out of bounds.
 * store_audit_rows_free(*out, *n).
 */
int audit_query(struct db *db, const struct store_audit_filter *f,
    struct store_audit_row **out, size_t *n, bool *more) PC_WUR;

#endif
