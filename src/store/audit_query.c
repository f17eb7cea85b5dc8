/*
 * The audit log read by principal (issue 14; SECURITY.md TX-07; migration
 * 0026): the rows where a principal is the actor or the target, in a time
 * window, oldest first, chained and still pending alike (decision 0051),
 * and what the inventory asks the log about one credential (the details
 * of its token.issue rows, its last use). Written so that each read is a
 * range scan of one of 0026's indexes, never a walk of the whole log.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

#define CHAINED_COLS \
	"seq, ts_ms, event, outcome, actor, target, ip, user_agent," \
	" request_id, session_hash, details, prev_mac, mac"
#define PENDING_COLS \
	"id, ts_ms, event, outcome, actor, target, ip, user_agent," \
	" request_id, session_hash, details, mac"

/*
 * Two range scans, each already in (ts_ms, seq) order on its index and
 * cut at the limit, then merged: one on (actor, ts_ms, seq), one on
 * (target, ts_ms, seq) leaving out what the first one read (a row whose
 * actor and target are both the principal). An "actor = ? OR target = ?"
 * would have to read and sort every match before its LIMIT.
 */
static const char chained_sql[] =
    "SELECT " CHAINED_COLS " FROM (SELECT " CHAINED_COLS " FROM audit_log"
    " WHERE actor = ? AND ts_ms >= ? AND ts_ms < ?"
    " ORDER BY ts_ms, seq LIMIT ?) a"
    " UNION ALL SELECT " CHAINED_COLS " FROM (SELECT " CHAINED_COLS
    " FROM audit_log WHERE target = ? AND (actor IS NULL OR actor <> ?)"
    " AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, seq LIMIT ?) b"
    " ORDER BY ts_ms, seq LIMIT ?";

/* audit_pending holds the rows of the last moments only: read whole. */
static const char pending_sql[] =
    "SELECT " PENDING_COLS " FROM audit_pending"
    " WHERE (actor = ? OR target = ?) AND ts_ms >= ? AND ts_ms < ?"
    " ORDER BY ts_ms, id LIMIT ?";

struct query_arg {
	const struct store_audit_filter *f;
	struct store_audit_rows chained, pending;
};

/* One snapshot: a row the chainer moves meanwhile is seen once, where it
 * was when the snapshot began. */
static int
query_tx(struct db_conn *c, void *arg)
{
	struct query_arg *a = arg;
	const struct store_audit_filter *f = a->f;
	/* One more than asked: whether the answer was cut. */
	int64_t want = (int64_t)f->limit + 1;
	int r;

	r = q_all(c, chained_sql,
	    Q_ARGS(QA_TEXT(f->principal), QA_INT(f->since_ms),
		QA_INT(f->until_ms), QA_INT(want), QA_TEXT(f->principal),
		QA_TEXT(f->principal), QA_INT(f->since_ms), QA_INT(f->until_ms),
		QA_INT(want), QA_INT(want)),
	    store_audit_read_chained, &a->chained);
	if (r != 0)
		return r;
	return q_all(c, pending_sql,
	    Q_ARGS(QA_TEXT(f->principal), QA_TEXT(f->principal),
		QA_INT(f->since_ms), QA_INT(f->until_ms), QA_INT(want)),
	    store_audit_read_pending, &a->pending);
}

/*
 * Merges the two ordered lists by ts_ms (a chained row first on a tie)
 * into at most limit rows; the rest are freed. Both inputs are consumed.
 */
static void
merge(struct query_arg *a, size_t limit, struct store_audit_row **out,
    size_t *n, bool *more)
{
	struct store_audit_rows *x = &a->chained, *y = &a->pending;
	size_t total = x->n + y->n, keep = total < limit ? total : limit;
	size_t i = 0, j = 0, k = 0;
	struct store_audit_row *v = NULL;

	if (keep > 0)
		v = xcalloc(keep, sizeof(*v));
	while (k < keep) {
		bool take_x =
		    j == y->n || (i < x->n && x->v[i].ts_ms <= y->v[j].ts_ms);

		v[k++] = take_x ? x->v[i++] : y->v[j++];
	}
	for (; i < x->n; i++)
		store_audit_row_clear(&x->v[i]);
	for (; j < y->n; j++)
		store_audit_row_clear(&y->v[j]);
	free(x->v);
	free(y->v);
	*out = v;
	*n = keep;
	*more = total > limit;
}

