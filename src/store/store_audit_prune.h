/*
 * Audit retention (issue 17, item 7; decision 0077): pruning the oldest
 * rows of the chain by whole prefixes, the anchor the remaining chain
 * starts from, and the reads of `audit export`. Included by
 * store/store.h. The macs are the caller's (src/audit/), as for appends:
 * the store never holds the audit key.
 */
#ifndef PC_STORE_AUDIT_PRUNE_H
#define PC_STORE_AUDIT_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* One prune: the last pruned row (seq, mac, ts_ms) and what was pruned. */
struct store_audit_anchor {
	int64_t seq;
	char mac[PC_SHA256_HEX_LEN + 1];
	int64_t ts_ms;
	int64_t first_seq;    /* the first row this prune deleted */
	int64_t pruned;	      /* rows it deleted: seq - first_seq + 1 */
	int64_t cutoff_ms;    /* every row it deleted was older than this */
	int64_t pruned_at_ms; /* when */
	char amac[PC_SHA256_HEX_LEN + 1]; /* the anchor's own mac */
};

/*
 * The calls store_audit_prune() makes inside its transaction; any nonzero
 * return rolls it back (nothing deleted, no anchor) and is returned.
 *   start: the anchor the chain starts from now (seq 0 and 64 zeros when
 *          nothing was pruned yet).
 *   row:   each row to be deleted, in seq order.
 *   done:  a is the new anchor (all but amac); next_prev_mac is the
 *          prev_mac of the first row kept. Fills a->amac, and may write
 *          through c (the audit.prune row).
 */
struct store_audit_prune_ops {
	int (*start)(void *arg, const struct store_audit_anchor *prev);
	int (*row)(void *arg, const struct store_audit_row *row);
	int (*done)(void *arg, struct db_conn *c, struct store_audit_anchor *a,
	    const char *next_prev_mac);
	void *arg;
};

/*
 * One transaction: deletes the oldest rows of audit_log, seq first..N,
 * where N is the largest seq such that every row up to it has ts_ms <
 * cutoff_ms, at most max_rows of them, never the newest row (the next
 * append links to it), and records the anchor of N, replacing the older
 * ones. *out is that anchor, or has pruned 0 when there was nothing to
 * prune (then nothing was written and no callback but start ran).
 * One prune at a time with the chainer (DB_WRITE_SINGLETON): PC_ERR_BUSY
 * when one runs on PostgreSQL.
 */
int store_audit_prune(struct db *db, int64_t cutoff_ms, int64_t now_ms,
    int64_t max_rows, const struct store_audit_prune_ops *ops,
    struct store_audit_anchor *out) PC_WUR;

/* The newest anchor; PC_ERR_NOT_FOUND when nothing was pruned. */
int
store_audit_anchor_get(struct db *db, struct store_audit_anchor *out) PC_WUR;

/*
 * The seq range [*first, *last] of the chained rows with since_ms <=
 * ts_ms < until_ms, found by bisection on seq (ts_ms grows with seq but
 * for the skew of a few milliseconds between nodes: the range is the run
 * of the chain between the first row at or after since_ms and the last
 * before until_ms). PC_ERR_NOT_FOUND when no row is in the window.
 */
int store_audit_seq_range(struct db *db, int64_t since_ms, int64_t until_ms,
    int64_t *first, int64_t *last) PC_WUR;

#endif
