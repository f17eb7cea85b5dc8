/*
 * Audit retention in the store (issue 17, item 7; decision 0077): prune a
 * prefix of the chain and record its anchor in one transaction, read the
 * anchor, and find the seq range of a time window for `audit export`.
 */
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "store/q.h"
#include "store/store.h"
#include "store/store_internal.h"

#define PRUNE_PAGE 1000

#define ANCHOR_COLS(a) \
	Q_COLS(QC_INT(&(a)->seq), QC_EXACT((a)->mac), QC_INT(&(a)->ts_ms), \
	    QC_INT(&(a)->first_seq), QC_INT(&(a)->pruned), \
	    QC_INT(&(a)->cutoff_ms), QC_INT(&(a)->pruned_at_ms), \
	    QC_EXACT((a)->amac))

#define ANCHOR_SELECT \
	"SELECT seq, mac, ts_ms, first_seq, pruned, cutoff_ms, pruned_at_ms," \
	" amac FROM audit_anchor ORDER BY seq DESC LIMIT 1"

/* The anchor of a chain never pruned: seq 0, the 64 zeros of seq 1. */
static void
anchor_none(struct store_audit_anchor *a)
{
	memset(a, 0, sizeof(*a));
	memset(a->mac, '0', PC_SHA256_HEX_LEN);
}

/*
 * The smallest x in [lo, hi + 1] such that the first row at or after seq
 * x has ts_ms >= ts (hi + 1 when no row in [lo, hi] does), by bisection:
 * O(log n) primary-key reads. Exact when ts_ms grows with seq; the
 * callers check what they rely on.
 */
static int
seq_at(struct db_conn *c, int64_t ts, int64_t lo, int64_t hi, int64_t *out)
{
	int64_t a = lo, b = hi + 1;

	while (a < b) {
		int64_t m = a + (b - a) / 2, s = 0, t = 0;
		int r = q_one(c,
		    "SELECT seq, ts_ms FROM audit_log WHERE seq >= ?"
		    " ORDER BY seq LIMIT 1",
		    Q_ARGS(QA_INT(m)), Q_COLS(QC_INT(&s), QC_INT(&t)));

		if (r == PC_ERR_NOT_FOUND || (r == 0 && (s > hi || t >= ts)))
			b = m;
		else if (r == 0)
			a = s + 1;
		else
			return r;
	}
	*out = a;
	return 0;
}

/* The first and the last seq of audit_log; PC_ERR_NOT_FOUND if empty. */
static int
seq_bounds(struct db_conn *c, int64_t *first, int64_t *last)
{
	int r = q_one(c, "SELECT seq FROM audit_log ORDER BY seq LIMIT 1",
	    Q_NOARGS, Q_COLS(QC_INT(first)));

	if (r != 0)
		return r;
	return q_one(c, "SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1",
	    Q_NOARGS, Q_COLS(QC_INT(last)));
}

struct prune_arg {
	int64_t cutoff_ms, now_ms, max_rows;
	const struct store_audit_prune_ops *ops;
	struct store_audit_anchor *out;
	int64_t count; /* rows handed to ops->row */
	struct store_audit_row last;
};

/* The last seq this prune may delete: see store_audit_prune(). */
static int
prune_end(struct db_conn *c, struct prune_arg *a, int64_t first, int64_t last,
    int64_t *end)
{
	int64_t x = 0, young = 0;
	int r;

	/* Never the newest row: the next append links to it. */
	if ((r = seq_at(c, a->cutoff_ms, first, last - 1, &x)) != 0)
		return r;
	*end = x - 1;
	if (a->max_rows > 0 && *end - first + 1 > a->max_rows)
		*end = first + a->max_rows - 1;
	/* Rows out of time order (clock skew between nodes): stop before
	 * the first young one, so only a prefix of old rows goes. */
	r = q_one(c,
	    "SELECT seq FROM audit_log WHERE seq <= ? AND ts_ms >= ?"
	    " ORDER BY seq LIMIT 1",
	    Q_ARGS(QA_INT(*end), QA_INT(a->cutoff_ms)), Q_COLS(QC_INT(&young)));
	if (r == 0)
		*end = young - 1;
	return r == PC_ERR_NOT_FOUND ? 0 : r;
}

/* The rows first..end to ops->row, a page at a time. */
static int
prune_walk(struct db_conn *c, struct prune_arg *a, int64_t first, int64_t end)
{
	int64_t from = first;
	int r = 0;

	for (;;) {
		struct store_audit_rows rs = { NULL, 0, 0 };

		r = q_all(c,
		    "SELECT seq, ts_ms, event, outcome, actor, target, ip,"
		    " user_agent, request_id, session_hash, details, prev_mac,"
		    " mac FROM audit_log WHERE seq >= ? AND seq <= ?"
		    " ORDER BY seq LIMIT ?",
		    Q_ARGS(QA_INT(from), QA_INT(end), QA_INT(PRUNE_PAGE)),
		    store_audit_read_chained, &rs);
		for (size_t i = 0; i < rs.n && r == 0; i++) {
			r = a->ops->row(a->ops->arg, &rs.v[i]);
			a->count++;
		}
		if (r == 0 && rs.n > 0) {
			struct store_audit_row *l = &rs.v[rs.n - 1];

			a->last.seq = l->seq;
			a->last.ts_ms = l->ts_ms;
			memcpy(a->last.mac, l->mac, sizeof(l->mac));
			from = l->seq + 1;
		}
		store_audit_rows_free(rs.v, rs.n);
		if (r != 0 || rs.n < PRUNE_PAGE)
			return r;
	}
}

