/*
 * The query layer (q.h): binding arguments, reading rows and running
 * transactions, written once for every store module and both backends.
 * Row codes (DB_ROW, DB_DONE) are turned into the store's one error
 * contract here and nowhere else.
 */
#include <stdlib.h>
#include <string.h>

#include "store/q.h"
#include "util/metrics.h"

static int
bind_args(struct db_stmt *s, const struct q_arg *args)
{
	int idx = 1;
	int r = 0;

	for (const struct q_arg *a = args; a != NULL && a->kind != QA_END_;
	     a++, idx++) {
		switch (a->kind) {
		case QA_TEXT_: r = db_bind_cstr(s, idx, a->s); break;
		case QA_BYTES_: r = db_bind_text(s, idx, a->s, a->len); break;
		case QA_INT_: r = db_bind_int64(s, idx, a->i); break;
		case QA_NULL_: r = db_bind_null(s, idx); break;
		default: r = PC_ERR_INTERNAL; break;
		}
		if (r != 0)
			return r;
	}
	return 0;
}

/* A statement prepared with its arguments bound, or an error. */
static int
start(struct db_conn *c, const char *sql, const struct q_arg *args,
    struct db_stmt **out)
{
	int r;

	*out = NULL;
	if ((r = db_prepare(c, sql, out)) != 0)
		return r < 0 ? r : PC_ERR_STORE;
	if ((r = bind_args(*out, args)) != 0) {
		db_done(*out);
		*out = NULL;
		return r < 0 ? r : PC_ERR_STORE;
	}
	return 0;
}

/* The step result when the statement has no more rows: 0 or an error. */
static int
finish(int r)
{
	return r == DB_DONE ? 0 : r < 0 ? r : PC_ERR_STORE;
}

static void
copy_fixed(struct db_stmt *s, int col, const struct q_col *d)
{
	size_t len = 0;
	const char *p = db_col_text(s, col, &len);
	bool fits = d->kind == QC_EXACT_ ? len + 1 == d->n : len < d->n;

	memset(d->fixed, 0, d->n);
	if (p != NULL && fits)
		memcpy(d->fixed, p, len);
}

void
q_read(struct db_stmt *s, const struct q_col *cols)
{
	int col = 0;

	for (const struct q_col *d = cols; d != NULL && d->kind != QC_END_;
	     d++, col++) {
		switch (d->kind) {
		case QC_DUP_: *d->dup = db_col_dup(s, col); break;
		case QC_DUP_NULL_: *d->dup = db_col_dup_null(s, col); break;
		case QC_INT_: *d->i = db_col_int64(s, col); break;
		case QC_BOOL_: *d->b = db_col_int64(s, col) != 0; break;
		case QC_ISNULL_: *d->b = db_col_is_null(s, col); break;
		case QC_FIXED_:
		case QC_EXACT_: copy_fixed(s, col, d); break;
		default: break;
		}
	}
}

void
q_cols_free(const struct q_col *cols)
{
	for (const struct q_col *d = cols; d != NULL && d->kind != QC_END_;
	     d++) {
		if (d->kind == QC_DUP_ || d->kind == QC_DUP_NULL_) {
			/* A column may hold a secret (a sealed token). */
			pc_freezero_str(*d->dup);
			*d->dup = NULL;
		}
	}
}

int
q_exec(
    struct db_conn *c, const char *sql, const struct q_arg *args, int64_t *rows)
{
	struct db_stmt *s;
	int64_t n = 0;
	int r;

	if (rows != NULL)
		*rows = 0;
	if ((r = start(c, sql, args, &s)) != 0)
		return r;
	while ((r = db_step(s)) == DB_ROW)
		n++;
	db_done(s);
	if ((r = finish(r)) == 0 && rows != NULL)
		*rows = n;
	return r;
}

int
q_one(struct db_conn *c, const char *sql, const struct q_arg *args,
    const struct q_col *cols)
{
	struct db_stmt *s;
	int r;

	if ((r = start(c, sql, args, &s)) != 0)
		return r;
	r = db_step(s);
	if (r == DB_DONE) {
		db_done(s);
		return PC_ERR_NOT_FOUND;
	}
	if (r != DB_ROW) {
		db_done(s);
		return finish(r);
	}
	q_read(s, cols);
	/* Drain: a write's RETURNING rows come out as it runs to its end. */
	while ((r = db_step(s)) == DB_ROW)
		;
	db_done(s);
	if ((r = finish(r)) != 0)
		q_cols_free(cols);
	return r;
}

int
q_all(struct db_conn *c, const char *sql, const struct q_arg *args,
    int (*row)(struct db_stmt *s, void *arg), void *arg)
{
	struct db_stmt *s;
	int r;

	if ((r = start(c, sql, args, &s)) != 0)
		return r;
	while ((r = db_step(s)) == DB_ROW) {
		int rr = row(s, arg);

		if (rr < 0) {
			db_done(s);
			return rr;
		}
	}
	db_done(s);
	return finish(r);
}

int
store_exec(
    struct db *db, const char *sql, const struct q_arg *args, int64_t *rows)
{
	struct db_conn *c;
	int r;

	if (rows != NULL)
		*rows = 0;
	if ((r = db_conn(db, &c)) != 0)
		return r;
	return q_exec(c, sql, args, rows);
}

int
store_one(struct db *db, const char *sql, const struct q_arg *args,
    const struct q_col *cols)
{
	struct db_conn *c;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	return q_one(c, sql, args, cols);
}

int
store_all(struct db *db, const char *sql, const struct q_arg *args,
    int (*row)(struct db_stmt *s, void *arg), void *arg)
{
	struct db_conn *c;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	return q_all(c, sql, args, row, arg);
}

int
store_tx(struct db *db, int (*fn)(struct db_conn *c, void *arg), void *arg)
{
	return store_tx_mode(db, DB_WRITE_LOCKED, fn, arg);
}

int
store_tx_mode(struct db *db, enum db_write mode,
    int (*fn)(struct db_conn *c, void *arg), void *arg)
{
	struct db_conn *c;
	int r, cr;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin_write(c, mode)) != 0) {
		if (r != PC_ERR_BUSY)
			metrics_store_error(METRICS_STORE_TX_BEGIN);
		return r < 0 ? r : PC_ERR_STORE;
	}
	if ((r = fn(c, arg)) < 0) {
		db_rollback(c);
		return r;
	}
	if ((cr = db_commit(c)) != 0) {
		metrics_store_error(METRICS_STORE_TX_COMMIT);
		return cr < 0 ? cr : PC_ERR_STORE;
	}
	return r;
}

int
store_read_tx(struct db *db, int (*fn)(struct db_conn *c, void *arg), void *arg)
{
	struct db_conn *c;
	int r;

	if ((r = db_conn(db, &c)) != 0)
		return r;
	if ((r = db_begin(c, false)) != 0)
		return r < 0 ? r : PC_ERR_STORE;
	r = fn(c, arg);
	/* Ends the snapshot; a read transaction has nothing to keep. */
	db_rollback(c);
	return r;
}

void *
q_grow_(void *v, size_t len, size_t *cap, size_t size)
{
	if (len == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		v = xrealloc(v, *cap * size);
	}
	memset((char *)v + len * size, 0, size);
	return v;
}
