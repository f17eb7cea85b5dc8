/*
 * The audit log read by principal (issue 14; SECURITY.md TX-07): what a
 * service account, key, client or user did and got, when and from where,
 * and what the inventory (src/machine/inventory.c) learns from the log
 * about a credential's use. Included by store/store.h; the rows are
 * struct store_audit_row (store.h), freed with store_audit_rows_free().
 */
#ifndef PC_STORE_AUDIT_QUERY_H
#define PC_STORE_AUDIT_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

/* ---- Audit query (src/store/audit_query.c) ---- */

/*
 * Which rows: actor = principal or target = principal, with
 * since_ms <= ts_ms < until_ms (INT64_MIN and INT64_MAX: no bound), at
 * most limit of them (1 or more), oldest first.
 */
struct store_audit_filter {
	const char *principal;
	int64_t since_ms;
	int64_t until_ms;
	size_t limit;
};

/*
 * The rows of f from one snapshot, in (ts_ms, seq) order: chained rows
 * and rows still pending (decision 0051: PostgreSQL's rows of the last
 * moments, seq 0 and id set), merged by time, a chained row before a
 * pending one of the same millisecond. *more is true when rows beyond
 * the first limit match too (the answer was cut). PC_ERR_INVALID for an
 * empty principal, a limit of 0 or an empty window.
 */
int store_audit_query(struct db *db, const struct store_audit_filter *f,
    struct store_audit_row **out, size_t *n, bool *more) PC_WUR;

/* Called with each matching row's details (the JSON text; never NULL). A
 * negative return stops the walk and is returned. */
typedef int (*store_audit_details_fn)(void *arg, const char *details);
/*
 * Every chained row with actor = actor (and target = target unless it is
 * NULL), event = event, outcome "success" and ts_ms >= since_ms that has
 * details, oldest first, streamed to fn (no row is kept). The inventory's
 * "scopes used" per credential (a workload trust serves several service
 * accounts: the target tells them apart).
 */
int store_audit_actor_details(struct db *db, const char *actor,
    const char *target, const char *event, int64_t since_ms,
    store_audit_details_fn fn, void *arg) PC_WUR;
/*
 * The ts_ms of the newest row with actor = actor (and target = target
 * unless NULL), event = event and outcome "success", chained or pending;
 * 0 when there is none.
 */
int store_audit_actor_last(struct db *db, const char *actor, const char *target,
    const char *event, int64_t *ts_ms) PC_WUR;

/* ---- end Audit query ---- */

#endif
