/*
 * Audit retention (issue 17, item 7; decision 0077): audit_prune() drives
 * store_audit_prune() one transaction at a time, checking that the rows
 * it deletes still verify from the current anchor, giving the new anchor
 * its mac and recording the prune as an audit.prune row in the chain.
 */
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "store/store.h"
#include "util/log.h"

struct prune_ctx {
	const uint8_t *key;
	struct audit_verify_result *verify;
	int64_t cutoff_ms;
};

/* The anchor the rows to delete must link to: it must be ours. */
static int
prune_start(void *arg, const struct store_audit_anchor *prev)
{
	struct prune_ctx *p = arg;

	audit_verify_begin(p->verify, prev->seq, prev->mac);
	if (prev->seq > 0 && !audit_anchor_ok(p->key, prev)) {
		p->verify->fault = AUDIT_FAULT_ANCHOR;
		p->verify->bad_seq = prev->seq;
		snprintf(p->verify->reason, sizeof(p->verify->reason),
		    "the prune anchor at seq %lld was edited or forged: its "
		    "mac does not verify (or wrong master key)",
		    (long long)prev->seq);
		return PC_ERR_VERIFY;
	}
	return 0;
}

/* A broken chain is evidence: never deleted. */
static int
prune_row(void *arg, const struct store_audit_row *row)
{
	struct prune_ctx *p = arg;

	return audit_verify_row(p->key, row, p->verify);
}

static int
prune_done(void *arg, struct db_conn *c, struct store_audit_anchor *a,
    const char *next_prev_mac)
{
	struct prune_ctx *p = arg;
	struct audit_event ev = {
		.event = "audit.prune",
		.outcome = "success",
		.actor = "cli",
		.target = "audit_log",
	};
	int r;

	/* The first row kept must link to the new anchor. */
	if (strlen(next_prev_mac) != PC_SHA256_HEX_LEN ||
	    sodium_memcmp(next_prev_mac, a->mac, PC_SHA256_HEX_LEN) != 0) {
		p->verify->fault = AUDIT_FAULT_CHAIN;
		p->verify->bad_seq = a->seq + 1;
		snprintf(p->verify->reason, sizeof(p->verify->reason),
		    "prev_mac is not the mac of seq %lld: rows deleted, "
		    "inserted or reordered",
		    (long long)a->seq);
		return PC_ERR_VERIFY;
	}
	audit_anchor_mac(p->key, a, a->amac);
	ev.details = json_pack("{s:I, s:I, s:I, s:I, s:s}", "from_seq",
	    (json_int_t)a->first_seq, "to_seq", (json_int_t)a->seq, "rows",
	    (json_int_t)a->pruned, "cutoff_ms", (json_int_t)p->cutoff_ms,
	    "anchor_mac", a->mac);
	if (ev.details == NULL)
		return PC_ERR_INTERNAL;
	r = audit_append_tx(c, p->key, &ev);
	json_decref(ev.details);
	return r;
}

int
audit_prune(struct db *db, const uint8_t key[32], int64_t cutoff_ms,
    int64_t max_rows, struct audit_prune_result *res,
    struct audit_verify_result *verify)
{
	struct prune_ctx p;
	struct store_audit_prune_ops ops = { prune_start, prune_row, prune_done,
		&p };
	int r = 0;

	memset(res, 0, sizeof(*res));
	memset(verify, 0, sizeof(*verify));
	p = (struct prune_ctx){ key, verify, cutoff_ms };
	memset(verify, 0, sizeof(*verify));
	for (;;) {
		struct store_audit_anchor a = { 0 };

		r = store_audit_prune(
		    db, cutoff_ms, clock_now_ms(), max_rows, &ops, &a);
		if (r != 0 || a.pruned == 0)
			break;
		if (res->first_seq == 0)
			res->first_seq = a.first_seq;
		res->rows += a.pruned;
		res->txs++;
		res->anchor = a;
		/* Short of a full transaction: the old rows are done. Going on
		 * could only take this prune's own audit.prune rows. */
		if (a.pruned < max_rows)
			break;
	}
	/* PostgreSQL: the audit.prune rows are pending; link them now
	 * rather than wait for a node's chainer (a busy one links them). */
	if (res->txs > 0 && !store_audit_chains_inline(db) &&
	    audit_chain(db, key, NULL) != 0)
		log_msg(LOG_INFO, "audit.chain_later",
		    "the row stays pending for a node's chainer");
	return r;
}
