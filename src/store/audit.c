/*
 * The audit log table: append as the next link of the chain, list, count.
 * The mac itself is computed by the caller (src/audit/), so the store never
 * holds the audit key.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"

#define APPEND_TRIES 5

void
store_audit_row_clear(struct store_audit_row *row)
{
	free(row->event);
	free(row->outcome);
	free(row->actor);
	free(row->target);
	free(row->ip);
	free(row->user_agent);
	free(row->request_id);
	free(row->session_hash);
	free(row->details);
	memset(row, 0, sizeof(*row));
}

void
store_audit_rows_free(struct store_audit_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_audit_row_clear(&v[i]);
	free(v);
}

struct append_arg {
	struct store_audit_row *row;
	store_audit_mac_fn mac;
	void *arg;
};

/*
 * One link, inside a group commit (db_batch): the rows of a batch are
 * appended in order in the batch's one transaction, each reading the link
 * the one before it wrote, so the chain is the same as one by one.
 */
static int
append_tx(struct db_conn *c, void *arg)
{
	struct append_arg *a = arg;
	struct store_audit_row *row = a->row;
	int64_t last = 0;
	int r;

	/* The last (seq, mac), or (0, 64 zeros) for an empty log; a mac of
	 * anything but 64 characters reads as "": it can never verify. */
	r = q_one(c, "SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1",
	    Q_NOARGS, Q_COLS(QC_INT(&last), QC_EXACT(row->prev_mac)));
	if (r == PC_ERR_NOT_FOUND) {
		last = 0;
		memset(row->prev_mac, '0', PC_SHA256_HEX_LEN);
		row->prev_mac[PC_SHA256_HEX_LEN] = '\0';
		r = 0;
	}
	if (r != 0)
		return r;
	row->seq = last + 1;
	row->mac[0] = '\0';
	if ((r = a->mac(a->arg, row)) != 0)
		return r;
	return q_exec(c,
	    "INSERT INTO audit_log (seq, ts_ms, event, outcome, actor,"
	    " target, ip, user_agent, request_id, session_hash, details,"
	    " prev_mac, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?)",
	    Q_ARGS(QA_INT(row->seq), QA_INT(row->ts_ms), QA_TEXT(row->event),
		QA_TEXT(row->outcome), QA_TEXT(row->actor),
		QA_TEXT(row->target), QA_TEXT(row->ip),
		QA_TEXT(row->user_agent), QA_TEXT(row->request_id),
		QA_TEXT(row->session_hash), QA_TEXT(row->details),
		QA_TEXT(row->prev_mac), QA_TEXT(row->mac)),
	    NULL);
}

int
store_audit_append_tx(struct db_conn *c, struct store_audit_row *row,
    store_audit_mac_fn mac, void *arg)
{
	struct append_arg a = { row, mac, arg };

	if (row->event == NULL || row->outcome == NULL)
		return PC_ERR_INVALID;
	return append_tx(c, &a);
}

int
store_audit_append(struct db *db, struct store_audit_row *row,
    store_audit_mac_fn mac, void *arg)
{
	struct append_arg a = { row, mac, arg };
	int r = PC_ERR_STORE;

	if (row->event == NULL || row->outcome == NULL)
		return PC_ERR_INVALID;
	for (int i = 0; i < APPEND_TRIES; i++) {
		r = db_batch(db, append_tx, &a);
		if (r != PC_ERR_CONFLICT && r != PC_ERR_BUSY)
			break;
	}
	return r;
}

struct rows {
	struct store_audit_row *v;
	size_t n, cap;
};

static int
read_row(struct db_stmt *s, void *arg)
{
	struct rows *rs = arg;
	struct store_audit_row *row = Q_GROW(rs->v, rs->n, rs->cap);

	/* NULL stays NULL: the mac tells an absent field from an empty one.
	 * A mac of anything but 64 characters reads as "": it can never
	 * verify. */
	q_read(s,
	    Q_COLS(QC_INT(&row->seq), QC_INT(&row->ts_ms),
		QC_DUP_NULL(&row->event), QC_DUP_NULL(&row->outcome),
		QC_DUP_NULL(&row->actor), QC_DUP_NULL(&row->target),
		QC_DUP_NULL(&row->ip), QC_DUP_NULL(&row->user_agent),
		QC_DUP_NULL(&row->request_id), QC_DUP_NULL(&row->session_hash),
		QC_DUP_NULL(&row->details), QC_EXACT(row->prev_mac),
		QC_EXACT(row->mac)));
	return 0;
}

/* The rows of a store_all() into *out and *n, or freed on error. */
static int
rows_done(int r, struct rows *rs, struct store_audit_row **out, size_t *n)
{
	if (r != 0) {
		store_audit_rows_free(rs->v, rs->n);
		return r;
	}
	*out = rs->v;
	*n = rs->n;
	return 0;
}

int
store_audit_list(struct db *db, int64_t from_seq, size_t limit,
    struct store_audit_row **out, size_t *n)
{
	struct rows rs = { NULL, 0, 0 };

	*out = NULL;
	*n = 0;
	if (limit == 0)
		return 0;
	return rows_done(
	    store_all(db,
		"SELECT seq, ts_ms, event, outcome, actor, target,"
		" ip, user_agent, request_id, session_hash,"
		" details, prev_mac, mac FROM audit_log"
		" WHERE seq >= ? ORDER BY seq LIMIT ?",
		Q_ARGS(QA_INT(from_seq), QA_INT(limit)), read_row, &rs),
	    &rs, out, n);
}

int
store_audit_tail(
    struct db *db, size_t limit, struct store_audit_row **out, size_t *n)
{
	struct rows rs = { NULL, 0, 0 };
	int r;

	*out = NULL;
	*n = 0;
	if (limit == 0)
		return 0;
	if ((r = rows_done(store_all(db,
			       "SELECT seq, ts_ms, event, outcome, actor,"
			       " target, ip, user_agent, request_id,"
			       " session_hash, details, prev_mac, mac"
			       " FROM audit_log ORDER BY seq DESC LIMIT ?",
			       Q_ARGS(QA_INT(limit)), read_row, &rs),
		 &rs, out, n)) != 0)
		return r;
	/* Newest first from the query; callers want seq order. */
	for (size_t i = 0; i < *n / 2; i++) {
		struct store_audit_row t = (*out)[i];

		(*out)[i] = (*out)[*n - 1 - i];
		(*out)[*n - 1 - i] = t;
	}
	return 0;
}

int
store_audit_count(struct db *db, int64_t *out)
{
	int r;

	*out = 0;
	r = store_one(db, "SELECT count(*) FROM audit_log", Q_NOARGS,
	    Q_COLS(QC_INT(out)));
	if (r != 0)
		*out = 0;
	/* count(*) always returns its row. */
	return r == PC_ERR_NOT_FOUND ? PC_ERR_STORE : r;
}