int
store_audit_query(struct db *db, const struct store_audit_filter *f,
    struct store_audit_row **out, size_t *n, bool *more)
{
	struct query_arg a = { f, { NULL, 0, 0 }, { NULL, 0, 0 } };
	int r;

	*out = NULL;
	*n = 0;
	*more = false;
	if (f->principal == NULL || f->principal[0] == '\0' || f->limit == 0 ||
	    f->limit > (size_t)INT32_MAX || f->since_ms >= f->until_ms)
		return PC_ERR_INVALID;
	if ((r = store_read_tx(db, query_tx, &a)) != 0) {
		store_audit_rows_free(a.chained.v, a.chained.n);
		store_audit_rows_free(a.pending.v, a.pending.n);
		return r;
	}
	merge(&a, f->limit, out, n, more);
	return 0;
}

struct details_arg {
	store_audit_details_fn fn;
	void *arg;
};

static int
details_row(struct db_stmt *s, void *arg)
{
	struct details_arg *a = arg;
	char *d = NULL;
	int r;

	q_read(s, Q_COLS(QC_DUP(&d)));
	r = a->fn(a->arg, d);
	free(d);
	return r < 0 ? r : 0;
}

int
store_audit_actor_details(struct db *db, const char *actor, const char *target,
    const char *event, int64_t since_ms, store_audit_details_fn fn, void *arg)
{
	struct details_arg a = { fn, arg };

	/* The (actor, ts_ms, seq) range of one credential; the rest is
	 * checked on the rows it holds. Two texts: an untyped "? IS NULL"
	 * does not carry to PostgreSQL. */
	if (target == NULL)
		return store_all(db,
		    "SELECT details FROM audit_log WHERE actor = ?"
		    " AND ts_ms >= ? AND event = ? AND outcome = 'success'"
		    " AND details IS NOT NULL ORDER BY ts_ms, seq",
		    Q_ARGS(QA_TEXT(actor), QA_INT(since_ms), QA_TEXT(event)),
		    details_row, &a);
	return store_all(db,
	    "SELECT details FROM audit_log WHERE actor = ? AND ts_ms >= ?"
	    " AND event = ? AND outcome = 'success' AND target = ?"
	    " AND details IS NOT NULL ORDER BY ts_ms, seq",
	    Q_ARGS(QA_TEXT(actor), QA_INT(since_ms), QA_TEXT(event),
		QA_TEXT(target)),
	    details_row, &a);
}

/* The newest ts_ms of the rows the two texts select (0: none). */
static int
newest(struct db *db, const char *in_log, const char *in_pending,
    const struct q_arg *args, int64_t *ts_ms)
{
	int64_t chained = 0, pending = 0;
	int r;

	*ts_ms = 0;
	r = store_one(db, in_log, args, Q_COLS(QC_INT(&chained)));
	if (r != 0 && r != PC_ERR_NOT_FOUND)
		return r;
	r = store_one(db, in_pending, args, Q_COLS(QC_INT(&pending)));
	if (r != 0)
		return r == PC_ERR_NOT_FOUND ? PC_ERR_STORE : r;
	*ts_ms = chained > pending ? chained : pending;
	return 0;
}

int
store_audit_actor_last(struct db *db, const char *actor, const char *target,
    const char *event, int64_t *ts_ms)
{
	/* Backwards along (actor, ts_ms, seq) to the newest match. */
	if (target == NULL)
		return newest(db,
		    "SELECT ts_ms FROM audit_log WHERE actor = ? AND event = ?"
		    " AND outcome = 'success'"
		    " ORDER BY ts_ms DESC, seq DESC LIMIT 1",
		    "SELECT COALESCE(MAX(ts_ms), 0) FROM audit_pending"
		    " WHERE actor = ? AND event = ? AND outcome = 'success'",
		    Q_ARGS(QA_TEXT(actor), QA_TEXT(event)), ts_ms);
	return newest(db,
	    "SELECT ts_ms FROM audit_log WHERE actor = ? AND event = ?"
	    " AND outcome = 'success' AND target = ?"
	    " ORDER BY ts_ms DESC, seq DESC LIMIT 1",
	    "SELECT COALESCE(MAX(ts_ms), 0) FROM audit_pending"
	    " WHERE actor = ? AND event = ? AND outcome = 'success'"
	    " AND target = ?",
	    Q_ARGS(QA_TEXT(actor), QA_TEXT(event), QA_TEXT(target)), ts_ms);
}
