/*
 * The audit log tables: append as the next link of the chain, or as a
 * pending row that the chainer links later (decision 0051); list, count.
 * The macs themselves are computed by the caller (src/audit/), so the
 * store never holds the audit key.
 */
#include <stdlib.h>
#include <string.h>

#include "store/db_internal.h"
#include "store/store.h"
#include "store/q.h"
#include "store/store_internal.h"

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

int
store_audit_read_chained(struct db_stmt *s, void *arg)
{
	struct store_audit_rows *rs = arg;
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
rows_done(
    int r, struct store_audit_rows *rs, struct store_audit_row **out, size_t *n)
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
	struct store_audit_rows rs = { NULL, 0, 0 };

	*out = NULL;
	*n = 0;
	if (limit == 0)
		return 0;
	return rows_done(store_all(db,
			     "SELECT seq, ts_ms, event, outcome, actor, target,"
			     " ip, user_agent, request_id, session_hash,"
			     " details, prev_mac, mac FROM audit_log"
			     " WHERE seq >= ? ORDER BY seq LIMIT ?",
			     Q_ARGS(QA_INT(from_seq), QA_INT(limit)),
			     store_audit_read_chained, &rs),
	    &rs, out, n);
}

struct tail_arg {
	size_t limit;
	struct store_audit_rows chained, pending;
};

/* One snapshot: a row moving from pending to the chain meanwhile is seen
 * once, where it was. */
static int
tail_tx(struct db_conn *c, void *arg)
{
	struct tail_arg *a = arg;
	int r;

	if ((r = q_all(c,
		 "SELECT seq, ts_ms, event, outcome, actor, target, ip,"
		 " user_agent, request_id, session_hash, details, prev_mac, mac"
		 " FROM audit_log ORDER BY seq DESC LIMIT ?",
		 Q_ARGS(QA_INT(a->limit)), store_audit_read_chained,
		 &a->chained)) != 0)
		return r;
	return q_all(c,
	    "SELECT id, ts_ms, event, outcome, actor, target, ip, user_agent,"
	    " request_id, session_hash, details, mac FROM audit_pending"
	    " ORDER BY ts_ms DESC, id DESC LIMIT ?",
	    Q_ARGS(QA_INT(a->limit)), store_audit_read_pending, &a->pending);
}