static int
prune_tx(struct db_conn *c, void *arg)
{
	struct prune_arg *a = arg;
	struct store_audit_anchor prev, *an = a->out;
	char next_prev[PC_SHA256_HEX_LEN + 1] = "";
	int64_t first = 0, last = 0, end = 0, deleted = 0;
	int r;

	anchor_none(an);
	a->count = 0;
	r = q_one(c, ANCHOR_SELECT, Q_NOARGS, ANCHOR_COLS(&prev));
	if (r == PC_ERR_NOT_FOUND)
		anchor_none(&prev);
	else if (r != 0)
		return r;
	if ((r = a->ops->start(a->ops->arg, &prev)) != 0)
		return r;
	if ((r = seq_bounds(c, &first, &last)) != 0)
		return r == PC_ERR_NOT_FOUND ? 0 : r;
	if ((r = prune_end(c, a, first, last, &end)) != 0 || end < first)
		return r;
	if ((r = prune_walk(c, a, first, end)) != 0)
		return r;
	if (a->count == 0)
		return 0;
	if ((r = q_one(c,
		 "SELECT prev_mac FROM audit_log WHERE seq > ? ORDER BY seq "
		 "LIMIT 1",
		 Q_ARGS(QA_INT(a->last.seq)), Q_COLS(QC_EXACT(next_prev)))) !=
	    0)
		return r;
	if ((r = q_exec(c, "DELETE FROM audit_log WHERE seq <= ? RETURNING 1",
		 Q_ARGS(QA_INT(a->last.seq)), &deleted)) != 0)
		return r;
	/* Only rows read above go: a row below them is not ours to drop. */
	if (deleted != a->count)
		return PC_ERR_CONFLICT;
	an->seq = a->last.seq;
	memcpy(an->mac, a->last.mac, sizeof(an->mac));
	an->ts_ms = a->last.ts_ms;
	an->first_seq = first;
	an->pruned = a->count;
	an->cutoff_ms = a->cutoff_ms;
	an->pruned_at_ms = a->now_ms;
	if ((r = a->ops->done(a->ops->arg, c, an, next_prev)) != 0)
		return r;
	if ((r = q_exec(c,
		 "INSERT INTO audit_anchor (seq, mac, ts_ms, first_seq, pruned,"
		 " cutoff_ms, pruned_at_ms, amac) VALUES (?, ?, ?, ?, ?, ?, ?, "
		 "?)",
		 Q_ARGS(QA_INT(an->seq), QA_TEXT(an->mac), QA_INT(an->ts_ms),
		     QA_INT(an->first_seq), QA_INT(an->pruned),
		     QA_INT(an->cutoff_ms), QA_INT(an->pruned_at_ms),
		     QA_TEXT(an->amac)),
		 NULL)) != 0)
		return r;
	return q_exec(c, "DELETE FROM audit_anchor WHERE seq < ?",
	    Q_ARGS(QA_INT(an->seq)), NULL);
}

int
store_audit_prune(struct db *db, int64_t cutoff_ms, int64_t now_ms,
    int64_t max_rows, const struct store_audit_prune_ops *ops,
    struct store_audit_anchor *out)
{
	struct prune_arg a;
	int r;

	anchor_none(out);
	a = (struct prune_arg){ cutoff_ms, now_ms, max_rows, ops, out, 0,
		{ 0 } };
	if (max_rows < 1)
		return PC_ERR_INVALID;
	r = store_tx_mode(db, DB_WRITE_SINGLETON, prune_tx, &a);
	if (r != 0 || out->pruned == 0)
		anchor_none(out);
	return r;
}

int
store_audit_anchor_get(struct db *db, struct store_audit_anchor *out)
{
	int r = store_one(db, ANCHOR_SELECT, Q_NOARGS, ANCHOR_COLS(out));

	if (r != 0)
		anchor_none(out);
	return r;
}

struct range_arg {
	int64_t since_ms, until_ms, first, last;
};

static int
range_tx(struct db_conn *c, void *arg)
{
	struct range_arg *a = arg;
	int64_t lo = 0, hi = 0, x = 0, y = 0;
	int r;

	if ((r = seq_bounds(c, &lo, &hi)) != 0 ||
	    (r = seq_at(c, a->since_ms, lo, hi, &x)) != 0 ||
	    (r = seq_at(c, a->until_ms, lo, hi, &y)) != 0)
		return r;
	if ((r = q_one(
		 c, "SELECT seq FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT 1",
		 Q_ARGS(QA_INT(x)), Q_COLS(QC_INT(&a->first)))) != 0)
		return r;
	return q_one(c,
	    "SELECT seq FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT 1",
	    Q_ARGS(QA_INT(y)), Q_COLS(QC_INT(&a->last)));
}

int
store_audit_seq_range(struct db *db, int64_t since_ms, int64_t until_ms,
    int64_t *first, int64_t *last)
{
	struct range_arg a = { since_ms, until_ms, 0, 0 };
	int r;

	*first = *last = 0;
	if (since_ms >= until_ms)
		return PC_ERR_INVALID;
	if ((r = store_read_tx(db, range_tx, &a)) != 0)
		return r;
	if (a.first > a.last)
		return PC_ERR_NOT_FOUND;
	*first = a.first;
	*last = a.last;
	return 0;
}
