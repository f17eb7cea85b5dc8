/*
 * The audit log table: append as the next link of the chain, list, count.
 * The mac itself is computed by the caller (src/audit/), so the store never
 * holds the audit key.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

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

static void
col_mac(struct db_stmt *s, int col, char out[PC_SHA256_HEX_LEN + 1])
{
	size_t len = 0;
	const char *p = db_col_text(s, col, &len);

	/* Anything but 64 characters reads as "": it can never verify. */
	out[0] = '\0';
	if (p != NULL && len == PC_SHA256_HEX_LEN) {
		memcpy(out, p, len);
		out[len] = '\0';
	}
}

static int
bind_opt(struct db_stmt *s, int idx, const char *v)
{
	return v == NULL ? db_bind_null(s, idx) : db_bind_cstr(s, idx, v);
}

/* The last (seq, mac), or (0, 64 zeros) for an empty log. */
static int
last_link(struct db_conn *c, int64_t *seq, char mac[PC_SHA256_HEX_LEN + 1])
{
	struct db_stmt *s;
	int r;

	*seq = 0;
	memset(mac, '0', PC_SHA256_HEX_LEN);
	mac[PC_SHA256_HEX_LEN] = '\0';
	if ((r = db_prepare(c,
		 "SELECT seq, mac FROM audit_log ORDER BY seq DESC LIMIT 1",
		 &s)) != 0)
		return r;
	r = db_step(s);
	if (r == DB_ROW) {
		*seq = db_col_int64(s, 0);
		col_mac(s, 1, mac);
		r = 0;
	}
	db_done(s);
	return r == DB_DONE ? 0 : r;
}

static int
insert(struct db_conn *c, const struct store_audit_row *row)
{
	struct db_stmt *s;
	int r;

	if ((r = db_prepare(c,
		 "INSERT INTO audit_log (seq, ts_ms, event, outcome, actor,"
		 " target, ip, user_agent, request_id, session_hash, details,"
		 " prev_mac, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
		 "?)",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, row->seq)) == 0 &&
	    (r = db_bind_int64(s, 2, row->ts_ms)) == 0 &&
	    (r = db_bind_cstr(s, 3, row->event)) == 0 &&
	    (r = db_bind_cstr(s, 4, row->outcome)) == 0 &&
	    (r = bind_opt(s, 5, row->actor)) == 0 &&
	    (r = bind_opt(s, 6, row->target)) == 0 &&
	    (r = bind_opt(s, 7, row->ip)) == 0 &&
	    (r = bind_opt(s, 8, row->user_agent)) == 0 &&
	    (r = bind_opt(s, 9, row->request_id)) == 0 &&
	    (r = bind_opt(s, 10, row->session_hash)) == 0 &&
	    (r = bind_opt(s, 11, row->details)) == 0 &&
	    (r = db_bind_cstr(s, 12, row->prev_mac)) == 0 &&
	    (r = db_bind_cstr(s, 13, row->mac)) == 0)
		r = db_step(s);
	db_done(s);
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
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
	int64_t last;
	int r;

	if ((r = last_link(c, &last, row->prev_mac)) != 0)
		return r;
	row->seq = last + 1;
	row->mac[0] = '\0';
	if ((r = a->mac(a->arg, row)) != 0)
		return r;
	return insert(c, row);
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

static void
read_row(struct db_stmt *s, struct store_audit_row *row)
{
	row->seq = db_col_int64(s, 0);
	row->ts_ms = db_col_int64(s, 1);
	/* NULL stays NULL: the mac tells an absent field from an empty one. */
	row->event = db_col_dup_null(s, 2);
	row->outcome = db_col_dup_null(s, 3);
	row->actor = db_col_dup_null(s, 4);
	row->target = db_col_dup_null(s, 5);
	row->ip = db_col_dup_null(s, 6);
	row->user_agent = db_col_dup_null(s, 7);
	row->request_id = db_col_dup_null(s, 8);
	row->session_hash = db_col_dup_null(s, 9);
	row->details = db_col_dup_null(s, 10);
	col_mac(s, 11, row->prev_mac);
	col_mac(s, 12, row->mac);
}

static int
collect(
    struct db_stmt *s, size_t limit, struct store_audit_row **out, size_t *n)
{
	struct store_audit_row *v = NULL;
	size_t len = 0, cap = 0;
	int r = DB_DONE;

	while (len < limit && (r = db_step(s)) == DB_ROW) {
		if (len == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		memset(&v[len], 0, sizeof(v[len]));
		read_row(s, &v[len++]);
	}
	if (len == limit)
		r = DB_DONE;
	db_done(s);
	if (r != DB_DONE) {
		store_audit_rows_free(v, len);
		return r < 0 ? r : PC_ERR_STORE;
	}
	*out = v;
	*n = len;
	return 0;
}

int
store_audit_list(struct db *db, int64_t from_seq, size_t limit,
    struct store_audit_row **out, size_t *n)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	*out = NULL;
	*n = 0;
	if (limit == 0)
		return 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT seq, ts_ms, event, outcome, actor, target, ip,"
		 " user_agent, request_id, session_hash, details, prev_mac, mac"
		 " FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, from_seq)) != 0 ||
	    (r = db_bind_int64(s, 2, (int64_t)limit)) != 0) {
		db_done(s);
		return r;
	}
	return collect(s, limit, out, n);
}

int
store_audit_tail(
    struct db *db, size_t limit, struct store_audit_row **out, size_t *n)
{
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	*out = NULL;
	*n = 0;
	if (limit == 0)
		return 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c,
		 "SELECT seq, ts_ms, event, outcome, actor, target, ip,"
		 " user_agent, request_id, session_hash, details, prev_mac, mac"
		 " FROM audit_log ORDER BY seq DESC LIMIT ?",
		 &s)) != 0)
		return r;
	if ((r = db_bind_int64(s, 1, (int64_t)limit)) != 0) {
		db_done(s);
		return r;
	}
	if ((r = collect(s, limit, out, n)) != 0)
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
	struct db_conn *c;
	struct db_stmt *s;
	int r;

	*out = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_prepare(c, "SELECT count(*) FROM audit_log", &s)) != 0)
		return r;
	r = db_step(s);
	if (r == DB_ROW)
		*out = db_col_int64(s, 0);
	db_done(s);
	return r == DB_ROW ? 0 : r < 0 ? r : PC_ERR_STORE;
}