static void
reverse(struct store_audit_row *v, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		struct store_audit_row t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

int
store_audit_tail(
    struct db *db, size_t limit, struct store_audit_row **out, size_t *n)
{
	struct tail_arg a = { limit, { NULL, 0, 0 }, { NULL, 0, 0 } };
	size_t np, nc;
	int r;

	*out = NULL;
	*n = 0;
	if (limit == 0)
		return 0;
	if ((r = store_read_tx(db, tail_tx, &a)) != 0) {
		store_audit_rows_free(a.chained.v, a.chained.n);
		store_audit_rows_free(a.pending.v, a.pending.n);
		return r;
	}
	/* Newest first from the queries; callers want chain order, the
	 * pending rows (not linked yet) after the chained ones. */
	reverse(a.chained.v, a.chained.n);
	reverse(a.pending.v, a.pending.n);
	np = a.pending.n;
	nc = np >= limit	       ? 0
	    : a.chained.n < limit - np ? a.chained.n
				       : limit - np;
	for (size_t i = 0; i < a.chained.n - nc; i++)
		store_audit_row_clear(&a.chained.v[i]);
	for (size_t i = 0; i < np; i++) {
		struct store_audit_row *row =
		    Q_GROW(a.chained.v, a.chained.n, a.chained.cap);

		*row = a.pending.v[i];
	}
	free(a.pending.v);
	if (nc + np > 0)
		memmove(a.chained.v, a.chained.v + (a.chained.n - nc - np),
		    (nc + np) * sizeof(*a.chained.v));
	*out = a.chained.v;
	*n = nc + np;
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

/* --- pending rows (decision 0051) ------------------------------------ */

bool
store_audit_chains_inline(struct db *db)
{
	/* PostgreSQL's writers run side by side unless they lock; SQLite
	 * has one writer at a time, so its appends chain where they are. */
	return strcmp(db->ops->name, db_pg_ops.name) != 0;
}

bool
store_audit_tx_chains_inline(struct db_conn *c)
{
	return store_audit_chains_inline(c->db);
}

static int
pending_insert_tx(struct db_conn *c, void *arg)
{
	const struct store_audit_row *row = arg;

	return q_exec(c,
	    "INSERT INTO audit_pending (id, ts_ms, event, outcome, actor,"
	    " target, ip, user_agent, request_id, session_hash, details, mac)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    Q_ARGS(QA_TEXT(row->id), QA_INT(row->ts_ms), QA_TEXT(row->event),
		QA_TEXT(row->outcome), QA_TEXT(row->actor),
		QA_TEXT(row->target), QA_TEXT(row->ip),
		QA_TEXT(row->user_agent), QA_TEXT(row->request_id),
		QA_TEXT(row->session_hash), QA_TEXT(row->details),
		QA_TEXT(row->mac)),
	    NULL);
}

/* The same checks as store_audit_append_pending(). */
static bool
pending_row_ok(const struct store_audit_row *row)
{
	return row->event != NULL && row->outcome != NULL &&
	    strlen(row->id) == STORE_AUDIT_ID_HEX &&
	    strlen(row->mac) == PC_SHA256_HEX_LEN;
}

int
store_audit_append_pending_tx(
    struct db_conn *c, const struct store_audit_row *row)
{
	if (!pending_row_ok(row))
		return PC_ERR_INVALID;
	return pending_insert_tx(c, (void *)row);
}

int
store_audit_append_pending(struct db *db, const struct store_audit_row *row)
{
	if (!pending_row_ok(row))
		return PC_ERR_INVALID;
	/* No lock: the row's key is fresh and random, and nothing it writes
	 * depends on what another writer wrote (the chainer links it). */
	return store_tx_mode(
	    db, DB_WRITE_UNLOCKED, pending_insert_tx, (void *)row);
}

int
store_audit_read_pending(struct db_stmt *s, void *arg)
{
	struct store_audit_rows *rs = arg;
	struct store_audit_row *row = Q_GROW(rs->v, rs->n, rs->cap);

	/* As store_audit_read_chained(): NULL stays NULL, a malformed mac or id reads as "",
	 * which can never verify. */
	q_read(s,
	    Q_COLS(QC_EXACT(row->id), QC_INT(&row->ts_ms),
		QC_DUP_NULL(&row->event), QC_DUP_NULL(&row->outcome),
		QC_DUP_NULL(&row->actor), QC_DUP_NULL(&row->target),
		QC_DUP_NULL(&row->ip), QC_DUP_NULL(&row->user_agent),
		QC_DUP_NULL(&row->request_id), QC_DUP_NULL(&row->session_hash),
		QC_DUP_NULL(&row->details), QC_EXACT(row->mac)));
	return 0;
}

#define PENDING_SELECT \
	"SELECT id, ts_ms, event, outcome, actor, target, ip, user_agent," \
	" request_id, session_hash, details, mac FROM audit_pending" \
	" WHERE ts_ms > ? OR (ts_ms = ? AND id > ?)" \
	" ORDER BY ts_ms, id LIMIT ?"

int
store_audit_pending_list(struct db *db, int64_t after_ts, const char *after_id,
    size_t limit, struct store_audit_row **out, size_t *n)
{
	struct store_audit_rows rs = { NULL, 0, 0 };

	*out = NULL;
	*n = 0;
	if (limit == 0)
		return 0;
	return rows_done(store_all(db, PENDING_SELECT,
			     Q_ARGS(QA_INT(after_ts), QA_INT(after_ts),
				 QA_TEXT(after_id), QA_INT(limit)),
			     store_audit_read_pending, &rs),
	    &rs, out, n);
}

int
store_audit_pending_any(struct db *db, bool *out)
{
	int r = store_one(
	    db, "SELECT 1 FROM audit_pending LIMIT 1", Q_NOARGS, Q_NOCOLS);

	*out = r == 0;
	return r == PC_ERR_NOT_FOUND ? 0 : r;
}

struct chain_arg {
	int64_t *after_ts;
	char *after_id;
	size_t limit;
	store_audit_link_fn link;
	void *arg;
	size_t read, chained;
};

/* Links one pending row after (*last, prev_mac) and moves it. */
static int
chain_one(struct db_conn *c, struct chain_arg *a, struct store_audit_row *row,
    int64_t *last)
{
	int64_t moved = 0;
	int r;

	row->seq = *last + 1;
	r = a->link(a->arg, row);
	if (r != 0)
		return r; /* 1: left pending */
	if ((r = q_exec(c,
		 "INSERT INTO audit_log (seq, ts_ms, event, outcome, actor,"
		 " target, ip, user_agent, request_id, session_hash, details,"
		 " prev_mac, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
		 "?)",
		 Q_ARGS(QA_INT(row->seq), QA_INT(row->ts_ms),
		     QA_TEXT(row->event), QA_TEXT(row->outcome),
		     QA_TEXT(row->actor), QA_TEXT(row->target), QA_TEXT(row->ip),
		     QA_TEXT(row->user_agent), QA_TEXT(row->request_id),
		     QA_TEXT(row->session_hash), QA_TEXT(row->details),
		     QA_TEXT(row->prev_mac), QA_TEXT(row->mac)),
		 NULL)) != 0)
		return r;
	if ((r = q_exec(c, "DELETE FROM audit_pending WHERE id = ? RETURNING 1",
		 Q_ARGS(QA_TEXT(row->id)), &moved)) != 0)
		return r;
	/* Gone meanwhile: only a chainer deletes, and only one runs. */
	if (moved != 1)
		return PC_ERR_CONFLICT;
	*last = row->seq;
	a->chained++;
	return 0;
}

static int
chain_tx(struct db_conn *c, void *arg)
{
	struct chain_arg *a = arg;
	struct store_audit_rows rs = { NULL, 0, 0 };
	struct store_audit_row *v;
	int64_t last = 0;
	char prev[PC_SHA256_HEX_LEN + 1];
	int r;

	a->read = a->chained = 0;
	r = q_all(c, PENDING_SELECT,
	    Q_ARGS(QA_INT(*a->after_ts), QA_INT(*a->after_ts),
		QA_TEXT(a->after_id), QA_INT(a->limit)),
	    store_audit_read_pending, &rs);
	if (r != 0 || rs.n == 0)
		goto out;
	r = q_one(c, "SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1",
	    Q_NOARGS, Q_COLS(QC_INT(&last), QC_EXACT(prev)));
	if (r == PC_ERR_NOT_FOUND) {
		last = 0;
		memset(prev, '0', PC_SHA256_HEX_LEN);
		prev[PC_SHA256_HEX_LEN] = '\0';
		r = 0;
	}
	v = rs.v;
	for (size_t i = 0; i < rs.n && r == 0; i++) {
		memcpy(v[i].prev_mac, prev, sizeof(prev));
		if ((r = chain_one(c, a, &v[i], &last)) == 1)
			r = 0; /* left pending; the next links the same head */
		else if (r == 0)
			memcpy(prev, v[i].mac, sizeof(prev));
	}
	if (r == 0) {
		a->read = rs.n;
		*a->after_ts = v[rs.n - 1].ts_ms;
		memcpy(a->after_id, v[rs.n - 1].id, STORE_AUDIT_ID_HEX + 1);
	}
out:
	store_audit_rows_free(rs.v, rs.n);
	return r;
}

int
store_audit_chain(struct db *db, int64_t *after_ts,
    char after_id[STORE_AUDIT_ID_HEX + 1], size_t limit,
    store_audit_link_fn link, void *arg, size_t *read, size_t *chained)
{
	struct chain_arg a = { after_ts, after_id, limit, link, arg, 0, 0 };
	int64_t ts = *after_ts;
	char id[STORE_AUDIT_ID_HEX + 1];
	int r;

	memcpy(id, after_id, sizeof(id));
	*read = *chained = 0;
	if (limit == 0)
		return 0;
	r = store_tx_mode(db, DB_WRITE_SINGLETON, chain_tx, &a);
	if (r != 0) {
		/* Rolled back: the cursor stays where it was. */
		*after_ts = ts;
		memcpy(after_id, id, sizeof(id));
		return r;
	}
	*read = a.read;
	*chained = a.chained;
	return 0;
}
